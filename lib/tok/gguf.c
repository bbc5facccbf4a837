/* gguf.c: the tokenizer metadata of llama.cpp GGUF files, every length and
 * count checked against the file, and a SentencePiece model built from a
 * "llama" (or "t5") vocabulary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm_int.h"
#include "util_int.h"

enum {
	GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL,
	GT_STR, GT_ARR, GT_U64, GT_I64, GT_F64, GT_COUNT
};
static const size_t gt_size[GT_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

typedef struct rd {
	const unsigned char *p, *end, *base;
	const char *name;
	te_diag *d;
} rd;

static int
need(rd *r, size_t n, const char *what)
{
	if ((size_t)(r->end - r->p) < n)
		return te_diag_set(r->d, r->name, 0, "truncated %s at byte %ld",
		                   what, (long)(r->p - r->base));
	return 0;
}

static uint64_t
le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static int
rd_u32(rd *r, uint32_t *v, const char *what)
{
	if (need(r, 4, what) < 0)
		return -1;
	*v = (uint32_t)le(r->p, 4);
	r->p += 4;
	return 0;
}

static int
rd_u64(rd *r, uint64_t *v, const char *what)
{
	if (need(r, 8, what) < 0)
		return -1;
	*v = le(r->p, 8);
	r->p += 8;
	return 0;
}

/* A string: u64 length and bytes; points into the file. */
static int
rd_str(rd *r, const char **s, size_t *len, const char *what)
{
	uint64_t l;

	if (rd_u64(r, &l, what) < 0)
		return -1;
	if (l > (uint64_t)(r->end - r->p))
		return te_diag_set(r->d, r->name, 0, "%s of %llu bytes at byte %ld "
		                   "runs past the end of the file", what,
		                   (unsigned long long)l, (long)(r->p - r->base));
	*s = (const char *)r->p;
	*len = (size_t)l;
	r->p += l;
	return 0;
}

static char *
dupn(const char *s, size_t n)
{
	char *c = malloc(n + 1);

	if (c) {
		memcpy(c, s, n);
		c[n] = '\0';
	}
	return c;
}

/* A float value's integer part where it has one (a cast of NaN or of what
 * lies beyond int64 would be undefined); -1, which no id or count takes,
 * otherwise. */
static int64_t
float_int(double x)
{
	return x > -9.2e18 && x < 9.2e18 ? (int64_t)x : -1;
}

/* Read a scalar of type t as an integer (for ids and flags). */
static int
scalar_int(rd *r, uint32_t t, int64_t *v, double *f)
{
	const unsigned char *p = r->p;

	if (t >= GT_COUNT || t == GT_STR || t == GT_ARR)
		return te_diag_set(r->d, r->name, 0, "bad scalar type %u at byte %ld",
		                   t, (long)(r->p - r->base));
	if (need(r, gt_size[t], "value") < 0)
		return -1;
	switch (t) {
	case GT_U8: case GT_BOOL: *v = p[0]; break;
	case GT_I8: *v = (int8_t)p[0]; break;
	case GT_U16: *v = (uint16_t)le(p, 2); break;
	case GT_I16: *v = (int16_t)le(p, 2); break;
	case GT_U32: *v = (uint32_t)le(p, 4); break;
	case GT_I32: *v = (int32_t)le(p, 4); break;
	case GT_U64: case GT_I64: *v = (int64_t)le(p, 8); break;
	case GT_F32: {
		uint32_t u = (uint32_t)le(p, 4);
		float x;

		memcpy(&x, &u, 4);
		*f = x;
		*v = float_int(x);
		break;
	}
	case GT_F64: {
		uint64_t u = le(p, 8);
		double x;

		memcpy(&x, &u, 8);
		*f = x;
		*v = float_int(x);
		break;
	}
	}
	r->p += gt_size[t];
	return 0;
}

/* Skip a value of type t (arrays of arrays included, depth-limited). */
static int
skip_value(rd *r, uint32_t t, int depth)
{
	if (t >= GT_COUNT)
		return te_diag_set(r->d, r->name, 0, "unknown value type %u at byte %ld",
		                   t, (long)(r->p - r->base - 4));
	if (t == GT_STR) {
		const char *s;
		size_t l;

		return rd_str(r, &s, &l, "string");
	}
	if (t == GT_ARR) {
		uint32_t et;
		uint64_t n;

		if (depth > 4)
			return te_diag_set(r->d, r->name, 0, "arrays nested too deep");
		if (rd_u32(r, &et, "array type") < 0 || rd_u64(r, &n, "array count") < 0)
			return -1;
		if (et >= GT_COUNT)
			return te_diag_set(r->d, r->name, 0, "unknown array type %u at "
			                   "byte %ld", et, (long)(r->p - r->base - 12));
		if (gt_size[et]) {
			if (n > (uint64_t)(r->end - r->p) / gt_size[et])
				return need(r, SIZE_MAX, "array");
			r->p += n * gt_size[et];
			return 0;
		}
		for (uint64_t i = 0; i < n; i++)
			if (skip_value(r, et, depth + 1) < 0)
				return -1;
		return 0;
	}
	if (need(r, gt_size[t], "value") < 0)
		return -1;
	r->p += gt_size[t];
	return 0;
}

/* An array header of the expected element type (any integer type when
 * want is GT_COUNT); returns the element type and count. */
static int
arr_head(rd *r, uint32_t t, const char *key, uint32_t *et, uint64_t *n)
{
	size_t minsz;

	if (t != GT_ARR)
		return te_diag_set(r->d, r->name, 0, "%s is not an array (type %u)",
		                   key, t);
	if (rd_u32(r, et, "array type") < 0 || rd_u64(r, n, "array count") < 0)
		return -1;
	if (*et >= GT_COUNT || *et == GT_ARR)
		return te_diag_set(r->d, r->name, 0, "%s: bad element type %u", key, *et);
	minsz = *et == GT_STR ? 8 : gt_size[*et];
	if (*n > (uint64_t)(r->end - r->p) / minsz)
		return te_diag_set(r->d, r->name, 0, "%s: %llu elements at byte %ld do "
		                   "not fit in the file", key, (unsigned long long)*n,
		                   (long)(r->p - r->base));
	return 0;
}

static int
str_array(rd *r, uint32_t t, const char *key, size_t *count, char ***out,
          size_t **lens)
{
	uint32_t et;
	uint64_t n;

	if (arr_head(r, t, key, &et, &n) < 0)
		return -1;
	if (et != GT_STR)
		return te_diag_set(r->d, r->name, 0, "%s: elements are not strings", key);
	if (*out) {
		for (size_t i = 0; i < *count; i++)
			free((*out)[i]);
		free(*out);
		free(*lens);
	}
	*count = 0;
	*out = calloc(n ? n : 1, sizeof **out);
	*lens = calloc(n ? n : 1, sizeof **lens);
	if (!*out || !*lens)
		return te_diag_set(r->d, r->name, 0, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		const char *s;
		size_t l;

		if (rd_str(r, &s, &l, key) < 0)
			return -1;
		if (!((*out)[i] = dupn(s, l)))
			return te_diag_set(r->d, r->name, 0, "out of memory");
		(*lens)[i] = l;
		*count = (size_t)i + 1;
	}
	return 0;
}

static int
num_array(rd *r, uint32_t t, const char *key, size_t *count, float **fout,
          int32_t **iout, uint8_t **bout)
{
	uint32_t et;
	uint64_t n;

	if (arr_head(r, t, key, &et, &n) < 0)
		return -1;
	if (et == GT_STR)
		return te_diag_set(r->d, r->name, 0, "%s: elements are strings", key);
	if (fout) {
		free(*fout);
		*fout = malloc((n ? n : 1) * sizeof **fout);
	}
	if (iout) {
		free(*iout);
		*iout = malloc((n ? n : 1) * sizeof **iout);
	}
	if (bout) {
		free(*bout);
		*bout = malloc(n ? n : 1);
	}
	if ((fout && !*fout) || (iout && !*iout) || (bout && !*bout))
		return te_diag_set(r->d, r->name, 0, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		int64_t v = 0;
		double f = 0;

		if (scalar_int(r, et, &v, &f) < 0)
			return -1;
		if (et != GT_F32 && et != GT_F64)
			f = (double)v;
		if (fout)
			(*fout)[i] = (float)f;
		if (iout)
			(*iout)[i] = (int32_t)v;
		if (bout)
			(*bout)[i] = (uint8_t)v;
	}
	*count = (size_t)n;
	return 0;
}

void
tk_gguf_vocab_free(tk_gguf_vocab *g)
{
	if (!g)
		return;
	free(g->arch);
	free(g->name);
	free(g->model);
	free(g->pre);
	for (size_t i = 0; g->tokens && i < g->n_tokens; i++)
		free(g->tokens[i]);
	free(g->tokens);
	free(g->token_lens);
	free(g->scores);
	free(g->token_types);
	for (size_t i = 0; g->merges && i < g->n_merges; i++)
		free(g->merges[i]);
	free(g->merges);
	free(g->merge_lens);
	free(g->charsmap);
	free(g);
}

static int
key_is(const char *k, size_t kl, const char *want)
{
	return strlen(want) == kl && memcmp(k, want, kl) == 0;
}

/* Where the value of key k goes in g: a string, an id or a flag (all
 * NULL: an array or a key not read). */
static void
scalar_slot(tk_gguf_vocab *g, const char *k, size_t kl, char ***strp, int32_t **idp,
            int **flagp)
{
	if (key_is(k, kl, "general.architecture"))
		*strp = &g->arch;
	else if (key_is(k, kl, "general.name"))
		*strp = &g->name;
	else if (key_is(k, kl, "tokenizer.ggml.model"))
		*strp = &g->model;
	else if (key_is(k, kl, "tokenizer.ggml.pre"))
		*strp = &g->pre;
	else if (key_is(k, kl, "tokenizer.ggml.bos_token_id"))
		*idp = &g->bos_id;
	else if (key_is(k, kl, "tokenizer.ggml.eos_token_id"))
		*idp = &g->eos_id;
	else if (key_is(k, kl, "tokenizer.ggml.unknown_token_id"))
		*idp = &g->unk_id;
	else if (key_is(k, kl, "tokenizer.ggml.seperator_token_id") ||
	         key_is(k, kl, "tokenizer.ggml.separator_token_id"))
		*idp = &g->sep_id;
	else if (key_is(k, kl, "tokenizer.ggml.padding_token_id"))
		*idp = &g->pad_id;
	else if (key_is(k, kl, "tokenizer.ggml.cls_token_id"))
		*idp = &g->cls_id;
	else if (key_is(k, kl, "tokenizer.ggml.mask_token_id"))
		*idp = &g->mask_id;
	else if (key_is(k, kl, "tokenizer.ggml.add_bos_token"))
		*flagp = &g->add_bos;
	else if (key_is(k, kl, "tokenizer.ggml.add_eos_token"))
		*flagp = &g->add_eos;
	else if (key_is(k, kl, "tokenizer.ggml.add_space_prefix"))
		*flagp = &g->add_space_prefix;
	else if (key_is(k, kl, "tokenizer.ggml.remove_extra_whitespaces"))
		*flagp = &g->remove_extra_whitespaces;
}

/* Read one metadata entry into g (or skip it). */
static int
read_kv(rd *r, tk_gguf_vocab *g, size_t *n_scores, size_t *n_types)
{
	te_diag *d = r->d;
	const char *k;
	size_t kl;
	uint32_t t;
	int32_t *idp = NULL;
	int *flagp = NULL;
	char **strp = NULL;

	if (rd_str(r, &k, &kl, "key") < 0 || rd_u32(r, &t, "value type") < 0)
		return -1;
	if (t >= GT_COUNT) {
		te_diag_set(d, r->name, 0, "unknown value type %u for key '%.*s'",
		            t, (int)(kl < 200 ? kl : 200), k);
		return -1;
	}
	scalar_slot(g, k, kl, &strp, &idp, &flagp);
	if (strp) {
		const char *s;
		size_t l;

		if (t != GT_STR) {
			te_diag_set(d, r->name, 0, "'%.*s' is not a string", (int)kl, k);
			return -1;
		}
		if (rd_str(r, &s, &l, "string") < 0)
			return -1;
		free(*strp);
		if (!(*strp = dupn(s, l)))
			return te_diag_set(d, r->name, 0, "out of memory");
	} else if (idp || flagp) {
		int64_t v = 0;
		double f;

		if (scalar_int(r, t, &v, &f) < 0)
			return -1;
		if (idp)
			*idp = v >= 0 && v <= INT32_MAX ? (int32_t)v : -1;
		else
			*flagp = v != 0;
	} else if (key_is(k, kl, "tokenizer.ggml.tokens")) {
		if (str_array(r, t, "tokenizer.ggml.tokens", &g->n_tokens,
		              &g->tokens, &g->token_lens) < 0)
			return -1;
	} else if (key_is(k, kl, "tokenizer.ggml.merges")) {
		if (str_array(r, t, "tokenizer.ggml.merges", &g->n_merges,
		              &g->merges, &g->merge_lens) < 0)
			return -1;
	} else if (key_is(k, kl, "tokenizer.ggml.scores")) {
		if (num_array(r, t, "tokenizer.ggml.scores", n_scores, &g->scores,
		              NULL, NULL) < 0)
			return -1;
	} else if (key_is(k, kl, "tokenizer.ggml.token_type")) {
		if (num_array(r, t, "tokenizer.ggml.token_type", n_types, NULL,
		              &g->token_types, NULL) < 0)
			return -1;
	} else if (key_is(k, kl, "tokenizer.ggml.precompiled_charsmap")) {
		if (num_array(r, t, "tokenizer.ggml.precompiled_charsmap",
		              &g->charsmap_len, NULL, NULL, &g->charsmap) < 0)
			return -1;
	} else if (skip_value(r, t, 0) < 0)
		return -1;
	return 0;
}

tk_gguf_vocab *
tk_gguf_vocab_load_mem(const void *buf, size_t n, const char *name, te_diag *d)
{
	rd r = {buf, (const unsigned char *)buf + n, buf, name ? name : "", d};
	tk_gguf_vocab *g = calloc(1, sizeof *g);
	uint64_t n_tensors, n_kv;
	size_t n_scores = 0, n_types = 0;

	if (!g) {
		te_diag_set(d, r.name, 0, "out of memory");
		return NULL;
	}
	g->bos_id = g->eos_id = g->unk_id = g->sep_id = g->pad_id = -1;
	g->cls_id = g->mask_id = -1;
	g->add_bos = g->add_eos = g->add_space_prefix = -1;
	g->remove_extra_whitespaces = -1;
	if (n < 4 || memcmp(buf, "GGUF", 4) != 0) {
		te_diag_set(d, r.name, 0, "not a GGUF file (no GGUF magic)");
		goto fail;
	}
	r.p += 4;
	if (rd_u32(&r, &g->version, "version") < 0)
		goto fail;
	if (g->version < 2 || g->version > 3) {
		te_diag_set(d, r.name, 0, "GGUF version %u is not supported (2 or 3)",
		            g->version);
		goto fail;
	}
	if (rd_u64(&r, &n_tensors, "tensor count") < 0 ||
	    rd_u64(&r, &n_kv, "metadata count") < 0)
		goto fail;
	if (n_kv > (uint64_t)(r.end - r.p) / 12) {
		te_diag_set(d, r.name, 0, "%llu metadata entries do not fit in the file",
		            (unsigned long long)n_kv);
		goto fail;
	}
	for (uint64_t i = 0; i < n_kv; i++)
		if (read_kv(&r, g, &n_scores, &n_types) < 0)
			goto fail;
	if (!g->model || !g->tokens) {
		te_diag_set(d, r.name, 0, "no tokenizer in this GGUF file (%s is "
		            "missing)", g->model ? "tokenizer.ggml.tokens"
		                                 : "tokenizer.ggml.model");
		goto fail;
	}
	if (g->scores && n_scores != g->n_tokens) {
		te_diag_set(d, r.name, 0, "%zu scores for %zu tokens", n_scores,
		            g->n_tokens);
		goto fail;
	}
	if (g->token_types && n_types != g->n_tokens) {
		te_diag_set(d, r.name, 0, "%zu token types for %zu tokens", n_types,
		            g->n_tokens);
		goto fail;
	}
	{
		int32_t *ids[] = {&g->bos_id, &g->eos_id, &g->unk_id, &g->sep_id,
		                  &g->pad_id, &g->cls_id, &g->mask_id};

		for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
			if (*ids[i] >= 0 && (size_t)*ids[i] >= g->n_tokens)
				*ids[i] = -1;
	}
	return g;
fail:
	tk_gguf_vocab_free(g);
	return NULL;
}

tk_gguf_vocab *
tk_gguf_vocab_load(const char *path, te_diag *d)
{
	size_t n;
	char *buf = ut_read_file(path, (size_t)1 << 31, &n, d);
	tk_gguf_vocab *r;

	if (!buf)
		return NULL;
	r = tk_gguf_vocab_load_mem(buf, n, path, d);
	free(buf);
	return r;
}

tk_spm *
tk_spm_from_gguf(const tk_gguf_vocab *g, te_diag *d)
{
	tk_spm_init in;
	uint8_t *types;
	tk_spm *m;
	int has_unk = 0, n_bytes = 0;

	memset(&in, 0, sizeof in);
	if (strcmp(g->model, "llama") == 0)
		in.model_type = TK_SPM_MODEL_BPE;
	else if (strcmp(g->model, "t5") == 0)
		in.model_type = TK_SPM_MODEL_UNIGRAM;
	else {
		te_diag_set(d, "", 0, "tokenizer.ggml.model '%s' is not a "
		            "SentencePiece vocabulary", g->model);
		return NULL;
	}
	types = malloc(g->n_tokens ? g->n_tokens : 1);
	if (!types) {
		te_diag_set(d, "", 0, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < g->n_tokens; i++) {
		int t = g->token_types ? g->token_types[i] : TK_SPM_TYPE_NORMAL;

		if (t < TK_SPM_TYPE_NORMAL || t > TK_SPM_TYPE_BYTE)
			t = TK_SPM_TYPE_NORMAL;
		if (t == TK_SPM_TYPE_BYTE) {
			unsigned v;
			char tail;

			if (g->token_lens[i] == 6 &&
			    sscanf(g->tokens[i], "<0x%2X%c", &v, &tail) == 2 && tail == '>')
				n_bytes++;
			else
				t = TK_SPM_TYPE_NORMAL;
		}
		if (t == TK_SPM_TYPE_UNKNOWN) {
			if (has_unk)
				t = TK_SPM_TYPE_CONTROL;
			has_unk = 1;
		}
		types[i] = (uint8_t)t;
	}
	if (!has_unk && g->unk_id >= 0) {
		types[g->unk_id] = TK_SPM_TYPE_UNKNOWN;
		has_unk = 1;
	}
	in.n = g->n_tokens;
	in.pieces = (const char *const *)g->tokens;
	in.lens = g->token_lens;
	in.scores = g->scores;
	in.types = types;
	in.byte_fallback = n_bytes == 256;
	in.bos_id = g->bos_id;
	in.eos_id = g->eos_id;
	in.pad_id = g->pad_id;
	in.add_dummy_prefix = g->add_space_prefix != 0;
	in.remove_extra_whitespaces = g->remove_extra_whitespaces == 1;
	in.escape_whitespaces = 1;
	in.normalizer_name = g->charsmap ? "precompiled" : "identity";
	in.charsmap = g->charsmap;
	in.charsmap_len = g->charsmap_len;
	m = tk_spm_new(&in, "", d);
	free(types);
	return m;
}
