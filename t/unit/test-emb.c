/* test-emb.c: the encoders and pooling against the reference outputs in
 * $TOKEMB_DATA/models (BERT, BERT-F16, MPNet, DeBERTa-v3) and
 * $TOKEMB_DATA/reference/model2vec, the relative-position buckets, and the
 * BLAS kernels against their scalar references.  The data cases are skipped
 * when $TOKEMB_DATA lacks them. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "emb_int.h"
#include "tap.h"

static const char *data;

static int
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static void
skip(const char *why)
{
	tap_n++;
	printf("ok %d # skip %s\n", tap_n, why);
}

/* ids (and types) of document b of a case, real tokens only. */
static size_t
case_doc(const cJSON *c, int b, int32_t **ids, int32_t **types)
{
	const cJSON *I = cJSON_GetObjectItem(c, "ids"), *M = cJSON_GetObjectItem(c, "attention_mask"),
	            *TT = cJSON_GetObjectItem(c, "token_type_ids");
	size_t n = 0;

	if (cJSON_IsArray(I->child)) {
		I = cJSON_GetArrayItem(I, b);
		M = M ? cJSON_GetArrayItem(M, b) : NULL;
		TT = TT ? cJSON_GetArrayItem(TT, b) : NULL;
	}
	*ids = malloc((size_t)cJSON_GetArraySize(I) * sizeof **ids + 4);
	*types = TT ? malloc((size_t)cJSON_GetArraySize(I) * sizeof **types + 4) : NULL;
	for (int i = 0; i < cJSON_GetArraySize(I); i++) {
		if (M && cJSON_GetArrayItem(M, i)->valueint == 0)
			continue;
		(*ids)[n] = cJSON_GetArrayItem(I, i)->valueint;
		if (TT)
			(*types)[n] = cJSON_GetArrayItem(TT, i)->valueint;
		n++;
	}
	return n;
}

static void
run_model(const char *name)
{
	char *dir, *ref;
	te_diag d = {0};
	te_emb *m;
	te_pipeline *p;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (asprintf(&dir, "%s/models/%s", data, name) < 0 ||
	    asprintf(&ref, "%s/reference.jsonl", dir) < 0)
		return;
	if (!exists(ref)) {
		skip("needs $TOKEMB_DATA/models");
		free(dir);
		free(ref);
		return;
	}
	m = te_emb_load(dir, 0, &d);
	ok(m != NULL, "%s loads%s%s", name, m ? "" : ": ", m ? "" : d.msg);
	p = te_pipeline_load(dir, &d);
	ok(p != NULL, "%s pipeline loads (%s)", name, p ? te_pipeline_describe(p) : d.msg);
	if (!m || !p)
		goto out;
	fp = fopen(ref, "r");
	while ((len = getline(&line, &cap, fp)) > 0) {
		cJSON *c = cJSON_Parse(line);
		const cJSON *I = cJSON_GetObjectItem(c, "ids");
		const cJSON *LH = cJSON_GetObjectItem(c, "last_hidden_state");
		const cJSON *SE = cJSON_GetObjectItem(c, "sentence_embedding");
		const cJSON *PO = cJSON_GetObjectItem(c, "pooler_output");
		int batched = cJSON_IsArray(I->child);
		int nb = batched ? cJSON_GetArraySize(I) : 1;
		double hmax = 0, smax = 0, pmax = 0, cosmin = 1;
		size_t H = te_emb_dim(m);
		int fail = 0;

		for (int b = 0; b < nb; b++) {
			int32_t *ids, *types;
			size_t n = case_doc(c, b, &ids, &types);
			float *out = malloc((n ? n : 1) * H * sizeof *out), *se = malloc(H * 4 * sizeof *se);
			const cJSON *lh = batched ? cJSON_GetArrayItem(LH, b) : LH;
			const cJSON *sv = batched ? cJSON_GetArrayItem(SE, b) : SE;
			const int32_t *ip = ids, *tp = types;
			double dot = 0, na = 0, nb2 = 0;

			if (te_emb_forward(m, 1, &ip, &n, types ? &tp : NULL, 0, &out, &d) < 0) {
				fail = 1;
				printf("# %s\n", d.msg);
			} else {
				for (size_t t = 0; t < n; t++)
					for (size_t h = 0; h < H; h++) {
						double e = cJSON_GetArrayItem(cJSON_GetArrayItem(lh, (int)t), (int)h)->valuedouble;
						double g = out[t * H + h];

						if (fabs(e - g) > hmax)
							hmax = fabs(e - g);
					}
				te_pipeline_apply(p, out, n, H, se, &d);
				for (size_t h = 0; h < H; h++) {
					double e = cJSON_GetArrayItem(sv, (int)h)->valuedouble, g = se[h];

					if (fabs(e - g) > smax)
						smax = fabs(e - g);
					dot += e * g;
					na += e * e;
					nb2 += g * g;
				}
				if (na > 0 && nb2 > 0 && dot / sqrt(na * nb2) < cosmin)
					cosmin = dot / sqrt(na * nb2);
				if (PO) {
					const cJSON *pv = batched ? cJSON_GetArrayItem(PO, b) : PO;

					te_emb_pooler(m, out, se, &d);
					for (size_t h = 0; h < H; h++) {
						double e = cJSON_GetArrayItem(pv, (int)h)->valuedouble;

						if (fabs(e - se[h]) > pmax)
							pmax = fabs(e - se[h]);
					}
				}
			}
			free(ids);
			free(types);
			free(out);
			free(se);
		}
		ok(!fail && hmax <= 1e-5 && smax <= 1e-5 && cosmin >= 0.99999 && pmax <= 1e-5,
		   "%s %s: hidden %.2g, sentence %.2g (cos %.8f), pooler %.2g", name,
		   cJSON_GetObjectItem(c, "name")->valuestring, hmax, smax, cosmin, pmax);
		cJSON_Delete(c);
	}
	fclose(fp);
	free(line);
out:
	te_emb_free(m);
	te_pipeline_free(p);
	free(dir);
	free(ref);
}

/* The same batch at once (packed) and one document at a time agree exactly. */
static void
batch_invariance(void)
{
	char *dir;
	te_diag d = {0};
	te_emb *m;
	int32_t a[] = {101, 7592, 2088, 102}, b[] = {101, 2023, 102},
	        c[] = {101, 1037, 2146, 6251, 2007, 2062, 2616, 102};
	const int32_t *ids[] = {a, b, c};
	size_t len[] = {4, 3, 8}, H;
	float *o1[3], *o2[3];
	float worst = 0;

	if (asprintf(&dir, "%s/models/bert-random-small", data) < 0)
		return;
	m = te_emb_load(dir, 0, &d);
	free(dir);
	if (!m) {
		skip("needs $TOKEMB_DATA/models/bert-random-small");
		return;
	}
	H = te_emb_dim(m);
	for (int i = 0; i < 3; i++) {
		o1[i] = malloc(len[i] * H * sizeof(float));
		o2[i] = malloc(len[i] * H * sizeof(float));
	}
	te_emb_forward(m, 3, ids, len, NULL, 1, o1, &d);
	te_emb_set_threads(m, 2);
	for (int i = 0; i < 3; i++)
		te_emb_forward(m, 1, &ids[i], &len[i], NULL, 1, &o2[i], &d);
	for (int i = 0; i < 3; i++) {
		for (size_t k = 0; k < len[i] * H; k++)
			if (fabsf(o1[i][k] - o2[i][k]) > worst)
				worst = fabsf(o1[i][k] - o2[i][k]);
		free(o1[i]);
		free(o2[i]);
	}
	/* not bit-exact: sgemm blocks a 15-row product differently from a 3-row one */
	ok(worst < 2e-6f, "a packed batch gives what each document gives alone, 1 and 2 "
	   "threads (%.2g)", worst);
	{
		int32_t bad[] = {101, 30522};
		const int32_t *bp = bad;
		size_t bl = 2;
		float *o = malloc(2 * H * sizeof *o);

		ok(te_emb_forward(m, 1, &bp, &bl, NULL, 1, &o, &d) < 0 &&
		   strstr(d.msg, "outside the vocabulary"), "id past the vocabulary refused: %s",
		   d.msg);
		free(o);
	}
	te_emb_free(m);
}

static void
buckets(const char *model, const char *key, int deberta)
{
	char *path;
	te_diag d = {0};
	cJSON *j;
	const cJSON *r, *b;
	int bad = 0, n = 0;

	if (asprintf(&path, "%s/models/%s/reference_buckets.json", data, model) < 0)
		return;
	j = exists(path) ? emb_json_load(path, &d) : NULL;
	free(path);
	if (!j) {
		skip("needs $TOKEMB_DATA/models reference_buckets.json");
		return;
	}
	r = cJSON_GetObjectItem(j, key);
	b = cJSON_GetObjectItem(j, "bucket");
	for (int i = 0; i < cJSON_GetArraySize(r); i++) {
		int rel = cJSON_GetArrayItem(r, i)->valueint, want = cJSON_GetArrayItem(b, i)->valueint;
		int got = deberta ? emb_deberta_bucket(rel, 256, 512) : emb_mpnet_bucket(rel, 32, 128);

		bad += got != want;
		n++;
	}
	ok(n > 1000 && bad == 0, "%s buckets: %d of %d differ", model, bad, n);
	cJSON_Delete(j);
}

static void
model2vec(const char *name)
{
	char *dir, *ref;
	te_diag d = {0};
	te_emb *m;
	te_pipeline *p;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	double worst = 0;
	int cases = 0;

	if (asprintf(&dir, "%s/static-embeddings/model2vec-rs-fixtures/%s", data, name) < 0 ||
	    asprintf(&ref, "%s/reference/model2vec/%s.jsonl", data, name) < 0)
		return;
	if (!exists(ref) || !exists(dir)) {
		skip("needs $TOKEMB_DATA/reference/model2vec");
		free(dir);
		free(ref);
		return;
	}
	m = te_emb_load(dir, 0, &d);
	p = m ? te_pipeline_load(dir, &d) : NULL;
	ok(m && p && te_emb_is_static(m), "%s loads as a static model%s%s", name,
	   m && p ? "" : ": ", m && p ? "" : d.msg);
	if (!m || !p)
		goto out;
	fp = fopen(ref, "r");
	while (getline(&line, &cap, fp) > 0) {
		cJSON *c = cJSON_Parse(line);
		const cJSON *I = cJSON_GetObjectItem(c, "ids_used"), *E = cJSON_GetObjectItem(c, "embedding");
		size_t n = (size_t)cJSON_GetArraySize(I), H = te_emb_dim(m);
		int rep = 0, rid = 0;
		int32_t *ids;

		/* the long case is written "512 x 6598 (first 512 of 1000)" */
		if (cJSON_IsString(I) && sscanf(I->valuestring, "%d x %d", &rep, &rid) == 2)
			n = (size_t)rep;
		ids = malloc((n + 1) * sizeof *ids);
		float *out = malloc((n + 1) * H * sizeof *out), *se = malloc(H * sizeof *se);
		const int32_t *ip = ids;

		for (size_t i = 0; i < n; i++)
			ids[i] = rep ? rid : cJSON_GetArrayItem(I, (int)i)->valueint;
		if (te_emb_forward(m, 1, &ip, &n, NULL, 0, &out, &d) == 0 &&
		    te_pipeline_apply(p, out, n, H, se, &d) == 0 &&
		    (size_t)cJSON_GetArraySize(E) == H) {
			for (size_t h = 0; h < H; h++) {
				double e = cJSON_GetArrayItem(E, (int)h)->valuedouble;

				if (fabs(e - se[h]) > worst)
					worst = fabs(e - se[h]);
			}
		} else {
			worst = INFINITY;
		}
		cases++;
		free(ids);
		free(out);
		free(se);
		cJSON_Delete(c);
	}
	fclose(fp);
	free(line);
	ok(cases >= 5 && worst <= 1e-5, "%s: %d texts, max abs diff %.2g", name, cases, worst);
out:
	te_emb_free(m);
	te_pipeline_free(p);
	free(dir);
	free(ref);
}

static void
kernels(void)
{
	size_t n = 37, in = 67, out = 45;
	float *x = malloc(n * in * sizeof *x), *w = malloc(out * in * sizeof *w),
	      *b = malloc(out * sizeof *b), *y1 = malloc(n * out * sizeof *y1),
	      *y2 = malloc(n * out * sizeof *y2);
	double worst = 0;
	uint32_t s = 12345;

	for (size_t i = 0; i < n * in; i++)
		x[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / (1 << 24) - 0.5f;
	for (size_t i = 0; i < out * in; i++)
		w[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / (1 << 24) - 0.5f;
	for (size_t i = 0; i < out; i++)
		b[i] = (float)i / 10;
	emb_linear_ref(x, n, in, w, b, out, y1);
	emb_linear(x, n, in, w, b, out, y2);
	for (size_t i = 0; i < n * out; i++)
		if (fabs(y1[i] - y2[i]) > worst)
			worst = fabs(y1[i] - y2[i]);
	ok(worst < 1e-5, "sgemm linear agrees with the scalar reference (%.2g)", worst);
	{
		float g[1] = {0.5f}, v[4] = {-3, -0.5f, 0, 2};

		emb_gelu(v, 4);
		ok(fabsf(v[0] - (-0.00404969f)) < 1e-6f && v[2] == 0 && fabsf(v[3] - 1.9544997f) < 1e-6f,
		   "exact erf GELU");
		(void)g;
	}
	{
		size_t n = 200001;
		float *a = malloc(n * sizeof *a), *b2 = malloc(n * sizeof *b2);
		double worst = 0;

		for (size_t i = 0; i < n; i++)
			a[i] = b2[i] = -10.0f + 20.0f * (float)i / (float)(n - 1);
		emb_gelu(a, n);
		emb_gelu_scalar(b2, n);
		for (size_t i = 0; i < n; i++)
			if (fabs(a[i] - b2[i]) / fmax(1.0, fabs(b2[i])) > worst)
				worst = fabs(a[i] - b2[i]) / fmax(1.0, fabs(b2[i]));
		/* a few ulp: libmvec's erff is not glibc's scalar erff */
		ok(worst < 3e-7, "vector GELU agrees with the erff one on [-10, 10] (%.2g "
		   "relative)", worst);
		free(a);
		free(b2);
	}
	{
		/* the gated activations, vector against scalar, rows of 37 (a tail) */
		static const char *name[] = {"SiLU", "GELU", "tanh GELU"};
		size_t N = 3000, F = 37;
		float *gu = malloc(N * 2 * F * sizeof *gu), *a = malloc(N * F * sizeof *a),
		      *b2 = malloc(N * F * sizeof *b2);

		for (size_t i = 0; i < N * 2 * F; i++)
			gu[i] = -12.0f + 24.0f * (float)((i * 7919) % (N * 2 * F)) / (float)(N * 2 * F);
		for (int act = EMB_ACT_SILU; act <= EMB_ACT_GELU_TANH; act++) {
			double worst = 0;

			emb_gate(act, gu, N, F, a);
			kern_force_scalar = 1;
			emb_gate(act, gu, N, F, b2);
			kern_force_scalar = 0;
			for (size_t i = 0; i < N * F; i++)
				if (fabs(a[i] - b2[i]) / fmax(1.0, fabs(b2[i])) > worst)
					worst = fabs(a[i] - b2[i]) / fmax(1.0, fabs(b2[i]));
			ok(worst < 1e-6, "vector gated %s agrees with the scalar one (%.2g relative)",
			   name[act], worst);
		}
		free(gu);
		free(a);
		free(b2);
	}
	{
		float v[6] = {1, 2, 3, 4, 5, 6}, o[2];

		te_pool(TE_POOL_MEAN, v, 3, 2, o);
		ok(o[0] == 3 && o[1] == 4, "mean pooling");
		te_pool(TE_POOL_MAX, v, 3, 2, o);
		ok(o[0] == 5 && o[1] == 6, "max pooling");
		te_pool(TE_POOL_CLS, v, 3, 2, o);
		ok(o[0] == 1 && o[1] == 2, "cls pooling");
		te_pool(TE_POOL_LAST, v, 3, 2, o);
		ok(o[0] == 5 && o[1] == 6, "last-token pooling");
		te_pool(TE_POOL_MEAN_SQRT, v, 3, 2, o);
		ok(fabsf(o[0] - 9 / sqrtf(3)) < 1e-6f, "mean-sqrt-len pooling");
		te_pool(TE_POOL_WEIGHTED, v, 3, 2, o);
		ok(fabsf(o[0] - (1 + 6 + 15) / 6.0f) < 1e-6f, "weighted-mean pooling");
		te_pool(TE_POOL_MEAN, v, 0, 2, o);
		ok(o[0] == 0 && o[1] == 0, "empty document pools to zeros");
	}
	{
		uint16_t h1 = 0x3c00, h2 = 0xc000, h3 = 0x0001, b1 = 0x3f80;

		ok(emb_half_to_float(h1) == 1.0f && emb_half_to_float(h2) == -2.0f &&
		   emb_half_to_float(h3) == ldexpf(1, -24) && emb_bf16_to_float(b1) == 1.0f,
		   "F16 (incl. subnormal) and BF16 widen exactly");
	}
	free(x);
	free(w);
	free(b);
	free(y1);
	free(y2);
}

/* The vector kernels (AVX2, AVX-512 packed products) against the scalar
 * ones, on sizes that are not multiples of the vector widths. */
static void
vector_kernels(void)
{
	size_t n = 37, in = 67, out = 45, dims[] = {37, 384};
	float *x = malloc(n * in * sizeof *x), *w = malloc(out * in * sizeof *w),
	      *y1 = malloc(n * out * sizeof *y1), *y2 = malloc(n * out * sizeof *y2);
	uint32_t s = 777;
	double worst = 0;

	for (size_t i = 0; i < n * in; i++)
		x[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / (1 << 24) - 0.5f;
	for (size_t i = 0; i < out * in; i++)
		w[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / (1 << 24) - 0.5f;
	if (kern_gemm_available()) {
		float *pk = aligned_alloc(64, kern_pack_floats(out, in) * sizeof *pk);

		/* two parts, as Q, K and V are packed */
		kern_pack(w, 20, in, pk, 0);
		kern_pack(w + 20 * in, out - 20, in, pk, 20);
		kern_pack_pad(pk, out, in);
		emb_linear_ref(x, n, in, w, NULL, out, y1);
		for (size_t i = 0; i < n * out; i++)
			y2[i] = 1.0f;
		kern_gemm_packed(x, n, in, pk, out, y2, 1, 0, (out + 31) / 32);
		for (size_t i = 0; i < n * out; i++)
			if (fabs(y1[i] + 1.0f - y2[i]) > worst)
				worst = fabs(y1[i] + 1.0f - y2[i]);
		ok(worst < 1e-5, "packed (AVX-512 or AVX2) product agrees with the scalar one (%.2g)", worst);
		free(pk);
	} else {
		skip("the packed product is not used here (AVX-512, or TOKEMB_GEMM=packed)");
	}
	for (int k = 0; k < 2; k++) {
		size_t dim = dims[k], rows = 5;
		float *a = malloc(rows * dim * sizeof *a), *b = malloc(rows * dim * sizeof *b),
		      *g = malloc(dim * sizeof *g), *bb = malloc(dim * sizeof *bb),
		      *bias = malloc(dim * sizeof *bias);

		worst = 0;
		for (size_t i = 0; i < rows * dim; i++)
			a[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / (1 << 22) - 2.0f;
		for (size_t i = 0; i < dim; i++) {
			g[i] = 1.0f + (float)i / (float)dim;
			bb[i] = (float)i / 100.0f;
			bias[i] = 0.5f - (float)i / (float)dim;
		}
		memcpy(b, a, rows * dim * sizeof *b);
		emb_bias_layernorm(a, rows, dim, bias, g, bb, 1e-12);
		for (size_t r = 0; r < rows; r++)
			for (size_t i = 0; i < dim; i++)
				b[r * dim + i] += bias[i];
		emb_layernorm_ref(b, rows, dim, g, bb, 1e-12);
		for (size_t i = 0; i < rows * dim; i++)
			if (fabs(a[i] - b[i]) > worst)
				worst = fabs(a[i] - b[i]);
		ok(worst < 2e-6, "bias + LayerNorm over %zu agrees with the scalar one (%.2g)", dim,
		   worst);
		free(a);
		free(b);
		free(g);
		free(bb);
		free(bias);
	}
	free(x);
	free(w);
	free(y1);
	free(y2);
}

/* A whole forward pass with the vector kernels (packed products, one-pass
 * attention) and with the scalar ones (sgemm, sgemm attention per head)
 * agree, on short documents and a long one. */
static void
scalar_paths(const char *name)
{
	char *dir;
	te_diag d = {0};
	te_emb *m;
	int32_t a[] = {101, 7592, 2088, 102}, b[] = {101, 2023, 102}, c[300];
	const int32_t *ids[] = {a, b, c};
	size_t len[] = {4, 3, 300}, H;
	float *o1[3], *o2[3];
	float worst = 0;
	int fail = 0;

	if (asprintf(&dir, "%s/models/%s", data, name) < 0)
		return;
	m = te_emb_load(dir, 0, &d);
	free(dir);
	if (!m) {
		skip("needs $TOKEMB_DATA/models");
		return;
	}
	c[0] = 101;
	for (int i = 1; i < 299; i++)
		c[i] = 1000 + 37 * i;
	c[299] = 102;
	H = te_emb_dim(m);
	for (int i = 0; i < 3; i++) {
		o1[i] = malloc(len[i] * H * sizeof(float));
		o2[i] = malloc(len[i] * H * sizeof(float));
	}
	fail |= te_emb_forward(m, 3, ids, len, NULL, 1, o1, &d) < 0;
	kern_force_scalar = 1;
	fail |= te_emb_forward(m, 3, ids, len, NULL, 1, o2, &d) < 0;
	kern_force_scalar = 0;
	for (int i = 0; i < 3; i++) {
		for (size_t k = 0; k < len[i] * H; k++)
			if (fabsf(o1[i][k] - o2[i][k]) > worst)
				worst = fabsf(o1[i][k] - o2[i][k]);
		free(o1[i]);
		free(o2[i]);
	}
	ok(!fail && worst < 3e-6f, "%s: vector and scalar kernels agree (%.2g)", name, worst);
	te_emb_free(m);
}

int
main(void)
{
	data = getenv("TOKEMB_DATA");
	if (!data)
		data = "../shared/data";
	kernels();
	buckets("mpnet-random-small", "key_minus_query", 0);
	buckets("deberta-v3-random-small", "query_minus_key", 1);
	run_model("bert-random-small");
	run_model("bert-random-small-f16");
	run_model("mpnet-random-small");
	run_model("deberta-v3-random-small");
	batch_invariance();
	vector_kernels();
	scalar_paths("bert-random-small");
	scalar_paths("mpnet-random-small");
	model2vec("test-model-float32");
	model2vec("test-model-float16");
	model2vec("test-model-int8");
	model2vec("test-model-vocab-quantized");
	return done_testing();
}
