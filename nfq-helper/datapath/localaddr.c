/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The host's own addresses, from rtnetlink (one RTM_GETADDR dump per
 * call, on a socket opened at start-up): every address a datagram from
 * outside may be delivered to. The ownership check asks, for each, which
 * socket a datagram to it on the announced port would reach (owner.c).
 * Only an administrator changes this list; no local user can crowd it.
 */
#include <errno.h>
#include <linux/if_addr.h>
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

int mh_local_addrs(struct mh_daemon *d, mh_local_addr_fn fn, void *arg)
{
	static char buf[16384];   /* a few addresses per read */
	static unsigned seq;
	struct addr_walk w = { fn, arg };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	int ret;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	if (mnl_socket_sendto(d->rtnl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = mnl_socket_recvfrom(d->rtnl, buf, sizeof(buf));
		if (ret <= 0)
			return ret < 0 ? -errno : -EIO;
		ret = mnl_cb_run(buf, ret, seq, mnl_socket_get_portid(d->rtnl),
				 addr_cb, &w);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}
