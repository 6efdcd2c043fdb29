/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control socket: a SOCK_SEQPACKET unix socket every local user may
 * connect to. Each connection carries one request, checked by the control
 * protocol decoder and answered with a status and a reason; the caller's
 * uid comes from SO_PEERCRED, never from the message. One local user cannot
 * lock the others out: when every connection slot (or every descriptor) is
 * taken, the uid holding the most gives up its oldest connection; nor fill
 * the log: refusals are logged within the uid's budget (mh_audit_allow).
 * Announcements are handled here, mosh-helperctl's requests in admin.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon.h"
#include "lifecycle/lifecycle.h"
#include "intake/relay.h"

#define CONN_TIMEOUT_MS 2000   /* a client must send its request within this */

struct conn {
	int fd;              /* -1: free */
	uint64_t opened_ms;
	uid_t uid;           /* SO_PEERCRED at accept */
	bool held;           /* role relay: the answer waits for the gateways */
	uint32_t gen;        /* bumped at each close: a late answer finds its own */
};

/* The listening socket, the connection slots, a descriptor kept spare for
 * when the daemon runs out of them, and a rate limit for the per-connection
 * log lines a local user could otherwise flood. */
struct mh_control_rt {
	int fd;
	struct conn conns[MH_MAX_CONNS];
	int spare_fd;
	struct mh_ratelimit log;
};

static void reply(int fd, uint8_t status, const char *reason);
static void answer(struct mh_daemon *d, int fd, uid_t uid,
		   const struct mhc_announce *m, uint8_t status, const char *why);
static void late_answer(struct mh_daemon *d, const struct mh_relay_waiter *w,
			uint8_t status, const char *why);

static bool ctl_log_ok(struct mh_daemon *d)
{
	return mh_ratelimit_ok(&d->ctl->log, mh_now_ms());
}

static int socket_dir(const char *path)
{
	char tmp[MH_SUN_PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	if (mkdir(dirname(tmp), 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket file left by a daemon that died is removed; a live one is not. */
static int stale_socket(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), alive;

	if (fd < 0)
		return -errno;
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (alive)
		return -EADDRINUSE;
	if (unlink(sun->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int mh_control_open(struct mh_daemon *d)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int err, i;

	d->ctl = calloc(1, sizeof(*d->ctl));
	if (!d->ctl)
		return -ENOMEM;
	d->ctl->fd = -1;
	for (i = 0; i < MH_MAX_CONNS; i++)
		d->ctl->conns[i].fd = -1;
	mh_ratelimit_init(&d->ctl->log, 5, 20);
	d->ctl->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->cfg.control_socket);
	err = socket_dir(sun.sun_path);
	if (!err)
		err = stale_socket(&sun);
	if (err)
		return err;
	d->ctl->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->ctl->fd < 0)
		return -errno;
	/* every local user may announce (SO_PEERCRED says who they are): the
	 * socket is made 0666 by bind itself, never by a chmod of the path,
	 * which would follow whatever a symbolic link put there points to.
	 * A gateway takes no announcement: its socket, 0600, is the admin's
	 * (mosh-helperctl) alone. */
	old = umask(d->cfg.role == MH_ROLE_GATEWAY ? 0177 : 0111);
	err = bind(d->ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (err < 0) {   /* not ours to unlink at the stop (a gateway runs on) */
		err = -errno;
		close(d->ctl->fd);
		d->ctl->fd = -1;
		return err;
	}
	if (listen(d->ctl->fd, 64) < 0)
		return -errno;
	return mh_epoll_add(d, d->ctl->fd, EV_TAG(EV_CTL_LISTEN, 0));
}

static void conn_close(struct mh_daemon *d, unsigned idx)
{
	close(d->ctl->conns[idx].fd);   /* also leaves the epoll set */
	d->ctl->conns[idx].fd = -1;
	d->ctl->conns[idx].held = false;
	d->ctl->conns[idx].gen++;
}

void mh_control_close(struct mh_daemon *d)
{
	unsigned i;

	if (!d->ctl)
		return;
	for (i = 0; i < MH_MAX_CONNS; i++)
		if (d->ctl->conns[i].fd >= 0)
			conn_close(d, i);
	if (d->ctl->fd >= 0) {
		close(d->ctl->fd);
		unlink(d->cfg.control_socket);
		d->ctl->fd = -1;
	}
	if (d->ctl->spare_fd >= 0)
		close(d->ctl->spare_fd);
	free(d->ctl);
	d->ctl = NULL;
}

static unsigned conns_of(const struct mh_daemon *d, uid_t uid)
{
	unsigned i, n = 0;

	for (i = 0; i < MH_MAX_CONNS; i++)
		n += d->ctl->conns[i].fd >= 0 && d->ctl->conns[i].uid == uid;
	return n;
}

/* The open connection to close to make room for a newcomer of uid `uid`:
 * the oldest of the uid holding the most (the newcomer counted); if that
 * is the newcomer's uid without a connection yet (every uid holds one),
 * the oldest of all. MH_MAX_CONNS if none is open. */
static unsigned conn_victim(const struct mh_daemon *d, uid_t uid)
{
	unsigned i, n, most = conns_of(d, uid) + 1, victim = MH_MAX_CONNS;
	uid_t greedy = uid;

	for (i = 0; i < MH_MAX_CONNS; i++) {
		if (d->ctl->conns[i].fd < 0)
			continue;
		n = conns_of(d, d->ctl->conns[i].uid);
		if (n > most) {
			most = n;
			greedy = d->ctl->conns[i].uid;
		}
	}
	for (i = 0; i < MH_MAX_CONNS; i++)
		if (d->ctl->conns[i].fd >= 0 && (d->ctl->conns[i].uid == greedy || most == 1) &&
		    (victim == MH_MAX_CONNS ||
		     d->ctl->conns[i].opened_ms < d->ctl->conns[victim].opened_ms))
			victim = i;
	return victim;
}

/* A free slot for a new connection of uid, evicting one if need be. */
static unsigned conn_slot(struct mh_daemon *d, uid_t uid)
{
	unsigned i;

	for (i = 0; i < MH_MAX_CONNS; i++)
		if (d->ctl->conns[i].fd < 0)
			return i;
	i = conn_victim(d, uid);
	if (ctl_log_ok(d))
		log_warn("control: all %d connection slots taken; closing the oldest "
			 "of uid %u (the uid holding the most)", MH_MAX_CONNS,
			 (unsigned)d->ctl->conns[i].uid);
	conn_close(d, i);
	return i;
}

/* Out of file descriptors (each session holds a pidfd): a connection left
 * in the backlog would keep the listening socket ready and the event loop
 * spinning. Room is made as if the slots were full; with no connection
 * open, the spare descriptor lets the newcomer in to be told and closed.
 * false: nothing could be done. */
static bool out_of_fds(struct mh_daemon *d)
{
	unsigned i;
	int fd;

	if (ctl_log_ok(d))
		log_warn("control: out of file descriptors with %u sessions "
			 "(raise RLIMIT_NOFILE)", d->sessions.count);
	i = conn_victim(d, (uid_t)-1);
	if (i < MH_MAX_CONNS) {
		conn_close(d, i);
		return true;
	}
	if (d->ctl->spare_fd < 0)
		return false;
	close(d->ctl->spare_fd);
	fd = accept4(d->ctl->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		reply(fd, MHC_ERR_INTERNAL, "mosh-helperd is out of file descriptors");
		close(fd);
	}
	d->ctl->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0;
}

void mh_control_accept(struct mh_daemon *d)
{
	struct ucred cr;
	socklen_t crlen;
	unsigned i;
	int fd;

	/* bounded: a client reconnecting as fast as it is evicted must not
	 * keep the event loop from reading the requests already accepted */
	for (unsigned n = 0; n < MH_MAX_CONNS; n++) {
		fd = accept4(d->ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && out_of_fds(d))
			continue;
		if (fd < 0)
			break;
		crlen = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
			close(fd);
			continue;
		}
		i = conn_slot(d, cr.uid);
		d->ctl->conns[i].fd = fd;
		d->ctl->conns[i].opened_ms = mh_now_ms();
		d->ctl->conns[i].uid = cr.uid;
		if (mh_epoll_add(d, fd, EV_TAG(EV_CTL_CONN, i)) < 0)
			conn_close(d, i);
	}
}

/* A request already waiting is served, however late the event loop gets
 * to it (a flood of connections may have kept it busy): only a client that
 * really sent nothing is cut off. */
static bool request_waiting(int fd)
{
	uint8_t c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

void mh_control_expire(struct mh_daemon *d, uint64_t now_ms)
{
	unsigned i;

	for (i = 0; i < MH_MAX_CONNS; i++) {
		if (d->ctl->conns[i].fd < 0 || d->ctl->conns[i].held ||
		    now_ms - d->ctl->conns[i].opened_ms <= CONN_TIMEOUT_MS)
			continue;
		if (request_waiting(d->ctl->conns[i].fd)) {
			mh_control_conn_input(d, i);
			continue;
		}
		if (mh_audit_allow(d, d->ctl->conns[i].uid, MH_NOISY_CONTROL))
			log_info("control: uid %u sent nothing in time, cut off",
				 (unsigned)d->ctl->conns[i].uid);
		conn_close(d, i);
	}
}

static void reply(int fd, uint8_t status, const char *reason)
{
	uint8_t buf[MHC_MAX_MSG];
	ssize_t n = mhc_encode_reply(status, reason, buf, sizeof(buf));

	if (n > 0 && send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control reply: %s", strerror(errno));
}

/* The quotas and the ownership proof: MHC_OK with a filled in, or why not. */
static uint8_t verify(struct mh_daemon *d, const struct ucred *cr,
		      const struct mhc_announce *m, struct mh_announcement *a,
		      char *why, size_t whylen)
{
	struct mh_proof proof = { .uid = cr->uid };
	int err;

	if (d->sessions.count >= d->cfg.max_sessions) {
		snprintf(why, whylen, "the daemon holds its maximum of %u sessions",
			 d->cfg.max_sessions);
		return MHC_ERR_QUOTA;
	}
	if (mh_table_count_uid(&d->sessions, cr->uid) >=
	    d->cfg.max_sessions_per_user) {
		snprintf(why, whylen, "uid %u already has %u sessions (max_sessions_per_user)",
			 (unsigned)cr->uid, d->cfg.max_sessions_per_user);
		return MHC_ERR_QUOTA;
	}
	err = mh_owner_check(d, m->port, cr, m->pid, &proof, why, whylen);
	if (err)
		return err == -EACCES ? MHC_ERR_NOT_OWNER :
		       err == -EPERM ? MHC_ERR_PID :
		       err == -EAGAIN ? MHC_ERR_QUOTA : MHC_ERR_INTERNAL;
	a->source = MH_SOURCE_CONTROL;
	a->port = m->port;
	a->uid = cr->uid;
	a->pid = (pid_t)m->pid;
	snprintf(a->ssh_connection, sizeof(a->ssh_connection), "%s",
		 m->ssh_connection);
	memcpy(a->bound, proof.bound, sizeof(a->bound));
	a->n_bound = proof.n_bound;
	memcpy(a->sock, proof.sock, sizeof(a->sock));
	a->n_sock = proof.n_bound;
	return MHC_OK;
}

/* Role relay: the opened session goes to the gateways; the answer waits
 * for theirs (*held), or the relay refused it at once (and ended it). */
static uint8_t relay(struct mh_daemon *d, unsigned idx, uint16_t port,
		     bool *held, char *why, size_t whylen)
{
	struct mh_session *s = mh_session_by_port(&d->sessions, port);
	struct mh_relay_waiter w = { late_answer, idx, d->ctl->conns[idx].gen, port };

	if (!d->relay || !s)
		return MHC_OK;
	if (mh_relay_announce(d, s, &w, why, whylen) < 0)
		return MHC_ERR_GATEWAY;
	*held = true;
	return MHC_OK;
}

/* The announcement carries a key exactly when the daemon is not keyless:
 * a hook of the other mode (another configuration file, an older hook) is
 * told which, and a keyless daemon does nothing with a key it was sent
 * (the request buffer is wiped as always). */
static bool key_form_ok(const struct mh_daemon *d, const struct mhc_announce *m,
			char *why, size_t whylen)
{
	if (d->cfg.keyless && m->key[0])
		snprintf(why, whylen, "mosh-helperd is keyless and takes no session "
			 "key; this hook sent one (set keyless = true in the "
			 "configuration it reads)");
	else if (!d->cfg.keyless && !m->key[0])
		snprintf(why, whylen, "mosh-helperd needs the session key "
			 "(keyless = false); this hook sent none");
	else
		return true;
	return false;
}

/* Cheap checks first (range, a live session on the port, the key), then
 * the quotas and the proof; a verified announcement is opened. */
static uint8_t announce(struct mh_daemon *d, unsigned idx, const struct ucred *cr,
			const struct mhc_announce *m, bool *held, char *why,
			size_t whylen)
{
	struct mh_announcement a = { 0 };
	struct mh_session *s;
	const char *kwhy = NULL;
	uint8_t status;

	if (m->port < d->cfg.port_low || m->port > d->cfg.port_high) {
		snprintf(why, whylen, "port %u is not in the managed range %u-%u",
			 m->port, d->cfg.port_low, d->cfg.port_high);
		return MHC_ERR_RANGE;
	}
	if (m->port == d->pol.public_port) {
		snprintf(why, whylen, "port %u is the public single port; mosh-server "
			 "must use another one", m->port);
		return MHC_ERR_RANGE;
	}
	s = mh_session_by_port(&d->sessions, m->port);
	if (s && !mh_life_socket_gone(d, s, "port announced again", false)) {
		snprintf(why, whylen, "port %u already has a session", m->port);
		return MHC_ERR_EXISTS;
	}
	if (!key_form_ok(d, m, why, whylen))
		return MHC_ERR_KEY;
	if (!d->cfg.keyless &&
	    ssp_key_decode(m->key, strlen(m->key), a.key, &kwhy) < 0) {
		snprintf(why, whylen, "bad session key: %s", kwhy ? kwhy : "invalid");
		return MHC_ERR_KEY;
	}
	a.keyless = d->cfg.keyless;
	status = verify(d, cr, m, &a, why, whylen);
	if (status == MHC_OK && mh_life_open(d, &a, why, whylen) < 0)
		status = MHC_ERR_INTERNAL;
	if (status == MHC_OK && !a.keyless) {
		mh_audit_key(d, mh_session_by_port(&d->sessions, m->port), m->key);
		mh_mux_prefer(d, mh_session_by_port(&d->sessions, m->port));
	}
	if (status == MHC_OK)   /* keyless relay: a keyless OPEN */
		status = relay(d, idx, m->port, held, why, whylen);
	OPENSSL_cleanse(&a, sizeof(a));
	return status;
}

/* The counters, the log line and the audit of a refusal, then the reply. */
static void answer(struct mh_daemon *d, int fd, uid_t uid,
		   const struct mhc_announce *m, uint8_t status, const char *why)
{
	bool loud;

	if (status == MHC_OK)
		d->stats.announce_ok++;
	else
		d->stats.announce_refused++;
	/* an accepted one is audited where it opened (lifecycle.c); a
	 * refusal is the caller's to repeat at will: its uid's budget */
	loud = status != MHC_OK && mh_audit_allow(d, uid, MH_NOISY_CONTROL);
	if (loud && m)
		mh_audit_announce(d, uid, m, status, why,
				  mh_session_by_port(&d->sessions, m->port));
	if (loud)
		log_warn("control: refused uid %u pid %u port %u: %s (%s)",
			 (unsigned)uid, m ? m->pid : 0, m ? m->port : 0, why,
			 mhc_status_name(status));
	reply(fd, status, why);
}

/* The gateways' verdict on a held announcement (relay.c). */
static void late_answer(struct mh_daemon *d, const struct mh_relay_waiter *w,
			uint8_t status, const char *why)
{
	struct conn *c = w->idx < MH_MAX_CONNS && d->ctl ? &d->ctl->conns[w->idx] : NULL;
	struct mhc_announce m = { .port = w->port };

	if (!c || c->fd < 0 || !c->held || c->gen != w->gen)
		return;   /* the hook hung up meanwhile */
	answer(d, c->fd, c->uid, &m, status, why);
	conn_close(d, w->idx);
}

static void handle_request(struct mh_daemon *d, unsigned idx, int fd,
			   const uint8_t *buf, size_t len)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	const char *pwhy = NULL;
	char why[MHC_REASON_MAX + 1] = "";
	struct mhc_msg m;
	uint8_t status;
	bool held = false;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
		reply(fd, MHC_ERR_INTERNAL, "cannot read peer credentials");
		return;
	}
	if (mhc_decode(buf, len, &m, &pwhy) < 0 ||
	    (m.type != MHC_ANNOUNCE && !mh_admin_is_request(m.type))) {
		snprintf(why, sizeof(why), "malformed request: %s",
			 pwhy ? pwhy : "not an announcement nor an admin request");
		if (mh_audit_allow(d, cr.uid, MH_NOISY_CONTROL))
			log_warn("control: uid %u: %s", (unsigned)cr.uid, why);
		reply(fd, MHC_ERR_PROTOCOL, why);
		return;
	}
	if (m.type != MHC_ANNOUNCE) {   /* mosh-helperctl (admin.c) */
		mh_admin_request(d, fd, &cr, &m);
		return;
	}
	if (d->cfg.role == MH_ROLE_GATEWAY) {
		OPENSSL_cleanse(m.u.announce.key, sizeof(m.u.announce.key));
		reply(fd, MHC_ERR_PROTOCOL, "this mosh-helperd is a gateway: it takes "
		      "sessions from its relays over TLS, not from a hook");
		return;
	}
	status = announce(d, idx, &cr, &m.u.announce, &held, why, sizeof(why));
	OPENSSL_cleanse(m.u.announce.key, sizeof(m.u.announce.key));
	if (held) {   /* mh_control_answer replies */
		d->ctl->conns[idx].held = true;
		return;
	}
	if (status == MHC_OK)
		snprintf(why, sizeof(why), "session accepted on port %u",
			 m.u.announce.port);
	answer(d, fd, cr.uid, &m.u.announce, status, why);
}

void mh_control_conn_input(struct mh_daemon *d, unsigned idx)
{
	uint8_t buf[MHC_MAX_MSG];
	int fd = d->ctl->conns[idx].fd;
	ssize_t n;

	if (fd < 0)
		return;
	if (d->ctl->conns[idx].held) {   /* the hook hung up (or spoke again) */
		conn_close(d, idx);
		return;
	}
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > (ssize_t)sizeof(buf))
		reply(fd, MHC_ERR_PROTOCOL, "request longer than the protocol allows");
	else if (n > 0)
		handle_request(d, idx, fd, buf, n);
	else if (n == 0)   /* an empty record, or the peer hung up: same read */
		reply(fd, MHC_ERR_PROTOCOL, "empty request");
	OPENSSL_cleanse(buf, sizeof(buf));   /* the request held a session key */
	mh_wipe_stack();                     /* and the key set-up its copies */
	if (!d->ctl->conns[idx].held)
		conn_close(d, idx);
}
