/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The relay <-> gateway wire format (include/relaywire.h has the layout):
 * stream framing, one encoder and one decoder over struct mhr_msg. The
 * decoder checks the header, every length, every field's range and
 * alphabet before anything is trusted, and accepts only canonical frames.
 * Pure: no sockets.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "relaywire.h"
#include "wirebuf.h"

/* ---- bounded reader and writer ---- */

struct wr {
	uint8_t *p;
	size_t left;
	bool overflow;
};

static void wr_be(struct wr *w, uint64_t v, size_t n)
{
	if (w->left < n) {
		w->overflow = true;
		w->left = 0;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w->p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w->p += n;
	w->left -= n;
}

static void wr_bytes(struct wr *w, const void *src, size_t n)
{
	if (w->left < n) {
		w->overflow = true;
		w->left = 0;
		return;
	}
	if (n)
		memcpy(w->p, src, n);
	w->p += n;
	w->left -= n;
}

/* ---- field alphabets ---- */

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)s[i] < 0x20 || (uint8_t)s[i] > 0x7e)
			return false;
	return true;
}

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool relay_name(const char *s, size_t n)
{
	if (n == 0 || n > MHR_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

static bool text_ok(const char *s, size_t n, size_t max, bool is_name)
{
	return is_name ? relay_name(s, n) : n <= max && printable(s, n);
}

/* ---- the error record ---- */

static int fail(struct mhr_error *e, enum mhr_err code, const char *why)
{
	e->code = code;
	e->why = why;
	return -EPROTO;
}

/* ---- header ---- */

static bool type_known(uint8_t t)
{
	return t >= MHR_HELLO && t <= MHR_TYPE_MAX;
}

static int check_header(const uint8_t *buf, struct mhr_error *e)
{
	size_t body = (size_t)buf[2] << 8 | buf[3];

	e->type = buf[1];
	e->id = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
		(uint32_t)buf[6] << 8 | buf[7];
	if (buf[0] != MHR_VERSION)
		return fail(e, MHR_E_VERSION, "unsupported protocol version");
	if (!type_known(buf[1]))
		return fail(e, MHR_E_TYPE, "unknown message type");
	if (body > MHR_MAX_BODY)
		return fail(e, MHR_E_TOO_LONG, "body longer than the largest message");
	return 0;
}

int mhr_frame_len(const uint8_t *buf, size_t avail, size_t *frame,
		  struct mhr_error *e)
{
	struct mhr_error dummy;
	size_t need;

	e = e ? e : &dummy;
	memset(e, 0, sizeof(*e));
	*frame = 0;
	if (avail < MHR_HEADER_LEN)
		return 0;
	if (check_header(buf, e))
		return -EPROTO;
	need = MHR_HEADER_LEN + ((size_t)buf[2] << 8 | buf[3]);
	if (avail >= need)
		*frame = need;
	return 0;
}

/* ---- decoding the bodies ---- */

static int rd_text(struct wb_rd *r, char *dst, size_t max, bool is_name,
		   struct mhr_error *e, const char *what)
{
	uint64_t n;

	if (!wb_rd_be(r, 1, &n) || n > r->left)
		return fail(e, MHR_E_TRUNCATED, what);
	if (n > max || !text_ok((const char *)r->p, n, max, is_name))
		return fail(e, MHR_E_TEXT, what);
	wb_rd_bytes(r, dst, n);
	dst[n] = '\0';
	return 0;
}

/* family u8 + address; allow_none: family 0 with no address (a hint) */
static int rd_addr(struct wb_rd *r, struct mh_addr *a, bool allow_none,
		   struct mhr_error *e)
{
	uint64_t fam;

	if (!wb_rd_be(r, 1, &fam))
		return fail(e, MHR_E_TRUNCATED, "address truncated");
	if (fam == 0 && allow_none)
		return 0;
	if (fam != 4 && fam != 6)
		return fail(e, MHR_E_FAMILY, "address family is not 4 or 6");
	a->family = fam == 4 ? AF_INET : AF_INET6;
	if (!wb_rd_bytes(r, a->ip, fam == 4 ? 4 : 16))
		return fail(e, MHR_E_TRUNCATED, "address truncated");
	return 0;
}

static int rd_server(struct wb_rd *r, struct mh_addr *a, struct mhr_error *e)
{
	uint64_t port;

	if (rd_addr(r, a, false, e))
		return -EPROTO;
	if (!wb_rd_be(r, 2, &port))
		return fail(e, MHR_E_TRUNCATED, "server port truncated");
	if (port == 0)
		return fail(e, MHR_E_VALUE, "server port 0");
	a->port = (uint16_t)port;
	return 0;
}

static int rd_sid(struct wb_rd *r, uint32_t *sid, struct mhr_error *e)
{
	uint64_t v;

	if (!wb_rd_be(r, 4, &v))
		return fail(e, MHR_E_TRUNCATED, "session id truncated");
	if (v == 0)
		return fail(e, MHR_E_VALUE, "session id 0");
	*sid = (uint32_t)v;
	return 0;
}

static int dec_hello(struct wb_rd *r, struct mhr_hello *h, struct mhr_error *e)
{
	uint64_t hb;

	if (!wb_rd_be(r, 8, &h->instance) || !wb_rd_be(r, 4, &hb))
		return fail(e, MHR_E_TRUNCATED, "hello truncated");
	if (hb < MHR_HEARTBEAT_MIN_MS || hb > MHR_HEARTBEAT_MAX_MS)
		return fail(e, MHR_E_VALUE, "heartbeat interval outside 100..60000 ms");
	h->heartbeat_ms = (uint32_t)hb;
	if (rd_text(r, h->name, MHR_NAME_MAX, true, e,
		    "relay name empty, too long or not [A-Za-z0-9._-]"))
		return -EPROTO;
	return rd_text(r, h->software, MHR_SOFTWARE_MAX, false, e,
		       "software version too long or not printable ASCII");
}

static int dec_open(struct wb_rd *r, struct mhr_open *o, struct mhr_error *e)
{
	uint64_t flags, uid;

	if (rd_sid(r, &o->sid, e))
		return -EPROTO;
	if (!wb_rd_be(r, 1, &flags) || !wb_rd_be(r, 4, &uid))
		return fail(e, MHR_E_TRUNCATED, "open truncated");
	if (flags & ~(uint64_t)MHR_OPEN_FLAGS)
		return fail(e, MHR_E_VALUE, "unknown open flag");
	o->flags = (uint8_t)flags;
	o->uid = (uint32_t)uid;
	if (rd_server(r, &o->server, e) || rd_addr(r, &o->client_hint, true, e))
		return -EPROTO;
	if (flags & MHR_OPEN_KEYLESS)   /* no key: any byte more is trailing */
		return 0;
	if (!wb_rd_bytes(r, o->key, SSP_KEY_LEN))
		return fail(e, MHR_E_TRUNCATED, "session key truncated");
	return 0;
}

static int dec_end(struct wb_rd *r, struct mhr_end *d, struct mhr_error *e)
{
	uint64_t reason;

	if (rd_sid(r, &d->sid, e) || rd_server(r, &d->server, e))
		return -EPROTO;
	if (!wb_rd_be(r, 1, &reason))
		return fail(e, MHR_E_TRUNCATED, "end reason truncated");
	if (reason == 0 || reason > MHR_END_REASON_MAX)
		return fail(e, MHR_E_VALUE, "unknown end reason");
	d->reason = (uint8_t)reason;
	return 0;
}

static int dec_answer(struct wb_rd *r, struct mhr_answer *a, struct mhr_error *e)
{
	uint64_t of, st;

	if (!wb_rd_be(r, 1, &of) || !wb_rd_be(r, 1, &st))
		return fail(e, MHR_E_TRUNCATED, "answer truncated");
	if (of == MHR_ANSWER || of > MHR_TYPE_MAX)
		return fail(e, MHR_E_VALUE, "answer to a type the relay never sends");
	if (st > MHR_STATUS_MAX)
		return fail(e, MHR_E_VALUE, "unknown answer status");
	a->of_type = (uint8_t)of;
	a->status = (uint8_t)st;
	return rd_text(r, a->reason, MHR_REASON_MAX, false, e,
		       "answer reason too long or not printable ASCII");
}

static int dec_body(struct wb_rd *r, struct mhr_msg *m, struct mhr_error *e)
{
	uint64_t v;

	switch (m->type) {
	case MHR_HELLO:
		return dec_hello(r, &m->u.hello, e);
	case MHR_OPEN:
		return dec_open(r, &m->u.open, e);
	case MHR_END:
		return dec_end(r, &m->u.end, e);
	case MHR_RESYNC_BEGIN:
	case MHR_RESYNC_END:
		if (!wb_rd_be(r, 4, &v))
			return fail(e, MHR_E_TRUNCATED, "resync count truncated");
		m->u.resync_count = (uint32_t)v;
		return 0;
	case MHR_HEARTBEAT:
		if (!wb_rd_be(r, 8, &m->u.heartbeat_ms))
			return fail(e, MHR_E_TRUNCATED, "heartbeat truncated");
		return 0;
	default:
		return dec_answer(r, &m->u.answer, e);
	}
}

static int decode(const uint8_t *buf, size_t len, struct mhr_msg *m,
		  struct mhr_error *e)
{
	struct wb_rd r = { buf + MHR_HEADER_LEN, 0 };

	if (len < MHR_HEADER_LEN)
		return fail(e, MHR_E_SHORT, "shorter than the header");
	if (check_header(buf, e))
		return -EPROTO;
	if (((size_t)buf[2] << 8 | buf[3]) != len - MHR_HEADER_LEN)
		return fail(e, MHR_E_LENGTH, "body length does not match the frame size");
	m->type = e->type;
	m->id = e->id;
	if (m->type != MHR_ANSWER && m->id == 0)
		return fail(e, MHR_E_ID, "frame id 0");
	r.left = len - MHR_HEADER_LEN;
	if (dec_body(&r, m, e))
		return -EPROTO;
	if (r.left)
		return fail(e, MHR_E_TRAILING, "trailing bytes after the last field");
	return 0;
}

int mhr_decode(const uint8_t *buf, size_t len, struct mhr_msg *m,
	       struct mhr_error *e)
{
	struct mhr_error dummy;

	e = e ? e : &dummy;
	memset(e, 0, sizeof(*e));
	memset(m, 0, sizeof(*m));
	if (decode(buf, len, m, e) == 0)
		return 0;
	OPENSSL_cleanse(m, sizeof(*m));
	memset(m, 0, sizeof(*m));
	return -EPROTO;
}

/* ---- encoding ---- */

static bool addr_ok(const struct mh_addr *a, bool allow_none)
{
	if (allow_none && a->family == 0)
		return true;
	return a->family == AF_INET || a->family == AF_INET6;
}

static void wr_addr(struct wr *w, const struct mh_addr *a)
{
	if (a->family == 0) {
		wr_be(w, 0, 1);
		return;
	}
	wr_be(w, a->family == AF_INET ? 4 : 6, 1);
	wr_bytes(w, a->ip, a->family == AF_INET ? 4 : 16);
}

static void wr_text(struct wr *w, const char *s, size_t n)
{
	wr_be(w, n, 1);
	wr_bytes(w, s, n);
}

static int enc_hello(struct wr *w, const struct mhr_hello *h)
{
	size_t n = strnlen(h->name, sizeof(h->name));
	size_t sw = strnlen(h->software, sizeof(h->software));

	if (h->heartbeat_ms < MHR_HEARTBEAT_MIN_MS ||
	    h->heartbeat_ms > MHR_HEARTBEAT_MAX_MS ||
	    !relay_name(h->name, n) || sw > MHR_SOFTWARE_MAX ||
	    !printable(h->software, sw))
		return -EINVAL;
	wr_be(w, h->instance, 8);
	wr_be(w, h->heartbeat_ms, 4);
	wr_text(w, h->name, n);
	wr_text(w, h->software, sw);
	return 0;
}

static bool zero_key(const uint8_t *k)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < SSP_KEY_LEN; i++)
		acc |= k[i];
	return acc == 0;
}

/* A keyless OPEN with key bytes is refused: they would not go on the
 * wire, and a caller that set them meant something else. */
static int enc_open(struct wr *w, const struct mhr_open *o)
{
	if (o->sid == 0 || (o->flags & ~MHR_OPEN_FLAGS) ||
	    ((o->flags & MHR_OPEN_KEYLESS) && !zero_key(o->key)) ||
	    !addr_ok(&o->server, false) || o->server.port == 0 ||
	    !addr_ok(&o->client_hint, true))
		return -EINVAL;
	wr_be(w, o->sid, 4);
	wr_be(w, o->flags, 1);
	wr_be(w, o->uid, 4);
	wr_addr(w, &o->server);
	wr_be(w, o->server.port, 2);
	wr_addr(w, &o->client_hint);
	if (!(o->flags & MHR_OPEN_KEYLESS))
		wr_bytes(w, o->key, SSP_KEY_LEN);
	return 0;
}

static int enc_end(struct wr *w, const struct mhr_end *d)
{
	if (d->sid == 0 || !addr_ok(&d->server, false) || d->server.port == 0 ||
	    d->reason == 0 || d->reason > MHR_END_REASON_MAX)
		return -EINVAL;
	wr_be(w, d->sid, 4);
	wr_addr(w, &d->server);
	wr_be(w, d->server.port, 2);
	wr_be(w, d->reason, 1);
	return 0;
}

static int enc_answer(struct wr *w, const struct mhr_answer *a)
{
	size_t n = strnlen(a->reason, sizeof(a->reason));

	if (a->of_type == MHR_ANSWER || a->of_type > MHR_TYPE_MAX ||
	    a->status > MHR_STATUS_MAX || n > MHR_REASON_MAX ||
	    !printable(a->reason, n))
		return -EINVAL;
	wr_be(w, a->of_type, 1);
	wr_be(w, a->status, 1);
	wr_text(w, a->reason, n);
	return 0;
}

static int enc_body(struct wr *w, const struct mhr_msg *m)
{
	switch (m->type) {
	case MHR_HELLO:
		return enc_hello(w, &m->u.hello);
	case MHR_OPEN:
		return enc_open(w, &m->u.open);
	case MHR_END:
		return enc_end(w, &m->u.end);
	case MHR_RESYNC_BEGIN:
	case MHR_RESYNC_END:
		wr_be(w, m->u.resync_count, 4);
		return 0;
	case MHR_HEARTBEAT:
		wr_be(w, m->u.heartbeat_ms, 8);
		return 0;
	case MHR_ANSWER:
		return enc_answer(w, &m->u.answer);
	}
	return -EINVAL;
}

ssize_t mhr_encode(const struct mhr_msg *m, uint8_t *buf, size_t cap)
{
	uint8_t body[MHR_MAX_BODY];
	struct wr w = { body, sizeof(body), false };
	size_t n;

	if (m->type != MHR_ANSWER && m->id == 0)
		return -EINVAL;
	if (enc_body(&w, m) || w.overflow)
		return -EINVAL;
	n = sizeof(body) - w.left;
	if (cap < MHR_HEADER_LEN + n)
		return -ENOBUFS;
	buf[0] = MHR_VERSION;
	buf[1] = m->type;
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)(m->id >> (24 - 8 * i));
	memcpy(buf + MHR_HEADER_LEN, body, n);
	OPENSSL_cleanse(body, n);   /* an OPEN's key */
	return (ssize_t)(MHR_HEADER_LEN + n);
}

int mhr_answer(struct mhr_msg *m, uint8_t of_type, uint32_t id,
	       uint8_t status, const char *reason)
{
	size_t n = reason ? strnlen(reason, MHR_REASON_MAX + 1) : 0;

	memset(m, 0, sizeof(*m));
	if (n > MHR_REASON_MAX || !printable(reason, n) ||
	    status > MHR_STATUS_MAX || of_type == MHR_ANSWER ||
	    of_type > MHR_TYPE_MAX)
		return -EINVAL;
	m->type = MHR_ANSWER;
	m->id = id;
	m->u.answer.of_type = of_type;
	m->u.answer.status = status;
	if (n)
		memcpy(m->u.answer.reason, reason, n);
	return 0;
}

void mhr_msg_wipe(struct mhr_msg *m)
{
	OPENSSL_cleanse(m, sizeof(*m));
}

/* ---- names ---- */

static const char *lookup(const char *const *names, size_t n, unsigned i,
			  const char *unknown)
{
	return i < n && names[i] ? names[i] : unknown;
}

#define LOOKUP(tab, i, unk) lookup(tab, sizeof(tab) / sizeof(tab[0]), i, unk)

const char *mhr_type_name(uint8_t type)
{
	static const char *const t[] = {
		[MHR_HELLO] = "HELLO", [MHR_OPEN] = "OPEN", [MHR_END] = "END",
		[MHR_RESYNC_BEGIN] = "RESYNC_BEGIN",
		[MHR_RESYNC_END] = "RESYNC_END", [MHR_HEARTBEAT] = "HEARTBEAT",
		[MHR_ANSWER] = "ANSWER",
	};

	return LOOKUP(t, type, "UNKNOWN");
}

const char *mhr_status_name(uint8_t status)
{
	static const char *const t[] = {
		[MHR_ST_OK] = "ok", [MHR_ST_PROTOCOL] = "protocol",
		[MHR_ST_VERSION] = "version", [MHR_ST_NOT_ALLOWED] = "not_allowed",
		[MHR_ST_EXISTS] = "exists", [MHR_ST_NOT_FOUND] = "not_found",
		[MHR_ST_STATE] = "state", [MHR_ST_QUOTA] = "quota",
		[MHR_ST_INTERNAL] = "internal",
	};

	return LOOKUP(t, status, "unknown");
}

const char *mhr_end_reason_name(uint8_t reason)
{
	static const char *const t[] = {
		[MHR_END_EXITED] = "exited", [MHR_END_SOCKET_GONE] = "socket_gone",
		[MHR_END_KILLED] = "killed", [MHR_END_EXPIRED] = "expired",
		[MHR_END_WITHDRAWN] = "withdrawn",
	};

	return LOOKUP(t, reason, "unknown");
}

const char *mhr_err_name(enum mhr_err code)
{
	static const char *const t[] = {
		[MHR_E_NONE] = "none", [MHR_E_SHORT] = "short",
		[MHR_E_VERSION] = "version", [MHR_E_TYPE] = "type",
		[MHR_E_TOO_LONG] = "too_long", [MHR_E_LENGTH] = "length",
		[MHR_E_TRUNCATED] = "truncated", [MHR_E_TRAILING] = "trailing",
		[MHR_E_ID] = "id", [MHR_E_FAMILY] = "family",
		[MHR_E_VALUE] = "value", [MHR_E_TEXT] = "text",
	};

	return LOOKUP(t, (unsigned)code, "unknown");
}
