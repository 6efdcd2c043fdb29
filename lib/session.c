/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The session table: sessions indexed by server port and linked for
 * iteration, each with its candidates in a fixed array and its pinhole
 * records in one sized to max_pinholes at creation (bounded memory per
 * session, nothing allocated per packet), and ordered by the lowest
 * to-server sequence number each can take (the sequence index single-port
 * mode narrows its trials with). Key material lives in the session's
 * ssp_ctx (OpenSSL's allocator), not here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "session.h"

static const char no_ssh_client[] = "";

static size_t session_size(unsigned max_pinholes)
{
	return sizeof(struct mh_session) +
	       max_pinholes * sizeof(((struct mh_session *)0)->ph[0]);
}

static void ssh_text_free(struct mh_session *s)
{
	if (s->ssh_client != no_ssh_client)
		free((char *)s->ssh_client);
	s->ssh_client = no_ssh_client;
}

void mh_table_init(struct mh_table *t)
{
	memset(t, 0, sizeof(*t));
	t->next_id = 1;
}

void mh_table_clear(struct mh_table *t)
{
	while (t->head)
		mh_session_remove(t, t->head);
	free(t->by_seq);
	t->by_seq = NULL;
	t->by_seq_cap = 0;
}

/* ---- the sequence index ------------------------------------------------- */

/* Position of the first of the n entries not before (key, tie). */
static unsigned seq_lower(const struct mh_table *t, unsigned n, uint64_t key,
			  uint64_t tie)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct mh_seq_ent *m = &t->by_seq[mid];

		if (m->key < key || (m->key == key && m->tie < tie))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* n = entries in use before the call (s not among them). */
static void seq_insert(struct mh_table *t, struct mh_session *s, unsigned n)
{
	unsigned i = seq_lower(t, n, s->seq_key, s->seq_tie);

	memmove(&t->by_seq[i + 1], &t->by_seq[i], (n - i) * sizeof(t->by_seq[0]));
	t->by_seq[i] = (struct mh_seq_ent){ s->seq_key, s->seq_tie, s };
}

/* Takes s out; n = entries in use before the call. */
static void seq_unlink(struct mh_table *t, struct mh_session *s, unsigned n)
{
	unsigned i = seq_lower(t, n, s->seq_key, s->seq_tie);

	if (i == n || t->by_seq[i].s != s)
		return;    /* not indexed: cannot happen */
	memmove(&t->by_seq[i], &t->by_seq[i + 1], (n - i - 1) * sizeof(t->by_seq[0]));
}

static int seq_reserve(struct mh_table *t)
{
	struct mh_seq_ent *p;
	unsigned cap;

	if (t->count < t->by_seq_cap)
		return 0;
	cap = t->by_seq_cap ? t->by_seq_cap * 2 : 64;
	p = realloc(t->by_seq, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->by_seq = p;
	t->by_seq_cap = cap;
	return 0;
}

void mh_session_seq_sync(struct mh_table *t, struct mh_session *s)
{
	uint64_t key = s->seen_in ? s->max_seq_in + 1 : 0;

	if (key == s->seq_key)
		return;
	seq_unlink(t, s, t->count);
	s->seq_key = key;
	seq_insert(t, s, t->count - 1);
}

void mh_session_seq_seen(struct mh_table *t, struct mh_session *s, uint64_t seq)
{
	s->max_seq_in = seq & SSP_SEQ_MASK;
	s->seen_in = true;
	mh_session_seq_sync(t, s);
}

unsigned mh_session_seq_upper(const struct mh_table *t, uint64_t seq)
{
	unsigned lo = 0, hi = t->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (t->by_seq[mid].key <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct mh_session *mh_session_add(struct mh_table *t, uint16_t port,
				  const uint8_t key[SSP_KEY_LEN], uid_t uid,
				  pid_t pid, uint64_t now_ms,
				  unsigned max_pinholes)
{
	struct mh_session *s;
	unsigned nph = max_pinholes < 1 ? 1 :
		       max_pinholes > MH_PINHOLES_CAP ? MH_PINHOLES_CAP :
		       max_pinholes;

	if (!t->ports_shared && t->by_port[port]) {
		errno = EEXIST;
		return NULL;
	}
	if (seq_reserve(t) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	/* no key material in here (the ssp_ctx holds it): ordinary memory */
	s = calloc(1, session_size(nph));
	if (!s)
		return NULL;
	s->ssp = key ? ssp_ctx_new(key) : NULL;
	if (key && !s->ssp) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->ssh_client = no_ssh_client;
	s->id = t->next_id++;
	s->port = port;
	s->uid = uid;
	s->pid = pid;
	s->pidfd = -1;
	s->announced_ms = s->last_alive_ms = now_ms;
	s->max_pinholes = nph;
	s->next = t->head;
	if (t->head)
		t->head->prev = s;
	t->head = s;
	if (!t->ports_shared)
		t->by_port[port] = s;
	s->seq_tie = t->next_tie++;
	seq_insert(t, s, t->count);   /* key 0: unseen */
	t->count++;
	return s;
}

static unsigned hint_bucket(const struct mh_addr *a)
{
	size_t i, n = a->family == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (i = 0; i < n; i++)
		h = (h ^ a->ip[i]) * 16777619u;
	return h % MH_HINT_BUCKETS;
}

static void hint_unlink(struct mh_table *t, struct mh_session *s)
{
	struct mh_session **pp;

	if (!s->ssh_addr.family)
		return;
	for (pp = &t->hint[hint_bucket(&s->ssh_addr)]; *pp; pp = &(*pp)->hint_next)
		if (*pp == s) {
			*pp = s->hint_next;
			break;
		}
	s->hint_next = NULL;
}

int mh_session_set_ssh_client(struct mh_table *t, struct mh_session *s,
			      const char *ssh_client)
{
	struct mh_addr a = { 0 };
	unsigned b;

	hint_unlink(t, s);
	memset(&s->ssh_addr, 0, sizeof(s->ssh_addr));
	ssh_text_free(s);
	if (!ssh_client[0])
		return 0;
	/* the text as announced (an address, or whatever SSH_CONNECTION
	 * began with), for logs and the restart state */
	s->ssh_client = strndup(ssh_client, MH_SSH_CLIENT_MAX);
	if (!s->ssh_client) {
		s->ssh_client = no_ssh_client;
		return -ENOMEM;
	}
	if (inet_pton(AF_INET, ssh_client, a.ip) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, ssh_client, a.ip) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	s->ssh_addr = a;
	b = hint_bucket(&a);
	s->hint_next = t->hint[b];
	t->hint[b] = s;
	return 0;
}

struct mh_session *mh_session_hint_next(const struct mh_session *s,
					const struct mh_addr *addr)
{
	for (s = s->hint_next; s; s = s->hint_next)
		if (mh_addr_equal_host(&s->ssh_addr, addr))
			return (struct mh_session *)s;
	return NULL;
}

struct mh_session *mh_session_hint_first(const struct mh_table *t,
					 const struct mh_addr *addr)
{
	struct mh_session *s = t->hint[hint_bucket(addr)];

	if (s && mh_addr_equal_host(&s->ssh_addr, addr))
		return s;
	return s ? mh_session_hint_next(s, addr) : NULL;
}

void mh_session_remove(struct mh_table *t, struct mh_session *s)
{
	hint_unlink(t, s);
	if (s->prev)
		s->prev->next = s->next;
	else
		t->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (t->by_port[s->port] == s)
		t->by_port[s->port] = NULL;
	seq_unlink(t, s, t->count);
	t->count--;
	if (!t->count) {   /* the index goes with the last session */
		free(t->by_seq);
		t->by_seq = NULL;
		t->by_seq_cap = 0;
	}
	ssp_ctx_free(s->ssp);
	ssh_text_free(s);
	free(s);
}

unsigned mh_table_count_uid(const struct mh_table *t, uid_t uid)
{
	const struct mh_session *s;
	unsigned n = 0;

	for (s = t->head; s; s = s->next)
		n += s->uid == uid;
	return n;
}

static bool bound_match(const struct mh_bound *b, const struct mh_addr *dst)
{
	if (b->family == AF_INET6 && dst->family == AF_INET)
		return b->any && !b->v6only;   /* dual-stack wildcard */
	if (b->family != dst->family)
		return false;
	return b->any || !memcmp(b->ip, dst->ip, b->family == AF_INET ? 4 : 16);
}

bool mh_session_bound_to(const struct mh_session *s, const struct mh_addr *dst)
{
	unsigned i;

	if (s->n_bound == 0)
		return true;
	for (i = 0; i < s->n_bound && i < MH_MAX_BOUND; i++)
		if (bound_match(&s->bound[i], dst))
			return true;
	return false;
}

struct mh_session *mh_session_pidfd_event(const struct mh_table *t,
					  uint16_t port)
{
	struct mh_session *s = mh_session_by_port(t, port);

	return s && s->pidfd >= 0 && mh_pidfd_exited(s->pidfd) ? s : NULL;
}

bool mh_session_has_sock(const struct mh_session *s, uid_t uid,
			 uint64_t cookie)
{
	unsigned i;

	if (uid != s->uid)
		return false;
	for (i = 0; i < s->n_sock && i < MH_MAX_BOUND; i++)
		if (s->sock[i].cookie == cookie)
			return true;
	return false;
}

void mh_candidate_add(struct mh_session *s, const struct mh_addr *src,
		      uint64_t expires_ms)
{
	struct mh_candidate *slot = &s->cand[0];
	int i;

	for (i = 0; i < MH_MAX_CANDIDATES; i++) {
		struct mh_candidate *c = &s->cand[i];

		if (c->expires_ms && mh_addr_equal(&c->src, src)) {
			slot = c;
			break;
		}
		if (c->expires_ms < slot->expires_ms)
			slot = c;   /* free or soonest to expire */
	}
	slot->src = *src;
	slot->expires_ms = expires_ms;
}

bool mh_candidate_take(struct mh_session *s, const struct mh_addr *src,
		       uint64_t now_ms, bool remove)
{
	int i;

	for (i = 0; i < MH_MAX_CANDIDATES; i++) {
		struct mh_candidate *c = &s->cand[i];

		if (c->expires_ms > now_ms && mh_addr_equal(&c->src, src)) {
			if (remove)
				c->expires_ms = 0;
			return true;
		}
	}
	return false;
}

bool mh_pinhole_record(struct mh_session *s, const struct mh_addr *client,
		       uint64_t now_ms, struct mh_addr *evicted)
{
	struct mh_pinhole_rec old;
	bool evict = mh_pinhole_record_ex(s, client, now_ms, &old);

	if (evict)
		*evicted = old.client;
	return evict;
}

bool mh_pinhole_in_kernel(const struct mh_pinhole_rec *r, uint64_t idle_ms,
			  uint64_t at_ms)
{
	uint64_t until = r->added_ms + idle_ms;

	if (r->alive_until_ms > until)
		until = r->alive_until_ms;
	return r->added_ms && at_ms < until;
}

bool mh_pinhole_gone(struct mh_pinhole_rec *r, uint32_t gen, uint64_t from_ms,
		     bool disturbed)
{
	if (r->seen_gen == gen || r->added_ms + MH_READBACK_GRACE_MS > from_ms ||
	    r->alive_until_ms > from_ms)
		return false;
	if (disturbed && !r->missed) {
		r->missed = 1;
		return false;
	}
	return true;
}

uint64_t mh_pinhole_added_at(uint64_t now_ms, uint64_t idle_ms, uint64_t left_ms)
{
	uint64_t ago = idle_ms - (left_ms < idle_ms ? left_ms : idle_ms);

	return now_ms > ago ? now_ms - ago : 1;
}

bool mh_pinhole_record_ex(struct mh_session *s, const struct mh_addr *client,
			  uint64_t now_ms, struct mh_pinhole_rec *old)
{
	struct mh_pinhole_rec *r = mh_pinhole_find(s, client);
	bool evict = false;
	unsigned i;

	if (!r) {
		r = &s->ph[0];
		for (i = 0; i < s->max_pinholes; i++) {
			if (!s->ph[i].added_ms) {
				r = &s->ph[i];
				break;
			}
			if (s->ph[i].added_ms < r->added_ms)
				r = &s->ph[i];
		}
		if (r->added_ms) {
			*old = *r;
			evict = true;
		}
		r->alive_until_ms = 0;
		r->seen_gen = 0;   /* a new pinhole: no read-back listed it */
		r->missed = 0;
	}
	r->client = *client;
	r->added_ms = now_ms ? now_ms : 1;
	return evict;
}

uint64_t mh_pinhole_rearm_left(const struct mh_pinhole_rec *r, uint64_t now_ms,
			       uint64_t idle_ms, uint64_t ago_ms)
{
	if (ago_ms >= idle_ms ||
	    now_ms + idle_ms - ago_ms <= r->alive_until_ms + MH_REARM_SLACK_MS)
		return 0;
	return idle_ms - ago_ms;
}

bool mh_pinhole_forget(struct mh_session *s, const struct mh_addr *client)
{
	struct mh_pinhole_rec *r = mh_pinhole_find(s, client);

	if (!r)
		return false;
	memset(r, 0, sizeof(*r));
	return true;
}

struct mh_pinhole_rec *mh_pinhole_next(const struct mh_session *s,
				       const struct mh_pinhole_rec *prev)
{
	unsigned i = prev ? (unsigned)(prev - s->ph) + 1 : 0;

	for (; i < s->max_pinholes; i++)
		if (s->ph[i].added_ms)
			return (struct mh_pinhole_rec *)&s->ph[i];
	return NULL;
}

struct mh_pinhole_rec *mh_pinhole_find(const struct mh_session *s,
				       const struct mh_addr *client)
{
	struct mh_pinhole_rec *r;

	mh_for_each_pinhole(s, r)
		if (mh_addr_equal(&r->client, client))
			return r;
	return NULL;
}

unsigned mh_pinhole_count(const struct mh_session *s)
{
	const struct mh_pinhole_rec *r;
	unsigned n = 0;

	mh_for_each_pinhole(s, r)
		n++;
	return n;
}
