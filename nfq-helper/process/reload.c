/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIGHUP: the configuration file is read again and what can change while
 * sessions run is applied, each change named in the log. Which keys are
 * live, which rebuild the table in place (keeping its sessions and
 * pinholes) and which make up the daemon's identity (kept until a restart)
 * is the key table's word (lib/config.c, mh_config_key_apply).
 * A file that does not load is refused as a whole, with its file and line,
 * and the running configuration stays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

/* The configuration as mh_config_print writes it: "key = value;" lines. */
static char *printed(const struct mh_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	mh_config_print(f, c);
	fclose(f);
	return buf;
}

/* "key = value;" -> key and value, in place. */
static bool split_line(char *line, char **key, char **val)
{
	char *eq = strstr(line, " = ");
	size_t n;

	if (!eq)
		return false;
	*eq = 0;
	*key = line;
	*val = eq + 3;
	n = strlen(*val);
	if (n && (*val)[n - 1] == ';')
		(*val)[n - 1] = 0;
	return true;
}

/* Logs each key whose value differs; returns how many can change live
 * (their names in names), *restart how many wait for a restart. */
static unsigned log_changes(const struct mh_config *o, const struct mh_config *n,
			    unsigned *restart, char *names, size_t nlen)
{
	char *a = printed(o), *b = printed(n), *sa = NULL, *sb = NULL;
	char *la = a ? strtok_r(a, "\n", &sa) : NULL;
	char *lb = b ? strtok_r(b, "\n", &sb) : NULL;
	unsigned live = 0;
	size_t used = 0;

	for (; la && lb; la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
		char *ka, *va, *kb, *vb;
		const char *note;

		if (!strcmp(la, lb) || !split_line(la, &ka, &va) ||
		    !split_line(lb, &kb, &vb) || strcmp(ka, kb))
			continue;
		if (mh_config_key_apply(ka) == MH_KEY_IDENTITY) {
			log_warn("SIGHUP: %s: %s -> %s takes a restart; the running "
				 "value stays", ka, va, vb);
			(*restart)++;
			continue;
		}
		note = mh_config_key_note(ka);
		log_info("SIGHUP: %s: %s -> %s%s%s%s", ka, va, vb, note ? " (" : "",
			 note ? note : "", note ? ")" : "");
		used += (size_t)snprintf(names + used, used < nlen ? nlen - used : 0,
					 "%s%s", live ? "," : "", ka);
		live++;
	}
	free(a);
	free(b);
	return live;
}

/* msg (if any) gets the applied keys, or the reason of a refusal. */
static void say(char *msg, size_t len, const char *text)
{
	if (msg && len)
		snprintf(msg, len, "%s", text);
}

int mh_reload(struct mh_daemon *d, char *msg, size_t len)
{
	struct mh_config n, old = d->cfg;
	char err[512], names[512] = "";
	unsigned live, restart = 0;
	bool table;
	int r;

	say(msg, len, "");
	log_info("SIGHUP: reading %s", d->config_path);
	mh_config_defaults(&n);
	if (mh_config_load(d->config_path, &n, err, sizeof(err)) < 0) {
		log_err("SIGHUP: configuration refused: %s; the running "
			"configuration stays", err);
		mh_audit_simple(d, "reload_refused", "why", err);
		say(msg, len, err);
		return -EINVAL;
	}
	live = log_changes(&old, &n, &restart, names, sizeof(names));
	n = mh_config_take_live(&old, &n);
	if (!live) {
		log_info("SIGHUP: nothing to apply now%s; %u session(s) kept",
			 restart ? " (the rest takes a restart)" : "", d->sessions.count);
		mh_audit_simple(d, "reload", "changed", "");
		return 0;
	}
	table = mh_config_rebuild_differs(&old, &n);
	d->cfg = n;
	if (table && (r = mh_kernel_reload(d)) < 0) {
		d->cfg = old;
		snprintf(err, sizeof(err), "rebuilding table inet %s: %s",
			 d->cfg.table, strerror(-r));
		log_err("SIGHUP: %s; the running configuration stays", err);
		mh_audit_simple(d, "reload_refused", "why", "table rebuild failed");
		say(msg, len, err);
		return r;
	}
	d->pol.candidate_lifetime_ms = n.candidate_lifetime * 1000;
	d->pol.idle_timeout_ms = n.idle_timeout * 1000;
	d->pol.kl.rate = n.slow_path_rate_per_session;
	d->pol.kl.candidate_lifetime_ms = d->pol.candidate_lifetime_ms;
	mh_log_init("mosh-helperd", d->log_syslog, n.log_level);
	d->next_sync_ms = 0;
	log_info("SIGHUP: applied %s%s; %u session(s) kept", names,
		 table ? " (table rebuilt in place)" : "", d->sessions.count);
	mh_audit_simple(d, "reload", "changed", names);
	say(msg, len, names);
	return 0;
}
