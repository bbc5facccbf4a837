/* emb_pool.c: pooling token vectors into one vector, and the sentence-transformers
 * pipeline (Pooling, Dense, Normalize) read from modules.json. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "emb_int.h"

void
te_pool(te_pool_mode mode, const float *x, size_t rows, size_t dim, float *out)
{
	if (rows == 0) {
		memset(out, 0, dim * sizeof *out);
		return;
	}
	switch (mode) {
	case TE_POOL_CLS:
		memcpy(out, x, dim * sizeof *out);
		return;
	case TE_POOL_LAST:
		memcpy(out, x + (rows - 1) * dim, dim * sizeof *out);
		return;
	case TE_POOL_MAX:
		memcpy(out, x, dim * sizeof *out);
		for (size_t r = 1; r < rows; r++)
			for (size_t i = 0; i < dim; i++)
				if (x[r * dim + i] > out[i])
					out[i] = x[r * dim + i];
		return;
	case TE_POOL_MEAN:
	case TE_POOL_MEAN_SQRT:
	case TE_POOL_WEIGHTED: {
		/* float sums, in token order, as torch.sum over the sequence does
		 * within the tolerance; the divisor as sentence-transformers has it */
		double wsum = 0;

		memset(out, 0, dim * sizeof *out);
		for (size_t r = 0; r < rows; r++) {
			float w = mode == TE_POOL_WEIGHTED ? (float)(r + 1) : 1.0f;

			wsum += w;
			for (size_t i = 0; i < dim; i++)
				out[i] += x[r * dim + i] * w;
		}
		{
			float div = mode == TE_POOL_MEAN_SQRT ? sqrtf((float)rows) : (float)wsum;

			for (size_t i = 0; i < dim; i++)
				out[i] /= div;
		}
		return;
	}
	}
}

void
te_l2_normalize(float *x, size_t dim)
{
	double s = 0;
	float n;

	for (size_t i = 0; i < dim; i++)
		s += (double)x[i] * x[i];
	n = (float)sqrt(s);
	if (n < 1e-12f)
		n = 1e-12f;
	for (size_t i = 0; i < dim; i++)
		x[i] /= n;
}

/* ------------------------------------------------------------ pipeline */

enum { STEP_POOL, STEP_DENSE, STEP_NORMALIZE };

typedef enum dense_act { ACT_IDENTITY, ACT_TANH, ACT_RELU, ACT_GELU, ACT_SIGMOID } dense_act;

typedef struct step {
	int kind;
	/* pooling: the modes in the order sentence-transformers concatenates */
	te_pool_mode modes[6];
	int nmodes;
	/* dense */
	emb_st_set *st;
	const float *w, *b;
	size_t in, out;
	dense_act act;
} step;

struct te_pipeline {
	step *s;
	size_t n;
	char desc[256];
	float *tmp, *tmp2;
	size_t tmpcap;
	size_t in_dim;       /* word_embedding_dimension, 0 = not given */
	size_t trunc;        /* keep this many components at the end, 0 = all */
};

void
te_pipeline_free(te_pipeline *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		emb_st_close(p->s[i].st);
	free(p->s);
	free(p->tmp);
	free(p->tmp2);
	free(p);
}

static step *
add_step(te_pipeline *p, int kind)
{
	step *ns = realloc(p->s, (p->n + 1) * sizeof *ns);

	if (!ns)
		return NULL;
	p->s = ns;
	memset(&p->s[p->n], 0, sizeof p->s[p->n]);
	p->s[p->n].kind = kind;
	return &p->s[p->n++];
}

static const char *const mode_names[] = {
	"mean", "cls", "max", "mean-sqrt-len", "weighted-mean", "last",
};

static void
describe(te_pipeline *p)
{
	size_t l = 0;

	p->desc[0] = '\0';
	for (size_t i = 0; i < p->n && l < sizeof p->desc - 40; i++) {
		const step *s = &p->s[i];

		if (s->kind == STEP_POOL)
			for (int k = 0; k < s->nmodes; k++)
				l += (size_t)snprintf(p->desc + l, sizeof p->desc - l, "%s%s",
				                      l ? ", " : "", mode_names[s->modes[k]]);
		else if (s->kind == STEP_DENSE)
			l += (size_t)snprintf(p->desc + l, sizeof p->desc - l, "%sdense %zu->%zu",
			                      l ? ", " : "", s->in, s->out);
		else
			l += (size_t)snprintf(p->desc + l, sizeof p->desc - l, "%snormalize",
			                      l ? ", " : "");
	}
}

const char *te_pipeline_describe(const te_pipeline *p) { return p->desc; }

te_pipeline *
te_pipeline_new(te_pool_mode mode, int normalize)
{
	te_pipeline *p = calloc(1, sizeof *p);
	step *s;

	if (!p || !(s = add_step(p, STEP_POOL))) {
		free(p);
		return NULL;
	}
	s->modes[0] = mode;
	s->nmodes = 1;
	if (normalize && !add_step(p, STEP_NORMALIZE)) {
		te_pipeline_free(p);
		return NULL;
	}
	describe(p);
	return p;
}

static int
load_pooling(step *s, size_t *in_dim, const char *dir, const char *sub, te_diag *d)
{
	static const struct {
		const char *key;
		te_pool_mode mode;
	} keys[] = {
		/* sentence-transformers' Pooling.forward order */
		{"pooling_mode_cls_token", TE_POOL_CLS},
		{"pooling_mode_max_tokens", TE_POOL_MAX},
		{"pooling_mode_mean_tokens", TE_POOL_MEAN},
		{"pooling_mode_mean_sqrt_len_tokens", TE_POOL_MEAN_SQRT},
		{"pooling_mode_weightedmean_tokens", TE_POOL_WEIGHTED},
		{"pooling_mode_lasttoken", TE_POOL_LAST},
	};
	char *path;
	cJSON *j;

	if (asprintf(&path, "%s/%s/config.json", dir, sub) < 0)
		return te_diag_set(d, dir, 0, "out of memory");
	j = emb_json_load(path, d);
	if (!j) {
		free(path);
		return -1;
	}
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[k].key);

		if (v && !cJSON_IsBool(v)) {
			te_diag_set(d, path, 0, "\"%s\" must be true or false", keys[k].key);
			goto fail;
		}
		if (cJSON_IsTrue(v))
			s->modes[s->nmodes++] = keys[k].mode;
	}
	{
		const cJSON *mode = cJSON_GetObjectItemCaseSensitive(j, "pooling_mode");

		if (s->nmodes == 0 && cJSON_IsString(mode)) {
			static const char *const names[] = {"cls", "max", "mean", "mean_sqrt_len_tokens",
			                                    "weightedmean", "lasttoken"};
			static const te_pool_mode modes[] = {TE_POOL_CLS, TE_POOL_MAX, TE_POOL_MEAN,
			                                     TE_POOL_MEAN_SQRT, TE_POOL_WEIGHTED,
			                                     TE_POOL_LAST};

			for (size_t k = 0; k < 6; k++)
				if (strcmp(mode->valuestring, names[k]) == 0)
					s->modes[s->nmodes++] = modes[k];
		}
	}
	if (s->nmodes == 0) {
		te_diag_set(d, path, 0, "no pooling mode is set");
		goto fail;
	}
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "word_embedding_dimension");

		if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 1 << 24 &&
		    v->valuedouble == (double)(size_t)v->valuedouble)
			*in_dim = (size_t)v->valuedouble;
	}
	free(path);
	cJSON_Delete(j);
	return 0;
fail:
	free(path);
	cJSON_Delete(j);
	return -1;
}

static int
load_dense(step *s, const char *dir, const char *sub, te_diag *d)
{
	char *path = NULL, *wpath = NULL;
	cJSON *j = NULL;
	const cJSON *in, *out, *bias, *act;
	int rc = -1;

	if (asprintf(&path, "%s/%s/config.json", dir, sub) < 0)
		return te_diag_set(d, dir, 0, "out of memory");
	j = emb_json_load(path, d);
	if (!j)
		goto out;
	in = cJSON_GetObjectItemCaseSensitive(j, "in_features");
	out = cJSON_GetObjectItemCaseSensitive(j, "out_features");
	bias = cJSON_GetObjectItemCaseSensitive(j, "bias");
	act = cJSON_GetObjectItemCaseSensitive(j, "activation_function");
	if (!cJSON_IsNumber(in) || !cJSON_IsNumber(out) || in->valuedouble < 1 ||
	    out->valuedouble < 1 || in->valuedouble > 1 << 20 || out->valuedouble > 1 << 20) {
		te_diag_set(d, path, 0, "Dense config needs in_features and out_features");
		goto out;
	}
	s->in = (size_t)in->valuedouble;
	s->out = (size_t)out->valuedouble;
	s->act = ACT_IDENTITY;
	if (cJSON_IsString(act)) {
		const char *a = act->valuestring;

		if (strstr(a, "Tanh"))
			s->act = ACT_TANH;
		else if (strstr(a, "ReLU"))
			s->act = ACT_RELU;
		else if (strstr(a, "GELU"))
			s->act = ACT_GELU;
		else if (strstr(a, "Sigmoid"))
			s->act = ACT_SIGMOID;
		else if (!strstr(a, "Identity")) {
			te_diag_set(d, path, 0, "unsupported Dense activation '%s'", a);
			goto out;
		}
	}
	if (asprintf(&wpath, "%s/%s/model.safetensors", dir, sub) < 0) {
		wpath = NULL;
		te_diag_set(d, dir, 0, "out of memory");
		goto out;
	}
	s->st = emb_st_open(wpath, d);
	if (!s->st)
		goto out;
	{
		uint64_t wshape[2] = {s->out, s->in}, bshape[1] = {s->out};

		s->w = emb_st_f32(s->st, "linear.weight", 2, wshape, d);
		if (!s->w)
			goto out;
		if (!bias || cJSON_IsTrue(bias)) {
			s->b = emb_st_f32(s->st, "linear.bias", 1, bshape, d);
			if (!s->b)
				goto out;
		}
	}
	rc = 0;
out:
	free(path);
	free(wpath);
	cJSON_Delete(j);
	return rc;
}

static te_pipeline *
pipeline_load(const char *dir, te_diag *d)
{
	te_pipeline *p = calloc(1, sizeof *p);
	char *mpath = te_model_file(dir, "modules.json");
	cJSON *j = NULL, *e;
	size_t k = 0;

	if (!p) {
		te_diag_set(d, dir, 0, "out of memory");
		free(mpath);
		return NULL;
	}
	if (!mpath) {
		/* a bare Transformer model: mean pooling, like sentence-transformers
		 * does for a model without modules.json */
		step *s = add_step(p, STEP_POOL);

		if (!s)
			goto oom;
		s->modes[0] = TE_POOL_MEAN;
		s->nmodes = 1;
		describe(p);
		return p;
	}
	{
		size_t len;
		FILE *fp = fopen(mpath, "rb");
		char buf[1 << 16];

		if (!fp) {
			te_diag_set(d, mpath, 0, "cannot open");
			goto fail;
		}
		len = fread(buf, 1, sizeof buf - 1, fp);
		fclose(fp);
		j = cJSON_ParseWithLength(buf, len);
	}
	if (!cJSON_IsArray(j)) {
		te_diag_set(d, mpath, 0, "modules.json is not a JSON array of modules");
		goto fail;
	}
	cJSON_ArrayForEach(e, j) {
		const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type"),
		            *pa = cJSON_GetObjectItemCaseSensitive(e, "path");
		const char *t, *dot;
		step *s;

		k++;
		if (!cJSON_IsString(ty) || !cJSON_IsString(pa) || strstr(pa->valuestring, "..")) {
			te_diag_set(d, mpath, 0, "module %zu lacks a type or a path", k);
			goto fail;
		}
		t = ty->valuestring;
		dot = strrchr(t, '.');
		if (dot)
			t = dot + 1;
		if (strcmp(t, "Transformer") == 0 || strcmp(t, "CLIPModel") == 0) {
			if (k != 1) {
				te_diag_set(d, mpath, 0, "a Transformer module after the first");
				goto fail;
			}
		} else if (strcmp(t, "StaticEmbedding") == 0) {
			/* EmbeddingBag(mode="mean") over the token rows */
			if (!(s = add_step(p, STEP_POOL)))
				goto oom;
			s->modes[0] = TE_POOL_MEAN;
			s->nmodes = 1;
		} else if (strcmp(t, "Pooling") == 0) {
			if (!(s = add_step(p, STEP_POOL)))
				goto oom;
			if (load_pooling(s, &p->in_dim, dir, pa->valuestring, d) < 0)
				goto fail;
		} else if (strcmp(t, "Dense") == 0) {
			if (!(s = add_step(p, STEP_DENSE)))
				goto oom;
			if (load_dense(s, dir, pa->valuestring, d) < 0)
				goto fail;
		} else if (strcmp(t, "Normalize") == 0) {
			if (!add_step(p, STEP_NORMALIZE))
				goto oom;
		} else {
			te_diag_set(d, mpath, 0, "unsupported sentence-transformers module '%s'",
			            ty->valuestring);
			goto fail;
		}
	}
	if (p->n == 0 || p->s[0].kind != STEP_POOL) {
		te_diag_set(d, mpath, 0, "the pipeline has no Pooling module after the "
		            "Transformer");
		goto fail;
	}
	for (size_t i = 1; i < p->n; i++)
		if (p->s[i].kind == STEP_POOL) {
			te_diag_set(d, mpath, 0, "more than one Pooling module");
			goto fail;
		}
	describe(p);
	cJSON_Delete(j);
	free(mpath);
	return p;
oom:
	te_diag_set(d, dir, 0, "out of memory");
fail:
	cJSON_Delete(j);
	free(mpath);
	te_pipeline_free(p);
	return NULL;
}

te_pipeline *
te_pipeline_load(const char *name, te_diag *d)
{
	char *dir = te_model_resolve(name, d);
	te_pipeline *p = dir ? pipeline_load(dir, d) : NULL;

	free(dir);
	return p;
}

size_t
te_pipeline_in_dim(const te_pipeline *p)
{
	return p->in_dim;
}

size_t
te_pipeline_out_dim(const te_pipeline *p, size_t in_dim, te_diag *d)
{
	size_t dim = in_dim;

	/* vectors of another model, or token ids read as vectors */
	if (p->in_dim && in_dim != p->in_dim) {
		te_diag_set(d, NULL, 0, "rows of %zu components, the model takes %zu", in_dim,
		            p->in_dim);
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		const step *s = &p->s[i];

		if (s->kind == STEP_POOL) {
			dim *= (size_t)s->nmodes;
		} else if (s->kind == STEP_DENSE) {
			if (dim != s->in) {
				te_diag_set(d, NULL, 0, "the Dense module takes %zu components, the "
				            "pooled vector has %zu", s->in, dim);
				return 0;
			}
			dim = s->out;
		}
	}
	if (p->trunc > dim) {
		te_diag_set(d, NULL, 0, "cannot keep %zu components of a %zu-component "
		            "vector", p->trunc, dim);
		return 0;
	}
	return p->trunc ? p->trunc : dim;
}

/* sentence-transformers' truncate_dim slices the output of the whole module
 * chain; a chain that ends in Normalize is normalised again after the cut,
 * as its encode(normalize_embeddings=True) and the Matryoshka model cards do,
 * so that the vectors stay unit vectors. */
void
te_pipeline_truncate(te_pipeline *p, size_t dim)
{
	size_t l = strlen(p->desc);

	p->trunc = dim;
	if (dim)
		snprintf(p->desc + l, sizeof p->desc - l, "%sfirst %zu", l ? ", " : "", dim);
}

int
te_pipeline_apply(te_pipeline *p, const float *x, size_t rows, size_t dim, float *out,
                  te_diag *d)
{
	size_t cur = dim, need = 0;
	float *a, *b;

	for (size_t i = 0; i < p->n; i++) {
		const step *s = &p->s[i];
		size_t w = s->kind == STEP_POOL ? dim * (size_t)s->nmodes
		           : s->kind == STEP_DENSE ? (s->out > s->in ? s->out : s->in)
		                                   : 0;
		if (w > need)
			need = w;
	}
	if (need > p->tmpcap) {
		float *t1 = realloc(p->tmp, need * sizeof *t1), *t2;

		if (!t1)
			return te_diag_set(d, NULL, 0, "out of memory");
		p->tmp = t1;
		t2 = realloc(p->tmp2, need * sizeof *t2);
		if (!t2)
			return te_diag_set(d, NULL, 0, "out of memory");
		p->tmp2 = t2;
		p->tmpcap = need;
	}
	a = p->tmp;
	b = p->tmp2;
	for (size_t i = 0; i < p->n; i++) {
		const step *s = &p->s[i];

		if (s->kind == STEP_POOL) {
			for (int k = 0; k < s->nmodes; k++)
				te_pool(s->modes[k], x, rows, dim, a + (size_t)k * dim);
			cur = dim * (size_t)s->nmodes;
		} else if (s->kind == STEP_DENSE) {
			float *t;

			if (cur != s->in)
				return te_diag_set(d, NULL, 0, "the Dense module takes %zu components, "
				                   "the pooled vector has %zu", s->in, cur);
			emb_linear_ref(a, 1, s->in, s->w, s->b, s->out, b);
			for (size_t o = 0; o < s->out; o++) {
				float v = b[o];

				switch (s->act) {
				case ACT_TANH: v = tanhf(v); break;
				case ACT_RELU: v = v > 0 ? v : 0; break;
				case ACT_GELU: v = emb_gelu1(v); break;
				case ACT_SIGMOID: v = 1.0f / (1.0f + expf(-v)); break;
				default: break;
				}
				b[o] = v;
			}
			t = a;
			a = b;
			b = t;
			cur = s->out;
		} else {
			te_l2_normalize(a, cur);
		}
	}
	if (p->trunc) {
		if (p->trunc > cur)
			return te_diag_set(d, NULL, 0, "cannot keep %zu components of a "
			                   "%zu-component vector", p->trunc, cur);
		cur = p->trunc;
		if (p->n && p->s[p->n - 1].kind == STEP_NORMALIZE)
			te_l2_normalize(a, cur);
	}
	memcpy(out, a, cur * sizeof *out);
	return 0;
}
