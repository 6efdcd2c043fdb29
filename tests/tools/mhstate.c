/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mhstate: reads a mosh-helperd state file with the library's own decoder,
 * for the restart tests.
 *   mhstate show FILE         "ok N sessions", then one line per session:
 *                             "session PORT uid=U pid=P start=S pinholes=N"
 *                             (exit 1 with the decoder's reason if refused)
 *   mhstate set-start FILE PORT VALUE
 *                             rewrites the file with that session's recorded
 *                             mosh-server start time changed (a stand-in for
 *                             a pid that now belongs to another process)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statefile.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(MH_STATE_MAX_FILE);

	*len = 0;
	if (!f || !buf) {
		perror(path);
		exit(2);
	}
	*len = fread(buf, 1, MH_STATE_MAX_FILE, f);
	fclose(f);
	return buf;
}

static int load(const char *path, struct mh_statefile *st)
{
	char err[512];
	size_t len;
	char *text = slurp(path, &len);
	int r = mh_statefile_decode(text, len, st, err, sizeof(err));

	free(text);
	if (r < 0)
		printf("refused: %s\n", err);
	return r;
}

static int show(const char *path)
{
	struct mh_statefile st;

	if (load(path, &st) < 0)
		return 1;
	printf("ok %u sessions table=%s next_id=%u\n", st.n, st.table, st.next_id);
	for (unsigned i = 0; i < st.n; i++)
		printf("session %u uid=%u pid=%d start=%llu pinholes=%u\n", st.s[i].port,
		       (unsigned)st.s[i].uid, (int)st.s[i].pid,
		       (unsigned long long)st.s[i].pid_start, st.s[i].n_ph);
	mh_statefile_free(&st);
	return 0;
}

static int set_start(const char *path, unsigned port, const char *value)
{
	struct mh_statefile_enc e;
	struct mh_statefile st;
	FILE *f;
	int hit = 0;

	if (load(path, &st) < 0)
		return 1;
	mh_statefile_enc_begin(&e, st.boot_id, st.table, st.next_id);
	for (unsigned i = 0; i < st.n; i++) {
		if (st.s[i].port == port) {
			st.s[i].pid_start = strtoull(value, NULL, 10);
			hit = 1;
		}
		mh_statefile_enc_session(&e, &st.s[i]);
	}
	if (mh_statefile_enc_end(&e) < 0 || !hit) {
		fprintf(stderr, "mhstate: %s\n", hit ? "encoding failed" : "no such port");
		return 1;
	}
	f = fopen(path, "w");
	if (!f || fwrite(e.buf, 1, e.len, f) != e.len || fclose(f) != 0) {
		perror(path);
		return 1;
	}
	mh_statefile_enc_free(&e);
	mh_statefile_free(&st);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "show"))
		return show(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "set-start"))
		return set_start(argv[2], (unsigned)atoi(argv[3]), argv[4]);
	fprintf(stderr, "usage: mhstate show FILE | mhstate set-start FILE PORT VALUE\n");
	return 2;
}
