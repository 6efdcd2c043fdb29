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

static struct rv_ssh *find_conn(struct rv_ssh_list *l, const struct mh_addr *client,
				const struct mh_addr *server)
{
	size_t i;

	for (i = l->n; i-- > 0;)
		if (mh_addr_equal(&l->v[i].client, client) &&
		    mh_addr_equal(&l->v[i].server, server))
			return &l->v[i];
	return NULL;
}

static void add_syn(struct rv_ssh_list *l, const struct mh_addr *client,
		    const struct mh_addr *server, rv_time ts)
{
	struct rv_ssh *e;

	if (find_conn(l, client, server))
		return;   /* a retransmitted SYN */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct rv_ssh *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n++];
	e->client = *client;
	e->server = *server;
	e->syn = ts;
	e->established = false;
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

static bool same_host(const struct mh_addr *a, const struct mh_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}

long rv_ssh_find(const struct rv_ssh_list *l, const struct mh_addr *client,
		 rv_time t)
{
	long best = -1;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (same_host(&l->v[i].client, client) && l->v[i].syn <= t &&
		    (best < 0 || l->v[i].syn >= l->v[best].syn))
			best = (long)i;
	return best;
}

void rv_ssh_free(struct rv_ssh_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
