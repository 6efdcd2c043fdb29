/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperd's state and the functions its I/O files share. One event
 * loop (loop.c) drives the queue (queue.c), the control socket
 * (control.c, owner.c), the kernel table (kernel.c) and the timers.
 * Sessions are opened and ended in lifecycle.c (lifecycle.h); the queue,
 * the control socket and the restart state keep their state opaque.
 * Shared by the daemon's rooms: intake/ (control socket, owner checks,
 * relay), lifecycle/ (open/end, state, resume, reconcile), datapath/
 * (queue, kernel sets, conntrack, table watch) and process/ (main, loop,
 * hardening, keeper, audit); arrows run intake -> lifecycle -> datapath.
 */
#ifndef MH_DAEMON_H
#define MH_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "announce.h"
#include "config.h"
#include "ctlproto.h"
#include "log.h"
#include "nft.h"
#include "nft_gw.h"
#include "proc.h"
#include "session.h"
#include "statnames.h"
#include "verdict.h"

#define MH_MAX_CONNS       64     /* control connections open at once */
#define MH_TICK_MS         500

/* epoll tags: the kind in the high half, an index or port in the low half */
enum mh_ev { EV_SIGNAL = 1, EV_TIMER, EV_QUEUE, EV_NFT, EV_CTL_LISTEN,
	     EV_CTL_CONN, EV_PIDFD, EV_NFT_WATCH, EV_KEEPER, EV_GWL, EV_RELAY,
	     EV_RELAY_TIMER };
#define EV_TAG(kind, n) ((uint64_t)(kind) << 32 | (uint32_t)(n))

struct mh_stats {
	uint64_t verdicts[MH_R_COUNT];
	uint64_t announce_ok, announce_refused;
	uint64_t pinholes_opened, pinholes_expired, sessions_ended;
	uint64_t nft_errors;
	uint64_t pinholes_rearmed;   /* by the read-back (seen4/6) */
	uint64_t readbacks, readback_ms, readback_max_ms;   /* done; the last's, the longest */
	uint64_t readback_busy_ms;   /* the last's slices alone */
};

struct mh_gw_table;
struct mh_readback_role;

/* The read-back under way (readback.c), run a slice a loop round. */
struct mh_readback_run {
	const struct mh_readback_role *role;   /* NULL: none under way */
	uint8_t phase, fam;      /* the step; the family listed (0, 1) */
	bool walking;            /* a listing of that family is open */
	int err, seen_err;       /* the pinholes' and seen4/6's first failure */
	uint64_t start_ms;
	uint64_t busy_us;        /* in its slices so far */
	uint32_t table_gen;      /* d->table_gen at its start */
	uint64_t elem_ops;       /* d->elem_ops at its start */
	bool disturbed;          /* pinholes added or deleted while listed */
};

struct mh_daemon {
	struct mh_config cfg;
	struct mh_policy pol;
	struct mh_table sessions;
	struct mh_nft *nft;          /* every batch on the table: an owned table takes no other */
	struct mh_nft_watch *watch;  /* nftables events: the table deleted or flushed (tablewatch.c) */
	uint32_t table_flags;        /* 0 or MH_TABLE_F_OWNED, as installed */
	struct mh_queue_rt *q;       /* NFQUEUE and the verdicts of a wake-up (queue.c) */
	struct mnl_socket *diag;
	struct mnl_socket *rtnl;     /* the host's addresses (localaddr.c) */
	int epfd, sigfd, timerfd;
	struct mh_control_rt *ctl;   /* the control socket and its connections (control.c) */
	bool native_queue;
	bool map_lookup_dreg;        /* mh_ruleset_params: the kernel wants it (probed) */
	bool timeout_update;         /* the kernel updates a pinhole's timeout in
				      * place (probed): evicted pinholes expire
				      * in place, and the read-back re-arms
				      * pinholes from seen4/6, which the rules
				      * note instead of refreshing (nft.h,
				      * pinhole_seen) */
	bool running;
	uint32_t sync_gen;           /* the read-back that listed a record */
	uint32_t table_gen;          /* tables installed (mh_kernel_install) */
	uint64_t elem_ops;           /* pinhole adds and deletes sent */
	uint64_t next_sync_ms;
	struct mh_readback_run rb;
	struct mh_stats stats;
	struct mh_ratelimit drop_log;
	struct mh_audit *audit;      /* audit trail (audit.c); NULL before it opens */
	/* restart without losing sessions (state.c) and SIGHUP (reload.c) */
	struct mh_state_rt *state;   /* NULL: sessions do not outlive the process */
	const char *config_path;     /* absolute: reread on SIGHUP */
	bool log_syslog;
	bool keep;                   /* this stop leaves table, state and keys */
	bool adopt;                  /* the table of an earlier daemon was adopted */
	/* single-port mode: ctnetlink, to cut flows of ended sessions (conntrack.c) */
	struct mnl_socket *ct;       /* NULL: not single-port, or not available */
	/* role = gateway: sessions by server address . port, relays
	 * (lib/gwtable.c; opened and ended in lifecycle/gwcore.c) */
	struct mh_gw_table *gw;      /* NULL: not a gateway */
	/* role = gateway: the relay listener's socketpair (gwsep.c) */
	struct mh_gwl_rt *gwl;
	/* role relay: the gateways (relay.c, relay.h); NULL in other roles */
	struct mh_relay_rt *relay;
	/* role relay: the gateways' listeners only this daemon's uid (and
	 * root) may reach from this host (mh_ruleset_params) */
	struct mh_nft_endpoint relay_guard[MH_GATEWAYS_MAX];
	unsigned n_relay_guard;
	uint32_t relay_uid;
	/* called by mh_life_end for each session end that releases it (set by
	 * relay.c: the gateways hear of it); NULL: nobody listens */
	void (*on_session_end)(struct mh_daemon *d, const struct mh_session *s,
			       enum mh_end why);
};

int mh_loop_open(struct mh_daemon *d);
int mh_loop_run(struct mh_daemon *d);

/* epoll.c */
int mh_epoll_add(struct mh_daemon *d, int fd, uint64_t tag);
/* out of the set before a close: a copy of fd held elsewhere would keep
 * its registration */
void mh_epoll_del(struct mh_daemon *d, int fd);

/* queue.c */
int mh_queue_open(struct mh_daemon *d);
void mh_queue_close(struct mh_daemon *d);
void mh_queue_input(struct mh_daemon *d);

/* control.c */
int mh_control_open(struct mh_daemon *d);
void mh_control_close(struct mh_daemon *d);
void mh_control_accept(struct mh_daemon *d);
void mh_control_conn_input(struct mh_daemon *d, unsigned idx);
void mh_control_expire(struct mh_daemon *d, uint64_t now_ms);

/* admin.c: mosh-helperctl's requests (list, stats, kill, reload), each
 * answered on fd; cr is the caller (SO_PEERCRED). */
bool mh_admin_is_request(uint8_t type);
void mh_admin_request(struct mh_daemon *d, int fd, const struct ucred *cr,
		      const struct mhc_msg *m);

/* owner.c: is port bound by a UDP socket of the peer's uid, and pid a
 * process of that uid at or below the peer (the announcing process)?
 * The uid's sockets go to proof. 0, or why and -EACCES (another's port or
 * not bound), -EPERM (the pid), -EAGAIN (the uid's crowded_port_lookups
 * budget is spent), -EIO. */
struct mh_proof {               /* what the announcement checks established */
	uid_t uid;
	struct mh_bound bound[MH_MAX_BOUND];
	struct mh_sockid sock[MH_MAX_BOUND];   /* the socket bound[i] was read from */
	unsigned n_bound;
};
int mh_owner_check(struct mh_daemon *d, uint16_t port,
		   const struct ucred *peer, pid_t pid, struct mh_proof *proof,
		   char *why, size_t whylen);

/* sockdiag.c (datapath): the UDP sockets bound to ports, from sock_diag.
 * mh_sockdiag_scan: every one bound to a port in lo..hi (one dump per
 * family), each to fn. mh_sockdiag_port: uid's sockets on port into proof
 * (bound, sock, n_bound), the others counted in *c. 0 or -errno. */
int mh_sockdiag_open(struct mh_daemon *d);
typedef void (*mh_sock_fn)(void *arg, uint16_t port, uid_t uid,
			   const struct mh_sockid *id);
int mh_sockdiag_scan(struct mh_daemon *d, uint16_t lo, uint16_t hi,
		     mh_sock_fn fn, void *arg);
struct mh_port_other {           /* other uids' sockets that IPv4 (or
				    IPv6) datagrams from another host reach */
	unsigned n;
	uid_t uid;                   /* the first one's uid */
	int family;                  /* and address */
	uint8_t ip[16];
};
struct mh_port_census {          /* what a port's dump listed */
	unsigned total;              /* sockets, every uid's */
	unsigned foreign;            /* of other uids */
	struct mh_port_other reach[3];   /* [0] IPv4, [1] IPv6 (mh_ip_reach),
					    [2] IPv4 loopback */
};
int mh_sockdiag_port(struct mh_daemon *d, uint16_t port, uid_t uid,
		     struct mh_proof *proof, struct mh_port_census *c);
/* Whether socket id, bound to b and port, is still there: 1 yes, 0 no,
 * -errno if the kernel could not be asked. One lookup, no walk of the
 * port: what a crowd of other sockets on the port cannot hide (sockdiag.c
 * says why a dump can). */
int mh_sockdiag_one(struct mh_daemon *d, const struct mh_bound *b,
		    uint16_t port, const struct mh_sockid *id);
/* The uid of the socket a datagram to ip:port arriving on ifindex (0: any)
 * would reach into *uid: 1, 0 none, -errno. One lookup, as above. */
int mh_sockdiag_receiver(struct mh_daemon *d, int family, const uint8_t *ip,
			 uint16_t port, uint32_t ifindex, uid_t *uid);
void mh_sockdiag_close(struct mh_daemon *d);

/* localaddr.c (datapath): each of the host's IPv4 and IPv6 addresses, with
 * its interface, to fn (one rtnetlink dump). 0 or -errno. */
typedef void (*mh_local_addr_fn)(void *arg, int family, const uint8_t *ip,
				 uint32_t ifindex);
int mh_local_addrs(struct mh_daemon *d, mh_local_addr_fn fn, void *arg);
/* The index of each of the host's interfaces (VRFs and those without an
 * address too) into idx (NULL: none wanted); how many, or -errno
 * (-ENOBUFS: more than max). *localnet: whether an interface's own
 * route_localnet is on (datagrams from the wire to 127/8 arriving there
 * are delivered; lo's setting is not counted: what lo receives this host
 * sent; the "all" setting is not among them), true after an error. */
int mh_local_links(struct mh_daemon *d, uint32_t *idx, unsigned max,
		   bool *localnet);

/* kernel.c: the table and its elements; may_adopt: an earlier daemon's
 * state was read, so a table it left is adopted (d->adopt) */
int mh_kernel_setup(struct mh_daemon *d, bool may_adopt);
void mh_kernel_teardown(struct mh_daemon *d);

/* One-shot modes of mosh-helperd (guard.c, uninstall.c): exit statuses. */
int mh_guard(struct mh_daemon *d, const char *config_err);
int mh_uninstall(struct mh_daemon *d);
bool mh_guard_table_there(const struct mh_daemon *d);
/* kernel.c: add or delete one element of kind (client NULL for a session
 * port); deleting one that is not there is 0. 0 or -errno (logged). */
enum mh_kernel_wait { MH_KERNEL_ASYNC, MH_KERNEL_SYNC };
int mh_kernel_elem(struct mh_daemon *d, enum mh_nft_kind kind,
		   enum mh_nft_op op, const struct mh_addr *client,
		   uint16_t server_port, enum mh_kernel_wait wait);
/* Sets d->timeout_update: whether this kernel updates a pinhole's timeout
 * in place (MH_NFT_EXPIRE, nft.h; the read-back's re-arm) and takes
 * destroys (NFT_MSG_DESTROYSETELEM).
 * Asked in a scratch table, before the daemon's own is built. */
void mh_kernel_probe_pinholes(struct mh_daemon *d);
/* The read-back's re-arms (nft.h, mh_nft_build_pinhole_rearm and
 * mh_nft_build_gw_rearm): each pinhole (a host's: client, and the
 * session's port in server->port; a gateway's: client and server) to
 * expire the idle timeout after its last inbound datagram, noted while
 * the read-back lists seen4/6 and sent after that a batch a step, each
 * one's time left taken as it is built, so that a long read-back does not
 * stretch it; a record learns its element's new expiry once its batch is
 * in. A pinhole
 * that misses its re-arm (no memory, a refused batch: logged) idles out,
 * and its client's next datagram reopens it through the slow path.
 *
 * mh_kernel_rearm_seen: a key of seen4/6 with seen_left ms to go: its
 * pinhole (record r, NULL if none) passed an inbound datagram
 * mh_nft_seen_timeout - seen_left ago. Noted if this read-back listed r's
 * element and that datagram makes it last longer (mh_pinhole_rearm_left):
 * a re-arm creates an element that is gone, so only a listed one is
 * re-armed, and a key no record names (a pinhole deleted since, a stray's)
 * opens nothing and expires. */
void mh_kernel_rearm_seen(struct mh_daemon *d, struct mh_pinhole_rec *r,
			  const struct mh_addr *client,
			  const struct mh_addr *server, uint64_t seen_left);
/* The record of client's pinhole to server (a host's: server->port
 * only), or NULL: the read-back's roles (mh_readback_role). */
typedef struct mh_pinhole_rec *(*mh_rec_find)(struct mh_daemon *d,
					      const struct mh_addr *client,
					      const struct mh_addr *server);
/* mh_kernel_rearm_step: the next batch of the re-arms noted, each sent
 * only if find still gives a record this read-back listed (a session that
 * ended meanwhile has its pinholes stay deleted); true while more remain,
 * refusals logged after the last. mh_kernel_rearm_drop forgets them all
 * (a read-back abandoned). */
bool mh_kernel_rearm_step(struct mh_daemon *d, mh_rec_find find);
void mh_kernel_rearm_drop(void);
/* The older boolean forms of mh_kernel_elem, for call sites not yet moved. */
int mh_kernel_pinhole(struct mh_daemon *d, const struct mh_addr *client,
		      uint16_t server_port, bool add, bool sync);
/* single-port mode: a mapping client -> server_port, confirmed or provisional */
int mh_kernel_mux(struct mh_daemon *d, const struct mh_addr *client,
		  uint16_t server_port, bool confirmed, bool add, bool sync);

/* audit.c: the audit trail; each is a no-op when its file is off */
int mh_audit_open(struct mh_daemon *d);
void mh_audit_close(struct mh_daemon *d);
void mh_audit_simple(struct mh_daemon *d, const char *event, const char *k,
		     const char *v);
void mh_audit_announce(struct mh_daemon *d, uid_t uid,
		       const struct mhc_announce *a, uint8_t status,
		       const char *why, const struct mh_session *s);
void mh_audit_key(struct mh_daemon *d, const struct mh_session *s,
		  const char *key);
void mh_audit_pinhole(struct mh_daemon *d, const struct mh_session *s,
		      const char *event, const struct mh_addr *client,
		      const char *why);
void mh_audit_roam(struct mh_daemon *d, const struct mh_session *s,
		   const struct mh_addr *from, const struct mh_addr *to);
void mh_audit_session_end(struct mh_daemon *d, const struct mh_session *s,
			  const char *why);
/* Gateway: a relay's event (relay_up, relay_down, session_open, refused),
 * with its session (or NULL) and why (or NULL). */
void mh_audit_relay(struct mh_daemon *d, const char *event,
		    const char *relay, const struct mh_session *s,
		    const char *why);
void mh_audit_datagram(struct mh_daemon *d, enum mh_path path,
		       const uint8_t *l3, size_t len,
		       const struct mh_decision *dec);
void mh_audit_tick(struct mh_daemon *d, uint64_t now_ms);
/* true if this event of uid's (a refused request, a pinhole event) may be
 * logged and audited in full now; if not it is counted, and the tick
 * reports the counts per uid ("suppressed"). */
bool mh_audit_allow(struct mh_daemon *d, uid_t uid, enum mh_noisy kind);
/* Writes the buffered audit lines (after the verdicts they describe). */
void mh_audit_flush(struct mh_daemon *d);
/* SIGUSR1: counters into the log and the audit trail. */
void mh_audit_stats(struct mh_daemon *d);
/* SIGUSR1 too (logrotate's postrotate): the audit log, key log and
 * slow-path capture reopened by the state keeper (the syscall filter
 * allows the daemon no open for writing); the files that moved are swapped
 * when its answer comes (EV_KEEPER, mh_audit_keeper_input), between whole
 * lines, and a "reopened" event opens the new audit log. */
struct mh_keeper;
void mh_audit_reopen(struct mh_daemon *d, struct mh_keeper *k);
void mh_audit_keeper_input(struct mh_daemon *d, struct mh_keeper *k);
/* At a stop: the last drop counts, whenever the last report was. */
void mh_audit_last_tick(struct mh_daemon *d);
/* The daemon's counters (verdicts aside) under the names every report
 * gives them (statnames.h), in their order: the audit trail's stats event
 * and mosh-helperctl stats. */
struct mh_named_stat { const char *name; uint64_t value; };
void mh_stats_named(const struct mh_daemon *d,
		    struct mh_named_stat out[MH_STATS_NAMED]);

/* state.c: sessions that outlive the daemon. Keys go to a keyring of the
 * daemon's user, possessed by the daemon and its keeper alone (a "user"
 * key per session), the rest to a 0600 file next to the
 * control socket, rewritten atomically when sessions change. */
struct mh_state_rt;
/* Start-up, before the table is set up: the keyring, and whatever an
 * earlier daemon left (file and keys). Never fatal: without it, sessions
 * simply do not survive a restart. */
void mh_state_init(struct mh_daemon *d);
/* true if an earlier daemon's state was read and fits this boot and table */
bool mh_state_loaded(const struct mh_daemon *d);
/* Start-up, after the table. With d->adopt, resume.c opens the saved
 * sessions (mh_state_saved: NULL if none; mh_state_saved_key: a saved
 * session's key, 0 or -ENOKEY with why), main.c reconciles the table and
 * syncs the kernel, and mh_state_restored ends the restart: gone is what
 * the reconcile removed, resumed how many came back; both are logged and
 * audited, the keys of the others removed. Without d->adopt,
 * mh_state_forget drops what an earlier daemon saved, and
 * mh_state_restored(d, NULL, 0) follows. Either way the file is rewritten. */
struct mh_reconciled;
struct mh_statefile;
struct mh_saved_session;
const struct mh_statefile *mh_state_saved(const struct mh_daemon *d);
int mh_state_saved_key(const struct mh_daemon *d,
		       const struct mh_saved_session *sv,
		       uint8_t key[SSP_KEY_LEN], char *why, size_t len);
void mh_state_forget(struct mh_daemon *d);
void mh_state_restored(struct mh_daemon *d, const struct mh_reconciled *gone,
		       unsigned resumed);
/* A session's key into the keyring / out of it. */
void mh_state_key_add(struct mh_daemon *d, const struct mh_session *s,
		      const uint8_t key[SSP_KEY_LEN]);
void mh_state_key_del(struct mh_daemon *d, const struct mh_session *s);
/* Sessions changed: the file is rewritten by the next mh_state_flush. */
void mh_state_dirty(struct mh_daemon *d);
/* End of each loop round: rewrites the file if anything changed (a big
 * table's over several rounds, a slice each). */
void mh_state_flush(struct mh_daemon *d);
/* A file is being written: the loop must come round without waiting. */
bool mh_state_pending(const struct mh_daemon *d);
/* Stop: d->keep leaves file and keys (written once more), else removes them. */
void mh_state_stop(struct mh_daemon *d);
/* The state keeper (keeper.h), NULL if it did not start. */
struct mh_keeper *mh_state_keeper(struct mh_daemon *d);

/* conntrack.c (single-port mode): the socket is opened at start-up (the
 * syscall filter allows no new netlink socket later); mh_ct_cut deletes the
 * conntrack entries of flows to the public port whose replies come from
 * server_port (at the address of server, if set: the gateway's servers
 * share port numbers), of the given families (MH_CT_IPV4 | MH_CT_IPV6), or
 * those of client alone if set: how many, or 0 when there is no socket.
 * Errors are logged as warnings and never stop anything. */
#define MH_CT_IPV4 1u
#define MH_CT_IPV6 2u
int mh_ct_open(struct mh_daemon *d);
void mh_ct_close(struct mh_daemon *d);
int mh_ct_cut(struct mh_daemon *d, const struct mh_addr *server,
	      uint16_t server_port, const struct mh_addr *client,
	      unsigned families);
/* One source's flow through the public port, looked up by its tuple
 * (client -> dst, the address and public port it was sent to): where its
 * DNAT sends it (to, the entry's reply source: the address and public
 * port themselves while nothing NATed it, another port of that address
 * once something did) and its id. mh_ct_flow_get: 0, -ENOENT if conntrack
 * has no such flow, else -errno. mh_ct_flow_cut deletes it (that very
 * entry, if the id came with it): 0, -ENOENT if it is gone already, else
 * -errno. Default zone only. */
struct mh_ct_flow {
	bool found, has_id;
	struct mh_addr to;
	uint32_t id;             /* network order, as the kernel gave it */
};
int mh_ct_flow_get(struct mh_daemon *d, const struct mh_addr *client,
		   const struct mh_addr *dst, struct mh_ct_flow *f);
int mh_ct_flow_cut(struct mh_daemon *d, const struct mh_addr *client,
		   const struct mh_addr *dst, const struct mh_ct_flow *f);

/* tablewatch.c: another program deleted, flushed or changed the table
 * (`nft flush ruleset`, say): it is rebuilt at once with every session
 * port, pinhole and mapping the daemon holds. The watch is opened at
 * start-up, before the table is installed, and closed once the table is
 * owned and persistent (mh_tablewatch_settle). */
int mh_tablewatch_open(struct mh_daemon *d);
void mh_tablewatch_settle(struct mh_daemon *d);
void mh_tablewatch_close(struct mh_daemon *d);
void mh_tablewatch_input(struct mh_daemon *d);
/* elems.c: the session ports and pinholes the kernel's table holds
 * (start-up, before a table of other flags is replaced), or those the
 * session table records (a rebuild); 0 or -errno. *e owns arrays that
 * mh_elems_free releases. */
int mh_elems_dump(const struct mh_daemon *d, struct mh_nft_elems *e);
int mh_elems_of_sessions(const struct mh_daemon *d, struct mh_nft_elems *e);
void mh_elems_free(struct mh_nft_elems *e);
/* kernel.c: the whole table in one batch through d->nft (adopt: keep the
 * elements there; replace: delete the table first, in the same batch),
 * then the elements e (NULL: none); 0 or -errno. */
int mh_kernel_install(struct mh_daemon *d, bool adopt, bool replace,
		      const struct mh_nft_elems *e);

/* gwcore.c (role = gateway; the relay seam is gwcore.h): the session
 * table by server address . port, opened at start after the table;
 * mh_gw_tick ends the sessions their relays did not confirm in time;
 * mh_gw_close frees them (the kernel's elements stay, as a host's). */
int mh_gw_open(struct mh_daemon *d);
void mh_gw_close(struct mh_daemon *d);
/* gwkernel.c. After a restart that adopted the table: its sessions held
 * without keys (doomed after relay_orphan_grace unless a relay announces
 * them), its pinholes recorded in them, any other pinhole removed.
 * mh_gw_readback: the gateway's read-back (readback.c). */
void mh_gw_adopt(struct mh_daemon *d);
extern const struct mh_readback_role mh_gw_readback;
void mh_gw_tick(struct mh_daemon *d, uint64_t now_ms);
/* Test builds only (tests/tools/gwseam.c replaces these empty ones): a
 * stand-in for the relay listener, opened at start, polled each tick. */
void mh_gw_test_open(struct mh_daemon *d);
void mh_gw_test_tick(struct mh_daemon *d);
/* kernel.c: one element of the gateway's table (gateway.c's kinds). */
/* Single-port mode at the gateway: add or delete the mapping of client to
 * server's address and port (nft/gwmux.c). */
int mh_kernel_gw_mux(struct mh_daemon *d, const struct mh_addr *client,
		     const struct mh_addr *server, bool confirmed, bool add,
		     enum mh_kernel_wait wait);
/* mosh-server answered client through its provisional mapping: the
 * confirmed one added. */
void mh_gw_mux_confirm(struct mh_daemon *d, const struct mh_addr *client,
		       const struct mh_addr *server);
/* client's pinhole to server went (evicted, or its session ended): its
 * mapping and its conntrack flow through the public port go too, so
 * the source is judged again on its next datagram. */
void mh_gw_mux_gone(struct mh_daemon *d, const struct mh_addr *client,
		    const struct mh_addr *server);
int mh_kernel_gw_elem(struct mh_daemon *d, enum mh_gw_kind kind,
		      enum mh_nft_op op, const struct mh_addr *client,
		      const struct mh_addr *server, enum mh_kernel_wait wait);
int mh_kernel_gw_sessions_add(struct mh_daemon *d, const struct mh_addr *servers,
			      unsigned n);

/* reconcile.c: after a restart, the adopted table's session ports,
 * pinholes and mappings of sessions that did not come back are removed,
 * those of the session table kept; how many went, by kind. */
struct mh_reconciled { unsigned ports, pinholes, mappings; };
void mh_reconcile_table(struct mh_daemon *d, uint64_t now_ms,
			struct mh_reconciled *gone);
/* The host's read-back (readback.c): records of pinholes the kernel
 * expired dropped; a pinhole element that no session records (a failed
 * delete, or not ours) removed, with its confirmed mapping in single-port
 * mode. */
extern const struct mh_readback_role mh_host_readback;

/* readback.c: the periodic read-back, both roles. The pinhole sets are
 * listed, a part at a time, and a record this read-back listed is known
 * to be in the kernel; then the elements no record names (strays, at most
 * MH_STRAYS_MAX a read-back, the rest the next time) are removed; then,
 * where the rules note inbound datagrams in seen4/6 (timeout_update),
 * seen4/6 are listed and the pinholes that passed one re-armed
 * (mh_kernel_rearm_step); last, the records the kernel no longer holds
 * are dropped: those not listed, not added in the last 2 s, whose known
 * expiry has passed and, if pinholes were added or deleted while they
 * were listed (the kernel's walk of a set that changes can skip an
 * element), that the read-back before missed too (r->missed). Both roles'
 * sessions are in d->sessions. A failed listing of the pinholes drops
 * no record. A table installed meanwhile (mh_kernel_install bumps
 * table_gen) ends the read-back at its next step, its re-arms unsent;
 * the next tick starts another. */
#define MH_STRAYS_MAX 256
struct mh_readback_role {
	/* the set listed: seen4/6 if seen, else the pinholes; by family */
	const char *(*set)(bool seen, int family);
	/* a key of it into client and server; 0 or -errno */
	int (*decode)(bool seen, const uint8_t *key, uint32_t len,
		      struct mh_addr *client, struct mh_addr *server);
	mh_rec_find find;
	/* a pinhole element no record names (find said so just now) */
	void (*stray)(struct mh_daemon *d, const struct mh_addr *client,
		      const struct mh_addr *server);
	/* r's element is gone from the kernel (its record is dropped next):
	 * counted already, for the role's log and audit */
	void (*expired)(struct mh_daemon *d, const struct mh_session *s,
			const struct mh_pinhole_rec *r);
	/* a pinhole still in the kernel keeps its session alive (the host's
	 * idle end counts from last_alive_ms) */
	bool alive;
};
/* When due (every idle_timeout / 4, at least 1 s apart) and none is under
 * way, a read-back of role starts; true if one did. The loop then runs it
 * a slice a round (mh_readback_step, while mh_readback_pending), serving
 * its other events between slices; each one's wall-clock time from start
 * to end goes into readback_ms / readback_max_ms, its slices' alone into
 * readback_busy_ms. */
bool mh_readback_tick(struct mh_daemon *d, uint64_t now_ms,
		      const struct mh_readback_role *role);
bool mh_readback_pending(const struct mh_daemon *d);
void mh_readback_step(struct mh_daemon *d);
/* A whole read-back at once (start-up). */
void mh_readback_run(struct mh_daemon *d, const struct mh_readback_role *role);

/* prefer.c (single-port mode): a session whose SSH login came from host X
 * displaces the mappings other sessions hold for clients on X (see
 * lib/muxprefer.c); called when it starts. */
void mh_mux_prefer(struct mh_daemon *d, const struct mh_session *pref);

/* reload.c: SIGHUP (and mosh-helperctl reload). 0: the file was taken,
 * msg (if not NULL) holds the keys applied, "" if none could change now;
 * -EINVAL: the file was refused, -errno: the table could not be rebuilt,
 * msg holds why; either way the running configuration stays. */
int mh_reload(struct mh_daemon *d, char *msg, size_t len);
/* kernel.c: the table rebuilt in place, sessions and pinholes kept */
int mh_kernel_reload(struct mh_daemon *d);

/* reserve.c: at start, before hardening: the range (and public port) into
 * net.ipv4.ip_local_reserved_ports (reserve_ports), fatal if that cannot be
 * done; without reserve_ports a warning if ip_local_port_range overlaps. */
void mh_reserve_ports(struct mh_daemon *d);

/* harden.c: after start-up, only CAP_NET_ADMIN, the configured user, not
 * dumpable, memory locked if allowed, then the syscall filter; fatal on
 * failure. keymem.c: OpenSSL's allocations (session keys) in memory no core
 * file holds; mh_keymem_init comes first in main, before any OpenSSL call.
 * seccomp.c: the filter. notify.c: systemd readiness ($NOTIFY_SOCKET). */
void mh_harden(struct mh_daemon *d);
/* The uid and gid the daemon runs as once hardened (`user`, the default
 * user, or the starting ones); 1 if that is a switch, else 0. Fatal as
 * mh_harden is when `user` names no user. */
int mh_harden_identity(const struct mh_config *cfg, uid_t *uid, gid_t *gid);
void mh_wipe_stack(void);   /* dead stack frames below the caller, zeroed */
void mh_keymem_init(void);
bool mh_keymem_active(void);
/* true if every key chunk so far is locked in memory; the bytes of chunks
 * locked and not (RLIMIT_MEMLOCK). Big blocks unmapped are not deducted. */
bool mh_keymem_locked(size_t *locked, size_t *unlocked);
int mh_seccomp_install(void);
/* Role relay: the same, with TCP connections to the gateways (relay.c). */
int mh_seccomp_install_relay(void);
/* The state keeper's own, narrower filter (keeper.c). */
int mh_seccomp_install_keeper(void);
/* The gateway's relay listener's (gwlisten.c). */
int mh_seccomp_install_gwlisten(void);
bool mh_seccomp_sanitized(void);
int mh_notify_open(void);
void mh_notify(const char *state);

#endif
