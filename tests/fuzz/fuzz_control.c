/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the control protocol (lib/ctlproto.c,
 * include/ctlproto.h). Every input is decoded as a received message: what is
 * accepted must re-encode to the identical bytes, what is refused must say
 * why and leave nothing behind. The same bytes then fill an ANNOUNCE and a
 * REPLY for the encoders: what encodes must decode to the same fields, and
 * no encoder writes past the buffer it was given (exact-size heap buffers).
 * The admin messages (mosh-helperctl's LIST, STATS, KILL, RELOAD, STATUS
 * and the list, stats and status replies) go through the same, the replies
 * built with mhc_list_add / mhc_stats_add / mhc_status_add from fuzzed
 * fields.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "ctlproto.h"
#include "fuzz_common.h"

static bool all_b64(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return true;
}

static bool all_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Encodes into a heap buffer of exactly cap bytes (ASan sees overruns). */
static ssize_t encode_msg(const struct mhc_msg *m, size_t cap, uint8_t **buf)
{
	*buf = malloc(cap ? cap : 1);
	FUZZ_ASSERT(*buf != NULL, "out of memory");
	switch (m->type) {
	case MHC_ANNOUNCE: return mhc_encode_announce(&m->u.announce, *buf, cap);
	case MHC_LIST: return mhc_encode_list_req(m->u.first_port, *buf, cap);
	case MHC_STATS: return mhc_encode_stats_req(m->u.first_stat, *buf, cap);
	case MHC_KILL: return mhc_encode_kill(m->u.kill_port, *buf, cap);
	case MHC_RELOAD: return mhc_encode_reload(*buf, cap);
	case MHC_LIST_REPLY: return mhc_encode_list(&m->u.list, *buf, cap);
	case MHC_STATS_REPLY: return mhc_encode_stats(&m->u.stats, *buf, cap);
	case MHC_STATUS: return mhc_encode_status_req(m->u.first_peer, *buf, cap);
	case MHC_STATUS_REPLY: return mhc_encode_status(&m->u.status, *buf, cap);
	}
	return mhc_encode_reply(m->u.reply.status, m->u.reply.reason, *buf, cap);
}

static bool stat_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > MHC_STAT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_'))
			return false;
	return true;
}

/* What an accepted list or stats reply must satisfy. */
static void check_list(const struct mhc_list *l)
{
	unsigned ph = 0;

	FUZZ_ASSERT(l->n_sessions <= MHC_LIST_SESSIONS &&
		    l->n_pinholes <= MHC_LIST_PINHOLES, "list counts");
	for (unsigned i = 0; i < l->n_sessions; i++) {
		const struct mhc_session_info *s = &l->s[i];
		size_t slen = strnlen(s->ssh_client, sizeof(s->ssh_client));

		FUZZ_ASSERT(slen <= MHC_SSH_CLIENT_MAX &&
			    all_printable(s->ssh_client, slen), "ssh_client field");
		FUZZ_ASSERT(s->n_pinholes <= MHC_PINHOLES_MAX, "pinholes per session");
		FUZZ_ASSERT(s->first_pinhole == ph, "pinholes not in session order");
		FUZZ_ASSERT(i == 0 || s->port > l->s[i - 1].port, "ports not ascending");
		ph += s->n_pinholes;
	}
	FUZZ_ASSERT(ph == l->n_pinholes, "pinhole count %u vs %u", ph, l->n_pinholes);
	for (unsigned i = 0; i < l->n_pinholes; i++)
		FUZZ_ASSERT(l->ph[i].client.family == AF_INET ||
			    l->ph[i].client.family == AF_INET6, "pinhole family");
}

static void check_status(const struct mhc_status_reply *st, size_t size)
{
	FUZZ_ASSERT(st->n <= MHC_STATUS_PEERS && st->role <= 2, "status counts, role");
	FUZZ_ASSERT(st->len == size, "status len %zu of %zu", st->len, size);
	for (unsigned i = 0; i < st->n; i++) {
		const struct mhc_peer_info *p = &st->p[i];

		FUZZ_ASSERT(p->state <= MHC_PEER_UP, "peer state");
		FUZZ_ASSERT(all_printable(p->name, strlen(p->name)) &&
			    all_printable(p->subject, strlen(p->subject)) &&
			    all_printable(p->why, strlen(p->why)), "peer texts");
	}
}

static void check_stats(const struct mhc_stats *st)
{
	FUZZ_ASSERT(st->n <= MHC_STATS_MAX, "stats count");
	for (unsigned i = 0; i < st->n; i++)
		FUZZ_ASSERT(stat_name_ok(st->st[i].name), "stats name");
}

/* Received bytes: accepted means well-formed and canonical. */
static void check_decode(const uint8_t *data, size_t size)
{
	struct mhc_msg m;
	const char *why = "unset";
	uint8_t *buf;
	ssize_t n;
	int rc = mhc_decode(data, size, &m, &why);

	if (rc != 0) {
		FUZZ_ASSERT(rc == -EPROTO, "rc %d", rc);
		FUZZ_ASSERT(why != NULL && why[0], "refusal without a reason");
		FUZZ_ASSERT(all_zero(&m, sizeof(m)), "refused message left fields set");
		return;
	}
	FUZZ_ASSERT(why == NULL, "accepted with a reason: %s", why);
	FUZZ_ASSERT(size >= MHC_HEADER_LEN && size <= MHC_MAX_MSG, "size %zu", size);
	if (m.type == MHC_ANNOUNCE) {
		const struct mhc_announce *a = &m.u.announce;
		size_t slen = strnlen(a->ssh_connection, sizeof(a->ssh_connection));
		size_t klen = strnlen(a->key, sizeof(a->key));

		/* 22 base64 characters, or none (keyless) */
		FUZZ_ASSERT((klen == SSP_KEY_B64_LEN || klen == 0) &&
			    all_b64(a->key, klen), "key field");
		FUZZ_ASSERT(slen <= MHC_SSH_CONN_MAX &&
			    all_printable(a->ssh_connection, slen), "ssh_connection");
	} else if (m.type == MHC_LIST_REPLY) {
		check_list(&m.u.list);
		FUZZ_ASSERT(m.u.list.len == size, "list len %zu of %zu", m.u.list.len, size);
	} else if (m.type == MHC_STATS_REPLY) {
		check_stats(&m.u.stats);
		FUZZ_ASSERT(m.u.stats.len == size, "stats len %zu of %zu", m.u.stats.len, size);
	} else if (m.type == MHC_STATUS_REPLY) {
		check_status(&m.u.status, size);
	} else if (m.type == MHC_LIST || m.type == MHC_KILL || m.type == MHC_STATUS) {
		FUZZ_ASSERT(size == MHC_HEADER_LEN + 2, "request size %zu", size);
	} else if (m.type == MHC_STATS || m.type == MHC_RELOAD) {
		FUZZ_ASSERT(size == MHC_HEADER_LEN + (m.type == MHC_STATS), "size %zu", size);
	} else {
		size_t rlen = strnlen(m.u.reply.reason, sizeof(m.u.reply.reason));

		FUZZ_ASSERT(m.type == MHC_REPLY, "accepted type %u", m.type);
		FUZZ_ASSERT(m.u.reply.status <= MHC_STATUS_MAX &&
			    strcmp(mhc_status_name(m.u.reply.status), "MHC_ERR_UNKNOWN") != 0,
			    "status %u", m.u.reply.status);
		FUZZ_ASSERT(rlen <= MHC_REASON_MAX && all_printable(m.u.reply.reason, rlen),
			    "reason field");
	}
	n = encode_msg(&m, size, &buf);
	FUZZ_ASSERT(n == (ssize_t)size, "re-encoded to %zd bytes, received %zu", n, size);
	FUZZ_ASSERT(memcmp(buf, data, size) == 0, "re-encoded bytes differ");
	free(buf);
	if (size > 0) {
		n = encode_msg(&m, size - 1, &buf);
		FUZZ_ASSERT(n == -ENOBUFS, "encoding into %zu bytes gave %zd", size - 1, n);
		free(buf);
	}
}

/* The fields an encoder may be handed: anything up to the array size. */
static void fill_msg(struct fz_reader *r, struct mhc_msg *m)
{
	size_t want, got;
	const uint8_t *p;

	memset(m, 0, sizeof(*m));
	m->type = (fz_u8(r) & 1) ? MHC_REPLY : MHC_ANNOUNCE;
	if (m->type == MHC_ANNOUNCE) {
		struct mhc_announce *a = &m->u.announce;

		a->port = fz_u16(r);
		a->pid = (uint32_t)fz_u16(r) << 16 | fz_u16(r);
		want = fz_u8(r) % sizeof(a->key);
		p = fz_bytes(r, want, &got);
		memcpy(a->key, p, got);
		want = fz_u8(r) % sizeof(a->ssh_connection);
		p = fz_bytes(r, want, &got);
		memcpy(a->ssh_connection, p, got);
	} else {
		m->u.reply.status = fz_u8(r);
		want = fz_u16(r) % sizeof(m->u.reply.reason);
		p = fz_bytes(r, want, &got);
		memcpy(m->u.reply.reason, p, got);
	}
}

/* Whether an encoder must accept the fields (its documented checks). */
static bool encodable(const struct mhc_msg *m)
{
	if (m->type == MHC_ANNOUNCE) {
		const struct mhc_announce *a = &m->u.announce;
		size_t klen = strlen(a->key), slen = strlen(a->ssh_connection);

		return (klen == SSP_KEY_B64_LEN || klen == 0) && all_b64(a->key, klen) &&
		       slen <= MHC_SSH_CONN_MAX && all_printable(a->ssh_connection, slen);
	}
	return m->u.reply.status <= MHC_STATUS_MAX &&
	       strlen(m->u.reply.reason) <= MHC_REASON_MAX &&
	       all_printable(m->u.reply.reason, strlen(m->u.reply.reason));
}

/* Fields -> bytes -> fields. */
static void check_encode(struct fz_reader *r)
{
	struct mhc_msg m, back;
	const char *why;
	size_t cap = fz_u16(r) % (MHC_MAX_MSG + 64);
	uint8_t *buf;
	ssize_t n;
	int rc;

	fill_msg(r, &m);
	n = encode_msg(&m, cap, &buf);
	if (n == -ENOBUFS) {   /* then with room to spare */
		free(buf);
		n = encode_msg(&m, MHC_MAX_MSG, &buf);
		FUZZ_ASSERT(n == -EINVAL || n > (ssize_t)cap,
			    "-ENOBUFS with room: %zu for %zd", cap, n);
	}
	if (!encodable(&m)) {
		FUZZ_ASSERT(n == -EINVAL, "invalid fields encoded: %zd", n);
		free(buf);
		return;
	}
	FUZZ_ASSERT(n >= MHC_HEADER_LEN && n <= MHC_MAX_MSG, "encoded %zd", n);
	rc = mhc_decode(buf, (size_t)n, &back, &why);
	FUZZ_ASSERT(rc == 0, "own encoding refused: %s", why ? why : "?");
	FUZZ_ASSERT(back.type == m.type, "type changed");
	if (m.type == MHC_ANNOUNCE)
		FUZZ_ASSERT(back.u.announce.port == m.u.announce.port &&
			    back.u.announce.pid == m.u.announce.pid &&
			    strcmp(back.u.announce.key, m.u.announce.key) == 0 &&
			    strcmp(back.u.announce.ssh_connection,
				   m.u.announce.ssh_connection) == 0,
			    "announce fields changed in a round trip");
	else
		FUZZ_ASSERT(back.u.reply.status == m.u.reply.status &&
			    strcmp(back.u.reply.reason, m.u.reply.reason) == 0,
			    "reply fields changed in a round trip");
	free(buf);
}

/* Requests: whatever the argument, encode -> decode gives it back. */
static void check_requests(struct fz_reader *r)
{
	uint8_t buf[MHC_HEADER_LEN + 2];
	uint16_t port = fz_u16(r);
	uint8_t first = fz_u8(r);
	struct mhc_msg m;
	ssize_t n;

	n = mhc_encode_list_req(port, buf, sizeof(buf));
	FUZZ_ASSERT(n == 6 && mhc_decode(buf, 6, &m, NULL) == 0 &&
		    m.type == MHC_LIST && m.u.first_port == port, "list request");
	n = mhc_encode_kill(port, buf, sizeof(buf));
	FUZZ_ASSERT(n == 6 && mhc_decode(buf, 6, &m, NULL) == 0 &&
		    m.type == MHC_KILL && m.u.kill_port == port, "kill request");
	n = mhc_encode_stats_req(first, buf, sizeof(buf));
	FUZZ_ASSERT(n == 5 && mhc_decode(buf, 5, &m, NULL) == 0 &&
		    m.type == MHC_STATS && m.u.first_stat == first, "stats request");
	n = mhc_encode_reload(buf, sizeof(buf));
	FUZZ_ASSERT(n == 4 && mhc_decode(buf, 4, &m, NULL) == 0 &&
		    m.type == MHC_RELOAD, "reload request");
	n = mhc_encode_status_req(port, buf, sizeof(buf));
	FUZZ_ASSERT(n == 6 && mhc_decode(buf, 6, &m, NULL) == 0 &&
		    m.type == MHC_STATUS && m.u.first_peer == port, "status request");
}

/* A session and pinholes from fuzzed bytes; its model size, or 0 when an
 * encoder must refuse it. */
static size_t fill_session(struct fz_reader *r, struct mhc_session_info *s,
			   struct mhc_pinhole_info *ph, unsigned *n_ph)
{
	size_t want = fz_u8(r) % (MHC_SSH_CLIENT_MAX + 3), got, len;
	const uint8_t *p;
	bool ok = true;

	memset(s, 0, sizeof(*s));
	s->port = fz_u16(r);
	s->uid = (uint32_t)fz_u64(r);
	s->pid = (uint32_t)fz_u64(r);
	s->id = fz_u16(r);
	s->age_ms = fz_u64(r);
	s->alive_ago_ms = fz_u64(r);
	s->contacted = fz_u8(r) & 1;
	p = fz_bytes(r, want > MHC_SSH_CLIENT_MAX ? MHC_SSH_CLIENT_MAX : want, &got);
	memcpy(s->ssh_client, p, got);
	if (want > MHC_SSH_CLIENT_MAX)           /* no NUL inside the array */
		memset(s->ssh_client + got, 'x', sizeof(s->ssh_client) - got);
	got = strnlen(s->ssh_client, sizeof(s->ssh_client));
	ok = got <= MHC_SSH_CLIENT_MAX && all_printable(s->ssh_client, got);
	len = 33 + got;
	*n_ph = fz_u8(r) % (MHC_PINHOLES_MAX + 2);
	ok = ok && *n_ph <= MHC_PINHOLES_MAX;
	for (unsigned i = 0; i < *n_ph && i < MHC_PINHOLES_MAX + 1; i++) {
		uint8_t f = fz_u8(r);

		memset(&ph[i], 0, sizeof(ph[i]));
		ph[i].client.family = f % 8 == 7 ? 1 : (f & 1) ? AF_INET6 : AF_INET;
		p = fz_bytes(r, 16, &got);
		memcpy(ph[i].client.ip, p, got);
		if (ph[i].client.family == AF_INET)
			memset(ph[i].client.ip + 4, 0, 12);
		ph[i].client.port = fz_u16(r);
		ph[i].age_ms = fz_u64(r);
		ok = ok && ph[i].client.family != 1;
		len += ph[i].client.family == AF_INET6 ? 27 : 15;
	}
	return ok ? len : 0;
}

static void check_list_builder(struct fz_reader *r)
{
	static struct mhc_list l;
	static struct mhc_msg back;
	struct mhc_pinhole_info ph[MHC_PINHOLES_MAX + 1];
	struct mhc_session_info s;
	unsigned n_sessions = fz_u8(r) % 40, n_ph;
	uint8_t *buf;
	ssize_t n;

	mhc_list_init(&l);
	for (unsigned k = 0; k < n_sessions; k++) {
		size_t len = fill_session(r, &s, ph, &n_ph), before = l.len;
		unsigned last = l.n_sessions ? l.s[l.n_sessions - 1].port : 0;
		bool order = !l.n_sessions || s.port > last;
		int err = mhc_list_add(&l, &s, ph, n_ph);

		if (!len || !order)
			FUZZ_ASSERT(err == -EINVAL, "invalid session added: %d", err);
		else if (before + len > MHC_MAX_MSG)
			FUZZ_ASSERT(err == -ENOBUFS, "oversize session added: %d", err);
		else
			FUZZ_ASSERT(err == 0 && l.len == before + len,
				    "session refused (%d) or size %zu != %zu",
				    err, l.len - before, len);
		if (err)
			FUZZ_ASSERT(l.len == before, "a refused session changed the list");
	}
	l.next = fz_u16(r);
	n = encode_msg(&(struct mhc_msg){ .type = MHC_LIST_REPLY, .u.list = l },
		       l.len, &buf);
	FUZZ_ASSERT(n == (ssize_t)l.len, "list encoded to %zd, built %zu", n, l.len);
	FUZZ_ASSERT(mhc_decode(buf, (size_t)n, &back, NULL) == 0 &&
		    back.type == MHC_LIST_REPLY, "own list refused");
	FUZZ_ASSERT(back.u.list.n_sessions == l.n_sessions &&
		    back.u.list.n_pinholes == l.n_pinholes &&
		    back.u.list.next == l.next && back.u.list.len == l.len,
		    "list changed in a round trip");
	for (unsigned i = 0; i < l.n_sessions; i++)
		FUZZ_ASSERT(back.u.list.s[i].port == l.s[i].port &&
			    back.u.list.s[i].age_ms == l.s[i].age_ms &&
			    strcmp(back.u.list.s[i].ssh_client, l.s[i].ssh_client) == 0,
			    "session %u changed in a round trip", i);
	for (unsigned i = 0; i < l.n_pinholes; i++)
		FUZZ_ASSERT(mh_addr_equal(&back.u.list.ph[i].client, &l.ph[i].client) &&
			    back.u.list.ph[i].age_ms == l.ph[i].age_ms,
			    "pinhole %u changed in a round trip", i);
	free(buf);
}

static void check_stats_builder(struct fz_reader *r)
{
	static struct mhc_msg back;
	struct mhc_stats st;
	unsigned count = fz_u8(r) % 64;
	uint8_t *buf;
	ssize_t n;

	mhc_stats_init(&st);
	for (unsigned k = 0; k < count; k++) {
		char name[MHC_STAT_NAME_MAX + 3] = "";
		size_t want = fz_u8(r) % (MHC_STAT_NAME_MAX + 2), got, before = st.len;
		const uint8_t *p = fz_bytes(r, want, &got);
		uint64_t v = fz_u64(r);
		int err;

		memcpy(name, p, got);
		name[got] = '\0';
		err = mhc_stats_add(&st, name, v);
		if (!stat_name_ok(name))
			FUZZ_ASSERT(err == -EINVAL, "bad name added: %d", err);
		else
			FUZZ_ASSERT(err == 0 || err == -ENOBUFS, "stats add: %d", err);
		if (err)
			FUZZ_ASSERT(st.len == before, "a refused counter changed the reply");
	}
	st.next = fz_u8(r);
	n = encode_msg(&(struct mhc_msg){ .type = MHC_STATS_REPLY, .u.stats = st },
		       st.len, &buf);
	FUZZ_ASSERT(n == (ssize_t)st.len, "stats encoded to %zd, built %zu", n, st.len);
	FUZZ_ASSERT(mhc_decode(buf, (size_t)n, &back, NULL) == 0 &&
		    back.u.stats.n == st.n && back.u.stats.next == st.next,
		    "own stats refused or changed");
	for (unsigned i = 0; i < st.n; i++)
		FUZZ_ASSERT(back.u.stats.st[i].value == st.st[i].value &&
			    strcmp(back.u.stats.st[i].name, st.st[i].name) == 0,
			    "counter %u changed in a round trip", i);
	free(buf);
}

/* A peer's text from fuzzed bytes: up to max + 1 bytes, unterminated
 * when longer than max (the array is full). */
static void fill_text(struct fz_reader *r, char *dst, size_t max)
{
	size_t want = fz_u8(r) % (max + 2), got;
	const uint8_t *p = fz_bytes(r, want > max ? max : want, &got);

	memcpy(dst, p, got);
	if (want > max)
		memset(dst + got, 'x', max + 1 - got);
}

/* A peer from fuzzed bytes; whether an encoder must take it. */
static bool fill_peer(struct fz_reader *r, struct mhc_peer_info *p)
{
	size_t a, b, c;

	memset(p, 0, sizeof(*p));
	p->state = fz_u8(r) % 3;
	p->since_ago_ms = fz_u64(r);
	p->beat_ago_ms = fz_u64(r);
	p->sessions = (uint32_t)fz_u64(r);
	p->conn = (uint32_t)fz_u64(r);
	fill_text(r, p->name, MHC_PEER_NAME_MAX);
	fill_text(r, p->subject, MHC_PEER_SUBJ_MAX);
	fill_text(r, p->why, MHC_PEER_WHY_MAX);
	a = strnlen(p->name, sizeof(p->name));
	b = strnlen(p->subject, sizeof(p->subject));
	c = strnlen(p->why, sizeof(p->why));
	return p->state <= MHC_PEER_UP && a <= MHC_PEER_NAME_MAX &&
	       b <= MHC_PEER_SUBJ_MAX && c <= MHC_PEER_WHY_MAX &&
	       all_printable(p->name, a) && all_printable(p->subject, b) &&
	       all_printable(p->why, c);
}

static void check_status_builder(struct fz_reader *r)
{
	static struct mhc_msg back;
	static struct mhc_status_reply st;
	struct mhc_peer_info p;
	unsigned count = fz_u8(r) % 24;
	uint8_t *buf;
	ssize_t n;

	mhc_status_init(&st, fz_u8(r) % 3);
	for (unsigned k = 0; k < count; k++) {
		bool ok = fill_peer(r, &p);
		size_t before = st.len;
		int err = mhc_status_add(&st, &p);

		FUZZ_ASSERT(ok ? (err == 0 || err == -ENOBUFS) : err == -EINVAL,
			    "peer add: %d (valid %d)", err, ok);
		if (err)
			FUZZ_ASSERT(st.len == before, "a refused peer changed the reply");
	}
	st.next = fz_u16(r);
	n = encode_msg(&(struct mhc_msg){ .type = MHC_STATUS_REPLY, .u.status = st },
		       st.len, &buf);
	FUZZ_ASSERT(n == (ssize_t)st.len, "status encoded to %zd, built %zu", n, st.len);
	FUZZ_ASSERT(mhc_decode(buf, (size_t)n, &back, NULL) == 0 &&
		    back.u.status.n == st.n && back.u.status.next == st.next &&
		    back.u.status.role == st.role, "own status refused or changed");
	for (unsigned i = 0; i < st.n; i++)
		FUZZ_ASSERT(back.u.status.p[i].since_ago_ms == st.p[i].since_ago_ms &&
			    back.u.status.p[i].sessions == st.p[i].sessions &&
			    strcmp(back.u.status.p[i].subject, st.p[i].subject) == 0 &&
			    strcmp(back.u.status.p[i].why, st.p[i].why) == 0,
			    "peer %u changed in a round trip", i);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r;

	check_decode(data, size);
	fz_init(&r, data, size);
	check_encode(&r);
	/* the same bytes again, for the admin builders (first byte picks) */
	fz_init(&r, data, size);
	switch (fz_u8(&r) % 4) {
	case 0: check_requests(&r); break;
	case 1: check_list_builder(&r); break;
	case 2: check_status_builder(&r); break;
	default: check_stats_builder(&r); break;
	}
	return 0;
}
