/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/serverargs.c: a table of mosh-server command lines
 * (every option form mosh-server's getopt reads, "--", help, the legacy
 * [IP [PORT]] form, POSIXLY_CORRECT) with what the hook runs or the
 * refusal it prints, each new-form line also read by glibc's own getopt
 * with mosh-server's option string to check which -p values count; the
 * port-range reader against mosh's rules; the network timeout; the next
 * try after a refusal of a port someone else holds (which refusals, and
 * the range and command line of the next mosh-server, also read back by
 * glibc's getopt).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "ctlproto.h"
#include "serverargs.h"

#define LO 60500
#define HI 60509
#define R  "60500:60509"
#define MAXW 16

struct row {
	const char *args[MAXW];   /* NULL-terminated */
	bool posix;
	const char *want;         /* the words run, joined by '|'; NULL: refused */
	const char *why;          /* refused: a part of the line the user sees */
};

#define SAME "="              /* want: the arguments as they were */

static const struct row rows[] = {
	/* no port: the site's range first, where getopt reads it */
	{ { "new" }, false, "new|-p|" R, NULL },
	{ { "new", "-c", "256", "-s", "-l", "LANG=C.UTF-8" }, false,
	  "new|-p|" R "|-c|256|-s|-l|LANG=C.UTF-8", NULL },
	{ { "new", "-i", "198.18.0.2", "--", "sh", "-c", "true" }, false,
	  "new|-p|" R "|-i|198.18.0.2|--|sh|-c|true", NULL },
	/* a port inside: kept, in every form getopt reads */
	{ { "new", "-p", "60505" }, false, SAME, NULL },
	{ { "new", "-p", "60500:60509" }, false, SAME, NULL },
	{ { "new", "-p", "60509:60509" }, false, SAME, NULL },
	{ { "new", "-p60505" }, false, SAME, NULL },
	{ { "new", "-vp60505" }, false, SAME, NULL },
	{ { "new", "-svp", "60505", "-c", "8" }, false, SAME, NULL },
	{ { "new", "-c256", "-p", "60505:60506" }, false, SAME, NULL },
	{ { "new", "-p", " 60505" }, false, SAME, NULL },       /* strtol: blanks */
	{ { "new", "-p", "+60505" }, false, SAME, NULL },       /* and a sign */
	{ { "new", "-p", "60505", "--", "-p", "61000" }, false, SAME, NULL },
	/* outside, or not a port: refused */
	{ { "new", "-p", "61000" }, false, NULL, "port \"61000\" is outside" },
	{ { "new", "-p", "60499:60505" }, false, NULL, "is outside the range this server gives mosh sessions (" R ")" },
	{ { "new", "-p", "60509:60510" }, false, NULL, "outside" },
	{ { "new", "-p", "0" }, false, NULL, "\"0\" (any free port) is outside" },
	{ { "new", "-p", "" }, false, NULL, "\"\" (any free port) is outside" },
	{ { "new", "-p61000" }, false, NULL, "\"61000\" (from \"-p61000\") is outside" },
	{ { "new", "-svp61000" }, false, NULL, "(from \"-svp61000\")" },
	{ { "new", "--port=60505" }, false, NULL,
	  "port \"ort=60505\" (from \"--port=60505\") is not PORT or PORT:PORT2" },
	{ { "new", "-p", "-v" }, false, NULL, "\"-v\" is not PORT" },
	{ { "new", "-p", "60505:" }, false, NULL, "not PORT or PORT:PORT2" },
	{ { "new", "-p", "60509:60505" }, false, NULL, "not PORT" },
	{ { "new", "-p", "0:60505" }, false, NULL, "not PORT" },
	{ { "new", "-p", "99999" }, false, NULL, "not PORT" },
	{ { "new", "-p", "60505x" }, false, NULL, "not PORT" },
	{ { "new", "-p", "1e5" }, false, NULL, "not PORT" },
	{ { "new", "-p", "\x1b[2J" }, false, NULL, "port \"?[2J\" is not PORT" },
	/* every -p getopt reads must be inside, the last (that counts) too */
	{ { "new", "-p", "60505", "-p", "61000" }, false, NULL, "\"61000\"" },
	{ { "new", "-p", "61000", "-p", "60505" }, false, NULL, "\"61000\"" },
	{ { "new", "-:p", "61000" }, false, NULL, "\"61000\"" },
	/* words getopt takes as another option's value, or never reads */
	{ { "new", "-l", "-p", "61000" }, false, "new|-p|" R "|-l|-p|61000", NULL },
	{ { "new", "-@", "-p", "61000" }, false, "new|-p|" R "|-@|-p|61000", NULL },
	{ { "new", "-i", "-p61000" }, false, "new|-p|" R "|-i|-p61000", NULL },
	{ { "new", "-c", "-p" }, false, "new|-p|" R "|-c|-p", NULL },
	{ { "new", "-v", "-p" }, false, "new|-p|" R "|-v|-p", NULL }, /* no value */
	{ { "new", "--", "-p", "61000" }, false, "new|-p|" R "|--|-p|61000", NULL },
	{ { "new", "-", "x" }, false, "new|-p|" R "|-|x", NULL },
	/* glibc getopt reads options after non-options, unless POSIXLY_CORRECT */
	{ { "new", "x", "-p", "61000" }, false, NULL, "\"61000\"" },
	{ { "new", "x", "-p", "61000" }, true, "new|-p|" R "|x|-p|61000", NULL },
	{ { "new", "-s", "x", "-p", "60505" }, true, "new|-p|" R "|-s|x|-p|60505", NULL },
	{ { "new", "-p", "60505", "x" }, true, SAME, NULL },
	/* help and version: mosh-server prints and exits, binding nothing */
	{ { "new", "-p", "61000", "-h" }, false, SAME, NULL },
	{ { "new", "--help" }, false, SAME, NULL },
	{ { "--version" }, false, SAME, NULL },
	{ { "new", "-l", "-h" }, false, SAME, NULL },           /* before getopt */
	{ { "new", "--", "--help" }, false, "new|-p|" R "|--|--help", NULL },
	/* legacy: [IP [PORT]] */
	{ { NULL }, false, "new|-p|" R, NULL },
	{ { "--", "sh" }, false, "new|-p|" R "|--|sh", NULL },
	{ { "198.18.0.2" }, false, "198.18.0.2|" R, NULL },
	{ { "198.18.0.2", "--", "sh" }, false, "198.18.0.2|" R "|--|sh", NULL },
	{ { "198.18.0.2", "60505" }, false, SAME, NULL },
	{ { "198.18.0.2", "61000" }, false, NULL, "\"61000\" is outside" },
	{ { "-p", "61000" }, false, NULL, "\"61000\" is outside" },
	{ { "new-ish", "-p", "61000" }, false, SAME, NULL },    /* usage error */
	{ { "a", "b", "c", "--", "d" }, false, SAME, NULL },
};

static size_t count(const char *const *w)
{
	size_t n = 0;

	while (n < MAXW && w[n])
		n++;
	return n;
}

static void join(char *dst, size_t len, char *const *w, size_t n)
{
	dst[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(dst + strlen(dst), len - strlen(dst), "%s%s", i ? "|" : "", w[i]);
}

/* glibc getopt as mosh-server calls it: over the words before "--", with
 * "new" as its argv[0]; the -p values in the order returned. */
static size_t getopt_ports(const char *const *w, size_t n, bool posix,
			   const char **ports)
{
	char *argv[MAXW + 1];
	size_t np = 0;
	int argc = 0, c;

	while ((size_t)argc < n && strcmp(w[argc], "--"))
		argc++;
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)w[i];
	argv[argc] = NULL;
	if (posix)
		setenv("POSIXLY_CORRECT", "1", 1);
	else
		unsetenv("POSIXLY_CORRECT");
	opterr = 0;
	optind = 0;                 /* glibc: start afresh, read the environment */
	while ((c = getopt(argc, argv, "@:i:p:c:svl:")) != -1)
		if (c == 'p')
			ports[np++] = optarg;
	unsetenv("POSIXLY_CORRECT");
	return np;
}

static void check_against_getopt(const struct row *r, size_t n)
{
	struct mh_srvargs_scan s;
	const char *ports[MAXW];
	size_t np;
	bool bad = false;

	mh_srvargs_scan((char *const *)r->args, n, r->posix, LO, HI, &s);
	if (s.form != MH_SRVARGS_NEW)
		return;
	np = getopt_ports(r->args, n, r->posix, ports);
	ck_assert_uint_eq(s.nports, np);
	if (np)
		ck_assert_str_eq(s.last, ports[np - 1]);
	for (size_t i = 0; i < np; i++) {
		long a, b;

		bad |= mh_srvport_parse(ports[i], &a, &b) || a == 0 || a < LO || b > HI;
	}
	ck_assert_int_eq(s.bad != NULL, bad);
}

START_TEST(table)
{
	const struct row *r = &rows[_i];
	size_t n = count(r->args), nout = 0;
	char *out[MAXW + MH_SRVARGS_EXTRA], range[MH_SRVARGS_RANGE_MAX];
	char why[512] = "", got[512], in[512];
	int ret;

	join(in, sizeof(in), (char *const *)r->args, n);
	ret = mh_srvargs_apply((char *const *)r->args, n, r->posix, LO, HI, out,
			       n + MH_SRVARGS_EXTRA, &nout, range, why, sizeof(why));
	if (!r->want) {
		ck_assert_msg(ret == -EPERM, "%s: not refused", in);
		ck_assert_msg(strstr(why, r->why), "%s: why is \"%s\"", in, why);
		ck_assert_msg(!strchr(why, '\n'), "%s: more than one line", in);
	} else {
		ck_assert_msg(ret == 0, "%s: refused: %s", in, why);
		join(got, sizeof(got), out, nout);
		ck_assert_str_eq(got, strcmp(r->want, SAME) ? r->want : in);
		for (size_t i = 0; strcmp(r->want, SAME) == 0 && i < n; i++)
			ck_assert_ptr_eq(out[i], r->args[i]);  /* the caller's words */
	}
	check_against_getopt(r, n);
}
END_TEST

START_TEST(room)
{
	char *args[] = { "new" }, *out[3], range[MH_SRVARGS_RANGE_MAX], why[64];
	size_t nout;

	ck_assert_int_eq(mh_srvargs_apply(args, 1, false, LO, HI, out, 3, &nout,
					  range, why, sizeof(why)), -ENOSPC);
	ck_assert_int_eq(mh_srvargs_apply(args, 1, false, 1, 65535, out, 4, &nout,
					  range, why, sizeof(why)), 0);
	ck_assert_str_eq(range, "1:65535");
}
END_TEST

/* mosh's parse_portrange, case by case */
START_TEST(port_ranges)
{
	static const struct { const char *s; long lo, hi; } ok[] = {
		{ "0", 0, 0 }, { "", 0, 0 }, { "65535", 65535, 65535 },
		{ "1:65535", 1, 65535 }, { " 7: 8", 7, 8 }, { "+7:+7", 7, 7 },
		{ "-0", 0, 0 }, { "007", 7, 7 },
	};
	static const char *bad[] = {
		"65536", "-1", "0:5", "5:4", "5:", "5:x", "x", "5 ", "5:6:7",
		"99999999999999999999", "5:65536", "0x10", ":5",
	};
	long lo, hi;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(mh_srvport_parse(ok[i].s, &lo, &hi) == 0, "%s", ok[i].s);
		ck_assert_int_eq(lo, ok[i].lo);
		ck_assert_int_eq(hi, ok[i].hi);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mh_srvport_parse(bad[i], &lo, &hi) == -EINVAL, "%s", bad[i]);
}
END_TEST

/* The user's own value stays when mosh-server honours it and it is not
 * longer than the site's; anything else gets the site's. */
START_TEST(network_timeout)
{
	static const struct { const char *user; bool set; } rows_t[] = {
		{ NULL, true }, { "", true }, { "300", false }, { "600", false },
		{ " 30", false }, { "601", true }, { "0", true }, { "-5", true },
		{ "abc", true }, { "30s", true }, { "30 ", true },
		{ "99999999999999999999", true }, { "-99999999999999999999", true },
	};
	char buf[16];

	for (size_t i = 0; i < sizeof(rows_t) / sizeof(rows_t[0]); i++) {
		strcpy(buf, "untouched");
		ck_assert_msg(mh_srvargs_tmout(rows_t[i].user, 600, buf, sizeof(buf)) ==
			      rows_t[i].set, "%s", rows_t[i].user ? rows_t[i].user : "(unset)");
		ck_assert_str_eq(buf, rows_t[i].set ? "600" : "untouched");
	}
	ck_assert(!mh_srvargs_tmout(NULL, 0, buf, sizeof(buf)));   /* off */
	ck_assert(!mh_srvargs_tmout("abc", 0, buf, sizeof(buf)));
	ck_assert(mh_srvargs_tmout(NULL, 31536000, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "31536000");
}
END_TEST

/* The next try: args as the hook ran mosh-server, the port the daemon
 * refused, and the next command line (NULL: none, the refusal is final). */
struct next_row {
	const char *args[MAXW];
	bool posix;
	uint16_t refused;
	const char *want;
};

static const struct next_row next_rows[] = {
	/* the site's range as the hook added it; the ports above the refused */
	{ { "new", "-p", "60001:60999", "-s", "-l", "LANG=C.UTF-8" }, false, 60001,
	  "new|-p|60002:60999|-s|-l|LANG=C.UTF-8" },
	{ { "new", "-p", R, "-i", "198.18.0.2" }, false, 60500,
	  "new|-p|60501:60509|-i|198.18.0.2" },
	{ { "new", "-p", R }, false, 60508, "new|-p|60509:60509" },
	{ { "new", "-p", " 60500: 60509" }, false, 60500, "new|-p|60501:60509" },
	/* none above it, a single port, any port, a port outside the range */
	{ { "new", "-p", R }, false, 60509, NULL },
	{ { "new", "-p", "60505" }, false, 60505, NULL },
	{ { "new", "-p", "60505:60505" }, false, 60505, NULL },
	{ { "new", "-p", "0" }, false, 43210, NULL },
	{ { "new", "-p", R }, false, 60499, NULL },
	{ { "new", "-p", R }, false, 60510, NULL },
	{ { "new", "-p", "x" }, false, 60500, NULL },
	/* no -p: mosh-server's own range, 60001-60999 */
	{ { "new", "-s", "-c", "256" }, false, 60001, "new|-p|60002:60999|-s|-c|256" },
	{ { "new" }, false, 60998, "new|-p|60999:60999" },
	{ { "new" }, false, 60999, NULL },
	{ { "new" }, false, 60000, NULL },
	/* the last -p counts; one in an option word gets "-p NEXT" after it */
	{ { "new", "-p", "60505", "-p", R }, false, 60500, "new|-p|60505|-p|60501:60509" },
	{ { "new", "-p", R, "-p", "60505" }, false, 60505, NULL },
	{ { "new", "-svp" R, "-c", "8" }, false, 60500,
	  "new|-svp" R "|-p|60501:60509|-c|8" },
	{ { "new", "-p" R }, false, 60503, "new|-p" R "|-p|60504:60509" },
	{ { "new", "-p", R, "--", "-p", "61000" }, false, 60500,
	  "new|-p|60501:60509|--|-p|61000" },
	/* POSIXLY_CORRECT: a -p after a non-option is not read */
	{ { "new", "x", "-p", R }, true, 60001, "new|-p|60002:60999|x|-p|" R },
	{ { "new", "x", "-p", R }, false, 60500, "new|x|-p|60501:60509" },
	/* legacy [IP [PORT]] */
	{ { NULL }, false, 60001, "new|-p|60002:60999" },
	{ { "--", "sh" }, false, 60001, "new|-p|60002:60999|--|sh" },
	{ { "198.18.0.2" }, false, 60001, "198.18.0.2|60002:60999" },
	{ { "198.18.0.2", R }, false, 60500, "198.18.0.2|60501:60509" },
	{ { "198.18.0.2", "60505" }, false, 60505, NULL },
	/* mosh-server binds nothing */
	{ { "new", "--help" }, false, 60001, NULL },
	{ { "a", "b", "c" }, false, 60001, NULL },
};

START_TEST(next_table)
{
	const struct next_row *r = &next_rows[_i];
	size_t n = count(r->args), nout = 0;
	char *out[MAXW + MH_SRVARGS_EXTRA], next[MH_SRVARGS_RANGE_MAX];
	char got[512], in[512];
	const char *ports[MAXW + MH_SRVARGS_EXTRA];
	size_t np;
	int ret;

	join(in, sizeof(in), (char *const *)r->args, n);
	ret = mh_srvargs_next((char *const *)r->args, n, r->posix, r->refused, out,
			      n + MH_SRVARGS_EXTRA, &nout, next);
	if (!r->want) {
		ck_assert_msg(ret == -ENOENT, "%s after %u: a next try (%d)", in,
			      r->refused, ret);
		return;
	}
	ck_assert_msg(ret == 0, "%s after %u: none (%d)", in, r->refused, ret);
	join(got, sizeof(got), out, nout);
	ck_assert_str_eq(got, r->want);
	if (strcmp(out[0], "new"))
		return;           /* legacy: the PORT word is the range */
	/* getopt reads the next range last: the one mosh-server uses */
	np = getopt_ports((const char *const *)out, nout, r->posix, ports);
	ck_assert_uint_ge(np, 1);
	ck_assert_ptr_eq(ports[np - 1], next);
}
END_TEST

START_TEST(next_room)
{
	char *args[] = { "new" }, *out[3], next[MH_SRVARGS_RANGE_MAX];
	size_t nout;

	ck_assert_int_eq(mh_srvargs_next(args, 1, false, 60001, out, 3, &nout, next),
			 -ENOSPC);
	ck_assert_int_eq(mh_srvargs_next(args, 1, false, 60001, out, 4, &nout, next), 0);
	ck_assert_str_eq(next, "60002:60999");
}
END_TEST

/* Which refusals another port may not meet: the port's session, or
 * another user's socket on it; never a gateway's, whatever it says. */
START_TEST(port_taken)
{
	static const struct { uint8_t status; const char *reason; bool taken; } t[] = {
		{ MHC_ERR_EXISTS, "port 60001 already has a session", true },
		{ MHC_ERR_EXISTS, "", true },
		{ MHC_ERR_NOT_OWNER, "UDP port 60001 is shared with another user's "
		  "socket (uid 1002, at 127.0.0.2)", true },
		{ MHC_ERR_NOT_OWNER, "UDP port 60001 is not bound by uid 1001", false },
		{ MHC_ERR_NOT_OWNER, "", false },
		{ MHC_ERR_NOT_OWNER, NULL, false },
		{ MHC_ERR_GATEWAY, "gateway 198.18.0.9 refused: port 60001 already has "
		  "a session; UDP port 60001 is shared with another user's socket", false },
		{ MHC_ERR_QUOTA, "uid 1001 already has 20 sessions", false },
		{ MHC_ERR_RANGE, "port 60001 is not in the managed range", false },
		{ MHC_ERR_PID, "", false },
		{ MHC_ERR_KEY, "", false },
		{ MHC_ERR_INTERNAL, "", false },
		{ MHC_ERR_PROTOCOL, "", false },
		{ MHC_OK, "", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(mhc_port_taken(t[i].status, t[i].reason) == t[i].taken,
			      "%s \"%s\"", mhc_status_name(t[i].status),
			      t[i].reason ? t[i].reason : "(null)");
}
END_TEST

static Suite *serverargs_suite(void)
{
	Suite *s = suite_create("serverargs");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, table, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, room);
	tcase_add_test(tc, port_ranges);
	tcase_add_test(tc, network_timeout);
	tcase_add_loop_test(tc, next_table, 0,
			    (int)(sizeof(next_rows) / sizeof(next_rows[0])));
	tcase_add_test(tc, next_room);
	tcase_add_test(tc, port_taken);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(serverargs_suite());
}
