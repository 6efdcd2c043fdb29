/*
 * The key file of mosh-helper-review: "<server-port> <22-char key>" per
 * line, optionally followed by "bound=ADDR,..." (the daemon's key_log
 * writes it), '#' comments and blank lines allowed. Each key becomes a session in
 * the daemon's own session table (lib/session.c), so the review judges with
 * the same state the daemon keeps. Key material is wiped after use and never
 * appears in an error message.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "review.h"

/* Parses one line (comment already cut). 0 for a blank line, 1 for a key,
 * -1 with *why set. */
/* An optional "bound=ADDR,..." after the key (the daemon's key_log). */
static int parse_bound(char *p, struct mh_bound *b, unsigned *n,
		       const char **why)
{
	static const char tag[] = "bound=";
	size_t len = strcspn(p, " \t\r\n\v\f");
	char *end = p + len;

	*n = 0;
	if (!*p)
		return 0;
	if (strncmp(p, tag, sizeof(tag) - 1) != 0) {
		*why = "unexpected text after the key";
		return -1;
	}
	*end = '\0';
	if (mh_bound_parse(p + sizeof(tag) - 1, b, n) < 0) {
		*why = "bound= wants addresses such as 198.18.0.2,[::]/v6only";
		return -1;
	}
	for (end++; isspace((unsigned char)*end); end++)
		;
	if (*end) {
		*why = "unexpected text after bound=";
		return -1;
	}
	return 0;
}

static int parse_line(char *line, uint16_t *port, uint8_t key[SSP_KEY_LEN],
		      struct mh_bound *bound, unsigned *n_bound,
		      const char **why)
{
	char *p = line, *end, *k;
	unsigned long v;
	size_t klen;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0;
	if (!isdigit((unsigned char)*p)) {
		*why = "expected \"<server-port> <22-character key>\"";
		return -1;
	}
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || v < 1 || v > 65535 || (*end && !isspace((unsigned char)*end))) {
		*why = "port must be a number 1-65535";
		return -1;
	}
	k = end;
	while (isspace((unsigned char)*k))
		k++;
	if (!*k) {
		*why = "missing key after the port";
		return -1;
	}
	klen = strcspn(k, " \t\r\n\v\f");
	for (end = k + klen; isspace((unsigned char)*end); end++)
		;
	if (parse_bound(end, bound, n_bound, why) < 0)
		return -1;
	if (ssp_key_decode(k, klen, key, why) < 0)
		return -1;
	*port = (uint16_t)v;
	return 1;
}

static int add_key(struct mh_table *t, uint16_t port, const uint8_t key[SSP_KEY_LEN],
		   const struct mh_bound *bound, unsigned n_bound,
		   unsigned max_pinholes, const char **why)
{
	struct mh_session *s = mh_session_add(t, port, key, 0, 0, 0, max_pinholes);

	if (s) {
		memcpy(s->bound, bound, sizeof(s->bound));
		s->n_bound = n_bound;
		return 0;
	}
	*why = errno == EEXIST ? "a key for this port was given before" :
				 "out of memory for the session";
	return -1;
}

int rv_keys_load(const char *path, struct mh_table *t, unsigned max_pinholes,
		 char *err, size_t errlen)
{
	struct mh_bound bound[MH_MAX_BOUND];
	unsigned n_bound = 0;
	uint8_t key[SSP_KEY_LEN];
	const char *why = NULL;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	uint16_t port;
	FILE *f;
	int rc = 0;

	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		line[strcspn(line, "#")] = '\0';
		rc = parse_line(line, &port, key, bound, &n_bound, &why);
		if (rc == 1)
			rc = add_key(t, port, key, bound, n_bound, max_pinholes, &why);
		OPENSSL_cleanse(line, (size_t)n);
		if (rc < 0)
			break;
	}
	if (rc >= 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	} else if (rc < 0) {
		snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (line)
		OPENSSL_cleanse(line, cap);
	free(line);
	fclose(f);
	return rc < 0 ? -1 : 0;
}
