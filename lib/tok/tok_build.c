/* tok_build.c: a te_tok's making and unmaking: what the loaders fill
 * (vocabulary, added tokens), the tables finished from it (tk_tok_finish,
 * tk_tok_derive) and te_tok_free.  Below tok.c and the loaders (tok_cache.c,
 * hfjson.c, tiktoken.c, tok_spm.c), above the engines whose parts it frees. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "spm_int.h"
#include "tok_int.h"

static int32_t tok_serial;	/* tells the piece caches one te_tok from another */

te_tok *
tk_tok_new(const char *name)
{
	te_tok *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->name = strdup(name ? name : "");
	t->cache_gen = __atomic_add_fetch(&tok_serial, 1, __ATOMIC_RELAXED);
	t->unk = -1;
	t->max_length = -1;
	t->match_special = 1;
	t->bpe.unk = -1;
	t->wp.unk = -1;
	t->wp.max_chars = 100;
	memset(t->bpe.byte_id, 0xff, sizeof t->bpe.byte_id);
	if (!t->name) {
		free(t);
		return NULL;
	}
	return t;
}

/* n bytes from t's arena, or NULL. */
static char *
arena_alloc(te_tok *t, size_t n)
{
	tk_arena *a = &t->arena;
	char **b;

	if (!a->nblk || a->used + n > a->size) {
		size_t sz = n > (1u << 20) ? n : (1u << 20);

		if (!(b = realloc(a->blk, (a->nblk + 1) * sizeof *b)))
			return NULL;
		a->blk = b;
		if (!(a->blk[a->nblk] = malloc(sz)))
			return NULL;
		a->nblk++;
		a->used = 0;
		a->size = sz;
	}
	a->used += n;
	return a->blk[a->nblk - 1] + a->used - n;
}

static int
vocab_reserve(te_tok *t, size_t n)
{
	size_t old = t->nvocab, cap;

	if (n <= old)
		return 0;
	cap = n;
#define G(f) do { void *p_ = realloc(t->f, cap * sizeof *t->f); if (!p_) return -1; t->f = p_; \
	memset(t->f + old, 0, (cap - old) * sizeof *t->f); } while (0)
	G(piece); G(piece_n); G(bytes); G(bytes_n); G(special);
#undef G
	t->nvocab = n;
	return 0;
}

int
tk_tok_set_vocab(te_tok *t, int32_t id, const char *s, size_t n)
{
	char *p;

	if (id < 0 || id > TK_MAX_ID)
		return -1;
	if ((size_t)id >= t->nvocab) {
		size_t want = t->nvocab ? t->nvocab : 1024;

		while (want <= (size_t)id)
			want *= 2;
		if (vocab_reserve(t, want))
			return -1;
	}
	if (!(p = arena_alloc(t, n + 1)))
		return -1;
	memcpy(p, s, n);
	p[n] = 0;
	t->piece[id] = p;
	t->piece_n[id] = (uint32_t)n;
	return 0;
}

int
tk_tok_add_added(te_tok *t, const tk_added *a)
{
	tk_added *p = realloc(t->added, (t->nadded + 1) * sizeof *p);

	if (!p)
		return -1;
	t->added = p;
	p[t->nadded] = *a;
	if (!(p[t->nadded].s = malloc(a->n + 1)))
		return -1;
	memcpy(p[t->nadded].s, a->s, a->n);
	p[t->nadded].s[a->n] = 0;
	t->nadded++;
	if ((size_t)a->id >= t->nvocab || !t->piece[a->id])
		if (tk_tok_set_vocab(t, a->id, a->s, a->n))
			return -1;
	if (a->special)
		t->special[a->id] = 1;
	return 0;
}

/* Adds s[0, n) to tr; a token longer than TK_TRIE_DEPTH leaves only its
 * first TK_TRIE_DEPTH bytes, as a path (see trie_long). */
static int
trie_add(tk_trie *tr, const char *s, size_t n, int32_t val)
{
	int32_t node = 0, child;
	uint32_t unused;
	size_t i;

	if (!tr->n) {
		tr->cap = 64;
		if (!(tr->term = calloc(tr->cap, sizeof *tr->term)))
			return -1;
		tr->n = 1;
	}
	if (n > TK_TRIE_DEPTH)
		n = TK_TRIE_DEPTH, val = -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 0)
			tr->first[c] = 1;
		if (!tk_pairmap_get(&tr->edge, node, c, &unused, &child)) {
			if (tr->n == tr->cap) {
				int32_t *tm = realloc(tr->term, tr->cap * 2 * sizeof *tm);

				if (!tm)
					return -1;
				memset(tm + tr->cap, 0, tr->cap * sizeof *tm);
				tr->term = tm;
				tr->cap *= 2;
			}
			child = (int32_t)tr->n++;
			if (tk_pairmap_put(&tr->edge, node, c, 0, child))
				return -1;
		}
		node = child;
	}
	if (val >= 0 && !tr->term[node])
		tr->term[node] = val + 1;
	return 0;
}

/* Notes the token s[0, n) (added index ai) as one of tr's long ones when
 * it is longer than the trie is deep; copy: tr keeps a copy of s. */
static int
trie_long(tk_trie *tr, const char *s, size_t n, int32_t ai, int copy)
{
	tk_trie_long *l;
	char *own = NULL;

	if (n <= TK_TRIE_DEPTH)
		return 0;
	if (copy) {
		if (!(own = malloc(n)))
			return -1;
		memcpy(own, s, n);
	}
	if (!(l = realloc(tr->longs, (tr->nlong + 1) * sizeof *l))) {
		free(own);
		return -1;
	}
	tr->longs = l;
	l += tr->nlong++;
	l->s = own ? own : s;
	l->own = own;
	l->n = n;
	l->ai = ai;
	return 0;
}

static void
trie_free(tk_trie *tr)
{
	size_t i;

	tk_pairmap_release(&tr->edge);
	free(tr->term);
	for (i = 0; i < tr->nlong; i++)
		free(tr->longs[i].own);
	free(tr->longs);
}

/* Whether two added-token contents can overlap in a text: one inside the
 * other, or an end of one the start of the other. */
static int
overlap(const tk_added *a, const tk_added *b)
{
	size_t k;

	if (!a->n || !b->n)
		return 0;
	if (memmem(a->s, a->n, b->s, b->n) || memmem(b->s, b->n, a->s, a->n))
		return 1;
	for (k = 1; k < a->n && k < b->n; k++)
		if (!memcmp(a->s + a->n - k, b->s, k) || !memcmp(b->s + b->n - k, a->s, k))
			return 1;
	return 0;
}

/* Which added tokens are matched on the normalized text (apart[i] = 1):
 * HF tokenizers matches the "normalized" ones after the normalizer, in what
 * the others left.  Without a normalizer that is one leftmost-longest pass
 * over the input unless a "normalized" token can overlap one matched
 * before it: only those (and what overlaps them) are kept apart, so most
 * models match all their added tokens on the input.  NULL: out of memory. */
static uint8_t *
added_apart(const te_tok *t)
{
	uint8_t *apart = calloc(t->nadded + 1, 1);
	size_t i, j, nn = 0;
	int changed = 1;

	if (!apart)
		return NULL;
	for (i = 0; i < t->nadded; i++)
		nn += t->added[i].normalized;
	if (!nn)
		return apart;
	if (t->norm || nn * (t->nadded - nn) > 200000) {	/* the exact way */
		for (i = 0; i < t->nadded; i++)
			apart[i] = t->added[i].normalized;
		return apart;
	}
	while (changed) {
		changed = 0;
		for (i = 0; i < t->nadded; i++) {
			if (!t->added[i].normalized || apart[i])
				continue;
			for (j = 0; j < t->nadded && !apart[i]; j++)
				if (j != i && (!t->added[j].normalized || apart[j]) &&
				    overlap(&t->added[i], &t->added[j]))
					apart[i] = 1, changed = 1;
		}
	}
	return apart;
}

/* Every id the model file names outside its vocabulary list lies in the
 * vocabulary (unk, the added tokens, the post-processor's special tokens):
 * an id beyond it would come out of the encoder as a number no embedding
 * table or decoder has.  The message names the key. */
int
tk_tok_ids_ok(const te_tok *t, te_diag *d)
{
	size_t i, k, nv = t->nvocab;

#define OUT(id) ((id) < 0 || (size_t)(id) >= nv)
	if (t->unk != -1 && OUT(t->unk))
		return te_diag_set(d, "", 0, "unk id %ld is not in the vocabulary (%zu ids)",
		                   (long)t->unk, nv);
	for (i = 0; i < t->nadded; i++)
		if (OUT(t->added[i].id))
			return te_diag_set(d, "", 0, "added_tokens: id %ld of '%.40s' is not in the "
			                   "vocabulary (%zu ids)", (long)t->added[i].id,
			                   t->added[i].s ? t->added[i].s : "", nv);
	for (k = 0; k < t->ntpl; k++)
		for (i = 0; t->tpl[k].ids && i < t->tpl[k].n; i++)
			if (OUT(t->tpl[k].ids[i]))
				return te_diag_set(d, "", 0, "post_processor: special token id %ld "
				                   "is not in the vocabulary (%zu ids)",
				                   (long)t->tpl[k].ids[i], nv);
#undef OUT
	return 0;
}

int
tk_tok_finish(te_tok *t, te_diag *d)
{
	size_t i;
	uint8_t *apart = added_apart(t);

	if (!apart)
		return te_diag_set(d, "", 0, "out of memory");

	for (i = 0; i < t->nadded; i++) {
		if (ut_strmap_put(&t->added_map, t->added[i].s, t->added[i].n, (int32_t)i))
			return te_diag_set(d, "", 0, "out of memory");
		if (t->added[i].n && !apart[i] &&
		    trie_add(&t->trie_raw, t->added[i].s, t->added[i].n, (int32_t)i)) {
			free(apart);
			return te_diag_set(d, "", 0, "out of memory");
		}
	}
	free(apart);
	/* the vocabulary grew by doubling: the largest id + 1 */
	while (t->nvocab && !t->piece[t->nvocab - 1])
		t->nvocab--;
	if (tk_tok_ids_ok(t, d))
		return -1;
	/* raw bytes of each id where they differ from its string */
	for (i = 0; i < t->nvocab; i++) {
		char tmp[1024];
		size_t n;
		int b;

		if (!t->piece[i])
			continue;
		if (t->byte_level && t->piece_n[i] < sizeof tmp &&
		    !tk_unmap_bytes(t->piece[i], t->piece_n[i], tmp, &n) &&
		    (n != t->piece_n[i] || memcmp(tmp, t->piece[i], n))) {
			if (!(t->bytes[i] = arena_alloc(t, n + 1)))
				return te_diag_set(d, "", 0, "out of memory");
			memcpy(t->bytes[i], tmp, n);
			t->bytes[i][n] = 0;
			t->bytes_n[i] = (uint32_t)n;
		} else if (t->byte_fallback && tk_is_byte_piece(t->piece[i], t->piece_n[i], &b)) {
			if (!(t->bytes[i] = arena_alloc(t, 2)))
				return te_diag_set(d, "", 0, "out of memory");
			t->bytes[i][0] = (char)b;
			t->bytes[i][1] = 0;
			t->bytes_n[i] = 1;
		}
	}
	return 0;
}

static int
in_map(const te_tok *t, const void *p)
{
	const char *b = t->cmap;

	return p && (const char *)p >= b && (const char *)p < b + t->cmap_len;
}

/* Let go of what a te_tok mapped from a compiled cache (tok_cache.c)
 * points into: the pointers into the map are dropped, the map unmapped. */
static void
cache_unmap(te_tok *t)
{
	size_t i;

	if (!t->cmap)
		return;
	if (in_map(t, t->piece_n))
		t->piece_n = NULL;
	if (in_map(t, t->bytes_n))
		t->bytes_n = NULL;
	if (in_map(t, t->special))
		t->special = NULL;
	t->cpoff = t->cboff = NULL;
	t->cpool = NULL;
	t->cpool_n = 0;
	for (i = 0; i < t->nadded; i++)
		if (in_map(t, t->added[i].s))
			t->added[i].s = NULL;
	if (t->bpe.fast && in_map(t, t->bpe.fast->r2))
		t->bpe.fast->r2 = NULL;
	if (t->bpe.fast && in_map(t, t->bpe.fast->m2))
		t->bpe.fast->m2 = NULL;
	if (in_map(t, t->bpe.vocab.slot))
		memset(&t->bpe.vocab, 0, sizeof t->bpe.vocab);
	if (in_map(t, t->bpe.merges.key))
		memset(&t->bpe.merges, 0, sizeof t->bpe.merges);
	if (in_map(t, t->wp.vocab.slot))
		memset(&t->wp.vocab, 0, sizeof t->wp.vocab);
	if (in_map(t, t->added_map.slot))
		memset(&t->added_map, 0, sizeof t->added_map);
	if (in_map(t, t->trie_raw.edge.key))
		memset(&t->trie_raw.edge, 0, sizeof t->trie_raw.edge);
	if (in_map(t, t->trie_raw.term))
		t->trie_raw.term = NULL;
	munmap(t->cmap, t->cmap_len);
	free(t->cpath);
	t->cpath = NULL;
	t->cmap = NULL;
	t->cmap_len = 0;
}

/* Tables built from the loaded tokenizer, after a source load and after a
 * cache is mapped: the trie of the "normalized" added tokens, whose
 * contents are normalized as HF tokenizers does before matching them. */
/* Whether p reads the input spans of the text it splits: a Metaspace that
 * prepends to the first piece only asks where a piece came from. */
static int
pre_reads_spans(const tk_pre *p)
{
	size_t i;

	if (!p)
		return 0;
	if (p->type == TK_P_METASPACE && p->prepend == 1)
		return 1;
	for (i = 0; i < p->nsub; i++)
		if (pre_reads_spans(p->sub[i]))
			return 1;
	return 0;
}

int
tk_tok_derive(te_tok *t, te_diag *d)
{
	tk_work w;
	size_t i;
	int rc = 0;
	uint8_t *apart = added_apart(t);

	if (!apart)
		return te_diag_set(d, "", 0, "out of memory");
	/* spans are tracked for ids alone too (te_tok_encode's NO_OFFSETS) */
	t->needs_align = pre_reads_spans(t->pre);
	t->wp.lazy = t->mtype == TK_M_WORDPIECE;	/* its trie: wordpiece.c */
	memset(&w, 0, sizeof w);
	w.noal = 1;	/* the text is all that is wanted */
	for (i = 0; i < t->nadded && !rc; i++) {
		const tk_added *a = &t->added[i];

		if (!apart[i] && t->trie_raw.n &&
		    trie_long(&t->trie_raw, a->s, a->n, (int32_t)i, 0)) {
			rc = te_diag_set(d, "", 0, "out of memory");
			break;
		}
		if (!apart[i] || !a->n)
			continue;
		w.b.n = 0;
		tk_al_free(w.al);
		w.al = NULL;
		w.base = 0;
		if (ut_buf_put(&w.b, a->s, a->n)) {
			rc = te_diag_set(d, "", 0, "out of memory");
			break;
		}
		if (t->norm && tk_normalize(t->norm, &w, d)) {
			rc = -1;
			break;
		}
		if (w.b.n && trie_add(&t->trie_norm, w.b.s, w.b.n, (int32_t)i))
			rc = te_diag_set(d, "", 0, "out of memory");
		else if (w.b.n > TK_TRIE_DEPTH &&
		         trie_long(&t->trie_norm, w.b.s, w.b.n, (int32_t)i, 1))
			rc = te_diag_set(d, "", 0, "out of memory");
	}
	free(w.b.s);
	tk_al_free(w.al);
	free(w.pa);
	free(w.pb);
	free(w.fixed);
	free(apart);
	return rc;
}

void
tk_dec_free(tk_dec *x)
{
	size_t i;

	if (!x)
		return;
	for (i = 0; i < x->nsub; i++)
		tk_dec_free(x->sub[i]);
	free(x->sub);
	free(x->prefix);
	free(x->pat);
	free(x->content);
	free(x);
}

void
te_tok_free(te_tok *t)
{
	size_t i;

	if (!t)
		return;
	if (t->cmap)
		cache_unmap(t);
	free(t->uni_score);
	for (i = 0; i < t->arena.nblk; i++)
		free(t->arena.blk[i]);
	free(t->arena.blk);
	free(t->piece);
	free(t->piece_n);
	free(t->bytes);
	free(t->bytes_n);
	free(t->special);
	tk_norm_free(t->norm);
	tk_pre_free(t->pre);
	tk_dec_free(t->dec);
	for (i = 0; i < t->ntpl; i++)
		free(t->tpl[i].ids);
	free(t->tpl);
	for (i = 0; i < t->nadded; i++)
		free(t->added[i].s);
	free(t->added);
	trie_free(&t->trie_raw);
	trie_free(&t->trie_norm);
	ut_strmap_release(&t->added_map);
	tk_fastmap_free(t->bpe.fast);
	t->bpe.fast = NULL;
	tk_bpe_release(&t->bpe);
	tk_wordpiece_release(&t->wp);
	tk_unigram_free(t->unigram);
	tk_spm_free(t->spm);
	free(t->name);
	free(t->display);
	free(t);
}
