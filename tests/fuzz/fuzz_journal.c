/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for lib/log.c's JOURNAL_STREAM match
 * (mh_journal_stream_is). The input is the variable's value. A reference
 * reading (two runs of decimal digits around one colon, each fitting 64
 * bits, nothing else) decides: what it accepts must match exactly its own
 * device and inode and nothing one off; whatever it refuses must match
 * nothing, not even the numbers a lax strtoull reading would find.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "log.h"

/* digits of s up to stop into *v; false on none, other bytes, overflow */
static bool ref_num(const char **s, char stop, uint64_t *v)
{
	const char *p = *s;

	*v = 0;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != stop)
		return false;
	*s = p + 1;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[128];
	const char *p = s;
	uint64_t d, i;
	char *end;

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ref_num(&p, ':', &d) && ref_num(&p, '\0', &i)) {
		FUZZ_ASSERT(mh_journal_stream_is(s, d, i), "refused %s", s);
		FUZZ_ASSERT(!mh_journal_stream_is(s, d + 1, i), "dev+1 matches %s", s);
		FUZZ_ASSERT(!mh_journal_stream_is(s, d, i + 1), "ino+1 matches %s", s);
		return 0;
	}
	errno = 0;
	d = strtoull(s, &end, 0);
	i = *end ? strtoull(end + 1, NULL, 0) : 0;
	FUZZ_ASSERT(!mh_journal_stream_is(s, d, i), "accepted %s", s);
	FUZZ_ASSERT(!mh_journal_stream_is(s, 0, 0), "accepted %s", s);
	return 0;
}
