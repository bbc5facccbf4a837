/* fuzz-vecstream: the input as a stream of vectors or token vectors (text
 * or TEVEC), read document by document or vector by vector (the first
 * byte picks) as emb-pool and knn read their input. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	te_diag d = {0};
	te_vecstream *s;
	FILE *fp;
	int docs, n = 0;

	if (size < 1 || !(fp = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "rb")))
		return 0;
	if (size == 1)
		fgetc(fp);	/* fmemopen takes no empty buffer: an empty stream */
	docs = data[0] & 1;
	if (!(s = te_vecstream_from_fp(fp, "-", &d))) {
		fclose(fp);
		return 0;
	}
	for (;;) {
		float *buf = NULL;
		size_t rows = 0, dim = 0;
		const char *key = NULL;
		int rc = docs ? te_vecstream_next_doc(s, &buf, &rows, &dim, &d)
		              : te_vecstream_next_vec(s, &buf, &dim, &key, &d);

		if (rc <= 0 || ++n > 10000)
			break;
		if (docs && rows && dim) {
			float *out = malloc(dim * sizeof *out);

			if (out)
				te_pool(TE_POOL_MEAN, buf, rows, dim, out);
			free(out);
		}
		te_vecstream_lineno(s);
	}
	te_vecstream_is_binary(s);
	te_vecstream_close(s);
	fclose(fp);
	return 0;
}
