/* spm_cache.c: the compiled cache of a SentencePiece .model file.  The
 * first load writes the built tk_spm (pieces, scores, types, the three
 * byte tries as double arrays, BPE's merge table) as one image; later
 * loads map it and point into it, which spares the protobuf parse, the
 * tries' building and the merge table (most of a load: tokemb(5)).
 *
 * The image is believed as tok_cache.c's are: a file of the user's,
 * writable by no one else (tk_cache_blob_map), of this build's format,
 * made from the source as it is now (size, inode, times, a hash of both
 * ends), with a checksum over all of it; and every count, offset and id
 * in it is checked before use, so that a damaged image is ignored (and
 * rewritten), never misread. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "spm_int.h"
#include "tok_int.h"

#define SC_MAGIC "TOKEMBs\n"
#define SC_VERSION 1
#define SC_EXT ".spm.tokemb"
#define SC_ALIGN 64
/* smaller models load from source in no time (a test setting) */
size_t tk_spm_cache_min = 65536;

#define SC_MAX_RATIO 16     /* the most an image may weigh, times its source */
#define SC_MAX_FLOOR ((uint64_t)4 << 20)

enum {
	C_PATH, C_POOL, C_POFF, C_PLEN, C_SCORE, C_TYPE, C_SHADOW,
	C_TRIE,                 /* three tries of three sections: value, base, check */
	C_MT = C_TRIE + 9, C_NNAME, C_UNKS, C_CMAP,
	C_N
};

typedef struct sc_sec {
	uint64_t off, len;
} sc_sec;

typedef struct sc_meta {
	uint64_t n, mcap;
	uint64_t dsize[3], n_nodes[3];
	int32_t model_type, byte_fallback, unk_id, bos_id, eos_id, pad_id;
	int32_t add_dummy_prefix, remove_extra_ws, escape_ws, ws_suffix;
	int32_t has_user, has_unused, ws_cut, pad_;
	int32_t byte_id[256];
} sc_meta;

/* The checksum covers everything after the first 64 bytes. */
typedef struct sc_head {
	char magic[8];
	uint32_t version, head_size;
	uint64_t fingerprint, total, sum;
	uint8_t pad_[24];
	/* offset 64 */
	tk_cache_src src;
	sc_meta meta;
	sc_sec sec[C_N];
} sc_head;

#define HEAD_SIZE ((sizeof(sc_head) + SC_ALIGN - 1) / SC_ALIGN * SC_ALIGN)

static uint64_t
fingerprint(void)
{
	return (uint64_t)sizeof(sc_head) << 48 ^ (uint64_t)sizeof(sc_meta) << 32 ^
	       (uint64_t)sizeof(struct mslot) << 24 ^ (uint64_t)sizeof(size_t) << 16 ^
	       (uint64_t)C_N << 8 ^ SC_VERSION;
}

static tk_strie *
trie_of(tk_spm *m, int k)
{
	return k == 0 ? &m->pieces : k == 1 ? &m->reserved : &m->user;
}

/* ------------------------------------------------------------- writing */

typedef struct part {
	const void *p;
	size_t n;
} part;

int
tk_spm_cache_save(const tk_spm *cm, const char *path)
{
	tk_spm *m = (tk_spm *)cm;	/* read only: trie_of takes it whole */
	part w[C_N];
	uint32_t *poff = NULL;
	unsigned char *img = NULL;
	char *canon = NULL;
	sc_head h;
	struct stat st;
	size_t off, pool_n = 0;
	int k, rc = -1;

	if (!tk_cache_enabled() || m->map || stat(path, &st) ||
	    (uint64_t)st.st_size < tk_spm_cache_min)
		return -1;
	for (k = 0; k < 3; k++)
		if (!trie_of(m, k)->base)
			return -1;	/* not compiled: nothing to map */
	memset(&h, 0, sizeof h);
	memset(w, 0, sizeof w);
	if (!(canon = realpath(path, NULL)) || tk_cache_blob_source(path, &h.src) ||
	    !(poff = malloc(m->n * sizeof *poff)))
		goto out;
	for (size_t i = 0; i < m->n; i++) {
		poff[i] = (uint32_t)(m->piece[i] - m->pool);
		pool_n = (size_t)poff[i] + m->plen[i] + 1 > pool_n ? poff[i] + m->plen[i] + 1 : pool_n;
	}
	w[C_PATH] = (part){canon, strlen(canon) + 1};
	w[C_POOL] = (part){m->pool, pool_n};
	w[C_POFF] = (part){poff, m->n * sizeof *poff};
	w[C_PLEN] = (part){m->plen, m->n * sizeof *m->plen};
	w[C_SCORE] = (part){m->score, m->n * sizeof *m->score};
	w[C_TYPE] = (part){m->type, m->n};
	w[C_SHADOW] = (part){m->shadowed, m->n};
	for (k = 0; k < 3; k++) {
		const tk_strie *t = trie_of(m, k);

		w[C_TRIE + 3 * k] = (part){t->value, t->dsize * sizeof *t->value};
		w[C_TRIE + 3 * k + 1] = (part){t->base, t->dsize * sizeof *t->base};
		w[C_TRIE + 3 * k + 2] = (part){t->check, t->dsize * sizeof *t->check};
		h.meta.dsize[k] = t->dsize;
		h.meta.n_nodes[k] = t->n_nodes;
	}
	if (m->mt)
		w[C_MT] = (part){m->mt, m->mcap * sizeof *m->mt};
	w[C_NNAME] = (part){m->normalizer_name, strlen(m->normalizer_name) + 1};
	w[C_UNKS] = (part){m->unk_surface, strlen(m->unk_surface) + 1};
	w[C_CMAP] = (part){m->charsmap, m->charsmap_len};
	h.meta.n = m->n;
	h.meta.mcap = m->mt ? m->mcap : 0;
	h.meta.model_type = m->model_type;
	h.meta.byte_fallback = m->byte_fallback;
	h.meta.unk_id = m->unk_id;
	h.meta.bos_id = m->bos_id;
	h.meta.eos_id = m->eos_id;
	h.meta.pad_id = m->pad_id;
	h.meta.add_dummy_prefix = m->add_dummy_prefix;
	h.meta.remove_extra_ws = m->remove_extra_ws;
	h.meta.escape_ws = m->escape_ws;
	h.meta.ws_suffix = m->ws_suffix;
	h.meta.has_user = m->has_user;
	h.meta.has_unused = m->has_unused;
	h.meta.ws_cut = m->ws_cut;
	memcpy(h.meta.byte_id, m->byte_id, sizeof h.meta.byte_id);
	off = HEAD_SIZE;
	for (k = 0; k < C_N; k++) {
		h.sec[k].off = off;
		h.sec[k].len = w[k].n;
		off += (w[k].n + SC_ALIGN - 1) / SC_ALIGN * SC_ALIGN;
	}
	if (off / SC_MAX_RATIO > (uint64_t)st.st_size + SC_MAX_FLOOR / SC_MAX_RATIO ||
	    !(img = calloc(1, off)))
		goto out;
	memcpy(h.magic, SC_MAGIC, 8);
	h.version = SC_VERSION;
	h.head_size = HEAD_SIZE;
	h.fingerprint = fingerprint();
	h.total = off;
	for (k = 0; k < C_N; k++)
		if (w[k].n)
			memcpy(img + h.sec[k].off, w[k].p, w[k].n);
	memcpy(img, &h, sizeof h);
	h.sum = tk_cache_blob_sum(img + 64, off - 64);
	memcpy(img, &h, sizeof h);
	rc = tk_cache_blob_save(path, canon, SC_EXT, img, off);
out:
	free(img);
	free(poff);
	free(canon);
	return rc;
}

/* ------------------------------------------------------------- reading */

typedef struct want {
	tk_cache_src src;
	const char *canon;
} want;

/* The header's checks: format, source, section table, checksum, path. */
static int
image_ok(const void *p, size_t n, void *ctx)
{
	const want *wt = ctx;
	const unsigned char *b = p;
	const sc_head *h = p;
	const sc_sec *ps;
	int k;

	if (n < HEAD_SIZE || n % SC_ALIGN || memcmp(h->magic, SC_MAGIC, 8) ||
	    h->version != SC_VERSION || h->head_size != HEAD_SIZE ||
	    h->fingerprint != fingerprint() || h->total != n ||
	    memcmp(&h->src, &wt->src, sizeof h->src))
		return -1;
	for (k = 0; k < C_N; k++)
		if (h->sec[k].off % SC_ALIGN || h->sec[k].off < HEAD_SIZE ||
		    h->sec[k].off > n || h->sec[k].len > n - h->sec[k].off)
			return -1;
	if (tk_cache_blob_sum(b + 64, n - 64) != h->sum)
		return -1;
	ps = &h->sec[C_PATH];
	return ps->len == strlen(wt->canon) + 1 && !memcmp(b + ps->off, wt->canon, ps->len) ? 0 : -1;
}

/* Section k when it holds exactly cnt elements of size sz (NULL for an
 * empty one), in *out; -1 when its size is not that. */
static int
sec(const sc_head *h, int k, uint64_t cnt, size_t sz, void *out)
{
	if (cnt > SIZE_MAX / sz || h->sec[k].len != cnt * sz)
		return -1;
	*(const void **)out = cnt ? (const unsigned char *)h + h->sec[k].off : NULL;
	return 0;
}

static int
id_ok(int64_t id, uint64_t n, int none)
{
	return (none && id == -1) || (id >= 0 && (uint64_t)id < n);
}

/* A string section: NUL-terminated, strdup'd into *out. */
static int
str_sec(const sc_head *h, int k, char **out)
{
	const char *s = (const char *)h + h->sec[k].off;
	size_t len = h->sec[k].len;

	if (!len || s[len - 1] || strlen(s) != len - 1)
		return -1;
	return (*out = strdup(s)) ? 0 : -1;
}

/* Whether every v[0, n) is an id below nid or -1 (a trie's value array,
 * the bulk of the image: four at a time with SSE2). */
static int
values_ok(const int32_t *v, uint64_t n, uint64_t nid)
{
	uint64_t i = 0;
	uint32_t bad = 0;

#ifdef __SSE2__
	const __m128i lo = _mm_set1_epi32(-2), hi = _mm_set1_epi32((int32_t)nid);
	__m128i ok = _mm_set1_epi32(-1);

	for (; i + 4 <= n; i += 4) {
		__m128i x = _mm_loadu_si128((const __m128i *)(v + i));

		ok = _mm_and_si128(ok, _mm_and_si128(_mm_cmpgt_epi32(x, lo), _mm_cmpgt_epi32(hi, x)));
	}
	bad = _mm_movemask_epi8(ok) != 0xffff;
#endif
	for (; i < n; i++)
		bad |= (uint32_t)v[i] + 1u > (uint32_t)nid;
	return !bad;
}

static int
map_tries(tk_spm *m, const sc_head *h)
{
	const sc_meta *me = &h->meta;

	for (int k = 0; k < 3; k++) {
		tk_strie *t = trie_of(m, k);
		uint64_t ds = me->dsize[k];

		if (!ds || ds > UINT32_MAX || sec(h, C_TRIE + 3 * k, ds, 4, &t->value) ||
		    sec(h, C_TRIE + 3 * k + 1, ds, 4, &t->base) ||
		    sec(h, C_TRIE + 3 * k + 2, ds, 4, &t->check))
			return -1;
		if (!values_ok(t->value, ds, me->n))
			return -1;
		t->dsize = t->value_cap = ds;
		t->n_nodes = me->n_nodes[k];
	}
	return 0;
}

static int
map_pieces(tk_spm *m, const sc_head *h)
{
	const sc_meta *me = &h->meta;
	const uint32_t *poff;
	size_t pool_n = h->sec[C_POOL].len;

	if (sec(h, C_POFF, me->n, 4, &poff) || sec(h, C_PLEN, me->n, sizeof(size_t), &m->plen) ||
	    sec(h, C_SCORE, me->n, sizeof(float), &m->score) ||
	    sec(h, C_TYPE, me->n, 1, &m->type) || sec(h, C_SHADOW, me->n, 1, &m->shadowed) ||
	    !(m->piece = malloc(me->n * sizeof *m->piece)))
		return -1;
	m->pool = (char *)h + h->sec[C_POOL].off;
	for (size_t i = 0; i < me->n; i++) {
		if (!m->plen[i] || poff[i] >= pool_n || m->plen[i] >= pool_n - poff[i] ||
		    m->pool[poff[i] + m->plen[i]] || m->type[i] < TK_SPM_TYPE_NORMAL ||
		    m->type[i] > TK_SPM_TYPE_BYTE)
			return -1;
		m->piece[i] = m->pool + poff[i];
	}
	return 0;
}

/* BPE's merge table: a power of two of slots, one empty at least (a probe
 * ends there), values ids. */
static int
map_merges(tk_spm *m, const sc_head *h)
{
	const sc_meta *me = &h->meta;
	size_t empty = 0;

	if (me->model_type != TK_SPM_MODEL_BPE)
		return me->mcap ? -1 : 0;
	if (!me->mcap || me->mcap & (me->mcap - 1) || sec(h, C_MT, me->mcap, sizeof *m->mt, &m->mt))
		return -1;
	for (size_t i = 0; i < me->mcap; i++) {
		if (!m->mt[i].key)
			empty++;
		else if (!id_ok(m->mt[i].val, me->n, 0))
			return -1;
	}
	m->mcap = me->mcap;
	return empty ? 0 : -1;
}

static int
map_meta(tk_spm *m, const sc_head *h)
{
	const sc_meta *me = &h->meta;

	if (!me->n || me->n > INT32_MAX || !id_ok(me->unk_id, me->n, 0) ||
	    !id_ok(me->bos_id, me->n, 1) || !id_ok(me->eos_id, me->n, 1) ||
	    !id_ok(me->pad_id, me->n, 1) ||
	    (me->model_type != TK_SPM_MODEL_BPE && me->model_type != TK_SPM_MODEL_UNIGRAM))
		return -1;
	for (int b = 0; b < 256; b++)
		if (!id_ok(me->byte_id[b], me->n, !me->byte_fallback))
			return -1;
	m->n = me->n;
	m->model_type = me->model_type;
	m->byte_fallback = me->byte_fallback;
	m->unk_id = me->unk_id;
	m->bos_id = me->bos_id;
	m->eos_id = me->eos_id;
	m->pad_id = me->pad_id;
	m->add_dummy_prefix = me->add_dummy_prefix;
	m->remove_extra_ws = me->remove_extra_ws;
	m->escape_ws = me->escape_ws;
	m->ws_suffix = me->ws_suffix;
	m->has_user = me->has_user;
	m->has_unused = me->has_unused;
	m->ws_cut = me->ws_cut;
	memcpy(m->byte_id, me->byte_id, sizeof m->byte_id);
	return 0;
}

tk_spm *
tk_spm_cache_load(const char *path)
{
	want wt;
	char *canon;
	void *map;
	size_t n = 0;
	const sc_head *h;
	struct stat st;
	tk_spm *m;
	te_diag d;

	if (!tk_cache_enabled() || stat(path, &st) || (uint64_t)st.st_size < tk_spm_cache_min ||
	    tk_cache_blob_source(path, &wt.src) || !(canon = realpath(path, NULL)))
		return NULL;
	wt.canon = canon;
	map = tk_cache_blob_map(path, canon, SC_EXT, &n, image_ok, &wt);
	free(canon);
	if (!map)
		return NULL;
	if (!(m = calloc(1, sizeof *m))) {
		munmap(map, n);
		return NULL;
	}
	m->map = map;
	m->map_len = n;
	m->serial = tk_spm_serial();
	h = map;
	if (map_meta(m, h) || map_pieces(m, h) || map_tries(m, h) || map_merges(m, h) ||
	    str_sec(h, C_NNAME, &m->normalizer_name) || str_sec(h, C_UNKS, &m->unk_surface))
		goto bad;
	/* m->charsmap is left NULL: only tk_spm_cache_save reads it, and it
	 * writes no mapped model */
	if (h->sec[C_CMAP].len &&
	    !(m->pc = tk_precompiled_new((const char *)map + h->sec[C_CMAP].off,
	                                 h->sec[C_CMAP].len, &d)))
		goto bad;
	tk_spm_norm_init(m);
	/* the image's ws_cut is believed, as its pieces are (the checksum):
	 * tk_spm_ws_cut's scan of every piece was most of a load; but not
	 * with scores that would break tk_unigram_word_best's bound, which
	 * no image written here has */
	if (m->model_type == TK_SPM_MODEL_UNIGRAM &&
	    ((m->ws_cut && !tk_spm_lattice_finite(m)) || tk_spm_engine(m, path, &d) < 0))
		goto bad;
	return m;
bad:
	tk_spm_free(m);
	return NULL;
}
