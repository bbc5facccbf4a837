/* precompiled.c: sentencepiece's precompiled character map (a darts-clone
 * double-array trie plus a pool of NUL-terminated replacements), with the
 * two ways of applying it: sentencepiece's longest match, and Hugging
 * Face's per-grapheme "Precompiled" normalizer. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "spm_int.h"

struct tk_precompiled {
	uint32_t *units;
	size_t n_units;
	char *pool;       /* NUL-terminated copy of the replacement pool */
	size_t pool_len;
};

/* darts-clone unit layout */
static inline int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static inline uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFFu); }
static inline size_t unit_offset(uint32_t u)
{
	return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6);
}

tk_precompiled *
tk_precompiled_new(const void *blob, size_t n, te_diag *d)
{
	const unsigned char *b = blob;
	tk_precompiled *pc;
	uint32_t tsize;

	if (n <= 4) {
		te_diag_set(d, "", 0, "precompiled charsmap is broken (%zu bytes)", n);
		return NULL;
	}
	tsize = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	        (uint32_t)b[3] << 24;
	if ((size_t)tsize > n - 4 || tsize % 4 || tsize == 0) {
		te_diag_set(d, "", 0, "precompiled charsmap: trie size %u does not fit "
		            "its %zu bytes", tsize, n);
		return NULL;
	}
	pc = calloc(1, sizeof *pc);
	if (!pc)
		goto nomem;
	pc->n_units = tsize / 4;
	pc->units = malloc(tsize);
	pc->pool_len = n - 4 - tsize;
	pc->pool = malloc(pc->pool_len + 1);
	if (!pc->units || !pc->pool)
		goto nomem;
	for (size_t i = 0; i < pc->n_units; i++) {
		const unsigned char *p = b + 4 + 4 * i;

		pc->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		               (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	}
	memcpy(pc->pool, b + 4 + tsize, pc->pool_len);
	pc->pool[pc->pool_len] = '\0';
	return pc;
nomem:
	tk_precompiled_free(pc);
	te_diag_set(d, "", 0, "out of memory");
	return NULL;
}

tk_precompiled *
tk_precompiled_from_base64(const char *b64, size_t n, te_diag *d)
{
	size_t len;
	unsigned char *raw = tk_spm_base64(b64, n, &len);
	tk_precompiled *pc;

	if (!raw) {
		te_diag_set(d, "", 0, "precompiled_charsmap is not valid base64");
		return NULL;
	}
	pc = tk_precompiled_new(raw, len, d);
	free(raw);
	return pc;
}

void
tk_precompiled_free(tk_precompiled *pc)
{
	if (!pc)
		return;
	free(pc->units);
	free(pc->pool);
	free(pc);
}

/* Walk the trie over s[0, n); calls back for each key that is a prefix.
 * Returns the value of the first (shortest) match when first_only, else
 * of the longest; *mlen its length; -1 when none. */
static long
search(const tk_precompiled *pc, const char *s, size_t n, int first_only,
       size_t *mlen)
{
	size_t pos = 0;
	long best = -1;
	uint32_t u = pc->units[0];

	pos ^= unit_offset(u);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		pos ^= c;
		if (pos >= pc->n_units)
			break;
		u = pc->units[pos];
		if (unit_label(u) != c)
			break;
		pos ^= unit_offset(u);
		if (unit_has_leaf(u)) {
			if (pos >= pc->n_units)
				break;
			best = (long)unit_value(pc->units[pos]);
			*mlen = i + 1;
			if (first_only)
				break;
		}
	}
	if (best >= 0 && (size_t)best >= pc->pool_len)
		best = -1;	/* a value outside the pool: treat as no rule */
	return best;
}

size_t
tk_precompiled_prefix(const tk_precompiled *pc, const char *s, size_t n,
                      const char **rep, size_t *rep_len)
{
	size_t mlen = 0;
	long v = search(pc, s, n, 0, &mlen);

	if (v < 0)
		return 0;
	*rep = pc->pool + v;
	*rep_len = strlen(*rep);
	return mlen;
}

static const char *
first_rule(const tk_precompiled *pc, const char *s, size_t n, size_t *rep_len)
{
	size_t mlen = 0;
	long v = search(pc, s, n, 1, &mlen);

	if (v < 0)
		return NULL;
	*rep_len = strlen(pc->pool + v);
	return pc->pool + v;
}

static int
emit(ut_buf *out, size_t **align, size_t *align_cap, const char *s,
     size_t n, size_t at)
{
	if (ut_buf_put(out, s, n) < 0)
		return -1;
	if (align) {
		if (out->n > *align_cap) {
			size_t nc = *align_cap ? *align_cap : 64;
			size_t *na;

			while (nc < out->n)
				nc *= 2;
			na = realloc(*align, nc * sizeof *na);
			if (!na)
				return -1;
			*align = na;
			*align_cap = nc;
		}
		for (size_t i = out->n - n; i < out->n; i++)
			(*align)[i] = at;
	}
	return 0;
}

int
tk_precompiled_normalize(const tk_precompiled *pc, const char *s, size_t n,
                         ut_buf *out, size_t **align, size_t *align_cap,
                         te_diag *d)
{
	size_t i = 0;
	utf8proc_int32_t state = 0;

	while (i < n) {
		/* One extended grapheme cluster [i, j), or one invalid byte. */
		utf8proc_int32_t c, prev;
		utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		                                      (utf8proc_ssize_t)(n - i), &c);
		size_t j, rl;
		const char *rep;

		if (l <= 0) {
			if (emit(out, align, align_cap, s + i, 1, i) < 0)
				goto nomem;
			i++;
			state = 0;
			continue;
		}
		j = i + (size_t)l;
		prev = c;
		state = 0;
		utf8proc_grapheme_break_stateful(0, c, &state);
		while (j < n) {
			l = utf8proc_iterate((const utf8proc_uint8_t *)s + j,
			                     (utf8proc_ssize_t)(n - j), &c);
			if (l <= 0 || utf8proc_grapheme_break_stateful(prev, c, &state))
				break;
			prev = c;
			j += (size_t)l;
		}
		if (j - i < 6 && (rep = first_rule(pc, s + i, j - i, &rl)) != NULL) {
			if (emit(out, align, align_cap, rep, rl, i) < 0)
				goto nomem;
			i = j;
			continue;
		}
		while (i < j) {
			size_t cl = tk_spm_valid_char_len(s + i, j - i);

			if (!cl)
				cl = 1;
			if ((rep = first_rule(pc, s + i, cl, &rl)) != NULL) {
				if (emit(out, align, align_cap, rep, rl, i) < 0)
					goto nomem;
			} else if (emit(out, align, align_cap, s + i, cl, i) < 0)
				goto nomem;
			i += cl;
		}
	}
	if (!out->s && ut_buf_put(out, "", 0) < 0)
		goto nomem;
	return 0;
nomem:
	return te_diag_set(d, "", 0, "out of memory");
}
