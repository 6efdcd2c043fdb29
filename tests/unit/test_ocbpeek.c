/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the unauthenticated first-block decryption used by
 * single-port trial authentication: the AES-NI path (lib/ocbpeek.c) and
 * the OpenSSL path (ssp_peek) must both give exactly the first 16 bytes of
 * the plaintext, for random keys, sequence numbers, both directions and
 * every length; and the plausibility test must pass real plaintext and
 * (almost) never noise.
 */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ssp.h"
#include "ssp_test.h"

static void rnd(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)random();
}

START_TEST(both_paths_give_the_plaintext)
{
	uint8_t key[SSP_KEY_LEN], plain[1400], dg[1500], a[16], b[16];
	struct ssp_fastpeek fp;
	int i;

	srandom(7);
	for (i = 0; i < 3000; i++) {
		size_t len = 16 + (size_t)(random() % 1300);
		uint64_t seq = ((uint64_t)random() << 32 | (uint64_t)random()) & SSP_SEQ_MASK;
		enum ssp_direction dir = (i & 1) ? SSP_TO_CLIENT : SSP_TO_SERVER;
		struct ssp_ctx *c;
		long n;

		rnd(key, sizeof(key));
		rnd(plain, len);
		if (i % 3 == 0)
			seq = (uint64_t)i;           /* small ones too, as in mosh */
		c = ssp_ctx_new(key);
		n = ssp_seal(c, dir, seq, plain, len, dg, sizeof(dg));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(ssp_peek(c, dg, (size_t)n, a), 0);
		ck_assert_msg(!memcmp(a, plain, 16), "openssl path, case %d", i);
		if (ssp_fastpeek_init(&fp, key) == 0) {
			ck_assert_int_eq(ssp_fastpeek(&fp, dg, (size_t)n, b), 0);
			ck_assert_msg(!memcmp(b, plain, 16), "AES-NI path, case %d", i);
			ssp_fastpeek_wipe(&fp);
		}
		/* a full verify on the same context is not disturbed */
		ck_assert_int_eq(ssp_verify(c, dg, (size_t)n, NULL), 0);
		ssp_ctx_free(c);
	}
}
END_TEST

/* Every value of the nonce's low six bits (OCB's "bottom": the shift of
 * Offset_0) in both directions, through the context's own schedule
 * (ssp_ctx_fastpeek, what single-port mode uses) and through OpenSSL. */
START_TEST(every_bottom_both_directions)
{
	uint8_t key[SSP_KEY_LEN], plain[64], dg[128], a[16];
	struct ssp_ctx *c;
	unsigned seq, dir;

	srandom(9);
	rnd(key, sizeof(key));
	c = ssp_ctx_new(key);
	for (dir = 0; dir < 2; dir++)
		for (seq = 0; seq < 192; seq++) {
			size_t len = 16 + seq % 48;
			const struct ssp_fastpeek *fp = ssp_ctx_fastpeek(c);
			long n;

			rnd(plain, len);
			n = ssp_seal(c, dir ? SSP_TO_CLIENT : SSP_TO_SERVER,
				     seq + ((uint64_t)seq << 40), plain, len, dg, sizeof(dg));
			ck_assert_int_gt(n, 0);
			ck_assert_int_eq(ssp_peek(c, dg, (size_t)n, a), 0);
			ck_assert_msg(!memcmp(a, plain, 16), "openssl, seq %u dir %u", seq, dir);
			if (fp) {
				ck_assert_int_eq(ssp_fastpeek(fp, dg, (size_t)n, a), 0);
				ck_assert_msg(!memcmp(a, plain, 16), "AES-NI, seq %u dir %u",
					      seq, dir);
			}
		}
	ssp_ctx_free(c);
}
END_TEST

/* Several schedules at once (interleaved): each first block equals the
 * one-by-one result, for 1 to 16 schedules (batches of four and a padded
 * rest), and only the right key's is the plaintext. */
START_TEST(many_keys_at_once)
{
	uint8_t keys[16][SSP_KEY_LEN], plain[200], dg[300], one[16];
	uint8_t many[16][16];
	struct ssp_fastpeek fps[16];
	const struct ssp_fastpeek *fp[16];
	unsigned n, i, round;

	srandom(11);
	for (i = 0; i < 16; i++) {
		rnd(keys[i], SSP_KEY_LEN);
		if (ssp_fastpeek_init(&fps[i], keys[i]) < 0)
			return;   /* no AES-NI: nothing to compare */
		fp[i] = &fps[i];
	}
	for (round = 0; round < 200; round++) {
		unsigned right = round % 16;
		struct ssp_ctx *c = ssp_ctx_new(keys[right]);
		long len;

		rnd(plain, sizeof(plain));
		len = ssp_seal(c, SSP_TO_SERVER, round * 977u, plain, 40 + round % 150, dg, sizeof(dg));
		ck_assert_int_gt(len, 0);
		for (n = 1; n <= 16; n++) {
			ck_assert_int_eq(ssp_fastpeek_many(fp, n, dg, (size_t)len, many), 0);
			for (i = 0; i < n; i++) {
				ck_assert_int_eq(ssp_fastpeek(fp[i], dg, (size_t)len, one), 0);
				ck_assert_mem_eq(many[i], one, 16);
				if (i == right)
					ck_assert_mem_eq(many[i], plain, 16);
			}
		}
		ssp_ctx_free(c);
	}
	ck_assert_int_eq(ssp_fastpeek_many(fp, 2, dg, 39, many), -EINVAL);
	for (i = 0; i < 16; i++)
		ssp_fastpeek_wipe(&fps[i]);
}
END_TEST

START_TEST(short_ciphertext_refused)
{
	uint8_t key[SSP_KEY_LEN] = { 1 }, plain[15] = { 0 }, dg[64], out[16];
	struct ssp_fastpeek fp;
	struct ssp_ctx *c = ssp_ctx_new(key);
	long n = ssp_seal(c, SSP_TO_SERVER, 1, plain, sizeof(plain), dg, sizeof(dg));

	ck_assert_int_eq(ssp_peek(c, dg, (size_t)n, out), -EINVAL);
	if (ssp_fastpeek_init(&fp, key) == 0)
		ck_assert_int_eq(ssp_fastpeek(&fp, dg, (size_t)n, out), -EINVAL);
	ssp_ctx_free(c);
	memset(&fp, 0, sizeof(fp));
	ck_assert_int_eq(ssp_fastpeek(&fp, dg, (size_t)n, out), -ENOTSUP);
}
END_TEST

START_TEST(plausible_start)
{
	/* timestamps, instruction id 123456, fragment 0 final, zlib header */
	const uint8_t real[16] = { 0x4a, 0x38, 0x4a, 0x37, 0, 0, 0, 0, 0, 1, 0xe2, 0x40,
				   0x80, 0x00, 0x78, 0x9c };
	uint8_t noise[16];
	int i, passed = 0;

	ck_assert(ssp_plausible_start(real));
	srandom(11);
	for (i = 0; i < 200000; i++) {
		rnd(noise, sizeof(noise));
		passed += ssp_plausible_start(noise);
	}
	ck_assert_int_le(passed, 2);   /* expected 200000 * 2^-35 */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ocbpeek");
	TCase *tc = tcase_create("first block");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, both_paths_give_the_plaintext);
	tcase_add_test(tc, every_bottom_both_directions);
	tcase_add_test(tc, short_ciphertext_refused);
	tcase_add_test(tc, many_keys_at_once);
	tcase_add_test(tc, plausible_start);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
