/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The human output of mosh-helper-review: for each capture one line, then
 * per session a few header lines (SSH login, first contact and reply,
 * roams, heartbeat cadence, sequence anomalies, authenticity, verdicts) and
 * one line per datagram or notable event, times relative to the first packet.
 */
#include <inttypes.h>
#include <stdio.h>

#include "review.h"
#include "fmt.h"

#define T(buf, ts)  rv_fmt_rel(buf, sizeof(buf), ts, r->start)
#define A(buf, a)   mh_addr_str(a, buf, sizeof(buf))
#define D(buf, us)  rv_fmt_dur(buf, sizeof(buf), us)

static void print_captures(FILE *f, const struct rv_review *r,
			   const struct rv_capture *caps, size_t ncaps)
{
	char t[64];
	size_t i;

	for (i = 0; i < ncaps; i++) {
		const struct rv_capture *c = &caps[i];

		if (c->linktype[0])
			fprintf(f, "capture %s: link type %s, %" PRIu64 " records\n",
				c->path, c->linktype, c->records);
		if (c->failed)
			fprintf(f, "ERROR: %s%s\n", c->err, c->records ?
				"; the review below covers the records before it" : "");
	}
	if (r->have_start)
		fprintf(f, "times: seconds since %s (the first packet)\n",
			rv_fmt_utc(t, sizeof(t), r->start));
	if (r->o->keys_path && r->keys->n != r->key_ports)
		fprintf(f, "keys: %s, %zu keys for %u port%s (several on one port: each "
			"datagram goes to the key that authenticates it)\n", r->o->keys_path,
			r->keys->n, r->key_ports, r->key_ports == 1 ? "" : "s");
	else if (r->o->keys_path)
		fprintf(f, "keys: %s, %u port%s\n", r->o->keys_path, r->key_ports,
			r->key_ports == 1 ? "" : "s");
	else
		fprintf(f, "keys: none (authenticity and verdicts cannot be judged)\n");
	if (r->keys->servers || r->keys->keyless)
		fprintf(f, "keys: %u server address%s with port named (a gateway's "
			"sessions), %u keyless\n", r->keys->servers,
			r->keys->servers == 1 ? "" : "es", r->keys->keyless);
	fprintf(f, "simulated daemon: idle timeout %u s, candidate lifetime %u s, "
		"at most %u pinholes per session", r->o->idle_timeout_s,
		r->o->candidate_lifetime_s, r->o->max_pinholes);
	if (r->o->keyless || r->keys->keyless)
		fprintf(f, "; keyless sessions deliver at most %u unverified "
			"datagrams a second", r->o->keyless_rate);
	fprintf(f, "%s\n", r->o->keyless ? "; keyless: every session judged without its key" : "");
}

static void print_ssh(FILE *f, const struct rv_review *r, const struct rv_session *s)
{
	char t[40], a[MH_ADDRSTRLEN], b[MH_ADDRSTRLEN], d[40];
	const struct rv_ssh *l;

	if (!s->have_client)
		return;
	if (s->ssh < 0) {
		fprintf(f, "  ssh login:      none from this client address in the capture\n");
		return;
	}
	l = &r->ssh.v[s->ssh];
	fprintf(f, "  ssh login:      %s %s -> %s (first SYN), %s before the first datagram%s\n",
		T(t, l->syn), A(a, &l->client), A(b, &l->server),
		D(d, s->first_ts - l->syn),
		l->established ? "" : "; no SYN-ACK seen");
}

static void print_contact(FILE *f, const struct rv_review *r, const struct rv_session *s)
{
	char t[40], a[MH_ADDRSTRLEN], d[40];

	if (!s->have_client) {
		fprintf(f, "  first datagram: none from the client side\n");
		return;
	}
	fprintf(f, "  first datagram: %s from %s, seq %" PRIu64 "\n",
		T(t, s->first_ts), A(a, &s->first_client), s->first_seq);
	if (s->have_reply)
		fprintf(f, "  first reply:    %s, seq %" PRIu64 ", %s after the first datagram\n",
			T(t, s->first_reply_ts), s->first_reply_seq,
			D(d, s->first_reply_ts - s->first_ts));
	else
		fprintf(f, "  first reply:    none\n");
	fprintf(f, "  client:         %s at the end; %" PRIu64 " roam%s or port hop%s\n",
		A(a, &s->client), s->roams, s->roams == 1 ? "" : "s",
		s->roams == 1 ? "" : "s");
}

static void print_counts(FILE *f, const struct rv_session *s)
{
	const char *sep;
	char d[40];
	int i;

	if (s->n_intervals)
		fprintf(f, "  cadence:        median %s between client datagrams (%zu intervals; "
			"idle, mosh sends a heartbeat every %d s); %" PRIu64 " gap%s over %d s\n",
			D(d, s->median), s->n_intervals, MOSH_HEARTBEAT_MS / 1000,
			s->gaps, s->gaps == 1 ? "" : "s",
			RV_GAP_HEARTBEATS * MOSH_HEARTBEAT_MS / 1000);
	fprintf(f, "  sequence:       %" PRIu64 " replayed, %" PRIu64 " duplicated, %"
		PRIu64 " reordered\n", s->replays, s->duplicates, s->reordered);
	if (s->mh || s->shared)
		fprintf(f, "  authenticity:   %" PRIu64 " of %" PRIu64 " datagrams authentic\n",
			s->authentic, s->dgrams[0] + s->dgrams[1]);
	sep = " ";
	fprintf(f, "  verdicts:      ");
	for (i = RV_V_PINHOLE; i <= RV_V_NO_SESSION; i++)
		if (s->verdicts[i]) {
			fprintf(f, "%s%s %" PRIu64, sep, rv_verdict_name(i), s->verdicts[i]);
			if (i == RV_V_PINHOLE && s->idle_window)
				fprintf(f, " (%" PRIu64 " in the idle window)", s->idle_window);
			sep = ", ";
		}
	sep = "; by reason: ";
	for (i = 0; i < MH_R_COUNT; i++)
		if (s->reasons[i]) {
			fprintf(f, "%s%s %" PRIu64, sep, mh_reason_name(i), s->reasons[i]);
			sep = ", ";
		}
	fprintf(f, "\n");
	if (s->mh || s->shared)
		fprintf(f, "  pinholes:       %u open at the end of the capture\n",
			s->pinholes_open);
}

static void print_instr(FILE *f, const struct rv_plain_info *p)
{
	static const char *const names[] = { NULL, "v", "old", "new", "ack", "throwaway" };
	const struct rv_instr *in = &p->instr;
	int i;

	if (p->dropped)
		fprintf(f, " (%s)", p->dropped);
	if (!p->complete) {
		if (p->instr_err)
			fprintf(f, " instruction: %s", p->instr_err);
		return;
	}
	fprintf(f, " | instruction");
	if (p->frags > 1)
		fprintf(f, " of %u fragments", p->frags);
	if (p->instr_err) {
		fprintf(f, ": %s", p->instr_err);
		return;
	}
	for (i = RV_F_PROTOCOL_VERSION; i <= RV_F_THROWAWAY_NUM; i++) {
		if (!(in->present & (1u << i)))
			continue;
		if (in->num[i] == UINT64_MAX)   /* mosh's state number for shutdown */
			fprintf(f, " %s -1%s", names[i], i == RV_F_NEW_NUM ? " (shutdown)" : "");
		else
			fprintf(f, i == 1 ? " %s%" PRIu64 : " %s %" PRIu64, names[i], in->num[i]);
	}
	if (in->present & (1u << RV_F_DIFF))
		fprintf(f, " diff %zu B", in->diff_len);
	if (in->present & (1u << RV_F_CHAFF))
		fprintf(f, " chaff %zu B", in->chaff_len);
}

static void print_seqnote(FILE *f, const struct rv_review *r, const struct rv_dgram *d)
{
	char t[40], a[MH_ADDRSTRLEN];

	if (d->note == RV_SEQ_REPLAY)
		fprintf(f, " | REPLAY of the seq first seen at %s %s %s", T(t, d->orig_ts),
			d->hdr.direction == SSP_TO_SERVER ? "from" : "to",
			A(a, &d->orig_src));
	else if (d->note == RV_SEQ_DUPLICATE)
		fprintf(f, " | duplicate");
	else if (d->note == RV_SEQ_REORDERED)
		fprintf(f, " | reordered, %" PRIu64 " behind", d->late_by);
	else if (d->note == RV_SEQ_IMPLAUSIBLE)
		fprintf(f, " | not plausible as mosh (no key to check)");
}

static void print_datagram(FILE *f, const struct rv_review *r, const struct rv_event *e)
{
	const struct rv_dgram *d = &e->u.d;
	const struct rv_plain_info *p = &d->plain;
	char t[40], a[MH_ADDRSTRLEN];

	fprintf(f, "    %s %s %s", T(t, e->ts), d->to_server ? ">" : "<", A(a, &d->peer));
	if (d->have_hdr)
		fprintf(f, " seq %" PRIu64, d->hdr.seq);
	fprintf(f, " len %zu", d->len);
	if (d->have_hdr && (d->hdr.direction == SSP_TO_SERVER) != d->to_server)
		fprintf(f, " (direction bit says %s)",
			rv_dir_name(d->hdr.direction == SSP_TO_SERVER));
	if (d->authentic >= 0)
		fprintf(f, d->authentic ? " authentic" : " NOT AUTHENTIC");
	if (p->have) {
		fprintf(f, " ts %u/", p->timestamp);
		if (p->timestamp_reply == UINT16_MAX)
			fprintf(f, "-");
		else
			fprintf(f, "%u", p->timestamp_reply);
		fprintf(f, " frag %" PRIu64 "#%u%s", p->frag_id, p->frag_num,
			p->final ? " final" : "");
	}
	if (d->authentic != 0)
		print_instr(f, p);
	print_seqnote(f, r, d);
	fprintf(f, " => %s", rv_verdict_name(d->verdict));
	if (d->idle_window)
		fprintf(f, " (%s: idle %s, the kernel may already have closed it)",
			d->reason, D(t, d->ph_idle));
	else if (d->verdict != RV_V_PINHOLE)
		fprintf(f, " (%s)", d->reason);
	fprintf(f, "\n");
}

/* An expiry comes when the pinhole is certainly closed (judge.c); the
 * line says from when it may have been. */
static void print_pinhole(FILE *f, const struct rv_review *r, const struct rv_event *e)
{
	char t[40], t2[40], t3[40], a[MH_ADDRSTRLEN];
	enum rv_ph_action act = e->u.ph.action;

	fprintf(f, "    %s pinhole %s %s", T(t, e->ts),
		act == RV_PH_OPEN ? "opened for" :
		act == RV_PH_EXPIRE ? "expired (idle) for" :
		act == RV_PH_END ? "removed (session ended) for" :
		"evicted (session at its pinhole limit) for",
		A(a, &e->u.ph.client));
	if (act == RV_PH_EXPIRE)
		fprintf(f, ": idle since %s; closed at most the idle timeout (%u s) after "
			"that (a few ms more at most); it may have closed earlier, from %s on, "
			"when the daemon's sync could miss it",
			T(t2, e->u.ph.idle_since), r->o->idle_timeout_s,
			T(t3, e->u.ph.may_close));
	fprintf(f, "\n");
}

static void print_event(FILE *f, const struct rv_review *r, const struct rv_event *e)
{
	char t[40], t2[40], a[MH_ADDRSTRLEN], b[MH_ADDRSTRLEN], d[40];

	switch (e->type) {
	case RV_EV_DATAGRAM:
		print_datagram(f, r, e);
		break;
	case RV_EV_ROAM:
		fprintf(f, "    %s %s %s -> %s: last seq %" PRIu64 " from the old, "
			"first seq %" PRIu64 " from the new, after %s of silence\n",
			T(t, e->ts), e->u.roam.port_hop ? "PORT HOP" : "ROAM",
			A(a, &e->u.roam.from), A(b, &e->u.roam.to), e->u.roam.last_seq,
			e->u.roam.first_seq, D(d, e->u.roam.silent));
		break;
	case RV_EV_GAP:
		fprintf(f, "    %s GAP: no client datagram for %s (since %s)\n", T(t, e->ts),
			D(d, e->u.gap.len), T(t2, e->u.gap.from));
		break;
	case RV_EV_PINHOLE:
		print_pinhole(f, r, e);
		break;
	}
}

static void print_session(FILE *f, const struct rv_review *r, const struct rv_session *s)
{
	char a[MH_ADDRSTRLEN];
	size_t i;

	if (s->shared && s->key)
		fprintf(f, "\nsession %s, key: line %u (%u of %u for this port)\n",
			A(a, &s->server), s->key->line, s->key->nth, s->group->of);
	else if (s->shared)
		fprintf(f, "\nsession %s, key: none of the port's %u keys authenticates "
			"these datagrams\n", A(a, &s->server), s->group->of);
	else if (s->keyless)
		fprintf(f, "\nsession %s, key: %s, judged by the keyless rule\n",
			A(a, &s->server), s->mh->ssp ? "yes (decodes only)" : "keyless");
	else
		fprintf(f, "\nsession %s, key: %s\n", A(a, &s->server), s->mh ? "yes" : "no");
	print_ssh(f, r, s);
	print_contact(f, r, s);
	print_counts(f, s);
	fprintf(f, "  events (> to server, < to client):\n");
	for (i = 0; i < s->n_ev; i++)
		print_event(f, r, &s->ev[i]);
}

static void print_unused_keys(FILE *f, const struct rv_review *r)
{
	char a[MH_ADDRSTRLEN];
	const struct rv_key *k;
	size_t i;

	for (i = 0; i < r->keys->n; i++) {
		k = r->keys->v[i];
		if (!k->used && k->server.family)
			fprintf(f, "\nkey for %s (line %u): no datagrams in the capture\n",
				A(a, &k->server), k->line);
		else if (!k->used)
			fprintf(f, "\nkey for port %u (line %u): no datagrams in the capture\n",
				k->mh->port, k->line);
	}
}

/* What the review did not follow, past its bounds on hostile captures. */
static void print_limits(FILE *f, const struct rv_review *r)
{
	if (r->untracked)
		fprintf(f, "\nLIMIT: %" PRIu64 " datagrams of sessions past the first %d "
			"were not followed\n", r->untracked, RV_MAX_SESSIONS);
	if (r->ssh.dropped)
		fprintf(f, "\nLIMIT: %" PRIu64 " SSH SYNs of connections past the first %d "
			"were not kept\n", r->ssh.dropped, RV_MAX_SSH);
	if (r->ssh.host_dropped)
		fprintf(f, "\nLIMIT: %" PRIu64 " older SSH logins were forgotten (at most %d "
			"kept per client address)\n", r->ssh.host_dropped, RV_SSH_PER_HOST);
}

void rv_print_text(FILE *f, const struct rv_review *r,
		   const struct rv_capture *caps, size_t ncaps)
{
	const struct rv_session *s;

	print_captures(f, r, caps, ncaps);
	for (s = r->head; s; s = s->next)
		print_session(f, r, s);
	print_unused_keys(f, r);
	print_limits(f, r);
	if (r->tcp || r->not_udp || r->other_udp || r->bad_udp)
		fprintf(f, "\nother packets: %" PRIu64 " TCP (only SSH SYNs are used), %" PRIu64
			" neither UDP nor TCP, %" PRIu64 " UDP outside the mosh ports, %" PRIu64
			" malformed, cut or fragmented%s%s\n", r->tcp, r->not_udp,
			r->other_udp, r->bad_udp, r->bad_udp ? ", first: " : "",
			r->bad_udp ? r->bad_why : "");
}
