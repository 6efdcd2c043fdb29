/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of lib/gwpriv.c (the gateway listener <-> daemon messages) and
 * lib/hostport.c (relay_listen): every kind round-trips; the daemon's
 * decoder refuses a wrong kind, relay number, frame type for the kind,
 * subject, SAN list, truncation and trailing bytes, each with a reason;
 * the SAN check matches family and address exactly; "ADDR:PORT" forms.
 */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "gwpriv.h"
#include "hostport.h"

static struct mh_addr v4(const char *s)
{
	struct mh_addr a = { .family = AF_INET };

	inet_pton(AF_INET, s, a.ip);
	return a;
}

static struct mh_gwp up_msg(void)
{
	struct mh_gwp p = { .kind = MH_GWP_UP, .relay = 7 };

	strcpy(p.subject, "/CN=relay1");
	p.n_addrs = 2;
	p.addrs[0] = v4("198.18.1.2");
	p.addrs[1].family = AF_INET6;
	inet_pton(AF_INET6, "fd00:1::2", p.addrs[1].ip);
	p.msg.type = MHR_HELLO;
	p.msg.id = 1;
	p.msg.u.hello.instance = 9;
	p.msg.u.hello.heartbeat_ms = 500;
	strcpy(p.msg.u.hello.name, "relay1");
	return p;
}

static struct mh_gwp open_msg(void)
{
	struct mh_gwp p = { .kind = MH_GWP_MSG, .relay = 7 };

	p.msg.type = MHR_OPEN;
	p.msg.id = 2;
	p.msg.u.open.sid = 1;
	p.msg.u.open.uid = 1000;
	p.msg.u.open.server = v4("198.18.1.2");
	p.msg.u.open.server.port = 60001;
	memset(p.msg.u.open.key, 0x5a, sizeof(p.msg.u.open.key));
	return p;
}

static ssize_t enc(const struct mh_gwp *p, uint8_t *buf)
{
	ssize_t n = mh_gwp_encode(p, buf, MH_GWP_MAX);

	ck_assert_int_gt(n, 0);
	return n;
}

static int dec(const uint8_t *buf, size_t n, struct mh_gwp *out, const char **why)
{
	*why = NULL;
	return mh_gwp_decode(buf, n, out, why);
}

START_TEST(test_round_trips)
{
	struct mh_gwp in[5] = { up_msg(), open_msg(), { .kind = MH_GWP_DOWN, .relay = 7 },
				{ .kind = MH_GWP_READY }, { .kind = MH_GWP_BEAT, .relay = 9 } }, out;
	uint8_t buf[MH_GWP_MAX], again[MH_GWP_MAX];
	const char *why;

	for (int i = 0; i < 5; i++) {
		ssize_t n = enc(&in[i], buf);

		ck_assert_msg(dec(buf, (size_t)n, &out, &why) == 0, "%d: %s", i, why);
		ck_assert_int_eq(out.kind, in[i].kind);
		ck_assert_uint_eq(out.relay, in[i].relay);
		ck_assert_int_eq(mh_gwp_encode(&out, again, sizeof(again)), n);
		ck_assert_mem_eq(again, buf, (size_t)n);
		ck_assert_int_eq(mh_gwp_encode(&out, again, (size_t)n - 1), -ENOBUFS);
		mh_gwp_wipe(&out);
	}
}
END_TEST

START_TEST(test_refusals)
{
	struct mh_gwp p = open_msg(), out;
	uint8_t buf[MH_GWP_MAX];
	ssize_t n = enc(&p, buf);
	const char *why;

	ck_assert_int_eq(dec(buf, (size_t)n - 1, &out, &why), -EPROTO);   /* truncated frame */
	ck_assert_ptr_nonnull(why);
	buf[n] = 0;
	ck_assert_int_eq(dec(buf, (size_t)n + 1, &out, &why), -EPROTO);   /* trailing byte */
	buf[0] = 'Z';
	ck_assert_int_eq(dec(buf, (size_t)n, &out, &why), -EPROTO);       /* kind */
	ck_assert_str_eq(why, "unknown message kind");
	buf[0] = MH_GWP_UP;                                               /* OPEN in an UP */
	ck_assert_int_eq(dec(buf, (size_t)n, &out, &why), -EPROTO);
	buf[0] = MH_GWP_MSG;
	memset(buf + 1, 0, 4);                                            /* relay 0 */
	ck_assert_int_eq(dec(buf, (size_t)n, &out, &why), -EPROTO);
	ck_assert_int_eq(dec(buf, 3, &out, &why), -EPROTO);               /* short */
	/* a HELLO is no MSG */
	p = up_msg();
	p.kind = MH_GWP_MSG;
	ck_assert_int_eq(mh_gwp_encode(&p, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_up_fields)
{
	struct mh_gwp p = up_msg(), out;
	uint8_t buf[MH_GWP_MAX];
	ssize_t n = enc(&p, buf);
	size_t subj = 5, count = subj + 1 + strlen(p.subject);
	const char *why;

	buf[subj + 1] = 0x07;                          /* a control byte */
	ck_assert_int_eq(dec(buf, (size_t)n, &out, &why), -EPROTO);
	ck_assert_str_eq(why, "subject not printable");
	buf[subj + 1] = '/';
	buf[count] = MH_GWP_ADDRS_MAX + 1;
	ck_assert_int_eq(dec(buf, (size_t)n, &out, &why), -EPROTO);
	buf[count] = 2;
	buf[count + 1] = 5;                            /* family */
	ck_assert_int_eq(dec(buf, (size_t)n, &out, &why), -EPROTO);
	ck_assert_str_eq(why, "SAN family not 4 or 6");
	buf[count + 1] = 4;
	ck_assert_int_eq(dec(buf, (size_t)n, &out, &why), 0);
	ck_assert_str_eq(out.subject, "/CN=relay1");
	ck_assert_uint_eq(out.n_addrs, 2);
	ck_assert_int_eq(out.msg.u.hello.heartbeat_ms, 500);
}
END_TEST

START_TEST(test_addr_listed)
{
	struct mh_gwp p = up_msg();
	struct mh_addr a = v4("198.18.1.2"), b = v4("198.18.2.2"), m;

	a.port = 60001;
	ck_assert_int_eq(mh_gwp_addr_listed(p.addrs, p.n_addrs, &a), 1);
	ck_assert_int_eq(mh_gwp_addr_listed(p.addrs, p.n_addrs, &b), 0);
	memset(&m, 0, sizeof(m));                      /* ::ffff:198.18.1.2 */
	m.family = AF_INET6;
	m.ip[10] = m.ip[11] = 0xff;
	memcpy(m.ip + 12, a.ip, 4);
	ck_assert_int_eq(mh_gwp_addr_listed(p.addrs, p.n_addrs, &m), 0);
}
END_TEST

START_TEST(test_hostport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *bad[] = { "", "198.18.9.1", "198.18.9.1:", "198.18.9.1:0",
			      "198.18.9.1:65536", "198.18.9.1:+1", "fd00::1:7710",
			      "[fd00::1]7710", "[fd00::1]:", "[198.18.9.1]:7710",
			      "host:7710", " 198.18.9.1:7710", "198.18.9.1:7710 " };

	ck_assert_int_eq(mh_hostport_parse("198.18.9.1:7710", &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 7710);
	ck_assert_int_eq(mh_hostport_parse("[::]:65535", &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mh_hostport_parse(bad[i], &ss, &len) == -EINVAL,
			      "\"%s\" accepted", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gwpriv");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trips);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_up_fields);
	tcase_add_test(tc, test_addr_listed);
	tcase_add_test(tc, test_hostport);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
