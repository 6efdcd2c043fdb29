/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The perimeter gateway's nftables table (role = gateway, deployment 3):
 * a forward-hook datapath for login servers behind the firewall. Sessions
 * are keyed server address . server port, pinholes client address . client
 * port . server address . server port. Builders (nft/gateway.c) are pure,
 * like those of nft.h; they reuse its batch, probe and socket edge.
 */
#ifndef MH_NFT_GW_H
#define MH_NFT_GW_H

#include <stdbool.h>
#include <stdint.h>

#include "nft.h"
#include "pkt.h"

#define MH_NFT_GW_DEFAULT_TABLE "mosh_helper_gw"

/* A session (server address . server port) in sessions4/6, or a pinhole
 * (client address . client port . server address . server port) in
 * pinholes4/6. */
/* MH_GW_SEEN: seen4/seen6 (nft.h, pinhole_seen), keyed as the pinholes. */
enum mh_gw_kind { MH_GW_SESSION, MH_GW_PINHOLE, MH_GW_SEEN };

/* Key lengths: each field padded to 4 bytes (nft register granularity). */
#define MH_GW_SESS_KEY4_LEN  8
#define MH_GW_SESS_KEY6_LEN  20
#define MH_GW_PH_KEY4_LEN    16
#define MH_GW_PH_KEY6_LEN    40
#define MH_GW_KEY_MAX        MH_GW_PH_KEY6_LEN

/*
 * The whole gateway table, replacing the contents of one of that name in
 * the same batch (as mh_nft_build_ruleset does for the host's). Uses of p:
 * table, port_low/high, idle_timeout_ms (pinholes), queue_num/total,
 * native_queue, slow_path_rate (per direction), per_source_rate (0 = off),
 * per_session_rate (per server address . port and direction, 0 = off),
 * set_size, adopt, table_flags, accept_mark, and for single-port mode
 * public_port (0 = off), provisional_timeout_ms and map_lookup_dreg
 * (nft/gwmux.c). Local flows are not part of the gateway yet: local_flows
 * set is -EINVAL.
 */
int mh_nft_build_gw_ruleset(struct mnl_nlmsg_batch *b, uint32_t *seq,
			    const struct mh_ruleset_params *p);

/* One element: a session (client ignored, may be NULL) or a pinhole
 * (client and server of one family). Add (timeout_ms, 0 = the set's
 * default; sessions have none) or delete; no expiry in place, and
 * seen4/6 are the packet path's alone (-EINVAL). 0 or -errno. */
int mh_nft_build_gw_elem(struct mnl_nlmsg_batch *b, uint32_t *seq,
			 const char *table, enum mh_gw_kind kind,
			 enum mh_nft_op op, const struct mh_addr *client,
			 const struct mh_addr *server, uint32_t timeout_ms);
/* A deleted pinhole's key destroyed in seen4/6 (nft.h,
 * mh_nft_build_seen_destroy says why). */
int mh_nft_build_gw_seen_destroy(struct mnl_nlmsg_batch *b, uint32_t *seq,
				 const char *table, const struct mh_addr *client,
				 const struct mh_addr *server);
/* The read-back's re-arm of a pinhole (nft.h, mh_nft_build_pinhole_rearm
 * says what it is): timeout timeout_ms, left_ms (1 to timeout_ms) left. */
int mh_nft_build_gw_rearm(struct mnl_nlmsg_batch *b, uint32_t *seq,
			  const char *table, const struct mh_addr *client,
			  const struct mh_addr *server, uint32_t timeout_ms,
			  uint32_t left_ms);

/* Pure key codec. The set an element of kind and family lives in, or NULL. */
const char *mh_nft_gw_set(enum mh_gw_kind kind, int family);
/* Encode into key (MH_GW_KEY_MAX bytes); the key length, or 0 if the
 * family is not inet or client and server differ in family. */
size_t mh_nft_gw_key(enum mh_gw_kind kind, const struct mh_addr *client,
		     const struct mh_addr *server, uint8_t *key);
/* Decode a key of len bytes (its family from len); client is zeroed for a
 * session. 0 or -EINVAL. */
int mh_nft_gw_from_key(enum mh_gw_kind kind, const uint8_t *key, size_t len,
		       struct mh_addr *client, struct mh_addr *server);

/* Dump the set of kind and family (nft/nl.c's socket): cb once per element
 * (client zeroed for a session) with its remaining time in ms (0: none).
 * Returns elements seen or -errno (-EPROTO: a key of a wrong length). */
typedef void (*mh_gw_cb)(const struct mh_addr *client,
			 const struct mh_addr *server, uint64_t expires_ms,
			 void *arg);
int mh_nft_gw_dump(struct mh_nft *n, const char *table, enum mh_gw_kind kind,
		   int family, mh_gw_cb cb, void *arg);

/* ---- single-port mode (nft/gwmux.c) ----
 * A mapping: client address . client port . server address -> the
 * session's own port on that server, in gwmux4/6 (confirmed: refreshed by
 * the client's datagrams, the idle timeout) or gwmuxp4/6 (provisional: the
 * candidate lifetime, never refreshed). */
#define MH_GW_MUX_KEY4_LEN   12
#define MH_GW_MUX_KEY6_LEN   36
#define MH_GW_MUX_KEY_MAX    MH_GW_MUX_KEY6_LEN

/* The map of a family, or NULL. */
const char *mh_nft_gw_mux_map(int family, bool confirmed);
/* client (address and port) . server (address) into key; its length, or 0
 * if the families are not one inet family. */
size_t mh_nft_gw_mux_key(const struct mh_addr *client,
			 const struct mh_addr *server, uint8_t *key);
/* Decode an element (server->port from the data). 0 or -EINVAL. */
int mh_nft_gw_mux_from_elem(const uint8_t *key, size_t key_len,
			    const uint8_t *data, size_t data_len,
			    struct mh_addr *client, struct mh_addr *server);
/* Add (the map's timeout) or delete the mapping of client to server's
 * address and port (server->port: the session's own port). 0 or -errno. */
int mh_nft_build_gw_mux(struct mnl_nlmsg_batch *b, uint32_t *seq,
			const char *table, const struct mh_addr *client,
			const struct mh_addr *server, bool confirmed, bool add);

#endif
