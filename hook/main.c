/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-hook: runs the real mosh-server in its place and announces
 * the session to mosh-helperd before the client learns the port and key.
 * This file owns the command line (or the "mosh-server" name), the
 * configuration, and the refusal to run the hook as its own server.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hook.h"
#include "log.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " HOOK_NAME " [-c FILE] -- [mosh-server arguments]\n"
		"Runs the real mosh-server (config key server_path) and announces\n"
		"the session to mosh-helperd before passing MOSH CONNECT on.\n"
		"  -c FILE  configuration (default: $" HOOK_CONF_ENV " or "
		MH_DEFAULT_CONFIG ")\n"
		"Installed under the name mosh-server, it passes every argument to\n"
		"the real mosh-server.\n");
}

static bool invoked_as_server(const char *argv0)
{
	const char *base;

	if (!argv0)
		return false;
	base = strrchr(argv0, '/');
	return strcmp(base ? base + 1 : argv0, "mosh-server") == 0;
}

static const char *default_config(void)
{
	const char *env = getenv(HOOK_CONF_ENV);

	return env && *env ? env : MH_DEFAULT_CONFIG;
}

/* Sets *conf and *first (index of the first mosh-server argument). */
static int parse_args(int argc, char **argv, const char **conf, int *first)
{
	int c;

	*conf = NULL;
	*first = 1;
	if (invoked_as_server(argv[0])) {
		*conf = default_config();
		return 0;
	}
	opterr = 0;
	while ((c = getopt(argc, argv, "+:c:h")) != -1) {
		switch (c) {
		case 'c':
			*conf = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, HOOK_NAME ": option -%c needs an argument\n", optopt);
			usage(stderr);
			return -EINVAL;
		default:
			fprintf(stderr, HOOK_NAME ": unknown option -%c\n", optopt);
			usage(stderr);
			return -EINVAL;
		}
	}
	*first = optind;
	if (!*conf)
		*conf = default_config();
	return 0;
}

/* Running the hook as "the real mosh-server" would recurse forever. */
static int check_not_self(const char *path)
{
	char real[PATH_MAX], self[PATH_MAX];
	struct stat a, b;

	if (stat(path, &a) < 0) {
		fprintf(stderr, HOOK_NAME ": server_path %s: %s\n", path, strerror(errno));
		return -ENOENT;
	}
	if (stat("/proc/self/exe", &b) < 0 || !realpath("/proc/self/exe", self)) {
		fprintf(stderr, HOOK_NAME ": cannot find this program through "
			"/proc/self/exe: %s\n", strerror(errno));
		return -ENOENT;
	}
	if ((a.st_dev == b.st_dev && a.st_ino == b.st_ino) ||
	    (realpath(path, real) && strcmp(real, self) == 0)) {
		fprintf(stderr, HOOK_NAME ": server_path %s is this hook itself (%s); "
			"set server_path to the real mosh-server\n", path, self);
		return -ELOOP;
	}
	return 0;
}

static struct hook_run run;

int main(int argc, char **argv)
{
	struct mh_config cfg;
	char err[512], **sargv = NULL;
	const char *conf;
	int first, r;

	if (parse_args(argc, argv, &conf, &first) < 0)
		return EXIT_USAGE;
	mh_config_defaults(&cfg);
	if (mh_config_load(conf, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, HOOK_NAME ": %s\n", err);
		return 1;
	}
	mh_log_init(HOOK_NAME, false, cfg.log_level);
	if (check_not_self(cfg.server_path) < 0)
		return 1;
	run.cfg = &cfg;
	run.out_fd = run.err_fd = run.pidfd = -1;
	r = hook_server_argv(&run, argv + first, (size_t)(argc - first), &sargv);
	if (r == -EPERM)
		return 1;                 /* refused before anything ran */
	if (!r)
		r = hook_server_env(&cfg);
	if (!r)
		r = hook_signals_init(&run);
	if (!r)
		r = hook_spawn(&run, cfg.server_path, sargv);
	if (r < 0) {
		fprintf(stderr, HOOK_NAME ": cannot start %s: %s\n", cfg.server_path,
			strerror(-r));
		free(sargv);
		return 1;
	}
	r = hook_run(&run);
	explicit_bzero(run.line, sizeof(run.line));
	explicit_bzero(run.key, sizeof(run.key));
	free(sargv);
	return r;
}
