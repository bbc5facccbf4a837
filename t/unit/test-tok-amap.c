/* test-tok-amap: an alignment kept as runs (tk_amap, spm_util.c) gives
 * every byte the span it was put with, whatever the puts: bytes each
 * their own, characters each their own, groups of one span (whole or a
 * part at a time), a group and the bytes after it (put apart or at once,
 * tk_amap_put_tail), at random; so do its copies (tk_amap_copy), after a
 * cut (tk_amap_trunc) and more puts, looked up in order and at random;
 * looked up between puts (the cursor, a->c, on the run a put grows or
 * reshapes); and past the 65535 shapes its table holds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tok/spm_int.h"

/* The spans the puts made, one a byte: the reference. */
typedef struct {
	uint32_t *os, *oe;
	size_t n, cap;
} ref;

static void
ref_put(ref *r, size_t n, uint32_t os, uint32_t oe, int own)
{
	if (r->n + n > r->cap) {
		r->cap = 2 * (r->n + n);
		r->os = realloc(r->os, r->cap * sizeof *r->os);
		r->oe = realloc(r->oe, r->cap * sizeof *r->oe);
	}
	for (size_t k = 0; k < n; k++) {
		r->os[r->n] = own ? os + (uint32_t)k : os;
		r->oe[r->n++] = own ? os + (uint32_t)k + 1 : oe;
	}
}

/* Random puts onto a and r, with input offsets from *at on. */
static int
puts_random(tk_amap *a, ref *r, unsigned *seed, size_t count, uint32_t *at, int wide)
{
	for (size_t i = 0; i < count; i++) {
		unsigned x = (unsigned)rand_r(seed);
		size_t n = 1 + x % 4;
		uint32_t os = *at, w = 1 + (x >> 4) % 4;

		if (wide)	/* a shape of its own each */
			w = (uint32_t)(i + 1), n = 2;
		switch (wide ? 9 : (x >> 8) % 8) {
		case 0:	/* bytes each their own */
			n = 1 + (x >> 12) % 40;
			if (tk_amap_put_own(a, n, os) < 0)
				return -1;
			ref_put(r, n, os, 0, 1);
			*at += (uint32_t)n;
			continue;
		case 1:	/* a character of n bytes, as it was */
			w = (uint32_t)n;
			break;
		case 2:	/* "▁" for one byte */
			n = 3, w = 1;
			break;
		case 3:	/* inserted: an empty span */
			w = 0;
			break;
		case 5:	/* a group and the bytes after it, each their own, at once */
			if (w) {
				size_t k = 1 + (x >> 12) % 30;

				if (tk_amap_put_tail(a, n, os, os + w, k, os + w) < 0)
					return -1;
				ref_put(r, n, os, os + w, 0);
				ref_put(r, k, os + w, 0, 1);
				*at += w + (uint32_t)k;
				continue;
			}
			break;
		case 4:	/* a group put a part at a time (" X " for CJK X) */
			if (n > 1) {
				size_t h = 1 + (x >> 14) % (n - 1);

				if (tk_amap_put(a, h, os, os + w) < 0)
					return -1;
				ref_put(r, h, os, os + w, 0);
				n -= h;
			}
			break;
		default:
			break;
		}
		if (tk_amap_put(a, n, os, os + w) < 0)
			return -1;
		ref_put(r, n, os, os + w, 0);
		*at += w ? w : (x >> 20) % 2;
	}
	return 0;
}

/* Every byte of a has r's span: looked up in order, then at random. */
static int
same(tk_amap *a, const ref *r, unsigned seed)
{
	uint32_t os, oe;

	if (a->len != r->n)
		return 0;
	for (size_t i = 0; i < r->n; i++) {
		tk_amap_get(a, i, &os, &oe);
		if (os != r->os[i] || oe != r->oe[i])
			return 0;
	}
	for (size_t k = 0; r->n && k < 2000; k++) {
		size_t i = (size_t)rand_r(&seed) % r->n;

		tk_amap_get(a, i, &os, &oe);
		if (os != r->os[i] || oe != r->oe[i])
			return 0;
	}
	return 1;
}

int
main(void)
{
	int bad = 0, badc = 0, badt = 0, seeds = 300;
	size_t runs = 0, bytes = 0;

	for (unsigned s = 1; s <= (unsigned)seeds; s++) {
		tk_amap a = {0}, c = {0};
		ref r = {0}, rc = {0};
		unsigned seed = s;
		uint32_t at = 0;
		size_t from, to, cut;

		if (puts_random(&a, &r, &seed, 1 + s * 7, &at, 0) < 0)
			return 1;
		bad += !same(&a, &r, s);
		runs += a.n, bytes += a.len;
		/* a copy of a part, then more puts on it */
		from = r.n ? (size_t)rand_r(&seed) % r.n : 0;
		to = from + (r.n ? (size_t)rand_r(&seed) % (r.n - from + 1) : 0);
		if (tk_amap_copy(&c, &a, from, to) < 0)
			return 1;
		for (size_t i = from; i < to; i++)
			ref_put(&rc, 1, r.os[i], r.oe[i], 0);
		if (puts_random(&c, &rc, &seed, 20, &at, 0) < 0)
			return 1;
		badc += !same(&c, &rc, s);
		/* cut short, maybe inside a group, then more puts */
		cut = r.n ? (size_t)rand_r(&seed) % (r.n + 1) : 0;
		tk_amap_trunc(&a, cut);
		r.n = cut;
		if (puts_random(&a, &r, &seed, 30, &at, 0) < 0)
			return 1;
		badt += !same(&a, &r, s + 1);
		tk_amap_release(&a);
		tk_amap_release(&c);
		free(r.os), free(r.oe), free(rc.os), free(rc.oe);
	}
	ok(!bad, "%d random alignments give each byte its span (%zu bytes in %zu runs)", seeds,
	   bytes, runs);
	ok(runs * 2 < bytes, "the runs are fewer than the bytes");
	ok(!badc, "their copies, grown, give each byte its span");
	ok(!badt, "cut anywhere and grown, each byte its span");
	bad = 0;
	for (unsigned s = 1; s <= 100; s++) {	/* a lookup between each two puts */
		tk_amap a = {0};
		ref r = {0};
		unsigned seed = s;
		uint32_t at = 0, os, oe;
		size_t cut = SIZE_MAX;

		for (int k = 0; k < 200; k++) {
			size_t i;

			if (puts_random(&a, &r, &seed, 1, &at, 0) < 0)
				return 1;
			if (!r.n)
				continue;
			/* the last byte, at random, or the first after a cut */
			i = cut < r.n ? cut : k % 3 ? r.n - 1 : (size_t)rand_r(&seed) % r.n;
			cut = SIZE_MAX;
			tk_amap_get(&a, i, &os, &oe);
			bad += os != r.os[i] || oe != r.oe[i];
			if (k % 10 == 9) {	/* a cut in the cursor's run */
				tk_amap_get(&a, r.n - 1, &os, &oe);
				cut = r.n - 1 - (size_t)rand_r(&seed) % (r.n < 4 ? r.n : 4);
				tk_amap_trunc(&a, cut);
				r.n = cut;
			}
		}
		bad += !same(&a, &r, s);
		tk_amap_release(&a);
		free(r.os), free(r.oe);
	}
	ok(!bad, "looked up between puts and cuts: each byte its span");
	{
		tk_amap a = {0};
		ref r = {0};
		unsigned seed = 7;
		uint32_t at = 0;
		int fine = puts_random(&a, &r, &seed, 70000, &at, 1) == 0 && same(&a, &r, 3);

		ok(fine && a.nside > 0, "past 65535 shapes: each byte its span (%zu runs aside)",
		   a.nside);
		tk_amap_trunc(&a, 1000);
		r.n = 1000;
		fine = puts_random(&a, &r, &seed, 100, &at, 0) == 0 && same(&a, &r, 4);
		ok(fine, "cut among them and grown: each byte its span");
		tk_amap_release(&a);
		free(r.os), free(r.oe);
	}
	return done_testing();
}
