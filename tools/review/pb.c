/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A small protobuf reader for mosh's TransportBuffers.Instruction: varint
 * and length-delimited fields with every length checked against the
 * buffer, unknown fields skipped, groups and bad wire types refused.
 * Fields 1-5 are numbers (protocol version, old/new/ack/throwaway state
 * numbers), 6 and 7 are bytes (diff, chaff): only their sizes are kept.
 */
#include <string.h>

#include "review.h"

enum wire_type { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

#define VARINT_MAX_BYTES 10

struct pb_buf {
	const uint8_t *p, *end;
};

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

static int read_varint(struct pb_buf *b, uint64_t *v, const char **why)
{
	uint64_t r = 0;
	int i;

	for (i = 0; i < VARINT_MAX_BYTES; i++) {
		uint8_t byte;

		if (b->p >= b->end)
			return fail(why, "varint runs past the end");
		byte = *b->p++;
		if (i == VARINT_MAX_BYTES - 1 && byte > 1)
			return fail(why, "varint overflows 64 bits");
		r |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return fail(why, "varint longer than 10 bytes");
}

static int skip(struct pb_buf *b, uint64_t n, const char **why)
{
	if (n > (uint64_t)(b->end - b->p))
		return fail(why, "field runs past the end");
	b->p += n;
	return 0;
}

/* Reads one field's value, storing it if the field is known. */
static int read_value(struct pb_buf *b, uint64_t field, unsigned wt,
		      struct rv_instr *in, const char **why)
{
	uint64_t v;
	bool known_num = field >= RV_F_PROTOCOL_VERSION && field <= RV_F_THROWAWAY_NUM;
	bool known_bytes = field == RV_F_DIFF || field == RV_F_CHAFF;

	if ((known_num && wt != WT_VARINT) || (known_bytes && wt != WT_LEN))
		return fail(why, "known field with the wrong wire type");
	switch (wt) {
	case WT_VARINT:
		if (read_varint(b, &v, why) < 0)
			return -1;
		if (known_num)
			in->num[field] = v;
		break;
	case WT_LEN:
		if (read_varint(b, &v, why) < 0 || skip(b, v, why) < 0)
			return -1;
		if (field == RV_F_DIFF)
			in->diff_len = (size_t)v;
		else if (field == RV_F_CHAFF)
			in->chaff_len = (size_t)v;
		break;
	case WT_I64:
		return skip(b, 8, why);
	case WT_I32:
		return skip(b, 4, why);
	default:
		return fail(why, "unsupported wire type (group or invalid)");
	}
	if (known_num || known_bytes)
		in->present |= 1u << field;
	return 0;
}

int rv_instr_decode(const uint8_t *buf, size_t len, struct rv_instr *in,
		    const char **why)
{
	struct pb_buf b = { buf, buf + len };
	uint64_t key;

	memset(in, 0, sizeof(*in));
	while (b.p < b.end) {
		if (read_varint(&b, &key, why) < 0)
			return -1;
		if (key >> 3 == 0 || key >> 3 > UINT32_MAX >> 3)
			return fail(why, "invalid field number");
		if (read_value(&b, key >> 3, (unsigned)(key & 7), in, why) < 0)
			return -1;
	}
	return 0;
}
