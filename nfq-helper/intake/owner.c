/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Proof of ownership for an announcement: the UDP port must be bound by a
 * socket of the announcing uid (sock_diag netlink, IPv4 and IPv6), and the
 * announced pid must be that uid's and the announcing process itself or one
 * of its descendants (/proc/<pid>/status). Neither needs a capability.
 * The sockets come from the sock_diag reader (datapath/sockdiag.c).
 *
 * A port's dump lists every socket on it, but a dump that takes more than
 * one read may skip one (sockdiag.c says how a local user crowds the port
 * to make it): another user's socket could be missed, and a pinhole of
 * the port would then let the announcer's clients reach it. So a dump that
 * found only the announcer's sockets is checked once more, crowd-proof:
 * for each of the host's addresses (and the wildcards), the socket a
 * datagram to it on the port would reach must be the announcer's, or none.
 * A socket of another user on an address no datagram from outside can
 * reach (another loopback address) may still be missed; it cannot
 * receive what a pinhole lets in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

/* The hook is a child subreaper: the server mosh-server detaches is its
 * grandchild until the first mosh-server exits, then its child. Room is
 * left for a wrapper between them. */
#define OWNER_MAX_GENERATIONS 4
#define OWNER_WALK_TRIES      3   /* a walk broken by an exit is retried */

/* Real uid and parent of a process, from /proc/<pid>/status (readable by
 * every user, unlike /proc/<pid>/fd). 0 or -errno. */
static int proc_status(pid_t pid, uid_t *uid, pid_t *ppid)
{
	char path[64], line[256];
	unsigned long real;
	int parent, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (found != 3 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "PPid: %d", &parent) == 1) {
			*ppid = parent;
			found |= 1;
		} else if (sscanf(line, "Uid: %lu", &real) == 1) {
			*uid = (uid_t)real;
			found |= 2;
		}
	}
	fclose(f);
	return found == 3 ? 0 : -ESRCH;
}

/* 0 if p is the announcer or one of its first ancestors is; -ESRCH if a
 * process on the way vanished (the first mosh-server exiting), -EPERM
 * otherwise. */
static int walk_up(pid_t p, pid_t announcer)
{
	pid_t parent;
	uid_t u;
	int g;

	for (g = 1; g < OWNER_MAX_GENERATIONS && p != announcer; g++) {
		if (p <= 1)
			return -EPERM;
		if (proc_status(p, &u, &parent) < 0)
			return -ESRCH;
		p = parent;
	}
	return p == announcer ? 0 : -EPERM;
}

/* The announced pid: a process of uid, the announcer or below it. Its
 * lifetime is then the session's (pidfd). A walk that a vanishing
 * process broke is tried again: the process below it has a new parent. */
static int check_pid(pid_t pid, const struct ucred *peer, char *why,
		     size_t whylen)
{
	uid_t puid = (uid_t)-1;
	pid_t ppid;
	int i, err = -ESRCH;

	for (i = 0; i < OWNER_WALK_TRIES && err == -ESRCH; i++) {
		if (pid <= 1 || proc_status(pid, &puid, &ppid) < 0 ||
		    puid != peer->uid) {
			snprintf(why, whylen, "pid %d is not a process of uid %u",
				 (int)pid, (unsigned)peer->uid);
			return -EPERM;
		}
		err = pid == peer->pid ? 0 :
		      peer->pid > 0 ? walk_up(ppid, peer->pid) : -EPERM;
	}
	if (err)
		snprintf(why, whylen, "pid %d is neither the announcing process "
			 "(pid %d) nor one of its descendants", (int)pid,
			 (int)peer->pid);
	return err ? -EPERM : 0;
}

struct receivers {
	struct mh_daemon *d;
	uint16_t port;
	uid_t uid, other;
	int err;                      /* 0, -EACCES (other's) or -errno */
	char where[INET6_ADDRSTRLEN];
};

static void receiver_cb(void *arg, int family, const uint8_t *ip,
			uint32_t ifindex)
{
	struct receivers *r = arg;
	uid_t who;
	int ret;

	if (r->err)
		return;
	ret = mh_sockdiag_receiver(r->d, family, ip, r->port, ifindex, &who);
	if (ret < 0)
		r->err = ret;
	else if (ret == 1 && who != r->uid) {
		r->err = -EACCES;
		r->other = who;
		inet_ntop(family, ip, r->where, sizeof(r->where));
	}
}

/* 0 if no datagram to the port on any of the host's addresses would reach
 * another user's socket; else why. */
static int receivers_check(struct mh_daemon *d, uint16_t port, uid_t uid,
			   char *why, size_t whylen)
{
	static const uint8_t any[16];
	struct receivers r = { .d = d, .port = port, .uid = uid };
	int err;

	receiver_cb(&r, AF_INET, any, 0);
	receiver_cb(&r, AF_INET6, any, 0);
	err = mh_local_addrs(d, receiver_cb, &r);
	if (r.err == -EACCES) {
		snprintf(why, whylen, "UDP port %u is shared with another user's "
			 "socket (uid %u, at %s)", port, (unsigned)r.other, r.where);
		return -EACCES;
	}
	if (r.err || err) {
		snprintf(why, whylen, "cannot look up the UDP sockets of port %u: %s",
			 port, strerror(-(r.err ? r.err : err)));
		return -EIO;
	}
	return 0;
}

int mh_owner_check(struct mh_daemon *d, uint16_t port,
		   const struct ucred *peer, pid_t pid, struct mh_proof *proof,
		   char *why, size_t whylen)
{
	uid_t uid = peer->uid;
	unsigned foreign;
	int err;

	err = mh_sockdiag_port(d, port, uid, proof, &foreign);
	if (err) {
		snprintf(why, whylen, "cannot list UDP sockets: %s", strerror(-err));
		return -EIO;
	}
	if (foreign && proof->n_bound) {
		snprintf(why, whylen, "UDP port %u is shared with another user's socket",
			 port);
		return -EACCES;
	}
	if (proof->n_bound == 0) {
		snprintf(why, whylen, "UDP port %u is not bound by a socket of uid %u",
			 port, (unsigned)uid);
		return -EACCES;
	}
	err = receivers_check(d, port, uid, why, whylen);
	if (err)
		return err;
	return check_pid(pid, peer, why, whylen);
}
