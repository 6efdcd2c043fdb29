/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The JSON-lines output of mosh-helper-review: one object per line, events
 * "capture", "error", then per session "session", its "datagram", "roam",
 * "gap" and "pinhole" events in time order and a closing "verdict" summary,
 * then "unused_key", "limit" (a bound of the review that the capture went
 * past) and "summary". Times are absolute (epoch seconds with
 * microseconds); strings are escaped, invalid UTF-8 becomes U+FFFD.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "review.h"
#include "fmt.h"

/* Writes s as a JSON string (quotes included), invalid UTF-8 as U+FFFD. */
static void rv_json_string(FILE *f, const char *s);

/* ---- a minimal object writer ------------------------------------------ */

struct jw {
	FILE *f;
	bool first;
};

static void jw_begin(struct jw *w, FILE *f, const char *event)
{
	w->f = f;
	w->first = false;
	fputs("{\"event\":", f);
	rv_json_string(f, event);
}

static void jw_key(struct jw *w, const char *k)
{
	fprintf(w->f, "%s\"%s\":", w->first ? "" : ",", k);
	w->first = false;
}

static void jw_str(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	if (v)
		rv_json_string(w->f, v);
	else
		fputs("null", w->f);
}

static void jw_u64(struct jw *w, const char *k, uint64_t v)
{
	jw_key(w, k);
	fprintf(w->f, "%" PRIu64, v);
}

static void jw_time(struct jw *w, const char *k, rv_time t)
{
	char b[40];

	jw_key(w, k);
	fputs(rv_fmt_secs(b, sizeof(b), t), w->f);
}

static void jw_bool(struct jw *w, const char *k, int v)
{
	jw_key(w, k);
	fputs(v < 0 ? "null" : v ? "true" : "false", w->f);
}

static void jw_null(struct jw *w, const char *k)
{
	jw_key(w, k);
	fputs("null", w->f);
}

static void jw_addr(struct jw *w, const char *k, const struct mh_addr *a)
{
	char b[MH_ADDRSTRLEN];

	jw_str(w, k, mh_addr_str(a, b, sizeof(b)));
}

/* A nested object: jw_open(w, "k"), members, jw_close(w). */
static void jw_open(struct jw *w, const char *k)
{
	jw_key(w, k);
	fputc('{', w->f);
	w->first = true;
}

static void jw_close(struct jw *w)
{
	fputc('}', w->f);
	w->first = false;
}

static void jw_end(struct jw *w)
{
	fputs("}\n", w->f);
}

/* ---- strings ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s, 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void rv_json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', f);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s == '\n') {
			fputs("\\n", f), s++;
		} else if (*s == '\t') {
			fputs("\\t", f), s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else if ((n = utf8_len(s)) == 0) {
			fputs("\\ufffd", f), s++;
		} else {
			fwrite(s, 1, n, f);
			s += n;
		}
	}
	fputc('"', f);
}

/* ---- events -------------------------------------------------------------- */

static void print_captures(FILE *f, const struct rv_capture *caps, size_t ncaps)
{
	struct jw w;
	size_t i;

	for (i = 0; i < ncaps; i++) {
		const struct rv_capture *c = &caps[i];

		jw_begin(&w, f, "capture");
		jw_str(&w, "file", c->path);
		jw_str(&w, "linktype", c->linktype[0] ? c->linktype : NULL);
		jw_u64(&w, "records", c->records);
		if (c->records) {
			jw_time(&w, "first", c->first);
			jw_time(&w, "last", c->last);
		}
		jw_bool(&w, "complete", !c->failed);
		jw_end(&w);
		if (!c->failed)
			continue;
		jw_begin(&w, f, "error");
		jw_str(&w, "file", c->path);
		if (c->has_offset)
			jw_u64(&w, "offset", c->err_offset);
		else
			jw_null(&w, "offset");
		jw_u64(&w, "records_before", c->records);
		jw_str(&w, "message", c->err);
		jw_end(&w);
	}
}

static void print_session(FILE *f, const struct rv_review *r, const struct rv_session *s)
{
	const struct rv_ssh *l;
	struct jw w;

	jw_begin(&w, f, "session");
	jw_time(&w, "time", s->start_ts);
	jw_addr(&w, "server", &s->server);
	if (s->have_client)
		jw_addr(&w, "client", &s->first_client);
	else
		jw_null(&w, "client");
	jw_bool(&w, "key", s->mh != NULL);
	if (s->shared) {
		if (s->key)
			jw_u64(&w, "key_line", s->key->line);
		else
			jw_null(&w, "key_line");
		jw_u64(&w, "port_keys", s->group->of);
	}
	if (s->keyless)
		jw_bool(&w, "keyless", true);
	if (s->ssh >= 0) {
		l = &r->ssh.v[s->ssh];
		jw_addr(&w, "ssh_client", &l->client);
		jw_addr(&w, "ssh_server", &l->server);
		jw_time(&w, "ssh_time", l->syn);
		jw_bool(&w, "ssh_established", l->established);
	} else {
		jw_null(&w, "ssh_client");
	}
	if (s->have_client) {
		jw_time(&w, "first_time", s->first_ts);
		jw_u64(&w, "first_seq", s->first_seq);
	}
	if (s->have_reply) {
		jw_time(&w, "reply_time", s->first_reply_ts);
		jw_u64(&w, "reply_seq", s->first_reply_seq);
		jw_time(&w, "reply_after", s->first_reply_ts - s->first_ts);
	}
	jw_time(&w, "last_time", s->last_ts);
	jw_u64(&w, "datagrams_to_server", s->dgrams[1]);
	jw_u64(&w, "datagrams_to_client", s->dgrams[0]);
	if (s->mh || s->shared) {
		jw_u64(&w, "authentic", s->authentic);
		jw_u64(&w, "not_authentic", s->forged);
	}
	if (s->n_intervals)
		jw_time(&w, "heartbeat_median", s->median);
	jw_u64(&w, "gaps", s->gaps);
	jw_u64(&w, "roams", s->roams);
	jw_u64(&w, "replays", s->replays);
	jw_u64(&w, "duplicates", s->duplicates);
	jw_u64(&w, "reordered", s->reordered);
	jw_end(&w);
}

static void print_instr(struct jw *w, const struct rv_plain_info *p)
{
	static const char *const names[] = { NULL, "protocol_version", "old_num",
					     "new_num", "ack_num", "throwaway_num" };
	const struct rv_instr *in = &p->instr;
	int i;

	if (p->dropped)
		jw_str(w, "note", p->dropped);
	if (!p->complete) {
		if (p->instr_err)
			jw_str(w, "instruction_error", p->instr_err);
		return;
	}
	jw_u64(w, "fragments", p->frags);
	if (p->instr_err) {
		jw_str(w, "instruction_error", p->instr_err);
		return;
	}
	for (i = RV_F_PROTOCOL_VERSION; i <= RV_F_THROWAWAY_NUM; i++)
		if (in->present & (1u << i))
			jw_u64(w, names[i], in->num[i]);
	if (in->present & (1u << RV_F_DIFF))
		jw_u64(w, "diff_len", in->diff_len);
	if (in->present & (1u << RV_F_CHAFF))
		jw_u64(w, "chaff_len", in->chaff_len);
}

static void print_datagram(FILE *f, const struct rv_session *s, const struct rv_event *e)
{
	const struct rv_dgram *d = &e->u.d;
	const struct rv_plain_info *p = &d->plain;
	struct jw w;

	jw_begin(&w, f, "datagram");
	jw_time(&w, "time", e->ts);
	jw_addr(&w, "server", &s->server);
	jw_addr(&w, "client", &d->peer);
	jw_str(&w, "direction", rv_dir_name(d->to_server));
	if (d->have_hdr) {
		jw_u64(&w, "seq", d->hdr.seq);
		jw_str(&w, "ssp_direction", rv_dir_name(d->hdr.direction == SSP_TO_SERVER));
	} else {
		jw_null(&w, "seq");
	}
	jw_u64(&w, "len", d->len);
	jw_bool(&w, "authentic", d->authentic);
	if (p->have) {
		jw_u64(&w, "timestamp", p->timestamp);
		if (p->timestamp_reply == UINT16_MAX)
			jw_null(&w, "timestamp_reply");
		else
			jw_u64(&w, "timestamp_reply", p->timestamp_reply);
		jw_u64(&w, "frag_id", p->frag_id);
		jw_u64(&w, "frag_num", p->frag_num);
		jw_bool(&w, "final", p->final);
	}
	if (d->authentic != 0)
		print_instr(&w, p);
	if (d->counted)
		jw_str(&w, "seq_note", rv_seqnote_name(d->note));
	if (d->note == RV_SEQ_REPLAY || d->note == RV_SEQ_DUPLICATE) {
		jw_addr(&w, "first_seen_client", &d->orig_src);
		jw_time(&w, "first_seen_time", d->orig_ts);
	} else if (d->note == RV_SEQ_REORDERED) {
		jw_u64(&w, "behind", d->late_by);
	}
	jw_str(&w, "verdict", rv_verdict_name(d->verdict));
	jw_str(&w, "reason", d->reason);
	if (d->idle_window)
		jw_time(&w, "pinhole_idle", d->ph_idle);
	jw_end(&w);
}

static void print_event(FILE *f, const struct rv_session *s, const struct rv_event *e)
{
	struct jw w;

	switch (e->type) {
	case RV_EV_DATAGRAM:
		print_datagram(f, s, e);
		return;
	case RV_EV_ROAM:
		jw_begin(&w, f, "roam");
		jw_time(&w, "time", e->ts);
		jw_addr(&w, "server", &s->server);
		jw_addr(&w, "client", &e->u.roam.to);
		jw_addr(&w, "old_client", &e->u.roam.from);
		jw_str(&w, "kind", e->u.roam.port_hop ? "port_hop" : "roam");
		jw_u64(&w, "last_seq_old", e->u.roam.last_seq);
		jw_u64(&w, "seq", e->u.roam.first_seq);
		jw_str(&w, "direction", "to_server");
		jw_time(&w, "silent", e->u.roam.silent);
		break;
	case RV_EV_GAP:
		jw_begin(&w, f, "gap");
		jw_time(&w, "time", e->ts);
		jw_addr(&w, "server", &s->server);
		jw_addr(&w, "client", &e->u.gap.client);
		jw_str(&w, "direction", "to_server");
		jw_time(&w, "since", e->u.gap.from);
		jw_time(&w, "length", e->u.gap.len);
		break;
	case RV_EV_PINHOLE:
		jw_begin(&w, f, "pinhole");
		jw_time(&w, "time", e->ts);
		jw_addr(&w, "server", &s->server);
		jw_addr(&w, "client", &e->u.ph.client);
		jw_str(&w, "action", rv_ph_action_name(e->u.ph.action));
		/* an expired pinhole closed somewhere from may_close_from
		 * to time (idle_timeout after idle_since, plus judge.c's
		 * few ms) */
		if (e->u.ph.action == RV_PH_EXPIRE) {
			jw_time(&w, "idle_since", e->u.ph.idle_since);
			jw_time(&w, "may_close_from", e->u.ph.may_close);
		}
		break;
	}
	jw_end(&w);
}

static void print_verdicts(FILE *f, const struct rv_session *s)
{
	struct jw w;
	int i;

	jw_begin(&w, f, "verdict");
	jw_time(&w, "time", s->last_ts);
	jw_addr(&w, "server", &s->server);
	if (s->have_client)
		jw_addr(&w, "client", &s->client);
	else
		jw_null(&w, "client");
	for (i = RV_V_PINHOLE; i <= RV_V_NO_SESSION; i++)
		jw_u64(&w, rv_verdict_name(i), s->verdicts[i]);
	if (s->idle_window)
		jw_u64(&w, "pinhole_idle_window", s->idle_window);
	jw_open(&w, "reasons");
	for (i = 0; i < MH_R_COUNT; i++)
		if (s->reasons[i])
			jw_u64(&w, mh_reason_name(i), s->reasons[i]);
	jw_close(&w);
	if (s->mh || s->shared)
		jw_u64(&w, "pinholes_open", s->pinholes_open);
	jw_end(&w);
}

/* A bound of the review that a hostile capture went past. */
static void print_limit(FILE *f, const char *what, unsigned max, const char *k,
			uint64_t n)
{
	struct jw w;

	if (!n)
		return;
	jw_begin(&w, f, "limit");
	jw_str(&w, "what", what);
	jw_u64(&w, "max", max);
	jw_u64(&w, k, n);
	jw_end(&w);
}

void rv_print_json(FILE *f, const struct rv_review *r,
		   const struct rv_capture *caps, size_t ncaps)
{
	const struct rv_session *s;
	const struct rv_key *k;
	struct jw w;
	size_t i;

	print_captures(f, caps, ncaps);
	for (s = r->head; s; s = s->next) {
		print_session(f, r, s);
		for (i = 0; i < s->n_ev; i++)
			print_event(f, s, &s->ev[i]);
		print_verdicts(f, s);
	}
	for (i = 0; i < r->keys->n; i++) {
		k = r->keys->v[i];
		if (k->used)
			continue;
		jw_begin(&w, f, "unused_key");
		jw_u64(&w, "port", k->mh->port);
		if (k->server.family)
			jw_addr(&w, "server", &k->server);
		jw_u64(&w, "line", k->line);
		jw_end(&w);
	}
	print_limit(f, "sessions", RV_MAX_SESSIONS, "datagrams_not_followed", r->untracked);
	print_limit(f, "ssh_connections", RV_MAX_SSH, "syns_not_kept", r->ssh.dropped);
	print_limit(f, "ssh_logins_per_address", RV_SSH_PER_HOST, "logins_forgotten",
		    r->ssh.host_dropped);
	jw_begin(&w, f, "summary");
	jw_u64(&w, "sessions", r->n_sessions);
	jw_u64(&w, "tcp", r->tcp);
	jw_u64(&w, "not_udp", r->not_udp);
	jw_u64(&w, "other_udp", r->other_udp);
	jw_u64(&w, "malformed", r->bad_udp);
	if (r->bad_udp)
		jw_str(&w, "first_malformed", r->bad_why);
	jw_u64(&w, "idle_timeout", r->o->idle_timeout_s);
	jw_u64(&w, "candidate_lifetime", r->o->candidate_lifetime_s);
	if (r->o->keyless)
		jw_bool(&w, "keyless", true);
	jw_end(&w);
}
