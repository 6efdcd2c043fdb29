/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperd: command line, configuration, start-up in a fail-closed
 * order (queue bound before the table that feeds it, sessions of an
 * earlier daemon resumed, control socket last) and a stop that leaves the
 * table, state and keys, so the range stays closed and the next start
 * resumes the sessions. --guard and --uninstall are one-shot modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "intake/gwlisten.h"
#include "intake/relay.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/resume.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mosh-helperd [-c FILE] [-f] [--check-config | --guard | --uninstall]\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -f, --foreground    stay in the foreground, log to stderr\n"
		"      --check-config  validate FILE, print the effective configuration, exit\n"
		"      --guard         install the closed table (no session: the range drops\n"
		"                      everything) unless a table is there, and exit; for\n"
		"                      boot, before the network (mosh-helper-guard.service)\n"
		"      --uninstall     remove the table, saved state and session keys, and\n"
		"                      exit; refused while a daemon runs (stop it first)\n"
		"      --keep-on-exit  accepted for old unit files: every stop keeps now\n"
		"  -h, --help          this text\n"
		"signals: SIGTERM, SIGINT and SIGQUIT stop, leaving the table, session state\n"
		"and keys: the range stays closed and the next start resumes the sessions.\n"
		"Pinholes stay too, so that a restart or an upgrade cuts no session: each\n"
		"admits only a client that proved the session key, and the kernel expires\n"
		"it after idle_timeout. SIGHUP reload, SIGUSR1 statistics, then the audit\n"
		"files reopened (logrotate). Only --uninstall removes the table (README:\n"
		"Stopping and uninstalling).\n",
		MH_DEFAULT_CONFIG);
}

struct opts {
	const char *config;
	bool foreground;
	bool check;
	bool guard;
	bool uninstall;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "keep-on-exit", no_argument, NULL, 'K' },
		{ "guard", no_argument, NULL, 'G' },
		{ "uninstall", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	o->config = MH_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:fh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'f': o->foreground = true; break;
		case 'C': o->check = true; break;
		case 'K': break;   /* every stop keeps */
		case 'G': o->guard = true; break;
		case 'U': o->uninstall = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (o->check + o->guard + o->uninstall > 1) {
		fprintf(stderr, "mosh-helperd: --check-config, --guard and --uninstall "
			"exclude each other\n");
		exit(2);
	}
	if (optind != argc) {
		fprintf(stderr, "mosh-helperd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
}

static void detach(void)
{
	int fd;

	if (daemon(0, 1) < 0)
		fatal("daemon: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Each session holds a pidfd: with the quotas at their maximum the
 * daemon needs more descriptors than the usual soft limit of 1024. The
 * soft limit goes up to the hard one; a warning says if that is short. */
static void raise_nofile(const struct mh_config *c)
{
	uint64_t need = (uint64_t)c->max_sessions + MH_MAX_CONNS + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("raising the descriptor limit: %s", strerror(errno));
	else if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("descriptor limit %llu is below the %llu that max_sessions %u "
			 "may need; raise it (systemd: LimitNOFILE=)",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)need,
			 c->max_sessions);
}

/* A restart that adopted the table: the saved sessions come back, then
 * the table is made to match them (what did not come back goes), then the
 * kernel's sets are synced, then the state file is rewritten. */
static void restore(struct mh_daemon *d)
{
	uint64_t now = mh_now_ms();
	struct mh_reconciled gone;
	unsigned resumed;

	if (!d->adopt) {
		mh_state_forget(d);
		mh_state_restored(d, NULL, 0);
		return;
	}
	resumed = mh_resume(d);
	mh_reconcile_table(d, now, &gone);
	mh_readback_run(d, &mh_host_readback);
	mh_state_restored(d, &gone, resumed);
}

/* Role relay: TLS and the gateways' addresses, before anything is
 * installed, so a broken TLS configuration stops the start with one line
 * (the connections are made later, mh_relay_connect). */
static int relay_open(struct mh_daemon *d)
{
	char err[768];
	int ret = mh_relay_open(d, err, sizeof(err));
	uid_t uid;
	gid_t gid;

	if (ret < 0) {
		log_err("%s", err);
		mh_relay_close(d);
		return ret;
	}
	mh_harden_identity(&d->cfg, &uid, &gid);
	d->relay_uid = uid;   /* whose sockets reach the gateways */
	return 0;
}

/* role = gateway: the queue, then the forward table (an earlier daemon's
 * adopted with its elements: its sessions are held without keys until
 * their relays announce them again, and end after relay_orphan_grace if
 * none does), then the session table, then the admin's control socket
 * (root only: no announcements, no local checks, no ports of its own to
 * reserve). */
static void start_gateway(struct mh_daemon *d)
{
	int err;

	raise_nofile(&d->cfg);
	if ((err = mh_audit_open(d)) < 0)
		fatal("audit files: %s", strerror(-err));
	if ((err = mh_loop_open(d)) < 0)
		fatal("event loop: %s", strerror(-err));
	mh_gwl_start(d);      /* forked before any session key is in memory */
	if ((err = mh_queue_open(d)) < 0)
		fatal("binding NFQUEUE %u: %s (is another daemon using it?)",
		      d->cfg.queue_num, strerror(-err));
	if (d->pol.public_port && (err = mh_ct_open(d)) < 0)
		log_warn("ctnetlink: %s; flows of ended sessions stay bound to their "
			 "port until conntrack forgets them", strerror(-err));
	if ((err = mh_kernel_setup(d, true)) < 0)
		fatal("installing table inet %s: %s", d->cfg.table, strerror(-err));
	if ((err = mh_gw_open(d)) < 0)
		fatal("gateway sessions: %s", strerror(-err));
	if (d->adopt)
		mh_gw_adopt(d);
	mh_gw_test_open(d);
	/* the admin's socket (mosh-helperctl status), 0600: no user announces */
	if ((err = mh_control_open(d)) < 0)
		log_warn("control socket %s: %s; mosh-helperctl cannot reach this "
			 "gateway", d->cfg.control_socket, strerror(-err));
	mh_audit_simple(d, "start", "role", "gateway");
	log_info("ready (gateway): servers' ports %u-%u forwarded through table "
		 "inet %s, idle_timeout %us", d->cfg.port_low, d->cfg.port_high,
		 d->cfg.table, d->cfg.idle_timeout);
	if (d->pol.keyless)
		log_info("keyless mode (gateway): only keyless OPENs; a new source's "
			 "datagrams reach the server unverified (%u a second per "
			 "session), its pinhole opens on the server's reply, which "
			 "must come from where that server lives (reverse path)",
			 d->pol.kl.rate);
	if (d->pol.public_port)
		log_info("single-port mode: every server's sessions are reached "
			 "through UDP port %u, mapped to each session's own port",
			 d->pol.public_port);
}

static void start(struct mh_daemon *d)
{
	int err;

	if (d->cfg.role == MH_ROLE_GATEWAY) {
		start_gateway(d);
		return;
	}
	mh_reserve_ports(d);
	raise_nofile(&d->cfg);
	if ((err = mh_audit_open(d)) < 0)
		fatal("audit files: %s", strerror(-err));
	if ((err = mh_loop_open(d)) < 0)
		fatal("event loop: %s", strerror(-err));
	if (d->cfg.role == MH_ROLE_RELAY && relay_open(d) < 0)
		exit(1);
	if (d->cfg.role == MH_ROLE_RELAY && d->pol.public_port) {
		/* the hook tells clients the public port; the gateways map it */
		log_info("single_port: the gateways map UDP port %u to this host's "
			 "session ports; this host's own table does not",
			 d->pol.public_port);
		d->pol.public_port = 0;
	}
	if ((err = mh_sockdiag_open(d)) < 0)
		fatal("sock_diag socket: %s", strerror(-err));
	if ((err = mh_queue_open(d)) < 0)
		fatal("binding NFQUEUE %u: %s (is another daemon using it?)",
		      d->cfg.queue_num, strerror(-err));
	if (d->pol.public_port && (err = mh_ct_open(d)) < 0)
		log_warn("ctnetlink: %s; flows of ended sessions stay bound to their "
			 "port until conntrack forgets them", strerror(-err));
	mh_state_init(d);
	/* the watch first: a flush from then on is seen */
	if ((err = mh_tablewatch_open(d)) < 0 ||
	    (err = mh_kernel_setup(d, mh_state_loaded(d))) < 0)
		fatal("installing table inet %s: %s", d->cfg.table, strerror(-err));
	mh_tablewatch_settle(d);
	restore(d);
	mh_relay_connect(d);  /* after the state lock: nothing blocks from here */
	if ((err = mh_control_open(d)) < 0)
		fatal("control socket %s: %s", d->cfg.control_socket, strerror(-err));
	mh_audit_simple(d, "start", "queue", d->native_queue ? "native" : "compat");
	log_info("ready: ports %u-%u, idle_timeout %us, control socket %s",
		 d->cfg.port_low, d->cfg.port_high, d->cfg.idle_timeout,
		 d->cfg.control_socket);
	if (d->pol.public_port)
		log_info("single-port mode: every session is reached through UDP port %u",
			 d->pol.public_port);
	if (d->pol.keyless)
		log_info("keyless mode: no session key is taken; a new source's "
			 "datagrams reach mosh-server unverified (%u a second per "
			 "session), its pinhole opens on mosh-server's reply",
			 d->pol.kl.rate);
}

/* The slow path's policy (verdict.h) from the configuration. */
static void policy_init(struct mh_daemon *d)
{
	d->pol.candidate_lifetime_ms = d->cfg.candidate_lifetime * 1000;
	d->pol.idle_timeout_ms = d->cfg.idle_timeout * 1000;
	d->pol.public_port = d->cfg.single_port ? d->cfg.public_port : 0;
	d->pol.keyless = d->cfg.keyless;
	d->pol.kl.rate = d->cfg.slow_path_rate_per_session;
	d->pol.kl.candidate_lifetime_ms = d->pol.candidate_lifetime_ms;
}

static void stop(struct mh_daemon *d)
{
	mh_gwl_stop(d);
	mh_gw_close(d);
	mh_control_close(d);
	mh_tablewatch_close(d);
	mh_kernel_teardown(d);
	mh_state_stop(d);
	mh_life_stop(d);
	mh_relay_close(d);
	mh_queue_close(d);
	mh_ct_close(d);
	mh_sockdiag_close(d);
	mh_audit_last_tick(d);
	mh_audit_simple(d, "stop", "kept",
			"table, sessions and keys for the next start");
	mh_audit_close(d);
	log_info("stopped; table inet %s, session state and keys kept: the range "
		 "stays closed and the next start resumes the sessions "
		 "(mosh-helperd --uninstall removes them)", d->cfg.table);
}

/* --guard and --uninstall: the configuration read, no daemon started. A
 * file that does not load still lets the guard close the built-in range. */
static int one_shot(const struct opts *o, struct mh_daemon *d, int loaded,
		    const char *err)
{
	mh_log_init("mosh-helperd", false, d->cfg.log_level);
	if (o->guard)
		return mh_guard(d, loaded < 0 ? err : NULL);
	if (loaded < 0) {
		fprintf(stderr, "mosh-helperd: %s\n", err);
		return 2;
	}
	return mh_uninstall(d);
}

int main(int argc, char **argv)
{
	struct mh_daemon *d;
	char err[512];
	struct opts o = { 0 };
	int ret;

	mh_keymem_init();
	parse_args(argc, argv, &o);
	d = calloc(1, sizeof(*d));
	if (!d) {
		perror("mosh-helperd");
		return 1;
	}
	mh_config_defaults(&d->cfg);
	ret = mh_config_load(o.config, &d->cfg, err, sizeof(err));
	if (o.guard || o.uninstall) {
		ret = one_shot(&o, d, ret, err);
		free(d);
		return ret;
	}
	if (ret < 0) {   /* the table, if any (a guard's, ours), stays closed */
		fprintf(stderr, "mosh-helperd: %s\n", err);
		free(d);
		return 1;
	}
	if (o.check) {
		mh_config_print(stdout, &d->cfg);
		free(d);
		return 0;
	}
	/* absolute: SIGHUP rereads it after detach() moved to / */
	d->config_path = realpath(o.config, NULL);
	if (!d->config_path) {
		fprintf(stderr, "mosh-helperd: %s: %s\n", o.config, strerror(errno));
		free(d);
		return 1;
	}
	d->log_syslog = !o.foreground;
	mh_log_init("mosh-helperd", !o.foreground, d->cfg.log_level);
	if (!o.foreground)
		detach();
	mh_table_init(&d->sessions);
	policy_init(d);
	mh_ratelimit_init(&d->drop_log, 5, 20);
	d->epfd = d->sigfd = d->timerfd = -1;
	start(d);
	mh_harden(d);
	mh_notify("READY=1");
	ret = mh_loop_run(d);
	mh_notify("STOPPING=1");
	if (ret < 0)
		log_err("event loop: %s", strerror(-ret));
	d->keep = true;           /* whatever ended the loop */
	stop(d);
	free((char *)d->config_path);
	free(d);
	return ret < 0 ? 1 : 0;
}
