/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to nft/: names of the objects in mosh-helper's table, the byte
 * layout of pinhole and mux keys (shared by the batch builders and the dump
 * decoder in nl.c so both sides agree on one encoding), and the message and
 * expression helpers (msg.c, expr.c) that build.c and mux.c both use.
 */
#ifndef MH_NFT_INT_H
#define MH_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libnftnl/rule.h>

#include "nft.h"

/* The range's interval set of earlier versions, looked up by the base
 * chains' jump rules; a load removes it if an earlier one left it. */
#define MH_SET_OLD_PORTS  "ports"
#define MH_SET_SESSIONS   "sessions"
#define MH_SET_PINHOLES4  "pinholes4"
#define MH_SET_PINHOLES6  "pinholes6"
/* Flows this host opens itself from a non-session port in the range (key:
 * peer address . peer port . local port, the pinhole layout), so that
 * their replies come back without conntrack. */
#define MH_SET_LOCALFLOWS4 "localflows4"
#define MH_SET_LOCALFLOWS6 "localflows6"
#define MH_PROBE_TABLE    MH_NFT_PROBE_TABLE
#define MH_CHAIN_MOSH_IN  "mosh_in"

/* Per-source slow-path budgets (slowsrc.c) */
#define MH_SET_SLOWSRC4   "slowsrc4"  /* key: IPv4 source address */
#define MH_SET_SLOWSRC6   "slowsrc6"  /* key: IPv6 source, its /64 only */
/* Per-session slow-path budgets (slowsrc.c) */
#define MH_SET_SLOWPORT_IN  "slowport_in"  /* key: udp dport (inbound) */
#define MH_SET_SLOWPORT_OUT "slowport_out" /* key: udp sport (outbound) */

/* Single-port mode (mux.c) */
#define MH_MAP_MUX4       "mux4"      /* confirmed: refreshed by the client */
#define MH_MAP_MUX6       "mux6"
#define MH_MAP_MUXP4      "muxp4"     /* provisional: never refreshed */
#define MH_MAP_MUXP6      "muxp6"
#define MH_CHAIN_MUX_PRE  "mux_pre"
#define MH_CHAIN_MUX_IN   "mux_in"
#define MH_CHAIN_MUX_NAT  "mux_nat"

/* Concatenated key: address, then client port and server port, each field
 * padded to a multiple of 4 bytes (nft register granularity). */
#define MH_PH_KEY4_LEN    12
#define MH_PH_KEY6_LEN    24
#define MH_PH_KEY_MAX     MH_PH_KEY6_LEN
/* Mux key: address . client port (padded); data: server port, 2 bytes. */
#define MH_MUX_KEY4_LEN   8
#define MH_MUX_KEY6_LEN   20
#define MH_MUX_KEY_MAX    MH_MUX_KEY6_LEN
#define MH_MUX_DATA_LEN   2

/* Set ids let later messages of the same batch refer to a new set; each
 * NEWSET of one batch has its own (a set made to exist, then re-created,
 * carries a temporary id first). */
enum {
	MH_ID_OLD_PORTS = 1, MH_ID_SESSIONS, MH_ID_PINHOLES4, MH_ID_PINHOLES6,
	MH_ID_PINHOLES4_TMP, MH_ID_PINHOLES6_TMP,
	MH_ID_SLOWSRC4 = 8, MH_ID_SLOWSRC6,
	MH_ID_LOCALFLOWS4 = 10, MH_ID_LOCALFLOWS6,
	MH_ID_LOCALFLOWS4_TMP, MH_ID_LOCALFLOWS6_TMP,
	MH_ID_SLOWPORT_IN = 14, MH_ID_SLOWPORT_OUT,
	MH_ID_MUX4 = 16, MH_ID_MUX6, MH_ID_MUXP4, MH_ID_MUXP6,
	MH_ID_MUX_TMP = 24,   /* + index of the map, 4 of them */
	MH_ID_SEEN4 = 40, MH_ID_SEEN6, MH_ID_SEEN4_TMP, MH_ID_SEEN6_TMP,
};
/* ct direction values (enum ip_conntrack_dir) */
enum { MH_CT_DIR_ORIGINAL = 0, MH_CT_DIR_REPLY = 1 };

/* nft datatype numbers (as `nft list` decodes set key types). */
enum { MH_TYPE_BITS = 6, MH_TYPE_IPV4 = 7, MH_TYPE_IPV6 = 8, MH_TYPE_SERVICE = 13 };

/* NFT_MSG_DESTROYSETELEM (after GETRULE_RESET and the DESTROY* of tables,
 * chains, rules and sets): Debian 12's uapi header predates it. */
#define MH_NFT_MSG_DESTROYSETELEM 30

/* Map name for a mux mapping, or NULL if the family is not inet. */
const char *mh_nft_mux_map(int family, bool confirmed);
/* Encode m's address . client port into key (MH_MUX_KEY_MAX bytes);
 * returns the key length or 0. */
size_t mh_nft_mux_key(const struct mh_pinhole *m, uint8_t *key);
/* Decode a key and its 2-byte data (server port); 0 or -EINVAL. */
int mh_nft_mux_from_elem(const uint8_t *key, size_t key_len,
			 const uint8_t *data, size_t data_len,
			 struct mh_pinhole *m);

/* ------------------------------------------------------------------ */
/* Messages (msg.c). Each appends one message to b; 0 or -errno
 * (-ENOSPC past the batch limit). */

/* flags (NEWTABLE only): 0, or MH_TABLE_F_OWNER | MH_TABLE_F_PERSIST; a
 * NEWTABLE always carries them, so an update also clears `dormant`. */
int nb_table(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type,
	     const char *name, uint32_t flags);

struct nb_chain_def {
	const char *name;
	int hook;              /* < 0: a regular chain (no hook) */
	int prio;
	const char *type;      /* "filter" or "nat"; base chains only */
};
/* type: NFT_MSG_NEWCHAIN (created if missing) or NFT_MSG_DELCHAIN. */
int nb_chain(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type,
	     const char *table, const struct nb_chain_def *c);
/* Empty a chain (a rule delete naming only the chain). */
int nb_chain_flush(struct mnl_nlmsg_batch *b, uint32_t *seq,
		   const char *table, const char *chain);

struct nb_set_def {
	const char *name;
	uint32_t id, flags, key_type, key_len, size;
	uint32_t timeout_ms;
	uint32_t data_type, data_len;   /* maps only (NFT_SET_MAP) */
};
int nb_set(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
	   const struct nb_set_def *d);
int nb_set_delete(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *table,
		  const char *name);

/* One element: key, data (maps), flags, timeout (0 = set default). */
struct nb_elem {
	const void *key;
	uint32_t key_len, flags;
	uint64_t timeout_ms;
	const void *data;
	uint32_t data_len;
	uint64_t expire_ms;   /* with timeout_ms: the time left (an update of an element) */
};
/* type: NFT_MSG_NEWSETELEM or NFT_MSG_DELSETELEM; n = 0 with DELSETELEM
 * empties the whole set. */
int nb_elems(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type,
	     const char *table, const char *set, const struct nb_elem *ev,
	     size_t n);

/* Type of a set key made of nft datatypes t[0] . t[1] ... */
uint32_t nb_concat_type(const uint32_t *t, size_t n);

/* ------------------------------------------------------------------ */
/* Rule builder (expr.c): expressions are appended in order; the first failure
 * sticks in rb->err and makes every later helper a no-op. */

struct nb_rule {
	struct nftnl_rule *r;
	int err;
};

/* Start a rule for table/chain; 0 or -ENOMEM. */
int nb_rule_begin(struct nb_rule *rb, const char *table, const char *chain);
/* Append the finished rule to b (unless rb->err) and free it; 0 or -errno. */
int nb_rule_end(struct mnl_nlmsg_batch *b, uint32_t *seq, struct nb_rule *rb);

void nb_meta(struct nb_rule *rb, uint32_t key);                 /* -> reg 1 */
void nb_ct(struct nb_rule *rb, uint32_t key);                   /* -> reg 1 */
/* A directional ct key (e.g. NFT_CT_PROTO_DST) of one tuple -> dreg. */
void nb_ct_dir(struct nb_rule *rb, uint32_t key, uint8_t dir, uint32_t dreg);
void nb_cmp(struct nb_rule *rb, uint32_t op, const void *val, uint32_t len); /* reg 1 */
void nb_cmp_reg(struct nb_rule *rb, uint32_t sreg, uint32_t op, const void *val,
		uint32_t len);
void nb_cmp_u8(struct nb_rule *rb, uint8_t val);                /* reg 1 == val */
/* fib saddr . iif oif -> reg 1 (u32 ifindex, 0: no route back that way) */
void nb_fib_rpf(struct nb_rule *rb);
/* from <= reg 1 <= to (len bytes each, big-endian): `PORT-PORT` */
void nb_range(struct nb_rule *rb, const void *from, const void *to, uint32_t len);
/* reg 1 = reg 1 & mask (len bytes; xor 0) */
void nb_bitwise_and(struct nb_rule *rb, const void *mask, uint32_t len);
/* `meta mark set meta mark | bits` (uses reg 1; bits != 0) */
void nb_mark_or(struct nb_rule *rb, uint32_t bits);
void nb_payload(struct nb_rule *rb, uint32_t base, uint32_t off, uint32_t len,
	       uint32_t dreg);
/* Lookup of the key in reg 1; dreg 0 = a plain match, else the map's
 * data is loaded into dreg. */
void nb_lookup(struct nb_rule *rb, const char *set, uint32_t set_id, uint32_t dreg);
/* Refresh the timeout of the element whose key is in reg 1; maps need the
 * data register (sdata != 0) too. */
void nb_dynset_update(struct nb_rule *rb, const char *set, uint32_t set_id,
		     uint32_t sdata);
void nb_limit(struct nb_rule *rb, uint32_t rate);               /* pkts/s, burst = rate */
/* Update (add if missing, refresh the timeout) the element whose key is in
 * reg 1, with a per-element `limit rate over RATE/second burst RATE`: the
 * rule goes on only while that element is over its rate. If the set is
 * full, a missing element cannot be added and the rule does not match. */
void nb_dynset_limit_over(struct nb_rule *rb, const char *set, uint32_t set_id,
			  uint32_t rate);
/* The same with over = false: the rule goes on only while the element is
 * within its rate (and the datagram takes one of its tokens). */
void nb_dynset_limit(struct nb_rule *rb, const char *set, uint32_t set_id,
		     uint32_t rate, bool over);
void nb_counter(struct nb_rule *rb);
void nb_verdict(struct nb_rule *rb, int verdict, const char *chain);
/* Queue verdict: never bypass (fail closed); CPU fanout over >1 queue;
 * native nft queue or xt NFQUEUE v3 through compat. */
void nb_queue(struct nb_rule *rb, bool native, uint16_t num, uint16_t total);
/* Destination NAT of family nfproto to the port in preg (address kept). */
void nb_dnat_port(struct nb_rule *rb, uint32_t nfproto, uint32_t preg);
/* The rule's nft comment (shown by `nft list` as comment "..."). */
void nb_comment(struct nb_rule *rb, const char *text);

/* 0, or -EINVAL if table is not a valid table name (params.c). */
int nb_check_table_name(const char *table);
/* 0, or -EINVAL if p cannot make a ruleset (params.c). */
int nb_check_params(const struct mh_ruleset_params *p);
/* Elements per family of the pinhole sets and mux maps (params.c). */
uint32_t nb_set_size(const struct mh_ruleset_params *p);

/* seen4/seen6 (seen.c): the key of the caller's pinhole sets per family. */
struct nb_seen_keys {
	uint32_t type4, len4, type6, len6;
};
/* Before the chains: both named, created if missing (temporary ids, no
 * timeout), so that the reset can delete them whatever a load left; an
 * adopting load with pinhole_seen keeps them (their full definition). */
int nb_seen_ensure(struct mnl_nlmsg_batch *b, uint32_t *seq,
		   const struct mh_ruleset_params *p, const struct nb_seen_keys *k);
/* After the chains are flushed, unless kept: deleted, and with
 * pinhole_seen made again, empty (what they held is one read-back's news
 * at most: a pinhole that misses its re-arm idles out, and its next
 * datagram reopens it through the slow path). */
int nb_seen_reset(struct mnl_nlmsg_batch *b, uint32_t *seq,
		  const struct mh_ruleset_params *p, const struct nb_seen_keys *k);
/* The inbound pinhole rule's note of the key in reg 1.. (family's set). */
void nb_seen_note(struct nb_rule *rb, int family);

/* ------------------------------------------------------------------ */
/* Slow-path budgets (slowsrc.c), called by build.c and mux.c: per source
 * (slowsrc4/6, on with p->per_source_rate) and per session port
 * (slowport_in/out, on with p->per_session_rate). A group that is off
 * adds nothing to the first four. */

/* Create the sets of the budgets that are on, if missing. */
int nb_slow_ensure(struct mnl_nlmsg_batch *b, uint32_t *seq,
		   const struct mh_ruleset_params *p);
/* Empty them (a reload starts every source and port with a full budget). */
int nb_slow_flush(struct mnl_nlmsg_batch *b, uint32_t *seq,
		  const struct mh_ruleset_params *p);
/* The two drop rules (IPv4, IPv6) that go right before a queue rule in
 * chain; sessions: only datagrams to a port in @sessions (mosh_in). */
int nb_slow_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
		  const struct mh_ruleset_params *p, const char *chain,
		  bool sessions);
/* The per-session rule that goes right before the queue rule of mosh_in
 * (inbound: keyed by udp dport) or mosh_out (udp sport): a datagram within
 * its port's budget is queued from a reserved share of the global rate. */
int nb_slow_port_rule(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const struct mh_ruleset_params *p, const char *chain,
		      bool inbound);
/* The rate of each of mosh_in's and mosh_out's queue buckets: with
 * per-session budgets half the global rate (rounded up), else all of it. */
uint32_t nb_slow_share(const struct mh_ruleset_params *p);
/* Appended after everything else: the sets of the budgets that are off,
 * if an earlier load left them, are removed (their rules are flushed by
 * then, mux_in's included). */
int nb_slow_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
		 const struct mh_ruleset_params *p);

/* ------------------------------------------------------------------ */
/* The gateway's per-session budgets (gwslow.c), called by gateway.c: on
 * with p->per_session_rate, keyed server address . port, one set per
 * family and direction (inbound: destination, outbound: source). */

/* The set of family and direction (gwslow_in4, ...), or NULL. */
const char *nb_gw_slow_set(int family, bool inbound);
/* Create the four sets if missing / empty them (budgets on). */
int nb_gw_slow_ensure(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const struct mh_ruleset_params *p);
int nb_gw_slow_flush(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const struct mh_ruleset_params *p);
/* The two rules (IPv4, IPv6) right before the shared queue rule of a slow
 * chain: a datagram within its session's budget is queued from a share of
 * the global rate (nb_slow_share) reserved for that. */
int nb_gw_slow_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const struct mh_ruleset_params *p, const char *chain,
		     bool inbound);
/* Appended last: with the budgets off, sets an earlier load left removed. */
int nb_gw_slow_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
		    const struct mh_ruleset_params *p);

/* ------------------------------------------------------------------ */
/* Single-port mode (mux.c), called by mh_nft_build_ruleset (build.c). */

/* The public port's kernel drops, shared by the host (mux.c) and the
 * gateway (gwmux.c): too short for a client's SSP datagram, not a client's
 * SSP header, over the slow-path rate. */
void nb_mux_drop_short(struct nb_rule *rb);
void nb_mux_drop_header(struct nb_rule *rb);
void nb_mux_drop_over_rate(struct nb_rule *rb);
/* Rules that go first in mosh_in when p->public_port != 0: the servers'
 * own ports are reachable only through the public port. */
int nb_mux_input_guard(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const struct mh_ruleset_params *p);
/* Appended after the rest of the table: with p->public_port, the mux maps
 * and chains (created if missing, flushed, maps re-created, rules added);
 * without, any left over from an earlier load deleted. */
int nb_mux_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
		const struct mh_ruleset_params *p);
/* The same two guard rules at the head of another chain (the gateway's
 * gw_in). */
int nb_mux_guard(struct mnl_nlmsg_batch *b, uint32_t *seq,
		 const struct mh_ruleset_params *p, const char *chain);
/* The gateway's single-port maps and chains (gwmux.c), appended after the
 * rest of its table as nb_mux_tail; s: its slow-path budgets. */
int nb_gwmux_tail(struct mnl_nlmsg_batch *b, uint32_t *seq,
		  const struct mh_ruleset_params *p,
		  const struct mh_ruleset_params *s);

/* Common matches */
void nb_match_udp(struct nb_rule *rb);                   /* meta l4proto udp */
/* relayguard.c: the relay's output rules that keep every uid but its own
 * and root's from the gateways' relay listeners (mh_ruleset_params) */
int nb_relay_guard_rules(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const struct mh_ruleset_params *p, const char *chain);
/* udp, then the UDP port at off (0: source, 2: destination) in the range */
void nb_match_port_range(struct nb_rule *rb, uint32_t off,
			 const struct mh_ruleset_params *p);
void nb_match_nfproto(struct nb_rule *rb, uint8_t nfproto);  /* meta nfproto ipv4/ipv6 */

#endif
