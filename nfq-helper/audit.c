/*
 * The audit trail: JSON lines for every decision an admin or a reviewer
 * may ask about (announcements, pinholes, roams, session ends, drop counts),
 * never with key material. Two opt-in files serve a security review: the
 * key log (0600, "<port> <key> bound=..." lines) and a pcap of every
 * datagram that took the slow path, whose verdicts the audit log lists in
 * the same order, so mosh-helper-review can replay the daemon's decisions.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <pcap/pcap.h>

#include "daemon.h"
#include "jsonl.h"

#define DROPS_EVERY_MS 10000

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

/* The capture is written through a descriptor opened as the other audit
 * files are (libpcap's own open would follow a symbolic link). */
static int open_pcap(struct mh_daemon *d)
{
	int fd = open_private("slowpath_pcap", d->cfg.slowpath_pcap, 0600, O_TRUNC);
	FILE *f;

	if (fd < 0)
		return fd;
	f = fdopen(fd, "wb");
	d->pcap = pcap_open_dead(DLT_RAW, 65535);
	if (f && d->pcap)
		d->pcap_out = pcap_dump_fopen(d->pcap, f);
	if (!d->pcap_out) {
		log_err("slowpath_pcap %s: %s", d->cfg.slowpath_pcap,
			d->pcap ? pcap_geterr(d->pcap) : "cannot start a capture");
		if (f)
			fclose(f);
		else
			close(fd);
		return -EIO;
	}
	return 0;
}

int mh_audit_open(struct mh_daemon *d)
{
	d->audit_fd = d->keylog_fd = -1;
	mh_uidlimit_init(&noisy, NOISY_PER_SEC, NOISY_BURST);
	if (d->cfg.audit_log[0]) {
		d->audit_fd = open_private("audit_log", d->cfg.audit_log, 0640, O_APPEND);
		if (d->audit_fd < 0)
			return d->audit_fd;
	}
	if (d->cfg.key_log[0]) {
		d->keylog_fd = open_private("key_log", d->cfg.key_log, 0600, O_APPEND);
		if (d->keylog_fd < 0)
			return d->keylog_fd;
		log_warn("key_log is on: session keys are written to %s (for a "
			 "security review; turn it off afterwards)", d->cfg.key_log);
	}
	if (d->cfg.slowpath_pcap[0])
		return open_pcap(d);
	return 0;
}

void mh_audit_close(struct mh_daemon *d)
{
	mh_audit_flush(d);
	if (d->pcap_out)
		pcap_dump_close(d->pcap_out);
	if (d->pcap)
		pcap_close(d->pcap);
	d->pcap_out = NULL;
	d->pcap = NULL;
	if (d->audit_fd >= 0)
		close(d->audit_fd);
	if (d->keylog_fd >= 0)
		close(d->keylog_fd);
	d->audit_fd = d->keylog_fd = -1;
}

static void begin(struct mh_jsonl *j, const char *event)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	mh_jsonl_begin(j);
	mh_jsonl_num(j, "time", (double)ts.tv_sec + ts.tv_nsec / 1e9, 6);
	mh_jsonl_str(j, "event", event);
}

void mh_audit_flush(struct mh_daemon *d)
{
	if (d->audit_len && d->audit_fd >= 0 &&
	    write(d->audit_fd, d->audit_buf, d->audit_len) != (ssize_t)d->audit_len &&
	    mh_ratelimit_ok(&d->drop_log, mh_now_ms()))
		log_warn("audit_log %s: %s", d->cfg.audit_log, strerror(errno));
	d->audit_len = 0;
}

/* Lines are buffered and written once the event loop has sent the
 * verdicts of the packets they describe. */
static void emit(struct mh_daemon *d, struct mh_jsonl *j)
{
	size_t n = mh_jsonl_end(j);

	if (d->audit_len + n > sizeof(d->audit_buf))
		mh_audit_flush(d);
	memcpy(d->audit_buf + d->audit_len, j->buf, n);
	d->audit_len += n;
}

static void session_fields(struct mh_jsonl *j, const struct mh_session *s)
{
	mh_jsonl_u64(j, "session", s->id);
	mh_jsonl_u64(j, "port", s->port);
}

void mh_audit_simple(struct mh_daemon *d, const char *event, const char *k,
		     const char *v)
{
	struct mh_jsonl j;

	if (d->audit_fd < 0)
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

	if (d->audit_fd < 0)
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

	if (d->keylog_fd < 0)
		return;
	if (s->n_bound)
		mh_bound_format(s->bound, s->n_bound, bound, sizeof(bound));
	n = snprintf(line, sizeof(line), "%u %s%s%s\n", s->port, key,
		     bound[0] ? " bound=" : "", bound);
	if (n > 0 && write(d->keylog_fd, line, (size_t)n) != n)
		log_warn("key_log %s: %s", d->cfg.key_log, strerror(errno));
	OPENSSL_cleanse(line, sizeof(line));
}

void mh_audit_pinhole(struct mh_daemon *d, const struct mh_session *s,
		      const char *event, const struct mh_addr *client,
		      const char *why)
{
	struct mh_jsonl j;

	if (d->audit_fd < 0)
		return;
	begin(&j, event);
	session_fields(&j, s);
	mh_jsonl_addr(&j, "client", client);
	if (why)
		mh_jsonl_str(&j, "why", why);
	emit(d, &j);
}

void mh_audit_roam(struct mh_daemon *d, const struct mh_session *s,
		   const struct mh_addr *from, const struct mh_addr *to)
{
	struct mh_jsonl j;

	if (d->audit_fd < 0)
		return;
	begin(&j, "roam");
	session_fields(&j, s);
	mh_jsonl_addr(&j, "from", from);
	mh_jsonl_addr(&j, "to", to);
	emit(d, &j);
}

void mh_audit_session_end(struct mh_daemon *d, const struct mh_session *s,
			  const char *why)
{
	struct mh_jsonl j;

	if (d->audit_fd < 0)
		return;
	begin(&j, "session_end");
	session_fields(&j, s);
	mh_jsonl_str(&j, "why", why);
	emit(d, &j);
}

/* One slow-path datagram: into the pcap, and its verdict into the log. */
void mh_audit_datagram(struct mh_daemon *d, enum mh_path path,
		       const uint8_t *l3, size_t len,
		       const struct mh_decision *dec)
{
	struct pcap_pkthdr h = { .caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len };
	struct mh_jsonl j;

	if (!d->pcap_out)
		return;
	gettimeofday(&h.ts, NULL);
	pcap_dump((u_char *)d->pcap_out, &h, l3);
	d->pcap_records++;
	if (d->audit_fd < 0)
		return;
	begin(&j, "datagram");
	mh_jsonl_u64(&j, "record", d->pcap_records);
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
	if (d->audit_fd < 0)
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
	struct mh_jsonl j;
	bool any = false;
	int r;

	if (d->pcap_out)
		pcap_dump_flush(d->pcap_out);
	if (now_ms < d->next_drops_ms)
		return;
	d->next_drops_ms = now_ms + DROPS_EVERY_MS;
	mh_uidlimit_drain(&noisy, now_ms, report_suppressed, d);
	if (d->audit_fd < 0)
		return;
	begin(&j, "drops");
	mh_jsonl_open(&j, "counts");
	for (r = 0; r < MH_R_COUNT; r++) {
		uint64_t n = d->stats.verdicts[r] - d->reported[r];

		if (r < MH_R_FIRST_DROP || !n)
			continue;
		mh_jsonl_u64(&j, mh_reason_name(r), n);
		d->reported[r] = d->stats.verdicts[r];
		any = true;
	}
	mh_jsonl_close(&j);
	if (any)
		emit(d, &j);
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
	if (d->audit_fd < 0)
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
