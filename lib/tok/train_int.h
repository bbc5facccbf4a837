/* train_int.h: what the tokenizer trainer's files share (private). */
#ifndef TOKEMB_TRAIN_INT_H
#define TOKEMB_TRAIN_INT_H

#include <stdint.h>

#include "tokemb.h"

/* A string -> id table over strings the table owns; ids are dense, in
 * insertion order, so the table doubles as the vocabulary. */
typedef struct tk_strtab {
	char **str;
	uint32_t *len;
	size_t n, cap;
	uint32_t *slot;   /* open addressing: id + 1, 0 empty */
	size_t nslot;
} tk_strtab;

uint64_t tk_train_hash(const void *p, size_t n);
/* Id of s, or -1. */
long tk_strtab_find(const tk_strtab *t, const char *s, size_t n);
/* Id of s, inserting it when absent; -1 when out of memory. */
long tk_strtab_add(tk_strtab *t, const char *s, size_t n);
void tk_strtab_release(tk_strtab *t);

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
	tk_strtab vocab;
	double *scores;            /* Unigram: log probability of each piece */
	uint32_t (*merges)[2];     /* BPE: pairs of ids, in rank order */
	size_t nmerges;
};

/* Decode the UTF-8 character at s (n > 0 bytes left): its code point, or
 * -1 when invalid; *len gets its length (1 for an invalid byte). */
int32_t tk_train_utf8_dec(const unsigned char *s, size_t n, int *len);
int tk_train_utf8_enc(uint32_t cp, char *out);

/* Count a pre-token count times, as if fed (for tests). */
int tk_trainer_count(te_trainer *t, const char *s, size_t n, uint64_t count);

int tk_train_bpe(te_trainer *t, te_diag *d);
int tk_train_unigram(te_trainer *t, te_diag *d);
void tk_train_progress(te_trainer *t, const char *phase, size_t done, size_t total);

#endif
