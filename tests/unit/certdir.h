/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * For the unit tests that need real certificates (test_tls, test_gwconn):
 * tests/tools/mkcerts.sh run into a directory of the test binary's own,
 * made by an unchecked fixture before the tests and removed after them.
 * certdir holds its path; MH_SRC, if set, is where the sources are.
 */
#ifndef MH_TEST_CERTDIR_H
#define MH_TEST_CERTDIR_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char certdir[64];

/* /tmp/mh-NAME.XXXXXX with the certificates in it */
static inline void certdir_make(const char *name)
{
	const char *src = getenv("MH_SRC");
	char cmd[512];

	snprintf(certdir, sizeof(certdir), "/tmp/mh-%s.XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(certdir));
	snprintf(cmd, sizeof(cmd), "sh %s/tests/tools/mkcerts.sh %s >/dev/null",
		 src ? src : ".", certdir);
	ck_assert_msg(system(cmd) == 0, "%s failed (openssl CLI missing?)", cmd);
}

static inline void certdir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", certdir);
}

#endif
