/* emb_safetensors.c: memory-mapped, bounds-checked reading of safetensors files.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
 *  "__metadata__": {...}}, then the data; offsets are relative to 8 + N.
 * Nothing in a header is trusted: every offset, shape and size is checked
 * against the file before a byte of data is read. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "emb_int.h"
#include "util_int.h"

/* A header beyond this is not a real model (the largest real headers are a
 * few MB: one entry per tensor). */
#define EMB_ST_MAX_HEADER (100u << 20)

typedef struct emb_st_file {
	char *path;
	unsigned char *map;
	size_t size;
} emb_st_file;

typedef struct emb_st_conv {
	const emb_st_tensor *t;
	float *data;
} emb_st_conv;

struct emb_st_set {
	emb_st_file *files;
	size_t nfiles;
	emb_st_tensor *t;
	size_t n, cap;
	emb_st_conv *conv;
	size_t nconv, convcap;
	size_t conv_bytes;
	/* name index: sorted copy of pointers */
	emb_st_tensor **sorted;
};

static const struct {
	const char *name;
	emb_st_dtype t;
	size_t size;
} dtypes[] = {
	{"F64", EMB_ST_F64, 8}, {"F32", EMB_ST_F32, 4}, {"F16", EMB_ST_F16, 2}, {"BF16", EMB_ST_BF16, 2},
	{"I64", EMB_ST_I64, 8}, {"I32", EMB_ST_I32, 4}, {"I16", EMB_ST_I16, 2}, {"I8", EMB_ST_I8, 1},
	{"U8", EMB_ST_U8, 1}, {"BOOL", EMB_ST_BOOL, 1},
};

const char *
emb_st_dtype_name(emb_st_dtype t)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
		if (dtypes[i].t == t)
			return dtypes[i].name;
	return "?";
}

static size_t
dtype_size(emb_st_dtype t)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
		if (dtypes[i].t == t)
			return dtypes[i].size;
	return 0;
}

float
emb_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f,
	         man = h & 0x3ff, u;
	float f;

	if (exp == 0) {
		if (man == 0) {
			u = sign;
		} else {
			/* subnormal: normalise */
			exp = 127 - 15 + 1;
			while (!(man & 0x400)) {
				man <<= 1;
				exp--;
			}
			man &= 0x3ff;
			u = sign | exp << 23 | man << 13;
		}
	} else if (exp == 31) {
		u = sign | 0x7f800000u | man << 13;
	} else {
		u = sign | (exp + 127 - 15) << 23 | man << 13;
	}
	memcpy(&f, &u, 4);
	return f;
}

float
emb_bf16_to_float(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;

	memcpy(&f, &u, 4);
	return f;
}

static int
cmp_name(const void *a, const void *b)
{
	const emb_st_tensor *x = *(emb_st_tensor *const *)a, *y = *(emb_st_tensor *const *)b;

	return strcmp(x->name, y->name);
}

typedef struct span {
	uint64_t b, e;
	const char *name;
} span;

static int
cmp_span(const void *a, const void *b)
{
	const span *x = a, *y = b;

	return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

/* One tensor's header entry e (not __metadata__): dtype, shape and a span
 * [*ob, *oe) of the dsize data bytes that the shape fills exactly. */
static int
parse_entry(const cJSON *e, const emb_st_file *f, const unsigned char *data, uint64_t dsize,
            emb_st_tensor *t, uint64_t *ob, uint64_t *oe, te_diag *d)
{
	cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype"),
	      *sh = cJSON_GetObjectItemCaseSensitive(e, "shape"),
	      *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets"), *x;
	size_t k, es;
	uint64_t bytes;
	int found = 0;

	if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
	    cJSON_GetArraySize(of) != 2)
		return te_diag_set(d, f->path, 0, "tensor '%s': header entry lacks dtype, shape "
		                   "or data_offsets", e->string);
	for (k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++)
		if (strcmp(dt->valuestring, dtypes[k].name) == 0) {
			t->dtype = dtypes[k].t;
			found = 1;
		}
	if (!found)
		return te_diag_set(d, f->path, 0, "tensor '%s': unsupported dtype '%.20s'",
		                   e->string, dt->valuestring);
	es = dtype_size(t->dtype);
	if (cJSON_GetArraySize(sh) > EMB_ST_MAX_DIMS)
		return te_diag_set(d, f->path, 0, "tensor '%s': %d dimensions", e->string,
		                   cJSON_GetArraySize(sh));
	t->nelem = 1;
	for (x = sh->child; x; x = x->next) {
		long long v;

		if (!cJSON_IsNumber(x) || ut_int_of(x->valuedouble, 0, 9000000000000000, &v))
			return te_diag_set(d, f->path, 0, "tensor '%s': bad shape", e->string);
		t->shape[t->ndim++] = (uint64_t)v;
		if (t->shape[t->ndim - 1] && t->nelem > UINT64_MAX / 16 / t->shape[t->ndim - 1])
			return te_diag_set(d, f->path, 0, "tensor '%s': shape too large", e->string);
		t->nelem *= t->shape[t->ndim - 1];
	}
	{
		double b = cJSON_IsNumber(of->child) ? of->child->valuedouble : -1,
		       en = cJSON_IsNumber(of->child->next) ? of->child->next->valuedouble
		                                            : -1;

		if (b < 0 || en < 0 || b > 1.8e19 || en > 1.8e19 ||
		    b != (double)(uint64_t)b || en != (double)(uint64_t)en)
			return te_diag_set(d, f->path, 0, "tensor '%s': bad data_offsets", e->string);
		*ob = (uint64_t)b;
		*oe = (uint64_t)en;
	}
	bytes = t->nelem * es;
	if (*ob > *oe || *oe > dsize)
		return te_diag_set(d, f->path, 0, "tensor '%s': data_offsets [%llu, %llu] lie "
		                   "outside the %llu bytes of data (file truncated or header "
		                   "wrong)", e->string, (unsigned long long)*ob,
		                   (unsigned long long)*oe, (unsigned long long)dsize);
	if (*oe - *ob != bytes)
		return te_diag_set(d, f->path, 0, "tensor '%s': shape and dtype %s need %llu "
		                   "bytes, data_offsets give %llu", e->string, dt->valuestring,
		                   (unsigned long long)bytes, (unsigned long long)(*oe - *ob));
	t->data = data + *ob;
	t->nbytes = (size_t)bytes;
	t->file = f->path;
	return 0;
}

/* Parse and check one file's header, appending its tensors to s. */
static int
parse_file(emb_st_set *s, emb_st_file *f, te_diag *d)
{
	uint64_t hlen, dsize;
	const unsigned char *data;
	cJSON *root = NULL, *e;
	span *spans = NULL;
	size_t nspan = 0, first = s->n;
	int rc = -1;

	if (f->size < 8)
		return te_diag_set(d, f->path, 0, "not a safetensors file: %zu bytes, shorter "
		                   "than the 8-byte header length", f->size);
	memcpy(&hlen, f->map, 8); /* little-endian hosts only (x86-64, aarch64) */
	if (hlen > EMB_ST_MAX_HEADER || hlen > f->size - 8)
		return te_diag_set(d, f->path, 0, "not a safetensors file: header length "
		                   "%llu is absurd for a file of %zu bytes",
		                   (unsigned long long)hlen, f->size);
	if (hlen < 2 || f->map[8] != '{')
		return te_diag_set(d, f->path, 0, "not a safetensors file: the header is not "
		                   "a JSON object");
	data = f->map + 8 + hlen;
	dsize = f->size - 8 - hlen;
	root = cJSON_ParseWithLength((const char *)f->map + 8, (size_t)hlen);
	if (!root || !cJSON_IsObject(root)) {
		te_diag_set(d, f->path, 0, "safetensors header is not valid JSON");
		goto out;
	}
	for (e = root->child; e; e = e->next)
		nspan++;
	spans = calloc(nspan ? nspan : 1, sizeof *spans);
	if (!spans) {
		te_diag_set(d, f->path, 0, "out of memory");
		goto out;
	}
	nspan = 0;
	for (e = root->child; e; e = e->next) {
		emb_st_tensor t = {0};
		uint64_t ob = 0, oe = 0;

		if (!e->string) {
			te_diag_set(d, f->path, 0, "safetensors header: entry without a name");
			goto out;
		}
		if (strcmp(e->string, "__metadata__") == 0)
			continue;
		if (parse_entry(e, f, data, dsize, &t, &ob, &oe, d) < 0)
			goto out;
		t.name = strdup(e->string);
		if (!t.name)
			goto oom;
		spans[nspan].b = ob;
		spans[nspan].e = oe;
		spans[nspan].name = t.name;
		nspan++;
		if (s->n == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 64;
			emb_st_tensor *nt = realloc(s->t, nc * sizeof *nt);

			if (!nt) {
				free(t.name);
				goto oom;
			}
			s->t = nt;
			s->cap = nc;
		}
		s->t[s->n++] = t;
	}
	qsort(spans, nspan, sizeof *spans, cmp_span);
	for (size_t i = 1; i < nspan; i++)
		if (spans[i].b < spans[i - 1].e && spans[i].e > spans[i].b) {
			te_diag_set(d, f->path, 0, "tensors '%s' and '%s' overlap in the data",
			            spans[i - 1].name, spans[i].name);
			goto out;
		}
	rc = 0;
	goto out;
oom:
	te_diag_set(d, f->path, 0, "out of memory");
out:
	if (rc < 0) {
		for (size_t i = first; i < s->n; i++)
			free(s->t[i].name);
		s->n = first;
	}
	free(spans);
	cJSON_Delete(root);
	return rc;
}

static int
map_file(emb_st_set *s, const char *path, te_diag *d)
{
	emb_st_file *f, *nf;
	struct stat st;
	int fd;

	nf = realloc(s->files, (s->nfiles + 1) * sizeof *nf);
	if (!nf)
		return te_diag_set(d, path, 0, "out of memory");
	s->files = nf;
	f = &s->files[s->nfiles];
	memset(f, 0, sizeof *f);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return te_diag_set(d, path, 0, "%s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return te_diag_set(d, path, 0, "not a regular file");
	}
	f->size = (size_t)st.st_size;
	if (f->size) {
		f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (f->map == MAP_FAILED) {
			int e = errno;

			close(fd);
			f->map = NULL;
			return te_diag_set(d, path, 0, "%s", strerror(e));
		}
	}
	close(fd);
	f->path = strdup(path);
	s->nfiles++;
	if (!f->path)
		return te_diag_set(d, path, 0, "out of memory");
	return parse_file(s, f, d);
}

static int
finish(emb_st_set *s, te_diag *d)
{
	s->sorted = malloc((s->n ? s->n : 1) * sizeof *s->sorted);
	if (!s->sorted)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		s->sorted[i] = &s->t[i];
	qsort(s->sorted, s->n, sizeof *s->sorted, cmp_name);
	for (size_t i = 1; i < s->n; i++)
		if (strcmp(s->sorted[i]->name, s->sorted[i - 1]->name) == 0)
			return te_diag_set(d, s->sorted[i]->file, 0, "tensor '%s' appears twice",
			                   s->sorted[i]->name);
	return 0;
}

emb_st_set *
emb_st_open(const char *path, te_diag *d)
{
	emb_st_set *s = calloc(1, sizeof *s);

	if (!s) {
		te_diag_set(d, path, 0, "out of memory");
		return NULL;
	}
	if (map_file(s, path, d) < 0 || finish(s, d) < 0) {
		emb_st_close(s);
		return NULL;
	}
	return s;
}

emb_st_set *
emb_st_open_index(const char *index_path, te_diag *d)
{
	emb_st_set *s = NULL;
	cJSON *root = NULL, *wm, *e;
	char *text = NULL, *dir = NULL, *slash;
	char **shards = NULL;
	size_t nshards = 0, len = 0;
	FILE *fp = fopen(index_path, "rb");

	if (!fp) {
		te_diag_set(d, index_path, 0, "%s", strerror(errno));
		return NULL;
	}
	{
		size_t cap = 0, got;
		char buf[65536];

		while ((got = fread(buf, 1, sizeof buf, fp)) > 0) {
			char *nt;

			if (len + got > (64u << 20)) {
				te_diag_set(d, index_path, 0, "index file is too large");
				goto fail;
			}
			if (len + got + 1 > cap) {
				cap = (len + got + 1) * 2;
				nt = realloc(text, cap);
				if (!nt)
					goto oom;
				text = nt;
			}
			memcpy(text + len, buf, got);
			len += got;
		}
	}
	if (!text || ferror(fp)) {
		te_diag_set(d, index_path, 0, "cannot read the index file");
		goto fail;
	}
	root = cJSON_ParseWithLength(text, len);
	wm = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
	if (!cJSON_IsObject(wm)) {
		te_diag_set(d, index_path, 0, "not a safetensors index: no \"weight_map\" "
		            "object");
		goto fail;
	}
	dir = strdup(index_path);
	if (!dir)
		goto oom;
	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	for (e = wm->child; e; e = e->next) {
		size_t i;

		if (!cJSON_IsString(e) || strchr(e->valuestring, '/')) {
			te_diag_set(d, index_path, 0, "weight_map entry '%s' is not a file name "
			            "in the model directory", e->string ? e->string : "?");
			goto fail;
		}
		for (i = 0; i < nshards; i++)
			if (strcmp(shards[i], e->valuestring) == 0)
				break;
		if (i == nshards) {
			char **ns = realloc(shards, (nshards + 1) * sizeof *ns);

			if (!ns)
				goto oom;
			shards = ns;
			shards[nshards++] = e->valuestring;
		}
	}
	if (nshards == 0) {
		te_diag_set(d, index_path, 0, "the index names no shard files");
		goto fail;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		goto oom;
	for (size_t i = 0; i < nshards; i++) {
		char *p;

		if (asprintf(&p, "%s%s", dir, shards[i]) < 0)
			goto oom;
		if (map_file(s, p, d) < 0) {
			free(p);
			goto fail;
		}
		free(p);
	}
	if (finish(s, d) < 0)
		goto fail;
	/* every tensor the index names must be in the shard it names */
	for (e = wm->child; e; e = e->next) {
		const emb_st_tensor *t = emb_st_find(s, e->string);

		if (!t) {
			te_diag_set(d, index_path, 0, "tensor '%s' is in the index but not in "
			            "shard '%s'", e->string, e->valuestring);
			goto fail;
		}
	}
	goto done;
oom:
	te_diag_set(d, index_path, 0, "out of memory");
fail:
	emb_st_close(s);
	s = NULL;
done:
	fclose(fp);
	free(shards);
	free(dir);
	cJSON_Delete(root);
	free(text);
	return s;
}

void
emb_st_close(emb_st_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++) {
		if (s->files[i].map)
			munmap(s->files[i].map, s->files[i].size);
		free(s->files[i].path);
	}
	for (size_t i = 0; i < s->n; i++)
		free(s->t[i].name);
	for (size_t i = 0; i < s->nconv; i++)
		free(s->conv[i].data);
	free(s->conv);
	free(s->files);
	free(s->t);
	free(s->sorted);
	free(s);
}

const emb_st_tensor *
emb_st_find(const emb_st_set *s, const char *name)
{
	size_t lo = 0, hi = s->n;

	if (!s->sorted)
		return NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->sorted[mid]->name, name);

		if (c == 0)
			return s->sorted[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t emb_st_count(const emb_st_set *s) { return s->n; }
const emb_st_tensor *emb_st_at(const emb_st_set *s, size_t i) { return &s->t[i]; }
size_t emb_st_converted_bytes(const emb_st_set *s) { return s->conv_bytes; }

const float *
emb_st_f32_any(emb_st_set *s, const emb_st_tensor *t, te_diag *d)
{
	float *out;

	if (t->dtype == EMB_ST_F32 && ((uintptr_t)t->data & 3) == 0)
		return (const float *)t->data;
	for (size_t i = 0; i < s->nconv; i++)
		if (s->conv[i].t == t)
			return s->conv[i].data;
	if (t->dtype != EMB_ST_F32 && t->dtype != EMB_ST_F16 && t->dtype != EMB_ST_BF16 &&
	    t->dtype != EMB_ST_F64 && t->dtype != EMB_ST_I8) {
		te_diag_set(d, t->file, 0, "tensor '%s' has dtype %s, expected a float type "
		            "(F32, F16, BF16)", t->name, emb_st_dtype_name(t->dtype));
		return NULL;
	}
	if (t->nelem > SIZE_MAX / sizeof(float)) {
		te_diag_set(d, t->file, 0, "tensor '%s' is too large", t->name);
		return NULL;
	}
	out = malloc(t->nelem ? t->nelem * sizeof *out : 1);
	if (!out) {
		te_diag_set(d, t->file, 0, "out of memory converting '%s'", t->name);
		return NULL;
	}
	for (uint64_t i = 0; i < t->nelem; i++) {
		const unsigned char *p = t->data + i * dtype_size(t->dtype);

		switch (t->dtype) {
		case EMB_ST_F32:
			memcpy(&out[i], p, 4);
			break;
		case EMB_ST_F16:
		case EMB_ST_BF16: {
			uint16_t h;

			memcpy(&h, p, 2);
			out[i] = t->dtype == EMB_ST_F16 ? emb_half_to_float(h) : emb_bf16_to_float(h);
			break;
		}
		case EMB_ST_F64: {
			double x;

			memcpy(&x, p, 8);
			out[i] = (float)x;
			break;
		}
		case EMB_ST_I8:
			out[i] = (float)(int8_t)*p;
			break;
		default:
			break;
		}
	}
	if (s->nconv == s->convcap) {
		size_t nc = s->convcap ? s->convcap * 2 : 32;
		emb_st_conv *n2 = realloc(s->conv, nc * sizeof *n2);

		if (!n2) {
			free(out);
			te_diag_set(d, t->file, 0, "out of memory");
			return NULL;
		}
		s->conv = n2;
		s->convcap = nc;
	}
	s->conv[s->nconv].t = t;
	s->conv[s->nconv].data = out;
	s->nconv++;
	s->conv_bytes += t->nelem * sizeof *out;
	return out;
}

const emb_st_tensor *
emb_st_shaped(emb_st_set *s, const char *name, int ndim, const uint64_t *want, te_diag *d)
{
	const emb_st_tensor *t = emb_st_find(s, name);
	int skip = 0;

	if (!t) {
		te_diag_set(d, s->nfiles ? s->files[0].path : NULL, 0,
		            "tensor '%s' is missing", name);
		return NULL;
	}
	if (t->ndim == ndim + 1 && t->shape[0] == 1)
		skip = 1;
	if (t->ndim - skip != ndim)
		goto bad;
	for (int i = 0; i < ndim; i++)
		if (t->shape[i + skip] != want[i])
			goto bad;
	if (t->dtype != EMB_ST_F32 && t->dtype != EMB_ST_F16 && t->dtype != EMB_ST_BF16) {
		te_diag_set(d, t->file, 0, "tensor '%s' has dtype %s, expected F32, F16 or "
		            "BF16", name, emb_st_dtype_name(t->dtype));
		return NULL;
	}
	return t;
bad: {
	char got[160] = "", exp[160] = "";
	size_t gl = 0, el = 0;

	for (int i = 0; i < t->ndim && gl < sizeof got - 24; i++)
		gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%llu", i ? ", " : "",
		                       (unsigned long long)t->shape[i]);
	for (int i = 0; i < ndim && el < sizeof exp - 24; i++)
		el += (size_t)snprintf(exp + el, sizeof exp - el, "%s%llu", i ? ", " : "",
		                       (unsigned long long)want[i]);
	te_diag_set(d, t->file, 0, "tensor '%s' has shape [%s], config.json implies [%s]",
	            name, got, exp);
	return NULL;
}
}

const float *
emb_st_f32(emb_st_set *s, const char *name, int ndim, const uint64_t *want, te_diag *d)
{
	const emb_st_tensor *t = emb_st_shaped(s, name, ndim, want, d);

	return t ? emb_st_f32_any(s, t, d) : NULL;
}

void
emb_st_row_f32(const emb_st_tensor *t, size_t row, size_t cols, float *out)
{
	const unsigned char *p = t->data + row * cols * dtype_size(t->dtype);

	for (size_t i = 0; i < cols; i++) {
		uint16_t h;

		if (t->dtype == EMB_ST_F32) {
			memcpy(&out[i], p + 4 * i, 4);
			continue;
		}
		memcpy(&h, p + 2 * i, 2);
		out[i] = t->dtype == EMB_ST_F16 ? emb_half_to_float(h) : emb_bf16_to_float(h);
	}
}
