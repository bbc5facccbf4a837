/* tok_io.c: te_tok_batch's input and output without copies (tk_map_*,
 * tk_wr_*, see tok_int.h): a regular file's documents read where the
 * kernel maps them, and the documents' formatted ids written from their
 * own buffers by writev.  Base helpers of the tokenizer area: they call
 * only libc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tok_int.h"

/* Map the file whole, and one page of zeros after it: a document that
 * ends the file unterminated is followed by a 0, as the reader's are by
 * their NUL.  The space is taken first and the file mapped over it, so
 * the page after the file is the reserved one. */
static char *
map_file(int fd, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *p, *f;

	if (size > SIZE_MAX - 2 * page)
		return NULL;
	p = mmap(NULL, size + page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	f = mmap(p, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (f == MAP_FAILED) {
		munmap(p, size + page);
		return NULL;
	}
	return p;
}

int
tk_map_open(tk_map *m, const char *path)
{
	int in = strcmp(path, "-") == 0, fd;
	struct stat st;
	off_t at = 0;

	memset(m, 0, sizeof *m);
	fd = in ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* standard input from where it stands; taken whole */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX || (in && (at = lseek(fd, 0, SEEK_CUR)) < 0) ||
	    at >= st.st_size || !(m->p = map_file(fd, (size_t)st.st_size))) {
		if (!in)
			close(fd);
		return 0;
	}
	m->size = (size_t)st.st_size;
	m->pos = m->dropped = (size_t)at;
	if (in)
		lseek(fd, st.st_size, SEEK_SET);
	else
		close(fd);
	return 1;
}

/* The text is searched for a delimiter a step at a time, the step's pages
 * mapped first in one call (MADV_POPULATE_READ), where memchr's faults
 * mapped 16 pages each (fault-around; cl100k, 2 MB of prose -z: 31 of the
 * process's 373 faults), and the encoding reads the same pages after it.
 * What is mapped is what memchr reads, to the end of its step. */
#define MAP_STEP ((size_t)256 << 10)

static const char *
map_find(tk_map *m, int delim)
{
	size_t at = m->pos, to;
	const char *p;

	do {
		to = at / MAP_STEP * MAP_STEP + MAP_STEP;
		if (to > m->size)
			to = m->size;
#ifdef MADV_POPULATE_READ
		if (m->mapped < to) {	/* only advice: memchr faults where it fails */
			(void)madvise(m->p + m->mapped, to - m->mapped, MADV_POPULATE_READ);
			m->mapped = to;
		}
#endif
		p = memchr(m->p + at, delim, to - at);
		at = to;
	} while (!p && to < m->size);
	return p;
}

int
tk_map_next(tk_map *m, int delim, size_t *off, size_t *len)
{
	const char *p;

	if (m->pos >= m->size)
		return 0;
	p = map_find(m, delim);
	*off = m->pos;
	*len = p ? (size_t)(p - m->p) - m->pos : m->size - m->pos;
	m->pos += *len + (p != NULL);
	m->lineno++;
	return 1;
}

/* Pages are given back in steps of 2 MB: a page fault maps the pages
 * around it that the kernel holds (fault-around, at most 2 MB aligned), so
 * pages given back in the same 2 MB as the text still being read would be
 * mapped again, and stay. */
#define DROP_STEP ((size_t)2 << 20)

void
tk_map_drop(tk_map *m, size_t end)
{
	size_t from = m->dropped / DROP_STEP * DROP_STEP, to = end / DROP_STEP * DROP_STEP;

	if (m->p && to > from) {
		madvise(m->p + from, to - from, MADV_DONTNEED);
		m->dropped = to;
	}
}

void
tk_map_close(tk_map *m)
{
	if (m->p)
		munmap(m->p, m->size + (size_t)sysconf(_SC_PAGESIZE));
	memset(m, 0, sizeof *m);
}

void
tk_wr_init(tk_wr *o, FILE *fp)
{
	memset(o, 0, sizeof *o);
	o->fp = fp;
	o->fd = fp ? fileno(fp) : -1;
}

/* Write what is held on o->fd, resuming after a short write. */
static int
out_writev(tk_wr *o)
{
	struct iovec *v = o->iov;
	int n = o->n;

	o->n = 0;
	if (fflush(o->fp))
		return o->err = errno ? errno : EIO;
	while (n > 0) {
		ssize_t w = writev(o->fd, v, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return o->err = errno;
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++, n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int
tk_wr_flush(tk_wr *o)
{
	return o->n && !o->err ? out_writev(o) : o->err;
}

void
tk_wr_put(tk_wr *o, const void *p, size_t n)
{
	if (o->err || !n)
		return;
	if (o->fd < 0) {	/* a stream of memory: its own error flag */
		fwrite_unlocked(p, 1, n, o->fp);
		return;
	}
	if (o->n == TK_WR_IOV && out_writev(o))
		return;
	o->iov[o->n].iov_base = (void *)p;
	o->iov[o->n++].iov_len = n;
}
