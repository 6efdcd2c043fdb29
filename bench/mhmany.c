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
 * decoded reply (the hook's wait, issue 13's relay_announce item).
 */
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "bench.h"
#include "ctlproto.h"

#define MM_MAX_PORTS   256
#define MM_REPLY_MS    5000

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* 16 random bytes as mosh writes a key: 22 base64 characters, no padding. */
static int random_key(char out[SSP_KEY_B64_LEN + 1])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t k[SSP_KEY_LEN + 2] = { 0 };
	int i;

	if (RAND_bytes(k, SSP_KEY_LEN) != 1)
		return -1;
	for (i = 0; i < SSP_KEY_B64_LEN; i++) {
		unsigned bit = (unsigned)i * 6, by = bit / 8, sh = bit % 8;
		unsigned v = (unsigned)(k[by] << 8 | k[by + 1]);

		out[i] = b64[(v >> (10 - sh)) & 63];
	}
	out[SSP_KEY_B64_LEN] = 0;
	OPENSSL_cleanse(k, sizeof(k));
	return 0;
}

/* 1 accepted, 0 refused, -1 no answer. */
static int announce(const char *path, uint16_t port)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct mhc_announce a = { .port = port, .pid = (uint32_t)getpid() };
	uint8_t buf[MHC_MAX_MSG];
	const char *why = NULL;
	struct pollfd pfd;
	struct mhc_msg m;
	ssize_t n;
	int fd, rc = -1;

	if (random_key(a.key) < 0)
		return -1;
	snprintf(a.ssh_connection, sizeof(a.ssh_connection),
		 "198.18.0.1 50000 198.18.0.2 22");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	n = mhc_encode_announce(&a, buf, sizeof(buf));
	OPENSSL_cleanse(a.key, sizeof(a.key));
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 && n > 0 &&
	    send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n &&
	    poll(&pfd, 1, MM_REPLY_MS) > 0 &&
	    (n = recv(fd, buf, sizeof(buf), 0)) > 0 &&
	    mhc_decode(buf, (size_t)n, &m, &why) == 0 && m.type == MHC_REPLY) {
		rc = m.u.reply.status == MHC_OK;
		if (!rc)
			fprintf(stderr, "mhmany: port %u refused: %s\n", port,
				m.u.reply.reason);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	static int fds[MM_MAX_PORTS];
	const char *sock = NULL;
	unsigned ok = 0, refused = 0, base, count, i;
	uint64_t end, t0;
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

		t0 = bench_now_ns();
		r = announce(sock, (uint16_t)(base + i));
		if (times && r >= 0)
			printf("announce_us %.1f\n", (double)(bench_now_ns() - t0) / 1e3);
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
