/* w2v_int.h: the vector kernels of word2vec training (private to lib/w2v*.c
 * and its unit test).  Written with GCC vector extensions so that one source
 * gives SSE code in the default build and AVX2/FMA code in the clone that
 * w2v.c compiles of its training loop for processors that have them. */
#ifndef TOKEMB_W2V_INT_H
#define TOKEMB_W2V_INT_H

#include <stddef.h>

/* 8 floats, loaded and stored unaligned */
typedef float w2v_v8 __attribute__((vector_size(32), aligned(4)));

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
	for (; i < n; i++)
		y[i] += a * x[i];
}

/* y = a * x */
static inline __attribute__((always_inline)) void
w2v_scale_to(float a, const float *x, float *y, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		*(w2v_v8 *)(y + i) = a * *(const w2v_v8 *)(x + i);
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

/* One HogBatch step: c input rows (the context words of a position) against
 * m output rows (its target and the negatives shared by the whole window,
 * or the nodes of its Huffman path) with labels.  Every gradient is
 * computed from the rows as they were on entry, so the step is two small
 * matrix products instead of c*m dependent vector updates.  G (c*m floats)
 * and tmp (m*dim floats) are scratch. */
static inline __attribute__((always_inline)) void
w2v_batch_update(float *const *in, size_t c, float *const *out,
                    const float *label, size_t m, size_t dim, float alpha,
                    const float *t, float *G, float *tmp, float *e)
{
	/* G is (c, m): the scaled errors */
	for (size_t u = 0; u < c; u++)
		for (size_t k = 0; k < m; k++)
			G[u * m + k] = w2v_grad(w2v_dot(in[u], out[k], dim),
			                           label[k], alpha, t);
	/* tmp is (m, dim): G^T in, from the inputs before their update */
	for (size_t k = 0; k < m; k++) {
		w2v_scale_to(G[k], in[0], tmp + k * dim, dim);
		for (size_t u = 1; u < c; u++)
			w2v_axpy(G[u * m + k], in[u], tmp + k * dim, dim);
	}
	/* in += G out, from the outputs before their update */
	for (size_t u = 0; u < c; u++) {
		w2v_scale_to(G[u * m], out[0], e, dim);
		for (size_t k = 1; k < m; k++)
			w2v_axpy(G[u * m + k], out[k], e, dim);
		w2v_axpy(1.0f, e, in[u], dim);
	}
	for (size_t k = 0; k < m; k++)
		w2v_axpy(1.0f, tmp + k * dim, out[k], dim);
}

/* Fill t (W2V_EXP_TABLE floats) with the logistic function. */
void w2v_exp_table(float *t);

#endif
