/* util_str.c: the suite's one byte buffer, growable array, table in huge
 * pages, hash, string table, UTF-8 decoder/encoder and JSON string
 * writer. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util_int.h"

void *
ut_huge_alloc(size_t size)
{
	const size_t huge = (size_t)2 << 20;
	size_t align = 64;
	void *p = NULL;

	if (size >= huge / 2 && size <= SIZE_MAX - huge) {
		size = (size + huge - 1) & ~(huge - 1);
		align = huge;
	}
	if (posix_memalign(&p, align, size ? size : 1) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (align == huge)
		madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

void *
ut_zero_map(size_t size)
{
	const size_t huge = (size_t)2 << 20;
	size_t lead, span;
	char *p;

	if (!size || size > SIZE_MAX - 2 * huge)
		return NULL;
	size = (size + 4095) & ~(size_t)4095;	/* the tail unmapped from a page */
	span = size;
	if (size >= huge / 2)	/* room to start it on a 2 MiB boundary */
		span = size + huge;
	p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (span == size)
		return p;
	lead = (huge - (uintptr_t)p % huge) % huge;
	if (lead)
		munmap(p, lead);
	if (huge - lead)
		munmap(p + lead + size, huge - lead);
	return p + lead;
}

void
ut_zero_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

void
ut_huge_advise(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
	madvise(p, size, MADV_HUGEPAGE);
#else
	(void)p, (void)size;
#endif
}

int
ut_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t nc;
	void *np;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 16;
	while (nc < need) {
		if (nc > SIZE_MAX / 2 / elem)
			return -1;
		nc *= 2;
	}
	np = realloc(*p, nc * elem);
	if (!np)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

/* The slow path of ut_buf_grow (util_int.h): the buffer doubles. */
int
ut_buf_grow_slow(ut_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->n + need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < b->n + need + 1)
		cap *= 2;
	if (!(p = realloc(b->s, cap)))
		return -1;
	b->s = p;
	b->cap = cap;
	return 0;
}

void
ut_buf_release(ut_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

/* A 64-bit hash of a short byte string: 8 bytes at a time, multiply-mix. */
uint64_t
ut_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL), w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	if (n) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0x94d049bb133111ebULL;
		h ^= h >> 31;
	}
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 32;
	return h;
}

static int
strmap_rehash(ut_strmap *m, size_t nslots)
{
	uint64_t *slot = calloc(nslots, sizeof *slot);
	size_t i, j;

	if (!slot)
		return -1;
	for (i = 0; i < m->n; i++) {
		uint64_t h = ut_hash(m->pool + m->ent[i].koff, m->ent[i].klen);

		j = h & (nslots - 1);
		while (slot[j])
			j = (j + 1) & (nslots - 1);
		slot[j] = (h >> 32) << 32 | ((uint64_t)i + 1);
	}
	free(m->slot);
	m->slot = slot;
	m->mask = nslots - 1;
	return 0;
}

int
ut_strmap_reserve(ut_strmap *m, size_t n)
{
	size_t slots = 1024;

	while (slots < 2 * n)
		slots *= 2;
	if (n > m->cap) {
		ut_sment *en = realloc(m->ent, n * sizeof *en);

		if (!en)
			return -1;
		m->ent = en;
		m->cap = n;
	}
	return slots > (m->slot ? m->mask + 1 : 0) ? strmap_rehash(m, slots) : 0;
}

int32_t
ut_strmap_get_h(const ut_strmap *m, const char *k, size_t n, uint64_t h)
{
	size_t j, left;
	uint64_t e, tag = h >> 32;

	if (!m->slot)
		return -1;
	/* bounded and checked: a map may come from a compiled cache file
	 * (lib/tok/tok_cache.c), whose entries are checked but not its slots */
	for (j = h & m->mask, left = m->mask; (e = m->slot[j]); j = (j + 1) & m->mask) {
		const ut_sment *x;

		if (e >> 32 == tag && (uint32_t)e - 1 < m->n) {
			x = &m->ent[(uint32_t)e - 1];
			if (x->klen == n && (uint64_t)x->koff + n <= m->pool_n &&
			    memcmp(m->pool + x->koff, k, n) == 0)
				return x->val;
		}
		if (!left--)
			break;
	}
	return -1;
}

void
ut_strmap_get_many(const ut_strmap *m, size_t cnt, const char *const *k, const size_t *n,
                   int32_t *out)
{
	uint64_t h[UT_GET_MANY];
	size_t i;

	if (!m->slot) {
		for (i = 0; i < cnt; i++)
			out[i] = -1;
		return;
	}
	/* three passes, each fetching what the next one reads */
	for (i = 0; i < cnt; i++) {
		h[i] = ut_hash(k[i], n[i]);
		__builtin_prefetch(&m->slot[h[i] & m->mask]);
	}
	for (i = 0; i < cnt; i++) {
		uint64_t e = m->slot[h[i] & m->mask];

		if (e && e >> 32 == h[i] >> 32)
			__builtin_prefetch(&m->ent[(uint32_t)e - 1]);
	}
	for (i = 0; i < cnt; i++) {
		uint64_t e = m->slot[h[i] & m->mask];

		if (e && e >> 32 == h[i] >> 32 && (uint32_t)e - 1 < m->n)
			__builtin_prefetch(m->pool + m->ent[(uint32_t)e - 1].koff);
	}
	for (i = 0; i < cnt; i++)
		out[i] = ut_strmap_get_h(m, k[i], n[i], h[i]);
}

int32_t
ut_strmap_get(const ut_strmap *m, const char *k, size_t n)
{
	return ut_strmap_get_h(m, k, n, ut_hash(k, n));
}

int
ut_strmap_put(ut_strmap *m, const char *k, size_t n, int32_t v)
{
	size_t j;
	uint64_t e, h = ut_hash(k, n), tag = h >> 32;

	if (!m->slot || (m->n + 1) * 2 > m->mask + 1)
		if (strmap_rehash(m, m->slot ? (m->mask + 1) * 2 : 1024))
			return -1;
	for (j = h & m->mask; (e = m->slot[j]); j = (j + 1) & m->mask) {
		ut_sment *x;

		if (e >> 32 != tag)
			continue;
		x = &m->ent[(uint32_t)e - 1];
		if (x->klen == n && memcmp(m->pool + x->koff, k, n) == 0) {
			x->val = v;
			return 0;
		}
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		ut_sment *en = realloc(m->ent, cap * sizeof *en);

		if (!en)
			return -1;
		m->ent = en;
		m->cap = cap;
	}
	if (m->pool_n + n + 1 > m->pool_cap) {
		size_t cap = m->pool_cap ? m->pool_cap : 4096;
		char *p;

		while (cap < m->pool_n + n + 1)
			cap *= 2;
		if (!(p = realloc(m->pool, cap)))
			return -1;
		m->pool = p;
		m->pool_cap = cap;
	}
	memcpy(m->pool + m->pool_n, k, n);
	m->pool[m->pool_n + n] = 0;
	m->ent[m->n].koff = (uint32_t)m->pool_n;
	m->ent[m->n].klen = (uint32_t)n;
	m->ent[m->n].val = v;
	m->pool_n += n + 1;
	m->slot[j] = tag << 32 | ((uint64_t)++m->n);
	return 0;
}

int32_t
ut_strmap_intern(ut_strmap *m, const char *k, size_t n)
{
	int32_t id = ut_strmap_get(m, k, n);

	if (id >= 0)
		return id;
	if (m->n >= INT32_MAX || ut_strmap_put(m, k, n, (int32_t)m->n) < 0)
		return -1;
	return (int32_t)(m->n - 1);
}

void
ut_strmap_release(ut_strmap *m)
{
	free(m->slot);
	free(m->ent);
	free(m->pool);
	memset(m, 0, sizeof *m);
}
int32_t
ut_utf8_dec(const unsigned char *s, size_t n, int *len)
{
	unsigned c = s[0];
	int32_t cp;
	int k, i;

	if (c < 0x80) {
		*len = 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf)
		k = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 3, cp = c & 0x07;
	else
		goto bad;
	if ((size_t)k >= n)
		goto bad;
	for (i = 1; i <= k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		goto bad;
	*len = k + 1;
	return cp;
bad:
	*len = 1;
	return -1;
}

int
ut_utf8_enc(int32_t cp, char *o)
{
	unsigned char *out = (unsigned char *)o;

	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

int
ut_json_str(FILE *fp, const char *s, size_t n)
{
	return ut_json_strf(fp, s, n, UT_JSON_ESCAPE);
}

/* ---------------------------------------- JSON string styles (knn, recommend) */

/* One character c (len bytes at u) of a JSON string in the given style. */
static void
json_char(FILE *fp, const unsigned char *u, int32_t c, int len, int style)
{
	if (c < 0)
		fputs(style == UT_JSON_REPAIR ? "\xef\xbf\xbd" : "\\ufffd", fp);
	else if (c == '"' || c == '\\')
		fprintf(fp, "\\%c", (char)c);
	else if (c == '\n')
		fputs("\\n", fp);
	else if (c == '\t')
		fputs("\\t", fp);
	else if (c == '\r' && style != UT_JSON_BYTES)
		fputs("\\r", fp);
	else if (c < 0x20 || (c == 0x7f && style == UT_JSON_ESCAPE))
		fprintf(fp, "\\u%04x", (unsigned)c);
	else
		fwrite(u, 1, (size_t)len, fp);
}

int
ut_json_strf(FILE *fp, const char *s, size_t n, int style)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (putc('"', fp) == EOF)
		return -1;
	while (i < n) {
		int len = 1;
		int32_t c = style == UT_JSON_BYTES ? u[i] : ut_utf8_dec(u + i, n - i, &len);

		json_char(fp, u + i, c, len, style);
		i += (size_t)len;
	}
	return putc('"', fp) == EOF || ferror(fp) ? -1 : 0;
}

/* ------------------------------------------------ numbers from files */

int
ut_int_of(double v, long long lo, long long hi, long long *out)
{
	if (!(v >= (double)lo && v <= (double)hi) || v != (double)(long long)v)
		return -1;
	*out = (long long)v;
	return 0;
}
