/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of nfq-helper/intake/tls.c with real TLS 1.3 handshakes over non-blocking
 * socketpairs, certificates made for the run by tests/tools/mkcerts.sh
 * (openssl CLI): a good relay and gateway verify each other, read each
 * other's IP SANs and carry relay frames; a relay from another CA, an
 * expired one, a revoked one (with the CRL), one without a certificate,
 * one with a server-only certificate, one whose subject line could be
 * another's, and a TLS 1.2 client are refused,
 * each with its own clear line on the gateway and, where TLS 1.3 lets the
 * alert through, on the relay; the SAN check accepts the listed IPv4 and
 * IPv6 addresses and refuses the rest.
 */
#include <check.h>

#include "check_main.h"
#include "certdir.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "relaywire.h"
#include "../../nfq-helper/intake/tls.h"

static char path_buf[16][256];
static int path_i;

static const char *P(const char *name)
{
	char *p = path_buf[path_i++ % 16];

	snprintf(p, sizeof(path_buf[0]), "%s/%s", certdir, name);
	return p;
}

static void make_certs(void)
{
	certdir_make("tls");
}

struct files2 {
	struct mh_tls_files gw, relay;
};

static struct files2 site(const char *relay, const char *crl)
{
	struct files2 f = {
		.gw = { P("site-ca.pem"), P("gateway.pem"), P("gateway.key"), crl },
		.relay = { P("site-ca.pem"), NULL, NULL, NULL },
	};
	char c[64], k[64];

	snprintf(c, sizeof(c), "%s.pem", relay);
	snprintf(k, sizeof(k), "%s.key", relay);
	f.relay.cert = P(c);
	f.relay.key = P(k);
	return f;
}

struct run {
	struct mh_tls_ctx *gctx, *rctx;
	struct mh_tls_conn *g, *r;
	int fd[2];
	int grc, rrc;               /* handshake results */
	char gerr[MH_TLS_ERR_MAX];  /* the gateway's line, if it failed */
	char rerr[MH_TLS_ERR_MAX];  /* the relay's line (handshake or first read) */
};

static struct mh_tls_ctx *ctx(enum mh_tls_role role, const struct mh_tls_files *f)
{
	char err[MH_TLS_ERR_MAX] = "";
	struct mh_tls_ctx *c = mh_tls_ctx_new(role, f, err, sizeof(err));

	ck_assert_msg(c != NULL, "context: %s", err);
	return c;
}

/* Both handshakes to their end, alternating; bounded. */
static void pump(struct run *x)
{
	x->grc = x->rrc = -EAGAIN;
	for (int i = 0; i < 1000 && (x->grc == -EAGAIN || x->rrc == -EAGAIN); i++) {
		if (x->rrc == -EAGAIN)
			x->rrc = mh_tls_handshake(x->r);
		if (x->grc == -EAGAIN)
			x->grc = mh_tls_handshake(x->g);
	}
	ck_assert_int_ne(x->grc, -EAGAIN);
	ck_assert_int_ne(x->rrc, -EAGAIN);
	if (x->grc)
		snprintf(x->gerr, sizeof(x->gerr), "%s", mh_tls_error(x->g));
	if (x->rrc) {
		snprintf(x->rerr, sizeof(x->rerr), "%s", mh_tls_error(x->r));
	} else if (x->grc) {
		/* TLS 1.3: the relay learns of the refusal on its first read */
		uint8_t b[64];
		ssize_t n = -EAGAIN;

		for (int i = 0; i < 100 && n == -EAGAIN; i++)
			n = mh_tls_read(x->r, b, sizeof(b));
		ck_assert_msg(n < 0 && n != -EAGAIN, "relay read %zd after refusal", n);
		snprintf(x->rerr, sizeof(x->rerr), "%s", mh_tls_error(x->r));
	}
}

static void start(struct run *x, const struct files2 *f)
{
	char err[MH_TLS_ERR_MAX];

	memset(x, 0, sizeof(*x));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, x->fd), 0);
	x->gctx = ctx(MH_TLS_GATEWAY, &f->gw);
	x->rctx = ctx(MH_TLS_RELAY, &f->relay);
	x->g = mh_tls_conn_new(x->gctx, x->fd[0], err, sizeof(err));
	x->r = mh_tls_conn_new(x->rctx, x->fd[1], err, sizeof(err));
	ck_assert(x->g && x->r);
	pump(x);
}

static void stop(struct run *x)
{
	mh_tls_conn_free(x->g);
	mh_tls_conn_free(x->r);
	mh_tls_ctx_free(x->gctx);
	mh_tls_ctx_free(x->rctx);
	close(x->fd[0]);
	close(x->fd[1]);
}

static void expect_refused(const char *relay, const char *crl,
			   const char *gw_says, const char *relay_says)
{
	struct files2 f = site(relay, crl);
	struct run x;

	start(&x, &f);
	ck_assert_msg(x.grc == -EPROTO, "%s: gateway handshake %d", relay, x.grc);
	ck_assert_msg(strstr(x.gerr, gw_says), "%s: gateway said \"%s\", not \"%s\"",
		      relay, x.gerr, gw_says);
	ck_assert_ptr_null(mh_tls_peer(x.g));
	ck_assert_msg(strstr(x.rerr, relay_says), "%s: relay said \"%s\", not \"%s\"",
		      relay, x.rerr, relay_says);
	stop(&x);
}

static struct mh_addr addr(const char *s)
{
	struct mh_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(a.family, s, a.ip), 1);
	return a;
}

/* relay -> gateway: one frame over the channel, answered. */
static void exchange(struct run *x)
{
	struct mhr_msg m, got;
	uint8_t buf[MHR_MAX_FRAME];
	ssize_t n, k = -EAGAIN;

	memset(&m, 0, sizeof(m));
	m.type = MHR_HELLO;
	m.id = 1;
	m.u.hello.heartbeat_ms = 3000;
	strcpy(m.u.hello.name, "relay1");
	n = mhr_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(mh_tls_write(x->r, buf, (size_t)n), n);
	for (int i = 0; i < 100 && k == -EAGAIN; i++)
		k = mh_tls_read(x->g, buf, sizeof(buf));
	ck_assert_int_eq(k, n);
	ck_assert_int_eq(mhr_decode(buf, (size_t)k, &got, NULL), 0);
	ck_assert_str_eq(got.u.hello.name, "relay1");
	ck_assert_int_eq(mh_tls_read(x->g, buf, sizeof(buf)), -EAGAIN);
	ck_assert_uint_eq(mh_tls_wants(x->g), 0x001 /* EPOLLIN */);
	mh_tls_close(x->r);
	k = -EAGAIN;
	for (int i = 0; i < 100 && k == -EAGAIN; i++)
		k = mh_tls_read(x->g, buf, sizeof(buf));
	ck_assert_int_eq(k, 0);     /* close_notify: a clean end */
}

START_TEST(test_good_pair)
{
	struct files2 f = site("relay1", P("site.crl"));
	const struct mh_tls_peer *p;
	struct run x;
	char why[200];
	struct mh_addr a;

	start(&x, &f);
	ck_assert_msg(x.grc == 0 && x.rrc == 0, "gateway: %s / relay: %s",
		      mh_tls_error(x.g), mh_tls_error(x.r));
	p = mh_tls_peer(x.g);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->subject, "/CN=relay1");
	ck_assert_uint_eq(p->n_addrs, 2);      /* the DNS SAN is not an address */
	ck_assert(!p->more);
	a = addr("198.18.1.2");
	ck_assert(mh_tls_may_announce(p, &a, why, sizeof(why)));
	a = addr("fd00:1::2");
	a.port = 60001;                        /* ports do not matter */
	ck_assert(mh_tls_may_announce(p, &a, why, sizeof(why)));
	p = mh_tls_peer(x.r);
	ck_assert_str_eq(p->subject, "/CN=gateway");
	ck_assert_uint_eq(p->n_addrs, 1);
	ck_assert_int_eq(p->addrs[0].family, AF_INET);
	exchange(&x);
	stop(&x);
}
END_TEST

/* Non-blocking both ways: 1 MiB from the relay while the gateway reads,
 * each side waiting for what mh_tls_wants() names; every byte arrives in
 * order and the writer did meet a full socket (EPOLLOUT). */
START_TEST(test_bulk_nonblocking)
{
	struct files2 f = site("relay1", NULL);
	static uint8_t out[1 << 20], in[1 << 20];
	size_t sent = 0, got = 0;
	unsigned full = 0;
	struct run x;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + (i >> 12));
	start(&x, &f);
	ck_assert(x.grc == 0 && x.rrc == 0);
	for (int i = 0; i < 100000 && got < sizeof(in); i++) {
		while (sent < sizeof(out)) {   /* write until the socket is full */
			ssize_t n = mh_tls_write(x.r, out + sent, sizeof(out) - sent);

			if (n == -EAGAIN) {
				ck_assert_uint_eq(mh_tls_wants(x.r), 0x004 /* EPOLLOUT */);
				full++;
				break;
			}
			ck_assert_int_gt(n, 0);
			sent += (size_t)n;
		}
		for (;;) {
			ssize_t n = mh_tls_read(x.g, in + got, sizeof(in) - got);

			if (n == -EAGAIN)
				break;
			ck_assert_int_gt(n, 0);
			got += (size_t)n;
		}
	}
	ck_assert_uint_eq(got, sizeof(in));
	ck_assert_int_eq(memcmp(in, out, sizeof(in)), 0);
	ck_assert_uint_gt(full, 0);
	stop(&x);
}
END_TEST

START_TEST(test_san_check)
{
	struct mh_tls_peer p;
	char err[200], why[200];
	const char *yes[] = { "198.18.2.2", "fd00:2::2" };
	const char *no[] = { "198.18.1.2", "fd00:1::2", "198.18.2.3", "fd00:2::3",
			     "::ffff:198.18.2.2", "198.18.2.0", "fd00:2::" };

	ck_assert_int_eq(mh_tls_peer_load(P("relay2.pem"), &p, err, sizeof(err)), 0);
	ck_assert_uint_eq(p.n_addrs, 2);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		struct mh_addr a = addr(yes[i]);

		ck_assert_msg(mh_tls_may_announce(&p, &a, why, sizeof(why)),
			      "%s refused: %s", yes[i], why);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct mh_addr a = addr(no[i]);

		why[0] = '\0';
		ck_assert_msg(!mh_tls_may_announce(&p, &a, why, sizeof(why)),
			      "%s allowed", no[i]);
		ck_assert_msg(strstr(why, "is not in the certificate of /CN=relay2"),
			      "why: %s", why);
	}
	ck_assert_int_eq(mh_tls_peer_load(P("absent.pem"), &p, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(mh_tls_peer_load(P("ca.cnf"), &p, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "cannot read a certificate"));
}
END_TEST

START_TEST(test_other_ca_refused)
{
	expect_refused("relay-other", NULL,
		       "relay certificate /CN=relay-other is not issued by the site CA",
		       "gateway refused the connection: our certificate is not issued by its CA");
}
END_TEST

START_TEST(test_expired_refused)
{
	expect_refused("relay-expired", NULL,
		       "relay certificate /CN=relay-expired has expired",
		       "gateway refused the connection: our certificate has expired");
}
END_TEST

START_TEST(test_revoked_refused)
{
	struct files2 f = site("relay-revoked", NULL);
	struct run x;

	expect_refused("relay-revoked", P("site.crl"),
		       "relay certificate /CN=relay-revoked is revoked (site CRL)",
		       "gateway refused the connection: our certificate is revoked");
	/* without the CRL the same certificate passes: the CRL refuses it */
	start(&x, &f);
	ck_assert_int_eq(x.grc, 0);
	stop(&x);
}
END_TEST

START_TEST(test_server_cert_as_relay_refused)
{
	expect_refused("relay-server", NULL,
		       "relay certificate /CN=relay-server is not for this use", "");
}
END_TEST

/* A subject whose one line could be another's: not taken as a relay's
 * name. (relay1's line, "/CN=relay1", is taken: test_good_pair.) */
START_TEST(test_ambiguous_subject_refused)
{
	expect_refused("relay-slash", NULL, "has a subject that cannot name a relay",
		       "");
	expect_refused("relay-long", NULL, "has a subject that cannot name a relay",
		       "");
}
END_TEST

/* The relay checks the gateway too: a relay that trusts another CA. */
START_TEST(test_relay_refuses_unknown_gateway)
{
	struct files2 f = site("relay1", NULL);
	struct run x;

	f.relay.ca = P("other-ca.pem");
	start(&x, &f);
	ck_assert_int_eq(x.rrc, -EPROTO);
	ck_assert_msg(strstr(x.rerr, "gateway certificate /CN=gateway is not issued by the site CA"),
		      "relay said %s", x.rerr);
	ck_assert_int_ne(x.grc, 0);
	ck_assert_msg(strstr(x.gerr, "relay refused the connection: our certificate is not issued by its CA"),
		      "gateway said %s", x.gerr);
	stop(&x);
}
END_TEST

/* A bare OpenSSL client (no certificate, or TLS 1.2 only) against the
 * gateway; returns the gateway's line. */
static void bare_client(bool with_cert, int max_version, char *gerr, size_t len)
{
	struct files2 f = site("relay1", NULL);
	struct mh_tls_ctx *gctx = ctx(MH_TLS_GATEWAY, &f.gw);
	SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
	struct mh_tls_conn *g;
	char err[MH_TLS_ERR_MAX];
	int fd[2], grc = -EAGAIN;
	SSL *c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0);
	ck_assert_int_eq(SSL_CTX_load_verify_file(cc, P("site-ca.pem")), 1);
	SSL_CTX_set_max_proto_version(cc, max_version);
	if (with_cert) {
		ck_assert_int_eq(SSL_CTX_use_certificate_file(cc, P("relay1.pem"), SSL_FILETYPE_PEM), 1);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(cc, P("relay1.key"), SSL_FILETYPE_PEM), 1);
	}
	c = SSL_new(cc);
	SSL_set_fd(c, fd[1]);
	SSL_set_connect_state(c);
	g = mh_tls_conn_new(gctx, fd[0], err, sizeof(err));
	for (int i = 0; i < 1000 && grc == -EAGAIN; i++) {
		uint8_t b[16];
		size_t got;

		if (SSL_do_handshake(c) == 1)
			SSL_read_ex(c, b, sizeof(b), &got);
		grc = mh_tls_handshake(g);
	}
	ERR_clear_error();
	ck_assert_int_eq(grc, -EPROTO);
	snprintf(gerr, len, "%s", mh_tls_error(g));
	SSL_free(c);
	SSL_CTX_free(cc);
	mh_tls_conn_free(g);
	mh_tls_ctx_free(gctx);
	close(fd[0]);
	close(fd[1]);
}

START_TEST(test_no_client_cert_refused)
{
	char gerr[MH_TLS_ERR_MAX];

	bare_client(false, TLS1_3_VERSION, gerr, sizeof(gerr));
	ck_assert_str_eq(gerr, "relay sent no certificate");
}
END_TEST

START_TEST(test_tls12_refused)
{
	char gerr[MH_TLS_ERR_MAX];

	bare_client(true, TLS1_2_VERSION, gerr, sizeof(gerr));
	ck_assert_str_eq(gerr, "relay does not speak TLS 1.3");
}
END_TEST

START_TEST(test_context_errors)
{
	char err[MH_TLS_ERR_MAX];
	struct mh_tls_files f = { P("site-ca.pem"), P("relay1.pem"), P("relay2.key"), NULL };

	ck_assert_ptr_null(mh_tls_ctx_new(MH_TLS_RELAY, &f, err, sizeof(err)));
	ck_assert_msg(strstr(err, "does not match certificate"), "%s", err);
	f.key = P("relay1.key");
	f.ca = P("absent-ca.pem");
	ck_assert_ptr_null(mh_tls_ctx_new(MH_TLS_RELAY, &f, err, sizeof(err)));
	ck_assert_msg(strstr(err, "cannot read CA file"), "%s", err);
	f.ca = P("site-ca.pem");
	f.crl = P("relay1.pem");             /* a certificate, not a CRL */
	ck_assert_ptr_null(mh_tls_ctx_new(MH_TLS_GATEWAY, &f, err, sizeof(err)));
	ck_assert_msg(strstr(err, "cannot read CRL file"), "%s", err);
	f.crl = NULL;
	f.cert = NULL;
	ck_assert_ptr_null(mh_tls_ctx_new(MH_TLS_GATEWAY, &f, err, sizeof(err)));
	ck_assert_msg(strstr(err, "required"), "%s", err);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, make_certs, certdir_remove);
	tcase_add_test(tc, test_good_pair);
	tcase_add_test(tc, test_bulk_nonblocking);
	tcase_add_test(tc, test_san_check);
	tcase_add_test(tc, test_other_ca_refused);
	tcase_add_test(tc, test_expired_refused);
	tcase_add_test(tc, test_revoked_refused);
	tcase_add_test(tc, test_server_cert_as_relay_refused);
	tcase_add_test(tc, test_ambiguous_subject_refused);
	tcase_add_test(tc, test_relay_refuses_unknown_gateway);
	tcase_add_test(tc, test_no_client_cert_refused);
	tcase_add_test(tc, test_tls12_refused);
	tcase_add_test(tc, test_context_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(tls_suite());
}
