/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * promcheck: a strict checker of the Prometheus text exposition format
 * (0.0.4), standing in for `promtool check metrics` (Debian's prometheus
 * package is 19 MB with the whole server). Syntax, HELP/TYPE placement,
 * contiguous families, duplicates, promtool's lints (counters _total,
 * base units, snake case) and ours (a -p prefix, no family without samples);
 * prints each sample as "name{labels} value" (labels sorted) when all is
 * well, else "line N: why" and exit 1.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MAX_LINE    65536
#define MAX_ITEMS   4096     /* families, samples: bounds every list */
#define MAX_LABELS  32

struct family {
	char name[256];
	char type[16];
	bool help, typed, sampled, closed;
};

static struct family fam[MAX_ITEMS];
static unsigned n_fam;
static char *seen[MAX_ITEMS];   /* canonical samples, for duplicates */
static unsigned n_seen;
static const char *prefix = "";
static unsigned lineno;

static void fail(const char *why, const char *what)
{
	fprintf(stderr, "promcheck: line %u: %s%s%s\n", lineno, why,
		what ? ": " : "", what ? what : "");
	exit(1);
}

static struct family *family_of(const char *name, bool create)
{
	for (unsigned i = 0; i < n_fam; i++)
		if (!strcmp(fam[i].name, name))
			return &fam[i];
	if (!create)
		return NULL;
	if (n_fam >= MAX_ITEMS || strlen(name) >= sizeof(fam[0].name))
		fail("too many families or too long a name", name);
	snprintf(fam[n_fam].name, sizeof(fam[0].name), "%s", name);
	return &fam[n_fam++];
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* at *p, copied into out. */
static bool take_name(const char **p, char *out, size_t len, bool colon)
{
	const char *s = *p;
	size_t n = 0;

	if (!(isalpha((unsigned char)*s) || *s == '_' || (colon && *s == ':')))
		return false;
	while (isalnum((unsigned char)s[n]) || s[n] == '_' || (colon && s[n] == ':'))
		n++;
	if (n >= len)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return true;
}

static void skip_blank(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* promtool's lints, and ours: the prefix, snake case, base units. */
static void lint_name(const char *name)
{
	static const char *const not_base[] = { "milliseconds", "microseconds",
		"nanoseconds", "minutes", "hours", "days", "ms", "us", "ns", "kilobytes",
		"megabytes", "gigabytes", "kb", "mb", "gb", "percent", NULL };
	char copy[256], *tok, *save;

	if (strncmp(name, prefix, strlen(prefix)))
		fail("name without the prefix", name);
	for (const char *s = name; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
			fail("name not in snake_case", name);
	snprintf(copy, sizeof(copy), "%s", name);
	for (tok = strtok_r(copy, "_", &save); tok; tok = strtok_r(NULL, "_", &save))
		for (int i = 0; not_base[i]; i++)
			if (!strcmp(tok, not_base[i]))
				fail("name with a unit that is not a base unit", name);
}

/* HELP text: any bytes, escapes \\ and \n only. */
static void check_help(const char *s)
{
	for (; *s; s++)
		if (*s == '\\' && (s[1] != '\\' && s[1] != 'n'))
			fail("bad escape in HELP", s);
		else if (*s == '\\')
			s++;
}

static void meta(const char *p)
{
	char kw[8], name[256];
	struct family *f;

	p++;
	skip_blank(&p);
	if (strncmp(p, "HELP", 4) && strncmp(p, "TYPE", 4))
		return;     /* a comment */
	if (p[4] != ' ' && p[4] != '\t')
		return;
	memcpy(kw, p, 4);
	kw[4] = '\0';
	p += 4;
	skip_blank(&p);
	if (!take_name(&p, name, sizeof(name), true))
		fail("bad metric name after", kw);
	if (*p && *p != ' ' && *p != '\t')
		fail("bad metric name after", kw);
	skip_blank(&p);
	f = family_of(name, true);
	if (f->sampled)
		fail(kw[0] == 'H' ? "HELP after the family's samples" :
		     "TYPE after the family's samples", name);
	if (kw[0] == 'H') {
		if (f->help)
			fail("second HELP", name);
		f->help = true;
		check_help(p);
		return;
	}
	if (f->typed)
		fail("second TYPE", name);
	if (strcmp(p, "counter") && strcmp(p, "gauge") && strcmp(p, "histogram") &&
	    strcmp(p, "summary") && strcmp(p, "untyped"))
		fail("unknown TYPE", p);
	snprintf(f->type, sizeof(f->type), "%s", p);
	f->typed = true;
}

/* The family a sample name belongs to (histogram and summary suffixes). */
static struct family *sample_family(const char *name)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	char base[256];
	struct family *f;

	for (int i = 0; i < 3; i++) {
		size_t n = strlen(name), k = strlen(sfx[i]);

		if (!ends_with(name, sfx[i]) || n - k >= sizeof(base))
			continue;
		memcpy(base, name, n - k);
		base[n - k] = '\0';
		f = family_of(base, false);
		if (f && (!strcmp(f->type, "histogram") ||
			  (i && !strcmp(f->type, "summary"))))
			return f;
	}
	return family_of(name, true);
}

/* A float as Go's ParseFloat takes it (decimal only), or [+-]Inf, NaN. */
static bool take_value(const char **p, double *v)
{
	const char *s = *p;
	char *end;

	if (!strncmp(s, "NaN", 3) || !strncmp(s, "+Inf", 4) || !strncmp(s, "-Inf", 4) ||
	    !strncmp(s, "Inf", 3)) {
		*v = s[0] == 'N' ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
		*p = s + (s[0] == 'N' || s[0] == 'I' ? 3 : 4);
		return true;
	}
	for (const char *c = s; *c && *c != ' ' && *c != '\t'; c++)
		if (!isdigit((unsigned char)*c) && !strchr("+-.eE", *c))
			return false;
	*v = strtod(s, &end);
	if (end == s)
		return false;
	*p = end;
	return true;
}

/* {name="value",...}: canonical text (labels sorted) into out. */
static void take_labels(const char **p, char *out, size_t len)
{
	char names[MAX_LABELS][128], vals[MAX_LABELS][512];
	int idx[MAX_LABELS], n = 0;
	const char *s = *p + 1;
	size_t off = 0;

	for (;;) {
		size_t k = 0;

		skip_blank(&s);
		if (*s == '}')
			break;
		if (n >= MAX_LABELS || !take_name(&s, names[n], sizeof(names[0]), false))
			fail("bad label name", s);
		if (!strncmp(names[n], "__", 2))
			fail("reserved label name", names[n]);
		for (int i = 0; i < n; i++)
			if (!strcmp(names[i], names[n]))
				fail("label given twice", names[n]);
		skip_blank(&s);
		if (*s++ != '=')
			fail("no = after label", names[n]);
		skip_blank(&s);
		if (*s++ != '"')
			fail("label value not quoted", names[n]);
		for (; *s != '"'; s++) {
			if (!*s)
				fail("unterminated label value", names[n]);
			if (*s == '\\' && !strchr("\\\"n", s[1]))
				fail("bad escape in label value", names[n]);
			if (k + 2 >= sizeof(vals[0]))
				fail("label value too long", names[n]);
			if (*s == '\\')
				vals[n][k++] = *s++;
			vals[n][k++] = *s;
		}
		vals[n][k] = '\0';
		idx[n] = n;
		n++;
		s++;
		skip_blank(&s);
		if (*s == ',')
			s++;
		else if (*s != '}')
			fail("expected , or } after label", names[n - 1]);
	}
	*p = s + 1;
	for (int i = 1; i < n; i++)     /* insertion sort by name */
		for (int j = i; j > 0 && strcmp(names[idx[j - 1]], names[idx[j]]) > 0; j--) {
			int t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, off < len ? len - off : 0, "%s%s=\"%s\"%s",
					i ? "," : "{", names[idx[i]], vals[idx[i]],
					i == n - 1 ? "}" : "");
	if (off >= len)
		fail("labels too long", NULL);
}

static struct family *current;

static void sample(const char *p, FILE *out)
{
	char name[256], labels[4096] = "", canon[4400];
	const char *vtext;
	struct family *f;
	double v;

	if (!take_name(&p, name, sizeof(name), true))
		fail("bad metric name", p);
	if (*p == '{')
		take_labels(&p, labels, sizeof(labels));
	if (*p != ' ' && *p != '\t')
		fail("no blank before the value", name);
	skip_blank(&p);
	vtext = p;
	if (!take_value(&p, &v))
		fail("bad value", vtext);
	if (*p) {                        /* a timestamp: int64 milliseconds */
		char *end;

		if (*p != ' ' && *p != '\t')
			fail("junk after the value", p);
		skip_blank(&p);
		if (!*p || (!isdigit((unsigned char)*p) && *p != '-'))
			fail("bad timestamp", p);
		strtoll(p, &end, 10);
		if (*end)
			fail("bad timestamp", p);
	}
	f = sample_family(name);
	if (f != current) {
		if (f->closed)
			fail("family's samples not together", f->name);
		if (current)
			current->closed = true;
		current = f;
	}
	if (!f->help || !f->typed)
		fail("sample without HELP and TYPE before it", name);
	f->sampled = true;
	lint_name(f->name);
	if (!strcmp(f->type, "counter") && (!ends_with(f->name, "_total") ||
					     !(v >= 0) || isinf(v)))
		fail("counter not named _total, or negative, NaN or infinite", name);
	if (strcmp(f->type, "counter") && ends_with(f->name, "_total"))
		fail("only counters end in _total", name);
	snprintf(canon, sizeof(canon), "%s%s", name, labels);
	for (unsigned i = 0; i < n_seen; i++)
		if (!strcmp(seen[i], canon))
			fail("sample given twice", canon);
	if (n_seen >= MAX_ITEMS || !(seen[n_seen++] = strdup(canon)))
		fail("too many samples", NULL);
	fprintf(out, "%s %.*s\n", canon, (int)strcspn(vtext, " \t"), vtext);
}

int main(int argc, char **argv)
{
	static char outbuf[1 << 20];
	FILE *in = stdin, *out = fmemopen(outbuf, sizeof(outbuf), "w");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (argc > 2 && !strcmp(argv[1], "-p")) {
		prefix = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc > 2 || !out || (argc == 2 && !(in = fopen(argv[1], "r")))) {
		fprintf(stderr, "usage: promcheck [-p PREFIX] [FILE]\n");
		return 2;
	}
	while ((n = getline(&line, &cap, in)) > 0) {
		if (++lineno > MAX_ITEMS * 4 || n > MAX_LINE)
			fail("too many lines or too long a line", NULL);
		if (memchr(line, '\0', (size_t)n))
			fail("NUL byte", NULL);
		if (line[n - 1] != '\n')
			fail("last line without newline", NULL);
		line[n - 1] = '\0';
		if (strchr(line, '\r'))
			fail("carriage return", NULL);
		if (line[strspn(line, " \t")] == '\0')
			continue;                /* an empty line */
		if (line[0] == ' ' || line[0] == '\t')
			fail("line starts with a blank", NULL);
		if (line[0] == '#')
			meta(line);
		else
			sample(line, out);
	}
	free(line);
	if (ferror(in))
		fail("read error", NULL);
	for (unsigned i = 0; i < n_fam; i++)
		if (!fam[i].sampled)
			fail("HELP or TYPE of a family without samples", fam[i].name);
	if (fclose(out))
		fail("output too long", NULL);
	fputs(outbuf, stdout);
	for (unsigned i = 0; i < n_seen; i++)
		free(seen[i]);
	return 0;
}
