/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mhannounce: a direct control-socket client for the local-abuse tests. It
 * sends one announcement with whatever port, pid and key it is given (no
 * mosh-server involved) and prints the daemon's status and reason.
 * --squat: the port squatter of issue 11: binds PORT on ADDR itself,
 * announces it with its own pid, closes the socket ("released" once it is
 * closed) and stays alive SECONDS (at most 600), holding only the session.
 * --crowd: the socket-list attacker of a security read (session 13): a
 * child binds AHEAD sockets of its own on PORT at loopback addresses (another
 * user's mosh-server bound to one address leaves the port free on the
 * others), each new one ahead of the victim's in the kernel's list, and
 * for SECONDS closes the CHURN newest and binds them again on fresh
 * addresses; meanwhile the parent announces PORT again and again (at most
 * 20,000 times), each of which has the daemon check that the port's
 * session still holds its socket. A check misled by a socket list read in
 * parts while it changed would end the victim's session.
 * --hold: a user's socket on ADDR:PORT (or on COUNT ports from PORT; bound
 * to DEVICE too if given), announced by nobody, held SECONDS (at most
 * 600): another user's port,
 * which the crowd must not be allowed to announce as its own; or, on a
 * loopback address, a squat that must not get other users refused.
 * --pile: COUNT sockets on PORT at 127.0.0.2 on, announced by nobody,
 * held SECONDS: a port crowded by another user before its mosh-server
 * binds it, so that its announcement takes the crowded check.
 * --serve: a stand-in mosh-server for the pidfd tests: binds PORT on ADDR,
 * announces it with its own pid, keeps the socket and stays SECONDS (at
 * most 600); it prints its pid first, and SIGUSR1 closes the socket
 * ("released"). With --late it connects to the control socket first
 * ("connected") and binds and announces only at SIGUSR1 ("sent" as soon
 * as the announcement is out): a test can stop the daemon in between.
 * --pidfd: the owner of PORT's session asks for its end (a kill request);
 * a pidfd the daemon passes instead of signalling is held SECONDS (at
 * most 600), unused ("holding pidfd"), as a slow mosh-helperctl would.
 * Exit: 0 accepted, 1 refused, 2 usage or transport error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"

#define MA_TIMEOUT_MS 5000

static void usage(void)
{
	fprintf(stderr, "usage: mhannounce SOCKET PORT PID KEY [SSH_CONNECTION]\n"
			"       mhannounce --squat SOCKET PORT KEY ADDR SECONDS "
			"[SSH_CONNECTION]\n"
			"       mhannounce --crowd SOCKET PORT AHEAD CHURN SECONDS\n"
			"       mhannounce --hold ADDR PORT SECONDS [COUNT [DEVICE]]\n"
			"       mhannounce --pile PORT SECONDS COUNT\n"
			"       mhannounce --serve SOCKET PORT KEY ADDR SECONDS [--late]\n"
			"       mhannounce --pidfd SOCKET PORT SECONDS\n");
	exit(2);
}

static long parse_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 0 || v > max)
		usage();
	return v;
}

static int connect_ctl(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Send the announcement; 0 or -errno. */
static int send_announce(int fd, const struct mhc_announce *a)
{
	uint8_t buf[MHC_MAX_MSG];
	ssize_t n = mhc_encode_announce(a, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	return send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -errno;
}

/* Wait for one reply, and the descriptor passed with it (-1 if none:
 * pidfd may be NULL); 0 or -errno. */
static int await_reply(int fd, struct mhc_msg *r, int *pidfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t buf[MHC_MAX_MSG];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct cmsghdr *c;
	const char *why = NULL;
	ssize_t n;

	if (poll(&pfd, 1, MA_TIMEOUT_MS) <= 0)
		return -ETIMEDOUT;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	c = CMSG_FIRSTHDR(&mh);
	if (pidfd)
		*pidfd = -1;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int))) {
		int passed;

		memcpy(&passed, CMSG_DATA(c), sizeof(int));
		if (pidfd)
			*pidfd = passed;
		else
			close(passed);
	}
	if (mhc_decode(buf, (size_t)n, r, &why) < 0 || r->type != MHC_REPLY) {
		fprintf(stderr, "mhannounce: bad reply: %s\n", why ? why : "not a reply");
		return -EPROTO;
	}
	return 0;
}

/* Send the announcement, wait for one reply; 0 or -errno. */
static int exchange(int fd, const struct mhc_announce *a, struct mhc_msg *r)
{
	int err = send_announce(fd, a);

	return err ? err : await_reply(fd, r, NULL);
}

/* A UDP socket bound to addr:port (IPv6 takes IPv4 too, as the host's
 * default has it), and to device dev unless NULL; the descriptor or
 * -errno. */
static int bind_udp_dev(const char *addr, uint16_t port, const char *dev)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	bool v6 = strchr(addr, ':') != NULL;
	int fd, ok;

	ok = v6 ? inet_pton(AF_INET6, addr, &s6.sin6_addr)
		: inet_pton(AF_INET, addr, &s4.sin_addr);
	if (ok != 1)
		usage();
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev,
			       (socklen_t)strlen(dev)) < 0) ||
	    (v6 ? bind(fd, (struct sockaddr *)&s6, sizeof(s6))
		: bind(fd, (struct sockaddr *)&s4, sizeof(s4))) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* bind_udp_dev, or the error on stderr and exit status 2 */
static int bind_or_exit(const char *addr, uint16_t port, const char *dev)
{
	int fd = bind_udp_dev(addr, port, dev);

	if (fd < 0) {
		fprintf(stderr, "mhannounce: bind %s port %u: %s\n", addr, port,
			strerror(-fd));
		fflush(stdout);
		_exit(2);
	}
	return fd;
}

/* stays alive SECONDS, whatever signal interrupts the sleep */
static void linger(unsigned seconds)
{
	while (seconds)
		seconds = sleep(seconds);
}

static int squat(int argc, char **argv)
{
	struct mhc_announce a = { 0 };
	struct mhc_msg r;
	unsigned seconds;
	int fd, udp, err;

	if (argc < 7 || argc > 8)
		usage();
	a.port = (uint16_t)parse_num(argv[3], 65535);
	a.pid = (uint32_t)getpid();
	snprintf(a.key, sizeof(a.key), "%s", argv[4]);
	seconds = (unsigned)parse_num(argv[6], 600);
	if (argc == 8)
		snprintf(a.ssh_connection, sizeof(a.ssh_connection), "%s", argv[7]);
	udp = bind_or_exit(argv[5], a.port, NULL);
	fd = connect_ctl(argv[2]);
	if (fd < 0) {
		fprintf(stderr, "mhannounce: %s: %s\n", argv[2], strerror(-fd));
		return 2;
	}
	err = exchange(fd, &a, &r);
	close(fd);
	close(udp);
	if (err < 0) {
		fprintf(stderr, "mhannounce: %s\n", strerror(-err));
		return 2;
	}
	printf("%s %s\nreleased port %u, pid %d stays\n",
	       mhc_status_name(r.u.reply.status), r.u.reply.reason, a.port,
	       (int)getpid());
	fflush(stdout);
	linger(seconds);
	return r.u.reply.status == MHC_OK ? 0 : 1;
}

static int hold(int argc, char **argv)
{
	unsigned seconds, count = 1;
	uint16_t port;

	if (argc < 5 || argc > 7)
		usage();
	port = (uint16_t)parse_num(argv[3], 65535);
	seconds = (unsigned)parse_num(argv[4], 600);
	if (argc >= 6)
		count = (unsigned)parse_num(argv[5], 1000);
	if (!count || port + count - 1 > 65535)
		usage();
	for (unsigned i = 0; i < count; i++)   /* left open until exit */
		bind_or_exit(argv[2], (uint16_t)(port + i), argc == 7 ? argv[6] : NULL);
	printf("holding %s port %u%s\n", argv[2], port, count > 1 ? " on" : "");
	fflush(stdout);
	linger(seconds);
	return 0;
}

#define CROWD_MAX      4000
#define CROWD_ANNOUNCE 20000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* the i-th loopback address from base (127.x.y.z; i below 2^16) */
static void lo_addr(char *out, size_t len, uint32_t base, uint32_t i)
{
	uint32_t a = base + i;

	snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff);
}

/* the child: AHEAD sockets on port (127.0.0.2 on, the CHURN newest from
 * 127.1.0.0 on), the CHURN newest rebound on the next addresses of
 * 127.1/16 until end (an address comes round again long after its socket
 * closed) */
static _Noreturn void crowd_child(uint16_t port, unsigned ahead, unsigned churn,
				  uint64_t end)
{
	static int fds[CROWD_MAX];
	uint32_t next = 0;
	char addr[32];

	for (unsigned i = 0; i < ahead; i++) {
		if (i < ahead - churn)
			lo_addr(addr, sizeof(addr), 0x7f000002, i);
		else
			lo_addr(addr, sizeof(addr), 0x7f010000, next++);
		fds[i] = bind_or_exit(addr, port, NULL);
	}
	printf("bound %u sockets on port %u ahead\n", ahead, port);
	fflush(stdout);
	while (now_ms() < end) {
		for (unsigned i = ahead - churn; i < ahead; i++)
			close(fds[i]);
		for (unsigned i = ahead - churn; i < ahead; i++) {
			next = (next + 1) & 0xffff;
			lo_addr(addr, sizeof(addr), 0x7f010000, next);
			fds[i] = bind_or_exit(addr, port, NULL);
		}
	}
	_exit(0);
}

static int pile(int argc, char **argv)
{
	unsigned seconds, count;
	uint16_t port;
	char addr[32];

	if (argc != 5)
		usage();
	port = (uint16_t)parse_num(argv[2], 65535);
	seconds = (unsigned)parse_num(argv[3], 600);
	count = (unsigned)parse_num(argv[4], CROWD_MAX);
	if (!count)
		usage();
	for (unsigned i = 0; i < count; i++) {   /* left open until exit */
		lo_addr(addr, sizeof(addr), 0x7f000002, i);
		bind_or_exit(addr, port, NULL);
	}
	printf("piled %u sockets on port %u\n", count, port);
	fflush(stdout);
	linger(seconds);
	return 0;
}

static int crowd(int argc, char **argv)
{
	struct mhc_announce a = { 0 };
	unsigned ahead, churn, n = 0, counts[256] = { 0 };
	uint64_t end;
	struct mhc_msg r;
	int st, fd, err;
	pid_t child;

	if (argc != 7)
		usage();
	a.port = (uint16_t)parse_num(argv[3], 65535);
	ahead = (unsigned)parse_num(argv[4], CROWD_MAX);
	churn = (unsigned)parse_num(argv[5], ahead < 1000 ? ahead : 1000);
	end = now_ms() + (uint64_t)parse_num(argv[6], 60) * 1000;
	if (!ahead || !churn)
		usage();
	a.pid = (uint32_t)getpid();
	snprintf(a.key, sizeof(a.key), "%s", "AAAAAAAAAAAAAAAAAAAAAA");
	fflush(stdout);
	child = fork();
	if (child < 0)
		return 2;
	if (child == 0)
		crowd_child(a.port, ahead, churn, end);
	while (now_ms() < end && n < CROWD_ANNOUNCE) {
		if (waitpid(child, &st, WNOHANG) == child) {
			fprintf(stderr, "mhannounce: the crowd ended early (status %d)\n", st);
			return 2;
		}
		fd = connect_ctl(argv[2]);
		if (fd < 0) {
			fprintf(stderr, "mhannounce: %s: %s\n", argv[2], strerror(-fd));
			break;
		}
		err = exchange(fd, &a, &r);
		close(fd);
		if (err < 0) {
			fprintf(stderr, "mhannounce: %s\n", strerror(-err));
			break;
		}
		counts[r.u.reply.status & 0xff]++;
		n++;
	}
	kill(child, SIGTERM);
	waitpid(child, &st, 0);
	printf("announced %u times:", n);
	for (unsigned i = 0; i < 256; i++)
		if (counts[i])
			printf(" %s %u", mhc_status_name((uint8_t)i), counts[i]);
	printf("\n");
	return n ? 0 : 2;
}

/* --serve's SIGUSR1 (blocked from the start: one sent early waits),
 * waited for until *left seconds have passed; false once they have. */
static bool wait_usr1(unsigned *left)
{
	struct timespec ts = { .tv_sec = *left };
	uint64_t t0 = now_ms(), spent;
	sigset_t set;
	bool got;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	got = sigtimedwait(&set, NULL, &ts) == SIGUSR1;
	spent = (now_ms() - t0) / 1000;
	*left = spent >= *left ? 0 : *left - (unsigned)spent;
	return got;
}

static int serve(int argc, char **argv)
{
	struct mhc_announce a = { 0 };
	bool late = argc == 8 && !strcmp(argv[7], "--late");
	unsigned seconds;
	struct mhc_msg r;
	sigset_t set;
	int fd = -1, udp, err;

	if (argc != 7 && !late)
		usage();
	a.port = (uint16_t)parse_num(argv[3], 65535);
	a.pid = (uint32_t)getpid();
	snprintf(a.key, sizeof(a.key), "%s", argv[4]);
	seconds = (unsigned)parse_num(argv[6], 600);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	if (late) {
		fd = connect_ctl(argv[2]);
		if (fd < 0) {
			fprintf(stderr, "mhannounce: %s: %s\n", argv[2], strerror(-fd));
			return 2;
		}
		printf("connected\n");
		fflush(stdout);
		if (!wait_usr1(&seconds))
			return 2;
	}
	udp = bind_or_exit(argv[5], a.port, NULL);
	if (!late && (fd = connect_ctl(argv[2])) < 0) {
		fprintf(stderr, "mhannounce: %s: %s\n", argv[2], strerror(-fd));
		return 2;
	}
	err = send_announce(fd, &a);
	if (!err) {
		printf("sent\n");
		fflush(stdout);
		err = await_reply(fd, &r, NULL);
	}
	close(fd);
	if (err < 0) {
		fprintf(stderr, "mhannounce: %s\n", strerror(-err));
		return 2;
	}
	printf("%s %s\n", mhc_status_name(r.u.reply.status), r.u.reply.reason);
	fflush(stdout);
	if (wait_usr1(&seconds)) {
		close(udp);
		printf("released port %u, pid %d stays\n", a.port, (int)getpid());
		fflush(stdout);
		linger(seconds);
	}
	return r.u.reply.status == MHC_OK ? 0 : 1;
}

static int hold_pidfd(int argc, char **argv)
{
	uint8_t req[MHC_MAX_MSG];
	unsigned seconds;
	struct mhc_msg r;
	ssize_t n;
	int fd, pidfd, err;

	if (argc != 5)
		usage();
	n = mhc_encode_kill((uint16_t)parse_num(argv[3], 65535), req, sizeof(req));
	seconds = (unsigned)parse_num(argv[4], 600);
	fd = connect_ctl(argv[2]);
	if (fd < 0 || n < 0) {
		fprintf(stderr, "mhannounce: %s: %s\n", argv[2],
			strerror(fd < 0 ? -fd : (int)-n));
		return 2;
	}
	err = send(fd, req, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -errno;
	if (!err)
		err = await_reply(fd, &r, &pidfd);
	close(fd);
	if (err < 0) {
		fprintf(stderr, "mhannounce: %s\n", strerror(-err));
		return 2;
	}
	printf("%s %s\n%s\n", mhc_status_name(r.u.reply.status), r.u.reply.reason,
	       pidfd >= 0 ? "holding pidfd" : "no pidfd");
	fflush(stdout);
	while (pidfd >= 0 && seconds)
		seconds = sleep(seconds);
	return pidfd >= 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct mhc_announce a = { 0 };
	struct mhc_msg r;
	int fd, err;

	if (argc > 1 && !strcmp(argv[1], "--squat"))
		return squat(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--crowd"))
		return crowd(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--pile"))
		return pile(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--hold"))
		return hold(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--serve"))
		return serve(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--pidfd"))
		return hold_pidfd(argc, argv);
	if (argc < 5 || argc > 6)
		usage();
	a.port = (uint16_t)parse_num(argv[2], 65535);
	a.pid = (uint32_t)parse_num(argv[3], 0x7fffffffL);
	snprintf(a.key, sizeof(a.key), "%s", argv[4]);
	if (argc == 6)
		snprintf(a.ssh_connection, sizeof(a.ssh_connection), "%s", argv[5]);
	fd = connect_ctl(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "mhannounce: %s: %s\n", argv[1], strerror(-fd));
		return 2;
	}
	err = exchange(fd, &a, &r);
	close(fd);
	if (err < 0) {
		fprintf(stderr, "mhannounce: %s\n", strerror(-err));
		return 2;
	}
	printf("%s %s\n", mhc_status_name(r.u.reply.status), r.u.reply.reason);
	return r.u.reply.status == MHC_OK ? 0 : 1;
}
