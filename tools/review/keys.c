/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The key file of mosh-helper-review: "<server> <22-char key>" per line,
 * <server> a port (optionally followed by "bound=ADDR,...", as the daemon's
 * key_log writes it) or a server's address and port (keyaddr.c: a capture
 * taken on a gateway); "<server> keyless" for a keyless daemon's session;
 * '#' comments and blank lines allowed. A server port may carry several
 * keys (a single-port server has every session on one port). Each key
 * becomes a session in the daemon's own session table (lib/session.c), so
 * the review judges with the same state the daemon keeps. Key material is
 * wiped after use and never appears in an error message.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "review.h"

struct key_line {
	struct mh_addr server;      /* family 0: a port-only line */
	bool keyless;
	uint8_t key[SSP_KEY_LEN];
	struct mh_bound bound[MH_MAX_BOUND];
	unsigned n_bound;
};

/* An optional "bound=ADDR,..." after the key (the daemon's key_log); p is
 * NUL-terminated. */
static int parse_bound(char *p, struct key_line *kl, const char **why)
{
	static const char tag[] = "bound=";
	size_t len = strcspn(p, " \t\r\n\v\f");
	char *end = p + len;

	kl->n_bound = 0;
	if (!*p)
		return 0;
	if (strncmp(p, tag, sizeof(tag) - 1) != 0) {
		*why = "unexpected text after the key";
		return -1;
	}
	if (kl->server.family || kl->keyless) {
		*why = kl->keyless ? "bound= goes with a key, not with keyless" :
		       "bound= goes with a port alone: a line naming the server's "
		       "address is bound to it";
		return -1;
	}
	if (*end) {                 /* never step past the terminator */
		*end++ = '\0';
		while (isspace((unsigned char)*end))
			end++;
	}
	if (mh_bound_parse(p + sizeof(tag) - 1, kl->bound, &kl->n_bound) < 0) {
		*why = "bound= wants addresses such as 198.18.0.2,[::]/v6only";
		return -1;
	}
	if (*end) {
		*why = "unexpected text after bound=";
		return -1;
	}
	return 0;
}

/* The key, or the word "keyless" (the keyless daemon's session). */
static int parse_key(const char *k, size_t klen, struct key_line *kl,
		     const char **why)
{
	static const char word[] = "keyless";

	kl->keyless = klen == sizeof(word) - 1 && memcmp(k, word, klen) == 0;
	if (kl->keyless) {
		memset(kl->key, 0, sizeof(kl->key));
		return 0;
	}
	return ssp_key_decode(k, klen, kl->key, why);
}

/* One NUL-terminated line, comment already cut. 0 blank, 1 a key, -1 with
 * *why set. */
static int parse_line(char *line, struct key_line *kl, const char **why)
{
	char *p = line, *end, *k;
	size_t plen, klen;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0;
	if (!isdigit((unsigned char)*p) && *p != '[') {
		*why = "expected \"<server-port> <22-character key>\" (the port "
		       "also as A.B.C.D:PORT or [ADDRESS]:PORT; \"keyless\" for "
		       "no key)";
		return -1;
	}
	plen = strcspn(p, " \t\r\n\v\f");
	if (rv_keyaddr_parse(p, plen, &kl->server, why) < 0)
		return -1;
	k = p + plen;
	while (isspace((unsigned char)*k))
		k++;
	if (!*k) {
		*why = "missing key after the port";
		return -1;
	}
	klen = strcspn(k, " \t\r\n\v\f");
	for (end = k + klen; isspace((unsigned char)*end); end++)
		;
	if (parse_key(k, klen, kl, why) < 0)
		return -1;
	return parse_bound(end, kl, why) < 0 ? -1 : 1;
}

/* ---- the key set --------------------------------------------------------- */

int rv_keys_init(struct rv_keys *k, struct mh_table *t, unsigned max_pinholes)
{
	memset(k, 0, sizeof(*k));
	k->t = t;
	k->max_pinholes = max_pinholes;
	k->by_port = calloc(65536, sizeof(*k->by_port));
	return k->by_port ? 0 : -1;
}

void rv_keys_free(struct rv_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		OPENSSL_cleanse(k->v[i]->raw, sizeof(k->v[i]->raw));
		free(k->v[i]);
	}
	free(k->v);
	free(k->by_port);
	rv_idx_free(&k->dup);
	rv_idx_free(&k->by_server);
	if (k->t)
		mh_table_clear(k->t);
	memset(k, 0, sizeof(*k));
}

/* ---- lookup by server ------------------------------------------------------ */

struct server_key {
	const struct rv_keys *k;
	const struct mh_addr *server;
};

static bool server_eq(const void *ctx, uint32_t val)
{
	const struct server_key *c = ctx;

	return mh_addr_equal(&c->k->v[val - 1]->server, c->server);
}

static struct rv_key *first_of_server(const struct rv_keys *k,
				      const struct mh_addr *server)
{
	struct server_key c = { k, server };
	uint32_t v;

	if (!k->servers || (server->family != AF_INET && server->family != AF_INET6))
		return NULL;
	v = rv_idx_find(&k->by_server, rv_hash_addr(server, true, 0), server_eq, &c);
	return v ? k->v[v - 1] : NULL;
}

struct rv_key *rv_keys_find(const struct rv_keys *k, const struct mh_addr *server)
{
	struct rv_key *e = first_of_server(k, server);

	return e ? e : k->by_port[server->port];
}

/* The first key of a line's server (address . port, or port alone). */
static struct rv_key *group_of(const struct rv_keys *k, const struct mh_addr *server)
{
	return server->family ? first_of_server(k, server) : k->by_port[server->port];
}

/* ---- adding ------------------------------------------------------------------ */

/* The session of a key. The table holds one session per port slot: the
 * slot is cleared while it is made, then given back to the port's first
 * port-only key (a line naming its server never takes the slot). */
static struct mh_session *session_for(struct rv_keys *k, const struct key_line *kl)
{
	uint16_t port = kl->server.port;
	struct mh_session *first = k->t->by_port[port], *s;

	k->t->by_port[port] = NULL;
	s = mh_session_add(k->t, port, kl->keyless ? NULL : kl->key, 0, 0, 0,
			   k->max_pinholes);
	if (first || kl->server.family)
		k->t->by_port[port] = first;
	if (s && kl->server.family) {   /* as the gateway's table binds it */
		s->bound[0].family = kl->server.family;
		memcpy(s->bound[0].ip, kl->server.ip, sizeof(kl->server.ip));
		s->n_bound = 1;
	}
	return s;
}

struct dup_key {
	const struct rv_keys *k;
	const struct key_line *kl;
};

static bool dup_eq(const void *ctx, uint32_t val)
{
	const struct dup_key *d = ctx;
	const struct rv_key *e = d->k->v[val - 1];

	return mh_addr_equal(&e->server, &d->kl->server) &&
	       e->server.port == d->kl->server.port &&
	       CRYPTO_memcmp(e->raw, d->kl->key, SSP_KEY_LEN) == 0;
}

static uint64_t dup_hash(const struct key_line *kl)
{
	uint8_t b[1 + 16 + 2 + SSP_KEY_LEN];
	uint64_t h;

	b[0] = (uint8_t)kl->server.family;
	memcpy(b + 1, kl->server.ip, 16);
	b[17] = (uint8_t)(kl->server.port >> 8);
	b[18] = (uint8_t)kl->server.port;
	memcpy(b + 19, kl->key, SSP_KEY_LEN);
	h = rv_hash(b, sizeof(b));
	OPENSSL_cleanse(b, sizeof(b));
	return h;
}

/* Appends e (index i in v) to its server's keys (the first key keeps the
 * count and tail). 0, or -1 out of memory. */
static int link_key(struct rv_keys *k, struct rv_key *e, size_t i)
{
	struct rv_key *first = group_of(k, &e->server);

	if (first) {
		first->tail->next = e;
		first->tail = e;
		e->nth = ++first->of;
		return 0;
	}
	if (e->server.family &&
	    rv_idx_add(&k->by_server, rv_hash_addr(&e->server, true, 0),
		       (uint32_t)i + 1) < 0)
		return -1;
	if (!e->server.family)
		k->by_port[e->server.port] = e;
	e->tail = e;
	e->nth = e->of = 1;
	k->ports++;
	k->servers += e->server.family != 0;
	return 0;
}

/* A keyless port is one session whose key nobody has: nothing else may
 * share its server port, nor the same key come twice. */
static int check_new(struct rv_keys *k, const struct key_line *kl, uint64_t h,
		     const char **why)
{
	const struct rv_key *first = group_of(k, &kl->server);
	struct dup_key d = { k, kl };

	if (first && (first->keyless || kl->keyless)) {
		*why = "a keyless port takes no other line for the same port";
		return -1;
	}
	if (!kl->keyless && rv_idx_find(&k->dup, h, dup_eq, &d)) {
		*why = "the same key for this port was given before";
		return -1;
	}
	if (k->n == RV_MAX_KEYS) {
		*why = "too many keys (at most 65536)";
		return -1;
	}
	return 0;
}

static int grow(struct rv_keys *k)
{
	size_t cap = k->cap ? k->cap * 2 : 16;
	struct rv_key **v;

	if (k->n < k->cap)
		return 0;
	v = realloc(k->v, cap * sizeof(*v));
	if (!v)
		return -1;
	k->v = v;
	k->cap = cap;
	return 0;
}

static struct rv_key *new_key(struct rv_keys *k, const struct key_line *kl,
			      unsigned line)
{
	struct rv_key *e = calloc(1, sizeof(*e));

	if (e)
		e->mh = session_for(k, kl);
	if (!e || !e->mh) {
		free(e);
		return NULL;
	}
	if (!kl->server.family) {
		memcpy(e->mh->bound, kl->bound, sizeof(e->mh->bound));
		e->mh->n_bound = kl->n_bound;
	}
	memcpy(e->raw, kl->key, SSP_KEY_LEN);
	e->server = kl->server;
	e->keyless = kl->keyless;
	e->line = line;
	return e;
}

static int add_key(struct rv_keys *k, const struct key_line *kl, unsigned line,
		   const char **why)
{
	uint64_t h = dup_hash(kl);
	struct rv_key *e;
	uint32_t val = (uint32_t)k->n + 1;

	if (check_new(k, kl, h, why) < 0)
		return -1;
	*why = "out of memory for the session";
	if (grow(k) < 0 || (!kl->keyless && rv_idx_add(&k->dup, h, val) < 0))
		return -1;
	e = new_key(k, kl, line);
	if (!e || link_key(k, e, k->n) < 0) {
		if (e) {
			mh_session_remove(k->t, e->mh);
			free(e);
		}
		if (!kl->keyless)
			rv_idx_del(&k->dup, h, val);
		return -1;
	}
	k->v[k->n++] = e;
	k->keyless += e->keyless;
	return 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* Copies one line (up to a newline or the end of buf) into out as a C
 * string with its comment cut; *used is what it took from buf. */
static int take_line(const char *buf, size_t len, char out[RV_MAX_KEY_LINE + 1],
		     size_t *used, const char **why)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len;

	*used = nl ? n + 1 : n;
	if (n > RV_MAX_KEY_LINE) {
		*why = "line too long";
		return -1;
	}
	if (memchr(buf, '\0', n)) {
		*why = "a NUL byte in the line";
		return -1;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	out[strcspn(out, "#")] = '\0';
	return 0;
}

int rv_keys_parse(struct rv_keys *k, const char *buf, size_t len,
		  const char *name, char *err, size_t errlen)
{
	char line[RV_MAX_KEY_LINE + 1];
	struct key_line kl;
	const char *why = NULL;
	size_t off = 0, used;
	unsigned lineno = 0;
	int rc = 0;

	while (off < len && rc >= 0) {
		lineno++;
		rc = take_line(buf + off, len - off, line, &used, &why);
		if (rc == 0)
			rc = parse_line(line, &kl, &why);
		if (rc == 1)
			rc = add_key(k, &kl, lineno, &why);
		off += used;
	}
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(&kl, sizeof(kl));
	if (rc < 0) {
		snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
		return -1;
	}
	return 0;
}

/* The whole file in memory (wiped by the caller), at most RV_MAX_KEY_FILE. */
static char *read_all(FILE *f, size_t *len, const char **why)
{
	size_t cap = 4096, n = 0, got;
	char *b = malloc(cap), *nb;

	while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n < cap)
			continue;
		if (cap >= RV_MAX_KEY_FILE) {
			*why = "larger than 16 MiB";
			OPENSSL_cleanse(b, n);
			free(b);
			return NULL;
		}
		nb = malloc(cap * 2);   /* not realloc: the old copy is wiped */
		if (nb)
			memcpy(nb, b, n);
		OPENSSL_cleanse(b, n);
		free(b);
		b = nb;
		cap *= 2;
	}
	if (!b) {
		*why = "out of memory";
		return NULL;
	}
	if (ferror(f)) {
		*why = strerror(errno);
		OPENSSL_cleanse(b, n);
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

int rv_keys_load(struct rv_keys *k, const char *path, char *err, size_t errlen)
{
	const char *why = NULL;
	size_t len = 0;
	char *buf;
	FILE *f;
	int rc;

	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = read_all(f, &len, &why);
	fclose(f);
	if (!buf) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	rc = rv_keys_parse(k, buf, len, path, err, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}
