/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A JSON-lines builder into a fixed buffer: one object per line, strings
 * escaped, numbers and addresses formatted in place. Output that would not
 * fit is cut at a field boundary and marked with "truncated": true, so a
 * line is always valid JSON. Pure: the caller writes the line out.
 */
#ifndef MH_JSONL_H
#define MH_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

#define MH_JSONL_MAX 2048

struct mh_jsonl {
	char buf[MH_JSONL_MAX];
	size_t len;
	bool first;      /* no field written yet */
	bool full;       /* a field did not fit */
	unsigned skipped; /* nested objects that did not fit: their close is a no-op */
};

void mh_jsonl_begin(struct mh_jsonl *j);
void mh_jsonl_str(struct mh_jsonl *j, const char *key, const char *val);
void mh_jsonl_u64(struct mh_jsonl *j, const char *key, uint64_t val);
void mh_jsonl_num(struct mh_jsonl *j, const char *key, double val, int decimals);
void mh_jsonl_bool(struct mh_jsonl *j, const char *key, bool val);
void mh_jsonl_addr(struct mh_jsonl *j, const char *key, const struct mh_addr *a);
/* Opens a nested object as the value of key; close with mh_jsonl_close. */
void mh_jsonl_open(struct mh_jsonl *j, const char *key);
void mh_jsonl_close(struct mh_jsonl *j);
/* Closes the object and adds the newline; returns the line's length. */
size_t mh_jsonl_end(struct mh_jsonl *j);

#endif
