/* kern_avx2.c: the matrix-product kernels for CPUs with AVX2 and FMA but
 * without AVX-512 (kern.c picks them at run time): y = x W^T on weights
 * packed once, float32 or bfloat16 in kern_pack's 32-column panels, int8 in
 * kern_q8's 16-column panels.  The scalar twins (kern_lowp.c) are the
 * references the unit tests hold these to (t/unit/test-kern-gemm.c). */
#include <stdint.h>
#include <string.h>

#include "kern_int.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(TE_NO_SIMD)
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

#define NR 32          /* kern_pack's panel width */
#define MR 6           /* rows of the float kernel: 6 x 16 in 12 registers */
#define KC 256
#define MC_FLOATS 65536

/* Eight weights from a packed row, float32 or bfloat16 widened in the
 * register (the upper half of a float32). */
AVX2_FN INLINE __m256
ldw(const void *w, size_t i, int bf16)
{
	if (bf16) {
		__m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));

		return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
	}
	return _mm256_loadu_ps((const float *)w + i);
}

/* y (mr rows, ldy) (+)= x (mr rows, ldx) . w (kc x 16, row stride NR);
 * the first nc of the 16 columns are written */
AVX2_FN INLINE void
kern16(const int mr, const float *x, size_t ldx, const void *w, size_t kc, float *y,
       size_t ldy, size_t nc, int load, int bf16)
{
	__m256 c0[MR], c1[MR];

#pragma GCC unroll 6
	for (int r = 0; r < MR; r++)
		c0[r] = c1[r] = _mm256_setzero_ps();
	for (size_t k = 0; k < kc; k++) {
		__m256 w0 = ldw(w, k * NR, bf16), w1 = ldw(w, k * NR + 8, bf16);

#pragma GCC unroll 6
		for (int r = 0; r < MR; r++)
			if (r < mr) {
				__m256 a = _mm256_broadcast_ss(x + r * ldx + k);

				c0[r] = _mm256_fmadd_ps(a, w0, c0[r]);
				c1[r] = _mm256_fmadd_ps(a, w1, c1[r]);
			}
	}
#pragma GCC unroll 6
	for (int r = 0; r < MR; r++)
		if (r < mr) {
			float *yr = y + r * ldy;

			if (nc == 16) {
				if (load) {
					c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(yr));
					c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(yr + 8));
				}
				_mm256_storeu_ps(yr, c0[r]);
				_mm256_storeu_ps(yr + 8, c1[r]);
			} else {
				float t[16];

				_mm256_storeu_ps(t, c0[r]);
				_mm256_storeu_ps(t + 8, c1[r]);
				for (size_t j = 0; j < nc; j++)
					yr[j] = load ? yr[j] + t[j] : t[j];
			}
		}
}

#define K16(R) kern16(R, x, ldx, w, kc, y, ldy, nc, load, bf16)

AVX2_FN static void
rows16(size_t mr, const float *x, size_t ldx, const void *w, size_t kc, float *y,
       size_t ldy, size_t nc, int load, int bf16)
{
	if (bf16)
		switch (mr) {
		case 1: kern16(1, x, ldx, w, kc, y, ldy, nc, load, 1); break;
		case 2: kern16(2, x, ldx, w, kc, y, ldy, nc, load, 1); break;
		case 3: kern16(3, x, ldx, w, kc, y, ldy, nc, load, 1); break;
		case 4: kern16(4, x, ldx, w, kc, y, ldy, nc, load, 1); break;
		case 5: kern16(5, x, ldx, w, kc, y, ldy, nc, load, 1); break;
		default: kern16(6, x, ldx, w, kc, y, ldy, nc, load, 1); break;
		}
	else
		switch (mr) {
		case 1: kern16(1, x, ldx, w, kc, y, ldy, nc, load, 0); break;
		case 2: kern16(2, x, ldx, w, kc, y, ldy, nc, load, 0); break;
		case 3: kern16(3, x, ldx, w, kc, y, ldy, nc, load, 0); break;
		case 4: kern16(4, x, ldx, w, kc, y, ldy, nc, load, 0); break;
		case 5: kern16(5, x, ldx, w, kc, y, ldy, nc, load, 0); break;
		default: kern16(6, x, ldx, w, kc, y, ldy, nc, load, 0); break;
		}
}

/* kern_gemm_packed's contract, weights float32 (bf16 0) or bfloat16 (1)
 * packed alike: rows in blocks that stay in L2 while the panels pass, a
 * panel's k-block in L1 while the rows of the block stream past it. */
AVX2_FN void
kern_gemm_avx2(const float *x, size_t n, size_t in, const void *pk, int bf16, size_t out,
               float *y, int accumulate, size_t p_lo, size_t p_hi)
{
	size_t mc = MC_FLOATS / (in ? in : 1) / MR * MR, esz = bf16 ? 2 : 4;

	if (mc < MR)
		mc = MR;
	for (size_t ib = 0; ib < n; ib += mc) {
		size_t ie = n - ib < mc ? n : ib + mc;

		for (size_t p = p_lo; p < p_hi; p++) {
			size_t ncp = out - p * NR < NR ? out - p * NR : NR;
			const char *wpan = (const char *)pk + p * in * NR * esz;

			for (size_t kb = 0; kb < in; kb += KC) {
				size_t kc = in - kb < KC ? in - kb : KC;
				int load = accumulate || kb > 0;

				for (size_t half = 0; half < 2 && half * 16 < ncp; half++) {
					size_t nc = ncp - half * 16 < 16 ? ncp - half * 16 : 16;
					const void *w = wpan + (kb * NR + half * 16) * esz;

					for (size_t i = ib; i < ie; i += MR)
						rows16(ie - i < MR ? ie - i : MR, x + i * in + kb, in, w,
						       kc, y + i * out + p * NR + half * 16, out, nc, load,
						       bf16);
				}
			}
		}
	}
}

/* ------------------------------------------------------------------ int8 */

#define QR 4           /* rows of the int8 kernel: 4 x 16 in 8 registers */
#define QC 16          /* kern_q8's panel width */
#define MC_BYTES 65536

/* The int32 sums of x (mr rows of u8, ldx) . w (in4 x 16 of s8, k in quads):
 * vpmaddubsw multiplies u8 by s8 and adds pairs into s16, saturating (the
 * activations' seven bits keep a pair within: 2 * 127 * 127 < 2^15),
 * vpmaddwd by ones adds the pairs into the 32-bit lanes: one lane per
 * column, four k per step. */
AVX2_FN INLINE void
kernq(const int mr, const uint8_t *x, size_t ldx, const int8_t *w, size_t in4,
      const float *sx, const int32_t *zp, const float *sw, const int32_t *csum, float *y,
      size_t ldy,
      size_t nc, int load)
{
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i c0[QR], c1[QR];

#pragma GCC unroll 4
	for (int r = 0; r < QR; r++)
		c0[r] = c1[r] = _mm256_setzero_si256();
	for (size_t q = 0; q < in4 / 4; q++) {
		__m256i w0 = _mm256_loadu_si256((const __m256i *)(w + q * 64)),
		        w1 = _mm256_loadu_si256((const __m256i *)(w + q * 64 + 32));

#pragma GCC unroll 4
		for (int r = 0; r < QR; r++)
			if (r < mr) {
				int32_t v;

				memcpy(&v, x + r * ldx + q * 4, 4);
				__m256i a = _mm256_set1_epi32(v);

				c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(
				        _mm256_maddubs_epi16(a, w0), ones));
				c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(
				        _mm256_maddubs_epi16(a, w1), ones));
			}
	}
	{
		/* lane j is column j of the panel; y = sx sw (sum - zp sum q) */
		__m256i k0 = _mm256_loadu_si256((const __m256i *)csum),
		        k1 = _mm256_loadu_si256((const __m256i *)(csum + 8));
		__m256 s0 = _mm256_loadu_ps(sw), s1 = _mm256_loadu_ps(sw + 8);

#pragma GCC unroll 4
		for (int r = 0; r < QR; r++)
			if (r < mr) {
				__m256 a = _mm256_set1_ps(sx[r]);
				__m256i z = _mm256_set1_epi32(zp[r]);
				__m256 f0 = _mm256_mul_ps(_mm256_mul_ps(a, s0), _mm256_cvtepi32_ps(
				            _mm256_sub_epi32(c0[r], _mm256_mullo_epi32(z, k0))));
				__m256 f1 = _mm256_mul_ps(_mm256_mul_ps(a, s1), _mm256_cvtepi32_ps(
				            _mm256_sub_epi32(c1[r], _mm256_mullo_epi32(z, k1))));
				float *yr = y + r * ldy, t[16];

				if (nc == 16) {
					if (load) {
						f0 = _mm256_add_ps(f0, _mm256_loadu_ps(yr));
						f1 = _mm256_add_ps(f1, _mm256_loadu_ps(yr + 8));
					}
					_mm256_storeu_ps(yr, f0);
					_mm256_storeu_ps(yr + 8, f1);
					continue;
				}
				_mm256_storeu_ps(t, f0);
				_mm256_storeu_ps(t + 8, f1);
				for (size_t j = 0; j < nc; j++)
					yr[j] = load ? yr[j] + t[j] : t[j];
			}
	}
}

#define KQ(R) kernq(R, x, ldx, w, in4, sx, zp, sw, csum, y, ldy, nc, load)

AVX2_FN static void
rowsq(size_t mr, const uint8_t *x, size_t ldx, const int8_t *w, size_t in4, const float *sx,
      const int32_t *zp, const float *sw, const int32_t *csum, float *y, size_t ldy,
      size_t nc, int load)
{
	switch (mr) {
	case 1: KQ(1); break;
	case 2: KQ(2); break;
	case 3: KQ(3); break;
	default: KQ(4); break;
	}
}

/* kern_gemm_q8's contract on AVX2. */
AVX2_FN void
kern_gemm_q8_avx2(const uint8_t *xq, const float *sx, const int32_t *zp, size_t n,
                  const kern_q8 *q, float *y, int accumulate, size_t p_lo, size_t p_hi)
{
	size_t in4 = q->in4, mc = MC_BYTES / in4 / QR * QR;

	if (mc < QR)
		mc = QR;
	for (size_t ib = 0; ib < n; ib += mc) {
		size_t ie = n - ib < mc ? n : ib + mc;

		for (size_t p = p_lo; p < p_hi; p++) {
			size_t nc = q->out - p * QC < QC ? q->out - p * QC : QC;
			const int8_t *w = q->w + p * in4 * QC;

			for (size_t i = ib; i < ie; i += QR)
				rowsq(ie - i < QR ? ie - i : QR, xq + i * in4, in4, w, in4, sx + i,
				      zp + i, q->scale + p * QC, q->csum + p * QC,
				      y + i * q->out + p * QC, q->out, nc, accumulate);
		}
	}
}

/* kern_q8_quant's contract on AVX2 (the conversion rounds to nearest even,
 * as kern_round does; packus and a min clamp to 0..127). */
AVX2_FN void
kern_q8_quant_avx2(const float *x, size_t n, size_t in, size_t in4, uint8_t *xq, float *sx,
                   int32_t *zp)
{
	for (size_t r = 0; r < n; r++) {
		const float *xr = x + r * in;
		uint8_t *o = xq + r * in4;
		__m256 vmn = _mm256_setzero_ps(), vmx = _mm256_setzero_ps();
		size_t i = 0;
		float mn = 0, mx = 0, t[8], u[8], inv;

		for (; i + 8 <= in; i += 8) {
			__m256 v = _mm256_loadu_ps(xr + i);

			vmn = _mm256_min_ps(vmn, v);
			vmx = _mm256_max_ps(vmx, v);
		}
		_mm256_storeu_ps(t, vmn);
		_mm256_storeu_ps(u, vmx);
		for (int j = 0; j < 8; j++) {
			mn = t[j] < mn ? t[j] : mn;
			mx = u[j] > mx ? u[j] : mx;
		}
		for (; i < in; i++) {
			mn = xr[i] < mn ? xr[i] : mn;
			mx = xr[i] > mx ? xr[i] : mx;
		}
		inv = kern_q8_range(mn, mx, &sx[r], &zp[r]);
		{
			const __m256 vi = _mm256_set1_ps(inv);
			const __m256i z = _mm256_set1_epi32(zp[r]);
			const __m128i top = _mm_set1_epi8(127);

			for (i = 0; i + 8 <= in; i += 8) {
				__m256i v = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(
				            _mm256_loadu_ps(xr + i), vi)), z);
				__m128i p = _mm_packus_epi32(_mm256_castsi256_si128(v),
				                             _mm256_extracti128_si256(v, 1));

				_mm_storel_epi64((__m128i *)(o + i),
				                 _mm_min_epu8(_mm_packus_epi16(p, p), top));
			}
		}
		for (; i < in; i++) {
			int v = kern_round(xr[i] * inv) + zp[r];

			o[i] = (uint8_t)(v < 0 ? 0 : v > 127 ? 127 : v);
		}
		for (; i < in4; i++)
			o[i] = (uint8_t)zp[r];
	}
}
#endif
