#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Single-port mode over IPv6: the same acceptance as t_single_port.sh with
# the server on fd00::2 and the clients behind the router's IPv6 SNAT.
MH_FAMILY=6 exec bash "$(dirname "$0")/t_single_port.sh"
