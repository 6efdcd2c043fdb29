/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * relayprobe: a relay for the gateway listener's tests, well-behaved or
 * hostile, over real TCP and TLS 1.3 (OpenSSL, certificates from
 * tests/tools/mkcerts.sh). It prints what the gateway answered or how it
 * ended the connection, one line each, for the test to check.
 *   relayprobe ADDR PORT DIR MODE [ARGS]     (DIR: mkcerts.sh's output)
 *   steady NAME SERVER SECONDS  HELLO, then OPEN+END pairs and heartbeats
 *                               every 100 ms; fails if an answer is late
 *                               (> 2 s) or not ok
 *   open NAME SERVER            HELLO, one OPEN of SERVER:60001 whose key
 *                               is the 16 bytes "MHKEY-relayprobe"
 *   tls NAME                    handshake and HELLO only
 *   garbage NAME                handshake, then bytes that are no frame
 *   silent NAME                 HELLO (heartbeat 200 ms), then nothing
 *   clone NAME                  a second connection with a relay's
 *                               certificate: HELLO, then (if taken) an
 *                               empty resync, then END of SERVER:PORT sid
 *                               SID if given: clone NAME [SERVER PORT SID]
 *   slowloris SECONDS           TCP only: one byte a second
 *   flood N SECONDS [FROM]      N TCP connections (from address FROM if
 *                               given) held open; "flood: N connected"
 *                               once they are, then how many the gateway
 *                               closed meanwhile
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "relaywire.h"

static const char *g_addr, *g_port, *g_dir, *g_from;
static uint32_t next_id = 1;

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The address TCP connections leave from (flood's FROM). */
static int bind_from(int fd, int family)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	void *ip = family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
				      : (void *)&((struct sockaddr_in *)&ss)->sin_addr;

	if (inet_pton(family, g_from, ip) != 1)
		return -1;
	return bind(fd, (struct sockaddr *)&ss, family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
}

static int tcp_connect(void)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	struct timeval tv = { 3, 0 };
	int fd;

	if (strchr(g_addr, ':')) {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)atoi(g_port));
		inet_pton(AF_INET6, g_addr, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)atoi(g_port));
		inet_pton(AF_INET, g_addr, &a->sin_addr);
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || (g_from && bind_from(fd, ss.ss_family) < 0) ||
	    connect(fd, (struct sockaddr *)&ss, len) < 0) {
		printf("connect failed: %s\n", strerror(errno));
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static SSL *tls_connect(const char *name, int *fdp)
{
	char cert[512], key[512], ca[512], err[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;

	snprintf(cert, sizeof(cert), "%s/%s.pem", g_dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", g_dir, name);
	snprintf(ca, sizeof(ca), "%s/site-ca.pem", g_dir);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_load_verify_file(ctx, ca);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		printf("cannot load %s\n", cert);
		exit(2);
	}
	*fdp = tcp_connect();
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);              /* ssl holds its own reference */
	SSL_set_fd(ssl, *fdp);
	if (SSL_connect(ssl) != 1) {
		ERR_error_string_n(ERR_get_error(), err, sizeof(err));
		printf("refused: handshake: %s\n", err);
		exit(1);
	}
	return ssl;
}

static void send_msg(SSL *ssl, struct mhr_msg *m)
{
	uint8_t buf[MHR_MAX_FRAME];
	ssize_t n;

	m->id = next_id++;
	n = mhr_encode(m, buf, sizeof(buf));
	if (n < 0 || SSL_write(ssl, buf, (int)n) != (int)n) {
		printf("send failed\n");
		exit(1);
	}
}

/* One ANSWER: 0, or -1 when the connection ended (reason printed). */
static int read_answer(SSL *ssl, struct mhr_msg *a)
{
	uint8_t buf[MHR_MAX_FRAME];
	size_t have = 0, flen = 0;
	struct mhr_error e;

	while (!flen || have < flen) {
		int n = SSL_read(ssl, buf + have, (int)(flen ? flen - have : MHR_HEADER_LEN - have));
		char err[256];

		if (n <= 0) {
			int se = SSL_get_error(ssl, n);

			ERR_error_string_n(ERR_peek_error(), err, sizeof(err));
			printf("closed: %s\n", se == SSL_ERROR_ZERO_RETURN ? "close_notify" :
			       ERR_peek_error() ? err : errno == EAGAIN ? "timeout" : "eof");
			ERR_clear_error();
			return -1;
		}
		have += (size_t)n;
		if (!flen && have >= MHR_HEADER_LEN &&
		    (mhr_frame_len(buf, have, &flen, &e) < 0 || !flen))
			flen = MHR_HEADER_LEN + ((size_t)buf[2] << 8 | buf[3]);
	}
	if (mhr_decode(buf, flen, a, &e) < 0 || a->type != MHR_ANSWER) {
		printf("bad answer from the gateway\n");
		exit(1);
	}
	printf("answer %s id %u: %s \"%s\"\n", mhr_type_name(a->u.answer.of_type), a->id,
	       mhr_status_name(a->u.answer.status), a->u.answer.reason);
	fflush(stdout);
	return 0;
}

static SSL *hello(const char *name, uint32_t hb, int *fd)
{
	SSL *ssl = tls_connect(name, fd);
	struct mhr_msg m = { .type = MHR_HELLO };
	struct mhr_msg a;

	m.u.hello.instance = 42;
	m.u.hello.heartbeat_ms = hb;
	snprintf(m.u.hello.name, sizeof(m.u.hello.name), "%s", name);
	snprintf(m.u.hello.software, sizeof(m.u.hello.software), "relayprobe");
	send_msg(ssl, &m);
	if (read_answer(ssl, &a) < 0 || a.u.answer.status != MHR_ST_OK)
		exit(1);
	return ssl;
}

static void server_addr(const char *s, uint16_t port, struct mh_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	inet_pton(a->family, s, a->ip);
	a->port = port;
}

static uint8_t exchange(SSL *ssl, struct mhr_msg *m, uint64_t *worst)
{
	struct mhr_msg a;
	uint64_t t0 = now_ms();

	send_msg(ssl, m);
	if (read_answer(ssl, &a) < 0)
		exit(1);
	if (now_ms() - t0 > *worst)
		*worst = now_ms() - t0;
	return a.id == m->id ? a.u.answer.status : 0xff;
}

static int steady(const char *name, const char *srv, int secs)
{
	int fd, bad = 0, n = 0;
	SSL *ssl = hello(name, 500, &fd);
	uint64_t end = now_ms() + (uint64_t)secs * 1000, worst = 0;

	for (uint16_t port = 60001; now_ms() < end; port = port < 61000 ? port + 1 : 60001) {
		struct mhr_msg o = { .type = MHR_OPEN }, e = { .type = MHR_END };
		struct mhr_msg h = { .type = MHR_HEARTBEAT };

		o.u.open.sid = e.u.end.sid = port;
		server_addr(srv, port, &o.u.open.server);
		e.u.end.server = o.u.open.server;
		e.u.end.reason = MHR_END_EXITED;
		h.u.heartbeat_ms = now_ms();
		bad += exchange(ssl, &o, &worst) != MHR_ST_OK;
		bad += exchange(ssl, &e, &worst) != MHR_ST_OK;
		bad += exchange(ssl, &h, &worst) != MHR_ST_OK;
		n += 3;
		usleep(100 * 1000);
	}
	printf("steady: %d answers, %d not ok, slowest %llu ms\n", n, bad,
	       (unsigned long long)worst);
	return bad || worst > 2000;
}

static int open_one(const char *name, const char *srv)
{
	int fd;
	SSL *ssl = hello(name, 1000, &fd);
	struct mhr_msg o = { .type = MHR_OPEN }, a;

	o.u.open.sid = 1;
	server_addr(srv, 60001, &o.u.open.server);
	memcpy(o.u.open.key, "MHKEY-relayprobe", sizeof(o.u.open.key));
	send_msg(ssl, &o);
	return read_answer(ssl, &a) < 0;
}

static int garbage(const char *name)
{
	int fd;
	SSL *ssl = tls_connect(name, &fd);
	uint8_t junk[64];
	struct mhr_msg a;

	memset(junk, 0xa5, sizeof(junk));
	junk[0] = MHR_VERSION;
	junk[1] = MHR_OPEN;           /* a header, then a body that is no OPEN */
	junk[2] = 0;
	junk[3] = 56;
	junk[4] = junk[5] = junk[6] = 0;
	junk[7] = 9;
	SSL_write(ssl, junk, sizeof(junk));
	if (read_answer(ssl, &a) < 0)
		return 1;
	read_answer(ssl, &a);          /* then the end */
	return 0;
}

/* After HELLO was taken: an empty resync, then the END if asked. */
static void clone_acts(SSL *ssl, const char *srv, int port, int sid)
{
	struct mhr_msg m = { .type = MHR_RESYNC_BEGIN }, a;

	send_msg(ssl, &m);
	read_answer(ssl, &a);
	m = (struct mhr_msg){ .type = MHR_RESYNC_END };
	send_msg(ssl, &m);
	read_answer(ssl, &a);
	if (!srv)
		return;
	m = (struct mhr_msg){ .type = MHR_END };
	server_addr(srv, (uint16_t)port, &m.u.end.server);
	m.u.end.sid = (uint32_t)sid;
	m.u.end.reason = MHR_END_EXITED;
	send_msg(ssl, &m);
	read_answer(ssl, &a);
}

/* Prints every answer; a refused HELLO prints how the connection ended. */
static int clone_relay(const char *name, const char *srv, int port, int sid)
{
	int fd;
	SSL *ssl = tls_connect(name, &fd);
	struct mhr_msg m = { .type = MHR_HELLO }, a;

	m.u.hello.instance = 43;
	m.u.hello.heartbeat_ms = 1000;
	snprintf(m.u.hello.name, sizeof(m.u.hello.name), "clone");
	snprintf(m.u.hello.software, sizeof(m.u.hello.software), "relayprobe");
	send_msg(ssl, &m);
	if (read_answer(ssl, &a) < 0)
		;
	else if (a.u.answer.status != MHR_ST_OK)
		read_answer(ssl, &a);           /* then the end */
	else
		clone_acts(ssl, srv, port, sid);
	SSL_free(ssl);
	close(fd);
	return 0;
}

static int silent(const char *name)
{
	int fd;
	SSL *ssl = hello(name, 200, &fd);
	struct timeval tv = { 10, 0 };
	uint64_t t0 = now_ms();
	struct mhr_msg a;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	read_answer(ssl, &a);
	printf("ended after %llu ms\n", (unsigned long long)(now_ms() - t0));
	return 0;
}

static int slowloris(int secs)
{
	int fd = tcp_connect();
	uint64_t t0 = now_ms();
	const uint8_t hdr[5] = { 0x16, 0x03, 0x01, 0x02, 0x00 };

	for (int i = 0; i < secs; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;

		if (send(fd, &hdr[i % 5], 1, MSG_NOSIGNAL) < 0 ||
		    (poll(&p, 1, 1000) > 0 && recv(fd, &c, 1, 0) <= 0)) {
			printf("ended by the gateway after %llu ms\n",
			       (unsigned long long)(now_ms() - t0));
			return 0;
		}
	}
	printf("still open after %d s\n", secs);
	return 1;
}

static int flood(int n, int secs)
{
	int *fds = calloc((size_t)n, sizeof(int)), closed = 0;

	for (int i = 0; i < n; i++)
		fds[i] = tcp_connect();
	printf("flood: %d connected\n", n);
	sleep((unsigned)secs);
	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		char c;

		if (poll(&p, 1, 0) > 0 && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0)
			closed++;
	}
	printf("flood: %d connections, %d closed by the gateway, %d held\n", n,
	       closed, n - closed);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 5) {
		fprintf(stderr, "usage: relayprobe ADDR PORT DIR MODE [ARGS]\n");
		return 2;
	}
	g_addr = argv[1], g_port = argv[2], g_dir = argv[3], mode = argv[4];
	if (!strcmp(mode, "steady") && argc == 8)
		return steady(argv[5], argv[6], atoi(argv[7]));
	if (!strcmp(mode, "open") && argc == 7)
		return open_one(argv[5], argv[6]);
	if (!strcmp(mode, "tls") && argc == 6) {
		int fd;

		hello(argv[5], 1000, &fd);
		return 0;
	}
	if (!strcmp(mode, "garbage") && argc == 6)
		return garbage(argv[5]);
	if (!strcmp(mode, "clone") && (argc == 6 || argc == 9))
		return clone_relay(argv[5], argc == 9 ? argv[6] : NULL,
				   argc == 9 ? atoi(argv[7]) : 0,
				   argc == 9 ? atoi(argv[8]) : 0);
	if (!strcmp(mode, "silent") && argc == 6)
		return silent(argv[5]);
	if (!strcmp(mode, "slowloris") && argc == 6)
		return slowloris(atoi(argv[5]));
	if (!strcmp(mode, "flood") && (argc == 7 || argc == 8)) {
		g_from = argc == 8 ? argv[7] : NULL;
		return flood(atoi(argv[5]), atoi(argv[6]));
	}
	fprintf(stderr, "relayprobe: bad mode or arguments\n");
	return 2;
}
