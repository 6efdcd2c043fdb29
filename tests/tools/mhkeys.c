/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mhkeys: the keyring side of the restart tests (no keyutils needed).
 *   mhkeys list SUFFIX    keyrings in the caller's user keyring whose
 *                         description ends with SUFFIX, and their keys:
 *                         "ring|key ID PERM DESC"
 *   mhkeys purge SUFFIX   empties such keyrings and unlinks them (test clean-up)
 *   mhkeys read ID        tries to read a key: exit 0 and its length if the
 *                         caller may, 1 and the reason if not (never the bytes)
 *   mhkeys hunt SUFFIX KEY  an attacker's search for a session key (KEY, the
 *                         22-character base64 of MOSH CONNECT): every key
 *                         of such keyrings in the caller's user keyring,
 *                         and every key /proc/keys shows the caller, is
 *                         read; exit 0 "found" if a payload holds KEY's
 *                         bytes, 1 "not found" with what was tried
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/keyctl.h>

static long kctl(int cmd, unsigned long a, unsigned long b, unsigned long c)
{
	return syscall(SYS_keyctl, cmd, a, b, c, 0UL);
}

/* "type;uid;gid;perm;description" of id, or -1 */
static int describe(long id, char *type, char *perm, char *desc, size_t len)
{
	char buf[512], *f[5], *save = NULL;
	long r = kctl(KEYCTL_DESCRIBE, (unsigned long)id, (unsigned long)buf, sizeof(buf));

	if (r <= 0 || (size_t)r > sizeof(buf))
		return -1;
	f[0] = strtok_r(buf, ";", &save);
	for (int i = 1; i < 4; i++)
		f[i] = strtok_r(NULL, ";", &save);
	f[4] = strtok_r(NULL, "", &save);
	if (!f[3])
		return -1;
	snprintf(type, 32, "%s", f[0]);
	snprintf(perm, 16, "%s", f[3]);
	snprintf(desc, len, "%s", f[4] ? f[4] : "");
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int32_t *list(long ring, unsigned *n)
{
	long size = kctl(KEYCTL_READ, (unsigned long)ring, 0, 0);
	int32_t *ids;

	*n = 0;
	if (size <= 0 || !(ids = malloc((size_t)size)))
		return NULL;
	size = kctl(KEYCTL_READ, (unsigned long)ring, (unsigned long)ids,
		    (unsigned long)size);
	*n = size > 0 ? (unsigned)((size_t)size / 4) : 0;
	return ids;
}

static int rings(const char *sub, int purge)
{
	long user = kctl(KEYCTL_GET_KEYRING_ID, (unsigned long)KEY_SPEC_USER_KEYRING, 1, 0);
	char type[32], perm[16], desc[256];
	unsigned n, m;
	int32_t *ids, *keys;
	int found = 0;

	if (user < 0) {
		perror("user keyring");
		return 2;
	}
	ids = list(user, &n);
	for (unsigned i = 0; i < n; i++) {
		if (describe(ids[i], type, perm, desc, sizeof(desc)) < 0 ||
		    strcmp(type, "keyring") || !ends_with(desc, sub))
			continue;
		found++;
		if (purge) {
			kctl(KEYCTL_CLEAR, (unsigned long)ids[i], 0, 0);
			kctl(KEYCTL_UNLINK, (unsigned long)ids[i], (unsigned long)user, 0);
			continue;
		}
		printf("ring %d %s %s\n", ids[i], perm, desc);
		keys = list(ids[i], &m);
		for (unsigned j = 0; j < m; j++)
			if (describe(keys[j], type, perm, desc, sizeof(desc)) == 0)
				printf("key %d %s %s\n", keys[j], perm, desc);
		free(keys);
	}
	free(ids);
	if (purge)
		printf("%d keyring(s) purged\n", found);
	return 0;
}

static int readable(const char *arg)
{
	unsigned char buf[4096];
	long id = strtol(arg, NULL, 0);
	long r = kctl(KEYCTL_READ, (unsigned long)id, (unsigned long)buf, sizeof(buf));

	memset(buf, 0, sizeof(buf));
	if (r < 0) {
		printf("refused: %s\n", strerror(errno));
		return 1;
	}
	printf("readable: %ld bytes\n", r);
	return 0;
}

/* 22 characters of base64 (no padding) -> 16 bytes; -1 if not that */
static int key_bytes(const char *b64, unsigned char out[16])
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long acc = 0;
	int bits = 0, n = 0;

	if (strlen(b64) != 22)
		return -1;
	for (const char *p = b64; *p; p++) {
		const char *c = strchr(al, *p);

		if (!c)
			return -1;
		acc = (acc << 6 | (unsigned long)(c - al)) & 0xffffff;
		bits += 6;
		if (bits >= 8 && n < 16) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n == 16 ? 0 : -1;
}

struct hunt { const unsigned char *key; unsigned tried, refused; };

/* 1 if id reads and its payload holds the key */
static int try_key(struct hunt *h, long id)
{
	unsigned char buf[4096];
	long r = kctl(KEYCTL_READ, (unsigned long)id, (unsigned long)buf, sizeof(buf));
	int hit = r > 0 && (size_t)r <= sizeof(buf) && memmem(buf, (size_t)r, h->key, 16);

	memset(buf, 0, sizeof(buf));
	h->tried++;
	if (r < 0)
		h->refused++;
	if (hit)
		printf("found: key %ld is readable and holds the session key\n", id);
	return hit;
}

/* the keys of SUFFIX keyrings in the caller's user keyring */
static int hunt_user(struct hunt *h, const char *sub, unsigned *rings)
{
	long user = kctl(KEYCTL_GET_KEYRING_ID, (unsigned long)KEY_SPEC_USER_KEYRING, 1, 0);
	char type[32], perm[16], desc[256];
	unsigned n, m;
	int32_t *ids = user < 0 ? NULL : list(user, &n), *keys;
	int hit = 0;

	for (unsigned i = 0; ids && i < n && !hit; i++) {
		if (describe(ids[i], type, perm, desc, sizeof(desc)) < 0 ||
		    strcmp(type, "keyring") || !ends_with(desc, sub))
			continue;
		(*rings)++;
		keys = list(ids[i], &m);
		for (unsigned j = 0; keys && j < m && !hit; j++)
			hit = try_key(h, keys[j]);
		free(keys);
	}
	free(ids);
	return hit;
}

/* every "user" key /proc/keys lists for the caller whose description
 * names mosh-helper */
static int hunt_proc(struct hunt *h, unsigned *seen)
{
	FILE *f = fopen("/proc/keys", "re");
	char line[512];
	int hit = 0;

	while (f && !hit && fgets(line, sizeof(line), f)) {
		if (!strstr(line, " user ") || !strstr(line, "mosh-helper:"))
			continue;
		(*seen)++;
		hit = try_key(h, strtol(line, NULL, 16));
	}
	if (f)
		fclose(f);
	return hit;
}

static int hunt(const char *sub, const char *b64)
{
	unsigned char key[16];
	struct hunt h = { key, 0, 0 };
	unsigned rings = 0, seen = 0;

	if (key_bytes(b64, key) < 0) {
		fprintf(stderr, "mhkeys: not a mosh key: %s\n", b64);
		return 2;
	}
	/* the attacker's first move: possession of everything its user
	 * keyring holds, as keyctl link @u @p would give */
	kctl(KEYCTL_LINK, (unsigned long)KEY_SPEC_USER_KEYRING,
	     (unsigned long)KEY_SPEC_PROCESS_KEYRING, 0);
	if (hunt_user(&h, sub, &rings) || hunt_proc(&h, &seen))
		return 0;
	printf("not found: %u keyring(s) in the user keyring, %u key(s) shown in "
	       "/proc/keys, %u read, %u refused\n", rings, seen, h.tried, h.refused);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "list"))
		return rings(argv[2], 0);
	if (argc == 3 && !strcmp(argv[1], "purge"))
		return rings(argv[2], 1);
	if (argc == 3 && !strcmp(argv[1], "read"))
		return readable(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "hunt"))
		return hunt(argv[2], argv[3]);
	fprintf(stderr, "usage: mhkeys list|purge SUFFIX | mhkeys read ID | "
		"mhkeys hunt SUFFIX KEY\n");
	return 2;
}
