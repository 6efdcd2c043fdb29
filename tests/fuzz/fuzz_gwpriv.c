/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the gateway's privilege-separation messages
 * (lib/gwpriv.c): what the relay listener sends the privileged daemon over
 * their socketpair, which the daemon decodes as hostile input. Any bytes:
 * refused with a reason and nothing else, or accepted with a frame of a
 * type the kind allows, and re-encoded to exactly the same bytes (and
 * -ENOBUFS one byte short); the SAN check reads only what was decoded.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_common.h"
#include "gwpriv.h"

static void check_accepted(const uint8_t *data, size_t size, struct mh_gwp *p)
{
	uint8_t *buf = malloc(size);
	ssize_t n;

	FUZZ_ASSERT(buf, "malloc");
	n = mh_gwp_encode(p, buf, size);
	FUZZ_ASSERT(n == (ssize_t)size, "re-encoded to %zd of %zu bytes", n, size);
	FUZZ_ASSERT(memcmp(buf, data, size) == 0, "re-encoded bytes differ");
	if (size > 0)
		FUZZ_ASSERT(mh_gwp_encode(p, buf, size - 1) == -ENOBUFS,
			    "encoded into one byte less");
	free(buf);
	if (p->kind == MH_GWP_MSG && p->msg.type == MHR_OPEN)
		(void)mh_gwp_addr_listed(p->addrs, p->n_addrs, &p->msg.u.open.server);
	FUZZ_ASSERT(p->n_addrs <= MH_GWP_ADDRS_MAX, "n_addrs %u", p->n_addrs);
	FUZZ_ASSERT(strlen(p->subject) <= MH_GWP_SUBJ_MAX, "subject too long");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mh_gwp p;
	const char *why = NULL;
	int rc = mh_gwp_decode(data, size, &p, &why);

	if (rc < 0) {
		FUZZ_ASSERT(rc == -EPROTO, "rc %d", rc);
		FUZZ_ASSERT(why && why[0], "refusal without a reason");
		mh_gwp_wipe(&p);
		return 0;
	}
	FUZZ_ASSERT(rc == 0, "rc %d", rc);
	check_accepted(data, size, &p);
	mh_gwp_wipe(&p);
	return 0;
}
