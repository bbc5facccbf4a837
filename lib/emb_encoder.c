/* emb_encoder.c: the CPU forward pass of BERT, RoBERTa, MPNet and DeBERTa-v2
 * encoders on a packed batch (documents concatenated, no padding): every
 * matrix product is an OpenBLAS sgemm; attention runs per (document, head)
 * on the caller's threads. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "emb_int.h"

/* ---------------------------------------------------------- kernels */

void
emb_layernorm(float *x, size_t n, size_t dim, const float *g, const float *b,
              double eps)
{
	for (size_t r = 0; r < n; r++) {
		float *v = x + r * dim;
		double mean = 0, var = 0;
		float inv;

		for (size_t i = 0; i < dim; i++)
			mean += v[i];
		mean /= (double)dim;
		for (size_t i = 0; i < dim; i++) {
			double t = v[i] - mean;

			var += t * t;
		}
		var /= (double)dim;
		inv = (float)(1.0 / sqrt(var + eps));
		for (size_t i = 0; i < dim; i++)
			v[i] = (float)(v[i] - mean) * inv * g[i] + b[i];
	}
}

/* glibc >= 2.35 ships vector erff in libmvec (linked through -lm's script),
 * within a few ulp of erff; GELU spends most of its time there. */
#if defined(__x86_64__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)) && !defined(TE_NO_MVEC)
#include <emmintrin.h>
#define HAVE_MVEC_ERFF 1
__m128 _ZGVbN4v_erff(__m128 x);
#endif

void
emb_gelu_scalar(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

void
emb_gelu(float *x, size_t n)
{
	size_t i = 0;

#ifdef HAVE_MVEC_ERFF
	const __m128 half = _mm_set1_ps(0.5f), one = _mm_set1_ps(1.0f),
	             r2 = _mm_set1_ps((float)M_SQRT1_2);

	for (; i + 4 <= n; i += 4) {
		__m128 v = _mm_loadu_ps(x + i);
		__m128 e = _ZGVbN4v_erff(_mm_mul_ps(v, r2));

		_mm_storeu_ps(x + i, _mm_mul_ps(_mm_mul_ps(half, v), _mm_add_ps(one, e)));
	}
#endif
	emb_gelu_scalar(x + i, n - i);
}

static void
gelu_tanh(float *x, size_t n)
{
	const float c = 0.7978845608028654f; /* sqrt(2/pi) */

	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + tanhf(c * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

/* y (n, out) = x (n, in) W^T + b, W (out, in): the scalar reference. */
void
emb_linear_ref(const float *x, size_t n, size_t in, const float *w, const float *b,
               size_t out, float *y)
{
	for (size_t r = 0; r < n; r++)
		for (size_t o = 0; o < out; o++) {
			double s = b ? b[o] : 0;

			for (size_t i = 0; i < in; i++)
				s += (double)x[r * in + i] * w[o * in + i];
			y[r * out + o] = (float)s;
		}
}

/* The same with sgemm; y must not alias x.  When accumulate is set y holds a
 * residual that the product and bias are added to. */
static void
linear(const float *x, size_t n, size_t in, const float *w, const float *b, size_t out,
       float *y, int accumulate)
{
	for (size_t r = 0; r < n; r++) {
		float *yr = y + r * out;

		if (accumulate) {
			if (b)
				for (size_t o = 0; o < out; o++)
					yr[o] += b[o];
		} else if (b) {
			memcpy(yr, b, out * sizeof *yr);
		} else {
			memset(yr, 0, out * sizeof *yr);
		}
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, 1.0f,
	            x, (int)in, w, (int)in, 1.0f, y, (int)out);
}

void
emb_linear(const float *x, size_t n, size_t in, const float *w, const float *b,
           size_t out, float *y)
{
	linear(x, n, in, w, b, out, y, 0);
}

/* ---------------------------------------------------------- buckets */

int
emb_mpnet_bucket(int rel, int num_buckets, int max_distance)
{
	int ret = 0, n = -rel, max_exact, v;

	num_buckets /= 2;
	if (n < 0)
		ret += num_buckets;
	n = abs(n);
	max_exact = num_buckets / 2;
	if (n < max_exact)
		return ret + n;
	v = max_exact + (int)(logf((float)n / (float)max_exact) /
	                      (float)log((double)max_distance / max_exact) *
	                      (float)(num_buckets - max_exact));
	if (v > num_buckets - 1)
		v = num_buckets - 1;
	return ret + v;
}

int
emb_deberta_bucket(int rel, int bucket_size, int max_position)
{
	int mid = bucket_size / 2, a = abs(rel), sign = (rel > 0) - (rel < 0);
	double lp;

	if (rel < mid && rel > -mid)
		return rel;
	if (a <= mid)
		return rel;
	lp = ceil(log((double)a / mid) / log((double)(max_position - 1) / mid) * (mid - 1)) +
	     mid;
	return sign * (int)lp;
}

/* ---------------------------------------------------------- threads */

typedef void (*range_fn)(void *ctx, size_t lo, size_t hi, size_t tix);

typedef struct par_job {
	range_fn fn;
	void *ctx;
	size_t lo, hi, tix;
} par_job;

static void *
par_run(void *p)
{
	par_job *j = p;

	j->fn(j->ctx, j->lo, j->hi, j->tix);
	return NULL;
}

/* fn over [0, n) split into nthreads contiguous ranges. */
static void
par_for(int nthreads, size_t n, range_fn fn, void *ctx)
{
	pthread_t tid[64];
	par_job job[64];
	int started[64] = {0};
	size_t k = (size_t)(nthreads < 1 ? 1 : nthreads > 64 ? 64 : nthreads);

	if (k > n)
		k = n ? n : 1;
	if (k == 1) {
		fn(ctx, 0, n, 0);
		return;
	}
	for (size_t t = 0; t < k; t++) {
		job[t].fn = fn;
		job[t].ctx = ctx;
		job[t].lo = n * t / k;
		job[t].hi = n * (t + 1) / k;
		job[t].tix = t;
	}
	for (size_t t = 1; t < k; t++)
		started[t] = pthread_create(&tid[t], NULL, par_run, &job[t]) == 0;
	fn(ctx, job[0].lo, job[0].hi, 0);
	for (size_t t = 1; t < k; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			fn(ctx, job[t].lo, job[t].hi, job[t].tix);
	}
}

/* ---------------------------------------------------------- attention */

typedef struct attn_ctx {
	const te_emb *m;
	const emb_layer *l;
	const float *q, *k, *v;   /* (ntok, H) */
	float *ctx;               /* (ntok, H) */
	const size_t *off;
	size_t ndoc, maxT;
	const int *bucket;        /* relative bucket of r, at r + maxT - 1 */
	float *scratch;           /* per thread: S (T, T), C and P (T, R) */
	size_t per_thread, nthreads;
} attn_ctx;

static void
softmax_row(float *s, size_t n)
{
	float mx = s[0], sum = 0;

	for (size_t j = 1; j < n; j++)
		if (s[j] > mx)
			mx = s[j];
	for (size_t j = 0; j < n; j++) {
		s[j] = expf(s[j] - mx);
		sum += s[j];
	}
	for (size_t j = 0; j < n; j++)
		s[j] /= sum;
}

static void
attn_range(void *p, size_t lo, size_t hi, size_t tix)
{
	attn_ctx *a = p;
	const te_emb *m = a->m;
	size_t H = m->hidden, dh = m->head_dim, R = 2 * m->span, T0 = a->maxT;
	float *S = a->scratch + tix * a->per_thread, *C = S + T0 * T0, *P = C + T0 * R;

	for (size_t it = lo; it < hi; it++) {
		size_t doc = it / m->heads, h = it % m->heads;
		size_t base = a->off[doc], T = a->off[doc + 1] - base;
		const float *Q = a->q + base * H + h * dh, *K = a->k + base * H + h * dh,
		            *V = a->v + base * H + h * dh;
		float *O = a->ctx + base * H + h * dh;

		if (T == 0)
			continue;
		/* S (T, T) = Q K^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh,
		            1.0f, Q, (int)H, K, (int)H, 0.0f, S, (int)T);
		if (m->arch == EMB_DEBERTA) {
			float scale = 1.0f / sqrtf((float)dh * (float)(1 + m->c2p + m->p2c));
			const float *Kr = a->l->kr + h * dh, *Qr = a->l->qr + h * dh;

			/* C (T, R) = Q Kr^T: content to position; P (T, R) = K Qr^T */
			if (m->c2p)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)R,
				            (int)dh, 1.0f, Q, (int)H, Kr, (int)H, 0.0f, C, (int)R);
			if (m->p2c)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)R,
				            (int)dh, 1.0f, K, (int)H, Qr, (int)H, 0.0f, P, (int)R);
			for (size_t i = 0; i < T; i++) {
				float *s = S + i * T;

				for (size_t j = 0; j < T; j++) {
					long dl = (long)a->bucket[(long)i - (long)j + (long)T0 - 1] +
					          (long)m->span;
					size_t dd = dl < 0 ? 0 : dl > (long)R - 1 ? R - 1 : (size_t)dl;
					float v = s[j];

					if (m->c2p)
						v += C[i * R + dd];
					if (m->p2c)
						v += P[j * R + dd];
					s[j] = v * scale;
				}
				softmax_row(s, T);
			}
		} else {
			float scale = 1.0f / sqrtf((float)dh);

			for (size_t i = 0; i < T; i++) {
				float *s = S + i * T;

				if (m->arch == EMB_MPNET) {
					for (size_t j = 0; j < T; j++)
						s[j] = s[j] * scale +
						       m->rel_bias[(size_t)a->bucket[(long)j - (long)i +
						                                     (long)T0 - 1] * m->heads + h];
				} else {
					for (size_t j = 0; j < T; j++)
						s[j] *= scale;
				}
				softmax_row(s, T);
			}
		}
		/* O (T, dh) = S V */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dh, (int)T,
		            1.0f, S, (int)T, V, (int)H, 0.0f, O, (int)H);
	}
}

typedef struct rows_ctx {
	const te_emb *m;
	float *x;
	size_t dim;
	const float *g, *b;
} rows_ctx;

static void
ln_range(void *p, size_t lo, size_t hi, size_t tix)
{
	rows_ctx *c = p;

	emb_layernorm(c->x + lo * c->dim, hi - lo, c->dim, c->g, c->b, c->m->eps);
}

static void
gelu_range(void *p, size_t lo, size_t hi, size_t tix)
{
	rows_ctx *c = p;

	if (c->m->gelu_tanh)
		gelu_tanh(c->x + lo * c->dim, (hi - lo) * c->dim);
	else
		emb_gelu(c->x + lo * c->dim, (hi - lo) * c->dim);
}

/* Grow *buf to hold n floats; the contents are not kept. */
static int
reserve(float **buf, size_t *cap, size_t n)
{
	float *nb;

	if (n <= *cap)
		return 0;
	nb = malloc(n * sizeof *nb);
	if (!nb)
		return -1;
	free(*buf);
	*buf = nb;
	*cap = n;
	return 0;
}

/* The forward pass of documents off[0]..off[n] (off[0] = 0) of x with
 * workspace w; threads share each matrix product (BLAS) and the attention. */
static int
encode(const te_emb *m, emb_ws *w, int threads, float *x, size_t n, const size_t *off,
       te_diag *d)
{
	size_t H = m->hidden, F = m->ffn, N = off[n], maxT = 0, R = 2 * m->span;
	size_t per_thread, nthreads = (size_t)(threads > 64 ? 64 : threads);
	float *q, *k, *v, *ctx, *f;
	int *bucket = NULL, rc = -1;

	for (size_t i = 0; i < n; i++)
		if (off[i + 1] - off[i] > maxT)
			maxT = off[i + 1] - off[i];
	if (N == 0)
		return 0;
	per_thread = maxT * maxT + (m->arch == EMB_DEBERTA ? 2 * maxT * R : 0);
	bucket = malloc((2 * maxT) * sizeof *bucket);
	if (!bucket || reserve(&w->buf, &w->buf_cap, N * (4 * H + F)) < 0 ||
	    reserve(&w->attn, &w->attn_cap, per_thread * nthreads) < 0) {
		te_diag_set(d, NULL, 0, "out of memory (%zu tokens)", N);
		goto out;
	}
	/* (N, H) each, then (N, F) */
	q = w->buf;
	k = q + N * H;
	v = k + N * H;
	ctx = v + N * H;
	f = ctx + N * H;
	for (long r = -(long)maxT + 1; r < (long)maxT; r++) {
		int b = 0;

		if (m->arch == EMB_MPNET)
			b = emb_mpnet_bucket((int)r, 32, 128);
		else if (m->arch == EMB_DEBERTA)
			b = m->log_buckets ? emb_deberta_bucket((int)r, (int)m->span,
			                                        (int)m->max_rel_pos)
			                   : (int)r;
		bucket[r + (long)maxT - 1] = b;
	}
	if (m->arch == EMB_MPNET && m->rel_buckets < 32) {
		te_diag_set(d, NULL, 0, "MPNet needs 32 relative buckets, the model has %zu",
		            m->rel_buckets);
		goto out;
	}
	for (size_t li = 0; li < m->layers; li++) {
		const emb_layer *l = &m->layer[li];
		attn_ctx ac = {m, l, q, k, v, ctx, off, n, maxT, bucket, w->attn, per_thread,
		               nthreads};
		rows_ctx rc1 = {m, x, H, l->ln1_g, l->ln1_b};
		rows_ctx rc2 = {m, x, H, l->ln2_g, l->ln2_b};
		rows_ctx rg = {m, f, F, NULL, NULL};

		if (threads > 1)
			openblas_set_num_threads(threads);
		linear(x, N, H, l->wq, l->bq, H, q, 0);
		linear(x, N, H, l->wk, l->bk, H, k, 0);
		linear(x, N, H, l->wv, l->bv, H, v, 0);
		if (threads > 1)
			openblas_set_num_threads(1);
		par_for(threads, n * m->heads, attn_range, &ac);
		if (threads > 1)
			openblas_set_num_threads(threads);
		/* x = LN(ctx Wo^T + bo + x) */
		linear(ctx, N, H, l->wo, l->bo, H, x, 1);
		par_for(threads, N, ln_range, &rc1);
		/* x = LN(gelu(x Wi^T + bi) Wo2^T + bo2 + x) */
		linear(x, N, H, l->wi, l->bi, F, f, 0);
		par_for(threads, N, gelu_range, &rg);
		linear(f, N, F, l->wo2, l->bo2, H, x, 1);
		par_for(threads, N, ln_range, &rc2);
	}
	rc = 0;
out:
	free(bucket);
	return rc;
}

typedef struct split_job {
	const te_emb *m;
	emb_ws *w;
	float *x;
	size_t n;
	size_t *off;     /* rebased to 0 */
	te_diag d;
	int rc;
} split_job;

static void
split_run(void *p, size_t lo, size_t hi, size_t tix)
{
	split_job *jobs = p;

	for (size_t i = lo; i < hi; i++)
		jobs[i].rc = encode(jobs[i].m, jobs[i].w, 1, jobs[i].x, jobs[i].n, jobs[i].off,
		                    &jobs[i].d);
}

/* Many documents: each thread runs whole documents with a one-thread BLAS,
 * which wastes no time in synchronisation; few (long) documents: the
 * threads share every product.  Either way a document's numbers do not
 * depend on its neighbours beyond rounding. */
int
emb_encode_cpu(te_emb *m, float *x, size_t n, const size_t *off, te_diag *d)
{
	size_t T = (size_t)(m->threads > 64 ? 64 : m->threads < 1 ? 1 : m->threads);
	size_t H = m->hidden;
	split_job job[64];
	int rc = 0;

	if (m->nws < T) {
		emb_ws *nw = realloc(m->ws, T * sizeof *nw);

		if (!nw)
			return te_diag_set(d, NULL, 0, "out of memory");
		memset(nw + m->nws, 0, (T - m->nws) * sizeof *nw);
		m->ws = nw;
		m->nws = T;
	}
	if (T == 1 || n < 2 * T) {
		openblas_set_num_threads((int)T);
		return encode(m, &m->ws[0], (int)T, x, n, off, d);
	}
	openblas_set_num_threads(1);
	/* contiguous groups of documents with about equal token counts */
	{
		size_t start = 0;

		for (size_t t = 0; t < T; t++) {
			size_t target = off[n] * (t + 1) / T, end = start;

			while (end < n && (off[end + 1] <= target || end == start))
				end++;
			if (t == T - 1)
				end = n;
			job[t].m = m;
			job[t].w = &m->ws[t];
			job[t].x = x + off[start] * H;
			job[t].n = end - start;
			job[t].off = malloc((end - start + 1) * sizeof *job[t].off);
			memset(&job[t].d, 0, sizeof job[t].d);
			job[t].rc = 0;
			if (!job[t].off) {
				for (size_t u = 0; u <= t; u++)
					free(job[u].off);
				return te_diag_set(d, NULL, 0, "out of memory");
			}
			for (size_t i = start; i <= end; i++)
				job[t].off[i - start] = off[i] - off[start];
			start = end;
		}
	}
	par_for((int)T, T, split_run, job);
	for (size_t t = 0; t < T; t++) {
		if (job[t].rc < 0 && rc == 0) {
			*d = job[t].d;
			rc = -1;
		}
		free(job[t].off);
	}
	return rc;
}
