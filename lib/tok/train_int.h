/* train_int.h: what the tokenizer trainer's files share (private).
 * Layers: train.c (the public te_trainer_* calls: options, feeding,
 * writing) -> train_bpe.c, train_unigram.c (the algorithms) ->
 * train_util.c (the counts of pre-tokens, progress) -> util_str.c. */
#ifndef TOKEMB_TRAIN_INT_H
#define TOKEMB_TRAIN_INT_H

#include <stdint.h>

#include "tokemb.h"
#include "util_int.h"

/* One distinct pre-token and how often it occurs. */
typedef struct tk_wc {
	uint64_t hash;
	uint64_t count;
	size_t off;       /* into the arena */
	uint32_t len;
} tk_wc;

struct te_trainer {
	te_train_opts o;
	char **special;            /* owned copies */
	/* counts of distinct pre-tokens: hash table of tk_wc */
	tk_wc *wc;
	size_t wc_n, wc_cap;
	char *arena;
	size_t arena_n, arena_cap;
	uint64_t ndocs;
	/* scratch buffers for normalising */
	char *b1, *b2;
	size_t b1cap, b2cap;
	te_train_progress progress;
	void *progress_arg;
	/* result */
	int trained;
	ut_strmap vocab;           /* piece -> id, ids dense in insertion order */
	double *scores;            /* Unigram: log probability of each piece */
	uint32_t (*merges)[2];     /* BPE: pairs of ids, in rank order */
	size_t nmerges;
};

/* ------------------------------------------------------ train_util.c */

/* Count a pre-token count times (also for tests).  0, or -1 when out of
 * memory. */
int tk_trainer_count(te_trainer *t, const char *s, size_t n, uint64_t count);
void tk_train_progress(te_trainer *t, const char *phase, size_t done, size_t total);

/* ------------------------------------- train_bpe.c, train_unigram.c */

int tk_train_bpe(te_trainer *t, te_diag *d);
int tk_train_unigram(te_trainer *t, te_diag *d);

#endif
