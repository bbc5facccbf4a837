/* w2v_int.h: the vector kernels of word2vec training (private to lib/w2v*.c
 * and its unit test).  Written with GCC vector extensions so that one source
 * gives SSE code in the default build and AVX2/FMA code in the clone that
 * w2v.c compiles of its training loop for processors that have them. */
#ifndef TOKEMB_W2V_INT_H
#define TOKEMB_W2V_INT_H

#include <stddef.h>

/* 8 and 4 floats, loaded and stored unaligned; the 4 take the rest of a
 * row whose size is not a multiple of 8 (100: 12 x 8 + 4), element by
 * element the same sums as the scalar loop after them */
typedef float w2v_v8 __attribute__((vector_size(32), aligned(4)));
typedef float w2v_v4 __attribute__((vector_size(16), aligned(4)));

/* sum of x[i] * y[i] */
static inline __attribute__((always_inline)) float
w2v_dot(const float *x, const float *y, size_t n)
{
	w2v_v8 a0 = {0}, a1 = {0};
	size_t i = 0;
	float s;

	for (; i + 16 <= n; i += 16) {
		a0 += *(const w2v_v8 *)(x + i) * *(const w2v_v8 *)(y + i);
		a1 += *(const w2v_v8 *)(x + i + 8) * *(const w2v_v8 *)(y + i + 8);
	}
	for (; i + 8 <= n; i += 8)
		a0 += *(const w2v_v8 *)(x + i) * *(const w2v_v8 *)(y + i);
	a0 += a1;
	s = ((a0[0] + a0[4]) + (a0[1] + a0[5])) + ((a0[2] + a0[6]) + (a0[3] + a0[7]));
	for (; i < n; i++)
		s += x[i] * y[i];
	return s;
}

/* y += a * x */
static inline __attribute__((always_inline)) void
w2v_axpy(float a, const float *x, float *y, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		*(w2v_v8 *)(y + i) += a * *(const w2v_v8 *)(x + i);
	if (i + 4 <= n) {
		*(w2v_v4 *)(y + i) += a * *(const w2v_v4 *)(x + i);
		i += 4;
	}
	for (; i < n; i++)
		y[i] += a * x[i];
}

/* e += a * y, then y += a * x: two axpys in one pass over y (the same
 * sums, y read once); y is neither x nor e */
static inline __attribute__((always_inline)) void
w2v_axpy2(float a, const float *x, float *y, float *e, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		w2v_v8 o = *(const w2v_v8 *)(y + i);

		*(w2v_v8 *)(e + i) += a * o;
		*(w2v_v8 *)(y + i) = o + a * *(const w2v_v8 *)(x + i);
	}
	if (i + 4 <= n) {
		w2v_v4 o = *(const w2v_v4 *)(y + i);

		*(w2v_v4 *)(e + i) += a * o;
		*(w2v_v4 *)(y + i) = o + a * *(const w2v_v4 *)(x + i);
		i += 4;
	}
	for (; i < n; i++) {
		float o = y[i];

		e[i] += a * o;
		y[i] = o + a * x[i];
	}
}

/* y = a * x */
static inline __attribute__((always_inline)) void
w2v_scale_to(float a, const float *x, float *y, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		*(w2v_v8 *)(y + i) = a * *(const w2v_v8 *)(x + i);
	if (i + 4 <= n) {
		*(w2v_v4 *)(y + i) = a * *(const w2v_v4 *)(x + i);
		i += 4;
	}
	for (; i < n; i++)
		y[i] = a * x[i];
}

/* The logistic function as both peers compute it: a table of 1000 values
 * over [-6, 6]; outside, the gradient saturates (label - 0 or label - 1). */
#define W2V_MAX_EXP 6
#define W2V_EXP_TABLE 1000

/* (label - sigmoid(f)) * alpha, from the table t */
static inline __attribute__((always_inline)) float
w2v_grad(float f, float label, float alpha, const float *t)
{
	if (f >= W2V_MAX_EXP)
		return (label - 1) * alpha;
	if (f <= -W2V_MAX_EXP)
		return label * alpha;
	return (label - t[(int)((f + W2V_MAX_EXP) *
	                        (W2V_EXP_TABLE / W2V_MAX_EXP / 2))]) * alpha;
}

/* Fill t (W2V_EXP_TABLE floats) with the logistic function. */
void w2v_exp_table(float *t);

#endif
