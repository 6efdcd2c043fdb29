/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * roam: the mosh client of `make bench` items 4 and 5. Sends authentic
 * to-server datagrams (rising sequence numbers) to mhecho and times the
 * sealed reply.
 *   --mode pinhole: one source port; after a first exchange (which opens
 *     the pinhole) every ping-pong stays in the kernel's fast path.
 *   --mode newsrc: every sample from a new source port (a roam): slow path
 *     in, the daemon's check, mosh-server's reply, pinhole install, out.
 *     A lost datagram is resent (new sequence number, like mosh) every
 *     --retry-ms until --timeout-ms. Delivery time = mhecho's arrival
 *     stamp (same CLOCK_MONOTONIC) minus the roam's first send.
 *   roam ADDR PORT --key KEY --mode pinhole|newsrc --count N --port-base P
 *        [--timeout-ms T] [--retry-ms R] [--gap-ms G] [--max-seconds S]
 *        [--seq-base N]  (single port: a mosh-like small sequence number)
 * Prints "name value" lines (microseconds) for run.sh.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bench.h"
#include "ssp.h"
#include "ssp_test.h"

#define RM_BUF 2048
#define RM_MAX_COUNT 20000
#define RM_WARMUP 20

struct rm_opts {
	const char *key;
	bool newsrc;
	long count, port_base, timeout_ms, retry_ms, gap_ms, max_s;
	long seq_base;            /* 0: from the clock (bench_seq_base) */
};

struct rm {
	const struct rm_opts *o;
	struct sockaddr_in dst;
	struct ssp_ctx *ctx;
	uint64_t seq, token;
	unsigned long sent;          /* authentic datagrams sent */
	uint64_t *rtt, *deliv;       /* ns, per completed sample */
	long done, lost;
	long attempts_max;
};

_Noreturn static void usage(void)
{
	fprintf(stderr, "usage: roam ADDR PORT --key KEY --mode pinhole|newsrc --count N "
		"--port-base P [--timeout-ms T] [--retry-ms R] [--gap-ms G] "
		"[--max-seconds S] [--seq-base N]\n");
	exit(2);
}

static int open_src(struct rm *r, long port)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&r->dst, sizeof(r->dst)) < 0) {
		fprintf(stderr, "roam: source port %ld: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

/* One authentic to-server datagram carrying token. */
static void send_one(struct rm *r, int fd, uint64_t token)
{
	const size_t hdr = SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN;
	uint8_t p[64] = { 0 }, out[RM_BUF];
	long n;

	for (int i = 0; i < 8; i++) {
		p[SSP_TIMESTAMPS_LEN + i] = (uint8_t)(r->seq >> (56 - 8 * i));
		p[hdr + i] = (uint8_t)(token >> (56 - 8 * i));
	}
	p[SSP_TIMESTAMPS_LEN + 8] = SSP_FRAG_FINAL_BIT >> 8;
	n = ssp_seal(r->ctx, SSP_TO_SERVER, r->seq++, p, hdr + 40, out, sizeof(out));
	if (n < 0 || send(fd, out, (size_t)n, 0) != n) {
		if (n > 0 && (errno == ECONNREFUSED || errno == ENOBUFS))
			return;     /* counted as lost by the caller */
		fprintf(stderr, "roam: send: %s\n", strerror(n < 0 ? (int)-n : errno));
		exit(1);
	}
	r->sent++;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Wait until deadline for the reply to token; 0 or the arrival stamp. */
static uint64_t wait_reply(struct rm *r, int fd, uint64_t token, uint64_t deadline)
{
	const size_t hdr = SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN;
	uint8_t buf[RM_BUF], plain[RM_BUF];
	struct ssp_header h;
	size_t plen;
	uint64_t now;

	while ((now = bench_now_ns()) < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ms = (int)((deadline - now + 999999) / 1000000);
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			continue;
		if (ssp_open(r->ctx, buf, (size_t)n, &h, plain, sizeof(plain), &plen) == 0 &&
		    h.direction == SSP_TO_CLIENT && plen >= hdr + 16 &&
		    be64(plain + hdr) == token)
			return be64(plain + hdr + 8);
	}
	return 0;
}

/* One sample: send (resending every retry_ms) until the reply or timeout. */
static void sample(struct rm *r, int fd)
{
	uint64_t token = ++r->token, t0 = bench_now_ns(), stop, arrived = 0;
	uint64_t retry = (uint64_t)r->o->retry_ms * 1000000ull;
	long attempts = 0;

	stop = t0 + (uint64_t)r->o->timeout_ms * 1000000ull;
	while (!arrived && bench_now_ns() < stop) {
		uint64_t next = bench_now_ns() + retry;

		send_one(r, fd, token);
		attempts++;
		arrived = wait_reply(r, fd, token, next < stop ? next : stop);
	}
	if (attempts > r->attempts_max)
		r->attempts_max = attempts;
	if (!arrived) {
		r->lost++;
		return;
	}
	r->rtt[r->done] = bench_now_ns() - t0;
	r->deliv[r->done++] = arrived > t0 ? arrived - t0 : 0;
}

static void report(struct rm *r, double secs)
{
	bench_sort(r->rtt, (size_t)r->done);
	bench_sort(r->deliv, (size_t)r->done);
	printf("samples %ld\nlost %ld\nsent %lu\nattempts_max %ld\nseconds %.2f\n",
	       r->done, r->lost, r->sent, r->attempts_max, secs);
	/* percentiles over all samples; a lost one counts as infinitely late */
	for (int k = 0; k < 3; k++) {
		static const double pct[] = { 50, 99, 100 };
		static const char *nm[] = { "p50", "p99", "max" };
		size_t n = (size_t)(r->done + r->lost);
		size_t rank = (size_t)(pct[k] / 100.0 * (double)n + 0.999999);

		if (rank < 1)
			rank = 1;
		if (rank > (size_t)r->done) {
			printf("rtt_%s_us inf\ndelivery_%s_us inf\n", nm[k], nm[k]);
			continue;
		}
		printf("rtt_%s_us %.1f\ndelivery_%s_us %.1f\n", nm[k],
		       r->rtt[rank - 1] / 1e3, nm[k], r->deliv[rank - 1] / 1e3);
	}
}

static void parse(int argc, char **argv, struct rm_opts *o)
{
	static const struct option lo[] = {
		{ "key", 1, 0, 'k' }, { "mode", 1, 0, 'm' }, { "count", 1, 0, 'n' },
		{ "port-base", 1, 0, 'p' }, { "timeout-ms", 1, 0, 't' },
		{ "retry-ms", 1, 0, 'r' }, { "gap-ms", 1, 0, 'g' },
		{ "max-seconds", 1, 0, 's' }, { "seq-base", 1, 0, 'q' }, { 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'k': o->key = optarg; break;
		case 'm':
			if (strcmp(optarg, "pinhole") && strcmp(optarg, "newsrc"))
				usage();
			o->newsrc = !strcmp(optarg, "newsrc");
			break;
		case 'n': o->count = bench_num("roam", optarg, 1, RM_MAX_COUNT, "count"); break;
		case 'p': o->port_base = bench_num("roam", optarg, 1024, 65000, "port base"); break;
		case 't': o->timeout_ms = bench_num("roam", optarg, 1, 10000, "timeout"); break;
		case 'r': o->retry_ms = bench_num("roam", optarg, 1, 10000, "retry"); break;
		case 'g': o->gap_ms = bench_num("roam", optarg, 0, 10000, "gap"); break;
		case 's': o->max_s = bench_num("roam", optarg, 1, BENCH_MAX_SECONDS, "max seconds"); break;
		case 'q': o->seq_base = bench_num("roam", optarg, 1, 1L << 39, "seq base"); break;
		default: usage();
		}
	}
}

int main(int argc, char **argv)
{
	struct rm_opts o = { NULL, false, 0, 0, 1000, 1000, 0, 60, 0 };
	uint8_t key[SSP_KEY_LEN];
	const char *why = NULL;
	struct rm r = { .o = &o };
	uint64_t t0, end;
	int fd = -1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	parse(argc - 2, argv + 2, &o);
	if (!o.key || !o.count || !o.port_base ||
	    o.port_base + (o.newsrc ? o.count : 1) > 65535)
		usage();
	if (ssp_key_decode(o.key, strlen(o.key), key, &why) < 0) {
		fprintf(stderr, "roam: --key: %s\n", why);
		return 2;
	}
	r.ctx = ssp_ctx_new(key);
	OPENSSL_cleanse(key, sizeof(key));
	r.dst.sin_family = AF_INET;
	r.dst.sin_port = htons((uint16_t)bench_num("roam", argv[2], 1, 65535, "port"));
	r.rtt = calloc((size_t)(o.count + RM_WARMUP), sizeof(uint64_t));
	r.deliv = calloc((size_t)(o.count + RM_WARMUP), sizeof(uint64_t));
	if (!r.ctx || !r.rtt || !r.deliv || inet_pton(AF_INET, argv[1], &r.dst.sin_addr) != 1)
		usage();
	/* a real mosh client counts from 0: single port's kernel drops
	 * numbers of 2^40 and more, which the clock's base is */
	r.seq = o.seq_base ? (uint64_t)o.seq_base : bench_seq_base();
	t0 = bench_now_ns();
	end = t0 + (uint64_t)o.max_s * 1000000000ull;
	if (!o.newsrc) {
		fd = open_src(&r, o.port_base);
		for (int i = 0; i < RM_WARMUP; i++)   /* opens the pinhole first */
			sample(&r, fd);
		r.done = r.lost = 0;
	}
	for (long i = 0; i < o.count && bench_now_ns() < end; i++) {
		if (o.newsrc) {
			fd = open_src(&r, o.port_base + i);
			sample(&r, fd);
			close(fd);
		} else {
			sample(&r, fd);
		}
		if (o.gap_ms)
			usleep((useconds_t)o.gap_ms * 1000);
	}
	if (!o.newsrc)
		close(fd);
	report(&r, (bench_now_ns() - t0) / 1e9);
	ssp_ctx_free(r.ctx);
	free(r.rtt);
	free(r.deliv);
	return 0;
}
