/* test-kern-gemm: the packed matrix-product kernels (float32, bfloat16,
 * int8) against their C twins, on shapes with ragged edges. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kern_int.h"
#include "tap.h"

#define skip(...) (printf("ok %d - # SKIP ", ++tap_n), printf(__VA_ARGS__), printf("\n"))

static uint32_t seed = 12345;

static float
rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return (float)(seed >> 8) / (1 << 24) - 0.5f;
}

static float *
rnd_vec(size_t n)
{
	float *v = malloc(n * sizeof *v);

	for (size_t i = 0; i < n; i++)
		v[i] = rnd();
	return v;
}

static double
worst_rel(const float *a, const float *b, size_t n)
{
	double w = 0, m = 0;

	for (size_t i = 0; i < n; i++) {
		w = fmax(w, fabs((double)a[i] - b[i]));
		m = fmax(m, fabs((double)a[i]));
	}
	return m > 0 ? w / m : w;
}

/* y = x W^T in double, the truth */
static void
linear_ref(const float *x, size_t n, size_t in, const float *w, size_t out, float *y)
{
	for (size_t r = 0; r < n; r++)
		for (size_t o = 0; o < out; o++) {
			double s = 0;

			for (size_t i = 0; i < in; i++)
				s += (double)x[r * in + i] * w[o * in + i];
			y[r * out + o] = (float)s;
		}
}

/* float32 and bfloat16 packed: the kernel of this CPU against the C twin,
 * accumulating onto y, the panels in two calls as threads split them */
static void
packed(size_t n, size_t in, size_t out, int bf16)
{
	float *x = rnd_vec(n * in), *w = rnd_vec(out * in), *y1 = malloc(n * out * sizeof *y1),
	      *y2 = malloc(n * out * sizeof *y2), *yt = malloc(n * out * sizeof *yt);
	size_t np = (out + 31) / 32, bytes = bf16 ? kern_pack_bf16_bytes(out, in)
	                                          : kern_pack_floats(out, in) * sizeof(float);
	void *pk = aligned_alloc(64, (bytes + 63) / 64 * 64);

	memset(pk, 0, bytes);
	size_t cut = out / 3;   /* packed in two parts, as Q, K and V are */

	if (bf16) {
		kern_pack_bf16(w, cut, in, pk, 0);
		kern_pack_bf16(w + cut * in, out - cut, in, pk, cut);
	} else {
		kern_pack(w, cut, in, pk, 0);
		kern_pack(w + cut * in, out - cut, in, pk, cut);
		kern_pack_pad(pk, out, in);
	}
	for (size_t i = 0; i < n * out; i++)
		y1[i] = y2[i] = 0.25f;
	kern_gemm_packed_ref(x, n, in, pk, bf16, out, y1, 1, 0, np);
	if (bf16) {
		kern_gemm_bf16(x, n, in, pk, out, y2, 1, 0, np / 2);
		kern_gemm_bf16(x, n, in, pk, out, y2, 1, np / 2, np);
	} else {
		kern_gemm_packed(x, n, in, pk, out, y2, 1, 0, np / 2);
		kern_gemm_packed(x, n, in, pk, out, y2, 1, np / 2, np);
	}
	ok(worst_rel(y1, y2, n * out) < 1e-5, "%s %zux%zu by %zux%zu: kernel = C twin (%.2g)",
	   bf16 ? "bf16" : "f32", n, in, out, in, worst_rel(y1, y2, n * out));
	linear_ref(x, n, in, w, out, yt);
	for (size_t i = 0; i < n * out; i++)
		yt[i] += 0.25f;
	ok(worst_rel(yt, y2, n * out) < (bf16 ? 2e-2 : 1e-5), "%s %zux%zu: near the exact product "
	   "(%.2g)", bf16 ? "bf16" : "f32", n, out, worst_rel(yt, y2, n * out));
	free(x), free(w), free(y1), free(y2), free(yt), free(pk);
}

static void
int8(size_t n, size_t in, size_t out)
{
	float *x = rnd_vec(n * in), *w = rnd_vec(out * in), *y1 = malloc(n * out * sizeof *y1),
	      *y2 = malloc(n * out * sizeof *y2), *yt = malloc(n * out * sizeof *yt);
	size_t in4 = (in + 3) & ~(size_t)3, np = (out + 15) / 16;
	uint8_t *q1 = malloc(n * in4), *q2 = malloc(n * in4);
	float *s1 = malloc(n * sizeof *s1), *s2 = malloc(n * sizeof *s2);
	int32_t *z1 = malloc(n * sizeof *z1), *z2 = malloc(n * sizeof *z2);
	void *mem = aligned_alloc(64, (kern_q8_bytes(out, in) + 63) / 64 * 64);
	kern_q8 q;
	double err = 0, sig = 0;

	x[n * in / 2] = 2.0f;   /* an outlier sets a row's scale */
	for (size_t i = in; i < n * in && n > 2; i += 2 * in)
		for (size_t k = 0; k < in; k++)
			x[i + k] = fabsf(x[i + k]) - 0.1f;   /* rows mostly above 0, as after GELU */
	kern_q8_init(&q, mem, out, in);
	kern_q8_pack(&q, w, out / 3, 0);
	kern_q8_pack(&q, w + out / 3 * in, out - out / 3, out / 3);
	kern_q8_quant_ref(x, n, in, q1, s1, z1);
	kern_q8_quant(x, n, in, q2, s2, z2);
	ok(!memcmp(q1, q2, n * in4) && !memcmp(s1, s2, n * sizeof *s1) &&
	   !memcmp(z1, z2, n * sizeof *z1),
	   "int8 %zux%zu: activations quantized as the C twin does", n, in);
	{
		uint8_t top = 0;

		for (size_t i = 0; i < n * in4; i++)
			top = q2[i] > top ? q2[i] : top;
		ok(top <= 127, "int8 %zux%zu: activations within seven bits (%d): no pair of "
		   "vpmaddubsw saturates", n, in, top);
	}
	for (size_t i = 0; i < n * out; i++)
		y1[i] = y2[i] = -0.5f;
	kern_gemm_q8_ref(q1, s1, z1, n, &q, y1, 1, 0, np);
	kern_gemm_q8(q2, s2, z2, n, &q, y2, 1, 0, np / 2);
	kern_gemm_q8(q2, s2, z2, n, &q, y2, 1, np / 2, np);
	ok(worst_rel(y1, y2, n * out) < 1e-6, "int8 %zux%zu by %zux%zu: kernel = C twin (%.2g)",
	   n, in, out, in, worst_rel(y1, y2, n * out));
	linear_ref(x, n, in, w, out, yt);
	for (size_t i = 0; i < n * out; i++) {
		err += ((double)yt[i] - 0.5 - y2[i]) * ((double)yt[i] - 0.5 - y2[i]);
		sig += (double)yt[i] * yt[i];
	}
	ok(sqrt(err / sig) < 0.03, "int8 %zux%zu: relative error to the exact product %.3g",
	   n, out, sqrt(err / sig));
	free(x), free(w), free(y1), free(y2), free(yt), free(q1), free(q2), free(s1), free(s2);
	free(z1), free(z2);
	free(mem);
}

int
main(void)
{
	static const size_t shapes[][3] = {
		{1, 1, 1}, {5, 3, 7}, {13, 67, 45}, {37, 384, 96}, {8, 300, 33}, {64, 520, 1152},
	};

	printf("# kernels: %s\n", kern_gemm_info());
	if (kern_gemm_isa() == KERN_C)
		skip("no AVX2 here: the C twins are the kernels");
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		packed(shapes[i][0], shapes[i][1], shapes[i][2], 0);
		packed(shapes[i][0], shapes[i][1], shapes[i][2], 1);
		int8(shapes[i][0], shapes[i][1], shapes[i][2]);
	}
	ok(kern_to_bf16(1.0f) == 0x3f80 && kern_to_bf16(1.00390625f) == 0x3f80 &&
	   kern_to_bf16(1.01171875f) == 0x3f82, "bf16 rounds to nearest, ties to even");
	return done_testing();
}
