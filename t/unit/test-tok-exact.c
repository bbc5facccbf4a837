/* test-tok-exact: every tokenizer in $TOKEMB_DATA/tokenizers against every
 * reference encoding: reference/tokenizer-expected/ (jsonl files) (HF tokenizers,
 * tiktoken, sentencepiece), reference/llama.cpp-vocab-tests (.inp/.out) and
 * the hard cases of t/data/tok/expected (t/gen-tok-cases.sh, and uni-*.jsonl of
 * t/gen-uni-tables.sh).  Ids with and
 * without special tokens, and decoding: 100%, no exception list. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "tap.h"
#include "tok/tok_int.h"

static const char *D;

static char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	char *s;
	long k;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	k = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	s = malloc((size_t)k + 1);
	if (s && fread(s, 1, (size_t)k, fp) != (size_t)k) {
		free(s);
		s = NULL;
	}
	fclose(fp);
	if (s) {
		s[k] = 0;
		*n = (size_t)k;
	}
	return s;
}

static int
same_ids(const te_tok_enc *e, const cJSON *want)
{
	size_t i = 0;
	const cJSON *x;

	if ((size_t)cJSON_GetArraySize(want) != e->n)
		return 0;
	cJSON_ArrayForEach(x, want)
		if ((int32_t)x->valuedouble != e->ids[i++])
			return 0;
	return 1;
}

/* The cases of one jsonl file on one tokenizer: key -> encode flags. */
static void
check_jsonl(te_tok *t, const char *tname, const char *path)
{
	static const struct {
		const char *key;
		unsigned flags;
	} keys[] = {
		{"ids", 0},  /* sentencepiece and HF without specials */
		{"ids_with_special", TE_TOK_ADD_SPECIAL},
		{"ids_ordinary", 0},
		{"ids_allow_special", TE_TOK_ALLOW_SPECIAL},
	};
	size_t n, k;
	char *text = slurp(path, &n), *line, *save = NULL;
	int bad[4] = {0}, cnt[4] = {0}, dbad = 0, dcnt = 0, obad = 0, ocnt = 0, mbad = 0, mcnt = 0;
	te_tok_enc e = {0};
	te_diag d = {0};
	size_t window = tk_tok_window;
	int rc;

	if (!text) {
		ok(0, "%s: cannot read %s", tname, path);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line), *tx = cJSON_GetObjectItem(o, "text");
		const char *s;
		size_t len;

		if (!cJSON_IsString(tx)) {
			cJSON_Delete(o);
			continue;
		}
		s = tx->valuestring;
		len = strlen(s);	/* the texts hold no NUL but the one generated case */
		if (strstr(line, "\\u0000"))
			len = 0;	/* tested by the bats suite instead */
		for (k = 0; k < 4; k++) {
			const cJSON *want = cJSON_GetObjectItem(o, keys[k].key);

			if (!want || (!len && strstr(line, "\\u0000")))
				continue;
			cnt[k]++;
			if (te_tok_encode(t, s, len, keys[k].flags, &e, &d) || !same_ids(&e, want)) {
				if (!bad[k]++)
					printf("# %s %s: first mismatch on %.60s\n", tname, keys[k].key, s);
			}
			/* the same ids without spans (pre-tokenized in windows of
			 * a few bytes where the pre-tokenizer allows), the same
			 * count without ids */
			mcnt++;
			tk_tok_window = 4;
			rc = te_tok_encode(t, s, len, keys[k].flags | TE_TOK_NO_OFFSETS, &e, &d);
			tk_tok_window = window;
			if (rc || !same_ids(&e, want) || e.start ||
			    te_tok_encode(t, s, len, keys[k].flags | TE_TOK_COUNT_ONLY, &e, &d) ||
			    e.n != (size_t)cJSON_GetArraySize(want)) {
				if (!mbad++)
					printf("# %s %s: first mismatch without spans or ids on %.60s\n",
					       tname, keys[k].key, s);
			}
		}
		/* offsets: HF gives character offsets, tok-encode --offsets
		 * bytes (a token that splits a character spans all of it) */
		{
			const cJSON *offs = cJSON_GetObjectItem(o, "offsets"), *x;

			if (offs && len && !te_tok_encode(t, s, len, 0, &e, &d)) {
				size_t *cb = malloc((len + 2) * sizeof *cb), nc = 0, q = 0;
				te_tok_fmt f = {.form = TE_TOK_FMT_OFFSETS};
				te_tok_rec r = {0}, w = {0};
				int okk = 1;

				while (q <= len) {	/* character index -> byte offset */
					cb[nc++] = q;
					if (q == len)
						break;
					q++;
					while (q < len && ((unsigned char)s[q] & 0xc0) == 0x80)
						q++;
				}
				cJSON_ArrayForEach(x, offs) {
					size_t a = (size_t)cJSON_GetArrayItem(x, 0)->valuedouble;
					size_t b = (size_t)cJSON_GetArrayItem(x, 1)->valuedouble;
					char buf[64];
					int k2;

					if (a >= nc || b >= nc) {
						okk = 0;
						break;
					}
					k2 = snprintf(buf, sizeof buf, "%s%zu:%zu", w.n ? " " : "", cb[a], cb[b]);
					if (!(w.buf = realloc(w.buf, w.n + (size_t)k2 + 1)))
						abort();
					memcpy(w.buf + w.n, buf, (size_t)k2 + 1);
					w.n += (size_t)k2;
				}
				if (te_tok_format(t, &f, s, len, &e, &r) || r.n != w.n ||
				    (w.n && memcmp(r.buf, w.buf, w.n)))
					okk = 0;
				ocnt++;
				if (!okk && !obad++)
					printf("# %s offsets: first mismatch on %.60s: %.*s\n", tname, s,
					       (int)(r.n < 200 ? r.n : 200), r.buf ? r.buf : "");
				free(cb);
				free(r.buf);
				free(w.buf);
			}
		}
		{
			const cJSON *dec = cJSON_GetObjectItem(o, "decoded_skip_special");
			const cJSON *ids = cJSON_GetObjectItem(o, "ids_with_special");
			unsigned fl = TE_TOK_SKIP_SPECIAL;

			if (!dec) {
				dec = cJSON_GetObjectItem(o, "decoded");
				ids = cJSON_GetObjectItem(o, "ids");
				fl = 0;
			}
			if (cJSON_IsString(dec) && ids && !strstr(line, "\\u0000")) {
				int32_t *v = malloc(((size_t)cJSON_GetArraySize(ids) + 1) * sizeof *v);
				size_t m = 0, outlen;
				char *out = NULL;
				const cJSON *x;

				cJSON_ArrayForEach(x, ids)
					v[m++] = (int32_t)x->valuedouble;
				dcnt++;
				if (te_tok_decode(t, v, m, fl, &out, &outlen, &d) ||
				    outlen != strlen(dec->valuestring) || memcmp(out, dec->valuestring, outlen)) {
					if (!dbad++)
						printf("# %s decode: first mismatch on %.60s\n", tname, s);
				}
				free(out);
				free(v);
			}
		}
		cJSON_Delete(o);
	}
	for (k = 0; k < 4; k++)
		if (cnt[k])
			ok(!bad[k], "%s %s: %d/%d as the reference (%s)", tname, keys[k].key,
			   cnt[k] - bad[k], cnt[k], strrchr(path, '/') + 1);
	if (mcnt)
		ok(!mbad, "%s ids without spans, counts without ids: %d/%d as the reference (%s)",
		   tname, mcnt - mbad, mcnt, strrchr(path, '/') + 1);
	if (ocnt)
		ok(!obad, "%s offsets: %d/%d as the reference (%s)", tname, ocnt - obad, ocnt,
		   strrchr(path, '/') + 1);
	if (dcnt)
		ok(!dbad, "%s decode: %d/%d as the reference (%s)", tname, dcnt - dbad, dcnt,
		   strrchr(path, '/') + 1);
	te_tok_enc_release(&e);
	free(text);
}

/* llama.cpp's vocabulary tests: strings separated by a marker line, and
 * one line of ids per string (HF encode without special tokens). */
static void
check_llamacpp(te_tok *t, const char *tname, const char *base)
{
	char path[1024];
	size_t n, m;
	char *inp, *out, *p, *q;
	int cnt = 0, bad = 0;
	te_tok_enc e = {0};
	te_diag d = {0};
	static const char mark[] = "\n__ggml_vocab_test__\n";

	snprintf(path, sizeof path, "%s/reference/llama.cpp-vocab-tests/%s.inp", D, base);
	inp = slurp(path, &n);
	snprintf(path, sizeof path, "%s/reference/llama.cpp-vocab-tests/%s.out", D, base);
	out = slurp(path, &m);
	if (!inp || !out) {
		ok(0, "%s: cannot read the llama.cpp test %s", tname, base);
		free(inp);
		free(out);
		return;
	}
	p = inp;
	q = out;
	while ((size_t)(p - inp) < n) {
		char *end = strstr(p, mark), *nl;
		te_ids want = {0};

		if (!end)
			break;
		nl = strchr(q, '\n');
		if (!nl)
			nl = q + strlen(q);
		while (q < nl && *q == ' ')
			q++;
		te_ids_parse(q, (size_t)(nl - q), &want, &d);
		cnt++;
		if (te_tok_encode(t, p, (size_t)(end - p), 0, &e, &d) || e.n != want.n ||
		    (e.n && memcmp(e.ids, want.v, e.n * sizeof *e.ids))) {
			if (!bad++)
				printf("# %s: first mismatch on %.*s\n", base, (int)(end - p > 60 ? 60 : end - p), p);
		}
		te_ids_release(&want);
		p = end + sizeof mark - 1;
		q = *nl ? nl + 1 : nl;
	}
	ok(cnt > 40 && !bad, "%s on %s: %d/%d as llama.cpp's recorded HF ids", tname, base,
	   cnt - bad, cnt);
	free(inp);
	free(out);
	te_tok_enc_release(&e);
}

int
main(void)
{
	static const struct {
		const char *model;      /* under tokenizers/ */
		const char *expected;   /* reference/tokenizer-expected/NAME.jsonl or NULL */
		const char *generated;  /* t/data/tok/expected/NAME.jsonl or NULL */
		const char *llamacpp[3];
	} cases[] = {
		{"all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "hf-all-MiniLM-L6-v2", {NULL}},
		{"all-mpnet-base-v2", NULL, "hf-all-mpnet-base-v2", {NULL}},
		{"bert-base-uncased", "bert-base-uncased", "hf-bert-base-uncased", {"ggml-vocab-bert-bge.gguf"}},
		{"gemma3", "gemma3", "hf-gemma3", {NULL}},
		{"gpt-4-cl100k-hf", "gpt-4-cl100k-hf", "hf-gpt-4-cl100k-hf", {NULL}},
		{"gpt-4o-hf", "gpt-4o-hf", "hf-gpt-4o-hf", {NULL}},
		{"gpt2/tokenizer.json", "gpt2", "hf-gpt2", {"ggml-vocab-gpt-2.gguf"}},
		{"llama3/tokenizer.json", "llama3", "hf-llama3", {"ggml-vocab-llama-bpe.gguf"}},
		{"phi-3-mini", "phi-3-mini", "hf-phi-3-mini", {"ggml-vocab-phi-3.gguf", "ggml-vocab-llama-spm.gguf"}},
		{"qwen3", "qwen3", "hf-qwen3", {"ggml-vocab-qwen2.gguf"}},
		{"t5-small", "t5-small", "hf-t5-small", {NULL}},
		{"llama2/tokenizer.model", "sentencepiece-llama2", "spm-llama2", {NULL}},
		{"llama3/original_tokenizer.model", NULL, "tt-llama3-original", {NULL}},
		{"tiktoken/cl100k_base.tiktoken", "tiktoken-cl100k_base", "tt-cl100k_base", {NULL}},
		{"tiktoken/o200k_base.tiktoken", "tiktoken-o200k_base", "tt-o200k_base", {NULL}},
		{"tiktoken/p50k_base.tiktoken", "tiktoken-p50k_base", "tt-p50k_base", {NULL}},
		{"tiktoken/r50k_base.tiktoken", "tiktoken-r50k_base", "tt-r50k_base", {NULL}},
		{"gguf-vocab/ggml-vocab-bert-bge.gguf", NULL, NULL, {"ggml-vocab-bert-bge.gguf"}},
		{"gguf-vocab/ggml-vocab-gpt-2.gguf", NULL, NULL, {"ggml-vocab-gpt-2.gguf"}},
		{"gguf-vocab/ggml-vocab-llama-spm.gguf", NULL, NULL, {"ggml-vocab-llama-spm.gguf"}},
		{"gguf-vocab/ggml-vocab-phi-3.gguf", NULL, NULL, {"ggml-vocab-phi-3.gguf"}},
		{"gguf-vocab/ggml-vocab-starcoder.gguf", NULL, NULL, {"ggml-vocab-starcoder.gguf"}},
	};
	size_t i, j, k;
	char path[1024];

	D = getenv("TOKEMB_DATA");
	snprintf(path, sizeof path, "%s/tokenizers", D ? D : "");
	if (!D || access(path, R_OK)) {
		printf("ok 1 # skip needs $TOKEMB_DATA/tokenizers (TOKEMB_DATA=../shared/data)\n1..1\n");
		return 0;
	}
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		te_diag d = {0};
		te_tok *t;

		snprintf(path, sizeof path, "%s/tokenizers/%s", D, cases[i].model);
		t = te_tok_load(path, &d);
		ok(t != NULL, "%s loads%s%s", cases[i].model, t ? "" : ": ", t ? "" : d.msg);
		if (!t)
			continue;
		if (cases[i].expected) {
			snprintf(path, sizeof path, "%s/reference/tokenizer-expected/%s.jsonl", D,
			         cases[i].expected);
			check_jsonl(t, cases[i].model, path);
		}
		if (cases[i].generated) {
			snprintf(path, sizeof path, "t/data/tok/expected/%s.jsonl", cases[i].generated);
			check_jsonl(t, cases[i].model, path);
			/* documents of bench/tok-stress.js that once differed */
			/* (named after the tokenizer.json's folder) */
			/* (uni-: classes and regexes, uni-norm-: normalization,
			 * uni-offsets-: offsets, uni-graph-: grapheme clusters) */
			static const char *const part[] = {"", "norm-", "offsets-", "graph-"};

			k = strcspn(cases[i].model, "/");
			for (j = 0; j < sizeof part / sizeof part[0]; j++) {
				snprintf(path, sizeof path, "t/data/tok/expected/uni-%s%.*s.jsonl",
				         part[j], (int)k, cases[i].model);
				if ((!cases[i].model[k] || !strcmp(cases[i].model + k, "/tokenizer.json")) &&
				    !access(path, R_OK))
					check_jsonl(t, cases[i].model, path);
			}
		}
		for (j = 0; j < 3 && cases[i].llamacpp[j]; j++)
			check_llamacpp(t, cases[i].model, cases[i].llamacpp[j]);
		te_tok_free(t);
	}
	return done_testing();
}
