/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperctl: the firewall admin's view of a running mosh-helperd over
 * its control socket. conn.c asks (one connection per request, one reply
 * each), out.c renders (aligned text or JSON lines), prom.c the counters
 * as Prometheus metrics, status.c the role and peer links, main.c parses
 * the command line and pages through list, stats and status.
 */
#ifndef MH_CTL_H
#define MH_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctlproto.h"

#define CTL_NAME       "mosh-helperctl"
#define CTL_TIMEOUT_MS 5000   /* the daemon answers at once; this bounds a hung one */

/* Exit statuses. */
enum { CTL_OK = 0, CTL_REFUSED = 1, CTL_UNREACHABLE = 2 };

/* One request and its reply. *pidfd gets a descriptor the daemon passed
 * (kill, when the daemon may not signal the process itself), else -1.
 * Returns CTL_OK (reply decoded into *m), or CTL_UNREACHABLE with one line
 * already on stderr. */
int ctl_ask(const char *path, const uint8_t *req, size_t len,
	    struct mhc_msg *m, int *pidfd);

/* A session of a list, with its pinholes (copied out of the pages). */
struct ctl_session {
	struct mhc_session_info s;
	struct mhc_pinhole_info ph[MHC_PINHOLES_MAX];
};

void ctl_print_list(FILE *f, const struct ctl_session *v, size_t n, bool json);
void ctl_print_stats(FILE *f, const struct mhc_stat *st, size_t n, bool json);
/* The Prometheus text format: HELP, TYPE and samples, mosh_helper_ names. */
void ctl_print_prometheus(FILE *f, const struct mhc_stat *st, size_t n);
/* status: the role, then each peer link (a gateway's relays, a relay's
 * gateways) as a table, or JSON lines. */
void ctl_print_status(FILE *f, uint8_t role, const struct mhc_peer_info *p,
		      size_t n, bool json);
/* "12.3s", "5m02s", "3h04m", "2d03h" (out.c) */
char *ctl_duration(uint64_t ms, char *buf, size_t len);
/* kill / reload: what was done. */
void ctl_print_done(FILE *f, const char *command, uint16_t port,
		    const char *reason, const char *note, bool json);

#endif
