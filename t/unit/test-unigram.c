/* test-unigram.c: the Unigram model and the Precompiled normalizer in Hugging
 * Face mode, on t5-small's tokenizer.json (Precompiled normalizer,
 * WhitespaceSplit + Metaspace pre-tokenization done minimally here), against
 * the ids HF tokenizers recorded; plus small hand-made vocabularies. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "tok/spm_int.h"
#include "tap.h"

static char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long sz;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	sz = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)sz + 1);
	if (buf && fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	if (buf) {
		buf[sz] = '\0';
		*n = (size_t)sz;
	}
	return buf;
}

/* Rust's char::is_whitespace for the code point starting at s; returns its
 * length when it is whitespace, else 0. */
static size_t
ws_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	if (p[0] == ' ' || (p[0] >= 9 && p[0] <= 13))
		return 1;
	if (n >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0))
		return 2;
	if (n >= 3 && p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80)
		return 3;
	if (n >= 3 && p[0] == 0xE2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 ||
	     p[2] == 0xAF))
		return 3;
	if (n >= 3 && p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F)
		return 3;
	if (n >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/* normalize, WhitespaceSplit, Metaspace(prepend, split on U+2581), Unigram */
static int
t5_encode(const tk_precompiled *pc, const tk_unigram *u, const char *text,
          te_ids *ids)
{
	ut_buf nb = {0}, word = {0};
	te_diag d = {0};
	size_t i = 0;

	if (tk_precompiled_normalize(pc, text, strlen(text), &nb, NULL, NULL, &d) < 0)
		return -1;
	while (i < nb.n) {
		size_t w, j;

		if ((w = ws_len(nb.s + i, nb.n - i)) > 0) {
			i += w;
			continue;
		}
		j = i;
		while (j < nb.n && !ws_len(nb.s + j, nb.n - j))
			j++;
		/* "▁" + word, split before each U+2581 */
		word.n = 0;
		ut_buf_put(&word, "\xe2\x96\x81", 3);
		ut_buf_put(&word, nb.s + i, j - i);
		{
			size_t a = 0;

			for (size_t k = 3; k + 3 <= word.n; k++)
				if (memcmp(word.s + k, "\xe2\x96\x81", 3) == 0) {
					if (tk_unigram_encode(u, word.s + a, k - a, ids, NULL, &d) < 0)
						return -1;
					a = k;
				}
			if (tk_unigram_encode(u, word.s + a, word.n - a, ids, NULL, &d) < 0)
				return -1;
		}
		i = j;
	}
	ut_buf_release(&nb);
	ut_buf_release(&word);
	return 0;
}

/* Each line of a jsonl file {"text", "ids"}: our ids must be HF's. */
static void
t5_file(const tk_precompiled *pc, const tk_unigram *u, const char *path,
        const char *label)
{
	size_t n, lines = 0, good = 0;
	char *exp = slurp(path, &n), *line, *save = NULL;
	const cJSON *x;

	for (line = exp ? strtok_r(exp, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		cJSON *e = cJSON_Parse(line);
		const cJSON *text = cJSON_GetObjectItem(e, "text");
		const cJSON *want = cJSON_GetObjectItem(e, "ids");
		te_ids got = {0};
		size_t k = 0;
		int same;
		/* the added token </s> (id 1) splits the text, as HF does */
		char *t = strdup(text->valuestring), *a = t, *b;

		lines++;
		while ((b = strstr(a, "</s>")) != NULL) {
			*b = '\0';
			t5_encode(pc, u, a, &got);
			te_ids_push(&got, 1);
			a = b + 4;
		}
		t5_encode(pc, u, a, &got);
		free(t);
		same = (size_t)cJSON_GetArraySize(want) == got.n;
		cJSON_ArrayForEach(x, want) {
			if (same && (int32_t)x->valuedouble != got.v[k])
				same = 0;
			k++;
		}
		if (same)
			good++;
		else {
			char *w = cJSON_PrintUnformatted(want);

			printf("# t5 line %zu: want %s\n# got:", lines, w);
			for (k = 0; k < got.n; k++)
				printf(" %d", got.v[k]);
			printf("\n");
			free(w);
		}
		te_ids_release(&got);
		cJSON_Delete(e);
	}
	ok(lines > 0 && good == lines, "t5-small %s: %zu/%zu texts give HF's ids",
	   label, good, lines);
	free(exp);
}

static void
t5(const char *data)
{
	char path[4096];
	size_t n, nv;
	char *json;
	cJSON *j, *vocab, *x;
	const cJSON *norm, *model;
	tk_precompiled *pc = NULL;
	tk_unigram *u;
	const char **pieces;
	double *scores;
	te_diag d = {0};
	size_t i = 0;

	snprintf(path, sizeof path, "%s/tokenizers/t5-small/tokenizer.json", data);
	json = slurp(path, &n);
	if (!json) {
		printf("ok %d # skip %s absent\n", ++tap_n, path);
		return;
	}
	j = cJSON_Parse(json);
	model = cJSON_GetObjectItem(j, "model");
	vocab = cJSON_GetObjectItem(model, "vocab");
	norm = cJSON_GetObjectItem(j, "normalizer");
	nv = (size_t)cJSON_GetArraySize(vocab);
	pieces = malloc(nv * sizeof *pieces);
	scores = malloc(nv * sizeof *scores);
	cJSON_ArrayForEach(x, vocab) {
		pieces[i] = cJSON_GetArrayItem(x, 0)->valuestring;
		scores[i] = cJSON_GetArrayItem(x, 1)->valuedouble;
		i++;
	}
	{
		const cJSON *cm = cJSON_GetObjectItem(norm, "precompiled_charsmap");

		if (cJSON_IsString(cm))
			pc = tk_precompiled_from_base64(cm->valuestring,
			                                strlen(cm->valuestring), &d);
	}
	ok(pc != NULL, "t5-small precompiled_charsmap decodes%s%s", pc ? "" : ": ",
	   pc ? "" : d.msg);
	u = tk_unigram_new(nv, pieces, NULL, scores, NULL,
	                   (int32_t)cJSON_GetObjectItem(model, "unk_id")->valuedouble,
	                   0, TK_UNIGRAM_HF, &d);
	ok(u != NULL, "t5-small Unigram builds from %zu pieces", nv);
	if (pc && u) {
		snprintf(path, sizeof path,
		         "%s/reference/tokenizer-expected/t5-small.jsonl", data);
		t5_file(pc, u, path, "reference");
		t5_file(pc, u, "t/data/spm/t5-cases.jsonl", "generated");
	}
	tk_unigram_free(u);
	tk_precompiled_free(pc);
	free(pieces);
	free(scores);
	cJSON_Delete(j);
	free(json);
}

int
main(void)
{
	const char *data = getenv("TOKEMB_DATA");
	te_diag d = {0};

	/* A hand-made vocabulary: Viterbi picks the best total, unknowns fuse. */
	{
		const char *p[] = {"<unk>", "a", "b", "ab", "abc", "c", "<0x78>", "<0x79>"};
		double s[] = {0, -1, -1, -1.5, -10, -1, -5, -5};
		tk_unigram *u = tk_unigram_new(8, p, NULL, s, NULL, 0, 0, TK_UNIGRAM_HF, &d);
		tk_unigram *ub = tk_unigram_new(8, p, NULL, s, NULL, 0, 1, TK_UNIGRAM_HF, &d);
		tk_unigram *nu = tk_unigram_new(8, p, NULL, s, NULL, -1, 0, TK_UNIGRAM_HF, &d);
		te_ids ids = {0};
		tk_spm_spans sp = {0};

		tk_unigram_encode(u, "abc", 3, &ids, &sp, &d);
		ok(ids.n == 2 && ids.v[0] == 3 && ids.v[1] == 5 && sp.v[1].start == 2,
		   "best path ab+c (-2.5) over a+b+c (-3) and abc (-10)");
		ids.n = sp.n = 0;
		tk_unigram_encode(u, "axyzb", 5, &ids, &sp, &d);
		ok(ids.n == 3 && ids.v[1] == 0 && sp.v[1].start == 1 && sp.v[1].end == 4,
		   "a run of unknown characters is one unk");
		ids.n = 0;
		tk_unigram_encode(ub, "axy", 3, &ids, NULL, &d);
		ok(ids.n == 3 && ids.v[1] == 6 && ids.v[2] == 7, "byte fallback gives <0xXX>");
		ids.n = 0;
		tk_unigram_encode(ub, "az", 2, &ids, NULL, &d);
		ok(ids.n == 2 && ids.v[1] == 0, "byte fallback needs every byte, else unk");
		ids.n = 0;
		ok(tk_unigram_encode(nu, "az", 2, &ids, NULL, &d) < 0 && strstr(d.msg, "unk"),
		   "no unk id: unknown text is an error: %s", d.msg);
		ids.n = 0;
		ok(tk_unigram_encode(u, "", 0, &ids, NULL, &d) == 0 && ids.n == 0,
		   "empty input, no ids");
		te_ids_release(&ids);
		tk_spm_spans_release(&sp);
		tk_unigram_free(u);
		tk_unigram_free(ub);
		tk_unigram_free(nu);
	}
	/* Pieces of 300 and 70000 bytes: the path's lengths in 2 and 4 bytes. */
	{
		size_t nx = 300, ny = 70000, lens[] = {5, 1, 1, 1, 1, nx, ny};
		char *x = malloc(nx), *y = malloc(ny), *text = malloc(ny + nx + 2);
		const char *p[] = {"<unk>", "a", "b", "x", "y", x, y};
		double s[] = {0, -1, -1, -10, -10, -1, -1};
		tk_unigram *u2, *u4;
		te_ids ids = {0};
		tk_spm_spans sp = {0};

		memset(x, 'x', nx);
		memset(y, 'y', ny);
		u2 = tk_unigram_new(6, p, lens, s, NULL, 0, 0, TK_UNIGRAM_HF, &d);
		u4 = tk_unigram_new(7, p, lens, s, NULL, 0, 0, TK_UNIGRAM_HF, &d);
		memcpy(text, y, ny);
		memcpy(text + ny, x, nx);
		memcpy(text + ny + nx, "ab", 2);
		tk_unigram_encode(u2, text + ny, nx + 2, &ids, &sp, &d);
		ok(ids.n == 3 && ids.v[0] == 5 && ids.v[1] == 1 && ids.v[2] == 2 &&
		   sp.v[0].end == nx && sp.v[1].start == nx && sp.v[2].end == nx + 2,
		   "a piece of 300 bytes on the best path");
		ids.n = sp.n = 0;
		tk_unigram_encode(u4, text, ny + nx + 2, &ids, &sp, &d);
		ok(ids.n == 4 && ids.v[0] == 6 && ids.v[1] == 5 && ids.v[2] == 1 && ids.v[3] == 2 &&
		   sp.v[0].end == ny && sp.v[1].end == ny + nx && sp.v[3].end == ny + nx + 2,
		   "pieces of 70000 and 300 bytes on the best path");
		te_ids_release(&ids);
		tk_spm_spans_release(&sp);
		tk_unigram_free(u2);
		tk_unigram_free(u4);
		free(x);
		free(y);
		free(text);
	}
	ok(tk_precompiled_new("\x08\0\0\0", 4, &d) == NULL, "short charsmap refused: %s",
	   d.msg);
	ok(tk_precompiled_new("\xff\0\0\0abcd", 8, &d) == NULL, "charsmap trie size "
	   "past the end refused: %s", d.msg);
	ok(tk_precompiled_from_base64("!!", 2, &d) == NULL, "bad base64 refused: %s", d.msg);
	{
		/* random charsmaps: whatever the units say, lookups stay in bounds */
		unsigned char blob[4 + 64 * 4 + 64];
		unsigned seed = 3;
		int built = 0;

		for (int round = 0; round < 500; round++) {
			tk_precompiled *pc;
			ut_buf out = {0};
			const char *rep;
			size_t rl;

			for (size_t i = 0; i < sizeof blob; i++) {
				seed = seed * 1103515245u + 12345u;
				blob[i] = (unsigned char)(seed >> 16);
			}
			blob[0] = 0;	/* trie of 256 bytes = 64 units */
			blob[1] = 1;
			blob[2] = blob[3] = 0;
			pc = tk_precompiled_new(blob, sizeof blob, &d);
			if (!pc)
				continue;
			built++;
			tk_precompiled_normalize(pc, "ab\xc3\xa9 \xef\xbd\x86\xff", 10, &out,
			                         NULL, NULL, &d);
			tk_precompiled_prefix(pc, "\x01\x80\xfe", 3, &rep, &rl);
			ut_buf_release(&out);
			tk_precompiled_free(pc);
		}
		ok(built == 500, "random charsmaps: %d built and used without a fault", built);
	}

	if (!data) {
		printf("ok %d # skip TOKEMB_DATA not set\n", ++tap_n);
		return done_testing();
	}
	t5(data);
	return done_testing();
}
