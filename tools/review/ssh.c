/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SSH logins seen in a capture: TCP SYNs to port 22 (the login that starts
 * a mosh session) and the server's SYN-ACK, so a session's story can say
 * which SSH connection from the same client address preceded it.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "review.h"

#define SSH_PORT    22
#define TCP_MIN_HDR 14    /* through the flags byte */
#define TCP_SYN     0x02
#define TCP_ACK     0x10
#define IPV6_HDR    40
#define MAX_EXT     8

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Offset of the TCP header, filling the addresses; -1 if not TCP. */
static long tcp_offset(const uint8_t *b, size_t len, struct mh_addr *src,
		       struct mh_addr *dst)
{
	size_t off;
	uint8_t next;
	int i;

	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (len >= 20 && b[0] >> 4 == 4) {
		if (b[9] != IPPROTO_TCP || (rd16(b + 6) & 0x1fff) ||
		    (b[0] & 0x0f) < 5)
			return -1;
		src->family = dst->family = AF_INET;
		memcpy(src->ip, b + 12, 4);
		memcpy(dst->ip, b + 16, 4);
		return (long)(b[0] & 0x0f) * 4;
	}
	if (len < IPV6_HDR || b[0] >> 4 != 6)
		return -1;
	next = b[6];
	off = IPV6_HDR;
	for (i = 0; i < MAX_EXT && next != IPPROTO_TCP; i++) {
		if ((next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
		     next != IPPROTO_DSTOPTS) || off + 8 > len)
			return -1;
		next = b[off];
		off += 8 + (size_t)b[off + 1] * 8;
	}
	if (next != IPPROTO_TCP)
		return -1;
	src->family = dst->family = AF_INET6;
	memcpy(src->ip, b + 8, 16);
	memcpy(dst->ip, b + 24, 16);
	return (long)off;
}

/* The logins of one client address, in order of their SYN's time. */
struct rv_ssh_host {
	struct mh_addr addr;      /* port 0 */
	uint32_t *idx;            /* indices in the list's v */
	size_t n, cap;
};

struct conn_key {
	const struct rv_ssh_list *l;
	const struct mh_addr *client, *server;
};

static bool conn_eq(const void *ctx, uint32_t val)
{
	const struct conn_key *k = ctx;
	const struct rv_ssh *e = &k->l->v[val - 1];

	return mh_addr_equal(&e->client, k->client) &&
	       mh_addr_equal(&e->server, k->server);
}

static uint64_t conn_hash(const struct mh_addr *client, const struct mh_addr *server)
{
	return rv_hash_addr(client, true, rv_hash_addr(server, true, 0));
}

static struct rv_ssh *find_conn(struct rv_ssh_list *l, const struct mh_addr *client,
				const struct mh_addr *server)
{
	struct conn_key k = { l, client, server };
	uint32_t v = rv_idx_find(&l->conn, conn_hash(client, server), conn_eq, &k);

	return v ? &l->v[v - 1] : NULL;
}

static bool same_host(const struct mh_addr *a, const struct mh_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}

struct host_key {
	const struct rv_ssh_list *l;
	const struct mh_addr *addr;
};

static bool host_eq(const void *ctx, uint32_t val)
{
	const struct host_key *k = ctx;

	return same_host(&k->l->hosts[val - 1].addr, k->addr);
}

static struct rv_ssh_host *find_host(const struct rv_ssh_list *l,
				     const struct mh_addr *a)
{
	struct host_key k = { l, a };
	uint32_t v = rv_idx_find(&l->host, rv_hash_addr(a, false, 0), host_eq, &k);

	return v ? &l->hosts[v - 1] : NULL;
}

static struct rv_ssh_host *add_host(struct rv_ssh_list *l, const struct mh_addr *a)
{
	struct rv_ssh_host *h;

	if (l->n_hosts == l->cap_hosts) {
		size_t cap = l->cap_hosts ? l->cap_hosts * 2 : 16;

		h = realloc(l->hosts, cap * sizeof(*h));
		if (!h)
			return NULL;
		l->hosts = h;
		l->cap_hosts = cap;
	}
	if (rv_idx_add(&l->host, rv_hash_addr(a, false, 0), (uint32_t)l->n_hosts + 1) < 0)
		return NULL;
	h = &l->hosts[l->n_hosts++];
	memset(h, 0, sizeof(*h));
	h->addr = *a;
	h->addr.port = 0;
	return h;
}

/* Files login i under its client address, keeping the SYN times in order
 * and at most RV_SSH_PER_HOST of them (the latest): a capture in time order
 * appends, and one out of order moves at most that many entries. */
static int host_note(struct rv_ssh_list *l, uint32_t i)
{
	struct rv_ssh_host *h = find_host(l, &l->v[i].client);
	rv_time syn = l->v[i].syn;
	size_t k;

	if (!h && !(h = add_host(l, &l->v[i].client)))
		return -1;
	if (h->n == RV_SSH_PER_HOST) {
		l->host_dropped++;
		if (l->v[h->idx[0]].syn > syn)
			return 0;                  /* older than every one kept */
		memmove(h->idx, h->idx + 1, --h->n * sizeof(*h->idx));
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 4;
		uint32_t *v = realloc(h->idx, cap * sizeof(*v));

		if (!v)
			return -1;
		h->idx = v;
		h->cap = cap;
	}
	for (k = h->n; k > 0 && l->v[h->idx[k - 1]].syn > syn; k--)
		;
	memmove(h->idx + k + 1, h->idx + k, (h->n - k) * sizeof(*h->idx));
	h->idx[k] = i;
	h->n++;
	return 0;
}

static void add_syn(struct rv_ssh_list *l, const struct mh_addr *client,
		    const struct mh_addr *server, rv_time ts)
{
	struct rv_ssh *e;

	if (find_conn(l, client, server))
		return;   /* a retransmitted SYN */
	if (l->n >= RV_MAX_SSH) {
		l->dropped++;
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct rv_ssh *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n];
	e->client = *client;
	e->server = *server;
	e->syn = ts;
	e->established = false;
	if (rv_idx_add(&l->conn, conn_hash(client, server), (uint32_t)l->n + 1) < 0 ||
	    host_note(l, (uint32_t)l->n) < 0) {
		l->oom = true;
		return;
	}
	l->n++;
}

bool rv_ssh_packet(struct rv_ssh_list *l, const struct rv_packet *p)
{
	struct mh_addr src, dst;
	struct rv_ssh *e;
	long off = tcp_offset(p->l3, p->l3_len, &src, &dst);
	const uint8_t *t;
	uint8_t flags;

	if (off < 0 || (size_t)off + TCP_MIN_HDR > p->l3_len)
		return off >= 0;
	t = p->l3 + off;
	src.port = rd16(t);
	dst.port = rd16(t + 2);
	flags = t[13] & (TCP_SYN | TCP_ACK);
	if (flags == TCP_SYN && dst.port == SSH_PORT) {
		add_syn(l, &src, &dst, p->ts);
	} else if (flags == (TCP_SYN | TCP_ACK) && src.port == SSH_PORT) {
		e = find_conn(l, &dst, &src);
		if (e)
			e->established = true;
	}
	return true;
}

/* The latest login from client's address at or before t (the last of
 * equal times), by binary search in the address's time-ordered list. */
long rv_ssh_find(const struct rv_ssh_list *l, const struct mh_addr *client,
		 rv_time t)
{
	const struct rv_ssh_host *h = find_host(l, client);
	size_t lo = 0, hi, mid;

	if (!h)
		return -1;
	hi = h->n;
	while (lo < hi) {            /* first entry with syn > t */
		mid = lo + (hi - lo) / 2;
		if (l->v[h->idx[mid]].syn <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? (long)h->idx[lo - 1] : -1;
}

void rv_ssh_free(struct rv_ssh_list *l)
{
	size_t i;

	for (i = 0; i < l->n_hosts; i++)
		free(l->hosts[i].idx);
	free(l->hosts);
	rv_idx_free(&l->conn);
	rv_idx_free(&l->host);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
