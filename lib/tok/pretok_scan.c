/* pretok_scan.c: hand-written scanners for the well-known split patterns
 * (GPT-2, cl100k and Llama-3, Qwen2, o200k): each returns where the match
 * starting at a position ends, as Oniguruma's leftmost, ordered-alternation
 * matching does (these patterns match at every position, so the matches
 * tile the text).  Classes are those of the references' regex engines
 * (tk_uclass_re).  t/unit/test-tok-scan.c holds them to Oniguruma. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "tok_int.h"
#include "tok_uni.h"

static const char pat_gpt2[] =
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char pat_cl100k[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char pat_qwen[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char pat_o200k[] =
	"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

int
tk_scanner_for(const char *pat)
{
	if (!strcmp(pat, pat_gpt2))
		return TK_SCAN_GPT2;
	if (!strcmp(pat, pat_cl100k))
		return TK_SCAN_CL100K;
	if (!strcmp(pat, pat_qwen))
		return TK_SCAN_QWEN;
	if (!strcmp(pat, pat_o200k))
		return TK_SCAN_O200K;
	return TK_SCAN_NONE;
}

/* The class of the character at s[i] and its length.  ASCII by table. */
enum { C_L = TK_U_L, C_N = TK_U_N, C_M = TK_U_M, C_WS = TK_U_WS };

static uint8_t ascii_cls[128];
static int ascii_ready;
static void a256_init(void);

static void
ascii_init(void)
{
	int c;

	for (c = 0; c < 128; c++)	/* tk_uclass's, without filling its table */
		ascii_cls[c] = tk_uclass_slow(c);
	a256_init();
	__atomic_store_n(&ascii_ready, 1, __ATOMIC_RELEASE);
}

static inline uint8_t
cls_at(const char *s, size_t n, size_t i, int *len, int32_t *cpo)
{
	unsigned char c = (unsigned char)s[i];
	int32_t cp;

	if (c < 0x80) {
		*len = 1;
		*cpo = c;
		return ascii_cls[c];
	}
	cp = ut_utf8_dec((const unsigned char *)s + i, n - i, len);
	*cpo = cp;
	return cp < 0 ? 0 : tk_uclass_re(cp);
}

#define IS_L(k) ((k) & TK_U_L)
#define IS_N(k) ((k) & TK_U_N)
#define IS_WS(k) ((k) & TK_U_WS)
/* o200k's two letter classes */
#define IS_UP(k) ((k) & (TK_U_LUT | TK_U_LMO | TK_U_M))
#define IS_LO(k) ((k) & (TK_U_LL | TK_U_LMO | TK_U_M))

static inline int
fold_is(int32_t cp, char lower)
{
	if (cp == lower || cp == lower - 32)
		return 1;
	return lower == 's' && cp == 0x17f;	/* ſ folds to s */
}

/* A contraction at i: 's 't 're 've 'm 'll 'd, case-insensitive when ci.
 * Returns its length or 0. */
static size_t
contraction(const char *s, size_t n, size_t i, int ci)
{
	int32_t a, b;
	int la, lb;

	if (i + 1 >= n || s[i] != '\'')
		return 0;
	a = ut_utf8_dec((const unsigned char *)s + i + 1, n - i - 1, &la);
	if (!ci) {
		if (a == 's' || a == 't' || a == 'm' || a == 'd')
			return 2;
		if (i + 2 < n && ((a == 'r' && s[i + 2] == 'e') || (a == 'v' && s[i + 2] == 'e') ||
		                  (a == 'l' && s[i + 2] == 'l')))
			return 3;
		return 0;
	}
	if (fold_is(a, 's') || fold_is(a, 't') || fold_is(a, 'm') || fold_is(a, 'd'))
		return 1 + (size_t)la;
	if (i + 1 + (size_t)la >= n)
		return 0;
	b = ut_utf8_dec((const unsigned char *)s + i + 1 + la, n - i - 1 - (size_t)la, &lb);
	if ((fold_is(a, 'r') && fold_is(b, 'e')) || (fold_is(a, 'v') && fold_is(b, 'e')) ||
	    (fold_is(a, 'l') && fold_is(b, 'l')))
		return 1 + (size_t)la + (size_t)lb;
	return 0;
}

/* How many times the character of len bytes (2 to 4) before s[i] is
 * repeated from i, max at most: a repeat has its class, found without
 * decoding it again (a long run of one letter or symbol). */
static inline size_t
repeats(const char *s, size_t n, size_t i, int len, size_t max)
{
	uint32_t c, w;
	size_t k = 0;

	if (len < 2 || len > 4 || i + 4 > n)
		return 0;
	memcpy(&c, s + i - (size_t)len, 4);
	c &= 0xffffffffu >> (32 - 8 * len);
	for (; k < max && i + 4 <= n; k++, i += (size_t)len) {
		memcpy(&w, s + i, 4);
		if ((w & (0xffffffffu >> (32 - 8 * len))) != c)
			break;
	}
	return k;
}

/* End of the run of characters of class mask from i. */
static size_t
run_of(const char *s, size_t n, size_t i, uint8_t mask, size_t max)
{
	int len;
	int32_t cp;
	size_t k = 0, r;

	/* ASCII by the table, a byte at a time */
	while (i < n && k < max && (unsigned char)s[i] < 0x80) {
		if (!(ascii_cls[(unsigned char)s[i]] & mask))
			return i;
		i++;
		k++;
	}
	while (i < n && k < max && (cls_at(s, n, i, &len, &cp) & mask)) {
		i += (size_t)len;
		k++;
		r = repeats(s, n, i, len, max - k);
		i += r * (size_t)len;
		k += r;
	}
	return i;
}

/* Whitespace alternatives shared by cl100k, Qwen and o200k:
 * \s*[\r\n]+ | \s+(?!\S) | \s+ ; i is at a whitespace character. */
static size_t
space_alts(const char *s, size_t n, size_t i, int newline_alt)
{
	size_t j = i, last_nl = 0, prev = i, cnt = 0;
	int len, have_nl = 0;
	int32_t cp;

	while (j < n && IS_WS(cls_at(s, n, j, &len, &cp))) {
		if (cp == '\r' || cp == '\n')
			last_nl = j + 1, have_nl = 1;
		prev = j;
		j += (size_t)len;
		cnt++;
	}
	if (newline_alt && have_nl)
		return last_nl;
	if (j == n)
		return j;	/* \s+(?!\S) at the end */
	if (cnt >= 2)
		return prev;	/* leave the last space to the next word */
	return j;
}

static size_t
scan_gpt2(const char *s, size_t n, size_t i)
{
	int len, l2;
	int32_t cp, cp2;
	uint8_t k = cls_at(s, n, i, &len, &cp), k2;
	size_t c;

	if ((c = contraction(s, n, i, 0)))
		return i + c;
	if (cp == ' ' && i + 1 < n) {
		k2 = cls_at(s, n, i + 1, &l2, &cp2);
		if (IS_L(k2))
			return run_of(s, n, i + 1, TK_U_L, (size_t)-1);
		if (IS_N(k2))
			return run_of(s, n, i + 1, TK_U_N, (size_t)-1);
		if (!IS_WS(k2)) {
			size_t j = i + 1;

			while (j < n) {
				uint8_t kk = cls_at(s, n, j, &l2, &cp2);

				if (IS_L(kk) || IS_N(kk) || IS_WS(kk))
					break;
				j += (size_t)l2;
			}
			return j;
		}
	}
	if (IS_L(k))
		return run_of(s, n, i, TK_U_L, (size_t)-1);
	if (IS_N(k))
		return run_of(s, n, i, TK_U_N, (size_t)-1);
	if (!IS_WS(k)) {
		size_t j = i;

		while (j < n) {
			uint8_t kk = cls_at(s, n, j, &l2, &cp2);

			if (IS_L(kk) || IS_N(kk) || IS_WS(kk))
				break;
			j += (size_t)l2;
		}
		return j;
	}
	return space_alts(s, n, i, 0);
}

/* ` ?[^\s\p{L}\p{N}]+[\r\n]*` (with '/' too for o200k), or 0. */
static size_t
punct_alt(const char *s, size_t n, size_t i, int slash)
{
	size_t j = i, st;
	int len;
	int32_t cp;

	if (s[j] == ' ')
		j++;
	st = j;
	while (j < n) {
		uint8_t kk = cls_at(s, n, j, &len, &cp);

		if (IS_L(kk) || IS_N(kk) || IS_WS(kk))
			break;
		j += (size_t)len;
		j += repeats(s, n, j, len, (size_t)-1) * (size_t)len;
	}
	if (j == st)
		return 0;
	while (j < n && (s[j] == '\r' || s[j] == '\n' || (slash && s[j] == '/')))
		j++;
	return j;
}

static size_t
scan_cl100k(const char *s, size_t n, size_t i, size_t maxdig)
{
	int len, l2;
	int32_t cp, cp2;
	uint8_t k = cls_at(s, n, i, &len, &cp);
	size_t c;

	if ((c = contraction(s, n, i, 1)))
		return i + c;
	if (IS_L(k))
		return run_of(s, n, i, TK_U_L, (size_t)-1);
	if (!IS_N(k) && cp != '\r' && cp != '\n' && i + (size_t)len < n &&
	    IS_L(cls_at(s, n, i + (size_t)len, &l2, &cp2)))
		return run_of(s, n, i + (size_t)len, TK_U_L, (size_t)-1);
	if (IS_N(k))
		return run_of(s, n, i, TK_U_N, maxdig);
	if ((c = punct_alt(s, n, i, 0)))
		return c;
	return space_alts(s, n, i, 1);
}

/* o200k's first word alternative from p: [Up]*[Lo]+ contraction?, or 0. */
static size_t
o200k_alt1(const char *s, size_t n, size_t p)
{
	size_t u = p, lastlo = (size_t)-1, j;
	int len;
	int32_t cp;
	uint8_t kk;

	/* the greedy Up run, then Lo+, backing off into the run if needed */
	while (u < n && IS_UP(kk = cls_at(s, n, u, &len, &cp))) {
		if (IS_LO(kk))
			lastlo = u;
		u += (size_t)len;
	}
	if (u < n && (cls_at(s, n, u, &len, &cp) & TK_U_LL)) {
		j = run_of(s, n, u, TK_U_LL | TK_U_LMO | TK_U_M, (size_t)-1);
		return j + contraction(s, n, j, 1);
	}
	if (lastlo != (size_t)-1) {
		cls_at(s, n, lastlo, &len, &cp);
		j = lastlo + (size_t)len;
		return j + contraction(s, n, j, 1);
	}
	return 0;
}

/* The second: [Up]+[Lo]* contraction?, or 0. */
static size_t
o200k_alt2(const char *s, size_t n, size_t p)
{
	size_t u = run_of(s, n, p, TK_U_LUT | TK_U_LMO | TK_U_M, (size_t)-1), j;

	if (u == p)
		return 0;
	j = run_of(s, n, u, TK_U_LL | TK_U_LMO | TK_U_M, (size_t)-1);
	return j + contraction(s, n, j, 1);
}

static size_t
scan_o200k(const char *s, size_t n, size_t i)
{
	int len;
	int32_t cp;
	uint8_t k = cls_at(s, n, i, &len, &cp);
	size_t c;
	int pre = !IS_L(k) && !IS_N(k) && cp != '\r' && cp != '\n' && i + (size_t)len < n;

	/* each word alternative with the optional prefix, then without */
	if (pre && (c = o200k_alt1(s, n, i + (size_t)len)))
		return c;
	if ((c = o200k_alt1(s, n, i)))
		return c;
	if (pre && (c = o200k_alt2(s, n, i + (size_t)len)))
		return c;
	if ((c = o200k_alt2(s, n, i)))
		return c;
	if (IS_N(k))
		return run_of(s, n, i, TK_U_N, 3);
	if ((c = punct_alt(s, n, i, 1)))
		return c;
	return space_alts(s, n, i, 1);
}

/* ---- ASCII: most of code and English text.  These decide a match
 * from the ASCII table alone when it and the byte after it are ASCII, and
 * return 0 (the general scanner decides) when a byte of 0x80 or more is
 * met where its class matters.  Each follows the alternatives in the
 * order of the general scanner above.  a256 holds, for every byte, the
 * A_ classes below (A_HI for 0x80 and above: a class unknown here). */
enum { A_L = 1, A_N = 2, A_W = 4, A_NL = 8, A_HI = 16, A_AP = 32, A_UP = 64, A_LO = 128 };
static uint8_t a256[256];

static void
a256_init(void)
{
	int c;

	for (c = 0; c < 256; c++) {
		uint8_t k = c < 128 ? ascii_cls[c] : 0;

		a256[c] = (uint8_t)((k & TK_U_L ? A_L : 0) | (k & TK_U_N ? A_N : 0) |
		                    (k & TK_U_WS ? A_W : 0) | (c == '\r' || c == '\n' ? A_NL : 0) |
		                    (c >= 128 ? A_HI : 0) | (c == '\'' ? A_AP : 0) |
		                    (c < 128 && IS_UP(k) ? A_UP : 0) | (c < 128 && IS_LO(k) ? A_LO : 0));
	}
}

#define A_IS(u, j, n, m) ((j) < (n) && (a256[(u)[j]] & (m)))
#define A_HIGH(u, j, n) ((j) < (n) && (u)[j] >= 0x80)

/* The end of the run of bytes lo..lo+25 (ASCII letters when fold, a-z or
 * A-Z) from j, by 16 bytes at a time where the SSE2 is (the predicate is
 * the table's, A_L, A_LO or A_UP, for ASCII). */
static inline size_t
a_span(const unsigned char *u, size_t n, size_t j, int lo, int fold, uint8_t m)
{
#ifdef __SSE2__
	const __m128i vf = _mm_set1_epi8(fold ? 0x20 : 0), vl = _mm_set1_epi8((char)lo);
	const __m128i v25 = _mm_set1_epi8(25), z = _mm_setzero_si128();

	while (j + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(u + j));
		__m128i d = _mm_subs_epu8(_mm_sub_epi8(_mm_or_si128(v, vf), vl), v25);
		unsigned out = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(d, z)) ^ 0xffffu;

		if (out)
			return j + (size_t)__builtin_ctz(out);
		j += 16;
	}
#else
	(void)lo, (void)fold;
#endif
	while (A_IS(u, j, n, m))
		j++;
	return j;
}

/* The end of the ASCII letter run from j, or 0 if a high byte ends it. */
static inline size_t
a_letters(const unsigned char *u, size_t n, size_t j)
{
	j = a_span(u, n, j, 'a', 1, A_L);
	return A_HIGH(u, j, n) ? 0 : j;
}

/* punct_alt and space_alts over ASCII; i is at a byte that is neither a
 * letter nor a digit and no letter follows. */
static size_t
a_rest(const unsigned char *u, size_t n, size_t i, int slash)
{
	size_t j = i, st, last_nl = 0, prev = i, cnt = 0;

	if (u[j] == ' ')
		j++;
	st = j;
	while (j < n && !(a256[u[j]] & (A_L | A_N | A_W | A_HI)))
		j++;
	if (A_HIGH(u, j, n))
		return 0;
	if (j > st) {
		while (j < n && ((a256[u[j]] & A_NL) || (slash && u[j] == '/')))
			j++;
		return j;
	}
	for (j = i; A_IS(u, j, n, A_W); j++, cnt++) {
		if (a256[u[j]] & A_NL)
			last_nl = j + 1;
		prev = j;
	}
	if (A_HIGH(u, j, n))
		return 0;
	if (last_nl)
		return last_nl;
	if (j == n)
		return j;
	return cnt >= 2 ? prev : j;
}

static inline size_t
ascii_cl100k(const char *s, size_t n, size_t i, size_t maxdig)
{
	const unsigned char *u = (const unsigned char *)s;
	uint8_t k = a256[u[i]], k2;
	size_t j;

	if (k & A_L)
		return a_letters(u, n, i + 1);
	if (k & (A_AP | A_HI))
		return 0;	/* contractions: the general scanner */
	if (k & A_N) {
		for (j = i + 1; j - i < maxdig && A_IS(u, j, n, A_N); j++)
			;
		return j - i < maxdig && A_HIGH(u, j, n) ? 0 : j;
	}
	if (i + 1 >= n)
		return i + 1;
	k2 = a256[u[i + 1]];
	if (k2 & A_HI)
		return 0;
	if (!(k & A_NL) && (k2 & A_L))
		return a_letters(u, n, i + 2);
	return a_rest(u, n, i, 0);
}

/* o200k's word alternatives from p over ASCII, where Up is A-Z and Lo
 * a-z: [Up]*[Lo]+ then [Up]+[Lo]*, each with a contraction after it;
 * 1 (no match) when neither matches, 0 when a high byte is met. */
static inline size_t
ascii_o200k_word(const char *s, size_t n, size_t p)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t j = p, e;

	if (A_IS(u, j, n, A_UP))
		j = a_span(u, n, j + 1, 'A', 0, A_UP);
	if (A_HIGH(u, j, n))
		return 0;
	if (j == p && !A_IS(u, j, n, A_LO))
		return 1;
	e = A_IS(u, j, n, A_LO) ? a_span(u, n, j + 1, 'a', 0, A_LO) : j;
	if (A_HIGH(u, e, n))
		return 0;
	return e < n && u[e] == '\'' ? e + contraction(s, n, e, 1) : e;
}

static inline size_t
ascii_o200k(const char *s, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)s;
	uint8_t k = a256[u[i]];
	size_t j;

	if (k & A_L)
		return (j = ascii_o200k_word(s, n, i)) == 1 ? 0 : j;
	if (k & A_HI)
		return 0;
	if (k & A_N) {
		for (j = i + 1; j - i < 3 && A_IS(u, j, n, A_N); j++)
			;
		return j - i < 3 && A_HIGH(u, j, n) ? 0 : j;
	}
	if (i + 1 >= n)
		return i + 1;
	if (!(k & A_NL)) {
		if ((j = ascii_o200k_word(s, n, i + 1)) != 1)
			return j;
	} else if (u[i + 1] >= 0x80) {
		return 0;
	}
	return a_rest(u, n, i, 1);
}

/* ---- A window of 63 bytes classed at once: the ASCII classes of
 * cl100k, Qwen and o200k as bit masks (bit k: the byte at w + k), so that a piece
 * is decided by shifts and counts of bits, without a branch per byte.  A
 * run that reaches the end of the window, a byte of 0x80 or more where its
 * class matters, and a contraction are left to the scanners above (0). */
typedef struct a_win {
	size_t w, lim;                 /* its first byte; the bytes it has (<= 63) */
	uint64_t l, d, ws, nl, hi, p;  /* letters, digits, \s, \r\n, 0x80+, the rest */
	uint64_t stop;                 /* no piece starts there here: 0x80+ (and ' but in o200k) */
	uint64_t end;                  /* in the window, not 0x80+: a run may end there */
	uint64_t lo, ap, tail;         /* o200k's: a-z, ', what ends a run of the rest */
} a_win;

/* The masks of the 16 bytes at q, at bit sh; o2: o200k's too. */
#ifdef __SSE2__
static inline __attribute__((always_inline)) void
win_block(a_win *x, const unsigned char *q, unsigned sh, int o2)
{
	const __m128i z = _mm_setzero_si128(), v = _mm_loadu_si128((const __m128i *)q);
	__m128i l = _mm_subs_epu8(_mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)),
	                                       _mm_set1_epi8('a')), _mm_set1_epi8(25));
	__m128i d = _mm_subs_epu8(_mm_sub_epi8(v, _mm_set1_epi8('0')), _mm_set1_epi8(9));
	__m128i c = _mm_subs_epu8(_mm_sub_epi8(v, _mm_set1_epi8('\t')), _mm_set1_epi8(4));
	__m128i nl = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
	                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
	__m128i ws = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(c, z));
	__m128i ap = _mm_cmpeq_epi8(v, _mm_set1_epi8('\''));

	x->l |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(l, z)) << sh;
	x->d |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(d, z)) << sh;
	x->ws |= (uint64_t)(unsigned)_mm_movemask_epi8(ws) << sh;
	x->nl |= (uint64_t)(unsigned)_mm_movemask_epi8(nl) << sh;
	x->hi |= (uint64_t)(unsigned)_mm_movemask_epi8(v) << sh;
	if (!o2) {
		x->stop |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(ap, v)) << sh;
		return;
	}
	x->ap |= (uint64_t)(unsigned)_mm_movemask_epi8(ap) << sh;
	l = _mm_subs_epu8(_mm_sub_epi8(v, _mm_set1_epi8('a')), _mm_set1_epi8(25));
	x->lo |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(l, z)) << sh;
	nl = _mm_or_si128(nl, _mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
	x->tail |= (uint64_t)(unsigned)_mm_movemask_epi8(nl) << sh;
}
#endif

/* Class the bytes from w (at most 63, to n); o2: for o200k. */
static inline __attribute__((always_inline)) void
win_load(a_win *x, const unsigned char *u, size_t n, size_t w, int o2)
{
	unsigned char pad[64];
	const unsigned char *q = u + w;
	uint64_t v;

	x->w = w;
	/* the text ahead asked for: a window's bytes were found not in the
	 * caches (the hardware's prefetch did not keep up), its loads a fifth
	 * of the scan's time */
	__builtin_prefetch(u + w + 512);
	x->lim = n - w < 63 ? n - w : 63;
	x->l = x->d = x->ws = x->nl = x->hi = x->stop = 0;
	if (o2)
		x->lo = x->ap = x->tail = 0;
	if (n - w < 64) {
		memset(pad, 0, sizeof pad);
		memcpy(pad, q, n - w);
		q = pad;
	}
#ifdef __SSE2__
	win_block(x, q, 0, o2);
	win_block(x, q + 16, 16, o2);
	win_block(x, q + 32, 32, o2);
	win_block(x, q + 48, 48, o2);
#else
	for (size_t b = 0; b < 64; b++) {
		uint8_t k = a256[q[b]];
		uint64_t bit = (uint64_t)1 << b;

		x->l |= k & A_L ? bit : 0;
		x->d |= k & A_N ? bit : 0;
		x->ws |= k & A_W ? bit : 0;
		x->nl |= k & A_NL ? bit : 0;
		x->hi |= k & A_HI ? bit : 0;
		x->stop |= k & (o2 ? A_HI : A_AP | A_HI) ? bit : 0;
		x->lo |= o2 && (k & A_LO) ? bit : 0;
		x->ap |= o2 && (k & A_AP) ? bit : 0;
		x->tail |= o2 && ((k & A_NL) || q[b] == '/') ? bit : 0;
	}
#endif
	if (o2)
		x->stop = x->hi;
	v = ((uint64_t)1 << x->lim) - 1;	/* bit 63 and the padding: no class */
	x->l &= v, x->d &= v, x->ws &= v, x->nl &= v, x->hi &= v, x->stop &= v;
	if (o2)
		x->lo &= v, x->ap &= v, x->tail &= v;
	x->p = ~(x->l | x->d | x->ws | x->hi) & v;
	x->end = ~x->hi & v;
}

/* The length of the run of set bits from bit 0 of m, whose bit 63 is
 * clear (a window has 63 bytes at most). */
static inline unsigned
ones(uint64_t m)
{
	return (unsigned)__builtin_ctzll(~m);
}

/* ascii_cl100k by the window: the end of the piece at i (inside it), or 0.
 * Every alternative's end is found, then the one that matches chosen, with
 * no branch: the alternative follows the bytes, and a branch on it would
 * be mispredicted once or twice a piece.  Each end r is at most 63; a run
 * that reaches the end of the window (avail), or a high byte after it, is
 * not decided here. */
static inline __attribute__((always_inline)) size_t
win_cl100k(const a_win *x, const unsigned char *u, size_t i, unsigned maxdig)
{
	unsigned o = (unsigned)(i - x->w), avail = (unsigned)x->lim - o;
	uint64_t l = x->l >> o, d = x->d >> o, nl = x->nl >> o, end = x->end >> o;
	unsigned st, lone, rl, rpl, jp, rp, rw, r, el, epl, ep, ew;
	uint64_t p, nlw;

	if (d & 1) {	/* digits: rare in text, a long run of them in a table */
		r = ones(d);
		if (r >= maxdig)
			return i + maxdig;
		return end >> r & 1 ? i + r : 0;
	}
	st = u[i] == ' ', lone = (unsigned)(l >> 1 & 1);
	p = x->p >> o >> st;
	rl = ones(l), rpl = 1 + ones(l >> 1), jp = st + ones(p);
	rp = jp + ones(nl >> jp);
	rw = ones(x->ws >> o);
	nlw = nl & (((uint64_t)1 << rw) - 1);	/* newlines in the whitespace */
	el = end >> rl & 1 ? rl : 0;
	epl = end >> rpl & 1 ? rpl : 0;
	ep = end >> jp & 1 && rp < avail ? rp : 0;
	ew = !(end >> rw & 1) ? 0 : nlw ? 64 - (unsigned)__builtin_clzll(nlw | 1) : rw - (rw >= 2);
	r = (p & 1) ? ep : ew;
	r = !(nl & 1) && lone ? epl : r;
	r = x->stop >> o & 1 ? 0 : r;
	r = l & 1 ? el : r;
	return r ? i + r : 0;
}

/* ascii_o200k by the window.  Its two word alternatives come to one in
 * ASCII: the run of A-Z from q (after the one-byte prefix, or at the
 * letter), then the run of a-z, if either is there; a ' after it (a
 * contraction), as a high byte, is left to the scanners above. */
static inline __attribute__((always_inline)) size_t
win_o200k(const a_win *x, const unsigned char *u, size_t i)
{
	unsigned o = (unsigned)(i - x->w), avail = (unsigned)x->lim - o;
	uint64_t l = x->l >> o, d = x->d >> o, end = x->end >> o, lo = x->lo >> o;
	unsigned q, j, e, we, st, jp, rp, rw, r, ep, ew;
	uint64_t p, nlw, tail = x->tail >> o, nl = x->nl >> o;

	if (d & 1) {	/* \p{N}{1,3} */
		r = ones(d);
		if (r >= 3)
			return i + 3;
		return end >> r & 1 ? i + r : 0;
	}
	q = !(l & 1);
	j = q + ones((l & ~lo) >> q);
	e = j + ones(lo >> j);
	we = end >> j & 1 && (end & ~(x->ap >> o)) >> e & 1 ? e : 0;
	st = u[i] == ' ';
	p = x->p >> o >> st;
	jp = st + ones(p);
	rp = jp + ones(tail >> jp);
	rw = ones(x->ws >> o);
	nlw = nl & (((uint64_t)1 << rw) - 1);
	ep = end >> jp & 1 && rp < avail ? rp : 0;
	ew = !(end >> rw & 1) ? 0 : nlw ? 64 - (unsigned)__builtin_clzll(nlw | 1) : rw - (rw >= 2);
	r = (p & 1) ? ep : ew;
	r = !(nl & 1) && e > q ? we : r;	/* the prefix and a word */
	r = x->stop >> o & 1 ? 0 : r;
	r = l & 1 ? we : r;
	return r ? i + r : 0;
}

static inline size_t
scan_general(int scanner, const char *s, size_t n, size_t pos)
{
	size_t e;

	switch (scanner) {
	case TK_SCAN_GPT2: e = scan_gpt2(s, n, pos); break;
	case TK_SCAN_CL100K: e = scan_cl100k(s, n, pos, 3); break;
	case TK_SCAN_QWEN: e = scan_cl100k(s, n, pos, 1); break;
	default: e = scan_o200k(s, n, pos); break;
	}
	if (e <= pos) {	/* never stall: one character */
		int len;

		ut_utf8_dec((const unsigned char *)s + pos, n - pos, &len);
		e = pos + (size_t)len;
	}
	return e > n ? n : e;
}

static inline void
scan_ready(void)
{
	if (!__atomic_load_n(&ascii_ready, __ATOMIC_ACQUIRE))
		ascii_init();
}

/* One piece from pos < n: the ASCII scanner of sc where it decides. */
static inline __attribute__((always_inline)) size_t
scan_one(int sc, const char *s, size_t n, size_t pos)
{
	size_t e = 0;

	if (sc == TK_SCAN_CL100K)
		e = ascii_cl100k(s, n, pos, 3);
	else if (sc == TK_SCAN_QWEN)
		e = ascii_cl100k(s, n, pos, 1);
	else if (sc == TK_SCAN_O200K)
		e = ascii_o200k(s, n, pos);
	return e ? e : scan_general(sc, s, n, pos);
}

static inline __attribute__((always_inline)) size_t
scan_batch(int sc, const char *s, size_t n, size_t pos, size_t *ends, size_t max)
{
	size_t k = 0;

	while (k < max && pos < n)
		ends[k++] = pos = scan_one(sc, s, n, pos);
	return k;
}

/* scan_batch for cl100k, Qwen and o200k: by the window where it decides,
 * the window moved on when fewer than 16 of its bytes are left. */
static inline __attribute__((always_inline)) size_t
scan_batch_win(int sc, const char *s, size_t n, size_t pos, size_t *ends, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned maxdig = sc == TK_SCAN_QWEN ? 1 : 3;
	int o2 = sc == TK_SCAN_O200K;
	size_t k = 0, e;
	a_win x = {.w = pos};	/* no bytes: made at the first piece */

	while (k < max && pos < n) {
		if (pos + 16 > x.w + x.lim && x.w + x.lim < n)
			win_load(&x, u, n, pos, o2);
		if (!(e = o2 ? win_o200k(&x, u, pos) : win_cl100k(&x, u, pos, maxdig)))
			e = scan_one(sc, s, n, pos);
		ends[k++] = pos = e;
	}
	return k;
}

/* Where the CPU has them, with BMI2's shifts by a register and BMI's
 * counts of bits (x86-64-v3: some tenth fewer instructions); GCC's
 * clones (UT_V3_CLONES).  One loop for each scanner, sc a constant. */
UT_V3_CLONES static size_t
scan_batch_cl100k(int sc, const char *s, size_t n, size_t pos, size_t *ends, size_t max)
{
	if (sc == TK_SCAN_QWEN)
		return scan_batch_win(TK_SCAN_QWEN, s, n, pos, ends, max);
	return scan_batch_win(TK_SCAN_CL100K, s, n, pos, ends, max);
}

UT_V3_CLONES static size_t
scan_batch_o200k(const char *s, size_t n, size_t pos, size_t *ends, size_t max)
{
	return scan_batch_win(TK_SCAN_O200K, s, n, pos, ends, max);
}

/* A loop for each scanner, sc a constant in each: the choice of scanner
 * is made once a batch, not once a piece. */
size_t
tk_scan_batch(int scanner, const char *s, size_t n, size_t pos, size_t *ends, size_t max)
{
	scan_ready();
	switch (scanner) {
	case TK_SCAN_CL100K: return scan_batch_cl100k(TK_SCAN_CL100K, s, n, pos, ends, max);
	case TK_SCAN_QWEN: return scan_batch_cl100k(TK_SCAN_QWEN, s, n, pos, ends, max);
	case TK_SCAN_O200K: return scan_batch_o200k(s, n, pos, ends, max);
	default: return scan_batch(scanner, s, n, pos, ends, max);
	}
}

size_t
tk_scan(int scanner, const char *s, size_t n, size_t pos)
{
	if (pos >= n)
		return n;
	scan_ready();
	return scan_one(scanner, s, n, pos);
}
