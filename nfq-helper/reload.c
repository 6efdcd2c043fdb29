/*
 * SIGHUP: the configuration file is read again and what can change while
 * sessions run is applied (timeouts, quotas, rates, log level, accept mark;
 * the table is rebuilt in place, keeping its sessions and pinholes;
 * local_flows adds or removes the exception for the host's own flows),
 * each change named in the log. Every other setting (ports, table, queue, control
 * socket, single-port mode, audit files, user, and any added later) makes
 * up the daemon's identity and keeps its running value until a restart.
 * A file that does not load is refused as a whole, with its file and line,
 * and the running configuration stays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

/* The keys a running daemon takes over (by their names in the file). */
static const char *const live_keys[] = {
	"idle_timeout", "handshake_timeout", "session_timeout",
	"candidate_lifetime", "max_sessions", "max_sessions_per_user",
	"max_pinholes_per_session", "slow_path_rate",
	"slow_path_rate_per_source", "slow_path_rate_per_session", "hook_timeout",
	"server_path", "log_level", "accept_mark", "local_flows",
};

/* What a live change means, where it is not simply "in effect now". */
static const struct { const char *key, *note; } notes[] = {
	{ "idle_timeout", "for pinholes opened from now on; open ones keep theirs" },
	{ "candidate_lifetime", "for candidates from now on" },
	{ "max_pinholes_per_session", "for sessions announced from now on" },
	{ "server_path", "read by the hook at each login" },
	{ "hook_timeout", "read by the hook at each login" },
	{ "local_flows", "the table's exception for the host's own flows from the range" },
};

static bool needs_restart(const char *key)
{
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (!strcmp(key, live_keys[i]))
			return false;
	return true;
}

static const char *note_of(const char *key)
{
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		if (!strcmp(key, notes[i].key))
			return notes[i].note;
	return NULL;
}

/* The running configuration with the live keys of the new one. */
static struct mh_config take_live(const struct mh_config *o,
				  const struct mh_config *n)
{
	struct mh_config c = *o;

	c.idle_timeout = n->idle_timeout;
	c.handshake_timeout = n->handshake_timeout;
	c.session_timeout = n->session_timeout;
	c.candidate_lifetime = n->candidate_lifetime;
	c.max_sessions = n->max_sessions;
	c.max_sessions_per_user = n->max_sessions_per_user;
	c.max_pinholes_per_session = n->max_pinholes_per_session;
	c.slow_path_rate = n->slow_path_rate;
	c.slow_path_rate_per_source = n->slow_path_rate_per_source;
	c.slow_path_rate_per_session = n->slow_path_rate_per_session;
	c.hook_timeout = n->hook_timeout;
	memcpy(c.server_path, n->server_path, sizeof(c.server_path));
	c.log_level = n->log_level;
	c.accept_mark = n->accept_mark;
	c.local_flows = n->local_flows;
	return c;
}

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
		if (needs_restart(ka)) {
			log_warn("SIGHUP: %s: %s -> %s takes a restart; the running "
				 "value stays", ka, va, vb);
			(*restart)++;
			continue;
		}
		note = note_of(ka);
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
	n = take_live(&old, &n);
	if (!live) {
		log_info("SIGHUP: nothing to apply now%s; %u session(s) kept",
			 restart ? " (the rest takes a restart)" : "", d->sessions.count);
		mh_audit_simple(d, "reload", "changed", "");
		return 0;
	}
	/* what the table is built from (kernel.c): timeouts, rates, set sizes,
	 * the local-flow exception */
	table = n.idle_timeout != old.idle_timeout ||
		n.slow_path_rate != old.slow_path_rate ||
		n.slow_path_rate_per_source != old.slow_path_rate_per_source ||
		n.slow_path_rate_per_session != old.slow_path_rate_per_session ||
		n.candidate_lifetime != old.candidate_lifetime ||
		n.max_sessions != old.max_sessions ||
		n.max_pinholes_per_session != old.max_pinholes_per_session ||
		n.accept_mark != old.accept_mark ||
		n.local_flows != old.local_flows;
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
	mh_log_init("mosh-helperd", d->log_syslog, n.log_level);
	d->next_sync_ms = 0;
	log_info("SIGHUP: applied %s%s; %u session(s) kept", names,
		 table ? " (table rebuilt in place)" : "", d->sessions.count);
	mh_audit_simple(d, "reload", "changed", names);
	say(msg, len, names);
	return 0;
}
