/* tok_util.c: the pair map, the byte-level alphabet, aligned buffers and
 * the growable outputs (te_tok_enc, tk_out) of the tokenizer modules. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

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

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the others for 256, 257, ... in byte order. */

static int16_t c2b[324];
static int alpha_ready;

static void
alpha_init(void)
{
	int b;

	for (b = 0; b < 324; b++)
		c2b[b] = -1;
	for (b = 0; b < 256; b++)
		c2b[tk_byte_cp(b)] = (int16_t)b;
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
tk_abuf_put(tk_abuf *o, const char *s, size_t n, size_t os, size_t oe)
{
	if (ut_buf_grow(&o->b, n))
		return -1;
	/* while every byte so far is the input byte at its own place, no
	 * alignment is kept (tk_work's NULL); the first that is not makes it */
	if (!o->noal && (o->al || !(n == 1 && os - o->base == o->b.n && oe == os + 1))) {
		if (!o->al) {
			if (!(o->al = calloc(1, sizeof *o->al)))
				return -1;
			if (tk_amap_put_own(o->al, o->b.n, 0) < 0)
				return -1;
		}
		/* tok.c keeps a work string that keeps spans to TK_WORK_MAX
		 * bytes of input: every span of it fits */
		if (tk_amap_put(o->al, n, (uint32_t)(os - o->base), (uint32_t)(oe - o->base)) < 0)
			return -1;
	}
	if (n == 1)	/* most puts: one byte, not a call */
		o->b.s[o->b.n] = s[0];
	else
		memcpy(o->b.s + o->b.n, s, n);
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
	tk_al_free(w->al);
	w->b = o->b;
	w->al = o->al;
	memset(o, 0, sizeof *o);
	return 0;
}

void
tk_abuf_release(tk_abuf *o)
{
	ut_buf_release(&o->b);
	tk_al_free(o->al);
	memset(o, 0, sizeof *o);
}

void
tk_abuf_trunc(tk_abuf *o, size_t n)
{
	o->b.n = n;
	if (o->b.s)
		o->b.s[n] = 0;
	if (o->al)
		tk_amap_trunc(o->al, n);
}

void
tk_al_free(tk_amap *al)
{
	if (al) {
		tk_amap_release(al);
		free(al);
	}
}

/* Room for k more tokens in e.  COUNT_ONLY: the ids so far are counted
 * and dropped when more than TK_COUNT_KEEP would be held; NO_OFFSETS: no
 * spans (start stays NULL). */
int
tk_enc_reserve(te_tok_enc *e, size_t k)
{
	size_t cap = e->cap ? e->cap : 256;
	int32_t *ids;
	uint32_t *s;

	if ((e->mode_ & TE_TOK_COUNT_ONLY) && e->n && e->n + k > TK_COUNT_KEEP) {
		e->dropped_ += e->n;
		e->n = 0;
	}
	while (cap < e->n + k)	/* by half: a long document's ids fill most of it */
		cap += cap / 2;
	if (cap == e->cap && (e->start || (e->mode_ & TE_TOK_NO_OFFSETS)))
		return 0;
	if (cap != e->cap) {
		if (!(ids = realloc(e->ids, cap * sizeof *ids)))
			return -1;
		e->ids = ids;
	}
	if (e->mode_ & TE_TOK_NO_OFFSETS) {
		e->cap = cap;
		return 0;
	}
	if (!(s = realloc(e->start, cap * sizeof *s)))
		return -1;
	e->start = s;
	if (!(s = realloc(e->end, cap * sizeof *s)))
		return -1;
	e->end = s;
	e->cap = cap;
	return 0;
}

int
tk_out_grow(tk_out *o)
{
	size_t cap = o->cap ? o->cap + o->cap / 2 : 64;
	int32_t *ids = realloc(o->ids, cap * sizeof *ids);
	uint32_t *pa, *pb;

	if (!ids)
		return -1;
	o->ids = ids;
	if (!(pa = realloc(o->a, cap * sizeof *pa)))
		return -1;
	o->a = pa;
	if (!(pb = realloc(o->b, cap * sizeof *pb)))
		return -1;
	o->b = pb;
	o->cap = cap;
	return 0;
}

void
tk_out_trim(tk_out *o, size_t keep)
{
	if (o->cap * (sizeof *o->ids + sizeof *o->a + sizeof *o->b) <= keep)
		return;
	free(o->ids);
	free(o->a);
	free(o->b);
	o->ids = NULL;
	o->a = o->b = NULL;
	o->n = o->cap = 0;
}

/* The bytes a vocabulary string stands for, for byte-level models:
 * every character mapped back to its byte, or the string itself when one
 * is not in the byte alphabet (as the ByteLevel decoder does). */
int
tk_unmap_bytes(const char *s, size_t n, char *out, size_t *outn)
{
	size_t i = 0, k = 0;
	int len;

	while (i < n) {
		int32_t cp = ut_utf8_dec((const unsigned char *)s + i, n - i, &len);
		int b = tk_cp_to_byte(cp);

		if (b < 0)
			return -1;
		out[k++] = (char)b;
		i += (size_t)len;
	}
	*outn = k;
	return 0;
}

/* Whether s is a byte-fallback piece <0xXX>: 1 with *byte its value. */
int
tk_is_byte_piece(const char *s, size_t n, int *byte)
{
	int v = 0, i;

	if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
		return 0;
	for (i = 3; i < 5; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return 0;
	}
	*byte = v;
	return 1;
}
