/* test-bpe-bt: BPE by backtracking (bpe_bt.c) gives the tokens of BPE by
 * ranks (bpe.c), on words drawn from letters, spaces, digits, punctuation
 * and characters of several scripts, short and long (runs of one and two
 * letters of up to 20000 bytes), for cl100k and o200k; and is refused for
 * Llama-3's ranks, where some tokens are made through a part ranked after
 * them.  Needs $TOKEMB_DATA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tok/tok_int.h"

static const char *palette[] = {
	"a", "b", "e", "s", "t", "th", "ing", "er", "Q", "Z", " ", "  ", "\n", "\t", "0", "7",
	"42", ".", ",", "'s", "'", "-", "/", "\u00e9", "\u4e2d", "\u6587", "\u0301", "\U0001F600",
	"\xff", "\x80", "the", " the", "tion", "ab", "ba", "\u0437\u0430\u0432", "\u3063\u3066",
	"====", "    ",
};

static size_t
random_word(char *buf, size_t cap, unsigned *seed)
{
	size_t n = 0, k = 1 + (size_t)(rand_r(seed) % 12);

	if (rand_r(seed) % 50 == 0) {	/* a long run */
		const char *u = rand_r(seed) % 2 ? "a" : "ab";
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

static void
check(const char *D, const char *name, int want)
{
	char path[4096];
	static char buf[20000];
	te_diag d = {0};
	te_tok *t;
	const tk_fastmap *f;
	const tk_bt *bt;
	unsigned seed = 11;
	size_t i, bad = 0, words = 0;
	tk_out a = {0}, b = {0};

	snprintf(path, sizeof path, "%s/tokenizers/%s", D, name);
	if (!(t = te_tok_load(path, &d))) {
		ok(0, "%s loads: %s", name, d.msg);
		return;
	}
	f = tk_fastmap_get(&t->bpe);
	bt = f ? tk_fastmap_bt(&t->bpe) : NULL;
	ok(want ? bt != NULL : bt == NULL, "%s: backtracking tables %s", name,
	   want ? "built" : "refused");
	for (i = 0; bt && i < 30000; i++) {
		size_t n = random_word(buf, sizeof buf, &seed);

		a.n = b.n = 0;
		words++;
		if (tk_bt_encode(bt, buf, n, &a) != 0 || tk_bpe_encode(&t->bpe, buf, n, &b) != 0 ||
		    a.n != b.n || memcmp(a.ids, b.ids, a.n * sizeof *a.ids) ||
		    memcmp(a.a, b.a, a.n * sizeof *a.a) || memcmp(a.b, b.b, a.n * sizeof *a.b)) {
			if (!bad++)
				printf("# %s: first difference on '%.*s' (%zu bytes)\n", name,
				       (int)(n < 60 ? n : 60), buf, n);
		}
	}
	if (bt)
		ok(!bad, "%s: %zu words, %zu differ from BPE by ranks", name, words, bad);
	free(a.ids), free(a.a), free(a.b), free(b.ids), free(b.a), free(b.b);
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
	check(D, "tiktoken/cl100k_base.tiktoken", 1);
	check(D, "tiktoken/o200k_base.tiktoken", 1);
	check(D, "llama3/original_tokenizer.model", 0);
	return done_testing();
}
