/*
 * mhkeys: the keyring side of the restart tests (no keyutils needed).
 *   mhkeys list SUFFIX    keyrings in the caller's user keyring whose
 *                         description ends with SUFFIX, and their keys:
 *                         "ring|key ID PERM DESC"
 *   mhkeys purge SUFFIX   empties such keyrings and unlinks them (test clean-up)
 *   mhkeys read ID        tries to read a key: exit 0 and its length if the
 *                         caller may, 1 and the reason if not (never the bytes)
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

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "list"))
		return rings(argv[2], 0);
	if (argc == 3 && !strcmp(argv[1], "purge"))
		return rings(argv[2], 1);
	if (argc == 3 && !strcmp(argv[1], "read"))
		return readable(argv[2]);
	fprintf(stderr, "usage: mhkeys list|purge SUFFIX | mhkeys read ID\n");
	return 2;
}
