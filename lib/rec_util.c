/* rec_util.c: CSV records and tokens for the recommend modules. */
#include <stdlib.h>
#include <string.h>

#include "rec_int.h"

static int
buf_putc(ut_buf *b, char c)
{
	return ut_buf_put(b, &c, 1);
}

static int
field_end(rec_fields *f, size_t start)
{
	if (ut_grow((void **)&f->field, &f->cap, f->n + 1, sizeof *f->field) < 0)
		return -1;
	f->field[f->n].off = start;
	f->field[f->n].len = f->data.n - start;
	f->n++;
	return buf_putc(&f->data, '\0');
}

int
rec_split(const char *s, size_t len, int sep, rec_fields *f)
{
	size_t i = 0;

	f->n = 0;
	f->data.n = 0;
	for (;;) {
		const char *e = memchr(s + i, sep, len - i);
		size_t n = e ? (size_t)(e - (s + i)) : len - i, start = f->data.n;

		if (ut_buf_put(&f->data, s + i, n) < 0 || field_end(f, start) < 0)
			return -1;
		if (!e)
			return 0;
		i += n + 1;
	}
}

int
rec_csv_next(te_reader *r, int sep, rec_fields *f, long *line, te_diag *d)
{
	char *s;
	size_t len, i, start;
	int rc, inq = 0;

	f->n = 0;
	f->data.n = 0;
	rc = te_reader_next(r, &s, &len, d);
	if (rc <= 0)
		return rc;
	*line = te_reader_lineno(r);
	start = 0;
	if (ut_buf_put(&f->data, "", 0) < 0)
		goto oom;
	for (;;) {
		for (i = 0; i < len; i++) {
			char c = s[i];

			if (inq) {
				if (c == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						if (buf_putc(&f->data, '"') < 0)
							goto oom;
						i++;
					} else {
						inq = 0;
					}
				} else if (buf_putc(&f->data, c) < 0) {
					goto oom;
				}
			} else if (c == '"' && f->data.n == start) {
				inq = 1;
			} else if (c == sep) {
				if (field_end(f, start) < 0)
					goto oom;
				start = f->data.n;
			} else if (buf_putc(&f->data, c) < 0) {
				goto oom;
			}
		}
		if (!inq)
			break;
		/* a quoted field runs on to the next line */
		if (buf_putc(&f->data, '\n') < 0)
			goto oom;
		rc = te_reader_next(r, &s, &len, d);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return te_diag_set(d, te_reader_name(r), *line,
			                   "quoted field not closed before the end of the file");
	}
	if (field_end(f, start) < 0)
		goto oom;
	return 1;
oom:
	return te_diag_set(d, te_reader_name(r), *line, "out of memory");
}

void
rec_fields_release(rec_fields *f)
{
	free(f->data.s);
	free(f->field);
	memset(f, 0, sizeof *f);
}

void
rec_trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t' || **s == '\r')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' ||
	                (*s)[*len - 1] == '\r'))
		(*len)--;
}

int
rec_token(const char *s, size_t len, size_t *pos, const char **tok, size_t *tlen)
{
	size_t i = *pos, b;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i >= len) {
		*pos = i;
		return 0;
	}
	b = i;
	while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
		i++;
	*tok = s + b;
	*tlen = i - b;
	*pos = i;
	return 1;
}

int
rec_by_count(const void *a, const void *b, void *count)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const size_t *c = count;

	if (c[x] != c[y])
		return c[x] > c[y] ? -1 : 1;
	return x < y ? -1 : x > y;   /* ties: first seen first */
}
