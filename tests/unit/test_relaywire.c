/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/relaywire.c (the relay <-> gateway frames): a table of
 * good frames written out byte by byte (decoded fields checked, re-encoded
 * to the same bytes), a table of bad frames each with the error code it
 * must get, every truncation of every good frame, stream framing fed one
 * byte at a time, encoder refusals and buffer sizes, and a seeded random
 * loop in which decode never crashes and accepts only canonical frames.
 */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "relaywire.h"

/* Hex text (spaces ignored) into buf; returns the byte count. */
static size_t unhex(const char *hex, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		ck_assert_msg(sscanf(hex, "%2x", &v) == 1, "bad hex at %s", hex);
		ck_assert_uint_lt(n, cap);
		buf[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

#define KEY16 "000102030405060708090a0b0c0d0e0f"

static const struct good {
	const char *name;
	const char *hex;
	uint8_t type;
	uint32_t id;
} goods[] = {
	{ "hello", "01 01 0017 00000001  0102030405060708 00000bb8 "
		   "06 72656c617931  03 312e30", MHR_HELLO, 1 },
	{ "hello, no software, longest heartbeat",
	  "01 01 0013 00000009  0000000000000000 0000ea60 05 612d622e43 00",
	  MHR_HELLO, 9 },
	{ "open v4, v4 hint", "01 02 0025 00000002  00000007 00 000003e8 "
			     "04 c6120102 ea61  04 c6120001 " KEY16, MHR_OPEN, 2 },
	{ "open v6, resync, no hint", "01 02 002d fffffffe  00000008 01 00000000 "
	  "06 fd000000000000000000000000000002 ea62  00 " KEY16, MHR_OPEN, 0xfffffffe },
	{ "open v4, v6 hint", "01 02 0031 00000003  ffffffff 00 ffffffff "
	  "04 c6120102 0001  06 fd000000000000000000000000000001 " KEY16,
	  MHR_OPEN, 3 },
	{ "end", "01 03 000c 00000004  00000007 04 c6120102 ea61 01", MHR_END, 4 },
	{ "end v6 withdrawn", "01 03 0018 00000005  00000008 "
	  "06 fd000000000000000000000000000002 ea62 05", MHR_END, 5 },
	{ "resync begin", "01 04 0004 00000006  00000002", MHR_RESYNC_BEGIN, 6 },
	{ "resync end", "01 05 0004 00000007  00000000", MHR_RESYNC_END, 7 },
	{ "heartbeat", "01 06 0008 00000008  0000018c2d3e4f50", MHR_HEARTBEAT, 8 },
	{ "answer", "01 07 0005 00000002  02 03 02 6e6f", MHR_ANSWER, 2 },
	{ "answer to unreadable", "01 07 0003 00000000  00 01 00", MHR_ANSWER, 0 },
	{ "open keyless (no key field)", "01 02 0015 0000000a  00000007 02 000003e8 "
	  "04 c6120102 ea61  04 c6120001", MHR_OPEN, 10 },
	{ "open keyless resync, no hint", "01 02 0011 0000000b  00000007 03 000003e8 "
	  "04 c6120102 ea61  00", MHR_OPEN, 11 },
};

static const struct bad {
	const char *name;
	const char *hex;
	enum mhr_err code;
} bads[] = {
	{ "empty", "", MHR_E_SHORT },
	{ "3 bytes", "01 06 00", MHR_E_SHORT },
	{ "7 bytes", "01 06 0008 000000", MHR_E_SHORT },
	{ "version 0", "00 06 0008 00000001 0000000000000000", MHR_E_VERSION },
	{ "version 2", "02 06 0008 00000001 0000000000000000", MHR_E_VERSION },
	{ "type 0", "01 00 0000 00000001", MHR_E_TYPE },
	{ "type 8", "01 08 0000 00000001", MHR_E_TYPE },
	{ "type 255", "01 ff 0000 00000001", MHR_E_TYPE },
	{ "body length 513", "01 06 0201 00000001 0000000000000000", MHR_E_TOO_LONG },
	{ "body length 65535", "01 07 ffff 00000001", MHR_E_TOO_LONG },
	{ "one byte missing", "01 06 0008 00000001 00000000000000", MHR_E_LENGTH },
	{ "one byte extra", "01 06 0008 00000001 000000000000000000", MHR_E_LENGTH },
	{ "heartbeat of 7", "01 06 0007 00000001 00000000000000", MHR_E_TRUNCATED },
	{ "heartbeat of 9", "01 06 0009 00000001 000000000000000000", MHR_E_TRAILING },
	{ "heartbeat id 0", "01 06 0008 00000000 0000000000000000", MHR_E_ID },
	{ "open id 0", "01 02 0025 00000000  00000007 00 000003e8 "
		       "04 c6120102 ea61  04 c6120001 " KEY16, MHR_E_ID },
	{ "resync count of 3", "01 04 0003 00000001 000000", MHR_E_TRUNCATED },
	{ "resync empty", "01 05 0000 00000001", MHR_E_TRUNCATED },
	{ "resync trailing", "01 05 0005 00000001 0000000000", MHR_E_TRAILING },
	{ "hello heartbeat 99", "01 01 0011 00000001 0000000000000000 00000063 "
				"03 616263 00", MHR_E_VALUE },
	{ "hello heartbeat 60001", "01 01 0011 00000001 0000000000000000 0000ea61 "
				   "03 616263 00", MHR_E_VALUE },
	{ "hello empty name", "01 01 000e 00000001 0000000000000000 00000bb8 00 00",
	  MHR_E_TEXT },
	{ "hello name with a space", "01 01 0011 00000001 0000000000000000 00000bb8 "
				     "03 612062 00", MHR_E_TEXT },
	{ "hello name with a slash", "01 01 0011 00000001 0000000000000000 00000bb8 "
				     "03 612f62 00", MHR_E_TEXT },
	{ "hello name past the body", "01 01 0011 00000001 0000000000000000 00000bb8 "
				      "09 616263 00", MHR_E_TRUNCATED },
	{ "hello software with DEL", "01 01 0011 00000001 0000000000000000 00000bb8 "
				     "01 61 02 317f", MHR_E_TEXT },
	{ "hello software with newline", "01 01 0011 00000001 0000000000000000 "
					 "00000bb8 01 61 02 310a", MHR_E_TEXT },
	{ "hello without software", "01 01 000e 00000001 0000000000000000 00000bb8 "
				    "01 61", MHR_E_TRUNCATED },
	{ "open sid 0", "01 02 0025 00000002  00000000 00 000003e8 "
			"04 c6120102 ea61  04 c6120001 " KEY16, MHR_E_VALUE },
	{ "open unknown flag", "01 02 0025 00000002  00000007 04 000003e8 "
			       "04 c6120102 ea61  04 c6120001 " KEY16, MHR_E_VALUE },
	{ "open server family 0", "01 02 0025 00000002  00000007 00 000003e8 "
				  "00 c6120102 ea61  04 c6120001 " KEY16, MHR_E_FAMILY },
	{ "open server family 5", "01 02 0025 00000002  00000007 00 000003e8 "
				  "05 c6120102 ea61  04 c6120001 " KEY16, MHR_E_FAMILY },
	{ "open server port 0", "01 02 0025 00000002  00000007 00 000003e8 "
				"04 c6120102 0000  04 c6120001 " KEY16, MHR_E_VALUE },
	{ "open hint family 2", "01 02 0025 00000002  00000007 00 000003e8 "
				"04 c6120102 ea61  02 c6120001 " KEY16, MHR_E_FAMILY },
	{ "open key of 15", "01 02 0024 00000002  00000007 00 000003e8 "
			    "04 c6120102 ea61  04 c6120001 000102030405060708090a0b0c0d0e",
	  MHR_E_TRUNCATED },
	{ "open trailing byte", "01 02 0026 00000002  00000007 00 000003e8 "
				"04 c6120102 ea61  04 c6120001 " KEY16 " 00", MHR_E_TRAILING },
	{ "open keyless with a key", "01 02 0025 00000002  00000007 02 000003e8 "
	  "04 c6120102 ea61  04 c6120001 " KEY16, MHR_E_TRAILING },
	{ "open keyless, one byte more", "01 02 0016 00000002  00000007 02 000003e8 "
	  "04 c6120102 ea61  04 c6120001 00", MHR_E_TRAILING },
	{ "open keyed without its key", "01 02 0015 00000002  00000007 00 000003e8 "
	  "04 c6120102 ea61  04 c6120001", MHR_E_TRUNCATED },
	{ "open v6 server in 4 bytes", "01 02 0025 00000002  00000007 00 000003e8 "
				       "06 c6120102 ea61  04 c6120001 " KEY16,
	  MHR_E_FAMILY },   /* reads on into the key: hint family 07 */
	{ "end reason 0", "01 03 000c 00000004  00000007 04 c6120102 ea61 00", MHR_E_VALUE },
	{ "end reason 6", "01 03 000c 00000004  00000007 04 c6120102 ea61 06", MHR_E_VALUE },
	{ "end sid 0", "01 03 000c 00000004  00000000 04 c6120102 ea61 01", MHR_E_VALUE },
	{ "end port 0", "01 03 000c 00000004  00000007 04 c6120102 0000 01", MHR_E_VALUE },
	{ "end without reason", "01 03 000b 00000004  00000007 04 c6120102 ea61",
	  MHR_E_TRUNCATED },
	{ "answer to an answer", "01 07 0003 00000002  07 00 00", MHR_E_VALUE },
	{ "answer to type 8", "01 07 0003 00000002  08 00 00", MHR_E_VALUE },
	{ "answer status 9", "01 07 0003 00000002  02 09 00", MHR_E_VALUE },
	{ "answer reason with NUL", "01 07 0005 00000002  02 00 02 6100", MHR_E_TEXT },
	{ "answer reason past the body", "01 07 0005 00000002  02 00 05 6162",
	  MHR_E_TRUNCATED },
	{ "answer without status", "01 07 0001 00000002  02", MHR_E_TRUNCATED },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void expect_refused(const uint8_t *buf, size_t len, enum mhr_err code,
			   const char *what)
{
	struct mhr_msg m, zero;
	struct mhr_error e;

	memset(&m, 0x5a, sizeof(m));
	memset(&zero, 0, sizeof(zero));
	ck_assert_msg(mhr_decode(buf, len, &m, &e) == -EPROTO,
		      "%s: accepted", what);
	ck_assert_msg(e.code == code, "%s: error %s (%s), expected %s", what,
		      mhr_err_name(e.code), e.why, mhr_err_name(code));
	ck_assert_msg(e.why && *e.why, "%s: no reason", what);
	ck_assert_msg(memcmp(&m, &zero, sizeof(m)) == 0,
		      "%s: fields left behind", what);
}

START_TEST(test_good_frames)
{
	const struct good *g = &goods[_i];
	uint8_t buf[MHR_MAX_FRAME], out[MHR_MAX_FRAME];
	size_t n = unhex(g->hex, buf, sizeof(buf)), frame = 1;
	struct mhr_msg m;
	struct mhr_error e;

	ck_assert_msg(mhr_decode(buf, n, &m, &e) == 0, "%s: refused: %s (%s)",
		      g->name, mhr_err_name(e.code), e.why);
	ck_assert_int_eq(e.code, MHR_E_NONE);
	ck_assert_uint_eq(m.type, g->type);
	ck_assert_uint_eq(m.id, g->id);
	ck_assert_int_eq(mhr_encode(&m, out, sizeof(out)), (ssize_t)n);
	ck_assert_int_eq(memcmp(out, buf, n), 0);
	ck_assert_int_eq(mhr_encode(&m, out, n - 1), -ENOBUFS);
	ck_assert_int_eq(mhr_frame_len(buf, n, &frame, &e), 0);
	ck_assert_uint_eq(frame, n);
	ck_assert_int_eq(mhr_frame_len(buf, n - 1, &frame, &e), 0);
	ck_assert_uint_eq(frame, 0);
}
END_TEST

START_TEST(test_good_fields)
{
	uint8_t buf[MHR_MAX_FRAME];
	struct mhr_msg m;
	size_t n;

	n = unhex(goods[0].hex, buf, sizeof(buf));
	ck_assert_int_eq(mhr_decode(buf, n, &m, NULL), 0);
	ck_assert(m.u.hello.instance == 0x0102030405060708ULL);
	ck_assert_uint_eq(m.u.hello.heartbeat_ms, 3000);
	ck_assert_str_eq(m.u.hello.name, "relay1");
	ck_assert_str_eq(m.u.hello.software, "1.0");

	n = unhex(goods[2].hex, buf, sizeof(buf));
	ck_assert_int_eq(mhr_decode(buf, n, &m, NULL), 0);
	ck_assert_uint_eq(m.u.open.sid, 7);
	ck_assert_uint_eq(m.u.open.flags, 0);
	ck_assert_uint_eq(m.u.open.uid, 1000);
	ck_assert_int_eq(m.u.open.server.family, AF_INET);
	ck_assert_int_eq(memcmp(m.u.open.server.ip, "\xc6\x12\x01\x02", 4), 0);
	ck_assert_uint_eq(m.u.open.server.port, 60001);
	ck_assert_int_eq(m.u.open.client_hint.family, AF_INET);
	ck_assert_int_eq(memcmp(m.u.open.client_hint.ip, "\xc6\x12\x00\x01", 4), 0);
	for (int i = 0; i < SSP_KEY_LEN; i++)
		ck_assert_uint_eq(m.u.open.key[i], i);
	mhr_msg_wipe(&m);
	for (size_t i = 0; i < sizeof(m); i++)
		ck_assert_uint_eq(((uint8_t *)&m)[i], 0);

	n = unhex(goods[3].hex, buf, sizeof(buf));
	ck_assert_int_eq(mhr_decode(buf, n, &m, NULL), 0);
	ck_assert_uint_eq(m.u.open.flags, MHR_OPEN_RESYNC);
	ck_assert_int_eq(m.u.open.server.family, AF_INET6);
	ck_assert_uint_eq(m.u.open.server.ip[0], 0xfd);
	ck_assert_uint_eq(m.u.open.server.ip[15], 2);
	ck_assert_int_eq(m.u.open.client_hint.family, 0);

	n = unhex(goods[6].hex, buf, sizeof(buf));
	ck_assert_int_eq(mhr_decode(buf, n, &m, NULL), 0);
	ck_assert_uint_eq(m.u.end.reason, MHR_END_WITHDRAWN);
	ck_assert_str_eq(mhr_end_reason_name(m.u.end.reason), "withdrawn");

	n = unhex(goods[7].hex, buf, sizeof(buf));
	ck_assert_int_eq(mhr_decode(buf, n, &m, NULL), 0);
	ck_assert_uint_eq(m.u.resync_count, 2);

	n = unhex(goods[10].hex, buf, sizeof(buf));
	ck_assert_int_eq(mhr_decode(buf, n, &m, NULL), 0);
	ck_assert_uint_eq(m.u.answer.of_type, MHR_OPEN);
	ck_assert_uint_eq(m.u.answer.status, MHR_ST_NOT_ALLOWED);
	ck_assert_str_eq(m.u.answer.reason, "no");
}
END_TEST

START_TEST(test_bad_frames)
{
	const struct bad *b = &bads[_i];
	uint8_t buf[MHR_MAX_FRAME + 16];
	size_t n = unhex(b->hex, buf, sizeof(buf));

	expect_refused(buf, n, b->code, b->name);
}
END_TEST

/* The header's type and id reach the error, for the PROTOCOL answer. */
START_TEST(test_error_names_frame)
{
	uint8_t buf[64];
	size_t n = unhex("01 02 0025 0000abcd  00000000 00 000003e8 "
			 "04 c6120102 ea61  04 c6120001 " KEY16, buf, sizeof(buf));
	struct mhr_msg m;
	struct mhr_error e;

	ck_assert_int_eq(mhr_decode(buf, n, &m, &e), -EPROTO);
	ck_assert_uint_eq(e.type, MHR_OPEN);
	ck_assert_uint_eq(e.id, 0xabcd);
	ck_assert_str_eq(e.why, "session id 0");
}
END_TEST

/* Every shorter body of a good frame, with the header's length adjusted:
 * refused as truncated (or a shorter text that then leaves bytes short). */
START_TEST(test_truncations)
{
	for (size_t k = 0; k < N(goods); k++) {
		uint8_t buf[MHR_MAX_FRAME];
		size_t n = unhex(goods[k].hex, buf, sizeof(buf));

		for (size_t len = MHR_HEADER_LEN; len < n; len++) {
			size_t body = len - MHR_HEADER_LEN;
			struct mhr_msg m;
			struct mhr_error e;

			buf[2] = (uint8_t)(body >> 8);
			buf[3] = (uint8_t)body;
			ck_assert_msg(mhr_decode(buf, len, &m, &e) == -EPROTO,
				      "%s cut to %zu: accepted", goods[k].name, len);
			ck_assert_msg(e.code == MHR_E_TRUNCATED,
				      "%s cut to %zu: %s", goods[k].name, len,
				      mhr_err_name(e.code));
			/* without the length fixed up: a length mismatch */
			buf[2] = (uint8_t)((n - MHR_HEADER_LEN) >> 8);
			buf[3] = (uint8_t)(n - MHR_HEADER_LEN);
			expect_refused(buf, len, MHR_E_LENGTH, goods[k].name);
		}
		for (size_t len = 0; len < MHR_HEADER_LEN; len++)
			expect_refused(buf, len, MHR_E_SHORT, goods[k].name);
	}
}
END_TEST

/* Frames read from a stream: all good frames back to back, fed one byte
 * at a time; each comes out whole, at its boundary. */
START_TEST(test_stream_framing)
{
	uint8_t stream[4096], pending[4096];
	size_t len = 0, have = 0, seen = 0, sizes[N(goods)];
	struct mhr_error e;

	for (size_t k = 0; k < N(goods); k++) {
		sizes[k] = unhex(goods[k].hex, stream + len, sizeof(stream) - len);
		len += sizes[k];
	}
	for (size_t i = 0; i < len; i++) {
		size_t frame;
		struct mhr_msg m;

		pending[have++] = stream[i];
		ck_assert_int_eq(mhr_frame_len(pending, have, &frame, &e), 0);
		if (!frame)
			continue;
		ck_assert_uint_lt(seen, N(goods));
		ck_assert_uint_eq(frame, sizes[seen]);
		ck_assert_int_eq(mhr_decode(pending, frame, &m, &e), 0);
		ck_assert_uint_eq(m.type, goods[seen].type);
		seen++;
		have = 0;
	}
	ck_assert_uint_eq(seen, N(goods));
	ck_assert_uint_eq(have, 0);
}
END_TEST

/* A bad header is refused as soon as its 8 bytes are in, without waiting
 * for a body that can never be valid. */
START_TEST(test_stream_refuses_early)
{
	const char *hdrs[] = { "02 06 0008 00000001", "01 09 0008 00000001",
			       "01 06 0201 00000001" };
	const enum mhr_err codes[] = { MHR_E_VERSION, MHR_E_TYPE, MHR_E_TOO_LONG };

	for (size_t k = 0; k < N(hdrs); k++) {
		uint8_t buf[16];
		size_t n = unhex(hdrs[k], buf, sizeof(buf)), frame = 9;
		struct mhr_error e;

		ck_assert_int_eq(mhr_frame_len(buf, n - 1, &frame, &e), 0);
		ck_assert_uint_eq(frame, 0);
		ck_assert_int_eq(mhr_frame_len(buf, n, &frame, &e), -EPROTO);
		ck_assert_int_eq(e.code, codes[k]);
		ck_assert_uint_eq(e.id, 1);
	}
}
END_TEST

static struct mhr_msg sample_open(void)
{
	struct mhr_msg m;

	memset(&m, 0, sizeof(m));
	m.type = MHR_OPEN;
	m.id = 5;
	m.u.open.sid = 3;
	m.u.open.uid = 1000;
	m.u.open.server.family = AF_INET;
	inet_pton(AF_INET, "198.18.1.2", m.u.open.server.ip);
	m.u.open.server.port = 60001;
	memset(m.u.open.key, 0xab, sizeof(m.u.open.key));
	return m;
}

START_TEST(test_encode_refuses)
{
	uint8_t buf[MHR_MAX_FRAME];
	struct mhr_msg m = sample_open(), t;

	ck_assert_int_gt(mhr_encode(&m, buf, sizeof(buf)), 0);
	t = m; t.id = 0;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = m; t.type = 0;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = m; t.type = 8;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = m; t.u.open.sid = 0;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = m; t.u.open.flags = 0x80;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = m; t.u.open.server.port = 0;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = m; t.u.open.server.family = AF_UNIX;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = m; t.u.open.client_hint.family = AF_UNIX;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = m; t.u.open.flags = MHR_OPEN_KEYLESS;   /* keyless, key bytes set */
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	memset(t.u.open.key, 0, sizeof(t.u.open.key));   /* keyless: 16 bytes shorter */
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)),
			 mhr_encode(&m, buf, sizeof(buf)) - SSP_KEY_LEN);
	t = m;
	t.u.open.client_hint.family = AF_UNIX;
	/* invalid fields are -EINVAL even into a buffer too small */
	ck_assert_int_eq(mhr_encode(&t, buf, 0), -EINVAL);
	ck_assert_int_eq(mhr_encode(&m, buf, 0), -ENOBUFS);

	memset(&t, 0, sizeof(t));
	t.type = MHR_HELLO;
	t.id = 1;
	t.u.hello.heartbeat_ms = 3000;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);  /* no name */
	strcpy(t.u.hello.name, "login-1.example");
	ck_assert_int_gt(mhr_encode(&t, buf, sizeof(buf)), 0);
	t.u.hello.heartbeat_ms = 99;
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t.u.hello.heartbeat_ms = 3000;
	memset(t.u.hello.name, 'a', sizeof(t.u.hello.name));  /* no NUL */
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	memset(t.u.hello.name, 0, sizeof(t.u.hello.name));
	memset(t.u.hello.name, 'a', MHR_NAME_MAX);
	ck_assert_int_gt(mhr_encode(&t, buf, sizeof(buf)), 0);
	strcpy(t.u.hello.software, "1.0\t");
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);

	memset(&t, 0, sizeof(t));
	t.type = MHR_END;
	t.id = 1;
	t.u.end = (struct mhr_end){ .sid = 1, .server = m.u.open.server, .reason = 6 };
	ck_assert_int_eq(mhr_encode(&t, buf, sizeof(buf)), -EINVAL);
	t.u.end.reason = MHR_END_EXITED;
	ck_assert_int_gt(mhr_encode(&t, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(test_answer_builder)
{
	uint8_t buf[MHR_MAX_FRAME];
	char longr[MHR_REASON_MAX + 2];
	struct mhr_msg m, back;
	ssize_t n;

	ck_assert_int_eq(mhr_answer(&m, MHR_OPEN, 77, MHR_ST_NOT_ALLOWED,
				    "server address 198.18.1.9 is not in the relay's certificate"), 0);
	n = mhr_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(mhr_decode(buf, (size_t)n, &back, NULL), 0);
	ck_assert_uint_eq(back.id, 77);
	ck_assert_uint_eq(back.u.answer.of_type, MHR_OPEN);
	ck_assert_str_eq(mhr_status_name(back.u.answer.status), "not_allowed");
	ck_assert_str_eq(back.u.answer.reason, m.u.answer.reason);

	memset(longr, 'x', sizeof(longr));
	longr[MHR_REASON_MAX] = '\0';
	ck_assert_int_eq(mhr_answer(&m, MHR_OPEN, 1, MHR_ST_OK, longr), 0);
	n = mhr_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(n, MHR_HEADER_LEN + 3 + MHR_REASON_MAX);
	longr[MHR_REASON_MAX] = 'x';
	longr[MHR_REASON_MAX + 1] = '\0';
	ck_assert_int_eq(mhr_answer(&m, MHR_OPEN, 1, MHR_ST_OK, longr), -EINVAL);
	ck_assert_int_eq(mhr_answer(&m, MHR_OPEN, 1, MHR_ST_OK, "tab\there"), -EINVAL);
	ck_assert_int_eq(mhr_answer(&m, MHR_OPEN, 1, MHR_STATUS_MAX + 1, ""), -EINVAL);
	ck_assert_int_eq(mhr_answer(&m, MHR_ANSWER, 1, MHR_ST_OK, ""), -EINVAL);
	ck_assert_int_eq(mhr_answer(&m, 0, 0, MHR_ST_PROTOCOL, NULL), 0);
	ck_assert_int_gt(mhr_encode(&m, buf, sizeof(buf)), 0);
}
END_TEST

/* Longest texts fit, one more byte does not. */
START_TEST(test_text_limits)
{
	uint8_t buf[MHR_MAX_FRAME + 64];
	struct mhr_msg m;
	ssize_t n;
	size_t name_at = MHR_HEADER_LEN + 12;

	memset(&m, 0, sizeof(m));
	m.type = MHR_HELLO;
	m.id = 1;
	m.u.hello.heartbeat_ms = 3000;
	memset(m.u.hello.name, 'n', MHR_NAME_MAX);
	memset(m.u.hello.software, 's', MHR_SOFTWARE_MAX);
	n = mhr_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(n, MHR_HEADER_LEN + 12 + 2 + MHR_NAME_MAX + MHR_SOFTWARE_MAX);
	ck_assert_int_eq(mhr_decode(buf, (size_t)n, &m, NULL), 0);
	/* name length 65: grow the frame by one name byte */
	memmove(buf + name_at + 2, buf + name_at + 1, (size_t)n - name_at - 1);
	buf[name_at] = MHR_NAME_MAX + 1;
	buf[name_at + 1] = 'n';
	buf[3]++;
	expect_refused(buf, (size_t)n + 1, MHR_E_TEXT, "name of 65");
}
END_TEST

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Noise and mutated good frames: never a crash, and every accepted frame
 * re-encodes to the same bytes. */
START_TEST(test_random_input)
{
	uint8_t buf[MHR_MAX_FRAME + 16], out[MHR_MAX_FRAME], base[N(goods)][MHR_MAX_FRAME];
	size_t bn[N(goods)];
	unsigned accepted = 0;

	for (size_t k = 0; k < N(goods); k++)
		bn[k] = unhex(goods[k].hex, base[k], sizeof(base[k]));
	for (int iter = 0; iter < 200000; iter++) {
		size_t len, k = (size_t)iter / 2 % N(goods);
		struct mhr_msg m;
		struct mhr_error e;

		if (iter % 2) {
			len = rng() % sizeof(buf);
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rng();
			if (len > 2)
				buf[0] = MHR_VERSION;
		} else {
			len = bn[k];
			memcpy(buf, base[k], len);
			for (unsigned f = rng() % 3 + 1; f > 0; f--)
				buf[rng() % len] = (uint8_t)rng();
		}
		if (mhr_decode(buf, len, &m, &e) != 0) {
			ck_assert(e.code > MHR_E_NONE && e.code <= MHR_E_MAX);
			continue;
		}
		accepted++;
		ck_assert_int_eq(mhr_encode(&m, out, sizeof(out)), (ssize_t)len);
		ck_assert_int_eq(memcmp(out, buf, len), 0);
	}
	ck_assert_uint_gt(accepted, 1000);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(mhr_type_name(MHR_RESYNC_BEGIN), "RESYNC_BEGIN");
	ck_assert_str_eq(mhr_type_name(0), "UNKNOWN");
	ck_assert_str_eq(mhr_type_name(200), "UNKNOWN");
	ck_assert_str_eq(mhr_status_name(MHR_ST_STATE), "state");
	ck_assert_str_eq(mhr_status_name(99), "unknown");
	ck_assert_str_eq(mhr_end_reason_name(0), "unknown");
	ck_assert_str_eq(mhr_err_name(MHR_E_TRAILING), "trailing");
	for (unsigned i = 0; i <= MHR_E_MAX; i++)
		ck_assert_str_ne(mhr_err_name((enum mhr_err)i), "unknown");
	for (unsigned i = 0; i <= MHR_STATUS_MAX; i++)
		ck_assert_str_ne(mhr_status_name((uint8_t)i), "unknown");
}
END_TEST

static Suite *relaywire_suite(void)
{
	Suite *s = suite_create("relaywire");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_good_frames, 0, N(goods));
	tcase_add_test(tc, test_good_fields);
	tcase_add_loop_test(tc, test_bad_frames, 0, N(bads));
	tcase_add_test(tc, test_error_names_frame);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_stream_framing);
	tcase_add_test(tc, test_stream_refuses_early);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_answer_builder);
	tcase_add_test(tc, test_text_limits);
	tcase_add_test(tc, test_random_input);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(relaywire_suite());
}
