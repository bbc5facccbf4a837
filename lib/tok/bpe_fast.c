/* bpe_fast.c: the encode path of the tokenizers most used (tiktoken files,
 * and tokenizer.json byte-level BPE whose pre-tokenizer is one of the split
 * patterns scanned by hand: GPT-2, cl100k/Llama-3, Qwen2, o200k).  The
 * scanner feeds the model directly, without the work string's piece arrays,
 * and a per-thread piece cache answers most pieces: in text, most
 * pre-tokens recur, and a cache hit costs one short hash and two compares.
 * Misses go to a whole-piece vocabulary hit where the model allows it
 * (tiktoken ranks and ignore_merges take a piece found in the vocabulary
 * whole), then to BPE (bpe.c). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

/* ------------------------------------------------- the flat tables */

static size_t
pow2_at_least(size_t n)
{
	size_t k = 16;

	while (k < n)
		k *= 2;
	return k;
}

static void
flat_free(tk_flat *f)
{
	if (!f)
		return;
	free(f->v);
	free(f->p);
	free(f);
}

static tk_flat *
flat_build(const tk_bpe *m)
{
	const ut_strmap *v = &m->vocab;
	tk_flat *f = calloc(1, sizeof *f);
	size_t i, j;

	if (!f || v->n >= 0xffffffu)
		goto fail;
	f->vocab = v;
	if (!m->ranks && !m->ignore_merges)
		goto pairs;	/* whole pieces are never looked up */
	f->vmask = pow2_at_least(v->n * 2 + 1) - 1;
	if (!(f->v = calloc(f->vmask + 1, sizeof *f->v)))
		goto fail;
	for (i = 0; i < v->n; i++) {
		const char *k = v->pool + v->ent[i].koff;
		size_t n = v->ent[i].klen;
		uint64_t k0;

		if (!n)
			continue;
		k0 = tk_load8(k, n);
		for (j = tk_vhash(k0, k, n) & f->vmask; f->v[j].meta; j = (j + 1) & f->vmask)
			;
		f->v[j].k0 = k0;
		f->v[j].val = v->ent[i].val;
		f->v[j].meta = (uint32_t)(n < 255 ? n : 255) << 24 | (uint32_t)(i + 1);
	}
pairs:
	if (m->ranks)
		return f;	/* ranks are looked up as strings */
	f->pmask = pow2_at_least(m->merges.n * 2 + 1) - 1;
	if (!(f->p = calloc(f->pmask + 1, sizeof *f->p)))
		goto fail;
	for (i = 0; m->merges.n && i <= m->merges.mask; i++) {
		uint64_t k = m->merges.key[i];

		if (!k)
			continue;
		for (j = tk_pair_hash(k) & f->pmask; f->p[j].key; j = (j + 1) & f->pmask)
			;
		f->p[j].key = k;
		f->p[j].rank = m->merges.rank[i];
		f->p[j].merged = m->merges.merged[i];
	}
	return f;
fail:
	flat_free(f);
	return NULL;
}

/* The two-byte table: 65536 entries, from the vocabulary's two-byte
 * strings (ranks) or the merges of two byte symbols. */
static tk_fastmap *
fastmap_build(const tk_bpe *m)
{
	tk_fastmap *f = calloc(1, sizeof *f);
	size_t i;

	if (!f || !(f->r2 = malloc(65536 * sizeof *f->r2)))
		goto fail;
	if (m->ranks) {
		for (i = 0; i < 65536; i++)
			f->r2[i] = -1;
		for (i = 0; i < m->vocab.n; i++) {
			const ut_sment *en = &m->vocab.ent[i];
			const unsigned char *k = (const unsigned char *)m->vocab.pool + en->koff;

			if (en->klen == 2)
				f->r2[k[0] | k[1] << 8] = en->val;
		}
		return f;
	}
	if (!(f->m2 = malloc(65536 * sizeof *f->m2)))
		goto fail;
	for (i = 0; i < 65536; i++) {
		int32_t a = m->byte_id[i & 255], b = m->byte_id[i >> 8], merged;
		uint32_t rank;

		f->r2[i] = -1;
		if (a < 0 || b < 0)
			f->r2[i] = -2;	/* the symbols are not the bytes' */
		else if (tk_pairmap_get(&m->merges, a, b, &rank, &merged))
			f->r2[i] = rank <= 0x7fffffffu ? (int32_t)rank : -2, f->m2[i] = merged;
	}
	return f;
fail:
	tk_fastmap_free(f);
	return NULL;
}

void
tk_fastmap_free(tk_fastmap *f)
{
	if (!f)
		return;
	free(f->r2);
	free(f->m2);
	tk_bt_free(f->bt);
	flat_free(f->flat);
	free(f);
}

static pthread_mutex_t fast_mu = PTHREAD_MUTEX_INITIALIZER;

/* Built lazily: a te_tok is shared, read-only, by the encoding threads,
 * and these tables are derived from it, so the first one to need them
 * builds them. */
const tk_fastmap *
tk_fastmap_get(const tk_bpe *m)
{
	tk_fastmap *f = __atomic_load_n(&m->fast, __ATOMIC_ACQUIRE);

	if (f)
		return f;
	pthread_mutex_lock(&fast_mu);
	if (!(f = m->fast) && (f = fastmap_build(m)))
		__atomic_store_n(&((tk_bpe *)m)->fast, f, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fast_mu);
	return f;
}

const tk_flat *
tk_fastmap_flat(const tk_bpe *m)
{
	tk_fastmap *f = (tk_fastmap *)tk_fastmap_get(m);
	tk_flat *fl;

	if (!f)
		return NULL;
	if ((fl = __atomic_load_n(&f->flat, __ATOMIC_ACQUIRE)))
		return fl;
	if (tk_cache_verify_merges(m))
		return NULL;	/* they are built from the merges */
	pthread_mutex_lock(&fast_mu);
	if (!(fl = f->flat) && (fl = flat_build(m)))
		__atomic_store_n(&f->flat, fl, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fast_mu);
	return fl;
}

/* Built at the first call, or mapped from the compiled cache's image
 * (NULL where it does not apply, or the image is unsound: then never tried
 * again; BPE by ranks gives the same tokens). */
const tk_bt *
tk_fastmap_bt(const tk_bpe *m)
{
	tk_fastmap *f = (tk_fastmap *)tk_fastmap_get(m);
	const tk_flat *fl = NULL;
	tk_bt *b;

	if (!f || (!f->bt_img && !(fl = tk_fastmap_flat(m))))
		return NULL;
	if (__atomic_load_n(&f->bt_tried, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&f->bt, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&fast_mu);
	if (!f->bt_tried) {
		b = f->bt_img ? tk_bt_map(f->bt_img, f->bt_img_n, (uint32_t)m->vocab.n)
		              : tk_bt_build(m, fl);
		__atomic_store_n(&f->bt, b, __ATOMIC_RELEASE);
		__atomic_store_n(&f->bt_tried, 1, __ATOMIC_RELEASE);
	}
	b = f->bt;
	pthread_mutex_unlock(&fast_mu);
	return b;
}

/* Sets of two 64-byte entries (the newest first); a key is a piece of at
 * most 16 bytes.  Pieces are scanned PC_BATCH ahead, their sets prefetched
 * (64: each batch's loops end, mispredicted, and the scan's window is made
 * again, a quarter as often as at 16; cl100k prose, cachegrind: 2.51M ->
 * 2.38M mispredicts, 362M -> 348M instructions). */
#define PC_BITS 16
#define PC_KEY 16
#define PC_IDS 8
#define PC_BATCH 64
#define PC_SIZE (((size_t)1 << PC_BITS) * sizeof(pc_ent))
#define PC_ALIGN ((size_t)2 << 20)
#define LC_SIZE (((size_t)1 << LC_BITS) * sizeof(lc_ent))
/* pcache then lcache, the lcache in a 2 MiB page of its own (1 MiB used):
 * in 4 KiB pages each of its pages was two faults, its first read and then
 * its first write (cl100k, 2 MB of prose: 202 of the process's 763). */
#define PC_MAP (PC_SIZE + PC_ALIGN)
#define PC_BUILD_AFTER 16384
#define PC_BUILD_AFTER_MAPPED 262144
/* New words before the backtracking tables are read whole (tk_bt_warm):
 * a text of many new words gains some tenth (cl100k, o200k, 2 MB of
 * prose, code or multilingual text, task-clock; 256 better than 1024 or
 * 4096), one of few (a line, a run without a space) pays nothing. */
#define PC_WARM_AFTER 256
typedef struct pc_ent {
	uint64_t k0, k1;               /* the piece, zero-padded */
	int32_t ids[PC_IDS];
	uint8_t len;                   /* 0: empty */
	uint8_t nids;
	uint8_t end[PC_IDS - 1];       /* end of each token but the last */
	int32_t gen;                   /* the te_tok's cache_gen */
} pc_ent;
_Static_assert(sizeof(pc_ent) == 64, "a piece cache entry is one cache line");

/* Pieces of 17 to 56 bytes (words of scripts of 2- and 3-byte characters,
 * long identifiers): a smaller direct-mapped cache of two-line entries. */
#define LC_BITS 13
#define LC_KEY 56
#define LC_IDS 12
typedef struct lc_ent {
	char key[LC_KEY];
	int32_t ids[LC_IDS];
	int32_t gen;
	uint8_t len, nids;
	uint8_t end[LC_IDS - 1];
	uint8_t pad[7];
} lc_ent;
_Static_assert(sizeof(lc_ent) == 128, "a long piece cache entry is two cache lines");

/* Pieces of 57 to 512 bytes (rulers of '=' or '~' in code and text, runs
 * of spaces): a direct-mapped cache of XC_SIZE, each entry allocated when
 * first used (at most 512 + 6 x 512 bytes). */
#define XC_BITS 10
#define XC_KEY 512
typedef struct xc_ent {
	char *key;
	int32_t *ids;
	uint16_t *end;                 /* end of each token but the last */
	uint32_t len, nids;
	int32_t gen;
} xc_ent;
static __thread xc_ent *xcache;

static __thread pc_ent *pcache;
static __thread lc_ent *lcache;        /* in pcache's map (PC_MAP), after it */
static __thread int32_t pcache_owner;  /* the te_tok pc_misses counts for */
static __thread size_t pc_misses;      /* work this thread sent to the model */
static __thread size_t pc_words;       /* pieces of LC_KEY bytes at most sent to it */
static __thread tk_out fout;
#define FOUT_KEEP ((size_t)8 << 20)     /* fout's bytes kept at most */

void
tk_fast_thread_free(void)
{
	ut_zero_unmap(pcache, PC_MAP);
	lcache = NULL;
	pcache = NULL;
	pcache_owner = 0;
	for (size_t i = 0; xcache && i < (1u << XC_BITS); i++) {
		free(xcache[i].key);
		free(xcache[i].ids);
		free(xcache[i].end);
	}
	free(xcache);
	xcache = NULL;
	free(fout.ids);
	free(fout.a);
	free(fout.b);
	memset(&fout, 0, sizeof fout);
}

/* The scanner when t's pre-tokenizer is a hand-scanned split whose pieces
 * go to the model as they are, else 0. */
static int
fast_scanner(const tk_pre *p)
{
	if (!p)
		return 0;
	switch (p->type) {
	case TK_P_SEQ:
		if (p->nsub == 1)
			return fast_scanner(p->sub[0]);
		/* Split then ByteLevel(use_regex: false, add_prefix_space: false),
		 * which changes nothing here (the vocabulary is in raw bytes) */
		if (p->nsub == 2 && p->sub[1]->type == TK_P_BYTELEVEL &&
		    !p->sub[1]->add_prefix_space && !p->sub[1]->use_regex &&
		    p->sub[0]->type == TK_P_SPLIT)
			return fast_scanner(p->sub[0]);
		return 0;
	case TK_P_BYTELEVEL:
		return !p->add_prefix_space && p->use_regex ? p->scanner : 0;
	case TK_P_SPLIT:
		/* the scanners' matches tile the text: Isolated keeps each match,
		 * and Removed inverted keeps each (non-)match as well */
		if (p->lit || !p->scanner)
			return 0;
		if ((p->behavior == TK_ISOLATED && !p->invert) ||
		    (p->behavior == TK_REMOVED && p->invert))
			return p->scanner;
		return 0;
	}
	return 0;
}

int
tk_fast_ok(const te_tok *t)
{
	if (t->mtype != TK_M_BPE || t->spm || !(t->bpe.byte_level || t->bpe.ranks))
		return 0;
	return fast_scanner(t->pre);
}

/* The bytes of a piece of n <= 8 bytes in a word loaded from it. */
static const uint64_t pc_mask[17] = {
	0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff,
	~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0,
	~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0,
};

/* ... and of the 8 bytes after them, of a piece of n <= 16 bytes. */
static const uint64_t pc_mask1[17] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff,
	~(uint64_t)0,
};

/* Does n (a Unicode normal form, or a sequence of them) leave ASCII text
 * as it is? */
static int
norm_keeps_ascii(const tk_norm *n)
{
	size_t i;

	if (n->type >= TK_N_NFC && n->type <= TK_N_NFKD)
		return 1;
	if (n->type != TK_N_SEQ)
		return 0;
	for (i = 0; i < n->nsub; i++)
		if (!norm_keeps_ascii(n->sub[i]))
			return 0;
	return 1;
}

static int
all_ascii(const char *s, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		uint64_t a, b, c;

		memcpy(&w, s + i, 8), memcpy(&a, s + i + 8, 8);
		memcpy(&b, s + i + 16, 8), memcpy(&c, s + i + 24, 8);
		if ((acc |= w | a | b | c) & 0x8080808080808080ULL)
			return 0;
	}
	for (; i < n; i++)
		acc |= (unsigned char)s[i];
	return !(acc & 0x8080808080808080ULL);
}

int
tk_fast_unnormalized(const te_tok *t, const char *s, size_t n)
{
	if (!t->norm)
		return 1;
	return norm_keeps_ascii(t->norm) && all_ascii(s, n);
}

static inline uint64_t
pc_hash(uint64_t k0, uint64_t k1, size_t n)
{
	uint64_t h = (k0 ^ (uint64_t)n << 59) * 0x9e3779b97f4a7c15ULL;

	h ^= (k1 + (h >> 31)) * 0xc2b2ae3d27d4eb4fULL;
	return h >> (64 - PC_BITS);
}

/* Whether c holds the piece of len bytes, key k0, k1, with no branch. */
static inline int
pc_way(const pc_ent *c, uint64_t k0, uint64_t k1, size_t len, int32_t gen)
{
	return !((c->k0 ^ k0) | (c->k1 ^ k1) | (c->len ^ len) | (uint32_t)(c->gen ^ gen));
}

/* Append a cached piece's tokens: ids[i] ends at piece byte ends[i], the
 * last at the piece's end; spans mapped back to the input as OS/OE do.
 * Always inline: out of line, a cache hit costs a call and a reload. */
static inline __attribute__((always_inline)) int
emit_cached(te_tok_enc *e, const int32_t *ids, const uint8_t *ends, size_t nids, size_t at,
            size_t end, size_t base, tk_amap *al)
{
	size_t k, st = at;

	if (tk_enc_room(e, nids))
		return -1;
	if (!e->start) {	/* ids alone */
		tk_enc_put_ids(e, ids, nids);
		return 0;
	}
	for (k = 0; k < nids; k++) {
		size_t en = k + 1 < nids ? at + ends[k] : end;

		e->ids[e->n] = ids[k];
		/* no map: each byte its own, and no lookup */
		e->start[e->n] = base + (al ? tk_amap_start(al, st) : st);
		e->end[e->n] = base + (al ? tk_amap_end(al, en - 1) : en);
		e->n++;
		st = en;
	}
	return 0;
}

/* fout (a piece of len bytes) can be cached in max ids: its tokens tile it. */
static inline int
fout_tiles(size_t len, size_t max)
{
	size_t k;

	if (!fout.n || fout.n > max || fout.b[fout.n - 1] != len || fout.a[0] != 0)
		return 0;
	for (k = 1; k < fout.n; k++)
		if (fout.a[k] != fout.b[k - 1])
			return 0;
	return 1;
}

/* Store fout's ids and inner token ends in a cache entry; returns the count. */
static inline uint8_t
fout_store(int32_t *ids, uint8_t *ends)
{
	size_t k;

	for (k = 0; k < fout.n; k++) {
		ids[k] = fout.ids[k];
		if (k + 1 < fout.n)
			ends[k] = (uint8_t)fout.b[k];
	}
	return (uint8_t)fout.n;
}

/* A piece of XC_KEY bytes at most: its cached tokens appended to e (1),
 * or 0 when not cached; -1 out of memory. */
static int
xc_get(const char *p, size_t len, uint64_t h, int32_t gen, te_tok_enc *e, size_t at, size_t base,
       tk_amap *al)
{
	xc_ent *c = xcache ? &xcache[h >> (64 - XC_BITS)] : NULL;
	size_t k, st = at;

	if (!c || c->len != len || c->gen != gen || memcmp(c->key, p, len))
		return 0;
	if (tk_enc_room(e, c->nids))
		return -1;
	if (!e->start) {	/* ids alone */
		tk_enc_put_ids(e, c->ids, c->nids);
		return 1;
	}
	for (k = 0; k < c->nids; k++) {
		size_t en = k + 1 < c->nids ? at + c->end[k] : at + len;

		e->ids[e->n] = c->ids[k];
		e->start[e->n] = base + tk_amap_start(al, st);
		e->end[e->n] = base + tk_amap_end(al, en - 1);
		e->n++;
		st = en;
	}
	return 1;
}

/* Keep fout (the tokens of the piece p) in the cache, if they tile it. */
static void
xc_put(const char *p, size_t len, uint64_t h, int32_t gen)
{
	xc_ent *c;
	size_t k;

	if (!fout_tiles(len, len) || (!xcache && !(xcache = calloc(1u << XC_BITS, sizeof *xcache))))
		return;
	c = &xcache[h >> (64 - XC_BITS)];
	if (!c->key && (!(c->key = malloc(XC_KEY)) || !(c->ids = malloc(XC_KEY * sizeof *c->ids)) ||
	                !(c->end = malloc(XC_KEY * sizeof *c->end)))) {
		free(c->key), free(c->ids), free(c->end);
		memset(c, 0, sizeof *c);
		return;
	}
	memcpy(c->key, p, len);
	for (k = 0; k < fout.n; k++) {
		c->ids[k] = fout.ids[k];
		if (k + 1 < fout.n)
			c->end[k] = (uint16_t)fout.b[k];
	}
	c->nids = (uint32_t)fout.n;
	c->len = (uint32_t)len;
	c->gen = gen;
}

/* The input span of bytes [a, b) of the work text. */
#define OS(a) (base + tk_amap_start(al, a))
#define OE(b) (base + tk_amap_end(al, (b) - 1))

/* The backtracking tables where they are at hand (mapped from the
 * compiled cache, or built), else NULL: tk_bpe_encode_f decides when to
 * build them. */
static inline const tk_bt *
bt_ready_for(const tk_bpe *m, const tk_fastmap *f)
{
	const tk_bt *bt;

	if (!f || tk_bpe_bq_min <= 2)
		return NULL;
	if ((bt = __atomic_load_n(&f->bt, __ATOMIC_ACQUIRE)) ||
	    __atomic_load_n(&f->bt_tried, __ATOMIC_ACQUIRE))
		return bt;
	return f->bt_img ? tk_fastmap_bt(m) : NULL;
}

/* The id of the n bytes s in m's vocabulary, or -1. */
static inline int32_t
vocab_id(const tk_bpe *m, const tk_flat *fl, const char *s, size_t n)
{
	uint64_t k0;

	if (!fl)
		return ut_strmap_get(&m->vocab, s, n);
	k0 = tk_load8(s, n);
	return tk_fv_get_h(fl, s, n, k0, tk_vhash(k0, s, n));
}

/* Encode one piece s[a, b) by the model into fout.  With the backtracking
 * tables, a piece that is a token is its own longest match: the whole
 * piece looked up first (tiktoken, ignore_merges) is their first step,
 * but for the tokens they leave out. */
static int
model_piece(const tk_bpe *m, const tk_fastmap *f, const tk_flat *fl, int32_t gen, const char *s,
            size_t n)
{
	const tk_bt *bt = bt_ready_for(m, f);
	int32_t id;

	fout.n = 0;
	pc_misses += 1 + n / 16;	/* a long piece is many lookups */
	pc_words += n <= LC_KEY;
	if (bt) {
		int r;

		if (m->ignore_merges && tk_bt_maybe_whole(bt, s, n) &&
		    (id = vocab_id(m, fl, s, n)) >= 0)
			return tk_out_push(&fout, id, 0, n);
		if ((r = tk_bt_encode(bt, s, n, &fout)) <= 0)
			return r;
	}
	if ((m->ranks || m->ignore_merges) && (id = vocab_id(m, fl, s, n)) >= 0)
		return tk_out_push(&fout, id, 0, n);
	if (tk_cache_verify_merges(m))
		return -1;
	return tk_bpe_encode_f(m, f, gen, s, n, &fout);
}

/* This thread's piece caches: mapped, zero pages until touched; on 2 MB
 * bounds, for huge pages where the system gives them (a few faults, not
 * 1000); so an entry is one cache line and a set two. */
static int
pcache_init(void)
{
	char *p = ut_zero_map(PC_MAP);

	if (!p)
		return -1;
	ut_huge_advise(p, PC_MAP);
	pcache = (pc_ent *)p;
	lcache = (lc_ent *)(p + PC_SIZE);
	return 0;
}

/* A piece of 57 to XC_KEY bytes: its tokens from the cache, appended to e
 * (1), or from the model into fout and cached (0); -1 out of memory. */
static int
xc_piece(const tk_bpe *m, const tk_fastmap *f, const tk_flat *fl, int32_t gen, const char *p,
         size_t len, te_tok_enc *e, size_t at, size_t base, tk_amap *al)
{
	uint64_t h = tk_vhash(tk_load8(p, len), p, len);
	int r = xc_get(p, len, h, gen, e, at, base, al);

	if (r)
		return r;
	if (model_piece(m, f, fl, gen, p, len))
		return -1;
	xc_put(p, len, h, gen);
	return 0;
}

/* What one tk_fast_encode call knows, for the pieces it does not take
 * from the piece cache at once. */
typedef struct fast_ctx {
	const tk_bpe *m;
	const tk_fastmap *f;
	const tk_flat *fl;         /* NULL until built */
	int32_t gen;
	size_t base;
	tk_amap *al;
	te_tok_enc *e;
} fast_ctx;

/* Append the tokens of the piece s[at, end) to x->e: from a cache (a piece
 * of PC_KEY bytes at most: key k0, k1, set c) or from the model, then
 * cached.  -1 when out of memory. */
static __attribute__((noinline)) int
fast_piece(fast_ctx *x, const char *s, size_t at, size_t end, uint64_t k0, uint64_t k1, pc_ent *c)
{
	const tk_bpe *m = x->m;
	te_tok_enc *e = x->e;
	size_t len = end - at, base = x->base, k;
	tk_amap *al = x->al;
	const char *p = s + at;
	int32_t gen = x->gen;

	if (len <= PC_KEY) {
		pc_ent *c2 = c + 1;

		/* two ways: a set is two neighbouring entries */
		if ((c->len == len && c->k0 == k0 && c->k1 == k1 && c->gen == gen) ||
		    (c = c2, c->len == len && c->k0 == k0 && c->k1 == k1 && c->gen == gen))
			return emit_cached(e, c->ids, c->end, c->nids, at, end, base, al);
		if (model_piece(m, x->f, x->fl, gen, p, len))
			return -1;
		/* cache it when its tokens tile the piece */
		if (fout_tiles(len, PC_IDS)) {
			c = c2 - 1;
			*c2 = *c;	/* the newest in the first way */
			c->k0 = k0;
			c->k1 = k1;
			c->gen = gen;
			c->len = (uint8_t)len;
			c->nids = fout_store(c->ids, c->end);
		}
	} else if (len <= LC_KEY) {
		uint64_t h = tk_vhash(tk_load8(p, len), p, len);
		lc_ent *lc = &lcache[h >> (64 - LC_BITS)];

		if (lc->len == len && lc->gen == gen && !memcmp(lc->key, p, len))
			return emit_cached(e, lc->ids, lc->end, lc->nids, at, end, base, al);
		if (model_piece(m, x->f, x->fl, gen, p, len))
			return -1;
		if (fout_tiles(len, LC_IDS)) {
			memcpy(lc->key, p, len);
			lc->len = (uint8_t)len;
			lc->gen = gen;
			lc->nids = fout_store(lc->ids, lc->end);
		}
	} else if (len <= XC_KEY) {
		int r = xc_piece(m, x->f, x->fl, gen, p, len, e, at, base, al);

		if (r)
			return r < 0 ? -1 : 0;
	} else {
		/* a long piece is many lookups: the flat tables now, unless
		 * the backtracking tables do them (tens of ms saved) */
		if (x->f && !x->fl && len > 4096 && !bt_ready_for(m, x->f))
			x->fl = tk_fastmap_flat(m);
		if (model_piece(m, x->f, x->fl, gen, p, len))
			return -1;
	}
	if (tk_enc_room(e, fout.n))
		return -1;
	if (!e->start) {	/* ids alone */
		tk_enc_put_ids(e, fout.ids, fout.n);
		return 0;
	}
	for (k = 0; k < fout.n; k++) {
		size_t ta = at + fout.a[k], tb = at + fout.b[k];

		e->ids[e->n] = fout.ids[k];
		e->start[e->n] = OS(ta);
		e->end[e->n] = tb > ta ? OE(tb) : OS(ta);
		e->n++;
	}
	return 0;
}

/* A batch of pieces scanned: their bounds, keys and cache sets. */
typedef struct pc_batch {
	size_t bp[PC_BATCH + 1], nb;
	uint64_t k0[PC_BATCH], k1[PC_BATCH];
	uint32_t h[PC_BATCH];
} pc_batch;

/* Scan up to PC_BATCH pieces from pos < n into b, their keys made and
 * their cache sets asked for; returns where the next batch starts. */
static size_t
batch_scan(pc_batch *b, int scanner, const char *s, size_t n, size_t pos)
{
	size_t q;

	b->bp[0] = pos;
	b->nb = tk_scan_batch(scanner, s, n, pos, b->bp + 1, PC_BATCH);
	for (q = 0; q < b->nb; q++) {
		size_t len = b->bp[q + 1] - b->bp[q];
		const char *p = s + b->bp[q];
		uint64_t k0 = 0, k1 = 0;

		b->h[q] = 0;
		if (len <= PC_KEY) {
			if (b->bp[q] + 16 <= n) {
				memcpy(&k0, p, 8);
				memcpy(&k1, p + 8, 8);
				k0 &= pc_mask[len];
				k1 &= pc_mask1[len];
			} else if (len <= 8) {
				memcpy(&k0, p, len);
			} else {
				memcpy(&k0, p, 8);
				memcpy(&k1, p + 8, len - 8);
			}
			b->h[q] = (uint32_t)pc_hash(k0, k1, len) & ~1u;
			__builtin_prefetch(&pcache[b->h[q]]);
			__builtin_prefetch(&pcache[b->h[q] + 1]);
		}
		b->k0[q] = k0;
		b->k1[q] = k1;
	}
	return b->bp[b->nb];
}

/* Pieces are scanned a batch ahead, their cache sets prefetched, so that
 * the cache's memory latency overlaps the work on the batch before; then
 * each piece: a hit of ids alone is one fixed-size copy of the entry
 * here, the rest is fast_piece's. */
int
tk_fast_encode(const te_tok *t, int scanner, const char *s, size_t n, size_t base,
               tk_amap *al, te_tok_enc *e)
{
	fast_ctx x = {&t->bpe, NULL, NULL, t->cache_gen, base, al, e};
	const tk_bpe *m = &t->bpe;
	size_t pos = 0, on = e->n, cap = e->cap;
	int32_t *ids = e->ids, gen = t->cache_gen;
	/* ids alone: e keeps no spans (its start may be NULL until the first
	 * reserve, so the mode says which) */
	int ids_only = (e->mode_ & TE_TOK_NO_OFFSETS) && !(e->mode_ & TE_TOK_COUNT_ONLY);
	size_t build_after = t->cmap ? PC_BUILD_AFTER_MAPPED : PC_BUILD_AFTER;
	pc_batch bb[2];
	int cur = 0, warm = 0;
	const tk_bt *bt;

	x.f = tk_fastmap_get(m);
	x.fl = x.f ? __atomic_load_n(&x.f->flat, __ATOMIC_ACQUIRE) : NULL;
	if (!pcache && pcache_init())
		return -1;
	if (pcache_owner != t->cache_gen) {
		/* entries carry their te_tok: another one's are misses */
		pcache_owner = t->cache_gen;
		pc_misses = pc_words = 0;
	}
	bb[0].nb = 0;
	if (pos < n)
		pos = batch_scan(&bb[0], scanner, s, n, pos);
	while (bb[cur].nb) {
		const pc_batch *b = &bb[cur];
		size_t q;

		bb[!cur].nb = 0;
		if (pos < n)
			pos = batch_scan(&bb[!cur], scanner, s, n, pos);
		/* the flat tables pay for their building (10-40 ms for a large
		 * vocabulary) only when the model is run often: build them then
		 * (checked a batch at a time: one document may be long); ranks
		 * whose backtracking tables the compiled cache maps need them not,
		 * and a mapped model's merges are looked up fast enough that the
		 * tables (and their tens of MB of page faults) pay later; nor
		 * need mapped backtracking tables of merges, but to look up the
		 * few tokens they leave out */
		if (x.f && !x.fl && pc_misses > build_after && !x.f->bt_img)
			x.fl = tk_fastmap_flat(m);
		if (pc_words >= PC_WARM_AFTER && !warm && (bt = bt_ready_for(m, x.f))) {
			tk_bt_warm(bt);
			warm = 1;
		}
		for (q = 0; q < b->nb; q++) {
			size_t len = b->bp[q + 1] - b->bp[q];
			uint64_t k0 = b->k0[q], k1 = b->k1[q];
			const pc_ent *c = &pcache[b->h[q]];
			int w1 = pc_way(c + 1, k0, k1, len, gen);

			/* either way, one branch: which way holds a piece
			 * follows no pattern.  A piece longer than PC_KEY
			 * matches no entry. */
			if (ids_only & (on + PC_IDS <= cap) & (pc_way(c, k0, k1, len, gen) | w1)) {
				c += w1;
				memcpy(ids + on, c->ids, sizeof c->ids);
				on += c->nids;
				continue;
			}
			e->n = on;
			if (fast_piece(&x, s, b->bp[q], b->bp[q + 1], k0, k1, &pcache[b->h[q]]))
				return -1;
			on = e->n, cap = e->cap, ids = e->ids;
		}
		cur = !cur;
	}
	e->n = on;
	/* a long word's tokens are not kept, unless a text of n bytes could
	 * need them and they are few (the like-sized pieces of one large
	 * document: each would grow them again, a fresh page at a time) */
	tk_out_trim(&fout, fout.cap > (n < SIZE_MAX / 4 ? 2 * n : n) ? (size_t)1 << 20 : FOUT_KEEP);
	return 0;
}
