/* kern_int.h: the numeric kernels that the encoders, knn and recommend
 * share (kern.c): the packed AVX-512 GEMM.  Private to the library. */
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

#endif
