/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-server's command line read by mosh-server's own rules, and the
 * site's defaults applied to it (mosh-helper-hook): the port range added
 * when the user gave none, a port outside the site's range refused, and
 * MOSH_SERVER_NETWORK_TMOUT for its environment. Pure: no I/O.
 */
#ifndef MH_SERVERARGS_H
#define MH_SERVERARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What mosh-server (mosh 1.4, src/frontend/mosh-server.cc main()) does
 * with argv[1..]: everything from the first "--" on is the command; before
 * it, "-h", "--help" or "--version" print and exit; "new" first means
 * getopt(3) with "@:i:p:c:svl:" over the rest (glibc: options after
 * non-options too, unless POSIXLY_CORRECT is set; every -p read, the last
 * one counts); otherwise 0, 1 or 2 words are [IP [PORT]] and more a usage
 * error. mosh-server has no long options: "--port=N" reads as the unknown
 * option '-' followed by -p with the value "ort=N". */
enum mh_srvargs_form {
	MH_SRVARGS_EXITS,    /* help, version or usage error: binds nothing */
	MH_SRVARGS_NEW,      /* "new" and getopt options */
	MH_SRVARGS_LEGACY,   /* [IP [PORT]] */
};

struct mh_srvargs_scan {
	enum mh_srvargs_form form;
	size_t nopts;        /* words before the first "--" */
	size_t nports;       /* port values mosh-server reads */
	const char *last;    /* the one it uses (the last), or NULL */
	const char *bad;     /* the first outside the site's range (or not a
				port range at all), or NULL */
	size_t bad_word;     /* index of the word bad came from */
	size_t last_word;    /* index of the word last came from */
};

/* Reads args[0..n) as mosh-server would; posix: POSIXLY_CORRECT is set in
 * its environment. A port value is outside unless it is a port or range
 * (mh_srvport_parse) whose every port lies in lo..hi. */
void mh_srvargs_scan(char *const *args, size_t n, bool posix, uint16_t lo,
		     uint16_t hi, struct mh_srvargs_scan *s);

/* mosh's Connection::parse_portrange: "PORT" or "LOW:HIGH", strtol
 * base 10 each (so leading blanks and a sign pass, "" is 0), 0..65535,
 * low <= high, and no range starting at 0. 0, or -EINVAL. */
int mh_srvport_parse(const char *s, long *low, long *high);

#define MH_SRVARGS_EXTRA     3   /* the most words mh_srvargs_apply adds */
#define MH_SRVARGS_RANGE_MAX 12  /* "65535:65535" */

/* The arguments to run mosh-server with under the site's range lo..hi:
 * args unchanged when a port inside it is given (or mosh-server will only
 * print and exit), else with "-p LOW:HIGH" (or the legacy PORT word)
 * added where mosh-server reads it first; range holds that text. out must
 * have room for n + MH_SRVARGS_EXTRA pointers. Returns 0 with out[0..*nout),
 * -EPERM with one line for the user in why (no newline) when a port is
 * outside the range, -ENOSPC when cap is too small. */
int mh_srvargs_apply(char *const *args, size_t n, bool posix, uint16_t lo,
		     uint16_t hi, char **out, size_t cap, size_t *nout,
		     char range[MH_SRVARGS_RANGE_MAX], char *why, size_t whylen);

/* mosh-server's own range when it is given no port (mosh's network.h,
 * PORT_RANGE_LOW and PORT_RANGE_HIGH) */
#define MH_SRVPORT_LOW  60001
#define MH_SRVPORT_HIGH 60999

/* The next try after the daemon refused mosh-server's port `refused`
 * because someone else holds it (mhc_port_taken): the range mosh-server
 * reads from args (the last -p value, or its own range without one)
 * narrowed to the ports above refused, "REFUSED+1:HIGH" in next, and args
 * with it in out: the word holding that value replaced, or "-p NEXT"
 * after it when it shares an option word ("-svpRANGE"), or added as
 * mh_srvargs_apply adds a range. out must have room for n +
 * MH_SRVARGS_EXTRA pointers. Returns 0; -ENOENT when there is no next
 * range: a single port (or 0, any port), refused at its top or outside it,
 * or a command line on which mosh-server binds nothing; -ENOSPC. */
int mh_srvargs_next(char *const *args, size_t n, bool posix, uint16_t refused,
		    char **out, size_t cap, size_t *nout,
		    char next[MH_SRVARGS_RANGE_MAX]);

/* MOSH_SERVER_NETWORK_TMOUT under the site's limit (seconds, > 0): the
 * user's own value (user, NULL if unset) is kept when mosh-server would
 * honour it (a positive decimal, as it reads it) and it is no longer than
 * the limit; otherwise the limit is to be set. Returns true with the
 * value to set in buf, false to leave the variable as it is. */
bool mh_srvargs_tmout(const char *user, unsigned limit, char *buf, size_t len);

#endif
