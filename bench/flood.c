/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * flood: the load generator and meters of items 1, 2 and 5 of `make bench`.
 *   flood send ADDR PORT SECONDS [--kind plain|garbage|sealed|mix]
 *              [--key KEY] [--src-port P] [--len BYTES] [--max N]
 *       sendmmsg at the sender's maximum rate, bounded in time and count;
 *       also prints the CPU time it cost (this process and the ksoftirqd of
 *       its CPU, from schedstat): on a veth the receive path, rules
 *       included, runs in the sender's softirq, so cpu_ns/sent is the cost
 *       of one datagram end to end whatever share of the CPU we got
 *   flood recv PORT SECONDS [--warmup-ms MS] [--wait-s S]
 *       recvmmsg; counts datagrams for SECONDS after the first one (+warm-up)
 *   flood qrate QUEUE SECONDS [--warmup-ms MS] [--wait-s S]
 *       verdicts/s of an NFQUEUE from /proc/net/netfilter/nfnetlink_queue
 *       (packet ids handed out minus packets still queued), with the backlog
 *   flood qdrain QUEUE PID
 *       the queue's consumer PID was stopped (SIGSTOP) while the queue
 *       filled: SIGCONT it and time how fast it empties the backlog, in
 *       wall-clock time and in the consumer's CPU time (schedstat)
 * IPv4 only; the addresses are the test ranges run.sh gives it.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <getopt.h>
#include <sched.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "ssp.h"
#include "ssp_test.h"

#define FL_BATCH      64
#define FL_MAX_LEN    1400
#define FL_POOL       4096            /* distinct garbage payloads */
#define FL_MAX_COUNT  500000000L
#define FL_RCVBUF     (8 * 1024 * 1024)

enum fl_kind { K_PLAIN, K_GARBAGE, K_SEALED, K_MIX };

struct fl_opts {
	enum fl_kind kind;
	const char *key;
	int src_port;
	long len, max, warmup_ms, wait_s;
};

_Noreturn static void usage(void)
{
	fprintf(stderr,
		"usage: flood send ADDR PORT SECONDS [--kind plain|garbage|sealed|mix]\n"
		"                  [--key KEY] [--src-port P] [--len BYTES] [--max N]\n"
		"       flood recv PORT SECONDS [--warmup-ms MS] [--wait-s S]\n"
		"       flood qrate QUEUE SECONDS [--warmup-ms MS] [--wait-s S]\n"
		"       flood qdrain QUEUE PID\n");
	exit(2);
}

static int fail(const char *what)
{
	fprintf(stderr, "flood: %s: %s\n", what, strerror(errno));
	return 1;
}

static void rnd(uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = getrandom(p, n, 0);

		if (r <= 0) {
			perror("flood: getrandom");
			exit(1);
		}
		p += r;
		n -= (size_t)r;
	}
}

/* ---- CPU time --------------------------------------------------------- */

/* Run time in ns of a task (schedstat; pid 0: this process), 0 if unknown. */
static uint64_t task_runtime(long pid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/schedstat");
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

/* The pid of ksoftirqd/CPU, 0 if not found. */
static long ksoftirqd_of(int cpu)
{
	char want[32], path[300], comm[64];
	struct dirent *e;
	DIR *d = opendir("/proc");
	long pid = 0;

	snprintf(want, sizeof(want), "ksoftirqd/%d\n", cpu);
	while (d && (e = readdir(d)) && !pid) {
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		if (!(f = fopen(path, "re")))
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, want))
			pid = strtol(e->d_name, NULL, 10);
		fclose(f);
	}
	if (d)
		closedir(d);
	return pid;
}

/* ---- send ------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

struct sender {
	const struct fl_opts *o;
	struct ssp_ctx *ctx;
	uint64_t seq;
	uint8_t *pool;                    /* FL_POOL garbage payloads */
	uint8_t bufs[FL_BATCH][FL_MAX_LEN];
	struct iovec iov[FL_BATCH];
	struct mmsghdr msg[FL_BATCH];
	unsigned long n;
};

/* A to-server header (so every one costs the daemon a tag check) and a
 * random body: what an attacker without the key can do at best. */
static void make_pool(struct sender *s)
{
	s->pool = malloc((size_t)FL_POOL * (size_t)s->o->len);
	if (!s->pool) {
		perror("flood");
		exit(1);
	}
	rnd(s->pool, (size_t)FL_POOL * (size_t)s->o->len);
	for (int i = 0; i < FL_POOL; i++)
		s->pool[(size_t)i * (size_t)s->o->len] &= 0x7f;
}

/* A sealed to-server datagram of about len bytes, shaped like SSP
 * plaintext (timestamps, final fragment header, data). */
static size_t seal_one(struct sender *s, uint8_t *out)
{
	uint8_t plain[FL_MAX_LEN];
	size_t plen = (size_t)s->o->len - SSP_MIN_DATAGRAM_LEN;
	uint64_t id = s->seq;
	long r;

	memset(plain, 0, plen);
	for (int i = 0; i < 8; i++)
		plain[SSP_TIMESTAMPS_LEN + i] = (uint8_t)(id >> (56 - 8 * i));
	plain[SSP_TIMESTAMPS_LEN + 8] = SSP_FRAG_FINAL_BIT >> 8;
	r = ssp_seal(s->ctx, SSP_TO_SERVER, s->seq++, plain, plen, out, FL_MAX_LEN);
	if (r < 0) {
		fprintf(stderr, "flood: ssp_seal: %s\n", strerror((int)-r));
		exit(1);
	}
	return (size_t)r;
}

static void fill_batch(struct sender *s)
{
	for (int i = 0; i < FL_BATCH; i++) {
		unsigned long k = s->n + (unsigned long)i;
		bool sealed = s->o->kind == K_SEALED || (s->o->kind == K_MIX && (k & 1));

		if (sealed) {
			s->iov[i].iov_base = s->bufs[i];
			s->iov[i].iov_len = seal_one(s, s->bufs[i]);
		} else if (s->o->kind == K_PLAIN) {
			s->iov[i].iov_base = s->bufs[0];
			s->iov[i].iov_len = (size_t)s->o->len;
		} else {
			s->iov[i].iov_base = s->pool + (k % FL_POOL) * (size_t)s->o->len;
			s->iov[i].iov_len = (size_t)s->o->len;
		}
		memset(&s->msg[i], 0, sizeof(s->msg[i]));
		s->msg[i].msg_hdr.msg_iov = &s->iov[i];
		s->msg[i].msg_hdr.msg_iovlen = 1;
	}
}

static int open_sender(const char *addr, const char *port, int src_port)
{
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

	dst.sin_port = htons((uint16_t)bench_num("flood", port, 1, 65535, "port"));
	if (fd < 0 || inet_pton(AF_INET, addr, &dst.sin_addr) != 1)
		return -1;
	if (src_port > 0) {
		src.sin_port = htons((uint16_t)src_port);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
			return -1;
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		return -1;
	return fd;
}

static int cmd_send(char **pos, const struct fl_opts *o)
{
	static struct sender s;
	long secs = bench_num("flood", pos[2], 1, BENCH_MAX_SECONDS, "seconds");
	uint64_t t0, end, cpu0, cpu1;
	unsigned long errors = 0;
	long ksirq;
	int fd;

	s.o = o;
	if (o->kind == K_SEALED || o->kind == K_MIX) {
		s.ctx = bench_key_ctx("flood", o->key);
		s.seq = bench_seq_base();
	}
	if (o->kind == K_GARBAGE || o->kind == K_MIX)
		make_pool(&s);
	memset(s.bufs[0], 0x5a, sizeof(s.bufs[0]));
	fd = open_sender(pos[0], pos[1], o->src_port);
	if (fd < 0)
		return fail("socket");
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	ksirq = ksoftirqd_of(sched_getcpu());
	cpu0 = task_runtime(0) + (ksirq ? task_runtime(ksirq) : 0);
	t0 = bench_now_ns();
	end = t0 + (uint64_t)secs * 1000000000ull;
	for (unsigned long it = 0; s.n < (unsigned long)o->max; it++) {
		int r;

		if (stop || ((it & 15) == 0 && bench_now_ns() >= end))
			break;
		unsigned long left = (unsigned long)o->max - s.n;

		fill_batch(&s);
		r = sendmmsg(fd, s.msg, left < FL_BATCH ? (unsigned)left : FL_BATCH, 0);
		if (r > 0) {
			s.n += (unsigned long)r;
		} else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR ||
			   errno == ECONNREFUSED || errno == EPERM) {
			errors++;           /* local drop or an ICMP error: go on */
			if (bench_now_ns() >= end)
				break;
		} else {
			return fail("sendmmsg");
		}
	}
	cpu1 = task_runtime(0) + (ksirq ? task_runtime(ksirq) : 0);
	printf("sent %lu pps %.0f errors %lu cpu_ns %llu ns_per_dgram %.1f\n", s.n,
	       s.n / ((bench_now_ns() - t0) / 1e9), errors,
	       (unsigned long long)(cpu1 - cpu0), s.n ? (double)(cpu1 - cpu0) / s.n : 0.0);
	ssp_ctx_free(s.ctx);
	free(s.pool);
	close(fd);
	return 0;
}

/* ---- recv ------------------------------------------------------------- */

/* Read what is queued; returns datagrams read. */
static long drain(int fd, struct mmsghdr *msg)
{
	long got = 0;
	int r;

	while ((r = recvmmsg(fd, msg, FL_BATCH, MSG_DONTWAIT, NULL)) > 0)
		got += r;
	return got;
}

static int cmd_recv(char **pos, const struct fl_opts *o)
{
	static uint8_t bufs[FL_BATCH][2048];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct iovec iov[FL_BATCH];
	struct mmsghdr msg[FL_BATCH];
	long secs = bench_num("flood", pos[1], 1, BENCH_MAX_SECONDS, "seconds");
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rcv = FL_RCVBUF;
	uint64_t t, start, stop, give_up;
	long count = 0;

	sa.sin_port = htons((uint16_t)bench_num("flood", pos[0], 1, 65535, "port"));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail("bind");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	for (int i = 0; i < FL_BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready\n");
	fflush(stdout);
	give_up = bench_now_ns() + (uint64_t)o->wait_s * 1000000000ull;
	for (;;) {                       /* the first datagram starts the clock */
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, 50) > 0 && drain(fd, msg) > 0)
			break;
		if (bench_now_ns() > give_up) {
			printf("received 0 rate 0 (nothing arrived)\n");
			return 1;
		}
	}
	start = bench_now_ns() + (uint64_t)o->warmup_ms * 1000000ull;
	while (bench_now_ns() < start)
		drain(fd, msg);
	stop = start + (uint64_t)secs * 1000000000ull;
	while ((t = bench_now_ns()) < stop) {
		int r = recvmmsg(fd, msg, FL_BATCH, MSG_DONTWAIT, NULL);

		if (r > 0) {
			count += r;
			continue;
		}
		struct pollfd p = { fd, POLLIN, 0 };

		poll(&p, 1, (int)((stop - t) / 1000000 + 1));
	}
	printf("received %ld rate %.0f\n", count, count / ((t - start) / 1e9));
	close(fd);
	return 0;
}

/* ---- qrate ------------------------------------------------------------ */

struct qstat {
	unsigned long total, dropped, user_dropped, id;
};

static int read_queue(unsigned q, struct qstat *s)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	unsigned num, portid, mode, range, one;
	int found = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%u %u %lu %u %u %lu %lu %lu %u", &num, &portid,
		      &s->total, &mode, &range, &s->dropped, &s->user_dropped,
		      &s->id, &one) == 9)
		if (num == q) {
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

static int cmd_qrate(char **pos, const struct fl_opts *o)
{
	unsigned q = (unsigned)bench_num("flood", pos[0], 0, 65535, "queue");
	long secs = bench_num("flood", pos[1], 1, BENCH_MAX_SECONDS, "seconds");
	struct qstat a, b, c;
	uint64_t give_up = bench_now_ns() + (uint64_t)o->wait_s * 1000000000ull;
	uint64_t t0, t1, stop;
	unsigned long qmin = ~0ul, qsum = 0, samples = 0, empty = 0, done;

	if (read_queue(q, &a) < 0) {
		fprintf(stderr, "flood: queue %u is not bound in this namespace\n", q);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	do {                              /* wait for traffic */
		usleep(5000);
		if (read_queue(q, &b) < 0 || bench_now_ns() > give_up) {
			printf("verdicts 0 rate 0 (no traffic)\n");
			return 1;
		}
	} while (b.id == a.id);
	usleep((useconds_t)o->warmup_ms * 1000);
	read_queue(q, &a);
	t0 = bench_now_ns();
	stop = t0 + (uint64_t)secs * 1000000000ull;
	while (bench_now_ns() < stop) {
		usleep(10000);
		if (read_queue(q, &c) < 0)
			break;
		qmin = c.total < qmin ? c.total : qmin;
		qsum += c.total;
		empty += c.total == 0;
		samples++;
	}
	read_queue(q, &b);
	t1 = bench_now_ns();
	done = (b.id - b.total - b.user_dropped) - (a.id - a.total - a.user_dropped);
	printf("verdicts %lu rate %.0f backlog_min %lu backlog_avg %.0f "
	       "empty_samples %lu of %lu queue_full_drops %lu\n", done,
	       done / ((t1 - t0) / 1e9), qmin, samples ? (double)qsum / samples : 0.0,
	       empty, samples, b.dropped - a.dropped);
	return 0;
}

#define FL_DRAIN_MAX_NS (10 * 1000000000ull)

static int cmd_qdrain(char **pos)
{
	unsigned q = (unsigned)bench_num("flood", pos[0], 0, 65535, "queue");
	pid_t pid = (pid_t)bench_num("flood", pos[1], 2, 0x7fffffff, "pid");
	struct qstat a, c;
	uint64_t t0, t1, cpu0, cpu1;
	unsigned long done;

	if (read_queue(q, &a) < 0 || a.total == 0) {
		printf("backlog 0 verdicts 0 seconds 0 rate 0 (nothing queued)\n");
		kill(pid, SIGCONT);
		return 1;
	}
	cpu0 = task_runtime(pid);
	t0 = bench_now_ns();
	if (kill(pid, SIGCONT) < 0)
		return fail("SIGCONT");
	do {
		usleep(100);
		t1 = bench_now_ns();
		if (read_queue(q, &c) < 0)
			return fail("reading the queue");
	} while (c.total > 0 && t1 - t0 < FL_DRAIN_MAX_NS);
	cpu1 = task_runtime(pid);
	done = (c.id - c.total - c.user_dropped) - (a.id - a.total - a.user_dropped);
	printf("backlog %lu verdicts %lu seconds %.6f rate %.0f cpu_ns %llu\n",
	       a.total, done, (t1 - t0) / 1e9, done / ((t1 - t0) / 1e9),
	       (unsigned long long)(cpu1 - cpu0));
	return 0;
}

static int parse_opts(int argc, char **argv, struct fl_opts *o)
{
	static const struct option lo[] = {
		{ "kind", 1, 0, 'k' }, { "key", 1, 0, 'K' }, { "src-port", 1, 0, 's' },
		{ "len", 1, 0, 'l' }, { "max", 1, 0, 'm' }, { "warmup-ms", 1, 0, 'w' },
		{ "wait-s", 1, 0, 'W' }, { 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kind = !strcmp(optarg, "plain") ? K_PLAIN :
				  !strcmp(optarg, "garbage") ? K_GARBAGE :
				  !strcmp(optarg, "sealed") ? K_SEALED :
				  !strcmp(optarg, "mix") ? K_MIX : (usage(), K_PLAIN);
			break;
		case 'K': o->key = optarg; break;
		case 's': o->src_port = (int)bench_num("flood", optarg, 1, 65535, "source port"); break;
		case 'l': o->len = bench_num("flood", optarg, SSP_MIN_DATAGRAM_LEN + 16, FL_MAX_LEN, "len"); break;
		case 'm': o->max = bench_num("flood", optarg, 1, FL_MAX_COUNT, "max"); break;
		case 'w': o->warmup_ms = bench_num("flood", optarg, 0, 10000, "warm-up"); break;
		case 'W': o->wait_s = bench_num("flood", optarg, 1, 60, "wait"); break;
		default: usage();
		}
	}
	return optind;
}

int main(int argc, char **argv)
{
	struct fl_opts o = { K_PLAIN, NULL, 0, 100, FL_MAX_COUNT, 250, 10 };
	int first;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	first = parse_opts(argc - 1, argv + 1, &o) + 1;
	if (!strcmp(argv[1], "send") && argc - first == 3)
		return cmd_send(argv + first, &o);
	if (!strcmp(argv[1], "recv") && argc - first == 2)
		return cmd_recv(argv + first, &o);
	if (!strcmp(argv[1], "qrate") && argc - first == 2)
		return cmd_qrate(argv + first, &o);
	if (!strcmp(argv[1], "qdrain") && argc - first == 2)
		return cmd_qdrain(argv + first);
	usage();
}
