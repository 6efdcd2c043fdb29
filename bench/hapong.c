/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * hapong: the many authentic ping-pong sessions of the HA item of
 * `make bench` (bench/ha.sh), one process per side.
 *   hapong serve ADDR BASE COUNT SECONDS --announce SOCKET --keys FILE
 *     as an ordinary user on a login server: binds COUNT UDP ports of ADDR
 *     from BASE (each its own socket, held by this process, as mosh-server
 *     holds its own), announces each with a fresh key to the relay's
 *     control socket, appends "ADDR PORT KEY" per session to FILE, then
 *     answers every authentic to-server datagram with a sealed to-client
 *     one carrying the client's token back; "ready announced N refused M".
 *   hapong ping KEYS SRCNET NSRC SRCBASE SECONDS --interval-ms I --limit-s L
 *     in the client namespace: session i sends from SRCNET+(i % NSRC),
 *     port SRCBASE+i, one authentic datagram every I ms carrying its send
 *     time. SIGUSR1 marks a failure (now); from then each session's first
 *     reply to a datagram sent after it is its interruption. Once every
 *     session has one, or after L s, prints "intr PORT MS" / "lost PORT"
 *     and "done answered N lost M" and waits for the next SIGUSR1.
 *     SIGUSR2 opens a window (a failback); the next SIGUSR2 closes it and
 *     prints each session's longest silence in it ("gap PORT MS": between
 *     two answers, or from the window's edges) and "gapdone p50_ms .."
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bench_announce.h"
#include "bench.h"
#include "ctlproto.h"
#include "ssp.h"
#include "ssp_test.h"

#define HP_MAX   512
#define HP_BUF   2048
#define HP_HDR   (SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN)

struct hp_sess {
	int fd;
	struct sockaddr_in peer;
	struct ssp_ctx *ctx;
	uint64_t seq;
	uint16_t port;
	uint64_t intr_ns;           /* 0: no answer since the failure yet */
	uint64_t last_ns, gap_ns;   /* window: last answer, longest silence */
	char key[SSP_KEY_B64_LEN + 1];
};

static struct hp_sess sess[HP_MAX];
static unsigned n_sess;
static volatile sig_atomic_t stop, failed, window;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		failed = 1;
	else if (sig == SIGUSR2)
		window = 1;
	else
		stop = 1;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* One sealed datagram of DIR carrying token (and seq in the fragment id). */
static void send_sealed(struct hp_sess *s, enum ssp_direction dir, uint64_t token,
			const struct sockaddr_in *to)
{
	uint8_t p[64] = { 0 }, out[HP_BUF];
	long n;

	put64(p + SSP_TIMESTAMPS_LEN, s->seq);
	p[SSP_TIMESTAMPS_LEN + 8] = SSP_FRAG_FINAL_BIT >> 8;
	put64(p + HP_HDR, token);
	n = ssp_seal(s->ctx, dir, s->seq++, p, HP_HDR + 16, out, sizeof(out));
	if (n > 0)   /* a refused or full send is a lost datagram, as on a network */
		(void)sendto(s->fd, out, (size_t)n, 0, (const struct sockaddr *)to,
			     sizeof(*to));
}

/* The next authentic datagram of DIR on s: its token, 0 if none. */
static uint64_t recv_token(struct hp_sess *s, enum ssp_direction dir,
			   struct sockaddr_in *from)
{
	uint8_t buf[HP_BUF], plain[HP_BUF];
	socklen_t flen = sizeof(*from);
	struct ssp_header h;
	size_t plen;
	ssize_t n;

	while ((n = recvfrom(s->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)from, &flen)) >= 0) {
		flen = sizeof(*from);
		if (ssp_open(s->ctx, buf, (size_t)n, &h, plain, sizeof(plain), &plen) == 0 &&
		    h.direction == dir && plen >= HP_HDR + 8)
			return be64(plain + HP_HDR);
	}
	return 0;
}

static int udp_socket(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	sa.sin_addr.s_addr = addr;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	fprintf(stderr, "hapong: bind port %u: %s\n", port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- serve ---- */

/* 1 accepted, 0 refused, -1 no answer. */
static int announce(const char *path, const struct hp_sess *s, const char *addr)
{
	char ssh[MHC_SSH_CONN_MAX + 1];

	snprintf(ssh, sizeof(ssh), "198.18.3.2 50000 %s 22", addr);
	return bench_announce("hapong", path, s->port, s->key, ssh);
}

/* Each port bound to ADDR, as mosh-server -i binds it (a relay announces
 * a wildcard-bound socket only with relay_addresses). */
static int serve_open(const char *addr, unsigned base, const char *sock, FILE *keys)
{
	unsigned ok = 0, refused = 0;
	struct in_addr ia;

	if (inet_pton(AF_INET, addr, &ia) != 1)
		return -1;

	for (unsigned i = 0; i < n_sess && !stop; i++) {
		struct hp_sess *s = &sess[i];
		uint8_t k[SSP_KEY_LEN];

		s->port = (uint16_t)(base + i);
		s->seq = bench_seq_base();
		if ((s->fd = udp_socket(ia.s_addr, s->port)) < 0 || bench_random_key(s->key) < 0 ||
		    ssp_key_decode(s->key, strlen(s->key), k, NULL) < 0 ||
		    !(s->ctx = ssp_ctx_new(k)))
			return -1;
		OPENSSL_cleanse(k, sizeof(k));
		if (announce(sock, s, addr) == 1) {
			fprintf(keys, "%s %u %s\n", addr, s->port, s->key);
			ok++;
		} else {
			refused++;
		}
	}
	fflush(keys);
	printf("ready announced %u refused %u\n", ok, refused);
	return ok ? 0 : -1;
}

static void serve_loop(uint64_t end)
{
	static struct pollfd pfd[HP_MAX];

	for (unsigned i = 0; i < n_sess; i++)
		pfd[i] = (struct pollfd){ sess[i].fd, POLLIN, 0 };
	while (!stop && bench_now_ns() < end) {
		if (poll(pfd, n_sess, 200) <= 0)
			continue;
		for (unsigned i = 0; i < n_sess; i++) {
			struct sockaddr_in from;
			uint64_t t;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((t = recv_token(&sess[i], SSP_TO_SERVER, &from)))
				send_sealed(&sess[i], SSP_TO_CLIENT, t, &from);
		}
	}
}

static int serve(int argc, char **argv)
{
	const char *addr = argv[2];
	unsigned base = (unsigned)bench_num("hapong", argv[3], 1024, 65000, "base");
	uint64_t end;
	FILE *keys;

	n_sess = (unsigned)bench_num("hapong", argv[4], 1, HP_MAX, "count");
	end = bench_now_ns() + (uint64_t)bench_num("hapong", argv[5], 1, 900, "seconds") *
		1000000000ull;
	if (argc != 10 || strcmp(argv[6], "--announce") || strcmp(argv[8], "--keys"))
		return 2;
	keys = fopen(argv[9], "ae");
	if (!keys || serve_open(addr, base, argv[7], keys) < 0) {
		fprintf(stderr, "hapong: serve: no session\n");
		return 1;
	}
	fclose(keys);
	serve_loop(end);
	return 0;
}

/* ---- ping ---- */

static int ping_load(const char *path, uint32_t srcnet, unsigned nsrc, unsigned srcbase)
{
	char addr[64], key[64];
	unsigned port;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (n_sess < HP_MAX && fscanf(f, "%63s %u %63s", addr, &port, key) == 3) {
		struct hp_sess *s = &sess[n_sess];
		uint8_t k[SSP_KEY_LEN];
		uint32_t src = htonl(ntohl(srcnet) + n_sess % nsrc);

		s->peer = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		if (inet_pton(AF_INET, addr, &s->peer.sin_addr) != 1 || port > 65535 ||
		    ssp_key_decode(key, strlen(key), k, NULL) < 0 || !(s->ctx = ssp_ctx_new(k)) ||
		    (s->fd = udp_socket(src, (uint16_t)(srcbase + n_sess))) < 0)
			break;
		OPENSSL_cleanse(k, sizeof(k));
		s->port = (uint16_t)port;
		s->seq = bench_seq_base();
		n_sess++;
	}
	OPENSSL_cleanse(key, sizeof(key));
	fclose(f);
	return n_sess ? 0 : -1;
}

static int cmp_u64(const void *a, const void *b)
{
	return bench_cmp_u64(a, b);
}

/* Every session's interruption since t_fail, then the summary line. */
static void ping_report(void)
{
	static uint64_t v[HP_MAX];
	unsigned got = 0;

	for (unsigned i = 0; i < n_sess; i++) {
		if (sess[i].intr_ns) {
			v[got++] = sess[i].intr_ns;
			printf("intr %u %.0f\n", sess[i].port, (double)sess[i].intr_ns / 1e6);
		} else {
			printf("lost %u\n", sess[i].port);
		}
	}
	qsort(v, got, sizeof(v[0]), cmp_u64);
	printf("done answered %u lost %u p50_ms %.0f p99_ms %.0f max_ms %.0f\n", got,
	       n_sess - got, (double)bench_pct(v, got, 50) / 1e6,
	       (double)bench_pct(v, got, 99) / 1e6, got ? (double)v[got - 1] / 1e6 : 0.0);
}

/* An answer on s at now: the window's longest silence so far. */
static void gap_note(struct hp_sess *s, uint64_t now)
{
	if (now - s->last_ns > s->gap_ns)
		s->gap_ns = now - s->last_ns;
	s->last_ns = now;
}

/* The window opens (all silences start now) or closes (reported). */
static void gap_window(bool *open)
{
	static uint64_t v[HP_MAX];
	uint64_t now = bench_now_ns();

	for (unsigned i = 0; i < n_sess; i++) {
		if (*open) {
			gap_note(&sess[i], now);
			v[i] = sess[i].gap_ns;
			printf("gap %u %.0f\n", sess[i].port, (double)v[i] / 1e6);
		}
		sess[i].last_ns = now, sess[i].gap_ns = 0;
	}
	if (*open) {
		bench_sort(v, n_sess);
		printf("gapdone sessions %u p50_ms %.0f p99_ms %.0f max_ms %.0f\n", n_sess,
		       (double)bench_pct(v, n_sess, 50) / 1e6,
		       (double)bench_pct(v, n_sess, 99) / 1e6, (double)v[n_sess - 1] / 1e6);
	}
	*open = !*open;
}

static unsigned ping_input(struct pollfd *pfd, uint64_t t_fail, bool gap_open)
{
	unsigned fresh = 0;

	for (unsigned i = 0; i < n_sess; i++) {
		struct sockaddr_in from;
		uint64_t sent;

		if (!(pfd[i].revents & POLLIN))
			continue;
		while ((sent = recv_token(&sess[i], SSP_TO_CLIENT, &from))) {
			if (gap_open)
				gap_note(&sess[i], bench_now_ns());
			if (t_fail && sent > t_fail && !sess[i].intr_ns) {
				sess[i].intr_ns = bench_now_ns() - t_fail;
				fresh++;
			}
		}
	}
	return fresh;
}

static void ping_loop(uint64_t end, uint64_t interval, uint64_t limit)
{
	static struct pollfd pfd[HP_MAX];
	uint64_t next = bench_now_ns(), t_fail = 0;
	unsigned answered = 0;
	bool gap_open = false;

	for (unsigned i = 0; i < n_sess; i++)
		pfd[i] = (struct pollfd){ sess[i].fd, POLLIN, 0 };
	while (!stop && bench_now_ns() < end) {
		uint64_t now = bench_now_ns();

		if (window) {
			window = 0;
			gap_window(&gap_open);
		}

		if (failed) {
			failed = 0;
			t_fail = now, answered = 0;
			for (unsigned i = 0; i < n_sess; i++)
				sess[i].intr_ns = 0;
		}
		if (now >= next) {
			for (unsigned i = 0; i < n_sess; i++)
				send_sealed(&sess[i], SSP_TO_SERVER, now, &sess[i].peer);
			next = now + interval;
		}
		if (poll(pfd, n_sess, (int)((next - now) / 1000000 + 1)) > 0)
			answered += ping_input(pfd, t_fail, gap_open);
		if (t_fail && (answered == n_sess || bench_now_ns() - t_fail > limit)) {
			ping_report();
			t_fail = 0;
		}
	}
}

static int ping(int argc, char **argv)
{
	struct in_addr net;
	unsigned nsrc, srcbase;
	uint64_t end, interval, limit;

	if (argc != 11 || strcmp(argv[7], "--interval-ms") || strcmp(argv[9], "--limit-s") ||
	    inet_pton(AF_INET, argv[3], &net) != 1)
		return 2;
	nsrc = (unsigned)bench_num("hapong", argv[4], 1, 256, "sources");
	srcbase = (unsigned)bench_num("hapong", argv[5], 1024, 65000, "source port base");
	end = bench_now_ns() + (uint64_t)bench_num("hapong", argv[6], 1, 900, "seconds") *
		1000000000ull;
	interval = (uint64_t)bench_num("hapong", argv[8], 10, 5000, "interval") * 1000000ull;
	limit = (uint64_t)bench_num("hapong", argv[10], 1, 120, "limit") * 1000000000ull;
	if (ping_load(argv[2], net.s_addr, nsrc, srcbase) < 0) {
		fprintf(stderr, "hapong: ping: no session from %s\n", argv[2]);
		return 1;
	}
	printf("ready sessions %u\n", n_sess);
	ping_loop(end, interval, limit);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_signal);
	if (argc >= 6 && !strcmp(argv[1], "serve"))
		return serve(argc, argv);
	if (argc >= 7 && !strcmp(argv[1], "ping"))
		return ping(argc, argv);
	fprintf(stderr, "usage: hapong serve ADDR BASE COUNT SECONDS --announce SOCKET --keys FILE\n"
		"       hapong ping KEYS SRCNET NSRC SRCBASE SECONDS --interval-ms I --limit-s L\n");
	return 2;
}
