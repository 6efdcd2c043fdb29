#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# No import cycle within a folder of the production code: from the
# objects' symbols (nm), no two files of one folder use each other, even
# through others (tests/structure/cycles.sh prints the cycles it finds).
set -u
B=${MH_BUILD:?run through tests/run.sh}
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v nm >/dev/null 2>&1 || { echo "nm (binutils) is needed"; exit 77; }
exec "$SRC/tests/structure/cycles.sh" "$B"
