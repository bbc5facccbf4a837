/* bpe.c: byte-pair encoding of one pre-tokenized word, in O(n log n): the
 * symbols form a linked list and the candidate merges sit in a min-heap
 * ordered by (rank, position), stale entries being skipped when popped.
 * Two rank sources: Hugging Face merges (a pair of ids -> rank and merged
 * id) and tiktoken ranks (the rank of the concatenated bytes). */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

int
tk_out_push(tk_out *o, int32_t id, size_t a, size_t b)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
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
	}
	o->ids[o->n] = id;
	o->a[o->n] = (uint32_t)a;
	o->b[o->n] = (uint32_t)b;
	o->n++;
	return 0;
}

/* Scratch space for one word, kept per thread.  The candidate merges are
 * a heap of rank << 32 | left symbol; the pair at a symbol l (its rank and
 * merged id) is in prank[l] and pmerged[l], so an entry is stale when its
 * rank is no longer l's (or l is gone).  The heap is 8-ary: a node's
 * children fill one cache line, and it is a third as deep as a binary one. */
typedef struct bpe_ws {
	int32_t *id;
	uint32_t *st, *en;
	int32_t *prev, *next;
	uint32_t *prank;
	int32_t *pmerged;
	uint64_t *h;
	size_t cap, hcap, hn;
} bpe_ws;

static __thread bpe_ws ws;

void
tk_bpe_thread_free(void)
{
	free(ws.id);
	free(ws.st);
	free(ws.en);
	free(ws.prev);
	free(ws.next);
	free(ws.prank);
	free(ws.pmerged);
	free(ws.h);
	memset(&ws, 0, sizeof ws);
}

static int
ws_reserve(size_t n)
{
	if (n > ws.cap) {
		size_t cap = ws.cap ? ws.cap : 64;

		while (cap < n)
			cap *= 2;
#define GROW(f) do { void *p_ = realloc(ws.f, cap * sizeof *ws.f); if (!p_) return -1; ws.f = p_; } while (0)
		GROW(id); GROW(st); GROW(en); GROW(prev); GROW(next); GROW(prank); GROW(pmerged);
#undef GROW
		ws.cap = cap;
	}
	/* the heap holds at most the n - 1 first pairs and two per merge */
	if (3 * n > ws.hcap) {
		size_t cap = ws.hcap ? ws.hcap : 64;
		void *p;

		while (cap < 3 * n)
			cap *= 2;
		if (!(p = aligned_alloc(64, (cap + 8) * sizeof *ws.h)))
			return -1;
		free(ws.h);
		ws.h = p;
		ws.hcap = cap;
	}
	return 0;
}

/* The heap lives at ws.h + 7, so that the children 8i + 1 .. 8i + 8 of
 * node i fill one 64-byte line (h + 7 + 8i + 1 = h + 8(i + 1)). */
#define HP (ws.h + 7)

static void
heap_push(uint64_t k)
{
	uint64_t *hp = HP;
	size_t i = ws.hn++;

	while (i) {
		size_t p = (i - 1) / 8;

		if (hp[p] <= k)
			break;
		hp[i] = hp[p];
		i = p;
	}
	hp[i] = k;
}

static void
heap_pop(void)
{
	uint64_t *hp = HP, x;
	size_t i = 0, n;

	n = --ws.hn;
	if (!n)
		return;
	x = hp[n];
	for (;;) {
		size_t c = 8 * i + 1, j, best, e;

		if (c >= n)
			break;
		best = c;
		e = c + 8 < n ? c + 8 : n;
		for (j = c + 1; j < e; j++)
			if (hp[j] < hp[best])
				best = j;
		if (x <= hp[best])
			break;
		hp[i] = hp[best];
		i = best;
	}
	hp[i] = x;
}

/* Push the merge of symbol l with its right neighbour, if there is one. */
static void
try_pair(const tk_bpe *m, const tk_fastmap *f, const char *s, int32_t l)
{
	int32_t r = ws.next[l], merged;
	uint32_t rank;
	const tk_flat *fl = f ? __atomic_load_n(&f->flat, __ATOMIC_ACQUIRE) : NULL;
	size_t st, span;

	ws.prank[l] = UINT32_MAX;
	if (r < 0)
		return;
	st = ws.st[l];
	span = ws.en[r] - st;
	if (f && span == 2) {	/* two bytes: a table read */
		unsigned i2 = (unsigned char)s[st] | (unsigned)(unsigned char)s[st + 1] << 8;
		int32_t v = f->r2[i2];

		if (v != -2) {
			if (v < 0)
				return;
			rank = (uint32_t)v;
			merged = m->ranks ? v : f->m2[i2];
			goto push;
		}
	}
	if (m->ranks) {
		merged = fl ? tk_fv_get(fl, s + st, span) : tk_strmap_get(&m->vocab, s + st, span);
		if (merged < 0)
			return;
		rank = (uint32_t)merged;
	} else if (fl ? !tk_fp_get(fl, ws.id[l], ws.id[r], &rank, &merged) :
	                !tk_pairmap_get(&m->merges, ws.id[l], ws.id[r], &rank, &merged)) {
		return;
	}
push:
	if (rank == UINT32_MAX)
		return;
	ws.prank[l] = rank;
	ws.pmerged[l] = merged;
	heap_push((uint64_t)rank << 32 | (uint32_t)l);
}

static size_t
add_sym(size_t k, int32_t id, size_t a, size_t b)
{
	ws.id[k] = id;
	ws.st[k] = (uint32_t)a;
	ws.en[k] = (uint32_t)b;
	return k + 1;
}

int
tk_bpe_encode(const tk_bpe *m, const char *s, size_t n, tk_out *o)
{
	return tk_bpe_encode_f(m, NULL, s, n, o);
}

int
tk_bpe_encode_f(const tk_bpe *m, const tk_fastmap *f, const char *s, size_t n, tk_out *o)
{
	size_t k = 0, i;
	int32_t l;

	if (!n)
		return 0;
	if (m->ignore_merges) {
		const tk_flat *fl = f ? __atomic_load_n(&f->flat, __ATOMIC_ACQUIRE) : NULL;
		int32_t id = fl ? tk_fv_get(fl, s, n) : tk_strmap_get(&m->vocab, s, n);

		if (id >= 0)
			return tk_out_push(o, id, 0, n);
	}
	if (ws_reserve(n + 1))
		return -1;
	if (m->byte_level || m->ranks) {
		for (i = 0; i < n; i++) {
			int32_t id = m->byte_id[(unsigned char)s[i]];

			if (id < 0)
				id = m->unk;
			if (id >= 0)
				k = add_sym(k, id, i, i + 1);
		}
	} else {
		int32_t unk_id = -1;
		size_t unk_a = 0, unk_b = 0;
		int len;

		for (i = 0; i < n; i += (size_t)len) {
			int32_t id;

			tk_utf8_dec((const unsigned char *)s + i, n - i, &len);
			id = tk_strmap_get(&m->vocab, s + i, (size_t)len);
			if (id >= 0) {
				if (unk_id >= 0)
					k = add_sym(k, unk_id, unk_a, unk_b), unk_id = -1;
				k = add_sym(k, id, i, i + (size_t)len);
				continue;
			}
			if (m->byte_fallback) {
				int all = 1, j;

				for (j = 0; j < len; j++)
					if (m->byte_id[(unsigned char)s[i + j]] < 0)
						all = 0;
				if (all) {
					for (j = 0; j < len; j++)
						k = add_sym(k, m->byte_id[(unsigned char)s[i + j]],
						            i + j, i + j + 1);
					continue;
				}
			}
			if (m->unk >= 0) {
				if (unk_id >= 0 && m->fuse_unk) {
					unk_b = i + (size_t)len;
				} else {
					if (unk_id >= 0)
						k = add_sym(k, unk_id, unk_a, unk_b);
					unk_id = m->unk;
					unk_a = i;
					unk_b = i + (size_t)len;
				}
			}
		}
		if (unk_id >= 0)
			k = add_sym(k, unk_id, unk_a, unk_b);
	}
	for (i = 0; i < k; i++) {
		ws.prev[i] = (int32_t)i - 1;
		ws.next[i] = i + 1 < k ? (int32_t)i + 1 : -1;
	}
	ws.hn = 0;
	if (k > 1) {
		for (i = 0; i + 1 < k; i++)
			try_pair(m, f, s, (int32_t)i);
		while (ws.hn) {
			uint64_t key = HP[0];
			int32_t r;

			heap_pop();
			l = (int32_t)(uint32_t)key;
			r = ws.next[l];
			/* stale: l merged away (prev set to -2), or its pair changed */
			if (ws.prev[l] == -2 || r < 0 || ws.prank[l] != (uint32_t)(key >> 32))
				continue;
			ws.id[l] = ws.pmerged[l];
			ws.en[l] = ws.en[r];
			ws.next[l] = ws.next[r];
			if (ws.next[r] >= 0)
				ws.prev[ws.next[r]] = l;
			ws.prev[r] = -2;
			if (ws.prev[l] >= 0)
				try_pair(m, f, s, ws.prev[l]);
			try_pair(m, f, s, l);
		}
	}
	for (l = k ? 0 : -1; l >= 0; l = ws.next[l])
		if (tk_out_push(o, ws.id[l], ws.st[l], ws.en[l]))
			return -1;
	return 0;
}

void
tk_bpe_release(tk_bpe *m)
{
	tk_strmap_release(&m->vocab);
	tk_pairmap_release(&m->merges);
	tk_fastmap_free(m->fast);
	m->fast = NULL;
	free(m->cont_prefix);
	free(m->eow_suffix);
}
