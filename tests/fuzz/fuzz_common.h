/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared by the libFuzzer targets in tests/fuzz/: a checked assertion that
 * aborts (libFuzzer saves the input as a crash), a bounded byte reader for
 * inputs interpreted as a sequence of operations, and the description of
 * the captured sessions the seed corpora came from (seed_keys.h).
 */
#ifndef MH_FUZZ_COMMON_H
#define MH_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant of the code under test: on failure print where and why, then
 * abort so libFuzzer records the input. Never compiled out. */
#define FUZZ_ASSERT(cond, ...)                                              \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: invariant failed: %s: ",    \
				__FILE__, __LINE__, #cond);                 \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
			abort();                                            \
		}                                                           \
	} while (0)

/* Reads the fuzzer's bytes front to back; past the end every read gives
 * zeros and sets eof, so any input is a complete program. */
struct fz_reader {
	const uint8_t *p;
	size_t left;
	bool eof;
};

static inline void fz_init(struct fz_reader *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->eof = n == 0;
}

static inline uint8_t fz_u8(struct fz_reader *r)
{
	uint8_t v;

	if (r->left == 0) {
		r->eof = true;
		return 0;
	}
	v = *r->p++;
	r->left--;
	return v;
}

static inline uint16_t fz_u16(struct fz_reader *r)
{
	uint16_t hi = fz_u8(r);

	return (uint16_t)(hi << 8 | fz_u8(r));
}

static inline uint64_t fz_u64(struct fz_reader *r)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | fz_u8(r);
	return v;
}

/* Up to want bytes in place; *got says how many there were. */
static inline const uint8_t *fz_bytes(struct fz_reader *r, size_t want,
				      size_t *got)
{
	const uint8_t *p = r->p;

	if (want > r->left) {
		want = r->left;
		r->eof = true;
	}
	r->p += want;
	r->left -= want;
	*got = want;
	return p;
}

/* One real captured session (pcaps/NAME.pcap + NAME.key). */
struct fuzz_capture {
	const char *name;
	uint16_t server_port;
	const char *key_b64;
	int family;              /* AF_INET or AF_INET6 */
	uint8_t client_ip[16];   /* network order */
	uint16_t client_port;
};

#endif
