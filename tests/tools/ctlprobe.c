/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ctlprobe: a hostile local client of the control socket, for the
 * hostile-client tests. `idle` holds many connections that never send
 * anything (optionally reopening each one the daemon closes) and reports
 * when the daemon cut them off; `raw` sends one crafted, malformed message
 * and prints the daemon's answer. Bounded in count and time.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "tooling.h"

#define CP_MAX_CONNS    1000
#define CP_MAX_SECONDS  120
#define CP_MAX_OPENS    2000000  /* connections opened by one idle run */
#define CP_REPLY_MS     5000
#define CP_HUGE         100000   /* bytes of the largest crafted message */
#define CP_QUICK_MS     1000     /* closed sooner than this: not a timeout */

static void usage(void)
{
	fprintf(stderr,
		"usage: ctlprobe SOCKET idle N SECONDS [--reconnect]\n"
		"       ctlprobe SOCKET raw KIND\n"
		"kinds: empty short oversized huge truncated badlen badversion badtype\n"
		"       reply badkey shortkey badssh trailing garbage valid\n"
		"limits: N <= %d, SECONDS <= %d, %d connections per run\n",
		CP_MAX_CONNS, CP_MAX_SECONDS, CP_MAX_OPENS);
	exit(2);
}

/* A connected control socket (non-blocking), or -errno; -EAGAIN when the
 * daemon's listen backlog is full. */
static int open_conn(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno == EINPROGRESS ? -EAGAIN : -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* --- idle --- */

struct idle_stats {
	unsigned opened, backlog_full, cut, cut_quick;
	uint64_t cut_min, cut_max;
};

static void note_cut(struct idle_stats *st, uint64_t held_ms)
{
	if (!st->cut || held_ms < st->cut_min)
		st->cut_min = held_ms;
	if (held_ms > st->cut_max)
		st->cut_max = held_ms;
	st->cut++;
	st->cut_quick += held_ms < CP_QUICK_MS;
}

/* A slot's connection: never opened, open, or closed by the daemon (and
 * then reopened only with --reconnect). */
enum slot_state { SLOT_NEW, SLOT_OPEN, SLOT_REOPEN, SLOT_DONE };

/* Open every slot that wants a connection; false once the run's budget is
 * spent. */
static bool idle_fill(const char *path, struct pollfd *pfd, uint64_t *since,
		      uint8_t *state, unsigned n, struct idle_stats *st)
{
	for (unsigned i = 0; i < n; i++) {
		int fd;

		if (state[i] != SLOT_NEW && state[i] != SLOT_REOPEN)
			continue;
		if (st->opened >= CP_MAX_OPENS)
			return false;
		fd = open_conn(path);
		if (fd == -EAGAIN) {
			st->backlog_full++;
			return true;
		}
		if (fd < 0) {
			fprintf(stderr, "ctlprobe: connect: %s\n", strerror(-fd));
			return false;
		}
		pfd[i].fd = fd;
		since[i] = tool_now_ms();
		state[i] = SLOT_OPEN;
		st->opened++;
	}
	return true;
}

static void idle_poll(struct pollfd *pfd, const uint64_t *since,
		      uint8_t *state, unsigned n, bool reconnect,
		      struct idle_stats *st)
{
	char c;

	poll(pfd, n, 10);
	for (unsigned i = 0; i < n; i++) {
		if (pfd[i].fd < 0 || !pfd[i].revents)
			continue;
		if (recv(pfd[i].fd, &c, 1, MSG_DONTWAIT) > 0)
			continue;     /* the daemon never sends unasked */
		note_cut(st, tool_now_ms() - since[i]);
		close(pfd[i].fd);
		pfd[i].fd = -1;
		state[i] = reconnect ? SLOT_REOPEN : SLOT_DONE;
	}
}

static int cmd_idle(const char *path, int argc, char **argv)
{
	struct pollfd pfd[CP_MAX_CONNS];
	uint64_t since[CP_MAX_CONNS] = { 0 }, end;
	uint8_t state[CP_MAX_CONNS] = { 0 };   /* SLOT_NEW */
	struct idle_stats st = { 0 };
	unsigned n, open_now = 0, i;
	bool reconnect, ready = false, more = true;
	struct rlimit rl;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--reconnect")))
		usage();
	n = (unsigned)tool_num(argv[0], 0, CP_MAX_CONNS, usage);
	end = tool_now_ms() + (uint64_t)tool_num(argv[1], 0, CP_MAX_SECONDS, usage) * 1000;
	reconnect = argc == 3;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 16) {
		rl.rlim_cur = rl.rlim_max < n + 16 ? rl.rlim_max : n + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
	while (!tool_stop && tool_now_ms() < end) {
		if (more)
			more = idle_fill(path, pfd, since, state, n, &st);
		if (!ready && (st.opened >= n || !more)) {
			printf("ready: %u connections open\n", st.opened);
			fflush(stdout);
			ready = true;
		}
		idle_poll(pfd, since, state, n, reconnect, &st);
	}
	for (i = 0; i < n; i++)
		if (pfd[i].fd >= 0) {
			open_now++;
			close(pfd[i].fd);
		}
	printf("idle: opened %u connections (%u at once, reconnect %s), backlog full %u times\n",
	       st.opened, n, reconnect ? "on" : "off", st.backlog_full);
	printf("cut_off %u: within %d ms %u, later %u (held min %llu ms, max %llu ms)\n",
	       st.cut, CP_QUICK_MS, st.cut_quick, st.cut - st.cut_quick,
	       (unsigned long long)st.cut_min, (unsigned long long)st.cut_max);
	printf("still_open %u\n", open_now);
	return 0;
}

/* --- raw --- */

static void random_key(char out[SSP_KEY_B64_LEN + 1])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[SSP_KEY_B64_LEN];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		exit(2);
	for (int i = 0; i < SSP_KEY_B64_LEN; i++)
		out[i] = b64[r[i] % 64];
	out[SSP_KEY_B64_LEN - 1] = 'A';   /* canonical: low bits zero */
	out[SSP_KEY_B64_LEN] = '\0';
}

/* A valid announcement (port 60000, our pid) to mutate. */
static size_t valid_announce(uint8_t *buf, size_t cap)
{
	struct mhc_announce a = { .port = 60000, .pid = (uint32_t)getpid() };
	ssize_t n;

	random_key(a.key);
	snprintf(a.ssh_connection, sizeof(a.ssh_connection),
		 "198.18.3.10 50000 198.18.0.2 22");
	n = mhc_encode_announce(&a, buf, cap);
	if (n < 0)
		exit(2);
	return (size_t)n;
}

static void set_body_len(uint8_t *buf, size_t body)
{
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
}

/* Offsets in an encoded announcement's body (after the 4-byte header). */
#define OFF_KEYLEN  (MHC_HEADER_LEN + 6)
#define OFF_KEY     (OFF_KEYLEN + 1)
#define OFF_SSHLEN  (OFF_KEY + SSP_KEY_B64_LEN)
#define OFF_SSH     (OFF_SSHLEN + 1)

/* Builds the crafted message KIND into buf; its length, or 0 if unknown. */
static size_t craft(const char *kind, uint8_t *buf, size_t cap)
{
	size_t n = valid_announce(buf, cap);

	if (!strcmp(kind, "valid"))
		return n;                         /* well-formed (a gateway refuses it) */
	if (!strcmp(kind, "empty"))
		return 0;                         /* a zero-length record */
	if (!strcmp(kind, "short"))
		return 2;
	if (!strcmp(kind, "oversized") || !strcmp(kind, "huge")) {
		size_t len = kind[0] == 'o' ? 2 * MHC_MAX_MSG : CP_HUGE;

		memset(buf + n, 'A', len - n);
		set_body_len(buf, (len - MHC_HEADER_LEN) & 0xffff);
		return len;
	}
	if (!strcmp(kind, "truncated"))
		return n - 10;                    /* header still claims the whole body */
	if (!strcmp(kind, "badlen")) {
		set_body_len(buf, n - MHC_HEADER_LEN - 3);
		return n;
	}
	if (!strcmp(kind, "badversion")) {
		buf[0] = MHC_VERSION + 1;
		return n;
	}
	if (!strcmp(kind, "badtype")) {
		buf[1] = MHC_STATUS_REPLY + 1;   /* the first unknown type */
		return n;
	}
	if (!strcmp(kind, "reply")) {
		ssize_t r = mhc_encode_reply(MHC_OK, "I am the daemon", buf, cap);

		return r > 0 ? (size_t)r : 0;
	}
	if (!strcmp(kind, "badkey")) {
		memset(buf + OFF_KEY, '*', SSP_KEY_B64_LEN);
		return n;
	}
	if (!strcmp(kind, "shortkey")) {  /* key field says 10 bytes */
		buf[OFF_KEYLEN] = 10;
		return n;
	}
	if (!strcmp(kind, "badssh")) {
		buf[OFF_SSH + 3] = '\n';
		return n;
	}
	if (!strcmp(kind, "trailing")) {
		memcpy(buf + n, "XXXXX", 5);
		set_body_len(buf, n + 5 - MHC_HEADER_LEN);
		return n + 5;
	}
	if (!strcmp(kind, "garbage")) {
		if (getrandom(buf, 300, 0) != 300)
			exit(2);
		buf[0] = MHC_VERSION;   /* get past the version check */
		return 300;
	}
	return (size_t)-1;
}

static int cmd_raw(const char *path, int argc, char **argv)
{
	static uint8_t buf[CP_HUGE];
	uint8_t rbuf[MHC_MAX_MSG + 1];
	struct pollfd pfd;
	const char *why = NULL;
	struct mhc_msg m;
	size_t len;
	ssize_t n;
	int fd;

	if (argc != 1)
		usage();
	len = craft(argv[0], buf, sizeof(buf));
	if (len == (size_t)-1)
		usage();
	fd = open_conn(path);
	if (fd < 0) {
		fprintf(stderr, "ctlprobe: connect: %s\n", strerror(-fd));
		return 2;
	}
	if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "ctlprobe: send %zu bytes: %s\n", len, strerror(errno));
		close(fd);
		return 2;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, CP_REPLY_MS) <= 0) {
		printf("timeout\n");
		close(fd);
		return 2;
	}
	n = recv(fd, rbuf, sizeof(rbuf), 0);
	close(fd);
	if (n <= 0) {
		printf("closed without a reply\n");
		return 1;
	}
	if (mhc_decode(rbuf, (size_t)n, &m, &why) < 0 || m.type != MHC_REPLY) {
		printf("bad reply: %s\n", why ? why : "not a reply");
		return 2;
	}
	printf("%s %s\n", mhc_status_name(m.u.reply.status), m.u.reply.reason);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tool_catch_stop();
	signal(SIGPIPE, SIG_IGN);
	if (argc < 3)
		usage();
	if (!strcmp(argv[2], "idle"))
		return cmd_idle(argv[1], argc - 3, argv + 3);
	if (!strcmp(argv[2], "raw"))
		return cmd_raw(argv[1], argc - 3, argv + 3);
	usage();
}
