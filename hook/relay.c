/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-hook's output relay: mosh-server's stdout and stderr pass
 * through byte for byte, except that the "MOSH CONNECT <port> <key>" line
 * (and any stdout after it) is held until the daemon accepts the session,
 * and that in single-port mode its port becomes the public port. stderr is
 * scanned for "[mosh-server detached, pid = N]". Also the hook's own
 * one-line messages.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hook.h"

#define PREFIX_LEN (sizeof(CONNECT_PREFIX) - 1)

int hook_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line on stderr, starting on a fresh line. */
void hook_say(struct hook_run *h, const char *fmt, ...)
{
	char msg[1024];
	size_t len;
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "%s%s: ", h->err_mid_line ? "\n" : "",
		     HOOK_NAME);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	len = strlen(msg);
	msg[len++] = '\n';
	hook_write_all(STDERR_FILENO, msg, len);
	h->err_mid_line = false;
}

static void out_write(struct hook_run *h, const char *p, size_t n)
{
	if (!h->out_broken && hook_write_all(STDOUT_FILENO, p, n) < 0)
		h->out_broken = true;   /* keep relaying stderr; drop stdout */
}

static bool is_b64(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

/* "MOSH CONNECT <port> <key>" with an optional "\r\n" or "\n" end. */
static int hook_parse_connect(const char *line, size_t len, uint16_t *port,
		       char key[SSP_KEY_B64_LEN + 1])
{
	const char *p, *end = line + len;
	unsigned long v = 0;
	size_t digits = 0;

	if (len < PREFIX_LEN || memcmp(line, CONNECT_PREFIX, PREFIX_LEN) != 0)
		return -EINVAL;
	p = line + PREFIX_LEN;
	if (end > p && end[-1] == '\n')
		end--;
	if (end > p && end[-1] == '\r')
		end--;
	for (; p < end && *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (digits == 0 || digits > 5 || v < 1 || v > 65535)
		return -EINVAL;
	if (p >= end || *p++ != ' ' || end - p != SSP_KEY_B64_LEN)
		return -EINVAL;
	for (int i = 0; i < SSP_KEY_B64_LEN; i++)
		if (!is_b64(p[i]))
			return -EINVAL;
	memcpy(key, p, SSP_KEY_B64_LEN);
	key[SSP_KEY_B64_LEN] = '\0';
	*port = (uint16_t)v;
	return 0;
}

/* "[mosh-server detached, pid = N]" (an optional '\r' tolerated); the pid
 * or 0 if the line is something else. */
static pid_t hook_parse_detached(const char *line, size_t len)
{
	size_t plen = sizeof(DETACHED_PREFIX) - 1, i = plen;
	long v = 0;

	if (len && line[len - 1] == '\r')
		len--;
	if (len < plen + 2 || memcmp(line, DETACHED_PREFIX, plen) != 0 ||
	    line[len - 1] != ']')
		return 0;
	for (; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9' || v > 99999999)
			return 0;
		v = v * 10 + (line[i] - '0');
	}
	return (pid_t)v;
}

static int connect_line_done(struct hook_run *h)
{
	if (hook_parse_connect(h->line, h->line_len, &h->port, h->key) < 0) {
		hook_say(h, "mosh-server printed a MOSH CONNECT line the hook cannot read");
		return -EBADMSG;
	}
	h->held = true;
	h->ostate = OUT_RAW;
	return 0;
}

/* One byte of a line that may be the MOSH CONNECT line. */
static int out_line_byte(struct hook_run *h, char ch)
{
	if (h->line_len == sizeof(h->line)) {
		hook_say(h, "mosh-server printed a MOSH CONNECT line longer than %d bytes",
			 HOOK_LINE_MAX);
		return -E2BIG;
	}
	h->line[h->line_len++] = ch;
	if (h->ostate == OUT_CONNECT)
		return ch == '\n' ? connect_line_done(h) : 0;
	if (ch != CONNECT_PREFIX[h->line_len - 1]) {
		out_write(h, h->line, h->line_len);   /* an ordinary line */
		h->line_len = 0;
		h->ostate = ch == '\n' ? OUT_START : OUT_PASS;
		return 0;
	}
	h->ostate = h->line_len == PREFIX_LEN ? OUT_CONNECT : OUT_PREFIX;
	return 0;
}

static void pend(struct hook_run *h, const char *p, size_t n)
{
	size_t room = sizeof(h->pending) - h->pending_len;

	/* the caller reads at most `room` bytes while holding: n fits */
	if (n > room)
		n = room;
	memcpy(h->pending + h->pending_len, p, n);
	h->pending_len += n;
}

int hook_out_feed(struct hook_run *h, const char *p, size_t n)
{
	while (n) {
		size_t used = 1;
		int r = 0;

		if (h->held && !h->accepted) {
			pend(h, p, n);
			return 0;
		}
		if (h->ostate == OUT_RAW) {
			used = n;
			out_write(h, p, n);
		} else if (h->ostate == OUT_PASS) {
			const char *nl = memchr(p, '\n', n);

			used = nl ? (size_t)(nl - p) + 1 : n;
			out_write(h, p, used);
			if (nl)
				h->ostate = OUT_START;
		} else {
			r = out_line_byte(h, *p);
		}
		if (r)
			return r;
		p += used;
		n -= used;
	}
	return 0;
}

/* stdout ended (or mosh-server is gone): a started prefix was an ordinary
 * line; a MOSH CONNECT line without its newline is still one. */
int hook_out_eof(struct hook_run *h)
{
	if (h->ostate == OUT_PREFIX) {
		out_write(h, h->line, h->line_len);
		h->line_len = 0;
		h->ostate = OUT_PASS;
	} else if (h->ostate == OUT_CONNECT) {
		return connect_line_done(h);
	}
	return 0;
}

/* The held MOSH CONNECT line as the client gets it. In single-port mode
 * the public port replaces mosh-server's own (which only the daemon
 * learns); the key and the line end stay as mosh-server printed them. */
static void write_connect_line(struct hook_run *h)
{
	char buf[HOOK_LINE_MAX + 8];  /* 5 digits replace at least 1 */
	const char *rest = h->line + PREFIX_LEN, *end = h->line + h->line_len;
	size_t n, len;

	if (!h->cfg->single_port) {
		out_write(h, h->line, h->line_len);
		return;
	}
	while (rest < end && *rest >= '0' && *rest <= '9')
		rest++;               /* the parsed line holds 1-5 digits here */
	n = (size_t)snprintf(buf, sizeof(buf), "%s%u", CONNECT_PREFIX,
			     (unsigned)h->cfg->public_port);
	len = (size_t)(end - rest);
	if (len > sizeof(buf) - n)
		len = sizeof(buf) - n;
	memcpy(buf + n, rest, len);
	out_write(h, buf, n + len);
	explicit_bzero(buf, sizeof(buf));
}

/* The daemon accepted: the held line, then whatever followed it. */
int hook_out_release(struct hook_run *h)
{
	h->accepted = true;
	write_connect_line(h);
	out_write(h, h->pending, h->pending_len);
	h->pending_len = 0;
	return h->out_broken ? -EPIPE : 0;
}

static void err_line_byte(struct hook_run *h, char ch)
{
	pid_t pid;

	if (ch != '\n') {
		if (h->eline_len < sizeof(h->eline))
			h->eline[h->eline_len++] = ch;
		else
			h->eline_long = true;
		return;
	}
	if (!h->eline_long && h->detached == 0) {
		pid = hook_parse_detached(h->eline, h->eline_len);
		if (pid > 0)
			h->detached = pid;
	}
	h->eline_len = 0;
	h->eline_long = false;
}

void hook_err_feed(struct hook_run *h, const char *p, size_t n)
{
	if (n == 0)
		return;
	hook_write_all(STDERR_FILENO, p, n);
	h->err_mid_line = p[n - 1] != '\n';
	for (size_t i = 0; i < n; i++)
		err_line_byte(h, p[i]);
}
