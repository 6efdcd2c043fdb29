/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper's nftables table, built with libnftnl. Builders (nft/build.c)
 * append netlink messages to a caller's mnl batch and touch no socket, so
 * they are tested without a kernel; nft/nl.c is the thin socket edge that
 * sends batches, probes the kernel and dumps set elements.
 * The daemon owns exactly one table (family inet) and nothing else.
 */
#ifndef MH_NFT_H
#define MH_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "pkt.h"

#define MH_NFT_DEFAULT_TABLE "mosh_helper"

/* Table flags, as the kernel numbers them (NFT_TABLE_F_OWNER, 5.12 on;
 * NFT_TABLE_F_PERSIST, 6.9 on, missing from older uapi headers such as
 * Debian 12's). An owned table takes changes only from the netlink socket
 * that owns it (others get EPERM) and `flush ruleset` passes it by; a
 * persistent one outlives that socket, ownerless ("orphan"), until a
 * socket claims it again with both flags. OWNER alone would have the
 * kernel delete the table with its socket: never used. */
#define MH_TABLE_F_OWNER   0x2u
#define MH_TABLE_F_PERSIST 0x4u
#define MH_TABLE_F_OWNED   (MH_TABLE_F_OWNER | MH_TABLE_F_PERSIST)

struct mh_ruleset_params {
	const char *table;            /* "mosh_helper" */
	uint16_t port_low, port_high; /* managed range, inclusive */
	uint32_t idle_timeout_ms;     /* pinhole timeout, refreshed by inbound hits */
	uint16_t queue_num;
	uint16_t queue_total;         /* 1 = one queue; >1 = fanout */
	uint32_t slow_path_rate;      /* packets/s admitted to the queue per chain */
	bool native_queue;            /* nft `queue` expr, else xt NFQUEUE v3 via compat */
	/* Single-port mode (mosh #295); public_port 0 = off. */
	uint16_t public_port;
	uint32_t provisional_timeout_ms; /* unconfirmed mappings die this soon */
	/* Per-source budget in front of every queue rule, packets/s (burst the
	 * same) for one IPv4 address or one IPv6 /64: a source over it is
	 * dropped before the global slow_path_rate, so it cannot use up the
	 * other sources' share. 0 = off (the table has no such rules/sets). */
	uint32_t per_source_rate;
	/* The host's own flows from non-session ports of the range (opt-in,
	 * config local_flows): with it, such a port may send to any peer and
	 * that peer's replies come back (sets localflows4/6); without it the
	 * range sends only to pinholed peers and a load deletes those sets if
	 * an earlier one left them. */
	bool local_flows;
	/* Per-session budget, packets/s (burst the same) for one session port:
	 * inbound by destination port (in single-port mode the mapped port,
	 * after the DNAT), outbound by source port, each direction its own
	 * bucket. Within its budget a datagram is queued from half of
	 * slow_path_rate that is reserved for that; the rest shares the other
	 * half. A flood at one session's port, from however many (forged)
	 * sources, cannot use up the other sessions' share. 0 = off (no such
	 * rules/sets, the queue rules get all of slow_path_rate). */
	uint32_t per_session_rate;
	/* Size of pinholes4/6 and of the mux maps (elements per family);
	 * 0 = MH_NFT_DEFAULT_SET_SIZE. */
	uint32_t set_size;
	/* Adopt an existing table (a restarted daemon, a reload): `sessions`,
	 * pinholes4/6 and the mux maps keep their elements (their timeouts
	 * are updated in place); chains, rules (the port range lives in the
	 * jump rules) and the per-source sets are rebuilt as usual. Whatever
	 * is missing is created; a `ports` set left by an older version is
	 * deleted. */
	bool adopt;
	/* 0, or MH_TABLE_F_OWNED: the table is owned by the socket that sends
	 * the batch (an orphan is claimed; an unowned table of other flags
	 * cannot be converted in place: mh_nft_build_table_delete first). */
	uint32_t table_flags;
	/* Bits ORed into the packet mark of every datagram mosh_in lets on
	 * (pinholes, the queue rule, replies to the host's own flows), for an
	 * admin policy that accepts the range only with them. 0 = none. */
	uint32_t accept_mark;
	/* The kernel refuses a lookup in a map that loads no value (EINVAL;
	 * Linux before 6.5, Debian 12's 6.1 among them): mux_in's mapping
	 * rules then load the map's value into a register and compare it
	 * with 0 (a server port never is). mh_nft_probe_map_lookup says. */
	bool map_lookup_dreg;
	/* Gateway table only (every gateway, keyed or keyless): gw_slow_out
	 * first drops a datagram whose source address is not routed back
	 * through the interface it came in on (nft/gateway.c, rule_rpf,
	 * says why). */
	bool reverse_path;
	/* Where a pinhole's idle timeout is refreshed. true: the inbound
	 * pinhole rules only look the pinhole up, and note its key in the
	 * set seen4/seen6 (timeout seen_timeout_ms, refreshed by each
	 * datagram): nothing in the packet path adds a pinhole element, so
	 * one the daemon deleted stays deleted (nftables' `update` adds a
	 * missing element). The daemon's read-back re-arms each listed
	 * pinhole from its key's time in seen (mh_nft_build_pinhole_rearm,
	 * mh_nft_build_gw_rearm). false: the
	 * rules refresh the pinhole itself (kernels that cannot update an
	 * element's timeout; mh_kernel_setup probes). No rule accepts on a
	 * key of seen4/6; the note can fail only if seen4/6 were full, which
	 * the daemon prevents (their size is twice the pinholes', and a key
	 * goes with its pinhole: mh_nft_build_seen_destroy). */
	bool pinhole_seen;
	/* Relay role: the gateways' relay listeners (TCP). The base output
	 * chain drops a packet to one of them from a socket of any uid but
	 * relay_uid (this daemon's, after its switch) and root's: a local
	 * user cannot take the gateway's connection slots that it keeps for
	 * this host's address (its limit per source). 0 gateways: no rule. */
	const struct mh_nft_endpoint *relay_gateways;
	unsigned n_relay_gateways;
	uint32_t relay_uid;
};

struct mh_nft_endpoint {
	int family;                   /* AF_INET or AF_INET6 */
	uint8_t ip[16];
	uint16_t port;                /* host order */
};

/* seen4/seen6 (pinhole_seen): recent inbound datagrams of each pinhole,
 * keyed as the pinholes are, host and gateway alike. */
#define MH_NFT_SEEN4 "seen4"
#define MH_NFT_SEEN6 "seen6"
/* Their timeout: half the idle timeout, at least 2 s, so that a key
 * outlasts the time between two read-backs (a quarter of it, at least
 * 1 s). A key with left_ms to go saw its pinhole's last inbound datagram
 * mh_nft_seen_timeout(idle) - left_ms ago. */
uint32_t mh_nft_seen_timeout(uint32_t idle_timeout_ms);
/* seen4 or seen6 by family, or NULL if the family is not inet. */
const char *mh_nft_seen_set(int family);
/* pinholes4 or pinholes6 by family, or NULL if the family is not inet. */
const char *mh_nft_pinhole_set(int family);
/* Decode a key of either (len bytes); 0 or -EINVAL if len fits neither
 * family. */
struct mh_pinhole;
int mh_nft_pinhole_from_key(const uint8_t *key, size_t len,
			    struct mh_pinhole *ph);

#define MH_NFT_DEFAULT_SET_SIZE 65535

/* The probes' scratch table: no chain of it sees a datagram. */
#define MH_NFT_PROBE_TABLE "mosh_helper_probe"

/* A pinhole: client address . client port . server port. */
struct mh_pinhole {
	int family;                   /* AF_INET or AF_INET6 */
	uint8_t addr[16];             /* network order; first 4 bytes for AF_INET */
	uint16_t client_port;         /* host order */
	uint16_t server_port;         /* host order */
};

/* The pinhole of client (address and port) on server_port; an IPv4
 * address's unused 12 bytes are zero. */
static inline struct mh_pinhole mh_pinhole_of(const struct mh_addr *client,
					      uint16_t server_port)
{
	struct mh_pinhole ph = { .family = client->family,
				 .client_port = client->port,
				 .server_port = server_port };

	memcpy(ph.addr, client->ip, client->family == AF_INET ? 4 : sizeof(ph.addr));
	return ph;
}

/* The kinds of element the daemon adds and deletes: a server port in
 * `sessions`; a pinhole (client . server port) in pinholes4/6; a single-port
 * mapping client -> server port, confirmed (mux4/6, refreshed by the
 * client's datagrams) or provisional (muxp4/6, never refreshed). */
enum mh_nft_kind { MH_NFT_PORT, MH_NFT_PINHOLE, MH_NFT_MUX, MH_NFT_MUXP };
/* What to do with an element. MH_NFT_EXPIRE (pinholes only): the element
 * stays but its time left becomes MH_NFT_EXPIRE_MS, by a NEWSETELEM
 * without NLM_F_EXCL that carries a timeout and an expiration. A lookup
 * treats an expired element as absent (within a jiffy), and the kernel's
 * set garbage collection frees it later. A delete instead frees the
 * element after an RCU grace period, from a work item that the commit
 * queues: with roams close together (and expedited grace periods) that
 * work lands on the next datagram's path. Kernels that ignore such an
 * update (older ones keep the element as it is) are found by
 * mh_kernel_probe_pinholes; evictions are deletes there. The price of
 * expiring in place: the evicted pinhole (the session's oldest,
 * authenticated a while ago) may pass datagrams for up to a jiffy more,
 * where a delete sent after the verdicts lands in microseconds. Those
 * datagrams do not keep it: where the kernel expires in place, the rules
 * note pinholes in seen4/6 rather than refresh them (pinhole_seen). */
enum mh_nft_op { MH_NFT_DEL, MH_NFT_ADD, MH_NFT_EXPIRE };
#define MH_NFT_EXPIRE_MS 1

/* --- builders: each appends to b, using and advancing *seq; 0 or -errno --- */

/* Begin/end markers of a batch (NFNL_MSG_BATCH_BEGIN/END). */
void mh_nft_batch_begin(struct mnl_nlmsg_batch *b, uint32_t *seq);
void mh_nft_batch_end(struct mnl_nlmsg_batch *b, uint32_t *seq);

/* The whole table: replaces the contents of any existing table of that
 * name in the same batch (table and base chains are kept, rules flushed
 * (the range is in the jump rules), sets reset, pinholes and session ports
 * emptied), so the range is never open in between. */
int mh_nft_build_ruleset(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const struct mh_ruleset_params *p);
/* Delete the table (clean stop). */
int mh_nft_build_table_delete(struct mnl_nlmsg_batch *b, uint32_t *seq,
			      const char *table);
/* A probe that adds a scratch table with a queue rule and deletes it again:
 * the kernel accepts the batch only if it has the requested queue flavour. */
int mh_nft_build_queue_probe(struct mnl_nlmsg_batch *b, uint32_t *seq,
			     bool native);
/* A probe that adds a scratch table with a map and a rule that looks a key
 * up in it without loading its value, and deletes it again: kernels
 * before 6.5 refuse the rule (EINVAL). */
int mh_nft_build_map_probe(struct mnl_nlmsg_batch *b, uint32_t *seq);
/* A probe that adds a scratch table with these flags and deletes it again:
 * the kernel refuses flags it does not know (EOPNOTSUPP). */
int mh_nft_build_table_probe(struct mnl_nlmsg_batch *b, uint32_t *seq,
			     uint32_t flags);
/* Add (with timeout_ms, 0 = the set's default) or delete one pinhole. */
int mh_nft_build_pinhole(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const char *table, const struct mh_pinhole *ph,
			 bool add, uint32_t timeout_ms);
/* One pinhole's time left set to MH_NFT_EXPIRE_MS (timeout_ms: the
 * element's timeout, which the update must carry): see MH_NFT_EXPIRE. */
int mh_nft_build_pinhole_expire(struct mnl_nlmsg_batch *b, uint32_t *seq,
				const char *table, const struct mh_pinhole *ph,
				uint32_t timeout_ms);
/* The pinhole probe's scratch table (flags: MH_TABLE_F_OWNER or 0), with
 * pinholes4 as p defines it (p->table is ignored). Deleted with
 * mh_nft_build_table_delete. */
int mh_nft_build_pinhole_probe(struct mnl_nlmsg_batch *b, uint32_t *seq,
			       const struct mh_ruleset_params *p, uint32_t flags);
/* The read-back's re-arm (pinhole_seen): one pinhole's timeout set to
 * timeout_ms and its time left to left_ms (1 to timeout_ms), by the same
 * kind of NEWSETELEM as an expiry in place. Like one it creates an
 * element that is not there, so only an element the read-back just
 * listed is re-armed. */
int mh_nft_build_pinhole_rearm(struct mnl_nlmsg_batch *b, uint32_t *seq,
			       const char *table, const struct mh_pinhole *ph,
			       uint32_t timeout_ms, uint32_t left_ms);
/* One pinhole destroyed: deleted if it is there (an expired element counts
 * as not there), and no error if it is not (NFT_MSG_DESTROYSETELEM, Linux
 * 6.3 and later: older kernels refuse the message). */
int mh_nft_build_pinhole_destroy(struct mnl_nlmsg_batch *b, uint32_t *seq,
				 const char *table, const struct mh_pinhole *ph);
/* The key of a pinhole the daemon deletes or expires, destroyed in seen4/6
 * too (pinhole_seen): that set then holds no more keys than the pinholes
 * there are, and a full one cannot fail the pinhole rule that notes in
 * it. No error if it is not there. */
int mh_nft_build_seen_destroy(struct mnl_nlmsg_batch *b, uint32_t *seq,
			      const char *table, const struct mh_pinhole *ph);
/* Add or delete a server port in the `sessions` set. */
int mh_nft_build_session_port(struct mnl_nlmsg_batch *b, uint32_t *seq,
			      const char *table, uint16_t port, bool add);

/* One element of kind: client (ignored for MH_NFT_PORT) and server_port.
 * Adds (timeout_ms, 0 = the set's default; ports have none), deletes, or
 * (pinholes) expires in place (timeout_ms: the element's timeout). */
int mh_nft_build_elem(struct mnl_nlmsg_batch *b, uint32_t *seq,
		      const char *table, enum mh_nft_kind kind, enum mh_nft_op op,
		      const struct mh_addr *client, uint16_t server_port,
		      uint32_t timeout_ms);

/* Single-port mode: a mapping client address . client port -> server port
 * (m->server_port). Confirmed mappings live in mux4/mux6, whose timeout the
 * client's datagrams refresh in the kernel; provisional ones in
 * muxp4/muxp6, never refreshed. Add (timeout_ms, 0 = the map's default) or
 * delete. */
int mh_nft_build_mux(struct mnl_nlmsg_batch *b, uint32_t *seq,
		     const char *table, const struct mh_pinhole *m,
		     bool confirmed, bool add, uint32_t timeout_ms);

/* Everything a daemon holds, put back after its table was flushed or
 * deleted: session ports, pinholes (pinhole_timeout_ms each) and, with
 * mux, a confirmed mapping for every pinhole (single-port mode: a pinhole
 * and its mapping come and go together). Elements already there are left
 * as they are (no NLM_F_EXCL). Messages of at most MH_NFT_ELEMS_PER_MSG
 * elements each. */
#define MH_NFT_ELEMS_PER_MSG 128
struct mh_nft_elems {
	const uint16_t *ports;
	size_t n_ports;
	const struct mh_pinhole *pinholes;
	size_t n_pinholes;
	uint32_t pinhole_timeout_ms;
	bool mux;
};
int mh_nft_build_elems(struct mnl_nlmsg_batch *b, uint32_t *seq,
		       const char *table, const struct mh_nft_elems *e);
/* Bytes of batch a ruleset plus these elements fit in, with room to spare. */
size_t mh_nft_restore_size(const struct mh_nft_elems *e);

/* --- socket edge (nft/nl.c) --- */
struct mh_nft;

/* Open a NETLINK_NETFILTER socket. NULL with errno set on failure. */
struct mh_nft *mh_nft_open(void);
void mh_nft_close(struct mh_nft *n);
/* fd for the event loop (errors of unacknowledged batches arrive here). */
int mh_nft_fd(const struct mh_nft *n);
/* Send a finished batch and wait for the kernel's answer to every message
 * (NLM_F_ACK). Returns 0 or the first -errno the kernel reported. */
int mh_nft_send_sync(struct mh_nft *n, struct mnl_nlmsg_batch *b);
/* Send without waiting (hot path): errors arrive later on mh_nft_fd();
 * mh_nft_drain() reads them and returns how many errors it saw (logged). */
int mh_nft_send_async(struct mh_nft *n, struct mnl_nlmsg_batch *b);
int mh_nft_drain(struct mh_nft *n);
/* true if the kernel has the native nft queue expression. */
bool mh_nft_probe_native_queue(struct mh_nft *n);
/* true if the kernel looks a key up in a map without loading its value
 * (6.5 on); false: mh_ruleset_params.map_lookup_dreg is needed. */
bool mh_nft_probe_map_lookup(struct mh_nft *n);
/* The table flags of MH_TABLE_F_OWNED the kernel accepts on a new table:
 * MH_TABLE_F_OWNED, MH_TABLE_F_OWNER (no persist: 5.12 to 6.8) or 0. */
uint32_t mh_nft_probe_table_flags(struct mh_nft *n);
/* The flags of an existing table and its owner's netlink port id (0 when
 * ownerless). 0, -ENOENT if there is no such table, or -errno. */
int mh_nft_table_flags(struct mh_nft *n, const char *table, uint32_t *flags,
		       uint32_t *owner);
/* The socket's netlink port id: the owner of a table it creates with
 * MH_TABLE_F_OWNER, and the sender every event of its batches names. */
uint32_t mh_nft_portid(const struct mh_nft *n);
/* Dump a pinhole set ("pinholes4"/"pinholes6" by family): cb once per
 * element with its remaining time in ms. Returns elements seen or -errno. */
typedef void (*mh_pinhole_cb)(const struct mh_pinhole *ph, uint64_t expires_ms,
			      void *arg);
int mh_nft_dump_pinholes(struct mh_nft *n, const char *table, int family,
			 mh_pinhole_cb cb, void *arg);
/* Dump seen4/seen6 (pinhole_seen) the same way (mh_nft_seen_timeout says
 * when each key's pinhole passed its last inbound datagram). */
int mh_nft_dump_seen(struct mh_nft *n, const char *table, int family,
		     mh_pinhole_cb cb, void *arg);
/* Dump the `sessions` set: cb once per server port (ph->server_port; the
 * other fields 0). Returns ports seen or -errno (-ENOENT: no such table). */
int mh_nft_dump_session_ports(struct mh_nft *n, const char *table,
			      mh_pinhole_cb cb, void *arg);
/* Dump a mux map (mux4/mux6 if confirmed, else muxp4/muxp6, by family):
 * cb once per mapping (addr, client_port -> server_port) with its remaining
 * time in ms. Returns mappings seen or -errno. */
int mh_nft_dump_mux(struct mh_nft *n, const char *table, int family,
		    bool confirmed, mh_pinhole_cb cb, void *arg);

/* Dump the elements of kind (family AF_INET/AF_INET6; ignored for
 * MH_NFT_PORT) through the matching function above. */
int mh_nft_dump(struct mh_nft *n, const char *table, enum mh_nft_kind kind,
		int family, mh_pinhole_cb cb, void *arg);

/* Dump any set of the table: cb once per element with its raw key and
 * remaining time in ms (the gateway's sets, nft_gw.h, decode their keys
 * with it). Returns elements seen or -errno. */
typedef void (*mh_nft_key_cb)(const uint8_t *key, uint32_t len,
			      uint64_t expires_ms, void *arg);
int mh_nft_dump_keys(struct mh_nft *n, const char *table, const char *set,
		     mh_nft_key_cb cb, void *arg);
/* The same dump as a walk, a part at a time, so that a caller can do other
 * work between parts: mh_nft_walk_start sends the request (abandoning any
 * walk under way), 0 or -errno; each mh_nft_walk_step reads one part (up
 * to 32 KB of elements) through cb: 1 while more follow, 0 at the end, or
 * -errno. mh_nft_walk_stop abandons it. One walk at a time; the kernel
 * does not freeze the set for it, so an element added or deleted between
 * parts may make the walk miss or repeat another. */
int mh_nft_walk_start(struct mh_nft *n, const char *table, const char *set,
		      mh_nft_key_cb cb, void *arg);
int mh_nft_walk_step(struct mh_nft *n);
void mh_nft_walk_stop(struct mh_nft *n);

/* --- table watch (nft/watch.c): nftables events (NFNLGRP_NFTABLES) --- */
struct mh_nft_watch;

/* A socket subscribed to every nftables change of this network namespace.
 * NULL with errno set on failure. */
struct mh_nft_watch *mh_nft_watch_open(void);
void mh_nft_watch_close(struct mh_nft_watch *w);
int mh_nft_watch_fd(const struct mh_nft_watch *w);
/* Reads every event queued: 1 if one of them changed `table` (family
 * inet) and came from a socket other than own_portid, or if events were
 * lost (receive buffer overrun: anything may have happened), else 0;
 * -errno on a socket error. */
int mh_nft_watch_read(struct mh_nft_watch *w, const char *table,
		      uint32_t own_portid);
/* Pure: the same test on one buffer of netlink messages. */
bool mh_nft_event_touches(const void *buf, size_t len, const char *table,
			  uint32_t own_portid);

#endif
