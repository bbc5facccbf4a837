/* spm.c: SentencePiece models: the .model file (a protobuf ModelProto read
 * by hand), its normalizer, BPE and Unigram encoding, and decoding, all as
 * SentencePieceProcessor does by default. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "spm_int.h"
#include "util_int.h"

#define SPACE_SYM "\xe2\x96\x81"	/* U+2581, sentencepiece's space */
#define REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD */


static inline size_t
mhash(uint64_t k, size_t mask)
{
	return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 24) & mask;
}

static inline int32_t
merge_get(const tk_spm *m, int32_t l, int32_t r)
{
	uint64_t k = ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;
	size_t mask = m->mcap - 1, h = mhash(k, mask);

	for (;;) {
		if (m->mt[h].key == k)
			return m->mt[h].val;
		if (!m->mt[h].key)
			return -1;
		h = (h + 1) & mask;
	}
}

static int
build_merges(tk_spm *m)
{
	struct mslot *kv = NULL, *nv;
	size_t count = 0, cap = 0, mask;

	/* one walk of the pieces, the pairs kept in order, then the table */
	for (size_t i = 0; i < m->n; i++) {
		const tk_strie *t = &m->pieces;
		uint32_t nd = 0;
		int32_t self = tk_strie_get(t, m->piece[i], m->plen[i]);

		if (self != (int32_t)i)
			continue;
		for (size_t k = 1; k < m->plen[i]; k++) {
			int32_t l, r;

			nd = tk_strie_next(t, nd, (unsigned char)m->piece[i][k - 1]);
			if (!nd)
				break;
			l = t->value[nd];
			if (l < 0)
				continue;
			r = tk_strie_get(t, m->piece[i] + k, m->plen[i] - k);
			if (r < 0)
				continue;
			if (count == cap) {
				cap = cap ? 2 * cap : 4096;
				if (!(nv = realloc(kv, cap * sizeof *kv))) {
					free(kv);
					return -1;
				}
				kv = nv;
			}
			kv[count].key = ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;
			kv[count++].val = (int32_t)i;
		}
	}
	m->mcap = 1024;
	while (m->mcap < 2 * count + 2)
		m->mcap *= 2;
	mask = m->mcap - 1;
	if (!(m->mt = calloc(m->mcap, sizeof *m->mt))) {
		free(kv);
		return -1;
	}
	for (size_t j = 0; j < count; j++) {
		size_t h = mhash(kv[j].key, mask);

		while (m->mt[h].key && m->mt[h].key != kv[j].key)
			h = (h + 1) & mask;
		m->mt[h] = kv[j];
	}
	free(kv);
	return 0;
}

/* ------------------------------------------------------------ building */

/* Add piece i of in to m, its text at *pp (moved past it). */
static int
add_piece(tk_spm *m, const tk_spm_init *in, size_t i, char **pp, const char *name, te_diag *d)
{
	char *p = *pp;
	size_t l = in->lens ? in->lens[i] : strlen(in->pieces[i]);
	int t = in->types ? in->types[i] : TK_SPM_TYPE_NORMAL;
	tk_strie *tr;

	if (t < TK_SPM_TYPE_NORMAL || t > TK_SPM_TYPE_BYTE)
		t = TK_SPM_TYPE_NORMAL;
	memcpy(p, in->pieces[i], l);
	p[l] = '\0';
	m->piece[i] = p;
	m->plen[i] = l;
	*pp = p + l + 1;
	m->score[i] = in->scores ? in->scores[i] : 0.0f;
	m->type[i] = (uint8_t)t;
	if (l == 0) {
		te_diag_set(d, name, 0, "piece %zu is empty", i);
		return -1;
	}
	tr = t == TK_SPM_TYPE_NORMAL || t == TK_SPM_TYPE_USER_DEFINED ||
	     t == TK_SPM_TYPE_UNUSED ? &m->pieces : &m->reserved;
	if (tk_strie_get(tr, m->piece[i], l) >= 0) {
		te_diag_set(d, name, 0, "piece %zu '%s' is already defined", i,
		            m->piece[i]);
		return -1;
	}
	if (tk_strie_insert(tr, m->piece[i], l, (int32_t)i, 0) < 0)
		return te_diag_set(d, name, 0, "out of memory");
	if (t == TK_SPM_TYPE_USER_DEFINED) {
		m->has_user = 1;
		if (tk_strie_insert(&m->user, m->piece[i], l, (int32_t)i, 0) < 0)
			return te_diag_set(d, name, 0, "out of memory");
	}
	if (t == TK_SPM_TYPE_UNUSED)
		m->has_unused = 1;
	if (t == TK_SPM_TYPE_UNKNOWN) {
		if (m->unk_id >= 0) {
			te_diag_set(d, name, 0, "unk is already defined (pieces %d "
			            "and %zu)", m->unk_id, i);
			return -1;
		}
		m->unk_id = (int32_t)i;
	}
	if (t == TK_SPM_TYPE_BYTE) {
		const char *s = m->piece[i];

		/* two hex digits exactly: sscanf's %X would take a sign */
		if (l != 6 || memcmp(s, "<0x", 3) || !isxdigit((unsigned char)s[3]) ||
		    !isxdigit((unsigned char)s[4]) || s[5] != '>') {
			te_diag_set(d, name, 0, "byte piece %zu '%s' is not <0xXX>",
			            i, m->piece[i]);
			return -1;
		}
		m->byte_id[strtoul(s + 3, NULL, 16) & 0xff] = (int32_t)i;
	}
	return 0;
}

/* Whether every score of m is finite (its exponent not all ones): four at
 * a time with SSE2, as a cached model's load asks it of all. */
static int
all_finite(const float *v, size_t n)
{
	size_t i = 0;
	uint32_t bad = 0, u;

#ifdef __SSE2__
	const __m128i ex = _mm_set1_epi32(0x7f800000);
	__m128i acc = _mm_setzero_si128();

	for (; i + 4 <= n; i += 4) {
		__m128i x = _mm_and_si128(_mm_loadu_si128((const __m128i *)(v + i)), ex);

		acc = _mm_or_si128(acc, _mm_cmpeq_epi32(x, ex));
	}
	bad = (uint32_t)_mm_movemask_epi8(acc);
#endif
	for (; i < n; i++) {
		memcpy(&u, v + i, sizeof u);
		bad |= (u & 0x7f800000) == 0x7f800000;
	}
	return !bad;
}

int
tk_spm_lattice_finite(const tk_spm *m)
{
	if (all_finite(m->score, m->n))
		return 1;
	for (size_t i = 0; i < m->n; i++)
		if ((m->type[i] == TK_SPM_TYPE_NORMAL || m->type[i] == TK_SPM_TYPE_USER_DEFINED) &&
		    !isfinite(m->score[i]))
			return 0;
	return 1;
}

/* Whether a Unigram model's text may be cut into words before each space
 * symbol (tk_unigram_word_run): no lattice piece holds the symbol, or at
 * its end the first bytes of one, past its first byte; and the scores are
 * finite, as the bound of tk_unigram_word_best needs. */
static int
uni_cuttable(const tk_spm *m)
{
	const char *sp = m->escape_ws ? SPACE_SYM : " ";
	size_t sl = m->escape_ws ? 3 : 1;

	if (!tk_spm_lattice_finite(m))
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		int t = m->type[i];

		if (t != TK_SPM_TYPE_NORMAL && t != TK_SPM_TYPE_USER_DEFINED)
			continue;
		for (size_t k = 1; k < m->plen[i]; k++)
			if (m->piece[i][k] == sp[0] &&
			    memcmp(m->piece[i] + k, sp, m->plen[i] - k < sl ? m->plen[i] - k : sl) == 0)
				return 0;
	}
	return 1;
}

/* Whether a BPE model's text may be cut into words at whitespace runs:
 * no piece holds the space symbol but at its start or after another. */
static int
bpe_cuttable(const tk_spm *m)
{
	const char *sp = m->escape_ws ? SPACE_SYM : " ";
	size_t sl = m->escape_ws ? 3 : 1;

	if (m->has_unused)
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		int t = m->type[i];

		if (t != TK_SPM_TYPE_NORMAL && t != TK_SPM_TYPE_USER_DEFINED)
			continue;
		for (size_t k = sl; k + sl <= m->plen[i]; k++)
			if (memcmp(m->piece[i] + k, sp, sl) == 0 &&
			    memcmp(m->piece[i] + k - sl, sp, sl) != 0)
				return 0;
	}
	return 1;
}

int
tk_spm_engine(tk_spm *m, const char *name, te_diag *d)
{
	if (m->model_type == TK_SPM_MODEL_UNIGRAM) {
		double *sc = malloc(m->n * sizeof *sc);

		if (!sc)
			return te_diag_set(d, name, 0, "out of memory");
		for (size_t i = 0; i < m->n; i++)
			sc[i] = m->score[i];
		/* m->pieces is the lattice's trie when no piece in it is UNUSED */
		m->uni = m->has_unused ?
		         tk_unigram_new(m->n, (const char *const *)m->piece, m->plen,
		                        sc, m->type, m->unk_id, 0, TK_UNIGRAM_SPM, d) :
		         tk_unigram_new_on(&m->pieces, m->n, (const char *const *)m->piece,
		                           m->plen, sc, m->type, m->unk_id, d);
		free(sc);
		if (!m->uni)
			return -1;
	} else if (build_merges(m) < 0) {
		return te_diag_set(d, name, 0, "out of memory");
	}
	return 0;
}

int
tk_spm_ws_cut(const tk_spm *m)
{
	return m->model_type == TK_SPM_MODEL_UNIGRAM ? uni_cuttable(m) : bpe_cuttable(m);
}

uint32_t
tk_spm_serial(void)
{
	static uint32_t last;
	uint32_t k;

	while (!(k = __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED)))
		;
	return k;
}

tk_spm *
tk_spm_new(const tk_spm_init *in, const char *name, te_diag *d)
{
	tk_spm *m = calloc(1, sizeof *m);
	size_t total = 0;
	char *p;

	if (!name)
		name = "";
	if (!m)
		goto nomem;
	if (in->n == 0 || in->n > INT32_MAX) {
		te_diag_set(d, name, 0, "model has %zu pieces", in->n);
		goto fail;
	}
	if (in->model_type != TK_SPM_MODEL_BPE &&
	    in->model_type != TK_SPM_MODEL_UNIGRAM) {
		te_diag_set(d, name, 0, "model type %d is not supported (only "
		            "UNIGRAM and BPE)", in->model_type);
		goto fail;
	}
	m->n = in->n;
	m->serial = tk_spm_serial();
	m->model_type = in->model_type;
	m->byte_fallback = in->byte_fallback;
	m->add_dummy_prefix = in->add_dummy_prefix;
	m->remove_extra_ws = in->remove_extra_whitespaces;
	m->escape_ws = in->escape_whitespaces;
	m->ws_suffix = in->treat_whitespace_as_suffix;
	m->normalizer_name = strdup(in->normalizer_name ? in->normalizer_name : "");
	m->unk_surface = strdup(in->unk_surface ? in->unk_surface : " \xe2\x81\x87 ");
	for (size_t i = 0; i < in->n; i++)
		total += (in->lens ? in->lens[i] : strlen(in->pieces[i])) + 1;
	m->pool = malloc(total);
	m->piece = malloc(in->n * sizeof *m->piece);
	m->plen = malloc(in->n * sizeof *m->plen);
	m->score = malloc(in->n * sizeof *m->score);
	m->type = malloc(in->n);
	if (!m->normalizer_name || !m->unk_surface || !m->pool || !m->piece ||
	    !m->plen || !m->score || !m->type || tk_strie_init(&m->pieces) < 0 ||
	    tk_strie_init(&m->reserved) < 0 || tk_strie_init(&m->user) < 0)
		goto nomem;
	for (int i = 0; i < 256; i++)
		m->byte_id[i] = -1;
	m->unk_id = -1;
	p = m->pool;
	for (size_t i = 0; i < in->n; i++)
		if (add_piece(m, in, i, &p, name, d) < 0)
			goto fail;
	if (m->unk_id < 0) {
		te_diag_set(d, name, 0, "unk is not defined (no piece of type UNKNOWN)");
		goto fail;
	}
	/* a failed compile leaves the hashed trie working */
	tk_strie_compile(&m->pieces);
	tk_strie_compile(&m->reserved);
	tk_strie_compile(&m->user);
	m->shadowed = calloc(m->n, 1);
	if (!m->shadowed)
		goto nomem;
	for (size_t i = 0; i < m->n; i++)
		m->shadowed[i] = tk_strie_get(&m->reserved, m->piece[i], m->plen[i]) >= 0;
	if (m->byte_fallback) {
		for (int b = 0; b < 256; b++)
			if (m->byte_id[b] < 0) {
				te_diag_set(d, name, 0, "byte_fallback is set but there is "
				            "no piece <0x%02X>", b);
				goto fail;
			}
	}
	m->bos_id = in->bos_id >= 0 && (size_t)in->bos_id < m->n ? in->bos_id : -1;
	m->eos_id = in->eos_id >= 0 && (size_t)in->eos_id < m->n ? in->eos_id : -1;
	m->pad_id = in->pad_id >= 0 && (size_t)in->pad_id < m->n ? in->pad_id : -1;
	if (in->charsmap && in->charsmap_len) {
		if (!(m->charsmap = malloc(in->charsmap_len)))
			goto nomem;
		memcpy(m->charsmap, in->charsmap, in->charsmap_len);
		m->charsmap_len = in->charsmap_len;
		m->pc = tk_precompiled_new(in->charsmap, in->charsmap_len, d);
		if (!m->pc) {
			char msg[sizeof d->msg];

			if (d) {
				snprintf(msg, sizeof msg, "%s", d->msg);
				te_diag_set(d, name, 0, "normalizer: %s", msg);
			}
			goto fail;
		}
	}
	tk_spm_norm_init(m);
	if (tk_spm_engine(m, name, d) < 0)
		goto fail;
	m->ws_cut = tk_spm_ws_cut(m);
	return m;
nomem:
	te_diag_set(d, name, 0, "out of memory");
fail:
	tk_spm_free(m);
	return NULL;
}

void
tk_spm_free(tk_spm *m)
{
	if (!m)
		return;
	free(m->piece);
	free(m->normalizer_name);
	free(m->unk_surface);
	free(m->charsmap);
	tk_precompiled_free(m->pc);
	tk_unigram_free(m->uni);
	if (m->map) {
		munmap(m->map, m->map_len);
		free(m);
		return;
	}
	free(m->plen);
	free(m->score);
	free(m->type);
	free(m->pool);
	tk_strie_release(&m->pieces);
	tk_strie_release(&m->reserved);
	tk_strie_release(&m->user);
	free(m->mt);
	free(m->shadowed);
	free(m);
}

/* ------------------------------------------------------------- protobuf */

typedef struct pb {
	const unsigned char *p, *end, *base;
	const char *name;
	te_diag *d;
} pb;

static int
pb_varint(pb *b, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		unsigned char c;

		if (b->p >= b->end)
			return te_diag_set(b->d, b->name, 0, "truncated varint at byte %ld",
			                   (long)(b->p - b->base));
		c = *b->p++;
		r |= (uint64_t)(c & 0x7F) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return te_diag_set(b->d, b->name, 0, "varint too long at byte %ld",
	                   (long)(b->p - b->base));
}

/* Read one field key and, for length-delimited fields, the sub-range. */
static int
pb_field(pb *b, uint32_t *field, int *wt, const unsigned char **sub,
         size_t *sublen, uint64_t *val)
{
	uint64_t key;

	if (pb_varint(b, &key) < 0)
		return -1;
	*field = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	if (*field == 0)
		return te_diag_set(b->d, b->name, 0, "field number 0 at byte %ld",
		                   (long)(b->p - b->base));
	switch (*wt) {
	case 0:
		return pb_varint(b, val);
	case 1:
		if (b->end - b->p < 8)
			goto trunc;
		memcpy(val, b->p, 8);
		b->p += 8;
		return 0;
	case 5: {
		uint32_t v32;

		if (b->end - b->p < 4)
			goto trunc;
		v32 = (uint32_t)b->p[0] | (uint32_t)b->p[1] << 8 |
		      (uint32_t)b->p[2] << 16 | (uint32_t)b->p[3] << 24;
		*val = v32;
		b->p += 4;
		return 0;
	}
	case 2: {
		uint64_t len;

		if (pb_varint(b, &len) < 0)
			return -1;
		if (len > (uint64_t)(b->end - b->p))
			goto trunc;
		*sub = b->p;
		*sublen = (size_t)len;
		b->p += len;
		return 0;
	}
	default:
		return te_diag_set(b->d, b->name, 0, "unsupported wire type %d at "
		                   "byte %ld", *wt, (long)(b->p - b->base));
	}
trunc:
	return te_diag_set(b->d, b->name, 0, "truncated field %u at byte %ld",
	                   *field, (long)(b->p - b->base));
}

typedef struct protomodel {
	size_t n, cap;
	const char **pieces;
	size_t *lens;
	float *scores;
	uint8_t *types;
	tk_spm_init init;
	const char *str[5];     /* unk_surface, unk, bos, eos, pad pieces */
	size_t strlen_[5];
	char *own[6];
} protomodel;

static int
parse_piece(pb *outer, protomodel *pm, const unsigned char *s, size_t n)
{
	pb b = {s, s + n, outer->base, outer->name, outer->d};
	const char *str = NULL;
	size_t len = 0;
	float score = 0;
	uint64_t type = TK_SPM_TYPE_NORMAL;

	while (b.p < b.end) {
		uint32_t f;
		int wt;
		const unsigned char *sub = NULL;
		size_t sl = 0;
		uint64_t v = 0;

		if (pb_field(&b, &f, &wt, &sub, &sl, &v) < 0)
			return -1;
		if (f == 1 && wt == 2) {
			str = (const char *)sub;
			len = sl;
		} else if (f == 2 && wt == 5) {
			uint32_t v32 = (uint32_t)v;

			memcpy(&score, &v32, 4);
		} else if (f == 3 && wt == 0)
			type = v;
	}
	if (pm->n == pm->cap) {
		size_t nc = pm->cap ? 2 * pm->cap : 1024;
		const char **np = realloc(pm->pieces, nc * sizeof *np);
		size_t *nl;
		float *ns;
		uint8_t *nt;

		if (!np)
			return -1;
		pm->pieces = np;
		if (!(nl = realloc(pm->lens, nc * sizeof *nl)))
			return -1;
		pm->lens = nl;
		if (!(ns = realloc(pm->scores, nc * sizeof *ns)))
			return -1;
		pm->scores = ns;
		if (!(nt = realloc(pm->types, nc)))
			return -1;
		pm->types = nt;
		pm->cap = nc;
	}
	if (!str) {
		str = "";
		len = 0;
	}
	if (type < 1 || type > 6)
		return te_diag_set(outer->d, outer->name, 0, "piece %zu has unknown "
		                   "type %llu", pm->n, (unsigned long long)type);
	pm->pieces[pm->n] = str;
	pm->lens[pm->n] = len;
	pm->scores[pm->n] = score;
	pm->types[pm->n] = (uint8_t)type;
	pm->n++;
	return 0;
}

static int
parse_trainer(pb *outer, protomodel *pm, const unsigned char *s, size_t n)
{
	pb b = {s, s + n, outer->base, outer->name, outer->d};

	while (b.p < b.end) {
		uint32_t f;
		int wt;
		const unsigned char *sub = NULL;
		size_t sl = 0;
		uint64_t v = 0;

		if (pb_field(&b, &f, &wt, &sub, &sl, &v) < 0)
			return -1;
		if (wt == 0) {
			switch (f) {
			case 3: pm->init.model_type = (int)v; break;
			case 35: pm->init.byte_fallback = v != 0; break;
			case 24: pm->init.treat_whitespace_as_suffix = v != 0; break;
			case 41: pm->init.bos_id = (int32_t)(int64_t)v; break;
			case 42: pm->init.eos_id = (int32_t)(int64_t)v; break;
			case 43: pm->init.pad_id = (int32_t)(int64_t)v; break;
			}
		} else if (wt == 2) {
			int k = f == 44 ? 0 : f == 45 ? 1 : f == 46 ? 2 : f == 47 ? 3 :
			        f == 48 ? 4 : -1;

			if (k >= 0) {
				pm->str[k] = (const char *)sub;
				pm->strlen_[k] = sl;
			}
		}
	}
	return 0;
}

static int
parse_normalizer(pb *outer, protomodel *pm, const unsigned char *s, size_t n)
{
	pb b = {s, s + n, outer->base, outer->name, outer->d};

	while (b.p < b.end) {
		uint32_t f;
		int wt;
		const unsigned char *sub = NULL;
		size_t sl = 0;
		uint64_t v = 0;

		if (pb_field(&b, &f, &wt, &sub, &sl, &v) < 0)
			return -1;
		if (wt == 2 && f == 1) {
			free(pm->own[5]);
			pm->own[5] = strndup((const char *)sub, sl);
			if (!pm->own[5])
				return -1;
			pm->init.normalizer_name = pm->own[5];
		} else if (wt == 2 && f == 2) {
			pm->init.charsmap = sub;
			pm->init.charsmap_len = sl;
		} else if (wt == 0 && f == 3)
			pm->init.add_dummy_prefix = v != 0;
		else if (wt == 0 && f == 4)
			pm->init.remove_extra_whitespaces = v != 0;
		else if (wt == 0 && f == 5)
			pm->init.escape_whitespaces = v != 0;
	}
	return 0;
}

static int32_t
find_piece(const protomodel *pm, const char *s, size_t len, int want_type)
{
	for (size_t i = 0; i < pm->n; i++)
		if (pm->lens[i] == len && memcmp(pm->pieces[i], s, len) == 0)
			return pm->types[i] == want_type ? (int32_t)i : -1;
	return -1;
}

tk_spm *
tk_spm_load_mem(const void *buf, size_t n, const char *name, te_diag *d)
{
	protomodel pm;
	pb b = {buf, (const unsigned char *)buf + n, buf, name ? name : "", d};
	tk_spm *m = NULL;
	static const char *defaults[5] = {NULL, "<unk>", "<s>", "</s>", "<pad>"};

	memset(&pm, 0, sizeof pm);
	pm.init.model_type = TK_SPM_MODEL_UNIGRAM;
	pm.init.bos_id = 1;
	pm.init.eos_id = 2;
	pm.init.pad_id = -1;
	pm.init.add_dummy_prefix = 1;
	pm.init.remove_extra_whitespaces = 1;
	pm.init.escape_whitespaces = 1;
	if (d)
		d->msg[0] = '\0';
	if (n == 0) {
		te_diag_set(d, b.name, 0, "empty file, not a SentencePiece model");
		return NULL;
	}
	while (b.p < b.end) {
		uint32_t f;
		int wt;
		const unsigned char *sub = NULL;
		size_t sl = 0;
		uint64_t v = 0;
		int rc = 0;

		if (pb_field(&b, &f, &wt, &sub, &sl, &v) < 0)
			goto fail;
		if (f == 1 && wt == 2)
			rc = parse_piece(&b, &pm, sub, sl);
		else if (f == 2 && wt == 2)
			rc = parse_trainer(&b, &pm, sub, sl);
		else if (f == 3 && wt == 2)
			rc = parse_normalizer(&b, &pm, sub, sl);
		else if (f <= 5 && wt != 2) {
			te_diag_set(d, b.name, 0, "field %u has wire type %d, not a "
			            "SentencePiece model", f, wt);
			goto fail;
		}
		if (rc < 0) {
			if (d && !d->msg[0])
				te_diag_set(d, b.name, 0, "out of memory");
			goto fail;
		}
	}
	if (pm.n == 0) {
		te_diag_set(d, b.name, 0, "no pieces: not a SentencePiece model");
		goto fail;
	}
	for (int k = 0; k < 5; k++)
		if (pm.str[k]) {
			pm.own[k] = strndup(pm.str[k], pm.strlen_[k]);
			if (!pm.own[k]) {
				te_diag_set(d, b.name, 0, "out of memory");
				goto fail;
			}
		}
	pm.init.unk_surface = pm.own[0];
	/* SentencePieceProcessor::bos_id() and friends: the id of the piece
	 * named in the trainer spec, when it is a control symbol. */
	{
		const char *bp = pm.own[2] ? pm.own[2] : defaults[2];
		const char *ep = pm.own[3] ? pm.own[3] : defaults[3];
		const char *pp = pm.own[4] ? pm.own[4] : defaults[4];

		pm.init.bos_id = find_piece(&pm, bp, strlen(bp), TK_SPM_TYPE_CONTROL);
		pm.init.eos_id = find_piece(&pm, ep, strlen(ep), TK_SPM_TYPE_CONTROL);
		pm.init.pad_id = find_piece(&pm, pp, strlen(pp), TK_SPM_TYPE_CONTROL);
	}
	pm.init.n = pm.n;
	pm.init.pieces = pm.pieces;
	pm.init.lens = pm.lens;
	pm.init.scores = pm.scores;
	pm.init.types = pm.types;
	m = tk_spm_new(&pm.init, b.name, d);
fail:
	free(pm.pieces);
	free(pm.lens);
	free(pm.scores);
	free(pm.types);
	for (int k = 0; k < 6; k++)
		free(pm.own[k]);
	return m;
}

tk_spm *
tk_spm_load(const char *path, te_diag *d)
{
	size_t n;
	char *buf = ut_read_file(path, (size_t)1 << 31, &n, d);
	tk_spm *r;

	if (!buf)
		return NULL;
	r = tk_spm_load_mem(buf, n, path, d);
	free(buf);
	return r;
}

/* ------------------------------------------------------------ normalizer */

typedef struct normed {
	ut_buf s;
	/* when map is set, the input offset of each of s.n + 1 bytes (the
	 * last: the end), as runs; the end of a span is unused */
	tk_amap n2o;
	int map;
} normed;

static int
n2o_push(normed *nm, size_t at, size_t count)
{
	if (!nm->map)
		return 0;
	/* the end unused, one on: a space made "▁" and the word after it
	 * are one run */
	return tk_amap_put(&nm->n2o, count, (uint32_t)at, (uint32_t)at + 1);
}

/* The input offset of normalized byte i. */
static size_t
n2o_at(normed *nm, size_t i)
{
	return tk_amap_start(&nm->n2o, i);
}

/* Append bytes of normalized text originating at input offset at. */
static int
nadd(normed *nm, const char *s, size_t n, size_t at)
{
	if (n2o_push(nm, at, n) < 0)
		return -1;
	return ut_buf_put(&nm->s, s, n);
}

/* sentencepiece's NormalizePrefix: returns the normalized piece and the
 * number of input bytes it consumes. */
static const char *
norm_prefix(const tk_spm *m, const char *s, size_t n, size_t *out_len,
            size_t *consumed)
{
	const char *rep;
	size_t rl, ml;

	if (m->has_user) {
		uint32_t nd = 0;
		size_t best = 0;

		for (size_t i = 0; i < n; i++) {
			nd = tk_strie_next(&m->user, nd, (unsigned char)s[i]);
			if (!nd)
				break;
			if (m->user.value[nd] >= 0)
				best = i + 1;
		}
		if (best) {
			*out_len = *consumed = best;
			return s;
		}
	}
	if (m->pc && (ml = tk_precompiled_prefix(m->pc, s, n, &rep, &rl)) > 0) {
		*out_len = rl;
		*consumed = ml;
		return rep;
	}
	ml = tk_spm_valid_char_len(s, n);
	if (!ml) {
		*out_len = 3;
		*consumed = 1;
		return REPLACEMENT;
	}
	*out_len = *consumed = ml;
	return s;
}

void
tk_spm_norm_init(tk_spm *m)
{
	memset(m->ascii_plain, 0, sizeof m->ascii_plain);
	if (m->pc)
		tk_precompiled_ascii(m->pc, m->ascii_plain);
	else
		memset(m->ascii_plain, 2, 128);
	m->print_plain = 1;
	for (int c = 0x20; c < 0x7F; c++)
		m->print_plain &= m->ascii_plain[c] != 0;
}

/* The end of the ASCII bytes from in[a] on (at most 4096) that no rule of
 * a model without user-defined pieces changes (m->ascii_plain). */
static size_t
ascii_end(const tk_spm *m, const char *in, size_t a, size_t n)
{
	size_t e = a, lim = n - a > 4096 ? a + 4096 : n;

#ifdef __SSE2__
	/* 16 bytes at a time while all are printable (as signed bytes, at
	 * least ' ' and not DEL) */
	for (; m->print_plain && e + 16 <= lim; e += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(in + e));
		int odd = _mm_movemask_epi8(_mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(' ')),
		                                         _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F))));

		if (odd) {
			e += (size_t)__builtin_ctz((unsigned)odd);
			break;
		}
	}
#endif
	while (e < lim && m->ascii_plain[(unsigned char)in[e]])
		e++;
	/* a rule may start at the last one, with the byte after it */
	if (e > a && e < n && (unsigned char)in[e] >= 0x80 &&
	    m->ascii_plain[(unsigned char)in[e - 1]] == 1)
		e--;
	return e;
}

/* The first byte c of s[i, e) from i on, or e: 16 bytes at a time where
 * SSE2 is (the runs and words it scans are short: no call to memchr). */
static inline size_t
next_byte(const char *s, size_t i, size_t e, char c)
{
#ifdef __SSE2__
	const __m128i v = _mm_set1_epi8(c);

	for (; i + 16 <= e; i += 16) {
		unsigned hit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(const void *)(s + i)), v));

		if (hit)
			return i + (size_t)__builtin_ctz(hit);
	}
#endif
	for (; i < e && s[i] != c; i++)
		;
	return i;
}

/* o[0, n) = s[0, n), s[0, e) readable and o with room for 16 bytes: one
 * 16-byte copy for a short word, no call to memcpy. */
static inline void
copy_word(char *o, const char *s, size_t n, size_t e)
{
#ifdef __SSE2__
	if (n <= 16 && e >= 16) {
		_mm_storeu_si128((__m128i *)(void *)o, _mm_loadu_si128((const __m128i *)(const void *)s));
		return;
	}
#endif
	(void)e;
	memcpy(o, s, n);
}

/* normalize's loop over ASCII in[a, e) that no rule changes, of a model
 * without user-defined pieces: each byte is itself, a space as the loop
 * treats one (escaped, dropped after another with remove_extra_ws). */
static int
ascii_run(const tk_spm *m, normed *nm, const char *in, size_t a, size_t e, int *prev_space)
{
	size_t i, k;
	char *o;

	if (ut_buf_grow(&nm->s, 3 * (e - a) + 16) < 0)	/* copy_word's room */
		return -1;
	o = nm->s.s;
	k = nm->s.n;
	for (i = a; i < e; i++) {
		if (in[i] != ' ') {	/* to the next space, as it is */
			size_t j = next_byte(in, i, e, ' ');

			if (nm->map && tk_amap_put_own(&nm->n2o, j - i, (uint32_t)i) < 0)
				return -1;
			copy_word(o + k, in + i, j - i, e - i);
			k += j - i;
			i = j - 1;
			*prev_space = 0;
			continue;
		}
		if (m->remove_extra_ws && *prev_space)
			continue;
		if (m->escape_ws && i + 1 < e && in[i + 1] != ' ') {
			/* "▁" and the word after it, one run */
			size_t j = next_byte(in, i + 1, e, ' ');

			if (nm->map && tk_amap_put_tail(&nm->n2o, 3, (uint32_t)i, (uint32_t)i + 1,
			                                j - i - 1, (uint32_t)i + 1) < 0)
				return -1;
			memcpy(o + k, SPACE_SYM, 3);
			copy_word(o + k + 3, in + i + 1, j - i - 1, e - i - 1);
			k += 3 + j - i - 1;
			i = j - 1;
			*prev_space = 0;
			continue;
		}
		if (m->escape_ws) {
			if (n2o_push(nm, i, 3) < 0)
				return -1;
			memcpy(o + k, SPACE_SYM, 3);
			k += 3;
		} else {
			if (nm->map && tk_amap_put_own(&nm->n2o, 1, (uint32_t)i) < 0)
				return -1;
			o[k++] = ' ';
		}
		*prev_space = m->remove_extra_ws;
	}
	nm->s.n = k;
	return 0;
}

static int
normalize(const tk_spm *m, const char *in, size_t n, normed *nm)
{
	size_t consumed = 0, ol, cl;
	int prev_space;
	const char *sp;

	nm->s.n = 0;
	tk_amap_trunc(&nm->n2o, 0);
	if (n == 0)
		goto done;
	if (m->remove_extra_ws) {
		while (consumed < n) {
			/* a space no rule starts at (indented lines have many) */
			if (!m->has_user && in[consumed] == ' ' && m->ascii_plain[' '] == 2) {
				consumed++;
				continue;
			}
			sp = norm_prefix(m, in + consumed, n - consumed, &ol, &cl);
			if (!(ol == 1 && sp[0] == ' '))
				break;
			consumed += cl;
		}
		if (consumed == n)
			goto done;
	}
	if (!m->ws_suffix && m->add_dummy_prefix) {
		if (m->escape_ws ? nadd(nm, SPACE_SYM, 3, consumed) < 0
		                 : nadd(nm, " ", 1, consumed) < 0)
			return -1;
	}
	prev_space = m->remove_extra_ws;
	while (consumed < n) {
		if (!m->has_user && (unsigned char)in[consumed] < 0x80) {
			/* in pieces: the text grows by up to 3 bytes a byte */
			size_t e = ascii_end(m, in, consumed, n);

			if (e > consumed) {
				if (ascii_run(m, nm, in, consumed, e, &prev_space) < 0)
					return -1;
				consumed = e;
				continue;
			}
		}
		sp = norm_prefix(m, in + consumed, n - consumed, &ol, &cl);
		while (prev_space && ol > 0 && sp[0] == ' ') {
			sp++;
			ol--;
		}
		if (ol > 0) {
			for (size_t k = 0, e; k < ol; k = e) {
				if (m->escape_ws && sp[k] == ' ') {
					if (nadd(nm, SPACE_SYM, 3, consumed) < 0)
						return -1;
					e = k + 1;
					continue;
				}
				for (e = k + 1; e < ol && !(m->escape_ws && sp[e] == ' '); e++)
					;
				if (nadd(nm, sp + k, e - k, consumed) < 0)
					return -1;
			}
			prev_space = sp[ol - 1] == ' ';
		}
		consumed += cl;
		if (!m->remove_extra_ws)
			prev_space = 0;
	}
	if (m->remove_extra_ws) {
		const char *space = m->escape_ws ? SPACE_SYM : " ";
		size_t sl = m->escape_ws ? 3 : 1;

		while (nm->s.n >= sl && memcmp(nm->s.s + nm->s.n - sl, space, sl) == 0) {
			nm->s.n -= sl;
			if (nm->map)
				consumed = n2o_at(nm, nm->s.n);
		}
		if (nm->map)
			tk_amap_trunc(&nm->n2o, nm->s.n);
	}
	if (m->ws_suffix && m->add_dummy_prefix) {
		if (m->escape_ws ? nadd(nm, SPACE_SYM, 3, consumed) < 0
		                 : nadd(nm, " ", 1, consumed) < 0)
			return -1;
	}
done:
	if (n2o_push(nm, consumed, 1) < 0 || ut_buf_put(&nm->s, "", 0) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------- BPE */

/* A symbol of the BPE agenda: 24 bytes, as a long text has one a
 * character.  It ends where the next one starts (they tile the text); the
 * pair (this, next) is in the heap when its concatenation is a piece: pid
 * is that piece. */
typedef struct sym {
	int32_t prev, next;
	int32_t id;         /* id of the piece in m->pieces, or -1 */
	uint32_t start;
	int32_t pid;        /* merged piece of (this, next), or -1 */
	int32_t hpos;       /* position in the heap, -1 none, SYM_FROZEN */
} sym;
#define SYM_FROZEN (-2)	/* a user-defined piece: never merges */

/* An indexed 4-ary heap of pairs by their left symbol: the best pair on
 * top, highest score first, then leftmost, as sentencepiece's agenda
 * orders them.  A symbol has at most one pair, so no entry is stale. */
typedef struct hent {
	float score;
	int32_t x;
} hent;

typedef struct heap {
	hent *v;
	size_t n, cap;
} heap;

static inline int
hent_before(hent a, hent b)
{
	return a.score > b.score || (a.score == b.score && a.x < b.x);
}

static void
heap_up(heap *h, sym *sy, size_t i)
{
	hent e = h->v[i];

	while (i > 0) {
		size_t up = (i - 1) / 4;

		if (!hent_before(e, h->v[up]))
			break;
		h->v[i] = h->v[up];
		sy[h->v[i].x].hpos = (int32_t)i;
		i = up;
	}
	h->v[i] = e;
	sy[e.x].hpos = (int32_t)i;
}

static void
heap_down(heap *h, sym *sy, size_t i)
{
	hent e = h->v[i];

	for (;;) {
		size_t c = 4 * i + 1, end = c + 4 < h->n ? c + 4 : h->n;

		if (c >= h->n)
			break;
		for (size_t k = c + 1; k < end; k++)
			if (hent_before(h->v[k], h->v[c]))
				c = k;
		if (!hent_before(h->v[c], e))
			break;
		h->v[i] = h->v[c];
		sy[h->v[i].x].hpos = (int32_t)i;
		i = c;
	}
	h->v[i] = e;
	sy[e.x].hpos = (int32_t)i;
}

static void
heap_remove(heap *h, sym *sy, int32_t x)
{
	size_t i = (size_t)sy[x].hpos;
	hent last;

	if (sy[x].hpos < 0)
		return;
	sy[x].hpos = -1;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	h->v[i] = last;
	sy[last.x].hpos = (int32_t)i;
	heap_up(h, sy, i);
	heap_down(h, sy, (size_t)sy[last.x].hpos);
}

/* Put x in the heap with score, or move it there. */
static void
heap_set(heap *h, sym *sy, int32_t x, float score)
{
	size_t i;

	if (sy[x].hpos >= 0) {
		i = (size_t)sy[x].hpos;
		h->v[i].score = score;
		heap_up(h, sy, i);
		heap_down(h, sy, (size_t)sy[x].hpos);
		return;
	}
	h->v[h->n].score = score;
	h->v[h->n].x = x;
	h->n++;
	heap_up(h, sy, h->n - 1);
}

/* Where the pieces of the normalized text go, in order: each id and its
 * span to emit (or a count of them), byte fallback and runs of unknowns
 * applied as they come (emit_seg), so that no array of them all is kept. */
typedef struct emitter {
	const tk_spm *m;
	normed *nm;
	tk_emit_fn emit;         /* NULL: count them in *count */
	tk_widen_fn widen;
	void *ctx;
	int spans;               /* spans wanted, else each is 0, 0 */
	size_t *count;
	int prev_unk;
} emitter;

typedef tk_seg seg;

typedef struct segs {
	seg *v;
	size_t n, cap;
} segs;

/* Room in a for n more pieces. */
static int
segs_reserve(segs *a, size_t n)
{
	while (a->cap - a->n < n) {
		/* by half: a long text's segments are a good part of its memory */
		size_t nc = a->cap ? a->cap + a->cap / 2 : 256;
		seg *nv = realloc(a->v, nc * sizeof *nv);

		if (!nv)
			return -1;
		a->v = nv;
		a->cap = nc;
	}
	return 0;
}

static int
segs_push(segs *a, size_t start, size_t end, int32_t id)
{
	if (a->n == a->cap && segs_reserve(a, 1) < 0)
		return -1;
	a->v[a->n].start = (uint32_t)start;
	a->v[a->n].end = (uint32_t)end;
	a->v[a->n].id = id;
	a->n++;
	return 0;
}

/* One piece s[start, end) of the normalized text, of id id: emit_seg's
 * way for every piece. */
static int
emit_seg_any(emitter *em, uint32_t start, uint32_t end, int32_t id)
{
	const tk_spm *m = em->m;
	normed *nm = em->nm;
	size_t ob = em->spans ? n2o_at(nm, start) : 0, oe = em->spans ? n2o_at(nm, end) : 0;
	int is_unk = m->type[id] == TK_SPM_TYPE_UNKNOWN;

	if (m->type[id] == TK_SPM_TYPE_CONTROL)
		oe = ob;
	if (is_unk && m->byte_fallback) {
		if (!em->emit) {
			*em->count += end - start;
		} else {
			for (uint32_t b = start; b < end; b++)
				if (em->emit(em->ctx, m->byte_id[(unsigned char)nm->s.s[b]], ob,
				             b + 1 == end ? oe : ob) < 0)
					return -1;
		}
	} else if (is_unk && em->prev_unk) {
		if (em->spans)
			em->widen(em->ctx, oe);
	} else if (!em->emit) {
		(*em->count)++;
	} else if (em->emit(em->ctx, id, ob, oe) < 0) {
		return -1;
	}
	em->prev_unk = is_unk;
	return 0;
}

/* One piece s[start, end) of the normalized text, of id id: inline for
 * the most, an ordinary piece handed on without its span. */
static inline int
emit_seg(emitter *em, uint32_t start, uint32_t end, int32_t id)
{
	int t = em->m->type[id];

	if (em->emit && !em->spans && t != TK_SPM_TYPE_UNKNOWN && t != TK_SPM_TYPE_CONTROL) {
		em->prev_unk = 0;
		return em->emit(em->ctx, id, 0, 0) < 0 ? -1 : 0;
	}
	return emit_seg_any(em, start, end, id);
}

/* emit_seg as a tk_emit_fn (the Unigram model's pieces), ctx the emitter */
static int
seg_emit(void *ctx, int32_t id, size_t start, size_t end)
{
	return emit_seg(ctx, (uint32_t)start, (uint32_t)end, id);
}

/* Hand the pieces of a to em and empty a. */
static int
segs_flush(emitter *em, segs *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (emit_seg(em, a->v[i].start, a->v[i].end, a->v[i].id) < 0)
			return -1;
	a->n = 0;
	return 0;
}

/* PieceToId: reserved pieces first, then ordinary ones, else unk. */
static int32_t
piece_to_id(const tk_spm *m, const char *s, size_t len)
{
	int32_t id = tk_strie_get(&m->reserved, s, len);

	if (id >= 0)
		return id;
	id = tk_strie_get(&m->pieces, s, len);
	return id >= 0 ? id : m->unk_id;
}

typedef struct revm {
	int32_t id;
	uint32_t left_len;
} revm;

typedef struct bpe_ctx {
	emitter *em;
	const tk_spm *m;
	const char *s;
	size_t end;         /* where the symbols of this run end */
	sym *sy;
	size_t sycap;
	heap h;
	revm *rev;
	size_t nrev, caprev;
} bpe_ctx;

static inline size_t
sym_len(const bpe_ctx *c, int32_t i)
{
	int32_t nx = c->sy[i].next;

	return (nx >= 0 ? c->sy[nx].start : c->end) - c->sy[i].start;
}

/* The piece symbols l and r (its right neighbour, or -1) make, or -1. */
static int32_t
pair_piece(const bpe_ctx *c, int32_t l, int32_t r)
{
	const sym *sy = c->sy;

	if (r < 0 || sy[l].hpos == SYM_FROZEN || sy[r].hpos == SYM_FROZEN)
		return -1;
	if (sy[l].id >= 0 && sy[r].id >= 0)
		return merge_get(c->m, sy[l].id, sy[r].id);
	return tk_strie_get(&c->m->pieces, c->s + sy[l].start, sym_len(c, l) + sym_len(c, r));
}

/* sentencepiece's MaybeAddNewSymbolPair: (re)compute the pair (l, r) and
 * keep the heap in step.  l may be -1. */
static int
maybe_add(bpe_ctx *c, int32_t l, int32_t r)
{
	const tk_spm *m = c->m;
	sym *sy = c->sy;
	int32_t id;

	if (l < 0)
		return 0;
	id = sy[l].pid = pair_piece(c, l, r);
	if (id < 0) {
		heap_remove(&c->h, sy, l);
		return 0;
	}
	heap_set(&c->h, sy, l, m->score[id]);
	if (m->type[id] == TK_SPM_TYPE_UNUSED) {
		size_t k;

		for (k = 0; k < c->nrev; k++)
			if (c->rev[k].id == id)
				break;
		if (k == c->nrev) {
			if (c->nrev == c->caprev) {
				size_t nc = c->caprev ? 2 * c->caprev : 16;
				revm *nv = realloc(c->rev, nc * sizeof *nv);

				if (!nv)
					return -1;
				c->rev = nv;
				c->caprev = nc;
			}
			c->nrev++;
		}
		c->rev[k].id = id;
		c->rev[k].left_len = (uint32_t)sym_len(c, l);
	}
	return 0;
}

/* Output a final symbol; one that is an UNUSED piece is split again into
 * the two symbols it was merged from (sentencepiece's resegment).  known is
 * the symbol's id in the ordinary pieces, or -1. */
static int
resegment(bpe_ctx *c, size_t start, size_t len, int32_t known, segs *out,
          int depth)
{
	int32_t id = known >= 0 && !c->m->shadowed[known]
	                 ? known : piece_to_id(c->m, c->s + start, len);

	if (c->m->type[id] == TK_SPM_TYPE_UNUSED && depth < 256) {
		for (size_t k = 0; k < c->nrev; k++)
			if (c->rev[k].id == id && c->rev[k].left_len < len) {
				size_t ll = c->rev[k].left_len;

				if (resegment(c, start, ll, -1, out, depth + 1) < 0)
					return -1;
				return resegment(c, start + ll, len - ll, -1, out, depth + 1);
			}
	}
	return segs_push(out, start, start + len, id);
}

/* The piece of symbols with ids l and r at s[a, e), or -1 (pair_piece
 * for bpe_short). */
static inline int32_t
short_pair(const tk_spm *m, const char *s, int32_t l, int32_t r, size_t a, size_t e)
{
	if (l >= 0 && r >= 0)
		return merge_get(m, l, r);
	return tk_strie_get(&m->pieces, s + a, e - a);
}

/* bpe_run for a short segment of a model without user-defined or UNUSED
 * pieces: the symbols in arrays at fixed places, linked (nx, pv), a merged
 * one's place left with no pair; the best pair found by a scan of the
 * pairs' scores (highest, then leftmost, as the heap orders them), which
 * costs less than the heap for the few symbols a word has. */
#define SHORT_MAX 256
typedef struct sbpe {
	const tk_spm *m;
	const char *s;
	int k;              /* the places; st[k]: where the segment ends */
	int odd;            /* a pair scored -INFINITY or NaN has been seen */
	int32_t id[SHORT_MAX], pid[SHORT_MAX];  /* the symbol's piece, its pair's */
	int nx[SHORT_MAX], pv[SHORT_MAX];       /* next (k: none), previous (-1) */
	uint32_t st[SHORT_MAX + 1];
	float ps[SHORT_MAX + 4];  /* pid's score; -INFINITY: no pair */
} sbpe;

/* The pair of symbol i and the next one into pid[i] and ps[i]. */
static inline void
sb_pair(sbpe *b, int i)
{
	int r = b->nx[i];
	int32_t p = r < b->k ? short_pair(b->m, b->s, b->id[i], b->id[r], b->st[i],
	                                  b->st[b->nx[r]]) : -1;

	b->pid[i] = p;
	b->ps[i] = p >= 0 ? b->m->score[p] : -INFINITY;
	b->odd |= p >= 0 && !(b->ps[i] > -INFINITY);
}

/* The place of the leftmost best pair, or -1.  Unless odd, every pair's
 * score is above -INFINITY and none is NaN: the best is the leftmost of
 * the highest score, and ps[k, k + 4) are -INFINITY. */
static inline int
sb_best(const sbpe *b)
{
	int best = -1, i;
	float bs = -INFINITY;

	if (b->odd) {
		for (i = 0; i < b->k; i++)
			if (b->ps[i] > bs || (best < 0 && b->pid[i] >= 0))
				bs = b->ps[i], best = i;
		return best;
	}
#ifdef __SSE2__
	{
		__m128 mx = _mm_set1_ps(-INFINITY);

		for (i = 0; i < b->k; i += 4)
			mx = _mm_max_ps(mx, _mm_loadu_ps(b->ps + i));
		mx = _mm_max_ps(mx, _mm_shuffle_ps(mx, mx, _MM_SHUFFLE(2, 3, 0, 1)));
		mx = _mm_max_ps(mx, _mm_shuffle_ps(mx, mx, _MM_SHUFFLE(1, 0, 3, 2)));
		if (!(_mm_cvtss_f32(mx) > -INFINITY))
			return -1;
		for (i = 0;; i += 4) {
			int mask = _mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(b->ps + i), mx));

			if (mask)
				return i + __builtin_ctz((unsigned)mask);
		}
	}
#else
	for (i = 0; i < b->k; i++)
		if (b->ps[i] > bs)
			bs = b->ps[i], best = i;
	return best;
#endif
}

/* Each thread's ids of the one-byte pieces of one model (tk_spm_serial;
 * 0: none yet): bpe_short's look-up of an ASCII character. */
static __thread struct {
	uint32_t serial;
	int32_t id[128];
} ascii_ids;

static const int32_t *
ascii_ids_for(const tk_spm *m)
{
	if (ascii_ids.serial != m->serial) {
		for (int ch = 0; ch < 128; ch++) {
			char one = (char)ch;

			ascii_ids.id[ch] = tk_strie_get(&m->pieces, &one, 1);
		}
		ascii_ids.serial = m->serial;
	}
	return ascii_ids.id;
}

static int
bpe_short(bpe_ctx *c, size_t a, size_t e, segs *out)
{
	sbpe b;
	const int32_t *ascii = ascii_ids_for(c->m);
	int k = 0, i;

	b.m = c->m;
	b.s = c->s;
	b.odd = 0;
	for (size_t at = a; at < e; k++) {
		unsigned char ch = (unsigned char)b.s[at];
		size_t ml;

		b.st[k] = (uint32_t)at;
		b.nx[k] = k + 1;
		b.pv[k] = k - 1;
		if (ch < 128) {
			b.id[k] = ascii[ch];
			at++;
			continue;
		}
		ml = tk_spm_one_char_len(b.s + at, e - at);
		b.id[k] = tk_strie_get(&b.m->pieces, b.s + at, ml);
		at += ml;
	}
	b.st[k] = (uint32_t)e;
	b.k = k;
	for (i = 0; i < k; i++)
		sb_pair(&b, i);
	for (i = k; i < k + 4; i++)
		b.ps[i] = -INFINITY;
	for (;;) {
		int best = sb_best(&b), r;

		if (best < 0)
			break;
		r = b.nx[best];
		b.id[best] = b.pid[best];
		b.nx[best] = b.nx[r];
		if (b.nx[r] < k)
			b.pv[b.nx[r]] = best;
		b.pid[r] = -1;
		b.ps[r] = -INFINITY;
		if (b.pv[best] >= 0)
			sb_pair(&b, b.pv[best]);
		sb_pair(&b, best);
	}
	for (i = 0; i < k; i = b.nx[i])
		if (resegment(c, b.st[i], b.st[b.nx[i]] - b.st[i], b.id[i], out, 0) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------- BPE on a long run */

/* A long segment (a run without whitespace: "aaaa...", base64, CJK) holds
 * bpe_run's agenda of 32 bytes a character.  bpe_long does the same merges
 * in 4 bytes and a bit a byte: each symbol's length at its first and its
 * last byte (a piece is under 256 bytes), and the rank of the score of
 * the pair starting there in a 16-ary tournament tree, whose leftmost
 * best leaf is the pair the agenda would take (highest score, then
 * leftmost).  The ids are looked up again as needed. */
size_t tk_spm_long_min = (size_t)1 << 16;
#define LT_K 16

typedef struct ltree {
	uint16_t *lv[16];   /* lv[0]: the leaves; lv[depth - 1]: the root */
	size_t n[16];
	int depth;
} ltree;

static int
cmp_float(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;

	return a < b ? -1 : a > b;
}

/* The dense rank of every piece's score (1 the lowest; 0 means no pair),
 * or NULL when bpe_long cannot take m (more than 65534 scores, a NaN, a
 * piece of 256 bytes or more). */
static uint16_t *
long_ranks(const tk_spm *m)
{
	float *u = malloc(m->n * sizeof *u);
	uint16_t *rank = malloc(m->n * sizeof *rank);
	size_t nu = 0;

	if (!u || !rank)
		goto no;
	for (size_t i = 0; i < m->n; i++) {
		if (m->plen[i] > 255 || m->score[i] != m->score[i])
			goto no;
		u[i] = m->score[i];
	}
	qsort(u, m->n, sizeof *u, cmp_float);
	for (size_t i = 0; i < m->n; i++)
		if (!nu || u[nu - 1] < u[i])
			u[nu++] = u[i];
	if (nu > 65534)
		goto no;
	for (size_t i = 0; i < m->n; i++) {
		const float *f = bsearch(&m->score[i], u, nu, sizeof *u, cmp_float);

		rank[i] = (uint16_t)(f - u + 1);
	}
	free(u);
	return rank;
no:
	free(u);
	free(rank);
	return NULL;
}

static int
lt_init(ltree *t, size_t n)
{
	size_t total = 0, k = n;

	t->depth = 0;
	do {
		t->n[t->depth++] = k;
		total += k;
		k = (k + LT_K - 1) / LT_K;
	} while (t->n[t->depth - 1] > 1);
	if (!(t->lv[0] = calloc(total, sizeof *t->lv[0])))
		return -1;
	for (int d = 1; d < t->depth; d++)
		t->lv[d] = t->lv[d - 1] + t->n[d - 1];
	return 0;
}

/* The maxima above the leaves, once they are all set. */
static void
lt_build(ltree *t)
{
	for (int d = 1; d < t->depth; d++)
		for (size_t j = 0; j < t->n[d]; j++) {
			size_t a = j * LT_K, e = a + LT_K < t->n[d - 1] ? a + LT_K : t->n[d - 1];
			uint16_t mx = 0;

			for (size_t q = a; q < e; q++)
				mx = t->lv[d - 1][q] > mx ? t->lv[d - 1][q] : mx;
			t->lv[d][j] = mx;
		}
}

static void
lt_set(ltree *t, size_t i, uint16_t v)
{
	t->lv[0][i] = v;
	for (int d = 1; d < t->depth; d++) {
		size_t j = i / LT_K, a = j * LT_K, e = a + LT_K < t->n[d - 1] ? a + LT_K : t->n[d - 1];
		uint16_t mx = 0;

		for (size_t q = a; q < e; q++)
			mx = t->lv[d - 1][q] > mx ? t->lv[d - 1][q] : mx;
		if (t->lv[d][j] == mx)
			return;
		t->lv[d][j] = mx;
		i = j;
	}
}

/* The leftmost leaf of the best value, which is *best (0: none). */
static size_t
lt_top(const ltree *t, uint16_t *best)
{
	size_t i = 0;
	uint16_t mx = t->lv[t->depth - 1][0];

	*best = mx;
	if (!mx)
		return 0;
	for (int d = t->depth - 2; d >= 0; d--) {
		size_t a = i * LT_K;

		while (t->lv[d][a] != mx)
			a++;
		i = a;
	}
	return i;
}

/* The rank of the piece s[p, p + len), 0 when it is none. */
static inline uint16_t
long_key(const tk_spm *m, const uint16_t *rank, const char *s, size_t p, size_t len)
{
	int32_t id = len > 255 ? -1 : tk_strie_get(&m->pieces, s + p, len);

	return id >= 0 ? rank[id] : 0;
}

static int
bpe_long(bpe_ctx *c, const uint16_t *rank, size_t a, size_t b, segs *out)
{
	const tk_spm *m = c->m;
	const char *s = c->s + a;
	size_t n = b - a, p, q, ml;
	uint8_t *fl = malloc(n), *bl = malloc(n);
	ltree t;
	uint16_t best;
	int rc = -1;

	t.lv[0] = NULL;
	if (!fl || !bl || lt_init(&t, n) < 0)
		goto out;
	for (p = 0; p < n; p += ml) {
		ml = tk_spm_one_char_len(s + p, n - p);
		fl[p] = (uint8_t)ml;
		bl[p + ml - 1] = (uint8_t)ml;
	}
	for (p = 0; p + fl[p] < n; p = q) {
		q = p + fl[p];
		t.lv[0][p] = long_key(m, rank, s, p, fl[p] + (size_t)fl[q]);
	}
	lt_build(&t);
	while ((p = lt_top(&t, &best)), best) {
		size_t len;

		q = p + fl[p];
		len = fl[p] + (size_t)fl[q];
		lt_set(&t, q, 0);
		fl[p] = (uint8_t)len;
		bl[p + len - 1] = (uint8_t)len;
		q = p + len;
		lt_set(&t, p, q < n ? long_key(m, rank, s, p, len + fl[q]) : 0);
		if (p > 0) {
			q = p - bl[p - 1];
			lt_set(&t, q, long_key(m, rank, s, q, fl[q] + len));
		}
	}
	/* the pieces are all known: what finds them is let go of before
	 * their tokens take its place */
	free(bl);
	free(t.lv[0]);
	bl = NULL;
	t.lv[0] = NULL;
	for (p = 0; p < n; p += fl[p]) {
		if (resegment(c, a + p, fl[p], tk_strie_get(&m->pieces, s + p, fl[p]), out, 0) < 0 ||
		    (out->n >= 4096 && segs_flush(c->em, out) < 0))
			goto out;
	}
	rc = 0;
out:
	free(fl);
	free(bl);
	free(t.lv[0]);
	return rc;
}

/* BPE over s[a, b), symbols numbered from 0 in c->sy (room for b - a). */
static int
bpe_run(bpe_ctx *c, size_t a, size_t b, segs *out)
{
	const tk_spm *m = c->m;
	const char *s = c->s;
	size_t ns = 0;

	if (b - a <= SHORT_MAX && !m->has_user && !m->has_unused)
		return bpe_short(c, a, b, out);
	if (b - a >= tk_spm_long_min && !m->has_user && !m->has_unused) {
		uint16_t *rank = long_ranks(m);
		int rc;

		if (rank) {
			rc = bpe_long(c, rank, a, b, out);
			free(rank);
			return rc;
		}
	}

	c->h.n = 0;
	c->end = b;
	if (b - a > c->sycap) {
		sym *nv = realloc(c->sy, (b - a) * sizeof *nv);
		hent *hv;

		if (!nv)
			return -1;
		c->sy = nv;
		hv = realloc(c->h.v, (b - a) * sizeof *hv);
		if (!hv)
			return -1;
		c->h.v = hv;
		c->sycap = b - a;
	}
	for (size_t at = a; at < b;) {
		size_t ml = 0;
		int freeze = 0;

		if (m->has_user) {
			uint32_t nd = 0;

			for (size_t i = at; i < b; i++) {
				nd = tk_strie_next(&m->user, nd, (unsigned char)s[i]);
				if (!nd)
					break;
				if (m->user.value[nd] >= 0)
					ml = i + 1 - at;
			}
			freeze = ml > 0;
		}
		if (!ml)
			ml = tk_spm_one_char_len(s + at, b - at);
		c->sy[ns].prev = (int32_t)ns - 1;
		c->sy[ns].next = at + ml < b ? (int32_t)ns + 1 : -1;
		c->sy[ns].start = (uint32_t)at;
		c->sy[ns].id = freeze ? -1 : tk_strie_get(&m->pieces, s + at, ml);
		c->sy[ns].pid = -1;
		c->sy[ns].hpos = freeze ? SYM_FROZEN : -1;
		ns++;
		at += ml;
	}
	if (ns == 0)
		return 0;
	for (size_t i = 1; i < ns; i++)
		if (maybe_add(c, (int32_t)i - 1, (int32_t)i) < 0)
			return -1;
	while (c->h.n) {
		int32_t li = c->h.v[0].x, ri = c->sy[li].next;
		sym *l = &c->sy[li], *r = &c->sy[ri];

		heap_remove(&c->h, c->sy, li);
		heap_remove(&c->h, c->sy, ri);
		l->id = l->pid;
		l->next = r->next;
		if (r->next >= 0)
			c->sy[r->next].prev = li;
		if (maybe_add(c, l->prev, li) < 0 || maybe_add(c, li, l->next) < 0)
			return -1;
	}
	for (int32_t i = 0; i != -1; i = c->sy[i].next)
		if (resegment(c, c->sy[i].start, sym_len(c, i), c->sy[i].id, out, 0) < 0)
			return -1;
	return 0;
}

/* The pieces of the segments bpe_encode has already run, by their text,
 * kept from one text to the next in each thread for one model (most
 * texts are short lines, most words recur): with m->ws_cut a segment's
 * pieces depend on its bytes alone (no UNUSED piece, whose resegmenting
 * reads the whole text's agenda).  Each segment's entry is in ents, from
 * a multiple of 8 on: a wentry, its bytes padded to a multiple of 8, the
 * caller's extra bytes (a Unigram word's: uni_keep), its pieces (offsets
 * relative to its start): one place, read once on a hit.  The table of
 * slots has room for WC_MAX at half its size: it never grows, and it is
 * small (8 bytes a slot), as a run meets tens of thousands of words.
 * Bounded: short segments only, and emptied when it holds WC_MAX.  The
 * entries' room is reserved in 2 MiB pages (touched only as it fills) for
 * WC_MAX entries of 128 bytes (a Unigram word's is about 60, 2 MB of
 * prose keeps 3.7 MB): grown past it by realloc, they would lose those
 * pages, and a hit would pay a TLB miss more. */
#define WC_KEY 64
#define WC_MAX (1u << 16)
#define WC_SLOTS (2 * WC_MAX)
#define WC_ENTS ((size_t)8 << 20)
_Static_assert(WC_KEY <= TK_UNIGRAM_WORD_MAX, "a cached Unigram word fits word_best");
typedef struct wslot {
	uint32_t h;         /* the key's hash, its high half (the low one picks the slot) */
	uint32_t at;        /* its entry at ents.s + at - 1; 0: empty */
} wslot;
typedef struct wentry {
	uint32_t len;       /* the key's bytes */
	uint16_t cnt;       /* its pieces */
	uint8_t plain;      /* all of them ordinary pieces (uni_word) */
	uint8_t nch;        /* a Unigram word's characters (uni_keep) */
} wentry;
#define WE_KEY(len) (sizeof(wentry) + (((len) + 7) & ~(size_t)7))
typedef struct wcache {
	uint32_t serial;    /* the model's (tk_spm_serial); 0: none yet */
	wslot *slot;        /* WC_SLOTS of them */
	size_t n;
	ut_buf ents;
} wcache;

/* Each thread's scratch: the word cache, and the normalized text and
 * the pieces of the text under way (kept for the next text, unless a
 * long one grew them past SCRATCH_KEEP bytes); freed at the thread's end. */
#define SCRATCH_KEEP ((size_t)1 << 20)
static __thread struct {
	int registered;
	wcache wc;
	normed nm;
	segs sg;
} tls;

static void
scratch_free(void *unused)
{
	free(tls.wc.slot);
	free(tls.wc.ents.s);
	free(tls.nm.s.s);
	tk_amap_release(&tls.nm.n2o);
	free(tls.sg.v);
	memset(&tls, 0, sizeof tls);
}

static ut_thread_end scratch_end = UT_THREAD_END(scratch_free);

static void
scratch_register(void)
{
	ut_thread_end_arm(&scratch_end, &tls.registered, &tls);
}

/* Let go of the scratch a long text grew. */
static void
scratch_trim(void)
{
	if (tls.nm.s.cap > SCRATCH_KEEP || tk_amap_size(&tls.nm.n2o) > SCRATCH_KEEP) {
		ut_buf_release(&tls.nm.s);
		tk_amap_release(&tls.nm.n2o);
	}
	if (tls.sg.cap * sizeof *tls.sg.v > SCRATCH_KEEP) {
		free(tls.sg.v);
		memset(&tls.sg, 0, sizeof tls.sg);
	}
}

/* This thread's cache, emptied unless it holds m's pieces and has room. */
static wcache *
wc_for(const tk_spm *m)
{
	wcache *w = &tls.wc;

	if (w->serial != m->serial || w->n >= WC_MAX) {
		if (w->slot)
			memset(w->slot, 0, WC_SLOTS * sizeof *w->slot);
		w->n = w->ents.n = 0;
		w->serial = m->serial;
	}
	if (!w->slot) {
		if (!(w->slot = ut_huge_alloc(WC_SLOTS * sizeof *w->slot)))
			return NULL;
		memset(w->slot, 0, WC_SLOTS * sizeof *w->slot);
		/* entries are read at random too: the first few MB alike */
		if ((w->ents.s = ut_huge_alloc(WC_ENTS)))
			w->ents.cap = WC_ENTS;
	}
	return w;
}

/* The hash of a key of the word cache (any length; keys are short):
 * 8-byte loads, the last ones overlapping, mixed by multiplies. */
static inline uint64_t
wc_hash(const char *s, size_t n)
{
	const uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xFF51AFD7ED558CCDull;
	uint64_t h = (uint64_t)n * k1, w = 0;
	uint32_t lo, hi;

	for (; n > 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * k2;
		h ^= h >> 32;
	}
	if (n == 8) {
		memcpy(&w, s, 8);
	} else if (n >= 4) {
		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		w = (uint64_t)hi << 32 | lo;
	} else if (n) {
		w = (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8 |
		    (uint64_t)(unsigned char)s[n - 1] << 16;
	}
	h = (h ^ w) * k2;
	h ^= h >> 29;
	h *= k1;
	return h ^ (h >> 32);
}

/* Whether the keys a and b of n bytes are the same: wc_hash's loads,
 * without a call to memcmp for the short keys of the cache. */
static inline int
wc_same(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t p, q;

	if (n >= 8) {
		for (; n > 8; a += 8, b += 8, n -= 8) {
			memcpy(&x, a, 8);
			memcpy(&y, b, 8);
			if (x != y)
				return 0;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&p, a, 4);
		memcpy(&q, b, 4);
		x = p ^ q;
		memcpy(&p, a + n - 4, 4);
		memcpy(&q, b + n - 4, 4);
		return (x | (p ^ q)) == 0;
	}
	return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

/* The entry of the key s[0, len) of hash h in w, or NULL with *slot the
 * empty slot where it goes. */
static inline const wentry *
wc_find(const wcache *w, uint64_t h, const char *s, size_t len, size_t *slot)
{
	size_t i;

	for (i = h & (WC_SLOTS - 1); w->slot[i].at; i = (i + 1) & (WC_SLOTS - 1)) {
		const wentry *e = (const wentry *)(const void *)(w->ents.s + w->slot[i].at - 1);

		if (w->slot[i].h == (uint32_t)(h >> 32) && e->len == len &&
		    wc_same((const char *)(e + 1), s, len))
			return e;
	}
	*slot = i;
	return NULL;
}

/* A new entry in w, at slot i (empty; wc_find's), for the key s[0, len)
 * of hash h, with extra bytes (a multiple of 8) and cnt pieces: returns
 * where its extra bytes go, its pieces after them (valid until the next
 * entry), or NULL for no memory. */
static char *
wc_add(wcache *w, size_t i, uint64_t h, const char *s, size_t len, size_t extra, size_t cnt)
{
	size_t at = (w->ents.n + 7) & ~(size_t)7, end = at + WE_KEY(len) + extra + cnt * sizeof(seg);
	wentry *e;

	if (ut_buf_grow(&w->ents, end - w->ents.n) < 0 || end >= UINT32_MAX)
		return NULL;
	e = (wentry *)(void *)(w->ents.s + at);
	memset(e, 0, WE_KEY(len));
	e->len = (uint32_t)len;
	e->cnt = (uint16_t)cnt;
	memcpy(e + 1, s, len);
	w->ents.n = end;
	w->slot[i].h = (uint32_t)(h >> 32);
	w->slot[i].at = (uint32_t)at + 1;
	w->n++;
	return w->ents.s + at + WE_KEY(len);
}

/* bpe_run on s[a, b) through the cache w (NULL: none). */
static int
bpe_run_cached(bpe_ctx *c, wcache *w, size_t a, size_t b, segs *out)
{
	const char *s = c->s;
	size_t len = b - a, i, n0 = out->n;
	const wentry *e;
	uint64_t h;
	seg *g;

	if (!w || len > WC_KEY)
		return bpe_run(c, a, b, out);
	h = wc_hash(s + a, len);
	if ((e = wc_find(w, h, s + a, len, &i))) {
		const seg *p = (const seg *)(const void *)((const char *)e + WE_KEY(len));
		seg *o;

		if (segs_reserve(out, e->cnt) < 0)
			return -1;
		o = out->v + out->n;
		for (size_t k = 0; k < e->cnt; k++) {
			o[k].start = (uint32_t)a + p[k].start;
			o[k].end = (uint32_t)a + p[k].end;
			o[k].id = p[k].id;
		}
		out->n += e->cnt;
		return 0;
	}
	if (bpe_run(c, a, b, out) < 0)
		return -1;
	if (w->n >= WC_MAX || out->n - n0 > UINT16_MAX)
		return 0;
	if (!(g = (seg *)(void *)wc_add(w, i, h, s + a, len, 0, out->n - n0)))
		return -1;
	for (size_t k = n0; k < out->n; k++, g++) {
		g->start = out->v[k].start - (uint32_t)a;
		g->end = out->v[k].end - (uint32_t)a;
		g->id = out->v[k].id;
	}
	return 0;
}

/* Whether s starts with the space symbol: U+2581 when sl is 3, else ' '
 * (memcmp of a constant length, which the compiler inlines). */
static inline int
ws_at(const char *s, size_t sl)
{
	return sl == 3 ? memcmp(s, SPACE_SYM, 3) == 0 : s[0] == ' ';
}

/* sentencepiece runs BPE over the whole normalized text.  When no piece
 * can span the start of a whitespace run (m->ws_cut), the text is cut
 * there into segments that never interact, which keeps the agenda small;
 * the result is the same. */
static int
bpe_encode(const tk_spm *m, const char *s, size_t n, segs *out, emitter *em)
{
	bpe_ctx c = {em, m, s, 0, NULL, 0, {NULL, 0, 0}, NULL, 0, 0};
	const char *sp = m->escape_ws ? SPACE_SYM : " ";
	size_t sl = m->escape_ws ? 3 : 1, a = 0;
	wcache *w = NULL;
	int rc = -1;

	if (n == 0)
		return 0;
	if (m->ws_cut) {
		if (!(w = wc_for(m)))
			goto out;
		for (size_t i = sl; i + sl <= n; i++) {
			const char *q = memchr(s + i, sp[0], n - sl + 1 - i);

			if (!q)
				break;
			i = (size_t)(q - s);
			if (!ws_at(s + i, sl) || ws_at(s + i - sl, sl))
				continue;
			if (i - a > 0 && bpe_run_cached(&c, w, a, i, out) < 0)
				goto out;
			if (out->n >= 4096 && segs_flush(em, out) < 0)
				goto out;
			a = i;
			i += sl - 1;
		}
	}
	if (bpe_run_cached(&c, w, a, n, out) < 0 || segs_flush(em, out) < 0)
		goto out;
	rc = 0;
out:
	free(c.sy);
	free(c.h.v);
	free(c.rev);
	return rc;
}

/* ---------------------------------------------------------------- Unigram */

/* Where a word's pieces go: em, from byte base of the text on, an
 * unknown character as m's unk_id. */
typedef struct uni_out {
	emitter *em;
	size_t base;
} uni_out;

static int
uni_push(void *ctx, int32_t id, size_t a, size_t b)
{
	uni_out *o = ctx;

	return emit_seg(o->em, (uint32_t)(o->base + a), (uint32_t)(o->base + b),
	                id < 0 ? o->em->m->unk_id : id);
}

/* A Unigram word's path in its entry of the cache, after its key: the
 * first double of tk_unigram_word_best that says from which starts it
 * holds (the second is 2^-21 a character: wentry.nch), then its pieces'
 * ids and their lengths in bytes, a byte each (a cached word is at most
 * WC_KEY bytes): about half the bytes of a seg a piece, so that most
 * entries are one cache line. */
#define UW_EXTRA(cnt) (sizeof(double) + (((cnt) * 5 + 7) & ~(size_t)7))
_Static_assert(WC_KEY <= UINT8_MAX, "a cached Unigram piece's length is a byte");

/* The second bound of tk_unigram_word_best, of a word of nch characters. */
static inline double
uni_sure1(size_t nch)
{
	return 0x1p-21 * (double)nch;
}

/* Pieces ids[0, n) of lengths pl[0, n) of a word at byte a of the text,
 * to em. */
static int
uni_put(emitter *em, const int32_t *ids, const uint8_t *pl, size_t n, size_t a)
{
	for (size_t k = 0; k < n; a += pl[k++])
		if (emit_seg(em, (uint32_t)a, (uint32_t)(a + pl[k]),
		             ids[k] < 0 ? em->m->unk_id : ids[k]) < 0)
			return -1;
	return 0;
}

/* Whether a path's pieces all go out as themselves (emit_seg's way for
 * the most: none unknown, none a control piece). */
static int
uni_plain(const tk_spm *m, const int32_t *ids, size_t cnt)
{
	for (size_t k = 0; k < cnt; k++)
		if (ids[k] < 0 || m->type[ids[k]] == TK_SPM_TYPE_UNKNOWN ||
		    m->type[ids[k]] == TK_SPM_TYPE_CONTROL)
			return 0;
	return 1;
}

/* Keep the word s[0, len) of nch characters, its bound sure0 and its path
 * ids[0, cnt), pl[0, cnt) (plain: uni_plain's) in w at slot i (empty). */
static int
uni_keep(wcache *w, size_t i, uint64_t h, const char *s, size_t len, size_t nch, double sure0,
         const int32_t *ids, const uint8_t *pl, size_t cnt, int plain)
{
	char *x = wc_add(w, i, h, s, len, UW_EXTRA(cnt), 0);
	wentry *e;

	if (!x)
		return -1;
	e = (wentry *)(void *)(x - WE_KEY(len));
	e->cnt = (uint16_t)cnt;
	e->plain = (uint8_t)plain;
	e->nch = (uint8_t)nch;
	memcpy(x, &sure0, sizeof sure0);
	memcpy(x + sizeof sure0, ids, cnt * sizeof *ids);
	memcpy(x + sizeof sure0 + cnt * sizeof *ids, pl, cnt);
	return 0;
}

/* A word's path ids[0, n), pl[0, n) from score *sc (set to its end's),
 * its pieces to em (plain: uni_plain's), the word at byte a of the text. */
static int
uni_path(const tk_spm *m, emitter *em, const int32_t *ids, const uint8_t *pl, size_t n,
         int plain, size_t a, double *sc)
{
	*sc = tk_unigram_path_end(m->uni, ids, n, *sc);
	if (!plain || !em->emit || em->spans)
		return uni_put(em, ids, pl, n, a);
	/* emit_seg's way for an ordinary piece, without its look-ups */
	for (size_t k = 0; k < n; k++)
		if (em->emit(em->ctx, ids[k], 0, 0) < 0)
			return -1;
	em->prev_unk = 0;
	return 0;
}

/* The pieces of the word s[a, b), whose path starts from score *p (set to
 * its end's), to em: through the cache w. */
static int
uni_word(const tk_spm *m, wcache *w, const char *s, size_t a, size_t b, double *p, emitter *em)
{
	size_t len = b - a, i, cnt, nch;
	uni_out o = {em, a};
	const wentry *e;
	int plain;
	tk_seg path[WC_KEY];
	int32_t ids[WC_KEY];
	uint8_t pl[WC_KEY];
	double sure[2];
	uint64_t h;

	if (len > WC_KEY)
		return tk_unigram_word_run(m->uni, s + a, len, p, uni_push, &o);
	h = wc_hash(s + a, len);
	if ((e = wc_find(w, h, s + a, len, &i))) {
		const char *x = (const char *)e + WE_KEY(len);

		memcpy(&sure[0], x, sizeof sure[0]);
		if (!(sure[0] > uni_sure1(e->nch) * fabs(*p)))
			return tk_unigram_word_run(m->uni, s + a, len, p, uni_push, &o);
		x += sizeof sure[0];
		return uni_path(m, em, (const int32_t *)(const void *)x,
		                (const uint8_t *)x + e->cnt * sizeof *ids, e->cnt, e->plain, a, p);
	}
	cnt = tk_unigram_word_best(m->uni, s + a, len, path, &sure[0], &sure[1]);
	for (size_t k = 0; k < cnt; k++) {
		ids[k] = path[k].id;
		pl[k] = (uint8_t)(path[k].end - path[k].start);
	}
	/* sure[1] is uni_sure1 of its characters */
	nch = (size_t)(sure[1] * 0x1p21);
	plain = uni_plain(m, ids, cnt);
	if (w->n < WC_MAX && uni_keep(w, i, h, s + a, len, nch, sure[0], ids, pl, cnt, plain) < 0)
		return -1;
	if (!(sure[0] > sure[1] * fabs(*p)))
		return tk_unigram_word_run(m->uni, s + a, len, p, uni_push, &o);
	return uni_path(m, em, ids, pl, cnt, plain, a, p);
}

/* The next cut of s[0, n) from i on: where a space symbol sp (sl bytes)
 * starts, or n. */
static size_t
uni_cut(const char *s, size_t n, size_t i, const char *sp, size_t sl)
{
	for (; i + sl <= n; i++) {
		i = next_byte(s, i, n - sl + 1, sp[0]);
		if (i + sl > n)
			break;
		if (ws_at(s + i, sl))
			return i;
	}
	return n;
}

/* sentencepiece's lattice over the whole normalized text, word by word
 * when m->ws_cut lets it be cut before each space symbol (uni_word); the
 * result is the same. */
static int
uni_encode(const tk_spm *m, const char *s, size_t n, emitter *em, te_diag *d)
{
	const char *sp = m->escape_ws ? SPACE_SYM : " ";
	size_t sl = m->escape_ws ? 3 : 1, b;
	double score = 0;
	wcache *w;

	if (!m->ws_cut) {
		if (n && tk_unigram_encode_cb(m->uni, s, n, seg_emit, em, d) < 0)
			return -1;
		return 0;
	}
	if (!(w = wc_for(m)))
		goto nomem;
	for (size_t a = 0; a < n; a = b) {
		b = uni_cut(s, n, a ? a + sl : 1, sp, sl);
		if (uni_word(m, w, s, a, b, &score, em) < 0)
			goto nomem;
	}
	return 0;
nomem:
	return te_diag_set(d, "", 0, "out of memory");
}

/* ---------------------------------------------------------------- encode */

/* A special id (BOS, EOS) of the empty span at at, to em. */
static int
emit_special(emitter *em, int32_t id, size_t at)
{
	if (id < 0)
		return 0;
	if (!em->emit) {
		(*em->count)++;
		return 0;
	}
	return em->emit(em->ctx, id, at, at);
}

/* tk_spm_encode_cb and tk_spm_count: the pieces of text[0, len) to em. */
static int
spm_run(const tk_spm *m, const char *text, size_t len, int flags, emitter *em, te_diag *d)
{
	normed *nm = &tls.nm;
	segs *sg = &tls.sg;
	int rc = -1;

	if (len >= UINT32_MAX / 4)
		return te_diag_set(d, "", 0, "text of %zu bytes is too long", len);
	scratch_register();
	nm->map = em->spans;
	sg->n = 0;
	em->nm = nm;
	if (normalize(m, text, len, nm) < 0)
		goto nomem;
	if ((flags & TK_SPM_ADD_BOS) && emit_special(em, m->bos_id, 0) < 0)
		goto nomem;
	if (m->model_type == TK_SPM_MODEL_BPE) {
		if (bpe_encode(m, nm->s.s, nm->s.n, sg, em) < 0)
			goto nomem;
	} else if (uni_encode(m, nm->s.s, nm->s.n, em, d) < 0) {
		goto out;
	}
	if ((flags & TK_SPM_ADD_EOS) && emit_special(em, m->eos_id, len) < 0)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	rc = te_diag_set(d, "", 0, "out of memory");
out:
	scratch_trim();
	return rc;
}

int
tk_spm_encode_cb(const tk_spm *m, const char *text, size_t len, int flags, int spans,
                 tk_emit_fn emit, tk_widen_fn widen, void *ctx, te_diag *d)
{
	emitter em = {m, NULL, emit, widen, ctx, spans, NULL, 0};

	return spm_run(m, text, len, flags, &em, d);
}

int
tk_spm_encode(const tk_spm *m, const char *text, size_t len, int flags,
              te_ids *ids, tk_spm_spans *spans, te_diag *d)
{
	tk_ids_spans x = { ids, spans };

	return tk_spm_encode_cb(m, text, len, flags, spans != NULL, tk_ids_spans_emit,
	                        tk_ids_spans_widen, &x, d);
}

int
tk_spm_count(const tk_spm *m, const char *text, size_t len, int flags, size_t *count,
             te_diag *d)
{
	emitter em = {m, NULL, NULL, NULL, NULL, 0, count, 0};

	*count = 0;
	return spm_run(m, text, len, flags, &em, d);
}

/* ---------------------------------------------------------------- decode */

/* Append bytes b[0, n) as text: valid UTF-8 as is, each bad byte U+FFFD. */
static int
add_bytes(ut_buf *out, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = tk_spm_valid_char_len((const char *)b + i, n - i);

		if (!l) {
			if (ut_buf_put(out, REPLACEMENT, 3) < 0)
				return -1;
			i++;
		} else {
			if (ut_buf_put(out, (const char *)b + i, l) < 0)
				return -1;
			i += l;
		}
	}
	return 0;
}

int
tk_spm_decode(const tk_spm *m, const int32_t *ids, size_t n, ut_buf *out,
              te_diag *d)
{
	unsigned char *bytes = NULL;
	size_t nb = 0;
	int rc = 0, first = 1;

	if (ut_buf_put(out, "", 0) < 0)
		return te_diag_set(d, "", 0, "out of memory");
	if (n && !(bytes = malloc(n)))
		return te_diag_set(d, "", 0, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int32_t id = ids[i];
		const char *p;
		size_t pl;

		if (id < 0 || (size_t)id >= m->n) {
			rc = te_diag_set(d, "", 0, "id %ld at position %zu is outside "
			                 "the vocabulary (size %zu)", (long)id, i + 1, m->n);
			goto out;
		}
		if (m->type[id] == TK_SPM_TYPE_BYTE) {
			/* tk_spm_new checked the <0xXX> form */
			first = 0;
			bytes[nb++] = (unsigned char)strtoul((char[]){m->piece[id][3],
			                                     m->piece[id][4], 0}, NULL, 16);
			continue;
		}
		if (nb) {
			if (add_bytes(out, bytes, nb) < 0)
				goto nomem;
			nb = 0;
		}
		if (m->type[id] == TK_SPM_TYPE_CONTROL)
			continue;
		if (m->type[id] == TK_SPM_TYPE_UNKNOWN) {
			first = 0;
			if (ut_buf_put(out, m->unk_surface, strlen(m->unk_surface)) < 0)
				goto nomem;
			continue;
		}
		p = m->piece[id];
		pl = m->plen[id];
		/* Only the first visible piece loses its leading space. */
		if (first && pl >= 3 && memcmp(p, SPACE_SYM, 3) == 0) {
			p += 3;
			pl -= 3;
		}
		first = 0;
		while (pl) {
			if (pl >= 3 && memcmp(p, SPACE_SYM, 3) == 0) {
				if (ut_buf_put(out, " ", 1) < 0)
					goto nomem;
				p += 3;
				pl -= 3;
			} else {
				if (ut_buf_put(out, p, 1) < 0)
					goto nomem;
				p++;
				pl--;
			}
		}
	}
	if (nb && add_bytes(out, bytes, nb) < 0)
		goto nomem;
	goto out;
nomem:
	rc = te_diag_set(d, "", 0, "out of memory");
out:
	free(bytes);
	return rc;
}

/* ------------------------------------------------------------- accessors */

size_t tk_spm_vocab_size(const tk_spm *m) { return m->n; }

const char *
tk_spm_piece(const tk_spm *m, int32_t id, size_t *len)
{
	if (id < 0 || (size_t)id >= m->n)
		return NULL;
	if (len)
		*len = m->plen[id];
	return m->piece[id];
}

float
tk_spm_score(const tk_spm *m, int32_t id)
{
	return id >= 0 && (size_t)id < m->n ? m->score[id] : 0.0f;
}

tk_spm_type
tk_spm_piece_type(const tk_spm *m, int32_t id)
{
	return id >= 0 && (size_t)id < m->n ? (tk_spm_type)m->type[id]
	                                    : TK_SPM_TYPE_UNUSED;
}

int32_t
tk_spm_piece_id(const tk_spm *m, const char *s, size_t len)
{
	int32_t id = tk_strie_get(&m->reserved, s, len);

	return id >= 0 ? id : tk_strie_get(&m->pieces, s, len);
}

tk_spm_model_type tk_spm_model(const tk_spm *m) { return (tk_spm_model_type)m->model_type; }
int32_t tk_spm_unk_id(const tk_spm *m) { return m->unk_id; }
int32_t tk_spm_bos_id(const tk_spm *m) { return m->bos_id; }
int32_t tk_spm_eos_id(const tk_spm *m) { return m->eos_id; }
int32_t tk_spm_pad_id(const tk_spm *m) { return m->pad_id; }
int tk_spm_byte_fallback(const tk_spm *m) { return m->byte_fallback; }
const char *tk_spm_normalizer_name(const tk_spm *m) { return m->normalizer_name; }
int tk_spm_add_dummy_prefix(const tk_spm *m) { return m->add_dummy_prefix; }
