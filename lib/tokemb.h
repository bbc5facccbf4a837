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
	TE_VEC_FORMAT_TEVEC     /* the suite's binary format */
} te_vec_format;

/* A set of vectors with optional keys.  Data may be memory-mapped. */
typedef struct te_vecs te_vecs;

/* Load a vector file in any format (detected unless fmt says).  TEVEC files
 * are memory-mapped.  Keys are optional (a text file whose lines hold only
 * numbers has none). */
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

/* Writing vectors.  text: "key v1 ... vd" (no key: "v1 ... vd"), floats
 * printed with %.9g so they read back bit-exact; header writes "rows dim"
 * first (text) or is required (w2v binary). */
int te_vec_write_text_header(FILE *fp, size_t rows, size_t dim);
int te_vec_write_text(FILE *fp, const char *key, const float *x, size_t dim);
int te_vec_write_w2v_bin_header(FILE *fp, size_t rows, size_t dim);
int te_vec_write_w2v_bin(FILE *fp, const char *key, const float *x, size_t dim);
/* TEVEC header; rows may be TE_VEC_ROWS_STREAM.  For a keyed file give
 * keys_size (the sum of strlen(key)+1); the keys are then written after
 * the rows with te_vec_write_tevec_keys. */
int te_vec_write_tevec_header(FILE *fp, uint64_t rows, uint64_t dim,
                              uint64_t keys_size, uint32_t flags);
int te_vec_write_tevec_row(FILE *fp, const float *x, size_t dim);
int te_vec_write_tevec_key(FILE *fp, const char *key);

/* Streaming reader of vectors or token vectors, text or TEVEC, detected from
 * the first bytes.  For text, each record is a line; an empty line ends a
 * document (token-vector format).  Used by emb-pool and by programs that
 * read query vectors. */
typedef struct te_vecstream te_vecstream;
te_vecstream *te_vecstream_open(const char *path, te_diag *d);
te_vecstream *te_vecstream_from_fp(FILE *fp, const char *name, te_diag *d);
/* Read one document of token vectors: *rows (count) x *dim floats into
 * *buf (grown as needed, owned by the stream).  Returns 1 with a document
 * (possibly of 0 rows), 0 at the end, -1 on error. */
int te_vecstream_next_doc(te_vecstream *s, float **buf, size_t *rows,
                          size_t *dim, te_diag *d);
/* Read one vector (text: one line, key allowed and returned in *key, which
 * points into the stream).  Returns 1, 0 at the end, -1 on error. */
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
/* (tokenizer section: see issue 3) */

/* ------------------------------------------------------------ embedding */
/* (embedding section: see issue 6) */

/* ------------------------------------------------------------- word2vec */
/* (word2vec section: see issue 7) */

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
	double alpha, min_alpha; /* learning rate, decayed linearly */
	int epochs;          /* passes over the corpus (default 5) */
	int threads;         /* worker threads (default 3, as gensim) */
	uint64_t seed;       /* random seed (default 1) */
	int batch;           /* skip-gram: share the negatives of a window and
	                        update it as one small matrix product (HogBatch,
	                        default 1); 0 trains pair by pair as word2vec.c */
	size_t max_sentence; /* longer sequences are cut in pieces (10000) */
} te_w2v_params;

/* gensim's defaults. */
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
/* Write the vectors: TEXT (word2vec text with its header), W2V_BIN or
 * TEVEC.  Returns 0, or -1 on a write error (d filled). */
int te_w2v_write(const te_w2v *m, FILE *fp, te_vec_format fmt, te_diag *d);
void te_w2v_free(te_w2v *m);

/* ------------------------------------------------------------------ knn */
/* (knn section: see issue 8) */

/* ------------------------------------------------------------ recommend */
/* (recommend section: see issue 9) */

/* ------------------------------------------------------ tokenizer train */
/* (tokenizer training section: see issue 10) */

#endif /* TOKEMB_H */
