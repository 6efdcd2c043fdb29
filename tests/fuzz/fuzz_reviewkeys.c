/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for mosh-helper-review's key-file parser
 * (tools/review/keys.c: rv_keys_parse). The input is the file's bytes, in a
 * buffer of exactly that size (no newline or NUL after it), so a read past
 * the last line is an ASan report. Checked: a refusal names "keys:LINE:"
 * with a line that exists; an accepted file gives one session per key, the
 * keys of each server (port alone, or address . port) chained in file
 * order with their count and found by rv_keys_find, a keyless line alone
 * on its server and without a crypto context, and printed back as
 * "<server> <key>|keyless [bound=...]" lines it parses to the same keys.
 * Seeds: tests/fuzz/corpus/reviewkeys/ (pcaps/ *.key, bound= and several
 * keys on one port, server addresses, keyless lines);
 * regressions/reviewkeys/ keeps the crash inputs.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "review.h"

static struct mh_table t1, t2;

static void b64(const uint8_t key[SSP_KEY_LEN], char out[SSP_KEY_B64_LEN + 1])
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned bits = 0, nb = 0, o = 0;

	for (unsigned k = 0; k < SSP_KEY_LEN; k++) {
		bits = bits << 8 | key[k];
		for (nb += 8; nb >= 6; nb -= 6)
			out[o++] = tab[(bits >> (nb - 6)) & 63];
	}
	out[o++] = tab[(bits << (6 - nb)) & 63];
	out[o] = '\0';
}

static unsigned count_lines(const uint8_t *d, size_t n)
{
	unsigned lines = n ? 1 : 0;

	for (size_t i = 0; i + 1 < n; i++)
		lines += d[i] == '\n';
	return lines;
}

/* The first key of e's own server: a line naming an address is found by
 * that address; a port-only line holds the port's slot. */
static const struct rv_key *first_of(const struct rv_keys *k, const struct rv_key *e)
{
	const struct rv_key *f = e->server.family ? rv_keys_find(k, &e->server) :
				 rv_keys_port(k, e->mh->port);

	FUZZ_ASSERT(f && e->server.port == e->mh->port, "key %u: no first key", e->line);
	if (!e->server.family)
		FUZZ_ASSERT(k->t->by_port[e->mh->port] == f->mh, "port slot");
	FUZZ_ASSERT(mh_addr_equal(&f->server, &e->server), "first key of another server");
	return f;
}

static void check_chains(const struct rv_keys *k)
{
	unsigned ports = 0, servers = 0;

	FUZZ_ASSERT(k->n == k->t->count, "%zu keys, %u sessions", k->n, k->t->count);
	for (size_t i = 0; i < k->n; i++) {
		const struct rv_key *e = k->v[i], *f = first_of(k, e), *x;
		unsigned nth = 0;

		for (x = f; x && x != e; x = x->next)
			nth++;
		FUZZ_ASSERT(x == e && e->nth == nth + 1 && e->nth <= f->of,
			    "key %zu: nth %u of %u", i, e->nth, f->of);
		FUZZ_ASSERT(!e->keyless || (f->of == 1 && !e->mh->ssp),
			    "keyless line %u shares its server or has a key", e->line);
		FUZZ_ASSERT(e->keyless || e->mh->ssp, "key %zu without a context", i);
		ports += f == e;
		servers += f == e && e->server.family;
	}
	FUZZ_ASSERT(ports == k->ports && servers == k->servers,
		    "%u/%u first keys, %u/%u ports", ports, servers, k->ports, k->servers);
}

/* Prints the keys back as a key file. */
static size_t print_keys(const struct rv_keys *k, char *out, size_t cap)
{
	char key[SSP_KEY_B64_LEN + 1], bound[256], srv[MH_ADDRSTRLEN];
	size_t o = 0;

	for (size_t i = 0; i < k->n && o < cap; i++) {
		const struct rv_key *e = k->v[i];
		const struct mh_session *s = e->mh;

		b64(e->raw, key);
		bound[0] = '\0';
		if (s->n_bound && !e->server.family)
			FUZZ_ASSERT(mh_bound_format(s->bound, s->n_bound, bound,
						    sizeof(bound)) == 0, "bound format");
		o += (size_t)snprintf(out + o, cap - o, "%s %s%s%s\n",
				      rv_keyaddr_str(&e->server, srv, sizeof(srv)),
				      e->keyless ? "keyless" : key,
				      bound[0] ? " bound=" : "", bound);
	}
	FUZZ_ASSERT(o < cap, "printed keys too long");
	return o;
}

static void round_trip(const struct rv_keys *k)
{
	static char text[1 << 22];
	struct rv_keys k2;
	char err[256];
	size_t n = print_keys(k, text, sizeof(text));

	FUZZ_ASSERT(rv_keys_init(&k2, &t2, 4) == 0, "init");
	FUZZ_ASSERT(rv_keys_parse(&k2, text, n, "again", err, sizeof(err)) == 0,
		    "printed keys refused: %s", err);
	FUZZ_ASSERT(k2.n == k->n && k2.ports == k->ports, "%zu/%u keys/ports, then %zu/%u",
		    k->n, k->ports, k2.n, k2.ports);
	for (size_t i = 0; i < k->n; i++) {
		const struct mh_session *a = k->v[i]->mh, *b = k2.v[i]->mh;

		FUZZ_ASSERT(a->port == b->port && a->n_bound == b->n_bound &&
			    mh_addr_equal(&k->v[i]->server, &k2.v[i]->server) &&
			    k->v[i]->keyless == k2.v[i]->keyless &&
			    !memcmp(k->v[i]->raw, k2.v[i]->raw, SSP_KEY_LEN) &&
			    !memcmp(a->bound, b->bound, a->n_bound * sizeof(a->bound[0])),
			    "key %zu differs after printing", i);
	}
	rv_keys_free(&k2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mh_table_init(&t1);       /* rv_keys_free leaves them empty */
	mh_table_init(&t2);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_keys k;
	char err[256] = "";
	unsigned line;
	int rc, used = 0;

	if (size > 1 << 16)
		return 0;
	FUZZ_ASSERT(rv_keys_init(&k, &t1, 4) == 0, "init");
	rc = rv_keys_parse(&k, (const char *)data, size, "keys", err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
	if (rc < 0) {
		FUZZ_ASSERT(sscanf(err, "keys:%u: %n", &line, &used) == 1 && used > 0 &&
			    line >= 1 && line <= count_lines(data, size) && err[used],
			    "refusal without FILE:LINE: reason: \"%s\"", err);
	} else {
		check_chains(&k);
		round_trip(&k);
	}
	rv_keys_free(&k);
	return 0;
}
