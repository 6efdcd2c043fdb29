/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SSP instruction decoding for mosh-helper-review: decrypt a datagram with
 * the session key (lib/ssp.c), read its timestamps and fragment header,
 * reassemble fragments per direction by instruction id in fragment-number
 * order until the final one, inflate (zlib) and decode the Instruction.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "review.h"

#define MAX_FRAGS          1024
#define MAX_COMPRESSED     (1u << 20)    /* one instruction's fragment bytes */
#define MAX_INFLATED       (16u << 20)
#define INFLATE_CHUNK      4096

void rv_reasm_free(struct rv_reasm *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->f[i].data);
	free(r->f);
	memset(r, 0, sizeof(*r));
}

static void reasm_reset(struct rv_reasm *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->f[i].data);
	r->n = r->bytes = 0;
	r->active = false;
	r->final_num = -1;
}

static int frag_cmp(const void *a, const void *b)
{
	const struct rv_frag *x = a, *y = b;

	return (int)x->num - (int)y->num;
}

/* zlib stream -> *out (malloc'd). 0, -1 with *why, -2 out of memory. */
static int inflate_all(const uint8_t *in, size_t len, uint8_t **out,
		       size_t *out_len, const char **why)
{
	z_stream z;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int zr = Z_OK, rc = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		return -2;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	while (zr == Z_OK) {
		if (z.total_out == cap) {
			uint8_t *nb;

			if (cap >= MAX_INFLATED) {
				*why = "instruction inflates beyond 16 MB";
				rc = -1;
				break;
			}
			cap += cap ? cap : INFLATE_CHUNK;
			nb = realloc(buf, cap);
			if (!nb) {
				rc = -2;
				break;
			}
			buf = nb;
		}
		z.next_out = buf + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		zr = inflate(&z, Z_NO_FLUSH);
	}
	if (rc == 0 && zr != Z_STREAM_END) {
		*why = zr == Z_BUF_ERROR ? "zlib stream ends early" : "not a valid zlib stream";
		rc = -1;
	} else if (rc == 0 && z.avail_in) {
		*why = "bytes after the end of the zlib stream";
		rc = -1;
	}
	*out_len = z.total_out;
	inflateEnd(&z);
	if (rc < 0)
		free(buf);
	else
		*out = buf;
	return rc;
}

/* All fragments are in: join, inflate, decode. -1 only without memory. */
static int reasm_finish(struct rv_reasm *r, struct rv_plain_info *info)
{
	uint8_t *joined, *raw = NULL;
	size_t i, off = 0, raw_len = 0;
	int rc;

	qsort(r->f, r->n, sizeof(r->f[0]), frag_cmp);
	joined = malloc(r->bytes ? r->bytes : 1);
	if (!joined)
		return -1;
	for (i = 0; i < r->n; i++) {
		memcpy(joined + off, r->f[i].data, r->f[i].len);
		off += r->f[i].len;
	}
	info->complete = true;
	info->frags = (unsigned)r->n;
	rc = inflate_all(joined, off, &raw, &raw_len, &info->instr_err);
	free(joined);
	if (rc == -2)
		return -1;
	if (rc == 0 && rv_instr_decode(raw, raw_len, &info->instr, &info->instr_err) < 0)
		memset(&info->instr, 0, sizeof(info->instr));
	free(raw);
	reasm_reset(r);
	return 0;
}

static bool has_frag(const struct rv_reasm *r, uint16_t num)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->f[i].num == num)
			return true;
	return false;
}

static int reasm_store(struct rv_reasm *r, const struct ssp_plain *sp)
{
	struct rv_frag *f;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;

		f = realloc(r->f, cap * sizeof(*f));
		if (!f)
			return -1;
		r->f = f;
		r->cap = cap;
	}
	f = &r->f[r->n];
	f->data = malloc(sp->frag_len ? sp->frag_len : 1);
	if (!f->data)
		return -1;
	memcpy(f->data, sp->frag_data, sp->frag_len);
	f->len = sp->frag_len;
	f->num = sp->frag_num;
	r->n++;
	r->bytes += sp->frag_len;
	return 0;
}

static bool reasm_done(const struct rv_reasm *r)
{
	size_t i;

	if (r->final_num < 0 || r->n != (size_t)r->final_num + 1)
		return false;
	for (i = 0; i < r->n; i++)
		if (r->f[i].num > r->final_num)
			return false;
	return true;
}

static int reasm_feed(struct rv_reasm *r, const struct ssp_plain *sp,
		      struct rv_plain_info *info)
{
	if (r->active && r->id != sp->frag_id) {
		info->dropped = "an unfinished earlier instruction was abandoned";
		reasm_reset(r);
	}
	if (!r->active) {
		r->active = true;
		r->id = sp->frag_id;
		r->final_num = -1;
	}
	if (has_frag(r, sp->frag_num))
		return 0;   /* the same fragment again */
	if (r->n >= MAX_FRAGS || r->bytes + sp->frag_len > MAX_COMPRESSED) {
		info->instr_err = "instruction has too many fragment bytes; abandoned";
		reasm_reset(r);
		return 0;
	}
	if (reasm_store(r, sp) < 0)
		return -1;
	if (sp->final)
		r->final_num = sp->frag_num;
	return reasm_done(r) ? reasm_finish(r, info) : 0;
}

int rv_instr_datagram(struct ssp_ctx *ctx, struct rv_reasm *r,
		      const uint8_t *dgram, size_t len,
		      struct ssp_header *h, struct rv_plain_info *info)
{
	static uint8_t plain[SSP_MAX_DATAGRAM_LEN];
	struct ssp_plain sp;
	size_t plen;

	memset(info, 0, sizeof(*info));
	if (ssp_open(ctx, dgram, len, h, plain, sizeof(plain), &plen) < 0)
		return 0;
	if (ssp_parse_plain(plain, plen, &sp) < 0) {
		info->instr_err = "plaintext shorter than timestamps and fragment header";
		return 1;
	}
	info->have = true;
	info->timestamp = sp.timestamp;
	info->timestamp_reply = sp.timestamp_reply;
	info->frag_id = sp.frag_id;
	info->frag_num = sp.frag_num;
	info->final = sp.final;
	return reasm_feed(r, &sp, info) < 0 ? -1 : 1;
}
