/*
 * The control protocol between mosh-helper-hook (and mosh-helperctl) and
 * mosh-helperd over a SOCK_SEQPACKET unix socket. Every message starts with
 * a 4-byte header: version (1 byte), type (1 byte), body length (2 bytes,
 * big endian); the body length must match the received size exactly.
 * Encoders write into a caller's buffer; the decoder checks every length.
 * Pure: no sockets.
 */
#ifndef MH_CONTROL_H
#define MH_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mh_consts.h"

#define MHC_VERSION        1
#define MHC_HEADER_LEN     4
#define MHC_MAX_MSG        1024   /* no message is longer; longer is refused */
#define MHC_SSH_CONN_MAX   200    /* SSH_CONNECTION value, bytes */
#define MHC_REASON_MAX     200

enum mhc_type {
	MHC_ANNOUNCE = 1,  /* hook -> daemon: a new session */
	MHC_REPLY    = 2,  /* daemon -> client: status and reason */
};

enum mhc_status {
	MHC_OK = 0,
	MHC_ERR_PROTOCOL,    /* malformed or unknown message */
	MHC_ERR_RANGE,       /* port outside the managed range */
	MHC_ERR_NOT_OWNER,   /* port not bound by a UDP socket of the caller */
	MHC_ERR_PID,         /* pid not the caller's, or does not hold the socket */
	MHC_ERR_QUOTA,       /* per-user or global session quota */
	MHC_ERR_EXISTS,      /* port already has a session */
	MHC_ERR_KEY,         /* key is not 22 base64 characters */
	MHC_ERR_INTERNAL,    /* daemon-side failure (nftables, memory) */
};

struct mhc_announce {
	uint16_t port;
	uint32_t pid;
	char key[SSP_KEY_B64_LEN + 1];            /* NUL-terminated */
	char ssh_connection[MHC_SSH_CONN_MAX + 1]; /* NUL-terminated, may be "" */
};

struct mhc_reply {
	uint8_t status;                            /* enum mhc_status */
	char reason[MHC_REASON_MAX + 1];           /* NUL-terminated */
};

struct mhc_msg {
	uint8_t type;
	union {
		struct mhc_announce announce;
		struct mhc_reply reply;
	} u;
};

/* Encoders return the message length, or -ENOBUFS / -EINVAL. */
ssize_t mhc_encode_announce(const struct mhc_announce *a, uint8_t *buf,
			    size_t cap);
ssize_t mhc_encode_reply(uint8_t status, const char *reason, uint8_t *buf,
			 size_t cap);

/* Decode one received message. Returns 0, or -EPROTO with *why set to a
 * static reason (bad version, unknown type, length mismatch, field not
 * printable, ...). */
int mhc_decode(const uint8_t *buf, size_t len, struct mhc_msg *m,
	       const char **why);

const char *mhc_status_name(uint8_t status);

#endif
