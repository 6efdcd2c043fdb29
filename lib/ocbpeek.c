/*
 * The first plaintext block of an SSP datagram with two AES block
 * operations on AES-NI and a 193-byte per-session schedule (encryption
 * round keys and L_0; the decryption round keys are derived per call with
 * AESIMC), for single-port mode's trial authentication over thousands of
 * sessions. Computed from RFC 7253 (OCB): Offset_0 from the nonce,
 * Offset_1 = Offset_0 ^ L_0, P_1 = Offset_1 ^ D_K(C_1 ^ Offset_1). Nothing
 * is authenticated here; the unit tests check every byte against OpenSSL.
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

/* Offset_0: 128 bits of Stretch from bit `bottom` on. */
static void offset0(const uint8_t ktop[16], unsigned bottom, uint8_t off[16])
{
	uint8_t stretch[24];
	unsigned i, by = bottom / 8, bi = bottom % 8;

	memcpy(stretch, ktop, 16);
	for (i = 0; i < 8; i++)
		stretch[16 + i] = ktop[i] ^ ktop[i + 1];
	for (i = 0; i < 16; i++)
		off[i] = (uint8_t)(stretch[i + by] << bi |
				   (bi ? stretch[i + by + 1] >> (8 - bi) : 0));
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
