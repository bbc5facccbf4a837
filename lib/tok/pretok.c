/* pretok.c: the tokenizer.json pre-tokenizers (ByteLevel, Split, Whitespace,
 * WhitespaceSplit, BertPreTokenizer, Metaspace, Digits, Punctuation,
 * CharDelimiterSplit, Sequence) over the pieces of a work string, and the
 * regular expressions they use: Oniguruma, as Hugging Face tokenizers, and
 * hand-written scanners for the well-known split patterns (pretok_scan.c). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <oniguruma.h>

#include "tok_int.h"
#include "tok_uni.h"

/* ---------------------------------------------------------- regexes */

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;

static void
tk_onig_init(void)
{
	OnigEncoding enc[1] = {ONIG_ENCODING_UTF8};

	onig_initialize(enc, 1);
}

void *
tk_regex_new(const char *pat, size_t n, te_diag *d)
{
	regex_t *re;
	OnigErrorInfo ei;
	int r;

	pthread_once(&onig_once, tk_onig_init);
	r = onig_new(&re, (const UChar *)pat, (const UChar *)pat + n, ONIG_OPTION_NONE,
	             ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &ei);
	if (r != ONIG_NORMAL) {
		UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];

		onig_error_code_to_str(msg, r, &ei);
		te_diag_set(d, "", 0, "bad regular expression '%.*s': %s", (int)(n > 200 ? 200 : n),
		            pat, (char *)msg);
		return NULL;
	}
	return re;
}

void
tk_regex_free(void *re)
{
	if (re)
		onig_free(re);
}

static __thread OnigRegion *region;

void
tk_regex_thread_free(void)
{
	if (region)
		onig_region_free(region, 1);
	region = NULL;
}

int
tk_regex_find(void *re, const char *s, size_t n, size_t pos, size_t *ms, size_t *me)
{
	const UChar *str = (const UChar *)s, *end = str + n;
	int r;

	if (!region && !(region = onig_region_new()))
		return 0;
	if (pos > n)
		return 0;
	r = onig_search(re, str, end, str + pos, end, region, ONIG_OPTION_NONE);
	if (r < 0)
		return 0;
	*ms = (size_t)region->beg[0];
	*me = (size_t)region->end[0];
	return 1;
}

/* ------------------------------------------------------------ pieces */

/* Room for one piece more in w. */
static int
work_grow(tk_work *w)
{
	/* by half: a long text's pieces are a good part of its memory */
	size_t cap = w->pcap ? w->pcap + w->pcap / 2 : 64;
	size_t *pa = realloc(w->pa, cap * sizeof *pa), *pb;
	int32_t *fx;

	if (!pa)
		return -1;
	w->pa = pa;
	if (!(pb = realloc(w->pb, cap * sizeof *pb)))
		return -1;
	w->pb = pb;
	if (w->fixed) {
		if (!(fx = realloc(w->fixed, cap * sizeof *fx)))
			return -1;
		w->fixed = fx;
	}
	w->pcap = cap;
	return 0;
}

/* Room for one piece more in w, and for its fixed id when it has one
 * (the first piece of an added token makes their array). */
static __attribute__((noinline)) int
work_make(tk_work *w, int32_t fixed)
{
	if (w->np == w->pcap && work_grow(w))
		return -1;
	if (fixed >= 0 && !w->fixed) {
		if (!(w->fixed = malloc(w->pcap * sizeof *w->fixed)))
			return -1;
		for (size_t i = 0; i < w->np; i++)
			w->fixed[i] = -1;
	}
	return 0;
}

static inline int
work_push(tk_work *w, size_t a, size_t b, int32_t fixed)
{
	if ((w->np == w->pcap || (fixed >= 0 && !w->fixed)) && work_make(w, fixed))
		return -1;
	w->pa[w->np] = a;
	w->pb[w->np] = b;
	if (w->fixed)
		w->fixed[w->np] = fixed;
	w->np++;
	return 0;
}

int
tk_work_push(tk_work *w, size_t a, size_t b, int32_t fixed)
{
	return work_push(w, a, b, fixed);
}

/* A split step: the old pieces are moved aside and each non-fixed one is
 * cut into new ones by a splitter. */
typedef struct splitter {
	/* Cut [a, b) of s: call mark(ctx, start, end, is_match) for each part,
	 * in order, covering [a, b). */
	int (*cut)(const tk_pre *p, const char *s, size_t a, size_t b,
	           int (*mark)(void *, size_t, size_t, int), void *ctx);
} splitter;

typedef struct split_ctx {
	tk_work *w;
	int behavior, invert;
	/* pending piece for the merge behaviours */
	size_t pa, pb;
	int have, last_match;
} split_ctx;

static int
emit(split_ctx *c, size_t a, size_t b)
{
	return a < b ? work_push(c->w, a, b, -1) : 0;
}

static int
mark(void *vc, size_t a, size_t b, int is_match)
{
	split_ctx *c = vc;

	if (a == b)
		return 0;
	if (c->invert)
		is_match = !is_match;
	switch (c->behavior) {
	case TK_REMOVED:
		return is_match ? 0 : emit(c, a, b);
	case TK_ISOLATED:
		return emit(c, a, b);
	case TK_MERGED_PREV:
		if (is_match && c->have) {
			c->pb = b;
			if (emit(c, c->pa, c->pb))
				return -1;
			c->have = 0;
			return 0;
		}
		if (c->have && emit(c, c->pa, c->pb))
			return -1;
		if (is_match)
			return emit(c, a, b);
		c->pa = a, c->pb = b, c->have = 1;
		return 0;
	case TK_MERGED_NEXT:
		if (is_match) {
			if (c->have && emit(c, c->pa, c->pb))
				return -1;
			c->pa = a, c->pb = b, c->have = 1;
			return 0;
		}
		if (c->have) {
			c->have = 0;
			return emit(c, c->pa, b);
		}
		return emit(c, a, b);
	default:	/* contiguous: runs of matches become one piece */
		if (is_match && c->have && c->last_match) {
			c->pb = b;
			return 0;
		}
		if (c->have && emit(c, c->pa, c->pb))
			return -1;
		c->pa = a, c->pb = b, c->have = 1, c->last_match = is_match;
		return 0;
	}
}

static int
flush(split_ctx *c)
{
	if (c->have) {
		c->have = 0;
		return emit(c, c->pa, c->pb);
	}
	return 0;
}

static int
split_pieces(const tk_pre *p, tk_work *w, int behavior, int invert,
             int (*cut)(const tk_pre *, const char *, size_t, size_t,
                        int (*)(void *, size_t, size_t, int), void *))
{
	size_t *oa = w->pa, *ob = w->pb, on = w->np, i;
	int32_t *of = w->fixed;
	split_ctx c = {0};
	int rc = 0;

	w->pa = NULL, w->pb = NULL, w->fixed = NULL, w->np = 0, w->pcap = 0;
	c.w = w;
	c.behavior = behavior;
	c.invert = invert;
	for (i = 0; i < on && !rc; i++) {
		if (of && of[i] >= 0) {
			rc = tk_work_push(w, oa[i], ob[i], of[i]);
			continue;
		}
		rc = cut(p, w->b.s, oa[i], ob[i], mark, &c);
		if (!rc)
			rc = flush(&c);
	}
	free(oa);
	free(ob);
	free(of);
	return rc;
}

/* --------------------------------------------------------- splitters */

static int
cut_regex(const tk_pre *p, const char *s, size_t a, size_t b,
          int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	size_t pos = a, prev = a, ms, me;

	if (p->scanner) {
		while (pos < b) {
			size_t e = tk_scan(p->scanner, s + a, b - a, pos - a) + a;

			if (mk(ctx, pos, e, 1))
				return -1;
			pos = e;
		}
		return 0;
	}
	while (pos <= b && tk_regex_find(p->re, s + a, b - a, pos - a, &ms, &me)) {
		ms += a, me += a;
		if (ms > prev && mk(ctx, prev, ms, 0))
			return -1;
		if (me > ms && mk(ctx, ms, me, 1))
			return -1;
		prev = me;
		if (me == ms) {	/* empty match: step one character */
			int len;

			if (me >= b)
				break;
			ut_utf8_dec((const unsigned char *)s + me, b - me, &len);
			pos = me + (size_t)len;
		} else {
			pos = me;
		}
	}
	if (prev < b && mk(ctx, prev, b, 0))
		return -1;
	return 0;
}

static int
cut_literal(const tk_pre *p, const char *s, size_t a, size_t b,
            int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	size_t prev = a, i = a;

	if (!p->lit_n)
		return mk(ctx, a, b, 0);
	while (i + p->lit_n <= b) {
		if (!memcmp(s + i, p->lit, p->lit_n)) {
			if (mk(ctx, prev, i, 0) || mk(ctx, i, i + p->lit_n, 1))
				return -1;
			i += p->lit_n;
			prev = i;
		} else {
			i++;
		}
	}
	return mk(ctx, prev, b, 0);
}

/* Cut at characters of a class: each such character is a match. */
static int
cut_class(const char *s, size_t a, size_t b, int (*is)(const tk_pre *, int32_t),
          const tk_pre *p, int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	size_t i = a, prev = a;
	int len;

	while (i < b) {
		int32_t cp = ut_utf8_dec((const unsigned char *)s + i, b - i, &len);

		if (cp >= 0 && is(p, cp)) {
			if (mk(ctx, prev, i, 0) || mk(ctx, i, i + (size_t)len, 1))
				return -1;
			prev = i + (size_t)len;
		}
		i += (size_t)len;
	}
	return mk(ctx, prev, b, 0);
}

static int
is_ws(const tk_pre *p, int32_t cp)
{
	return tk_is_space(cp);
}

int
tk_is_bert_punct(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) ||
		       (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
	return tk_uni_find(tk_hf_punct, tk_hf_npunct, cp) >= 0;
}

static int
is_bert_punct(const tk_pre *p, int32_t cp)
{
	return tk_is_bert_punct(cp);
}

static int
is_digit(const tk_pre *p, int32_t cp)
{
	return tk_is_number(cp);
}

static int
is_delim(const tk_pre *p, int32_t cp)
{
	return cp == p->delim;
}

static int
cut_ws(const tk_pre *p, const char *s, size_t a, size_t b,
       int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	return cut_class(s, a, b, is_ws, p, mk, ctx);
}

static int
cut_punct(const tk_pre *p, const char *s, size_t a, size_t b,
          int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	return cut_class(s, a, b, is_bert_punct, p, mk, ctx);
}

static int
cut_digits(const tk_pre *p, const char *s, size_t a, size_t b,
           int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	return cut_class(s, a, b, is_digit, p, mk, ctx);
}

static int
cut_delim(const tk_pre *p, const char *s, size_t a, size_t b,
          int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	return cut_class(s, a, b, is_delim, p, mk, ctx);
}

/* Whitespace: \w+|[^\w\s]+ kept, whitespace removed. */
static int
word_class(int32_t cp)
{
	if (cp < 0)
		return 2;
	if (cp == '_' || (tk_uclass(cp) & (TK_U_L | TK_U_N | TK_U_M)))
		return 1;
	if (tk_is_space(cp))
		return 0;
	return 2;
}

static int
cut_whitespace(const tk_pre *p, const char *s, size_t a, size_t b,
               int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	size_t i = a, st = a;
	int len, cur = -1;

	while (i < b) {
		int k = word_class(ut_utf8_dec((const unsigned char *)s + i, b - i, &len));

		if (k != cur) {
			if (i > st && mk(ctx, st, i, cur != 0))
				return -1;
			st = i;
			cur = k;
		}
		i += (size_t)len;
	}
	if (i > st && mk(ctx, st, i, cur != 0))
		return -1;
	return 0;
}

/* BERT's pre-tokenizer in one pass: whitespace removed (as the first
 * split, TK_REMOVED), then each punctuation character a piece of its own
 * (the second, TK_ISOLATED), the rest in runs; ASCII classed by a table.
 * Pieces of added tokens (fixed) are kept as they are. */
enum { BC_WORD, BC_SPACE, BC_PUNCT, BC_UTF8 };

static unsigned char bert_ascii[256];
static uint64_t bert_punct_bmp[0x10000 / 64];	/* tk_is_bert_punct below U+10000 */
static pthread_once_t bert_once = PTHREAD_ONCE_INIT;

static void
bert_table(void)
{
	for (int c = 0; c < 256; c++)
		bert_ascii[c] = c >= 0x80 ? BC_UTF8 : tk_is_space(c) ? BC_SPACE
		                : tk_is_bert_punct(c) ? BC_PUNCT : BC_WORD;
	for (int c = 0; c < 0x80; c++)
		if (tk_is_bert_punct(c))
			bert_punct_bmp[c / 64] |= (uint64_t)1 << (c % 64);
	for (int k = 0; k < tk_hf_npunct; k++)
		for (int32_t c = tk_hf_punct[k][0]; c <= tk_hf_punct[k][1] && c < 0x10000; c++)
			if (c >= 0x80)
				bert_punct_bmp[c / 64] |= (uint64_t)1 << (c % 64);
}

static inline int
bert_punct(int32_t cp)
{
	if (cp < 0x10000)
		return bert_punct_bmp[cp / 64] >> (cp % 64) & 1;
	return tk_is_bert_punct(cp);
}

/* Room for k more pieces in w. */
static int
work_room(tk_work *w, size_t k)
{
	while (w->np + k > w->pcap)
		if (work_grow(w))
			return -1;
	return 0;
}

/* A piece of the model's, [a, b), where work_room made room. */
static inline void
work_put(tk_work *w, size_t a, size_t b)
{
	w->pa[w->np] = a, w->pb[w->np] = b;
	if (w->fixed)
		w->fixed[w->np] = -1;
	w->np++;
}

static int
bert_cut(tk_work *w, const char *s, size_t a, size_t b)
{
	size_t i = a, st = a;	/* the word under way: [st, i) */
	int len;

	while (i < b) {
		int k = bert_ascii[(unsigned char)s[i]];

		len = 1;
		if (k == BC_UTF8) {
			int32_t cp = ut_utf8_dec((const unsigned char *)s + i, b - i, &len);

			k = cp < 0 ? BC_WORD : tk_is_space(cp) ? BC_SPACE
			    : bert_punct(cp) ? BC_PUNCT : BC_WORD;
		}
		if (k == BC_WORD) {
			i += (size_t)len;
			continue;
		}
		/* a word ends here; a punctuation character is one piece */
		if (work_room(w, 2))
			return -1;
		if (i > st)
			work_put(w, st, i);
		if (k == BC_PUNCT)
			work_put(w, i, i + (size_t)len);
		i += (size_t)len;
		st = i;
	}
	if (b > st) {
		if (work_room(w, 1))
			return -1;
		work_put(w, st, b);
	}
	return 0;
}

static int
bert_split(tk_work *w)
{
	size_t *oa = w->pa, *ob = w->pb, on = w->np, i;
	int32_t *of = w->fixed;
	int rc = 0;

	pthread_once(&bert_once, bert_table);
	w->pa = NULL, w->pb = NULL, w->fixed = NULL, w->np = 0, w->pcap = 0;
	for (i = 0; i < on && !rc; i++)
		rc = of && of[i] >= 0 ? tk_work_push(w, oa[i], ob[i], of[i])
		                : bert_cut(w, w->b.s, oa[i], ob[i]);
	free(oa);
	free(ob);
	free(of);
	return rc;
}

/* ------------------------------------------------------- rewriting */

/* Rebuild the work string from its pieces through f, which writes each
 * piece's new text (and alignment) into o. */
#define OS(w, i) tk_work_os(w, i)
#define OE(w, i) tk_work_oe(w, i)

static int
copy_range(tk_abuf *o, const tk_work *w, size_t a, size_t b)
{
	size_t q;

	for (q = a; q < b; q++)
		if (tk_abuf_put(o, w->b.s + q, 1, OS(w, q), OE(w, q)))
			return -1;
	return 0;
}

/* Metaspace (replace ' ' by the replacement, maybe prepend it) and
 * ByteLevel's add_prefix_space, applied to every non-fixed piece. */
static int
rewrite(const tk_pre *p, tk_work *w)
{
	tk_abuf o = TK_ABUF(w);
	size_t i, q;

	for (i = 0; i < w->np; i++) {
		size_t a = w->pa[i], b = w->pb[i], na = o.b.n;

		if (tk_work_fixed(w, i) >= 0) {
			if (copy_range(&o, w, a, b))
				goto fail;
		} else if (p->type == TK_P_BYTELEVEL) {
			if (a < b && w->b.s[a] != ' ' && tk_abuf_put(&o, " ", 1, OS(w, a), OE(w, a)))
				goto fail;
			if (copy_range(&o, w, a, b))
				goto fail;
		} else {
			int pre = 0;

			if (a < b && p->prepend &&
			    !(b - a >= (size_t)p->repl_n && !memcmp(w->b.s + a, p->repl, (size_t)p->repl_n)) &&
			    w->b.s[a] != ' ')
				pre = p->prepend == 2 || OS(w, a) == 0;
			if (pre) {
				int len;

				ut_utf8_dec((const unsigned char *)w->b.s + a, b - a, &len);
				if (tk_abuf_put(&o, p->repl, (size_t)p->repl_n, OS(w, a), OE(w, a + (size_t)len - 1)))
					goto fail;
			}
			for (q = a; q < b; q++) {
				if (w->b.s[q] == ' ') {
					if (tk_abuf_put(&o, p->repl, (size_t)p->repl_n, OS(w, q), OE(w, q)))
						goto fail;
				} else if (tk_abuf_put(&o, w->b.s + q, 1, OS(w, q), OE(w, q))) {
					goto fail;
				}
			}
		}
		w->pa[i] = na;
		w->pb[i] = o.b.n;
	}
	if (tk_abuf_swap(&o, w))
		goto fail;
	return 0;
fail:
	tk_abuf_release(&o);
	return -1;
}

static int
cut_meta(const tk_pre *p, const char *s, size_t a, size_t b,
         int (*mk)(void *, size_t, size_t, int), void *ctx)
{
	size_t prev = a, i = a;

	while (i + (size_t)p->repl_n <= b) {
		if (!memcmp(s + i, p->repl, (size_t)p->repl_n)) {
			if (mk(ctx, prev, i, 0) || mk(ctx, i, i + (size_t)p->repl_n, 1))
				return -1;
			i += (size_t)p->repl_n;
			prev = i;
		} else {
			i++;
		}
	}
	return mk(ctx, prev, b, 0);
}

/* -------------------------------------------------------- the steps */

int
tk_pretokenize(const tk_pre *p, tk_work *w, int first_segment, te_diag *d)
{
	size_t i;

	if (!p)
		return 0;
	switch (p->type) {
	case TK_P_SEQ:
		for (i = 0; i < p->nsub; i++)
			if (tk_pretokenize(p->sub[i], w, first_segment, d))
				return -1;
		return 0;
	case TK_P_BYTELEVEL:
		if (p->add_prefix_space && rewrite(p, w))
			return -1;
		if (p->use_regex)
			return split_pieces(p, w, TK_ISOLATED, 0, cut_regex);
		return 0;
	case TK_P_SPLIT:
		return split_pieces(p, w, p->behavior, p->invert, p->lit ? cut_literal : cut_regex);
	case TK_P_WHITESPACE:
		return split_pieces(p, w, TK_REMOVED, 1, cut_whitespace);
	case TK_P_WSSPLIT:
		return split_pieces(p, w, TK_REMOVED, 0, cut_ws);
	case TK_P_BERT:
		return bert_split(w);
	case TK_P_METASPACE:
		if (rewrite(p, w))
			return -1;
		if (p->msplit)
			return split_pieces(p, w, TK_MERGED_NEXT, 0, cut_meta);
		return 0;
	case TK_P_DIGITS:
		return split_pieces(p, w, p->individual ? TK_ISOLATED : TK_CONTIGUOUS, 0, cut_digits);
	case TK_P_PUNCT:
		return split_pieces(p, w, p->behavior, 0, cut_punct);
	case TK_P_CHARDELIM:
		return split_pieces(p, w, TK_REMOVED, 0, cut_delim);
	}
	return te_diag_set(d, "", 0, "unknown pre-tokenizer");
}

void
tk_pre_free(tk_pre *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nsub; i++)
		tk_pre_free(p->sub[i]);
	free(p->sub);
	tk_regex_free(p->re);
	free(p->lit);
	free(p);
}
