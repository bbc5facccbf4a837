/* rec_meta.c: item metadata tables (TSV such as song_hash.txt, CSV such as movies.csv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_int.h"

struct te_rec_meta {
	ut_strmap ids;
	ut_buf vals;      /* each item's fields, TAB-joined, NUL-terminated */
	size_t *voff;      /* ids.n offsets into vals */
	size_t vcap;
	size_t nfields;
};

static void
warn_line(te_warn_fn warn, void *arg, const char *path, long line, const char *msg,
          const char *id, size_t idlen)
{
	te_diag w = {0};

	if (!warn)
		return;
	if (id)
		te_diag_set(&w, path, line, "%s '%.*s'", msg, (int)(idlen > 60 ? 60 : idlen),
		            id);
	else
		te_diag_set(&w, path, line, "%s", msg);
	warn(&w, arg);
}

/* Append field [s, s+n) to m->vals with tabs and line breaks made spaces,
 * so that one item stays one line of TSV output. */
static int
put_field(te_rec_meta *m, const char *s, size_t n)
{
	size_t at = m->vals.n;

	if (ut_buf_put(&m->vals, s, n) < 0)
		return -1;
	for (size_t i = at; i < m->vals.n; i++)
		if (m->vals.s[i] == '\t' || m->vals.s[i] == '\n' || m->vals.s[i] == '\r' ||
		    m->vals.s[i] == '\0')
			m->vals.s[i] = ' ';
	return 0;
}

/* A line of a TSV table that looks like CSV: no tab, and a comma. */
static int
looks_csv(rec_fields *f)
{
	return f->n == 1 && memchr(rec_field(f, 0), ',', f->field[0].len) != NULL;
}

/* The first two lines of a TSV table look like CSV (one alone when it is
 * the only one): one message saying so, instead of a warning a line. */
static int
csv_hint(te_diag *d, const char *path, long line, const char *first)
{
	return te_diag_set(d, path, line, "'%s' looks like CSV, not TSV: use --csv", first);
}

te_rec_meta *
te_rec_meta_load(const char *path, int csv, te_warn_fn warn, void *arg, te_diag *d)
{
	te_reader *r = te_reader_open(path, '\n', d);
	te_rec_meta *m;
	rec_fields f = {0};
	long line = 0, held = 0;   /* held: a first line that looks like CSV */
	char first[64];
	int rc, seen = 0;

	if (!r)
		return NULL;
	te_reader_strip_cr(r, 1);
	path = te_reader_name(r);
	m = calloc(1, sizeof *m);
	if (!m)
		goto oom;
	for (;;) {
		const char *id;
		size_t idlen;
		long k;

		if (csv) {
			rc = rec_csv_next(r, ',', &f, &line, d);
		} else {
			char *s;
			size_t len;

			rc = te_reader_next(r, &s, &len, d);
			line = te_reader_lineno(r);
			if (rc == 1 && rec_split(s, len, '\t', &f) < 0)
				goto oom;
		}
		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		if (csv && line == 1)
			continue;       /* the header */
		if (f.n == 1 && f.field[0].len == 0)
			continue;       /* an empty line */
		if (!csv && seen++ < 2) {
			if (seen == 1 && looks_csv(&f)) {
				held = line;
				snprintf(first, sizeof first, "%.*s",
				         (int)(f.field[0].len > 60 ? 60 : f.field[0].len),
				         rec_field(&f, 0));
				continue;
			}
			if (held && looks_csv(&f)) {
				csv_hint(d, path, held, first);
				goto fail;
			}
			if (held)
				warn_line(warn, arg, path, held, "no tab after the id", NULL, 0);
			held = 0;
		}
		id = rec_field(&f, 0);
		idlen = f.field[0].len;
		rec_trim(&id, &idlen);
		if (f.n < 2) {
			warn_line(warn, arg, path, line, csv ? "no comma after the id" :
			          "no tab after the id", NULL, 0);
			continue;
		}
		if (idlen == 0) {
			warn_line(warn, arg, path, line, "empty id", NULL, 0);
			continue;
		}
		if (ut_strmap_get(&m->ids, id, idlen) >= 0) {
			warn_line(warn, arg, path, line, "repeated id, first kept:", id, idlen);
			continue;
		}
		k = ut_strmap_intern(&m->ids, id, idlen);
		if (k < 0)
			goto oom;
		if ((size_t)k >= m->vcap) {
			size_t nc = m->vcap ? m->vcap * 2 : 1024;
			size_t *nv = realloc(m->voff, nc * sizeof *nv);

			if (!nv)
				goto oom;
			m->voff = nv;
			m->vcap = nc;
		}
		m->voff[k] = m->vals.n;
		for (size_t i = 1; i < f.n; i++) {
			if ((i > 1 && ut_buf_put(&m->vals, "\t", 1) < 0) ||
			    put_field(m, rec_field(&f, i), f.field[i].len) < 0)
				goto oom;
		}
		if (ut_buf_put(&m->vals, "", 1) < 0)
			goto oom;
		if (f.n - 1 > m->nfields)
			m->nfields = f.n - 1;
	}
	if (held) {
		csv_hint(d, path, held, first);
		goto fail;
	}
	rec_fields_release(&f);
	te_reader_close(r);
	return m;
oom:
	te_diag_set(d, path, line, "out of memory");
fail:
	rec_fields_release(&f);
	te_reader_close(r);
	te_rec_meta_free(m);
	return NULL;
}

void
te_rec_meta_free(te_rec_meta *m)
{
	if (!m)
		return;
	ut_strmap_release(&m->ids);
	free(m->vals.s);
	free(m->voff);
	free(m);
}

const char *
te_rec_meta_get(const te_rec_meta *m, const char *id, size_t len)
{
	long k = ut_strmap_get(&m->ids, id, len);

	return k < 0 ? NULL : m->vals.s + m->voff[k];
}

size_t
te_rec_meta_fields(const te_rec_meta *m)
{
	return m->nfields;
}
