/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Proof of ownership for an announcement: the UDP port must be bound by a
 * socket of the announcing uid (sock_diag netlink, IPv4 and IPv6), and the
 * announced pid must be that uid's and the announcing process itself or one
 * of its descendants (/proc/<pid>/status). Neither needs a capability.
 * The same dumps, over a port or the whole range, tell later whether the
 * sockets a session recorded are still bound (mh_owner_scan, lifecycle.c).
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

/* The hook is a child subreaper: the server mosh-server detaches is its
 * grandchild until the first mosh-server exits, then its child. Room is
 * left for a wrapper between them. */
#define OWNER_MAX_GENERATIONS 4
#define OWNER_WALK_TRIES      3   /* a walk broken by an exit is retried */

struct owner_scan {
	uint16_t port;
	uid_t uid;
	unsigned foreign;                 /* sockets on port of other uids */
	unsigned n;                       /* sockets on port of uid */
	struct mh_proof *proof;           /* bound and sock of uid's sockets */
};

/* One dump: every UDP socket of a family bound to a port in lo..hi goes
 * to fn (the kernel filters; fn is never called outside the range). */
typedef void (*diag_fn)(const struct nlmsghdr *nlh,
			const struct inet_diag_msg *m, void *arg);
struct diag_req {
	uint16_t lo, hi;
	diag_fn fn;
	void *arg;
};

/* Every dump on d->diag reads into this one buffer: the kernel sizes its
 * dump chunks after the largest read so far (up to 32 KiB), and a smaller
 * read later would cut a chunk short. */
#define DIAG_BUF_SIZE 32768
static char diag_buf[DIAG_BUF_SIZE];

int mh_owner_open(struct mh_daemon *d)
{
	d->diag = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!d->diag)
		return -errno;
	if (mnl_socket_bind(d->diag, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	return 0;
}

static int v6only_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == INET_DIAG_SKV6ONLY &&
	    mnl_attr_validate(a, MNL_TYPE_U8) == 0)
		*(bool *)data = mnl_attr_get_u8(a) != 0;
	return MNL_CB_OK;
}

static struct mh_sockid sockid_of(const struct inet_diag_msg *m)
{
	return (struct mh_sockid){
		.cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0],
		.ino = m->idiag_inode,
	};
}

/* Where the socket is bound (the only local address that may receive),
 * and which socket it is (the session lives as long as it does). */
static void record_bound(const struct nlmsghdr *nlh,
			 const struct inet_diag_msg *m, struct mh_proof *p)
{
	static const uint8_t zero[16];
	struct mh_bound *b;

	if (p->n_bound >= MH_MAX_BOUND)
		return;
	p->sock[p->n_bound] = sockid_of(m);
	b = &p->bound[p->n_bound++];
	b->family = m->idiag_family;
	memcpy(b->ip, m->id.idiag_src, b->family == AF_INET ? 4 : 16);
	b->any = !memcmp(b->ip, zero, b->family == AF_INET ? 4 : 16);
	b->v6only = false;
	if (b->family == AF_INET6)
		mnl_attr_parse(nlh, sizeof(*m), v6only_cb, &b->v6only);
}

static void owner_cb(const struct nlmsghdr *nlh, const struct inet_diag_msg *m,
		     void *arg)
{
	struct owner_scan *sc = arg;

	if (m->idiag_uid != sc->uid) {
		sc->foreign++;
		return;
	}
	sc->n++;
	record_bound(nlh, m, sc->proof);
}

static int diag_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	const struct diag_req *rq = data;
	uint16_t port;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_ERROR;
	port = ntohs(m->id.idiag_sport);
	if (port >= rq->lo && port <= rq->hi)
		rq->fn(nlh, m, rq->arg);
	return MNL_CB_OK;
}

/* The kernel reports only sockets bound to lo..hi: without this filter
 * every UDP socket of the host is described to us on every announcement,
 * which with thousands of sessions is most of the daemon's work. The
 * program is "sport >= lo, then sport <= hi": a condition that holds moves
 * on to the next one, one that fails jumps past the end (reject), and
 * running off the end accepts. (diag_cb still checks the range itself.) */
static void put_port_filter(struct nlmsghdr *nlh, uint16_t lo, uint16_t hi)
{
	struct inet_diag_bc_op bc[4] = {
		{ INET_DIAG_BC_S_GE, 8, 20 }, { 0, 0, lo },
		{ INET_DIAG_BC_S_LE, 8, 12 }, { 0, 0, hi },
	};

	mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, sizeof(bc), bc);
}

static bool diag_unfiltered;   /* the kernel refused the port filter once */

static int diag_dump_once(struct mh_daemon *d, int family,
			  const struct diag_req *rq)
{
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	unsigned seq = (unsigned)mh_now_ms();
	int ret;

	nlh = mnl_nlmsg_put_header(diag_buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_UDP;
	req->idiag_states = ~0U;
	if (!diag_unfiltered)
		put_port_filter(nlh, rq->lo, rq->hi);
	if (mnl_socket_sendto(d->diag, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = mnl_socket_recvfrom(d->diag, diag_buf, sizeof(diag_buf));
		if (ret <= 0)
			return ret < 0 ? -errno : -EIO;
		ret = mnl_cb_run(diag_buf, ret, seq, mnl_socket_get_portid(d->diag),
				 diag_cb, (void *)rq);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

/* Both families (an IPv6 socket that also takes IPv4 is listed once, as
 * IPv6). reset, if set, is called before a dump is started over. */
static int diag_dump(struct mh_daemon *d, const struct diag_req *rq,
		     void (*reset)(void *arg))
{
	int err = diag_dump_once(d, AF_INET, rq);

	if (err == -EINVAL && !diag_unfiltered) {
		log_warn("sock_diag refused a port filter: every UDP socket is read "
			 "on each announcement from now on");
		diag_unfiltered = true;
		if (reset)
			reset(rq->arg);
		err = diag_dump_once(d, AF_INET, rq);
	}
	return err ? err : diag_dump_once(d, AF_INET6, rq);
}

static void owner_reset(void *arg)
{
	struct owner_scan *sc = arg;

	sc->foreign = sc->n = 0;
	sc->proof->n_bound = 0;
}

struct scan_adapter {
	mh_sock_fn fn;
	void *arg;
};

static void scan_cb(const struct nlmsghdr *nlh, const struct inet_diag_msg *m,
		    void *arg)
{
	const struct scan_adapter *a = arg;
	struct mh_sockid id = sockid_of(m);

	(void)nlh;
	a->fn(a->arg, ntohs(m->id.idiag_sport), m->idiag_uid, &id);
}

int mh_owner_scan(struct mh_daemon *d, uint16_t lo, uint16_t hi,
		  mh_sock_fn fn, void *arg)
{
	struct scan_adapter a = { fn, arg };
	struct diag_req rq = { lo, hi, scan_cb, &a };

	return diag_dump(d, &rq, NULL);
}

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

int mh_owner_check(struct mh_daemon *d, uint16_t port,
		   const struct ucred *peer, pid_t pid, struct mh_proof *proof,
		   char *why, size_t whylen)
{
	struct owner_scan sc = { .port = port, .uid = peer->uid, .proof = proof };
	struct diag_req rq = { port, port, owner_cb, &sc };
	uid_t uid = peer->uid;
	int err;

	proof->n_bound = 0;
	err = diag_dump(d, &rq, owner_reset);
	if (err) {
		snprintf(why, whylen, "cannot list UDP sockets: %s", strerror(-err));
		return -EIO;
	}
	if (sc.foreign && sc.n) {
		snprintf(why, whylen, "UDP port %u is shared with another user's socket",
			 port);
		return -EACCES;
	}
	if (sc.n == 0) {
		snprintf(why, whylen, "UDP port %u is not bound by a socket of uid %u",
			 port, (unsigned)uid);
		return -EACCES;
	}
	return check_pid(pid, peer, why, whylen);
}
