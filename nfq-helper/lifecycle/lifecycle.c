/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A session's one birth and one death. mh_life_open takes a verified
 * announcement from any source (control.c: the hook; resume.c: an earlier
 * daemon's state) and opens the session: its mosh-server watched through a
 * pidfd, its port in the `sessions` set, its key in the keyring, one line
 * in the log and one in the audit trail. mh_life_end ends it for a reason
 * (mosh-server exited, its socket gone, never contacted, dormant), with
 * its port, pinholes, flows and key, again logged and audited once.
 *
 * Sockets: a session holds its port only while one of the sockets of its
 * uid that were bound to it at the announcement (sock_diag cookies) still
 * is; otherwise a user could bind a port, announce it, close the socket and
 * keep the port from everyone else's mosh-server. Checked when another
 * announcement wants the port, at resume (resume.c) and with each periodic
 * sync (one dump of the range). A socket replaced by a new one of the same
 * uid is a new mosh-server: the old session ends, the new one announces.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "lifecycle.h"

static int refuse(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

/* A pidfd of the announced mosh-server, and its start time (0 if unknown);
 * an announcement that names a start time must find that process (pidfd
 * first: the start time read next is that process's). */
static int watch_pid(const struct mh_announcement *a, int *pidfd,
		     uint64_t *start, char *why, size_t len)
{
	struct mh_proc_stat ps = { 0 };

	*start = 0;
	*pidfd = pidfd_open(a->pid, 0);
	if (*pidfd < 0 && errno != ESRCH)   /* e.g. out of file descriptors */
		return refuse(why, len, -errno, "cannot watch mosh-server pid %u: %s",
			      (unsigned)a->pid, strerror(errno));
	if (*pidfd < 0)
		return refuse(why, len, -ESRCH, "mosh-server pid %u is gone",
			      (unsigned)a->pid);
	if (mh_proc_stat(a->pid, &ps) < 0)
		ps.start = 0;
	if (!mh_pidfd_exited(*pidfd) && (!a->pid_start || ps.start == a->pid_start)) {
		*start = ps.start;   /* 0: unknown, a restart will not resume it */
		return 0;
	}
	close(*pidfd);
	if (ps.start && a->pid_start && ps.start != a->pid_start)
		return refuse(why, len, -ESRCH, "pid %u now belongs to another "
			      "process", (unsigned)a->pid);
	return refuse(why, len, -ESRCH, "mosh-server pid %u is gone",
		      (unsigned)a->pid);
}

/* The session in the table, with what the announcement knows of it. */
static struct mh_session *make(struct mh_daemon *d,
			       const struct mh_announcement *a, uint64_t start)
{
	char client[MH_SSH_CLIENT_MAX + 1];
	struct mh_session *s;

	s = mh_session_add(&d->sessions, a->port, a->keyless ? NULL : a->key,
			   a->uid, a->pid, mh_now_ms(),
			   d->cfg.max_pinholes_per_session);
	if (!s)
		return NULL;
	mh_keyless_init(&s->kl, &d->pol.kl, mh_now_ms());
	if (a->saved) {
		mh_saved_apply(a->saved, s);
		mh_session_seq_sync(&d->sessions, s);   /* its restored max_seq_in */
		if (s->seen_in)   /* keyless: what mosh-server had confirmed */
			mh_keyless_restore(&s->kl, s->max_seq_in);
	}
	s->pid_start = start;
	memcpy(s->bound, a->bound, sizeof(s->bound));
	s->n_bound = a->n_bound;
	memcpy(s->sock, a->sock, sizeof(s->sock));
	s->n_sock = a->n_sock;
	mh_announce_ssh_client(a->ssh_connection, client, sizeof(client));
	if (mh_session_set_ssh_client(&d->sessions, s, client) < 0)
		log_info("session %u: SSH_CONNECTION does not start with an "
			 "address; no single-port hint", s->id);
	return s;
}

static void log_open(struct mh_daemon *d, const struct mh_announcement *a,
		     const struct mh_session *s)
{
	struct mhc_announce v;
	char why[MHC_REASON_MAX + 1];

	if (a->saved)
		log_info("session %u port %u resumed: uid %u pid %u ssh client %s, "
			 "%u pinhole record(s)", s->id, s->port, (unsigned)s->uid,
			 (unsigned)s->pid, s->ssh_client[0] ? s->ssh_client : "-",
			 mh_pinhole_count(s));
	else
		log_info("session %u port %u: uid %u pid %u ssh client %s", s->id,
			 s->port, (unsigned)s->uid, (unsigned)s->pid,
			 s->ssh_client[0] ? s->ssh_client : "-");
	mh_announce_view(a, &v);
	mh_announce_reason(a, why, sizeof(why));
	mh_audit_announce(d, a->uid, &v, MHC_OK, why, s);
}

int mh_life_open(struct mh_daemon *d, const struct mh_announcement *a,
		 char *why, size_t whylen)
{
	struct mh_session *s;
	uint64_t start;
	int pidfd, err;

	if ((err = watch_pid(a, &pidfd, &start, why, whylen)) < 0)
		return err;
	s = make(d, a, start);
	if (!s) {
		err = refuse(why, whylen, -ENOMEM, "cannot create session: %s",
			     strerror(errno));
		close(pidfd);
		return err;
	}
	s->pidfd = pidfd;
	err = mh_epoll_add(d, pidfd, EV_TAG(EV_PIDFD, a->port));
	if (!err)
		err = mh_kernel_elem(d, MH_NFT_PORT, MH_NFT_ADD, NULL, a->port,
				     MH_KERNEL_SYNC);
	if (err) {
		refuse(why, whylen, err, "cannot open the session in the firewall: %s",
		       strerror(-err));
		mh_life_end(d, s, MH_END_UNDONE, NULL);
		return err;
	}
	if (!a->key_kept && !a->keyless)
		mh_state_key_add(d, s, a->key);
	mh_state_dirty(d);
	log_open(d, a, s);
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
	n = mh_ct_cut(d, NULL, s->port, NULL, families_of(s));

	if (n > 0)
		log_info("session %u port %u: %d conntrack flow%s through port %u "
			 "deleted", s->id, s->port, n, n == 1 ? "" : "s",
			 d->pol.public_port);
}

/* Its port, pinholes (and single-port mappings) out of the kernel. */
static void release(struct mh_daemon *d, const struct mh_session *s)
{
	const struct mh_pinhole_rec *r;

	mh_kernel_elem(d, MH_NFT_PORT, MH_NFT_DEL, NULL, s->port, MH_KERNEL_SYNC);
	mh_for_each_pinhole(s, r) {
		mh_kernel_elem(d, MH_NFT_PINHOLE, MH_NFT_DEL, &r->client, s->port,
			       MH_KERNEL_SYNC);
		if (d->pol.public_port)
			mh_kernel_elem(d, MH_NFT_MUX, MH_NFT_DEL, &r->client, s->port,
				       MH_KERNEL_SYNC);
		mh_audit_pinhole(d, s, "pinhole_removed", &r->client,
				 "session_end");
	}
	if (d->pol.public_port)
		cut_flows(d, s);
	mh_state_key_del(d, s);
	mh_state_dirty(d);
}

void mh_life_end(struct mh_daemon *d, struct mh_session *s, enum mh_end why,
		 const char *detail)
{
	const char *text = detail ? detail : mh_end_text(why);

	if (mh_end_releases(why))
		release(d, s);
	if (s->pidfd >= 0) {
		/* out of the epoll set first: a copy of the pidfd elsewhere
		 * (admin.c passes it to the session's owner) would keep the
		 * registration, which fires on every wait once the process is
		 * gone (level-triggered) */
		mh_epoll_del(d, s->pidfd);
		close(s->pidfd);
	}
	if (mh_end_releases(why) && d->on_session_end)
		d->on_session_end(d, s, why);
	if (mh_end_releases(why)) {
		log_info("session %u port %u ended: %s", s->id, s->port, text);
		mh_audit_session_end(d, s, text);
		d->stats.sessions_ended++;
	}
	mh_session_remove(&d->sessions, s);
}

/* The daemon stops: every session leaves memory; its port, pinholes, key
 * and saved state stay for the next start. */
void mh_life_stop(struct mh_daemon *d)
{
	while (d->sessions.head)
		mh_life_end(d, d->sessions.head, MH_END_STOP, NULL);
}

/* Not every event ends its port's session: one may be a replaced
 * session's (mh_session_pidfd_event). */
void mh_life_pidfd(struct mh_daemon *d, uint16_t port)
{
	struct mh_session *s = mh_session_pidfd_event(&d->sessions, port);

	if (s)
		mh_life_end(d, s, MH_END_EXITED, NULL);
}

void mh_life_expire(struct mh_daemon *d, uint64_t now_ms)
{
	uint64_t handshake = (uint64_t)d->cfg.handshake_timeout * 1000;
	uint64_t dormant = (uint64_t)d->cfg.session_timeout * 1000;
	struct mh_session *s, *next;

	for (s = d->sessions.head; s; s = next) {
		next = s->next;
		if (!s->contacted && now_ms - s->announced_ms >= handshake)
			mh_life_end(d, s, MH_END_HANDSHAKE, NULL);
		else if (s->contacted && now_ms - s->last_alive_ms >= dormant)
			mh_life_end(d, s, MH_END_DORMANT, NULL);
	}
}

/* ------------------------------------------------------------------ */
/* Sockets                                                             */

struct port_scan {
	uint16_t port;
	uid_t uid;
	struct mh_sockid *known;         /* does one of these hold it? (a
					    device's index it lacks is
					    learnt: a state file before
					    the index) */
	unsigned n_known;
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
	for (unsigned i = 0; i < ps->n_known && i < MH_MAX_BOUND; i++)
		if (ps->known[i].cookie == id->cookie) {
			ps->held = true;
			ps->known[i].ifindex = id->ifindex;
		}
	if (ps->n < MH_MAX_BOUND)
		ps->out[ps->n++] = *id;
}

int mh_life_sockets_held(struct mh_daemon *d, uint16_t port, uid_t uid,
			 const struct mh_bound *bound, unsigned n_bound,
			 struct mh_sockid sock[MH_MAX_BOUND], unsigned *n_sock)
{
	struct mh_sockid ids[MH_MAX_BOUND];
	struct port_scan ps = { .port = port, .uid = uid, .known = sock,
				.n_known = *n_sock, .out = ids };
	int err = 0;

	/* each known socket asked by itself (one lookup: no crowd on the
	 * port can hide it, sockdiag.c); found, that is proof. Not found,
	 * the port's dump decides (a lookup misses a socket bound to a device
	 * whose index is not known, as after a restart from a state file
	 * written before the index was kept), as it does for
	 * sockets not known yet (a version 1 state file) */
	if (*n_sock && n_bound == *n_sock) {
		for (unsigned i = 0; i < *n_sock && i < MH_MAX_BOUND; i++) {
			err = mh_sockdiag_one(d, &bound[i], port, &sock[i]);
			if (err)
				break;
		}
		if (err > 0)
			return 1;
	}
	err = mh_sockdiag_scan(d, port, port, port_cb, &ps);
	if (err)
		return err;
	if (!*n_sock) {
		memcpy(sock, ids, ps.n * sizeof(ids[0]));
		*n_sock = ps.n;
		return ps.n > 0;
	}
	return ps.held;
}

bool mh_life_socket_gone(struct mh_daemon *d, struct mh_session *s,
			 const char *when, bool patient)
{
	char why[200];
	int held = mh_life_sockets_held(d, s->port, s->uid, s->bound, s->n_bound,
					s->sock, &s->n_sock);

	if (held < 0) {
		log_warn("session %u port %u: cannot list UDP sockets (%s); kept",
			 s->id, s->port, strerror(-held));
		return false;
	}
	if (held) {
		s->sock_missed = false;
		return false;
	}
	/* mosh-server closes its socket as it exits: when its pidfd says so
	 * too, that is the reason (its event may be next in the queue). The
	 * socket closes before the pidfd says so, in mosh-server's own
	 * clean-up or as the kernel ends it: a process already exiting (/proc)
	 * has exited, and a patient check gives a running one until the next
	 * check, by when its pidfd's event has ended it as exited. */
	if (s->pidfd >= 0 && (mh_pidfd_exited(s->pidfd) || mh_proc_exiting(s->pid))) {
		mh_life_end(d, s, MH_END_EXITED, NULL);
		return true;
	}
	if (patient && s->pidfd >= 0 && !s->sock_missed) {
		s->sock_missed = true;
		log_debug("session %u port %u: no socket, mosh-server %u still runs: "
			  "ended at the next check if still so", s->id, s->port,
			  (unsigned)s->pid);
		return false;
	}
	snprintf(why, sizeof(why), "%s: no socket of uid %u that was announced "
		 "(inode %u) is bound to port %u any more (%s)",
		 mh_end_text(MH_END_SOCKET_GONE), (unsigned)s->uid,
		 s->n_sock ? s->sock[0].ino : 0, s->port, when);
	mh_life_end(d, s, MH_END_SOCKET_GONE, why);
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
 * it is only ended once its own socket is not found by itself either (one
 * lookup, no walk), nor, as that is no proof alone, in a dump of its port
 * (mh_life_sockets_held). */
void mh_life_check_sockets(struct mh_daemon *d)
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
	err = mh_sockdiag_scan(d, d->cfg.port_low, d->cfg.port_high, range_cb, &r);
	if (err) {
		log_warn("socket check: cannot list UDP sockets: %s", strerror(-err));
		return;
	}
	for (s = d->sessions.head; s; s = next) {
		next = s->next;
		if (s->sock_seen == r.round) {
			s->sock_missed = false;
			continue;
		}
		missing++;
		ended += mh_life_socket_gone(d, s, "periodic check", true);
	}
	log_debug("socket check: %u socket(s) on ports %u-%u, %u session(s), "
		  "%u not in the dump, %u ended, %llu us", r.sockets,
		  d->cfg.port_low, d->cfg.port_high, d->sessions.count + ended,
		  missing, ended, (unsigned long long)(now_us() - t0));
}
