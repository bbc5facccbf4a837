/* util_int.h: library-internal helpers shared by the modules (not public). */
#ifndef TOKEMB_UTIL_INT_H
#define TOKEMB_UTIL_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tokemb.h"

/* A hot function built twice where GCC can (target_clones): for
 * x86-64-v3 (BMI2's shifts by a register, counts of bits in one
 * instruction, AVX2) and for any x86-64, the loader picking one; plain
 * under clang and the sanitizers, so that make SAN=1 tests the default. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define UT_V3_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define UT_V3_CLONES
#endif

/* Read the whole file at path into a malloc'd buffer, NUL-terminated at
 * buf[*len]; a file over max bytes is an error.  NULL with d filled. */
char *ut_read_file(const char *path, size_t max, size_t *len, te_diag *d);

/* Commit without fsync: for files whose readers check them whole (the
 * tokenizer cache), where a crash may lose the file but never tear it
 * unnoticed. */
void ut_atomic_nosync(te_atomic *a);

/* ------------------------------------------------ strings (util_str.c) */

/* Grow *p (an array of *cap elements of elem bytes) to hold need, doubling;
 * 0, or -1 (out of memory, *p unchanged). */
int ut_grow(void **p, size_t *cap, size_t need, size_t elem);

/* size bytes (uninitialised), 64-byte aligned, for a table read at random:
 * from 1 MiB on, in 2 MiB pages where the kernel gives them for the asking
 * (transparent_hugepage=madvise), so that its reads miss the TLB less and
 * it is touched in a few faults, not one a 4 KiB page.  Freed with free();
 * NULL for no memory. */
void *ut_huge_alloc(size_t size);

/* size bytes of zeroed pages mapped for it alone (never from the heap:
 * zero without a memset, each page faulted in only when first touched);
 * from 1 MiB on, on a 2 MiB boundary, so that ut_huge_advise can make it
 * 2 MiB pages.  Released with ut_zero_unmap(p, size); NULL for no memory. */
void *ut_zero_map(size_t size);
void ut_zero_unmap(void *p, size_t size);
/* Ask for 2 MiB pages for [p, p + size) (a ut_zero_map'ed table about to
 * be touched in many of its 4 KiB pages: one fault, not one a page); the
 * pages already touched stay as they are.  Only advice: may do nothing. */
void ut_huge_advise(void *p, size_t size);

/* Growable byte buffer. */
typedef struct ut_buf {
	char *s;
	size_t n, cap;
} ut_buf;
/* Room for need more bytes and a NUL; 0 or -1 (out of memory).  Inline:
 * the tokenizer's hot loops call it for every piece. */
int ut_buf_grow_slow(ut_buf *b, size_t need);
static inline int ut_buf_grow(ut_buf *b, size_t need)
{
	return b->n + need + 1 <= b->cap ? 0 : ut_buf_grow_slow(b, need);
}
static inline int ut_buf_put(ut_buf *b, const void *p, size_t n)
{
	if (ut_buf_grow(b, n))
		return -1;
	memcpy(b->s + b->n, p, n);
	b->n += n;
	b->s[b->n] = 0;
	return 0;
}
void ut_buf_release(ut_buf *b);

/* Byte-string -> int32 map.  Keys are copied into the map's pool. */
typedef struct ut_sment {
	uint32_t koff, klen;
	int32_t val;
} ut_sment;
typedef struct ut_strmap {
	uint64_t *slot;         /* hash tag << 32 | entry index + 1; 0 = empty */
	size_t mask;
	ut_sment *ent;
	size_t n, cap;
	char *pool;
	size_t pool_n, pool_cap;
} ut_strmap;
uint64_t ut_hash(const void *p, size_t n);
/* Insert or overwrite; returns 0 or -1 (out of memory). */
int ut_strmap_put(ut_strmap *m, const char *k, size_t n, int32_t v);
/* Value or -1. */
int32_t ut_strmap_get(const ut_strmap *m, const char *k, size_t n);
/* Room for n keys without rehashing. */
int ut_strmap_reserve(ut_strmap *m, size_t n);
int32_t ut_strmap_get_h(const ut_strmap *m, const char *k, size_t n, uint64_t h);
/* Look up cnt <= UT_GET_MANY keys at once (their memory fetched in
 * parallel): out[i] is the value of k[i] or -1. */
#define UT_GET_MANY 96
void ut_strmap_get_many(const ut_strmap *m, size_t cnt, const char *const *k, const size_t *n,
                        int32_t *out);
void ut_strmap_release(ut_strmap *m);
/* As a string table (an interner): the id of k, inserting it with the next
 * dense id (its entry index) when absent; -1 when out of memory or past
 * INT32_MAX entries.  Only for maps whose values are all entry indices. */
int32_t ut_strmap_intern(ut_strmap *m, const char *k, size_t n);
/* The key of entry i (NUL-terminated, in the pool; valid until the next
 * insertion), its length in *n. */
static inline const char *ut_strmap_key(const ut_strmap *m, size_t i, size_t *n)
{
	*n = m->ent[i].klen;
	return m->pool + m->ent[i].koff;
}

/* UTF-8: decode one code point at s (n > 0 bytes left); sets *len to the
 * bytes used; an invalid sequence decodes as -1 with *len 1. */
int32_t ut_utf8_dec(const unsigned char *s, size_t n, int *len);
int ut_utf8_enc(int32_t cp, char *out);

/* Write s[0, n) as a JSON string, quotes included: control characters
 * escaped, invalid UTF-8 as \ufffd so the line parses.  0 or -1. */
int ut_json_str(FILE *fp, const char *s, size_t n);

/* ------------------------------------------------ threads (util_thread.c) */

/* threads, or one per online CPU (at most 256) when threads <= 0. */
int ut_threads(int threads);
/* fn(arg, tid) for tid in [0, n) on n threads (this one is tid 0; those
 * that cannot start are run here in turn); -1 when out of memory. */
int ut_parallel(int n, void (*fn)(void *arg, int tid), void *arg);
/* fn(arg) run at the end of each thread that armed it (a module's
 * thread-local scratch freed): one, statically UT_THREAD_END(fn), for each
 * module.  *armed is the caller's thread-local flag (later calls cost a
 * test); arg is not NULL. */
typedef struct ut_thread_end {
	void (*fn)(void *arg);
	pthread_mutex_t mu;
	int made;
	pthread_key_t key;
} ut_thread_end;
#define UT_THREAD_END(fn) { (fn), PTHREAD_MUTEX_INITIALIZER, 0, 0 }
void ut_thread_end_arm(ut_thread_end *e, int *armed, void *arg);

/* ------------------------------------------- top-k hits (util_heap.c) */

/* "a is better than b": higher score, then the lower row (a stable order for
 * exact ties, whatever the thread or block that found them). */
static inline int
ut_better(float sa, long ra, float sb, long rb)
{
	return sa > sb || (sa == sb && ra < rb);
}

/* A bounded min-heap of the k best hits: h[0] is the worst kept. */
typedef struct ut_heap {
	te_hit *h;
	size_t n, k;
} ut_heap;

static inline void
ut_heap_sift_down(te_hit *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;

		if (l < n && ut_better(h[w].score, h[w].row, h[l].score, h[l].row))
			w = l;
		if (r < n && ut_better(h[w].score, h[w].row, h[r].score, h[r].row))
			w = r;
		if (w == i)
			return;
		te_hit t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

/* Offer a hit; keeps the k best. */
static inline void
ut_heap_push(ut_heap *hp, float s, long row)
{
	te_hit *h = hp->h;

	if (hp->n < hp->k) {
		size_t i = hp->n++;

		h[i].score = s;
		h[i].row = row;
		while (i > 0) {
			size_t p = (i - 1) / 2;

			if (!ut_better(h[p].score, h[p].row, h[i].score, h[i].row))
				break;
			te_hit t = h[i];
			h[i] = h[p];
			h[p] = t;
			i = p;
		}
		return;
	}
	if (hp->k == 0 || !ut_better(s, row, h[0].score, h[0].row))
		return;
	h[0].score = s;
	h[0].row = row;
	ut_heap_sift_down(h, hp->n, 0);
}

/* qsort's comparison of hits, best first; ut_heap_sort sorts the heap's
 * hits so, in place (util_heap.c). */
int ut_hit_cmp(const void *a, const void *b);
void ut_heap_sort(ut_heap *hp);

/* ------------------------------------------------ JSON string styles */

/* ut_json_str in a style: UT_JSON_ESCAPE is ut_json_str's; UT_JSON_BYTES
 * (knn's output) copies every byte from 0x20 up as it is, UTF-8 or not, and
 * escapes CR as \u000d; UT_JSON_REPAIR (recommend's) writes an invalid
 * UTF-8 byte as U+FFFD itself, not escaped, and DEL as it is. */
enum { UT_JSON_ESCAPE, UT_JSON_BYTES, UT_JSON_REPAIR };
int ut_json_strf(FILE *fp, const char *s, size_t n, int style);

/* ------------------------------------------------ numbers from files */

/* A number read from a file (a JSON number, a header field) that must be
 * an integer in lo..hi: 0 and *out set, or -1 (fraction, NaN, infinity or
 * out of range) before any cast. lo and hi lie within +-2^53, where every
 * integer is a double. */
int ut_int_of(double v, long long lo, long long hi, long long *out);

#endif
