/*
 * Session lifecycle around the pure table: a session starts when an
 * announcement passes every check (its port joins the `sessions` set and
 * its mosh-server is watched through a pidfd) and ends when mosh-server
 * exits, when the socket it announced is no longer bound to its port, when
 * it is never contacted, or when it stays dormant too long. Each start and
 * end also goes to the restart state (state.c).
 *
 * Sockets: a session holds its port only while one of the sockets of its
 * uid that were bound to it at the announcement (sock_diag cookies) still
 * is; otherwise a user could bind a port, announce it, close the socket and
 * keep the port from everyone else's mosh-server. Checked when another
 * announcement wants the port, at resume (state.c) and with each periodic
 * sync (one dump of the range). A socket replaced by a new one of the same
 * uid is a new mosh-server: the old session ends, the new one announces.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

/* The first field of SSH_CONNECTION: where the user's login came from. */
static void ssh_client_of(const char *ssh_connection, char *out, size_t len)
{
	size_t n = strcspn(ssh_connection, " ");

	if (n >= len)
		n = 0;
	memcpy(out, ssh_connection, n);
	out[n] = 0;
}

int mh_sessions_start(struct mh_daemon *d, const struct mhc_announce *a,
		      const struct mh_proof *proof,
		      const uint8_t key[SSP_KEY_LEN], char *why, size_t whylen)
{
	struct mh_session *s;
	struct mh_proc_stat ps;
	char client[MH_SSH_CLIENT_MAX + 1];
	int pidfd, err;

	pidfd = pidfd_open(a->pid, 0);
	if (pidfd < 0 && errno != ESRCH) {   /* e.g. out of file descriptors */
		snprintf(why, whylen, "cannot watch mosh-server pid %u: %s", a->pid,
			 strerror(errno));
		return -errno;
	}
	if (pidfd < 0 || mh_pidfd_exited(pidfd)) {
		snprintf(why, whylen, "mosh-server pid %u is gone", a->pid);
		if (pidfd >= 0)
			close(pidfd);
		return -ESRCH;
	}
	s = mh_session_add(&d->sessions, a->port, key, proof->uid, a->pid,
			   mh_now_ms(), d->cfg.max_pinholes_per_session);
	if (!s) {
		snprintf(why, whylen, "cannot create session: %s", strerror(errno));
		close(pidfd);
		return -ENOMEM;
	}
	s->pidfd = pidfd;
	if (mh_proc_stat(a->pid, &ps) < 0 || mh_pidfd_exited(pidfd))
		s->pid_start = 0;   /* unknown: a restart will not resume it */
	else
		s->pid_start = ps.start;   /* unknown: a restart will not resume it */
	memcpy(s->bound, proof->bound, sizeof(s->bound));
	s->n_bound = proof->n_bound;
	memcpy(s->sock, proof->sock, sizeof(s->sock));
	s->n_sock = proof->n_bound;
	ssh_client_of(a->ssh_connection, client, sizeof(client));
	if (mh_session_set_ssh_client(&d->sessions, s, client) < 0)
		log_info("session %u: SSH_CONNECTION does not start with an address; "
			 "no single-port hint", s->id);
	err = mh_epoll_add(d, pidfd, EV_TAG(EV_PIDFD, a->port));
	if (!err)
		err = mh_kernel_session_port(d, a->port, true);
	if (err) {
		snprintf(why, whylen, "cannot open the session in the firewall: %s",
			 strerror(-err));
		mh_sessions_end(d, s, NULL);
		return err;
	}
	log_info("session %u port %u: uid %u pid %u ssh client %s", s->id,
		 s->port, (unsigned)proof->uid, a->pid, s->ssh_client[0] ? s->ssh_client : "-");
	mh_state_key_add(d, s, key);
	mh_state_dirty(d);
	return 0;
}

/* Single port: conntrack keeps DNATing a client's flow to this port after
 * the mappings are gone; its entries go too, so the client's next datagram
 * to the public port is a new source again. After the mappings: a datagram
 * in between would otherwise be mapped anew. */
static unsigned families_of(const struct mh_session *s)
{
	unsigned f = s->n_bound ? 0 : MH_CT_IPV4 | MH_CT_IPV6;   /* unknown */

	for (unsigned i = 0; i < s->n_bound && i < MH_MAX_BOUND; i++) {
		const struct mh_bound *b = &s->bound[i];

		if (b->family == AF_INET) {
			f |= MH_CT_IPV4;
			continue;
		}
		f |= MH_CT_IPV6;
		if ((b->any && !b->v6only) ||
		    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)b->ip))
			f |= MH_CT_IPV4;
	}
	return f;
}

/* Only a session that authentic datagrams reached can have flows (an
 * authentic first datagram always marks it contacted); only the families
 * its mosh-server's socket can receive. */
static void cut_flows(struct mh_daemon *d, const struct mh_session *s)
{
	int n;

	if (!s->contacted)
		return;
	n = mh_ct_cut(d, s->port, NULL, families_of(s));

	if (n > 0)
		log_info("session %u port %u: %d conntrack flow%s through port %u "
			 "deleted", s->id, s->port, n, n == 1 ? "" : "s",
			 d->pol.public_port);
}

void mh_sessions_end(struct mh_daemon *d, struct mh_session *s, const char *why)
{
	const struct mh_pinhole_rec *r;

	mh_kernel_session_port(d, s->port, false);
	mh_for_each_pinhole(s, r) {
		mh_kernel_pinhole(d, &r->client, s->port, false, true);
		if (d->pol.public_port)
			mh_kernel_mux(d, &r->client, s->port, true, false, true);
		mh_audit_pinhole(d, s, "pinhole_removed", &r->client,
				 "session_end");
	}
	if (d->pol.public_port)
		cut_flows(d, s);
	if (s->pidfd >= 0)
		close(s->pidfd);
	mh_state_key_del(d, s);
	mh_state_dirty(d);
	if (why) {
		log_info("session %u port %u ended: %s", s->id, s->port, why);
		mh_audit_session_end(d, s, why);
		d->stats.sessions_ended++;
	}
	mh_session_remove(&d->sessions, s);
}

void mh_sessions_pidfd(struct mh_daemon *d, uint16_t port)
{
	struct mh_session *s = mh_session_by_port(&d->sessions, port);

	if (s)
		mh_sessions_end(d, s, "mosh-server exited");
}

void mh_sessions_expire(struct mh_daemon *d, uint64_t now_ms)
{
	uint64_t handshake = (uint64_t)d->cfg.handshake_timeout * 1000;
	uint64_t dormant = (uint64_t)d->cfg.session_timeout * 1000;
	struct mh_session *s, *next;

	for (s = d->sessions.head; s; s = next) {
		next = s->next;
		if (!s->contacted && now_ms - s->announced_ms >= handshake)
			mh_sessions_end(d, s, "never contacted (handshake_timeout)");
		else if (s->contacted && now_ms - s->last_alive_ms >= dormant)
			mh_sessions_end(d, s, "dormant (session_timeout)");
	}
}

/* ------------------------------------------------------------------ */
/* Sockets                                                             */

struct port_scan {
	uint16_t port;
	uid_t uid;
	const struct mh_session *s;      /* if set: does one of its sockets hold it? */
	bool held;
	struct mh_sockid *out;           /* the uid's sockets, up to MH_MAX_BOUND */
	unsigned n;
};

static void port_cb(void *arg, uint16_t port, uid_t uid,
		    const struct mh_sockid *id)
{
	struct port_scan *ps = arg;

	if (port != ps->port || uid != ps->uid)
		return;
	if (ps->s && mh_session_has_sock(ps->s, uid, id->cookie))
		ps->held = true;
	if (ps->n < MH_MAX_BOUND)
		ps->out[ps->n++] = *id;
}

int mh_sessions_socket_held(struct mh_daemon *d, struct mh_session *s)
{
	struct mh_sockid ids[MH_MAX_BOUND];
	struct port_scan ps = { .port = s->port, .uid = s->uid, .s = s,
				.out = ids };
	int err = mh_owner_scan(d, s->port, s->port, port_cb, &ps);

	if (err)
		return err;
	if (!s->n_sock) {
		memcpy(s->sock, ids, ps.n * sizeof(ids[0]));
		s->n_sock = ps.n;
		return ps.n > 0;
	}
	return ps.held;
}

bool mh_sessions_socket_gone(struct mh_daemon *d, struct mh_session *s,
			     const char *when)
{
	char why[200];
	int held = mh_sessions_socket_held(d, s);

	if (held < 0) {
		log_warn("session %u port %u: cannot list UDP sockets (%s); kept",
			 s->id, s->port, strerror(-held));
		return false;
	}
	if (held)
		return false;
	/* mosh-server closes its socket as it exits: when its pidfd says so
	 * too, that is the reason (its event may be next in the queue) */
	if (s->pidfd >= 0 && mh_pidfd_exited(s->pidfd)) {
		mh_sessions_end(d, s, "mosh-server exited");
		return true;
	}
	snprintf(why, sizeof(why), "socket_gone: no socket of uid %u that was "
		 "announced (inode %u) is bound to port %u any more (%s)",
		 (unsigned)s->uid, s->n_sock ? s->sock[0].ino : 0, s->port, when);
	mh_sessions_end(d, s, why);
	return true;
}

struct range_scan {
	struct mh_table *t;
	uint32_t round;
	unsigned sockets;
};

static void range_cb(void *arg, uint16_t port, uid_t uid,
		     const struct mh_sockid *id)
{
	struct range_scan *r = arg;
	struct mh_session *s = mh_session_by_port(r->t, port);

	r->sockets++;
	if (s && mh_session_has_sock(s, uid, id->cookie))
		s->sock_seen = r->round;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A dump that spans several reads can miss a socket that another one,
 * closed meanwhile, shifted within its hash bucket: a session missing from
 * it is only ended once a dump of its own port (one read, each bucket
 * walked under its lock) agrees. */
void mh_sessions_check_sockets(struct mh_daemon *d)
{
	static uint32_t round;
	struct range_scan r = { &d->sessions, 0, 0 };
	struct mh_session *s, *next;
	unsigned missing = 0, ended = 0;
	uint64_t t0 = now_us();
	int err;

	if (!d->sessions.count)
		return;
	if (++round == 0)      /* 0 is what a new session holds */
		round = 1;
	r.round = round;
	err = mh_owner_scan(d, d->cfg.port_low, d->cfg.port_high, range_cb, &r);
	if (err) {
		log_warn("socket check: cannot list UDP sockets: %s", strerror(-err));
		return;
	}
	for (s = d->sessions.head; s; s = next) {
		next = s->next;
		if (s->sock_seen == r.round)
			continue;
		missing++;
		ended += mh_sessions_socket_gone(d, s, "periodic check");
	}
	log_debug("socket check: %u socket(s) on ports %u-%u, %u session(s), "
		  "%u not in the dump, %u ended, %llu us", r.sockets,
		  d->cfg.port_low, d->cfg.port_high, d->sessions.count + ended,
		  missing, ended, (unsigned long long)(now_us() - t0));
}
