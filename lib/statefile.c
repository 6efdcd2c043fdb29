/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The restart state file of mosh-helperd and the keyring payload (see
 * statefile.h). The file is plain text, one record per line, closed by a
 * line with the session count and an FNV-1a checksum of everything above
 * it, so a file cut short or damaged is refused before anything is used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statefile.h"

#define MAGIC       "mosh-helperd-state"
#define LINE_MAX_LEN 1024
#define FNV_OFFSET  UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME   UINT64_C(0x100000001b3)
#define KEY_MAGIC   "MHK1"

static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * FNV_PRIME;
	return h;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */

static void append(struct mh_statefile_enc *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void append(struct mh_statefile_enc *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->err)
		return;
	for (;;) {
		size_t room = e->cap - e->len;

		va_start(ap, fmt);
		n = vsnprintf(e->buf ? e->buf + e->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			e->err = -EINVAL;
			return;
		}
		if ((size_t)n < room) {
			e->len += (size_t)n;
			return;
		}
		size_t cap = e->cap ? e->cap * 2 : 4096;
		while (cap - e->len <= (size_t)n)
			cap *= 2;
		if (cap > MH_STATE_MAX_FILE) {
			e->err = -EFBIG;
			return;
		}
		char *nb = realloc(e->buf, cap);
		if (!nb) {
			e->err = -ENOMEM;
			return;
		}
		e->buf = nb;
		e->cap = cap;
	}
}

static bool ssh_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '_';
}

/* "-" for empty; any byte but [A-Za-z0-9.:_] as %XX. */
static void put_ssh(struct mh_statefile_enc *e, const char *s)
{
	char out[3 * sizeof(((struct mh_saved_session *)0)->ssh_client) + 1];
	size_t o = 0;

	if (!s[0]) {
		append(e, "-");
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s;
	     *p && o + 4 < sizeof(out); p++) {
		if (ssh_plain(*p))
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%%%02X", *p);
	}
	out[o] = 0;
	append(e, "%s", out);
}

/* "COOKIE:INODE,..." in decimal, "-" for none; a socket bound to a device
 * (found by its lookup only with it) adds ":IFINDEX" */
static void put_socks(struct mh_statefile_enc *e, const struct mh_sockid *id,
		      unsigned n)
{
	if (!n)
		append(e, "-");
	for (unsigned i = 0; i < n && i < MH_MAX_BOUND; i++) {
		append(e, "%s%llu:%u", i ? "," : "", (unsigned long long)id[i].cookie,
		       (unsigned)id[i].ino);
		if (id[i].ifindex)
			append(e, ":%u", (unsigned)id[i].ifindex);
	}
}

/* The checksum follows the text as it grows, so that closing a big file
 * (written a slice of sessions at a time) costs no pass over all of it. */
static void enc_hash(struct mh_statefile_enc *e)
{
	if (e->err || e->len == e->hashed)
		return;
	e->fnv = fnv1a(e->fnv, e->buf + e->hashed, e->len - e->hashed);
	e->hashed = e->len;
}

int mh_statefile_enc_begin(struct mh_statefile_enc *e, const char *boot_id,
			   const char *table, uint32_t next_id)
{
	memset(e, 0, sizeof(*e));
	e->fnv = FNV_OFFSET;
	append(e, "# mosh-helperd restart state: sessions to resume after a restart;"
		  " no key material\n");
	append(e, "%s %d\n", MAGIC, MH_STATE_VERSION);
	append(e, "boot %s\n", boot_id);
	append(e, "table %s\n", table);
	append(e, "next_id %u\n", next_id);
	return e->err;
}

void mh_statefile_enc_session(struct mh_statefile_enc *e, const struct mh_saved_session *s)
{
	char bound[256] = "-";

	if (s->n_bound && mh_bound_format(s->bound, s->n_bound, bound, sizeof(bound)) < 0)
		snprintf(bound, sizeof(bound), "-");
	append(e, "session id=%u port=%u uid=%u pid=%d start=%llu announced=%llu "
		  "alive=%llu contacted=%d seen_in=%d max_seq_in=%llu "
		  "max_pinholes=%u ssh=", s->id, s->port, (unsigned)s->uid,
	       (int)s->pid, (unsigned long long)s->pid_start,
	       (unsigned long long)s->announced_ms,
	       (unsigned long long)s->last_alive_ms, s->contacted, s->seen_in,
	       (unsigned long long)s->max_seq_in, s->max_pinholes);
	put_ssh(e, s->ssh_client);
	append(e, " bound=%s sock=", bound);
	put_socks(e, s->sock, s->n_sock);
	append(e, "\n");
	for (unsigned i = 0; i < s->n_ph && i < MH_PINHOLES_CAP; i++) {
		char a[MH_ADDRSTRLEN];

		append(e, "pinhole port=%u client=%s added=%llu\n", s->port,
		       mh_addr_str(&s->ph[i].client, a, sizeof(a)),
		       (unsigned long long)s->ph[i].added_ms);
	}
	if (!e->err)
		e->n++;
	enc_hash(e);
}

int mh_statefile_enc_end(struct mh_statefile_enc *e)
{
	enc_hash(e);
	if (e->err)
		return e->err;
	append(e, "end %u fnv=%016llx\n", e->n, (unsigned long long)e->fnv);
	return e->err;
}

size_t mh_statefile_enc_take(struct mh_statefile_enc *e, const char **text)
{
	size_t n = e->len;

	enc_hash(e);
	*text = e->buf;
	e->len = e->hashed = 0;
	return n;
}

void mh_statefile_enc_free(struct mh_statefile_enc *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

struct dec {
	struct mh_statefile *st;
	unsigned line;
	int stage;                 /* 0 magic, 1 boot, 2 table, 3 next_id, 4 records */
	uint8_t *ports;            /* bitmap of ports seen */
	unsigned cap;
	char *err;
	size_t errlen;
};

static int bad(struct dec *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct dec *d, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(d->err, d->errlen, "line %u: %s", d->line, why);
	return -EINVAL;
}

/* Strict decimal: digits only, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_ssh(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	if (!strcmp(s, "-")) {
		out[0] = 0;
		return 0;
	}
	while (*s) {
		int c = (unsigned char)*s, hi, lo;

		if (c == '%') {
			hi = hexval(s[1]);
			lo = hi < 0 ? -1 : hexval(s[2]);
			if (lo < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			if (c == 0 || ssh_plain((unsigned char)c))
				return -EINVAL;   /* not canonical */
			s += 3;
		} else if (ssh_plain((unsigned char)c)) {
			s++;
		} else {
			return -EINVAL;
		}
		if (o + 1 >= cap)
			return -EINVAL;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return o ? 0 : -EINVAL;
}

/* "198.18.3.10:41000" or "[fd00::2]:41000" */
static int parse_addr(const char *s, struct mh_addr *a)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *colon;
	uint64_t port;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		const char *end = strstr(s, "]:");

		if (!end)
			return -EINVAL;
		n = (size_t)(end - s - 1);
		colon = end + 1;
		s++;
		a->family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
		a->family = AF_INET;
	}
	if (n == 0 || n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = 0;
	if (inet_pton(a->family, ip, a->ip) != 1 ||
	    parse_u64(colon + 1, 65535, &port) < 0 || port == 0)
		return -EINVAL;
	a->port = (uint16_t)port;
	return 0;
}

/* Splits "k=v" tokens of a record; *val points into tok. */
static int split_kv(char *tok, char **val)
{
	char *eq = strchr(tok, '=');

	if (!eq || eq == tok)
		return -EINVAL;
	*eq = 0;
	*val = eq + 1;
	return 0;
}

enum { F_ID, F_PORT, F_UID, F_PID, F_START, F_ANN, F_ALIVE, F_CONTACTED,
       F_SEEN, F_MAXSEQ, F_MAXPH, F_SSH, F_BOUND, F_SOCK, F_COUNT };

static const char *const session_fields[F_COUNT] = {
	"id", "port", "uid", "pid", "start", "announced", "alive",
	"contacted", "seen_in", "max_seq_in", "max_pinholes", "ssh", "bound",
	"sock",   /* since version 2 */
};

/* "-" or 1..MH_MAX_BOUND "COOKIE:INODE[:IFINDEX]" (cookie not 0, ifindex
 * 1 or more), distinct cookies, separated by single commas */
static int parse_socks(char *v, struct mh_sockid *id, unsigned *n)
{
	char *tok, *colon, *dev;
	uint64_t c, ino, ifindex;

	*n = 0;
	if (!strcmp(v, "-"))
		return 0;
	while ((tok = strsep(&v, ","))) {
		colon = strchr(tok, ':');
		if (!colon || *n == MH_MAX_BOUND)
			return -EINVAL;
		*colon = 0;
		dev = strchr(colon + 1, ':');
		ifindex = 0;
		if (dev) {
			*dev = 0;
			if (parse_u64(dev + 1, INT32_MAX, &ifindex) < 0 || !ifindex)
				return -EINVAL;
		}
		if (parse_u64(tok, UINT64_MAX, &c) < 0 || c == 0 ||
		    parse_u64(colon + 1, UINT32_MAX, &ino) < 0)
			return -EINVAL;
		for (unsigned i = 0; i < *n; i++)
			if (id[i].cookie == c)
				return -EINVAL;
		id[*n].cookie = c;
		id[*n].ino = (uint32_t)ino;
		id[*n].ifindex = (uint32_t)ifindex;
		(*n)++;
	}
	return 0;
}

static int session_field(struct dec *d, struct mh_saved_session *s, int f,
			 char *v)
{
	static const uint64_t max[F_COUNT] = {
		[F_ID] = UINT32_MAX, [F_PORT] = 65535, [F_UID] = UINT32_MAX - 1,
		[F_PID] = INT32_MAX, [F_START] = UINT64_MAX, [F_ANN] = UINT64_MAX,
		[F_ALIVE] = UINT64_MAX, [F_CONTACTED] = 1, [F_SEEN] = 1,
		[F_MAXSEQ] = SSP_SEQ_MASK, [F_MAXPH] = MH_PINHOLES_CAP,
	};
	uint64_t x = 0;

	if (f == F_SSH)
		return parse_ssh(v, s->ssh_client, sizeof(s->ssh_client)) < 0
		       ? bad(d, "ssh: not an escaped address") : 0;
	if (f == F_SOCK)
		return parse_socks(v, s->sock, &s->n_sock) < 0
		       ? bad(d, "sock: not a list of COOKIE:INODE[:IFINDEX]") : 0;
	if (f == F_BOUND) {
		if (!strcmp(v, "-"))
			return 0;
		return mh_bound_parse(v, s->bound, &s->n_bound) < 0
		       ? bad(d, "bound: not a list of addresses") : 0;
	}
	if (parse_u64(v, max[f], &x) < 0 ||
	    ((f == F_ID || f == F_PORT || f == F_PID || f == F_MAXPH) && x == 0))
		return bad(d, "%s: '%.40s' is not a number in range",
			   session_fields[f], v);
	switch (f) {
	case F_ID: s->id = (uint32_t)x; break;
	case F_PORT: s->port = (uint16_t)x; break;
	case F_UID: s->uid = (uid_t)x; break;
	case F_PID: s->pid = (pid_t)x; break;
	case F_START: s->pid_start = x; break;
	case F_ANN: s->announced_ms = x; break;
	case F_ALIVE: s->last_alive_ms = x; break;
	case F_CONTACTED: s->contacted = x; break;
	case F_SEEN: s->seen_in = x; break;
	case F_MAXSEQ: s->max_seq_in = x; break;
	default: s->max_pinholes = (unsigned)x; break;
	}
	return 0;
}

static struct mh_saved_session *new_session(struct dec *d)
{
	struct mh_statefile *st = d->st;

	if (st->n == d->cap) {
		unsigned cap = d->cap ? d->cap * 2 : 16;
		struct mh_saved_session *ns;

		if (cap > 65536)
			return NULL;
		ns = realloc(st->s, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		st->s = ns;
		d->cap = cap;
	}
	memset(&st->s[st->n], 0, sizeof(st->s[0]));
	return &st->s[st->n];
}

static int rec_session(struct dec *d, char *save)
{
	struct mh_saved_session *s = new_session(d);
	unsigned seen = 0;
	char *tok, *v;
	int f, err;

	if (!s)
		return bad(d, "too many sessions");
	while ((tok = strtok_r(NULL, " ", &save))) {
		if (split_kv(tok, &v) < 0)
			return bad(d, "'%.40s' is not name=value", tok);
		for (f = 0; f < F_COUNT && strcmp(tok, session_fields[f]); f++)
			;
		if (f == F_COUNT || (f == F_SOCK && d->st->version < 2))
			return bad(d, "unknown session field '%.40s'", tok);
		if (seen & (1u << f))
			return bad(d, "session field '%s' twice", tok);
		seen |= 1u << f;
		if ((err = session_field(d, s, f, v)) < 0)
			return err;
	}
	for (f = 0; f < F_COUNT; f++)
		if (!(seen & (1u << f)) && (f != F_SOCK || d->st->version >= 2))
			return bad(d, "session without '%s'", session_fields[f]);
	if (d->ports[s->port / 8] & (1u << (s->port % 8)))
		return bad(d, "port %u has two sessions", s->port);
	d->ports[s->port / 8] |= (uint8_t)(1u << (s->port % 8));
	d->st->n++;
	return 0;
}

static int rec_pinhole(struct dec *d, char *save)
{
	struct mh_saved_session *s = d->st->n ? &d->st->s[d->st->n - 1] : NULL;
	struct mh_saved_pinhole ph = { 0 };
	uint64_t port = 0;
	unsigned seen = 0;
	char *tok, *v;

	while ((tok = strtok_r(NULL, " ", &save))) {
		int bit;

		if (split_kv(tok, &v) < 0)
			return bad(d, "'%.40s' is not name=value", tok);
		if (!strcmp(tok, "port")) {
			bit = 1;
			if (parse_u64(v, 65535, &port) < 0 || port == 0)
				return bad(d, "port: not a port");
		} else if (!strcmp(tok, "client")) {
			bit = 2;
			if (parse_addr(v, &ph.client) < 0)
				return bad(d, "client: '%.60s' is not ADDR:PORT", v);
		} else if (!strcmp(tok, "added")) {
			bit = 4;
			if (parse_u64(v, UINT64_MAX, &ph.added_ms) < 0 || !ph.added_ms)
				return bad(d, "added: not a time");
		} else {
			return bad(d, "unknown pinhole field '%.40s'", tok);
		}
		if (seen & (unsigned)bit)
			return bad(d, "pinhole field '%s' twice", tok);
		seen |= (unsigned)bit;
	}
	if (seen != 7)
		return bad(d, "pinhole needs port, client and added");
	if (!s || s->port != port)
		return bad(d, "pinhole for port %u does not follow its session",
			   (unsigned)port);
	if (s->n_ph == MH_PINHOLES_CAP)
		return bad(d, "more than %d pinholes for port %u", MH_PINHOLES_CAP,
			   s->port);
	for (unsigned i = 0; i < s->n_ph; i++)
		if (mh_addr_equal(&s->ph[i].client, &ph.client))
			return bad(d, "the same pinhole twice");
	s->ph[s->n_ph++] = ph;
	return 0;
}

static int rec_header(struct dec *d, const char *kw, char *save)
{
	static const char *const want[] = { MAGIC, "boot", "table", "next_id" };
	struct mh_statefile *st = d->st;
	char *v = strtok_r(NULL, " ", &save);
	uint64_t x;

	if (strcmp(kw, want[d->stage]))
		return bad(d, "expected '%s', found '%.40s'", want[d->stage], kw);
	if (!v || strtok_r(NULL, " ", &save))
		return bad(d, "'%s' takes one value", kw);
	switch (d->stage) {
	case 0:
		if (parse_u64(v, 1000, &x) < 0 || x < 1 || x > MH_STATE_VERSION)
			return bad(d, "version '%.20s' is not 1 to %d", v,
				   MH_STATE_VERSION);
		st->version = (unsigned)x;
		break;
	case 1:
		if (strlen(v) != MH_STATE_BOOT_ID_LEN || strspn(v,
		    "0123456789abcdef-") != MH_STATE_BOOT_ID_LEN)
			return bad(d, "boot: not a boot id");
		memcpy(st->boot_id, v, MH_STATE_BOOT_ID_LEN + 1);
		break;
	case 2:
		if (!v[0] || strlen(v) >= sizeof(st->table))
			return bad(d, "table: bad name");
		strcpy(st->table, v);
		break;
	default:
		if (parse_u64(v, UINT32_MAX, &x) < 0 || x == 0)
			return bad(d, "next_id: not a session id");
		st->next_id = (uint32_t)x;
		break;
	}
	d->stage++;
	return 0;
}

static int one_line(struct dec *d, const char *p, size_t n)
{
	char line[LINE_MAX_LEN], *save = NULL, *kw;

	if (n >= sizeof(line))
		return bad(d, "line longer than %d bytes", LINE_MAX_LEN - 1);
	memcpy(line, p, n);
	line[n] = 0;
	if (line[0] == '#')
		return 0;
	kw = strtok_r(line, " ", &save);
	if (!kw)
		return bad(d, "empty line");
	if (d->stage < 4)
		return rec_header(d, kw, save);
	if (!strcmp(kw, "session"))
		return rec_session(d, save);
	if (!strcmp(kw, "pinhole"))
		return rec_pinhole(d, save);
	return bad(d, "unknown record '%.40s'", kw);
}

/* "end N fnv=HEX" closing text[0..body) */
static int check_end(struct dec *d, const char *text, size_t body,
		     const char *p, size_t n, unsigned *count)
{
	char line[128], hex[17];
	unsigned long long want;
	int used = 0;

	if (n >= sizeof(line) || n < 4 || memcmp(p, "end ", 4))
		return bad(d, "truncated: the file has no end line");
	memcpy(line, p, n);
	line[n] = 0;
	if (sscanf(line, "end %u fnv=%16[0-9a-f]%n", count, hex, &used) != 2 ||
	    (size_t)used != n || strlen(hex) != 16 || line[4] < '0' || line[4] > '9')
		return bad(d, "malformed end line");
	want = strtoull(hex, NULL, 16);
	if (want != fnv1a(FNV_OFFSET, text, body))
		return bad(d, "checksum mismatch: the file is corrupt");
	return 0;
}

static int decode(struct dec *d, const char *text, size_t len)
{
	size_t body, pos;
	unsigned count = 0;
	int err;

	if (len == 0)
		return bad(d, "empty file");
	if (len > MH_STATE_MAX_FILE)
		return bad(d, "file larger than %u bytes", MH_STATE_MAX_FILE);
	if (memchr(text, 0, len))
		return bad(d, "the file holds a NUL byte");
	if (text[len - 1] != '\n')
		return bad(d, "truncated: the last line is incomplete");
	for (body = len - 1; body > 0 && text[body - 1] != '\n'; body--)
		;
	for (pos = 0; pos < body; pos++)
		d->line += text[pos] == '\n';
	d->line++;
	if ((err = check_end(d, text, body, text + body, len - 1 - body, &count)) < 0)
		return err;
	d->line = 0;
	for (pos = 0; pos < body;) {
		const char *nl = memchr(text + pos, '\n', body - pos);

		d->line++;
		if ((err = one_line(d, text + pos, (size_t)(nl - (text + pos)))) < 0)
			return err;
		pos = (size_t)(nl - text) + 1;
	}
	d->line++;
	if (d->stage < 4)
		return bad(d, "the header is incomplete");
	if (count != d->st->n)
		return bad(d, "end line counts %u sessions, the file has %u", count,
			   d->st->n);
	return 0;
}

int mh_statefile_decode(const char *text, size_t len, struct mh_statefile *st,
			char *err, size_t errlen)
{
	struct dec d = { .st = st, .err = err, .errlen = errlen };
	int r;

	memset(st, 0, sizeof(*st));
	d.ports = calloc(65536 / 8, 1);
	if (!d.ports) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = decode(&d, text, len);
	free(d.ports);
	if (r < 0)
		mh_statefile_free(st);
	return r;
}

void mh_statefile_free(struct mh_statefile *st)
{
	free(st->s);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */

void mh_saved_from_session(const struct mh_session *s, struct mh_saved_session *out)
{
	const struct mh_pinhole_rec *r;

	memset(out, 0, sizeof(*out));
	out->id = s->id;
	out->port = s->port;
	out->uid = s->uid;
	out->pid = s->pid;
	out->pid_start = s->pid_start;
	snprintf(out->ssh_client, sizeof(out->ssh_client), "%s", s->ssh_client);
	out->announced_ms = s->announced_ms;
	out->last_alive_ms = s->last_alive_ms;
	out->contacted = s->contacted;
	out->seen_in = s->seen_in;
	out->max_seq_in = s->max_seq_in;
	out->max_pinholes = s->max_pinholes;
	out->n_bound = s->n_bound < MH_MAX_BOUND ? s->n_bound : MH_MAX_BOUND;
	memcpy(out->bound, s->bound, sizeof(out->bound));
	out->n_sock = s->n_sock < MH_MAX_BOUND ? s->n_sock : MH_MAX_BOUND;
	memcpy(out->sock, s->sock, sizeof(out->sock));
	mh_for_each_pinhole(s, r) {
		if (r - s->ph >= MH_PINHOLES_CAP)
			break;
		out->ph[out->n_ph].client = r->client;
		out->ph[out->n_ph].added_ms = r->added_ms;
		out->n_ph++;
	}
}

unsigned mh_saved_apply(const struct mh_saved_session *in, struct mh_session *s)
{
	struct mh_saved_pinhole ph[MH_PINHOLES_CAP];
	unsigned n = in->n_ph < MH_PINHOLES_CAP ? in->n_ph : MH_PINHOLES_CAP;
	unsigned i, j, keep;
	struct mh_addr ev;

	s->id = in->id;
	s->pid_start = in->pid_start;
	s->announced_ms = in->announced_ms;
	s->last_alive_ms = in->last_alive_ms;
	s->contacted = in->contacted;
	s->seen_in = in->seen_in;
	s->max_seq_in = in->max_seq_in;
	s->n_bound = in->n_bound < MH_MAX_BOUND ? in->n_bound : MH_MAX_BOUND;
	memcpy(s->bound, in->bound, sizeof(s->bound));
	s->n_sock = in->n_sock < MH_MAX_BOUND ? in->n_sock : MH_MAX_BOUND;
	memcpy(s->sock, in->sock, sizeof(s->sock));
	/* newest first, so a smaller cap keeps the newest */
	memcpy(ph, in->ph, n * sizeof(ph[0]));
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && ph[j].added_ms > ph[j - 1].added_ms; j--) {
			struct mh_saved_pinhole t = ph[j];

			ph[j] = ph[j - 1];
			ph[j - 1] = t;
		}
	memset(s->ph, 0, s->max_pinholes * sizeof(s->ph[0]));
	keep = n < s->max_pinholes ? n : s->max_pinholes;
	for (i = 0; i < keep; i++)   /* fits: nothing is evicted */
		mh_pinhole_record(s, &ph[i].client, ph[i].added_ms, &ev);
	return n - keep;
}

/* ------------------------------------------------------------------ */
/* Keyring payload                                                     */

void mh_statefile_key_encode(pid_t pid, uint64_t pid_start,
			     const uint8_t key[SSP_KEY_LEN],
			     uint8_t out[MH_STATE_KEY_PAYLOAD_LEN])
{
	uint32_t p = (uint32_t)pid;

	memcpy(out, KEY_MAGIC, 4);
	for (int i = 0; i < 4; i++)
		out[4 + i] = (uint8_t)(p >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(pid_start >> (56 - 8 * i));
	memcpy(out + 16, key, SSP_KEY_LEN);
}

int mh_statefile_key_decode(const uint8_t *in, size_t len, pid_t *pid,
			    uint64_t *pid_start, uint8_t key[SSP_KEY_LEN])
{
	uint32_t p = 0;
	uint64_t t = 0;

	if (len != MH_STATE_KEY_PAYLOAD_LEN || memcmp(in, KEY_MAGIC, 4))
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		p = p << 8 | in[4 + i];
	for (int i = 0; i < 8; i++)
		t = t << 8 | in[8 + i];
	if (p == 0 || p > INT32_MAX)
		return -EINVAL;
	*pid = (pid_t)p;
	*pid_start = t;
	memcpy(key, in + 16, SSP_KEY_LEN);
	return 0;
}
