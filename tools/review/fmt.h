/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Formatting helpers shared by out_text.c and out_json.c (fmt.c): names of
 * verdicts, notes and actions, and times as seconds with microseconds.
 */
#ifndef MH_REVIEW_FMT_H
#define MH_REVIEW_FMT_H

#include <stddef.h>

#include "review.h"

const char *rv_verdict_name(enum rv_verdict v);
const char *rv_seqnote_name(enum rv_seqnote n);
const char *rv_ph_action_name(enum rv_ph_action a);
const char *rv_dir_name(bool to_server);
/* "1795282241.314493" */
char *rv_fmt_secs(char *buf, size_t len, rv_time us);
/* "+0.006492": us relative to start */
char *rv_fmt_rel(char *buf, size_t len, rv_time us, rv_time start);
/* "6.492 ms" below one second, else "1.003 s" */
char *rv_fmt_dur(char *buf, size_t len, rv_time us);
/* "2026-11-21 17:30:41.314493 UTC" */
char *rv_fmt_utc(char *buf, size_t len, rv_time us);

#endif
