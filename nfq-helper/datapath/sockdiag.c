/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's sock_diag reader: which UDP sockets (IPv4 and IPv6) are
 * bound to which ports, whose they are and at which address. The dump is
 * filtered by the kernel to a port range. Announcements ask it for one
 * port's sockets (owner.c), the session checks for a range (lifecycle.c).
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>

#include "daemon.h"
#include "diagreq.h"
#include "prefix.h"

struct port_scan {
	uid_t uid;
	struct mh_port_census *c;         /* every socket on the port, counted */
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

int mh_sockdiag_open(struct mh_daemon *d)
{
	d->diag = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!d->diag || mnl_socket_bind(d->diag, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	d->rtnl = mnl_socket_open(NETLINK_ROUTE);   /* for localaddr.c */
	if (!d->rtnl || mnl_socket_bind(d->rtnl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	return 0;
}

void mh_sockdiag_close(struct mh_daemon *d)
{
	if (d->diag)
		mnl_socket_close(d->diag);
	if (d->rtnl)
		mnl_socket_close(d->rtnl);
	d->diag = d->rtnl = NULL;
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
		.ifindex = m->id.idiag_if,
	};
}

/* Each request's own sequence number (a time in ms could repeat) */
static unsigned diag_seq;

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

/* Another uid's socket: counted, and noted under each kind of datagram
 * from another host that could reach it (mh_ip_reach's bits: IPv4, IPv6,
 * IPv4 loopback with route_localnet). */
static void census_foreign(struct mh_port_census *c, const struct nlmsghdr *nlh,
			   const struct inet_diag_msg *m)
{
	const uint8_t *ip = (const uint8_t *)m->id.idiag_src;
	bool v6only = false;
	unsigned reach;

	if (m->idiag_family == AF_INET6)
		mnl_attr_parse(nlh, sizeof(*m), v6only_cb, &v6only);
	reach = mh_ip_reach(m->idiag_family, ip, v6only);
	c->foreign++;
	for (unsigned f = 0; f < 3; f++) {
		struct mh_port_other *o = &c->reach[f];

		if (!(reach & (1u << f)) || o->n++)
			continue;
		o->uid = m->idiag_uid;
		o->family = m->idiag_family;
		memcpy(o->ip, ip, m->idiag_family == AF_INET ? 4 : 16);
	}
}

static void port_cb(const struct nlmsghdr *nlh, const struct inet_diag_msg *m,
		     void *arg)
{
	struct port_scan *sc = arg;

	sc->c->total++;
	if (m->idiag_uid != sc->uid)
		census_foreign(sc->c, nlh, m);
	else
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

/* The kernel reports only sockets bound to lo..hi (diagreq.c): without
 * this every UDP socket of the host is described to us on every
 * announcement, which with thousands of sessions is most of the daemon's
 * work (diag_cb still checks the range itself). One port's dump (each
 * announcement's) names the port in the request, which the kernel's UDP
 * walk compares before it runs a filter program or describes a socket:
 * about 15% of the dump with 10,000 sockets. The walk still visits every
 * bucket of the host's UDP table and every socket in it. A request
 * without NLM_F_DUMP (one socket, looked up by address and port) does
 * not, but it finds a single socket, an address-bound one only by its
 * address: it cannot list another user's socket on the same port, which
 * the ownership check must refuse (issue 11). The check uses it beside
 * the dump, once for each of the host's addresses (owner.c). */
static bool diag_unfiltered;   /* the kernel refused the port filter once */

static int diag_dump_once(struct mh_daemon *d, int family,
			  const struct diag_req *rq)
{
	unsigned seq = ++diag_seq;
	struct nlmsghdr *nlh = mh_diag_request(diag_buf, seq, family, rq->lo,
					       rq->hi, !diag_unfiltered);
	int ret;

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
			 "on each periodic socket check from now on");
		diag_unfiltered = true;
		if (reset)
			reset(rq->arg);
		err = diag_dump_once(d, AF_INET, rq);
	}
	return err ? err : diag_dump_once(d, AF_INET6, rq);
}

static void port_reset(void *arg)
{
	struct port_scan *sc = arg;

	memset(sc->c, 0, sizeof(*sc->c));
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

int mh_sockdiag_scan(struct mh_daemon *d, uint16_t lo, uint16_t hi,
		     mh_sock_fn fn, void *arg)
{
	struct scan_adapter a = { fn, arg };
	struct diag_req rq = { lo, hi, scan_cb, &a };

	return diag_dump(d, &rq, NULL);
}

int mh_sockdiag_port(struct mh_daemon *d, uint16_t port, uid_t uid,
		     struct mh_proof *proof, struct mh_port_census *c)
{
	struct port_scan sc = { .uid = uid, .c = c, .proof = proof };
	struct diag_req rq = { port, port, port_cb, &sc };

	port_reset(&sc);
	return diag_dump(d, &rq, port_reset);
}

/* One lookup: the socket a datagram to ip:port (on device ifindex, 0 for
 * any) would reach, if its cookie is cookie (MH_DIAG_ANY_COOKIE: any), into
 * *out. 1 found, 0 none, -errno. */
static int diag_lookup(struct mh_daemon *d, int family, const uint8_t *ip,
		       uint16_t port, uint32_t ifindex, uint64_t cookie,
		       struct inet_diag_msg *out)
{
	unsigned seq = ++diag_seq;
	struct nlmsghdr *nlh = mh_diag_request_one(diag_buf, seq, family, ip,
						   port, ifindex, cookie);
	const struct nlmsgerr *e;
	int ret, stale = 0;

	if (mnl_socket_sendto(d->diag, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {   /* a message left from an earlier request is skipped */
		ret = mnl_socket_recvfrom(d->diag, diag_buf, sizeof(diag_buf));
		if (ret < 0)
			return -errno;
		nlh = (struct nlmsghdr *)diag_buf;
		if (!mnl_nlmsg_ok(nlh, ret))
			return -EPROTO;
	} while (nlh->nlmsg_seq != seq && ++stale < 8);
	if (nlh->nlmsg_seq != seq)
		return -EPROTO;
	if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*out))
			return -EPROTO;
		memcpy(out, mnl_nlmsg_get_payload(nlh), sizeof(*out));
		return 1;
	}
	if (nlh->nlmsg_type != NLMSG_ERROR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EPROTO;
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error == -ENOENT || e->error == -ESTALE)
		return 0;
	return e->error < 0 ? e->error : -EPROTO;
}

/*
 * A dump is no snapshot once it takes more than one read: the kernel
 * walks a port's sockets under the bucket's lock for one read only, and
 * resumes the next by skipping as many as it already sent, so a socket
 * closed in between makes it skip one it never sent. A read holds about
 * 250 sockets, and a local user can put that many on another user's port
 * by binding it on other addresses (the victim's mosh-server is bound to
 * one): a dump of the port would then miss the victim's socket now and
 * then, and its session would end as socket_gone (t_sock_crowd). So
 * whether a session's own socket is still there is asked of that socket
 * alone: looked up as a datagram to its address and port would be, its
 * cookie compared by the kernel. No crowd on the port changes a "there".
 * A "not there" is no proof on its own: a socket bound to a device (a VRF,
 * SO_BINDTODEVICE) is found only with its device, which a state file does
 * not keep, and a connected socket or a twin on the same address and port
 * (SO_REUSEADDR, SO_REUSEPORT) hides it, so the caller confirms that with
 * a dump (lifecycle.c): a crowd can then hide only what the lookup could
 * not find.
 */
int mh_sockdiag_one(struct mh_daemon *d, const struct mh_bound *b,
		    uint16_t port, const struct mh_sockid *id)
{
	static const uint8_t zero[16];
	struct inet_diag_msg m;
	int ret = diag_lookup(d, b->family, b->any ? zero : b->ip, port,
			      id->ifindex, id->cookie, &m);

	return ret == 1 ? sockid_of(&m).cookie == id->cookie : ret;
}

/*
 * Who would receive a datagram to ip:port: the same lookup without a
 * cookie. The kernel answers with the socket its own receive path picks
 * (an address-bound one before a wildcard one), so a crowd of sockets on
 * other addresses of the port changes nothing here either.
 */
int mh_sockdiag_receiver(struct mh_daemon *d, int family, const uint8_t *ip,
			 uint16_t port, uint32_t ifindex, uid_t *uid)
{
	struct inet_diag_msg m;
	int ret = diag_lookup(d, family, ip, port, ifindex, MH_DIAG_ANY_COOKIE, &m);

	if (ret == 1)
		*uid = m.idiag_uid;
	return ret;
}
