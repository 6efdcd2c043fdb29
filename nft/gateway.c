/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The perimeter gateway's table (role = gateway): forward-hook chains that
 * let a datagram to or from a server's mosh port through only for a
 * pinholed 4-tuple, send a session's unknown peers to the slow path (both
 * halves: the client's first datagram and the server's first reply) and
 * drop the rest silently; the session and pinhole sets and their element
 * keys. Pure builders into a caller's batch (msg.c, expr.c, slowsrc.c).
 */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft_gw.h"
#include "nft_int.h"

#define GW_CHAIN_PRIORITY (-10)          /* NF_IP_PRI_FILTER - 10 */
#define GW_BASE      "forward"
#define GW_IN        "gw_in"
#define GW_OUT       "gw_out"
#define GW_SLOW_IN   "gw_slow_in"
#define GW_SLOW_OUT  "gw_slow_out"
#define GW_SESSIONS4 "sessions4"
#define GW_SESSIONS6 "sessions6"
#define GW_PINHOLES4 "pinholes4"
#define GW_PINHOLES6 "pinholes6"

/* Set ids of this table's batches, apart from the host table's (nft_int.h)
 * that slowsrc.c's sets use. */
enum {
	GW_ID_SESS4 = 100, GW_ID_SESS6, GW_ID_PH4, GW_ID_PH6,
	GW_ID_PH4_TMP, GW_ID_PH6_TMP,
};

/* ------------------------------------------------------------------ */
/* Keys                                                                */

const char *mh_nft_gw_set(enum mh_gw_kind kind, int family)
{
	static const char *const names[2][2] = {
		[MH_GW_SESSION] = { GW_SESSIONS4, GW_SESSIONS6 },
		[MH_GW_PINHOLE] = { GW_PINHOLES4, GW_PINHOLES6 },
	};

	if (kind == MH_GW_SEEN)
		return mh_nft_seen_set(family);
	if ((unsigned)kind > MH_GW_PINHOLE)
		return NULL;
	if (family == AF_INET)
		return names[kind][0];
	return family == AF_INET6 ? names[kind][1] : NULL;
}

/* address . port (padded to 4 bytes) at key; returns the bytes written */
static size_t put_field(uint8_t *key, const struct mh_addr *a)
{
	size_t alen = a->family == AF_INET ? 4 : 16;
	uint16_t port = htons(a->port);

	memcpy(key, a->ip, alen);
	memcpy(key + alen, &port, 2);    /* 2 bytes of padding follow */
	return alen + 4;
}

static size_t get_field(const uint8_t *key, int family, struct mh_addr *a)
{
	size_t alen = family == AF_INET ? 4 : 16;
	uint16_t port;

	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->ip, key, alen);
	memcpy(&port, key + alen, 2);
	a->port = ntohs(port);
	return alen + 4;
}

size_t mh_nft_gw_key(enum mh_gw_kind kind, const struct mh_addr *client,
		     const struct mh_addr *server, uint8_t *key)
{
	size_t n = 0;

	if (!server || !mh_nft_gw_set(kind, server->family))
		return 0;
	if (kind != MH_GW_SESSION && (!client || client->family != server->family))
		return 0;
	memset(key, 0, MH_GW_KEY_MAX);
	if (kind != MH_GW_SESSION)
		n = put_field(key, client);
	return n + put_field(key + n, server);
}

int mh_nft_gw_from_key(enum mh_gw_kind kind, const uint8_t *key, size_t len,
		       struct mh_addr *client, struct mh_addr *server)
{
	bool sess = kind == MH_GW_SESSION;
	size_t n = 0;
	int family;

	if (len == (sess ? MH_GW_SESS_KEY4_LEN : MH_GW_PH_KEY4_LEN))
		family = AF_INET;
	else if (len == (sess ? MH_GW_SESS_KEY6_LEN : MH_GW_PH_KEY6_LEN))
		family = AF_INET6;
	else
		return -EINVAL;
	memset(client, 0, sizeof(*client));
	if (!sess)
		n = get_field(key, family, client);
	get_field(key + n, family, server);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sets                                                                */

enum { S_SESS4, S_SESS6, S_PH4, S_PH6, S_COUNT };

static uint32_t key_type(int family, bool pinhole)
{
	uint32_t a = family == AF_INET ? MH_TYPE_IPV4 : MH_TYPE_IPV6;
	const uint32_t t[4] = { a, MH_TYPE_SERVICE, a, MH_TYPE_SERVICE };

	return pinhole ? nb_concat_type(t, 4) : nb_concat_type(t + 2, 2);
}

static void set_defs(const struct mh_ruleset_params *p, struct nb_set_def d[S_COUNT])
{
	const uint32_t dyn = NFT_SET_TIMEOUT | NFT_SET_EVAL;

	memset(d, 0, S_COUNT * sizeof(*d));
	d[S_SESS4] = (struct nb_set_def){ GW_SESSIONS4, GW_ID_SESS4, 0,
					  key_type(AF_INET, false),
					  MH_GW_SESS_KEY4_LEN, 0, 0, 0, 0 };
	d[S_SESS6] = (struct nb_set_def){ GW_SESSIONS6, GW_ID_SESS6, 0,
					  key_type(AF_INET6, false),
					  MH_GW_SESS_KEY6_LEN, 0, 0, 0, 0 };
	d[S_PH4] = (struct nb_set_def){ GW_PINHOLES4, GW_ID_PH4, dyn,
					key_type(AF_INET, true), MH_GW_PH_KEY4_LEN,
					nb_set_size(p), p->idle_timeout_ms, 0, 0 };
	d[S_PH6] = (struct nb_set_def){ GW_PINHOLES6, GW_ID_PH6, dyn,
					key_type(AF_INET6, true), MH_GW_PH_KEY6_LEN,
					nb_set_size(p), p->idle_timeout_ms, 0, 0 };
}

/* seen4/seen6 (seen.c) are keyed as the pinholes. */
static struct nb_seen_keys seen_keys(void)
{
	return (struct nb_seen_keys){ key_type(AF_INET, true), MH_GW_PH_KEY4_LEN,
				      key_type(AF_INET6, true), MH_GW_PH_KEY6_LEN };
}

/* The budgets slowsrc.c builds, as the gateway uses them: per source only
 * (a per-port budget would mix up the servers' ports; the gateway's
 * per-session budgets, keyed server address . port, are gwslow.c's). */
static struct mh_ruleset_params slow_params(const struct mh_ruleset_params *p)
{
	struct mh_ruleset_params s = *p;

	s.per_session_rate = 0;
	return s;
}

/* Made to exist before the chains refer to them. The pinhole sets are
 * re-created by a load that does not adopt (reset_sets), so they are named
 * here with a temporary id and no timeout, as in build.c. */
static int ensure_sets(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const struct mh_ruleset_params *p)
{
	static const uint32_t tmp_id[S_COUNT] = {
		[S_PH4] = GW_ID_PH4_TMP, [S_PH6] = GW_ID_PH6_TMP,
	};
	struct mh_ruleset_params s = slow_params(p);
	struct nb_seen_keys k = seen_keys();
	struct nb_set_def d[S_COUNT];
	int err = 0;

	set_defs(p, d);
	for (int i = S_PH4; i < S_COUNT && !p->adopt; i++) {
		d[i].id = tmp_id[i];
		d[i].timeout_ms = 0;
	}
	for (int i = 0; i < S_COUNT && !err; i++)
		err = nb_set(b, seq, p->table, &d[i]);
	if (!err)
		err = nb_gw_slow_ensure(b, seq, p);
	if (!err)
		err = nb_seen_ensure(b, seq, p, &k);
	return err ? err : nb_slow_ensure(b, seq, &s);
}

/* After the chains are flushed: empty the session sets and the budgets,
 * re-create the pinhole sets with the configured timeout and size; an
 * adopting load keeps sessions and pinholes. */
static int reset_sets(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const struct mh_ruleset_params *p)
{
	struct mh_ruleset_params s = slow_params(p);
	struct nb_seen_keys k = seen_keys();
	struct nb_set_def d[S_COUNT];
	int err = nb_slow_flush(b, seq, &s);

	if (!err)
		err = nb_gw_slow_flush(b, seq, p);
	if (!err)
		err = nb_seen_reset(b, seq, p, &k);
	if (p->adopt)
		return err;
	set_defs(p, d);
	for (int i = S_SESS4; i <= S_SESS6 && !err; i++)
		err = nb_elems(b, seq, NFT_MSG_DELSETELEM, p->table, d[i].name, NULL, 0);
	for (int i = S_PH4; i < S_COUNT && !err; i++)
		err = nb_set_delete(b, seq, p->table, d[i].name);
	for (int i = S_PH4; i < S_COUNT && !err; i++)
		err = nb_set(b, seq, p->table, &d[i]);
	return err;
}

/* ------------------------------------------------------------------ */
/* Chains                                                              */

static const struct nb_chain_def gw_chains[] = {
	{ GW_BASE, NF_INET_FORWARD, GW_CHAIN_PRIORITY, "filter" },
	{ GW_IN, -1, 0, NULL },
	{ GW_SLOW_IN, -1, 0, NULL },
	{ GW_OUT, -1, 0, NULL },
	{ GW_SLOW_OUT, -1, 0, NULL },
};
#define GW_NCHAINS (sizeof(gw_chains) / sizeof(gw_chains[0]))

static int put_chains(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table)
{
	int err = 0;

	for (size_t i = 0; i < GW_NCHAINS && !err; i++)
		err = nb_chain(b, seq, NFT_MSG_NEWCHAIN, table, &gw_chains[i]);
	for (size_t i = 0; i < GW_NCHAINS && !err; i++)
		err = nb_chain_flush(b, seq, table, gw_chains[i].name);
	return err;
}

/* ------------------------------------------------------------------ */
/* Matches                                                             */

/*
 * One direction of the forward path. Inbound (gw_in): an outside peer
 * (the client) sends to a server's range port, so the client is the
 * source; outbound (gw_out): the server's range port sends, the client is
 * the destination. Offsets in the IPv4 / IPv6 header and the UDP header.
 */
struct gw_dir {
	const char *chain, *slow;
	uint32_t cport_off, sport_off;       /* UDP: client port, server port */
	uint32_t c4_off, s4_off, c6_off, s6_off;
	bool refresh;                        /* pinhole hits refresh the timeout */
	const char *c_jump, *c_pin, *c_sess, *c_drop, *c_queue, *c_over;
	const char *c_reply;                 /* gw_in only: see rule_reply */
};

static const struct gw_dir gw_in = {
	GW_IN, GW_SLOW_IN, 0, 2, 12, 16, 8, 24, true,
	"UDP to a server's mosh range: only pinholes and authenticated sessions",
	"pinholed client of this server port: accept, refresh idle timeout",
	"session of this server port, unknown client: slow path",
	"nothing else reaches a server's mosh range: silent drop, no ICMP",
	"client's first datagram or roam: rate-limited queue to mosh-helperd (fail-closed)",
	"over the slow-path rate: drop",
	"from a range port too (a reply to a client whose own port is in the range): the outbound rules",
};

static const struct gw_dir gw_out = {
	GW_OUT, GW_SLOW_OUT, 2, 0, 16, 12, 24, 8, false,
	"UDP from a server's mosh range: only to pinholed peers",
	"to a pinholed client: accept",
	"session's reply to a new peer: slow path, the daemon confirms the half",
	"nothing else leaves a server's mosh range (anti-reflection): drop",
	"server's reply to a new peer: rate-limited queue to mosh-helperd (fail-closed)",
	"over the slow-path rate: drop",
	NULL,
};

/* address at off (network header) and port at poff (UDP) into reg, reg+n */
static uint32_t load_field(struct nb_rule *rb, uint32_t reg, int family,
			   uint32_t off, uint32_t poff)
{
	uint32_t alen = family == AF_INET ? 4 : 16;

	nb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, off, alen, reg);
	nb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, poff, 2, reg + alen / 4);
	return reg + alen / 4 + 1;
}

/* nfproto, udp, the key from reg 1: [client addr . client port .]
 * server addr . server port */
static void m_key(struct nb_rule *rb, const struct gw_dir *d, int family,
		  bool pinhole)
{
	bool v4 = family == AF_INET;
	uint32_t reg = NFT_REG32_00;

	nb_match_nfproto(rb, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	nb_match_udp(rb);
	if (pinhole)
		reg = load_field(rb, reg, family, v4 ? d->c4_off : d->c6_off,
				 d->cport_off);
	load_field(rb, reg, family, v4 ? d->s4_off : d->s6_off, d->sport_off);
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

typedef void (*gw_rule_fn)(struct nb_rule *rb, const struct gw_dir *d,
			   const struct mh_ruleset_params *p, int family);

static void mark(struct nb_rule *rb, const struct mh_ruleset_params *p)
{
	if (p->accept_mark)
		nb_mark_or(rb, p->accept_mark);
}

static void rule_jump(struct nb_rule *rb, const struct gw_dir *d,
		      const struct mh_ruleset_params *p, int family)
{
	(void)family;
	nb_match_port_range(rb, d->sport_off, p);
	nb_verdict(rb, NFT_JUMP, d->chain);
	nb_comment(rb, d->c_jump);
}

static void rule_pinhole(struct nb_rule *rb, const struct gw_dir *d,
			 const struct mh_ruleset_params *p, int family)
{
	const char *set = mh_nft_gw_set(MH_GW_PINHOLE, family);
	uint32_t id = family == AF_INET ? GW_ID_PH4 : GW_ID_PH6;

	m_key(rb, d, family, true);
	nb_lookup(rb, set, id, 0);
	if (d->refresh && p->pinhole_seen)
		nb_seen_note(rb, family);
	else if (d->refresh)
		nb_dynset_update(rb, set, id, 0);
	mark(rb, p);
	nb_verdict(rb, NF_ACCEPT, NULL);
	nb_comment(rb, d->refresh && p->pinhole_seen ?
		   "pinholed client of this server port: accept, noted as seen "
		   "(mosh-helperd re-arms the idle timeout)" : d->c_pin);
}

static void rule_session(struct nb_rule *rb, const struct gw_dir *d,
			 const struct mh_ruleset_params *p, int family)
{
	(void)p;
	m_key(rb, d, family, false);
	nb_lookup(rb, mh_nft_gw_set(MH_GW_SESSION, family),
		  family == AF_INET ? GW_ID_SESS4 : GW_ID_SESS6, 0);
	nb_verdict(rb, NFT_GOTO, d->slow);
	nb_comment(rb, d->c_sess);
}

/* The mark goes on before the queue: a datagram the daemon accepts keeps
 * it for the admin's forward policy. */
static void rule_queue(struct nb_rule *rb, const struct gw_dir *d,
		       const struct mh_ruleset_params *p, int family)
{
	(void)family;
	nb_limit(rb, nb_slow_share(p));
	mark(rb, p);
	nb_queue(rb, p->native_queue, p->queue_num, p->queue_total);
	nb_comment(rb, d->c_queue);
}

/*
 * Both directions share the forward hook, and the base chain sends a
 * datagram to gw_in whenever its destination port is in the range. A
 * server's reply to a client whose own port is in the range (Linux's
 * default ephemeral ports end at 60999; a NAT may pick any) is such a
 * datagram: not a pinhole or a session seen inbound, it goes on to gw_out,
 * whose rules judge it as what it is, traffic from a server's range port.
 */
static void rule_reply(struct nb_rule *rb, const struct gw_dir *d,
		       const struct mh_ruleset_params *p, int family)
{
	(void)family;
	nb_match_port_range(rb, gw_out.sport_off, p);
	nb_verdict(rb, NFT_GOTO, gw_out.chain);
	nb_comment(rb, d->c_reply);
}

/*
 * The reverse-path check of every gateway (keyless mode's first, issue
 * 16). Without keys, the server's reply to a candidate is the only proof
 * that opens a pinhole, and nothing in it is authenticated: a host behind
 * the gateway (another login server), or one outside hairpinning through
 * it, could forge that reply from another server's address and port and
 * open a pinhole to that server for anyone. With keys the reply is
 * authenticated but not fresh: the slow path sees only the datagrams the
 * pinholes do not pass, so a captured reply of mosh-server's is, to the
 * daemon, as new as any; replayed from outside with the server's address
 * to a candidate the attacker made by replaying the client's own
 * datagram, it would open a pinhole for a passive observer (t_gw_core
 * shows it). So a datagram that would confirm (gw_slow_out) must
 * come in on the interface the route back to its source address leaves
 * by: fib saddr . iif oif, 0 when no route through that interface reaches
 * the source. Done in the kernel, not the daemon: the kernel's routing
 * table already says where each server lives (the relay certificates name
 * addresses, not interfaces), nothing needs to be configured or kept in
 * step, and a forgery is dropped before the queue, costing no slow-path
 * rate. Its limit (README, "Keyless mode"): servers sharing one interface
 * and subnet are not told apart; give each its own interface or VLAN, or
 * have the switch enforce source addresses.
 */
static void rule_rpf(struct nb_rule *rb, const struct gw_dir *d,
		     const struct mh_ruleset_params *p, int family)
{
	uint32_t none = 0;

	(void)d;
	(void)p;
	(void)family;
	nb_fib_rpf(rb);
	nb_cmp(rb, NFT_CMP_EQ, &none, sizeof(none));
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, "a server's address from where it does not live "
		   "(reverse path): drop");
}

static void rule_drop(struct nb_rule *rb, const char *comment)
{
	nb_counter(rb);
	nb_verdict(rb, NF_DROP, NULL);
	nb_comment(rb, comment);
}

static int put_rule(struct mnl_nlmsg_batch *b, uint32_t *seq,
		    const struct mh_ruleset_params *p, const char *chain,
		    gw_rule_fn fn, const struct gw_dir *d, int family)
{
	struct nb_rule rb;
	int err = nb_rule_begin(&rb, p->table, chain);

	if (err)
		return err;
	fn(&rb, d, p, family);
	return nb_rule_end(b, seq, &rb);
}

static int put_drop(struct mnl_nlmsg_batch *b, uint32_t *seq,
		    const char *table, const char *chain, const char *comment)
{
	struct nb_rule rb;
	int err = nb_rule_begin(&rb, table, chain);

	if (err)
		return err;
	rule_drop(&rb, comment);
	return nb_rule_end(b, seq, &rb);
}

/* gw_in / gw_out: (gw_in in single-port mode: the guard of nft/mux.c, a
 * server's port is reached only through the public port), pinholes (v4,
 * v6), sessions to the slow chain (v4, v6), (gw_in: datagrams from a range
 * port on to gw_out), drop. The slow chain:
 * per-source budgets (inbound only), the reverse-path check (outbound),
 * per-session budgets (gwslow.c: within its own, a session
 * queues from a reserved share), the queue under the shared rate for both
 * families, drop over it. */
static int put_direction(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const struct mh_ruleset_params *p,
			 const struct gw_dir *d)
{
	struct mh_ruleset_params s = slow_params(p);
	int err = put_rule(b, seq, p, GW_BASE, rule_jump, d, 0);

	if (!err && d == &gw_in && p->public_port)   /* single-port mode */
		err = nb_mux_guard(b, seq, p, d->chain);
	for (int f = 0; f < 2 && !err; f++)
		err = put_rule(b, seq, p, d->chain, rule_pinhole, d,
			       f ? AF_INET6 : AF_INET);
	for (int f = 0; f < 2 && !err; f++)
		err = put_rule(b, seq, p, d->chain, rule_session, d,
			       f ? AF_INET6 : AF_INET);
	if (!err && d == &gw_in)
		err = put_rule(b, seq, p, d->chain, rule_reply, d, 0);
	if (!err)
		err = put_drop(b, seq, p->table, d->chain, d->c_drop);
	if (!err && d == &gw_in)
		err = nb_slow_rules(b, seq, &s, d->slow, false);
	if (!err && d == &gw_out && p->reverse_path)
		err = put_rule(b, seq, p, d->slow, rule_rpf, d, 0);
	if (!err)
		err = nb_gw_slow_rules(b, seq, p, d->slow, d == &gw_in);
	if (!err)
		err = put_rule(b, seq, p, d->slow, rule_queue, d, 0);
	if (!err)
		err = put_drop(b, seq, p->table, d->slow, d->c_over);
	return err;
}

/* ------------------------------------------------------------------ */
/* Public builders                                                     */

static int check_params(const struct mh_ruleset_params *p)
{
	if (nb_check_table_name(p->table) || p->port_low == 0 ||
	    p->port_low > p->port_high || p->idle_timeout_ms == 0 ||
	    p->queue_total == 0 || p->slow_path_rate == 0 ||
	    (uint32_t)p->queue_num + p->queue_total - 1 > UINT16_MAX ||
	    (p->public_port && p->provisional_timeout_ms == 0) ||
	    p->local_flows ||
	    (p->table_flags && p->table_flags != MH_TABLE_F_OWNED))
		return -EINVAL;
	return 0;
}

/*
 * One transaction whether or not the table exists, as for the host's
 * table (build.c): the table and its base chain keep their identity, the
 * rules are flushed and re-added, the sets reset (kept when adopting), so
 * the range is never open in between. Then the per-source sets are
 * removed if the budgets are off and an earlier load left them.
 */
int mh_nft_build_gw_ruleset(struct mnl_nlmsg_batch *b, uint32_t *seq,
			    const struct mh_ruleset_params *p)
{
	struct mh_ruleset_params s = slow_params(p);
	int err = check_params(p);

	if (!err)
		err = nb_table(b, seq, NFT_MSG_NEWTABLE, p->table, p->table_flags);
	if (!err)
		err = ensure_sets(b, seq, p);
	if (!err)
		err = put_chains(b, seq, p->table);
	if (!err)
		err = reset_sets(b, seq, p);
	if (!err)
		err = put_direction(b, seq, p, &gw_in);
	if (!err)
		err = put_direction(b, seq, p, &gw_out);
	if (!err)
		err = nb_gwmux_tail(b, seq, p, &s);
	if (!err)
		err = nb_slow_tail(b, seq, &s);
	if (!err)
		err = nb_gw_slow_tail(b, seq, p);
	return err;
}

/* One element's message of type: kind's key of client and server, in
 * kind's set of their family, with for a NEWSETELEM its timeout (0: the
 * set's) and time left (0: none given). */
static int gw_msg(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
		  enum mh_gw_kind kind, uint16_t type, const struct mh_addr *client,
		  const struct mh_addr *server, uint32_t timeout_ms, uint32_t left_ms)
{
	uint8_t key[MH_GW_KEY_MAX];
	size_t len = mh_nft_gw_key(kind, client, server, key);
	struct nb_elem ev = { key, (uint32_t)len, 0, timeout_ms, NULL, 0, left_ms };

	if (!len || !server->port || nb_check_table_name(table) ||
	    (kind != MH_GW_SESSION && !client->port))
		return -EINVAL;
	return nb_elems(b, seq, type, table, mh_nft_gw_set(kind, server->family),
			&ev, 1);
}

int mh_nft_build_gw_elem(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const char *table, enum mh_gw_kind kind,
			 enum mh_nft_op op, const struct mh_addr *client,
			 const struct mh_addr *server, uint32_t timeout_ms)
{
	bool add = op == MH_NFT_ADD;

	if (kind == MH_GW_SEEN || op == MH_NFT_EXPIRE)
		return -EINVAL;
	return gw_msg(b, seq, table, kind,
		      add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, client, server,
		      add && kind == MH_GW_PINHOLE ? timeout_ms : 0, 0);
}

int mh_nft_build_gw_seen_destroy(struct mnl_nlmsg_batch *b, uint32_t *seq,
				 const char *table, const struct mh_addr *client,
				 const struct mh_addr *server)
{
	return gw_msg(b, seq, table, MH_GW_SEEN, MH_NFT_MSG_DESTROYSETELEM,
		      client, server, 0, 0);
}

int mh_nft_build_gw_rearm(struct mnl_nlmsg_batch *b, uint32_t *seq,
			  const char *table, const struct mh_addr *client,
			  const struct mh_addr *server, uint32_t timeout_ms,
			  uint32_t left_ms)
{
	if (!left_ms || left_ms > timeout_ms)
		return -EINVAL;
	return gw_msg(b, seq, table, MH_GW_PINHOLE, NFT_MSG_NEWSETELEM, client,
		      server, timeout_ms, left_ms);
}

/* ------------------------------------------------------------------ */
/* Dump                                                                */

struct gw_dump {
	enum mh_gw_kind kind;
	mh_gw_cb cb;
	void *arg;
	int bad;
};

static void gw_key(const uint8_t *key, uint32_t len, uint64_t expires_ms,
		   void *arg)
{
	struct gw_dump *g = arg;
	struct mh_addr client, server;

	if (mh_nft_gw_from_key(g->kind, key, len, &client, &server) < 0)
		g->bad++;
	else if (g->cb)
		g->cb(&client, &server, expires_ms, g->arg);
}

int mh_nft_gw_dump(struct mh_nft *n, const char *table, enum mh_gw_kind kind,
		   int family, mh_gw_cb cb, void *arg)
{
	struct gw_dump g = { kind, cb, arg, 0 };
	const char *set = mh_nft_gw_set(kind, family);
	int r;

	if (!set)
		return -EINVAL;
	r = mh_nft_dump_keys(n, table, set, gw_key, &g);
	return r >= 0 && g.bad ? -EPROTO : r;
}
