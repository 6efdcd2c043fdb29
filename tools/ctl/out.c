/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperctl's output: an aligned table of sessions with their
 * pinholes indented below, "name value" counter lines, and the same as
 * JSON lines (lib/jsonl.c) for tools: one object per session, pinhole,
 * counter set or action.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "jsonl.h"

/* "12.3s", "5m02s", "3h04m", "2d03h" */
char *ctl_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%llu.%01llus", (unsigned long long)s,
			 (unsigned long long)(ms % 1000 / 100));
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	return buf;
}

static void user_of(uint32_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	snprintf(buf, len, "%s", pw ? pw->pw_name : "?");
}

static void emit(FILE *f, struct mh_jsonl *j)
{
	size_t n = mh_jsonl_end(j);

	fwrite(j->buf, 1, n, f);
}

static void json_session(FILE *f, const struct ctl_session *v)
{
	const struct mhc_session_info *s = &v->s;
	struct mh_jsonl j;
	char user[64];

	user_of(s->uid, user, sizeof(user));
	mh_jsonl_begin(&j);
	mh_jsonl_str(&j, "type", "session");
	mh_jsonl_u64(&j, "port", s->port);
	mh_jsonl_u64(&j, "uid", s->uid);
	mh_jsonl_str(&j, "user", user);
	mh_jsonl_u64(&j, "pid", s->pid);
	mh_jsonl_u64(&j, "id", s->id);
	mh_jsonl_u64(&j, "age_ms", s->age_ms);
	mh_jsonl_u64(&j, "alive_ago_ms", s->alive_ago_ms);
	mh_jsonl_bool(&j, "contacted", s->contacted);
	mh_jsonl_str(&j, "ssh_client", s->ssh_client);
	mh_jsonl_u64(&j, "pinholes", s->n_pinholes);
	emit(f, &j);
	for (unsigned i = 0; i < s->n_pinholes; i++) {
		char a[MH_ADDRSTRLEN];

		mh_jsonl_begin(&j);
		mh_jsonl_str(&j, "type", "pinhole");
		mh_jsonl_u64(&j, "port", s->port);
		mh_jsonl_str(&j, "client", mh_addr_str(&v->ph[i].client, a, sizeof(a)));
		mh_jsonl_u64(&j, "age_ms", v->ph[i].age_ms);
		emit(f, &j);
	}
}

/* Column texts of one session row. */
enum { C_PORT, C_UID, C_USER, C_PID, C_ID, C_AGE, C_ALIVE, C_CONTACTED,
       C_PINHOLES, C_SSH, C_N };
static const char *const heads[C_N] = { "PORT", "UID", "USER", "PID", "ID",
	"AGE", "IDLE", "CONTACTED", "PINHOLES", "SSH-CLIENT" };

static void row_of(const struct mhc_session_info *s, char cols[C_N][64])
{
	char d[32];

	snprintf(cols[C_PORT], 64, "%u", s->port);
	snprintf(cols[C_UID], 64, "%u", s->uid);
	user_of(s->uid, cols[C_USER], 64);
	snprintf(cols[C_PID], 64, "%u", s->pid);
	snprintf(cols[C_ID], 64, "%u", s->id);
	snprintf(cols[C_AGE], 64, "%s", ctl_duration(s->age_ms, d, sizeof(d)));
	snprintf(cols[C_ALIVE], 64, "%s", ctl_duration(s->alive_ago_ms, d, sizeof(d)));
	snprintf(cols[C_CONTACTED], 64, "%s", s->contacted ? "yes" : "no");
	snprintf(cols[C_PINHOLES], 64, "%u", s->n_pinholes);
	snprintf(cols[C_SSH], 64, "%s", s->ssh_client[0] ? s->ssh_client : "-");
}

static void print_row(FILE *f, char cols[C_N][64], const int *w)
{
	for (int c = 0; c < C_N - 1; c++)
		fprintf(f, "%-*s  ", w[c], cols[c]);
	fprintf(f, "%s\n", cols[C_N - 1]);
}

static void text_list(FILE *f, const struct ctl_session *v, size_t n)
{
	char cols[C_N][64];
	int w[C_N];

	for (int c = 0; c < C_N; c++)
		w[c] = (int)strlen(heads[c]);
	for (size_t i = 0; i < n; i++) {
		row_of(&v[i].s, cols);
		for (int c = 0; c < C_N; c++)
			if ((int)strlen(cols[c]) > w[c])
				w[c] = (int)strlen(cols[c]);
	}
	for (int c = 0; c < C_N; c++)
		snprintf(cols[c], 64, "%s", heads[c]);
	print_row(f, cols, w);
	for (size_t i = 0; i < n; i++) {
		row_of(&v[i].s, cols);
		print_row(f, cols, w);
		for (unsigned k = 0; k < v[i].s.n_pinholes; k++) {
			char a[MH_ADDRSTRLEN], d[32];

			fprintf(f, "    pinhole %-*s  age %s\n", 47,
				mh_addr_str(&v[i].ph[k].client, a, sizeof(a)),
				ctl_duration(v[i].ph[k].age_ms, d, sizeof(d)));
		}
	}
}

void ctl_print_list(FILE *f, const struct ctl_session *v, size_t n, bool json)
{
	if (!json) {
		text_list(f, v, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		json_session(f, &v[i]);
}

void ctl_print_stats(FILE *f, const struct mhc_stat *st, size_t n, bool json)
{
	struct mh_jsonl j;

	if (!json) {
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s %llu\n", st[i].name,
				(unsigned long long)st[i].value);
		return;
	}
	mh_jsonl_begin(&j);
	mh_jsonl_str(&j, "type", "stats");
	for (size_t i = 0; i < n; i++)
		mh_jsonl_u64(&j, st[i].name, st[i].value);
	emit(f, &j);
}

void ctl_print_done(FILE *f, const char *command, uint16_t port,
		    const char *reason, const char *note, bool json)
{
	struct mh_jsonl j;

	if (!json) {
		if (note)
			fprintf(f, "%s (mosh-helperd: %s)\n", note, reason);
		else
			fprintf(f, "%s\n", reason);
		return;
	}
	mh_jsonl_begin(&j);
	mh_jsonl_str(&j, "type", command);
	if (port)
		mh_jsonl_u64(&j, "port", port);
	mh_jsonl_str(&j, "status", "ok");
	mh_jsonl_str(&j, "reason", reason);
	if (note)
		mh_jsonl_str(&j, "done", note);
	emit(f, &j);
}
