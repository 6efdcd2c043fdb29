/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pidfd_shim: pidfd_open() for mosh-helperd under valgrind 3.19 (Debian
 * 12's), which does not know that system call (434) and fails it with
 * ENOSYS, so no session could start. Preloaded by tests/integration/lib.sh
 * for the daemon under MH_VALGRIND=1 only. Where the kernel call works it
 * is used as is; otherwise the caller gets an eventfd that a watcher thread
 * makes readable once the process has exited (a zombie counts as exited,
 * as for a pidfd; /proc/PID/stat is read every 20 ms, its start time
 * guarding against a reused pid). close() is wrapped so the thread never
 * writes to a descriptor number the caller has given back.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define SHIM_POLL_US 20000

struct watch {
	pid_t pid;
	int fd;
	unsigned long long start;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *watches;
static size_t n_watches, cap_watches;
static bool watcher_running, no_pidfd;
static int (*real_close)(int);

/* The process's start time (field 22 of /proc/PID/stat) and whether it has
 * exited (a zombie); -ESRCH if it is gone, another -errno if the file
 * cannot be read now (out of descriptors, say: try again later). */
static int proc_state(pid_t pid, unsigned long long *start, bool *exited)
{
	char path[64], buf[1024], state;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	real_close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')');   /* the command name may hold anything */
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*d %*d %*d %*d %llu", &state, start) != 2)
		return -ESRCH;
	*exited = state == 'Z' || state == 'X';
	return 0;
}

static bool has_exited(const struct watch *w)
{
	unsigned long long start;
	bool exited;
	int err = proc_state(w->pid, &start, &exited);

	if (err)
		return err == -ESRCH;
	return exited || start != w->start;
}

static void *watcher(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < n_watches;) {
			if (has_exited(&watches[i])) {
				eventfd_write(watches[i].fd, 1);
				watches[i] = watches[--n_watches];
			} else {
				i++;
			}
		}
		pthread_mutex_unlock(&lock);
		usleep(SHIM_POLL_US);
	}
	return NULL;
}

static int watch_add(pid_t pid, int fd, unsigned long long start)
{
	pthread_t t;

	if (n_watches == cap_watches) {
		size_t cap = cap_watches ? 2 * cap_watches : 64;
		struct watch *w = realloc(watches, cap * sizeof(*w));

		if (!w)
			return -ENOMEM;
		watches = w;
		cap_watches = cap;
	}
	watches[n_watches++] = (struct watch){ .pid = pid, .fd = fd, .start = start };
	if (!watcher_running && pthread_create(&t, NULL, watcher, NULL) == 0) {
		pthread_detach(t);
		watcher_running = true;
	}
	return watcher_running ? 0 : -EAGAIN;
}

static void resolve(void)
{
	if (!real_close)
		real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
}

int pidfd_open(pid_t pid, unsigned int flags)
{
	unsigned long long start;
	bool exited;
	int fd, err;

	resolve();
	if (!no_pidfd) {   /* valgrind warns at every try: once is enough */
		fd = (int)syscall(SYS_pidfd_open, pid, flags);
		if (fd >= 0 || errno != ENOSYS)
			return fd;
		no_pidfd = true;
	}
	err = pid > 0 ? proc_state(pid, &start, &exited) : -EINVAL;
	if (err) {
		errno = -err;
		return -1;
	}
	fd = eventfd(exited ? 1 : 0, EFD_CLOEXEC |
		     ((flags & O_NONBLOCK) ? EFD_NONBLOCK : 0));
	if (fd < 0 || exited)
		return fd;
	pthread_mutex_lock(&lock);
	err = watch_add(pid, fd, start);
	pthread_mutex_unlock(&lock);
	if (err) {
		real_close(fd);
		errno = -err;
		return -1;
	}
	return fd;
}

int close(int fd)
{
	resolve();
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_watches; i++)
		if (watches[i].fd == fd) {
			watches[i] = watches[--n_watches];
			break;
		}
	pthread_mutex_unlock(&lock);
	return real_close(fd);
}
