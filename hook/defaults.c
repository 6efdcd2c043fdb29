/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-hook's site defaults for the mosh-server it starts: the
 * argument vector (the site's port range added when the user asked for
 * none, a port outside it refused before anything runs) and
 * MOSH_SERVER_NETWORK_TMOUT in its environment; and the arguments of the
 * next try when the daemon refused a port someone else holds. The reading
 * of mosh-server's command line is lib/serverargs.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "serverargs.h"

/* A vector for path and up to cap words after it, NULL-terminated
 * whatever is filled in, owned by the caller. */
static char **room(const char *path, size_t cap)
{
	char **v = calloc(cap + 2, sizeof(*v));

	if (v)
		v[0] = (char *)path;
	return v;
}

int hook_server_argv(struct hook_run *h, char *const *args, size_t n,
		     char ***argv)
{
	const struct mh_port_range *r = &h->cfg->server_ports;
	size_t cap = n + MH_SRVARGS_EXTRA, nout = n;
	char **out = room(h->cfg->server_path, cap), why[512];
	int ret = 0;

	*argv = NULL;
	if (!out)
		return -ENOMEM;
	if (!r->low)
		memcpy(out + 1, args, n * sizeof(*args));
	else
		ret = mh_srvargs_apply(args, n, getenv("POSIXLY_CORRECT") != NULL,
				       r->low, r->high, out + 1, cap, &nout,
				       h->range, why, sizeof(why));
	if (ret == -EPERM)
		hook_say(h, "%s", why);
	if (ret) {
		free(out);
		return ret;
	}
	*argv = h->argv = out;
	h->nargs = nout;
	return 0;
}

/* Made from the first mosh-server's arguments each time, so that no try
 * depends on the words of the one before. */
int hook_server_next(struct hook_run *h, char ***argv)
{
	size_t cap = h->nargs + MH_SRVARGS_EXTRA, nout;
	char **out;
	int ret;

	*argv = NULL;
	if (!h->argv)
		return -ENOENT;
	out = room(h->cfg->server_path, cap);
	if (!out)
		return -ENOMEM;
	ret = mh_srvargs_next(h->argv + 1, h->nargs, getenv("POSIXLY_CORRECT") != NULL,
			      h->port, out + 1, cap, &nout, h->next);
	if (ret) {
		free(out);
		return ret;
	}
	*argv = out;
	return 0;
}

int hook_server_env(const struct mh_config *cfg)
{
	char value[16];

	if (mh_srvargs_tmout(getenv(HOOK_TMOUT_ENV), cfg->server_network_timeout,
			     value, sizeof(value)) &&
	    setenv(HOOK_TMOUT_ENV, value, 1) < 0)
		return -errno;
	return 0;
}
