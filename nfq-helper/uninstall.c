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
 * stop of earlier versions ran it. */
static void forget_state(struct mh_daemon *d)
{
	mh_state_init(d);
	if (!d->state)
		return;
	d->keep = false;
	mh_state_stop(d);
}

/* Keyring and state belong to the uid the daemon started as, which owns
 * the state directory (systemd's RuntimeDirectory= for User=): root runs
 * the clean-up as that uid, whose user keyring holds the keys. */
static int forget_state_as(struct mh_daemon *d, const struct stat *st)
{
	pid_t pid;
	int status;

	if (geteuid() != 0 || st->st_uid == 0) {
		forget_state(d);
		return 0;
	}
	pid = fork();
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

static int remove_state(struct mh_daemon *d)
{
	char dir[sizeof(d->cfg.control_socket)];
	struct stat st;
	int err;

	snprintf(dir, sizeof(dir), "%s", d->cfg.control_socket);
	if (stat(dirname(dir), &st) < 0) {
		log_info("no state directory %s: no saved state", dir);
		return 0;
	}
	err = forget_state_as(d, &st);
	if (err)
		log_err("removing saved state and keys: %s", strerror(-err));
	else
		log_info("saved session state and keys removed (%s)", dir);
	return err;
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
	d->nft = mh_nft_open();
	if (!d->nft) {
		log_err("nftables socket: %s", strerror(errno));
		return 1;
	}
	err = mh_kernel_remove(d);
	mh_nft_close(d->nft);
	d->nft = NULL;
	if (err == -ENOENT)
		log_info("no table inet %s: nothing to remove", d->cfg.table);
	else if (err)
		log_err("removing table inet %s: %s", d->cfg.table, strerror(-err));
	else
		log_info("table inet %s removed: ports %u-%u now follow your own "
			 "policy alone", d->cfg.table, d->cfg.port_low,
			 d->cfg.port_high);
	if (err && err != -ENOENT)
		return 1;
	return remove_state(d) ? 1 : 0;
}
