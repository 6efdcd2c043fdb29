/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port mode: which sessions a datagram from an unknown source may be
 * tried against, at most MH_MUX_MAX_TRIALS whatever the number of sessions
 * (the one the background sweep found for that source, the SSH login's
 * address, the sequence index), and the bounded background sweep that
 * places a source outside that bound. Pure: time is passed in.
 */
#ifndef MH_MUXSEL_H
#define MH_MUXSEL_H

#include <stdint.h>

#include "pkt.h"
#include "session.h"

/* The shortest payload tried: header, one cipher block (the first-block
 * test needs it), tag. Real mosh datagrams are longer: 4 bytes of
 * timestamps, a 10-byte fragment header and a zlib stream (8 bytes at
 * least) make 46; the shortest in pcaps/ is 60. The kernel drops shorter
 * ones at the public port (nft/mux.c). */
#define MH_MUX_MIN_PAYLOAD   (SSP_MIN_DATAGRAM_LEN + 16)
/* A client's to-server header word starts with this many zero bytes: the
 * direction bit is 0 and the sequence number, which counts datagrams from
 * 0, stays below 2^40 (35 years at 1,000 datagrams a second). Random bytes
 * pass with a chance of 2^-24; the kernel drops the rest (nft/mux.c). */
#define MH_MUX_ZERO_HEAD     3
#define MH_MUX_MAX_SEQ       ((UINT64_C(1) << 40) - 1)

#define MH_MUX_MAX_TRIALS    8    /* sessions tried per datagram, at most */
#define MH_MUX_HINT_TRIALS   3    /* of which by the SSH login's address */
#define MH_MUX_WALK          (4 * MH_MUX_MAX_TRIALS)  /* index entries read */

/* The background sweep: first-block tests of unplaced sources against
 * every session, MH_MUX_SWEEP_RATE a second at most (about 2-4% of a core
 * with AES-NI), MH_MUX_SWEEP_BURST per call. */
#define MH_MUX_SWEEP_RATE    500000
#define MH_MUX_SWEEP_BURST   16384

/* Fills out[] (room for MH_MUX_MAX_TRIALS) with the sessions a to-server
 * datagram from src to dst with sequence number seq may belong to, in the
 * order to try them: the session the sweep found for src, then up to
 * MH_MUX_HINT_TRIALS whose SSH login came from src's address, then those
 * the sequence index puts nearest below seq (a roaming client's number is
 * just above what the daemon last saw of its session). Each can take seq
 * as newer and is bound to dst. Returns how many. */
unsigned mh_mux_candidates(const struct mh_table *t, const struct mh_addr *src,
			   const struct mh_addr *dst, uint64_t seq,
			   struct mh_session **out);

/* src's datagram (payload of len >= MH_MUX_MIN_PAYLOAD) found no session:
 * keep its head for the sweep (a table of MH_MUX_PENDING; a full table
 * evicts what the sweep finished without a match, then the source seen
 * least, then the oldest). */
void mh_mux_note(struct mh_table *t, const struct mh_addr *src,
		 const uint8_t *payload, size_t len);
/* src was placed: its entry is no longer needed. */
void mh_mux_forget(struct mh_table *t, const struct mh_addr *src);

/* Runs the sweep with the trials its budget allows at now_ms (first the
 * entries from sources seen most often, then the newest). Returns the
 * trials spent. */
unsigned mh_mux_sweep(struct mh_table *t, uint64_t now_ms);

/* Could each of n <= MH_MUX_MAX_TRIALS sessions at once (interleaved on
 * AES-NI): plausible[i] for s[i]. */
void mh_mux_first_blocks(struct mh_session *const s[], unsigned n,
			 const uint8_t *payload, size_t len, bool plausible[]);

#endif
