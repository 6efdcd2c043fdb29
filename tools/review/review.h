/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper-review: the types its parts share. A capture (capture.c) gives
 * layer-3 packets; track.c builds one story per session from them, with the
 * SSP decoding of instr.c/pb.c, the verdicts of judge.c (the daemon's own
 * mh_decide), the sequence notes of seq.c and the SSH logins of ssh.c;
 * out_text.c / out_json.c print it (with fmt.c).
 */
#ifndef MH_REVIEW_H
#define MH_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pkt.h"
#include "session.h"
#include "verdict.h"

/* Time: microseconds since the epoch (pcap time stamps). */
typedef int64_t rv_time;

#define RV_US_PER_S       INT64_C(1000000)
#define RV_GAP_HEARTBEATS 3          /* a gap is longer than this many heartbeats */
#define RV_DUP_WINDOW_US  1000000    /* same bytes from the same source within 1 s: duplicate */
/* Without a key nothing proves a datagram is SSP: shorter than header,
 * timestamps, fragment header and tag, or a sequence number this far above
 * the highest seen, is not taken into the story. */
#define RV_KEYLESS_MIN_LEN  (SSP_MIN_DATAGRAM_LEN + SSP_TIMESTAMPS_LEN + SSP_FRAG_HEADER_LEN)
#define RV_KEYLESS_MAX_JUMP 1000000

struct rv_opts {
	bool json;
	const char *keys_path;
	const char *config_path;
	unsigned idle_timeout_s;       /* pinhole lifetime without inbound hits
					  (at most, judge.c) */
	unsigned candidate_lifetime_s;
	unsigned max_pinholes;
	uint16_t port_low, port_high;  /* the managed range */
	bool slow_path;                /* every datagram went to the daemon */
	bool keyless;                  /* the daemon ran keyless: every session
					  judged by keyless.h's rule */
	unsigned keyless_rate;         /* slow_path_rate_per_session */
};

/* ---- capture.c ---------------------------------------------------------- */

struct rv_packet {
	rv_time ts;
	const uint8_t *l3;      /* captured bytes from the IP header on */
	size_t l3_len;
	size_t wire_len;        /* length on the wire from the IP header on */
	uint64_t index;         /* 1-based record number in its file */
};

struct rv_capture {
	const char *path;
	char linktype[32];
	uint64_t records;       /* records read */
	uint64_t non_ip;        /* link-layer frames without IPv4/IPv6 */
	rv_time first, last;
	bool failed;            /* could not open, or stopped on an error */
	bool has_offset;
	uint64_t err_offset;    /* byte offset of the record that failed */
	char err[512];          /* human-readable error, "" if none */
};

typedef void (*rv_packet_fn)(void *ctx, const struct rv_packet *p);

/* Reads every record, calling fn for each IP packet. 0, or -1 with
 * c->err set (the packets before the error have been handed to fn). */
int rv_capture_read(struct rv_capture *c, rv_packet_fn fn, void *ctx);

/* ---- hash.c ------------------------------------------------------------- */

/* SipHash-2-4 under a key drawn once per process. */
uint64_t rv_hash(const void *data, size_t len);
/* Of an address (with or without its port) and one more number. */
uint64_t rv_hash_addr(const struct mh_addr *a, bool with_port, uint64_t extra);

/* Open addressing from a hash to 32-bit values (never 0 or UINT32_MAX);
 * the caller keeps what the values name and tells equal ones apart. */
struct rv_idx {
	uint32_t *val;          /* 0 empty, UINT32_MAX deleted */
	uint64_t *h;
	size_t cap, n, tombs;
};
typedef bool (*rv_idx_eq)(const void *ctx, uint32_t val);

int rv_idx_add(struct rv_idx *x, uint64_t h, uint32_t val);   /* 0 or -1 (memory) */
/* The value under h that eq accepts, 0 if none. */
uint32_t rv_idx_find(const struct rv_idx *x, uint64_t h, rv_idx_eq eq,
		     const void *ctx);
void rv_idx_del(struct rv_idx *x, uint64_t h, uint32_t val);
void rv_idx_free(struct rv_idx *x);

/* ---- keys.c ------------------------------------------------------------- */

#define RV_MAX_KEYS       65536       /* keys in one key file */
#define RV_MAX_KEY_FILE   (16u << 20) /* bytes */
#define RV_MAX_KEY_LINE   1024        /* bytes of one line */

/* One key of the key file. A port may have several (a single-port server:
 * every session on one port); their datagrams are told apart by trial
 * authentication. A line may name the server's address with the port (a
 * capture taken on a gateway: sessions by server address . port), and may
 * say the port is keyless (the keyless daemon's session: no key). */
struct rv_key {
	struct mh_session *mh;      /* its session (all of them in keys->t) */
	struct mh_addr server;      /* family 0: any address (a port-only line) */
	bool keyless;               /* "keyless" instead of a key: mh->ssp NULL */
	unsigned line;              /* in the key file */
	unsigned nth;               /* 1-based among the keys of its port */
	unsigned of;                /* first key of a port: the port's count */
	struct rv_key *next;        /* next key of the same port, file order */
	struct rv_key *tail;        /* first key of a port: the port's last */
	bool used;                  /* a datagram of the capture was its */
	uint8_t raw[SSP_KEY_LEN];   /* to refuse the same key twice; wiped */
};

struct rv_keys {
	struct mh_table *t;         /* the daemon's session table: by_port
				       names the first key of each port-only
				       line's port */
	struct rv_key **v;          /* file order */
	size_t n, cap;
	unsigned ports;             /* ports and server address . ports */
	unsigned servers;           /* of which server address . ports */
	unsigned keyless;           /* keyless lines */
	struct rv_key **by_port;    /* 65536 entries: first key of a port */
	struct rv_idx by_server;    /* server address . port -> index + 1 in v
				       of its first key */
	struct rv_idx dup;          /* (server, key) -> index + 1 in v */
	unsigned max_pinholes;
};

/* keys->t must be an empty, initialised table. 0 or -1 (memory). */
int rv_keys_init(struct rv_keys *k, struct mh_table *t, unsigned max_pinholes);
/* Frees the keys (wiping them) and clears the table. */
void rv_keys_free(struct rv_keys *k);
/* Parses a key file's bytes (need not end in a newline nor in NUL):
 * "<server> <22-char key> [bound=ADDR,...]" or "<server> keyless" lines,
 * <server> a port, "A.B.C.D:PORT" or "[ADDR]:PORT" (bound= only after a
 * port), '#' comments, blank lines. 0, or -1 with err = "NAME:LINE:
 * reason" (no key material). */
int rv_keys_parse(struct rv_keys *k, const char *buf, size_t len,
		  const char *name, char *err, size_t errlen);
/* Reads and parses the file at path (at most RV_MAX_KEY_FILE bytes). */
int rv_keys_load(struct rv_keys *k, const char *path, char *err, size_t errlen);
static inline struct rv_key *rv_keys_port(const struct rv_keys *k, uint16_t port)
{
	return k->by_port[port];
}
/* The first key of a datagram's server end: a line naming that address
 * and port, else a port-only line; NULL if none. */
struct rv_key *rv_keys_find(const struct rv_keys *k, const struct mh_addr *server);

/* ---- keyaddr.c ---------------------------------------------------------- */

/* A key line's server: "PORT", "A.B.C.D:PORT" or "[ADDR]:PORT" (IPv4 or
 * IPv6 in the brackets) of len bytes. 0 (server->family 0 for a port
 * alone), or -1 with *why a static reason. */
int rv_keyaddr_parse(const char *s, size_t len, struct mh_addr *server,
		     const char **why);
/* "PORT" or "[ADDR]:PORT" into out (at least MH_ADDRSTRLEN bytes). */
const char *rv_keyaddr_str(const struct mh_addr *server, char *out, size_t len);

/* ---- ssh.c -------------------------------------------------------------- */

struct rv_ssh {
	struct mh_addr client, server;
	rv_time syn;            /* first SYN */
	bool established;       /* SYN-ACK seen from the server */
};

#define RV_MAX_SSH      200000   /* SSH connections kept; more are counted */
#define RV_SSH_PER_HOST 1024     /* latest logins kept per client address */

struct rv_ssh_host;               /* ssh.c: the logins of one client address */

struct rv_ssh_list {
	struct rv_ssh *v;
	size_t n, cap;
	struct rv_idx conn;       /* (client, server) -> index + 1 in v */
	struct rv_idx host;       /* client address -> index + 1 in hosts */
	struct rv_ssh_host *hosts;
	size_t n_hosts, cap_hosts;
	uint64_t dropped;         /* SYNs of connections beyond RV_MAX_SSH */
	uint64_t host_dropped;    /* logins forgotten beyond RV_SSH_PER_HOST */
	bool oom;
};

/* Notes a TCP SYN / SYN-ACK on port 22; false if p is not one. */
bool rv_ssh_packet(struct rv_ssh_list *l, const struct rv_packet *p);
/* Index of the latest login from that client address (port ignored) at or
 * before t, -1 if none. */
long rv_ssh_find(const struct rv_ssh_list *l, const struct mh_addr *client,
		 rv_time t);
void rv_ssh_free(struct rv_ssh_list *l);

/* ---- pb.c: the Instruction protobuf ------------------------------------ */

enum rv_instr_field {
	RV_F_PROTOCOL_VERSION = 1,
	RV_F_OLD_NUM,
	RV_F_NEW_NUM,
	RV_F_ACK_NUM,
	RV_F_THROWAWAY_NUM,
	RV_F_DIFF,
	RV_F_CHAFF,
};

struct rv_instr {
	unsigned present;       /* bit (1 << field) per field seen */
	uint64_t num[6];        /* indexed by field 1..5 */
	size_t diff_len, chaff_len;
};

/* 0, or -1 with *why a static reason. Unknown fields are skipped. */
int rv_instr_decode(const uint8_t *b, size_t len, struct rv_instr *in,
		    const char **why);

/* ---- instr.c: decryption, fragments, zlib ------------------------------ */

struct rv_frag {
	uint16_t num;
	size_t len;
	uint8_t *data;
};

/* One direction's instruction being reassembled. */
struct rv_reasm {
	bool active;
	uint64_t id;
	int final_num;          /* -1 until the final fragment arrived */
	struct rv_frag *f;
	size_t n, cap, bytes;
};

struct rv_plain_info {
	bool have;
	uint16_t timestamp, timestamp_reply;
	uint64_t frag_id;
	uint16_t frag_num;
	bool final;
	bool complete;          /* this fragment completed an instruction */
	unsigned frags;         /* fragments it was made of */
	struct rv_instr instr;  /* valid if complete && !instr_err */
	const char *instr_err;  /* static reason the instruction did not decode */
	const char *dropped;    /* static note: an unfinished instruction was abandoned */
};

/* Decrypts one datagram with ctx. 1 authentic (info filled, r fed), 0 not
 * authentic, -1 on allocation failure. */
int rv_instr_datagram(struct ssp_ctx *ctx, struct rv_reasm *r,
		      const uint8_t *dgram, size_t len,
		      struct ssp_header *h, struct rv_plain_info *info);
void rv_reasm_free(struct rv_reasm *r);

/* ---- track.c: sessions and their events -------------------------------- */

enum rv_verdict { RV_V_NONE, RV_V_PINHOLE, RV_V_ACCEPT, RV_V_DROP, RV_V_NO_SESSION };
enum rv_seqnote {
	RV_SEQ_NEW, RV_SEQ_REPLAY, RV_SEQ_DUPLICATE, RV_SEQ_REORDERED,
	RV_SEQ_IMPLAUSIBLE,     /* no key: too short or too far ahead for mosh */
};

struct rv_dgram {
	bool to_server;         /* path: towards the server port */
	struct mh_addr peer;    /* the client side of this datagram */
	size_t len;             /* UDP payload */
	bool have_hdr;
	struct ssp_header hdr;
	int authentic;          /* -1 unknown (no key), 0, 1 */
	struct rv_plain_info plain;
	enum rv_seqnote note;
	bool counted;           /* took part in sequence analysis */
	struct mh_addr orig_src; /* replay: where the seq was first seen */
	rv_time orig_ts;
	uint64_t late_by;       /* reordered: max seen - seq */
	enum rv_verdict verdict;
	const char *reason;     /* mh_reason_name(), "fast_path",
				   RV_REASON_IDLE_WINDOW or "no_key" */
	int mh_reason;          /* enum mh_reason, -1 if mh_decide did not judge */
	bool idle_window;       /* passed on a pinhole the kernel may already
				   have closed (judge.c) */
	rv_time ph_idle;        /* then: since the pinhole's last inbound
				   datagram (or its opening) */
};

/* The reason of a datagram passed on a pinhole in its idle window. */
#define RV_REASON_IDLE_WINDOW "fast_path_idle_window"

/* Pinholes a verdict opened or evicted. */
struct rv_ph_change {
	bool open, evict;
	struct mh_addr client, evicted;
};

enum rv_ev_type { RV_EV_DATAGRAM, RV_EV_ROAM, RV_EV_GAP, RV_EV_PINHOLE };
enum rv_ph_action { RV_PH_OPEN, RV_PH_EXPIRE, RV_PH_EVICT, RV_PH_END };

struct rv_event {
	enum rv_ev_type type;
	rv_time ts;
	union {
		struct rv_dgram d;
		struct {
			struct mh_addr from, to;
			bool port_hop;             /* same address, new port */
			uint64_t last_seq, first_seq;
			rv_time silent;            /* since the last datagram from `from` */
		} roam;
		struct {
			struct mh_addr client;
			rv_time from, len;
		} gap;
		struct {
			struct mh_addr client;
			enum rv_ph_action action;
			/* RV_PH_EXPIRE (at ts it is certainly closed,
			 * judge.c): its last inbound datagram (or its
			 * opening), and the time from which it may have
			 * been closed */
			rv_time idle_since, may_close;
		} ph;
	} u;
};

struct rv_seen;   /* seq.c: hash of sequence numbers seen */

struct rv_seqspace {
	struct rv_seen *seen;
	size_t n, cap;
	bool have_max;
	uint64_t max;
};

struct rv_session {
	bool ended;                     /* the client acknowledged mosh's shutdown */
	struct rv_session *next;
	struct mh_addr server;
	struct mh_addr ph_server;   /* its pinholes' server side: the address
				       too for a line naming it, else only
				       the port (family 0) */
	const struct rv_key *key;   /* NULL: no key for the port, or (shared)
				       no key of the port authenticates */
	const struct rv_key *group; /* its port's first key, NULL if none */
	bool shared;                /* its port has several keys */
	bool keyless;               /* judged by the keyless rule */
	struct mh_session *mh;      /* key's session, NULL without a key */
	long ssh;                   /* index in the review's ssh list, -1 */

	bool have_client, have_reply;
	struct mh_addr first_client, client;
	rv_time start_ts;               /* first datagram of either side */
	rv_time first_ts, first_reply_ts, last_ts, last_client_ts;
	rv_time median;                 /* set by rv_review_finish */
	uint64_t first_seq, first_reply_seq, last_client_seq;

	struct rv_seqspace sp[2];       /* by SSP direction bit */
	struct rv_reasm reasm[2];
	rv_time *intervals;             /* between counted client datagrams */
	size_t n_intervals, cap_intervals;

	uint64_t dgrams[2];             /* by path: [1] = to server */
	uint64_t authentic, forged, replays, duplicates, reordered, roams, gaps;
	uint64_t verdicts[RV_V_NO_SESSION + 1];
	uint64_t idle_window;           /* pinhole verdicts in the idle window */
	uint64_t reasons[MH_R_COUNT];
	unsigned pinholes_open;
	uint32_t ph_head, ph_tail;      /* judge.c: its pinholes (slot + 1) */
	unsigned n_ph;

	struct rv_event *ev;
	size_t n_ev, cap_ev;
};

/* A simulated kernel pinhole: in the review's index by (client, server
 * side: the session's ph_server), in a heap by expiry and in its session's
 * list (slot numbers + 1, 0 none). Certainly open before sure_until,
 * certainly closed from expires on, either in between (judge.c). */
struct rv_pinhole {
	struct mh_addr client;
	struct mh_addr server;
	rv_time last_in;                /* last inbound hit, or the opening */
	rv_time sure_until;
	rv_time expires;
	uint64_t seq;                   /* creation order: ties in the heap */
	struct rv_session *s;           /* NULL: a free slot */
	uint32_t heap_pos;
	uint32_t s_prev, s_next;        /* the session's pinholes, oldest first */
	uint32_t free_next;
};

#define RV_MAX_SESSIONS 50000          /* sessions followed; more are counted */

struct rv_review {
	const struct rv_opts *o;
	struct rv_keys *keys;
	unsigned key_ports;
	struct mh_policy pol;
	struct rv_session *head, **tail;
	unsigned n_sessions;
	struct rv_session **sv;         /* in order of creation */
	size_t cap_sv;
	struct rv_idx sess_idx;         /* (server, key) -> index + 1 in sv */
	uint64_t untracked;             /* datagrams of sessions past the cap */
	uint64_t trials;                /* trial authentications on shared ports */
	struct rv_ssh_list ssh;
	struct rv_pinhole *ph;          /* judge.c: the simulated kernel set */
	size_t n_ph, cap_ph, used_ph;   /* live, allocated, slots ever used */
	uint32_t ph_free;               /* free slots (slot + 1) */
	uint64_t ph_seq;
	struct rv_idx ph_idx;           /* (client, server side) -> slot + 1 */
	uint32_t *heap;                 /* slots by expiry */
	bool have_start;
	rv_time start;                  /* first packet of the first capture */
	uint64_t tcp, other_udp, not_udp;
	uint64_t bad_udp;               /* IP packets mh_pkt_parse refused */
	const char *bad_why;            /* the first one's reason */
	bool oom;
};

void rv_review_init(struct rv_review *r, const struct rv_opts *o,
		    struct rv_keys *keys);
/* rv_packet_fn for rv_capture_read. */
void rv_review_packet(void *ctx, const struct rv_packet *p);
/* Medians and open pinholes, once every capture was read. */
void rv_review_finish(struct rv_review *r);
void rv_review_free(struct rv_review *r);

/* ---- event.c: a session's events --------------------------------------- */
/* Appends an event; NULL (and r->oom) when memory runs out. */
struct rv_event *rv_event_add(struct rv_review *r, struct rv_session *s,
			      enum rv_ev_type type, rv_time ts);

/* ---- seq.c: sequence-number notes ------------------------------------- */

/* Sets d->note (new, replay, duplicate, reordered, implausible), counts it in
 * s and remembers the number. 0, or -1 out of memory. */
int rv_seq_analyse(struct rv_seqspace *sp, struct rv_session *s,
		   struct rv_dgram *d, const struct mh_pkt *pk, rv_time ts);
void rv_seq_free(struct rv_seqspace *sp);

/* ---- judge.c: the verdict mosh-helper would give ----------------------- */

/* Frees the simulated kernel set. */
void rv_judge_free(struct rv_review *r);
/* Drops simulated pinholes certainly closed by now (pinhole events). */
void rv_judge_expire(struct rv_review *r, rv_time now);
/* The session is over (its mosh-server exits after the client acknowledged
 * the shutdown; the daemon then removes its pinholes and its port). */
void rv_judge_end(struct rv_review *r, struct rv_session *s, rv_time now);
/* Sets d->verdict/reason for one datagram of a keyed session; *ch says
 * which pinholes it opened or evicted. */
void rv_judge(struct rv_review *r, struct rv_session *s,
	      const struct rv_packet *p, struct rv_dgram *d,
	      struct rv_ph_change *ch);
/* The session whose pinhole (client, server side) is, or NULL. */
struct rv_session *rv_judge_pinholed(struct rv_review *r, const struct mh_addr *client,
				     const struct mh_addr *ph_server);
/* The pinholes still open at the end. */
unsigned rv_judge_open(const struct rv_review *r, const struct rv_session *s);

/* ---- out_*.c ------------------------------------------------------------ */

void rv_print_text(FILE *f, const struct rv_review *r,
		   const struct rv_capture *caps, size_t ncaps);
void rv_print_json(FILE *f, const struct rv_review *r,
		   const struct rv_capture *caps, size_t ncaps);

#endif
