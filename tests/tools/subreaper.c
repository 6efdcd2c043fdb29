/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * subreaper: runs a command as a child subreaper (PR_SET_CHILD_SUBREAPER,
 * kept across exec), so the processes its children leave behind, such as
 * the server mosh-server detaches, become its own children, the way the
 * hook holds them. For tests of direct control-socket clients.
 */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: subreaper COMMAND [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		fprintf(stderr, "subreaper: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		return 2;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "subreaper: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
