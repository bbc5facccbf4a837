/* knn_base.c: what the exact search (knn.c) and the HNSW index
 * (knn_hnsw.c) share: the final scores of their hits. */
#include <math.h>
#include <stdlib.h>

#include "kern_int.h"
#include "knn_int.h"

/* The scores of the hits kept are computed again, in one fixed order, and
 * the hits sorted on them: a query then scores the same whatever else is in
 * its batch and whichever BLAS kernel served it, the exact search and the
 * HNSW index print the same numbers, and a Euclidean distance is not the
 * difference of two large numbers (|x|^2 - 2 x.q + |q|^2 gives 2e-4 for a
 * row's distance to itself).  q is prepared as for the search (unit for
 * cosine).  Row r is at base + r * stride bytes; for cosine, a unit row is
 * the float32 row / |row| (knn_unit) and the score its dot product with q in
 * double: the HNSW index holds its rows so, and need not read the vectors
 * again. */
void
knn_finish(te_knn_metric m, const void *base, size_t stride, int unit, size_t dim,
           const float *q, const uint32_t *map, te_knn_hit *h, size_t n)
{
	float u[512];

	for (size_t i = 0; i < n; i++) {
		size_t at = map ? map[i] : (size_t)h[i].row;
		const float *r = (const float *)((const char *)base + at * stride);

		if (m == TE_KNN_METRIC_EUCLIDEAN) {
			double s = 0;

			for (size_t j = 0; j < dim; j++)
				s += ((double)r[j] - q[j]) * ((double)r[j] - q[j]);
			h[i].score = -(float)sqrt(s);
		} else if (m == TE_KNN_METRIC_COSINE) {
			float nr = unit ? 1.0f : kern_norm(r, dim);
			double s = 0;

			/* a block of the unit row at a time, in the same order
			 * whether it is made here or read from the index */
			for (size_t j0 = 0; j0 < dim; j0 += 512) {
				size_t nj = dim - j0 < 512 ? dim - j0 : 512;
				const float *p = r + j0;

				if (!unit) {
					for (size_t j = 0; j < nj; j++)
						u[j] = nr > 0 ? p[j] / nr : p[j];
					p = u;
				}
				s += kern_ddot(p, q + j0, nj);
			}
			h[i].score = (float)s;
		} else {
			h[i].score = (float)kern_ddot(r, q, dim);
		}
	}
	qsort(h, n, sizeof *h, ut_hit_cmp);
	if (m == TE_KNN_METRIC_EUCLIDEAN)
		for (size_t i = 0; i < n; i++)
			h[i].score = -h[i].score;
}
