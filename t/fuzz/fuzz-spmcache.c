/* fuzz-spmcache: the compiled cache of a SentencePiece .model (BPE:
 * t/data/spm/bpe-edit.model; Unigram: unigram-nfkc.model; the first byte
 * of the input picks), changed as the rest of the input says (fz_patch),
 * its size and checksum set again (a forged cache: the checksum guards
 * against damage only), loaded by te_tok_load and used. */
#include <dirent.h>

#include "fuzz.h"
#include "tok/spm_int.h"
#include "tok/tok_int.h"

static const char *const fixture[2] = {"t/data/spm/bpe-edit.model",
                                       "t/data/spm/unigram-nfkc.model"};
static char src[2][600], dir[2][600], cache[2][900];
static unsigned char *cache_bytes[2];
static size_t cache_n[2];

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Load model k once so that its cache is written; keep the cache's bytes. */
static void
made(int k)
{
	size_t n;
	unsigned char *model = fz_read(fz_fixture(fixture[k]), &n);
	char name[32];
	te_diag d = {0};
	te_tok *t;
	DIR *dp;
	struct dirent *e;

	if (!model) {
		fprintf(stderr, "fuzz-spmcache: %s: cannot read (run from the repository root or "
		        "set TOKEMB_SRC)\n", fixture[k]);
		abort();
	}
	snprintf(name, sizeof name, "model%d.model", k);
	snprintf(src[k], sizeof src[k], "%s", fz_write(name, model, n));
	free(model);
	snprintf(dir[k], sizeof dir[k], "%s/cache%d", fz_scratch(), k);
	mkdir(dir[k], 0700);
	setenv("TOKEMB_CACHE_DIR", dir[k], 1);
	if (!(t = te_tok_load(src[k], &d)) || !(dp = opendir(dir[k]))) {
		fprintf(stderr, "fuzz-spmcache: %s: %s\n", d.file, d.msg);
		abort();
	}
	te_tok_free(t);
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.')
			snprintf(cache[k], sizeof cache[k], "%s/%s", dir[k], e->d_name);
	closedir(dp);
	if (!*cache[k] || !(cache_bytes[k] = fz_read(cache[k], &cache_n[k])) || cache_n[k] < 64) {
		fprintf(stderr, "fuzz-spmcache: no cache written in %s\n", dir[k]);
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	unsetenv("TOKEMB_CACHE");
	tk_spm_cache_min = 0;
	made(0);
	made(1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int k = size ? data[0] & 1 : 0;
	size_t n;
	unsigned char *b = fz_patch(cache_bytes[k], cache_n[k], data + !!size, size - !!size, &n);
	FILE *fp;
	te_tok *t;

	if (n >= 64) {
		uint64_t total = n, sum = tk_cache_blob_sum(b + 64, n - 64);

		memcpy(b + 24, &total, 8);
		memcpy(b + 32, &sum, 8);
	}
	if (!(fp = fopen(cache[k], "wb")) || (n && fwrite(b, 1, n, fp) != n) || fclose(fp))
		abort();
	free(b);
	setenv("TOKEMB_CACHE_DIR", dir[k], 1);
	if ((t = te_tok_load(src[k], NULL))) {
		fz_exercise_tok(t);
		te_tok_free(t);
	}
	return 0;
}
