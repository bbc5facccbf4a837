/* spm_util.c: small pieces shared by the SentencePiece modules: growable
 * spans and buffers, a hashed byte trie, UTF-8 character lengths, base64. */
#include <stdlib.h>
#include <string.h>

#include "spm_int.h"

int
te_spm_spans_push(te_spm_spans *a, size_t start, size_t end)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		te_spm_span *v = realloc(a->v, nc * sizeof *v);

		if (!v)
			return -1;
		a->v = v;
		a->cap = nc;
	}
	a->v[a->n].start = start;
	a->v[a->n].end = end;
	a->n++;
	return 0;
}

void
te_spm_spans_release(te_spm_spans *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

int
te_spm_buf_add(te_spm_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 64;
		char *v;

		while (nc < b->n + n + 1)
			nc *= 2;
		v = realloc(b->v, nc);
		if (!v)
			return -1;
		b->v = v;
		b->cap = nc;
	}
	if (n)
		memcpy(b->v + b->n, s, n);
	b->n += n;
	b->v[b->n] = '\0';
	return 0;
}

void
te_spm_buf_release(te_spm_buf *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

/* ---------------------------------------------------------------- trie */

int
te_strie_init(te_strie *t)
{
	memset(t, 0, sizeof *t);
	t->cap = 1024;
	t->keys = calloc(t->cap, sizeof *t->keys);
	t->child = malloc(t->cap * sizeof *t->child);
	t->value_cap = 256;
	t->value = malloc(t->value_cap * sizeof *t->value);
	if (!t->keys || !t->child || !t->value) {
		te_strie_release(t);
		return -1;
	}
	t->n_nodes = 1;
	t->value[0] = -1;
	return 0;
}

void
te_strie_release(te_strie *t)
{
	free(t->keys);
	free(t->child);
	free(t->value);
	memset(t, 0, sizeof *t);
}

static int
strie_grow(te_strie *t)
{
	size_t nc = t->cap * 2, mask = nc - 1;
	uint64_t *k = calloc(nc, sizeof *k);
	uint32_t *c = malloc(nc * sizeof *c);

	if (!k || !c) {
		free(k);
		free(c);
		return -1;
	}
	for (size_t i = 0; i < t->cap; i++) {
		size_t h;

		if (!t->keys[i])
			continue;
		h = (size_t)((t->keys[i] * 0x9E3779B97F4A7C15ull) >> 20) & mask;
		while (k[h])
			h = (h + 1) & mask;
		k[h] = t->keys[i];
		c[h] = t->child[i];
	}
	free(t->keys);
	free(t->child);
	t->keys = k;
	t->child = c;
	t->cap = nc;
	return 0;
}

int
te_strie_insert(te_strie *t, const char *s, size_t len, int32_t v,
                int overwrite)
{
	uint32_t node = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		uint32_t nx = te_strie_next(t, node, ch);

		if (!nx) {
			uint64_t key = (((uint64_t)node << 8) | ch) + 1;
			size_t h;

			if ((t->used + 1) * 2 > t->cap && strie_grow(t) < 0)
				return -1;
			if (t->n_nodes == t->value_cap) {
				int32_t *nv = realloc(t->value, 2 * t->value_cap * sizeof *nv);

				if (!nv)
					return -1;
				t->value = nv;
				t->value_cap *= 2;
			}
			if (t->n_nodes >= UINT32_MAX)
				return -1;
			nx = (uint32_t)t->n_nodes++;
			t->value[nx] = -1;
			h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (t->cap - 1);
			while (t->keys[h])
				h = (h + 1) & (t->cap - 1);
			t->keys[h] = key;
			t->child[h] = nx;
			t->used++;
		}
		node = nx;
	}
	if (t->value[node] < 0 || overwrite)
		t->value[node] = v;
	return 0;
}

int32_t
te_strie_get(const te_strie *t, const char *s, size_t len)
{
	uint32_t node = 0;

	for (size_t i = 0; i < len; i++) {
		node = te_strie_next(t, node, (unsigned char)s[i]);
		if (!node)
			return -1;
	}
	return t->value[node];
}

/* ---------------------------------------------------------------- UTF-8 */

size_t
te_spm_one_char_len(const char *s, size_t n)
{
	static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1,
	                                      1, 1, 1, 1, 2, 2, 3, 4};
	size_t l = len[(unsigned char)s[0] >> 4];

	return l < n ? l : n;
}

size_t
te_spm_valid_char_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (p[0] == 0xE0 && p[1] < 0xA0)
			return 0;
		if (p[0] == 0xED && p[1] >= 0xA0)
			return 0;
		return 3;
	}
	if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return 0;
		if (p[0] == 0xF0 && p[1] < 0x90)
			return 0;
		if (p[0] == 0xF4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

unsigned char *
te_spm_base64(const char *s, size_t n, size_t *out_n)
{
	unsigned char *out = malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == '=' || c == '\n' || c == '\r')
			continue;
		else {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out_n = o;
	return out;
}
