/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Slow-path budgets in mosh-helper's table: per source, the dynamic sets
 * slowsrc4 (IPv4 source address) and slowsrc6 (IPv6 source /64), and per
 * session port, slowport_in (destination port) and slowport_out (source
 * port), whose elements each carry their own `limit rate over`; the drop
 * rules that use them right before a queue rule (mosh_in, mosh_out; mux_in
 * in single-port mode), and the removal of the sets when a budget is off.
 */
#include <errno.h>
#include <string.h>

#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft.h"
#include "nft_int.h"

/*
 * Sources remembered at once, per family. When the set is full the kernel
 * cannot add a new source (the dynset fails) and the drop rule does not
 * match it: an untracked source falls through to the queue rule and its
 * global limit, i.e. the table without per-source budgets. Sources already
 * tracked keep being held to their budget. So a full set never opens
 * anything; it only takes away the isolation for new sources.
 */
#define SLOW_SET_SIZE   65535
/*
 * Idle time before a source (or a port) is forgotten. Its bucket is full again after
 * burst / rate = 1 s anyway, so a longer memory would not limit anyone
 * more; it would only fill the set sooner under a flood of forged source
 * addresses. The update refreshes it on every datagram, so a source that
 * keeps sending keeps its (empty) bucket. Two seconds: twice the refill
 * time, plus the kernel's 1 s garbage-collection period.
 */
#define SLOW_TIMEOUT_MS 2000

enum { PORT_IN, PORT_OUT, SLOW4, SLOW6, SLOW_COUNT };

/* per_port: a session port's budget (per_session_rate), else a source's
 * (per_source_rate). A per-port set has room for every port there is
 * (65535 with port 0 aside): it is never full. The per-port sets come
 * first: a load that turns the per-source budgets off and on again
 * re-creates their sets after these, in the same order as a fresh load
 * (`nft list` shows sets in the order they were made). */
static const struct slow_set {
	const char *name;
	uint32_t id, key_type, key_len;
	bool per_port;
} slow_sets[SLOW_COUNT] = {
	{ MH_SET_SLOWPORT_IN, MH_ID_SLOWPORT_IN, MH_TYPE_SERVICE, 2, true },
	{ MH_SET_SLOWPORT_OUT, MH_ID_SLOWPORT_OUT, MH_TYPE_SERVICE, 2, true },
	{ MH_SET_SLOWSRC4, MH_ID_SLOWSRC4, MH_TYPE_IPV4, 4, false },
	{ MH_SET_SLOWSRC6, MH_ID_SLOWSRC6, MH_TYPE_IPV6, 16, false },
};

/* An IPv6 host owns a /64 (SLAAC, privacy addresses): one budget for it
 * all, or a single machine could pick a fresh budget per datagram. */
static const uint8_t prefix64[16] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static void slow_def(int i, struct nb_set_def *d)
{
	memset(d, 0, sizeof(*d));
	d->name = slow_sets[i].name;
	d->id = slow_sets[i].id;
	d->flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;
	d->key_type = slow_sets[i].key_type;
	d->key_len = slow_sets[i].key_len;
	d->size = SLOW_SET_SIZE;
	d->timeout_ms = SLOW_TIMEOUT_MS;
}

static bool group_on(const struct mh_ruleset_params *p, bool per_port)
{
	return (per_port ? p->per_session_rate : p->per_source_rate) != 0;
}

/* Every property is a constant, so an existing set of that name is the
 * same set: kept as it is (emptied by nb_slow_flush). One group: the
 * per-source sets or the per-port ones. */
static int put_group(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const char *table, bool per_port)
{
	int err = 0;

	for (int i = 0; i < SLOW_COUNT && !err; i++) {
		struct nb_set_def d;

		if (slow_sets[i].per_port != per_port)
			continue;
		slow_def(i, &d);
		err = nb_set(b, seq, table, &d);
	}
	return err;
}

int nb_slow_ensure(struct mnl_nlmsg_batch *b, uint32_t *seq,
		   const struct mh_ruleset_params *p)
{
	int err = 0;

	for (int i = 0; i < SLOW_COUNT && !err; i++) {
		struct nb_set_def d;

		if (!group_on(p, slow_sets[i].per_port))
			continue;
		slow_def(i, &d);
		err = nb_set(b, seq, p->table, &d);
	}
	return err;
}

int nb_slow_flush(struct mnl_nlmsg_batch *b, uint32_t *seq,
		  const struct mh_ruleset_params *p)
{
	int err = 0;

	for (int i = 0; i < SLOW_COUNT && !err; i++)
		if (group_on(p, slow_sets[i].per_port))
			err = nb_elems(b, seq, NFT_MSG_DELSETELEM, p->table,
				       slow_sets[i].name, NULL, 0);
	return err;
}

/* [udp dport @sessions] (ip saddr | ip6 saddr & /64) update @slowsrcN
 * { ... limit rate over R/second burst R packets } counter drop. The
 * expressions come in the order nft itself uses for that statement, so
 * `nft list` prints it back as written. */
static int put_slow_rule(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const struct mh_ruleset_params *p, const char *chain,
			 bool sessions, int i)
{
	bool v4 = i == SLOW4;
	struct nb_rule rb;
	int err = nb_rule_begin(&rb, p->table, chain);

	if (err)
		return err;
	if (sessions) {
		nb_match_udp(&rb);
		nb_payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		nb_lookup(&rb, MH_SET_SESSIONS, MH_ID_SESSIONS, 0);
	}
	nb_match_nfproto(&rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	nb_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 12 : 8,
		   slow_sets[i].key_len, NFT_REG_1);
	if (!v4)
		nb_bitwise_and(&rb, prefix64, sizeof(prefix64));
	nb_dynset_limit_over(&rb, slow_sets[i].name, slow_sets[i].id,
			     p->per_source_rate);
	nb_counter(&rb);
	nb_verdict(&rb, NF_DROP, NULL);
	nb_comment(&rb, v4
		   ? "one source address over its own slow-path budget: drop, other sources keep theirs"
		   : "one IPv6 /64 over its own slow-path budget: drop, other sources keep theirs");
	return nb_rule_end(b, seq, &rb);
}

int nb_slow_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
		  const struct mh_ruleset_params *p, const char *chain,
		  bool sessions)
{
	int err = 0;

	for (int i = SLOW4; i <= SLOW6 && p->per_source_rate && !err; i++)
		err = put_slow_rule(b, seq, p, chain, sessions, i);
	return err;
}

/*
 * With per-session budgets the slow path has two buckets of half the
 * global rate each (rounded up): one reserved for datagrams within their
 * session port's budget (this rule), one shared by the rest (the queue
 * rule of build.c). A flood at one port fills only its own budget of the
 * reserved half and the shared one, so every other session's first
 * datagrams and roams keep a share it cannot use up; a flood from one
 * source at a session's own port (held to its per-source rate) still
 * leaves that session room in the shared half. The daemon never gets
 * more than the global rate in all.
 */
uint32_t nb_slow_share(const struct mh_ruleset_params *p)
{
	return p->per_session_rate ? p->slow_path_rate / 2 + p->slow_path_rate % 2
				   : p->slow_path_rate;
}

/* udp dport @sessions update @slowport_in { udp dport limit rate R/second
 * burst R packets } limit rate G/second burst G packets queue: a datagram
 * within its port's budget is queued from the reserved share; anything
 * else falls through to the shared queue rule. Outbound the same with udp
 * sport and slowport_out. The port is loaded again for the dynset, as nft
 * itself does for that statement, so `nft list` prints it back as written. */
int nb_slow_port_rule(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const struct mh_ruleset_params *p, const char *chain,
		      bool inbound)
{
	const struct slow_set *s = &slow_sets[inbound ? PORT_IN : PORT_OUT];
	uint32_t off = inbound ? 2 : 0;      /* dport : sport in the UDP header */
	struct nb_rule rb;
	int err;

	if (!p->per_session_rate)
		return 0;
	err = nb_rule_begin(&rb, p->table, chain);
	if (err)
		return err;
	nb_match_udp(&rb);
	nb_payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2, NFT_REG_1);
	nb_lookup(&rb, MH_SET_SESSIONS, MH_ID_SESSIONS, 0);
	nb_payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2, NFT_REG_1);
	nb_dynset_limit(&rb, s->name, s->id, p->per_session_rate, false);
	nb_limit(&rb, nb_slow_share(p));
	if (inbound && p->accept_mark)       /* as the queue rule of mosh_in */
		nb_mark_or(&rb, p->accept_mark);
	nb_queue(&rb, p->native_queue, p->queue_num, p->queue_total);
	nb_comment(&rb, inbound
		   ? "session port within its own slow-path budget: queue from a share other sessions cannot use up"
		   : "session port within its own budget for new peers: queue from a share other sessions cannot use up");
	return nb_rule_end(b, seq, &rb);
}

/* Named (created if missing, as in nb_mux_tail), then deleted: a no-op in
 * effect when there were none. Per-source sets first, then per-port. */
int nb_slow_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
		 const struct mh_ruleset_params *p)
{
	int err = 0;

	for (int g = 0; g < 2 && !err; g++) {
		if (group_on(p, g))
			continue;
		err = put_group(b, seq, p->table, g);
		for (int i = 0; i < SLOW_COUNT && !err; i++)
			if (slow_sets[i].per_port == (bool)g)
				err = nb_set_delete(b, seq, p->table, slow_sets[i].name);
	}
	return err;
}
