/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The privilege-separation messages between the gateway's relay listener
 * and its daemon (include/gwpriv.h): encoder and a decoder that checks
 * every length, the subject's alphabet, the SANs' families, and decodes
 * the carried frame again with the relay frame decoder. Pure.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "gwpriv.h"

#define HDR 5

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)s[i] < 0x20 || (uint8_t)s[i] > 0x7e)
			return false;
	return true;
}

static bool kind_known(uint8_t k)
{
	return k == MH_GWP_READY || k == MH_GWP_FAIL || k == MH_GWP_UP ||
	       k == MH_GWP_MSG || k == MH_GWP_DOWN || k == MH_GWP_ANS ||
	       k == MH_GWP_BEAT;
}

/* The frame types each kind may carry (0: none). */
static bool frame_fits(uint8_t kind, uint8_t type)
{
	switch (kind) {
	case MH_GWP_UP:
		return type == MHR_HELLO;
	case MH_GWP_MSG:
		return type == MHR_OPEN || type == MHR_END ||
		       type == MHR_RESYNC_BEGIN || type == MHR_RESYNC_END;
	case MH_GWP_ANS:
		return type == MHR_ANSWER;
	}
	return false;
}

static bool carries_frame(uint8_t kind)
{
	return kind == MH_GWP_UP || kind == MH_GWP_MSG || kind == MH_GWP_ANS;
}

/* ---- encoding ---- */

static ssize_t enc_up(const struct mh_gwp *p, uint8_t *buf, size_t cap)
{
	size_t n = strlen(p->subject), off = 0, need;

	if (n == 0 || n > MH_GWP_SUBJ_MAX || !printable(p->subject, n) ||
	    p->n_addrs > MH_GWP_ADDRS_MAX)
		return -EINVAL;
	need = 2 + n;
	for (unsigned i = 0; i < p->n_addrs; i++)
		need += p->addrs[i].family == AF_INET ? 5 : 17;
	if (cap < need)
		return -ENOBUFS;
	buf[off++] = (uint8_t)n;
	memcpy(buf + off, p->subject, n);
	off += n;
	buf[off++] = (uint8_t)p->n_addrs;
	for (unsigned i = 0; i < p->n_addrs; i++) {
		const struct mh_addr *a = &p->addrs[i];
		size_t l = a->family == AF_INET ? 4 : 16;

		if (a->family != AF_INET && a->family != AF_INET6)
			return -EINVAL;
		buf[off++] = a->family == AF_INET ? 4 : 6;
		memcpy(buf + off, a->ip, l);
		off += l;
	}
	return (ssize_t)off;
}

static ssize_t enc_body(const struct mh_gwp *p, uint8_t *buf, size_t cap)
{
	ssize_t n = 0, f;
	size_t t;

	if (p->kind == MH_GWP_FAIL) {
		t = strlen(p->text);
		if (t > MH_GWP_TEXT_MAX || !printable(p->text, t))
			return -EINVAL;
		if (cap < t)
			return -ENOBUFS;
		memcpy(buf, p->text, t);
		return (ssize_t)t;
	}
	if (p->kind == MH_GWP_UP && (n = enc_up(p, buf, cap)) < 0)
		return n;
	if (!carries_frame(p->kind))
		return 0;
	if (!frame_fits(p->kind, p->msg.type))
		return -EINVAL;
	f = mhr_encode(&p->msg, buf + n, cap - (size_t)n);
	return f < 0 ? f : n + f;
}

ssize_t mh_gwp_encode(const struct mh_gwp *p, uint8_t *buf, size_t cap)
{
	bool needs_relay = p->kind != MH_GWP_READY && p->kind != MH_GWP_FAIL;
	ssize_t n;

	if (!kind_known(p->kind) || needs_relay != (p->relay != 0))
		return -EINVAL;
	if (cap < HDR)
		return -ENOBUFS;
	buf[0] = p->kind;
	put32(buf + 1, p->relay);
	n = enc_body(p, buf + HDR, cap - HDR);
	return n < 0 ? n : n + HDR;
}

/* ---- decoding ---- */

static int fail(const char **why, const char *text)
{
	*why = text;
	return -EPROTO;
}

static int dec_addrs(const uint8_t **pp, size_t *left, struct mh_gwp *p,
		     const char **why)
{
	const uint8_t *b = *pp;
	size_t l = *left;

	if (l < 1 || b[0] > MH_GWP_ADDRS_MAX)
		return fail(why, "SAN count missing or above the limit");
	p->n_addrs = b[0];
	b++, l--;
	for (unsigned i = 0; i < p->n_addrs; i++) {
		size_t al = !l ? 0 : b[0] == 4 ? 4 : b[0] == 6 ? 16 : 0;

		if (!al)
			return fail(why, "SAN family not 4 or 6");
		if (l < 1 + al)
			return fail(why, "SAN list truncated");
		p->addrs[i].family = al == 4 ? AF_INET : AF_INET6;
		memcpy(p->addrs[i].ip, b + 1, al);
		b += 1 + al;
		l -= 1 + al;
	}
	*pp = b;
	*left = l;
	return 0;
}

static int dec_up(const uint8_t **pp, size_t *left, struct mh_gwp *p,
		  const char **why)
{
	const uint8_t *b = *pp;
	size_t n = *left ? b[0] : 0;

	if (n == 0 || *left < 1 + n)
		return fail(why, "subject missing or truncated");
	memcpy(p->subject, b + 1, n);
	p->subject[n] = '\0';
	if (!printable(p->subject, n))
		return fail(why, "subject not printable");
	*pp = b + 1 + n;
	*left -= 1 + n;
	return dec_addrs(pp, left, p, why);
}

static int dec_text(const uint8_t *b, size_t n, struct mh_gwp *p,
		    const char **why)
{
	if (n > MH_GWP_TEXT_MAX)
		return fail(why, "text too long");
	memcpy(p->text, b, n);
	p->text[n] = '\0';
	return printable(p->text, n) ? 0 : fail(why, "text not printable");
}

static int dec_frame(const uint8_t *b, size_t n, struct mh_gwp *p,
		     const char **why)
{
	struct mhr_error e;

	if (!carries_frame(p->kind))
		return n ? fail(why, "trailing bytes") : 0;
	if (mhr_decode(b, n, &p->msg, &e) < 0)
		return fail(why, e.why ? e.why : "frame does not decode");
	if (!frame_fits(p->kind, p->msg.type))
		return fail(why, "frame type not allowed in this message");
	return 0;
}

int mh_gwp_decode(const uint8_t *buf, size_t len, struct mh_gwp *p,
		  const char **why)
{
	const uint8_t *b;
	size_t left;
	int err;

	memset(p, 0, sizeof(*p));
	if (len < HDR || len > MH_GWP_MAX)
		return fail(why, "message length out of range");
	b = buf + HDR;
	left = len - HDR;
	p->kind = buf[0];
	p->relay = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 |
		   (uint32_t)buf[3] << 8 | buf[4];
	if (!kind_known(p->kind))
		return fail(why, "unknown message kind");
	if ((p->kind != MH_GWP_READY && p->kind != MH_GWP_FAIL) != (p->relay != 0))
		return fail(why, "relay number 0 where one is needed, or the reverse");
	if (p->kind == MH_GWP_FAIL)
		return dec_text(b, left, p, why);
	if (p->kind == MH_GWP_UP && (err = dec_up(&b, &left, p, why)) < 0)
		return err;
	return dec_frame(b, left, p, why);
}

int mh_gwp_addr_listed(const struct mh_addr *addrs, unsigned n,
		       const struct mh_addr *a)
{
	size_t l = a->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < n; i++)
		if (addrs[i].family == a->family && memcmp(addrs[i].ip, a->ip, l) == 0)
			return 1;
	return 0;
}

void mh_gwp_wipe(struct mh_gwp *p)
{
	mhr_msg_wipe(&p->msg);
	OPENSSL_cleanse(p, sizeof(*p));
}
