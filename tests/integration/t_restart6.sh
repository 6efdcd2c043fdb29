#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Restart without losing sessions over IPv6: t_restart.sh with the server
# on fd00::2 and the client behind the router's IPv6 SNAT (pinholes6, IPv6
# addresses in the state file).
MH_FAMILY=6 exec bash "$(dirname "$0")/t_restart.sh"
