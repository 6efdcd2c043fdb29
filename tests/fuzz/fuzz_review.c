/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for mosh-helper-review's capture reader and SSP decoding
 * (tools/review/: capture.c through libpcap, the session tracker, fragment
 * reassembly, zlib and the Instruction decoder, the verdicts, both output
 * formats). Each input is a capture file (written to a memfd), reviewed with
 * the keys of every session captured in pcaps/ (review_keys.h) so that
 * their datagrams authenticate and decode; inputs with bit 3 of their size
 * set name the corpus's server address with each port (a gateway's key
 * file), with bit 2 the verdicts are keyless. A capture that fails must say
 * why and where (an offset inside the file); one that is read to its end
 * must have no error.
 * Seeds: the captures in pcaps/ (tests/fuzz/corpus/review/).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "review.h"
#include "review_keys.h"

#define NKEYS (sizeof(fuzz_review_keys) / sizeof(fuzz_review_keys[0]))

static int fd = -1;
static char path[64];
static FILE *devnull;
static struct mh_table table;
static struct rv_keys keys;
static char keytext[NKEYS * 64], gwtext[NKEYS * 80];
static size_t keytext_len, gwtext_len;
static struct rv_opts opts;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mh_config cfg;

	(void)argc;
	(void)argv;
	fd = memfd_create("fuzz-review", MFD_CLOEXEC);
	devnull = fopen("/dev/null", "w");
	if (fd < 0 || !devnull) {
		perror("fuzz_review: set-up");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (unsigned i = 0; i < NKEYS; i++) {
		keytext_len += (size_t)snprintf(keytext + keytext_len,
						sizeof(keytext) - keytext_len, "%u %s\n",
						fuzz_review_keys[i].port,
						fuzz_review_keys[i].key_b64);
		gwtext_len += (size_t)snprintf(gwtext + gwtext_len,
					       sizeof(gwtext) - gwtext_len,
					       "[198.18.0.2]:%u %s\n",
					       fuzz_review_keys[i].port,
					       fuzz_review_keys[i].key_b64);
	}
	mh_config_defaults(&cfg);   /* the daemon's defaults, as the tool uses */
	opts.idle_timeout_s = cfg.idle_timeout;
	opts.candidate_lifetime_s = cfg.candidate_lifetime;
	opts.max_pinholes = cfg.max_pinholes_per_session;
	opts.port_low = cfg.port_low;
	opts.port_high = cfg.port_high;
	opts.keyless_rate = cfg.slow_path_rate_per_session;
	mh_table_init(&table);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_capture cap = { .path = path };
	struct rv_review r;
	char err[256];
	int rc;

	FUZZ_ASSERT(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	FUZZ_ASSERT(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size,
		    "pwrite: %s", strerror(errno));
	/* fresh sessions: the review's verdicts change their state */
	FUZZ_ASSERT(rv_keys_init(&keys, &table, opts.max_pinholes) == 0, "rv_keys_init");
	FUZZ_ASSERT(rv_keys_parse(&keys, size & 8 ? gwtext : keytext,
				  size & 8 ? gwtext_len : keytext_len, "keys", err,
				  sizeof(err)) == 0, "the captures' keys: %s", err);
	opts.keyless = size & 4;
	/* the slow-path reading (every datagram judged by the daemon) for odd
	 * sizes, the fast-path simulation for even ones; JSON when bit 1 is set */
	opts.slow_path = size & 1;
	rv_review_init(&r, &opts, &keys);
	rc = rv_capture_read(&cap, rv_review_packet, &r);
	FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
	FUZZ_ASSERT((rc == 0) == !cap.failed, "rc %d but failed %d", rc, cap.failed);
	FUZZ_ASSERT((rc == 0) == (cap.err[0] == '\0'), "rc %d, error \"%s\"", rc, cap.err);
	FUZZ_ASSERT(!cap.has_offset || cap.err_offset <= size,
		    "error offset %llu in a file of %zu bytes",
		    (unsigned long long)cap.err_offset, size);
	FUZZ_ASSERT(cap.non_ip <= cap.records, "more non-IP frames than records");
	rv_review_finish(&r);
	if (size & 2)
		rv_print_json(devnull, &r, &cap, 1);
	else
		rv_print_text(devnull, &r, &cap, 1);
	rv_review_free(&r);
	rv_keys_free(&keys);
	return 0;
}
