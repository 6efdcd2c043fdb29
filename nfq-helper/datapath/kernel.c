/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's side of its nftables table: installs it at start (probing
 * for the native queue expression, the owner/persist table flags and the
 * form of a map lookup; adopting the table of an earlier daemon whose
 * sessions resume, or a --guard's, claiming it if orphaned), rebuilds it
 * in place on SIGHUP, leaves it at every stop (only --uninstall removes
 * it), adds and deletes session ports, pinholes and mappings. Every batch
 * goes through the one socket d->nft: an owned table takes no other.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/common.h>

#include "daemon.h"
#include "expireprobe.h"

#define BATCH_LEN 65536

struct batch {
	char buf[BATCH_LEN];
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
};

static void batch_start(struct batch *bt)
{
	bt->b = mnl_nlmsg_batch_start(bt->buf, sizeof(bt->buf) / 2);  /* libmnl: half */
	bt->seq = (uint32_t)mh_now_ms();
	mh_nft_batch_begin(bt->b, &bt->seq);
}

static int batch_send(struct mh_daemon *d, struct batch *bt, int err, bool sync)
{
	if (!err) {
		mh_nft_batch_end(bt->b, &bt->seq);
		err = sync ? mh_nft_send_sync(d->nft, bt->b)
			   : mh_nft_send_async(d->nft, bt->b);
	}
	mnl_nlmsg_batch_stop(bt->b);
	if (err)
		d->stats.nft_errors++;
	return err;
}

/* Room for every pinhole the quotas allow, twice over (evicted pinholes
 * are deleted asynchronously, or expired in place and freed by the set's
 * garbage collection), and never less than nft's usual 65535. */
static uint32_t pinhole_set_size(const struct mh_config *c)
{
	uint64_t n = 2ull * c->max_sessions * c->max_pinholes_per_session;

	return n < MH_NFT_DEFAULT_SET_SIZE ? MH_NFT_DEFAULT_SET_SIZE :
	       n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static void table_params(struct mh_daemon *d, bool adopt,
			 struct mh_ruleset_params *p)
{
	*p = (struct mh_ruleset_params){
		.table = d->cfg.table,
		.port_low = d->cfg.port_low,
		.port_high = d->cfg.port_high,
		.idle_timeout_ms = d->cfg.idle_timeout * 1000,
		.queue_num = d->cfg.queue_num,
		.queue_total = 1,
		.slow_path_rate = d->cfg.slow_path_rate,
		.per_source_rate = d->cfg.slow_path_rate_per_source,
		.local_flows = d->cfg.local_flows,
		.per_session_rate = d->cfg.slow_path_rate_per_session,
		.set_size = pinhole_set_size(&d->cfg),
		.native_queue = d->native_queue,
		.public_port = d->pol.public_port,
		.provisional_timeout_ms = d->cfg.candidate_lifetime * 1000,
		.adopt = adopt,
		.table_flags = d->table_flags,
		.accept_mark = d->cfg.accept_mark,
		.map_lookup_dreg = d->map_lookup_dreg,
		.pinhole_seen = d->timeout_update,
	};
	if (d->cfg.role == MH_ROLE_RELAY) {
		p->relay_gateways = d->relay_guard;
		p->n_relay_gateways = d->n_relay_guard;
		p->relay_uid = d->relay_uid;
	}
	if (d->cfg.role == MH_ROLE_GATEWAY) {   /* not in its table (yet) */
		p->local_flows = false;
		p->reverse_path = true;   /* keyed or keyless: nft/gateway.c rule_rpf */
	}
}

/* One transaction: [the old table deleted,] the table, [its elements]. A
 * batch with elements gets a buffer of its own, sized for them. */
int mh_kernel_install(struct mh_daemon *d, bool adopt, bool replace,
		      const struct mh_nft_elems *e)
{
	size_t limit = e ? mh_nft_restore_size(e) : BATCH_LEN / 2;
	char *buf = e ? malloc(2 * limit) : NULL;
	struct mh_ruleset_params p;
	struct batch *bt = malloc(sizeof(*bt));
	int err = 0;

	if (!bt || (e && !buf)) {
		free(buf);
		free(bt);
		return -ENOMEM;
	}
	d->table_gen++;   /* a read-back under way listed the old one */
	table_params(d, adopt, &p);
	bt->b = mnl_nlmsg_batch_start(buf ? buf : bt->buf, limit);
	bt->seq = (uint32_t)mh_now_ms();
	mh_nft_batch_begin(bt->b, &bt->seq);
	if (replace)
		err = mh_nft_build_table_delete(bt->b, &bt->seq, d->cfg.table);
	if (!err)
		err = d->cfg.role == MH_ROLE_GATEWAY ?
		      mh_nft_build_gw_ruleset(bt->b, &bt->seq, &p) :
		      mh_nft_build_ruleset(bt->b, &bt->seq, &p);
	if (!err && e)
		err = mh_nft_build_elems(bt->b, &bt->seq, d->cfg.table, e);
	err = batch_send(d, bt, err, true);
	free(buf);
	free(bt);
	return err;
}

static int build_table(struct mh_daemon *d, bool adopt)
{
	return mh_kernel_install(d, adopt, false, NULL);
}

/* Owner and persist where the kernel has both and the configuration
 * allows; else none (never owner alone: the kernel would delete the
 * table with the daemon's socket, and the range would fall open). */
static uint32_t choose_flags(struct mh_daemon *d)
{
	uint32_t have = mh_nft_probe_table_flags(d->nft);

	if (d->cfg.table_flags == MH_TABLE_FLAGS_NONE) {
		log_info("table flags: none (table_flags = \"none\"): the table is "
			 "rebuilt as soon as another program deletes or flushes it");
		return 0;
	}
	if (have == MH_TABLE_F_OWNED) {
		log_info("table flags: owner, persist (no other program can change "
			 "or remove the table; it outlives the daemon)");
		return MH_TABLE_F_OWNED;
	}
	log_warn("table flags: none, this kernel has %s: the table is rebuilt "
		 "as soon as another program deletes or flushes it; until then "
		 "only an admin policy that wants accept_mark keeps the range closed",
		 have ? "owned tables but not persistent ones (Linux 6.9 has them)"
		      : "neither owned nor persistent tables");
	return 0;
}

static void log_pinhole_modes(const struct mh_daemon *d)
{
	if (d->cfg.role != MH_ROLE_GATEWAY)
		log_info("evicted pinholes: %s", d->timeout_update ?
			 "expired in place (a timeout update: no RCU grace "
			 "period on the next datagram's path)" :
			 "deleted (this kernel does not update an element's "
			 "timeout)");
	log_info("pinhole idle timeout: %s", d->timeout_update ?
		 "re-armed by mosh-helperd's read-back from seen4/seen6 (no rule "
		 "adds a pinhole: a deleted pinhole stays deleted)" :
		 "refreshed by the rules on every inbound datagram (this kernel "
		 "does not update an element's timeout)");
}

/* An existing table: -EBUSY if a live socket owns it; *replace if its
 * persist flag differs from ours (the kernel changes it in no update, so
 * the table is deleted and made again in the same transaction). An orphan
 * (persist, no owner) is claimed by the batch itself. */
static int inspect_table(struct mh_daemon *d, bool *exists, bool *replace)
{
	uint32_t flags = 0, owner = 0;
	int r = mh_nft_table_flags(d->nft, d->cfg.table, &flags, &owner);

	*exists = r == 0;
	*replace = false;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (flags & MH_TABLE_F_OWNER) {
		log_err("table inet %s is owned by another process (netlink port "
			"%u): is another mosh-helperd running?", d->cfg.table, owner);
		return -EBUSY;
	}
	*replace = (flags & MH_TABLE_F_PERSIST) != (d->table_flags & MH_TABLE_F_PERSIST);
	if (*replace)
		log_warn("table inet %s has flags 0x%x, not 0x%x: replaced in one "
			 "transaction (datagrams may pass while its hooks are "
			 "re-registered: once)", d->cfg.table, flags, d->table_flags);
	return 0;
}

/* The existing table replaced by one with our flags, keeping its session
 * ports and pinholes when they are to be adopted. */
static int replace_table(struct mh_daemon *d, bool adopt)
{
	struct mh_nft_elems e = { 0 };
	int err = adopt ? mh_elems_dump(d, &e) : 0;

	if (err < 0) {
		log_warn("reading table inet %s: %s", d->cfg.table, strerror(-err));
		return err;
	}
	err = mh_kernel_install(d, false, true, adopt ? &e : NULL);
	mh_elems_free(&e);
	return err;
}

static int install_first(struct mh_daemon *d, bool replace)
{
	int err = replace ? replace_table(d, d->adopt) : build_table(d, d->adopt);

	if (err && d->adopt) {
		log_warn("adopting table inet %s: %s; rebuilding it empty, sessions "
			 "in it are dropped", d->cfg.table, strerror(-err));
		d->adopt = false;
		err = replace ? replace_table(d, false) : build_table(d, false);
	}
	return err;
}

/* A table with no session (a --guard's) is taken over as it is meant to
 * be; one with sessions but no state to resume them loses them. */
static void log_not_adopted(struct mh_daemon *d)
{
	if (d->cfg.role == MH_ROLE_GATEWAY)
		log_info("table inet %s exists: rebuilt empty (the relays' resyncs "
			 "bring the sessions back)", d->cfg.table);
	else if (mh_nft_dump_session_ports(d->nft, d->cfg.table, NULL, NULL) > 0)
		log_warn("table inet %s exists but no saved state fits it: rebuilt "
			 "empty, sessions in it are dropped", d->cfg.table);
	else
		log_info("table inet %s exists, with no session: taken over (the "
			 "range stayed closed)", d->cfg.table);
}

/* A table left by an earlier daemon is adopted when that daemon's state
 * was read too (may_adopt: resume.c resumes its sessions); else it is
 * rebuilt empty. */
int mh_kernel_setup(struct mh_daemon *d, bool may_adopt)
{
	bool exists, replace;
	int err;

	d->nft = mh_nft_open();
	if (!d->nft)
		return -errno;
	d->native_queue = mh_nft_probe_native_queue(d->nft);
	log_info("queue rule: %s", d->native_queue ? "native nft queue expression"
				   : "xt NFQUEUE target through nft compat");
	d->table_flags = choose_flags(d);
	d->map_lookup_dreg = !mh_nft_probe_map_lookup(d->nft);
	mh_kernel_probe_pinholes(d);
	log_pinhole_modes(d);
	if (d->map_lookup_dreg)
		log_info("map lookups: this kernel refuses a lookup in a map that "
			 "loads no value (Linux before 6.5): single-port mode's "
			 "mapping rules load it and compare it with 0");
	if ((err = inspect_table(d, &exists, &replace)) < 0)
		return err;
	/* a gateway adopts its elements only in place (gwcore.c reads them) */
	d->adopt = exists && may_adopt &&
		   !(replace && d->cfg.role == MH_ROLE_GATEWAY);
	if (exists && !d->adopt)
		log_not_adopted(d);
	if ((err = install_first(d, replace)) < 0)
		return err;
	if (d->adopt)
		log_info("table inet %s adopted: session ports, pinholes and "
			 "mappings kept", d->cfg.table);
	return mh_epoll_add(d, mh_nft_fd(d->nft), EV_TAG(EV_NFT, 0));
}

int mh_kernel_reload(struct mh_daemon *d)
{
	return build_table(d, true);
}

/* Every stop of the daemon keeps (d->keep) and leaves the table as it is;
 * only --uninstall (uninstall.c) has it removed. */
void mh_kernel_teardown(struct mh_daemon *d)
{
	struct batch bt;
	int err;

	if (!d->nft)
		return;
	if (d->keep) {
		mh_nft_close(d->nft);
		d->nft = NULL;
		return;
	}
	batch_start(&bt);
	err = batch_send(d, &bt, mh_nft_build_table_delete(bt.b, &bt.seq,
							  d->cfg.table), true);
	if (err)
		log_warn("removing table inet %s: %s", d->cfg.table, strerror(-err));
	mh_nft_close(d->nft);
	d->nft = NULL;
}

/* How the log names an element of each kind. */
static const char *const kind_names[] = {
	[MH_NFT_PORT] = "session port",
	[MH_NFT_PINHOLE] = "pinhole to port",
	[MH_NFT_MUX] = "confirmed mapping to port",
	[MH_NFT_MUXP] = "provisional mapping to port",
};

/* A pinhole deleted or expired: its key in seen4/6 goes in the same batch
 * (nft.h, mh_nft_build_seen_destroy). */
static int seen_destroy(struct mh_daemon *d, struct batch *bt,
			const struct mh_addr *client, uint16_t server_port)
{
	struct mh_pinhole ph = mh_pinhole_of(client, server_port);

	return mh_nft_build_seen_destroy(bt->b, &bt->seq, d->cfg.table, &ph);
}

/* One rule for every kind: deleting an element that is not there (expired,
 * or never added) is done, and not worth a line in the log. */
int mh_kernel_elem(struct mh_daemon *d, enum mh_nft_kind kind,
		   enum mh_nft_op op, const struct mh_addr *client,
		   uint16_t server_port, enum mh_kernel_wait wait)
{
	uint32_t timeout_ms = kind == MH_NFT_PINHOLE && op != MH_NFT_DEL ?
			      d->cfg.idle_timeout * 1000 : 0;
	struct batch bt;
	int err;

	d->elem_ops += kind == MH_NFT_PINHOLE;

	batch_start(&bt);
	err = mh_nft_build_elem(bt.b, &bt.seq, d->cfg.table, kind, op, client,
				server_port, timeout_ms);
	if (!err && kind == MH_NFT_PINHOLE && op != MH_NFT_ADD && d->timeout_update)
		err = seen_destroy(d, &bt, client, server_port);
	err = batch_send(d, &bt, err, wait == MH_KERNEL_SYNC);
	if (err == -ENOENT && op == MH_NFT_DEL)
		return 0;
	if (err)
		log_warn("%s %s %u: %s", op == MH_NFT_ADD ? "adding" :
			 op == MH_NFT_EXPIRE ? "expiring" : "removing",
			 kind_names[kind], server_port, strerror(-err));
	return err;
}

/* ---- the pinhole probe ------------------------------------------------------
 * Asked before the daemon's table is built, since its answer shapes it: in
 * a scratch table (MH_NFT_PROBE_TABLE, owned by the daemon's socket where
 * the kernel has owned tables, so a crash cannot leave it behind) holding
 * one pinhole set of the daemon's definition and no chain. */

/* The probe's pinhole: 0.0.0.0 port 0 to port 0, which no datagram has. */
static const struct mh_addr probe_client = { .family = AF_INET };

struct probe_find { uint64_t left_ms; bool found; };

static void probe_seen(const struct mh_pinhole *ph, uint64_t exp, void *arg)
{
	struct probe_find *f = arg;

	if (ph->family == AF_INET && !ph->client_port && !ph->server_port &&
	    !memcmp(ph->addr, "\0\0\0\0", 4)) {
		f->found = true;
		f->left_ms = exp;
	}
}

static int probe_elem(struct mh_daemon *d, enum mh_nft_op op)
{
	struct batch bt;

	batch_start(&bt);
	return batch_send(d, &bt, mh_nft_build_elem(bt.b, &bt.seq,
			  MH_NFT_PROBE_TABLE, MH_NFT_PINHOLE, op, &probe_client,
			  0, op == MH_NFT_DEL ? 0 : d->cfg.idle_timeout * 1000), true);
}

/* The kernel side of the probe (include/expireprobe.h decides). */
static int probe_add(void *arg)
{
	return probe_elem(arg, MH_NFT_ADD);
}

static int probe_expire(void *arg)
{
	return probe_elem(arg, MH_NFT_EXPIRE);
}

static int probe_find(void *arg, bool *found, uint64_t *left_ms)
{
	struct mh_daemon *d = arg;
	struct probe_find f = { 0, false };
	int n = mh_nft_dump_pinholes(d->nft, MH_NFT_PROBE_TABLE, AF_INET,
				     probe_seen, &f);

	*found = f.found;
	*left_ms = f.left_ms;
	return n;
}

static int probe_destroy(void *arg)
{
	static const struct mh_pinhole ph = { .family = AF_INET };
	struct batch bt;

	batch_start(&bt);
	return batch_send(arg, &bt, mh_nft_build_pinhole_destroy(bt.b, &bt.seq,
			  MH_NFT_PROBE_TABLE, &ph), true);
}

static void probe_del(void *arg)
{
	probe_elem(arg, MH_NFT_DEL);
}

/* The scratch table with its pinhole set; 0 or -errno. */
static int scratch_make(struct mh_daemon *d)
{
	struct mh_ruleset_params p;
	struct batch bt;

	table_params(d, false, &p);
	batch_start(&bt);
	return batch_send(d, &bt, mh_nft_build_pinhole_probe(bt.b, &bt.seq, &p,
			  d->table_flags & MH_TABLE_F_OWNER), true);
}

static void scratch_drop(struct mh_daemon *d)
{
	struct batch bt;

	batch_start(&bt);
	batch_send(d, &bt, mh_nft_build_table_delete(bt.b, &bt.seq,
		   MH_NFT_PROBE_TABLE), true);
}

/* Evicted pinholes: expired in place (MH_NFT_EXPIRE) where the kernel
 * updates an element's timeout and takes destroys, else deleted. The idle
 * refresh: re-armed by the read-back (the same kind of update) from
 * seen4/6 there too, else by the rules' `update`. A scratch
 * table left by a probe that died is deleted and the probe made again. */
void mh_kernel_probe_pinholes(struct mh_daemon *d)
{
	static const struct mh_expire_probe_ops ops = {
		probe_add, probe_expire, probe_find, probe_destroy, probe_del,
	};
	int err = scratch_make(d);

	if (err < 0) {
		scratch_drop(d);
		err = scratch_make(d);
	}
	d->timeout_update = err == 0 && mh_expire_probe(&ops, d);
	if (err == 0)
		scratch_drop(d);
	else
		log_warn("probing pinhole sets (scratch table inet %s): %s; "
			 "evictions delete, the rules refresh", MH_NFT_PROBE_TABLE,
			 strerror(-err));
}

int mh_kernel_pinhole(struct mh_daemon *d, const struct mh_addr *client,
		      uint16_t server_port, bool add, bool sync)
{
	return mh_kernel_elem(d, MH_NFT_PINHOLE, add ? MH_NFT_ADD : MH_NFT_DEL,
			      client, server_port,
			      sync ? MH_KERNEL_SYNC : MH_KERNEL_ASYNC);
}

int mh_kernel_mux(struct mh_daemon *d, const struct mh_addr *client,
		  uint16_t server_port, bool confirmed, bool add, bool sync)
{
	return mh_kernel_elem(d, confirmed ? MH_NFT_MUX : MH_NFT_MUXP,
			      add ? MH_NFT_ADD : MH_NFT_DEL, client, server_port,
			      sync ? MH_KERNEL_SYNC : MH_KERNEL_ASYNC);
}

int mh_kernel_gw_elem(struct mh_daemon *d, enum mh_gw_kind kind,
		      enum mh_nft_op op, const struct mh_addr *client,
		      const struct mh_addr *server, enum mh_kernel_wait wait)
{
	uint32_t timeout_ms = kind == MH_GW_PINHOLE && op == MH_NFT_ADD ?
			      d->cfg.idle_timeout * 1000 : 0;
	char sv[MH_ADDRSTRLEN];
	struct batch bt;
	int err;

	d->elem_ops += kind == MH_GW_PINHOLE;

	batch_start(&bt);
	err = mh_nft_build_gw_elem(bt.b, &bt.seq, d->cfg.table, kind, op, client,
				   server, timeout_ms);
	if (!err && kind == MH_GW_PINHOLE && op == MH_NFT_DEL && d->timeout_update)
		err = mh_nft_build_gw_seen_destroy(bt.b, &bt.seq, d->cfg.table,
						   client, server);
	err = batch_send(d, &bt, err, wait == MH_KERNEL_SYNC);
	if (err == -ENOENT && op == MH_NFT_DEL)
		return 0;
	if (err)
		log_warn("%s %s %s: %s", op == MH_NFT_ADD ? "adding" : "removing",
			 kind == MH_GW_SESSION ? "session" : "pinhole to",
			 mh_addr_str(server, sv, sizeof(sv)), strerror(-err));
	return err;
}

int mh_kernel_gw_mux(struct mh_daemon *d, const struct mh_addr *client,
		     const struct mh_addr *server, bool confirmed, bool add,
		     enum mh_kernel_wait wait)
{
	char cl[MH_ADDRSTRLEN];
	struct batch bt;
	int err;

	batch_start(&bt);
	err = batch_send(d, &bt, mh_nft_build_gw_mux(bt.b, &bt.seq, d->cfg.table,
			 client, server, confirmed, add), wait == MH_KERNEL_SYNC);
	if (err == -ENOENT && !add)
		return 0;
	if (err)
		log_warn("%s %s mapping of %s: %s", add ? "adding" : "removing",
			 confirmed ? "confirmed" : "provisional",
			 mh_addr_str(client, cl, sizeof(cl)), strerror(-err));
	return err;
}

void mh_gw_mux_confirm(struct mh_daemon *d, const struct mh_addr *client,
		       const struct mh_addr *server)
{
	/* (the provisional one went after the verdicts: handle_mux, queue.c) */
	mh_kernel_gw_mux(d, client, server, true, true, MH_KERNEL_ASYNC);
}

void mh_gw_mux_gone(struct mh_daemon *d, const struct mh_addr *client,
		    const struct mh_addr *server)
{
	char cl[MH_ADDRSTRLEN];

	mh_kernel_gw_mux(d, client, server, true, false, MH_KERNEL_SYNC);
	if (mh_ct_cut(d, server, server->port, client, 0) > 0)
		log_info("port %u: conntrack flow of %s through the public port "
			 "deleted", server->port, mh_addr_str(client, cl, sizeof(cl)));
}

/* A batch sized for n elements (one: < 128 bytes), in a buffer of its own:
 * the kernel applies it whole or not at all. */
struct big_batch {
	char *buf;
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
};

static int big_start(struct big_batch *g, unsigned n)
{
	size_t limit = 1024 + (size_t)n * 256;

	g->buf = malloc(2 * limit);
	if (!g->buf)
		return -ENOMEM;
	g->b = mnl_nlmsg_batch_start(g->buf, limit);
	g->seq = (uint32_t)mh_now_ms();
	mh_nft_batch_begin(g->b, &g->seq);
	return 0;
}

/* Sends it unless err; -errno of the first message refused, or err. */
static int big_send(struct mh_daemon *d, struct big_batch *g, int err)
{
	if (!err) {
		mh_nft_batch_end(g->b, &g->seq);
		err = mh_nft_send_sync(d->nft, g->b);
	}
	mnl_nlmsg_batch_stop(g->b);
	free(g->buf);
	if (err)
		d->stats.nft_errors++;
	return err;
}

/*
 * The session elements of n servers added in one transaction (a relay's
 * resync brings thousands). On an error none of the n is in the set, and
 * the caller learns it from the return (-errno of the first message
 * refused).
 */
int mh_kernel_gw_sessions_add(struct mh_daemon *d, const struct mh_addr *servers,
			      unsigned n)
{
	struct big_batch g;
	int err = big_start(&g, n);

	if (err)
		return err;
	for (unsigned i = 0; i < n && !err; i++)
		err = mh_nft_build_gw_elem(g.b, &g.seq, d->cfg.table, MH_GW_SESSION,
					   MH_NFT_ADD, NULL, &servers[i], 0);
	return big_send(d, &g, err);
}

/* The re-arms noted by this read-back, sent a batch at a time (a
 * growing list, kept): by key, not by record, since the session table
 * may change between batches. */
static struct {
	struct rearm {
		struct mh_addr client, server;
		uint64_t until_ms;
		uint64_t added_ms;   /* the record's, as listed */
	} *v;
	unsigned n, cap;
	unsigned next, failed;   /* the next batch; re-arms refused */
	int err;                 /* the last refusal */
} rearms;

static void rearm_note(const struct mh_addr *client,
		       const struct mh_addr *server, uint64_t until_ms,
		       uint64_t added_ms)
{
	if (rearms.n == rearms.cap) {
		unsigned cap = rearms.cap ? rearms.cap * 2 : 64;
		struct rearm *v = realloc(rearms.v, cap * sizeof(*v));

		if (!v)
			return;
		rearms.v = v;
		rearms.cap = cap;
	}
	rearms.v[rearms.n++] = (struct rearm){ *client, *server, until_ms, added_ms };
}

void mh_kernel_rearm_seen(struct mh_daemon *d, struct mh_pinhole_rec *r,
			  const struct mh_addr *client,
			  const struct mh_addr *server, uint64_t seen_left)
{
	uint64_t idle = (uint64_t)d->cfg.idle_timeout * 1000;
	uint64_t seen = mh_nft_seen_timeout((uint32_t)idle);
	uint64_t now = mh_now_ms();   /* (a dump of many keys takes a while) */
	uint64_t left;

	if (!r || r->seen_gen != d->sync_gen)
		return;
	left = mh_pinhole_rearm_left(r, now, idle,
				     seen - (seen_left < seen ? seen_left : seen));
	if (left)
		rearm_note(client, server, now + left, r->added_ms);
}

/* The record a re-arm is for, if it still stands: there, listed by this
 * read-back, and not added again since (a record made since is not known
 * to be in the kernel, and a re-arm would create a deleted element again;
 * one added again has an element with its own, fresh expiry). */
static struct mh_pinhole_rec *rearm_rec(struct mh_daemon *d, mh_rec_find find,
					const struct rearm *r)
{
	struct mh_pinhole_rec *rec = find(d, &r->client, &r->server);

	return rec && rec->seen_gen == d->sync_gen &&
	       rec->added_ms == r->added_ms ? rec : NULL;
}

/* One re-arm's message, its time left taken now: 1, or 0 if until_ms is
 * past (the element's own expiry, no later, ends it then), or -errno. */
static int rearm_one(struct mh_daemon *d, struct big_batch *g,
		     const struct rearm *r, uint32_t idle_ms)
{
	uint64_t now = mh_now_ms();
	struct mh_pinhole ph = mh_pinhole_of(&r->client, r->server.port);
	uint32_t left;
	int err;

	if (r->until_ms <= now)
		return 0;
	left = r->until_ms - now > idle_ms ? idle_ms : (uint32_t)(r->until_ms - now);
	err = d->gw ? mh_nft_build_gw_rearm(g->b, &g->seq, d->cfg.table,
					    &r->client, &r->server, idle_ms, left)
		    : mh_nft_build_pinhole_rearm(g->b, &g->seq, d->cfg.table, &ph,
						 idle_ms, left);
	return err < 0 ? err : 1;
}

/* Re-arms go in batches of this many: each message is acknowledged, and
 * a batch the kernel refuses (one element it could not take) costs only
 * its own. The event loop serves other work between two batches. */
#define REARM_BATCH 512

/* Re-arms [from, to) in one batch, those whose records stand; their
 * records learn the new expiry once it is in. The count sent, or -errno. */
static int rearm_batch(struct mh_daemon *d, mh_rec_find find, unsigned from,
		       unsigned to, uint32_t idle_ms)
{
	struct mh_pinhole_rec *rec;
	struct big_batch g;
	int err = big_start(&g, to - from), sent = 0;

	if (err)
		return err;
	for (unsigned i = from; i < to && err >= 0; i++) {
		if (!rearm_rec(d, find, &rearms.v[i])) {
			rearms.v[i].until_ms = 0;   /* skipped */
			continue;
		}
		err = rearm_one(d, &g, &rearms.v[i], idle_ms);
		sent += err > 0;
	}
	if (!sent && err >= 0) {   /* nothing to send */
		mnl_nlmsg_batch_stop(g.b);
		free(g.buf);
		return 0;
	}
	if ((err = big_send(d, &g, err < 0 ? err : 0)) < 0)
		return err;
	for (unsigned i = from; i < to; i++)
		if ((rec = rearm_rec(d, find, &rearms.v[i])) &&
		    rearms.v[i].until_ms > rec->alive_until_ms)
			rec->alive_until_ms = rearms.v[i].until_ms;
	return sent;
}

bool mh_kernel_rearm_step(struct mh_daemon *d, mh_rec_find find)
{
	uint32_t idle_ms = d->cfg.idle_timeout * 1000;
	unsigned i = rearms.next, n = rearms.n;
	unsigned to = n - i > REARM_BATCH ? i + REARM_BATCH : n;
	int r;

	if (i < n) {
		r = rearm_batch(d, find, i, to, idle_ms);
		if (r < 0) {
			rearms.failed += to - i;
			rearms.err = r;
		} else {
			d->stats.pinholes_rearmed += (unsigned)r;
		}
		rearms.next = to;
	}
	if (rearms.next < n)
		return true;
	if (rearms.failed)
		log_warn("re-arming %u of %u pinhole(s): %s (they idle out; their "
			 "clients' next datagrams reopen them)", rearms.failed, n,
			 strerror(-rearms.err));
	mh_kernel_rearm_drop();
	return false;
}

void mh_kernel_rearm_drop(void)
{
	rearms.n = rearms.next = rearms.failed = 0;
	rearms.err = 0;
}
