/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The announcement a bench program sends in place of mosh-server's hook
 * (header only, like bench.h: included by mhmany.c and hapong.c): a fresh
 * key as mosh writes one, and one control-protocol announcement on its own
 * connection, its answer awaited for BENCH_REPLY_MS at most.
 */
#ifndef MH_BENCH_BENCH_ANNOUNCE_H
#define MH_BENCH_BENCH_ANNOUNCE_H

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "bench.h"
#include "ctlproto.h"

#define BENCH_REPLY_MS 5000

/* 16 random bytes as mosh writes a key: 22 base64 characters, no padding. */
static inline int bench_random_key(char out[SSP_KEY_B64_LEN + 1])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t k[SSP_KEY_LEN + 2] = { 0 };

	if (RAND_bytes(k, SSP_KEY_LEN) != 1)
		return -1;
	for (int i = 0; i < SSP_KEY_B64_LEN; i++) {
		unsigned bit = (unsigned)i * 6, by = bit / 8, sh = bit % 8;
		unsigned v = (unsigned)(k[by] << 8 | k[by + 1]);

		out[i] = b64[(v >> (10 - sh)) & 63];
	}
	out[SSP_KEY_B64_LEN] = 0;
	OPENSSL_cleanse(k, sizeof(k));
	return 0;
}

/* Announces port with key, this process's pid and ssh_connection to the
 * control socket at path; the request's copy of the key is wiped. 1
 * accepted, 0 refused ("PROG: port N refused: reason" on stderr), -1 no
 * answer. */
static inline int bench_announce(const char *prog, const char *path,
				 uint16_t port, const char *key,
				 const char *ssh_connection)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct mhc_announce a = { .port = port, .pid = (uint32_t)getpid() };
	uint8_t buf[MHC_MAX_MSG];
	const char *why = NULL;
	struct pollfd pfd;
	struct mhc_msg m;
	ssize_t n;
	int fd, rc = -1;

	snprintf(a.key, sizeof(a.key), "%s", key);
	snprintf(a.ssh_connection, sizeof(a.ssh_connection), "%s", ssh_connection);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		OPENSSL_cleanse(a.key, sizeof(a.key));
		return -1;
	}
	n = mhc_encode_announce(&a, buf, sizeof(buf));
	OPENSSL_cleanse(a.key, sizeof(a.key));
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 && n > 0 &&
	    send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n &&
	    poll(&pfd, 1, BENCH_REPLY_MS) > 0 &&
	    (n = recv(fd, buf, sizeof(buf), 0)) > 0 &&
	    mhc_decode(buf, (size_t)n, &m, &why) == 0 && m.type == MHC_REPLY) {
		rc = m.u.reply.status == MHC_OK;
		if (!rc)
			fprintf(stderr, "%s: port %u refused: %s\n", prog, port,
				m.u.reply.reason);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

#endif
