/* ids.c: the token-id line format. */
#include <limits.h>
#include <stdlib.h>

#include "tokemb.h"

int
te_ids_push(te_ids *a, int32_t id)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		int32_t *v = realloc(a->v, cap * sizeof *v);

		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = id;
	return 0;
}

void
te_ids_release(te_ids *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

int
te_ids_parse(const char *line, size_t len, te_ids *a, te_diag *d)
{
	size_t i = 0;

	a->n = 0;
	while (i < len) {
		long long v = 0;
		size_t start = i;

		if (line[i] < '0' || line[i] > '9')
			return te_diag_set(d, NULL, 0, "bad token id at column %zu: expected a "
			                   "non-negative integer, found '%.20s'", i + 1, line + i);
		while (i < len && line[i] >= '0' && line[i] <= '9') {
			v = v * 10 + (line[i] - '0');
			if (v > INT32_MAX)
				return te_diag_set(d, NULL, 0, "token id at column %zu is out of "
				                   "range", start + 1);
			i++;
		}
		if (te_ids_push(a, (int32_t)v) < 0)
			return te_diag_set(d, NULL, 0, "out of memory");
		if (i < len) {
			if (line[i] != ' ' || i + 1 == len)
				return te_diag_set(d, NULL, 0, "bad separator at column %zu: ids are "
				                   "separated by single spaces", i + 1);
			i++;
		}
	}
	return 0;
}

int
te_ids_write(FILE *fp, const int32_t *ids, size_t n)
{
	char buf[16];

	for (size_t i = 0; i < n; i++) {
		uint32_t v = (uint32_t)ids[i];
		char *p = buf + sizeof buf;

		if (i)
			putc_unlocked(' ', fp);
		do {
			*--p = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		fwrite_unlocked(p, 1, (size_t)(buf + sizeof buf - p), fp);
	}
	return putc_unlocked('\n', fp) == EOF ? -1 : 0;
}
