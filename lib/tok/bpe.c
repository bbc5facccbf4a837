/* bpe.c: byte-pair encoding of one pre-tokenized word: the symbols form a
 * linked list and the candidate merges are taken in (rank, position) order,
 * stale entries being skipped when taken.  A short word keeps its
 * candidates in a min-heap; a long one (tk_bpe_bq_min symbols or more) in
 * one bucket per rank, walked in position order, with a heap of the ranks
 * alone (see bq_run).
 * Two rank sources: Hugging Face merges (a pair of ids -> rank and merged
 * id) and tiktoken ranks (the rank of the concatenated bytes). */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

#define PC_BITS 12	/* the pair table: 4096 entries at most */

/* Scratch space for one word, kept per thread.  The candidate merges are
 * a heap of rank << 32 | left symbol; the pair at a symbol l (its rank and
 * merged id) is in prank[l] and pmerged[l], so an entry is stale when its
 * rank is no longer l's (or l is gone).  The heap is 8-ary: a node's
 * children fill one cache line, and it is a third as deep as a binary one. */
typedef struct bpe_ws {
	int32_t *id;
	/* symbol l starts at st[l] and ends where the next one starts (the
	 * last at wend) unless a byte was dropped (no id, no <unk>): then
	 * en, made at the first gap */
	uint32_t *st, *en, wend, *enbuf;
	int oom;
	int32_t *prev, *next;
	/* the pair at l: its rank (a short word; a long word's bucket link
	 * bpv in that room) and its merged id */
	uint32_t *prank;
	int32_t *pmerged;
	uint64_t *h;			/* the heap, allocated apart (short words) */
	size_t cap, hcap, hn, ncap;
	/* bucket mode: a symbol is in the bucket of its pair's rank, linked
	 * by bnx/bpv (see BQ_TAG); bhead/btail/bdirty/binh/rh per rank (nr), rh
	 * a heap of the ranks whose bucket may be non-empty, bs (bscap)
	 * scratch for sorting a bucket, wnext the next symbol of the bucket
	 * walked */
	uint32_t *bnx, *bpv, *bhead, *btail, *rh, *bs, wnext;
	uint8_t *bdirty, *binh;
	size_t nr, rhn, bscap, nsym;
	void *blk;			/* the block the per-symbol arrays live in */
	size_t blk_size;
	int blk_mapped;
	int bmode, bint, berr;
	/* bucket mode: pair of ids -> rank, merged (pc_on: ids name their
	 * bytes, i.e. no byte was replaced by <unk> in a tiktoken word) */
	int pc_on, pc_bits;
	int32_t pc_gen;			/* the te_tok the table is for; 0 one word */
	struct { uint64_t key; uint32_t rank; int32_t merged; } pc[1 << PC_BITS];
	uint32_t bcur;
	/* a part of a long word (bpe_cut): the histories of its first and
	 * last symbols, kept while set */
	struct edge *hf, *hl;
} bpe_ws;

/* The ids a word's first (or last) symbol takes, in order, and for each
 * the highest rank of the merges made while it was (its own last merge
 * included); n past EDGE_MAX: too many kept. */
#define EDGE_MAX 48
typedef struct edge {
	int32_t id[EDGE_MAX];
	int64_t top[EDGE_MAX];
	int64_t run;			/* the highest rank since the last id */
	int n;
} edge;

size_t tk_bpe_bq_min = 64;
uint32_t tk_bpe_bq_rank_max = (uint32_t)1 << 23;	/* per-rank arrays up to 80 MB */
int tk_bpe_bq_test;

static __thread bpe_ws ws;

/* The per-symbol arrays of a word in one block, 28 bytes a symbol, sized
 * to the word (grown by half at least): a large one is mapped with huge
 * pages asked for (a 500 KB word needs 16 MB of scratch, and first touch
 * of 4 KB pages is dear) and let go of once its word is done, before its
 * tokens are kept; contents are not kept on growth. */
#define WS_PER_SYM (7 * 4)
#define WS_MAP_MIN ((size_t)4 << 20)

static void
ws_block_free(void)
{
	if (ws.blk && ws.blk_mapped)
		ut_zero_unmap(ws.blk, ws.blk_size);
	else
		free(ws.blk);
	ws.blk = NULL;
	ws.blk_size = 0;
	ws.cap = 0;
}

static int
ws_reserve(size_t n)
{
	size_t cap = ws.cap + ws.cap / 2, size;
	char *p;

	if (n <= ws.cap)
		return 0;
	if (cap < n)
		cap = n < 64 ? 64 : n;
	ws_block_free();
	size = (cap * WS_PER_SYM + 8 * 64 + 63) & ~(size_t)63;	/* aligned_alloc's */
	if (size >= WS_MAP_MIN) {
		size = (size + ((size_t)2 << 20) - 1) & ~(((size_t)2 << 20) - 1);
		if (!(p = ut_zero_map(size)))
			return -1;
		ut_huge_advise(p, size);
		ws.blk_mapped = 1;
	} else {
		if (!(p = aligned_alloc(64, size)))
			return -1;
		ws.blk_mapped = 0;
	}
	ws.blk = p;
	ws.blk_size = size;
#define CARVE(f, cnt) do { ws.f = (void *)p; p += ((cnt) * sizeof *ws.f + 63) & ~(size_t)63; } while (0)
	CARVE(id, cap); CARVE(st, cap); CARVE(prev, cap); CARVE(next, cap);
	CARVE(prank, cap); CARVE(pmerged, cap); CARVE(bnx, cap);
#undef CARVE
	ws.bpv = ws.prank;
	ws.cap = cap;
	return 0;
}

/* Room for the heap of a word of k symbols: at most its k - 1 first pairs
 * and two per merge; 8 spare at its head (see HP). */
static int
ws_heap(size_t k)
{
	uint64_t *h;

	if (3 * k + 8 <= ws.hcap)
		return 0;
	free(ws.h);
	ws.hcap = 0;
	if (!(ws.h = h = malloc((3 * k + 8) * sizeof *h)))
		return -1;
	ws.hcap = 3 * k + 8;
	return 0;
}

/* A byte was dropped before the symbol k: the ends of symbols 0..k-1
 * from here on in en (contiguous so far). */
static int
ws_ends(size_t k)
{
	size_t i;

	if (ws.ncap < ws.cap) {
		free(ws.enbuf);
		ws.ncap = 0;
		if (!(ws.enbuf = malloc(ws.cap * sizeof *ws.enbuf)))
			return -1;
		ws.ncap = ws.cap;
	}
	ws.en = ws.enbuf;
	for (i = 0; i + 1 < k; i++)
		ws.en[i] = ws.st[i + 1];
	if (k)
		ws.en[k - 1] = ws.wend;
	return 0;
}

/* Let go of a word's scratch (all but the per-rank arrays). */
static void
ws_let_go(void)
{
	ws_block_free();
	free(ws.h);
	free(ws.enbuf);
	free(ws.bs);
	ws.h = NULL;
	ws.enbuf = ws.bs = NULL;
	ws.hcap = ws.ncap = ws.bscap = 0;
}

void
tk_bpe_thread_free(void)
{
	ws_let_go();
	free(ws.rh);
	free(ws.bhead);
	free(ws.btail);
	free(ws.bdirty);
	free(ws.binh);
	memset(&ws, 0, sizeof ws);
	tk_bt_thread_free();
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

/* ---- bucket mode: one bucket per rank ----
 * Every symbol whose pair with its right neighbour can merge is linked
 * into the bucket of that pair's rank (a list in the order of linking),
 * and moved when its pair changes, so a bucket holds exactly the current
 * pairs of its rank.  The ranks with a bucket sit in a binary heap; the
 * lowest is taken and its bucket walked in position order, merging every
 * entry.  A merge only ever makes pairs of other ranks (the merged span
 * is longer than the pair's), and links made while walking a bucket come
 * in position order, so most buckets are in order when their turn comes;
 * one that is not (bdirty) is sorted first.  A link of a rank at or
 * below the bucket being walked (a merge table where a longer token ranks
 * before its part) stops the walk: the rest of the bucket waits, and the
 * lowest rank is taken again, so the order is (rank, position) as with
 * the heap.
 * A symbol's bucket links are its neighbours in the bucket, the head's
 * bpv and the tail's bnx its bucket's rank with BQ_TAG set; BQ_OFF in bpv:
 * not in a bucket. */
#define BQ_NIL UINT32_MAX
#define BQ_OFF UINT32_MAX
#define BQ_TAG ((uint32_t)1 << 31)

/* The symbol after l in its bucket, or BQ_NIL. */
static inline uint32_t
bq_next(uint32_t l)
{
	uint32_t x = ws.bnx[l];

	return x & BQ_TAG ? BQ_NIL : x;
}

/* Make room for ranks below r + 1; new buckets are empty. */
static int
bq_ranks(uint32_t r)
{
	size_t nr = ws.nr ? ws.nr : 1024, i;
	uint32_t *h, *t, *q;
	uint8_t *d, *in;

	while (nr <= r)
		nr *= 2;
	/* a rank is in the rank heap once at most (binh) */
	if (!(q = realloc(ws.rh, nr * sizeof *q)))
		return -1;
	ws.rh = q;
	if (!(h = realloc(ws.bhead, nr * sizeof *h)))
		return -1;
	ws.bhead = h;
	if (!(t = realloc(ws.btail, nr * sizeof *t)))
		return -1;
	ws.btail = t;
	if (!(d = realloc(ws.bdirty, nr)))
		return -1;
	ws.bdirty = d;
	if (!(in = realloc(ws.binh, nr)))
		return -1;
	ws.binh = in;
	for (i = ws.nr; i < nr; i++)
		h[i] = BQ_NIL, in[i] = 0;
	ws.nr = nr;
	return 0;
}

static void
rh_push(uint32_t r)
{
	size_t i = ws.rhn++;

	while (i) {
		size_t p = (i - 1) / 2;

		if (ws.rh[p] <= r)
			break;
		ws.rh[i] = ws.rh[p];
		i = p;
	}
	ws.rh[i] = r;
}

static uint32_t
rh_pop(void)
{
	uint32_t top = ws.rh[0], x;
	size_t i = 0, n = --ws.rhn;

	if (!n)
		return top;
	x = ws.rh[n];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ws.rh[c + 1] < ws.rh[c])
			c++;
		if (x <= ws.rh[c])
			break;
		ws.rh[i] = ws.rh[c];
		i = c;
	}
	ws.rh[i] = x;
	return top;
}

static void
bq_link(uint32_t r, uint32_t l)
{
	uint32_t t;

	if (r >= tk_bpe_bq_rank_max || (r >= ws.nr && bq_ranks(r))) {
		/* a rank past any real table's (a damaged one): the word is
		 * done again with the heap; out of memory: an error */
		ws.berr = r >= tk_bpe_bq_rank_max ? 2 : 1;
		return;		/* not linked: never unlinked */
	}
	t = ws.bhead[r] == BQ_NIL ? BQ_NIL : ws.btail[r];
	ws.bpv[l] = t == BQ_NIL ? BQ_TAG | r : t;
	ws.bnx[l] = BQ_TAG | r;
	if (t == BQ_NIL) {
		ws.bhead[r] = l;
		ws.bdirty[r] = 0;
	} else {
		ws.bnx[t] = l;
		if (t > l)
			ws.bdirty[r] = 1;
	}
	ws.btail[r] = l;
	if (!ws.binh[r]) {
		ws.binh[r] = 1;
		rh_push(r);
	}
	if (tk_bpe_bq_test)
		ws.bdirty[r] = 1;
	if (r <= ws.bcur)
		ws.bint = 1;
}

/* Take l out of its bucket (a tag moves to the neighbour left at the end). */
static void
bq_unlink(uint32_t l)
{
	uint32_t p = ws.bpv[l], n = ws.bnx[l];

	if (p & BQ_TAG)
		ws.bhead[p & ~BQ_TAG] = n & BQ_TAG ? BQ_NIL : n;
	else
		ws.bnx[p] = n;
	if (n & BQ_TAG)
		ws.btail[n & ~BQ_TAG] = p & BQ_TAG ? BQ_NIL : p;
	else
		ws.bpv[n] = p;
	if (ws.wnext == l)
		ws.wnext = n & BQ_TAG ? BQ_NIL : n;
	ws.bpv[l] = BQ_OFF;
}

static void
sort_u32(uint32_t *a, uint32_t *tmp, size_t n, uint32_t max)
{
	size_t i, j;

	if (n <= 32) {
		for (i = 1; i < n; i++) {
			uint32_t x = a[i];

			for (j = i; j && a[j - 1] > x; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
		return;
	}
	/* LSD radix, 11 bits a pass, as many passes as max needs */
	for (unsigned sh = 0; sh < 32 && (max >> sh); sh += 11) {
		size_t cnt[2048] = { 0 }, sum = 0;

		for (i = 0; i < n; i++)
			cnt[a[i] >> sh & 2047]++;
		for (i = 0; i < 2048; i++) {
			size_t c = cnt[i];

			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[cnt[a[i] >> sh & 2047]++] = a[i];
		memcpy(a, tmp, n * sizeof *a);
	}
}

/* Put bucket r's symbols in position order. */
static void
bq_sort(uint32_t r)
{
	uint32_t l, *a, max = 0;
	size_t n = 0, i;

	if (ws.bscap < 2 * ws.nsym) {	/* a bucket and the radix passes' room */
		free(ws.bs);
		ws.bscap = 0;
		if (!(ws.bs = malloc(2 * ws.nsym * sizeof *ws.bs))) {
			ws.berr = 1;
			return;
		}
		ws.bscap = 2 * ws.nsym;
	}
	a = ws.bs;
	for (l = ws.bhead[r]; l != BQ_NIL; l = bq_next(l)) {
		a[n++] = l;
		if (l > max)
			max = l;
	}
	if (tk_bpe_bq_test)	/* the tests: sort from reverse order */
		for (i = 0; i < n / 2; i++) {
			uint32_t t = a[i];

			a[i] = a[n - 1 - i];
			a[n - 1 - i] = t;
		}
	sort_u32(a, ws.bs + ws.nsym, n, max);
	for (i = 0; i < n; i++) {
		ws.bpv[a[i]] = i ? a[i - 1] : BQ_TAG | r;
		ws.bnx[a[i]] = i + 1 < n ? a[i + 1] : BQ_TAG | r;
	}
	ws.bhead[r] = n ? a[0] : BQ_NIL;
	ws.btail[r] = n ? a[n - 1] : BQ_NIL;
	ws.bdirty[r] = 0;
}

/* The rank and merged id of the pair of symbols a, b spanning s[st..+span]. */
static inline int
pair_rank(const tk_bpe *m, const tk_flat *fl, const char *s, size_t st, size_t span,
          int32_t a, int32_t b, uint32_t *rank, int32_t *merged)
{
	if (m->ranks) {
		*merged = fl ? tk_fv_get(fl, s + st, span) : ut_strmap_get(&m->vocab, s + st, span);
		*rank = (uint32_t)*merged;
		return *merged >= 0;
	}
	return fl ? tk_fp_get(fl, a, b, rank, merged) : tk_pairmap_get(&m->merges, a, b, rank, merged);
}

/* Where symbol l ends. */
static inline uint32_t
sym_end(int32_t l)
{
	int32_t r;

	if (ws.en)
		return ws.en[l];
	r = ws.next[l];
	return r >= 0 ? ws.st[r] : ws.wend;
}

/* The rank and merged id of the pair of symbols l, r: 0 when it has none. */
static inline int
pair_at(const tk_bpe *m, const tk_fastmap *f, const char *s, int32_t l, int32_t r,
        uint32_t *rank, int32_t *merged)
{
	const tk_flat *fl = f ? __atomic_load_n(&f->flat, __ATOMIC_ACQUIRE) : NULL;
	size_t st = ws.st[l], span = sym_end(r) - st;

	if (f && span == 2) {	/* two bytes: a table read */
		unsigned i2 = (unsigned char)s[st] | (unsigned)(unsigned char)s[st + 1] << 8;
		int32_t v = f->r2[i2];

		if (v != -2) {
			if (v < 0)
				return 0;
			*rank = (uint32_t)v;
			*merged = m->ranks ? v : f->m2[i2];
			return 1;
		}
	}
	if (ws.pc_on) {	/* a long word: its pairs repeat, remember them */
		uint64_t key = (uint64_t)(uint32_t)ws.id[l] << 32 | (uint32_t)ws.id[r];
		size_t slot = (size_t)((key * 0x9E3779B97F4A7C15u) >> (64 - ws.pc_bits));

		if (ws.pc[slot].key != key) {
			ws.pc[slot].key = key;
			if (!pair_rank(m, fl, s, st, span, ws.id[l], ws.id[r], &ws.pc[slot].rank,
			               &ws.pc[slot].merged))
				ws.pc[slot].rank = UINT32_MAX;
		}
		*rank = ws.pc[slot].rank;
		*merged = ws.pc[slot].merged;
		return *rank != UINT32_MAX;
	}
	return pair_rank(m, fl, s, st, span, ws.id[l], ws.id[r], rank, merged) &&
	       *rank != UINT32_MAX;
}

/* Push the merge of symbol l with its right neighbour, if there is one. */
static void
try_pair(const tk_bpe *m, const tk_fastmap *f, const char *s, int32_t l)
{
	int32_t r = ws.next[l], merged;
	uint32_t rank;

	if (ws.bmode) {
		if (ws.bpv[l] != BQ_OFF)
			bq_unlink((uint32_t)l);
	} else {
		ws.prank[l] = UINT32_MAX;
	}
	if (r < 0 || !pair_at(m, f, s, l, r, &rank, &merged))
		return;
	ws.pmerged[l] = merged;
	if (ws.bmode) {
		bq_link(rank, (uint32_t)l);
		return;
	}
	ws.prank[l] = rank;
	heap_push((uint64_t)rank << 32 | (uint32_t)l);
}

/* The pair at l is still the one pushed with rank r: l not merged away
 * (prev -2), its right neighbour still there and its rank unchanged (a
 * span only grows, so a changed pair never gets its old rank back). */
static inline int
current(int32_t l, uint32_t r)
{
	return ws.prev[l] != -2 && ws.next[l] >= 0 && ws.prank[l] == r;
}

static void
edge_put(edge *e, int32_t id)
{
	if (e->n && e->n <= EDGE_MAX)
		e->top[e->n - 1] = e->run;
	if (e->n < EDGE_MAX)
		e->id[e->n] = id;
	if (e->n <= EDGE_MAX)
		e->n++;
	e->run = -1;
}

/* Symbol l has just merged at rank: note what the word's edges became. */
static void
edge_note(int32_t l, uint32_t rank)
{
	if (ws.hf->run < (int64_t)rank)
		ws.hf->run = rank;
	if (ws.hl->run < (int64_t)rank)
		ws.hl->run = rank;
	if (l == 0)
		edge_put(ws.hf, ws.id[l]);
	if (ws.next[l] < 0)
		edge_put(ws.hl, ws.id[l]);
}

/* Merge symbol l with its right neighbour and push the two new pairs. */
static void
merge_at(const tk_bpe *m, const tk_fastmap *f, const char *s, int32_t l)
{
	int32_t r = ws.next[l];

	if (ws.bmode && ws.bpv[r] != BQ_OFF)
		bq_unlink((uint32_t)r);
	ws.id[l] = ws.pmerged[l];
	if (ws.en)
		ws.en[l] = ws.en[r];
	ws.next[l] = ws.next[r];
	if (ws.next[r] >= 0)
		ws.prev[ws.next[r]] = l;
	ws.prev[r] = -2;
	if (ws.prev[l] >= 0)
		try_pair(m, f, s, ws.prev[l]);
	try_pair(m, f, s, l);
}

/* Take the buckets lowest rank first, each in position order; every
 * symbol in a bucket merges (and leaves it: its pair changes); hist:
 * note the word's edges (a constant where bq_run calls it). */
static inline __attribute__((always_inline)) void
bq_walk(const tk_bpe *m, const tk_fastmap *f, const char *s, int hist)
{
	while (ws.rhn && !ws.berr) {
		uint32_t r = rh_pop(), l;

		ws.binh[r] = 0;
		if (ws.bhead[r] == BQ_NIL)
			continue;
		if (ws.bdirty[r])
			bq_sort(r);
		ws.bcur = r;
		ws.bint = 0;
		for (l = ws.bhead[r]; l != BQ_NIL && !ws.bint; l = ws.wnext) {
			ws.wnext = bq_next(l);
			merge_at(m, f, s, (int32_t)l);
			if (hist)
				edge_note((int32_t)l, r);
		}
		if (ws.bhead[r] != BQ_NIL && !ws.binh[r]) {
			ws.binh[r] = 1;
			rh_push(r);
		}
	}
	ws.bcur = 0;
	ws.wnext = BQ_NIL;
}

static void
bq_run(const tk_bpe *m, const tk_fastmap *f, const char *s)
{
	if (ws.hf)
		bq_walk(m, f, s, 1);
	else
		bq_walk(m, f, s, 0);
}

/* Returns k + 1 (k, ws.oom set, when out of memory). */
static inline size_t
add_sym(size_t k, int32_t id, size_t a, size_t b)
{
	if (!ws.en && k && a != ws.wend && ws_ends(k)) {
		ws.oom = 1;
		return k;
	}
	ws.id[k] = id;
	ws.st[k] = (uint32_t)a;
	if (ws.en)
		ws.en[k] = (uint32_t)b;
	ws.wend = (uint32_t)b;
	return k + 1;
}

/* The word's first symbols: a byte each (byte-level, ranks) or a
 * character each (its byte-fallback bytes, <unk>); *uk set when a byte
 * became <unk>.  Returns their number (ws.oom set when out of memory). */
static size_t
add_syms(const tk_bpe *m, const char *s, size_t n, int *uk)
{
	size_t k = 0, i;

	if (m->byte_level || m->ranks) {
		for (i = 0; i < n; i++) {
			int32_t id = m->byte_id[(unsigned char)s[i]];

			if (id < 0)
				id = m->unk, *uk = 1;
			if (id >= 0)
				k = add_sym(k, id, i, i + 1);
		}
	} else {
		int32_t unk_id = -1;
		size_t unk_a = 0, unk_b = 0;
		int len;

		for (i = 0; i < n; i += (size_t)len) {
			int32_t id;

			ut_utf8_dec((const unsigned char *)s + i, n - i, &len);
			id = ut_strmap_get(&m->vocab, s + i, (size_t)len);
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
	return k;
}

/* A short word of byte symbols, BPE_SMALL bytes at most: the pair of
 * lowest (rank, position) merges first, as with the heap, found by a scan
 * of the pairs' ranks in a small array (tiktoken's method): for a few
 * symbols the scan costs less than keeping a heap, and a merge looks up
 * only the two pairs it changes.  Returns 1 when the word is not one
 * (a byte without a symbol), leaving o as it was. */
#define BPE_SMALL 48

static inline uint32_t
small_rank(const tk_bpe *m, const tk_fastmap *f, const tk_flat *fl, const char *s,
           const uint32_t *st, const int32_t *id, size_t i, int32_t *merged)
{
	size_t a = st[i], span = st[i + 2] - a;
	uint32_t rank;

	if (f && span == 2) {
		unsigned i2 = (unsigned char)s[a] | (unsigned)(unsigned char)s[a + 1] << 8;
		int32_t v = f->r2[i2];

		if (v == -1)
			return UINT32_MAX;
		if (v >= 0) {
			*merged = m->ranks ? v : f->m2[i2];
			return (uint32_t)v;
		}
	}
	if (!pair_rank(m, fl, s, a, span, id[i], id[i + 1], &rank, merged))
		return UINT32_MAX;
	return rank;
}

static int
bpe_small(const tk_bpe *m, const tk_fastmap *f, const char *s, size_t n, tk_out *o)
{
	const tk_flat *fl = f ? __atomic_load_n(&f->flat, __ATOMIC_ACQUIRE) : NULL;
	uint32_t st[BPE_SMALL + 1], rk[BPE_SMALL];	/* symbol i is s[st[i], st[i + 1]) */
	int32_t id[BPE_SMALL], mg[BPE_SMALL];		/* rk[i], mg[i]: the pair i, i + 1 */
	size_t k = n, i, b;

	for (i = 0; i < n; i++) {
		if ((id[i] = m->byte_id[(unsigned char)s[i]]) < 0)
			return 1;
		st[i] = (uint32_t)i;
	}
	st[n] = (uint32_t)n;
	for (i = 0; i + 1 < k; i++)
		rk[i] = small_rank(m, f, fl, s, st, id, i, &mg[i]);
	while (k > 1) {
		uint32_t best = rk[0];

		for (b = 0, i = 1; i + 1 < k; i++)
			if (rk[i] < best)
				best = rk[i], b = i;
		if (best == UINT32_MAX)
			break;
		/* symbol b takes b + 1: the arrays close over b + 1 */
		id[b] = mg[b];
		memmove(st + b + 1, st + b + 2, (k - b - 1) * sizeof *st);
		memmove(id + b + 1, id + b + 2, (k - b - 2) * sizeof *id);
		memmove(rk + b + 1, rk + b + 2, (k - b - 2) * sizeof *rk);
		memmove(mg + b + 1, mg + b + 2, (k - b - 2) * sizeof *mg);
		k--;
		if (b > 0)
			rk[b - 1] = small_rank(m, f, fl, s, st, id, b - 1, &mg[b - 1]);
		if (b + 1 < k)
			rk[b] = small_rank(m, f, fl, s, st, id, b, &mg[b]);
	}
	for (i = 0; i < k; i++)
		if (tk_out_push(o, id[i], st[i], st[i + 1]))
			return -1;
	return 0;
}

/* The backtracking tables of a ranks or byte-level vocabulary, once the
 * words merged by ranks or merges would have paid for building them (some 900 instructions a token
 * of the vocabulary): by ranks a short word costs some 200 instructions a
 * byte, by backtracking 100 less; a long one twice that, and 350 less.
 * So after 8 bytes of short words a token, long ones weighing 4, or at
 * once for a word of more than 4 KB; counted per thread once the flat
 * tables are built (bpe_fast.c: after many pieces the cache missed, when
 * a mapped cache has been checked).  Where the compiled cache holds them
 * (tok_cache.c), they are mapped at the first word: that costs nothing. */
static __thread size_t bt_bytes;

static const tk_bt *
bt_for(const tk_bpe *m, const tk_fastmap *f, size_t n)
{
	const tk_bt *bt = __atomic_load_n(&f->bt, __ATOMIC_ACQUIRE);

	if (bt || __atomic_load_n(&f->bt_tried, __ATOMIC_ACQUIRE))
		return bt;
	if (f->bt_img)
		return tk_fastmap_bt(m);
	if (!__atomic_load_n(&f->flat, __ATOMIC_ACQUIRE))
		return NULL;
	bt_bytes += n > BPE_SMALL ? 4 * n : n;
	if (bt_bytes < 8 * m->vocab.n && n <= 4096)
		return NULL;
	return tk_fastmap_bt(m);
}

/* ---- a long word of SentencePiece-style BPE ----
 * The Metaspace marker U+2581 starts each word and the pre-tokenizer does
 * not split, so a document is one word.  When no merge joins a token not
 * ending in the marker to one starting with it, no merge ever crosses the
 * start of a run of markers that follows another character: the word
 * merges as its parts cut there do, each alone (BPE takes pairs in (rank,
 * position) order, and the pairs of one part never change another's). */
size_t tk_bpe_split_min = (size_t)1 << 19;	/* cut into parts of half this */
static const char mark[3] = { '\xe2', '\x96', '\x81' };

static int
mark_at(const char *s, size_t n)
{
	return n >= 3 && !memcmp(s, mark, 3);
}

/* Whether m's words may be cut before a marker that follows another
 * character: 1 yes, 0 no, -1 out of memory. */
static int
split_safe(const tk_bpe *m)
{
	const ut_strmap *v = &m->vocab;
	size_t i, top = 0;
	uint8_t *fl;	/* per id: 1 its string starts with the marker, 2 ends with it */
	int ok = 1;

	if (m->byte_level || m->ranks || m->ignore_merges || m->cont_prefix || m->eow_suffix ||
	    ut_strmap_get(v, mark, 3) < 0)
		return 0;
	for (i = 0; i < v->n; i++)
		if (v->ent[i].val >= 0 && (size_t)v->ent[i].val >= top)
			top = (size_t)v->ent[i].val + 1;
	if (!(fl = calloc(top ? top : 1, 1)))
		return -1;
	for (i = 0; i < v->n; i++) {
		const char *k = v->pool + v->ent[i].koff;
		size_t kn = v->ent[i].klen;

		if (v->ent[i].val >= 0)
			fl[v->ent[i].val] = (uint8_t)(mark_at(k, kn) | (kn >= 3 && mark_at(k + kn - 3, 3)) << 1);
	}
	for (i = 0; ok && m->merges.n && i <= m->merges.mask; i++) {
		uint64_t key = m->merges.key[i];
		uint32_t a, b;

		if (!key--)
			continue;
		a = (uint32_t)(key >> 32);
		b = (uint32_t)key;
		/* an id without a string: as if it could cross */
		if ((b >= top || (fl[b] & 1)) && (a >= top || !(fl[a] & 2)))
			ok = 0;
	}
	free(fl);
	return ok;
}

/* Hand o's tokens [from, to) on (o->hand), as final: o keeps the rest. */
static int
hand_on(tk_out *o, size_t from, size_t to)
{
	size_t k = to - from, rest = o->n - to;

	if (!o->hand || !k)
		return 0;
	if (o->hand->put(o->hand, o, from, to))
		return -1;
	o->hand->handed += k;
	memmove(o->ids + from, o->ids + to, rest * sizeof *o->ids);
	memmove(o->a + from, o->a + to, rest * sizeof *o->a);
	memmove(o->b + from, o->b + to, rest * sizeof *o->b);
	o->n -= k;
	return 0;
}

/* Merge the part s[a, b) of a word into o, its tokens' spans in s: final
 * parts, handed on (o->hand) when done or as its own parts are. */
static int
split_part(const tk_bpe *m, const tk_fastmap *f, int32_t gen, const char *s, size_t a, size_t b,
           tk_out *o)
{
	size_t o0 = o->n, j;

	if (o->hand)
		o->hand->at += a;
	if (tk_bpe_encode_f(m, f, gen, s + a, b - a, o))
		return -1;
	if (o->hand)
		o->hand->at -= a;
	for (j = o0; j < o->n; j++)
		o->a[j] += (uint32_t)a, o->b[j] += (uint32_t)a;
	return hand_on(o, o0, o->n);
}

/* Encode s[0, n) a part at a time, cut (split_safe) at the first cut
 * point half tk_bpe_split_min bytes or more past the last cut; the parts' spans
 * made the word's. */
static int
bpe_split(const tk_bpe *m, const tk_fastmap *f, int32_t gen, const char *s, size_t n, tk_out *o)
{
	size_t a = 0, i = 0;
	const char *p;

	/* the parts share the pair table: as the words of one te_tok (gen),
	 * or of this word alone (-1, made afresh by its first part) */
	if (!gen) {
		gen = -1;
		ws.pc_gen = 0;
	}
	/* a byte 0xe2 is no continuation byte: it starts a character (one
	 * of one byte when not valid UTF-8), as add_syms reads them */
	while ((p = memchr(s + i, mark[0], n - i))) {
		i = (size_t)(p - s);
		if (i - a >= tk_bpe_split_min / 2 && mark_at(p, n - i) && !mark_at(p - 3, 3)) {
			if (split_part(m, f, gen, s, a, i, o))
				return -1;
			a = i;
		}
		i++;
	}
	if (a == 0)
		return 1;
	return split_part(m, f, gen, s, a, n, o) ? -1 : 0;
}

/* ---- a long word cut where no merge crosses ----
 * A word of SentencePiece-style BPE that no marker cuts (a run of one
 * letter, base64, a text whose merges cross its markers) is merged a part
 * at a time all the same, cut where no merge can cross.  Merged alone,
 * the left part's last symbol takes the ids x_i in turn, the right part's
 * first one y_j; let tx_i (ty_j) be the highest rank merged in that part
 * while it held x_i (y_j), its own last merge included, unbounded for
 * the last id.  Until a merge crosses the cut the parts merge as they
 * would alone, each taking its pairs lowest (rank, position) first; the
 * first to cross, of rank r, is taken when every pair left in the left
 * part ranks above r (they all lie before it) and every one in the right
 * part at r or above: the left part then holds an x_i with r < tx_i, the
 * right a y_j with r <= ty_j.  So when no such pair (x_i, y_j) is a merge
 * of such a rank, none crosses, and the word's tokens are its parts'
 * (tested against the whole-word merge in t/unit/test-bpe-split.c).  A
 * cut is chosen with windows of EDGE_WIN bytes on either side standing
 * for the parts, then checked on the parts themselves; a word where that
 * keeps failing is merged whole. */
#define EDGE_WIN 1024
int tk_bpe_cut_tries = 64;

/* Whether a merge may cross between x, the left part's last symbol, and
 * y, the right part's first (see above): 0 none can. */
static int
edge_cross(const tk_bpe *m, const edge *x, const edge *y)
{
	int i, j;

	if (x->n > EDGE_MAX || y->n > EDGE_MAX || !x->n || !y->n)
		return 1;
	for (i = 0; i < x->n; i++)
		for (j = 0; j < y->n; j++) {
			uint32_t rank;
			int32_t merged;
			int64_t xt = i + 1 < x->n ? x->top[i] : INT64_MAX;
			int64_t yt = j + 1 < y->n ? y->top[j] : INT64_MAX;

			if (tk_pairmap_get(&m->merges, x->id[i], y->id[j], &rank, &merged) &&
			    (int64_t)rank < xt && (int64_t)rank <= yt)
				return 1;
		}
	return 0;
}

/* The character at s[i, n): its length; *known whether the vocabulary has
 * it or its bytes (not <unk>, which may fuse with its neighbour). */
static size_t
char_at(const tk_bpe *m, const char *s, size_t n, size_t i, int *known)
{
	int len;

	ut_utf8_dec((const unsigned char *)s + i, n - i, &len);
	*known = ut_strmap_get(&m->vocab, s + i, (size_t)len) >= 0;
	if (!*known && m->byte_fallback) {
		int j;

		*known = 1;
		for (j = 0; j < len; j++)
			if (m->byte_id[(unsigned char)s[i + j]] < 0)
				*known = 0;
	}
	return (size_t)len;
}

/* Where the walk of a part's characters (add_syms' reading of s from a)
 * has got to: j a character's start, k whether the one before it is
 * known.  Cuts are asked for at rising places, so the walk resumes. */
typedef struct cutcur {
	size_t a, j;
	int k;
} cutcur;

/* The first place at or past i (a character's start, as add_syms reads
 * s from cc->a) between two characters the vocabulary has: n when none
 * before the last half part.  i rises from call to call for one a. */
static size_t
cut_from(const tk_bpe *m, const char *s, size_t n, cutcur *cc, size_t i)
{
	size_t j = cc->j, len;
	int k0 = cc->k, k1;

	for (; j < n; j += len) {
		len = char_at(m, s, n, j, &k1);
		if (j >= i && j > cc->a && k0 && k1)
			break;
		k0 = k1;
	}
	cc->j = j;
	cc->k = k0;
	return n - j < tk_bpe_split_min / 4 ? n : j;
}

/* The end of the window of EDGE_WIN bytes or so from c, a character's
 * end as add_syms reads s from c. */
static size_t
win_end(const char *s, size_t n, size_t c)
{
	size_t e = c;
	int len;

	while (e < n && e - c < EDGE_WIN) {
		ut_utf8_dec((const unsigned char *)s + e, n - e, &len);
		e += (size_t)len;
	}
	return e;
}

/* Merge s[a, b) alone, its tokens appended to o (spans in s), the
 * histories of its edges in hf, hl. */
static int
edge_part(const tk_bpe *m, const tk_fastmap *f, int32_t gen, const char *s, size_t a, size_t b,
          tk_out *o, edge *hf, edge *hl)
{
	size_t o0 = o->n, j;
	int r;

	hf->n = hl->n = 0;
	ws.hf = hf;
	ws.hl = hl;
	r = tk_bpe_encode_f(m, f, gen, s + a, b - a, o);
	ws.hf = ws.hl = NULL;
	for (j = o0; j < o->n; j++)
		o->a[j] += (uint32_t)a, o->b[j] += (uint32_t)a;
	return r;
}

/* From *c on, the first cut (cut_from) where the window of EDGE_WIN bytes
 * before it and the one after it find no merge crossing (e[2] the
 * history of the first symbol of the one after; e[0], e[1] scratch),
 * tried at most tk_bpe_cut_tries times in all (tries so far): the tries made,
 * or -1 when out of memory. */
static int
cut_try(const tk_bpe *m, const tk_fastmap *f, int32_t gen, const char *s, size_t n, cutcur *cc,
        size_t *c, int tries, tk_out *o, edge *e)
{
	size_t on = o->n, a = cc->a, w;

	for (; *c < n && tries <= tk_bpe_cut_tries; tries++, *c = cut_from(m, s, n, cc, *c + 1)) {
		w = *c - a > EDGE_WIN ? *c - EDGE_WIN : a;
		while (w > a && ((unsigned char)s[w] & 0xc0) == 0x80)
			w--;
		if (edge_part(m, f, gen, s, w, *c, o, &e[0], &e[1]) ||
		    edge_part(m, f, gen, s, *c, win_end(s, n, *c), o, &e[2], &e[0]))
			return -1;
		o->n = on;
		if (!edge_cross(m, &e[1], &e[2]))
			break;
	}
	return tries;
}

/* A cut that failed after parts were handed on: the rest of the word,
 * s[af, n), merged whole after the parts before af (handed on, the first
 * firm of them) when no merge can cross af (ef: the history of the last
 * symbol of the part before it): 0 done, its tokens appended to o, 1 a
 * merge may cross (o as it was), -1 out of memory. */
static int
cut_tail(const tk_bpe *m, const tk_fastmap *f, int32_t gen, const char *s, size_t n, tk_out *o,
         size_t af, const edge *ef, size_t firm)
{
	size_t o0 = o->n;
	edge hf, hl;

	if (edge_part(m, f, gen, s, af, n, o, &hf, &hl))
		return -1;
	if (edge_cross(m, ef, &hf)) {
		o->n = o0;
		return 1;
	}
	if (o->hand->handed > firm) {
		o->hand->undo(o->hand, firm);
		o->hand->handed = firm;
	}
	return 0;
}

/* Encode s[0, n) in parts cut as above: 0 done, 1 not cut (o as it was),
 * -1 out of memory.  Handed on (o->hand), a part is firm once the one
 * after the next is merged: a cut that then fails has the rest of the
 * word merged whole after it (cut_tail), or, where a merge may cross
 * there, the whole word (the tokens handed on taken back). */
static int
bpe_cut(const tk_bpe *m, const tk_fastmap *f, int32_t gen, const char *s, size_t n, tk_out *o)
{
	size_t o0 = o->n, a = 0, c, on, half = tk_bpe_split_min / 2;
	tk_hand *h = o->hand;
	size_t handed0 = h ? h->handed : 0, firm0 = h ? h->firm : 0, ap = 0, af = 0;
	edge e[3], sc[3], *lf = &e[0], *ll = &e[1], *pl = &e[2], *wf = &sc[2], *t;
	edge ppl, ef;		/* the last symbols' histories before ap, af */
	int tries, have_prev = 0, r;
	cutcur cc;

	if (!gen) {
		gen = -1;
		ws.pc_gen = 0;
	}
	if (h && handed0 < firm0)
		h->firm = handed0;	/* what it hands on may be taken back */
	while (a < n) {
		cc.a = cc.j = a;
		cc.k = 0;
		c = cut_from(m, s, n, &cc, a + half);
		for (tries = 0;; tries++) {
			if (tries > tk_bpe_cut_tries)
				goto whole;
			/* a cut the windows on either side of it find good */
			if (c < n && (tries = cut_try(m, f, gen, s, n, &cc, &c, tries, o, sc)) < 0)
				return -1;
			if (tries > tk_bpe_cut_tries)
				goto whole;
			on = o->n;
			if (edge_part(m, f, gen, s, a, c, o, lf, ll))
				return -1;
			if (have_prev && edge_cross(m, pl, lf))
				goto whole;
			/* the parts before this one are final; those before
			 * the one before it firm */
			if (h && ap && ap > af) {
				h->firm = h->handed < firm0 ? h->handed : firm0;
				af = ap;
				ef = ppl;
			}
			if (hand_on(o, o0, on))
				return -1;
			on = o0;
			if (c == n || !edge_cross(m, ll, wf))
				break;
			o->n = on;
			c = cut_from(m, s, n, &cc, c + 1);
		}
		if (have_prev)
			ppl = *pl;
		t = pl, pl = ll, ll = t;
		have_prev = 1;
		ap = a;
		a = c;
	}
	if (h)
		h->firm = firm0;
	return 0;
whole:
	o->n = o0;
	if (h && af && (r = cut_tail(m, f, gen, s, n, o, af, &ef, h->firm)) <= 0) {
		h->firm = firm0;
		return r;
	}
	if (h) {
		h->firm = firm0;
		if (h->handed > handed0) {
			h->undo(h, handed0);
			h->handed = handed0;
		}
	}
	return 1;
}

int
tk_bpe_encode(const tk_bpe *m, const char *s, size_t n, tk_out *o)
{
	return tk_bpe_encode_f(m, NULL, 0, s, n, o);
}

int
tk_bpe_encode_f(const tk_bpe *m, const tk_fastmap *f, int32_t gen, const char *s, size_t n,
                tk_out *o)
{
	size_t k = 0, i;
	int uk = 0;		/* a byte became <unk> */
	int heap_only = 0;	/* buckets met a rank past tk_bpe_bq_rank_max */
	int hist = ws.hf != NULL;	/* a part of a long word (bpe_cut) */
	int32_t l;

	if (!n)
		return 0;
	if (m->ignore_merges) {
		const tk_flat *fl = f ? __atomic_load_n(&f->flat, __ATOMIC_ACQUIRE) : NULL;
		int32_t id = fl ? tk_fv_get(fl, s, n) : ut_strmap_get(&m->vocab, s, n);

		if (id >= 0)
			return tk_out_push(o, id, 0, n);
	}
	if ((m->ranks || m->byte_level) && f && tk_bpe_bq_min > 2) {
		const tk_bt *bt = bt_for(m, f, n);
		int r = bt ? tk_bt_encode(bt, s, n, o) : 1;

		if (r <= 0)
			return r;
	}
	if ((m->byte_level || m->ranks) && n <= BPE_SMALL && n < tk_bpe_bq_min) {
		int r = bpe_small(m, f, s, n, o);

		if (r <= 0)
			return r;
	}
	if (n >= tk_bpe_split_min && !m->byte_level && !m->ranks && !ws.hf) {
		int r = split_safe(m);

		/* cut and done (0), not cut (1), out of memory (-1) */
		r = r > 0 ? bpe_split(m, f, gen, s, n, o) : r < 0 ? -1 : 1;
		if (r <= 0)
			return r;
		if (!m->ignore_merges && !m->cont_prefix && !m->eow_suffix &&
		    (r = bpe_cut(m, f, gen, s, n, o)) <= 0)
			return r;
	}
	if (ws_reserve(n + 1))
		return -1;
again:
	k = 0;
	uk = 0;
	ws.en = NULL;
	ws.wend = 0;
	ws.oom = 0;
	k = add_syms(m, s, n, &uk);
	if (ws.oom)
		return -1;
	ws.nsym = k;
	if (ws.hf) {
		ws.hf->n = ws.hl->n = 0;
		if (k)
			edge_put(ws.hf, ws.id[0]), edge_put(ws.hl, ws.id[k - 1]);
	}
	for (i = 0; i < k; i++) {
		ws.prev[i] = (int32_t)i - 1;
		ws.next[i] = i + 1 < k ? (int32_t)i + 1 : -1;
		ws.prank[i] = UINT32_MAX;
	}
	ws.hn = 0;
	if (k > 1) {
		if (k >= tk_bpe_bq_min && k < BQ_TAG && !heap_only) {
			ws.bmode = 1;
			ws.pc_on = !(m->ranks && uk);
			/* the pair table: for one word (gen 0) about its size,
			 * for the words of one te_tok (gen) kept until another's */
			if (ws.pc_on && (!gen || gen != ws.pc_gen)) {
				ws.pc_bits = gen ? PC_BITS : k < 256 ? 8 : k < 1024 ? 10 : PC_BITS;
				ws.pc_gen = gen;
				memset(ws.pc, 0xff, sizeof *ws.pc << ws.pc_bits);
			}
			ws.rhn = 0;
			ws.berr = 0;
			ws.wnext = BQ_NIL;
		} else if (ws_heap(k)) {
			return -1;
		}
		for (i = 0; i + 1 < k; i++)
			try_pair(m, f, s, (int32_t)i);
		if (ws.bmode)
			bq_run(m, f, s);
		while (ws.hn) {
			uint64_t key = HP[0];

			heap_pop();
			l = (int32_t)(uint32_t)key;
			if (current(l, (uint32_t)(key >> 32))) {
				merge_at(m, f, s, l);
				if (hist)
					edge_note(l, (uint32_t)(key >> 32));
			}
		}
		if (ws.bmode) {
			ws.bmode = ws.pc_on = 0;
			if (ws.berr) {
				for (i = 0; i < ws.nr; i++)
					ws.bhead[i] = BQ_NIL, ws.binh[i] = 0;
				if (ws.berr == 1)
					return -1;
				heap_only = 1;
				goto again;
			}
		}
	}
	for (l = k ? 0 : -1; l >= 0; l = ws.next[l])
		if (tk_out_push(o, ws.id[l], ws.st[l], sym_end(l)))
			return -1;
	if (ws.blk_mapped)
		ws_let_go();
	return 0;
}

/* m->fast is bpe_fast.c's to free (tk_fastmap_free, before this). */
void
tk_bpe_release(tk_bpe *m)
{
	ut_strmap_release(&m->vocab);
	tk_pairmap_release(&m->merges);
	free(m->cont_prefix);
	free(m->eow_suffix);
}
