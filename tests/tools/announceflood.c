/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * announceflood: a local user's flood of requests the daemon must refuse,
 * for the log-flood test. COUNT requests, as fast as the daemon answers them
 * over up to INFLIGHT connections, cycling through four refusals: a port
 * outside the range, a malformed key, a port the caller does not own, and
 * bytes that are no request at all. Bounded in count and time; SIGTERM
 * stops the sending early, and the requests in flight are still waited for
 * (so "answered" is every request the daemon handled).
 * Prints "progress A" (answered so far) every 200 ms, and at the end
 * "sent N answered A refused R accepted X no_answer U ms T".
 * Exit: 0 every request answered and none accepted, 1 otherwise, 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "tooling.h"

#define AF_MAX_COUNT    100000
#define AF_MAX_SECONDS  120
#define AF_MAX_INFLIGHT 48      /* below the daemon's 64 connection slots */
#define AF_REPLY_MS     5000
#define FLOOD_KEY          "4NeCCgvZFe2RnPgrcU1PQw"

struct af_counts { unsigned sent, answered, refused, accepted, lost; };

struct af_slot {
	int fd;                 /* -1: free */
	uint64_t t0_ms;
};

static void usage(void)
{
	fprintf(stderr, "usage: announceflood SOCKET COUNT MAX_SECONDS [INFLIGHT]\n"
		"limits: COUNT <= %d, MAX_SECONDS <= %d, INFLIGHT <= %d\n",
		AF_MAX_COUNT, AF_MAX_SECONDS, AF_MAX_INFLIGHT);
	exit(2);
}

/* Request number i: one of the four refusals. */
static ssize_t encode(unsigned i, uint8_t *buf, size_t cap)
{
	struct mhc_announce a = { .port = 60999, .pid = (uint32_t)getpid() };

	snprintf(a.key, sizeof(a.key), "%s", FLOOD_KEY);
	snprintf(a.ssh_connection, sizeof(a.ssh_connection),
		 "198.18.2.2 50000 198.18.0.2 22");
	switch (i % 4) {
	case 0:
		a.port = 1000;                         /* outside the range */
		break;
	case 1:
		a.key[SSP_KEY_B64_LEN - 1] = 'x';      /* not canonical */
		break;
	case 2:
		break;                                 /* a port not bound */
	default:
		memset(buf, 0xee, 16);                 /* no request at all */
		return 16;
	}
	return mhc_encode_announce(&a, buf, cap);
}

static int start_one(const char *path, unsigned i)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint8_t buf[MHC_MAX_MSG];
	ssize_t n = encode(i, buf, sizeof(buf));
	int fd;

	if (n < 0)
		return (int)n;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
		int err = errno == EINPROGRESS ? -EAGAIN : -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void read_reply(struct af_slot *sl, struct af_counts *c)
{
	uint8_t buf[MHC_MAX_MSG + 1];
	const char *why = NULL;
	struct mhc_msg m;
	ssize_t n = recv(sl->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && mhc_decode(buf, (size_t)n, &m, &why) == 0 &&
	    m.type == MHC_REPLY) {
		c->answered++;
		if (m.u.reply.status == MHC_OK)
			c->accepted++;
		else
			c->refused++;
	} else {
		c->lost++;
	}
	close(sl->fd);
	sl->fd = -1;
}

/* Fills the free slots; false when the daemon's backlog is full. */
static bool fill(const char *path, struct af_slot *slots, unsigned inflight,
		 unsigned count, struct af_counts *c)
{
	unsigned s;
	int fd;

	for (s = 0; s < inflight && c->sent < count && !tool_stop; s++) {
		if (slots[s].fd >= 0)
			continue;
		fd = start_one(path, c->sent);
		if (fd == -EAGAIN)
			return false;
		c->sent++;
		if (fd < 0) {
			c->lost++;
			continue;
		}
		slots[s] = (struct af_slot){ fd, tool_now_ms() };
	}
	return true;
}

static void poll_slots(struct af_slot *slots, unsigned inflight,
		       struct af_counts *c)
{
	struct pollfd pfd[AF_MAX_INFLIGHT];
	unsigned s;

	for (s = 0; s < inflight; s++)
		pfd[s] = (struct pollfd){ .fd = slots[s].fd, .events = POLLIN };
	poll(pfd, inflight, 5);
	for (s = 0; s < inflight; s++) {
		if (slots[s].fd < 0)
			continue;
		if (pfd[s].revents) {
			read_reply(&slots[s], c);
		} else if (tool_now_ms() - slots[s].t0_ms > AF_REPLY_MS) {
			close(slots[s].fd);
			slots[s].fd = -1;
			c->lost++;
		}
	}
}

int main(int argc, char **argv)
{
	struct af_slot slots[AF_MAX_INFLIGHT];
	struct af_counts c = { 0 };
	unsigned count, inflight = 32, s, busy;
	uint64_t t0, end, next_progress = 0;

	if (argc < 4 || argc > 5)
		usage();
	count = (unsigned)tool_num(argv[2], 1, AF_MAX_COUNT, usage);
	end = (t0 = tool_now_ms()) + 1000 * tool_num(argv[3], 1, AF_MAX_SECONDS, usage);
	if (argc == 5)
		inflight = (unsigned)tool_num(argv[4], 1, AF_MAX_INFLIGHT, usage);
	tool_catch_stop();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (s = 0; s < inflight; s++)
		slots[s].fd = -1;
	do {
		fill(argv[1], slots, inflight, count, &c);
		for (busy = 0, s = 0; s < inflight; s++)
			busy += slots[s].fd >= 0;
		if (!busy && (c.sent >= count || tool_stop))
			break;
		poll_slots(slots, inflight, &c);
		if (tool_now_ms() >= next_progress) {
			printf("progress %u\n", c.answered);
			next_progress = tool_now_ms() + 200;
		}
	} while (tool_now_ms() < end);
	for (s = 0; s < inflight; s++)
		if (slots[s].fd >= 0) {
			close(slots[s].fd);
			c.lost++;
		}
	printf("sent %u answered %u refused %u accepted %u no_answer %u ms %llu\n",
	       c.sent, c.answered, c.refused, c.accepted, c.lost,
	       (unsigned long long)(tool_now_ms() - t0));
	return c.answered == c.sent && !c.accepted ? 0 : 1;
}
