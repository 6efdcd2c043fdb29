/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for keyless mode's decisions (lib/keyless.c through
 * mh_decide with a keyless policy): one session without a key, 16 peers
 * (8 addresses, 2 ports each), and a program of at most MAX_OPS operations:
 *   0 IN    u8 peer, u8 len, u8 form, [u64 word]: an inbound datagram of
 *           len bytes; form selects the header word (a small to-server
 *           sequence number, the fuzzer's own word, or the direction bit)
 *   1 OUT   u8 peer, u8 flags: mosh-server's datagram to the peer (bit 0:
 *           the to-client bit missing)
 *   2 TIME  u16 t: advance the clock t ms (top bit: (t & 0x7fff) * 10 ms)
 * Each decision is checked against an independent model:
 *   - no reflection: an outbound datagram is let out, or opens a pinhole,
 *     only to a peer delivered inbound within candidate_lifetime (and not
 *     confirmed since), or one pinholed within candidate_lifetime;
 *   - the visible checks: nothing shorter than MH_KL_MIN_PAYLOAD, with the
 *     direction bit, or a sequence number above MH_KL_MAX_SEQ is delivered;
 *   - the budget: deliveries within any window never exceed rate per
 *     second plus the burst;
 *   - the confirmed number never falls, never rises above both its last
 *     value and the highest number the confirmed peer ever had delivered,
 *     and is a number some peer had delivered; nothing at or below it is
 *     delivered (tests/unit/test_keyless.c has the poisoning attacks).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "keyless.h"
#include "verdict.h"

#define MAX_OPS   96
#define NPEER     16
#define SPORT     60001
#define RATE      5
#define LIFE_MS   3000

enum { OP_IN, OP_OUT, OP_TIME, OP_COUNT };

static struct mh_table tab;
static struct mh_session *sess;
/* idle_timeout_ms: a pinhole counts as in the kernel for 2 s after its
 * add, so a peer's datagram in that time is delivered without becoming a
 * candidate (lib/verdict.c keyless_inbound); the model below allows what
 * a candidate would, so it holds either way. */
static const struct mh_policy pol = {
	.candidate_lifetime_ms = LIFE_MS, .idle_timeout_ms = 2000, .keyless = true,
	.kl = { .rate = RATE, .candidate_lifetime_ms = LIFE_MS },
};
static uint64_t now;

struct peer {
	uint64_t delivered_ms;     /* 0: none since its last confirmation */
	bool has_high;
	uint64_t high;             /* highest number it ever had delivered */
	uint64_t pinholed_ms;
};
static uint64_t seen[MAX_OPS];   /* every number delivered */
static unsigned n_seen;
static struct peer peers[NPEER];
static uint64_t deliveries[RATE * 64];   /* times of recent deliveries */
static unsigned n_deliv;

static void peer_addr(unsigned i, uint8_t ip[4], uint16_t *port)
{
	ip[0] = 198;
	ip[1] = 18;
	ip[2] = 2;
	ip[3] = (uint8_t)(10 + i / 2);
	*port = (uint16_t)(40000 + i % 2);
}

static size_t mkpkt(uint8_t *out, unsigned peer, bool inbound,
		    const uint8_t *pl, size_t n)
{
	uint8_t ip[4], srv[4] = { 198, 18, 0, 2 };
	uint16_t port, tot = htons((uint16_t)(28 + n)), ulen = htons((uint16_t)(8 + n));

	peer_addr(peer, ip, &port);
	memset(out, 0, 28);
	out[0] = 0x45;
	memcpy(out + 2, &tot, 2);
	out[8] = 64;
	out[9] = 17;
	memcpy(out + 12, inbound ? ip : srv, 4);
	memcpy(out + 16, inbound ? srv : ip, 4);
	out[20] = (uint8_t)((inbound ? port : SPORT) >> 8);
	out[21] = (uint8_t)(inbound ? port : SPORT);
	out[22] = (uint8_t)((inbound ? SPORT : port) >> 8);
	out[23] = (uint8_t)(inbound ? SPORT : port);
	memcpy(out + 24, &ulen, 2);
	memcpy(out + 28, pl, n);
	return 28 + n;
}

static void budget_check(void)
{
	unsigned in_window = 0;

	/* any one-second window: at most rate plus the burst */
	for (unsigned i = 0; i < n_deliv; i++)
		in_window += now - deliveries[i] < 1000;
	FUZZ_ASSERT(in_window <= 2 * RATE, "%u deliveries within 1 s", in_window);
}

static void note_delivery(unsigned p, uint64_t seq)
{
	struct peer *pe = &peers[p];

	if (n_deliv == sizeof(deliveries) / sizeof(deliveries[0])) {
		memmove(deliveries, deliveries + 1, (n_deliv - 1) * sizeof(deliveries[0]));
		n_deliv--;
	}
	deliveries[n_deliv++] = now;
	budget_check();
	pe->delivered_ms = now;
	if (!pe->has_high || seq > pe->high)
		pe->high = seq;
	pe->has_high = true;
	if (n_seen < MAX_OPS)
		seen[n_seen++] = seq;
}

static bool was_delivered(uint64_t seq)
{
	for (unsigned i = 0; i < n_seen; i++)
		if (seen[i] == seq)
			return true;
	return false;
}

static void op_in(struct fz_reader *r)
{
	unsigned p = fz_u8(r) % NPEER;
	size_t len = fz_u8(r) % 100;
	uint8_t form = fz_u8(r), pl[128] = { 0 }, pkt[256];
	uint64_t word = form % 3 == 0 ? (uint64_t)(form >> 2) + (now / 50) :
			form % 3 == 1 ? fz_u64(r) : SSP_DIRECTION_BIT | fz_u8(r);
	bool was = sess->kl.confirmed;
	uint64_t conf = sess->kl.confirmed_seq;
	struct mh_decision d;

	for (int i = 0; i < 8; i++)
		pl[i] = (uint8_t)(word >> (56 - 8 * i));
	mh_decide(&tab, &pol, MH_INBOUND, pkt, mkpkt(pkt, p, true, pl, len), now, &d);
	if (!d.accept)
		return;
	FUZZ_ASSERT(d.reason == MH_R_UNVERIFIED && !d.add_pinhole, "reason %d", d.reason);
	FUZZ_ASSERT(len >= MH_KL_MIN_PAYLOAD && !(word & SSP_DIRECTION_BIT) &&
		    word <= MH_KL_MAX_SEQ, "delivered len %zu word %llx", len,
		    (unsigned long long)word);
	FUZZ_ASSERT(!was || word > conf, "delivered %llu at or below %llu",
		    (unsigned long long)word, (unsigned long long)conf);
	note_delivery(p, word);
}

static void confirmed(unsigned p, bool was, uint64_t old)
{
	struct peer *pe = &peers[p];
	uint64_t bound = pe->high, c = sess->kl.confirmed_seq;

	FUZZ_ASSERT(pe->delivered_ms && now - pe->delivered_ms <= LIFE_MS,
		    "peer %u confirmed without a live delivery", p);
	if (was && old > bound)
		bound = old;
	FUZZ_ASSERT(sess->kl.confirmed && c <= bound, "confirmed %llu above %llu",
		    (unsigned long long)c, (unsigned long long)bound);
	FUZZ_ASSERT(!was || c >= old, "confirmed number fell");
	FUZZ_ASSERT((was && c == old) || was_delivered(c),
		    "confirmed %llu was never delivered", (unsigned long long)c);
	pe->delivered_ms = 0;
	pe->pinholed_ms = now ? now : 1;
}

static void op_out(struct fz_reader *r)
{
	unsigned p = fz_u8(r) % NPEER;
	uint8_t flags = fz_u8(r), pl[64] = { 0 }, pkt[128];
	bool was = sess->kl.confirmed;
	uint64_t old = sess->kl.confirmed_seq;
	struct mh_decision d;

	pl[0] = flags & 1 ? 0 : 0x80;
	mh_decide(&tab, &pol, MH_OUTBOUND, pkt, mkpkt(pkt, p, false, pl, 40), now, &d);
	if (!d.accept)
		return;
	FUZZ_ASSERT(!(flags & 1), "a to-server datagram went out");
	if (d.reason == MH_R_CONFIRMED) {
		FUZZ_ASSERT(d.add_pinhole, "confirmed without a pinhole");
		confirmed(p, was, old);
		if (d.evict)
			mh_pinhole_forget(sess, &d.evicted);
		return;
	}
	FUZZ_ASSERT(d.reason == MH_R_PINHOLED && peers[p].pinholed_ms &&
		    now - peers[p].pinholed_ms <= LIFE_MS, "reason %d to peer %u",
		    d.reason, p);
}

static void reset(void)
{
	if (sess)
		mh_session_remove(&tab, sess);
	sess = mh_session_add(&tab, SPORT, NULL, 1000, 1, 1, 4);
	FUZZ_ASSERT(sess, "session");
	now = 1000000;
	mh_keyless_init(&sess->kl, &pol.kl, now);
	memset(peers, 0, sizeof(peers));
	n_deliv = n_seen = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r;
	static bool init;

	if (!init) {
		mh_table_init(&tab);
		init = true;
	}
	reset();
	fz_init(&r, data, size);
	for (int ops = 0; ops < MAX_OPS && r.left > 0; ops++) {
		switch (fz_u8(&r) % OP_COUNT) {
		case OP_IN:
			op_in(&r);
			break;
		case OP_OUT:
			op_out(&r);
			break;
		default: {
			uint16_t t = fz_u16(&r);

			now += t & 0x8000 ? (uint64_t)(t & 0x7fff) * 10 : t;
			break;
		}
		}
	}
	return 0;
}
