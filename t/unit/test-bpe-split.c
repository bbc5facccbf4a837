/* test-bpe-split: a long word of a SentencePiece-style merge table (the
 * marker U+2581 starts its words, the pre-tokenizer does not split) is
 * cut before its words where no merge can cross and merged a part at a
 * time (bpe.c, tk_bpe_split_min); the ids and spans must be those of the
 * word merged whole.  Generated tables where no merge crosses a word's
 * start and where one does (the cut must not be made), words with runs of
 * markers, truncated markers, bytes that are not UTF-8 and characters out
 * of the vocabulary; phi-3 and gemma3 when $TOKEMB_DATA has them, also on
 * words no marker cuts (cut where no merge can cross them). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tkout.h"

#define MK "\xe2\x96\x81"

static const char *palette[] = {
	MK, MK, MK, "a", "b", "c", "ab", "ba", MK MK, "\xe2\x96", "\xe2", "\xff", "\xc3\xa9",
	"\xe4\xb8\xad", "a", "b", "c",
};
/* words no marker cuts: runs of a letter, base64-like text, CJK, emoji
 * (cut where no merge can cross, found from the merges made) */
static const char *plain[] = {
	"a", "a", "a", "a", "aa", "b", "Q", "z", "0", "+", "/", "e", "t", "\xe4\xb8\xad",
	"\xf0\x9f\x98\x80", MK,
};
static const char **pal = palette;
static size_t npal = sizeof palette / sizeof *palette;

static size_t
make_word(char *buf, size_t len, unsigned *seed)
{
	size_t n = 0;

	while (n < len) {
		const char *p = pal[rand_r(seed) % npal];
		size_t l = strlen(p);

		memcpy(buf + n, p, l);
		n += l;
	}
	return n;
}

/* The tokens a cut word hands on as its parts are proven (tk_hand),
 * gathered: what the word's tokens are, once its last ones are added. */
typedef struct gather {
	tk_hand h;
	tk_out got;
	int puts, undos;
	size_t firm;            /* the most tokens seen firm (tk_hand) */
	int unfirm;             /* undos that took firm ones back */
} gather;

static int
gather_put(tk_hand *h, const tk_out *o, size_t from, size_t to)
{
	gather *g = (gather *)h;
	size_t k;

	g->puts++;
	if ((h->handed < h->firm ? h->handed : h->firm) > g->firm)
		g->firm = h->handed < h->firm ? h->handed : h->firm;
	for (k = from; k < to; k++)
		if (tk_out_push(&g->got, o->ids[k], h->at + o->a[k], h->at + o->b[k]))
			return -1;
	return 0;
}

static void
gather_undo(tk_hand *h, size_t keep)
{
	gather *g = (gather *)h;

	g->undos++;
	g->unfirm += keep < g->firm;
	g->got.n = keep;
}

/* Encode buf[0, len) cut, its parts handed on into g->got as proven: the
 * word's tokens in g->got, o scratch. */
static int
handed(const te_tok *t, int32_t gen, const char *buf, size_t len, tk_out *o, gather *g)
{
	size_t k;
	int r;

	g->h.handed = g->h.at = 0;
	g->h.firm = SIZE_MAX;
	g->firm = 0;
	g->got.n = o->n = 0;
	o->hand = &g->h;
	r = tk_bpe_encode_f(&t->bpe, NULL, gen, buf, len, o);
	o->hand = NULL;
	for (k = 0; !r && k < o->n; k++)
		if (tk_out_push(&g->got, o->ids[k], o->a[k], o->b[k]))
			return -1;
	return r || g->h.handed + o->n != g->got.n;
}

/* Encode words whole and cut, the cut ones also handed on a part at a
 * time; count differences. */
static void
compare(const char *name, const te_tok *t, int words, size_t maxlen)
{
	tk_out a = {0}, b = {0}, c = {0};
	gather g = { { gather_put, gather_undo, 0, 0, SIZE_MAX }, {0}, 0, 0, 0, 0 };
	char *buf = malloc(maxlen + 64);
	unsigned seed = 7;
	int i, bad = 0, fail = 0, hbad = 0;
	size_t total = 0;

	for (i = 0; buf && i < words; i++) {
		size_t len = make_word(buf, 1 + (size_t)rand_r(&seed) % maxlen, &seed);
		int32_t gen = i % 2 ? t->cache_gen : 0;

		a.n = b.n = 0;
		tk_bpe_split_min = SIZE_MAX;
		fail += tk_bpe_encode_f(&t->bpe, NULL, gen, buf, len, &a) != 0;
		tk_bpe_split_min = 16 + (size_t)(i % 5) * 40;
		fail += tk_bpe_encode_f(&t->bpe, NULL, gen, buf, len, &b) != 0;
		fail += handed(t, gen, buf, len, &c, &g) != 0;
		total += len;
		bad += !tkout_same(&a, &b);
		hbad += !tkout_same(&a, &g.got);
		/* a cut that fails at once: a word merged whole after parts
		 * were handed on */
		tk_bpe_cut_tries = 0;
		fail += handed(t, gen, buf, len, &c, &g) != 0;
		tk_bpe_cut_tries = 64;
		hbad += !tkout_same(&a, &g.got);
	}
	tk_bpe_split_min = (size_t)1 << 19;
	ok(buf && !fail && !bad, "%s: %d words (%zu bytes): cut as whole (%d differ, %d failed)",
	   name, words, total, bad, fail);
	ok(buf && !fail && !hbad && g.puts, "%s: handed on a part at a time as whole (%d differ; "
	   "%d hand-ons, %d taken back)", name, hbad, g.puts, g.undos);
	ok(!g.unfirm, "%s: no undo takes back a token handed on as firm (%d did)", name,
	   g.unfirm);
	tkout_free(&a);
	tkout_free(&b);
	tkout_free(&c);
	tkout_free(&g.got);
	free(buf);
}

static void
one(const char *name, const char *path, int words, size_t maxlen)
{
	te_diag d = {0};
	te_tok *t = te_tok_load(path, &d);

	ok(t != NULL, "%s loads%s%s", name, t ? "" : ": ", t ? "" : d.msg);
	if (!t)
		return;
	compare(name, t, words, maxlen);
	te_tok_free(t);
}

/* A tokenizer.json of SentencePiece-style merges; cross: one merge joins
 * a token ending in "b" to one starting with the marker. */
static void
generated(const char *dir, int cross)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof path, "%s/spm-bpe-%d.json", dir, cross);
	if (!(fp = fopen(path, "w"))) {
		ok(0, "write %s", path);
		return;
	}
	fprintf(fp, "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true,\n"
	        " \"vocab\": {\"<unk>\": 0, \"" MK "\": 1, \"a\": 2, \"b\": 3, \"c\": 4,\n"
	        "  \"" MK "a\": 5, \"ab\": 6, \"" MK "ab\": 7, \"" MK MK "\": 8, \"ba\": 9,\n"
	        "  \"" MK "b\": 10, \"cc\": 11, \"" MK MK MK MK "\": 12, \"b" MK "\": 13,\n"
	        "  \"b" MK "a\": 14, \"" MK "c\": 15},\n"
	        " \"merges\": [\"" MK " a\", \"a b\", \"" MK "a b\", \"" MK " " MK "\", \"b a\",\n"
	        "  \"" MK " b\", \"c c\", \"" MK MK " " MK MK "\", \"" MK " c\"%s]}}\n",
	        cross ? ", \"b " MK "a\"" : "");
	fclose(fp);
	one(cross ? "a merge crosses a word's start" : "no merge crosses a word's start", path,
	    400, 3000);
	unlink(path);
}

int
main(void)
{
	const char *D = getenv("TOKEMB_DATA"), *tmp = getenv("TMPDIR");
	char path[4096], dir[4096];

	setenv("TOKEMB_CACHE", "0", 1);
	snprintf(dir, sizeof dir, "%s/test-bpe-split.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir)) {
		generated(dir, 0);
		generated(dir, 1);
		rmdir(dir);
	} else {
		ok(0, "make a scratch folder");
	}
	snprintf(path, sizeof path, "%s/tokenizers/phi-3-mini/tokenizer.json", D ? D : "");
	if (D && !access(path, R_OK))
		one("phi-3 (merges, byte fallback)", path, 200, 6000);
	else
		printf("# no %s: phi-3 skipped\n", path);
	pal = plain;
	npal = sizeof plain / sizeof *plain;
	if (D && !access(path, R_OK))
		one("phi-3, words without markers", path, 200, 6000);
	/* gemma3: merges that rank a longer token before its part */
	snprintf(path, sizeof path, "%s/tokenizers/gemma3/tokenizer.json", D ? D : "");
	if (D && !access(path, R_OK)) {
		one("gemma3, words without markers", path, 100, 6000);
		pal = palette;
		npal = sizeof palette / sizeof *palette;
		one("gemma3 (merges that cross markers)", path, 100, 6000);
	} else {
		printf("# no %s: gemma3 skipped\n", path);
	}
	tk_bpe_thread_free();
	return done_testing();
}
