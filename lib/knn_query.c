/* knn_query.c: the queries of knn(1): a line read as a key, an expression
 * of keys ("king - man + woman") or a vector, and batches of them answered
 * by one search of the exact index or the HNSW graph. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knn_int.h"
#include "tokemb.h"
#include "util_int.h"

/* Messages quote at most this many bytes of the line. */
#define QUOTE_MAX 200
#define CLIP(n) ((int)((n) > QUOTE_MAX ? QUOTE_MAX : (n)))

/* A query waiting in the batch. */
struct bquery {
	char *label;
	long excl[2 * TE_KNN_TERMS];
	size_t nexcl;
	int cosmul;
	long pos[TE_KNN_TERMS], neg[TE_KNN_TERMS];
	size_t npos, nneg;
};

struct te_knn_batch {
	te_knn *x;
	te_hnsw *h;
	te_vecs *v;
	size_t dim, k, limit, ef;
	int threads;
	struct bquery *q;
	float *qv;           /* (cap, dim) query vectors */
	size_t n, cap;
	te_hit *hits;        /* (cap + 1, k): the last k for a 3CosMul query */
	size_t *nhits;
	int scans;           /* key look-ups made by scanning (te_knn_find_key) */
	long offset;         /* what row 0 is numbered in the whole collection, less 1 */
	float *fbuf;         /* the vector of the last line parsed */
	size_t fcap;
	int delim;           /* ends a text query: newline, or NUL */
};

te_knn_batch *
te_knn_batch_new(te_knn *x, te_hnsw *h, size_t k, size_t limit, size_t ef, int threads,
                 size_t cap, te_diag *d)
{
	te_knn_batch *b = calloc(1, sizeof *b);

	if (!b)
		return te_diag_set(d, NULL, 0, "out of memory"), NULL;
	b->x = x;
	b->h = h;
	b->v = te_knn_vecs(x);
	b->dim = te_vecs_dim(b->v);
	b->k = k;
	b->limit = limit;
	b->ef = ef;
	b->threads = threads;
	b->cap = cap ? cap : 1;
	b->delim = '\n';
	b->q = calloc(b->cap, sizeof *b->q);
	b->qv = malloc(b->cap * b->dim * sizeof *b->qv);
	b->hits = malloc((b->cap + 1) * (k ? k : 1) * sizeof *b->hits);
	b->nhits = malloc((b->cap + 1) * sizeof *b->nhits);
	if (!b->q || !b->qv || !b->hits || !b->nhits) {
		te_knn_batch_free(b);
		return te_diag_set(d, NULL, 0, "out of memory"), NULL;
	}
	return b;
}

void
te_knn_batch_free(te_knn_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->q[i].label);
	free(b->q);
	free(b->qv);
	free(b->hits);
	free(b->nhits);
	free(b->fbuf);
	free(b);
}

int te_knn_batch_full(const te_knn_batch *b) { return b->n == b->cap; }

/* The rule for keys: the first few look-ups scan the keys, so that a run
 * that asks for one key (the usual interactive use) does not pay for
 * hashing every key of a large vocabulary; later ones use the hash table
 * that te_vecs_find builds.  Both find the first row with the key. */
long
te_knn_find_key(te_knn_batch *b, const char *s, size_t n)
{
	size_t rows = te_vecs_rows(b->v);

	if (!te_vecs_key(b->v, 0) && rows)
		return -1;
	if (n > 0 && b->scans < 4 && !memchr(s, '\0', n)) {
		b->scans++;
		for (size_t i = 0; i < rows; i++) {
			const char *k = te_vecs_key(b->v, i);

			/* strncmp stops at k's end, before k[n] is read */
			if (k[0] == s[0] && strncmp(k, s, n) == 0 && k[n] == '\0')
				return (long)i;
		}
		return -1;
	}
	return te_vecs_find(b->v, s, n);
}

/* True when an operator stands alone among the words of the line. */
static int
has_operator(const char *line, size_t len)
{
	for (size_t t = 0; t < len; t++)
		if ((line[t] == '+' || line[t] == '-') && (t == 0 || line[t - 1] == ' ') &&
		    (t + 1 == len || line[t + 1] == ' '))
			return 1;
	return 0;
}

/* An expression "a - b + c": terms and the operators + and - separated by
 * spaces.  Returns TE_KNN_QUERY_EXPR (q filled), 0 when the line is not an
 * expression, -1 for an unknown or excess term or a malformed expression. */
static int
parse_expr(te_knn_batch *b, const char *line, size_t len, te_knn_query *q, te_diag *d)
{
	size_t i = 0, nterms = 0;
	int sign = 1, want_term = 1;

	if (!has_operator(line, len))
		return 0;
	while (i < len) {
		size_t s, e;
		long r;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		s = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		e = i;
		if (e - s == 1 && (line[s] == '+' || line[s] == '-')) {
			if (want_term && nterms > 0)
				return te_diag_set(d, NULL, 0, "two operators in a row in '%.*s'",
				                   CLIP(len), line);
			/* an operator, or a leading sign */
			sign = line[s] == '-' ? -1 : 1;
			want_term = 1;
			continue;
		}
		if (!want_term)
			return te_diag_set(d, NULL, 0, "missing operator in '%.*s'", CLIP(len),
			                   line);
		if ((r = te_knn_find_key(b, line + s, e - s)) < 0)
			return te_diag_set(d, NULL, 0, "warning: unknown key '%.*s'", CLIP(e - s),
			                   line + s);
		if (q->npos + q->nneg == TE_KNN_TERMS)
			return te_diag_set(d, NULL, 0, "more than 8 terms in '%.*s'", CLIP(len),
			                   line);
		if (sign > 0)
			q->pos[q->npos++] = r;
		else
			q->neg[q->nneg++] = r;
		nterms++;
		want_term = 0;
		sign = 1;
	}
	if (want_term || q->npos + q->nneg == 0)
		return te_diag_set(d, NULL, 0, "incomplete expression '%.*s'", CLIP(len), line);
	return TE_KNN_QUERY_EXPR;
}

/* A vector, perhaps after a key that labels it. */
static int
parse_vector(te_knn_batch *b, const char *line, size_t len, te_knn_query *q, te_diag *d)
{
	size_t cs = 0;
	long n, ks = te_vec_split_key(line, len, &cs, d);

	if (ks < 0)
		return -1;
	if (ks > 0 && (size_t)ks == len)
		return te_diag_set(d, NULL, 0, "warning: unknown key '%.*s'", CLIP(len), line);
	n = te_parse_floats(line + cs, len - cs, &b->fbuf, &b->fcap, d);
	if (n < 0) {
		if (strlen(d->msg) > QUOTE_MAX)
			d->msg[QUOTE_MAX] = '\0';
		d->file[0] = '\0';
		d->line = 0;
		return -1;
	}
	if (n == 0)
		return te_diag_set(d, NULL, 0, "warning: unknown key '%.*s'", CLIP(len), line);
	if ((size_t)n != b->dim)
		return te_diag_set(d, NULL, 0, "query has %ld components, the vectors have %zu",
		                   n, b->dim);
	q->vec = b->fbuf;
	q->label_len = (size_t)ks;
	return TE_KNN_QUERY_VECTOR;
}

int
te_knn_parse_query(te_knn_batch *b, const char *line, size_t len, te_knn_query *q,
                   te_diag *d)
{
	long r;
	int rc;

	memset(q, 0, sizeof *q);
	if (len == 0)
		return 0;
	if (memchr(line, '\0', len)) {
		size_t n = strlen(line);

		return te_diag_set(d, NULL, 0, "NUL byte in query '%.*s'", CLIP(n), line);
	}
	if ((r = te_knn_find_key(b, line, len)) >= 0) {
		q->pos[q->npos++] = r;
		return TE_KNN_QUERY_KEY;
	}
	if ((rc = parse_expr(b, line, len, q, d)) != 0)
		return rc;
	return parse_vector(b, line, len, q, d);
}

int
te_knn_parse_keys(te_knn_batch *b, const char *positive, const char *negative,
                  te_knn_query *q, char **label, te_diag *d)
{
	const char *lists[2] = {positive, negative};
	ut_buf lab = {0};

	memset(q, 0, sizeof *q);
	*label = NULL;
	if (ut_buf_put(&lab, "", 0) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (int l = 0; l < 2; l++) {
		const char *s = lists[l];

		while (s && *s) {
			const char *e = strchr(s, ',');
			size_t n = e ? (size_t)(e - s) : strlen(s);
			const char *sep;
			long r;

			if (n == 0) {
				s = e ? e + 1 : s + n;
				continue;
			}
			if ((r = te_knn_find_key(b, s, n)) < 0) {
				te_diag_set(d, NULL, 0, "unknown key '%.*s'", (int)n, s);
				goto fail;
			}
			if (q->npos + q->nneg == TE_KNN_TERMS) {
				te_diag_set(d, NULL, 0, "more than 8 keys");
				goto fail;
			}
			if (l == 0)
				q->pos[q->npos++] = r;
			else
				q->neg[q->nneg++] = r;
			sep = q->npos + q->nneg == 1 ? (l ? "- " : "") : (l ? " - " : " + ");
			if (ut_buf_put(&lab, sep, strlen(sep)) < 0 || ut_buf_put(&lab, s, n) < 0) {
				te_diag_set(d, NULL, 0, "out of memory");
				goto fail;
			}
			s = e ? e + 1 : s + n;
		}
	}
	*label = lab.s;
	return 0;
fail:
	ut_buf_release(&lab);
	return -1;
}

/* The query vector of the terms of q: for cosine gensim's mean of the unit
 * rows, for dot and Euclidean plain sums of the raw rows. */
static void
terms_vector(const te_knn_batch *b, const struct bquery *q, float *out)
{
	size_t dim = b->dim;

	if (knn_metric(b->x) == TE_KNN_METRIC_COSINE) {
		te_knn_mean(b->x, q->pos, q->npos, q->neg, q->nneg, out);
		return;
	}
	memset(out, 0, dim * sizeof *out);
	for (size_t i = 0; i < q->npos; i++) {
		const float *r = te_vecs_row(b->v, (size_t)q->pos[i]);
		for (size_t j = 0; j < dim; j++)
			out[j] += r[j];
	}
	for (size_t i = 0; i < q->nneg; i++) {
		const float *r = te_vecs_row(b->v, (size_t)q->neg[i]);
		for (size_t j = 0; j < dim; j++)
			out[j] -= r[j];
	}
}

void
te_knn_batch_set_offset(te_knn_batch *b, long offset)
{
	b->offset = offset;
}

/* The row a vector query is, or -1: the row its label names (a key of a
 * keyed file, a number counting from 1 (plus the offset) in an unkeyed
 * one) when the query's components are that row's, bit for bit. */
static long
self_row(te_knn_batch *b, const char *label, size_t len, const float *vec)
{
	size_t rows = te_vecs_rows(b->v);
	long r = -1;

	if (len == 0)
		return -1;
	if (te_vecs_key(b->v, 0)) {
		r = te_knn_find_key(b, label, len);
	} else if (len < 20 && label[0] >= '1' && label[0] <= '9') {
		long n = 0;

		for (size_t i = 0; i < len; i++) {
			if (label[i] < '0' || label[i] > '9')
				return -1;
			n = n * 10 + (label[i] - '0');
		}
		r = n - 1 - b->offset;
	}
	if (r < 0 || (size_t)r >= rows ||
	    memcmp(te_vecs_row(b->v, (size_t)r), vec, b->dim * sizeof *vec) != 0)
		return -1;
	return r;
}

int
te_knn_batch_add(te_knn_batch *b, const char *label, size_t len, const te_knn_query *q,
                 int cosmul, te_diag *d)
{
	struct bquery *bq;

	if (b->n == b->cap)
		return te_diag_set(d, NULL, 0, "the batch is full");
	bq = &b->q[b->n];
	memset(bq, 0, sizeof *bq);
	if (!(bq->label = strndup(label, len)))
		return te_diag_set(d, NULL, 0, "out of memory");
	if (q->vec) {
		long self = self_row(b, label, len, q->vec);

		if (self >= 0)
			bq->excl[bq->nexcl++] = self;
		memcpy(b->qv + b->n * b->dim, q->vec, b->dim * sizeof *q->vec);
		b->n++;
		return 0;
	}
	memcpy(bq->pos, q->pos, sizeof bq->pos);
	memcpy(bq->neg, q->neg, sizeof bq->neg);
	bq->npos = q->npos;
	bq->nneg = q->nneg;
	for (size_t i = 0; i < q->npos; i++)
		bq->excl[bq->nexcl++] = q->pos[i];
	for (size_t i = 0; i < q->nneg; i++)
		bq->excl[bq->nexcl++] = q->neg[i];
	bq->cosmul = cosmul && !b->h && q->npos > 0;
	terms_vector(b, bq, b->qv + b->n * b->dim);
	b->n++;
	return 0;
}

/* The queries that are not 3CosMul, in one search: their vectors (where
 * they are, when there is no 3CosMul query) and exclusions (nex a query,
 * -1 padded); vix[i] is query i's place among them.  Returns the number
 * searched, or -1. */
static long
search_vectors(te_knn_batch *b, size_t *vix, te_diag *d)
{
	size_t i, j, nex = 0, nv = 0;
	long *ex;
	float *qv;
	int rc = 0;

	for (i = 0; i < b->n; i++)
		if (b->q[i].nexcl > nex)
			nex = b->q[i].nexcl;
	for (i = 0; i < b->n && !b->q[i].cosmul; i++)
		;
	ex = malloc(b->n * (nex ? nex : 1) * sizeof *ex);
	qv = i == b->n ? b->qv : malloc(b->n * b->dim * sizeof *qv);
	if (!ex || !qv) {
		free(ex);
		if (qv != b->qv)
			free(qv);
		return te_diag_set(d, NULL, 0, "out of memory");
	}
	for (i = 0; i < b->n; i++) {
		if (b->q[i].cosmul)
			continue;
		vix[i] = nv;
		if (qv != b->qv)
			memcpy(qv + nv * b->dim, b->qv + i * b->dim, b->dim * sizeof *qv);
		for (j = 0; j < nex; j++)
			ex[nv * nex + j] = j < b->q[i].nexcl ? b->q[i].excl[j] : -1;
		nv++;
	}
	if (nv)
		rc = b->h ? te_hnsw_search(b->h, qv, nv, b->k, b->ef, nex ? ex : NULL, nex,
		                           b->threads, b->hits, b->nhits, d)
		          : te_knn_search(b->x, qv, nv, b->k, b->limit, nex ? ex : NULL, nex,
		                          b->hits, b->nhits, d);
	free(ex);
	if (qv != b->qv)
		free(qv);
	return rc < 0 ? -1 : (long)nv;
}

int
te_knn_batch_run(te_knn_batch *b, te_knn_answer_fn fn, void *arg, te_diag *d)
{
	size_t *vix;
	long nv;
	int rc = 0;

	if (b->n == 0)
		return 0;
	if (!(vix = malloc(b->n * sizeof *vix)))
		return te_diag_set(d, NULL, 0, "out of memory");
	if ((nv = search_vectors(b, vix, d)) < 0)
		rc = -1;
	for (size_t i = 0; i < b->n && rc == 0; i++) {
		struct bquery *q = &b->q[i];
		te_hit *h;
		size_t n;

		if (q->cosmul) {
			h = b->hits + (size_t)nv * b->k;  /* the slot after the searched ones */
			if (te_knn_cosmul(b->x, q->pos, q->npos, q->neg, q->nneg, b->k, h, &n,
			                  d) < 0) {
				rc = -1;
				break;
			}
		} else {
			h = b->hits + vix[i] * b->k;
			n = b->nhits[vix[i]];
		}
		fn(arg, q->label, h, n);
	}
	for (size_t i = 0; i < b->n; i++)
		free(b->q[i].label);
	b->n = 0;
	free(vix);
	return rc;
}

/* ------------------------------------------------- pairs */

/* The vector of a parsed query side into out (dim floats). */
static void
side_vector(const te_knn_batch *b, const te_knn_query *q, float *out)
{
	struct bquery bq = {0};

	if (q->vec) {
		memcpy(out, q->vec, b->dim * sizeof *out);
		return;
	}
	memcpy(bq.pos, q->pos, sizeof bq.pos);
	memcpy(bq.neg, q->neg, sizeof bq.neg);
	bq.npos = q->npos;
	bq.nneg = q->nneg;
	terms_vector(b, &bq, out);
}

/* The score of x against y in the index's metric: cosine, dot product or
 * Euclidean distance, summed in double. */
static float
pair_score(te_knn_metric m, const float *x, const float *y, size_t dim)
{
	double xy = 0, xx = 0, yy = 0, dd = 0;

	for (size_t i = 0; i < dim; i++) {
		double a = x[i], c = y[i];

		xy += a * c;
		xx += a * a;
		yy += c * c;
		dd += (a - c) * (a - c);
	}
	if (m == TE_KNN_METRIC_DOT)
		return (float)xy;
	if (m == TE_KNN_METRIC_EUCLIDEAN)
		return (float)sqrt(dd);
	return xx > 0 && yy > 0 ? (float)(xy / (sqrt(xx) * sqrt(yy))) : 0.0f;
}

int
te_knn_pair(te_knn_batch *b, const char *line, size_t len, float *score, size_t *split,
            te_diag *d)
{
	const char *tab = memchr(line, '\t', len);
	te_knn_query q;
	float *x;
	size_t t;
	int rc;

	if (!tab || memchr(tab + 1, '\t', len - (size_t)(tab - line) - 1))
		return te_diag_set(d, NULL, 0, "not two fields separated by one tab: "
		                   "'%.*s'", CLIP(len), line);
	t = (size_t)(tab - line);
	if (!(x = malloc(2 * b->dim * sizeof *x)))
		return te_diag_set(d, NULL, 0, "out of memory");
	for (int side = 0; side < 2; side++) {
		const char *s = side ? tab + 1 : line;
		size_t n = side ? len - t - 1 : t;

		rc = te_knn_parse_query(b, s, n, &q, d);
		if (rc == 0)
			rc = te_diag_set(d, NULL, 0, "an empty field in '%.*s'", CLIP(len), line);
		if (rc < 0) {
			free(x);
			return -1;
		}
		side_vector(b, &q, x + (size_t)side * b->dim);
	}
	*score = pair_score(knn_metric(b->x), x, x + b->dim, b->dim);
	*split = t;
	free(x);
	return 0;
}

int
te_knn_pairs_read(te_knn_batch *b, const char *path, te_knn_pair_fn fn, void *arg,
                  te_warn_fn warn, void *warnarg)
{
	te_diag w = {0};
	te_reader *r;
	char *line;
	size_t len, split;
	float score;
	int rc;

	if (!(r = te_reader_open(path, '\n', &w))) {
		if (warn)
			warn(&w, warnarg);
		return 0;
	}
	te_reader_strip_cr(r, 1);
	while ((rc = te_reader_next(r, &line, &len, &w)) == 1) {
		if (len == 0)
			continue;
		if (te_knn_pair(b, line, len, &score, &split, &w) < 0) {
			snprintf(w.file, sizeof w.file, "%s", te_reader_name(r));
			w.line = te_reader_lineno(r);
			if (warn)
				warn(&w, warnarg);
			continue;
		}
		fn(arg, line, split, line + split + 1, len - split - 1, score);
	}
	if (rc < 0 && warn)
		warn(&w, warnarg);
	te_reader_close(r);
	return 0;
}

/* ------------------------------------------------- query files */

/* How a file of queries is read: its batch, what to do with the answers
 * and the problems, and the fatal error, if any. */
struct reading {
	te_knn_batch *b;
	int cosmul;
	te_knn_answer_fn fn;
	void *arg;
	te_warn_fn warn;
	void *warnarg;
	te_diag *d;
};

static void
warn_at(struct reading *rd, const char *name, long ln, te_diag *w)
{
	snprintf(w->file, sizeof w->file, "%s", name);
	w->line = ln;
	if (rd->warn)
		rd->warn(w, rd->warnarg);
}

/* Add a query, answering the batch first when it is full. */
static int
add_query(struct reading *rd, const char *label, size_t len, const te_knn_query *q)
{
	if (te_knn_batch_full(rd->b) && te_knn_batch_run(rd->b, rd->fn, rd->arg, rd->d) < 0)
		return -1;
	return te_knn_batch_add(rd->b, label, len, q, rd->cosmul, rd->d);
}

/* One query line of a text file. */
static int
query_line(struct reading *rd, const char *name, long ln, const char *line, size_t len)
{
	te_knn_query q;
	te_diag w = {0};
	char lab[32];

	switch (te_knn_parse_query(rd->b, line, len, &q, &w)) {
	case -1:
		warn_at(rd, name, ln, &w);
		return 0;
	case TE_KNN_QUERY_EXPR:
		if (rd->cosmul && q.npos == 0) {
			te_diag_set(&w, NULL, 0, "3CosMul needs a positive term: '%.*s'",
			            CLIP(len), line);
			warn_at(rd, name, ln, &w);
			return 0;
		}
		/* fall through */
	case TE_KNN_QUERY_KEY:
		return add_query(rd, line, len, &q);
	case TE_KNN_QUERY_VECTOR:
		if (q.label_len)
			return add_query(rd, line, q.label_len, &q);
		snprintf(lab, sizeof lab, "%ld", ln);
		return add_query(rd, lab, strlen(lab), &q);
	}
	return 0;
}

/* A TEVEC file of query vectors: labelled by their row, counting from 1. */
static int
read_tevec(struct reading *rd, const char *path)
{
	te_diag w = {0};
	te_vecstream *s = te_vecstream_open(path, &w);
	float *x;
	size_t n;
	long row = 0;
	int rc;

	if (!s) {
		if (rd->warn)
			rd->warn(&w, rd->warnarg);
		return 0;
	}
	while ((rc = te_vecstream_next_vec(s, &x, &n, NULL, &w)) >= 1) {
		te_knn_query q = {.vec = x};
		char lab[32];

		row++;
		if (rc == 2) {
			if (rd->warn)
				rd->warn(&w, rd->warnarg);
			continue;
		}
		if (n != rd->b->dim) {
			te_diag_set(&w, path, row, "query has %zu components", n);
			if (rd->warn)
				rd->warn(&w, rd->warnarg);
			break;
		}
		snprintf(lab, sizeof lab, "%ld", row);
		if (add_query(rd, lab, strlen(lab), &q) < 0) {
			te_vecstream_close(s);
			return -1;
		}
	}
	te_vecstream_close(s);
	if (te_knn_batch_run(rd->b, rd->fn, rd->arg, rd->d) < 0)
		return -1;
	if (rc < 0 && rd->warn)
		rd->warn(&w, rd->warnarg);
	return 0;
}

/* A .npy file of query vectors: labelled by their key (FILE.keys) or row,
 * counting from 1. */
static int
read_npy(struct reading *rd, const char *path)
{
	te_diag w = {0};
	te_vecs *v = te_vecs_load(path, TE_VEC_FORMAT_NPY, &w);
	size_t n;

	if (!v) {
		if (rd->warn)
			rd->warn(&w, rd->warnarg);
		return 0;
	}
	n = te_vecs_dim(v) == rd->b->dim ? te_vecs_rows(v) : 0;
	if (n == 0 && te_vecs_rows(v)) {
		te_diag_set(&w, path, 0, "query has %zu components", te_vecs_dim(v));
		if (rd->warn)
			rd->warn(&w, rd->warnarg);
	}
	for (size_t i = 0; i < n; i++) {
		te_knn_query q = {.vec = te_vecs_row(v, i)};
		const char *key = te_vecs_key(v, i);
		char lab[32];

		if (!key) {
			snprintf(lab, sizeof lab, "%zu", i + 1);
			key = lab;
		}
		if (add_query(rd, key, strlen(key), &q) < 0) {
			te_vecs_free(v);
			return -1;
		}
	}
	te_vecs_free(v);
	return te_knn_batch_run(rd->b, rd->fn, rd->arg, rd->d) < 0 ? -1 : 0;
}

/* True when path (or standard input, if it is a file) starts with the
 * TEVEC magic (1) or NumPy's (2). */
static int
is_tevec(const char *path)
{
	char m[8];
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, m, sizeof m, 0);
	if (fd != STDIN_FILENO)
		close(fd);
	if (n == 8 && memcmp(m, "\x93NUMPY", 6) == 0)
		return 2;
	return n == 8 && memcmp(m, TE_VEC_MAGIC, 8) == 0;
}

void
te_knn_batch_set_delim(te_knn_batch *b, int delim)
{
	b->delim = delim;
}

int
te_knn_batch_read(te_knn_batch *b, const char *path, int cosmul, te_knn_answer_fn fn,
                  void *arg, te_warn_fn warn, void *warnarg, te_diag *d)
{
	struct reading rd = {b, cosmul, fn, arg, warn, warnarg, d};
	te_diag w = {0};
	te_reader *r;
	char *line;
	size_t len;
	int rc;

	switch (is_tevec(path)) {
	case 1:
		return read_tevec(&rd, path);
	case 2:
		if (strcmp(path, "-") == 0)
			break;
		return read_npy(&rd, path);
	}
	if (!(r = te_reader_open(path, b->delim, &w))) {
		if (warn)
			warn(&w, warnarg);
		return 0;
	}
	te_reader_strip_cr(r, b->delim == '\n');
	while ((rc = te_reader_next(r, &line, &len, &w)) == 1)
		if (query_line(&rd, te_reader_name(r), te_reader_lineno(r), line, len) < 0) {
			te_reader_close(r);
			return -1;
		}
	te_reader_close(r);
	if (te_knn_batch_run(b, fn, arg, d) < 0)
		return -1;
	if (rc < 0 && warn)
		warn(&w, warnarg);
	return 0;
}

int
te_knn_write_json_str(FILE *fp, const char *s, size_t n)
{
	return ut_json_strf(fp, s, n, UT_JSON_BYTES);
}
