/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Single-port mode: when a session starts whose SSH login came from host X,
 * the mappings other sessions hold for clients on X (unless their login
 * came from X too) are displaced: pinhole, confirmed mapping, record and
 * conntrack flow go, so a client on X whose NAT port was mapped to another
 * session (a reused NAT port, or a squatter who forged that source with
 * its own key) reaches the daemon again, which tries the preferred session
 * first. A displaced session that really owns the source gets it back on
 * its next datagram (one slow-path trial).
 */
#include "daemon.h"
#include "muxprefer.h"

#define DISPLACE_BATCH 64

static void displace(struct mh_daemon *d, const struct mh_displaced *x,
		     const struct mh_session *pref)
{
	struct mh_session *s = x->s;
	char cl[MH_ADDRSTRLEN];

	mh_kernel_elem(d, MH_NFT_PINHOLE, MH_NFT_DEL, &x->client, s->port,
		       MH_KERNEL_SYNC);
	mh_kernel_elem(d, MH_NFT_MUX, MH_NFT_DEL, &x->client, s->port,
		       MH_KERNEL_SYNC);
	mh_pinhole_forget(s, &x->client);
	mh_ct_cut(d, NULL, s->port, &x->client, 0);
	if (!mh_audit_allow(d, s->uid, MH_NOISY_PINHOLE))
		return;
	log_info("session %u port %u: mapping of %s displaced by session %u "
		 "port %u, whose SSH login came from that host", s->id, s->port,
		 mh_addr_str(&x->client, cl, sizeof(cl)), pref->id, pref->port);
	mh_audit_pinhole(d, s, "pinhole_removed", &x->client, "displaced");
}

void mh_mux_prefer(struct mh_daemon *d, const struct mh_session *pref)
{
	static struct mh_prefer_limit limit;
	struct mh_displaced x[DISPLACE_BATCH];
	unsigned n, i, rounds = 0;

	if (!d->pol.public_port || !pref || !pref->ssh_addr.family)
		return;
	if (!mh_prefer_allow(&limit, pref->uid, mh_now_ms())) {
		log_debug("session %u port %u: uid %u displaced mappings less than "
			  "%u ms ago; none displaced now", pref->id, pref->port,
			  (unsigned)pref->uid, MH_PREFER_EVERY_MS);
		return;
	}
	do {
		n = mh_mux_displaced(&d->sessions, pref, x, DISPLACE_BATCH);
		for (i = 0; i < n && i < DISPLACE_BATCH; i++)
			displace(d, &x[i], pref);
	} while (n > DISPLACE_BATCH && ++rounds < 1024);
	if (n)
		mh_state_dirty(d);
}
