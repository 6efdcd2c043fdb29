/*
 * The state keeper: a child forked at start-up, before the daemon drops
 * its privileges and installs its syscall filter, that adds and removes
 * session keys in the keyring and writes the state file (temporary, then
 * rename) on messages from the daemon over a socketpair. It keeps uid 0
 * (the keyring and the runtime directory are root's) but no capability,
 * is not dumpable, runs under a syscall filter of its own (seccomp.c:
 * keyring calls, creating its temporary, rename, unlink, its socket),
 * holds the state lock so that a new daemon waits for it, and exits once
 * the daemon's end closes and every message is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon.h"
#include "keeper.h"

#define MSG_MAX    65536
#define CHUNK      (MSG_MAX - 16)
#define SNDBUF     (4 * 1024 * 1024)
#define KEEPER_NICE 10    /* the keeper's scheduling niceness */

enum { M_KEY_ADD = 'K', M_KEY_DEL = 'D', M_BEGIN = 'B', M_CHUNK = 'C',
       M_END = 'E', M_FORGET = 'X', M_SYNC = 'Z' };

/* ------------------------------------------------------------------ */
/* The keeper                                                          */

struct kst {
	const struct mh_keeper_cfg *c;
	int file;          /* temporary being written, -1 if none */
	bool file_err;
};

static long kctl(int cmd, unsigned long a, unsigned long b, unsigned long c)
{
	return syscall(SYS_keyctl, cmd, a, b, c, 0UL);
}

static void key_add(struct kst *k, const uint8_t *m, size_t n)
{
	char desc[160];
	long id;

	if (n != 3 + MH_STATE_KEY_PAYLOAD_LEN)
		return;
	snprintf(desc, sizeof(desc), "%s:%u", k->c->ring_name, m[1] << 8 | m[2]);
	id = syscall(SYS_add_key, "user", desc, m + 3,
		     (size_t)MH_STATE_KEY_PAYLOAD_LEN, k->c->ring);
	if (id < 0) {
		log_warn("keyring: adding %s: %s", desc, strerror(errno));
		return;
	}
	if (kctl(KEYCTL_SETPERM, (unsigned long)id, MH_PERM_KEY, 0) < 0)
		log_warn("keyring: permissions of %s: %s", desc, strerror(errno));
}

static void key_del(struct kst *k, const uint8_t *m, size_t n)
{
	char desc[160];
	long id;

	if (n != 3)
		return;
	snprintf(desc, sizeof(desc), "%s:%u", k->c->ring_name, m[1] << 8 | m[2]);
	id = kctl(KEYCTL_SEARCH, (unsigned long)k->c->ring, (unsigned long)"user",
		  (unsigned long)desc);
	if (id >= 0 && kctl(KEYCTL_INVALIDATE, (unsigned long)id, 0, 0) < 0)
		kctl(KEYCTL_UNLINK, (unsigned long)id, (unsigned long)k->c->ring, 0);
}

static void file_drop(struct kst *k)
{
	if (k->file >= 0) {
		close(k->file);
		unlink(k->c->tmp);
	}
	k->file = -1;
}

static void file_begin(struct kst *k)
{
	file_drop(k);
	unlink(k->c->tmp);
	k->file = open(k->c->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		       O_CLOEXEC, 0600);
	k->file_err = k->file < 0;
	if (k->file_err)
		log_warn("state file %s: %s", k->c->tmp, strerror(errno));
}

static void file_chunk(struct kst *k, const uint8_t *p, size_t n)
{
	while (k->file >= 0 && !k->file_err && n) {
		ssize_t w = write(k->file, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("state file %s: %s", k->c->tmp,
				 w < 0 ? strerror(errno) : "short write");
			k->file_err = true;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
}

static bool file_end(struct kst *k)
{
	bool ok = k->file >= 0 && !k->file_err;

	if (k->file >= 0 && close(k->file) < 0)
		ok = false;
	k->file = -1;
	if (ok && rename(k->c->tmp, k->c->path) < 0) {
		log_warn("state file %s: %s", k->c->path, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(k->c->tmp);
	return ok;
}

static void forget(struct kst *k)
{
	file_drop(k);
	kctl(KEYCTL_CLEAR, (unsigned long)k->c->ring, 0, 0);
	kctl(KEYCTL_UNLINK, (unsigned long)k->c->ring,
	     (unsigned long)k->c->user_ring, 0);
	if (unlink(k->c->path) < 0 && errno != ENOENT)
		log_warn("state file %s: %s", k->c->path, strerror(errno));
}

static void handle(struct kst *k, int fd, uint8_t *m, size_t n)
{
	uint8_t ok = 1;

	switch (m[0]) {
	case M_KEY_ADD: key_add(k, m, n); break;
	case M_KEY_DEL: key_del(k, m, n); break;
	case M_BEGIN: file_begin(k); break;
	case M_CHUNK: file_chunk(k, m + 1, n - 1); break;
	case M_END: file_end(k); break;
	case M_FORGET: forget(k); break;
	case M_SYNC:
		if (send(fd, &ok, 1, MSG_NOSIGNAL) < 0)
			log_debug("keeper: %s", strerror(errno));
		break;
	default:
		log_warn("keeper: unknown message %u", m[0]);
	}
}

/* Only its socket and the lock stay open; then no capability at all. */
static void keeper_prepare(const struct mh_keeper_cfg *c, int fd)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[2] = { { 0 } };
	int lock = c->lock_fd >= 0 ? c->lock_fd : fd;
	int lo = fd < lock ? fd : lock, hi = fd < lock ? lock : fd, err;

	if ((lo > 3 && close_range(3, (unsigned)lo - 1, 0) < 0) ||
	    (hi > lo + 1 && close_range((unsigned)lo + 1, (unsigned)hi - 1, 0) < 0) ||
	    close_range((unsigned)hi + 1, ~0U, 0) < 0) {
		long max = sysconf(_SC_OPEN_MAX);   /* no close_range: one by one */

		for (int i = 3; i < (max > 0 && max < 65536 ? max : 65536); i++)
			if (i != fd && i != lock)
				close(i);
	}
	prctl(PR_SET_NAME, "mh-state-keeper", 0, 0, 0);
	/* background work: never preempt the daemon's verdicts */
	if (setpriority(PRIO_PROCESS, 0, KEEPER_NICE) < 0)
		log_debug("keeper: setpriority: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_capset, &h, none) < 0)
		log_warn("keeper: dropping privileges: %s", strerror(errno));
	/* possession of the keyring, for the keys' possessor permissions */
	if (kctl(KEYCTL_LINK, (unsigned long)c->ring,
		 (unsigned long)KEY_SPEC_PROCESS_KEYRING, 0) < 0)
		log_debug("keeper: keyring link: %s", strerror(errno));
	if (c->seccomp && (err = mh_seccomp_install_keeper()) < 0)
		log_warn("keeper: installing its syscall filter: %s", strerror(-err));
}

static _Noreturn void keeper_main(const struct mh_keeper_cfg *c, int fd)
{
	static uint8_t m[MSG_MAX];
	struct kst k = { .c = c, .file = -1 };

	keeper_prepare(c, fd);
	for (;;) {
		ssize_t n = recv(fd, m, sizeof(m), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		handle(&k, fd, m, (size_t)n);
		if (m[0] == M_KEY_ADD)
			OPENSSL_cleanse(m, (size_t)n);
	}
	file_drop(&k);
	_exit(0);   /* no atexit handlers: they belong to the daemon */
}

/* ------------------------------------------------------------------ */
/* The daemon's end: a queue of messages                               */

struct kmsg {
	struct kmsg *next;
	size_t len;
	bool secret;
	uint8_t data[];
};

struct mh_keeper {
	int fd;
	pid_t pid;
	struct kmsg *head, *tail;
	unsigned files;      /* state files queued (their M_END not yet sent) */
	bool gone;
};

struct mh_keeper *mh_keeper_start(const struct mh_keeper_cfg *c)
{
	struct mh_keeper *k = calloc(1, sizeof(*k));
	int sv[2], sz = SNDBUF, err;

	if (!k)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		goto fail;
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	k->pid = fork();
	if (k->pid == 0) {
		close(sv[0]);
		free(k);              /* the daemon's end, not the keeper's */
		keeper_main(c, sv[1]);
	}
	close(sv[1]);
	if (k->pid < 0) {
		close(sv[0]);
		goto fail;
	}
	k->fd = sv[0];
	if (fcntl(k->fd, F_SETFL, O_NONBLOCK) < 0)
		log_warn("keeper socket: %s", strerror(errno));
	return k;
fail:
	err = errno;
	free(k);
	errno = err;
	return NULL;
}

static void msg_free(struct kmsg *m)
{
	if (m->secret)
		OPENSSL_cleanse(m->data, m->len);
	OPENSSL_free(m);
}

static int push(struct mh_keeper *k, uint8_t type, const void *a, size_t alen,
		const void *b, size_t blen, bool secret)
{
	struct kmsg *m;

	if (k->gone)
		return -EPIPE;
	m = OPENSSL_malloc(sizeof(*m) + 1 + alen + blen);  /* may carry a key */
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = 1 + alen + blen;
	m->secret = secret;
	m->data[0] = type;
	if (alen)
		memcpy(m->data + 1, a, alen);
	if (blen)
		memcpy(m->data + 1 + alen, b, blen);
	if (k->tail)
		k->tail->next = m;
	else
		k->head = m;
	k->tail = m;
	return mh_keeper_pump(k);
}

int mh_keeper_pump(struct mh_keeper *k)
{
	while (k->head && !k->gone) {
		struct kmsg *m = k->head;

		if (send(k->fd, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)
				return 0;
			log_warn("state keeper (pid %d) is gone: %s; sessions will "
				 "not survive a restart", (int)k->pid, strerror(errno));
			k->gone = true;
			break;
		}
		if (m->data[0] == M_END)
			k->files--;
		k->head = m->next;
		if (!k->head)
			k->tail = NULL;
		msg_free(m);
	}
	return k->gone ? -EPIPE : 0;
}

int mh_keeper_key_add(struct mh_keeper *k, uint16_t port,
		      const uint8_t payload[MH_STATE_KEY_PAYLOAD_LEN])
{
	uint8_t p[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	return push(k, M_KEY_ADD, p, 2, payload, MH_STATE_KEY_PAYLOAD_LEN, true);
}

int mh_keeper_key_del(struct mh_keeper *k, uint16_t port)
{
	uint8_t p[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	return push(k, M_KEY_DEL, p, 2, NULL, 0, false);
}

int mh_keeper_write(struct mh_keeper *k, const char *buf, size_t len)
{
	int err = push(k, M_BEGIN, NULL, 0, NULL, 0, false);

	for (size_t off = 0; !err && off < len; off += CHUNK)
		err = push(k, M_CHUNK, buf + off, len - off < CHUNK ? len - off : CHUNK,
			   NULL, 0, false);
	if (!err) {
		k->files++;
		err = push(k, M_END, NULL, 0, NULL, 0, false);
	}
	return err;
}

int mh_keeper_forget(struct mh_keeper *k)
{
	return push(k, M_FORGET, NULL, 0, NULL, 0, false);
}

bool mh_keeper_file_queued(const struct mh_keeper *k)
{
	return k->files > 0;
}

static int wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : r == 0 ? -ETIMEDOUT : -errno;
}

int mh_keeper_finish(struct mh_keeper *k, int timeout_ms)
{
	uint8_t ack = 0;
	int err = push(k, M_SYNC, NULL, 0, NULL, 0, false);

	while (!err && k->head)
		err = wait_fd(k->fd, POLLOUT, timeout_ms) ?: mh_keeper_pump(k);
	if (!err)
		err = wait_fd(k->fd, POLLIN, timeout_ms);
	if (!err && recv(k->fd, &ack, 1, MSG_DONTWAIT) != 1)
		err = -EPIPE;
	while (k->head) {
		struct kmsg *m = k->head;

		k->head = m->next;
		msg_free(m);
	}
	close(k->fd);
	free(k);
	return err;
}
