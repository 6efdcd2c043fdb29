/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * seccompcheck: the daemon's syscall filter (nfq-helper/process/seccomp.c,
 * built in here) against one call at a time. Each probe runs in a child that
 * installs the filter and makes its call; the parent prints
 * "PROBE allowed|killed|refused ERRNO". Prints the build kind first
 * ("build normal" or "build sanitized"). Needs a writable DIR for the file
 * probes. With "keeper" after DIR, the state keeper's filter instead; with
 * "relay", the gateway's relay listener's.
 * Exit 0 unless a probe could not be run.
 */
#include "../../nfq-helper/process/seccomp.c"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char *dir;
static pid_t parent;
static int (*install_filter)(void) = mh_seccomp_install;

static long p_read_open(void)
{
	return open("/proc/self/status", O_RDONLY | O_CLOEXEC);
}

static long p_create_excl(void)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/created.%d", dir, (int)parent);
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

static long p_write_existing(void)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/existing", dir);
	return open(path, O_WRONLY | O_CLOEXEC);
}

/* the keeper reopens a rotated audit file this way */
static long p_append(void)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/existing", dir);
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static long p_truncate_existing(void)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/existing", dir);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

static long p_unix_dgram(void) { return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0); }
static long p_unix_stream(void) { return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); }
static long p_inet(void) { return socket(AF_INET, SOCK_DGRAM, 0); }
static long p_netlink(void) { return socket(AF_NETLINK, SOCK_RAW, 0); }
static long p_pidfd(void) { return pidfd_open(parent, 0); }
static long p_getuid(void) { return syscall(SYS_getuid); }
static long p_setuid(void) { return syscall(SYS_setuid, 0); }
static long p_mount(void) { return mount("none", "/", NULL, MS_REMOUNT, NULL); }

static long p_execve(void)
{
	char *const argv[] = { "true", NULL };

	return execve("/bin/true", argv, NULL);
}

static long p_mmap_rw(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -1 : 0;
}

static long p_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -1 : 0;
}

/* the daemon signals a mosh-server through its pidfd (mosh-helperctl kill) */
static long p_pidfd_signal(void)
{
	int fd = pidfd_open(parent, 0);

	return fd < 0 ? -1 : syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0);
}

/* and hands a pidfd to mosh-helperctl with sendmsg (SCM_RIGHTS) */
static int pair[2] = { -1, -1 };   /* made before the filter, in main */

static long p_sendmsg(void)
{
	char c = 'x';
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	return sendmsg(pair[0], &m, 0);
}

static long p_keyctl(void)
{
	return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* user */, 0);
}

static long p_rename(void)
{
	char from[4200], to[4200];

	snprintf(from, sizeof(from), "%s/existing", dir);
	snprintf(to, sizeof(to), "%s/renamed.%d", dir, (int)parent);
	if (rename(from, to) < 0)
		return -1;
	return rename(to, from);
}

static long p_fork(void)
{
	pid_t c = fork();

	if (c == 0)
		_exit(0);
	return c;
}

static long p_ptrace(void) { return syscall(SYS_ptrace, 0 /* TRACEME */, 0, 0, 0); }

/* signal 0: delivery is only checked */
static long p_tgkill_self(void)
{
	return syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0);
}

static long p_tgkill_other(void)
{
	return syscall(SYS_tgkill, parent, parent, 0);
}

static const struct probe {
	const char *name;
	long (*fn)(void);
} probes[] = {
	{ "open-read", p_read_open },
	{ "open-create-excl", p_create_excl },
	{ "open-write-existing", p_write_existing },
	{ "open-truncate", p_truncate_existing },
	{ "open-append", p_append },
	{ "socket-unix-dgram", p_unix_dgram },
	{ "socket-unix-stream", p_unix_stream },
	{ "socket-inet", p_inet },
	{ "socket-netlink", p_netlink },
	{ "pidfd_open", p_pidfd },
	{ "mmap-rw", p_mmap_rw },
	{ "mmap-exec", p_mmap_exec },
	{ "getuid", p_getuid },
	{ "setuid", p_setuid },
	{ "execve", p_execve },
	{ "mount", p_mount },
	{ "ptrace", p_ptrace },
	{ "tgkill-self", p_tgkill_self },
	{ "tgkill-other", p_tgkill_other },
	{ "pidfd_send_signal", p_pidfd_signal },
	{ "sendmsg", p_sendmsg },
	{ "keyctl", p_keyctl },
	{ "rename", p_rename },
	{ "fork", p_fork },
};

static void run(const struct probe *p)
{
	int st, err;
	pid_t c = fork();

	if (c < 0) {
		perror("fork");
		exit(2);
	}
	if (c == 0) {
		if ((err = install_filter()) < 0) {
			fprintf(stderr, "installing the filter: %s\n", strerror(-err));
			_exit(2);
		}
		errno = 0;
		_exit(p->fn() >= 0 ? 0 : errno == EPERM ? 3 : errno == EACCES ? 5 : 4);
	}
	if (waitpid(c, &st, 0) != c) {
		perror("waitpid");
		exit(2);
	}
	if (WIFSIGNALED(st))
		printf("%s %s\n", p->name, WTERMSIG(st) == SIGSYS ? "killed" : "signal");
	else if (WEXITSTATUS(st) == 0)
		printf("%s allowed\n", p->name);
	else if (WEXITSTATUS(st) == 3)
		printf("%s refused EPERM\n", p->name);
	else if (WEXITSTATUS(st) == 5)
		printf("%s refused EACCES\n", p->name);
	else if (WEXITSTATUS(st) == 4)
		printf("%s failed\n", p->name);
	else
		exit(2);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	size_t i;
	if (argc == 3 && !strcmp(argv[2], "keeper"))
		install_filter = mh_seccomp_install_keeper;
	else if (argc == 3 && !strcmp(argv[2], "relay"))
		install_filter = mh_seccomp_install_relay;
	else if (argc != 2) {
		fprintf(stderr, "usage: seccompcheck DIR [keeper|relay]\n");
		return 2;
	}
	char path[4200];
	int fd;

	dir = argv[1];
	parent = getpid();
	snprintf(path, sizeof(path), "%s/existing", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	close(fd);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0) {
		perror("socketpair");
		return 2;
	}
	printf("build %s\n", mh_seccomp_sanitized() ? "sanitized" : "normal");
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		run(&probes[i]);
	return 0;
}
