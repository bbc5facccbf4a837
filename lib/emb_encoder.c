/* emb_encoder.c: the CPU forward pass of BERT, RoBERTa, MPNet and DeBERTa-v2
 * encoders on a packed batch (documents concatenated, no padding): the
 * float32 matrix products run on weights packed once for kern.c's AVX-512
 * kernel, elsewhere as OpenBLAS sgemm; in bfloat16 or int8
 * (te_emb_set_dtype) on weights packed once in that precision (kern.c);
 * attention runs per (document, head) on the caller's threads. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cblas.h>

#include "emb_int.h"
#include "util_int.h"

/* ---------------------------------------------------------- kernels */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(TE_NO_SIMD)
#include <immintrin.h>
#define HAVE_AVX2 1
#define AVX2_FN __attribute__((target("avx2,fma")))

/* AVX2 and FMA on this CPU (the build itself targets the x86-64 baseline) */
static int
use_avx2(void)
{
	return !kern_force_scalar && __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("fma");
}

AVX2_FN static inline float
hsum8(__m256 v)
{
	__m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	a = _mm_add_ps(a, _mm_movehl_ps(a, a));
	a = _mm_add_ss(a, _mm_movehdup_ps(a));
	return _mm_cvtss_f32(a);
}

AVX2_FN static inline float
hmax8(__m256 v)
{
	__m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	a = _mm_max_ps(a, _mm_movehl_ps(a, a));
	a = _mm_max_ss(a, _mm_movehdup_ps(a));
	return _mm_cvtss_f32(a);
}

/* LN(x + bias), one row at a time: the sums in float over 8 lanes */
AVX2_FN static void
bias_ln_avx2(float *x, size_t n, size_t dim, const float *bias, const float *g,
             const float *b, double eps)
{
	size_t d8 = dim & ~(size_t)7;

	for (size_t r = 0; r < n; r++) {
		float *v = x + r * dim;
		__m256 s = _mm256_setzero_ps(), mv, iv;
		float tail = 0, mean, var, inv;
		size_t i;

		for (i = 0; i < d8; i += 8) {
			__m256 t = _mm256_loadu_ps(v + i);

			if (bias) {
				t = _mm256_add_ps(t, _mm256_loadu_ps(bias + i));
				_mm256_storeu_ps(v + i, t);
			}
			s = _mm256_add_ps(s, t);
		}
		for (; i < dim; i++) {
			if (bias)
				v[i] += bias[i];
			tail += v[i];
		}
		mean = (hsum8(s) + tail) / (float)dim;
		mv = _mm256_set1_ps(mean);
		s = _mm256_setzero_ps();
		tail = 0;
		for (i = 0; i < d8; i += 8) {
			__m256 t = _mm256_sub_ps(_mm256_loadu_ps(v + i), mv);

			s = _mm256_fmadd_ps(t, t, s);
		}
		for (; i < dim; i++)
			tail += (v[i] - mean) * (v[i] - mean);
		var = (hsum8(s) + tail) / (float)dim;
		inv = (float)(1.0 / sqrt((double)var + eps));
		iv = _mm256_set1_ps(inv);
		for (i = 0; i < d8; i += 8) {
			__m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(v + i), mv), iv);

			_mm256_storeu_ps(v + i, _mm256_fmadd_ps(t, _mm256_loadu_ps(g + i),
			                                        _mm256_loadu_ps(b + i)));
		}
		for (; i < dim; i++)
			v[i] = (v[i] - mean) * inv * g[i] + b[i];
	}
}
#endif

void
emb_layernorm_ref(float *x, size_t n, size_t dim, const float *g, const float *b,
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

void
emb_bias_layernorm(float *x, size_t n, size_t dim, const float *bias, const float *g,
                   const float *b, double eps)
{
#ifdef HAVE_AVX2
	if (use_avx2()) {
		bias_ln_avx2(x, n, dim, bias, g, b, eps);
		return;
	}
#endif
	for (size_t r = 0; r < n; r++) {
		float *v = x + r * dim;

		if (bias)
			for (size_t i = 0; i < dim; i++)
				v[i] += bias[i];
		emb_layernorm_ref(v, 1, dim, g, b, eps);
	}
}

void
emb_layernorm(float *x, size_t n, size_t dim, const float *g, const float *b,
              double eps)
{
	emb_bias_layernorm(x, n, dim, NULL, g, b, eps);
}

/* glibc >= 2.35 ships vector erff and expf in libmvec (linked through -lm's
 * script), within a few ulp of erff and expf; GELU spends most of its time
 * there. */
#if defined(HAVE_AVX2) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)) && !defined(TE_NO_MVEC)
#define HAVE_MVEC 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
/* the target attributes say which registers carry the vectors (clang
 * refuses an AVX argument to a function declared without them) */
__m128 _ZGVbN4v_erff(__m128 x);
__attribute__((target("avx2"))) __m256 _ZGVdN8v_erff(__m256 x);
__attribute__((target("avx2"))) __m256 _ZGVdN8v_expf(__m256 x);
__attribute__((target("avx512f"))) __m512 _ZGVeN16v_erff(__m512 x);
#pragma GCC diagnostic pop

/* the same 16 lanes at a time */
__attribute__((target("avx512f"))) static void
bias_gelu_avx512(float *x, size_t n, size_t dim, const float *bias)
{
	const __m512 half = _mm512_set1_ps(0.5f), r2 = _mm512_set1_ps((float)M_SQRT1_2);
	size_t d16 = dim & ~(size_t)15;

	for (size_t r = 0; r < n; r++) {
		float *v = x + r * dim;
		size_t i;

		for (i = 0; i < d16; i += 16) {
			__m512 t = _mm512_loadu_ps(v + i), e, h;

			if (bias)
				t = _mm512_add_ps(t, _mm512_loadu_ps(bias + i));
			e = _ZGVeN16v_erff(_mm512_mul_ps(t, r2));
			h = _mm512_mul_ps(half, t);
			_mm512_storeu_ps(v + i, _mm512_fmadd_ps(h, e, h));
		}
		for (; i < dim; i++) {
			float t = v[i] + (bias ? bias[i] : 0);

			v[i] = emb_gelu1(t);
		}
	}
}

/* x = gelu(x + bias) over rows of dim (bias may be NULL) */
AVX2_FN static void
bias_gelu_avx2(float *x, size_t n, size_t dim, const float *bias)
{
	const __m256 half = _mm256_set1_ps(0.5f), r2 = _mm256_set1_ps((float)M_SQRT1_2);
	size_t d8 = dim & ~(size_t)7;

	for (size_t r = 0; r < n; r++) {
		float *v = x + r * dim;
		size_t i;

		for (i = 0; i < d8; i += 8) {
			__m256 t = _mm256_loadu_ps(v + i), e, h;

			if (bias)
				t = _mm256_add_ps(t, _mm256_loadu_ps(bias + i));
			e = _ZGVdN8v_erff(_mm256_mul_ps(t, r2));
			h = _mm256_mul_ps(half, t);
			_mm256_storeu_ps(v + i, _mm256_fmadd_ps(h, e, h));
		}
		for (; i < dim; i++) {
			float t = v[i] + (bias ? bias[i] : 0);

			v[i] = emb_gelu1(t);
		}
	}
}
#endif

/* The gated activations of a row from column lo on:
 * f[i] = act(gu[i]) * gu[F + i]. */
static void
gate_row_scalar(int act, const float *gu, size_t F, size_t lo, float *f)
{
	const float k = 0.7978845608028654f;   /* sqrt(2 / pi) */

	for (size_t i = lo; i < F; i++) {
		float g = gu[i];

		if (act == EMB_ACT_GELU_TANH)
			g = 0.5f * g * (1.0f + tanhf(k * (g + 0.044715f * g * g * g)));
		else if (act == EMB_ACT_GELU)
			g = emb_gelu1(g);
		else
			g = g / (1.0f + expf(-g));
		f[i] = g * gu[F + i];
	}
}

#ifdef HAVE_MVEC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
__attribute__((target("avx2"))) __m256 _ZGVdN8v_tanhf(__m256 x);
#pragma GCC diagnostic pop

/* The same, eight lanes at a time through libmvec */
AVX2_FN static void
gate_row_avx2(int act, const float *gu, size_t F, float *f)
{
	const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f),
	             r2 = _mm256_set1_ps((float)M_SQRT1_2),
	             k = _mm256_set1_ps(0.7978845608028654f), c = _mm256_set1_ps(0.044715f),
	             sign = _mm256_set1_ps(-0.0f);
	size_t i;

	for (i = 0; i + 8 <= F; i += 8) {
		__m256 g = _mm256_loadu_ps(gu + i), u = _mm256_loadu_ps(gu + F + i), h, e;

		if (act == EMB_ACT_GELU_TANH) {
			/* k * (g + c g^3), as the scalar form rounds it */
			e = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(c, g), g), g);
			e = _ZGVdN8v_tanhf(_mm256_mul_ps(k, _mm256_add_ps(g, e)));
			h = _mm256_mul_ps(half, g);
			g = _mm256_mul_ps(h, _mm256_add_ps(one, e));
		} else if (act == EMB_ACT_GELU) {
			e = _ZGVdN8v_erff(_mm256_mul_ps(g, r2));
			h = _mm256_mul_ps(half, g);
			g = _mm256_mul_ps(h, _mm256_add_ps(one, e));
		} else {
			e = _ZGVdN8v_expf(_mm256_xor_ps(g, sign));
			g = _mm256_div_ps(g, _mm256_add_ps(one, e));
		}
		_mm256_storeu_ps(f + i, _mm256_mul_ps(g, u));
	}
	gate_row_scalar(act, gu, F, i, f);
}
#endif

void
emb_gate(int act, const float *gu, size_t N, size_t F, float *f)
{
	for (size_t t = 0; t < N; t++) {
#ifdef HAVE_MVEC
		if (use_avx2()) {
			gate_row_avx2(act, gu + t * 2 * F, F, f + t * F);
			continue;
		}
#endif
		gate_row_scalar(act, gu + t * 2 * F, F, 0, f + t * F);
	}
}

#ifdef HAVE_AVX2
/* The sum of squares of a row, in double, four lanes at a time */
AVX2_FN static double
sum_squares_avx2(const float *a, size_t dim)
{
	__m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
	double ss;
	size_t i;

	for (i = 0; i + 8 <= dim; i += 8) {
		__m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(a + i)),
		        hi = _mm256_cvtps_pd(_mm_loadu_ps(a + i + 4));

		s0 = _mm256_fmadd_pd(lo, lo, s0);
		s1 = _mm256_fmadd_pd(hi, hi, s1);
	}
	s0 = _mm256_add_pd(s0, s1);
	{
		double l[4];

		_mm256_storeu_pd(l, s0);
		ss = (l[0] + l[1]) + (l[2] + l[3]);
	}
	for (; i < dim; i++)
		ss += (double)a[i] * a[i];
	return ss;
}
#endif

void
emb_rms_norm(const float *x, size_t n, size_t dim, size_t stride, const float *g, float add,
             double eps, float *out)
{
	for (size_t r = 0; r < n; r++) {
		const float *a = x + r * stride;
		float *o = out + r * stride;
		double ss = 0;
		float inv;

#ifdef HAVE_AVX2
		if (use_avx2())
			ss = sum_squares_avx2(a, dim);
		else
#endif
			for (size_t i = 0; i < dim; i++)
				ss += (double)a[i] * a[i];
		inv = (float)(1.0 / sqrt(ss / (double)dim + eps));
		for (size_t i = 0; i < dim; i++)
			o[i] = (add + g[i]) * (a[i] * inv);
	}
}

void
emb_gelu_scalar(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = emb_gelu1(x[i]);
}

void
emb_gelu(float *x, size_t n)
{
	size_t i = 0;

#ifdef HAVE_MVEC
	if (use_avx2()) {
		bias_gelu_avx2(x, 1, n, NULL);
		return;
	}
	if (!kern_force_scalar) {
		const __m128 half = _mm_set1_ps(0.5f), one = _mm_set1_ps(1.0f),
		             r2 = _mm_set1_ps((float)M_SQRT1_2);

		for (; i + 4 <= n; i += 4) {
			__m128 v = _mm_loadu_ps(x + i);
			__m128 e = _ZGVbN4v_erff(_mm_mul_ps(v, r2));

			_mm_storeu_ps(x + i, _mm_mul_ps(_mm_mul_ps(half, v), _mm_add_ps(one, e)));
		}
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
	const float *qkv;         /* (ntok, 3H): Q, K, V, their biases not added */
	float *ctx;               /* (ntok, H) */
	const size_t *off;
	size_t ndoc, maxT;
	const int *bucket;        /* relative bucket of r, at r + maxT - 1 */
	float *scratch;           /* per thread: see attn_scratch */
	size_t per_thread, nthreads;
	int fast;                 /* 1 AVX2, 2 AVX-512 kernel (0: sgemm per head) */
} attn_ctx;

/* Scratch floats per thread for documents of up to T0 tokens: S (T0, T0p),
 * Q, K (or K^T, (dh, T0p)) and V, then DeBERTa's C and P (T0, R). */
static size_t
attn_scratch(const te_emb *m, size_t T0)
{
	size_t dh = m->head_dim, R = 2 * m->span, Tp = (T0 + 7) & ~(size_t)7;

	return (Tp + 16) * (Tp + 16) + 3 * (Tp + 16) * dh +
	       (m->arch == EMB_DEBERTA ? 2 * Tp * R : 0);
}

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

#ifdef HAVE_MVEC
/* S (4 rows, Tp) = Q rows i0..i0+3 (dh each) K^T (dh, Tp): four rows at a
 * time, so that each K^T load feeds four FMAs and eight sums are in flight
 * (rows past ri repeat the last one; their S rows are scratch; Tp % 8 == 0,
 * the eight past an odd end computed twice). */
AVX2_FN static void
avx2_scores4(const float *Q, size_t i0, size_t ri, const float *KT, size_t dh, size_t Tp,
             float *S)
{
	const float *q0 = Q + i0 * dh, *q1 = Q + (i0 + (ri > 1)) * dh,
	            *q2 = Q + (i0 + (ri > 2 ? 2 : ri - 1)) * dh,
	            *q3 = Q + (i0 + (ri > 3 ? 3 : ri - 1)) * dh;

	for (size_t j0 = 0; j0 < Tp; j0 += 16) {
		size_t j = Tp < 16 ? 0 : j0 + 16 <= Tp ? j0 : Tp - 16, hi = Tp < 16 ? 0 : 8;
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0,
		       d0 = a0, d1 = a0;

		for (size_t e = 0; e < dh; e++) {
			const float *k = KT + e * Tp + j;
			__m256 k0 = _mm256_loadu_ps(k), k1 = _mm256_loadu_ps(k + hi);
			__m256 x;

			x = _mm256_broadcast_ss(q0 + e);
			a0 = _mm256_fmadd_ps(x, k0, a0);
			a1 = _mm256_fmadd_ps(x, k1, a1);
			x = _mm256_broadcast_ss(q1 + e);
			b0 = _mm256_fmadd_ps(x, k0, b0);
			b1 = _mm256_fmadd_ps(x, k1, b1);
			x = _mm256_broadcast_ss(q2 + e);
			c0 = _mm256_fmadd_ps(x, k0, c0);
			c1 = _mm256_fmadd_ps(x, k1, c1);
			x = _mm256_broadcast_ss(q3 + e);
			d0 = _mm256_fmadd_ps(x, k0, d0);
			d1 = _mm256_fmadd_ps(x, k1, d1);
		}
		_mm256_storeu_ps(S + j, a0);
		_mm256_storeu_ps(S + Tp + j, b0);
		_mm256_storeu_ps(S + 2 * Tp + j, c0);
		_mm256_storeu_ps(S + 3 * Tp + j, d0);
		_mm256_storeu_ps(S + j + hi, a1);
		_mm256_storeu_ps(S + Tp + j + hi, b1);
		_mm256_storeu_ps(S + 2 * Tp + j + hi, c1);
		_mm256_storeu_ps(S + 3 * Tp + j + hi, d1);
	}
}

/* Row i of the scores (T of them in s; + the MPNet bias) to the softmax
 * numerators exp(s - max); returns 1 / their sum. */
AVX2_FN static float
avx2_softmax(const attn_ctx *a, size_t T, size_t h, size_t i, float *s)
{
	const te_emb *m = a->m;
	size_t T8 = T & ~(size_t)7, j;
	__m256 mx8, sum8 = _mm256_setzero_ps();
	float mx, sum = 0;

	if (m->arch == EMB_MPNET)
		for (j = 0; j < T; j++)
			s[j] += m->rel_bias[(size_t)a->bucket[(long)j - (long)i + (long)a->maxT - 1] *
			                    m->heads + h];
	mx = s[0];
	if (T8) {
		mx8 = _mm256_loadu_ps(s);
		for (j = 8; j < T8; j += 8)
			mx8 = _mm256_max_ps(mx8, _mm256_loadu_ps(s + j));
		mx = hmax8(mx8);
	}
	for (j = T8; j < T; j++)
		if (s[j] > mx)
			mx = s[j];
	mx8 = _mm256_set1_ps(mx);
	for (j = 0; j < T8; j += 8) {
		__m256 ev = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(s + j), mx8));

		_mm256_storeu_ps(s + j, ev);
		sum8 = _mm256_add_ps(sum8, ev);
	}
	for (; j < T; j++) {
		s[j] = expf(s[j] - mx);
		sum += s[j];
	}
	return 1.0f / (sum + hsum8(sum8));
}

/* O rows 0..ri-1 (ldo) = the numerators S (4 rows, Tp) V (T, dh) / their
 * sums, 16 components of four rows at a time (dh % 8 == 0: the eight past
 * an odd end computed twice). */
AVX2_FN static void
avx2_output4(const float *S, size_t Tp, const float *V, size_t T, size_t dh,
             const float inv[4], size_t ri, float *O, size_t ldo)
{
	for (size_t e0 = 0; e0 < dh; e0 += 16) {
		size_t e = dh < 16 ? 0 : e0 + 16 <= dh ? e0 : dh - 16, hi = dh < 16 ? 0 : 8;
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0,
		       d0 = a0, d1 = a0;
		__m256 o[8];

		for (size_t j = 0; j < T; j++) {
			const float *vr = V + j * dh + e;
			__m256 v0 = _mm256_loadu_ps(vr), v1 = _mm256_loadu_ps(vr + hi), x;

			x = _mm256_broadcast_ss(S + j);
			a0 = _mm256_fmadd_ps(x, v0, a0);
			a1 = _mm256_fmadd_ps(x, v1, a1);
			x = _mm256_broadcast_ss(S + Tp + j);
			b0 = _mm256_fmadd_ps(x, v0, b0);
			b1 = _mm256_fmadd_ps(x, v1, b1);
			x = _mm256_broadcast_ss(S + 2 * Tp + j);
			c0 = _mm256_fmadd_ps(x, v0, c0);
			c1 = _mm256_fmadd_ps(x, v1, c1);
			x = _mm256_broadcast_ss(S + 3 * Tp + j);
			d0 = _mm256_fmadd_ps(x, v0, d0);
			d1 = _mm256_fmadd_ps(x, v1, d1);
		}
		o[0] = a0, o[1] = a1, o[2] = b0, o[3] = b1, o[4] = c0, o[5] = c1, o[6] = d0,
		o[7] = d1;
		for (size_t r = 0; r < ri; r++) {
			__m256 iv = _mm256_set1_ps(inv[r]);

			_mm256_storeu_ps(O + r * ldo + e, _mm256_mul_ps(o[2 * r], iv));
			_mm256_storeu_ps(O + r * ldo + e + hi, _mm256_mul_ps(o[2 * r + 1], iv));
		}
	}
}

/* K^T (dh, Tp) = (the T rows of k, ldk apart, + bias)^T, zero past T: eight
 * tokens by eight components at a time through an 8 x 8 transpose. */
AVX2_FN static void
avx2_keys_t(const float *k, size_t ldk, const float *bias, size_t T, size_t dh, size_t Tp,
            float *KT)
{
	size_t t = 0;

	for (; t + 8 <= T; t += 8)
		for (size_t e = 0; e < dh; e += 8) {
			__m256 b = _mm256_loadu_ps(bias + e), r[8], u[8], v[8];

			for (int i = 0; i < 8; i++)
				r[i] = _mm256_add_ps(_mm256_loadu_ps(k + (t + i) * ldk + e), b);
			for (int i = 0; i < 8; i += 2) {
				u[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
				u[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
			}
			for (int i = 0; i < 8; i += 4) {
				v[i] = _mm256_shuffle_ps(u[i], u[i + 2], 0x44);
				v[i + 1] = _mm256_shuffle_ps(u[i], u[i + 2], 0xee);
				v[i + 2] = _mm256_shuffle_ps(u[i + 1], u[i + 3], 0x44);
				v[i + 3] = _mm256_shuffle_ps(u[i + 1], u[i + 3], 0xee);
			}
			for (int i = 0; i < 4; i++) {
				_mm256_storeu_ps(KT + (e + i) * Tp + t,
				                 _mm256_permute2f128_ps(v[i], v[i + 4], 0x20));
				_mm256_storeu_ps(KT + (e + i + 4) * Tp + t,
				                 _mm256_permute2f128_ps(v[i], v[i + 4], 0x31));
			}
		}
	for (; t < Tp; t++)
		for (size_t e = 0; e < dh; e++)
			KT[e * Tp + t] = t < T ? k[t * ldk + e] + bias[e] : 0;
}

/* One (document, head) of T tokens, four rows at a time: s = q K^T
 * (+ the MPNet bias), e = exp(s - max), o = e V / sum e.  Needs dh % 8 == 0.
 * Scratch: s (4, Tp), Q (T, dh), K^T (dh, Tp), V (T, dh). */
AVX2_FN static void
attn_small_avx2(const attn_ctx *a, size_t base, size_t T, size_t h, float *S)
{
	const te_emb *m = a->m;
	size_t H = m->hidden, dh = m->head_dim, H3 = 3 * H, Tp = (T + 7) & ~(size_t)7;
	const float *src = a->qkv + base * H3 + h * dh, *bq = a->l->bqkv + h * dh,
	            *bk = bq + H, *bv = bq + 2 * H;
	float *Q = S + 4 * Tp, *KT = Q + T * dh, *V = KT + dh * Tp;
	float *O = a->ctx + base * H + h * dh;
	const __m256 sc = _mm256_set1_ps(1.0f / sqrtf((float)dh));

	for (size_t t = 0; t < T; t++) {
		const float *r = src + t * H3;

		for (size_t e = 0; e < dh; e += 8) {
			_mm256_storeu_ps(Q + t * dh + e,
			                 _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(r + e),
			                                             _mm256_loadu_ps(bq + e)), sc));
			_mm256_storeu_ps(V + t * dh + e,
			                 _mm256_add_ps(_mm256_loadu_ps(r + 2 * H + e),
			                               _mm256_loadu_ps(bv + e)));
		}
	}
	avx2_keys_t(src + H, H3, bk, T, dh, Tp, KT);
	for (size_t i0 = 0; i0 < T; i0 += 4) {
		size_t ri = T - i0 < 4 ? T - i0 : 4;
		float inv[4];

		avx2_scores4(Q, i0, ri, KT, dh, Tp, S);
		for (size_t r = 0; r < ri; r++)
			inv[r] = avx2_softmax(a, T, h, i0 + r, S + r * Tp);
		avx2_output4(S, Tp, V, T, dh, inv, ri, O + i0 * H, H);
	}
}
__attribute__((target("avx512f"))) __m512 _ZGVeN16v_expf(__m512 x);

#define AVX512_FN __attribute__((target("avx512f")))

/* The AVX-512 attention below, in its four steps.  Each step is forced
 * inline into attn_avx512, so the compiled loop is the one it was as one
 * function (the same instructions, checked with objdump). */
#define AVX512_STEP static inline __attribute__((always_inline, target("avx512f")))

/* Stage one head: Q = (q + bq) / sqrt(dh) and V = v + bv row-major, K^T
 * (dh, Tp) transposed, the padding rows and columns zero. */
AVX512_STEP void
avx512_stage(const attn_ctx *a, size_t base, size_t T, size_t h, float *Q, float *KT,
             float *V)
{
	const te_emb *m = a->m;
	size_t H = m->hidden, dh = m->head_dim, H3 = 3 * H, Tp = (T + 15) & ~(size_t)15;
	size_t T4 = (T + 3) & ~(size_t)3;
	const float *src = a->qkv + base * H3 + h * dh, *bq = a->l->bqkv + h * dh,
	            *bk = bq + H, *bv = bq + 2 * H;
	const __m512 sc = _mm512_set1_ps(1.0f / sqrtf((float)dh));

	for (size_t t = 0; t < T; t++) {
		const float *r = src + t * H3;

		for (size_t e = 0; e < dh; e += 16) {
			_mm512_storeu_ps(Q + t * dh + e,
			                 _mm512_mul_ps(_mm512_add_ps(_mm512_loadu_ps(r + e),
			                                             _mm512_loadu_ps(bq + e)), sc));
			_mm512_storeu_ps(V + t * dh + e,
			                 _mm512_add_ps(_mm512_loadu_ps(r + 2 * H + e),
			                               _mm512_loadu_ps(bv + e)));
		}
		for (size_t e = 0; e < dh; e++)
			KT[e * Tp + t] = r[H + e] + bk[e];
	}
	for (size_t t = T; t < T4; t++)
		memset(Q + t * dh, 0, dh * sizeof *Q);
	for (size_t t = T; t < Tp; t++)
		for (size_t e = 0; e < dh; e++)
			KT[e * Tp + t] = 0;
}

/* s (4, Tp) = q K^T for the four query rows at q0 (dh apart). */
AVX512_STEP void
avx512_scores(const float *q0, const float *KT, size_t dh, size_t Tp, float *S)
{
	const float *q1 = q0 + dh, *q2 = q1 + dh, *q3 = q2 + dh;
	float *s0 = S, *s1 = S + Tp, *s2 = S + 2 * Tp, *s3 = S + 3 * Tp;
	size_t j = 0;

	for (; j + 32 <= Tp; j += 32) {
		__m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
		       c21 = c00, c30 = c00, c31 = c00;

		for (size_t e = 0; e < dh; e++) {
			const float *k = KT + e * Tp + j;
			__m512 k0 = _mm512_loadu_ps(k), k1 = _mm512_loadu_ps(k + 16), b;

			b = _mm512_set1_ps(q0[e]);
			c00 = _mm512_fmadd_ps(b, k0, c00);
			c01 = _mm512_fmadd_ps(b, k1, c01);
			b = _mm512_set1_ps(q1[e]);
			c10 = _mm512_fmadd_ps(b, k0, c10);
			c11 = _mm512_fmadd_ps(b, k1, c11);
			b = _mm512_set1_ps(q2[e]);
			c20 = _mm512_fmadd_ps(b, k0, c20);
			c21 = _mm512_fmadd_ps(b, k1, c21);
			b = _mm512_set1_ps(q3[e]);
			c30 = _mm512_fmadd_ps(b, k0, c30);
			c31 = _mm512_fmadd_ps(b, k1, c31);
		}
		_mm512_storeu_ps(s0 + j, c00);
		_mm512_storeu_ps(s0 + j + 16, c01);
		_mm512_storeu_ps(s1 + j, c10);
		_mm512_storeu_ps(s1 + j + 16, c11);
		_mm512_storeu_ps(s2 + j, c20);
		_mm512_storeu_ps(s2 + j + 16, c21);
		_mm512_storeu_ps(s3 + j, c30);
		_mm512_storeu_ps(s3 + j + 16, c31);
	}
	for (; j < Tp; j += 16) {
		__m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;

		for (size_t e = 0; e < dh; e++) {
			__m512 k0 = _mm512_loadu_ps(KT + e * Tp + j);

			c0 = _mm512_fmadd_ps(_mm512_set1_ps(q0[e]), k0, c0);
			c1 = _mm512_fmadd_ps(_mm512_set1_ps(q1[e]), k0, c1);
			c2 = _mm512_fmadd_ps(_mm512_set1_ps(q2[e]), k0, c2);
			c3 = _mm512_fmadd_ps(_mm512_set1_ps(q3[e]), k0, c3);
		}
		_mm512_storeu_ps(s0 + j, c0);
		_mm512_storeu_ps(s1 + j, c1);
		_mm512_storeu_ps(s2 + j, c2);
		_mm512_storeu_ps(s3 + j, c3);
	}
}

/* The softmax numerators of the ri real rows of S (MPNet's relative bias
 * added first), 1 / their sums in inv; the padding columns get exp(-inf)
 * = 0, the rows past ri are zero. */
AVX512_STEP void
avx512_softmax(const attn_ctx *a, size_t T, size_t h, size_t i0, size_t ri, float *S,
               float inv[4])
{
	const te_emb *m = a->m;
	size_t Tp = (T + 15) & ~(size_t)15, j;
	const __m512 ninf = _mm512_set1_ps(-INFINITY);

	for (size_t r = 0; r < ri; r++) {
		float *s = S + r * Tp;
		__m512 mx, sum = _mm512_setzero_ps();

		if (m->arch == EMB_MPNET)
			for (j = 0; j < T; j++)
				s[j] += m->rel_bias[(size_t)a->bucket[(long)j - (long)(i0 + r) +
				                                      (long)a->maxT - 1] * m->heads + h];
		for (j = T; j < Tp; j++)
			s[j] = -INFINITY;
		mx = ninf;
		for (j = 0; j < Tp; j += 16)
			mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + j));
		mx = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
		for (j = 0; j < Tp; j += 16) {
			__m512 ev = _ZGVeN16v_expf(_mm512_sub_ps(_mm512_loadu_ps(s + j), mx));

			_mm512_storeu_ps(s + j, ev);
			sum = _mm512_add_ps(sum, ev);
		}
		inv[r] = 1.0f / _mm512_reduce_add_ps(sum);
	}
	for (size_t r = ri; r < 4; r++) {
		memset(S + r * Tp, 0, Tp * sizeof *S);
		inv[r] = 0;
	}
}

/* o (ri, dh) = e V / sum into out (rows H apart): 32 columns at a time,
 * then 16. */
AVX512_STEP void
avx512_output(const float *S, const float *V, const float inv[4], size_t T, size_t dh,
              size_t ri, float *out, size_t H)
{
	size_t Tp = (T + 15) & ~(size_t)15, j;
	const float *s0 = S, *s1 = S + Tp, *s2 = S + 2 * Tp, *s3 = S + 3 * Tp;

	for (size_t e = 0; e + 32 <= dh; e += 32) {
		__m512 o00 = _mm512_setzero_ps(), o01 = o00, o10 = o00, o11 = o00, o20 = o00,
		       o21 = o00, o30 = o00, o31 = o00;

		for (j = 0; j < T; j++) {
			const float *vr = V + j * dh + e;
			__m512 v0 = _mm512_loadu_ps(vr), v1 = _mm512_loadu_ps(vr + 16), b;

			b = _mm512_set1_ps(s0[j]);
			o00 = _mm512_fmadd_ps(b, v0, o00);
			o01 = _mm512_fmadd_ps(b, v1, o01);
			b = _mm512_set1_ps(s1[j]);
			o10 = _mm512_fmadd_ps(b, v0, o10);
			o11 = _mm512_fmadd_ps(b, v1, o11);
			b = _mm512_set1_ps(s2[j]);
			o20 = _mm512_fmadd_ps(b, v0, o20);
			o21 = _mm512_fmadd_ps(b, v1, o21);
			b = _mm512_set1_ps(s3[j]);
			o30 = _mm512_fmadd_ps(b, v0, o30);
			o31 = _mm512_fmadd_ps(b, v1, o31);
		}
		{
			__m512 o[4][2] = {{o00, o01}, {o10, o11}, {o20, o21}, {o30, o31}};

			for (size_t r = 0; r < ri; r++) {
				__m512 iv = _mm512_set1_ps(inv[r]);
				float *dst = out + r * H + e;

				_mm512_storeu_ps(dst, _mm512_mul_ps(o[r][0], iv));
				_mm512_storeu_ps(dst + 16, _mm512_mul_ps(o[r][1], iv));
			}
		}
	}
	if (dh & 16) {
		size_t e = dh - 16;
		__m512 o[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
		               _mm512_setzero_ps()};

		for (j = 0; j < T; j++) {
			__m512 v0 = _mm512_loadu_ps(V + j * dh + e);

			o[0] = _mm512_fmadd_ps(_mm512_set1_ps(s0[j]), v0, o[0]);
			o[1] = _mm512_fmadd_ps(_mm512_set1_ps(s1[j]), v0, o[1]);
			o[2] = _mm512_fmadd_ps(_mm512_set1_ps(s2[j]), v0, o[2]);
			o[3] = _mm512_fmadd_ps(_mm512_set1_ps(s3[j]), v0, o[3]);
		}
		for (size_t r = 0; r < ri; r++)
			_mm512_storeu_ps(out + r * H + e, _mm512_mul_ps(o[r], _mm512_set1_ps(inv[r])));
	}
}

/* The same on AVX-512 (dh % 16 == 0) four query rows at a time, so that
 * each load of K^T and V serves four rows.  Scratch: s (4, Tp), Q (Tp4, dh),
 * K^T (dh, Tp), V (T, dh), Tp = T rounded up to 16, Tp4 to 4. */
AVX512_FN static void
attn_avx512(const attn_ctx *a, size_t base, size_t T, size_t h, float *S)
{
	const te_emb *m = a->m;
	size_t H = m->hidden, dh = m->head_dim, Tp = (T + 15) & ~(size_t)15;
	size_t T4 = (T + 3) & ~(size_t)3;
	float *Q = S + 4 * Tp, *KT = Q + T4 * dh, *V = KT + dh * Tp;
	float *O = a->ctx + base * H + h * dh;

	avx512_stage(a, base, T, h, Q, KT, V);
	for (size_t i0 = 0; i0 < T; i0 += 4) {
		size_t ri = T - i0 < 4 ? T - i0 : 4;
		float inv[4];

		avx512_scores(Q + i0 * dh, KT, dh, Tp, S);
		avx512_softmax(a, T, h, i0, ri, S, inv);
		avx512_output(S, V, inv, T, dh, ri, O + i0 * H, H);
	}
}
#endif

static void
attn_range(void *p, size_t lo, size_t hi, size_t tix)
{
	attn_ctx *a = p;
	const te_emb *m = a->m;
	size_t H = m->hidden, H3 = 3 * H, dh = m->head_dim, R = 2 * m->span, T0 = a->maxT;
	size_t T0p = (T0 + 7) & ~(size_t)7;
	float *S = a->scratch + tix * a->per_thread, *Q = S + T0p * T0p, *K = Q + T0p * dh,
	      *V = K + T0p * dh, *C = V + T0p * dh, *P = C + T0p * R;

	for (size_t it = lo; it < hi; it++) {
		size_t doc = it / m->heads, h = it % m->heads;
		size_t base = a->off[doc], T = a->off[doc + 1] - base;
		const float *src = a->qkv + base * H3 + h * dh, *bq = a->l->bqkv + h * dh;
		float *O = a->ctx + base * H + h * dh;

		if (T == 0)
			continue;
#ifdef HAVE_MVEC
		if (a->fast == 2) {
			attn_avx512(a, base, T, h, S);
			continue;
		}
		if (a->fast) {
			attn_small_avx2(a, base, T, h, S);
			continue;
		}
#endif
		/* this head's Q, K and V with their biases, (T, dh) each */
		for (size_t t = 0; t < T; t++)
			for (size_t e = 0; e < dh; e++) {
				Q[t * dh + e] = src[t * H3 + e] + bq[e];
				K[t * dh + e] = src[t * H3 + H + e] + bq[H + e];
				V[t * dh + e] = src[t * H3 + 2 * H + e] + bq[2 * H + e];
			}
		/* S (T, T) = Q K^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh,
		            1.0f, Q, (int)dh, K, (int)dh, 0.0f, S, (int)T);
		if (m->arch == EMB_DEBERTA) {
			float scale = 1.0f / sqrtf((float)dh * (float)(1 + m->c2p + m->p2c));
			const float *Kr = a->l->kr + h * dh, *Qr = a->l->qr + h * dh;

			/* C (T, R) = Q Kr^T: content to position; P (T, R) = K Qr^T */
			if (m->c2p)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)R,
				            (int)dh, 1.0f, Q, (int)dh, Kr, (int)H, 0.0f, C, (int)R);
			if (m->p2c)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)R,
				            (int)dh, 1.0f, K, (int)dh, Qr, (int)H, 0.0f, P, (int)R);
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
		            1.0f, S, (int)T, V, (int)dh, 0.0f, O, (int)H);
	}
}

typedef struct rows_ctx {
	const te_emb *m;
	float *x;
	size_t dim;
	const float *bias, *g, *b;
} rows_ctx;

/* x = LN(x + bias) */
static void
ln_range(void *p, size_t lo, size_t hi, size_t tix)
{
	rows_ctx *c = p;

	emb_bias_layernorm(c->x + lo * c->dim, hi - lo, c->dim, c->bias, c->g, c->b,
	                   c->m->eps);
}

/* x = gelu(x + bias) */
static void
gelu_range(void *p, size_t lo, size_t hi, size_t tix)
{
	rows_ctx *c = p;
	float *x = c->x + lo * c->dim;
	size_t n = hi - lo;

#ifdef HAVE_MVEC
	if (!c->m->gelu_tanh && use_avx2()) {
		if (__builtin_cpu_supports("avx512f"))
			bias_gelu_avx512(x, n, c->dim, c->bias);
		else
			bias_gelu_avx2(x, n, c->dim, c->bias);
		return;
	}
#endif
	if (c->bias)
		for (size_t r = 0; r < n; r++)
			for (size_t i = 0; i < c->dim; i++)
				x[r * c->dim + i] += c->bias[i];
	if (c->m->gelu_tanh)
		gelu_tanh(x, n * c->dim);
	else
		emb_gelu(x, n * c->dim);
}

typedef struct gemm_ctx {
	const float *x, *pk;
	const uint16_t *bf;
	const kern_q8 *q8;
	const uint8_t *xq;        /* int8: x quantized per row, scales sx,
	                           * zero points zp */
	const float *sx;
	const int32_t *zp;
	size_t n, in, out;
	float *y;
	int accumulate;
} gemm_ctx;

static void
gemm_range(void *p, size_t lo, size_t hi, size_t tix)
{
	gemm_ctx *g = p;

	if (g->q8)
		kern_gemm_q8(g->xq, g->sx, g->zp, g->n, g->q8, g->y, g->accumulate, lo, hi);
	else if (g->bf)
		kern_gemm_bf16(g->x, g->n, g->in, g->bf, g->out, g->y, g->accumulate, lo, hi);
	else
		kern_gemm_packed(g->x, g->n, g->in, g->pk, g->out, g->y, g->accumulate, lo, hi);
}

static void
quant_range(void *p, size_t lo, size_t hi, size_t tix)
{
	gemm_ctx *g = p;
	size_t in4 = (g->in + 3) & ~(size_t)3;

	kern_q8_quant(g->x + lo * g->in, hi - lo, g->in, (uint8_t *)g->xq + lo * in4,
	              (float *)g->sx + lo, (int32_t *)g->zp + lo);
}

/* Bytes of int8 scratch for n rows of activations (of at most in floats). */
static size_t
q8_scratch(size_t n, size_t in)
{
	return n * (((in + 3) & ~(size_t)3) + sizeof(float) + sizeof(int32_t));
}

/* y (n, out) = x (n, in) W^T (+ y when accumulate) for product k of layer l
 * (0: Wqkv, 1: Wo, 2: Wi, 3: Wo2): the packed weights in the model's dtype
 * (int8: x quantized into qbuf first) where there are, else sgemm (its
 * threads set by the caller) */
static void
gemm(const te_emb *m, const emb_layer *l, int k, const float *x, size_t n, float *y,
     int accumulate, int threads, unsigned char *qbuf)
{
	size_t H = m->hidden, F = m->ffn;
	size_t in = k == 3 ? F : H, out = k == 0 ? 3 * H : k == 2 ? F : H;
	const float *w = k == 0 ? l->wqkv : k == 1 ? l->wo : k == 2 ? l->wi : l->wo2;
	const float *pk = k == 0 ? l->pk_qkv : k == 1 ? l->pk_o : k == 2 ? l->pk_i : l->pk_o2;
	gemm_ctx g = {x, pk, NULL, NULL, NULL, NULL, NULL, n, in, out, y, accumulate};
	size_t panels = (out + 31) / 32;

	if (m->dtype == TE_EMB_INT8) {
		g.sx = (const float *)qbuf;
		g.zp = (const int32_t *)(qbuf + n * sizeof(float));
		g.xq = qbuf + n * (sizeof(float) + sizeof(int32_t));
		par_for(threads, n, quant_range, &g);
		g.q8 = &l->q8[k];
		panels = (out + 15) / 16;
	} else if (m->dtype == TE_EMB_BF16) {
		g.bf = l->bf[k];
	} else if (!pk || !kern_gemm_available()) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in,
		            1.0f, x, (int)in, w, (int)in, accumulate ? 1.0f : 0.0f, y, (int)out);
		return;
	}
	par_for(threads, panels, gemm_range, &g);
}

/* Let the pages of a weight matrix that was packed go (a hint: the file's
 * pages leave this process's memory, copied ones stay where there is no
 * swap); they come back from the file if read again. */
static void
let_go(const void *w, size_t bytes)
{
#ifdef MADV_PAGEOUT
	size_t pg = 4096;
	uintptr_t a = ((uintptr_t)w + pg - 1) & ~(uintptr_t)(pg - 1),
	          e = ((uintptr_t)w + bytes) & ~(uintptr_t)(pg - 1);

	if (e > a)
		madvise((void *)a, e - a, MADV_PAGEOUT);
#else
	(void)w, (void)bytes;
#endif
}

int
emb_widen_all(te_emb *m, te_diag *d)
{
	for (size_t li = 0; li < m->layers; li++)
		if (emb_widen(m, &m->layer[li], 6, d))
			return -1;
	return 0;
}

int
emb_widen(te_emb *m, emb_layer *l, int n, te_diag *d)
{
	const float **w[6] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->wi, &l->wo2};

	for (int k = 0; k < n && k < 6; k++)
		if (!*w[k] && l->half[k] && !(*w[k] = emb_st_f32_any(m->st, l->half[k], d)))
			return -1;
	return 0;
}

/* Rows of one product's source into the packed block: from float32 where
 * there is a float32 copy, else row by row from the file's F16 or BF16
 * (one row of float32 at a time: the matrix is never widened whole). */
static void
pack_rows(const te_emb *m, emb_layer *l, int k, const float *src, const emb_st_tensor *half,
          size_t rows, size_t in, void *mem, size_t r0, float *row)
{
	for (size_t r = 0; r < rows; r += src ? rows : 1) {
		const float *w = src ? src : row;
		size_t nr = src ? rows : 1;

		if (!src)
			emb_st_row_f32(half, r, in, row);
		if (m->dtype == TE_EMB_INT8)
			kern_q8_pack(&l->q8[k], w, nr, r0 + r);
		else if (m->dtype == TE_EMB_BF16)
			kern_pack_bf16(w, nr, in, mem, r0 + r);
		else
			kern_pack(w, nr, in, mem, r0 + r);
	}
	if (src)
		let_go(src, rows * in * sizeof *src);
	else
		let_go(half->data, half->nbytes);
}

/* The byte offsets of the four products in a layer's block, for dtype. */
static void
pack_layout(const te_emb *m, size_t at[5])
{
	size_t H = m->hidden, F = m->ffn, shape[4][2] = {{3 * H, H}, {H, H}, {F, H}, {H, F}};

	at[0] = 0;
	for (int k = 0; k < 4; k++) {
		size_t o = shape[k][0], in = shape[k][1],
		       b = m->dtype == TE_EMB_INT8 ? kern_q8_bytes(o, in) :
		           m->dtype == TE_EMB_BF16 ? kern_pack_bf16_bytes(o, in) :
		                                     kern_pack_floats(o, in) * sizeof(float);

		at[k + 1] = at[k] + (b + 63) / 64 * 64;
	}
}

/* Layer l's four products into its block, in the model's dtype; row holds
 * one row of the widest product. */
static void
pack_layer(const te_emb *m, emb_layer *l, const size_t at[5], float *row)
{
	size_t H = m->hidden, F = m->ffn, shape[4][2] = {{3 * H, H}, {H, H}, {F, H}, {H, F}};
	const float *src[4][3] = {{l->wq, l->wk, l->wv}, {l->wo}, {l->wi}, {l->wo2}};
	int slot[4][3] = {{0, 1, 2}, {3}, {4}, {5}};
	char *blk = (char *)l->pk;

	for (int k = 0; k < 4; k++) {
		size_t o = shape[k][0], in = shape[k][1], rows = k == 0 ? H : o;
		void *mem = blk + at[k];

		if (m->dtype == TE_EMB_INT8)
			kern_q8_init(&l->q8[k], mem, o, in);
		else
			memset(mem, 0, at[k + 1] - at[k]);
		for (int part = 0; part < (k == 0 ? 3 : 1); part++)
			pack_rows(m, l, k, src[k][part], l->half[slot[k][part]], rows, in, mem,
			          (size_t)part * H, row);
		if (m->dtype == TE_EMB_BF16)
			l->bf[k] = mem;
	}
	if (m->dtype == TE_EMB_F32) {
		l->pk_qkv = l->pk;
		l->pk_o = (float *)(blk + at[1]);
		l->pk_i = (float *)(blk + at[2]);
		l->pk_o2 = (float *)(blk + at[3]);
	}
}

/* Pack every layer's weights for the kernels, once, each layer's source
 * pages let go after it (the peak holds one layer of them). */
static int
pack_weights(te_emb *m)
{
	size_t at[5];
	float *row = malloc((m->ffn > m->hidden ? m->ffn : m->hidden) * sizeof *row);

	if (!row)
		return -1;
	pack_layout(m, at);
	for (size_t li = 0; li < m->layers; li++) {
		emb_layer *l = &m->layer[li];
		void *pk;

		if (l->pk)
			continue;
		/* 2 MiB pages where the kernel gives them: fewer faults and TLB misses */
		if (!(pk = ut_huge_alloc(at[4]))) {
			free(row);
			return -1;
		}
		l->pk = pk;
		pack_layer(m, l, at, row);
	}
	free(row);
	return 0;
}

const char *
te_emb_kernels(void)
{
	return kern_gemm_info();
}

int
te_emb_set_dtype(te_emb *m, int dtype, te_diag *d)
{
	static const char *const names[] = {"float32", "bfloat16", "int8"};

	if (dtype < TE_EMB_F32 || dtype > TE_EMB_INT8)
		return te_diag_set(d, NULL, 0, "unknown weight type %d", dtype);
	if (dtype == m->dtype)
		return 0;
	if (m->arch != EMB_BERT && m->arch != EMB_ROBERTA && m->arch != EMB_MPNET &&
	    m->arch != EMB_DEBERTA)
		return te_diag_set(d, NULL, 0, "%s models run in float32 only, not %s",
		                   m->arch_name, names[dtype]);
	for (size_t li = 0; li < m->layers; li++) {
		emb_layer *l = &m->layer[li];

		free(l->pk);
		l->pk = l->pk_qkv = l->pk_o = l->pk_i = l->pk_o2 = NULL;
		memset(l->bf, 0, sizeof l->bf);
	}
	m->dtype = dtype;
	/* the GPU path (CUDA builds) has float32 weights only: stay on the CPU */
	if (dtype != TE_EMB_F32)
		m->cuda_failed = 1;
	return 0;
}

/* Stack wq, wk and wv for the sgemm path, once. */
static int
stack_qkv(te_emb *m)
{
	size_t H = m->hidden;

	for (size_t li = 0; li < m->layers; li++) {
		emb_layer *l = &m->layer[li];

		if (l->wqkv)
			continue;
		l->wqkv = malloc(3 * H * H * sizeof(float));
		if (!l->wqkv)
			return -1;
		memcpy(l->wqkv, l->wq, H * H * sizeof(float));
		memcpy(l->wqkv + H * H, l->wk, H * H * sizeof(float));
		memcpy(l->wqkv + 2 * H * H, l->wv, H * H * sizeof(float));
	}
	return 0;
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
 * workspace w; threads share each matrix product (BLAS) and the attention.
 * Per layer: qkv = x Wqkv^T (one product, biases added in the attention);
 * x = LN(x + ctx Wo^T + bo); x = LN(x + gelu(x Wi^T + bi) Wo2^T + bo2), the
 * residuals accumulated by sgemm (beta 1), each bias in the pass after it. */
static int
encode(const te_emb *m, emb_ws *w, int threads, float *x, size_t n, const size_t *off,
       te_diag *d)
{
	size_t H = m->hidden, F = m->ffn, N = off[n], maxT = 0;
	size_t per_thread, nthreads = (size_t)(threads > 64 ? 64 : threads), qfloats;
	float *qkv, *ctx, *f;
	unsigned char *qbuf;
	int *bucket = NULL, rc = -1, fast = 0;

	for (size_t i = 0; i < n; i++)
		if (off[i + 1] - off[i] > maxT)
			maxT = off[i + 1] - off[i];
	if (N == 0)
		return 0;
#ifdef HAVE_MVEC
	fast = m->arch != EMB_DEBERTA && m->head_dim % 8 == 0 && use_avx2();
	if (fast && m->head_dim % 16 == 0 && __builtin_cpu_supports("avx512f"))
		fast = 2;
#endif
	per_thread = attn_scratch(m, maxT);
	bucket = malloc((2 * maxT) * sizeof *bucket);
	qfloats = m->dtype == TE_EMB_INT8 ? (q8_scratch(N, F > H ? F : H) + 3) / 4 : 0;
	if (!bucket || reserve(&w->buf, &w->buf_cap, N * (4 * H + F) + qfloats) < 0 ||
	    reserve(&w->attn, &w->attn_cap, per_thread * nthreads) < 0) {
		te_diag_set(d, NULL, 0, "out of memory (%zu tokens)", N);
		goto out;
	}
	/* (N, 3H), (N, H), (N, F) */
	qkv = w->buf;
	ctx = qkv + N * 3 * H;
	f = ctx + N * H;
	qbuf = (unsigned char *)(f + N * F);
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
		attn_ctx ac = {m, l, qkv, ctx, off, n, maxT, bucket, w->attn, per_thread,
		               nthreads, fast};
		rows_ctx rc1 = {m, x, H, l->bo, l->ln1_g, l->ln1_b};
		rows_ctx rc2 = {m, x, H, l->bo2, l->ln2_g, l->ln2_b};
		rows_ctx rg = {m, f, F, l->bi, NULL, NULL};

		if (threads > 1)
			openblas_set_num_threads(threads);
		gemm(m, l, 0, x, N, qkv, 0, threads, qbuf);
		if (threads > 1)
			openblas_set_num_threads(1);
		par_for(threads, n * m->heads, attn_range, &ac);
		if (threads > 1)
			openblas_set_num_threads(threads);
		/* x = LN(x + ctx Wo^T + bo) */
		gemm(m, l, 1, ctx, N, x, 1, threads, qbuf);
		par_for(threads, N, ln_range, &rc1);
		/* x = LN(x + gelu(x Wi^T + bi) Wo2^T + bo2) */
		gemm(m, l, 2, x, N, f, 0, threads, qbuf);
		par_for(threads, N, gelu_range, &rg);
		gemm(m, l, 3, f, N, x, 1, threads, qbuf);
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

	if (m->dtype == TE_EMB_F32 && emb_widen_all(m, d))
		return -1;
	if ((m->dtype != TE_EMB_F32 || kern_gemm_available() ? pack_weights(m) : stack_qkv(m)) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
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
