/* test-tok-bertnorm: the BERT normalizer's two ways through a text (the
 * text alone, a character at a time, when no spans are kept; with spans,
 * ASCII by its table and the parts around other characters through the
 * four steps) give the same ids, on random texts of what the steps treat
 * apart: controls, spaces, accents and combining marks (reordered by NFD,
 * also across a dropped control), CJK (compatibility ideographs too),
 * Hangul, U+FFFD, characters longer in lower case. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokemb.h"
#include "tap.h"

static const char *const bits[] = {
	"a", "B", "Z", "q", " ", "  ", "\t", "\n", "\r", "\x01", "\x1f", "\x7f", ".", ",",
	"Hello", "WORLD", "na\xc3\xafve", "\xc3\x87" "a", "\xc3\xa9", "\xc3\x89",
	"e\xcc\x81", "\xcc\x81", "\xcc\xa3", "\xcc\x81\x01\xcc\xa3", "x\x01\xcc\x81",
	"\xe4\xb8\xad", "\xe6\x96\x87", "\xef\xa4\x80", "\xea\xb0\x80", "\xef\xbf\xbd",
	"\xe2\x80\x8b", "\xc2\xa0", "\xe3\x80\x80", "\xc4\xb0", "\xc3\x9f", "\xc7\x84",
	"\xcd\x85", "\xf0\xa0\x80\x80", "\xef\xac\x81", "\xc3\x85", "\xe2\x84\xab",
	"\xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1", "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0",
	"\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",
};

static int
same(const te_tok_enc *a, const te_tok_enc *b)
{
	return a->n == b->n && !memcmp(a->ids, b->ids, a->n * sizeof *a->ids);
}

static void
random_texts(const te_tok *t, const char *name)
{
	te_tok_enc a = {0}, b = {0};
	te_diag d = {0};
	char buf[4096];
	int i, bad = 0, fails = 0;

	srand(7);
	for (i = 0; i < 3000; i++) {
		size_t n = 0;
		int k, parts = 1 + rand() % 40;

		for (k = 0; k < parts; k++) {
			const char *s = bits[rand() % (int)(sizeof bits / sizeof bits[0])];
			size_t l = strlen(s);

			if (n + l >= sizeof buf)
				break;
			memcpy(buf + n, s, l);
			n += l;
		}
		if (te_tok_encode(t, buf, n, 0, &a, &d) ||
		    te_tok_encode(t, buf, n, TE_TOK_NO_OFFSETS, &b, &d)) {
			fails++;
			continue;
		}
		bad += !same(&a, &b);
	}
	ok(!fails, "%s: 3000 random texts encode", name);
	ok(!bad, "%s: with spans and without, the same ids (%d differ)", name, bad);
	te_tok_enc_release(&a);
	te_tok_enc_release(&b);
}

/* Accents stripped and upper case lowered, spaces and controls cleaned:
 * the plain words' ids. */
static void
fixed(const te_tok *t, const char *name)
{
	static const char plain[] = "hello world cafe \xe4\xb8\xad";
	static const char *const texts[] = {
		"H\xc3\xa9llo\tW\xc3\x96RLD  CAF\xc3\x89\x01\xe4\xb8\xad",
		"he\xcc\x81llo\xc2\xa0world\r\ncafe\xcc\x81\xe4\xb8\xad",
	};
	te_tok_enc want = {0}, got = {0};
	te_diag d = {0};
	size_t i;
	unsigned f;

	ok(!te_tok_encode(t, plain, strlen(plain), TE_TOK_NO_OFFSETS, &want, &d) && want.n >= 4,
	   "%s: plain text encodes", name);
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
		for (f = 0; f <= TE_TOK_NO_OFFSETS; f += TE_TOK_NO_OFFSETS)
			ok(!te_tok_encode(t, texts[i], strlen(texts[i]), f, &got, &d) && same(&got, &want),
			   "%s: text %zu normalizes to the plain one%s", name, i,
			   f ? " (no spans)" : "");
	te_tok_enc_release(&want);
	te_tok_enc_release(&got);
}

int
main(void)
{
	static const char *const models[] = {"bert-base-uncased/tokenizer.json",
	                                     "all-mpnet-base-v2/tokenizer.json"};
	const char *D = getenv("TOKEMB_DATA");
	char path[1024];
	size_t i;

	snprintf(path, sizeof path, "%s/tokenizers", D ? D : "");
	if (!D || access(path, R_OK)) {
		printf("ok 1 # skip needs $TOKEMB_DATA/tokenizers (TOKEMB_DATA=../shared/data)\n1..1\n");
		return 0;
	}
	for (i = 0; i < sizeof models / sizeof models[0]; i++) {
		te_diag d = {0};
		te_tok *t;

		snprintf(path, sizeof path, "%s/tokenizers/%s", D, models[i]);
		t = te_tok_load(path, &d);
		ok(t != NULL, "%s loads%s%s", models[i], t ? "" : ": ", t ? "" : d.msg);
		if (!t)
			continue;
		random_texts(t, models[i]);
		fixed(t, models[i]);
		te_tok_free(t);
	}
	return done_testing();
}
