/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions that outlive the daemon: each key in a "user" key of a keyring
 * the kernel keeps (never on disk, readable by its possessor only), the
 * rest in a 0600 state file next to the control socket. At start-up it
 * reads what an earlier daemon left (resume.c opens those sessions again)
 * and afterwards drops the keys of those that did not come back; while the
 * daemon runs, keys and file are written by its state keeper (keeper.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/keyctl.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "process/keeper.h"
#include "statefile.h"

#define STATE_FILE  "state"
#define LOCK_FILE   "state.lock"
#define LOCK_WAIT_MS 5000   /* for the keeper of an earlier daemon to finish */
#define FINISH_MS   3000    /* at a stop, for the keeper to confirm */
#define REFRESH_MS  30000   /* with sessions, rewritten at least this often */
#define PINHOLE_MS  1000    /* pinhole changes alone: written at most this often */
#define SESSION_MS  100     /* session changes: at once, or this long after the last */
#define SLICE       128     /* sessions encoded per loop round (see mh_state_flush) */
#define NO_BOOT_ID  "00000000-0000-0000-0000-000000000000"

struct saved_key {
	uint16_t port;
	pid_t pid;
	uint64_t start;
	uint8_t key[SSP_KEY_LEN];
};

struct mh_state_rt {
	char path[PATH_MAX], tmp[PATH_MAX + 8], lock[PATH_MAX + 8];
	char boot_id[MH_STATE_BOOT_ID_LEN + 1];
	char ring_name[128];
	int32_t user_ring, ring;
	uid_t owner;                          /* the keeper's: it writes the file */
	struct mh_keeper *keeper;
	bool dirty;
	uint64_t seen_opened, seen_expired;   /* counters at the last write */
	uint64_t written_ms;
	struct mh_ratelimit warn;
	/* the file being encoded, a slice of ports per loop round */
	bool encoding;
	uint32_t cursor;                      /* the next port to encode */
	struct mh_statefile_enc enc;
	/* what an earlier daemon left, until mh_state_restored */
	bool loaded;
	struct mh_statefile old;
	struct saved_key *keys;
	unsigned n_keys;
};

/* ------------------------------------------------------------------ */
/* Keyring                                                             */

static long kctl(int cmd, unsigned long a, unsigned long b, unsigned long c)
{
	return syscall(SYS_keyctl, cmd, a, b, c, 0UL);
}

/* Our keyring's name: one per network namespace and table, as the table
 * itself. The keeper finds or makes it in the user keyring of the
 * daemon's user (not root's, unless the daemon stays root) and links it
 * into the session keyring the daemon shares with it: possession, which
 * stays with the daemon when it later changes its uid. */
static int ring_name(struct mh_daemon *d, struct mh_state_rt *rt)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	snprintf(rt->ring_name, sizeof(rt->ring_name), "mosh-helper:%s:net%llu",
		 d->cfg.table, (unsigned long long)st.st_ino);
	return 0;
}

/* The serials in our keyring; *n of them, malloc'ed. */
static int32_t *ring_list(const struct mh_state_rt *rt, unsigned *n)
{
	long size = kctl(KEYCTL_READ, (unsigned long)rt->ring, 0, 0);
	int32_t *ids;

	*n = 0;
	if (size <= 0)
		return NULL;
	ids = malloc((size_t)size);
	if (!ids)
		return NULL;
	size = kctl(KEYCTL_READ, (unsigned long)rt->ring, (unsigned long)ids,
		    (unsigned long)size);
	if (size < 0) {
		free(ids);
		return NULL;
	}
	*n = (unsigned)((size_t)size / sizeof(*ids));
	return ids;
}

/* The server port of one of our "user" keys, or 0. */
static uint16_t key_port(const struct mh_state_rt *rt, int32_t id)
{
	char desc[256], *p = desc, *end;
	size_t nl = strlen(rt->ring_name);
	unsigned long port;
	long r = kctl(KEYCTL_DESCRIBE, (unsigned long)id, (unsigned long)desc,
		      sizeof(desc));

	if (r <= 0 || (size_t)r > sizeof(desc) || strncmp(desc, "user;", 5))
		return 0;
	for (int i = 0; i < 4 && p; i++)        /* type;uid;gid;perm;description */
		if ((p = strchr(p, ';')))
			p++;
	if (!p || strncmp(p, rt->ring_name, nl) || p[nl] != ':')
		return 0;
	port = strtoul(p + nl + 1, &end, 10);
	return *end || port == 0 || port > 65535 ? 0 : (uint16_t)port;
}

static void key_remove(const struct mh_state_rt *rt, int32_t id)
{
	if (kctl(KEYCTL_INVALIDATE, (unsigned long)id, 0, 0) < 0)
		kctl(KEYCTL_UNLINK, (unsigned long)id, (unsigned long)rt->ring, 0);
}

static void load_keys(struct mh_state_rt *rt)
{
	unsigned n, i;
	int32_t *ids = ring_list(rt, &n);

	/* key material: OpenSSL's allocator is the daemon's DONTDUMP memory */
	rt->keys = n ? OPENSSL_zalloc(n * sizeof(*rt->keys)) : NULL;
	for (i = 0; i < n && rt->keys; i++) {
		struct saved_key *k = &rt->keys[rt->n_keys];
		uint8_t buf[MH_STATE_KEY_PAYLOAD_LEN + 16];
		long len;

		k->port = key_port(rt, ids[i]);
		if (!k->port)
			continue;
		len = kctl(KEYCTL_READ, (unsigned long)ids[i], (unsigned long)buf,
			   sizeof(buf));
		if (len > 0 && (size_t)len <= sizeof(buf) &&
		    mh_statefile_key_decode(buf, (size_t)len, &k->pid, &k->start,
					k->key) == 0)
			rt->n_keys++;
		else
			log_warn("keyring %s: key %d unreadable (%s)", rt->ring_name,
				 ids[i], len < 0 ? strerror(errno) : "bad payload");
		OPENSSL_cleanse(buf, sizeof(buf));
	}
	free(ids);
}

static const struct saved_key *key_for(const struct mh_state_rt *rt,
				       uint16_t port)
{
	for (unsigned i = 0; i < rt->n_keys; i++)
		if (rt->keys[i].port == port)
			return &rt->keys[i];
	return NULL;
}

/* At session start and end, through the keeper. */
void mh_state_key_add(struct mh_daemon *d, const struct mh_session *s,
		      const uint8_t key[SSP_KEY_LEN])
{
	struct mh_state_rt *rt = d->state;
	uint8_t payload[MH_STATE_KEY_PAYLOAD_LEN];
	int err;

	if (!rt)
		return;
	if (!s->pid_start) {
		log_warn("session %u port %u: start time of pid %d unknown; the "
			 "session will not survive a restart", s->id, s->port, (int)s->pid);
		return;
	}
	mh_statefile_key_encode(s->pid, s->pid_start, key, payload);
	err = mh_keeper_key_add(rt->keeper, s->port, payload);
	OPENSSL_cleanse(payload, sizeof(payload));
	if (err && mh_ratelimit_ok(&rt->warn, mh_now_ms()))
		log_warn("session %u port %u: key not kept (%s); the session will "
			 "not survive a restart", s->id, s->port, strerror(-err));
}

void mh_state_key_del(struct mh_daemon *d, const struct mh_session *s)
{
	if (d->state && s->pid_start)
		mh_keeper_key_del(d->state->keeper, s->port);
}

/* ------------------------------------------------------------------ */
/* The file                                                            */

/* A file begins: header now, sessions by encode_step, each part handed
 * to the keeper as it is encoded. Sessions whose mosh-server start time
 * is unknown are left out: without it a restarted daemon could not tell
 * their process from a newcomer. */
static void encode_begin(struct mh_daemon *d, struct mh_state_rt *rt)
{
	mh_statefile_enc_free(&rt->enc);
	mh_statefile_enc_begin(&rt->enc, rt->boot_id, d->cfg.table,
			       d->sessions.next_id);
	rt->cursor = 0;
	rt->encoding = true;
}

static void encode_one(struct mh_statefile_enc *e, const struct mh_session *s)
{
	struct mh_saved_session sv;

	mh_saved_from_session(s, &sv);
	mh_statefile_enc_session(e, &sv);
}

/* Up to max sessions from the cursor on, in port order (each port once,
 * whatever starts or ends between two calls); true once every port is
 * done. A gateway's table has no port index: its list at once. */
static bool encode_some(struct mh_daemon *d, struct mh_state_rt *rt,
			unsigned max)
{
	const struct mh_table *t = &d->sessions;
	const struct mh_session *s;
	unsigned n = 0;

	if (t->ports_shared) {
		for (s = t->head; s; s = s->next)
			if (s->pid_start)
				encode_one(&rt->enc, s);
		rt->cursor = 0x10000;
	}
	for (; rt->cursor <= 0xffff && n < max; rt->cursor++) {
		s = t->by_port[rt->cursor];
		if (s && s->pid_start) {
			encode_one(&rt->enc, s);
			n++;
		}
	}
	return rt->cursor > 0xffff;
}

/* What the encoder holds, to the keeper (the first part with M_BEGIN). */
static int encode_out(struct mh_state_rt *rt, bool first)
{
	const char *text;
	size_t n;
	int err = rt->enc.err;

	if (!err && first)
		err = mh_keeper_file_begin(rt->keeper);
	n = mh_statefile_enc_take(&rt->enc, &text);
	return err ? err : mh_keeper_file_part(rt->keeper, text, n);
}

/* Up to max more sessions out to the keeper, and the end once every port
 * is done: 0 while more is to come, 1 when the file is out, -errno. */
static int encode_step(struct mh_daemon *d, struct mh_state_rt *rt,
		       unsigned max)
{
	bool first = rt->cursor == 0, done = encode_some(d, rt, max);
	int err = encode_out(rt, first);

	if (!err && !done)
		return 0;
	if (!err)
		err = mh_statefile_enc_end(&rt->enc) ?: encode_out(rt, false) ?:
		      mh_keeper_file_end(rt->keeper);
	mh_statefile_enc_free(&rt->enc);
	rt->encoding = false;
	if (err && mh_ratelimit_ok(&rt->warn, mh_now_ms()))
		log_warn("state file %s: %s; sessions would not survive a restart",
			 rt->path, strerror(-err));
	return err ? err : 1;
}

/* The whole file at once (at a stop). */
static int write_file(struct mh_daemon *d, struct mh_state_rt *rt)
{
	encode_begin(d, rt);
	return encode_step(d, rt, UINT_MAX);
}

static void read_text(const char *path, uid_t owner, char **text, size_t *len)
{
	struct stat st;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*text = NULL;
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("state file %s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != owner ||
	    (st.st_mode & 077) || (size_t)st.st_size > MH_STATE_MAX_FILE) {
		log_warn("state file %s refused: not a private regular file of "
			 "this user, or too large", path);
		close(fd);
		return;
	}
	*text = malloc((size_t)st.st_size + 1);
	while (*text && off < (size_t)st.st_size) {
		ssize_t n = read(fd, *text + off, (size_t)st.st_size - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	*len = off;
}

static void load_file(struct mh_daemon *d, struct mh_state_rt *rt)
{
	char err[320];
	size_t len = 0;
	char *text;

	read_text(rt->path, rt->owner, &text, &len);
	if (!text)
		return;
	if (mh_statefile_decode(text, len, &rt->old, err, sizeof(err)) < 0) {
		log_warn("state file %s refused: %s", rt->path, err);
	} else if (strcmp(rt->old.boot_id, rt->boot_id)) {
		log_info("state file %s is from an earlier boot: not used", rt->path);
		mh_statefile_free(&rt->old);
	} else if (strcmp(rt->old.table, d->cfg.table)) {
		log_info("state file %s is for table %s, not %s: not used", rt->path,
			 rt->old.table, d->cfg.table);
		mh_statefile_free(&rt->old);
	} else {
		rt->loaded = true;
		log_info("state file %s: %u session(s) of an earlier daemon",
			 rt->path, rt->old.n);
	}
	free(text);
}

static void read_boot_id(struct mh_state_rt *rt)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	snprintf(rt->boot_id, sizeof(rt->boot_id), NO_BOOT_ID);
	if (f) {
		if (!fgets(rt->boot_id, sizeof(rt->boot_id), f) ||
		    strlen(rt->boot_id) != MH_STATE_BOOT_ID_LEN)
			snprintf(rt->boot_id, sizeof(rt->boot_id), NO_BOOT_ID);
		fclose(f);
	}
}

/* ------------------------------------------------------------------ */
/* Start-up                                                            */

/* The keeper of an earlier daemon holds the lock until it has written
 * what that daemon sent it: its file and keys are then complete. */
static int take_lock(const struct mh_state_rt *rt)
{
	int fd = open(rt->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int waited;

	if (fd < 0) {
		log_warn("state lock %s: %s", rt->lock, strerror(errno));
		return -1;
	}
	for (waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 20) {
		if (errno != EWOULDBLOCK || waited >= LOCK_WAIT_MS) {
			log_warn("state lock %s: %s; going on without it", rt->lock,
				 errno == EWOULDBLOCK ? "still held" : strerror(errno));
			break;
		}
		usleep(20000);
	}
	if (waited)
		log_info("waited %d ms for the state keeper of an earlier daemon",
			 waited);
	return fd;
}

/* The keeper runs as the daemon's user: the keyring is that user's, and so
 * are the state file and the directory when the daemon makes it. */
static void keeper_cfg(struct mh_daemon *d, struct mh_state_rt *rt, int lock,
		       struct mh_keeper_cfg *kc)
{
	*kc = (struct mh_keeper_cfg){
		.ring_name = rt->ring_name, .path = rt->path, .tmp = rt->tmp,
		.lock_fd = lock, .seccomp = d->cfg.seccomp,
		.files = { d->cfg.audit_log, d->cfg.key_log, d->cfg.slowpath_pcap },
		.modes = { 0640, 0600, 0600 },
	};
	kc->switch_user = mh_harden_identity(&d->cfg, &kc->uid, &kc->gid);
	rt->owner = kc->uid;
}

/* Made by the daemon: then the keeper's (it writes the state file there). */
static void make_dir(const char *dn, const struct mh_keeper_cfg *kc)
{
	if (mkdir(dn, 0755) < 0) {
		if (errno != EEXIST)
			log_warn("restart state: %s: %s", dn, strerror(errno));
		return;
	}
	if (kc->switch_user && chown(dn, kc->uid, kc->gid) < 0)
		log_warn("restart state: %s: %s", dn, strerror(errno));
}

void mh_state_init(struct mh_daemon *d)
{
	struct mh_state_rt *rt = calloc(1, sizeof(*rt));
	char dir[sizeof(d->cfg.control_socket)];
	struct mh_keeper_cfg kc;
	const char *dn;
	int err, lock;

	if (!rt) {
		log_warn("restart state: out of memory; sessions will not survive a restart");
		return;
	}
	snprintf(dir, sizeof(dir), "%s", d->cfg.control_socket);
	dn = dirname(dir);
	snprintf(rt->path, sizeof(rt->path), "%s/" STATE_FILE, dn);
	snprintf(rt->tmp, sizeof(rt->tmp), "%s.tmp", rt->path);
	snprintf(rt->lock, sizeof(rt->lock), "%s/" LOCK_FILE, dn);
	mh_ratelimit_init(&rt->warn, 0.1, 3);
	read_boot_id(rt);
	keeper_cfg(d, rt, -1, &kc);
	make_dir(dn, &kc);
	lock = kc.lock_fd = take_lock(rt);
	err = ring_name(d, rt);
	if (!err) {
		rt->keeper = mh_keeper_start(&kc);
		if (!rt->keeper)
			err = -errno;
		else
			mh_keeper_rings(rt->keeper, &rt->ring, &rt->user_ring);
	}
	if (lock >= 0)
		close(lock);                  /* the keeper holds it now */
	if (err) {
		log_warn("restart state: %s; sessions will not survive a restart",
			 strerror(-err));
		free(rt);
		return;
	}
	log_debug("restart state: file %s, keyring %s (%d)", rt->path,
		  rt->ring_name, rt->ring);
	load_file(d, rt);
	if (rt->loaded && !d->cfg.keyless)   /* keyless: never read a key */
		load_keys(rt);
	d->state = rt;
}

struct mh_keeper *mh_state_keeper(struct mh_daemon *d)
{
	return d->state ? d->state->keeper : NULL;
}

bool mh_state_loaded(const struct mh_daemon *d)
{
	return d->state && d->state->loaded;
}

/* The key the keyring holds for a saved session: 0, or -ENOKEY with why. */
int mh_state_saved_key(const struct mh_daemon *d,
		       const struct mh_saved_session *sv,
		       uint8_t key[SSP_KEY_LEN], char *why, size_t len)
{
	const struct saved_key *k = d->state ? key_for(d->state, sv->port) : NULL;

	if (!k || k->pid != sv->pid || k->start != sv->pid_start) {
		snprintf(why, len, "%s", k ? "the key in the keyring is another "
			 "session's" : "its key is not in the keyring");
		return -ENOKEY;
	}
	memcpy(key, k->key, SSP_KEY_LEN);
	return 0;
}

const struct mh_statefile *mh_state_saved(const struct mh_daemon *d)
{
	return d->state && d->state->loaded ? &d->state->old : NULL;
}

/* Keys of sessions that did not come back (keyless: every key, an earlier
 * keyed daemon's). */
static void sweep_keys(struct mh_daemon *d, struct mh_state_rt *rt)
{
	unsigned n, i;
	int32_t *ids = ring_list(rt, &n);

	for (i = 0; i < n; i++) {
		uint16_t port = key_port(rt, ids[i]);

		if (!port || !mh_session_by_port(&d->sessions, port) ||
		    d->cfg.keyless)
			key_remove(rt, ids[i]);
	}
	free(ids);
}

/* After the table was reconciled and synced: keys of sessions that did not
 * come back go, and the restart is logged and audited. */
static void resumed(struct mh_daemon *d, struct mh_state_rt *rt,
		    const struct mh_reconciled *gone, unsigned n)
{
	char count[16];

	sweep_keys(d, rt);
	log_info("restart: resumed %u of %u session(s); removed from the table "
		 "%u session port(s), %u pinhole(s), %u mapping(s) of sessions "
		 "that did not come back", n, rt->old.n, gone->ports,
		 gone->pinholes, gone->mappings);
	snprintf(count, sizeof(count), "%u", n);
	mh_audit_simple(d, "sessions_resumed", "count", count);
}

static void drop_loaded(struct mh_state_rt *rt)
{
	mh_statefile_free(&rt->old);
	if (rt->keys)
		OPENSSL_cleanse(rt->keys, rt->n_keys * sizeof(*rt->keys));
	OPENSSL_free(rt->keys);
	rt->keys = NULL;
	rt->n_keys = 0;
	rt->loaded = false;
}

void mh_state_forget(struct mh_daemon *d)
{
	struct mh_state_rt *rt = d->state;

	if (!rt)
		return;
	if (rt->loaded)
		log_info("state of an earlier daemon not used (no table to "
			 "adopt): %u session(s) dropped", rt->old.n);
	kctl(KEYCTL_CLEAR, (unsigned long)rt->ring, 0, 0);
}

void mh_state_restored(struct mh_daemon *d, const struct mh_reconciled *gone,
		       unsigned resumed_n)
{
	struct mh_state_rt *rt = d->state;

	if (!rt)
		return;
	if (gone)
		resumed(d, rt, gone, resumed_n);
	drop_loaded(rt);
	rt->dirty = true;
	mh_state_flush(d);
}

/* ------------------------------------------------------------------ */
/* Running                                                             */

void mh_state_dirty(struct mh_daemon *d)
{
	if (d->state)
		d->state->dirty = true;
}

/* One slice of the file being encoded; the last one ends it (a failure is
 * retried as a change would be). */
static void encode_slice(struct mh_daemon *d, struct mh_state_rt *rt)
{
	if (encode_step(d, rt, SLICE) < 0)
		rt->dirty = true;
}

/* Cheap unless something changed. Session starts and ends mark the state
 * dirty and are written at once, unless the last file went out less than
 * SESSION_MS ago: a burst of announcements then shares one file (each is
 * the whole table, some 200 bytes a session) written from the next event
 * or timer tick. Pinholes opened or expired (they show in the counters)
 * are written at most once a second: a roam must not pay for a file
 * write, and a restart in between loses nothing, since the restarted
 * daemon records the pinholes it finds in the kernel's sets. With sessions
 * the file is also refreshed now and then (sequence numbers, liveness).
 * One file at a time goes to the keeper; a change meanwhile waits for it.
 * A file is encoded and handed over SLICE sessions per call (per loop
 * round, which does not wait for events while one is under way:
 * mh_state_pending), so that a queued datagram waits for a slice (under a
 * millisecond), never for the whole table (10,000 sessions: 20-80 ms,
 * measured); a change during the encoding is in the next file, as one
 * just after it would be. */
void mh_state_flush(struct mh_daemon *d)
{
	struct mh_state_rt *rt = d->state;
	bool pinholes;
	uint64_t now;

	if (!rt)
		return;
	if (rt->encoding) {
		encode_slice(d, rt);
		return;
	}
	if (mh_keeper_pump(rt->keeper) < 0 || mh_keeper_file_queued(rt->keeper))
		return;
	pinholes = rt->seen_opened != d->stats.pinholes_opened ||
		   rt->seen_expired != d->stats.pinholes_expired;
	if (!rt->dirty && !pinholes && !d->sessions.count)
		return;
	now = mh_now_ms();
	if (now - rt->written_ms <
	    (rt->dirty ? SESSION_MS : pinholes ? PINHOLE_MS : REFRESH_MS))
		return;
	rt->seen_opened = d->stats.pinholes_opened;
	rt->seen_expired = d->stats.pinholes_expired;
	rt->dirty = false;
	rt->written_ms = now;
	encode_begin(d, rt);
	encode_slice(d, rt);
}

bool mh_state_pending(const struct mh_daemon *d)
{
	return d->state && d->state->encoding;
}

/* A keeping stop writes the file once more; a clean one has the keeper
 * remove keys, keyring and file. Either way the keeper confirms before
 * the daemon goes. */
void mh_state_stop(struct mh_daemon *d)
{
	struct mh_state_rt *rt = d->state;
	int err;

	if (!rt)
		return;
	if (d->keep) {
		write_file(d, rt);    /* after any still queued: the last one wins */
	} else {
		mh_keeper_forget(rt->keeper);
	}
	err = mh_keeper_finish(rt->keeper, FINISH_MS);
	if (err)
		log_warn("state keeper: %s; the %s may be incomplete", strerror(-err),
			 d->keep ? "saved state" : "clean-up of keys and state");
	drop_loaded(rt);
	mh_statefile_enc_free(&rt->enc);
	free(rt);
	d->state = NULL;
}
