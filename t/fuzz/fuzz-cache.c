/* fuzz-cache: the compiled cache of a tokenizer.json (t/data/tok/tiny-bpe.json
 * padded past the size below which none is written), changed as the input
 * says (fz_patch), its checksum recomputed (a forged cache: the checksum
 * guards against damage only), loaded by te_tok_load and used, a text past
 * TK_CVERIFY_AFTER included. */
#include <dirent.h>

#include "fuzz.h"
#include "tok/tok_int.h"

static char src[600], cache[900];
static unsigned char *cache_bytes;
static size_t cache_n;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t n;
	unsigned char *json = fz_read(fz_fixture("t/data/tok/tiny-bpe.json"), &n), *big;
	char dir[600];
	te_diag d = {0};
	te_tok *t;
	DIR *dp;
	struct dirent *e;

	(void)argc, (void)argv;
	if (!json || !(big = malloc(n + 70000))) {
		fprintf(stderr, "fuzz-cache: t/data/tok/tiny-bpe.json: cannot read (run from the "
		        "repository root or set TOKEMB_SRC)\n");
		abort();
	}
	memcpy(big, json, n);
	memset(big + n, ' ', 69999);
	big[n + 69999] = '\n';
	snprintf(src, sizeof src, "%s", fz_write("tokenizer.json", big, n + 70000));
	snprintf(dir, sizeof dir, "%s/cache", fz_scratch());
	mkdir(dir, 0700);
	setenv("TOKEMB_CACHE_DIR", dir, 1);
	unsetenv("TOKEMB_CACHE");
	if (!(t = te_tok_load(src, &d)) || !(dp = opendir(dir))) {
		fprintf(stderr, "fuzz-cache: %s: %s\n", d.file, d.msg);
		abort();
	}
	te_tok_free(t);
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.')
			snprintf(cache, sizeof cache, "%s/%s", dir, e->d_name);
	closedir(dp);
	if (!*cache || !(cache_bytes = fz_read(cache, &cache_n))) {
		fprintf(stderr, "fuzz-cache: no cache written in %s\n", dir);
		abort();
	}
	free(json);
	free(big);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char longtext[6001];
	size_t n;
	unsigned char *b = fz_patch(cache_bytes, cache_n, data, size, &n);
	FILE *fp = fopen(cache, "wb");
	te_tok *t;

	if (!fp || (n && fwrite(b, 1, n, fp) != n) || fclose(fp))
		abort();
	free(b);
	tk_cache_reseal(cache);
	if (!*longtext)
		for (size_t i = 0; i < sizeof longtext - 1; i++)
			longtext[i] = i % 7 == 6 ? ' ' : (char)('a' + i * 31 % 26);
	if ((t = te_tok_load(src, NULL))) {
		te_tok_enc e = {0};

		fz_exercise_tok(t);
		te_tok_encode(t, longtext, sizeof longtext - 1, 0, &e, NULL);
		te_tok_enc_release(&e);
		te_tok_free(t);
	}
	return 0;
}
