/* util_heap.c: the order of top-k hits (util_int.h's ut_heap). */
#include <stdlib.h>

#include "util_int.h"

int
ut_hit_cmp(const void *a, const void *b)
{
	const te_hit *x = a, *y = b;

	if (ut_better(x->score, x->row, y->score, y->row))
		return -1;
	if (ut_better(y->score, y->row, x->score, x->row))
		return 1;
	return 0;
}

void
ut_heap_sort(ut_heap *hp)
{
	qsort(hp->h, hp->n, sizeof *hp->h, ut_hit_cmp);
}
