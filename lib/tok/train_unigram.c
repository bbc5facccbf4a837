/* train_unigram.c: Unigram training as sentencepiece does it, in the form
 * Hugging Face's UnigramTrainer gives it:
 * - seed pieces: every character, then the substrings of the distinct
 *   pre-tokens that occur at least twice and are followed by more than one
 *   character (the internal nodes of a suffix tree), scored by
 *   occurrences x length, up to a million;
 * - rounds of two EM steps (expected counts by forward-backward over each
 *   pre-token's lattice; the Bayesian M step with digamma, which drops
 *   pieces expected less than half a time), then pruning to the 3/4 of the
 *   pieces whose removal would lose the most likelihood, until at most 1.1x
 *   the vocabulary size remain;
 * - the vocabulary: special tokens, every character, then the pieces, by
 *   score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

#define SEED_SIZE 1000000
#define UNK_PENALTY 10.0

/* ------------------------------------------------------------- pieces */

typedef struct pieces {
	char **s;
	uint32_t *len;
	double *score;
	size_t n, cap;
} pieces;

static int
pc_push(pieces *p, char *s, uint32_t len, double score)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 1024;
		char **ns = realloc(p->s, nc * sizeof *ns);
		if (!ns)
			return -1;
		p->s = ns;
		uint32_t *nl = realloc(p->len, nc * sizeof *nl);
		if (!nl)
			return -1;
		p->len = nl;
		double *nd = realloc(p->score, nc * sizeof *nd);
		if (!nd)
			return -1;
		p->score = nd;
		p->cap = nc;
	}
	p->s[p->n] = s;
	p->len[p->n] = len;
	p->score[p->n] = score;
	p->n++;
	return 0;
}

static void
pc_release(pieces *p, int free_strings)
{
	size_t i;

	if (free_strings)
		for (i = 0; i < p->n; i++)
			free(p->s[i]);
	free(p->s);
	free(p->len);
	free(p->score);
	memset(p, 0, sizeof *p);
}

/* --------------------------------------------------------------- model */

/* The pieces in a byte trie: a hash table from (node, byte) to the child
 * node, and the piece each node ends (-1: none).  Node 0 is the root. */
typedef struct umodel {
	uint64_t *key;    /* node << 8 | byte, UINT64_MAX empty */
	uint32_t *child;
	size_t cap, n;
	int32_t *pid;
	size_t nnodes, capnodes;
	size_t np;
	const double *score;
	double min_score;
} umodel;

static uint64_t
tmix(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x9e3779b97f4a7c15ull;
	k ^= k >> 29;
	return k;
}

static long
trie_child(const umodel *m, uint32_t node, unsigned char b)
{
	uint64_t k = (uint64_t)node << 8 | b;
	size_t j;

	for (j = tmix(k) & (m->cap - 1); m->key[j] != UINT64_MAX; j = (j + 1) & (m->cap - 1))
		if (m->key[j] == k)
			return m->child[j];
	return -1;
}

static int
trie_grow(umodel *m)
{
	size_t nc = m->cap ? m->cap * 2 : 1 << 12, i;
	uint64_t *k = malloc(nc * sizeof *k);
	uint32_t *c = malloc(nc * sizeof *c);

	if (!k || !c) {
		free(k);
		free(c);
		return -1;
	}
	memset(k, 0xff, nc * sizeof *k);
	for (i = 0; i < m->cap; i++) {
		if (m->key[i] == UINT64_MAX)
			continue;
		size_t j = tmix(m->key[i]) & (nc - 1);
		while (k[j] != UINT64_MAX)
			j = (j + 1) & (nc - 1);
		k[j] = m->key[i];
		c[j] = m->child[i];
	}
	free(m->key);
	free(m->child);
	m->key = k;
	m->child = c;
	m->cap = nc;
	return 0;
}

static int
trie_insert(umodel *m, const char *s, size_t n, int32_t id)
{
	uint32_t node = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		long c = trie_child(m, node, (unsigned char)s[i]);
		if (c < 0) {
			uint64_t k = (uint64_t)node << 8 | (unsigned char)s[i];
			size_t j;
			if ((m->n + 1) * 2 > m->cap && trie_grow(m) < 0)
				return -1;
			if (m->nnodes == m->capnodes) {
				size_t nc = m->capnodes * 2;
				int32_t *np = realloc(m->pid, nc * sizeof *np);
				if (!np)
					return -1;
				m->pid = np;
				m->capnodes = nc;
			}
			m->pid[m->nnodes] = -1;
			c = (long)m->nnodes++;
			for (j = tmix(k) & (m->cap - 1); m->key[j] != UINT64_MAX; j = (j + 1) & (m->cap - 1))
				;
			m->key[j] = k;
			m->child[j] = (uint32_t)c;
			m->n++;
		}
		node = (uint32_t)c;
	}
	m->pid[node] = id;
	return 0;
}

/* The piece s is, or -1. */
static long
trie_find(const umodel *m, const char *s, size_t n)
{
	long node = 0;
	size_t i;

	for (i = 0; i < n && node >= 0; i++)
		node = trie_child(m, (uint32_t)node, (unsigned char)s[i]);
	return node >= 0 ? m->pid[node] : -1;
}

static void
um_release(umodel *m)
{
	free(m->key);
	free(m->child);
	free(m->pid);
	memset(m, 0, sizeof *m);
}

static int
um_build(umodel *m, const pieces *p)
{
	size_t i;

	um_release(m);
	m->capnodes = 1024;
	if (!(m->pid = malloc(m->capnodes * sizeof *m->pid)) || trie_grow(m) < 0)
		return -1;
	m->pid[0] = -1;
	m->nnodes = 1;
	m->np = p->n;
	m->score = p->score;
	m->min_score = INFINITY;
	/* piece 0 stands for the unknown and is not in the trie */
	for (i = 1; i < p->n; i++) {
		if (trie_insert(m, p->s[i], p->len[i], (int32_t)i) < 0)
			return -1;
		if (p->score[i] < m->min_score)
			m->min_score = p->score[i];
	}
	return 0;
}

typedef struct node {
	uint32_t b, e;  /* character positions */
	uint32_t id;    /* 0: unknown */
	double score;
} node;

typedef struct lattice {
	node *nd;
	size_t n, cap;
	uint32_t *pos;  /* byte offset of each character, and the end */
	size_t npos, poscap;
	double *alpha, *beta;
	long *back;
	size_t acap;
} lattice;

static int
lat_push(lattice *L, uint32_t b, uint32_t e, uint32_t id, double score)
{
	if (L->n == L->cap) {
		size_t nc = L->cap ? L->cap * 2 : 256;
		node *nn = realloc(L->nd, nc * sizeof *nn);
		if (!nn)
			return -1;
		L->nd = nn;
		L->cap = nc;
	}
	L->nd[L->n].b = b;
	L->nd[L->n].e = e;
	L->nd[L->n].id = id;
	L->nd[L->n].score = score;
	L->n++;
	return 0;
}

/* All pieces found in s, by start then length; a character no piece
 * covers on its own gets an unknown node. */
static int
lat_populate(lattice *L, const umodel *m, const char *s, size_t n, size_t maxlen)
{
	size_t i, j, nc = 0;

	L->n = 0;
	if (n + 1 > L->poscap) {
		uint32_t *np = realloc(L->pos, (n + 1) * sizeof *np);
		if (!np)
			return -1;
		L->pos = np;
		L->poscap = n + 1;
	}
	for (i = 0; i < n;) {
		int l;
		ut_utf8_dec((const unsigned char *)s + i, n - i, &l);
		L->pos[nc++] = i;
		i += l;
	}
	L->pos[nc] = n;
	L->npos = nc;
	for (i = 0; i < nc; i++) {
		int single = 0;
		size_t end = i + maxlen < nc ? i + maxlen : nc;
		uint32_t b, node = 0;
		j = i + 1;
		for (b = L->pos[i]; b < L->pos[end]; b++) {
			long c = trie_child(m, node, (unsigned char)s[b]);
			if (c < 0)
				break;
			node = (uint32_t)c;
			if (b + 1 != L->pos[j])
				continue;
			if (m->pid[node] >= 0) {
				if (lat_push(L, i, j, (uint32_t)m->pid[node], m->score[m->pid[node]]) < 0)
					return -1;
				if (j == i + 1)
					single = 1;
			}
			j++;
		}
		if (!single && lat_push(L, i, i + 1, 0, m->min_score - UNK_PENALTY) < 0)
			return -1;
	}
	if (nc + 1 > L->acap) {
		size_t ac = (nc + 1) * 2;
		double *a = realloc(L->alpha, ac * sizeof *a);
		if (!a)
			return -1;
		L->alpha = a;
		a = realloc(L->beta, ac * sizeof *a);
		if (!a)
			return -1;
		L->beta = a;
		long *bk = realloc(L->back, ac * sizeof *bk);
		if (!bk)
			return -1;
		L->back = bk;
		L->acap = ac;
	}
	return 0;
}

static double
lse(double x, double y)
{
	double lo = x < y ? x : y, hi = x < y ? y : x;

	if (lo == -INFINITY)
		return hi;
	if (hi > lo + 50.0)
		return hi;
	return hi + log(exp(lo - hi) + 1.0);
}

/* Forward-backward: add count x the marginal of each node to expected;
 * returns log Z. */
static double
lat_marginal(lattice *L, double count, double *expected)
{
	size_t i, nc = L->npos;
	double z;

	for (i = 0; i <= nc; i++)
		L->alpha[i] = L->beta[i] = -INFINITY;
	L->alpha[0] = 0;
	for (i = 0; i < L->n; i++) {
		node *x = &L->nd[i];
		L->alpha[x->e] = lse(L->alpha[x->e], L->alpha[x->b] + x->score);
	}
	L->beta[nc] = 0;
	for (i = L->n; i-- > 0;) {
		node *x = &L->nd[i];
		L->beta[x->b] = lse(L->beta[x->b], x->score + L->beta[x->e]);
	}
	z = L->alpha[nc];
	for (i = 0; i < L->n; i++) {
		node *x = &L->nd[i];
		expected[x->id] += count * exp(L->alpha[x->b] + x->score + L->beta[x->e] - z);
	}
	return z;
}

/* Best segmentation, skipping node `skip` (or none: -1).  Fills out with
 * node indices in order; returns their count, or -1 when no path. */
static long
lat_viterbi(lattice *L, long skip, long *out)
{
	size_t i, nc = L->npos;
	long k, n = 0;

	for (i = 0; i <= nc; i++) {
		L->alpha[i] = -INFINITY;
		L->back[i] = -1;
	}
	L->alpha[0] = 0;
	for (i = 0; i < L->n; i++) {
		node *x = &L->nd[i];
		double s;
		if ((long)i == skip || L->alpha[x->b] == -INFINITY)
			continue;
		s = L->alpha[x->b] + x->score;
		if (L->back[x->e] < 0 || s > L->alpha[x->e]) {
			L->alpha[x->e] = s;
			L->back[x->e] = i;
		}
	}
	if (L->back[nc] < 0)
		return -1;
	for (k = L->back[nc]; k >= 0; k = L->nd[k].b ? L->back[L->nd[k].b] : -1)
		n++;
	i = n;
	for (k = L->back[nc]; k >= 0; k = L->nd[k].b ? L->back[L->nd[k].b] : -1)
		out[--i] = k;
	return n;
}

static void
lat_release(lattice *L)
{
	free(L->nd);
	free(L->pos);
	free(L->alpha);
	free(L->beta);
	free(L->back);
}

static double
digamma(double x)
{
	double r = 0, xx, xx2, xx4;

	while (x < 7) {
		r -= 1 / x;
		x += 1;
	}
	x -= 0.5;
	xx = 1 / x;
	xx2 = xx * xx;
	xx4 = xx2 * xx2;
	r += log(x) + (1.0 / 24) * xx2 - 7.0 / 960 * xx4 + (31.0 / 8064) * xx4 * xx2 -
	     (127.0 / 30720) * xx4 * xx4;
	return r;
}

/* --------------------------------------------------------------- seeds */

typedef struct sub {
	uint64_t hash;
	size_t off;
	uint32_t len;     /* bytes */
	uint32_t nchar;
	uint64_t freq;
	int32_t next;     /* the character that followed it first (0: end) */
	int branching;
} sub;

typedef struct subtab {
	sub *a;
	size_t n, cap;
} subtab;

static int
st_grow(subtab *t)
{
	size_t nc = t->cap ? t->cap * 2 : 1 << 16, i;
	sub *a = calloc(nc, sizeof *a);

	if (!a)
		return -1;
	for (i = 0; i < t->cap; i++) {
		if (!t->a[i].len)
			continue;
		size_t j = t->a[i].hash & (nc - 1);
		while (a[j].len)
			j = (j + 1) & (nc - 1);
		a[j] = t->a[i];
	}
	free(t->a);
	t->a = a;
	t->cap = nc;
	return 0;
}

static const char *seed_arena;

static int
seed_cmp(const void *x, const void *y)
{
	const sub *a = *(sub *const *)x, *b = *(sub *const *)y;
	uint64_t sa = a->freq * a->nchar, sb = b->freq * b->nchar;
	size_t l;
	int c;

	if (sa != sb)
		return sa > sb ? -1 : 1;
	l = a->len < b->len ? a->len : b->len;
	c = memcmp(seed_arena + a->off, seed_arena + b->off, l);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

typedef struct chr {
	int32_t cp;
	uint64_t freq;
} chr;

static int
chr_cmp(const void *x, const void *y)
{
	const chr *a = x, *b = y;
	if (a->freq != b->freq)
		return a->freq > b->freq ? -1 : 1;
	return a->cp > b->cp ? -1 : a->cp < b->cp;
}

typedef struct uword {
	const char *s;
	uint32_t len;
	uint64_t count;
} uword;

/* Seeds: characters by frequency, then frequent substrings. */
static int
make_seeds(te_trainer *t, const uword *w, size_t nw, pieces *out, chr **chars,
           size_t *nchars)
{
	subtab st = {0};
	chr *ch = NULL;
	size_t nch = 0, capch = 0, i, j, k;
	int32_t *cps = NULL;
	size_t *offs = NULL, capcp = 0;
	sub **order = NULL;
	double sum = 0;
	size_t maxlen = t->o.max_piece_length;
	ut_strmap chtab = {0};
	int rc = -1;

	for (i = 0; i < nw; i++) {
		const unsigned char *s = (const unsigned char *)w[i].s;
		size_t n = w[i].len, L = 0;
		if (n + 1 > capcp) {
			capcp = (n + 1) * 2;
			int32_t *nc = realloc(cps, capcp * sizeof *nc);
			if (!nc)
				goto out;
			cps = nc;
			size_t *no = realloc(offs, capcp * sizeof *no);
			if (!no)
				goto out;
			offs = no;
		}
		for (j = 0; j < n;) {
			int l;
			cps[L] = ut_utf8_dec(s + j, n - j, &l);
			offs[L++] = j;
			/* character frequency, weighted by the count */
			char b[4];
			int bl = ut_utf8_enc(cps[L - 1] < 0 ? 0xfffd : cps[L - 1], b);
			long id = ut_strmap_intern(&chtab, b, bl);
			if (id < 0)
				goto out;
			if ((size_t)id >= nch) {
				if (nch == capch) {
					capch = capch ? capch * 2 : 256;
					chr *nc = realloc(ch, capch * sizeof *nc);
					if (!nc)
						goto out;
					ch = nc;
				}
				ch[nch].cp = cps[L - 1] < 0 ? 0xfffd : cps[L - 1];
				ch[nch++].freq = 0;
			}
			ch[id].freq += w[i].count;
			j += l;
		}
		offs[L] = n;
		/* substrings of 2..maxlen characters, each distinct word once */
		for (j = 0; j < L; j++) {
			for (k = j + 2; k <= L && k - j <= maxlen; k++) {
				size_t off = (size_t)(w[i].s - t->arena) + offs[j];
				uint32_t len = offs[k] - offs[j];
				int32_t next = k < L ? cps[k] : 0;
				uint64_t h = ut_hash(t->arena + off, len);
				size_t q;
				if ((st.n + 1) * 2 > st.cap && st_grow(&st) < 0)
					goto out;
				for (q = h & (st.cap - 1); st.a[q].len; q = (q + 1) & (st.cap - 1)) {
					sub *e = &st.a[q];
					if (e->hash == h && e->len == len &&
					    !memcmp(t->arena + e->off, t->arena + off, len))
						break;
				}
				if (!st.a[q].len) {
					st.a[q].hash = h;
					st.a[q].off = off;
					st.a[q].len = len;
					st.a[q].nchar = k - j;
					st.a[q].next = next;
					st.n++;
				} else if (st.a[q].next != next) {
					st.a[q].branching = 1;
				}
				st.a[q].freq++;
			}
		}
	}
	qsort(ch, nch, sizeof *ch, chr_cmp);
	for (i = 0; i < nch; i++) {
		char b[4];
		int bl = ut_utf8_enc(ch[i].cp, b);
		char *c = malloc(bl + 1);
		if (!c)
			goto out;
		memcpy(c, b, bl);
		c[bl] = 0;
		if (pc_push(out, c, bl, (double)ch[i].freq) < 0) {
			free(c);
			goto out;
		}
	}
	order = malloc((st.n ? st.n : 1) * sizeof *order);
	if (!order)
		goto out;
	for (i = k = 0; i < st.cap; i++)
		if (st.a[i].len && st.a[i].branching)
			order[k++] = &st.a[i];
	seed_arena = t->arena;
	qsort(order, k, sizeof *order, seed_cmp);
	for (i = 0; i < k && out->n < SEED_SIZE + 1; i++) {
		char *c = malloc(order[i]->len + 1);
		if (!c)
			goto out;
		memcpy(c, t->arena + order[i]->off, order[i]->len);
		c[order[i]->len] = 0;
		if (pc_push(out, c, order[i]->len,
		            (double)order[i]->freq * order[i]->nchar) < 0) {
			free(c);
			goto out;
		}
	}
	for (i = 1; i < out->n; i++)
		sum += out->score[i];
	for (i = 1; i < out->n; i++)
		out->score[i] = log(out->score[i]) - log(sum);
	*chars = ch;
	*nchars = nch;
	ch = NULL;
	rc = 0;
out:
	free(st.a);
	free(ch);
	free(cps);
	free(offs);
	free(order);
	ut_strmap_release(&chtab);
	return rc;
}

/* ------------------------------------------------------------- prune */

typedef struct cand {
	size_t id;
	double loss;
} cand;

static int
cand_cmp(const void *x, const void *y)
{
	const cand *a = x, *b = y;
	if (a->loss != b->loss)
		return a->loss > b->loss ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

/* Keep the pieces whose removal loses the most likelihood. */
static int
prune(te_trainer *t, const umodel *m, pieces *p, const uword *w, size_t nw, lattice *L,
      size_t desired)
{
	size_t np = p->n, i, k, ncand = 0;
	char *keep_always = calloc(np, 1);
	size_t **alt = calloc(np, sizeof *alt);
	size_t *nalt = calloc(np, sizeof *nalt);
	double *freq = calloc(np, sizeof *freq), *inv = calloc(np, sizeof *inv);
	cand *cands = malloc(np * sizeof *cands);
	long *path = NULL;
	size_t pathcap = 0;
	double vsum = 0, sum = 0, logsum;
	pieces np_ = {0};
	char *kept = calloc(np, 1);
	int rc = -1;

	if (!keep_always || !alt || !nalt || !freq || !inv || !cands || !kept)
		goto out;
	/* how each piece is segmented without itself */
	for (i = 1; i < np; i++) {
		long n1, n2, full = -1;
		if (lat_populate(L, m, p->s[i], p->len[i], t->o.max_piece_length) < 0)
			goto out;
		if (L->npos + 1 > pathcap) {
			pathcap = (L->npos + 1) * 2;
			long *np2 = realloc(path, pathcap * sizeof *np2);
			if (!np2)
				goto out;
			path = np2;
		}
		n1 = lat_viterbi(L, -1, path);
		if (n1 >= 2) {
			keep_always[i] = 0;
			continue;
		}
		if (n1 == 1)
			full = path[0];
		n2 = lat_viterbi(L, full, path);
		keep_always[i] = 1;
		if (n1 == 1 && n2 > 0) {
			alt[i] = malloc(n2 * sizeof **alt);
			if (!alt[i])
				goto out;
			for (k = 0; k < (size_t)n2; k++)
				alt[i][k] = L->nd[path[k]].id;
			nalt[i] = n2;
		}
	}
	/* Viterbi frequencies over the corpus */
	for (i = 0; i < nw; i++) {
		long n;
		if (lat_populate(L, m, w[i].s, w[i].len, t->o.max_piece_length) < 0)
			goto out;
		if (L->npos + 1 > pathcap) {
			pathcap = (L->npos + 1) * 2;
			long *np2 = realloc(path, pathcap * sizeof *np2);
			if (!np2)
				goto out;
			path = np2;
		}
		vsum += w[i].count;
		n = lat_viterbi(L, -1, path);
		for (k = 0; k < (size_t)(n > 0 ? n : 0); k++) {
			freq[L->nd[path[k]].id] += w[i].count;
			inv[L->nd[path[k]].id] += w[i].count;
		}
	}
	for (i = 0; i < np; i++)
		sum += freq[i];
	logsum = log(sum);
	kept[0] = 1;
	for (i = 1; i < np; i++) {
		if (freq[i] == 0 && !keep_always[i])
			continue;
		if (!nalt[i]) {
			kept[i] = 1;
			continue;
		}
		double f = inv[i];
		if (f == 0 || isnan(f))
			continue;
		f /= vsum;
		double lp = log(freq[i]) - logsum;
		/* as HF: the number of pieces, not of alternatives */
		double lsalt = log(sum + freq[i] * (double)(np - 1));
		double lpalt = 0;
		for (k = 0; k < nalt[i]; k++)
			lpalt += log(freq[alt[i][k]] + freq[i]) - lsalt;
		cands[ncand].id = i;
		cands[ncand++].loss = f * (lp - lpalt);
	}
	size_t pruned = (size_t)((double)np * 0.75);
	if (pruned < desired)
		pruned = desired;
	size_t nkept = 0;
	for (i = 0; i < np; i++)
		nkept += kept[i];
	qsort(cands, ncand, sizeof *cands, cand_cmp);
	for (i = 0; i < ncand && nkept < pruned; i++, nkept++)
		kept[cands[i].id] = 2;
	/* the new list: kept pieces in order, then candidates by loss (HF) */
	for (i = 0; i < np; i++)
		if (kept[i] == 1 && pc_push(&np_, p->s[i], p->len[i], p->score[i]) < 0)
			goto out;
	for (k = 0; k < i && k < ncand; k++)
		if (kept[cands[k].id] == 2 &&
		    pc_push(&np_, p->s[cands[k].id], p->len[cands[k].id],
		            p->score[cands[k].id]) < 0)
			goto out;
	for (i = 0; i < np; i++)
		if (!kept[i])
			free(p->s[i]);
	pc_release(p, 0);
	*p = np_;
	memset(&np_, 0, sizeof np_);
	rc = 0;
out:
	if (alt)
		for (i = 0; i < np; i++)
			free(alt[i]);
	free(alt);
	free(nalt);
	free(keep_always);
	free(freq);
	free(inv);
	free(cands);
	free(path);
	free(kept);
	pc_release(&np_, 0);
	return rc;
}

/* -------------------------------------------------------------- train */

typedef struct fin {
	size_t idx;
	double score;
} fin;

static int
fin_cmp(const void *x, const void *y)
{
	const fin *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* One EM step: expected counts by forward-backward, then the Bayesian M
 * step, which drops pieces expected less than half a time. */
static int
em_step(te_trainer *t, pieces *p, const uword *w, size_t nw, umodel *m, lattice *L,
        double **expected)
{
	double *e, sum = 0, ls;
	size_t i, o = 1;

	if (um_build(m, p) < 0)
		return -1;
	if (!(e = realloc(*expected, p->n * sizeof *e)))
		return -1;
	*expected = e;
	memset(e, 0, p->n * sizeof *e);
	for (i = 0; i < nw; i++) {
		if (lat_populate(L, m, w[i].s, w[i].len, t->o.max_piece_length) < 0)
			return -1;
		lat_marginal(L, (double)w[i].count, e);
	}
	for (i = 1; i < p->n; i++) {
		if (e[i] < 0.5) {
			free(p->s[i]);
			continue;
		}
		p->s[o] = p->s[i];
		p->len[o] = p->len[i];
		p->score[o++] = e[i];
		sum += e[i];
	}
	p->n = o;
	ls = digamma(sum);
	for (i = 1; i < p->n; i++)
		p->score[i] = digamma(p->score[i]) - ls;
	return 0;
}

/* The vocabulary: special tokens (and <unk> first when none is given),
 * then the characters and the pieces, by score, up to the size asked. */
static int
make_vocab(te_trainer *t, const pieces *p, const chr *ch, size_t nch, umodel *m,
           int have_unk)
{
	size_t want = t->o.vocab_size - t->o.n_special - !have_unk;
	fin *f = malloc((p->n + nch) * sizeof *f);
	char **str = malloc((p->n + nch) * sizeof *str);
	uint32_t *len = malloc((p->n + nch) * sizeof *len);
	size_t nf = 0, i, k;
	double penalty = 0;
	ut_strmap seen = {0};
	int rc = -1;

	if (!f || !str || !len || um_build(m, p) < 0)
		goto out;
	for (i = 0; i < nch; i++) {
		char b[5];
		int bl = ut_utf8_enc(ch[i].cp, b);
		long id = trie_find(m, b, bl);
		b[bl] = 0;
		ut_strmap_intern(&seen, b, bl);
		str[nf] = strdup(b);
		len[nf] = bl;
		f[nf].idx = nf;
		if (id > 0 && (size_t)id < m->np) {
			f[nf].score = p->score[id];
		} else {
			f[nf].score = m->min_score + penalty;
			penalty += 0.0001;
		}
		nf++;
	}
	for (i = 1; i < p->n && nf < want; i++) {
		if (ut_strmap_get(&seen, p->s[i], p->len[i]) >= 0)
			continue;
		ut_strmap_intern(&seen, p->s[i], p->len[i]);
		str[nf] = strdup(p->s[i]);
		len[nf] = p->len[i];
		f[nf].idx = nf;
		f[nf].score = isnan(p->score[i]) ? 0 : p->score[i];
		nf++;
	}
	qsort(f, nf, sizeof *f, fin_cmp);
	t->scores = malloc((nf + t->o.n_special + 1) * sizeof *t->scores);
	if (!t->scores)
		goto out;
	if (!have_unk) {
		t->scores[t->vocab.n] = 0;
		if (ut_strmap_intern(&t->vocab, "<unk>", 5) < 0)
			goto out;
	}
	for (i = 0; i < t->o.n_special; i++) {
		t->scores[t->vocab.n] = 0;
		if (ut_strmap_intern(&t->vocab, t->special[i], strlen(t->special[i])) < 0)
			goto out;
	}
	for (k = 0; k < nf; k++) {
		size_t idx = f[k].idx;
		if (ut_strmap_get(&t->vocab, str[idx], len[idx]) >= 0)
			continue;
		t->scores[t->vocab.n] = f[k].score;
		if (ut_strmap_intern(&t->vocab, str[idx], len[idx]) < 0)
			goto out;
	}
	rc = 0;
out:
	ut_strmap_release(&seen);
	if (str)
		for (k = 0; k < nf; k++)
			free(str[k]);
	free(str);
	free(len);
	free(f);
	return rc;
}

int
tk_train_unigram(te_trainer *t, te_diag *d)
{
	uword *w = NULL;
	size_t nw = 0, i, nch = 0;
	pieces p = {0};
	chr *ch = NULL;
	umodel m = {0};
	lattice L = {0};
	double *expected = NULL;
	size_t desired = t->o.vocab_size * 11 / 10;
	int have_unk = 0, rc = -1, round = 0;
	char *unk0;

	for (i = 0; i < t->o.n_special; i++)
		if (!strcmp(t->special[i], "<unk>") || !strcmp(t->special[i], "[UNK]"))
			have_unk = 1;
	w = malloc(t->wc_n * sizeof *w);
	if (!w)
		goto oom;
	for (i = 0; i < t->wc_cap; i++)
		if (t->wc[i].count) {
			w[nw].s = t->arena + t->wc[i].off;
			w[nw].len = t->wc[i].len;
			w[nw++].count = t->wc[i].count;
		}
	/* piece 0 stands for the unknown; its string never matches text */
	if (!(unk0 = strdup("\xff")) || pc_push(&p, unk0, 1, NAN) < 0)
		goto oom;
	tk_train_progress(t, "seed pieces", 0, 0);
	if (make_seeds(t, w, nw, &p, &ch, &nch) < 0)
		goto oom;
	if (nch + t->o.n_special + !have_unk > t->o.vocab_size) {
		te_diag_set(d, "", 0,
		            "vocabulary size %zu is smaller than the alphabet: %zu characters "
		            "and %zu special tokens are needed",
		            t->o.vocab_size, nch, t->o.n_special + !have_unk);
		goto out;
	}
	/* rounds of two EM steps and pruning, until few enough pieces remain */
	for (;;) {
		if (em_step(t, &p, w, nw, &m, &L, &expected) < 0 ||
		    em_step(t, &p, w, nw, &m, &L, &expected) < 0)
			goto oom;
		tk_train_progress(t, "prune", ++round, 0);
		if (p.n <= desired)
			break;
		if (um_build(&m, &p) < 0 || prune(t, &m, &p, w, nw, &L, desired) < 0)
			goto oom;
	}
	if (make_vocab(t, &p, ch, nch, &m, have_unk) < 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	rc = -1;
	te_diag_set(d, "", 0, "out of memory");
out:
	free(w);
	pc_release(&p, 1);
	free(ch);
	um_release(&m);
	lat_release(&L);
	free(expected);
	return rc;
}
