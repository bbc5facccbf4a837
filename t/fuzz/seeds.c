/* seeds: write the seed corpus of each harness of t/fuzz under DIR
 * (DIR/<harness>/...): the fixtures of t/data with the selector byte their
 * harness reads first, and small files made here in the formats t/data has
 * none of (GGUF, .tiktoken, word2vec binary, TEVEC, token-vector streams).
 * Run from the repository root by t/fuzz/run.sh: seeds DIR. */
#include <errno.h>
#include <glob.h>
#include <sys/stat.h>

#include "fuzz.h"

static const char *out;

static FILE *
create(const char *harness, const char *name)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", out, harness);
	if (mkdir(path, 0755) && errno != EEXIST)
		return NULL;
	snprintf(path, sizeof path, "%s/%s/%s", out, harness, name);
	if (!(fp = fopen(path, "wb")))
		fprintf(stderr, "seeds: %s: %s\n", path, strerror(errno));
	return fp;
}

static int
done(FILE *fp)
{
	return fp && fclose(fp) == 0 ? 0 : -1;
}

/* Every file matching pattern, with the selector byte sel in front (-1:
 * none), as a seed of harness. */
static int
fixtures(const char *harness, const char *pattern, int sel)
{
	glob_t g;
	int rc = 0;

	if (glob(pattern, 0, NULL, &g))
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t n;
		unsigned char *b = fz_read(g.gl_pathv[i], &n);
		char name[256], *p;
		FILE *fp;

		if (!b)
			continue;
		snprintf(name, sizeof name, "%s", g.gl_pathv[i]);
		for (p = name; *p; p++)
			if (*p == '/')
				*p = '_';
		fp = create(harness, name);
		if (fp && sel >= 0)
			fputc(sel, fp);
		if (!fp || fwrite(b, 1, n, fp) != n || done(fp))
			rc = -1;
		free(b);
	}
	globfree(&g);
	return rc;
}

static void put_u32(FILE *fp, uint32_t v) { fwrite(&v, 4, 1, fp); }
static void put_u64(FILE *fp, uint64_t v) { fwrite(&v, 8, 1, fp); }

static void
put_str(FILE *fp, const char *s)
{
	put_u64(fp, strlen(s));
	fputs(s, fp);
}

/* GGUF vocabularies: a SentencePiece (llama) one and a GPT-2 BPE one. */
static int
gguf(void)
{
	static const char *spm[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b",
	                            "\xe2\x96\x81" "a", "\xe2\x96\x81" "ab"};
	static const char *bpe[] = {"a", "b", "c", "\xc4\xa0", "ab", ("\xc4\xa0" "a"), "<|endoftext|>"};
	static const float sc[] = {0, 0, 0, -1, -2, -3, -0.5f, -0.1f};
	static const int32_t ty[] = {2, 3, 3, 1, 1, 1, 1, 1};
	FILE *fp = create("gguf", "llama.gguf");
	int i;

	if (!fp)
		return -1;
	fputs("GGUF", fp);
	put_u32(fp, 3), put_u64(fp, 0), put_u64(fp, 6);
	put_str(fp, "general.architecture"), put_u32(fp, 8), put_str(fp, "llama");
	put_str(fp, "tokenizer.ggml.model"), put_u32(fp, 8), put_str(fp, "llama");
	put_str(fp, "tokenizer.ggml.tokens"), put_u32(fp, 9), put_u32(fp, 8), put_u64(fp, 8);
	for (i = 0; i < 8; i++)
		put_str(fp, spm[i]);
	put_str(fp, "tokenizer.ggml.scores"), put_u32(fp, 9), put_u32(fp, 6), put_u64(fp, 8);
	fwrite(sc, sizeof sc, 1, fp);
	put_str(fp, "tokenizer.ggml.token_type"), put_u32(fp, 9), put_u32(fp, 5), put_u64(fp, 8);
	fwrite(ty, sizeof ty, 1, fp);
	put_str(fp, "tokenizer.ggml.bos_token_id"), put_u32(fp, 4), put_u32(fp, 1);
	if (done(fp) || !(fp = create("gguf", "gpt2.gguf")))
		return -1;
	fputs("GGUF", fp);
	put_u32(fp, 3), put_u64(fp, 0), put_u64(fp, 5);
	put_str(fp, "general.architecture"), put_u32(fp, 8), put_str(fp, "gpt2");
	put_str(fp, "tokenizer.ggml.model"), put_u32(fp, 8), put_str(fp, "gpt2");
	put_str(fp, "tokenizer.ggml.tokens"), put_u32(fp, 9), put_u32(fp, 8), put_u64(fp, 7);
	for (i = 0; i < 7; i++)
		put_str(fp, bpe[i]);
	put_str(fp, "tokenizer.ggml.merges"), put_u32(fp, 9), put_u32(fp, 8), put_u64(fp, 2);
	put_str(fp, "a b"), put_str(fp, "\xc4\xa0 a");
	put_str(fp, "tokenizer.ggml.eos_token_id"), put_u32(fp, 4), put_u32(fp, 6);
	return done(fp);
}

/* A .tiktoken of the 256 bytes and a few merges ("base64 rank" lines). */
static int
tiktoken(void)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char *more[] = {"th", "he", "the", " t", " the", "in", "ing", " a"};
	FILE *fp = create("tiktoken", "bytes.tiktoken");
	unsigned rank = 0;

	if (!fp)
		return -1;
	for (unsigned i = 0; i < 256 + sizeof more / sizeof *more; i++) {
		unsigned char s[8];
		size_t n = i < 256 ? 1 : strlen(more[i - 256]);

		if (i < 256)
			s[0] = (unsigned char)i;
		else
			memcpy(s, more[i - 256], n);
		for (size_t k = 0; k < n; k += 3) {
			unsigned v = (unsigned)s[k] << 16 | (k + 1 < n ? (unsigned)s[k + 1] << 8 : 0) |
			             (k + 2 < n ? s[k + 2] : 0);

			fputc(b64[v >> 18 & 63], fp);
			fputc(b64[v >> 12 & 63], fp);
			fputc(k + 1 < n ? b64[v >> 6 & 63] : '=', fp);
			fputc(k + 2 < n ? b64[v & 63] : '=', fp);
		}
		fprintf(fp, " %u\n", rank++);
	}
	return done(fp);
}

/* Binary vector files: word2vec binary, TEVEC keyed and as a stream, a
 * token-vector stream. */
static int
vectors(void)
{
	static const float x[3][4] = {{1, 0, 0.5f, -1}, {0, 1, 2, 3}, {-0.25f, 4, 0, 1}};
	static const char *keys[] = {"the", "cat", "sat"};
	FILE *fp = create("vecs", "w2v.bin");
	size_t ks = 0;
	int i;

	if (!fp)
		return -1;
	fputc(2, fp);
	fprintf(fp, "3 4\n");
	for (i = 0; i < 3; i++) {
		fprintf(fp, "%s ", keys[i]);
		fwrite(x[i], sizeof x[i], 1, fp);
		fputc('\n', fp);
	}
	if (done(fp) || !(fp = create("vecs", "keyed.tevec")))
		return -1;
	fputc(3, fp);
	for (i = 0; i < 3; i++)
		ks += strlen(keys[i]) + 1;
	te_vec_write_tevec_header(fp, 3, 4, ks, 0);
	for (i = 0; i < 3; i++)
		te_vec_write_tevec_row(fp, x[i], 4);
	for (i = 0; i < 3; i++)
		te_vec_write_tevec_key(fp, keys[i]);
	if (done(fp) || !(fp = create("vecs", "stream.tevec")))
		return -1;
	fputc(0, fp);
	te_vec_write_tevec_header(fp, TE_VEC_ROWS_STREAM, 4, 0, 0);
	for (i = 0; i < 3; i++)
		te_vec_write_tevec_row(fp, x[i], 4);
	if (done(fp) || !(fp = create("vecstream", "tokens.tevec")))
		return -1;
	fputc(1, fp);
	te_vec_write_tokens_header(fp, 4);
	te_vec_write_tokens_doc(fp, x[0], 2, 4);
	te_vec_write_tokens_doc(fp, x[0], 0, 4);
	te_vec_write_tokens_doc(fp, x[0], 3, 4);
	if (done(fp) || !(fp = create("vecstream", "vectors.tevec")))
		return -1;
	fputc(0, fp);
	te_vec_write_tevec_header(fp, TE_VEC_ROWS_STREAM, 4, 0, 0);
	for (i = 0; i < 3; i++)
		te_vec_write_tevec_row(fp, x[i], 4);
	if (done(fp) || !(fp = create("vecstream", "tokens.txt")))
		return -1;
	fputs("\x01" "1 2 3\n4 5 6\n\n7 8 9\n", fp);
	return done(fp);
}

/* Model folders of t/data/emb as fuzz-emb takes them: config.json,
 * modules.json, model.safetensors, 1_Pooling/config.json. */
static int
models(void)
{
	static const char *parts[] = {"config.json", "modules.json", "model.safetensors",
	                              "1_Pooling/config.json"};
	glob_t g;
	int rc = 0;

	if (glob("t/data/emb/*/config.json", 0, NULL, &g))
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char dir[512], name[256], path[1024];
		FILE *fp;

		snprintf(dir, sizeof dir, "%.*s", (int)(strlen(g.gl_pathv[i]) - 12), g.gl_pathv[i]);
		snprintf(name, sizeof name, "%s", strrchr(dir, '/') + 1);
		if (!(fp = create("emb", name)))
			return -1;
		for (int k = 0; k < 4; k++) {
			size_t n = 0;
			unsigned char *b;

			snprintf(path, sizeof path, "%s/%s", dir, parts[k]);
			if (k)
				fputs("\n@@fuzz-split@@\n", fp);
			if ((b = fz_read(path, &n))) {
				fwrite(b, 1, n, fp);
				free(b);
			}
		}
		if (done(fp))
			rc = -1;
	}
	globfree(&g);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seeds DIR\n");
		return 2;
	}
	out = argv[1];
	if ((mkdir(out, 0755) && errno != EEXIST) ||
	    fixtures("tokjson", "t/data/tok/*.json", -1) ||
	    fixtures("tokjson", "t/data/show/*/tokenizer.json", -1) ||
	    fixtures("spm", "t/data/spm/*.model", -1) ||
	    fixtures("vecs", "t/data/emb/words.vec", 1) ||
	    fixtures("vecs", "t/data/recommend/*.vec", 0) ||
	    fixtures("vecstream", "t/data/emb/words.vec", 0) ||
	    fixtures("ids", "t/data/recommend/playlists.txt", -1) ||
	    fixtures("rec", "t/data/recommend/playlists.txt", 0) ||
	    fixtures("rec", "t/data/recommend/ratings.csv", 1) ||
	    fixtures("rec", "t/data/recommend/songs.tsv", 4) ||
	    fixtures("rec", "t/data/recommend/movies.csv", 5) ||
	    gguf() || tiktoken() || vectors() || models()) {
		fprintf(stderr, "seeds: cannot write the seeds under %s\n", out);
		return 1;
	}
	return 0;
}
