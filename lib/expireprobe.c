/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The decision of include/expireprobe.h: which kernel answers mean that
 * evicted pinholes may expire in place.
 */
#include "expireprobe.h"

bool mh_expire_probe(const struct mh_expire_probe_ops *ops, void *arg)
{
	bool found = false, ok;
	uint64_t left = 0;

	if (ops->add(arg) < 0)
		return false;
	ok = ops->expire(arg) == 0;
	if (ok)
		ok = ops->find(arg, &found, &left) >= 0 &&
		     (!found || left <= MH_EXPIRE_PROBE_MAX_LEFT_MS);
	ok = ops->destroy(arg) == 0 && ok;
	ok = ops->destroy(arg) == 0 && ok;
	if (!ok)
		ops->del(arg);
	return ok;
}
