/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of mosh-helper-hook as a program, with fakes: a shell script that
 * prints what mosh-server prints (and leaves a `sleep` behind as its
 * "session server"), and a forked fake mosh-helperd on a SOCK_SEQPACKET
 * socket in a temp dir. Checks pass-through byte for byte, the announce
 * contents, refusal/down/timeout handling, the mosh-server name, the
 * public port in MOSH CONNECT in single-port mode, and the next port after
 * a refusal of a port someone else holds.
 */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"

#define KEY      "4NeCCgvZFe2RnPgrcU1PQw"
#define SSH_CONN "198.18.0.1 50022 198.18.0.2 22"
#define REFUSAL  "port 60005 is not in the managed range"

/* The fake mosh-server. FAKE_MODE: ok (default), crlf, big (100 kB of
 * stdout before MOSH CONNECT), nopid (no "detached" line), fail (exits 3
 * without MOSH CONNECT), noeol (MOSH CONNECT ends stdout, no line end).
 * Its port is the first of its last -p value; each "session server" pid
 * is added to children too. */
static const char fake_server[] =
	"#!/bin/sh\n"
	"dir=$(dirname \"$0\")\n"
	"printf '%s\\n' \"$@\" > \"$dir/args\"\n"
	"port=60005; prev=\n"
	"for a in \"$@\"; do [ \"$prev\" = -p ] && port=${a%%:*}; prev=$a; done\n"
	"mode=${FAKE_MODE:-ok}\n"
	"if [ \"$mode\" = fail ]; then\n"
	"  printf 'bind: Address already in use\\n' >&2\n"
	"  printf 'no newline at the end'\n"
	"  exit 3\n"
	"fi\n"
	"sleep 30 </dev/null >/dev/null 2>&1 &\n"
	"child=$!\n"
	"echo $child > \"$dir/child.pid\"\n"
	"echo $child >> \"$dir/children\"\n"
	"[ \"$mode\" = big ] && head -c 100000 /dev/zero | tr '\\0' 'x'\n"
	"printf 'MOSH CONNECTED\\nMOSH\\n'\n"
	"eol='\\n'; [ \"$mode\" = crlf ] && eol='\\r\\n'; [ \"$mode\" = noeol ] && eol=''\n"
	"printf \"MOSH CONNECT $port " KEY "$eol\"\n"
	"[ \"$mode\" != noeol ] && printf 'after \\001\\377 bytes\\n'\n"
	"printf '\\nmosh-server (mosh 1.4.0) [build mosh 1.4.0]\\n"
	"Copyright 2012 Keith Winstein <mosh-devel@mit.edu>\\n' >&2\n"
	"[ \"$mode\" != nopid ] && printf '\\n[mosh-server detached, pid = %d]\\n' $child >&2\n"
	"printf 'stderr tail \\002\\n' >&2\n"
	"exit 0\n";

/* D_TAKEN: the first announcement's port already has a session, the next
 * is accepted; D_TAKEN_ALL: every port has one; D_GATEWAY: a gateway
 * refused (whatever its reason says). */
enum daemon_mode { D_OK, D_REFUSE, D_SILENT, D_GARBAGE, D_CLOSE, D_DOWN,
		   D_TAKEN, D_TAKEN_ALL, D_GATEWAY };

struct env {
	char dir[64];
	char conf[PATH_MAX], sock[PATH_MAX], server[PATH_MAX], hook[PATH_MAX];
	pid_t daemon;
	int record;                 /* read end: what the fake daemon received */
};

struct result {
	char out[131072];
	size_t out_len;
	char err[16384];
	size_t err_len;
	int status;
	long ms;
};

static struct result res;
static long sigterm_after_ms;   /* run_hook sends SIGTERM this long after start */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* extra: more settings appended to the file */
static void write_config_extra(const struct env *e, const char *server_path,
			       const char *extra)
{
	char text[3 * PATH_MAX];

	snprintf(text, sizeof(text),
		 "control_socket = \"%s\";\nserver_path = \"%s\";\nhook_timeout = 1;\n%s",
		 e->sock, server_path, extra);
	write_file(e->conf, text, 0644);
}

static void write_config(const struct env *e, const char *server_path)
{
	write_config_extra(e, server_path, "");
}

static void env_init(struct env *e)
{
	const char *b = getenv("MH_BUILD");
	char hook[PATH_MAX + 32];

	memset(e, 0, sizeof(*e));
	e->daemon = -1;
	e->record = -1;
	snprintf(hook, sizeof(hook), "%s/mosh-helper-hook", b && *b ? b : "build");
	ck_assert_msg(realpath(hook, e->hook), "hook binary %s: %s (set MH_BUILD)",
		      hook, strerror(errno));
	strcpy(e->dir, "/tmp/mh-hook-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/hook.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/ctl.sock", e->dir);
	snprintf(e->server, sizeof(e->server), "%s/fake-mosh-server", e->dir);
	write_file(e->server, fake_server, 0755);
	write_config(e, e->server);
}

/* The answer to announcement number k (from 0) of m's port. */
static ssize_t reply_for(enum daemon_mode mode, unsigned k, const struct mhc_msg *m,
			 uint8_t *buf, size_t cap)
{
	char why[64];

	snprintf(why, sizeof(why), "port %u already has a session", m->u.announce.port);
	if (mode == D_OK || (mode == D_TAKEN && k > 0))
		return mhc_encode_reply(MHC_OK, "", buf, cap);
	if (mode == D_REFUSE)
		return mhc_encode_reply(MHC_ERR_RANGE, REFUSAL, buf, cap);
	if (mode == D_TAKEN || mode == D_TAKEN_ALL)
		return mhc_encode_reply(MHC_ERR_EXISTS, why, buf, cap);
	if (mode == D_GATEWAY)
		return mhc_encode_reply(MHC_ERR_GATEWAY, why, buf, cap);
	/* header claims 9 body bytes, 7 follow */
	return snprintf((char *)buf, cap, "%s", "\x01\x02\x00\x09garbage");
}

/* One connection each; the modes of the next-port tests take them all. */
static void serve_one(int lfd, enum daemon_mode mode, int rec)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	uint8_t buf[MHC_MAX_MSG];
	struct mhc_msg m;
	ssize_t n;
	int c;

	for (unsigned k = 0;; k++) {
		if (poll(&p, 1, 10000) != 1 || (c = accept(lfd, NULL, NULL)) < 0)
			_exit(1);
		n = recv(c, buf, sizeof(buf), 0);
		if (n <= 0 || mhc_decode(buf, (size_t)n, &m, NULL) < 0)
			_exit(2);
		if (write(rec, &m, sizeof(m)) != sizeof(m))
			_exit(3);
		if (mode == D_SILENT)
			sleep(10);
		else if (mode != D_CLOSE)
			n = reply_for(mode, k, &m, buf, sizeof(buf));
		if (mode != D_SILENT && mode != D_CLOSE &&
		    send(c, buf, (size_t)n, 0) != n)
			_exit(4);
		close(c);
		if (mode != D_TAKEN && mode != D_TAKEN_ALL)
			_exit(0);
	}
}

/* Listens before forking, so the hook never races the fake daemon. */
static void daemon_start(struct env *e, enum daemon_mode mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd, rec[2];

	if (mode == D_DOWN)
		return;
	strcpy(sun.sun_path, e->sock);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(pipe2(rec, O_CLOEXEC), 0);
	/* room for the next-port tests' 16 records before they are read */
	ck_assert_int_ge(fcntl(rec[1], F_SETPIPE_SZ, 16 * (int)sizeof(struct mhc_msg)), 0);
	e->daemon = fork();
	ck_assert_int_ge(e->daemon, 0);
	if (e->daemon == 0) {
		close(rec[0]);
		serve_one(lfd, mode, rec[1]);
	}
	close(lfd);
	close(rec[1]);
	e->record = rec[0];
}

/* What the daemon received; false if it received nothing. */
static bool daemon_received(struct env *e, struct mhc_msg *m)
{
	struct pollfd p = { .fd = e->record, .events = POLLIN };
	bool got = false;

	if (e->record >= 0 && poll(&p, 1, 500) == 1)
		got = read(e->record, m, sizeof(*m)) == sizeof(*m);
	if (e->daemon > 0) {
		kill(e->daemon, SIGKILL);
		waitpid(e->daemon, NULL, 0);
		e->daemon = -1;
	}
	return got;
}

/* Every announcement the daemon received (at most cap), in order. */
static unsigned daemon_received_all(struct env *e, struct mhc_msg *m, unsigned cap)
{
	struct pollfd p = { .fd = e->record, .events = POLLIN };
	unsigned n = 0;

	while (n < cap && e->record >= 0 && poll(&p, 1, 500) == 1 &&
	       read(e->record, &m[n], sizeof(*m)) == sizeof(*m))
		n++;
	daemon_received(e, &(struct mhc_msg){ 0 });
	return n;
}

static void drain(int *fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n = read(*fd, buf + *len, cap - *len);

	if (n > 0) {
		*len += (size_t)n;
		return;
	}
	close(*fd);
	*fd = -1;
}

/* Runs path with argv; vars are "NAME=VALUE" to set, or "-NAME" to unset
 * (NULL-terminated). SSH_CONNECTION is set unless unset here. */
static void run_hook(const char *path, char *const argv[], const char *const vars[])
{
	int out[2], err[2];
	long start = now_ms();
	pid_t pid;

	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		unsetenv("MOSH_HELPER_CONF");
		setenv("SSH_CONNECTION", SSH_CONN, 1);
		for (int i = 0; vars && vars[i]; i++) {
			if (vars[i][0] == '-')
				unsetenv(vars[i] + 1);
			else
				putenv((char *)vars[i]);
		}
		execv(path, argv);
		_exit(126);
	}
	close(out[1]);
	close(err[1]);
	while (out[0] >= 0 || err[0] >= 0) {
		if (sigterm_after_ms && now_ms() - start >= sigterm_after_ms) {
			kill(pid, SIGTERM);
			sigterm_after_ms = 0;
		}
		struct pollfd p[2] = { { .fd = out[0], .events = POLLIN },
				       { .fd = err[0], .events = POLLIN } };

		ck_assert_msg(now_ms() - start < 20000, "hook did not finish in 20 s");
		poll(p, 2, sigterm_after_ms ? 20 : 1000);
		if (p[0].revents)
			drain(&out[0], res.out, sizeof(res.out), &res.out_len);
		if (p[1].revents)
			drain(&err[0], res.err, sizeof(res.err), &res.err_len);
	}
	ck_assert_int_eq(waitpid(pid, &res.status, 0), pid);
	res.ms = now_ms() - start;
	res.out[res.out_len < sizeof(res.out) ? res.out_len : sizeof(res.out) - 1] = '\0';
	res.err[res.err_len < sizeof(res.err) ? res.err_len : sizeof(res.err) - 1] = '\0';
}

static void run_with(const struct env *e, const char *mode, const char *extra)
{
	char var[64];
	char *argv[] = { (char *)"mosh-helper-hook", (char *)"-c", (char *)e->conf,
			 (char *)"--", (char *)"new", (char *)"-p", (char *)"60005", NULL };
	const char *vars[] = { var, extra, NULL };

	snprintf(var, sizeof(var), "FAKE_MODE=%s", mode);
	run_hook(e->hook, argv, vars);
}

static void run_plain(const struct env *e, const char *mode)
{
	run_with(e, mode, NULL);
}

/* mosh-server asked for the ports of range (-p) */
static void run_range(const struct env *e, const char *range)
{
	char *argv[] = { (char *)"mosh-helper-hook", (char *)"-c", (char *)e->conf,
			 (char *)"--", (char *)"new", (char *)"-p", (char *)range, NULL };

	run_hook(e->hook, argv, NULL);
}

static int exit_status(void)
{
	ck_assert_msg(WIFEXITED(res.status), "hook did not exit normally");
	return WEXITSTATUS(res.status);
}

static pid_t fake_child(const struct env *e)
{
	char path[PATH_MAX + 16];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/child.pid", e->dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	ck_assert_int_gt(pid, 1);
	return pid;
}

/* Gone, or a zombie nobody reaps (the container's init may not). */
static bool alive(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z';
}

static bool dies_within(pid_t pid, long ms)
{
	long end = now_ms() + ms;

	while (alive(pid) && now_ms() < end)
		poll(NULL, 0, 20);
	return !alive(pid);
}

static void expect_child_killed(const struct env *e)
{
	pid_t child = fake_child(e);

	ck_assert_msg(dies_within(child, 3000),
		      "the fake session server (pid %d) is still running", (int)child);
}

/* Lines on stderr that come from the hook itself. */
static int hook_lines(void)
{
	int n = 0;

	for (const char *p = res.err; (p = strstr(p, "mosh-helper-hook: ")); p++)
		n += p == res.err || p[-1] == '\n';
	return n;
}

/* The hook's own message: exactly one line, the last one on stderr. */
static const char *last_line(void)
{
	char *end = res.err + res.err_len, *p;

	ck_assert_msg(res.err_len > 0 && end[-1] == '\n', "stderr: '%s'", res.err);
	for (p = end - 1; p > res.err && p[-1] != '\n'; p--)
		;
	ck_assert_int_eq(hook_lines(), 1);
	return p;
}

/* How often needle occurs in hay. */
static unsigned occurs(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The session servers of every try, in order; how many. */
static unsigned fake_children(const struct env *e, pid_t *pids, unsigned cap)
{
	char path[PATH_MAX + 16];
	unsigned n = 0;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/children", e->dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (n < cap && fscanf(f, "%d", &pid) == 1)
		pids[n++] = (pid_t)pid;
	fclose(f);
	return n;
}

static void env_done(struct env *e)
{
	char cmd[PATH_MAX];

	daemon_received(e, &(struct mhc_msg){ 0 });
	snprintf(cmd, sizeof(cmd), "%s/child.pid", e->dir);
	if (access(cmd, R_OK) == 0 && alive(fake_child(e)))
		kill(fake_child(e), SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char expected_err_ok_fmt[] =
	"\nmosh-server (mosh 1.4.0) [build mosh 1.4.0]\n"
	"Copyright 2012 Keith Winstein <mosh-devel@mit.edu>\n"
	"\n[mosh-server detached, pid = %d]\n"
	"stderr tail \002\n";

/* An accepted run: the client was told shown_port; the daemon always
 * learns mosh-server's own port, 60005. */
static void check_ok_run_port(struct env *e, const char *eol, const char *ssh,
			      unsigned shown_port)
{
	char want_out[256], want_err[512];
	struct mhc_msg m;
	pid_t child;

	ck_assert_msg(exit_status() == 0, "exit %d, stderr: %s", exit_status(), res.err);
	child = fake_child(e);
	snprintf(want_out, sizeof(want_out),
		 "MOSH CONNECTED\nMOSH\nMOSH CONNECT %u %s%s"
		 "after \001\377 bytes\n", shown_port, KEY, eol);
	snprintf(want_err, sizeof(want_err), expected_err_ok_fmt, (int)child);
	ck_assert_uint_eq(res.out_len, strlen(want_out));
	ck_assert_int_eq(memcmp(res.out, want_out, res.out_len), 0);
	ck_assert_str_eq(res.err, want_err);
	ck_assert_msg(daemon_received(e, &m), "the daemon got no announcement");
	ck_assert_uint_eq(m.type, MHC_ANNOUNCE);
	ck_assert_uint_eq(m.u.announce.port, 60005);
	ck_assert_str_eq(m.u.announce.key, KEY);
	ck_assert_uint_eq(m.u.announce.pid, (uint32_t)child);
	ck_assert_str_eq(m.u.announce.ssh_connection, ssh);
	ck_assert_msg(alive(child), "an accepted session's server must keep running");
}

static void check_ok_run_ssh(struct env *e, const char *eol, const char *ssh)
{
	check_ok_run_port(e, eol, ssh, 60005);
}

static void check_ok_run(struct env *e, const char *eol)
{
	check_ok_run_ssh(e, eol, SSH_CONN);
}

START_TEST(test_ok_passes_everything)
{
	struct env e;

	env_init(&e);
	daemon_start(&e, D_OK);
	run_plain(&e, "ok");
	check_ok_run(&e, "\n");
	env_done(&e);
}
END_TEST

START_TEST(test_ok_crlf)
{
	struct env e;

	env_init(&e);
	daemon_start(&e, D_OK);
	run_plain(&e, "crlf");
	check_ok_run(&e, "\r\n");
	env_done(&e);
}
END_TEST

/* SSH_CONNECTION is a hint: unset, too long or not printable, "" is sent */
START_TEST(test_ok_odd_ssh_connection)
{
	static char long_var[300];
	const char *vars[] = { "-SSH_CONNECTION", long_var,
			       "SSH_CONNECTION=198.18.0.1 1\t198.18.0.2 22" };
	struct env e;

	snprintf(long_var, sizeof(long_var), "SSH_CONNECTION=%0*d", MHC_SSH_CONN_MAX + 1, 7);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		env_init(&e);
		daemon_start(&e, D_OK);
		run_with(&e, "ok", vars[i]);
		check_ok_run_ssh(&e, "\n", "");
		env_done(&e);
	}
}
END_TEST

/* Single-port mode: the client is told the public port, with the key and
 * the line end exactly as printed; the daemon gets the real port. */
START_TEST(test_single_port_shows_public_port)
{
	static const struct { const char *mode, *eol; unsigned port; } cases[] = {
		{ "ok", "\n", 443 }, { "crlf", "\r\n", 7 }, { "ok", "\n", 65535 },
		{ "crlf", "\r\n", 60000 },
	};
	char extra[128];
	struct env e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env_init(&e);
		snprintf(extra, sizeof(extra),
			 "single_port = { enable = true; port = %u; };\n", cases[i].port);
		write_config_extra(&e, e.server, extra);
		daemon_start(&e, D_OK);
		run_plain(&e, cases[i].mode);
		check_ok_run_port(&e, cases[i].eol, SSH_CONN, cases[i].port);
		env_done(&e);
	}
}
END_TEST

/* A MOSH CONNECT line that ends stdout without a line end stays so. */
START_TEST(test_single_port_no_line_end)
{
	static const char *const confs[] = {
		"single_port = { enable = true; port = 443; };\n",
		"single_port = { enable = false; port = 443; };\n",
	};
	static const char *const want[] = {
		"MOSH CONNECTED\nMOSH\nMOSH CONNECT 443 " KEY,
		"MOSH CONNECTED\nMOSH\nMOSH CONNECT 60005 " KEY,
	};
	struct env e;
	struct mhc_msg m;

	for (size_t i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		env_init(&e);
		write_config_extra(&e, e.server, confs[i]);
		daemon_start(&e, D_OK);
		run_plain(&e, "noeol");
		ck_assert_msg(exit_status() == 0, "exit %d, stderr: %s", exit_status(), res.err);
		ck_assert_uint_eq(res.out_len, strlen(want[i]));
		ck_assert_int_eq(memcmp(res.out, want[i], res.out_len), 0);
		ck_assert(daemon_received(&e, &m));
		ck_assert_uint_eq(m.u.announce.port, 60005);
		env_done(&e);
	}
}
END_TEST

/* Off (explicitly, with a port set): mosh-server's own port is shown. */
START_TEST(test_single_port_off)
{
	struct env e;

	env_init(&e);
	write_config_extra(&e, e.server, "single_port = { enable = false; port = 443; };\n");
	daemon_start(&e, D_OK);
	run_plain(&e, "crlf");
	check_ok_run(&e, "\r\n");
	env_done(&e);
}
END_TEST

/* Refused in single-port mode: neither port nor key reaches the client. */
START_TEST(test_single_port_refused)
{
	struct env e;
	struct mhc_msg m;

	env_init(&e);
	write_config_extra(&e, e.server, "single_port = { enable = true; port = 443; };\n");
	daemon_start(&e, D_REFUSE);
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_ptr_null(strstr(res.out, "MOSH CONNECT "));
	ck_assert_ptr_null(strstr(res.out, KEY));
	ck_assert(daemon_received(&e, &m));
	ck_assert_uint_eq(m.u.announce.port, 60005);
	expect_child_killed(&e);
	env_done(&e);
}
END_TEST

START_TEST(test_ok_large_output)
{
	struct env e;
	struct mhc_msg m;

	env_init(&e);
	daemon_start(&e, D_OK);
	run_plain(&e, "big");
	ck_assert_int_eq(exit_status(), 0);
	ck_assert_uint_eq(res.out_len, 100000 + strlen("MOSH CONNECTED\nMOSH\n") +
			  strlen("MOSH CONNECT 60005 " KEY "\n") + strlen("after \001\377 bytes\n"));
	for (size_t i = 0; i < 100000; i++)
		ck_assert_int_eq(res.out[i], 'x');
	ck_assert_int_eq(memcmp(res.out + 100000, "MOSH CONNECTED\nMOSH\nMOSH CONNECT 60005 ", 39), 0);
	ck_assert(daemon_received(&e, &m));
	env_done(&e);
}
END_TEST

START_TEST(test_refused)
{
	struct env e;
	struct mhc_msg m;

	env_init(&e);
	daemon_start(&e, D_REFUSE);
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_str_eq(last_line(), "mosh-helper-hook: mosh-helperd refused the session: "
			 REFUSAL " (MHC_ERR_RANGE)\n");
	ck_assert_ptr_null(strstr(res.out, "MOSH CONNECT "));
	ck_assert_ptr_null(strstr(res.err, KEY));
	ck_assert(daemon_received(&e, &m));
	expect_child_killed(&e);
	env_done(&e);
}
END_TEST

#define TAKEN(port) "mosh-helper-hook: mosh-helperd refused the session: port " \
	port " already has a session (MHC_ERR_EXISTS)"

/* Port 60005 has another session: mosh-server again on 60006:60007, and
 * only that one's line (and what follows it) reaches the client. */
START_TEST(test_taken_next_port)
{
	struct mhc_msg m[4];
	pid_t kids[4];
	char args[256];
	struct env e;
	FILE *f;
	size_t n;

	env_init(&e);
	daemon_start(&e, D_TAKEN);
	run_range(&e, "60005:60007");
	ck_assert_msg(exit_status() == 0, "exit %d, stderr: %s", exit_status(), res.err);
	ck_assert_uint_eq(occurs(res.out, "MOSH CONNECT "), 1);
	ck_assert_ptr_nonnull(strstr(res.out, "MOSH CONNECT 60006 " KEY "\nafter \001\377 bytes\n"));
	ck_assert_uint_eq(occurs(res.out, "after \001\377 bytes\n"), 1);
	ck_assert_uint_eq(occurs(res.err, "trying the next port"), 1);
	ck_assert_ptr_nonnull(strstr(res.err, TAKEN("60005") "; trying the next port\n"));
	ck_assert_int_eq(hook_lines(), 1);
	ck_assert_uint_eq(fake_children(&e, kids, 4), 2);
	ck_assert_uint_eq(daemon_received_all(&e, m, 4), 2);
	ck_assert_uint_eq(m[0].u.announce.port, 60005);
	ck_assert_uint_eq(m[1].u.announce.port, 60006);
	ck_assert_uint_eq(m[0].u.announce.pid, (uint32_t)kids[0]);
	ck_assert_uint_eq(m[1].u.announce.pid, (uint32_t)kids[1]);
	ck_assert_msg(dies_within(kids[0], 3000), "the refused try's server runs");
	ck_assert_msg(alive(kids[1]), "the accepted session's server must keep running");
	snprintf(args, sizeof(args), "%s/args", e.dir);
	f = fopen(args, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(args, 1, sizeof(args) - 1, f);
	args[n] = '\0';
	fclose(f);
	ck_assert_str_eq(args, "new\n-p\n60006:60007\n");
	env_done(&e);
}
END_TEST

/* A single port, the top of the range, HOOK_PORT_TRIES servers, a
 * gateway's refusal: final, the last refusal as the hook's last line. */
START_TEST(test_taken_final)
{
	static const struct {
		enum daemon_mode mode;
		const char *range, *last;
		unsigned tries;
	} t[] = {
		{ D_TAKEN, "60005", TAKEN("60005") "\n", 1 },
		{ D_TAKEN_ALL, "60005:60006", TAKEN("60006") "\n", 2 },
		{ D_TAKEN_ALL, "60005:60999", TAKEN("60020") "\n", 16 },
		{ D_GATEWAY, "60005:60999", "mosh-helper-hook: mosh-helperd refused the "
		  "session: port 60005 already has a session (MHC_ERR_GATEWAY)\n", 1 },
	};
	struct mhc_msg m[20];
	pid_t kids[20];
	struct env e;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		env_init(&e);
		daemon_start(&e, t[i].mode);
		run_range(&e, t[i].range);
		ck_assert_int_eq(exit_status(), 1);
		ck_assert_msg(occurs(res.err, "mosh-helper-hook: ") == t[i].tries, "%s", res.err);
		ck_assert_uint_eq(occurs(res.err, "; trying the next port\n"), t[i].tries - 1);
		ck_assert_str_eq(res.err + res.err_len - strlen(t[i].last), t[i].last);
		ck_assert_ptr_null(strstr(res.out, "MOSH CONNECT "));
		ck_assert_uint_eq(fake_children(&e, kids, 20), t[i].tries);
		ck_assert_uint_eq(daemon_received_all(&e, m, 20), t[i].tries);
		for (unsigned k = 0; k < t[i].tries; k++) {
			ck_assert_uint_eq(m[k].u.announce.port, 60005 + k);
			ck_assert_msg(dies_within(kids[k], 3000), "try %u's server runs", k);
		}
		env_done(&e);
	}
}
END_TEST

START_TEST(test_daemon_down)
{
	struct env e;
	char want[PATH_MAX + 128];

	env_init(&e);
	daemon_start(&e, D_DOWN);
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	snprintf(want, sizeof(want), "mosh-helper-hook: cannot reach mosh-helperd at %s: "
		 "No such file or directory\n", e.sock);
	ck_assert_str_eq(last_line(), want);
	ck_assert_ptr_null(strstr(res.out, "MOSH CONNECT "));
	expect_child_killed(&e);
	env_done(&e);
}
END_TEST

START_TEST(test_daemon_silent)
{
	struct env e;
	char want[PATH_MAX + 128];

	env_init(&e);
	daemon_start(&e, D_SILENT);
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	snprintf(want, sizeof(want), "mosh-helper-hook: mosh-helperd at %s did not "
		 "answer within 1 s\n", e.sock);
	ck_assert_str_eq(last_line(), want);
	/* hook_timeout = 1 s, plus the kill and the fake server's start */
	ck_assert_int_ge(res.ms, 1000);
	ck_assert_int_lt(res.ms, 4000);
	ck_assert_ptr_null(strstr(res.out, "MOSH CONNECT "));
	expect_child_killed(&e);
	env_done(&e);
}
END_TEST

/* SIGTERM (ssh going away) before the answer: no orphan server */
START_TEST(test_sigterm_while_waiting)
{
	struct env e;

	env_init(&e);
	daemon_start(&e, D_SILENT);
	sigterm_after_ms = 500;          /* inside the 1 s wait for the daemon */
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_str_eq(last_line(), "mosh-helper-hook: interrupted by signal 15; "
			 "stopping mosh-server\n");
	ck_assert_int_lt(res.ms, 3000);
	ck_assert_ptr_null(strstr(res.out, "MOSH CONNECT "));
	expect_child_killed(&e);
	env_done(&e);
}
END_TEST

START_TEST(test_daemon_garbage_or_close)
{
	struct env e;

	env_init(&e);
	daemon_start(&e, D_GARBAGE);
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_msg(strstr(last_line(), "mosh-helperd sent a malformed reply ("),
		      "%s", res.err);
	ck_assert_ptr_null(strstr(res.out, "MOSH CONNECT "));
	expect_child_killed(&e);
	env_done(&e);

	env_init(&e);
	daemon_start(&e, D_CLOSE);
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_msg(strstr(last_line(), "closed the connection without answering"),
		      "%s", res.err);
	expect_child_killed(&e);
	env_done(&e);
}
END_TEST

START_TEST(test_no_pid_line)
{
	struct env e;
	struct mhc_msg m;

	env_init(&e);
	daemon_start(&e, D_OK);
	run_plain(&e, "nopid");
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_msg(strstr(last_line(), "mosh-helper-hook: mosh-server exited without "
			     "reporting the pid"), "%s", res.err);
	ck_assert_ptr_null(strstr(res.out, "MOSH CONNECT "));
	ck_assert(!daemon_received(&e, &m));
	/* found without its pid line: the hook is its subreaper */
	expect_child_killed(&e);
	env_done(&e);
}
END_TEST

START_TEST(test_server_fails)
{
	struct env e;
	struct mhc_msg m;

	env_init(&e);
	daemon_start(&e, D_OK);
	run_plain(&e, "fail");
	ck_assert_int_eq(exit_status(), 3);
	ck_assert_str_eq(res.out, "no newline at the end");
	ck_assert_str_eq(res.err, "bind: Address already in use\n");
	ck_assert(!daemon_received(&e, &m));
	env_done(&e);
}
END_TEST

START_TEST(test_server_path_is_hook)
{
	struct env e;
	char link[PATH_MAX + 32];

	env_init(&e);
	daemon_start(&e, D_OK);
	write_config(&e, e.hook);
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_msg(strstr(res.err, "is this hook itself"), "%s", res.err);
	ck_assert_uint_eq(res.out_len, 0);

	/* through a symlink named like the real thing */
	snprintf(link, sizeof(link), "%s/mosh-server", e.dir);
	ck_assert_int_eq(symlink(e.hook, link), 0);
	write_config(&e, link);
	run_plain(&e, "ok");
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_msg(strstr(last_line(), "is this hook itself"), "%s", res.err);
	ck_assert_ptr_eq(strchr(res.err, '\n'), res.err + res.err_len - 1);
	env_done(&e);
}
END_TEST

START_TEST(test_invoked_as_mosh_server)
{
	struct env e;
	char bin[PATH_MAX + 16], link[PATH_MAX + 32], var[PATH_MAX + 32], args[256];
	char *argv[] = { link, (char *)"new", (char *)"-c", (char *)"256",
			 (char *)"-p", (char *)"60005", NULL };
	const char *vars[] = { var, "FAKE_MODE=ok", NULL };
	FILE *f;
	size_t n;

	env_init(&e);
	daemon_start(&e, D_OK);
	snprintf(bin, sizeof(bin), "%s/bin", e.dir);
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	snprintf(link, sizeof(link), "%s/mosh-server", bin);
	ck_assert_int_eq(symlink(e.hook, link), 0);
	snprintf(var, sizeof(var), "MOSH_HELPER_CONF=%s", e.conf);
	run_hook(link, argv, vars);
	check_ok_run(&e, "\n");
	/* every argument, "-c 256" included, reached the real server */
	snprintf(var, sizeof(var), "%s/args", e.dir);
	f = fopen(var, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(args, 1, sizeof(args) - 1, f);
	args[n] = '\0';
	fclose(f);
	ck_assert_str_eq(args, "new\n-c\n256\n-p\n60005\n");
	env_done(&e);

	/* the config named by MOSH_HELPER_CONF is the one used */
	env_init(&e);
	snprintf(var, sizeof(var), "MOSH_HELPER_CONF=%s/missing.conf", e.dir);
	snprintf(link, sizeof(link), "%s/mosh-server", e.dir);
	ck_assert_int_eq(symlink(e.hook, link), 0);
	run_hook(link, argv, vars);
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_msg(strstr(res.err, "missing.conf: No such file or directory"), "%s", res.err);
	env_done(&e);
}
END_TEST

START_TEST(test_usage_and_config_errors)
{
	struct env e;
	char *bad_opt[] = { (char *)"mosh-helper-hook", (char *)"-x", (char *)"--",
			    (char *)"new", NULL };
	char *no_arg[] = { (char *)"mosh-helper-hook", (char *)"-c", NULL };
	char *bad_conf[] = { (char *)"mosh-helper-hook", (char *)"-c", NULL, (char *)"--",
			     (char *)"new", NULL };
	char path[PATH_MAX + 16];

	env_init(&e);
	run_hook(e.hook, bad_opt, NULL);
	ck_assert_int_eq(exit_status(), 2);
	ck_assert_msg(strstr(res.err, "unknown option -x"), "%s", res.err);
	run_hook(e.hook, no_arg, NULL);
	ck_assert_int_eq(exit_status(), 2);
	ck_assert_msg(strstr(res.err, "option -c needs an argument"), "%s", res.err);

	snprintf(path, sizeof(path), "%s/bad.conf", e.dir);
	write_file(path, "hook_timeout = 0;\n", 0644);
	bad_conf[2] = path;
	run_hook(e.hook, bad_conf, NULL);
	ck_assert_int_eq(exit_status(), 1);
	ck_assert_msg(strstr(res.err, "bad.conf:1: hook_timeout: 0 is out of range 1..60\n"),
		      "%s", res.err);
	ck_assert_uint_eq(res.out_len, 0);
	env_done(&e);
}
END_TEST

static Suite *hook_suite(void)
{
	Suite *s = suite_create("hook");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ok_passes_everything);
	tcase_add_test(tc, test_ok_crlf);
	tcase_add_test(tc, test_ok_odd_ssh_connection);
	tcase_add_test(tc, test_single_port_shows_public_port);
	tcase_add_test(tc, test_single_port_no_line_end);
	tcase_add_test(tc, test_single_port_off);
	tcase_add_test(tc, test_single_port_refused);
	tcase_add_test(tc, test_ok_large_output);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_taken_next_port);
	tcase_add_test(tc, test_taken_final);
	tcase_add_test(tc, test_daemon_down);
	tcase_add_test(tc, test_daemon_silent);
	tcase_add_test(tc, test_sigterm_while_waiting);
	tcase_add_test(tc, test_daemon_garbage_or_close);
	tcase_add_test(tc, test_no_pid_line);
	tcase_add_test(tc, test_server_fails);
	tcase_add_test(tc, test_server_path_is_hook);
	tcase_add_test(tc, test_invoked_as_mosh_server);
	tcase_add_test(tc, test_usage_and_config_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mh_check_run(hook_suite());
}
