/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The gateway's relay listener, the child side (gwlisten.h): started by
 * the daemon before any session key is in memory, it loads the site CA,
 * its certificate, key and CRL, then gives up everything: the daemon's
 * unprivileged user, no capability (bounding set too), not dumpable,
 * no_new_privs, a syscall filter of its own (no new file, socket or
 * process). Then it accepts relays (at most relay_max_connections, and
 * at most GWL_PRE_PER_SOURCE of them from one source before their TLS
 * handshake is done), runs their connections (gwconn.c) and passes their
 * messages to the daemon.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "daemon.h"
#include "gwlisten.h"
#include "gwlisten_int.h"

#define TICK_MS    250
#define MAX_EVENTS 64
#define TAG_LISTEN 0
#define TAG_SOCK   1

/* ---- start-up ---- */

static _Noreturn void start_failed(int sock, const char *fmt, const char *arg)
{
	struct mh_gwp p = { .kind = MH_GWP_FAIL };
	uint8_t buf[MH_GWP_MAX];
	ssize_t n;

	snprintf(p.text, sizeof(p.text), fmt, arg);
	for (char *s = p.text; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
	n = mh_gwp_encode(&p, buf, sizeof(buf));
	if (n > 0)
		send(sock, buf, (size_t)n, MSG_NOSIGNAL);
	_exit(1);
}

/* Only the listening socket, its socketpair end and stdio stay open. */
static void close_others(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0U, 0);
}

static const char *load_tls(struct gwl *l, const struct mh_config *cfg)
{
	static char err[MH_TLS_ERR_MAX];
	struct mh_tls_files f = {
		.ca = cfg->tls_ca[0] ? cfg->tls_ca : NULL,
		.cert = cfg->tls_cert[0] ? cfg->tls_cert : NULL,
		.key = cfg->tls_key[0] ? cfg->tls_key : NULL,
		.crl = cfg->tls_crl[0] ? cfg->tls_crl : NULL,
	};
	uint8_t warm[16];

	l->tls = mh_tls_ctx_new(MH_TLS_GATEWAY, &f, err, sizeof(err));
	if (!l->tls)
		return err;
	/* the random generator seeded now, not under the filter */
	if (RAND_bytes(warm, sizeof(warm)) != 1)
		return "the random generator cannot be seeded";
	OPENSSL_cleanse(warm, sizeof(warm));
	return NULL;
}

/* Every capability gone, from every set; then the user. NULL or why not. */
static const char *drop_privileges(const struct mh_gwl_cfg *c)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[2] = { { 0 } }, now[2];

	for (unsigned cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		if (prctl(PR_CAPBSET_READ, cap) == 1 && prctl(PR_CAPBSET_DROP, cap) < 0 &&
		    errno != EPERM)
			return "dropping the bounding set";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return "clearing ambient capabilities";
	if (c->switch_user &&
	    (setgroups(1, &c->gid) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
	     setresuid(c->uid, c->uid, c->uid) < 0))
		return "becoming the daemon's user";
	if (syscall(SYS_capset, &h, none) < 0 || syscall(SYS_capget, &h, now) < 0 ||
	    now[0].effective | now[0].permitted | now[1].effective | now[1].permitted)
		return "dropping every capability";
	/* after the uid change, which resets the flag */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return "PR_SET_DUMPABLE / PR_SET_NO_NEW_PRIVS";
	return NULL;
}

static void setup(struct gwl *l, const struct mh_gwl_cfg *c)
{
	const char *why;
	sigset_t none;
	int err;

	close_others(c->listen_fd, c->sock);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);   /* the daemon's signalfd mask */
	prctl(PR_SET_NAME, "mh-relay-listen", 0, 0, 0);
	mh_log_init("mosh-helperd/relays", c->log_syslog, c->cfg->log_level);
	l->lfd = c->listen_fd;
	l->sock = c->sock;
	l->max = c->cfg->relay_max_connections;
	l->per_src = l->max / 2 < GWL_PRE_PER_SOURCE ? l->max / 2 : GWL_PRE_PER_SOURCE;
	if (!l->per_src)
		l->per_src = 1;         /* a single slot: whoever comes first */
	l->hs_ms = (uint64_t)c->cfg->relay_handshake_timeout * 1000;
	l->keyless = c->cfg->keyless;
	l->conns = calloc(l->max, sizeof(*l->conns));
	l->down = calloc(l->max, sizeof(*l->down));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	for (int k = 0; k < GWL_NOISE_KINDS; k++)
		mh_ratelimit_init(&l->noise[k], GWL_NOISE_PER_SEC, GWL_NOISE_BURST);
	if (!l->conns || !l->down || l->epfd < 0)
		start_failed(l->sock, "%s", "out of memory or descriptors");
	if ((why = load_tls(l, c->cfg)))
		start_failed(l->sock, "%s", why);
	if ((why = drop_privileges(c)))
		start_failed(l->sock, "%s", why);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);   /* reset by the uid change */
	if (c->cfg->seccomp && (err = mh_seccomp_install_gwlisten()) < 0)
		start_failed(l->sock, "installing its syscall filter: %s", strerror(-err));
}

/* ---- the loop ---- */

static void peer_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	bool v4 = ss->ss_family == AF_INET;

	if (v4) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		v4 = IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);   /* dual-stack socket */
		if (v4)
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	snprintf(buf, len, v4 ? "%s:%u" : "[%s]:%u", ip, port);
}

static void key_of(const struct sockaddr_storage *ss, struct gwl_addr_key *k)
{
	memset(k, 0, sizeof(*k));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		k->fam = 4;
		memcpy(k->b, &a->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		bool v4 = IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);

		k->fam = v4 ? 4 : 6;
		memcpy(k->b, &a->sin6_addr.s6_addr[v4 ? 12 : 0], v4 ? 4 : 8);
	}
}

static bool same_key(const struct gwl_addr_key *a, const struct gwl_addr_key *b)
{
	return a->fam == b->fam && !memcmp(a->b, b->b, sizeof(a->b));
}

/* The keys GWL_PRE_PER_SOURCE counts by: the peer's, and the gateway
 * address it came to (all zero if it cannot be told). */
static void src_of(int fd, const struct sockaddr_storage *ss,
		   struct gwl_src *src)
{
	struct sockaddr_storage me;
	socklen_t len = sizeof(me);

	if (getsockname(fd, (struct sockaddr *)&me, &len) < 0)
		me.ss_family = AF_UNSPEC;
	key_of(&me, &src->to);
	key_of(ss, &src->from);
}

/* Connections from src's source that have not finished their TLS
 * handshake: how many in all, and into *to how many of them came to
 * src's gateway address. */
static unsigned pre_count(const struct gwl *l, const struct gwl_src *src,
			  unsigned *to)
{
	unsigned n = 0;

	*to = 0;
	for (unsigned i = 0; i < l->max; i++) {
		const struct gwc *c = l->conns[i];

		if (!c || c->state != GWC_HANDSHAKE || !same_key(&c->src.from, &src->from))
			continue;
		n++;
		*to += same_key(&c->src.to, &src->to);
	}
	return n;
}

/* src's source holds its allowance over all the gateway's addresses: the
 * oldest handshake to the address it holds the most of goes. A relay
 * comes to one address, which its host's table keeps other users from,
 * so a crowd of them on other addresses gives way to it. */
static void evict_for(struct gwl *l, const struct gwl_src *src)
{
	struct gwc *mine[2 * GWL_PRE_PER_SOURCE], *out = NULL;
	unsigned n = 0, most = 0;

	for (unsigned i = 0; i < l->max && n < 2 * GWL_PRE_PER_SOURCE; i++) {
		struct gwc *c = l->conns[i];

		if (c && c->state == GWC_HANDSHAKE && same_key(&c->src.from, &src->from) &&
		    !same_key(&c->src.to, &src->to))
			mine[n++] = c;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned k = 0;

		for (unsigned j = 0; j < n; j++)
			k += same_key(&mine[j]->src.to, &mine[i]->src.to);
		if (k > most || (k == most && mine[i]->deadline_ms < out->deadline_ms)) {
			most = k;
			out = mine[i];
		}
	}
	if (out)
		gwc_close(l, out, "given way: its address holds too many unfinished "
			  "handshakes to this gateway's addresses");
}

static void noise_summary(struct gwl *l, uint64_t now)
{
	struct mh_ratelimit *r = &l->noise[GWL_NOISE_REFUSED];
	struct mh_ratelimit *h = &l->noise[GWL_NOISE_HANDSHAKE];

	if (!(r->suppressed | h->suppressed) || now - l->noise_ms < GWL_NOISE_SUMMARY_MS)
		return;
	log_warn("lines not logged (each kind: %d, then one every %g s): %llu about "
		 "refused relay connections, %llu about failed or stalled TLS "
		 "handshakes; the last about %s", GWL_NOISE_BURST, 1 / GWL_NOISE_PER_SEC,
		 (unsigned long long)r->suppressed, (unsigned long long)h->suppressed,
		 l->noise_who);
	r->suppressed = h->suppressed = 0;
	l->noise_ms = now;
}

static void refuse_full(struct gwl *l, int fd, const char *peer)
{
	close(fd);
	if (gwl_noise_ok(l, GWL_NOISE_REFUSED, peer))
		log_warn("relay connection from %s refused: %u relay connections "
			 "open (relay_max_connections)", peer, l->n_open);
}

static void refuse_source(struct gwl *l, int fd, const char *peer)
{
	close(fd);
	if (gwl_noise_ok(l, GWL_NOISE_REFUSED, peer))
		log_warn("relay connection from %s refused: %u connections from its "
			 "address (IPv6: its /64) to this one still in their TLS handshake",
			 peer, l->per_src);
}

/* A connection just accepted: refused, or given a slot. */
static void admit(struct gwl *l, int fd, const struct sockaddr_storage *ss)
{
	char peer[INET6_ADDRSTRLEN + 16];
	struct gwl_src src;
	unsigned to;
	int slot;

	peer_text(ss, peer, sizeof(peer));
	src_of(fd, ss, &src);
	if (pre_count(l, &src, &to) >= 2 * l->per_src && to < l->per_src)
		evict_for(l, &src);
	if (to >= l->per_src)
		refuse_source(l, fd, peer);
	else if ((slot = gwl_free_slot(l)) < 0)
		refuse_full(l, fd, peer);
	else
		gwc_open(l, fd, peer, &src, (unsigned)slot);
}

/* The listening socket in the wait (EPOLLIN) or out of it (no events). */
static void listen_wait(struct gwl *l, bool on)
{
	struct epoll_event e = { .events = on ? EPOLLIN : 0, .data.u64 = TAG_LISTEN };

	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->lfd, &e) < 0)
		fatal("relay listener epoll: %s", strerror(errno));
	l->accept_paused = !on;
}

/* Out of descriptors (a flood from many addresses, each within its
 * limit, with relay_max_connections above the descriptor limit) or
 * memory: the pending connection stays queued and the socket readable,
 * so accepting again at once would spin. The next tick tries again. */
static void accept_failed(struct gwl *l, int err)
{
	if (gwl_noise_ok(l, GWL_NOISE_REFUSED, "accept4 failing"))
		log_warn("accepting a relay: %s; trying again in %d ms",
			 strerror(err), TICK_MS);
	listen_wait(l, false);
}

static void on_listen(struct gwl *l)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->lfd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				accept_failed(l, errno);
			return;
		}
		admit(l, fd, &ss);
	}
}

/* The daemon's answers; its end closing ends the listener. */
static void on_sock(struct gwl *l)
{
	static uint8_t buf[MH_GWP_MAX];

	for (;;) {
		ssize_t n = recv(l->sock, buf, sizeof(buf), MSG_DONTWAIT);
		struct mh_gwp p;
		const char *why;
		struct gwc *c;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			l->parent_gone = true;
			return;
		}
		if (mh_gwp_decode(buf, (size_t)n, &p, &why) < 0 || p.kind != MH_GWP_ANS) {
			log_warn("the daemon sent a bad message: %s", why);
			continue;
		}
		for (unsigned i = 0; i < l->max; i++)
			if ((c = l->conns[i]) && c->id == p.relay) {
				gwc_answered(l, c, &p.msg);
				break;
			}
	}
}

static void on_event(struct gwl *l, uint64_t tag)
{
	uint32_t slot = (uint32_t)tag, id = (uint32_t)(tag >> 32);
	struct gwc *c;

	if (slot == TAG_LISTEN)
		on_listen(l);
	else if (slot == TAG_SOCK)
		on_sock(l);
	else if (slot - 2 < l->max && (c = l->conns[slot - 2]) && c->id == id)
		gwc_service(l, c);
}

static void tick(struct gwl *l)
{
	uint64_t now = mh_now_ms();

	gwl_flush_downs(l);
	if (l->accept_paused)
		listen_wait(l, true);
	for (unsigned i = 0; i < l->max; i++)
		if (l->conns[i])
			gwc_tick(l, l->conns[i], now);
	noise_summary(l, now);
}

static void serve(struct gwl *l)
{
	struct epoll_event ev[MAX_EVENTS];
	struct epoll_event a = { .events = EPOLLIN, .data.u64 = TAG_LISTEN };
	struct epoll_event b = { .events = EPOLLIN, .data.u64 = TAG_SOCK };
	uint64_t next = mh_now_ms() + TICK_MS;

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->lfd, &a) < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sock, &b) < 0)
		fatal("relay listener epoll: %s", strerror(errno));
	while (!l->parent_gone) {
		int n = epoll_wait(l->epfd, ev, MAX_EVENTS, TICK_MS);

		for (int i = 0; i < n; i++)
			on_event(l, ev[i].data.u64);
		if (mh_now_ms() >= next) {
			tick(l);
			next = mh_now_ms() + TICK_MS;
		}
	}
}

_Noreturn void mh_gwl_child(const struct mh_gwl_cfg *c)
{
	struct mh_gwp ready = { .kind = MH_GWP_READY };
	static struct gwl l;

	setup(&l, c);
	if (gwl_send(&l, &ready) < 0)
		_exit(1);
	serve(&l);
	for (unsigned i = 0; i < l.max; i++)
		if (l.conns[i])
			gwc_close(&l, l.conns[i], "the gateway daemon stopped");
	_exit(0);
}
