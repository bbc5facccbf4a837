/* test-tok-scan: the hand-written scanners of the well-known split patterns
 * give exactly Oniguruma's matches (the engine Hugging Face tokenizers
 * uses), on the hard cases of t/data/tok and on random strings drawn from
 * characters of every class that matters (letters of each case, marks,
 * numbers, spaces of several kinds, newlines, apostrophes, punctuation),
 * and on long strings of every ASCII byte among them, where the scanners
 * of cl100k, Qwen and o200k decide most pieces over a window of 63 bytes
 * (a piece at a time, tk_scan, they do not: the two are held together).
 * First, the class table they read (tk_uclass), filled a block at a time
 * as met, by two threads at once in opposite orders. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tok/tok_int.h"
#include "tok/tok_uni.h"

static const char *pats[] = {
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
	"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};
static const char *names[] = {"gpt2", "cl100k", "qwen", "o200k"};

/* Does the scanner cut s as Oniguruma does, a piece at a time and in
 * batches?  On a difference, says where. */
static int
same(int sc, void *re, const char *s, size_t n, char *why, size_t wn)
{
	size_t pos = 0, ms, me, ends[7], nb = 0, bi = 0;

	while (pos < n) {
		size_t e = tk_scan(sc, s, n, pos);

		if (bi == nb)
			nb = tk_scan_batch(sc, s, n, pos, ends, 1 + pos % 7), bi = 0;
		if (bi >= nb || ends[bi++] != e) {
			snprintf(why, wn, "at %zu: tk_scan_batch differs from tk_scan", pos);
			return 0;
		}

		if (!tk_regex_find(re, s, n, pos, &ms, &me) || ms != pos || me != e) {
			snprintf(why, wn, "at %zu: onig [%zu,%zu) scanner [%zu,%zu) in '%.*s'", pos, ms,
			         me, pos, e, (int)(n - pos > 40 ? 40 : n - pos), s + pos);
			return 0;
		}
		pos = e;
	}
	return 1;
}

static const char *palette[] = {
	"a", "b", "s", "t", "l", "d", "e", "r", "v", "m", "S", "T", "L", "D", "R", "E", "V", "M", "Q",
	"'", "'", " ", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2009", "\xc2\x85",
	"0", "1", "7", "\u00b2", "\u0663", "\u2167", ".", ",", "!", "/", "-", "_", "@", "#", "\"",
	"\u00e9", "\u00c9", "\u01c5", "\u02b0", "\u3042", "\u4e2d", "\u0301", "\u0308", "\u093f",
	"\u094d", "\u0915", "\u017f", "\u0130", "\u03a3", "\u03c3", "\U0001F600", "\U0001F44D",
	"\U0001F3FD", "\u200d", "\ufe0f", "\u00ad", "\u2028", "x", "y", "\u05d0", "\u0627",
	/* runs the scanners take 16 bytes at a time */
	"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "Zyxwvutsrqponmlkji", "zZ@[`{",
	"NOTICEtheBIGletters", "                 ", "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
	"................", "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", "01234567890123456789",
};

/* The next number of the tests' generator (an LCG's top bits). */
static unsigned
rnd(unsigned *seed)
{
	return (*seed = *seed * 1103515245 + 12345) >> 16;
}

/* A string of n bytes or so at buf (of at least n + 64): mostly ASCII
 * bytes of every class, runs of them, and some of the palette. */
static size_t
long_string(char *buf, size_t n, unsigned *seed)
{
	static const char ascii_pick[] = "aZ09 \t\n\r'.,(){}=+-_/\"#\x01\x1f\x7f";
	size_t k = 0;

	while (k < n) {
		unsigned r = rnd(seed), run = 1 + r % 20, j;
		unsigned c = rnd(seed);

		if (r % 16 == 0) {	/* a character of the palette */
			const char *p = palette[c % (sizeof palette / sizeof *palette)];
			size_t l = strlen(p);

			if (k + l > n + 63)
				break;
			memcpy(buf + k, p, l);
			k += l;
			continue;
		}
		for (j = 0; j < run && k < n; j++) {
			/* a run of one kind: a byte of any class, or of a few */
			unsigned b = r % 3 ? (unsigned char)ascii_pick[(c + (r % 2) * j) % (sizeof ascii_pick - 1)]
			                   : 1 + (c + j * 7) % 127;

			buf[k++] = (char)b;
		}
	}
	return k;
}

/* Prose-like text of n bytes or so at buf (of at least n + 80): words of
 * 1 to 70 letters (to the window's end and past it), most after one
 * space, some after punctuation, an apostrophe, a newline, a digit or a
 * letter of two bytes, or two spaces. */
static size_t
prose_string(char *buf, size_t n, unsigned *seed)
{
	static const char *before[] = {" ", " ", " ", " ", " ", "", "(", ", ", ".\n", "'", "  ",
	                               "\n", "7", "\u00e9", " [", "-"};
	size_t k = 0;

	while (k < n) {
		unsigned r = rnd(seed), len, j;
		const char *p = before[r % (sizeof before / sizeof *before)];

		len = r / 16 % 8 ? 1 + r / 128 % 9 : 1 + r / 128 % 70;
		memcpy(buf + k, p, strlen(p));
		k += strlen(p);
		for (j = 0; j < len; j++)
			buf[k++] = (char)((r / 4096 + j) % 2 ? 'a' + (r + j * 7) % 26 : 'A' + j % 26);
	}
	return k;
}

/* Every code point of planes 0 and 1 looked up, upward (arg NULL) or
 * downward; counts those whose class is not tk_uclass_slow's. */
static void *
classes(void *arg)
{
	size_t bad = 0;

	for (int32_t i = 0; i < 0x20000; i++) {
		int32_t cp = arg ? 0x1ffff - i : i;

		bad += tk_uclass(cp) != tk_uclass_slow(cp);
	}
	return (void *)bad;
}

static void
test_classes(void)
{
	pthread_t th;
	void *up = (void *)1, *down = (void *)1;
	size_t bad = 0;
	int32_t cp;

	if (!pthread_create(&th, NULL, classes, "down")) {
		up = classes(NULL);
		pthread_join(th, &down);
	}
	for (cp = -2; cp < 0x110002; cp++)
		bad += tk_uclass(cp) != (cp < 0 ? 0 : tk_uclass_slow(cp));
	ok(!up && !down && !bad, "tk_uclass: filled by two threads at once, every code point as "
	   "tk_uclass_slow (%zu %zu %zu differ)", (size_t)up, (size_t)down, bad);
}

/* same() on count strings made by gen, the r-th about 64 + r * step bytes
 * long; stops at the first that differs. */
static int
made_same(int sc, void *re, size_t (*gen)(char *, size_t, unsigned *), int count, size_t step,
          unsigned *seed, char *why, size_t wn)
{
	int r, good = 1;

	for (r = 0; r < count && good; r++) {
		char buf[2048 + 80];
		size_t n = gen(buf, 64 + (size_t)r * step, seed);

		good = same(sc, re, buf, n, why, wn);
	}
	return good;
}

int
main(void)
{
	unsigned seed = 12345;
	int k, r;
	char why[256];
	FILE *fp = fopen("t/data/tok/expected/texts.json", "rb");
	static char texts[1 << 16];
	size_t tn = fp ? fread(texts, 1, sizeof texts - 1, fp) : 0;

	if (fp)
		fclose(fp);
	test_classes();
	for (k = 0; k < 4; k++) {
		te_diag d = {0};
		void *re = tk_regex_new(pats[k], strlen(pats[k]), &d);
		int sc = tk_scanner_for(pats[k]), good = 1;
		char buf[1024];

		ok(re && sc, "%s: a scanner and an Oniguruma regex", names[k]);
		if (!re || !sc)
			continue;
		/* the hard cases file, as one text */
		why[0] = '\0';
		ok(same(sc, re, texts, tn, why, sizeof why), "%s: the hard cases as Oniguruma %s",
		   names[k], why);
		for (r = 0; r < 20000 && good; r++) {
			size_t n = 0;
			int len = 1 + (int)rnd(&seed) % 12, j;

			for (j = 0; j < len; j++) {
				const char *p = palette[rnd(&seed) %
				                        (sizeof palette / sizeof *palette)];

				memcpy(buf + n, p, strlen(p));
				n += strlen(p);
			}
			good = same(sc, re, buf, n, why, sizeof why);
		}
		ok(good, "%s: 20000 random strings as Oniguruma%s%s", names[k], good ? "" : ": ",
		   good ? "" : why);
		good = made_same(sc, re, long_string, 400, 5, &seed, why, sizeof why);
		ok(good, "%s: 400 long strings of ASCII as Oniguruma%s%s", names[k], good ? "" : ": ",
		   good ? "" : why);
		good = made_same(sc, re, prose_string, 200, 9, &seed, why, sizeof why);
		ok(good, "%s: 200 strings of words as Oniguruma%s%s", names[k], good ? "" : ": ",
		   good ? "" : why);
		tk_regex_free(re);
	}
	return done_testing();
}
