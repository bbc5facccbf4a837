/* train_bpe.c: BPE (and WordPiece) training, merge for merge what Hugging
 * Face's BpeTrainer does, so that the vocabulary and the merges come out
 * the same and in the same order:
 * - ids: special tokens, then the alphabet sorted by code point, then each
 *   new token as it is made;
 * - the most frequent pair is merged; ties go to the smallest (left id,
 *   right id);
 * - a queue entry carries the words it was made for, and a merge applies to
 *   those words only; counts are refreshed lazily when an entry is popped;
 * - a pair merged twice (its token string was made again) keeps the rank of
 *   its last merge.
 * Memory: the distinct pre-tokens, their symbols and the pair index. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"
#include "train_int.h"

typedef struct word {
	uint32_t *sym;
	uint32_t n;
	uint64_t count;
} word;

/* pair -> count, open addressing on the 64-bit key (left << 32 | right) */
typedef struct pairmap {
	uint64_t *key;   /* UINT64_MAX: empty */
	int64_t *val;
	size_t cap, n;
} pairmap;

static uint64_t
mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static int
pm_grow(pairmap *m)
{
	size_t nc = m->cap ? m->cap * 2 : 1 << 16, i;
	uint64_t *k = malloc(nc * sizeof *k);
	int64_t *v = malloc(nc * sizeof *v);

	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	memset(k, 0xff, nc * sizeof *k);
	for (i = 0; i < m->cap; i++) {
		if (m->key[i] == UINT64_MAX)
			continue;
		size_t j = mix(m->key[i]) & (nc - 1);
		while (k[j] != UINT64_MAX)
			j = (j + 1) & (nc - 1);
		k[j] = m->key[i];
		v[j] = m->val[i];
	}
	free(m->key);
	free(m->val);
	m->key = k;
	m->val = v;
	m->cap = nc;
	return 0;
}

/* Slot of key, inserted with count 0 when absent; NULL when out of memory. */
static int64_t *
pm_get(pairmap *m, uint64_t key)
{
	size_t j;

	if (m->cap)
		for (j = mix(key) & (m->cap - 1); m->key[j] != UINT64_MAX;
		     j = (j + 1) & (m->cap - 1))
			if (m->key[j] == key)
				return &m->val[j];
	if ((m->n + 1) * 2 > m->cap && pm_grow(m) < 0)
		return NULL;
	for (j = mix(key) & (m->cap - 1); m->key[j] != UINT64_MAX; j = (j + 1) & (m->cap - 1))
		;
	m->key[j] = key;
	m->val[j] = 0;
	m->n++;
	return &m->val[j];
}

/* A queue entry: a pair, its count when pushed, the words it occurs in. */
typedef struct qent {
	uint64_t count;
	uint64_t key;
	uint32_t *pos;
	uint32_t npos;
} qent;

typedef struct heap {
	qent *a;
	size_t n, cap;
} heap;

/* a before b: higher count, then smaller pair */
static int
q_before(const qent *a, const qent *b)
{
	return a->count != b->count ? a->count > b->count : a->key < b->key;
}

static int
h_push(heap *h, qent e)
{
	size_t i;

	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 1 << 14;
		qent *na = realloc(h->a, nc * sizeof *na);
		if (!na)
			return -1;
		h->a = na;
		h->cap = nc;
	}
	i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!q_before(&e, &h->a[p]))
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i] = e;
	return 0;
}

static qent
h_pop(heap *h)
{
	qent top = h->a[0], last = h->a[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && q_before(&h->a[c + 1], &h->a[c]))
			c++;
		if (!q_before(&h->a[c], &last))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n)
		h->a[i] = last;
	return top;
}

/* Words grouped by pair, to become queue entries: a hash table from the
 * pair to a growing list of word indices; a word is listed once however
 * often the pair occurs in it (its records arrive together). */
typedef struct group {
	uint64_t key;
	uint32_t *w;
	uint32_t n, cap;
} group;

typedef struct grouper {
	uint32_t *slot;   /* index into g + 1, 0 empty */
	size_t nslot;
	group *g;
	size_t n, cap;
} grouper;

static int
gr_grow(grouper *G)
{
	size_t ns = G->nslot ? G->nslot * 2 : 1 << 12, i;
	uint32_t *sl = calloc(ns, sizeof *sl);

	if (!sl)
		return -1;
	for (i = 0; i < G->n; i++) {
		size_t j = mix(G->g[i].key) & (ns - 1);
		while (sl[j])
			j = (j + 1) & (ns - 1);
		sl[j] = i + 1;
	}
	free(G->slot);
	G->slot = sl;
	G->nslot = ns;
	return 0;
}

static int
gr_add(grouper *G, uint64_t key, uint32_t w)
{
	size_t j;
	group *x;

	if ((G->n + 1) * 2 > G->nslot && gr_grow(G) < 0)
		return -1;
	for (j = mix(key) & (G->nslot - 1); G->slot[j]; j = (j + 1) & (G->nslot - 1))
		if (G->g[G->slot[j] - 1].key == key)
			break;
	if (!G->slot[j]) {
		if (G->n == G->cap) {
			size_t nc = G->cap ? G->cap * 2 : 1024;
			group *ng = realloc(G->g, nc * sizeof *ng);
			if (!ng)
				return -1;
			G->g = ng;
			G->cap = nc;
		}
		G->g[G->n].key = key;
		G->g[G->n].w = NULL;
		G->g[G->n].n = G->g[G->n].cap = 0;
		G->slot[j] = ++G->n;
	}
	x = &G->g[G->slot[j] - 1];
	if (x->n && x->w[x->n - 1] == w)
		return 0;
	if (x->n == x->cap) {
		uint32_t nc = x->cap ? x->cap * 2 : 4;
		uint32_t *nw = realloc(x->w, nc * sizeof *nw);
		if (!nw)
			return -1;
		x->w = nw;
		x->cap = nc;
	}
	x->w[x->n++] = w;
	return 0;
}

/* Push one queue entry per group whose pair has a positive count (the
 * entry takes the list), and empty the grouper. */
static int
push_groups(grouper *G, pairmap *pc, heap *h)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < G->n; i++) {
		group *x = &G->g[i];
		int64_t *c = pm_get(pc, x->key);
		if (rc == 0 && c && *c > 0) {
			qent e;
			e.count = (uint64_t)*c;
			e.key = x->key;
			e.pos = x->w;
			e.npos = x->n;
			if (h_push(h, e) == 0)
				continue;
			rc = -1;
		}
		free(x->w);
	}
	if (G->n * 8 < G->nslot && G->nslot > 1 << 12) {
		/* keep clearing cheap after a big step */
		free(G->slot);
		G->slot = NULL;
		G->nslot = 0;
	} else if (G->slot) {
		memset(G->slot, 0, G->nslot * sizeof *G->slot);
	}
	G->n = 0;
	return rc;
}

#define KEY(a, b) (((uint64_t)(a) << 32) | (uint32_t)(b))

/* One training run: the words, the pair counts, the queue. */
typedef struct bpe {
	te_trainer *t;
	ut_strmap *V;
	const char *prefix;        /* WordPiece's "##", or NULL */
	size_t plen;
	word *words;
	size_t nw;
	uint32_t *syms;            /* every word's symbols, one array */
	unsigned char *seen;       /* characters seen, seen inside a word */
	pairmap pc;
	heap h;
	grouper upd;
	uint32_t (*merges)[2];
	size_t nmerges, capm;
	char *tokbuf;
	size_t tokcap;
} bpe;

/* 1. special tokens, WordPiece's unknown token, byte fallback tokens */
static int
add_special_tokens(bpe *b)
{
	te_trainer *t = b->t;
	char buf[16];
	size_t i;

	for (i = 0; i < t->o.n_special; i++)
		if (ut_strmap_intern(b->V, t->special[i], strlen(t->special[i])) < 0)
			return -1;
	if (b->prefix && ut_strmap_get(b->V, "[UNK]", 5) < 0 &&
	    ut_strmap_get(b->V, "<unk>", 5) < 0 && ut_strmap_intern(b->V, "[UNK]", 5) < 0)
		return -1;
	if (t->o.byte_fallback)
		for (i = 0; i < 256; i++) {
			snprintf(buf, sizeof buf, "<0x%02X>", (unsigned)i);
			if (ut_strmap_intern(b->V, buf, strlen(buf)) < 0)
				return -1;
		}
	return 0;
}

#define SEEN(set, c) (b->seen[(set) * (0x110000 / 8) + ((c) >> 3)] & (1 << ((c) & 7)))
#define SEE(set, c) (b->seen[(set) * (0x110000 / 8) + ((c) >> 3)] |= 1 << ((c) & 7))

/* The words' symbols, as code points for now, and the characters seen. */
static int
read_words(bpe *b)
{
	te_trainer *t = b->t;
	size_t i, nsyms = 0;

	b->seen = calloc(2 * (0x110000 / 8), 1);  /* seen, seen inside a word */
	b->words = calloc(t->wc_n ? t->wc_n : 1, sizeof *b->words);
	b->syms = malloc((t->arena_n ? t->arena_n : 1) * sizeof *b->syms);
	if (!b->seen || !b->words || !b->syms)
		return -1;
	for (i = 0; i < t->wc_cap; i++) {
		tk_wc *e = &t->wc[i];
		word *w = &b->words[b->nw];
		const unsigned char *s;
		size_t j;
		if (!e->count)
			continue;
		s = (const unsigned char *)t->arena + e->off;
		w->count = e->count;
		w->sym = b->syms + nsyms;
		for (j = 0; j < e->len;) {
			int l;
			int32_t c = ut_utf8_dec(s + j, e->len - j, &l);
			if (c < 0)
				c = 0xfffd;
			SEE(0, c);
			if (b->prefix && w->n)
				SEE(1, c);
			w->sym[w->n++] = c;
			j += l;
		}
		nsyms += w->n;
		b->nw++;
	}
	return 0;
}

/* 2. the alphabet: every character seen (and every byte with byte_level),
 * in code point order; WordPiece adds "##c" for each character seen inside
 * a word.  -1 out of memory, -2 the vocabulary is too small (d set). */
static int
add_alphabet(bpe *b, te_diag *d)
{
	te_trainer *t = b->t;
	char buf[16];
	uint32_t c;
	int i;

	if (read_words(b) < 0)
		return -1;
	if (t->o.byte_level)
		for (i = 0; i < 256; i++)
			SEE(0, (uint32_t)tk_byte_cp(i));
	for (c = 0; c < 0x110000; c++) {
		if (!SEEN(0, c))
			continue;
		int l = ut_utf8_enc(c, buf);
		if (ut_strmap_intern(b->V, buf, l) < 0)
			return -1;
	}
	if (b->prefix)
		for (c = 0; c < 0x110000; c++) {
			if (!SEEN(1, c))
				continue;
			memcpy(buf, b->prefix, b->plen);
			int l = ut_utf8_enc(c, buf + b->plen);
			if (ut_strmap_intern(b->V, buf, b->plen + l) < 0)
				return -1;
		}
	if (b->V->n > t->o.vocab_size) {
		te_diag_set(d, "", 0,
		            "vocabulary size %zu is smaller than the alphabet: %zu symbols "
		            "and %zu special tokens are needed",
		            t->o.vocab_size, b->V->n - t->o.n_special, t->o.n_special);
		return -2;
	}
	return 0;
}

/* 3. words as symbol ids */
static void
symbols_to_ids(bpe *b)
{
	char buf[16];
	size_t i, k;

	for (i = 0; i < b->nw; i++) {
		word *w = &b->words[i];
		for (k = 0; k < w->n; k++) {
			int l = 0;
			if (b->prefix && k) {
				memcpy(buf, b->prefix, b->plen);
				l = b->plen;
			}
			l += ut_utf8_enc(w->sym[k], buf + l);
			w->sym[k] = (uint32_t)ut_strmap_get(b->V, buf, l);
		}
	}
}

/* 4. count pairs, one queue entry per pair */
static int
count_pairs(bpe *b)
{
	size_t i, k;

	tk_train_progress(b->t, "count pairs", 0, b->nw);
	for (i = 0; i < b->nw; i++) {
		word *w = &b->words[i];
		for (k = 0; k + 1 < w->n; k++) {
			uint64_t key = KEY(w->sym[k], w->sym[k + 1]);
			int64_t *c = pm_get(&b->pc, key);
			if (!c)
				return -1;
			*c += (int64_t)w->count;
			if (gr_add(&b->upd, key, i) < 0)
				return -1;
		}
	}
	return push_groups(&b->upd, &b->pc, &b->h);
}

/* Merge (a, bb) into nid in word wi, as HF's Word::merge: left to right,
 * recording the pairs lost and made. */
static inline int
merge_word(bpe *b, uint32_t wi, uint32_t a, uint32_t bb, uint32_t nid)
{
	word *w = &b->words[wi];
	int64_t cnt = (int64_t)w->count, *c;
	uint32_t *s = w->sym;
	size_t n = w->n, r = 0, o = 0;

	/* in place: o is the output length, r the read index */
	while (r < n) {
		if (r + 1 < n && s[r] == a && s[r + 1] == bb) {
			if (o > 0) {
				if (!(c = pm_get(&b->pc, KEY(s[o - 1], a))))
					return -1;
				*c -= cnt;
				if (!(c = pm_get(&b->pc, KEY(s[o - 1], nid))))
					return -1;
				*c += cnt;
				if (gr_add(&b->upd, KEY(s[o - 1], nid), wi) < 0)
					return -1;
			}
			if (r + 2 < n) {
				if (!(c = pm_get(&b->pc, KEY(bb, s[r + 2]))))
					return -1;
				*c -= cnt;
				if (!(c = pm_get(&b->pc, KEY(nid, s[r + 2]))))
					return -1;
				*c += cnt;
				if (gr_add(&b->upd, KEY(nid, s[r + 2]), wi) < 0)
					return -1;
			}
			s[o++] = nid;
			r += 2;
		} else {
			s[o++] = s[r++];
		}
	}
	w->n = o;
	return 0;
}

/* Make the token of the entry's pair, record the merge, and merge the pair
 * in each word of the entry. */
static int
merge_entry(bpe *b, const qent *top)
{
	uint32_t a = top->key >> 32, bb = (uint32_t)top->key;
	size_t la, lb, p;
	const char *sa = ut_strmap_key(b->V, a, &la), *sb = ut_strmap_key(b->V, bb, &lb);
	int32_t nid;

	if (b->prefix && lb >= b->plen && !memcmp(sb, b->prefix, b->plen))
		sb += b->plen, lb -= b->plen;
	if (b->tokcap < la + lb) {
		size_t cap = (la + lb) * 2;
		char *n = realloc(b->tokbuf, cap);
		if (!n)
			return -1;
		b->tokbuf = n;
		b->tokcap = cap;
	}
	memcpy(b->tokbuf, sa, la);
	memcpy(b->tokbuf + la, sb, lb);
	if ((nid = ut_strmap_intern(b->V, b->tokbuf, la + lb)) < 0)
		return -1;
	if (ut_grow((void **)&b->merges, &b->capm, b->nmerges + 1, sizeof *b->merges) < 0)
		return -1;
	b->merges[b->nmerges][0] = a;
	b->merges[b->nmerges][1] = bb;
	b->nmerges++;
	for (p = 0; p < top->npos; p++) {
		/* the words are scattered: fetch ahead */
		if (p + 16 < top->npos)
			__builtin_prefetch(&b->words[top->pos[p + 16]]);
		if (p + 8 < top->npos)
			__builtin_prefetch(b->words[top->pos[p + 8]].sym);
		if (merge_word(b, top->pos[p], a, bb, (uint32_t)nid) < 0)
			return -1;
	}
	return 0;
}

/* 5. merge: the most frequent pair, until the vocabulary is full or no
 * pair is frequent enough */
static int
merge_pairs(bpe *b)
{
	te_trainer *t = b->t;
	size_t target = t->o.vocab_size, start = b->V->n;

	while (b->V->n < target && b->h.n) {
		qent top = h_pop(&b->h);
		int64_t cur = *pm_get(&b->pc, top.key);
		if ((int64_t)top.count != cur) {
			top.count = (uint64_t)cur;  /* as HF: a cast, not a clamp */
			if (h_push(&b->h, top) < 0) {
				free(top.pos);
				return -1;
			}
			continue;
		}
		if (top.count < 1 || t->o.min_frequency > top.count) {
			free(top.pos);
			break;
		}
		int rc = merge_entry(b, &top);
		free(top.pos);
		if (rc < 0 || push_groups(&b->upd, &b->pc, &b->h) < 0)
			return -1;
		tk_train_progress(t, "merge", b->V->n - start, target - start);
	}
	return 0;
}

/* A pair merged more than once keeps its last rank. */
static int
keep_last_ranks(bpe *b)
{
	pairmap last = {0};
	size_t i, o = 0;
	int rc = -1;

	for (i = 0; i < b->nmerges; i++) {
		int64_t *r = pm_get(&last, KEY(b->merges[i][0], b->merges[i][1]));
		if (!r)
			goto out;
		*r = (int64_t)i;
	}
	for (i = 0; i < b->nmerges; i++)
		if (*pm_get(&last, KEY(b->merges[i][0], b->merges[i][1])) == (int64_t)i) {
			b->merges[o][0] = b->merges[i][0];
			b->merges[o][1] = b->merges[i][1];
			o++;
		}
	b->nmerges = o;
	rc = 0;
out:
	free(last.key);
	free(last.val);
	return rc;
}

static void
bpe_release(bpe *b)
{
	size_t i;

	free(b->words);
	free(b->syms);
	free(b->seen);
	free(b->pc.key);
	free(b->pc.val);
	for (i = 0; i < b->h.n; i++)
		free(b->h.a[i].pos);
	free(b->h.a);
	for (i = 0; i < b->upd.n; i++)
		free(b->upd.g[i].w);
	free(b->upd.g);
	free(b->upd.slot);
	free(b->merges);
	free(b->tokbuf);
}

int
tk_train_bpe(te_trainer *t, te_diag *d)
{
	bpe b = {0};
	int rc;

	b.t = t;
	b.V = &t->vocab;
	b.prefix = t->o.model == TE_TRAIN_MODEL_WORDPIECE ? "##" : NULL;
	b.plen = b.prefix ? strlen(b.prefix) : 0;
	if (add_special_tokens(&b) < 0 || (rc = add_alphabet(&b, d)) == -1)
		goto oom;
	if (rc < 0) {
		rc = -1;            /* the vocabulary is too small: d is set */
		goto out;
	}
	symbols_to_ids(&b);
	if (count_pairs(&b) < 0 || merge_pairs(&b) < 0 || keep_last_ranks(&b) < 0)
		goto oom;
	t->merges = b.merges;
	t->nmerges = b.nmerges;
	b.merges = NULL;
	rc = 0;
	goto out;
oom:
	rc = te_diag_set(d, "", 0, "out of memory");
out:
	bpe_release(&b);
	return rc;
}
