/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the pure side of a session's birth and death
 * (lib/announce.c): a session announced through the control socket, saved
 * and read back as the restart's announcement, gives the audit trail the
 * same fields (port, uid, pid, SSH client) with a reason naming the
 * source; the SSH client is the first field of SSH_CONNECTION; every end
 * reason has a text, and only the real ends release and are audited.
 */
#include <check.h>

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "announce.h"

static const uint8_t key[SSP_KEY_LEN] = "0123456789abcdef";

static void control_announcement(struct mh_announcement *a)
{
	memset(a, 0, sizeof(*a));
	a->source = MH_SOURCE_CONTROL;
	a->port = 60001;
	a->uid = 1001;
	a->pid = 4242;
	memcpy(a->key, key, sizeof(key));
	snprintf(a->ssh_connection, sizeof(a->ssh_connection),
		 "198.18.3.10 50000 198.18.0.2 22");
	a->n_bound = 1;
	a->bound[0].family = AF_INET;
	a->n_sock = 1;
	a->sock[0].cookie = 77;
}

START_TEST(test_same_fields_from_both_sources)
{
	struct mh_table *t = malloc(sizeof(*t));
	struct mh_announcement ctl, rst;
	struct mhc_announce v1, v2;
	struct mh_saved_session sv;
	struct mh_session *s;
	char c1[64], c2[64], why[200];

	control_announcement(&ctl);
	mh_table_init(t);
	s = mh_session_add(t, ctl.port, ctl.key, ctl.uid, ctl.pid, 5, 4);
	ck_assert_ptr_nonnull(s);
	mh_announce_ssh_client(ctl.ssh_connection, c1, sizeof(c1));
	ck_assert_int_eq(mh_session_set_ssh_client(t, s, c1), 0);
	s->pid_start = 999;
	memcpy(s->sock, ctl.sock, sizeof(s->sock));
	s->n_sock = ctl.n_sock;
	mh_saved_from_session(s, &sv);
	mh_announce_from_saved(&sv, key, &rst);

	ck_assert_int_eq(rst.source, MH_SOURCE_RESTART);
	ck_assert(rst.key_kept && !ctl.key_kept);
	ck_assert_ptr_eq(rst.saved, &sv);
	ck_assert_mem_eq(rst.key, key, SSP_KEY_LEN);
	ck_assert_uint_eq(rst.pid_start, 999);
	ck_assert_uint_eq(rst.n_sock, 1);
	ck_assert_uint_eq(rst.sock[0].cookie, 77);
	mh_announce_view(&ctl, &v1);
	mh_announce_view(&rst, &v2);
	ck_assert_uint_eq(v1.port, v2.port);
	ck_assert_uint_eq(v1.pid, v2.pid);
	ck_assert_uint_eq(ctl.uid, rst.uid);
	ck_assert_str_eq(v1.key, "");                 /* never a key */
	mh_announce_ssh_client(rst.ssh_connection, c2, sizeof(c2));
	ck_assert_str_eq(c1, "198.18.3.10");
	ck_assert_str_eq(c2, c1);
	mh_announce_reason(&ctl, why, sizeof(why));
	ck_assert_str_eq(why, "session accepted on port 60001");
	mh_announce_reason(&rst, why, sizeof(why));
	ck_assert_str_eq(why, "session resumed on port 60001 after a restart");
	mh_table_clear(t);
	free(t);
}
END_TEST

START_TEST(test_ssh_client)
{
	char out[46];
	char big[200];

	mh_announce_ssh_client("fd00:3::10 41000 fd00::2 22", out, sizeof(out));
	ck_assert_str_eq(out, "fd00:3::10");
	mh_announce_ssh_client("", out, sizeof(out));
	ck_assert_str_eq(out, "");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	mh_announce_ssh_client(big, out, sizeof(out));
	ck_assert_str_eq(out, "");                    /* too long: none */
}
END_TEST

START_TEST(test_end_reasons)
{
	enum mh_end all[] = { MH_END_EXITED, MH_END_SOCKET_GONE, MH_END_HANDSHAKE,
			      MH_END_DORMANT, MH_END_UNDONE, MH_END_STOP };

	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		ck_assert_ptr_nonnull(mh_end_text(all[i]));
		ck_assert_str_ne(mh_end_text(all[i]), "?");
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(mh_end_text(all[i]), mh_end_text(all[j]));
	}
	ck_assert_str_eq(mh_end_text(MH_END_EXITED), "mosh-server exited");
	ck_assert_str_eq(mh_end_text(MH_END_HANDSHAKE),
			 "never contacted (handshake_timeout)");
	ck_assert_str_eq(mh_end_text(MH_END_DORMANT), "dormant (session_timeout)");
	ck_assert(mh_end_releases(MH_END_EXITED));
	ck_assert(mh_end_releases(MH_END_SOCKET_GONE));
	ck_assert(mh_end_releases(MH_END_HANDSHAKE));
	ck_assert(mh_end_releases(MH_END_DORMANT));
	ck_assert(!mh_end_releases(MH_END_UNDONE));
	ck_assert(!mh_end_releases(MH_END_STOP));
	ck_assert_str_eq(mh_end_text((enum mh_end)99), "?");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("announce");
	TCase *tc = tcase_create("announce");

	tcase_add_test(tc, test_same_fields_from_both_sources);
	tcase_add_test(tc, test_ssh_client);
	tcase_add_test(tc, test_end_reasons);
	suite_add_tcase(s, tc);
	return mh_check_run(s);
}
