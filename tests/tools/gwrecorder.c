/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gwrecorder: a TLS 1.3 listener that stands where a gateway would, for
 * the relay's integration tests. It is a recorder, not the gateway: it
 * keeps no sessions and opens nothing. It verifies the relay against the
 * site CA (nfq-helper/intake/tls.c, the gateway side), writes one line per event
 * and frame received to LOG, and answers as told:
 *   ok      every frame ok
 *   refuse  every new OPEN (not flagged resync) refused with status
 *           not_allowed and REASON; the rest ok
 *   silent  HELLO, resync frames and heartbeats answered; new OPENs never
 * One relay at a time, until killed.
 * Usage: gwrecorder ADDR PORT CA CERT KEY LOG MODE [REASON]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relaywire.h"
#include "tooling.h"
#include "../../nfq-helper/intake/tls.h"

enum mode { M_OK, M_REFUSE, M_SILENT };

static FILE *logfp;
static enum mode mode;
static const char *reason = "refused by gwrecorder";

static void usage(void)
{
	fprintf(stderr, "usage: gwrecorder ADDR PORT CA CERT KEY LOG ok|refuse|silent "
		"[REASON]\n");
	exit(2);
}

static const char *ip_text(const struct mh_addr *a, char *buf, size_t len)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return "-";
	return inet_ntop(a->family, a->ip, buf, (socklen_t)len);
}

static void log_open(const struct mhr_open *o, uint32_t id)
{
	char s[INET6_ADDRSTRLEN], h[INET6_ADDRSTRLEN];

	fprintf(logfp, "OPEN id=%u sid=%u flags=%u uid=%u server=%s port=%u hint=%s key=",
		id, o->sid, o->flags, o->uid, ip_text(&o->server, s, sizeof(s)),
		o->server.port, ip_text(&o->client_hint, h, sizeof(h)));
	for (unsigned i = 0; i < sizeof(o->key); i++)
		fprintf(logfp, "%02x", o->key[i]);
	fputc('\n', logfp);
}

static void log_msg(const struct mhr_msg *m)
{
	char s[INET6_ADDRSTRLEN];

	switch (m->type) {
	case MHR_HELLO:
		fprintf(logfp, "HELLO id=%u name=%s hb=%u software=%s\n", m->id,
			m->u.hello.name, m->u.hello.heartbeat_ms, m->u.hello.software);
		break;
	case MHR_OPEN:
		log_open(&m->u.open, m->id);
		break;
	case MHR_END:
		fprintf(logfp, "END id=%u sid=%u server=%s port=%u reason=%s\n", m->id,
			m->u.end.sid, ip_text(&m->u.end.server, s, sizeof(s)),
			m->u.end.server.port, mhr_end_reason_name(m->u.end.reason));
		break;
	case MHR_RESYNC_BEGIN:
	case MHR_RESYNC_END:
		fprintf(logfp, "%s id=%u count=%u\n", m->type == MHR_RESYNC_BEGIN ?
			"RESYNC_BEGIN" : "RESYNC_END", m->id, m->u.resync_count);
		break;
	default:
		fprintf(logfp, "%s id=%u\n", mhr_type_name(m->type), m->id);
	}
	fflush(logfp);
}

static int write_all(struct mh_tls_conn *t, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = mh_tls_write(t, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The answer the mode gives m, or none (silent). */
static int answer(struct mh_tls_conn *t, const struct mhr_msg *m)
{
	bool fresh_open = m->type == MHR_OPEN && !(m->u.open.flags & MHR_OPEN_RESYNC);
	uint8_t buf[MHR_MAX_FRAME];
	struct mhr_msg a;
	ssize_t n;

	if (fresh_open && mode == M_SILENT)
		return 0;
	if (fresh_open && mode == M_REFUSE)
		mhr_answer(&a, m->type, m->id, MHR_ST_NOT_ALLOWED, reason);
	else
		mhr_answer(&a, m->type, m->id, MHR_ST_OK, "");
	n = mhr_encode(&a, buf, sizeof(buf));
	return n > 0 ? write_all(t, buf, (size_t)n) : -1;
}

/* Frames until the relay goes; 0 on a clean close. */
static int serve(struct mh_tls_conn *t)
{
	uint8_t in[2 * MHR_MAX_FRAME];
	size_t have = 0, len;
	struct mhr_error e;
	struct mhr_msg m;

	for (;;) {
		ssize_t n = mh_tls_read(t, in + have, sizeof(in) - have);

		if (n <= 0)
			return n == 0 ? 0 : -1;
		have += (size_t)n;
		while (mhr_frame_len(in, have, &len, &e) == 0 && len) {
			if (mhr_decode(in, len, &m, &e) < 0) {
				fprintf(logfp, "MALFORMED %s\n", e.why);
				return -1;
			}
			log_msg(&m);
			if (answer(t, &m) < 0)
				return -1;
			mhr_msg_wipe(&m);
			memmove(in, in + len, have - len);
			have -= len;
		}
		if (mhr_frame_len(in, have, &len, &e) < 0) {
			fprintf(logfp, "MALFORMED %s\n", e.why);
			return -1;
		}
	}
}

static void one_relay(struct mh_tls_ctx *ctx, int fd)
{
	char err[MH_TLS_ERR_MAX];
	struct mh_tls_conn *t = mh_tls_conn_new(ctx, fd, err, sizeof(err));
	int r;

	if (!t) {
		fprintf(logfp, "ERROR %s\n", err);
		return;
	}
	r = mh_tls_handshake(t);
	if (r < 0) {
		fprintf(logfp, "HANDSHAKE_FAILED %s\n", mh_tls_error(t));
	} else {
		fprintf(logfp, "CONNECT %s\n", mh_tls_peer(t)->subject);
		fflush(logfp);
		r = serve(t);
		fprintf(logfp, "DISCONNECT %s\n", r == 0 ? "clean" : mh_tls_error(t));
	}
	fflush(logfp);
	mh_tls_close(t);
	mh_tls_conn_free(t);
}

static int listen_on(const char *addr, const char *port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	uint16_t p = (uint16_t)tool_num(port, 1, 65535, usage);
	int v6 = strchr(addr, ':') != NULL, one = 1, fd;

	if (v6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			usage();
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			usage();
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, v6 ? sizeof(*s6) : sizeof(*s4)) < 0 ||
	    listen(fd, 8) < 0) {
		perror("gwrecorder: listen");
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct mh_tls_files f;
	struct mh_tls_ctx *ctx;
	char err[MH_TLS_ERR_MAX];
	int lfd, fd;

	if (argc < 8 || argc > 9)
		usage();
	f = (struct mh_tls_files){ argv[3], argv[4], argv[5], NULL };
	mode = !strcmp(argv[7], "ok") ? M_OK : !strcmp(argv[7], "refuse") ? M_REFUSE :
	       !strcmp(argv[7], "silent") ? M_SILENT : (usage(), M_OK);
	if (argc == 9)
		reason = argv[8];
	logfp = fopen(argv[6], "a");
	ctx = mh_tls_ctx_new(MH_TLS_GATEWAY, &f, err, sizeof(err));
	if (!logfp || !ctx) {
		fprintf(stderr, "gwrecorder: %s\n", logfp ? err : strerror(errno));
		return 1;
	}
	lfd = listen_on(argv[1], argv[2]);
	fprintf(logfp, "LISTEN %s %s %s\n", argv[1], argv[2], argv[7]);
	fflush(logfp);
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0 || errno == EINTR) {
		if (fd < 0)
			continue;
		one_relay(ctx, fd);
		close(fd);
	}
	return 1;
}
