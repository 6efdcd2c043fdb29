/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control protocol's wire format: encoders for ANNOUNCE, REPLY and the
 * admin messages (LIST, STATS, KILL, RELOAD, STATUS and their replies; the
 * status reply's body is lib/ctlstatus.c's) into a
 * caller's buffer, and one decoder that checks the header, every length and
 * every field's alphabet before anything is trusted. Pure: no sockets.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ctlproto.h"
#include "wirebuf.h"

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

	if ((klen != SSP_KEY_B64_LEN && klen != 0) ||
	    !all_b64((const uint8_t *)a->key, klen))
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

	if (status > MHC_STATUS_MAX || rlen > MHC_REASON_MAX ||
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

/* ---- admin messages (mosh-helperctl) ---- */

static ssize_t encode_fixed(uint8_t type, uint64_t v, size_t n, uint8_t *buf,
			    size_t cap)
{
	if (cap < MHC_HEADER_LEN + n)
		return -ENOBUFS;
	put_header(buf, type, n);
	wb_put_be(buf + MHC_HEADER_LEN, v, n);
	return (ssize_t)(MHC_HEADER_LEN + n);
}

ssize_t mhc_encode_list_req(uint16_t first_port, uint8_t *buf, size_t cap)
{
	return encode_fixed(MHC_LIST, first_port, 2, buf, cap);
}

ssize_t mhc_encode_stats_req(uint8_t first, uint8_t *buf, size_t cap)
{
	return encode_fixed(MHC_STATS, first, 1, buf, cap);
}

ssize_t mhc_encode_kill(uint16_t port, uint8_t *buf, size_t cap)
{
	return encode_fixed(MHC_KILL, port, 2, buf, cap);
}

ssize_t mhc_encode_reload(uint8_t *buf, size_t cap)
{
	return encode_fixed(MHC_RELOAD, 0, 0, buf, cap);
}

ssize_t mhc_encode_status_req(uint16_t first, uint8_t *buf, size_t cap)
{
	return encode_fixed(MHC_STATUS, first, 2, buf, cap);
}

#define SESSION_FIXED_LEN (2 + 4 + 4 + 4 + 8 + 8 + 1 + 1 + 1)
#define PINHOLE_FIXED_LEN (1 + 2 + 8)

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

void mhc_list_init(struct mhc_list *l)
{
	memset(l, 0, sizeof(*l));
	l->len = MHC_HEADER_LEN + MHC_LIST_HEAD_LEN;
}

/* Encoded size of a session record, or 0 if its fields are invalid. */
static size_t session_len(const struct mhc_session_info *s,
			  const struct mhc_pinhole_info *ph, unsigned n_ph)
{
	size_t slen = strnlen(s->ssh_client, sizeof(s->ssh_client));
	size_t len = SESSION_FIXED_LEN + slen;

	if (slen > MHC_SSH_CLIENT_MAX || n_ph > MHC_PINHOLES_MAX ||
	    !all_printable((const uint8_t *)s->ssh_client, slen))
		return 0;
	for (unsigned i = 0; i < n_ph; i++) {
		if (ph[i].client.family != AF_INET && ph[i].client.family != AF_INET6)
			return 0;
		len += PINHOLE_FIXED_LEN + addr_len(ph[i].client.family);
	}
	return len;
}

int mhc_list_add(struct mhc_list *l, const struct mhc_session_info *s,
		 const struct mhc_pinhole_info *ph, unsigned n_ph)
{
	size_t len = session_len(s, ph, n_ph);
	struct mhc_session_info *d;

	if (!len || (l->n_sessions && s->port <= l->s[l->n_sessions - 1].port))
		return -EINVAL;
	if (l->len + len > MHC_MAX_MSG || l->n_sessions >= MHC_LIST_SESSIONS ||
	    l->n_pinholes + n_ph > MHC_LIST_PINHOLES)
		return -ENOBUFS;
	d = &l->s[l->n_sessions++];
	*d = *s;
	d->n_pinholes = (uint8_t)n_ph;
	d->first_pinhole = l->n_pinholes;
	if (n_ph)
		memcpy(&l->ph[l->n_pinholes], ph, n_ph * sizeof(*ph));
	l->n_pinholes = (uint8_t)(l->n_pinholes + n_ph);
	l->len += len;
	return 0;
}

static uint8_t *put_pinhole(uint8_t *p, const struct mhc_pinhole_info *ph)
{
	size_t alen = addr_len(ph->client.family);

	*p++ = ph->client.family == AF_INET6 ? 6 : 4;
	memcpy(p, ph->client.ip, alen);
	p += alen;
	p = wb_put_be(p, ph->client.port, 2);
	return wb_put_be(p, ph->age_ms, 8);
}

static uint8_t *put_session(uint8_t *p, const struct mhc_session_info *s,
			    const struct mhc_pinhole_info *ph)
{
	size_t slen = strnlen(s->ssh_client, sizeof(s->ssh_client));

	p = wb_put_be(p, s->port, 2);
	p = wb_put_be(p, s->uid, 4);
	p = wb_put_be(p, s->pid, 4);
	p = wb_put_be(p, s->id, 4);
	p = wb_put_be(p, s->age_ms, 8);
	p = wb_put_be(p, s->alive_ago_ms, 8);
	*p++ = s->contacted ? MHC_FLAG_CONTACTED : 0;
	*p++ = (uint8_t)slen;
	memcpy(p, s->ssh_client, slen);
	p += slen;
	*p++ = s->n_pinholes;
	for (unsigned i = 0; i < s->n_pinholes; i++)
		p = put_pinhole(p, &ph[i]);
	return p;
}

ssize_t mhc_encode_list(const struct mhc_list *l, uint8_t *buf, size_t cap)
{
	uint8_t *p = buf + MHC_HEADER_LEN;

	if (l->len > MHC_MAX_MSG || l->n_sessions > MHC_LIST_SESSIONS ||
	    l->n_pinholes > MHC_LIST_PINHOLES)
		return -EINVAL;
	for (unsigned i = 0; i < l->n_sessions; i++)
		if (l->s[i].first_pinhole + l->s[i].n_pinholes > l->n_pinholes)
			return -EINVAL;
	if (cap < l->len)
		return -ENOBUFS;
	put_header(buf, MHC_LIST_REPLY, l->len - MHC_HEADER_LEN);
	p = wb_put_be(p, l->next, 2);
	*p++ = l->n_sessions;
	for (unsigned i = 0; i < l->n_sessions; i++)
		p = put_session(p, &l->s[i], &l->ph[l->s[i].first_pinhole]);
	return (ssize_t)(p - buf);
}

static bool stat_name_ok(const char *name, size_t n)
{
	if (n == 0 || n > MHC_STAT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

void mhc_stats_init(struct mhc_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->len = MHC_HEADER_LEN + 1;
}

int mhc_stats_add(struct mhc_stats *st, const char *name, uint64_t value)
{
	size_t n = strnlen(name, MHC_STAT_NAME_MAX + 1);
	char num[24];
	size_t line;

	if (!stat_name_ok(name, n))
		return -EINVAL;
	line = n + 1 + (size_t)snprintf(num, sizeof(num), "%llu",
					(unsigned long long)value) + 1;
	if (st->len + line > MHC_MAX_MSG || st->n >= MHC_STATS_MAX)
		return -ENOBUFS;
	memcpy(st->st[st->n].name, name, n);
	st->st[st->n].name[n] = '\0';
	st->st[st->n].value = value;
	st->n++;
	st->len += line;
	return 0;
}

ssize_t mhc_encode_stats(const struct mhc_stats *st, uint8_t *buf, size_t cap)
{
	size_t used = MHC_HEADER_LEN + 1;

	if (st->len > MHC_MAX_MSG || st->n > MHC_STATS_MAX)
		return -EINVAL;
	if (cap < st->len)
		return -ENOBUFS;
	buf[MHC_HEADER_LEN] = st->next;
	for (unsigned i = 0; i < st->n; i++) {
		char line[MHC_STAT_NAME_MAX + 32];
		size_t n = strnlen(st->st[i].name, sizeof(st->st[i].name));
		int k;

		if (!stat_name_ok(st->st[i].name, n))
			return -EINVAL;
		k = snprintf(line, sizeof(line), "%s %llu\n", st->st[i].name,
			     (unsigned long long)st->st[i].value);
		if (k < 0 || (size_t)k > st->len - used)
			return -EINVAL;   /* fields changed since they were added */
		memcpy(buf + used, line, (size_t)k);
		used += (size_t)k;
	}
	if (used != st->len)
		return -EINVAL;
	put_header(buf, MHC_STATS_REPLY, used - MHC_HEADER_LEN);
	return (ssize_t)used;
}

/* A length-prefixed field of at most max bytes, copied NUL-terminated. */
static bool rd_field(struct wb_rd *r, size_t max, char *dst, size_t *len)
{
	uint8_t n;

	if (!wb_rd_u8(r, &n) || n > max || r->left < n)
		return false;
	memcpy(dst, r->p, n);
	dst[n] = '\0';
	*len = n;
	r->p += n;
	r->left -= n;
	return true;
}

static const char *decode_announce(struct wb_rd *r, struct mhc_announce *a)
{
	uint32_t port, pid;
	size_t klen, slen;

	if (!wb_rd_be32(r, 2, &port) || !wb_rd_be32(r, 4, &pid))
		return "announce body truncated";
	a->port = (uint16_t)port;
	a->pid = pid;
	if (!rd_field(r, SSP_KEY_B64_LEN, a->key, &klen))
		return "key field truncated or too long";
	if (klen != SSP_KEY_B64_LEN && klen != 0)
		return "key is not 22 characters (nor empty, keyless)";
	if (!all_b64((const uint8_t *)a->key, klen))
		return "key has a character outside base64";
	if (!rd_field(r, MHC_SSH_CONN_MAX, a->ssh_connection, &slen))
		return "ssh_connection field truncated or too long";
	if (!all_printable((const uint8_t *)a->ssh_connection, slen))
		return "ssh_connection is not printable ASCII";
	return NULL;
}

static const char *decode_reply(struct wb_rd *r, struct mhc_reply *rep)
{
	size_t rlen;

	if (!wb_rd_u8(r, &rep->status))
		return "reply body truncated";
	if (rep->status > MHC_STATUS_MAX)
		return "unknown status";
	if (!rd_field(r, MHC_REASON_MAX, rep->reason, &rlen))
		return "reason field truncated or too long";
	if (!all_printable((const uint8_t *)rep->reason, rlen))
		return "reason is not printable ASCII";
	return NULL;
}

/* LIST, STATS, KILL, RELOAD: a fixed-size body each. */
static const char *decode_request(struct wb_rd *r, struct mhc_msg *m)
{
	uint32_t v = 0;

	switch (m->type) {
	case MHC_LIST:
		if (!wb_rd_be32(r, 2, &v))
			return "list request truncated";
		m->u.first_port = (uint16_t)v;
		break;
	case MHC_KILL:
		if (!wb_rd_be32(r, 2, &v))
			return "kill request truncated";
		m->u.kill_port = (uint16_t)v;
		break;
	case MHC_STATS:
		if (!wb_rd_be32(r, 1, &v))
			return "stats request truncated";
		m->u.first_stat = (uint8_t)v;
		break;
	default:   /* MHC_RELOAD: nothing */
		break;
	}
	return NULL;
}

static const char *decode_pinhole(struct wb_rd *r, struct mhc_pinhole_info *ph)
{
	uint8_t fam;
	uint32_t port;
	size_t alen;

	if (!wb_rd_u8(r, &fam))
		return "pinhole record truncated";
	if (fam != 4 && fam != 6)
		return "pinhole family is neither 4 nor 6";
	ph->client.family = fam == 6 ? AF_INET6 : AF_INET;
	alen = addr_len(ph->client.family);
	if (r->left < alen)
		return "pinhole record truncated";
	memcpy(ph->client.ip, r->p, alen);
	r->p += alen;
	r->left -= alen;
	if (!wb_rd_be32(r, 2, &port) || !wb_rd_be(r, 8, &ph->age_ms))
		return "pinhole record truncated";
	ph->client.port = (uint16_t)port;
	return NULL;
}

static const char *decode_session(struct wb_rd *r, struct mhc_list *l,
				  struct mhc_session_info *s)
{
	uint32_t port;
	uint8_t flags, n;
	size_t slen;
	const char *why;

	if (!wb_rd_be32(r, 2, &port) || !wb_rd_be32(r, 4, &s->uid) ||
	    !wb_rd_be32(r, 4, &s->pid) || !wb_rd_be32(r, 4, &s->id) ||
	    !wb_rd_be(r, 8, &s->age_ms) || !wb_rd_be(r, 8, &s->alive_ago_ms) ||
	    !wb_rd_u8(r, &flags))
		return "session record truncated";
	s->port = (uint16_t)port;
	if (flags & ~MHC_FLAG_CONTACTED)
		return "unknown session flag";
	s->contacted = flags & MHC_FLAG_CONTACTED;
	if (!rd_field(r, MHC_SSH_CLIENT_MAX, s->ssh_client, &slen))
		return "ssh_client field truncated or too long";
	if (!all_printable((const uint8_t *)s->ssh_client, slen))
		return "ssh_client is not printable ASCII";
	if (!wb_rd_u8(r, &n))
		return "session record truncated";
	if (n > MHC_PINHOLES_MAX)
		return "more pinholes than a session can hold";
	if (l->n_pinholes + n > MHC_LIST_PINHOLES)
		return "more pinholes than a reply can hold";
	s->n_pinholes = n;
	s->first_pinhole = l->n_pinholes;
	for (unsigned i = 0; i < n; i++)
		if ((why = decode_pinhole(r, &l->ph[l->n_pinholes++])))
			return why;
	return NULL;
}

static const char *decode_list(struct wb_rd *r, struct mhc_list *l, size_t len)
{
	uint32_t next;
	uint8_t n;
	const char *why;

	if (!wb_rd_be32(r, 2, &next) || !wb_rd_u8(r, &n))
		return "list reply truncated";
	l->next = (uint16_t)next;
	if (n > MHC_LIST_SESSIONS)
		return "more sessions than a reply can hold";
	for (unsigned i = 0; i < n; i++) {
		if ((why = decode_session(r, l, &l->s[i])))
			return why;
		l->n_sessions++;
		if (i && l->s[i].port <= l->s[i - 1].port)
			return "session ports not in ascending order";
	}
	l->len = len - r->left;
	return NULL;
}

/* "name value\n": name [a-z0-9_]{1,40}, value decimal without leading zeros. */
static const char *decode_stat_line(struct wb_rd *r, struct mhc_stat *st)
{
	const uint8_t *sp = memchr(r->p, ' ', r->left), *nl;
	size_t n, k;
	uint64_t v = 0;

	if (!sp)
		return "stats line without a value";
	n = (size_t)(sp - r->p);
	if (!stat_name_ok((const char *)r->p, n))
		return "stats name empty, too long or not [a-z0-9_]";
	nl = memchr(sp + 1, '\n', r->left - n - 1);
	if (!nl)
		return "stats line not terminated";
	k = (size_t)(nl - sp - 1);
	if (k == 0 || k > 20 || (k > 1 && sp[1] == '0'))
		return "stats value empty, too long or with a leading zero";
	for (size_t i = 0; i < k; i++) {
		unsigned dgt = (unsigned)sp[1 + i] - '0';

		if (dgt > 9)
			return "stats value is not a decimal number";
		if (v > (UINT64_MAX - dgt) / 10)
			return "stats value above 2^64-1";
		v = v * 10 + dgt;
	}
	memcpy(st->name, r->p, n);
	st->name[n] = '\0';
	st->value = v;
	r->p = nl + 1;
	r->left -= n + 1 + k + 1;
	return NULL;
}

static const char *decode_stats(struct wb_rd *r, struct mhc_stats *st, size_t len)
{
	const char *why;

	if (!wb_rd_u8(r, &st->next))
		return "stats reply truncated";
	while (r->left) {
		if (st->n >= MHC_STATS_MAX)
			return "more counters than a reply can hold";
		if ((why = decode_stat_line(r, &st->st[st->n])))
			return why;
		st->n++;
	}
	st->len = len;
	return NULL;
}

static const char *decode(const uint8_t *buf, size_t len, struct mhc_msg *m)
{
	struct wb_rd r = { buf + MHC_HEADER_LEN, 0 };
	const char *why;
	uint32_t v = 0;

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
	switch (m->type) {
	case MHC_ANNOUNCE:
		why = decode_announce(&r, &m->u.announce);
		break;
	case MHC_REPLY:
		why = decode_reply(&r, &m->u.reply);
		break;
	case MHC_LIST:
	case MHC_KILL:
	case MHC_STATS:
	case MHC_RELOAD:
		why = decode_request(&r, m);
		break;
	case MHC_LIST_REPLY:
		why = decode_list(&r, &m->u.list, len);
		break;
	case MHC_STATS_REPLY:
		why = decode_stats(&r, &m->u.stats, len);
		break;
	case MHC_STATUS:
		why = wb_rd_be32(&r, 2, &v) ? NULL : "status request truncated";
		m->u.first_peer = (uint16_t)v;
		break;
	case MHC_STATUS_REPLY:
		why = mhc_decode_status(r.p, r.left, &m->u.status);
		r.left = 0;
		break;
	default:
		why = "unknown message type";
	}
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
		[MHC_ERR_PERM] = "MHC_ERR_PERM",
		[MHC_ERR_NOT_FOUND] = "MHC_ERR_NOT_FOUND",
		[MHC_ERR_GATEWAY] = "MHC_ERR_GATEWAY",
	};

	if (status >= sizeof(names) / sizeof(names[0]))
		return "MHC_ERR_UNKNOWN";
	return names[status];
}

bool mhc_port_taken(uint8_t status, const char *reason)
{
	return status == MHC_ERR_EXISTS ||
	       (status == MHC_ERR_NOT_OWNER && reason && strstr(reason, MHC_WHY_SHARED));
}
