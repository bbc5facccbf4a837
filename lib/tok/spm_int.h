/*
 * spm_int.h - internal interface of the SentencePiece side of the
 * tokenizers: SentencePiece .model files (BPE and Unigram), the Unigram
 * model on its own (for Hugging Face tokenizer.json "Unigram"), the
 * precompiled character-map normalizer (sentencepiece's normalizer and HF's
 * "Precompiled"), and llama.cpp GGUF vocabularies.
 *
 * The rules of tokemb.h hold: nothing here prints or exits; failures return
 * -1 or NULL and fill the te_diag; every _free accepts NULL.  Output arrays
 * (te_ids, tk_spm_spans, ut_buf) are APPENDED to, never cleared, so a
 * caller can build one encoding from several calls.  Offsets are byte
 * offsets into the text given to that call.
 */
#ifndef SPM_INT_H
#define SPM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tokemb.h"
#include "util_int.h"

/* A growable array of byte spans [start, end), one per token: 8 bytes,
 * as a long text has many (spans are kept of a text under 4 GiB). */
typedef struct tk_spm_span {
	uint32_t start, end;
} tk_spm_span;
typedef struct tk_spm_spans {
	tk_spm_span *v;
	size_t n, cap;
} tk_spm_spans;
int tk_spm_spans_push(tk_spm_spans *a, size_t start, size_t end);
void tk_spm_spans_release(tk_spm_spans *a);
/* Ids and, when spans is not NULL, their spans appended to arrays: the
 * ctx of tk_ids_spans_emit (a tk_emit_fn, below) and tk_ids_spans_widen
 * (a tk_widen_fn). */
typedef struct tk_ids_spans {
	te_ids *ids;
	tk_spm_spans *spans;
} tk_ids_spans;
int tk_ids_spans_emit(void *ctx, int32_t id, size_t a, size_t b);
void tk_ids_spans_widen(void *ctx, size_t end);

/* An alignment of a rewritten text to its input, kept as runs, so that
 * text kept or rewritten in a regular way costs a few bytes a change,
 * not 8 a byte: byte i of run r (r.at <= i < the next run's at) maps to
 * the input span [r.os + m r.q, r.oe + m r.q), m = (i - r.at) / r.p.  A
 * run of bytes each their own is p = q = 1; of characters each their
 * own, p = q = the character's length; of bytes all of one span, q = 0;
 * one group and then bytes each their own, q marked (spm_util.c).  A run
 * is held in 10 bytes: where it starts, its os and its shape (oe - os,
 * p, q), one of a table of the shapes met, which are few.  Offsets are
 * relative to the caller's base (under 4 GiB).  cur is the run of the
 * last lookup, c it decoded: lookups in increasing order cost no search,
 * and those in the same run no call (any change to a drops c). */
typedef struct tk_arun {        /* a run, as spm_util.c reads it */
	uint32_t at, os, oe;
	uint16_t p, q;
} tk_arun;
typedef struct tk_ashape {
	uint32_t w;             /* oe - os */
	uint16_t p, q;
} tk_ashape;
typedef struct tk_amap {
	uint32_t *at, *os;      /* each run's first byte, where its span starts */
	uint16_t *sh;           /* its shape: in shape, or (the table full) side;
	                         * the last run's, in last */
	size_t n, cap, len;     /* len: the bytes mapped */
	size_t cur;
	tk_arun c;              /* run cur, decoded: the cursor */
	size_t c_n;             /* its bytes (c.at <= i < c.at + c_n); 0: none */
	tk_ashape *shape;       /* the shapes met, at most 65535 */
	uint16_t *slot;         /* their hash: index + 1, 0 empty; nslot of them */
	size_t nshape, nslot;
	tk_ashape last;         /* the last run's shape */
	uint64_t own1;          /* 1 + the input offset a byte put next, its
	                         * own, would extend the last run with; 0 none */
	uint32_t *side_run;     /* the runs of the shapes past those, in order */
	tk_ashape *side;
	size_t nside, side_cap;
} tk_amap;
/* Append n bytes that all map to [os, oe): tk_amap_put below. */
int tk_amap_put_run(tk_amap *a, size_t n, uint32_t os, uint32_t oe);
/* Append n bytes each its own: byte k to [os + k, os + k + 1); inline
 * when they go on from the last bytes put so (one compare), else
 * tk_amap_own_run. */
int tk_amap_own_run(tk_amap *a, size_t n, uint32_t os);
static inline int tk_amap_put_own(tk_amap *a, size_t n, uint32_t os)
{
	if (n && a->own1 == (uint64_t)os + 1) {
		a->len += n;
		a->own1 += n;
		return 0;
	}
	return tk_amap_own_run(a, n, os);
}
static inline int tk_amap_put(tk_amap *a, size_t n, uint32_t os, uint32_t oe)
{
	if (n == 1 && oe - os == 1)	/* a byte its own */
		return tk_amap_put_own(a, 1, os);
	return tk_amap_put_run(a, n, os, oe);
}
/* Append gn bytes that all map to [os, oe), then n bytes each their own
 * from tos (>= os): one run, a call ("▁" for a space and the word after
 * it), where tk_amap_put_run and tk_amap_put_own would make the same. */
int tk_amap_put_tail(tk_amap *a, size_t gn, uint32_t os, uint32_t oe, size_t n, uint32_t tos);
/* q of a run of one group followed by bytes each their own, from t bytes
 * after the group's start: q = TK_AMAP_TAIL + t, byte at + p + k to
 * [os + t + k, os + t + k + 1) (a space made "▁", then the word after it;
 * "▁" put before a word, then the word). */
#define TK_AMAP_TAIL 0xff00
/* Make run of byte i (< a->len) a's cursor, a->c. */
void tk_amap_seek(tk_amap *a, size_t i);
/* The span of byte i of a's cursor run: inline, so that a lookup in the
 * run of the one before is a compare and a few adds. */
static inline uint32_t tk_amap_cur_os(const tk_amap *a, size_t i)
{
	uint32_t k = (uint32_t)(i - a->c.at);

	if (a->c.q >= TK_AMAP_TAIL)
		return k < a->c.p ? a->c.os : a->c.os + (uint32_t)(a->c.q - TK_AMAP_TAIL) + (k - a->c.p);
	return a->c.os + (a->c.p == 1 ? k : k / a->c.p) * a->c.q;
}
static inline uint32_t tk_amap_cur_oe(const tk_amap *a, size_t i)
{
	uint32_t k = (uint32_t)(i - a->c.at);

	if (a->c.q >= TK_AMAP_TAIL)
		return k < a->c.p ? a->c.oe : a->c.os + (uint32_t)(a->c.q - TK_AMAP_TAIL) + (k - a->c.p) + 1;
	return a->c.oe + (a->c.p == 1 ? k : k / a->c.p) * a->c.q;
}
/* The span of byte i (< a->len). */
static inline void tk_amap_get(tk_amap *a, size_t i, uint32_t *os, uint32_t *oe)
{
	if (i - a->c.at >= a->c_n)
		tk_amap_seek(a, i);
	*os = tk_amap_cur_os(a, i);
	*oe = tk_amap_cur_oe(a, i);
}
/* Where byte i's span starts, ends (a NULL a: byte i is its own). */
static inline size_t tk_amap_start(tk_amap *a, size_t i)
{
	if (!a)
		return i;
	if (i - a->c.at >= a->c_n)
		tk_amap_seek(a, i);
	return tk_amap_cur_os(a, i);
}
static inline size_t tk_amap_end(tk_amap *a, size_t i)
{
	if (!a)
		return i + 1;
	if (i - a->c.at >= a->c_n)
		tk_amap_seek(a, i);
	return tk_amap_cur_oe(a, i);
}
/* Whether a's bytes [from, to) (from < to <= a->len) are each their own,
 * in one run: then *os is where byte from's span starts (a NULL a: all
 * are, *os is from), and they are put on as such (tk_amap_put_own,
 * tk_amap_put_tail), not copied. */
static inline int tk_amap_own(tk_amap *a, size_t from, size_t to, uint32_t *os)
{
	if (!a) {
		*os = (uint32_t)from;
		return 1;
	}
	if (from - a->c.at >= a->c_n)
		tk_amap_seek(a, from);
	if (to - a->c.at > a->c_n)
		return 0;
	if (a->c.q >= TK_AMAP_TAIL ? from - a->c.at < a->c.p
	    : a->c.p != 1 || a->c.q != 1 || a->c.oe - a->c.os != 1)
		return 0;
	*os = tk_amap_cur_os(a, from);
	return 1;
}
/* Append the spans of a's bytes [from, to) to d. */
int tk_amap_copy(tk_amap *d, tk_amap *a, size_t from, size_t to);
/* Keep the first len bytes' spans (len <= a->len). */
void tk_amap_trunc(tk_amap *a, size_t len);
/* The bytes a holds. */
size_t tk_amap_size(const tk_amap *a);
void tk_amap_release(tk_amap *a);

/* Piece types: the values of sentencepiece's ModelProto.SentencePiece.Type,
 * which llama.cpp's tokenizer.ggml.token_type also uses. */
typedef enum tk_spm_type {
	TK_SPM_TYPE_NORMAL = 1,
	TK_SPM_TYPE_UNKNOWN = 2,
	TK_SPM_TYPE_CONTROL = 3,
	TK_SPM_TYPE_USER_DEFINED = 4,
	TK_SPM_TYPE_UNUSED = 5,
	TK_SPM_TYPE_BYTE = 6
} tk_spm_type;

/* TrainerSpec.model_type. */
typedef enum tk_spm_model_type {
	TK_SPM_MODEL_UNIGRAM = 1,
	TK_SPM_MODEL_BPE = 2,
	TK_SPM_MODEL_WORD = 3,
	TK_SPM_MODEL_CHAR = 4
} tk_spm_model_type;

/* ------------------------------------------------ precompiled normalizer */

/* sentencepiece's precompiled_charsmap: a darts-clone double-array trie
 * over the source strings and a pool of NUL-terminated replacements. */
typedef struct tk_precompiled tk_precompiled;

/* From the raw blob (a .model's normalizer_spec.precompiled_charsmap, or
 * the base64-decoded "precompiled_charsmap" of tokenizer.json).  The blob
 * is copied.  A broken blob is refused. */
tk_precompiled *tk_precompiled_new(const void *blob, size_t n, te_diag *d);
/* From the base64 text of tokenizer.json. */
tk_precompiled *tk_precompiled_from_base64(const char *b64, size_t n,
                                           te_diag *d);
void tk_precompiled_free(tk_precompiled *pc);

/* Longest rule matching a prefix of s[0, n): returns its length in bytes
 * (0 when none) and sets *rep and *rep_len to the replacement.  This is the
 * lookup sentencepiece's normalizer uses. */
size_t tk_precompiled_prefix(const tk_precompiled *pc, const char *s, size_t n,
                             const char **rep, size_t *rep_len);

/* For each ASCII byte c, what the rules say of it in ASCII text: 2, no
 * rule starts with c; 1, every rule that starts with c goes on with a byte
 * over 0x7F (c is itself when an ASCII byte or the end follows); 0, else. */
void tk_precompiled_ascii(const tk_precompiled *pc, uint8_t plain[128]);

/* Hugging Face's Precompiled normalizer over valid UTF-8 text: per extended
 * grapheme cluster (tk_grapheme_end), a cluster under 6 bytes whose first
 * (shortest) matching rule exists is replaced whole by that rule's output;
 * otherwise each character is replaced by its own first rule, or kept.
 * Appends the result to out; when align is not NULL, (*align)[2i] and
 * (*align)[2i + 1], for each byte i of out (pass an empty out), are the
 * span of s that HF tokenizers aligns that byte to (the character it
 * replaces; for one it inserts, the character before; after a removal at
 * the very start, shifted: NormalizedString::transform of the changes its
 * replace() makes).  Invalid UTF-8 bytes are copied through unchanged.
 * Returns 0, -1 on no memory. */
int tk_precompiled_normalize(const tk_precompiled *pc, const char *s, size_t n,
                             ut_buf *out, size_t **align, size_t *align_cap,
                             te_diag *d);
/* The same with alignment, in bounded memory: each output character, in
 * order, handed to fn with its bytes and the span [a, b) of s it is
 * aligned to.  fn returns 0, or -1 for no memory, which ends the walk. */
typedef int (*tk_pc_fn)(void *ctx, const char *o, size_t n, size_t a, size_t b);
int tk_precompiled_each(const tk_precompiled *pc, const char *s, size_t n, tk_pc_fn fn,
                        void *ctx, te_diag *d);

/* -------------------------------------------------------------- unigram */

typedef struct tk_unigram tk_unigram;
struct tk_strie;

/* Scoring arithmetic: HF tokenizers sums scores in double and gives an
 * unknown character min(all scores) - 10; sentencepiece keeps path scores
 * in float, takes the minimum over NORMAL pieces only, skips UNUSED pieces,
 * and gives USER_DEFINED pieces length * max_score - 0.1. */
#define TK_UNIGRAM_HF 0
#define TK_UNIGRAM_SPM 1

/* Build from n pieces (bytes pieces[i], length lens[i]; lens NULL means
 * NUL-terminated) with scores.  types (NULL = all NORMAL) matters only in
 * TK_UNIGRAM_SPM mode, where UNKNOWN, CONTROL and BYTE pieces are left out
 * of the lattice.  unk_id -1 means none (encoding an unknown character is
 * then an error, as in HF).  byte_fallback: HF's flag (spm mode leaves byte
 * fallback to tk_spm).  Copies what it needs. */
tk_unigram *tk_unigram_new(size_t n, const char *const *pieces,
                           const size_t *lens, const double *scores,
                           const uint8_t *types, int32_t unk_id,
                           int byte_fallback, int mode, te_diag *d);
void tk_unigram_free(tk_unigram *u);

/* Viterbi segmentation of one normalized, pre-tokenized string s[0, len)
 * (valid UTF-8), appending ids and, when spans is not NULL, byte spans.
 * HF mode does what HF's Unigram model does after Viterbi: consecutive
 * unknowns are fused into one piece, a piece is looked up by its string,
 * and with byte_fallback an unknown piece becomes its <0xXX> bytes (all or
 * none).  SPM mode appends the raw best path (unknowns one character each;
 * tk_spm fuses them and applies byte fallback).  Returns 0, or -1 with d
 * filled (no unk_id for an unknown character; no memory). */
int tk_unigram_encode(const tk_unigram *u, const char *s, size_t len,
                      te_ids *ids, tk_spm_spans *spans, te_diag *d);
/* The same, each id and its span given to emit as the path is walked, in
 * order (no array of them is kept): the memory is a byte a byte of s
 * (pieces under 256 bytes).
 * emit returns 0, or -1 for no memory, which ends the walk. */
typedef int (*tk_emit_fn)(void *ctx, int32_t id, size_t a, size_t b);
/* The last id emitted now ends at end (unknown pieces fused into one). */
typedef void (*tk_widen_fn)(void *ctx, size_t end);
int tk_unigram_encode_cb(const tk_unigram *u, const char *s, size_t len,
                         tk_emit_fn emit, void *ctx, te_diag *d);

/* SPM mode, the lattice's trie borrowed: trie (compiled, or hashed)
 * holds the ids of the pieces of types NORMAL and USER_DEFINED, no other,
 * and outlives the model.  The other arguments as tk_unigram_new's. */
tk_unigram *tk_unigram_new_on(const struct tk_strie *trie, size_t n, const char *const *pieces,
                              const size_t *lens, const double *scores,
                              const uint8_t *types, int32_t unk_id, te_diag *d);

/* A piece of a path: the span [start, end) of its text and its id (an
 * unknown character: -1 from tk_unigram_word_*). */
typedef struct tk_seg {
	uint32_t start, end;
	int32_t id;
} tk_seg;

/* SPM mode, a text cut into words before each space symbol, when no
 * lattice piece holds the symbol (or, at its end, its first bytes) past
 * its first byte: then no path crosses a cut, and a word's best path
 * depends on its bytes and on the score *start of the best path before it
 * alone.  tk_unigram_word_run finds it as sentencepiece does over the
 * whole text (each piece and its span in the word to emit, an unknown
 * character as -1) and sets *start to its end's score; returns 0, or -1
 * for no memory. */
int tk_unigram_word_run(const tk_unigram *u, const char *s, size_t len, double *start,
                        tk_emit_fn emit, void *ctx);
/* The same, found once for every start: a word of at most
 * TK_UNIGRAM_WORD_MAX bytes, its best path to out (room for len pieces;
 * returns their number), which is the path tk_unigram_word_run finds from
 * start P when *sure0 > *sure1 * |P| (the proof is in unigram.c); else it
 * must be run from P; *sure1 is 2^-21 times the word's characters.
 * tk_unigram_path_end then gives the end's score of its pieces' ids. */
#define TK_UNIGRAM_WORD_MAX 255
size_t tk_unigram_word_best(const tk_unigram *u, const char *s, size_t len, tk_seg *out,
                            double *sure0, double *sure1);
double tk_unigram_path_end(const tk_unigram *u, const int32_t *ids, size_t n, double start);

/* ------------------------------------------------------- sentencepiece */

typedef struct tk_spm tk_spm;

/* Load a SentencePiece .model (a protobuf ModelProto, parsed by hand).
 * Truncated or malicious files are refused with a message naming the byte
 * offset.  Model types other than UNIGRAM and BPE are refused. */
tk_spm *tk_spm_load(const char *path, te_diag *d);
/* The same from bytes in memory (copied); name is used in messages. */
tk_spm *tk_spm_load_mem(const void *buf, size_t n, const char *name,
                        te_diag *d);
void tk_spm_free(tk_spm *m);

/* Encode flags. */
#define TK_SPM_ADD_BOS 1  /* prepend bos_id (when the model has one) */
#define TK_SPM_ADD_EOS 2  /* append eos_id (when the model has one) */

/* Encode text[0, len) exactly as SentencePieceProcessor::Encode does:
 * the normalizer (charsmap, extra whitespace, dummy prefix, U+2581),
 * user-defined pieces matched in the text, BPE or Unigram, runs of unknown
 * pieces fused into one, byte fallback as <0xXX> pieces.  sentencepiece
 * adds no BOS/EOS by default; flags ask for them.  Invalid UTF-8 bytes
 * become U+FFFD (one per byte) as in sentencepiece.  Appends ids and, when
 * spans is not NULL, the byte span of each id in text (BOS/EOS and all but
 * the last byte piece of a character get an empty span).  Time
 * O(len log len).  Returns 0 or -1 (no memory). */
int tk_spm_encode(const tk_spm *m, const char *text, size_t len, int flags,
                  te_ids *ids, tk_spm_spans *spans, te_diag *d);
/* The same, each id and its span (0, 0 unless spans is set) given to emit
 * in order, and widen called where a span given grows, so that no array of
 * them is kept here: the memory is the normalized text's and the
 * segmenter's. */
int tk_spm_encode_cb(const tk_spm *m, const char *text, size_t len, int flags, int spans,
                     tk_emit_fn emit, tk_widen_fn widen, void *ctx, te_diag *d);

/* BPE segments (runs without whitespace) of this many bytes or more are
 * merged in bounded memory (spm.c's bpe_long), with the same result;
 * t/unit/test-spm-long.c lowers it to hold the two ways together. */
extern size_t tk_spm_long_min;

/* The number of ids tk_spm_encode would append, in *count, without them:
 * the memory is the normalized text's and the segmenter's alone.  Returns
 * 0 or -1 (no memory). */
int tk_spm_count(const tk_spm *m, const char *text, size_t len, int flags, size_t *count,
                 te_diag *d);

/* Decode ids as SentencePieceProcessor::DecodeIds: U+2581 to space, the
 * leading space of the first piece removed (when the model adds a dummy
 * prefix), control pieces to nothing, the unknown piece to " \u2047 ", runs
 * of byte pieces reassembled (bytes that are not valid UTF-8 become U+FFFD
 * each).  Appends to out.  An id outside [0, vocab size) is an error that
 * names it and its position. */
int tk_spm_decode(const tk_spm *m, const int32_t *ids, size_t n,
                  ut_buf *out, te_diag *d);

size_t tk_spm_vocab_size(const tk_spm *m);
/* The piece string of id (points into m; *len its length), NULL when out
 * of range. */
const char *tk_spm_piece(const tk_spm *m, int32_t id, size_t *len);
float tk_spm_score(const tk_spm *m, int32_t id);
tk_spm_type tk_spm_piece_type(const tk_spm *m, int32_t id);
/* The id of a piece string, -1 when absent. */
int32_t tk_spm_piece_id(const tk_spm *m, const char *s, size_t len);
tk_spm_model_type tk_spm_model(const tk_spm *m);
/* Special ids from the trainer spec (-1 when disabled). */
int32_t tk_spm_unk_id(const tk_spm *m);
int32_t tk_spm_bos_id(const tk_spm *m);
int32_t tk_spm_eos_id(const tk_spm *m);
int32_t tk_spm_pad_id(const tk_spm *m);
int tk_spm_byte_fallback(const tk_spm *m);
/* normalizer_spec: its name ("nmt_nfkc", "identity", ...) and flags. */
const char *tk_spm_normalizer_name(const tk_spm *m);
int tk_spm_add_dummy_prefix(const tk_spm *m);

/* ------------------------------------------------------------------ gguf */

/* The tokenizer metadata of a llama.cpp GGUF file (vocab-only or full;
 * tensor data is not read).  Strings are NUL-terminated copies; tokens may
 * themselves contain NUL, so their lengths are given. */
typedef struct tk_gguf_vocab {
	uint32_t version;        /* GGUF version (2 or 3) */
	char *arch;              /* general.architecture, or NULL */
	char *name;              /* general.name, or NULL */
	char *model;             /* tokenizer.ggml.model: "llama" (SentencePiece),
	                          * "gpt2" (byte-level BPE), "bert" (WordPiece),
	                          * "t5", ... */
	char *pre;               /* tokenizer.ggml.pre ("llama-bpe", "qwen2",
	                          * "starcoder", ...), or NULL */
	size_t n_tokens;
	char **tokens;           /* tokenizer.ggml.tokens */
	size_t *token_lens;
	float *scores;           /* tokenizer.ggml.scores, or NULL */
	int32_t *token_types;    /* tokenizer.ggml.token_type (tk_spm_type
	                          * values), or NULL */
	size_t n_merges;
	char **merges;           /* tokenizer.ggml.merges ("a b"), or NULL */
	size_t *merge_lens;
	/* tokenizer.ggml.*_token_id, -1 when absent */
	int32_t bos_id, eos_id, unk_id, sep_id, pad_id, cls_id, mask_id;
	/* tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix /
	 * remove_extra_whitespaces: 1, 0, or -1 when absent */
	int add_bos, add_eos, add_space_prefix, remove_extra_whitespaces;
	/* tokenizer.ggml.precompiled_charsmap (raw bytes), or NULL */
	uint8_t *charsmap;
	size_t charsmap_len;
} tk_gguf_vocab;

/* Read the metadata of a GGUF file.  Every length, count and type is
 * checked against the file; a truncated or malicious file is refused with
 * the byte offset.  A file without tokenizer.ggml.model/tokens is refused. */
tk_gguf_vocab *tk_gguf_vocab_load(const char *path, te_diag *d);
tk_gguf_vocab *tk_gguf_vocab_load_mem(const void *buf, size_t n,
                                      const char *name, te_diag *d);
void tk_gguf_vocab_free(tk_gguf_vocab *g);

/* A SentencePiece model from a "llama" GGUF vocabulary (tokens, scores,
 * token types), behaving as the model it was converted from: BPE by score
 * (or Unigram for "t5"), byte fallback when <0xXX> byte tokens exist,
 * dummy prefix per add_space_prefix (default on), no extra-whitespace
 * removal unless the file asks.  g may be freed afterwards. */
tk_spm *tk_spm_from_gguf(const tk_gguf_vocab *g, te_diag *d);

/* ------------------------------------- shared by the spm modules only */

/* A byte trie, built in an open-addressing hash table ((node, byte) ->
 * child) and then compiled into a double array (child = base[node] + byte
 * when check[child] == node), which walks with one array read per byte.
 * Node 0 is the root and never anyone's child, so 0 also means "none". */
typedef struct tk_strie {
	uint64_t *keys;   /* ((node << 8) | byte) + 1; 0 = empty slot */
	uint32_t *child;
	size_t cap, used; /* cap a power of two */
	int32_t *value;   /* per node: the id stored there or -1 */
	size_t n_nodes, value_cap;
	/* after tk_strie_compile: */
	int32_t *base, *check;
	size_t dsize;
} tk_strie;
int tk_strie_init(tk_strie *t);
void tk_strie_release(tk_strie *t);

/* Insert s[0, len) with value v; an existing value is kept unless
 * overwrite.  Not after tk_strie_compile.  Returns 0, -1 on no memory. */
int tk_strie_insert(tk_strie *t, const char *s, size_t len, int32_t v,
                    int overwrite);
/* Build the double array and drop the hash table; node numbers change.
 * Returns 0, -1 on no memory (the trie then still works, hashed). */
int tk_strie_compile(tk_strie *t);
static inline uint32_t
tk_strie_next(const tk_strie *t, uint32_t node, unsigned char c)
{
	uint64_t key;
	size_t mask, h;

	if (t->base) {
		size_t i = (size_t)t->base[node] + c;

		return i < t->dsize && t->check[i] == (int32_t)node ? (uint32_t)i : 0;
	}
	key = (((uint64_t)node << 8) | c) + 1;
	mask = t->cap - 1;
	h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
	for (;;) {
		if (t->keys[h] == key)
			return t->child[h];
		if (t->keys[h] == 0)
			return 0;
		h = (h + 1) & mask;
	}
}
/* The value stored for s[0, len), or -1. */
int32_t tk_strie_get(const tk_strie *t, const char *s, size_t len);

/* Length of the UTF-8 character at s (1..4, at most n), as sentencepiece's
 * OneCharLen: from the lead byte alone. */
size_t tk_spm_one_char_len(const char *s, size_t n);
/* Length of a valid UTF-8 character at s, or 0 when the bytes there are
 * not one (then the caller consumes one byte as U+FFFD). */
size_t tk_spm_valid_char_len(const char *s, size_t n);
/* Decode base64 (standard alphabet, padding optional); malloc'd. */
unsigned char *tk_spm_base64(const char *s, size_t n, size_t *out_n);
/* A loaded model.  Shared by spm.c and spm_cache.c only. */
struct tk_spm {
	size_t n;
	char **piece;
	size_t *plen;
	float *score;
	uint8_t *type;
	char *pool;
	int model_type;
	int byte_fallback;
	int32_t unk_id, bos_id, eos_id, pad_id;
	int add_dummy_prefix, remove_extra_ws, escape_ws, ws_suffix;
	char *normalizer_name;
	char *unk_surface;
	tk_strie pieces;    /* NORMAL, USER_DEFINED, UNUSED */
	tk_strie reserved;  /* UNKNOWN, CONTROL, BYTE */
	tk_strie user;      /* USER_DEFINED, for the prefix matcher */
	int has_user, has_unused;
	int32_t byte_id[256];
	tk_precompiled *pc;
	uint8_t ascii_plain[256]; /* tk_precompiled_ascii's, all 2 without pc;
	                           * 0 from 0x80 on */
	int print_plain;          /* ascii_plain of 0x20 to 0x7E all nonzero */
	tk_unigram *uni;
	/* BPE: (left id, right id) -> merged id, for every way of splitting a
	 * piece into two pieces; saves walking the trie for each pair. */
	struct mslot {
		uint64_t key;   /* ((left << 32) | right) + 1; 0 = empty */
		int32_t val;
	} *mt;
	size_t mcap;
	uint8_t *shadowed;  /* piece also in the reserved map (PieceToId
	                     * then gives the reserved one) */
	int ws_cut;         /* see bpe_encode, uni_encode */
	/* the raw precompiled_charsmap, kept for spm_cache.c */
	unsigned char *charsmap;
	size_t charsmap_len;
	/* loaded from a compiled cache (spm_cache.c): pool, plen, score,
	 * type, the tries' arrays, mt and shadowed point into map */
	void *map;
	size_t map_len;
	/* which model this is among all a process loads (tk_spm_serial):
	 * what bpe_encode's per-thread word cache belongs to */
	uint32_t serial;
};

/* m->ascii_plain, once m->pc is set. */
void tk_spm_norm_init(tk_spm *m);

/* A number no other model of the process has had (never 0). */
uint32_t tk_spm_serial(void);

/* The model proper for a Unigram model (the lattice); BPE's merge table
 * for a BPE one. */
int tk_spm_engine(tk_spm *m, const char *name, te_diag *d);
/* m->ws_cut as m's pieces allow it (once its engine is built): a cached
 * model keeps the one its image was written with. */
int tk_spm_ws_cut(const tk_spm *m);
/* Whether the scores of m's lattice pieces (NORMAL, USER_DEFINED) are all
 * finite, as a Unigram model's ws_cut needs. */
int tk_spm_lattice_finite(const tk_spm *m);

/* spm_cache.c: the compiled cache of a .model file (tokemb(5)): the model
 * as tk_spm_load builds it, mapped.  tk_spm_cache_load returns NULL when
 * there is no sound cache made from path as it is now; tk_spm_cache_save
 * writes one (best effort: -1 on failure, nothing said). */
tk_spm *tk_spm_cache_load(const char *path);
/* the smallest .model given a cache (tests lower it) */
extern size_t tk_spm_cache_min;
int tk_spm_cache_save(const tk_spm *m, const char *path);

/* Internal constructor shared by the .model and GGUF loaders. */
typedef struct tk_spm_init {
	size_t n;
	const char *const *pieces;
	const size_t *lens;
	const float *scores;
	const uint8_t *types;
	int model_type;
	int byte_fallback;
	int32_t bos_id, eos_id, pad_id;
	int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
	int treat_whitespace_as_suffix;
	const char *normalizer_name;
	const unsigned char *charsmap;
	size_t charsmap_len;
	const char *unk_surface;   /* NULL: " \u2047 " */
} tk_spm_init;
tk_spm *tk_spm_new(const tk_spm_init *in, const char *name, te_diag *d);

#endif /* SPM_INT_H */
