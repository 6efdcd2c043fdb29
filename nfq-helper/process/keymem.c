/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Key memory: every allocation OpenSSL makes (the session ciphers' key
 * schedules) and struct ssp_ctx (the raw key, allocated through
 * OPENSSL_zalloc) comes from pages marked MADV_DONTDUMP, so no core file
 * holds a session key, and locked (mlock), so none reaches swap even when
 * the daemon cannot lock all its memory; a freed block is wiped. A small
 * size-class allocator over 64 KiB chunks, for a single-threaded daemon.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define KM_POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define KM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#define KM_ROOT(p, n)     __lsan_register_root_region(p, n)
#else
#define KM_POISON(p, n)   ((void)(p), (void)(n))
#define KM_UNPOISON(p, n) ((void)(p), (void)(n))
#define KM_ROOT(p, n)     ((void)(p), (void)(n))
#endif

#define KM_CHUNK  (64 * 1024)
#define KM_NCLASS 8            /* blocks of 32 .. 4096 bytes, header included */
#define KM_BIG    KM_NCLASS    /* class of a block with a mapping of its own */
#define KM_MAGIC  0x6b6d656dU

struct km_hdr {                /* 16 bytes before every block */
	uint32_t size;             /* bytes asked for (KM_BIG: mapping length) */
	uint16_t cls;
	uint16_t pad;
	uint32_t magic;
	uint32_t pad2;
};

struct km_free {
	struct km_free *next;
};

static struct km_free *free_list[KM_NCLASS];
static uint8_t *bump;          /* unused tail of the newest chunk */
static size_t bump_left;
static bool active;
static size_t locked_bytes, unlocked_bytes;

static size_t class_size(unsigned c)
{
	return (size_t)32 << c;
}

/* Fresh pages that never reach a core file. */
static void *km_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_DONTDUMP) < 0) {
		munmap(p, len);
		return NULL;
	}
	/* RLIMIT_MEMLOCK may refuse (the daemon keeps no CAP_IPC_LOCK): the
	 * key is still kept, and mh_keymem_locked tells */
	/* the system call itself: AddressSanitizer turns mlock() into a no-op */
	if (syscall(SYS_mlock, p, len) == 0) {
		locked_bytes += len;
	} else {
		if (!unlocked_bytes)
			log_warn("key pages: mlock: %s; session keys may reach swap "
				 "(raise RLIMIT_MEMLOCK)", strerror(errno));
		unlocked_bytes += len;
	}
	KM_ROOT(p, len);
	KM_POISON(p, len);
	return p;
}

static struct km_hdr *carve(unsigned c)
{
	struct km_hdr *h;

	if (free_list[c]) {
		h = (struct km_hdr *)(void *)free_list[c];
		KM_UNPOISON(h, sizeof(struct km_free));
		free_list[c] = free_list[c]->next;
		return h;
	}
	if (bump_left < class_size(c)) {
		bump = km_map(KM_CHUNK);   /* the old tail (< 4 KiB) is left unused */
		bump_left = bump ? KM_CHUNK : 0;
		if (!bump)
			return NULL;
	}
	h = (struct km_hdr *)(void *)bump;
	bump += class_size(c);
	bump_left -= class_size(c);
	return h;
}

static void *km_malloc(size_t n, const char *file, int line)
{
	size_t need = n + sizeof(struct km_hdr);
	struct km_hdr *h;
	unsigned c;

	(void)file;
	(void)line;
	if (n > UINT32_MAX / 2)
		return NULL;
	for (c = 0; c < KM_NCLASS && class_size(c) < need; c++)
		;
	if (c == KM_BIG) {
		need = (need + 4095) & ~(size_t)4095;
		h = km_map(need);
	} else {
		h = carve(c);
	}
	if (!h)
		return NULL;
	KM_UNPOISON(h, c == KM_BIG ? need : sizeof(*h) + n);
	h->size = (uint32_t)(c == KM_BIG ? need : n);
	h->cls = (uint16_t)c;
	h->magic = KM_MAGIC;
	return h + 1;
}

static struct km_hdr *header_of(void *p)
{
	struct km_hdr *h = (struct km_hdr *)p - 1;

	if (h->magic != KM_MAGIC || h->cls > KM_BIG)
		abort();               /* not ours, or overwritten: never guess */
	return h;
}

static size_t usable(const struct km_hdr *h)
{
	return (h->cls == KM_BIG ? h->size : class_size(h->cls)) - sizeof(*h);
}

/* Bytes of a block that hold data (what realloc must copy). */
static size_t in_use(const struct km_hdr *h)
{
	return h->cls == KM_BIG ? usable(h) : h->size;
}

static void km_free(void *p, const char *file, int line)
{
	struct km_hdr *h;
	unsigned c;

	(void)file;
	(void)line;
	if (!p)
		return;
	h = header_of(p);
	c = h->cls;
	KM_UNPOISON(p, usable(h));
	explicit_bzero(p, usable(h));
	if (c == KM_BIG) {
		munmap(h, h->size);   /* unlocks it too */
		return;
	}
	explicit_bzero(h, sizeof(*h));
	((struct km_free *)(void *)h)->next = free_list[c];
	free_list[c] = (struct km_free *)(void *)h;
	KM_POISON((uint8_t *)h + sizeof(struct km_free),
		  class_size(c) - sizeof(struct km_free));
}

static void *km_realloc(void *p, size_t n, const char *file, int line)
{
	struct km_hdr *h;
	void *q;

	if (!p)
		return km_malloc(n, file, line);
	if (n == 0) {
		km_free(p, file, line);
		return NULL;
	}
	h = header_of(p);
	if (h->cls != KM_BIG && n <= usable(h)) {
		KM_UNPOISON(p, n);
		if (n < h->size) {
			explicit_bzero((uint8_t *)p + n, h->size - n);
			KM_POISON((uint8_t *)p + n, h->size - n);
		}
		h->size = (uint32_t)n;
		return p;
	}
	q = km_malloc(n, file, line);
	if (!q)
		return NULL;
	memcpy(q, p, in_use(h) < n ? in_use(h) : n);
	km_free(p, file, line);
	return q;
}

void mh_keymem_init(void)
{
	active = CRYPTO_set_mem_functions(km_malloc, km_realloc, km_free) == 1;
}

bool mh_keymem_active(void)
{
	return active;
}

bool mh_keymem_locked(size_t *locked, size_t *unlocked)
{
	if (locked)
		*locked = locked_bytes;
	if (unlocked)
		*unlocked = unlocked_bytes;
	return unlocked_bytes == 0;
}
