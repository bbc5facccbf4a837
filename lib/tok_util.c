/* tok_util.c: buffers, hash maps and UTF-8 helpers for the tokenizer modules. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

int
tk_buf_grow(tk_buf *b, size_t need)
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

int
tk_buf_put(tk_buf *b, const void *p, size_t n)
{
	if (tk_buf_grow(b, n))
		return -1;
	memcpy(b->s + b->n, p, n);
	b->n += n;
	b->s[b->n] = 0;
	return 0;
}

void
tk_buf_release(tk_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

/* A 64-bit hash of a short byte string: 8 bytes at a time, multiply-mix. */
uint64_t
tk_hash(const void *p, size_t n)
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
strmap_rehash(tk_strmap *m, size_t nslots)
{
	uint64_t *slot = calloc(nslots, sizeof *slot);
	size_t i, j;

	if (!slot)
		return -1;
	for (i = 0; i < m->n; i++) {
		uint64_t h = tk_hash(m->pool + m->ent[i].koff, m->ent[i].klen);

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
tk_strmap_reserve(tk_strmap *m, size_t n)
{
	size_t slots = 1024;

	while (slots < 2 * n)
		slots *= 2;
	if (n > m->cap) {
		tk_sment *en = realloc(m->ent, n * sizeof *en);

		if (!en)
			return -1;
		m->ent = en;
		m->cap = n;
	}
	return slots > (m->slot ? m->mask + 1 : 0) ? strmap_rehash(m, slots) : 0;
}

int32_t
tk_strmap_get_h(const tk_strmap *m, const char *k, size_t n, uint64_t h)
{
	size_t j, left;
	uint64_t e, tag = h >> 32;

	if (!m->slot)
		return -1;
	/* bounded and checked: a map may come from a compiled cache file
	 * (tok_cache.c), whose entries are checked but not its slots */
	for (j = h & m->mask, left = m->mask; (e = m->slot[j]); j = (j + 1) & m->mask) {
		const tk_sment *x;

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
tk_strmap_get_many(const tk_strmap *m, size_t cnt, const char *const *k, const size_t *n,
                   int32_t *out)
{
	uint64_t h[TK_GET_MANY];
	size_t i;

	if (!m->slot) {
		for (i = 0; i < cnt; i++)
			out[i] = -1;
		return;
	}
	/* three passes, each fetching what the next one reads */
	for (i = 0; i < cnt; i++) {
		h[i] = tk_hash(k[i], n[i]);
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
		out[i] = tk_strmap_get_h(m, k[i], n[i], h[i]);
}

int32_t
tk_strmap_get(const tk_strmap *m, const char *k, size_t n)
{
	return tk_strmap_get_h(m, k, n, tk_hash(k, n));
}

int
tk_strmap_put(tk_strmap *m, const char *k, size_t n, int32_t v)
{
	size_t j;
	uint64_t e, h = tk_hash(k, n), tag = h >> 32;

	if (!m->slot || (m->n + 1) * 2 > m->mask + 1)
		if (strmap_rehash(m, m->slot ? (m->mask + 1) * 2 : 1024))
			return -1;
	for (j = h & m->mask; (e = m->slot[j]); j = (j + 1) & m->mask) {
		tk_sment *x;

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
		tk_sment *en = realloc(m->ent, cap * sizeof *en);

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

void
tk_strmap_release(tk_strmap *m)
{
	free(m->slot);
	free(m->ent);
	free(m->pool);
	memset(m, 0, sizeof *m);
}

static int
pairmap_rehash(tk_pairmap *m, size_t nslots)
{
	uint64_t *key = calloc(nslots, sizeof *key);
	uint32_t *rank = malloc(nslots * sizeof *rank);
	int32_t *merged = malloc(nslots * sizeof *merged);
	size_t i, j;

	if (!key || !rank || !merged) {
		free(key);
		free(rank);
		free(merged);
		return -1;
	}
	for (i = 0; m->key && i <= m->mask; i++) {
		if (!m->key[i])
			continue;
		for (j = tk_pair_hash(m->key[i]) & (nslots - 1); key[j]; j = (j + 1) & (nslots - 1))
			;
		key[j] = m->key[i];
		rank[j] = m->rank[i];
		merged[j] = m->merged[i];
	}
	free(m->key);
	free(m->rank);
	free(m->merged);
	m->key = key;
	m->rank = rank;
	m->merged = merged;
	m->mask = nslots - 1;
	return 0;
}

int
tk_pairmap_reserve(tk_pairmap *m, size_t n)
{
	size_t slots = 1024;

	while (slots < 2 * n)
		slots *= 2;
	return slots > (m->key ? m->mask + 1 : 0) ? pairmap_rehash(m, slots) : 0;
}

int
tk_pairmap_put(tk_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t merged)
{
	uint64_t k = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1, i;

	if (!m->key || (m->n + 1) * 2 > m->mask + 1)
		if (pairmap_rehash(m, m->key ? (m->mask + 1) * 2 : 1024))
			return -1;
	for (i = tk_pair_hash(k) & m->mask; m->key[i]; i = (i + 1) & m->mask)
		if (m->key[i] == k)
			return 0;	/* the first (lowest-rank) merge of a pair wins */
	m->key[i] = k;
	m->rank[i] = rank;
	m->merged[i] = merged;
	m->n++;
	return 0;
}

void
tk_pairmap_release(tk_pairmap *m)
{
	free(m->key);
	free(m->rank);
	free(m->merged);
	memset(m, 0, sizeof *m);
}

int32_t
tk_utf8_dec(const unsigned char *s, size_t n, int *len)
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
tk_utf8_enc(int32_t cp, char *o)
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

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the others for 256, 257, ... in byte order. */

static uint16_t b2c[256];
static int16_t c2b[324];
static int alpha_ready;

static void
alpha_init(void)
{
	int b, n = 0;

	for (b = 0; b < 256; b++) {
		int keep = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
		b2c[b] = (uint16_t)(keep ? b : 256 + n++);
	}
	for (b = 0; b < 324; b++)
		c2b[b] = -1;
	for (b = 0; b < 256; b++)
		c2b[b2c[b]] = (int16_t)b;
	__atomic_store_n(&alpha_ready, 1, __ATOMIC_RELEASE);
}

int
tk_cp_to_byte(int32_t cp)
{
	if (!__atomic_load_n(&alpha_ready, __ATOMIC_ACQUIRE))
		alpha_init();
	if (cp < 0 || cp >= 324)
		return -1;
	return c2b[cp];
}

int
tk_byte_cp(int b)
{
	if (!__atomic_load_n(&alpha_ready, __ATOMIC_ACQUIRE))
		alpha_init();
	return b2c[b & 0xff];
}

int
tk_abuf_put(tk_abuf *o, const char *s, size_t n, size_t os, size_t oe)
{
	size_t i;

	if (tk_buf_grow(&o->b, n))
		return -1;
	if (o->b.n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 64, *q;

		while (cap < o->b.n + n + 1)
			cap *= 2;
		if (!(q = realloc(o->os, cap * sizeof *q)))
			return -1;
		o->os = q;
		if (!(q = realloc(o->oe, cap * sizeof *q)))
			return -1;
		o->oe = q;
		o->cap = cap;
	}
	for (i = 0; i < n; i++) {
		o->b.s[o->b.n + i] = s[i];
		o->os[o->b.n + i] = os;
		o->oe[o->b.n + i] = oe;
	}
	o->b.n += n;
	o->b.s[o->b.n] = 0;
	return 0;
}

int
tk_abuf_swap(tk_abuf *o, tk_work *w)
{
	if (!o->b.s) {	/* empty output */
		if (!(o->b.s = calloc(1, 1)))
			return -1;
		o->b.cap = 1;
	}
	free(w->b.s);
	free(w->os);
	free(w->oe);
	w->b = o->b;
	w->os = o->os;
	w->oe = o->oe;
	w->al_cap = o->cap;
	memset(o, 0, sizeof *o);
	return 0;
}

void
tk_abuf_release(tk_abuf *o)
{
	tk_buf_release(&o->b);
	free(o->os);
	free(o->oe);
	memset(o, 0, sizeof *o);
}
