/* test-knn.c: the batched sgemm search against a scalar reference, for every
 * metric, thread split and block edge; gensim's mean; the HNSW index (recall,
 * save and load, damaged files). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokemb.h"
#include "tap.h"

static uint64_t rng = 88172645463325252ull;

static double
urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static double
nrand(void)
{
	return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand());
}

/* Write rows x dim vectors (clustered when clusters > 0) as a TEVEC file
 * with keys "w0", "w1", ...; returns the path (static). */
static const char *
write_vecs(size_t rows, size_t dim, int clusters, int zero_row)
{
	static char path[64];
	float *c = malloc((clusters ? clusters : 1) * dim * sizeof *c);
	float *x = malloc(dim * sizeof *x);
	uint64_t ks = 0;
	FILE *fp;
	int fd;

	strcpy(path, "/tmp/tokemb-knn-XXXXXX");
	fd = mkstemp(path);
	fp = fdopen(fd, "w");
	for (int i = 0; i < clusters; i++)
		for (size_t j = 0; j < dim; j++)
			c[i * dim + j] = (float)(3 * nrand());
	for (size_t i = 0; i < rows; i++) {
		char k[32];
		ks += (uint64_t)snprintf(k, sizeof k, "w%zu", i) + 1;
	}
	te_vec_write_tevec_header(fp, rows, dim, ks, 0);
	for (size_t i = 0; i < rows; i++) {
		int cl = clusters ? (int)(urand() * clusters) : 0;

		for (size_t j = 0; j < dim; j++)
			x[j] = (float)nrand() + (clusters ? c[cl * dim + j] : 0);
		if (zero_row && i == 7)
			memset(x, 0, dim * sizeof *x);
		te_vec_write_tevec_row(fp, x, dim);
	}
	for (size_t i = 0; i < rows; i++) {
		char k[32];
		snprintf(k, sizeof k, "w%zu", i);
		te_vec_write_tevec_key(fp, k);
	}
	fclose(fp);
	free(c);
	free(x);
	return path;
}

/* The scalar reference: score every row in double, pick the k best by
 * (score, row). */
static void
reference(te_vecs *v, te_knn_metric m, const float *q, size_t k, size_t limit,
          const long *ex, size_t nex, te_knn_hit *out, size_t *nout)
{
	size_t rows = limit ? limit : te_vecs_rows(v), dim = te_vecs_dim(v), n = 0;
	double qn = 0;
	double *sc = malloc(rows * sizeof *sc);
	char *used = calloc(rows, 1);

	for (size_t j = 0; j < dim; j++)
		qn += (double)q[j] * q[j];
	qn = sqrt(qn);
	for (size_t i = 0; i < rows; i++) {
		const float *r = te_vecs_row(v, i);
		double dt = 0, rn = 0, l2 = 0;

		for (size_t j = 0; j < dim; j++) {
			dt += (double)r[j] * q[j];
			rn += (double)r[j] * r[j];
			l2 += ((double)r[j] - q[j]) * ((double)r[j] - q[j]);
		}
		sc[i] = m == TE_KNN_METRIC_COSINE ? (rn > 0 ? dt / sqrt(rn) / qn : 0)
		      : m == TE_KNN_METRIC_DOT ? dt : -sqrt(l2);
		for (size_t e = 0; e < nex; e++)
			if (ex[e] == (long)i)
				used[i] = 1;
	}
	while (n < k) {
		long best = -1;

		for (size_t i = 0; i < rows; i++)
			if (!used[i] && (best < 0 || sc[i] > sc[best]))
				best = (long)i;
		if (best < 0)
			break;
		used[best] = 1;
		out[n].row = best;
		out[n].score = (float)(m == TE_KNN_METRIC_EUCLIDEAN ? -sc[best] : sc[best]);
		n++;
	}
	*nout = n;
	free(sc);
	free(used);
}

/* Equal up to near-ties: the same rows in the same order, or swapped rows
 * whose scores differ by less than tol; scores within tol. */
static int
same_hits(const te_knn_hit *a, size_t na, const te_knn_hit *b, size_t nb, double tol)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		if (fabs((double)a[i].score - b[i].score) > tol * (1 + fabs(b[i].score)))
			return 0;
		if (a[i].row != b[i].row) {
			int found = 0;

			for (size_t j = 0; j < nb; j++)
				if (b[j].row == a[i].row &&
				    fabs((double)b[j].score - a[i].score) <= tol * (1 + fabs(a[i].score)))
					found = 1;
			if (!found)
				return 0;
		}
	}
	return 1;
}

static void
check_exact(te_vecs *v, const char *what)
{
	const size_t dim = te_vecs_dim(v), nq = 130, k = 7;
	float *q = malloc(nq * dim * sizeof *q);
	long *ex = malloc(nq * 2 * sizeof *ex);
	te_knn_hit *got = malloc(nq * k * sizeof *got), ref[64];
	size_t *ng = malloc(nq * sizeof *ng), nr;
	te_diag d = {0};
	static const char *mn[] = {"cosine", "dot", "euclidean"};

	for (size_t i = 0; i < nq * dim; i++)
		q[i] = (float)nrand();
	for (size_t j = 0; j < nq; j++) {
		ex[2 * j] = (long)(j * 31 % te_vecs_rows(v));
		ex[2 * j + 1] = -1;
	}
	for (int m = 0; m < 3; m++)
		for (int threads = 1; threads <= 3; threads += 2)
			for (int shape = 0; shape < 4; shape++) {
				/* shape: 1 query, 5 queries, all queries, all with a limit and
				 * exclusions */
				size_t n = shape == 0 ? 1 : shape == 1 ? 5 : nq;
				size_t limit = shape == 3 ? 4099 : 0;
				te_knn *x = te_knn_new(v, (te_knn_metric)m, threads, &d);
				int good = x != NULL;

				good = good && te_knn_search(x, q, n, k, limit, shape == 3 ? ex : NULL,
				                             2, got, ng, &d) == 0;
				for (size_t j = 0; good && j < n; j++) {
					reference(v, (te_knn_metric)m, q + j * dim, k, limit,
					          shape == 3 ? ex + 2 * j : NULL, shape == 3 ? 2 : 0, ref, &nr);
					good = same_hits(got + j * k, ng[j], ref, nr, 1e-5);
				}
				ok(good, "%s: %s, %d thread(s), %zu queries%s agree with the scalar "
				   "reference", what, mn[m], threads, n,
				   shape == 3 ? ", limit and exclusions" : "");
				te_knn_free(x);
			}
	free(q);
	free(ex);
	free(got);
	free(ng);
}

/* A te_knn_answer_fn keeping the hits of the one query answered. */
static void
answer_into(void *arg, const char *label, const te_hit *h, size_t n)
{
	struct { te_hit *h; size_t n; } *got = arg;

	(void)label;
	memcpy(got->h, h, n * sizeof *h);
	got->n = n;
}

int
main(void)
{
	te_diag d = {0};
	const char *path;
	te_vecs *v;
	te_knn *x;

	/* 9000 rows: three sgemm blocks, the last one short; odd dimension */
	path = write_vecs(9000, 37, 0, 1);
	v = te_vecs_load(path, TE_VEC_FORMAT_AUTO, &d);
	ok(v && te_vecs_rows(v) == 9000 && te_vecs_dim(v) == 37, "TEVEC fixture loads");
	check_exact(v, "random 9000x37");

	/* k beyond the rows, and k of all rows */
	{
		te_knn_hit h[9100];
		size_t n;
		float q[37] = {1};

		x = te_knn_new(v, TE_KNN_METRIC_COSINE, 2, &d);
		ok(te_knn_search(x, q, 1, 9100, 0, NULL, 0, h, &n, &d) == 0 && n == 9000,
		   "k larger than the index gives every row");
		ok(h[8999].score <= h[0].score, "... best first");
		ok(te_knn_search(x, q, 1, 5, 3, NULL, 0, h, &n, &d) == 0 && n == 3,
		   "a limit of 3 rows gives 3");
		te_knn_free(x);
	}
	/* gensim's mean: unit vectors, positives minus negatives, over the count */
	{
		float out[37];
		long p[2] = {1, 2}, n[1] = {3};
		double want = 0;
		int good;

		x = te_knn_new(v, TE_KNN_METRIC_COSINE, 1, &d);
		ok(te_knn_mean(x, p, 2, n, 1, out) == 0, "mean of three keys");
		for (int i = 0; i < 3; i++)
			want += (i < 2 ? 1 : -1) * te_vecs_row(v, (size_t)(i + 1))[0] /
			        te_knn_norm(x, (size_t)(i + 1));
		good = fabs(out[0] - want / 3) < 1e-6;
		ok(good, "mean component 0 is (u1 + u2 - u3) / 3");
		ok(te_knn_mean(x, NULL, 0, NULL, 0, out) < 0, "mean of nothing is refused");
		te_knn_free(x);
	}
	{
		char *u = te_knn_upper("stra\xc3\x9f" "e \xc3\xa9t\xc3\xa9", 13);
		ok(u && strcmp(u, "STRASSE \xc3\x89T\xc3\x89") == 0, "upper-casing as Python");
		free(u);
	}
	te_vecs_free(v);
	unlink(path);

	/* HNSW on clustered vectors: recall against the exact search, then
	 * saved, loaded and searched again with the same answers */
	path = write_vecs(4000, 24, 40, 0);
	v = te_vecs_load(path, TE_VEC_FORMAT_AUTO, &d);
	for (int m = 0; m < 3; m++) {
		const size_t nq = 200, k = 10;
		float *q = malloc(nq * 24 * sizeof *q);
		te_knn_hit *ex = malloc(nq * k * sizeof *ex), *ap = malloc(nq * k * sizeof *ap),
		           *ap2 = malloc(nq * k * sizeof *ap2);
		size_t *ne = malloc(nq * sizeof *ne), *na = malloc(nq * sizeof *na),
		       *na2 = malloc(nq * sizeof *na2), found = 0, total = 0;
		te_hnsw *h = te_hnsw_build(v, (te_knn_metric)m, 12, 100, 3, 1, &d), *h2;
		char ipath[80];
		int same = 1;

		x = te_knn_new(v, (te_knn_metric)m, 2, &d);
		for (size_t i = 0; i < nq; i++)
			for (size_t j = 0; j < 24; j++)
				q[i * 24 + j] = te_vecs_row(v, i * 17)[j] + (float)(0.3 * nrand());
		te_knn_search(x, q, nq, k, 0, NULL, 0, ex, ne, &d);
		ok(h && te_hnsw_search(h, q, nq, k, 64, NULL, 0, 2, ap, na, &d) == 0,
		   "HNSW (metric %d) built and searched", m);
		for (size_t i = 0; i < nq; i++)
			for (size_t a = 0; a < na[i]; a++) {
				for (size_t b = 0; b < ne[i]; b++)
					found += ap[i * k + a].row == ex[i * k + b].row;
			}
		for (size_t i = 0; i < nq; i++)
			total += ne[i];
		ok((double)found / (double)total >= 0.95, "HNSW recall@10 %.3f >= 0.95",
		   (double)found / (double)total);
		snprintf(ipath, sizeof ipath, "%s.hnsw", path);
		ok(te_hnsw_save(h, ipath, &d) == 0, "index saved");
		h2 = te_hnsw_load(ipath, v, &d);
		ok(h2 && te_hnsw_metric(h2) == (te_knn_metric)m, "index loaded");
		if (h2)
			te_hnsw_search(h2, q, nq, k, 64, NULL, 0, 1, ap2, na2, &d);
		for (size_t i = 0; h2 && i < nq; i++)
			for (size_t a = 0; a < na[i]; a++)
				same &= na[i] == na2[i] && ap[i * k + a].row == ap2[i * k + a].row &&
				        ap[i * k + a].score == ap2[i * k + a].score;
		ok(h2 && same, "the loaded index answers as the built one");
		if (m == 0 && h2) {
			/* more queries than the 16-bit visited tags count: the tags
			 * wrap around, and the answers do not change */
			const size_t nw = 66000;
			float *qw = malloc(nw * 24 * sizeof *qw);
			te_knn_hit *aw = malloc(nw * k * sizeof *aw);
			size_t *nwo = malloc(nw * sizeof *nwo);
			int wsame = qw && aw && nwo;

			for (size_t i = 0; wsame && i < nw; i++)
				memcpy(qw + i * 24, q + (i % nq) * 24, 24 * sizeof *qw);
			wsame = wsame && te_hnsw_search(h2, q, nq, k, 10, NULL, 0, 1, ap2, na2,
			                                &d) == 0;
			wsame = wsame && te_hnsw_search(h2, qw, nw, k, 10, NULL, 0, 1, aw, nwo,
			                                &d) == 0;
			for (size_t i = 0; wsame && i < nw; i++)
				for (size_t a = 0; a < na2[i % nq]; a++)
					wsame &= nwo[i] == na2[i % nq] &&
					         aw[i * k + a].row == ap2[(i % nq) * k + a].row;
			ok(wsame, "%zu queries on one context (the visited tags wrap) answer "
			   "alike", nw);
			free(qw);
			free(aw);
			free(nwo);
			te_hnsw_search(h2, q, nq, k, 64, NULL, 0, 1, ap2, na2, &d);
		}
		if (m == 0) {
			/* a truncated copy and a flipped link are refused */
			FILE *fp = fopen(ipath, "r+");
			long size;

			fseek(fp, 0, SEEK_END);
			size = ftell(fp);
			fclose(fp);
			ok(truncate(ipath, size - 4) == 0 && !te_hnsw_load(ipath, v, &d) &&
			   strstr(d.msg, "truncated"), "truncated index refused: %s", d.msg);
			te_hnsw_save(h, ipath, &d);
			fp = fopen(ipath, "r+");
			/* a link of node 0: levels padded to 64, then its record, the
			 * vector (24 floats) then the count */
			fseek(fp, (128 + 4000 + 63) / 64 * 64 + 24 * 4 + 4, SEEK_SET);
			fputc(0xff, fp);
			fputc(0xff, fp);
			fputc(0xff, fp);
			fclose(fp);
			{
				/* links are checked as they are followed, not at load */
				te_hnsw *h3 = te_hnsw_load(ipath, v, &d);

				ok(h3 && te_hnsw_search(h3, q, nq, k, 64, NULL, 0, 1, ap2, na2,
				                        &d) == 0 && na2[0] == k,
				   "a link out of range is skipped, the search goes on");
				te_hnsw_free(h3);
			}
			{
				/* the row of each node (the file's last 4 * 4000
				 * bytes) and the upper-layer offsets before it
				 * overwritten: hits are lost, nothing is read out of
				 * bounds */
				unsigned char junk[4096];
				te_hnsw *h3;

				memset(junk, 0xff, sizeof junk);
				fp = fopen(ipath, "r+");
				fseek(fp, size - 6000, SEEK_SET);
				fwrite(junk, 1, sizeof junk, fp);
				fseek(fp, size - 26000, SEEK_SET);
				fwrite(junk, 1, sizeof junk, fp);
				fclose(fp);
				h3 = te_hnsw_load(ipath, v, &d);
				ok(h3 && te_hnsw_search(h3, q, nq, k, 64, NULL, 0, 1, ap2, na2,
				                        &d) == 0,
				   "a damaged node table loses hits, the search goes on");
				te_hnsw_free(h3);
			}
		}
		unlink(ipath);
		te_hnsw_free(h);
		te_hnsw_free(h2);
		te_knn_free(x);
		free(q);
		free(ex);
		free(ap);
		free(ap2);
		free(ne);
		free(na);
		free(na2);
	}
	te_vecs_free(v);
	unlink(path);

	{
		/* the score printer against printf, on random bit patterns and
		 * on the scores of the usual ranges, ties included */
		char a[64], b[64];
		int bad = 0;
		static const float sp[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 1e-5f, 1e-4f,
		                           9.9999995e-5f, 9999999.5f, 1e7f, 1234567.5f,
		                           0.12345675f, 3.4028235e38f, 1.4e-45f, 1e-38f,
		                           INFINITY, -INFINITY, NAN, 100.0f, 0.001f};

		for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) {
			te_knn_fmt_score(a, sp[i]);
			snprintf(b, sizeof b, "%.7g", (double)sp[i]);
			if (strcmp(a, b) != 0 && bad++ < 5)
				printf("# %s, printf %s\n", a, b);
		}
		for (long i = 0; i < 1000000; i++) {
			uint32_t bits = (uint32_t)(urand() * 4294967296.0);
			float f;

			if (i % 3 == 0)
				f = (float)(2.0 * urand() - 1.0);
			else if (i % 3 == 1)
				f = (float)(urand() * 100.0);
			else
				memcpy(&f, &bits, 4);
			int n = te_knn_fmt_score(a, f);

			snprintf(b, sizeof b, "%.7g", (double)f);
			if ((strcmp(a, b) != 0 || n != (int)strlen(b)) && bad++ < 5)
				printf("# %s, printf %s\n", a, b);
		}
		ok(bad == 0, "scores print as printf's %%.7g (%d differ)", bad);
	}
	{
		/* knn(1)'s queries: keys, expressions, vectors, and their batch */
		const char *qp = write_vecs(50, 4, 0, 0);
		te_vecs *qv = te_vecs_load(qp, TE_VEC_FORMAT_AUTO, &d);
		te_knn *qx = qv ? te_knn_new(qv, TE_KNN_METRIC_COSINE, 1, &d) : NULL;
		te_knn_batch *b = qx ? te_knn_batch_new(qx, NULL, 3, 0, 0, 1, 4, &d) : NULL;
		te_knn_query q;
		te_hit ref[3], mine[3];
		size_t nref;

		ok(b != NULL, "a batch of queries");
		ok(b && te_knn_find_key(b, "w17", 3) == 17 && te_knn_find_key(b, "w1", 2) == 1 &&
		   te_knn_find_key(b, "w", 1) < 0, "keys found by scanning, then by the table");
		for (int i = 0; b && i < 6; i++)
			te_knn_find_key(b, "w49", 3);
		ok(b && te_knn_find_key(b, "w49", 3) == 49, "keys found by the table");
		ok(b && te_knn_parse_query(b, "w3", 2, &q, &d) == TE_KNN_QUERY_KEY && q.npos == 1 &&
		   q.pos[0] == 3, "a key");
		ok(b && te_knn_parse_query(b, "w1 - w2 + w3", 12, &q, &d) == TE_KNN_QUERY_EXPR &&
		   q.npos == 2 && q.nneg == 1 && q.pos[1] == 3 && q.neg[0] == 2, "an expression");
		ok(b && te_knn_parse_query(b, "w1 + + w2", 9, &q, &d) < 0 &&
		   strstr(d.msg, "two operators") != NULL, "two operators refused: %s", d.msg);
		ok(b && te_knn_parse_query(b, "w1 - nope", 9, &q, &d) < 0 &&
		   strstr(d.msg, "unknown key 'nope'") != NULL, "an unknown term: %s", d.msg);
		ok(b && te_knn_parse_query(b, "lab 1 2 3 4", 11, &q, &d) == TE_KNN_QUERY_VECTOR &&
		   q.label_len == 3 && q.vec[3] == 4, "a labelled vector");
		ok(b && te_knn_parse_query(b, "1 2 3", 5, &q, &d) < 0 &&
		   strstr(d.msg, "3 components") != NULL, "a vector of another size: %s", d.msg);
		ok(b && te_knn_parse_query(b, "", 0, &q, &d) == 0, "an empty line");
		if (b) {
			struct { te_hit *h; size_t n; } got = {mine, 0};
			long pos[1] = {5};
			float mean[4];

			te_knn_parse_query(b, "w5", 2, &q, &d);
			te_knn_batch_add(b, "w5", 2, &q, 0, &d);
			te_knn_mean(qx, pos, 1, NULL, 0, mean);
			te_knn_search(qx, mean, 1, 3, 0, pos, 1, ref, &nref, &d);
			te_knn_batch_run(b, answer_into, &got, &d);
			int same = got.n == nref && nref == 3;

			for (size_t i = 0; same && i < nref; i++)
				same = mine[i].row == ref[i].row && mine[i].score == ref[i].score;
			ok(same,
			   "a batch answers as te_knn_search, the key left out");
		}
		te_knn_batch_free(b);
		te_knn_free(qx);
		te_vecs_free(qv);
		unlink(qp);
	}
	return done_testing();
}
