/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The restart source of sessions: each session an earlier daemon saved
 * (state.c read its file and keys) is checked as an announcement is (port
 * still in the range, same mosh-server process, its key in the keyring,
 * one of its sockets still bound to the port) and opened again through the
 * one door every session takes (lifecycle.c). A session that does not come
 * back is logged and audited with the reason.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "daemon.h"
#include "lifecycle.h"
#include "resume.h"
#include "statefile.h"

static int refuse(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

/* The socket the session was announced with must still hold its port: a
 * squatter's session (socket closed, process kept) does not come back. If
 * the kernel cannot be asked, the session is resumed and the periodic
 * check asks again. */
static int check_socket(struct mh_daemon *d, struct mh_announcement *a,
			uint32_t id, char *why, size_t len)
{
	int held = mh_life_sockets_held(d, a->port, a->uid, a->bound, a->n_bound,
					a->sock, &a->n_sock);

	if (held < 0)
		log_warn("session %u port %u: cannot list UDP sockets (%s); resumed "
			 "unchecked", id, a->port, strerror(-held));
	if (held)
		return 0;
	return refuse(why, len, -ENOENT, "%s: no socket of uid %u that was "
		      "announced (inode %u) is bound to port %u any more",
		      mh_end_text(MH_END_SOCKET_GONE), (unsigned)a->uid,
		      a->n_sock ? a->sock[0].ino : 0, a->port);
}

static int verify(struct mh_daemon *d, const struct mh_saved_session *sv,
		  struct mh_announcement *a, char *why, size_t len)
{
	uint8_t key[SSP_KEY_LEN];
	struct mh_proc_stat ps = { 0 };
	int err;

	if (sv->port < d->cfg.port_low || sv->port > d->cfg.port_high ||
	    sv->port == d->pol.public_port)
		return refuse(why, len, -ERANGE, "port %u is no longer in the "
			      "managed range", sv->port);
	if (mh_proc_stat(sv->pid, &ps) < 0)
		return refuse(why, len, -ESRCH, "mosh-server pid %d is gone",
			      (int)sv->pid);
	if (ps.start != sv->pid_start)
		return refuse(why, len, -ESRCH, "pid %d now belongs to another "
			      "process", (int)sv->pid);
	if (!d->cfg.keyless && (err = mh_state_saved_key(d, sv, key, why, len)) < 0)
		return err;
	mh_announce_from_saved(sv, d->cfg.keyless ? NULL : key, a);
	OPENSSL_cleanse(key, sizeof(key));
	return check_socket(d, a, sv->id, why, len);
}

static int resume_one(struct mh_daemon *d, const struct mh_saved_session *sv)
{
	struct mh_announcement a;
	char why[200], line[260];
	int err = verify(d, sv, &a, why, sizeof(why));

	if (!err)
		err = mh_life_open(d, &a, why, sizeof(why));
	OPENSSL_cleanse(&a, sizeof(a));
	if (!err)
		return 0;
	log_warn("session %u port %u not resumed: %s", sv->id, sv->port, why);
	snprintf(line, sizeof(line), "session %u port %u: %s", sv->id, sv->port,
		 why);
	mh_audit_simple(d, "session_not_resumed", "why", line);
	return err;
}

unsigned mh_resume(struct mh_daemon *d)
{
	const struct mh_statefile *st = mh_state_saved(d);
	uint32_t next_id;
	unsigned n = 0;

	if (!st)
		return 0;
	next_id = st->next_id;
	for (unsigned i = 0; i < st->n; i++) {
		if (resume_one(d, &st->s[i]) < 0)
			continue;
		n++;
		if (st->s[i].id >= next_id)
			next_id = st->s[i].id + 1;
	}
	if (next_id > d->sessions.next_id)
		d->sessions.next_id = next_id;
	return n;
}
