/* unigram-t5.c: benchmark driver: t5-small's tokenizer.json pipeline done
 * minimally (Precompiled normalizer, WhitespaceSplit, Metaspace, Unigram)
 * through libtokemb, one line of ids per NUL-terminated input document.
 * Built by bench/spm-fuzz-t5.sh; not installed. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/spm_int.h"

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

int
main(int argc, char **argv)
{
	FILE *fp;
	char *json, *line = NULL;
	long sz;
	size_t cap = 0, nv, i = 0;
	ssize_t n;
	cJSON *j, *vocab, *x, *model;
	const char **pieces;
	double *scores;
	te_diag d = {0};
	tk_precompiled *pc;
	tk_unigram *u;
	ut_buf nb = {0}, word = {0};
	te_ids ids = {0};

	if (argc != 3) {
		fprintf(stderr, "usage: unigram-t5 TOKENIZER_JSON FILE\n");
		return 2;
	}
	fp = fopen(argv[1], "rb");
	if (!fp)
		return 1;
	fseek(fp, 0, SEEK_END);
	sz = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	json = malloc((size_t)sz + 1);
	if (fread(json, 1, (size_t)sz, fp) != (size_t)sz)
		return 1;
	json[sz] = 0;
	fclose(fp);
	j = cJSON_Parse(json);
	model = cJSON_GetObjectItem(j, "model");
	vocab = cJSON_GetObjectItem(model, "vocab");
	nv = (size_t)cJSON_GetArraySize(vocab);
	pieces = malloc(nv * sizeof *pieces);
	scores = malloc(nv * sizeof *scores);
	cJSON_ArrayForEach(x, vocab) {
		pieces[i] = cJSON_GetArrayItem(x, 0)->valuestring;
		scores[i] = cJSON_GetArrayItem(x, 1)->valuedouble;
		i++;
	}
	x = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "normalizer"), "precompiled_charsmap");
	pc = tk_precompiled_from_base64(x->valuestring, strlen(x->valuestring), &d);
	u = tk_unigram_new(nv, pieces, NULL, scores, NULL,
	                   (int32_t)cJSON_GetObjectItem(model, "unk_id")->valuedouble,
	                   0, TK_UNIGRAM_HF, &d);
	if (!pc || !u) {
		fprintf(stderr, "unigram-t5: %s\n", d.msg);
		return 1;
	}
	fp = strcmp(argv[2], "-") ? fopen(argv[2], "rb") : stdin;
	while (fp && (n = getdelim(&line, &cap, '\0', fp)) >= 0) {
		if (n > 0 && line[n - 1] == '\0')
			n--;
		ids.n = 0;
		nb.n = 0;
		tk_precompiled_normalize(pc, line, (size_t)n, &nb, NULL, NULL, &d);
		for (size_t a = 0; a < nb.n;) {
			size_t w, b;

			if ((w = ws_len(nb.s + a, nb.n - a)) > 0) {
				a += w;
				continue;
			}
			b = a;
			while (b < nb.n && !ws_len(nb.s + b, nb.n - b))
				b++;
			word.n = 0;
			ut_buf_put(&word, "\xe2\x96\x81", 3);
			ut_buf_put(&word, nb.s + a, b - a);
			{
				size_t s0 = 0;

				for (size_t k = 3; k + 3 <= word.n; k++)
					if (memcmp(word.s + k, "\xe2\x96\x81", 3) == 0) {
						tk_unigram_encode(u, word.s + s0, k - s0, &ids, NULL, &d);
						s0 = k;
					}
				tk_unigram_encode(u, word.s + s0, word.n - s0, &ids, NULL, &d);
			}
			a = b;
		}
		te_ids_write(stdout, ids.v, ids.n);
	}
	te_ids_release(&ids);
	ut_buf_release(&nb);
	ut_buf_release(&word);
	tk_unigram_free(u);
	tk_precompiled_free(pc);
	free(pieces);
	free(scores);
	free(line);
	cJSON_Delete(j);
	free(json);
	return 0;
}
