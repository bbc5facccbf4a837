/* tok_int.h: the inside of a te_tok, shared by the tokenizer modules.
 *
 * Calls and includes flow down this list, never up:
 *   tok.c                      the entry: te_tok_load picks a loader; encode, decode
 *   tok_cache.c                the compiled cache (rebuilds through the next two)
 *   hfjson.c, tiktoken.c,      the loaders of each kind of file
 *   tok_spm.c -> gguf.c
 *   tok_build.c                a te_tok's making (what loaders fill) and freeing
 *   bpe_fast.c -> bpe.c,       the engines: models, normalizers, pre-tokenizers
 *   wordpiece.c, spm.c -> unigram.c, normalize.c -> precompiled.c,
 *   pretok.c -> pretok_scan.c
 *   tok_util.c, tok_uni.c,     the area's base helpers
 *   spm_util.c
 *   ../util_str.c, ../util.c   the suite's base
 * show.c, tok_batch.c -> tok_pool.c sit above tok.c (public calls only, and
 * tk_tok_encode_flush); the trainer
 * (train*.c, train_int.h) beside it. */
#ifndef TOK_INT_H
#define TOK_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spm_int.h"
#include "tokemb.h"
#include "util_int.h"

/* The largest id a model file may use (no vocabulary comes near). */
#define TK_MAX_ID (1 << 22)

/* ------------------------------------------------------------ helpers */

/* (a, b) id pair -> (rank, merged id). */
typedef struct tk_pairmap {
	uint64_t *key;          /* (a << 32 | b) + 1, 0 = empty */
	uint32_t *rank;
	int32_t *merged;
	size_t mask, n;
} tk_pairmap;
int tk_pairmap_reserve(tk_pairmap *m, size_t n);
int tk_pairmap_put(tk_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t merged);
/* Returns 1 and fills rank/merged when present. */
static inline uint64_t tk_pair_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}
static inline int tk_pairmap_get(const tk_pairmap *m, int32_t a, int32_t b,
                                 uint32_t *rank, int32_t *merged)
{
	uint64_t k, i, left;

	if (!m->n)
		return 0;
	k = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
	/* bounded: a map mapped from a compiled cache may have no free slot */
	for (i = tk_pair_hash(k) & m->mask, left = m->mask;; i = (i + 1) & m->mask) {
		if (m->key[i] == k) {
			*rank = m->rank[i];
			*merged = m->merged[i];
			return 1;
		}
		if (!m->key[i] || !left--)
			return 0;
	}
}
void tk_pairmap_release(tk_pairmap *m);

/* GPT-2 byte-level alphabet: byte -> code point, code point -> byte (-1). */
static inline int tk_byte_cp(int b)
{
	/* bytes_to_unicode: the 188 printable Latin-1 bytes stand for
	 * themselves; 0x00-0x20, 0x7f-0xa0 and 0xad, in order, for 256-323 */
	b &= 0xff;
	return b <= 0x20 ? b + 256 : b >= 0x7f && b <= 0xa0 ? b + 162 : b == 0xad ? 323 : b;
}
int tk_cp_to_byte(int32_t cp);

/* ---------------------------------------------------- the work string */

/* A piece of text on its way through normalizer and pre-tokenizer, with,
 * unless noal is set, for each byte the span of the input it came from
 * (al: runs, tk_amap, of offsets relative to base, so that the input it
 * comes from is under 4 GiB: TK_WORK_MAX; tok.c refuses a longer one that
 * keeps spans). */
#define TK_WORK_MAX ((size_t)UINT32_MAX)
typedef struct tk_work {
	ut_buf b;
	tk_amap *al;            /* NULL: byte i came from base + i */
	size_t base;
	/* pre-tokenized pieces: [pa[i], pb[i]) */
	size_t *pa, *pb;
	int32_t *fixed;         /* id for a piece that is an added token, else
	                         * -1; NULL (all -1) until one is pushed */
	size_t np, pcap;
	int noal;               /* no alignment wanted: al stays NULL */
} tk_work;
/* The id piece i of w is fixed to (an added token's), else -1. */
static inline int32_t tk_work_fixed(const tk_work *w, size_t i)
{
	return w->fixed ? w->fixed[i] : -1;
}

/* Text being rewritten by a normalizer or pre-tokenizer, with for each byte
 * the span of the input it came from (tk_work's alignment, relative to
 * the same base). */
typedef struct tk_abuf {
	ut_buf b;
	tk_amap *al;            /* NULL while byte i came from base + i */
	size_t base;
	int noal;               /* text only: al stays NULL */
} tk_abuf;
/* An empty tk_abuf for rewriting w (keeps w's alignment or its lack). */
#define TK_ABUF(w) { .noal = (w)->noal, .base = (w)->base }

/* Append n bytes that all came from the input span [os, oe) (absolute
 * offsets, within [o->base, o->base + TK_WORK_MAX]). */
int tk_abuf_put(tk_abuf *o, const char *s, size_t n, size_t os, size_t oe);
/* Move o's text and alignment into w, releasing w's; o is left empty.
 * -1 when out of memory, with w and o untouched. */
int tk_abuf_swap(tk_abuf *o, tk_work *w);
void tk_abuf_release(tk_abuf *o);
/* Keep o's first n bytes (n <= o->b.n) and their spans. */
void tk_abuf_trunc(tk_abuf *o, size_t n);
/* Let go of an alignment (NULL: none). */
void tk_al_free(tk_amap *al);
/* The input span of byte i of w (lookups in increasing order are
 * cheapest). */
static inline size_t tk_work_os(const tk_work *w, size_t i)
{
	return w->base + tk_amap_start(w->al, i);
}
static inline size_t tk_work_oe(const tk_work *w, size_t i)
{
	return w->base + tk_amap_end(w->al, i);
}

/* -------------------------------------------------------- components */

enum tk_norm_type {
	TK_N_NFC = 1, TK_N_NFD, TK_N_NFKC, TK_N_NFKD, TK_N_LOWER, TK_N_STRIP_ACCENTS,
	TK_N_BERT, TK_N_REPLACE, TK_N_PREPEND, TK_N_STRIP, TK_N_PRECOMPILED,
	TK_N_NMT, TK_N_SEQ
};
typedef struct tk_norm {
	int type;
	int lowercase, strip_accents, clean_text, chinese; /* BERT */
	int left, right;                                   /* Strip */
	char *pat, *content;                               /* Replace, Prepend */
	size_t pat_n, content_n;
	void *re;                                          /* Replace with a regex */
	void *pc;                                          /* Precompiled (spm) */
	struct tk_norm **sub;
	size_t nsub;
} tk_norm;

enum tk_split_behavior { TK_REMOVED, TK_ISOLATED, TK_MERGED_PREV, TK_MERGED_NEXT, TK_CONTIGUOUS };
enum tk_pre_type {
	TK_P_BYTELEVEL = 1, TK_P_SPLIT, TK_P_WHITESPACE, TK_P_WSSPLIT, TK_P_BERT,
	TK_P_METASPACE, TK_P_DIGITS, TK_P_PUNCT, TK_P_CHARDELIM, TK_P_SEQ
};
/* The well-known split patterns, scanned by hand (pretok.c). */
enum tk_scanner { TK_SCAN_NONE, TK_SCAN_GPT2, TK_SCAN_CL100K, TK_SCAN_QWEN, TK_SCAN_O200K };
typedef struct tk_pre {
	int type;
	int behavior, invert;
	int add_prefix_space, use_regex;   /* ByteLevel */
	int scanner;                       /* Split/ByteLevel regex: a hand scanner */
	void *re;                          /* Oniguruma regex, or NULL */
	char *lit;                         /* Split on a literal string */
	size_t lit_n;
	int32_t repl_cp;                   /* Metaspace */
	char repl[8];
	int repl_n;
	int prepend;                       /* Metaspace: 0 never, 1 first, 2 always */
	int msplit;                        /* Metaspace: split on the replacement */
	int individual;                    /* Digits */
	int32_t delim;                     /* CharDelimiterSplit */
	struct tk_pre **sub;
	size_t nsub;
} tk_pre;

enum tk_dec_type {
	TK_D_BYTELEVEL = 1, TK_D_WORDPIECE, TK_D_METASPACE, TK_D_BYTEFALLBACK, TK_D_FUSE,
	TK_D_STRIP, TK_D_REPLACE, TK_D_CTC, TK_D_BPE, TK_D_SEQ
};
typedef struct tk_dec {
	int type;
	char *prefix;                      /* WordPiece prefix, BPEDecoder suffix */
	int cleanup;
	char repl[8];                      /* Metaspace */
	int repl_n, prepend;
	char *pat, *content;               /* Replace / Strip content */
	size_t pat_n, content_n;
	int start, stop;                   /* Strip */
	struct tk_dec **sub;
	size_t nsub;
} tk_dec;

/* A post-processor template item: a special token's ids or the sequence. */
typedef struct tk_tpl {
	int32_t *ids;                      /* NULL: the sequence */
	size_t n;
} tk_tpl;

/* An added token (tokenizer.json added_tokens, tiktoken specials). */
typedef struct tk_added {
	char *s;
	size_t n;
	int32_t id;
	unsigned special:1, lstrip:1, rstrip:1, single_word:1, normalized:1;
} tk_added;

/* Byte trie over added-token contents, for leftmost-longest matching.
 * It is at most TK_TRIE_DEPTH bytes deep, so that its size stays in
 * proportion to the file: a longer token leaves its first TK_TRIE_DEPTH
 * bytes in it as a path and is compared whole (longs) where a match
 * reaches that depth. */
#define TK_TRIE_DEPTH 64
typedef struct tk_trie_long {
	const char *s;                     /* the token's text (own: owned) */
	char *own;
	size_t n;
	int32_t ai;                        /* added index */
} tk_trie_long;
typedef struct tk_trie {
	tk_pairmap edge;                   /* (node, byte) -> child node */
	int32_t *term;                     /* node -> added index + 1, or 0 */
	size_t n, cap;
	unsigned char first[256];
	tk_trie_long *longs;               /* tokens longer than TK_TRIE_DEPTH, */
	size_t nlong;                      /* built by tk_tok_derive */
} tk_trie;

/* ------------------------------------------------------------ models */

enum tk_model_type { TK_M_BPE = 1, TK_M_WORDPIECE, TK_M_UNIGRAM, TK_M_WORDLEVEL, TK_M_SPM };

typedef struct tk_bpe {
	int ranks;                         /* tiktoken: rank of a merge = id of the concatenation */
	int byte_level;                    /* words are raw bytes (vocab unmapped) */
	int byte_fallback, fuse_unk, ignore_merges;
	int32_t unk;
	ut_strmap vocab;                   /* word bytes -> id */
	tk_pairmap merges;
	int32_t byte_id[256];              /* byte-level: id of byte; fallback: id of <0xXX> */
	char *cont_prefix, *eow_suffix;    /* continuing_subword_prefix, end_of_word_suffix */
	/* derived, built at the first encode (bpe_fast.c), never serialised:
	 * the vocabulary and merges in cache-friendly tables; NULL until then */
	struct tk_fastmap *fast;
} tk_bpe;

typedef struct tk_wordpiece {
	ut_strmap vocab;
	int32_t unk;
	char prefix[32];
	size_t prefix_n;
	size_t max_chars;
	/* derived from vocab (wordpiece.c), never serialised: a byte trie of
	 * the keys, made by tk_wordpiece_prepare, or with lazy by the encode
	 * once enough words went by the map (words counts them); NULL: the
	 * lookups go by the map */
	struct tk_wptrie *trie;
	int lazy;
	size_t words;
} tk_wordpiece;

/* Blocks that never move: the vocabulary strings live here. */
typedef struct tk_arena {
	char **blk;
	size_t nblk, used, size;
} tk_arena;

struct te_tok {
	char *name;
	char *display;                     /* te_tok_display_name */
	tk_arena arena;
	int mtype;
	const char *algo;
	/* vocabulary: id -> string as the file writes it, and its raw bytes */
	char **piece;
	uint32_t *piece_n;
	char **bytes;                      /* NULL entries: same as piece */
	uint32_t *bytes_n;
	uint8_t *special;                  /* id -> special added token */
	size_t nvocab;
	int32_t unk;
	int byte_level, byte_fallback;
	long max_length;
	/* tokenizer.json's truncation and padding besides (te_tok_limits) */
	int trunc_left, pad, pad_left;
	long pad_length, pad_multiple;
	int32_t pad_id;
	int match_special;                 /* default for special-token text in input */
	int needs_align;
	int char_offsets;                  /* tokenizer.json: spans in whole characters
	                                    * (tok_fmt.c) */

	tk_norm *norm;
	tk_pre *pre;
	tk_dec *dec;
	tk_tpl *tpl;                       /* post-processor template (single) */
	size_t ntpl;
	int has_post;

	tk_added *added;
	size_t nadded;
	tk_trie trie_raw;                  /* added tokens matched on the input */
	tk_trie trie_norm;                 /* "normalized": true ones, matched on the
	                                    * normalized text (built by tk_tok_derive) */
	ut_strmap added_map;
	void *cmap;                        /* the compiled cache this te_tok points into, */
	size_t cmap_len;                   /* or NULL (tok_cache.c) */
	/* mapped from a cache, piece and bytes are NULL: the strings are
	 * cpool + cpoff[id] / cboff[id] (UINT32_MAX: none), checked where
	 * read (tk_piece_of) */
	const uint32_t *cpoff, *cboff;
	const char *cpool;
	size_t cpool_n;
	/* the checks of a mapped cache left until the tokenizer is used on
	 * more than a little text (tk_cache_verify): 0 not yet, 1 sound, -1 not */
	size_t cverify_seen;
	int cverify;
	char *cpath;                       /* the cache file (removed when unsound) */
	double *uni_score;                 /* Unigram: scores of piece[0, uni_n), kept */
	size_t uni_n;                      /* for the cache */

	tk_bpe bpe;
	tk_wordpiece wp;
	void *unigram;                     /* spm helper's Unigram */
	void *spm;                         /* spm helper's SentencePiece model */
	int32_t cache_gen;
};

/* ------------------------------------------------------------ modules */

/* tok_build.c: a new, empty te_tok, which a loader fills (the string of
 * id, the added tokens), then tk_tok_finish and tk_tok_derive complete;
 * te_tok_free frees it. */
te_tok *tk_tok_new(const char *name);
int tk_tok_set_vocab(te_tok *t, int32_t id, const char *s, size_t n);
int tk_tok_add_added(te_tok *t, const tk_added *a);
int tk_tok_finish(te_tok *t, te_diag *d);
/* -1 (d says which key) when an id the file names (unk, an added token, a
 * post-processor's) lies outside the vocabulary; tk_tok_finish asks. */
int tk_tok_ids_ok(const te_tok *t, te_diag *d);
/* Tables derived from the loaded vocabulary; run after a source load and
 * after a cache is mapped. */
int tk_tok_derive(te_tok *t, te_diag *d);

/* tok_util.c: room for k more tokens in e (its arrays grown together); -1
 * when out of memory.  Under TE_TOK_COUNT_ONLY it may first count e's ids
 * into e->dropped_ and empty it (so e->n may go down); under
 * TE_TOK_NO_OFFSETS e->start and e->end stay NULL: writers check start. */
#define TK_COUNT_KEEP ((size_t)1 << 16)
int tk_enc_reserve(te_tok_enc *e, size_t k);
/* tok_chunk.c: te_tok_chunks' chunk of e (text[0, len), a text that may
 * go on past e's last token) that starts at token a < e->n, when e's
 * tokens decide it: 1 with its end token *b and the next chunk's first
 * token *next, or 0 (more tokens may move its end). */
int tk_chunk_next(const te_tok_enc *e, const char *text, size_t len, size_t a, size_t max_tokens,
                  size_t overlap, size_t *b, size_t *next);
/* A mode_ bit of an encoding handed on a block at a time as it is made
 * (tk_tok_encode_flush). */
#define TK_ENC_FLUSH 0x40000000u
/* tok.c: tk_enc_reserve, but an encoding handed on first hands on what
 * is final when e is full (all its tokens but what may yet change: a long
 * word's tokens handed on but not firm, SentencePiece's last one). */
int tk_enc_more(te_tok_enc *e, size_t k);
/* tk_enc_more, its common case inline (a call a piece shows).  Called
 * only where every token e holds is final as tk_enc_more sees it. */
static inline int
tk_enc_room(te_tok_enc *e, size_t k)
{
	if (e->n + k <= e->cap && !(e->mode_ & TE_TOK_COUNT_ONLY))
		return 0;
	return tk_enc_more(e, k);
}
/* Append n ids to e, which keeps no spans (TE_TOK_NO_OFFSETS) and has room
 * (tk_enc_room); e->ids may still be NULL when n is 0. */
static inline void
tk_enc_put_ids(te_tok_enc *e, const int32_t *ids, size_t n)
{
	if (n)
		memcpy(e->ids + e->n, ids, n * sizeof *ids);
	e->n += n;
}
/* The bytes a byte-level vocabulary string stands for, into out (room for
 * n bytes): -1 when a character is not in the byte alphabet. */
int tk_unmap_bytes(const char *s, size_t n, char *out, size_t *outn);
/* Whether s is a byte-fallback piece <0xXX>: 1 with *byte its value. */
int tk_is_byte_piece(const char *s, size_t n, int *byte);


/* hfjson.c.  With skel not NULL, *skel is set to a malloc'd JSON text of
 * the pipeline alone (normalizer, pre-tokenizer, decoder, post-processor,
 * truncation), which tk_hf_pipeline rebuilds them from (the cache). */
int tk_load_hf_json(te_tok *t, const char *path, char **skel, te_diag *d);
int tk_hf_pipeline(te_tok *t, const char *skel, const char *path, te_diag *d);
/* Unigram model from its pieces (t->piece[0, n)) and scores. */
int tk_hf_unigram(te_tok *t, size_t n, const double *scores, const char *path, te_diag *d);
/* tok_spm.c: SentencePiece .model files and GGUF vocabularies (spm_int.h) */
int tk_load_spm(te_tok *t, const char *path, te_diag *d);
int tk_load_gguf(te_tok *t, const char *path, te_diag *d);
/* tiktoken.c */
/* With skel not NULL, *skel is set to the malloc'd encoding name, which
 * tk_tiktoken_pipeline rebuilds the split pattern, decoder and template from. */
int tk_load_tiktoken(te_tok *t, const char *path, const char *enc, char **skel, te_diag *d);
int tk_tiktoken_pipeline(te_tok *t, const char *enc, const char *path, te_diag *d);
int tk_is_tiktoken_file(const char *path);

/* tok_cache.c: the compiled cache of a loaded tokenizer (see tokemb(5)).
 * kind: TK_SRC_HF (skel is the pipeline JSON) or TK_SRC_TIKTOKEN (skel is
 * the encoding name).  tk_cache_load returns a ready te_tok mapped from a
 * valid cache of file, or NULL (no cache, stale, corrupt: the caller loads
 * the source).  tk_cache_save writes one; failure is silent (returns -1).
 * te_tok_free lets go of what a mapped te_tok points into (tok_build.c). */
enum { TK_SRC_HF = 1, TK_SRC_TIKTOKEN = 2 };
int tk_cache_enabled(void);
te_tok *tk_cache_load(const char *file, const char *name, int kind);
int tk_cache_save(const te_tok *t, const char *file, int kind, const char *skel);
/* Recompute the checksum of the cache file at path (for the tests that
 * forge malicious caches). */
int tk_cache_reseal(const char *path);
/* The checks of a mapped cache that read whole sections (the merges, but
 * where tk_cache_verify_merges does), done once before t encodes more
 * than TK_CVERIFY_AFTER bytes in all,
 * i.e. before bpe_fast.c builds its flat tables (which trust the merges'
 * slots): it must not build them on less.  len 0: check now.  0 sound (or
 * not mapped), -1 not. */
#define TK_CVERIFY_AFTER 4096
int tk_cache_verify(const te_tok *t, size_t len);
/* The merges of m, when tk_cache_verify left them (the backtracking tables
 * mapped, and every encoding of the te_tok on the fast path: bpe_fast.c
 * reads them only where those tables give out): checked once, before they
 * are first read.  0 sound (or checked already), -1 not. */
int tk_cache_verify_merges(const tk_bpe *m);

/* A string of a mapped cache: pool[off, off + n) followed by a NUL, all
 * in the pool, or NULL. */
static inline const char *
tk_cpool_str(const te_tok *t, uint32_t off, uint32_t n)
{
	if (off == UINT32_MAX || (uint64_t)off + n >= t->cpool_n || t->cpool[off + n])
		return NULL;
	return t->cpool + off;
}

/* String id of a table: from its pointers when built, else from the
 * mapped cache's pool (checked); NULL when there is none. */
static inline const char *
tk_str_of(const te_tok *t, char *const *ptr, const uint32_t *len, const uint32_t *off,
          int32_t id, size_t *n)
{
	const char *s;

	if (ptr)
		s = ptr[id];
	else if (!off || !(s = tk_cpool_str(t, off[id], len[id])))
		return NULL;
	*n = len[id];
	return s;
}

/* The string of id (0 <= id < nvocab) as the file writes it, or its raw
 * bytes (tk_bytes_of: NULL when the same as the string); NULL when none. */
static inline const char *
tk_piece_of(const te_tok *t, int32_t id, size_t *n)
{
	return tk_str_of(t, t->piece, t->piece_n, t->cpoff, id, n);
}

static inline const char *
tk_bytes_of(const te_tok *t, int32_t id, size_t *n)
{
	return tk_str_of(t, t->bytes, t->bytes_n, t->cboff, id, n);
}

/* normalize.c: normalize w in place (its text and alignment). */
int tk_normalize(const tk_norm *n, tk_work *w, te_diag *d);
void tk_norm_free(tk_norm *n);

/* pretok.c */
int tk_pretokenize(const tk_pre *p, tk_work *w, int first_segment, te_diag *d);
void tk_pre_free(tk_pre *p);
void tk_dec_free(tk_dec *x);	/* tok_build.c */
/* Compile a regex (Oniguruma, Ruby syntax, as HF tokenizers); NULL + d on error. */
void *tk_regex_new(const char *pat, size_t n, te_diag *d);
void tk_regex_free(void *re);
int tk_scanner_for(const char *pat);
/* Find the next match at or after pos: returns 1 with [*ms, *me). */
int tk_regex_find(void *re, const char *s, size_t n, size_t pos, size_t *ms, size_t *me);
/* Split s into the matches of a well-known pattern: calls emit for each
 * piece in order (every byte is in exactly one piece). */
size_t tk_scan(int scanner, const char *s, size_t n, size_t pos);
int tk_work_push(tk_work *w, size_t a, size_t b, int32_t fixed);

/* bpe.c: encode one word; appends ids and word-relative spans.  With
 * hand set, a long word's tokens may be handed on a part at a time as
 * they are proven final (bpe.c's cuts), so that they are not all held
 * here: put takes o's tokens [from, to) (which o then drops), their
 * spans relative to the part at at of the word; undo takes back the
 * tokens put past the first keep (a part is merged whole after all).  The
 * caller sets hand, with handed and at 0, for one word and clears it
 * after. */
struct tk_out;
typedef struct tk_hand {
	int (*put)(struct tk_hand *h, const struct tk_out *o, size_t from, size_t to);
	void (*undo)(struct tk_hand *h, size_t keep);   /* all but the first keep */
	size_t handed;          /* tokens put since the word began */
	size_t at;              /* where the part being merged starts in the word */
	size_t firm;            /* no undo takes back the first firm tokens put
	                         * (SIZE_MAX: none can be taken back) */
} tk_hand;
typedef struct tk_out {
	int32_t *ids;
	uint32_t *a, *b;
	size_t n, cap;
	tk_hand *hand;          /* NULL: every token stays in o */
} tk_out;
/* tok_util.c: room for at least one more token in o; -1 when out of memory. */
int tk_out_grow(tk_out *o);
/* Let go of o's room when one long word grew it past keep bytes (scratch
 * that is kept from word to word must not keep a huge word's size). */
void tk_out_trim(tk_out *o, size_t keep);
static inline int
tk_out_push(tk_out *o, int32_t id, size_t a, size_t b)
{
	if (o->n == o->cap && tk_out_grow(o))
		return -1;
	o->ids[o->n] = id;
	o->a[o->n] = (uint32_t)a;
	o->b[o->n] = (uint32_t)b;
	o->n++;
	return 0;
}
int tk_bpe_encode(const tk_bpe *m, const char *s, size_t n, tk_out *o);
/* bpe_fast.c: m's vocabulary and merges as flat open-addressing tables
 * (one cache line a lookup), built once, on first use, by any thread. */
typedef struct tk_vslot {
	uint64_t k0;                       /* the key's first 8 bytes, zero-padded */
	int32_t val;
	uint32_t meta;                     /* min(len, 255) << 24 | entry + 1; 0 = empty */
} tk_vslot;
typedef struct tk_pslot {
	uint64_t key;                      /* (a << 32 | b) + 1; 0 = empty */
	uint32_t rank;
	int32_t merged;
} tk_pslot;
typedef struct tk_flat {
	const ut_strmap *vocab;
	tk_vslot *v;                       /* ranks, ignore_merges: the vocabulary */
	size_t vmask;
	tk_pslot *p;                       /* merges */
	size_t pmask;
} tk_flat;
typedef struct tk_fastmap {
	/* a two-byte string b0 | b1 << 8: ranks: its id; merges: the rank of
	 * the merge of its two byte symbols; -1 none, -2 look it up */
	int32_t *r2;
	int32_t *m2;                       /* merges: the merged id */
	tk_flat *flat;                     /* NULL until built (tk_fastmap_flat) */
	struct tk_bt *bt;                  /* ranks, byte-level: by tk_fastmap_bt, or NULL */
	int bt_tried;
	const void *bt_img;                /* the cache's image of bt (tk_bt_map), or NULL */
	size_t bt_img_n;
	/* a mapped cache's merges, which tk_cache_verify leaves to
	 * tk_cache_verify_merges: 1 not checked yet, -1 unsound, 0 sound */
	int mcheck;
	int32_t mcheck_max;                /* their merged ids are below this */
	const char *mcheck_path;           /* the cache file (removed when unsound) */
} tk_fastmap;
const tk_fastmap *tk_fastmap_get(const tk_bpe *m);
/* Build f's flat tables too (tens of ms for a large vocabulary). */
const tk_flat *tk_fastmap_flat(const tk_bpe *m);
/* And the backtracking tables (ranks; some tens of ms more); NULL where
 * they do not apply. */
const struct tk_bt *tk_fastmap_bt(const tk_bpe *m);

/* bpe_bt.c: BPE of a ranks or byte-level merges vocabulary by
 * backtracking.  tk_bt_build returns NULL where it does not apply (neither,
 * a byte that is no token) or out of memory; tk_bt_encode appends the tokens of the word
 * s[0, n) to o: 0, 1 (not done: o as it was, encode by ranks), -1 out of
 * memory.  tk_bt_valid: would BPE keep tokens a and b apart? */
typedef struct tk_bt tk_bt;
tk_bt *tk_bt_build(const tk_bpe *m, const tk_flat *fl);
void tk_bt_free(tk_bt *b);
int tk_bt_valid(const tk_bt *b, uint32_t a, uint32_t c);
int tk_bt_encode(const tk_bt *b, const char *s, size_t n, tk_out *o);
/* May s[0, n) be a token of the model that the tables leave out (merges:
 * one no merge makes, taken whole by ignore_merges)?  0: it is none. */
int tk_bt_maybe_whole(const tk_bt *b, const char *s, size_t n);
/* Bring b's tables into the CPU's caches, once, when many new words are to
 * come (a read of some MB; no result). */
void tk_bt_warm(const tk_bt *b);
void tk_bt_thread_free(void);
/* The tables as the compiled cache holds them: tk_bt_image_write writes
 * tk_bt_image_size(b) bytes (8-byte aligned) into buf; tk_bt_map points
 * a tk_bt into such an image (which must outlive it, and be 8-byte
 * aligned) after checking every value of it, ids below maxid; NULL when
 * it is not sound or out of memory. */
size_t tk_bt_image_size(const tk_bt *b);
void tk_bt_image_write(const tk_bt *b, void *buf);
tk_bt *tk_bt_map(const void *image, size_t len, uint32_t maxid);

/* The first min(n, 8) bytes of s, little-endian, zero-padded (n > 0). */
static inline uint64_t
tk_load8(const char *s, size_t n)
{
	uint64_t k;
	uint32_t lo, hi;
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 8) {
		memcpy(&k, s, 8);
		return k;
	}
	if (n >= 4) {
		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		return (uint64_t)lo | (uint64_t)hi << (8 * (n - 4));
	}
	return (uint64_t)u[0] | (uint64_t)u[n >> 1] << (8 * (n >> 1)) |
	       (uint64_t)u[n - 1] << (8 * (n - 1));
}

static inline uint64_t
tk_vhash(uint64_t k0, const char *s, size_t n)
{
	uint64_t h = (k0 ^ (uint64_t)n << 56) * 0x9e3779b97f4a7c15ULL;

	if (n > 8) {
		uint64_t kl;

		memcpy(&kl, s + n - 8, 8);
		h ^= kl * 0xc2b2ae3d27d4eb4fULL;
		h ^= h >> 29;
		h *= 0xbf58476d1ce4e5b9ULL;
	}
	return h ^ h >> 32;
}

/* The id of the n > 0 bytes s in f's vocabulary, or -1; k0 = tk_load8(s, n),
 * h = tk_vhash(k0, s, n). */
static inline int32_t
tk_fv_get_h(const tk_flat *f, const char *s, size_t n, uint64_t k0, uint64_t h)
{
	uint32_t lm = (uint32_t)(n < 255 ? n : 255) << 24;
	size_t j;

	for (j = h & f->vmask; f->v[j].meta; j = (j + 1) & f->vmask) {
		const tk_vslot *x = &f->v[j];
		const ut_sment *en;

		if (x->k0 != k0 || (x->meta & 0xff000000u) != lm)
			continue;
		if (n <= 8)
			return x->val;
		en = &f->vocab->ent[(x->meta & 0xffffffu) - 1];
		if (en->klen == n && !memcmp(f->vocab->pool + en->koff + 8, s + 8, n - 8))
			return x->val;
	}
	return -1;
}

static inline int32_t
tk_fv_get(const tk_flat *f, const char *s, size_t n)
{
	uint64_t k0 = tk_load8(s, n);

	return tk_fv_get_h(f, s, n, k0, tk_vhash(k0, s, n));
}

static inline int
tk_fp_get(const tk_flat *f, int32_t a, int32_t b, uint32_t *rank, int32_t *merged)
{
	uint64_t k = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
	size_t i;

	for (i = tk_pair_hash(k) & f->pmask; f->p[i].key; i = (i + 1) & f->pmask)
		if (f->p[i].key == k) {
			*rank = f->p[i].rank;
			*merged = f->p[i].merged;
			return 1;
		}
	return 0;
}
/* Free f (te_tok_free: the fast tables are bpe_fast.c's, not bpe.c's). */
void tk_fastmap_free(tk_fastmap *f);
/* As tk_bpe_encode, through f (tk_fastmap_get(m), for a byte-level or ranks
 * model only); f may be NULL. */
/* gen: the te_tok's cache_gen (its pairs are remembered across words),
 * or 0 */
int tk_bpe_encode_f(const tk_bpe *m, const tk_fastmap *f, int32_t gen, const char *s, size_t n,
                    tk_out *o);
void tk_bpe_release(tk_bpe *m);
/* Free this thread's scratch space (at thread exit). */
void tk_bpe_thread_free(void);
/* words of this many symbols or more are merged with a bucket per rank
 * instead of a heap (bpe.c; the tests lower it to exercise that path) */
extern size_t tk_bpe_bq_min;
/* a word of this many bytes or more of a SentencePiece-style merge table
 * is cut at its words' starts where no merge can cross, into parts of
 * about half this (bpe.c; the tests lower it) */
extern size_t tk_bpe_split_min;
/* the cut places a long word is tried at before it is merged whole
 * (bpe.c; the tests lower it to have parts handed on taken back) */
extern int tk_bpe_cut_tries;
/* tests only: mark every bucket out of order and sort it from reverse */
extern int tk_bpe_bq_test;
/* ranks from here on (none in a sound table) send the word to the heap */
extern uint32_t tk_bpe_bq_rank_max;
void tk_regex_thread_free(void);
/* tok.c: te_tok_encode_trunc of text[0, len) into e; where f is not
 * NULL (max_tokens -1), e's tokens are handed on a block at a time as they
 * are made: f->put
 * takes e's first n tokens, final, their spans in text (and e drops
 * them), 0 or -1 (which fails the encoding).  e keeps the last tokens,
 * as te_tok_encode would have left them after those put.  COUNT_ONLY
 * hands nothing on.  A failure after tokens were put leaves them put (a
 * long word that has to be merged whole after its first tokens were put
 * is one, which bpe.c's cut_tail makes unlikely). */
typedef struct tk_flush {
	int (*put)(struct tk_flush *f, const te_tok_enc *e, size_t n);
} tk_flush;
int tk_tok_encode_flush(const te_tok *t, const char *text, size_t len, unsigned flags,
                        long max_tokens, te_tok_enc *e, tk_flush *f, te_diag *d);
/* A flags bit of tk_tok_encode_flush alone (the public calls clear it):
 * the caller has found the text valid UTF-8 (te_utf8_valid), so it is not
 * looked through again. */
#define TK_TEXT_VALID 0x20000000u
/* tok.c: a normalized text longer than this, encoded without spans, is
 * pre-tokenized a window of about this many bytes at a time where its
 * pre-tokenizer allows (the tests lower it to exercise that path) */
extern size_t tk_tok_window;
/* bpe_fast.c: the scanner of t's pre-tokenizer when t takes the fast path
 * (a hand-scanned split into byte-level BPE), else 0; then encode the
 * (normalized) text s[0, n) that way, appending to e, byte i of s coming
 * from input base + the span al gives it (NULL: from base + i).  -1: out
 * of memory. */
int tk_fast_ok(const te_tok *t);
int tk_fast_encode(const te_tok *t, int scanner, const char *s, size_t n, size_t base,
                   tk_amap *al, te_tok_enc *e);
void tk_fast_thread_free(void);
int tk_wordpiece_encode(const tk_wordpiece *m, const char *s, size_t n, tk_out *o);
/* Build m's trie from its vocabulary (again); 0 or -1 (out of memory).
 * Not while another thread encodes with m: tk_tok_derive sets lazy
 * instead, and the encode builds it (once, under a lock). */
int tk_wordpiece_prepare(tk_wordpiece *m);
void tk_wordpiece_release(tk_wordpiece *m);

/* ------------------------------------------------------------ tok_pool.c */

/* A pool of threads that run a list of encoding jobs: te_tok_batch's threads.
 * tk_pool_run hands jobs 0 .. n-1 out and returns at once;
 * tk_pool_wait runs what is left on the calling thread, then waits
 * until every job is done.  A job is fn(arg, i, e): e is a scratch encoding
 * of the thread running it, reused from job to job (fn must not keep it).
 * Jobs run in any order, on any thread, several at once: fn writes its
 * result where job i's goes, and the caller reads them, in order, after
 * tk_pool_wait.  One job list at a time. */
typedef struct tk_pool tk_pool;
typedef void (*tk_pool_fn)(void *arg, size_t i, te_tok_enc *e);
/* A pool of threads threads (1 to 256, 0: one per CPU; the caller and
 * threads - 1 helpers, started by tk_pool_helpers); NULL when out of
 * memory. */
tk_pool *tk_pool_new(int threads);
/* Start the helpers, the first time; returns how many run (0: the caller
 * runs every job alone, as when the threads could not be made). */
int tk_pool_helpers(tk_pool *p);
/* How many helpers run, without starting them. */
int tk_pool_started(const tk_pool *p);
void tk_pool_run(tk_pool *p, size_t n, tk_pool_fn fn, void *arg);
/* tk_pool_run for jobs of some length each (parts of a file): handed out
 * one at a time, so that the threads finish together. */
void tk_pool_run_each(tk_pool *p, size_t n, tk_pool_fn fn, void *arg);
void tk_pool_wait(tk_pool *p);
/* Stop and join the helpers, free p.  NULL is fine. */
void tk_pool_free(tk_pool *p);

/* tok_cut.c: whether t's encoding of a document under flags may be cut
 * where tk_cut_next says (te_tok_cuts's rule, see tokemb.h); the first
 * such cut (a line start) whose newline lies in [from, to) of text[0,
 * len), or 0 when there is none.  A cut depends on the text only, so
 * threads that look for cuts in parts of one document agree on them. */
int tk_cuts_ok(const te_tok *t, unsigned flags);
size_t tk_cut_next(const char *text, size_t len, size_t from, size_t to);

/* pretok_scan.c: up to max pieces from pos (as tk_scan, one after
 * another): the end of each into ends; returns how many (0 at n). */
size_t tk_scan_batch(int scanner, const char *s, size_t n, size_t pos, size_t *ends, size_t max);

/* bpe_fast.c: t (fast path) can encode s[0, n) unnormalized: t has no
 * normalizer, or one that leaves ASCII as it is and s is ASCII. */
int tk_fast_unnormalized(const te_tok *t, const char *s, size_t n);

/* tok_cache.c, for caches of other formats (spm_cache.c): one image
 * (a blob) per source, in the places tk_cache_load looks, named with ext
 * instead of ".tokemb", trusted as its caches are (owner, mode).  The
 * blob's own header says which source it was made from (tk_cache_src,
 * filled by tk_cache_blob_source) and carries tk_cache_blob_sum of what
 * it covers; canon is file's realpath.  tk_cache_blob_map maps the first
 * blob that ok accepts (ok returns 0) and sets *n to its size; NULL when
 * none.  tk_cache_blob_save
 * writes p[0, n) whole (rename) or not at all; -1 on failure. */
typedef struct tk_cache_src {
	uint64_t size, ino, dev;
	int64_t mtime_s, mtime_ns;
	uint64_t head, tail;
} tk_cache_src;
int tk_cache_blob_source(const char *file, tk_cache_src *s);
uint64_t tk_cache_blob_sum(const void *p, size_t n);
int tk_cache_blob_save(const char *file, const char *canon, const char *ext, const void *p,
                       size_t n);
void *tk_cache_blob_map(const char *file, const char *canon, const char *ext, size_t *n,
                        int (*ok)(const void *p, size_t n, void *ctx), void *ctx);

/* ------------------------------------------------------------- tok_io.c */

/* te_tok_batch's input and output without copies; tok_batch.c -> tok_io.c,
 * which calls only libc.
 * tk_map: a regular file (or standard input that is one, from where it
 * stands) mapped whole and read as documents in place.  tk_map_open
 * returns 1, or 0 when path is not such a file or cannot be mapped (read
 * it as a stream then: te_reader says why it cannot be opened).
 * tk_map_next gives the next document, [*off, *off + *len) of p without
 * its delimiter, always followed by one readable byte (its delimiter, or a
 * 0 after the last); 0 at the end.  tk_map_drop gives back the pages of
 * [0, end) (written out: memory stays one batch).  tk_map_close unmaps. */
typedef struct tk_map {
	char *p;
	size_t size, pos, dropped;
	size_t mapped;          /* its pages are mapped up to here (tk_map_next) */
	long lineno;            /* of the document last given */
} tk_map;
int tk_map_open(tk_map *m, const char *path);
int tk_map_next(tk_map *m, int delim, size_t *off, size_t *len);
void tk_map_drop(tk_map *m, size_t end);
void tk_map_close(tk_map *m);

/* tk_wr: pieces of output written in order by writev straight from the
 * caller's buffers, which must stay until tk_wr_flush; through stdio
 * (fwrite) when fp has no descriptor.  Anything buffered in fp is flushed
 * first.  After a failed write nothing more is written and tk_wr_flush
 * returns its errno (0: all written). */
#include <sys/uio.h>
#define TK_WR_IOV 1024
typedef struct tk_wr {
	FILE *fp;
	int fd, n, err;
	struct iovec iov[TK_WR_IOV];
} tk_wr;
void tk_wr_init(tk_wr *o, FILE *fp);
void tk_wr_put(tk_wr *o, const void *p, size_t n);
int tk_wr_flush(tk_wr *o);

/* ------------------------------------------------------------ tok_fmt.c */

/* Write r (te_tok_format's record) on o: its bytes, or the text of the
 * spans it holds packed, a piece at a time (what o held before is written
 * first).  A failed write stops it, as tk_wr_put. */
void tk_rec_put(tk_wr *o, const te_tok_rec *r);
/* Append the n bytes at p to r; -1 when out of memory. */
int tk_rec_append(te_tok_rec *r, const void *p, size_t n);

#endif
