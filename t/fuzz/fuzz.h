/* fuzz.h: what the libFuzzer harnesses of t/fuzz share (make fuzz; see
 * t/fuzz/run.sh): a scratch directory removed at exit, files written into
 * it, a tokenizer exercised every way its loader's output is read. */
#ifndef TE_FUZZ_H
#define TE_FUZZ_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokemb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_dir[256];

static inline int
fz_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static inline void
fz_cleanup(void)
{
	if (*fz_dir)
		nftw(fz_dir, fz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* The scratch directory of this process, made on first use. */
static inline const char *
fz_scratch(void)
{
	if (!*fz_dir) {
		const char *tmp = getenv("TMPDIR");

		snprintf(fz_dir, sizeof fz_dir, "%s/tokemb-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(fz_dir))
			abort();
		atexit(fz_cleanup);
	}
	return fz_dir;
}

/* Write p[0, n) to name in the scratch directory; the path is static. */
static inline const char *
fz_write(const char *name, const void *p, size_t n)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", fz_scratch(), name);
	if (!(fp = fopen(path, "wb")) || (n && fwrite(p, 1, n, fp) != n) || fclose(fp))
		abort();
	return path;
}

/* The contents of a file (a fixture of t/data), or NULL. */
static inline unsigned char *
fz_read(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	long len;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, fp) == (size_t)len) {
		*n = (size_t)len;
		fclose(fp);
		return buf;
	}
	free(buf);
	fclose(fp);
	return NULL;
}

/* A fixture of t/data by its path from the repository root (make fuzz runs
 * there; TOKEMB_SRC names the root otherwise). */
static inline const char *
fz_fixture(const char *rel)
{
	static char path[1024];
	const char *root = getenv("TOKEMB_SRC");

	snprintf(path, sizeof path, "%s/%s", root && *root ? root : ".", rel);
	return path;
}

/* A copy of the valid file orig[0, n) changed as the input says: each
 * 4 bytes (a 3-byte offset, modulo n, then the byte to store there); a
 * byte left over cuts the copy to that many 256ths. Its length is *out_n.
 * The empty input is the valid file itself. */
static inline unsigned char *
fz_patch(const unsigned char *orig, size_t n, const uint8_t *data, size_t size, size_t *out_n)
{
	unsigned char *b = malloc(n ? n : 1);
	size_t i;

	if (!b)
		abort();
	memcpy(b, orig, n);
	*out_n = n;
	for (i = 0; n && i + 4 <= size; i += 4)
		b[((size_t)data[i] | (size_t)data[i + 1] << 8 | (size_t)data[i + 2] << 16) % n] =
		        data[i + 3];
	if (i < size)
		*out_n = n * data[i] / 256;
	return b;
}

/* Use a loaded tokenizer every way: encode texts (specials added or not,
 * truncated), decode what came out and ids around the vocabulary's ends,
 * name and look up pieces. */
static inline void
fz_exercise_tok(const te_tok *t)
{
	static const char *texts[] = {
		"Hello, world!", " the  quick\tbrown fox's 123 jumps\n\n", "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
		"[CLS] <s> </s> <unk> <|endoftext|>", "\xff\xfe bad utf8 \xc3", "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	te_tok_enc e = {0};
	size_t n = te_tok_vocab_size(t), i, len;
	char buf[64];

	for (i = 0; i < sizeof texts / sizeof *texts; i++) {
		for (unsigned fl = 0; fl < 3; fl++) {
			char *out = NULL;
			size_t on = 0;

			if (te_tok_encode_trunc(t, texts[i], strlen(texts[i]),
			                        fl == 1 ? TE_TOK_ADD_SPECIAL : fl == 2 ? TE_TOK_ALLOW_SPECIAL : 0,
			                        fl == 1 ? 4 : -1, &e, NULL))
				continue;
			if (!te_tok_decode(t, e.ids, e.n, fl == 1 ? TE_TOK_SKIP_SPECIAL : 0, &out, &on, NULL))
				free(out);
		}
	}
	{
		int32_t ids[] = {0, 1, (int32_t)n - 1, (int32_t)n, -1};
		char *out = NULL;
		size_t on = 0;

		if (!te_tok_decode(t, ids, n ? 3 : 0, 0, &out, &on, NULL))
			free(out);
		if (!te_tok_decode(t, ids + 3, 2, 0, &out, &on, NULL))
			free(out);
	}
	for (i = 0; i < n + 2 && i < 4096; i++) {
		const char *p = te_tok_piece(t, (int32_t)i, &len);

		te_tok_piece_bytes(t, (int32_t)i, buf, sizeof buf);
		te_tok_is_special(t, (int32_t)i);
		if (p && i < 32)
			te_tok_id(t, p, len);
	}
	te_tok_id(t, "abc", 3);
	te_tok_added_id(t, "[SEP]", 5);
	te_tok_unk_id(t);
	te_tok_max_length(t);
	te_tok_algorithm(t);
	te_tok_display_name(t);
	te_tok_enc_release(&e);
}

/* A tokenizer file named name holding the input: load it (no compiled
 * cache) and use it. */
static inline int
fz_tok_file(const char *name, const uint8_t *data, size_t size)
{
	te_diag d = {0};
	te_tok *t;

	setenv("TOKEMB_CACHE", "0", 1);
	t = te_tok_load(fz_write(name, data, size), &d);
	if (t)
		fz_exercise_tok(t);
	te_tok_free(t);
	return 0;
}

#endif
