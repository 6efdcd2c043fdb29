/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The host's own addresses and interfaces, from rtnetlink (one
 * RTM_GETADDR or RTM_GETLINK dump per call, on a socket opened at
 * start-up): every address a datagram from outside may be delivered to,
 * and every device it may arrive on. The ownership check of a crowded
 * port asks, for each pair, which socket such a datagram would reach
 * (owner.c). Only an administrator changes these lists; no local user can
 * crowd them. And whether an interface of the host takes datagrams from
 * the wire to 127/8 (its own route_localnet).
 */
#include <errno.h>
#include <stdbool.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon.h"

struct addr_walk {
	mh_local_addr_fn fn;
	void *arg;
};

struct addr_attrs {
	const struct nlattr *local, *address;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	struct addr_attrs *at = data;

	if (mnl_attr_type_valid(a, IFA_MAX) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) == IFA_LOCAL)
		at->local = a;
	else if (mnl_attr_get_type(a) == IFA_ADDRESS)
		at->address = a;
	return MNL_CB_OK;
}

/* IFA_LOCAL is the host's side of a point-to-point link (IFA_ADDRESS its
 * peer there); other links have IFA_ADDRESS alone (IPv6 always). */
static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct addr_walk *w = data;
	struct addr_attrs at = { 0 };
	const struct nlattr *a;
	size_t len;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_ERROR;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	len = ifa->ifa_family == AF_INET ? 4 : 16;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, &at);
	a = at.local ? at.local : at.address;
	if (!a || mnl_attr_get_payload_len(a) != len)
		return MNL_CB_OK;
	w->fn(w->arg, ifa->ifa_family, mnl_attr_get_payload(a), ifa->ifa_index);
	return MNL_CB_OK;
}

/* Whether a read holds the dump's end (or its error). */
static bool holds_end(const char *buf, int len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
			return true;
	return false;
}

/* One rtnetlink dump of type (family AF_UNSPEC), each message to cb. An
 * error of cb's (errno, else -EPROTO) is returned once the rest of the
 * dump is read and dropped, so the next dump starts clean. */
static int rtnl_dump(struct mh_daemon *d, uint16_t type, mnl_cb_t cb, void *data)
{
	static char buf[16384];   /* a few dozen addresses or links per read */
	static unsigned seq;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	int ret, n, err = 0;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++seq;
	g = mnl_nlmsg_put_extra_header(nlh, type == RTM_GETADDR ?
				       sizeof(struct ifaddrmsg) :
				       sizeof(struct ifinfomsg));
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(d->rtnl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = (int)mnl_socket_recvfrom(d->rtnl, buf, sizeof(buf));
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (err) {          /* draining */
			ret = holds_end(buf, n) ? MNL_CB_STOP : MNL_CB_OK;
			continue;
		}
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(d->rtnl),
				 cb, data);
		if (ret < 0) {
			err = errno ? -errno : -EPROTO;
			ret = holds_end(buf, n) ? MNL_CB_STOP : MNL_CB_OK;
		}
	} while (ret > MNL_CB_STOP);
	return err;
}

int mh_local_addrs(struct mh_daemon *d, mh_local_addr_fn fn, void *arg)
{
	struct addr_walk w = { fn, arg };

	return rtnl_dump(d, RTM_GETADDR, addr_cb, &w);
}

struct link_walk {
	uint32_t *idx;                /* NULL: not wanted */
	unsigned n, max;
	bool localnet;                /* an interface's route_localnet is on */
};

/* IFLA_AF_SPEC > AF_INET > IFLA_INET_CONF: the interface's IPv4 settings,
 * one u32 each, IPV4_DEVCONF_x at index x - 1 */
static bool link_localnet(const struct nlmsghdr *nlh,
			  const struct ifinfomsg *ifi)
{
	const struct nlattr *a, *af, *c;

	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) != IFLA_AF_SPEC)
			continue;
		mnl_attr_for_each_nested(af, a) {
			if (mnl_attr_get_type(af) != AF_INET)
				continue;
			mnl_attr_for_each_nested(c, af) {
				const uint32_t *v = mnl_attr_get_payload(c);

				if (mnl_attr_get_type(c) == IFLA_INET_CONF &&
				    mnl_attr_get_payload_len(c) >=
				    IPV4_DEVCONF_ROUTE_LOCALNET * sizeof(*v))
					return v[IPV4_DEVCONF_ROUTE_LOCALNET - 1] != 0;
			}
		}
	}
	return false;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_walk *w = data;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_ERROR;
	if (ifi->ifi_index <= 0)
		return MNL_CB_OK;
	/* lo's own setting lets nothing from the wire in: a datagram
	 * received there was sent by this host */
	if (!(ifi->ifi_flags & IFF_LOOPBACK))
		w->localnet |= link_localnet(nlh, ifi);
	if (!w->idx)
		return MNL_CB_OK;
	if (w->n == w->max) {   /* a device left out would be a socket unseen */
		errno = ENOBUFS;
		return MNL_CB_ERROR;
	}
	w->idx[w->n++] = (uint32_t)ifi->ifi_index;
	return MNL_CB_OK;
}

int mh_local_links(struct mh_daemon *d, uint32_t *idx, unsigned max,
		   bool *localnet)
{
	struct link_walk w = { idx, 0, max, false };
	int err = rtnl_dump(d, RTM_GETLINK, link_cb, &w);

	*localnet = err || w.localnet;   /* cannot tell: count them */
	return err ? err : (int)w.n;
}
