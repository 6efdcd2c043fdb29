/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Protocol constants for SSP (mosh's State Synchronization Protocol) and the
 * mosh behaviour mosh-helper relies on. Every number the code compares a
 * datagram or a timer against lives here, with its unit in the name.
 */
#ifndef MH_CONSTS_H
#define MH_CONSTS_H

#include <stdint.h>

/* SSP datagram: 8-byte big-endian word (direction bit | 63-bit sequence),
 * then AES-128-OCB ciphertext followed by a 16-byte tag. */
#define SSP_HEADER_LEN          8
#define SSP_TAG_LEN             16
#define SSP_MIN_DATAGRAM_LEN    (SSP_HEADER_LEN + SSP_TAG_LEN)  /* 24 bytes */
#define SSP_MAX_DATAGRAM_LEN    65507                           /* UDP payload limit */
#define SSP_NONCE_LEN           12    /* 4 zero bytes + the 8-byte header word */
#define SSP_DIRECTION_BIT       (UINT64_C(1) << 63)  /* set: to client */
#define SSP_SEQ_MASK            (SSP_DIRECTION_BIT - 1)

/* Session key: 16 bytes, handed to the client as 22 base64 characters
 * without the "==" padding. */
#define SSP_KEY_LEN             16
#define SSP_KEY_B64_LEN         22

/* Plaintext layout: timestamp, timestamp reply, then one fragment. */
#define SSP_TIMESTAMPS_LEN      4     /* 2 x 16-bit milliseconds */
#define SSP_FRAG_HEADER_LEN     10    /* 64-bit instruction id + 16-bit number */
#define SSP_FRAG_FINAL_BIT      0x8000

/* mosh timing observed with mosh 1.4.0 (the client also changes its source
 * port after 10 s without a round trip, and gives up when 15 s pass without
 * a first contact; no code here depends on either) */
#define MOSH_HEARTBEAT_MS       3000  /* both sides send at least this often */

#define MOSH_DEFAULT_PORT_LOW   60000
#define MOSH_DEFAULT_PORT_HIGH  61000

/* A source seen with an authentic, newer datagram stays a candidate for a
 * pinhole this long: mosh-server may wait one heartbeat before answering. */
#define MH_CANDIDATE_LIFETIME_S 10

#endif
