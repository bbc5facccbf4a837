/* kern_int.h: the numeric kernels that the encoders, knn and recommend
 * share: the packed GEMM (kern.c: AVX-512; kern_avx2.c: AVX2+FMA, bf16 and
 * int8; kern_lowp.c: their packing and C twins), the vector kernels (kern_dot.c)
 * and a BLAS sgemm loaded when first needed (kern_blas.c).  Private to the
 * library. */
#ifndef TOKEMB_KERN_INT_H
#define TOKEMB_KERN_INT_H

#include <stddef.h>
#include <stdint.h>

/* Set by the tests: the scalar paths everywhere (the vector kernels off). */
extern int kern_force_scalar;

/* The matrix-product kernels for this CPU, picked once (KERN_C when forced
 * scalar), and a line naming them for --version. */
typedef enum kern_isa { KERN_C, KERN_AVX2, KERN_AVX512 } kern_isa;
kern_isa kern_gemm_isa(void);
const char *kern_gemm_info(void);

/* y (n, out) = x (n, in) W^T (+ y when accumulate) with W (out,
 * in) packed once by kern_pack into kern_pack_floats(out, in) floats (64-byte
 * aligned); only the 32-column panels p_lo..p_hi-1 of y (threads split
 * them).  Only where kern_gemm_available() (AVX-512F and not TOKEMB_GEMM=blas,
 * or AVX2+FMA and TOKEMB_GEMM=packed; not forced scalar);
 * kern_gemm_packed_ref is its C twin. */
int kern_gemm_available(void);
size_t kern_pack_floats(size_t out, size_t in);
/* Pack w (rows, in) as rows r0..r0+rows-1 of the matrix; kern_pack_pad
 * zeroes the columns past out once all are packed. */
void kern_pack(const float *w, size_t rows, size_t in, float *pk, size_t r0);
void kern_pack_pad(float *pk, size_t out, size_t in);
void kern_gemm_packed(const float *x, size_t n, size_t in, const float *pk, size_t out,
                      float *y, int accumulate, size_t p_lo, size_t p_hi);

/* bfloat16 weights (round to nearest even), packed as kern_pack does into
 * kern_pack_bf16_bytes (zeroed first: no pad step); kern_gemm_bf16 is
 * kern_gemm_packed on them, widening each weight in the register. */
uint16_t kern_to_bf16(float f);
size_t kern_pack_bf16_bytes(size_t out, size_t in);
void kern_pack_bf16(const float *w, size_t rows, size_t in, uint16_t *pk, size_t r0);
void kern_gemm_bf16(const float *x, size_t n, size_t in, const uint16_t *pk, size_t out,
                    float *y, int accumulate, size_t p_lo, size_t p_hi);
/* The C twin of both, bf16 saying which packing pk holds. */
void kern_gemm_packed_ref(const float *x, size_t n, size_t in, const void *pk, int bf16,
                          size_t out, float *y, int accumulate, size_t p_lo, size_t p_hi);

/* int8 weights W (out, in), quantized per output row to -127..127 with a
 * scale (scale * q = w), in panels of 16 rows with k in quads.  One block
 * of kern_q8_bytes(out, in) holds it all: kern_q8_init points q into it
 * and zeroes it; kern_q8_pack quantizes rows r0.. from w (rows, in). */
typedef struct kern_q8 {
	int8_t *w;
	float *scale;        /* (out) */
	int32_t *csum;       /* (out): the row's sum of q */
	size_t out, in, in4; /* in4: in rounded up to 4 */
} kern_q8;
size_t kern_q8_bytes(size_t out, size_t in);
void kern_q8_init(kern_q8 *q, void *mem, size_t out, size_t in);
void kern_q8_pack(kern_q8 *q, const float *w, size_t rows, size_t r0);
/* The activations x (n, in) per row, asymmetric in seven bits: x = sx (xq -
 * zp) with xq (n, in4) in 0..127 (the padding zp), sx = (max - min) / 127
 * and the zero point zp in 0..127 (min and max taken with 0). */
void kern_q8_quant(const float *x, size_t n, size_t in, uint8_t *xq, float *sx, int32_t *zp);
void kern_q8_quant_ref(const float *x, size_t n, size_t in, uint8_t *xq, float *sx,
                       int32_t *zp);
/* y (n, out) (+)= sx sw (xq . q - zp csum): the 16-column panels p_lo..p_hi-1. */
void kern_gemm_q8(const uint8_t *xq, const float *sx, const int32_t *zp, size_t n,
                  const kern_q8 *q, float *y, int accumulate, size_t p_lo, size_t p_hi);
void kern_gemm_q8_ref(const uint8_t *xq, const float *sx, const int32_t *zp, size_t n,
                      const kern_q8 *q, float *y, int accumulate, size_t p_lo, size_t p_hi);
/* lrintf to int: the rounding of the vector conversions (to nearest even). */
int kern_round(float v);
/* A row's scale and zero point from its least and greatest values (each
 * taken with 0); returns 1 / scale, or 0 for a row of zeros. */
float kern_q8_range(float mn, float mx, float *sx, int32_t *zp);

/* The AVX2 kernels behind the calls above (kern_avx2.c); callers go
 * through the dispatching calls. */
void kern_gemm_avx2(const float *x, size_t n, size_t in, const void *pk, int bf16,
                    size_t out, float *y, int accumulate, size_t p_lo, size_t p_hi);
void kern_gemm_q8_avx2(const uint8_t *xq, const float *sx, const int32_t *zp, size_t n,
                       const kern_q8 *q, float *y, int accumulate, size_t p_lo, size_t p_hi);
void kern_q8_quant_avx2(const float *x, size_t n, size_t in, size_t in4, uint8_t *xq,
                        float *sx, int32_t *zp);

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
