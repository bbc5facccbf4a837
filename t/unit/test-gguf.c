/* test-gguf.c: llama.cpp GGUF vocabularies: metadata read exactly, bounds
 * checked, and "llama" vocabularies encoding as llama.cpp's recorded
 * Hugging Face outputs (reference/llama.cpp-vocab-tests). */
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

/* Compare encodings of every .inp string with the .out line. */
static void
check_vocab_tests(tk_spm *m, const char *data, const char *stem)
{
	char p1[4096], p2[4096];
	size_t ni, no, total = 0, good = 0;
	char *inp, *out, *s, *o;
	static const char sep[] = "\n__ggml_vocab_test__\n";

	snprintf(p1, sizeof p1, "%s/reference/llama.cpp-vocab-tests/%s.inp", data, stem);
	snprintf(p2, sizeof p2, "%s/reference/llama.cpp-vocab-tests/%s.out", data, stem);
	inp = slurp(p1, &ni);
	out = slurp(p2, &no);
	if (!inp || !out) {
		printf("ok %d # skip %s tests absent\n", ++tap_n, stem);
		free(inp);
		free(out);
		return;
	}
	s = inp;
	o = out;
	while (*s || s < inp + ni) {
		char *e = strstr(s, sep), *oe;
		te_ids ids = {0}, want = {0};
		te_diag d = {0};
		char *line;

		if (!e)
			break;
		oe = strchr(o, '\n');
		if (!oe)
			break;
		line = o;
		while (line < oe && *line == ' ')
			line++;
		te_ids_parse(line, (size_t)(oe - line), &want, &d);
		tk_spm_encode(m, s, (size_t)(e - s), 0, &ids, NULL, &d);
		total++;
		if (ids.n == want.n && (ids.n == 0 || !memcmp(ids.v, want.v, ids.n * sizeof *ids.v)))
			good++;
		else {
			printf("# %s: case %zu '%.*s' differs\n#  want:", stem, total,
			       (int)(e - s), s);
			for (size_t i = 0; i < want.n; i++)
				printf(" %d", want.v[i]);
			printf("\n#  got: ");
			for (size_t i = 0; i < ids.n; i++)
				printf(" %d", ids.v[i]);
			printf("\n");
		}
		te_ids_release(&ids);
		te_ids_release(&want);
		s = e + sizeof sep - 1;
		o = oe + 1;
	}
	ok(total == 46 && good == total, "%s: %zu/%zu llama.cpp vocab tests exact",
	   stem, good, total);
	free(inp);
	free(out);
}

static void
check_robust(const char *buf, size_t n)
{
	size_t bad = 0, tried = 0;
	char *copy = malloc(n);
	unsigned seed = 99;

	for (size_t len = 0; len < n; len += (len < 3000 ? 1 : n / 50)) {
		te_diag d = {0};
		tk_gguf_vocab *g = tk_gguf_vocab_load_mem(buf, len, "trunc", &d);

		tried++;
		if (g || !d.msg[0])
			bad++;
		tk_gguf_vocab_free(g);
	}
	ok(bad == 0, "every truncated file refused with a message (%zu tried)", tried);
	for (int round = 0; round < 60; round++) {
		te_diag d = {0};
		tk_gguf_vocab *g;

		memcpy(copy, buf, n);
		for (int k = 0; k < 6; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % (n < 4096 ? n : 4096)] ^= (char)(1 + (seed >> 3) % 255);
		}
		g = tk_gguf_vocab_load_mem(copy, n, "flip", &d);
		if (g) {
			tk_spm *m = tk_spm_from_gguf(g, &d);

			if (m) {
				te_ids ids = {0};

				tk_spm_encode(m, "Hello world", 11, 0, &ids, NULL, &d);
				te_ids_release(&ids);
			}
			tk_spm_free(m);
		}
		tk_gguf_vocab_free(g);
	}
	ok(1, "corrupted GGUF headers: no crash");
	free(copy);
}

/* A tiny GGUF writer for a vocabulary made here. */
typedef struct gbuf {
	unsigned char b[4096];
	size_t n;
} gbuf;

static void
put(gbuf *g, const void *p, size_t n)
{
	memcpy(g->b + g->n, p, n);
	g->n += n;
}

static void put_u32(gbuf *g, uint32_t v) { put(g, &v, 4); }
static void put_u64(gbuf *g, uint64_t v) { put(g, &v, 8); }

static void
put_str(gbuf *g, const char *s)
{
	put_u64(g, strlen(s));
	put(g, s, strlen(s));
}

static void
make_tiny(gbuf *g)
{
	static const char *tok[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b",
	                            "\xe2\x96\x81" "a", "\xe2\x96\x81" "ab"};
	static const float sc[] = {0, 0, 0, -1, -2, -3, -0.5f, -0.1f};
	static const int32_t ty[] = {2, 3, 3, 1, 1, 1, 1, 1};

	g->n = 0;
	put(g, "GGUF", 4);
	put_u32(g, 3);
	put_u64(g, 0);
	put_u64(g, 7);
	put_str(g, "general.architecture");
	put_u32(g, 8);
	put_str(g, "llama");
	put_str(g, "tokenizer.ggml.model");
	put_u32(g, 8);
	put_str(g, "llama");
	put_str(g, "tokenizer.ggml.tokens");
	put_u32(g, 9);
	put_u32(g, 8);
	put_u64(g, 8);
	for (int i = 0; i < 8; i++)
		put_str(g, tok[i]);
	put_str(g, "tokenizer.ggml.scores");
	put_u32(g, 9);
	put_u32(g, 6);
	put_u64(g, 8);
	put(g, sc, sizeof sc);
	put_str(g, "tokenizer.ggml.token_type");
	put_u32(g, 9);
	put_u32(g, 5);
	put_u64(g, 8);
	put(g, ty, sizeof ty);
	put_str(g, "tokenizer.ggml.bos_token_id");
	put_u32(g, 4);
	put_u32(g, 1);
	put_str(g, "tokenizer.ggml.add_bos_token");
	put_u32(g, 7);
	put(g, "\1", 1);
}

/* Ids stored as floats too big for any integer, or NaN: no id (and no
 * undefined cast: make SAN=1 checks float-cast-overflow). */
static void
check_float_ids(void)
{
	gbuf g;
	te_diag d = {0};
	tk_gguf_vocab *v;
	float big = 1e30f;
	double nan = 0.0 / 0.0;
	uint64_t nkv = 9;

	make_tiny(&g);
	memcpy(g.b + 16, &nkv, 8);
	put_str(&g, "tokenizer.ggml.eos_token_id");
	put_u32(&g, 6);
	put(&g, &big, 4);
	put_str(&g, "tokenizer.ggml.padding_token_id");
	put_u32(&g, 12);
	put(&g, &nan, 8);
	v = tk_gguf_vocab_load_mem(g.b, g.n, "floats", &d);
	ok(!v || (v->eos_id == -1 && v->pad_id == -1), "ids stored as 1e30 and NaN: no id%s%s",
	   v ? "" : ": ", v ? "" : d.msg);
	tk_gguf_vocab_free(v);
}

static int
ids_are(const te_ids *a, int n, const int32_t *want)
{
	return a->n == (size_t)n && (n == 0 || !memcmp(a->v, want, (size_t)n * 4));
}

static void
check_tiny(void)
{
	gbuf g;
	te_diag d = {0};
	tk_gguf_vocab *v;
	tk_spm *m;

	make_tiny(&g);
	v = tk_gguf_vocab_load_mem(g.b, g.n, "tiny", &d);
	ok(v && !strcmp(v->model, "llama") && !strcmp(v->arch, "llama") &&
	   v->n_tokens == 8 && v->scores[7] == -0.1f && v->token_types[0] == 2 &&
	   v->bos_id == 1 && v->eos_id == -1 && v->add_bos == 1 && v->add_eos == -1,
	   "hand-made GGUF: fields read%s%s", v ? "" : ": ", v ? "" : d.msg);
	m = v ? tk_spm_from_gguf(v, &d) : NULL;
	ok(m != NULL, "hand-made GGUF builds a model%s%s", m ? "" : ": ", m ? "" : d.msg);
	if (m) {
		te_ids ids = {0};
		ut_buf out = {0};
		static const int32_t w1[] = {7}, w2[] = {3, 5, 4}, w3[] = {1, 3, 0};

		tk_spm_encode(m, "ab", 2, 0, &ids, NULL, &d);
		ok(ids_are(&ids, 1, w1), "BPE by score: 'ab' is \u2581ab");
		ids.n = 0;
		tk_spm_encode(m, "ba", 2, 0, &ids, NULL, &d);
		ok(ids_are(&ids, 3, w2), "no merge: 'ba' is \u2581 b a");
		ids.n = 0;
		tk_spm_encode(m, "cd", 2, TK_SPM_ADD_BOS, &ids, NULL, &d);
		ok(ids_are(&ids, 3, w3), "BOS, then unknown 'cd' is one <unk>");
		tk_spm_decode(m, (const int32_t[]){1, 7, 5, 0}, 4, &out, &d);
		ok(out.s && !strcmp(out.s, "abb \xe2\x81\x87 "), "decode: '%s'", out.s);
		te_ids_release(&ids);
		ut_buf_release(&out);
	}
	tk_spm_free(m);
	tk_gguf_vocab_free(v);
	/* every truncation of it is refused */
	{
		size_t bad = 0;

		for (size_t len = 0; len < g.n; len++) {
			v = tk_gguf_vocab_load_mem(g.b, len, "cut", &d);
			if (v || !d.msg[0])
				bad++;
			tk_gguf_vocab_free(v);
		}
		ok(bad == 0, "hand-made GGUF cut short: refused");
	}
}

int
main(void)
{
	const char *data = getenv("TOKEMB_DATA");
	char path[4096];
	te_diag d = {0};
	tk_gguf_vocab *g;

	ok(tk_gguf_vocab_load_mem("GGUF", 4, "x", &d) == NULL && strstr(d.msg, "truncated"),
	   "header cut short refused: %s", d.msg);
	ok(tk_gguf_vocab_load_mem("GGML\3\0\0\0", 8, "x", &d) == NULL &&
	   strstr(d.msg, "magic"), "wrong magic refused: %s", d.msg);
	{
		static const char big[] = "GGUF\3\0\0\0" "\0\0\0\0\0\0\0\0"
		                          "\1\0\0\0\0\0\0\0" "\xff\xff\xff\xff\xff\xff\xff\x7f"
		                          "\0\0\0\0\0\0\0\0";

		ok(tk_gguf_vocab_load_mem(big, sizeof big - 1, "x", &d) == NULL &&
		   strstr(d.msg, "past the end"), "huge key length refused: %s", d.msg);
	}
	check_tiny();
	check_float_ids();
	if (!data) {
		printf("ok %d # skip TOKEMB_DATA not set\n", ++tap_n);
		return done_testing();
	}
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-llama-spm.gguf", data);
	g = tk_gguf_vocab_load(path, &d);
	if (!g && strstr(d.msg, "No such file")) {
		printf("ok %d # skip %s absent\n", ++tap_n, path);
		return done_testing();
	}
	ok(g && strcmp(g->model, "llama") == 0 && g->n_tokens == 32000 && g->scores &&
	   g->token_types && g->bos_id == 1 && g->eos_id == 2 && g->unk_id == 0,
	   "llama-spm: model llama, 32000 tokens with scores and types, bos 1 eos 2 unk 0%s%s",
	   g ? "" : ": ", g ? "" : d.msg);
	if (g) {
		tk_spm *m = tk_spm_from_gguf(g, &d);

		ok(m != NULL, "llama-spm builds a SentencePiece model%s%s", m ? "" : ": ",
		   m ? "" : d.msg);
		if (m) {
			check_vocab_tests(m, data, "ggml-vocab-llama-spm.gguf");
			tk_spm_free(m);
		}
		tk_gguf_vocab_free(g);
	}
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-phi-3.gguf", data);
	g = tk_gguf_vocab_load(path, &d);
	ok(g && strcmp(g->model, "llama") == 0 && g->n_tokens == 32064,
	   "phi-3: model llama, 32064 tokens%s%s", g ? "" : ": ", g ? "" : d.msg);
	if (g) {
		tk_spm *m = tk_spm_from_gguf(g, &d);

		ok(m != NULL, "phi-3 builds a SentencePiece model%s%s", m ? "" : ": ",
		   m ? "" : d.msg);
		if (m) {
			check_vocab_tests(m, data, "ggml-vocab-phi-3.gguf");
			tk_spm_free(m);
		}
		tk_gguf_vocab_free(g);
	}
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-gpt-2.gguf", data);
	g = tk_gguf_vocab_load(path, &d);
	ok(g && strcmp(g->model, "gpt2") == 0 && g->n_tokens == 50257 &&
	   g->n_merges == 50000 && g->merges && strcmp(g->merges[0], "\xc4\xa0 t") == 0,
	   "gpt-2: model gpt2, 50257 tokens, 50000 merges, first 'Ġ t'%s%s",
	   g ? "" : ": ", g ? "" : d.msg);
	if (g) {
		ok(tk_spm_from_gguf(g, &d) == NULL && strstr(d.msg, "gpt2"),
		   "gpt2 vocabulary is not taken for SentencePiece: %s", d.msg);
		tk_gguf_vocab_free(g);
	}
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-starcoder.gguf", data);
	g = tk_gguf_vocab_load(path, &d);
	ok(g && strcmp(g->model, "gpt2") == 0 && g->pre && strcmp(g->pre, "starcoder") == 0 &&
	   g->n_tokens == 49152 && g->n_merges == 48872 && g->arch &&
	   strcmp(g->arch, "starcoder2") == 0,
	   "starcoder: gpt2, pre starcoder, 49152 tokens, 48872 merges, arch starcoder2%s%s",
	   g ? "" : ": ", g ? "" : d.msg);
	tk_gguf_vocab_free(g);
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-bert-bge.gguf", data);
	g = tk_gguf_vocab_load(path, &d);
	ok(g && strcmp(g->model, "bert") == 0 && g->n_tokens == 30522 &&
	   g->token_lens[101] == 5 && strcmp(g->tokens[101], "[CLS]") == 0,
	   "bert-bge: model bert, 30522 tokens, 101 is [CLS]%s%s",
	   g ? "" : ": ", g ? "" : d.msg);
	if (g)
		printf("# bert-bge: cls %d sep %d pad %d unk %d mask %d\n", g->cls_id,
		       g->sep_id, g->pad_id, g->unk_id, g->mask_id);
	tk_gguf_vocab_free(g);

	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-llama-spm.gguf", data);
	{
		size_t n;
		char *buf = slurp(path, &n);

		if (buf)
			check_robust(buf, n);
		free(buf);
	}
	return done_testing();
}
