/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The managed range (and in single-port mode the public port) kept out of
 * the kernel's ephemeral port allocator: at start, before privileges go,
 * they are merged into net.ipv4.ip_local_reserved_ports of the daemon's
 * network namespace (reserve_ports), or the daemon refuses to start and
 * says why. Without it, a warning names the overlap of
 * ip_local_port_range with the range. Parsing is lib/portlist.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "portlist.h"

#define RESERVED_PATH  "/proc/sys/net/ipv4/ip_local_reserved_ports"
#define EPHEMERAL_PATH "/proc/sys/net/ipv4/ip_local_port_range"
#define RESERVED_NAME  "net.ipv4.ip_local_reserved_ports"
/* The kernel parses at most a page less one byte per write. */
#define SYSCTL_WRITE_MAX 4095
#define SHOW_MAX 200           /* bytes of a port list quoted in the log */
#define ADVICE "install contrib/60-mosh-helper.conf as " \
	"/etc/sysctl.d/60-mosh-helper.conf and run `sysctl --system`, or set " \
	"reserve_ports = false (see local_flows in mosh-helper.conf)"

struct reserve {
	struct mh_portset now, want;
	char text[MH_PORTSET_TEXT_MAX + 2];
	size_t len;
};

/* The whole file in one read (the kernel prints a port list only at
 * offset 0); 0 or -errno, -EFBIG if it did not fit. */
static int read_sysctl(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	if ((size_t)n == size)
		return -EFBIG;
	*len = (size_t)n;
	buf[n] = 0;
	return 0;
}

static int write_sysctl(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

static int read_reserved(struct reserve *r)
{
	int err = read_sysctl(RESERVED_PATH, r->text, sizeof(r->text) - 1, &r->len);

	if (!err && mh_portset_parse(&r->now, r->text, r->len))
		err = -EBADMSG;
	return err;
}

/* What the daemon needs reserved: the range, and the public port of
 * single-port mode (wherever it lies: every datagram to it goes through
 * mux_pre, so a program the allocator gave it would never get a reply). */
static void wanted(const struct mh_daemon *d, struct mh_portset *w)
{
	mh_portset_clear(w);
	mh_portset_add(w, d->cfg.port_low, d->cfg.port_high);
	if (d->pol.public_port)
		mh_portset_add(w, d->pol.public_port, d->pol.public_port);
}

static bool covered(const struct mh_portset *have, const struct mh_portset *want)
{
	for (size_t i = 0; i < sizeof(want->bits); i++)
		if ((have->bits[i] & want->bits[i]) != want->bits[i])
			return false;
	return true;
}

/* "60000-61000" or "60000-61000 and 443" */
static void what(const struct mh_daemon *d, char *buf, size_t len)
{
	bool extra = d->pol.public_port && (d->pol.public_port < d->cfg.port_low ||
					    d->pol.public_port > d->cfg.port_high);

	if (extra)
		snprintf(buf, len, "%u-%u and %u", d->cfg.port_low, d->cfg.port_high,
			 d->pol.public_port);
	else
		snprintf(buf, len, "%u-%u", d->cfg.port_low, d->cfg.port_high);
}

/* Length of a port list as the log quotes it: no newline, SHOW_MAX at most. */
static int shown(const char *t)
{
	size_t n = t ? strcspn(t, "\n") : 0;

	return n < SHOW_MAX ? (int)n : SHOW_MAX;
}

/* Merge, write, read back. The old list is in r->text on entry. */
static void merge_and_write(struct reserve *r, const char *ports)
{
	char *old = strndup(r->text, SHOW_MAX);
	struct mh_portset merged = r->now;
	int n, err;

	for (size_t i = 0; i < sizeof(merged.bits); i++)
		merged.bits[i] |= r->want.bits[i];
	n = mh_portset_format(&merged, r->text, sizeof(r->text) - 1);
	if (n < 0 || n + 1 > SYSCTL_WRITE_MAX)
		fatal("reserve_ports: ports %s plus those reserved already make a list "
		      "longer than the kernel takes in one write (%d bytes); %s",
		      ports, SYSCTL_WRITE_MAX, ADVICE);
	r->text[n] = '\n';
	err = write_sysctl(RESERVED_PATH, r->text, (size_t)n + 1);
	if (!err)
		err = read_reserved(r);
	if (!err && !covered(&r->now, &r->want))
		err = -EIO;
	if (err)
		fatal("reserve_ports: cannot reserve ports %s from the kernel's "
		      "ephemeral allocator: writing %s failed: %s; %s", ports,
		      RESERVED_NAME, strerror(-err), ADVICE);
	log_info("reserve_ports: reserved ports %s from the kernel's ephemeral "
		 "allocator (%s was \"%.*s\", now \"%.*s\")", ports, RESERVED_NAME,
		 shown(old), old ? old : "", shown(r->text), r->text);
	free(old);
}

static void reserve(struct mh_daemon *d, struct reserve *r)
{
	char ports[32];
	int err = read_reserved(r);

	what(d, ports, sizeof(ports));
	if (err)
		fatal("reserve_ports: cannot read %s: %s; %s", RESERVED_NAME,
		      strerror(-err), ADVICE);
	wanted(d, &r->want);
	if (covered(&r->now, &r->want)) {
		log_info("reserve_ports: ports %s are reserved from the kernel's "
			 "ephemeral allocator (%s)", ports, RESERVED_NAME);
		return;
	}
	merge_and_write(r, ports);
}

/* reserve_ports = false: say so if ephemeral ports may land in the range. */
static void warn_overlap(struct mh_daemon *d, struct reserve *r)
{
	uint16_t elo, ehi, lo, hi, glo, ghi;
	int err = read_sysctl(EPHEMERAL_PATH, r->text, sizeof(r->text) - 1, &r->len);

	if (!err && mh_port_range_parse(r->text, r->len, &elo, &ehi))
		err = -EBADMSG;
	if (err) {
		log_warn("reserve_ports = false and %s unreadable (%s): cannot tell "
			 "whether local programs may get ports of the range",
			 EPHEMERAL_PATH, strerror(-err));
		return;
	}
	lo = elo > d->cfg.port_low ? elo : d->cfg.port_low;
	hi = ehi < d->cfg.port_high ? ehi : d->cfg.port_high;
	if (lo > hi || (!read_reserved(r) && !mh_portset_first_gap(&r->now, lo, hi, &glo, &ghi)))
		return;
	log_warn("reserve_ports = false: ip_local_port_range %u-%u overlaps ports "
		 "%u-%u (%u-%u, not reserved in %s): the kernel may give local "
		 "programs (DNS lookups, any UDP client) a port of the range, and %s",
		 elo, ehi, d->cfg.port_low, d->cfg.port_high, lo, hi, RESERVED_NAME,
		 d->cfg.local_flows
		 ? "local_flows lets any local socket on a non-session port of the "
		   "range send to anyone; reserve the range instead (reserve_ports = true)"
		 : "the table drops their datagrams (the range sends only to pinholed "
		   "peers); reserve the range (reserve_ports = true) or set local_flows = true");
}

void mh_reserve_ports(struct mh_daemon *d)
{
	struct reserve *r = calloc(1, sizeof(*r));

	if (!r)
		fatal("reserve_ports: %s", strerror(ENOMEM));
	if (d->cfg.reserve_ports)
		reserve(d, r);
	else
		warn_overlap(d, r);
	free(r);
}
