/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for lib/ssp.c and lib/ocbpeek.c (include/ssp.h). Every
 * input is tried as a session key string, as an SSP datagram under the keys
 * of the captured sessions (header, verify, open, the plaintext fields of
 * anything that authenticates, and the unauthenticated first block from
 * OpenSSL (ssp_peek) and from AES-NI (ssp_fastpeek), which must agree), and
 * as a plaintext to seal, peek, open and tamper with.
 * Seeds: UDP payloads of the captures in pcaps/ (tests/fuzz/corpus/ssp/).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "ssp.h"
#include "ssp_test.h"
#include "seed_keys.h"

#define NKEYS (sizeof(fuzz_captures) / sizeof(fuzz_captures[0]))
#define MAX_DGRAM 65536   /* plaintext buffer: any UDP payload fits */

static struct ssp_ctx *ctx[NKEYS];
static struct ssp_fastpeek fast[NKEYS];   /* .ready false without AES-NI */
static uint8_t plain[MAX_DGRAM], out[MAX_DGRAM + SSP_MIN_DATAGRAM_LEN];

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Unpadded base64 of a 16-byte key: 22 characters. */
static void b64_encode_key(const uint8_t key[SSP_KEY_LEN],
			   char out_b64[SSP_KEY_B64_LEN + 1])
{
	uint32_t acc = 0;
	unsigned bits = 0, n = 0;

	for (unsigned i = 0; i < SSP_KEY_LEN; i++) {
		acc = acc << 8 | key[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out_b64[n++] = b64_alphabet[(acc >> bits) & 63];
		}
	}
	out_b64[n++] = b64_alphabet[(acc << (6 - bits)) & 63];
	out_b64[n] = '\0';
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (unsigned i = 0; i < NKEYS; i++) {
		uint8_t key[SSP_KEY_LEN];
		const char *k = fuzz_captures[i].key_b64;

		if (ssp_key_decode(k, strlen(k), key, NULL) != 0 ||
		    (ctx[i] = ssp_ctx_new(key)) == NULL) {
			fprintf(stderr, "fuzz_ssp: cannot set up key %u\n", i);
			abort();
		}
		if (ssp_fastpeek_init(&fast[i], key) != 0)
			fprintf(stderr, "fuzz_ssp: no AES-NI: ssp_fastpeek not compared\n");
	}
	return 0;
}

/* Key decoding accepts exactly the canonical 22-character strings. */
static void check_key(const uint8_t *data, size_t size)
{
	uint8_t key[SSP_KEY_LEN];
	char again[SSP_KEY_B64_LEN + 1];
	const char *why = "unset";
	int rc = ssp_key_decode((const char *)data, size, key, &why);

	if (rc != 0) {
		FUZZ_ASSERT(rc == -EINVAL, "rc %d", rc);
		FUZZ_ASSERT(why != NULL && why[0], "refusal without a reason");
		return;
	}
	FUZZ_ASSERT(why == NULL, "accepted with a reason: %s", why);
	FUZZ_ASSERT(size == SSP_KEY_B64_LEN, "accepted %zu characters", size);
	b64_encode_key(key, again);
	FUZZ_ASSERT(memcmp(again, data, SSP_KEY_B64_LEN) == 0,
		    "decoded key does not encode back to the same string");
}

static void check_plain(const uint8_t *p, size_t len)
{
	struct ssp_plain sp;
	int rc = ssp_parse_plain(p, len, &sp);
	const size_t hdr = SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN;

	if (len < hdr) {
		FUZZ_ASSERT(rc == -EINVAL, "short plaintext %zu parsed (rc %d)", len, rc);
		return;
	}
	FUZZ_ASSERT(rc == 0, "plaintext of %zu bytes refused", len);
	FUZZ_ASSERT(sp.frag_data == p + hdr && sp.frag_len == len - hdr,
		    "fragment data outside the plaintext");
	FUZZ_ASSERT(sp.timestamp == (uint16_t)(p[0] << 8 | p[1]), "timestamp");
	FUZZ_ASSERT(sp.frag_num <= 0x7fff && sp.final == ((p[12] & 0x80) != 0),
		    "fragment number / final bit");
}

/* The first plaintext block without the tag check: OpenSSL and AES-NI
 * agree on any bytes; *first is set when there is one. */
static int check_peek(unsigned k, const uint8_t *data, size_t size,
		      uint8_t first[16])
{
	uint8_t other[16];
	int rp = ssp_peek(ctx[k], data, size, first);
	int rf;

	if (size < SSP_MIN_DATAGRAM_LEN + 16)
		FUZZ_ASSERT(rp == -EINVAL, "peek into %zu bytes: %d", size, rp);
	else
		FUZZ_ASSERT(rp == 0, "peek: %d", rp);
	(void)ssp_plausible_start(first);
	if (!fast[k].ready)
		return rp;
	rf = ssp_fastpeek(&fast[k], data, size, other);
	FUZZ_ASSERT(rf == rp, "fastpeek %d, peek %d", rf, rp);
	FUZZ_ASSERT(rp != 0 || memcmp(first, other, 16) == 0,
		    "AES-NI first block differs from OpenSSL's");
	return rp;
}

/* The input as a datagram under one key: verify and open agree, and what
 * authenticates decrypts to a plaintext that seals back to the same bytes. */
static void check_datagram(unsigned k, const uint8_t *data, size_t size)
{
	struct ssp_ctx *c = ctx[k];
	struct ssp_header h, hv, ho;
	size_t plen = 12345;
	uint8_t first[16];
	/* peek first: the verify and open after it must not be disturbed */
	int rp = check_peek(k, data, size, first);
	int rh = ssp_parse_header(data, size, &h);
	int rv = ssp_verify(c, data, size, &hv);
	int ro = ssp_open(c, data, size, &ho, plain, sizeof(plain), &plen);
	long n;

	if (size > sizeof(plain) + SSP_MIN_DATAGRAM_LEN) {
		FUZZ_ASSERT(ro == -ENOBUFS, "oversized datagram opened: %d", ro);
		return;
	}
	if (size < SSP_MIN_DATAGRAM_LEN) {
		FUZZ_ASSERT(rh == -EINVAL && rv == -EINVAL && ro == -EINVAL,
			    "short datagram: %d %d %d", rh, rv, ro);
		return;
	}
	FUZZ_ASSERT(rh == 0, "header of %zu bytes refused", size);
	FUZZ_ASSERT(h.seq == (h.word & SSP_SEQ_MASK) &&
		    h.direction == ((h.word >> 63) ? SSP_TO_CLIENT : SSP_TO_SERVER),
		    "header fields disagree with the word");
	FUZZ_ASSERT((uint8_t)(h.word >> 56) == data[0] && (uint8_t)h.word == data[7],
		    "header word is not big endian");
	FUZZ_ASSERT((rv == 0) == (ro == 0), "verify %d but open %d", rv, ro);
	if (rv != 0) {
		FUZZ_ASSERT(rv == -EBADMSG && ro == -EBADMSG, "forged: %d %d", rv, ro);
		/* the plaintext parser on bytes nobody vouched for */
		check_plain(data + SSP_HEADER_LEN, size - SSP_MIN_DATAGRAM_LEN);
		return;
	}
	FUZZ_ASSERT(hv.word == h.word && ho.word == h.word, "header changed");
	FUZZ_ASSERT(plen == size - SSP_MIN_DATAGRAM_LEN, "plaintext length %zu", plen);
	FUZZ_ASSERT(rp != 0 || memcmp(first, plain, 16) == 0,
		    "peeked block is not the authentic plaintext's start");
	/* only real mosh datagrams authenticate under the captured keys */
	FUZZ_ASSERT(rp != 0 || ssp_plausible_start(first),
		    "a real mosh datagram fails ssp_plausible_start");
	check_plain(plain, plen);
	n = ssp_seal(c, h.direction, h.seq, plain, plen, out, sizeof(out));
	FUZZ_ASSERT(n == (long)size && memcmp(out, data, size) == 0,
		    "authentic datagram does not seal back to itself");
	if (plen > 0) {
		ro = ssp_open(c, data, size, NULL, plain, plen - 1, NULL);
		FUZZ_ASSERT(ro == -ENOBUFS, "small plaintext buffer: %d", ro);
	}
}

/* The input as a plaintext: seal, open, and one flipped bit must fail. */
static void check_seal(unsigned k, const uint8_t *data, size_t size)
{
	struct ssp_ctx *c = ctx[k];
	uint8_t first[16];
	struct ssp_header h;
	uint64_t seq = 0;
	enum ssp_direction dir;
	size_t plen = 0, bit;
	long n;
	int rc;

	if (size > MAX_DGRAM)
		size = MAX_DGRAM;
	for (size_t i = 0; i < size && i < 8; i++)
		seq = seq << 8 | data[i];
	dir = (seq >> 63) ? SSP_TO_CLIENT : SSP_TO_SERVER;
	n = ssp_seal(c, dir, seq, data, size, out, sizeof(out));
	if (seq > SSP_SEQ_MASK) {
		FUZZ_ASSERT(n == -EINVAL, "sealed sequence %llx: %ld",
			    (unsigned long long)seq, n);
		seq &= SSP_SEQ_MASK;
		n = ssp_seal(c, dir, seq, data, size, out, sizeof(out));
	}
	FUZZ_ASSERT(n == (long)(size + SSP_MIN_DATAGRAM_LEN), "seal: %ld", n);
	if (check_peek(k, out, (size_t)n, first) == 0)
		FUZZ_ASSERT(memcmp(first, data, 16) == 0, "peek of a sealed datagram");
	rc = ssp_open(c, out, (size_t)n, &h, plain, sizeof(plain), &plen);
	FUZZ_ASSERT(rc == 0, "sealed datagram does not open: %d", rc);
	FUZZ_ASSERT(h.seq == seq && h.direction == dir, "header round trip");
	FUZZ_ASSERT(plen == size && (size == 0 || memcmp(plain, data, size) == 0),
		    "plaintext round trip");
	bit = (size_t)(seq % ((uint64_t)n * 8));
	out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	rc = ssp_verify(c, out, (size_t)n, NULL);
	FUZZ_ASSERT(rc == -EBADMSG, "datagram with bit %zu flipped: %d", bit, rc);
	n = ssp_seal(c, dir, seq, data, size, out, (size_t)n - 1);
	FUZZ_ASSERT(n == -ENOBUFS, "seal into a short buffer: %ld", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_key(data, size);
	for (unsigned i = 0; i < NKEYS; i++)
		check_datagram(i, data, size);
	check_seal(size % NKEYS, data, size);
	return 0;
}
