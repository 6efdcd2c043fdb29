#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The licence line on every source file (tests/structure/spdx.sh lists
# the files without it).
set -u
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "$SRC/tests/structure/spdx.sh" "$SRC"
