/* test-bpe-bucket: a long word is merged with a bucket per rank (bpe.c,
 * tk_bpe_bq_min symbols or more) instead of the heap; both must give the
 * same ids and offsets.  Words of every shape (runs of one symbol, small
 * alphabets, periodic patterns with mutations, mixed UTF-8), encoded with
 * tk_bpe_encode directly (no pre-tokenizer, no piece cache) once with the
 * heap only and once with buckets for every word, with and without the
 * fast tables; on generated merge tables whose ranks are shuffled (a
 * longer token may rank before its parts: the buckets' walk must stop and
 * take the lower rank first), as tokenizer.json merges and as .tiktoken
 * ranks, and on real tokenizers when $TOKEMB_DATA has them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tkout.h"

static const char *palette[] = {
	"a", "b", "c", "d", "e", "Z", "7", ".", " ", "\u00e9", "\u4e2d", "\U0001F916", "\xff",
	"th", "ab", "ing",
};
#define NPAL (sizeof palette / sizeof *palette)

/* A word of about len bytes in one of several shapes. */
static size_t
make_word(char *buf, size_t len, unsigned *seed)
{
	const char *alpha[4];
	size_t n = 0, na, period, i;
	int shape = rand_r(seed) % 5;
	char unit[64];
	size_t un = 0;

	na = 1 + (size_t)(rand_r(seed) % 4);
	for (i = 0; i < na; i++)
		alpha[i] = shape == 4 ? palette[rand_r(seed) % NPAL] : palette[rand_r(seed) % 5];
	if (shape == 0)
		na = 1;	/* a run of one symbol */
	period = 2 + (size_t)(rand_r(seed) % 6);
	for (i = 0; i < period && un + 4 < sizeof unit; i++) {
		const char *p = alpha[rand_r(seed) % na];

		memcpy(unit + un, p, strlen(p));
		un += strlen(p);
	}
	while (n < len) {
		const char *p;
		size_t l;

		if (shape == 2 || shape == 3) {	/* periodic, a few mutations in shape 3 */
			p = unit;
			l = un;
			if (shape == 3 && rand_r(seed) % 16 == 0)
				p = alpha[rand_r(seed) % na], l = strlen(p);
		} else {
			p = alpha[rand_r(seed) % na];
			l = strlen(p);
		}
		if (n + l > len)
			break;
		memcpy(buf + n, p, l);
		n += l;
	}
	return n ? n : (buf[0] = 'a', 1);
}

/* Encode n words with the heap only and with buckets; count differences. */
static void
compare(const char *name, const tk_bpe *m, const tk_fastmap *f, int32_t gen, int words,
        size_t maxlen)
{
	tk_out a = {0}, b = {0};
	char *buf = malloc(maxlen + 64);
	unsigned seed = 11;
	int i, bad = 0, fail = 0;
	size_t total = 0;

	for (i = 0; buf && i < words; i++) {
		size_t len = make_word(buf, 2 + (size_t)rand_r(&seed) % maxlen, &seed);

		a.n = b.n = 0;
		tk_bpe_bq_min = SIZE_MAX;
		if (tk_bpe_encode_f(m, f, gen, buf, len, &a))
			fail++;
		tk_bpe_bq_min = 2;
		if (tk_bpe_encode_f(m, f, gen, buf, len, &b))
			fail++;
		total += len;
		bad += !tkout_same(&a, &b);
	}
	tk_bpe_bq_min = 64;
	ok(buf && !fail && !bad, "%s%s%s%s%s: %d words (%zu bytes): buckets as the heap (%d differ, %d failed)",
	   name, f ? " (fast tables)" : "", gen ? " (pairs kept across words)" : "",
	   tk_bpe_bq_rank_max < 1000 ? " (ranks from 300 to the heap)" : "",
	   tk_bpe_bq_test ? " (every bucket sorted)" : "",
	   words, total, bad, fail);
	tkout_free(&a);
	tkout_free(&b);
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
	compare(name, &t->bpe, NULL, 0, words, maxlen);
	compare(name, &t->bpe, NULL, t->cache_gen, words, maxlen);
	if (t->bpe.byte_level || t->bpe.ranks)
		compare(name, &t->bpe, tk_fastmap_get(&t->bpe), t->cache_gen, words, maxlen);
	/* a rank past the buckets' limit (a damaged table): the word goes
	 * to the heap */
	tk_bpe_bq_rank_max = 300;
	compare(name, &t->bpe, NULL, 0, words / 3, maxlen);
	tk_bpe_bq_rank_max = (uint32_t)1 << 23;
	/* buckets are seldom out of order: force the sort on every one */
	tk_bpe_bq_test = 1;
	compare(name, &t->bpe, NULL, 0, words / 3, maxlen);
	tk_bpe_bq_test = 0;
	te_tok_free(t);
}

/* Tokens built from a, b, c, d by random merges, in shuffled rank order. */
static int
make_tokens(char tok[][16], int (*part)[2], int want, unsigned *seed)
{
	int n = 4, i, guard = 0;

	for (i = 0; i < 4; i++)
		tok[i][0] = (char)('a' + i), tok[i][1] = 0, part[i][0] = part[i][1] = -1;
	while (n < want && guard++ < 100000) {
		int x = rand_r(seed) % n, y = rand_r(seed) % n, j;
		char z[32];

		if (strlen(tok[x]) + strlen(tok[y]) > 12)
			continue;
		snprintf(z, sizeof z, "%s%s", tok[x], tok[y]);
		for (j = 0; j < n && strcmp(tok[j], z); j++)
			;
		if (j < n)
			continue;
		strcpy(tok[n], z);
		part[n][0] = x, part[n][1] = y;
		n++;
	}
	/* shuffle the order of the merged tokens (4..n-1): their ranks */
	for (i = n - 1; i > 4; i--) {
		int j = 4 + rand_r(seed) % (i - 3), t0 = part[i][0], t1 = part[i][1];
		char tmp[16];

		memcpy(tmp, tok[i], 16), memcpy(tok[i], tok[j], 16), memcpy(tok[j], tmp, 16);
		part[i][0] = part[j][0], part[i][1] = part[j][1];
		part[j][0] = t0, part[j][1] = t1;
		/* fix references to the two swapped tokens */
		for (int k = 4; k < n; k++)
			for (int s = 0; s < 2; s++)
				if (part[k][s] == i)
					part[k][s] = j;
				else if (part[k][s] == j)
					part[k][s] = i;
	}
	return n;
}

static void
b64(const char *s, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), i, o = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = i + 1 < n ? al[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? al[v & 63] : '=';
	}
	out[o] = 0;
}

static void
generated(const char *dir, unsigned seed0)
{
	static char tok[400][16];
	static int part[400][2];
	char jpath[4096], tpath[4096];
	unsigned seed = seed0;
	int n = make_tokens(tok, part, 300, &seed), i;
	FILE *fj, *ft;

	snprintf(jpath, sizeof jpath, "%s/gen-%u.json", dir, seed0);
	snprintf(tpath, sizeof tpath, "%s/r50k-gen-%u.tiktoken", dir, seed0);
	fj = fopen(jpath, "w");
	ft = fopen(tpath, "w");
	if (!fj || !ft) {
		ok(0, "write generated tokenizers in %s", dir);
		if (fj)
			fclose(fj);
		if (ft)
			fclose(ft);
		return;
	}
	fprintf(fj, "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
	for (i = 0; i < n; i++)
		fprintf(fj, "%s\"%s\": %d", i ? ", " : "", tok[i], i);
	fprintf(fj, "}, \"merges\": [");
	for (i = 4; i < n; i++)
		fprintf(fj, "%s\"%s %s\"", i > 4 ? ", " : "", tok[part[i][0]], tok[part[i][1]]);
	fprintf(fj, "]}}\n");
	for (i = 0; i < 256; i++) {
		char s[2] = { (char)i, 0 }, e[8];

		if (!i) {	/* base64 of the NUL byte */
			fprintf(ft, "AA== 0\n");
			continue;
		}
		b64(s, e);
		fprintf(ft, "%s %d\n", e, i);
	}
	for (i = 4; i < n; i++) {
		char e[64];

		b64(tok[i], e);
		fprintf(ft, "%s %d\n", e, 256 + i - 4);
	}
	fclose(fj);
	fclose(ft);
	one("generated merges (shuffled ranks)", jpath, 400, 3000);
	one("generated tiktoken (shuffled ranks)", tpath, 400, 3000);
	unlink(jpath);
	unlink(tpath);
}

int
main(void)
{
	const char *D = getenv("TOKEMB_DATA"), *tmp = getenv("TMPDIR");
	static const char *real[][2] = {
		{"cl100k (ranks)", "tokenizers/tiktoken/cl100k_base.tiktoken"},
		{"gpt2 (merges)", "tokenizers/gpt2/tokenizer.json"},
		{"gpt-4o-hf (merges)", "tokenizers/gpt-4o-hf/tokenizer.json"},
		{"phi-3 (merges, byte fallback)", "tokenizers/phi-3-mini/tokenizer.json"},
	};
	char path[4096], dir[4096];
	size_t i;

	setenv("TOKEMB_CACHE", "0", 1);
	one("tiny-bpe", "t/data/tok/tiny-bpe.json", 300, 3000);
	snprintf(dir, sizeof dir, "%s/test-bpe-bucket.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir)) {
		generated(dir, 1);
		generated(dir, 2);
		rmdir(dir);
	} else {
		ok(0, "make a scratch folder");
	}
	for (i = 0; i < sizeof real / sizeof *real; i++) {
		if (!D) {
			printf("# no $TOKEMB_DATA: %s skipped\n", real[i][0]);
			continue;
		}
		snprintf(path, sizeof path, "%s/%s", D, real[i][1]);
		if (!access(path, R_OK))
			one(real[i][0], path, 150, 5000);
		else
			printf("# %s absent: %s skipped\n", path, real[i][0]);
	}
	tk_fast_thread_free();
	tk_bpe_thread_free();
	return done_testing();
}
