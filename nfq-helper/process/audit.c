/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The audit trail: JSON lines for every decision an admin or a reviewer
 * may ask about (announcements, pinholes, roams, session ends, drop counts),
 * never with key material. Two opt-in files serve a security review: the
 * key log (0600, "<port> <key> bound=..." lines) and a pcap of every
 * datagram that took the slow path, whose verdicts the audit log lists in
 * the same order, so mosh-helper-review can replay the daemon's decisions.
 * On SIGUSR1 (logrotate) the files are reopened through the state keeper,
 * never splitting a line: whole lines go to the old file or the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <pcap/pcap.h>

#include "daemon.h"
#include "jsonl.h"
#include "keeper.h"

#define DROPS_EVERY_MS 10000
#define AUDIT_BUF      (32 * 1024)  /* audit lines written after the verdicts */

struct mh_audit {
	char buf[AUDIT_BUF];
	size_t len;
	int fd, keyfd;               /* audit log, key log; -1 when off */
	pcap_t *pcap;
	pcap_dumper_t *pcap_out;
	uint64_t pcap_records;       /* counted from the start, across rotations */
	uint64_t next_drops_ms;
	uint64_t reported[MH_R_COUNT];
	bool watching;               /* the keeper's answers are in the epoll set */
};

/* What a local user's own requests cause (refused announcements, pinhole
 * churn) is written in full up to NOISY_BURST events per uid and kind, then
 * NOISY_PER_SEC a second; the rest is counted and summed up per uid every
 * DROPS_EVERY_MS, in the log and in the audit trail ("suppressed"). */
#define NOISY_PER_SEC 1
#define NOISY_BURST   20
static struct mh_uidlimit noisy;
static const char *const noisy_key[MH_NOISY_KINDS] = {
	[MH_NOISY_CONTROL] = "control_requests",
	[MH_NOISY_PINHOLE] = "pinhole_events",
};

/* An audit file must be ours alone to write: a regular file (never
 * through a symbolic link: O_NOFOLLOW), owned by the daemon's uid, not
 * writable by group or other (whoever could write it could forge lines).
 * 0, or -errno with why set. */
static int check_private(int fd, const char **why)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		*why = strerror(errno);
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		*why = "owned by another user";
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		*why = "writable by group or other";
		return -EPERM;
	}
	return 0;
}

/* Opens (creating if need be) an audit file; O_NONBLOCK: a FIFO put in
 * its place must not hang the start. Refusals are logged with the reason. */
static int open_private(const char *what, const char *path, mode_t mode,
			int flags)
{
	char dir[PATH_MAX];
	const char *why = NULL;
	int fd, err;

	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0750) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
		  flags, mode);
	if (fd < 0) {
		err = -errno;
		log_err("%s %s: %s", what, path, err == -ELOOP ?
			"a symbolic link: refused (the file itself must be given)" :
			err == -ENXIO ? "not a regular file: refused" : strerror(-err));
		return err;
	}
	err = check_private(fd, &why);
	/* ours and not group/other-writable: only read bits can be too wide */
	if (!err && fchmod(fd, mode) < 0) {
		err = -errno;
		why = strerror(errno);
	}
	if (err) {
		log_err("%s %s refused: %s", what, path, why);
		close(fd);
		return err;
	}
	return fd;
}

/* A capture on descriptor fd (taken), its header written first. */
static int start_pcap(struct mh_audit *a, const char *path, int fd)
{
	FILE *f = fdopen(fd, "wb");

	if (f)
		a->pcap_out = pcap_dump_fopen(a->pcap, f);
	if (!a->pcap_out) {
		log_err("slowpath_pcap %s: %s", path, pcap_geterr(a->pcap));
		if (f)
			fclose(f);
		else
			close(fd);
		return -EIO;
	}
	return 0;
}

/* The capture is written through a descriptor opened as the other audit
 * files are (libpcap's own open would follow a symbolic link). */
static int open_pcap(struct mh_daemon *d, struct mh_audit *a)
{
	int fd = open_private("slowpath_pcap", d->cfg.slowpath_pcap, 0600, O_TRUNC);

	if (fd < 0)
		return fd;
	a->pcap = pcap_open_dead(DLT_RAW, 65535);
	if (!a->pcap) {
		log_err("slowpath_pcap %s: cannot start a capture", d->cfg.slowpath_pcap);
		close(fd);
		return -EIO;
	}
	return start_pcap(a, d->cfg.slowpath_pcap, fd);
}

int mh_audit_open(struct mh_daemon *d)
{
	struct mh_audit *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->fd = a->keyfd = -1;
	d->audit = a;
	mh_uidlimit_init(&noisy, NOISY_PER_SEC, NOISY_BURST);
	if (d->cfg.audit_log[0]) {
		a->fd = open_private("audit_log", d->cfg.audit_log, 0640, O_APPEND);
		if (a->fd < 0)
			return a->fd;
	}
	if (d->cfg.key_log[0]) {
		a->keyfd = open_private("key_log", d->cfg.key_log, 0600, O_APPEND);
		if (a->keyfd < 0)
			return a->keyfd;
		log_warn("key_log is on: session keys are written to %s (for a "
			 "security review; turn it off afterwards)", d->cfg.key_log);
	}
	if (d->cfg.slowpath_pcap[0])
		return open_pcap(d, a);
	return 0;
}

void mh_audit_close(struct mh_daemon *d)
{
	struct mh_audit *a = d->audit;

	if (!a)
		return;
	mh_audit_flush(d);
	if (a->pcap_out)
		pcap_dump_close(a->pcap_out);
	if (a->pcap)
		pcap_close(a->pcap);
	if (a->fd >= 0)
		close(a->fd);
	if (a->keyfd >= 0)
		close(a->keyfd);
	free(a);
	d->audit = NULL;
}

/* The audit state if the audit log is on, else NULL. */
static struct mh_audit *trail(struct mh_daemon *d)
{
	return d->audit && d->audit->fd >= 0 ? d->audit : NULL;
}

static void begin(struct mh_jsonl *j, const char *event)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	mh_jsonl_begin(j);
	mh_jsonl_num(j, "time", (double)ts.tv_sec + ts.tv_nsec / 1e9, 6);
	mh_jsonl_str(j, "event", event);
}

/* Whole lines, in one write: a reopen never falls inside one. */
void mh_audit_flush(struct mh_daemon *d)
{
	struct mh_audit *a = d->audit;

	if (!a)
		return;
	if (a->len && a->fd >= 0 &&
	    write(a->fd, a->buf, a->len) != (ssize_t)a->len &&
	    mh_ratelimit_ok(&d->drop_log, mh_now_ms()))
		log_warn("audit_log %s: %s", d->cfg.audit_log, strerror(errno));
	a->len = 0;
}

/* Lines are buffered and written once the event loop has sent the
 * verdicts of the packets they describe. */
static void emit(struct mh_daemon *d, struct mh_jsonl *j)
{
	struct mh_audit *a = d->audit;
	size_t n = mh_jsonl_end(j);

	if (a->len + n > sizeof(a->buf))
		mh_audit_flush(d);
	memcpy(a->buf + a->len, j->buf, n);
	a->len += n;
}

/* A gateway's session is named by its server's address too (its one
 * bound address, lib/gwtable.c). */
static void session_fields(const struct mh_daemon *d, struct mh_jsonl *j,
			   const struct mh_session *s)
{
	struct mh_addr server = { .family = s->bound[0].family, .port = s->port };

	mh_jsonl_u64(j, "session", s->id);
	mh_jsonl_u64(j, "port", s->port);
	if (d->cfg.role != MH_ROLE_GATEWAY || s->n_bound != 1)
		return;
	memcpy(server.ip, s->bound[0].ip, sizeof(server.ip));
	mh_jsonl_addr(j, "server", &server);
}

void mh_audit_simple(struct mh_daemon *d, const char *event, const char *k,
		     const char *v)
{
	struct mh_jsonl j;

	if (!trail(d))
		return;
	begin(&j, event);
	if (k)
		mh_jsonl_str(&j, k, v);
	emit(d, &j);
}

void mh_audit_announce(struct mh_daemon *d, uid_t uid,
		       const struct mhc_announce *a, uint8_t status,
		       const char *why, const struct mh_session *s)
{
	struct mh_jsonl j;

	if (!trail(d))
		return;
	begin(&j, status == MHC_OK ? "session_accepted" : "session_refused");
	if (s)
		mh_jsonl_u64(&j, "session", s->id);
	mh_jsonl_u64(&j, "port", a->port);
	mh_jsonl_u64(&j, "uid", uid);
	mh_jsonl_u64(&j, "pid", a->pid);
	mh_jsonl_str(&j, "ssh_connection", a->ssh_connection);
	mh_jsonl_str(&j, "status", mhc_status_name(status));
	mh_jsonl_str(&j, "reason", why);
	emit(d, &j);
}

void mh_audit_key(struct mh_daemon *d, const struct mh_session *s,
		  const char *key)
{
	char bound[256] = "", line[400];
	int n;

	if (!d->audit || d->audit->keyfd < 0)
		return;
	if (s->n_bound)
		mh_bound_format(s->bound, s->n_bound, bound, sizeof(bound));
	n = snprintf(line, sizeof(line), "%u %s%s%s\n", s->port, key,
		     bound[0] ? " bound=" : "", bound);
	if (n > 0 && write(d->audit->keyfd, line, (size_t)n) != n)
		log_warn("key_log %s: %s", d->cfg.key_log, strerror(errno));
	OPENSSL_cleanse(line, sizeof(line));
}

void mh_audit_pinhole(struct mh_daemon *d, const struct mh_session *s,
		      const char *event, const struct mh_addr *client,
		      const char *why)
{
	struct mh_jsonl j;

	if (!trail(d))
		return;
	begin(&j, event);
	session_fields(d, &j, s);
	mh_jsonl_addr(&j, "client", client);
	if (why)
		mh_jsonl_str(&j, "why", why);
	emit(d, &j);
}

void mh_audit_roam(struct mh_daemon *d, const struct mh_session *s,
		   const struct mh_addr *from, const struct mh_addr *to)
{
	struct mh_jsonl j;

	if (!trail(d))
		return;
	begin(&j, "roam");
	session_fields(d, &j, s);
	mh_jsonl_addr(&j, "from", from);
	mh_jsonl_addr(&j, "to", to);
	emit(d, &j);
}

void mh_audit_session_end(struct mh_daemon *d, const struct mh_session *s,
			  const char *why)
{
	struct mh_jsonl j;

	if (!trail(d))
		return;
	begin(&j, "session_end");
	session_fields(d, &j, s);
	mh_jsonl_str(&j, "why", why);
	emit(d, &j);
}

void mh_audit_relay(struct mh_daemon *d, const char *event,
		    const char *relay, const struct mh_session *s,
		    const char *why)
{
	struct mh_jsonl j;

	if (!trail(d))
		return;
	begin(&j, event);
	if (s)
		session_fields(d, &j, s);
	mh_jsonl_str(&j, "relay", relay);
	if (why)
		mh_jsonl_str(&j, "why", why);
	emit(d, &j);
}

/* One slow-path datagram: into the pcap, and its verdict into the log. */
void mh_audit_datagram(struct mh_daemon *d, enum mh_path path,
		       const uint8_t *l3, size_t len,
		       const struct mh_decision *dec)
{
	struct pcap_pkthdr h = { .caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len };
	struct mh_audit *a = d->audit;
	struct mh_jsonl j;

	if (!a || !a->pcap_out)
		return;
	gettimeofday(&h.ts, NULL);
	pcap_dump((u_char *)a->pcap_out, &h, l3);
	a->pcap_records++;
	if (!trail(d))
		return;
	begin(&j, "datagram");
	mh_jsonl_u64(&j, "record", a->pcap_records);
	mh_jsonl_str(&j, "path", path == MH_INBOUND ? "in" : "out");
	if (dec->reason != MH_R_MALFORMED) {
		mh_jsonl_addr(&j, "src", &dec->pkt.src);
		mh_jsonl_addr(&j, "dst", &dec->pkt.dst);
	}
	if (dec->accept || dec->reason >= MH_R_WRONG_DIRECTION)  /* header parsed */
		mh_jsonl_u64(&j, "seq", dec->hdr.seq);
	mh_jsonl_str(&j, "verdict", dec->accept ? "accept" : "drop");
	mh_jsonl_str(&j, "reason", mh_reason_name(dec->reason));
	emit(d, &j);
}

bool mh_audit_allow(struct mh_daemon *d, uid_t uid, enum mh_noisy kind)
{
	(void)d;
	return mh_uidlimit_ok(&noisy, (uint32_t)uid, kind, mh_now_ms());
}

/* One uid's held-back events: a log line and an audit event of counts. */
static void report_suppressed(void *arg, uint32_t uid, bool other,
			      const uint64_t n[MH_NOISY_KINDS])
{
	struct mh_daemon *d = arg;
	char who[32], what[160] = "";
	size_t len = 0;
	struct mh_jsonl j;
	int k;

	snprintf(who, sizeof(who), other ? "other" : "%u", (unsigned)uid);
	for (k = 0; k < MH_NOISY_KINDS && len < sizeof(what); k++)
		if (n[k])
			len += (size_t)snprintf(what + len, sizeof(what) - len,
						"%s%llu %s", len ? ", " : "",
						(unsigned long long)n[k], mh_noisy_name(k));
	log_warn("uid %s: %s not logged one by one (more than %d a second)",
		 who, what, NOISY_PER_SEC);
	if (!trail(d))
		return;
	begin(&j, "suppressed");
	if (other)
		mh_jsonl_str(&j, "uid", who);
	else
		mh_jsonl_u64(&j, "uid", uid);
	for (k = 0; k < MH_NOISY_KINDS; k++)
		mh_jsonl_u64(&j, noisy_key[k], n[k]);
	emit(d, &j);
}

/* Timer: flush the pcap; report drop counts and suppressed events since
 * the last report. */
void mh_audit_tick(struct mh_daemon *d, uint64_t now_ms)
{
	struct mh_audit *a = d->audit;
	struct mh_jsonl j;
	bool any = false;
	int r;

	if (!a)
		return;
	if (a->pcap_out)
		pcap_dump_flush(a->pcap_out);
	if (now_ms < a->next_drops_ms)
		return;
	a->next_drops_ms = now_ms + DROPS_EVERY_MS;
	mh_uidlimit_drain(&noisy, now_ms, report_suppressed, d);
	if (!trail(d))
		return;
	begin(&j, "drops");
	mh_jsonl_open(&j, "counts");
	for (r = 0; r < MH_R_COUNT; r++) {
		uint64_t n = d->stats.verdicts[r] - a->reported[r];

		if (r < MH_R_FIRST_DROP || !n)
			continue;
		mh_jsonl_u64(&j, mh_reason_name(r), n);
		a->reported[r] = d->stats.verdicts[r];
		any = true;
	}
	mh_jsonl_close(&j);
	if (any)
		emit(d, &j);
}

/* At a stop: the drops since the last report count too. */
void mh_audit_last_tick(struct mh_daemon *d)
{
	if (d->audit)
		d->audit->next_drops_ms = 0;
	mh_audit_tick(d, mh_now_ms());
}

/* ------------------------------------------------------------------ */
/* Reopening (logrotate: rename, then SIGUSR1)                         */

static const char *const file_key[MH_KF_COUNT] = {
	[MH_KF_AUDIT] = "audit_log", [MH_KF_KEYS] = "key_log",
	[MH_KF_PCAP] = "slowpath_pcap",
};

static void file_id(int fd, struct mh_file_id *id)
{
	struct stat st;

	*id = (struct mh_file_id){ 0, 0 };
	if (fd >= 0 && fstat(fd, &st) == 0)
		*id = (struct mh_file_id){ (uint64_t)st.st_dev, (uint64_t)st.st_ino };
}

static int pcap_fd(const struct mh_audit *a)
{
	return a->pcap_out ? fileno(pcap_dump_file(a->pcap_out)) : -1;
}

void mh_audit_reopen(struct mh_daemon *d, struct mh_keeper *k)
{
	struct mh_audit *a = d->audit;
	struct mh_file_id cur[MH_KF_COUNT];
	int err;

	if (!a || (a->fd < 0 && a->keyfd < 0 && !a->pcap_out))
		return;
	if (!k) {
		log_warn("audit files not reopened: no state keeper (see the "
			 "start-up log); still writing the files opened at start");
		return;
	}
	if (!a->watching &&
	    (err = mh_epoll_add(d, mh_keeper_fd(k), EV_TAG(EV_KEEPER, 0))) < 0) {
		log_warn("audit files not reopened: epoll: %s", strerror(-err));
		return;
	}
	a->watching = true;
	file_id(a->fd, &cur[MH_KF_AUDIT]);
	file_id(a->keyfd, &cur[MH_KF_KEYS]);
	file_id(pcap_fd(a), &cur[MH_KF_PCAP]);
	if ((err = mh_keeper_reopen(k, cur)) < 0)
		log_warn("audit files not reopened: state keeper: %s", strerror(-err));
}

/* The new descriptor of file i takes over; lines buffered so far go to
 * the old one first. false if the file is off from now on (pcap). */
static bool take_over(struct mh_daemon *d, struct mh_audit *a, unsigned i, int fd)
{
	if (i == MH_KF_AUDIT) {
		mh_audit_flush(d);
		close(a->fd);
		a->fd = fd;
	} else if (i == MH_KF_KEYS) {
		close(a->keyfd);
		a->keyfd = fd;
	} else {
		pcap_dump_close(a->pcap_out);        /* flushed, then closed */
		a->pcap_out = NULL;
		return start_pcap(a, d->cfg.slowpath_pcap, fd) == 0;
	}
	return true;
}

static void reopened(struct mh_daemon *d, struct mh_audit *a,
		     const int fd[MH_KF_COUNT])
{
	char names[64] = "";
	const char *path[MH_KF_COUNT] = { d->cfg.audit_log, d->cfg.key_log,
					  d->cfg.slowpath_pcap };

	for (unsigned i = 0; i < MH_KF_COUNT; i++) {
		if (fd[i] < -1)
			log_warn("%s %s: reopening: %s; still writing the file "
				 "opened before", file_key[i], path[i], strerror(-fd[i]));
		if (fd[i] < 0)
			continue;
		if (!take_over(d, a, i, fd[i]))
			continue;
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
			 "%s%s", names[0] ? "," : "", file_key[i]);
	}
	log_info("audit files reopened: %s", names[0] ? names : "none had moved");
	mh_audit_simple(d, "reopened", "files", names);
}

/* The keeper answered (EV_KEEPER). */
void mh_audit_keeper_input(struct mh_daemon *d, struct mh_keeper *k)
{
	int fd[MH_KF_COUNT], err = -EAGAIN;

	while (k && d->audit && (err = mh_keeper_reopened(k, fd)) == 0)
		reopened(d, d->audit, fd);
	if (k && d->audit && err != -EAGAIN) {
		log_warn("state keeper: %s; audit files can no longer be reopened",
			 strerror(-err));
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, mh_keeper_fd(k), NULL);
		d->audit->watching = false;
	}
}

void mh_stats_named(const struct mh_daemon *d,
		    struct mh_named_stat out[MH_STATS_NAMED])
{
	const struct mh_stats *st = &d->stats;
	const uint64_t v[MH_STATS_NAMED] = {
		[MH_STAT_SESSIONS] = d->sessions.count,
		[MH_STAT_ANNOUNCE_ACCEPTED] = st->announce_ok,
		[MH_STAT_ANNOUNCE_REFUSED] = st->announce_refused,
		[MH_STAT_PINHOLES_OPENED] = st->pinholes_opened,
		[MH_STAT_PINHOLES_EXPIRED] = st->pinholes_expired,
		[MH_STAT_SESSIONS_ENDED] = st->sessions_ended,
		[MH_STAT_NFT_ERRORS] = st->nft_errors,
		[MH_STAT_PINHOLES_REARMED] = st->pinholes_rearmed,
		[MH_STAT_READBACKS] = st->readbacks,
		[MH_STAT_READBACK_MS] = st->readback_ms,
		[MH_STAT_READBACK_MAX_MS] = st->readback_max_ms,
		[MH_STAT_READBACK_BUSY_MS] = st->readback_busy_ms,
		[MH_STAT_READBACK_RUNNING] = d->rb.role != NULL,
	};

	for (int i = 0; i < MH_STATS_NAMED; i++) {
		out[i].name = mh_stat_descs[i].name;
		out[i].value = v[i];
	}
}

void mh_audit_stats(struct mh_daemon *d)
{
	const struct mh_stats *st = &d->stats;
	struct mh_named_stat named[MH_STATS_NAMED];
	struct mh_jsonl j;
	int r;

	log_info("stats: %u sessions; announcements %llu accepted, %llu refused; "
		 "pinholes %llu opened, %llu expired; %llu sessions ended; %llu nft errors",
		 d->sessions.count, (unsigned long long)st->announce_ok,
		 (unsigned long long)st->announce_refused,
		 (unsigned long long)st->pinholes_opened,
		 (unsigned long long)st->pinholes_expired,
		 (unsigned long long)st->sessions_ended,
		 (unsigned long long)st->nft_errors);
	for (r = 0; r < MH_R_COUNT; r++)
		if (st->verdicts[r])
			log_info("stats: verdict %s %s: %llu", r < MH_R_FIRST_DROP ?
				 "accept" : "drop", mh_reason_name(r),
				 (unsigned long long)st->verdicts[r]);
	if (!trail(d))
		return;
	begin(&j, "stats");
	mh_stats_named(d, named);
	for (r = 0; r < MH_STATS_NAMED; r++)
		mh_jsonl_u64(&j, named[r].name, named[r].value);
	mh_jsonl_open(&j, "verdicts");
	for (r = 0; r < MH_R_COUNT; r++)
		mh_jsonl_u64(&j, mh_reason_name(r), st->verdicts[r]);
	mh_jsonl_close(&j);
	emit(d, &j);
	mh_audit_flush(d);
}
