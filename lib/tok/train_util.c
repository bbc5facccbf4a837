/* train_util.c: what the trainer's algorithms and its entry file share:
 * the table of distinct pre-tokens and their counts (what train_bpe.c and
 * train_unigram.c train on), and the progress report. */
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

void
tk_train_progress(te_trainer *t, const char *phase, size_t done, size_t total)
{
	if (t->progress)
		t->progress(phase, done, total, t->progress_arg);
}

/* The table's own hash, not ut_hash: the algorithms read the table in slot
 * order, and the Unigram's result depends on that order (its expected
 * counts are floating-point sums in word order, and pruning follows them):
 * with ut_hash, the sentencepiece preset gives other scores and pieces.
 * Kept so that trained tokenizers stay byte for byte the same. */
static uint64_t
wc_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t k;
		memcpy(&k, s + i, 8);
		k *= 0x87c37b91114253d5ull;
		k = (k << 31) | (k >> 33);
		h ^= k * 0x4cf5ad432745937full;
		h = ((h << 27) | (h >> 37)) * 5 + 0x52dce729;
	}
	if (i < n) {
		uint64_t k = 0;
		memcpy(&k, s + i, n - i);
		k *= 0x87c37b91114253d5ull;
		k = (k << 31) | (k >> 33);
		h ^= k * 0x4cf5ad432745937full;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static int
wc_grow(te_trainer *t)
{
	size_t nc = t->wc_cap ? t->wc_cap * 2 : 4096, i;
	tk_wc *n = calloc(nc, sizeof *n);

	if (!n)
		return -1;
	for (i = 0; i < t->wc_cap; i++) {
		if (!t->wc[i].count)
			continue;
		size_t j = t->wc[i].hash & (nc - 1);
		while (n[j].count)
			j = (j + 1) & (nc - 1);
		n[j] = t->wc[i];
	}
	free(t->wc);
	t->wc = n;
	t->wc_cap = nc;
	return 0;
}

int
tk_trainer_count(te_trainer *t, const char *s, size_t n, uint64_t count)
{
	uint64_t h;
	size_t j;

	if (!n || !count)
		return 0;
	if ((t->wc_n + 1) * 4 > t->wc_cap * 3 && wc_grow(t) < 0)
		return -1;
	h = wc_hash(s, n);
	for (j = h & (t->wc_cap - 1); t->wc[j].count; j = (j + 1) & (t->wc_cap - 1)) {
		tk_wc *e = &t->wc[j];
		if (e->hash == h && e->len == n && !memcmp(t->arena + e->off, s, n)) {
			e->count += count;
			return 0;
		}
	}
	if (n > UINT32_MAX)
		return 0;
	if (t->arena_n + n > t->arena_cap) {
		size_t nc = t->arena_cap ? t->arena_cap * 2 : 1 << 16;
		char *a;
		while (nc < t->arena_n + n)
			nc *= 2;
		if (!(a = realloc(t->arena, nc)))
			return -1;
		t->arena = a;
		t->arena_cap = nc;
	}
	memcpy(t->arena + t->arena_n, s, n);
	t->wc[j].hash = h;
	t->wc[j].count = count;
	t->wc[j].off = t->arena_n;
	t->wc[j].len = n;
	t->arena_n += n;
	t->wc_n++;
	return 0;
}
