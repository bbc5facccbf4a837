/* knn_int.h: what knn.c and knn_hnsw.c share (knn_base.c): the final
 * scores.  The vector kernels are in kern_int.h, the threads and the top-k
 * heap in util_int.h. */
#ifndef TOKEMB_KNN_INT_H
#define TOKEMB_KNN_INT_H

#include <stddef.h>

#include "tokemb.h"
#include "util_int.h"

/* Score the hits again in a fixed order and sort them, best first;
 * Euclidean scores become distances.  Hit i's row is at base + at * stride
 * bytes, at = map[i], or its row without a map; unit: the rows are already
 * row / |row| (cosine). */
void knn_finish(te_knn_metric m, const void *base, size_t stride, int unit, size_t dim,
                const float *q, const uint32_t *map, te_knn_hit *h, size_t n);

/* The metric of the exact index (knn.c). */
te_knn_metric knn_metric(const te_knn *x);

#endif
