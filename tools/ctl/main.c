/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperctl: command line, the socket path (-s, or control_socket of
 * -c CONFIG, of /etc/mosh-helper.conf if readable, or the built-in
 * default), then one command: list, stats and status page through the
 * daemon's replies; kill and reload print what was done.
 * Exit status: 0 done; 1 the daemon refused (its reason on stderr);
 * 2 bad usage or configuration, or the daemon could not be asked.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"

#define MAX_PAGES 65536   /* list: ports strictly ascend, so this bounds it */

struct opts {
	const char *socket;
	const char *config;
	bool json;
	bool prometheus;
};

static void usage(FILE *f)
{
	struct mh_config d;

	mh_config_defaults(&d);
	fprintf(f,
"usage: " CTL_NAME " [-s SOCKET] [-c CONFIG] [--json] COMMAND\n"
"Talks to the running mosh-helperd over its control socket.\n"
"  list        sessions (port, uid, pid, age, last alive, contacted, SSH\n"
"              client) with their pinholes; a user sees only their own\n"
"  stats       the daemon's counters, \"name value\" (root only)\n"
"              --prometheus: in the Prometheus text format instead\n"
"  kill PORT   SIGTERM to that session's mosh-server; the session then ends\n"
"              (root, or the session's own user)\n"
"  reload      reread the configuration, as SIGHUP (root only)\n"
"  status      the daemon's role and its peer links (root only): on a\n"
"              gateway each relay, on a relay each gateway: up or down\n"
"              and since when, last heartbeat, sessions held\n"
"  -s, --socket PATH   control socket (default: control_socket of the\n"
"                      configuration, else %s)\n"
"  -c, --config FILE   take the socket from this configuration file\n"
"                      (default " MH_DEFAULT_CONFIG " if readable)\n"
"  -j, --json          one JSON object per line\n"
"Exit status: 0 done, 1 refused by the daemon (reason on stderr),\n"
"2 bad usage or configuration, or the daemon could not be reached.\n",
		d.control_socket);
}

static int refused(const struct mhc_reply *r)
{
	fprintf(stderr, CTL_NAME ": %s: %s\n", mhc_status_name(r->status),
		r->reason[0] ? r->reason : "(no reason given)");
	return CTL_REFUSED;
}

/* A reply of another type than expected: the daemon's refusal, or junk. */
static int unexpected(const struct mhc_msg *m, const char *path)
{
	if (m->type == MHC_REPLY)
		return refused(&m->u.reply);
	fprintf(stderr, CTL_NAME ": mosh-helperd at %s answered with message type "
		"%u\n", path, m->type);
	return CTL_UNREACHABLE;
}

static int cmd_list(const char *path, bool json)
{
	static struct mhc_msg m;
	struct ctl_session *v = NULL, *nv;
	size_t n = 0;
	unsigned first = 0, pages = 0;
	uint8_t req[MHC_MAX_MSG];
	int rc, fd;

	do {
		rc = ctl_ask(path, req, (size_t)mhc_encode_list_req((uint16_t)first, req,
			     sizeof(req)), &m, &fd);
		if (fd >= 0)
			close(fd);
		if (rc != CTL_OK || m.type != MHC_LIST_REPLY) {
			free(v);
			return rc != CTL_OK ? rc : unexpected(&m, path);
		}
		if (m.u.list.next && (m.u.list.next <= first || ++pages >= MAX_PAGES)) {
			fprintf(stderr, CTL_NAME ": mosh-helperd's list does not advance "
				"(page from %u says next %u)\n", first, m.u.list.next);
			free(v);
			return CTL_UNREACHABLE;
		}
		nv = m.u.list.n_sessions ?
		     realloc(v, (n + m.u.list.n_sessions) * sizeof(*v)) : v;
		if (!nv) {
			fprintf(stderr, CTL_NAME ": out of memory\n");
			free(v);
			return CTL_UNREACHABLE;
		}
		v = nv;
		for (unsigned i = 0; i < m.u.list.n_sessions; i++, n++) {
			const struct mhc_session_info *s = &m.u.list.s[i];

			v[n].s = *s;
			memcpy(v[n].ph, &m.u.list.ph[s->first_pinhole],
			       s->n_pinholes * sizeof(v[n].ph[0]));
		}
		first = m.u.list.next;
	} while (first);
	ctl_print_list(stdout, v, n, json);
	free(v);
	return CTL_OK;
}

static int cmd_stats(const char *path, const struct opts *o)
{
	static struct mhc_msg m;
	struct mhc_stat all[256];
	size_t n = 0;
	unsigned first = 0;
	uint8_t req[16];
	int rc, fd;

	do {
		rc = ctl_ask(path, req, (size_t)mhc_encode_stats_req((uint8_t)first, req,
			     sizeof(req)), &m, &fd);
		if (fd >= 0)
			close(fd);
		if (rc != CTL_OK || m.type != MHC_STATS_REPLY)
			return rc != CTL_OK ? rc : unexpected(&m, path);
		if (m.u.stats.next && (m.u.stats.next <= first ||
				       n + m.u.stats.n >= sizeof(all) / sizeof(all[0]))) {
			fprintf(stderr, CTL_NAME ": mosh-helperd's stats do not advance "
				"(page from %u says next %u)\n", first, m.u.stats.next);
			return CTL_UNREACHABLE;
		}
		memcpy(all + n, m.u.stats.st, m.u.stats.n * sizeof(all[0]));
		n += m.u.stats.n;
		first = m.u.stats.next;
	} while (first);
	if (o->prometheus)
		ctl_print_prometheus(stdout, all, n);
	else
		ctl_print_stats(stdout, all, n, o->json);
	return CTL_OK;
}

#define MAX_PEERS 65535   /* status: indexes are u16 and strictly ascend */

static int cmd_status(const char *path, bool json)
{
	static struct mhc_msg m;
	struct mhc_peer_info *v = NULL, *nv;
	size_t n = 0;
	unsigned first = 0;
	uint8_t req[16];
	int rc, fd;

	do {
		rc = ctl_ask(path, req, (size_t)mhc_encode_status_req((uint16_t)first, req,
			     sizeof(req)), &m, &fd);
		if (fd >= 0)
			close(fd);
		if (rc != CTL_OK || m.type != MHC_STATUS_REPLY) {
			free(v);
			return rc != CTL_OK ? rc : unexpected(&m, path);
		}
		if ((m.u.status.next && m.u.status.next <= first) ||
		    n + m.u.status.n > MAX_PEERS) {
			fprintf(stderr, CTL_NAME ": mosh-helperd's status does not advance "
				"(page from %u says next %u)\n", first, m.u.status.next);
			free(v);
			return CTL_UNREACHABLE;
		}
		nv = m.u.status.n ? realloc(v, (n + m.u.status.n) * sizeof(*v)) : v;
		if (!nv) {
			fprintf(stderr, CTL_NAME ": out of memory\n");
			free(v);
			return CTL_UNREACHABLE;
		}
		v = nv;
		memcpy(v + n, m.u.status.p, m.u.status.n * sizeof(*v));
		n += m.u.status.n;
		first = m.u.status.next;
	} while (first);
	ctl_print_status(stdout, m.u.status.role, v, n, json);
	free(v);
	return CTL_OK;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < 1 ||
	    v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* The daemon passed the pidfd (it may not signal that user's process):
 * the signal is sent here, with the caller's own rights. */
static int signal_passed(int fd, uint16_t port, const char *reason, bool json)
{
	char note[96];
	int err = pidfd_send_signal(fd, SIGTERM, NULL, 0) < 0 ? errno : 0;

	close(fd);
	if (err && err != ESRCH) {
		fprintf(stderr, CTL_NAME ": cannot send SIGTERM to the mosh-server of "
			"port %u: %s (mosh-helperd: %s)\n", port, strerror(err), reason);
		return CTL_REFUSED;
	}
	snprintf(note, sizeof(note), "%s the mosh-server of port %u",
		 err ? "already gone:" : "sent SIGTERM to", port);
	ctl_print_done(stdout, "kill", port, reason, note, json);
	return CTL_OK;
}

static int cmd_kill(const char *path, const char *arg, bool json)
{
	struct mhc_msg m;
	uint8_t req[16];
	uint16_t port;
	int rc, fd;

	if (parse_port(arg, &port) < 0) {
		fprintf(stderr, CTL_NAME ": kill: '%s' is not a port (1-65535)\n", arg);
		return CTL_UNREACHABLE;
	}
	rc = ctl_ask(path, req, (size_t)mhc_encode_kill(port, req, sizeof(req)), &m, &fd);
	if (rc != CTL_OK)
		return rc;
	if (m.type != MHC_REPLY || m.u.reply.status != MHC_OK) {
		if (fd >= 0)
			close(fd);
		return unexpected(&m, path) == CTL_UNREACHABLE ? CTL_UNREACHABLE :
		       CTL_REFUSED;
	}
	if (fd >= 0)
		return signal_passed(fd, port, m.u.reply.reason, json);
	ctl_print_done(stdout, "kill", port, m.u.reply.reason, NULL, json);
	return CTL_OK;
}

static int cmd_reload(const char *path, bool json)
{
	struct mhc_msg m;
	uint8_t req[16];
	int rc, fd;

	rc = ctl_ask(path, req, (size_t)mhc_encode_reload(req, sizeof(req)), &m, &fd);
	if (fd >= 0)
		close(fd);
	if (rc != CTL_OK)
		return rc;
	if (m.type != MHC_REPLY)
		return unexpected(&m, path);
	if (m.u.reply.status != MHC_OK)
		return refused(&m.u.reply);
	ctl_print_done(stdout, "reload", 0, m.u.reply.reason, NULL, json);
	return CTL_OK;
}

/* The socket path: -s, else the configuration's (-c, or the default file
 * when it can be read), else the built-in default (lib/config.c). */
static int socket_path(const struct opts *o, struct mh_config *c)
{
	const char *file = o->config;
	char err[512];

	mh_config_defaults(c);
	if (o->socket) {
		snprintf(c->control_socket, sizeof(c->control_socket), "%s", o->socket);
		if (strlen(o->socket) >= sizeof(c->control_socket)) {
			fprintf(stderr, CTL_NAME ": socket path too long: %s\n", o->socket);
			return -1;
		}
		return 0;
	}
	if (!file && access(MH_DEFAULT_CONFIG, R_OK) == 0)
		file = MH_DEFAULT_CONFIG;
	if (file && mh_config_load(file, c, err, sizeof(err)) < 0) {
		fprintf(stderr, CTL_NAME ": %s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct mh_config cfg;
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "s:c:jh", longs, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'c': o.config = optarg; break;
		case 'j': o.json = true; break;
		case 'P': o.prometheus = true; break;
		case 'h': usage(stdout); return CTL_OK;
		default: usage(stderr); return CTL_UNREACHABLE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_UNREACHABLE;
	}
	cmd = argv[optind++];
	if (o.prometheus && (strcmp(cmd, "stats") || o.json)) {
		fprintf(stderr, CTL_NAME ": --prometheus goes with stats, without "
			"--json\n");
		return CTL_UNREACHABLE;
	}
	if (socket_path(&o, &cfg) < 0)
		return CTL_UNREACHABLE;
	if (!strcmp(cmd, "kill") && argc - optind == 1)
		return cmd_kill(cfg.control_socket, argv[optind], o.json);
	if (argc - optind != 0) {
		usage(stderr);
		return CTL_UNREACHABLE;
	}
	if (!strcmp(cmd, "list"))
		return cmd_list(cfg.control_socket, o.json);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(cfg.control_socket, &o);
	if (!strcmp(cmd, "reload"))
		return cmd_reload(cfg.control_socket, o.json);
	if (!strcmp(cmd, "status"))
		return cmd_status(cfg.control_socket, o.json);
	fprintf(stderr, CTL_NAME ": unknown command '%s'\n", cmd);
	usage(stderr);
	return CTL_UNREACHABLE;
}
