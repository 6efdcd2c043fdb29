/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Which session record a kernel pinhole element belongs to; an element no
 * session records is a stray (a delete that failed, or an element put there
 * by someone else) that the periodic read-back removes.
 */
#include <string.h>
#include <sys/socket.h>

#include "stray.h"

void mh_elem_client(const struct mh_pinhole *ph, struct mh_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = ph->family;
	memcpy(a->ip, ph->addr, ph->family == AF_INET ? 4 : 16);
	a->port = ph->client_port;
}

struct mh_pinhole_rec *mh_elem_record(const struct mh_table *t,
				      const struct mh_pinhole *ph)
{
	const struct mh_session *s = mh_session_by_port(t, ph->server_port);
	struct mh_addr a;

	if (!s || (ph->family != AF_INET && ph->family != AF_INET6))
		return NULL;
	mh_elem_client(ph, &a);
	return mh_pinhole_find(s, &a);
}
