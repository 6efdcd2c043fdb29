/*
 * mosh-helper.conf: defaults, loading with libconfig, validation of every
 * key against one table (type, range, format), and printing the effective
 * configuration back as a file that loads to the same values. Errors name
 * the file, the line and the reason; nothing here touches a socket.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "config.h"
#include "config_int.h"
#include "mh_consts.h"
#include "log.h"

#define WHY_MAX 256
#define TABLE_NAME_MAX 32

enum key_kind { K_UINT, K_U16, K_PORTS, K_PATH, K_OPTPATH, K_TABLE, K_LOGLEVEL };

struct key_spec {
	const char *name;
	enum key_kind kind;
	size_t off;          /* field offset in struct mh_config */
	long long min, max;  /* K_UINT/K_U16: inclusive range */
	size_t size;         /* K_PATH: size of the char array */
};

#define UINT_KEY(n, lo, hi) { #n, K_UINT, offsetof(struct mh_config, n), lo, hi, 0 }
#define U16_KEY(n, lo, hi)  { #n, K_U16, offsetof(struct mh_config, n), lo, hi, 0 }
#define PATH_KEY(n) \
	{ #n, K_PATH, offsetof(struct mh_config, n), 0, 0, \
	  sizeof(((struct mh_config *)0)->n) }
/* an absolute path, or "" for off */
#define OPTPATH_KEY(n) \
	{ #n, K_OPTPATH, offsetof(struct mh_config, n), 0, 0, \
	  sizeof(((struct mh_config *)0)->n) }

/* Every key, in the order mh_config_print writes them. */
static const struct key_spec keys[] = {
	{ "ports", K_PORTS, 0, 1, 65535, 0 },
	UINT_KEY(idle_timeout, 5, 86400),
	UINT_KEY(handshake_timeout, 5, 3600),
	UINT_KEY(session_timeout, 60, 31536000),
	UINT_KEY(candidate_lifetime, 3, 60),
	PATH_KEY(control_socket),
	PATH_KEY(server_path),
	UINT_KEY(max_sessions, 1, 65535),
	UINT_KEY(max_sessions_per_user, 1, 65535),
	UINT_KEY(max_pinholes_per_session, 1, 64),
	U16_KEY(queue_num, 0, 65535),
	UINT_KEY(queue_maxlen, 1, 65536),
	UINT_KEY(slow_path_rate, 1, 1000000),
	UINT_KEY(hook_timeout, 1, 60),
	{ "table", K_TABLE, offsetof(struct mh_config, table), 0, 0, 0 },
	{ "log_level", K_LOGLEVEL, offsetof(struct mh_config, log_level), 0, 0, 0 },
	OPTPATH_KEY(audit_log),
	OPTPATH_KEY(key_log),
	OPTPATH_KEY(slowpath_pcap),
};

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void mh_config_defaults(struct mh_config *c)
{
	memset(c, 0, sizeof(*c));
	c->port_low = MOSH_DEFAULT_PORT_LOW;
	c->port_high = MOSH_DEFAULT_PORT_HIGH;
	c->idle_timeout = 60;
	c->handshake_timeout = 60;
	c->session_timeout = 604800;
	c->candidate_lifetime = MH_CANDIDATE_LIFETIME_S;
	strcpy(c->control_socket, "/run/mosh-helper/control.sock");
	strcpy(c->server_path, "/usr/bin/mosh-server");
	c->max_sessions = 1000;
	c->max_sessions_per_user = 20;
	c->max_pinholes_per_session = 4;
	c->queue_num = 0;
	c->queue_maxlen = 4096;
	c->slow_path_rate = 2000;
	c->hook_timeout = 5;
	strcpy(c->table, "mosh_helper");
	c->log_level = MH_LOG_INFO;
	strcpy(c->audit_log, "/var/log/mosh-helper/audit.log");
}

static const struct key_spec *key_find(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int get_int(const config_setting_t *s, const struct key_spec *k,
		   long long *v, char *why)
{
	int t = config_setting_type(s);

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		snprintf(why, WHY_MAX, "%s: expected an integer", k->name);
		return -EINVAL;
	}
	*v = config_setting_get_int64(s);
	if (*v < k->min || *v > k->max) {
		snprintf(why, WHY_MAX, "%s: %lld is out of range %lld..%lld",
			 k->name, *v, k->min, k->max);
		return -EINVAL;
	}
	return 0;
}

static int get_string(const config_setting_t *s, const struct key_spec *k,
		      const char **v, char *why)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		snprintf(why, WHY_MAX, "%s: expected a string", k->name);
		return -EINVAL;
	}
	*v = config_setting_get_string(s);
	return 0;
}

/* Strict decimal port: 1-5 digits, no sign, no spaces. */
static int parse_port(const char *p, size_t n, long *v)
{
	*v = 0;
	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

static int set_ports(const char *s, struct mh_config *c, char *why)
{
	const char *dash = strchr(s, '-');
	long lo, hi;

	if (!dash || parse_port(s, (size_t)(dash - s), &lo) ||
	    parse_port(dash + 1, strlen(dash + 1), &hi)) {
		snprintf(why, WHY_MAX,
			 "ports: expected \"LOW-HIGH\" such as \"60000-61000\"");
		return -EINVAL;
	}
	if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535) {
		snprintf(why, WHY_MAX, "ports: %ld is out of range 1..65535",
			 (lo < 1 || lo > 65535) ? lo : hi);
		return -EINVAL;
	}
	if (lo > hi) {
		snprintf(why, WHY_MAX,
			 "ports: low port %ld is above high port %ld", lo, hi);
		return -EINVAL;
	}
	c->port_low = (uint16_t)lo;
	c->port_high = (uint16_t)hi;
	return 0;
}

static int set_path(const char *s, const struct key_spec *k, char *dst,
		    char *why)
{
	if (s[0] != '/') {
		snprintf(why, WHY_MAX, "%s: \"%.64s\" is not an absolute path",
			 k->name, s);
		return -EINVAL;
	}
	if (strlen(s) >= k->size) {
		snprintf(why, WHY_MAX, "%s: longer than %zu bytes", k->name,
			 k->size - 1);
		return -EINVAL;
	}
	strcpy(dst, s);
	return 0;
}

static int set_table(const char *s, char *dst, char *why)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= TABLE_NAME_MAX;

	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
	if (!ok) {
		snprintf(why, WHY_MAX,
			 "table: \"%.64s\" is not 1-%d characters of A-Z, a-z, 0-9 and _",
			 s, TABLE_NAME_MAX);
		return -EINVAL;
	}
	strcpy(dst, s);
	return 0;
}

static int set_level(const char *s, int *dst, char *why)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	snprintf(why, WHY_MAX,
		 "log_level: \"%.64s\" is not one of error, warning, info, debug", s);
	return -EINVAL;
}

static int apply_string(const config_setting_t *s, const struct key_spec *k,
			struct mh_config *c, char *why)
{
	char *field = (char *)c + k->off;
	const char *v;
	int r = get_string(s, k, &v, why);

	if (r)
		return r;
	switch (k->kind) {
	case K_PORTS:
		return set_ports(v, c, why);
	case K_OPTPATH:
		if (v[0] == '\0') {
			field[0] = '\0';
			return 0;
		}
		/* fall through */
	case K_PATH:
		return set_path(v, k, field, why);
	case K_TABLE:
		return set_table(v, field, why);
	default:
		return set_level(v, (int *)(void *)field, why);
	}
}

static int apply_one(const config_setting_t *s, struct mh_config *c, char *why)
{
	const struct key_spec *k = key_find(config_setting_name(s));
	long long v;
	int r;

	if (!k) {
		snprintf(why, WHY_MAX, "unknown setting '%.64s'",
			 config_setting_name(s));
		return -EINVAL;
	}
	if (k->kind != K_UINT && k->kind != K_U16)
		return apply_string(s, k, c, why);
	r = get_int(s, k, &v, why);
	if (r)
		return r;
	if (k->kind == K_UINT)
		*(unsigned *)(void *)((char *)c + k->off) = (unsigned)v;
	else
		*(uint16_t *)(void *)((char *)c + k->off) = (uint16_t)v;
	return 0;
}

static const char *file_of(const config_setting_t *s, const char *path)
{
	const char *f = config_setting_source_file(s);

	return f ? f : path;
}

/* Applies every top-level setting to a scratch copy; c changes only when the
 * whole file is valid. */
static int apply_all(const config_t *cf, const char *path, struct mh_config *c,
		     char *err, size_t errlen)
{
	config_setting_t *root = config_root_setting(cf);
	struct mh_config tmp = *c;
	char why[WHY_MAX];

	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);

		if (apply_one(s, &tmp, why)) {
			snprintf(err, errlen, "%s:%u: %s", file_of(s, path),
				 config_setting_source_line(s), why);
			return -EINVAL;
		}
	}
	*c = tmp;
	return 0;
}

/* The whole file, NUL-terminated, at most 1 MiB. */
static int read_text(const char *path, char **text, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	int r = 0;

	*text = NULL;
	if (!f || fstat(fileno(f), &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode) || st.st_size > (1 << 20)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EFBIG;
		goto out;
	}
	*text = calloc(1, (size_t)st.st_size + 1);
	if (!*text) {
		r = -ENOMEM;
		goto out;
	}
	if (fread(*text, 1, (size_t)st.st_size, f) != (size_t)st.st_size &&
	    ferror(f))
		r = -EIO;
out:
	if (f)
		fclose(f);
	if (r) {
		free(*text);
		*text = NULL;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	}
	return r;
}

int mh_config_load(const char *path, struct mh_config *c, char *err,
		   size_t errlen)
{
	config_t cf;
	char *text;
	int r = read_text(path, &text, err, errlen);

	if (r)
		return r;
	r = mh_config_scan_ints(text, path, err, errlen);
	if (r) {
		free(text);
		return r;
	}
	config_init(&cf);
	if (config_read_string(&cf, text) != CONFIG_TRUE) {
		const char *f = config_error_file(&cf);

		snprintf(err, errlen, "%s:%d: %s", f ? f : path,
			 config_error_line(&cf), config_error_text(&cf));
		r = -EINVAL;
		goto out;
	}
	r = apply_all(&cf, path, c, err, errlen);
out:
	config_destroy(&cf);
	free(text);
	return r;
}

/* A libconfig string literal: quotes, backslashes and non-printable bytes
 * escaped so that the value reads back unchanged. */
static void print_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void print_key(FILE *f, const struct key_spec *k,
		      const struct mh_config *c)
{
	const char *field = (const char *)c + k->off;
	int level;

	fprintf(f, "%s = ", k->name);
	switch (k->kind) {
	case K_UINT:
		fprintf(f, "%u", *(const unsigned *)(const void *)field);
		break;
	case K_U16:
		fprintf(f, "%u", (unsigned)*(const uint16_t *)(const void *)field);
		break;
	case K_PORTS:
		fprintf(f, "\"%u-%u\"", (unsigned)c->port_low,
			(unsigned)c->port_high);
		break;
	case K_LOGLEVEL:
		level = *(const int *)(const void *)field;
		if (level < MH_LOG_ERR || level > MH_LOG_DEBUG)
			level = MH_LOG_INFO;
		print_string(f, level_names[level]);
		break;
	default:
		print_string(f, field);
		break;
	}
	fputs(";\n", f);
}

void mh_config_print(FILE *f, const struct mh_config *c)
{
	fputs("# mosh-helper: effective configuration\n", f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		print_key(f, &keys[i], c);
}
