/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sock_diag request that lists the UDP sockets of one family bound to
 * a port range (the daemon's reader is nfq-helper/datapath/sockdiag.c).
 * Built into a caller's buffer, apart from any socket: pure.
 */
#ifndef MH_DIAGREQ_H
#define MH_DIAGREQ_H

#include <stdbool.h>
#include <stdint.h>

struct nlmsghdr;

/* Room a request takes: header, inet_diag_req_v2, a 4-op filter program */
#define MH_DIAG_REQ_MAX 256

/* A dump request (NLM_F_DUMP) for family's UDP sockets in every state,
 * built at the start of buf (MH_DIAG_REQ_MAX bytes at least). One port
 * (lo == hi) is named in the request itself, which the kernel compares
 * before anything else; a range is a filter program "sport >= lo, then
 * sport <= hi" when program is set, else nothing (every port). */
struct nlmsghdr *mh_diag_request(void *buf, uint32_t seq, int family,
				 uint16_t lo, uint16_t hi, bool program);

/* A request for one UDP socket (no NLM_F_DUMP): the one a datagram from
 * nowhere (address and port 0) to local address ip (family's length; all
 * zero for a wildcard) and port would reach, arriving on device ifindex
 * (0: none; a socket bound to a device is found only with it), answered
 * only if its cookie is cookie (else ESTALE; none there: ENOENT), or
 * whatever its cookie with MH_DIAG_ANY_COOKIE. The kernel looks it up as
 * it delivers a datagram, with no walk of the port's sockets. */
#define MH_DIAG_ANY_COOKIE UINT64_MAX   /* INET_DIAG_NOCOOKIE in both halves */
struct nlmsghdr *mh_diag_request_one(void *buf, uint32_t seq, int family,
				     const uint8_t *ip, uint16_t port,
				     uint32_t ifindex, uint64_t cookie);

#endif
