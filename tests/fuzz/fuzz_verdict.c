/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the slow-path decisions mh_decide and mh_decide_mux
 * (lib/verdict.c with lib/session.c and lib/pkt.c) against a table of four
 * sessions whose keys are known: the two captured sessions of pcaps/ (so
 * real captured packets authenticate) and two synthetic ones with small
 * pinhole limits, with different bound addresses and SSH login addresses.
 *
 * An input is a program of at most MAX_OPS operations, each one opcode byte
 * (taken modulo OP_COUNT) and its operands:
 *   0 RAW_IN   u16 len, len bytes: a layer-3 packet on the inbound path
 *              (len bit 15: cut where the IP header says it ends)
 *   1 RAW_OUT  u16 len, len bytes: the same on the outbound path
 *   2 TIME     u16 t: advance the clock t ms, or (t & 0x7fff) * 100 ms when
 *              the top bit is set
 *   3 SEAL     u8 a, u8 b, [u8|u64 seq], u8 plen, plen bytes: a datagram
 *              sealed for a session (or a port without one), see
 *              build_sealed()
 *   4 TAMPER   as SEAL, then u16 bit: that bit of the UDP payload flipped
 *   5 REPLAY   u8 c, [u8 peer]: a packet from the history again, on either
 *              path, optionally rewrapped with another peer address
 *   6 RESET    u8 s: the session ends and is announced again
 *   7 FORGET   u8 s, u8 peer: the kernel forgot a pinhole
 *   8 MUX      u8 f: bit 0 clear: u16 len, len bytes as RAW_IN; set: as
 *              SEAL but to the public port; decided by mh_decide_mux
 * Each decision is checked against an independent model of the policy:
 *   - nothing sent to a local address the session's socket is not bound
 *     to, and nothing that does not authenticate under the port's session
 *     key with the path's direction bit, is ever accepted;
 *   - an inbound NEW_SOURCE needs a sequence number above every one accepted
 *     before; REORDERED needs a live candidate; an outbound accept goes only
 *     to a source accepted inbound (NEW_SOURCE) on that session less than
 *     candidate_lifetime ago and not yet confirmed;
 *   - pinholes per session never exceed the session's maximum, and the
 *     table's count always equals the model's;
 *   - liveness: an authentic datagram mosh-server would take (inbound, above
 *     the highest sequence) is never dropped, and a reply to a live
 *     candidate always opens its pinhole;
 *   - single port: a datagram to the public port is mapped exactly when
 *     some session would take it as a new source (bound, newer, authentic),
 *     to such a session (one with the same SSH login address first), and
 *     the decision changes no session state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "muxsel.h"
#include "seed_keys.h"
#include "verdict.h"
#include "ssp_test.h"

#define MAX_OPS      64
#define MAX_PKT      2048
#define NSESS        4
#define NPOOL        8
#define NHIST        8
#define NO_SESS_PORT 60005
#define PUBLIC_PORT  61000   /* single-port mode */
#define LIFETIME_MS  10000
#define MODEL_CANDS  (MAX_OPS + 4)

enum op { OP_RAW_IN, OP_RAW_OUT, OP_TIME, OP_SEAL, OP_TAMPER, OP_REPLAY,
	  OP_RESET, OP_FORGET, OP_MUX, OP_COUNT };

struct model_cand {
	struct mh_addr addr;
	uint64_t armed_ms;   /* time of its last NEW_SOURCE accept */
	bool armed;          /* not confirmed by an outbound accept since */
};

struct model_ph {
	struct mh_addr client;
	uint64_t added_ms;   /* added or last confirmed again */
};

/* What the model knows of one session (index NSESS: the port without one). */
struct model {
	struct mh_session *s;
	uint16_t port;
	uint8_t key[SSP_KEY_LEN];
	unsigned max_ph_asked, max_ph;
	struct mh_bound bound[MH_MAX_BOUND];   /* what sock_diag would report */
	unsigned n_bound;
	char ssh_client[INET6_ADDRSTRLEN];     /* SSH_CONNECTION's first field */
	struct mh_addr ssh_addr;               /* the same; family 0 if "" */
	struct ssp_ctx *ctx;         /* our own context with the session key */
	bool seen;
	uint64_t max_seq;            /* highest inbound sequence accepted */
	uint64_t out_seq;            /* highest outbound sequence sealed */
	uint64_t last_seq[2];        /* last sealed, per path */
	struct model_cand cand[MODEL_CANDS];
	unsigned ncand;
	bool cand_uncertain;         /* the table may have evicted a live one */
	struct model_ph ph[MH_PINHOLES_CAP];
	unsigned nph;
	bool dirty;                  /* the table entry changed since its start */
};

struct hist {
	uint8_t pkt[MAX_PKT + 128];
	size_t len;
	enum mh_path path;
};

static struct mh_table table;
static struct model sess[NSESS + 1];
static const struct mh_policy policy = {
	.candidate_lifetime_ms = LIFETIME_MS,
	.public_port = PUBLIC_PORT,
};
static struct mh_addr pool[NPOOL];
static struct mh_addr server4, server6, other4, other6;  /* other: not bound */
static struct hist hist[NHIST];
static unsigned nhist, hist_next;
static uint64_t now;
/* Packets are decided from the end of this buffer, so that ASan reports a
 * read past the packet as a global-buffer-overflow. */
static uint8_t tail[MAX_PKT + 256];
static bool trace;   /* FUZZ_VERDICT_TRACE=1: print every decision */

static const uint8_t synth_key[2][SSP_KEY_LEN] = {
	{ 'm', 'o', 's', 'h', '-', 'h', 'e', 'l', 'p', 'e', 'r', ' ', 'f', 'u', 'z', 'z' },
	{ 's', 'e', 'c', 'o', 'n', 'd', ' ', 'f', 'u', 'z', 'z', ' ', 'k', 'e', 'y', '!' },
};

/* ---- set-up ------------------------------------------------------------ */

static void model_key(struct model *m, const uint8_t key[SSP_KEY_LEN])
{
	memcpy(m->key, key, SSP_KEY_LEN);
	m->ctx = ssp_ctx_new(key);
	if (!m->ctx)
		abort();
}

static void model_key_b64(struct model *m, const char *b64)
{
	uint8_t key[SSP_KEY_LEN];

	if (ssp_key_decode(b64, strlen(b64), key, NULL) != 0)
		abort();
	model_key(m, key);
}

static void set_addr(struct mh_addr *a, int family, const char *ip,
		     uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->port = port;
	if (inet_pton(family, ip, a->ip) != 1)
		abort();
}

static void pool_capture(struct mh_addr *a, const struct fuzz_capture *c)
{
	memset(a, 0, sizeof(*a));
	a->family = c->family;
	memcpy(a->ip, c->client_ip, 16);
	a->port = c->client_port;
}

static void ssh_login(struct model *m, const struct mh_addr *from)
{
	m->ssh_addr = *from;
	m->ssh_addr.port = 0;
	inet_ntop(from->family, from->ip, m->ssh_client, sizeof(m->ssh_client));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned max_ph[NSESS + 1] = { 4, 64, 2, 1, 1 };
	const struct fuzz_capture *c4 = &fuzz_captures[0], *c6 = &fuzz_captures[1];

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_VERDICT_TRACE") != NULL;
	set_addr(&server4, AF_INET, "198.18.0.1", 0);
	set_addr(&server6, AF_INET6, "fd00:5350::1", 0);
	set_addr(&other4, AF_INET, "198.18.0.9", 0);
	set_addr(&other6, AF_INET6, "fd00:5350::9", 0);
	mh_table_init(&table);
	sess[0].port = c4->server_port;
	model_key_b64(&sess[0], c4->key_b64);
	sess[1].port = c6->server_port;
	model_key_b64(&sess[1], c6->key_b64);
	sess[2].port = 60003;
	model_key(&sess[2], synth_key[0]);
	sess[3].port = 60004;
	model_key(&sess[3], synth_key[1]);
	sess[NSESS].port = NO_SESS_PORT;
	model_key(&sess[NSESS], synth_key[0]);
	for (int i = 0; i <= NSESS; i++) {
		sess[i].max_ph_asked = max_ph[i];
		sess[i].max_ph = max_ph[i] > MH_PINHOLES_CAP ? MH_PINHOLES_CAP : max_ph[i];
	}
	/* bound addresses: IPv4 only; IPv6 dual-stack wildcard; unknown (any);
	 * IPv6-only wildcard plus one IPv4 address */
	sess[0].bound[0].family = AF_INET;
	memcpy(sess[0].bound[0].ip, server4.ip, 4);
	sess[0].n_bound = 1;
	sess[1].bound[0].family = AF_INET6;
	sess[1].bound[0].any = true;
	sess[1].n_bound = 1;
	sess[3].bound[0].family = AF_INET6;
	sess[3].bound[0].any = sess[3].bound[0].v6only = true;
	sess[3].bound[1].family = AF_INET;
	memcpy(sess[3].bound[1].ip, server4.ip, 4);
	sess[3].n_bound = 2;
	/* the captured clients, then neighbours that must not pass for them */
	pool_capture(&pool[0], c4);
	pool_capture(&pool[1], c6);
	pool[2] = pool[0];
	pool[2].port = (uint16_t)(pool[0].port + 1);
	set_addr(&pool[3], AF_INET, "198.18.0.3", c4->client_port);
	set_addr(&pool[4], AF_INET, "198.19.255.254", 1);
	pool[5] = pool[1];
	pool[5].port = 60001;
	set_addr(&pool[6], AF_INET6, "fd00::99", c6->client_port);
	set_addr(&pool[7], AF_INET, "198.18.0.1", 60001);
	/* SSH logins: the captured clients' addresses, none, and a neighbour */
	ssh_login(&sess[0], &pool[0]);
	ssh_login(&sess[1], &pool[1]);
	ssh_login(&sess[3], &pool[3]);
	return 0;
}

static void model_reset(struct model *m)
{
	m->seen = false;
	m->max_seq = m->out_seq = 0;
	m->last_seq[0] = m->last_seq[1] = 0;
	m->ncand = 0;
	m->cand_uncertain = false;
	m->nph = 0;
}

/* The session (re)announced: a fresh table entry and a fresh model. */
static void session_start(struct model *m)
{
	if (m->s)
		mh_session_remove(&table, m->s);
	m->s = mh_session_add(&table, m->port, m->key, 1000, 4242, now,
			      m->max_ph_asked);
	FUZZ_ASSERT(m->s != NULL, "mh_session_add: %s", strerror(errno));
	FUZZ_ASSERT(m->s->max_pinholes == m->max_ph, "max_pinholes %u for %u",
		    m->s->max_pinholes, m->max_ph_asked);
	/* as the daemon does after the announcement's sock_diag check */
	memcpy(m->s->bound, m->bound, sizeof(m->bound));
	m->s->n_bound = m->n_bound;
	FUZZ_ASSERT(mh_session_set_ssh_client(&table, m->s, m->ssh_client) == 0,
		    "ssh client \"%s\" refused", m->ssh_client);
	model_reset(m);
	m->dirty = false;
}

/* ---- model ------------------------------------------------------------- */

static struct model *model_by_port(uint16_t port)
{
	for (int i = 0; i < NSESS; i++)
		if (sess[i].port == port)
			return &sess[i];
	return NULL;
}

static struct model_cand *cand_find(struct model *m, const struct mh_addr *a)
{
	for (unsigned i = 0; i < m->ncand; i++)
		if (mh_addr_equal(&m->cand[i].addr, a))
			return &m->cand[i];
	return NULL;
}

static bool cand_live(const struct model_cand *c)
{
	return c && c->armed && now < c->armed_ms + LIFETIME_MS;
}

/* An inbound NEW_SOURCE from a: the address becomes a live candidate. */
static void cand_arm(struct model *m, const struct mh_addr *a)
{
	struct model_cand *c = cand_find(m, a);
	unsigned live = 0;

	for (unsigned i = 0; i < m->ncand; i++)
		live += cand_live(&m->cand[i]) && !mh_addr_equal(&m->cand[i].addr, a);
	if (live >= MH_MAX_CANDIDATES)
		m->cand_uncertain = true;   /* the table had to drop a live one */
	if (!c) {
		FUZZ_ASSERT(m->ncand < MODEL_CANDS, "model overflow");
		c = &m->cand[m->ncand++];
		c->addr = *a;
	}
	c->armed = true;
	c->armed_ms = now;
}

static int ph_find(const struct model *m, const struct mh_addr *a)
{
	for (unsigned i = 0; i < m->nph; i++)
		if (mh_addr_equal(&m->ph[i].client, a))
			return (int)i;
	return -1;
}

static void ph_remove(struct model *m, int i)
{
	m->ph[i] = m->ph[--m->nph];
}

/* An outbound CONFIRMED to client: the pinhole record the table must hold. */
static void ph_confirm(struct model *m, const struct mh_addr *client,
		       const struct mh_decision *d)
{
	int i = ph_find(m, client);
	uint64_t oldest = UINT64_MAX;

	FUZZ_ASSERT(d->add_pinhole, "confirmed without a pinhole");
	if (i >= 0) {
		FUZZ_ASSERT(!d->evict, "refreshing a pinhole evicted another");
		m->ph[i].added_ms = now;
		return;
	}
	if (m->nph < m->max_ph) {
		FUZZ_ASSERT(!d->evict, "evicted with %u of %u pinholes", m->nph,
			    m->max_ph);
	} else {
		FUZZ_ASSERT(d->evict, "pinhole %u of %u added without eviction",
			    m->nph + 1, m->max_ph);
		i = ph_find(m, &d->evicted);
		FUZZ_ASSERT(i >= 0, "evicted a pinhole the session did not hold");
		for (unsigned j = 0; j < m->nph; j++)
			if (m->ph[j].added_ms < oldest)
				oldest = m->ph[j].added_ms;
		FUZZ_ASSERT(m->ph[i].added_ms == oldest, "evicted one is not the oldest");
		ph_remove(m, i);
	}
	m->ph[m->nph].client = *client;
	m->ph[m->nph].added_ms = now;
	m->nph++;
}

static void check_pinhole_counts(void)
{
	for (int i = 0; i < NSESS; i++) {
		unsigned n = mh_pinhole_count(sess[i].s);

		FUZZ_ASSERT(n <= sess[i].max_ph && n <= MH_PINHOLES_CAP,
			    "session %d holds %u pinholes, maximum %u", i, n,
			    sess[i].max_ph);
		FUZZ_ASSERT(n == sess[i].nph, "session %d: table %u, model %u pinholes",
			    i, n, sess[i].nph);
	}
}

/* ---- one decision, checked --------------------------------------------- */

/* Whether mosh-server's socket would receive a datagram to dst: an
 * IPv4-mapped delivery needs a dual-stack IPv6 wildcard. */
static bool model_bound(const struct model *m, const struct mh_addr *dst)
{
	if (m->n_bound == 0)
		return true;
	for (unsigned i = 0; i < m->n_bound; i++) {
		const struct mh_bound *b = &m->bound[i];

		if (b->family == AF_INET6 && dst->family == AF_INET && b->any && !b->v6only)
			return true;
		if (b->family == dst->family &&
		    (b->any || memcmp(b->ip, dst->ip, b->family == AF_INET ? 4 : 16) == 0))
			return true;
	}
	return false;
}

static void expect_drop(const struct mh_decision *d, enum mh_reason r)
{
	FUZZ_ASSERT(!d->accept && d->reason == r && !d->add_pinhole && !d->evict,
		    "expected drop %s, got %s %s", mh_reason_name(r),
		    d->accept ? "accept" : "drop", mh_reason_name(d->reason));
}

static void check_authentic_in(struct model *m, const struct mh_pkt *p,
			       uint64_t seq, const struct mh_decision *d)
{
	struct model_cand *c = cand_find(m, &p->src);

	if (!m->seen || seq > m->max_seq) {
		/* mosh-server takes it: the daemon must too */
		FUZZ_ASSERT(d->accept && d->reason == MH_R_NEW_SOURCE,
			    "authentic newer datagram (seq %llu, max %llu) got %s",
			    (unsigned long long)seq, (unsigned long long)m->max_seq,
			    mh_reason_name(d->reason));
		FUZZ_ASSERT(!d->add_pinhole && !d->evict, "inbound opened a pinhole");
		m->seen = true;
		m->max_seq = seq;
		cand_arm(m, &p->src);
		return;
	}
	if (d->accept) {
		FUZZ_ASSERT(d->reason == MH_R_REORDERED, "older datagram accepted as %s",
			    mh_reason_name(d->reason));
		FUZZ_ASSERT(cand_live(c), "older datagram accepted from a source that "
			    "is no live candidate");
		FUZZ_ASSERT(!d->add_pinhole && !d->evict, "inbound opened a pinhole");
		return;
	}
	expect_drop(d, MH_R_REPLAY);
	FUZZ_ASSERT(!cand_live(c) || m->cand_uncertain,
		    "older datagram from a live candidate dropped");
}

static void check_authentic_out(struct model *m, const struct mh_pkt *p,
				const struct mh_decision *d)
{
	struct model_cand *c = cand_find(m, &p->dst);

	int k = ph_find(m, &p->dst);
	bool fresh = k >= 0 && now - m->ph[k].added_ms <= LIFETIME_MS;

	if (!d->accept) {
		expect_drop(d, MH_R_NOT_CANDIDATE);
		FUZZ_ASSERT(!cand_live(c) || m->cand_uncertain,
			    "reply to a live candidate dropped");
		FUZZ_ASSERT(!fresh, "reply to a client pinholed %llu ms ago dropped",
			    (unsigned long long)(now - m->ph[k].added_ms));
		return;
	}
	if (d->reason == MH_R_PINHOLED) {
		FUZZ_ASSERT(fresh, "reply accepted as pinholed to a client without a "
			    "pinhole opened within candidate_lifetime");
		FUZZ_ASSERT(!d->add_pinhole && !d->evict, "pinholed reply changed pinholes");
		return;
	}
	FUZZ_ASSERT(d->reason == MH_R_CONFIRMED, "outbound accepted as %s",
		    mh_reason_name(d->reason));
	FUZZ_ASSERT(cand_live(c), "outbound accepted to an address not accepted "
		    "inbound on this session within candidate_lifetime");
	c->armed = false;
	ph_confirm(m, &p->dst, d);
}

/* Decides pkt (copied to the end of tail[] so ASan sees any over-read)
 * and checks the decision against the model. */
static void decide(enum mh_path path, const uint8_t *pkt, size_t len)
{
	struct mh_decision d;
	struct mh_pkt p;
	struct ssp_header h;
	struct model *m;
	uint8_t *copy = tail + sizeof(tail) - len;
	const char *why;
	unsigned fails = 0;
	int want;

	FUZZ_ASSERT(len <= sizeof(tail), "packet of %zu bytes", len);
	memmove(copy, pkt, len);
	mh_decide(&table, &policy, path, copy, len, now, &d);
	for (int i = 0; i < NSESS; i++)
		if (d.session == sess[i].s)
			sess[i].dirty = true;
	if (trace) {
		char a[MH_ADDRSTRLEN], b[MH_ADDRSTRLEN];

		fprintf(stderr, "t=%llu %s %s -> %s: %s %s%s\n",
			(unsigned long long)now, path == MH_INBOUND ? "in " : "out",
			mh_addr_str(&d.pkt.src, a, sizeof(a)),
			mh_addr_str(&d.pkt.dst, b, sizeof(b)),
			d.accept ? "ACCEPT" : "drop", mh_reason_name(d.reason),
			d.add_pinhole ? (d.evict ? " +pinhole (evict)" : " +pinhole") : "");
	}
	if (mh_pkt_parse(copy, len, &p, &why) != 0) {
		expect_drop(&d, MH_R_MALFORMED);
		goto out;
	}
	FUZZ_ASSERT(p.payload >= copy && p.payload + p.len <= copy + len,
		    "UDP payload outside the packet");
	FUZZ_ASSERT(mh_addr_equal(&p.src, &d.pkt.src) && mh_addr_equal(&p.dst, &d.pkt.dst),
		    "decision addresses differ from the packet's");
	m = model_by_port(path == MH_INBOUND ? p.dst.port : p.src.port);
	if (!m) {
		expect_drop(&d, MH_R_NO_SESSION);
		FUZZ_ASSERT(d.session == NULL, "session for a port without one");
		goto out;
	}
	FUZZ_ASSERT(d.session == m->s, "decision names another session");
	/* every check this datagram fails; the drop may name any of them */
	if (path == MH_INBOUND && !model_bound(m, &p.dst))
		fails |= 1u << MH_R_NOT_BOUND;
	if (ssp_parse_header(p.payload, p.len, &h) != 0) {
		fails |= 1u << MH_R_SHORT;
	} else {
		want = path == MH_INBOUND ? SSP_TO_SERVER : SSP_TO_CLIENT;
		if ((int)h.direction != want)
			fails |= 1u << MH_R_WRONG_DIRECTION;
		if (ssp_verify(m->ctx, p.payload, p.len, NULL) != 0)
			fails |= 1u << MH_R_FORGED;
	}
	if (fails) {
		FUZZ_ASSERT(!d.accept && (fails >> d.reason & 1) && !d.add_pinhole && !d.evict,
			    "datagram failing checks 0x%x got %s %s", fails,
			    d.accept ? "accept" : "drop", mh_reason_name(d.reason));
		goto out;
	}
	FUZZ_ASSERT(d.hdr.seq == h.seq, "decision sequence differs");
	if (path == MH_INBOUND)
		check_authentic_in(m, &p, h.seq, &d);
	else
		check_authentic_out(m, &p, &d);
out:
	check_pinhole_counts();
}

/* The table's view of every session, to show a mux decision changed none. */
struct snap {
	bool seen_in, contacted;
	uint64_t max_seq_in, last_alive_ms;
	struct mh_candidate cand[MH_MAX_CANDIDATES];
	struct mh_pinhole_rec ph[MH_PINHOLES_CAP];
};

static void snapshot(struct snap *sn)
{
	for (int i = 0; i < NSESS; i++) {
		const struct mh_session *s = sess[i].s;

		memset(&sn[i], 0, sizeof(sn[i]));
		sn[i].seen_in = s->seen_in;
		sn[i].contacted = s->contacted;
		sn[i].max_seq_in = s->max_seq_in;
		sn[i].last_alive_ms = s->last_alive_ms;
		memcpy(sn[i].cand, s->cand, sizeof(s->cand));
		memcpy(sn[i].ph, s->ph, s->max_pinholes * sizeof(s->ph[0]));
	}
}

/* Single port: the sessions that would take the datagram as a new source:
 * bound, newer, authentic, and with a plaintext that starts like mosh's
 * (ssp_plausible_start: the trial's cheap first test; real mosh datagrams
 * always pass it). */
static unsigned mux_takers(const struct mh_pkt *p, uint64_t seq)
{
	static uint8_t pt[MAX_PKT];
	unsigned set = 0;
	size_t n;

	for (int i = 0; i < NSESS; i++) {
		const struct model *m = &sess[i];

		if (model_bound(m, &p->dst) && (!m->seen || seq > m->max_seq) &&
		    ssp_open(m->ctx, p->payload, p->len, NULL, pt, sizeof(pt), &n) == 0 &&
		    (n < 16 || ssp_plausible_start(pt)))
			set |= 1u << i;
	}
	return set;
}

static bool same_host(const struct mh_addr *a, const struct mh_addr *b)
{
	return a->family && a->family == b->family &&
	       memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}

static void decide_mux(const uint8_t *pkt, size_t len)
{
	struct snap before[NSESS], after[NSESS];
	uint8_t *copy = tail + sizeof(tail) - len;
	unsigned takers, hinted = 0, chosen = 0;
	struct mh_decision d;
	struct ssp_header h;
	struct mh_pkt p;
	const char *why;

	FUZZ_ASSERT(len <= sizeof(tail), "packet of %zu bytes", len);
	memmove(copy, pkt, len);
	snapshot(before);
	mh_decide_mux(&table, &policy, copy, len, &d);
	snapshot(after);
	FUZZ_ASSERT(memcmp(before, after, sizeof(before)) == 0,
		    "a single-port decision changed session state");
	if (trace) {
		char a[MH_ADDRSTRLEN], b[MH_ADDRSTRLEN];

		fprintf(stderr, "t=%llu mux %s -> %s seq %llu: %s %s (%u trials, session %u)\n",
			(unsigned long long)now, mh_addr_str(&d.pkt.src, a, sizeof(a)),
			mh_addr_str(&d.pkt.dst, b, sizeof(b)),
			(unsigned long long)d.hdr.seq, d.accept ? "ACCEPT" : "drop",
			mh_reason_name(d.reason), d.trials, d.session ? d.session->port : 0);
	}
	FUZZ_ASSERT(!d.add_pinhole && !d.evict, "a single-port decision opened a pinhole");
	FUZZ_ASSERT(d.trials <= NSESS, "%u trials for %d sessions", d.trials, NSESS);
	if (mh_pkt_parse(copy, len, &p, &why) != 0) {
		expect_drop(&d, MH_R_MALFORMED);
		return;
	}
	if (p.dst.port != PUBLIC_PORT) {
		expect_drop(&d, MH_R_NO_SESSION);
		return;
	}
	if (ssp_parse_header(p.payload, p.len, &h) != 0) {
		expect_drop(&d, MH_R_SHORT);
		return;
	}
	/* what no client sends to the public port, whoever could
	 * authenticate it: too short for the first-block test, or a header
	 * word outside what a session can reach (the kernel drops both) */
	if (p.len < MH_MUX_MIN_PAYLOAD) {
		expect_drop(&d, MH_R_SHORT);
		return;
	}
	if (h.direction != SSP_TO_SERVER || h.seq > MH_MUX_MAX_SEQ) {
		expect_drop(&d, MH_R_WRONG_DIRECTION);
		return;
	}
	takers = mux_takers(&p, h.seq);
	if (!takers) {
		expect_drop(&d, MH_R_NO_MATCH);
		FUZZ_ASSERT(d.session == NULL, "no match but a session");
		return;
	}
	FUZZ_ASSERT(d.accept && d.reason == MH_R_MAPPED,
		    "a datagram session %x would take got %s", takers,
		    mh_reason_name(d.reason));
	for (int i = 0; i < NSESS; i++) {
		if (d.session == sess[i].s)
			chosen = 1u << i;
		if ((takers >> i & 1) && same_host(&sess[i].ssh_addr, &p.src))
			hinted |= 1u << i;
	}
	FUZZ_ASSERT(chosen & takers, "mapped to a session that would not take it");
	FUZZ_ASSERT(!hinted || (chosen & hinted),
		    "mapped past a session with the same SSH login address");
}

/* ---- packets ----------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IPv4 or IPv6 (the peer's family) + UDP around a payload. flags: 1 IPv4
 * option / IPv6 hop-by-hop header, 2 trailing bytes after the datagram,
 * 4 the server's other address (one no session is bound to). */
static size_t wrap(uint8_t *out, enum mh_path path, const struct mh_addr *peer,
		   uint16_t server_port, const uint8_t *pl, size_t n, unsigned flags)
{
	const bool v6 = peer->family == AF_INET6;
	struct mh_addr server = (flags & 4) ? (v6 ? other6 : other4) : (v6 ? server6 : server4);
	const struct mh_addr *src = path == MH_INBOUND ? peer : &server;
	const struct mh_addr *dst = path == MH_INBOUND ? &server : peer;
	size_t opt = (flags & 1) ? (v6 ? 8 : 4) : 0, pad = (flags & 2) ? 3 : 0;
	size_t ih = (v6 ? 40 : 20) + opt, total = ih + 8 + n + pad;
	uint8_t *u = out + ih;

	server.port = server_port;
	memset(out, 0, total);
	if (v6) {
		out[0] = 0x60;
		put16(out + 4, (uint16_t)(total - 40));
		out[6] = opt ? IPPROTO_HOPOPTS : IPPROTO_UDP;
		out[7] = 64;
		memcpy(out + 8, src->ip, 16);
		memcpy(out + 24, dst->ip, 16);
		if (opt) {   /* next header, length 0, PadN of 4 */
			out[40] = IPPROTO_UDP;
			out[42] = 1;
			out[43] = 4;
		}
	} else {
		out[0] = (uint8_t)(0x40 | ih / 4);
		put16(out + 2, (uint16_t)total);
		out[8] = 64;
		out[9] = IPPROTO_UDP;
		memcpy(out + 12, src->ip, 4);
		memcpy(out + 16, dst->ip, 4);
		if (opt)
			memset(out + 20, 1, 4);   /* NOPs */
	}
	put16(u, src->port);
	put16(u + 2, dst->port);
	put16(u + 4, (uint16_t)(8 + n));
	memcpy(u + 8, pl, n);
	return total;
}

static void remember(enum mh_path path, const uint8_t *pkt, size_t len)
{
	struct hist *h = &hist[hist_next];

	if (len > sizeof(h->pkt))
		return;
	memcpy(h->pkt, pkt, len);
	h->len = len;
	h->path = path;
	hist_next = (hist_next + 1) % NHIST;
	if (nhist < NHIST)
		nhist++;
}

/* ---- operations -------------------------------------------------------- */

/* The length the IP header claims (IPv4 total length, IPv6 40 + payload
 * length), or len if it claims more or the header is cut. */
static size_t ip_claimed_len(const uint8_t *p, size_t len)
{
	size_t claim = len;

	if (len >= 4 && p[0] >> 4 == 4)
		claim = (size_t)p[2] << 8 | p[3];
	else if (len >= 6 && p[0] >> 4 == 6)
		claim = 40 + ((size_t)p[4] << 8 | p[5]);
	return claim < len ? claim : len;
}

/* RAW: u16 n: bit 15 cuts the packet where its IP header says it ends (a
 * read past that end is then a read past the buffer); the low bits give the
 * length, modulo MAX_PKT + 1. */
static void op_raw(struct fz_reader *r, enum mh_path path)
{
	uint16_t n = fz_u16(r);
	size_t got;
	const uint8_t *p = fz_bytes(r, (n & 0x7fff) % (MAX_PKT + 1), &got);

	if (n & 0x8000)
		got = ip_claimed_len(p, got);
	decide(path, p, got);
	remember(path, p, got);
}

static void op_time(struct fz_reader *r)
{
	uint16_t t = fz_u16(r);

	now += (t & 0x8000) ? (uint64_t)(t & 0x7fff) * 100 : t;
}

/* SEAL: a = path (bit 0), session (bits 1-3, modulo NSESS + 1: the last is
 * the port without a session), key (bits 4-5: 0-1 the session's, 2 the next
 * session's, 3 the session's with the other direction bit); b = peer (bits
 * 0-2), sequence mode (bits 3-4: 0 next above the highest + u8, 1 highest
 * - u8, 2 absolute u64, 3 the last sealed), wrap flags (bits 5-7). */
static size_t build_sealed(struct fz_reader *r, bool to_public,
			   enum mh_path *path, uint8_t *pkt, size_t *dg_off,
			   size_t *dg_len)
{
	uint8_t a = fz_u8(r), b = fz_u8(r), plain[128], dg[128 + SSP_MIN_DATAGRAM_LEN];
	struct model *m = &sess[((a >> 1) & 7) % (NSESS + 1)];
	struct ssp_ctx *ctx = m->ctx;
	const struct mh_addr *peer = &pool[b % NPOOL];
	enum ssp_direction dir;
	uint64_t base, seq;
	size_t n, got, total;
	const uint8_t *p;
	long len;

	*path = (a & 1) ? MH_OUTBOUND : MH_INBOUND;
	base = *path == MH_INBOUND ? m->max_seq : m->out_seq;
	switch ((b >> 3) & 3) {
	case 0:
		seq = (*path == MH_INBOUND && !m->seen ? 0 : base + 1) + fz_u8(r);
		break;
	case 1:
		n = fz_u8(r);
		seq = base - (n < base ? n : base);
		break;
	case 2:
		seq = fz_u64(r);
		break;
	default:
		seq = m->last_seq[*path];
		break;
	}
	seq &= SSP_SEQ_MASK;
	dir = *path == MH_INBOUND ? SSP_TO_SERVER : SSP_TO_CLIENT;
	if (((a >> 4) & 3) == 2)
		ctx = sess[(m - sess + 1) % NSESS].ctx;
	else if (((a >> 4) & 3) == 3)
		dir = dir == SSP_TO_SERVER ? SSP_TO_CLIENT : SSP_TO_SERVER;
	n = fz_u8(r) % 96;
	memset(plain, 0, n);
	p = fz_bytes(r, n, &got);
	memcpy(plain, p, got);
	len = ssp_seal(ctx, dir, seq, plain, n, dg, sizeof(dg));
	FUZZ_ASSERT(len == (long)(n + SSP_MIN_DATAGRAM_LEN), "seal: %ld", len);
	m->last_seq[*path] = seq;
	if (*path == MH_OUTBOUND && seq > m->out_seq)
		m->out_seq = seq;
	total = wrap(pkt, *path, peer, to_public ? PUBLIC_PORT : m->port, dg,
		     (size_t)len, (b >> 5) & 7);
	*dg_off = total - ((b >> 5) & 2 ? 3 : 0) - (size_t)len;
	*dg_len = (size_t)len;
	return total;
}

static void op_seal(struct fz_reader *r, bool tamper)
{
	uint8_t pkt[512];
	enum mh_path path;
	size_t off, dlen, len = build_sealed(r, false, &path, pkt, &off, &dlen);

	if (tamper) {
		size_t bit = fz_u16(r) % (dlen * 8);

		pkt[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	decide(path, pkt, len);
	remember(path, pkt, len);
}

/* REPLAY: c = history index (bits 0-2), path (bit 3), rewrap (bit 4) with
 * the peer in the next byte, wrap flags (bits 5-7). */
static void op_replay(struct fz_reader *r)
{
	uint8_t c = fz_u8(r), pkt[MAX_PKT + 256];
	enum mh_path path = (c & 8) ? MH_OUTBOUND : MH_INBOUND;
	const struct hist *h;
	struct mh_pkt p;
	const char *why;
	uint16_t server_port;
	size_t len;

	if (nhist == 0)
		return;
	h = &hist[(c & 7) % nhist];
	if (!(c & 16) || mh_pkt_parse(h->pkt, h->len, &p, &why) != 0) {
		decide(path, h->pkt, h->len);
		return;
	}
	server_port = h->path == MH_INBOUND ? p.dst.port : p.src.port;
	len = wrap(pkt, path, &pool[fz_u8(r) % NPOOL], server_port, p.payload,
		   p.len, (c >> 5) & 7);
	decide(path, pkt, len);
}

/* MUX: f bit 0 clear: a raw packet (as RAW_IN); set: a sealed datagram
 * (as SEAL) to the public port. */
static void op_mux(struct fz_reader *r)
{
	uint8_t f = fz_u8(r), pkt[512];
	uint16_t n;
	enum mh_path path;
	size_t got, off, dlen;
	const uint8_t *p;

	if (f & 1) {
		got = build_sealed(r, true, &path, pkt, &off, &dlen);
		decide_mux(pkt, got);
		return;
	}
	n = fz_u16(r);
	p = fz_bytes(r, (n & 0x7fff) % (MAX_PKT + 1), &got);
	if (n & 0x8000)
		got = ip_claimed_len(p, got);
	decide_mux(p, got);
}

static void op_forget(struct fz_reader *r)
{
	struct model *m = &sess[fz_u8(r) % NSESS];
	const struct mh_addr *a = &pool[fz_u8(r) % NPOOL];
	int i = ph_find(m, a);
	bool had = mh_pinhole_forget(m->s, a);

	m->dirty = true;

	FUZZ_ASSERT(had == (i >= 0), "forget: table %d, model %d", had, i >= 0);
	if (i >= 0)
		ph_remove(m, i);
	check_pinhole_counts();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r;

	now = 1000000;
	nhist = hist_next = 0;
	/* every input starts from freshly announced sessions (only those the
	 * last input changed are announced again: the rest are still fresh) */
	for (int i = 0; i < NSESS; i++)
		if (!sess[i].s || sess[i].dirty)
			session_start(&sess[i]);
	for (int i = 0; i <= NSESS; i++)
		model_reset(&sess[i]);
	fz_init(&r, data, size);
	for (int ops = 0; ops < MAX_OPS && r.left > 0; ops++) {
		switch (fz_u8(&r) % OP_COUNT) {
		case OP_RAW_IN:
			op_raw(&r, MH_INBOUND);
			break;
		case OP_RAW_OUT:
			op_raw(&r, MH_OUTBOUND);
			break;
		case OP_TIME:
			op_time(&r);
			break;
		case OP_SEAL:
			op_seal(&r, false);
			break;
		case OP_TAMPER:
			op_seal(&r, true);
			break;
		case OP_REPLAY:
			op_replay(&r);
			break;
		case OP_RESET: {
			struct model *m = &sess[fz_u8(&r) % NSESS];

			session_start(m);
			m->dirty = true;   /* announced at another time */
			break;
		}
		case OP_FORGET:
			op_forget(&r);
			break;
		default:
			op_mux(&r);
			break;
		}
	}
	return 0;
}
