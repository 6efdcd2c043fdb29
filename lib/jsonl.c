/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * JSON-lines builder (see jsonl.h): every field is rendered into scratch
 * space first and appended only if it fits, keeping the line valid JSON
 * whatever the input. Strings are escaped per RFC 8259.
 */
#include <stdio.h>
#include <string.h>

#include "jsonl.h"

#define TAIL_RESERVE 24   /* room for ,"truncated":true}\n */

void mh_jsonl_begin(struct mh_jsonl *j)
{
	j->buf[0] = '{';
	j->len = 1;
	j->first = true;
	j->full = false;
	j->skipped = 0;
}

static void append(struct mh_jsonl *j, const char *s, size_t n)
{
	if (j->full || j->len + n + TAIL_RESERVE > sizeof(j->buf)) {
		j->full = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

/* Escapes s into out (cap bytes); returns the length or cap on overflow. */
static size_t escape(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[8];
		size_t k;

		if (c == '"' || c == '\\')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
		else
			tmp[0] = (char)c, k = 1;
		if (n + k >= cap)
			return cap;
		memcpy(out + n, tmp, k);
		n += k;
	}
	return n;
}

/* Appends ,"key": followed by the raw value text. */
static void field(struct mh_jsonl *j, const char *key, const char *raw)
{
	char tmp[MH_JSONL_MAX];
	size_t n = 0, k;

	if (!j->first)
		tmp[n++] = ',';
	tmp[n++] = '"';
	k = escape(key, tmp + n, sizeof(tmp) - n);
	if (k == sizeof(tmp) - n)
		goto overflow;
	n += k;
	k = (size_t)snprintf(tmp + n, sizeof(tmp) - n, "\":%s", raw);
	if (k >= sizeof(tmp) - n)
		goto overflow;
	n += k;
	if (j->len + n + TAIL_RESERVE > sizeof(j->buf))
		goto overflow;
	append(j, tmp, n);
	j->first = false;
	return;
overflow:
	j->full = true;
}

void mh_jsonl_str(struct mh_jsonl *j, const char *key, const char *val)
{
	char q[MH_JSONL_MAX];
	size_t k = escape(val, q + 1, sizeof(q) - 3);

	if (k == sizeof(q) - 3) {
		j->full = true;
		return;
	}
	q[0] = '"';
	q[k + 1] = '"';
	q[k + 2] = '\0';
	field(j, key, q);
}

void mh_jsonl_u64(struct mh_jsonl *j, const char *key, uint64_t val)
{
	char v[24];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)val);
	field(j, key, v);
}

void mh_jsonl_num(struct mh_jsonl *j, const char *key, double val, int decimals)
{
	char v[64];

	snprintf(v, sizeof(v), "%.*f", decimals, val);
	field(j, key, v);
}

void mh_jsonl_bool(struct mh_jsonl *j, const char *key, bool val)
{
	field(j, key, val ? "true" : "false");
}

void mh_jsonl_addr(struct mh_jsonl *j, const char *key, const struct mh_addr *a)
{
	char s[MH_ADDRSTRLEN];

	mh_jsonl_str(j, key, mh_addr_str(a, s, sizeof(s)));
}

void mh_jsonl_open(struct mh_jsonl *j, const char *key)
{
	field(j, key, "{");
	if (j->full) {
		j->skipped++;
		return;
	}
	j->first = true;
}

void mh_jsonl_close(struct mh_jsonl *j)
{
	if (j->skipped) {
		j->skipped--;
		return;
	}
	/* room is certain: every append kept TAIL_RESERVE bytes free */
	j->buf[j->len++] = '}';
	j->first = false;
}

size_t mh_jsonl_end(struct mh_jsonl *j)
{
	static const char mark[] = ",\"truncated\":true";

	if (j->full) {
		memcpy(j->buf + j->len, mark, sizeof(mark) - 1);
		j->len += sizeof(mark) - 1;
	}
	j->buf[j->len++] = '}';
	j->buf[j->len++] = '\n';
	j->buf[j->len] = '\0';
	return j->len;
}
