/* hfjson.c: load a Hugging Face tokenizer.json (cJSON) into a te_tok.
 * An unknown component is refused with its name and the line it is on. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "spm_int.h"
#include "util_int.h"
#include "tok_int.h"

typedef struct hf {
	te_tok *t;
	const char *path;
	const char *text;
	te_diag *d;
	/* model.vocab (an object) and model.merges, found by the fast scanner
	 * and parsed without cJSON (they are most of a big file) */
	const char *vocab, *merges;
	size_t vocab_n;                    /* bytes of the vocab object */
	const char *uvocab;                /* model.vocab when an array (Unigram) */
} hf;

/* ------------------------------------------- a fast path for big lists */

static const char *
ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	return p;
}

static int
hexv(const char *p)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9') v |= c - '0';
		else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
		else return -1;
	}
	return v;
}

/* Parse the JSON string at p (at its quote) into out; returns the end or
 * NULL. */
static const char *
jstring(const char *p, ut_buf *out)
{
	out->n = 0;
	if (*p++ != '"')
		return NULL;
	for (;;) {
		const char *q = p;

		while (*q && *q != '"' && *q != '\\')
			q++;
		if (q > p && ut_buf_put(out, p, (size_t)(q - p)))
			return NULL;
		p = q;
		if (*p == '"') {
			if (ut_buf_grow(out, 0))
				return NULL;
			out->s[out->n] = 0;
			return p + 1;
		}
		if (!*p)
			return NULL;
		p++;	/* backslash */
		{
			char c = *p++, u[4];
			int v, k;

			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '"': case '\\': case '/': break;
			case 'u':
				if ((v = hexv(p)) < 0)
					return NULL;
				p += 4;
				if (v >= 0xd800 && v <= 0xdbff && p[0] == '\\' && p[1] == 'u') {
					int lo = hexv(p + 2);

					if (lo >= 0xdc00 && lo <= 0xdfff) {
						v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
						p += 6;
					}
				}
				if (v >= 0xd800 && v <= 0xdfff)
					v = 0xfffd;
				k = ut_utf8_enc(v, u);
				if (ut_buf_put(out, u, (size_t)k))
					return NULL;
				continue;
			default:
				return NULL;
			}
			if (ut_buf_put(out, &c, 1))
				return NULL;
		}
	}
}

/* Skip one JSON value at p; returns its end or NULL.  Inside an object
 * or array only quotes, backslashes and brackets matter (the vocabulary and
 * merges of a big model are most of its file: this runs over them once). */
static const char *
jskip(const char *p)
{
	static unsigned char cls[256];	/* 1 quote, 2 open, 3 close, 4 NUL */
	int depth = 0;

	if (!cls['"']) {
		cls['{'] = cls['['] = 2;
		cls['}'] = cls[']'] = 3;
		cls[0] = 4;
		__atomic_store_n(&cls['"'], 1, __ATOMIC_RELEASE);
	}
	p = ws(p);
	if (*p != '"' && *p != '{' && *p != '[') {	/* a number or a literal */
		if (!*p || *p == '}' || *p == ']')
			return NULL;
		while (*p && !strchr(",}] \n\r\t", *p))
			p++;
		return p;
	}
	for (;;) {
		unsigned char c;

		while (!cls[(unsigned char)*p])
			p++;
		c = cls[(unsigned char)*p];
		if (c == 1) {
			for (p++; *p != '"'; p++) {
				if (!*p)
					return NULL;
				if (*p == '\\' && !*++p)
					return NULL;
			}
			p++;
			if (!depth)
				return p;
		} else if (c == 2) {
			depth++;
			p++;
		} else if (c == 3) {
			if (--depth < 0)
				return NULL;
			p++;
			if (!depth)
				return p;
		} else {
			return NULL;
		}
	}
}

/* Find the spans of model.vocab (when an object) and model.merges in the
 * text: h->vocab and h->merges point at them, and the returned copy of the
 * text has each replaced by 0 and its newlines (so that cJSON parses
 * little, and line numbers stay those of the file).  NULL: out of memory. */
static char *
find_big(hf *h, const char *text, size_t size)
{
	ut_buf key = {0}, k2 = {0};
	const char *p = ws(text), *span[2][2] = {{NULL, NULL}, {NULL, NULL}};
	char *skel, *o;
	size_t keep = size;
	int i;

	if (*p++ != '{')
		goto copy;
	for (;;) {
		const char *v, *end = NULL;

		p = ws(p);
		if (*p != '"' || !(p = jstring(p, &key)))
			break;
		p = ws(p);
		if (*p++ != ':')
			break;
		v = ws(p);
		if (!strcmp(key.s, "model") && *v == '{') {
			const char *q = v + 1;

			for (;;) {
				const char *w, *e;

				q = ws(q);
				if (*q != '"' || !(q = jstring(q, &k2)))
					break;
				q = ws(q);
				if (*q++ != ':')
					break;
				w = ws(q);
				if (!(e = jskip(w)))
					break;
				if (!strcmp(k2.s, "vocab") && *w == '{')
					span[0][0] = w, span[0][1] = e;
				else if (!strcmp(k2.s, "vocab") && *w == '[')
					h->uvocab = w;
				else if (!strcmp(k2.s, "merges") && *w == '[')
					span[1][0] = w, span[1][1] = e;
				q = ws(e);
				if (*q == ',') {
					q++;
					continue;
				}
				if (*q == '}')
					end = q + 1;	/* the model is skipped once */
				break;
			}
		}
		if (!(p = end ? end : jskip(v)))
			break;
		p = ws(p);
		if (*p != ',')
			break;
		p++;
	}
copy:
	ut_buf_release(&key);
	ut_buf_release(&k2);
	if (span[0][0] && span[1][0] && span[1][0] < span[0][0]) {	/* in text order */
		const char *t0 = span[0][0], *t1 = span[0][1];

		span[0][0] = span[1][0], span[0][1] = span[1][1];
		span[1][0] = t0, span[1][1] = t1;
	}
	if (span[0][0] && span[1][0] && span[1][0] < span[0][1])	/* overlapping (a file */
		span[0][0] = span[1][0] = NULL;	/* that is not JSON): cJSON will say so */
	for (i = 0; i < 2; i++) {
		const char *q;

		if (!span[i][0])
			continue;
		keep -= (size_t)(span[i][1] - span[i][0]) - 1;
		for (q = span[i][0]; (q = memchr(q, '\n', (size_t)(span[i][1] - q))); q++)
			keep++;
	}
	if (!(skel = malloc(keep + 1)))
		return NULL;
	o = skel;
	p = text;
	for (i = 0; i < 2; i++) {
		const char *q;

		if (!span[i][0])
			continue;
		memcpy(o, p, (size_t)(span[i][0] - p));
		o += span[i][0] - p;
		*o++ = '0';
		for (q = span[i][0]; (q = memchr(q, '\n', (size_t)(span[i][1] - q))); q++)
			*o++ = '\n';
		p = span[i][1];
	}
	memcpy(o, p, (size_t)(text + size - p));
	o += text + size - p;
	*o = 0;
	for (i = 0; i < 2; i++)
		if (span[i][0] && *span[i][0] == '{') {
			h->vocab = span[i][0];
			h->vocab_n = (size_t)(span[i][1] - span[i][0]);
		}
	h->merges = span[0][0] && *span[0][0] == '[' ? span[0][0] : span[1][0] && *span[1][0] == '[' ? span[1][0] : NULL;
	return skel;
}

/* The line of the first "type": "name" in the file, for messages. */
static long
line_of(const hf *h, const char *name)
{
	char pat[256];
	const char *p;
	long line = 1;

	snprintf(pat, sizeof pat, "\"%s\"", name);
	p = strstr(h->text, pat);
	if (!p)
		return 0;
	for (const char *q = h->text; q < p; q++)
		line += *q == '\n';
	return line;
}

static int
unknown(const hf *h, const char *what, const char *name)
{
	return te_diag_set(h->d, h->path, line_of(h, name), "unknown %s '%s'", what, name);
}

static int
bad(const hf *h, const char *fmt, const char *arg)
{
	return te_diag_set(h->d, h->path, 0, fmt, arg);
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static int
jbool(const cJSON *o, const char *k, int def)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsBool(x))
		return cJSON_IsTrue(x);
	return def;
}

/* o[k] as an integer in lo..hi into *out, def when it is not a number;
 * -1 (reported) for a number out of range or with a fraction, before any
 * cast (ut_int_of). */
static int
jint(const hf *h, const cJSON *o, const char *k, long long def, long long lo, long long hi,
     long long *out)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	*out = def;
	if (!cJSON_IsNumber(x) || !ut_int_of(x->valuedouble, lo, hi, out))
		return 0;
	return te_diag_set(h->d, h->path, line_of(h, k), "\"%s\" must be an integer in %lld..%lld",
	                   k, lo, hi);
}

static char *
dupn(const char *s, size_t *n)
{
	*n = strlen(s);
	return strdup(s);
}

/* {"String": s} or {"Regex": r}: *lit or *re. */
static int
pattern(const hf *h, const cJSON *p, char **lit, size_t *litn, void **re)
{
	const char *s;

	if ((s = jstr(p, "String"))) {
		if (!(*lit = dupn(s, litn)))
			return te_diag_set(h->d, h->path, 0, "out of memory");
		return 0;
	}
	if ((s = jstr(p, "Regex"))) {
		if (!(*re = tk_regex_new(s, strlen(s), h->d))) {
			if (h->d)
				snprintf(h->d->file, sizeof h->d->file, "%s", h->path);
			return -1;
		}
		return 0;
	}
	return bad(h, "a pattern must be {\"String\": ...} or {\"Regex\": ...}%s", "");
}

static tk_norm *
parse_norm(const hf *h, const cJSON *o)
{
	const char *type = jstr(o, "type");
	tk_norm *n;
	const cJSON *x;

	if (!type) {
		bad(h, "a normalizer has no type%s", "");
		return NULL;
	}
	if (!(n = calloc(1, sizeof *n))) {
		bad(h, "out of memory%s", "");
		return NULL;
	}
	if (!strcmp(type, "NFC")) n->type = TK_N_NFC;
	else if (!strcmp(type, "NFD")) n->type = TK_N_NFD;
	else if (!strcmp(type, "NFKC")) n->type = TK_N_NFKC;
	else if (!strcmp(type, "NFKD")) n->type = TK_N_NFKD;
	else if (!strcmp(type, "Lowercase")) n->type = TK_N_LOWER;
	else if (!strcmp(type, "StripAccents")) n->type = TK_N_STRIP_ACCENTS;
	else if (!strcmp(type, "BertNormalizer")) {
		n->type = TK_N_BERT;
		n->clean_text = jbool(o, "clean_text", 1);
		n->chinese = jbool(o, "handle_chinese_chars", 1);
		n->lowercase = jbool(o, "lowercase", 1);
		n->strip_accents = jbool(o, "strip_accents", n->lowercase);
	} else if (!strcmp(type, "Replace")) {
		const char *c = jstr(o, "content");

		n->type = TK_N_REPLACE;
		if (!c || pattern(h, cJSON_GetObjectItemCaseSensitive(o, "pattern"), &n->pat,
		                  &n->pat_n, &n->re))
			goto fail;
		n->content = dupn(c, &n->content_n);
	} else if (!strcmp(type, "Prepend")) {
		const char *c = jstr(o, "prepend");

		n->type = TK_N_PREPEND;
		if (!c)
			goto fail;
		n->content = dupn(c, &n->content_n);
	} else if (!strcmp(type, "Strip")) {
		n->type = TK_N_STRIP;
		n->left = jbool(o, "strip_left", 1);
		n->right = jbool(o, "strip_right", 1);
	} else if (!strcmp(type, "Sequence")) {
		const cJSON *e;

		n->type = TK_N_SEQ;
		x = cJSON_GetObjectItemCaseSensitive(o, "normalizers");
		cJSON_ArrayForEach(e, x) {
			tk_norm *s = parse_norm(h, e), **sub;

			if (!s)
				goto fail_quiet;
			if (!(sub = realloc(n->sub, (n->nsub + 1) * sizeof *sub))) {
				tk_norm_free(s);
				goto fail;
			}
			n->sub = sub;
			n->sub[n->nsub++] = s;
		}
	} else if (!strcmp(type, "Precompiled")) {
		const char *b64 = jstr(o, "precompiled_charsmap");

		n->type = TK_N_PRECOMPILED;
		if (!b64 || !*b64) {	/* an empty map normalizes nothing */
			n->type = TK_N_SEQ;
		} else if (!(n->pc = tk_precompiled_from_base64(b64, strlen(b64), h->d))) {
			if (h->d)
				snprintf(h->d->file, sizeof h->d->file, "%s", h->path);
			goto fail_quiet;
		}
	} else {
		unknown(h, "normalizer", type);
		goto fail_quiet;
	}
	return n;
fail:
	bad(h, "bad normalizer '%s'", type);
fail_quiet:
	tk_norm_free(n);
	return NULL;
}

static int
behavior(const char *s)
{
	if (!s || !strcmp(s, "Isolated")) return TK_ISOLATED;
	if (!strcmp(s, "Removed")) return TK_REMOVED;
	if (!strcmp(s, "MergedWithPrevious")) return TK_MERGED_PREV;
	if (!strcmp(s, "MergedWithNext")) return TK_MERGED_NEXT;
	if (!strcmp(s, "Contiguous")) return TK_CONTIGUOUS;
	return -1;
}

static const char gpt2_pat[] =
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static tk_pre *
parse_pre(const hf *h, const cJSON *o)
{
	const char *type = jstr(o, "type");
	tk_pre *p;

	if (!type) {
		bad(h, "a pre-tokenizer has no type%s", "");
		return NULL;
	}
	if (!(p = calloc(1, sizeof *p))) {
		bad(h, "out of memory%s", "");
		return NULL;
	}
	if (!strcmp(type, "ByteLevel")) {
		p->type = TK_P_BYTELEVEL;
		p->add_prefix_space = jbool(o, "add_prefix_space", 1);
		p->use_regex = jbool(o, "use_regex", 1);
		h->t->byte_level = 1;
		if (p->use_regex) {
			p->scanner = tk_scanner_for(gpt2_pat);
			if (!p->scanner && !(p->re = tk_regex_new(gpt2_pat, strlen(gpt2_pat), h->d)))
				goto fail_quiet;
		}
	} else if (!strcmp(type, "Split")) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(o, "pattern");
		const char *rx = jstr(pat, "Regex");

		p->type = TK_P_SPLIT;
		p->behavior = behavior(jstr(o, "behavior"));
		p->invert = jbool(o, "invert", 0);
		if (p->behavior < 0) {
			unknown(h, "split behavior", jstr(o, "behavior"));
			goto fail_quiet;
		}
		if (rx && (p->scanner = tk_scanner_for(rx))) {
			/* a hand scanner: matches cover the text */
		} else if (pattern(h, pat, &p->lit, &p->lit_n, &p->re)) {
			goto fail_quiet;
		}
	} else if (!strcmp(type, "Whitespace")) {
		p->type = TK_P_WHITESPACE;
	} else if (!strcmp(type, "WhitespaceSplit")) {
		p->type = TK_P_WSSPLIT;
	} else if (!strcmp(type, "BertPreTokenizer")) {
		p->type = TK_P_BERT;
	} else if (!strcmp(type, "Metaspace")) {
		const char *r = jstr(o, "replacement"), *ps = jstr(o, "prepend_scheme");
		int len;

		p->type = TK_P_METASPACE;
		if (!r || !*r)
			goto fail;
		p->repl_cp = ut_utf8_dec((const unsigned char *)r, strlen(r), &len);
		memcpy(p->repl, r, (size_t)len);
		p->repl_n = len;
		if (ps)
			p->prepend = !strcmp(ps, "always") ? 2 : !strcmp(ps, "first") ? 1 : 0;
		else
			p->prepend = jbool(o, "add_prefix_space", 1) ? 2 : 0;
		p->msplit = jbool(o, "split", 1);
	} else if (!strcmp(type, "Digits")) {
		p->type = TK_P_DIGITS;
		p->individual = jbool(o, "individual_digits", 0);
	} else if (!strcmp(type, "Punctuation")) {
		p->type = TK_P_PUNCT;
		p->behavior = behavior(jstr(o, "behavior"));
		if (p->behavior < 0) {
			unknown(h, "split behavior", jstr(o, "behavior"));
			goto fail_quiet;
		}
	} else if (!strcmp(type, "CharDelimiterSplit")) {
		const char *c = jstr(o, "delimiter");
		int len;

		p->type = TK_P_CHARDELIM;
		if (!c || !*c)
			goto fail;
		p->delim = ut_utf8_dec((const unsigned char *)c, strlen(c), &len);
	} else if (!strcmp(type, "Sequence")) {
		const cJSON *e, *x = cJSON_GetObjectItemCaseSensitive(o, "pretokenizers");

		p->type = TK_P_SEQ;
		cJSON_ArrayForEach(e, x) {
			tk_pre *s = parse_pre(h, e), **sub;

			if (!s)
				goto fail_quiet;
			if (!(sub = realloc(p->sub, (p->nsub + 1) * sizeof *sub))) {
				tk_pre_free(s);
				goto fail;
			}
			p->sub = sub;
			p->sub[p->nsub++] = s;
		}
	} else {
		unknown(h, "pre-tokenizer", type);
		goto fail_quiet;
	}
	return p;
fail:
	bad(h, "bad pre-tokenizer '%s'", type);
fail_quiet:
	tk_pre_free(p);
	return NULL;
}

static tk_dec *
parse_dec(const hf *h, const cJSON *o)
{
	const char *type = jstr(o, "type");
	tk_dec *x;

	if (!type) {
		bad(h, "a decoder has no type%s", "");
		return NULL;
	}
	if (!(x = calloc(1, sizeof *x))) {
		bad(h, "out of memory%s", "");
		return NULL;
	}
	if (!strcmp(type, "ByteLevel")) {
		x->type = TK_D_BYTELEVEL;
	} else if (!strcmp(type, "WordPiece")) {
		const char *p = jstr(o, "prefix");

		x->type = TK_D_WORDPIECE;
		x->prefix = strdup(p ? p : "##");
		x->cleanup = jbool(o, "cleanup", 1);
	} else if (!strcmp(type, "Metaspace")) {
		const char *r = jstr(o, "replacement"), *ps = jstr(o, "prepend_scheme");

		x->type = TK_D_METASPACE;
		if (!r || strlen(r) >= sizeof x->repl)
			goto fail;
		strcpy(x->repl, r);
		x->repl_n = (int)strlen(r);
		if (ps)
			x->prepend = strcmp(ps, "never") != 0;
		else
			x->prepend = jbool(o, "add_prefix_space", 1);
	} else if (!strcmp(type, "ByteFallback")) {
		x->type = TK_D_BYTEFALLBACK;
	} else if (!strcmp(type, "Fuse")) {
		x->type = TK_D_FUSE;
	} else if (!strcmp(type, "Strip")) {
		const char *c = jstr(o, "content");
		long long n0, n1;

		x->type = TK_D_STRIP;
		if (!c)
			goto fail;
		x->content = dupn(c, &x->content_n);
		if (jint(h, o, "start", 0, 0, INT_MAX, &n0) || jint(h, o, "stop", 0, 0, INT_MAX, &n1))
			goto fail_quiet;
		x->start = (int)n0;
		x->stop = (int)n1;
	} else if (!strcmp(type, "Replace")) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(o, "pattern");
		const char *s = jstr(pat, "String"), *c = jstr(o, "content");

		x->type = TK_D_REPLACE;
		if (!s || !c) {
			te_diag_set(h->d, h->path, line_of(h, type),
			            "only string patterns are supported in the Replace decoder");
			goto fail_quiet;
		}
		x->pat = dupn(s, &x->pat_n);
		x->content = dupn(c, &x->content_n);
	} else if (!strcmp(type, "BPEDecoder")) {
		const char *s = jstr(o, "suffix");

		x->type = TK_D_BPE;
		x->prefix = strdup(s ? s : "</w>");
	} else if (!strcmp(type, "Sequence")) {
		const cJSON *e, *l = cJSON_GetObjectItemCaseSensitive(o, "decoders");

		x->type = TK_D_SEQ;
		cJSON_ArrayForEach(e, l) {
			tk_dec *s = parse_dec(h, e), **sub;

			if (!s)
				goto fail_quiet;
			if (!(sub = realloc(x->sub, (x->nsub + 1) * sizeof *sub))) {
				tk_dec_free(s);
				goto fail;
			}
			x->sub = sub;
			x->sub[x->nsub++] = s;
		}
	} else {
		unknown(h, "decoder", type);
		goto fail_quiet;
	}
	return x;
fail:
	bad(h, "bad decoder '%s'", type);
fail_quiet:
	tk_dec_free(x);
	return NULL;
}

/* A post-processor: wrap the template around what is there so far. */
static int
tpl_wrap(te_tok *t, const int32_t *pre, size_t npre, const int32_t *suf, size_t nsuf)
{
	tk_tpl *n;
	size_t k = 0, i;

	if (!t->ntpl) {
		if (!(t->tpl = calloc(1, sizeof *t->tpl)))
			return -1;
		t->ntpl = 1;
	}
	if (!(n = calloc(t->ntpl + 2, sizeof *n)))
		return -1;
	if (npre) {
		n[k].ids = malloc(npre * sizeof *pre);
		if (!n[k].ids)
			return -1;
		memcpy(n[k].ids, pre, npre * sizeof *pre);
		n[k++].n = npre;
	}
	for (i = 0; i < t->ntpl; i++)
		n[k++] = t->tpl[i];
	if (nsuf) {
		n[k].ids = malloc(nsuf * sizeof *suf);
		if (!n[k].ids)
			return -1;
		memcpy(n[k].ids, suf, nsuf * sizeof *suf);
		n[k++].n = nsuf;
	}
	free(t->tpl);
	t->tpl = n;
	t->ntpl = k;
	t->has_post = 1;
	return 0;
}

static int
parse_post(const hf *h, const cJSON *o)
{
	const char *type = jstr(o, "type");
	te_tok *t = h->t;

	if (!type)
		return bad(h, "a post-processor has no type%s", "");
	if (!strcmp(type, "ByteLevel"))
		return 0;
	if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
		const cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "cls");
		const cJSON *sep = cJSON_GetObjectItemCaseSensitive(o, "sep");
		const cJSON *ca = cJSON_GetArrayItem(cls, 1), *cb = cJSON_GetArrayItem(sep, 1);
		long long la, lb;
		int32_t a, b;

		if (!cJSON_IsNumber(ca) || !cJSON_IsNumber(cb) ||
		    /* any int32 here: the vocabulary check (tk_tok_ids_ok) names a bad one */
		    ut_int_of(ca->valuedouble, INT32_MIN, INT32_MAX, &la) ||
		    ut_int_of(cb->valuedouble, INT32_MIN, INT32_MAX, &lb))
			return bad(h, "bad post-processor '%s'", type);
		a = (int32_t)la;
		b = (int32_t)lb;
		return tpl_wrap(t, &a, 1, &b, 1) ? bad(h, "out of memory%s", "") : 0;
	}
	if (!strcmp(type, "TemplateProcessing")) {
		const cJSON *single = cJSON_GetObjectItemCaseSensitive(o, "single");
		const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "special_tokens"), *e;
		int32_t pre[64], suf[64];
		size_t np = 0, ns = 0;
		int seen = 0;

		cJSON_ArrayForEach(e, single) {
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");

			if (cJSON_GetObjectItemCaseSensitive(e, "Sequence")) {
				seen = 1;
			} else if (st) {
				const char *name = jstr(st, "id");
				const cJSON *tok = name ? cJSON_GetObjectItemCaseSensitive(sp, name) : NULL;
				const cJSON *ids = cJSON_GetObjectItemCaseSensitive(tok, "ids"), *id;

				if (!tok)
					return bad(h, "post-processor: unknown special token '%s'",
					           name ? name : "");
				cJSON_ArrayForEach(id, ids) {
					long long v;

					if (seen ? ns >= 64 : np >= 64)
						return bad(h, "post-processor: too many special tokens%s", "");
					if (!cJSON_IsNumber(id) || ut_int_of(id->valuedouble, INT32_MIN, INT32_MAX, &v))
						return bad(h, "post-processor: bad id for special token '%s'",
						           name ? name : "");
					if (seen)
						suf[ns++] = (int32_t)v;
					else
						pre[np++] = (int32_t)v;
				}
			}
		}
		return tpl_wrap(t, pre, np, suf, ns) ? bad(h, "out of memory%s", "") : 0;
	}
	if (!strcmp(type, "Sequence")) {
		const cJSON *e, *l = cJSON_GetObjectItemCaseSensitive(o, "processors");

		cJSON_ArrayForEach(e, l)
			if (parse_post(h, e))
				return -1;
		return 0;
	}
	return unknown(h, "post-processor", type);
}

/* Key the model sees for a vocabulary string: byte-level strings are
 * unmapped to their bytes.  Returns -1 when a character has no byte. */
static int
model_key(const te_tok *t, const char *s, size_t n, char *buf, size_t cap, size_t *kn)
{
	size_t i = 0, k = 0;
	int len;

	if (!t->byte_level) {
		if (n > cap)
			return -1;
		memcpy(buf, s, n);
		*kn = n;
		return 0;
	}
	while (i < n) {
		int b = tk_cp_to_byte(ut_utf8_dec((const unsigned char *)s + i, n - i, &len));

		if (b < 0 || k >= cap)
			return -1;
		buf[k++] = (char)b;
		i += (size_t)len;
	}
	*kn = k;
	return 0;
}

/* Call f for each "key": id of a vocab object (fast path or cJSON). */
typedef int (*vocab_fn)(const hf *h, const char *k, size_t kn, int32_t id, void *ctx);

static int
each_vocab(const hf *h, const cJSON *vocab, vocab_fn f, void *ctx)
{
	const cJSON *e;

	if (h->vocab) {
		ut_buf key = {0};
		const char *p = ws(h->vocab) + 1;
		int rc = 0;

		/* an entry is about 16 bytes: room for the keys at once */
		if (ut_strmap_reserve(h->t->mtype == TK_M_BPE ? &h->t->bpe.vocab : &h->t->wp.vocab,
		                      h->vocab_n / 16 + 16))
			return bad(h, "out of memory%s", "");
		for (;;) {
			char *end;
			long id;

			p = ws(p);
			if (*p == '}')
				break;
			if (*p != '"' || !(p = jstring(p, &key))) {
				rc = bad(h, "bad vocab in the model%s", "");
				break;
			}
			p = ws(p);
			if (*p++ != ':') {
				rc = bad(h, "bad vocab in the model%s", "");
				break;
			}
			id = strtol(ws(p), &end, 10);
			if (end == ws(p) || id < 0 || id > TK_MAX_ID) {
				rc = bad(h, "bad vocabulary id for '%s'", key.s);
				break;
			}
			if (f(h, key.s, key.n, (int32_t)id, ctx)) {
				rc = -1;
				break;
			}
			p = ws(end);
			if (*p == ',')
				p++;
		}
		ut_buf_release(&key);
		return rc;
	}
	if (!cJSON_IsObject(vocab))
		return bad(h, "the model has no vocab%s", "");
	cJSON_ArrayForEach(e, vocab) {
		long long id;

		if (!cJSON_IsNumber(e) || ut_int_of(e->valuedouble, 0, TK_MAX_ID, &id))
			return bad(h, "bad vocabulary id for '%s'", e->string);
		if (f(h, e->string, strlen(e->string), (int32_t)id, ctx))
			return -1;
	}
	return 0;
}

/* Call f for each merge (left, right) in order. */
typedef int (*merge_fn)(const hf *h, const char *l, size_t ln, const char *r, size_t rn, void *ctx);

static int
each_merge(const hf *h, const cJSON *merges, merge_fn f, void *ctx)
{
	const cJSON *e;

	if (h->merges) {
		ut_buf a = {0}, b = {0};
		const char *p = ws(h->merges) + 1;
		int rc = 0;

		for (;;) {
			p = ws(p);
			if (*p == ']')
				break;
			if (*p == '"') {
				char *sp;

				if (!(p = jstring(p, &a)) || !(sp = memchr(a.s, ' ', a.n))) {
					rc = bad(h, "bad merge in the BPE model%s", "");
					break;
				}
				if (f(h, a.s, (size_t)(sp - a.s), sp + 1, a.n - (size_t)(sp - a.s) - 1, ctx)) {
					rc = -1;
					break;
				}
			} else if (*p == '[') {
				p = ws(p + 1);
				if (*p != '"' || !(p = jstring(p, &a)))
					goto badm;
				p = ws(p);
				if (*p++ != ',')
					goto badm;
				p = ws(p);
				if (*p != '"' || !(p = jstring(p, &b)))
					goto badm;
				p = ws(p);
				if (*p++ != ']')
					goto badm;
				if (f(h, a.s, a.n, b.s, b.n, ctx)) {
					rc = -1;
					break;
				}
			} else {
badm:
				rc = bad(h, "bad merge in the BPE model%s", "");
				break;
			}
			p = ws(p);
			if (*p == ',')
				p++;
		}
		ut_buf_release(&a);
		ut_buf_release(&b);
		return rc;
	}
	cJSON_ArrayForEach(e, merges) {
		if (cJSON_IsString(e)) {
			const char *sp = strchr(e->valuestring, ' ');

			if (!sp)
				return bad(h, "bad merge '%s'", e->valuestring);
			if (f(h, e->valuestring, (size_t)(sp - e->valuestring), sp + 1, strlen(sp + 1), ctx))
				return -1;
		} else if (cJSON_GetArraySize(e) == 2 && cJSON_IsString(cJSON_GetArrayItem(e, 0)) &&
		           cJSON_IsString(cJSON_GetArrayItem(e, 1))) {
			const char *l = cJSON_GetArrayItem(e, 0)->valuestring;
			const char *r = cJSON_GetArrayItem(e, 1)->valuestring;

			if (f(h, l, strlen(l), r, strlen(r), ctx))
				return -1;
		} else {
			return bad(h, "bad merge in the BPE model%s", "");
		}
	}
	return 0;
}

static int
bpe_vocab_one(const hf *h, const char *k, size_t kn, int32_t id, void *ctx)
{
	te_tok *t = h->t;
	char key[4096];
	size_t n;

	if (tk_tok_set_vocab(t, id, k, kn))
		return bad(h, "out of memory%s", "");
	if (!model_key(t, k, kn, key, sizeof key, &n) && ut_strmap_put(&t->bpe.vocab, key, n, id))
		return bad(h, "out of memory%s", "");
	return 0;
}

/* Merges as ids, in rank order, before they go into the pair map (whose
 * size is then known).  Their tokens are looked up UT_GET_MANY / 3 merges
 * at a time (the lookups are most of the load of a big BPE model). */
#define MBATCH (UT_GET_MANY / 3)
typedef struct mlist {
	int32_t *v;                        /* (left, right, merged) triples */
	size_t n, cap;
	ut_buf keys;                       /* the batch: left, right, left+right */
	size_t off[UT_GET_MANY + 1], nb;
	int skip[MBATCH];                  /* a token that is not in the byte alphabet */
} mlist;

static int
merges_flush(const hf *h, mlist *ml)
{
	const char *k[UT_GET_MANY];
	size_t n[UT_GET_MANY], i;
	int32_t id[UT_GET_MANY];

	if (ml->n + 3 * ml->nb > ml->cap) {
		size_t cap = ml->cap ? ml->cap : 3 * 4096;
		int32_t *v;

		while (cap < ml->n + 3 * ml->nb)
			cap *= 2;
		if (!(v = realloc(ml->v, cap * sizeof *v)))
			return bad(h, "out of memory%s", "");
		ml->v = v;
		ml->cap = cap;
	}
	for (i = 0; i < 3 * ml->nb; i++) {
		k[i] = ml->keys.s + ml->off[i];
		n[i] = ml->off[i + 1] - ml->off[i];
	}
	ut_strmap_get_many(&h->t->bpe.vocab, 3 * ml->nb, k, n, id);
	for (i = 0; i < ml->nb; i++) {
		int32_t *x = ml->v + ml->n;

		if (ml->skip[i]) {
			x[0] = x[1] = x[2] = -1;	/* keeps its rank */
		} else if (id[3 * i] < 0 || id[3 * i + 1] < 0 || id[3 * i + 2] < 0) {
			char msg[64];
			size_t ln = n[3 * i], rn = n[3 * i + 1];

			snprintf(msg, sizeof msg, "%.*s %.*s", (int)(ln > 20 ? 20 : ln), k[3 * i],
			         (int)(rn > 20 ? 20 : rn), k[3 * i + 1]);
			return bad(h, "merge '%s' uses a token not in the vocabulary", msg);
		} else {
			x[0] = id[3 * i];
			x[1] = id[3 * i + 1];
			x[2] = id[3 * i + 2];
		}
		ml->n += 3;
	}
	ml->nb = 0;
	ml->keys.n = 0;
	return 0;
}

static int
bpe_merge_one(const hf *h, const char *l, size_t ln, const char *r, size_t rn, void *ctx)
{
	te_tok *t = h->t;
	mlist *ml = ctx;
	char key[4096], key2[4096];
	size_t kn, kn2, j = 3 * ml->nb;

	if (model_key(t, l, ln, key, sizeof key, &kn) || model_key(t, r, rn, key2, sizeof key2, &kn2)) {
		ml->skip[ml->nb] = 1;
		kn = kn2 = 0;
	} else {
		ml->skip[ml->nb] = 0;
	}
	ml->off[j] = ml->keys.n;
	if (ut_buf_put(&ml->keys, key, kn))
		return bad(h, "out of memory%s", "");
	ml->off[j + 1] = ml->keys.n;
	if (ut_buf_put(&ml->keys, key2, kn2))
		return bad(h, "out of memory%s", "");
	ml->off[j + 2] = ml->keys.n;
	if (ut_buf_put(&ml->keys, key, kn) || ut_buf_put(&ml->keys, key2, kn2))
		return bad(h, "out of memory%s", "");
	ml->off[j + 3] = ml->keys.n;
	if (++ml->nb == MBATCH)
		return merges_flush(h, ml);
	return 0;
}

static int
parse_bpe(const hf *h, const cJSON *m)
{
	te_tok *t = h->t;
	tk_bpe *b = &t->bpe;
	const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab");
	const cJSON *merges = cJSON_GetObjectItemCaseSensitive(m, "merges");
	const char *unk = jstr(m, "unk_token"), *cp = jstr(m, "continuing_subword_prefix"),
	           *ew = jstr(m, "end_of_word_suffix");
	char key[4096];
	size_t kn;
	mlist ml;
	long i;

	memset(&ml, 0, sizeof ml);
	if ((cp && *cp) || (ew && *ew))
		return te_diag_set(h->d, h->path, line_of(h, "continuing_subword_prefix"),
		                   "BPE with a continuing_subword_prefix or end_of_word_suffix is not supported");
	t->mtype = TK_M_BPE;
	t->algo = "BPE";
	b->byte_level = t->byte_level;
	b->byte_fallback = t->byte_fallback = jbool(m, "byte_fallback", 0);
	b->fuse_unk = jbool(m, "fuse_unk", 0);
	b->ignore_merges = jbool(m, "ignore_merges", 0);
	if (each_vocab(h, vocab, bpe_vocab_one, NULL))
		return -1;
	if (unk) {
		b->unk = ut_strmap_get(&b->vocab, unk, strlen(unk));
		if (b->unk < 0 && !model_key(t, unk, strlen(unk), key, sizeof key, &kn))
			b->unk = ut_strmap_get(&b->vocab, key, kn);
		t->unk = b->unk;
	}
	for (i = 0; i < 256; i++) {
		char c = (char)i;

		if (t->byte_level) {
			b->byte_id[i] = ut_strmap_get(&b->vocab, &c, 1);
		} else if (b->byte_fallback) {
			char bp[8];

			snprintf(bp, sizeof bp, "<0x%02X>", (unsigned)i);
			b->byte_id[i] = ut_strmap_get(&b->vocab, bp, 6);
		}
	}
	if (each_merge(h, merges, bpe_merge_one, &ml) || (ml.nb && merges_flush(h, &ml))) {
		free(ml.v);
		ut_buf_release(&ml.keys);
		return -1;
	}
	ut_buf_release(&ml.keys);
	if (ml.n && tk_pairmap_reserve(&b->merges, ml.n / 3)) {
		free(ml.v);
		return bad(h, "out of memory%s", "");
	}
	for (i = 0; (size_t)i < ml.n / 3; i++) {
		const int32_t *x = ml.v + 3 * (size_t)i;

		if (x[0] >= 0 && tk_pairmap_put(&b->merges, x[0], x[1], (uint32_t)i, x[2])) {
			free(ml.v);
			return bad(h, "out of memory%s", "");
		}
	}
	free(ml.v);
	return 0;
}

static int
wp_vocab_one(const hf *h, const char *k, size_t kn, int32_t id, void *ctx)
{
	if (tk_tok_set_vocab(h->t, id, k, kn) || ut_strmap_put(&h->t->wp.vocab, k, kn, id))
		return bad(h, "out of memory%s", "");
	return 0;
}

static int
parse_wordpiece(const hf *h, const cJSON *m, int wordlevel)
{
	te_tok *t = h->t;
	const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab");
	const char *unk = jstr(m, "unk_token"), *pre = jstr(m, "continuing_subword_prefix");
	long long mc;

	t->mtype = wordlevel ? TK_M_WORDLEVEL : TK_M_WORDPIECE;
	t->algo = wordlevel ? "WordLevel" : "WordPiece";
	if (each_vocab(h, vocab, wp_vocab_one, NULL))
		return -1;
	if (!pre)
		pre = "##";
	if (strlen(pre) >= sizeof t->wp.prefix)
		return bad(h, "continuing_subword_prefix '%s' is too long", pre);
	strcpy(t->wp.prefix, pre);
	t->wp.prefix_n = strlen(pre);
	if (jint(h, m, "max_input_chars_per_word", 100, 0, (long long)1 << 53, &mc))
		return -1;
	t->wp.max_chars = (size_t)mc;
	if (unk)
		t->wp.unk = t->unk = ut_strmap_get(&t->wp.vocab, unk, strlen(unk));
	return 0;
}

int
tk_hf_unigram(te_tok *t, size_t n, const double *scores, const char *path, te_diag *d)
{
	t->mtype = TK_M_UNIGRAM;
	t->algo = "Unigram";
	t->unigram = tk_unigram_new(n, (const char *const *)t->piece, NULL, scores, NULL, t->unk,
	                            t->byte_fallback, TK_UNIGRAM_HF, d);
	if (!t->unigram) {
		if (d && !d->file[0])
			snprintf(d->file, sizeof d->file, "%s", path);
		return -1;
	}
	return 0;
}

/* A JSON number read as serde_json reads it by default (Hugging Face
 * tokenizers loads tokenizer.json with it): the digits go into a u64 until
 * it would overflow, the rest are dropped, and the value is that integer,
 * rounded to a double, multiplied or divided by one power of ten.  Two
 * roundings: a 17-digit score can land one ulp away from strtod's, and
 * Unigram's ties follow that ulp.  Returns the end of the number, or NULL
 * where p is not one. */
static const char *
serde_f64(const char *p, double *out)
{
	const uint64_t cut = UINT64_MAX / 10;
	uint64_t sig = 0;
	int32_t exp = 0, e = 0;
	int neg = *p == '-', full = 0, any = 0, eneg = 0;
	double f;

	p += neg;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned dg = (unsigned)(*p - '0');

		if (full || sig > cut || (sig == cut && dg > UINT64_MAX % 10)) {
			full = 1;
			exp++;
		} else
			sig = sig * 10 + dg;
	}
	if (*p == '.') {	/* serde tries again after the point */
		for (full = 0, p++; *p >= '0' && *p <= '9'; p++, any = 1) {
			unsigned dg = (unsigned)(*p - '0');

			if (full || sig > cut || (sig == cut && dg > UINT64_MAX % 10))
				full = 1;
			else {
				sig = sig * 10 + dg;
				exp--;
			}
		}
		if (!any)
			return NULL;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		if (*p < '0' || *p > '9')
			return NULL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (e > (INT32_MAX - (*p - '0')) / 10) {	/* serde: 0 or an error */
				if (sig && !eneg)
					return NULL;
				while (*p >= '0' && *p <= '9')
					p++;
				*out = neg ? -0.0 : 0.0;
				return p;
			}
			e = e * 10 + (*p - '0');
		}
		exp = eneg ? (exp < INT32_MIN + e ? INT32_MIN : exp - e)
		           : (exp > INT32_MAX - e ? INT32_MAX : exp + e);
	}
	f = (double)sig;
	for (;;) {
		if (exp >= -308 && exp <= 308) {
			char b[8];
			int a = exp < 0 ? -exp : exp;
			double pw = 1;

			if (a <= 22)	/* exact: what serde's table holds */
				for (int i = 0; i < a; i++)
					pw *= 10;
			else {
				snprintf(b, sizeof b, "1e%d", a);
				pw = strtod(b, NULL);
			}
			f = exp >= 0 ? f * pw : f / pw;
			break;
		}
		if (f == 0)
			break;
		if (exp > 0)
			return NULL;
		f /= 1e308;
		exp += 308;
	}
	if (isinf(f))
		return NULL;
	*out = neg ? -f : f;
	return p;
}

/* The scores of model.vocab (an array of [piece, score]) read again from
 * the text with serde_f64; 0 when the text is not laid out as expected,
 * and the caller keeps cJSON's. */
static int
serde_scores(const char *p, double *scores, size_t n)
{
	size_t i = 0;

	if (!p || *p++ != '[')
		return 0;
	for (p = ws(p); *p == '['; i++) {
		if (i >= n || !(p = jskip(ws(p + 1))) || *(p = ws(p)) != ',' ||
		    !(p = serde_f64(ws(p + 1), &scores[i])) || *(p = ws(p)) != ']')
			return 0;
		p = ws(p + 1);
		if (*p == ',')
			p = ws(p + 1);
	}
	return *p == ']' && i == n;
}

static int
parse_unigram(const hf *h, const cJSON *m)
{
	te_tok *t = h->t;
	const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab"), *e;
	size_t n = (size_t)cJSON_GetArraySize(vocab), i = 0;
	double *scores = calloc(n ? n : 1, sizeof *scores);
	long long unk;

	t->mtype = TK_M_UNIGRAM;
	t->algo = "Unigram";
	if (!scores)
		return bad(h, "out of memory%s", "");
	cJSON_ArrayForEach(e, vocab) {
		const cJSON *p = cJSON_GetArrayItem(e, 0), *sc = cJSON_GetArrayItem(e, 1);

		if (!cJSON_IsString(p) || !cJSON_IsNumber(sc)) {
			free(scores);
			return bad(h, "bad Unigram vocabulary entry%s", "");
		}
		scores[i] = sc->valuedouble;
		if (tk_tok_set_vocab(t, (int32_t)i, p->valuestring, strlen(p->valuestring))) {
			free(scores);
			return bad(h, "out of memory%s", "");
		}
		i++;
	}
	if (!serde_scores(h->uvocab, scores, n)) {	/* back to cJSON's */
		i = 0;
		cJSON_ArrayForEach(e, vocab)
			scores[i++] = cJSON_GetArrayItem(e, 1)->valuedouble;
	}
	t->uni_score = scores;	/* kept for the cache; freed with t */
	t->uni_n = n;
	if (jint(h, m, "unk_id", -1, -1, TK_MAX_ID, &unk))
		return -1;
	t->unk = (int32_t)unk;
	t->byte_fallback = jbool(m, "byte_fallback", 0);
	if (n && !t->piece)
		return bad(h, "out of memory%s", "");
	return tk_hf_unigram(t, n, scores, h->path, h->d);
}

/* "truncation" and "padding" (te_tok_limits): what Hugging Face tokenizers
 * reads of them for one sequence. */
static int
parse_limits(hf *h, const cJSON *root)
{
	te_tok *t = h->t;
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, "truncation"), *st;
	const char *dir;
	long long v;

	if (cJSON_IsObject(x)) {
		if (jint(h, x, "max_length", -1, 0, (long long)1 << 53, &v))
			return -1;
		t->max_length = (long)v;
		t->trunc_left = (dir = jstr(x, "direction")) && !strcmp(dir, "Left");
	}
	x = cJSON_GetObjectItemCaseSensitive(root, "padding");
	if (!cJSON_IsObject(x))
		return 0;
	t->pad = 1;
	st = cJSON_GetObjectItemCaseSensitive(x, "strategy");
	if (cJSON_IsObject(st)) {	/* {"Fixed": n} */
		if (jint(h, st, "Fixed", 0, 0, (long long)1 << 53, &v))
			return -1;
		t->pad_length = (long)v;
	}
	if (jint(h, x, "pad_to_multiple_of", 0, 0, (long long)1 << 53, &v))
		return -1;
	t->pad_multiple = (long)v;
	if (jint(h, x, "pad_id", 0, INT32_MIN, INT32_MAX, &v))
		return -1;
	t->pad_id = (int32_t)v;
	t->pad_left = (dir = jstr(x, "direction")) && !strcmp(dir, "Left");
	return 0;
}

/* The parts of a tokenizer.json around the model: the pre-tokenizer first
 * (it says whether the model is byte-level), then the normalizer, decoder,
 * post-processor, truncation and padding. */
static int
parse_pipeline(hf *h, const cJSON *root)
{
	te_tok *t = h->t;
	const cJSON *e;

	t->char_offsets = 1;
	e = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
	if (cJSON_IsObject(e) && !(t->pre = parse_pre(h, e)))
		return -1;
	e = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
	if (cJSON_IsObject(e) && !(t->norm = parse_norm(h, e)))
		return -1;
	e = cJSON_GetObjectItemCaseSensitive(root, "decoder");
	if (cJSON_IsObject(e) && !(t->dec = parse_dec(h, e)))
		return -1;
	e = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
	if (cJSON_IsObject(e) && parse_post(h, e))
		return -1;
	if (!t->ntpl && (t->ntpl = 1) && !(t->tpl = calloc(1, sizeof *t->tpl)))
		return bad(h, "out of memory%s", "");
	return parse_limits(h, root);
}

int
tk_hf_pipeline(te_tok *t, const char *skel, const char *path, te_diag *d)
{
	cJSON *root = cJSON_Parse(skel);
	hf h;
	int rc;

	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return te_diag_set(d, path, 0, "bad pipeline in the cache");
	}
	h.t = t;
	h.path = path;
	h.text = skel;
	h.d = d;
	h.vocab = h.merges = h.uvocab = NULL;
	h.vocab_n = 0;
	rc = parse_pipeline(&h, root);
	cJSON_Delete(root);
	return rc;
}

int
tk_load_hf_json(te_tok *t, const char *path, char **skel, te_diag *d)
{
	size_t size;
	char *text = ut_read_file(path, (size_t)1 << 31, &size, d);
	cJSON *root = NULL, *x, *e;
	char *sk = NULL;
	hf h;
	int rc = -1;
	const char *mt;

	if (!text)
		return -1;
	h.t = t;
	h.path = path;
	h.text = text;
	h.d = d;
	h.vocab = h.merges = h.uvocab = NULL;
	h.vocab_n = 0;
	if (!(sk = find_big(&h, text, size))) {
		te_diag_set(d, path, 0, "out of memory");
		goto out;
	}
	h.text = sk;
	root = cJSON_Parse(sk);
	if (!root || !cJSON_IsObject(root)) {
		const char *ep = cJSON_GetErrorPtr();
		long line = 1;

		if (ep && ep >= sk && ep <= sk + strlen(sk))
			for (const char *q = sk; q < ep; q++)
				line += *q == '\n';
		else
			line = 0;
		te_diag_set(d, path, line, "not valid JSON");
		goto out;
	}
	x = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (!cJSON_IsObject(x)) {
		bad(&h, "no \"model\" object: not a tokenizer.json%s", "");
		goto out;
	}
	if (parse_pipeline(&h, root))
		goto out;
	mt = jstr(x, "type");
	if (!mt) {	/* older files leave it out: guess from the fields */
		if (cJSON_GetObjectItemCaseSensitive(x, "merges"))
			mt = "BPE";
		else if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(x, "vocab")))
			mt = "Unigram";
		else if (cJSON_GetObjectItemCaseSensitive(x, "continuing_subword_prefix"))
			mt = "WordPiece";
		else
			mt = "WordLevel";
	}
	if (!strcmp(mt, "BPE")) {
		if (parse_bpe(&h, x))
			goto out;
	} else if (!strcmp(mt, "WordPiece") || !strcmp(mt, "WordLevel")) {
		if (parse_wordpiece(&h, x, !strcmp(mt, "WordLevel")))
			goto out;
	} else if (!strcmp(mt, "Unigram")) {
		if (parse_unigram(&h, x))
			goto out;
	} else {
		unknown(&h, "model", mt);
		goto out;
	}
	x = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
	cJSON_ArrayForEach(e, x) {
		tk_added a = {0};
		const char *c = jstr(e, "content");
		long long id;

		if (!c || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, "id"))) {
			bad(&h, "bad added token%s", "");
			goto out;
		}
		a.s = (char *)c;
		a.n = strlen(c);
		if (ut_int_of(cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble, 0, TK_MAX_ID,
		              &id)) {
			bad(&h, "bad added token '%s'", c);
			goto out;
		}
		a.id = (int32_t)id;
		a.special = jbool(e, "special", 0);
		a.lstrip = jbool(e, "lstrip", 0);
		a.rstrip = jbool(e, "rstrip", 0);
		a.single_word = jbool(e, "single_word", 0);
		a.normalized = jbool(e, "normalized", !a.special);
		if (tk_tok_add_added(t, &a)) {
			bad(&h, "bad added token '%s'", c);
			goto out;
		}
	}
	if (skel) {	/* the pipeline alone: the cache holds the rest */
		cJSON_DeleteItemFromObjectCaseSensitive(root, "added_tokens");
		cJSON_DeleteItemFromObjectCaseSensitive(root, "model");
		if (!(*skel = cJSON_PrintUnformatted(root))) {
			bad(&h, "out of memory%s", "");
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(sk);
	free(text);
	return rc;
}
