/* spm_util.c: small pieces shared by the SentencePiece modules: growable
 * spans and buffers, a hashed byte trie, UTF-8 character lengths, base64. */
#include <stdlib.h>
#include <string.h>

#include "spm_int.h"

int
tk_spm_spans_push(tk_spm_spans *a, size_t start, size_t end)
{
	if (a->n == a->cap && ut_grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v) < 0)
		return -1;
	a->v[a->n].start = (uint32_t)start;
	a->v[a->n].end = (uint32_t)end;
	a->n++;
	return 0;
}

void
tk_spm_spans_release(tk_spm_spans *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

int
tk_ids_spans_emit(void *ctx, int32_t id, size_t a, size_t b)
{
	tk_ids_spans *x = ctx;

	if (te_ids_push(x->ids, id) < 0 || (x->spans && tk_spm_spans_push(x->spans, a, b) < 0))
		return -1;
	return 0;
}

void
tk_ids_spans_widen(void *ctx, size_t end)
{
	tk_ids_spans *x = ctx;

	if (x->spans && x->spans->n)
		x->spans->v[x->spans->n - 1].end = (uint32_t)end;
}

/* ----------------------------------------------------------- alignment */

/* q of a run of one group, then bytes each their own: spm_int.h */
#define AMAP_TAIL TK_AMAP_TAIL
#define IS_TAIL(r) ((r)->q >= AMAP_TAIL)
#define TAIL_AT(r) ((r)->os + (uint32_t)((r)->q - AMAP_TAIL))
/* sh of a run whose shape is in the side table (the shape table is full) */
#define AMAP_SIDE UINT16_MAX

static uint32_t
shape_hash(uint32_t w, uint16_t p, uint16_t q)
{
	uint64_t x = ((uint64_t)w << 32 | (uint64_t)p << 16 | q) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(x >> 40);
}

/* Room in a's shape hash for one more shape, kept half empty. */
static int
shape_room(tk_amap *a)
{
	size_t ns = a->nslot ? a->nslot * 2 : 64, k, h;
	uint16_t *sl;
	tk_ashape *sp;

	if (a->nshape * 2 < a->nslot || a->nshape >= AMAP_SIDE)
		return 0;
	if (!(sp = realloc(a->shape, ns / 2 * sizeof *sp)))
		return -1;
	a->shape = sp;
	if (!(sl = calloc(ns, sizeof *sl)))
		return -1;
	for (k = 0; k < a->nshape; k++) {
		for (h = shape_hash(sp[k].w, sp[k].p, sp[k].q) & (ns - 1); sl[h]; h = (h + 1) & (ns - 1))
			;
		sl[h] = (uint16_t)(k + 1);
	}
	free(a->slot);
	a->slot = sl;
	a->nslot = ns;
	return 0;
}

/* The index of shape (w, p, q) in a's table, added if new; AMAP_SIDE when
 * the table is full; -1 out of memory. */
static long
shape_id(tk_amap *a, uint32_t w, uint16_t p, uint16_t q)
{
	size_t h;

	if (shape_room(a) < 0)
		return -1;
	for (h = shape_hash(w, p, q) & (a->nslot - 1); a->slot[h]; h = (h + 1) & (a->nslot - 1)) {
		const tk_ashape *s = &a->shape[a->slot[h] - 1];

		if (s->w == w && s->p == p && s->q == q)
			return a->slot[h] - 1;
	}
	if (a->nshape >= AMAP_SIDE)
		return AMAP_SIDE;
	a->shape[a->nshape].w = w;
	a->shape[a->nshape].p = p;
	a->shape[a->nshape].q = q;
	a->slot[h] = (uint16_t)(a->nshape + 1);
	return (long)a->nshape++;
}

/* The shape of run k that is in the side table. */
static const tk_ashape *
side_of(const tk_amap *a, size_t k)
{
	size_t lo = 0, hi = a->nside;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->side_run[mid] <= k)
			lo = mid;
		else
			hi = mid;
	}
	return &a->side[lo];
}

/* Run k, decoded. */
static void
run_load(const tk_amap *a, size_t k, tk_arun *r)
{
	const tk_ashape *s = k + 1 == a->n ? &a->last
	                     : a->sh[k] == AMAP_SIDE ? side_of(a, k) : &a->shape[a->sh[k]];

	r->at = a->at[k];
	r->os = a->os[k];
	r->oe = r->os + s->w;
	r->p = s->p;
	r->q = s->q;
}

/* Give run k, the one before the last, the shape (w, p, q) in the table. */
static int
run_shape(tk_amap *a, size_t k, uint32_t w, uint16_t p, uint16_t q)
{
	long id = shape_id(a, w, p, q);

	if (id < 0)
		return -1;
	if (a->nside && a->side_run[a->nside - 1] == k)
		a->nside--;	/* k's side shape, dropped: set again below if need be */
	if (id == AMAP_SIDE) {
		if (a->nside == a->side_cap) {
			size_t cap = a->side_cap ? 2 * a->side_cap : 16;
			uint32_t *sr = realloc(a->side_run, cap * sizeof *sr);
			tk_ashape *sd;

			if (!sr)
				return -1;
			a->side_run = sr;
			if (!(sd = realloc(a->side, cap * sizeof *sd)))
				return -1;
			a->side = sd;
			a->side_cap = cap;
		}
		a->side_run[a->nside] = (uint32_t)k;
		a->side[a->nside].w = w;
		a->side[a->nside].p = p;
		a->side[a->nside].q = q;
		a->nside++;
	}
	a->sh[k] = (uint16_t)id;
	return 0;
}

/* Give the last run the shape (w, p, q): held apart in a->last, put in
 * the table only when a run follows (a run's shape changes as it grows). */
static int
last_shape(tk_amap *a, uint32_t w, uint16_t p, uint16_t q)
{
	a->last.w = w;
	a->last.p = p;
	a->last.q = q;
	a->c_n = 0;	/* the cursor may be the last run */
	a->own1 = 0;
	return 0;
}

static int
amap_new_run(tk_amap *a, uint32_t os, uint32_t oe, size_t p, uint16_t q)
{
	if (a->n == a->cap) {	/* by a quarter: a long text has many runs */
		size_t cap = a->cap < 64 ? 64 : a->cap + a->cap / 4;
		uint32_t *v;
		uint16_t *s;

		if (!(v = realloc(a->at, cap * sizeof *v)))
			return -1;
		a->at = v;
		if (!(v = realloc(a->os, cap * sizeof *v)))
			return -1;
		a->os = v;
		if (!(s = realloc(a->sh, cap * sizeof *s)))
			return -1;
		a->sh = s;
		a->cap = cap;
	}
	if (a->n && run_shape(a, a->n - 1, a->last.w, a->last.p, a->last.q) < 0)
		return -1;
	a->at[a->n] = (uint32_t)a->len;
	a->os[a->n] = os;
	a->n++;
	/* a longer group is bytes all of one span: one byte a group */
	return last_shape(a, oe - os, p <= UINT16_MAX ? (uint16_t)p : 1,
	                  p <= UINT16_MAX ? q : 0);
}

int
tk_amap_own_run(tk_amap *a, size_t n, uint32_t os)
{
	tk_arun r;
	size_t k;

	if (!n)
		return 0;
	if (a->n) {
		run_load(a, a->n - 1, &r);
		k = a->len - r.at;	/* the last run's bytes */
		if (IS_TAIL(&r) ? k >= r.p && (uint64_t)TAIL_AT(&r) + (k - r.p) == os
		    : r.p == 1 && r.oe - r.os == 1 && (uint64_t)r.os + k == os && (r.q == 1 || k == 1)) {
			if (!IS_TAIL(&r) && r.q != 1 && last_shape(a, 1, 1, 1) < 0)
				return -1;
			goto grown;
		}
		if (!IS_TAIL(&r) && k == r.p && os >= r.os && os - r.os <= UINT16_MAX - AMAP_TAIL) {
			/* one group, then bytes each their own */
			if (last_shape(a, r.oe - r.os, r.p, (uint16_t)(AMAP_TAIL + (os - r.os))) < 0)
				return -1;
			goto grown;
		}
	}
	if (amap_new_run(a, os, os + 1, 1, 1) < 0)
		return -1;
grown:
	a->len += n;
	/* the last run, bytes each their own at its end, takes more as is */
	a->own1 = (uint64_t)os + n + 1;
	return 0;
}

/* Whether the last run takes n bytes more that all map to [os, oe),
 * reshaped to (then 1, -1 when out of memory), or not (0).  A group may
 * come a part at a time (BertNormalizer's " X " for a CJK character X, a
 * put each), and a run may end in a group cut short (tk_amap_trunc): the
 * bytes taken are always those that byte i's group, (i - at) / p, gives
 * their span. */
static int
amap_grow(tk_amap *a, size_t n, uint32_t os, uint32_t oe)
{
	tk_arun r;
	size_t k, g;

	if (!a->n)
		return 0;
	run_load(a, a->n - 1, &r);
	if (IS_TAIL(&r) || oe - os != r.oe - r.os)
		return 0;
	k = a->len - r.at;	/* the run's bytes */
	g = k / r.p;	/* the group the next byte is in */
	if (k % r.p + n <= r.p && (uint64_t)r.os + (uint64_t)g * r.q == os)
		return 1;
	if (k > r.p && r.q)	/* not all of one span */
		return 0;
	if (os == r.os)
		return last_shape(a, oe - os, 1, 0) < 0 ? -1 : 1;
	if (os > r.os && os - r.os < AMAP_TAIL && n <= k && k <= UINT16_MAX)
		/* the step: groups of the k bytes so far */
		return last_shape(a, oe - os, (uint16_t)k, (uint16_t)(os - r.os)) < 0 ? -1 : 1;
	return 0;
}

int
tk_amap_put_run(tk_amap *a, size_t n, uint32_t os, uint32_t oe)
{
	int r;

	if (!n)
		return 0;
	if (n == 1 && oe - os == 1)
		return tk_amap_put_own(a, 1, os);
	a->own1 = 0;
	if ((r = amap_grow(a, n, os, oe)) < 0 || (!r && amap_new_run(a, os, oe, n, 0) < 0))
		return -1;
	a->len += n;
	return 0;
}

int
tk_amap_put_tail(tk_amap *a, size_t gn, uint32_t os, uint32_t oe, size_t n, uint32_t tos)
{
	tk_arun r;

	if (a->n)
		run_load(a, a->n - 1, &r);
	/* a run of its own unless the group would join the last run (which
	 * amap_grow decides) */
	if (!gn || !n || gn > UINT16_MAX || tos < os || tos - os > UINT16_MAX - AMAP_TAIL ||
	    (a->n && !IS_TAIL(&r) && oe - os == r.oe - r.os)) {
		if (tk_amap_put_run(a, gn, os, oe) < 0)
			return -1;
		return tk_amap_put_own(a, n, tos);
	}
	if (amap_new_run(a, os, oe, gn, (uint16_t)(AMAP_TAIL + (tos - os))) < 0)
		return -1;
	a->len += gn + n;
	/* the bytes each their own at its end take more as is */
	a->own1 = (uint64_t)tos + n + 1;
	return 0;
}

/* The run of byte i (a->cur): the one of the last lookup or one of the
 * few after it, else found by binary search. */
static size_t
amap_run(tk_amap *a, size_t i)
{
	size_t c = a->cur, lo, hi, k;

	if (c < a->n && a->at[c] <= i) {
		for (k = 0; k < 8 && c + 1 < a->n && a->at[c + 1] <= i; k++)
			c++;
		if (c + 1 == a->n || a->at[c + 1] > i)
			return a->cur = c;
	}
	for (lo = 0, hi = a->n; hi - lo > 1;) {	/* the last run at or before i */
		size_t mid = lo + (hi - lo) / 2;

		if (a->at[mid] <= i)
			lo = mid;
		else
			hi = mid;
	}
	return a->cur = lo;
}

/* The span of byte i of run r. */
static void
run_span(const tk_arun *r, size_t i, uint32_t *os, uint32_t *oe)
{
	uint32_t k = (uint32_t)(i - r->at), m;

	if (IS_TAIL(r)) {
		*os = k < r->p ? r->os : TAIL_AT(r) + (k - r->p);
		*oe = k < r->p ? r->oe : TAIL_AT(r) + (k - r->p) + 1;
		return;
	}
	m = r->p == 1 ? k : k / r->p;
	*os = r->os + m * r->q;
	*oe = r->oe + m * r->q;
}

void
tk_amap_seek(tk_amap *a, size_t i)
{
	size_t k = amap_run(a, i);

	run_load(a, k, &a->c);
	a->c_n = (k + 1 < a->n ? a->at[k + 1] : a->len) - a->c.at;
}

int
tk_amap_copy(tk_amap *d, tk_amap *a, size_t from, size_t to)
{
	while (from < to) {
		size_t c = amap_run(a, from), end = c + 1 < a->n ? a->at[c + 1] : a->len, ge;
		uint32_t os, oe;
		tk_arun r;
		int own;

		run_load(a, c, &r);
		run_span(&r, from, &os, &oe);
		if (IS_TAIL(&r)) {	/* the group, or the bytes after it */
			own = from - r.at >= r.p;
			ge = own ? end : r.at + r.p;
		} else {
			own = r.p == 1 && r.q == 1 && r.oe - r.os == 1;
			/* to the end of from's group, or of the run */
			ge = r.q && !own ? r.at + ((from - r.at) / r.p + 1) * r.p : end;
		}
		end = ge < end ? ge : end;
		end = to < end ? to : end;
		if (own ? tk_amap_put_own(d, end - from, os) < 0 : tk_amap_put(d, end - from, os, oe) < 0)
			return -1;
		from = end;
	}
	return 0;
}

void
tk_amap_trunc(tk_amap *a, size_t len)
{
	size_t n = a->n;

	while (a->n && a->at[a->n - 1] >= len)
		a->n--;
	while (a->nside && a->side_run[a->nside - 1] >= a->n)
		a->nside--;
	if (a->n && a->n < n)	/* the new last run's shape, from the table */
		a->last = a->sh[a->n - 1] == AMAP_SIDE ? *side_of(a, a->n - 1)
		                                       : a->shape[a->sh[a->n - 1]];
	a->cur = 0;
	a->c_n = 0;
	a->own1 = 0;
	a->len = len;
}

size_t
tk_amap_size(const tk_amap *a)
{
	return a->cap * (2 * sizeof *a->at + sizeof *a->sh) + a->nslot / 2 * sizeof *a->shape +
	       a->nslot * sizeof *a->slot + a->side_cap * (sizeof *a->side_run + sizeof *a->side);
}

void
tk_amap_release(tk_amap *a)
{
	free(a->at);
	free(a->os);
	free(a->sh);
	free(a->shape);
	free(a->slot);
	free(a->side_run);
	free(a->side);
	memset(a, 0, sizeof *a);
}

/* ---------------------------------------------------------------- trie */

int
tk_strie_init(tk_strie *t)
{
	memset(t, 0, sizeof *t);
	t->cap = 1024;
	t->keys = calloc(t->cap, sizeof *t->keys);
	t->child = malloc(t->cap * sizeof *t->child);
	t->value_cap = 256;
	t->value = malloc(t->value_cap * sizeof *t->value);
	if (!t->keys || !t->child || !t->value) {
		tk_strie_release(t);
		return -1;
	}
	t->n_nodes = 1;
	t->value[0] = -1;
	return 0;
}

void
tk_strie_release(tk_strie *t)
{
	free(t->keys);
	free(t->child);
	free(t->value);
	free(t->base);
	free(t->check);
	memset(t, 0, sizeof *t);
}

static int
strie_grow(tk_strie *t)
{
	size_t nc = t->cap * 2, mask = nc - 1;
	uint64_t *k = calloc(nc, sizeof *k);
	uint32_t *c = malloc(nc * sizeof *c);

	if (!k || !c) {
		free(k);
		free(c);
		return -1;
	}
	for (size_t i = 0; i < t->cap; i++) {
		size_t h;

		if (!t->keys[i])
			continue;
		h = (size_t)((t->keys[i] * 0x9E3779B97F4A7C15ull) >> 20) & mask;
		while (k[h])
			h = (h + 1) & mask;
		k[h] = t->keys[i];
		c[h] = t->child[i];
	}
	free(t->keys);
	free(t->child);
	t->keys = k;
	t->child = c;
	t->cap = nc;
	return 0;
}

int
tk_strie_insert(tk_strie *t, const char *s, size_t len, int32_t v,
                int overwrite)
{
	uint32_t node = 0;

	if (t->base)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		uint32_t nx = tk_strie_next(t, node, ch);

		if (!nx) {
			uint64_t key = (((uint64_t)node << 8) | ch) + 1;
			size_t h;

			if ((t->used + 1) * 2 > t->cap && strie_grow(t) < 0)
				return -1;
			if (t->n_nodes == t->value_cap) {
				int32_t *nv = realloc(t->value, 2 * t->value_cap * sizeof *nv);

				if (!nv)
					return -1;
				t->value = nv;
				t->value_cap *= 2;
			}
			if (t->n_nodes >= UINT32_MAX)
				return -1;
			nx = (uint32_t)t->n_nodes++;
			t->value[nx] = -1;
			h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (t->cap - 1);
			while (t->keys[h])
				h = (h + 1) & (t->cap - 1);
			t->keys[h] = key;
			t->child[h] = nx;
			t->used++;
		}
		node = nx;
	}
	if (t->value[node] < 0 || overwrite)
		t->value[node] = v;
	return 0;
}

typedef struct edge {
	uint32_t parent, child;
	unsigned char c;
} edge;

/* Order the ne edges of in by (parent, byte) into e, and set first[p] to
 * where parent p's edges start (first has n_nodes + 1 entries, zeroed): a
 * counting sort by parent, then each parent's few edges by byte. */
static void
edge_sort(const edge *in, size_t ne, edge *e, size_t *first, size_t n_nodes)
{
	size_t i, k;

	for (i = 0; i < ne; i++)
		first[in[i].parent + 1]++;
	for (i = 0; i < n_nodes; i++)
		first[i + 1] += first[i];
	for (i = 0; i < ne; i++)
		e[first[in[i].parent]++] = in[i];
	for (i = n_nodes; i > 0; i--)
		first[i] = first[i - 1];
	first[0] = 0;
	for (size_t p = 0; p < n_nodes; p++)
		for (i = first[p] + 1; i < first[p + 1]; i++) {
			edge x = e[i];

			for (k = i; k > first[p] && e[k - 1].c > x.c; k--)
				e[k] = e[k - 1];
			e[k] = x;
		}
}

/* Double-array construction state: slots not yet used form a doubly
 * linked list (nf/pf), so finding room for a node's children skips used
 * slots instead of scanning them. */
typedef struct dabuild {
	size_t cap;
	int32_t *nf, *pf;   /* next / previous free slot, -1 at the ends; pf is
	                     * -2 for a used slot, -3 for a free one dropped
	                     * from the list */
	int32_t head, tail; /* first and last free slot */
	unsigned char *tries; /* times a slot failed as a first child's place */
} dabuild;

static int
da_grow(tk_strie *t, dabuild *b, size_t need)
{
	size_t nc = b->cap ? b->cap : 1024, old = b->cap;
	int32_t *nb, *nk, *nn, *np;
	unsigned char *nt;

	if (need <= b->cap)
		return 0;
	while (nc < need)
		nc *= 2;
	if (nc > INT32_MAX)
		return -1;
	nb = realloc(t->base, nc * sizeof *nb);
	if (nb)
		t->base = nb;
	nk = realloc(t->check, nc * sizeof *nk);
	if (nk)
		t->check = nk;
	nn = realloc(b->nf, nc * sizeof *nn);
	if (nn)
		b->nf = nn;
	np = realloc(b->pf, nc * sizeof *np);
	if (np)
		b->pf = np;
	nt = realloc(b->tries, nc);
	if (nt)
		b->tries = nt;
	if (!nb || !nk || !nn || !np || !nt)
		return -1;
	for (size_t i = old; i < nc; i++) {
		b->tries[i] = 0;
		t->base[i] = 0;
		t->check[i] = -1;
		b->pf[i] = i == old ? b->tail : (int32_t)i - 1;
		b->nf[i] = i + 1 < nc ? (int32_t)i + 1 : -1;
	}
	if (b->tail >= 0)
		b->nf[b->tail] = (int32_t)old;
	else
		b->head = (int32_t)old;
	b->tail = (int32_t)nc - 1;
	b->cap = nc;
	return 0;
}

/* Drop a free slot from the list (it stays free, usable by any child
 * but the first), or take a slot for a child. */
static void
da_unlink(dabuild *b, size_t slot, int32_t mark)
{
	int32_t p = b->pf[slot], n = b->nf[slot];

	if (p == -3) {
		b->pf[slot] = mark;
		return;
	}
	if (p >= 0)
		b->nf[p] = n;
	else
		b->head = n;
	if (n >= 0)
		b->pf[n] = p;
	else
		b->tail = p;
	b->pf[slot] = mark;
	b->nf[slot] = -1;
}

static void
da_take(dabuild *b, size_t slot)
{
	da_unlink(b, slot, -2);
}

/* The double array's size: its slots up to the last one taken (the root
 * at least).  The free slots past it, which growth by doubling leaves
 * (a third of T5's), need not be kept, written to a cache or walked by
 * tk_unigram: a child's slot is below it, so every base is, and a step
 * that lands past it is refused by tk_strie_next's bound as it was by
 * the slot's check. */
static size_t
da_used(const tk_strie *t, size_t cap)
{
	size_t n = cap;

	while (n > 1 && t->check[n - 1] < 0)
		n--;
	return n;
}

int
tk_strie_compile(tk_strie *t)
{
	edge *e = NULL, *e0 = NULL;
	size_t ne = 0, *first = NULL, head = 0, qn = 0;
	uint32_t *da = NULL, *queue = NULL;
	int32_t *dvalue = NULL;
	dabuild b = {0, NULL, NULL, -1, -1, NULL};

	if (t->base)
		return 0;
	e = malloc((t->used ? t->used : 1) * sizeof *e);
	e0 = malloc((t->used ? t->used : 1) * sizeof *e0);
	first = calloc(t->n_nodes + 1, sizeof *first);
	da = malloc(t->n_nodes * sizeof *da);
	queue = malloc(t->n_nodes * sizeof *queue);
	if (!e || !e0 || !first || !da || !queue)
		goto fail;
	for (size_t i = 0; i < t->cap; i++)
		if (t->keys[i]) {
			e0[ne].parent = (uint32_t)((t->keys[i] - 1) >> 8);
			e0[ne].c = (unsigned char)((t->keys[i] - 1) & 0xFF);
			e0[ne].child = t->child[i];
			ne++;
		}
	edge_sort(e0, ne, e, first, t->n_nodes);
	free(e0);
	e0 = NULL;
	if (da_grow(t, &b, 1024) < 0)
		goto fail;
	da_take(&b, 0);
	da[0] = 0;
	queue[qn++] = 0;
	while (head < qn) {
		uint32_t hn = queue[head++];
		size_t a = first[hn], z = first[hn + 1], base = 0;
		int32_t f, nextf;

		if (a == z)
			continue;
		/* try each free slot as the place of the first child; a slot
		 * that keeps failing is dropped from the list, as darts-clone
		 * closes old blocks, so the search does not rescan holes */
		for (f = b.head;; f = nextf) {
			size_t k;

			if (f < 0) {
				/* no room: grow, and retry from the new slots */
				size_t old = b.cap;

				if (da_grow(t, &b, b.cap * 2) < 0)
					goto fail;
				f = (int32_t)old;
			}
			nextf = b.nf[f];
			if ((size_t)f < (size_t)e[a].c + 1)
				continue;
			base = (size_t)f - e[a].c;
			if (da_grow(t, &b, base + 256) < 0)
				goto fail;
			nextf = b.nf[f];
			for (k = a + 1; k < z; k++)
				if (b.pf[base + e[k].c] == -2)
					break;
			if (k == z)
				break;
			if (++b.tries[f] >= 16)
				da_unlink(&b, (size_t)f, -3);
		}
		t->base[da[hn]] = (int32_t)base;
		for (size_t k = a; k < z; k++) {
			size_t slot = base + e[k].c;

			da_take(&b, slot);
			t->check[slot] = (int32_t)da[hn];
			da[e[k].child] = (uint32_t)slot;
			queue[qn++] = e[k].child;
		}
	}
	dvalue = malloc(b.cap * sizeof *dvalue);
	if (!dvalue)
		goto fail;
	for (size_t i = 0; i < b.cap; i++)
		dvalue[i] = -1;
	for (size_t i = 0; i < t->n_nodes; i++)
		dvalue[da[i]] = t->value[i];
	free(t->value);
	t->value = dvalue;
	t->value_cap = b.cap;
	t->dsize = da_used(t, b.cap);
	free(t->keys);
	free(t->child);
	t->keys = NULL;
	t->child = NULL;
	t->cap = t->used = 0;
	free(e);
	free(first);
	free(da);
	free(queue);
	free(b.nf);
	free(b.pf);
	free(b.tries);
	return 0;
fail:
	free(t->base);
	free(t->check);
	t->base = t->check = NULL;
	t->dsize = 0;
	free(e);
	free(e0);
	free(first);
	free(da);
	free(queue);
	free(b.nf);
	free(b.pf);
	free(b.tries);
	return -1;
}

int32_t
tk_strie_get(const tk_strie *t, const char *s, size_t len)
{
	uint32_t node = 0;

	for (size_t i = 0; i < len; i++) {
		node = tk_strie_next(t, node, (unsigned char)s[i]);
		if (!node)
			return -1;
	}
	return t->value[node];
}

/* ---------------------------------------------------------------- UTF-8 */

size_t
tk_spm_one_char_len(const char *s, size_t n)
{
	static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1,
	                                      1, 1, 1, 1, 2, 2, 3, 4};
	size_t l = len[(unsigned char)s[0] >> 4];

	return l < n ? l : n;
}

size_t
tk_spm_valid_char_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (p[0] == 0xE0 && p[1] < 0xA0)
			return 0;
		if (p[0] == 0xED && p[1] >= 0xA0)
			return 0;
		return 3;
	}
	if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return 0;
		if (p[0] == 0xF0 && p[1] < 0x90)
			return 0;
		if (p[0] == 0xF4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

unsigned char *
tk_spm_base64(const char *s, size_t n, size_t *out_n)
{
	unsigned char *out = malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == '=' || c == '\n' || c == '\r')
			continue;
		else {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out_n = o;
	return out;
}
