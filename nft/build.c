/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Pure builders of mosh-helper's nftables batches with libnftnl: the whole
 * table (its flags; sets, base chains that jump on a range compare,
 * mosh_in/mosh_out rules with the accept mark on what mosh_in lets on,
 * and as an opt-in the host's own flows kept in sets of ours instead of
 * conntrack; single-port mode's part comes from mux.c, the per-source
 * budgets and per-session budgets from slowsrc.c), its deletion, the
 * queue and table-flag probes, pinhole / session-port elements, and
 * everything a daemon holds put back after a flush. Messages are appended
 * to a caller's mnl batch and no socket is touched (msg.c, expr.c).
 */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft.h"
#include "nft_int.h"

#define MH_CHAIN_PRIORITY   (-10)      /* NF_IP_PRI_FILTER - 10 */
/*
 * Idle time of a local flow (localflows4/6): conntrack's timeout for a UDP
 * flow that has seen traffic both ways (nf_conntrack_udp_timeout_stream),
 * so the host's own flows from range ports live as long as they did while
 * these rules used conntrack. Refreshed by every datagram either way.
 */
#define MH_LOCALFLOW_TIMEOUT_MS 120000

/* The dynamic sets, SET_PH4..SET_LF6, are re-created by a load that does
 * not adopt (see ensure_sets and reset_sets). The local-flow sets exist
 * only with p->local_flows. */
enum { SET_SESSIONS, SET_PH4, SET_PH6, SET_LF4, SET_LF6, SET_COUNT };

static int nsets(const struct mh_ruleset_params *p)
{
	return p->local_flows ? SET_COUNT : SET_LF4;
}

/* pinhole key: address . client port . server port */
static uint32_t pinhole_type(uint32_t addr_type)
{
	const uint32_t t[3] = { addr_type, MH_TYPE_SERVICE, MH_TYPE_SERVICE };

	return nb_concat_type(t, 3);
}

static void set_defs(const struct mh_ruleset_params *p,
		     struct nb_set_def d[SET_COUNT])
{
	const uint32_t dyn = NFT_SET_TIMEOUT | NFT_SET_EVAL;

	memset(d, 0, SET_COUNT * sizeof(*d));
	d[SET_SESSIONS] = (struct nb_set_def){ MH_SET_SESSIONS, MH_ID_SESSIONS, 0,
					       MH_TYPE_SERVICE, 2, 0, 0, 0, 0 };
	d[SET_PH4] = (struct nb_set_def){ MH_SET_PINHOLES4, MH_ID_PINHOLES4, dyn,
					  pinhole_type(MH_TYPE_IPV4), MH_PH_KEY4_LEN,
					  nb_set_size(p), p->idle_timeout_ms,
					  0, 0 };
	d[SET_PH6] = (struct nb_set_def){ MH_SET_PINHOLES6, MH_ID_PINHOLES6, dyn,
					  pinhole_type(MH_TYPE_IPV6), MH_PH_KEY6_LEN,
					  nb_set_size(p), p->idle_timeout_ms,
					  0, 0 };
	d[SET_LF4] = (struct nb_set_def){ MH_SET_LOCALFLOWS4, MH_ID_LOCALFLOWS4, dyn,
					  pinhole_type(MH_TYPE_IPV4), MH_PH_KEY4_LEN,
					  nb_set_size(p), MH_LOCALFLOW_TIMEOUT_MS,
					  0, 0 };
	d[SET_LF6] = (struct nb_set_def){ MH_SET_LOCALFLOWS6, MH_ID_LOCALFLOWS6, dyn,
					  pinhole_type(MH_TYPE_IPV6), MH_PH_KEY6_LEN,
					  nb_set_size(p), MH_LOCALFLOW_TIMEOUT_MS,
					  0, 0 };
}

/* seen4/seen6 (seen.c) are keyed as the pinholes. */
static struct nb_seen_keys seen_keys(void)
{
	return (struct nb_seen_keys){ pinhole_type(MH_TYPE_IPV4), MH_PH_KEY4_LEN,
				      pinhole_type(MH_TYPE_IPV6), MH_PH_KEY6_LEN };
}

/* Create every set if missing (an existing set of the same type is left
 * alone). The dynamic sets (pinholes, local flows) are re-created later, so
 * here they carry ids of their own (the kernel wants one on every new set)
 * and no timeout (a timeout would be an update on newer kernels). When
 * adopting, they are kept instead: their full definition creates them if
 * the table is older than they are, else updates the timeout in place (the
 * kernel, 6.10 on, takes a NEWSET of an existing set as an update of its
 * timeout, and one without a timeout would set it to none). The
 * per-source sets, when on, follow (slowsrc.c). */
static int ensure_sets(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const struct mh_ruleset_params *p)
{
	static const uint32_t tmp_id[SET_COUNT] = {
		[SET_PH4] = MH_ID_PINHOLES4_TMP, [SET_PH6] = MH_ID_PINHOLES6_TMP,
		[SET_LF4] = MH_ID_LOCALFLOWS4_TMP, [SET_LF6] = MH_ID_LOCALFLOWS6_TMP,
	};
	struct nb_set_def d[SET_COUNT];
	int err = 0;

	set_defs(p, d);
	for (int i = SET_PH4; i < SET_COUNT && !p->adopt; i++) {
		d[i].id = tmp_id[i];
		d[i].timeout_ms = 0;
	}
	for (int i = 0; i < nsets(p) && !err; i++)
		err = nb_set(b, seq, p->table, &d[i]);
	if (!err)
		err = nb_slow_ensure(b, seq, p);
	struct nb_seen_keys k = seen_keys();

	return err ? err : nb_seen_ensure(b, seq, p, &k);
}

/* After the rules are flushed: empty `sessions` and the per-source sets
 * if on (kept: mux_in's rules, flushed only later, may still use them),
 * re-create the pinhole and local-flow sets with the configured timeout
 * and size. Adopting, `sessions`, the pinhole sets and the local flows
 * keep their elements. */
static int reset_sets(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const struct mh_ruleset_params *p)
{
	struct nb_set_def d[SET_COUNT];
	int err = 0;

	set_defs(p, d);
	if (!p->adopt)
		err = nb_elems(b, seq, NFT_MSG_DELSETELEM, p->table, MH_SET_SESSIONS,
			       NULL, 0);
	if (!err)
		err = nb_slow_flush(b, seq, p);
	for (int i = SET_PH4; i < nsets(p) && !err && !p->adopt; i++)
		err = nb_set_delete(b, seq, p->table, d[i].name);
	for (int i = SET_PH4; i < nsets(p) && !err && !p->adopt; i++)
		err = nb_set(b, seq, p->table, &d[i]);
	struct nb_seen_keys k = seen_keys();

	return err ? err : nb_seen_reset(b, seq, p, &k);
}

/* Without local flows: the sets an earlier load with them left, named with
 * the definition they had (created if missing; the kernel does not compare
 * sizes) and deleted, after every chain that used them is flushed. */
static int localflows_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
			   const struct mh_ruleset_params *p)
{
	struct nb_set_def d[SET_COUNT];
	int err = 0;

	if (p->local_flows)
		return 0;
	set_defs(p, d);
	for (int i = SET_LF4; i < SET_COUNT && !err; i++)
		err = nb_set(b, seq, p->table, &d[i]);
	for (int i = SET_LF4; i < SET_COUNT && !err; i++)
		err = nb_set_delete(b, seq, p->table, d[i].name);
	return err;
}

/* The interval set `ports` of earlier versions, which the base chains'
 * jump rules looked up, if a load of one left it: named with the type it
 * had (created if missing), then deleted. Appended after every chain that
 * could use it is flushed (mux chains included); a no-op in effect when
 * there was none. */
static int old_ports_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
			  const struct mh_ruleset_params *p)
{
	const struct nb_set_def d = { MH_SET_OLD_PORTS, MH_ID_OLD_PORTS,
				      NFT_SET_INTERVAL, MH_TYPE_SERVICE, 2,
				      0, 0, 0, 0 };
	int err = nb_set(b, seq, p->table, &d);

	return err ? err : nb_set_delete(b, seq, p->table, MH_SET_OLD_PORTS);
}

/* ------------------------------------------------------------------ */
/* Pinhole keys                                                        */

const char *mh_nft_pinhole_set(int family)
{
	if (family == AF_INET)
		return MH_SET_PINHOLES4;
	if (family == AF_INET6)
		return MH_SET_PINHOLES6;
	return NULL;
}

/* Encode ph into key (MH_PH_KEY_MAX bytes); returns the key length or 0. */
static size_t mh_nft_pinhole_key(const struct mh_pinhole *ph, uint8_t *key)
{
	size_t alen = ph->family == AF_INET ? 4 : 16;
	uint16_t cport = htons(ph->client_port), sport = htons(ph->server_port);

	if (!mh_nft_pinhole_set(ph->family))
		return 0;
	memset(key, 0, MH_PH_KEY_MAX);
	memcpy(key, ph->addr, alen);
	memcpy(key + alen, &cport, 2);      /* 2 bytes of padding follow */
	memcpy(key + alen + 4, &sport, 2);
	return alen + 8;
}

int mh_nft_pinhole_from_key(const uint8_t *key, size_t len,
			    struct mh_pinhole *ph)
{
	size_t alen;
	uint16_t cport, sport;

	if (len == MH_PH_KEY4_LEN)
		alen = 4;
	else if (len == MH_PH_KEY6_LEN)
		alen = 16;
	else
		return -EINVAL;
	memset(ph, 0, sizeof(*ph));
	ph->family = alen == 4 ? AF_INET : AF_INET6;
	memcpy(ph->addr, key, alen);
	memcpy(&cport, key + alen, 2);
	memcpy(&sport, key + alen + 4, 2);
	ph->client_port = ntohs(cport);
	ph->server_port = ntohs(sport);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Matches                                                             */

/* udp sport (off 0) or dport (off 2) in a port set */
static void m_udp_port_in(struct nb_rule *rb, uint32_t off, const char *set,
			  uint32_t set_id)
{
	nb_match_udp(rb);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2, NFT_REG_1);
	nb_lookup(rb, set, set_id, 0);
}

/* Per direction: where the peer (client) address and ports are. */
struct dir {
	const char *base, *chain;
	int hook;
	uint32_t client_port_off, server_port_off; /* in the UDP header */
	uint32_t addr4_off, addr6_off;             /* peer address */
	bool refresh;                              /* update pinhole timeout */
	const char *c_jump, *c_pin4, *c_pin6, *c_queue, *c_over, *c_local, *c_drop;
};

static const struct dir dir_in = {
	"input", MH_CHAIN_MOSH_IN, NF_INET_LOCAL_IN, 0, 2, 12, 8, true,
	"UDP to the mosh range: only pinholes and authenticated sessions",
	"pinholed mosh client: accept, refresh idle timeout",
	"pinholed mosh client: accept, refresh idle timeout",
	"session port, unknown source: rate-limited queue to mosh-helperd (fail-closed)",
	"session port over the slow-path rate: drop",
	"reply to a flow this host opened from a non-session port in the range: accept, refresh",
	"nothing else enters the mosh range: silent drop, no ICMP",
};

static const struct dir dir_out = {
	"output", "mosh_out", NF_INET_LOCAL_OUT, 2, 0, 16, 24, false,
	"UDP from the mosh range: only to pinholed peers",
	"to a pinholed mosh client: accept",
	"to a pinholed mosh client: accept",
	"session reply to a new peer: queue to mosh-helperd to confirm a roam (fail-closed)",
	"session port over the slow-path rate: drop",
	"flow this host opens itself from a non-session port in the range: remember it, accept",
	"nothing else leaves the mosh range (anti-reflection): drop",
};

/* nfproto, udp, then peer addr . peer (client) port . local (server) port
 * in reg 1.. : the key of the pinhole and local-flow sets */
static void m_flow_key(struct nb_rule *rb, const struct dir *d, int family)
{
	bool v4 = family == AF_INET;
	uint32_t alen = v4 ? 4 : 16, preg = NFT_REG32_00 + alen / 4;

	nb_match_nfproto(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	nb_match_udp(rb);
	nb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v4 ? d->addr4_off : d->addr6_off,
		   alen, NFT_REG_1);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, d->client_port_off, 2, preg);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, d->server_port_off, 2, preg + 1);
}

/* the flow key, then lookup (and inbound, the refresh or the note) */
static void m_pinhole(struct nb_rule *rb, const struct dir *d, int family,
		      const struct mh_ruleset_params *p)
{
	bool v4 = family == AF_INET;
	const char *set = mh_nft_pinhole_set(family);
	uint32_t id = v4 ? MH_ID_PINHOLES4 : MH_ID_PINHOLES6;

	m_flow_key(rb, d, family);
	nb_lookup(rb, set, id, 0);
	if (d->refresh && p->pinhole_seen)
		nb_seen_note(rb, family);
	else if (d->refresh)
		nb_dynset_update(rb, set, id, 0);
}

/* The pinhole rule's comment: with seen4/6, the refresh is the daemon's. */
static const char *pin_comment(const struct dir *d, const char *c,
			       const struct mh_ruleset_params *p)
{
	if (d->refresh && p->pinhole_seen)
		return "pinholed mosh client: accept, noted as seen (mosh-helperd "
		       "re-arms the idle timeout)";
	return c;
}

/* The accept mark (fail-closed hand-off): what mosh_in lets on carries
 * p->accept_mark, so an admin rule can accept the range only with it and
 * nothing is accepted while the table is missing. Inbound only: the
 * admin's policy filters input, and a mark set on output could steer
 * policy routing. */
static void mark_in(struct nb_rule *rb, const struct dir *d,
		    const struct mh_ruleset_params *p)
{
	if (d == &dir_in && p->accept_mark)
		nb_mark_or(rb, p->accept_mark);
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

typedef void (*rule_fn)(struct nb_rule *rb, const struct dir *d,
			const struct mh_ruleset_params *p);

static void rule_jump(struct nb_rule *rb, const struct dir *d,
		      const struct mh_ruleset_params *p)
{
	nb_match_port_range(rb, d->server_port_off, p);
	nb_verdict(rb, NFT_JUMP, d->chain);
	nb_comment(rb, d->c_jump);
}

static void rule_pinhole4(struct nb_rule *rb, const struct dir *d,
			  const struct mh_ruleset_params *p)
{
	m_pinhole(rb, d, AF_INET, p);
	mark_in(rb, d, p);
	nb_verdict(rb, NF_ACCEPT, NULL);
	nb_comment(rb, pin_comment(d, d->c_pin4, p));
}

static void rule_pinhole6(struct nb_rule *rb, const struct dir *d,
			  const struct mh_ruleset_params *p)
{
	m_pinhole(rb, d, AF_INET6, p);
	mark_in(rb, d, p);
	nb_verdict(rb, NF_ACCEPT, NULL);
	nb_comment(rb, pin_comment(d, d->c_pin6, p));
}

static void rule_queue(struct nb_rule *rb, const struct dir *d,
		       const struct mh_ruleset_params *p)
{
	m_udp_port_in(rb, d->server_port_off, MH_SET_SESSIONS, MH_ID_SESSIONS);
	nb_limit(rb, nb_slow_share(p));
	mark_in(rb, d, p);   /* a datagram the daemon accepts keeps it */
	nb_queue(rb, p->native_queue, p->queue_num, p->queue_total);
	nb_comment(rb, d->c_queue);
}

static void rule_over_rate(struct nb_rule *rb, const struct dir *d,
			   const struct mh_ruleset_params *p)
{
	(void)p;
	m_udp_port_in(rb, d->server_port_off, MH_SET_SESSIONS, MH_ID_SESSIONS);
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, d->c_over);
}

/*
 * Opt-in (p->local_flows): the host's own flows from non-session ports in
 * the range, without conntrack (a ct expression would make the kernel
 * track every packet of the netns). Outbound: add the flow or refresh
 * it. Inbound: only a flow already there, refreshed. Both sit after the
 * session rules, so no entry ever lets a datagram reach a session port
 * past the daemon. When the set is full, the update fails, the rule does
 * not match and the datagram meets the final drop: never open.
 */
static void localflow(struct nb_rule *rb, const struct dir *d, int family,
		      const struct mh_ruleset_params *p)
{
	bool v4 = family == AF_INET;
	const char *set = v4 ? MH_SET_LOCALFLOWS4 : MH_SET_LOCALFLOWS6;
	uint32_t id = v4 ? MH_ID_LOCALFLOWS4 : MH_ID_LOCALFLOWS6;

	m_flow_key(rb, d, family);
	if (d == &dir_in)
		nb_lookup(rb, set, id, 0);
	nb_dynset_update(rb, set, id, 0);
	mark_in(rb, d, p);
	nb_verdict(rb, NF_ACCEPT, NULL);
	nb_comment(rb, d->c_local);
}

static void rule_localflow4(struct nb_rule *rb, const struct dir *d,
			    const struct mh_ruleset_params *p)
{
	localflow(rb, d, AF_INET, p);
}

static void rule_localflow6(struct nb_rule *rb, const struct dir *d,
			    const struct mh_ruleset_params *p)
{
	localflow(rb, d, AF_INET6, p);
}

static void rule_drop(struct nb_rule *rb, const struct dir *d,
		      const struct mh_ruleset_params *p)
{
	(void)p;
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, d->c_drop);
}

static int put_rule(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
		    const char *chain, rule_fn fn, const struct dir *d,
		    const struct mh_ruleset_params *p)
{
	struct nb_rule rb;
	int err = nb_rule_begin(&rb, table, chain);

	if (err)
		return err;
	fn(&rb, d, p);
	return nb_rule_end(b, seq, &rb);
}

static const rule_fn sub_rules[] = {
	rule_pinhole4, rule_pinhole6, rule_queue, rule_over_rate,
	rule_localflow4, rule_localflow6, rule_drop,
};

/* In single-port mode mosh_in starts with the guard against datagrams that
 * did not come through the public port (mux.c). The budgets' rules sit
 * between the pinhole rules and the queue rule (slowsrc.c): pinholed
 * clients never meet them. In mosh_in per source (drop), then per session
 * port (within budget: queue from a reserved share; the queue rule takes
 * the rest from the other share): a datagram its source's budget drops
 * takes nothing from the port's, so one source spraying many ports spends
 * no more of their budgets than its own rate. mosh_out has only the
 * per-port one (local processes send there; one session's port cannot use
 * up the others' roam replies). */
static int put_direction_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
			       const struct mh_ruleset_params *p,
			       const struct dir *d)
{
	int err = d == &dir_out ? nb_relay_guard_rules(b, seq, p, d->base) : 0;

	if (!err)
		err = put_rule(b, seq, p->table, d->base, rule_jump, d, p);
	if (!err && d == &dir_in && p->public_port)
		err = nb_mux_input_guard(b, seq, p);
	for (size_t i = 0; i < sizeof(sub_rules) / sizeof(sub_rules[0]) && !err; i++) {
		bool lf = sub_rules[i] == rule_localflow4 || sub_rules[i] == rule_localflow6;

		if (sub_rules[i] == rule_queue && d == &dir_in)
			err = nb_slow_rules(b, seq, p, d->chain, true);
		if (!err && sub_rules[i] == rule_queue)
			err = nb_slow_port_rule(b, seq, p, d->chain, d == &dir_in);
		if (!err && (p->local_flows || !lf))
			err = put_rule(b, seq, p->table, d->chain, sub_rules[i], d, p);
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* Public builders                                                     */

static void chain_defs(struct nb_chain_def c[4])
{
	c[0] = (struct nb_chain_def){ dir_in.base, dir_in.hook, MH_CHAIN_PRIORITY, "filter" };
	c[1] = (struct nb_chain_def){ dir_in.chain, -1, 0, NULL };
	c[2] = (struct nb_chain_def){ dir_out.base, dir_out.hook, MH_CHAIN_PRIORITY, "filter" };
	c[3] = (struct nb_chain_def){ dir_out.chain, -1, 0, NULL };
}

static int put_chains(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table)
{
	struct nb_chain_def c[4];
	int err = 0;

	chain_defs(c);
	for (size_t i = 0; i < 4 && !err; i++)
		err = nb_chain(b, seq, NFT_MSG_NEWCHAIN, table, &c[i]);
	return err;
}

static int flush_chains(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table)
{
	struct nb_chain_def c[4];
	int err = 0;

	chain_defs(c);
	for (size_t i = 0; i < 4 && !err; i++)
		err = nb_chain_flush(b, seq, table, c[i].name);
	return err;
}

/*
 * One transaction whether or not the table exists: create what is missing,
 * flush the rules, reset the sets, add the rules. The table and the base
 * chains keep their identity across a reload: deleting and re-adding the
 * table would register new hooks at commit, and datagrams to the range
 * were measured to slip through during that commit (kernel 6.18). Flushed
 * chains swap their rules atomically at the generation flip; the range
 * lives in the base chains' jump rules (a range compare: cheaper per
 * datagram than an interval set lookup), so a reload that moves it swaps
 * with them. Single-port mode's maps and chains follow at the end (mux.c):
 * made, or removed if left from an earlier load; then the removal of the
 * `ports` set of earlier versions and, with per-source budgets or local
 * flows off, of their sets (after every chain that may have used them,
 * mux_in's included, is flushed). With p->adopt the session ports,
 * pinholes and mappings stay (a restart or a reload that keeps its
 * sessions).
 */
int mh_nft_build_ruleset(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const struct mh_ruleset_params *p)
{
	int err = nb_check_params(p);

	if (!err)
		err = nb_table(b, seq, NFT_MSG_NEWTABLE, p->table, p->table_flags);
	if (!err)
		err = ensure_sets(b, seq, p);
	if (!err)
		err = put_chains(b, seq, p->table);
	if (!err)
		err = flush_chains(b, seq, p->table);
	if (!err)
		err = reset_sets(b, seq, p);
	if (!err)
		err = put_direction_rules(b, seq, p, &dir_in);
	if (!err)
		err = put_direction_rules(b, seq, p, &dir_out);
	if (!err)
		err = nb_mux_tail(b, seq, p);
	if (!err)
		err = old_ports_tail(b, seq, p);
	if (!err)
		err = nb_slow_tail(b, seq, p);
	if (!err)
		err = localflows_tail(b, seq, p);
	return err;
}

int mh_nft_build_table_delete(struct mnl_nlmsg_batch *b, uint32_t *seq,
			      const char *table)
{
	int err = nb_check_table_name(table);

	return err ? err : nb_table(b, seq, NFT_MSG_DELTABLE, table, 0);
}

static void rule_probe(struct nb_rule *rb, const struct dir *d,
		       const struct mh_ruleset_params *p)
{
	(void)d;
	nb_queue(rb, p->native_queue, p->queue_num, p->queue_total);
}

int mh_nft_build_queue_probe(struct mnl_nlmsg_batch *b, uint32_t *seq,
			     bool native)
{
	const struct mh_ruleset_params p = {
		.table = MH_PROBE_TABLE, .queue_total = 1, .native_queue = native,
	};
	const struct nb_chain_def probe = { "probe", NF_INET_LOCAL_IN, 0, "filter" };
	int err = nb_table(b, seq, NFT_MSG_NEWTABLE, p.table, 0);

	if (!err)
		err = nb_chain(b, seq, NFT_MSG_NEWCHAIN, p.table, &probe);
	if (!err)
		err = put_rule(b, seq, p.table, probe.name, rule_probe, &dir_in, &p);
	if (!err)
		err = nb_table(b, seq, NFT_MSG_DELTABLE, p.table, 0);
	return err;
}

int mh_nft_build_pinhole_probe(struct mnl_nlmsg_batch *b, uint32_t *seq,
			       const struct mh_ruleset_params *p, uint32_t flags)
{
	struct nb_set_def d[SET_COUNT];
	int err = nb_table(b, seq, NFT_MSG_NEWTABLE, MH_PROBE_TABLE, flags);

	set_defs(p, d);
	return err ? err : nb_set(b, seq, MH_PROBE_TABLE, &d[SET_PH4]);
}

int mh_nft_build_table_probe(struct mnl_nlmsg_batch *b, uint32_t *seq,
			     uint32_t flags)
{
	int err = nb_table(b, seq, NFT_MSG_NEWTABLE, MH_PROBE_TABLE, flags);

	return err ? err : nb_table(b, seq, NFT_MSG_DELTABLE, MH_PROBE_TABLE, 0);
}

/* One pinhole key's message of type in set (pinhole_msg: the family's
 * pinhole set): for a NEWSETELEM its timeout (0: the set's) and time left
 * (0: none given). */
static int key_msg(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
		   const char *set, const struct mh_pinhole *ph, uint16_t type,
		   uint32_t timeout_ms, uint64_t expire_ms)
{
	uint8_t key[MH_PH_KEY_MAX];
	size_t len = mh_nft_pinhole_key(ph, key);
	struct nb_elem ev = { key, (uint32_t)len, 0, timeout_ms, NULL, 0, expire_ms };

	if (!len || nb_check_table_name(table))
		return -EINVAL;
	return nb_elems(b, seq, type, table, set, &ev, 1);
}

static int pinhole_msg(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const char *table, const struct mh_pinhole *ph,
		       uint16_t type, uint32_t timeout_ms, uint64_t expire_ms)
{
	return key_msg(b, seq, table, mh_nft_pinhole_set(ph->family), ph, type,
		       timeout_ms, expire_ms);
}

int mh_nft_build_pinhole(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const char *table, const struct mh_pinhole *ph,
			 bool add, uint32_t timeout_ms)
{
	return pinhole_msg(b, seq, table, ph,
			   add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			   add ? timeout_ms : 0, 0);
}

int mh_nft_build_pinhole_expire(struct mnl_nlmsg_batch *b, uint32_t *seq,
				const char *table, const struct mh_pinhole *ph,
				uint32_t timeout_ms)
{
	if (timeout_ms < MH_NFT_EXPIRE_MS)   /* the update must carry one */
		return -EINVAL;
	return pinhole_msg(b, seq, table, ph, NFT_MSG_NEWSETELEM, timeout_ms,
			   MH_NFT_EXPIRE_MS);
}

int mh_nft_build_pinhole_rearm(struct mnl_nlmsg_batch *b, uint32_t *seq,
			       const char *table, const struct mh_pinhole *ph,
			       uint32_t timeout_ms, uint32_t left_ms)
{
	if (!left_ms || left_ms > timeout_ms)
		return -EINVAL;
	return pinhole_msg(b, seq, table, ph, NFT_MSG_NEWSETELEM, timeout_ms,
			   left_ms);
}

int mh_nft_build_pinhole_destroy(struct mnl_nlmsg_batch *b, uint32_t *seq,
				 const char *table, const struct mh_pinhole *ph)
{
	return pinhole_msg(b, seq, table, ph, MH_NFT_MSG_DESTROYSETELEM, 0, 0);
}

int mh_nft_build_seen_destroy(struct mnl_nlmsg_batch *b, uint32_t *seq,
			      const char *table, const struct mh_pinhole *ph)
{
	return key_msg(b, seq, table, mh_nft_seen_set(ph->family), ph,
		       MH_NFT_MSG_DESTROYSETELEM, 0, 0);
}

int mh_nft_build_session_port(struct mnl_nlmsg_batch *b, uint32_t *seq,
			      const char *table, uint16_t port, bool add)
{
	uint16_t key = htons(port);
	struct nb_elem ev = { &key, sizeof(key), 0, 0, NULL, 0, 0 };

	if (nb_check_table_name(table))
		return -EINVAL;
	return nb_elems(b, seq, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			table, MH_SET_SESSIONS, &ev, 1);
}

int mh_nft_build_elem(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const char *table, enum mh_nft_kind kind, enum mh_nft_op op,
		      const struct mh_addr *client, uint16_t server_port,
		      uint32_t timeout_ms)
{
	struct mh_pinhole ph;
	bool add = op == MH_NFT_ADD;

	if (op == MH_NFT_EXPIRE && kind != MH_NFT_PINHOLE)
		return -EINVAL;
	if (kind == MH_NFT_PORT)
		return mh_nft_build_session_port(b, seq, table, server_port, add);
	if (!client)
		return -EINVAL;
	ph = mh_pinhole_of(client, server_port);
	if (op == MH_NFT_EXPIRE)
		return mh_nft_build_pinhole_expire(b, seq, table, &ph, timeout_ms);
	if (kind == MH_NFT_PINHOLE)
		return mh_nft_build_pinhole(b, seq, table, &ph, add, timeout_ms);
	return mh_nft_build_mux(b, seq, table, &ph, kind == MH_NFT_MUX, add,
				timeout_ms);
}

/* ------------------------------------------------------------------ */
/* Putting back what a flush took                                      */

/* One family's pinholes (or confirmed mappings) from v[], chunked. */
static int put_family(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const char *table, const struct mh_nft_elems *e,
		      int family, bool mux)
{
	uint8_t keys[MH_NFT_ELEMS_PER_MSG][MH_PH_KEY_MAX];
	uint16_t data[MH_NFT_ELEMS_PER_MSG];
	struct nb_elem ev[MH_NFT_ELEMS_PER_MSG];
	const char *set = mux ? mh_nft_mux_map(family, true) : mh_nft_pinhole_set(family);
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; i < e->n_pinholes && !err; i++) {
		const struct mh_pinhole *ph = &e->pinholes[i];
		size_t len;

		if (ph->family != family)
			continue;
		len = mux ? mh_nft_mux_key(ph, keys[n]) : mh_nft_pinhole_key(ph, keys[n]);
		data[n] = htons(ph->server_port);
		ev[n] = (struct nb_elem){ keys[n], (uint32_t)len, 0,
					  e->pinhole_timeout_ms,
					  mux ? &data[n] : NULL, mux ? 2 : 0, 0 };
		if (++n == MH_NFT_ELEMS_PER_MSG) {
			err = nb_elems(b, seq, NFT_MSG_NEWSETELEM, table, set, ev, n);
			n = 0;
		}
	}
	if (!err && n)
		err = nb_elems(b, seq, NFT_MSG_NEWSETELEM, table, set, ev, n);
	return err;
}

static int put_ports(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const char *table, const struct mh_nft_elems *e)
{
	uint16_t keys[MH_NFT_ELEMS_PER_MSG];
	struct nb_elem ev[MH_NFT_ELEMS_PER_MSG];
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; i < e->n_ports && !err; i++) {
		keys[n] = htons(e->ports[i]);
		ev[n] = (struct nb_elem){ &keys[n], 2, 0, 0, NULL, 0, 0 };
		if (++n == MH_NFT_ELEMS_PER_MSG) {
			err = nb_elems(b, seq, NFT_MSG_NEWSETELEM, table,
				       MH_SET_SESSIONS, ev, n);
			n = 0;
		}
	}
	if (!err && n)
		err = nb_elems(b, seq, NFT_MSG_NEWSETELEM, table, MH_SET_SESSIONS, ev, n);
	return err;
}

int mh_nft_build_elems(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const char *table, const struct mh_nft_elems *e)
{
	int err = nb_check_table_name(table);

	for (size_t i = 0; i < e->n_pinholes && !err; i++)
		if (!mh_nft_pinhole_set(e->pinholes[i].family) ||
		    !e->pinholes[i].server_port)
			err = -EINVAL;
	if (!err)
		err = put_ports(b, seq, table, e);
	if (!err)
		err = put_family(b, seq, table, e, AF_INET, false);
	if (!err)
		err = put_family(b, seq, table, e, AF_INET6, false);
	if (!err && e->mux)
		err = put_family(b, seq, table, e, AF_INET, true);
	if (!err && e->mux)
		err = put_family(b, seq, table, e, AF_INET6, true);
	return err;
}

/* A ruleset is some 12 KiB; an element at most 64 bytes in its message. */
#define MH_RULESET_BYTES  (64 * 1024)
#define MH_ELEM_BYTES     96

size_t mh_nft_restore_size(const struct mh_nft_elems *e)
{
	size_t n = e->n_ports + e->n_pinholes * (e->mux ? 2 : 1);

	return MH_RULESET_BYTES + n * MH_ELEM_BYTES;
}
