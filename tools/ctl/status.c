/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperctl status: the daemon's role, then one row per peer link
 * (on a gateway each relay: name, up or down and since when, last
 * heartbeat, sessions held, connection, certificate subject; on a relay
 * each gateway, with the reason it is down), or the same as JSON lines.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "jsonl.h"

enum { C_NAME, C_STATE, C_SINCE, C_BEAT, C_SESS, C_CONN, C_SUBJ, C_N };

static void cols_of(const struct mhc_peer_info *p, char cols[C_N][MHC_PEER_SUBJ_MAX + 1])
{
	char d[32];

	snprintf(cols[C_NAME], sizeof(cols[0]), "%s", p->name[0] ? p->name : "-");
	snprintf(cols[C_STATE], sizeof(cols[0]), "%s",
		 p->state == MHC_PEER_UP ? "up" : "down");
	snprintf(cols[C_SINCE], sizeof(cols[0]), "%s",
		 ctl_duration(p->since_ago_ms, d, sizeof(d)));
	snprintf(cols[C_BEAT], sizeof(cols[0]), "%s", p->beat_ago_ms == MHC_NEVER ? "-" :
		 ctl_duration(p->beat_ago_ms, d, sizeof(d)));
	if (p->sessions == MHC_UNCOUNTED)
		snprintf(cols[C_SESS], sizeof(cols[0]), "-");
	else
		snprintf(cols[C_SESS], sizeof(cols[0]), "%u", p->sessions);
	if (p->conn)
		snprintf(cols[C_CONN], sizeof(cols[0]), "%u", p->conn);
	else
		snprintf(cols[C_CONN], sizeof(cols[0]), "-");
	snprintf(cols[C_SUBJ], sizeof(cols[0]), "%s", p->subject[0] ? p->subject : "-");
}

static void row(FILE *f, char cols[C_N][MHC_PEER_SUBJ_MAX + 1], const int *w)
{
	for (int c = 0; c < C_N - 1; c++)
		fprintf(f, "%-*s  ", w[c], cols[c]);
	fprintf(f, "%s\n", cols[C_N - 1]);
}

static void text_status(FILE *f, uint8_t role, const struct mhc_peer_info *p,
			size_t n)
{
	static char cols[C_N][MHC_PEER_SUBJ_MAX + 1];
	const char *heads[C_N] = { role == MH_ROLE_GATEWAY ? "RELAY" : "GATEWAY",
		"STATE", "SINCE", "HEARTBEAT", "SESSIONS", "CONN", "SUBJECT" };
	int w[C_N];

	fprintf(f, "role %s\n", mhc_role_name(role));
	if (role == MH_ROLE_HOST)
		return;
	for (int c = 0; c < C_N; c++)
		w[c] = (int)strlen(heads[c]);
	for (size_t i = 0; i < n; i++) {
		cols_of(&p[i], cols);
		for (int c = 0; c < C_N; c++)
			if ((int)strlen(cols[c]) > w[c])
				w[c] = (int)strlen(cols[c]);
	}
	for (int c = 0; c < C_N; c++)
		snprintf(cols[c], sizeof(cols[0]), "%s", heads[c]);
	row(f, cols, w);
	for (size_t i = 0; i < n; i++) {
		cols_of(&p[i], cols);
		row(f, cols, w);
		if (p[i].why[0])
			fprintf(f, "    reason: %s\n", p[i].why);
	}
}

static void json_peer(FILE *f, uint8_t role, const struct mhc_peer_info *p)
{
	struct mh_jsonl j;
	size_t n;

	mh_jsonl_begin(&j);
	mh_jsonl_str(&j, "type", role == MH_ROLE_GATEWAY ? "relay" : "gateway");
	mh_jsonl_str(&j, "name", p->name);
	mh_jsonl_str(&j, "state", p->state == MHC_PEER_UP ? "up" : "down");
	mh_jsonl_u64(&j, "since_ms", p->since_ago_ms);
	if (p->beat_ago_ms != MHC_NEVER)
		mh_jsonl_u64(&j, "heartbeat_ago_ms", p->beat_ago_ms);
	if (p->sessions != MHC_UNCOUNTED)
		mh_jsonl_u64(&j, "sessions", p->sessions);
	if (p->conn)
		mh_jsonl_u64(&j, "conn", p->conn);
	mh_jsonl_str(&j, "subject", p->subject);
	if (p->why[0])
		mh_jsonl_str(&j, "reason", p->why);
	n = mh_jsonl_end(&j);
	fwrite(j.buf, 1, n, f);
}

void ctl_print_status(FILE *f, uint8_t role, const struct mhc_peer_info *p,
		      size_t n, bool json)
{
	struct mh_jsonl j;
	size_t len;

	if (!json) {
		text_status(f, role, p, n);
		return;
	}
	mh_jsonl_begin(&j);
	mh_jsonl_str(&j, "type", "status");
	mh_jsonl_str(&j, "role", mhc_role_name(role));
	len = mh_jsonl_end(&j);
	fwrite(j.buf, 1, len, f);
	for (size_t i = 0; i < n; i++)
		json_peer(f, role, &p[i]);
}
