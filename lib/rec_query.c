/* rec_query.c: the query lines of recommend(1), read into rows of the
 * catalogue, its --fields and its JSON strings. */
#include <string.h>

#include "rec_int.h"
#include "util_int.h"

/* Unknown ids reported one by one on a line; the rest are counted. */
#define UNKNOWN_MAX 10

static void
warn_line(te_warn_fn warn, void *arg, const char *where, long line, te_diag *w)
{
	snprintf(w->file, sizeof w->file, "%s", where);
	w->line = line;
	if (warn)
		warn(w, arg);
}

/* An id that is not in the catalogue. */
static void
unknown_id(te_warn_fn warn, void *arg, const char *where, long line, const char *s,
           size_t l)
{
	te_diag w = {0};

	if (memchr(s, '\0', l))
		te_diag_set(&w, NULL, 0, "unknown id (holds a NUL byte)");
	else
		te_diag_set(&w, NULL, 0, "unknown id '%.*s'", (int)(l > 80 ? 80 : l), s);
	warn_line(warn, arg, where, line, &w);
}

long
te_rec_parse_query(te_rec *r, const char *s, size_t len, const char *where, long line,
                   size_t **rows, size_t *n, size_t *cap, te_warn_fn warn, void *arg,
                   te_diag *d)
{
	size_t start = *n;
	int any = 0;
	long unknown = 0;  /* a line of a million unknown ids is not a million messages */
	te_diag w = {0};

	for (size_t i = 0; i < len;) {
		size_t t;
		long row;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i >= len)
			break;
		t = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		any = 1;
		if ((row = te_rec_find(r, s + t, i - t)) < 0) {
			if (++unknown <= UNKNOWN_MAX)
				unknown_id(warn, arg, where, line, s + t, i - t);
			continue;
		}
		if (ut_grow((void **)rows, cap, *n + 1, sizeof **rows) < 0)
			return te_diag_set(d, NULL, 0, "out of memory");
		(*rows)[(*n)++] = (size_t)row;
	}
	if (unknown > UNKNOWN_MAX) {
		te_diag_set(&w, NULL, 0, "%ld more unknown ids on this line",
		            unknown - UNKNOWN_MAX);
		warn_line(warn, arg, where, line, &w);
	}
	if (!any) {
		te_diag_set(&w, NULL, 0, "empty query");
		warn_line(warn, arg, where, line, &w);
	}
	return (long)(*n - start);
}

int
te_rec_fields_parse(const char *arg, int fields[4])
{
	long long v[4];
	int k = 0;
	const char *p = arg;

	while (k < 4) {
		char buf[32];
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);

		if (l == 0 || l >= sizeof buf)
			break;
		memcpy(buf, p, l);
		buf[l] = '\0';
		if (te_parse_ll(buf, k == 2 ? 0 : 1, 10000, &v[k]) < 0)
			break;
		k++;
		if (!c) {
			p = NULL;
			break;
		}
		p = c + 1;
	}
	if (p || k < 3)
		return -1;
	fields[0] = (int)v[0] - 1;
	fields[1] = (int)v[1] - 1;
	fields[2] = (int)v[2] - 1;   /* 0 becomes -1: the last column */
	if (k == 4)
		fields[3] = (int)v[3] - 1;
	return 0;
}

int
te_rec_write_json_str(FILE *fp, const char *s, size_t n)
{
	return ut_json_strf(fp, s, n, UT_JSON_REPAIR);
}

int
te_rec_write_json_fields(FILE *fp, const char *fields)
{
	const char *p = fields;

	fputc('[', fp);
	for (int first = 1; p; first = 0) {
		const char *t = strchr(p, '\t');
		size_t l = t ? (size_t)(t - p) : strlen(p);

		if (!first)
			fputc(',', fp);
		te_rec_write_json_str(fp, p, l);
		p = t ? t + 1 : NULL;
	}
	fputc(']', fp);
	return ferror(fp) ? -1 : 0;
}
