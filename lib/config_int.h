/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to lib/config*.c: the pre-parse check of integer literals.
 */
#ifndef MH_CONFIG_INT_H
#define MH_CONFIG_INT_H

#include <stddef.h>

/* 0, or -EINVAL with err = "PATH:LINE: integer N does not fit in 32 bits"
 * for the first integer literal without the L suffix that libconfig would
 * wrap (literals with L are 64-bit and pass), or "PATH:LINE: @include is
 * not allowed..." for a directive. */
int mh_config_scan_ints(const char *text, const char *path, char *err,
			size_t errlen);

#endif
