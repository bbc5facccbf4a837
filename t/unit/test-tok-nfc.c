/* test-tok-nfc: the normalizers NFC, NFD, NFKC and NFKD by quick check
 * (normalize.c: inert stretches left as they are, the pieces around other
 * characters through utf8proc) give the text the whole normalizer gives
 * (tk_hf_unimap on the whole text), with spans and without, on random
 * mixes of ASCII, combining marks of several classes, precomposed
 * letters, Hangul syllables and jamo, CJK, composition exclusions,
 * singletons, starters that compose backwards, compatibility characters,
 * characters HF's Unicode 9.0 leaves alone, emoji, and bytes that are not
 * UTF-8.  And tk_hf_inert against utf8proc's data, code point by code
 * point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tok/tok_int.h"
#include "tok/tok_uni.h"

static const char *const bits[] = {
	"a", "e", "A", "o", "n", " ", "\n", ".", "x", "Hello",
	"\xcc\x81", "\xcc\x80", "\xcc\xa3", "\xcc\xa7", "\xcc\x88", "\xcd\x85", "\xcc\x9b",
	"\xe3\x82\x99", "\xe0\xa5\x8d",	/* U+0301 0300 0323 0327 0308 0345 031B 3099 094D */
	"\xc3\xa9", "\xc3\x85", "\xc3\xaa", "\xe1\xba\xbf", "\xc3\xbc", "\xe1\xbb\x87",
	"\xea\xb0\x80", "\xea\xb0\x81", "\xe1\x84\x80", "\xe1\x85\xa1", "\xe1\x86\xa8",
	"\xe4\xb8\xad", "\xe6\x96\x87", "\xef\xa4\x80", "\xf0\xa0\x80\x80",
	"\xe0\xa5\x98", "\xe2\xab\x9c", "\xe0\xbd\x83", "\xe0\xbd\xb3",	/* exclusions */
	"\xe2\x84\xab", "\xe2\x84\xa6", "\xcd\x80", "\xcd\xb4", "\xcd\x84",	/* singletons */
	"\xe0\xb3\x86", "\xe0\xb3\x95", "\xe0\xb3\x82", "\xe0\xb2\xbf", "\xe0\xad\x87",
	"\xe0\xac\xbe", "\xe0\xb7\x99", "\xe0\xb7\x8f", "\xe0\xb7\x8a", "\xe1\x80\xa5",
	"\xe1\x80\xae", "\xf0\x91\x84\xb1", "\xf0\x91\x84\xa7", "\xf0\x91\x82\x99",
	"\xf0\x91\x82\xba",	/* starters that compose backwards, Chakma, Kaithi */
	"\xef\xac\x81", "\xc2\xb2", "\xef\xbd\xb6", "\xe3\x81\x8b", "\xef\xbe\x9e",
	"\xe2\x91\xa0", "\xc7\x84", "\xc2\xa0",	/* compatibility */
	"\xe0\xa3\x8a", "\xf0\x91\xa4\xb5", "\xf0\x91\xa4\xb0", "\xf0\x9e\x80\xb0",
	"\xe1\xaa\xbf",	/* newer than Unicode 9.0 */
	"\xf0\x9f\xa4\x96", "\xce\xb1", "\xd0\xb8", "\xd0\x99", "\xd9\x85",
	"\xff", "\x80", "\xed\xa0\x80", "\xc3",	/* not UTF-8 */
};

static const int forms[] = {TK_N_NFC, TK_N_NFD, TK_N_NFKC, TK_N_NFKD};
static const char *const names[] = {"NFC", "NFD", "NFKC", "NFKD"};

static utf8proc_option_t
form_opt(int f)
{
	static const utf8proc_option_t o[] = {
		UTF8PROC_COMPOSE, UTF8PROC_DECOMPOSE, UTF8PROC_COMPOSE | UTF8PROC_COMPAT,
		UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT};

	return UTF8PROC_STABLE | o[f];
}

/* What the normalizer made of s[0, n), spans kept or not: 0, or -1. */
static int
normalized(int f, const char *s, size_t n, int noal, tk_work *w)
{
	tk_norm nm;
	te_diag d = {0};

	memset(&nm, 0, sizeof nm);
	nm.type = forms[f];
	memset(w, 0, sizeof *w);
	w->noal = noal;
	if (ut_buf_put(&w->b, s, n))
		return -1;
	return tk_normalize(&nm, w, &d);
}

static void
work_free(tk_work *w)
{
	free(w->b.s);
	tk_al_free(w->al);
}

/* Spans in order and within the input. */
static int
spans_sound(const tk_work *w, size_t n)
{
	size_t i;

	for (i = 0; i < w->b.n; i++)
		if (tk_work_os(w, i) >= tk_work_oe(w, i) || tk_work_oe(w, i) > n ||
		    (i && tk_work_os(w, i) < tk_work_os(w, i - 1)))
			return 0;
	return 1;
}

static void
random_texts(int f)
{
	char buf[2048];
	int i, bad = 0, badal = 0, fails = 0, valid = 0, changed = 0;

	srand(16 + f);
	for (i = 0; i < 4000; i++) {
		size_t n = 0;
		int k, parts = 1 + rand() % 30, utf8 = rand() % 4 != 0;
		utf8proc_uint8_t *want = NULL;
		utf8proc_ssize_t wn;
		tk_work a, b;

		for (k = 0; k < parts; k++) {
			const char *s = bits[rand() % (int)(sizeof bits / sizeof bits[0])];
			size_t l = strlen(s);

			if (utf8 && (unsigned char)s[0] >= 0x80 && (unsigned char)s[0] < 0xc2)
				continue;
			if (utf8 && (!strcmp(s, "\xed\xa0\x80") || !strcmp(s, "\xc3")))
				continue;
			if (n + l >= sizeof buf)
				break;
			memcpy(buf + n, s, l);
			n += l;
		}
		if (normalized(f, buf, n, 1, &a) || normalized(f, buf, n, 0, &b)) {
			fails++;
			continue;
		}
		if ((wn = tk_hf_unimap((const uint8_t *)buf, n, &want, form_opt(f))) >= 0) {
			valid++;
			bad += a.b.n != (size_t)wn || memcmp(a.b.s, want, (size_t)wn);
		}
		changed += a.b.n != n || memcmp(a.b.s, buf, n);
		badal += a.b.n != b.b.n || memcmp(a.b.s, b.b.s, a.b.n) || !spans_sound(&b, n);
		free(want);
		work_free(&a);
		work_free(&b);
	}
	ok(!fails, "%s: 4000 random texts normalize", names[f]);
	ok(!bad && valid > 2000 && changed > 1000,
	   "%s: the whole normalizer's text on %d UTF-8 texts (%d differ; %d changed)",
	   names[f], valid, bad, changed);
	ok(!badal, "%s: with spans the same text, spans in order (%d differ)", names[f], badal);
}

/* Every code point tk_hf_inert finds inert maps to itself alone, is a
 * starter, and is second in no composition of utf8proc's (the last of
 * the full decomposition of each composite that is not excluded). */
static void
inert_table(void)
{
	static uint8_t second[0x110000];
	int32_t cp, d[32];
	int f, bad = 0, nin = 0;

	for (cp = 0; cp < 0x110000; cp++) {
		const utf8proc_property_t *p = utf8proc_get_property(cp);
		utf8proc_ssize_t k;

		if (p->decomp_type || p->comp_exclusion || p->decomp_seqindex == UINT16_MAX)
			continue;
		k = utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE, NULL);
		if (k >= 2 && k <= 32)
			second[d[k - 1]] = 1;
	}
	for (cp = 0x1161; cp <= 0x1175; cp++)
		second[cp] = 1;
	for (cp = 0x11a8; cp <= 0x11c2; cp++)
		second[cp] = 1;
	for (f = 0; f < 4; f++)
		for (cp = 0x80; cp < 0x110000; cp++) {
			uint8_t s[4], *m = NULL;
			utf8proc_ssize_t k, e;
			int32_t c1 = cp;

			if (tk_hf_inert(cp, form_opt(f)) != TK_QC_INERT)
				continue;
			nin++;
			if (tk_uni_find(tk_hf_nonorm, tk_hf_nnonorm, cp) >= 0)
				continue;
			k = utf8proc_encode_char(cp, s);
			e = utf8proc_map(s, k, &m, form_opt(f));
			if (e != k || memcmp(m, s, (size_t)k) || utf8proc_get_property(cp)->combining_class ||
			    (second[cp] && (form_opt(f) & UTF8PROC_COMPOSE)))
				bad++, c1 = -1;
			free(m);
			if (c1 < 0 && bad < 5)
				printf("# %s: U+%04X is not inert\n", names[f], (unsigned)cp);
		}
	ok(!bad && nin > 4 * 200000, "tk_hf_inert: %d inert, each maps to itself, a starter, "
	   "second in no composition (%d not)", nin, bad);
	ok(tk_hf_inert('a', form_opt(0)) == TK_QC_INERT && tk_hf_inert(0x301, form_opt(0)) == TK_QC_NO &&
	   tk_hf_inert(0xcd5, form_opt(0)) == TK_QC_NO && tk_hf_inert(0x11a8, form_opt(0)) == TK_QC_NO &&
	   tk_hf_inert(0xac00, form_opt(0)) == TK_QC_INERT && tk_hf_inert(0xac00, form_opt(1)) == TK_QC_NO &&
	   tk_hf_inert(0x212b, form_opt(0)) == TK_QC_NO && tk_hf_inert(0x958, form_opt(0)) == TK_QC_NO &&
	   tk_hf_inert(0xfb01, form_opt(0)) == TK_QC_INERT && tk_hf_inert(0xfb01, form_opt(2)) == TK_QC_NO &&
	   tk_hf_inert(0xd800, form_opt(0)) == TK_QC_BAD && tk_hf_inert(-1, form_opt(0)) == TK_QC_BAD,
	   "tk_hf_inert: ASCII, marks, Hangul, singletons, exclusions, compatibility, surrogates");
}

int
main(void)
{
	int f;

	for (f = 0; f < 4; f++)
		random_texts(f);
	inert_table();
	return done_testing();
}
