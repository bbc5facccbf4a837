/* emb_vectors.c: a static embedding model from a word-vector file keyed by
 * token string, with the ids named by a tokenizer's vocabulary. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "emb_int.h"

/* names[id] for every id of a tokenizer (its vocabulary and added tokens;
 * NULL for an unused id).  Returns the count or -1. */
static long
tok_names(const char *path, char ***out, te_diag *d)
{
	te_tok *t = te_tok_load(path, d);
	char **names;
	size_t n;

	if (!t)
		return -1;
	n = te_tok_vocab_size(t);
	names = calloc(n ? n : 1, sizeof *names);
	for (size_t i = 0; names && i < n; i++) {
		size_t len;
		const char *s = te_tok_piece(t, (int32_t)i, &len);

		if (s && !(names[i] = strndup(s, len))) {
			for (size_t k = 0; k < i; k++)
				free(names[k]);
			free(names);
			names = NULL;
		}
	}
	te_tok_free(t);
	if (!names)
		return te_diag_set(d, path, 0, "out of memory");
	*out = names;
	return (long)n;
}

/* names[id] for every id of a vocab.txt (one token per line) or of any
 * file te_tok_load reads.  Returns the count or -1. */
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
	return tok_names(path, out, d);
}

te_emb *
te_emb_load_vectors(const char *vectors, const char *tokenizer, int unk_zero, te_diag *d)
{
	te_emb *m = NULL;
	te_vecs *v = NULL;
	char **names = NULL, *tokpath = NULL, *dir;
	long n;
	size_t dim;

	dir = te_model_resolve(tokenizer, d);
	if (!dir)
		return NULL;
	tokpath = te_model_file(dir, "tokenizer.json");
	if (!tokpath)
		tokpath = te_model_file(dir, "vocab.txt");
	n = vocab_names(tokpath ? tokpath : dir, &names, d);
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
	free(dir);
	te_vecs_free(v);
	return m;
}
