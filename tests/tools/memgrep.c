/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * memgrep: counts where given byte strings lie in a running process's
 * memory (/proc/PID/mem, every readable mapping, MADV_DONTDUMP ones too,
 * which a core file would leave out). For t_keyless: no session key in
 * the keyless daemon. Needs root (the daemon is not dumpable). Mappings
 * over 1 GiB (sanitizer shadow) are skipped; bounded in bytes read.
 *   memgrep PID HEX|=TEXT...   prints "NEEDLE COUNT" per needle, then
 *   "read N bytes in M mappings".
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MG_MAX_NEEDLES 8
#define MG_NEEDLE_MAX  64
#define MG_MAP_MAX     (1UL << 30)
#define MG_TOTAL_MAX   (8UL << 30)
#define MG_CHUNK       (1UL << 20)

struct needle {
	const char *arg;
	unsigned char b[MG_NEEDLE_MAX];
	size_t n;
	unsigned long hits;
};

static int parse_needle(const char *s, struct needle *nd)
{
	size_t len = strlen(s);

	nd->arg = s;
	if (s[0] == '=') {
		if (len - 1 == 0 || len - 1 > MG_NEEDLE_MAX)
			return -1;
		memcpy(nd->b, s + 1, len - 1);
		nd->n = len - 1;
		return 0;
	}
	if (len == 0 || len % 2 || len / 2 > MG_NEEDLE_MAX)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		nd->b[i] = (unsigned char)v;
	}
	nd->n = len / 2;
	return 0;
}

/* Searches buf[0..n); needles may straddle chunks: the caller keeps the
 * last MG_NEEDLE_MAX - 1 bytes in front of the next chunk. */
static void scan(const unsigned char *buf, size_t n, size_t fresh_from,
		 struct needle *nd, int k)
{
	for (int j = 0; j < k; j++)
		for (size_t i = 0; i + nd[j].n <= n; i++)
			if (i + nd[j].n > fresh_from && buf[i] == nd[j].b[0] &&
			    !memcmp(buf + i, nd[j].b, nd[j].n))
				nd[j].hits++;
}

static unsigned long read_map(int mem, unsigned long lo, unsigned long hi,
			      unsigned char *buf, struct needle *nd, int k)
{
	unsigned long done = 0;
	size_t keep = 0;

	for (unsigned long a = lo; a < hi; a += MG_CHUNK) {
		size_t want = hi - a < MG_CHUNK ? hi - a : MG_CHUNK;
		ssize_t r = pread(mem, buf + keep, want, (off_t)a);
		size_t have;

		if (r <= 0) {
			keep = 0;
			continue;
		}
		have = keep + (size_t)r;
		scan(buf, have, keep, nd, k);
		done += (unsigned long)r;
		keep = have < MG_NEEDLE_MAX - 1 ? have : MG_NEEDLE_MAX - 1;
		memmove(buf, buf + have - keep, keep);
	}
	return done;
}

int main(int argc, char **argv)
{
	struct needle nd[MG_MAX_NEEDLES] = { 0 };
	unsigned long total = 0, maps = 0;
	char path[64], line[512];
	unsigned char *buf;
	FILE *f;
	int mem, k = argc - 2;

	if (argc < 3 || k > MG_MAX_NEEDLES) {
		fprintf(stderr, "usage: memgrep PID HEX|=TEXT... (at most %d)\n",
			MG_MAX_NEEDLES);
		return 2;
	}
	for (int j = 0; j < k; j++)
		if (parse_needle(argv[j + 2], &nd[j]) < 0) {
			fprintf(stderr, "memgrep: bad needle '%s'\n", argv[j + 2]);
			return 2;
		}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	f = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	buf = malloc(MG_CHUNK + MG_NEEDLE_MAX);
	if (!f || mem < 0 || !buf) {
		perror("memgrep");
		return 1;
	}
	while (fgets(line, sizeof(line), f) && total < MG_TOTAL_MAX) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    perms[0] != 'r' || hi - lo > MG_MAP_MAX ||
		    strstr(line, "[vvar") || strstr(line, "[vsyscall]"))
			continue;
		total += read_map(mem, lo, hi, buf, nd, k);
		maps++;
	}
	fclose(f);
	close(mem);
	free(buf);
	for (int j = 0; j < k; j++)
		printf("%s %lu\n", nd[j].arg, nd[j].hits);
	printf("read %lu bytes in %lu mappings\n", total, maps);
	return 0;
}
