/* kern_int.h: the numeric kernels that the encoders, knn and recommend
 * share: the packed AVX-512 GEMM (kern.c), the vector kernels (kern_dot.c)
 * and a BLAS sgemm loaded when first needed (kern_blas.c).  Private to the
 * library. */
#ifndef TOKEMB_KERN_INT_H
#define TOKEMB_KERN_INT_H

#include <stddef.h>

/* Set by the tests: the scalar paths everywhere (the vector kernels off). */
extern int kern_force_scalar;

/* y (n, out) = x (n, in) W^T (+ y when accumulate) with W (out,
 * in) packed once by kern_pack into kern_pack_floats(out, in) floats (64-byte
 * aligned); only the 32-column panels p_lo..p_hi-1 of y (threads split
 * them).  Only where kern_gemm_available() (AVX-512F, not forced scalar). */
int kern_gemm_available(void);
size_t kern_pack_floats(size_t out, size_t in);
/* Pack w (rows, in) as rows r0..r0+rows-1 of the matrix; kern_pack_pad
 * zeroes the columns past out once all are packed. */
void kern_pack(const float *w, size_t rows, size_t in, float *pk, size_t r0);
void kern_pack_pad(float *pk, size_t out, size_t in);
void kern_gemm_packed(const float *x, size_t n, size_t in, const float *pk, size_t out,
                      float *y, int accumulate, size_t p_lo, size_t p_hi);

/* The float32 kernel for this CPU (AVX-512, AVX2+FMA or C): the dot
 * product of a and b, or with l2 their negated squared distance. */
typedef float (*kern_sim_fn)(const float *a, const float *b, size_t n);
kern_sim_fn kern_pick_sim(int l2);
kern_sim_fn kern_pick_dot(void);

/* Sum of squares and dot product in double, in eight lanes summed in a
 * fixed order; the Euclidean norm so accumulated, rounded once. */
double kern_sumsq(const float *x, size_t dim);
double kern_ddot(const float *x, const float *y, size_t dim);
float kern_norm(const float *x, size_t dim);

/* S (m, n; row stride lds) = A (m, dim) * B (n, dim)^T by a BLAS sgemm,
 * loaded (with its own threads stopped) on the first call; -1 when none
 * can be loaded.  kern_blas_open loads it ahead (1 when there is one). */
int kern_blas_open(void);
int kern_sgemm_nt(size_t m, size_t n, size_t dim, const float *A, const float *B, float *S,
                  size_t lds);

#endif
