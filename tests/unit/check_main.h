/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The end of every unit test program: run one Check suite and turn its
 * failures into the exit status that tests/run.sh reads.
 */
#ifndef MH_CHECK_MAIN_H
#define MH_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int mh_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
