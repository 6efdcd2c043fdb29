/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperctl's requests on the control socket: list (paged by port),
 * stats (the counters SIGUSR1 reports, paged by index), kill (SIGTERM to a
 * session's mosh-server through its pidfd), reload (as SIGHUP) and status
 * (the role and the links to its peers: a gateway's relays, a relay's
 * gateways; paged by index). uid 0 may do everything; any other uid may
 * list and kill its own sessions only.
 * Each request gets one reply and leaves no state behind.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>

#include "daemon.h"
#include "gwlisten.h"
#include "relay.h"

_Static_assert(MHC_SSH_CLIENT_MAX == MH_SSH_CLIENT_MAX, "ssh client text sizes");
_Static_assert(MHC_PINHOLES_MAX == MH_PINHOLES_CAP, "pinhole caps");
/* a session with every pinhole (IPv6) and the longest ssh client fits */
_Static_assert(MHC_HEADER_LEN + MHC_LIST_HEAD_LEN + 33 + MHC_SSH_CLIENT_MAX +
	       MHC_PINHOLES_MAX * (1 + 16 + 2 + 8) <= MHC_MAX_MSG,
	       "one full session fits in a list reply");

static void send_msg(int fd, const uint8_t *buf, ssize_t n)
{
	if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control reply: %s", strerror(errno));
}

static void answer(int fd, uint8_t status, const char *reason)
{
	uint8_t buf[MHC_MAX_MSG];

	send_msg(fd, buf, mhc_encode_reply(status, reason, buf, sizeof(buf)));
}

static bool is_root(const struct ucred *cr)
{
	return cr->uid == 0;
}

/* ---- list */

static unsigned pinholes_of(const struct mh_session *s, uint64_t now,
			    struct mhc_pinhole_info *ph)
{
	const struct mh_pinhole_rec *r;
	unsigned n = 0;

	mh_for_each_pinhole(s, r) {
		if (n == MHC_PINHOLES_MAX)
			break;
		ph[n].client = r->client;
		ph[n].age_ms = now - r->added_ms;
		n++;
	}
	return n;
}

static void session_info(const struct mh_session *s, uint64_t now,
			 struct mhc_session_info *si)
{
	memset(si, 0, sizeof(*si));
	si->port = s->port;
	si->uid = (uint32_t)s->uid;
	si->pid = (uint32_t)s->pid;
	si->id = s->id;
	si->age_ms = now - s->announced_ms;
	si->alive_ago_ms = now - s->last_alive_ms;
	si->contacted = s->contacted;
	snprintf(si->ssh_client, sizeof(si->ssh_client), "%s", s->ssh_client);
}

static void do_list(struct mh_daemon *d, int fd, const struct ucred *cr,
		    uint16_t first)
{
	static struct mhc_list l;   /* ~5 KB: off the stack */
	struct mhc_pinhole_info ph[MHC_PINHOLES_MAX];
	struct mhc_session_info si;
	uint8_t buf[MHC_MAX_MSG];
	uint64_t now = mh_now_ms();
	unsigned port = first > d->cfg.port_low ? first : d->cfg.port_low, n;
	int err;

	mhc_list_init(&l);
	for (; port <= d->cfg.port_high; port++) {
		const struct mh_session *s = mh_session_by_port(&d->sessions, (uint16_t)port);

		if (!s || (!is_root(cr) && s->uid != cr->uid))
			continue;
		session_info(s, now, &si);
		n = pinholes_of(s, now, ph);
		err = mhc_list_add(&l, &si, ph, n);
		if (err == -ENOBUFS) {
			l.next = (uint16_t)port;
			break;
		}
		if (err)
			log_warn("control: session %u port %u cannot be listed: %s",
				 s->id, s->port, strerror(-err));
	}
	send_msg(fd, buf, mhc_encode_list(&l, buf, sizeof(buf)));
}

/* ---- stats */

/* The audit trail's counters, with the pinholes open now after
 * "sessions", then one counter per verdict reason. */
static void stats_all(const struct mh_daemon *d, struct mhc_stat *all,
		      unsigned *n)
{
	struct mh_named_stat named[MH_STATS_NAMED];
	const struct mh_session *s;
	uint64_t open = 0;
	unsigned k = 0;
	int r;

	for (s = d->sessions.head; s; s = s->next)
		open += mh_pinhole_count(s);
	mh_stats_named(d, named);
	for (r = 0; r < MH_STATS_NAMED; r++) {
		snprintf(all[k].name, sizeof(all[k].name), "%s", named[r].name);
		all[k++].value = named[r].value;
		if (r == MH_STAT_SESSIONS) {
			snprintf(all[k].name, sizeof(all[k].name), "%s",
				 mh_stat_descs[MH_STAT_PINHOLES].name);
			all[k++].value = open;
		}
	}
	for (r = 0; r < MH_R_COUNT; r++, k++) {
		snprintf(all[k].name, sizeof(all[k].name), "%s_%s",
			 r < MH_R_FIRST_DROP ? "accept" : "drop", mh_reason_name(r));
		all[k].value = d->stats.verdicts[r];
	}
	*n = k;
}

static void do_stats(struct mh_daemon *d, int fd, uint8_t first)
{
	struct mhc_stat all[MH_STATS_NAMED + 1 + MH_R_COUNT];
	struct mhc_stats st;
	uint8_t buf[MHC_MAX_MSG];
	unsigned n, i;
	int err;

	stats_all(d, all, &n);
	mhc_stats_init(&st);
	for (i = first; i < n; i++) {
		err = mhc_stats_add(&st, all[i].name, all[i].value);
		if (err == -ENOBUFS) {
			st.next = (uint8_t)i;
			break;
		}
		if (err)
			log_warn("control: counter %s cannot be sent", all[i].name);
	}
	send_msg(fd, buf, mhc_encode_stats(&st, buf, sizeof(buf)));
}

/* ---- kill */

/* The daemon keeps only CAP_NET_ADMIN, so it may not signal another uid's
 * process: the caller (the owner, or root) gets the pidfd instead and
 * signals it with its own rights. The pidfd names exactly that process. */
static int pass_pidfd(int fd, int pidfd, const char *reason)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t msg[MHC_MAX_MSG];
	ssize_t n = mhc_encode_reply(MHC_OK, reason, msg, sizeof(msg));
	struct iovec iov = { .iov_base = msg, .iov_len = n > 0 ? (size_t)n : 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	if (n < 0)
		return (int)n;
	memset(u.buf, 0, sizeof(u.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

static void do_kill(struct mh_daemon *d, int fd, const struct ucred *cr,
		    uint16_t port)
{
	struct mh_session *s = mh_session_by_port(&d->sessions, port);
	char why[MHC_REASON_MAX + 1], detail[96];
	int err;

	if (!s) {
		snprintf(why, sizeof(why), "no session on port %u", port);
		answer(fd, MHC_ERR_NOT_FOUND, why);
		return;
	}
	if (!is_root(cr) && s->uid != cr->uid) {
		snprintf(why, sizeof(why), "the session on port %u is not yours: uid %u "
			 "may kill only its own sessions", port, (unsigned)cr->uid);
		answer(fd, MHC_ERR_PERM, why);
		return;
	}
	if (s->pidfd < 0) {
		snprintf(why, sizeof(why), "session %u on port %u has no pidfd to "
			 "signal mosh-server pid %d through", s->id, port, (int)s->pid);
		answer(fd, MHC_ERR_INTERNAL, why);
		return;
	}
	snprintf(detail, sizeof(detail), "port=%u session=%u pid=%d uid=%u by_uid=%u",
		 port, s->id, (int)s->pid, (unsigned)s->uid, (unsigned)cr->uid);
	/* repeatable at will (a mosh-server may ignore SIGTERM): the uid's budget */
	if (mh_audit_allow(d, cr->uid, MH_NOISY_CONTROL)) {
		log_info("control: uid %u asks to end session %u port %u (mosh-server pid %d)",
			 (unsigned)cr->uid, s->id, port, (int)s->pid);
		mh_audit_simple(d, "ctl_kill", "detail", detail);
	}
	err = pidfd_send_signal(s->pidfd, SIGTERM, NULL, 0) < 0 ? errno : 0;
	if (!err || err == ESRCH) {
		snprintf(why, sizeof(why), "%s mosh-server pid %d of session %u on port "
			 "%u (uid %u); the session ends when it exits",
			 err ? "already gone:" : "sent SIGTERM to", (int)s->pid, s->id,
			 port, (unsigned)s->uid);
		answer(fd, MHC_OK, why);
		return;
	}
	snprintf(why, sizeof(why), "pidfd of mosh-server pid %d (session %u, port %u, "
		 "uid %u) passed to the caller: the daemon itself may not signal it (%s)",
		 (int)s->pid, s->id, port, (unsigned)s->uid, strerror(err));
	if ((err = pass_pidfd(fd, s->pidfd, why)) < 0) {
		snprintf(why, sizeof(why), "cannot signal mosh-server pid %d nor pass "
			 "its pidfd: %s", (int)s->pid, strerror(-err));
		answer(fd, MHC_ERR_INTERNAL, why);
	}
}

/* ---- reload */

static void do_reload(struct mh_daemon *d, int fd, const struct ucred *cr)
{
	char msg[MHC_REASON_MAX], why[MHC_REASON_MAX + 1];

	log_info("control: uid %u asks for a reload of %s", (unsigned)cr->uid,
		 d->config_path);
	if (mh_reload(d, msg, sizeof(msg)) < 0) {
		snprintf(why, sizeof(why), "configuration refused, the running one "
			 "stays: %.*s", MHC_REASON_MAX - 50, msg);
		answer(fd, MHC_ERR_INTERNAL, why);
		return;
	}
	if (msg[0])
		snprintf(why, sizeof(why), "reloaded; applied: %.*s; %u session(s) kept",
			 MHC_REASON_MAX - 60, msg, d->sessions.count);
	else
		snprintf(why, sizeof(why), "reloaded; nothing to apply now (see the "
			 "daemon's log); %u session(s) kept", d->sessions.count);
	answer(fd, MHC_OK, why);
}

/* ---- status */

/* The peer link at or after index i, *next the index after it. */
static int peer_at(const struct mh_daemon *d, unsigned i, uint64_t now,
		   struct mhc_peer_info *p, unsigned *next)
{
	if (d->cfg.role == MH_ROLE_GATEWAY)
		return mh_gwl_peer(d, i, now, p, next);
	*next = i + 1;
	return d->cfg.role == MH_ROLE_RELAY ? mh_relay_peer(d, i, now, p) : -ENOENT;
}

static void do_status(struct mh_daemon *d, int fd, uint16_t first)
{
	static struct mhc_status_reply st;   /* ~7 KB: off the stack */
	struct mhc_peer_info p;
	uint8_t buf[MHC_MAX_MSG];
	uint64_t now = mh_now_ms();
	unsigned i = first, next;
	int err;

	mhc_status_init(&st, (uint8_t)d->cfg.role);
	for (; i <= UINT16_MAX && peer_at(d, i, now, &p, &next) == 0; i = next) {
		err = mhc_status_add(&st, &p);
		if (err == -ENOBUFS) {
			st.next = (uint16_t)i;
			break;
		}
		if (err)
			log_warn("control: peer %s cannot be shown: %s", p.name,
				 strerror(-err));
	}
	send_msg(fd, buf, mhc_encode_status(&st, buf, sizeof(buf)));
}

/* ---- dispatch */

static const char *req_name(uint8_t type)
{
	return type == MHC_LIST ? "list" : type == MHC_STATS ? "stats" :
	       type == MHC_KILL ? "kill" : type == MHC_STATUS ? "status" : "reload";
}

bool mh_admin_is_request(uint8_t type)
{
	return type == MHC_LIST || type == MHC_STATS || type == MHC_KILL ||
	       type == MHC_RELOAD || type == MHC_STATUS;
}

void mh_admin_request(struct mh_daemon *d, int fd, const struct ucred *cr,
		      const struct mhc_msg *m)
{
	char why[MHC_REASON_MAX + 1];

	if (!is_root(cr) && (m->type == MHC_STATS || m->type == MHC_RELOAD ||
			     m->type == MHC_STATUS)) {
		snprintf(why, sizeof(why), "%s is for root (uid 0) only; you are uid %u",
			 req_name(m->type), (unsigned)cr->uid);
		answer(fd, MHC_ERR_PERM, why);
		return;
	}
	switch (m->type) {
	case MHC_LIST:
		do_list(d, fd, cr, m->u.first_port);
		break;
	case MHC_STATS:
		do_stats(d, fd, m->u.first_stat);
		break;
	case MHC_KILL:
		do_kill(d, fd, cr, m->u.kill_port);
		break;
	case MHC_STATUS:
		do_status(d, fd, m->u.first_peer);
		break;
	default:
		do_reload(d, fd, cr);
	}
}
