/* test-gguf.c: llama.cpp GGUF vocabularies: metadata read exactly, bounds
 * checked, and "llama" vocabularies encoding as llama.cpp's recorded
 * Hugging Face outputs (reference/llama.cpp-vocab-tests). */
#include <stdlib.h>
#include <string.h>

#include "spm_int.h"
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
check_vocab_tests(te_spm *m, const char *data, const char *stem)
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
		te_spm_encode(m, s, (size_t)(e - s), 0, &ids, NULL, &d);
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
		te_gguf_vocab *g = te_gguf_vocab_load_mem(buf, len, "trunc", &d);

		tried++;
		if (g || !d.msg[0])
			bad++;
		te_gguf_vocab_free(g);
	}
	ok(bad == 0, "every truncated file refused with a message (%zu tried)", tried);
	for (int round = 0; round < 60; round++) {
		te_diag d = {0};
		te_gguf_vocab *g;

		memcpy(copy, buf, n);
		for (int k = 0; k < 6; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % (n < 4096 ? n : 4096)] ^= (char)(1 + (seed >> 3) % 255);
		}
		g = te_gguf_vocab_load_mem(copy, n, "flip", &d);
		if (g) {
			te_spm *m = te_spm_from_gguf(g, &d);

			if (m) {
				te_ids ids = {0};

				te_spm_encode(m, "Hello world", 11, 0, &ids, NULL, &d);
				te_ids_release(&ids);
			}
			te_spm_free(m);
		}
		te_gguf_vocab_free(g);
	}
	ok(1, "corrupted GGUF headers: no crash");
	free(copy);
}

int
main(void)
{
	const char *data = getenv("TOKEMB_DATA");
	char path[4096];
	te_diag d = {0};
	te_gguf_vocab *g;

	ok(te_gguf_vocab_load_mem("GGUF", 4, "x", &d) == NULL && strstr(d.msg, "truncated"),
	   "header cut short refused: %s", d.msg);
	ok(te_gguf_vocab_load_mem("GGML\3\0\0\0", 8, "x", &d) == NULL &&
	   strstr(d.msg, "magic"), "wrong magic refused: %s", d.msg);
	{
		static const char big[] = "GGUF\3\0\0\0" "\0\0\0\0\0\0\0\0"
		                          "\1\0\0\0\0\0\0\0" "\xff\xff\xff\xff\xff\xff\xff\x7f";

		ok(te_gguf_vocab_load_mem(big, sizeof big - 1, "x", &d) == NULL,
		   "huge key length refused: %s", d.msg);
	}
	if (!data) {
		printf("ok %d # skip TOKEMB_DATA not set\n", ++tap_n);
		return done_testing();
	}
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-llama-spm.gguf", data);
	g = te_gguf_vocab_load(path, &d);
	if (!g && strstr(d.msg, "No such file")) {
		printf("ok %d # skip %s absent\n", ++tap_n, path);
		return done_testing();
	}
	ok(g && strcmp(g->model, "llama") == 0 && g->n_tokens == 32000 && g->scores &&
	   g->token_types && g->bos_id == 1 && g->eos_id == 2 && g->unk_id == 0,
	   "llama-spm: model llama, 32000 tokens with scores and types, bos 1 eos 2 unk 0%s%s",
	   g ? "" : ": ", g ? "" : d.msg);
	if (g) {
		te_spm *m = te_spm_from_gguf(g, &d);

		ok(m != NULL, "llama-spm builds a SentencePiece model%s%s", m ? "" : ": ",
		   m ? "" : d.msg);
		if (m) {
			check_vocab_tests(m, data, "ggml-vocab-llama-spm.gguf");
			te_spm_free(m);
		}
		te_gguf_vocab_free(g);
	}
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-phi-3.gguf", data);
	g = te_gguf_vocab_load(path, &d);
	ok(g && strcmp(g->model, "llama") == 0 && g->n_tokens == 32064,
	   "phi-3: model llama, 32064 tokens%s%s", g ? "" : ": ", g ? "" : d.msg);
	if (g) {
		te_spm *m = te_spm_from_gguf(g, &d);

		ok(m != NULL, "phi-3 builds a SentencePiece model%s%s", m ? "" : ": ",
		   m ? "" : d.msg);
		if (m) {
			check_vocab_tests(m, data, "ggml-vocab-phi-3.gguf");
			te_spm_free(m);
		}
		te_gguf_vocab_free(g);
	}
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-gpt-2.gguf", data);
	g = te_gguf_vocab_load(path, &d);
	ok(g && strcmp(g->model, "gpt2") == 0 && g->n_tokens == 50257 &&
	   g->n_merges == 50000 && g->merges && strcmp(g->merges[0], "\xc4\xa0 t") == 0,
	   "gpt-2: model gpt2, 50257 tokens, 50000 merges, first 'Ġ t'%s%s",
	   g ? "" : ": ", g ? "" : d.msg);
	if (g) {
		ok(te_spm_from_gguf(g, &d) == NULL && strstr(d.msg, "gpt2"),
		   "gpt2 vocabulary is not taken for SentencePiece: %s", d.msg);
		te_gguf_vocab_free(g);
	}
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-starcoder.gguf", data);
	g = te_gguf_vocab_load(path, &d);
	ok(g && strcmp(g->model, "gpt2") == 0 && g->pre && strcmp(g->pre, "starcoder") == 0 &&
	   g->n_tokens == 49152 && g->n_merges == 48872 && g->arch &&
	   strcmp(g->arch, "starcoder2") == 0,
	   "starcoder: gpt2, pre starcoder, 49152 tokens, 48872 merges, arch starcoder2%s%s",
	   g ? "" : ": ", g ? "" : d.msg);
	te_gguf_vocab_free(g);
	snprintf(path, sizeof path, "%s/tokenizers/gguf-vocab/ggml-vocab-bert-bge.gguf", data);
	g = te_gguf_vocab_load(path, &d);
	ok(g && strcmp(g->model, "bert") == 0 && g->n_tokens == 30522 &&
	   g->token_lens[101] == 5 && strcmp(g->tokens[101], "[CLS]") == 0,
	   "bert-bge: model bert, 30522 tokens, 101 is [CLS]%s%s",
	   g ? "" : ": ", g ? "" : d.msg);
	if (g)
		printf("# bert-bge: cls %d sep %d pad %d unk %d mask %d\n", g->cls_id,
		       g->sep_id, g->pad_id, g->unk_id, g->mask_id);
	te_gguf_vocab_free(g);

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
