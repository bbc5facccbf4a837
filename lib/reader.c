/* reader.c: records of any length from a file or stdin, newline or NUL terminated. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tokemb.h"
#include "util_int.h"

struct te_reader {
	FILE *fp;
	int own;
	int delim;
	int strip_cr;
	char *name;
	char *buf;
	size_t cap;
	long lineno;
};

te_reader *
te_reader_from_fp(FILE *fp, const char *name, int delim)
{
	te_reader *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->fp = fp;
	r->delim = delim;
	r->name = strdup(name ? name : "-");
	if (!r->name) {
		free(r);
		return NULL;
	}
	return r;
}

te_reader *
te_reader_open(const char *path, int delim, te_diag *d)
{
	te_reader *r;
	FILE *fp;

	if (!path || strcmp(path, "-") == 0)
		return te_reader_from_fp(stdin, "-", delim);
	fp = fopen(path, "r");
	if (!fp) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		return NULL;
	}
	r = te_reader_from_fp(fp, path, delim);
	if (!r) {
		fclose(fp);
		te_diag_set(d, path, 0, "out of memory");
		return NULL;
	}
	r->own = 1;
	return r;
}

void
te_reader_strip_cr(te_reader *r, int on)
{
	r->strip_cr = on;
}

int
te_reader_next(te_reader *r, char **rec, size_t *len, te_diag *d)
{
	ssize_t n;

	errno = 0;
	n = getdelim(&r->buf, &r->cap, r->delim, r->fp);
	if (n < 0) {
		if (ferror(r->fp))
			return te_diag_set(d, r->name, r->lineno + 1, "read error: %s",
			                   strerror(errno ? errno : EIO));
		if (errno == ENOMEM || errno == EOVERFLOW)
			return te_diag_set(d, r->name, r->lineno + 1, "record too long: %s",
			                   strerror(errno));
		return 0;
	}
	r->lineno++;
	if (n > 0 && r->buf[n - 1] == (char)r->delim)
		r->buf[--n] = '\0';
	if (r->strip_cr && n > 0 && r->buf[n - 1] == '\r')
		r->buf[--n] = '\0';
	*rec = r->buf;
	*len = (size_t)n;
	return 1;
}

long
te_reader_lineno(const te_reader *r)
{
	return r->lineno;
}

const char *
te_reader_name(const te_reader *r)
{
	return r->name;
}

void
te_reader_close(te_reader *r)
{
	if (!r)
		return;
	if (r->own)
		fclose(r->fp);
	free(r->buf);
	free(r->name);
	free(r);
}

char *
te_read_whole(const char *path, size_t *len, te_diag *d)
{
	int in = strcmp(path, "-") == 0;
	char *p = ut_read_file(in ? "/dev/stdin" : path, (size_t)-2, len, d);

	if (!p && in)
		snprintf(d->file, sizeof d->file, "-");
	return p;
}
