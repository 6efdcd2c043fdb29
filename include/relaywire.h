/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The relay <-> gateway wire protocol (deployment 3, issue 13): the frames
 * a login server's daemon (role relay) sends over mutually authenticated
 * TLS 1.3 to the site gateway, and the gateway's answers. Pure codec: a
 * caller's buffer in, a message struct out, and back. No sockets.
 *
 * Frame: an 8-byte header, then the body. Integers are big endian.
 *   0  version   u8   MHR_VERSION (1)
 *   1  type      u8   enum mhr_type
 *   2  body_len  u16  bytes after the header, <= MHR_MAX_BODY
 *   4  id        u32  relay frames: chosen by the relay, never 0 (one per
 *                     frame of a connection, so answers can be matched);
 *                     ANSWER: the id of the frame answered (0 if its header
 *                     could not be read)
 * Bodies (addr = family u8 (4 or 6) + 4 or 16 bytes; text = length u8 +
 * bytes of the field's alphabet):
 *   HELLO         instance u64 (random per relay start), heartbeat_ms u32
 *                 (MHR_HEARTBEAT_MIN_MS..MAX), name text [A-Za-z0-9._-]
 *                 1..64, software text printable ASCII 0..32
 *   OPEN          sid u32 (relay's session id, != 0), flags u8 (bit 0:
 *                 sent as part of a resync; bit 1: keyless; other bits
 *                 0), uid u32, server addr + port u16 (!= 0), client
 *                 hint: family u8 (0 none, 4, 6) + 0/4/16 bytes (the SSH
 *                 client address), then, only without the keyless bit,
 *                 key 16 bytes (the raw AES-128-OCB session key): a
 *                 keyless OPEN ends after the hint, a keyed one has
 *                 exactly 16 bytes more (both length-checked)
 *   END           sid u32 (!= 0), server addr + port u16 (!= 0), reason u8
 *                 (enum mhr_end_reason)
 *   RESYNC_BEGIN  count u32 (OPENs with the resync flag that follow)
 *   RESYNC_END    count u32 (OPENs with the resync flag that were sent)
 *   HEARTBEAT     time_ms u64 (the relay's monotonic clock, opaque)
 *   ANSWER        of_type u8 (type answered, 0 if unknown), status u8
 *                 (enum mhr_status), reason text printable ASCII 0..200
 * Every relay frame gets exactly one ANSWER with its id. A frame that does
 * not decode is answered MHR_ST_PROTOCOL and the connection is closed.
 * The decoder accepts only canonical frames: decode -> encode gives back
 * the same bytes.
 */
#ifndef MH_RELAYWIRE_H
#define MH_RELAYWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mh_consts.h"
#include "pkt.h"

#define MHR_VERSION          1
#define MHR_HEADER_LEN       8
#define MHR_MAX_BODY         512    /* bytes; the largest (ANSWER) is 203 */
#define MHR_MAX_FRAME        (MHR_HEADER_LEN + MHR_MAX_BODY)
#define MHR_NAME_MAX         64     /* relay name, bytes */
#define MHR_SOFTWARE_MAX     32     /* software version text, bytes */
#define MHR_REASON_MAX       200    /* answer reason, bytes */
#define MHR_HEARTBEAT_MIN_MS 100
#define MHR_HEARTBEAT_MAX_MS 60000
#define MHR_OPEN_RESYNC      0x01   /* OPEN flag: part of a resync */
/* OPEN flag: keyless mode (issue 16), no key field. Added within version
 * 1: a gateway that predates it refuses the flag (protocol, "unknown open
 * flag") and closes, so a mixed deployment fails closed, with a reason. */
#define MHR_OPEN_KEYLESS     0x02
#define MHR_OPEN_FLAGS       (MHR_OPEN_RESYNC | MHR_OPEN_KEYLESS)

enum mhr_type {
	MHR_HELLO = 1,
	MHR_OPEN = 2,
	MHR_END = 3,
	MHR_RESYNC_BEGIN = 4,
	MHR_RESYNC_END = 5,
	MHR_HEARTBEAT = 6,
	MHR_ANSWER = 7,
};
#define MHR_TYPE_MAX MHR_ANSWER

enum mhr_status {
	MHR_ST_OK = 0,
	MHR_ST_PROTOCOL,     /* frame does not decode; connection closes */
	MHR_ST_VERSION,      /* protocol version not spoken here */
	MHR_ST_NOT_ALLOWED,  /* server address not in the relay's certificate */
	MHR_ST_EXISTS,       /* server address and port held by another session */
	MHR_ST_NOT_FOUND,    /* END for a session the gateway does not hold */
	MHR_ST_STATE,        /* not valid now (OPEN before HELLO, END of resync
				without BEGIN, resync count mismatch) */
	MHR_ST_QUOTA,        /* gateway full */
	MHR_ST_INTERNAL,     /* gateway-side failure (nftables, memory) */
};
#define MHR_STATUS_MAX MHR_ST_INTERNAL

enum mhr_end_reason {
	MHR_END_EXITED = 1,      /* mosh-server exited */
	MHR_END_SOCKET_GONE,     /* its UDP socket left the port */
	MHR_END_KILLED,          /* an admin ended it (mosh-helperctl kill) */
	MHR_END_EXPIRED,         /* handshake or session timeout on the relay */
	MHR_END_WITHDRAWN,       /* another gateway refused it ("all" mode) */
};
#define MHR_END_REASON_MAX MHR_END_WITHDRAWN

/* Why a frame was refused (struct mhr_error.code). */
enum mhr_err {
	MHR_E_NONE = 0,
	MHR_E_SHORT,       /* fewer bytes than a header */
	MHR_E_VERSION,     /* version byte other than MHR_VERSION */
	MHR_E_TYPE,        /* unknown message type */
	MHR_E_TOO_LONG,    /* body length above MHR_MAX_BODY */
	MHR_E_LENGTH,      /* buffer size is not header + body length */
	MHR_E_TRUNCATED,   /* body ends inside a field */
	MHR_E_TRAILING,    /* bytes after the last field */
	MHR_E_ID,          /* id 0 on a relay frame */
	MHR_E_FAMILY,      /* address family code not 4 or 6 (or 0 for a hint) */
	MHR_E_VALUE,       /* a number outside its range or an unknown flag */
	MHR_E_TEXT,        /* text empty, too long or outside its alphabet */
};
#define MHR_E_MAX MHR_E_TEXT

struct mhr_error {
	enum mhr_err code;
	const char *why;   /* static, names the field */
	uint8_t type;      /* header's type and id when the header was read */
	uint32_t id;       /* (for the PROTOCOL answer), else 0 */
};

struct mhr_hello {
	uint64_t instance;
	uint32_t heartbeat_ms;
	char name[MHR_NAME_MAX + 1];         /* NUL-terminated */
	char software[MHR_SOFTWARE_MAX + 1]; /* NUL-terminated, may be "" */
};

struct mhr_open {
	uint32_t sid;
	uint8_t flags;                 /* MHR_OPEN_RESYNC, MHR_OPEN_KEYLESS */
	uint32_t uid;
	struct mh_addr server;         /* AF_INET/AF_INET6, port != 0 */
	struct mh_addr client_hint;    /* family 0: none; port always 0 */
	uint8_t key[SSP_KEY_LEN];      /* wipe with mhr_msg_wipe(); all zero
					  and not on the wire if keyless */
};

struct mhr_end {
	uint32_t sid;
	struct mh_addr server;
	uint8_t reason;                /* enum mhr_end_reason */
};

struct mhr_answer {
	uint8_t of_type;               /* 0 or a relay frame's type */
	uint8_t status;                /* enum mhr_status */
	char reason[MHR_REASON_MAX + 1];
};

struct mhr_msg {
	uint8_t type;
	uint32_t id;
	union {
		struct mhr_hello hello;
		struct mhr_open open;
		struct mhr_end end;
		uint32_t resync_count;     /* RESYNC_BEGIN, RESYNC_END */
		uint64_t heartbeat_ms;     /* HEARTBEAT */
		struct mhr_answer answer;
	} u;
};

/*
 * Stream framing: given the bytes read so far, *frame is the length of the
 * first whole frame, or 0 if more bytes are needed. -EPROTO as soon as the
 * header is bad (version, type, body length), so a reader never waits for
 * a frame that cannot be valid.
 */
int mhr_frame_len(const uint8_t *buf, size_t avail, size_t *frame,
		  struct mhr_error *e);

/* One whole frame: 0, or -EPROTO with *e filled (m left zeroed). */
int mhr_decode(const uint8_t *buf, size_t len, struct mhr_msg *m,
	       struct mhr_error *e);

/* The frame length, -EINVAL (a field the decoder would refuse) or -ENOBUFS. */
ssize_t mhr_encode(const struct mhr_msg *m, uint8_t *buf, size_t cap);

/* Builds the ANSWER to frame (type, id) into m. -EINVAL: reason too long
 * or not printable ASCII, status unknown. */
int mhr_answer(struct mhr_msg *m, uint8_t of_type, uint32_t id,
	       uint8_t status, const char *reason);

/* Clears a message; an OPEN's key is wiped (OPENSSL_cleanse). */
void mhr_msg_wipe(struct mhr_msg *m);

const char *mhr_type_name(uint8_t type);
const char *mhr_status_name(uint8_t status);
const char *mhr_end_reason_name(uint8_t reason);
const char *mhr_err_name(enum mhr_err code);

#endif
