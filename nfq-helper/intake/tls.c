/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The relay <-> gateway TLS channel (tls.h): OpenSSL 3 contexts, TLS 1.3
 * only, both sides verified against the site CA (and its CRL when given),
 * no host names; non-blocking handshake, read and write; every failure
 * turned into one line naming the peer and what was wrong; the peer's IP
 * SANs and the check that bounds what a relay may announce.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>

#include "tls.h"

#define VERIFY_DEPTH 4

struct mh_tls_ctx {
	SSL_CTX *ssl;
	enum mh_tls_role role;
};

struct mh_tls_conn {
	SSL *ssl;
	enum mh_tls_role role;
	bool done;
	uint32_t wants;
	int verify_err;                    /* first failure the chain check saw */
	char verify_subj[MH_TLS_SUBJ_MAX]; /* the certificate it failed on */
	struct mh_tls_peer peer;
	char err[MH_TLS_ERR_MAX];
};

static int conn_index = -1;   /* SSL ex_data slot: the mh_tls_conn */

static const char *peer_name(enum mh_tls_role role)
{
	return role == MH_TLS_GATEWAY ? "relay" : "gateway";
}

/* The first OpenSSL error in the queue, as text; clears the queue. */
static void queue_text(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "no OpenSSL error queued");
	ERR_clear_error();
}

/* ---- contexts ---- */

static int load_crl(SSL_CTX *ssl, const char *crl, char *err, size_t errlen)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ssl);
	X509_LOOKUP *lu = X509_STORE_add_lookup(st, X509_LOOKUP_file());
	char q[160];

	if (!lu || X509_load_crl_file(lu, crl, X509_FILETYPE_PEM) <= 0) {
		queue_text(q, sizeof(q));
		snprintf(err, errlen, "cannot read CRL file %s: %s", crl, q);
		return -EINVAL;
	}
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	return 0;
}

static int load_files(SSL_CTX *ssl, const struct mh_tls_files *f, char *err,
		      size_t errlen)
{
	char q[160];

	if (!f->ca || !f->cert || !f->key) {
		snprintf(err, errlen, "CA, certificate and key files are all required");
		return -EINVAL;
	}
	if (SSL_CTX_load_verify_file(ssl, f->ca) != 1) {
		queue_text(q, sizeof(q));
		snprintf(err, errlen, "cannot read CA file %s: %s", f->ca, q);
		return -EINVAL;
	}
	if (SSL_CTX_use_certificate_chain_file(ssl, f->cert) != 1) {
		queue_text(q, sizeof(q));
		snprintf(err, errlen, "cannot read certificate %s: %s", f->cert, q);
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ssl, f->key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			goto mismatch;
		queue_text(q, sizeof(q));
		snprintf(err, errlen, "cannot read key %s: %s", f->key, q);
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(ssl) != 1)
		goto mismatch;
	return f->crl ? load_crl(ssl, f->crl, err, errlen) : 0;
mismatch:
	ERR_clear_error();
	snprintf(err, errlen, "key %s does not match certificate %s", f->key,
		 f->cert);
	return -EINVAL;
}

/* A relay is known by its subject as one line ("/CN=login-1"): the
 * gateway keeps its sessions under it and refuses a second connection
 * with it. The line must then name one subject only: every value
 * printable ASCII without '/' or '\\' (whether the line escapes a '/'
 * depends on the OpenSSL version, and a '\\' of the value's own reads as
 * such an escape), one value per RDN (the line does not show how values
 * are grouped), and the whole short enough not to be cut. */
static bool subject_unambiguous(const X509_NAME *n)
{
	char *line;
	int set = -1;
	bool ok;

	for (int i = 0; i < X509_NAME_entry_count(n); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		const unsigned char *p = ASN1_STRING_get0_data(v);

		if (X509_NAME_ENTRY_set(e) == set)
			return false;
		set = X509_NAME_ENTRY_set(e);
		for (int k = 0; k < ASN1_STRING_length(v); k++)
			if (p[k] < 0x20 || p[k] > 0x7e || p[k] == '/' || p[k] == '\\')
				return false;
	}
	/* into a buffer, the line leaves out each value that does not fit
	 * whole: its full length needs a line of its own */
	line = X509_NAME_oneline(n, NULL, 0);
	ok = line && strlen(line) < MH_TLS_SUBJ_MAX;
	OPENSSL_free(line);
	return ok;
}

/* Remembers the first chain failure and the peer's own certificate, so
 * the error line can name both. The verdict stays OpenSSL's, but for a
 * relay's own certificate whose subject cannot serve as its name. */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
				SSL_get_ex_data_X509_STORE_CTX_idx());
	struct mh_tls_conn *t = ssl ? SSL_get_ex_data(ssl, conn_index) : NULL;
	X509 *cert = X509_STORE_CTX_get0_cert(xs);   /* the leaf, at any depth */

	if (ok && t && t->role == MH_TLS_GATEWAY && cert &&
	    X509_STORE_CTX_get_error_depth(xs) == 0 &&
	    !subject_unambiguous(X509_get_subject_name(cert))) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		ok = 0;
	}

	if (!ok && t && !t->verify_err) {
		t->verify_err = X509_STORE_CTX_get_error(xs);
		if (cert)
			X509_NAME_oneline(X509_get_subject_name(cert),
					  t->verify_subj, sizeof(t->verify_subj));
	}
	return ok;
}

static int ctx_settings(SSL_CTX *ssl)
{
	if (SSL_CTX_set_min_proto_version(ssl, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ssl, TLS1_3_VERSION) != 1)
		return -EINVAL;
	/* OPEN frames carry session keys: OpenSSL wipes each record's
	 * plaintext once it is read */
	SSL_CTX_set_options(ssl, SSL_OP_NO_TICKET | SSL_OP_CLEANSE_PLAINTEXT);
	SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   verify_cb);
	SSL_CTX_set_verify_depth(ssl, VERIFY_DEPTH);
	return 0;
}

struct mh_tls_ctx *mh_tls_ctx_new(enum mh_tls_role role,
				  const struct mh_tls_files *f,
				  char *err, size_t errlen)
{
	struct mh_tls_ctx *c = calloc(1, sizeof(*c));

	if (conn_index < 0)
		conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (!c || conn_index < 0) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->role = role;
	c->ssl = SSL_CTX_new(role == MH_TLS_GATEWAY ? TLS_server_method()
						   : TLS_client_method());
	if (!c->ssl || ctx_settings(c->ssl)) {
		snprintf(err, errlen, "cannot set up a TLS 1.3 context");
		goto fail;
	}
	if (load_files(c->ssl, f, err, errlen))
		goto fail;
	return c;
fail:
	ERR_clear_error();
	mh_tls_ctx_free(c);
	return NULL;
}

void mh_tls_ctx_free(struct mh_tls_ctx *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ssl);
	free(c);
}

/* ---- connections ---- */

struct mh_tls_conn *mh_tls_conn_new(struct mh_tls_ctx *c, int fd,
				    char *err, size_t errlen)
{
	struct mh_tls_conn *t = calloc(1, sizeof(*t));

	if (!t || !(t->ssl = SSL_new(c->ssl)) || SSL_set_fd(t->ssl, fd) != 1 ||
	    SSL_set_ex_data(t->ssl, conn_index, t) != 1) {
		snprintf(err, errlen, "cannot set up a TLS connection");
		ERR_clear_error();
		mh_tls_conn_free(t);
		return NULL;
	}
	t->role = c->role;
	if (c->role == MH_TLS_GATEWAY)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;
}

void mh_tls_conn_free(struct mh_tls_conn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

/* A chain failure on our side, as a line naming the peer's certificate. */
static void verify_text(struct mh_tls_conn *t)
{
	const char *who = peer_name(t->role), *what;
	int v = t->verify_err;

	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		what = "has expired";
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		what = "is not valid yet";
		break;
	case X509_V_ERR_CERT_REVOKED:
		what = "is revoked (site CRL)";
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		what = "is not issued by the site CA";
		break;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		what = "cannot be checked: the CRL file has no CRL of its CA";
		break;
	case X509_V_ERR_CRL_HAS_EXPIRED:
		what = "cannot be checked: the site CRL has expired";
		break;
	case X509_V_ERR_INVALID_PURPOSE:
		what = "is not for this use (extended key usage)";
		break;
	case X509_V_ERR_APPLICATION_VERIFICATION:   /* verify_cb's own */
		what = "has a subject that cannot name a relay: a value with '/', "
		       "'\\' or a character outside printable ASCII, an RDN of "
		       "several values, or a line over 255 characters";
		break;
	default:
		what = X509_verify_cert_error_string(v);
	}
	snprintf(t->err, sizeof(t->err), "%s certificate %.200s %s", who,
		 t->verify_subj[0] ? t->verify_subj : "(no subject)", what);
}

/* An alert the peer sent: it refused us. */
static void alert_text(struct mh_tls_conn *t, int alert)
{
	const char *who = peer_name(t->role), *what;

	switch (alert) {
	case SSL_AD_CERTIFICATE_EXPIRED:
		what = "our certificate has expired";
		break;
	case SSL_AD_CERTIFICATE_REVOKED:
		what = "our certificate is revoked";
		break;
	case SSL_AD_UNKNOWN_CA:
		what = "our certificate is not issued by its CA";
		break;
	case SSL_AD_CERTIFICATE_REQUIRED:
		what = "we sent no certificate";
		break;
	case SSL_AD_PROTOCOL_VERSION:
		what = "it speaks only TLS 1.3";
		break;
	default:
		what = SSL_alert_desc_string_long(alert);
	}
	snprintf(t->err, sizeof(t->err), "%s refused the connection: %s",
		 who, what);
}

/* Turns a failed SSL call into t->err and an errno. */
static int fail(struct mh_tls_conn *t, int ret)
{
	int se = SSL_get_error(t->ssl, ret), saved = errno;
	unsigned long e = ERR_peek_error();
	int reason = ERR_GET_REASON(e);

	if (t->verify_err) {
		verify_text(t);
	} else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
		   reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
		snprintf(t->err, sizeof(t->err), "%s sent no certificate",
			 peer_name(t->role));
	} else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
		   reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
		alert_text(t, reason - SSL_AD_REASON_OFFSET);
	} else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
		   (reason == SSL_R_UNSUPPORTED_PROTOCOL ||
		    reason == SSL_R_WRONG_VERSION_NUMBER)) {
		snprintf(t->err, sizeof(t->err), "%s does not speak TLS 1.3",
			 peer_name(t->role));
	} else if (e) {
		char q[160];

		ERR_error_string_n(e, q, sizeof(q));
		snprintf(t->err, sizeof(t->err), "TLS with the %s failed: %s",
			 peer_name(t->role), q);
	} else {
		ERR_clear_error();
		snprintf(t->err, sizeof(t->err), "%s closed the connection%s%s",
			 peer_name(t->role), se == SSL_ERROR_SYSCALL && saved ? ": " : "",
			 se == SSL_ERROR_SYSCALL && saved ? strerror(saved) : "");
		return -ECONNRESET;
	}
	ERR_clear_error();
	return se == SSL_ERROR_SYSCALL ? -EIO : -EPROTO;
}

/* -EAGAIN with wants set, or the failure. */
static int again_or_fail(struct mh_tls_conn *t, int ret)
{
	switch (SSL_get_error(t->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		t->wants = EPOLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		t->wants = EPOLLOUT;
		return -EAGAIN;
	}
	return fail(t, ret);
}

static void addr_from_san(const ASN1_OCTET_STRING *ip, struct mh_tls_peer *p)
{
	int n = ASN1_STRING_length(ip);
	struct mh_addr *a;

	if (n != 4 && n != 16)
		return;
	if (p->n_addrs >= MH_TLS_SAN_MAX) {
		p->more = true;
		return;
	}
	a = &p->addrs[p->n_addrs++];
	memset(a, 0, sizeof(*a));
	a->family = n == 4 ? AF_INET : AF_INET6;
	memcpy(a->ip, ASN1_STRING_get0_data(ip), (size_t)n);
}

static void peer_from_x509(X509 *x, struct mh_tls_peer *p)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

	memset(p, 0, sizeof(*p));
	X509_NAME_oneline(X509_get_subject_name(x), p->subject, sizeof(p->subject));
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

		if (g->type == GEN_IPADD)
			addr_from_san(g->d.iPAddress, p);
	}
	GENERAL_NAMES_free(names);
}

int mh_tls_handshake(struct mh_tls_conn *t)
{
	X509 *x;
	int ret;

	if (t->done)
		return 0;
	ERR_clear_error();
	ret = SSL_do_handshake(t->ssl);
	if (ret != 1)
		return again_or_fail(t, ret);
	x = SSL_get0_peer_certificate(t->ssl);
	if (!x || SSL_get_verify_result(t->ssl) != X509_V_OK) {
		snprintf(t->err, sizeof(t->err), "%s certificate not verified",
			 peer_name(t->role));
		return -EPROTO;   /* cannot happen with SSL_VERIFY_PEER; kept closed */
	}
	peer_from_x509(x, &t->peer);
	t->done = true;
	t->wants = 0;
	return 0;
}

ssize_t mh_tls_read(struct mh_tls_conn *t, void *buf, size_t len)
{
	size_t got = 0;
	int ret;

	ERR_clear_error();
	ret = SSL_read_ex(t->ssl, buf, len, &got);
	if (ret == 1)
		return (ssize_t)got;
	if (SSL_get_error(t->ssl, ret) == SSL_ERROR_ZERO_RETURN)
		return 0;
	return again_or_fail(t, ret);
}

ssize_t mh_tls_write(struct mh_tls_conn *t, const void *buf, size_t len)
{
	size_t put = 0;
	int ret;

	ERR_clear_error();
	ret = SSL_write_ex(t->ssl, buf, len, &put);
	if (ret == 1)
		return (ssize_t)put;
	return again_or_fail(t, ret);
}

void mh_tls_close(struct mh_tls_conn *t)
{
	ERR_clear_error();
	if (t->done)
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

uint32_t mh_tls_wants(const struct mh_tls_conn *t)
{
	return t->wants;
}

bool mh_tls_pending(const struct mh_tls_conn *t)
{
	return SSL_pending(t->ssl) > 0;
}

const char *mh_tls_error(const struct mh_tls_conn *t)
{
	return t->err[0] ? t->err : "no error";
}

const struct mh_tls_peer *mh_tls_peer(const struct mh_tls_conn *t)
{
	return t->done ? &t->peer : NULL;
}

int mh_tls_peer_load(const char *pem, struct mh_tls_peer *p,
		     char *err, size_t errlen)
{
	FILE *f = fopen(pem, "r");
	X509 *x;

	if (!f) {
		int e = errno;

		snprintf(err, errlen, "cannot open %s: %s", pem, strerror(e));
		return -e;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		char q[160];

		queue_text(q, sizeof(q));
		snprintf(err, errlen, "cannot read a certificate from %s: %s", pem, q);
		return -EINVAL;
	}
	peer_from_x509(x, p);
	X509_free(x);
	return 0;
}

bool mh_tls_may_announce(const struct mh_tls_peer *p, const struct mh_addr *a,
			 char *why, size_t whylen)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	size_t n = a->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < p->n_addrs; i++)
		if (p->addrs[i].family == a->family &&
		    memcmp(p->addrs[i].ip, a->ip, n) == 0)
			return true;
	if (a->family == AF_INET || a->family == AF_INET6)
		inet_ntop(a->family, a->ip, ip, sizeof(ip));
	snprintf(why, whylen, "server address %s is not in the certificate of %s",
		 ip, p->subject[0] ? p->subject : "the relay");
	return false;
}
