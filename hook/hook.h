/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-hook internals: the state of one run (the mosh-server we
 * started, its output pipes, the held MOSH CONNECT line, the detached pid)
 * and the functions of the hook's files: spawn.c (processes and signals),
 * relay.c (output pass-through), announce.c (the daemon), run.c (the loop),
 * defaults.c (the site's port range and network timeout for mosh-server).
 */
#ifndef MH_HOOK_H
#define MH_HOOK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ctlproto.h"
#include "mh_consts.h"
#include "proc.h"
#include "serverargs.h"

#define HOOK_NAME          "mosh-helper-hook"
#define HOOK_CONF_ENV      "MOSH_HELPER_CONF"
#define HOOK_TMOUT_ENV     "MOSH_SERVER_NETWORK_TMOUT"
#define HOOK_DRAIN_MS      300    /* after mosh-server exits, read what is left this long */
#define HOOK_KILL_GRACE_MS 1000   /* SIGTERM, then SIGKILL after this long */
#define HOOK_TICK_MS       100    /* waitpid period when pidfd_open is unavailable */
#define HOOK_LINE_MAX      256    /* longest MOSH CONNECT line accepted */
#define HOOK_ELINE_MAX     128    /* longest stderr line scanned for the pid */
#define HOOK_PENDING_MAX   65536  /* stdout held behind the MOSH CONNECT line */
#define HOOK_CHUNK         4096
/* mosh-servers started at most, each on the ports above the one the daemon
 * refused as someone else's: another user holds at most 20 sessions
 * (max_sessions_per_user's default) but any number of sockets, and each
 * try costs a start and a stop (up to HOOK_KILL_GRACE_MS); 16 pass a few
 * squatted ports in well under the client's patience and bound the rest. */
#define HOOK_PORT_TRIES    16

#define CONNECT_PREFIX     "MOSH CONNECT "
#define DETACHED_PREFIX    "[mosh-server detached, pid = "

enum out_state {
	OUT_START,    /* at the start of a line */
	OUT_PREFIX,   /* line so far matches a prefix of CONNECT_PREFIX */
	OUT_CONNECT,  /* inside a MOSH CONNECT line: held */
	OUT_PASS,     /* inside any other line */
	OUT_RAW,      /* MOSH CONNECT seen: everything else passes as is */
};

struct hook_run {
	const struct mh_config *cfg;
	sigset_t orig_mask;        /* restored in mosh-server */
	sigset_t wait_mask;        /* while waiting: termination signals open */
	pid_t server;              /* the mosh-server we started (it forks and exits) */
	int pidfd;                 /* -1: poll waitpid every HOOK_TICK_MS */
	int wstatus;
	bool server_done;
	int out_fd, err_fd;        /* read ends of its stdout/stderr; -1 at EOF */

	enum out_state ostate;
	char line[HOOK_LINE_MAX];  /* prefix being matched, or the MOSH CONNECT line */
	size_t line_len;
	bool held;                 /* line is a complete, parsed MOSH CONNECT line */
	char pending[HOOK_PENDING_MAX]; /* stdout that came after it */
	size_t pending_len;
	uint16_t port;
	char key[SSP_KEY_B64_LEN + 1];

	char eline[HOOK_ELINE_MAX]; /* current stderr line, for the pid */
	size_t eline_len;
	bool eline_long;
	pid_t detached;            /* the session server, from its "detached" line */

	bool accepted;             /* the daemon answered MHC_OK */
	bool err_mid_line;         /* our stderr does not end with '\n' */
	bool out_broken;           /* our stdout is gone (EPIPE): discard */
	char range[MH_SRVARGS_RANGE_MAX]; /* server_ports as mosh-server's -p value */

	char **argv;               /* the first mosh-server's (path first) */
	size_t nargs;              /* its words after the path */
	unsigned started;          /* mosh-servers started */
	char **next_argv;          /* set at a refusal of a port someone else
				      holds: the next try's (calloc'd) */
	char next[MH_SRVARGS_RANGE_MAX]; /* its -p value */
};

extern volatile sig_atomic_t hook_signal;

/* spawn.c */
int hook_signals_init(struct hook_run *h);
int hook_spawn(struct hook_run *h, const char *path, char *const argv[]);
void hook_reap(struct hook_run *h);
void hook_kill_all(struct hook_run *h);

/* relay.c */
void hook_say(struct hook_run *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int hook_write_all(int fd, const void *buf, size_t len);
int hook_out_feed(struct hook_run *h, const char *p, size_t n);
int hook_out_eof(struct hook_run *h);
int hook_out_release(struct hook_run *h);
void hook_err_feed(struct hook_run *h, const char *p, size_t n);

/* announce.c: 0 if the daemon accepted; else -errno and msg says why,
 * -EPERM when the daemon refused (its status and reason in *reply). */
int hook_announce(const struct hook_run *h, struct mhc_reply *reply, char *msg,
		  size_t msglen);

/* defaults.c: *argv (NULL-terminated, calloc'd) runs server_path with
 * args[0..n) under server_ports (kept in h->argv); -EPERM: refused, and
 * the user was told why in one line. hook_server_next: *argv for the next
 * try after the daemon refused port h->port as someone else's, on the
 * ports of the first one's range above it (-ENOENT: none). Then
 * MOSH_SERVER_NETWORK_TMOUT for the environment. */
int hook_server_argv(struct hook_run *h, char *const *args, size_t n,
		     char ***argv);
int hook_server_next(struct hook_run *h, char ***argv);
int hook_server_env(const struct mh_config *cfg);

/* run.c: relays until mosh-server is done (starting it again on the next
 * port while the daemon refuses ports someone else holds, at most
 * HOOK_PORT_TRIES in all); returns the exit status. */
int hook_run(struct hook_run *h);

#endif
