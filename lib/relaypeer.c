/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The relay's pure decisions (relaypeer.h): the all/any acknowledgement
 * rule over the gateways' answers, the reconnection backoff, the server
 * address a session is announced under (bound address or relay_addresses,
 * always one of the certificate's), and the resync's frames.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "relaypeer.h"
#include "ssp.h"

static unsigned first_of(const uint8_t *st, unsigned n, uint8_t what)
{
	for (unsigned i = 0; i < n; i++)
		if (st[i] == what)
			return i;
	return n;
}

enum mh_ack_verdict mh_ack_decide(int policy, const uint8_t *st, unsigned n,
				  bool timed_out, unsigned *culprit)
{
	unsigned ok = 0, bad = 0, wait = 0, i;

	for (i = 0; i < n; i++) {
		ok += st[i] == MH_GWA_OK;
		bad += st[i] == MH_GWA_REFUSED || st[i] == MH_GWA_DOWN;
		wait += st[i] == MH_GWA_WAIT;
	}
	*culprit = first_of(st, n, MH_GWA_REFUSED);
	if (*culprit == n)
		*culprit = first_of(st, n, MH_GWA_DOWN);
	if (*culprit == n)
		*culprit = first_of(st, n, MH_GWA_WAIT);
	if (*culprit == n)
		*culprit = 0;
	if (n == 0)
		return MH_AV_REFUSE;
	if (policy == MH_ACK_ANY) {
		if (ok)
			return MH_AV_ACCEPT;
		return wait && !timed_out ? MH_AV_PENDING : MH_AV_REFUSE;
	}
	if (bad)
		return MH_AV_REFUSE;
	if (!wait)
		return MH_AV_ACCEPT;
	return timed_out ? MH_AV_REFUSE : MH_AV_PENDING;
}

uint32_t mh_relay_backoff_ms(unsigned failures, uint32_t rnd)
{
	uint32_t d = failures <= 1 ? MH_BACKOFF_MIN_MS : MH_BACKOFF_FAST_MS;

	for (unsigned i = MH_BACKOFF_FAST_N; i < failures && d < MH_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > MH_BACKOFF_MAX_MS)
		d = MH_BACKOFF_MAX_MS;
	return d - rnd % (d / 4 + 1);
}

static bool is_mine(const struct mh_addr *a, const struct mh_addr *mine,
		    unsigned n_mine)
{
	for (unsigned i = 0; i < n_mine; i++)
		if (mh_addr_equal_host(a, &mine[i]))
			return true;
	return false;
}

/* A bound address as the gateway will see the session's datagrams. */
static void bound_addr(const struct mh_bound *b, struct mh_addr *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(a, 0, sizeof(*a));
	a->family = b->family;
	memcpy(a->ip, b->ip, b->family == AF_INET ? 4 : 16);
	if (b->family == AF_INET6 && !memcmp(b->ip, mapped, sizeof(mapped))) {
		a->family = AF_INET;
		memset(a->ip, 0, sizeof(a->ip));
		memcpy(a->ip, b->ip + 12, 4);
	}
}

/* Whether a wildcard socket of b (NULL: not known) receives family f. */
static bool receives(const struct mh_bound *b, int f)
{
	if (!b)
		return true;
	return b->family == f || (b->family == AF_INET6 && !b->v6only && f == AF_INET);
}

static int from_conf(const struct mh_bound *b, const struct mh_addr *mine,
		     unsigned n_mine, const struct mh_addr *conf,
		     unsigned n_conf, struct mh_addr *out)
{
	for (unsigned i = 0; i < n_conf; i++) {
		if (!receives(b, conf[i].family) || !is_mine(&conf[i], mine, n_mine))
			continue;
		*out = conf[i];
		out->port = 0;
		return 0;
	}
	return -EADDRNOTAVAIL;
}

int mh_relay_server_addr(const struct mh_bound *b, unsigned n_bound,
			 const struct mh_addr *mine, unsigned n_mine,
			 const struct mh_addr *conf, unsigned n_conf,
			 struct mh_addr *out, char *why, size_t whylen)
{
	char ip[MH_ADDRSTRLEN] = "?";
	struct mh_addr a;

	for (unsigned i = 0; i < n_bound && i < MH_MAX_BOUND; i++) {
		if (b[i].any) {
			if (!from_conf(&b[i], mine, n_mine, conf, n_conf, out))
				return 0;
			continue;
		}
		bound_addr(&b[i], &a);
		if (is_mine(&a, mine, n_mine)) {
			*out = a;
			return 0;
		}
		inet_ntop(a.family, a.ip, ip, sizeof(ip));
	}
	if (!n_bound && !from_conf(NULL, mine, n_mine, conf, n_conf, out))
		return 0;
	if (strcmp(ip, "?"))
		snprintf(why, whylen, "server address %s (mosh-server's socket) is "
			 "not in this relay's certificate", ip);
	else
		snprintf(why, whylen, "mosh-server's socket is bound to the wildcard "
			 "address and relay_addresses names none of this relay's "
			 "certificate addresses that it can receive");
	return -EADDRNOTAVAIL;
}

uint32_t mh_relay_next_id(uint32_t *ctr)
{
	if (++*ctr == 0)
		*ctr = 1;
	return *ctr;
}

void mh_relay_open_msg(const struct mh_relay_sess *s, uint32_t id, bool resync,
		       struct mhr_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = MHR_OPEN;
	m->id = id;
	m->u.open.sid = s->sid;
	m->u.open.flags = (resync ? MHR_OPEN_RESYNC : 0) |
			  (s->keyless ? MHR_OPEN_KEYLESS : 0);
	m->u.open.uid = s->uid;
	m->u.open.server = s->server;
	m->u.open.client_hint = s->hint;
	m->u.open.client_hint.port = 0;
	if (!s->keyless)
		memcpy(m->u.open.key, s->key, sizeof(m->u.open.key));
}

int mh_relay_sess_of(const struct mh_session *s, const struct mh_addr *mine,
		     unsigned n_mine, const struct mh_addr *conf, unsigned n_conf,
		     struct mh_relay_sess *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	if (mh_relay_server_addr(s->bound, s->n_bound, mine, n_mine, conf, n_conf,
				 &out->server, why, whylen) < 0)
		return -EADDRNOTAVAIL;
	out->server.port = s->port;
	out->sid = s->id;
	out->uid = (uint32_t)s->uid;
	if (s->ssh_addr.family == AF_INET || s->ssh_addr.family == AF_INET6)
		out->hint = s->ssh_addr;
	out->hint.port = 0;
	out->keyless = !s->ssp;   /* keyless mode: it never had one */
	if (s->ssp)
		ssp_ctx_get_key(s->ssp, out->key);
	return 0;
}

unsigned mh_relay_list(const struct mh_table *t, const struct mh_addr *mine,
		       unsigned n_mine, const struct mh_addr *conf,
		       unsigned n_conf, struct mh_relay_sess *out, unsigned max,
		       unsigned *skipped)
{
	const struct mh_session *s;
	unsigned n = 0;
	char why[200];

	*skipped = 0;
	for (s = t->head; s && n < max; s = s->next) {
		if (mh_relay_sess_of(s, mine, n_mine, conf, n_conf, &out[n], why,
				     sizeof(why)) == 0)
			n++;
		else
			(*skipped)++;
	}
	return n;
}

uint8_t mh_relay_end_reason(enum mh_end why)
{
	switch (why) {
	case MH_END_SOCKET_GONE:
		return MHR_END_SOCKET_GONE;
	case MH_END_HANDSHAKE:
	case MH_END_DORMANT:
		return MHR_END_EXPIRED;
	case MH_END_REFUSED:
		return MHR_END_WITHDRAWN;
	default:
		return MHR_END_EXITED;
	}
}
