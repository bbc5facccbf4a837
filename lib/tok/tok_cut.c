/* tok_cut.c: where one large document may be cut for encoding its parts
 * apart (te_tok_cuts, see tokemb.h; tk_cuts_ok, tk_cut_next, see
 * tok_int.h): tok-encode --threads on one document. */
#include <string.h>

#include "tok_int.h"

/* Nothing of the model looks across a cut: the pre-tokenizer is a
 * hand-scanned pattern with the newline alternative \s*[\r\n]+ (with
 * GPT-2's, "\s+(?!\S)" at the end of a part takes the newline that the
 * whole gives to the next piece), the normalizer composes nothing across
 * a newline, no added token can match across one, and no special token
 * is added at either end. */
int
tk_cuts_ok(const te_tok *t, unsigned flags)
{
	size_t k;
	int sc;

	if (t->spm || t->trie_norm.n)
		return 0;
	sc = tk_fast_ok(t);
	if (sc != TK_SCAN_CL100K && sc != TK_SCAN_QWEN && sc != TK_SCAN_O200K)
		return 0;
	if (t->norm && t->norm->type != TK_N_NFC)
		return 0;
	for (k = 0; k < t->nadded; k++)
		if (t->added[k].lstrip || t->added[k].rstrip ||
		    memchr(t->added[k].s, '\n', t->added[k].n) || memchr(t->added[k].s, '\r', t->added[k].n))
			return 0;
	if (flags & TE_TOK_ADD_SPECIAL)
		for (k = 0; k < t->ntpl; k++)
			if (t->tpl[k].ids && t->tpl[k].n)
				return 0;
	return 1;
}

static int
ascii_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A piece that contains the newline ends at it (\s*[\r\n]+ and the
 * punctuation alternative end with the newlines, a letter run cannot hold
 * one), so the letter after it starts a piece, with any text before. */
size_t
tk_cut_next(const char *text, size_t len, size_t from, size_t to)
{
	const char *p;

	if (to > len)
		to = len;
	while (from < to && (p = memchr(text + from, '\n', to - from))) {
		from = (size_t)(p - text) + 1;
		if (from < len && ascii_letter(text[from]))
			return from;
	}
	return 0;
}

size_t
te_tok_cuts(const te_tok *t, const char *text, size_t len, unsigned flags, size_t *cuts,
            size_t max)
{
	size_t n = 0, j, at, lo = 0;

	if (!max || !tk_cuts_ok(t, flags))
		return 0;
	for (j = 1; j <= max; j++) {
		at = len / (max + 1) * j;
		if (at < lo)
			at = lo;
		if (!(at = tk_cut_next(text, len, at, len)))
			return n;
		cuts[n++] = at;
		lo = at + 1;
	}
	return n;
}
