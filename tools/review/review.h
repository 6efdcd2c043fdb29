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
	unsigned idle_timeout_s;       /* pinhole lifetime without inbound hits */
	unsigned candidate_lifetime_s;
	unsigned max_pinholes;
	uint16_t port_low, port_high;  /* the managed range */
	bool slow_path;                /* every datagram went to the daemon */
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

/* ---- keys.c ------------------------------------------------------------- */

/* Loads "<port> <22-char key>" lines into t (one session per port).
 * 0, or -1 with err = "FILE:LINE: reason". */
int rv_keys_load(const char *path, struct mh_table *t, unsigned max_pinholes,
		 char *err, size_t errlen);

/* ---- ssh.c -------------------------------------------------------------- */

struct rv_ssh {
	struct mh_addr client, server;
	rv_time syn;            /* first SYN */
	bool established;       /* SYN-ACK seen from the server */
};

struct rv_ssh_list {
	struct rv_ssh *v;
	size_t n, cap;
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
	const char *reason;     /* mh_reason_name(), "fast_path" or "no_key" */
	int mh_reason;          /* enum mh_reason, -1 if mh_decide did not judge */
};

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
	struct mh_session *mh;      /* NULL without a key for the port */
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
	uint64_t reasons[MH_R_COUNT];
	unsigned pinholes_open;

	struct rv_event *ev;
	size_t n_ev, cap_ev;
};

struct rv_pinhole {
	struct mh_addr client;
	uint16_t port;
	rv_time expires;
	struct rv_session *s;
};

struct rv_review {
	const struct rv_opts *o;
	struct mh_table *keys;          /* sessions with a key, by port */
	unsigned key_ports;
	struct mh_policy pol;
	struct rv_session *head, **tail;
	unsigned n_sessions;
	struct rv_ssh_list ssh;
	struct rv_pinhole *ph;          /* judge.c: the simulated kernel set */
	size_t n_ph, cap_ph;
	bool have_start;
	rv_time start;                  /* first packet of the first capture */
	uint64_t tcp, other_udp, not_udp;
	uint64_t bad_udp;               /* IP packets mh_pkt_parse refused */
	const char *bad_why;            /* the first one's reason */
	bool oom;
};

void rv_review_init(struct rv_review *r, const struct rv_opts *o,
		    struct mh_table *keys);
/* rv_packet_fn for rv_capture_read. */
void rv_review_packet(void *ctx, const struct rv_packet *p);
/* Medians and open pinholes, once every capture was read. */
void rv_review_finish(struct rv_review *r);
void rv_review_free(struct rv_review *r);
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

/* Drops simulated pinholes idle since before now (pinhole events). */
void rv_judge_expire(struct rv_review *r, rv_time now);
/* The session is over (its mosh-server exits after the client acknowledged
 * the shutdown; the daemon then removes its pinholes and its port). */
void rv_judge_end(struct rv_review *r, struct rv_session *s, rv_time now);
/* Sets d->verdict/reason for one datagram of a keyed session; *ch says
 * which pinholes it opened or evicted. */
void rv_judge(struct rv_review *r, struct rv_session *s,
	      const struct rv_packet *p, struct rv_dgram *d,
	      struct rv_ph_change *ch);
/* The pinholes still open at the end. */
unsigned rv_judge_open(const struct rv_review *r, const struct rv_session *s);

/* ---- out_*.c ------------------------------------------------------------ */

void rv_print_text(FILE *f, const struct rv_review *r,
		   const struct rv_capture *caps, size_t ncaps);
void rv_print_json(FILE *f, const struct rv_review *r,
		   const struct rv_capture *caps, size_t ncaps);
/* Writes s as a JSON string (quotes included), invalid UTF-8 as U+FFFD. */
void rv_json_string(FILE *f, const char *s);

#endif
