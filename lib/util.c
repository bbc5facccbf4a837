/* util.c: diagnostics, strict number parsing, UTF-8 checks, whole-file writes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokemb.h"
#include "util_int.h"

int
te_diag_set(te_diag *d, const char *file, long line, const char *fmt, ...)
{
	va_list ap;

	char fbuf[sizeof d->file], mbuf[sizeof d->msg];

	if (!d)
		return -1;
	/* through local buffers: callers may pass d->file or d->msg itself */
	snprintf(fbuf, sizeof fbuf, "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(mbuf, sizeof mbuf, fmt, ap);
	va_end(ap);
	memcpy(d->file, fbuf, sizeof fbuf);
	memcpy(d->msg, mbuf, sizeof mbuf);
	d->line = line;
	return -1;
}

#ifdef TE_CUDA
#define TE_BUILD_BLAS "BLAS: OpenBLAS (cblas); CUDA: yes (cuBLAS)"
#else
#define TE_BUILD_BLAS "BLAS: OpenBLAS (cblas); CUDA: no"
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TE_BUILD_SAN "; sanitizers: address"
#else
#define TE_BUILD_SAN ""
#endif

/* Compiled for the baseline; the vector kernels (emb, knn) are picked at
 * run time by what this CPU has, and so is what this names. */
const char *
te_build_info(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx512f"))
		return TE_BUILD_BLAS "; SIMD: AVX-512 (picked at run time)" TE_BUILD_SAN;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return TE_BUILD_BLAS "; SIMD: AVX2 (picked at run time)" TE_BUILD_SAN;
	return TE_BUILD_BLAS "; SIMD: SSE2 (x86-64 baseline)" TE_BUILD_SAN;
#elif defined(__aarch64__)
	return TE_BUILD_BLAS "; SIMD: NEON" TE_BUILD_SAN;
#else
	return TE_BUILD_BLAS "; SIMD: none" TE_BUILD_SAN;
#endif
}

int
te_parse_ll(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || end == s) {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < lo || v > hi) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int
te_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || end == s) {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || !isfinite(v)) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

/* The first byte from i on that is not ASCII, or n: 32 bytes at a time
 * while they are ASCII (most text), then byte by byte. */
static size_t
ascii_end(const unsigned char *s, size_t n, size_t i)
{
	const uint64_t hi = 0x8080808080808080u;

	for (; n - i >= 32; i += 32) {
		uint64_t w[4];

		memcpy(w, s + i, sizeof w);
		if ((w[0] | w[1] | w[2] | w[3]) & hi)
			break;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

size_t
te_utf8_valid_prefix(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned cp;

		if (c < 0x80) {
			i = ascii_end(s, n, i + 1);
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += k + 1;
	}
	return i;
}

int
te_utf8_valid(const char *s, size_t n)
{
	return te_utf8_valid_prefix(s, n) == n;
}

struct te_atomic {
	FILE *fp;
	char *path;
	char *tmp;
	int nosync;
};

void
ut_atomic_nosync(te_atomic *a)
{
	a->nosync = 1;
}

static pthread_once_t umask_once = PTHREAD_ONCE_INIT;
static mode_t umask_value;

static void
read_umask(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	unsigned m;

	if (fp) {
		while (fgets(line, sizeof line, fp))
			if (sscanf(line, "Umask: %o", &m) == 1) {
				umask_value = (mode_t)m & 0777;
				fclose(fp);
				return;
			}
		fclose(fp);
	}
	umask_value = umask(077);
	umask(umask_value);
}

/* The process's umask, read without changing it where the system allows
 * (umask(2) cannot read without setting, and setting races with threads
 * creating files): Linux's /proc/self/status says it; elsewhere it is
 * set and set back, once. */
static mode_t
process_umask(void)
{
	pthread_once(&umask_once, read_umask);
	return umask_value;
}

te_atomic *
te_atomic_open(const char *path, te_diag *d)
{
	te_atomic *a = calloc(1, sizeof *a);
	struct stat st;
	int fd;

	if (!a) {
		te_diag_set(d, path, 0, "out of memory");
		return NULL;
	}
	/* A device or a pipe (/dev/null, /dev/stdout, a FIFO) is written in
	 * place: renaming a temporary over it would replace the device node
	 * with a regular file. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		a->fp = fopen(path, "w");
		if (!a->fp || !(a->path = strdup(path))) {
			te_diag_set(d, path, 0, "%s", a->fp ? "out of memory" : strerror(errno));
			if (a->fp)
				fclose(a->fp);
			free(a);
			return NULL;
		}
		return a;
	}
	a->path = strdup(path);
	if (!a->path || asprintf(&a->tmp, "%s.tmp.XXXXXX", path) < 0) {
		free(a->path);
		free(a);
		te_diag_set(d, path, 0, "out of memory");
		return NULL;
	}
	fd = mkstemp(a->tmp);
	if (fd < 0) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		free(a->tmp);
		free(a->path);
		free(a);
		return NULL;
	}
	/* mkstemp creates 0600; the file gets the mode open(2) would give it */
	(void)fchmod(fd, 0666 & ~process_umask());
	a->fp = fdopen(fd, "w");
	if (!a->fp) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		close(fd);
		unlink(a->tmp);
		free(a->tmp);
		free(a->path);
		free(a);
		return NULL;
	}
	return a;
}

FILE *
te_atomic_fp(te_atomic *a)
{
	return a->fp;
}

int
te_atomic_commit(te_atomic *a, te_diag *d)
{
	int rc = 0;

	if (!a->tmp) {          /* written in place */
		if (fflush(a->fp) != 0 || ferror(a->fp)) {
			rc = te_diag_set(d, a->path, 0, "%s", strerror(errno ? errno : EIO));
			fclose(a->fp);
		} else if (fclose(a->fp) != 0) {
			rc = te_diag_set(d, a->path, 0, "%s", strerror(errno));
		}
		free(a->path);
		free(a);
		return rc;
	}
	if (fflush(a->fp) != 0 || ferror(a->fp) || (!a->nosync && fsync(fileno(a->fp)) != 0)) {
		rc = te_diag_set(d, a->path, 0, "%s", strerror(errno ? errno : EIO));
		fclose(a->fp);
	} else if (fclose(a->fp) != 0) {
		rc = te_diag_set(d, a->path, 0, "%s", strerror(errno));
	} else if (rename(a->tmp, a->path) != 0) {
		rc = te_diag_set(d, a->path, 0, "%s", strerror(errno));
	}
	if (rc)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	free(a);
	return rc;
}

void
te_atomic_abort(te_atomic *a)
{
	if (!a)
		return;
	fclose(a->fp);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	free(a);
}

char *
ut_read_file(const char *path, size_t max, size_t *len, te_diag *d)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap;

	if (!fp) {
		te_diag_set(d, path, 0, "%s", strerror(errno));
		return NULL;
	}
	/* the size is a hint: pipes and growing files are read to the end */
	cap = fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ?
	      (size_t)st.st_size + 1 : 65536;
	for (;;) {
		size_t got, want;

		if (!buf || n + 1 >= cap) {
			char *nb;

			if (buf)
				cap *= 2;
			if (!(nb = realloc(buf, cap))) {
				te_diag_set(d, path, 0, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		want = cap - n - 1;
		got = fread(buf + n, 1, want, fp);
		n += got;
		if (n > max) {
			te_diag_set(d, path, 0, "file is too large (over %zu bytes)", max);
			goto fail;
		}
		if (got < want)	/* the end, or an error */
			break;
	}
	if (ferror(fp)) {
		te_diag_set(d, path, 0, "read error: %s", strerror(errno ? errno : EIO));
		goto fail;
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(fp);
	free(buf);
	return NULL;
}
