/* test-formats.c: the token-id line format, strict parsing, UTF-8, vectors. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokemb.h"
#include "util_int.h"
#include "tap.h"

/* ut_zero_map: zero pages, on a 2 MiB boundary from 1 MiB, any size. */
static void
zero_map_checks(void)
{
	static const size_t sizes[] = {1, 4095, 4097, (size_t)1 << 20, ((size_t)5 << 20) + 3};

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *p = ut_zero_map(sizes[i]);
		size_t k, nz = 0;

		if (!p) {
			ok(0, "ut_zero_map(%zu)", sizes[i]);
			continue;
		}
		ut_huge_advise(p, sizes[i]);
		for (k = 0; k < sizes[i]; k++)
			nz += p[k] != 0;
		p[0] = p[sizes[i] - 1] = 1;
		ok(nz == 0 && (sizes[i] < (size_t)1 << 20 || (uintptr_t)p % ((size_t)2 << 20) == 0),
		   "ut_zero_map(%zu): zero%s", sizes[i], sizes[i] < (size_t)1 << 20 ? "" : ", 2 MiB aligned");
		ut_zero_unmap(p, sizes[i]);
	}
	ok(ut_zero_map(0) == NULL, "ut_zero_map(0) is NULL");
	ut_zero_unmap(NULL, 0);
}

/* te_tok_format's ids, through its table of id strings and past it (2^18
 * on), few and many (its 2 MiB page from 16k), against snprintf. */
static void
fmt_ids_checks(void)
{
	static const size_t counts[] = {1, 7, 4097, 20000, 70000};
	te_tok_fmt f = {0};

	f.form = TE_TOK_FMT_IDS;
	for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
		size_t n = counts[c], k, wn = 0;
		int32_t *ids = malloc(n * sizeof *ids);
		char *w = malloc(n * 12 + 1);
		te_tok_enc e = {0};
		te_tok_rec r = {0};
		uint32_t x = 12345;

		if (!ids || !w)
			abort();
		for (k = 0; k < n; k++) {	/* small, large, the edges of the table */
			x = x * 1103515245u + 12345u;
			ids[k] = k % 5 == 0 ? (int32_t)(x % 300)
			       : k % 5 == 1 ? (int32_t)((1u << 18) - 1 - x % 3)
			       : k % 5 == 2 ? (int32_t)((1u << 18) + x % 1000)
			       : (int32_t)(x % 99999999u);
			wn += (size_t)sprintf(w + wn, "%s%d", k ? " " : "", ids[k]);
		}
		e.ids = ids, e.n = n, e.cap = n;
		ok(te_tok_format(NULL, &f, "", 0, &e, &r) == 0 && r.n == wn && !memcmp(r.buf, w, wn),
		   "%zu ids formatted as sprintf", n);
		r.n = 0;
		ok(te_tok_format(NULL, &f, "", 0, &e, &r) == 0 && r.n == wn && !memcmp(r.buf, w, wn),
		   "%zu ids formatted again, from the table", n);
		free(r.buf);
		free(ids);
		free(w);
	}
}

int
main(void)
{
	te_diag d = {0};
	te_ids a = {0};
	long long v;
	char path[] = "/tmp/tokemb-unit-XXXXXX";
	int fd;
	FILE *fp;
	te_vecs *vs;

	ok(te_ids_parse("101 7592 102", 12, &a, &d) == 0 && a.n == 3 && a.v[1] == 7592,
	   "ids line parses");
	ok(te_ids_parse("", 0, &a, &d) == 0 && a.n == 0, "empty line is an empty document");
	ok(te_ids_parse("1  2", 4, &a, &d) < 0, "double space refused");
	ok(te_ids_parse("1 2 ", 4, &a, &d) < 0, "trailing space refused");
	ok(te_ids_parse("1 x", 3, &a, &d) < 0 && strstr(d.msg, "column 3"), "letter refused with column");
	ok(te_ids_parse("99999999999", 11, &a, &d) < 0, "id beyond int32 refused");
	te_ids_release(&a);

	v = 7;
	ok(ut_int_of(12.0, 0, 100, &v) == 0 && v == 12, "ut_int_of: a whole number in range");
	ok(ut_int_of(-1.0, -1, 5, &v) == 0 && v == -1, "ut_int_of: the lower bound");
	v = 7;
	ok(ut_int_of(2.5, 0, 100, &v) < 0 && ut_int_of(101, 0, 100, &v) < 0 &&
	   ut_int_of(3e20, 0, 100, &v) < 0 && ut_int_of(-3e20, 0, 100, &v) < 0 &&
	   ut_int_of(NAN, 0, 100, &v) < 0 && ut_int_of(INFINITY, 0, 100, &v) < 0 && v == 7,
	   "ut_int_of: fractions, out of range, 3e20, NaN, infinity refused, *out untouched");
	ok(te_parse_ll("12", 0, 100, &v) == 0 && v == 12, "integer parses");
	ok(te_parse_ll("12x", 0, 100, &v) < 0, "typo is an error, not 12");
	ok(te_parse_ll("", 0, 100, &v) < 0, "empty is an error");
	ok(te_parse_ll("101", 0, 100, &v) < 0, "out of range is an error");

	ok(te_utf8_valid("h\xc3\xa9llo", 6), "valid UTF-8");
	ok(!te_utf8_valid("\xc3", 1), "truncated sequence");
	ok(!te_utf8_valid("\xc0\xaf", 2), "overlong refused");
	ok(!te_utf8_valid("\xed\xa0\x80", 3), "surrogate refused");
	ok(te_utf8_valid_prefix("ab\xff" "cd", 5) == 2, "valid prefix stops at bad byte");
	ok(te_utf8_valid("\xf0\x9f\x98\x80", 4), "emoji is valid");
	{	/* ASCII is skipped 32 bytes at a time: a bad byte or a
		 * character anywhere, at every offset from the start and the end */
		char buf[100];
		int bad = 0;

		for (size_t n = 0; n <= sizeof buf; n++)
			for (size_t at = 0; at < n; at++) {
				memset(buf, 'a', sizeof buf);
				buf[at] = (char)0xff;
				bad += te_utf8_valid_prefix(buf, n) != at;
				buf[at] = (char)0xc3;	/* cut short */
				bad += te_utf8_valid_prefix(buf, n) != at;
				if (at + 1 < n) {
					buf[at + 1] = (char)0xa9;
					bad += !te_utf8_valid(buf, n);
				}
			}
		ok(!bad, "valid prefix: the first bad byte at any offset, past ASCII runs");
	}

	/* vectors: text with header, round trip through TEVEC */
	fd = mkstemp(path);
	fp = fdopen(fd, "w");
	fputs("2 3\nking 1 2 3\nqueen 0.5 -1 2.25\n", fp);
	fclose(fp);
	vs = te_vecs_load(path, TE_VEC_FORMAT_AUTO, &d);
	ok(vs && te_vecs_rows(vs) == 2 && te_vecs_dim(vs) == 3, "w2v text loads");
	ok(vs && te_vecs_find(vs, "queen", 5) == 1 && te_vecs_row(vs, 1)[2] == 2.25f,
	   "key lookup");
	if (vs) {
		char p2[] = "/tmp/tokemb-unit-XXXXXX";
		int fd2 = mkstemp(p2);
		FILE *f2 = fdopen(fd2, "w");
		te_vecs *w;

		te_vec_write_tevec_header(f2, 2, 3, strlen("king") + 1 + strlen("queen") + 1, 0);
		for (size_t i = 0; i < 2; i++)
			te_vec_write_tevec_row(f2, te_vecs_row(vs, i), 3);
		te_vec_write_tevec_key(f2, "king");
		te_vec_write_tevec_key(f2, "queen");
		fclose(f2);
		w = te_vecs_load(p2, TE_VEC_FORMAT_AUTO, &d);
		ok(w && te_vecs_format(w) == TE_VEC_FORMAT_TEVEC && te_vecs_rows(w) == 2 &&
		   strcmp(te_vecs_key(w, 1), "queen") == 0 && te_vecs_row(w, 1)[1] == -1.0f,
		   "TEVEC round trip, memory-mapped");
		te_vecs_free(w);
		truncate(p2, 70);
		w = te_vecs_load(p2, TE_VEC_FORMAT_AUTO, &d);
		ok(!w && strstr(d.msg, "truncated"), "truncated TEVEC refused: %s", d.msg);
		unlink(p2);
	}
	te_vecs_free(vs);
	fp = fopen(path, "w");
	fputs("a 1 2\nb 1 nan\n", fp);
	fclose(fp);
	vs = te_vecs_load(path, TE_VEC_FORMAT_AUTO, &d);
	ok(!vs && d.line == 2, "NaN refused with its line");
	fp = fopen(path, "w");
	fputs("a 1 2\nb 1 2 3\n", fp);
	fclose(fp);
	vs = te_vecs_load(path, TE_VEC_FORMAT_AUTO, &d);
	ok(!vs && d.line == 2 && strstr(d.msg, "expected 2"), "dimension mismatch refused");
	unlink(path);
	zero_map_checks();
	fmt_ids_checks();
	return done_testing();
}
