/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Kernel elements against the session table: which record a pinhole element
 * read back from the kernel belongs to, and so which elements no session
 * records (strays, left by a failed delete) and the periodic read-back removes.
 * Pure: no sockets.
 */
#ifndef MH_STRAY_H
#define MH_STRAY_H

#include "nft.h"
#include "session.h"

/* The client address and port of a kernel element (the inverse of nft.h's
 * mh_pinhole_of). */
void mh_elem_client(const struct mh_pinhole *ph, struct mh_addr *a);
/* The record of the kernel's pinhole ph in t: its server port's session's
 * record of that client address and port; NULL if none (a stray). */
struct mh_pinhole_rec *mh_elem_record(const struct mh_table *t,
				      const struct mh_pinhole *ph);

#endif
