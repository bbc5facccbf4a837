/*
 * tokemb.h - the one public header of libtokemb, the library behind the
 * tokemb programs (tok-encode, tok-decode, tok-show, tok-train, emb-token,
 * emb-pool, w2v-train, knn, recommend).
 *
 * Rules, stated once:
 * - The library never prints and never exits.  A function that can fail
 *   returns an int status (0 success, -1 failure) or NULL, and fills the
 *   te_diag it was given with the file, the line and a message; the program
 *   turns that into "prog: file:line: message" and an exit status.
 * - Ownership: objects returned by te_*_load/_new/_open belong to the caller
 *   and are released with the matching te_*_free/_close, which accept NULL.
 *   Pointers returned by accessors point into the object and stay valid
 *   until it is freed; do not free them.  Exceptions say so where declared.
 * - Text is UTF-8 bytes with an explicit length; it may contain NUL.
 * - Names: te_<module>_<verb>; enum values TE_<ENUM>_<VALUE>.
 */
#ifndef TOKEMB_H
#define TOKEMB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TE_VERSION "0.1.0"

/* ---------------------------------------------------------------- diag */

/* Where something went wrong and what.  file is "" and line 0 when they do
 * not apply.  A caller zero-initialises one and passes it down. */
typedef struct te_diag {
	char file[512];
	long line;
	char msg[1024];
} te_diag;

/* Fill d (which may be NULL) with a formatted message; returns -1 so that
 * "return te_diag_set(...)" reads naturally. */
int te_diag_set(te_diag *d, const char *file, long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reports a problem that does not stop the work (a malformed line that is
 * skipped); d has the file, line and message. */
typedef void (*te_warn_fn)(const te_diag *d, void *arg);

/* A one-line description of how the library was built (BLAS, CUDA, SIMD),
 * for --version.  Static storage. */
const char *te_build_info(void);

/* ---------------------------------------------------------------- util */

/* Parse a whole string as an integer in [lo, hi]; a typo is an error, never 0.
 * Returns 0, or -1 with errno set (EINVAL or ERANGE). */
int te_parse_ll(const char *s, long long lo, long long hi, long long *out);
/* Parse a whole string as a finite double. */
int te_parse_double(const char *s, double *out);

/* True when [s, s+n) is valid UTF-8 (no overlongs, no surrogates). */
int te_utf8_valid(const char *s, size_t n);
/* Length in bytes of the longest valid UTF-8 prefix of [s, s+n). */
size_t te_utf8_valid_prefix(const char *s, size_t n);

/* Write all n bytes to fd, or mmap-free whole-file writes: create path
 * through a temporary file in the same directory and rename it into place,
 * so the file is written whole or not at all.  te_atomic_open returns a FILE
 * writing to the temporary; te_atomic_commit flushes, fsyncs, closes and
 * renames; te_atomic_abort closes and unlinks.  Both free a. */
typedef struct te_atomic te_atomic;
te_atomic *te_atomic_open(const char *path, te_diag *d);
FILE *te_atomic_fp(te_atomic *a);
int te_atomic_commit(te_atomic *a, te_diag *d);
void te_atomic_abort(te_atomic *a);

/* -------------------------------------------------------------- reader */

/* Reads documents (records) from a file or stdin, one per line or one per
 * NUL-terminated record, with no limit on their length.  Tracks the record
 * number for messages.  The final record need not be terminated. */
typedef struct te_reader te_reader;

/* path NULL or "-" means stdin (the name in messages is then "-" unless
 * display_name is given).  delim is '\n' or '\0'. */
te_reader *te_reader_open(const char *path, int delim, te_diag *d);
/* Wrap an open stream; the reader does not close it. */
te_reader *te_reader_from_fp(FILE *fp, const char *name, int delim);
/* Next record without its terminator (and without a trailing '\r' when
 * strip_cr is set).  *rec points into the reader, valid until the next call;
 * it is NUL-terminated at rec[len].  Returns 1 with a record, 0 at the end,
 * -1 on a read error (d filled). */
int te_reader_next(te_reader *r, char **rec, size_t *len, te_diag *d);
void te_reader_strip_cr(te_reader *r, int on);
/* 1-based number of the record last returned. */
long te_reader_lineno(const te_reader *r);
const char *te_reader_name(const te_reader *r);
void te_reader_close(te_reader *r);
/* The whole of a file (path, or "-" for standard input) as one text:
 * malloc'd, NUL-terminated, *len bytes (the NUL not counted); NULL with d
 * filled when it cannot be read or memory runs out. */
char *te_read_whole(const char *path, size_t *len, te_diag *d);

/* ---------------------------------------------------------- token ids */

/* A growable array of token ids. */
typedef struct te_ids {
	int32_t *v;
	size_t n, cap;
} te_ids;

int te_ids_push(te_ids *a, int32_t id);
void te_ids_release(te_ids *a);
/* Parse one line of the token-id format ("12 7 9", "" for an empty
 * document) into a (cleared first).  Ids must be in [0, INT32_MAX]. */
int te_ids_parse(const char *line, size_t len, te_ids *a, te_diag *d);
/* Write ids separated by single spaces and a newline. */
int te_ids_write(FILE *fp, const int32_t *ids, size_t n);
/* v in decimal at p (room for 20 bytes); returns the end. */
char *te_fmt_ulong(char *p, unsigned long v);
/* A token's text written as one field of a record (tok-encode --tokens,
 * tok-decode --tokens): backslash, space, tab, CR, LF and NUL as \\ \s \t
 * \r \n \0.  out has room for 2 * n bytes; returns the bytes written. */
size_t te_tok_escape(char *out, const char *s, size_t n);

/* ------------------------------------------------------------- vectors */

/*
 * Vector files.  Text: one vector per line, components separated by spaces,
 * optionally preceded by a key (word2vec text with or without its
 * "count dim" header, GloVe, fastText .vec).  word2vec binary.  And the
 * suite's binary twin, "TEVEC":
 *
 *   offset  size  field
 *   0       8     magic "TOKEMBV\0"
 *   8       4     version (1), little-endian u32
 *   12      4     element type (1 = float32)
 *   16      8     rows (u64; TE_VEC_ROWS_STREAM when written as a stream)
 *   24      8     dim (u64)
 *   32      8     offset of the key table (u64; 0 when there are no keys)
 *   40      8     size of the key table in bytes (u64)
 *   48      4     flags (bit 0: token-vector stream, see below)
 *   52      12    zero
 *   64            rows * dim little-endian float32, row-major
 *   keys          rows NUL-terminated keys, in row order
 *
 * A stream (rows = TE_VEC_ROWS_STREAM) has no key table and its rows run to
 * the end of the file.  A token-vector stream (flag bit 0) is a sequence of
 * documents, each a u32 token count followed by that many rows.
 */
#define TE_VEC_MAGIC "TOKEMBV"
#define TE_VEC_HEADER_SIZE 64
#define TE_VEC_ROWS_STREAM UINT64_MAX
#define TE_VEC_FLAG_TOKENS 1u

typedef enum te_vec_format {
	TE_VEC_FORMAT_AUTO = 0,
	TE_VEC_FORMAT_TEXT,     /* word2vec text, header optional; GloVe; .vec */
	TE_VEC_FORMAT_W2V_BIN,  /* word2vec binary */
	TE_VEC_FORMAT_TEVEC,    /* the suite's binary format */
	TE_VEC_FORMAT_TSV,      /* text, "key<TAB>v1 ... vd": keys with spaces */
	TE_VEC_FORMAT_NPY       /* NumPy .npy v1.0, '<f4', C order; keys beside */
} te_vec_format;

/* A set of vectors with optional keys.  Data may be memory-mapped. */
typedef struct te_vecs te_vecs;

/* Load a vector file in any format (detected unless fmt says).  TEVEC and
 * .npy files are memory-mapped; a .npy file's keys are the lines of
 * PATH.keys when it exists (one a row).  Keys are optional (a text file
 * whose lines hold only numbers has none). */
te_vecs *te_vecs_load(const char *path, te_vec_format fmt, te_diag *d);
void te_vecs_free(te_vecs *v);
size_t te_vecs_rows(const te_vecs *v);
size_t te_vecs_dim(const te_vecs *v);
/* Row i, dim floats.  Points into v. */
const float *te_vecs_row(const te_vecs *v, size_t i);
/* All rows, row-major.  Points into v. */
const float *te_vecs_data(const te_vecs *v);
/* Key of row i, or NULL when the file has no keys.  Points into v. */
const char *te_vecs_key(const te_vecs *v, size_t i);
/* Row of a key, or -1.  Builds a hash index on first use. */
long te_vecs_find(te_vecs *v, const char *key, size_t len);
/* The format the file was read in. */
te_vec_format te_vecs_format(const te_vecs *v);

/* Writing vectors.  text: "key v1 ... vd" (no key: "v1 ... vd"; a key
 * with a space: "key<TAB>v1 ... vd"), floats
 * printed with %.9g so they read back bit-exact; header writes "rows dim"
 * first (text) or is required (w2v binary). */
int te_vec_write_text_header(FILE *fp, size_t rows, size_t dim);
int te_vec_write_text(FILE *fp, const char *key, const float *x, size_t dim);
/* As te_vec_write_text, the record ended by end ('\n', or '\0' for -z). */
int te_vec_write_text_end(FILE *fp, const char *key, const float *x, size_t dim, int end);
int te_vec_write_w2v_bin_header(FILE *fp, size_t rows, size_t dim);
int te_vec_write_w2v_bin(FILE *fp, const char *key, const float *x, size_t dim);
/* TEVEC header; rows may be TE_VEC_ROWS_STREAM.  For a keyed file give
 * keys_size (the sum of strlen(key)+1); the keys are then written after
 * the rows with te_vec_write_tevec_keys. */
int te_vec_write_tevec_header(FILE *fp, uint64_t rows, uint64_t dim,
                              uint64_t keys_size, uint32_t flags);
int te_vec_write_tevec_row(FILE *fp, const float *x, size_t dim);
int te_vec_write_tevec_key(FILE *fp, const char *key);
/* The token-vector stream (emb-token -b): its header once, then each
 * document as a u32 token count and rows * dim floats (rows < 2^32).
 * te_vecstream_next_doc reads it back.  Return 0, or -1 on a write error. */
int te_vec_write_tokens_header(FILE *fp, size_t dim);
int te_vec_write_tokens_doc(FILE *fp, const float *x, size_t rows, size_t dim);

/* NumPy's .npy v1.0 header for a (rows, dim) '<f4' array in C order, 128
 * bytes, so that the rows follow at offset 128. */
int te_vec_write_npy_header(FILE *fp, uint64_t rows, uint64_t dim);

/* Where the key of a text vector line ends: its length (0: no key, the
 * line is numbers), and in *start where the numbers begin.  The TSV form,
 * "key<TAB>numbers", is a line with a TAB after text that holds a space
 * (a key with spaces) or with one TAB and spaces after it (a key that is a
 * number); otherwise the key is the first field, up to a space or a TAB,
 * unless it is a number.  -1 (d filled, without file and
 * line) when spaces and a TAB both separate numbers: a line that could be
 * read two ways is refused, never guessed. */
long te_vec_split_key(const char *line, size_t len, size_t *start, te_diag *d);

/* A writer of vectors in any format, one row at a time.  Text and TSV
 * rows, and a TEVEC stream without keys, go out as they come; the formats
 * whose header holds the count (word2vec binary, .npy, keyed TEVEC) hold
 * the rows in a temporary file until te_vecw_close.  keyed: every row has
 * a key (te_vecw_put refuses a key the format cannot hold: a TAB or a
 * newline in text, a space in word2vec binary).  A .npy file holds no
 * keys: they go to keys, one a line, which must then not be NULL. */
typedef struct te_vecw te_vecw;
te_vecw *te_vecw_new(FILE *fp, te_vec_format fmt, int keyed, FILE *keys, te_diag *d);
int te_vecw_put(te_vecw *w, const char *key, const float *x, size_t dim, te_diag *d);
/* Text and TSV rows end with end ('\n' unless set; '\0' for -z). */
void te_vecw_set_end(te_vecw *w, int end);
/* Write what is held, flush; frees w (NULL is fine).  0, or -1. */
int te_vecw_close(te_vecw *w, te_diag *d);

/* Streaming reader of vectors or token vectors, text or TEVEC, detected from
 * the first bytes.  For text, each record is a line; an empty line ends a
 * document (token-vector format).  Used by emb-pool and by programs that
 * read query vectors. */
typedef struct te_vecstream te_vecstream;
te_vecstream *te_vecstream_open(const char *path, te_diag *d);
te_vecstream *te_vecstream_from_fp(FILE *fp, const char *name, te_diag *d);
/* Read one document of token vectors: *rows (count) x *dim floats into
 * *buf (grown as needed, owned by the stream).  Returns 1 with a document
 * (possibly of 0 rows), 0 at the end, -1 on error, 2 for a document with a
 * bad row (a text row that is malformed or of another width, a binary row
 * holding NaN or an infinity: d names it, by line or by document number;
 * the rest of that document is skipped and the stream goes on).  A binary
 * stream cut short or with a count its data cannot fill is -1 (d names the
 * document): it has no mark to go on from (tokemb(5)). */
int te_vecstream_next_doc(te_vecstream *s, float **buf, size_t *rows,
                          size_t *dim, te_diag *d);
/* Read one vector (text: one line, key allowed and returned in *key, which
 * points into the stream).  Returns 1, 0 at the end, -1 on error, 2 for a
 * binary vector holding NaN or an infinity (d names it; the stream goes
 * on). */
int te_vecstream_next_vec(te_vecstream *s, float **buf, size_t *dim,
                          const char **key, te_diag *d);
long te_vecstream_lineno(const te_vecstream *s);
int te_vecstream_is_binary(const te_vecstream *s);
void te_vecstream_close(te_vecstream *s);

/* Parse a line of numbers separated by spaces or tabs into x (grown).
 * Rejects NaN and infinities.  Returns the count, -1 on error. */
long te_parse_floats(const char *s, size_t len, float **x, size_t *cap,
                     te_diag *d);

/* --------------------------------------------------------- model paths */

/* Resolve -m NAME_OR_PATH: an existing file or directory is used as is;
 * otherwise NAME is looked up under $TOKEMB_MODELS/NAME, then the Hugging
 * Face cache ($HF_HOME/hub or ~/.cache/huggingface/hub, models--ORG--NAME/
 * snapshots/<newest>/).  Returns a malloc'd path, or NULL (d filled with a
 * message naming the places tried). */
char *te_model_resolve(const char *name, te_diag *d);
/* Join dir and file into a malloc'd path if the result exists, else NULL. */
char *te_model_file(const char *dir, const char *file);

/* ------------------------------------------------------------ tokenizer */

/*
 * Tokenizers.  te_tok_load reads a Hugging Face tokenizer.json, a directory
 * holding one (or tokenizer.model / *.tiktoken), an OpenAI .tiktoken rank
 * file (the encoding is chosen by the file name: cl100k_base, o200k_base,
 * p50k_base, r50k_base; a tiktoken-format tokenizer.model with 128000 ranks
 * is Llama-3's), a SentencePiece .model or a llama.cpp GGUF vocabulary.
 * A loaded te_tok is read-only: several threads may encode with it at once.
 */
typedef struct te_tok te_tok;

te_tok *te_tok_load(const char *path, te_diag *d);
void te_tok_free(te_tok *t);

/* Encoding flags.  ADD_SPECIAL: add the model's special tokens as the
 * reference's encode does ([CLS] ... [SEP], <s>).  Special-token text inside
 * the input is matched as the reference does by default (tokenizer.json:
 * yes; .tiktoken and .model: no); SPECIAL_AS_TEXT and ALLOW_SPECIAL force
 * one way or the other. */
enum { TE_TOK_ADD_SPECIAL = 1, TE_TOK_SPECIAL_AS_TEXT = 2, TE_TOK_ALLOW_SPECIAL = 4 };
/* What an encoding keeps, for memory on long texts: NO_OFFSETS keeps the
 * ids alone (start and end are NULL: no spans are tracked through the
 * normalizer either); COUNT_ONLY keeps no more than the number of ids,
 * e->n (ids, start and end hold nothing to read; they are dropped as they
 * come).  The ids and their count are the same as without. */
enum { TE_TOK_NO_OFFSETS = 8, TE_TOK_COUNT_ONLY = 16 };

/* An encoding: ids and the byte span [start, end) of each in the input
 * (special tokens added by ADD_SPECIAL have the span 0,0; an added token
 * that strips the spaces after it, rstrip, spans them).  Spans are 32-bit
 * (12 bytes a token with its id): a text of 4 GiB or more is encoded
 * with NO_OFFSETS only, and refused with spans.  Zero-initialise one,
 * reuse it across calls, release it at the end. */
typedef struct te_tok_enc {
	int32_t *ids;
	uint32_t *start, *end;
	size_t n, cap;
	/* internal: the flags of the encoding under way, and the ids
	 * COUNT_ONLY has counted and dropped */
	unsigned mode_;
	size_t dropped_;
} te_tok_enc;

/* Encode text (any bytes; invalid UTF-8 is encoded as raw bytes by
 * byte-level models and replaced by U+FFFD by the others).  out is cleared
 * first.  Returns 0, or -1 with d filled. */
int te_tok_encode(const te_tok *t, const char *text, size_t len, unsigned flags,
                  te_tok_enc *out, te_diag *d);
/* As te_tok_encode, truncated to at most max_tokens ids (the added special
 * tokens included) as the model's truncation does (keep the first ones);
 * max_tokens < 0: no limit. */
int te_tok_encode_trunc(const te_tok *t, const char *text, size_t len,
                        unsigned flags, long max_tokens, te_tok_enc *out,
                        te_diag *d);
void te_tok_enc_release(te_tok_enc *e);

/* Chunks of a document for a model or an index (tok-encode --chunk): ids
 * [tok_start, tok_end) of an encoding and the bytes [start, end) of the
 * text they come from. */
typedef struct te_tok_chunk {
	size_t tok_start, tok_end;
	size_t start, end;
} te_tok_chunk;
/* Cut e, the encoding of text[0, len) (made without TE_TOK_ADD_SPECIAL),
 * into chunks of at most max_tokens ids, the next one starting overlap ids
 * (0 <= overlap < max_tokens) before the end of the one before.  Cuts fall
 * between tokens, and only where both sides decode to whole characters
 * (never inside the bytes of one character, as byte-level and
 * byte-fallback tokens can be): a cut moves back to the nearest such place;
 * a chunk holds more than max_tokens ids only when one character alone
 * takes more.  Without overlap the chunks' texts rejoin exactly to the
 * text: the first starts at 0, each starts where the one before ends, the
 * last ends at len (text that no token covers, such as the spaces a
 * normalizer drops, goes with the chunk before).  With overlap the next
 * chunk starts at the start of its first token; it starts at least one id
 * after the one before.  An empty text has no chunk; a text with no token
 * has one chunk of no ids.  *out is malloc'd (the caller frees it), *n
 * chunks.  Returns 0, or -1 when out of memory or max_tokens is 0 or not
 * above overlap. */
int te_tok_chunks(const te_tok_enc *e, const char *text, size_t len, size_t max_tokens,
                  size_t overlap, te_tok_chunk **out, size_t *n);

/* A document's encoding written as tok-encode writes it (tok-encode(1)):
 * IDS "12 7 9", TOKENS the vocabulary strings escaped by te_tok_escape,
 * OFFSETS "start:end" byte spans (for a tokenizer.json widened to whole
 * characters, as Hugging Face's offsets), COUNT the number of ids, all separated by
 * single spaces, with no terminator; CHUNK the text (or, with chunk_ids,
 * the ids) of each of te_tok_chunks' chunks of at most chunk ids
 * overlapping by overlap, each ended by delim, so that the caller's own
 * terminator after them makes an empty record end the document. */
enum { TE_TOK_FMT_IDS, TE_TOK_FMT_TOKENS, TE_TOK_FMT_OFFSETS, TE_TOK_FMT_COUNT,
       TE_TOK_FMT_CHUNK };
typedef struct te_tok_fmt {
	int form;               /* TE_TOK_FMT_* */
	int delim;              /* '\n' or '\0': ends each chunk */
	size_t chunk, overlap;  /* CHUNK: 0 <= overlap < chunk */
	int chunk_ids;          /* CHUNK: ids, not text */
} te_tok_fmt;
/* A growable record buffer: buf holds n bytes (not NUL-terminated) in cap;
 * zero-initialise one, set n to 0 to reuse it, free(buf) at the end. */
typedef struct te_tok_rec {
	char *buf;
	size_t n, cap;
	/* internal: tok-encode's writer takes a long document's OFFSETS
	 * record packed (pack_ set by it; packed_ when buf holds one) and
	 * writes it as text a piece at a time */
	int pack_, packed_;
} te_tok_rec;
/* Append e, the encoding of text[0, len) by t, to r in the form f (IDS
 * and TOKENS need the ids: no TE_TOK_COUNT_ONLY; OFFSETS and CHUNK the
 * spans too: no TE_TOK_NO_OFFSETS either).
 * Returns 0, or -1 when out of memory (r then holds a part; the caller
 * drops it). */
int te_tok_format(const te_tok *t, const te_tok_fmt *f, const char *text, size_t len,
                  const te_tok_enc *e, te_tok_rec *r);
/* The number of ids of the whole file path ("-": standard input) encoded
 * as one text with flags, newlines included (tok-encode --count); e is
 * scratch.  Returns 0, or -1 with d filled when the file cannot be read or
 * encoded. */
int te_tok_count_file(const te_tok *t, const char *path, unsigned flags, te_tok_enc *e,
                      unsigned long long *n, te_diag *d);

/* Decode ids as the reference's decode does.  *out is malloc'd (the caller
 * frees it) and NUL-terminated; *outlen excludes the NUL.  An id outside
 * the vocabulary is an error naming it. */
enum { TE_TOK_SKIP_SPECIAL = 1 };
int te_tok_decode(const te_tok *t, const int32_t *ids, size_t n, unsigned flags,
                  char **out, size_t *outlen, te_diag *d);

/* Number of ids (the largest id + 1, added tokens included). */
size_t te_tok_vocab_size(const te_tok *t);
/* The vocabulary string of an id as the model file writes it (byte-level
 * "Ġthe", SentencePiece "▁the", "<0xE9>"), or NULL for an unused id.
 * Points into t. */
const char *te_tok_piece(const te_tok *t, int32_t id, size_t *len);
/* The raw bytes a token stands for (byte-level unmapped, <0xE9> -> one
 * byte, SentencePiece ▁ left as is), written into buf; returns the length
 * (which may exceed cap: then buf holds the first cap bytes), or -1 for an
 * id outside the vocabulary. */
long te_tok_piece_bytes(const te_tok *t, int32_t id, char *buf, size_t cap);
/* Id of a vocabulary string or added token, or -1. */
int32_t te_tok_id(const te_tok *t, const char *piece, size_t len);
int te_tok_is_special(const te_tok *t, int32_t id);
int te_tok_unk_id(const te_tok *t);            /* -1 if none */
/* "BPE", "WordPiece", "Unigram" or "WordLevel".  Static storage. */
const char *te_tok_algorithm(const te_tok *t);
int te_tok_byte_level(const te_tok *t);
int te_tok_byte_fallback(const te_tok *t);
/* A short name: the directory or file name.  Points into t. */
const char *te_tok_name(const te_tok *t);
/* The name tok-show shows t under: te_tok_name, except that a file with a
 * generic name (tokenizer.json, tokenizer.model) is named after its
 * directory, as llama2/tokenizer.model is "llama2".  Points into t. */
const char *te_tok_display_name(const te_tok *t);
/* The model's truncation length (tokenizer.json "truncation"), or -1. */
long te_tok_max_length(const te_tok *t);
/* A tokenizer.json's "truncation" and "padding", which Hugging Face
 * tokenizers applies on every encode; te_tok_encode applies neither
 * (tok-encode(1), TRUNCATION AND PADDING). */
typedef struct te_tok_limits {
	long max_length;        /* truncation: at most so many ids; -1: none */
	int trunc_left;         /* truncation direction Left: keep the last */
	int pad;                /* a padding section */
	long pad_length;        /* Fixed: so many ids; 0: BatchLongest */
	long pad_multiple;      /* pad_to_multiple_of; 0: none */
	int pad_left;           /* padding direction Left */
	int32_t pad_id;
} te_tok_limits;
void te_tok_limits_get(const te_tok *t, te_tok_limits *l);
/* Truncate and pad e, an encoding of t made with flags, as HF's encode
 * does for one sequence with l: the text's ids (not the special tokens
 * ADD_SPECIAL added) are cut to max_length less those (at the end, or with
 * trunc_left at the start; none left when they alone reach max_length),
 * then pad_id tokens (span 0,0) added at the end (pad_left: the start) up
 * to pad_length, or with BatchLongest the encoding's own length, rounded
 * up to a multiple of pad_multiple.  Returns 0, or -1 when out of memory. */
int te_tok_limits_apply(const te_tok *t, const te_tok_limits *l, unsigned flags,
                        te_tok_enc *e);
/* Id of the added token (tokenizer.json added_tokens, special or not;
 * tiktoken specials) whose content is that string, or -1. */
int32_t te_tok_added_id(const te_tok *t, const char *content, size_t len);

/* Where one large document may be cut so that its parts can be encoded
 * apart (on several threads) and give, concatenated, exactly the ids of
 * the whole: at most max offsets, ascending, about len / (max + 1) apart,
 * into cuts; returns how many (0: encode it whole).  A cut is the start of
 * a line that begins with an ASCII letter, where the split patterns of
 * cl100k, Llama-3, Qwen2 and o200k always start a piece; there are none
 * for other models, for models whose added tokens could match across one
 * (a newline in one, lstrip, rstrip), whose normalizer is other than NFC,
 * or that add special tokens under flags.  The parts' offsets start at 0. */
size_t te_tok_cuts(const te_tok *t, const char *text, size_t len, unsigned flags,
                   size_t *cuts, size_t max);

/* Files of documents encoded and written as tok-encode writes them
 * (tok-encode(1)): each document (a record ended by delim) encoded with
 * flags (truncated to max_tokens, then to lim and padded when use_limits),
 * formatted by te_tok_format in the form fmt and written to out, then
 * delim; with total nothing is written, the ids are only counted.  The
 * documents are encoded on threads threads (1 to 256; 0: one per CPU) in
 * batches, and written in order: the output of one call may stay in flight until
 * the next call or te_tok_batch_finish.  One large document in the form
 * IDS (no prompt, max_tokens or lim) is cut where te_tok_cuts allows and
 * its parts encoded on every thread; one of 4 MB or more is encoded where
 * the reader holds it, not copied.  A regular file (without a prompt) is
 * mapped, not read: its documents are encoded where they lie, and the
 * mapping given back as their ids are written; on more than one thread it
 * is cut in parts, whose documents are found and encoded by the thread
 * that takes the part.  The ids are written from each document's (or
 * part's) own buffer (writev on out's descriptor, after what out
 * holds; through out itself when it has none); a failed write is reported
 * once through warn ("write error: ...", not for a closed pipe), counts as
 * an error, and ends the writing and the reading. */
typedef struct te_tok_batch_opts {
	unsigned flags;         /* TE_TOK_* */
	long max_tokens;        /* < 0: no limit */
	te_tok_limits lim;      /* applied when use_limits */
	int use_limits;
	te_tok_fmt fmt;
	int total;              /* count the ids, write nothing */
	int delim;              /* '\n' or '\0': ends each document */
	const char *prompt;     /* put before each document's text (copied), or NULL */
	int threads;
} te_tok_batch_opts;
typedef struct te_tok_batch te_tok_batch;
/* t must outlive the batch.  warn(d, warnarg) reports, in order with the
 * output, a document's invalid UTF-8 (replaced by U+FFFD), a document that
 * could not be encoded (its record is then empty) and a file that cannot
 * be read (the next one is tried); d names the file and line.  NULL when
 * out of memory. */
te_tok_batch *te_tok_batch_new(const te_tok *t, const te_tok_batch_opts *o, FILE *out,
                               te_warn_fn warn, void *warnarg);
/* Encode and write the documents of path ("-": standard input).  Returns
 * 0, or -1 with d filled when out of memory (the batch is then of no more
 * use). */
int te_tok_batch_file(te_tok_batch *b, const char *path, te_diag *d);
/* Write what is in flight; *total (when not NULL): the ids of every
 * document so far.  Returns 1 when an error (not an invalid UTF-8 warning)
 * was reported, else 0. */
int te_tok_batch_finish(te_tok_batch *b, unsigned long long *total);
/* Free b (without writing what is in flight).  NULL is fine. */
void te_tok_batch_free(te_tok_batch *b);

/* ----------------------------------------------------------- tok-show */
/* How tok-show turns an encoding into what is displayed.  An encoding
 * becomes a list of display pieces: one per token, plus "gaps" for input
 * bytes that no token covers (whitespace dropped by a WordPiece or
 * Whitespace pre-tokenizer), so that the display always reads as the text.
 * A token shows the bytes of the input it covers (its span) where spans
 * exist and do not overlap; otherwise the bytes it stands for
 * (te_tok_piece_bytes), as for byte-level BPE and byte-fallback tokens,
 * which may cover part of a UTF-8 character. */

enum te_show_kind {
	TE_SHOW_TEXT,     /* an ordinary token: its bytes */
	TE_SHOW_BYTE,     /* a byte-fallback token (<0xE9>): one raw byte */
	TE_SHOW_SPECIAL,  /* a special token: its vocabulary string */
	TE_SHOW_UNK,      /* the unknown token: the text it replaced */
	TE_SHOW_GAP       /* input bytes no token covers (id -1) */
};

typedef struct te_show_piece {
	int kind;
	int32_t id;
	const char *s;   /* into the input text or the te_show arena */
	size_t len;
	size_t aoff_;    /* internal: offset in the arena + 1, or 0 */
} te_show_piece;

/* Pieces of one document.  Zero-initialise, reuse, release. */
typedef struct te_show {
	te_show_piece *p;
	size_t n, cap;
	char *arena;
	size_t alen, acap;
	size_t ntok, nunk;  /* tokens (gaps excluded), unknown tokens, so far */
	/* internal: the document being shown, and the writer's place */
	const te_tok *t_;
	const char *text_;
	size_t len_;
	const te_tok_enc *e_;
	unsigned flags_;
	size_t next_, cur_, last_span_, ci_;
	int have_spans_, tail_done_, prev_tok_;
} te_show;

/* Build flags. */
enum { TE_SHOW_VOCAB = 1 };  /* show vocabulary strings, not the text */

/* Turn the encoding e of text[0, len) by t into display pieces (out is
 * cleared first).  Pieces point into text and into out; text must outlive
 * them.  Returns 0, or -1 with d filled (out of memory). */
int te_show_build(const te_tok *t, const char *text, size_t len,
                  const te_tok_enc *e, unsigned flags, te_show *out,
                  te_diag *d);
/* The same in pieces, so that memory stays small for a large document:
 * te_show_begin, then te_show_next builds the pieces of up to max more
 * tokens (and the gaps among them) in place of the previous ones; returns
 * 1, 0 when the document is done, -1 with d filled.  t, text and e must
 * stay until then. */
void te_show_begin(te_show *s, const te_tok *t, const char *text, size_t len,
                   const te_tok_enc *e, unsigned flags);
int te_show_next(te_show *s, size_t max, te_diag *d);
/* Unknown tokens in an encoding. */
size_t te_show_count_unk(const te_tok *t, const te_tok_enc *e);
void te_show_release(te_show *s);

/* How pieces are written. */
typedef struct te_show_opts {
	int color;          /* 24-bit ANSI background per token, cycling */
	int show_space;     /* space, tab, newline, CR, NBSP as glyphs */
	int escape_ctl;     /* control characters as control pictures */
	int ids;            /* each token's id after it, as ‹id› */
	const char *sep;    /* between abutting tokens, without colour */
	int nul;            /* end a document with NUL, not newline (-z) */
	int html;           /* HTML text: each token a <span> coloured by
	                       its style attribute, its id in its title;
	                       control characters pictured; no sep */
} te_show_opts;

/* The classic six-colour palette (Set2), as "R;G;B". */
extern const char *const te_show_palette[6];

/* Write the pieces of one document, then a newline (o->nul: a NUL).  Without colour,
 * tokens that touch are separated by o->sep; a gap stands between the
 * tokens around it instead.  Markers: special tokens ⟦[CLS]⟧, unknown
 * tokens ⁇ before the text they replaced, byte tokens and bytes that are
 * not valid UTF-8 <0xE9> (a <0x0A> byte token is followed by a line
 * break), ids ‹464›.  Returns 0, or -1 on a write error. */
int te_show_write(FILE *fp, te_show *s, const te_show_opts *o);
/* The same for pieces built by te_show_next: each chunk continues the
 * colours and separators of the one before; the end writes the newline. */
int te_show_write_chunk(FILE *fp, te_show *s, const te_show_opts *o);
int te_show_write_end(FILE *fp, te_show *s, const te_show_opts *o);

/* tok-show --html: one self-contained page (no script, no outside
 * resource).  te_show_html_begin writes the head and opens the body;
 * te_show_html_title a heading (a file's name); te_show_html_doc opens
 * the display of one document by model i of n: a <pre>, or with n > 1 a
 * row of a comparison table (model, tokens, text; the table opened with
 * row 0); the pieces follow (te_show_write_chunk with o->html), then
 * te_show_html_doc_end closes it (and the table after row n - 1);
 * te_show_html_end closes the page.  Each returns 0, or -1 on a write
 * error. */
int te_show_html_begin(FILE *fp);
int te_show_html_title(FILE *fp, const char *title);
int te_show_html_doc(FILE *fp, const char *model, size_t ntok, size_t i, size_t n);
int te_show_html_doc_end(FILE *fp, size_t i, size_t n);
int te_show_html_end(FILE *fp);

/* The vocabulary size shown: the largest id that has a piece, + 1. */
size_t te_show_vocab_size(const te_tok *t);

/* The number of characters (UTF-8 code points; an invalid byte counts
 * as one) in [s, s+n). */
size_t te_show_chars(const char *s, size_t n);

/* ------------------------------------------------------------ embedding */

/*
 * Embedding models.  te_emb_load reads a model directory (or a file):
 * - Hugging Face encoders: config.json + model.safetensors (or sharded
 *   model-*.safetensors with model.safetensors.index.json), F32 (memory-
 *   mapped, not copied), F16 or BF16 (widened once); model_type bert,
 *   roberta, xlm-roberta, mpnet, deberta-v2.  Tensor names with or without
 *   the "bert." / "mpnet." / "deberta." / "roberta." prefix.
 * - Static tables: Model2Vec models (embeddings, or vocabulary-quantized
 *   embeddings[mapping[id]] * weights[id]), the input embedding matrix of any
 *   checkpoint (TE_EMB_STATIC), and word-vector files keyed by token string
 *   (te_emb_load_vectors).
 */
typedef struct te_emb te_emb;

enum {
	TE_EMB_STATIC = 1,      /* the input embedding rows, not the encoder */
};

/* path is a model directory, a file or a model name (te_model_resolve). */
te_emb *te_emb_load(const char *path, int flags, te_diag *d);
/* A static model from a word-vector file (any te_vecs_load format) and a
 * tokenizer (a model directory or name holding tokenizer.json or vocab.txt,
 * or any file te_tok_load reads) that names each id: row of id = the vector
 * of its token string; ids whose token has no vector are an error unless
 * unk_zero is set (then they are zero vectors). */
te_emb *te_emb_load_vectors(const char *vectors, const char *tokenizer, int unk_zero,
                            te_diag *d);
void te_emb_free(te_emb *m);

size_t te_emb_dim(const te_emb *m);
/* Number of valid ids: every id must be below it. */
size_t te_emb_vocab(const te_emb *m);
/* Longest input the model accepts, in tokens; 0 = no limit (static). */
size_t te_emb_max_tokens(const te_emb *m);
int te_emb_is_static(const te_emb *m);
/* "bert", "mpnet", "deberta-v2", "model2vec", "static", ...  Static string. */
const char *te_emb_arch(const te_emb *m);
/* The id that ends a segment ([SEP], </s>), or -1 when unknown.  BERT token
 * types switch to 1 after the first one when another follows. */
int32_t te_emb_sep_id(const te_emb *m);
/* Fit one document's ids (*n of them, changed in place) to what the model
 * takes.  Model2Vec models drop their unknown-token id and keep the first
 * 512 ids, as StaticModel.encode does, so that the token vectors pool to
 * its result.  Every id must be below te_emb_vocab.  A document longer than
 * the limit (te_emb_max_tokens, or max_tokens when lower; 0: the model's)
 * is an error unless truncate is set: then the first ids are kept, and the
 * closing separator (te_emb_sep_id) stays last, as tokenizers truncate.
 * Returns 0, or -1 with d filled (no file or line: the caller knows them). */
int te_emb_fit(const te_emb *m, int32_t *ids, size_t *n, size_t max_tokens,
               int truncate, te_diag *d);
/* Threads for matrix products and attention (default 1; n <= 0: one per
 * CPU). */
void te_emb_set_threads(te_emb *m, int n);
/* The precision of the encoder's weights in its matrix products (BERT,
 * RoBERTa, MPNet, DeBERTa-v2): float32 (the default, as loaded), bfloat16
 * (rounded to nearest even, half the bytes), or int8 (a quarter: each
 * output row quantized to eight bits with its own scale, the activations
 * per row on the fly); attention, softmax and LayerNorm stay
 * float32; bf16 and int8 run on the CPU (in CUDA builds too).  Weights
 * are packed at the next forward pass.  Returns 0, or -1
 * with d filled when the model runs only in float32 (static tables, the
 * rotary models). */
enum { TE_EMB_F32 = 0, TE_EMB_BF16, TE_EMB_INT8 };
int te_emb_set_dtype(te_emb *m, int dtype, te_diag *d);
/* The matrix-product kernels this CPU runs (picked once at run time), for
 * --version.  Static string. */
const char *te_emb_kernels(void);

/* Contextual (or static) token vectors for a batch of n documents:
 * ids[i] has len[i] tokens, all real (attention mask 1); types[i] is NULL
 * (all zeros, or switched after the first [SEP], see te_emb_sep_id, when
 * auto_types is set) or len[i] token type ids.  out[i] receives
 * len[i] * dim floats (the last hidden state).  Documents are packed, not
 * padded: the result does not depend on the batch.  Returns 0, or -1 with d
 * filled (an id out of the vocabulary: d->line is 1 + the index of the
 * document in the batch). */
int te_emb_forward(te_emb *m, size_t n, const int32_t *const *ids, const size_t *len,
                   const int32_t *const *types, int auto_types, float *const *out,
                   te_diag *d);
/* The BERT/MPNet pooler, tanh(W h[0] + b), into out (dim floats).
 * Returns -1 when the model has none. */
int te_emb_pooler(te_emb *m, const float *h0, float *out, te_diag *d);

/* Pooling of token vectors into one vector. */
typedef enum te_pool_mode {
	TE_POOL_MEAN = 0,    /* mean over the tokens */
	TE_POOL_CLS,         /* the first token */
	TE_POOL_MAX,         /* component-wise max */
	TE_POOL_MEAN_SQRT,   /* sum / sqrt(count) */
	TE_POOL_WEIGHTED,    /* position-weighted mean, weights 1..n */
	TE_POOL_LAST         /* the last token */
} te_pool_mode;

/* Pool rows x dim into out (dim floats).  An empty document gives zeros. */
void te_pool(te_pool_mode mode, const float *x, size_t rows, size_t dim, float *out);
/* x / max(||x||, 1e-12), as sentence-transformers' Normalize. */
void te_l2_normalize(float *x, size_t dim);

/* A sentence-transformers pipeline after the Transformer module: modules.json,
 * 1_Pooling/config.json (any mix of modes, concatenated in the order
 * sentence-transformers uses), Dense modules (safetensors weights) and
 * Normalize.  A directory without modules.json gives mean pooling. */
typedef struct te_pipeline te_pipeline;
/* dir may be a model name (te_model_resolve). */
te_pipeline *te_pipeline_load(const char *dir, te_diag *d);
/* Configure the pipeline by hand: one pooling mode, then L2 when normalize. */
te_pipeline *te_pipeline_new(te_pool_mode mode, int normalize);
void te_pipeline_free(te_pipeline *p);
/* Dimension of the output for token vectors of dimension in_dim, or 0 when
 * the pipeline does not accept in_dim (d filled). */
size_t te_pipeline_out_dim(const te_pipeline *p, size_t in_dim, te_diag *d);
/* Run the pipeline on one document; out holds te_pipeline_out_dim floats. */
int te_pipeline_apply(te_pipeline *p, const float *x, size_t rows, size_t dim,
                      float *out, te_diag *d);
/* Matryoshka truncation: keep the first dim components of the pipeline's
 * output (sentence-transformers' truncate_dim), normalised again when the
 * pipeline ends in Normalize.  te_pipeline_out_dim then gives dim, or 0 when
 * the output is shorter.  Call it once; dim 0 keeps every component. */
void te_pipeline_truncate(te_pipeline *p, size_t dim);
/* A short description ("mean, normalize") for messages.  Points into p. */
const char *te_pipeline_describe(const te_pipeline *p);
/* The token-vector dimension the pipeline was saved for (1_Pooling's
 * word_embedding_dimension), or 0 when it does not say. */
size_t te_pipeline_in_dim(const te_pipeline *p);

/* The sentence-transformers prompt of a model (a directory, a file in one,
 * or a name) to put before each text, as SentenceTransformer.encode does:
 * name's entry of config_sentence_transformers.json "prompts", or, when
 * name is NULL, the entry of its "default_prompt_name" (none when that is
 * null or absent).  *prompt is a malloc'd string, or NULL when there is no
 * prompt (an empty one counts as none).  Fails when name is not among the
 * prompts, and when the model's Pooling says "include_prompt": false (it
 * pools without the prompt's tokens, which te_pipeline_apply cannot know).
 * Returns 0, or -1 with d filled. */
int te_prompt_load(const char *model, const char *name, char **prompt, te_diag *d);

/* ------------------------------------------------------------- word2vec */

/*
 * word2vec (w2v-train): skip-gram and CBOW with negative sampling and/or
 * hierarchical softmax, as gensim 4 and word2vec.c define them, on
 * sequences of items (one sequence per line, items are runs of bytes other
 * than ASCII whitespace and NUL).  Use: te_w2v_new, te_w2v_add for each
 * input (counts items and spools the corpus, so stdin works), te_w2v_train,
 * then te_w2v_write or the accessors; te_w2v_free.
 */
typedef struct te_w2v_params {
	int sg;              /* 1 skip-gram, 0 CBOW (default) */
	int hs;              /* hierarchical softmax on (default 0) */
	int negative;        /* negative samples per target (default 5) */
	double ns_exponent;  /* unigram exponent of the noise table (0.75) */
	int cbow_mean;       /* CBOW: mean (1, default) or sum (0) of contexts */
	int window;          /* maximum window, shrunk at random (default 5) */
	int shrink_windows;  /* draw the effective window per position (1) */
	int dim;             /* vector size (default 100) */
	long long min_count; /* drop items seen fewer times (default 5) */
	long long max_vocab_size; /* prune while counting above this (0 none) */
	double sample;       /* subsampling threshold (default 1e-3, 0 off) */
	double alpha, min_alpha; /* learning rate: held per epoch, lowered
	                            linearly from alpha epoch by epoch towards
	                            min_alpha (reached after the last epoch);
	                            alpha 0 (default): word2vec.c's, 0.025 for
	                            skip-gram, 0.05 for CBOW; min_alpha 0.0001 */
	int epochs;          /* passes over the corpus (default 5) */
	int threads;         /* worker threads (default 0: one per CPU) */
	uint64_t seed;       /* random seed (default 1) */
	int batch;           /* skip-gram: draw the negatives once per window
	                        and update its context items against them in
	                        turn (default 1); 0 draws them for every pair */
	size_t max_sentence; /* longer sequences are cut in pieces (10000) */
} te_w2v_params;

/* gensim's defaults, but for alpha (word2vec.c's, by architecture). */
void te_w2v_params_default(te_w2v_params *p);

typedef struct te_w2v te_w2v;

/* What training did, for the summary line. */
typedef struct te_w2v_stats {
	uint64_t vocab;       /* items in the vocabulary */
	uint64_t raw_items;   /* items read */
	uint64_t sequences;   /* non-empty lines read */
	uint64_t trained;     /* vocabulary items trained on, all epochs */
	uint64_t effective;   /* of those, kept by subsampling */
	double seconds;       /* training time (wall clock) */
} te_w2v_stats;

/* Called about 5 times a second from the thread that called te_w2v_train:
 * done and total items, the current learning rate, seconds since training
 * began. */
typedef void (*te_w2v_progress_fn)(void *arg, uint64_t done, uint64_t total,
                                   double alpha, double seconds);

/* A model with the parameters checked (d filled when one is out of range). */
te_w2v *te_w2v_new(const te_w2v_params *p, te_diag *d);
/* Read sequences from fp (name for messages) to the end: count the items
 * and spool the corpus to a temporary file.  May be called several times. */
int te_w2v_add(te_w2v *m, FILE *fp, const char *name, te_diag *d);
/* After te_w2v_add returned 0: 1, with d filled (file, line, message), when
 * that input held a NUL byte or invalid UTF-8 (the first such line; it was
 * trained on as it is), else 0. */
int te_w2v_add_warning(const te_w2v *m, te_diag *d);
/* Build the vocabulary and train.  progress may be NULL.  Fails with a
 * message when no item reaches min_count. */
int te_w2v_train(te_w2v *m, te_w2v_progress_fn progress, void *arg, te_diag *d);
/* After training: items (most frequent first), their counts and vectors. */
size_t te_w2v_vocab_size(const te_w2v *m);
size_t te_w2v_dim(const te_w2v *m);
/* Item i, NUL-terminated.  Points into m. */
const char *te_w2v_key(const te_w2v *m, size_t i);
uint64_t te_w2v_count(const te_w2v *m, size_t i);
/* Vector of item i, dim floats.  Points into m. */
const float *te_w2v_vector(const te_w2v *m, size_t i);
void te_w2v_stats_get(const te_w2v *m, te_w2v_stats *s);
/* Write the vectors: TEXT (word2vec text with its header), TSV
 * ("key<TAB>numbers", no header), W2V_BIN, TEVEC or NPY (the vectors only).  Returns 0, or -1 on a write error (d filled). */
int te_w2v_write(const te_w2v *m, FILE *fp, te_vec_format fmt, te_diag *d);
void te_w2v_free(te_w2v *m);

/* ------------------------------------------------------------------ knn */

/*
 * Nearest neighbours over a te_vecs (exact, batched sgemm + per-query top-k
 * heaps, several threads) and gensim's word-vector operations on top of it:
 * most_similar (3CosAdd), most_similar_cosmul (3CosMul),
 * evaluate_word_analogies and evaluate_word_pairs.
 *
 * Scores: cosine = dot(row, unit(q)) / |row| (gensim's most_similar; 0 for a
 * zero row); dot = dot(row, q); Euclidean = |row - q|, smaller is better.
 * Equal scores are ordered by row number.
 */
typedef enum te_knn_metric {
	TE_KNN_METRIC_COSINE = 0,
	TE_KNN_METRIC_DOT,
	TE_KNN_METRIC_EUCLIDEAN
} te_knn_metric;

/* A row and its score: what the searches of knn and recommend return. */
typedef struct te_hit {
	long row;
	float score;
} te_hit;
typedef te_hit te_knn_hit;

/* An exact index over v, which must outlive it.  threads <= 0 means one
 * per online CPU.  Sets OpenBLAS to one thread: the index runs its own. */
typedef struct te_knn te_knn;
te_knn *te_knn_new(te_vecs *v, te_knn_metric metric, int threads, te_diag *d);
void te_knn_free(te_knn *x);
te_vecs *te_knn_vecs(const te_knn *x);
/* Euclidean norm of row i (float32, as numpy computes it). */
float te_knn_norm(const te_knn *x, size_t i);

/* The k best rows for each of nq queries (q is (nq, dim) row-major), among
 * the first limit rows (0: all).  excl is (nq, nexcl) rows to leave out
 * (-1 pads), or NULL.  out is (nq, k); nout[i] receives how many were
 * found (fewer than k when the index is smaller).  Returns 0 or -1. */
int te_knn_search(te_knn *x, const float *q, size_t nq, size_t k, size_t limit,
                  const long *excl, size_t nexcl, te_knn_hit *out, size_t *nout,
                  te_diag *d);

/* gensim get_mean_vector(pre_normalize=True): the weighted mean of the
 * unit rows pos (+1) and neg (-1), into out (dim floats); the search then
 * normalises it.  Returns 0, or -1 when npos + nneg is 0. */
int te_knn_mean(const te_knn *x, const long *pos, size_t npos, const long *neg,
                size_t nneg, float *out);

/* gensim most_similar_cosmul: prod((1+cos(row,p))/2) / (prod((1+cos(row,n))/2)
 * + 1e-6) over all rows, the input rows left out.  out has k slots. */
int te_knn_cosmul(te_knn *x, const long *pos, size_t npos, const long *neg,
                  size_t nneg, size_t k, te_knn_hit *out, size_t *nout, te_diag *d);

/* gensim evaluate_word_analogies(path, restrict_vocab, case_insensitive):
 * one entry per section in file order, then "Total accuracy". */
typedef struct te_knn_section {
	char *name;
	size_t correct, total;
} te_knn_section;
typedef struct te_knn_analogy_result {
	te_knn_section *sec;  /* nsec entries; the last is the total */
	size_t nsec;
	size_t quadruplets, oov;  /* questions read, questions skipped as OOV */
} te_knn_analogy_result;
int te_knn_eval_analogies(te_knn *x, const char *path, size_t restrict_vocab,
                          int case_insensitive, te_knn_analogy_result *res,
                          te_diag *d);
void te_knn_analogy_result_release(te_knn_analogy_result *res);

/* gensim evaluate_word_pairs(path, delimiter '\t', restrict_vocab,
 * case_insensitive): Pearson and Spearman correlations of the gold scores
 * with the cosine similarities, and the percentage of pairs with an
 * unknown word.  Fails when no pair is known. */
typedef struct te_knn_pairs_result {
	double pearson, spearman, oov_ratio;
	size_t pairs, oov;
} te_knn_pairs_result;
int te_knn_eval_pairs(te_knn *x, const char *path, size_t restrict_vocab,
                      int case_insensitive, te_knn_pairs_result *res, te_diag *d);

/* The results as knn(1) prints them: gensim's log lines (the sections
 * with questions, the share of questions skipped, the total), or one JSON
 * object a section (json).  path: the pairs file, named in the lines. */
void te_knn_analogy_write(FILE *fp, const te_knn_analogy_result *res, int json);
void te_knn_pairs_write(FILE *fp, const char *path, const te_knn_pairs_result *res,
                        int json);

/* Python's str.upper() of UTF-8 text, malloc'd (simple case mapping plus
 * the expansions Python applies, such as "ß" -> "SS"). */
char *te_knn_upper(const char *s, size_t n);

/* f as printf("%.7g", (double)f) writes it, into buf (at least 32 bytes,
 * NUL-terminated); returns the length.  Several times faster than printf
 * for the usual case; it falls back to snprintf near a rounding tie. */
int te_knn_fmt_score(char *buf, float f);

/*
 * HNSW: an approximate index over the rows of a te_vecs, built once and
 * saved to a file ("TOKEMBH\0", version, rows, dim, M, ef_construction,
 * metric; see knn(1)) that is memory-mapped when loaded.  The file holds a
 * copy of each row (unit for cosine) beside its links, as hnswlib does, and
 * records the vectors' count, dimension and a checksum so that a graph is
 * never used with other vectors.  Not for concurrent te_hnsw_search calls
 * on one index (each call uses the index's search contexts).
 */
typedef struct te_hnsw te_hnsw;
te_hnsw *te_hnsw_build(te_vecs *v, te_knn_metric metric, size_t M,
                       size_t ef_construction, int threads, uint64_t seed,
                       te_diag *d);
int te_hnsw_save(const te_hnsw *h, const char *path, te_diag *d);
te_hnsw *te_hnsw_load(const char *path, te_vecs *v, te_diag *d);
void te_hnsw_free(te_hnsw *h);
te_knn_metric te_hnsw_metric(const te_hnsw *h);
/* Like te_knn_search (no limit), with a search breadth of ef (>= k). */
int te_hnsw_search(te_hnsw *h, const float *q, size_t nq, size_t k, size_t ef,
                   const long *excl, size_t nexcl, int threads, te_knn_hit *out,
                   size_t *nout, te_diag *d);

/*
 * The queries of knn(1), parsed and answered in batches.  A query line is
 * a key (the whole line), an expression of keys and the operators + and -
 * separated by spaces ("king - man + woman": gensim's most_similar with
 * positive and negative keys), or a vector of dim numbers, perhaps after a
 * key that labels it.  A batch holds up to cap queries and answers them
 * with one search of the HNSW graph h when it is not NULL (breadth ef), of
 * the exact index x otherwise (among its first limit rows, 0: all); k
 * neighbours each.  x (and h) must outlive the batch.
 */

#define TE_KNN_TERMS 8  /* keys in an expression or a --positive/--negative query */
enum { TE_KNN_QUERY_KEY = 1, TE_KNN_QUERY_EXPR, TE_KNN_QUERY_VECTOR };
typedef struct te_knn_query {
	long pos[TE_KNN_TERMS], neg[TE_KNN_TERMS];  /* rows of the keys */
	size_t npos, nneg;
	const float *vec;    /* a vector's dim numbers: valid until the next parse */
	size_t label_len;    /* a vector's: length of the key before it, or 0 */
} te_knn_query;
typedef struct te_knn_batch te_knn_batch;
te_knn_batch *te_knn_batch_new(te_knn *x, te_hnsw *h, size_t k, size_t limit, size_t ef,
                               int threads, size_t cap, te_diag *d);
void te_knn_batch_free(te_knn_batch *b);
/* The first row with the key [s, s+n), or -1.  The first few look-ups scan
 * the keys (one key asked costs no hash table of the whole vocabulary). */
long te_knn_find_key(te_knn_batch *b, const char *s, size_t n);
/* Parse a query line into q: TE_KNN_QUERY_KEY, _EXPR or _VECTOR; 0 for an
 * empty line; -1 with the reason in d (no file or line: the caller has
 * them), quoting at most 200 bytes of the line: a NUL byte, an unknown
 * key, a malformed expression, more than TE_KNN_TERMS terms, a vector of
 * another dimension. */
int te_knn_parse_query(te_knn_batch *b, const char *line, size_t len, te_knn_query *q,
                       te_diag *d);
/* knn --positive/--negative: the comma-separated keys of both lists
 * (empty names skipped) into q, and its label ("a + b - c") into *label,
 * malloc'd.  0, or -1 (an unknown key, more than TE_KNN_TERMS keys). */
int te_knn_parse_keys(te_knn_batch *b, const char *positive, const char *negative,
                      te_knn_query *q, char **label, te_diag *d);
/* Add a query labelled [label, label+len): its vector, or its keys (left
 * out of its answers; combined by the metric: the mean of their unit rows
 * for cosine, their sum or difference otherwise; with cosmul and a
 * positive key, answered by te_knn_cosmul instead).  -1 when full. */
int te_knn_batch_add(te_knn_batch *b, const char *label, size_t len, const te_knn_query *q,
                     int cosmul, te_diag *d);
int te_knn_batch_full(const te_knn_batch *b);
/* The rows of an unkeyed file are numbered from offset + 1 (0 by default;
 * a shard of a larger collection names its rows as the whole does): a
 * vector query labelled n whose components are those of row n - 1 -
 * offset is not answered with that row.  (A vector query labelled with a
 * key of a keyed file, and equal to its row, is not answered with it
 * either; nor is a key or expression with its own keys.) */
void te_knn_batch_set_offset(te_knn_batch *b, long offset);
/* Answer the queries in the order added: fn(arg, label, hits, n) for each,
 * best first; then the batch is empty.  0, or -1 (d filled) after the
 * queries before the one that failed. */
typedef void (*te_knn_answer_fn)(void *arg, const char *label, const te_hit *h, size_t n);
int te_knn_batch_run(te_knn_batch *b, te_knn_answer_fn fn, void *arg, te_diag *d);
/* Read the queries of a file (path, or "-" for standard input): a TEVEC
 * file of vectors (labelled 1, 2, ... in order), a named .npy file (labelled
 * by its keys, or so), or text, one query a line
 * (te_knn_parse_query; a vector's label its key or its line number; with
 * cosmul an expression needs a positive key), answered in batches as the
 * batch fills, and at the end, through fn.  Problems with the file (it
 * cannot be read, a malformed line, skipped; a TEVEC vector of another
 * dimension, which ends the file) go to warn, which may be NULL.  0, or -1
 * (d filled) when a search fails or memory runs out. */
int te_knn_batch_read(te_knn_batch *b, const char *path, int cosmul, te_knn_answer_fn fn,
                      void *arg, te_warn_fn warn, void *warnarg, te_diag *d);
/* What ends a text query for te_knn_batch_read: '\n' (the default) or
 * '\0' (knn -z; a query may then hold newlines). */
void te_knn_batch_set_delim(te_knn_batch *b, int delim);

/* knn --pairs: a line "A<TAB>B", each side a key, an expression or a
 * vector (te_knn_parse_query), scored in the index's metric: the cosine of
 * the two vectors (an expression's as its query would be: the mean of its
 * unit rows), their dot product, or their Euclidean distance.  *split is
 * where the tab is.  0, or -1 (d filled, without file and line). */
int te_knn_pair(te_knn_batch *b, const char *line, size_t len, float *score,
                size_t *split, te_diag *d);
/* Each line of a file of pairs (path, or "-"), through fn; empty lines are
 * skipped, malformed ones and a file that cannot be read go to warn. */
typedef void (*te_knn_pair_fn)(void *arg, const char *a, size_t alen, const char *b,
                               size_t blen, float score);
int te_knn_pairs_read(te_knn_batch *b, const char *path, te_knn_pair_fn fn, void *arg,
                      te_warn_fn warn, void *warnarg);

/* knn --merge: the answers of knn (query<TAB>neighbour<TAB>score lines,
 * each query's together, best first) on the n shards of one collection,
 * in the collection's order, merged into the k best of each query, as one
 * search of the whole would print them: equal scores in shard order, then
 * in each shard's.  Every shard must answer the same queries in the same
 * order; a neighbour is printed as its shard printed it (keys, or row
 * numbers made global by each shard's --row-offset).  0, or -1. */
int te_knn_merge(const char *const *paths, size_t n, size_t k, te_knn_metric m,
                 FILE *out, te_diag *d);

/* s[0, n) as a JSON string, quotes included, as knn(1) writes keys:
 * '"', '\\', newline and tab escaped, other bytes below 0x20 as \u00XX,
 * every other byte as it is.  0, or -1 on a write error. */
int te_knn_write_json_str(FILE *fp, const char *s, size_t n);

/* ------------------------------------------------------------ recommend */

/*
 * Item-to-item recommendations from sequence embeddings (recommend(1)).
 * A te_rec is a catalogue: the keyed rows of a te_vecs, unit-normalised
 * into a copy so that cosine is a dot product, searched by brute force
 * with BLAS.  Items are rows; ids are the keys.
 */
typedef struct te_rec te_rec;

/* How the items of a query of several items are combined. */
typedef enum te_rec_combine {
	TE_REC_COMBINE_MEAN = 0, /* cosine to the mean of their unit vectors,
	                          * as gensim's most_similar(positive=...) */
	TE_REC_COMBINE_SUM,      /* the sum of the cosines (MEAN's order) */
	TE_REC_COMBINE_MAX,      /* the best cosine to any of them */
	TE_REC_COMBINE_RECENT    /* MEAN with the i-th of k items weighted i/k:
	                          * the latest of a sequence counts most */
} te_rec_combine;

typedef te_hit te_rec_hit;

/* Build a catalogue over v, which must have keys and must outlive it.
 * Rows keyed "</s>" (word2vec's end of sentence) are never recommended. */
te_rec *te_rec_new(te_vecs *v, te_diag *d);
void te_rec_free(te_rec *r);
/* Rows in the catalogue (te_vecs_rows of v). */
size_t te_rec_items(const te_rec *r);
/* Key of a row.  Points into v. */
const char *te_rec_key(const te_rec *r, size_t row);
/* Row of an id, or -1. */
long te_rec_find(te_rec *r, const char *id, size_t len);
/* "mean", "sum", "max" or "recent"; -1 for anything else. */
int te_rec_combine_parse(const char *name, te_rec_combine *how);
/* The n best items for the query rows q[0..nq) (nq >= 1; in sequence
 * order, which RECENT uses), best first, ties by row; rows of the query
 * are never returned.  out holds n.  Returns the count, fewer than n when
 * the catalogue is smaller; -1 on error. */
long te_rec_query(te_rec *r, const size_t *q, size_t nq, te_rec_combine how,
                  size_t n, te_rec_hit *out, te_diag *d);
/* nb queries at once, as te_rec_query each but with one matrix product
 * for all (the catalogue is read once, not nb times): query b is the rows
 * q[qoff[b] .. qoff[b+1]); its hits go to out + b * n and their count to
 * counts[b].  Returns 0, -1 on error. */
int te_rec_query_many(te_rec *r, const size_t *q, const size_t *qoff, size_t nb,
                      te_rec_combine how, size_t n, te_rec_hit *out, size_t *counts,
                      te_diag *d);

/* One query line of recommend(1): the rows of its ids (separated by
 * spaces, tabs or CRs) appended to *rows (*n of them, room for *cap; grown
 * with realloc), their count returned.  Unknown ids are skipped and passed
 * to warn (may be NULL) with where as the file and line as the line: the
 * first 10 of a line one by one, then how many more; so is a line with no
 * id ("empty query").  -1 (d filled) when out of memory. */
long te_rec_parse_query(te_rec *r, const char *s, size_t len, const char *where, long line,
                        size_t **rows, size_t *n, size_t *cap, te_warn_fn warn, void *arg,
                        te_diag *d);

/* recommend --fields: "U,I,T" or "U,I,T,R", column numbers from 1 (U, I
 * and R from 1 to 10000, T from 0, meaning the last column) into fields
 * as indices from 0 (T 0 becoming -1); fields[3] is left alone without R.
 * 0, or -1 for anything else (fields then undefined). */
int te_rec_fields_parse(const char *arg, int fields[4]);

/* s[0, n) as a JSON string, quotes included, as recommend(1) writes it:
 * '"', '\\', newline, tab and CR escaped, other bytes below 0x20 as
 * \u00XX, an invalid UTF-8 byte as U+FFFD (its UTF-8, not escaped).  0, or
 * -1 on a write error. */
int te_rec_write_json_str(FILE *fp, const char *s, size_t n);
/* TAB-separated fields (as te_rec_meta_get gives them; NULL for none) as a
 * JSON array of strings.  0, or -1 on a write error. */
int te_rec_write_json_fields(FILE *fp, const char *fields);

/* Item metadata: a table keyed by id.  TSV (csv 0): "id<TAB>field...",
 * no header; CSV (csv 1): a header line, then RFC 4180 records, such as
 * MovieLens's movies.csv.  Ids are trimmed of surrounding blanks (the
 * Cornell song_hash.txt has a space after each).  Lines without a field
 * after the id, with an empty id or a repeated id are passed to warn
 * (which may be NULL) and skipped.  A TSV table whose first two lines (or
 * only line) have no tab and a comma is CSV given as TSV: NULL, with d
 * saying so and naming --csv. */
typedef struct te_rec_meta te_rec_meta;
te_rec_meta *te_rec_meta_load(const char *path, int csv, te_warn_fn warn,
                              void *arg, te_diag *d);
void te_rec_meta_free(te_rec_meta *m);
/* The fields after the id, TAB-separated (tabs and line breaks inside a
 * field become spaces), or NULL when the id is absent.  Points into m. */
const char *te_rec_meta_get(const te_rec_meta *m, const char *id, size_t len);
/* The most fields after the id on any line. */
size_t te_rec_meta_fields(const te_rec_meta *m);

/* Sequence readers: write one sequence per line, ids separated by single
 * spaces, the input of w2v-train.  Cornell playlist files (yes_*
 * train.txt/test.txt): two header lines, then a playlist per line with a
 * trailing space; streams. */
int te_rec_cornell(te_reader *in, FILE *out, te_diag *d);

/* Event logs: CSV records (a header line first) holding a user, an item, a
 * time and optionally a rating, at the given 0-based columns (time -1:
 * the last column; rating -1: none).  Each user's items are written in
 * time order (numeric times when all are numbers, else as strings; ties
 * keep file order), one line per user in order of first appearance.  Holds
 * the whole log in memory.  Records below min_rating or malformed (missing
 * columns, a non-numeric rating) go to warn and are skipped. */
typedef struct te_rec_events te_rec_events;
te_rec_events *te_rec_events_new(int user_col, int item_col, int time_col,
                                 int rating_col, double min_rating);
int te_rec_events_read(te_rec_events *e, te_reader *in, int sep, te_warn_fn warn,
                       void *arg, te_diag *d);
int te_rec_events_write(te_rec_events *e, FILE *out, te_diag *d);
void te_rec_events_free(te_rec_events *e);

/* Next-item evaluation.  For each sequence of test and each position i >= 1
 * in it, the query is the items at positions i-context..i-1 that have
 * vectors and the target the item at i.  Metrics over all such queries:
 * hit (target among the n best), recall (share of the distinct items at
 * positions >= i that are among the n best), mrr (1/rank of the target,
 * 0 beyond n) and coverage (distinct items ever recommended / catalogue).
 * With train, the same for a popularity baseline: the n items most frequent
 * in train, less the query's. */
typedef struct te_rec_metrics {
	size_t queries;     /* positions evaluated */
	size_t no_context;  /* of which no context item had a vector */
	size_t no_target;   /* of which the target had no vector */
	double hit, recall, mrr, coverage;
} te_rec_metrics;

int te_rec_eval(te_rec *r, te_reader *test, te_reader *train, size_t n,
                size_t context, te_rec_combine how, te_rec_metrics *vec,
                te_rec_metrics *pop, te_diag *d);

/* The metrics as recommend --eval prints them: a table "metric<TAB>vectors
 * <TAB>popularity" (pop NULL: "-" for popularity), or with json one JSON
 * object per call.  0, or -1 on a write error. */
int te_rec_metrics_write(FILE *fp, const te_rec_metrics *vec, const te_rec_metrics *pop,
                         size_t n, size_t context, te_rec_combine how, int json);

/* Hyperparameter search (recommend --tune).  The sequences of train are
 * split: each of two items or more gives its last holdout items (all but
 * its first at most) as next items to predict, each from the context items
 * before it (TE_REC_COMBINE_MEAN, as te_rec_eval; an item without a vector
 * is a miss); the rest of the sequences is the training text.  From w2v,
 * one parameter at a time over a fixed grid, in the order min_count,
 * epochs, window, ns_exponent, sample, the value with the best hit (then
 * MRR) is kept before the next is tried.  Each model trains on one thread
 * (the result depends on w2v.seed only), several at once.  Written to out:
 * a header and a TSV row per setting tried (each round's as it ends), the
 * popularity baseline's row, then "best<TAB>" and the w2v-train command
 * line of the best; *best gets its parameters.  0, or -1 (d filled). */
typedef struct te_rec_tune_params {
	te_w2v_params w2v;   /* where the search starts (its threads ignored) */
	size_t n;            /* hit and MRR at n (default 10) */
	size_t context;      /* items before a target in its query (5) */
	size_t holdout;      /* last items of each sequence held out (5) */
	int threads;         /* models trained at once (0: one per CPU) */
} te_rec_tune_params;

/* Skip-gram at w2v-train's other defaults; n 10, context 5, holdout 5. */
void te_rec_tune_params_default(te_rec_tune_params *p);
int te_rec_tune(te_reader *train, const te_rec_tune_params *p, FILE *out,
                te_w2v_params *best, te_diag *d);

/* ------------------------------------------------------ tokenizer train */

/*
 * Training a tokenizer (tok-train).  Documents are fed one at a time; the
 * trainer normalises and pre-tokenises each and keeps only the counts of the
 * distinct pre-tokens, so memory is bounded by the vocabulary of the corpus,
 * not its size.  te_trainer_train then runs the algorithm and
 * te_trainer_write_json writes a Hugging Face tokenizer.json.
 *
 * BPE follows Hugging Face's BpeTrainer exactly (same merges, same order,
 * same tie-breaking); WordPiece is that trainer with the "##" continuing
 * prefix (as HF's WordPieceTrainer); Unigram follows sentencepiece/HF's
 * UnigramTrainer (seed pieces, EM, pruning).
 */
typedef enum te_train_model {
	TE_TRAIN_MODEL_BPE = 0,
	TE_TRAIN_MODEL_WORDPIECE,
	TE_TRAIN_MODEL_UNIGRAM
} te_train_model;

typedef enum te_train_preset {
	TE_TRAIN_PRESET_NONE = 0,
	TE_TRAIN_PRESET_GPT2,         /* byte-level BPE, <|endoftext|> */
	TE_TRAIN_PRESET_BERT,         /* WordPiece, BERT normaliser, [CLS]/[SEP] */
	TE_TRAIN_PRESET_SENTENCEPIECE,/* Unigram, NFKC, Metaspace, <unk> */
	TE_TRAIN_PRESET_BYTE_FALLBACK /* Metaspace BPE with <0xNN> byte fallback */
} te_train_preset;

typedef struct te_train_opts {
	te_train_model model;
	size_t vocab_size;         /* total, special tokens included */
	uint64_t min_frequency;    /* BPE/WordPiece: least count of a merged pair */
	const char **special;      /* special tokens, ids 0.. in this order */
	size_t n_special;
	int lowercase;
	int byte_level;            /* GPT-2 byte-level pre-tokenizer and alphabet */
	int byte_fallback;         /* BPE/Unigram: <0x00>..<0xFF> tokens */
	int bert;                  /* BERT normaliser, pre-tokenizer, template */
	int nfkc;                  /* NFKC normaliser */
	size_t max_piece_length;   /* Unigram: longest piece in characters (16) */
} te_train_opts;

/* Defaults of a model (preset NONE: BPE and Unigram use the Metaspace
 * pre-tokenizer, WordPiece BERT's), or of a named recipe, which also sets
 * the model and the special tokens (static strings). */
void te_train_opts_init(te_train_opts *o, te_train_model model,
                        te_train_preset preset);
/* "bpe"/"wordpiece"/"unigram", "gpt2"/"bert"/"sentencepiece"/"byte-fallback";
 * -1 when unknown. */
int te_train_model_parse(const char *s);
int te_train_preset_parse(const char *s);

typedef struct te_trainer te_trainer;
/* Called now and then during training: phase name, progress done/total. */
typedef void (*te_train_progress)(const char *phase, size_t done, size_t total,
                                  void *arg);

/* The options are copied (the special strings too). */
te_trainer *te_trainer_new(const te_train_opts *o, te_diag *d);
void te_trainer_free(te_trainer *t);
/* Feed one document.  Invalid UTF-8 and NUL are replaced by U+FFFD
 * (counted in *n_replaced, which may be NULL), except with byte_level,
 * where bytes are bytes.  A pre-token longer than 4096 bytes is counted in
 * pieces of that size.  Returns 0, -1 when out of memory. */
int te_trainer_feed(te_trainer *t, const char *text, size_t len,
                    size_t *n_replaced, te_diag *d);
/* Distinct pre-tokens and documents fed so far. */
size_t te_trainer_distinct(const te_trainer *t);
uint64_t te_trainer_documents(const te_trainer *t);
void te_trainer_set_progress(te_trainer *t, te_train_progress fn, void *arg);
/* Train.  Fails on an empty corpus and on a vocabulary size smaller than
 * the alphabet plus the special tokens.  WordPiece always has an [UNK]
 * (added after the special tokens when not among them) and Unigram an
 * <unk> (then added as id 0, as HF does). */
int te_trainer_train(te_trainer *t, te_diag *d);
/* Size of the trained vocabulary (special tokens included). */
size_t te_trainer_vocab_size(const te_trainer *t);
/* Write the trained tokenizer as Hugging Face tokenizer.json. */
int te_trainer_write_json(te_trainer *t, FILE *fp, te_diag *d);

#endif /* TOKEMB_H */
