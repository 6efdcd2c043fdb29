/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gwcount: the resync item of `make bench` (issue 13). Polls the gateway
 * table's IPv4 sessions set (one netlink dump, in process) every
 * INTERVAL ms until it holds N elements, and prints when the first and the
 * N-th showed, in ms after SINCE (CLOCK_REALTIME ns, taken by run.sh just
 * before it started the gateway). Bounded by TIMEOUT_MS.
 *   gwcount TABLE N SINCE_NS TIMEOUT_MS [INTERVAL_MS]
 * Prints "ready", then "first_ms F all_ms A count C polls P dump_ms D"
 * (D: the last dump's wall time); exit 1 if N was not reached in time.
 */
#include <poll.h>
#include <sys/socket.h>

#include "bench.h"
#include "nft.h"
#include "nft_gw.h"

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void count_one(const struct mh_addr *client, const struct mh_addr *server,
		      uint64_t expires_ms, void *arg)
{
	(void)client;
	(void)server;
	(void)expires_ms;
	++*(long *)arg;
}

/* Elements in sessions4 now (0 while the table is missing). */
static long sessions_now(struct mh_nft **n, const char *table)
{
	long c = 0;

	if (!*n && !(*n = mh_nft_open()))
		return 0;
	if (mh_nft_gw_dump(*n, table, MH_GW_SESSION, AF_INET, count_one, &c) < 0) {
		mh_nft_close(*n);   /* a fresh socket after an error */
		*n = NULL;
		return 0;
	}
	return c;
}

static double ms_since(uint64_t since)
{
	uint64_t t = real_ns();

	return t > since ? (double)(t - since) / 1e6 : 0;
}

int main(int argc, char **argv)
{
	struct mh_nft *n = NULL;
	double first = -1, dump_ms = 0;
	long want, c = 0, polls = 0, timeout, every;
	uint64_t since, end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: gwcount TABLE N SINCE_NS TIMEOUT_MS [INTERVAL_MS]\n");
		return 2;
	}
	want = bench_num("gwcount", argv[2], 1, 1000000, "count");
	since = strtoull(argv[3], NULL, 10);
	timeout = bench_num("gwcount", argv[4], 1, BENCH_MAX_SECONDS * 1000, "timeout");
	every = argc == 6 ? bench_num("gwcount", argv[5], 1, 1000, "interval") : 10;
	end = bench_now_ns() + (uint64_t)timeout * 1000000ull;
	printf("ready\n");
	while (c < want && bench_now_ns() < end) {
		uint64_t t0 = bench_now_ns();

		c = sessions_now(&n, argv[1]);
		dump_ms = (double)(bench_now_ns() - t0) / 1e6;
		polls++;
		if (c > 0 && first < 0)
			first = ms_since(since);
		if (c < want)
			poll(NULL, 0, (int)every);
	}
	printf("first_ms %.1f all_ms %.1f count %ld polls %ld dump_ms %.2f\n", first,
	       c >= want ? ms_since(since) : -1.0, c, polls, dump_ms);
	if (n)
		mh_nft_close(n);
	return c >= want ? 0 : 1;
}
