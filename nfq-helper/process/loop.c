/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event loop: one epoll set over signals, a periodic timer, the queue,
 * the nftables socket and its event watch, the control socket and its
 * connections, and one pidfd per mosh-server. Nothing here blocks on a peer.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "intake/gwlisten.h"
#include "intake/relay.h"
#include "lifecycle/lifecycle.h"

#define MAX_EVENTS 64

int mh_loop_open(struct mh_daemon *d)
{
	struct itimerspec its = {
		.it_interval = { 0, MH_TICK_MS * 1000000L },
		.it_value = { 0, MH_TICK_MS * 1000000L },
	};
	sigset_t set;
	int err;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->sigfd < 0 || d->timerfd < 0 ||
	    timerfd_settime(d->timerfd, 0, &its, NULL) < 0)
		return -errno;
	err = mh_epoll_add(d, d->sigfd, EV_TAG(EV_SIGNAL, 0));
	return err ? err : mh_epoll_add(d, d->timerfd, EV_TAG(EV_TIMER, 0));
}

static void on_signal(struct mh_daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {   /* the old files end with them */
			mh_audit_stats(d);
			mh_audit_reopen(d, mh_state_keeper(d));
			continue;
		}
		if (si.ssi_signo == SIGHUP) {
			mh_reload(d, NULL, 0);
			continue;
		}
		/* every stop (TERM, INT, QUIT) keeps the table, sessions and
		 * keys: the range stays closed and the next start resumes */
		d->keep = true;
		log_info("signal %u: stopping, keeping table, sessions and keys",
			 si.ssi_signo);
		d->running = false;
	}
}

static void on_timer(struct mh_daemon *d)
{
	uint64_t ticks, now = mh_now_ms();

	if (read(d->timerfd, &ticks, sizeof(ticks)) < 0)
		return;
	if (d->gw) {   /* a gateway's sessions end by their relays */
		mh_gw_tick(d, now);
		mh_audit_tick(d, now);
		return;
	}
	mh_control_expire(d, now);
	if (mh_readback_tick(d, now, &mh_host_readback))
		mh_life_check_sockets(d);
	mh_life_expire(d, now);
	mh_audit_tick(d, now);
}

static void dispatch(struct mh_daemon *d, uint64_t tag)
{
	uint32_t n = (uint32_t)tag;

	switch ((enum mh_ev)(tag >> 32)) {
	case EV_SIGNAL: on_signal(d); break;
	case EV_TIMER: on_timer(d); break;
	case EV_QUEUE: mh_queue_input(d); break;
	case EV_NFT: d->stats.nft_errors += mh_nft_drain(d->nft); break;
	case EV_NFT_WATCH: mh_tablewatch_input(d); break;
	case EV_CTL_LISTEN: mh_control_accept(d); break;
	case EV_CTL_CONN: mh_control_conn_input(d, n); break;
	case EV_PIDFD: mh_life_pidfd(d, (uint16_t)n); break;
	case EV_KEEPER: mh_audit_keeper_input(d, mh_state_keeper(d)); break;
	case EV_GWL: mh_gwl_input(d); break;
	case EV_RELAY: mh_relay_input(d, n); break;
	case EV_RELAY_TIMER: mh_relay_timer(d); break;
	}
}

int mh_loop_run(struct mh_daemon *d)
{
	struct epoll_event ev[MAX_EVENTS];
	int i, n;

	d->running = true;
	/* what the start wrote (a resumed session's audit line) goes out now,
	 * not at the first event, which may be long in coming */
	mh_audit_flush(d);
	while (d->running) {
		/* a state file or a read-back under way goes on after the
		 * events, a slice a round (state.c, readback.c): the queue
		 * and the control socket are served in between */
		n = epoll_wait(d->epfd, ev, MAX_EVENTS,
			       mh_state_pending(d) || mh_readback_pending(d) ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n && d->running; i++)
			dispatch(d, ev[i].data.u64);
		if (mh_readback_pending(d) && d->running)
			mh_readback_step(d);
		mh_audit_flush(d);
		mh_state_flush(d);
	}
	return 0;
}
