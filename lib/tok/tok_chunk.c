/* tok_chunk.c: cut an encoding into chunks of at most N tokens that
 * rejoin exactly to the text (tok-encode --chunk). */
#include <stdlib.h>

#include "tok_int.h"

/* May a chunk end before token b (0 < b < n)?  Only where the ids on
 * either side decode to whole characters: token b starts where b - 1 ends
 * or later (tokens of one normalized character share a span), b - 1 covers
 * some text (byte-fallback pieces of one character have empty spans but
 * the last), and b starts on a character's first byte (byte-level tokens
 * may split a character's bytes). */
static int
clean_cut(const te_tok_enc *e, const char *text, size_t len, size_t b)
{
	size_t s = e->start[b];

	if (s < e->end[b - 1] || e->end[b - 1] <= e->start[b - 1])
		return 0;
	return s >= len || ((unsigned char)text[s] & 0xC0) != 0x80;
}

/* The end of the chunk that starts at token a: at most max tokens, cut at
 * the last clean place; past max only when no clean place is within it. */
static size_t
chunk_end(const te_tok_enc *e, const char *text, size_t len, size_t a, size_t max)
{
	size_t b;

	if (e->n - a <= max)
		return e->n;
	for (b = a + max; b > a && !clean_cut(e, text, len, b); b--)
		;
	if (b > a)
		return b;
	for (b = a + max + 1; b < e->n && !clean_cut(e, text, len, b); b++)
		;
	return b;
}

/* Where the chunk after [a, b) starts: up to overlap tokens before b, from
 * a clean place, at least one token after a. */
static size_t
next_start(const te_tok_enc *e, const char *text, size_t len, size_t a, size_t b,
           size_t overlap)
{
	size_t c;

	if (!overlap)
		return b;
	c = b > a + overlap ? b - overlap : a + 1;
	while (c < b && !clean_cut(e, text, len, c))
		c++;
	return c;
}

int
tk_chunk_next(const te_tok_enc *e, const char *text, size_t len, size_t a, size_t max_tokens,
              size_t overlap, size_t *b, size_t *next)
{
	if (e->n - a <= max_tokens || (*b = chunk_end(e, text, len, a, max_tokens)) >= e->n)
		return 0;
	*next = next_start(e, text, len, a, *b, overlap);
	return 1;
}

int
te_tok_chunks(const te_tok_enc *e, const char *text, size_t len, size_t max_tokens,
              size_t overlap, te_tok_chunk **out, size_t *nout)
{
	te_tok_chunk *v = NULL;
	size_t n = 0, cap = 0, a = 0;

	*out = NULL;
	*nout = 0;
	if (max_tokens == 0 || overlap >= max_tokens)
		return -1;
	if (e->n == 0 && len == 0)
		return 0;
	do {
		size_t b = chunk_end(e, text, len, a, max_tokens);

		if (n == cap) {
			te_tok_chunk *p;

			cap = cap ? 2 * cap : 8;
			if (!(p = realloc(v, cap * sizeof *p))) {
				free(v);
				return -1;
			}
			v = p;
		}
		v[n].tok_start = a;
		v[n].tok_end = b;
		v[n].start = a == 0 ? 0 : e->start[a];
		v[n].end = b >= e->n ? len : e->start[b];
		n++;
		if (b >= e->n)
			break;
		/* the next chunk repeats up to overlap tokens, from a clean place */
		a = next_start(e, text, len, a, b, overlap);
	} while (a < e->n);
	*out = v;
	*nout = n;
	return 0;
}
