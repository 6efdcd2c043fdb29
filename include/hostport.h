/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * "ADDR:PORT" and "[ADDR6]:PORT" as a socket address: the gateway's relay
 * listener (config key relay_listen). Numeric addresses only, port
 * 1..65535, nothing before or after. Pure: no sockets.
 */
#ifndef MH_HOSTPORT_H
#define MH_HOSTPORT_H

#include <sys/socket.h>

/* 0 with *ss and *len filled, or -EINVAL. */
int mh_hostport_parse(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len);

#endif
