/* fuzz-vecs: the input (after a first byte that picks the format: auto,
 * text, word2vec binary, TEVEC) as a vector file, loaded by te_vecs_load;
 * rows read, keys looked up, a brute-force search run, and what was loaded
 * written as TEVEC and read back: the same rows, bit for bit, and keys. */
#include "fuzz.h"

static void
round_trip(te_vecs *v)
{
	size_t rows = te_vecs_rows(v), dim = te_vecs_dim(v), ks = 0, i;
	int keyed = te_vecs_key(v, 0) != NULL;
	const char *path;
	te_diag d = {0};
	te_vecs *w;
	FILE *fp;

	for (i = 0; i < rows; i++) {
		const char *k = te_vecs_key(v, i);

		if ((k != NULL) != keyed)
			return;	/* keys for some rows only: not a TEVEC file */
		ks += k ? strlen(k) + 1 : 0;
	}
	path = fz_write("rt.tevec", "", 0);
	if (!(fp = fopen(path, "wb")) || te_vec_write_tevec_header(fp, rows, dim, ks, 0))
		abort();
	for (i = 0; i < rows; i++)
		if (te_vec_write_tevec_row(fp, te_vecs_row(v, i), dim))
			abort();
	for (i = 0; keyed && i < rows; i++)
		if (te_vec_write_tevec_key(fp, te_vecs_key(v, i)))
			abort();
	if (fclose(fp) || !(w = te_vecs_load(path, TE_VEC_FORMAT_TEVEC, &d))) {
		fprintf(stderr, "fuzz-vecs: the TEVEC written does not load: %s\n", d.msg);
		abort();
	}
	if (te_vecs_rows(w) != rows || te_vecs_dim(w) != dim)
		abort();
	for (i = 0; i < rows; i++) {
		const char *a = te_vecs_key(v, i), *b = te_vecs_key(w, i);

		if (memcmp(te_vecs_row(v, i), te_vecs_row(w, i), dim * sizeof(float)) ||
		    (a && (!b || strcmp(a, b))))
			abort();
	}
	te_vecs_free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const te_vec_format fmts[] = {TE_VEC_FORMAT_AUTO, TE_VEC_FORMAT_TEXT,
	                                     TE_VEC_FORMAT_W2V_BIN, TE_VEC_FORMAT_TEVEC};
	te_diag d = {0};
	te_vecs *v;
	te_knn *x;

	if (size < 1)
		return 0;
	v = te_vecs_load(fz_write("v.vec", data + 1, size - 1), fmts[data[0] % 4], &d);
	if (!v)
		return 0;
	{
		size_t rows = te_vecs_rows(v), dim = te_vecs_dim(v), i;
		float s = 0;

		for (i = 0; i < rows && i < 64; i++) {
			const float *r = te_vecs_row(v, i);
			const char *k = te_vecs_key(v, i);

			s += r[0] + r[dim - 1];
			if (k)
				te_vecs_find(v, k, strlen(k));
		}
		te_vecs_find(v, "the", 3);
		te_vecs_find(v, "", 0);
		te_vecs_format(v);
		if (rows && (x = te_knn_new(v, data[0] / 4 % 3, 1, &d))) {
			te_knn_hit hits[4];
			size_t nout = 0;

			te_knn_search(x, te_vecs_row(v, 0), 1, 3, 0, NULL, 0, hits, &nout, &d);
			te_knn_free(x);
		}
		(void)s;
		if (rows)
			round_trip(v);
	}
	te_vecs_free(v);
	return 0;
}
