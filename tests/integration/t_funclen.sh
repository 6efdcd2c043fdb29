#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Production functions stay short: p90 at most 30 lines, none over 60
# (tests/structure/funclen.sh prints the distribution and the longest).
set -u
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "$SRC/tests/structure/funclen.sh" "$SRC"
