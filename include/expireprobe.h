/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Whether this kernel updates a pinhole's timeout in place (nft.h,
 * MH_NFT_EXPIRE, and the read-back's re-arm) and takes destroys, decided
 * from what it does with one probe pinhole that no datagram can match
 * (the daemon asks in a scratch table). The kernel work comes in as
 * operations, so the decision can be tested against fake kernels.
 */
#ifndef MH_EXPIREPROBE_H
#define MH_EXPIREPROBE_H

#include <stdbool.h>
#include <stdint.h>

/* A kernel that took the expiry lists the element with at most this much
 * time left, or not at all; one that ignored it lists about the idle
 * timeout. */
#define MH_EXPIRE_PROBE_MAX_LEFT_MS 1000

struct mh_expire_probe_ops {
	int (*add)(void *arg);       /* the probe pinhole, with the idle timeout */
	int (*expire)(void *arg);    /* its expiry in place */
	/* reads the set back: *found, and the time *left_ms if found;
	 * negative on a failed dump */
	int (*find)(void *arg, bool *found, uint64_t *left_ms);
	int (*destroy)(void *arg);   /* NFT_MSG_DESTROYSETELEM */
	void (*del)(void *arg);      /* a plain delete (gone already is done) */
};

/* Adds the probe pinhole, expires it in place, reads it back, destroys it
 * twice (the second time it is not there, which only a kernel with the
 * destroy message takes without an error). true only if every step did
 * what an expiring kernel does; any other answer falls back to deletes,
 * and the probe pinhole is deleted then (an add that failed leaves
 * nothing to delete). */
bool mh_expire_probe(const struct mh_expire_probe_ops *ops, void *arg);

#endif
