/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/diagreq.c: the sock_diag dump request read back
 * field by field. One port: named in the request, no program. A range:
 * a filter program that, run as the kernel runs one (each op moves on by
 * its yes or its no; accepted only when it runs exactly off the end),
 * takes the ports lo..hi and no others. A range without program: every
 * port. And the request for one socket (mh_diag_request_one).
 */
#include <check.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>

#include "check_main.h"
#include "diagreq.h"

static _Alignas(4) unsigned char buf[MH_DIAG_REQ_MAX];

static const struct inet_diag_req_v2 *req_of(const struct nlmsghdr *nlh)
{
	return (const struct inet_diag_req_v2 *)NLMSG_DATA(nlh);
}

static void check_header(const struct nlmsghdr *nlh, uint32_t seq, int family)
{
	const struct inet_diag_req_v2 *r = req_of(nlh);

	ck_assert_int_eq(nlh->nlmsg_type, SOCK_DIAG_BY_FAMILY);
	ck_assert_int_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	ck_assert_uint_eq(nlh->nlmsg_seq, seq);
	ck_assert_uint_le(nlh->nlmsg_len, MH_DIAG_REQ_MAX);
	ck_assert_int_eq(r->sdiag_family, family);
	ck_assert_int_eq(r->sdiag_protocol, IPPROTO_UDP);
	ck_assert_uint_eq(r->idiag_states, ~0U);
}

/* The attribute after the request, or NULL if there is none. */
static const struct nlattr *program_of(const struct nlmsghdr *nlh)
{
	size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct inet_diag_req_v2));

	if (nlh->nlmsg_len <= at)
		return NULL;
	ck_assert_uint_ge(nlh->nlmsg_len, at + NLA_HDRLEN);
	return (const struct nlattr *)((const unsigned char *)nlh + at);
}

/* The kernel's reading of the two ops the program uses. */
static bool run_program(const struct nlattr *a, uint16_t sport)
{
	const unsigned char *bc = (const unsigned char *)a + NLA_HDRLEN;
	int len = a->nla_len - NLA_HDRLEN;

	while (len > 0) {
		const struct inet_diag_bc_op *op = (const void *)bc;
		bool yes;

		ck_assert_int_ge(len, 2 * (int)sizeof(*op));
		if (op->code == INET_DIAG_BC_S_GE)
			yes = sport >= op[1].no;
		else if (op->code == INET_DIAG_BC_S_LE)
			yes = sport <= op[1].no;
		else
			ck_abort_msg("unexpected op %u", op->code);
		len -= yes ? op->yes : op->no;
		bc += yes ? op->yes : op->no;
	}
	return len == 0;
}

START_TEST(one_port_in_request)
{
	const uint16_t ports[] = { 1, 60000, 60001, 65535 };

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		for (int f = 0; f < 2; f++) {
			int family = f ? AF_INET6 : AF_INET;
			const struct nlmsghdr *nlh =
				mh_diag_request(buf, 7 + (uint32_t)i, family, ports[i],
						ports[i], f == 0);

			check_header(nlh, 7 + (uint32_t)i, family);
			ck_assert_uint_eq(ntohs(req_of(nlh)->id.idiag_sport), ports[i]);
			ck_assert_uint_eq(req_of(nlh)->id.idiag_dport, 0);
			ck_assert_ptr_null(program_of(nlh));
		}
}
END_TEST

START_TEST(range_program)
{
	const struct nlmsghdr *nlh = mh_diag_request(buf, 3, AF_INET6, 60000,
						     61000, true);
	const struct nlattr *a = program_of(nlh);

	check_header(nlh, 3, AF_INET6);
	ck_assert_uint_eq(req_of(nlh)->id.idiag_sport, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->nla_type, INET_DIAG_REQ_BYTECODE);
	ck_assert_uint_eq(nlh->nlmsg_len, (unsigned)((const unsigned char *)a - buf) +
			  NLA_ALIGN(a->nla_len));
	ck_assert(run_program(a, 60000));
	ck_assert(run_program(a, 60500));
	ck_assert(run_program(a, 61000));
	ck_assert(!run_program(a, 59999));
	ck_assert(!run_program(a, 61001));
	ck_assert(!run_program(a, 0));
	ck_assert(!run_program(a, 65535));
}
END_TEST

START_TEST(range_without_program)
{
	const struct nlmsghdr *nlh = mh_diag_request(buf, 9, AF_INET, 60000,
						     61000, false);

	check_header(nlh, 9, AF_INET);
	ck_assert_uint_eq(req_of(nlh)->id.idiag_sport, 0);
	ck_assert_ptr_null(program_of(nlh));
}
END_TEST

/* One socket: no dump flag, the socket's own address and port as the
 * lookup's destination, no source, the cookie in its two halves, nothing
 * after the request. */
START_TEST(one_socket)
{
	const uint8_t v4[4] = { 198, 18, 0, 2 };
	const uint8_t v6[16] = { 0xfd, 0, [15] = 2 };
	const uint64_t cookie = 0x0123456789abcdefULL;
	const struct nlmsghdr *nlh;
	const struct inet_diag_req_v2 *r;
	static const uint8_t zero[16];

	nlh = mh_diag_request_one(buf, 9, AF_INET, v4, 60001, 0, cookie);
	r = req_of(nlh);
	ck_assert_int_eq(nlh->nlmsg_type, SOCK_DIAG_BY_FAMILY);
	ck_assert_int_eq(nlh->nlmsg_flags, NLM_F_REQUEST);
	ck_assert_uint_eq(nlh->nlmsg_seq, 9);
	ck_assert_uint_eq(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(*r)));
	ck_assert_int_eq(r->sdiag_family, AF_INET);
	ck_assert_int_eq(r->sdiag_protocol, IPPROTO_UDP);
	ck_assert_uint_eq(ntohs(r->id.idiag_dport), 60001);
	ck_assert_uint_eq(r->id.idiag_sport, 0);
	ck_assert_mem_eq(r->id.idiag_dst, v4, 4);
	ck_assert_mem_eq(r->id.idiag_src, zero, 16);
	ck_assert_uint_eq(r->id.idiag_cookie[0], 0x89abcdefU);
	ck_assert_uint_eq(r->id.idiag_cookie[1], 0x01234567U);
	ck_assert_uint_eq(r->id.idiag_if, 0);
	nlh = mh_diag_request_one(buf, 10, AF_INET6, v6, 60002, 3, 7);
	r = req_of(nlh);
	ck_assert_uint_eq(r->id.idiag_if, 3);
	ck_assert_int_eq(r->sdiag_family, AF_INET6);
	ck_assert_mem_eq(r->id.idiag_dst, v6, 16);
	ck_assert_uint_eq(ntohs(r->id.idiag_dport), 60002);
	ck_assert_uint_eq(r->id.idiag_cookie[0], 7);
	ck_assert_uint_eq(r->id.idiag_cookie[1], 0);
	/* any socket: the kernel's "no cookie" in both halves */
	nlh = mh_diag_request_one(buf, 11, AF_INET, zero, 60003, 0,
				  MH_DIAG_ANY_COOKIE);
	r = req_of(nlh);
	ck_assert_uint_eq(r->id.idiag_cookie[0], INET_DIAG_NOCOOKIE);
	ck_assert_uint_eq(r->id.idiag_cookie[1], INET_DIAG_NOCOOKIE);
	ck_assert_mem_eq(r->id.idiag_dst, zero, 16);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("diagreq");
	TCase *tc = tcase_create("diagreq");

	tcase_add_test(tc, one_port_in_request);
	tcase_add_test(tc, range_program);
	tcase_add_test(tc, range_without_program);
	tcase_add_test(tc, one_socket);
	suite_add_tcase(su, tc);
	return mh_check_run(su);
}
