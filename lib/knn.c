/* knn.c: exact nearest neighbours (batched sgemm + top-k heaps, threaded) and
 * gensim's word-vector operations and evaluations on top of them. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "kern_int.h"
#include "knn_int.h"
#include "util_int.h"
#include "tokemb.h"

/* Rows per sgemm block and queries per chunk: a block of scores (QB, BR)
 * is 4 MiB and stays in L2/L3 while it is scanned. */
#define BR 4096
#define QB 256
#define QBP 1024	/* queries a thread takes at once with the packed kernel */
#define SB 1024		/* rows packed and multiplied at once by it */

struct te_knn {
	te_vecs *v;
	const float *data;   /* (rows, dim) */
	size_t rows, dim;
	float *norm;         /* rows */
	float *sqnorm;       /* rows, Euclidean only */
	te_knn_metric metric;
	int threads;
	/* norms are computed a block of rows at a time, when first needed, so
	 * that one query over a large mapped file reads it once */
	unsigned char *ready;  /* per block of BR rows */
	size_t nblocks;
};

#define KNN_BLAS_MIN 16  /* queries in a search from which sgemm pays */

/* S (m, n; row stride lds) = A (m, dim) * B (n, dim)^T, with the kernel. */
static void
gemm_nt_kernel(size_t m, size_t n, size_t dim, const float *A, const float *B, float *S,
               size_t lds)
{
	static kern_sim_fn dot;

	if (!dot)
		dot = kern_pick_dot();
	for (size_t t = 0; t < n; t++) {
		const float *b = B + t * dim;

		for (size_t j = 0; j < m; j++)
			S[j * lds + t] = dot(A + j * dim, b, dim);
	}
}

/* The same by BLAS when use_blas and one can be loaded. */
static void
gemm_nt(int use_blas, size_t m, size_t n, size_t dim, const float *A, const float *B,
        float *S, size_t lds)
{
	if (use_blas && kern_sgemm_nt(m, n, dim, A, B, S, lds) == 0)
		return;
	gemm_nt_kernel(m, n, dim, A, B, S, lds);
}

te_knn *
te_knn_new(te_vecs *v, te_knn_metric metric, int threads, te_diag *d)
{
	te_knn *x = calloc(1, sizeof *x);

	if (!x)
		goto oom;
	x->v = v;
	x->rows = te_vecs_rows(v);
	x->dim = te_vecs_dim(v);
	x->data = te_vecs_data(v);
	x->metric = metric;
	x->threads = ut_threads(threads);
	x->nblocks = (x->rows + BR - 1) / BR;
	x->norm = malloc((x->rows ? x->rows : 1) * sizeof *x->norm);
	x->ready = calloc(x->nblocks ? x->nblocks : 1, 1);
	if (!x->norm || !x->ready)
		goto oom;
	if (metric == TE_KNN_METRIC_EUCLIDEAN) {
		x->sqnorm = malloc((x->rows ? x->rows : 1) * sizeof *x->sqnorm);
		if (!x->sqnorm)
			goto oom;
	}
	return x;
oom:
	te_diag_set(d, NULL, 0, "out of memory");
	te_knn_free(x);
	return NULL;
}

void
te_knn_free(te_knn *x)
{
	if (!x)
		return;
	free(x->norm);
	free(x->sqnorm);
	free(x->ready);
	free(x);
}

te_vecs *te_knn_vecs(const te_knn *x) { return x->v; }
te_knn_metric knn_metric(const te_knn *x) { return x->metric; }
/* Norms (and squared norms) of block b, unless done.  A block is only ever
 * filled by one thread at a time (see te_knn_search). */
static void
ensure_block(te_knn *x, size_t b)
{
	size_t r0 = b * BR, r1 = r0 + BR < x->rows ? r0 + BR : x->rows;

	if (x->ready[b])
		return;
	for (size_t i = r0; i < r1; i++) {
		double s = kern_sumsq(x->data + i * x->dim, x->dim);

		x->norm[i] = (float)sqrt(s);
		if (x->sqnorm)
			x->sqnorm[i] = (float)s;
	}
	x->ready[b] = 1;
}

struct ensure {
	te_knn *x;
	size_t nb, next;
};

static void
ensure_worker(void *arg, int tid)
{
	struct ensure *e = arg;
	size_t b;

	while ((b = __atomic_fetch_add(&e->next, 1, __ATOMIC_RELAXED)) < e->nb)
		ensure_block(e->x, b);
}

/* Every norm of the first `rows` rows, in parallel. */
static void
ensure_all(te_knn *x, size_t rows)
{
	struct ensure e = {x, (rows + BR - 1) / BR, 0};
	int nt = x->threads;

	while (e.next < e.nb && x->ready[e.next])
		e.next++;
	if (e.next == e.nb)
		return;
	if ((size_t)nt > e.nb - e.next)
		nt = (int)(e.nb - e.next);
	if (ut_parallel(nt, ensure_worker, &e) < 0)
		for (size_t b = 0; b < e.nb; b++)
			ensure_block(x, b);
}

static float
row_norm(const te_knn *x, size_t r)
{
	return x->ready[r / BR] ? x->norm[r] : kern_norm(x->data + r * x->dim, x->dim);
}

float te_knn_norm(const te_knn *x, size_t i) { return row_norm(x, i); }

/* --------------------------------------------------------- the search */

struct search {
	te_knn *x;
	const float *q;      /* (nq, dim), prepared for the metric */
	const float *qsq;    /* (nq) squared norms, Euclidean */
	size_t nq, k, limit;
	const long *excl;
	size_t nexcl;
	te_knn_hit *out;     /* (nq, k): final heaps */
	size_t *nout;
	/* mode A: threads take query chunks of qb; mode B: one chunk [q0, q0+qn)
	 * and threads take row blocks into their own heaps (tk) */
	int mode_b;
	int blas;            /* sgemm for blocks of 4 queries or more */
	int pack;            /* or tokemb's packed AVX-512 kernel (kern.c) */
	size_t qb;
	size_t q0, qn;
	te_knn_hit *tk;      /* (threads, qn, k) */
	size_t *tkn;         /* (threads, qn) */
	size_t next;         /* next chunk or block, taken atomically */
	int failed;
};

static int
excluded(const long *ex, size_t n, long row)
{
	for (size_t i = 0; i < n; i++)
		if (ex[i] == row)
			return 1;
	return 0;
}

typedef size_t (*select_fn)(const float *, const float *, size_t, size_t, ut_heap *,
                            const long *, size_t);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(TE_NO_SIMD)
#include <immintrin.h>

/* Cosine (norm given) or dot scores of one row of S, 16 at a time: only
 * those not below the heap's worst (all while the heap is not full) are
 * offered, one by one as the scalar loop does, with the same values (a
 * division is correctly rounded in both).  Returns the columns done. */
__attribute__((target("avx512f"))) static size_t
select_avx512(const float *norm, const float *row, size_t nr, size_t r0, ut_heap *hp,
              const long *ex, size_t nexcl)
{
	size_t t;

	for (t = 0; t + 16 <= nr; t += 16) {
		__m512 sc = _mm512_loadu_ps(row + t);
		__mmask16 m;

		if (norm) {
			__m512 n = _mm512_loadu_ps(norm + t);

			sc = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_GT_OQ),
			                         sc, n);
		}
		float v[16];

		m = hp->n < hp->k ? 0xffff :
		    _mm512_cmp_ps_mask(sc, _mm512_set1_ps(hp->h[0].score), _CMP_NLT_UQ);
		if (m)
			_mm512_storeu_ps(v, sc);
		while (m) {
			int i = __builtin_ctz(m);
			long r = (long)(r0 + t + (size_t)i);

			m &= (__mmask16)(m - 1);
			if (hp->n == hp->k && v[i] < hp->h[0].score)
				continue;
			if (ex && excluded(ex, nexcl, r))
				continue;
			ut_heap_push(hp, v[i], r);
			if (hp->n == hp->k)	/* a higher bar for the rest */
				m &= _mm512_cmp_ps_mask(sc, _mm512_set1_ps(hp->h[0].score), _CMP_NLT_UQ);
		}
	}
	return t;
}

static select_fn
pick_select(void)
{
	return __builtin_cpu_supports("avx512f") ? select_avx512 : NULL;
}
#else
static select_fn
pick_select(void)
{
	return NULL;
}
#endif

static void select_block(struct search *s, const float *S, size_t j0, size_t nj, size_t r0,
                         size_t nr, te_knn_hit *heaps, size_t *cnt);

/* Score rows [r0, r0+nr) against queries [j0, j0+nj) and offer them to the
 * heaps heaps[j - j0] (each k slots, counts in cnt). */
static void
score_block(struct search *s, float *S, float *pk, size_t j0, size_t nj, size_t r0, size_t nr,
            te_knn_hit *heaps, size_t *cnt)
{
	te_knn *x = s->x;
	size_t dim = x->dim;

	ensure_block(x, r0 / BR);
	/* S (nj, nr) = Q[j0:j0+nj] (nj, dim) * X[r0:r0+nr]^T; for a few queries
	 * the dot kernel, which reads the rows where they lie */
	if (pk && nj >= 4) {
		/* SB rows at a time packed in panels of 32 (a copy of them), then
		 * multiplied with no repacking and no zero-fill of S, which stays
		 * small enough for the cache */
		for (size_t a = 0; a < nr; a += SB) {
			size_t m = nr - a < SB ? nr - a : SB;

			kern_pack(x->data + (r0 + a) * dim, m, dim, pk, 0);
			kern_pack_pad(pk, m, dim);
			kern_gemm_packed(s->q + j0 * dim, nj, dim, pk, m, S, 0, 0, (m + 31) / 32);
			select_block(s, S, j0, nj, r0 + a, m, heaps, cnt);
		}
		return;
	}
	gemm_nt(s->blas && nj >= 4, nj, nr, dim, s->q + j0 * dim, x->data + r0 * dim, S, nr);
	select_block(s, S, j0, nj, r0, nr, heaps, cnt);
}

/* The hits of S (nj, nr) for queries j0.. and rows r0.. into their heaps. */
static void
select_block(struct search *s, const float *S, size_t j0, size_t nj, size_t r0, size_t nr,
             te_knn_hit *heaps, size_t *cnt)
{
	te_knn *x = s->x;
	size_t k = s->k;
	select_fn simd_select = pick_select();

	for (size_t j = 0; j < nj; j++) {
		ut_heap hp = {heaps + j * k, cnt[j], k};
		const float *row = S + j * nr;
		const long *ex = s->excl ? s->excl + (j0 + j) * s->nexcl : NULL;
		float qs = s->qsq ? s->qsq[j0 + j] : 0;
		size_t t = 0;

		if (k && x->metric != TE_KNN_METRIC_EUCLIDEAN && simd_select)
			t = simd_select(x->metric == TE_KNN_METRIC_COSINE ? x->norm + r0 : NULL, row, nr,
			                r0, &hp, ex, s->nexcl);
		for (; t < nr; t++) {
			float sc = row[t];
			long r = (long)(r0 + t);

			switch (x->metric) {
			case TE_KNN_METRIC_COSINE:
				sc = x->norm[r] > 0 ? sc / x->norm[r] : 0.0f;
				break;
			case TE_KNN_METRIC_DOT:
				break;
			case TE_KNN_METRIC_EUCLIDEAN:
				sc = x->sqnorm[r] - 2.0f * sc + qs;
				sc = sc > 0 ? -sc : -0.0f;
				break;
			}
			if (hp.n == k && (k == 0 || sc < hp.h[0].score))
				continue;
			if (ex && excluded(ex, s->nexcl, r))
				continue;
			ut_heap_push(&hp, sc, r);
		}
		cnt[j] = hp.n;
	}
}

static void
search_worker(void *arg, int tid)
{
	struct search *s = arg;
	size_t rows = s->limit, nblocks = (rows + BR - 1) / BR;
	size_t qmax = s->mode_b ? s->qn : s->qb;
	float *S = malloc((s->pack ? qmax * SB : (qmax < QB ? qmax : QB) * BR) * sizeof *S);
	float *pk = NULL;

	if (S && s->pack &&
	    !(pk = aligned_alloc(64, kern_pack_floats(SB, s->x->dim) * sizeof *pk))) {
		free(S);
		S = NULL;
	}
	if (!S) {
		__atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
		return;
	}
	if (!s->mode_b) {
		size_t nchunks = (s->nq + s->qb - 1) / s->qb, c;

		while ((c = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED)) < nchunks) {
			size_t j0 = c * s->qb, nj = s->nq - j0 < s->qb ? s->nq - j0 : s->qb;

			for (size_t b = 0; b < nblocks; b++) {
				size_t r0 = b * BR, nr = rows - r0 < BR ? rows - r0 : BR;

				score_block(s, S, pk, j0, nj, r0, nr, s->out + j0 * s->k,
				            s->nout + j0);
			}
		}
	} else {
		te_knn_hit *heaps = s->tk + (size_t)tid * s->qn * s->k;
		size_t *cnt = s->tkn + (size_t)tid * s->qn, b;

		while ((b = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED)) < nblocks) {
			size_t r0 = b * BR, nr = rows - r0 < BR ? rows - r0 : BR;

			score_block(s, S, pk, s->q0, s->qn, r0, nr, heaps, cnt);
		}
	}
	free(S);
	free(pk);
}

int
te_knn_search(te_knn *x, const float *q, size_t nq, size_t k, size_t limit,
              const long *excl, size_t nexcl, te_knn_hit *out, size_t *nout,
              te_diag *d)
{
	struct search s = {0};
	size_t dim = x->dim;
	float *qp = NULL, *qsq = NULL;
	int nt = x->threads, rc = 0;

	if (limit == 0 || limit > x->rows)
		limit = x->rows;
	memset(nout, 0, nq * sizeof *nout);
	if (nq == 0 || k == 0 || limit == 0)
		return 0;
	if (x->metric == TE_KNN_METRIC_COSINE) {
		/* gensim's unitvec: q / |q|, a zero vector stays zero */
		qp = malloc(nq * dim * sizeof *qp);
		if (!qp)
			return te_diag_set(d, NULL, 0, "out of memory");
		for (size_t j = 0; j < nq; j++) {
			const float *a = q + j * dim;
			float n = kern_norm(a, dim), *b = qp + j * dim;

			for (size_t i = 0; i < dim; i++)
				b[i] = n > 0 ? a[i] / n : a[i];
		}
		q = qp;
	} else if (x->metric == TE_KNN_METRIC_EUCLIDEAN) {
		qsq = malloc(nq * sizeof *qsq);
		if (!qsq)
			return te_diag_set(d, NULL, 0, "out of memory");
		for (size_t j = 0; j < nq; j++) {
			float n = kern_norm(q + j * dim, dim);
			qsq[j] = n * n;
		}
	}
	s.x = x;
	s.q = q;
	s.qsq = qsq;
	s.nq = nq;
	s.k = k;
	s.limit = limit;
	s.excl = excl;
	s.nexcl = nexcl;
	s.out = out;
	s.nout = nout;
	s.pack = nq >= KNN_BLAS_MIN && kern_gemm_available();
	s.blas = nq >= KNN_BLAS_MIN && !s.pack;
	if (s.blas)  /* opened here, before the threads start */
		kern_blas_open();
	if (nt > 1 && (nq + nt - 1) / (size_t)nt < 16) {
		/* few queries: split the rows between threads, merge their heaps */
		size_t nblocks = (limit + BR - 1) / BR;

		if ((size_t)nt > nblocks)
			nt = (int)nblocks;
		s.mode_b = 1;
		s.tk = malloc((size_t)nt * QB * k * sizeof *s.tk);
		s.tkn = malloc((size_t)nt * QB * sizeof *s.tkn);
		if (!s.tk || !s.tkn) {
			rc = te_diag_set(d, NULL, 0, "out of memory");
			goto done;
		}
		for (size_t q0 = 0; q0 < nq && !s.failed; q0 += QB) {
			s.q0 = q0;
			s.qn = nq - q0 < QB ? nq - q0 : QB;
			s.next = 0;
			memset(s.tkn, 0, (size_t)nt * QB * sizeof *s.tkn);
			if (ut_parallel(nt, search_worker, &s) < 0)
				s.failed = 1;
			for (size_t j = 0; j < s.qn; j++) {
				ut_heap hp = {out + (q0 + j) * k, 0, k};

				for (int t = 0; t < nt; t++) {
					const te_knn_hit *h = s.tk + ((size_t)t * s.qn + j) * k;

					for (size_t i = 0; i < s.tkn[(size_t)t * s.qn + j]; i++)
						ut_heap_push(&hp, h[i].score, h[i].row);
				}
				nout[q0 + j] = hp.n;
			}
		}
	} else {
		size_t per = (nq + nt - 1) / (size_t)nt;

		s.qb = per < (s.pack ? QBP : QB) ? per : s.pack ? QBP : QB;
		ensure_all(x, limit);  /* threads share the blocks here */
		if (ut_parallel(nt, search_worker, &s) < 0)
			s.failed = 1;
	}
	if (s.failed) {
		rc = te_diag_set(d, NULL, 0, "out of memory");
		goto done;
	}
	for (size_t j = 0; j < nq; j++) {
		ut_heap hp = {out + j * k, nout[j], k};

		knn_finish(x->metric, x->data, dim * sizeof(float), 0, dim, q + j * dim, NULL,
		           hp.h, hp.n);
	}
done:
	free(s.tk);
	free(s.tkn);
	free(qp);
	free(qsq);
	return rc;
}

/* ------------------------------------------------------ score printing */

int
te_knn_fmt_score(char *buf, float f)
{
	static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
	                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	double a = fabs((double)f), s, frac;
	long m;
	int e, k, nd, len = 0;
	char dg[8];

	if (!isfinite(a) || a == 0 || a < 1e-15)
		return snprintf(buf, 32, "%.7g", (double)f);
	e = (int)floor(log10(a));
	/* s = a * 10^(6 - e), in [1e6, 1e7): exact powers of ten, so s is a
	 * once rounded; the estimate of e may be one off */
	for (int tries = 0;; tries++) {
		k = 6 - e;
		if (k > 22 || k < -22 || tries == 2)
			return snprintf(buf, 32, "%.7g", (double)f);
		s = k >= 0 ? a * p10[k] : a / p10[-k];
		if (s < 1e6)
			e--;
		else if (s >= 1e7)
			e++;
		else
			break;
	}
	m = (long)s;
	frac = s - (double)m;
	/* s is within 2^-29 of a * 10^k: too near a tie to round here */
	if (fabs(frac - 0.5) < 1e-6)
		return snprintf(buf, 32, "%.7g", (double)f);
	if (frac > 0.5)
		m++;
	if (m == 10000000) {
		m = 1000000;
		e++;
	}
	for (int i = 6; i >= 0; i--) {
		dg[i] = (char)('0' + m % 10);
		m /= 10;
	}
	nd = 7;
	while (nd > 1 && dg[nd - 1] == '0')
		nd--;
	if (f < 0)
		buf[len++] = '-';
	if (e < -4 || e >= 7) {
		int x = e < 0 ? -e : e;

		buf[len++] = dg[0];
		if (nd > 1) {
			buf[len++] = '.';
			for (int i = 1; i < nd; i++)
				buf[len++] = dg[i];
		}
		buf[len++] = 'e';
		buf[len++] = e < 0 ? '-' : '+';
		if (x >= 100)
			buf[len++] = (char)('0' + x / 100);
		buf[len++] = (char)('0' + x / 10 % 10);
		buf[len++] = (char)('0' + x % 10);
	} else if (e >= 0) {
		for (int i = 0; i <= e; i++)
			buf[len++] = dg[i];
		if (nd > e + 1) {
			buf[len++] = '.';
			for (int i = e + 1; i < nd; i++)
				buf[len++] = dg[i];
		}
	} else {
		buf[len++] = '0';
		buf[len++] = '.';
		for (int i = 0; i < -e - 1; i++)
			buf[len++] = '0';
		for (int i = 0; i < nd; i++)
			buf[len++] = dg[i];
	}
	buf[len] = '\0';
	return len;
}

/* ---------------------------------------------------- gensim operations */

/* vectors[i] / norms[i] in float32, as gensim's get_vector(norm=True) */
static void
unit_row(const te_knn *x, long i, float *out)
{
	const float *r = x->data + (size_t)i * x->dim;
	float n = row_norm(x, (size_t)i);

	for (size_t j = 0; j < x->dim; j++)
		out[j] = r[j] / n;
}

int
te_knn_mean(const te_knn *x, const long *pos, size_t npos, const long *neg,
            size_t nneg, float *out)
{
	size_t dim = x->dim;
	float tw;

	memset(out, 0, dim * sizeof *out);
	if (npos + nneg == 0)
		return -1;
	/* mean += w * (row / |row|), in float32, positives first, as gensim */
	for (size_t i = 0; i < npos + nneg; i++) {
		long r = i < npos ? pos[i] : neg[i - npos];
		const float *v = x->data + (size_t)r * dim;
		float n = row_norm(x, (size_t)r);

		for (size_t j = 0; j < dim; j++) {
			float u = v[j] / n;

			out[j] += i < npos ? u : -u;
		}
	}
	tw = (float)(npos + nneg);
	for (size_t j = 0; j < dim; j++)
		out[j] /= tw;
	return 0;
}

int
te_knn_cosmul(te_knn *x, const long *pos, size_t npos, const long *neg, size_t nneg,
              size_t k, te_knn_hit *out, size_t *nout, te_diag *d)
{
	size_t dim = x->dim, nt = npos + nneg;
	float *T = malloc((nt ? nt : 1) * dim * sizeof *T);
	float *S = malloc((nt ? nt : 1) * BR * sizeof *S);
	long *ex = malloc((nt ? nt : 1) * sizeof *ex);
	ut_heap hp = {out, 0, k};
	const float eps = 0.000001f;

	*nout = 0;
	if (!T || !S || !ex) {
		free(T);
		free(S);
		free(ex);
		return te_diag_set(d, NULL, 0, "out of memory");
	}
	if (npos == 0) {
		free(T);
		free(S);
		free(ex);
		return te_diag_set(d, NULL, 0, "cannot compute similarity with no input");
	}
	for (size_t i = 0; i < npos; i++) {
		unit_row(x, pos[i], T + i * dim);
		ex[i] = pos[i];
	}
	for (size_t i = 0; i < nneg; i++) {
		unit_row(x, neg[i], T + (npos + i) * dim);
		ex[npos + i] = neg[i];
	}
	ensure_all(x, x->rows);
	for (size_t r0 = 0; r0 < x->rows; r0 += BR) {
		size_t nr = x->rows - r0 < BR ? x->rows - r0 : BR;

		/* S (nt, nr) = T (nt, dim) * X[r0:r0+nr]^T */
		gemm_nt(1, nt, nr, dim, T, x->data + r0 * dim, S, nr);
		for (size_t t = 0; t < nr; t++) {
			size_t r = r0 + t;
			float n = x->norm[r], p = 1.0f, m = 1.0f, sc;

			for (size_t i = 0; i < npos; i++)
				p *= (1.0f + (n > 0 ? S[i * nr + t] / n : 0.0f)) / 2.0f;
			for (size_t i = npos; i < nt; i++)
				m *= (1.0f + (n > 0 ? S[i * nr + t] / n : 0.0f)) / 2.0f;
			/* numpy: prod of no terms is 1.0, to which 1e-6 is added */
			sc = nneg ? p / (m + eps) : p / (1.0f + eps);
			if (hp.n == k && (k == 0 || sc < hp.h[0].score))
				continue;
			if (excluded(ex, nt, (long)r))
				continue;
			ut_heap_push(&hp, sc, (long)r);
		}
	}
	ut_heap_sort(&hp);
	*nout = hp.n;
	free(T);
	free(S);
	free(ex);
	return 0;
}

/* ------------------------------------------------ case-insensitive keys */

static int
put_cp(ut_buf *b, int32_t cp)
{
	char u[4];

	return ut_buf_put(b, u, (size_t)ut_utf8_enc(cp, u));
}

char *
te_knn_upper(const char *s, size_t n)
{
	ut_buf b = {0};
	size_t i = 0;

	if (ut_buf_grow(&b, n + 16) < 0)
		return NULL;
	b.s[0] = '\0';
	while (i < n) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		                                      (utf8proc_ssize_t)(n - i), &cp);
		const char *exp = NULL;

		if (k <= 0) {
			/* not UTF-8: the byte as is */
			if (ut_buf_put(&b, s + i++, 1) < 0)
				goto oom;
			continue;
		}
		i += (size_t)k;
		/* Python's full case mappings that expand (SpecialCasing.txt) */
		switch (cp) {
		case 0x00DF: exp = "SS"; break;
		case 0xFB00: exp = "FF"; break;
		case 0xFB01: exp = "FI"; break;
		case 0xFB02: exp = "FL"; break;
		case 0xFB03: exp = "FFI"; break;
		case 0xFB04: exp = "FFL"; break;
		case 0xFB05: case 0xFB06: exp = "ST"; break;
		}
		if (exp) {
			if (ut_buf_put(&b, exp, strlen(exp)) < 0)
				goto oom;
			continue;
		}
		if (put_cp(&b, utf8proc_toupper(cp)) < 0)
			goto oom;
	}
	return b.s;
oom:
	ut_buf_release(&b);
	return NULL;
}

/* gensim's ok_vocab: key (upper-cased when ci) -> the first of the first
 * `limit` rows with that key. */
typedef ut_strmap vocab;

static long
vocab_get(const vocab *vc, const char *k)
{
	return ut_strmap_get(vc, k, strlen(k));
}

static void
vocab_release(vocab *vc)
{
	ut_strmap_release(vc);
}

static int
vocab_build(const te_knn *x, size_t limit, int ci, vocab *vc, te_diag *d)
{
	if (limit == 0 || limit > x->rows)
		limit = x->rows;
	if (limit > INT32_MAX)
		limit = INT32_MAX;
	if (ut_strmap_reserve(vc, limit) < 0)
		goto oom;
	for (size_t i = 0; i < limit; i++) {
		const char *k0 = te_vecs_key(x->v, i);
		size_t n = strlen(k0);
		char *k = ci ? te_knn_upper(k0, n) : NULL;
		int rc = 0;

		if (ci && !k)
			goto oom;
		if (k)
			n = strlen(k);
		/* the first occurrence wins */
		if (ut_strmap_get(vc, k ? k : k0, n) < 0)
			rc = ut_strmap_put(vc, k ? k : k0, n, (int32_t)i);
		free(k);
		if (rc < 0)
			goto oom;
	}
	return 0;
oom:
	vocab_release(vc);
	return te_diag_set(d, NULL, 0, "out of memory");
}

/* Python's str.split() on whitespace; at most max words, returns the count
 * (max + 1 when there are more). */
static int
py_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static size_t
split_ws(char *s, size_t n, char **w, size_t max)
{
	size_t cnt = 0, i = 0;

	while (i < n) {
		while (i < n && py_space((unsigned char)s[i]))
			i++;
		if (i >= n)
			break;
		if (cnt == max)
			return max + 1;
		w[cnt++] = s + i;
		while (i < n && !py_space((unsigned char)s[i]))
			i++;
		if (i < n)
			s[i++] = '\0';
	}
	return cnt;
}

/* ------------------------------------------------------ word analogies */

struct question {
	size_t sec;
	long a, b, c;
	char *wa, *wb, *wc, *we;  /* upper-cased when ci */
};

static void
questions_free(struct question *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(q[i].wa);
		free(q[i].wb);
		free(q[i].wc);
		free(q[i].we);
	}
}

/* Answer a batch of questions as gensim does: most_similar(positive=[b, c],
 * negative=[a], topn=5, restrict_vocab) and the first answer not among the
 * question words (compared after upper-casing). */
static int
answer_batch(te_knn *x, const vocab *vc, size_t limit, int ci, struct question *qs,
             size_t n, te_knn_analogy_result *res, te_diag *d)
{
	size_t dim = x->dim, k = 5;
	float *Q = calloc((n ? n : 1) * dim, sizeof *Q);
	long *ex = malloc((n ? n : 1) * 3 * sizeof *ex);
	te_knn_hit *hits = malloc((n ? n : 1) * k * sizeof *hits);
	size_t *nh = malloc((n ? n : 1) * sizeof *nh);
	int rc = 0;

	if (!Q || !ex || !hits || !nh) {
		rc = te_diag_set(d, NULL, 0, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		long pos[2] = {qs[i].b, qs[i].c}, neg[1] = {qs[i].a};

		te_knn_mean(x, pos, 2, neg, 1, Q + i * dim);
		ex[i * 3] = qs[i].a;
		ex[i * 3 + 1] = qs[i].b;
		ex[i * 3 + 2] = qs[i].c;
	}
	if (te_knn_search(x, Q, n, k, limit, ex, 3, hits, nh, d) < 0) {
		rc = -1;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		struct question *q = &qs[i];
		char *pred = NULL;
		int good = 0;

		for (size_t j = 0; j < nh[i]; j++) {
			const char *key = te_vecs_key(x->v, (size_t)hits[i * k + j].row);

			free(pred);
			pred = ci ? te_knn_upper(key, strlen(key)) : strdup(key);
			if (!pred) {
				rc = te_diag_set(d, NULL, 0, "out of memory");
				goto done;
			}
			if (vocab_get(vc, pred) >= 0 && strcmp(pred, q->wa) != 0 &&
			    strcmp(pred, q->wb) != 0 && strcmp(pred, q->wc) != 0)
				break;
		}
		good = pred && strcmp(pred, q->we) == 0;
		free(pred);
		res->sec[q->sec].total++;
		res->sec[q->sec].correct += (size_t)good;
	}
done:
	free(Q);
	free(ex);
	free(hits);
	free(nh);
	return rc;
}

void
te_knn_analogy_result_release(te_knn_analogy_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->nsec; i++)
		free(res->sec[i].name);
	free(res->sec);
	memset(res, 0, sizeof *res);
}

static int
add_section(te_knn_analogy_result *res, const char *name, size_t n)
{
	te_knn_section *ns = realloc(res->sec, (res->nsec + 1) * sizeof *ns);

	if (!ns)
		return -1;
	res->sec = ns;
	ns[res->nsec].name = strndup(name, n);
	ns[res->nsec].correct = ns[res->nsec].total = 0;
	if (!ns[res->nsec].name)
		return -1;
	res->nsec++;
	return 0;
}

int
te_knn_eval_analogies(te_knn *x, const char *path, size_t restrict_vocab, int ci,
                      te_knn_analogy_result *res, te_diag *d)
{
	vocab vc = {0};
	te_reader *r = NULL;
	struct question *qs = NULL;
	size_t nq = 0, batch = 1024;
	char *line;
	size_t len;
	int rc;

	memset(res, 0, sizeof *res);
	if (!te_vecs_key(x->v, 0) && x->rows)
		return te_diag_set(d, NULL, 0, "the vectors have no keys");
	if (vocab_build(x, restrict_vocab, ci, &vc, d) < 0)
		return -1;
	r = te_reader_open(path, '\n', d);
	qs = malloc(batch * sizeof *qs);
	if (!r || !qs) {
		if (r)
			te_diag_set(d, NULL, 0, "out of memory");
		goto fail;
	}
	while ((rc = te_reader_next(r, &line, &len, d)) == 1) {
		long ln = te_reader_lineno(r);
		char *w[4];
		struct question *q;

		if (!te_utf8_valid(line, len)) {
			te_diag_set(d, te_reader_name(r), ln, "invalid UTF-8");
			goto fail;
		}
		if (len >= 2 && line[0] == ':' && line[1] == ' ') {
			/* Python: line.lstrip(': ').strip() */
			size_t s = 0, e = len;

			while (s < e && (line[s] == ':' || line[s] == ' '))
				s++;
			while (s < e && py_space((unsigned char)line[s]))
				s++;
			while (e > s && py_space((unsigned char)line[e - 1]))
				e--;
			if (add_section(res, line + s, e - s) < 0) {
				te_diag_set(d, NULL, 0, "out of memory");
				goto fail;
			}
			continue;
		}
		if (res->nsec == 0) {
			te_diag_set(d, te_reader_name(r), ln, "missing section header before "
			            "this line");
			goto fail;
		}
		if (split_ws(line, len, w, 4) != 4)
			continue;  /* gensim skips a line that is not four words */
		res->quadruplets++;
		q = &qs[nq];
		memset(q, 0, sizeof *q);
		q->sec = res->nsec - 1;
		q->wa = ci ? te_knn_upper(w[0], strlen(w[0])) : strdup(w[0]);
		q->wb = ci ? te_knn_upper(w[1], strlen(w[1])) : strdup(w[1]);
		q->wc = ci ? te_knn_upper(w[2], strlen(w[2])) : strdup(w[2]);
		q->we = ci ? te_knn_upper(w[3], strlen(w[3])) : strdup(w[3]);
		if (!q->wa || !q->wb || !q->wc || !q->we) {
			nq++;
			te_diag_set(d, NULL, 0, "out of memory");
			goto fail;
		}
		q->a = vocab_get(&vc, q->wa);
		q->b = vocab_get(&vc, q->wb);
		q->c = vocab_get(&vc, q->wc);
		if (q->a < 0 || q->b < 0 || q->c < 0 || vocab_get(&vc, q->we) < 0) {
			res->oov++;
			questions_free(q, 1);
			continue;
		}
		if (++nq == batch) {
			if (answer_batch(x, &vc, restrict_vocab, ci, qs, nq, res, d) < 0)
				goto fail;
			questions_free(qs, nq);
			nq = 0;
		}
	}
	if (rc < 0)
		goto fail;
	if (nq && answer_batch(x, &vc, restrict_vocab, ci, qs, nq, res, d) < 0)
		goto fail;
	questions_free(qs, nq);
	nq = 0;
	if (add_section(res, "Total accuracy", 14) < 0) {
		te_diag_set(d, NULL, 0, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i + 1 < res->nsec; i++) {
		res->sec[res->nsec - 1].correct += res->sec[i].correct;
		res->sec[res->nsec - 1].total += res->sec[i].total;
	}
	if (res->quadruplets == 0) {
		te_diag_set(d, path, 0, "no analogy questions");
		goto fail;
	}
	free(qs);
	te_reader_close(r);
	vocab_release(&vc);
	return 0;
fail:
	questions_free(qs, nq);
	free(qs);
	te_reader_close(r);
	vocab_release(&vc);
	te_knn_analogy_result_release(res);
	return -1;
}

/* --------------------------------------------------------- word pairs */

static double
pearson(const double *a, const double *b, size_t n)
{
	double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;

	for (size_t i = 0; i < n; i++) {
		ma += a[i];
		mb += b[i];
	}
	ma /= (double)n;
	mb /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double x = a[i] - ma, y = b[i] - mb;

		sab += x * y;
		saa += x * x;
		sbb += y * y;
	}
	if (saa == 0 || sbb == 0)
		return NAN;
	return sab / sqrt(saa * sbb);
}

static int
idx_cmp(const void *a, const void *b, void *base)
{
	const double *v = base;
	double x = v[*(const size_t *)a], y = v[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

/* scipy.stats.rankdata(method='average') */
static int
rank_avg(const double *v, size_t n, double *out)
{
	size_t *ix = malloc((n ? n : 1) * sizeof *ix);

	if (!ix)
		return -1;
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	qsort_r(ix, n, sizeof *ix, idx_cmp, (void *)v);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[ix[j + 1]] == v[ix[i]])
			j++;
		for (size_t t = i; t <= j; t++)
			out[ix[t]] = (double)(i + j) / 2.0 + 1.0;
		i = j + 1;
	}
	free(ix);
	return 0;
}

/* Python float(): surrounding whitespace allowed, no hex. */
static int
py_float(const char *s, double *out)
{
	char *end;

	while (py_space((unsigned char)*s))
		s++;
	if (strpbrk(s, "xX"))
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (end == s)
		return -1;
	while (py_space((unsigned char)*end))
		end++;
	return *end ? -1 : 0;
}

static float
unit_dot(const te_knn *x, long a, long b)
{
	const float *ra = x->data + (size_t)a * x->dim, *rb = x->data + (size_t)b * x->dim;
	float na = row_norm(x, (size_t)a), nb = row_norm(x, (size_t)b);
	double s = 0;

	for (size_t j = 0; j < x->dim; j++)
		s += (double)(na > 0 ? ra[j] / na : ra[j]) * (nb > 0 ? rb[j] / nb : rb[j]);
	return (float)s;
}

int
te_knn_eval_pairs(te_knn *x, const char *path, size_t restrict_vocab, int ci,
                  te_knn_pairs_result *res, te_diag *d)
{
	vocab vc = {0};
	te_reader *r = NULL;
	double *gold = NULL, *model = NULL, *ra = NULL, *rb = NULL;
	size_t n = 0, cap = 0;
	char *line;
	size_t len;
	int rc;

	memset(res, 0, sizeof *res);
	if (!te_vecs_key(x->v, 0) && x->rows)
		return te_diag_set(d, NULL, 0, "the vectors have no keys");
	if (vocab_build(x, restrict_vocab, ci, &vc, d) < 0)
		return -1;
	r = te_reader_open(path, '\n', d);
	if (!r)
		goto fail;
	te_reader_strip_cr(r, 1);
	while ((rc = te_reader_next(r, &line, &len, d)) == 1) {
		char *f[3], *t1, *t2, *wa = NULL, *wb = NULL;
		double sim;
		long ia, ib;

		if (!te_utf8_valid(line, len)) {
			te_diag_set(d, te_reader_name(r), te_reader_lineno(r), "invalid UTF-8");
			goto fail;
		}
		if (len > 0 && line[0] == '#')
			continue;
		t1 = memchr(line, '\t', len);
		t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line)) : NULL;
		if (!t1 || !t2 || memchr(t2 + 1, '\t', len - (size_t)(t2 + 1 - line)))
			continue;  /* not three fields: skipped, as gensim does */
		*t1 = *t2 = '\0';
		f[0] = line;
		f[1] = t1 + 1;
		f[2] = t2 + 1;
		if (py_float(f[2], &sim) < 0)
			continue;
		wa = ci ? te_knn_upper(f[0], strlen(f[0])) : strdup(f[0]);
		wb = ci ? te_knn_upper(f[1], strlen(f[1])) : strdup(f[1]);
		if (!wa || !wb) {
			free(wa);
			free(wb);
			te_diag_set(d, NULL, 0, "out of memory");
			goto fail;
		}
		ia = vocab_get(&vc, wa);
		ib = vocab_get(&vc, wb);
		free(wa);
		free(wb);
		if (ia < 0 || ib < 0) {
			res->oov++;
			continue;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 512;
			double *ng = realloc(gold, nc * sizeof *ng), *nm;

			if (!ng) {
				te_diag_set(d, NULL, 0, "out of memory");
				goto fail;
			}
			gold = ng;
			nm = realloc(model, nc * sizeof *nm);
			if (!nm) {
				te_diag_set(d, NULL, 0, "out of memory");
				goto fail;
			}
			model = nm;
			cap = nc;
		}
		gold[n] = sim;
		model[n] = unit_dot(x, ia, ib);
		n++;
	}
	if (rc < 0)
		goto fail;
	if (n == 0) {
		te_diag_set(d, path, 0, "no pair with both words in the vocabulary");
		goto fail;
	}
	ra = malloc(n * sizeof *ra);
	rb = malloc(n * sizeof *rb);
	if (!ra || !rb || rank_avg(gold, n, ra) < 0 || rank_avg(model, n, rb) < 0) {
		te_diag_set(d, NULL, 0, "out of memory");
		goto fail;
	}
	res->pairs = n;
	res->pearson = pearson(gold, model, n);
	res->spearman = pearson(ra, rb, n);
	res->oov_ratio = (double)res->oov / (double)(n + res->oov) * 100.0;
	rc = 0;
	goto done;
fail:
	rc = -1;
done:
	free(gold);
	free(model);
	free(ra);
	free(rb);
	te_reader_close(r);
	vocab_release(&vc);
	return rc;
}
