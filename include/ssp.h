/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SSP datagrams: key decoding, header parsing, AES-128-OCB verification and
 * decryption (OpenSSL contexts from a small process-wide cache, keyed on
 * use), and the plaintext fields (timestamps, fragment header). Pure: no
 * sockets. The ssp_ctx functions share that cache: NOT thread-safe, use
 * them from one thread (the daemon, the tools and the tests are
 * single-threaded).
 */
#ifndef MH_SSP_H
#define MH_SSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mh_consts.h"

enum ssp_direction {
	SSP_TO_SERVER = 0,
	SSP_TO_CLIENT = 1,
};

struct ssp_header {
	enum ssp_direction direction;
	uint64_t seq;        /* low 63 bits of the header word */
	uint64_t word;       /* the raw header word, host order (nonce tail) */
};

/* Plaintext fields of one datagram. frag_data points into the caller's
 * plaintext buffer. */
struct ssp_plain {
	uint16_t timestamp;
	uint16_t timestamp_reply;
	uint64_t frag_id;
	uint16_t frag_num;     /* without the final bit */
	bool final;
	const uint8_t *frag_data;
	size_t frag_len;
};

/* Decode the 22-character base64 key into 16 bytes. Returns 0, or -EINVAL
 * with *why set to a static, human-readable reason (wrong length, bad
 * character, non-canonical trailing bits). why may be NULL. */
int ssp_key_decode(const char *b64, size_t len, uint8_t key[SSP_KEY_LEN],
		   const char **why);

/* Parse the 8-byte header. Returns 0, or -EINVAL if len < SSP_MIN_DATAGRAM_LEN. */
int ssp_parse_header(const uint8_t *dgram, size_t len, struct ssp_header *h);

/* Opaque per-session crypto context: the key (and, with AES-NI, the
 * first-block schedule below), a few hundred bytes from OpenSSL's
 * allocator. The OpenSSL OCB decryption contexts are not per session: a
 * cache of SSP_CACHE_SLOTS of them is shared by every ssp_ctx, a hit reuses
 * the one keyed for this ctx, a miss re-keys the least recently used one
 * (about a microsecond; the old key schedule is overwritten). A cached
 * context is tied to its owner by a generation number that is never
 * reused, so a freed or recycled ssp_ctx can never use another's key. */
struct ssp_ctx;

#define SSP_CACHE_SLOTS 32

/* NULL on allocation/OpenSSL failure. */
struct ssp_ctx *ssp_ctx_new(const uint8_t key[SSP_KEY_LEN]);
/* Wipes the key material (its cached OpenSSL context too) and frees; NULL
 * is a no-op. */
void ssp_ctx_free(struct ssp_ctx *ctx);

/* Verify and decrypt one datagram. plain must hold len - SSP_MIN_DATAGRAM_LEN
 * bytes. Returns 0 with *h and *plain_len set; -EINVAL (too short),
 * -ENOBUFS (plain too small), -EBADMSG (tag does not verify). On failure
 * nothing of the plaintext may be used. */
int ssp_open(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len,
	     struct ssp_header *h, uint8_t *plain, size_t plain_cap,
	     size_t *plain_len);

/* Verify only (decrypts into an internal scratch buffer). Same returns. */
int ssp_verify(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len,
	       struct ssp_header *h);

/* ssp_verify for single-port trial authentication: a ctx whose context is
 * cached uses it; any other is keyed into a slot of its own kept for
 * trials, never into the LRU cache, so a trial (whoever sent the datagram)
 * cannot evict a live session's context. 0, -EINVAL, -EBADMSG. */
int ssp_verify_trial(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len);

/* The first 16 bytes of the plaintext WITHOUT checking the tag (two AES
 * block operations instead of the whole datagram): a cheap first test of
 * whether a key can be the datagram's, for single-port mode's trial
 * authentication. Nothing from it may be trusted; a datagram is authentic
 * only when ssp_verify/ssp_open says so. 0, or -EINVAL when the
 * ciphertext is shorter than one block. */
int ssp_peek(struct ssp_ctx *ctx, const uint8_t *dgram, size_t len,
	     uint8_t first[16]);

/* The same first block on AES-NI from a compact per-session schedule (no
 * OpenSSL call, no context switch): about a tenth of ssp_peek's cost, for
 * scans over thousands of sessions. init: 0, or -ENOTSUP without AES-NI
 * (then ssp_fastpeek returns -ENOTSUP and callers use ssp_peek). The
 * schedule is key material: wipe it with ssp_fastpeek_wipe. Only the
 * encryption round keys and L_0 are kept (193 bytes): the decryption round
 * keys are derived on the fly (AESIMC). */
struct ssp_fastpeek {
	uint8_t enc[11][16];
	uint8_t l0[16];
	bool ready;
};
int ssp_fastpeek_init(struct ssp_fastpeek *fp, const uint8_t key[SSP_KEY_LEN]);
void ssp_fastpeek_wipe(struct ssp_fastpeek *fp);
int ssp_fastpeek(const struct ssp_fastpeek *fp, const uint8_t *dgram, size_t len,
		 uint8_t first[16]);
/* ssp_fastpeek for n schedules on one datagram, four at a time with their
 * AES rounds interleaved (about 3 times the throughput of one by one):
 * first[i] for fp[i]. 0, -ENOTSUP (a schedule is not ready), -EINVAL. */
int ssp_fastpeek_many(const struct ssp_fastpeek *const fp[], unsigned n,
		      const uint8_t *dgram, size_t len, uint8_t first[][16]);
/* The schedule ssp_ctx_new made for ctx's key, or NULL without AES-NI
 * (then use ssp_peek). Lives as long as ctx. */
const struct ssp_fastpeek *ssp_ctx_fastpeek(const struct ssp_ctx *ctx);
/* Asks the CPU to fetch ctx (its first-block schedule included) into the
 * cache: trials over several sessions overlap their memory latency. */
void ssp_ctx_prefetch(const struct ssp_ctx *ctx);

/* Could these be the first plaintext bytes of a real mosh datagram? (The
 * instruction id is a counter from 0: its top 32 bits are zero in any
 * session shorter than 2^32 instructions; the fragment number is small.)
 * A wrong key passes with a probability of about 2^-35. */
bool ssp_plausible_start(const uint8_t first[16]);

/* Parse decrypted plaintext. Returns 0 or -EINVAL (shorter than the
 * timestamps and fragment header). */
int ssp_parse_plain(const uint8_t *plain, size_t len, struct ssp_plain *out);

/* Encryption and the cache's counters serve tests, benchmarks and attack
 * tools only: ssp_test.h. */

#endif
