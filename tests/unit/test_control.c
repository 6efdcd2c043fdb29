/*
 * Unit tests for lib/control.c: the exact byte layout, encode -> decode
 * round trips, refusal of every truncation, trailing bytes, bad headers,
 * bad field contents and sizes, and a seeded random-input loop in which
 * decode never crashes and accepts only what re-encodes byte for byte.
 */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

#define KEY "4NeCCgvZFe2RnPgrcU1PQw"

static struct mhc_announce sample_announce(void)
{
	struct mhc_announce a;

	memset(&a, 0, sizeof(a));
	a.port = 60005;
	a.pid = 0x01020304;
	strcpy(a.key, KEY);
	strcpy(a.ssh_connection, "198.18.0.1 50022 198.18.0.2 22");
	return a;
}

static size_t encode_sample(uint8_t *buf)
{
	struct mhc_announce a = sample_announce();
	ssize_t n = mhc_encode_announce(&a, buf, MHC_MAX_MSG);

	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

static void expect_refused(const uint8_t *buf, size_t len, const char *what)
{
	struct mhc_msg m;
	const char *why = NULL;

	memset(&m, 0x5a, sizeof(m));
	ck_assert_msg(mhc_decode(buf, len, &m, &why) == -EPROTO,
		      "%s: accepted (len %zu)", what, len);
	ck_assert_msg(why && *why, "%s: no reason given", what);
	ck_assert_uint_eq(m.type, 0);  /* nothing half-decoded is left behind */
}

START_TEST(test_announce_layout)
{
	uint8_t buf[MHC_MAX_MSG];
	size_t n = encode_sample(buf), slen = strlen("198.18.0.1 50022 198.18.0.2 22");
	size_t body = 2 + 4 + 1 + 22 + 1 + slen;

	ck_assert_uint_eq(n, MHC_HEADER_LEN + body);
	ck_assert_uint_eq(buf[0], MHC_VERSION);
	ck_assert_uint_eq(buf[1], MHC_ANNOUNCE);
	ck_assert_uint_eq(buf[2], body >> 8);
	ck_assert_uint_eq(buf[3], body & 0xff);
	ck_assert_uint_eq(buf[4], 60005 >> 8);     /* port, big endian */
	ck_assert_uint_eq(buf[5], 60005 & 0xff);
	ck_assert_uint_eq(buf[6], 1);              /* pid, big endian */
	ck_assert_uint_eq(buf[7], 2);
	ck_assert_uint_eq(buf[8], 3);
	ck_assert_uint_eq(buf[9], 4);
	ck_assert_uint_eq(buf[10], 22);
	ck_assert_int_eq(memcmp(buf + 11, KEY, 22), 0);
	ck_assert_uint_eq(buf[33], slen);
	ck_assert_int_eq(memcmp(buf + 34, "198.18.0.1 50022 198.18.0.2 22", slen), 0);
}
END_TEST

START_TEST(test_reply_layout)
{
	uint8_t buf[MHC_MAX_MSG];
	ssize_t n = mhc_encode_reply(MHC_ERR_QUOTA, "too many", buf, sizeof(buf));
	const uint8_t want[] = { 1, 2, 0, 10, MHC_ERR_QUOTA, 8,
				 't', 'o', 'o', ' ', 'm', 'a', 'n', 'y' };

	ck_assert_int_eq(n, sizeof(want));
	ck_assert_int_eq(memcmp(buf, want, sizeof(want)), 0);
}
END_TEST

static void round_trip_announce(const struct mhc_announce *a)
{
	uint8_t buf[MHC_MAX_MSG];
	struct mhc_msg m;
	const char *why = "unset";
	ssize_t n = mhc_encode_announce(a, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(mhc_decode(buf, (size_t)n, &m, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(m.type, MHC_ANNOUNCE);
	ck_assert_uint_eq(m.u.announce.port, a->port);
	ck_assert_uint_eq(m.u.announce.pid, a->pid);
	ck_assert_str_eq(m.u.announce.key, a->key);
	ck_assert_str_eq(m.u.announce.ssh_connection, a->ssh_connection);
}

START_TEST(test_announce_round_trip)
{
	struct mhc_announce a = sample_announce();

	round_trip_announce(&a);
	a.port = 0;
	a.pid = 0;
	a.ssh_connection[0] = '\0';
	round_trip_announce(&a);
	a.port = 65535;
	a.pid = 0xffffffffu;
	strcpy(a.key, "+/+/AZaz09+/+/AZaz09+/");
	memset(a.ssh_connection, '~', MHC_SSH_CONN_MAX);
	a.ssh_connection[MHC_SSH_CONN_MAX] = '\0';
	round_trip_announce(&a);
}
END_TEST

START_TEST(test_reply_round_trip)
{
	uint8_t buf[MHC_MAX_MSG];
	char reason[MHC_REASON_MAX + 1];
	struct mhc_msg m;

	memset(reason, ' ', MHC_REASON_MAX);
	reason[MHC_REASON_MAX] = '\0';
	for (uint8_t st = MHC_OK; st <= MHC_ERR_INTERNAL; st++) {
		const char *r = st == MHC_OK ? "" : (st % 2 ? reason : "port 61005 is not in the managed range");
		ssize_t n = mhc_encode_reply(st, r, buf, sizeof(buf));

		ck_assert_int_eq(n, MHC_HEADER_LEN + 2 + (ssize_t)strlen(r));
		ck_assert_int_eq(mhc_decode(buf, (size_t)n, &m, NULL), 0);
		ck_assert_uint_eq(m.type, MHC_REPLY);
		ck_assert_uint_eq(m.u.reply.status, st);
		ck_assert_str_eq(m.u.reply.reason, r);
	}
	ck_assert_int_eq(mhc_encode_reply(MHC_OK, NULL, buf, sizeof(buf)), 6);
	ck_assert_int_eq(mhc_decode(buf, 6, &m, NULL), 0);
	ck_assert_str_eq(m.u.reply.reason, "");
}
END_TEST

START_TEST(test_encode_refuses_bad_fields)
{
	uint8_t buf[MHC_MAX_MSG];
	struct mhc_announce a = sample_announce();
	char reason[MHC_REASON_MAX + 2];

	strcpy(a.key, "4NeCCgvZFe2RnPgrcU1PQ");          /* 21 characters */
	ck_assert_int_eq(mhc_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	memcpy(a.key, "4NeCCgvZFe2RnPgrcU1PQ=", 23);     /* '=' padding char */
	ck_assert_int_eq(mhc_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	memcpy(a.key, "4NeCCgvZFe2RnPgrcU1P-w", 23);     /* url-safe alphabet */
	ck_assert_int_eq(mhc_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	memset(a.key, 'A', sizeof(a.key));               /* no NUL: 23 chars */
	ck_assert_int_eq(mhc_encode_announce(&a, buf, sizeof(buf)), -EINVAL);

	a = sample_announce();
	strcpy(a.ssh_connection, "198.18.0.1 1\n198.18.0.2 22");
	ck_assert_int_eq(mhc_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	memset(a.ssh_connection, 'x', sizeof(a.ssh_connection)); /* 201, no NUL */
	ck_assert_int_eq(mhc_encode_announce(&a, buf, sizeof(buf)), -EINVAL);

	memset(reason, 'r', sizeof(reason));
	reason[MHC_REASON_MAX + 1] = '\0';                /* 201 characters */
	ck_assert_int_eq(mhc_encode_reply(MHC_ERR_PID, reason, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(mhc_encode_reply(MHC_ERR_PID, "tab\there", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(mhc_encode_reply(MHC_ERR_PID, "caf\xc3\xa9", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(mhc_encode_reply(MHC_ERR_INTERNAL + 1, "", buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_encode_small_buffer)
{
	uint8_t buf[MHC_MAX_MSG];
	struct mhc_announce a = sample_announce();
	size_t n = encode_sample(buf);

	for (size_t cap = 0; cap < n; cap++)
		ck_assert_int_eq(mhc_encode_announce(&a, buf, cap), -ENOBUFS);
	ck_assert_int_eq(mhc_encode_announce(&a, buf, n), (ssize_t)n);
	for (size_t cap = 0; cap < 6 + 2; cap++)
		ck_assert_int_eq(mhc_encode_reply(MHC_OK, "ok", buf, cap), -ENOBUFS);
	ck_assert_int_eq(mhc_encode_reply(MHC_OK, "ok", buf, 8), 8);
}
END_TEST

/* Every prefix of a valid message is refused, both as received (header
 * length now wrong) and with the header length patched to match. */
static void all_truncations(const uint8_t *msg, size_t n)
{
	uint8_t buf[MHC_MAX_MSG];

	for (size_t len = 0; len < n; len++) {
		memcpy(buf, msg, len);
		expect_refused(buf, len, "truncated");
		if (len < MHC_HEADER_LEN)
			continue;
		buf[2] = (uint8_t)((len - MHC_HEADER_LEN) >> 8);
		buf[3] = (uint8_t)(len - MHC_HEADER_LEN);
		expect_refused(buf, len, "truncated, header patched");
	}
}

START_TEST(test_truncations)
{
	uint8_t buf[MHC_MAX_MSG];
	size_t n = encode_sample(buf);
	ssize_t r;

	all_truncations(buf, n);
	r = mhc_encode_reply(MHC_ERR_RANGE, "port 61005 is not in the managed range",
			     buf, sizeof(buf));
	ck_assert_int_gt(r, 0);
	all_truncations(buf, (size_t)r);
}
END_TEST

START_TEST(test_trailing_bytes)
{
	uint8_t buf[MHC_MAX_MSG];
	size_t n = encode_sample(buf);
	const char *why;
	struct mhc_msg m;
	ssize_t r;

	buf[n] = 0;
	expect_refused(buf, n + 1, "trailing byte");
	buf[3]++;                                  /* header now claims it */
	expect_refused(buf, n + 1, "trailing byte in body");
	mhc_decode(buf, n + 1, &m, &why);
	ck_assert_str_eq(why, "trailing bytes after the last field");

	r = mhc_encode_reply(MHC_OK, "", buf, sizeof(buf));
	buf[r] = 'x';
	expect_refused(buf, (size_t)r + 1, "reply trailing byte");
	buf[3]++;
	expect_refused(buf, (size_t)r + 1, "reply trailing byte in body");
}
END_TEST

START_TEST(test_bad_header)
{
	uint8_t buf[MHC_MAX_MSG], big[MHC_MAX_MSG + 8];
	size_t n = encode_sample(buf);
	const uint8_t bad_versions[] = { 0, 2, 255 };
	const uint8_t bad_types[] = { 0, 3, 255 };

	for (size_t i = 0; i < sizeof(bad_versions); i++) {
		buf[0] = bad_versions[i];
		expect_refused(buf, n, "version");
	}
	buf[0] = MHC_VERSION;
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		buf[1] = bad_types[i];
		expect_refused(buf, n, "type");
	}
	buf[1] = MHC_ANNOUNCE;
	buf[3]--;
	expect_refused(buf, n, "length one short");
	buf[3] += 2;
	expect_refused(buf, n, "length one long");
	buf[3]--;
	buf[2] = 1;
	expect_refused(buf, n, "length high byte");
	buf[2] = 0;
	ck_assert_int_eq(mhc_decode(buf, n, &(struct mhc_msg){ 0 }, NULL), 0);

	/* longer than MHC_MAX_MSG, even with a consistent header */
	memset(big, 'A', sizeof(big));
	big[0] = MHC_VERSION;
	big[1] = MHC_REPLY;
	big[2] = (MHC_MAX_MSG + 1 - MHC_HEADER_LEN) >> 8;
	big[3] = (uint8_t)(MHC_MAX_MSG + 1 - MHC_HEADER_LEN);
	expect_refused(big, MHC_MAX_MSG + 1, "oversize message");
}
END_TEST

/* Offsets in the sample announce: key at 11..32, ssh length at 33. */
START_TEST(test_bad_fields)
{
	uint8_t buf[MHC_MAX_MSG], orig[MHC_MAX_MSG];
	size_t n = encode_sample(orig);
	const uint8_t bad_key[] = { '=', '-', '_', '.', ' ', 0, 0x80, 0xff };
	const uint8_t bad_ssh[] = { 0, '\n', '\r', 0x1f, 0x7f, 0x80, 0xff };

	for (size_t i = 0; i < sizeof(bad_key); i++) {
		memcpy(buf, orig, n);
		buf[11 + i] = bad_key[i];
		expect_refused(buf, n, "key character");
	}
	for (size_t i = 0; i < sizeof(bad_ssh); i++) {
		memcpy(buf, orig, n);
		buf[34 + i] = bad_ssh[i];
		expect_refused(buf, n, "ssh_connection character");
	}
	/* key length byte other than 22, body consistent */
	memcpy(buf, orig, n);
	buf[10] = 21;
	memmove(buf + 32, buf + 33, n - 33);
	buf[3]--;
	expect_refused(buf, n - 1, "key length 21");
}
END_TEST

static size_t build_announce_raw(uint8_t *buf, uint8_t klen, uint8_t slen)
{
	size_t body = 2 + 4 + 1 + klen + 1 + slen;

	buf[0] = MHC_VERSION;
	buf[1] = MHC_ANNOUNCE;
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	memset(buf + 4, 1, 6);
	buf[10] = klen;
	memset(buf + 11, 'k', klen);
	buf[11 + klen] = slen;
	memset(buf + 12 + klen, 's', slen);
	return MHC_HEADER_LEN + body;
}

START_TEST(test_oversize_fields)
{
	uint8_t buf[MHC_MAX_MSG];
	size_t n;

	n = build_announce_raw(buf, 22, MHC_SSH_CONN_MAX);
	ck_assert_int_eq(mhc_decode(buf, n, &(struct mhc_msg){ 0 }, NULL), 0);
	n = build_announce_raw(buf, 23, 0);
	expect_refused(buf, n, "key 23");
	n = build_announce_raw(buf, 255, 0);
	expect_refused(buf, n, "key 255");
	n = build_announce_raw(buf, 22, MHC_SSH_CONN_MAX + 1);
	expect_refused(buf, n, "ssh_connection 201");
	n = build_announce_raw(buf, 22, 255);
	expect_refused(buf, n, "ssh_connection 255");

	/* reason of 201 and 255 bytes; unknown status */
	for (int rl = MHC_REASON_MAX + 1; rl <= 255; rl += 255 - MHC_REASON_MAX - 1) {
		buf[0] = MHC_VERSION;
		buf[1] = MHC_REPLY;
		buf[2] = 0;
		buf[3] = (uint8_t)(2 + rl);
		buf[4] = MHC_ERR_QUOTA;
		buf[5] = (uint8_t)rl;
		memset(buf + 6, 'r', (size_t)rl);
		expect_refused(buf, 6 + (size_t)rl, "reason oversize");
	}
	ck_assert_int_eq(mhc_encode_reply(MHC_OK, "x", buf, sizeof(buf)), 7);
	buf[4] = MHC_ERR_INTERNAL + 1;
	expect_refused(buf, 7, "unknown status");
	buf[4] = MHC_OK;
	buf[6] = '\n';
	expect_refused(buf, 7, "reason newline");
}
END_TEST

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Anything decode accepts must re-encode to exactly the same bytes. */
static void check_canonical(const uint8_t *buf, size_t len, unsigned *accepted)
{
	uint8_t again[MHC_MAX_MSG];
	struct mhc_msg m;
	const char *why = NULL;
	ssize_t n;

	if (mhc_decode(buf, len, &m, &why) != 0) {
		ck_assert_ptr_nonnull(why);
		return;
	}
	(*accepted)++;
	if (m.type == MHC_ANNOUNCE)
		n = mhc_encode_announce(&m.u.announce, again, sizeof(again));
	else
		n = mhc_encode_reply(m.u.reply.status, m.u.reply.reason, again,
				     sizeof(again));
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_int_eq(memcmp(again, buf, len), 0);
}

START_TEST(test_random_input)
{
	uint8_t valid[MHC_MAX_MSG], buf[MHC_MAX_MSG + 64];
	size_t vn = encode_sample(valid);
	unsigned accepted = 0;

	for (int iter = 0; iter < 200000; iter++) {
		size_t len;

		if (iter % 2) {              /* pure noise, any length */
			len = rng() % sizeof(buf);
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rng();
		} else {                     /* a valid message with a few flips */
			len = vn;
			memcpy(buf, valid, vn);
			for (unsigned k = rng() % 4; k > 0; k--)
				buf[rng() % vn] = (uint8_t)rng();
		}
		check_canonical(buf, len, &accepted);
	}
	/* the mutations must sometimes stay valid (e.g. a changed port), or the
	 * canonical check above never ran */
	ck_assert_uint_gt(accepted, 1000);
}
END_TEST

START_TEST(test_status_names)
{
	ck_assert_str_eq(mhc_status_name(MHC_OK), "MHC_OK");
	ck_assert_str_eq(mhc_status_name(MHC_ERR_RANGE), "MHC_ERR_RANGE");
	ck_assert_str_eq(mhc_status_name(MHC_ERR_INTERNAL), "MHC_ERR_INTERNAL");
	for (unsigned a = MHC_OK; a <= MHC_ERR_INTERNAL; a++) {
		ck_assert_int_eq(strncmp(mhc_status_name((uint8_t)a), "MHC_", 4), 0);
		for (unsigned b = a + 1; b <= MHC_ERR_INTERNAL; b++)
			ck_assert_str_ne(mhc_status_name((uint8_t)a),
					 mhc_status_name((uint8_t)b));
	}
	ck_assert_str_eq(mhc_status_name(MHC_ERR_INTERNAL + 1), "MHC_ERR_UNKNOWN");
	ck_assert_str_eq(mhc_status_name(255), "MHC_ERR_UNKNOWN");
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_announce_layout);
	tcase_add_test(tc, test_reply_layout);
	tcase_add_test(tc, test_announce_round_trip);
	tcase_add_test(tc, test_reply_round_trip);
	tcase_add_test(tc, test_encode_refuses_bad_fields);
	tcase_add_test(tc, test_encode_small_buffer);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_trailing_bytes);
	tcase_add_test(tc, test_bad_header);
	tcase_add_test(tc, test_bad_fields);
	tcase_add_test(tc, test_oversize_fields);
	tcase_add_test(tc, test_random_input);
	tcase_add_test(tc, test_status_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(control_suite());
}
