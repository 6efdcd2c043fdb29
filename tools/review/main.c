/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-review: command line, keys and configuration, then every
 * capture through the session tracker, then the story as text or JSON.
 * Exit status: 0 all read; 1 a capture could not be read to its end (what
 * was read is still reported); 2 bad usage, key file or configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "review.h"

#define NAME "mosh-helper-review"
#define MAX_IDLE_TIMEOUT_S 86400

static void usage(FILE *f)
{
	fprintf(f,
"usage: " NAME " [--keys FILE] [--json] [--idle-timeout S] [--config FILE]\n"
"       [--slow-path] [--keyless] CAPTURE...\n"
"Reads pcap/pcapng captures and tells, per mosh session (server address and\n"
"port), the SSH login before it, first contact and reply, roams and port\n"
"hops, heartbeat cadence and gaps, replays, duplicates and reordering, and\n"
"the verdict mosh-helper would give each datagram. Captures are read in the\n"
"order given, as one stream; the simulated firewall starts with no pinholes,\n"
"so a capture that begins mid-session shows its first datagrams as the\n"
"daemon would judge them from a cold start.\n"
"  -k, --keys FILE        lines \"<server-port> <22-character key>\" ('#' comments):\n"
"                         authenticates and decodes datagrams, judges them with\n"
"                         the daemon's own decision function. A port may have\n"
"                         several keys (a single-port server): each datagram then\n"
"                         belongs to the key that authenticates it. A capture\n"
"                         taken on a gateway: \"[ADDRESS]:PORT KEY\" (or A.B.C.D:PORT)\n"
"                         names the server too; sessions and pinholes are then by\n"
"                         server address and port. \"PORT keyless\" (or\n"
"                         \"[ADDRESS]:PORT keyless\"): a keyless daemon's session,\n"
"                         judged by the keyless rule\n"
"  -j, --json             one JSON object per line; \"time\" is absolute (epoch\n"
"                         seconds with microseconds). Text times are seconds since\n"
"                         the first packet, whose date is printed first.\n"
"  -i, --idle-timeout S   pinhole lifetime without inbound datagrams (default 60,\n"
"                         or idle_timeout from --config). A pinhole closes at most\n"
"                         S after its last inbound datagram (a few ms more at\n"
"                         most); it may close earlier, from when the daemon's\n"
"                         sync could miss it: a datagram in between still passes\n"
"                         on it, marked fast_path_idle_window\n"
"  -c, --config FILE      take idle_timeout, candidate_lifetime, ports and\n"
"                         max_pinholes_per_session from the daemon's configuration\n"
"  -s, --slow-path        the capture is the daemon's slowpath_pcap: every datagram\n"
"                         in it went to the daemon, so none is judged as a pinhole\n"
"                         hit; the verdicts then match the daemon's audit log line\n"
"                         for line (use the daemon's key_log as --keys and its\n"
"                         configuration as --config: keyless verdicts depend on\n"
"                         idle_timeout and candidate_lifetime)\n"
"  -K, --keyless          the daemon ran keyless (keyless = true): every session\n"
"                         of --keys is judged by the keyless rule, within\n"
"                         slow_path_rate_per_session (default 10, or --config);\n"
"                         its key then only decodes the datagrams\n"
"Exit status: 0 ok, 1 a capture is truncated, corrupt or unreadable (what was\n"
"read before the error is still reported), 2 bad usage, keys or configuration.\n");
}

static int parse_seconds(const char *s, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > MAX_IDLE_TIMEOUT_S)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Options into o; returns the index of the first capture, or -1. */
static int parse_args(int argc, char **argv, struct rv_opts *o, const char **idle)
{
	static const struct option longs[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "slow-path", no_argument, NULL, 's' },
		{ "keyless", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "k:ji:c:sKh", longs, NULL)) != -1) {
		switch (c) {
		case 'k': o->keys_path = optarg; break;
		case 'j': o->json = true; break;
		case 'i': *idle = optarg; break;
		case 'c': o->config_path = optarg; break;
		case 's': o->slow_path = true; break;
		case 'K': o->keyless = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, NAME ": no capture given\n");
		return -1;
	}
	return optind;
}

/* Daemon defaults, or the daemon's configuration file. */
static int load_settings(struct rv_opts *o, const char *idle)
{
	struct mh_config cfg;
	char err[512];

	mh_config_defaults(&cfg);
	if (o->config_path && mh_config_load(o->config_path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, NAME ": %s\n", err);
		return -1;
	}
	o->idle_timeout_s = cfg.idle_timeout;
	o->candidate_lifetime_s = cfg.candidate_lifetime;
	o->max_pinholes = cfg.max_pinholes_per_session;
	o->port_low = cfg.port_low;
	o->port_high = cfg.port_high;
	o->keyless_rate = cfg.slow_path_rate_per_session;
	if (cfg.keyless)
		o->keyless = true;
	if (idle && parse_seconds(idle, &o->idle_timeout_s) < 0) {
		fprintf(stderr, NAME ": --idle-timeout wants whole seconds 1-%d, not \"%s\"\n",
			MAX_IDLE_TIMEOUT_S, idle);
		return -1;
	}
	return 0;
}

static int review(struct rv_opts *o, struct rv_keys *keys, char **paths, int n)
{
	struct rv_capture *caps = calloc((size_t)n, sizeof(*caps));
	struct rv_review r;
	int i, status = 0;

	if (!caps) {
		fprintf(stderr, NAME ": out of memory\n");
		return 1;
	}
	rv_review_init(&r, o, keys);
	for (i = 0; i < n; i++) {
		caps[i].path = paths[i];
		if (rv_capture_read(&caps[i], rv_review_packet, &r) < 0) {
			fprintf(stderr, NAME ": %s\n", caps[i].err);
			status = 1;
		}
	}
	rv_review_finish(&r);
	if (o->json)
		rv_print_json(stdout, &r, caps, (size_t)n);
	else
		rv_print_text(stdout, &r, caps, (size_t)n);
	if (r.oom) {
		fprintf(stderr, NAME ": out of memory: the review is incomplete\n");
		status = 1;
	}
	rv_review_free(&r);
	free(caps);
	return status;
}

int main(int argc, char **argv)
{
	struct rv_opts o = { 0 };
	const char *idle = NULL;
	struct mh_table *table;
	struct rv_keys keys;
	char err[512];
	int first, status;

	first = parse_args(argc, argv, &o, &idle);
	if (first < 0) {
		usage(stderr);
		return 2;
	}
	if (load_settings(&o, idle) < 0)
		return 2;
	table = malloc(sizeof(*table));
	if (table)
		mh_table_init(table);
	if (!table || rv_keys_init(&keys, table, o.max_pinholes) < 0) {
		fprintf(stderr, NAME ": out of memory\n");
		free(table);
		return 1;
	}
	if (o.keys_path && rv_keys_load(&keys, o.keys_path, err, sizeof(err)) < 0) {
		fprintf(stderr, NAME ": %s\n", err);
		rv_keys_free(&keys);
		free(table);
		return 2;
	}
	status = review(&o, &keys, argv + first, argc - first);
	rv_keys_free(&keys);
	free(table);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, NAME ": writing the output: %s\n", strerror(errno));
		status = 1;
	}
	return status;
}
