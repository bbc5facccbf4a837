/* emb_vectors.c: a static embedding model from a word-vector file keyed by
 * token string, with the ids named by a tokenizer's vocabulary. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "emb_int.h"

/* names[id] for every id of a tokenizer.json (model.vocab and added_tokens)
 * or a vocab.txt (one token per line).  Returns the count or -1. */
static long
vocab_names(const char *path, char ***out, te_diag *d)
{
	char **names = NULL;
	size_t n = 0;
	size_t pl = strlen(path);

	if (pl >= 4 && strcmp(path + pl - 4, ".txt") == 0) {
		te_reader *r = te_reader_open(path, '\n', d);
		char *line;
		size_t len;
		int rc;

		if (!r)
			return -1;
		te_reader_strip_cr(r, 1);
		while ((rc = te_reader_next(r, &line, &len, d)) == 1) {
			char **nn = realloc(names, (n + 1) * sizeof *nn);

			if (!nn || !(nn[n] = strndup(line, len))) {
				free(nn ? nn : names);
				te_reader_close(r);
				return te_diag_set(d, path, 0, "out of memory");
			}
			names = nn;
			n++;
		}
		te_reader_close(r);
		if (rc < 0) {
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			return -1;
		}
		*out = names;
		return (long)n;
	}
	{
		cJSON *j = emb_json_load(path, d), *model, *vocab, *e, *at;
		size_t cap = 0;

		if (!j)
			return -1;
		model = cJSON_GetObjectItemCaseSensitive(j, "model");
		vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
		at = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
		if (!vocab) {
			cJSON_Delete(j);
			return te_diag_set(d, path, 0, "no model.vocab in the tokenizer file");
		}
#define PUT(id, str) do { \
		size_t id_ = (id); \
		if (id_ >= cap) { \
			size_t nc = cap ? cap : 1024; \
			char **nn; \
			while (nc <= id_) \
				nc *= 2; \
			nn = realloc(names, nc * sizeof *nn); \
			if (!nn) \
				goto oom; \
			memset(nn + cap, 0, (nc - cap) * sizeof *nn); \
			names = nn; \
			cap = nc; \
		} \
		if (!names[id_] && !(names[id_] = strdup(str))) \
			goto oom; \
		if (id_ + 1 > n) \
			n = id_ + 1; \
	} while (0)
		if (cJSON_IsArray(vocab)) {
			size_t i = 0;

			cJSON_ArrayForEach(e, vocab) {
				if (cJSON_IsArray(e) && cJSON_IsString(e->child))
					PUT(i, e->child->valuestring);
				i++;
			}
		} else {
			cJSON_ArrayForEach(e, vocab) {
				if (cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble < (1 << 26))
					PUT((size_t)e->valuedouble, e->string);
			}
		}
		cJSON_ArrayForEach(e, at) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id"),
			            *c = cJSON_GetObjectItemCaseSensitive(e, "content");

			if (cJSON_IsNumber(id) && cJSON_IsString(c) && id->valuedouble >= 0 &&
			    id->valuedouble < (1 << 26))
				PUT((size_t)id->valuedouble, c->valuestring);
		}
#undef PUT
		cJSON_Delete(j);
		*out = names;
		return (long)n;
oom:
		cJSON_Delete(j);
		for (size_t i = 0; i < cap; i++)
			free(names ? names[i] : NULL);
		free(names);
		return te_diag_set(d, path, 0, "out of memory");
	}
}

te_emb *
te_emb_load_vectors(const char *vectors, const char *tokenizer, int unk_zero, te_diag *d)
{
	te_emb *m = NULL;
	te_vecs *v = NULL;
	char **names = NULL, *tokpath = NULL;
	long n;
	size_t dim;

	tokpath = te_model_file(tokenizer, "tokenizer.json");
	if (!tokpath)
		tokpath = te_model_file(tokenizer, "vocab.txt");
	if (!tokpath)
		tokpath = strdup(tokenizer);
	n = vocab_names(tokpath, &names, d);
	if (n < 0)
		goto out;
	v = te_vecs_load(vectors, TE_VEC_FORMAT_AUTO, d);
	if (!v)
		goto out;
	if (!te_vecs_key(v, 0)) {
		te_diag_set(d, vectors, 0, "the vectors have no keys (token strings)");
		goto out;
	}
	dim = te_vecs_dim(v);
	m = calloc(1, sizeof *m);
	if (!m || !(m->owned = calloc((size_t)(n ? n : 1) * dim, sizeof(float)))) {
		te_diag_set(d, vectors, 0, "out of memory");
		free(m);
		m = NULL;
		goto out;
	}
	m->arch = EMB_STATIC;
	m->arch_name = "vectors";
	m->threads = 1;
	m->sep_id = -1;
	m->drop_id = -1;
	m->hidden = dim;
	m->vocab = (size_t)n;
	m->stat_nrows = (size_t)n;
	m->stat_rows = m->owned;
	if (!unk_zero && !(m->stat_have = calloc((size_t)(n ? n : 1), 1))) {
		te_diag_set(d, vectors, 0, "out of memory");
		te_emb_free(m);
		m = NULL;
		goto out;
	}
	for (long i = 0; i < n; i++) {
		long row = names[i] ? te_vecs_find(v, names[i], strlen(names[i])) : -1;

		if (row < 0)
			continue;
		if (m->stat_have)
			m->stat_have[i] = 1;
		memcpy(m->owned + (size_t)i * dim, te_vecs_row(v, (size_t)row),
		       dim * sizeof(float));
	}
	/* the names stay, for messages about tokens without a vector */
	m->stat_names = names;
	names = NULL;
out:
	if (names)
		for (long i = 0; i < n; i++)
			free(names[i]);
	free(names);
	free(tokpath);
	te_vecs_free(v);
	return m;
}
