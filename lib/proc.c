/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Process and clock readers shared by the daemon and the hook: the
 * monotonic millisecond clock, /proc/PID/stat (one parser for the state,
 * parent and start time) and the exit test of a pidfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

uint64_t mh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Fields 3 (state), 4 (ppid), 9 (flags) and 22 (start time) of the text
 * after the command name's closing ')'; 0 or -EINVAL. */
static int parse_fields(char *p, struct mh_proc_stat *out)
{
	char *tok, *save = NULL, *end;
	unsigned long long start, flags = 0;
	long ppid;
	int field;

	tok = strtok_r(p, " ", &save);             /* field 3 */
	if (!tok || tok[1])
		return -EINVAL;
	out->state = tok[0];
	tok = strtok_r(NULL, " ", &save);          /* field 4 */
	errno = 0;
	ppid = tok ? strtol(tok, &end, 10) : -1;
	if (!tok || errno || *end || ppid < 0)
		return -EINVAL;
	out->ppid = (pid_t)ppid;
	for (field = 4; tok && field < 22; field++) {
		tok = strtok_r(NULL, " ", &save);
		if (tok && field + 1 == 9) {
			errno = 0;
			flags = strtoull(tok, &end, 10);
			if (errno || *end || flags > UINT32_MAX)
				return -EINVAL;
		}
	}
	if (!tok)
		return -EINVAL;
	errno = 0;
	start = strtoull(tok, &end, 10);
	if (errno || *end)
		return -EINVAL;
	out->start = start;
	out->flags = (unsigned)flags;
	return 0;
}

int mh_proc_stat_parse(const char *text, struct mh_proc_stat *out)
{
	char buf[1024];
	const char *p = strrchr(text, ')');  /* the command name may hold anything */

	if (!p || strlen(p + 1) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, p + 1);
	buf[strcspn(buf, "\n")] = '\0';
	return parse_fields(buf, out);
}

int mh_proc_stat(pid_t pid, struct mh_proc_stat *out)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (n <= 0)
		return err ? err : -EIO;
	buf[n] = '\0';
	return mh_proc_stat_parse(buf, out);
}

bool mh_pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

bool mh_proc_exiting(pid_t pid)
{
	struct mh_proc_stat ps;
	int err = mh_proc_stat(pid, &ps);

	if (err == -ENOENT || err == -ESRCH)
		return true;
	if (err)
		return false;
	return ps.state == 'Z' || ps.state == 'X' || (ps.flags & MH_PF_EXITING);
}
