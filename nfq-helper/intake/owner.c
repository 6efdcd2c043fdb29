/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Proof of ownership for an announcement: the UDP port must be bound by a
 * socket of the announcing uid (sock_diag netlink, IPv4 and IPv6), and the
 * announced pid must be that uid's and the announcing process itself or one
 * of its descendants (/proc/<pid>/status). Neither needs a capability.
 * The sockets come from the sock_diag reader (datapath/sockdiag.c).
 *
 * Another user's socket on the port refuses it when a datagram from
 * another host could reach that socket: a pinhole of the port lets the
 * announcer's clients send to every local address of their family. One
 * bound to a loopback address cannot be reached so, nor one that takes
 * only the family the announcer's sockets do not (an IPv6 address, when
 * mosh-server is bound to an IPv4 one), and neither refuses it: else any
 * local user could bind every port of the range on 127.0.0.2, or on the
 * host's IPv6 address, and have every other user's session refused.
 * (With route_localnet, "all" or any one interface's, the wire reaches
 * 127/8, and such a socket counts.)
 * A port's dump lists the sockets, but a dump that takes more than one
 * read may skip one (sockdiag.c says how a local user crowds the port to
 * make it); a crowded port is therefore also asked, for each of the
 * host's addresses (and the wildcards) and each interface a datagram may
 * arrive on, which socket such a datagram would reach: the announcer's,
 * or none. What that cannot see: an address local only through a route
 * (AnyIP) (with route_localnet, the rest of 127/8 beside the host's own
 * loopback address is one), and broadcast delivery. Those lookups are
 * paid from the announcing uid's budget (crowded_port_lookups).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "prefix.h"
#include "uidbudget.h"

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

/* A port's dump of at most this many sockets came whole: the kernel fills
 * a read with the port's sockets only, so a dump it had to cut (and could
 * then resume past a socket, sockdiag.c) has well over this many in its
 * first part alone (a read holds 30 or more even at its smallest). */
#define OWNER_WHOLE_DUMP 16
#define OWNER_LINKS_MAX  4096

/* route_localnet: datagrams from the wire to 127/8 are delivered (kube-
 * proxy sets it), so another user's socket there counts. The kernel
 * delivers them on an interface if net.ipv4.conf.all.route_localnet or
 * that interface's own setting is on: both are read (an interface's from
 * the link dump, localaddr.c). */
static bool localnet_all(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/conf/all/route_localnet", "re");
	int v = 0;

	if (!f)
		return true;    /* cannot tell: count them */
	if (fscanf(f, "%d", &v) != 1)
		v = 1;
	fclose(f);
	return v != 0;
}

static bool route_localnet(struct mh_daemon *d)
{
	bool dev;

	if (localnet_all())
		return true;
	mh_local_links(d, NULL, 0, &dev);   /* an error counts them */
	return dev;
}

/* Each uid's budget of socket lookups for crowded ports (uidbudget.h): a
 * lookup per local address (and the wildcards) and interface, some 1,500
 * to 1,800 on a host with 120 interfaces and 10 addresses (about 11 ms of
 * the daemon's loop here), that one user announcing crowded ports again
 * and again would otherwise have the daemon pay, while every other user's
 * announcements and first datagrams wait. crowded_port_lookups a second,
 * a burst of twice as many. A uid is charged for its own checks only:
 * another user may crowd the port a uid announces, which costs that uid
 * one check, paid back in cost/rate seconds. */
static struct mh_uidbudget crowd_budget;
static unsigned crowd_rate;

/* true if uid may have a crowded port checked now; else why not */
static bool crowd_budget_ok(const struct mh_daemon *d, uint16_t port,
			    uid_t uid, char *why, size_t whylen)
{
	unsigned rate = d->cfg.crowded_port_lookups;

	if (!rate)
		return true;
	if (!crowd_rate)
		mh_uidbudget_init(&crowd_budget, rate, 2.0 * rate);
	else if (crowd_rate != rate)   /* SIGHUP: every uid's debt kept */
		mh_uidbudget_set(&crowd_budget, rate, 2.0 * rate);
	crowd_rate = rate;
	if (mh_uidbudget_may(&crowd_budget, (uint32_t)uid, mh_now_ms()))
		return true;
	snprintf(why, whylen, "UDP port %u is crowded (more than %d sockets) and "
		 "uid %u has used up its checks of crowded ports "
		 "(crowded_port_lookups = %u socket lookups a second): try again "
		 "in a moment", port, OWNER_WHOLE_DUMP, (unsigned)uid, rate);
	return false;
}

/* The refusal for another user's socket on the port (the hook tries the
 * next port on it: MHC_WHY_SHARED). -EACCES. */
static int shared(uint16_t port, uid_t other, const char *where, char *why,
		  size_t whylen)
{
	snprintf(why, whylen, "UDP port %u " MHC_WHY_SHARED " (uid %u, at %s)",
		 port, (unsigned)other, where);
	return -EACCES;
}

struct receivers {
	struct mh_daemon *d;
	uint16_t port;
	unsigned reach;               /* the families to ask about */
	uid_t uid, other;
	const uint32_t *links;        /* the host's interfaces */
	unsigned n_links;
	unsigned lookups;             /* made so far */
	bool localnet;                /* route_localnet: 127/8 from the wire */
	int err;                      /* 0, -EACCES (other's) or -errno */
	char where[INET6_ADDRSTRLEN];
};

/* ip:port as a datagram arriving with no device, then on each interface
 * (a socket bound to a device, a VRF among them, is found only so) */
static void receiver_cb(void *arg, int family, const uint8_t *ip,
			uint32_t ifindex)
{
	struct receivers *r = arg;
	uid_t who;
	int ret = 0;

	if ((mh_ip_loopback(family, ip) &&  /* no datagram from outside */
	     !(family == AF_INET && r->localnet)) ||
	    !(r->reach & (family == AF_INET ? MH_REACH_V4 : MH_REACH_V6)))
		return;
	for (unsigned i = 0; i <= r->n_links && !r->err; i++) {
		uint32_t dev = i ? r->links[i - 1] : 0;

		if (family == AF_INET6 && ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80 &&
		    dev != ifindex)
			continue;   /* a link-local address is reached on its link */
		ret = mh_sockdiag_receiver(r->d, family, ip, r->port, dev, &who);
		r->lookups++;
		if (ret < 0)
			r->err = ret;
		else if (ret == 1 && who != r->uid) {
			r->err = -EACCES;
			r->other = who;
			inet_ntop(family, ip, r->where, sizeof(r->where));
		}
	}
}

/* A crowded port: its dump may have missed sockets. 0 if no datagram of
 * the families in reach to the port, on any of the host's addresses or
 * the wildcards, arriving on any interface or none, would reach another
 * user's socket; else why. -EAGAIN if uid's budget is spent. */
static int receivers_check(struct mh_daemon *d, uint16_t port, uid_t uid,
			   unsigned reach, unsigned total, char *why,
			   size_t whylen)
{
	static uint32_t links[OWNER_LINKS_MAX];
	static const uint8_t any[16];
	struct receivers r = { .d = d, .port = port, .reach = reach, .uid = uid,
			       .links = links };
	bool dev_localnet = false;
	int err;

	if (!crowd_budget_ok(d, port, uid, why, whylen))
		return -EAGAIN;
	err = mh_local_links(d, links, OWNER_LINKS_MAX, &dev_localnet);
	r.localnet = (reach & MH_REACH_V4) && (localnet_all() || dev_localnet);
	if (err >= 0) {
		r.n_links = (unsigned)err;
		receiver_cb(&r, AF_INET, any, 0);
		receiver_cb(&r, AF_INET6, any, 0);
		err = mh_local_addrs(d, receiver_cb, &r);
	}
	if (d->cfg.crowded_port_lookups)
		mh_uidbudget_charge(&crowd_budget, (uint32_t)uid, r.lookups);
	if (r.err == -EACCES) {
		return shared(port, r.other, r.where, why, whylen);
	}
	if (r.err || err < 0) {
		snprintf(why, whylen, "cannot look up the UDP sockets of port %u: %s",
			 port, strerror(-(r.err ? r.err : err)));
		return -EIO;
	}
	log_debug("port %u: crowded (%u sockets), no other user's socket in %u "
		  "lookups", port, total, r.lookups);
	return 0;
}

/* The families of the datagrams from another host that the announcer's
 * sockets take: its clients' pinholes are of these alone. Sockets that
 * take none (loopback only) open no pinhole, but their session would
 * still hold the port: then both families count. */
static unsigned proof_reach(const struct mh_proof *p)
{
	unsigned r = 0;

	for (unsigned i = 0; i < p->n_bound && i < MH_MAX_BOUND; i++)
		r |= mh_ip_reach(p->bound[i].family, p->bound[i].ip,
				 p->bound[i].v6only);
	r &= MH_REACH_V4 | MH_REACH_V6;
	return r ? r : MH_REACH_V4 | MH_REACH_V6;
}

/* Other users' sockets on the port: those a datagram from another host of
 * a family the announcer's sockets take can reach refuse it (a pinhole of
 * the port lets the announcer's clients reach every local address of
 * their family); those on a loopback address, or reached only by the
 * other family, do not. Read from the dump when it came whole; a crowded
 * port is asked address by address. */
static int others_check(struct mh_daemon *d, uint16_t port, uid_t uid,
			const struct mh_proof *proof,
			const struct mh_port_census *c, char *why, size_t whylen)
{
	unsigned reach = proof_reach(proof);
	const struct mh_port_other *o = NULL;
	char ip[INET6_ADDRSTRLEN] = "?";

	if ((reach & MH_REACH_V4) && c->reach[0].n)
		o = &c->reach[0];
	else if ((reach & MH_REACH_V6) && c->reach[1].n)
		o = &c->reach[1];
	else if ((reach & MH_REACH_V4) && c->reach[2].n && route_localnet(d))
		o = &c->reach[2];
	if (!o && c->total <= OWNER_WHOLE_DUMP) {
		log_debug("port %u: no other user's socket in a whole dump of %u",
			  port, c->total);
		return 0;
	}
	if (!o)   /* a dump may miss a socket, never make one up */
		return receivers_check(d, port, uid, reach, c->total, why, whylen);
	inet_ntop(o->family, o->ip, ip, sizeof(ip));
	return shared(port, o->uid, ip, why, whylen);
}

int mh_owner_check(struct mh_daemon *d, uint16_t port,
		   const struct ucred *peer, pid_t pid, struct mh_proof *proof,
		   char *why, size_t whylen)
{
	struct mh_port_census c;
	uid_t uid = peer->uid;
	int err;

	err = mh_sockdiag_port(d, port, uid, proof, &c);
	if (err) {
		snprintf(why, whylen, "cannot list UDP sockets: %s", strerror(-err));
		return -EIO;
	}
	if (proof->n_bound == 0) {
		snprintf(why, whylen, "UDP port %u is not bound by a socket of uid %u",
			 port, (unsigned)uid);
		return -EACCES;
	}
	err = check_pid(pid, peer, why, whylen);   /* cheap, before the lookups */
	return err ? err : others_check(d, port, uid, proof, &c, why, whylen);
}
