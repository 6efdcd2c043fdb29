/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * announceburst: many announcements at once, for the burst, quota and
 * hostile-client tests. One process binds COUNT UDP sockets on consecutive
 * ports and announces each of them with its own pid (which holds them all)
 * over up to INFLIGHT control connections at a time, recording every reply
 * and its latency. Bounded in count and time; prints a summary.
 * Exit: 0 every announcement answered, 1 some were not, 2 usage or set-up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ctlproto.h"
#include "tooling.h"

#define AB_MAX_COUNT     5000
#define AB_MAX_INFLIGHT  256
#define AB_REPLY_MS      10000    /* one announcement's answer */
#define AB_TOTAL_MS      120000   /* the whole burst */
#define AB_MAX_HOLD_S    600
#define AB_REASONS_SHOWN 8

enum ab_result { AB_PENDING, AB_ANSWERED, AB_CLOSED, AB_TIMEOUT, AB_BADREPLY };

struct ab_item {
	uint16_t port;
	int udp_fd;
	enum ab_result result;
	uint8_t status;
	char reason[MHC_REASON_MAX + 1];
	uint64_t latency_us;
};

struct ab_slot {
	int fd;              /* -1: free */
	unsigned item;
	uint64_t t0_us;
};

struct ab_opts {
	const char *sock, *bind_addr, *ssh, *replies;
	unsigned low, count, inflight, hold_s;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: announceburst SOCKET LOW COUNT [--inflight K] [--addr A]\n"
		"                     [--ssh SSH_CONNECTION] [--replies FILE] [--hold S]\n"
		"limits: COUNT <= %d, K <= %d, %d s per burst, hold <= %d s\n",
		AB_MAX_COUNT, AB_MAX_INFLIGHT, AB_TOTAL_MS / 1000, AB_MAX_HOLD_S);
	exit(2);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void parse_args(int argc, char **argv, struct ab_opts *o)
{
	int i;

	if (argc < 4)
		usage();
	o->sock = argv[1];
	o->low = (unsigned)tool_num(argv[2], 1, 65535, usage);
	o->count = (unsigned)tool_num(argv[3], 1, AB_MAX_COUNT, usage);
	o->inflight = 50;
	o->bind_addr = "0.0.0.0";
	o->ssh = "198.18.3.10 50000 198.18.0.2 22";
	for (i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--inflight"))
			o->inflight = (unsigned)tool_num(argv[++i], 1, AB_MAX_INFLIGHT, usage);
		else if (!strcmp(argv[i], "--addr"))
			o->bind_addr = argv[++i];
		else if (!strcmp(argv[i], "--ssh"))
			o->ssh = argv[++i];
		else if (!strcmp(argv[i], "--replies"))
			o->replies = argv[++i];
		else if (!strcmp(argv[i], "--hold"))
			o->hold_s = (unsigned)tool_num(argv[++i], 0, AB_MAX_HOLD_S, usage);
		else
			usage();
	}
	if (o->low + o->count - 1 > 65535)
		usage();
}

/* Room for every socket: the soft limit up to the hard one. */
static int raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	return rl.rlim_cur >= need ? 0 : -EMFILE;
}

static int bind_udp(const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A fresh, canonical 22-character key. */
static void random_key(char out[SSP_KEY_B64_LEN + 1])
{
	unsigned char raw[SSP_KEY_LEN], b64[32];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		perror("announceburst: getrandom");
		exit(2);
	}
	EVP_EncodeBlock(b64, raw, sizeof(raw));   /* 24 chars, "==" padded */
	memcpy(out, b64, SSP_KEY_B64_LEN);
	out[SSP_KEY_B64_LEN] = '\0';
}

static ssize_t encode(const struct ab_opts *o, const struct ab_item *it,
		      uint8_t *buf, size_t cap)
{
	struct mhc_announce a = { .port = it->port, .pid = (uint32_t)getpid() };

	random_key(a.key);
	snprintf(a.ssh_connection, sizeof(a.ssh_connection), "%s", o->ssh);
	return mhc_encode_announce(&a, buf, cap);
}

/* Connect and send one announcement: 0, -EAGAIN (try again later: the
 * listen backlog is full) or another -errno. */
static int start_one(const struct ab_opts *o, struct ab_slot *sl,
		     const struct ab_item *it)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint8_t buf[MHC_MAX_MSG];
	ssize_t n = encode(o, it, buf, sizeof(buf));
	int fd, err;

	if (n < 0)
		return (int)n;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", o->sock);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
		err = errno == EINPROGRESS ? -EAGAIN : -errno;
		close(fd);
		return err;
	}
	sl->fd = fd;
	return 0;
}

static void finish(struct ab_slot *sl, struct ab_item *it, enum ab_result r)
{
	it->result = r;
	it->latency_us = now_us() - sl->t0_us;
	close(sl->fd);
	sl->fd = -1;
}

static void read_reply(struct ab_slot *sl, struct ab_item *it)
{
	uint8_t buf[MHC_MAX_MSG + 1];
	const char *why = NULL;
	struct mhc_msg m;
	ssize_t n = recv(sl->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		finish(sl, it, AB_CLOSED);
		return;
	}
	if (mhc_decode(buf, (size_t)n, &m, &why) < 0 || m.type != MHC_REPLY) {
		snprintf(it->reason, sizeof(it->reason), "bad reply: %s",
			 why ? why : "not a reply");
		finish(sl, it, AB_BADREPLY);
		return;
	}
	it->status = m.u.reply.status;
	snprintf(it->reason, sizeof(it->reason), "%s", m.u.reply.reason);
	finish(sl, it, AB_ANSWERED);
}

/* Fill free slots from the next items; returns the next item to start. */
static unsigned fill_slots(const struct ab_opts *o, struct ab_slot *slots,
			   struct ab_item *items, unsigned next,
			   unsigned *backlog_full)
{
	unsigned s;
	int err;

	for (s = 0; s < o->inflight && next < o->count; s++) {
		if (slots[s].fd >= 0)
			continue;
		slots[s].item = next;
		slots[s].t0_us = now_us();
		err = start_one(o, &slots[s], &items[next]);
		if (err == -EAGAIN) {
			(*backlog_full)++;
			break;          /* the daemon is behind: poll, then retry */
		}
		if (err < 0) {
			snprintf(items[next].reason, sizeof(items[next].reason),
				 "connect/send: %s", strerror(-err));
			items[next].result = AB_CLOSED;
		}
		next++;
	}
	return next;
}

static void run_burst(const struct ab_opts *o, struct ab_item *items,
		      unsigned *backlog_full)
{
	struct ab_slot slots[AB_MAX_INFLIGHT];
	struct pollfd pfd[AB_MAX_INFLIGHT];
	uint64_t end = now_us() + (uint64_t)AB_TOTAL_MS * 1000;
	unsigned next = 0, s, busy;

	for (s = 0; s < o->inflight; s++)
		slots[s].fd = -1;
	do {
		next = fill_slots(o, slots, items, next, backlog_full);
		busy = 0;
		for (s = 0; s < o->inflight; s++) {
			pfd[s].fd = slots[s].fd;
			pfd[s].events = POLLIN;
			busy += slots[s].fd >= 0;
		}
		if (!busy && next >= o->count)
			break;
		poll(pfd, o->inflight, 5);
		for (s = 0; s < o->inflight; s++) {
			struct ab_item *it = &items[slots[s].item];

			if (slots[s].fd < 0)
				continue;
			if (pfd[s].revents)
				read_reply(&slots[s], it);
			else if (now_us() - slots[s].t0_us > AB_REPLY_MS * 1000ULL)
				finish(&slots[s], it, AB_TIMEOUT);
		}
	} while (now_us() < end && !tool_stop);
	for (s = 0; s < o->inflight; s++)
		if (slots[s].fd >= 0)
			finish(&slots[s], &items[slots[s].item], AB_TIMEOUT);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_latency(const struct ab_item *items, unsigned count)
{
	uint64_t *lat = calloc(count, sizeof(*lat));
	unsigned i, n = 0;

	if (!lat)
		return;
	for (i = 0; i < count; i++)
		if (items[i].result == AB_ANSWERED)
			lat[n++] = items[i].latency_us;
	if (n) {
		qsort(lat, n, sizeof(*lat), cmp_u64);
		printf("latency_ms min %.1f median %.1f p99 %.1f max %.1f\n",
		       lat[0] / 1e3, lat[n / 2] / 1e3, lat[(n * 99) / 100] / 1e3,
		       lat[n - 1] / 1e3);
	}
	free(lat);
}

/* One line per distinct refusal reason, with its count (first few). */
static void print_reasons(const struct ab_item *items, unsigned count)
{
	unsigned i, j, shown = 0;

	for (i = 0; i < count && shown < AB_REASONS_SHOWN; i++) {
		unsigned same = 0;
		bool first = true;

		if (items[i].result == AB_ANSWERED && items[i].status == MHC_OK)
			continue;
		for (j = 0; j < count; j++) {
			bool refused = !(items[j].result == AB_ANSWERED &&
					 items[j].status == MHC_OK);

			if (!refused || strcmp(items[j].reason, items[i].reason))
				continue;
			first &= j >= i;
			same++;
		}
		if (!first)
			continue;
		printf("reason %u x %s: %s\n", same,
		       items[i].result == AB_ANSWERED ? mhc_status_name(items[i].status)
						      : "no answer", items[i].reason);
		shown++;
	}
}

static void print_summary(const struct ab_opts *o, const struct ab_item *items,
			  uint64_t elapsed_us, unsigned backlog_full)
{
	unsigned by_status[MHC_STATUS_MAX + 1] = { 0 }, closed = 0, timeout = 0,
		 bad = 0, i;

	for (i = 0; i < o->count; i++) {
		if (items[i].result == AB_ANSWERED && items[i].status <= MHC_STATUS_MAX)
			by_status[items[i].status]++;
		closed += items[i].result == AB_CLOSED || items[i].result == AB_PENDING;
		timeout += items[i].result == AB_TIMEOUT;
		bad += items[i].result == AB_BADREPLY;
	}
	printf("announced %u ports %u-%u in %.1f ms (in flight %u, backlog full %u times)\n",
	       o->count, o->low, o->low + o->count - 1, elapsed_us / 1e3,
	       o->inflight, backlog_full);
	for (i = 0; i <= MHC_ERR_INTERNAL; i++)
		printf("status %s %u\n", mhc_status_name((uint8_t)i), by_status[i]);
	printf("no_answer closed %u timeout %u bad_reply %u\n", closed, timeout, bad);
	print_latency(items, o->count);
	print_reasons(items, o->count);
}

static int write_replies(const char *path, const struct ab_item *items,
			 unsigned count)
{
	FILE *f = fopen(path, "w");
	unsigned i;

	if (!f)
		return -errno;
	for (i = 0; i < count; i++)
		fprintf(f, "%u %s %.3f %s\n", items[i].port,
			items[i].result == AB_ANSWERED ? mhc_status_name(items[i].status)
						       : "NO_ANSWER",
			items[i].latency_us / 1e3, items[i].reason);
	return fclose(f) ? -errno : 0;
}

static void hold(unsigned seconds)
{
	uint64_t end = now_us() + (uint64_t)seconds * 1000000;

	printf("holding the sockets for up to %u s\n", seconds);
	fflush(stdout);
	while (!tool_stop && now_us() < end)
		usleep(50000);
}

int main(int argc, char **argv)
{
	struct ab_opts o = { 0 };
	struct ab_item *items;
	unsigned i, backlog_full = 0, unanswered = 0;
	uint64_t t0;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &o);
	tool_catch_stop();
	err = raise_nofile(o.count + o.inflight + 32);
	if (err) {
		fprintf(stderr, "announceburst: RLIMIT_NOFILE: %s\n", strerror(-err));
		return 2;
	}
	items = calloc(o.count, sizeof(*items));
	if (!items)
		return 2;
	for (i = 0; i < o.count; i++) {
		items[i].port = (uint16_t)(o.low + i);
		items[i].udp_fd = bind_udp(o.bind_addr, items[i].port);
		if (items[i].udp_fd < 0) {
			fprintf(stderr, "announceburst: bind %s:%u: %s\n", o.bind_addr,
				items[i].port, strerror(-items[i].udp_fd));
			return 2;
		}
	}
	t0 = now_us();
	run_burst(&o, items, &backlog_full);
	print_summary(&o, items, now_us() - t0, backlog_full);
	if (o.replies && (err = write_replies(o.replies, items, o.count)) < 0)
		fprintf(stderr, "announceburst: %s: %s\n", o.replies, strerror(-err));
	for (i = 0; i < o.count; i++)
		unanswered += items[i].result != AB_ANSWERED;
	if (o.hold_s)
		hold(o.hold_s);
	for (i = 0; i < o.count; i++)
		close(items[i].udp_fd);
	free(items);
	return unanswered ? 1 : 0;
}
