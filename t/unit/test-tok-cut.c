/* test-tok-cut: a large document cut where te_tok_cuts says (tok-encode
 * --threads on one document) encodes, part by part, to exactly the ids
 * of the whole, for the models it cuts (cl100k, o200k, Llama-3, Qwen3);
 * the models it must not cut get no cuts; tk_cut_next (each thread's
 * search for the cuts of its piece) finds the first cut in any stretch.  Random text with
 * many newlines among letters, marks, spaces, digits, apostrophes and
 * punctuation of several scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tok/tok_int.h"

static const char *palette[] = {
	"\n", "\n", "\r\n", "\n\n", " \n", "\n ", "a", "Word", "the", " the", "THE", "x", "Z",
	"'s", "'", "'LL", " ", "  ", "\t", "0", "1234", ".", ",", "/", "-", "(", "\u00e9", "\u0301",
	"\u4e2d\u6587", "\u0437\u0430\u0432\u0438\u0441\u0438\u043c", "\U0001F600", "\u00a0",
	"\u3000", "<|endoftext|>",
};

static char *
random_text(size_t cap, unsigned seed, size_t *len)
{
	char *s = malloc(cap + 64);
	size_t n = 0;

	while (s && n < cap) {
		const char *p = palette[rand_r(&seed) % (sizeof palette / sizeof *palette)];

		memcpy(s + n, p, strlen(p));
		n += strlen(p);
	}
	*len = n;
	return s;
}

/* The ids of text encoded whole and encoded in the parts the cuts make
 * are the same; returns the number of cuts, or -1 when they differ. */
static long
check(const te_tok *t, const char *text, size_t len, unsigned flags)
{
	size_t cuts[16], n = te_tok_cuts(t, text, len, flags, cuts, 15), k, at = 0, a = 0;
	te_tok_enc whole = {0}, part = {0};
	te_diag d = {0};
	long rc = (long)n;

	if (te_tok_encode(t, text, len, flags, &whole, &d))
		return -1;
	for (k = 0; k <= n && rc >= 0; k++) {
		size_t b = k < n ? cuts[k] : len;

		if (b <= a || te_tok_encode(t, text + a, b - a, flags, &part, &d) ||
		    at + part.n > whole.n || memcmp(whole.ids + at, part.ids, part.n * sizeof *part.ids))
			rc = -1;
		at += part.n;
		a = b;
	}
	if (at != whole.n)
		rc = -1;
	te_tok_enc_release(&whole);
	te_tok_enc_release(&part);
	return rc;
}

/* The first line start after a newline in [from, to), by brute force. */
static size_t
naive_cut(const char *text, size_t len, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to && i < len; i++)
		if (text[i] == '\n' && i + 1 < len &&
		    ((text[i + 1] >= 'a' && text[i + 1] <= 'z') || (text[i + 1] >= 'A' && text[i + 1] <= 'Z')))
			return i + 1;
	return 0;
}

/* tk_cut_next against naive_cut on stretches of every length at random
 * places, the end of the text included. */
static void
check_next(const char *text, size_t len)
{
	unsigned seed = 11;
	size_t k, bad = 0, found = 0;

	for (k = 0; k < 20000; k++) {
		size_t from = (size_t)rand_r(&seed) % (len + 1), to = from + (size_t)rand_r(&seed) % 64;
		size_t c = tk_cut_next(text, len, from, k % 4 ? to : len + 5);

		if (c != naive_cut(text, len, from, k % 4 ? to : len))
			bad++;
		found += c != 0;
	}
	ok(!bad && found > 1000, "tk_cut_next: the first line start in a stretch (%zu found, %zu wrong)",
	   found, bad);
	ok(tk_cut_next("ab\n", 3, 0, 3) == 0 && tk_cut_next("ab\nc", 4, 2, 3) == 3 &&
	   tk_cut_next("ab\nc", 4, 3, 4) == 0 && tk_cut_next("\n\n1\nZ", 5, 0, 2) == 0 &&
	   tk_cut_next("\n\n1\nZ", 5, 0, 5) == 4, "tk_cut_next: the edges");
}

int
main(void)
{
	static const struct { const char *path; int cut; } models[] = {
		{"tiktoken/cl100k_base.tiktoken", 1}, {"tiktoken/o200k_base.tiktoken", 1},
		{"llama3/tokenizer.json", 1}, {"qwen3/tokenizer.json", 1}, {"gpt-4o-hf/tokenizer.json", 1},
		{"gpt2/tokenizer.json", 0}, {"bert-base-uncased/tokenizer.json", 0},
	};
	const char *D = getenv("TOKEMB_DATA");
	char path[4096];
	size_t len, i;
	char *text = random_text((size_t)1 << 19, 7, &len);

	if (!D) {
		printf("1..0 # SKIP no $TOKEMB_DATA: the models are there\n");
		return 0;
	}
	if (text)
		check_next(text, len);
	for (i = 0; i < sizeof models / sizeof *models; i++) {
		te_diag d = {0};
		te_tok *t;
		long n;

		snprintf(path, sizeof path, "%s/tokenizers/%s", D, models[i].path);
		if (!(t = te_tok_load(path, &d))) {
			ok(0, "%s loads: %s", models[i].path, d.msg);
			continue;
		}
		n = check(t, text, len, 0);
		if (models[i].cut)
			ok(n > 0, "%s: %ld cuts, the parts' ids are the whole's", models[i].path, n);
		else
			ok(n == 0, "%s: not cut (%ld)", models[i].path, n);
		n = check(t, text, len, TE_TOK_SPECIAL_AS_TEXT);
		ok(models[i].cut ? n > 0 : n == 0, "%s: special-token text as text: %ld cuts",
		   models[i].path, n);
		n = check(t, text, len, TE_TOK_ADD_SPECIAL);	/* these add none */
		ok(models[i].cut ? n > 0 : n == 0, "%s: special tokens asked for: %ld cuts",
		   models[i].path, n);
		te_tok_free(t);
	}
	free(text);
	return done_testing();
}
