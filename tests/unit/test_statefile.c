/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the restart state (lib/statefile.c): sessions survive an
 * encode/decode round trip field for field (IPv4 and IPv6 pinholes, bound
 * lists, socket identities, odd SSH client strings); a file taken in parts
 * while it is encoded joins to the same bytes; a version 1 file (no
 * sockets) is still read; a live table goes to its saved form and
 * back; every truncation and every single-byte change of a valid file is
 * refused with a reason, as are files with a right checksum but wrong
 * content (each with its line); random bytes never crash the decoder; the
 * keyring payload round-trips and refuses anything else.
 */
#include <arpa/inet.h>
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "statefile.h"

#define BOOT "42eb61fd-a0c3-44fd-bec0-0e9b3f3265c9"

static char err[512];

static struct mh_addr addr(const char *ip, uint16_t port)
{
	struct mh_addr a = { 0 };

	a.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(a.family, ip, a.ip), 1);
	a.port = port;
	return a;
}

/* Three sessions that use every field and form. */
static void sample(struct mh_saved_session s[3])
{
	memset(s, 0, 3 * sizeof(*s));
	s[0] = (struct mh_saved_session){
		.id = 7, .port = 60001, .uid = 1001, .pid = 4242,
		.pid_start = 123456789, .announced_ms = 1000, .last_alive_ms = 5000,
		.contacted = true, .seen_in = true, .max_seq_in = 77,
		.max_pinholes = 4, .n_ph = 2, .n_bound = 1,
	};
	strcpy(s[0].ssh_client, "198.18.3.10");
	ck_assert_int_eq(mh_bound_parse("198.18.0.2", s[0].bound, &s[0].n_bound), 0);
	s[0].n_sock = 1;
	s[0].sock[0] = (struct mh_sockid){ .cookie = 8193, .ino = 589214 };
	s[0].ph[0] = (struct mh_saved_pinhole){ addr("198.18.3.10", 41000), 4000 };
	s[0].ph[1] = (struct mh_saved_pinhole){ addr("fd00:3::10", 41001), 4500 };

	s[1] = (struct mh_saved_session){
		.id = 9, .port = 60999, .uid = 0, .pid = 2, .pid_start = 0,
		.announced_ms = UINT64_MAX, .last_alive_ms = 0, .max_seq_in = 0,
		.max_pinholes = 16,
	};   /* never contacted, no ssh client, no bound list, no pinholes */

	s[2] = (struct mh_saved_session){
		.id = UINT32_MAX, .port = 1, .uid = 65534, .pid = 2147483647,
		.pid_start = UINT64_MAX, .seen_in = true,
		.max_seq_in = (UINT64_C(1) << 63) - 1, .max_pinholes = 1, .n_ph = 1,
	};
	/* whatever SSH_CONNECTION started with, spaces and escapes included */
	strcpy(s[2].ssh_client, "-%x= \n\"a");
	ck_assert_int_eq(mh_bound_parse("[fd00::2],[::]/v6only,198.18.0.2",
					s[2].bound, &s[2].n_bound), 0);
	s[2].n_sock = MH_MAX_BOUND;   /* as many as are kept, extreme values */
	s[2].sock[0] = (struct mh_sockid){ .cookie = UINT64_MAX, .ino = UINT32_MAX };
	s[2].sock[1] = (struct mh_sockid){ .cookie = 1, .ino = 0 };
	s[2].sock[2] = (struct mh_sockid){ .cookie = UINT64_C(1) << 32, .ino = 7 };
	s[2].sock[3] = (struct mh_sockid){ .cookie = 0xffffffff, .ino = 8,
					    .ifindex = INT32_MAX };   /* a device */
	s[2].ph[0] = (struct mh_saved_pinhole){ addr("fd00:3::12", 65535), 1 };
}

static char *encode(const struct mh_saved_session *s, unsigned n, size_t *len)
{
	struct mh_statefile_enc e;

	ck_assert_int_eq(mh_statefile_enc_begin(&e, BOOT, "mosh_helper", 12), 0);
	for (unsigned i = 0; i < n; i++)
		mh_statefile_enc_session(&e, &s[i]);
	ck_assert_int_eq(mh_statefile_enc_end(&e), 0);
	*len = e.len;
	return e.buf;     /* the caller frees */
}

static void same_session(const struct mh_saved_session *a,
			 const struct mh_saved_session *b)
{
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->port, b->port);
	ck_assert_uint_eq(a->uid, b->uid);
	ck_assert_int_eq(a->pid, b->pid);
	ck_assert_uint_eq(a->pid_start, b->pid_start);
	ck_assert_str_eq(a->ssh_client, b->ssh_client);
	ck_assert_uint_eq(a->announced_ms, b->announced_ms);
	ck_assert_uint_eq(a->last_alive_ms, b->last_alive_ms);
	ck_assert_int_eq(a->contacted, b->contacted);
	ck_assert_int_eq(a->seen_in, b->seen_in);
	ck_assert_uint_eq(a->max_seq_in, b->max_seq_in);
	ck_assert_uint_eq(a->max_pinholes, b->max_pinholes);
	ck_assert_uint_eq(a->n_bound, b->n_bound);
	for (unsigned i = 0; i < a->n_bound; i++) {
		ck_assert_int_eq(a->bound[i].family, b->bound[i].family);
		ck_assert_mem_eq(a->bound[i].ip, b->bound[i].ip, 16);
		ck_assert_int_eq(a->bound[i].any, b->bound[i].any);
		ck_assert_int_eq(a->bound[i].v6only, b->bound[i].v6only);
	}
	ck_assert_uint_eq(a->n_sock, b->n_sock);
	for (unsigned i = 0; i < a->n_sock; i++) {
		ck_assert_uint_eq(a->sock[i].cookie, b->sock[i].cookie);
		ck_assert_uint_eq(a->sock[i].ino, b->sock[i].ino);
		ck_assert_uint_eq(a->sock[i].ifindex, b->sock[i].ifindex);
	}
	ck_assert_uint_eq(a->n_ph, b->n_ph);
	for (unsigned i = 0; i < a->n_ph; i++) {
		ck_assert(mh_addr_equal(&a->ph[i].client, &b->ph[i].client));
		ck_assert_uint_eq(a->ph[i].added_ms, b->ph[i].added_ms);
	}
}

START_TEST(round_trip)
{
	struct mh_saved_session s[3];
	struct mh_statefile st;
	size_t len;
	char *text;

	sample(s);
	text = encode(s, 3, &len);
	ck_assert_int_eq(mh_statefile_decode(text, len, &st, err, sizeof(err)), 0);
	ck_assert_str_eq(st.boot_id, BOOT);
	ck_assert_str_eq(st.table, "mosh_helper");
	ck_assert_uint_eq(st.next_id, 12);
	ck_assert_uint_eq(st.n, 3);
	for (unsigned i = 0; i < 3; i++)
		same_session(&s[i], &st.s[i]);
	mh_statefile_free(&st);
	ck_assert_ptr_null(st.s);
	free(text);
}
END_TEST

START_TEST(empty_state_round_trip)
{
	struct mh_statefile st;
	size_t len;
	char *text = encode(NULL, 0, &len);

	ck_assert_int_eq(mh_statefile_decode(text, len, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.n, 0);
	mh_statefile_free(&st);
	free(text);
}
END_TEST

/* A file taken in parts as it is encoded (as the daemon hands a big one
 * to its keeper, a slice of sessions at a time) is, joined, the same
 * bytes as the file encoded in one piece, checksum line included. */
START_TEST(parts_join_to_the_whole)
{
	struct mh_saved_session s[3];
	struct mh_statefile_enc e;
	struct mh_statefile st;
	char *whole, joined[8192];
	const char *part;
	size_t len, n, off = 0;

	sample(s);
	whole = encode(s, 3, &len);
	ck_assert_int_eq(mh_statefile_enc_begin(&e, BOOT, "mosh_helper", 12), 0);
	for (unsigned i = 0; i < 3 + 1; i++) {
		if (i < 3)
			mh_statefile_enc_session(&e, &s[i]);
		else
			ck_assert_int_eq(mh_statefile_enc_end(&e), 0);
		n = mh_statefile_enc_take(&e, &part);
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_le(off + n, sizeof(joined));
		memcpy(joined + off, part, n);
		off += n;
	}
	ck_assert_uint_eq(mh_statefile_enc_take(&e, &part), 0);   /* nothing new */
	ck_assert_uint_eq(off, len);
	ck_assert_mem_eq(joined, whole, len);
	ck_assert_int_eq(mh_statefile_decode(joined, off, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.n, 3);
	mh_statefile_free(&st);
	mh_statefile_enc_free(&e);
	free(whole);
}
END_TEST

/* Plain text: no byte outside printable ASCII and newlines. */
START_TEST(text_is_printable)
{
	struct mh_saved_session s[3];
	size_t len;
	char *text;

	sample(s);
	text = encode(s, 3, &len);
	for (size_t i = 0; i < len; i++)
		ck_assert(text[i] == '\n' || (text[i] >= 0x20 && text[i] < 0x7f));
	free(text);
}
END_TEST

START_TEST(every_truncation_refused)
{
	struct mh_saved_session s[3];
	struct mh_statefile st;
	size_t len;
	char *text;

	sample(s);
	text = encode(s, 3, &len);
	for (size_t cut = 0; cut < len; cut++) {
		char *copy = malloc(cut + 1);   /* exactly cut bytes readable */

		memcpy(copy, text, cut);
		err[0] = 0;
		ck_assert_int_eq(mh_statefile_decode(copy, cut, &st, err, sizeof(err)), -EINVAL);
		ck_assert_msg(err[0], "no reason for a cut at %zu", cut);
		ck_assert_ptr_null(st.s);
		ck_assert_uint_eq(st.n, 0);
		free(copy);
	}
	free(text);
}
END_TEST

START_TEST(every_byte_change_refused)
{
	struct mh_saved_session s[3];
	struct mh_statefile st;
	size_t len;
	char *text;

	sample(s);
	text = encode(s, 3, &len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			text[i] ^= (char)(1 << bit);
			err[0] = 0;
			ck_assert_msg(mh_statefile_decode(text, len, &st, err, sizeof(err)) < 0,
				      "byte %zu bit %d changed, still accepted", i, bit);
			ck_assert(err[0]);
			ck_assert_ptr_null(st.s);
			text[i] ^= (char)(1 << bit);
		}
	}
	ck_assert_int_eq(mh_statefile_decode(text, len, &st, err, sizeof(err)), 0);
	mh_statefile_free(&st);
	free(text);
}
END_TEST

START_TEST(specific_damage_named)
{
	struct mh_statefile st;
	char buf[256];

	ck_assert_int_eq(mh_statefile_decode("", 0, &st, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	ck_assert_int_eq(mh_statefile_decode("mosh-helperd-state 1\nboot", 25, &st,
					 err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	ck_assert_int_eq(mh_statefile_decode("mosh-helperd-state 1\n", 21, &st,
					 err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no end line"));
	memcpy(buf, "a\0b\n", 4);
	ck_assert_int_eq(mh_statefile_decode(buf, 4, &st, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	snprintf(buf, sizeof(buf), "end 0 fnv=0000000000000000\n");
	ck_assert_int_eq(mh_statefile_decode(buf, strlen(buf), &st, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "checksum"));
}
END_TEST

/* A body with its right end line: content errors, not checksum ones. */
static uint64_t fnv(const char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (n--)
		h = (h ^ (uint8_t)*p++) * UINT64_C(0x100000001b3);
	return h;
}

static int decode_body(const char *body, unsigned count)
{
	char text[4096];
	struct mh_statefile st;
	int n = snprintf(text, sizeof(text), "%send %u fnv=%016llx\n", body, count,
			 (unsigned long long)fnv(body, strlen(body)));
	int r = mh_statefile_decode(text, (size_t)n, &st, err, sizeof(err));

	if (r == 0)
		mh_statefile_free(&st);
	return r;
}

#define HDR "mosh-helperd-state 1\nboot " BOOT "\ntable t\nnext_id 5\n"
#define SESS(port) "session id=1 port=" #port " uid=5 pid=10 start=9 announced=1 " \
	"alive=2 contacted=1 seen_in=0 max_seq_in=3 max_pinholes=4 ssh=- bound=-\n"

static void refused(const char *body, unsigned count, const char *line,
		    const char *why)
{
	ck_assert_msg(decode_body(body, count) == -EINVAL, "accepted: %s", body);
	ck_assert_msg(strstr(err, line) && strstr(err, why),
		      "error '%s' lacks '%s' / '%s'", err, line, why);
}

START_TEST(content_errors_named_with_line)
{
	ck_assert_int_eq(decode_body(HDR SESS(60001), 1), 0);
	refused("mosh-helperd-state 3\n", 0, "line 1", "version");
	refused("mosh-helperd-state 0\n", 0, "line 1", "version");
	refused("boot " BOOT "\n", 0, "line 1", "expected");
	refused("mosh-helperd-state 1\nboot nope\n", 0, "line 2", "boot");
	ck_assert_int_eq(decode_body(HDR, 0), 0);            /* no sessions */
	refused("mosh-helperd-state 1\nboot " BOOT "\n", 0, "line 3", "incomplete");
	refused(HDR SESS(60001), 2, "line", "counts 2");
	refused(HDR SESS(60001) SESS(60001), 2, "line 6", "two sessions");
	refused(HDR "pinhole port=60001 client=198.18.3.1:5 added=3\n", 0,
		"line 5", "does not follow");
	refused(HDR SESS(60001) "pinhole port=60002 client=198.18.3.1:5 added=3\n",
		1, "line 6", "does not follow");
	refused(HDR SESS(60001) "pinhole port=60001 client=198.18.3.1 added=3\n",
		1, "line 6", "client");
	refused(HDR SESS(60001) "pinhole port=60001 client=198.18.3.1:5 added=3\n"
		"pinhole port=60001 client=198.18.3.1:5 added=4\n", 1, "line 7", "twice");
	refused(HDR SESS(0), 1, "line 5", "port");
	refused(HDR SESS(65536), 1, "line 5", "port");
	refused(HDR "session id=1 port=60001\n", 1, "line 5", "without");
	refused(HDR "session id=1 id=1\n", 1, "line 5", "twice");
	refused(HDR "session id=1 colour=red\n", 1, "line 5", "unknown session field");
	refused(HDR "session id=-1\n", 1, "line 5", "id");
	refused(HDR "session id=99999999999\n", 1, "line 5", "id");
	refused(HDR "frob x=1\n", 0, "line 5", "unknown record");
	refused(HDR "session id=1 port=60001 uid=5 pid=10 start=9 announced=1 "
		"alive=2 contacted=2 seen_in=0 max_seq_in=3 max_pinholes=4 ssh=- "
		"bound=-\n", 1, "line 5", "contacted");
	refused(HDR "session id=1 port=60001 uid=5 pid=10 start=9 announced=1 "
		"alive=2 contacted=1 seen_in=0 max_seq_in=3 max_pinholes=4 ssh=a%41 "
		"bound=-\n", 1, "line 5", "ssh");
	refused(HDR "session id=1 port=60001 uid=5 pid=10 start=9 announced=1 "
		"alive=2 contacted=1 seen_in=0 max_seq_in=3 max_pinholes=4 ssh=- "
		"bound=1.2.3\n", 1, "line 5", "bound");
	refused(HDR "\n", 0, "line 5", "empty line");
	/* version 1 knows no sockets */
	refused(HDR "session id=1 port=60001 uid=5 pid=10 start=9 announced=1 "
		"alive=2 contacted=1 seen_in=0 max_seq_in=3 max_pinholes=4 ssh=- "
		"bound=- sock=5:6\n", 1, "line 5", "unknown session field 'sock'");
}
END_TEST

#define HDR2 "mosh-helperd-state 2\nboot " BOOT "\ntable t\nnext_id 5\n"
#define SESS2(sock) "session id=1 port=60001 uid=5 pid=10 start=9 announced=1 " \
	"alive=2 contacted=1 seen_in=0 max_seq_in=3 max_pinholes=4 ssh=- " \
	"bound=- sock=" sock "\n"

/* Version 2: every session names its sockets ("-" for none). */
START_TEST(socket_field)
{
	ck_assert_int_eq(decode_body(HDR2 SESS2("-"), 1), 0);
	ck_assert_int_eq(decode_body(HDR2 SESS2("5:6"), 1), 0);
	ck_assert_int_eq(decode_body(HDR2 SESS2("18446744073709551615:4294967295,"
						"1:0,2:0,3:0"), 1), 0);
	refused(HDR2 SESS(60001), 1, "line 5", "without 'sock'");
	refused(HDR2 SESS2(""), 1, "line 5", "sock");
	refused(HDR2 SESS2("5"), 1, "line 5", "sock");
	refused(HDR2 SESS2("0:6"), 1, "line 5", "sock");          /* cookie 0 */
	refused(HDR2 SESS2("5:4294967296"), 1, "line 5", "sock"); /* inode */
	refused(HDR2 SESS2("18446744073709551616:1"), 1, "line 5", "sock");
	refused(HDR2 SESS2("5:6,5:7"), 1, "line 5", "sock");      /* twice */
	refused(HDR2 SESS2("5:6,"), 1, "line 5", "sock");
	refused(HDR2 SESS2(",5:6"), 1, "line 5", "sock");
	refused(HDR2 SESS2("5:6,,7:8"), 1, "line 5", "sock");
	refused(HDR2 SESS2("-5:6"), 1, "line 5", "sock");
	refused(HDR2 SESS2("1:1,2:2,3:3,4:4,5:5"), 1, "line 5", "sock"); /* > 4 */
	refused(HDR2 SESS2("5:6 sock=-"), 1, "line 5", "'sock' twice");
	/* a socket bound to a device keeps its index */
	ck_assert_int_eq(decode_body(HDR2 SESS2("5:6:3,7:8"), 1), 0);
	refused(HDR2 SESS2("5:6:0"), 1, "line 5", "sock");        /* no device */
	refused(HDR2 SESS2("5:6:"), 1, "line 5", "sock");
	refused(HDR2 SESS2("5:6:2147483648"), 1, "line 5", "sock");
	refused(HDR2 SESS2("5:6:3:4"), 1, "line 5", "sock");
}
END_TEST

/* A file an earlier daemon wrote (version 1) resumes with its sockets
 * unknown (n_sock 0: the daemon then takes the uid's sockets on the port);
 * written again, it is version 2. */
START_TEST(version_1_file_still_read)
{
	char text[1024];
	struct mh_statefile st;
	struct mh_statefile_enc e;
	const char *body = HDR SESS(60001);
	int n = snprintf(text, sizeof(text), "%send 1 fnv=%016llx\n", body,
			 (unsigned long long)fnv(body, strlen(body)));

	ck_assert_int_eq(mh_statefile_decode(text, (size_t)n, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.version, 1);
	ck_assert_uint_eq(st.n, 1);
	ck_assert_uint_eq(st.s[0].port, 60001);
	ck_assert_uint_eq(st.s[0].n_sock, 0);
	ck_assert_int_eq(mh_statefile_enc_begin(&e, BOOT, "t", 5), 0);
	mh_statefile_enc_session(&e, &st.s[0]);
	ck_assert_int_eq(mh_statefile_enc_end(&e), 0);
	ck_assert_ptr_nonnull(strstr(e.buf, "mosh-helperd-state 2\n"));
	ck_assert_ptr_nonnull(strstr(e.buf, " sock=-\n"));
	mh_statefile_free(&st);
	ck_assert_int_eq(mh_statefile_decode(e.buf, e.len, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.version, 2);
	ck_assert_uint_eq(st.s[0].n_sock, 0);
	mh_statefile_free(&st);
	mh_statefile_enc_free(&e);
}
END_TEST

/* The pure half of the socket check: a socket counts for a session only if
 * it is one of those recorded, of the session's uid. */
START_TEST(session_has_sock)
{
	struct mh_table *t = malloc(sizeof(*t));
	uint8_t key[SSP_KEY_LEN] = { 9 };
	struct mh_session *s;

	mh_table_init(t);
	s = mh_session_add(t, 60001, key, 1001, 777, 100, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert(!mh_session_has_sock(s, 1001, 42));      /* none recorded */
	s->sock[0] = (struct mh_sockid){ .cookie = 42, .ino = 1 };
	s->sock[1] = (struct mh_sockid){ .cookie = 43, .ino = 2 };
	s->n_sock = 2;
	ck_assert(mh_session_has_sock(s, 1001, 42));
	ck_assert(mh_session_has_sock(s, 1001, 43));
	ck_assert(!mh_session_has_sock(s, 1001, 44));      /* a new socket */
	ck_assert(!mh_session_has_sock(s, 1002, 42));      /* another uid */
	mh_table_clear(t);
	free(t);
}
END_TEST

/* Random bytes, and random damage to a valid file, are refused; the
 * decoder never crashes (the sanitizer build watches every access). */
START_TEST(random_input_never_crashes)
{
	struct mh_saved_session s[3];
	struct mh_statefile st;
	size_t len;
	char *text, *copy;
	unsigned seed = 12345;

	sample(s);
	text = encode(s, 3, &len);
	copy = malloc(len);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)rand_r(&seed) % (len + 1);

		if (round % 2) {
			for (size_t i = 0; i < n; i++)
				copy[i] = (char)rand_r(&seed);
		} else {
			memcpy(copy, text, len);
			n = len;
			for (int k = 0; k < 1 + rand_r(&seed) % 4; k++)
				copy[(size_t)rand_r(&seed) % len] = (char)rand_r(&seed);
		}
		if (mh_statefile_decode(copy, n, &st, err, sizeof(err)) == 0) {
			/* only if the damage happened to change nothing */
			ck_assert(n == len && !memcmp(copy, text, len));
			mh_statefile_free(&st);
		} else {
			ck_assert(err[0]);
		}
	}
	free(copy);
	free(text);
}
END_TEST

START_TEST(live_table_saved_and_applied)
{
	struct mh_table *t = malloc(sizeof(*t)), *t2 = malloc(sizeof(*t2));
	uint8_t key[SSP_KEY_LEN] = { 1, 2, 3 };
	struct mh_saved_session sv, back;
	struct mh_session *s, *r;
	struct mh_addr ev;
	struct mh_statefile st;
	size_t len;
	char *text;

	mh_table_init(t);
	mh_table_init(t2);
	s = mh_session_add(t, 60005, key, 1001, 777, 100, 3);
	ck_assert_ptr_nonnull(s);
	s->pid_start = 55;
	s->contacted = s->seen_in = true;
	s->max_seq_in = 1234;
	s->last_alive_ms = 900;
	s->sock[0] = (struct mh_sockid){ .cookie = 77, .ino = 5 };
	s->n_sock = 1;
	ck_assert_int_eq(mh_session_set_ssh_client(t, s, "fd00:3::10"), 0);
	for (int i = 0; i < 3; i++) {
		struct mh_addr a = addr("198.18.3.10", (uint16_t)(41000 + i));

		ck_assert(!mh_pinhole_record(s, &a, (uint64_t)(200 + i), &ev));
	}
	mh_saved_from_session(s, &sv);
	ck_assert_uint_eq(sv.n_ph, 3);
	text = encode(&sv, 1, &len);
	ck_assert_int_eq(mh_statefile_decode(text, len, &st, err, sizeof(err)), 0);
	same_session(&sv, &st.s[0]);

	/* into a session with room for two: the two newest pinholes stay */
	r = mh_session_add(t2, 60005, key, 1001, 777, 5000, 2);
	ck_assert_uint_eq(mh_saved_apply(&st.s[0], r), 1);
	ck_assert_uint_eq(r->id, s->id);
	ck_assert_uint_eq(r->pid_start, 55);
	ck_assert_uint_eq(r->max_seq_in, 1234);
	ck_assert(r->contacted && r->seen_in);
	ck_assert_uint_eq(r->announced_ms, 100);
	ck_assert_uint_eq(r->last_alive_ms, 900);
	ck_assert_uint_eq(r->n_sock, 1);
	ck_assert_uint_eq(r->sock[0].cookie, 77);
	ck_assert_uint_eq(r->sock[0].ino, 5);
	ck_assert_uint_eq(mh_pinhole_count(r), 2);
	for (unsigned i = 0; i < r->max_pinholes; i++)
		ck_assert_uint_ge(r->ph[i].added_ms, 201);
	ck_assert_int_eq(mh_session_set_ssh_client(t2, r, st.s[0].ssh_client), 0);
	mh_saved_from_session(r, &back);
	ck_assert_str_eq(back.ssh_client, "fd00:3::10");
	mh_statefile_free(&st);
	free(text);
	mh_table_clear(t);
	mh_table_clear(t2);
	free(t);
	free(t2);
}
END_TEST

START_TEST(key_payload)
{
	uint8_t key[SSP_KEY_LEN], out[MH_STATE_KEY_PAYLOAD_LEN], back[SSP_KEY_LEN];
	uint64_t start = 0;
	pid_t pid = 0;

	for (int i = 0; i < SSP_KEY_LEN; i++)
		key[i] = (uint8_t)(0xf0 + i);
	mh_statefile_key_encode(123456, UINT64_C(0x0102030405060708), key, out);
	ck_assert_int_eq(mh_statefile_key_decode(out, sizeof(out), &pid, &start, back), 0);
	ck_assert_int_eq(pid, 123456);
	ck_assert_uint_eq(start, UINT64_C(0x0102030405060708));
	ck_assert_mem_eq(back, key, SSP_KEY_LEN);
	ck_assert_int_eq(mh_statefile_key_decode(out, sizeof(out) - 1, &pid, &start, back),
			 -EINVAL);
	out[0] ^= 1;
	ck_assert_int_eq(mh_statefile_key_decode(out, sizeof(out), &pid, &start, back),
			 -EINVAL);
	out[0] ^= 1;
	memset(out + 4, 0, 4);      /* pid 0 */
	ck_assert_int_eq(mh_statefile_key_decode(out, sizeof(out), &pid, &start, back),
			 -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("statefile");
	TCase *tc = tcase_create("codec");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, empty_state_round_trip);
	tcase_add_test(tc, parts_join_to_the_whole);
	tcase_add_test(tc, text_is_printable);
	tcase_add_test(tc, every_truncation_refused);
	tcase_add_test(tc, every_byte_change_refused);
	tcase_add_test(tc, specific_damage_named);
	tcase_add_test(tc, content_errors_named_with_line);
	tcase_add_test(tc, socket_field);
	tcase_add_test(tc, version_1_file_still_read);
	tcase_add_test(tc, session_has_sock);
	tcase_add_test(tc, random_input_never_crashes);
	tcase_add_test(tc, live_table_saved_and_applied);
	tcase_add_test(tc, key_payload);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
