/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the kernel tells about a process and the time: the monotonic
 * millisecond clock, /proc/PID/stat (state, parent, start time) read and
 * parsed in one place, and whether a pidfd says its process has exited.
 * The parser is pure; the readers make one system call each.
 */
#ifndef MH_PROC_H
#define MH_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The fields of /proc/PID/stat the programs use. */
struct mh_proc_stat {
	char state;              /* field 3: R, S, Z, ... */
	pid_t ppid;              /* field 4 */
	unsigned flags;          /* field 9: the kernel's PF_* bits */
	uint64_t start;          /* field 22: start time in clock ticks after boot */
};

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t mh_now_ms(void);

/* Parse the text of /proc/PID/stat (the command name may hold anything,
 * spaces and ')' included); 0 or -EINVAL. */
int mh_proc_stat_parse(const char *text, struct mh_proc_stat *out);

/* Read and parse /proc/PID/stat; 0 or -errno (-EIO if it reads empty). */
int mh_proc_stat(pid_t pid, struct mh_proc_stat *out);

/* true if the pidfd says the process has already exited (does not block). */
bool mh_pidfd_exited(int pidfd);

/* Linux's PF_EXITING: set as do_exit begins, before the process's files
 * (its sockets) are closed; its pidfd says "exited" only later. */
#define MH_PF_EXITING 0x00000004u

/* true if /proc says pid is on its way out: gone, a zombie, or exiting.
 * For a pid whose pidfd does not say "exited" yet (the pid is still that
 * process's). */
bool mh_proc_exiting(pid_t pid);

#endif
