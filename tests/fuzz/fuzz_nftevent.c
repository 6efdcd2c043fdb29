/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the table watch's event test (nft/watch.c,
 * mh_nft_event_touches): a buffer of netlink messages as the nftables
 * event socket delivers them. Beyond no crash and no read past the
 * buffer (an exact-size heap copy): the answer is the same twice, and
 * the same buffer with every message's sender set to the daemon's own
 * port id never counts (the daemon's batches never set off a rebuild).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "fuzz_common.h"
#include "nft.h"

#define OWN 0x4d48u

/* Every message's nlmsg_pid set to OWN, walking as the parser does. */
static void claim_all(uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			break;
		h.nlmsg_pid = OWN;
		memcpy(buf + off, &h, sizeof(h));
		off += NLMSG_ALIGN(h.nlmsg_len);
		if (off > len)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* malloc: aligned as the kernel's buffers are, and exactly size long */
	uint8_t *buf = malloc(size ? size : 1);
	bool a, b;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	a = mh_nft_event_touches(buf, size, "mosh_helper", 1);
	b = mh_nft_event_touches(buf, size, "mosh_helper", 1);
	FUZZ_ASSERT(a == b, "two answers for one buffer");
	claim_all(buf, size);
	FUZZ_ASSERT(!mh_nft_event_touches(buf, size, "mosh_helper", OWN),
		    "the daemon's own change counted as foreign");
	free(buf);
	return 0;
}
