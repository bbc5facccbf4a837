/* test-tok-io: tok-encode's input read in place and its output written
 * from the documents' buffers (tk_map_*, tk_wr_*): the documents of a
 * mapped file are the reader's, each followed by a readable byte (its
 * delimiter, or a 0 after the last, also when the file fills its last
 * page); standard input is taken from where it stands; pieces are written
 * in order past the writev limit, and through stdio on a stream of
 * memory. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tok/tok_int.h"

static char tmpl[] = "/tmp/test-tok-io.XXXXXX";

static void
put_file(const char *path, const char *s, size_t n)
{
	FILE *fp = fopen(path, "w");

	if (!fp || fwrite(s, 1, n, fp) != n || fclose(fp))
		exit(99);
}

/* The documents of path by tk_map and by te_reader agree; every mapped
 * one is followed by its delimiter or a 0. */
static int
same_docs(const char *path, int delim, size_t *ndocs)
{
	te_reader *r = te_reader_open(path, delim, NULL);
	size_t off, len, rlen;
	char *rec;
	tk_map m;
	int good = 1;

	*ndocs = 0;
	if (!r || !tk_map_open(&m, path)) {
		te_reader_close(r);
		return 0;
	}
	while (tk_map_next(&m, delim, &off, &len)) {
		if (te_reader_next(r, &rec, &rlen, NULL) != 1 || rlen != len ||
		    memcmp(rec, m.p + off, len) || m.lineno != te_reader_lineno(r) ||
		    (m.p[off + len] != (char)delim && m.p[off + len] != 0))
			good = 0;
		++*ndocs;
	}
	if (te_reader_next(r, &rec, &rlen, NULL) != 0)
		good = 0;
	tk_map_close(&m);
	te_reader_close(r);
	return good;
}

static void
test_map(const char *dir)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n;
	char path[64], *s = malloc(3 * page);
	tk_map m;

	snprintf(path, sizeof path, "%s/in", dir);
	put_file(path, "one\ntwo\n\nthree", 14);
	ok(same_docs(path, '\n', &n) && n == 4, "lines, the last unterminated: %zu documents", n);
	put_file(path, "one\0two\0\0", 9);
	ok(same_docs(path, '\0', &n) && n == 3, "NUL-ended documents: %zu", n);
	/* the file fills its pages: the byte after it is the reserved page's */
	memset(s, 'a', 3 * page);
	s[page] = '\n';
	put_file(path, s, 3 * page);
	ok(same_docs(path, '\n', &n) && n == 2, "a file of whole pages: %zu documents", n);
	free(s);
	/* documents ending on either side of tk_map_next's 256 KiB steps,
	 * one spanning several, the last unterminated */
	if (!(s = malloc((size_t)1 << 20)))
		exit(99);
	memset(s, 'b', (size_t)1 << 20);
	s[((size_t)256 << 10) - 1] = s[(size_t)256 << 10] = s[((size_t)256 << 10) + 1] = '\0';
	s[((size_t)768 << 10) + 5] = '\0';
	put_file(path, s, ((size_t)1 << 20) - 3);
	ok(same_docs(path, '\0', &n) && n == 5, "documents across 256 KiB steps: %zu", n);
	put_file(path, s + 1, (size_t)512 << 10);
	ok(same_docs(path, '\n', &n) && n == 1, "one document over two steps: %zu", n);
	put_file(path, "", 0);
	ok(!tk_map_open(&m, path), "an empty file is read as a stream");
	ok(!tk_map_open(&m, "/nonexistent/file"), "a missing file is left to the reader");
	ok(!tk_map_open(&m, "/dev/null"), "a character device is read as a stream");
	free(s);
}

/* Standard input that is a file, from where it stands, taken whole. */
static void
test_stdin(const char *dir)
{
	char path[64];
	size_t off, len;
	int fd, saved = dup(0);
	tk_map m;

	snprintf(path, sizeof path, "%s/in", dir);
	put_file(path, "skip\nkept\nlast\n", 15);
	fd = open(path, O_RDONLY);
	if (fd < 0 || saved < 0 || dup2(fd, 0) < 0 || lseek(0, 5, SEEK_SET) != 5)
		exit(99);
	ok(tk_map_open(&m, "-") && tk_map_next(&m, '\n', &off, &len) && len == 4 &&
	   !memcmp(m.p + off, "kept", 4) && tk_map_next(&m, '\n', &off, &len) &&
	   !tk_map_next(&m, '\n', &off, &len), "standard input from its offset");
	tk_map_close(&m);
	ok(lseek(0, 0, SEEK_CUR) == 15 && !tk_map_open(&m, "-"), "and then at its end");
	dup2(saved, 0);
	close(saved);
	close(fd);
}

/* 3000 pieces (more than one writev) in order to a file, then the same
 * to a stream of memory. */
static void
test_write(const char *dir)
{
	char path[64], *want = malloc(3000 * 8), *got = malloc(3000 * 8 + 6), *mem = NULL;
	size_t n = 0, i, memn = 0;
	tk_wr w;
	FILE *fp;

	for (i = 0; i < 3000; i++)
		n += (size_t)sprintf(want + n, "%zu%c", i, i % 7 ? ' ' : '\n');
	snprintf(path, sizeof path, "%s/out", dir);
	fp = fopen(path, "w");
	fputs("head\n", fp);	/* buffered: written first */
	tk_wr_init(&w, fp);
	for (i = 0; i < n; i += 1 + i % 5)
		tk_wr_put(&w, want + i, i + 1 + i % 5 <= n ? 1 + i % 5 : n - i);
	ok(tk_wr_flush(&w) == 0, "written");
	fclose(fp);
	fp = fopen(path, "r");
	i = fread(got, 1, n + 6, fp);
	fclose(fp);
	ok(i == n + 5 && !memcmp(got, "head\n", 5) && !memcmp(got + 5, want, n),
	   "in order, after what the stream held");
	fp = open_memstream(&mem, &memn);
	tk_wr_init(&w, fp);
	tk_wr_put(&w, "ab", 2);
	tk_wr_put(&w, "c", 1);
	ok(tk_wr_flush(&w) == 0 && fclose(fp) == 0 && memn == 3 && !memcmp(mem, "abc", 3),
	   "a stream of memory, through stdio");
	fp = fopen("/dev/full", "w");
	if (fp) {
		tk_wr_init(&w, fp);
		tk_wr_put(&w, "abc", 3);
		ok(tk_wr_flush(&w) != 0, "a full disk is an error");
		tk_wr_put(&w, "abc", 3);
		ok(tk_wr_flush(&w) != 0, "and stays one");
		fclose(fp);
	}
	free(want);
	free(got);
	free(mem);
}

int
main(void)
{
	char path[64];

	if (!mkdtemp(tmpl))
		return 99;
	test_map(tmpl);
	test_stdin(tmpl);
	test_write(tmpl);
	snprintf(path, sizeof path, "%s/in", tmpl);
	unlink(path);
	snprintf(path, sizeof path, "%s/out", tmpl);
	unlink(path);
	rmdir(tmpl);
	return done_testing();
}
