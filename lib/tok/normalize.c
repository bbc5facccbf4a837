/* normalize.c: the tokenizer.json normalizers (NFC/NFD/NFKC/NFKD through
 * utf8proc, Lowercase, StripAccents, BertNormalizer, Replace, Prepend, Strip,
 * Sequence), rewriting a work string and keeping, for each output byte, the
 * span of the input it came from (for offsets). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "spm_int.h"
#include "tok_int.h"
#include "tok_uni.h"

/* Map each character through f, which writes its replacement into out
 * (up to 32 bytes) and returns the length; into a copy of w. */
static int
map_copy(tk_work *w, int (*f)(const tk_norm *, int32_t, const char *, int, char *),
         const tk_norm *n)
{
	tk_abuf o = TK_ABUF(w);
	size_t i;
	int len;
	char rep[64];

	for (i = 0; i < w->b.n; i += (size_t)len) {
		int32_t cp = ut_utf8_dec((const unsigned char *)w->b.s + i, w->b.n - i, &len);
		int k = f(n, cp, w->b.s + i, len, rep);

		if (k && tk_abuf_put(&o, rep, (size_t)k, tk_work_os(w, i),
		                     tk_work_oe(w, i + (size_t)len - 1))) {
			tk_abuf_release(&o);
			return -1;
		}
	}
	if (tk_abuf_swap(&o, w)) {
		tk_abuf_release(&o);
		return -1;
	}
	return 0;
}

static int work_room(tk_work *w, size_t len);
static tk_amap *al_begin(const tk_work *w, int *err);
static void al_end(tk_work *w, tk_amap *na);
#define REL_OS(w, i) ((uint32_t)tk_amap_start((w)->al, i))
#define REL_OE(w, j) ((uint32_t)tk_amap_end((w)->al, j))

/* The alignment map_in_place makes: each character's replacement spans
 * the character.  NULL when no spans are kept, or out of memory (*err). */
static tk_amap *
map_align(tk_work *w, int (*f)(const tk_norm *, int32_t, const char *, int, char *),
          const tk_norm *n, int *err)
{
	const unsigned char *s = (const unsigned char *)w->b.s;
	tk_amap *na = al_begin(w, err);
	char rep[64];
	int cl;

	for (size_t i = 0; na && i < w->b.n; i += (size_t)cl) {
		int32_t cp = ut_utf8_dec(s + i, w->b.n - i, &cl);
		int k = f(n, cp, (const char *)s + i, cl, rep);

		if (tk_amap_put(na, (size_t)k, REL_OS(w, i), REL_OE(w, i + (size_t)cl - 1)) < 0) {
			tk_al_free(na);
			*err = 1;
			return NULL;
		}
	}
	return na;
}

/* map_copy in place, when no character's replacement is shorter than
 * it (grow) or none is longer: from the end or from the start, so that
 * no byte is written before it is read; len, the length it makes.  The
 * alignment is made apart, first (map_align). */
static int
map_in_place(tk_work *w, int (*f)(const tk_norm *, int32_t, const char *, int, char *),
             const tk_norm *n, size_t len, int grow)
{
	const unsigned char *s;
	size_t i, j, st;
	char rep[64];
	int cl, err = 0;
	tk_amap *na = map_align(w, f, n, &err);

	if (err || work_room(w, len > w->b.n ? len : w->b.n)) {
		tk_al_free(na);
		return -1;
	}
	s = (const unsigned char *)w->b.s;
	if (grow) {
		for (i = w->b.n, j = len; i > 0; i = st) {
			int32_t cp;
			int k;

			for (st = i - 1; st > 0 && (s[st] & 0xc0) == 0x80; st--)
				;
			cp = ut_utf8_dec(s + st, i - st, &cl);
			k = f(n, cp, (const char *)s + st, cl, rep);
			j -= (size_t)k;
			memcpy(w->b.s + j, rep, (size_t)k);
		}
	} else {
		for (i = j = 0; i < w->b.n; i += (size_t)cl) {
			int32_t cp = ut_utf8_dec(s + i, w->b.n - i, &cl);
			int k = f(n, cp, (const char *)s + i, cl, rep);

			memcpy(w->b.s + j, rep, (size_t)k);
			j += (size_t)k;
		}
	}
	w->b.n = len;
	w->b.s[len] = 0;
	al_end(w, na);
	return 0;
}

/* Map each character through f (map_copy): in place where it can be
 * (map_in_place), so that a long text is not held twice.  A first pass
 * measures; a text of one-byte characters each kept one byte keeps each
 * byte's own span (no alignment made where w had none), as map_copy. */
static int
map_chars(tk_work *w, int (*f)(const tk_norm *, int32_t, const char *, int, char *),
          const tk_norm *n)
{
	const unsigned char *s = (const unsigned char *)w->b.s;
	size_t i, len = 0;
	int cl, grow = 0, shrink = 0, wide = 0;
	char rep[64];

	for (i = 0; i < w->b.n; i += (size_t)cl) {
		int32_t cp = ut_utf8_dec(s + i, w->b.n - i, &cl);
		int k = f(n, cp, (const char *)s + i, cl, rep);

		if (cp < 0)	/* invalid: read back apart otherwise */
			return map_copy(w, f, n);
		grow |= k > cl;
		shrink |= k < cl;
		wide |= cl > 1 || k != 1;
		len += (size_t)k;
	}
	if (grow && shrink)
		return map_copy(w, f, n);
	if (!wide && !w->al) {	/* byte for byte, each its own span */
		for (i = 0; i < w->b.n; i++) {
			f(n, s[i], (const char *)s + i, 1, rep);
			w->b.s[i] = rep[0];
		}
		return 0;
	}
	return map_in_place(w, f, n, len, grow);
}

static int
f_lower(const tk_norm *n, int32_t cp, const char *s, int len, char *out)
{
	if (cp < 0) {
		memcpy(out, s, (size_t)len);
		return len;
	}
	if (cp == 0x130)	/* İ: the one full lowercase mapping longer than a char */
		return ut_utf8_enc('i', out) + ut_utf8_enc(0x307, out + 1);
	return ut_utf8_enc(tk_hf_tolower(cp), out);
}

static int
f_strip_marks(const tk_norm *n, int32_t cp, const char *s, int len, char *out)
{
	if (cp >= 0 && tk_is_mark(cp) && utf8proc_category(cp) == UTF8PROC_CATEGORY_MN)
		return 0;
	memcpy(out, s, (size_t)len);
	return len;
}

/* BertNormalizer's strip_accents: nonspacing marks of HF's own tables */
static int
f_bert_strip(const tk_norm *n, int32_t cp, const char *s, int len, char *out)
{
	if (cp >= 0x300 && tk_uni_find(tk_hf_mn, tk_hf_nmn, cp) >= 0)
		return 0;
	memcpy(out, s, (size_t)len);
	return len;
}

static int
f_bert_clean(const tk_norm *n, int32_t cp, const char *s, int len, char *out)
{
	if (cp == 0 || cp == 0xfffd)
		return 0;
	if (cp == '\t' || cp == '\n' || cp == '\r') {
		out[0] = ' ';
		return 1;
	}
	if (cp >= 0 && (cp < 0x80 ? cp < 0x20 || cp == 0x7f	/* the table's ASCII */
	                          : tk_uni_find(tk_hf_other, tk_hf_nother, cp) >= 0))
		return 0;
	if (tk_is_space(cp)) {
		out[0] = ' ';
		return 1;
	}
	memcpy(out, s, (size_t)len);
	return len;
}

int
tk_is_cjk(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
	       (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int
f_chinese(const tk_norm *n, int32_t cp, const char *s, int len, char *out)
{
	if (cp >= 0 && tk_is_cjk(cp)) {
		out[0] = ' ';
		memcpy(out + 1, s, (size_t)len);
		out[len + 1] = ' ';
		return len + 2;
	}
	memcpy(out, s, (size_t)len);
	return len;
}

/* Align a normalized segment [i, j) character by character when the
 * characters normalized one by one give the same text (nothing composed or
 * reordered across them): then each output character points to its own
 * input character.  Returns 0 when done, -1 when not possible (nothing
 * written). */
static int
per_char(tk_abuf *o, const tk_work *w, size_t i, size_t j, utf8proc_option_t opt,
         const utf8proc_uint8_t *whole, size_t wn)
{
	const unsigned char *s = (const unsigned char *)w->b.s;
	size_t q, k = 0, mark = o->b.n;
	int len;

	for (q = i; q < j; q += (size_t)len) {
		utf8proc_uint8_t *out = NULL;
		utf8proc_ssize_t m;

		ut_utf8_dec(s + q, j - q, &len);
		m = tk_hf_unimap(s + q, (size_t)len, &out, opt);
		if (m < 0 || k + (size_t)m > wn || memcmp(whole + k, out, (size_t)m) ||
		    tk_abuf_put(o, (const char *)out, (size_t)m, tk_work_os(w, q), tk_work_oe(w, q + (size_t)len - 1))) {
			free(out);
			tk_abuf_trunc(o, mark);
			return -1;
		}
		k += (size_t)m;
		free(out);
	}
	if (k != wn) {
		tk_abuf_trunc(o, mark);
		return -1;
	}
	return 0;
}

/* Align a normalized segment [i, j) as HF tokenizers aligns it when its
 * characters do not normalize one by one (tk_hf_unialign): each output
 * character to one input character.  Done in pieces of some kilobytes cut
 * where nothing interacts (tk_hf_norm_cut), in bounded memory.  0 when
 * done, -1 when not (nothing written). */
static int
hf_aligned(tk_abuf *o, const tk_work *w, size_t i, size_t j, utf8proc_option_t opt,
           const utf8proc_uint8_t *whole, size_t wn)
{
	const unsigned char *s = (const unsigned char *)w->b.s;
	size_t p, q, wo = 0, mark = o->b.n;

	for (p = i; p < j; p = q) {
		uint8_t *out;
		size_t *at, r;
		long k;
		int ol, il;

		q = p + 4096 < j ? i + tk_hf_norm_cut(s + i, j - i, p + 4096 - i) : j;
		if ((k = tk_hf_unialign(s + p, q - p, opt, &out, &at)) < 0)
			goto no;
		r = SIZE_MAX;	/* a piece that normalizes otherwise: not done */
		if (wo + (size_t)k <= wn && !memcmp(out, whole + wo, (size_t)k))
			for (r = 0; r < (size_t)k; r += (size_t)ol) {
				size_t a = p + at[r];

				ut_utf8_dec(out + r, (size_t)k - r, &ol);
				ut_utf8_dec(s + a, j - a, &il);
				if (tk_abuf_put(o, (const char *)out + r, (size_t)ol, tk_work_os(w, a),
				                tk_work_oe(w, a + (size_t)il - 1)))
					break;
			}
		free(out);
		free(at);
		if (r != (size_t)k)
			goto no;
		wo += (size_t)k;
	}
	if (wo == wn)
		return 0;
no:
	tk_abuf_trunc(o, mark);
	return -1;
}

/* Unicode normalization under way: the output, and the end of the input
 * already in it (what lies between that and a changed piece is copied
 * only when the piece is met, and nothing at all when nothing changes). */
typedef struct unorm {
	tk_abuf o;
	const tk_work *w;
	size_t done;
	utf8proc_option_t opt;
} unorm;

/* Append w's bytes [from, to) as they are: one append when no spans are
 * kept, else each byte with its own span. */
static int
put_same(tk_abuf *o, const tk_work *w, size_t from, size_t to)
{
	if (from == to)
		return 0;
	if (o->noal)
		return tk_abuf_put(o, w->b.s + from, to - from, 0, 0);
	for (; from < to; from++)
		if (tk_abuf_put(o, w->b.s + from, 1, tk_work_os(w, from), tk_work_oe(w, from)))
			return -1;
	return 0;
}

/* Normalize the piece [i, j) of the text (cut where nothing interacts),
 * aligned as HF tokenizers aligns it; a piece that normalizes to itself,
 * or that is not UTF-8 utf8proc takes, is left as it is. */
static int
norm_piece(unorm *x, size_t i, size_t j)
{
	const unsigned char *s = (const unsigned char *)x->w->b.s;
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t k = tk_hf_unimap(s + i, j - i, &out, x->opt);
	int r = 0;

	if (k < 0 || (k == (utf8proc_ssize_t)(j - i) && !memcmp(out, s + i, j - i))) {
		free(out);
		return 0;
	}
	if (put_same(&x->o, x->w, x->done, i))
		r = -1;
	else if (per_char(&x->o, x->w, i, j, x->opt, out, (size_t)k) < 0 &&
	         hf_aligned(&x->o, x->w, i, j, x->opt, out, (size_t)k) < 0)
		r = tk_abuf_put(&x->o, (const char *)out, (size_t)k, tk_work_os(x->w, i),
		                tk_work_oe(x->w, j - 1));
	free(out);
	x->done = j;
	return r;
}

/* The quick check of the character at s[i] (below n): TK_QC_*, its
 * length in *len. */
static int
qc_char(const unsigned char *s, size_t i, size_t n, utf8proc_option_t opt, int *len)
{
	if (s[i] < 0x80) {
		*len = 1;
		return TK_QC_INERT;
	}
	return tk_hf_inert(ut_utf8_dec(s + i, n - i, len), opt);
}

/* Whether the len bytes at s[i] (below n) repeat the len before them. */
static int
same_char(const unsigned char *s, size_t i, size_t n, int len)
{
	size_t k = (size_t)len;

	/* the last byte first: the lead byte is often the same in a script */
	return len > 1 && i + k <= n && s[i + k - 1] == s[i - 1] && !memcmp(s + i, s + i - k, k - 1);
}

/* Normalize the segment [a, b): an ASCII byte or none, then bytes that
 * are not ASCII (nothing composes or reorders across its ends).  A
 * segment of inert characters maps to itself; one with a character
 * utf8proc refuses is left as it is; in another, each character that is
 * not inert is normalized with the starter before it and those after it
 * up to the next inert one (tk_hf_inert). */
static int
norm_segment(unorm *x, size_t a, size_t b)
{
	const unsigned char *s = (const unsigned char *)x->w->b.s;
	size_t i, c, prev, pe;
	int len = 0, q, some = 0;

	for (i = a; i < b; i += (size_t)len) {
		if (same_char(s, i, b, len))
			continue;	/* the character before again: the same answer */
		if ((q = qc_char(s, i, b, x->opt, &len)) == TK_QC_BAD)
			return 0;
		if (q == TK_QC_NO)
			some = 1;
	}
	if (!some)
		return 0;
	for (i = a; i < b; i = pe) {
		prev = SIZE_MAX;
		for (c = i; c < b; c += (size_t)len) {
			if (qc_char(s, c, b, x->opt, &len) == TK_QC_NO)
				break;
			prev = c;
		}
		if (c == b)
			break;
		for (pe = c + (size_t)len; pe < b; pe += (size_t)len)
			if (qc_char(s, pe, b, x->opt, &len) != TK_QC_NO)
				break;
		if (norm_piece(x, prev != SIZE_MAX ? prev : c, pe))
			return -1;
	}
	return 0;
}

/* The first ASCII byte of s[i, n), or n. */
static size_t
nonascii_end(const unsigned char *s, size_t i, size_t n)
{
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, s + i, 8);
		if ((v & 0x8080808080808080ull) != 0x8080808080808080ull)
			break;
	}
	while (i < n && s[i] >= 0x80)
		i++;
	return i;
}

/* The first byte of s[i, n) that is not ASCII, or n. */
static size_t
ascii_end(const unsigned char *s, size_t i, size_t n)
{
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, s + i, 8);
		if (v & 0x8080808080808080ull)
			break;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

/* Unicode normalization.  The text is cut before each ASCII character that
 * is not followed by a non-ASCII one (nothing composes across such a cut):
 * ASCII runs stay as they are, the segments between go through
 * norm_segment. */
static int
unicode_norm(tk_work *w, int form)
{
	unorm x = {.o = TK_ABUF(w), .w = w, .opt = UTF8PROC_STABLE};
	size_t i, b, n = w->b.n;
	const unsigned char *s = (const unsigned char *)w->b.s;

	if ((i = ascii_end(s, 0, n)) == n)
		return 0;	/* all ASCII: every form is the identity */
	switch (form) {
	case TK_N_NFC: x.opt |= UTF8PROC_COMPOSE; break;
	case TK_N_NFD: x.opt |= UTF8PROC_DECOMPOSE; break;
	case TK_N_NFKC: x.opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
	default: x.opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
	}
	for (; i < n; i = ascii_end(s, b, n)) {
		b = nonascii_end(s, i + 1, n);
		if (norm_segment(&x, i ? i - 1 : 0, b))
			goto fail;
	}
	if (!x.done)
		return 0;	/* nothing changed */
	if (put_same(&x.o, w, x.done, n) || tk_abuf_swap(&x.o, w))
		goto fail;
	return 0;
fail:
	tk_abuf_release(&x.o);
	return -1;
}

/* Replace each match of pat by rep into a copy of w. */
static int
replace_copy(tk_work *w, const char *pat, size_t pn, const char *rep, size_t rn)
{
	tk_abuf o = TK_ABUF(w);
	size_t i = 0;

	while (i < w->b.n) {
		if (i + pn <= w->b.n && !memcmp(w->b.s + i, pat, pn)) {
			if (tk_abuf_put(&o, rep, rn, tk_work_os(w, i), tk_work_oe(w, i + pn - 1)))
				goto fail;
			i += pn;
		} else {
			if (tk_abuf_put(&o, w->b.s + i, 1, tk_work_os(w, i), tk_work_oe(w, i)))
				goto fail;
			i++;
		}
	}
	if (tk_abuf_swap(&o, w))
		goto fail;
	return 0;
fail:
	tk_abuf_release(&o);
	return -1;
}

/* Room in w for len bytes of text, sized exactly: a long text rewritten
 * in place is not held twice.  -1 when out of memory, w as it was. */
static int
work_room(tk_work *w, size_t len)
{
	if (len + 1 > w->b.cap) {
		char *s = realloc(w->b.s, len + 1);

		if (!s)
			return -1;
		w->b.s = s;
		w->b.cap = len + 1;
	}
	return 0;
}

/* An empty alignment for w rewritten in place, made apart before the text
 * is (w's own is read meanwhile): NULL when no spans are kept, or out of
 * memory (*err set). */
static tk_amap *
al_begin(const tk_work *w, int *err)
{
	tk_amap *na;

	if (w->noal)
		return NULL;
	if (!(na = calloc(1, sizeof *na)))
		*err = 1;
	return na;
}

/* w's rewritten text takes the alignment na made for it. */
static void
al_end(tk_work *w, tk_amap *na)
{
	if (w->noal)
		return;
	tk_al_free(w->al);
	w->al = na;
}

/* Append the spans of w's bytes [from, to) to na, as they are. */
static inline int
al_keep(tk_amap *na, const tk_work *w, size_t from, size_t to)
{
	uint32_t os;

	if (from < to && tk_amap_own(w->al, from, to, &os))
		return tk_amap_put_own(na, to - from, os);
	return tk_amap_copy(na, w->al, from, to);
}

/* Where the first match of pat in w's text from i is, n when none. */
static inline size_t
match_at(const tk_work *w, const char *pat, size_t pn, size_t i)
{
	size_t n = w->b.n;
	const char *q = i >= n ? NULL : pn == 1 ? memchr(w->b.s + i, pat[0], n - i)
	                                        : memmem(w->b.s + i, n - i, pat, pn);

	return q ? (size_t)(q - w->b.s) : n;
}

/* The alignment of w with each match of pat, found left to right,
 * replaced by rn bytes that span it; NULL when no spans are kept, or
 * out of memory (*err).  A replacement and the bytes after it up to the
 * next match, when they are each their own ("▁" for a space, then the
 * word), are one run put at once. */
static tk_amap *
replace_align(const tk_work *w, const char *pat, size_t pn, size_t rn, int *err)
{
	tk_amap *na = al_begin(w, err);
	size_t n = w->b.n, at = match_at(w, pat, pn, 0), nx, at2;

	if (na && al_keep(na, w, 0, at) < 0)
		goto fail;
	for (; na && at < n; at = at2) {
		uint32_t os = REL_OS(w, at), oe = REL_OE(w, at + pn - 1), tos;

		nx = at + pn;
		at2 = match_at(w, pat, pn, nx);
		if (nx < at2 && tk_amap_own(w->al, nx, at2, &tos)) {
			if (tk_amap_put_tail(na, rn, os, oe, at2 - nx, tos) < 0)
				goto fail;
		} else if (tk_amap_put(na, rn, os, oe) < 0 || al_keep(na, w, nx, at2) < 0) {
			goto fail;
		}
	}
	return na;
fail:
	tk_al_free(na);
	*err = 1;
	return NULL;
}

/* Replace each of the m matches of pat (one byte) by rep, longer, in place:
 * from the end, each byte moved once. */
static int
replace_grow(tk_work *w, char pat, size_t m, const char *rep, size_t rn)
{
	size_t n = w->b.n, len = n + m * (rn - 1), i = n, j = len;
	int err = 0;
	tk_amap *na = replace_align(w, &pat, 1, rn, &err);

	if (err || work_room(w, len)) {
		tk_al_free(na);
		return -1;
	}
	while (i > 0) {
		const char *q = memrchr(w->b.s, pat, i);
		size_t st = q ? (size_t)(q - w->b.s) + 1 : 0;

		j -= i - st;
		memmove(w->b.s + j, w->b.s + st, i - st);
		if (!q)
			break;
		i = st - 1;
		j -= rn;
		memcpy(w->b.s + j, rep, rn);
	}
	w->b.n = len;
	w->b.s[len] = 0;
	al_end(w, na);
	return 0;
}

/* Replace each match of pat, found left to right, by rep, no longer,
 * in place. */
static int
replace_shrink(tk_work *w, const char *pat, size_t pn, const char *rep, size_t rn)
{
	size_t n = w->b.n, i = 0, j = 0;
	/* one byte for one: the spans stay each byte's own */
	int same = pn == 1 && rn == 1 && !w->al, err = 0;
	tk_amap *na = same ? NULL : replace_align(w, pat, pn, rn, &err);

	if (err)
		return -1;
	while (i < n) {
		const char *q = memmem(w->b.s + i, n - i, pat, pn);
		size_t at = q ? (size_t)(q - w->b.s) : n;

		memmove(w->b.s + j, w->b.s + i, at - i);
		j += at - i;
		if (!q)
			break;
		memcpy(w->b.s + j, rep, rn);
		j += rn;
		i = at + pn;
	}
	w->b.n = j;
	w->b.s[j] = 0;
	if (!same)
		al_end(w, na);
	return 0;
}

static int
replace_lit(tk_work *w, const char *pat, size_t pn, const char *rep, size_t rn)
{
	size_t m = 0;

	if (!pn)
		return 0;
	for (const char *q = w->b.s; (q = memmem(q, w->b.n - (size_t)(q - w->b.s), pat, pn));
	     q += pn)
		m++;
	if (!m)
		return 0;
	if (rn <= pn)
		return replace_shrink(w, pat, pn, rep, rn);
	if (pn == 1)
		return replace_grow(w, pat[0], m, rep, rn);
	return replace_copy(w, pat, pn, rep, rn);
}

static int
replace_re(tk_work *w, void *re, const char *rep, size_t rn)
{
	tk_abuf o = TK_ABUF(w);
	size_t i = 0, ms, me, q;

	while (i <= w->b.n && tk_regex_find(re, w->b.s, w->b.n, i, &ms, &me)) {
		for (q = i; q < ms; q++)
			if (tk_abuf_put(&o, w->b.s + q, 1, tk_work_os(w, q), tk_work_oe(w, q)))
				goto fail;
		if (me > ms) {
			if (tk_abuf_put(&o, rep, rn, tk_work_os(w, ms), tk_work_oe(w, me - 1)))
				goto fail;
			i = me;
		} else {	/* empty match: keep one character */
			int len;

			if (ms >= w->b.n)
				break;
			ut_utf8_dec((const unsigned char *)w->b.s + ms, w->b.n - ms, &len);
			for (q = ms; q < ms + (size_t)len; q++)
				if (tk_abuf_put(&o, w->b.s + q, 1, tk_work_os(w, q), tk_work_oe(w, q)))
					goto fail;
			i = ms + (size_t)len;
		}
	}
	for (q = i; q < w->b.n; q++)
		if (tk_abuf_put(&o, w->b.s + q, 1, tk_work_os(w, q), tk_work_oe(w, q)))
			goto fail;
	if (tk_abuf_swap(&o, w))
		goto fail;
	return 0;
fail:
	tk_abuf_release(&o);
	return -1;
}

/* Put p before w's text, in place, spanning w's first character. */
static int
prepend(tk_work *w, const char *p, size_t pn)
{
	tk_amap *na;
	int len, err = 0;

	if (!w->b.n)
		return 0;
	ut_utf8_dec((const unsigned char *)w->b.s, w->b.n, &len);
	na = al_begin(w, &err);
	if (na && (tk_amap_put(na, pn, REL_OS(w, 0), REL_OE(w, (size_t)len - 1)) < 0 ||
	           al_keep(na, w, 0, w->b.n) < 0))
		err = 1;
	if (err || work_room(w, w->b.n + pn)) {
		tk_al_free(na);
		return -1;
	}
	memmove(w->b.s + pn, w->b.s, w->b.n);
	memcpy(w->b.s, p, pn);
	w->b.n += pn;
	w->b.s[w->b.n] = 0;
	al_end(w, na);
	return 0;
}

static int
strip(tk_work *w, int left, int right)
{
	size_t a = 0, b = w->b.n, q;
	tk_abuf o = TK_ABUF(w);
	int len;

	while (left && a < b) {
		int32_t cp = ut_utf8_dec((const unsigned char *)w->b.s + a, b - a, &len);

		if (cp < 0 || !tk_is_space(cp))
			break;
		a += (size_t)len;
	}
	while (right && b > a) {
		size_t k = b - 1;
		int32_t cp;

		while (k > a && ((unsigned char)w->b.s[k] & 0xc0) == 0x80)
			k--;
		cp = ut_utf8_dec((const unsigned char *)w->b.s + k, b - k, &len);
		if (cp < 0 || !tk_is_space(cp))
			break;
		b = k;
	}
	if (a == 0 && b == w->b.n)
		return 0;
	for (q = a; q < b; q++)
		if (tk_abuf_put(&o, w->b.s + q, 1, tk_work_os(w, q), tk_work_oe(w, q))) {
			tk_abuf_release(&o);
			return -1;
		}
	if (tk_abuf_swap(&o, w)) {
		tk_abuf_release(&o);
		return -1;
	}
	return 0;
}

/* An output character of the Precompiled normalizer, aligned to the
 * characters [a, b) of w it replaces. */
typedef struct pc_to {
	tk_abuf *o;
	const tk_work *w;
} pc_to;

static int
pc_put(void *ctx, const char *s, size_t n, size_t a, size_t b)
{
	const pc_to *x = ctx;

	return tk_abuf_put(x->o, s, n, tk_work_os(x->w, a),
	                   b > a ? tk_work_oe(x->w, b - 1) : tk_work_os(x->w, a));
}

/* The Precompiled normalizer (precompiled.c), aligned as HF aligns it. */
static int
precompiled(const tk_norm *n, tk_work *w, te_diag *d)
{
	ut_buf ob = {0};
	tk_abuf o = TK_ABUF(w);
	pc_to x = { &o, w };

	if (w->noal) {	/* the text alone */
		if (tk_precompiled_normalize(n->pc, w->b.s, w->b.n, &ob, NULL, NULL, d))
			goto fail;
		o.b = ob;
		return tk_abuf_swap(&o, w);
	}
	if (tk_precompiled_each(n->pc, w->b.s, w->b.n, pc_put, &x, d) || tk_abuf_swap(&o, w))
		goto fail;
	return 0;
fail:
	ut_buf_release(&ob);
	tk_abuf_release(&o);
	return -1;
}

/* BertNormalizer's steps in HF's order, each a pass over the whole of w. */
static int
bert_chain(const tk_norm *n, tk_work *w)
{
	if (n->clean_text && map_chars(w, f_bert_clean, n))
		return -1;
	if (n->chinese && map_chars(w, f_chinese, n))
		return -1;
	if (n->strip_accents &&
	    (unicode_norm(w, TK_N_NFD) || map_chars(w, f_bert_strip, n)))
		return -1;
	if (n->lowercase && map_chars(w, f_lower, n))
		return -1;
	return 0;
}

/* What BertNormalizer makes of an ASCII byte, all steps at once:
 * the byte, or -1 when clean_text drops it (f_bert_clean, f_lower;
 * the Chinese and accent steps leave ASCII alone). */
static void
bert_ascii_table(const tk_norm *n, int16_t tab[128])
{
	int c;

	for (c = 0; c < 128; c++) {
		tab[c] = (int16_t)c;
		if (n->clean_text && (c == '\t' || c == '\n' || c == '\r'))
			tab[c] = ' ';
		else if (n->clean_text && (c < 0x20 || c == 0x7f))
			tab[c] = -1;
		else if (n->lowercase && c >= 'A' && c <= 'Z')
			tab[c] = (int16_t)(c + 32);
	}
}

/* The end of the part of w from i that bert_chain must see whole: past
 * the next byte that is ASCII, kept, and whose next kept byte is ASCII too
 * (nothing in the steps joins across such a byte: it is a starter that
 * ends unicode_norm's segments on both sides).  The part runs from i to
 * just before it. */
static size_t
bert_part_end(const unsigned char *s, size_t i, size_t n, const int16_t tab[128])
{
	size_t j, k;

	for (j = i + 1; j < n; j++) {
		if (s[j] >= 0x80 || tab[s[j]] < 0)
			continue;
		for (k = j + 1; k < n && s[k] < 0x80 && tab[s[k]] < 0; k++)
			;
		if (k == n || s[k] < 0x80)
			return j;
	}
	return n;
}

/* BertNormalizer on printable ASCII (0x20 to 0x7e), which clean_text
 * keeps and the Chinese and accent steps leave alone: lower case (with
 * lower) the one change.  Maps s[0, n) to d (s itself, or before it) eight
 * bytes at a time while all eight are printable; returns how many it
 * mapped (a multiple of 8).  Bytewise arithmetic with no carry between
 * bytes: each byte's top bit says what it is. */
static size_t
bert_print8(const unsigned char *s, size_t n, unsigned char *d, int lower)
{
	const uint64_t ones = 0x0101010101010101ull, top = 0x80 * ones;
	size_t k;

	for (k = 0; k + 8 <= n; k += 8) {
		uint64_t x;

		memcpy(&x, s + k, 8);
		/* all ASCII, all >= 0x20, none 0x7f */
		if ((x & top) || ((x + 0x60 * ones) & top) != top || ((x + ones) & top))
			break;
		if (lower)	/* 'A' <= byte <= 'Z': + 0x20 */
			x |= ((x + 0x3f * ones) & ~(x + 0x25 * ones) & top) >> 2;
		memcpy(d + k, &x, 8);
	}
	return k;
}

/* bert_chain on w[i, j) alone, appended to o with its spans. */
static int
bert_part(const tk_norm *n, const tk_work *w, size_t i, size_t j, tk_abuf *o)
{
	tk_work x;
	size_t q;
	int r = -1;

	memset(&x, 0, sizeof x);
	x.noal = w->noal;
	x.base = w->base + i;
	if (ut_buf_put(&x.b, w->b.s + i, j - i))
		goto out;
	if (w->al) {
		if (!(x.al = calloc(1, sizeof *x.al)) || tk_amap_copy(x.al, w->al, i, j) < 0)
			goto out;
		x.base = w->base;	/* the copied spans are relative to w's */
	}
	if (bert_chain(n, &x))
		goto out;
	if (!o->b.n && !o->al && (o->noal || x.base == o->base)) {
		/* all of o so far: x's text and spans as they are, not a copy */
		ut_buf_release(&o->b);
		o->b = x.b, o->al = x.al;
		memset(&x, 0, sizeof x);
		r = 0;
		goto out;
	}
	if (o->noal) {
		r = x.b.n ? tk_abuf_put(o, x.b.s, x.b.n, 0, 0) : 0;
		goto out;
	}
	for (q = 0; q < x.b.n; q++)
		if (tk_abuf_put(o, x.b.s + q, 1, tk_work_os(&x, q), tk_work_oe(&x, q)))
			goto out;
	r = 0;
out:
	free(x.b.s);
	tk_al_free(x.al);
	return r;
}

/* What BertNormalizer makes of one character met alone, remembered by
 * code point (bert_text; cp 0 an empty slot: only characters past ASCII
 * are looked up), as many slots as the distinct characters of a text of
 * many scripts (bench/tok-bench.sh's multi: 1869): its text (len -1: too long to keep), and
 * whether it is inert: kept by clean_text, and a starter whose marks
 * are all dropped (bert_marks_stripped), so that the steps run on the
 * text before it, on it and on the text after it apart give the same
 * text as on the whole (NFD reorders marks only between starters; a
 * dropped character could join marks). */
typedef struct bchar {
	int32_t cp;
	int8_t len, inert;
	char out[10];
} bchar;
#define BCHAR_SLOTS 8192

/* The ASCII table and the characters met, by code point, kept from one
 * text to the next in each thread (a text is often one short line); conf
 * says which steps they were made for (bert_conf), 0 before the first. */
static __thread struct {
	int conf;
	int16_t tab[128];
	bchar e[BCHAR_SLOTS];
} bchars;

static int
bert_conf(const tk_norm *n)
{
	return 1 | !!n->clean_text << 1 | !!n->chinese << 2 | !!n->strip_accents << 3 |
	       !!n->lowercase << 4;
}

/* Make bchars the table and the characters of n's steps (emptied when
 * another normalizer's were there; zero at first, its pages touched only
 * as used). */
static void
bert_state(const tk_norm *n)
{
	if (bchars.conf == bert_conf(n))
		return;
	bert_ascii_table(n, bchars.tab);
	if (bchars.conf)
		memset(bchars.e, 0, sizeof bchars.e);
	bchars.conf = bert_conf(n);
}

/* Whether the character s (len bytes, kept by clean_text) decomposes to
 * a starter followed by marks that strip_accents drops, all of them.
 * Then NFD reorders nothing across its left end (a starter), and the
 * marks it may reorder across its right end are all dropped after: a
 * stable sort and a filter commute, so the steps give the same text on
 * the whole as on the text before it, it, and the text after it apart.
 * This holds for characters that NFD leaves alone (most of every script)
 * and for the precomposed ones (Latin with accents, Hangul syllables). */
static int
bert_marks_stripped(const char *s, int len)
{
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t m = tk_hf_unimap((const unsigned char *)s, (size_t)len, &out,
	                                  UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
	utf8proc_ssize_t q;
	int ok = m > 0, cl;

	for (q = 0; ok && q < m; q += cl) {
		int32_t c = ut_utf8_dec(out + q, (size_t)(m - q), &cl);

		if (c < 0)
			ok = 0;
		else if (utf8proc_get_property(c)->combining_class)
			ok = q > 0 && c >= 0x300 && tk_uni_find(tk_hf_mn, tk_hf_nmn, c) >= 0;
	}
	free(out);
	return ok;
}

static int
bert_char(const tk_norm *n, int32_t cp, const char *s, int len, bchar *e)
{
	tk_work x;
	char rep[64];
	int k = n->clean_text ? f_bert_clean(n, cp, s, len, rep) : len;

	memset(&x, 0, sizeof x);
	x.noal = 1;
	if (ut_buf_put(&x.b, s, (size_t)len) || bert_chain(n, &x)) {
		free(x.b.s);
		return -1;
	}
	e->cp = cp;
	e->len = x.b.n <= sizeof e->out ? (int8_t)x.b.n : -1;
	if (e->len > 0)
		memcpy(e->out, x.b.s, x.b.n);
	free(x.b.s);
	e->inert = 0;
	if (k == 1 && rep[0] == ' ')
		e->inert = 1;	/* a space */
	else if (k && !n->strip_accents)
		e->inert = 1;	/* no step looks past a character */
	else if (k)
		e->inert = bert_marks_stripped(s, len);
	e->inert = e->inert && e->len >= 0;
	return 0;
}

/* bert_norm when no spans are kept: the text alone, a character at a time
 * (ASCII by the table, others by what bert_char remembers), the runs of
 * characters that are not inert through bert_chain. */
static int
bert_text(const tk_norm *n, tk_work *w, const int16_t tab[128])
{
	const unsigned char *s = (const unsigned char *)w->b.s;
	size_t i, j, k, len = w->b.n;
	tk_abuf o = TK_ABUF(w);
	bchar *cache = bchars.e, *e = NULL;
	int cl;

	if (ut_buf_grow(&o.b, len))
		goto fail;
	for (i = 0; i < len;) {
		int32_t cp;

		if (s[i] < 0x80 && tab[s[i]] >= 0) {
			/* kept ASCII bytes: eight at a time while printable */
			if (ut_buf_grow(&o.b, len - i))
				goto fail;
			for (; i < len && s[i] < 0x80 && tab[s[i]] >= 0;) {
				size_t m = bert_print8(s + i, len - i,
				                       (unsigned char *)o.b.s + o.b.n, n->lowercase);

				o.b.n += m, i += m;
				if (!m)
					o.b.s[o.b.n++] = (char)tab[s[i++]];
			}
			o.b.s[o.b.n] = 0;
			continue;
		}
		/* an inert character met before (most of them): its text */
		if (s[i] >= 0x80 && (cp = ut_utf8_dec(s + i, len - i, &cl)) >= 0 &&
		    (e = &cache[cp & (BCHAR_SLOTS - 1)])->cp == cp && e->inert) {
			if (ut_buf_grow(&o.b, sizeof e->out))
				goto fail;
			memcpy(o.b.s + o.b.n, e->out, sizeof e->out);
			o.b.n += (size_t)e->len;
			o.b.s[o.b.n] = 0;
			i += (size_t)cl;
			continue;
		}
		/* a run of characters that are not inert: [i, j) */
		for (j = i, k = 0; j < len; j += (size_t)cl, k++) {
			if (s[j] < 0x80) {
				cl = 1;
				if (tab[s[j]] >= 0)
					break;
				continue;
			}
			if ((cp = ut_utf8_dec(s + j, len - j, &cl)) < 0)
				continue;
			e = &cache[cp & (BCHAR_SLOTS - 1)];
			if (e->cp != cp && bert_char(n, cp, (const char *)s + j, cl, e))
				goto fail;
			if (e->inert)
				break;
		}
		if (j == i && e) {	/* one inert character */
			ut_utf8_dec(s + i, len - i, &cl);
			if (tk_abuf_put(&o, e->out, (size_t)e->len, 0, 0))
				goto fail;
			i += (size_t)cl;
			continue;
		}
		if (k == 1 && s[i] >= 0x80 && (cp = ut_utf8_dec(s + i, len - i, &cl)) >= 0 &&
		    cache[cp & (BCHAR_SLOTS - 1)].cp == cp && cache[cp & (BCHAR_SLOTS - 1)].len >= 0) {
			e = &cache[cp & (BCHAR_SLOTS - 1)];
			if (tk_abuf_put(&o, e->out, (size_t)e->len, 0, 0))
				goto fail;
		} else if (bert_part(n, w, i, j, &o)) {
			goto fail;
		}
		i = j;
	}
	if (tk_abuf_swap(&o, w))
		goto fail;
	return 0;
fail:
	tk_abuf_release(&o);
	return -1;
}

/* BertNormalizer with ASCII through a table in one pass: in place when
 * all of w is ASCII and no spans are kept; else the ASCII bytes by the
 * table and the parts around other bytes through bert_chain. */
static int
bert_norm(const tk_norm *n, tk_work *w)
{
	unsigned char *s = (unsigned char *)w->b.s;
	size_t i, k, len = w->b.n;
	tk_abuf o = TK_ABUF(w);
	const int16_t *tab = bchars.tab;

	bert_state(n);
	if (w->noal && ascii_end(s, 0, len) == len) {
		for (i = k = 0; i < len;) {
			size_t m = bert_print8(s + i, len - i, s + k, n->lowercase);

			i += m, k += m;
			if (i < len && tab[s[i]] >= 0)
				s[k++] = (unsigned char)tab[s[i]];
			i += i < len;
		}
		w->b.n = k;
		if (w->b.s)
			w->b.s[k] = 0;
		return 0;
	}
	if (w->noal)
		return bert_text(n, w, tab);
	for (i = 0; i < len;) {
		size_t j;

		if (s[i] < 0x80 && tab[s[i]] < 0) {
			i++;
			continue;
		}
		if (s[i] < 0x80) {
			char c = (char)tab[s[i]];

			for (j = i + 1; j < len && s[j] < 0x80 && tab[s[j]] < 0; j++)
				;
			if (j == len || s[j] < 0x80) {
				if (tk_abuf_put(&o, &c, 1, tk_work_os(w, i), tk_work_oe(w, i)))
					goto fail;
				i = j;
				continue;
			}
		}
		/* a kept ASCII byte before other bytes, or another byte */
		j = bert_part_end(s, i, len, tab);
		if (bert_part(n, w, i, j, &o))
			goto fail;
		i = j;
	}
	if (tk_abuf_swap(&o, w))
		goto fail;
	return 0;
fail:
	tk_abuf_release(&o);
	return -1;
}

int
tk_normalize(const tk_norm *n, tk_work *w, te_diag *d)
{
	size_t i;

	if (!n)
		return 0;
	switch (n->type) {
	case TK_N_NFC: case TK_N_NFD: case TK_N_NFKC: case TK_N_NFKD:
		return unicode_norm(w, n->type);
	case TK_N_LOWER:
		return map_chars(w, f_lower, n);
	case TK_N_STRIP_ACCENTS:
		return map_chars(w, f_strip_marks, n);
	case TK_N_BERT:
		return bert_norm(n, w);
	case TK_N_REPLACE:
		if (n->re)
			return replace_re(w, n->re, n->content, n->content_n);
		return replace_lit(w, n->pat, n->pat_n, n->content, n->content_n);
	case TK_N_PREPEND:
		return prepend(w, n->content, n->content_n);
	case TK_N_STRIP:
		return strip(w, n->left, n->right);
	case TK_N_PRECOMPILED:
		return w->b.n ? precompiled(n, w, d) : 0;
	case TK_N_SEQ:
		for (i = 0; i < n->nsub; i++)
			if (tk_normalize(n->sub[i], w, d))
				return -1;
		return 0;
	default:
		return te_diag_set(d, "", 0, "normalizer type %d is not one tokemb implements",
		                   n->type);
	}
}

void
tk_norm_free(tk_norm *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nsub; i++)
		tk_norm_free(n->sub[i]);
	free(n->sub);
	free(n->pat);
	free(n->content);
	tk_regex_free(n->re);
	tk_precompiled_free(n->pc);
	free(n);
}
