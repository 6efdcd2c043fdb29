/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper.conf: defaults, loading with libconfig, validation of every
 * key against one table (type, range, format; a group key has a table of its
 * own members; whether SIGHUP applies a change live or rebuilds the table),
 * and printing the effective configuration back as a file that loads to the
 * same values. Errors name the file, the line and the reason; nothing here
 * touches a socket.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <libconfig.h>

#include "config.h"
#include "config_int.h"
#include "hostport.h"
#include "mh_consts.h"
#include "log.h"
#include "prefix.h"
#include "session.h"

#define WHY_MAX 256
#define LABEL_MAX 64
#define TABLE_NAME_MAX 32
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DEFAULT_PUBLIC_PORT 60000  /* mosh's own first port: familiar to admins */

enum key_kind {
	K_UINT, K_U16, K_BOOL, K_PORTS, K_PATH, K_OPTPATH, K_TABLE, K_LOGLEVEL,
	K_GROUP, K_USER, K_HEX, K_TABLEFLAGS, K_SRVPORTS, K_ROLE, K_LISTEN,
	K_GATEWAYS, K_ADDRS, K_PREFIXES, K_ACK, K_NAME,
};

struct key_spec {
	const char *name;
	enum key_kind kind;
	size_t off;          /* field offset in struct mh_config */
	long long min, max;  /* K_UINT/K_U16: inclusive range */
	size_t size;         /* K_PATH/K_OPTPATH: size of the char array;
				K_GROUP: number of members */
	const struct key_spec *members;  /* K_GROUP: its keys, in print order */
	enum mh_key_apply apply;  /* what SIGHUP does with a change (0: identity) */
	const char *note;         /* a live change's meaning, where not "now" */
};

#define FIELD(n) .off = offsetof(struct mh_config, n)
#define UINT_KEY(n, lo, hi, ...) \
	{ .name = #n, .kind = K_UINT, FIELD(n), .min = lo, .max = hi, __VA_ARGS__ }
#define U16_KEY(n, lo, hi)  { .name = #n, .kind = K_U16, FIELD(n), .min = lo, .max = hi }
#define PATH_KEY(n, ...) \
	{ .name = #n, .kind = K_PATH, FIELD(n), \
	  .size = sizeof(((struct mh_config *)0)->n), __VA_ARGS__ }
#define LIVE .apply = MH_KEY_LIVE
#define REBUILD .apply = MH_KEY_REBUILD
#define NOTE(text) .note = text
#define AT_LOGIN NOTE("read by the hook at each login")
/* an absolute path, or "" for off */
#define OPTPATH_KEY(n) \
	{ .name = #n, .kind = K_OPTPATH, FIELD(n), \
	  .size = sizeof(((struct mh_config *)0)->n) }
#define GROUP_KEY(n, m) \
	{ .name = #n, .kind = K_GROUP, .size = ARRAY_LEN(m), .members = m }

/* single_port = { enable = true; port = 60000; };  (mosh #295) */
static const struct key_spec single_port_keys[] = {
	{ .name = "enable", .kind = K_BOOL, FIELD(single_port) },
	{ .name = "port", .kind = K_U16, FIELD(public_port), .min = 1, .max = 65535 },
};

/* Every key, in the order mh_config_print writes them. A key without LIVE
 * or REBUILD is part of the daemon's identity: SIGHUP keeps its running value
 * until a restart. REBUILD: live, and the table (kernel.c) is built from it. */
static const struct key_spec keys[] = {
	{ .name = "ports", .kind = K_PORTS, .min = 1, .max = 65535 },
	{ .name = "reserve_ports", .kind = K_BOOL, FIELD(reserve_ports) },
	{ .name = "local_flows", .kind = K_BOOL, FIELD(local_flows), REBUILD,
	  NOTE("the table's exception for the host's own flows from the range") },
	UINT_KEY(idle_timeout, 5, 86400, REBUILD,
		 NOTE("for pinholes opened from now on; open ones keep theirs")),
	UINT_KEY(handshake_timeout, 5, 3600, LIVE),
	UINT_KEY(session_timeout, 60, 31536000, LIVE),
	UINT_KEY(candidate_lifetime, 3, 60, REBUILD, NOTE("for candidates from now on")),
	PATH_KEY(control_socket),
	PATH_KEY(server_path, LIVE, AT_LOGIN),
	UINT_KEY(max_sessions, 1, 65535, REBUILD),
	UINT_KEY(max_sessions_per_user, 1, 65535, LIVE),
	UINT_KEY(crowded_port_lookups, 0, 10000000, LIVE),
	UINT_KEY(max_pinholes_per_session, 1, MH_PINHOLES_CAP, REBUILD,
		 NOTE("for sessions announced from now on")),
	U16_KEY(queue_num, 0, 65535),
	UINT_KEY(queue_maxlen, 1, 65536),
	UINT_KEY(slow_path_rate, 1, 1000000, REBUILD),
	UINT_KEY(slow_path_rate_per_source, 0, 1000000, REBUILD),
	UINT_KEY(slow_path_rate_per_session, 0, 1000000, REBUILD),
	UINT_KEY(hook_timeout, 1, 60, LIVE, AT_LOGIN),
	{ .name = "server_ports", .kind = K_SRVPORTS, FIELD(server_ports),
	  .size = sizeof(struct mh_port_range), LIVE, AT_LOGIN },
	UINT_KEY(server_network_timeout, 0, 31536000, LIVE, AT_LOGIN),
	{ .name = "table", .kind = K_TABLE, FIELD(table) },
	{ .name = "table_flags", .kind = K_TABLEFLAGS, FIELD(table_flags) },
	{ .name = "accept_mark", .kind = K_HEX, FIELD(accept_mark), .min = 0,
	  .max = 0xffffffffll, REBUILD },
	GROUP_KEY(single_port, single_port_keys),
	{ .name = "log_level", .kind = K_LOGLEVEL, FIELD(log_level), LIVE },
	OPTPATH_KEY(audit_log),
	OPTPATH_KEY(key_log),
	{ .name = "keyless", .kind = K_BOOL, FIELD(keyless) },
	OPTPATH_KEY(slowpath_pcap),
	{ .name = "user", .kind = K_USER, FIELD(user) },
	{ .name = "seccomp", .kind = K_BOOL, FIELD(seccomp) },
	{ .name = "role", .kind = K_ROLE, FIELD(role) },
	OPTPATH_KEY(tls_ca),
	OPTPATH_KEY(tls_cert),
	OPTPATH_KEY(tls_key),
	OPTPATH_KEY(tls_crl),
	/* role = relay */
	{ .name = "gateways", .kind = K_GATEWAYS },
	{ .name = "gateway_ack", .kind = K_ACK, FIELD(gateway_ack) },
	UINT_KEY(gateway_timeout, 100, 59000),
	{ .name = "relay_name", .kind = K_NAME, FIELD(relay_name),
	  .size = sizeof(((struct mh_config *)0)->relay_name) },
	UINT_KEY(relay_heartbeat, 1, 60),
	{ .name = "relay_addresses", .kind = K_ADDRS },
	{ .name = "relay_listen", .kind = K_LISTEN, FIELD(relay_listen),
	  .size = sizeof(((struct mh_config *)0)->relay_listen) },
	UINT_KEY(relay_max_connections, 1, 4096),
	UINT_KEY(relay_handshake_timeout, 1, 120),
	UINT_KEY(relay_orphan_grace, 1, 86400, LIVE,
		 NOTE("for relays that go away from now on")),
	UINT_KEY(relay_resync_grace, 1, 3600, LIVE,
		 NOTE("for resyncs that end from now on")),
	UINT_KEY(max_sessions_per_relay, 1, 65535),
	{ .name = "relay_servers", .kind = K_PREFIXES },
};

static const char *const level_names[] = { "error", "warning", "info", "debug" };
static const char *const table_flags_names[] = { "auto", "none" };
static const char *const role_names[] = { "host", "relay", "gateway" };
static const char *const ack_names[] = { "all", "any" };

void mh_config_defaults(struct mh_config *c)
{
	memset(c, 0, sizeof(*c));
	c->port_low = MOSH_DEFAULT_PORT_LOW;
	c->port_high = MOSH_DEFAULT_PORT_HIGH;
	c->reserve_ports = true;
	c->local_flows = false;
	c->idle_timeout = 60;
	c->handshake_timeout = 60;
	c->session_timeout = 604800;
	c->candidate_lifetime = MH_CANDIDATE_LIFETIME_S;
	strcpy(c->control_socket, "/run/mosh-helper/control.sock");
	strcpy(c->server_path, "/usr/bin/mosh-server");
	c->max_sessions = 1000;
	c->max_sessions_per_user = 20;
	c->crowded_port_lookups = 5000;
	c->max_pinholes_per_session = 4;
	c->queue_num = 0;
	c->queue_maxlen = 4096;
	c->slow_path_rate = 20000;
	c->slow_path_rate_per_source = 200;
	c->slow_path_rate_per_session = 10;
	c->hook_timeout = 5;
	strcpy(c->table, "mosh_helper");
	c->table_flags = MH_TABLE_FLAGS_AUTO;
	c->accept_mark = MH_DEFAULT_ACCEPT_MARK;
	c->log_level = MH_LOG_INFO;
	c->single_port = false;
	c->public_port = DEFAULT_PUBLIC_PORT;
	strcpy(c->audit_log, "/var/log/mosh-helper/audit.log");
	strcpy(c->user, MH_DEFAULT_USER);
	c->user_default = true;
	c->seccomp = true;
	c->role = MH_ROLE_HOST;
	c->gateway_ack = MH_ACK_ALL;
	c->gateway_timeout = 3000;
	c->relay_heartbeat = 5;
	strcpy(c->relay_listen, MH_DEFAULT_RELAY_LISTEN);
	c->relay_max_connections = 64;
	c->relay_handshake_timeout = 10;
	c->relay_orphan_grace = 120;
	c->relay_resync_grace = 10;
	c->max_sessions_per_relay = 500;
}

static const struct key_spec *key_find(const struct key_spec *tab, size_t n,
					const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/* label: the key as errors name it ("idle_timeout", "single_port.port"). */
static int get_int(const config_setting_t *s, const struct key_spec *k,
		   const char *label, long long *v, char *why)
{
	int t = config_setting_type(s);

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		snprintf(why, WHY_MAX, "%s: expected an integer", label);
		return -EINVAL;
	}
	*v = config_setting_get_int64(s);
	/* libconfig reads 0x80000000..0xffffffff as a negative int: a mark
	 * written in hex means its 32 bits */
	if (k->kind == K_HEX && t == CONFIG_TYPE_INT && *v < 0 &&
	    config_setting_get_format(s) == CONFIG_FORMAT_HEX)
		*v += 0x100000000ll;
	if (*v < k->min || *v > k->max) {
		snprintf(why, WHY_MAX, "%s: %lld is out of range %lld..%lld",
			 label, *v, k->min, k->max);
		return -EINVAL;
	}
	return 0;
}

static int set_int(const config_setting_t *s, const struct key_spec *k,
		   const char *label, struct mh_config *c, char *why)
{
	long long v;
	int r = get_int(s, k, label, &v, why);

	if (r)
		return r;
	if (k->kind == K_UINT || k->kind == K_HEX)
		*(unsigned *)(void *)((char *)c + k->off) = (unsigned)v;
	else
		*(uint16_t *)(void *)((char *)c + k->off) = (uint16_t)v;
	return 0;
}

static int set_bool(const config_setting_t *s, const struct key_spec *k,
		    const char *label, struct mh_config *c, char *why)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		snprintf(why, WHY_MAX, "%s: expected true or false", label);
		return -EINVAL;
	}
	*(bool *)(void *)((char *)c + k->off) = config_setting_get_bool(s) != 0;
	return 0;
}

static int get_string(const config_setting_t *s, const char *label,
		      const char **v, char *why)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		snprintf(why, WHY_MAX, "%s: expected a string", label);
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

/* "LOW-HIGH" (ports, server_ports); expect: the form errors describe. */
static int set_range(const char *s, const char *label, const char *expect,
		     uint16_t *low, uint16_t *high, char *why)
{
	const char *dash = strchr(s, '-');
	long lo, hi;

	if (!dash || parse_port(s, (size_t)(dash - s), &lo) ||
	    parse_port(dash + 1, strlen(dash + 1), &hi)) {
		snprintf(why, WHY_MAX, "%s: expected %s", label, expect);
		return -EINVAL;
	}
	if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535) {
		snprintf(why, WHY_MAX, "%s: %ld is out of range 1..65535", label,
			 (lo < 1 || lo > 65535) ? lo : hi);
		return -EINVAL;
	}
	if (lo > hi) {
		snprintf(why, WHY_MAX, "%s: low port %ld is above high port %ld",
			 label, lo, hi);
		return -EINVAL;
	}
	*low = (uint16_t)lo;
	*high = (uint16_t)hi;
	return 0;
}

static int set_ports(const char *s, struct mh_config *c, char *why)
{
	return set_range(s, "ports", "\"LOW-HIGH\" such as \"60000-61000\"",
			 &c->port_low, &c->port_high, why);
}

/* "" (off) or "LOW-HIGH"; that it lies inside ports is checked once the
 * whole file is read (check_server_ports). */
static int set_server_ports(const char *s, struct mh_port_range *r, char *why)
{
	if (!*s) {
		r->low = r->high = 0;
		return 0;
	}
	return set_range(s, "server_ports",
			 "\"\" or \"LOW-HIGH\" such as \"60001-60999\"",
			 &r->low, &r->high, why);
}

static int set_path(const char *s, const struct key_spec *k, const char *label,
		    char *dst, char *why)
{
	if (s[0] != '/') {
		snprintf(why, WHY_MAX, "%s: \"%.64s\" is not an absolute path",
			 label, s);
		return -EINVAL;
	}
	if (strlen(s) >= k->size) {
		snprintf(why, WHY_MAX, "%s: longer than %zu bytes", label,
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

/* A user name as useradd accepts it, or "" (stay with the starting uid). */
static int set_user(const char *s, char *dst, size_t size, char *why)
{
	size_t n = strlen(s);
	bool ok = n < size && s[0] != '-';

	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
		     s[i] == '.';
	if (!ok) {
		snprintf(why, WHY_MAX,
			 "user: \"%.64s\" is not \"\" or a user name of at most %zu "
			 "characters of A-Z, a-z, 0-9, _, - and . (not starting with -)",
			 s, size - 1);
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

static int set_table_flags(const char *s, int *dst, char *why)
{
	for (int i = 0; i < (int)ARRAY_LEN(table_flags_names); i++) {
		if (strcmp(s, table_flags_names[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	snprintf(why, WHY_MAX, "table_flags: \"%.64s\" is not one of auto, none", s);
	return -EINVAL;
}

static int set_role(const char *s, int *dst, char *why)
{
	for (int i = 0; i < (int)ARRAY_LEN(role_names); i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	snprintf(why, WHY_MAX, "role: \"%.64s\" is not one of host, relay, gateway", s);
	return -EINVAL;
}

/* "ADDR:PORT" or "[ADDR6]:PORT" (hostport.h) */
static int set_listen(const char *s, const struct key_spec *k, char *dst,
		      char *why)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (strlen(s) >= k->size || mh_hostport_parse(s, &ss, &len) < 0) {
		snprintf(why, WHY_MAX, "%s: \"%.64s\" is not \"ADDR:PORT\" or "
			 "\"[ADDR6]:PORT\" (numeric address, port 1..65535)",
			 k->name, s);
		return -EINVAL;
	}
	strcpy(dst, s);
	return 0;
}

static int set_ack(const char *s, int *dst, char *why)
{
	for (int i = 0; i < (int)ARRAY_LEN(ack_names); i++) {
		if (strcmp(s, ack_names[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	snprintf(why, WHY_MAX, "gateway_ack: \"%.64s\" is not one of all, any", s);
	return -EINVAL;
}

/* The relay's name on the wire: "" (the host name) or [A-Za-z0-9._-]. */
static int set_name(const char *s, const struct key_spec *k, char *dst,
		    char *why)
{
	size_t n = strlen(s);
	bool ok = n < k->size;

	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
		     s[i] == '.';
	if (!ok) {
		snprintf(why, WHY_MAX, "%s: \"%.64s\" is not \"\" or at most %zu "
			 "characters of A-Z, a-z, 0-9, _, - and .", k->name, s,
			 k->size - 1);
		return -EINVAL;
	}
	strcpy(dst, s);
	return 0;
}

/* "[V6]..." -> the address text and what follows the bracket */
static int split_gateway(const char *s, char *host, size_t hostlen,
			 const char **rest)
{
	const char *start = s[0] == '[' ? s + 1 : s;
	const char *end = s[0] == '[' ? strchr(start, ']') : strrchr(s, ':');
	size_t n;

	if ((s[0] == '[' && !end) || (s[0] != '[' && end && strchr(s, ':') != end))
		return -EINVAL;   /* an IPv6 address takes brackets */
	if (s[0] != '[' && !end)
		end = s + strlen(s);   /* no port */
	n = (size_t)(end - start);
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	memcpy(host, start, n);
	host[n] = '\0';
	*rest = s[0] == '[' ? end + 1 : end;
	return 0;
}

int mh_config_parse_gateway(const char *s, int *family, uint8_t ip[16],
			    uint16_t *port)
{
	char host[INET6_ADDRSTRLEN];
	const char *rest;
	long v = MH_RELAY_DEFAULT_PORT;

	if (split_gateway(s, host, sizeof(host), &rest) < 0)
		return -EINVAL;
	if (*rest && (*rest != ':' || parse_port(rest + 1, strlen(rest + 1), &v) < 0 ||
		      v < 1 || v > 65535))
		return -EINVAL;
	memset(ip, 0, 16);
	*family = s[0] == '[' ? AF_INET6 : AF_INET;
	if (inet_pton(*family, host, ip) != 1)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* One element of relay_servers: ADDR/LEN */
static int prefix_elem(const char *v, const char *label, char *dst, char *why)
{
	struct mh_prefix p;
	const char *pwhy = "too long";

	if (strlen(v) >= MH_GATEWAY_TEXT_MAX || mh_prefix_parse(v, &p, &pwhy) < 0) {
		snprintf(why, WHY_MAX, "%s: \"%.64s\": %s (a prefix such as "
			 "\"198.18.4.0/24\" or \"fd00:4::/64\")", label, v, pwhy);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

/* One element of gateways (ADDR[:PORT]), relay_addresses (an address) or
 * relay_servers (a prefix). */
static int list_elem(const config_setting_t *e, const struct key_spec *k,
		     const char *label, char *dst, char *why)
{
	const char *v;
	uint8_t ip[16];
	uint16_t port;
	int family, r = get_string(e, label, &v, why);

	if (r)
		return r;
	if (k->kind == K_PREFIXES)
		return prefix_elem(v, label, dst, why);
	if (k->kind == K_GATEWAYS)
		r = mh_config_parse_gateway(v, &family, ip, &port);
	else
		r = inet_pton(strchr(v, ':') ? AF_INET6 : AF_INET, v, ip) == 1 ? 0 : -EINVAL;
	if (r || strlen(v) >= MH_GATEWAY_TEXT_MAX) {
		snprintf(why, WHY_MAX, k->kind == K_GATEWAYS ?
			 "%s: \"%.64s\" is not \"ADDR:PORT\" such as \"198.18.0.1:%d\" "
			 "or \"[fd00::1]:%d\"" : "%s: \"%.64s\" is not an IPv4 or IPv6 address",
			 label, v, MH_RELAY_DEFAULT_PORT, MH_RELAY_DEFAULT_PORT);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

/* Where a list key keeps its strings, how many it takes, its count. */
static char (*list_of(const struct key_spec *k, struct mh_config *c,
		      unsigned *max, unsigned **n))[MH_GATEWAY_TEXT_MAX]
{
	if (k->kind == K_GATEWAYS) {
		*max = MH_GATEWAYS_MAX;
		*n = &c->n_gateways;
		return c->gateways;
	}
	if (k->kind == K_PREFIXES) {
		*max = MH_RELAY_SERVERS_MAX;
		*n = &c->n_relay_servers;
		return c->relay_servers;
	}
	*max = MH_RELAY_ADDRS_MAX;
	*n = &c->n_relay_addresses;
	return c->relay_addresses;
}

/* gateways = [ "198.18.0.1:7710", ... ]; relay_addresses = [ ... ];
 * relay_servers = [ "198.18.4.0/24", ... ] */
static int set_list(const config_setting_t *s, const struct key_spec *k,
		    const char *label, struct mh_config *c, char *why)
{
	unsigned max, i, n, *count;
	char (*dst)[MH_GATEWAY_TEXT_MAX] = list_of(k, c, &max, &count);
	int t = config_setting_type(s), r;

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		snprintf(why, WHY_MAX, "%s: expected a list of strings [ \"...\", ... ]",
			 label);
		return -EINVAL;
	}
	n = (unsigned)config_setting_length(s);
	if (n > max) {
		snprintf(why, WHY_MAX, "%s: %u entries, at most %u", label, n, max);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		r = list_elem(config_setting_get_elem(s, i), k, label, dst[i], why);
		if (r)
			return r;
	}
	*count = n;
	return 0;
}

static int apply_string(const config_setting_t *s, const struct key_spec *k,
			const char *label, struct mh_config *c, char *why)
{
	char *field = (char *)c + k->off;
	const char *v;
	int r = get_string(s, label, &v, why);

	if (r)
		return r;
	switch (k->kind) {
	case K_PORTS:
		return set_ports(v, c, why);
	case K_SRVPORTS:
		return set_server_ports(v, (struct mh_port_range *)(void *)field, why);
	case K_OPTPATH:
		if (v[0] == '\0') {
			field[0] = '\0';
			return 0;
		}
		/* fall through */
	case K_PATH:
		return set_path(v, k, label, field, why);
	case K_TABLE:
		return set_table(v, field, why);
	case K_USER:
		c->user_default = false;
		return set_user(v, field, sizeof(((struct mh_config *)0)->user), why);
	case K_TABLEFLAGS:
		return set_table_flags(v, (int *)(void *)field, why);
	case K_ROLE:
		return set_role(v, (int *)(void *)field, why);
	case K_ACK:
		return set_ack(v, (int *)(void *)field, why);
	case K_NAME:
		return set_name(v, k, field, why);
	case K_LISTEN:
		return set_listen(v, k, field, why);
	default:
		return set_level(v, (int *)(void *)field, why);
	}
}

static int apply_settings(const config_setting_t *g, const struct key_spec *tab,
			  size_t n, const char *group, struct mh_config *c,
			  char *why, const config_setting_t **at);

/* A group key: its value must be a group of its own members only. */
static int apply_group(const config_setting_t *s, const struct key_spec *k,
		       const char *label, struct mh_config *c, char *why,
		       const config_setting_t **at)
{
	size_t len;

	if (config_setting_type(s) == CONFIG_TYPE_GROUP)
		return apply_settings(s, k->members, k->size, label, c, why, at);
	len = (size_t)snprintf(why, WHY_MAX, "%s: expected a group {", label);
	for (size_t i = 0; i < k->size && len < WHY_MAX; i++)
		len += (size_t)snprintf(why + len, WHY_MAX - len, " %s = ...;",
					k->members[i].name);
	if (len < WHY_MAX)
		snprintf(why + len, WHY_MAX - len, " }");
	return -EINVAL;
}

/* One setting s of a group (group NULL: the top level) whose keys are tab.
 * *at is s, or the member of s that is wrong. */
static int apply_one(const config_setting_t *s, const struct key_spec *tab,
		     size_t n, const char *group, struct mh_config *c, char *why,
		     const config_setting_t **at)
{
	const char *name = config_setting_name(s);
	const struct key_spec *k = key_find(tab, n, name);
	char label[LABEL_MAX];

	*at = s;
	if (!k) {
		snprintf(why, WHY_MAX, "%s%sunknown setting '%.64s'",
			 group ? group : "", group ? ": " : "", name);
		return -EINVAL;
	}
	snprintf(label, sizeof(label), "%s%s%s", group ? group : "",
		 group ? "." : "", k->name);
	switch (k->kind) {
	case K_GROUP:
		return apply_group(s, k, label, c, why, at);
	case K_BOOL:
		return set_bool(s, k, label, c, why);
	case K_UINT:
	case K_U16:
	case K_HEX:
		return set_int(s, k, label, c, why);
	case K_GATEWAYS:
	case K_ADDRS:
	case K_PREFIXES:
		return set_list(s, k, label, c, why);
	default:
		return apply_string(s, k, label, c, why);
	}
}

static int apply_settings(const config_setting_t *g, const struct key_spec *tab,
			  size_t n, const char *group, struct mh_config *c,
			  char *why, const config_setting_t **at)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		int r = apply_one(config_setting_get_elem(g, (unsigned)i), tab, n,
				  group, c, why, at);

		if (r)
			return r;
	}
	return 0;
}

static const char *file_of(const config_setting_t *s, const char *path)
{
	const char *f = config_setting_source_file(s);

	return f ? f : path;
}

/* server_ports against the keys it depends on, whatever their order in
 * the file: inside the managed range, and without the single-port public
 * port (a mosh-server bound there would take every client's datagrams). */
static int check_server_ports(const struct mh_config *c, char *why)
{
	const struct mh_port_range *r = &c->server_ports;

	if (!r->low)
		return 0;
	if (r->low < c->port_low || r->high > c->port_high) {
		snprintf(why, WHY_MAX, "server_ports: %u-%u is not inside ports %u-%u",
			 r->low, r->high, c->port_low, c->port_high);
		return -EINVAL;
	}
	if (c->single_port && c->public_port >= r->low && c->public_port <= r->high) {
		snprintf(why, WHY_MAX, "server_ports: %u-%u holds single_port.port %u, "
			 "which no mosh-server may take", r->low, r->high,
			 c->public_port);
		return -EINVAL;
	}
	return 0;
}

/* The keys a role needs, whatever their order in the file: a relay and a
 * gateway speak TLS with the site CA, their certificate and key (the CRL
 * is optional); a relay needs a gateway. A gateway whose table is not
 * named gets its own default name, so that it never takes a host table's. */
static int check_role(const config_t *cf, struct mh_config *c, char *why)
{
	static const char *const need[] = { "tls_ca", "tls_cert", "tls_key" };
	const char *const have[] = { c->tls_ca, c->tls_cert, c->tls_key };

	if (c->role == MH_ROLE_HOST)
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(need); i++) {
		if (!have[i][0]) {
			snprintf(why, WHY_MAX, "role: \"%s\" needs %s (an absolute path)",
				 role_names[c->role], need[i]);
			return -EINVAL;
		}
	}
	if (c->role == MH_ROLE_RELAY && !c->n_gateways) {
		snprintf(why, WHY_MAX, "role: \"relay\" needs gateways = [ \"ADDR:PORT\", ... ]");
		return -EINVAL;
	}
	if (c->role == MH_ROLE_GATEWAY && !config_lookup(cf, "table"))
		strcpy(c->table, MH_GATEWAY_TABLE);
	return 0;
}

/* keyless against the keys it cannot go with, whatever their order: a key
 * log (there is no key to write), single-port mode (without keys the
 * public port cannot tell whose datagram it is: README, "Keyless mode"),
 * and no per-session budget (the one bound on what reaches mosh-server
 * unverified). Every role may be keyless: a keyless relay sends keyless
 * OPENs, a keyless gateway takes only those (README, "Keyless mode"). */
static int check_keyless(const struct mh_config *c, char *why)
{
	if (!c->keyless)
		return 0;
	if (c->key_log[0]) {
		snprintf(why, WHY_MAX, "keyless: the daemon holds no session key, "
			 "so key_log cannot be on; set key_log = \"\"");
		return -EINVAL;
	}
	if (c->single_port) {
		snprintf(why, WHY_MAX, "keyless: single_port needs the session keys "
			 "to tell sessions apart on the public port; turn one off");
		return -EINVAL;
	}
	if (!c->slow_path_rate_per_session) {
		snprintf(why, WHY_MAX, "keyless: slow_path_rate_per_session = 0 "
			 "leaves unverified datagrams unbounded; set it above 0");
		return -EINVAL;
	}
	return 0;
}

/* A gateway's public port is inside the range it closes anyway: its
 * prerouting chain takes that port for every address behind and in front
 * of the gateway, so a port outside the range would be taken from every
 * other service (QUIC on 443, say). */
static int check_gateway_single_port(const struct mh_config *c, char *why)
{
	if (c->role != MH_ROLE_GATEWAY || !c->single_port ||
	    (c->public_port >= c->port_low && c->public_port <= c->port_high))
		return 0;
	snprintf(why, WHY_MAX, "single_port: at a gateway port %u must be inside "
		 "ports %u-%u (the gateway takes the public port for every "
		 "address it forwards)", c->public_port, c->port_low, c->port_high);
	return -EINVAL;
}

/* The relay's wait for its gateways ends before the hook stops waiting. */
static int check_gateway_timeout(const struct mh_config *c, char *why)
{
	if (c->role != MH_ROLE_RELAY || c->gateway_timeout + 500 <= c->hook_timeout * 1000)
		return 0;
	snprintf(why, WHY_MAX, "gateway_timeout: %u ms must end at least 500 ms "
		 "before hook_timeout (%u s)", c->gateway_timeout, c->hook_timeout);
	return -EINVAL;
}

/* A check of the whole file failed: "FILE:LINE: why" at key, or
 * "FILE: why" if the key is not in the file. */
static int whole_file_error(const config_t *cf, const char *path,
			    const char *key, const char *why, char *err,
			    size_t errlen)
{
	const config_setting_t *at = config_lookup(cf, key);

	if (at)
		snprintf(err, errlen, "%s:%u: %s", file_of(at, path),
			 config_setting_source_line(at), why);
	else
		snprintf(err, errlen, "%s: %s", path, why);
	return -EINVAL;
}

/* Applies every top-level setting to a scratch copy; c changes only when the
 * whole file is valid. */
static int apply_all(const config_t *cf, const char *path, struct mh_config *c,
		     char *err, size_t errlen)
{
	const config_setting_t *at = NULL;
	struct mh_config tmp = *c;
	char why[WHY_MAX];

	if (apply_settings(config_root_setting(cf), keys, ARRAY_LEN(keys), NULL,
			   &tmp, why, &at)) {
		snprintf(err, errlen, "%s:%u: %s", file_of(at, path),
			 config_setting_source_line(at), why);
		return -EINVAL;
	}
	if (check_server_ports(&tmp, why))
		return whole_file_error(cf, path, "server_ports", why, err, errlen);
	if (check_role(cf, &tmp, why))
		return whole_file_error(cf, path, "role", why, err, errlen);
	if (check_gateway_timeout(&tmp, why))
		return whole_file_error(cf, path, "gateway_timeout", why, err, errlen);
	if (check_gateway_single_port(&tmp, why))
		return whole_file_error(cf, path, "single_port", why, err, errlen);
	if (check_keyless(&tmp, why))
		return whole_file_error(cf, path, "keyless", why, err, errlen);
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

static void print_list(FILE *f, const char (*v)[MH_GATEWAY_TEXT_MAX], unsigned n)
{
	fputc('[', f);
	for (unsigned i = 0; i < n; i++) {
		fputs(i ? ", " : " ", f);
		print_string(f, v[i]);
	}
	fputs(" ]", f);
}

/* The relay's keys (and every other string key). */
static void print_relay_value(FILE *f, const struct key_spec *k,
			      const struct mh_config *c)
{
	const char *field = (const char *)c + k->off;

	if (k->kind == K_ACK)
		print_string(f, ack_names[*(const int *)(const void *)field == MH_ACK_ANY]);
	else if (k->kind == K_GATEWAYS)
		print_list(f, c->gateways, c->n_gateways);
	else if (k->kind == K_ADDRS)
		print_list(f, c->relay_addresses, c->n_relay_addresses);
	else if (k->kind == K_PREFIXES)
		print_list(f, c->relay_servers, c->n_relay_servers);
	else
		print_string(f, field);
}

static void print_value(FILE *f, const struct key_spec *k,
			const struct mh_config *c)
{
	const char *field = (const char *)c + k->off;
	int level;

	switch (k->kind) {
	case K_UINT:
		fprintf(f, "%u", *(const unsigned *)(const void *)field);
		break;
	case K_HEX:
		fprintf(f, "0x%08x", *(const unsigned *)(const void *)field);
		break;
	case K_TABLEFLAGS:
		level = *(const int *)(const void *)field;
		print_string(f, table_flags_names[level == MH_TABLE_FLAGS_NONE]);
		break;
	case K_ROLE:
		level = *(const int *)(const void *)field;
		print_string(f, role_names[level >= 0 && level < (int)ARRAY_LEN(role_names)
					   ? level : MH_ROLE_HOST]);
		break;
	case K_U16:
		fprintf(f, "%u", (unsigned)*(const uint16_t *)(const void *)field);
		break;
	case K_BOOL:
		fputs(*(const bool *)(const void *)field ? "true" : "false", f);
		break;
	case K_PORTS:
		fprintf(f, "\"%u-%u\"", (unsigned)c->port_low,
			(unsigned)c->port_high);
		break;
	case K_SRVPORTS:
		if (c->server_ports.low)
			fprintf(f, "\"%u-%u\"", (unsigned)c->server_ports.low,
				(unsigned)c->server_ports.high);
		else
			fputs("\"\"", f);
		break;
	case K_LOGLEVEL:
		level = *(const int *)(const void *)field;
		if (level < MH_LOG_ERR || level > MH_LOG_DEBUG)
			level = MH_LOG_INFO;
		print_string(f, level_names[level]);
		break;
	case K_GROUP:         /* on one line: { a = 1; b = 2; } */
		fputc('{', f);
		for (size_t i = 0; i < k->size; i++) {
			fprintf(f, " %s = ", k->members[i].name);
			print_value(f, &k->members[i], c);
			fputc(';', f);
		}
		fputs(" }", f);
		break;
	default:
		print_relay_value(f, k, c);
		break;
	}
}

void mh_config_print(FILE *f, const struct mh_config *c)
{
	fputs("# mosh-helper: effective configuration\n", f);
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		/* an unset user is not the same as one set to its default
		 * (that one must exist): printed as a comment, it reads back
		 * unset (found by fuzz_config) */
		if (keys[i].kind == K_USER && c->user_default) {
			fprintf(f, "# %s: not set (\"%s\" if that user exists, else the "
				"starting uid)\n", keys[i].name, MH_DEFAULT_USER);
			continue;
		}
		fprintf(f, "%s = ", keys[i].name);
		print_value(f, &keys[i], c);
		fputs(";\n", f);
	}
}

static const struct key_spec *top_key(const char *name)
{
	return key_find(keys, ARRAY_LEN(keys), name);
}

enum mh_key_apply mh_config_key_apply(const char *name)
{
	const struct key_spec *k = top_key(name);

	return k ? k->apply : MH_KEY_IDENTITY;
}

const char *mh_config_key_note(const char *name)
{
	const struct key_spec *k = top_key(name);

	return k ? k->note : NULL;
}

/* Bytes of the field behind a scalar or path key (every live key is one). */
static size_t field_size(const struct key_spec *k)
{
	switch (k->kind) {
	case K_UINT:
	case K_HEX:
		return sizeof(unsigned);
	case K_U16:
		return sizeof(uint16_t);
	case K_BOOL:
		return sizeof(bool);
	case K_LOGLEVEL:
	case K_ROLE:
		return sizeof(int);
	default:
		return k->size;
	}
}

struct mh_config mh_config_take_live(const struct mh_config *run,
				     const struct mh_config *n)
{
	struct mh_config c = *run;

	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (keys[i].apply != MH_KEY_IDENTITY)
			memcpy((char *)&c + keys[i].off, (const char *)n + keys[i].off,
			       field_size(&keys[i]));
	return c;
}

bool mh_config_rebuild_differs(const struct mh_config *o,
			       const struct mh_config *n)
{
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (keys[i].apply == MH_KEY_REBUILD &&
		    memcmp((const char *)o + keys[i].off,
			   (const char *)n + keys[i].off, field_size(&keys[i])))
			return true;
	return false;
}
