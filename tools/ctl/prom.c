/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperctl stats --prometheus: the daemon's counters in the
 * Prometheus text exposition format (0.0.4), for node_exporter's textfile
 * collector. Names, types and help lines come from lib/statnames.c; the
 * verdict counters become one family labelled by verdict and reason.
 */
#include <string.h>

#include "ctl.h"
#include "statnames.h"

#define VERDICTS "mosh_helper_verdicts_total"

/* Reported names are [a-z0-9_]; anything else is not printed. */
static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* "accept_X" / "drop_X": the verdict, and *reason = X. */
static const char *verdict_of(const char *name, const char **reason)
{
	static const char *const v[] = { "accept", "drop" };

	for (unsigned i = 0; i < 2; i++) {
		size_t n = strlen(v[i]);

		if (!strncmp(name, v[i], n) && name[n] == '_' && name[n + 1]) {
			*reason = name + n + 1;
			return v[i];
		}
	}
	return NULL;
}

static void family(FILE *f, const char *metric, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
}

/* One named stat: a known one under its metric, an unknown one (a newer
 * daemon's) as untyped under its reported name. */
static void named(FILE *f, const struct mhc_stat *st)
{
	const struct mh_stat_desc *d = mh_stat_find(st->name);

	if (d) {
		family(f, d->metric, d->gauge ? "gauge" : "counter", d->help);
		if (d->ms)
			fprintf(f, "%s %llu.%03llu\n", d->metric,
				(unsigned long long)(st->value / 1000),
				(unsigned long long)(st->value % 1000));
		else
			fprintf(f, "%s %llu\n", d->metric, (unsigned long long)st->value);
		return;
	}
	fprintf(f, "# HELP mosh_helper_%s Reported by mosh-helperd as %s "
		"(not known to this mosh-helperctl).\n# TYPE mosh_helper_%s untyped\n"
		"mosh_helper_%s %llu\n", st->name, st->name, st->name, st->name,
		(unsigned long long)st->value);
}

void ctl_print_prometheus(FILE *f, const struct mhc_stat *st, size_t n)
{
	const char *reason, *v;
	bool head = false;

	for (size_t i = 0; i < n; i++)
		if (name_ok(st[i].name) && !verdict_of(st[i].name, &reason))
			named(f, &st[i]);
	for (size_t i = 0; i < n; i++) {
		if (!name_ok(st[i].name) || !(v = verdict_of(st[i].name, &reason)))
			continue;
		if (!head)
			family(f, VERDICTS, "counter", "Datagrams the slow path "
			       "(NFQUEUE) decided, by verdict and reason.");
		head = true;
		fprintf(f, VERDICTS "{verdict=\"%s\",reason=\"%s\"} %llu\n", v, reason,
			(unsigned long long)st[i].value);
	}
}
