/* tkout.h: the unit tests' comparison of two BPE outputs (tk_out) and its
 * release: one home for what the BPE tests each wrote again. */
#ifndef TKOUT_H
#define TKOUT_H

#include <stdlib.h>
#include <string.h>

#include "tok/tok_int.h"

/* 1 when x and y hold the same ids with the same spans. */
static inline int
tkout_same(const tk_out *x, const tk_out *y)
{
	return x->n == y->n && (!x->n || (!memcmp(x->ids, y->ids, x->n * sizeof *x->ids) &&
	       !memcmp(x->a, y->a, x->n * sizeof *x->a) && !memcmp(x->b, y->b, x->n * sizeof *x->b)));
}

static inline void
tkout_free(tk_out *o)
{
	free(o->ids);
	free(o->a);
	free(o->b);
}

#endif
