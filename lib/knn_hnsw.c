/* knn_hnsw.c: Hierarchical Navigable Small World graphs (Malkov & Yashunin 2016)
 * over the rows of a te_vecs: built in parallel, saved as a file that is
 * memory-mapped when loaded, searched in parallel. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kern_int.h"
#include "knn_int.h"
#include "util_int.h"
#include "tokemb.h"

/*
 * File layout (little-endian):
 *   0   8  magic "TOKEMBH\0"
 *   8   4  version (3)
 *   12  4  metric (te_knn_metric)
 *   16  8  rows
 *   24  8  dim
 *   32  4  M (links per node on the upper layers; layer 0 has 2M)
 *   36  4  ef_construction
 *   40  4  top layer
 *   44  4  zero
 *   48  8  entry point (node)
 *   56  8  fingerprint of the vectors (see fingerprint())
 *   64  8  size of the upper-layer link table in u32 units
 *   72  8  record size in bytes (see below)
 *   80  48 zero
 *   128    levels: rows u8, padded to 64
 *          layer 0: rows records of recsz bytes, a multiple of 64, each
 *            dim f32: the row (scaled to unit length for cosine, so that
 *              the search scores by a dot product), then
 *            u32 count, 2M u32 links, zero padding:
 *          a node's vector and its links in one place, as hnswlib has them
 *          upper offsets: rows u64, into the upper table (u32 units)
 *          upper table: per node of level L > 0, L * (1 + M) u32, padded to 8
 *          perm: rows u32, the row of each node, padded to 8
 * The nodes are the rows in another order: the highest level first, so
 * that the upper layers, which every query walks down, lie together at the
 * start of the file and stay in cache; within a level in breadth-first
 * order on layer 0 from the entry point, so that neighbours lie near each
 * other (fewer TLB and DRAM page misses: 10-20% faster at a million rows
 * than row order).  Links name nodes.
 * Versions 1 (a link table apart from the vectors) and 2 (nodes in row
 * order) are refused.
 */
#define HNSW_MAGIC "TOKEMBH"
#define HNSW_VERSION 3
#define HNSW_HEADER 128
#define NLOCKS 4096

/* Per-thread search state. */
typedef struct pq {
	float *s;
	uint32_t *id;
	size_t n, cap;
} pq;

typedef struct hctx {
	uint16_t *visited;   /* epoch tags: visited when == stamp */
	size_t vsize;        /* bytes mapped for visited */
	uint16_t stamp;
	pq cand;             /* candidates, best first (score) */
	pq top;              /* results, worst first (-score) */
	float *qbuf;
	uint32_t *tmp;
	uint32_t *fresh;
	uint32_t *node;      /* the node of each hit kept, for its score */
	size_t nodecap;
} hctx;

struct te_hnsw {
	te_vecs *v;
	const float *data;   /* the rows as given (for the final scores) */
	size_t rows, dim;
	te_knn_metric metric;
	size_t M, M0, efc;
	int top;
	uint32_t entry;
	uint8_t *level;
	unsigned char *rec;  /* rows * recsz */
	size_t recsz, loff;  /* record size, offset of the links in it */
	uint32_t **ul;       /* built: per node, level * (1 + M), or NULL */
	uint64_t *uoff;      /* loaded: offsets into upper */
	uint32_t *upper;
	uint64_t upper_n;
	const uint32_t *perm;  /* loaded: node -> row */
	void *map;
	size_t maplen;
	int populated;
	pthread_mutex_t *locks;
	pthread_mutex_t glock;
	kern_sim_fn sim;           /* similarity: dot, or -|a-b|^2 */
	hctx *ctx;           /* search contexts, one per thread, kept */
	int nctx;
};

static inline const float *
vec(const te_hnsw *h, uint32_t r)
{
	return (const float *)(h->rec + (size_t)r * h->recsz);
}

/* Similarity of a prepared query (unit for cosine) to row r: higher is
 * closer. */
static inline float
qscore(const te_hnsw *h, const float *q, uint32_t r)
{
	return h->sim(q, vec(h, r), h->dim);
}

static inline float
nscore(const te_hnsw *h, uint32_t a, uint32_t b)
{
	return h->sim(vec(h, a), vec(h, b), h->dim);
}

static inline uint32_t *
links(const te_hnsw *h, uint32_t n, int lev)
{
	if (lev == 0)
		return (uint32_t *)(h->rec + (size_t)n * h->recsz + h->loff);
	if (h->ul)
		return h->ul[n] + (size_t)(lev - 1) * (1 + h->M);
	return h->upper + h->uoff[n] + (size_t)(lev - 1) * (1 + h->M);
}

/* ------------------------------------------------------------- heaps */

/* A max-heap of (score, id) on score. */
static int
pq_init(pq *p, size_t cap)
{
	p->s = malloc(cap * sizeof *p->s);
	p->id = malloc(cap * sizeof *p->id);
	p->n = 0;
	p->cap = cap;
	return p->s && p->id ? 0 : -1;
}

static void
pq_release(pq *p)
{
	free(p->s);
	free(p->id);
}

static int
pq_grow(pq *p)
{
	size_t nc = p->cap * 2;
	float *ns = realloc(p->s, nc * sizeof *ns);
	uint32_t *ni;

	if (!ns)
		return -1;
	p->s = ns;
	ni = realloc(p->id, nc * sizeof *ni);
	if (!ni)
		return -1;
	p->id = ni;
	p->cap = nc;
	return 0;
}

static inline int
pq_push(pq *p, float s, uint32_t id)
{
	size_t i;

	if (p->n == p->cap && pq_grow(p) < 0)
		return -1;
	i = p->n++;
	while (i > 0) {
		size_t par = (i - 1) / 2;

		if (p->s[par] >= s)
			break;
		p->s[i] = p->s[par];
		p->id[i] = p->id[par];
		i = par;
	}
	p->s[i] = s;
	p->id[i] = id;
	return 0;
}

/* Replace the top by (s, id) and restore the order: a pop and a push in
 * one pass.  n > 0. */
static inline void
pq_replace_top(pq *p, float s, uint32_t id)
{
	size_t i = 0, n = p->n;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		float ws = s;

		if (l < n && p->s[l] > ws) {
			w = l;
			ws = p->s[l];
		}
		if (r < n && p->s[r] > ws)
			w = r;
		if (w == i)
			break;
		p->s[i] = p->s[w];
		p->id[i] = p->id[w];
		i = w;
	}
	p->s[i] = s;
	p->id[i] = id;
}

static inline void
pq_pop(pq *p)
{
	if (p->n == 0)
		return;
	p->n--;
	if (p->n)
		pq_replace_top(p, p->s[p->n], p->id[p->n]);
}

/* n zeroed tags, mapped apart: in 2 MB pages where the kernel gives them
 * for the asking (transparent_hugepage=madvise), as a search reads them at
 * random, one per node seen (a million rows: 2 MB, one TLB entry instead
 * of 512).  NULL when out of memory. */
static uint16_t *
tags_alloc(size_t n, size_t *size)
{
	const size_t huge = (size_t)2 << 20;
	size_t sz = (n * sizeof(uint16_t) + 4095) / 4096 * 4096;
	uint16_t *p;

	if (sz >= huge / 2)	/* whole 2 MB pages */
		sz = (sz + huge - 1) & ~(huge - 1);
	if (!(p = ut_zero_map(sz)))
		return NULL;
	if (sz >= huge / 2)
		ut_huge_advise(p, sz);
	*size = sz;
	return p;
}

static int
ctx_init(hctx *c, const te_hnsw *h)
{
	memset(c, 0, sizeof *c);
	c->visited = tags_alloc(h->rows ? h->rows : 1, &c->vsize);
	c->qbuf = aligned_alloc(64, (h->dim + 15) / 16 * 64);
	c->tmp = malloc((h->M0 + 2) * sizeof *c->tmp);
	c->fresh = malloc((h->M0 + 2) * sizeof *c->fresh);
	if (!c->visited || !c->qbuf || !c->tmp || !c->fresh || pq_init(&c->cand, 256) < 0 ||
	    pq_init(&c->top, 256) < 0)
		return -1;
	return 0;
}

static void
ctx_release(hctx *c)
{
	ut_zero_unmap(c->visited, c->vsize);
	free(c->qbuf);
	free(c->tmp);
	free(c->fresh);
	free(c->node);
	pq_release(&c->cand);
	pq_release(&c->top);
}

static void
new_stamp(hctx *c, size_t rows)
{
	if (++c->stamp == 0) {
		memset(c->visited, 0, rows * sizeof *c->visited);
		c->stamp = 1;
	}
}

/* Copy the links of n at lev into c->tmp (under the node's lock while the
 * graph is being built), leaving out any that a damaged file may hold: a
 * layer the node is not on, a count beyond M, a row beyond the vectors.
 * Checking here costs a compare per link; checking the whole file at load
 * would read all of it for each run.  Returns the count. */
static size_t
read_links(const te_hnsw *h, hctx *c, uint32_t n, int lev, int locked)
{
	const uint32_t *l;
	size_t cnt, got = 0, max = lev ? h->M : h->M0;

	if (lev > 0) {
		if (h->level[n] < lev)
			return 0;
		if (!h->ul && (h->uoff[n] > h->upper_n ||
		               (uint64_t)h->level[n] * (1 + h->M) > h->upper_n - h->uoff[n]))
			return 0;
	}
	if (locked)
		pthread_mutex_lock(&h->locks[n % NLOCKS]);
	l = links(h, n, lev);
	cnt = l[0] < max ? l[0] : max;
	for (size_t i = 0; i < cnt; i++)
		if (l[1 + i] < h->rows)
			c->tmp[got++] = l[1 + i];
	if (locked)
		pthread_mutex_unlock(&h->locks[n % NLOCKS]);
	return got;
}

/* Greedy descent on one layer from *ep (score *eps). */
static void
greedy(const te_hnsw *h, hctx *c, const float *q, int lev, uint32_t *ep, float *eps,
       int locked)
{
	int changed = 1;

	while (changed) {
		size_t cnt = read_links(h, c, *ep, lev, locked);

		changed = 0;
		for (size_t i = 0; i < cnt; i++)
			__builtin_prefetch(vec(h, c->tmp[i]));
		for (size_t i = 0; i < cnt; i++) {
			float s = qscore(h, q, c->tmp[i]);

			if (s > *eps) {
				*eps = s;
				*ep = c->tmp[i];
				changed = 1;
			}
		}
	}
}

/* The ef closest to q on layer lev, from ep: left in c->top (keys -score).
 * Each node expanded has its links read once: the ones not yet seen are
 * marked and their vectors asked for from memory, all at once, then
 * scored. */
static int
search_layer(const te_hnsw *h, hctx *c, const float *q, uint32_t ep, float eps,
             int lev, size_t ef, int locked)
{
	float bound;
	size_t max = lev ? h->M : h->M0;
	uint32_t *fresh = c->fresh;

	new_stamp(c, h->rows);
	c->cand.n = c->top.n = 0;
	c->visited[ep] = c->stamp;
	if (pq_push(&c->cand, eps, ep) < 0 || pq_push(&c->top, -eps, ep) < 0)
		return -1;
	bound = eps;
	while (c->cand.n) {
		float cs = c->cand.s[0];
		uint32_t cur = c->cand.id[0];
		const uint32_t *lp;
		size_t cnt, nf = 0;

		if (cs < bound && c->top.n >= ef)
			break;
		pq_pop(&c->cand);
		if (c->cand.n && lev == 0)
			__builtin_prefetch(links(h, c->cand.id[0], 0));
		if (locked || lev > 0) {
			cnt = read_links(h, c, cur, lev, locked);
			lp = c->tmp;
		} else {
			const uint32_t *l = links(h, cur, 0);

			cnt = l[0] < max ? l[0] : max;
			lp = l + 1;
		}
		for (size_t i = 0; i < cnt; i++)
			if (lp[i] < h->rows)
				__builtin_prefetch(&c->visited[lp[i]]);
		for (size_t i = 0; i < cnt; i++) {
			uint32_t n = lp[i];

			if (n >= h->rows || c->visited[n] == c->stamp)
				continue;
			c->visited[n] = c->stamp;
			fresh[nf++] = n;
			/* the first line; the rest follows by the hardware's own
			 * prefetch (asking for every line was slower: the fill
			 * buffers ran out) */
			__builtin_prefetch(vec(h, n));
		}
		for (size_t i = 0; i < nf; i++) {
			uint32_t n = fresh[i];
			float s;

			if (i + 1 < nf) {
				/* the rest of the next vector while this one is scored */
				const char *nv = (const char *)vec(h, fresh[i + 1]);

				for (size_t o = 64; o < h->dim * sizeof(float); o += 64)
					__builtin_prefetch(nv + o);
			}
			s = qscore(h, q, n);

			if (c->top.n < ef) {
				if (pq_push(&c->cand, s, n) < 0 || pq_push(&c->top, -s, n) < 0)
					return -1;
				bound = -c->top.s[0];
			} else if (s > bound) {
				if (pq_push(&c->cand, s, n) < 0)
					return -1;
				pq_replace_top(&c->top, -s, n);
				bound = -c->top.s[0];
			}
		}
	}
	return 0;
}

/* hnswlib's getNeighborsByHeuristic2: from candidates (ids, scores to the
 * base, any order) keep at most m, closest first, skipping a candidate that
 * is closer to one already kept than to the base. */
static size_t
heuristic(const te_hnsw *h, uint32_t *ids, float *sc, size_t n, size_t m)
{
	size_t kept = 0;

	/* sort by score, best first (insertion sort: n is at most ef) */
	for (size_t i = 1; i < n; i++) {
		float s = sc[i];
		uint32_t id = ids[i];
		size_t j = i;

		while (j > 0 && sc[j - 1] < s) {
			sc[j] = sc[j - 1];
			ids[j] = ids[j - 1];
			j--;
		}
		sc[j] = s;
		ids[j] = id;
	}
	if (n <= m)
		return n;
	for (size_t i = 0; i < n && kept < m; i++) {
		int good = 1;

		for (size_t j = 0; j < kept; j++)
			if (nscore(h, ids[i], ids[j]) > sc[i]) {
				good = 0;
				break;
			}
		if (good) {
			ids[kept] = ids[i];
			sc[kept] = sc[i];
			kept++;
		}
	}
	return kept;
}

/* Link node cur on layer lev to the best of c->top, and them back to it.
 * Returns the closest as the next entry point. */
static uint32_t
connect(te_hnsw *h, hctx *c, uint32_t cur, int lev, uint32_t **selbuf, float **selsc)
{
	size_t n = c->top.n, mmax = lev ? h->M : h->M0, m;
	uint32_t *ids = *selbuf;
	float *sc = *selsc;
	uint32_t *l;

	for (size_t i = 0; i < n; i++) {
		ids[i] = c->top.id[i];
		sc[i] = -c->top.s[i];
	}
	m = heuristic(h, ids, sc, n, h->M);
	pthread_mutex_lock(&h->locks[cur % NLOCKS]);
	l = links(h, cur, lev);
	l[0] = (uint32_t)m;
	memcpy(l + 1, ids, m * sizeof *ids);
	pthread_mutex_unlock(&h->locks[cur % NLOCKS]);
	for (size_t i = 0; i < m; i++) {
		uint32_t nb = ids[i];
		uint32_t *nl;

		pthread_mutex_lock(&h->locks[nb % NLOCKS]);
		nl = links(h, nb, lev);
		if (nl[0] < mmax) {
			nl[1 + nl[0]] = cur;
			nl[0]++;
		} else {
			/* full: choose again among the old links and cur */
			size_t cnt = nl[0];
			uint32_t cid[512 + 1];
			float cs[512 + 1];

			for (size_t j = 0; j < cnt; j++) {
				cid[j] = nl[1 + j];
				cs[j] = nscore(h, nb, nl[1 + j]);
			}
			cid[cnt] = cur;
			cs[cnt] = sc[i];
			cnt = heuristic(h, cid, cs, cnt + 1, mmax);
			nl[0] = (uint32_t)cnt;
			memcpy(nl + 1, cid, cnt * sizeof *cid);
		}
		pthread_mutex_unlock(&h->locks[nb % NLOCKS]);
	}
	return ids[0];
}

/* q as the index holds its rows: unit length for cosine (gensim's unitvec:
 * a zero vector stays zero). */
static void
prep_vec(te_knn_metric m, const float *q, size_t dim, float *out)
{
	if (m == TE_KNN_METRIC_COSINE) {
		float n = kern_norm(q, dim);

		for (size_t i = 0; i < dim; i++)
			out[i] = n > 0 ? q[i] / n : q[i];
	} else {
		memcpy(out, q, dim * sizeof *out);
	}
}

struct build {
	te_hnsw *h;
	size_t next;
	size_t ef;
	int failed;
};

static int
insert(te_hnsw *h, hctx *c, uint32_t cur, size_t ef, uint32_t **selbuf, float **selsc)
{
	int lev = h->level[cur], top;
	uint32_t ep;
	float eps;
	const float *q = vec(h, cur);

	pthread_mutex_lock(&h->glock);
	top = h->top;
	ep = h->entry;
	if (lev <= top)
		pthread_mutex_unlock(&h->glock);
	eps = qscore(h, q, ep);
	for (int l = top; l > lev; l--)
		greedy(h, c, q, l, &ep, &eps, 1);
	for (int l = lev < top ? lev : top; l >= 0; l--) {
		if (search_layer(h, c, q, ep, eps, l, ef, 1) < 0) {
			if (lev > top)
				pthread_mutex_unlock(&h->glock);
			return -1;
		}
		/* drop cur itself should it have been reached */
		for (size_t i = 0; i < c->top.n; i++)
			if (c->top.id[i] == cur) {
				c->top.id[i] = c->top.id[c->top.n - 1];
				c->top.s[i] = c->top.s[c->top.n - 1];
				c->top.n--;
				break;
			}
		if (c->top.n == 0)
			continue;
		ep = connect(h, c, cur, l, selbuf, selsc);
		eps = qscore(h, q, ep);
	}
	if (lev > top) {
		h->top = lev;
		h->entry = cur;
		pthread_mutex_unlock(&h->glock);
	}
	return 0;
}

static void
build_worker(void *arg, int tid)
{
	struct build *b = arg;
	te_hnsw *h = b->h;
	hctx c;
	size_t cap = b->ef + h->M0 + 2, i;
	uint32_t *sel = malloc(cap * sizeof *sel);
	float *selsc = malloc(cap * sizeof *selsc);

	if (!sel || !selsc || ctx_init(&c, h) < 0) {
		__atomic_store_n(&b->failed, 1, __ATOMIC_RELAXED);
		free(sel);
		free(selsc);
		ctx_release(&c);
		return;
	}
	while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED)) < h->rows) {
		if (insert(h, &c, (uint32_t)i, b->ef, &sel, &selsc) < 0) {
			__atomic_store_n(&b->failed, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	free(sel);
	free(selsc);
	ctx_release(&c);
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Rows, dim and 64 sampled rows: enough to refuse a graph built for other
 * vectors without reading them all.  FNV-1a, not ut_hash: the value is
 * written in the file (see the layout above) and must not change. */
static uint64_t
fingerprint(const te_vecs *v)
{
	size_t rows = te_vecs_rows(v), dim = te_vecs_dim(v);
	uint64_t h = 1469598103934665603ull;
	const unsigned char *p;

	h = (h ^ rows) * 1099511628211ull;
	h = (h ^ dim) * 1099511628211ull;
	for (size_t s = 0; s < 64 && rows; s++) {
		size_t r = s * (rows - 1) / 63;

		p = (const unsigned char *)te_vecs_row(v, r);
		for (size_t i = 0; i < dim * sizeof(float); i++)
			h = (h ^ p[i]) * 1099511628211ull;
	}
	return h;
}

static size_t
rec_size(size_t dim, size_t M)
{
	return (dim * sizeof(float) + (1 + 2 * M) * sizeof(uint32_t) + 63) / 64 * 64;
}

static te_hnsw *
hnsw_alloc(te_vecs *v, te_knn_metric metric, size_t M, te_diag *d)
{
	te_hnsw *h = calloc(1, sizeof *h);

	if (!h) {
		te_diag_set(d, NULL, 0, "out of memory");
		return NULL;
	}
	h->v = v;
	h->data = te_vecs_data(v);
	h->rows = te_vecs_rows(v);
	h->dim = te_vecs_dim(v);
	h->metric = metric;
	h->M = M;
	h->M0 = 2 * M;
	h->loff = h->dim * sizeof(float);
	h->recsz = rec_size(h->dim, M);
	h->sim = kern_pick_sim(metric == TE_KNN_METRIC_EUCLIDEAN);
	return h;
}

te_hnsw *
te_hnsw_build(te_vecs *v, te_knn_metric metric, size_t M, size_t efc, int threads,
              uint64_t seed, te_diag *d)
{
	te_hnsw *h;
	struct build b = {0};
	double mult = 1.0 / log((double)M);
	uint64_t rs = seed;
	size_t rows = te_vecs_rows(v), dim = te_vecs_dim(v);

	if (M < 2 || M > 256 || efc < 1)
		return te_diag_set(d, NULL, 0, "bad HNSW parameters"), NULL;
	if (rows >= UINT32_MAX)
		return te_diag_set(d, NULL, 0, "too many vectors for an HNSW index"), NULL;
	if (dim && rows > SIZE_MAX / 2 / rec_size(dim, M))
		return te_diag_set(d, NULL, 0, "out of memory"), NULL;
	h = hnsw_alloc(v, metric, M, d);
	if (!h)
		return NULL;
	h->efc = efc;
	h->level = calloc(h->rows ? h->rows : 1, 1);
	h->rec = aligned_alloc(64, (h->rows ? h->rows : 1) * h->recsz);
	h->ul = calloc(h->rows ? h->rows : 1, sizeof *h->ul);
	h->locks = malloc(NLOCKS * sizeof *h->locks);
	if (!h->level || !h->rec || !h->ul || !h->locks)
		goto oom;
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_init(&h->locks[i], NULL);
	pthread_mutex_init(&h->glock, NULL);
	for (size_t i = 0; i < h->rows; i++) {
		unsigned char *r = h->rec + i * h->recsz;
		double u = ((double)(splitmix(&rs) >> 11) + 0.5) / 9007199254740992.0;
		int l = (int)(-log(u) * mult);

		memset(r, 0, h->recsz);
		prep_vec(metric, te_vecs_row(v, i), h->dim, (float *)r);
		if (l > 30)
			l = 30;
		h->level[i] = (uint8_t)l;
		if (l) {
			h->ul[i] = calloc((size_t)l * (1 + M), sizeof **h->ul);
			if (!h->ul[i])
				goto oom;
		}
	}
	if (h->rows == 0)
		return h;
	/* the first node is the entry point; the others join it in parallel */
	h->entry = 0;
	h->top = h->level[0];
	b.h = h;
	b.next = 1;
	b.ef = efc;
	if (ut_parallel(ut_threads(threads), build_worker, &b) < 0 || b.failed)
		goto oom;
	return h;
oom:
	te_diag_set(d, NULL, 0, "out of memory");
	te_hnsw_free(h);
	return NULL;
}

void
te_hnsw_free(te_hnsw *h)
{
	if (!h)
		return;
	if (h->map) {
		munmap(h->map, h->maplen);
	} else {
		free(h->level);
		free(h->rec);
		free(h->uoff);
		free(h->upper);
	}
	if (h->ul) {
		for (size_t i = 0; i < h->rows; i++)
			free(h->ul[i]);
		free(h->ul);
	}
	if (h->locks) {
		for (int i = 0; i < NLOCKS; i++)
			pthread_mutex_destroy(&h->locks[i]);
		pthread_mutex_destroy(&h->glock);
		free(h->locks);
	}
	for (int i = 0; i < h->nctx; i++)
		ctx_release(&h->ctx[i]);
	free(h->ctx);
	free(h);
}

te_knn_metric te_hnsw_metric(const te_hnsw *h) { return h->metric; }

static int
put(FILE *fp, const void *p, size_t n)
{
	return fwrite(p, 1, n, fp) == n ? 0 : -1;
}

#define VBUF ((size_t)8 << 20)

int
te_hnsw_save(const te_hnsw *h, const char *path, te_diag *d)
{
	te_atomic *a;
	unsigned char hd[HNSW_HEADER] = {0};
	static const unsigned char pad[64];
	uint32_t u32, *order = NULL, *inv = NULL, *ul = NULL, *bfs = NULL;
	uint64_t u64, off = 0;
	size_t start[32] = {0}, pos = 0, rows = h->rows;
	unsigned char *buf = NULL, *lev = NULL;
	char *vbuf = NULL;
	FILE *fp;
	int bad = 0;

	/* the nodes: the rows by level, highest first, then in breadth-first
	 * order on layer 0 from the entry point (the rows it does not reach
	 * after, in order): a search's neighbours lie near each other */
	order = malloc((rows ? rows : 1) * sizeof *order);
	inv = malloc((rows ? rows : 1) * sizeof *inv);
	bfs = malloc((rows ? rows : 1) * sizeof *bfs);
	lev = malloc(rows ? rows : 1);
	buf = malloc(h->recsz);
	ul = malloc((1 + h->M) * sizeof *ul);
	if (!order || !inv || !bfs || !lev || !buf || !ul) {
		te_diag_set(d, NULL, 0, "out of memory");
		bad = -1;
		goto out;
	}
	for (size_t i = 0; i < rows; i++)
		start[h->level[i]]++;
	for (int l = 31; l >= 0; l--) {
		size_t n = start[l];

		start[l] = pos;
		pos += n;
	}
	if (rows) {
		size_t head = 0, tail = 1;

		for (size_t i = 0; i < rows; i++)
			inv[i] = UINT32_MAX;  /* not reached yet */
		bfs[0] = h->entry;
		inv[h->entry] = 0;
		while (head < tail) {
			const uint32_t *l = links(h, bfs[head++], 0);

			for (size_t j = 0; j < l[0] && j < h->M0; j++)
				if (inv[l[1 + j]] == UINT32_MAX) {
					inv[l[1 + j]] = (uint32_t)tail;
					bfs[tail++] = l[1 + j];
				}
		}
		for (size_t i = 0; i < rows; i++)
			if (inv[i] == UINT32_MAX)
				bfs[tail++] = (uint32_t)i;
	}
	for (size_t i = 0; i < rows; i++)
		order[start[h->level[bfs[i]]]++] = bfs[i];
	for (size_t i = 0; i < rows; i++) {
		inv[order[i]] = (uint32_t)i;
		lev[i] = h->level[order[i]];
	}
	a = te_atomic_open(path, d);
	if (!a) {
		bad = -1;
		goto out;
	}
	fp = te_atomic_fp(a);
	/* written in large pieces: the page cache then holds the file in
	 * large folios, which a search maps as 2 MB pages (written 4 KB at a
	 * time, a million-row index searched 40% slower until evicted) */
	vbuf = malloc(VBUF);
	if (vbuf)
		setvbuf(fp, vbuf, _IOFBF, VBUF);
	for (size_t i = 0; i < rows; i++)
		off += (uint64_t)h->level[i] * (1 + h->M);
	memcpy(hd, HNSW_MAGIC, 8);
	u32 = HNSW_VERSION;
	memcpy(hd + 8, &u32, 4);
	u32 = (uint32_t)h->metric;
	memcpy(hd + 12, &u32, 4);
	u64 = rows;
	memcpy(hd + 16, &u64, 8);
	u64 = h->dim;
	memcpy(hd + 24, &u64, 8);
	u32 = (uint32_t)h->M;
	memcpy(hd + 32, &u32, 4);
	u32 = (uint32_t)h->efc;
	memcpy(hd + 36, &u32, 4);
	u32 = (uint32_t)h->top;
	memcpy(hd + 40, &u32, 4);
	u64 = rows ? inv[h->entry] : 0;
	memcpy(hd + 48, &u64, 8);
	u64 = fingerprint(h->v);
	memcpy(hd + 56, &u64, 8);
	memcpy(hd + 64, &off, 8);
	u64 = h->recsz;
	memcpy(hd + 72, &u64, 8);
	bad |= put(fp, hd, sizeof hd);
	bad |= put(fp, lev, rows);
	bad |= put(fp, pad, (64 - (HNSW_HEADER + rows) % 64) % 64);
	for (size_t i = 0; i < rows && !bad; i++) {
		uint32_t *l = (uint32_t *)(buf + h->loff);

		memcpy(buf, h->rec + (size_t)order[i] * h->recsz, h->recsz);
		for (size_t j = 0; j < l[0] && j < h->M0; j++)
			l[1 + j] = inv[l[1 + j]];
		bad |= put(fp, buf, h->recsz);
	}
	off = 0;
	for (size_t i = 0; i < rows && !bad; i++) {
		u64 = lev[i] ? off : 0;
		bad |= put(fp, &u64, 8);
		off += (uint64_t)lev[i] * (1 + h->M);
	}
	for (size_t i = 0; i < rows && !bad; i++)
		for (int l = 1; l <= lev[i] && !bad; l++) {
			memcpy(ul, links(h, order[i], l), (1 + h->M) * sizeof *ul);
			for (size_t j = 0; j < ul[0] && j < h->M; j++)
				ul[1 + j] = inv[ul[1 + j]];
			bad |= put(fp, ul, (1 + h->M) * sizeof *ul);
		}
	if (off % 2)
		bad |= put(fp, pad, 4);
	bad |= put(fp, order, rows * sizeof *order);
	if (rows % 2)
		bad |= put(fp, pad, 4);
	if (bad) {
		te_diag_set(d, path, 0, "write error: %s", strerror(errno));
		te_atomic_abort(a);
	} else {
		bad = te_atomic_commit(a, d);
	}
out:
	free(vbuf);  /* the stream is closed by now */
	free(order);
	free(inv);
	free(bfs);
	free(lev);
	free(buf);
	free(ul);
	return bad ? -1 : 0;
}

te_hnsw *
te_hnsw_load(const char *path, te_vecs *v, te_diag *d)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	unsigned char *m;
	uint32_t version, metric, M, efc, top;
	uint64_t rows, dim, entry, fp, upn, recsz, need, o_rec, o_uoff, o_up, o_perm;
	te_hnsw *h;

	if (fd < 0) {
		te_diag_set(d, path, 0, "%s%s", strerror(errno),
		            errno == ENOENT ? " (build it with --build-index)" : "");
		return NULL;
	}
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < HNSW_HEADER) {
		close(fd);
		te_diag_set(d, path, 0, "not an HNSW index (too short)");
		return NULL;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		return NULL;
	}
	if (memcmp(m, HNSW_MAGIC, 8) != 0) {
		te_diag_set(d, path, 0, "not an HNSW index (bad magic)");
		goto bad;
	}
	memcpy(&version, m + 8, 4);
	memcpy(&metric, m + 12, 4);
	memcpy(&rows, m + 16, 8);
	memcpy(&dim, m + 24, 8);
	memcpy(&M, m + 32, 4);
	memcpy(&efc, m + 36, 4);
	memcpy(&top, m + 40, 4);
	memcpy(&entry, m + 48, 8);
	memcpy(&fp, m + 56, 8);
	memcpy(&upn, m + 64, 8);
	memcpy(&recsz, m + 72, 8);
	if (version != HNSW_VERSION) {
		te_diag_set(d, path, 0, "HNSW index version %u, this knn reads version %d: "
		            "rebuild it with --build-index", version, HNSW_VERSION);
		goto bad;
	}
	if (rows != te_vecs_rows(v) || dim != te_vecs_dim(v) || fp != fingerprint(v)) {
		te_diag_set(d, path, 0, "built for other vectors (%llu x %llu); rebuild it "
		            "with --build-index", (unsigned long long)rows,
		            (unsigned long long)dim);
		goto bad;
	}
	if (metric > TE_KNN_METRIC_EUCLIDEAN || M < 2 || M > 256 || top > 30 ||
	    (rows && entry >= rows) || rows >= UINT32_MAX || upn > (uint64_t)st.st_size ||
	    recsz != rec_size(dim, M)) {
		te_diag_set(d, path, 0, "damaged HNSW header");
		goto bad;
	}
	o_rec = (HNSW_HEADER + rows + 63) / 64 * 64;
	o_uoff = o_rec + rows * recsz;
	o_up = o_uoff + rows * 8;
	o_perm = o_up + (upn * 4 + 7) / 8 * 8;
	need = o_perm + (rows * 4 + 7) / 8 * 8;
	if (need != (uint64_t)st.st_size) {
		te_diag_set(d, path, 0, "truncated or damaged HNSW index (%llu bytes, "
		            "expected %llu)", (unsigned long long)st.st_size,
		            (unsigned long long)need);
		goto bad;
	}
	h = hnsw_alloc(v, (te_knn_metric)metric, M, d);
	if (!h)
		goto bad;
	h->map = m;
	h->maplen = (size_t)st.st_size;
	h->efc = efc;
	h->top = (int)top;
	h->entry = (uint32_t)entry;
	h->level = m + HNSW_HEADER;
	h->rec = m + o_rec;
	h->uoff = (uint64_t *)(m + o_uoff);
	h->upper = (uint32_t *)(m + o_up);
	h->upper_n = upn;
	h->perm = (const uint32_t *)(m + o_perm);
	if (rows && h->level[entry] != top) {
		te_diag_set(d, path, 0, "damaged HNSW index");
		te_hnsw_free(h);
		return NULL;
	}
	return h;
bad:
	munmap(m, (size_t)st.st_size);
	return NULL;
}

struct hsearch {
	te_hnsw *h;
	const float *q;
	size_t nq, k, ef;
	const long *excl;
	size_t nexcl;
	te_knn_hit *out;
	size_t *nout;
	size_t next;
	int failed;
	int populate, nt;
};

static void
hsearch_worker(void *arg, int tid)
{
	struct hsearch *s = arg;
	te_hnsw *h = s->h;
	hctx *c = &h->ctx[tid];
	size_t j, kk = s->k + s->nexcl;
	size_t ef = s->ef > kk ? s->ef : kk;

#ifdef __linux__
	if (s->populate) {
		/* MADV_POPULATE_READ (Linux 5.14); an older kernel refuses it */
		size_t pg = 4096, per = (h->maplen / pg + (size_t)s->nt - 1) / (size_t)s->nt * pg;
		size_t off = (size_t)tid * per;

		if (off < h->maplen)
			madvise((char *)h->map + off, per < h->maplen - off ? per : h->maplen - off,
			        22);
	}
#endif
	while ((j = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED)) < s->nq) {
		uint32_t ep = h->entry;
		float eps;
		ut_heap hp = {s->out + j * s->k, 0, s->k};
		const long *ex = s->excl ? s->excl + j * s->nexcl : NULL;

		prep_vec(h->metric, s->q + j * h->dim, h->dim, c->qbuf);
		eps = qscore(h, c->qbuf, ep);
		for (int l = h->top; l > 0; l--)
			greedy(h, c, c->qbuf, l, &ep, &eps, 0);
		if (search_layer(h, c, c->qbuf, ep, eps, 0, ef, 0) < 0) {
			__atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
			break;
		}
		for (size_t i = 0; i < c->top.n; i++) {
			uint32_t id = c->top.id[i];
			long r = (long)(h->perm ? h->perm[id] : id);
			int skip = (size_t)r >= h->rows;

			for (size_t e = 0; ex && e < s->nexcl; e++)
				skip |= ex[e] == r;
			if (!skip)
				ut_heap_push(&hp, -c->top.s[i], r);
		}
		if (h->perm) {
			/* the node of each hit kept, to score it from its record */
			for (size_t i = 0; i < hp.n; i++) {
				c->node[i] = 0;
				for (size_t t = 0; t < c->top.n; t++)
					if (h->perm[c->top.id[t]] == (uint32_t)hp.h[i].row) {
						c->node[i] = c->top.id[t];
						break;
					}
			}
		}
		knn_finish(h->metric, h->rec, h->recsz, 1, h->dim, c->qbuf,
		           h->perm ? c->node : NULL, hp.h, hp.n);
		s->nout[j] = hp.n;
	}
}

int
te_hnsw_search(te_hnsw *h, const float *q, size_t nq, size_t k, size_t ef,
               const long *excl, size_t nexcl, int threads, te_knn_hit *out,
               size_t *nout, te_diag *d)
{
	struct hsearch s = {h, q, nq, k, ef, excl, nexcl, out, nout, 0, 0, 0, 0};
	int nt = ut_threads(threads);

	memset(nout, 0, nq * sizeof *nout);
	if (nq == 0 || h->rows == 0 || k == 0)
		return 0;
	if ((size_t)nt > nq)
		nt = (int)nq;
	/* a large batch will touch much of the file: map it all at once
	 * (each thread a slice) rather than a page fault at a time: 0.2 s of
	 * system time for 10000 queries on a million rows; a few queries do
	 * not pay for it */
	if (h->map && !h->populated && nq >= 256) {
		h->populated = 1;
		s.populate = 1;
	}
	/* the contexts (a visited tag per row each) live as long as the index:
	 * a batch of queries does not pay for clearing them */
	if (h->nctx < nt) {
		hctx *nc = realloc(h->ctx, (size_t)nt * sizeof *nc);

		if (!nc)
			return te_diag_set(d, NULL, 0, "out of memory");
		h->ctx = nc;
		while (h->nctx < nt) {
			if (ctx_init(&h->ctx[h->nctx], h) < 0) {
				ctx_release(&h->ctx[h->nctx]);
				return te_diag_set(d, NULL, 0, "out of memory");
			}
			h->nctx++;
		}
	}
	for (int t = 0; t < nt; t++) {
		hctx *c = &h->ctx[t];

		if (c->nodecap < k) {
			uint32_t *nn = realloc(c->node, k * sizeof *nn);

			if (!nn)
				return te_diag_set(d, NULL, 0, "out of memory");
			c->node = nn;
			c->nodecap = k;
		}
	}
	s.nt = nt;
	if (ut_parallel(nt, hsearch_worker, &s) < 0 || s.failed)
		return te_diag_set(d, NULL, 0, "out of memory");
	return 0;
}
