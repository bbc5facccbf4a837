/* knn_int.h: what knn.c and knn_hnsw.c share (knn_base.c): the top-k heap
 * and the final scores.  The vector kernels are in kern_int.h, the threads
 * in util_int.h. */
#ifndef TOKEMB_KNN_INT_H
#define TOKEMB_KNN_INT_H

#include <stddef.h>

#include "tokemb.h"

/* "a is better than b": higher score, then the lower row (a stable order for
 * exact ties, whatever the thread or block that found them). */
static inline int
knn_better(float sa, long ra, float sb, long rb)
{
	return sa > sb || (sa == sb && ra < rb);
}

/* A bounded min-heap of the k best hits: h[0] is the worst kept. */
typedef struct knn_heap {
	te_knn_hit *h;
	size_t n, k;
} knn_heap;

static inline void
knn_heap_sift_down(te_knn_hit *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;

		if (l < n && knn_better(h[w].score, h[w].row, h[l].score, h[l].row))
			w = l;
		if (r < n && knn_better(h[w].score, h[w].row, h[r].score, h[r].row))
			w = r;
		if (w == i)
			return;
		te_knn_hit t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

/* Offer a hit; keeps the k best. */
static inline void
knn_heap_push(knn_heap *hp, float s, long row)
{
	te_knn_hit *h = hp->h;

	if (hp->n < hp->k) {
		size_t i = hp->n++;

		h[i].score = s;
		h[i].row = row;
		while (i > 0) {
			size_t p = (i - 1) / 2;

			if (!knn_better(h[p].score, h[p].row, h[i].score, h[i].row))
				break;
			te_knn_hit t = h[i];
			h[i] = h[p];
			h[p] = t;
			i = p;
		}
		return;
	}
	if (hp->k == 0 || !knn_better(s, row, h[0].score, h[0].row))
		return;
	h[0].score = s;
	h[0].row = row;
	knn_heap_sift_down(h, hp->n, 0);
}

/* Sort the heap's hits best first, in place. */
void knn_heap_sort(knn_heap *hp);

/* Score the hits again in a fixed order and sort them, best first;
 * Euclidean scores become distances.  Hit i's row is at base + at * stride
 * bytes, at = map[i], or its row without a map; unit: the rows are already
 * row / |row| (cosine). */
void knn_finish(te_knn_metric m, const void *base, size_t stride, int unit, size_t dim,
                const float *q, const uint32_t *map, te_knn_hit *h, size_t n);

#endif
