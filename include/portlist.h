/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Port sets as the kernel's port sysctls write them: the comma list of
 * net.ipv4.ip_local_reserved_ports ("5,7-8,60000-61000") and the pair of
 * net.ipv4.ip_local_port_range ("32768\t60999"). Parsing, merging and
 * printing back, on a bitmap of all 65536 ports. Pure: no file access.
 */
#ifndef MH_PORTLIST_H
#define MH_PORTLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mh_portset {
	uint8_t bits[65536 / 8];   /* bit p set: port p is in the set */
};

/* Longest text mh_portset_format can need (every other port, commas). */
#define MH_PORTSET_TEXT_MAX (65536 / 2 * 6 + 2)

void mh_portset_clear(struct mh_portset *s);
void mh_portset_add(struct mh_portset *s, uint16_t lo, uint16_t hi);
bool mh_portset_has(const struct mh_portset *s, uint16_t port);
/* How many ports of lo..hi are in the set. */
unsigned mh_portset_count(const struct mh_portset *s, uint16_t lo, uint16_t hi);
/* The first run of ports of lo..hi that are NOT in the set, as *rlo..*rhi;
 * false if every port of lo..hi is in it. */
bool mh_portset_first_gap(const struct mh_portset *s, uint16_t lo, uint16_t hi,
			  uint16_t *rlo, uint16_t *rhi);

/*
 * Parse a comma list of ports and ranges "A" or "A-B" (A <= B, each a
 * decimal of at most 5 digits, 0..65535) into s (cleared first). Empty
 * text, or text of only a newline, is the empty set; one trailing newline
 * is allowed, nothing else (no spaces, signs or empty items). len bytes of
 * text, which need not be NUL-terminated. 0 or -EINVAL.
 */
int mh_portset_parse(struct mh_portset *s, const char *text, size_t len);

/* The set as the kernel prints it: ascending, runs as "A-B", no newline.
 * Returns the length (without the NUL) or -ENOSPC if buf is too small. */
int mh_portset_format(const struct mh_portset *s, char *buf, size_t len);

/* net.ipv4.ip_local_port_range: two decimals separated by blanks (tab or
 * spaces), an optional trailing newline, lo <= hi. 0 or -EINVAL. */
int mh_port_range_parse(const char *text, size_t len, uint16_t *lo, uint16_t *hi);

#endif
