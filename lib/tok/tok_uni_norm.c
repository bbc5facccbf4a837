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
