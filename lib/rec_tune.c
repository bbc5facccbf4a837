/* rec_tune.c: recommend --tune: word2vec's hyperparameters searched one at a
 * time, each setting scored on next items held out of the training sequences. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_int.h"

/* The validation split of the training sequences. */
struct split {
	ut_strmap dict;        /* items, dense ids */
	size_t *ids, nids, icap;   /* every sequence's items, one after another */
	struct target {
		size_t pos, start;  /* in ids: the target, its sequence's first item */
	} *t;
	size_t nt, tcap;
	size_t *count, ccap;   /* occurrences in the training text, by id */
	size_t *pop;           /* ids by count, most frequent first */
	ut_buf text;           /* the training text, one sequence a line */
};

/* One setting: its parameters, and once trained and scored its model and
 * figures. */
struct trial {
	te_w2v_params p;
	te_w2v *m;
	double hit, mrr;
};

/* The settings of one round, trained by the threads in turn. */
struct round {
	const struct split *s;
	struct trial *t;
	size_t n, next;
};

static int
split_line(struct split *s, const char *line, size_t len, size_t holdout)
{
	size_t pos = 0, tl, start = s->nids, L, h;
	const char *tok;

	while (rec_token(line, len, &pos, &tok, &tl)) {
		size_t had = s->dict.n;
		long id = ut_strmap_intern(&s->dict, tok, tl);

		if (id < 0 || ut_grow((void **)&s->ids, &s->icap, s->nids + 1, sizeof *s->ids) ||
		    ut_grow((void **)&s->count, &s->ccap, (size_t)id + 1, sizeof *s->count))
			return -1;
		if ((size_t)id == had)
			s->count[id] = 0;   /* a new item */
		s->ids[s->nids++] = (size_t)id;
	}
	L = s->nids - start;
	h = L < 2 ? 0 : holdout < L - 1 ? holdout : L - 1;
	for (size_t i = start; i < s->nids - h; i++) {
		size_t kl;
		const char *k = ut_strmap_key(&s->dict, s->ids[i], &kl);

		s->count[s->ids[i]]++;
		if ((i > start && ut_buf_put(&s->text, " ", 1)) || ut_buf_put(&s->text, k, kl))
			return -1;
	}
	if (L > 0 && ut_buf_put(&s->text, "\n", 1))
		return -1;
	for (size_t i = s->nids - h; i < s->nids; i++) {
		if (ut_grow((void **)&s->t, &s->tcap, s->nt + 1, sizeof *s->t))
			return -1;
		s->t[s->nt++] = (struct target){i, start};
	}
	return 0;
}

/* Read train into s: the training text, the targets, the popularity order. */
static int
split_read(struct split *s, te_reader *train, size_t holdout, te_diag *d)
{
	char *line;
	size_t len;
	int rc;

	while ((rc = te_reader_next(train, &line, &len, d)) == 1)
		if (split_line(s, line, len, holdout) < 0)
			return te_diag_set(d, te_reader_name(train), te_reader_lineno(train),
			                   "out of memory");
	if (rc < 0)
		return -1;
	if (s->nt == 0)
		return te_diag_set(d, te_reader_name(train), 0,
		                   "nothing to tune on: no sequence of two items or more");
	s->pop = malloc(s->dict.n * sizeof *s->pop);
	if (!s->pop)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < s->dict.n; i++)
		s->pop[i] = i;
	qsort_r(s->pop, s->dict.n, sizeof *s->pop, rec_by_count, s->count);
	return 0;
}

static void
split_release(struct split *s)
{
	ut_strmap_release(&s->dict);
	free(s->ids);
	free(s->t);
	free(s->count);
	free(s->pop);
	ut_buf_release(&s->text);
}

/* A model of t's parameters on the training text, or NULL when none could
 * be trained (no item reaching min_count, or out of memory): every
 * prediction of it then misses. */
static te_w2v *
train_one(const struct split *s, const te_w2v_params *p)
{
	te_diag d = {0};
	te_w2v *m = te_w2v_new(p, &d);
	FILE *fp = fmemopen(s->text.s, s->text.n, "r");

	if (!m || !fp || te_w2v_add(m, fp, "train", &d) < 0 ||
	    te_w2v_train(m, NULL, NULL, &d) < 0) {
		te_w2v_free(m);
		m = NULL;
	}
	if (fp)
		fclose(fp);
	return m;
}

static void
round_worker(void *arg, int tid)
{
	struct round *r = arg;
	size_t i;

	(void)tid;
	while ((i = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED)) < r->n)
		r->t[i].m = train_one(r->s, &r->t[i].p);
}

/* The queries of the targets [t0, t1) for the catalogue c whose row of each
 * item id is row[id] (-1: none), into q/qoff; targets that cannot hit
 * (no context, no vector) are left out, their index -1 in which. */
static size_t
gather(const struct split *s, const long *row, size_t context, size_t t0, size_t t1,
       size_t *q, size_t *qoff, size_t *which)
{
	size_t nb = 0, nq = 0;

	qoff[0] = 0;
	for (size_t t = t0; t < t1; t++) {
		size_t i = s->t[t].pos, b = i - s->t[t].start > context ? i - context : s->t[t].start;
		size_t q0 = nq;

		if (row[s->ids[i]] < 0)
			continue;
		for (size_t j = b; j < i; j++)
			if (row[s->ids[j]] >= 0)
				q[nq++] = (size_t)row[s->ids[j]];
		if (nq == q0)
			continue;
		which[nb] = t;
		qoff[++nb] = nq;
	}
	return nb;
}

/* Hit rate and MRR at n of the model of t on the targets. */
static int
score(const struct split *s, struct trial *t, size_t n, size_t context, te_diag *d)
{
	enum { B = 256 };
	size_t m, dim, qoff[B + 1], which[B], counts[B], *q;
	long *row;
	te_rec_hit *hits;
	te_rec *c;
	double hit = 0, mrr = 0;
	int rc = -1;

	t->hit = t->mrr = 0;
	if (!t->m)
		return 0;
	m = te_w2v_vocab_size(t->m);
	dim = te_w2v_dim(t->m);
	/* no more hits than items */
	n = n < m ? n : m;
	row = malloc((s->dict.n ? s->dict.n : 1) * sizeof *row);
	q = malloc(B * (context ? context : 1) * sizeof *q);
	hits = malloc(B * (n ? n : 1) * sizeof *hits);
	c = rec_alloc(m, dim, d);
	if (!row || !q || !hits || !c)
		goto out;
	for (size_t i = 0; i < s->dict.n; i++)
		row[i] = -1;
	for (size_t i = 0; i < m; i++) {
		const char *k = te_w2v_key(t->m, i);
		int32_t id = ut_strmap_get(&s->dict, k, strlen(k));

		rec_set_row(c, i, te_w2v_vector(t->m, i), k);
		if (id >= 0)
			row[id] = (long)i;
	}
	for (size_t t0 = 0; t0 < s->nt; t0 += B) {
		size_t t1 = t0 + B < s->nt ? t0 + B : s->nt;
		size_t nb = gather(s, row, context, t0, t1, q, qoff, which);

		if (nb && te_rec_query_many(c, q, qoff, nb, TE_REC_COMBINE_MEAN, n, hits, counts,
		                            d) < 0)
			goto out;
		for (size_t b = 0; b < nb; b++) {
			long target = row[s->ids[s->t[which[b]].pos]];

			for (size_t k = 0; k < counts[b]; k++)
				if (hits[b * n + k].row == target) {
					hit += 1;
					mrr += 1.0 / (double)(k + 1);
					break;
				}
		}
	}
	t->hit = hit / (double)s->nt;
	t->mrr = mrr / (double)s->nt;
	rc = 0;
out:
	if (rc < 0 && !d->msg[0])
		te_diag_set(d, NULL, 0, "out of memory");
	free(row);
	free(q);
	free(hits);
	te_rec_free(c);
	return rc;
}

/* The popularity baseline on the same targets: the n items most frequent in
 * the training text, less those of the query. */
static void
score_popularity(const struct split *s, size_t n, size_t context, double *hit, double *mrr)
{
	*hit = *mrr = 0;
	for (size_t t = 0; t < s->nt; t++) {
		size_t i = s->t[t].pos, b = i - s->t[t].start > context ? i - context : s->t[t].start;
		size_t got = 0;

		/* items of the training text only, as te_rec_eval's */
		for (size_t p = 0; p < s->dict.n && got < n && s->count[s->pop[p]]; p++) {
			size_t id = s->pop[p], j;

			for (j = b; j < i && s->ids[j] != id; j++)
				;
			if (j < i)
				continue;
			if (id == s->ids[i]) {
				*hit += 1;
				*mrr += 1.0 / (double)(got + 1);
				break;
			}
			got++;
		}
	}
	*hit /= (double)s->nt;
	*mrr /= (double)s->nt;
}

/* The searched parameters, in the order they are searched, with their grid. */
enum { P_MIN_COUNT, P_EPOCHS, P_WINDOW, P_NS, P_SAMPLE, P_COUNT };
static const char *const pname[P_COUNT] = {"min_count", "epochs", "window",
                                           "ns_exponent", "sample"};
static const double grid[P_COUNT][6] = {
	{1, 2, 5, 10, 20}, {5, 10, 30, 100}, {1, 2, 3, 5, 10, 20},
	{-1, -0.5, 0, 0.5, 0.75, 1}, {0, 1e-5, 1e-4, 1e-3, 1e-2},
};
static const int ngrid[P_COUNT] = {5, 4, 6, 6, 5};

static double
param_get(const te_w2v_params *p, int k)
{
	switch (k) {
	case P_MIN_COUNT: return (double)p->min_count;
	case P_EPOCHS: return p->epochs;
	case P_WINDOW: return p->window;
	case P_NS: return p->ns_exponent;
	default: return p->sample;
	}
}

static void
param_set(te_w2v_params *p, int k, double v)
{
	switch (k) {
	case P_MIN_COUNT: p->min_count = (long long)v; break;
	case P_EPOCHS: p->epochs = (int)v; break;
	case P_WINDOW: p->window = (int)v; break;
	case P_NS: p->ns_exponent = v; break;
	default: p->sample = v; break;
	}
}

static void
write_row(FILE *out, const char *varied, const te_w2v_params *p, double hit, double mrr)
{
	fprintf(out, "%s\t%lld\t%d\t%d\t%g\t%g\t%.4f\t%.4f\n", varied, p->min_count, p->epochs,
	        p->window, p->ns_exponent, p->sample, hit, mrr);
}

/* w2v-train's options for p: those of the search, and the others where they
 * differ from its defaults. */
static void
write_command(FILE *out, const te_w2v_params *p)
{
	te_w2v_params d;

	te_w2v_params_default(&d);
	fprintf(out, "best\tw2v-train --sg %d", p->sg);
	if (p->dim != d.dim)
		fprintf(out, " --vector-size %d", p->dim);
	if (p->negative != d.negative)
		fprintf(out, " --negative %d", p->negative);
	fprintf(out, " --min-count %lld --epochs %d --window %d --ns-exponent %g --sample %g",
	        p->min_count, p->epochs, p->window, p->ns_exponent, p->sample);
	if (p->seed != d.seed)
		fprintf(out, " --seed %llu", (unsigned long long)p->seed);
	fputc('\n', out);
}

/* Train and score the settings of round r on threads threads. */
static int
run_round(struct round *r, int threads, size_t n, size_t context, te_diag *d)
{
	int rc = 0;

	r->next = 0;
	if (ut_parallel(threads < (int)r->n ? threads : (int)r->n, round_worker, r) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < r->n; i++) {
		if (rc == 0)
			rc = score(r->s, &r->t[i], n, context, d);
		te_w2v_free(r->t[i].m);
		r->t[i].m = NULL;
	}
	return rc;
}

static int
better(const struct trial *a, double hit, double mrr)
{
	return a->hit > hit || (a->hit == hit && a->mrr > mrr);
}

/* Round k: every value of parameter k but best's own, from best; best takes
 * the winner. */
static int
search_param(struct round *r, int k, const te_rec_tune_params *tp, te_w2v_params *best,
             double *bhit, double *bmrr, FILE *out, te_diag *d)
{
	size_t nt = 0;
	int threads = ut_threads(tp->threads);

	for (int g = 0; g < ngrid[k]; g++) {
		if (grid[k][g] == param_get(best, k))
			continue;
		r->t[nt] = (struct trial){.p = *best};
		param_set(&r->t[nt++].p, k, grid[k][g]);
	}
	r->n = nt;
	if (run_round(r, threads, tp->n, tp->context, d) < 0)
		return -1;
	te_w2v_params won = *best;
	for (size_t i = 0; i < nt; i++) {
		write_row(out, pname[k], &r->t[i].p, r->t[i].hit, r->t[i].mrr);
		if (better(&r->t[i], *bhit, *bmrr)) {
			won = r->t[i].p;
			*bhit = r->t[i].hit;
			*bmrr = r->t[i].mrr;
		}
	}
	*best = won;
	fflush(out);
	return 0;
}

void
te_rec_tune_params_default(te_rec_tune_params *p)
{
	memset(p, 0, sizeof *p);
	te_w2v_params_default(&p->w2v);
	p->w2v.sg = 1;
	p->n = 10;
	p->context = 5;
	p->holdout = 5;
}

int
te_rec_tune(te_reader *train, const te_rec_tune_params *tp, FILE *out, te_w2v_params *best,
            te_diag *d)
{
	struct split s = {0};
	struct trial t[8];
	struct round r = {.s = &s, .t = t};
	double bhit, bmrr, phit, pmrr;
	int rc = -1;

	*best = tp->w2v;
	best->threads = 1;
	if (split_read(&s, train, tp->holdout, d) < 0)
		goto out;
	fprintf(out, "varied\tmin_count\tepochs\twindow\tns_exponent\tsample\thit@%zu\tmrr@%zu\n",
	        tp->n, tp->n);
	t[0] = (struct trial){.p = *best};
	r.n = 1;
	if (run_round(&r, 1, tp->n, tp->context, d) < 0)
		goto out;
	bhit = t[0].hit;
	bmrr = t[0].mrr;
	write_row(out, "start", best, bhit, bmrr);
	fflush(out);
	for (int k = 0; k < P_COUNT; k++)
		if (search_param(&r, k, tp, best, &bhit, &bmrr, out, d) < 0)
			goto out;
	score_popularity(&s, tp->n, tp->context, &phit, &pmrr);
	fprintf(out, "popularity\t-\t-\t-\t-\t-\t%.4f\t%.4f\n", phit, pmrr);
	write_command(out, best);
	best->threads = tp->w2v.threads;
	rc = 0;
out:
	split_release(&s);
	if (rc == 0 && (fflush(out) || ferror(out)))
		rc = te_diag_set(d, NULL, 0, "write error");
	return rc;
}
