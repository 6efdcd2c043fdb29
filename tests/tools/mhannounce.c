/*
 * mhannounce: a direct control-socket client for the local-abuse tests. It
 * sends one announcement with whatever port, pid and key it is given (no
 * mosh-server involved) and prints the daemon's status and reason.
 * Exit: 0 accepted, 1 refused, 2 usage or transport error.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

#define MA_TIMEOUT_MS 5000

static void usage(void)
{
	fprintf(stderr, "usage: mhannounce SOCKET PORT PID KEY [SSH_CONNECTION]\n");
	exit(2);
}

static long parse_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 0 || v > max)
		usage();
	return v;
}

static int connect_ctl(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Send the announcement, wait for one reply; 0 or -errno. */
static int exchange(int fd, const struct mhc_announce *a, struct mhc_msg *r)
{
	uint8_t buf[MHC_MAX_MSG];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const char *why = NULL;
	ssize_t n = mhc_encode_announce(a, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return -errno;
	if (poll(&pfd, 1, MA_TIMEOUT_MS) <= 0)
		return -ETIMEDOUT;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if (mhc_decode(buf, (size_t)n, r, &why) < 0 || r->type != MHC_REPLY) {
		fprintf(stderr, "mhannounce: bad reply: %s\n", why ? why : "not a reply");
		return -EPROTO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mhc_announce a = { 0 };
	struct mhc_msg r;
	int fd, err;

	if (argc < 5 || argc > 6)
		usage();
	a.port = (uint16_t)parse_num(argv[2], 65535);
	a.pid = (uint32_t)parse_num(argv[3], 0x7fffffffL);
	snprintf(a.key, sizeof(a.key), "%s", argv[4]);
	if (argc == 6)
		snprintf(a.ssh_connection, sizeof(a.ssh_connection), "%s", argv[5]);
	fd = connect_ctl(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "mhannounce: %s: %s\n", argv[1], strerror(-fd));
		return 2;
	}
	err = exchange(fd, &a, &r);
	close(fd);
	if (err < 0) {
		fprintf(stderr, "mhannounce: %s\n", strerror(-err));
		return 2;
	}
	printf("%s %s\n", mhc_status_name(r.u.reply.status), r.u.reply.reason);
	return r.u.reply.status == MHC_OK ? 0 : 1;
}
