/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's end of the gateway's relay listener (gwlisten.h): binds
 * relay_listen, forks the listener before any session key is in memory,
 * waits for it to say it is ready (or why not), then, from the event
 * loop, decodes every message it sends again (lengths, kinds, frames, the
 * server address against the SANs it reported), calls the gateway core
 * (gwcore.h) and sends each answer back (HELLO's too), those of one
 * wake-up's OPENs after their session adds went in as one batch. The
 * listener is not trusted.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "gwcore.h"
#include "gwlisten.h"
#include "gwpriv.h"
#include "gwstatus.h"
#include "gwtable.h"
#include "hostport.h"
#include "prefix.h"

#define READY_WAIT_MS 10000
#define SOCK_BUF      (1024 * 1024)
#define MSGS_PER_WAKE 256

struct gw_relay {
	uint32_t id;
	unsigned n_addrs;
	struct mh_addr addrs[MH_GWP_ADDRS_MAX];
};

struct mh_gwl_rt {
	int fd;
	pid_t pid;
	unsigned max, n_up;
	struct gw_relay *up;       /* max entries, n_up used */
	struct mh_gws links;       /* what mosh-helperctl status shows */
	unsigned n_servers;        /* relay_servers: 0 takes any address */
	struct mh_prefix servers[MH_RELAY_SERVERS_MAX];
};

/* relay_servers, read again (the configuration checked each already) */
static void load_servers(struct mh_gwl_rt *g, const struct mh_config *c)
{
	const char *why = "";

	for (unsigned i = 0; i < c->n_relay_servers; i++)
		if (mh_prefix_parse(c->relay_servers[i], &g->servers[i], &why) < 0)
			fatal("relay_servers \"%s\": %s", c->relay_servers[i], why);
	g->n_servers = c->n_relay_servers;
	if (!g->n_servers)
		log_warn("relay_servers is empty: a relay may announce sessions for "
			 "any server address its certificate names (set the login servers' "
			 "prefixes)");
}

static int bind_listener(const struct mh_config *c)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, zero = 0, fd;

	if (mh_hostport_parse(c->relay_listen, &ss, &len) < 0)
		fatal("relay_listen \"%s\" is not ADDR:PORT", c->relay_listen);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("relay listener socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* inherited by each accepted socket: answers leave at once */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0)
		fatal("relay listener on %s: %s", c->relay_listen, strerror(errno));
	return fd;
}

static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : r == 0 ? -ETIMEDOUT : -errno;
}

/* The child's first word: READY, or FAIL with its reason (fatal). */
static void await_ready(struct mh_gwl_rt *g)
{
	uint8_t buf[MH_GWP_MAX];
	struct mh_gwp p;
	const char *why = "no answer";
	ssize_t n = -1;
	int err = wait_readable(g->fd, READY_WAIT_MS);

	if (!err)
		n = recv(g->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0 && mh_gwp_decode(buf, (size_t)n, &p, &why) == 0) {
		if (p.kind == MH_GWP_READY)
			return;
		if (p.kind == MH_GWP_FAIL)
			fatal("relay listener: %s", p.text);
		why = "first message is not READY";
	}
	fatal("relay listener (pid %d) did not start: %s", (int)g->pid,
	      err ? strerror(-err) : n <= 0 ? "it exited" : why);
}

static void start_child(struct mh_daemon *d, struct mh_gwl_rt *g, int lfd)
{
	struct mh_gwl_cfg c = { .listen_fd = lfd, .cfg = &d->cfg,
				.log_syslog = d->log_syslog };
	int sv[2], sz = SOCK_BUF;

	c.switch_user = mh_harden_identity(&d->cfg, &c.uid, &c.gid) == 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("relay listener socketpair: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	g->pid = fork();
	if (g->pid < 0)
		fatal("forking the relay listener: %s", strerror(errno));
	if (g->pid == 0) {
		close(sv[0]);
		c.sock = sv[1];
		mh_gwl_child(&c);
	}
	close(sv[1]);
	close(lfd);
	g->fd = sv[0];
}

void mh_gwl_start(struct mh_daemon *d)
{
	struct mh_gwl_rt *g;
	int err;

	if (d->cfg.role != MH_ROLE_GATEWAY)
		return;
	g = calloc(1, sizeof(*g));
	if (!g || !(g->up = calloc(d->cfg.relay_max_connections, sizeof(*g->up))))
		fatal("relay listener: out of memory");
	g->max = d->cfg.relay_max_connections;
	load_servers(g, &d->cfg);
	start_child(d, g, bind_listener(&d->cfg));
	await_ready(g);
	if ((err = mh_epoll_add(d, g->fd, EV_TAG(EV_GWL, 0))) < 0)
		fatal("relay listener socket: %s", strerror(-err));
	d->gwl = g;
	log_info("relay listener (pid %d) on %s, up to %u relays", (int)g->pid,
		 d->cfg.relay_listen, g->max);
}

/* ---- messages from the listener ---- */

static struct gw_relay *relay_find(struct mh_gwl_rt *g, uint32_t id)
{
	for (unsigned i = 0; i < g->n_up; i++)
		if (g->up[i].id == id)
			return &g->up[i];
	return NULL;
}

/* The answers of one wake-up's messages, held until the gateway core's
 * batch of session adds is flushed (gwcore.h), then sent in order. */
static struct held {
	uint32_t relay;
	struct mhr_msg m;   /* type and id only */
	struct mhr_answer a;
} held[MSGS_PER_WAKE];
static unsigned n_held;

static void answer(struct mh_gwl_rt *g, uint32_t relay, const struct mhr_msg *m,
		   const struct mhr_answer *a)
{
	struct mh_gwp p = { .kind = MH_GWP_ANS, .relay = relay };
	uint8_t buf[MH_GWP_MAX];
	ssize_t n;

	if (mhr_answer(&p.msg, m->type, m->id, a->status, a->reason) < 0 &&
	    mhr_answer(&p.msg, m->type, m->id, MHR_ST_INTERNAL,
		       "gateway answer not encodable") < 0)
		return;
	n = mh_gwp_encode(&p, buf, sizeof(buf));
	if (n < 0 || send(g->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_warn("relay #%u: answer to %s id %u not sent to the listener: %s",
			 relay, mhr_type_name(m->type), m->id,
			 n < 0 ? strerror((int)-n) : strerror(errno));
}

/* UP: the HELLO is answered here (the daemon's word), refused when the
 * connection is up already, there are relay_max_connections, or the core
 * refuses it (another connection of that certificate subject is up). */
static void on_up(struct mh_daemon *d, struct mh_gwl_rt *g, const struct mh_gwp *p)
{
	struct mhr_answer a = { .of_type = MHR_HELLO, .status = MHR_ST_STATE };
	struct gw_relay *r;

	if (relay_find(g, p->relay) || g->n_up >= g->max) {
		snprintf(a.reason, sizeof(a.reason), "%s", g->n_up >= g->max ?
			 "more relays than relay_max_connections" : "already up");
		log_warn("relay listener: UP for relay #%u refused (%s)", p->relay,
			 a.reason);
		answer(g, p->relay, &p->msg, &a);
		return;
	}
	r = &g->up[g->n_up++];
	r->id = p->relay;
	r->n_addrs = p->n_addrs;
	memcpy(r->addrs, p->addrs, sizeof(r->addrs));
	mh_gw_relay_up(d, p->relay, p->subject, &p->msg.u.hello, &a);
	if (a.status != MHR_ST_OK)
		*r = g->up[--g->n_up];
	else
		mh_gws_up(&g->links, p->relay, p->subject, p->msg.u.hello.name,
			  mh_now_ms());
	answer(g, p->relay, &p->msg, &a);
}

static void on_down(struct mh_daemon *d, struct mh_gwl_rt *g, uint32_t relay)
{
	struct gw_relay *r = relay_find(g, relay);

	if (!r)
		return;
	*r = g->up[--g->n_up];
	mh_gws_down(&g->links, relay, mh_now_ms());
	mh_gw_relay_down(d, relay);
}

static const struct mh_addr *server_of(const struct mhr_msg *m)
{
	return m->type == MHR_OPEN ? &m->u.open.server :
	       m->type == MHR_END ? &m->u.end.server : NULL;
}

/* The core's batch in, then every held answer out. */
static void flush(struct mh_daemon *d, struct mh_gwl_rt *g)
{
	mh_gw_batch_flush(d);
	for (unsigned i = 0; i < n_held; i++)
		answer(g, held[i].relay, &held[i].m, &held[i].a);
	OPENSSL_cleanse(held, n_held * sizeof(held[0]));
	n_held = 0;
}

/* An OPEN or END naming a server address outside what it may name. */
static void not_allowed(const struct mh_gwp *p, struct mhr_answer *a,
			const char *outside, const char *reason)
{
	log_warn("relay listener: %s of relay #%u names a server address outside "
		 "%s; refused", mhr_type_name(p->msg.type), p->relay, outside);
	snprintf(a->reason, sizeof(a->reason), "%s", reason);
	a->status = MHR_ST_NOT_ALLOWED;
}

/* The answer goes into *a, which stays held until flush(): the core may
 * rewrite it then (gwcore.h, batching). */
static void decide(struct mh_daemon *d, const struct mh_gwl_rt *g,
		   struct gw_relay *r, const struct mh_addr *srv,
		   const struct mh_gwp *p, struct mhr_answer *a)
{
	if (!r) {
		log_warn("relay listener: %s for relay #%u, which is not up; refused",
			 mhr_type_name(p->msg.type), p->relay);
		snprintf(a->reason, sizeof(a->reason), "relay not up at the gateway");
		a->status = MHR_ST_STATE;
	} else if (srv && !mh_gwp_addr_listed(r->addrs, r->n_addrs, srv)) {
		not_allowed(p, a, "its certificate",
			    "server address is not in the relay's certificate");
	} else if (srv && g->n_servers &&
		   !mh_prefix_match(g->servers, g->n_servers, srv)) {
		not_allowed(p, a, "relay_servers",
			    "server address is outside the gateway's relay_servers");
	} else {
		snprintf(a->reason, sizeof(a->reason), "no answer from the gateway core");
		mh_gw_relay_msg(d, p->relay, &p->msg, a);
	}
}

static void on_msg(struct mh_daemon *d, struct mh_gwl_rt *g, const struct mh_gwp *p)
{
	struct gw_relay *r = relay_find(g, p->relay);
	const struct mh_addr *srv = server_of(&p->msg);
	struct held *h;

	if (n_held == MSGS_PER_WAKE)
		flush(d, g);
	h = &held[n_held++];
	h->relay = p->relay;
	h->m.type = p->msg.type;
	h->m.id = p->msg.id;
	h->a = (struct mhr_answer){ .of_type = p->msg.type, .status = MHR_ST_INTERNAL };
	decide(d, g, r, srv, p, &h->a);
}

static void dispatch(struct mh_daemon *d, struct mh_gwl_rt *g,
		     const uint8_t *buf, size_t n)
{
	struct mh_gwp p;
	const char *why = "";

	if (mh_gwp_decode(buf, n, &p, &why) < 0) {
		log_warn("relay listener sent an invalid message (%zu bytes): %s; "
			 "ignored", n, why);
		mh_gwp_wipe(&p);
		return;
	}
	if (p.kind != MH_GWP_MSG || p.msg.type != MHR_OPEN)
		flush(d, g);   /* what follows sees the batch's sessions in */
	if (p.kind == MH_GWP_UP) {
		on_up(d, g, &p);
	} else if (p.kind == MH_GWP_MSG) {
		on_msg(d, g, &p);
	} else if (p.kind == MH_GWP_DOWN) {
		on_down(d, g, p.relay);
	} else if (p.kind == MH_GWP_BEAT) {
		if (relay_find(g, p.relay))
			mh_gws_beat(&g->links, p.relay, mh_now_ms());
	} else {
		log_warn("relay listener sent a %c message now; ignored", p.kind);
	}
	mh_gwp_wipe(&p);
}

/* The listener died (killed by its filter, say): every relay is down,
 * and the daemon stops, keeping table and sessions, for the service
 * manager to start it again (under its filter it cannot fork). */
static void listener_gone(struct mh_daemon *d, struct mh_gwl_rt *g, int err)
{
	log_err("relay listener (pid %d) is gone (%s): stopping, keeping the "
		"table and sessions, for the service manager to restart the gateway",
		(int)g->pid, err ? strerror(err) : "its socket closed");
	mh_gw_batch_flush(d);   /* the held answers have nowhere to go */
	OPENSSL_cleanse(held, n_held * sizeof(held[0]));
	n_held = 0;
	while (g->n_up)
		on_down(d, g, g->up[g->n_up - 1].id);
	d->running = false;
}

void mh_gwl_input(struct mh_daemon *d)
{
	static uint8_t buf[MH_GWP_MAX + 1];
	struct mh_gwl_rt *g = d->gwl;

	if (!g)
		return;
	mh_gw_batch_begin(d);   /* the OPENs' session adds: one transaction */
	for (int i = 0; i < MSGS_PER_WAKE; i++) {
		ssize_t n = recv(g->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			listener_gone(d, g, n < 0 ? errno : 0);
			break;
		}
		dispatch(d, g, buf, (size_t)n > MH_GWP_MAX ? MH_GWP_MAX + 1 : (size_t)n);
		OPENSSL_cleanse(buf, sizeof(buf));
	}
	flush(d, g);
	mh_gw_batch_end(d);
}

/* ---- mosh-helperctl status ---- */

/* The sessions the gateway holds for a relay link: those of its
 * connection while up, those kept for its identity while down. */
static uint32_t sessions_of(const struct mh_daemon *d, const struct mh_gws_entry *e)
{
	uint32_t n = 0;

	if (!d->gw)
		return MHC_UNCOUNTED;
	for (unsigned i = 0; i < MH_GW_RELAYS_MAX; i++) {
		const struct mh_gw_relay *r = &d->gw->relay[i];

		if (!r->subject[0] || r->conn != e->conn)
			continue;
		if (e->conn || !strncmp(r->subject, e->subject, MHC_PEER_SUBJ_MAX))
			n += r->sessions;
	}
	return n;
}

int mh_gwl_peer(const struct mh_daemon *d, unsigned i, uint64_t now_ms,
		struct mhc_peer_info *p, unsigned *next)
{
	const struct mh_gws_entry *e = d->gwl ? mh_gws_at(&d->gwl->links, i, next) : NULL;

	memset(p, 0, sizeof(*p));
	if (!e)
		return -ENOENT;
	p->state = e->conn ? MHC_PEER_UP : MHC_PEER_DOWN;
	p->conn = e->conn;
	p->since_ago_ms = now_ms - e->since_ms;
	p->beat_ago_ms = e->beat_ms ? now_ms - e->beat_ms : MHC_NEVER;
	p->sessions = sessions_of(d, e);
	snprintf(p->name, sizeof(p->name), "%s", e->name);
	snprintf(p->subject, sizeof(p->subject), "%s", e->subject);
	return 0;
}

void mh_gwl_stop(struct mh_daemon *d)
{
	struct mh_gwl_rt *g = d->gwl;

	if (!g)
		return;
	close(g->fd);         /* the listener sees the end and exits */
	free(g->up);
	free(g);
	d->gwl = NULL;
}
