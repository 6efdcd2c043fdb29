/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nfttool: drives nft/ (the library's builders and socket edge) from the
 * command line for integration tests and benchmarks: probe the queue
 * flavour, the table flags and the form of a map lookup, load or delete
 * the table (optionally in single-port mode, with or without per-source
 * and per-session budgets, with a given pinhole set size, adopting an
 * existing table as a restarted or reloading daemon does),
 * add/delete pinholes, session ports and mux mappings, dump pinholes and
 * mappings with their remaining time; the same for the perimeter
 * gateway's table (gw-* commands). Run `nfttool` for usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "log.h"
#include "nft.h"
#include "nft_gw.h"

#define BATCH_LIMIT  (64 * 1024)
#define BATCH_ELEMS  256    /* pinholes per batch with --count */
#define DEFAULT_PROVISIONAL_MS 10000   /* the daemon's candidate lifetime */
#define DEFAULT_RATE           20000   /* slow_path_rate default */
#define DEFAULT_PER_SOURCE     200     /* slow_path_rate_per_source default */
#define DEFAULT_MARK           MH_DEFAULT_ACCEPT_MARK
#define DEFAULT_PER_SESSION    10      /* slow_path_rate_per_session default */

enum queue_mode { Q_AUTO, Q_NATIVE, Q_COMPAT };
enum map_mode { MAP_AUTO, MAP_DREG, MAP_PLAIN };

struct opts {
	struct mh_ruleset_params p;
	enum queue_mode mode;
	enum map_mode map;
	unsigned long count;
	bool async;
	bool provisional;
};

static char batch_buf[2 * BATCH_LIMIT];

_Noreturn static void usage(void)
{
	fprintf(stderr,
		"usage: nfttool COMMAND [options]\n"
		"  probe                          print native or compat\n"
		"  probe-flags                    print the table flags the kernel has:\n"
		"                                 owner,persist, owner or none\n"
		"  probe-map                      print plain (a map lookup without a\n"
		"                                 value register works) or dreg\n"
		"  load [--ports L-H] [--idle MS] [--queue N] [--queues TOTAL]\n"
		"       [--rate R] [--per-source R] [--per-session R] [--set-size N]\n"
		"       [--compat|--native|--auto]\n"
		"       [--single-port PORT [--provisional-ms MS]] [--adopt]\n"
		"       [--mark BITS] [--owned] [--map-dreg|--map-plain]\n"
		"       [--local-flows]   (the opt-in exception for the host's own flows)\n"
		"       [--refresh]       (the pinhole rules refresh the pinholes, no\n"
		"                          seen4/6: the daemon's table on kernels\n"
		"                          without element timeout updates)\n"
		"       (--per-source: packets/s per source address or /64, 0 = off,\n"
		"        default %d; --per-session: packets/s per session port and\n"
		"        direction, 0 = off, default %d; --set-size: pinholes/mappings\n"
		"        per family, 0 = %d; --rate default %d; --mark: accept mark,\n"
		"        0 = off, default 0x%x; --owned: flags owner,persist, an orphan\n"
		"        once nfttool exits; --map-dreg/--map-plain: the form of\n"
		"        mux_in's map lookups, default as probe-map finds)\n"
		"  delete\n"
		"  add-pinhole ADDR CPORT SPORT [TIMEOUT_MS] [--count N] [--async]\n"
		"  rearm-pinhole ADDR CPORT SPORT TIMEOUT_MS LEFT_MS  (the read-back's)\n"
		"  dump-seen                      seen4/6: keys with remaining ms\n"
		"  del-pinhole ADDR CPORT SPORT [--count N] [--async]\n"
		"  add-session PORT | del-session PORT\n"
		"  dump                           pinholes with remaining ms\n"
		"  add-mux ADDR CPORT SPORT [TIMEOUT_MS] [--provisional]\n"
		"  del-mux ADDR CPORT SPORT [--provisional]\n"
		"  dump-mux                       mappings with remaining ms\n"
		"  gw-load [load's options but --local-flows; --per-session:\n"
		"        per server address . port]\n"
		"                                 the perimeter gateway's table (forward hook)\n"
		"  gw-delete\n"
		"  gw-add-session SADDR SPORT | gw-del-session SADDR SPORT\n"
		"  gw-add-pinhole CADDR CPORT SADDR SPORT [TIMEOUT_MS] [--count N] [--async]\n"
		"  gw-del-pinhole CADDR CPORT SADDR SPORT [--count N] [--async]\n"
		"                                 (--count: client addresses CADDR + i)\n"
		"  gw-dump                        sessions, then pinholes with remaining ms\n"
		"every command takes --table T (default " MH_NFT_DEFAULT_TABLE
		", gw-*: " MH_NFT_GW_DEFAULT_TABLE ")\n",
		DEFAULT_PER_SOURCE, DEFAULT_PER_SESSION, MH_NFT_DEFAULT_SET_SIZE,
		DEFAULT_RATE, DEFAULT_MARK);
	exit(2);
}

static unsigned long num_arg(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "nfttool: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static void parse_ports(const char *s, struct mh_ruleset_params *p)
{
	char lo[16], *dash;

	if (strlen(s) >= sizeof(lo) || !(dash = strchr(s, '-')))
		usage();
	memcpy(lo, s, (size_t)(dash - s));
	lo[dash - s] = 0;
	p->port_low = (uint16_t)num_arg(lo, UINT16_MAX, "port");
	p->port_high = (uint16_t)num_arg(dash + 1, UINT16_MAX, "port");
}

/* Options anywhere after the command; returns the index of the first
 * positional argument (getopt permutes them to the end). */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "table", 1, 0, 't' }, { "ports", 1, 0, 'p' }, { "idle", 1, 0, 'i' },
		{ "queue", 1, 0, 'q' }, { "queues", 1, 0, 'Q' }, { "rate", 1, 0, 'r' },
		{ "compat", 0, 0, 'c' }, { "native", 0, 0, 'n' }, { "auto", 0, 0, 'a' },
		{ "count", 1, 0, 'N' }, { "async", 0, 0, 'A' },
		{ "single-port", 1, 0, 'S' }, { "provisional-ms", 1, 0, 'P' },
		{ "provisional", 0, 0, 'v' }, { "per-source", 1, 0, 's' },
		{ "set-size", 1, 0, 'z' }, { "adopt", 0, 0, 'd' },
		{ "mark", 1, 0, 'm' }, { "owned", 0, 0, 'o' },
		{ "local-flows", 0, 0, 'L' }, { "per-session", 1, 0, 'e' },
		{ "map-dreg", 0, 0, 'D' }, { "map-plain", 0, 0, 'M' },
		{ "refresh", 0, 0, 'R' },
		{ 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': o->p.table = optarg; break;
		case 'p': parse_ports(optarg, &o->p); break;
		case 'i': o->p.idle_timeout_ms = (uint32_t)num_arg(optarg, UINT32_MAX, "idle"); break;
		case 'q': o->p.queue_num = (uint16_t)num_arg(optarg, UINT16_MAX, "queue"); break;
		case 'Q': o->p.queue_total = (uint16_t)num_arg(optarg, UINT16_MAX, "queues"); break;
		case 'r': o->p.slow_path_rate = (uint32_t)num_arg(optarg, UINT32_MAX, "rate"); break;
		case 'c': o->mode = Q_COMPAT; break;
		case 'n': o->mode = Q_NATIVE; break;
		case 'a': o->mode = Q_AUTO; break;
		case 'N': o->count = num_arg(optarg, 10000000, "count"); break;
		case 'A': o->async = true; break;
		case 'S': o->p.public_port = (uint16_t)num_arg(optarg, UINT16_MAX, "public port"); break;
		case 'P': o->p.provisional_timeout_ms = (uint32_t)num_arg(optarg, UINT32_MAX, "provisional ms"); break;
		case 'v': o->provisional = true; break;
		case 's': o->p.per_source_rate = (uint32_t)num_arg(optarg, UINT32_MAX, "per-source rate"); break;
		case 'z': o->p.set_size = (uint32_t)num_arg(optarg, UINT32_MAX, "set size"); break;
		case 'd': o->p.adopt = true; break;
		case 'm': o->p.accept_mark = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'o': o->p.table_flags = MH_TABLE_F_OWNED; break;
		case 'L': o->p.local_flows = true; break;
		case 'e': o->p.per_session_rate = (uint32_t)num_arg(optarg, UINT32_MAX, "per-session rate"); break;
		case 'D': o->map = MAP_DREG; break;
		case 'M': o->map = MAP_PLAIN; break;
		case 'R': o->p.pinhole_seen = false; break;
		default: usage();
		}
	}
	return optind;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "nfttool: %s: %s\n", what, strerror(-err));
	return 1;
}

static struct mnl_nlmsg_batch *batch_new(uint32_t *seq)
{
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(batch_buf, BATCH_LIMIT);

	if (!b) {
		fprintf(stderr, "nfttool: out of memory\n");
		exit(1);
	}
	mh_nft_batch_begin(b, seq);
	return b;
}

/* End, send (sync unless async) and free the batch; 0 or -errno. */
static int batch_send(struct mh_nft *n, struct mnl_nlmsg_batch *b,
		      uint32_t *seq, int build_err, bool async)
{
	int err = build_err;

	mh_nft_batch_end(b, seq);
	if (!err)
		err = async ? mh_nft_send_async(n, b) : mh_nft_send_sync(n, b);
	mnl_nlmsg_batch_stop(b);
	return err;
}

static bool probe_compat(struct mh_nft *n, uint32_t *seq)
{
	struct mnl_nlmsg_batch *b = batch_new(seq);
	int err = mh_nft_build_queue_probe(b, seq, false);

	return batch_send(n, b, seq, err, false) == 0;
}

/* the table flags the daemon's probe finds (table_flags = "auto") */
static int cmd_probe_flags(struct mh_nft *n)
{
	uint32_t f = mh_nft_probe_table_flags(n);

	printf("%s\n", f == MH_TABLE_F_OWNED ? "owner,persist"
	       : f == MH_TABLE_F_OWNER ? "owner" : "none");
	return 0;
}

static int cmd_probe(struct mh_nft *n, uint32_t *seq)
{
	if (mh_nft_probe_native_queue(n))
		puts("native");
	else if (probe_compat(n, seq))
		puts("compat");
	else {
		puts("none");
		fprintf(stderr, "nfttool: probe: the kernel refused both queue flavours\n");
		return 1;
	}
	return 0;
}

static int cmd_load(struct mh_nft *n, uint32_t *seq, struct opts *o)
{
	struct mnl_nlmsg_batch *b;
	int err;

	o->p.native_queue = o->mode == Q_NATIVE ||
			    (o->mode == Q_AUTO && mh_nft_probe_native_queue(n));
	o->p.map_lookup_dreg = o->map == MAP_DREG ||
			       (o->map == MAP_AUTO && o->p.public_port &&
				!mh_nft_probe_map_lookup(n));
	b = batch_new(seq);
	err = mh_nft_build_ruleset(b, seq, &o->p);
	err = batch_send(n, b, seq, err, false);
	if (err)
		return fail("load", err);
	fprintf(stderr, "nfttool: loaded table inet %s (%s queue", o->p.table,
		o->p.native_queue ? "native" : "compat");
	if (o->p.public_port)
		fprintf(stderr, ", single port %u%s", o->p.public_port,
			o->p.map_lookup_dreg ? ", map lookups with a value register" : "");
	if (o->p.per_source_rate)
		fprintf(stderr, ", %u/s per source", o->p.per_source_rate);
	if (o->p.per_session_rate)
		fprintf(stderr, ", %u/s per session port", o->p.per_session_rate);
	if (o->p.adopt)
		fprintf(stderr, ", adopted");
	fprintf(stderr, ")\n");
	return 0;
}

static int cmd_delete(struct mh_nft *n, uint32_t *seq, struct opts *o)
{
	struct mnl_nlmsg_batch *b = batch_new(seq);
	int err = mh_nft_build_table_delete(b, seq, o->p.table);

	err = batch_send(n, b, seq, err, false);
	return err ? fail("delete", err) : 0;
}

static void parse_addr(const char *s, struct mh_pinhole *ph)
{
	memset(ph, 0, sizeof(*ph));
	if (inet_pton(AF_INET, s, ph->addr) == 1)
		ph->family = AF_INET;
	else if (inet_pton(AF_INET6, s, ph->addr) == 1)
		ph->family = AF_INET6;
	else {
		fprintf(stderr, "nfttool: bad address: %s\n", s);
		exit(2);
	}
}

/* The i-th pinhole of a --count run: the address plus i. */
static void addr_add(struct mh_pinhole *ph, unsigned long i)
{
	int last = ph->family == AF_INET ? 3 : 15;

	for (int k = last; k >= 0 && i; k--) {
		unsigned long v = ph->addr[k] + (i & 0xff);

		ph->addr[k] = (uint8_t)v;
		i = (i >> 8) + (v >> 8);
	}
}

static int cmd_pinhole(struct mh_nft *n, uint32_t *seq, struct opts *o,
		       char **pos, int npos, bool add)
{
	struct mh_pinhole base, ph;
	uint32_t timeout = 0;
	unsigned long count = o->count ? o->count : 1;
	int err = 0;

	if (npos < 3 || npos > 4 || (!add && npos == 4))
		usage();
	parse_addr(pos[0], &base);
	base.client_port = (uint16_t)num_arg(pos[1], UINT16_MAX, "client port");
	base.server_port = (uint16_t)num_arg(pos[2], UINT16_MAX, "server port");
	if (npos == 4)
		timeout = (uint32_t)num_arg(pos[3], UINT32_MAX, "timeout");
	for (unsigned long i = 0; i < count && !err; i += BATCH_ELEMS) {
		struct mnl_nlmsg_batch *b = batch_new(seq);

		for (unsigned long k = i; k < count && k < i + BATCH_ELEMS && !err; k++) {
			ph = base;
			addr_add(&ph, k);
			err = mh_nft_build_pinhole(b, seq, o->p.table, &ph, add, timeout);
		}
		err = batch_send(n, b, seq, err, o->async);
	}
	if (err)
		return fail(add ? "add-pinhole" : "del-pinhole", err);
	if (o->async && (err = mh_nft_drain(n)) > 0) {
		fprintf(stderr, "nfttool: %s: the kernel refused %d message(s)\n",
			add ? "add-pinhole" : "del-pinhole", err);
		return 1;
	}
	return 0;
}

/* The daemon's read-back re-arm of one pinhole. */
static int cmd_rearm(struct mh_nft *n, uint32_t *seq, struct opts *o,
		     char **pos, int npos)
{
	struct mnl_nlmsg_batch *b;
	struct mh_pinhole ph;
	int err;

	if (npos != 5)
		usage();
	parse_addr(pos[0], &ph);
	ph.client_port = (uint16_t)num_arg(pos[1], UINT16_MAX, "client port");
	ph.server_port = (uint16_t)num_arg(pos[2], UINT16_MAX, "server port");
	b = batch_new(seq);
	err = mh_nft_build_pinhole_rearm(b, seq, o->p.table, &ph,
					 (uint32_t)num_arg(pos[3], UINT32_MAX, "timeout"),
					 (uint32_t)num_arg(pos[4], UINT32_MAX, "time left"));
	err = batch_send(n, b, seq, err, false);
	return err ? fail("rearm-pinhole", err) : 0;
}

static int cmd_session(struct mh_nft *n, uint32_t *seq, struct opts *o,
		       char **pos, int npos, bool add)
{
	struct mnl_nlmsg_batch *b;
	uint16_t port;
	int err;

	if (npos != 1)
		usage();
	port = (uint16_t)num_arg(pos[0], UINT16_MAX, "port");
	b = batch_new(seq);
	err = mh_nft_build_session_port(b, seq, o->p.table, port, add);
	err = batch_send(n, b, seq, err, false);
	return err ? fail(add ? "add-session" : "del-session", err) : 0;
}

static void print_pinhole(const struct mh_pinhole *ph, uint64_t expires_ms,
			  void *arg)
{
	char a[INET6_ADDRSTRLEN];

	(void)arg;
	inet_ntop(ph->family, ph->addr, a, sizeof(a));
	printf("%s %u %u expires %llu\n", a, ph->client_port, ph->server_port,
	       (unsigned long long)expires_ms);
}

static int cmd_dump(struct mh_nft *n, struct opts *o, bool seen)
{
	static const int fams[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < 2; i++) {
		int r = seen ? mh_nft_dump_seen(n, o->p.table, fams[i], print_pinhole, NULL)
			     : mh_nft_dump_pinholes(n, o->p.table, fams[i], print_pinhole, NULL);

		if (r < 0)
			return fail(seen ? "dump-seen" : "dump", r);
	}
	return 0;
}

static int cmd_mux(struct mh_nft *n, uint32_t *seq, struct opts *o,
		   char **pos, int npos, bool add)
{
	struct mnl_nlmsg_batch *b;
	struct mh_pinhole m;
	uint32_t timeout = 0;
	int err;

	if (npos < 3 || npos > 4 || (!add && npos == 4))
		usage();
	parse_addr(pos[0], &m);
	m.client_port = (uint16_t)num_arg(pos[1], UINT16_MAX, "client port");
	m.server_port = (uint16_t)num_arg(pos[2], UINT16_MAX, "server port");
	if (npos == 4)
		timeout = (uint32_t)num_arg(pos[3], UINT32_MAX, "timeout");
	b = batch_new(seq);
	err = mh_nft_build_mux(b, seq, o->p.table, &m, !o->provisional, add, timeout);
	err = batch_send(n, b, seq, err, false);
	return err ? fail(add ? "add-mux" : "del-mux", err) : 0;
}

static void print_mux(const struct mh_pinhole *m, uint64_t expires_ms, void *arg)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(m->family, m->addr, a, sizeof(a));
	printf("%s %u %u %s expires %llu\n", a, m->client_port, m->server_port,
	       (const char *)arg, (unsigned long long)expires_ms);
}

/* "ADDR CPORT SPORT confirmed|provisional expires MS" per mapping */
static int cmd_dump_mux(struct mh_nft *n, struct opts *o)
{
	static const int fams[] = { AF_INET, AF_INET6 };

	for (int confirmed = 1; confirmed >= 0; confirmed--) {
		for (size_t i = 0; i < 2; i++) {
			int r = mh_nft_dump_mux(n, o->p.table, fams[i], confirmed,
						print_mux,
						confirmed ? "confirmed" : "provisional");

			if (r < 0)
				return fail("dump-mux", r);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- gateway */

static int cmd_gw_load(struct mh_nft *n, uint32_t *seq, struct opts *o)
{
	struct mnl_nlmsg_batch *b;
	int err;

	o->p.native_queue = o->mode == Q_NATIVE ||
			    (o->mode == Q_AUTO && mh_nft_probe_native_queue(n));
	o->p.reverse_path = true;   /* as every gateway daemon's table */
	b = batch_new(seq);
	err = mh_nft_build_gw_ruleset(b, seq, &o->p);
	err = batch_send(n, b, seq, err, false);
	if (err)
		return fail("gw-load", err);
	fprintf(stderr, "nfttool: loaded gateway table inet %s (%s queue%s)\n",
		o->p.table, o->p.native_queue ? "native" : "compat",
		o->p.adopt ? ", adopted" : "");
	return 0;
}

static void parse_mh_addr(const char *s, const char *port, struct mh_addr *a)
{
	struct mh_pinhole ph;

	parse_addr(s, &ph);
	memset(a, 0, sizeof(*a));
	a->family = ph.family;
	memcpy(a->ip, ph.addr, sizeof(a->ip));
	a->port = (uint16_t)num_arg(port, UINT16_MAX, "port");
}

/* The i-th client of a --count run: the address plus i. */
static void mh_addr_add(struct mh_addr *a, unsigned long i)
{
	struct mh_pinhole ph = { .family = a->family };

	memcpy(ph.addr, a->ip, sizeof(ph.addr));
	addr_add(&ph, i);
	memcpy(a->ip, ph.addr, sizeof(a->ip));
}

static int cmd_gw_session(struct mh_nft *n, uint32_t *seq, struct opts *o,
			  char **pos, int npos, enum mh_nft_op op)
{
	struct mnl_nlmsg_batch *b;
	struct mh_addr server;
	int err;

	if (npos != 2)
		usage();
	parse_mh_addr(pos[0], pos[1], &server);
	b = batch_new(seq);
	err = mh_nft_build_gw_elem(b, seq, o->p.table, MH_GW_SESSION, op, NULL,
				   &server, 0);
	err = batch_send(n, b, seq, err, false);
	return err ? fail(op == MH_NFT_ADD ? "gw-add-session" : "gw-del-session", err) : 0;
}

static int cmd_gw_pinhole(struct mh_nft *n, uint32_t *seq, struct opts *o,
			  char **pos, int npos, enum mh_nft_op op)
{
	const char *what = op == MH_NFT_ADD ? "gw-add-pinhole" : "gw-del-pinhole";
	unsigned long count = o->count ? o->count : 1;
	struct mh_addr client, server, c;
	uint32_t timeout = 0;
	int err = 0;

	if (npos < 4 || npos > 5 || (op == MH_NFT_DEL && npos == 5))
		usage();
	parse_mh_addr(pos[0], pos[1], &client);
	parse_mh_addr(pos[2], pos[3], &server);
	if (npos == 5)
		timeout = (uint32_t)num_arg(pos[4], UINT32_MAX, "timeout");
	for (unsigned long i = 0; i < count && !err; i += BATCH_ELEMS) {
		struct mnl_nlmsg_batch *b = batch_new(seq);

		for (unsigned long k = i; k < count && k < i + BATCH_ELEMS && !err; k++) {
			c = client;
			mh_addr_add(&c, k);
			err = mh_nft_build_gw_elem(b, seq, o->p.table, MH_GW_PINHOLE,
						   op, &c, &server, timeout);
		}
		err = batch_send(n, b, seq, err, o->async);
	}
	if (err)
		return fail(what, err);
	if (o->async && (err = mh_nft_drain(n)) > 0) {
		fprintf(stderr, "nfttool: %s: the kernel refused %d message(s)\n",
			what, err);
		return 1;
	}
	return 0;
}

/* "session SADDR SPORT" / "pinhole CADDR CPORT SADDR SPORT expires MS" /
 * "seen CADDR CPORT SADDR SPORT expires MS" (arg: the word) */
static void print_gw(const struct mh_addr *client, const struct mh_addr *server,
		     uint64_t expires_ms, void *arg)
{
	char c[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];

	inet_ntop(server->family, server->ip, s, sizeof(s));
	if (!arg) {
		printf("session %s %u\n", s, server->port);
		return;
	}
	inet_ntop(client->family, client->ip, c, sizeof(c));
	printf("%s %s %u %s %u expires %llu\n", (const char *)arg, c, client->port,
	       s, server->port, (unsigned long long)expires_ms);
}

/* Sessions and pinholes; seen4/6 too where the table has them. */
static int cmd_gw_dump(struct mh_nft *n, struct opts *o)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	static const char *const word[] = { NULL, "pinhole", "seen" };

	for (int k = MH_GW_SESSION; k <= MH_GW_SEEN; k++) {
		for (size_t i = 0; i < 2; i++) {
			int r = mh_nft_gw_dump(n, o->p.table, (enum mh_gw_kind)k,
					       fams[i], print_gw, (void *)word[k]);

			if (r == -ENOENT && k == MH_GW_SEEN)
				break;
			if (r < 0)
				return fail("gw-dump", r);
		}
	}
	return 0;
}

static int run_gw(struct mh_nft *n, const char *cmd, struct opts *o,
		  char **pos, int npos, uint32_t *seq)
{
	if (!o->p.table)
		o->p.table = MH_NFT_GW_DEFAULT_TABLE;
	if (!strcmp(cmd, "load"))
		return cmd_gw_load(n, seq, o);
	if (!strcmp(cmd, "delete"))
		return cmd_delete(n, seq, o);
	if (!strcmp(cmd, "add-session") || !strcmp(cmd, "del-session"))
		return cmd_gw_session(n, seq, o, pos, npos,
				      cmd[0] == 'a' ? MH_NFT_ADD : MH_NFT_DEL);
	if (!strcmp(cmd, "add-pinhole") || !strcmp(cmd, "del-pinhole"))
		return cmd_gw_pinhole(n, seq, o, pos, npos,
				      cmd[0] == 'a' ? MH_NFT_ADD : MH_NFT_DEL);
	if (!strcmp(cmd, "dump"))
		return cmd_gw_dump(n, o);
	usage();
}

static int run(struct mh_nft *n, const char *cmd, struct opts *o, char **pos,
	       int npos)
{
	uint32_t seq = 1;

	if (!o->p.table && strncmp(cmd, "gw-", 3))
		o->p.table = MH_NFT_DEFAULT_TABLE;
	if (!strcmp(cmd, "probe"))
		return cmd_probe(n, &seq);
	if (!strcmp(cmd, "probe-flags"))
		return cmd_probe_flags(n);
	if (!strcmp(cmd, "probe-map")) {
		puts(mh_nft_probe_map_lookup(n) ? "plain" : "dreg");
		return 0;
	}
	if (!strcmp(cmd, "load"))
		return cmd_load(n, &seq, o);
	if (!strcmp(cmd, "delete"))
		return cmd_delete(n, &seq, o);
	if (!strcmp(cmd, "add-pinhole") || !strcmp(cmd, "del-pinhole"))
		return cmd_pinhole(n, &seq, o, pos, npos, cmd[0] == 'a');
	if (!strcmp(cmd, "rearm-pinhole"))
		return cmd_rearm(n, &seq, o, pos, npos);
	if (!strcmp(cmd, "add-session") || !strcmp(cmd, "del-session"))
		return cmd_session(n, &seq, o, pos, npos, cmd[0] == 'a');
	if (!strcmp(cmd, "dump") || !strcmp(cmd, "dump-seen"))
		return cmd_dump(n, o, cmd[4] == '-');
	if (!strcmp(cmd, "add-mux") || !strcmp(cmd, "del-mux"))
		return cmd_mux(n, &seq, o, pos, npos, cmd[0] == 'a');
	if (!strcmp(cmd, "dump-mux"))
		return cmd_dump_mux(n, o);
	if (!strncmp(cmd, "gw-", 3))
		return run_gw(n, cmd + 3, o, pos, npos, &seq);
	usage();
}

int main(int argc, char **argv)
{
	struct opts o = {
		.p = { .table = NULL, .port_low = 60000,
		       .port_high = 61000, .idle_timeout_ms = 60000,
		       .queue_total = 1, .slow_path_rate = DEFAULT_RATE,
		       .provisional_timeout_ms = DEFAULT_PROVISIONAL_MS,
		       .per_source_rate = DEFAULT_PER_SOURCE,
		       .accept_mark = DEFAULT_MARK,
		       .per_session_rate = DEFAULT_PER_SESSION,
		       .pinhole_seen = true },
		.mode = Q_AUTO,
	};
	struct mh_nft *n;
	int first, rc;

	mh_log_init("nfttool", false,
		    getenv("NFTTOOL_DEBUG") ? MH_LOG_DEBUG : MH_LOG_INFO);
	if (argc < 2)
		usage();
	first = parse_opts(argc - 1, argv + 1, &o) + 1;
	n = mh_nft_open();
	if (!n) {
		fprintf(stderr, "nfttool: netlink socket: %s\n", strerror(errno));
		return 1;
	}
	rc = run(n, argv[1], &o, argv + first, argc - first);
	mh_nft_close(n);
	return rc;
}
