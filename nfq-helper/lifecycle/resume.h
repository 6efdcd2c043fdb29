/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * resume.c: at a restart that adopted the table, the sessions an earlier
 * daemon saved are opened again; how many came back.
 */
#ifndef MH_RESUME_H
#define MH_RESUME_H

struct mh_daemon;

unsigned mh_resume(struct mh_daemon *d);

#endif
