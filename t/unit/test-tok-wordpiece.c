/* test-tok-wordpiece: WordPiece's trie walk (wordpiece.c) finds the pieces
 * the hash lookups find, from the word's end down: the same ids and spans,
 * the same [UNK].  On small vocabularies made here (continuing prefix
 * "##", none, one no key starts with; keys ending inside a character;
 * a NUL byte), every word of up to five bytes of their alphabet; on
 * tiny-bert and, with $TOKEMB_DATA, bert-base-uncased and all-MiniLM,
 * random words made of the vocabulary's own pieces, bent now and then
 * (a character dropped, a stray or invalid byte, an unknown character),
 * and words past max_input_chars_per_word, the trie made by the encode
 * itself after its first words. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokemb.h"
#include "tap.h"
#include "tkout.h"

/* Encode w[0, n) with m's trie and with its hash lookups: 1 when both
 * agree (return code and tokens). */
static int
agree(const tk_wordpiece *m, const char *w, size_t n, tk_out *x, tk_out *y)
{
	tk_wordpiece h = *m;
	int rx, ry;

	h.trie = NULL;
	h.lazy = 0;
	x->n = y->n = 0;
	rx = tk_wordpiece_encode(m, w, n, x);
	ry = tk_wordpiece_encode(&h, w, n, y);
	return rx == ry && tkout_same(x, y);
}

/* A vocabulary of keys (NUL-separated, "" ends; "\x01" stands for a NUL
 * byte in a key), prefix pre, with its trie. */
static int
make_vocab(tk_wordpiece *m, const char *keys, const char *pre, int32_t unk)
{
	int32_t id = 0;

	memset(m, 0, sizeof *m);
	m->unk = unk;
	m->max_chars = 4;
	strcpy(m->prefix, pre);
	m->prefix_n = strlen(pre);
	for (; *keys; keys += strlen(keys) + 1) {
		char k[32];
		size_t i, n = strlen(keys);

		for (i = 0; i < n; i++)
			k[i] = keys[i] == '\x01' ? '\0' : keys[i];
		if (ut_strmap_put(&m->vocab, k, n, id++))
			return -1;
	}
	return tk_wordpiece_prepare(m);
}

/* Every word of 1 to 5 bytes over the alphabet: the trie agrees. */
static void
exhaustive(const char *name, const char *keys, const char *pre, int32_t unk)
{
	static const char abc[] = { 'a', 'b', 'c', '#', '\xc3', '\xa9', '\0', '\x80' };
	const size_t na = sizeof abc;
	tk_wordpiece m;
	tk_out x = {0}, y = {0};
	size_t len, words = 0, bad = 0, toks = 0;

	ok(!make_vocab(&m, keys, pre, unk) && m.trie, "%s: trie built", name);
	for (len = 1; len <= 5 && m.trie; len++) {
		size_t i, j, total = 1;
		char w[8];

		for (i = 0; i < len; i++)
			total *= na;
		for (i = 0; i < total; i++) {
			size_t v = i;

			for (j = 0; j < len; j++, v /= na)
				w[j] = abc[v % na];
			bad += !agree(&m, w, len, &x, &y);
			toks += x.n;
			words++;
		}
	}
	ok(!bad && toks, "%s: %zu words, %zu tokens, %zu differ", name, words, toks, bad);
	tk_wordpiece_release(&m);
	tkout_free(&x);
	tkout_free(&y);
}

/* One random word made of the pieces of m: the first a whole word's piece,
 * the rest continuing ones with their prefix taken off, sometimes bent. */
static size_t
random_word(const tk_wordpiece *m, char *w, size_t cap)
{
	static const char *const odd[] = { "\xff", "\x80", "\xc3", "\xe4\xb8", "\xf0\x9f\xa4\x96",
	                                   "\xe2\x98\x83", "#", "##", "\x00", "q" };
	const ut_strmap *v = &m->vocab;
	size_t n = 0, parts = 1 + (size_t)rand() % 5, p;

	for (p = 0; p < parts; p++) {
		size_t kn, i;
		const char *k = NULL;

		for (i = 0; i < 50 && !k; i++) {
			k = ut_strmap_key(v, (size_t)rand() % v->n, &kn);
			if (kn >= m->prefix_n && !memcmp(k, m->prefix, m->prefix_n) && m->prefix_n) {
				k += m->prefix_n;
				kn -= m->prefix_n;
				if (!p)
					k = NULL;	/* a word starts with a whole piece */
			} else if (p && rand() % 4) {
				k = NULL;	/* mostly continuing pieces after it */
			}
		}
		if (!k || n + kn + 8 > cap)
			break;
		memcpy(w + n, k, kn);
		n += kn;
		switch (rand() % 12) {
		case 0:	/* a byte dropped */
			if (n > 1)
				n--;
			break;
		case 1: {	/* an odd byte or character */
			const char *o = odd[rand() % (int)(sizeof odd / sizeof odd[0])];
			size_t on = *o ? strlen(o) : 1;

			memcpy(w + n, o, on);
			n += on;
			break;
		}
		default:
			break;
		}
	}
	return n;
}

static void
random_words(const char *name, const te_tok *t, int count)
{
	const tk_wordpiece *m = &t->wp;
	tk_out x = {0}, y = {0};
	char w[512];
	int i, bad = 0, unk = 0, multi = 0;

	ok(!m->trie && m->lazy, "%s: the load leaves the trie to the encode", name);
	if (!m->vocab.n)
		return;
	srand(11);
	for (i = 0; i < count; i++) {
		size_t n = random_word(m, w, sizeof w);

		if (i % 50 == 0)	/* past max_input_chars_per_word, or just at it */
			for (; n < m->max_chars + (size_t)(i % 100 ? 1 : 0) && n < sizeof w; n++)
				w[n] = 'a';
		bad += !agree(m, w, n, &x, &y);
		unk += x.n == 1 && x.ids[0] == m->unk;
		multi += x.n > 1;
	}
	ok(m->trie && !m->lazy, "%s: the encode made the trie after %zu words", name, m->words);
	ok(!bad, "%s: %d random words, %d differ", name, count, bad);
	ok(unk && multi, "%s: %d became [UNK], %d split into pieces", name, unk, multi);
	tkout_free(&x);
	tkout_free(&y);
}

static void
model(const char *name, const char *path, int count)
{
	te_diag d = {0};
	te_tok *t = te_tok_load(path, &d);

	ok(t != NULL, "%s loads", name);
	if (t)
		random_words(name, t, count);
	te_tok_free(t);
}

int
main(void)
{
	const char *D = getenv("TOKEMB_DATA");
	char path[4096];

	/* keys: whole words, continuing ones, a key ending inside "é", one
	 * with a NUL byte (\x01 here), one that is the prefix alone */
	static const char keys[] = "a\0ab\0abc\0b\0c\0##\0##a\0##b\0##bc\0##c\0###\0\xc3\0"
	                           "\xc3\xa9\0##\xc3\xa9\0a\xc3\0##\x01\0\x01\0##\xc3\xa9" "a\0"
	                           "\x80\0[UNK]\0";

	exhaustive("prefix ##", keys, "##", 19);
	exhaustive("no prefix", keys, "", 19);
	exhaustive("prefix no key starts with", keys, "@@", 19);
	exhaustive("no [UNK]", keys, "##", -1);
	model("tiny-bert", "t/data/tok/tiny-bert.json", 20000);
	if (D) {
		snprintf(path, sizeof path, "%s/tokenizers/bert-base-uncased/tokenizer.json", D);
		if (!access(path, R_OK))
			model("bert-base-uncased", path, 200000);
		snprintf(path, sizeof path, "%s/tokenizers/all-MiniLM-L6-v2/tokenizer.json", D);
		if (!access(path, R_OK))
			model("all-MiniLM-L6-v2", path, 100000);
	} else {
		printf("# no $TOKEMB_DATA: bert-base-uncased and all-MiniLM skipped\n");
	}
	return done_testing();
}
