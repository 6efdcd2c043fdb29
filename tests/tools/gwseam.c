/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gwseam: test builds only. Linked with every object of mosh-helperd, it
 * makes $(B)/tests/gwseam, the gateway daemon with a stand-in for the relay
 * listener: these strong mh_gw_test_open/mh_gw_test_tick replace the
 * daemon's empty weak ones. At start it opens the FIFO named by
 * $MH_GWSEAM; each tick (500 ms) it reads whole lines from it and calls
 * the seam (gwcore.h) as the listener would, logging each answer:
 *   up CONN SUBJECT NAME
 *   open CONN SID ADDR PORT KEY [resync]   (KEY: mosh's 22-character key)
 *   end CONN SID ADDR PORT
 *   begin CONN COUNT | done CONN COUNT      (RESYNC_BEGIN / RESYNC_END)
 *   down CONN
 * Answers go to the daemon's log as "gwseam: LINE -> STATUS (REASON)".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../nfq-helper/gwcore.h"
#include "ssp.h"

#define SEAM_LINE 256

static int seam_fd = -1;
static char pending[4096];
static size_t pending_len;

void mh_gw_test_open(struct mh_daemon *d)
{
	const char *path = getenv("MH_GWSEAM");

	(void)d;
	if (!path)
		return;
	/* read and write: the FIFO always has a writer, a read never sees EOF */
	seam_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (seam_fd < 0)
		fatal("gwseam: %s: %s", path, strerror(errno));
	log_info("gwseam: reading relay messages from %s", path);
}

static int parse_server(const char *ip, const char *port, struct mh_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	a->port = (uint16_t)atoi(port);
	return inet_pton(a->family, ip, a->ip) == 1 && a->port ? 0 : -1;
}

/* open/end: the message from the words after the command; -1 if bad. */
static int parse_msg(char **w, int n, struct mhr_msg *m)
{
	const char *why;

	if (m->type == MHR_OPEN) {
		struct mhr_open *o = &m->u.open;

		if (n < 6 || parse_server(w[3], w[4], &o->server) < 0 ||
		    ssp_key_decode(w[5], strlen(w[5]), o->key, &why) < 0)
			return -1;
		o->sid = (uint32_t)strtoul(w[2], NULL, 10);
		o->flags = n > 6 && strcmp(w[6], "resync") == 0 ? MHR_OPEN_RESYNC : 0;
		o->uid = 1000;
		return 0;
	}
	if (m->type == MHR_END) {
		if (n < 5 || parse_server(w[3], w[4], &m->u.end.server) < 0)
			return -1;
		m->u.end.sid = (uint32_t)strtoul(w[2], NULL, 10);
		m->u.end.reason = MHR_END_EXITED;
		return 0;
	}
	if (n < 3)
		return -1;
	m->u.resync_count = (uint32_t)strtoul(w[2], NULL, 10);
	return 0;
}

static uint8_t type_of(const char *cmd)
{
	static const struct { const char *name; uint8_t type; } t[] = {
		{ "open", MHR_OPEN }, { "end", MHR_END },
		{ "begin", MHR_RESYNC_BEGIN }, { "done", MHR_RESYNC_END },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(cmd, t[i].name) == 0)
			return t[i].type;
	return 0;
}

static void run_line(struct mh_daemon *d, char *line)
{
	char copy[SEAM_LINE], *w[8], *save = NULL;
	struct mhr_answer ans = { 0 };
	struct mhr_msg m = { 0 };
	int n = 0;

	snprintf(copy, sizeof(copy), "%.*s", SEAM_LINE - 1, line);
	for (char *t = strtok_r(line, " \t", &save); t && n < 8;
	     t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	if (n >= 4 && strcmp(w[0], "up") == 0) {
		struct mhr_hello h = { .heartbeat_ms = 1000 };

		snprintf(h.name, sizeof(h.name), "%s", w[3]);
		mh_gw_relay_up(d, (uint32_t)atoi(w[1]), w[2], &h, &ans);
		log_info("gwseam: %s -> %s (%s)", copy, mhr_status_name(ans.status),
			 ans.reason);
		return;
	}
	if (n >= 2 && strcmp(w[0], "down") == 0) {
		mh_gw_relay_down(d, (uint32_t)atoi(w[1]));
		log_info("gwseam: %s -> done", copy);
		return;
	}
	m.type = n >= 2 ? type_of(w[0]) : 0;
	m.id = 1;
	if (!m.type || parse_msg(w, n, &m) < 0) {
		log_warn("gwseam: %s -> not understood", copy);
		return;
	}
	mh_gw_relay_msg(d, (uint32_t)atoi(w[1]), &m, &ans);
	mhr_msg_wipe(&m);
	log_info("gwseam: %s -> %s (%s)", copy, mhr_status_name(ans.status),
		 ans.reason);
}

void mh_gw_test_tick(struct mh_daemon *d)
{
	ssize_t n;
	char *nl;

	if (seam_fd < 0)
		return;
	n = read(seam_fd, pending + pending_len, sizeof(pending) - 1 - pending_len);
	if (n <= 0)
		return;
	pending_len += (size_t)n;
	pending[pending_len] = '\0';
	while ((nl = strchr(pending, '\n'))) {
		*nl = '\0';
		if (nl - pending < SEAM_LINE)
			run_line(d, pending);
		pending_len -= (size_t)(nl + 1 - pending);
		memmove(pending, nl + 1, pending_len + 1);
	}
	if (pending_len == sizeof(pending) - 1)
		pending_len = 0;   /* a line too long: dropped */
}
