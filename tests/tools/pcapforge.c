/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pcapforge: writes small, deterministic SSP captures for the review tool's
 * tests, without namespaces: a mosh-like session sealed with a fixed key
 * (lib/ssp.c), plus attacks (replays from another address and the same
 * one, garbage, a reflected server datagram, a server datagram to a
 * stranger), roams, a port hop after a gap, reordering, a duplicate, a
 * two-fragment instruction and an SSH handshake before it all.
 *   pcapforge [--link en10mb|vlan|sll|sll2|raw|null] [--ng] [--v6] attack OUT KEYFILE
 *   pcapforge [...] mux K OUT KEYFILE: K sessions on one server port, each
 *     with its own key (a single-port capture), plus attacks on that port
 *   pcapforge [...] flood syn|flows N OUT KEYFILE: a hostile capture for
 *     the review's cost: N SSH SYNs from N clients (syn), or each of them
 *     followed by a keyless datagram to a server port of its own (flows)
 * pcap is written with libpcap's pcap_dump; --ng writes pcapng by hand.
 * Exits 0, 1 on an I/O or crypto failure, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <zlib.h>

#include "pkt.h"
#include "ssp.h"
#include "ssp_test.h"

#define KEY_B64     "AAECAwQFBgcICQoLDA0ODw"   /* bytes 00..0f */
#define SERVER_PORT 60001
#define T0_US       1700000000000000LL
#define MAX_FRAME   4096
#define BIG_DIFF    1500   /* incompressible: makes a two-fragment instruction */

enum link { L_EN10MB, L_VLAN, L_SLL, L_SLL2, L_RAW, L_NULL };

struct forge {
	enum link link;
	bool ng, v6;
	FILE *ngf;
	pcap_t *dead;
	pcap_dumper_t *dump;
	struct ssp_ctx *ctx;
	struct mh_addr S, A, B, C, D;
	int failed;
};

struct blob {
	uint8_t b[MAX_FRAME];
	size_t n;
};

_Noreturn static void usage(void)
{
	fprintf(stderr, "usage: pcapforge [--link en10mb|vlan|sll|sll2|raw|null] [--ng] [--v6]\n"
		"         attack OUT KEYFILE | mux K OUT KEYFILE | flood syn|flows N OUT KEYFILE\n");
	exit(2);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static struct mh_addr addr(const struct forge *f, const char *v4, const char *v6,
			   uint16_t port)
{
	struct mh_addr a = { .family = f->v6 ? AF_INET6 : AF_INET, .port = port };

	if (inet_pton(a.family, f->v6 ? v6 : v4, a.ip) != 1)
		abort();
	return a;
}

/* ---- frames ---------------------------------------------------------------- */

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* IP header for proto with payload length plen; returns its length. */
static size_t ip_header(uint8_t *p, const struct mh_addr *s, const struct mh_addr *d,
			uint8_t proto, size_t plen)
{
	if (s->family == AF_INET) {
		memset(p, 0, 20);
		p[0] = 0x45;
		put16(p + 2, (uint16_t)(20 + plen));
		put16(p + 6, 0x4000);   /* DF */
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, s->ip, 4);
		memcpy(p + 16, d->ip, 4);
		put16(p + 10, ip_checksum(p, 20));
		return 20;
	}
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)plen);
	p[6] = proto;
	p[7] = 64;
	memcpy(p + 8, s->ip, 16);
	memcpy(p + 24, d->ip, 16);
	return 40;
}

static size_t udp_packet(uint8_t *p, const struct mh_addr *s, const struct mh_addr *d,
			 const uint8_t *data, size_t n)
{
	size_t h = ip_header(p, s, d, IPPROTO_UDP, 8 + n);

	put16(p + h, s->port);
	put16(p + h + 2, d->port);
	put16(p + h + 4, (uint16_t)(8 + n));
	put16(p + h + 6, 0);
	memcpy(p + h + 8, data, n);
	return h + 8 + n;
}

static size_t tcp_packet(uint8_t *p, const struct mh_addr *s, const struct mh_addr *d,
			 uint8_t flags)
{
	size_t h = ip_header(p, s, d, IPPROTO_TCP, 20);

	memset(p + h, 0, 20);
	put16(p + h, s->port);
	put16(p + h + 2, d->port);
	p[h + 12] = 5 << 4;
	p[h + 13] = flags;
	put16(p + h + 14, 64240);
	return h + 20;
}

static int dlt_of(enum link l)
{
	static const int dlt[] = { DLT_EN10MB, DLT_EN10MB, DLT_LINUX_SLL,
				   DLT_LINUX_SLL2, DLT_RAW, DLT_NULL };
	return dlt[l];
}

/* Link header in front of an l3 packet of the given family. */
static size_t link_header(enum link l, int family, uint8_t *p)
{
	uint16_t et = family == AF_INET ? 0x0800 : 0x86dd;
	static const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 }, mac2[6] = { 2, 0, 0, 0, 0, 2 };
	uint32_t fam;

	switch (l) {
	case L_EN10MB:
	case L_VLAN:
		memcpy(p, mac1, 6);
		memcpy(p + 6, mac2, 6);
		if (l == L_EN10MB) {
			put16(p + 12, et);
			return 14;
		}
		put16(p + 12, 0x8100);
		put16(p + 14, 42);     /* VLAN id */
		put16(p + 16, et);
		return 18;
	case L_SLL:
		memset(p, 0, 16);
		put16(p + 2, 1);       /* ARPHRD_ETHER */
		put16(p + 4, 6);
		memcpy(p + 6, mac2, 6);
		put16(p + 14, et);
		return 16;
	case L_SLL2:
		memset(p, 0, 20);
		put16(p, et);
		p[7] = 3;              /* ifindex */
		put16(p + 8, 1);
		p[11] = 6;
		memcpy(p + 12, mac2, 6);
		return 20;
	case L_NULL:
		fam = family == AF_INET ? 2 : 10;   /* host order, as BSD/Linux loopback writes it */
		memcpy(p, &fam, 4);
		return 4;
	default:
		return 0;
	}
}

/* ---- output ---------------------------------------------------------------- */

static void ng_block(struct forge *f, uint32_t type, const uint8_t *body, size_t n)
{
	uint32_t total = (uint32_t)(12 + ((n + 3) & ~(size_t)3));
	static const uint8_t pad[4];

	fwrite(&type, 4, 1, f->ngf);
	fwrite(&total, 4, 1, f->ngf);
	fwrite(body, 1, n, f->ngf);
	fwrite(pad, 1, (4 - n % 4) % 4, f->ngf);
	fwrite(&total, 4, 1, f->ngf);
}

static int ng_open(struct forge *f, const char *path)
{
	uint8_t shb[16], idb[8];
	uint32_t magic = 0x1a2b3c4d, snap = 65535;
	uint16_t major = 1, minor = 0, lt = (uint16_t)dlt_of(f->link), zero = 0;
	int64_t seclen = -1;

	f->ngf = fopen(path, "wb");
	if (!f->ngf)
		return -1;
	memcpy(shb, &magic, 4);
	memcpy(shb + 4, &major, 2);
	memcpy(shb + 6, &minor, 2);
	memcpy(shb + 8, &seclen, 8);
	ng_block(f, 0x0a0d0d0a, shb, sizeof(shb));
	memcpy(idb, &lt, 2);
	memcpy(idb + 2, &zero, 2);
	memcpy(idb + 4, &snap, 4);
	ng_block(f, 1, idb, sizeof(idb));
	return 0;
}

static void ng_packet(struct forge *f, int64_t ts, const uint8_t *fr, size_t n)
{
	uint8_t body[20 + MAX_FRAME];
	uint32_t v[5] = { 0, (uint32_t)((uint64_t)ts >> 32), (uint32_t)ts,
			  (uint32_t)n, (uint32_t)n };

	memcpy(body, v, sizeof(v));
	memcpy(body + 20, fr, n);
	ng_block(f, 6, body, 20 + n);
}

static void emit_l3(struct forge *f, double t, const uint8_t *l3, size_t n, int family)
{
	uint8_t fr[MAX_FRAME + 32];
	int64_t ts = T0_US + (int64_t)(t * 1e6 + 0.5);
	size_t h = link_header(f->link, family, fr);
	struct pcap_pkthdr ph;

	memcpy(fr + h, l3, n);
	if (f->ng) {
		ng_packet(f, ts, fr, h + n);
		return;
	}
	ph.ts.tv_sec = ts / 1000000;
	ph.ts.tv_usec = ts % 1000000;
	ph.caplen = ph.len = (bpf_u_int32)(h + n);
	pcap_dump((u_char *)f->dump, &ph, fr);
}

static void send_udp(struct forge *f, double t, const struct mh_addr *s,
		     const struct mh_addr *d, const struct blob *b)
{
	uint8_t l3[MAX_FRAME];

	emit_l3(f, t, l3, udp_packet(l3, s, d, b->b, b->n), s->family);
}

static void send_tcp(struct forge *f, double t, const struct mh_addr *s,
		     const struct mh_addr *d, uint8_t flags)
{
	uint8_t l3[64];

	emit_l3(f, t, l3, tcp_packet(l3, s, d, flags), s->family);
}

/* ---- SSP ------------------------------------------------------------------- */

static size_t pb_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static size_t pb_num(uint8_t *p, unsigned field, uint64_t v)
{
	size_t n = pb_varint(p, (uint64_t)field << 3);

	return n + pb_varint(p + n, v);
}

static size_t pb_bytes(uint8_t *p, unsigned field, size_t len, uint32_t *rng)
{
	size_t n = pb_varint(p, (uint64_t)field << 3 | 2);

	n += pb_varint(p + n, len);
	for (size_t i = 0; i < len; i++) {
		*rng = *rng * 1103515245u + 12345u;
		p[n + i] = (uint8_t)(*rng >> 16);
	}
	return n + len;
}

/* A compressed Instruction (v2, the given numbers, diff of diff_len bytes). */
static size_t instruction(uint8_t *out, size_t cap, uint64_t old, uint64_t new_,
			  uint64_t ack, size_t diff_len)
{
	uint8_t pb[BIG_DIFF + 64];
	uint32_t rng = (uint32_t)(new_ * 7919 + diff_len);
	uLongf zn = cap;
	size_t n = 0;

	n += pb_num(pb + n, 1, 2);
	n += pb_num(pb + n, 2, old);
	n += pb_num(pb + n, 3, new_);
	n += pb_num(pb + n, 4, ack);
	n += pb_num(pb + n, 5, old);
	n += pb_bytes(pb + n, 6, diff_len, &rng);
	n += pb_bytes(pb + n, 7, 3, &rng);
	if (compress(out, &zn, pb, n) != Z_OK)
		abort();
	return zn;
}

static void seal(struct forge *f, enum ssp_direction dir, uint64_t seq,
		 uint64_t frag_id, uint16_t frag_num, bool final,
		 const uint8_t *data, size_t n, struct blob *b)
{
	uint8_t plain[MAX_FRAME];
	long len;

	put16(plain, (uint16_t)(1000 + seq));
	put16(plain + 2, UINT16_MAX);
	put64(plain + 4, frag_id);
	put16(plain + 12, (uint16_t)(frag_num | (final ? 0x8000 : 0)));
	memcpy(plain + 14, data, n);
	len = ssp_seal(f->ctx, dir, seq, plain, 14 + n, b->b, sizeof(b->b));
	if (len < 0)
		abort();
	b->n = (size_t)len;
}

/* A one-fragment datagram carrying state new_ (instruction id = seq + 1). */
static void dgram(struct forge *f, enum ssp_direction dir, uint64_t seq,
		  uint64_t new_, struct blob *b)
{
	uint8_t z[256];
	size_t n = instruction(z, sizeof(z), new_ ? new_ - 1 : 0, new_, new_, 4);

	seal(f, dir, seq, seq + 1, 0, true, z, n, b);
}

/* ---- the scenario ---------------------------------------------------------- */

static void client(struct forge *f, double t, const struct mh_addr *from, uint64_t seq,
		   struct blob *keep)
{
	struct blob b;

	dgram(f, SSP_TO_SERVER, seq, seq + 1, &b);
	send_udp(f, t, from, &f->S, &b);
	if (keep)
		*keep = b;
}

static void server(struct forge *f, double t, const struct mh_addr *to, uint64_t seq,
		   struct blob *keep)
{
	struct blob b;

	dgram(f, SSP_TO_CLIENT, seq, seq + 1, &b);
	send_udp(f, t, &f->S, to, &b);
	if (keep)
		*keep = b;
}

static void two_fragments(struct forge *f, double t, const struct mh_addr *to,
			  uint64_t seq)
{
	uint8_t z[BIG_DIFF + 256];
	size_t n = instruction(z, sizeof(z), 9, 10, 9, BIG_DIFF), half = n / 2;
	struct blob b0, b1;

	seal(f, SSP_TO_CLIENT, seq, 100, 0, false, z, half, &b0);
	seal(f, SSP_TO_CLIENT, seq + 1, 100, 1, true, z + half, n - half, &b1);
	send_udp(f, t, &f->S, to, &b1);          /* out of order on purpose */
	send_udp(f, t + 0.001, &f->S, to, &b0);
}

static void attack(struct forge *f)
{
	struct mh_addr ssh_c = f->A, ssh_s = f->S, C2 = f->C, C3 = f->C, dns = f->S;
	struct blob c0, c1, c2, s1, garbage = { .n = 10 }, junk = { .n = 100 };
	int i;

	ssh_c.port = 50022;
	ssh_s.port = 22;
	send_tcp(f, 0.0, &ssh_c, &ssh_s, 0x02);               /* SYN */
	send_tcp(f, 0.001, &ssh_s, &ssh_c, 0x12);             /* SYN-ACK */
	send_tcp(f, 0.002, &ssh_c, &ssh_s, 0x10);             /* ACK */
	client(f, 1.0, &f->A, 0, &c0);                        /* accept new_source */
	server(f, 1.005, &f->A, 0, NULL);                     /* accept confirmed */
	send_udp(f, 1.010, &f->A, &f->S, &c0);                /* duplicate */
	client(f, 3.0, &f->A, 1, &c1);                        /* pinhole */
	server(f, 3.001, &f->A, 1, &s1);
	send_udp(f, 3.5, &f->B, &f->S, &c0);                  /* drop replay */
	send_udp(f, 3.6, &f->B, &f->S, &c1);                  /* replay of a fast-path seq */
	memset(garbage.b, 0x41, garbage.n);
	send_udp(f, 4.0, &f->B, &f->S, &garbage);             /* drop short */
	for (i = 0; i < 100; i++)
		junk.b[i] = (uint8_t)(i * 37 + 11) & (i ? 0xff : 0x7f);
	send_udp(f, 4.1, &f->B, &f->S, &junk);                /* drop forged */
	send_udp(f, 4.2, &f->B, &f->S, &s1);                  /* drop wrong_direction */
	server(f, 4.3, &f->D, 2, NULL);                       /* drop not_candidate */
	dns.port = 53;
	send_udp(f, 4.4, &f->A, &dns, &garbage);              /* not mosh */
	client(f, 6.0, &f->A, 2, &c2);
	client(f, 9.0, &f->C, 3, NULL);                       /* roam: accept new_source */
	server(f, 9.002, &f->C, 3, NULL);                     /* confirmed */
	client(f, 9.5, &f->C, 4, NULL);
	client(f, 10.0, &f->C, 6, NULL);
	client(f, 10.1, &f->C, 5, NULL);                      /* reordered */
	C2.port = (uint16_t)(f->C.port + 1);
	client(f, 22.0, &C2, 7, NULL);                        /* gap, port hop */
	server(f, 22.003, &C2, 4, NULL);
	two_fragments(f, 22.5, &C2, 5);
	for (i = 0; i < 3; i++) {                             /* more hops: eviction */
		C3.port = (uint16_t)(f->C.port + 2 + i);
		client(f, 30.0 + i, &C3, 8 + (uint64_t)i, NULL);
		server(f, 30.002 + i, &C3, 7 + (uint64_t)i, NULL);
	}
	send_udp(f, 95.0, &f->A, &f->S, &c2);                 /* old address, pinhole gone */
}

/* ---- single port: several keys on one server port ----------------------- */

#define MUX_MAX 64

/* Key i of a mux capture: bytes i*16 .. i*16+15 (mod 256), in base64. */
static void mux_key(unsigned i, uint8_t key[SSP_KEY_LEN], char b64[SSP_KEY_B64_LEN + 1])
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned bits = 0, nb = 0, o = 0;

	for (unsigned k = 0; k < SSP_KEY_LEN; k++) {
		key[k] = (uint8_t)(i * 16 + k + 0x40);
		bits = bits << 8 | key[k];
		for (nb += 8; nb >= 6; nb -= 6)
			b64[o++] = tab[(bits >> (nb - 6)) & 63];
	}
	b64[o++] = tab[(bits << (6 - nb)) & 63];
	b64[o] = '\0';
}

static struct mh_addr mux_client(const struct forge *f, unsigned i)
{
	char v4[32], v6[48];

	snprintf(v4, sizeof(v4), "198.18.1.%u", 10 + i);
	snprintf(v6, sizeof(v6), "fd00:5350::1:%x", 10 + i);
	return addr(f, v4, v6, (uint16_t)(41000 + i));
}

/* K sessions on port 60001 (a capture of a single-port server's public
 * side), each with its own key; their datagrams interleave. Session 0 also
 * roams; an attacker sends garbage, a replay of session 0's first datagram
 * and a reflected server datagram of session 1 to the shared port. */
static void mux(struct forge *f, unsigned k, struct ssp_ctx **ctx)
{
	struct blob c0, s1, junk = { .n = 60 };
	struct mh_addr moved;
	unsigned i;

	for (i = 0; i < k; i++) {
		struct mh_addr c = mux_client(f, i), ssh_s = f->S;

		ssh_s.port = 22;
		c.port = (uint16_t)(50000 + i);
		send_tcp(f, 0.01 * i, &c, &ssh_s, 0x02);
		send_tcp(f, 0.01 * i + 0.001, &ssh_s, &c, 0x12);
	}
	for (i = 0; i < k; i++) {                              /* accept new_source */
		struct mh_addr c = mux_client(f, i);

		f->ctx = ctx[i];
		client(f, 1.0 + 0.01 * i, &c, 0, i == 0 ? &c0 : NULL);
	}
	for (i = 0; i < k; i++) {                              /* accept confirmed */
		struct mh_addr c = mux_client(f, i);

		f->ctx = ctx[i];
		server(f, 1.5 + 0.01 * i, &c, 0, i == 1 ? &s1 : NULL);
	}
	for (i = 0; i < k; i++) {                              /* pinhole both ways */
		struct mh_addr c = mux_client(f, i);

		f->ctx = ctx[i];
		client(f, 2.0 + 0.01 * i, &c, 1, NULL);
		server(f, 2.005 + 0.01 * i, &c, 1, NULL);
	}
	for (i = 0; i < 60; i++)
		junk.b[i] = (uint8_t)(i * 53 + 7) & (i ? 0xff : 0x7f);
	send_udp(f, 3.0, &f->B, &f->S, &junk);                /* drop no_match */
	send_udp(f, 3.1, &f->B, &f->S, &c0);                  /* session 0: drop replay */
	if (k > 1)
		send_udp(f, 3.2, &f->B, &f->S, &s1);          /* session 1: wrong_direction */
	moved = f->C;
	f->ctx = ctx[0];
	client(f, 4.0, &moved, 2, NULL);                      /* session 0 roams */
	server(f, 4.005, &moved, 2, NULL);
}

/* ---- hostile captures: the review's cost ----------------------------------- */

/* Client i of a flood: distinct addresses over 198.18.0.0/15 (fd00:5350::/96). */
static struct mh_addr flood_client(const struct forge *f, unsigned i)
{
	char v4[32], v6[48];

	snprintf(v4, sizeof(v4), "198.%u.%u.%u", 18 + (i >> 16 & 1), i >> 8 & 255, i & 255);
	snprintf(v6, sizeof(v6), "fd00:5350::%x:%x", i >> 16, i & 0xffff);
	return addr(f, v4, v6, (uint16_t)(1024 + i % 60000));
}

static void flood(struct forge *f, bool flows, unsigned n)
{
	struct mh_addr ssh_s = f->S, srv = f->S;
	struct blob b = { .n = 40 };
	unsigned i;

	ssh_s.port = 22;
	for (i = 0; i < n; i++) {
		struct mh_addr c = flood_client(f, i);

		send_tcp(f, 0.0001 * i, &c, &ssh_s, 0x02);
		if (!flows)
			continue;
		/* a server of its own: address by thousands, port in the range */
		srv.ip[srv.family == AF_INET ? 3 : 15] = (uint8_t)(i / 1000);
		srv.ip[srv.family == AF_INET ? 2 : 14] = (uint8_t)(i / 256000);
		srv.port = (uint16_t)(60000 + i % 1000);
		for (size_t k = 0; k < b.n; k++)
			b.b[k] = (uint8_t)(i * 131 + k * 7) & (k ? 0xff : 0x7f);
		send_udp(f, 0.0001 * i + 0.00005, &c, &srv, &b);
	}
}

/* ---- main ------------------------------------------------------------------ */

static enum link parse_link(const char *s)
{
	static const char *const names[] = { "en10mb", "vlan", "sll", "sll2", "raw", "null" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum link)i;
	usage();
}

static int open_out(struct forge *f, const char *path)
{
	if (f->ng)
		return ng_open(f, path);
	f->dead = pcap_open_dead(dlt_of(f->link), 65535);
	if (!f->dead)
		return -1;
	f->dump = pcap_dump_open(f->dead, path);
	if (!f->dump) {
		fprintf(stderr, "pcapforge: %s\n", pcap_geterr(f->dead));
		return -1;
	}
	return 0;
}

static int close_out(struct forge *f)
{
	int rc = 0;

	if (f->ngf && fclose(f->ngf) != 0)
		rc = -1;
	if (f->dump) {
		pcap_dump_flush(f->dump);
		pcap_dump_close(f->dump);
	}
	if (f->dead)
		pcap_close(f->dead);
	return rc;
}

static int write_key(const char *path, const char *lines)
{
	FILE *k = fopen(path, "w");

	if (!k)
		return -1;
	fprintf(k, "# made by pcapforge\n%s", lines);
	return fclose(k);
}

static unsigned parse_count(const char *s, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || v < 1 || v > max)
		usage();
	return (unsigned)v;
}

/* Runs the scenario named by args (its OUT and KEYFILE last). */
static int scenario(struct forge *f, int argc, char **argv)
{
	static char keys[MUX_MAX * 40];
	struct ssp_ctx *ctx[MUX_MAX] = { 0 };
	uint8_t key[SSP_KEY_LEN];
	char b64[SSP_KEY_B64_LEN + 1];
	unsigned n = 1, i;
	size_t o = 0;
	int rc = 0;

	if (argc == 3 && strcmp(argv[0], "attack") == 0) {
		snprintf(keys, sizeof(keys), "%u %s\n", SERVER_PORT, KEY_B64);
	} else if (argc == 4 && strcmp(argv[0], "mux") == 0) {
		n = parse_count(argv[1], MUX_MAX);
		for (i = 0; i < n; i++) {
			mux_key(i, key, b64);
			ctx[i] = ssp_ctx_new(key);
			if (!ctx[i])
				return 1;
			o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%u %s\n",
					      SERVER_PORT, b64);
		}
	} else if (argc == 5 && strcmp(argv[0], "flood") == 0 &&
		   (strcmp(argv[1], "syn") == 0 || strcmp(argv[1], "flows") == 0)) {
		n = parse_count(argv[2], 1u << 17);
		snprintf(keys, sizeof(keys), "%u %s\n", SERVER_PORT, KEY_B64);
	} else {
		usage();
	}
	if (open_out(f, argv[argc - 2]) < 0) {
		fprintf(stderr, "pcapforge: %s: %s\n", argv[argc - 2], strerror(errno));
		return 1;
	}
	if (argv[0][0] == 'a')
		attack(f);
	else if (argv[0][0] == 'm')
		mux(f, n, ctx);
	else
		flood(f, argv[1][0] == 'f', n);
	for (i = 0; i < MUX_MAX; i++)
		ssp_ctx_free(ctx[i]);
	if (close_out(f) < 0 || write_key(argv[argc - 1], keys) < 0) {
		fprintf(stderr, "pcapforge: writing: %s\n", strerror(errno));
		rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "link", required_argument, NULL, 'l' },
		{ "ng", no_argument, NULL, 'n' },
		{ "v6", no_argument, NULL, '6' },
		{ NULL, 0, NULL, 0 },
	};
	struct forge f = { .link = L_EN10MB };
	uint8_t key[SSP_KEY_LEN];
	struct ssp_ctx *own;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c == 'l')
			f.link = parse_link(optarg);
		else if (c == 'n')
			f.ng = true;
		else if (c == '6')
			f.v6 = true;
		else
			usage();
	}
	if (argc - optind < 3)
		usage();
	f.S = addr(&f, "198.18.0.1", "fd00:5350::1", SERVER_PORT);
	f.A = addr(&f, "198.18.0.2", "fd00:5350::2", 40001);
	f.C = addr(&f, "198.18.0.3", "fd00:5350::3", 40002);
	f.B = addr(&f, "198.18.9.9", "fd00:9::9", 5555);
	f.D = addr(&f, "198.18.7.7", "fd00:7::7", 7777);
	if (ssp_key_decode(KEY_B64, strlen(KEY_B64), key, NULL) < 0 ||
	    !(f.ctx = ssp_ctx_new(key))) {
		fprintf(stderr, "pcapforge: key setup failed\n");
		return 1;
	}
	own = f.ctx;
	rc = scenario(&f, argc - optind, argv + optind);
	ssp_ctx_free(own);
	return rc;
}
