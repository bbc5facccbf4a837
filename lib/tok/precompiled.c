/* precompiled.c: sentencepiece's precompiled character map (a darts-clone
 * double-array trie plus a pool of NUL-terminated replacements), with the
 * two ways of applying it: sentencepiece's longest match, and Hugging
 * Face's per-grapheme "Precompiled" normalizer. */
#include <stdlib.h>
#include <string.h>
#include "spm_int.h"
#include "tok_uni.h"

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

/* One step of search's walk from *pos by byte c: 0 when no key goes on
 * so, else 1, or 2 when a key ends there. */
static int
step(const tk_precompiled *pc, size_t *pos, unsigned char c)
{
	uint32_t u;

	*pos ^= c;
	if (*pos >= pc->n_units)
		return 0;
	u = pc->units[*pos];
	if (unit_label(u) != c)
		return 0;
	*pos ^= unit_offset(u);
	return unit_has_leaf(u) ? 2 : 1;
}

void
tk_precompiled_ascii(const tk_precompiled *pc, uint8_t plain[128])
{
	size_t root = unit_offset(pc->units[0]);

	for (unsigned c = 0; c < 128; c++) {
		size_t pos = root, next;
		int r = step(pc, &pos, (unsigned char)c);

		plain[c] = r == 0 ? 2 : r == 1;
		for (unsigned d = 0; d < 128 && plain[c] == 1; d++) {
			next = pos;
			if (step(pc, &next, (unsigned char)d))
				plain[c] = 0;
		}
	}
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

/* The output characters in order, each with the change Hugging Face's
 * Precompiled normalizer hands NormalizedString::transform for it: 1 for
 * a character it inserts, -k for one that also takes the place of k
 * removed input characters, 0 otherwise. */
struct tk_pc_change {
	size_t at, len;		/* its bytes in out */
	long change;
};
typedef struct {
	struct tk_pc_change *v;
	size_t n, cap;
} tk_pc_changes;

static int
put(ut_buf *out, tk_pc_changes *t, const char *s, size_t n, long *nchars)
{
	int len;

	for (size_t q = 0; q < n; q += (size_t)len) {
		ut_utf8_dec((const unsigned char *)s + q, n - q, &len);
		if (t) {
			if (ut_grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v) < 0)
				return -1;
			t->v[t->n++] = (struct tk_pc_change){out->n + q, (size_t)len, 0};
		}
		++*nchars;
	}
	return ut_buf_put(out, s, n);
}

/* tokenizers' replace(): rep takes the place of the k characters of a
 * chunk; the characters it has beyond k are inserted ones, the ones it
 * lacks are removed by the last change so far (even a previous chunk's;
 * at the very start, by none). */
static int
replace(ut_buf *out, tk_pc_changes *t, const char *rep, size_t rl, long k)
{
	long m = 0;

	if (put(out, t, rep, rl, &m) < 0)
		return -1;
	if (!t)
		return 0;
	if (m > k)
		for (long q = 1; q <= m - k; q++)
			t->v[t->n - (size_t)q].change = 1;
	else if (m < k && t->n)
		t->v[t->n - 1].change += m - k;
	return 0;
}

static size_t
char_len(const char *s, size_t n, size_t i)
{
	int len;

	ut_utf8_dec((const unsigned char *)s + i, n - i, &len);
	return (size_t)len;
}

/* NormalizedString::transform over s[0, n), a change at a time: each
 * output character gets the span [a, b) of s of the character it
 * replaces, or for an inserted one, of the character before it ([0, 0)
 * at the start).  off is the next input character, prev the one before. */
typedef struct {
	const char *s;
	size_t n, off, prev;
} pc_align;

static void
align_one(pc_align *al, long change, size_t *a, size_t *b)
{
	if (change > 0) {
		*a = al->off ? al->prev : 0;
		*b = al->off;
	} else if (al->off >= al->n) {	/* (tokenizers would panic) */
		*a = al->prev;
		*b = al->n;
	} else {
		*a = al->off;
		*b = al->off + char_len(al->s, al->n, al->off);
		for (long q = 0; q <= -change && al->off < al->n; q++) {
			al->prev = al->off;
			al->off += char_len(al->s, al->n, al->off);
		}
	}
}

/* Hand the output characters t holds but its last (whose change the next
 * cluster may still add to; all with last) to fn with their spans, and
 * drop them and their bytes from t and out. */
static int
flush_changes(pc_align *al, tk_pc_changes *t, ut_buf *out, int last, tk_pc_fn fn, void *ctx)
{
	size_t k, m = last || !t->n ? t->n : t->n - 1, cut;

	for (k = 0; k < m; k++) {
		const struct tk_pc_change *c = &t->v[k];
		size_t a, b;

		align_one(al, c->change, &a, &b);
		if (fn(ctx, out->s + c->at, c->len, a, b) < 0)
			return -1;
	}
	cut = m < t->n ? t->v[m].at : out->n;
	memmove(out->s, out->s + cut, out->n - cut);
	out->n -= cut;
	for (k = m; k < t->n; k++) {
		t->v[k - m] = t->v[k];
		t->v[k - m].at -= cut;
	}
	t->n -= m;
	return 0;
}

/* One cluster [i, j) of s: whole when under 6 bytes with a rule, else
 * character by character; an invalid byte as it is.  Inlined in both
 * loops: it is the normalizer's inner step. */
static inline __attribute__((always_inline)) int
cluster(const tk_precompiled *pc, const char *s, size_t i, size_t j,
        ut_buf *out, tk_pc_changes *t)
{
	const char *rep;
	size_t rl, cl;
	long k = 0;

	if (j - i == 1 && (unsigned char)s[i] >= 0x80)	/* an invalid byte */
		return put(out, t, s + i, 1, &k);
	if (j - i < 6 && (rep = first_rule(pc, s + i, j - i, &rl)) != NULL) {
		for (size_t q = i; q < j; q += char_len(s, j, q))
			k++;
		return replace(out, t, rep, rl, k);
	}
	for (; i < j; i += cl) {
		cl = char_len(s, j, i);
		if ((rep = first_rule(pc, s + i, cl, &rl)) != NULL) {
			if (replace(out, t, rep, rl, 1) < 0)
				return -1;
		} else if (put(out, t, s + i, cl, &k) < 0)
			return -1;
	}
	return 0;
}

/* The output characters kept before they are handed on: a few kilobytes. */
#define PC_FLUSH 4096

int
tk_precompiled_each(const tk_precompiled *pc, const char *s, size_t n, tk_pc_fn fn, void *ctx,
                    te_diag *d)
{
	tk_pc_changes ch = {0};
	ut_buf out = {0};
	pc_align al = { s, n, 0, 0 };
	size_t i, j;

	for (i = 0; i < n; i = j) {
		j = tk_grapheme_end(s, n, i);
		if (cluster(pc, s, i, j, &out, &ch) < 0)
			goto nomem;
		if (ch.n > PC_FLUSH && flush_changes(&al, &ch, &out, 0, fn, ctx) < 0)
			goto nomem;
	}
	if (flush_changes(&al, &ch, &out, 1, fn, ctx) < 0)
		goto nomem;
	free(ch.v);
	ut_buf_release(&out);
	return 0;
nomem:
	free(ch.v);
	ut_buf_release(&out);
	return te_diag_set(d, "", 0, "out of memory");
}

/* tk_precompiled_normalize's alignment, built from tk_precompiled_each. */
typedef struct {
	ut_buf *out;
	size_t **align, *align_cap;
} pc_into;

static int
put_aligned(void *ctx, const char *o, size_t n, size_t a, size_t b)
{
	pc_into *x = ctx;
	size_t at = x->out->n;

	if (ut_grow((void **)x->align, x->align_cap, 2 * (at + n) + 1, sizeof **x->align) < 0 ||
	    ut_buf_put(x->out, o, n) < 0)
		return -1;
	for (size_t k = at; k < at + n; k++) {
		(*x->align)[2 * k] = a;
		(*x->align)[2 * k + 1] = b;
	}
	return 0;
}

int
tk_precompiled_normalize(const tk_precompiled *pc, const char *s, size_t n,
                         ut_buf *out, size_t **align, size_t *align_cap,
                         te_diag *d)
{
	size_t i, j;

	if (align) {
		pc_into x = { out, align, align_cap };

		if (tk_precompiled_each(pc, s, n, put_aligned, &x, d) < 0)
			return -1;
		if (!out->s && ut_buf_put(out, "", 0) < 0)
			goto nomem;
		/* room for one entry more, as before (an empty out) */
		if (ut_grow((void **)align, align_cap, 2 * out->n + 1, sizeof **align) < 0)
			goto nomem;
		return 0;
	}
	for (i = 0; i < n; i = j) {
		j = tk_grapheme_end(s, n, i);
		if (cluster(pc, s, i, j, out, NULL) < 0)
			goto nomem;
	}
	if (!out->s && ut_buf_put(out, "", 0) < 0)
		goto nomem;
	return 0;
nomem:
	return te_diag_set(d, "", 0, "out of memory");
}
