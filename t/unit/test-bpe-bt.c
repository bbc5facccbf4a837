/* test-bpe-bt: BPE by backtracking (bpe_bt.c) gives the tokens of BPE by
 * ranks or merges (bpe.c), on words drawn from letters, spaces, digits,
 * punctuation and characters of several scripts, short and long (runs of
 * one and two letters, a CJK character, an emoji, a digit, of up to 20000
 * bytes), for cl100k and o200k; and is refused for Llama-3's ranks, where
 * some tokens are made through a part ranked after them.  Byte-level
 * vocabularies with merges (gpt2, Llama 3, Qwen3, the cl100k and o200k
 * conversions) are encoded in ids of the tables' own, the tokens BPE can
 * make: the same tokens as BPE by merges (a whole word in the vocabulary
 * is Llama 3's before BPE: not asked of either here).  The tables written
 * as the compiled cache holds them map back to the same tokens; a
 * truncated image is refused, and a forged one (a word of it changed) is
 * refused or encodes without a wild read (run under the sanitizers); with
 * every bit of its filter of the pairs set (each look goes on into the
 * pairs) it gives the same tokens: the filter never turns a pair away.
 * Every byte after a prefix of many children (a wide node, found through
 * its map of bytes) gives the same tokens as BPE.
 * The mapped tables are read whole by tk_bt_warm first (under the
 * sanitizers: within their bounds) and give the same tokens after it.
 * Llama 3's merges rank some before the merge that makes a part of theirs
 * (" pr" + "vní" before "vn" + "í"): words that need such a token
 * come out as BPE by merges makes them.
 * Needs $TOKEMB_DATA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tkout.h"

static const char *palette[] = {
	"a", "b", "e", "s", "t", "th", "ing", "er", "Q", "Z", " ", "  ", "\n", "\t", "0", "7",
	"42", ".", ",", "'s", "'", "-", "/", "\u00e9", "\u4e2d", "\u6587", "\u0301", "\U0001F600",
	"\xff", "\x80", "the", " the", "tion", "ab", "ba", "\u0437\u0430\u0432", "\u3063\u3066",
	"====", "    ",
};

/* Words whose BPE in Llama 3 (tokenizer.json) goes through a merge ranked
 * before the one that makes its part (found by tok-encode on the model's
 * 19,586 such tokens with others before and after them). */
static const char *const llama3_late[] = {
	" prvn\xc3\xad" "ho",
	" l\xe1\xbb\xa3iChart",
	" l\xe1\xbb\xa3iElse",
	" l\xe1\xbb\xa3iMot",
	" l\xe1\xbb\xa3iikh",
	" \xda\xa9\xd8\xb1\xd8\xaf\xd9\x87\xc3\xa7" "a",
	" \xd1\x83\xd0\xb6\xd0\xb5\xd0\xb8\xd1\x86\xd0\xb8\xd0\xbd",
	" Ug\xc4\xb1yd\xc4\xb1 Ug",
	" rahatURT",
	"\xd1\x88\xd0\xb8\xd1\x81\xd1\x8cImpl",
	".cv\xd0\xb5\xd1\x80\xd0\xb0\xd1\x82\xd1\x83",
	" \xd0\xb4\xd1\x83\xd0\xb6\xd0\xb5\xce\xa6",
	"Mot l\xe1\xbb\xa3iMot",
	" \xda\xa9\xd8\xb1\xd8\xaf\xd9\x87utto",
	" Kyleuj\xc3\xad" "c\xc3\xad",
	" Arena\xd1\x88\xd0\xb8\xd1\x81\xd1\x8c",
	"\xd1\x88\xd0\xb8\xd1\x81\xd1\x8c" "ALK",
	"\xce\xa6 \xd0\xb4\xd1\x83\xd0\xb6\xd0\xb5\xce\xa6",
	" m\xc3\xa1j\xc3\xad" "c\xc3\xad",
	" \xda\xa9\xd8\xb1\xd8\xaf\xd9\x87hest",
	" h\xe1\xbb\xafuCompat",
	"j\xc3\xad" "c\xc3\xadonChange",
	" tangiblej\xc3\xad" "c\xc3\xad",
	NULL,
};

static size_t
random_word(char *buf, size_t cap, unsigned *seed)
{
	size_t n = 0, k = 1 + (size_t)(rand_r(seed) % 12);

	if (rand_r(seed) % 50 == 0) {	/* a long run */
		static const char *runs[] = {"a", "ab", "\u4e2d", "\U0001F600", "7", "a\u4e2d",
		                             "aab", "\u00e9", ".", "xyz", "abcabcab"};
		const char *u = runs[rand_r(seed) % 11];
		size_t len = strlen(u), reps = (size_t)(rand_r(seed) % (cap / len));

		for (; n + len < cap && reps--; n += len)
			memcpy(buf + n, u, len);
		return n ? n : 1;
	}
	while (k--) {
		const char *p = palette[rand_r(seed) % (sizeof palette / sizeof *palette)];
		size_t l = strlen(p);

		if (n + l >= cap)
			break;
		memcpy(buf + n, p, l);
		n += l;
	}
	return n;
}

/* Forge the image: one 32-bit word at a time set to a value that may
 * point anywhere; each is mapped, and what maps encodes some words. */
static void
forge(const char *name, unsigned char *img, size_t n, uint32_t maxid, char *buf, size_t cap)
{
	static const uint32_t vals[] = {0, 1, 0xffffffffu, 0x7fffffffu, 0x10000u, 0xfffffu};
	unsigned seed = 5;
	size_t k, refused = 0, j;
	tk_out o = {0};

	for (k = 0; k < 64; k++) {
		size_t at = (k < 8 ? k * 4 : (size_t)rand_r(&seed) % (n / 4) * 4);
		uint32_t old, v = vals[k % 6];
		tk_bt *b;

		memcpy(&old, img + at, 4);
		memcpy(img + at, &v, 4);
		if (!(b = tk_bt_map(img, n, maxid)))
			refused++;
		for (j = 0; b && j < 200; j++) {
			size_t wn = random_word(buf, cap, &seed);

			o.n = 0;
			(void)tk_bt_encode(b, buf, wn, &o);
		}
		tk_bt_free(b);
		memcpy(img + at, &old, 4);
	}
	ok(1, "%s: 64 forged images, %zu refused, none read out of bounds", name, refused);
	free(o.ids), free(o.a), free(o.b);
}

/* The image with its filter of the pairs all ones: the filter is the
 * image's last array but the bits of the tokens not in the trie (8 KB),
 * a word of 64 bits for each 16 slots of the pairs (their mask + 1 at
 * byte 16 of the header).  Every pair looked for goes on to the pairs;
 * the tokens must be the tables' own. */
static void
filter_full(const char *name, const unsigned char *img, size_t n, uint32_t maxid, const tk_bt *bt,
            char *buf, size_t cap)
{
	unsigned char *full = malloc(n);
	uint64_t pmask;
	size_t fb, j, bad = 0;
	unsigned seed = 17;
	tk_out a = {0}, c = {0};
	tk_bt *fm = NULL;

	memcpy(&pmask, img + 16, 8);
	fb = (size_t)(pmask + 1) / 16 * 8;
	if (full && fb + 8192 < n) {
		memcpy(full, img, n);
		memset(full + n - 8192 - fb, 0xff, fb);
		fm = tk_bt_map(full, n, maxid);
	}
	for (j = 0; fm && j < 20000; j++) {
		size_t wn = random_word(buf, cap, &seed);

		a.n = c.n = 0;
		if (tk_bt_encode(bt, buf, wn, &a) != 0 || tk_bt_encode(fm, buf, wn, &c) != 0 ||
		    !tkout_same(&a, &c))
			bad++;
	}
	ok(fm && !bad, "%s: the filter of the pairs all ones, 20000 words, %zu differ", name, bad);
	tk_bt_free(fm);
	free(full);
	tkout_free(&a), tkout_free(&c);
}

/* An image whose pairs' mask is below 63 (its filter would be no words,
 * and a look into it past them) is refused, the image's length made to
 * agree with the mask. */
static void
pairs_small(const char *name, const unsigned char *img, size_t n, uint32_t maxid)
{
	uint64_t pmask, small[] = {0, 1, 7, 15, 31};
	size_t i, shrink, bad = 0;
	unsigned char *cp;

	memcpy(&pmask, img + 16, 8);
	for (i = 0; i < sizeof small / sizeof *small; i++) {
		shrink = (size_t)(pmask - small[i]) * 8 + ((size_t)(pmask + 1) / 16 -
		         (size_t)(small[i] + 1) / 16) * 8;
		if (shrink >= n || !(cp = malloc(n - shrink)))
			continue;
		memcpy(cp, img, n - shrink);
		memcpy(cp + 16, &small[i], 8);
		bad += tk_bt_map(cp, n - shrink, maxid) != NULL;
		free(cp);
	}
	ok(!bad, "%s: an image with a pairs' mask below 63 is refused (%zu taken)", name, bad);
}

/* A token the tables do not make whole when it is the whole word (merges:
 * one no merge makes) is one ignore_merges must look up: the tables (and
 * their image) flag it. */
static void
whole(const char *name, const tk_bpe *m, const tk_bt *bt, const tk_bt *mb)
{
	const ut_strmap *v = &m->vocab;
	size_t i, left = 0, missed = 0;
	tk_out o = {0};

	for (i = 0; i < v->n; i++) {
		const char *s = v->pool + v->ent[i].koff;
		size_t n = v->ent[i].klen;

		o.n = 0;
		if (!n || (tk_bt_encode(bt, s, n, &o) == 0 && o.n == 1 && o.ids[0] == v->ent[i].val))
			continue;
		left++;
		missed += !tk_bt_maybe_whole(bt, s, n) || (mb && !tk_bt_maybe_whole(mb, s, n));
	}
	ok(!missed, "%s: the %zu tokens the tables do not make whole are flagged (%zu missed)", name,
	   left, missed);
	free(o.ids), free(o.a), free(o.b);
}

/* The words w (NULL-ended) by the tables, built and mapped, and by BPE. */
static void
words_same(const char *name, te_tok *t, const tk_bt *bt, const tk_bt *mb, const char *const *w)
{
	tk_out a = {0}, b = {0}, c = {0};
	size_t i, bad = 0;

	for (i = 0; w[i]; i++) {
		size_t n = strlen(w[i]);

		a.n = b.n = c.n = 0;
		if (tk_bt_encode(bt, w[i], n, &a) != 0 || tk_bpe_encode(&t->bpe, w[i], n, &b) != 0 ||
		    !tkout_same(&a, &b) ||
		    (mb && (tk_bt_encode(mb, w[i], n, &c) != 0 || !tkout_same(&a, &c))))
			if (!bad++)
				printf("# %s: first difference on '%s'\n", name, w[i]);
	}
	ok(!bad, "%s: %zu words through a merge ranked before its part's, %zu differ from BPE",
	   name, i, bad);
	tkout_free(&a), tkout_free(&b), tkout_free(&c);
}

/* Every byte after the prefixes of many children (a wide node's map: each
 * of its words, each bit, the children before them), then the word's end
 * or more letters, by the tables, built and mapped, and by BPE. */
static void
wide_steps(const char *name, te_tok *t, const tk_bt *bt, const tk_bt *mb)
{
	static const char *const pre[] = {" t", " co", "in", " s", "re", "\xe3\x81", "\xd0", " "};
	static const char *const post[] = {"", "ing", "e ", "\xbd\xa0"};
	tk_out a = {0}, b = {0}, c = {0};
	char w[16];
	size_t i, j, k, n, bad = 0, words = 0;

	for (i = 0; i < sizeof pre / sizeof *pre; i++)
		for (k = 0; k < sizeof post / sizeof *post; k++)
			for (j = 0; j < 256; j++) {
				n = strlen(pre[i]);
				memcpy(w, pre[i], n);
				w[n++] = (char)j;
				memcpy(w + n, post[k], strlen(post[k]));
				n += strlen(post[k]);
				a.n = b.n = c.n = 0;
				words++;
				if (tk_bt_encode(bt, w, n, &a) != 0 || tk_bpe_encode(&t->bpe, w, n, &b) != 0 ||
				    !tkout_same(&a, &b) ||
				    (mb && (tk_bt_encode(mb, w, n, &c) != 0 || !tkout_same(&a, &c))))
					if (!bad++)
						printf("# %s: first difference on '%.*s'\n", name, (int)n, w);
			}
	ok(!bad, "%s: %zu words through the wide nodes' every byte, %zu differ from BPE", name,
	   words, bad);
	tkout_free(&a), tkout_free(&b), tkout_free(&c);
}

static void
check(const char *D, const char *name, int want, const char *const *late)
{
	char path[4096];
	static char buf[20000];
	te_diag d = {0};
	te_tok *t;
	const tk_fastmap *f;
	const tk_bt *bt;
	unsigned seed = 11;
	size_t i, bad = 0, words = 0, in = 0;
	tk_out a = {0}, b = {0}, c = {0};
	unsigned char *img = NULL;
	tk_bt *mb = NULL;
	int im;

	snprintf(path, sizeof path, "%s/tokenizers/%s", D, name);
	if (!(t = te_tok_load(path, &d))) {
		ok(0, "%s loads: %s", name, d.msg);
		return;
	}
	im = t->bpe.ignore_merges;
	t->bpe.ignore_merges = 0;
	f = tk_fastmap_get(&t->bpe);
	bt = f ? tk_fastmap_bt(&t->bpe) : NULL;
	ok(want ? bt != NULL : bt == NULL, "%s: backtracking tables %s", name,
	   want ? "built" : "refused");
	if (bt && (img = malloc(in = tk_bt_image_size(bt)))) {
		tk_bt_image_write(bt, img);
		ok(!tk_bt_map(img, in - 8, (uint32_t)t->bpe.vocab.n), "%s: a truncated image is refused",
		   name);
		pairs_small(name, img, in, (uint32_t)t->bpe.vocab.n);
		mb = tk_bt_map(img, in, (uint32_t)t->bpe.vocab.n);
		ok(mb != NULL, "%s: the cache's image of the tables (%zu MB) maps back", name,
		   in >> 20);
	}
	if (mb) {	/* read whole, twice (the second a no-op), within their bounds */
		tk_bt_warm(mb);
		tk_bt_warm(mb);
	}
	for (i = 0; bt && i < 30000; i++) {
		size_t n = random_word(buf, sizeof buf, &seed);

		a.n = b.n = c.n = 0;
		words++;
		if (tk_bt_encode(bt, buf, n, &a) != 0 || tk_bpe_encode(&t->bpe, buf, n, &b) != 0 ||
		    (mb && (tk_bt_encode(mb, buf, n, &c) != 0 || c.n != a.n ||
		            memcmp(c.ids, a.ids, a.n * sizeof *a.ids))) ||
		    !tkout_same(&a, &b)) {
			if (!bad++)
				printf("# %s: first difference on '%.*s' (%zu bytes)\n", name,
				       (int)(n < 60 ? n : 60), buf, n);
		}
	}
	if (bt)
		ok(!bad, "%s: %zu words, %zu differ from BPE by ranks or merges (tables built, and mapped and warmed)",
		   name, words, bad);
	if (bt)
		whole(name, &t->bpe, bt, mb);
	if (bt)
		wide_steps(name, t, bt, mb);
	if (bt && late)
		words_same(name, t, bt, mb, late);
	if (mb)
		forge(name, img, in, (uint32_t)t->bpe.vocab.n, buf, 2000);
	if (mb)
		filter_full(name, img, in, (uint32_t)t->bpe.vocab.n, bt, buf, 2000);
	tk_bt_free(mb);
	free(img);
	tkout_free(&a), tkout_free(&b);
	free(c.ids), free(c.a), free(c.b);
	t->bpe.ignore_merges = im;
	te_tok_free(t);
}

int
main(void)
{
	const char *D = getenv("TOKEMB_DATA");

	if (!D) {
		printf("1..0 # SKIP no $TOKEMB_DATA: the models are there\n");
		return 0;
	}
	check(D, "tiktoken/cl100k_base.tiktoken", 1, NULL);
	check(D, "tiktoken/o200k_base.tiktoken", 1, NULL);
	check(D, "llama3/original_tokenizer.model", 0, NULL);
	check(D, "gpt2/tokenizer.json", 1, NULL);
	check(D, "llama3/tokenizer.json", 1, llama3_late);
	check(D, "qwen3/tokenizer.json", 1, NULL);
	check(D, "gpt-4-cl100k-hf/tokenizer.json", 1, NULL);
	check(D, "gpt-4o-hf/tokenizer.json", 1, NULL);
	return done_testing();
}
