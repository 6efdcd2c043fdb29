/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The first plaintext block of an SSP datagram with two AES block
 * operations on AES-NI and a 193-byte per-session schedule (encryption
 * round keys and L_0; the decryption round keys are derived per call with
 * AESIMC), for single-port mode's trial authentication over thousands of
 * sessions. Computed from RFC 7253 (OCB): Offset_0 from the nonce,
 * Offset_1 = Offset_0 ^ L_0, P_1 = Offset_1 ^ D_K(C_1 ^ Offset_1); for
 * several keys at once, four with their rounds interleaved. Nothing is
 * authenticated here; the unit tests check every byte against OpenSSL.
 */
#include <errno.h>
#include <string.h>

#include <immintrin.h>
#include <openssl/crypto.h>

#include "ssp.h"

#define TGT __attribute__((target("aes,sse2")))

static TGT __m128i ld(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)p); }
static TGT void st(uint8_t *p, __m128i v) { _mm_storeu_si128((__m128i *)p, v); }

static TGT __m128i expand_step(__m128i key, __m128i assist)
{
	assist = _mm_shuffle_epi32(assist, 0xff);
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	return _mm_xor_si128(key, assist);
}

#define ROUND(i, rcon) rk[i] = expand_step(rk[i - 1], _mm_aeskeygenassist_si128(rk[i - 1], rcon))

static TGT void expand(const uint8_t key[SSP_KEY_LEN], __m128i rk[11])
{
	rk[0] = ld(key);
	ROUND(1, 0x01); ROUND(2, 0x02); ROUND(3, 0x04); ROUND(4, 0x08);
	ROUND(5, 0x10); ROUND(6, 0x20); ROUND(7, 0x40); ROUND(8, 0x80);
	ROUND(9, 0x1b); ROUND(10, 0x36);
}

static TGT __m128i enc(const uint8_t rk[11][16], __m128i x)
{
	int i;

	x = _mm_xor_si128(x, ld(rk[0]));
	for (i = 1; i < 10; i++)
		x = _mm_aesenc_si128(x, ld(rk[i]));
	return _mm_aesenclast_si128(x, ld(rk[10]));
}

/* The equivalent inverse cipher straight from the encryption schedule:
 * round i uses AESIMC(rk[10 - i]); the AESIMCs do not depend on x, so they
 * overlap with the rounds. */
static TGT __m128i dec(const uint8_t rk[11][16], __m128i x)
{
	int i;

	x = _mm_xor_si128(x, ld(rk[10]));
	for (i = 1; i < 10; i++)
		x = _mm_aesdec_si128(x, _mm_aesimc_si128(ld(rk[10 - i])));
	return _mm_aesdeclast_si128(x, ld(rk[0]));
}

/* OCB's doubling in GF(2^128), big-endian bit order */
static void dbl(uint8_t v[16])
{
	uint8_t carry = v[0] >> 7;
	int i;

	for (i = 0; i < 15; i++)
		v[i] = (uint8_t)(v[i] << 1 | v[i + 1] >> 7);
	v[15] = (uint8_t)(v[15] << 1) ^ (carry ? 0x87 : 0);
}

static TGT void schedule(struct ssp_fastpeek *fp, const uint8_t key[SSP_KEY_LEN])
{
	__m128i rk[11];
	int i;

	expand(key, rk);
	for (i = 0; i < 11; i++)
		st(fp->enc[i], rk[i]);
	st(fp->l0, enc(fp->enc, _mm_setzero_si128()));  /* L_* */
	dbl(fp->l0);                             /* L_$ */
	dbl(fp->l0);                             /* L_0 */
	OPENSSL_cleanse(rk, sizeof(rk));   /* a memset here could be optimised away */
}

int ssp_fastpeek_init(struct ssp_fastpeek *fp, const uint8_t key[SSP_KEY_LEN])
{
	memset(fp, 0, sizeof(*fp));
	if (!__builtin_cpu_supports("aes"))
		return -ENOTSUP;
	schedule(fp, key);
	fp->ready = true;
	return 0;
}

void ssp_fastpeek_wipe(struct ssp_fastpeek *fp)
{
	OPENSSL_cleanse(fp, sizeof(*fp));
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, 8);
}

/* Offset_0: 128 bits of Stretch = Ktop || (Ktop[1..64] xor Ktop[9..72])
 * from bit `bottom` (0..63) on, in 64-bit words. */
static void offset0(const uint8_t ktop[16], unsigned bottom, uint8_t off[16])
{
	uint64_t w0 = be64(ktop), w1 = be64(ktop + 8);
	uint64_t w2 = w0 ^ (w0 << 8 | w1 >> 56);

	if (bottom) {
		w0 = w0 << bottom | w1 >> (64 - bottom);
		w1 = w1 << bottom | w2 >> (64 - bottom);
	}
	put_be64(off, w0);
	put_be64(off + 8, w1);
}

static TGT void first_block(const struct ssp_fastpeek *fp, const uint8_t *dgram,
			    uint8_t first[16])
{
	uint8_t nonce[16] = { 0, 0, 0, 1, 0, 0, 0, 0 }, ktop[16], off[16];
	unsigned bottom;
	__m128i o;

	memcpy(nonce + 8, dgram, SSP_HEADER_LEN);  /* N = 4 zero bytes + header word */
	bottom = nonce[15] & 0x3f;
	nonce[15] &= 0xc0;
	st(ktop, enc(fp->enc, ld(nonce)));
	offset0(ktop, bottom, off);
	o = _mm_xor_si128(ld(off), ld(fp->l0));  /* Offset_1 */
	st(first, _mm_xor_si128(o, dec(fp->enc, _mm_xor_si128(ld(dgram + SSP_HEADER_LEN), o))));
}

/* Four schedules on one datagram with their AES rounds interleaved: each
 * round of one key does not wait for another's, so the CPU's AES units
 * work on four blocks at once. The nonce is the same for all four. */
static TGT void first_block4(const struct ssp_fastpeek *const fp[4],
			     const uint8_t *dgram, uint8_t first[4][16])
{
	uint8_t nonce[16] = { 0, 0, 0, 1, 0, 0, 0, 0 }, ktop[16], off[16];
	__m128i x[4], o[4], c = ld(dgram + SSP_HEADER_LEN), n;
	unsigned bottom, k;
	int i;

	memcpy(nonce + 8, dgram, SSP_HEADER_LEN);
	bottom = nonce[15] & 0x3f;
	nonce[15] &= 0xc0;
	n = ld(nonce);
	for (k = 0; k < 4; k++)
		x[k] = _mm_xor_si128(n, ld(fp[k]->enc[0]));
	for (i = 1; i < 10; i++)
		for (k = 0; k < 4; k++)
			x[k] = _mm_aesenc_si128(x[k], ld(fp[k]->enc[i]));
	for (k = 0; k < 4; k++) {
		st(ktop, _mm_aesenclast_si128(x[k], ld(fp[k]->enc[10])));
		offset0(ktop, bottom, off);
		o[k] = _mm_xor_si128(ld(off), ld(fp[k]->l0));
		x[k] = _mm_xor_si128(_mm_xor_si128(c, o[k]), ld(fp[k]->enc[10]));
	}
	for (i = 1; i < 10; i++)
		for (k = 0; k < 4; k++)
			x[k] = _mm_aesdec_si128(x[k], _mm_aesimc_si128(ld(fp[k]->enc[10 - i])));
	for (k = 0; k < 4; k++)
		st(first[k], _mm_xor_si128(o[k], _mm_aesdeclast_si128(x[k], ld(fp[k]->enc[0]))));
}

int ssp_fastpeek_many(const struct ssp_fastpeek *const fp[], unsigned n,
		      const uint8_t *dgram, size_t len, uint8_t first[][16])
{
	unsigned i, k;

	for (i = 0; i < n; i++)
		if (!fp[i] || !fp[i]->ready)
			return -ENOTSUP;
	if (len < SSP_MIN_DATAGRAM_LEN + 16)
		return -EINVAL;
	for (i = 0; i + 4 <= n; i += 4)
		first_block4(fp + i, dgram, (uint8_t (*)[16])first[i]);
	if (i < n) {   /* the rest padded with the last schedule */
		const struct ssp_fastpeek *pad[4];
		uint8_t out[4][16];

		for (k = 0; k < 4; k++)
			pad[k] = fp[i + k < n ? i + k : n - 1];
		first_block4(pad, dgram, out);
		memcpy(first[i], out, (n - i) * 16);
	}
	return 0;
}

int ssp_fastpeek(const struct ssp_fastpeek *fp, const uint8_t *dgram, size_t len,
		 uint8_t first[16])
{
	if (!fp->ready)
		return -ENOTSUP;
	if (len < SSP_MIN_DATAGRAM_LEN + 16)
		return -EINVAL;
	first_block(fp, dgram, first);
	return 0;
}
