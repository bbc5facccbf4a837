/* tok_limits.c: a tokenizer.json's truncation and padding, applied to an
 * encoding as Hugging Face tokenizers' encode applies them (see tokemb.h,
 * te_tok_limits). */
#include <string.h>

#include "tok_int.h"

void
te_tok_limits_get(const te_tok *t, te_tok_limits *l)
{
	l->max_length = t->max_length;
	l->trunc_left = t->trunc_left;
	l->pad = t->pad;
	l->pad_length = t->pad_length;
	l->pad_multiple = t->pad_multiple;
	l->pad_left = t->pad_left;
	l->pad_id = t->pad_id;
}

/* Drop k tokens of e from index i on. */
static void
enc_drop(te_tok_enc *e, size_t i, size_t k)
{
	size_t rest = e->n - i - k;

	memmove(e->ids + i, e->ids + i + k, rest * sizeof *e->ids);
	if (e->start) {		/* spans kept (not TE_TOK_NO_OFFSETS) */
		memmove(e->start + i, e->start + i + k, rest * sizeof *e->start);
		memmove(e->end + i, e->end + i + k, rest * sizeof *e->end);
	}
	e->n -= k;
}

/* The special tokens ADD_SPECIAL put before and after the text. */
static void
added_counts(const te_tok *t, size_t *npre, size_t *nsuf)
{
	size_t k;

	*npre = *nsuf = 0;
	for (k = 0; k < t->ntpl && t->tpl[k].ids; k++)
		*npre += t->tpl[k].n;
	for (k++; k < t->ntpl; k++)
		*nsuf += t->tpl[k].n;
}

int
te_tok_limits_apply(const te_tok *t, const te_tok_limits *l, unsigned flags, te_tok_enc *e)
{
	size_t npre = 0, nsuf = 0, target, k;

	if (flags & TE_TOK_ADD_SPECIAL)
		added_counts(t, &npre, &nsuf);
	if (npre + nsuf > e->n)
		npre = nsuf = 0;	/* not an encoding with them: all is text */
	if (l->max_length >= 0) {
		size_t keep = (size_t)l->max_length > npre + nsuf ?
		              (size_t)l->max_length - npre - nsuf : 0;
		size_t text = e->n - npre - nsuf;

		if (text > keep)
			enc_drop(e, l->trunc_left ? npre : npre + keep, text - keep);
	}
	if (!l->pad)
		return 0;
	target = l->pad_length > 0 ? (size_t)l->pad_length : e->n;
	if (l->pad_multiple > 0 && target % (size_t)l->pad_multiple)
		target += (size_t)l->pad_multiple - target % (size_t)l->pad_multiple;
	if (target <= e->n)
		return 0;
	k = target - e->n;
	if (tk_enc_reserve(e, k))
		return -1;
	if (l->pad_left) {
		memmove(e->ids + k, e->ids, e->n * sizeof *e->ids);
		if (e->start) {
			memmove(e->start + k, e->start, e->n * sizeof *e->start);
			memmove(e->end + k, e->end, e->n * sizeof *e->end);
		}
	}
	for (size_t i = 0; i < k; i++) {
		size_t at = l->pad_left ? i : e->n + i;

		e->ids[at] = l->pad_id;
		if (e->start)
			e->start[at] = e->end[at] = 0;
	}
	e->n = target;
	return 0;
}
