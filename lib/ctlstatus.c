/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control protocol's status reply (ctlproto.h, MHC_STATUS_REPLY): the
 * daemon's role and one record per peer link (a gateway's relays, a
 * relay's gateways), built page by page and encoded into a caller's
 * buffer, and the decoder of its body, which checks every length, state
 * and text before anything is trusted. Pure: no sockets.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "ctlproto.h"
#include "wirebuf.h"

#define STATUS_HEAD_LEN 4                      /* role u8, next u16, count u8 */
#define PEER_FIXED_LEN  (1 + 8 + 8 + 4 + 4 + 3) /* numbers, three text lengths */

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* The peer's encoded size, or 0 if a field is invalid. */
static size_t peer_len(const struct mhc_peer_info *p)
{
	size_t a = strnlen(p->name, sizeof(p->name));
	size_t b = strnlen(p->subject, sizeof(p->subject));
	size_t c = strnlen(p->why, sizeof(p->why));

	if (p->state > MHC_PEER_UP || a > MHC_PEER_NAME_MAX ||
	    b > MHC_PEER_SUBJ_MAX || c > MHC_PEER_WHY_MAX ||
	    !printable(p->name, a) || !printable(p->subject, b) ||
	    !printable(p->why, c))
		return 0;
	return PEER_FIXED_LEN + a + b + c;
}

void mhc_status_init(struct mhc_status_reply *st, uint8_t role)
{
	memset(st, 0, sizeof(*st));
	st->role = role;
	st->len = MHC_HEADER_LEN + STATUS_HEAD_LEN;
}

int mhc_status_add(struct mhc_status_reply *st, const struct mhc_peer_info *p)
{
	size_t len = peer_len(p);

	if (!len || st->role > MH_ROLE_GATEWAY)
		return -EINVAL;
	if (st->len + len > MHC_MAX_MSG || st->n >= MHC_STATUS_PEERS)
		return -ENOBUFS;
	st->p[st->n++] = *p;
	st->len += len;
	return 0;
}

static uint8_t *put_text(uint8_t *p, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	*p++ = (uint8_t)n;
	memcpy(p, s, n);
	return p + n;
}

static uint8_t *put_peer(uint8_t *p, const struct mhc_peer_info *pi)
{
	*p++ = pi->state;
	p = wb_put_be(p, pi->since_ago_ms, 8);
	p = wb_put_be(p, pi->beat_ago_ms, 8);
	p = wb_put_be(p, pi->sessions, 4);
	p = wb_put_be(p, pi->conn, 4);
	p = put_text(p, pi->name, sizeof(pi->name));
	p = put_text(p, pi->subject, sizeof(pi->subject));
	return put_text(p, pi->why, sizeof(pi->why));
}

ssize_t mhc_encode_status(const struct mhc_status_reply *st, uint8_t *buf, size_t cap)
{
	size_t len = MHC_HEADER_LEN + STATUS_HEAD_LEN;
	uint8_t *p = buf + MHC_HEADER_LEN;

	if (st->role > MH_ROLE_GATEWAY || st->n > MHC_STATUS_PEERS)
		return -EINVAL;
	for (unsigned i = 0; i < st->n; i++) {
		size_t k = peer_len(&st->p[i]);

		if (!k)
			return -EINVAL;   /* fields changed since they were added */
		len += k;
	}
	if (len > MHC_MAX_MSG)
		return -EINVAL;
	if (cap < len)
		return -ENOBUFS;
	buf[0] = MHC_VERSION;
	buf[1] = MHC_STATUS_REPLY;
	wb_put_be(buf + 2, len - MHC_HEADER_LEN, 2);
	*p++ = st->role;
	p = wb_put_be(p, st->next, 2);
	*p++ = st->n;
	for (unsigned i = 0; i < st->n; i++)
		p = put_peer(p, &st->p[i]);
	return (ssize_t)(p - buf);
}

/* ---- decoding ---- */

/* A text of at most max bytes, printable, copied NUL-terminated. */
static bool rd_text(struct wb_rd *r, size_t max, char *dst)
{
	uint64_t n;

	if (!wb_rd_be(r, 1, &n) || n > max || r->left < n ||
	    !printable((const char *)r->p, (size_t)n))
		return false;
	memcpy(dst, r->p, (size_t)n);
	dst[n] = '\0';
	r->p += n;
	r->left -= (size_t)n;
	return true;
}

static const char *decode_peer(struct wb_rd *r, struct mhc_peer_info *p)
{
	uint64_t state, sessions, conn;

	if (!wb_rd_be(r, 1, &state) || !wb_rd_be(r, 8, &p->since_ago_ms) ||
	    !wb_rd_be(r, 8, &p->beat_ago_ms) || !wb_rd_be(r, 4, &sessions) ||
	    !wb_rd_be(r, 4, &conn))
		return "peer record truncated";
	if (state > MHC_PEER_UP)
		return "unknown peer state";
	p->state = (uint8_t)state;
	p->sessions = (uint32_t)sessions;
	p->conn = (uint32_t)conn;
	if (!rd_text(r, MHC_PEER_NAME_MAX, p->name))
		return "peer name truncated, too long or not printable";
	if (!rd_text(r, MHC_PEER_SUBJ_MAX, p->subject))
		return "peer subject truncated, too long or not printable";
	if (!rd_text(r, MHC_PEER_WHY_MAX, p->why))
		return "peer reason truncated, too long or not printable";
	return NULL;
}

const char *mhc_decode_status(const uint8_t *body, size_t len,
			      struct mhc_status_reply *st)
{
	struct wb_rd r = { body, len };
	uint64_t role, next, n;
	const char *why;

	memset(st, 0, sizeof(*st));
	if (!wb_rd_be(&r, 1, &role) || !wb_rd_be(&r, 2, &next) || !wb_rd_be(&r, 1, &n))
		return "status reply truncated";
	if (role > MH_ROLE_GATEWAY)
		return "unknown role";
	if (n > MHC_STATUS_PEERS)
		return "more peers than a reply can hold";
	st->role = (uint8_t)role;
	st->next = (uint16_t)next;
	for (unsigned i = 0; i < n; i++, st->n++)
		if ((why = decode_peer(&r, &st->p[i])))
			return why;
	if (r.left)
		return "trailing bytes after the last peer";
	st->len = MHC_HEADER_LEN + len;
	return NULL;
}

const char *mhc_role_name(uint8_t role)
{
	static const char *const names[] = { "host", "relay", "gateway" };

	return role <= MH_ROLE_GATEWAY ? names[role] : "unknown";
}
