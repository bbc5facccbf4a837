/* tok_cache.c: the compiled tokenizer cache.  The first load of a
 * tokenizer.json or .tiktoken file writes the built te_tok (vocabulary,
 * hash maps, merges, added tokens and their trie) as one binary image;
 * later loads map it and point into it.
 *
 * Loading must cost a few milliseconds for a 200k vocabulary, so it reads
 * only what is small or what the first encode reads anyway: the header
 * (this build's format, the source's identity: a stale cache is never
 * used), the section table, and the small sections and the vocabulary's
 * entries, under a checksum and checked one by one.  The big sections (the
 * string pool, the per-id offsets, the hash slots, the merges) are not
 * read at load: every read of them is safe where it is made (tok_util.c:
 * probes bounded by the table, entry indexes checked; tok.c: string
 * offsets checked against the pool, tk_piece_of), and the merges' slots,
 * which bpe_fast.c's flat tables trust, are checked whole before the
 * tokenizer encodes more than a little text (tk_cache_verify), or, where
 * the backtracking tables map and read none of them, before their first
 * read (tk_cache_verify_merges).  A cache
 * that fails a check at load is ignored (and rewritten); one found unsound
 * later is an error.  Caches are written whole (fsync, rename), so a torn
 * one is not met.  The format is described in tokemb(5). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spm_int.h"
#include "tok_int.h"
#include "util_int.h"

#define TC_MAGIC "TOKEMBc\n"
/* Bump when what the image holds changes meaning without changing a
 * struct size (e.g. which added tokens go in trie_raw, how a map hashes):
 * the fingerprint catches layout and hash changes, not rule changes. */
#define TC_VERSION 10
#define TC_ALIGN 64
#define TC_NONE UINT32_MAX       /* piece or bytes offset of an id that has none */
#define TC_MIN_SOURCE 65536      /* smaller sources load from source in no time */
#define TC_EDGE 65536            /* bytes of each end of the source hashed */
/* The most a cache may weigh: a multiple of its source and a floor for the
 * fixed tables (the two-byte tables alone are 512 KiB).  A real
 * tokenizer's cache is 1 to 6 times its source. */
#define TC_MAX_RATIO 16
#define TC_MAX_FLOOR ((uint64_t)4 << 20)

enum {
	S_META, S_SKEL, S_PATH, S_POOL, S_PIECE_OFF, S_PIECE_N, S_BYTES_OFF, S_BYTES_N, S_SPECIAL,
	S_VSLOT, S_VENT, S_VPOOL, S_MKEY, S_MRANK, S_MMERGED,
	S_ADDED, S_ASLOT, S_AENT, S_APOOL, S_TKEY, S_TRANK, S_TMERGED, S_TTERM, S_USCORE,
	S_FR2, S_FM2, S_BT,
	S_N
};

typedef struct tc_sec {
	uint64_t off, len;
} tc_sec;

/* The sections the checksum leaves out: the big ones, not read at load. */
#define TC_UNSUMMED (1u << S_POOL | 1u << S_PIECE_OFF | 1u << S_PIECE_N | 1u << S_BYTES_OFF | \
                     1u << S_BYTES_N | 1u << S_SPECIAL | 1u << S_VSLOT | 1u << S_VENT | \
                     1u << S_VPOOL | 1u << S_MKEY | 1u << S_MRANK | 1u << S_MMERGED | \
                     1u << S_FR2 | 1u << S_FM2 | 1u << S_BT)

/* The header.  The checksum covers the header from offset 64 on (the
 * source and the section table) and every section but TC_UNSUMMED's. */
typedef struct tc_head {
	char magic[8];
	uint32_t version, head_size;
	uint64_t fingerprint;
	uint64_t total;
	uint64_t sum;
	uint8_t pad_[24];
	/* offset 64: the source this was built from */
	uint64_t src_size, src_ino, src_dev;
	int64_t src_mtime_s, src_mtime_ns;
	uint64_t src_head, src_tail;
	uint64_t pad2_;
	tc_sec sec[S_N];
} tc_head;

/* Scalars of the te_tok. */
typedef struct tc_meta {
	int32_t kind, mtype, unk, byte_level, byte_fallback, match_special, needs_align;
	int32_t b_ranks, b_byte_level, b_byte_fallback, b_fuse_unk, b_ignore_merges, b_unk;
	int32_t wp_unk;
	uint32_t wp_prefix_n;
	int32_t pad_;
	int64_t max_length;
	uint64_t nvocab, nadded, uni_n;
	uint64_t v_n, m_n, a_n, t_n, trie_n;
	uint64_t wp_max_chars;
	int32_t byte_id[256];
	char wp_prefix[32];
	unsigned char trie_first[256];
} tc_meta;

/* An added token in the image: its text is pool[off, off + n). */
typedef struct tc_added {
	uint32_t off, n;
	int32_t id;
	uint32_t flags;
} tc_added;

enum { A_SPECIAL = 1, A_LSTRIP = 2, A_RSTRIP = 4, A_SINGLE = 8, A_NORMALIZED = 16 };

/* Changes with the hash functions and the layout of what is mapped. */
static uint64_t
fingerprint(void)
{
	static const char probe[] = "tokemb compiled tokenizer cache";

	return ut_hash(probe, sizeof probe - 1) ^ tk_pair_hash(0x0123456789abcdefULL) ^
	       ((uint64_t)sizeof(tc_head) << 48 | (uint64_t)sizeof(tc_meta) << 32 |
	        (uint64_t)sizeof(ut_sment) << 16 | (uint64_t)sizeof(te_tok)) ^
	       ((uint64_t)sizeof(tk_bpe) << 40 | (uint64_t)sizeof(tk_added) << 20 |
	        (uint64_t)sizeof(tk_fastmap) << 8 | TC_VERSION);
}

/* ------------------------------------------------------------ checksum */

/* Four lanes of (a + w) * odd: a changed word always changes its lane. */
typedef struct tc_sum {
	uint64_t a[4];
} tc_sum;

static void
sum_init(tc_sum *s)
{
	s->a[0] = 0x243f6a8885a308d3ULL;
	s->a[1] = 0x13198a2e03707344ULL;
	s->a[2] = 0xa4093822299f31d0ULL;
	s->a[3] = 0x082efa98ec4e6c89ULL;
}

/* n is a multiple of 32. */
static void
sum_blocks(tc_sum *s, const unsigned char *p, size_t n)
{
	uint64_t a0 = s->a[0], a1 = s->a[1], a2 = s->a[2], a3 = s->a[3], w[4];
	size_t i;

	for (i = 0; i < n; i += 32) {
		memcpy(w, p + i, 32);
		a0 = (a0 + w[0]) * 0x9e3779b97f4a7c15ULL;
		a1 = (a1 + w[1]) * 0xbf58476d1ce4e5b9ULL;
		a2 = (a2 + w[2]) * 0x94d049bb133111ebULL;
		a3 = (a3 + w[3]) * 0xff51afd7ed558ccdULL;
	}
	s->a[0] = a0, s->a[1] = a1, s->a[2] = a2, s->a[3] = a3;
}

static uint64_t
sum_final(const tc_sum *s)
{
	return tk_pair_hash(s->a[0] ^ tk_pair_hash(s->a[1] ^ tk_pair_hash(s->a[2] ^
	                    tk_pair_hash(s->a[3]))));
}

/* Add n bytes at p, then zeros up to TC_ALIGN, as written. */
static void
sum_padded(tc_sum *s, const void *p, size_t n)
{
	static const unsigned char zero[TC_ALIGN];
	size_t whole = n / 32 * 32, padded = (n + TC_ALIGN - 1) / TC_ALIGN * TC_ALIGN;
	unsigned char last[32] = {0};

	sum_blocks(s, p, whole);
	if (n > whole) {
		memcpy(last, (const unsigned char *)p + whole, n - whole);
		sum_blocks(s, last, 32);
		whole += 32;
	}
	sum_blocks(s, zero, padded - whole);
}

/* The checksum of an image at base (of the sections in secs: all of them
 * but for a forged file). */
static uint64_t
image_sum(const unsigned char *base, const tc_head *h, unsigned secs)
{
	tc_sum s;
	int k;

	sum_init(&s);
	sum_blocks(&s, base + 64, h->head_size - 64);
	for (k = 0; k < S_N; k++)
		if (!(TC_UNSUMMED >> k & 1) && (secs >> k & 1))
			sum_padded(&s, base + h->sec[k].off, h->sec[k].len);
	return sum_final(&s);
}

/* ------------------------------------------------------------- where */

int
tk_cache_enabled(void)
{
	const char *e = getenv("TOKEMB_CACHE");

	return !e || strcmp(e, "0") != 0;
}

/* Up to two places for the cache of source file (canonical path canon):
 * $TOKEMB_CACHE_DIR alone when set; else beside the source, then the user
 * cache directory ($XDG_CACHE_HOME/tokemb, else ~/.cache/tokemb).  Which
 * of them is read or written is decided by cache_trusted and dir_ours.
 * Returns the count; the paths are malloc'd. */
static int
cache_paths_ext(const char *file, const char *canon, const char *ext, char *out[2])
{
	const char *dir = getenv("TOKEMB_CACHE_DIR"), *base, *xdg, *home;
	char key[32];
	int n = 0;

	base = strrchr(canon, '/');
	base = base ? base + 1 : canon;
	snprintf(key, sizeof key, "%016llx", (unsigned long long)ut_hash(canon, strlen(canon)));
	if (dir && *dir) {
		if (asprintf(&out[0], "%s/%s-%s%s", dir, base, key, ext) < 0)
			return 0;
		return 1;
	}
	if (asprintf(&out[n], "%s%s", file, ext) >= 0)
		n++;
	xdg = getenv("XDG_CACHE_HOME");
	home = getenv("HOME");
	if (xdg && *xdg == '/') {
		if (asprintf(&out[n], "%s/tokemb/%s-%s%s", xdg, base, key, ext) >= 0)
			n++;
	} else if (home && *home == '/') {
		if (asprintf(&out[n], "%s/.cache/tokemb/%s-%s%s", home, base, key, ext) >= 0)
			n++;
	}
	return n;
}

static int
cache_paths(const char *file, const char *canon, char *out[2])
{
	return cache_paths_ext(file, canon, ".tokemb", out);
}

/* What identifies the bytes of the source: stat fields and a hash of its
 * first and last TC_EDGE bytes. */
static int
source_id(const char *file, tc_head *h)
{
	struct stat st;
	char *buf;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	size_t n;
	ssize_t got;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !(buf = malloc(TC_EDGE))) {
		close(fd);
		return -1;
	}
	h->src_size = (uint64_t)st.st_size;
	h->src_ino = (uint64_t)st.st_ino;
	h->src_dev = (uint64_t)st.st_dev;
	h->src_mtime_s = (int64_t)st.st_mtim.tv_sec;
	h->src_mtime_ns = (int64_t)st.st_mtim.tv_nsec;
	n = (size_t)st.st_size < TC_EDGE ? (size_t)st.st_size : TC_EDGE;
	got = pread(fd, buf, n, 0);
	h->src_head = got == (ssize_t)n ? ut_hash(buf, n) : 0;
	got = pread(fd, buf, n, st.st_size - (off_t)n);
	h->src_tail = got == (ssize_t)n ? ut_hash(buf, n) : 0;
	free(buf);
	close(fd);
	return got == (ssize_t)n ? 0 : -1;
}

/* Whether an image is one the loader takes: its counts m (when given)
 * within bounds, its total size within TC_MAX_RATIO of the source's (when
 * total is given).  The writer asks first, so that no cache is written
 * that every load would refuse and rewrite. */
static int
image_fits(const tc_meta *m, uint64_t total, uint64_t src_size)
{
	if (m && (m->nvocab > (uint64_t)TK_MAX_ID + 1 || m->nadded > m->nvocab ||
	          m->uni_n > m->nvocab || m->trie_n > 64 * m->nvocab + 64 ||
	          m->wp_prefix_n >= sizeof m->wp_prefix || m->wp_prefix[m->wp_prefix_n] ||
	          (m->kind != TK_SRC_HF && m->kind != TK_SRC_TIKTOKEN)))
		return 0;
	return !total || total / TC_MAX_RATIO <= src_size + TC_MAX_FLOOR / TC_MAX_RATIO;
}

/* ------------------------------------------------------------- writing */

typedef struct wsec {
	const void *p;
	size_t n;
} wsec;

static void
wset(wsec *w, const void *p, size_t n)
{
	w->p = p;
	w->n = p ? n : 0;
}

/* Write n bytes and zeros up to the alignment. */
static int
put(FILE *fp, const void *p, size_t n)
{
	static const unsigned char zero[TC_ALIGN];
	size_t pad = (TC_ALIGN - n % TC_ALIGN) % TC_ALIGN;

	if (n && fwrite(p, 1, n, fp) != n)
		return -1;
	return pad && fwrite(zero, 1, pad, fp) != pad ? -1 : 0;
}

/* Whether the user asked for caches beside the source in directories
 * of other users (TOKEMB_CACHE=beside: a model tree shared by people who
 * agree to share its caches). */
static int
beside_asked(void)
{
	const char *e = getenv("TOKEMB_CACHE");

	return e && !strcmp(e, "beside");
}

/* Whether the directory of path is meant to be written: writable for us
 * and with a write bit set (root may write anywhere; a read-only tree of
 * models says by its modes that it is not to be written), and ours unless
 * any owner will do (any: named by TOKEMB_CACHE_DIR or TOKEMB_CACHE=beside).
 * A shared Hugging Face cache is another user's: its caches are not ours
 * to write. */
static int
dir_writable(const char *path, int any)
{
	char *p = strdup(path), *slash;
	struct stat st;
	int ok;

	if (!p)
		return 0;
	if ((slash = strrchr(p, '/')))
		*(slash == p ? slash + 1 : slash) = 0;
	else
		strcpy(p, ".");
	ok = !stat(p, &st) && S_ISDIR(st.st_mode) && (st.st_mode & 0222) && !access(p, W_OK) &&
	     (any || st.st_uid == geteuid());
	free(p);
	return ok;
}

/* Create the directories above path (mode 0777 less the umask). */
static void
make_parents(const char *path)
{
	char *p = strdup(path), *q;

	if (!p)
		return;
	for (q = p + 1; (q = strchr(q, '/')); q++) {
		*q = 0;
		mkdir(p, 0777);
		*q = '/';
	}
	free(p);
}

/* The strings of t packed for the cache: one pool for the pieces, their
 * bytes and the added tokens, and where each starts. */
typedef struct tc_strings {
	char *pool;
	size_t pool_n;
	uint32_t *poff, *boff;
	tc_added *ad;
} tc_strings;

static void
strings_release(tc_strings *ps)
{
	free(ps->pool);
	free(ps->poff);
	free(ps->boff);
	free(ps->ad);
}

static int
pack_strings(const te_tok *t, tc_strings *ps)
{
	size_t pool_n = 0, i, off;
	char *pool;

	for (i = 0; i < t->nvocab; i++)
		pool_n += (t->piece[i] ? t->piece_n[i] + 1 : 0) + (t->bytes[i] ? t->bytes_n[i] + 1 : 0);
	for (i = 0; i < t->nadded; i++)
		pool_n += t->added[i].n + 1;
	if (pool_n > UINT32_MAX - 1)
		return -1;
	ps->pool_n = pool_n;
	ps->poff = malloc((t->nvocab + 1) * sizeof *ps->poff);
	ps->boff = malloc((t->nvocab + 1) * sizeof *ps->boff);
	ps->ad = malloc((t->nadded + 1) * sizeof *ps->ad);
	pool = ps->pool = malloc(pool_n + 1);
	if (!ps->poff || !ps->boff || !ps->ad || !pool)
		return -1;
	off = 0;
	for (i = 0; i < t->nvocab; i++) {
		ps->poff[i] = ps->boff[i] = TC_NONE;
		if (t->piece[i]) {
			ps->poff[i] = (uint32_t)off;
			memcpy(pool + off, t->piece[i], t->piece_n[i]);
			pool[off + t->piece_n[i]] = 0;
			off += t->piece_n[i] + 1;
		}
		if (t->bytes[i]) {
			ps->boff[i] = (uint32_t)off;
			memcpy(pool + off, t->bytes[i], t->bytes_n[i]);
			pool[off + t->bytes_n[i]] = 0;
			off += t->bytes_n[i] + 1;
		}
	}
	for (i = 0; i < t->nadded; i++) {
		const tk_added *x = &t->added[i];
		tc_added *a = &ps->ad[i];

		a->off = (uint32_t)off;
		a->n = (uint32_t)x->n;
		a->id = x->id;
		a->flags = (x->special ? A_SPECIAL : 0) | (x->lstrip ? A_LSTRIP : 0) |
		           (x->rstrip ? A_RSTRIP : 0) | (x->single_word ? A_SINGLE : 0) |
		           (x->normalized ? A_NORMALIZED : 0);
		memcpy(pool + off, x->s, x->n);
		pool[off + x->n] = 0;
		off += x->n + 1;
	}
	return 0;
}

/* The word vocabulary of t's model, or NULL. */
static const ut_strmap *
model_vocab(const te_tok *t)
{
	return t->mtype == TK_M_BPE ? &t->bpe.vocab :
	       t->mtype == TK_M_WORDPIECE || t->mtype == TK_M_WORDLEVEL ? &t->wp.vocab : NULL;
}

static void
fill_meta(const te_tok *t, int kind, tc_meta *mp)
{
	const ut_strmap *vm = model_vocab(t);
	tc_meta m;

	memset(&m, 0, sizeof m);
	m.kind = kind;
	m.mtype = t->mtype;
	m.unk = t->unk;
	m.byte_level = t->byte_level;
	m.byte_fallback = t->byte_fallback;
	m.match_special = t->match_special;
	m.needs_align = t->needs_align;
	m.max_length = t->max_length;
	m.nvocab = t->nvocab;
	m.nadded = t->nadded;
	m.uni_n = t->uni_n;
	m.b_ranks = t->bpe.ranks;
	m.b_byte_level = t->bpe.byte_level;
	m.b_byte_fallback = t->bpe.byte_fallback;
	m.b_fuse_unk = t->bpe.fuse_unk;
	m.b_ignore_merges = t->bpe.ignore_merges;
	m.b_unk = t->bpe.unk;
	memcpy(m.byte_id, t->bpe.byte_id, sizeof m.byte_id);
	m.wp_unk = t->wp.unk;
	m.wp_prefix_n = (uint32_t)t->wp.prefix_n;
	memcpy(m.wp_prefix, t->wp.prefix, sizeof m.wp_prefix);
	m.wp_max_chars = t->wp.max_chars;
	m.v_n = vm ? vm->n : 0;
	m.m_n = t->bpe.merges.n;
	m.a_n = t->added_map.n;
	m.t_n = t->trie_raw.edge.n;
	m.trie_n = t->trie_raw.n;
	memcpy(m.trie_first, t->trie_raw.first, sizeof m.trie_first);
	memcpy(mp, &m, sizeof m);
}

/* Point the sections w at what they hold; *m2p and *btp are set to
 * malloc'd tables the caller frees.  -1 when out of memory. */
static int
set_sections(const te_tok *t, wsec *w, const tc_meta *mp, const char *skel, const char *canon,
             const tc_strings *ps, int32_t **m2p, void **btp)
{
	const ut_strmap *vm = model_vocab(t);
	const tk_fastmap *fm;
	const tk_bt *bt;
	size_t i, np = t->nvocab;
	int32_t *m2;

#define W(id, ptr, cnt) wset(&w[id], (ptr), (size_t)(cnt))
	W(S_META, mp, sizeof *mp);
	W(S_SKEL, skel, strlen(skel) + 1);
	W(S_PATH, canon, strlen(canon) + 1);
	W(S_POOL, ps->pool, ps->pool_n);
	W(S_PIECE_OFF, ps->poff, np * 4);
	W(S_PIECE_N, t->piece_n, np * 4);
	W(S_BYTES_OFF, ps->boff, np * 4);
	W(S_BYTES_N, t->bytes_n, np * 4);
	W(S_SPECIAL, t->special, np);
	if (vm && vm->slot) {
		W(S_VSLOT, vm->slot, (vm->mask + 1) * 8);
		W(S_VENT, vm->ent, vm->n * sizeof *vm->ent);
		W(S_VPOOL, vm->pool, vm->pool_n);
	}
	if (t->bpe.merges.key) {
		const tk_pairmap *pm = &t->bpe.merges;

		W(S_MKEY, pm->key, (pm->mask + 1) * 8);
		W(S_MRANK, pm->rank, (pm->mask + 1) * 4);
		W(S_MMERGED, pm->merged, (pm->mask + 1) * 4);
	}
	W(S_ADDED, ps->ad, t->nadded * sizeof *ps->ad);
	if (t->added_map.slot) {
		W(S_ASLOT, t->added_map.slot, (t->added_map.mask + 1) * 8);
		W(S_AENT, t->added_map.ent, t->added_map.n * sizeof *t->added_map.ent);
		W(S_APOOL, t->added_map.pool, t->added_map.pool_n);
	}
	if (t->trie_raw.edge.key) {
		const tk_pairmap *pm = &t->trie_raw.edge;

		W(S_TKEY, pm->key, (pm->mask + 1) * 8);
		W(S_TRANK, pm->rank, (pm->mask + 1) * 4);
		W(S_TMERGED, pm->merged, (pm->mask + 1) * 4);
	}
	if (t->trie_raw.term)
		W(S_TTERM, t->trie_raw.term, t->trie_raw.n * 4);
	if (t->mtype == TK_M_UNIGRAM)
		W(S_USCORE, t->uni_score, t->uni_n * sizeof *t->uni_score);
	/* bpe_fast.c's two-byte tables, which it would build from the whole
	 * vocabulary or 65536 merge lookups at the first encode: their merged
	 * ids where there is a merge, -1 elsewhere (the rest is unset) */
	if (tk_fast_ok(t) && (fm = tk_fastmap_get(&t->bpe)) && fm->r2) {
		W(S_FR2, fm->r2, 65536 * 4);
		if (fm->m2) {
			if (!(*m2p = m2 = malloc(65536 * sizeof *m2)))
				return -1;
			for (i = 0; i < 65536; i++)
				m2[i] = fm->r2[i] >= 0 ? fm->m2[i] : -1;
			W(S_FM2, m2, 65536 * 4);
		}
		/* bpe_bt.c's tables, some tens of ms to build for a large
		 * vocabulary, and needed by the first long word */
		if ((t->bpe.ranks || t->bpe.byte_level) && (bt = tk_fastmap_bt(&t->bpe)) &&
		    (*btp = malloc(tk_bt_image_size(bt)))) {
			tk_bt_image_write(bt, *btp);
			W(S_BT, *btp, tk_bt_image_size(bt));
		}
	}
#undef W
	return 0;
}

/* The header of sections w, with its checksum: the header from 64 on,
 * then the summed sections. */
static void
seal_head(tc_head *h, const wsec *w)
{
	unsigned char hb[sizeof *h + TC_ALIGN] = {0};
	uint64_t off;
	tc_sum s;
	int k;

	memcpy(h->magic, TC_MAGIC, 8);
	h->version = TC_VERSION;
	h->head_size = (sizeof *h + TC_ALIGN - 1) / TC_ALIGN * TC_ALIGN;
	h->fingerprint = fingerprint();
	off = h->head_size;
	for (k = 0; k < S_N; k++) {
		h->sec[k].off = off;
		h->sec[k].len = w[k].n;
		off += (w[k].n + TC_ALIGN - 1) / TC_ALIGN * TC_ALIGN;
	}
	h->total = off;
	memcpy(hb, h, sizeof *h);
	sum_init(&s);
	sum_blocks(&s, hb + 64, h->head_size - 64);
	for (k = 0; k < S_N; k++)
		if (!(TC_UNSUMMED >> k & 1))
			sum_padded(&s, w[k].p, w[k].n);
	h->sum = sum_final(&s);
}

/* The cache (named with ext) of file opened for writing at the first of
 * its places that takes it: beside the source only where it is writable;
 * the cache directories are made when missing.  NULL when none does. */
static te_atomic *
cache_open(const char *file, const char *canon, const char *ext)
{
	char *paths[2] = {NULL, NULL};
	te_atomic *a = NULL;
	const char *dir = getenv("TOKEMB_CACHE_DIR");
	struct stat st;
	int k, n, dir_named = dir && *dir;

	n = cache_paths_ext(file, canon, ext, paths);
	for (k = 0; k < n && !a; k++) {
		if (k > 0 || dir_named)
			make_parents(paths[k]);
		if (dir_writable(paths[k], dir_named || (k == 0 && beside_asked())))
			a = te_atomic_open(paths[k], NULL);
	}
	/* never group- or other-writable, whatever the umask: such a cache
	 * is not trusted (cache_trusted) */
	if (a && !fstat(fileno(te_atomic_fp(a)), &st) && (st.st_mode & 022))
		(void)fchmod(fileno(te_atomic_fp(a)), st.st_mode & 0755);
	free(paths[0]);
	free(paths[1]);
	return a;
}

/* Write the cache of file at the first of its places that takes it. */
static int
write_cache(const char *file, const char *canon, const tc_head *h, const wsec *w)
{
	unsigned char hb[sizeof *h + TC_ALIGN] = {0};
	te_atomic *a;
	FILE *fp;
	int k;

	memcpy(hb, h, sizeof *h);
	if (!(a = cache_open(file, canon, ".tokemb")))
		return -1;
	/* synced before the rename: the big sections are not under the
	 * checksum, so a torn file must never be seen */
	fp = te_atomic_fp(a);
	if (put(fp, hb, h->head_size))
		goto bad;
	for (k = 0; k < S_N; k++)
		if (put(fp, w[k].p, w[k].n))
			goto bad;
	return te_atomic_commit(a, NULL);
bad:
	te_atomic_abort(a);
	return -1;
}

int
tk_cache_save(const te_tok *t, const char *file, int kind, const char *skel)
{
	char *canon = NULL;
	int32_t *m2 = NULL;
	void *bt = NULL;
	tc_strings ps;
	tc_head h;
	tc_meta m;
	wsec w[S_N];
	int rc = -1;
	struct stat st;

	if (!tk_cache_enabled() || t->cmap || t->spm || (t->mtype == TK_M_UNIGRAM && !t->uni_score))
		return -1;
	if (stat(file, &st) || st.st_size < TC_MIN_SOURCE)
		return -1;
	memset(&h, 0, sizeof h);
	memset(w, 0, sizeof w);
	memset(&ps, 0, sizeof ps);
	if (!(canon = realpath(file, NULL)) || source_id(file, &h) || pack_strings(t, &ps))
		goto out;
	fill_meta(t, kind, &m);
	if (!image_fits(&m, 0, 0) || set_sections(t, w, &m, skel, canon, &ps, &m2, &bt))
		goto out;
	seal_head(&h, w);
	if (!image_fits(&m, h.total, h.src_size) && w[S_BT].n) {
		w[S_BT].n = 0;	/* too big with them: built in each process instead */
		seal_head(&h, w);
	}
	if (!image_fits(&m, h.total, h.src_size))
		goto out;
	rc = write_cache(file, canon, &h, w);
out:
	free(canon);
	strings_release(&ps);
	free(m2);
	free(bt);
	return rc;
}

/* ------------------------------------------------------------- reading */

typedef struct img {
	const unsigned char *base;
	const tc_head *h;
	const tc_meta *m;
} img;

/* Section k, when it holds exactly n elements of size sz (n * sz bytes). */
static const void *
sec(const img *im, int k, size_t n, size_t sz)
{
	const tc_sec *s = &im->h->sec[k];

	if (sz && n > SIZE_MAX / sz)
		return NULL;
	if (s->len != n * sz || !s->len)
		return NULL;
	return im->base + s->off;
}

static int
pow2(uint64_t n)
{
	return n && !(n & (n - 1));
}

/* A string map from the image: n entries, a power of two slots, more than
 * n.  With all (small maps), every slot and entry is checked too: entries
 * index by their slots, keys in the pool, values below maxval; else the
 * lookups check what they read (ut_strmap_get_h) and tk_cache_verify the
 * rest. */
static int
map_strmap(const img *im, int ks, int ke, int kp, uint64_t n, int32_t maxval, int all,
           ut_strmap *sm)
{
	const tc_sec *ss = &im->h->sec[ks], *sp = &im->h->sec[kp];
	const uint64_t *slot;
	const ut_sment *ent;
	size_t i, used = 0;

	memset(sm, 0, sizeof *sm);
	if (!n)
		return ss->len || im->h->sec[ke].len || sp->len ? -1 : 0;
	if (ss->len % 8 || !pow2(ss->len / 8) || ss->len / 8 <= n || !sp->len || n > UINT32_MAX - 1)
		return -1;
	if (!(slot = sec(im, ks, ss->len / 8, 8)) || !(ent = sec(im, ke, n, sizeof *ent)))
		return -1;
	for (i = 0; all && i < ss->len / 8; i++) {
		if (!slot[i])
			continue;
		if ((uint32_t)slot[i] > n || slot[i] << 32 >> 32 == 0)
			return -1;
		used++;
	}
	if (all && used != n)
		return -1;
	for (i = 0; all && i < n; i++)
		if ((uint64_t)ent[i].koff + ent[i].klen >= sp->len || ent[i].val < 0 ||
		    ent[i].val >= maxval)
			return -1;
	sm->slot = (uint64_t *)slot;
	sm->mask = ss->len / 8 - 1;
	sm->ent = (ut_sment *)ent;
	sm->n = sm->cap = n;
	sm->pool = (char *)(im->base + sp->off);
	sm->pool_n = sm->pool_cap = sp->len;
	return 0;
}

/* The entries of a string map: keys in the pool, values below maxval.
 * By the greatest key end and value (as unsigned: a negative one is
 * greatest), without a branch an entry: this runs over the whole
 * vocabulary in every process that encodes by a mapped cache. */
static int
strmap_sound(const ut_strmap *sm, int32_t maxval)
{
	const ut_sment *e = sm->ent;
	uint64_t end = 0;
	uint32_t top = 0;
	size_t i;

	for (i = 0; i < sm->n; i++) {
		uint64_t k = (uint64_t)e[i].koff + e[i].klen;
		uint32_t v = (uint32_t)e[i].val;

		end = k > end ? k : end;
		top = v > top ? v : top;
	}
	return !sm->n || (end < sm->pool_n && maxval > 0 && top < (uint32_t)maxval);
}

/* The two-byte tables of f: r2 a rank (or -1, -2), and with m2 its
 * merged id, below nv; without m2 r2 is an id below nv.  Without a
 * branch (vectorized). */
static int
fast2_sound(const tk_fastmap *f, int32_t nv)
{
	const int32_t *r2 = f->r2, *m2 = f->m2;
	unsigned bad = 0;
	size_t i;

	if (m2)
		for (i = 0; i < 65536; i++)
			bad |= (r2[i] < -2) | ((r2[i] >= 0) & ((m2[i] < 0) | (m2[i] >= nv)));
	else
		for (i = 0; i < 65536; i++)
			bad |= (r2[i] < -2) | (r2[i] >= nv);
	return !bad;
}

/* The slots of a pair map: n used, merged values below maxval. */
static int
pairmap_sound(const tk_pairmap *pm, int32_t maxval)
{
	size_t i, used = 0;

	for (i = 0; pm->n && i <= pm->mask; i++) {
		if (!pm->key[i])
			continue;
		if (pm->merged[i] < 0 || pm->merged[i] >= maxval)
			return 0;
		used++;
	}
	return used == pm->n;
}

/* A pair map from the image; merged values below maxval.  With all, its
 * slots are checked now; else by tk_cache_verify. */
static int
map_pairmap(const img *im, int kk, int kr, int km, uint64_t n, int32_t maxval, int all,
            tk_pairmap *pm)
{
	const tc_sec *sk = &im->h->sec[kk];
	const uint64_t *key;
	const int32_t *merged;
	const uint32_t *rank;
	size_t slots;

	memset(pm, 0, sizeof *pm);
	if (!n)
		return sk->len || im->h->sec[kr].len || im->h->sec[km].len ? -1 : 0;
	if (sk->len % 8 || !pow2(sk->len / 8) || sk->len / 8 <= n)
		return -1;
	slots = sk->len / 8;
	if (!(key = sec(im, kk, slots, 8)) || !(rank = sec(im, kr, slots, 4)) ||
	    !(merged = sec(im, km, slots, 4)))
		return -1;
	pm->key = (uint64_t *)key;
	pm->rank = (uint32_t *)rank;
	pm->merged = (int32_t *)merged;
	pm->mask = slots - 1;
	pm->n = n;
	if (all && !pairmap_sound(pm, maxval)) {
		memset(pm, 0, sizeof *pm);
		return -1;
	}
	return 0;
}

static int
valid_id(int32_t id, uint64_t nvocab)
{
	return id >= -1 && (int64_t)id < (int64_t)nvocab;
}

static pthread_mutex_t verify_mu = PTHREAD_MUTEX_INITIALIZER;

/* What a mapped te_tok leaves unchecked at load (the vocabulary's
 * entries, the merges' slots, the two-byte tables) is checked here once,
 * before it encodes more than TK_CVERIFY_AFTER bytes in all: bpe_fast.c's
 * flat tables, built on more, trust all of it.  Until then the lookups
 * check what they read and te_tok_encode the ids it returns
 * (tk_cache_ids_ok). */
int
tk_cache_verify(const te_tok *t, size_t len)
{
	te_tok *w = (te_tok *)t;
	int st;

	if (!t->cmap)
		return 0;
	if ((st = __atomic_load_n(&t->cverify, __ATOMIC_ACQUIRE)))
		return st > 0 ? 0 : -1;
	/* len 0: now (no overflow of the count either way) */
	if (len && __atomic_add_fetch(&w->cverify_seen, len, __ATOMIC_RELAXED) <= TK_CVERIFY_AFTER)
		return 0;
	pthread_mutex_lock(&verify_mu);
	if (!(st = t->cverify)) {
		const ut_strmap *v = t->mtype == TK_M_BPE ? &t->bpe.vocab : &t->wp.vocab;
		const tk_fastmap *f = t->bpe.fast;
		int32_t nv = (int32_t)t->nvocab;

		/* the merges, where the backtracking tables map and every
		 * encoding goes through them, are read only where those give out
		 * (a forged image): checked then (tk_cache_verify_merges) */
		int later = t->mtype == TK_M_BPE && f && f->bt_img && !t->trie_norm.n &&
		            tk_fast_ok(t) && tk_fastmap_bt(&t->bpe);

		st = strmap_sound(v, nv) && (later || pairmap_sound(&t->bpe.merges, nv)) ? 1 : -1;
		if (later && st > 0) {
			tk_fastmap *fw = (tk_fastmap *)f;

			fw->mcheck_max = nv;
			fw->mcheck_path = t->cpath;
			__atomic_store_n(&fw->mcheck, 1, __ATOMIC_RELEASE);
		}
		if (st > 0 && f && f->r2 && !fast2_sound(f, nv))
			st = -1;
		if (st < 0 && t->cpath)
			unlink(t->cpath);	/* the next load rebuilds it */
		__atomic_store_n(&w->cverify, st, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&verify_mu);
	return st > 0 ? 0 : -1;
}

int
tk_cache_verify_merges(const tk_bpe *m)
{
	tk_fastmap *f = m->fast;
	int st;

	if (!f || !(st = __atomic_load_n(&f->mcheck, __ATOMIC_ACQUIRE)))
		return 0;
	pthread_mutex_lock(&verify_mu);
	if ((st = f->mcheck) > 0) {
		st = pairmap_sound(&m->merges, f->mcheck_max) ? 0 : -1;
		if (st < 0 && f->mcheck_path)
			unlink(f->mcheck_path);	/* the next load rebuilds it */
		__atomic_store_n(&f->mcheck, st, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&verify_mu);
	return st < 0 ? -1 : 0;
}

/* Point t at the image, checking what is small; what is big is checked
 * where it is read. */
/* The Unigram model, built from all the pieces now. */
static int
build_unigram(te_tok *t, const img *im, const uint32_t *poff, const uint32_t *boff,
              const char *file)
{
	const tc_meta *m = im->m;
	size_t i, nv = m->nvocab;
	const double *sc = sec(im, S_USCORE, m->uni_n, sizeof(double));

	if (m->v_n || m->m_n || (m->uni_n && !sc))
		return -1;
	if (nv) {
		char **pc = calloc(nv, sizeof *pc), **by = calloc(nv, sizeof *by);
		size_t n;

		if (!pc || !by) {
			free(pc);
			free(by);
			return -1;
		}
		for (i = 0; i < nv; i++) {
			pc[i] = (char *)tk_piece_of(t, (int32_t)i, &n);
			by[i] = (char *)tk_bytes_of(t, (int32_t)i, &n);
		}
		t->piece = pc;
		t->bytes = by;
		for (i = 0; i < nv; i++)
			if ((poff[i] != TC_NONE && !pc[i]) || (boff[i] != TC_NONE && !by[i]))
				return -1;
	}
	for (i = 0; i < m->uni_n; i++)
		if (!t->piece[i])
			return -1;
	return tk_hf_unigram(t, m->uni_n, sc, file, NULL);
}

/* The model's settings and tables. */
static int
build_model(te_tok *t, const img *im, const uint32_t *poff, const uint32_t *boff,
            const char *file)
{
	const tc_meta *m = im->m;
	int32_t maxid = (int32_t)m->nvocab;

	switch (t->mtype) {
	case TK_M_BPE:
		t->algo = "BPE";
		t->bpe.ranks = m->b_ranks;
		t->bpe.byte_level = m->b_byte_level;
		t->bpe.byte_fallback = m->b_byte_fallback;
		t->bpe.fuse_unk = m->b_fuse_unk;
		t->bpe.ignore_merges = m->b_ignore_merges;
		t->bpe.unk = m->b_unk;
		memcpy(t->bpe.byte_id, m->byte_id, sizeof m->byte_id);
		if (map_strmap(im, S_VSLOT, S_VENT, S_VPOOL, m->v_n, maxid, 0, &t->bpe.vocab) ||
		    map_pairmap(im, S_MKEY, S_MRANK, S_MMERGED, m->m_n, maxid, 0, &t->bpe.merges))
			return -1;
		break;
	case TK_M_WORDPIECE:
	case TK_M_WORDLEVEL:
		t->algo = t->mtype == TK_M_WORDPIECE ? "WordPiece" : "WordLevel";
		t->wp.unk = m->wp_unk;
		memcpy(t->wp.prefix, m->wp_prefix, sizeof t->wp.prefix);
		t->wp.prefix_n = m->wp_prefix_n;
		t->wp.max_chars = (size_t)m->wp_max_chars;
		if (map_strmap(im, S_VSLOT, S_VENT, S_VPOOL, m->v_n, maxid, 0, &t->wp.vocab) || m->m_n)
			return -1;
		break;
	case TK_M_UNIGRAM:
		return build_unigram(t, im, poff, boff, file);
	default:
		return -1;
	}
	return 0;
}

/* The added tokens, their map and their trie: small, checked whole. */
static int
build_added(te_tok *t, const img *im)
{
	const tc_meta *m = im->m;
	const tc_sec *ps = &im->h->sec[S_POOL];
	const char *pool = (const char *)im->base + ps->off;
	const tc_added *ad = NULL;
	size_t i, nv = m->nvocab;

	if (m->nadded && !(ad = sec(im, S_ADDED, m->nadded, sizeof *ad)))
		return -1;
	if (m->nadded && !(t->added = calloc(m->nadded, sizeof *t->added)))
		return -1;
	t->nadded = m->nadded;
	for (i = 0; i < m->nadded; i++) {
		if ((uint64_t)ad[i].off + ad[i].n >= ps->len || pool[ad[i].off + ad[i].n] ||
		    ad[i].id < 0 || (uint64_t)ad[i].id >= nv)
			return -1;
		t->added[i].s = (char *)pool + ad[i].off;
		t->added[i].n = ad[i].n;
		t->added[i].id = ad[i].id;
		t->added[i].special = !!(ad[i].flags & A_SPECIAL);
		t->added[i].lstrip = !!(ad[i].flags & A_LSTRIP);
		t->added[i].rstrip = !!(ad[i].flags & A_RSTRIP);
		t->added[i].single_word = !!(ad[i].flags & A_SINGLE);
		t->added[i].normalized = !!(ad[i].flags & A_NORMALIZED);
	}
	if (map_strmap(im, S_ASLOT, S_AENT, S_APOOL, m->a_n, (int32_t)m->nadded, 1, &t->added_map))
		return -1;
	if (m->trie_n) {
		const int32_t *term = sec(im, S_TTERM, m->trie_n, 4);

		if (!term || m->trie_n > INT32_MAX)
			return -1;
		for (i = 0; i < m->trie_n; i++)
			if (term[i] < 0 || (uint64_t)term[i] > m->nadded)
				return -1;
		if (map_pairmap(im, S_TKEY, S_TRANK, S_TMERGED, m->t_n, (int32_t)m->trie_n, 1,
		                &t->trie_raw.edge))
			return -1;
		t->trie_raw.term = (int32_t *)term;
		t->trie_raw.n = t->trie_raw.cap = m->trie_n;
		memcpy(t->trie_raw.first, m->trie_first, sizeof m->trie_first);
	} else if (m->t_n) {
		return -1;
	}
	return 0;
}

/* bpe_fast.c's two-byte tables, when saved. */
static int
build_fast(te_tok *t, const img *im)
{
	const tc_meta *m = im->m;

	if (t->mtype == TK_M_BPE && (im->h->sec[S_FR2].len || im->h->sec[S_FM2].len)) {
		tk_fastmap *f;
		const int32_t *r2 = sec(im, S_FR2, 65536, 4), *m2 = NULL;

		if (!r2 || (im->h->sec[S_FM2].len && !(m2 = sec(im, S_FM2, 65536, 4))) ||
		    !m->b_ranks != !!m2 || !(f = calloc(1, sizeof *f)))
			return -1;
		f->r2 = (int32_t *)r2;
		f->m2 = (int32_t *)m2;
		/* mapped and checked when a long word first needs it */
		f->bt_img = im->h->sec[S_BT].len ? im->base + im->h->sec[S_BT].off : NULL;
		f->bt_img_n = im->h->sec[S_BT].len;
		t->bpe.fast = f;
	} else if (im->h->sec[S_BT].len) {
		return -1;
	}
	return 0;
}

static int
build(te_tok *t, const img *im, const char *file)
{
	const tc_meta *m = im->m;
	const tc_sec *ps = &im->h->sec[S_POOL];
	const char *pool = (const char *)im->base + ps->off, *skel;
	const uint32_t *poff = NULL, *boff = NULL;
	const tc_sec *sk = &im->h->sec[S_SKEL];
	size_t i, nv = m->nvocab;

	if (!image_fits(m, 0, 0))
		return -1;
	if (!sk->len || im->base[sk->off + sk->len - 1])
		return -1;
	skel = (const char *)im->base + sk->off;
	if (nv) {
		if (!ps->len || ps->len > UINT32_MAX ||
		    !(poff = sec(im, S_PIECE_OFF, nv, 4)) || !(boff = sec(im, S_BYTES_OFF, nv, 4)) ||
		    !(t->piece_n = (uint32_t *)sec(im, S_PIECE_N, nv, 4)) ||
		    !(t->bytes_n = (uint32_t *)sec(im, S_BYTES_N, nv, 4)) ||
		    !(t->special = (uint8_t *)sec(im, S_SPECIAL, nv, 1)))
			return -1;
		t->nvocab = nv;
		t->cpoff = poff;
		t->cboff = boff;
		t->cpool = pool;
		t->cpool_n = ps->len;
	}
	t->mtype = m->mtype;
	t->unk = m->unk;
	t->byte_level = m->byte_level;
	t->byte_fallback = m->byte_fallback;
	t->match_special = m->match_special;
	t->needs_align = m->needs_align;
	t->max_length = (long)m->max_length;
	if (!valid_id(t->unk, nv) || !valid_id(m->b_unk, nv) || !valid_id(m->wp_unk, nv))
		return -1;
	for (i = 0; i < 256; i++)
		if (!valid_id(m->byte_id[i], nv))
			return -1;
	if (build_model(t, im, poff, boff, file) || build_added(t, im) || build_fast(t, im))
		return -1;
	/* the vocabulary's entries, the merges and the tables: checked by
	 * tk_cache_verify */
	t->cverify = 0;
	/* the pipeline */
	if (m->kind == TK_SRC_HF)
		return tk_hf_pipeline(t, skel, file, NULL);
	return tk_tiktoken_pipeline(t, skel, file, NULL);
}

/* Whether a cache file may be believed, as ssh believes a key: a regular
 * file owned by the user and writable by no one else.  The checksum guards
 * against damage, not against people: anyone who can write the file can
 * recompute it. */
static int
cache_trusted(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid() && !(st->st_mode & 022);
}

/* Map the cache at path if it is sound and made from this source.  Only
 * the pages read are faulted in: the header, the small sections and the
 * vocabulary's entries now, the rest as encoding reads it. */
static te_tok *
try_load(const char *path, const char *file, const char *canon, const tc_head *src,
         const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char *map = MAP_FAILED;
	size_t fsz = 0;
	img im;
	const tc_head *h;
	tc_head hd;
	tc_meta md;
	te_tok *t;
	int k;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !cache_trusted(&st) || st.st_size < (off_t)sizeof(tc_head) ||
	    st.st_size % TC_ALIGN || !image_fits(NULL, (uint64_t)st.st_size, src->src_size))
		goto bad;
	fsz = (size_t)st.st_size;
	if (pread(fd, &hd, sizeof hd, 0) != (ssize_t)sizeof hd || memcmp(hd.magic, TC_MAGIC, 8) ||
	    hd.version != TC_VERSION || hd.fingerprint != fingerprint() || hd.total != fsz ||
	    hd.src_size != src->src_size || hd.src_ino != src->src_ino ||
	    hd.src_dev != src->src_dev || hd.src_mtime_s != src->src_mtime_s ||
	    hd.src_mtime_ns != src->src_mtime_ns || hd.src_head != src->src_head ||
	    hd.src_tail != src->src_tail || hd.sec[S_META].len != sizeof md ||
	    hd.sec[S_META].off > fsz - sizeof md ||
	    pread(fd, &md, sizeof md, (off_t)hd.sec[S_META].off) != (ssize_t)sizeof md ||
	    md.nvocab > (uint64_t)TK_MAX_ID + 1)
		goto bad;
	map = mmap(NULL, fsz, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		goto bad;
	close(fd);
	fd = -1;
	h = (const tc_head *)map;
	/* the file may have changed since the pread */
	if (memcmp(h, &hd, sizeof hd) || h->head_size != (sizeof *h + TC_ALIGN - 1) / TC_ALIGN * TC_ALIGN)
		goto bad;
	for (k = 0; k < S_N; k++)
		if (h->sec[k].off % TC_ALIGN || h->sec[k].off < h->head_size ||
		    h->sec[k].off > h->total || h->sec[k].len > h->total - h->sec[k].off)
			goto bad;
	if (image_sum(map, h, ~0u) != h->sum)
		goto bad;
	im.base = map;
	im.h = h;
	if (!(im.m = sec(&im, S_META, 1, sizeof(tc_meta))))
		goto bad;
	{
		const tc_sec *pp = &h->sec[S_PATH];

		if (pp->len != strlen(canon) + 1 || memcmp(im.base + pp->off, canon, pp->len))
			goto bad;
	}
	if (!(t = tk_tok_new(name)))
		goto bad;
	t->cmap = map;
	t->cmap_len = fsz;
	if (!(t->cpath = strdup(path)) || build(t, &im, file) || tk_tok_ids_ok(t, NULL) ||
	    tk_tok_derive(t, NULL)) {
		te_tok_free(t);	/* unmaps */
		return NULL;
	}
	return t;
bad:
	if (fd >= 0)
		close(fd);
	if (map != MAP_FAILED)
		munmap(map, fsz);
	return NULL;
}

te_tok *
tk_cache_load(const char *file, const char *name, int kind)
{
	char *canon, *paths[2] = {NULL, NULL};
	te_tok *t = NULL;
	tc_head src;
	struct stat st;
	int n, k;

	(void)kind;
	if (stat(file, &st) || st.st_size < TC_MIN_SOURCE)
		return NULL;
	memset(&src, 0, sizeof src);
	if (!(canon = realpath(file, NULL)))
		return NULL;
	if (source_id(file, &src)) {
		free(canon);
		return NULL;
	}
	n = cache_paths(file, canon, paths);
	for (k = 0; k < n && !t; k++)
		t = try_load(paths[k], file, canon, &src, name);
	free(paths[0]);
	free(paths[1]);
	free(canon);
	return t;
}

int
tk_cache_reseal(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	unsigned char *p;
	tc_head *h;
	int rc = -1, k;
	unsigned ok_secs = ~0u;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof *h || st.st_size % TC_ALIGN) {
		close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	h = (tc_head *)p;
	/* a forged table: the sections in the file are summed (the loader
	 * turns the others down anyway) */
	for (k = 0; k < S_N; k++)
		if (h->sec[k].off > (uint64_t)st.st_size ||
		    h->sec[k].len > (uint64_t)st.st_size - h->sec[k].off)
			ok_secs &= ~(1u << k);
	if (h->head_size >= 64 && h->head_size <= (uint64_t)st.st_size)
		h->sum = image_sum(p, h, ok_secs);
	rc = msync(p, (size_t)st.st_size, MS_SYNC);
	munmap(p, (size_t)st.st_size);
	return rc;
}

/* ------------------------------------- images of other formats (blobs) */

/* What identifies a source, for a blob's header (source_id's fields). */
int
tk_cache_blob_source(const char *file, tk_cache_src *s)
{
	tc_head h;

	memset(&h, 0, sizeof h);
	memset(s, 0, sizeof *s);
	if (source_id(file, &h))
		return -1;
	s->size = h.src_size;
	s->ino = h.src_ino;
	s->dev = h.src_dev;
	s->mtime_s = h.src_mtime_s;
	s->mtime_ns = h.src_mtime_ns;
	s->head = h.src_head;
	s->tail = h.src_tail;
	return 0;
}

uint64_t
tk_cache_blob_sum(const void *p, size_t n)
{
	tc_sum s;

	sum_init(&s);
	sum_padded(&s, p, n);
	return sum_final(&s);
}

int
tk_cache_blob_save(const char *file, const char *canon, const char *ext, const void *p, size_t n)
{
	te_atomic *a = cache_open(file, canon, ext);

	if (!a)
		return -1;
	if (fwrite(p, 1, n, te_atomic_fp(a)) != n) {
		te_atomic_abort(a);
		return -1;
	}
	return te_atomic_commit(a, NULL);
}

void *
tk_cache_blob_map(const char *file, const char *canon, const char *ext, size_t *n,
                  int (*ok)(const void *p, size_t n, void *ctx), void *ctx)
{
	char *paths[2] = {NULL, NULL};
	void *map = NULL;
	int k, np;

	np = cache_paths_ext(file, canon, ext, paths);
	for (k = 0; k < np && !map; k++) {
		int fd = open(paths[k], O_RDONLY | O_CLOEXEC);
		struct stat st;
		void *p;

		if (fd < 0)
			continue;
		if (fstat(fd, &st) || !cache_trusted(&st) || st.st_size <= 0 ||
		    (uint64_t)st.st_size > SIZE_MAX) {
			close(fd);
			continue;
		}
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (p == MAP_FAILED)
			continue;
		if (ok(p, (size_t)st.st_size, ctx)) {
			munmap(p, (size_t)st.st_size);
			continue;
		}
		map = p;
		*n = (size_t)st.st_size;
	}
	free(paths[0]);
	free(paths[1]);
	return map;
}
