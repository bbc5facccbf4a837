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

int
tk_train_bpe(te_trainer *t, te_diag *d)
{
	ut_strmap *V = &t->vocab;
	const char *prefix = t->o.model == TE_TRAIN_MODEL_WORDPIECE ? "##" : NULL;
	size_t plen = prefix ? strlen(prefix) : 0;
	word *words = NULL;
	size_t nw = 0, i, k;
	uint32_t *syms = NULL;
	size_t nsyms = 0;
	unsigned char *seen = NULL;
	pairmap pc = {0};
	heap h = {0};
	grouper upd = {0};
	uint32_t (*merges)[2] = NULL;
	size_t nmerges = 0, capm = 0;
	char *tokbuf = NULL;
	size_t tokcap = 0;
	int rc = -1;
	char buf[16];

	/* 1. special tokens, byte fallback tokens */
	for (i = 0; i < t->o.n_special; i++)
		if (ut_strmap_intern(V, t->special[i], strlen(t->special[i])) < 0)
			goto oom;
	/* WordPiece needs its unknown token in the vocabulary */
	if (prefix && ut_strmap_get(V, "[UNK]", 5) < 0 && ut_strmap_get(V, "<unk>", 5) < 0 &&
	    ut_strmap_intern(V, "[UNK]", 5) < 0)
		goto oom;
	if (t->o.byte_fallback)
		for (i = 0; i < 256; i++) {
			snprintf(buf, sizeof buf, "<0x%02X>", (unsigned)i);
			if (ut_strmap_intern(V, buf, strlen(buf)) < 0)
				goto oom;
		}

	/* 2. the alphabet: every character seen (and every byte with
	 * byte_level), in code point order; the words' symbols, as code
	 * points for now, in one array */
	seen = calloc(2 * (0x110000 / 8), 1);  /* seen, seen inside a word */
	words = calloc(t->wc_n ? t->wc_n : 1, sizeof *words);
	syms = malloc((t->arena_n ? t->arena_n : 1) * sizeof *syms);
	if (!seen || !words || !syms)
		goto oom;
	for (i = 0; i < t->wc_cap; i++) {
		tk_wc *e = &t->wc[i];
		const unsigned char *s;
		size_t j;
		if (!e->count)
			continue;
		s = (const unsigned char *)t->arena + e->off;
		words[nw].count = e->count;
		words[nw].sym = syms + nsyms;
		for (j = 0; j < e->len;) {
			int l;
			int32_t c = ut_utf8_dec(s + j, e->len - j, &l);
			if (c < 0)
				c = 0xfffd;
			seen[c >> 3] |= 1 << (c & 7);
			if (prefix && words[nw].n)
				seen[0x110000 / 8 + (c >> 3)] |= 1 << (c & 7);
			words[nw].sym[words[nw].n++] = c;
			j += l;
		}
		nsyms += words[nw].n;
		nw++;
	}
	if (t->o.byte_level)
		for (i = 0; i < 256; i++) {
			uint32_t c = tk_byte_cp(i);
			seen[c >> 3] |= 1 << (c & 7);
		}
	for (uint32_t c = 0; c < 0x110000; c++) {
		if (!(seen[c >> 3] & (1 << (c & 7))))
			continue;
		int l = ut_utf8_enc(c, buf);
		if (ut_strmap_intern(V, buf, l) < 0)
			goto oom;
	}
	/* WordPiece: "##c" for each character seen inside a word */
	if (prefix)
		for (uint32_t c = 0; c < 0x110000; c++) {
			if (!(seen[0x110000 / 8 + (c >> 3)] & (1 << (c & 7))))
				continue;
			memcpy(buf, prefix, plen);
			int l = ut_utf8_enc(c, buf + plen);
			if (ut_strmap_intern(V, buf, plen + l) < 0)
				goto oom;
		}
	if (V->n > t->o.vocab_size) {
		te_diag_set(d, "", 0,
		            "vocabulary size %zu is smaller than the alphabet: %zu symbols "
		            "and %zu special tokens are needed",
		            t->o.vocab_size, V->n - t->o.n_special, t->o.n_special);
		goto out;
	}

	/* 3. words as symbol ids */
	for (i = 0; i < nw; i++) {
		word *w = &words[i];
		for (k = 0; k < w->n; k++) {
			int l = 0;
			if (prefix && k) {
				memcpy(buf, prefix, plen);
				l = plen;
			}
			l += ut_utf8_enc(w->sym[k], buf + l);
			w->sym[k] = (uint32_t)ut_strmap_get(V, buf, l);
		}
	}

	/* 4. count pairs, one queue entry per pair */
	tk_train_progress(t, "count pairs", 0, nw);
	for (i = 0; i < nw; i++) {
		word *w = &words[i];
		for (k = 0; k + 1 < w->n; k++) {
			uint64_t key = KEY(w->sym[k], w->sym[k + 1]);
			int64_t *c = pm_get(&pc, key);
			if (!c)
				goto oom;
			*c += (int64_t)w->count;
			if (gr_add(&upd, key, i) < 0)
				goto oom;
		}
	}
	if (push_groups(&upd, &pc, &h) < 0)
		goto oom;

	/* 5. merge */
	size_t target = t->o.vocab_size, start = V->n;
	while (V->n < target && h.n) {
		qent top = h_pop(&h);
		int64_t cur = *pm_get(&pc, top.key);
		if ((int64_t)top.count != cur) {
			top.count = (uint64_t)cur;  /* as HF: a cast, not a clamp */
			if (h_push(&h, top) < 0) {
				free(top.pos);
				goto oom;
			}
			continue;
		}
		if (top.count < 1 || t->o.min_frequency > top.count) {
			free(top.pos);
			break;
		}
		uint32_t a = top.key >> 32, b = (uint32_t)top.key;
		size_t la, lb;
		const char *sa = ut_strmap_key(V, a, &la), *sb = ut_strmap_key(V, b, &lb);
		if (prefix && lb >= plen && !memcmp(sb, prefix, plen))
			sb += plen, lb -= plen;
		if (tokcap < la + lb) {
			tokcap = (la + lb) * 2;
			char *n = realloc(tokbuf, tokcap);
			if (!n) {
				free(top.pos);
				goto oom;
			}
			tokbuf = n;
		}
		memcpy(tokbuf, sa, la);
		memcpy(tokbuf + la, sb, lb);
		long nid = ut_strmap_intern(V, tokbuf, la + lb);
		if (nid < 0) {
			free(top.pos);
			goto oom;
		}
		if (nmerges == capm) {
			capm = capm ? capm * 2 : 1024;
			void *n = realloc(merges, capm * sizeof *merges);
			if (!n) {
				free(top.pos);
				goto oom;
			}
			merges = n;
		}
		merges[nmerges][0] = a;
		merges[nmerges][1] = b;
		nmerges++;
		/* merge the pair in each word of the entry, as HF's Word::merge:
		 * left to right, recording the pairs lost and made */
		for (size_t p = 0; p < top.npos; p++) {
			uint32_t wi = top.pos[p];
			word *w = &words[wi];
			/* the words are scattered: fetch ahead */
			if (p + 16 < top.npos)
				__builtin_prefetch(&words[top.pos[p + 16]]);
			if (p + 8 < top.npos)
				__builtin_prefetch(words[top.pos[p + 8]].sym);
			int64_t cnt = (int64_t)w->count;
			uint32_t *s = w->sym;
			size_t n = w->n, r = 0, o = 0;
			/* in place: o is the output length, r the read index */
			while (r < n) {
				if (r + 1 < n && s[r] == a && s[r + 1] == b) {
					if (o > 0) {
						int64_t *c = pm_get(&pc, KEY(s[o - 1], a));
						if (!c)
							goto oomp;
						*c -= cnt;
						if (!(c = pm_get(&pc, KEY(s[o - 1], nid))))
							goto oomp;
						*c += cnt;
						if (gr_add(&upd, KEY(s[o - 1], nid), wi) < 0)
							goto oomp;
					}
					if (r + 2 < n) {
						int64_t *c = pm_get(&pc, KEY(b, s[r + 2]));
						if (!c)
							goto oomp;
						*c -= cnt;
						if (!(c = pm_get(&pc, KEY(nid, s[r + 2]))))
							goto oomp;
						*c += cnt;
						if (gr_add(&upd, KEY(nid, s[r + 2]), wi) < 0)
							goto oomp;
					}
					s[o++] = nid;
					r += 2;
				} else {
					s[o++] = s[r++];
				}
			}
			w->n = o;
			continue;
oomp:
			free(top.pos);
			goto oom;
		}
		free(top.pos);
		if (push_groups(&upd, &pc, &h) < 0)
			goto oom;
		tk_train_progress(t, "merge", V->n - start, target - start);
	}

	/* a pair merged more than once keeps its last rank */
	{
		pairmap last = {0};
		size_t o = 0;
		for (i = 0; i < nmerges; i++) {
			int64_t *r = pm_get(&last, KEY(merges[i][0], merges[i][1]));
			if (!r) {
				free(last.key);
				free(last.val);
				goto oom;
			}
			*r = (int64_t)i;
		}
		for (i = 0; i < nmerges; i++)
			if (*pm_get(&last, KEY(merges[i][0], merges[i][1])) == (int64_t)i)
				merges[o][0] = merges[i][0], merges[o][1] = merges[i][1], o++;
		nmerges = o;
		free(last.key);
		free(last.val);
	}
	t->merges = merges;
	t->nmerges = nmerges;
	merges = NULL;
	rc = 0;
	goto out;
oom:
	te_diag_set(d, "", 0, "out of memory");
out:
	free(words);
	free(syms);
	free(seen);
	free(pc.key);
	free(pc.val);
	for (i = 0; i < h.n; i++)
		free(h.a[i].pos);
	free(h.a);
	for (i = 0; i < upd.n; i++)
		free(upd.g[i].w);
	free(upd.g);
	free(upd.slot);
	free(merges);
	free(tokbuf);
	return rc;
}
