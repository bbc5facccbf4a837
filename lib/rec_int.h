/* rec_int.h: private helpers of the recommend modules (rec*.c). */
#ifndef TOKEMB_REC_INT_H
#define TOKEMB_REC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tokemb.h"
#include "util_int.h"

/* The string tables (ut_strmap_intern: dense ids in order of first
 * insertion), byte buffers (ut_buf) and growable arrays (ut_grow) are the
 * suite's, in util_int.h. */

/* One CSV record (RFC 4180: fields in double quotes may hold the separator,
 * "" for a quote, and line breaks, so a record may span lines).  Fields are
 * copied into f->data, each NUL-terminated; f->field[i] is an offset. */
typedef struct rec_fields {
	ut_buf data;
	struct rec_span { size_t off, len; } *field;  /* each field in data */
	size_t n, cap;
} rec_fields;

/* Read the next CSV record from r.  Returns 1 with a record (its first line
 * number in *line), 0 at the end, -1 on error (d filled, e.g. a quote left
 * open at the end of the file). */
int rec_csv_next(te_reader *r, int sep, rec_fields *f, long *line, te_diag *d);
/* Split one line on a single-byte separator, no quoting (TSV). */
int rec_split(const char *s, size_t len, int sep, rec_fields *f);
static inline const char *rec_field(const rec_fields *f, size_t i)
{
	return f->data.s + f->field[i].off;
}
void rec_fields_release(rec_fields *f);

/* Trim spaces, tabs and CRs from both ends of [*s, *s + *len). */
void rec_trim(const char **s, size_t *len);

/* Next token of a sequence line (separated by spaces or tabs), from *pos;
 * returns 0 at the end. */
int rec_token(const char *s, size_t len, size_t *pos, const char **tok, size_t *tlen);

/* The catalogue behind te_rec. */
struct te_rec {
	te_vecs *v;
	size_t m, dim;
	float *unit;          /* (m, dim): the rows of v scaled to unit length */
	unsigned char *mask;  /* m: REC_NEVER, or REC_QUERY while a query runs */
	float *scores;        /* m: scratch for te_rec_query */
	float *qbuf;          /* scratch: (qcap, dim) */
	size_t qcap;
};
#define REC_NEVER 1
#define REC_QUERY 2

/* qsort_r's order of item ids (size_t) by count (a size_t array indexed
 * by id), most frequent first, ties by id: the popularity baseline's. */
int rec_by_count(const void *a, const void *b, void *count);

/* "mean", "sum", "max" or "recent". */
const char *rec_combine_name(te_rec_combine how);

/* A catalogue of m rows of dim without a te_vecs (its v NULL: no keys, no
 * te_rec_find); the rows are set with rec_set_row.  NULL, d filled. */
te_rec *rec_alloc(size_t m, size_t dim, te_diag *d);
/* Row i from x (dim floats) scaled to unit length; key "</s>" marks it
 * never to be recommended. */
void rec_set_row(te_rec *r, size_t i, const float *x, const char *key);

/* The query vector of rows[0..k) combined as how says (not MAX): for MEAN
 * and RECENT the unit weighted mean, for SUM the plain sum.  v holds dim. */
void rec_qvec(const te_rec *r, const size_t *rows, size_t k, te_rec_combine how,
              float *v);
/* scores[j] for every item j of the catalogue (m floats) for one query. */
int rec_scores(te_rec *r, const size_t *rows, size_t k, te_rec_combine how,
               float *scores);
/* The n best rows by scores, skipping masked rows; returns the count. */
size_t rec_topn(const te_rec *r, const float *scores, size_t n, te_rec_hit *out);

#endif
