/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for lib/serverargs.c, the hook's reading and rewriting
 * of mosh-server's command line. Input: one flags byte (bit 0:
 * POSIXLY_CORRECT), the site's range as two big-endian 16-bit ports, a
 * 32-bit network-timeout limit, then the words, separated by NUL bytes.
 * Checked against glibc's own getopt with mosh-server's option string: the
 * -p values read, the last, and whether any lies outside. A refusal has
 * one printable line; an accepted line runs with at most the range added,
 * where getopt reads it, the words from "--" on untouched, and reads back
 * as accepted and unchanged with every port inside the range.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "serverargs.h"

#define MAX_WORDS 48
#define MAX_INPUT 4096

static char text[MAX_INPUT + 1];
static char *words[MAX_WORDS];

static size_t split(const uint8_t *p, size_t n)
{
	size_t nw = 0;

	memcpy(text, p, n);
	text[n] = '\0';
	for (size_t i = 0; i <= n && nw < MAX_WORDS; i++) {
		words[nw++] = text + i;
		i += strlen(text + i);
	}
	return n ? nw : 0;
}

static size_t before_dashdash(char *const *w, size_t n)
{
	size_t i = 0;

	while (i < n && strcmp(w[i], "--"))
		i++;
	return i;
}

static bool outside(const char *v, uint16_t lo, uint16_t hi)
{
	long a, b;

	return mh_srvport_parse(v, &a, &b) || a == 0 || a < lo || b > hi;
}

/* glibc getopt over w[1..k) with "new" as its argv[0], as mosh-server
 * calls it. Returns the number of -p values; *last and *any_out. */
static size_t getopt_ports(char *const *w, size_t n, bool posix, uint16_t lo,
			   uint16_t hi, const char **last, bool *any_out)
{
	char *argv[MAX_WORDS + MH_SRVARGS_EXTRA + 1];
	int argc = (int)before_dashdash(w, n), c;
	size_t np = 0;

	memcpy(argv, w, (size_t)argc * sizeof(*argv));
	argv[argc] = NULL;
	if (posix)
		setenv("POSIXLY_CORRECT", "1", 1);
	opterr = 0;
	optind = 0;
	*last = NULL;
	*any_out = false;
	while ((c = getopt(argc, argv, "@:i:p:c:svl:")) != -1) {
		if (c != 'p')
			continue;
		np++;
		*last = optarg;
		*any_out |= outside(optarg, lo, hi);
	}
	unsetenv("POSIXLY_CORRECT");
	return np;
}

static void check_scan(char *const *w, size_t n, bool posix, uint16_t lo,
		       uint16_t hi, struct mh_srvargs_scan *s)
{
	const char *last;
	bool any_out;
	size_t np;

	mh_srvargs_scan(w, n, posix, lo, hi, s);
	FUZZ_ASSERT(s->nopts == before_dashdash(w, n), "nopts %zu", s->nopts);
	if (s->form != MH_SRVARGS_NEW)
		return;
	np = getopt_ports(w, n, posix, lo, hi, &last, &any_out);
	FUZZ_ASSERT(s->nports == np, "%zu -p values, getopt reads %zu", s->nports, np);
	FUZZ_ASSERT(!np || !strcmp(s->last, last), "last -p \"%s\", getopt \"%s\"",
		    s->last, last);
	FUZZ_ASSERT((s->bad != NULL) == any_out, "outside: %d, getopt: %d",
		    s->bad != NULL, any_out);
}

static void check_refusal(const char *why)
{
	FUZZ_ASSERT(why[0], "refused without a reason");
	for (const char *p = why; *p; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p <= 0x7e, "byte 0x%02x in the refusal",
			    (unsigned char)*p);
}

/* out is w with 0-3 words added at one place, the rest the caller's. */
static void check_added(char *const *w, size_t n, char **out, size_t nout,
			const struct mh_srvargs_scan *s, const char *range)
{
	size_t add = nout - n, at = 0;

	FUZZ_ASSERT(add <= MH_SRVARGS_EXTRA, "%zu words added", add);
	if (!add) {
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(out[i] == w[i], "word %zu changed", i);
		return;
	}
	FUZZ_ASSERT(s->form != MH_SRVARGS_EXITS && s->nports == 0,
		    "range added to a line that %s", s->nports ? "has a port" : "exits");
	while (at < n && out[at] == w[at])
		at++;
	FUZZ_ASSERT(at <= 1, "added at word %zu", at);
	FUZZ_ASSERT(out[at + add - 1] == range, "the range is not the last word added");
	for (size_t i = at; i < n; i++)
		FUZZ_ASSERT(out[i + add] == w[i], "word %zu moved wrongly", i);
}

static void check_apply(char *const *w, size_t n, bool posix, uint16_t lo,
			uint16_t hi)
{
	char *out[MAX_WORDS + MH_SRVARGS_EXTRA], *again[MAX_WORDS + 2 * MH_SRVARGS_EXTRA];
	char range[MH_SRVARGS_RANGE_MAX], range2[MH_SRVARGS_RANGE_MAX];
	char why[512] = "", why2[512] = "";
	struct mh_srvargs_scan s, s2;
	size_t nout = 0, nagain = 0;
	int r;

	check_scan(w, n, posix, lo, hi, &s);
	r = mh_srvargs_apply(w, n, posix, lo, hi, out, n + MH_SRVARGS_EXTRA, &nout,
			     range, why, sizeof(why));
	FUZZ_ASSERT(r == 0 || r == -EPERM, "apply: %d", r);
	FUZZ_ASSERT((r == -EPERM) == (s.bad != NULL), "refused %d, outside %d",
		    r == -EPERM, s.bad != NULL);
	if (r) {
		check_refusal(why);
		return;
	}
	check_added(w, n, out, nout, &s, range);
	/* what runs reads as accepted, unchanged, with its ports inside */
	check_scan(out, nout, posix, lo, hi, &s2);
	FUZZ_ASSERT(!s2.bad, "the rewritten line has a port outside");
	FUZZ_ASSERT(s2.form == MH_SRVARGS_EXITS || s2.nports >= 1,
		    "the rewritten line asks for no port");
	FUZZ_ASSERT(mh_srvargs_apply(out, nout, posix, lo, hi, again,
				     nout + MH_SRVARGS_EXTRA, &nagain, range2,
				     why2, sizeof(why2)) == 0 && nagain == nout,
		    "the rewritten line is changed again: %s", why2);
}

static void check_tmout(const char *user, unsigned limit)
{
	char buf[16] = "", *end;
	bool set = mh_srvargs_tmout(user, limit, buf, sizeof(buf));
	long long v;

	if (!limit) {
		FUZZ_ASSERT(!set, "set with the limit off");
		return;
	}
	errno = 0;
	v = user && *user ? strtoll(user, &end, 10) : 0;
	if (!set) {
		FUZZ_ASSERT(user && *user && !*end && !errno && v > 0 &&
			    v <= (long long)limit, "kept \"%s\" over %u", user, limit);
	} else {
		FUZZ_ASSERT(strtoul(buf, NULL, 10) == limit, "set %s, limit %u", buf, limit);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t lo, hi;
	unsigned limit;
	size_t n;

	if (size < 9 || size - 9 > MAX_INPUT)
		return 0;
	lo = (uint16_t)(data[1] << 8 | data[2]);
	hi = (uint16_t)(data[3] << 8 | data[4]);
	limit = (unsigned)data[5] << 24 | (unsigned)data[6] << 16 |
		(unsigned)data[7] << 8 | data[8];
	if (!lo || lo > hi)
		lo = 60001, hi = 60999;
	n = split(data + 9, size - 9);
	check_apply(words, n, data[0] & 1, lo, hi);
	check_tmout(n ? words[n - 1] : NULL, limit % 31536001u);
	return 0;
}
