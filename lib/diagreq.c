/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sock_diag requests for the UDP sockets bound to a port range
 * (include/diagreq.h): the port in the request for one port, a filter
 * program for a range. No I/O: the reader (datapath/sockdiag.c) sends it.
 */
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "diagreq.h"

/* "sport >= lo, then sport <= hi": a condition that holds moves on by
 * its yes (one op and its value: 8 bytes), one that fails jumps by its no
 * past the program's end (reject); running exactly off the end accepts. */
static void put_program(struct nlmsghdr *nlh, uint16_t lo, uint16_t hi)
{
	struct inet_diag_bc_op bc[4] = {
		{ INET_DIAG_BC_S_GE, 8, 20 }, { 0, 0, lo },
		{ INET_DIAG_BC_S_LE, 8, 12 }, { 0, 0, hi },
	};

	mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, sizeof(bc), bc);
}

struct nlmsghdr *mh_diag_request(void *buf, uint32_t seq, int family,
				 uint16_t lo, uint16_t hi, bool program)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = IPPROTO_UDP;
	req->idiag_states = ~0U;
	if (lo == hi)
		req->id.idiag_sport = htons(lo);
	else if (program)
		put_program(nlh, lo, hi);
	return nlh;
}

/* The lookup takes the request's source as the datagram's source and its
 * destination as where it goes (the reverse of a dump's reading of the
 * same fields): the socket's own address and port are the destination. */
struct nlmsghdr *mh_diag_request_one(void *buf, uint32_t seq, int family,
				     const uint8_t *ip, uint16_t port,
				     uint32_t ifindex, uint64_t cookie)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = IPPROTO_UDP;
	req->idiag_states = ~0U;
	req->id.idiag_dport = htons(port);
	memcpy(req->id.idiag_dst, ip, family == AF_INET ? 4 : 16);
	req->id.idiag_if = ifindex;
	req->id.idiag_cookie[0] = (uint32_t)cookie;
	req->id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	return nlh;
}
