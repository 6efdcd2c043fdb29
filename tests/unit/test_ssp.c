/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/ssp.c against real mosh 1.4.0 captures (pcaps/ssp-*.pcap
 * with their .key files, made by pcaps/make-captures.sh): authentication,
 * direction and sequence numbers, plaintext and zlib framing, tampering,
 * truncation, wrong keys, key decoding, sealing, and context reuse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include <openssl/evp.h>
#include <pcap/pcap.h>
#include <zlib.h>

#include "ssp.h"
#include "ssp_test.h"

/* ---- captures ------------------------------------------------------------ */

struct dgram {
	uint8_t *data;
	size_t len;
	bool from_server;      /* UDP source port is the server port */
	double time_s;         /* capture time */
};

struct capture {
	const char *name;
	int linktype;
	unsigned server_port;
	char key_b64[64];
	uint8_t key[SSP_KEY_LEN];
	struct dgram *d;
	size_t n;
};

static struct capture caps[] = {
	{ .name = "ssp-v4" },
	{ .name = "ssp-v6" },
};
#define NCAPS (sizeof(caps) / sizeof(caps[0]))

static const char *src_dir(void)
{
	const char *s = getenv("MH_SRC");

	return s && *s ? s : ".";
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Offset of the IP header inside a frame of the given link type, and the
 * ethertype it carries (0: decide from the IP version nibble). -1: skip. */
static long link_offset(int linktype, const uint8_t *f, size_t len, unsigned *etype)
{
	size_t off;

	*etype = 0;
	switch (linktype) {
	case DLT_EN10MB:
		if (len < 14)
			return -1;
		*etype = be16(f + 12);
		off = 14;
		while ((*etype == 0x8100 || *etype == 0x88a8) && len >= off + 4) {
			*etype = be16(f + off + 2);
			off += 4;
		}
		return (long)off;
	case DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		*etype = be16(f + 14);
		return 16;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		*etype = be16(f);
		return 20;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	default:
		return -1;
	}
}

/* Finds the UDP header; returns its offset or -1 (not UDP, fragment). */
static long udp_offset(const uint8_t *f, size_t len, size_t ip, unsigned etype)
{
	unsigned ver;

	if (len < ip + 1)
		return -1;
	ver = f[ip] >> 4;
	if ((etype == 0x0800 || etype == 0) && ver == 4) {
		size_t ihl = (size_t)(f[ip] & 0x0f) * 4;

		if (len < ip + 20 || ihl < 20 || len < ip + ihl || f[ip + 9] != 17)
			return -1;
		if (be16(f + ip + 6) & 0x3fff)   /* MF or fragment offset */
			return -1;
		return (long)(ip + ihl);
	}
	if ((etype == 0x86dd || etype == 0) && ver == 6) {
		if (len < ip + 40 || f[ip + 6] != 17)
			return -1;
		return (long)(ip + 40);
	}
	return -1;
}

static void add_dgram(struct capture *c, const uint8_t *f, size_t len,
		      const struct pcap_pkthdr *ph)
{
	unsigned etype, sport, ulen;
	long ip, udp;
	struct dgram *d;

	ck_assert_msg(ph->caplen == ph->len, "%s: truncated frame in capture", c->name);
	ip = link_offset(c->linktype, f, len, &etype);
	ck_assert_msg(ip >= 0, "%s: unexpected link type %d", c->name, c->linktype);
	udp = udp_offset(f, len, (size_t)ip, etype);
	ck_assert_msg(udp >= 0, "%s: a frame that is not unfragmented UDP", c->name);
	ck_assert((size_t)udp + 8 <= len);
	sport = be16(f + udp);
	ulen = be16(f + udp + 4);
	ck_assert_msg(ulen >= 8 && (size_t)udp + ulen <= len, "%s: bad UDP length", c->name);

	c->d = realloc(c->d, (c->n + 1) * sizeof(*c->d));
	ck_assert_ptr_nonnull(c->d);
	d = &c->d[c->n++];
	d->len = ulen - 8;
	d->data = malloc(d->len ? d->len : 1);
	ck_assert_ptr_nonnull(d->data);
	memcpy(d->data, f + udp + 8, d->len);
	d->from_server = sport == c->server_port;
	d->time_s = (double)ph->ts.tv_sec + (double)ph->ts.tv_usec / 1e6;
}

static void load_capture(struct capture *c)
{
	char path[4096], errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *ph;
	const u_char *frame;
	pcap_t *p;
	FILE *kf;
	int rc;

	snprintf(path, sizeof(path), "%s/pcaps/%s.key", src_dir(), c->name);
	kf = fopen(path, "r");
	ck_assert_msg(kf != NULL, "cannot open %s (set MH_SRC)", path);
	ck_assert_int_eq(fscanf(kf, "%u %63s", &c->server_port, c->key_b64), 2);
	fclose(kf);
	ck_assert_int_eq(ssp_key_decode(c->key_b64, strlen(c->key_b64), c->key, NULL), 0);

	snprintf(path, sizeof(path), "%s/pcaps/%s.pcap", src_dir(), c->name);
	p = pcap_open_offline(path, errbuf);
	ck_assert_msg(p != NULL, "%s: %s", path, errbuf);
	c->linktype = pcap_datalink(p);
	while ((rc = pcap_next_ex(p, &ph, &frame)) == 1)
		add_dgram(c, frame, ph->caplen, ph);
	ck_assert_int_eq(rc, PCAP_ERROR_BREAK);
	pcap_close(p);
	ck_assert_msg(c->n >= 4, "%s: only %zu datagrams", c->name, c->n);
}

static bool loaded;

/* Checked fixture: runs inside each test, so a missing capture fails it. */
static void load_all(void)
{
	if (loaded)
		return;
	for (size_t i = 0; i < NCAPS; i++)
		load_capture(&caps[i]);
	loaded = true;
}

static void free_all(void)
{
	for (size_t i = 0; i < NCAPS; i++) {
		for (size_t j = 0; j < caps[i].n; j++)
			free(caps[i].d[j].data);
		free(caps[i].d);
		caps[i].d = NULL;
		caps[i].n = 0;
	}
	loaded = false;
}

/* The first datagram of the capture going in the given direction. */
static const struct dgram *first_dgram(const struct capture *c, bool from_server)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->d[i].from_server == from_server)
			return &c->d[i];
	ck_abort_msg("%s: no datagram in that direction", c->name);
	return NULL;
}

static struct ssp_ctx *ctx_for(const struct capture *c)
{
	struct ssp_ctx *ctx = ssp_ctx_new(c->key);

	ck_assert_ptr_nonnull(ctx);
	return ctx;
}

/* Inflates a zlib stream completely; returns the output length or -1. */
static long inflate_all(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	rc = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (rc != Z_STREAM_END || zs.avail_in != 0)
		return -1;
	return (long)zs.total_out;
}

/* ---- real captures -------------------------------------------------------- */

START_TEST(capture_all_verify)
{
	const struct capture *c = &caps[_i];
	struct ssp_ctx *ctx = ctx_for(c);
	uint64_t next_seq[2] = { 0, 0 };
	size_t count[2] = { 0, 0 };

	for (size_t i = 0; i < c->n; i++) {
		const struct dgram *d = &c->d[i];
		struct ssp_header h, hv;
		uint8_t plain[SSP_MAX_DATAGRAM_LEN];
		size_t plen = 0;
		int dir = d->from_server ? SSP_TO_CLIENT : SSP_TO_SERVER;

		ck_assert_int_eq(ssp_verify(ctx, d->data, d->len, &hv), 0);
		ck_assert_int_eq(ssp_open(ctx, d->data, d->len, &h, plain,
					  sizeof(plain), &plen), 0);
		ck_assert_uint_eq(plen, d->len - SSP_MIN_DATAGRAM_LEN);
		ck_assert_int_eq(h.direction, dir);
		ck_assert_int_eq(hv.direction, dir);
		ck_assert_uint_eq(h.seq, hv.seq);
		ck_assert_uint_eq(h.word, hv.word);
		ck_assert_uint_eq(h.word & SSP_SEQ_MASK, h.seq);
		/* sequence numbers start at 0 and rise by one per direction */
		ck_assert_msg(h.seq == next_seq[dir], "%s #%zu: seq %llu, expected %llu",
			      c->name, i, (unsigned long long)h.seq,
			      (unsigned long long)next_seq[dir]);
		next_seq[dir]++;
		count[dir]++;
	}
	ck_assert_uint_gt(count[SSP_TO_SERVER], 1);
	ck_assert_uint_gt(count[SSP_TO_CLIENT], 1);
	/* the client speaks first */
	ck_assert(!c->d[0].from_server);
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(capture_plaintext_sane)
{
	const struct capture *c = &caps[_i];
	struct ssp_ctx *ctx = ctx_for(c);
	uint64_t last_id[2] = { 0, 0 };
	double first_t[2] = { -1, -1 };
	uint16_t first_ts[2] = { 0, 0 };

	for (size_t i = 0; i < c->n; i++) {
		const struct dgram *d = &c->d[i];
		uint8_t plain[SSP_MAX_DATAGRAM_LEN], inst[65536];
		struct ssp_header h;
		struct ssp_plain sp;
		size_t plen;
		long ilen;
		int dir;

		ck_assert_int_eq(ssp_open(ctx, d->data, d->len, &h, plain,
					  sizeof(plain), &plen), 0);
		dir = h.direction;
		ck_assert_int_eq(ssp_parse_plain(plain, plen, &sp), 0);
		ck_assert_ptr_eq(sp.frag_data, plain + SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN);
		ck_assert_uint_eq(sp.frag_len, plen - SSP_TIMESTAMPS_LEN - SSP_FRAG_HEADER_LEN);
		/* small datagrams carry whole instructions: fragment 0, final */
		ck_assert_uint_lt(d->len, 1000);
		ck_assert_uint_eq(sp.frag_num, 0);
		ck_assert_msg(sp.final, "%s #%zu: final bit missing", c->name, i);
		ck_assert_uint_gt(sp.frag_len, 0);
		/* instruction ids never go back within a direction */
		ck_assert_uint_ge(sp.frag_id, last_id[dir]);
		last_id[dir] = sp.frag_id;
		/* timestamps are milliseconds that advance with the capture clock */
		if (first_t[dir] < 0) {
			first_t[dir] = d->time_s;
			first_ts[dir] = sp.timestamp;
		} else {
			double want = (d->time_s - first_t[dir]) * 1000.0;
			uint16_t got = (uint16_t)(sp.timestamp - first_ts[dir]);

			ck_assert_msg(got > want - 100 && got < want + 100,
				      "%s #%zu: timestamp advanced %u ms, capture %.0f ms",
				      c->name, i, got, want);
		}
		/* every fragment is a complete zlib stream holding a protobuf
		 * Instruction: field 1 (protocol_version, varint) = 2 */
		ilen = inflate_all(sp.frag_data, sp.frag_len, inst, sizeof(inst));
		ck_assert_msg(ilen > 1, "%s #%zu: zlib inflate failed", c->name, i);
		ck_assert_uint_eq(inst[0], 0x08);
		ck_assert_uint_eq(inst[1], 2);
	}
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(capture_first_client_inflates)
{
	const struct capture *c = &caps[_i];
	const struct dgram *d = first_dgram(c, false);
	struct ssp_ctx *ctx = ctx_for(c);
	uint8_t plain[SSP_MAX_DATAGRAM_LEN], inst[65536];
	struct ssp_header h;
	struct ssp_plain sp;
	size_t plen;

	ck_assert_int_eq(ssp_open(ctx, d->data, d->len, &h, plain, sizeof(plain), &plen), 0);
	ck_assert_int_eq(h.direction, SSP_TO_SERVER);
	ck_assert_uint_eq(h.seq, 0);
	ck_assert_int_eq(ssp_parse_plain(plain, plen, &sp), 0);
	ck_assert_uint_eq(sp.frag_num, 0);
	ck_assert(sp.final);
	ck_assert_int_gt(inflate_all(sp.frag_data, sp.frag_len, inst, sizeof(inst)), 0);
	ssp_ctx_free(ctx);
}
END_TEST

/* Re-encrypting a real plaintext with the same direction and sequence
 * number must reproduce mosh's datagram byte for byte. */
START_TEST(capture_reseal_identical)
{
	const struct capture *c = &caps[_i];
	struct ssp_ctx *ctx = ctx_for(c);

	for (size_t i = 0; i < c->n; i++) {
		const struct dgram *d = &c->d[i];
		uint8_t plain[SSP_MAX_DATAGRAM_LEN], out[SSP_MAX_DATAGRAM_LEN];
		struct ssp_header h;
		size_t plen;

		ck_assert_int_eq(ssp_open(ctx, d->data, d->len, &h, plain, sizeof(plain), &plen), 0);
		ck_assert_int_eq(ssp_seal(ctx, h.direction, h.seq, plain, plen, out, sizeof(out)),
				 (long)d->len);
		ck_assert_mem_eq(out, d->data, d->len);
	}
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(tamper_every_bit)
{
	const struct capture *c = &caps[_i];
	struct ssp_ctx *ctx = ctx_for(c);

	/* one datagram per direction, every bit of every byte */
	for (int s = 0; s < 2; s++) {
		const struct dgram *d = first_dgram(c, s);
		uint8_t buf[SSP_MAX_DATAGRAM_LEN], plain[SSP_MAX_DATAGRAM_LEN];
		size_t plen;

		memcpy(buf, d->data, d->len);
		for (size_t pos = 0; pos < d->len; pos++) {
			for (int bit = 0; bit < 8; bit++) {
				struct ssp_header h = { .seq = 12345 };

				buf[pos] ^= (uint8_t)(1u << bit);
				ck_assert_msg(ssp_verify(ctx, buf, d->len, &h) == -EBADMSG,
					      "%s: flip byte %zu bit %d verified", c->name, pos, bit);
				ck_assert_uint_eq(h.seq, 12345);  /* untouched on failure */
				memset(plain, 0xa5, sizeof(plain));
				plen = 777;
				ck_assert_int_eq(ssp_open(ctx, buf, d->len, &h, plain,
							  sizeof(plain), &plen), -EBADMSG);
				ck_assert_uint_eq(plen, 777);
				buf[pos] ^= (uint8_t)(1u << bit);
			}
		}
		/* restored: verifies again with the same context */
		ck_assert_int_eq(ssp_verify(ctx, buf, d->len, NULL), 0);
	}
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(tamper_direction_bit)
{
	const struct capture *c = &caps[_i];
	struct ssp_ctx *ctx = ctx_for(c);

	for (size_t i = 0; i < c->n; i++) {
		uint8_t buf[SSP_MAX_DATAGRAM_LEN];
		struct ssp_header h;

		memcpy(buf, c->d[i].data, c->d[i].len);
		buf[0] ^= 0x80;
		ck_assert_int_eq(ssp_parse_header(buf, c->d[i].len, &h), 0);
		ck_assert_int_eq(h.direction, c->d[i].from_server ? SSP_TO_SERVER : SSP_TO_CLIENT);
		ck_assert_int_eq(ssp_verify(ctx, buf, c->d[i].len, NULL), -EBADMSG);
	}
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(truncate_every_length)
{
	const struct capture *c = &caps[_i];
	struct ssp_ctx *ctx = ctx_for(c);

	for (size_t i = 0; i < c->n; i++) {
		const struct dgram *d = &c->d[i];

		for (size_t len = 0; len < d->len; len++) {
			/* an exact-size heap copy lets ASan catch any over-read */
			uint8_t *buf = malloc(len ? len : 1);
			uint8_t plain[SSP_MAX_DATAGRAM_LEN];
			int want = len < SSP_MIN_DATAGRAM_LEN ? -EINVAL : -EBADMSG;
			size_t plen;

			ck_assert_ptr_nonnull(buf);
			memcpy(buf, d->data, len);
			ck_assert_int_eq(ssp_verify(ctx, buf, len, NULL), want);
			ck_assert_int_eq(ssp_open(ctx, buf, len, NULL, plain, sizeof(plain), &plen), want);
			free(buf);
		}
		/* one byte too many fails too */
		{
			uint8_t buf[SSP_MAX_DATAGRAM_LEN];

			memcpy(buf, d->data, d->len);
			buf[d->len] = 0;
			ck_assert_int_eq(ssp_verify(ctx, buf, d->len + 1, NULL), -EBADMSG);
		}
	}
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(wrong_key)
{
	const struct capture *c = &caps[_i];
	const struct capture *other = &caps[(_i + 1) % NCAPS];
	struct ssp_ctx *octx = ctx_for(other);

	for (int kb = 0; kb < SSP_KEY_LEN * 8; kb += 13) {
		uint8_t key[SSP_KEY_LEN];
		struct ssp_ctx *ctx;

		memcpy(key, c->key, sizeof(key));
		key[kb / 8] ^= (uint8_t)(1u << (kb % 8));
		ctx = ssp_ctx_new(key);
		ck_assert_ptr_nonnull(ctx);
		for (size_t i = 0; i < c->n; i++)
			ck_assert_int_eq(ssp_verify(ctx, c->d[i].data, c->d[i].len, NULL), -EBADMSG);
		ssp_ctx_free(ctx);
	}
	for (size_t i = 0; i < c->n; i++)
		ck_assert_int_eq(ssp_verify(octx, c->d[i].data, c->d[i].len, NULL), -EBADMSG);
	ssp_ctx_free(octx);
}
END_TEST

/* One context used for many datagrams, good and bad interleaved, answers
 * exactly like a fresh context per datagram. */
START_TEST(ctx_reuse_matches_fresh)
{
	const struct capture *c = &caps[_i];
	struct ssp_ctx *cached = ctx_for(c);
	unsigned good = 0;

	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < c->n; i++) {
			const struct dgram *d = &c->d[i];
			uint8_t buf[SSP_MAX_DATAGRAM_LEN];
			uint8_t p1[SSP_MAX_DATAGRAM_LEN], p2[SSP_MAX_DATAGRAM_LEN];
			size_t l1 = 0, l2 = 0, len = d->len;
			struct ssp_ctx *fresh = ctx_for(c);
			int r1, r2;

			memcpy(buf, d->data, len);
			if (round % 3 == 1)
				buf[(size_t)round * 7 % len] ^= 0x10;
			else if (round % 3 == 2)
				len -= (size_t)round % 5;
			r1 = ssp_open(cached, buf, len, NULL, p1, sizeof(p1), &l1);
			r2 = ssp_open(fresh, buf, len, NULL, p2, sizeof(p2), &l2);
			ck_assert_int_eq(r1, r2);
			ck_assert_int_eq(ssp_verify(cached, buf, len, NULL), r1);
			if (r1 == 0) {
				good++;
				ck_assert_uint_eq(l1, l2);
				ck_assert_mem_eq(p1, p2, l1);
			}
			/* a seal in between must not disturb later opens */
			if (i % 2) {
				uint8_t out[64];

				ck_assert_int_eq(ssp_seal(cached, SSP_TO_SERVER, 99, (const uint8_t *)"x", 1,
							  out, sizeof(out)), 25);
			}
			ssp_ctx_free(fresh);
		}
	}
	ck_assert_uint_gt(good, 7 * c->n - 1);
	ssp_ctx_free(cached);
}
END_TEST

/* ---- synthetic ----------------------------------------------------------- */

START_TEST(short_datagrams)
{
	struct ssp_ctx *ctx = ctx_for(&caps[0]);
	uint8_t buf[SSP_MIN_DATAGRAM_LEN] = { 0 };
	uint8_t plain[16];
	struct ssp_header h;
	size_t plen;

	for (size_t len = 0; len < SSP_MIN_DATAGRAM_LEN; len++) {
		ck_assert_int_eq(ssp_parse_header(buf, len, &h), -EINVAL);
		ck_assert_int_eq(ssp_verify(ctx, buf, len, &h), -EINVAL);
		ck_assert_int_eq(ssp_open(ctx, buf, len, &h, plain, sizeof(plain), &plen), -EINVAL);
	}
	ck_assert_int_eq(ssp_verify(ctx, NULL, 0, &h), -EINVAL);
	/* 24 bytes of zeros: long enough, not authentic */
	ck_assert_int_eq(ssp_parse_header(buf, sizeof(buf), &h), 0);
	ck_assert_int_eq(ssp_verify(ctx, buf, sizeof(buf), &h), -EBADMSG);
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(header_fields)
{
	uint8_t buf[SSP_MIN_DATAGRAM_LEN] = { 0x80, 0, 0, 0, 0, 0, 0x01, 0x02 };
	struct ssp_header h;

	ck_assert_int_eq(ssp_parse_header(buf, sizeof(buf), &h), 0);
	ck_assert_int_eq(h.direction, SSP_TO_CLIENT);
	ck_assert_uint_eq(h.seq, 0x102);
	ck_assert_uint_eq(h.word, UINT64_C(0x8000000000000102));
	memset(buf, 0xff, 8);
	buf[0] = 0x7f;
	ck_assert_int_eq(ssp_parse_header(buf, sizeof(buf), &h), 0);
	ck_assert_int_eq(h.direction, SSP_TO_SERVER);
	ck_assert_uint_eq(h.seq, SSP_SEQ_MASK);
}
END_TEST

START_TEST(seal_open_round_trip)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 100, 1023, 1024, 1025,
				       2047, 2048, 3000, SSP_MAX_DATAGRAM_LEN - SSP_MIN_DATAGRAM_LEN };
	static const uint64_t seqs[] = { 0, 1, 0xffffffff, SSP_SEQ_MASK };
	struct ssp_ctx *ctx = ctx_for(&caps[0]);
	static uint8_t plain[SSP_MAX_DATAGRAM_LEN], out[SSP_MAX_DATAGRAM_LEN], back[SSP_MAX_DATAGRAM_LEN];

	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 131 + 7);
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		for (size_t si = 0; si < sizeof(seqs) / sizeof(seqs[0]); si++) {
			for (int dir = 0; dir < 2; dir++) {
				size_t n = lens[li], blen = 0;
				struct ssp_header h;
				long r = ssp_seal(ctx, dir, seqs[si], plain, n, out, n + SSP_MIN_DATAGRAM_LEN);

				ck_assert_int_eq(r, (long)(n + SSP_MIN_DATAGRAM_LEN));
				if (n > 0)
					ck_assert_mem_ne(out + SSP_HEADER_LEN, plain, n < 16 ? n : 16);
				ck_assert_int_eq(ssp_open(ctx, out, (size_t)r, &h, back, n, &blen), 0);
				ck_assert_uint_eq(blen, n);
				ck_assert_mem_eq(back, plain, n);
				ck_assert_int_eq(h.direction, dir);
				ck_assert_uint_eq(h.seq, seqs[si]);
				ck_assert_int_eq(ssp_verify(ctx, out, (size_t)r, NULL), 0);
				/* the plaintext buffer one byte too small */
				if (n > 0)
					ck_assert_int_eq(ssp_open(ctx, out, (size_t)r, &h, back, n - 1, &blen), -ENOBUFS);
				/* same bytes, other direction: not authentic */
				out[0] ^= 0x80;
				ck_assert_int_eq(ssp_verify(ctx, out, (size_t)r, NULL), -EBADMSG);
			}
		}
	}
	ck_assert_int_eq(ssp_seal(ctx, SSP_TO_SERVER, SSP_SEQ_MASK + 1, plain, 1, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(ssp_seal(ctx, SSP_TO_SERVER, 0, plain, 10, out, 33), -ENOBUFS);
	ck_assert_int_eq(ssp_seal(ctx, SSP_TO_SERVER, 0, plain, 10, out, 34), 34);
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(oversized_input_safe)
{
	struct ssp_ctx *ctx = ctx_for(&caps[0]);
	size_t big = SSP_MAX_DATAGRAM_LEN + 5000;
	uint8_t *buf = malloc(big), *plain = malloc(big);

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(plain);
	for (size_t i = 0; i < big; i++)
		buf[i] = (uint8_t)(i ^ (i >> 8));
	ck_assert_int_eq(ssp_verify(ctx, buf, big, NULL), -EBADMSG);
	ck_assert_int_eq(ssp_open(ctx, buf, big, NULL, plain, big, NULL), -EBADMSG);
	ck_assert_int_eq(ssp_open(ctx, buf, big, NULL, plain, 100, NULL), -ENOBUFS);
	ck_assert_int_eq(ssp_open(ctx, buf, 24, NULL, NULL, 0, NULL), -EBADMSG);
	/* a real one still verifies afterwards */
	ck_assert_int_eq(ssp_verify(ctx, caps[0].d[0].data, caps[0].d[0].len, NULL), 0);
	free(buf);
	free(plain);
	ssp_ctx_free(ctx);
	ssp_ctx_free(NULL);
}
END_TEST

START_TEST(empty_plaintext_round_trip)
{
	struct ssp_ctx *ctx = ctx_for(&caps[1]);
	uint8_t out[SSP_MIN_DATAGRAM_LEN];
	struct ssp_header h;
	size_t plen = 99;

	ck_assert_int_eq(ssp_seal(ctx, SSP_TO_CLIENT, 5, NULL, 0, out, sizeof(out)), 24);
	ck_assert_int_eq(ssp_open(ctx, out, sizeof(out), &h, NULL, 0, &plen), 0);
	ck_assert_uint_eq(plen, 0);
	ck_assert_uint_eq(h.seq, 5);
	out[23] ^= 1;
	ck_assert_int_eq(ssp_open(ctx, out, sizeof(out), &h, NULL, 0, &plen), -EBADMSG);
	ssp_ctx_free(ctx);
}
END_TEST

START_TEST(plain_parse)
{
	const uint8_t p[] = { 0x12, 0x34, 0xff, 0xff,
			      1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0x03,
			      0xaa, 0xbb };
	struct ssp_plain sp;

	for (size_t len = 0; len < SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN; len++) {
		uint8_t *b = malloc(len ? len : 1);

		memcpy(b, p, len);
		ck_assert_int_eq(ssp_parse_plain(b, len, &sp), -EINVAL);
		free(b);
	}
	ck_assert_int_eq(ssp_parse_plain(p, sizeof(p), &sp), 0);
	ck_assert_uint_eq(sp.timestamp, 0x1234);
	ck_assert_uint_eq(sp.timestamp_reply, 0xffff);
	ck_assert_uint_eq(sp.frag_id, UINT64_C(0x0102030405060708));
	ck_assert_uint_eq(sp.frag_num, 3);
	ck_assert(sp.final);
	ck_assert_uint_eq(sp.frag_len, 2);
	ck_assert_ptr_eq(sp.frag_data, p + 14);
	ck_assert_int_eq(ssp_parse_plain(p, 14, &sp), 0);
	ck_assert_uint_eq(sp.frag_len, 0);
	{
		uint8_t q[14];

		memcpy(q, p, sizeof(q));
		q[12] = 0x7f;
		q[13] = 0xff;
		ck_assert_int_eq(ssp_parse_plain(q, sizeof(q), &sp), 0);
		ck_assert(!sp.final);
		ck_assert_uint_eq(sp.frag_num, 0x7fff);
	}
}
END_TEST

/* ---- key decoding ---------------------------------------------------------- */

static int decode(const char *s, uint8_t key[SSP_KEY_LEN], const char **why)
{
	return ssp_key_decode(s, strlen(s), key, why);
}

START_TEST(key_real_accepted)
{
	for (size_t i = 0; i < NCAPS; i++) {
		uint8_t key[SSP_KEY_LEN], ref[19];
		char padded[80];
		const char *why = "unset";

		ck_assert_int_eq(decode(caps[i].key_b64, key, &why), 0);
		ck_assert_ptr_null(why);
		/* OpenSSL's decoder as the reference */
		snprintf(padded, sizeof(padded), "%s==", caps[i].key_b64);
		ck_assert_int_eq(EVP_DecodeBlock(ref, (const unsigned char *)padded, 24), 18);
		ck_assert_mem_eq(key, ref, SSP_KEY_LEN);
		ck_assert_int_eq(ssp_key_decode(caps[i].key_b64, SSP_KEY_B64_LEN, key, NULL), 0);
	}
}
END_TEST

START_TEST(key_rejects)
{
	const char *good = caps[0].key_b64;
	uint8_t key[SSP_KEY_LEN], before[SSP_KEY_LEN];
	const char *why;
	char s[96];

	memset(key, 0x5a, sizeof(key));
	memcpy(before, key, sizeof(key));
#define REJECT(str, n) do {                                                     \
		why = NULL;                                                     \
		ck_assert_int_eq(ssp_key_decode((str), (n), key, &why), -EINVAL); \
		ck_assert_ptr_nonnull(why);                                     \
		ck_assert_uint_gt(strlen(why), 10);                             \
		ck_assert_mem_eq(key, before, sizeof(key));                     \
	} while (0)

	REJECT("", 0);
	REJECT(NULL, 0);
	REJECT(good, 21);
	snprintf(s, sizeof(s), "%sA", good);
	REJECT(s, 23);
	snprintf(s, sizeof(s), "%s==", good);
	REJECT(s, 24);
	/* a bad character at every position */
	for (size_t pos = 0; pos < SSP_KEY_B64_LEN; pos++) {
		static const char bad[] = { '=', '-', '_', ' ', '.', '\n', '\0', (char)0x80, (char)0xff };

		for (size_t b = 0; b < sizeof(bad); b++) {
			memcpy(s, good, SSP_KEY_B64_LEN);
			s[pos] = bad[b];
			REJECT(s, SSP_KEY_B64_LEN);
		}
	}
	/* last character: only values with the low 4 bits clear are canonical */
	{
		static const char alpha[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		unsigned accepted = 0;

		for (int v = 0; v < 64; v++) {
			memcpy(s, good, SSP_KEY_B64_LEN);
			s[21] = alpha[v];
			if (v & 15) {
				REJECT(s, SSP_KEY_B64_LEN);
			} else {
				ck_assert_int_eq(ssp_key_decode(s, SSP_KEY_B64_LEN, key, &why), 0);
				memcpy(before, key, sizeof(key));
				accepted++;
			}
		}
		ck_assert_uint_eq(accepted, 4);
	}
#undef REJECT
}
END_TEST

/* ---- runner ---------------------------------------------------------------- */

#define add_loop(tc, t) tcase_add_loop_test((tc), (t), 0, (int)NCAPS)

static Suite *ssp_suite(void)
{
	Suite *s = suite_create("ssp");
	TCase *real = tcase_create("captures");
	TCase *syn = tcase_create("synthetic");
	TCase *key = tcase_create("key");

	tcase_add_checked_fixture(real, load_all, free_all);
	tcase_add_checked_fixture(syn, load_all, free_all);
	tcase_add_checked_fixture(key, load_all, free_all);
	tcase_set_timeout(real, 120);
	tcase_set_timeout(syn, 120);
	add_loop(real, capture_all_verify);
	add_loop(real, capture_plaintext_sane);
	add_loop(real, capture_first_client_inflates);
	add_loop(real, capture_reseal_identical);
	add_loop(real, tamper_every_bit);
	add_loop(real, tamper_direction_bit);
	add_loop(real, truncate_every_length);
	add_loop(real, wrong_key);
	add_loop(real, ctx_reuse_matches_fresh);
	tcase_add_test(syn, short_datagrams);
	tcase_add_test(syn, header_fields);
	tcase_add_test(syn, seal_open_round_trip);
	tcase_add_test(syn, oversized_input_safe);
	tcase_add_test(syn, empty_plaintext_round_trip);
	tcase_add_test(syn, plain_parse);
	tcase_add_test(key, key_real_accepted);
	tcase_add_test(key, key_rejects);
	suite_add_tcase(s, real);
	suite_add_tcase(s, syn);
	suite_add_tcase(s, key);
	return s;
}

int main(void)
{
	return mh_check_run(ssp_suite());
}
