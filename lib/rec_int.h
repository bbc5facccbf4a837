/* rec_int.h: private helpers of the recommend modules (rec*.c). */
#ifndef TOKEMB_REC_INT_H
#define TOKEMB_REC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tokemb.h"

/* A set of byte strings, each given a dense id (0, 1, ...) in order of
 * first insertion.  Keys may contain any byte; they are stored with a NUL
 * after them for printing. */
typedef struct rec_strtab {
	char *buf;           /* keys, each NUL-terminated, back to back */
	size_t blen, bcap;
	struct rec_span { size_t off, len; } *ent;  /* n entries */
	size_t n, cap;
	uint32_t *h;         /* open addressing, id+1 (0 = empty) */
	size_t hcap;
} rec_strtab;

/* Id of [s, s+len), adding it when absent; -1 when out of memory. */
long rec_strtab_intern(rec_strtab *t, const char *s, size_t len);
/* Id of [s, s+len), or -1. */
long rec_strtab_find(const rec_strtab *t, const char *s, size_t len);
/* Key of id, NUL-terminated.  Valid until the next intern. */
static inline const char *rec_strtab_key(const rec_strtab *t, size_t id)
{
	return t->buf + t->ent[id].off;
}
void rec_strtab_release(rec_strtab *t);

/* Growable byte buffer. */
typedef struct rec_buf {
	char *s;
	size_t n, cap;
} rec_buf;
int rec_buf_put(rec_buf *b, const char *s, size_t n);
int rec_buf_putc(rec_buf *b, char c);

/* One CSV record (RFC 4180: fields in double quotes may hold the separator,
 * "" for a quote, and line breaks, so a record may span lines).  Fields are
 * copied into f->data, each NUL-terminated; f->field[i] is an offset. */
typedef struct rec_fields {
	rec_buf data;
	struct rec_span *field;  /* offset and length of each field in data */
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
