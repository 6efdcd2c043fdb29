/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the relay <-> gateway wire protocol
 * (lib/relaywire.c) and the resync bookkeeping (lib/relaysync.c).
 * The input is read three ways:
 *  1. as one frame: refused with a known error code, a reason and nothing
 *     left in the message; or accepted and re-encoded to the same bytes,
 *     -ENOBUFS one byte short; mhr_frame_len agrees with the decoder;
 *  2. as a stream: split with mhr_frame_len, each frame decoded, until a
 *     bad header or the end; never past the input;
 *  3. as field values for the encoder: what encodes decodes to the same
 *     fields and re-encodes (into an exact-size heap buffer) to the same
 *     bytes;
 * and, from the same bytes, a program of relay events over six sessions
 * for relaysync: a doom never moves later, a confirmed session is never
 * due, nothing is due before its deadline, and sessions confirmed by the
 * last complete resync survive it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_common.h"
#include "relaysync.h"
#include "relaywire.h"

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void check_frame(const uint8_t *data, size_t size)
{
	struct mhr_msg m;
	struct mhr_error e, fe;
	size_t frame = 0;
	int rc = mhr_decode(data, size, &m, &e);
	int frc = mhr_frame_len(data, size, &frame, &fe);
	uint8_t *buf;
	ssize_t n;

	if (frc < 0)
		FUZZ_ASSERT(rc == -EPROTO && e.code == fe.code,
			    "framing refused (%s), decoder did not agree",
			    mhr_err_name(fe.code));
	if (rc != 0) {
		FUZZ_ASSERT(rc == -EPROTO, "rc %d", rc);
		FUZZ_ASSERT(e.code > MHR_E_NONE && e.code <= MHR_E_MAX, "code %d", e.code);
		FUZZ_ASSERT(e.why && e.why[0], "refusal without a reason");
		FUZZ_ASSERT(all_zero(&m, sizeof(m)), "refused frame left fields");
		return;
	}
	FUZZ_ASSERT(frc == 0 && frame == size, "framing says %zu of %zu", frame, size);
	FUZZ_ASSERT(size >= MHR_HEADER_LEN && size <= MHR_MAX_FRAME, "size %zu", size);
	buf = malloc(size);
	FUZZ_ASSERT(buf, "out of memory");
	n = mhr_encode(&m, buf, size);
	FUZZ_ASSERT(n == (ssize_t)size, "re-encoded to %zd of %zu", n, size);
	FUZZ_ASSERT(memcmp(buf, data, size) == 0, "re-encoded bytes differ");
	n = mhr_encode(&m, buf, size - 1);
	FUZZ_ASSERT(n == -ENOBUFS, "one byte short gave %zd", n);
	free(buf);
}

static void check_stream(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		size_t frame;
		struct mhr_msg m;

		if (mhr_frame_len(data + off, size - off, &frame, NULL) || !frame)
			return;
		FUZZ_ASSERT(frame >= MHR_HEADER_LEN && frame <= size - off &&
			    frame <= MHR_MAX_FRAME, "frame %zu at %zu", frame, off);
		mhr_decode(data + off, frame, &m, NULL);
		mhr_msg_wipe(&m);
		off += frame;
	}
}

static void fill_text(struct fz_reader *r, char *dst, size_t cap)
{
	size_t got, want = fz_u8(r) % cap;   /* < cap: room for the NUL */
	const uint8_t *p = fz_bytes(r, want, &got);

	memset(dst, 0, cap);
	memcpy(dst, p, got);
}

static void fill_addr(struct fz_reader *r, struct mh_addr *a)
{
	uint8_t f = fz_u8(r);
	size_t got;
	const uint8_t *p;

	memset(a, 0, sizeof(*a));
	a->family = f % 4 == 0 ? 0 : f % 4 == 1 ? AF_INET : f % 4 == 2 ? AF_INET6 : AF_UNIX;
	p = fz_bytes(r, a->family == AF_INET ? 4 : 16, &got);
	memcpy(a->ip, p, got);
	a->port = fz_u16(r);
}

static void fill_msg(struct fz_reader *r, struct mhr_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = fz_u8(r) % 9;
	m->id = (uint32_t)fz_u16(r) << 16 | fz_u16(r);
	switch (m->type) {
	case MHR_HELLO:
		m->u.hello.instance = fz_u64(r);
		m->u.hello.heartbeat_ms = (uint32_t)fz_u16(r) << 8 | fz_u8(r);
		fill_text(r, m->u.hello.name, sizeof(m->u.hello.name));
		fill_text(r, m->u.hello.software, sizeof(m->u.hello.software));
		break;
	case MHR_OPEN:
		m->u.open.sid = fz_u8(r);
		m->u.open.flags = fz_u8(r) % 5;   /* 4: unknown */
		m->u.open.uid = (uint32_t)fz_u64(r);
		fill_addr(r, &m->u.open.server);
		fill_addr(r, &m->u.open.client_hint);
		m->u.open.client_hint.port = 0;
		for (int i = 0; i < SSP_KEY_LEN; i++)
			m->u.open.key[i] = fz_u8(r);
		if ((m->u.open.flags & MHR_OPEN_KEYLESS) && fz_u8(r) & 1)
			memset(m->u.open.key, 0, SSP_KEY_LEN);   /* as a relay sends it */
		break;
	case MHR_END:
		m->u.end.sid = fz_u8(r);
		fill_addr(r, &m->u.end.server);
		m->u.end.reason = fz_u8(r) % 8;
		break;
	case MHR_RESYNC_BEGIN:
	case MHR_RESYNC_END:
		m->u.resync_count = (uint32_t)fz_u64(r);
		break;
	case MHR_HEARTBEAT:
		m->u.heartbeat_ms = fz_u64(r);
		break;
	default:
		m->u.answer.of_type = fz_u8(r) % 9;
		m->u.answer.status = fz_u8(r) % 11;
		fill_text(r, m->u.answer.reason, sizeof(m->u.answer.reason));
		break;
	}
}

static void check_encode(struct fz_reader *r)
{
	struct mhr_msg m, back;
	struct mhr_error e;
	uint8_t big[MHR_MAX_FRAME], *buf;
	ssize_t n = 0, k;

	fill_msg(r, &m);
	n = mhr_encode(&m, big, sizeof(big));
	if (n < 0) {
		FUZZ_ASSERT(n == -EINVAL, "encode into the largest frame: %zd", n);
		return;
	}
	FUZZ_ASSERT(mhr_decode(big, (size_t)n, &back, &e) == 0,
		    "own frame refused: %s", e.why);
	buf = malloc((size_t)n);
	FUZZ_ASSERT(buf, "out of memory");
	k = mhr_encode(&back, buf, (size_t)n);
	FUZZ_ASSERT(k == n && memcmp(buf, big, (size_t)n) == 0, "round trip changed bytes");
	free(buf);
	FUZZ_ASSERT(back.type == m.type && back.id == m.id, "header changed");
	if (m.type == MHR_OPEN)
		FUZZ_ASSERT(back.u.open.sid == m.u.open.sid && back.u.open.uid == m.u.open.uid &&
			    back.u.open.flags == m.u.open.flags &&
			    mh_addr_equal(&back.u.open.server, &m.u.open.server) &&
			    back.u.open.client_hint.family == m.u.open.client_hint.family &&
			    memcmp(back.u.open.key, m.u.open.key, SSP_KEY_LEN) == 0,
			    "open fields changed");
	else if (m.type == MHR_HELLO)
		FUZZ_ASSERT(strcmp(back.u.hello.name, m.u.hello.name) == 0 &&
			    strcmp(back.u.hello.software, m.u.hello.software) == 0 &&
			    back.u.hello.instance == m.u.hello.instance, "hello fields changed");
	else if (m.type == MHR_ANSWER)
		FUZZ_ASSERT(strcmp(back.u.answer.reason, m.u.answer.reason) == 0 &&
			    back.u.answer.status == m.u.answer.status, "answer changed");
	mhr_msg_wipe(&back);
}

/* ---- relaysync: a program of relay events over NS sessions ---- */

#define NS 6

struct sess {
	bool held;
	struct mh_rsync_mark m;
};

static void rs_check(const struct sess *s, uint64_t now)
{
	for (int i = 0; i < NS; i++)
		if (s[i].held && s[i].m.end_at_ms == 0)
			FUZZ_ASSERT(!mh_rsync_due(&s[i].m, now), "kept session due");
}

static void check_rsync(struct fz_reader *r)
{
	struct mh_rsync rs = { 0 };
	struct sess s[NS] = { 0 };
	uint64_t now = 0;
	const char *why;

	for (int step = 0; step < 64 && !r->eof; step++) {
		uint8_t op = fz_u8(r), i = (uint8_t)(op >> 4) % NS;

		switch (op % 6) {
		case 0:
			mh_rsync_connect(&rs);
			if (mh_rsync_begin(&rs, fz_u8(r) % 4, &why) != 0)
				FUZZ_ASSERT(why && *why, "begin refused silently");
			break;
		case 1:
			if (mh_rsync_check_open(&rs, op & 8, &why) == 0) {
				if (!s[i].held)
					memset(&s[i].m, 0, sizeof(s[i].m));
				s[i].held = true;
				mh_rsync_confirm(&rs, &s[i].m, op & 8);
				FUZZ_ASSERT(s[i].m.end_at_ms == 0 && s[i].m.gen == rs.gen,
					    "confirm left a doom");
			}
			break;
		case 2:
			if (mh_rsync_end(&rs, fz_u8(r) % 4, &why) != 0)
				break;
			for (int k = 0; k < NS; k++) {
				uint64_t was = s[k].m.end_at_ms;
				bool confirmed = s[k].m.gen == rs.gen;

				if (!s[k].held)
					continue;
				mh_rsync_after_end(&rs, &s[k].m, now, 5000);
				FUZZ_ASSERT(!confirmed || s[k].m.end_at_ms == was,
					    "a listed session doomed");
				FUZZ_ASSERT(!was || s[k].m.end_at_ms <= was, "doom moved later");
			}
			break;
		case 3:
			for (int k = 0; k < NS; k++)
				if (s[k].held) {
					uint64_t was = s[k].m.end_at_ms;

					mh_rsync_orphan(&rs, &s[k].m, now, 60000);
					FUZZ_ASSERT(s[k].m.end_at_ms && (!was || s[k].m.end_at_ms <= was),
						    "orphan doom missing or moved later");
				}
			break;
		case 4:
			now += fz_u16(r);
			for (int k = 0; k < NS; k++)
				if (s[k].held && mh_rsync_due(&s[k].m, now)) {
					FUZZ_ASSERT(now >= s[k].m.end_at_ms, "due before its time");
					s[k].held = false;
				}
			break;
		default:
			break;
		}
		rs_check(s, now);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r;

	check_frame(data, size);
	check_stream(data, size);
	fz_init(&r, data, size);
	check_encode(&r);
	fz_init(&r, data, size);
	check_rsync(&r);
	return 0;
}
