/* emb.c: loading embedding models (HF encoders, Model2Vec, input embedding
 * tables, word vectors) and the te_emb_forward entry point. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "emb_int.h"
#include "util_int.h"
#include "util_int.h"

/* An integer config key in [lo, hi]; *out keeps def when absent and not
 * required. */
static int
cfg_int(const cJSON *cfg, const char *path, const char *key, long long lo, long long hi,
        int required, long long *out, te_diag *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);

	if (!v || cJSON_IsNull(v)) {
		if (required)
			return te_diag_set(d, path, 0, "missing \"%s\"", key);
		return 0;
	}
	if (!cJSON_IsNumber(v) || ut_int_of(v->valuedouble, lo, hi, out))
		return te_diag_set(d, path, 0, "\"%s\" must be an integer in %lld..%lld", key,
		                   lo, hi);
	return 0;
}

static const char *
cfg_str(const cJSON *cfg, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* --------------------------------------------------------------- tensors */

typedef struct loader {
	te_emb *m;
	const char *prefix;
	const char *cfgpath;
	te_diag *d;
	int err;
} loader;

static const float *
W(loader *L, const char *name, uint64_t a, uint64_t b)
{
	char full[512];
	uint64_t shape[2] = {a, b};
	const float *p;

	if (L->err)
		return NULL;
	snprintf(full, sizeof full, "%s%s", L->prefix, name);
	p = emb_st_f32(L->m->st, full, b ? 2 : 1, shape, L->d);
	if (!p)
		L->err = 1;
	return p;
}

static void
W_ln(loader *L, const char *base, size_t h, const float **g, const float **b)
{
	char n1[256], n2[256], full[512];

	snprintf(full, sizeof full, "%s%s.gamma", L->prefix, base);
	if (!L->err && emb_st_find(L->m->st, full)) {
		snprintf(n1, sizeof n1, "%s.gamma", base);
		snprintf(n2, sizeof n2, "%s.beta", base);
	} else {
		snprintf(n1, sizeof n1, "%s.weight", base);
		snprintf(n2, sizeof n2, "%s.bias", base);
	}
	*g = W(L, n1, h, 0);
	*b = W(L, n2, h, 0);
}

static void
W_lin(loader *L, const char *base, size_t out, size_t in, const float **w,
      const float **b)
{
	char n1[256], n2[256];

	snprintf(n1, sizeof n1, "%s.weight", base);
	snprintf(n2, sizeof n2, "%s.bias", base);
	*w = W(L, n1, out, in);
	*b = W(L, n2, out, 0);
}

/* A layer's matrix (and bias): F16 and BF16 weights are kept as the file
 * has them (*half) and widened only if a float32 product asks (emb_widen),
 * so that --dtype bf16 and int8 pack them straight from the file. */
static void
W_lin_half(loader *L, const char *base, size_t out, size_t in, const float **w,
           const float **b, const emb_st_tensor **half)
{
	char n1[512], n2[256];
	uint64_t shape[2] = {out, in};
	const emb_st_tensor *t;

	if (L->err)
		return;
	snprintf(n1, sizeof n1, "%s%s.weight", L->prefix, base);
	if (!(t = emb_st_shaped(L->m->st, n1, 2, shape, L->d))) {
		L->err = 1;
		return;
	}
	if (t->dtype == EMB_ST_F16 || t->dtype == EMB_ST_BF16) {
		*half = t;
		*w = NULL;
	} else if (!(*w = emb_st_f32_any(L->m->st, t, L->d))) {
		L->err = 1;
	}
	snprintf(n2, sizeof n2, "%s.bias", base);
	*b = W(L, n2, out, 0);
}

/* ------------------------------------------------------------- loading */

void
te_emb_free(te_emb *m)
{
	if (!m)
		return;
#ifdef TE_CUDA
	emb_cuda_free(m);
#endif
	if (m->layer)
		for (size_t i = 0; i < m->layers; i++) {
			free(m->layer[i].qr);
			free(m->layer[i].kr);
			free(m->layer[i].wqkv);
			free(m->layer[i].bqkv);
			free(m->layer[i].pk);
		}
	free(m->layer);
	for (size_t i = 0; i < m->nws; i++) {
		free(m->ws[i].buf);
		free(m->ws[i].attn);
	}
	free(m->ws);
	free(m->rel_ln);
	free(m->stat_weight);
	free(m->owned);
	free(m->zeros);
	if (m->stat_names)
		for (size_t i = 0; i < m->vocab; i++)
			free(m->stat_names[i]);
	free(m->stat_names);
	free(m->stat_have);
	emb_st_close(m->st);
	free(m);
}

size_t te_emb_dim(const te_emb *m) { return m->hidden; }
size_t te_emb_vocab(const te_emb *m) { return m->vocab; }
size_t te_emb_max_tokens(const te_emb *m) { return m->max_tokens; }
int te_emb_is_static(const te_emb *m) { return m->arch == EMB_STATIC; }
const char *te_emb_arch(const te_emb *m) { return m->arch_name; }
int32_t te_emb_sep_id(const te_emb *m) { return m->sep_id; }

int
te_emb_fit(const te_emb *m, int32_t *ids, size_t *n, size_t max_tokens, int truncate,
           te_diag *d)
{
	size_t len = *n, limit = m->max_tokens;

	if (m->drop_id >= 0) {
		size_t w = 0;

		for (size_t k = 0; k < len; k++)
			if (ids[k] != m->drop_id)
				ids[w++] = ids[k];
		len = w;
	}
	if (m->keep_tokens && len > m->keep_tokens)
		len = m->keep_tokens;
	*n = len;
	for (size_t k = 0; k < len; k++)
		if (ids[k] < 0 || (size_t)ids[k] >= m->vocab)
			return te_diag_set(d, NULL, 0, "token id %d (token %zu) is outside the "
			                   "vocabulary of %zu", ids[k], k + 1, m->vocab);
	if (max_tokens && (!limit || max_tokens < limit))
		limit = max_tokens;
	if (limit && len > limit) {
		if (!truncate)
			return te_diag_set(d, NULL, 0, "%zu tokens, more than the %zu the model "
			                   "takes (--truncate cuts them)", len, limit);
		if (ids[len - 1] == m->sep_id && limit > 1)
			ids[limit - 1] = ids[len - 1];
		*n = limit;
	}
	return 0;
}

void
te_emb_set_threads(te_emb *m, int n)
{
	m->threads = ut_threads(n);
}

/* The tokenizer.json of a model directory, read through the tokenizer (its
 * compiled cache keeps this cheap), or NULL when there is none or it does
 * not load: the ids taken from it are then unknown (-1), as the model's
 * own files do not need them. */
static te_tok *
model_tok(const char *dir)
{
	char *p = te_model_file(dir, "tokenizer.json");
	te_diag d = {0};
	te_tok *t = p ? te_tok_load(p, &d) : NULL;

	free(p);
	return t;
}

/* The id of the first of names that is an added token, or -1. */
static int32_t
added_id(const te_tok *t, const char *const *names)
{
	for (size_t k = 0; t && names[k]; k++) {
		int32_t id = te_tok_added_id(t, names[k], strlen(names[k]));

		if (id >= 0)
			return id;
	}
	return -1;
}

/* Static table: Model2Vec (embeddings [+ mapping, weights]) or the input
 * embedding matrix of any checkpoint. */
static int
load_static(te_emb *m, const char *wpath, te_diag *d)
{
	const emb_st_tensor *t = emb_st_find(m->st, "embeddings");
	static const char *const cands[] = {
		"embeddings.word_embeddings.weight", "bert.embeddings.word_embeddings.weight",
		"mpnet.embeddings.word_embeddings.weight",
		"deberta.embeddings.word_embeddings.weight",
		"roberta.embeddings.word_embeddings.weight", "model.embed_tokens.weight",
		"embed_tokens.weight", "transformer.wte.weight", "wte.weight",
		"tok_embeddings.weight", "shared.weight", "encoder.embed_tokens.weight",
		"gpt_neox.embed_in.weight", "transformer.word_embeddings.weight",
		"word_embeddings.weight", NULL,
	};

	m->arch = EMB_STATIC;
	m->arch_name = "static";
	if (t) {
		const emb_st_tensor *map = emb_st_find(m->st, "mapping"), *w = emb_st_find(m->st, "weights");

		m->arch_name = "model2vec";
		if (t->ndim != 2 || t->shape[0] == 0 || t->shape[1] == 0)
			return te_diag_set(d, t->file, 0, "tensor 'embeddings' must be 2-D, "
			                   "[tokens, dim]");
		m->stat_rows = emb_st_f32_any(m->st, t, d);
		if (!m->stat_rows)
			return -1;
		m->stat_nrows = (size_t)t->shape[0];
		m->hidden = (size_t)t->shape[1];
		m->vocab = m->stat_nrows;
		if (map) {
			if (map->dtype != EMB_ST_I32 || map->ndim != 1)
				return te_diag_set(d, map->file, 0, "tensor 'mapping' must be 1-D "
				                   "I32, found %s", emb_st_dtype_name(map->dtype));
			m->vocab = (size_t)map->shape[0];
			m->stat_map = (const int32_t *)map->data;
			if ((uintptr_t)map->data & 3)
				return te_diag_set(d, map->file, 0, "tensor 'mapping' is misaligned");
			for (size_t i = 0; i < m->vocab; i++)
				if (m->stat_map[i] < 0 || (size_t)m->stat_map[i] >= m->stat_nrows)
					return te_diag_set(d, map->file, 0, "mapping[%zu] = %d is not a "
					                   "row of 'embeddings' (%zu rows)", i,
					                   m->stat_map[i], m->stat_nrows);
		}
		if (w) {
			const float *wf;

			if (w->ndim != 1 || w->shape[0] != m->vocab)
				return te_diag_set(d, w->file, 0, "tensor 'weights' must have one "
				                   "entry per token (%zu)", m->vocab);
			if (w->dtype == EMB_ST_F64) {
				/* kept in float: the product is rounded to float anyway */
				m->stat_weight = malloc(m->vocab * sizeof(float));
				if (!m->stat_weight)
					return te_diag_set(d, w->file, 0, "out of memory");
				for (size_t i = 0; i < m->vocab; i++) {
					double x;

					memcpy(&x, w->data + 8 * i, 8);
					m->stat_weight[i] = (float)x;
				}
			} else {
				wf = emb_st_f32_any(m->st, w, d);
				if (!wf)
					return -1;
				m->stat_weight = malloc(m->vocab * sizeof(float));
				if (!m->stat_weight)
					return te_diag_set(d, w->file, 0, "out of memory");
				memcpy(m->stat_weight, wf, m->vocab * sizeof(float));
			}
		} else if (map) {
			return te_diag_set(d, map->file, 0, "a 'mapping' tensor without its "
			                   "'weights'");
		}
		return 0;
	}
	for (size_t i = 0; cands[i]; i++)
		if ((t = emb_st_find(m->st, cands[i])))
			break;
	if (!t)
		for (size_t i = 0; i < emb_st_count(m->st) && !t; i++) {
			const char *n = emb_st_at(m->st, i)->name;
			size_t l = strlen(n);

			if ((l >= 22 && strcmp(n + l - 22, "word_embeddings.weight") == 0) ||
			    (l >= 19 && strcmp(n + l - 19, "embed_tokens.weight") == 0))
				t = emb_st_at(m->st, i);
		}
	if (!t)
		return te_diag_set(d, wpath, 0, "no input embedding matrix found (looked for "
		                   "'embeddings', '*word_embeddings.weight', "
		                   "'*embed_tokens.weight', 'wte.weight')");
	if (t->ndim != 2 || t->shape[0] == 0 || t->shape[1] == 0)
		return te_diag_set(d, t->file, 0, "tensor '%s' must be 2-D", t->name);
	m->stat_rows = emb_st_f32_any(m->st, t, d);
	if (!m->stat_rows)
		return -1;
	m->stat_nrows = m->vocab = (size_t)t->shape[0];
	m->hidden = (size_t)t->shape[1];
	return 0;
}

static const char *const known_prefixes[] = {
	"", "bert.", "mpnet.", "deberta.", "roberta.", "model.", NULL,
};

/* The shape and the numeric settings every encoder's config.json gives. */
static int
config_common(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	long long hidden = 0, heads = 0, layers = 0, ffn = 0, vocab = 0, maxpos = 0,
	          types = 0, pad = 0;
	const cJSON *epsj = cJSON_GetObjectItemCaseSensitive(cfg, "layer_norm_eps");
	const char *act = cfg_str(cfg, "hidden_act");

	if (cfg_int(cfg, cfgpath, "hidden_size", 1, 1 << 16, 1, &hidden, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_attention_heads", 1, 1 << 10, 1, &heads, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_hidden_layers", 1, 1 << 10, 1, &layers, d) < 0 ||
	    cfg_int(cfg, cfgpath, "intermediate_size", 1, 1 << 18, 1, &ffn, d) < 0 ||
	    cfg_int(cfg, cfgpath, "vocab_size", 1, 1 << 26, 1, &vocab, d) < 0 ||
	    cfg_int(cfg, cfgpath, "max_position_embeddings", 0, 1 << 20, 0, &maxpos, d) < 0 ||
	    cfg_int(cfg, cfgpath, "type_vocab_size", 0, 1 << 16, 0, &types, d) < 0 ||
	    cfg_int(cfg, cfgpath, "pad_token_id", 0, 1 << 26, 0, &pad, d) < 0)
		return -1;
	if (hidden % heads)
		return te_diag_set(d, cfgpath, 0, "hidden_size %lld is not a multiple of "
		                   "num_attention_heads %lld", hidden, heads);
	m->hidden = (size_t)hidden;
	m->heads = (size_t)heads;
	m->head_dim = m->hidden / m->heads;
	m->layers = (size_t)layers;
	m->ffn = (size_t)ffn;
	m->vocab = (size_t)vocab;
	m->max_pos = (size_t)maxpos;
	m->type_vocab = (size_t)types;
	m->pad_id = (int32_t)pad;
	m->eps = 1e-12;
	if (epsj) {
		if (!cJSON_IsNumber(epsj) || !(epsj->valuedouble > 0) || epsj->valuedouble > 1)
			return te_diag_set(d, cfgpath, 0, "\"layer_norm_eps\" must be a small "
			                   "positive number");
		m->eps = epsj->valuedouble;
	}
	if (act && (strcmp(act, "gelu_new") == 0 || strcmp(act, "gelu_pytorch_tanh") == 0 ||
	            strcmp(act, "gelu_fast") == 0))
		m->gelu_tanh = 1;
	else if (act && strcmp(act, "gelu") != 0)
		return te_diag_set(d, cfgpath, 0, "unsupported hidden_act '%s' (gelu, "
		                   "gelu_new supported)", act);
	return 0;
}

/* BERT and RoBERTa: absolute positions; MPNet: relative buckets too. */
static int
config_absolute(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	const char *pet = cfg_str(cfg, "position_embedding_type");
	long long buckets = 32;

	if (m->arch == EMB_BERT || m->arch == EMB_ROBERTA) {
		if (pet && strcmp(pet, "absolute") != 0)
			return te_diag_set(d, cfgpath, 0, "unsupported position_embedding_type "
			                   "'%s' (only absolute)", pet);
		if (m->max_pos == 0)
			return te_diag_set(d, cfgpath, 0, "missing \"max_position_embeddings\"");
		if (m->type_vocab == 0 &&
		    !cJSON_GetObjectItemCaseSensitive(cfg, "type_vocab_size"))
			m->type_vocab = 2;
	}
	if (m->arch == EMB_MPNET) {
		if (cfg_int(cfg, cfgpath, "relative_attention_num_buckets", 1, 1 << 10, 0,
		            &buckets, d) < 0)
			return -1;
		m->rel_buckets = (size_t)buckets;
		m->type_vocab = 0;
		if (!cJSON_GetObjectItemCaseSensitive(cfg, "pad_token_id"))
			m->pad_id = 1;
	}
	return 0;
}

/* DeBERTa-v2's pos_att_type: "c2p|p2c" or ["c2p", "p2c"]. */
static int
deberta_att_types(te_emb *m, const cJSON *pat, const char *cfgpath, te_diag *d)
{
	if (cJSON_IsString(pat)) {
		char buf[128], *tok, *save;

		snprintf(buf, sizeof buf, "%s", pat->valuestring);
		for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
			if (strcmp(tok, "c2p") == 0)
				m->c2p = 1;
			else if (strcmp(tok, "p2c") == 0)
				m->p2c = 1;
			else
				return te_diag_set(d, cfgpath, 0, "unsupported pos_att_type '%s'",
				                   tok);
		}
	} else if (cJSON_IsArray(pat)) {
		const cJSON *e;

		cJSON_ArrayForEach(e, pat) {
			if (cJSON_IsString(e) && strcmp(e->valuestring, "c2p") == 0)
				m->c2p = 1;
			else if (cJSON_IsString(e) && strcmp(e->valuestring, "p2c") == 0)
				m->p2c = 1;
			else
				return te_diag_set(d, cfgpath, 0, "unsupported pos_att_type entry");
		}
	}
	return 0;
}

/* DeBERTa-v2: relative attention with shared keys, what is refused and why. */
static int
config_deberta(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	const cJSON *rel = cJSON_GetObjectItemCaseSensitive(cfg, "relative_attention");
	const cJSON *pbi = cJSON_GetObjectItemCaseSensitive(cfg, "position_biased_input");
	const cJSON *sak = cJSON_GetObjectItemCaseSensitive(cfg, "share_att_key");
	long long conv = 0, hidden = (long long)m->hidden, esz = hidden, pbuckets = -1,
	          maxrel = -1;
	const char *nre = cfg_str(cfg, "norm_rel_ebd");

	if (cfg_int(cfg, cfgpath, "position_buckets", -1, 1 << 16, 0, &pbuckets, d) < 0 ||
	    cfg_int(cfg, cfgpath, "max_relative_positions", -1, 1 << 20, 0, &maxrel,
	            d) < 0 ||
	    cfg_int(cfg, cfgpath, "conv_kernel_size", 0, 1 << 10, 0, &conv, d) < 0 ||
	    cfg_int(cfg, cfgpath, "embedding_size", 1, 1 << 16, 0, &esz, d) < 0)
		return -1;
	if (conv)
		return te_diag_set(d, cfgpath, 0, "unsupported: DeBERTa-v2 convolution "
		                   "layer (conv_kernel_size %lld)", conv);
	if (esz != hidden)
		return te_diag_set(d, cfgpath, 0, "unsupported: embedding_size %lld != "
		                   "hidden_size %lld", esz, hidden);
	if (!cJSON_IsTrue(rel))
		return te_diag_set(d, cfgpath, 0, "unsupported: DeBERTa without "
		                   "relative_attention");
	if (sak && !cJSON_IsTrue(sak))
		return te_diag_set(d, cfgpath, 0, "unsupported: share_att_key false "
		                   "(separate positional projections)");
	if (!sak)
		return te_diag_set(d, cfgpath, 0, "unsupported: DeBERTa-v2 without "
		                   "share_att_key");
	if (!nre || strcmp(nre, "layer_norm") != 0)
		return te_diag_set(d, cfgpath, 0, "unsupported: norm_rel_ebd '%s' (only "
		                   "layer_norm)", nre ? nre : "none");
	if (deberta_att_types(m, cJSON_GetObjectItemCaseSensitive(cfg, "pos_att_type"),
	                      cfgpath, d) < 0)
		return -1;
	m->pos_biased_input = pbi ? cJSON_IsTrue(pbi) : 1;
	if (maxrel < 1)
		maxrel = (long long)m->max_pos;
	if (maxrel < 1)
		return te_diag_set(d, cfgpath, 0, "missing \"max_position_embeddings\"");
	m->max_rel_pos = (size_t)maxrel;
	m->log_buckets = pbuckets > 0;
	m->span = pbuckets > 0 ? (size_t)pbuckets : (size_t)maxrel;
	return 0;
}

/* The embedding tables, and the relative-position tables of MPNet and
 * DeBERTa (whose LayerNorm'd rows are computed once here). */
static int
load_embeddings(loader *L)
{
	te_emb *m = L->m;
	char name[256];

	/* which prefix do the tensor names carry? */
	for (size_t i = 0; known_prefixes[i]; i++) {
		snprintf(name, sizeof name, "%sembeddings.word_embeddings.weight",
		         known_prefixes[i]);
		if (emb_st_find(m->st, name)) {
			L->prefix = known_prefixes[i];
			break;
		}
	}
	m->word = W(L, "embeddings.word_embeddings.weight", m->vocab, m->hidden);
	W_ln(L, "embeddings.LayerNorm", m->hidden, &m->emb_ln_g, &m->emb_ln_b);
	if (m->arch == EMB_BERT || m->arch == EMB_ROBERTA || m->arch == EMB_MPNET ||
	    (m->arch == EMB_DEBERTA && m->pos_biased_input))
		m->pos = W(L, "embeddings.position_embeddings.weight", m->max_pos, m->hidden);
	if (m->type_vocab && m->arch != EMB_MPNET)
		m->type = W(L, "embeddings.token_type_embeddings.weight", m->type_vocab,
		            m->hidden);
	if (m->arch == EMB_MPNET)
		m->rel_bias = W(L, "encoder.relative_attention_bias.weight", m->rel_buckets,
		                m->heads);
	if (m->arch == EMB_DEBERTA) {
		const float *g, *b;

		m->rel_emb = W(L, "encoder.rel_embeddings.weight", 2 * m->span, m->hidden);
		W_ln(L, "encoder.LayerNorm", m->hidden, &g, &b);
		if (!L->err) {
			m->rel_ln = malloc(2 * m->span * m->hidden * sizeof(float));
			if (!m->rel_ln)
				return te_diag_set(L->d, NULL, 0, "out of memory");
			memcpy(m->rel_ln, m->rel_emb, 2 * m->span * m->hidden * sizeof(float));
			emb_layernorm(m->rel_ln, 2 * m->span, m->hidden, g, b, m->eps);
		}
	}
	return L->err ? -1 : 0;
}

/* Layer i's weights, under the names of the architecture. */
static int
load_layer(loader *L, size_t i)
{
	te_emb *m = L->m;
	emb_layer *l = &m->layer[i];
	char name[256], b[128];
	size_t H = m->hidden;

#define LIN(suffix, out, in, w, bb, k) \
	(snprintf(name, sizeof name, "encoder.layer.%zu.%s", i, suffix), \
	 W_lin_half(L, name, out, in, w, bb, &l->half[k]))
	if (m->arch == EMB_MPNET) {
		LIN("attention.attn.q", H, H, &l->wq, &l->bq, 0);
		LIN("attention.attn.k", H, H, &l->wk, &l->bk, 1);
		LIN("attention.attn.v", H, H, &l->wv, &l->bv, 2);
		LIN("attention.attn.o", H, H, &l->wo, &l->bo, 3);
		snprintf(b, sizeof b, "encoder.layer.%zu.attention.LayerNorm", i);
	} else if (m->arch == EMB_DEBERTA) {
		LIN("attention.self.query_proj", H, H, &l->wq, &l->bq, 0);
		LIN("attention.self.key_proj", H, H, &l->wk, &l->bk, 1);
		LIN("attention.self.value_proj", H, H, &l->wv, &l->bv, 2);
		LIN("attention.output.dense", H, H, &l->wo, &l->bo, 3);
		snprintf(b, sizeof b, "encoder.layer.%zu.attention.output.LayerNorm", i);
	} else {
		LIN("attention.self.query", H, H, &l->wq, &l->bq, 0);
		LIN("attention.self.key", H, H, &l->wk, &l->bk, 1);
		LIN("attention.self.value", H, H, &l->wv, &l->bv, 2);
		LIN("attention.output.dense", H, H, &l->wo, &l->bo, 3);
		snprintf(b, sizeof b, "encoder.layer.%zu.attention.output.LayerNorm", i);
	}
	W_ln(L, b, H, &l->ln1_g, &l->ln1_b);
	LIN("intermediate.dense", m->ffn, H, &l->wi, &l->bi, 4);
	LIN("output.dense", H, m->ffn, &l->wo2, &l->bo2, 5);
#undef LIN
	snprintf(b, sizeof b, "encoder.layer.%zu.output.LayerNorm", i);
	W_ln(L, b, H, &l->ln2_g, &l->ln2_b);
	if (L->err)
		return -1;
	/* Q, K and V in one product (N = 3H): the biases here, the weights
	 * stacked or packed at the first forward pass */
	l->bqkv = malloc(3 * H * sizeof(float));
	if (!l->bqkv)
		return te_diag_set(L->d, NULL, 0, "out of memory");
	memcpy(l->bqkv, l->bq, H * sizeof(float));
	memcpy(l->bqkv + H, l->bk, H * sizeof(float));
	memcpy(l->bqkv + 2 * H, l->bv, H * sizeof(float));
	if (m->arch == EMB_DEBERTA) {
		size_t R = 2 * m->span;

		l->qr = malloc(R * H * sizeof(float));
		l->kr = malloc(R * H * sizeof(float));
		if (!l->qr || !l->kr || emb_widen(m, l, 2, L->d))
			return te_diag_set(L->d, NULL, 0, "out of memory");
		emb_linear(m->rel_ln, R, H, l->wq, l->bq, H, l->qr);
		emb_linear(m->rel_ln, R, H, l->wk, l->bk, H, l->kr);
	}
	return 0;
}

/* The pooler when there is one; config and weights agree on the depth; the
 * longest input follows from the position table. */
static int
finish_encoder(loader *L)
{
	te_emb *m = L->m;
	char name[256];

	snprintf(name, sizeof name, "%spooler.dense.weight", L->prefix);
	if (emb_st_find(m->st, name))
		W_lin(L, "pooler.dense", m->hidden, m->hidden, &m->pool_w, &m->pool_b);
	if (L->err)
		return -1;
	/* a layer beyond num_hidden_layers means config and weights disagree */
	snprintf(name, sizeof name, "%sencoder.layer.%zu.output.dense.weight", L->prefix,
	         m->layers);
	if (emb_st_find(m->st, name))
		return te_diag_set(L->d, L->cfgpath, 0, "num_hidden_layers is %zu but the "
		                   "weights have more layers", m->layers);
	switch (m->arch) {
	case EMB_BERT:
		m->max_tokens = m->max_pos;
		break;
	case EMB_ROBERTA:
	case EMB_MPNET:
		if (m->max_pos < (size_t)m->pad_id + 2)
			return te_diag_set(L->d, L->cfgpath, 0, "max_position_embeddings %zu is "
			                   "too small for pad_token_id %d", m->max_pos, m->pad_id);
		m->max_tokens = m->max_pos - (size_t)m->pad_id - 1;
		break;
	case EMB_DEBERTA:
		m->max_tokens = m->max_pos ? m->max_pos : m->max_rel_pos;
		break;
	default:
		break;
	}
	return 0;
}

static int
load_encoder(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	loader L = {m, "", cfgpath, d, 0};

	if (config_common(m, cfg, cfgpath, d) < 0 ||
	    config_absolute(m, cfg, cfgpath, d) < 0 ||
	    (m->arch == EMB_DEBERTA && config_deberta(m, cfg, cfgpath, d) < 0))
		return -1;
	if (load_embeddings(&L) < 0)
		return -1;
	m->layer = calloc(m->layers, sizeof *m->layer);
	if (!m->layer)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < m->layers; i++)
		if (load_layer(&L, i) < 0)
			return -1;
	return finish_encoder(&L);
}

/* ------------------------------------------------------------ decoders */

/* A number config key (a float such as rms_norm_eps or rope_theta) in
 * (0, hi]; *out keeps def when absent. */
static int
cfg_pos(const cJSON *cfg, const char *path, const char *key, double hi, double *out,
        te_diag *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > hi)
		return te_diag_set(d, path, 0, "\"%s\" must be a positive number", key);
	*out = v->valuedouble;
	return 0;
}

/* The RoPE base of one layer type in rope_parameters, as transformers now
 * writes it: {"full_attention": {"rope_type": "default", "rope_theta": B},
 * "sliding_attention": {...}}, or one such object for every layer (type
 * NULL).  *theta keeps what the older keys gave where there is none; scaled
 * RoPE is refused. */
static int
cfg_rope(const cJSON *cfg, const char *path, const char *type, double *theta, te_diag *d)
{
	const cJSON *rp = cJSON_GetObjectItemCaseSensitive(cfg, "rope_parameters"), *o, *rt;

	if (!rp || cJSON_IsNull(rp))
		return 0;
	o = type ? cJSON_GetObjectItemCaseSensitive(rp, type) : NULL;
	if (!o)
		o = rp;
	if (!cJSON_IsObject(o))
		return te_diag_set(d, path, 0, "\"rope_parameters\" must be an object");
	rt = cJSON_GetObjectItemCaseSensitive(o, "rope_type");
	if (rt && !(cJSON_IsString(rt) && strcmp(rt->valuestring, "default") == 0))
		return te_diag_set(d, path, 0, "unsupported: rope_parameters rope_type '%.40s' "
		                   "(default supported)",
		                   cJSON_IsString(rt) ? rt->valuestring : "?");
	return cfg_pos(o, path, "rope_theta", 1e12, theta, d);
}

/* The local layers and their window w each side: layer_types where the
 * config lists them ("full_attention", "sliding_attention"), else, as the
 * configs fill them in, layer i is global when (i + off) % every == 0
 * (ModernBERT's global_attn_every_n_layers: off 0; Gemma 3's
 * sliding_window_pattern: off 1).  Allocates m->layer. */
static int
cfg_layer_types(te_emb *m, const cJSON *cfg, const char *cfgpath, size_t w, size_t every,
                size_t off, te_diag *d)
{
	const cJSON *lt = cJSON_GetObjectItemCaseSensitive(cfg, "layer_types");

	if (lt && cJSON_IsNull(lt))
		lt = NULL;
	if (lt && (!cJSON_IsArray(lt) || (size_t)cJSON_GetArraySize(lt) != m->layers))
		return te_diag_set(d, cfgpath, 0, "\"layer_types\" must list a type for each "
		                   "of the %zu layers", m->layers);
	m->layer = calloc(m->layers, sizeof *m->layer);
	if (!m->layer)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < m->layers; i++) {
		const cJSON *e = lt ? cJSON_GetArrayItem(lt, (int)i) : NULL;
		const char *t = e ? (cJSON_IsString(e) ? e->valuestring : "?")
		                  : ((i + off) % every ? "sliding_attention" : "full_attention");

		if (strcmp(t, "sliding_attention") == 0)
			m->layer[i].window = w;
		else if (strcmp(t, "full_attention") != 0)
			return te_diag_set(d, cfgpath, 0, "unsupported layer type '%.40s' "
			                   "(full_attention, sliding_attention)", t);
	}
	return 0;
}

/* Qwen3's config.json: the shape, grouped K/V heads, an explicit head_dim,
 * and what this forward pass does not do, refused by name. */
static int
config_qwen3(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	long long hidden = 0, heads = 0, layers = 0, ffn = 0, vocab = 0, kv = -1, hd = -1,
	          maxpos = 32768, eos = -1;
	const char *act = cfg_str(cfg, "hidden_act");
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(cfg, "rope_scaling");

	if (cfg_int(cfg, cfgpath, "hidden_size", 1, 1 << 16, 1, &hidden, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_attention_heads", 1, 1 << 10, 1, &heads, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_hidden_layers", 1, 1 << 10, 1, &layers, d) < 0 ||
	    cfg_int(cfg, cfgpath, "intermediate_size", 1, 1 << 18, 1, &ffn, d) < 0 ||
	    cfg_int(cfg, cfgpath, "vocab_size", 1, 1 << 26, 1, &vocab, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_key_value_heads", 1, 1 << 10, 0, &kv, d) < 0 ||
	    cfg_int(cfg, cfgpath, "head_dim", 2, 1 << 12, 0, &hd, d) < 0 ||
	    cfg_int(cfg, cfgpath, "max_position_embeddings", 1, 1 << 24, 0, &maxpos, d) < 0 ||
	    cfg_int(cfg, cfgpath, "eos_token_id", 0, 1 << 26, 0, &eos, d) < 0)
		return -1;
	m->eps = 1e-6;
	m->rope_theta = 10000;
	if (cfg_pos(cfg, cfgpath, "rms_norm_eps", 1, &m->eps, d) < 0 ||
	    cfg_pos(cfg, cfgpath, "rope_theta", 1e12, &m->rope_theta, d) < 0 ||
	    cfg_rope(cfg, cfgpath, NULL, &m->rope_theta, d) < 0)
		return -1;
	if (kv < 0)
		kv = heads;
	if (hd < 0)
		hd = hidden / heads;
	if (heads % kv)
		return te_diag_set(d, cfgpath, 0, "num_attention_heads %lld is not a multiple "
		                   "of num_key_value_heads %lld", heads, kv);
	if (hd % 2)
		return te_diag_set(d, cfgpath, 0, "head_dim %lld is odd (RoPE rotates pairs)",
		                   hd);
	if (act && strcmp(act, "silu") != 0)
		return te_diag_set(d, cfgpath, 0, "unsupported hidden_act '%s' (silu "
		                   "supported)", act);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "attention_bias")))
		return te_diag_set(d, cfgpath, 0, "unsupported: attention_bias true");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "use_sliding_window")))
		return te_diag_set(d, cfgpath, 0, "unsupported: use_sliding_window true");
	if (rs && !cJSON_IsNull(rs))
		return te_diag_set(d, cfgpath, 0, "unsupported: rope_scaling");
	m->hidden = (size_t)hidden;
	m->heads = (size_t)heads;
	m->kv_heads = (size_t)kv;
	m->head_dim = (size_t)hd;
	m->rope_dim = (size_t)hd;
	m->causal = 1;
	m->layers = (size_t)layers;
	m->ffn = (size_t)ffn;
	m->vocab = (size_t)vocab;
	m->max_tokens = (size_t)maxpos;
	m->sep_id = (int32_t)eos;   /* the closing token, kept last when cutting */
	return 0;
}

/* Qwen3 tensors, as Qwen3Model saves them (or under "model." as the
 * causal-LM checkpoints do). */
static int
load_qwen3(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	loader L = {m, "", cfgpath, d, 0};
	size_t H, F, QD, KD;
	char name[256];

	if (config_qwen3(m, cfg, cfgpath, d) < 0)
		return -1;
	H = m->hidden;
	F = m->ffn;
	QD = m->heads * m->head_dim;
	KD = m->kv_heads * m->head_dim;
	if (emb_st_find(m->st, "model.embed_tokens.weight"))
		L.prefix = "model.";
	m->word = W(&L, "embed_tokens.weight", m->vocab, H);
	m->norm_g = W(&L, "norm.weight", H, 0);
	m->layer = calloc(m->layers, sizeof *m->layer);
	if (!m->layer)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < m->layers && !L.err; i++) {
		emb_layer *l = &m->layer[i];

#define T(suffix, a, b) (snprintf(name, sizeof name, "layers.%zu.%s", i, suffix), \
	W(&L, name, a, b))
		l->ln1_g = T("input_layernorm.weight", H, 0);
		l->ln2_g = T("post_attention_layernorm.weight", H, 0);
		l->wq = T("self_attn.q_proj.weight", QD, H);
		l->wk = T("self_attn.k_proj.weight", KD, H);
		l->wv = T("self_attn.v_proj.weight", KD, H);
		l->wo = T("self_attn.o_proj.weight", H, QD);
		l->qn = T("self_attn.q_norm.weight", m->head_dim, 0);
		l->kn = T("self_attn.k_norm.weight", m->head_dim, 0);
		l->wi = T("mlp.gate_proj.weight", F, H);
		l->wu = T("mlp.up_proj.weight", F, H);
		l->wo2 = T("mlp.down_proj.weight", H, F);
#undef T
	}
	if (L.err)
		return -1;
	snprintf(name, sizeof name, "%slayers.%zu.mlp.down_proj.weight", L.prefix, m->layers);
	if (emb_st_find(m->st, name))
		return te_diag_set(d, cfgpath, 0, "num_hidden_layers is %zu but the weights "
		                   "have more layers", m->layers);
	return 0;
}

/* A boolean config key that must be false (or absent) for this forward pass. */
static int
cfg_refuse_true(const cJSON *cfg, const char *path, const char *key, te_diag *d)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, key)))
		return te_diag_set(d, path, 0, "unsupported: %s true", key);
	return 0;
}

/* NomicBERT's config.json (GPT-2 key names): the shape, the rotary
 * settings, and what modeling_hf_nomic_bert.py can do that this forward
 * pass does not, refused by name. */
static int
config_nomic(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	static const char *const no[] = {"qkv_proj_bias", "mlp_fc1_bias", "mlp_fc2_bias",
		"prenorm", "causal", "rotary_emb_interleaved", "use_rms_norm", "parallel_block",
		NULL};
	long long hidden = 0, heads = 0, layers = 0, ffn = -1, vocab = 0, types = 2,
	          maxpos = 0, mult = 1;
	double frac = 1;
	const char *act = cfg_str(cfg, "activation_function");
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(cfg, "rotary_scaling_factor");

	if (cfg_int(cfg, cfgpath, "n_embd", 1, 1 << 16, 1, &hidden, d) < 0 ||
	    cfg_int(cfg, cfgpath, "n_head", 1, 1 << 10, 1, &heads, d) < 0 ||
	    cfg_int(cfg, cfgpath, "n_layer", 1, 1 << 10, 1, &layers, d) < 0 ||
	    cfg_int(cfg, cfgpath, "n_inner", 1, 1 << 18, 0, &ffn, d) < 0 ||
	    cfg_int(cfg, cfgpath, "vocab_size", 1, 1 << 26, 1, &vocab, d) < 0 ||
	    cfg_int(cfg, cfgpath, "type_vocab_size", 0, 1 << 10, 0, &types, d) < 0 ||
	    cfg_int(cfg, cfgpath, "n_positions", 0, 1 << 24, 0, &maxpos, d) < 0 ||
	    cfg_int(cfg, cfgpath, "pad_vocab_size_multiple", 1, 1 << 16, 0, &mult, d) < 0)
		return -1;
	m->eps = 1e-5;
	m->rope_theta = 10000;
	if (cfg_pos(cfg, cfgpath, "layer_norm_epsilon", 1, &m->eps, d) < 0 ||
	    cfg_pos(cfg, cfgpath, "rotary_emb_base", 1e12, &m->rope_theta, d) < 0 ||
	    cfg_pos(cfg, cfgpath, "rotary_emb_fraction", 1, &frac, d) < 0)
		return -1;
	for (size_t i = 0; no[i]; i++)
		if (cfg_refuse_true(cfg, cfgpath, no[i], d) < 0)
			return -1;
	if (!act || strcmp(act, "swiglu") != 0)
		return te_diag_set(d, cfgpath, 0, "unsupported activation_function '%s' "
		                   "(swiglu supported)", act ? act : "gelu");
	if (rs && !cJSON_IsNull(rs))
		return te_diag_set(d, cfgpath, 0, "unsupported: rotary_scaling_factor");
	if (hidden % heads)
		return te_diag_set(d, cfgpath, 0, "n_embd %lld is not a multiple of n_head "
		                   "%lld", hidden, heads);
	/* as NomicBertModel and its gated MLP size them */
	vocab = (vocab + mult - 1) / mult * mult;
	if (ffn < 0)
		ffn = 8 * hidden / 3;
	ffn = (ffn + 255) / 256 * 256;
	m->hidden = (size_t)hidden;
	m->heads = m->kv_heads = (size_t)heads;
	m->head_dim = (size_t)(hidden / heads);
	m->rope_dim = (size_t)((double)m->head_dim * frac) / 2 * 2;
	m->post_ln = 1;
	m->layers = (size_t)layers;
	m->ffn = (size_t)ffn;
	m->vocab = (size_t)vocab;
	m->type_vocab = (size_t)types;
	m->max_tokens = (size_t)maxpos;
	return 0;
}

/* NomicBERT tensors, as nomic-embed-text's checkpoints name them. */
static int
load_nomic(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	loader L = {m, "", cfgpath, d, 0};
	size_t H, F;
	char name[256];

	if (config_nomic(m, cfg, cfgpath, d) < 0)
		return -1;
	H = m->hidden;
	F = m->ffn;
	m->word = W(&L, "embeddings.word_embeddings.weight", m->vocab, H);
	if (m->type_vocab)
		m->type = W(&L, "embeddings.token_type_embeddings.weight", m->type_vocab, H);
	W_ln(&L, "emb_ln", H, &m->emb_ln_g, &m->emb_ln_b);
	m->layer = calloc(m->layers, sizeof *m->layer);
	if (!m->layer)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < m->layers && !L.err; i++) {
		emb_layer *l = &m->layer[i];
		const float *qkv;

#define T(suffix, a, b) (snprintf(name, sizeof name, "encoder.layers.%zu.%s", i, suffix), \
	W(&L, name, a, b))
		/* Wqkv is (three h d): the q rows, then k, then v */
		qkv = T("attn.Wqkv.weight", 3 * H, H);
		l->wq = qkv;
		l->wk = qkv ? qkv + H * H : NULL;
		l->wv = qkv ? qkv + 2 * H * H : NULL;
		l->wo = T("attn.out_proj.weight", H, H);
		l->wu = T("mlp.fc11.weight", F, H);
		l->wi = T("mlp.fc12.weight", F, H);
		l->wo2 = T("mlp.fc2.weight", H, F);
#undef T
		snprintf(name, sizeof name, "encoder.layers.%zu.norm1", i);
		W_ln(&L, name, H, &l->ln1_g, &l->ln1_b);
		snprintf(name, sizeof name, "encoder.layers.%zu.norm2", i);
		W_ln(&L, name, H, &l->ln2_g, &l->ln2_b);
	}
	if (L.err)
		return -1;
	snprintf(name, sizeof name, "encoder.layers.%zu.attn.Wqkv.weight", m->layers);
	if (emb_st_find(m->st, name))
		return te_diag_set(d, cfgpath, 0, "n_layer is %zu but the weights have more "
		                   "layers", m->layers);
	return 0;
}

/* ModernBERT's config.json: the shape, the alternating attention and its
 * two RoPE bases, and what modeling_modernbert.py can do that this forward
 * pass does not, refused by name. */
static int
config_modern(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	static const char *const no[] = {"attention_bias", "mlp_bias", NULL};
	long long hidden = 0, heads = 0, layers = 0, ffn = 0, vocab = 0, maxpos = 8192,
	          every = 3, local = 128;
	const char *act = cfg_str(cfg, "hidden_activation");
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(cfg, "rope_scaling");

	if (cfg_int(cfg, cfgpath, "hidden_size", 1, 1 << 16, 1, &hidden, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_attention_heads", 1, 1 << 10, 1, &heads, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_hidden_layers", 1, 1 << 10, 1, &layers, d) < 0 ||
	    cfg_int(cfg, cfgpath, "intermediate_size", 1, 1 << 18, 1, &ffn, d) < 0 ||
	    cfg_int(cfg, cfgpath, "vocab_size", 1, 1 << 26, 1, &vocab, d) < 0 ||
	    cfg_int(cfg, cfgpath, "max_position_embeddings", 1, 1 << 24, 0, &maxpos, d) < 0 ||
	    cfg_int(cfg, cfgpath, "global_attn_every_n_layers", 1, 1 << 10, 0, &every, d) < 0 ||
	    cfg_int(cfg, cfgpath, "local_attention", 0, 1 << 24, 0, &local, d) < 0)
		return -1;
	m->eps = 1e-5;
	m->rope_theta = 160000;
	m->rope_theta_local = 10000;
	if (cfg_pos(cfg, cfgpath, "norm_eps", 1, &m->eps, d) < 0 ||
	    cfg_pos(cfg, cfgpath, "global_rope_theta", 1e12, &m->rope_theta, d) < 0 ||
	    cfg_pos(cfg, cfgpath, "local_rope_theta", 1e12, &m->rope_theta_local, d) < 0 ||
	    cfg_rope(cfg, cfgpath, "full_attention", &m->rope_theta, d) < 0 ||
	    cfg_rope(cfg, cfgpath, "sliding_attention", &m->rope_theta_local, d) < 0)
		return -1;
	for (size_t i = 0; no[i]; i++)
		if (cfg_refuse_true(cfg, cfgpath, no[i], d) < 0)
			return -1;
	if (act && strcmp(act, "gelu") != 0)
		return te_diag_set(d, cfgpath, 0, "unsupported hidden_activation '%s' (gelu "
		                   "supported)", act);
	if (rs && !cJSON_IsNull(rs))
		return te_diag_set(d, cfgpath, 0, "unsupported: rope_scaling");
	if (hidden % heads || (hidden / heads) % 2)
		return te_diag_set(d, cfgpath, 0, "hidden_size %lld over num_attention_heads "
		                   "%lld is not an even head size", hidden, heads);
	m->hidden = (size_t)hidden;
	m->heads = m->kv_heads = (size_t)heads;
	m->head_dim = m->rope_dim = (size_t)(hidden / heads);
	m->pre_ln = m->geglu = 1;
	m->layers = (size_t)layers;
	m->ffn = (size_t)ffn;
	m->vocab = (size_t)vocab;
	m->max_tokens = (size_t)maxpos;
	/* the local layers see local_attention / 2 each side */
	return cfg_layer_types(m, cfg, cfgpath, (size_t)local / 2, (size_t)every, 0, d);
}

/* A LayerNorm's weight, and its bias when the model has them (else zeros). */
static void
W_norm(loader *L, const char *base, int bias, const float **g, const float **b)
{
	char name[256];

	snprintf(name, sizeof name, "%s.weight", base);
	*g = W(L, name, L->m->hidden, 0);
	snprintf(name, sizeof name, "%s.bias", base);
	*b = bias ? W(L, name, L->m->hidden, 0) : L->m->zeros;
}

/* ModernBERT tensors, as ModernBertModel saves them (or under "model." as
 * the masked-LM checkpoints do). */
static int
load_modern(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	loader L = {m, "", cfgpath, d, 0};
	int nb = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "norm_bias"));
	size_t H, F;
	char name[256];

	if (config_modern(m, cfg, cfgpath, d) < 0)
		return -1;
	H = m->hidden;
	F = m->ffn;
	if (!(m->zeros = calloc(H, sizeof *m->zeros)))
		return te_diag_set(d, NULL, 0, "out of memory");
	if (emb_st_find(m->st, "model.embeddings.tok_embeddings.weight"))
		L.prefix = "model.";
	m->word = W(&L, "embeddings.tok_embeddings.weight", m->vocab, H);
	W_norm(&L, "embeddings.norm", nb, &m->emb_ln_g, &m->emb_ln_b);
	W_norm(&L, "final_norm", nb, &m->norm_g, &m->norm_b);
	for (size_t i = 0; i < m->layers && !L.err; i++) {
		emb_layer *l = &m->layer[i];
		const float *qkv, *wi;

#define T(suffix, a, b) (snprintf(name, sizeof name, "layers.%zu.%s", i, suffix), \
	W(&L, name, a, b))
		/* Wqkv is (3, heads, head_dim) rows: q, then k, then v */
		qkv = T("attn.Wqkv.weight", 3 * H, H);
		l->wq = qkv;
		l->wk = qkv ? qkv + H * H : NULL;
		l->wv = qkv ? qkv + 2 * H * H : NULL;
		l->wo = T("attn.Wo.weight", H, H);
		/* Wi is [input; gate]: gelu(input) * gate */
		wi = T("mlp.Wi.weight", 2 * F, H);
		l->wi = wi;
		l->wu = wi ? wi + F * H : NULL;
		l->wo2 = T("mlp.Wo.weight", H, F);
#undef T
		/* layer 0 has no attn_norm (an Identity) */
		if (i > 0) {
			snprintf(name, sizeof name, "layers.%zu.attn_norm", i);
			W_norm(&L, name, nb, &l->ln1_g, &l->ln1_b);
		}
		snprintf(name, sizeof name, "layers.%zu.mlp_norm", i);
		W_norm(&L, name, nb, &l->ln2_g, &l->ln2_b);
	}
	if (L.err)
		return -1;
	snprintf(name, sizeof name, "%slayers.%zu.attn.Wqkv.weight", L.prefix, m->layers);
	if (emb_st_find(m->st, name))
		return te_diag_set(d, cfgpath, 0, "num_hidden_layers is %zu but the weights "
		                   "have more layers", m->layers);
	return 0;
}

/* Gemma 3's config.json (gemma3_text, as EmbeddingGemma's): the shape,
 * grouped K/V heads, the query scale, the two RoPE bases, the local
 * layers, and what modeling_gemma3.py can do that this forward pass does
 * not, refused by name. */
static int
config_gemma3(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	long long hidden = 0, heads = 0, layers = 0, ffn = 0, vocab = 0, kv = -1, hd = 256,
	          maxpos = 131072, sw = 4096, pattern = 6, pad = 0;
	double scalar = 256;
	const char *act = cfg_str(cfg, "hidden_activation");
	const cJSON *cap = cJSON_GetObjectItemCaseSensitive(cfg, "attn_logit_softcapping"),
	            *rs = cJSON_GetObjectItemCaseSensitive(cfg, "rope_scaling"),
	            *eos = cJSON_GetObjectItemCaseSensitive(cfg, "eos_token_id");

	if (cfg_int(cfg, cfgpath, "hidden_size", 1, 1 << 16, 1, &hidden, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_attention_heads", 1, 1 << 10, 1, &heads, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_hidden_layers", 1, 1 << 10, 1, &layers, d) < 0 ||
	    cfg_int(cfg, cfgpath, "intermediate_size", 1, 1 << 18, 1, &ffn, d) < 0 ||
	    cfg_int(cfg, cfgpath, "vocab_size", 1, 1 << 26, 1, &vocab, d) < 0 ||
	    cfg_int(cfg, cfgpath, "num_key_value_heads", 1, 1 << 10, 0, &kv, d) < 0 ||
	    cfg_int(cfg, cfgpath, "head_dim", 2, 1 << 12, 0, &hd, d) < 0 ||
	    cfg_int(cfg, cfgpath, "max_position_embeddings", 1, 1 << 24, 0, &maxpos, d) < 0 ||
	    cfg_int(cfg, cfgpath, "sliding_window", 2, 1 << 24, 0, &sw, d) < 0 ||
	    cfg_int(cfg, cfgpath, "sliding_window_pattern", 1, 1 << 10, 0, &pattern, d) < 0 ||
	    cfg_int(cfg, cfgpath, "pad_token_id", 0, 1 << 26, 0, &pad, d) < 0)
		return -1;
	m->eps = 1e-6;
	m->rope_theta = 1e6;
	m->rope_theta_local = 1e4;
	if (cfg_pos(cfg, cfgpath, "rms_norm_eps", 1, &m->eps, d) < 0 ||
	    cfg_pos(cfg, cfgpath, "query_pre_attn_scalar", 1e12, &scalar, d) < 0 ||
	    cfg_pos(cfg, cfgpath, "rope_theta", 1e12, &m->rope_theta, d) < 0 ||
	    cfg_pos(cfg, cfgpath, "rope_local_base_freq", 1e12, &m->rope_theta_local, d) < 0 ||
	    cfg_rope(cfg, cfgpath, "full_attention", &m->rope_theta, d) < 0 ||
	    cfg_rope(cfg, cfgpath, "sliding_attention", &m->rope_theta_local, d) < 0 ||
	    cfg_refuse_true(cfg, cfgpath, "attention_bias", d) < 0)
		return -1;
	if (kv < 0)
		kv = heads;
	if (heads % kv)
		return te_diag_set(d, cfgpath, 0, "num_attention_heads %lld is not a multiple "
		                   "of num_key_value_heads %lld", heads, kv);
	if (hd % 2)
		return te_diag_set(d, cfgpath, 0, "head_dim %lld is odd (RoPE rotates pairs)",
		                   hd);
	if (act && strcmp(act, "gelu_pytorch_tanh") != 0)
		return te_diag_set(d, cfgpath, 0, "unsupported hidden_activation '%s' "
		                   "(gelu_pytorch_tanh supported)", act);
	if (cap && !cJSON_IsNull(cap))
		return te_diag_set(d, cfgpath, 0, "unsupported: attn_logit_softcapping");
	if (rs && !cJSON_IsNull(rs))
		return te_diag_set(d, cfgpath, 0, "unsupported: rope_scaling");
	m->hidden = (size_t)hidden;
	m->heads = (size_t)heads;
	m->kv_heads = (size_t)kv;
	m->head_dim = m->rope_dim = (size_t)hd;
	m->layers = (size_t)layers;
	m->ffn = (size_t)ffn;
	m->vocab = (size_t)vocab;
	m->max_tokens = (size_t)maxpos;
	m->pad_id = (int32_t)pad;
	m->causal = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg,
	                                                           "use_bidirectional_attention"));
	m->geglu = m->gelu_tanh = m->norm_plus1 = 1;
	m->qscale = 1.0 / sqrt(scalar);
	m->embed_scale = (float)sqrt((double)hidden);
	if (cJSON_IsNumber(eos) && eos->valuedouble >= 0 && eos->valuedouble < (double)vocab)
		m->sep_id = (int32_t)eos->valuedouble;   /* kept last when cutting */
	/* bidirectional: |query - key| < sliding_window / 2 + 1, as
	 * Gemma3TextConfig halves the window; causal: the sliding_window - 1
	 * keys before */
	return cfg_layer_types(m, cfg, cfgpath, m->causal ? (size_t)sw - 1 : (size_t)sw / 2,
	                       (size_t)pattern, 1, d);
}

/* Gemma 3 tensors, as Gemma3TextModel saves them (or under "model." as the
 * causal-LM checkpoints do). */
static int
load_gemma3(te_emb *m, const cJSON *cfg, const char *cfgpath, te_diag *d)
{
	loader L = {m, "", cfgpath, d, 0};
	size_t H, F, QD, KD, dh;
	char name[256];

	if (config_gemma3(m, cfg, cfgpath, d) < 0)
		return -1;
	H = m->hidden;
	F = m->ffn;
	dh = m->head_dim;
	QD = m->heads * dh;
	KD = m->kv_heads * dh;
	if (emb_st_find(m->st, "model.embed_tokens.weight"))
		L.prefix = "model.";
	m->word = W(&L, "embed_tokens.weight", m->vocab, H);
	m->norm_g = W(&L, "norm.weight", H, 0);
	for (size_t i = 0; i < m->layers && !L.err; i++) {
		emb_layer *l = &m->layer[i];

#define T(suffix, a, b) (snprintf(name, sizeof name, "layers.%zu.%s", i, suffix), \
	W(&L, name, a, b))
		l->ln1_g = T("input_layernorm.weight", H, 0);
		l->pn1 = T("post_attention_layernorm.weight", H, 0);
		l->ln2_g = T("pre_feedforward_layernorm.weight", H, 0);
		l->pn2 = T("post_feedforward_layernorm.weight", H, 0);
		l->wq = T("self_attn.q_proj.weight", QD, H);
		l->wk = T("self_attn.k_proj.weight", KD, H);
		l->wv = T("self_attn.v_proj.weight", KD, H);
		l->wo = T("self_attn.o_proj.weight", H, QD);
		l->qn = T("self_attn.q_norm.weight", dh, 0);
		l->kn = T("self_attn.k_norm.weight", dh, 0);
		l->wi = T("mlp.gate_proj.weight", F, H);
		l->wu = T("mlp.up_proj.weight", F, H);
		l->wo2 = T("mlp.down_proj.weight", H, F);
#undef T
	}
	if (L.err)
		return -1;
	snprintf(name, sizeof name, "%slayers.%zu.mlp.down_proj.weight", L.prefix, m->layers);
	if (emb_st_find(m->st, name))
		return te_diag_set(d, cfgpath, 0, "num_hidden_layers is %zu but the weights "
		                   "have more layers", m->layers);
	return 0;
}

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

static te_emb *
load_model(const char *path, int flags, te_diag *d)
{
	te_emb *m = calloc(1, sizeof *m);
	char *dir = NULL, *cfgpath = NULL, *wpath = NULL;
	cJSON *cfg = NULL;
	const char *mt = NULL;

	if (!m) {
		te_diag_set(d, path, 0, "out of memory");
		return NULL;
	}
	m->threads = 1;
	m->sep_id = -1;
	m->drop_id = -1;
	if (is_dir(path)) {
		dir = strdup(path);
	} else {
		char *slash;

		dir = strdup(path);
		if (dir && (slash = strrchr(dir, '/')))
			*slash = '\0';
		else if (dir)
			strcpy(dir, ".");
		wpath = strdup(path);
		if (!wpath)
			goto oom;
	}
	if (!dir)
		goto oom;
	if (!wpath) {
		wpath = te_model_file(dir, "model.safetensors");
		if (!wpath)
			wpath = te_model_file(dir, "model.safetensors.index.json");
		if (!wpath) {
			char *bin = te_model_file(dir, "pytorch_model.bin");

			if (bin) {
				te_diag_set(d, bin, 0, "only safetensors weights are supported; "
				            "convert pytorch_model.bin to model.safetensors");
				free(bin);
			} else {
				te_diag_set(d, dir, 0, "no model.safetensors (or sharded "
				            "model.safetensors.index.json) in the model directory");
			}
			goto fail;
		}
	}
	if (ends_with(wpath, ".json"))
		m->st = emb_st_open_index(wpath, d);
	else
		m->st = emb_st_open(wpath, d);
	if (!m->st)
		goto fail;
	cfgpath = te_model_file(dir, "config.json");
	if (cfgpath) {
		cfg = emb_json_load(cfgpath, d);
		if (!cfg)
			goto fail;
		mt = cfg_str(cfg, "model_type");
	}
	if (!cfgpath && !(flags & TE_EMB_STATIC) && !emb_st_find(m->st, "embeddings")) {
		te_diag_set(d, dir, 0, "no config.json in the model directory (the encoder "
		            "needs it; --static gives the input embeddings without it)");
		goto fail;
	}
	if ((flags & TE_EMB_STATIC) || !cfgpath || (mt && strcmp(mt, "model2vec") == 0) ||
	    (emb_st_find(m->st, "embeddings") && emb_st_count(m->st) <= 3)) {
		if (load_static(m, wpath, d) < 0)
			goto fail;
		if (strcmp(m->arch_name, "model2vec") == 0 && !(flags & TE_EMB_STATIC)) {
			/* as model2vec's encode(): no [UNK], the first 512 ids */
			te_tok *t = model_tok(dir);

			m->drop_id = t ? te_tok_unk_id(t) : -1;
			m->keep_tokens = 512;
			te_tok_free(t);
		}
	} else {
		if (!mt) {
			te_diag_set(d, cfgpath, 0, "no \"model_type\" in config.json");
			goto fail;
		}
		if (strcmp(mt, "bert") == 0) {
			m->arch = EMB_BERT;
			m->arch_name = "bert";
		} else if (strcmp(mt, "roberta") == 0 || strcmp(mt, "xlm-roberta") == 0 ||
		           strcmp(mt, "camembert") == 0) {
			m->arch = EMB_ROBERTA;
			m->arch_name = "roberta";
		} else if (strcmp(mt, "mpnet") == 0) {
			m->arch = EMB_MPNET;
			m->arch_name = "mpnet";
		} else if (strcmp(mt, "deberta-v2") == 0) {
			m->arch = EMB_DEBERTA;
			m->arch_name = "deberta-v2";
		} else if (strcmp(mt, "qwen3") == 0) {
			m->arch = EMB_QWEN3;
			m->arch_name = "qwen3";
		} else if (strcmp(mt, "nomic_bert") == 0) {
			m->arch = EMB_NOMIC;
			m->arch_name = "nomic_bert";
		} else if (strcmp(mt, "modernbert") == 0) {
			m->arch = EMB_MODERN;
			m->arch_name = "modernbert";
		} else if (strcmp(mt, "gemma3_text") == 0) {
			m->arch = EMB_GEMMA3;
			m->arch_name = "gemma3_text";
		} else {
			te_diag_set(d, cfgpath, 0, "model_type '%.100s' is not one of bert, "
			            "roberta, xlm-roberta, mpnet, deberta-v2, nomic_bert, "
			            "modernbert, qwen3, gemma3_text "
			            "(--static gives the input embeddings of any model)", mt);
			goto fail;
		}
		if (m->arch == EMB_QWEN3 || m->arch == EMB_GEMMA3) {
			if (m->arch == EMB_QWEN3 ? load_qwen3(m, cfg, cfgpath, d) < 0
			                         : load_gemma3(m, cfg, cfgpath, d) < 0)
				goto fail;
		} else if (m->arch == EMB_NOMIC    ? load_nomic(m, cfg, cfgpath, d) < 0
		           : m->arch == EMB_MODERN ? load_modern(m, cfg, cfgpath, d) < 0
		                                   : load_encoder(m, cfg, cfgpath, d) < 0) {
			goto fail;
		} else {
			static const char *const sep[] = {"[SEP]", "</s>", NULL};
			long long v = -1;
			te_tok *t = model_tok(dir);

			m->sep_id = added_id(t, sep);
			te_tok_free(t);
			if (m->sep_id < 0 && cfg_int(cfg, cfgpath, "sep_token_id", 0, 1 << 26, 0,
			                             &v, d) == 0 && v >= 0)
				m->sep_id = (int32_t)v;
		}
	}
	cJSON_Delete(cfg);
	free(dir);
	free(cfgpath);
	free(wpath);
	return m;
oom:
	te_diag_set(d, path, 0, "out of memory");
fail:
	cJSON_Delete(cfg);
	free(dir);
	free(cfgpath);
	free(wpath);
	te_emb_free(m);
	return NULL;
}

te_emb *
te_emb_load(const char *name, int flags, te_diag *d)
{
	char *path = te_model_resolve(name, d);
	te_emb *m = path ? load_model(path, flags, d) : NULL;

	free(path);
	return m;
}

/* ----------------------------------------------------------- forward */

static int
check_ids(const te_emb *m, size_t doc, const int32_t *ids, size_t n, te_diag *d)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 0 || (size_t)ids[i] >= m->vocab)
			return te_diag_set(d, NULL, (long)doc + 1, "token id %d (token %zu) is "
			                   "outside the vocabulary of %zu", ids[i], i + 1, m->vocab);
		else if (m->stat_have && !m->stat_have[ids[i]])
			return te_diag_set(d, NULL, (long)doc + 1, "token id %d ('%.80s') has no "
			                   "word vector (--unknown-zero makes it zeros)", ids[i],
			                   m->stat_names[ids[i]] ? m->stat_names[ids[i]] : "");
	return 0;
}

static void
embed_doc(const te_emb *m, const int32_t *ids, size_t T, const int32_t *types,
          int auto_types, float *x)
{
	size_t H = m->hidden;
	int seg = 0;
	size_t nsep = 0;
	size_t pos = (size_t)m->pad_id;

	if (auto_types && !types && m->type && m->type_vocab > 1 && m->sep_id >= 0)
		for (size_t t = 0; t < T; t++)
			nsep += ids[t] == m->sep_id;
	for (size_t t = 0; t < T; t++) {
		const float *w = m->word + (size_t)ids[t] * H;
		float *o = x + t * H;
		int tt = types ? types[t] : (nsep > 1 ? seg : 0);

		memcpy(o, w, H * sizeof *o);
		if (m->type)
			for (size_t h = 0; h < H; h++)
				o[h] += m->type[(size_t)tt * H + h];
		if (m->pos) {
			size_t p;

			if (m->arch == EMB_MPNET || m->arch == EMB_ROBERTA) {
				/* positions count the non-pad tokens from pad+1; pads get pad */
				if (ids[t] == m->pad_id) {
					p = (size_t)m->pad_id;
				} else {
					pos++;
					p = pos;
				}
			} else {
				p = t;
			}
			for (size_t h = 0; h < H; h++)
				o[h] += m->pos[p * H + h];
		}
		if (ids[t] == m->sep_id)
			seg = 1;
	}
	emb_layernorm(x, T, H, m->emb_ln_g, m->emb_ln_b, m->eps);
}

int
te_emb_forward(te_emb *m, size_t n, const int32_t *const *ids, const size_t *len,
               const int32_t *const *types, int auto_types, float *const *out,
               te_diag *d)
{
	size_t H = m->hidden, total = 0, *off;
	float *x;
	int rc = 0, inplace;

	for (size_t i = 0; i < n; i++) {
		if (check_ids(m, i, ids[i], len[i], d) < 0)
			return -1;
		if (m->max_tokens && len[i] > m->max_tokens)
			return te_diag_set(d, NULL, (long)i + 1, "%zu tokens, more than the %zu "
			                   "the model takes (--truncate cuts them)", len[i],
			                   m->max_tokens);
		if (types && types[i])
			for (size_t t = 0; t < len[i]; t++)
				if (types[i][t] < 0 || (size_t)types[i][t] >= (m->type_vocab ? m->type_vocab : 1))
					return te_diag_set(d, NULL, (long)i + 1, "token type %d is not "
					                   "below type_vocab_size %zu", types[i][t],
					                   m->type_vocab);
		total += len[i];
	}
	if (m->arch == EMB_STATIC) {
		for (size_t i = 0; i < n; i++)
			for (size_t t = 0; t < len[i]; t++) {
				size_t id = (size_t)ids[i][t];
				size_t row = m->stat_map ? (size_t)m->stat_map[id] : id;
				const float *src = m->stat_rows + row * H;
				float *o = out[i] + t * H;

				if (m->stat_weight)
					for (size_t h = 0; h < H; h++)
						o[h] = src[h] * m->stat_weight[id];
				else
					memcpy(o, src, H * sizeof *o);
			}
		return 0;
	}
	if (total == 0)
		return 0;
	off = malloc((n + 1) * sizeof *off);
	if (!off)
		return te_diag_set(d, NULL, 0, "out of memory (%zu tokens)", total);
	off[0] = 0;
	for (size_t i = 0; i < n; i++)
		off[i + 1] = off[i] + len[i];
	/* the caller's rows back to back (emb-token's): work in them, no copy */
	inplace = 1;
	for (size_t i = 0; i < n && inplace; i++)
		inplace = out[i] == out[0] + off[i] * H;
	x = inplace ? out[0] : malloc(total * H * sizeof *x);
	if (!x) {
		free(off);
		return te_diag_set(d, NULL, 0, "out of memory (%zu tokens)", total);
	}
	for (size_t i = 0; i < n; i++) {
		/* DeBERTa: LN(word) only, as it has no positions or types; the
		 * decoders: the rows alone (Gemma's times sqrt(hidden_size)), their
		 * positions are rotary */
		if (m->arch == EMB_QWEN3 || m->arch == EMB_GEMMA3)
			for (size_t t = 0; t < len[i]; t++) {
				float *o = x + (off[i] + t) * H;

				memcpy(o, m->word + (size_t)ids[i][t] * H, H * sizeof *x);
				if (m->embed_scale > 0)
					for (size_t h = 0; h < H; h++)
						o[h] *= m->embed_scale;
			}
		else
			embed_doc(m, ids[i], len[i], types ? types[i] : NULL, auto_types,
			          x + off[i] * H);
	}
	if (m->arch == EMB_QWEN3 || m->arch == EMB_NOMIC || m->arch == EMB_MODERN ||
	    m->arch == EMB_GEMMA3) {
		rc = emb_decode_cpu(m, x, n, off, d);
	} else {
#ifdef TE_CUDA
		rc = m->dtype == TE_EMB_F32 && emb_widen_all(m, d) ? -1 :
		     emb_encode_cuda(m, x, n, off, d);
		if (rc == 1)
			rc = emb_encode_cpu(m, x, n, off, d);
#else
		rc = emb_encode_cpu(m, x, n, off, d);
#endif
	}
	if (rc == 0 && !inplace)
		for (size_t i = 0; i < n; i++)
			memcpy(out[i], x + off[i] * H, len[i] * H * sizeof(float));
	free(off);
	if (!inplace)
		free(x);
	return rc;
}

int
te_emb_pooler(te_emb *m, const float *h0, float *out, te_diag *d)
{
	if (!m->pool_w)
		return te_diag_set(d, NULL, 0, "the model has no pooler");
	emb_linear_ref(h0, 1, m->hidden, m->pool_w, m->pool_b, m->hidden, out);
	for (size_t h = 0; h < m->hidden; h++)
		out[h] = tanhf(out[h]);
	return 0;
}
