/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SSP datagrams (include/ssp.h): the base64 session key, the 8-byte header
 * word, AES-128-OCB verification/decryption, and the plaintext fields.
 * A session's ssp_ctx holds its key only; the OpenSSL decryption contexts
 * (about 1.2 KB each) come from a small LRU cache shared by all of them,
 * keyed on use (encryption, for tests and tools, keeps a per-ctx context).
 * Nonce = 4 zero bytes + the header word; the 16-byte tag ends the
 * datagram; no associated data (checked on real captures).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ssp.h"
#include "ssp_test.h"

/* Bytes handed to OpenSSL per update call: a multiple of the AES block, so
 * an update never writes more than it was given plus one buffered block. */
#define SSP_CHUNK       1024
#define SSP_SCRATCH_LEN (SSP_CHUNK + 2 * 16)

/* OpenSSL's OCB picks its bulk (multi-block) routine for one direction
 * when the key is set, so one context cannot both decrypt and encrypt:
 * sealing gets its own context, made on first use (the daemon never seals). */
struct ssp_ctx {
	uint64_t gen;              /* unique, never reused: owner of a cache slot */
	EVP_CIPHER_CTX *enc;       /* same key for encryption; NULL until ssp_seal */
	uint8_t key[SSP_KEY_LEN];
	uint8_t slot;              /* cache slot last keyed for it, + 1; 0: none */
	struct ssp_fastpeek peek;  /* first-block schedule; .ready false without AES-NI */
};

/* ---- the shared decryption contexts ------------------------------------- */

/* Slots 0..SSP_CACHE_SLOTS-1 are the LRU cache; the last one serves the
 * misses of single-port trials (ssp_peek without AES-NI, ssp_verify_trial),
 * so trials over thousands of sessions never re-key a live session's
 * context. */
#define SCAN_SLOT SSP_CACHE_SLOTS

struct cache_slot {
	EVP_CIPHER_CTX *dec;   /* AES-128-OCB, decryption; NULL: not built */
	uint64_t owner;        /* gen of the ssp_ctx it is keyed for; 0: none */
	uint64_t used;         /* LRU clock */
};

struct ssp_cache {
	struct cache_slot slot[SSP_CACHE_SLOTS + 1];
	uint64_t clock, hits, misses;
	uint8_t scratch[SSP_SCRATCH_LEN];  /* ssp_verify's throw-away output */
};

/* From OpenSSL's allocator on first use (its scratch holds plaintext, its
 * contexts key schedules: the daemon keeps those out of core files). One
 * per process: the daemon is single-threaded (see ssp.h). */
static struct ssp_cache *cache;
static uint64_t next_gen = 1;

/* ---- key ---------------------------------------------------------------- */

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int ssp_key_decode(const char *b64, size_t len, uint8_t key[SSP_KEY_LEN],
		   const char **why)
{
	uint8_t out[SSP_KEY_LEN];
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;
	const char *reason = NULL;

	if (b64 == NULL || len != SSP_KEY_B64_LEN) {
		reason = "key must be exactly 22 base64 characters";
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(b64[i]);

		if (v < 0) {
			reason = "key contains a character outside the base64 alphabet (A-Z a-z 0-9 + /)";
			goto out;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (UINT32_C(1) << bits) - 1;
		}
	}
	/* 22 x 6 = 132 bits: 16 bytes and 4 left-over bits, which must be 0. */
	if (n != SSP_KEY_LEN || acc != 0) {
		reason = "key is not canonical base64 (non-zero bits in the last character)";
		goto out;
	}
	memcpy(key, out, SSP_KEY_LEN);
out:
	OPENSSL_cleanse(out, sizeof(out));
	OPENSSL_cleanse(&acc, sizeof(acc));
	if (why)
		*why = reason;
	return reason ? -EINVAL : 0;
}

/* ---- header ------------------------------------------------------------- */

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

int ssp_parse_header(const uint8_t *dgram, size_t len, struct ssp_header *h)
{
	if (dgram == NULL || len < SSP_MIN_DATAGRAM_LEN)
		return -EINVAL;
	h->word = load_be64(dgram);
	h->direction = (h->word & SSP_DIRECTION_BIT) ? SSP_TO_CLIENT : SSP_TO_SERVER;
	h->seq = h->word & SSP_SEQ_MASK;
	return 0;
}

static void make_nonce(const uint8_t *word_be, uint8_t nonce[SSP_NONCE_LEN])
{
	memset(nonce, 0, SSP_NONCE_LEN - SSP_HEADER_LEN);
	memcpy(nonce + SSP_NONCE_LEN - SSP_HEADER_LEN, word_be, SSP_HEADER_LEN);
}

/* ---- context ------------------------------------------------------------ */

/* A context for one direction with the key set; NULL on failure. */
static EVP_CIPHER_CTX *evp_new(const uint8_t key[SSP_KEY_LEN], int enc)
{
	EVP_CIPHER_CTX *evp = EVP_CIPHER_CTX_new();

	if (evp == NULL)
		return NULL;
	if (EVP_CipherInit_ex(evp, EVP_aes_128_ocb(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_SET_IVLEN, SSP_NONCE_LEN, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_SET_TAG, SSP_TAG_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(evp, NULL, NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(evp);
		return NULL;
	}
	return evp;
}

/* Frees a slot's context: EVP_CIPHER_CTX_free wipes OpenSSL's copies of
 * the key schedule. */
static void slot_drop(struct cache_slot *sl)
{
	EVP_CIPHER_CTX_free(sl->dec);
	sl->dec = NULL;
	sl->owner = 0;
	sl->used = 0;
}

/* Keys slot i for ctx: re-keying in place overwrites the previous owner's
 * schedule (OpenSSL wipes its OCB tables on re-key). */
static EVP_CIPHER_CTX *slot_key(unsigned i, struct ssp_ctx *ctx)
{
	struct cache_slot *sl = &cache->slot[i];

	sl->owner = 0;
	if (sl->dec == NULL)
		sl->dec = evp_new(ctx->key, 0);
	else if (EVP_CipherInit_ex(sl->dec, NULL, NULL, ctx->key, NULL, 0) != 1)
		slot_drop(sl);
	if (sl->dec == NULL)
		return NULL;
	sl->owner = ctx->gen;
	ctx->slot = (uint8_t)(i + 1);
	cache->misses++;
	return sl->dec;
}

/* The least recently used (or a free) LRU slot. */
static unsigned lru_victim(void)
{
	unsigned i, v = 0;

	for (i = 0; i < SSP_CACHE_SLOTS; i++) {
		if (cache->slot[i].owner == 0)
			return i;
		if (cache->slot[i].used < cache->slot[v].used)
			v = i;
	}
	return v;
}

/* The decryption context keyed for ctx: a hit, or a re-keyed victim
 * (scan: the scan slot). NULL on allocation/OpenSSL failure. */
static EVP_CIPHER_CTX *acquire(struct ssp_ctx *ctx, bool scan)
{
	struct cache_slot *sl;

	if (cache == NULL && (cache = OPENSSL_zalloc(sizeof(*cache))) == NULL)
		return NULL;
	if (ctx->slot) {
		sl = &cache->slot[ctx->slot - 1];
		if (sl->owner == ctx->gen && sl->dec != NULL) {
			if (ctx->slot - 1 != SCAN_SLOT)
				sl->used = ++cache->clock;
			cache->hits++;
			return sl->dec;
		}
	}
	if (scan)
		return slot_key(SCAN_SLOT, ctx);
	sl = &cache->slot[lru_victim()];
	sl->used = ++cache->clock;
	return slot_key((unsigned)(sl - cache->slot), ctx);
}

void ssp_cache_stats(struct ssp_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (cache == NULL)
		return;
	st->hits = cache->hits;
	st->misses = cache->misses;
	for (unsigned i = 0; i <= SSP_CACHE_SLOTS; i++)
		st->keyed += cache->slot[i].owner != 0;
}

void ssp_cache_flush(void)
{
	if (cache == NULL)
		return;
	for (unsigned i = 0; i <= SSP_CACHE_SLOTS; i++)
		slot_drop(&cache->slot[i]);
	OPENSSL_clear_free(cache, sizeof(*cache));
	cache = NULL;
}

/* The context holds the raw key: it comes from OpenSSL's allocator, which a
 * program may route to memory kept out of core files (the daemon does). A
 * cache slot is keyed at once: it proves OpenSSL can do AES-128-OCB, and a
 * new session's first datagram is usually close. */
struct ssp_ctx *ssp_ctx_new(const uint8_t key[SSP_KEY_LEN])
{
	struct ssp_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	memcpy(ctx->key, key, SSP_KEY_LEN);
	ctx->gen = next_gen++;
	ssp_fastpeek_init(&ctx->peek, key);   /* without AES-NI: ssp_peek instead */
	if (acquire(ctx, false) == NULL) {
		ssp_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void ssp_ctx_free(struct ssp_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->slot && cache && cache->slot[ctx->slot - 1].owner == ctx->gen)
		slot_drop(&cache->slot[ctx->slot - 1]);
	EVP_CIPHER_CTX_free(ctx->enc);
	OPENSSL_clear_free(ctx, sizeof(*ctx));
}

void ssp_ctx_prefetch(const struct ssp_ctx *ctx)
{
	const char *p = (const char *)ctx;
	size_t off;

	for (off = 0; off < sizeof(*ctx); off += 64)
		__builtin_prefetch(p + off);
}

const struct ssp_fastpeek *ssp_ctx_fastpeek(const struct ssp_ctx *ctx)
{
	return ctx->peek.ready ? &ctx->peek : NULL;
}

/* Feeds len bytes through evp in chunks. out == NULL: every chunk's output
 * goes to the shared scratch (verify only); else out advances. */
static int run_chunks(EVP_CIPHER_CTX *evp, bool enc, const uint8_t *in,
		      size_t len, uint8_t *out, size_t *out_len)
{
	size_t done = 0, produced = 0;
	int n;

	while (done < len) {
		size_t chunk = len - done < SSP_CHUNK ? len - done : SSP_CHUNK;
		uint8_t *dst = out ? out + produced : cache->scratch;
		int ok = enc ? EVP_EncryptUpdate(evp, dst, &n, in + done, (int)chunk)
			     : EVP_DecryptUpdate(evp, dst, &n, in + done, (int)chunk);

		if (ok != 1 || n < 0)
			return -EBADMSG;
		done += chunk;
		produced += (size_t)n;
	}
	{
		uint8_t *dst = out ? out + produced : cache->scratch;
		int ok = enc ? EVP_EncryptFinal_ex(evp, dst, &n)
			     : EVP_DecryptFinal_ex(evp, dst, &n);

		if (ok != 1 || n < 0)
			return -EBADMSG;
		produced += (size_t)n;
	}
	if (produced != len)   /* OCB is length-preserving */
		return -EBADMSG;
	if (out_len)
		*out_len = produced;
	return 0;
}

/* Decrypts and checks the tag; out == NULL decrypts into scratch. scan: a
 * trial (see acquire). */
static int decrypt(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len,
		   uint8_t *out, size_t *out_len, bool scan)
{
	uint8_t nonce[SSP_NONCE_LEN];
	size_t ct_len = len - SSP_MIN_DATAGRAM_LEN;
	uint8_t tag[SSP_TAG_LEN];
	EVP_CIPHER_CTX *dec = acquire(ctx, scan);

	if (dec == NULL)
		return -ENOMEM;
	make_nonce(dgram, nonce);
	memcpy(tag, dgram + len - SSP_TAG_LEN, SSP_TAG_LEN);
	if (EVP_DecryptInit_ex(dec, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, SSP_TAG_LEN, tag) != 1)
		return -EBADMSG;
	return run_chunks(dec, false, dgram + SSP_HEADER_LEN, ct_len, out, out_len);
}

int ssp_open(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len,
	     struct ssp_header *h, uint8_t *plain, size_t plain_cap,
	     size_t *plain_len)
{
	struct ssp_header hdr;
	size_t need, n = 0;
	int rc;

	rc = ssp_parse_header(dgram, len, &hdr);
	if (rc < 0)
		return rc;
	need = len - SSP_MIN_DATAGRAM_LEN;
	if (plain_cap < need || (plain == NULL && need > 0))
		return -ENOBUFS;
	rc = decrypt(ctx, dgram, len, need ? plain : NULL, &n, false);
	if (rc < 0) {
		/* unauthenticated plaintext must not be usable */
		if (need > 0)
			OPENSSL_cleanse(plain, need);
		return rc;
	}
	if (h)
		*h = hdr;
	if (plain_len)
		*plain_len = n;
	return 0;
}

static int verify(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len,
		  struct ssp_header *h, bool scan)
{
	struct ssp_header hdr;
	size_t used;
	int rc;

	rc = ssp_parse_header(dgram, len, &hdr);
	if (rc < 0)
		return rc;
	rc = decrypt(ctx, dgram, len, NULL, NULL, scan);
	/* the scratch holds (part of) a plaintext: keystrokes, screen */
	used = len - SSP_MIN_DATAGRAM_LEN + SSP_TAG_LEN;
	if (cache)
		OPENSSL_cleanse(cache->scratch, used < sizeof(cache->scratch) ?
				used : sizeof(cache->scratch));
	if (rc < 0)
		return rc;
	if (h)
		*h = hdr;
	return 0;
}

int ssp_verify(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len,
	       struct ssp_header *h)
{
	return verify(ctx, dgram, len, h, false);
}

int ssp_verify_trial(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len)
{
	return verify(ctx, dgram, len, NULL, true);
}

long ssp_seal(struct ssp_ctx *ctx, enum ssp_direction dir, uint64_t seq,
	      const uint8_t *plain, size_t plain_len, uint8_t *out,
	      size_t out_cap)
{
	uint8_t nonce[SSP_NONCE_LEN];
	uint64_t word;
	int rc;

	if (seq > SSP_SEQ_MASK || (dir != SSP_TO_SERVER && dir != SSP_TO_CLIENT))
		return -EINVAL;
	if (plain == NULL && plain_len > 0)
		return -EINVAL;
	if (plain_len > (size_t)LONG_MAX - SSP_MIN_DATAGRAM_LEN)
		return -EMSGSIZE;
	if (out == NULL || out_cap < plain_len + SSP_MIN_DATAGRAM_LEN)
		return -ENOBUFS;
	if (ctx->enc == NULL && (ctx->enc = evp_new(ctx->key, 1)) == NULL)
		return -ENOMEM;
	word = seq | (dir == SSP_TO_CLIENT ? SSP_DIRECTION_BIT : 0);
	store_be64(out, word);
	make_nonce(out, nonce);
	if (EVP_EncryptInit_ex(ctx->enc, NULL, NULL, NULL, nonce) != 1)
		return -EIO;
	rc = run_chunks(ctx->enc, true, plain, plain_len, out + SSP_HEADER_LEN, NULL);
	if (rc < 0)
		return -EIO;
	if (EVP_CIPHER_CTX_ctrl(ctx->enc, EVP_CTRL_AEAD_GET_TAG, SSP_TAG_LEN,
				out + SSP_HEADER_LEN + plain_len) != 1)
		return -EIO;
	return (long)(plain_len + SSP_MIN_DATAGRAM_LEN);
}

/* ---- plaintext ---------------------------------------------------------- */

int ssp_parse_plain(const uint8_t *plain, size_t len, struct ssp_plain *out)
{
	const size_t hdr = SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN;
	uint16_t num;

	if (plain == NULL || len < hdr)
		return -EINVAL;
	out->timestamp = load_be16(plain);
	out->timestamp_reply = load_be16(plain + 2);
	out->frag_id = load_be64(plain + SSP_TIMESTAMPS_LEN);
	num = load_be16(plain + SSP_TIMESTAMPS_LEN + 8);
	out->final = (num & SSP_FRAG_FINAL_BIT) != 0;
	out->frag_num = num & (uint16_t)~SSP_FRAG_FINAL_BIT;
	out->frag_data = plain + hdr;
	out->frag_len = len - hdr;
	return 0;
}

/* ---- first block, unauthenticated (single-port trial) -------------------- */

int ssp_peek(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len,
	     uint8_t first[16])
{
	uint8_t nonce[SSP_NONCE_LEN];
	EVP_CIPHER_CTX *dec;
	int n = 0;

	if (len < SSP_MIN_DATAGRAM_LEN + 16)
		return -EINVAL;
	if ((dec = acquire(ctx, true)) == NULL)
		return -ENOMEM;
	make_nonce(dgram, nonce);
	/* OCB hands out each whole block as it goes; the tag is never set and
	 * Final never called, and the next Init resets the context */
	if (EVP_DecryptInit_ex(dec, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(dec, first, &n, dgram + SSP_HEADER_LEN, 16) != 1 ||
	    n != 16)
		return -EINVAL;
	return 0;
}

bool ssp_plausible_start(const uint8_t first[16])
{
	/* timestamps (4 bytes), instruction id (8, big endian), fragment
	 * number (2, top bit = final) */
	return !first[4] && !first[5] && !first[6] && !first[7] &&
	       (first[12] & 0x70) == 0;
}
