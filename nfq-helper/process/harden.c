/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Least privilege once start-up is done: every capability but the one the
 * event loop needs (CAP_NET_ADMIN) leaves every set, the daemon becomes an
 * unprivileged user (`user`, by default mosh-helper when that user exists),
 * stops being dumpable, keeps transient big
 * buffers off the heap and locks its memory when RLIMIT_MEMLOCK allows, and
 * last installs its syscall filter (seccomp.c).
 * Start-up only: a step that fails is fatal.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/* The event loop's one privilege: nftables batches and set dumps, NFQUEUE
 * verdicts and, in single-port mode, conntrack dumps and deletions
 * (nfnetlink checks CAP_NET_ADMIN on every message). The
 * rest needs none: sock_diag dumps, /proc/<pid>/status (world-readable),
 * pidfd_open, the control socket and the files opened at start-up. */
static const unsigned kept_caps[] = { CAP_NET_ADMIN };

/* Memory a locked daemon may still need: per session (table entry, cipher
 * contexts, allocator slack) and for everything else (buffers, stdio). */
#define SESSION_MEM (16UL * 1024)
#define MEM_MARGIN  (16UL * 1024 * 1024)

struct identity {
	bool switch_user;
	uid_t uid;
	gid_t gid;
};

static uint64_t kept_mask(void)
{
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		m |= UINT64_C(1) << kept_caps[i];
	return m;
}

static int caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c) < 0)
		return -errno;
	*eff = c[0].effective | (uint64_t)c[1].effective << 32;
	*prm = c[0].permitted | (uint64_t)c[1].permitted << 32;
	*inh = c[0].inheritable | (uint64_t)c[1].inheritable << 32;
	return 0;
}

/* effective = permitted = mask, inheritable empty */
static int caps_set(uint64_t mask)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2] = {
		{ .effective = (uint32_t)mask, .permitted = (uint32_t)mask },
		{ .effective = (uint32_t)(mask >> 32), .permitted = (uint32_t)(mask >> 32) },
	};

	return syscall(SYS_capset, &h, c) < 0 ? -errno : 0;
}

/* The bounding set: no exec'd program could ever regain a dropped
 * capability. Needs CAP_SETPCAP; without it (started unprivileged, e.g. by
 * systemd with User=) the set stays as the starter left it. */
static void drop_bounding(uint64_t keep)
{
	unsigned cap;

	for (cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap) >= 0; cap++) {
		if ((keep >> cap) & 1 || prctl(PR_CAPBSET_READ, cap) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap) < 0) {
			if (errno != EPERM)
				fatal("dropping capability %u from the bounding set: %s",
				      cap, strerror(errno));
			log_info("bounding set left as given (no CAP_SETPCAP)");
			return;
		}
	}
}

/* `user` set: that user, or a fatal error. Not set: the default user
 * (mosh-helper) if it exists, else the starting uid, said in the log. */
static void resolve_user(const char *name, bool dflt, struct identity *id)
{
	const struct passwd *pw;

	id->uid = getuid();
	id->gid = getgid();
	id->switch_user = false;
	if (!name[0])
		return;
	errno = 0;
	pw = getpwnam(name);
	if (!pw && dflt && (errno == 0 || errno == ENOENT || errno == ESRCH)) {
		static bool said;       /* the keeper's start asks first */

		if (geteuid() == 0 && !said)
			log_warn("no user \"%s\": staying uid 0 (create it to run "
				 "unprivileged: useradd --system --no-create-home --shell "
				 "/usr/sbin/nologin %s; or set `user`)", name, name);
		said = true;
		return;
	}
	if (!pw)
		fatal("user \"%s\" (setting `user`): %s", name,
		      errno ? strerror(errno) : "no such user");
	id->switch_user = pw->pw_uid != getuid() || pw->pw_gid != getgid();
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	if (id->switch_user && geteuid() != 0)
		fatal("user \"%s\": cannot become uid %u when started as uid %u",
		      name, (unsigned)id->uid, (unsigned)geteuid());
}

int mh_harden_identity(const struct mh_config *cfg, uid_t *uid, gid_t *gid)
{
	struct identity id;

	resolve_user(cfg->user, cfg->user_default, &id);
	*uid = id.uid;
	*gid = id.gid;
	return id.switch_user;
}

/* Keeps the permitted capabilities across the uid change (KEEPCAPS). */
static void switch_user(const struct identity *id)
{
	if (prctl(PR_SET_KEEPCAPS, 1) < 0 ||
	    setgroups(1, &id->gid) < 0 ||
	    setresgid(id->gid, id->gid, id->gid) < 0 ||
	    setresuid(id->uid, id->uid, id->uid) < 0)
		fatal("switching to uid %u gid %u: %s", (unsigned)id->uid,
		      (unsigned)id->gid, strerror(errno));
	if (prctl(PR_SET_KEEPCAPS, 0) < 0)
		fatal("PR_SET_KEEPCAPS: %s", strerror(errno));
}

static void drop_caps(const struct identity *id)
{
	uint64_t keep = kept_mask(), eff = 0, prm = 0, inh = 0;
	int err;

	drop_bounding(keep);
	/* nothing for programs we would run (we run none) */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		fatal("clearing ambient capabilities: %s", strerror(errno));
	if (id->switch_user)
		switch_user(id);
	/* already exactly that: no capset needed */
	if (caps_get(&eff, &prm, &inh) == 0 && eff == keep && prm == keep &&
	    inh == 0)
		err = 0;
	else if ((err = caps_set(keep)) < 0)
		fatal("keeping only CAP_NET_ADMIN: %s (is it permitted to this process?)",
		      strerror(-err));
	if ((err = caps_get(&eff, &prm, &inh)) < 0 || eff != keep ||
	    prm != keep || inh != 0)
		fatal("capabilities are not what was set (effective %#llx)",
		      (unsigned long long)eff);
	if (id->uid != 0 && setuid(0) == 0)
		fatal("uid 0 could be regained after dropping privileges");
}

#ifndef __SANITIZE_ADDRESS__
/* Size of the address space now (what mlockall counts), in bytes. */
static unsigned long vm_size(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}
#endif

/* Buffers that grow with the session count come and go (the restart
 * state's text, about 200 bytes a session, is rebuilt on every change):
 * from 64 KiB up they get mappings of their own, returned when freed.
 * Without this glibc raises its threshold after the first such free and
 * serves the next ones from the heap, which keeps (and mlockall keeps
 * resident) the peak for good: ~300 bytes a session, measured. */
static void heap_policy(void)
{
	if (mallopt(M_MMAP_THRESHOLD, 64 * 1024) != 1)
		log_debug("mallopt(M_MMAP_THRESHOLD) refused");
}

/* mlockall counts every mapping against RLIMIT_MEMLOCK (no CAP_IPC_LOCK
 * any more), and so does every later heap growth: lock only if the limit
 * leaves room for max_sessions, else an allocation could fail later. */
static const char *lock_memory(const struct mh_config *cfg)
{
#ifdef __SANITIZE_ADDRESS__
	(void)cfg;
	return "not locked (AddressSanitizer's shadow memory cannot be)";
#else
	unsigned long need = vm_size() + cfg->max_sessions * SESSION_MEM + MEM_MARGIN;
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;    /* the soft limit may rise to the hard one */
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return "not locked (RLIMIT_MEMLOCK unknown)";
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		log_warn("memory not locked: RLIMIT_MEMLOCK is %lu KiB, the daemon "
			 "needs about %lu KiB for max_sessions = %u (raise it: "
			 "LimitMEMLOCK= in the unit, ulimit -l)",
			 (unsigned long)(rl.rlim_cur / 1024), need / 1024,
			 cfg->max_sessions);
		return "not locked (RLIMIT_MEMLOCK too low)";
	}
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0 &&
	    (errno != EINVAL || mlockall(MCL_CURRENT | MCL_FUTURE) < 0)) {
		log_warn("memory not locked: mlockall: %s", strerror(errno));
		return "not locked (mlockall failed)";
	}
	return "locked";
#endif
}

/* Key set-up (OpenSSL's, the peek schedule, keys read back from the
 * keyring at a restart) leaves copies in stack frames that are dead once
 * it returns, and the event loop may never reach that deep again: this
 * overwrites what lies below the caller's frame. */
void __attribute__((noinline)) mh_wipe_stack(void)
{
	uint8_t area[64 * 1024];

	explicit_bzero(area, sizeof(area));
	__asm__ volatile("" : : "r"(area) : "memory");
}

/* OpenSSL sets itself up on first use (reads openssl.cnf, fetches the
 * cipher from its provider): let that happen now, not under the filter. */
static void warm_up_crypto(void)
{
	uint8_t key[SSP_KEY_LEN] = { 0 };
	uint8_t dgram[SSP_MIN_DATAGRAM_LEN + 16] = { 0 };
	struct ssp_ctx *ctx = ssp_ctx_new(key);

	if (!ctx)
		fatal("OpenSSL: cannot create an AES-128-OCB context");
	(void)ssp_verify(ctx, dgram, sizeof(dgram), NULL);   /* a zero tag: fails */
	ssp_ctx_free(ctx);
}

/* The key chunks are locked one by one (keymem.c) whether or not the
 * whole address space could be. */
static void key_pages(void)
{
	size_t locked, unlocked;

	if (mh_keymem_locked(&locked, &unlocked))
		log_info("key pages locked in memory (%zu KiB so far)", locked / 1024);
	else
		log_warn("key pages: %zu KiB could not be locked (RLIMIT_MEMLOCK; "
			 "raise it: LimitMEMLOCK= in the unit, ulimit -l), %zu KiB are",
			 unlocked / 1024, locked / 1024);
}

void mh_harden(struct mh_daemon *d)
{
	struct identity id;
	const char *mem;
	int err;

	resolve_user(d->cfg.user, d->cfg.user_default, &id);
	heap_policy();
	warm_up_crypto();
	mh_wipe_stack();      /* what start-up left, restored keys included */
	if ((err = mh_notify_open()) < 0)
		log_warn("NOTIFY_SOCKET: %s; systemd will not hear of readiness",
			 strerror(-err));
	drop_caps(&id);
	/* after any uid change, which resets the flag */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		fatal("PR_SET_DUMPABLE: %s", strerror(errno));
	mem = lock_memory(&d->cfg);
	if (!mh_keymem_active())
		log_warn("session keys are in ordinary memory (OpenSSL allocated "
			 "before the daemon could move it)");
	else
		key_pages();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	id.uid = getuid();    /* no such call under the filter */
	id.gid = getgid();
	if (d->cfg.seccomp && (err = mh_seccomp_install()) < 0)
		fatal("installing the syscall filter: %s", strerror(-err));
	log_info("privileges dropped: uid %u gid %u, capabilities CAP_NET_ADMIN "
		 "only, not dumpable, memory %s, syscall filter %s",
		 (unsigned)id.uid, (unsigned)id.gid, mem,
		 !d->cfg.seccomp ? "OFF (seccomp = false)" :
		 mh_seccomp_sanitized() ? "on (sanitizer build: EPERM for "
					  "unlisted calls)" : "on");
}
