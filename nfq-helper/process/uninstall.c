/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helperd --uninstall: the admin's explicit act that removes what
 * every stop leaves behind: the table (the range then follows the admin's
 * own policy alone), the saved session state and the session keys.
 * Refused while a daemon answers on the control socket.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"

static bool daemon_answers(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool up;

	if (fd < 0)
		return false;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	up = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return up;
}

/* The state keeper's own clean-up (keys, keyring, state file), as a clean
 * stop of earlier versions ran it; a keyring it did not find is made, then
 * removed. */
static void forget_state(struct mh_daemon *d)
{
	mh_state_init(d);
	if (!d->state)
		return;
	d->keep = false;
	mh_state_stop(d);
}

/* The same clean-up as uid st->st_uid (a child switched to it), whose
 * user keyring holds the keys of a daemon that started as that uid. */
static int forget_state_as(struct mh_daemon *d, const struct stat *st)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(st->st_gid, st->st_gid,
							st->st_gid) < 0 ||
		    setresuid(st->st_uid, st->st_uid, st->st_uid) < 0) {
			log_err("becoming uid %u: %s", st->st_uid, strerror(errno));
			_exit(1);
		}
		forget_state(d);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Keys and state belong to the uid the daemon started as: it owns the
 * state file and the state lock (state.c's names), and the directory
 * when systemd made it (RuntimeDirectory= with User=). Root cleans up as
 * that uid first, then as itself (keys of a daemon that stayed root, or
 * that earlier versions kept in root's keyring). */
static int remove_state(struct mh_daemon *d)
{
	static const char *const owned[] = { "state", "state.lock", "" };
	char buf[sizeof(d->cfg.control_socket)], path[PATH_MAX];
	const char *dir;
	struct stat st;
	int err = 0;

	snprintf(buf, sizeof(buf), "%s", d->cfg.control_socket);
	dir = dirname(buf);
	if (stat(dir, &st) < 0) {
		log_info("no state directory %s: no saved state", dir);
		return 0;
	}
	for (unsigned i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, owned[i]);
		if (stat(path, &st) == 0)
			break;
	}
	if (geteuid() == 0 && st.st_uid != 0)
		err = forget_state_as(d, &st);
	forget_state(d);
	if (err)
		log_err("removing saved state and keys as uid %u: %s", st.st_uid,
			strerror(-err));
	else
		log_info("saved session state and keys removed (%s)", dir);
	return err;
}

/* The table deleted the way a clean stop of earlier versions deleted it;
 * looked for again afterwards, since that path only logs a failure. */
static int remove_table(struct mh_daemon *d)
{
	if (!mh_guard_table_there(d)) {
		log_info("no table inet %s: nothing to remove", d->cfg.table);
		return 0;
	}
	d->nft = mh_nft_open();
	if (!d->nft)
		return -errno;
	d->keep = false;
	mh_kernel_teardown(d);
	if (mh_guard_table_there(d))
		return -EIO;
	log_info("table inet %s removed: ports %u-%u now follow your own policy "
		 "alone", d->cfg.table, d->cfg.port_low, d->cfg.port_high);
	return 0;
}

int mh_uninstall(struct mh_daemon *d)
{
	int err;

	if (daemon_answers(d->cfg.control_socket)) {
		log_err("a daemon answers on %s: stop it first (systemctl stop "
			"mosh-helperd; the range stays closed), then run --uninstall "
			"again", d->cfg.control_socket);
		return 1;
	}
	if ((err = remove_table(d)) < 0) {
		log_err("removing table inet %s: %s", d->cfg.table, strerror(-err));
		return 1;
	}
	return remove_state(d) ? 1 : 0;
}
