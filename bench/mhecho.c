/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mhecho: plays mosh-server for `make bench`. Run as an ordinary user in
 * the server namespace: binds the session's UDP port, optionally announces
 * the session to mosh-helperd over the control socket (its own pid holds
 * the socket, as mosh-server's would), then either drains the port
 * (--drain, the slow-path throughput sink) or answers every authentic
 * to-server datagram with a sealed to-client one (--echo) carrying the
 * client's token and the CLOCK_MONOTONIC time it arrived.
 *   mhecho PORT SECONDS --key KEY (--drain|--echo) [--announce SOCKET]
 *          [--keyless]   (the announcement carries no key: keyless mode;
 *                         the key still seals the echoes, as mosh-server's)
 *          [--stamps]    (--drain: "arrival_ns T N" for each batch read)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bench.h"
#include "ctlproto.h"
#include "ssp.h"
#include "ssp_test.h"

#define EC_BATCH 64
#define EC_BUF   2048
#define EC_ANNOUNCE_WAIT_MS 5000

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int announce(const char *path, uint16_t port, const char *key)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct mhc_announce a = { .port = port, .pid = (uint32_t)getpid() };
	uint8_t buf[MHC_MAX_MSG];
	struct pollfd pfd;
	const char *why = NULL;
	struct mhc_msg m;
	ssize_t n;
	int fd;

	snprintf(a.key, sizeof(a.key), "%s", key);
	snprintf(a.ssh_connection, sizeof(a.ssh_connection),
		 "198.18.0.1 50000 198.18.0.2 22");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror("mhecho: control socket");
		return -1;
	}
	n = mhc_encode_announce(&a, buf, sizeof(buf));
	OPENSSL_cleanse(a.key, sizeof(a.key));
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	if (n < 0 || send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n ||
	    poll(&pfd, 1, EC_ANNOUNCE_WAIT_MS) <= 0 ||
	    (n = recv(fd, buf, sizeof(buf), 0)) <= 0 ||
	    mhc_decode(buf, (size_t)n, &m, &why) < 0 || m.type != MHC_REPLY) {
		fprintf(stderr, "mhecho: announcement failed: %s\n", why ? why : "no reply");
		close(fd);
		return -1;
	}
	close(fd);
	if (m.u.reply.status != MHC_OK) {
		fprintf(stderr, "mhecho: daemon refused: %s (%s)\n", m.u.reply.reason,
			mhc_status_name(m.u.reply.status));
		return -1;
	}
	return 0;
}

struct echo {
	int fd;
	struct ssp_ctx *ctx;
	uint64_t seq;
	unsigned long received, authentic, replies;
	bool stamps;          /* --stamps: print each drained batch's arrival */
};

/* Plaintext: timestamps, a final fragment header, then the client's
 * 8-byte token and our 8-byte arrival time (big endian). */
static void reply(struct echo *e, const uint8_t *plain, size_t plen,
		  uint64_t arrived, const struct sockaddr_in *to)
{
	const size_t hdr = SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN;
	uint8_t out[EC_BUF], p[64] = { 0 };
	long n;

	if (plen < hdr + 8)
		return;
	memcpy(p + hdr, plain + hdr, 8);
	for (int i = 0; i < 8; i++)
		p[hdr + 8 + i] = (uint8_t)(arrived >> (56 - 8 * i));
	p[SSP_TIMESTAMPS_LEN + 8] = SSP_FRAG_FINAL_BIT >> 8;
	n = ssp_seal(e->ctx, SSP_TO_CLIENT, e->seq++, p, hdr + 16, out, sizeof(out));
	if (n > 0 && sendto(e->fd, out, (size_t)n, 0, (const struct sockaddr *)to,
			    sizeof(*to)) == n)
		e->replies++;
}

static void echo_input(struct echo *e)
{
	uint8_t buf[EC_BUF], plain[EC_BUF];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	struct ssp_header h;
	size_t plen;
	ssize_t n;

	while ((n = recvfrom(e->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &flen)) >= 0) {
		uint64_t arrived = bench_now_ns();

		e->received++;
		if (ssp_open(e->ctx, buf, (size_t)n, &h, plain, sizeof(plain), &plen) == 0 &&
		    h.direction == SSP_TO_SERVER) {
			e->authentic++;
			reply(e, plain, plen, arrived, &from);
		}
		flen = sizeof(from);
	}
}

static void drain_input(struct echo *e)
{
	static uint8_t bufs[EC_BATCH][EC_BUF];
	struct iovec iov[EC_BATCH];
	struct mmsghdr msg[EC_BATCH];
	int r;

	for (int i = 0; i < EC_BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while ((r = recvmmsg(e->fd, msg, EC_BATCH, MSG_DONTWAIT, NULL)) > 0) {
		e->received += (unsigned long)r;
		if (e->stamps)
			printf("arrival_ns %llu %d\n",
			       (unsigned long long)bench_now_ns(), r);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *key = NULL, *sock = NULL;
	struct echo e = { .fd = -1 };
	bool echo = false, keyless = false;
	int rcv = 4 * 1024 * 1024;
	uint16_t port;
	uint64_t end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: mhecho PORT SECONDS --key KEY (--drain|--echo) "
			"[--announce SOCKET] [--keyless] [--stamps]\n");
		return 2;
	}
	port = (uint16_t)bench_num("mhecho", argv[1], 1, 65535, "port");
	end = bench_now_ns() + (uint64_t)bench_num("mhecho", argv[2], 1, 900,
						   "seconds") * 1000000000ull;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc)
			key = argv[++i];
		else if (!strcmp(argv[i], "--announce") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--echo"))
			echo = true;
		else if (!strcmp(argv[i], "--keyless"))
			keyless = true;
		else if (!strcmp(argv[i], "--stamps"))
			e.stamps = true;
		else if (strcmp(argv[i], "--drain"))
			return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	e.ctx = bench_key_ctx("mhecho", key);
	e.seq = bench_seq_base();
	sa.sin_port = htons(port);
	e.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (e.fd < 0 || bind(e.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("mhecho: bind");
		return 1;
	}
	setsockopt(e.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (sock && announce(sock, port, keyless ? "" : key) < 0)
		return 1;
	printf("ready\n");
	while (!stop && bench_now_ns() < end) {
		struct pollfd p = { e.fd, POLLIN, 0 };

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (echo)
			echo_input(&e);
		else
			drain_input(&e);
	}
	printf("received %lu authentic %lu replies %lu\n", e.received, e.authentic,
	       e.replies);
	ssp_ctx_free(e.ctx);
	close(e.fd);
	return 0;
}
