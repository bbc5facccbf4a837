/* kern_dot.c: the vector kernels of the nearest-neighbour searches: float32
 * dot products and negated squared distances (C, AVX2+FMA, AVX-512, picked
 * for the CPU at run time), and sums in double for norms and final scores. */
#include <math.h>
#include <stddef.h>

#include "kern_int.h"

static float
dot_c(const float *a, const float *b, size_t n)
{
	float s[8] = {0}, t = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			s[j] += a[i + j] * b[i + j];
	for (; i < n; i++)
		t += a[i] * b[i];
	return t + ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static float
nl2_c(const float *a, const float *b, size_t n)
{
	float s[8] = {0}, t = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++) {
			float d = a[i + j] - b[i + j];

			s[j] += d * d;
		}
	for (; i < n; i++)
		t += (a[i] - b[i]) * (a[i] - b[i]);
	return -(t + ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])));
}

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86_KERNELS 1

__attribute__((target("avx2,fma"))) static inline float
hsum256(__m256 v)
{
	__m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	x = _mm_add_ps(x, _mm_movehl_ps(x, x));
	x = _mm_add_ss(x, _mm_movehdup_ps(x));
	return _mm_cvtss_f32(x);
}

__attribute__((target("avx2,fma"))) static float
dot_avx2(const float *a, const float *b, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	size_t i = 0;
	float t = 0;

	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
	}
	if (i + 8 <= n) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		i += 8;
	}
	for (; i < n; i++)
		t += a[i] * b[i];
	return hsum256(_mm256_add_ps(s0, s1)) + t;
}

__attribute__((target("avx2,fma"))) static float
nl2_avx2(const float *a, const float *b, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	size_t i = 0;
	float t = 0;

	for (; i + 16 <= n; i += 16) {
		__m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	if (i + 8 <= n) {
		__m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		i += 8;
	}
	for (; i < n; i++)
		t += (a[i] - b[i]) * (a[i] - b[i]);
	return -(hsum256(_mm256_add_ps(s0, s1)) + t);
}

__attribute__((target("avx512f"))) static float
dot_avx512(const float *a, const float *b, size_t n)
{
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
	}
	for (; i < n; i += 16) {
		__mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);

		s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i),
		                     s0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx512f"))) static float
nl2_avx512(const float *a, const float *b, size_t n)
{
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		__m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	for (; i < n; i += 16) {
		__mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
		__m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));

		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	return -_mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
#endif

kern_sim_fn
kern_pick_sim(int l2)
{
#ifdef HAVE_X86_KERNELS
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return l2 ? nl2_avx512 : dot_avx512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return l2 ? nl2_avx2 : dot_avx2;
#endif
	return l2 ? nl2_c : dot_c;
}

kern_sim_fn
kern_pick_dot(void)
{
	return kern_pick_sim(0);
}

/* clang before 16 names a target_clones dispatcher "kern_sumsq.ifunc",
 * which other files cannot link to; its builds (sanitizers, fuzzing) do
 * without the AVX2 clone, whose sums are the same lane by lane. */
#if defined(__clang__)
#define CLONES
#else
#define CLONES __attribute__((target_clones("default", "avx2")))
#endif

/* Sum of squares in double, in eight independent lanes that the compiler
 * can keep in vector registers. */
CLONES
double
kern_sumsq(const float *x, size_t dim)
{
	double a[8] = {0}, s = 0;
	size_t i = 0;

	for (; i + 8 <= dim; i += 8)
		for (int j = 0; j < 8; j++)
			a[j] += (double)x[i + j] * x[i + j];
	for (; i < dim; i++)
		s += (double)x[i] * x[i];
	return s + ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

float
kern_norm(const float *x, size_t dim)
{
	return (float)sqrt(kern_sumsq(x, dim));
}

CLONES
double
kern_ddot(const float *x, const float *y, size_t dim)
{
	double a[8] = {0}, s = 0;
	size_t i = 0;

	for (; i + 8 <= dim; i += 8)
		for (int j = 0; j < 8; j++)
			a[j] += (double)x[i + j] * y[i + j];
	for (; i < dim; i++)
		s += (double)x[i] * y[i];
	return s + ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}
