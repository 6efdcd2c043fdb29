/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-server's command line as mosh-server itself reads it (the "--"
 * split, help and version, "new" with glibc getopt's rules, the legacy
 * [IP [PORT]] form, parse_portrange), and the site's defaults applied to
 * it for mosh-helper-hook: the port range added or a port outside it
 * refused, the range of the next try when the daemon refused a port
 * someone else holds, and the network timeout for its environment. Pure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serverargs.h"

#define SRV_OPTSTRING "@:i:p:c:svl:"   /* mosh-server's getopt string */
#define SHOW_MAX 40                    /* bytes of a user's word quoted back */

int mh_srvport_parse(const char *s, long *low, long *high)
{
	int saved = errno, r = -EINVAL;
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || (*end && *end != ':') || v < 0 || v > 65535)
		goto out;
	*low = *high = v;
	if (*end) {
		errno = 0;
		v = strtol(end + 1, &end, 10);
		if (errno || *end || v < 0 || v > 65535 || *low > v || *low == 0)
			goto out;
		*high = v;
	}
	r = 0;
out:
	errno = saved;
	return r;
}

static bool port_inside(const char *v, uint16_t lo, uint16_t hi)
{
	long a, b;

	return mh_srvport_parse(v, &a, &b) == 0 && a != 0 && a >= lo && b <= hi;
}

static void note_port(struct mh_srvargs_scan *s, const char *v, size_t word,
		      uint16_t lo, uint16_t hi)
{
	s->nports++;
	s->last = v;
	s->last_word = word;
	if (!s->bad && !port_inside(v, lo, hi)) {
		s->bad = v;
		s->bad_word = word;
	}
}

/* One option word args[i] ("-" and option characters), as getopt reads
 * it: unknown characters are reported and skipped, an option taking a
 * value takes the rest of the word or else the next word (whatever it
 * looks like), and at the end of the words it has none. Returns the index
 * of the next word getopt looks at. */
static size_t read_option_word(char *const *args, size_t i, size_t end,
			       struct mh_srvargs_scan *s, uint16_t lo, uint16_t hi)
{
	const char *a = args[i];

	for (size_t j = 1; a[j]; j++) {
		const char *spec = strchr(SRV_OPTSTRING, a[j]);
		const char *value;
		size_t word = i;

		if (!spec || a[j] == ':' || spec[1] != ':')
			continue;            /* unknown, or a flag (-s, -v) */
		if (a[j + 1])
			value = a + j + 1;
		else if (i + 1 < end)
			value = args[word = ++i];
		else
			return end;          /* its value is missing */
		if (a[j] == 'p')
			note_port(s, value, word, lo, hi);
		return i + 1;
	}
	return i + 1;
}

/* getopt over args[1..end) ("new" is its argv[0]): non-options are
 * skipped, or end the options under POSIXLY_CORRECT. */
static void scan_new(char *const *args, size_t end, bool posix,
		     struct mh_srvargs_scan *s, uint16_t lo, uint16_t hi)
{
	for (size_t i = 1; i < end;) {
		const char *a = args[i];

		if (a[0] != '-' || a[1] == '\0') {
			if (posix)
				return;
			i++;
			continue;
		}
		i = read_option_word(args, i, end, s, lo, hi);
	}
}

static bool prints_and_exits(char *const *args, size_t nopts)
{
	for (size_t i = 0; i < nopts; i++)
		if (!strcmp(args[i], "-h") || !strcmp(args[i], "--help") ||
		    !strcmp(args[i], "--version"))
			return true;
	return false;
}

void mh_srvargs_scan(char *const *args, size_t n, bool posix, uint16_t lo,
		     uint16_t hi, struct mh_srvargs_scan *s)
{
	memset(s, 0, sizeof(*s));
	while (s->nopts < n && strcmp(args[s->nopts], "--"))
		s->nopts++;
	if (prints_and_exits(args, s->nopts)) {
		s->form = MH_SRVARGS_EXITS;
	} else if (s->nopts >= 1 && !strcmp(args[0], "new")) {
		s->form = MH_SRVARGS_NEW;
		scan_new(args, s->nopts, posix, s, lo, hi);
	} else if (s->nopts <= 2) {
		s->form = MH_SRVARGS_LEGACY;
		if (s->nopts == 2)
			note_port(s, args[1], 1, lo, hi);
	} else {
		s->form = MH_SRVARGS_EXITS;   /* usage error, exit 1 */
	}
}

/* At most SHOW_MAX bytes of a user's word, printable ASCII only. */
static void show(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i < SHOW_MAX; i++)
		dst[i] = (src[i] < 0x20 || src[i] > 0x7e || src[i] == '"') ? '?' : src[i];
	strcpy(dst + i, src[i] ? "..." : "");
}

static void refusal(const struct mh_srvargs_scan *s, char *const *args,
		    const char *range, char *why, size_t len)
{
	char v[SHOW_MAX + 4], w[SHOW_MAX + 4], from[SHOW_MAX + 16] = "";
	long a, b;

	show(v, s->bad);
	if (args[s->bad_word] != s->bad) {
		show(w, args[s->bad_word]);
		snprintf(from, sizeof(from), " (from \"%s\")", w);
	}
	if (mh_srvport_parse(s->bad, &a, &b))
		snprintf(why, len, "port \"%s\"%s is not PORT or PORT:PORT2 as "
			 "mosh-server reads -p; ask for a port in %s "
			 "(mosh -p PORT[:PORT2]), or leave -p out", v, from, range);
	else
		snprintf(why, len, "port \"%s\"%s%s is outside the range this "
			 "server gives mosh sessions (%s); ask for a port in it "
			 "(mosh -p PORT[:PORT2]), or leave -p out", v, from,
			 a == 0 ? " (any free port)" : "", range);
}

/* out: args[0..at), add[0..nadd), then args[at + skip..n). */
static void splice(char *const *args, size_t n, size_t at, size_t skip,
		   char *const *add, size_t nadd, char **out, size_t *nout)
{
	size_t k = 0;

	for (size_t i = 0; i < at; i++)
		out[k++] = args[i];
	for (size_t i = 0; i < nadd; i++)
		out[k++] = add[i];
	for (size_t i = at + skip; i < n; i++)
		out[k++] = args[i];
	*nout = k;
}

/* args with range added where mosh-server reads it first, when they give
 * no port it reads; else as they are. */
static void add_range(char *const *args, size_t n,
		      const struct mh_srvargs_scan *s, char *range, char **out,
		      size_t *nout)
{
	char *add[MH_SRVARGS_EXTRA] = { "new", "-p", range };

	if (s->form == MH_SRVARGS_NEW && !s->nports)
		splice(args, n, 1, 0, add + 1, 2, out, nout);  /* new -p RANGE ... */
	else if (s->form == MH_SRVARGS_LEGACY && s->nopts == 0)
		splice(args, n, 0, 0, add, 3, out, nout);      /* new -p RANGE [-- command] */
	else if (s->form == MH_SRVARGS_LEGACY && s->nopts == 1)
		splice(args, n, 1, 0, add + 2, 1, out, nout);  /* IP RANGE [-- command] */
	else
		splice(args, n, 0, 0, NULL, 0, out, nout);
}

int mh_srvargs_apply(char *const *args, size_t n, bool posix, uint16_t lo,
		     uint16_t hi, char **out, size_t cap, size_t *nout,
		     char range[MH_SRVARGS_RANGE_MAX], char *why, size_t whylen)
{
	struct mh_srvargs_scan s;

	if (cap < n + MH_SRVARGS_EXTRA)
		return -ENOSPC;
	snprintf(range, MH_SRVARGS_RANGE_MAX, "%u:%u", lo, hi);
	mh_srvargs_scan(args, n, posix, lo, hi, &s);
	if (s.bad) {
		refusal(&s, args, range, why, whylen);
		return -EPERM;
	}
	add_range(args, n, &s, range, out, nout);
	return 0;
}

int mh_srvargs_next(char *const *args, size_t n, bool posix, uint16_t refused,
		    char **out, size_t cap, size_t *nout,
		    char next[MH_SRVARGS_RANGE_MAX])
{
	char *add[2] = { "-p", next };
	long lo = MH_SRVPORT_LOW, hi = MH_SRVPORT_HIGH;
	struct mh_srvargs_scan s;

	if (cap < n + MH_SRVARGS_EXTRA)
		return -ENOSPC;
	mh_srvargs_scan(args, n, posix, 1, 65535, &s);
	if (s.form == MH_SRVARGS_EXITS ||
	    (s.last && mh_srvport_parse(s.last, &lo, &hi)))
		return -ENOENT;
	/* "0" (any port: lo = hi = 0) and a single port have no next one */
	if (refused < lo || refused >= hi)
		return -ENOENT;
	snprintf(next, MH_SRVARGS_RANGE_MAX, "%u:%u", refused + 1u, (unsigned)hi);
	if (!s.last)
		add_range(args, n, &s, next, out, nout);
	else if (args[s.last_word] == s.last)
		splice(args, n, s.last_word, 1, add + 1, 1, out, nout);
	else   /* getopt reads the next word as an option: the last -p counts */
		splice(args, n, s.last_word + 1, 0, add, 2, out, nout);
	return 0;
}

bool mh_srvargs_tmout(const char *user, unsigned limit, char *buf, size_t len)
{
	int saved = errno;
	bool honoured = false;
	char *end;
	long v;

	if (!limit)
		return false;
	if (user && *user) {
		errno = 0;
		v = strtol(user, &end, 10);
		honoured = !*end && !(v == 0 && errno == EINVAL) && v > 0;
		errno = saved;
		if (honoured && (unsigned long)v <= limit)
			return false;
	}
	snprintf(buf, len, "%u", limit);
	return true;
}
