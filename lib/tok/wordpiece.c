/* wordpiece.c: WordPiece (BERT), greedy longest match first, as Hugging
 * Face tokenizers does it: a word longer than max_input_chars_per_word
 * characters, or one with a part not in the vocabulary, becomes [UNK]. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

int
tk_wordpiece_encode(const tk_wordpiece *m, const char *s, size_t n, tk_out *o)
{
	size_t chars = 0, i, start, base = o->n;
	char stack[256], *buf = stack;
	int len;

	if (!n)
		return 0;
	/* no more characters than bytes: counted only when it may matter */
	for (i = 0; n > m->max_chars && i < n; i += (size_t)len) {
		ut_utf8_dec((const unsigned char *)s + i, n - i, &len);
		chars++;
	}
	if (chars > m->max_chars)
		goto unk;
	if (m->prefix_n + n > sizeof stack && !(buf = malloc(m->prefix_n + n)))
		return -1;
	memcpy(buf, m->prefix, m->prefix_n);
	for (start = 0; start < n;) {
		size_t end = n;
		int32_t id = -1;

		while (start < end) {
			if (start == 0) {
				id = ut_strmap_get(&m->vocab, s, end);
			} else {
				memcpy(buf + m->prefix_n, s + start, end - start);
				id = ut_strmap_get(&m->vocab, buf, m->prefix_n + end - start);
			}
			if (id >= 0)
				break;
			/* step back one character */
			do
				end--;
			while (end > start && ((unsigned char)s[end] & 0xc0) == 0x80);
		}
		if (id < 0) {
			o->n = base;
			if (buf != stack)
				free(buf);
			goto unk;
		}
		if (tk_out_push(o, id, start, end)) {
			if (buf != stack)
				free(buf);
			return -1;
		}
		start = end;
	}
	if (buf != stack)
		free(buf);
	return 0;
unk:
	return m->unk >= 0 ? tk_out_push(o, m->unk, 0, n) : 0;
}

void
tk_wordpiece_release(tk_wordpiece *m)
{
	ut_strmap_release(&m->vocab);
}
