/*
 * libFuzzer target for the control protocol (lib/control.c,
 * include/control.h). Every input is decoded as a received message: what is
 * accepted must re-encode to the identical bytes, what is refused must say
 * why and leave nothing behind. The same bytes then fill an ANNOUNCE and a
 * REPLY for the encoders: what encodes must decode to the same fields, and
 * no encoder writes past the buffer it was given (exact-size heap buffers).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "control.h"
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
	if (m->type == MHC_ANNOUNCE)
		return mhc_encode_announce(&m->u.announce, *buf, cap);
	return mhc_encode_reply(m->u.reply.status, m->u.reply.reason, *buf, cap);
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

		FUZZ_ASSERT(strnlen(a->key, sizeof(a->key)) == SSP_KEY_B64_LEN &&
			    all_b64(a->key, SSP_KEY_B64_LEN), "key field");
		FUZZ_ASSERT(slen <= MHC_SSH_CONN_MAX &&
			    all_printable(a->ssh_connection, slen), "ssh_connection");
	} else {
		size_t rlen = strnlen(m.u.reply.reason, sizeof(m.u.reply.reason));

		FUZZ_ASSERT(m.type == MHC_REPLY, "accepted type %u", m.type);
		FUZZ_ASSERT(m.u.reply.status <= MHC_ERR_INTERNAL &&
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

		return klen == SSP_KEY_B64_LEN && all_b64(a->key, klen) &&
		       slen <= MHC_SSH_CONN_MAX && all_printable(a->ssh_connection, slen);
	}
	return m->u.reply.status <= MHC_ERR_INTERNAL &&
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r;

	check_decode(data, size);
	fz_init(&r, data, size);
	check_encode(&r);
	return 0;
}
