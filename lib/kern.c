/* kern.c: y = x W^T for the encoders' weights, packed once into panels
 * of 32 output columns (k-major) so that no product repacks them, on AVX-512
 * here, on AVX2+FMA in kern_avx2.c (chosen once at run time, kern_gemm_isa;
 * elsewhere the encoders call OpenBLAS's sgemm).  The
 * kernel holds a 12 x 32 block of y in registers; a panel's k-block (KC x 32)
 * stays in L1 while the rows of x stream past it. */
#include <stdlib.h>
#include <string.h>

#include "kern_int.h"

int kern_force_scalar;

#define NR 32
#define MR 12
#ifndef KC
#define KC 256
#endif
#ifndef MC_FLOATS
#define MC_FLOATS 65536
#endif

size_t
kern_pack_floats(size_t out, size_t in)
{
	return (out + NR - 1) / NR * NR * in;
}

/* Rows r0.. of the packed matrix from w (rows, in), a panel at a time (its
 * 32 source rows stay in cache) in blocks of 16 k, so that reads and writes
 * both run along cache lines. */
void
kern_pack(const float *w, size_t rows, size_t in, float *pk, size_t r0)
{
	for (size_t a = r0; a < r0 + rows;) {
		size_t b = (a / NR + 1) * NR < r0 + rows ? (a / NR + 1) * NR : r0 + rows;
		float *pan = pk + a / NR * in * NR;

		for (size_t kb = 0; kb < in; kb += 16) {
			size_t ke = in - kb < 16 ? in : kb + 16;

			for (size_t o = a; o < b; o++) {
				const float *src = w + (o - r0) * in;
				float *dst = pan + o % NR;

				for (size_t k = kb; k < ke; k++)
					dst[k * NR] = src[k];
			}
		}
		a = b;
	}
}

/* Zeros in the columns of the last panel past out. */
void
kern_pack_pad(float *pk, size_t out, size_t in)
{
	for (size_t o = out; o % NR; o++) {
		float *dst = pk + o / NR * in * NR + o % NR;

		for (size_t k = 0; k < in; k++)
			dst[k * NR] = 0.0f;
	}
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(TE_NO_SIMD) && \
    !defined(TE_NO_PACK)
#include <immintrin.h>
#define AVX512_FN __attribute__((target("avx512f")))

/* y (mr rows, ldy) (+)= x (mr rows, ldx) . wp (kc x 32), columns masked */
AVX512_FN static inline __attribute__((always_inline)) void
kern(const int mr, const float *x, size_t ldx, const float *wp, size_t kc, float *y,
     size_t ldy, __mmask16 m0, __mmask16 m1, int load)
{
	__m512 c0[MR], c1[MR];

	/* the products are summed from zero and y added at the end, as BLAS
	 * kernels do: a residual in y would swallow their low bits */
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++) {
		c0[r] = _mm512_setzero_ps();
		c1[r] = _mm512_setzero_ps();
	}
	for (size_t k = 0; k < kc; k++) {
		__m512 w0 = _mm512_loadu_ps(wp + k * NR), w1 = _mm512_loadu_ps(wp + k * NR + 16);

#pragma GCC unroll 12
		for (int r = 0; r < MR; r++)
			if (r < mr) {
				__m512 a = _mm512_set1_ps(x[r * ldx + k]);

				c0[r] = _mm512_fmadd_ps(a, w0, c0[r]);
				c1[r] = _mm512_fmadd_ps(a, w1, c1[r]);
			}
	}
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++)
		if (r < mr) {
			if (load) {
				c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, y + r * ldy));
				c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, y + r * ldy + 16));
			}
			_mm512_mask_storeu_ps(y + r * ldy, m0, c0[r]);
			_mm512_mask_storeu_ps(y + r * ldy + 16, m1, c1[r]);
		}
}

#define KERN(R) kern(R, x, ldx, wp, kc, y, ldy, m0, m1, load)

AVX512_FN static void
kern_rows(size_t mr, const float *x, size_t ldx, const float *wp, size_t kc, float *y,
          size_t ldy, __mmask16 m0, __mmask16 m1, int load)
{
	switch (mr) {
	case 1: KERN(1); break;
	case 2: KERN(2); break;
	case 3: KERN(3); break;
	case 4: KERN(4); break;
	case 5: KERN(5); break;
	case 6: KERN(6); break;
	case 7: KERN(7); break;
	case 8: KERN(8); break;
	case 9: KERN(9); break;
	case 10: KERN(10); break;
	case 11: KERN(11); break;
	default: KERN(12); break;
	}
}

AVX512_FN static void
gemm_avx512(const float *x, size_t n, size_t in, const float *pk, size_t out, float *y,
            int accumulate, size_t p_lo, size_t p_hi)
{
	/* rows in blocks of mc that stay in L2 while every panel passes */
	size_t mc = MC_FLOATS / in / MR * MR;

	if (mc < MR)
		mc = MR;
	for (size_t ib = 0; ib < n; ib += mc) {
		size_t ie = n - ib < mc ? n : ib + mc;

		for (size_t p = p_lo; p < p_hi; p++) {
			size_t nc = out - p * NR < NR ? out - p * NR : NR;
			__mmask16 m0 = (__mmask16)(nc >= 16 ? 0xffff : (1u << nc) - 1),
			          m1 = (__mmask16)(nc >= 32 ? 0xffff : nc <= 16 ? 0 :
			                           (1u << (nc - 16)) - 1);
			const float *wpan = pk + p * in * NR;

			for (size_t kb = 0; kb < in; kb += KC) {
				size_t kc = in - kb < KC ? in - kb : KC;
				int load = accumulate || kb > 0;

				for (size_t i = ib; i < ie; i += MR)
					kern_rows(ie - i < MR ? ie - i : MR, x + i * in + kb, in,
					          wpan + kb * NR, kc, y + i * out + p * NR, out, m0, m1,
					          load);
			}
		}
	}
}
#define HAVE_KERN_X86 1
#endif

/* The kernels for this CPU, chosen once: AVX-512 (float32), AVX2+FMA (bf16
 * and int8 everywhere, float32 only with TOKEMB_GEMM=packed: on AVX2 alone
 * OpenBLAS's sgemm is faster, bench/emb_ort.py) or C.  TOKEMB_GEMM=blas
 * keeps every float32 product on OpenBLAS's sgemm (to compare). */
static kern_isa
pick_isa(void)
{
#ifdef HAVE_KERN_X86
	if (__builtin_cpu_supports("avx512f"))
		return KERN_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return KERN_AVX2;
#endif
	return KERN_C;
}

kern_isa
kern_gemm_isa(void)
{
	static kern_isa isa = (kern_isa)-1;

	if ((int)isa < 0)
		isa = pick_isa();
	return kern_force_scalar ? KERN_C : isa;
}

const char *
kern_gemm_info(void)
{
	switch (kern_gemm_isa()) {
	case KERN_AVX512:
		return "f32 AVX-512 12x32, bf16 AVX2 (widened), int8 AVX2 (vpmaddubsw)";
	case KERN_AVX2:
		return kern_gemm_available() ? "f32 AVX2+FMA 6x16, bf16 AVX2 (widened), int8 AVX2 "
		                               "(vpmaddubsw)"
		                             : "f32 BLAS, bf16 AVX2 (widened), int8 AVX2 (vpmaddubsw)";
	default:
		return "f32 BLAS, bf16 C, int8 C";
	}
}

int
kern_gemm_available(void)
{
	static int mode = -1;   /* 0 default, 1 blas, 2 packed */

	if (mode < 0) {
		const char *e = getenv("TOKEMB_GEMM");

		mode = !e ? 0 : !strcmp(e, "blas") ? 1 : !strcmp(e, "packed") ? 2 : 0;
	}
	return kern_gemm_isa() == KERN_AVX512 ? mode != 1 :
	       kern_gemm_isa() == KERN_AVX2 ? mode == 2 : 0;
}

void
kern_gemm_packed(const float *x, size_t n, size_t in, const float *pk, size_t out, float *y,
                 int accumulate, size_t p_lo, size_t p_hi)
{
#ifdef HAVE_KERN_X86
	if (kern_gemm_isa() == KERN_AVX512) {
		gemm_avx512(x, n, in, pk, out, y, accumulate, p_lo, p_hi);
		return;
	}
	if (kern_gemm_isa() == KERN_AVX2) {
		kern_gemm_avx2(x, n, in, pk, 0, out, y, accumulate, p_lo, p_hi);
		return;
	}
#endif
	kern_gemm_packed_ref(x, n, in, pk, 0, out, y, accumulate, p_lo, p_hi);
}

void
kern_gemm_bf16(const float *x, size_t n, size_t in, const uint16_t *pk, size_t out, float *y,
               int accumulate, size_t p_lo, size_t p_hi)
{
#ifdef HAVE_KERN_X86
	if (kern_gemm_isa() != KERN_C) {
		kern_gemm_avx2(x, n, in, pk, 1, out, y, accumulate, p_lo, p_hi);
		return;
	}
#endif
	kern_gemm_packed_ref(x, n, in, pk, 1, out, y, accumulate, p_lo, p_hi);
}

void
kern_q8_quant(const float *x, size_t n, size_t in, uint8_t *xq, float *sx, int32_t *zp)
{
#ifdef HAVE_KERN_X86
	if (kern_gemm_isa() != KERN_C) {
		kern_q8_quant_avx2(x, n, in, (in + 3) & ~(size_t)3, xq, sx, zp);
		return;
	}
#endif
	kern_q8_quant_ref(x, n, in, xq, sx, zp);
}

void
kern_gemm_q8(const uint8_t *xq, const float *sx, const int32_t *zp, size_t n, const kern_q8 *q,
             float *y, int accumulate, size_t p_lo, size_t p_hi)
{
#ifdef HAVE_KERN_X86
	if (kern_gemm_isa() != KERN_C) {
		kern_gemm_q8_avx2(xq, sx, zp, n, q, y, accumulate, p_lo, p_hi);
		return;
	}
#endif
	kern_gemm_q8_ref(xq, sx, zp, n, q, y, accumulate, p_lo, p_hi);
}
