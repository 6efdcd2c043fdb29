/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/ctlproto.c: the exact byte layout, encode -> decode
 * round trips, refusal of every truncation, trailing bytes, bad headers,
 * bad field contents and sizes, and a seeded random-input loop in which
 * decode never crashes and accepts only what re-encodes byte for byte.
 * The admin messages (list, stats, kill, reload and their replies) get the
 * same, plus the paging boundaries of list and stats replies.
 */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctlproto.h"
#include "verdict.h"
#include <sys/socket.h>

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
	for (uint8_t st = MHC_OK; st <= MHC_STATUS_MAX; st++) {
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
	ck_assert_int_eq(mhc_encode_reply(MHC_STATUS_MAX + 1, "", buf, sizeof(buf)), -EINVAL);
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
	const uint8_t bad_types[] = { 0, 11, 12, 255 };

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
	buf[4] = MHC_STATUS_MAX + 1;
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

/* Any decoded message back into bytes, with the encoder of its type. */
static ssize_t reencode(const struct mhc_msg *m, uint8_t *buf, size_t cap)
{
	switch (m->type) {
	case MHC_ANNOUNCE: return mhc_encode_announce(&m->u.announce, buf, cap);
	case MHC_REPLY: return mhc_encode_reply(m->u.reply.status, m->u.reply.reason, buf, cap);
	case MHC_LIST: return mhc_encode_list_req(m->u.first_port, buf, cap);
	case MHC_STATS: return mhc_encode_stats_req(m->u.first_stat, buf, cap);
	case MHC_KILL: return mhc_encode_kill(m->u.kill_port, buf, cap);
	case MHC_RELOAD: return mhc_encode_reload(buf, cap);
	case MHC_LIST_REPLY: return mhc_encode_list(&m->u.list, buf, cap);
	case MHC_STATS_REPLY: return mhc_encode_stats(&m->u.stats, buf, cap);
	case MHC_STATUS: return mhc_encode_status_req(m->u.first_peer, buf, cap);
	case MHC_STATUS_REPLY: return mhc_encode_status(&m->u.status, buf, cap);
	}
	ck_abort_msg("decoded an unknown type %u", m->type);
	return -1;
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
	n = reencode(&m, again, sizeof(again));
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_int_eq(memcmp(again, buf, len), 0);
}


START_TEST(test_status_names)
{
	ck_assert_str_eq(mhc_status_name(MHC_OK), "MHC_OK");
	ck_assert_str_eq(mhc_status_name(MHC_ERR_RANGE), "MHC_ERR_RANGE");
	ck_assert_str_eq(mhc_status_name(MHC_ERR_INTERNAL), "MHC_ERR_INTERNAL");
	ck_assert_str_eq(mhc_status_name(MHC_ERR_PERM), "MHC_ERR_PERM");
	ck_assert_str_eq(mhc_status_name(MHC_ERR_NOT_FOUND), "MHC_ERR_NOT_FOUND");
	for (unsigned a = MHC_OK; a <= MHC_STATUS_MAX; a++) {
		ck_assert_int_eq(strncmp(mhc_status_name((uint8_t)a), "MHC_", 4), 0);
		ck_assert_str_ne(mhc_status_name((uint8_t)a), "MHC_ERR_UNKNOWN");
		for (unsigned b = a + 1; b <= MHC_STATUS_MAX; b++)
			ck_assert_str_ne(mhc_status_name((uint8_t)a),
					 mhc_status_name((uint8_t)b));
	}
	ck_assert_str_eq(mhc_status_name(MHC_STATUS_MAX + 1), "MHC_ERR_UNKNOWN");
	ck_assert_str_eq(mhc_status_name(255), "MHC_ERR_UNKNOWN");
}
END_TEST

/* ---- admin messages ---------------------------------------------------- */

static struct mhc_msg decoded(const uint8_t *buf, size_t n, uint8_t type)
{
	struct mhc_msg m;
	const char *why = "unset";

	ck_assert_msg(mhc_decode(buf, n, &m, &why) == 0, "refused: %s", why);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(m.type, type);
	return m;
}

START_TEST(test_request_layout_round_trip)
{
	uint8_t buf[MHC_MAX_MSG];
	const uint8_t list[] = { 1, MHC_LIST, 0, 2, 0xea, 0x61 };
	const uint8_t kill[] = { 1, MHC_KILL, 0, 2, 0xff, 0xff };
	const uint8_t stats[] = { 1, MHC_STATS, 0, 1, 7 };
	const uint8_t reload[] = { 1, MHC_RELOAD, 0, 0 };
	const uint16_t ports[] = { 0, 1, 60001, 65535 };

	ck_assert_int_eq(mhc_encode_list_req(60001, buf, sizeof(buf)), sizeof(list));
	ck_assert_int_eq(memcmp(buf, list, sizeof(list)), 0);
	ck_assert_int_eq(mhc_encode_kill(65535, buf, sizeof(buf)), sizeof(kill));
	ck_assert_int_eq(memcmp(buf, kill, sizeof(kill)), 0);
	ck_assert_int_eq(mhc_encode_stats_req(7, buf, sizeof(buf)), sizeof(stats));
	ck_assert_int_eq(memcmp(buf, stats, sizeof(stats)), 0);
	ck_assert_int_eq(mhc_encode_reload(buf, sizeof(buf)), sizeof(reload));
	ck_assert_int_eq(memcmp(buf, reload, sizeof(reload)), 0);
	ck_assert_uint_eq(decoded(reload, sizeof(reload), MHC_RELOAD).type, MHC_RELOAD);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		ssize_t n = mhc_encode_list_req(ports[i], buf, sizeof(buf));

		ck_assert_uint_eq(decoded(buf, (size_t)n, MHC_LIST).u.first_port, ports[i]);
		n = mhc_encode_kill(ports[i], buf, sizeof(buf));
		ck_assert_uint_eq(decoded(buf, (size_t)n, MHC_KILL).u.kill_port, ports[i]);
		n = mhc_encode_stats_req((uint8_t)ports[i], buf, sizeof(buf));
		ck_assert_uint_eq(decoded(buf, (size_t)n, MHC_STATS).u.first_stat,
				  (uint8_t)ports[i]);
	}
	/* too small a buffer */
	ck_assert_int_eq(mhc_encode_list_req(1, buf, 5), -ENOBUFS);
	ck_assert_int_eq(mhc_encode_kill(1, buf, 5), -ENOBUFS);
	ck_assert_int_eq(mhc_encode_stats_req(1, buf, 4), -ENOBUFS);
	ck_assert_int_eq(mhc_encode_reload(buf, 3), -ENOBUFS);
	/* every truncation, every extra byte */
	all_truncations(list, sizeof(list));
	all_truncations(kill, sizeof(kill));
	all_truncations(stats, sizeof(stats));
	all_truncations(reload, sizeof(reload));
	{
		const uint8_t long_list[] = { 1, MHC_LIST, 0, 3, 0xea, 0x61, 0 };
		const uint8_t long_reload[] = { 1, MHC_RELOAD, 0, 1, 0 };
		const uint8_t short_kill[] = { 1, MHC_KILL, 0, 1, 0xea };
		struct mhc_msg m;
		const char *why;

		expect_refused(long_list, sizeof(long_list), "list + 1 byte");
		expect_refused(long_reload, sizeof(long_reload), "reload with a body");
		mhc_decode(long_reload, sizeof(long_reload), &m, &why);
		ck_assert_str_eq(why, "trailing bytes after the last field");
		expect_refused(short_kill, sizeof(short_kill), "kill of 1 byte");
		mhc_decode(short_kill, sizeof(short_kill), &m, &why);
		ck_assert_str_eq(why, "kill request truncated");
	}
}
END_TEST

static struct mhc_session_info sample_session(uint16_t port, size_t slen)
{
	struct mhc_session_info s;

	memset(&s, 0, sizeof(s));
	s.port = port;
	s.uid = 1001;
	s.pid = 0x01020304;
	s.id = 7;
	s.age_ms = 0x0102030405060708ULL;
	s.alive_ago_ms = 1500;
	s.contacted = true;
	memset(s.ssh_client, 'c', slen);
	if (slen >= 10)
		memcpy(s.ssh_client, "198.18.3.", 9);
	return s;
}

static struct mhc_pinhole_info sample_pinhole(int family, unsigned i)
{
	struct mhc_pinhole_info p;

	memset(&p, 0, sizeof(p));
	p.client.family = family;
	p.client.ip[0] = family == AF_INET6 ? 0xfd : 198;
	p.client.ip[3] = (uint8_t)i;
	if (family == AF_INET6)
		p.client.ip[15] = (uint8_t)(i + 1);
	p.client.port = (uint16_t)(41000 + i);
	p.age_ms = 1000u * i;
	return p;
}

static void assert_same_list(const struct mhc_list *a, const struct mhc_list *b)
{
	ck_assert_uint_eq(a->next, b->next);
	ck_assert_uint_eq(a->n_sessions, b->n_sessions);
	ck_assert_uint_eq(a->n_pinholes, b->n_pinholes);
	ck_assert_uint_eq(a->len, b->len);
	for (unsigned i = 0; i < a->n_sessions; i++) {
		const struct mhc_session_info *x = &a->s[i], *y = &b->s[i];

		ck_assert_uint_eq(x->port, y->port);
		ck_assert_uint_eq(x->uid, y->uid);
		ck_assert_uint_eq(x->pid, y->pid);
		ck_assert_uint_eq(x->id, y->id);
		ck_assert(x->age_ms == y->age_ms && x->alive_ago_ms == y->alive_ago_ms);
		ck_assert_int_eq(x->contacted, y->contacted);
		ck_assert_str_eq(x->ssh_client, y->ssh_client);
		ck_assert_uint_eq(x->n_pinholes, y->n_pinholes);
		ck_assert_uint_eq(x->first_pinhole, y->first_pinhole);
	}
	for (unsigned i = 0; i < a->n_pinholes; i++) {
		ck_assert_int_eq(mh_addr_equal(&a->ph[i].client, &b->ph[i].client), 1);
		ck_assert(a->ph[i].age_ms == b->ph[i].age_ms);
	}
}

static ssize_t list_round_trip(const struct mhc_list *l, uint8_t *buf)
{
	struct mhc_msg m;
	ssize_t n = mhc_encode_list(l, buf, MHC_MAX_MSG);

	ck_assert_int_eq(n, (ssize_t)l->len);
	m = decoded(buf, (size_t)n, MHC_LIST_REPLY);
	assert_same_list(l, &m.u.list);
	ck_assert_int_eq(mhc_encode_list(l, buf, (size_t)n - 1), -ENOBUFS);
	return n;
}

START_TEST(test_list_round_trip)
{
	static struct mhc_list l;
	struct mhc_pinhole_info ph[MHC_PINHOLES_MAX];
	struct mhc_session_info s;
	uint8_t buf[MHC_MAX_MSG];
	ssize_t n;

	mhc_list_init(&l);                       /* empty: next 0, no sessions */
	n = list_round_trip(&l, buf);
	ck_assert_int_eq(n, MHC_HEADER_LEN + MHC_LIST_HEAD_LEN);
	ck_assert_int_eq(memcmp(buf, (const uint8_t[]){ 1, MHC_LIST_REPLY, 0, 3, 0, 0, 0 }, 7), 0);

	s = sample_session(60001, 0);
	s.contacted = false;
	ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), 0);
	ph[0] = sample_pinhole(AF_INET, 1);
	ph[1] = sample_pinhole(AF_INET6, 2);
	s = sample_session(60002, 20);
	ck_assert_int_eq(mhc_list_add(&l, &s, ph, 2), 0);
	l.next = 60003;
	n = list_round_trip(&l, buf);
	/* 3 + 33 + (33 + 20 + 15 + 27) */
	ck_assert_int_eq(n, MHC_HEADER_LEN + 3 + 33 + 33 + 20 + 15 + 27);
	ck_assert_uint_eq(buf[4], 60003 >> 8);
	ck_assert_uint_eq(buf[6], 2);            /* two sessions */
	ck_assert_uint_eq(buf[7], 60001 >> 8);   /* the first one's port */
	ck_assert_uint_eq(buf[8], 60001 & 0xff);
	ck_assert_uint_eq(buf[7 + 30], 0);       /* flags: not contacted */
	all_truncations(buf, (size_t)n);
}
END_TEST

/* The largest session (longest ssh client, every pinhole IPv6) fits alone,
 * and a reply holding it still takes more until the message is full. */
START_TEST(test_list_full_session_fits)
{
	static struct mhc_list l;
	struct mhc_pinhole_info ph[MHC_PINHOLES_MAX];
	struct mhc_session_info s = sample_session(60010, MHC_SSH_CLIENT_MAX);
	uint8_t buf[MHC_MAX_MSG];
	unsigned port = 60011;
	int err;

	for (unsigned i = 0; i < MHC_PINHOLES_MAX; i++)
		ph[i] = sample_pinhole(AF_INET6, i);
	mhc_list_init(&l);
	ck_assert_int_eq(mhc_list_add(&l, &s, ph, MHC_PINHOLES_MAX), 0);
	ck_assert_uint_eq(l.len, MHC_HEADER_LEN + 3 + 33 + MHC_SSH_CLIENT_MAX +
			  MHC_PINHOLES_MAX * 27);
	ck_assert_int_eq(mhc_list_add(&l, &s, ph, MHC_PINHOLES_MAX + 1), -EINVAL);
	while ((err = mhc_list_add(&l, &(struct mhc_session_info){ .port = (uint16_t)port },
				   NULL, 0)) == 0)
		port++;
	ck_assert_int_eq(err, -ENOBUFS);
	ck_assert_uint_le(l.len, MHC_MAX_MSG);
	ck_assert_uint_gt(l.len + 33, MHC_MAX_MSG);  /* truly full */
	ck_assert_uint_eq(l.n_sessions, 1 + (MHC_MAX_MSG - 517) / 33);
	list_round_trip(&l, buf);
}
END_TEST

/* Exactly MHC_MAX_MSG bytes is accepted, one byte more is the next page. */
START_TEST(test_list_paging_boundary)
{
	static struct mhc_list l;
	struct mhc_pinhole_info ph[2] = { sample_pinhole(AF_INET, 1),
					  sample_pinhole(AF_INET, 2) };
	struct mhc_session_info s;
	uint8_t buf[MHC_MAX_MSG];
	size_t before;
	unsigned i;

	for (int extra = 0; extra <= 1; extra++) {
		mhc_list_init(&l);
		for (i = 0; i < 12; i++) {       /* 12 x 78 bytes */
			s = sample_session((uint16_t)(60000 + i), MHC_SSH_CLIENT_MAX);
			ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), 0);
		}
		ck_assert_uint_eq(l.len, 7 + 12 * 78);
		s = sample_session(60100, (size_t)(18 + extra)); /* 33 + 18 + 30 = 81 */
		before = l.len;
		if (!extra) {
			ck_assert_int_eq(mhc_list_add(&l, &s, ph, 2), 0);
			ck_assert_uint_eq(l.len, MHC_MAX_MSG);
			ck_assert_int_eq(list_round_trip(&l, buf), MHC_MAX_MSG);
			s = sample_session(60101, 0);
			ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), -ENOBUFS);
		} else {
			ck_assert_int_eq(mhc_list_add(&l, &s, ph, 2), -ENOBUFS);
			ck_assert_uint_eq(l.len, before);   /* nothing added */
			ck_assert_uint_eq(l.n_sessions, 12);
			ck_assert_uint_eq(l.n_pinholes, 0);
		}
	}
}
END_TEST

START_TEST(test_list_add_refuses)
{
	static struct mhc_list l;
	struct mhc_pinhole_info ph = sample_pinhole(AF_INET, 1);
	struct mhc_session_info s = sample_session(60005, 10);
	size_t len;

	mhc_list_init(&l);
	ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), 0);
	len = l.len;
	ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), -EINVAL);      /* same port */
	s.port = 60004;
	ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), -EINVAL);      /* descending */
	s.port = 60006;
	s.ssh_client[3] = '\n';
	ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), -EINVAL);      /* not printable */
	s = sample_session(60006, 10);
	memset(s.ssh_client, 'x', sizeof(s.ssh_client));               /* no NUL: 46 */
	ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), -EINVAL);
	s = sample_session(60006, 10);
	ph.client.family = 0;
	ck_assert_int_eq(mhc_list_add(&l, &s, &ph, 1), -EINVAL);      /* no family */
	ck_assert_uint_eq(l.len, len);
	ck_assert_uint_eq(l.n_sessions, 1);
	ck_assert_uint_eq(l.n_pinholes, 0);
}
END_TEST

/* Offsets in a list reply of one session (ssh client "ab") with one IPv4
 * pinhole: count 6, session 7.., flags 37, ssh len 38, n_pinholes 41,
 * family 42. */
START_TEST(test_list_bad_fields)
{
	static struct mhc_list l;
	struct mhc_pinhole_info ph = sample_pinhole(AF_INET, 1);
	struct mhc_session_info s = sample_session(60001, 0);
	uint8_t orig[MHC_MAX_MSG], buf[MHC_MAX_MSG + 64];
	struct mhc_msg m;
	const char *why;
	size_t n;

	strcpy(s.ssh_client, "ab");
	mhc_list_init(&l);
	ck_assert_int_eq(mhc_list_add(&l, &s, &ph, 1), 0);
	n = (size_t)mhc_encode_list(&l, orig, sizeof(orig));
	ck_assert_uint_eq(n, 7 + 33 + 2 + 15);
	ck_assert_uint_eq(orig[41], 1);
	ck_assert_uint_eq(orig[42], 4);
#define BAD(off, val, what) do { memcpy(buf, orig, n); buf[off] = (val); \
		expect_refused(buf, n, what); } while (0)
	BAD(37, 2, "unknown flag");
	BAD(37, 0x81, "unknown flag with contacted");
	BAD(39, '\t', "ssh client not printable");
	BAD(42, 5, "family 5");
	BAD(42, 0, "family 0");
	BAD(41, MHC_PINHOLES_MAX + 1, "17 pinholes");
	BAD(41, 0, "pinhole count short: trailing bytes");
	BAD(6, MHC_LIST_SESSIONS + 1, "33 sessions");
	BAD(6, 2, "a second session missing");
	BAD(6, 0, "no session but a record follows");
#undef BAD
	memcpy(buf, orig, n);
	buf[38] = MHC_SSH_CLIENT_MAX + 1;
	expect_refused(buf, n, "ssh client length 46");
	/* family 6 with only 4 address bytes behind it */
	memcpy(buf, orig, n);
	buf[42] = 6;
	mhc_decode(buf, n, &m, &why);
	ck_assert_str_eq(why, "pinhole record truncated");
	/* two sessions with the same port: not ascending */
	mhc_list_init(&l);
	s.port = 60001;
	ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), 0);
	s.port = 60002;
	ck_assert_int_eq(mhc_list_add(&l, &s, NULL, 0), 0);
	n = (size_t)mhc_encode_list(&l, buf, sizeof(buf));
	buf[7 + 35 + 1] = 60001 & 0xff;          /* second session's port low byte */
	ck_assert_uint_eq(buf[7 + 35], 60001 >> 8);
	expect_refused(buf, n, "ports not ascending");
	mhc_decode(buf, n, &m, &why);
	ck_assert_str_eq(why, "session ports not in ascending order");
}
END_TEST

static size_t stats_msg(uint8_t *buf, uint8_t next, const char *text)
{
	size_t body = 1 + strlen(text);

	buf[0] = MHC_VERSION;
	buf[1] = MHC_STATS_REPLY;
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	buf[4] = next;
	memcpy(buf + 5, text, strlen(text));
	return MHC_HEADER_LEN + body;
}

START_TEST(test_stats_round_trip)
{
	struct mhc_stats st;
	uint8_t buf[MHC_MAX_MSG], want[MHC_MAX_MSG];
	struct mhc_msg m;
	ssize_t n;
	size_t wn;

	mhc_stats_init(&st);
	ck_assert_int_eq(mhc_stats_add(&st, "sessions", 2), 0);
	ck_assert_int_eq(mhc_stats_add(&st, "drop_forged", 0), 0);
	ck_assert_int_eq(mhc_stats_add(&st, "pinholes_opened", UINT64_MAX), 0);
	st.next = 3;
	n = mhc_encode_stats(&st, buf, sizeof(buf));
	wn = stats_msg(want, 3, "sessions 2\ndrop_forged 0\npinholes_opened 18446744073709551615\n");
	ck_assert_int_eq(n, (ssize_t)wn);
	ck_assert_int_eq(memcmp(buf, want, wn), 0);
	m = decoded(buf, (size_t)n, MHC_STATS_REPLY);
	ck_assert_uint_eq(m.u.stats.next, 3);
	ck_assert_uint_eq(m.u.stats.n, 3);
	ck_assert_uint_eq(m.u.stats.len, (size_t)n);
	ck_assert_str_eq(m.u.stats.st[2].name, "pinholes_opened");
	ck_assert(m.u.stats.st[2].value == UINT64_MAX);
	ck_assert(m.u.stats.st[1].value == 0);
	ck_assert_int_eq(mhc_encode_stats(&st, buf, (size_t)n - 1), -ENOBUFS);
	/* a prefix is refused, except one that ends at a line boundary (with
	 * the header patched, that is a shorter, valid reply) */
	for (size_t len = 0; len < wn; len++) {
		memcpy(buf, want, len);
		expect_refused(buf, len, "stats truncated");
		if (len < MHC_HEADER_LEN)
			continue;
		buf[2] = (uint8_t)((len - MHC_HEADER_LEN) >> 8);
		buf[3] = (uint8_t)(len - MHC_HEADER_LEN);
		if (len == 5 || want[len - 1] == '\n')
			ck_assert_int_eq(mhc_decode(buf, len, &m, NULL), 0);
		else
			expect_refused(buf, len, "stats truncated, header patched");
	}
	/* names the builder refuses */
	ck_assert_int_eq(mhc_stats_add(&st, "", 1), -EINVAL);
	ck_assert_int_eq(mhc_stats_add(&st, "Sessions", 1), -EINVAL);
	ck_assert_int_eq(mhc_stats_add(&st, "a b", 1), -EINVAL);
	ck_assert_int_eq(mhc_stats_add(&st, "0123456789012345678901234567890123456789x", 1),
			 -EINVAL);
	ck_assert_int_eq(mhc_stats_add(&st, "0123456789012345678901234567890123456789", 1), 0);
	/* an empty reply */
	mhc_stats_init(&st);
	n = mhc_encode_stats(&st, buf, sizeof(buf));
	ck_assert_int_eq(n, 5);
	ck_assert_uint_eq(decoded(buf, 5, MHC_STATS_REPLY).u.stats.n, 0);
}
END_TEST

START_TEST(test_stats_bad_text)
{
	static const char *const bad[] = {
		"a 01\n", "a 00\n", "a 18446744073709551616\n", "a 99999999999999999999\n",
		"a 123456789012345678901\n", "A 1\n", "a-b 1\n", "a 1", "a \n", " 1\n",
		"a  1\n", "a 1 \n", "a -1\n", "a +1\n", "a 1\nb", "a\n", "\n",
		"a 1\r\n", "0123456789012345678901234567890123456789x 1\n",
	};
	uint8_t buf[MHC_MAX_MSG + 64];
	char many[MHC_MAX_MSG];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = stats_msg(buf, 0, bad[i]);
		expect_refused(buf, n, bad[i]);
	}
	n = stats_msg(buf, 0, "a 0\nb 18446744073709551615\n");
	ck_assert_uint_eq(decoded(buf, n, MHC_STATS_REPLY).u.stats.n, 2);
	/* MHC_STATS_MAX counters fit; one more is refused */
	many[0] = '\0';
	for (int i = 0; i < MHC_STATS_MAX; i++)
		strcat(many, "a 0\n");
	n = stats_msg(buf, 0, many);
	ck_assert_uint_eq(decoded(buf, n, MHC_STATS_REPLY).u.stats.n, MHC_STATS_MAX);
	strcat(many, "a 0\n");
	n = stats_msg(buf, 0, many);
	expect_refused(buf, n, "too many counters");
}
END_TEST

/* Paging: counters are added until the message is full; the daemon's own
 * counter set (8 totals + one per verdict reason) fits in one reply even
 * with every value at its maximum. */
START_TEST(test_stats_paging)
{
	struct mhc_stats st;
	uint8_t buf[MHC_MAX_MSG];
	char name[MHC_STAT_NAME_MAX + 1];
	unsigned i;
	int err;

	mhc_stats_init(&st);
	memset(name, 'n', MHC_STAT_NAME_MAX);
	name[MHC_STAT_NAME_MAX] = '\0';
	for (i = 0; (err = mhc_stats_add(&st, name, UINT64_MAX)) == 0; i++)
		;
	ck_assert_int_eq(err, -ENOBUFS);
	ck_assert_uint_eq(i, (MHC_MAX_MSG - 5) / (40 + 1 + 20 + 1));   /* 16 lines */
	ck_assert_uint_le(st.len, MHC_MAX_MSG);
	ck_assert_uint_gt(st.len + 62, MHC_MAX_MSG);
	ck_assert_int_eq(mhc_encode_stats(&st, buf, sizeof(buf)), (ssize_t)st.len);
	/* the names mosh-helperd sends (nfq-helper/intake/admin.c), longest values */
	mhc_stats_init(&st);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(mhc_stats_add(&st, "announce_accepted", UINT64_MAX), 0);
	for (i = 0; i < MH_R_COUNT; i++) {
		snprintf(name, sizeof(name), "%s_%s", i < MH_R_FIRST_DROP ? "accept" : "drop",
			 mh_reason_name(i));
		ck_assert_int_eq(mhc_stats_add(&st, name, UINT64_MAX), 0);
	}
	ck_assert_int_gt(mhc_encode_stats(&st, buf, sizeof(buf)), 0);
}
END_TEST

/* ---- status (lib/ctlstatus.c) ------------------------------------------ */

static struct mhc_peer_info sample_peer(unsigned i, bool up)
{
	struct mhc_peer_info p = { .state = up ? MHC_PEER_UP : MHC_PEER_DOWN,
				   .since_ago_ms = 1000u * i + 7,
				   .beat_ago_ms = up ? 300 : MHC_NEVER,
				   .sessions = i, .conn = up ? i + 1 : 0 };

	snprintf(p.name, sizeof(p.name), "login%u", i);
	snprintf(p.subject, sizeof(p.subject), "/CN=login%u.example", i);
	if (!up)
		snprintf(p.why, sizeof(p.why), "gateway closed the connection");
	return p;
}

START_TEST(test_status_round_trip)
{
	static struct mhc_status_reply st;
	static struct mhc_msg m;
	uint8_t buf[MHC_MAX_MSG];
	struct mhc_peer_info a = sample_peer(1, true), b = sample_peer(2, false);
	ssize_t n;

	n = mhc_encode_status_req(513, buf, sizeof(buf));
	ck_assert_int_eq(n, 6);
	ck_assert_int_eq(buf[1], MHC_STATUS);
	ck_assert_int_eq(mhc_decode(buf, 6, &m, NULL), 0);
	ck_assert_uint_eq(m.u.first_peer, 513);
	mhc_status_init(&st, MH_ROLE_GATEWAY);
	ck_assert_int_eq(mhc_status_add(&st, &a), 0);
	ck_assert_int_eq(mhc_status_add(&st, &b), 0);
	st.next = 2;
	n = mhc_encode_status(&st, buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)st.len);
	ck_assert_int_eq(mhc_encode_status(&st, buf, (size_t)n - 1), -ENOBUFS);
	ck_assert_int_eq(mhc_decode(buf, (size_t)n, &m, NULL), 0);
	ck_assert_int_eq(m.type, MHC_STATUS_REPLY);
	ck_assert_uint_eq(m.u.status.role, MH_ROLE_GATEWAY);
	ck_assert_str_eq(mhc_role_name(m.u.status.role), "gateway");
	ck_assert_uint_eq(m.u.status.next, 2);
	ck_assert_uint_eq(m.u.status.n, 2);
	ck_assert_uint_eq(m.u.status.p[0].state, MHC_PEER_UP);
	ck_assert_uint_eq(m.u.status.p[0].conn, 2);
	ck_assert_uint_eq(m.u.status.p[1].beat_ago_ms, MHC_NEVER);
	ck_assert_uint_eq(m.u.status.p[1].since_ago_ms, 2007);
	ck_assert_str_eq(m.u.status.p[1].subject, "/CN=login2.example");
	ck_assert_str_eq(m.u.status.p[1].why, "gateway closed the connection");
	check_canonical(buf, (size_t)n, &(unsigned){ 0 });
	buf[3]--;   /* one byte short of what the header says */
	expect_refused(buf, (size_t)n - 1, "status reply truncated");
}
END_TEST

START_TEST(test_status_refuses)
{
	static struct mhc_status_reply st;
	uint8_t buf[MHC_MAX_MSG];
	struct mhc_peer_info p = sample_peer(3, true);
	unsigned added = 0;
	ssize_t n;

	mhc_status_init(&st, MH_ROLE_RELAY);
	p.name[5] = '\n';
	ck_assert_int_eq(mhc_status_add(&st, &p), -EINVAL);
	p = sample_peer(3, true);
	p.state = 2;
	ck_assert_int_eq(mhc_status_add(&st, &p), -EINVAL);
	p = sample_peer(3, true);
	memset(p.subject, 'S', sizeof(p.subject));   /* no NUL: too long */
	ck_assert_int_eq(mhc_status_add(&st, &p), -EINVAL);
	ck_assert_uint_eq(st.n, 0);
	/* the longest peers: two fit a message, the third waits for a page */
	memset(p.subject, 'S', MHC_PEER_SUBJ_MAX);
	p.subject[MHC_PEER_SUBJ_MAX] = '\0';
	memset(p.why, 'W', MHC_PEER_WHY_MAX);
	memset(p.name, 'N', MHC_PEER_NAME_MAX);
	while (mhc_status_add(&st, &p) == 0)
		added++;
	ck_assert_uint_eq(added, 2);
	ck_assert_int_eq(mhc_status_add(&st, &p), -ENOBUFS);
	n = mhc_encode_status(&st, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, MHC_MAX_MSG);
	/* a role or state the decoder does not know */
	buf[MHC_HEADER_LEN] = 3;
	expect_refused(buf, (size_t)n, "unknown role");
	buf[MHC_HEADER_LEN] = MH_ROLE_RELAY;
	buf[MHC_HEADER_LEN + 4] = 2;
	expect_refused(buf, (size_t)n, "unknown peer state");
	buf[MHC_HEADER_LEN + 4] = MHC_PEER_UP;
	buf[MHC_HEADER_LEN + 3] = MHC_STATUS_PEERS + 1;
	expect_refused(buf, (size_t)n, "peer count");
}
END_TEST

START_TEST(test_random_input)
{
	static uint8_t bases[4][MHC_MAX_MSG];
	static struct mhc_list l;
	uint8_t buf[MHC_MAX_MSG + 64], *valid;
	struct mhc_pinhole_info ph[2] = { sample_pinhole(AF_INET, 1),
					  sample_pinhole(AF_INET6, 2) };
	struct mhc_session_info si = sample_session(60001, 12);
	struct mhc_stats st;
	size_t bn[4], vn;
	unsigned accepted = 0, by_type[16] = { 0 };

	bn[0] = encode_sample(bases[0]);
	mhc_list_init(&l);
	ck_assert_int_eq(mhc_list_add(&l, &si, ph, 2), 0);
	si.port = 60002;
	ck_assert_int_eq(mhc_list_add(&l, &si, ph, 1), 0);
	bn[1] = (size_t)mhc_encode_list(&l, bases[1], MHC_MAX_MSG);
	mhc_stats_init(&st);
	ck_assert_int_eq(mhc_stats_add(&st, "sessions", 12), 0);
	ck_assert_int_eq(mhc_stats_add(&st, "drop_forged", 3), 0);
	bn[2] = (size_t)mhc_encode_stats(&st, bases[2], MHC_MAX_MSG);
	bn[3] = (size_t)mhc_encode_kill(60001, bases[3], MHC_MAX_MSG);

	for (int iter = 0; iter < 200000; iter++) {
		size_t len;
		struct mhc_msg m;

		valid = bases[(iter / 2) % 4];
		vn = bn[(iter / 2) % 4];

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
		if (mhc_decode(buf, len, &m, NULL) == 0 && m.type < 16)
			by_type[m.type]++;
	}
	/* mutations of each kind of base stayed valid now and then */
	ck_assert_uint_gt(by_type[MHC_ANNOUNCE], 100);
	ck_assert_uint_gt(by_type[MHC_LIST_REPLY], 100);
	ck_assert_uint_gt(by_type[MHC_STATS_REPLY], 100);
	ck_assert_uint_gt(by_type[MHC_KILL], 100);
	/* the mutations must sometimes stay valid (e.g. a changed port), or the
	 * canonical check above never ran */
	ck_assert_uint_gt(accepted, 1000);
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
	tcase_add_test(tc, test_request_layout_round_trip);
	tcase_add_test(tc, test_list_round_trip);
	tcase_add_test(tc, test_list_full_session_fits);
	tcase_add_test(tc, test_list_paging_boundary);
	tcase_add_test(tc, test_list_add_refuses);
	tcase_add_test(tc, test_list_bad_fields);
	tcase_add_test(tc, test_stats_round_trip);
	tcase_add_test(tc, test_stats_bad_text);
	tcase_add_test(tc, test_stats_paging);
	tcase_add_test(tc, test_status_round_trip);
	tcase_add_test(tc, test_status_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(control_suite());
}
