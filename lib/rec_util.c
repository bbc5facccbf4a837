/* rec_util.c: string tables, CSV records and tokens for the recommend modules. */
#include <stdlib.h>
#include <string.h>

#include "rec_int.h"

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t nc;
	void *np;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	np = realloc(*p, nc * elem);
	if (!np)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

int
rec_buf_put(rec_buf *b, const char *s, size_t n)
{
	if (grow((void **)&b->s, &b->cap, b->n + n + 1, 1) < 0)
		return -1;
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
	return 0;
}

int
rec_buf_putc(rec_buf *b, char c)
{
	return rec_buf_put(b, &c, 1);
}

long
rec_strtab_find(const rec_strtab *t, const char *s, size_t len)
{
	if (!t->hcap)
		return -1;
	for (size_t h = hash_bytes(s, len) & (t->hcap - 1); t->h[h];
	     h = (h + 1) & (t->hcap - 1)) {
		size_t id = t->h[h] - 1;

		if (t->ent[id].len == len && memcmp(t->buf + t->ent[id].off, s, len) == 0)
			return (long)id;
	}
	return -1;
}

static int
rehash(rec_strtab *t, size_t cap)
{
	uint32_t *nh = calloc(cap, sizeof *nh);

	if (!nh)
		return -1;
	for (size_t id = 0; id < t->n; id++) {
		size_t h = hash_bytes(t->buf + t->ent[id].off, t->ent[id].len) & (cap - 1);

		while (nh[h])
			h = (h + 1) & (cap - 1);
		nh[h] = (uint32_t)id + 1;
	}
	free(t->h);
	t->h = nh;
	t->hcap = cap;
	return 0;
}

long
rec_strtab_intern(rec_strtab *t, const char *s, size_t len)
{
	long id = rec_strtab_find(t, s, len);
	size_t h;

	if (id >= 0)
		return id;
	if (t->n >= UINT32_MAX - 1)
		return -1;
	if ((t->n + 1) * 2 > t->hcap && rehash(t, t->hcap ? t->hcap * 2 : 64) < 0)
		return -1;
	if (grow((void **)&t->ent, &t->cap, t->n + 1, sizeof *t->ent) < 0)
		return -1;
	if (grow((void **)&t->buf, &t->bcap, t->blen + len + 1, 1) < 0)
		return -1;
	memcpy(t->buf + t->blen, s, len);
	t->buf[t->blen + len] = '\0';
	t->ent[t->n].off = t->blen;
	t->ent[t->n].len = len;
	t->blen += len + 1;
	for (h = hash_bytes(s, len) & (t->hcap - 1); t->h[h]; h = (h + 1) & (t->hcap - 1))
		;
	t->h[h] = (uint32_t)t->n + 1;
	return (long)t->n++;
}

void
rec_strtab_release(rec_strtab *t)
{
	free(t->buf);
	free(t->ent);
	free(t->h);
	memset(t, 0, sizeof *t);
}

static int
field_end(rec_fields *f, size_t start)
{
	if (grow((void **)&f->field, &f->cap, f->n + 1, sizeof *f->field) < 0)
		return -1;
	f->field[f->n].off = start;
	f->field[f->n].len = f->data.n - start;
	f->n++;
	return rec_buf_putc(&f->data, '\0');
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

		if (rec_buf_put(&f->data, s + i, n) < 0 || field_end(f, start) < 0)
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
	if (rec_buf_put(&f->data, "", 0) < 0)
		goto oom;
	for (;;) {
		for (i = 0; i < len; i++) {
			char c = s[i];

			if (inq) {
				if (c == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						if (rec_buf_putc(&f->data, '"') < 0)
							goto oom;
						i++;
					} else {
						inq = 0;
					}
				} else if (rec_buf_putc(&f->data, c) < 0) {
					goto oom;
				}
			} else if (c == '"' && f->data.n == start) {
				inq = 1;
			} else if (c == sep) {
				if (field_end(f, start) < 0)
					goto oom;
				start = f->data.n;
			} else if (rec_buf_putc(&f->data, c) < 0) {
				goto oom;
			}
		}
		if (!inq)
			break;
		/* a quoted field runs on to the next line */
		if (rec_buf_putc(&f->data, '\n') < 0)
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
