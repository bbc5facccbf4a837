/* test-rec.c: recommendations by BLAS against a scalar reference; CSV metadata; strtab. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_int.h"
#include "tap.h"

#define M 300
#define DIM 17

static double
cosine(const float *a, const float *b)
{
	double ab = 0, aa = 0, bb = 0;

	for (int j = 0; j < DIM; j++) {
		ab += (double)a[j] * b[j];
		aa += (double)a[j] * a[j];
		bb += (double)b[j] * b[j];
	}
	return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

/* The reference: score every row in double, sort, skip the query. */
static int
reference_ok(te_vecs *v, const size_t *q, size_t nq, te_rec_combine how,
             const te_rec_hit *got, long k, size_t n)
{
	static double sc[M];
	static size_t order[M];
	double mean[DIM] = {0}, mm = 0;
	size_t cnt = 0;
	float mf[DIM];

	for (size_t i = 0; i < nq; i++) {
		const float *x = te_vecs_row(v, q[i]);
		double nx = 0, w = how == TE_REC_COMBINE_RECENT ? (double)(i + 1) / nq : 1;

		for (int j = 0; j < DIM; j++)
			nx += (double)x[j] * x[j];
		for (int j = 0; j < DIM && nx > 0; j++)
			mean[j] += w * x[j] / sqrt(nx);
	}
	for (int j = 0; j < DIM; j++)
		mm += mean[j] * mean[j];
	for (int j = 0; j < DIM; j++)
		mf[j] = (float)mean[j];
	for (size_t r = 0; r < M; r++) {
		if (how == TE_REC_COMBINE_MAX) {
			sc[r] = -2;
			for (size_t i = 0; i < nq; i++) {
				double c = cosine(te_vecs_row(v, r), te_vecs_row(v, q[i]));
				if (c > sc[r])
					sc[r] = c;
			}
		} else {
			sc[r] = cosine(te_vecs_row(v, r), mf);
			if (how == TE_REC_COMBINE_SUM)
				sc[r] *= sqrt(mm);
		}
	}
	for (size_t r = 0; r < M; r++) {
		int inq = 0;

		for (size_t i = 0; i < nq; i++)
			inq |= q[i] == r;
		if (!inq)
			order[cnt++] = r;
	}
	/* selection by the reference scores */
	for (size_t a = 0; a < cnt; a++)
		for (size_t b = a + 1; b < cnt; b++)
			if (sc[order[b]] > sc[order[a]]) {
				size_t t = order[a];
				order[a] = order[b];
				order[b] = t;
			}
	if ((size_t)k != (n < cnt ? n : cnt))
		return 0;
	for (long i = 0; i < k; i++) {
		/* a different row is fine only in a float tie */
		if (fabs(got[i].score - sc[order[i]]) > 1e-5) {
			printf("# %ld: got %ld %g, want %zu %g\n", i, got[i].row, got[i].score, order[i], sc[order[i]]);
			return 0;
		}
		if (fabs(sc[got[i].row] - got[i].score) > 1e-5)
			return 0;
	}
	return 1;
}

int
main(void)
{
	char path[] = "/tmp/tokemb-rec-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");
	te_diag d = {0};
	te_vecs *v;
	te_rec *r;
	te_rec_hit hits[M];
	ut_strmap t = {0};

	srand(7);
	fprintf(fp, "%d %d\n", M, DIM);
	for (int i = 0; i < M; i++) {
		fprintf(fp, "item%d", i);
		for (int j = 0; j < DIM; j++)
			fprintf(fp, " %.6f", i == 5 ? 0.0 : (double)rand() / RAND_MAX - 0.5);
		fputc('\n', fp);
	}
	fclose(fp);
	v = te_vecs_load(path, TE_VEC_FORMAT_AUTO, &d);
	ok(v != NULL, "vectors load: %s", d.msg);
	r = v ? te_rec_new(v, &d) : NULL;
	ok(r && te_rec_items(r) == M, "catalogue of %d", M);
	if (r) {
		te_rec_combine hows[] = {TE_REC_COMBINE_MEAN, TE_REC_COMBINE_SUM,
		                         TE_REC_COMBINE_MAX, TE_REC_COMBINE_RECENT};
		const char *names[] = {"mean", "sum", "max", "recent"};

		for (int h = 0; h < 4; h++) {
			int good = 1;

			for (int trial = 0; trial < 20; trial++) {
				size_t q[4], nq = (size_t)(trial % 4) + 1, n = trial % 3 ? 10 : M;
				long k;

				for (size_t i = 0; i < nq; i++)
					q[i] = (size_t)rand() % M;
				k = te_rec_query(r, q, nq, hows[h], n, hits, &d);
				good &= reference_ok(v, q, nq, hows[h], hits, k, n);
				for (long i = 1; i < k; i++)
					good &= hits[i - 1].score >= hits[i].score;
			}
			ok(good, "--combine %s: BLAS agrees with the scalar reference", names[h]);
		}
		{
			/* many at once gives what one at a time gives, bit for bit */
			size_t q[] = {1, 2, 3, 40, 7, 8, 9, 10, 11}, qoff[] = {0, 1, 3, 4, 6, 9};
			static te_rec_hit many[5 * 10], one[10];
			size_t counts[5];
			int same = 1;

			for (int h = 0; h < 4; h++) {
				same &= te_rec_query_many(r, q, qoff, 5, (te_rec_combine)h, 10, many,
				                          counts, &d) == 0;
				for (size_t b = 0; b < 5; b++) {
					long k = te_rec_query(r, q + qoff[b], qoff[b + 1] - qoff[b],
					                      (te_rec_combine)h, 10, one, &d);

					same &= k == (long)counts[b];
					for (long i = 0; i < k; i++)
						same &= one[i].row == many[b * 10 + i].row &&
						        one[i].score == many[b * 10 + i].score;
				}
			}
			ok(same, "te_rec_query_many agrees with te_rec_query exactly");
		}
		{
			size_t q[1] = {5};
			long k = te_rec_query(r, q, 1, TE_REC_COMBINE_MEAN, 3, hits, &d);

			ok(k == 3 && hits[0].score == 0 && hits[0].row == 0 && hits[1].row == 1,
			   "a zero vector scores 0 everywhere, ties by row");
		}
		{
			te_rec_combine how;

			ok(te_rec_combine_parse("recent", &how) == 0 && how == TE_REC_COMBINE_RECENT &&
			   te_rec_combine_parse("avg", &how) < 0, "combine names");
		}
		ok(te_rec_find(r, "item7", 5) == 7 && te_rec_find(r, "item7\0x", 7) < 0,
		   "find, and an id with a NUL is no key");
		ok(te_vecs_find(v, "item299\0zz", 10) < 0 && te_vecs_find(v, "item29", 6) == 29 &&
		   te_vecs_find(v, "item2", 5) == 2, "te_vecs_find: exact keys only");
	}
	te_rec_free(r);
	te_vecs_free(v);

	/* CSV metadata: quotes, doubled quotes, a line break inside quotes, CRLF */
	fp = fopen(path, "w");
	fputs("id,title,genres\r\n1,\"Toy Story, \"\"the\"\" one\",Comedy\r\n"
	      "2,\"two\nlines\",X\r\n 3 ,plain,Y\r\n", fp);
	fclose(fp);
	{
		te_rec_meta *m = te_rec_meta_load(path, 1, NULL, NULL, &d);
		const char *s1 = m ? te_rec_meta_get(m, "1", 1) : NULL;
		const char *s2 = m ? te_rec_meta_get(m, "2", 1) : NULL;
		const char *s3 = m ? te_rec_meta_get(m, "3", 1) : NULL;

		ok(s1 && strcmp(s1, "Toy Story, \"the\" one\tComedy") == 0, "quoted CSV field: %s",
		   s1 ? s1 : "(null)");
		ok(s2 && strcmp(s2, "two lines\tX") == 0, "line break inside quotes is a space");
		ok(s3 && strcmp(s3, "plain\tY") == 0, "id trimmed");
		ok(m && te_rec_meta_fields(m) == 2 && !te_rec_meta_get(m, "id", 2),
		   "header skipped, two fields");
		te_rec_meta_free(m);
	}
	unlink(path);

	for (int i = 0; i < 5000; i++) {
		char k[16];

		snprintf(k, sizeof k, "k%d", i);
		if (ut_strmap_intern(&t, k, strlen(k)) != i)
			break;
	}
	size_t kl;

	ok(t.n == 5000 && ut_strmap_get(&t, "k4321", 5) == 4321 &&
	   strcmp(ut_strmap_key(&t, 17, &kl), "k17") == 0 && kl == 3 && ut_strmap_get(&t, "k5000", 5) < 0,
	   "string table");
	ut_strmap_release(&t);
	{
		int f[4] = {0, 1, -1, -1};

		ok(te_rec_fields_parse("2,3,0", f) == 0 && f[0] == 1 && f[1] == 2 && f[2] == -1 &&
		   f[3] == -1, "--fields U,I,T");
		ok(te_rec_fields_parse("1,2,3,4", f) == 0 && f[2] == 2 && f[3] == 3,
		   "--fields U,I,T,R");
		ok(te_rec_fields_parse("1,2", f) < 0 && te_rec_fields_parse("1,2,3,4,5", f) < 0 &&
		   te_rec_fields_parse("0,2,3", f) < 0 && te_rec_fields_parse("1,,3", f) < 0,
		   "--fields refused: too few, too many, 0, empty");
	}
	return done_testing();
}
