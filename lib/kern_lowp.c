/* kern_lowp.c: weights in less than float32, packed once at load: bfloat16
 * in kern_pack's layout (half the bytes of float32), and int8 quantized per
 * output row (a quarter) with the activations quantized per row on the fly
 * (kern_q8_quant).  The scalar kernels here are both the fallback on CPUs
 * without AVX2 and the references of the vector ones (kern_avx2.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kern_int.h"

#define NR 32
#define QC 16

int
kern_round(float v)
{
	return (int)lrintf(v);
}

uint16_t
kern_to_bf16(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u)     /* NaN stays NaN */
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fffu + ((u >> 16) & 1);          /* to nearest, ties to even */
	return (uint16_t)(u >> 16);
}

static float
bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;

	memcpy(&f, &u, 4);
	return f;
}

size_t
kern_pack_bf16_bytes(size_t out, size_t in)
{
	return kern_pack_floats(out, in) * sizeof(uint16_t);
}

/* As kern_pack, in bfloat16; pk was zeroed (the columns past out stay 0). */
void
kern_pack_bf16(const float *w, size_t rows, size_t in, uint16_t *pk, size_t r0)
{
	for (size_t o = r0; o < r0 + rows; o++) {
		const float *src = w + (o - r0) * in;
		uint16_t *dst = pk + o / NR * in * NR + o % NR;

		for (size_t k = 0; k < in; k++)
			dst[k * NR] = kern_to_bf16(src[k]);
	}
}

/* The float32 (bf16 0) or bfloat16 packed product in C, in kern_gemm_packed's
 * order of sums per k-block. */
void
kern_gemm_packed_ref(const float *x, size_t n, size_t in, const void *pk, int bf16,
                     size_t out, float *y, int accumulate, size_t p_lo, size_t p_hi)
{
	for (size_t i = 0; i < n; i++)
		for (size_t o = p_lo * NR; o < p_hi * NR && o < out; o++) {
			size_t at = o / NR * in * NR + o % NR;
			float s = 0;

			for (size_t k = 0; k < in; k++)
				s += x[i * in + k] * (bf16 ? bf16_to_f32(((const uint16_t *)pk)[at + k * NR])
				                           : ((const float *)pk)[at + k * NR]);
			y[i * out + o] = accumulate ? y[i * out + o] + s : s;
		}
}

/* ------------------------------------------------------------------ int8 */

size_t
kern_q8_bytes(size_t out, size_t in)
{
	size_t po = (out + QC - 1) / QC * QC, in4 = (in + 3) & ~(size_t)3;

	return po * in4 + po * (sizeof(float) + sizeof(int32_t));
}

void
kern_q8_init(kern_q8 *q, void *mem, size_t out, size_t in)
{
	size_t po = (out + QC - 1) / QC * QC;

	q->out = out;
	q->in = in;
	q->in4 = (in + 3) & ~(size_t)3;
	memset(mem, 0, kern_q8_bytes(out, in));
	q->scale = (float *)mem;
	q->csum = (int32_t *)(q->scale + po);
	q->w = (int8_t *)(q->csum + po);
}

/* Rows r0..r0+rows-1 of the matrix from w (rows, in): each row scaled by
 * max |w| / 127 into -127..127, stored in panels of 16 rows with k in
 * quads, the 4 k of a row together. */
void
kern_q8_pack(kern_q8 *q, const float *w, size_t rows, size_t r0)
{
	for (size_t o = r0; o < r0 + rows; o++) {
		const float *src = w + (o - r0) * q->in;
		int8_t *dst = q->w + o / QC * q->in4 * QC + (o % QC) * 4;
		float m = 0, inv;
		int32_t sum = 0;

		for (size_t k = 0; k < q->in; k++)
			m = fabsf(src[k]) > m ? fabsf(src[k]) : m;
		q->scale[o] = m / 127.0f;
		inv = m > 0 ? 127.0f / m : 0.0f;
		for (size_t k = 0; k < q->in; k++) {
			int v = kern_round(src[k] * inv);

			v = v > 127 ? 127 : v < -127 ? -127 : v;
			dst[k / 4 * QC * 4 + k % 4] = (int8_t)v;
			sum += v;
		}
		q->csum[o] = sum;
	}
}

/* The scale and zero point of a row whose least and greatest values are
 * mn <= 0 <= mx, for seven bits (0..127: see kern_avx2.c); returns 1 / scale
 * (0 for a row of zeros). */
float
kern_q8_range(float mn, float mx, float *sx, int32_t *zp)
{
	float inv = mx > mn ? 127.0f / (mx - mn) : 0.0f;

	*sx = (mx - mn) / 127.0f;
	*zp = kern_round(-mn * inv);
	return inv;
}

/* Scalar kern_q8_quant. */
void
kern_q8_quant_ref(const float *x, size_t n, size_t in, uint8_t *xq, float *sx, int32_t *zp)
{
	size_t in4 = (in + 3) & ~(size_t)3;

	for (size_t r = 0; r < n; r++) {
		const float *xr = x + r * in;
		float mn = 0, mx = 0, inv;
		size_t i;

		for (i = 0; i < in; i++) {
			mn = xr[i] < mn ? xr[i] : mn;
			mx = xr[i] > mx ? xr[i] : mx;
		}
		inv = kern_q8_range(mn, mx, &sx[r], &zp[r]);
		for (i = 0; i < in; i++) {
			int v = kern_round(xr[i] * inv) + zp[r];

			xq[r * in4 + i] = (uint8_t)(v < 0 ? 0 : v > 127 ? 127 : v);
		}
		for (; i < in4; i++)
			xq[r * in4 + i] = (uint8_t)zp[r];
	}
}

/* Scalar kern_gemm_q8: the same integer sums, the same float scaling. */
void
kern_gemm_q8_ref(const uint8_t *xq, const float *sx, const int32_t *zp, size_t n,
                 const kern_q8 *q, float *y, int accumulate, size_t p_lo, size_t p_hi)
{
	size_t in4 = q->in4;

	for (size_t i = 0; i < n; i++)
		for (size_t o = p_lo * QC; o < p_hi * QC && o < q->out; o++) {
			const int8_t *w = q->w + o / QC * in4 * QC + (o % QC) * 4;
			int32_t s = 0;
			float f;

			for (size_t k = 0; k < in4; k++)
				s += (int32_t)xq[i * in4 + k] * w[k / 4 * QC * 4 + k % 4];
			f = sx[i] * q->scale[o] * (float)(s - zp[i] * q->csum[o]);
			y[i * q->out + o] = accumulate ? y[i * q->out + o] + f : f;
		}
}
