/* vecfmt.c: vector files (word2vec text and binary, GloVe, TEVEC) and streams. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokemb.h"
#include "util_int.h"

struct te_vecs {
	size_t rows, dim;
	float *data;          /* owned unless mapped */
	char **keys;          /* rows pointers into keybuf, or NULL */
	char *keybuf;         /* owned unless mapped */
	void *map;
	size_t maplen;
	te_vec_format fmt;
	/* hash index over keys: open addressing, row+1 (0 = empty) */
	uint32_t *hidx;
	size_t hcap;
};

long
te_parse_floats(const char *s, size_t len, float **x, size_t *cap, te_diag *d)
{
	size_t i = 0, n = 0;

	while (i < len) {
		char *end;
		float f;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= len)
			break;
		errno = 0;
		f = strtof(s + i, &end);
		if (end == s + i || (end < s + len && *end != ' ' && *end != '\t' &&
		                     *end != '\0')) {
			size_t k = 0;

			while (i + k < len && s[i + k] != ' ' && s[i + k] != '\t')
				k++;
			return te_diag_set(d, NULL, 0, "bad number '%.*s' in column %zu",
			                   (int)(k > 40 ? 40 : k), s + i, n + 1);
		}
		if (!isfinite(f))
			return te_diag_set(d, NULL, 0, "component %zu is not a finite number",
			                   n + 1);
		if (n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			float *nx = realloc(*x, nc * sizeof *nx);

			if (!nx)
				return te_diag_set(d, NULL, 0, "out of memory");
			*x = nx;
			*cap = nc;
		}
		(*x)[n++] = f;
		i = (size_t)(end - s);
	}
	return (long)n;
}

static int
looks_numeric(const char *s, size_t n)
{
	char *end;

	if (n == 0)
		return 0;
	errno = 0;
	(void)strtof(s, &end);
	return end == s + n;
}

/* The TSV form, "key<TAB>numbers": a line with a TAB after text that holds
 * a space (a key with spaces), or with one TAB and spaces after it (a key
 * that is a number).  Otherwise the first field, up to a space or a TAB,
 * is the key unless it is a number. */
long
te_vec_split_key(const char *line, size_t len, size_t *start, te_diag *d)
{
	const char *tab = memchr(line, '\t', len);
	size_t ks = 0;

	while (ks < len && line[ks] != ' ' && line[ks] != '\t')
		ks++;
	if (tab) {
		size_t t = (size_t)(tab - line);
		const char *rest = tab + 1, *end = line + len;
		int spaced = line + ks < tab;
		int one_tab = !memchr(rest, '\t', (size_t)(end - rest)) &&
		              memchr(rest, ' ', (size_t)(end - rest));

		if (spaced) {
			float *x = NULL;
			size_t cap = 0;
			te_diag w = {0};
			int numbers = te_parse_floats(line, t, &x, &cap, &w) > 0;

			free(x);
			if (numbers)
				return te_diag_set(d, NULL, 0, "spaces and a tab both separate "
				                   "the numbers of this line: a key with spaces is "
				                   "written \"key<TAB>numbers\"");
		}
		if (spaced || one_tab) {
			*start = t + 1;
			return (long)t;
		}
	}
	if (looks_numeric(line, ks)) {
		*start = 0;
		return 0;
	}
	*start = ks < len ? ks + 1 : ks;
	return (long)ks;
}

void
te_vecs_free(te_vecs *v)
{
	if (!v)
		return;
	if (v->map)
		munmap(v->map, v->maplen);
	else
		free(v->data);
	free(v->keybuf);
	free(v->keys);
	free(v->hidx);
	free(v);
}

size_t te_vecs_rows(const te_vecs *v) { return v->rows; }
size_t te_vecs_dim(const te_vecs *v) { return v->dim; }
const float *te_vecs_data(const te_vecs *v) { return v->data; }
te_vec_format te_vecs_format(const te_vecs *v) { return v->fmt; }

const float *
te_vecs_row(const te_vecs *v, size_t i)
{
	return v->data + i * v->dim;
}

const char *
te_vecs_key(const te_vecs *v, size_t i)
{
	return v->keys ? v->keys[i] : NULL;
}

long
te_vecs_find(te_vecs *v, const char *key, size_t len)
{
	if (!v->keys)
		return -1;
	if (!v->hidx) {
		size_t cap = 16;

		while (cap < v->rows * 2)
			cap *= 2;
		v->hidx = calloc(cap, sizeof *v->hidx);
		if (!v->hidx)
			return -1;
		v->hcap = cap;
		/* the first occurrence of a key wins, as in gensim */
		for (size_t i = 0; i < v->rows; i++) {
			const char *k = v->keys[i];
			size_t kl = strlen(k), h = ut_hash(k, kl) & (cap - 1);

			while (v->hidx[h]) {
				if (strcmp(v->keys[v->hidx[h] - 1], k) == 0)
					break;
				h = (h + 1) & (cap - 1);
			}
			if (!v->hidx[h])
				v->hidx[h] = (uint32_t)i + 1;
		}
	}
	for (size_t h = ut_hash(key, len) & (v->hcap - 1); v->hidx[h];
	     h = (h + 1) & (v->hcap - 1)) {
		const char *k = v->keys[v->hidx[h] - 1];

		if (strnlen(k, len + 1) == len && memcmp(k, key, len) == 0)
			return (long)v->hidx[h] - 1;
	}
	return -1;
}

/* The first of x[0, n) that is not a finite number, or n. */
static size_t
first_nonfinite(const float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t u;

		memcpy(&u, &x[i], 4);
		if ((u & 0x7f800000u) == 0x7f800000u)
			return i;
	}
	return n;
}

static te_vecs *
load_tevec(const char *path, int fd, size_t size, te_diag *d)
{
	unsigned char *m;
	uint32_t version, etype, flags;
	uint64_t rows, dim, koff, ksize, nf;
	te_vecs *v;

	if (size < TE_VEC_HEADER_SIZE) {
		te_diag_set(d, path, 0, "truncated header");
		return NULL;
	}
	m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		return NULL;
	}
	memcpy(&version, m + 8, 4);
	memcpy(&etype, m + 12, 4);
	memcpy(&rows, m + 16, 8);
	memcpy(&dim, m + 24, 8);
	memcpy(&koff, m + 32, 8);
	memcpy(&ksize, m + 40, 8);
	memcpy(&flags, m + 48, 4);
	if (version != 1) {
		te_diag_set(d, path, 0, "unsupported TEVEC version %u", version);
		goto bad;
	}
	if (etype != 1) {
		te_diag_set(d, path, 0, "unsupported element type %u", etype);
		goto bad;
	}
	if (flags & TE_VEC_FLAG_TOKENS) {
		te_diag_set(d, path, 0, "a token-vector stream, not a vector file");
		goto bad;
	}
	if (dim == 0 || dim > (1u << 20)) {
		te_diag_set(d, path, 0, "bad dimension %llu", (unsigned long long)dim);
		goto bad;
	}
	if (rows == TE_VEC_ROWS_STREAM) {
		if (koff || (size - TE_VEC_HEADER_SIZE) % (dim * 4)) {
			te_diag_set(d, path, 0, "truncated stream: size is not a whole "
			            "number of rows");
			goto bad;
		}
		rows = (size - TE_VEC_HEADER_SIZE) / (dim * 4);
	}
	if (rows > (size - TE_VEC_HEADER_SIZE) / (dim * 4)) {
		te_diag_set(d, path, 0, "truncated: header says %llu rows of %llu, file "
		            "holds fewer", (unsigned long long)rows, (unsigned long long)dim);
		goto bad;
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		te_diag_set(d, path, 0, "out of memory");
		goto bad;
	}
	v->map = m;
	v->maplen = size;
	v->rows = rows;
	v->dim = dim;
	v->fmt = TE_VEC_FORMAT_TEVEC;
	v->data = (float *)(m + TE_VEC_HEADER_SIZE);
	if ((nf = first_nonfinite(v->data, rows * dim)) < rows * dim) {
		te_diag_set(d, path, 0, "row %zu: component %zu is not finite",
		            (size_t)(nf / dim) + 1, (size_t)(nf % dim) + 1);
		free(v);
		goto bad;
	}
	if (koff) {
		uint64_t end = TE_VEC_HEADER_SIZE + rows * dim * 4;
		char *k;

		if (koff < end || koff > size || ksize > size - koff ||
		    (ksize && m[koff + ksize - 1] != '\0')) {
			te_diag_set(d, path, 0, "bad key table");
			v->map = NULL;
			free(v);
			goto bad;
		}
		v->keys = malloc((rows ? rows : 1) * sizeof *v->keys);
		if (!v->keys) {
			v->map = NULL;
			free(v);
			te_diag_set(d, path, 0, "out of memory");
			goto bad;
		}
		k = (char *)m + koff;
		for (uint64_t i = 0; i < rows; i++) {
			char *e;

			if (k >= (char *)m + koff + ksize) {
				te_diag_set(d, path, 0, "key table holds fewer keys than rows");
				te_vecs_free(v);
				return NULL;
			}
			v->keys[i] = k;
			e = memchr(k, '\0', (size_t)((char *)m + koff + ksize - k));
			k = e + 1;
		}
	}
	return v;
bad:
	munmap(m, size);
	return NULL;
}

/* word2vec binary: "rows dim\n", then per row "key " + dim float32 (+ "\n"). */
static te_vecs *
load_w2v_bin(const char *path, FILE *fp, uint64_t size, te_diag *d)
{
	long long rows, dim;
	te_vecs *v = NULL;
	size_t kcap = 0, klen = 0;
	size_t *koffs = NULL;

	if (fscanf(fp, "%lld %lld", &rows, &dim) != 2 || rows < 0 || dim <= 0 ||
	    dim > (1 << 20)) {
		te_diag_set(d, path, 1, "bad word2vec binary header");
		return NULL;
	}
	if (getc(fp) != '\n') {
		te_diag_set(d, path, 1, "bad word2vec binary header");
		return NULL;
	}
	v = calloc(1, sizeof *v);
	if (!v)
		goto oom;
	v->dim = (size_t)dim;
	v->fmt = TE_VEC_FORMAT_W2V_BIN;
	/* each row at least a key byte, a space and dim float32s: a header
	 * the file cannot hold is refused before anything is sized from it */
	if ((uint64_t)rows > size / (2 + 4 * (uint64_t)dim)) {
		te_diag_set(d, path, 1, "header says %lld rows of %lld, more than the file's "
		            "%llu bytes hold", rows, dim, (unsigned long long)size);
		free(v);
		return NULL;
	}
	v->data = malloc((rows ? (size_t)rows : 1) * (size_t)dim * sizeof(float));
	koffs = malloc((rows ? (size_t)rows : 1) * sizeof *koffs);
	if (!v->data || !koffs)
		goto oom;
	for (long long r = 0; r < rows; r++) {
		int c;

		while ((c = getc(fp)) == '\n')
			;
		koffs[r] = klen;
		while (c != EOF && c != ' ') {
			if (ut_grow((void **)&v->keybuf, &kcap, klen + 2, 1) < 0)
				goto oom;
			v->keybuf[klen++] = (char)c;
			c = getc(fp);
		}
		if (c == EOF) {
			te_diag_set(d, path, 0, "truncated: header says %lld rows, found %lld",
			            rows, r);
			goto fail;
		}
		if (ut_grow((void **)&v->keybuf, &kcap, klen + 1, 1) < 0)
			goto oom;
		v->keybuf[klen++] = '\0';
		if (fread(v->data + (size_t)r * (size_t)dim, sizeof(float), (size_t)dim, fp) !=
		    (size_t)dim) {
			te_diag_set(d, path, 0, "truncated: row %lld is incomplete", r + 1);
			goto fail;
		}
		for (long long j = 0; j < dim; j++)
			if (!isfinite(v->data[(size_t)r * (size_t)dim + (size_t)j])) {
				te_diag_set(d, path, 0, "row %lld ('%s'): component %lld is not "
				            "finite", r + 1, v->keybuf + koffs[r], j + 1);
				goto fail;
			}
		v->rows++;
	}
	v->keys = malloc((rows ? (size_t)rows : 1) * sizeof *v->keys);
	if (!v->keys)
		goto oom;
	for (long long r = 0; r < rows; r++)
		v->keys[r] = v->keybuf + koffs[r];
	free(koffs);
	return v;
oom:
	te_diag_set(d, path, 0, "out of memory");
fail:
	free(koffs);
	te_vecs_free(v);
	return NULL;
}

/* Text: optional "rows dim" header; each line "key v1 .. vd" or "v1 .. vd". */
static te_vecs *
load_text(const char *path, FILE *fp, te_diag *d)
{
	te_reader *r = te_reader_from_fp(fp, path, '\n');
	te_vecs *v = calloc(1, sizeof *v);
	char *line;
	size_t len, dcap = 0, kcap = 0, klen = 0, ocap = 0;
	size_t *koffs = NULL;
	float *x = NULL;
	size_t xcap = 0;
	long long hrows = -1;
	int keyed = -1, rc;

	if (!r || !v)
		goto oom;
	te_reader_strip_cr(r, 1);
	v->fmt = TE_VEC_FORMAT_TEXT;
	while ((rc = te_reader_next(r, &line, &len, d)) == 1) {
		long ln = te_reader_lineno(r);
		size_t ks = 0, cs = 0;
		long n;

		if (len == 0)
			continue;
		if (ln == 1) {
			long long a, b;
			char tail;

			if (sscanf(line, "%lld %lld %c", &a, &b, &tail) == 2 && a >= 0 && b > 0) {
				hrows = a;
				v->dim = (size_t)b;
				continue;
			}
		}
		if (memchr(line, '\0', len)) {
			te_diag_set(d, path, ln, "NUL byte in a vector line");
			goto fail;
		}
		/* the key is the first field unless the whole line is numbers */
		if (keyed != 0) {
			long kl = te_vec_split_key(line, len, &cs, d);

			if (kl < 0)
				goto bad_line;
			if (keyed == -1)
				keyed = cs > 0;
			/* numeric keys (item ids): under a "rows dim" header a
			 * line of dim + 1 fields has a key */
			if (keyed == 0 && hrows >= 0) {
				size_t nf = 0;

				for (size_t k = 0; k < len; k++)
					if (line[k] != ' ' && line[k] != '\t' &&
					    (k == 0 || line[k - 1] == ' ' || line[k - 1] == '\t'))
						nf++;
				keyed = nf == v->dim + 1;
			}
			if (keyed && cs == 0) {
				while (ks < len && line[ks] != ' ' && line[ks] != '\t')
					ks++;
				cs = ks;
			} else {
				ks = (size_t)kl;
			}
		}
		if (!keyed)
			ks = cs = 0;
		n = te_parse_floats(line + cs, len - cs, &x, &xcap, d);
		if (n < 0) {
			char msg[sizeof d->msg];
bad_line:
			/* d->msg cannot be both source and destination of the format */
			memcpy(msg, d->msg, sizeof msg);
			te_diag_set(d, path, ln, "%s", msg);
			goto fail;
		}
		if (v->dim == 0)
			v->dim = (size_t)n;
		if ((size_t)n != v->dim) {
			te_diag_set(d, path, ln, "%ld components, expected %zu", n, v->dim);
			goto fail;
		}
		if (v->dim == 0) {
			te_diag_set(d, path, ln, "no components");
			goto fail;
		}
		if (hrows >= 0 && v->rows == (size_t)hrows) {
			te_diag_set(d, path, ln, "vector %zu, more than the header's %lld",
			            v->rows + 1, hrows);
			goto fail;
		}
		if (ut_grow((void **)&v->data, &dcap, (v->rows + 1) * v->dim, sizeof(float)) < 0)
			goto oom;
		memcpy(v->data + v->rows * v->dim, x, v->dim * sizeof(float));
		if (keyed) {
			if (ut_grow((void **)&v->keybuf, &kcap, klen + ks + 1, 1) < 0 ||
			    ut_grow((void **)&koffs, &ocap, v->rows + 1, sizeof *koffs) < 0)
				goto oom;
			koffs[v->rows] = klen;
			memcpy(v->keybuf + klen, line, ks);
			klen += ks;
			v->keybuf[klen++] = '\0';
		}
		v->rows++;
	}
	if (rc < 0)
		goto fail;
	if (hrows >= 0 && (size_t)hrows != v->rows) {
		te_diag_set(d, path, 1, "header says %lld vectors, file holds %zu", hrows,
		            v->rows);
		goto fail;
	}
	if (keyed == 1) {
		v->keys = malloc((v->rows ? v->rows : 1) * sizeof *v->keys);
		if (!v->keys)
			goto oom;
		for (size_t i = 0; i < v->rows; i++)
			v->keys[i] = v->keybuf + koffs[i];
	}
	free(koffs);
	free(x);
	te_reader_close(r);
	return v;
oom:
	te_diag_set(d, path, 0, "out of memory");
fail:
	free(koffs);
	free(x);
	te_reader_close(r);
	te_vecs_free(v);
	return NULL;
}

/* A word2vec binary file starts with "rows dim\n" and then has raw floats;
 * a text file has only printable text in its first rows.  Binary is taken
 * only when the bytes say so and the layout fits the file's size (each row
 * a key byte, a space and dim float32s); anything else is read as text,
 * whose loader checks the header against the rows. */
static int
sniff_w2v_bin(FILE *fp, uint64_t size)
{
	unsigned char buf[4096];
	size_t n = fread(buf, 1, sizeof buf, fp), i = 0, nl = 0;
	long long a, b;
	int bin = 0;

	rewind(fp);
	if (n == 0 || sscanf((char *)buf, "%lld %lld", &a, &b) != 2 || a < 0 || b <= 0 ||
	    b > (1 << 20))
		return 0;
	while (i < n && buf[i] != '\n')
		i++;
	nl = i;
	if ((uint64_t)a > (size - nl) / (2 + 4 * (uint64_t)b))
		return 0;
	for (i = nl + 1; i < n; i++)
		if (buf[i] == 0 || (buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\t' &&
		                    buf[i] != '\r')) {
			bin = 1;
			break;
		}
	/* one row's worth of floats without a control byte is possible: then
	 * the bytes after the first key must be ones no number is written
	 * with (a count of fields that disagrees with the header is text, and
	 * an error the text loader names) */
	if (!bin && b > 0) {
		size_t ls = nl + 1, le = ls;

		while (le < n && buf[le] != '\n')
			le++;
		if (le == n && n == sizeof buf)
			return 0;
		for (size_t k = ls; k < le && buf[k] != ' '; k++)
			ls = k + 1;
		for (size_t k = ls; k < le; k++)
			if (buf[k] >= 0x7f || !strchr("0123456789+-.eEinfatyINFATY \t\r", buf[k])) {
				bin = 1;
				break;
			}
	}
	return bin;
}

/* ------------------------------------------------------------ NumPy .npy */

#define NPY_MAGIC "\x93NUMPY"

/* The value of 'name' in an .npy header dictionary, or NULL. */
static const char *
npy_field(const char *h, const char *name)
{
	const char *p = strstr(h, name);

	if (!p)
		return NULL;
	p += strlen(name);
	while (*p == ' ' || *p == ':')
		p++;
	return p;
}

/* The keys of an .npy file: one a line in PATH.keys, when it exists. */
static int
load_npy_keys(te_vecs *v, const char *path, te_diag *d)
{
	char *kp;
	te_reader *r;
	char *line;
	size_t len, kcap = 0, klen = 0, n = 0;
	size_t *koffs = NULL;
	int rc;

	if (asprintf(&kp, "%s.keys", path) < 0)
		return te_diag_set(d, path, 0, "out of memory");
	if (access(kp, F_OK) != 0) {
		free(kp);
		return 0;
	}
	if (!(r = te_reader_open(kp, '\n', d)) ||
	    !(koffs = malloc((v->rows ? v->rows : 1) * sizeof *koffs))) {
		te_reader_close(r);
		free(kp);
		return -1;
	}
	te_reader_strip_cr(r, 1);
	while ((rc = te_reader_next(r, &line, &len, d)) == 1) {
		if (n == v->rows) {
			rc = te_diag_set(d, kp, te_reader_lineno(r), "more keys than the %zu "
			                 "rows of %s", v->rows, path);
			break;
		}
		if (memchr(line, '\0', len)) {
			rc = te_diag_set(d, kp, te_reader_lineno(r), "NUL byte in a key");
			break;
		}
		if (ut_grow((void **)&v->keybuf, &kcap, klen + len + 1, 1) < 0) {
			rc = te_diag_set(d, kp, 0, "out of memory");
			break;
		}
		koffs[n++] = klen;
		memcpy(v->keybuf + klen, line, len);
		klen += len;
		v->keybuf[klen++] = '\0';
	}
	te_reader_close(r);
	if (rc == 0 && n != v->rows)
		rc = te_diag_set(d, kp, 0, "%zu keys for the %zu rows of %s", n, v->rows, path);
	if (rc == 0 && !(v->keys = malloc((v->rows ? v->rows : 1) * sizeof *v->keys)))
		rc = te_diag_set(d, kp, 0, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++)
		v->keys[i] = v->keybuf + koffs[i];
	free(koffs);
	free(kp);
	return rc < 0 ? -1 : 0;
}

/* A two-dimensional little-endian float32 array in C order, memory-mapped. */
static te_vecs *
load_npy(const char *path, int fd, size_t size, te_diag *d)
{
	unsigned char *m;
	size_t hl, off;
	char *h = NULL;
	const char *p;
	unsigned long long rows, dim;
	te_vecs *v = NULL;

	if (size < 12) {
		te_diag_set(d, path, 0, "truncated .npy header");
		return NULL;
	}
	m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		return NULL;
	}
	if (m[6] == 1) {
		hl = (size_t)m[8] | (size_t)m[9] << 8;
		off = 10;
	} else if (m[6] == 2 || m[6] == 3) {
		hl = (size_t)m[8] | (size_t)m[9] << 8 | (size_t)m[10] << 16 |
		     (size_t)m[11] << 24;
		off = 12;
	} else {
		te_diag_set(d, path, 0, "unsupported .npy version %u.%u", m[6], m[7]);
		goto bad;
	}
	if (hl > size - off || !(h = strndup((char *)m + off, hl))) {
		te_diag_set(d, path, 0, "truncated .npy header");
		goto bad;
	}
	off += hl;
	if (!(p = npy_field(h, "'descr'")) || strncmp(p, "'<f4'", 5) != 0) {
		te_diag_set(d, path, 0, "not float32 ('<f4'): convert it with "
		            "a.astype('<f4')");
		goto bad;
	}
	if (!(p = npy_field(h, "'fortran_order'")) || strncmp(p, "False", 5) != 0) {
		te_diag_set(d, path, 0, "not in C order: save np.ascontiguousarray(a)");
		goto bad;
	}
	if (!(p = npy_field(h, "'shape'")) || sscanf(p, "(%llu, %llu)", &rows, &dim) != 2 ||
	    dim == 0 || dim > (1u << 20)) {
		te_diag_set(d, path, 0, "not a two-dimensional array of vectors");
		goto bad;
	}
	if (off % 4 || rows > (size - off) / (dim * 4)) {
		te_diag_set(d, path, 0, "truncated: the header says %llu rows of %llu, the "
		            "file holds fewer", rows, dim);
		goto bad;
	}
	if (!(v = calloc(1, sizeof *v))) {
		te_diag_set(d, path, 0, "out of memory");
		goto bad;
	}
	v->map = m;
	v->maplen = size;
	v->rows = (size_t)rows;
	v->dim = (size_t)dim;
	v->fmt = TE_VEC_FORMAT_NPY;
	v->data = (float *)(m + off);
	free(h);
	for (size_t i = 0; i < v->rows * v->dim; i++)
		if (!isfinite(v->data[i])) {
			te_diag_set(d, path, 0, "row %zu: component %zu is not finite",
			            i / v->dim + 1, i % v->dim + 1);
			te_vecs_free(v);
			return NULL;
		}
	if (load_npy_keys(v, path, d) < 0) {
		te_vecs_free(v);
		return NULL;
	}
	return v;
bad:
	free(h);
	munmap(m, size);
	return NULL;
}

te_vecs *
te_vecs_load(const char *path, te_vec_format fmt, te_diag *d)
{
	int fd;
	struct stat st;
	char magic[8] = {0};
	FILE *fp;
	te_vecs *v;

	if (!path || strcmp(path, "-") == 0) {
		te_diag_set(d, "-", 0, "vectors must come from a file, not standard input");
		return NULL;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		te_diag_set(d, path, 0, "%s", S_ISDIR(st.st_mode) ? "is a directory" :
		            "not a regular file");
		close(fd);
		return NULL;
	}
	if (pread(fd, magic, 8, 0) == 8 && memcmp(magic, TE_VEC_MAGIC, 8) == 0 &&
	    (fmt == TE_VEC_FORMAT_AUTO || fmt == TE_VEC_FORMAT_TEVEC)) {
		v = load_tevec(path, fd, (size_t)st.st_size, d);
		close(fd);
		return v;
	}
	if (memcmp(magic, NPY_MAGIC, 6) == 0 &&
	    (fmt == TE_VEC_FORMAT_AUTO || fmt == TE_VEC_FORMAT_NPY)) {
		v = load_npy(path, fd, (size_t)st.st_size, d);
		close(fd);
		return v;
	}
	if (fmt == TE_VEC_FORMAT_NPY) {
		te_diag_set(d, path, 0, "not a .npy file (bad magic)");
		close(fd);
		return NULL;
	}
	if (fmt == TE_VEC_FORMAT_TEVEC) {
		te_diag_set(d, path, 0, "not a TEVEC file (bad magic)");
		close(fd);
		return NULL;
	}
	fp = fdopen(fd, "r");
	if (!fp) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (fmt == TE_VEC_FORMAT_AUTO)
		fmt = sniff_w2v_bin(fp, (uint64_t)st.st_size) ? TE_VEC_FORMAT_W2V_BIN :
		      TE_VEC_FORMAT_TEXT;
	v = fmt == TE_VEC_FORMAT_W2V_BIN ? load_w2v_bin(path, fp, (uint64_t)st.st_size, d) :
	    load_text(path, fp, d);
	fclose(fp);
	if (v && v->rows == 0 && v->dim == 0) {
		te_diag_set(d, path, 0, "no vectors");
		te_vecs_free(v);
		return NULL;
	}
	return v;
}

/* ----------------------------------------------------------- writers */

int
te_vec_write_text_header(FILE *fp, size_t rows, size_t dim)
{
	return fprintf(fp, "%zu %zu\n", rows, dim) < 0 ? -1 : 0;
}

int
te_vec_write_text(FILE *fp, const char *key, const float *x, size_t dim)
{
	return te_vec_write_text_end(fp, key, x, dim, '\n');
}

/* The 9 significant digits of a float x > 0 that printf's %.9g gives
 * (exact, ties to even), as q in [1e8, 1e9) and x's decimal exponent after
 * rounding in *ex; 0 outside [1e-19, 1e9), left to printf.  x is m 2^e, so
 * x 10^k is m 5^k 2^(e+k): an integer product and a shift, in 128 bits;
 * k is chosen to give 9 digits before the point. */
static int
float9_digits(float x, uint32_t *q, int *ex)
{
	static const uint64_t pow5[28] = {
		1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull, 390625ull,
		1953125ull, 9765625ull, 48828125ull, 244140625ull, 1220703125ull,
		6103515625ull, 30517578125ull, 152587890625ull, 762939453125ull,
		3814697265625ull, 19073486328125ull, 95367431640625ull, 476837158203125ull,
		2384185791015625ull, 11920928955078125ull, 59604644775390625ull,
		298023223876953125ull, 1490116119384765625ull, 7450580596923828125ull,
	};
	uint32_t u;
	int e, k;
	uint64_t m;

	if (!(x >= 1e-19f && x < 1e9f))
		return 0;
	memcpy(&u, &x, sizeof u);
	m = (u & 0x7fffff) | 0x800000;
	e = (int)(u >> 23) - 150;
	/* 8 - floor(log10(x)), or one more: 78913 / 2^18 is just over log10(2) */
	k = 8 - (((int)(u >> 23) - 127) * 78913 >> 18);
	for (int tries = 0; tries < 3; tries++) {
		unsigned __int128 p, r, half;
		int s = e + k;
		uint64_t t;

		if (k < 0 || k > 27)
			return 0;
		p = (unsigned __int128)m * pow5[k];
		if (s >= 0) {
			t = (uint64_t)(p << s);
			r = 0;
			half = 1;
		} else {
			t = (uint64_t)(p >> -s);
			r = p & (((unsigned __int128)1 << -s) - 1);
			half = (unsigned __int128)1 << (-s - 1);
		}
		if (t >= 1000000000) {
			k--;
			continue;
		}
		if (t < 100000000) {
			k++;
			continue;
		}
		if (r > half || (r == half && s < 0 && (t & 1)))
			t++;
		*ex = 8 - k;
		if (t == 1000000000) {
			t = 100000000;
			++*ex;
		}
		*q = (uint32_t)t;
		return 1;
	}
	return 0;
}

/* x as printf's "%.9g" writes it, into out (32 bytes); the length. */
static int
format_g9(char *out, float x)
{
	char d[9], *o = out;
	uint32_t q;
	int ex, last;

	if (!float9_digits(fabsf(x), &q, &ex))
		return snprintf(out, 32, "%.9g", (double)x);
	if (signbit(x))
		*o++ = '-';
	for (int i = 8; i >= 0; i--, q /= 10)
		d[i] = (char)('0' + q % 10);
	for (last = 8; last > 0 && d[last] == '0'; last--)
		;
	if (ex < -4 || ex >= 9) {
		*o++ = d[0];
		if (last > 0) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)last);
			o += last;
		}
		*o++ = 'e';
		*o++ = ex < 0 ? '-' : '+';
		ex = ex < 0 ? -ex : ex;
		*o++ = (char)('0' + ex / 10);
		*o++ = (char)('0' + ex % 10);
	} else if (ex >= 0) {
		memcpy(o, d, (size_t)ex + 1);
		o += ex + 1;
		if (last > ex) {
			*o++ = '.';
			memcpy(o, d + ex + 1, (size_t)(last - ex));
			o += last - ex;
		}
	} else {
		*o++ = '0';
		*o++ = '.';
		for (int i = 0; i < -ex - 1; i++)
			*o++ = '0';
		memcpy(o, d, (size_t)last + 1);
		o += last + 1;
	}
	return (int)(o - out);
}

int
te_vec_write_text_end(FILE *fp, const char *key, const float *x, size_t dim, int end)
{
	char buf[32];

	if (key) {
		fputs_unlocked(key, fp);
		/* a key with a space in the TSV form */
		putc_unlocked(strpbrk(key, " \t") ? '\t' : ' ', fp);
	}
	for (size_t i = 0; i < dim; i++) {
		int n = format_g9(buf + 1, x[i]);

		buf[0] = ' ';
		fwrite_unlocked(buf + !i, 1, (size_t)n + !!i, fp);
	}
	return putc_unlocked(end, fp) == EOF ? -1 : 0;
}

int
te_vec_write_w2v_bin_header(FILE *fp, size_t rows, size_t dim)
{
	return fprintf(fp, "%zu %zu\n", rows, dim) < 0 ? -1 : 0;
}

int
te_vec_write_w2v_bin(FILE *fp, const char *key, const float *x, size_t dim)
{
	fputs_unlocked(key, fp);
	putc_unlocked(' ', fp);
	if (fwrite_unlocked(x, sizeof *x, dim, fp) != dim)
		return -1;
	return putc_unlocked('\n', fp) == EOF ? -1 : 0;
}

int
te_vec_write_tevec_header(FILE *fp, uint64_t rows, uint64_t dim, uint64_t keys_size,
                          uint32_t flags)
{
	unsigned char h[TE_VEC_HEADER_SIZE] = {0};
	uint32_t version = 1, etype = 1;
	uint64_t koff = 0;

	if (keys_size && rows != TE_VEC_ROWS_STREAM)
		koff = TE_VEC_HEADER_SIZE + rows * dim * 4;
	memcpy(h, TE_VEC_MAGIC, 8);
	memcpy(h + 8, &version, 4);
	memcpy(h + 12, &etype, 4);
	memcpy(h + 16, &rows, 8);
	memcpy(h + 24, &dim, 8);
	memcpy(h + 32, &koff, 8);
	memcpy(h + 40, &keys_size, 8);
	memcpy(h + 48, &flags, 4);
	return fwrite(h, 1, sizeof h, fp) == sizeof h ? 0 : -1;
}

int
te_vec_write_tevec_row(FILE *fp, const float *x, size_t dim)
{
	return fwrite_unlocked(x, sizeof *x, dim, fp) == dim ? 0 : -1;
}

int
te_vec_write_tevec_key(FILE *fp, const char *key)
{
	size_t n = strlen(key) + 1;

	return fwrite_unlocked(key, 1, n, fp) == n ? 0 : -1;
}

int
te_vec_write_tokens_header(FILE *fp, size_t dim)
{
	return te_vec_write_tevec_header(fp, TE_VEC_ROWS_STREAM, dim, 0, TE_VEC_FLAG_TOKENS);
}

int
te_vec_write_tokens_doc(FILE *fp, const float *x, size_t rows, size_t dim)
{
	uint32_t c = (uint32_t)rows;

	if (rows > UINT32_MAX || fwrite_unlocked(&c, 4, 1, fp) != 1)
		return -1;
	return fwrite_unlocked(x, sizeof *x, rows * dim, fp) == rows * dim ? 0 : -1;
}

/* ----------------------------------------------------------- streams */

struct te_vecstream {
	te_reader *r;          /* text mode */
	FILE *fp;              /* binary mode */
	int own;
	int binary;
	int tokens;            /* binary: token-vector stream */
	size_t dim;            /* binary: from header; text: from the first row */
	char *name;
	float *buf;
	size_t cap;
	float *x;
	size_t xcap;
	char *key;
	size_t keycap;
	long rowno;
	uint64_t rows;         /* binary: rows the header gives (keys may follow
	                        * them), or TE_VEC_ROWS_STREAM: to the end */
	int eof;
};

static te_vecstream *
vecstream_init(FILE *fp, const char *name, int own, te_diag *d)
{
	te_vecstream *s = calloc(1, sizeof *s);
	int c;

	if (!s) {
		te_diag_set(d, name, 0, "out of memory");
		return NULL;
	}
	s->fp = fp;
	s->own = own;
	s->name = strdup(name);
	c = getc(fp);
	if (c == 'T') {
		unsigned char h[TE_VEC_HEADER_SIZE];
		uint32_t version, etype, flags;
		uint64_t rows, dim;

		h[0] = 'T';
		if (fread(h + 1, 1, sizeof h - 1, fp) == sizeof h - 1 &&
		    memcmp(h, TE_VEC_MAGIC, 8) == 0) {
			memcpy(&version, h + 8, 4);
			memcpy(&etype, h + 12, 4);
			memcpy(&rows, h + 16, 8);
			memcpy(&dim, h + 24, 8);
			memcpy(&flags, h + 48, 4);
			if (version != 1 || etype != 1 || dim == 0 || dim > (1u << 20)) {
				te_diag_set(d, name, 0, "bad TEVEC header");
				te_vecstream_close(s);
				return NULL;
			}
			s->binary = 1;
			s->tokens = (flags & TE_VEC_FLAG_TOKENS) != 0;
			s->dim = (size_t)dim;
			s->rows = s->tokens ? TE_VEC_ROWS_STREAM : rows;
			return s;
		}
		te_diag_set(d, name, 1, "input starts like a TEVEC file but its header is "
		            "damaged");
		te_vecstream_close(s);
		return NULL;
	}
	if (c != EOF)
		ungetc(c, fp);
	s->r = te_reader_from_fp(fp, name, '\n');
	if (!s->r) {
		te_vecstream_close(s);
		return NULL;
	}
	te_reader_strip_cr(s->r, 1);
	return s;
}

te_vecstream *
te_vecstream_from_fp(FILE *fp, const char *name, te_diag *d)
{
	return vecstream_init(fp, name ? name : "-", 0, d);
}

te_vecstream *
te_vecstream_open(const char *path, te_diag *d)
{
	FILE *fp;

	if (!path || strcmp(path, "-") == 0)
		return vecstream_init(stdin, "-", 0, d);
	fp = fopen(path, "r");
	if (!fp) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		return NULL;
	}
	return vecstream_init(fp, path, 1, d);
}

int
te_vecstream_is_binary(const te_vecstream *s)
{
	return s->binary;
}

long
te_vecstream_lineno(const te_vecstream *s)
{
	return s->r ? te_reader_lineno(s->r) : s->rowno;
}

/* Parse one text line into s->x; returns the count or -1. */
static long
text_vec(te_vecstream *s, char *line, size_t len, const char **key, te_diag *d)
{
	size_t ks = 0, cs = 0;
	long n;

	if (key) {
		long kl = te_vec_split_key(line, len, &cs, d);

		*key = NULL;
		if (kl < 0) {
			char msg[sizeof d->msg];

			memcpy(msg, d->msg, sizeof msg);
			return te_diag_set(d, s->name, te_vecstream_lineno(s), "%s", msg);
		}
		ks = (size_t)kl;
		if (cs == 0) {
			ks = 0;
		} else {
			if (ks + 1 > s->keycap) {
				char *nk = realloc(s->key, ks + 1);
				if (!nk)
					return te_diag_set(d, s->name, te_vecstream_lineno(s),
					                   "out of memory");
				s->key = nk;
				s->keycap = ks + 1;
			}
			memcpy(s->key, line, ks);
			s->key[ks] = '\0';
			*key = s->key;
		}
	}
	n = te_parse_floats(line + cs, len - cs, &s->x, &s->xcap, d);
	if (n < 0) {
		char msg[sizeof d->msg];

		/* d->msg cannot be both source and destination of the format */
		memcpy(msg, d->msg, sizeof msg);
		return te_diag_set(d, s->name, te_vecstream_lineno(s), "%s", msg);
	}
	return n;
}

/* Read up to n floats of a binary stream into s->buf, which grows as they
 * arrive (a count in the stream sizes nothing the data does not fill).
 * Returns how many were read, or (size_t)-1 when out of memory. */
static size_t
read_floats(te_vecstream *s, size_t n)
{
	size_t have = 0;

	do {
		size_t step = n - have < 65536 ? n - have : 65536, got;

		if (ut_grow((void **)&s->buf, &s->cap, have + step + 1, sizeof(float)) < 0)
			return (size_t)-1;
		got = fread(s->buf + have, sizeof(float), step, s->fp);
		have += got;
		if (got != step)
			break;
	} while (have < n);
	return have;
}

/* After a bad row (d says which): the rest of its document read and
 * dropped; 2 (-1 when the input itself fails). */
static int
skip_doc(te_vecstream *s, float **buf, size_t *rows, size_t *dim)
{
	te_diag e = {0};
	char *line;
	size_t len;
	int rc;

	while ((rc = te_reader_next(s->r, &line, &len, &e)) == 1 && len)
		;
	if (rc < 0)
		return -1;
	*buf = s->buf;
	*rows = 0;
	*dim = s->dim;
	return 2;
}

/* The next document of a binary stream.  Its framing is a count and the
 * rows it says, with no mark between documents: a count the data cannot
 * fill (a truncated or damaged file) leaves nothing to start reading again
 * from, so the stream stops there (-1, naming the document; tokemb(5));
 * a document holding a value that is not a finite number is framed all
 * the same: it is reported and skipped (2), as a bad text row is. */
static int
binary_doc(te_vecstream *s, float **buf, size_t *rows, size_t *dim, te_diag *d)
{
	uint32_t cnt;
	size_t got, bad;

	if (!s->tokens) {
		/* a plain vector stream: each vector is a one-token document, as
		 * many as the header says (the keys may follow them) */
		if (s->rows != TE_VEC_ROWS_STREAM && (uint64_t)s->rowno >= s->rows)
			return 0;
		cnt = 1;
	} else {
		got = fread(&cnt, 1, 4, s->fp);
		if (got == 0 && feof(s->fp))
			return 0;
		if (got != 4)
			return te_diag_set(d, s->name, 0, "truncated token-vector stream "
			                   "(document %ld: %zu of the 4 bytes of its count)",
			                   s->rowno + 1, got);
	}
	got = read_floats(s, (size_t)cnt * s->dim);
	if (got == (size_t)-1)
		return te_diag_set(d, s->name, 0, "out of memory");
	if (!s->tokens && got == 0 && feof(s->fp))
		return 0;
	if (got != (size_t)cnt * s->dim)
		return te_diag_set(d, s->name, 0, "truncated token-vector stream (document %ld: "
		                   "%lu rows of %zu said, %zu values there); a stream has no mark "
		                   "to go on from", s->rowno + 1, (unsigned long)cnt, s->dim, got);
	s->rowno++;
	*buf = s->buf;
	*dim = s->dim;
	if ((bad = first_nonfinite(s->buf, got)) < got) {
		*rows = 0;
		if (s->tokens)
			te_diag_set(d, s->name, 0, "document %ld: row %zu: a value that is not a "
			            "finite number", s->rowno, bad / s->dim + 1);
		else
			te_diag_set(d, s->name, 0, "vector %ld: component %zu is not a finite "
			            "number", s->rowno, bad + 1);
		return 2;
	}
	*rows = cnt;
	return 1;
}

int
te_vecstream_next_doc(te_vecstream *s, float **buf, size_t *rows, size_t *dim,
                      te_diag *d)
{
	size_t n = 0;

	if (s->binary)
		return binary_doc(s, buf, rows, dim, d);
	for (;;) {
		char *line;
		size_t len;
		int rc = te_reader_next(s->r, &line, &len, d);
		long k;

		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (n == 0)
				return 0;
			if (!s->eof) {
				/* a last document without its empty line is accepted */
				s->eof = 1;
			}
			break;
		}
		if (len == 0)
			break;
		k = text_vec(s, line, len, NULL, d);
		if (k == 0)
			te_diag_set(d, s->name, te_vecstream_lineno(s), "no numbers on a "
			            "token-vector line");
		if (k > 0 && s->dim == 0)
			s->dim = (size_t)k;
		if (k > 0 && (size_t)k != s->dim)
			te_diag_set(d, s->name, te_vecstream_lineno(s),
			            "%ld components, expected %zu", k, s->dim);
		if (k <= 0 || (size_t)k != s->dim)
			return skip_doc(s, buf, rows, dim);
		if (ut_grow((void **)&s->buf, &s->cap, (n + 1) * s->dim, sizeof(float)) < 0)
			return te_diag_set(d, s->name, te_vecstream_lineno(s), "out of memory");
		memcpy(s->buf + n * s->dim, s->x, s->dim * sizeof(float));
		n++;
	}
	*buf = s->buf;
	*rows = n;
	*dim = s->dim;
	return 1;
}

int
te_vecstream_next_vec(te_vecstream *s, float **buf, size_t *dim, const char **key,
                      te_diag *d)
{
	if (s->binary) {
		size_t rows;

		if (key)
			*key = NULL;
		if (s->tokens)
			return te_diag_set(d, s->name, 0, "a token-vector stream where vectors "
			                   "were expected");
		return te_vecstream_next_doc(s, buf, &rows, dim, d);
	}
	for (;;) {
		char *line;
		size_t len;
		int rc = te_reader_next(s->r, &line, &len, d);
		long k;

		if (rc <= 0)
			return rc;
		if (te_reader_lineno(s->r) == 1) {
			long long a, b;
			char tail;

			if (sscanf(line, "%lld %lld %c", &a, &b, &tail) == 2)
				continue; /* a word2vec header */
		}
		k = text_vec(s, line, len, key, d);
		if (k < 0)
			return -1;
		if (k == 0)
			return te_diag_set(d, s->name, te_vecstream_lineno(s), "empty vector");
		*buf = s->x;
		*dim = (size_t)k;
		return 1;
	}
}

void
te_vecstream_close(te_vecstream *s)
{
	if (!s)
		return;
	te_reader_close(s->r);
	if (s->own && s->fp)
		fclose(s->fp);
	free(s->name);
	free(s->buf);
	free(s->x);
	free(s->key);
	free(s);
}

/* ------------------------------------------------------------ writer */

int
te_vec_write_npy_header(FILE *fp, uint64_t rows, uint64_t dim)
{
	/* v1.0: magic, version, u16 header length, then the dictionary padded
	 * with spaces and a newline so that the data starts at byte 128 */
	unsigned char h[128];
	int n;

	memcpy(h, NPY_MAGIC "\x01\x00", 8);
	h[8] = 128 - 10;
	h[9] = 0;
	n = snprintf((char *)h + 10, sizeof h - 10, "{'descr': '<f4', 'fortran_order': "
	             "False, 'shape': (%llu, %llu), }", (unsigned long long)rows,
	             (unsigned long long)dim);
	if (n < 0 || n >= 117)
		return -1;
	memset(h + 10 + n, ' ', 117 - (size_t)n);
	h[127] = '\n';
	return fwrite(h, 1, sizeof h, fp) == sizeof h ? 0 : -1;
}

struct te_vecw {
	FILE *fp;            /* the output */
	FILE *tmp;           /* rows held until the count is known, or NULL */
	FILE *keys;          /* .npy's keys, one a line, or NULL */
	te_vec_format fmt;
	int keyed;
	size_t rows, dim;
	ut_buf kb;           /* TEVEC or word2vec binary: the keys, NUL-terminated */
	int end;             /* text and TSV: what ends a row */
};

te_vecw *
te_vecw_new(FILE *fp, te_vec_format fmt, int keyed, FILE *keys, te_diag *d)
{
	te_vecw *w;

	if (fmt == TE_VEC_FORMAT_NPY && keyed && !keys)
		return te_diag_set(d, NULL, 0, "a .npy file holds no keys: write them beside "
		                   "it (a named output file) or choose another format"), NULL;
	if (fmt == TE_VEC_FORMAT_W2V_BIN && !keyed)
		return te_diag_set(d, NULL, 0, "the word2vec binary format needs keys"), NULL;
	if (!(w = calloc(1, sizeof *w)))
		return te_diag_set(d, NULL, 0, "out of memory"), NULL;
	w->fp = fp;
	w->fmt = fmt == TE_VEC_FORMAT_AUTO ? TE_VEC_FORMAT_TEXT : fmt;
	w->keyed = keyed;
	w->keys = keys;
	w->end = '\n';
	if (fmt == TE_VEC_FORMAT_NPY || fmt == TE_VEC_FORMAT_W2V_BIN ||
	    (fmt == TE_VEC_FORMAT_TEVEC && keyed)) {
		if (!(w->tmp = tmpfile())) {
			te_diag_set(d, NULL, 0, "temporary file: %s", strerror(errno));
			free(w);
			return NULL;
		}
	}
	return w;
}

/* A key that the format can hold, or -1. */
static int
check_key(const te_vecw *w, const char *key, te_diag *d)
{
	const char *bad = w->fmt == TE_VEC_FORMAT_W2V_BIN ? " \n" :
	                  w->fmt == TE_VEC_FORMAT_TEVEC ? "" : "\t\n\r";

	if (!key)
		return te_diag_set(d, NULL, 0, "row %zu has no key", w->rows + 1);
	if (*bad && strpbrk(key, bad))
		return te_diag_set(d, NULL, 0, "key '%.200s' holds a character the %s format "
		                   "cannot: write TEVEC (--format tevec)", key,
		                   w->fmt == TE_VEC_FORMAT_W2V_BIN ? "word2vec binary" :
		                   w->fmt == TE_VEC_FORMAT_NPY ? ".npy keys" : "text");
	return 0;
}

void
te_vecw_set_end(te_vecw *w, int end)
{
	w->end = end;
}

int
te_vecw_put(te_vecw *w, const char *key, const float *x, size_t dim, te_diag *d)
{
	int rc = 0;

	if (w->rows && dim != w->dim)
		return te_diag_set(d, NULL, 0, "row %zu has %zu components, the rows before "
		                   "it %zu", w->rows + 1, dim, w->dim);
	if (w->keyed && check_key(w, key, d) < 0)
		return -1;
	if (!w->keyed)
		key = NULL;
	if (w->rows == 0 && w->fmt == TE_VEC_FORMAT_TEVEC && !w->keyed)
		rc = te_vec_write_tevec_header(w->fp, TE_VEC_ROWS_STREAM, dim, 0, 0);
	w->dim = dim;
	w->rows++;
	if (rc < 0)
		return te_diag_set(d, NULL, 0, "write error: %s", strerror(errno));
	switch (w->fmt) {
	case TE_VEC_FORMAT_TEXT:
	case TE_VEC_FORMAT_TSV:
		/* without a header a key that is a number needs the TSV form */
		if (key && (w->fmt == TE_VEC_FORMAT_TSV || looks_numeric(key, strlen(key)))) {
			fputs_unlocked(key, w->fp);
			putc_unlocked('\t', w->fp);
			key = NULL;
		}
		rc = te_vec_write_text_end(w->fp, key, x, dim, w->end);
		break;
	case TE_VEC_FORMAT_TEVEC:
	case TE_VEC_FORMAT_NPY:
	case TE_VEC_FORMAT_W2V_BIN:
		rc = te_vec_write_tevec_row(w->tmp ? w->tmp : w->fp, x, dim);
		if (key && w->keys)
			rc |= fputs(key, w->keys) < 0 || putc('\n', w->keys) == EOF ? -1 : 0;
		else if (key && ut_buf_put(&w->kb, key, strlen(key) + 1) < 0)
			return te_diag_set(d, NULL, 0, "out of memory");
		break;
	default:
		break;
	}
	return rc < 0 ? te_diag_set(d, NULL, 0, "write error: %s", strerror(errno)) : 0;
}

/* The held rows behind their header (and, for TEVEC, the keys after them). */
static int
vecw_finish(te_vecw *w)
{
	float *x = malloc((w->dim ? w->dim : 1) * sizeof *x);
	const char *k = w->kb.s;
	int rc;

	if (!x)
		return -1;
	rewind(w->tmp);
	if (w->fmt == TE_VEC_FORMAT_NPY)
		rc = te_vec_write_npy_header(w->fp, w->rows, w->dim);
	else if (w->fmt == TE_VEC_FORMAT_TEVEC)
		rc = te_vec_write_tevec_header(w->fp, w->rows, w->dim, w->kb.n, 0);
	else
		rc = te_vec_write_w2v_bin_header(w->fp, w->rows, w->dim);
	for (size_t i = 0; i < w->rows && rc == 0; i++) {
		if (fread(x, sizeof *x, w->dim, w->tmp) != w->dim)
			rc = -1;
		else if (w->fmt == TE_VEC_FORMAT_W2V_BIN)
			rc = te_vec_write_w2v_bin(w->fp, k, x, w->dim);
		else
			rc = te_vec_write_tevec_row(w->fp, x, w->dim);
		if (k)
			k += strlen(k) + 1;
	}
	if (rc == 0 && w->fmt == TE_VEC_FORMAT_TEVEC && w->kb.n &&
	    fwrite(w->kb.s, 1, w->kb.n, w->fp) != w->kb.n)
		rc = -1;
	free(x);
	return rc;
}

int
te_vecw_close(te_vecw *w, te_diag *d)
{
	int rc = 0;

	if (!w)
		return 0;
	if (w->tmp && (w->rows || w->fmt == TE_VEC_FORMAT_NPY))
		rc = vecw_finish(w);
	if (rc == 0 && (fflush(w->fp) != 0 || ferror(w->fp) ||
	                (w->keys && (fflush(w->keys) != 0 || ferror(w->keys)))))
		rc = -1;
	if (rc < 0)
		te_diag_set(d, NULL, 0, "write error: %s", strerror(errno ? errno : EIO));
	if (w->tmp)
		fclose(w->tmp);
	ut_buf_release(&w->kb);
	free(w);
	return rc;
}
