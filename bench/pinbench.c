/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pinbench: item 3 of `make bench`. From a resident process (as the daemon
 * does it: one batch per pinhole, mh_nft_build_pinhole + send) it times
 * installs from the decision to the element being in the kernel, sync and
 * async, interleaved with `nft add element` command lines; then the bulk
 * case (100,000 sessions with one pinhole each) and the resident memory
 * per session, measured from VmRSS. Run it as root inside a scratch netns:
 * it loads and deletes its own table there. Prints `name: value unit`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <openssl/crypto.h>

#include "bench.h"
#include "log.h"
#include "nft.h"
#include "session.h"
#include "ssp.h"
#include "ssp_test.h"

#define PB_BATCH_LIMIT   65536
#define PB_BULK_PER_BATCH 256
#define PB_SET_CAP       65535   /* size of each pinhole set (nft/build.c) */
#define PB_SERVER_PORT   60001

extern char **environ;

struct pb_opts {
	const char *table;
	long installs;      /* library installs, sync and async alternating */
	long cli;           /* `nft add element` runs, interleaved */
	long bulk;          /* sessions with one pinhole each */
};

struct pb {
	struct mh_nft *nft;
	const char *table;
	uint32_t seq;
	char buf[2 * PB_BATCH_LIMIT];
};

static int die(const char *what, int err)
{
	fprintf(stderr, "pinbench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* ---- batches, the daemon's way (nfq-helper/datapath/kernel.c) ---- */

static struct mnl_nlmsg_batch *pb_begin(struct pb *p)
{
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(p->buf, PB_BATCH_LIMIT);

	if (!b)
		die("batch", ENOMEM);
	mh_nft_batch_begin(b, &p->seq);
	return b;
}

static int pb_send(struct pb *p, struct mnl_nlmsg_batch *b, int err, bool sync)
{
	if (!err) {
		mh_nft_batch_end(b, &p->seq);
		err = sync ? mh_nft_send_sync(p->nft, b) : mh_nft_send_async(p->nft, b);
	}
	mnl_nlmsg_batch_stop(b);
	return err;
}

static void load_table(struct pb *p)
{
	struct mh_ruleset_params rp = {
		.table = p->table, .port_low = 60000, .port_high = 61000,
		.idle_timeout_ms = 3600 * 1000, .queue_num = 0, .queue_total = 1,
		.slow_path_rate = 2000,
	};
	struct mnl_nlmsg_batch *b;
	int err;

	rp.native_queue = mh_nft_probe_native_queue(p->nft);
	b = pb_begin(p);
	err = pb_send(p, b, mh_nft_build_ruleset(b, &p->seq, &rp), true);
	if (err)
		die("loading the table", err);
}

static void delete_table(struct pb *p)
{
	struct mnl_nlmsg_batch *b = pb_begin(p);

	pb_send(p, b, mh_nft_build_table_delete(b, &p->seq, p->table), true);
}

/* The i-th distinct pinhole of a family (addresses in the test ranges). */
static void nth_pinhole(unsigned long i, int family, uint16_t cport,
			struct mh_pinhole *ph)
{
	memset(ph, 0, sizeof(*ph));
	ph->family = family;
	ph->client_port = cport;
	ph->server_port = PB_SERVER_PORT;
	if (family == AF_INET) {
		uint32_t a = htonl(0xc6120000u + (uint32_t)i);   /* 198.18.0.0 + i */

		memcpy(ph->addr, &a, 4);
	} else {
		ph->addr[0] = 0xfd;                              /* fd00:b::i */
		ph->addr[3] = 0x0b;
		for (int k = 0; k < 4; k++)
			ph->addr[15 - k] = (uint8_t)(i >> (8 * k));
	}
}

/* One install as the daemon does it; returns ns from decision to done. */
static uint64_t install_one(struct pb *p, const struct mh_pinhole *ph,
			    bool sync, int *err)
{
	uint64_t t0 = bench_now_ns();
	struct mnl_nlmsg_batch *b = pb_begin(p);

	*err = pb_send(p, b, mh_nft_build_pinhole(b, &p->seq, p->table, ph, true,
						  3600 * 1000), sync);
	return bench_now_ns() - t0;
}

/* One `nft add element` command line; ns, or 0 if it failed. */
static uint64_t cli_one(const char *table, const struct mh_pinhole *ph)
{
	char a[INET_ADDRSTRLEN], elem[96];
	char *argv[] = { "nft", "add", "element", "inet", (char *)table,
			 "pinholes4", elem, NULL };
	posix_spawn_file_actions_t fa;
	uint64_t t0, t;
	pid_t pid;
	int st = -1, rc;

	inet_ntop(AF_INET, ph->addr, a, sizeof(a));
	snprintf(elem, sizeof(elem), "{ %s . %u . %u }", a, ph->client_port,
		 ph->server_port);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = bench_now_ns();
	rc = posix_spawnp(&pid, "nft", &fa, NULL, argv, environ);
	if (rc == 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	t = bench_now_ns() - t0;
	posix_spawn_file_actions_destroy(&fa);
	return rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t : 0;
}

static void print_lat(const char *name, uint64_t *v, size_t n)
{
	bench_sort(v, n);
	printf("%s_p50_us: %.2f us\n", name, bench_pct(v, n, 50) / 1e3);
	printf("%s_p99_us: %.2f us\n", name, bench_pct(v, n, 99) / 1e3);
	printf("%s_max_us: %.2f us\n", name, v[n ? n - 1 : 0] / 1e3);
	printf("%s_samples: %zu count\n", name, n);
}

static int count_pinholes(struct pb *p, int family)
{
	return mh_nft_dump_pinholes(p->nft, p->table, family, NULL, NULL);
}

static void bench_installs(struct pb *p, const struct pb_opts *o)
{
	uint64_t *sync = calloc((size_t)o->installs, sizeof(uint64_t));
	uint64_t *async = calloc((size_t)o->installs, sizeof(uint64_t));
	uint64_t *cli = calloc((size_t)o->cli + 1, sizeof(uint64_t));
	long ns = 0, na = 0, nc = 0, cli_fail = 0, every, i;
	struct mh_pinhole ph;
	int err, drained, have;

	if (!sync || !async || !cli)
		die("memory", ENOMEM);
	every = o->cli ? o->installs / o->cli : o->installs + 1;
	if (every < 1)
		every = 1;
	for (i = 0; i < 200; i++) {           /* warm-up, not timed */
		nth_pinhole(60000 + (unsigned long)i, AF_INET, 40000, &ph);
		install_one(p, &ph, i & 1, &err);
	}
	for (i = 0; i < o->installs; i++) {
		uint64_t t;

		nth_pinhole((unsigned long)i, AF_INET, 40000, &ph);
		t = install_one(p, &ph, i & 1, &err);
		if (err)
			die("pinhole install", err);
		if (i & 1)
			sync[ns++] = t;
		else
			async[na++] = t;
		if (o->cli && i % every == every - 1 && nc + cli_fail < o->cli) {
			nth_pinhole((unsigned long)i, AF_INET, 40001, &ph);
			t = cli_one(p->table, &ph);
			if (t)
				cli[nc++] = t;
			else
				cli_fail++;
		}
	}
	drained = mh_nft_drain(p->nft);
	have = count_pinholes(p, AF_INET);
	printf("pinhole_installs_verified: %d of %ld elements\n", have,
	       o->installs + 200 + nc);
	printf("pinhole_async_errors: %d count\n", drained);
	printf("pinhole_cli_failures: %ld count\n", cli_fail);
	print_lat("pinhole_sync", sync, (size_t)ns);
	print_lat("pinhole_async", async, (size_t)na);
	print_lat("pinhole_cli", cli, (size_t)nc);
	if (have != o->installs + 200 + nc || drained || cli_fail)
		die("not every install reached the kernel", EIO);
	free(sync);
	free(async);
	free(cli);
}

/* ---- bulk: sessions + pinholes, and memory --------------------------- */

static uint64_t xs_state = 0x9e3779b97f4a7c15ull;

static uint64_t xs_next(void)
{
	xs_state ^= xs_state << 13;
	xs_state ^= xs_state >> 7;
	xs_state ^= xs_state << 17;
	return xs_state;
}

static void rand_key(uint8_t key[SSP_KEY_LEN])
{
	uint64_t a = xs_next(), b = xs_next();

	memcpy(key, &a, 8);
	memcpy(key + 8, &b, 8);
}

/* Sessions spread over as many tables as needed (65,536 ports each). */
static double add_sessions(struct mh_table **tabs, int ntabs, long n)
{
	uint8_t key[SSP_KEY_LEN];
	uint64_t t0 = bench_now_ns();

	for (long i = 0; i < n; i++) {
		struct mh_table *t = tabs[i / 65536];

		if (i / 65536 >= ntabs)
			die("too few tables", EINVAL);
		rand_key(key);
		if (!mh_session_add(t, (uint16_t)(i % 65536), key, 1001, 1,
				    1, 4))
			die("mh_session_add", errno);
	}
	OPENSSL_cleanse(key, sizeof(key));
	return (bench_now_ns() - t0) / 1e9;
}

/* n pinholes: the IPv4 set first (up to its size), the rest IPv6. */
static double add_bulk_pinholes(struct pb *p, long n, long *v4, long *v6)
{
	uint64_t t0 = bench_now_ns();
	struct mh_pinhole ph;
	long i = 0;

	*v4 = n < PB_SET_CAP ? n : PB_SET_CAP;
	*v6 = n - *v4;
	while (i < n) {
		struct mnl_nlmsg_batch *b = pb_begin(p);
		int err = 0;

		for (long k = 0; k < PB_BULK_PER_BATCH && i < n && !err; k++, i++) {
			if (i < *v4)
				nth_pinhole((unsigned long)i, AF_INET, 40000, &ph);
			else
				nth_pinhole((unsigned long)(i - *v4), AF_INET6, 40000, &ph);
			err = mh_nft_build_pinhole(b, &p->seq, p->table, &ph, true, 0);
		}
		err = pb_send(p, b, err, true);
		if (err)
			die("bulk pinholes", err);
	}
	return (bench_now_ns() - t0) / 1e9;
}

/* One element past the IPv4 set's size: the kernel's answer. */
static void probe_capacity(struct pb *p)
{
	struct mh_pinhole ph;
	int err;

	nth_pinhole(PB_SET_CAP + 10, AF_INET, 40000, &ph);
	install_one(p, &ph, true, &err);
	printf("pinholes4_capacity: %d elements\n", count_pinholes(p, AF_INET));
	printf("pinholes4_add_past_capacity: %s\n", err ? strerror(-err) : "accepted");
}

static void bench_bulk(struct pb *p, long n)
{
	int ntabs = (int)((n + 65535) / 65536);
	struct mh_table **tabs = calloc((size_t)ntabs, sizeof(*tabs));
	struct ssp_ctx **ctx = calloc((size_t)n, sizeof(*ctx));
	uint64_t rss0, rss1, rss2, rss_t;
	uint8_t key[SSP_KEY_LEN];
	double ts, tk;
	long v4, v6;

	if (!tabs || !ctx)
		die("memory", ENOMEM);
	rss_t = bench_rss_bytes();
	for (int k = 0; k < ntabs; k++) {
		tabs[k] = malloc(sizeof(**tabs));
		if (!tabs[k])
			die("memory", ENOMEM);
		mh_table_init(tabs[k]);
	}
	rss0 = bench_rss_bytes();
	ts = add_sessions(tabs, ntabs, n);
	rss1 = bench_rss_bytes();
	tk = add_bulk_pinholes(p, n, &v4, &v6);
	printf("bulk_sessions: %ld sessions in %d mh_table(s) of 65536 ports\n", n, ntabs);
	printf("bulk_pinholes: %ld pinholes (%ld IPv4 + %ld IPv6)\n", v4 + v6, v4, v6);
	printf("bulk_pinholes_in_kernel: %d elements\n",
	       count_pinholes(p, AF_INET) + count_pinholes(p, AF_INET6));
	printf("bulk_session_table_s: %.3f s\n", ts);
	printf("bulk_pinholes_kernel_s: %.3f s\n", tk);
	printf("bulk_100k_sessions_s: %.3f s\n", ts + tk);
	printf("session_table_index_bytes: %llu bytes per mh_table (RSS)\n",
	       (unsigned long long)((rss0 - rss_t) / (uint64_t)ntabs));
	printf("session_memory_bytes: %.0f bytes\n", (double)(rss1 - rss0) / (double)n);
	printf("session_struct_bytes: %zu bytes\n", sizeof(struct mh_session));
	printf("session_alloc_bytes: %zu bytes (with its 4 pinhole records)\n",
	       sizeof(struct mh_session) + 4 * sizeof(((struct mh_session *)0)->ph[0]));
	/* the crypto context alone: fresh allocations on top, same count */
	for (long i = 0; i < n; i++) {
		rand_key(key);
		if (!(ctx[i] = ssp_ctx_new(key)))
			die("ssp_ctx_new", ENOMEM);
	}
	rss2 = bench_rss_bytes();
	printf("ssp_ctx_memory_bytes: %.0f bytes\n", (double)(rss2 - rss1) / (double)n);
	for (long i = 0; i < n; i++)
		ssp_ctx_free(ctx[i]);
	for (int k = 0; k < ntabs; k++) {
		mh_table_clear(tabs[k]);
		free(tabs[k]);
	}
	free(ctx);
	free(tabs);
	OPENSSL_cleanse(key, sizeof(key));
}

/* The shared decryption-context cache (lib/ssp.c): a verify that hits the
 * context keyed for its session against one that must re-key the least
 * recently used one (round robin over many more sessions than slots). */
#define PB_REKEY_CTX  4096
#define PB_REKEY_REPS 200000

static void bench_rekey(void)
{
	struct ssp_ctx **c = calloc(PB_REKEY_CTX, sizeof(*c));
	uint8_t (*dg)[100 + SSP_MIN_DATAGRAM_LEN] = calloc(PB_REKEY_CTX, sizeof(*dg));
	uint8_t key[SSP_KEY_LEN], plain[100] = { 0 };
	struct ssp_cache_stats st0, st1;
	uint64_t t0, hit, miss;
	long i;

	if (!c || !dg)
		die("memory", ENOMEM);
	for (i = 0; i < PB_REKEY_CTX; i++) {
		rand_key(key);
		if (!(c[i] = ssp_ctx_new(key)) ||
		    ssp_seal(c[i], SSP_TO_SERVER, (uint64_t)i, plain, sizeof(plain),
			     dg[i], sizeof(dg[i])) != (long)sizeof(dg[i]))
			die("ssp_ctx_new/ssp_seal", ENOMEM);
	}
	for (i = 0; i < 1000; i++)          /* warm-up */
		ssp_verify(c[i % PB_REKEY_CTX], dg[i % PB_REKEY_CTX], sizeof(dg[0]), NULL);
	ssp_cache_stats(&st0);
	t0 = bench_now_ns();
	for (i = 0; i < PB_REKEY_REPS; i++)
		if (ssp_verify(c[0], dg[0], sizeof(dg[0]), NULL) < 0)
			die("verify (hit)", EBADMSG);
	hit = bench_now_ns() - t0;
	t0 = bench_now_ns();
	for (i = 0; i < PB_REKEY_REPS; i++)
		if (ssp_verify(c[i % PB_REKEY_CTX], dg[i % PB_REKEY_CTX], sizeof(dg[0]), NULL) < 0)
			die("verify (miss)", EBADMSG);
	miss = bench_now_ns() - t0;
	ssp_cache_stats(&st1);
	printf("ssp_cache_slots: %d contexts\n", SSP_CACHE_SLOTS);
	printf("ssp_verify_hit_ns: %.0f ns (100-byte datagram, context cached)\n",
	       (double)hit / PB_REKEY_REPS);
	printf("ssp_verify_miss_ns: %.0f ns (round robin over %d sessions: re-key every time)\n",
	       (double)miss / PB_REKEY_REPS, PB_REKEY_CTX);
	printf("ssp_rekey_ns: %.0f ns (miss - hit)\n", (double)(miss - hit) / PB_REKEY_REPS);
	printf("ssp_cache_misses: %llu of %llu verifies\n",
	       (unsigned long long)(st1.misses - st0.misses),
	       (unsigned long long)(st1.misses - st0.misses + st1.hits - st0.hits));
	for (i = 0; i < PB_REKEY_CTX; i++)
		ssp_ctx_free(c[i]);
	free(c);
	free(dg);
	OPENSSL_cleanse(key, sizeof(key));
}

static void parse(int argc, char **argv, struct pb_opts *o)
{
	static const struct option lo[] = {
		{ "table", 1, 0, 't' }, { "installs", 1, 0, 'n' },
		{ "cli", 1, 0, 'c' }, { "bulk", 1, 0, 'b' }, { 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': o->table = optarg; break;
		case 'n': o->installs = bench_num("pinbench", optarg, 100, 40000, "installs"); break;
		case 'c': o->cli = bench_num("pinbench", optarg, 0, 2000, "cli runs"); break;
		case 'b': o->bulk = bench_num("pinbench", optarg, 0, 2 * PB_SET_CAP, "bulk"); break;
		default:
			fprintf(stderr, "usage: pinbench [--table T] [--installs N] "
				"[--cli N] [--bulk N]\n");
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	struct pb_opts o = { "mh_bench_pin", 20000, 300, 100000 };
	static struct pb p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	mh_log_init("pinbench", false, MH_LOG_WARN);
	parse(argc, argv, &o);
	p.table = o.table;
	p.seq = (uint32_t)time(NULL);
	p.nft = mh_nft_open();
	if (!p.nft)
		die("netlink socket", errno);
	load_table(&p);
	bench_installs(&p, &o);
	delete_table(&p);
	if (o.bulk) {
		load_table(&p);
		bench_bulk(&p, o.bulk);
		if (o.bulk >= PB_SET_CAP)
			probe_capacity(&p);
		delete_table(&p);
		bench_rekey();
	}
	mh_nft_close(p.nft);
	return 0;
}
