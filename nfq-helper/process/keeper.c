/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The state keeper: a child forked at start-up, before the daemon drops
 * its privileges and installs its syscall filter, that adds and removes
 * session keys in the keyring and writes the state file (temporary, then
 * rename) on messages from the daemon over a socketpair, and reopens the
 * audit files when logs are rotated. It runs as the daemon's user (the
 * keys live in that user's keyring, not root's) with no capability, is
 * not dumpable, runs under a syscall filter of its own (seccomp.c), holds
 * the state lock so that a new daemon waits for it, and exits once the
 * daemon's end closes and every message is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon.h"
#include "keeper.h"

#define MSG_MAX    65536
#define CHUNK      (MSG_MAX - 16)
#define SNDBUF     (4 * 1024 * 1024)
#define KEEPER_NICE 10    /* the keeper's scheduling niceness */

#define RING_WAIT_MS 5000   /* for the keeper to set up the keyring */

enum { M_KEY_ADD = 'K', M_KEY_DEL = 'D', M_BEGIN = 'B', M_CHUNK = 'C',
       M_END = 'E', M_FORGET = 'X', M_SYNC = 'Z', M_REOPEN = 'O' };
/* the keeper's answers: the keyring at start, reopened files */
enum { A_RING = 'R', A_FILES = 'F' };

struct ring_answer {
	uint8_t type;
	int32_t ring, user_ring, err;
};

struct files_answer {
	uint8_t type;
	int32_t err[MH_KF_COUNT];   /* 1: a descriptor follows, 0: unchanged, -errno */
};

/* ------------------------------------------------------------------ */
/* The keeper                                                          */

struct kst {
	const struct mh_keeper_cfg *c;
	int32_t ring, user_ring;
	uid_t uid;         /* its own: the audit files must be this uid's */
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
		     (size_t)MH_STATE_KEY_PAYLOAD_LEN, k->ring);
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
	id = kctl(KEYCTL_SEARCH, (unsigned long)k->ring, (unsigned long)"user",
		  (unsigned long)desc);
	if (id >= 0 && kctl(KEYCTL_INVALIDATE, (unsigned long)id, 0, 0) < 0)
		kctl(KEYCTL_UNLINK, (unsigned long)id, (unsigned long)k->ring, 0);
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
	kctl(KEYCTL_CLEAR, (unsigned long)k->ring, 0, 0);
	kctl(KEYCTL_UNLINK, (unsigned long)k->ring, (unsigned long)k->user_ring, 0);
	if (unlink(k->c->path) < 0 && errno != ENOENT)
		log_warn("state file %s: %s", k->c->path, strerror(errno));
}

/* One audit file opened anew as audit.c opens it at start (no symbolic
 * link followed, a regular file of ours not writable by group or other).
 * 1 with *out a new descriptor, 0 if it is still the file the daemon
 * writes (or off), -errno. A new capture starts empty. */
static int reopen_one(const struct kst *k, unsigned i, const struct mh_file_id *cur,
		      int *out)
{
	const char *path = k->c->files[i];
	struct stat st;
	int fd, err = 0;

	*out = -1;
	if (!path || !path[0])
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
		  O_NONBLOCK, k->c->modes[i]);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (st.st_uid != k->uid || (st.st_mode & (S_IWGRP | S_IWOTH)))
		err = -EPERM;
	else if ((uint64_t)st.st_dev == cur->dev && (uint64_t)st.st_ino == cur->ino)
		err = 1;                       /* not rotated: nothing to do */
	else if (fchmod(fd, k->c->modes[i]) < 0 ||
		 (i == MH_KF_PCAP && ftruncate(fd, 0) < 0))
		err = -errno;
	if (err) {
		close(fd);
		return err == 1 ? 0 : err;
	}
	*out = fd;
	return 1;
}

/* Every audit file reopened; the new descriptors go back with the answer. */
static void reopen(const struct kst *k, int sock, const uint8_t *m, size_t n)
{
	struct files_answer a = { .type = A_FILES };
	struct mh_file_id cur[MH_KF_COUNT];
	int fds[MH_KF_COUNT], nfd = 0, fd;
	union { char buf[CMSG_SPACE(sizeof(fds))]; struct cmsghdr align; } u;
	struct iovec iov = { &a, sizeof(a) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (n != 1 + sizeof(cur))
		return;
	memcpy(cur, m + 1, sizeof(cur));
	for (unsigned i = 0; i < MH_KF_COUNT; i++) {
		a.err[i] = reopen_one(k, i, &cur[i], &fd);
		if (fd >= 0)
			fds[nfd++] = fd;
	}
	if (nfd) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfd);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfd);
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		log_warn("keeper: answering a reopen: %s", strerror(errno));
	while (nfd)
		close(fds[--nfd]);
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
	case M_REOPEN: reopen(k, fd, m, n); break;
	case M_SYNC:
		if (send(fd, &ok, 1, MSG_NOSIGNAL) < 0)
			log_debug("keeper: %s", strerror(errno));
		break;
	default:
		log_warn("keeper: unknown message %u", m[0]);
	}
}

/* Only its socket and the lock stay open. */
static void close_others(const struct mh_keeper_cfg *c, int fd)
{
	int lock = c->lock_fd >= 0 ? c->lock_fd : fd;
	int lo = fd < lock ? fd : lock, hi = fd < lock ? lock : fd;

	if ((lo > 3 && close_range(3, (unsigned)lo - 1, 0) < 0) ||
	    (hi > lo + 1 && close_range((unsigned)lo + 1, (unsigned)hi - 1, 0) < 0) ||
	    close_range((unsigned)hi + 1, ~0U, 0) < 0) {
		long max = sysconf(_SC_OPEN_MAX);   /* no close_range: one by one */

		for (int i = 3; i < (max > 0 && max < 65536 ? max : 65536); i++)
			if (i != fd && i != lock)
				close(i);
	}
}

/* The daemon's user (its keyring, its files), then no capability at all.
 * 0 or -errno: a keeper that cannot become that user does not start. */
static int keeper_prepare(const struct mh_keeper_cfg *c, int fd)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[2] = { { 0 } };

	close_others(c, fd);
	prctl(PR_SET_NAME, "mh-state-keeper", 0, 0, 0);
	/* background work: never preempt the daemon's verdicts */
	if (setpriority(PRIO_PROCESS, 0, KEEPER_NICE) < 0)
		log_debug("keeper: setpriority: %s", strerror(errno));
	if (c->switch_user &&
	    (setgroups(1, &c->gid) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
	     setresuid(c->uid, c->uid, c->uid) < 0))
		return -errno;
	/* after the uid change, which resets the flag */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_capset, &h, none) < 0)
		log_warn("keeper: dropping privileges: %s", strerror(errno));
	return 0;
}

/* Our keyring in the keeper's user keyring (the daemon's user's: it
 * outlives the daemon), found again or made, and linked into the session
 * keyring the daemon and the keeper share: possession for both, and for
 * nobody else. One per network namespace and table, as the table itself. */
static int ring_setup(struct kst *k)
{
	long r = kctl(KEYCTL_GET_KEYRING_ID, (unsigned long)KEY_SPEC_USER_KEYRING, 1, 0);

	/* the user keyring in the keeper's own process keyring: what it
	 * holds is the keeper's to use by serial (the session keyring it
	 * shares with the daemon does not hold the user keyring) */
	if (r < 0 || kctl(KEYCTL_LINK, (unsigned long)KEY_SPEC_USER_KEYRING,
			  (unsigned long)KEY_SPEC_PROCESS_KEYRING, 0) < 0)
		return -errno;
	k->user_ring = (int32_t)r;
	r = kctl(KEYCTL_SEARCH, (unsigned long)k->user_ring, (unsigned long)"keyring",
		 (unsigned long)k->c->ring_name);
	if (r < 0)
		r = syscall(SYS_add_key, "keyring", k->c->ring_name, NULL, (size_t)0,
			    k->user_ring);
	if (r < 0)
		return -errno;
	k->ring = (int32_t)r;
	if (kctl(KEYCTL_SETPERM, (unsigned long)k->ring, MH_PERM_RING, 0) < 0)
		log_warn("keyring %s: setting its permissions: %s", k->c->ring_name,
			 strerror(errno));
	if (kctl(KEYCTL_LINK, (unsigned long)k->ring,
		 (unsigned long)KEY_SPEC_SESSION_KEYRING, 0) < 0)
		return -errno;
	return 0;
}

/* Its user, its keyring (told to the daemon), then its own filter. */
static int keeper_setup(struct kst *k, int fd)
{
	struct ring_answer a = { .type = A_RING };
	int err = keeper_prepare(k->c, fd);

	k->uid = geteuid();
	if (!err)
		err = ring_setup(k);
	a.ring = k->ring;
	a.user_ring = k->user_ring;
	a.err = err;
	if (send(fd, &a, sizeof(a), MSG_NOSIGNAL) < 0 && !err)
		err = -errno;
	if (!err && k->c->seccomp && (err = mh_seccomp_install_keeper()) < 0)
		log_warn("keeper: installing its syscall filter: %s", strerror(-err));
	return a.err;
}

static _Noreturn void keeper_main(const struct mh_keeper_cfg *c, int fd)
{
	static uint8_t m[MSG_MAX];
	struct kst k = { .c = c, .file = -1 };

	if (keeper_setup(&k, fd) < 0)
		_exit(1);
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
	int32_t ring, user_ring;
	struct kmsg *head, *tail;
	unsigned files;      /* state files queued (their M_END not yet sent) */
	bool gone;
};

static int wait_fd(int fd, short ev, int timeout_ms);

/* The keeper's first word: the keyring it found or made, or why not. */
static int await_ring(struct mh_keeper *k)
{
	struct ring_answer a;
	int err = wait_fd(k->fd, POLLIN, RING_WAIT_MS);

	if (err)
		return err;
	if (recv(k->fd, &a, sizeof(a), MSG_DONTWAIT) != (ssize_t)sizeof(a) ||
	    a.type != A_RING)
		return -EPIPE;
	k->ring = a.ring;
	k->user_ring = a.user_ring;
	return a.err;
}

/* A session keyring of the daemon's own, which its keeper inherits: what
 * the keeper links there, the daemon possesses too. Nothing else joins it
 * (possessor-only permissions, an anonymous keyring). */
static void own_session_keyring(void)
{
	long r = kctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0);

	if (r < 0 || kctl(KEYCTL_SETPERM, (unsigned long)r, 0x3f000000u, 0) < 0)
		log_warn("session keyring: %s", strerror(errno));
}

struct mh_keeper *mh_keeper_start(const struct mh_keeper_cfg *c)
{
	struct mh_keeper *k = calloc(1, sizeof(*k));
	int sv[2], sz = SNDBUF, err;

	if (!k)
		return NULL;
	own_session_keyring();
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
	k->fd = sv[0];
	if (k->pid < 0 || (errno = -await_ring(k)) != 0) {
		close(sv[0]);
		goto fail;
	}
	if (fcntl(k->fd, F_SETFL, O_NONBLOCK) < 0)
		log_warn("keeper socket: %s", strerror(errno));
	return k;
fail:
	err = errno;
	free(k);
	errno = err;
	return NULL;
}

void mh_keeper_rings(const struct mh_keeper *k, int32_t *ring, int32_t *user_ring)
{
	*ring = k->ring;
	*user_ring = k->user_ring;
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

int mh_keeper_file_begin(struct mh_keeper *k)
{
	return push(k, M_BEGIN, NULL, 0, NULL, 0, false);
}

int mh_keeper_file_part(struct mh_keeper *k, const char *buf, size_t len)
{
	int err = 0;

	for (size_t off = 0; !err && off < len; off += CHUNK)
		err = push(k, M_CHUNK, buf + off, len - off < CHUNK ? len - off : CHUNK,
			   NULL, 0, false);
	return err;
}

int mh_keeper_file_end(struct mh_keeper *k)
{
	if (k->gone)
		return -EPIPE;
	k->files++;
	return push(k, M_END, NULL, 0, NULL, 0, false);
}

int mh_keeper_forget(struct mh_keeper *k)
{
	return push(k, M_FORGET, NULL, 0, NULL, 0, false);
}

int mh_keeper_reopen(struct mh_keeper *k, const struct mh_file_id cur[MH_KF_COUNT])
{
	return push(k, M_REOPEN, cur, sizeof(struct mh_file_id) * MH_KF_COUNT,
		    NULL, 0, false);
}

int mh_keeper_fd(const struct mh_keeper *k)
{
	return k->fd;
}

/* The descriptors an answer carried, in file order. */
static unsigned take_fds(struct msghdr *mh, int *fds, unsigned max)
{
	struct cmsghdr *cm;
	unsigned n = 0;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t len;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		len = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < len; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

int mh_keeper_reopened(struct mh_keeper *k, int fd[MH_KF_COUNT])
{
	struct files_answer a;
	int got[MH_KF_COUNT];
	union { char buf[CMSG_SPACE(sizeof(got))]; struct cmsghdr align; } u;
	struct iovec iov = { &a, sizeof(a) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t r = recvmsg(k->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	unsigned n, used = 0;

	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	n = take_fds(&mh, got, MH_KF_COUNT);
	if (r == 0)
		return -EPIPE;
	for (unsigned i = 0; i < MH_KF_COUNT; i++) {
		bool valid = r == (ssize_t)sizeof(a) && a.type == A_FILES;

		fd[i] = !valid ? -EPROTO : a.err[i] == 1 ? (used < n ? got[used++] : -EPROTO)
			: a.err[i] < 0 ? a.err[i] : -1;
	}
	while (used < n)
		close(got[used++]);
	return 0;
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
