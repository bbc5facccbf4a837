/* test-w2v.c: word2vec kernels against their scalar reference, training on a
 * corpus with known structure, reproducibility, and output read back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokemb.h"
#include "w2v_int.h"
#include "tap.h"

static float
frand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* 4 genres of 12 items, 600 lines of 10 items of one genre */
static char *
write_corpus(void)
{
	static char path[] = "/tmp/tokemb-w2v-XXXXXX";
	static const char *g[] = {"rock", "jazz", "techno", "folk"};
	unsigned s = 7;
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");

	for (int l = 0; l < 600; l++) {
		int k = (int)((frand(&s) + 0.5f) * 4);

		for (int i = 0; i < 10; i++)
			fprintf(fp, "%s%s%02d", i ? " " : "", g[k], (int)((frand(&s) + 0.5f) * 12));
		fputc('\n', fp);
	}
	fclose(fp);
	return path;
}

static double
cosine(const float *a, const float *b, size_t n)
{
	double ab = 0, aa = 0, bb = 0;

	for (size_t i = 0; i < n; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return ab / sqrt(aa * bb + 1e-30);
}

/* share of items whose nearest neighbour is of the same genre */
static double
genre_accuracy(const te_w2v *m)
{
	size_t V = te_w2v_vocab_size(m), dim = te_w2v_dim(m), good = 0;

	for (size_t i = 0; i < V; i++) {
		double best = -2;
		size_t bj = i;

		for (size_t j = 0; j < V; j++) {
			double c = j == i ? -2 : cosine(te_w2v_vector(m, i), te_w2v_vector(m, j), dim);

			if (c > best) {
				best = c;
				bj = j;
			}
		}
		good += strncmp(te_w2v_key(m, i), te_w2v_key(m, bj), 4) == 0;
	}
	return (double)good / (double)V;
}

static te_w2v *
train(const char *corpus, int sg, int hs, int neg, int batch, uint64_t seed)
{
	te_w2v_params p;
	te_diag d = {0};
	te_w2v *m;
	FILE *fp = fopen(corpus, "r");

	te_w2v_params_default(&p);
	p.sg = sg;
	p.hs = hs;
	p.negative = neg;
	p.batch = batch;
	p.min_count = 1;
	p.dim = 20;
	p.epochs = 10;
	p.threads = 1;
	p.seed = seed;
	m = te_w2v_new(&p, &d);
	if (!m || te_w2v_add(m, fp, corpus, &d) < 0 || te_w2v_train(m, NULL, NULL, &d) < 0) {
		printf("# %s\n", d.msg);
		te_w2v_free(m);
		m = NULL;
	}
	fclose(fp);
	return m;
}

/* Items of every length from 1 to 40 (around the 15 bytes a key keeps in
 * its record), the one of length L seen L + 100 times, among 6,000 items
 * seen once; counted with max_vocab_size mvs (0: no pruning).  Returns the
 * number of failures: the 40 must come out, most frequent first, each with
 * its key whole and its count. */
static int
check_counting(long long mvs)
{
	char path[] = "/tmp/tokemb-w2v-keys-XXXXXX", key[41];
	int fd = mkstemp(path), bad = 0;
	FILE *fp = fdopen(fd, "w+");
	te_w2v_params p;
	te_diag d = {0};
	te_w2v *m;

	for (int rep = 0; rep < 140; rep++) {
		for (int L = 1; L <= 40; L++)
			if (rep < L + 100)
				fprintf(fp, "%.*s%c ", L - 1, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 'a' + L % 26);
		fputc('\n', fp);
	}
	for (int i = 0; i < 6000; i++)
		fprintf(fp, "once%0*d%c", 1 + i % 30, i, i % 10 == 9 ? '\n' : ' ');
	rewind(fp);
	te_w2v_params_default(&p);
	p.min_count = 2;
	p.max_vocab_size = mvs;
	p.dim = 4;
	p.epochs = 1;
	p.threads = 1;
	m = te_w2v_new(&p, &d);
	if (!m || te_w2v_add(m, fp, path, &d) < 0 || te_w2v_train(m, NULL, NULL, &d) < 0) {
		printf("# %s\n", d.msg);
		bad = 1;
	} else if (te_w2v_vocab_size(m) != 40) {
		printf("# %zu items\n", te_w2v_vocab_size(m));
		bad = 1;
	}
	for (size_t i = 0; !bad && i < 40; i++) {
		int L = 40 - (int)i;

		snprintf(key, sizeof key, "%.*s%c", L - 1, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 'a' + L % 26);
		if (strcmp(te_w2v_key(m, i), key) != 0 || te_w2v_count(m, i) != (uint64_t)L + 100) {
			printf("# item %zu: '%s' seen %llu times\n", i, te_w2v_key(m, i),
			       (unsigned long long)te_w2v_count(m, i));
			bad++;
		}
	}
	te_w2v_free(m);
	fclose(fp);
	unlink(path);
	return bad;
}

int
main(void)
{
	float t[W2V_EXP_TABLE];
	unsigned s = 1;
	int bad = 0;
	char *corpus;
	te_w2v *m, *m2;
	te_diag d = {0};

	w2v_exp_table(t);
	ok(fabsf(t[W2V_EXP_TABLE / 2] - 0.5f) < 0.01f, "sigmoid(0) = 0.5");
	ok(w2v_grad(7, 1, 0.1f, t) == 0 && w2v_grad(-7, 1, 0.1f, t) == 0.1f,
	   "gradient saturates outside [-6, 6]");

	/* dot and axpy against plain loops, lengths around the vector width */
	for (size_t n = 1; n <= 40; n++) {
		float x[40], y[40], y2[40];
		double ref = 0;

		for (size_t i = 0; i < n; i++) {
			x[i] = frand(&s);
			y[i] = y2[i] = frand(&s);
			ref += (double)x[i] * y[i];
		}
		if (fabs(w2v_dot(x, y, n) - ref) > 1e-5)
			bad++;
		w2v_axpy(0.5f, x, y, n);
		for (size_t i = 0; i < n; i++)
			if (fabsf(y[i] - (y2[i] + 0.5f * x[i])) > 1e-6f)
				bad++;
	}
	ok(bad == 0, "dot and axpy agree with the scalar reference for lengths 1..40");

	/* axpy2 is the two axpys of a pair's update, bit for bit */
	bad = 0;
	for (size_t n = 1; n <= 40; n++) {
		float x[40], y[40], e[40], y2[40], e2[40];

		for (size_t i = 0; i < n; i++) {
			x[i] = frand(&s);
			y[i] = y2[i] = frand(&s);
			e[i] = e2[i] = frand(&s);
		}
		w2v_axpy2(0.3f, x, y, e, n);
		w2v_axpy(0.3f, y2, e2, n);
		w2v_axpy(0.3f, x, y2, n);
		if (memcmp(y, y2, n * sizeof *y) || memcmp(e, e2, n * sizeof *e))
			bad++;
	}
	ok(bad == 0, "axpy2 gives the two axpys' results bit for bit, lengths 1..40");

	corpus = write_corpus();
	{
		static const struct { int sg, hs, neg, batch; const char *name; } cf[] = {
			{1, 0, 5, 1, "skip-gram, negatives shared by the window"},
			{1, 0, 5, 0, "skip-gram, negatives, pair by pair"},
			{0, 0, 5, 0, "CBOW, negatives"},
			{1, 1, 0, 1, "skip-gram, hierarchical softmax"},
			{0, 1, 0, 0, "CBOW, hierarchical softmax"},
		};

		for (size_t i = 0; i < sizeof cf / sizeof cf[0]; i++) {
			double acc;

			m = train(corpus, cf[i].sg, cf[i].hs, cf[i].neg, cf[i].batch, 1);
			acc = m ? genre_accuracy(m) : 0;
			ok(acc >= 0.9, "%s: nearest neighbour of the same genre for %.0f%% of items",
			   cf[i].name, acc * 100);
			te_w2v_free(m);
		}
	}

	m = train(corpus, 1, 0, 5, 1, 42);
	m2 = train(corpus, 1, 0, 5, 1, 42);
	ok(m && m2 && te_w2v_vocab_size(m) == 48 &&
	   memcmp(te_w2v_vector(m, 0), te_w2v_vector(m2, 0), 48 * 20 * sizeof(float)) == 0,
	   "one thread and a seed give the same vectors");
	ok(m && te_w2v_count(m, 0) >= te_w2v_count(m, 47), "most frequent item first");
	te_w2v_free(m2);

	/* each output format reads back through te_vecs_load */
	if (m) {
		static const te_vec_format fmts[] = {TE_VEC_FORMAT_TEXT, TE_VEC_FORMAT_W2V_BIN,
		                                     TE_VEC_FORMAT_TEVEC};

		for (int f = 0; f < 3; f++) {
			char path[] = "/tmp/tokemb-w2v-out-XXXXXX";
			int fd = mkstemp(path), same = 1, rc;
			FILE *fp = fdopen(fd, "w");
			te_vecs *v;

			/* (ok() evaluates its condition twice: no side effects in it) */
			rc = te_w2v_write(m, fp, fmts[f], &d);
			ok(rc == 0, "format %d written", f);
			fclose(fp);
			v = te_vecs_load(path, TE_VEC_FORMAT_AUTO, &d);
			if (!v)
				printf("# %s\n", d.msg);
			same = v && te_vecs_rows(v) == 48 && te_vecs_dim(v) == 20;
			if (v && !same)
				printf("# %zu x %zu\n", te_vecs_rows(v), te_vecs_dim(v));
			for (size_t i = 0; same && i < 48; i++) {
				same = strcmp(te_vecs_key(v, i), te_w2v_key(m, i)) == 0;
				for (size_t j = 0; same && j < 20; j++)
					if (te_vecs_row(v, i)[j] != te_w2v_vector(m, i)[j]) {
						printf("# row %zu col %zu: %.9g read back as %.9g\n", i, j,
						       te_w2v_vector(m, i)[j], te_vecs_row(v, i)[j]);
						same = 0;
					}
			}
			ok(same, "format %d reads back bit for bit with its keys", f);
			te_vecs_free(v);
			if (same)
				unlink(path);
			else
				printf("# kept %s\n", path);
		}
	}
	te_w2v_free(m);
	unlink(corpus);

	ok(check_counting(0) == 0, "keys of 1 to 40 bytes counted whole among 6,000 others");
	ok(check_counting(1000) == 0, "and with max_vocab_size pruning the rare ones as it counts");
	return done_testing();
}
