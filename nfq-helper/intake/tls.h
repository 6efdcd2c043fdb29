/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The TLS 1.3 channel between a relay (TLS client) and the gateway (TLS
 * server): one OpenSSL context per side, mutual authentication against the
 * site CA (optional CRL), no host name check; non-blocking connections for
 * the epoll loop; the peer certificate's IP SANs, which bound the server
 * addresses a relay may announce. Errors come back as one clear line.
 */
#ifndef MH_TLS_H
#define MH_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pkt.h"

#define MH_TLS_SAN_MAX   32     /* IP SANs kept from a certificate */
#define MH_TLS_ERR_MAX   512    /* error line, bytes with the NUL */
#define MH_TLS_SUBJ_MAX  256

enum mh_tls_role {
	MH_TLS_RELAY,      /* TLS client: connects to a gateway */
	MH_TLS_GATEWAY,    /* TLS server: accepts relays */
};

struct mh_tls_files {
	const char *ca;     /* the site CA (PEM): verifies the peer */
	const char *cert;   /* this side's certificate (PEM, chain allowed) */
	const char *key;    /* its private key (PEM) */
	const char *crl;    /* optional CRL of the site CA (PEM), or NULL */
};

/* What the peer's certificate says about it. */
struct mh_tls_peer {
	char subject[MH_TLS_SUBJ_MAX];      /* one line, e.g. "/CN=login-1" */
	unsigned n_addrs;
	struct mh_addr addrs[MH_TLS_SAN_MAX]; /* IP SANs, port 0 */
	bool more;                          /* SANs beyond MH_TLS_SAN_MAX */
};

struct mh_tls_ctx;
struct mh_tls_conn;

/* NULL with err filled if a file cannot be read or the key does not match
 * the certificate. */
struct mh_tls_ctx *mh_tls_ctx_new(enum mh_tls_role role,
				  const struct mh_tls_files *f,
				  char *err, size_t errlen);
void mh_tls_ctx_free(struct mh_tls_ctx *c);

/* A connection over a connected (or accepted) non-blocking socket; the
 * caller keeps the fd and closes it after mh_tls_conn_free. */
struct mh_tls_conn *mh_tls_conn_new(struct mh_tls_ctx *c, int fd,
				    char *err, size_t errlen);
void mh_tls_conn_free(struct mh_tls_conn *t);

/*
 * Drive the handshake: 0 done (peer verified, mh_tls_peer filled),
 * -EAGAIN (wait for mh_tls_wants()), or -EPROTO / -ECONNRESET with the
 * reason in mh_tls_error(). With TLS 1.3 a relay finishes its handshake
 * before the gateway has judged its certificate: a refusal reaches the
 * relay on its first read.
 */
int mh_tls_handshake(struct mh_tls_conn *t);

/* >0 bytes, 0 peer closed cleanly, -EAGAIN, or -EPROTO / -ECONNRESET /
 * -EIO (mh_tls_error()). Writes may be partial; after a write's -EAGAIN,
 * call it again with the same bytes (the buffer may move). */
ssize_t mh_tls_read(struct mh_tls_conn *t, void *buf, size_t len);
ssize_t mh_tls_write(struct mh_tls_conn *t, const void *buf, size_t len);

/* Sends close_notify (best effort; never blocks). */
void mh_tls_close(struct mh_tls_conn *t);

/* EPOLLIN and/or EPOLLOUT: what the last -EAGAIN waits for. */
uint32_t mh_tls_wants(const struct mh_tls_conn *t);

/* Bytes already decrypted and waiting (read them before epoll_wait). */
bool mh_tls_pending(const struct mh_tls_conn *t);

const char *mh_tls_error(const struct mh_tls_conn *t);
const struct mh_tls_peer *mh_tls_peer(const struct mh_tls_conn *t);

/* The IP SANs (and subject) of a PEM certificate file: a relay checks its
 * own before it announces. 0 or -errno with err filled. */
int mh_tls_peer_load(const char *pem, struct mh_tls_peer *p,
		     char *err, size_t errlen);

/* Whether the peer may announce server address a (port ignored): it must
 * be one of the certificate's IP SANs, same family. IPv4-mapped IPv6 is
 * not equal to IPv4. false with why filled when not. */
bool mh_tls_may_announce(const struct mh_tls_peer *p, const struct mh_addr *a,
			 char *why, size_t whylen);

#endif
