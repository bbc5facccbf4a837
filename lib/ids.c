/* ids.c: the token-id line format. */
#include <limits.h>
#include <stdlib.h>

#include "tokemb.h"
#include "util_int.h"

int
te_ids_push(te_ids *a, int32_t id)
{
	if (a->n == a->cap && ut_grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v) < 0)
		return -1;
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

static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Two digits a step, written backwards from the end once the length is
 * known: tok-encode writes millions of ids a second. */
char *
te_fmt_ulong(char *p, unsigned long v)
{
	int n = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 :
	        v < 1000000 ? 6 : v < 10000000 ? 7 : 8;
	char *q;

	for (unsigned long t = v / 100000000; t; t /= 10)
		n++;
	q = p + n;
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100);

		v /= 100;
		q -= 2;
		q[0] = digits2[2 * d];
		q[1] = digits2[2 * d + 1];
	}
	if (v >= 10) {
		q[-2] = digits2[2 * v];
		q[-1] = digits2[2 * v + 1];
	} else {
		q[-1] = (char)('0' + v);
	}
	return p + n;
}

size_t
te_tok_escape(char *out, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i], e = 0;

		switch (c) {
		case '\\': e = '\\'; break;
		case ' ': e = 's'; break;
		case '\t': e = 't'; break;
		case '\r': e = 'r'; break;
		case '\n': e = 'n'; break;
		case '\0': e = '0'; break;
		}
		if (e) {
			out[k++] = '\\';
			out[k++] = e;
		} else {
			out[k++] = c;
		}
	}
	return k;
}
