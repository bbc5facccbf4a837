/* knn_merge.c: the top-k lists of the shards of one collection merged into
 * the top k of the whole (knn --merge). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "knn_int.h"
#include "tokemb.h"
#include "util_int.h"

/* One shard's answers, read a line ahead. */
struct shard {
	te_reader *r;
	char *line;          /* the line ahead, or NULL at the end */
	size_t len, cap;
};

/* A neighbour of the query being merged. */
struct cand {
	char *line;
	size_t len;
	double score;
	size_t shard, rank;
};

static int better_is_smaller;

/* Best first; equal scores in shard order, then in each shard's order:
 * the row order of the whole, as its shards are its rows in order. */
static int
cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->score != b->score)
		return (a->score < b->score) == better_is_smaller ? -1 : 1;
	if (a->shard != b->shard)
		return a->shard < b->shard ? -1 : 1;
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* Read the next line of s into its lookahead. */
static int
advance(struct shard *s, te_diag *d)
{
	char *line;
	size_t len;
	int rc = te_reader_next(s->r, &line, &len, d);

	if (rc <= 0) {
		free(s->line);
		s->line = NULL;
		return rc;
	}
	if (ut_grow((void **)&s->line, &s->cap, len + 1, 1) < 0)
		return te_diag_set(d, te_reader_name(s->r), 0, "out of memory");
	memcpy(s->line, line, len);
	s->line[len] = '\0';
	s->len = len;
	return 1;
}

/* The query field of a line: its length up to the first tab, or -1. */
static long
query_len(const struct shard *s, te_diag *d)
{
	const char *t = memchr(s->line, '\t', s->len);

	if (!t || !memchr(t + 1, '\t', s->len - (size_t)(t - s->line) - 1))
		return te_diag_set(d, te_reader_name(s->r), te_reader_lineno(s->r),
		                   "not a line of knn's output (query<TAB>neighbour<TAB>"
		                   "score)");
	return (long)(t - s->line);
}

/* Shard i's lines for the query [q, q+qn) into c (grown); -1 on error. */
static int
take_group(struct shard *s, size_t i, const char *q, size_t qn, struct cand **c,
           size_t *n, size_t *cap, te_diag *d)
{
	size_t rank = 0;

	while (s->line) {
		long ql = query_len(s, d);
		char *end;
		const char *sc;

		if (ql < 0)
			return -1;
		if ((size_t)ql != qn || memcmp(s->line, q, qn) != 0)
			break;
		sc = strrchr(s->line, '\t') + 1;
		if (ut_grow((void **)c, cap, *n + 1, sizeof **c) < 0)
			return te_diag_set(d, NULL, 0, "out of memory");
		(*c)[*n] = (struct cand){.score = strtod(sc, &end), .shard = i,
		                         .rank = rank++, .len = s->len};
		if (end == sc || *end)
			return te_diag_set(d, te_reader_name(s->r), te_reader_lineno(s->r),
			                   "bad score '%.40s'", sc);
		(*c)[*n].line = s->line;
		s->line = NULL;
		s->cap = 0;
		(*n)++;
		if (advance(s, d) < 0)
			return -1;
	}
	return 0;
}

/* Merge one query's lists and write its best k. */
static int
merge_query(struct shard *sh, size_t ns, size_t k, FILE *out, struct cand **c,
            size_t *cap, te_diag *d)
{
	size_t n = 0;
	char *q;
	long qn = query_len(&sh[0], d);
	int rc = 0;

	if (qn < 0 || !(q = strndup(sh[0].line, (size_t)qn)))
		return qn < 0 ? -1 : te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < ns && rc == 0; i++)
		rc = take_group(&sh[i], i, q, (size_t)qn, c, &n, cap, d);
	if (rc == 0) {
		qsort(*c, n, sizeof **c, cand_cmp);
		for (size_t j = 0; j < n && j < k; j++)
			if (fwrite((*c)[j].line, 1, (*c)[j].len, out) != (*c)[j].len ||
			    putc('\n', out) == EOF)
				rc = te_diag_set(d, NULL, 0, "write error");
	}
	for (size_t j = 0; j < n; j++)
		free((*c)[j].line);
	free(q);
	return rc;
}

int
te_knn_merge(const char *const *paths, size_t n, size_t k, te_knn_metric m, FILE *out,
             te_diag *d)
{
	struct shard *sh = calloc(n ? n : 1, sizeof *sh);
	struct cand *c = NULL;
	size_t ccap = 0;
	int rc = 0;

	if (!sh)
		return te_diag_set(d, NULL, 0, "out of memory");
	better_is_smaller = m == TE_KNN_METRIC_EUCLIDEAN;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!(sh[i].r = te_reader_open(paths[i], '\n', d)))
			rc = -1;
		else if (advance(&sh[i], d) < 0)
			rc = -1;
		if (rc == 0)
			te_reader_strip_cr(sh[i].r, 1);
	}
	while (rc == 0 && n && sh[0].line)
		rc = merge_query(sh, n, k, out, &c, &ccap, d);
	for (size_t i = 1; i < n && rc == 0; i++)
		if (sh[i].line)
			rc = te_diag_set(d, paths[i], te_reader_lineno(sh[i].r), "answers to "
			                 "queries the first file does not answer, or not in "
			                 "its order: the shards were not searched with the "
			                 "same queries");
	for (size_t i = 0; i < n; i++) {
		te_reader_close(sh[i].r);
		free(sh[i].line);
	}
	free(sh);
	free(c);
	return rc;
}
