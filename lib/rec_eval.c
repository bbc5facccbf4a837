/* rec_eval.c: next-item evaluation of recommendations against a popularity baseline. */
#define _GNU_SOURCE
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_int.h"

struct eval {
	te_rec *r;
	size_t n, context;
	te_rec_combine how;
	ut_strmap dict;        /* every item of train and test */
	size_t *count;          /* dict.n: occurrences in train */
	size_t *rest;           /* dict.n: occurrences at positions >= i */
	size_t ccap;            /* capacity of count and rest */
	long *row2dict;         /* r->m: dict id of a row seen in test, or -1 */
	size_t *pop;            /* dict ids by count, most frequent first */
	size_t npop;
	unsigned char *vseen, *pseen;   /* coverage: r->m rows, ccap dict ids */
	size_t vcov, pcov;
	double vhit, vrec, vmrr, phit, prec, pmrr;
	te_rec_metrics *vm, *pm;
	te_rec_hit *hits;
	size_t *pq;             /* popularity picks, n */
};

/* Make room for dict ids below need in the per-id arrays. */
static int
fit(struct eval *e, size_t need)
{
	size_t nc;

	if (need <= e->ccap)
		return 0;
	nc = e->ccap ? e->ccap : 1024;
	while (nc < need)
		nc *= 2;
	size_t *c = realloc(e->count, nc * sizeof *c);
	if (!c)
		return -1;
	e->count = c;
	size_t *rs = realloc(e->rest, nc * sizeof *rs);
	if (!rs)
		return -1;
	e->rest = rs;
	unsigned char *ps = realloc(e->pseen, nc);
	if (!ps)
		return -1;
	e->pseen = ps;
	memset(e->count + e->ccap, 0, (nc - e->ccap) * sizeof *c);
	memset(e->rest + e->ccap, 0, (nc - e->ccap) * sizeof *rs);
	memset(e->pseen + e->ccap, 0, nc - e->ccap);
	e->ccap = nc;
	return 0;
}

static int
read_train(struct eval *e, te_reader *train, te_diag *d)
{
	char *s;
	size_t len;
	int rc;

	while ((rc = te_reader_next(train, &s, &len, d)) == 1) {
		size_t pos = 0, tl;
		const char *tok;

		while (rec_token(s, len, &pos, &tok, &tl)) {
			long id = ut_strmap_intern(&e->dict, tok, tl);

			if (id < 0 || fit(e, (size_t)id + 1) < 0)
				return te_diag_set(d, te_reader_name(train), te_reader_lineno(train),
				                   "out of memory");
			e->count[id]++;
		}
	}
	return rc;
}

static int
in_context(const size_t *ids, size_t b, size_t i, size_t id)
{
	for (size_t k = b; k < i; k++)
		if (ids[k] == id)
			return 1;
	return 0;
}

/* Evaluate positions [i0, i1) of one sequence whose scores (for the
 * non-MAX combinations) are in block, one row of m per position. */
static int
eval_positions(struct eval *e, const size_t *ids, const long *rows, size_t i0, size_t i1,
               const float *block, size_t *ndistinct, size_t *qrows, te_diag *d)
{
	te_rec *r = e->r;

	for (size_t i = i0; i < i1; i++) {
		size_t b = i > e->context ? i - e->context : 0, nq = 0, k;
		size_t target = ids[i];

		if (--e->rest[ids[i - 1]] == 0)
			(*ndistinct)--;
		e->vm->queries++;
		if (rows[i] < 0)
			e->vm->no_target++;
		for (size_t j = b; j < i; j++)
			if (rows[j] >= 0)
				qrows[nq++] = (size_t)rows[j];
		if (nq == 0) {
			e->vm->no_context++;
		} else {
			const float *sc = block ? block + (i - i0) * r->m : r->scores;
			size_t inrest = 0;

			if (!block && rec_scores(r, qrows, nq, e->how, r->scores) < 0)
				return te_diag_set(d, NULL, 0, "out of memory");
			for (size_t j = 0; j < nq; j++)
				r->mask[qrows[j]] |= REC_QUERY;
			k = rec_topn(r, sc, e->n, e->hits);
			for (size_t j = 0; j < nq; j++)
				r->mask[qrows[j]] &= (unsigned char)~REC_QUERY;
			for (size_t j = 0; j < k; j++) {
				size_t row = e->hits[j].row;
				long did = e->row2dict[row];

				if (!e->vseen[row]) {
					e->vseen[row] = 1;
					e->vcov++;
				}
				if ((long)row == rows[i]) {
					e->vhit += 1;
					e->vmrr += 1.0 / (double)(j + 1);
				}
				if (did >= 0 && e->rest[did])
					inrest++;
			}
			e->vrec += (double)inrest / (double)*ndistinct;
		}
		if (e->pm && e->npop) {
			size_t got = 0, inrest = 0;

			e->pm->queries++;
			for (size_t p = 0; p < e->npop && got < e->n; p++) {
				size_t id = e->pop[p];

				if (in_context(ids, b, i, id))
					continue;
				if (!e->pseen[id]) {
					e->pseen[id] = 1;
					e->pcov++;
				}
				if (id == target) {
					e->phit += 1;
					e->pmrr += 1.0 / (double)(got + 1);
				}
				if (e->rest[id])
					inrest++;
				got++;
			}
			e->prec += (double)inrest / (double)*ndistinct;
		} else if (e->pm) {
			e->pm->queries++;
		}
	}
	return 0;
}

int
te_rec_eval(te_rec *r, te_reader *test, te_reader *train, size_t n, size_t context,
            te_rec_combine how, te_rec_metrics *vec, te_rec_metrics *pop, te_diag *d)
{
	struct eval e = {0};
	size_t *ids = NULL, *qrows = NULL, icap = 0, bcap;
	long *rows = NULL;
	float *block = NULL, *qv = NULL;
	char *s;
	size_t len;
	int rc = -1;

	memset(vec, 0, sizeof *vec);
	if (pop)
		memset(pop, 0, sizeof *pop);
	e.r = r;
	e.n = n;
	e.context = context ? context : 1;
	e.how = how;
	e.vm = vec;
	e.pm = train ? pop : NULL;
	/* rows of scores computed at once: BLAS 3 without a huge block */
	bcap = r->m ? (1u << 22) / r->m : 1;
	bcap = bcap < 1 ? 1 : bcap > 128 ? 128 : bcap;
	e.row2dict = malloc((r->m ? r->m : 1) * sizeof *e.row2dict);
	e.vseen = calloc(r->m ? r->m : 1, 1);
	e.hits = malloc((n ? n : 1) * sizeof *e.hits);
	qrows = malloc(e.context * sizeof *qrows);
	if (how != TE_REC_COMBINE_MAX) {
		block = malloc(bcap * (r->m ? r->m : 1) * sizeof *block);
		qv = malloc(bcap * (r->dim ? r->dim : 1) * sizeof *qv);
	}
	if (!e.row2dict || !e.vseen || !e.hits || !qrows ||
	    (how != TE_REC_COMBINE_MAX && (!block || !qv)))
		goto oom;
	for (size_t i = 0; i < r->m; i++)
		e.row2dict[i] = -1;
	if (train) {
		if (read_train(&e, train, d) < 0)
			goto out;
		e.pop = malloc((e.dict.n ? e.dict.n : 1) * sizeof *e.pop);
		if (!e.pop)
			goto oom;
		for (size_t i = 0; i < e.dict.n; i++)
			e.pop[i] = i;
		e.npop = e.dict.n;
		qsort_r(e.pop, e.npop, sizeof *e.pop, rec_by_count, e.count);
	}
	while ((rc = te_reader_next(test, &s, &len, d)) == 1) {
		size_t pos = 0, tl, L = 0, ndistinct = 0;
		const char *tok;

		while (rec_token(s, len, &pos, &tok, &tl)) {
			long id = ut_strmap_intern(&e.dict, tok, tl);

			if (id < 0 || fit(&e, (size_t)id + 1) < 0)
				goto oom;
			if (L == icap) {
				size_t nc = icap ? icap * 2 : 256;
				size_t *ni = realloc(ids, nc * sizeof *ni);
				long *nr;

				if (!ni)
					goto oom;
				ids = ni;
				nr = realloc(rows, nc * sizeof *nr);
				if (!nr)
					goto oom;
				rows = nr;
				icap = nc;
			}
			ids[L] = (size_t)id;
			rows[L] = te_rec_find(r, tok, tl);
			if (rows[L] >= 0 && r->mask[rows[L]] & REC_NEVER)
				rows[L] = -1;
			if (rows[L] >= 0)
				e.row2dict[rows[L]] = id;
			if (e.rest[id]++ == 0)
				ndistinct++;
			L++;
		}
		for (size_t i0 = 1; i0 < L; i0 += bcap) {
			size_t i1 = i0 + bcap < L ? i0 + bcap : L;

			if (block) {
				/* one query vector per position; then scores (B, m) =
				 * q (B, dim) . unit (m, dim)^T */
				for (size_t i = i0; i < i1; i++) {
					size_t b = i > e.context ? i - e.context : 0, nq = 0;

					for (size_t j = b; j < i; j++)
						if (rows[j] >= 0)
							qrows[nq++] = (size_t)rows[j];
					if (nq)
						rec_qvec(r, qrows, nq, how, qv + (i - i0) * r->dim);
					else
						memset(qv + (i - i0) * r->dim, 0, r->dim * sizeof *qv);
				}
				if (r->m)
					cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
					            (int)(i1 - i0), (int)r->m, (int)r->dim, 1.0f, qv,
					            (int)r->dim, r->unit, (int)r->dim, 0.0f, block,
					            (int)r->m);
			}
			if (eval_positions(&e, ids, rows, i0, i1, block, &ndistinct, qrows, d) < 0)
				goto out;
		}
		/* clear what is left of this sequence's counts */
		for (size_t i = 0; i < L; i++) {
			e.rest[ids[i]] = 0;
			if (rows[i] >= 0)
				e.row2dict[rows[i]] = -1;
		}
	}
	if (rc < 0)
		goto out;
	if (vec->queries) {
		vec->hit = e.vhit / (double)vec->queries;
		vec->recall = e.vrec / (double)vec->queries;
		vec->mrr = e.vmrr / (double)vec->queries;
	}
	vec->coverage = r->m ? (double)e.vcov / (double)r->m : 0;
	if (e.pm && pop->queries) {
		pop->hit = e.phit / (double)pop->queries;
		pop->recall = e.prec / (double)pop->queries;
		pop->mrr = e.pmrr / (double)pop->queries;
		pop->coverage = r->m ? (double)e.pcov / (double)r->m : 0;
	}
	rc = 0;
	goto out;
oom:
	rc = te_diag_set(d, te_reader_name(test), te_reader_lineno(test), "out of memory");
out:
	ut_strmap_release(&e.dict);
	free(e.count);
	free(e.rest);
	free(e.row2dict);
	free(e.pop);
	free(e.vseen);
	free(e.pseen);
	free(e.hits);
	free(ids);
	free(rows);
	free(qrows);
	free(block);
	free(qv);
	return rc;
}

int
te_rec_metrics_write(FILE *fp, const te_rec_metrics *v, const te_rec_metrics *p, size_t n,
                     size_t context, te_rec_combine how, int json)
{
	if (json) {
		fprintf(fp, "{\"n\":%zu,\"context\":%zu,\"combine\":\"%s\",\"queries\":%zu,"
		        "\"no_context\":%zu,\"no_target\":%zu,"
		        "\"vectors\":{\"hit\":%.6f,\"recall\":%.6f,\"mrr\":%.6f,\"coverage\":%.6f}",
		        n, context, rec_combine_name(how), v->queries, v->no_context, v->no_target,
		        v->hit, v->recall, v->mrr, v->coverage);
		if (p)
			fprintf(fp, ",\"popularity\":{\"hit\":%.6f,\"recall\":%.6f,\"mrr\":%.6f,"
			        "\"coverage\":%.6f}", p->hit, p->recall, p->mrr, p->coverage);
		fputs("}\n", fp);
		return ferror(fp) ? -1 : 0;
	}
	fprintf(fp, "metric\tvectors\tpopularity\n");
	/* both sides answer the same queries */
	if (p)
		fprintf(fp, "queries\t%zu\t%zu\n", v->queries, p->queries);
	else
		fprintf(fp, "queries\t%zu\t-\n", v->queries);
	static const char *const name[] = {"hit", "recall", "mrr", "coverage"};
	const double vv[] = {v->hit, v->recall, v->mrr, v->coverage};
	const double pv[] = {p ? p->hit : 0, p ? p->recall : 0, p ? p->mrr : 0,
	                     p ? p->coverage : 0};
	for (int i = 0; i < 4; i++) {
		fprintf(fp, "%s@%zu\t%.4f\t", name[i], n, vv[i]);
		if (p)
			fprintf(fp, "%.4f\n", pv[i]);
		else
			fputs("-\n", fp);
	}
	fprintf(fp, "no_context\t%zu\t-\n", v->no_context);
	fprintf(fp, "no_target\t%zu\t-\n", v->no_target);
	return ferror(fp) ? -1 : 0;
}
