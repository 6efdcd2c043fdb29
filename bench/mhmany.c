/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mhmany: many idle sessions for the daemon-memory item of `make bench`.
 * Run as an ordinary user in the daemon's namespace: binds COUNT UDP ports
 * from BASE (as COUNT mosh-servers would, each port its own socket), then
 * announces each to mosh-helperd with a fresh random key and its own pid,
 * one announcement at a time, and stays idle (the sessions live as long
 * as this process) until SIGTERM or SECONDS pass.
 *   mhmany BASE COUNT SECONDS --announce SOCKET [--times]
 * Prints "ready announced N refused M" once every announcement is answered;
 * --times: before it, "announce_us T" for each one, T the connect to the
 * decoded reply (the hook's wait, issue 13's relay_announce item; the key
 * is made before it starts).
 */
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bench_announce.h"
#include "bench.h"

#define MM_MAX_PORTS   256

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* 1 accepted, 0 refused, -1 no answer: a fresh key each time. With
 * times, "announce_us T", T from the connect to the decoded reply: the
 * hook's wait. The key is made before that (a hook is given its key by
 * mosh-server; and a process's first RAND_bytes, OpenSSL setting up its
 * generator, takes about 4 ms, which landed on every first announcement
 * and so on 1% of them, the p99). */
static int announce(const char *path, uint16_t port, bool times)
{
	char key[SSP_KEY_B64_LEN + 1];
	uint64_t t0;
	int rc;

	if (bench_random_key(key) < 0)
		return -1;
	t0 = bench_now_ns();
	rc = bench_announce("mhmany", path, port, key,
			    "198.18.0.1 50000 198.18.0.2 22");
	if (times && rc >= 0)
		printf("announce_us %.1f\n", (double)(bench_now_ns() - t0) / 1e3);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int main(int argc, char **argv)
{
	static int fds[MM_MAX_PORTS];
	const char *sock = NULL;
	unsigned ok = 0, refused = 0, base, count, i;
	uint64_t end;
	bool times;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc != 6 && argc != 7) || strcmp(argv[4], "--announce") ||
	    (argc == 7 && strcmp(argv[6], "--times"))) {
		fprintf(stderr, "usage: mhmany BASE COUNT SECONDS --announce SOCKET [--times]\n");
		return 2;
	}
	times = argc == 7;
	base = (unsigned)bench_num("mhmany", argv[1], 1, 65535, "base port");
	count = (unsigned)bench_num("mhmany", argv[2], 1, MM_MAX_PORTS, "count");
	end = bench_now_ns() + (uint64_t)bench_num("mhmany", argv[3], 1, 900,
						   "seconds") * 1000000000ull;
	sock = argv[5];
	if (base + count - 1 > 65535) {
		fprintf(stderr, "mhmany: ports past 65535\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	for (i = 0; i < count; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons((uint16_t)(base + i)) };

		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "mhmany: bind %u: %s\n", base + i, strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < count && !stop && bench_now_ns() < end; i++) {
		int r;

		r = announce(sock, (uint16_t)(base + i), times);
		if (r < 0) {
			fprintf(stderr, "mhmany: port %u: no answer from the daemon\n",
				base + i);
			break;
		}
		ok += (unsigned)r;
		refused += (unsigned)!r;
	}
	printf("ready announced %u refused %u\n", ok, refused);
	while (!stop && bench_now_ns() < end)
		poll(NULL, 0, 200);
	for (i = 0; i < count; i++)
		close(fds[i]);
	return 0;
}
