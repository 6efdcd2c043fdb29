/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/config.c: the defaults, the shipped mosh-helper.conf,
 * print -> load round trips, and the golden cases in tests/unit/config/
 * (bad-*.conf with the exact error in bad-*.err, good-*.conf with the
 * exact mh_config_print output in good-*.out).
 */
#include <check.h>

#include "check_main.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char src_dir[PATH_MAX];
static char golden_dir[PATH_MAX + 32];

static void find_dirs(void)
{
	const char *src = getenv("MH_SRC");

	if (!realpath(src && *src ? src : ".", src_dir))
		ck_abort_msg("MH_SRC %s: %s", src ? src : ".", strerror(errno));
	snprintf(golden_dir, sizeof(golden_dir), "%s/tests/unit/config", src_dir);
}

static void assert_config_eq(const struct mh_config *a, const struct mh_config *b)
{
	ck_assert_uint_eq(a->port_low, b->port_low);
	ck_assert_uint_eq(a->port_high, b->port_high);
	ck_assert_uint_eq(a->idle_timeout, b->idle_timeout);
	ck_assert_uint_eq(a->handshake_timeout, b->handshake_timeout);
	ck_assert_uint_eq(a->session_timeout, b->session_timeout);
	ck_assert_uint_eq(a->candidate_lifetime, b->candidate_lifetime);
	ck_assert_str_eq(a->control_socket, b->control_socket);
	ck_assert_str_eq(a->server_path, b->server_path);
	ck_assert_uint_eq(a->max_sessions, b->max_sessions);
	ck_assert_uint_eq(a->max_sessions_per_user, b->max_sessions_per_user);
	ck_assert_uint_eq(a->crowded_port_lookups, b->crowded_port_lookups);
	ck_assert_uint_eq(a->max_pinholes_per_session, b->max_pinholes_per_session);
	ck_assert_uint_eq(a->queue_num, b->queue_num);
	ck_assert_uint_eq(a->queue_maxlen, b->queue_maxlen);
	ck_assert_uint_eq(a->slow_path_rate, b->slow_path_rate);
	ck_assert_uint_eq(a->slow_path_rate_per_session, b->slow_path_rate_per_session);
	ck_assert_uint_eq(a->hook_timeout, b->hook_timeout);
	ck_assert_uint_eq(a->server_ports.low, b->server_ports.low);
	ck_assert_uint_eq(a->server_ports.high, b->server_ports.high);
	ck_assert_uint_eq(a->server_network_timeout, b->server_network_timeout);
	ck_assert_str_eq(a->table, b->table);
	ck_assert_int_eq(a->log_level, b->log_level);
	ck_assert_int_eq(a->single_port, b->single_port);
	ck_assert_uint_eq(a->public_port, b->public_port);
	ck_assert_int_eq(a->reserve_ports, b->reserve_ports);
	ck_assert_int_eq(a->local_flows, b->local_flows);
	ck_assert_int_eq(a->role, b->role);
	ck_assert_str_eq(a->tls_ca, b->tls_ca);
	ck_assert_str_eq(a->tls_cert, b->tls_cert);
	ck_assert_str_eq(a->tls_key, b->tls_key);
	ck_assert_str_eq(a->tls_crl, b->tls_crl);
	ck_assert_uint_eq(a->n_gateways, b->n_gateways);
	for (unsigned i = 0; i < a->n_gateways; i++)
		ck_assert_str_eq(a->gateways[i], b->gateways[i]);
	ck_assert_int_eq(a->gateway_ack, b->gateway_ack);
	ck_assert_uint_eq(a->gateway_timeout, b->gateway_timeout);
	ck_assert_str_eq(a->relay_name, b->relay_name);
	ck_assert_uint_eq(a->relay_heartbeat, b->relay_heartbeat);
	ck_assert_uint_eq(a->n_relay_addresses, b->n_relay_addresses);
	for (unsigned i = 0; i < a->n_relay_addresses; i++)
		ck_assert_str_eq(a->relay_addresses[i], b->relay_addresses[i]);
	ck_assert_uint_eq(a->n_relay_servers, b->n_relay_servers);
	for (unsigned i = 0; i < a->n_relay_servers; i++)
		ck_assert_str_eq(a->relay_servers[i], b->relay_servers[i]);
}

/* Whole file into a malloc'd string; NULL if it cannot be read. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int ch;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(m);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(m);
	fclose(f);
	return buf;
}

static char *print_to_string(const struct mh_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(m);
	mh_config_print(m, c);
	fclose(m);
	return buf;
}

/* print c to a temp file, load it over the defaults, compare. */
static void assert_round_trip(const struct mh_config *c)
{
	char path[] = "/tmp/mh-config-XXXXXX";
	int fd = mkstemp(path);
	struct mh_config back;
	char err[512] = "";
	char *first, *second;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	mh_config_print(f, c);
	fclose(f);
	mh_config_defaults(&back);
	ck_assert_msg(mh_config_load(path, &back, err, sizeof(err)) == 0,
		      "printed config does not load: %s", err);
	unlink(path);
	assert_config_eq(c, &back);
	first = print_to_string(c);
	second = print_to_string(&back);
	ck_assert_str_eq(first, second);
	free(first);
	free(second);
}

START_TEST(test_defaults)
{
	struct mh_config c;

	memset(&c, 0xa5, sizeof(c));
	mh_config_defaults(&c);
	ck_assert_uint_eq(c.port_low, 60000);
	ck_assert_uint_eq(c.port_high, 61000);
	ck_assert_uint_eq(c.idle_timeout, 60);
	ck_assert_uint_eq(c.handshake_timeout, 60);
	ck_assert_uint_eq(c.session_timeout, 604800);
	ck_assert_uint_eq(c.candidate_lifetime, 10);
	ck_assert_str_eq(c.control_socket, "/run/mosh-helper/control.sock");
	ck_assert_str_eq(c.server_path, "/usr/bin/mosh-server");
	ck_assert_uint_eq(c.max_sessions, 1000);
	ck_assert_uint_eq(c.max_sessions_per_user, 20);
	ck_assert_uint_eq(c.crowded_port_lookups, 5000);
	ck_assert_uint_eq(c.max_pinholes_per_session, 4);
	ck_assert_uint_eq(c.queue_num, 0);
	ck_assert_uint_eq(c.queue_maxlen, 4096);
	ck_assert_uint_eq(c.slow_path_rate, 20000);
	ck_assert_uint_eq(c.slow_path_rate_per_source, 200);
	ck_assert_uint_eq(c.slow_path_rate_per_session, 10);
	ck_assert_uint_eq(c.hook_timeout, 5);
	ck_assert_str_eq(c.table, "mosh_helper");
	ck_assert_int_eq(c.log_level, MH_LOG_INFO);
	ck_assert(!c.single_port);
	ck_assert_uint_eq(c.public_port, 60000);
	ck_assert_str_eq(c.user, "mosh-helper");
	ck_assert(c.user_default);
	ck_assert(c.seccomp);
	ck_assert(c.reserve_ports);
	ck_assert(!c.local_flows);
}
END_TEST

START_TEST(test_shipped_conf_is_defaults)
{
	struct mh_config def, c;
	char path[PATH_MAX + 32], err[512] = "";

	find_dirs();
	snprintf(path, sizeof(path), "%s/mosh-helper.conf", src_dir);
	mh_config_defaults(&def);
	/* start from values that differ from every default */
	memset(&c, 0, sizeof(c));
	c.log_level = MH_LOG_DEBUG;
	strcpy(c.table, "other");
	c.single_port = true;
	c.public_port = 443;
	c.reserve_ports = false;
	c.local_flows = true;
	ck_assert_msg(mh_config_load(path, &c, err, sizeof(err)) == 0, "%s", err);
	assert_config_eq(&c, &def);
}
END_TEST

START_TEST(test_shipped_conf_names_every_key)
{
	char path[PATH_MAX + 32], *text, *printed, *line, *save = NULL;
	struct mh_config def;

	find_dirs();
	snprintf(path, sizeof(path), "%s/mosh-helper.conf", src_dir);
	text = slurp(path);
	ck_assert_ptr_nonnull(text);
	mh_config_defaults(&def);
	printed = print_to_string(&def);
	/* every "key = value;" line of the effective defaults appears verbatim */
	for (line = strtok_r(printed, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		ck_assert_msg(strstr(text, line), "mosh-helper.conf lacks '%s'", line);
	}
	free(printed);
	free(text);
}
END_TEST

START_TEST(test_round_trip_defaults)
{
	struct mh_config c;

	mh_config_defaults(&c);
	assert_round_trip(&c);
}
END_TEST

START_TEST(test_round_trip_every_field)
{
	struct mh_config c;

	mh_config_defaults(&c);
	c.port_low = 1;
	c.port_high = 65535;
	c.idle_timeout = 86400;
	c.handshake_timeout = 5;
	c.session_timeout = 31536000;
	c.candidate_lifetime = 3;
	strcpy(c.control_socket, "/tmp/a \"b\" \\c\td.sock");
	strcpy(c.server_path, "/opt/m\xc3\xb6sh/bin/mosh-server");
	c.max_sessions = 1;
	c.max_sessions_per_user = 65535;
	c.crowded_port_lookups = 10000000;
	c.max_pinholes_per_session = 1;
	c.queue_num = 65535;
	c.queue_maxlen = 1;
	c.slow_path_rate = 1000000;
	c.slow_path_rate_per_session = 0;
	c.hook_timeout = 60;
	c.server_ports = (struct mh_port_range){ 2, 65534 };  /* not single_port.port */
	c.server_network_timeout = 31536000;
	strcpy(c.table, "abcdefghijklmnopqrstuvwxyz_ABCDE");
	for (int level = MH_LOG_ERR; level <= MH_LOG_DEBUG; level++) {
		c.log_level = level;
		c.single_port = level % 2;
		c.public_port = level % 2 ? 65535 : 1;
		c.reserve_ports = level % 2;
		c.local_flows = !(level % 2);
		assert_round_trip(&c);
	}
}
END_TEST

/* single_port: the group sets both fields, a partial group only its own,
 * and the printed line is the one the shipped file documents. */
START_TEST(test_single_port)
{
	struct mh_config c;
	char path[PATH_MAX + 96], err[512] = "", *text;

	find_dirs();
	snprintf(path, sizeof(path), "%s/good-single-port.conf", golden_dir);
	mh_config_defaults(&c);
	ck_assert_msg(mh_config_load(path, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert(c.single_port);
	ck_assert_uint_eq(c.public_port, 443);

	snprintf(path, sizeof(path), "%s/good-single-port-partial.conf", golden_dir);
	c.public_port = 4000;              /* not in the file: must survive */
	c.single_port = false;
	ck_assert_msg(mh_config_load(path, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert(c.single_port);
	ck_assert_uint_eq(c.public_port, 4000);

	text = print_to_string(&c);
	ck_assert_ptr_nonnull(strstr(text, "\nsingle_port = { enable = true; port = 4000; };\n"));
	free(text);
}
END_TEST

START_TEST(test_missing_file)
{
	struct mh_config c;
	char err[512] = "";

	mh_config_defaults(&c);
	ck_assert_int_eq(mh_config_load("/nonexistent/mosh-helper.conf", &c, err,
					sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "/nonexistent/mosh-helper.conf: No such file or directory");
	ck_assert_int_eq(mh_config_load("/", &c, err, sizeof(err)), -EISDIR);
	ck_assert_str_eq(err, "/: Is a directory");
}
END_TEST

START_TEST(test_failed_load_changes_nothing)
{
	struct mh_config c, before;
	char path[PATH_MAX + 96], err[512] = "";

	find_dirs();
	/* bad-first-error.conf sets ports validly, then fails on line 2 */
	snprintf(path, sizeof(path), "%s/bad-first-error.conf", golden_dir);
	mh_config_defaults(&c);
	c.idle_timeout = 77;
	before = c;
	ck_assert_int_eq(mh_config_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_config_eq(&c, &before);
}
END_TEST

START_TEST(test_load_keeps_unset_keys)
{
	struct mh_config c;
	char path[PATH_MAX + 96], err[512] = "";

	find_dirs();
	snprintf(path, sizeof(path), "%s/good-syntax.conf", golden_dir);
	mh_config_defaults(&c);
	c.max_sessions = 7;          /* not in the file: must survive */
	ck_assert_msg(mh_config_load(path, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c.max_sessions, 7);
	ck_assert_uint_eq(c.idle_timeout, 120);
	ck_assert_uint_eq(c.queue_num, 16);
	ck_assert_int_eq(c.log_level, MH_LOG_WARN);
}
END_TEST

START_TEST(test_small_error_buffer)
{
	struct mh_config c;
	char path[PATH_MAX + 96], err[12];

	find_dirs();
	snprintf(path, sizeof(path), "%s/bad-unknown.conf", golden_dir);
	memset(err, 'x', sizeof(err));
	mh_config_defaults(&c);
	ck_assert_int_eq(mh_config_load(path, &c, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
}
END_TEST

/* Calls fn(name) for every file of the golden dir named PREFIX*.conf;
 * returns how many. */
static int for_each_golden(const char *prefix, void (*fn)(const char *))
{
	struct dirent **names;
	int n, count = 0;

	find_dirs();
	ck_assert_int_eq(chdir(golden_dir), 0);
	n = scandir(".", &names, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		const char *d = names[i]->d_name;
		size_t len = strlen(d);

		if (strncmp(d, prefix, strlen(prefix)) == 0 && len > 5 &&
		    strcmp(d + len - 5, ".conf") == 0) {
			fn(d);
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

static char *companion(const char *conf, const char *ext)
{
	char path[NAME_MAX + 8];
	char *text;

	snprintf(path, sizeof(path), "%.*s%s", (int)(strlen(conf) - 5), conf, ext);
	text = slurp(path);
	ck_assert_msg(text != NULL, "%s has no %s file", conf, ext);
	return text;
}

static void check_bad(const char *conf)
{
	struct mh_config c, def;
	char err[512] = "";
	char *want = companion(conf, ".err");
	size_t n = strlen(want);

	if (n && want[n - 1] == '\n')
		want[n - 1] = '\0';
	mh_config_defaults(&c);
	def = c;
	ck_assert_msg(mh_config_load(conf, &c, err, sizeof(err)) == -EINVAL,
		      "%s loaded without error", conf);
	ck_assert_msg(strcmp(err, want) == 0, "%s:\n  got  '%s'\n  want '%s'",
		      conf, err, want);
	assert_config_eq(&c, &def);
	free(want);
}

static void check_good(const char *conf)
{
	struct mh_config c;
	char err[512] = "";
	char *want = companion(conf, ".out"), *got;

	mh_config_defaults(&c);
	ck_assert_msg(mh_config_load(conf, &c, err, sizeof(err)) == 0,
		      "%s: %s", conf, err);
	got = print_to_string(&c);
	ck_assert_msg(strcmp(got, want) == 0, "%s:\n--- got\n%s--- want\n%s",
		      conf, got, want);
	assert_round_trip(&c);
	free(got);
	free(want);
}

START_TEST(test_golden_bad)
{
	/* a guard against an empty or missing directory passing silently */
	ck_assert_int_ge(for_each_golden("bad-", check_bad), 25);
}
END_TEST

START_TEST(test_golden_good)
{
	ck_assert_int_ge(for_each_golden("good-", check_good), 5);
}
END_TEST

/* SIGHUP's view of the key table (nfq-helper/process/reload.c asks nothing
 * else). The rebuild set is what nfq-helper/datapath/kernel.c builds the
 * table from (timeouts, rates, set sizes, mark, local-flow exception); the
 * other live keys are read where they are used; every other key is the
 * identity. */
static const char *const rebuild_keys[] = {
	"local_flows", "idle_timeout", "candidate_lifetime", "max_sessions",
	"max_pinholes_per_session", "slow_path_rate", "slow_path_rate_per_source",
	"slow_path_rate_per_session", "accept_mark",
};
static const char *const live_keys[] = {
	"handshake_timeout", "session_timeout", "server_path",
	"max_sessions_per_user", "crowded_port_lookups", "hook_timeout", "log_level",
	"server_ports",
	"server_network_timeout", "relay_orphan_grace", "relay_resync_grace",
};

static bool listed(const char *const *list, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], key))
			return true;
	return false;
}

#define LISTED(l, k) listed(l, sizeof(l) / sizeof(l[0]), k)

/* Every field differs from the defaults. */
static void all_changed(struct mh_config *c)
{
	mh_config_defaults(c);
	c->port_low = 1;
	c->port_high = 65535;    /* server_ports lies inside this and the default */
	c->reserve_ports = false;
	c->local_flows = true;
	c->idle_timeout = 7;
	c->handshake_timeout = 8;
	c->session_timeout = 99;
	c->candidate_lifetime = 9;
	strcpy(c->control_socket, "/x.sock");
	strcpy(c->server_path, "/x/mosh-server");
	c->max_sessions = 3;
	c->max_sessions_per_user = 2;
	c->crowded_port_lookups = 0;
	c->max_pinholes_per_session = 16;
	c->queue_num = 9;
	c->queue_maxlen = 9;
	c->slow_path_rate = 9;
	c->slow_path_rate_per_source = 9;
	c->slow_path_rate_per_session = 9;
	c->hook_timeout = 9;
	c->server_ports = (struct mh_port_range){ 60000, 60001 };
	c->server_network_timeout = 9;
	strcpy(c->table, "other");
	c->table_flags = MH_TABLE_FLAGS_NONE;
	c->accept_mark = 1;
	c->single_port = true;
	c->public_port = 9;
	c->log_level = MH_LOG_DEBUG;
	strcpy(c->audit_log, "/x.log");
	strcpy(c->key_log, "/y.log");
	c->keyless = true;
	strcpy(c->slowpath_pcap, "/z.pcap");
	strcpy(c->user, "nobody");
	c->user_default = false;
	c->seccomp = false;
	c->role = MH_ROLE_RELAY;
	strcpy(c->tls_ca, "/ca.pem");
	strcpy(c->tls_cert, "/cert.pem");
	strcpy(c->tls_key, "/key.pem");
	strcpy(c->tls_crl, "/crl.pem");
	c->n_gateways = 1;
	strcpy(c->gateways[0], "198.18.0.1");
	c->gateway_ack = MH_ACK_ANY;
	c->gateway_timeout = 1000;
	strcpy(c->relay_name, "x");
	c->relay_heartbeat = 9;
	c->n_relay_addresses = 1;
	strcpy(c->relay_addresses[0], "198.18.4.2");
	strcpy(c->relay_listen, "198.18.9.1:7711");
	c->relay_max_connections = 5;
	c->relay_handshake_timeout = 3;
	c->relay_orphan_grace = 9;
	c->relay_resync_grace = 9;
	c->max_sessions_per_relay = 9;
	c->n_relay_servers = 1;
	strcpy(c->relay_servers[0], "198.18.4.0/24");
}

/* Each printed key: its class is the pinned one, and taking the live keys
 * of a file that changes everything moves exactly the live ones. */
START_TEST(test_reload_classes)
{
	struct mh_config def, n, run;
	char *pd, *pn, *pr, *sd = NULL, *sn = NULL, *sr = NULL;
	unsigned keys = 0;

	mh_config_defaults(&def);
	all_changed(&n);
	run = mh_config_take_live(&def, &n);
	pd = print_to_string(&def);
	pn = print_to_string(&n);
	pr = print_to_string(&run);
	for (char *ld = strtok_r(pd, "\n", &sd), *ln = strtok_r(pn, "\n", &sn),
		  *lr = strtok_r(pr, "\n", &sr); ld && ln && lr;
	     ld = strtok_r(NULL, "\n", &sd), ln = strtok_r(NULL, "\n", &sn),
	     lr = strtok_r(NULL, "\n", &sr)) {
		char key[64];
		enum mh_key_apply a;

		if (ld[0] == '#' || sscanf(ld, "%63[a-z_] =", key) != 1)
			continue;
		keys++;
		a = mh_config_key_apply(key);
		ck_assert_msg(strcmp(ld, ln), "%s: all_changed leaves it", key);
		ck_assert_int_eq(a == MH_KEY_REBUILD, LISTED(rebuild_keys, key));
		ck_assert_int_eq(a == MH_KEY_LIVE, LISTED(live_keys, key));
		ck_assert_str_eq(lr, a == MH_KEY_IDENTITY ? ld : ln);
	}
	ck_assert_uint_ge(keys, 27);
	free(pd);
	free(pn);
	free(pr);
}
END_TEST

/* Loaded over the defaults from a file holding the one line. */
static void load_line(const char *line, struct mh_config *c)
{
	char path[] = "/tmp/mh-config-XXXXXX", err[256];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", line);
	fclose(f);
	mh_config_defaults(c);
	ck_assert_msg(mh_config_load(path, c, err, sizeof(err)) == 0, "%s", err);
	unlink(path);
}

/* Each key changed alone asks for a rebuild exactly when it is a rebuild key. */
START_TEST(test_reload_rebuild)
{
	struct mh_config def, n, one;
	char *pn, *sn = NULL;
	unsigned keys = 0;

	mh_config_defaults(&def);
	all_changed(&n);
	strcpy(n.user, MH_DEFAULT_USER);  /* loads without that user existing */
	pn = print_to_string(&n);
	for (char *ln = strtok_r(pn, "\n", &sn); ln; ln = strtok_r(NULL, "\n", &sn)) {
		char key[64];

		if (ln[0] == '#' || sscanf(ln, "%63[a-z_] =", key) != 1)
			continue;
		/* a relay needs its TLS files and gateways: not a line alone
		 * (an identity key, as test_reload_classes checks) */
		if (!strcmp(key, "role"))
			continue;
		keys++;
		if (strcmp(key, "role") == 0)
			continue;   /* alone it lacks the tls keys it needs */
		load_line(ln, &one);
		ck_assert_msg(mh_config_rebuild_differs(&def, &one) ==
			      LISTED(rebuild_keys, key), "%s", key);
	}
	ck_assert_uint_ge(keys, 27);
	free(pn);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_shipped_conf_is_defaults);
	tcase_add_test(tc, test_shipped_conf_names_every_key);
	tcase_add_test(tc, test_round_trip_defaults);
	tcase_add_test(tc, test_round_trip_every_field);
	tcase_add_test(tc, test_single_port);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_failed_load_changes_nothing);
	tcase_add_test(tc, test_load_keeps_unset_keys);
	tcase_add_test(tc, test_small_error_buffer);
	tcase_add_test(tc, test_golden_bad);
	tcase_add_test(tc, test_golden_good);
	tcase_add_test(tc, test_reload_classes);
	tcase_add_test(tc, test_reload_rebuild);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(config_suite());
}
