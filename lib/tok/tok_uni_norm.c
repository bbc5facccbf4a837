/* tok_uni_norm.c: Unicode normalization as Hugging Face tokenizers does it
 * (see tok_uni.h).  Its tables are those of Unicode 9.0: a code point that
 * utf8proc (Unicode 15) can decompose, compose or reorder and the reference
 * cannot is, for the reference, a starter of class 0 that maps to itself, so
 * nothing reorders or composes across it.  The text is therefore cut around
 * each such code point (tk_hf_nonorm), the pieces between normalized by
 * utf8proc, and those code points copied as they are. */
#include <stdlib.h>
#include <string.h>

#include "../util_int.h"
#include "tok_uni.h"

static int
hf_nonorm(int32_t cp)
{
	if (cp < 0 || !(tk_hf_nonorm_blocks[cp >> 14] >> (cp >> 8 & 63) & 1))
		return 0;
	return tk_uni_find(tk_hf_nonorm, tk_hf_nnonorm, cp) >= 0;
}

/* Append utf8proc's form of s[0..n) to *o (size *cap, length *on). */
static int
map_piece(const uint8_t *s, size_t n, utf8proc_option_t opt, uint8_t **o, size_t *on, size_t *cap)
{
	utf8proc_uint8_t *m = NULL;
	utf8proc_ssize_t k;

	if (!n)
		return 0;
	k = utf8proc_map(s, (utf8proc_ssize_t)n, &m, opt);
	if (k < 0)
		return (int)k;
	if (*on + (size_t)k + 1 > *cap) {
		size_t c = (*on + (size_t)k + 1) * 2;
		uint8_t *p = realloc(*o, c);

		if (!p) {
			free(m);
			return UTF8PROC_ERROR_NOMEM;
		}
		*o = p;
		*cap = c;
	}
	memcpy(*o + *on, m, (size_t)k);
	*on += (size_t)k;
	(*o)[*on] = 0;
	free(m);
	return 0;
}

utf8proc_ssize_t
tk_hf_unimap(const uint8_t *s, size_t n, uint8_t **out, utf8proc_option_t opt)
{
	size_t i, start = 0, on = 0, cap = 0;
	uint8_t *o = NULL;
	int len, e;

	for (i = 0; i < n; i += (size_t)len) {
		int32_t cp = s[i] < 0x80 ? (len = 1, s[i]) : ut_utf8_dec(s + i, n - i, &len);

		if (cp < 0x300 || !hf_nonorm(cp))
			continue;
		if (!o && !(o = malloc(cap = n + 16)))
			return UTF8PROC_ERROR_NOMEM;
		if ((e = map_piece(s + start, i - start, opt, &o, &on, &cap)))
			goto fail;
		if (on + (size_t)len + 1 > cap) {
			uint8_t *p = realloc(o, cap = (on + (size_t)len + 1) * 2);

			if (!p) {
				e = UTF8PROC_ERROR_NOMEM;
				goto fail;
			}
			o = p;
		}
		memcpy(o + on, s + i, (size_t)len);
		on += (size_t)len;
		o[on] = 0;
		start = i + (size_t)len;
	}
	if (!o)
		return utf8proc_map(s, (utf8proc_ssize_t)n, out, opt);
	if ((e = map_piece(s + start, n - start, opt, &o, &on, &cap)))
		goto fail;
	*out = o;
	return (utf8proc_ssize_t)on;
fail:
	free(o);
	return e;
}

/* One character on its way through normalization: the code point, its
 * combining class as the reference sees it, and the change it stands for
 * (unicode-normalization-alignments': 0 one input character, +1 one
 * inserted, -k k input characters absorbed). */
typedef struct hf_ch {
	int32_t cp;
	int ccc, change;
} hf_ch;

static int
hf_ccc(int32_t cp)
{
	return hf_nonorm(cp) ? 0 : utf8proc_get_property(cp)->combining_class;
}

/* The code point a and b compose to, or -1. */
static int32_t
hf_compose(int32_t a, int32_t b)
{
	uint8_t s[8], *m = NULL;
	utf8proc_ssize_t k;
	int32_t c = -1;
	int len;

	if (hf_nonorm(a) || hf_nonorm(b))
		return -1;
	k = utf8proc_encode_char(a, s);
	k += utf8proc_encode_char(b, s + k);
	k = utf8proc_map(s, k, &m, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (k > 0 && (c = ut_utf8_dec(m, (size_t)k, &len)) >= 0 && len != k)
		c = -1;
	free(m);
	return c;
}

/* Decompose s[0, n) into v (room for cap), each piece after the first of a
 * character an insertion; then order the marks by class.  The count, or
 * -1. */
static long
hf_decompose(const uint8_t *s, size_t n, utf8proc_option_t opt, hf_ch *v, size_t cap)
{
	size_t i, m = 0;
	int len;

	opt = (opt & UTF8PROC_COMPAT) | UTF8PROC_DECOMPOSE | UTF8PROC_STABLE;
	for (i = 0; i < n; i += (size_t)len) {
		int32_t cp = ut_utf8_dec(s + i, n - i, &len), d[32];
		utf8proc_ssize_t k = 1;

		if (cp < 0)
			return -1;
		d[0] = cp;
		if (!hf_nonorm(cp) && ((k = utf8proc_decompose_char(cp, d, 32, opt, NULL)) < 1 || k > 32))
			return -1;
		for (utf8proc_ssize_t q = 0; q < k; q++) {
			if (m == cap)
				return -1;
			v[m++] = (hf_ch){d[q], hf_ccc(d[q]), q ? 1 : 0};
		}
	}
	for (i = 1; i < m; i++)		/* stable: insertion sort by class */
		for (size_t q = i; q > 0 && v[q].ccc && v[q - 1].ccc > v[q].ccc; q--) {
			hf_ch x = v[q];

			v[q] = v[q - 1];
			v[q - 1] = x;
		}
	return (long)m;
}

/* Canonical composition of v[0, m) in place; the count left. */
static size_t
hf_recompose(hf_ch *v, size_t m)
{
	size_t i, o = 0, st = SIZE_MAX;
	int last = -1;	/* class of the last kept since the starter */

	for (i = 0; i < m; i++) {
		int32_t c;

		if (st != SIZE_MAX && (last < v[i].ccc || (last == -1 && o == st + 1)) &&
		    (last == -1 || v[i].ccc) && (c = hf_compose(v[st].cp, v[i].cp)) >= 0) {
			v[st].cp = c;
			v[st].change += v[i].change - 1;
			continue;
		}
		if (!v[i].ccc) {
			st = o;
			last = -1;
		} else {
			last = v[i].ccc;
		}
		v[o++] = v[i];
	}
	return o;
}

long
tk_hf_unialign(const uint8_t *s, size_t n, utf8proc_option_t opt, uint8_t **out, size_t **at)
{
	size_t cap = n * 4 + 8, m, i, idx = 0, o = 0, nin = 0;
	hf_ch *v = malloc(cap * sizeof *v);
	size_t *pos = malloc((n + 1) * sizeof *pos), *a = NULL;
	uint8_t *b = NULL;
	long k;
	int len;

	if (!v || !pos || (k = hf_decompose(s, n, opt, v, cap)) < 0)
		goto fail;
	m = (size_t)k;
	if (opt & UTF8PROC_COMPOSE)
		m = hf_recompose(v, m);
	for (i = 0; i < n; i += (size_t)len) {	/* input character -> byte */
		ut_utf8_dec(s + i, n - i, &len);
		pos[nin++] = i;
	}
	if (!(b = malloc(m * 4 + 1)) || !(a = malloc((m * 4 + 1) * sizeof *a)))
		goto fail;
	for (i = 0; i < m; i++) {
		/* as tokenizers' NormalizedString::transform: an insertion takes
		 * the character before, the others the next input one */
		size_t src = v[i].change > 0 ? (idx ? idx - 1 : 0) : idx;
		utf8proc_ssize_t w = utf8proc_encode_char(v[i].cp, b + o);

		if (src >= nin)
			goto fail;
		for (utf8proc_ssize_t q = 0; q < w; q++)
			a[o + (size_t)q] = pos[src];
		o += (size_t)w;
		if (v[i].change <= 0)
			idx += (size_t)(1 - v[i].change);
	}
	free(v);
	free(pos);
	*out = b;
	*at = a;
	return (long)o;
fail:
	free(v);
	free(pos);
	free(a);
	free(b);
	return -1;
}

size_t
tk_hf_norm_cut(const uint8_t *s, size_t n, size_t from)
{
	size_t i = from;
	int len;

	while (i < n && (s[i] & 0xc0) == 0x80)
		i++;
	for (; i < n; i += (size_t)len) {
		int32_t cp = ut_utf8_dec(s + i, n - i, &len), d[32];
		const utf8proc_property_t *p;

		if (cp < 0x80)
			return i;	/* ASCII: a starter, second in no composition */
		if (utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE, NULL) < 1)
			continue;
		p = utf8proc_get_property(d[0]);
		if (!p->combining_class && p->comb_index == UINT16_MAX && !(d[0] >= 0x1160 && d[0] <= 0x11ff))
			return i;
	}
	return n;
}

uint8_t tk_qc_seen[0x110000];

/* A code point that may compose with the starter before it: the second
 * of a pair in utf8proc's table (comb_index 0x8000 and up), or a Hangul
 * vowel or trailing consonant (composed by rule). */
static int
qc_second(int32_t cp)
{
	const utf8proc_property_t *p = utf8proc_get_property(cp);

	return (p->comb_index != UINT16_MAX && p->comb_index >= 0x8000) ||
	       (cp >= 0x1160 && cp <= 0x11ff);
}

static int
qc_slow(int32_t cp, utf8proc_option_t opt)
{
	uint8_t s[4], *m = NULL;
	int32_t d[32];
	utf8proc_ssize_t k, e;
	int r;

	if (hf_nonorm(cp))
		return TK_QC_INERT;	/* a starter mapping to itself: cut around */
	if (utf8proc_get_property(cp)->combining_class || qc_second(cp))
		return TK_QC_NO;
	k = utf8proc_decompose_char(cp, d, 32, (opt & UTF8PROC_COMPAT) | UTF8PROC_DECOMPOSE, NULL);
	if (k < 1 || k > 32)
		return TK_QC_BAD;
	if (utf8proc_get_property(d[0])->combining_class || qc_second(d[0]))
		return TK_QC_NO;
	k = utf8proc_encode_char(cp, s);
	if ((e = utf8proc_map(s, k, &m, opt)) < 0)
		return TK_QC_BAD;
	r = e == k && !memcmp(m, s, (size_t)k) ? TK_QC_INERT : TK_QC_NO;
	free(m);
	return r;
}

int
tk_hf_inert_slow(int32_t cp, utf8proc_option_t opt)
{
	int sh = (opt & UTF8PROC_COMPOSE ? 2 : 0) + (opt & UTF8PROC_COMPAT ? 4 : 0);
	int v;

	if (cp < 0x80)
		return cp < 0 ? TK_QC_BAD : TK_QC_INERT;
	if (cp > 0x10ffff)
		return TK_QC_BAD;
	v = qc_slow(cp, opt);
	__atomic_fetch_or(&tk_qc_seen[cp], (uint8_t)((v + 1) << sh), __ATOMIC_RELAXED);
	return v;
}
