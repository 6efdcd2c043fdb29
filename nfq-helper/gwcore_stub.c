/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * STAND-IN for the gateway core (gw-core's branch implements gwcore.h in
 * the privileged daemon; the lead deletes this file at that merge). Only
 * so that the relay listener builds and its tests run before then: OPEN
 * is answered ok when its server address and port are not held yet,
 * exists otherwise; END removes what OPEN held; every call is logged.
 * Nothing but the listener's tests may depend on this behaviour.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "gwcore.h"

#define STUB_HELD 4096

static struct mh_addr held[STUB_HELD];
static unsigned n_held;

static int find(const struct mh_addr *a)
{
	for (unsigned i = 0; i < n_held; i++)
		if (held[i].family == a->family && held[i].port == a->port &&
		    memcmp(held[i].ip, a->ip, sizeof(a->ip)) == 0)
			return (int)i;
	return -1;
}

void mh_gw_relay_up(struct mh_daemon *d, uint32_t relay, const char *subject,
		    const struct mhr_hello *h)
{
	(void)d;
	log_info("gw stub: relay #%u up: %s, name %s, heartbeat %u ms", relay,
		 subject, h->name, h->heartbeat_ms);
}

static void stub_open(const struct mhr_open *o, struct mhr_answer *ans)
{
	int i = find(&o->server);

	if (i >= 0) {
		ans->status = MHR_ST_EXISTS;
		snprintf(ans->reason, sizeof(ans->reason), "stub: held already");
	} else if (n_held >= STUB_HELD) {
		ans->status = MHR_ST_QUOTA;
		snprintf(ans->reason, sizeof(ans->reason), "stub: full");
	} else {
		held[n_held++] = o->server;
		ans->status = MHR_ST_OK;
		snprintf(ans->reason, sizeof(ans->reason), "stub: opened");
	}
}

static void stub_end(const struct mhr_end *e, struct mhr_answer *ans)
{
	int i = find(&e->server);

	if (i < 0) {
		ans->status = MHR_ST_NOT_FOUND;
		snprintf(ans->reason, sizeof(ans->reason), "stub: not held");
		return;
	}
	held[i] = held[--n_held];
	ans->status = MHR_ST_OK;
	snprintf(ans->reason, sizeof(ans->reason), "stub: ended");
}

void mh_gw_relay_msg(struct mh_daemon *d, uint32_t relay,
		     const struct mhr_msg *m, struct mhr_answer *ans)
{
	(void)d;
	ans->of_type = m->type;
	ans->status = MHR_ST_OK;
	snprintf(ans->reason, sizeof(ans->reason), "stub: ok");
	if (m->type == MHR_OPEN)
		stub_open(&m->u.open, ans);
	else if (m->type == MHR_END)
		stub_end(&m->u.end, ans);
	log_info("gw stub: relay #%u %s id %u: %s", relay, mhr_type_name(m->type),
		 m->id, mhr_status_name(ans->status));
}

void mh_gw_relay_down(struct mh_daemon *d, uint32_t relay)
{
	(void)d;
	log_info("gw stub: relay #%u down", relay);
}
