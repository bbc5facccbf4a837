/* rec.c: the recommendation catalogue: unit vectors, combined queries, top n by BLAS. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rec_int.h"

te_rec *
rec_alloc(size_t m, size_t dim, te_diag *d)
{
	te_rec *r;

	if (dim && m > SIZE_MAX / dim / sizeof(float)) {
		te_diag_set(d, NULL, 0, "out of memory");
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r)
		goto oom;
	r->m = m;
	r->dim = dim;
	r->unit = malloc((m ? m : 1) * dim * sizeof *r->unit);
	r->mask = calloc(m ? m : 1, 1);
	r->scores = malloc((m ? m : 1) * sizeof *r->scores);
	if (!r->unit || !r->mask || !r->scores)
		goto oom;
	return r;
oom:
	te_rec_free(r);
	te_diag_set(d, NULL, 0, "out of memory");
	return NULL;
}

void
rec_set_row(te_rec *r, size_t i, const float *x, const char *key)
{
	float *u = r->unit + i * r->dim;
	double ss = 0;

	for (size_t j = 0; j < r->dim; j++)
		ss += (double)x[j] * x[j];
	/* a zero vector stays zero: cosine 0 to everything */
	ss = ss > 0 ? 1 / sqrt(ss) : 0;
	for (size_t j = 0; j < r->dim; j++)
		u[j] = (float)(x[j] * ss);
	r->mask[i] = strcmp(key, "</s>") == 0 ? REC_NEVER : 0;
}

te_rec *
te_rec_new(te_vecs *v, te_diag *d)
{
	te_rec *r;
	size_t m = te_vecs_rows(v);

	if (m > 0 && !te_vecs_key(v, 0)) {
		te_diag_set(d, NULL, 0, "the vectors have no keys (item ids)");
		return NULL;
	}
	r = rec_alloc(m, te_vecs_dim(v), d);
	if (!r)
		return NULL;
	r->v = v;
	for (size_t i = 0; i < m; i++)
		rec_set_row(r, i, te_vecs_row(v, i), te_vecs_key(v, i));
	return r;
}

void
te_rec_free(te_rec *r)
{
	if (!r)
		return;
	free(r->unit);
	free(r->mask);
	free(r->scores);
	free(r->qbuf);
	free(r);
}

size_t te_rec_items(const te_rec *r) { return r->m; }
const char *te_rec_key(const te_rec *r, size_t row) { return te_vecs_key(r->v, row); }

long
te_rec_find(te_rec *r, const char *id, size_t len)
{
	/* keys are C strings: an id holding a NUL is none of them */
	if (memchr(id, '\0', len))
		return -1;
	return te_vecs_find(r->v, id, len);
}

static const char *const combine_names[] = {"mean", "sum", "max", "recent"};

const char *
rec_combine_name(te_rec_combine how)
{
	return combine_names[how];
}

int
te_rec_combine_parse(const char *name, te_rec_combine *how)
{
	const char *const *names = combine_names;

	for (size_t i = 0; i < sizeof combine_names / sizeof *combine_names; i++)
		if (strcmp(name, names[i]) == 0) {
			*how = (te_rec_combine)i;
			return 0;
		}
	return -1;
}

void
rec_qvec(const te_rec *r, const size_t *rows, size_t k, te_rec_combine how, float *v)
{
	size_t dim = r->dim;
	double ss = 0;

	memset(v, 0, dim * sizeof *v);
	for (size_t i = 0; i < k; i++) {
		float w = how == TE_REC_COMBINE_RECENT ? (float)(i + 1) / (float)k : 1.0f;

		cblas_saxpy((int)dim, w, r->unit + rows[i] * dim, 1, v, 1);
	}
	if (how == TE_REC_COMBINE_SUM)
		return;
	for (size_t j = 0; j < dim; j++)
		ss += (double)v[j] * v[j];
	ss = ss > 0 ? 1 / sqrt(ss) : 0;
	for (size_t j = 0; j < dim; j++)
		v[j] = (float)(v[j] * ss);
}

int
rec_scores(te_rec *r, const size_t *rows, size_t k, te_rec_combine how, float *scores)
{
	size_t dim = r->dim, m = r->m;

	if (m == 0)
		return 0;
	if (how != TE_REC_COMBINE_MAX) {
		if (r->qcap < 1) {
			float *nb = realloc(r->qbuf, dim * sizeof *nb);

			if (!nb)
				return -1;
			r->qbuf = nb;
			r->qcap = 1;
		}
		rec_qvec(r, rows, k, how, r->qbuf);
		/* scores (m) = unit (m, dim) . q (dim) */
		cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)dim, 1.0f, r->unit,
		            (int)dim, r->qbuf, 1, 0.0f, scores, 1);
		return 0;
	}
	for (size_t j = 0; j < m; j++)
		scores[j] = -INFINITY;
	/* one item at a time keeps the scratch at m floats whatever k is */
	{
		float *tmp = malloc(m * sizeof *tmp);

		if (!tmp)
			return -1;
		for (size_t i = 0; i < k; i++) {
			cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)dim, 1.0f,
			            r->unit, (int)dim, r->unit + rows[i] * dim, 1, 0.0f, tmp, 1);
			for (size_t j = 0; j < m; j++)
				if (tmp[j] > scores[j])
					scores[j] = tmp[j];
		}
		free(tmp);
	}
	return 0;
}

size_t
rec_topn(const te_rec *r, const float *scores, size_t n, te_rec_hit *out)
{
	ut_heap hp = {out, 0, n};

	if (n == 0)
		return 0;
	for (size_t j = 0; j < r->m; j++)
		if (!r->mask[j])
			ut_heap_push(&hp, scores[j], (long)j);
	ut_heap_sort(&hp);
	return hp.n;
}

/* The scores of the hits again, each a dot product summed in one fixed
 * order in double: what BLAS returns depends on the kernel it picks for the
 * shape (one query or many), and a line's output must not depend on the
 * lines read with it.  Then the hits are sorted by these scores. */
static void
rescore(const te_rec *r, const size_t *q, size_t nq, te_rec_combine how, const float *qv,
        te_rec_hit *hits, size_t k)
{
	size_t dim = r->dim;

	for (size_t i = 0; i < k; i++) {
		const float *u = r->unit + hits[i].row * dim;
		double best = -INFINITY;

		if (how == TE_REC_COMBINE_MAX) {
			for (size_t j = 0; j < nq; j++) {
				const float *x = r->unit + q[j] * dim;
				double s = 0;

				for (size_t c = 0; c < dim; c++)
					s += (double)x[c] * u[c];
				if (s > best)
					best = s;
			}
		} else {
			best = 0;
			for (size_t c = 0; c < dim; c++)
				best += (double)qv[c] * u[c];
		}
		hits[i].score = (float)best;
	}
	qsort(hits, k, sizeof *hits, ut_hit_cmp);
}

long
te_rec_query(te_rec *r, const size_t *q, size_t nq, te_rec_combine how, size_t n,
             te_rec_hit *out, te_diag *d)
{
	size_t k;

	if (nq == 0)
		return te_diag_set(d, NULL, 0, "empty query");
	for (size_t i = 0; i < nq; i++)
		if (q[i] >= r->m)
			return te_diag_set(d, NULL, 0, "row %zu out of range", q[i]);
	if (rec_scores(r, q, nq, how, r->scores) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < nq; i++)
		r->mask[q[i]] |= REC_QUERY;
	k = rec_topn(r, r->scores, n, out);
	for (size_t i = 0; i < nq; i++)
		r->mask[q[i]] &= (unsigned char)~REC_QUERY;
	rescore(r, q, nq, how, r->qbuf, out, k);
	return (long)k;
}

int
te_rec_query_many(te_rec *r, const size_t *q, const size_t *qoff, size_t nb,
                  te_rec_combine how, size_t n, te_rec_hit *out, size_t *counts,
                  te_diag *d)
{
	size_t dim = r->dim, m = r->m, bcap;
	float *block = NULL, *qv = NULL;

	for (size_t b = 0; b < nb; b++) {
		if (qoff[b + 1] <= qoff[b])
			return te_diag_set(d, NULL, 0, "empty query");
		for (size_t i = qoff[b]; i < qoff[b + 1]; i++)
			if (q[i] >= m)
				return te_diag_set(d, NULL, 0, "row %zu out of range", q[i]);
	}
	if (how == TE_REC_COMBINE_MAX || nb == 1 || m == 0) {
		for (size_t b = 0; b < nb; b++) {
			long k = te_rec_query(r, q + qoff[b], qoff[b + 1] - qoff[b], how, n,
			                      out + b * n, d);
			if (k < 0)
				return -1;
			counts[b] = (size_t)k;
		}
		return 0;
	}
	/* rows of scores at once: BLAS 3 without a huge block */
	bcap = (1u << 22) / m;
	bcap = bcap < 1 ? 1 : bcap > nb ? nb : bcap;
	block = malloc(bcap * m * sizeof *block);
	qv = malloc(bcap * dim * sizeof *qv);
	if (!block || !qv) {
		free(block);
		free(qv);
		return te_diag_set(d, NULL, 0, "out of memory");
	}
	for (size_t b0 = 0; b0 < nb; b0 += bcap) {
		size_t b1 = b0 + bcap < nb ? b0 + bcap : nb;

		for (size_t b = b0; b < b1; b++)
			rec_qvec(r, q + qoff[b], qoff[b + 1] - qoff[b], how, qv + (b - b0) * dim);
		/* block (B, m) = qv (B, dim) . unit (m, dim)^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(b1 - b0), (int)m,
		            (int)dim, 1.0f, qv, (int)dim, r->unit, (int)dim, 0.0f, block,
		            (int)m);
		for (size_t b = b0; b < b1; b++) {
			for (size_t i = qoff[b]; i < qoff[b + 1]; i++)
				r->mask[q[i]] |= REC_QUERY;
			counts[b] = rec_topn(r, block + (b - b0) * m, n, out + b * n);
			for (size_t i = qoff[b]; i < qoff[b + 1]; i++)
				r->mask[q[i]] &= (unsigned char)~REC_QUERY;
			rescore(r, q + qoff[b], qoff[b + 1] - qoff[b], how, qv + (b - b0) * dim,
			        out + b * n, counts[b]);
		}
	}
	free(block);
	free(qv);
	return 0;
}
