/*
 * The control protocol's wire format: encoders for ANNOUNCE and REPLY into a
 * caller's buffer, and one decoder that checks the header, every length and
 * every field's alphabet before anything is trusted. Pure: no sockets.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "control.h"

/* Bounded reader over a received body. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static bool is_b64(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

static bool all_b64(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_b64(s[i]))
			return false;
	return true;
}

static bool all_printable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static void put_header(uint8_t *buf, uint8_t type, size_t body_len)
{
	buf[0] = MHC_VERSION;
	buf[1] = type;
	buf[2] = (uint8_t)(body_len >> 8);
	buf[3] = (uint8_t)body_len;
}

ssize_t mhc_encode_announce(const struct mhc_announce *a, uint8_t *buf,
			    size_t cap)
{
	size_t klen = strnlen(a->key, sizeof(a->key));
	size_t slen = strnlen(a->ssh_connection, sizeof(a->ssh_connection));
	size_t body = 2 + 4 + 1 + klen + 1 + slen;
	uint8_t *p = buf + MHC_HEADER_LEN;

	if (klen != SSP_KEY_B64_LEN || !all_b64((const uint8_t *)a->key, klen))
		return -EINVAL;
	if (slen > MHC_SSH_CONN_MAX ||
	    !all_printable((const uint8_t *)a->ssh_connection, slen))
		return -EINVAL;
	if (cap < MHC_HEADER_LEN + body)
		return -ENOBUFS;
	put_header(buf, MHC_ANNOUNCE, body);
	*p++ = (uint8_t)(a->port >> 8);
	*p++ = (uint8_t)a->port;
	for (int shift = 24; shift >= 0; shift -= 8)
		*p++ = (uint8_t)(a->pid >> shift);
	*p++ = (uint8_t)klen;
	memcpy(p, a->key, klen);
	p += klen;
	*p++ = (uint8_t)slen;
	memcpy(p, a->ssh_connection, slen);
	return (ssize_t)(MHC_HEADER_LEN + body);
}

ssize_t mhc_encode_reply(uint8_t status, const char *reason, uint8_t *buf,
			 size_t cap)
{
	size_t rlen = reason ? strnlen(reason, MHC_REASON_MAX + 1) : 0;
	size_t body = 1 + 1 + rlen;

	if (status > MHC_ERR_INTERNAL || rlen > MHC_REASON_MAX ||
	    !all_printable((const uint8_t *)reason, rlen))
		return -EINVAL;
	if (cap < MHC_HEADER_LEN + body)
		return -ENOBUFS;
	put_header(buf, MHC_REPLY, body);
	buf[MHC_HEADER_LEN] = status;
	buf[MHC_HEADER_LEN + 1] = (uint8_t)rlen;
	if (rlen)
		memcpy(buf + MHC_HEADER_LEN + 2, reason, rlen);
	return (ssize_t)(MHC_HEADER_LEN + body);
}

static bool rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->left--;
	return true;
}

static bool rd_be(struct rd *r, size_t n, uint32_t *v)
{
	if (r->left < n)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = (*v << 8) | r->p[i];
	r->p += n;
	r->left -= n;
	return true;
}

/* A length-prefixed field of at most max bytes, copied NUL-terminated. */
static bool rd_field(struct rd *r, size_t max, char *dst, size_t *len)
{
	uint8_t n;

	if (!rd_u8(r, &n) || n > max || r->left < n)
		return false;
	memcpy(dst, r->p, n);
	dst[n] = '\0';
	*len = n;
	r->p += n;
	r->left -= n;
	return true;
}

static const char *decode_announce(struct rd *r, struct mhc_announce *a)
{
	uint32_t port, pid;
	size_t klen, slen;

	if (!rd_be(r, 2, &port) || !rd_be(r, 4, &pid))
		return "announce body truncated";
	a->port = (uint16_t)port;
	a->pid = pid;
	if (!rd_field(r, SSP_KEY_B64_LEN, a->key, &klen))
		return "key field truncated or too long";
	if (klen != SSP_KEY_B64_LEN)
		return "key is not 22 characters";
	if (!all_b64((const uint8_t *)a->key, klen))
		return "key has a character outside base64";
	if (!rd_field(r, MHC_SSH_CONN_MAX, a->ssh_connection, &slen))
		return "ssh_connection field truncated or too long";
	if (!all_printable((const uint8_t *)a->ssh_connection, slen))
		return "ssh_connection is not printable ASCII";
	return NULL;
}

static const char *decode_reply(struct rd *r, struct mhc_reply *rep)
{
	size_t rlen;

	if (!rd_u8(r, &rep->status))
		return "reply body truncated";
	if (rep->status > MHC_ERR_INTERNAL)
		return "unknown status";
	if (!rd_field(r, MHC_REASON_MAX, rep->reason, &rlen))
		return "reason field truncated or too long";
	if (!all_printable((const uint8_t *)rep->reason, rlen))
		return "reason is not printable ASCII";
	return NULL;
}

static const char *decode(const uint8_t *buf, size_t len, struct mhc_msg *m)
{
	struct rd r = { buf + MHC_HEADER_LEN, 0 };
	const char *why;

	if (len < MHC_HEADER_LEN)
		return "shorter than the header";
	if (len > MHC_MAX_MSG)
		return "longer than the largest message";
	if (buf[0] != MHC_VERSION)
		return "unsupported version";
	if (((size_t)buf[2] << 8 | buf[3]) != len - MHC_HEADER_LEN)
		return "body length does not match the message size";
	r.left = len - MHC_HEADER_LEN;
	m->type = buf[1];
	if (m->type == MHC_ANNOUNCE)
		why = decode_announce(&r, &m->u.announce);
	else if (m->type == MHC_REPLY)
		why = decode_reply(&r, &m->u.reply);
	else
		why = "unknown message type";
	if (!why && r.left)
		why = "trailing bytes after the last field";
	return why;
}

int mhc_decode(const uint8_t *buf, size_t len, struct mhc_msg *m,
	       const char **why)
{
	const char *w;

	memset(m, 0, sizeof(*m));
	w = decode(buf, len, m);
	if (why)
		*why = w;
	if (!w)
		return 0;
	memset(m, 0, sizeof(*m));
	return -EPROTO;
}

const char *mhc_status_name(uint8_t status)
{
	static const char *const names[] = {
		[MHC_OK] = "MHC_OK",
		[MHC_ERR_PROTOCOL] = "MHC_ERR_PROTOCOL",
		[MHC_ERR_RANGE] = "MHC_ERR_RANGE",
		[MHC_ERR_NOT_OWNER] = "MHC_ERR_NOT_OWNER",
		[MHC_ERR_PID] = "MHC_ERR_PID",
		[MHC_ERR_QUOTA] = "MHC_ERR_QUOTA",
		[MHC_ERR_EXISTS] = "MHC_ERR_EXISTS",
		[MHC_ERR_KEY] = "MHC_ERR_KEY",
		[MHC_ERR_INTERNAL] = "MHC_ERR_INTERNAL",
	};

	if (status >= sizeof(names) / sizeof(names[0]))
		return "MHC_ERR_UNKNOWN";
	return names[status];
}
