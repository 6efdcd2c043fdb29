/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A guard in front of libconfig 1.5, which silently wraps an integer
 * literal that does not fit in 32 bits (9999999999 reads as 1410065407,
 * 4294967356 as 60). The file's text is scanned, outside strings and
 * comments, and such literals are refused with their line. So is
 * libconfig's @include: a second file would escape this scan and the size
 * limit, and a firewall's configuration should be one file to review.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "config_int.h"

static const char *skip_string(const char *p, unsigned *line)
{
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (*p == '\n')
			(*line)++;
	}
	return *p ? p + 1 : p;
}

static const char *skip_comment(const char *p, unsigned *line)
{
	if (p[0] == '/' && p[1] == '*') {
		for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
			if (*p == '\n')
				(*line)++;
		return *p ? p + 2 : p;
	}
	while (*p && *p != '\n')
		p++;
	return p;
}

static bool is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '*';
}

/* true if the number token [p, end) is an integer libconfig would wrap. */
static bool int_too_wide(const char *p, const char *end)
{
	bool hex = end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	const char *d = p + ((*p == '-' || *p == '+') ? 1 : 0) + (hex ? 2 : 0);
	unsigned long long v, lim = INT_MAX;

	if (end[-1] == 'L' || d == end)
		return false;
	for (const char *q = d; q < end; q++)
		if (!(hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q)))
			return false;     /* a float, or not a number at all */
	if (hex)
		lim = 0xffffffffULL;          /* read as unsigned, then cast */
	else if (*p == '-')
		lim = (unsigned long long)INT_MAX + 1;
	errno = 0;
	v = strtoull(d, NULL, hex ? 16 : 10);
	return errno == ERANGE || v > lim;
}

/* End of the number token at p: digits, letters (hex, L, exponent), dots,
 * and a sign right after an exponent. */
static const char *skip_number(const char *p)
{
	for (p++; isalnum((unsigned char)*p) || *p == '.' ||
		  ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E')); p++)
		;
	return p;
}

int mh_config_scan_ints(const char *text, const char *path, char *err,
			size_t errlen)
{
	unsigned line = 1;
	const char *p = text, *tok;

	while (*p) {
		if (*p == '"') {
			p = skip_string(p, &line);
		} else if (*p == '#' || (p[0] == '/' && (p[1] == '/' || p[1] == '*'))) {
			p = skip_comment(p, &line);
		} else if (*p == '@') {
			snprintf(err, errlen, "%s:%u: @include is not allowed: keep the "
				 "whole configuration in this one file", path, line);
			return -EINVAL;
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			while (is_name_char(*p))
				p++;
		} else if (isdigit((unsigned char)*p) ||
			   ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]))) {
			tok = p;
			p = skip_number(p);
			if (int_too_wide(tok, p)) {
				snprintf(err, errlen,
					 "%s:%u: integer %.*s does not fit in 32 bits",
					 path, line, (int)(p - tok > 40 ? 40 : p - tok), tok);
				return -EINVAL;
			}
		} else {
			line += *p++ == '\n';
		}
	}
	return 0;
}
