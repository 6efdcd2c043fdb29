/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the config loader (lib/config.c, lib/config_scan.c,
 * include/config.h). Each input is the content of a config file (written
 * to a memfd, loaded through /proc/self/fd). A refused file must leave the
 * configuration untouched and say why; an accepted one must hold only
 * values in the documented ranges, print as a file that loads back to the
 * same struct, byte for byte, and print identically the second time.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "log.h"
#include "session.h"

static int fd_in = -1, fd_out = -1;

/* libconfig 1.5 loses the buffer of a string literal when a syntax error
 * follows it (strbuf_append, reproduced with libconfig alone under
 * valgrind): not ours, and bounded by one failed load per file. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}
static char path_in[64], path_out[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd_in = memfd_create("fuzz-config-in", MFD_CLOEXEC);
	fd_out = memfd_create("fuzz-config-out", MFD_CLOEXEC);
	if (fd_in < 0 || fd_out < 0) {
		perror("fuzz_config: memfd_create");
		abort();
	}
	snprintf(path_in, sizeof(path_in), "/proc/self/fd/%d", fd_in);
	snprintf(path_out, sizeof(path_out), "/proc/self/fd/%d", fd_out);
	return 0;
}

static void put_file(int fd, const void *p, size_t n)
{
	FUZZ_ASSERT(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	FUZZ_ASSERT(n == 0 || pwrite(fd, p, n, 0) == (ssize_t)n,
		    "pwrite: %s", strerror(errno));
}

/* The printed configuration, malloc'ed, NUL-terminated. */
static char *print_config(const struct mh_config *c, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	FUZZ_ASSERT(f != NULL, "open_memstream: %s", strerror(errno));
	mh_config_print(f, c);
	FUZZ_ASSERT(fclose(f) == 0 && text != NULL, "printing failed");
	return text;
}

static bool in(unsigned v, unsigned lo, unsigned hi)
{
	return v >= lo && v <= hi;
}

static bool table_ok(const char *s)
{
	size_t n = strnlen(s, 64);

	if (n < 1 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* An optional path: "" (off) or absolute, terminated inside its array. */
static bool optpath_ok(const char *p, size_t size)
{
	return memchr(p, 0, size) && (p[0] == '\0' || p[0] == '/');
}

/* The ranges mosh-helper.conf documents for every key. */
static void check_ranges(const struct mh_config *c)
{
	FUZZ_ASSERT(c->port_low >= 1 && c->port_low <= c->port_high, "ports %u-%u",
		    c->port_low, c->port_high);
	FUZZ_ASSERT(in(c->idle_timeout, 5, 86400), "idle_timeout %u", c->idle_timeout);
	FUZZ_ASSERT(in(c->handshake_timeout, 5, 3600), "handshake_timeout");
	FUZZ_ASSERT(in(c->session_timeout, 60, 31536000), "session_timeout");
	FUZZ_ASSERT(in(c->candidate_lifetime, 3, 60), "candidate_lifetime");
	FUZZ_ASSERT(c->control_socket[0] == '/' &&
		    memchr(c->control_socket, 0, sizeof(c->control_socket)),
		    "control_socket");
	FUZZ_ASSERT(c->server_path[0] == '/' &&
		    memchr(c->server_path, 0, sizeof(c->server_path)), "server_path");
	FUZZ_ASSERT(in(c->max_sessions, 1, 65535), "max_sessions");
	FUZZ_ASSERT(in(c->max_sessions_per_user, 1, 65535), "max_sessions_per_user");
	FUZZ_ASSERT(in(c->crowded_port_lookups, 0, 10000000), "crowded_port_lookups");
	FUZZ_ASSERT(in(c->max_pinholes_per_session, 1, MH_PINHOLES_CAP), "max_pinholes_per_session");
	FUZZ_ASSERT(in(c->queue_maxlen, 1, 65536), "queue_maxlen");
	FUZZ_ASSERT(in(c->slow_path_rate, 1, 1000000), "slow_path_rate");
	FUZZ_ASSERT(in(c->slow_path_rate_per_session, 0, 1000000), "slow_path_rate_per_session");
	FUZZ_ASSERT(in(c->hook_timeout, 1, 60), "hook_timeout");
	FUZZ_ASSERT((c->server_ports.low == 0 && c->server_ports.high == 0) ||
		    (c->server_ports.low >= c->port_low &&
		     c->server_ports.low <= c->server_ports.high &&
		     c->server_ports.high <= c->port_high &&
		     !(c->single_port && c->public_port >= c->server_ports.low &&
		       c->public_port <= c->server_ports.high)),
		    "server_ports %u-%u", c->server_ports.low, c->server_ports.high);
	FUZZ_ASSERT(in(c->server_network_timeout, 0, 31536000), "server_network_timeout");
	FUZZ_ASSERT(table_ok(c->table), "table");
	FUZZ_ASSERT(c->log_level >= MH_LOG_ERR && c->log_level <= MH_LOG_DEBUG,
		    "log_level %d", c->log_level);
	FUZZ_ASSERT(c->public_port >= 1, "single_port.port %u", c->public_port);
	FUZZ_ASSERT(c->role != MH_ROLE_GATEWAY || !c->single_port ||
		    in(c->public_port, c->port_low, c->port_high),
		    "a gateway's single_port.port %u outside ports", c->public_port);
	FUZZ_ASSERT(optpath_ok(c->audit_log, sizeof(c->audit_log)) &&
		    optpath_ok(c->key_log, sizeof(c->key_log)) &&
		    optpath_ok(c->slowpath_pcap, sizeof(c->slowpath_pcap)),
		    "audit paths: \"\" or absolute");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mh_config defaults, c, back;
	char err[512], *text, *again;
	size_t len, len2;
	int rc;

	mh_config_defaults(&defaults);
	c = defaults;
	err[0] = '\0';
	put_file(fd_in, data, size);
	rc = mh_config_load(path_in, &c, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc < 0 && rc > -4096, "rc %d", rc);
		FUZZ_ASSERT(err[0] != '\0', "refused without a reason");
		FUZZ_ASSERT(memcmp(&c, &defaults, sizeof(c)) == 0,
			    "refused file changed the configuration (%s)", err);
		return 0;
	}
	check_ranges(&c);
	text = print_config(&c, &len);
	put_file(fd_out, text, len);
	back = defaults;
	rc = mh_config_load(path_out, &back, err, sizeof(err));
	FUZZ_ASSERT(rc == 0, "printed configuration does not load: %s\n%s", err, text);
	/* both are the defaults with the same values stored over them: the
	 * same bytes, whatever fields the struct has */
	FUZZ_ASSERT(memcmp(&c, &back, sizeof(c)) == 0,
		    "printed configuration loads differently:\n%s", text);
	again = print_config(&back, &len2);
	FUZZ_ASSERT(len == len2 && memcmp(text, again, len) == 0,
		    "second print differs");
	free(text);
	free(again);
	return 0;
}
