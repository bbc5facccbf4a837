/* fuzz-hnsw: a valid HNSW index of 64 small vectors, changed as the input
 * says (fz_patch), loaded by te_hnsw_load over those vectors and searched. */
#include <math.h>

#include "fuzz.h"

static te_vecs *vecs;
static unsigned char *index_bytes;
static size_t index_n;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[64 * 64], *p = text;
	te_diag d = {0};
	te_hnsw *h;
	char path[600];

	(void)argc, (void)argv;
	for (int i = 0; i < 64; i++)
		p += sprintf(p, "k%d %.3f %.3f %.3f %.3f\n", i, sin(i), cos(i * 0.7), i * 0.01,
		             (double)(i % 5));
	vecs = te_vecs_load(fz_write("v.txt", text, strlen(text)), TE_VEC_FORMAT_TEXT, &d);
	snprintf(path, sizeof path, "%s/v.hnsw", fz_scratch());
	if (!vecs || !(h = te_hnsw_build(vecs, TE_KNN_METRIC_COSINE, 4, 16, 1, 7, &d)) ||
	    te_hnsw_save(h, path, &d) || !(index_bytes = fz_read(path, &index_n))) {
		fprintf(stderr, "fuzz-hnsw: %s: %s\n", d.file, d.msg);
		abort();
	}
	te_hnsw_free(h);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	unsigned char *b = fz_patch(index_bytes, index_n, data, size, &n);
	te_diag d = {0};
	te_hnsw *h = te_hnsw_load(fz_write("x.hnsw", b, n), vecs, &d);

	free(b);
	if (h) {
		te_knn_hit hits[2 * 5];
		size_t nout[2];
		long excl[2] = {3, -1};

		te_hnsw_metric(h);
		te_hnsw_search(h, te_vecs_row(vecs, 0), 2, 5, 10, excl, 1, 1, hits, nout, &d);
		te_hnsw_free(h);
	}
	return 0;
}
