/* tok.c: the public tokenizer API: loading (dispatch on the kind of file),
 * the encoding pipeline (added tokens, normalizer, pre-tokenizer, model,
 * post-processor) and decoding (the decoders). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "spm_int.h"
#include "tok_int.h"
#include "tok_uni.h"

/* ------------------------------------------------------------- loading */

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s && s[1] ? s + 1 : p;
}

static int
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && !strcmp(s + n - k, suf);
}

static int
is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

/* te_tok_display_name of t, loaded from path (as resolved).  malloc'd. */
static char *
display_name(const te_tok *t, const char *path)
{
	const char *n = te_tok_name(t), *end, *start;
	char *r;

	if (!n || (strncmp(n, "tokenizer.", 10) != 0 &&
	           strncmp(n, "original_tokenizer.", 19) != 0) ||
	    !(end = strrchr(path, '/')))
		return strdup(n ? n : path);
	while (end > path && end[-1] == '/')
		end--;
	for (start = end; start > path && start[-1] != '/'; start--)
		;
	if (end == start || (end - start == 1 && *start == '.') ||
	    (end - start == 2 && start[0] == '.' && start[1] == '.'))
		return strdup(n);
	r = malloc((size_t)(end - start) + 1);
	if (r) {
		memcpy(r, start, (size_t)(end - start));
		r[end - start] = 0;
	}
	return r;
}

te_tok *
te_tok_load(const char *path, te_diag *d)
{
	char *res = te_model_resolve(path, d), *file = NULL, *name, *skel = NULL, **want, *shown;
	te_tok *t = NULL;
	int rc = -1, kind;

	if (!res)
		return NULL;
	if (!(shown = strdup(res))) {
		free(res);
		te_diag_set(d, path, 0, "out of memory");
		return NULL;
	}
	if (is_dir(res)) {
		static const char *try[] = {"tokenizer.json", "tokenizer.model", "cl100k_base.tiktoken",
		                            "o200k_base.tiktoken", NULL};
		int i;

		for (i = 0; try[i] && !file; i++)
			file = te_model_file(res, try[i]);
		if (!file) {
			te_diag_set(d, res, 0, "no tokenizer.json, tokenizer.model or .tiktoken file here");
			free(shown);
			free(res);
			return NULL;
		}
		{	/* the directory names the tokenizer */
			char *dn = res;
			size_t n = strlen(dn);

			while (n > 1 && dn[n - 1] == '/')
				dn[--n] = 0;
		}
		name = res;
	} else {
		file = strdup(res);
		name = res;
	}
	if (!file) {
		free(shown);
		free(res);
		te_diag_set(d, path, 0, "out of memory");
		return NULL;
	}
	kind = ends_with(file, ".json") ? TK_SRC_HF :
	       ends_with(file, ".tiktoken") || tk_is_tiktoken_file(file) ? TK_SRC_TIKTOKEN : 0;
	if (kind && tk_cache_enabled() && (t = tk_cache_load(file, base_name(name), kind))) {
		rc = 0;
		goto out;
	}
	t = tk_tok_new(base_name(name));
	if (!t) {
		te_diag_set(d, path, 0, "out of memory");
		goto out;
	}
	want = kind && tk_cache_enabled() ? &skel : NULL;
	if (kind == TK_SRC_HF) {
		rc = tk_load_hf_json(t, file, want, d);
	} else if (kind == TK_SRC_TIKTOKEN) {
		rc = tk_load_tiktoken(t, file, NULL, want, d);
	} else if (ends_with(file, ".gguf")) {
		rc = tk_load_gguf(t, file, d);
	} else if (ends_with(file, ".model")) {
		rc = tk_load_spm(t, file, d);
	} else {
		rc = te_diag_set(d, file, 0, "not a tokenizer file (tokenizer.json, .tiktoken, .model, .gguf)");
	}
	if (!rc && (rc = tk_tok_finish(t, d)) && d && !d->file[0])
		snprintf(d->file, sizeof d->file, "%s", file);
	if (!rc)
		rc = tk_tok_derive(t, d);
	if (!rc && skel)
		tk_cache_save(t, file, kind, skel);	/* best effort: see tokemb(5) */
out:
	if (!rc && !(t->display = display_name(t, shown)))
		rc = te_diag_set(d, path, 0, "out of memory");
	if (rc) {
		te_tok_free(t);
		t = NULL;
	}
	free(skel);
	free(file);
	free(shown);
	free(res);
	return t;
}

/* ------------------------------------------------------------ encoding */

static inline int
enc_push(te_tok_enc *e, int32_t id, size_t a, size_t b)
{
	if (e->n == e->cap && tk_enc_room(e, 1))
		return -1;
	e->ids[e->n] = id;
	if (e->start) {	/* te_tok_encode_trunc: a text with spans fits */
		e->start[e->n] = (uint32_t)a;
		e->end[e->n] = (uint32_t)b;
	}
	e->n++;
	return 0;
}

void
te_tok_enc_release(te_tok_enc *e)
{
	if (!e)
		return;
	free(e->ids);
	free(e->start);
	free(e->end);
	memset(e, 0, sizeof *e);
}

/* Per-thread scratch, freed when the thread ends. */
static __thread tk_work tw;
static __thread tk_work twin;      /* a window of tw's text (encode_windows) */
static __thread tk_out tout;
static __thread struct cent *cache;
static __thread int32_t cache_owner;
static __thread int scratch_registered;

static void
scratch_free(void *unused)
{
	free(tw.b.s);
	tk_al_free(tw.al);
	free(tw.pa);
	free(tw.pb);
	free(tw.fixed);
	memset(&tw, 0, sizeof tw);
	free(twin.b.s);
	free(twin.pa);
	free(twin.pb);
	free(twin.fixed);
	memset(&twin, 0, sizeof twin);
	free(tout.ids);
	free(tout.a);
	free(tout.b);
	memset(&tout, 0, sizeof tout);
	free(cache);
	cache = NULL;
	cache_owner = 0;
	tk_bpe_thread_free();
	tk_fast_thread_free();
	tk_regex_thread_free();
}

/* Scratch that a long document grew past this many bytes is let go of
 * when its encoding ends: the encoding and its record take its place
 * (a byte of text keeps 8 bytes of alignment while it is encoded). */
#define SCRATCH_KEEP ((size_t)1 << 20)

/* The alignment of w, which no step reads once its tokens have spans. */
static void
work_unalign(tk_work *w)
{
	tk_al_free(w->al);
	w->al = NULL;
}

static void
scratch_trim(void)
{
	work_unalign(&tw);
	if (tw.b.cap > SCRATCH_KEEP)
		ut_buf_release(&tw.b);
	if (tw.pcap * (2 * sizeof *tw.pa + sizeof *tw.fixed) > SCRATCH_KEEP) {
		free(tw.pa);
		free(tw.pb);
		free(tw.fixed);
		tw.pa = tw.pb = NULL;
		tw.fixed = NULL;
		tw.np = tw.pcap = 0;
	}
	tk_out_trim(&tout, SCRATCH_KEEP);
}

static ut_thread_end scratch_end = UT_THREAD_END(scratch_free);

/* Make the scratch of this thread freed at its end. */
static void
thread_scratch(void)
{
	ut_thread_end_arm(&scratch_end, &scratch_registered, &scratch_registered);
}

/* Where the whitespace that ends s[lo, i) starts: Unicode White_Space
 * (tk_is_space, Rust's char::is_whitespace), what HF tokenizers' lstrip
 * and rstrip take off around an added token. */
static size_t
ws_back(const char *s, size_t lo, size_t i)
{
	while (i > lo) {
		size_t k = i - 1;
		int len;
		int32_t cp;

		while (k > lo && ((unsigned char)s[k] & 0xc0) == 0x80 && i - k < 4)
			k--;
		cp = ut_utf8_dec((const unsigned char *)s + k, i - k, &len);
		if (k + (size_t)len != i || !tk_is_space(cp))
			break;
		i = k;
	}
	return i;
}

/* Where the whitespace that starts s[i, n) ends. */
static size_t
ws_fwd(const char *s, size_t n, size_t i)
{
	while (i < n) {
		int len;
		int32_t cp = ut_utf8_dec((const unsigned char *)s + i, n - i, &len);

		if (!tk_is_space(cp))
			break;
		i += (size_t)len;
	}
	return i;
}

static int
is_word_char(int32_t cp)
{
	return cp == '_' || (cp >= 0 && (tk_uclass(cp) & (TK_U_L | TK_U_N | TK_U_M)));
}

/* Whether added token a, found at s[i, e), may match there: a special
 * one only when special, a single_word one only between word ends. */
static int
added_fits(const tk_added *a, const char *s, size_t n, size_t i, size_t e, int special)
{
	int len;
	int32_t before = -1, after = -1;

	if (a->special && !special)
		return 0;
	if (!a->single_word)
		return 1;
	if (i > 0) {
		size_t k = i - 1;

		while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
		before = ut_utf8_dec((const unsigned char *)s + k, n - k, &len);
	}
	if (e < n)
		after = ut_utf8_dec((const unsigned char *)s + e, n - e, &len);
	return !is_word_char(before) && !is_word_char(after);
}

/* The longest added token of tr starting at s[i], or -1; *end is set past it. */
static int32_t
match_added(const te_tok *t, const tk_trie *tr, const char *s, size_t n, size_t i, int special,
            size_t *end)
{
	int32_t node = 0, best = -1;
	size_t j, k;

	for (j = i; j < n; j++) {
		uint32_t unused;

		if (!tk_pairmap_get(&tr->edge, node, (unsigned char)s[j], &unused, &node))
			break;
		if (tr->term[node] && added_fits(&t->added[tr->term[node] - 1], s, n, i, j + 1, special)) {
			best = tr->term[node] - 1;
			*end = j + 1;
		}
	}
	/* a long token, compared whole where the walk reached the trie's depth */
	for (k = 0; j - i >= TK_TRIE_DEPTH && k < tr->nlong; k++) {
		const tk_trie_long *l = &tr->longs[k];

		if (l->n <= n - i && (best < 0 || i + l->n > *end) && !memcmp(s + i, l->s, l->n) &&
		    added_fits(&t->added[l->ai], s, n, i, i + l->n, special)) {
			best = l->ai;
			*end = i + l->n;
		}
	}
	return best;
}

/* Where an added token of a trie may start: the bytes that begin one,
 * looked for by memchr when there is one, 16 bytes at a time when there
 * are up to four, else byte by byte in the trie's table. */
typedef struct added_scan {
	const unsigned char *first;        /* the trie's table */
	int nb;                            /* 0: by the table */
	unsigned char b[4];
} added_scan;

/* A scan for the added tokens of tr in a text of len bytes (a short
 * text goes by the table). */
static void
added_scan_init(added_scan *sc, const tk_trie *tr, size_t len)
{
	int c;

	sc->first = tr->first;
	sc->nb = 0;
	if (len < 256)
		return;
	for (c = 0; c < 256; c++)
		if (tr->first[c]) {
			if (sc->nb == 4) {
				sc->nb = 0;
				return;
			}
			sc->b[sc->nb++] = (unsigned char)c;
		}
}

/* The first j >= i where s[j] may begin an added token, or n. */
static size_t
added_next(const added_scan *sc, const char *s, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)s;

	if (i >= n)
		return n;
	if (sc->nb == 1) {
		const char *p = memchr(s + i, sc->b[0], n - i);

		return p ? (size_t)(p - s) : n;
	}
#ifdef __SSE2__
	if (sc->nb > 1) {
		const __m128i b0 = _mm_set1_epi8((char)sc->b[0]), b1 = _mm_set1_epi8((char)sc->b[1]);
		const __m128i b2 = _mm_set1_epi8((char)sc->b[sc->nb > 2 ? 2 : 0]);
		const __m128i b3 = _mm_set1_epi8((char)sc->b[sc->nb > 3 ? 3 : 0]);

		for (; i + 16 <= n; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
			__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, b0), _mm_cmpeq_epi8(v, b1)),
			                         _mm_or_si128(_mm_cmpeq_epi8(v, b2), _mm_cmpeq_epi8(v, b3)));
			int k = _mm_movemask_epi8(m);

			if (k)
				return i + (size_t)__builtin_ctz((unsigned)k);
		}
	}
#endif
	while (i < n && !sc->first[u[i]])
		i++;
	return i;
}

/* The next added token of tr that may match in s[*i, n), leftmost-longest:
 * its index, at [*i, *end), taking [*ms, *me) with the whitespace its
 * lstrip and rstrip take (none before seg); -1 when there is none. */
static int32_t
next_added(const te_tok *t, const tk_trie *tr, const added_scan *sc, const char *s, size_t n,
           size_t seg, int special, size_t *i, size_t *end, size_t *ms, size_t *me)
{
	int32_t ai;

	for (; (*i = added_next(sc, s, n, *i)) < n; (*i)++)
		if ((ai = match_added(t, tr, s, n, *i, special, end)) >= 0) {
			*ms = t->added[ai].lstrip ? ws_back(s, seg, *i) : *i;
			*me = t->added[ai].rstrip ? ws_fwd(s, n, *end) : *end;
			return ai;
		}
	return -1;
}

static int
out_emit(void *o, int32_t id, size_t a, size_t b)
{
	return tk_out_push(o, id, a, b) ? -1 : 0;
}

static int
run_model(const te_tok *t, const char *s, size_t n, tk_out *o, te_diag *d)
{
	switch (t->mtype) {
	case TK_M_BPE:
		return tk_bpe_encode(&t->bpe, s, n, o);
	case TK_M_WORDPIECE:
		return tk_wordpiece_encode(&t->wp, s, n, o);
	case TK_M_WORDLEVEL: {
		int32_t id = ut_strmap_get(&t->wp.vocab, s, n);

		if (id < 0)
			id = t->wp.unk;
		return id >= 0 ? tk_out_push(o, id, 0, n) : 0;
	}
	case TK_M_UNIGRAM:
		return tk_unigram_encode_cb(t->unigram, s, n, out_emit, o, d);
	default:
		return te_diag_set(d, "", 0, "%s models cannot be encoded: tokemb has no encoder "
		                   "for them", t->algo);
	}
}

/* ----------------------------- an encoding handed on as it is made */

/* The encoding under way on this thread hands its final tokens on
 * (tk_tok_encode_flush): to f; what may yet change is kept. */
typedef struct flush_st {
	tk_flush *f;
	tk_amap *map;           /* sanitize's spans, or NULL */
	const tk_hand *hand;    /* a long piece's tokens being handed on */
	size_t hand0;           /* e's tokens (n + dropped_) when it began */
	int spm;                /* its last token may still widen (spm_widen) */
	int lost;               /* tokens handed on were taken back */
} flush_st;
static __thread flush_st fls;

/* Tokens are handed on this many at least, and only when they are half of
 * e or more (the rest is moved to its start). */
#define FLUSH_MIN ((size_t)1 << 16)

/* The spans of e's tokens [from, to), in a sanitized text, made the
 * input's (a U+FFFD stands for one input byte). */
static void
map_spans(te_tok_enc *e, size_t from, size_t to, tk_amap *map)
{
	for (size_t i = from; i < to; i++)
		if (e->end[i] > e->start[i]) {
			e->start[i] = tk_amap_start(map, e->start[i]);
			e->end[i] = tk_amap_end(map, e->end[i] - 1);
		}
}

/* How many of e's first tokens are final: all but those a long piece may
 * take back, and SentencePiece's last. */
static size_t
flush_final(const te_tok_enc *e)
{
	size_t n = e->n;

	if (fls.hand) {
		const tk_hand *h = fls.hand;
		size_t firm = fls.hand0 + (h->handed < h->firm ? h->handed : h->firm);

		n = firm > e->dropped_ ? firm - e->dropped_ : 0;
		if (n > e->n)
			n = e->n;
	}
	if (fls.spm && n && n == e->n)
		n--;
	return n;
}

/* Hand e's final tokens on (to fls.f), when they are enough; -1 when
 * that fails. */
static int
enc_flush(te_tok_enc *e)
{
	size_t n, rest;

	if (!fls.f || e->n < FLUSH_MIN || (n = flush_final(e)) < e->n / 2)
		return 0;	/* grown instead */
	if (fls.map && fls.map->n && e->start)
		map_spans(e, 0, n, fls.map);
	if (fls.f->put(fls.f, e, n))
		return -1;
	rest = e->n - n;
	memmove(e->ids, e->ids + n, rest * sizeof *e->ids);
	if (e->start) {
		memmove(e->start, e->start + n, rest * sizeof *e->start);
		memmove(e->end, e->end + n, rest * sizeof *e->end);
	}
	e->n = rest;
	e->dropped_ += n;	/* handed on: hand_undo counts them */
	return 0;
}

int
tk_enc_more(te_tok_enc *e, size_t k)
{
	if ((e->mode_ & TK_ENC_FLUSH) && enc_flush(e))
		return -1;
	return tk_enc_reserve(e, k);
}

/* e and where the text a SentencePiece model encodes starts in e's:
 * spm_emit and spm_widen append its tokens to e as they come. */
typedef struct spm_to {
	te_tok_enc *e;
	size_t a;
} spm_to;

static int
spm_emit(void *ctx, int32_t id, size_t os, size_t oe)
{
	spm_to *x = ctx;

	return enc_push(x->e, id, x->a + os, x->a + oe);
}

static void
spm_widen(void *ctx, size_t oe)
{
	spm_to *x = ctx;

	if (x->e->start && x->e->n)
		x->e->end[x->e->n - 1] = (uint32_t)(x->a + oe);
}

/* A SentencePiece model encodes text[a, b) whole, straight into e (its
 * spans only when e keeps them: they cost more than the ids). */
static int
encode_spm(const te_tok *t, const char *text, size_t a, size_t b, te_tok_enc *e, te_diag *d)
{
	size_t i;
	spm_to x = { e, a };
	int r;

	if (e->mode_ & TE_TOK_COUNT_ONLY) {
		/* counted, not kept: count_end adds them up */
		if (tk_spm_count(t->spm, text + a, b - a, 0, &i, d))
			return -1;
		e->dropped_ += i;
		return 0;
	}
	fls.spm = 1;	/* its last token may widen */
	r = tk_spm_encode_cb(t->spm, text + a, b - a, 0, !(e->mode_ & TE_TOK_NO_OFFSETS), spm_emit,
	                     spm_widen, &x, d);
	fls.spm = 0;
	return r;
}

/* A per-thread cache of pieces and their encodings: most words recur, and
 * a hit skips the model.  Direct-mapped; entries hold short pieces whose
 * tokens tile them. */
#define CACHE_SLOTS (1u << 16)
#define CACHE_KEY 24
#define CACHE_IDS 8
typedef struct cent {
	uint64_t h;
	uint8_t klen, nids;
	uint8_t end[CACHE_IDS];
	int32_t ids[CACHE_IDS];
	char key[CACHE_KEY];
} cent;

static cent *
cache_for(const te_tok *t)
{
	thread_scratch();
	if (!cache) {
		/* zero already: its pages are only touched as used (a memset
		 * would fault them all in, milliseconds for one short line) */
		if (!(cache = calloc(CACHE_SLOTS, sizeof *cache)))
			return NULL;
		cache_owner = t->cache_gen;
	}
	if (cache_owner != t->cache_gen) {
		memset(cache, 0, CACHE_SLOTS * sizeof *cache);
		cache_owner = t->cache_gen;
	}
	return cache;
}

static void
cache_put(cent *c, uint64_t h, const char *s, size_t n, const tk_out *o)
{
	size_t k;

	if (o->n > CACHE_IDS || !o->n)
		return;
	for (k = 0; k < o->n; k++)
		if (o->a[k] != (k ? o->b[k - 1] : 0))
			return;
	if (o->b[o->n - 1] != n)
		return;
	c->h = h;
	c->klen = (uint8_t)n;
	c->nids = (uint8_t)o->n;
	memcpy(c->key, s, n);
	for (k = 0; k < o->n; k++) {
		c->ids[k] = o->ids[k];
		c->end[k] = (uint8_t)o->b[k];
	}
}

/* Split the normalized text of w at the "normalized" added tokens (as
 * the input is split at the others): their pieces are fixed to their id,
 * whitespace stripped by lstrip/rstrip is dropped. */
static int
split_added_norm(const te_tok *t, tk_work *w, int special)
{
	const char *s = w->b.s;
	size_t n = w->b.n, i = 0, seg = 0, end, ms, me;
	int32_t ai;
	added_scan sc;

	added_scan_init(&sc, &t->trie_norm, n);
	while ((ai = next_added(t, &t->trie_norm, &sc, s, n, seg, special, &i, &end, &ms, &me)) >= 0) {
		if ((ms > seg && tk_work_push(w, seg, ms, -1)) || tk_work_push(w, i, end, t->added[ai].id))
			return -1;
		seg = i = me;
	}
	if ((seg < n || !w->np) && tk_work_push(w, seg, n, -1))
		return -1;
	return 0;
}

static int
cache_unsound(const te_tok *t, te_diag *d)
{
	return te_diag_set(d, "", 0, "%s: the compiled tokenizer cache is corrupt (removed; "
	                   "the next load rebuilds it)", t->cpath ? t->cpath : "?");
}

/* Append to e the token id of w's piece at pa, at [a, b) in it, with its
 * span in the input. */
typedef struct piece_at {
	const tk_work *w;
	size_t pa;
	te_tok_enc *e;
} piece_at;

static int
piece_emit(void *ctx, int32_t id, size_t a, size_t b)
{
	const piece_at *p = ctx;
	const tk_work *w = p->w;
	size_t ta = p->pa + a, tb = p->pa + b;
	size_t os = tk_work_os(w, ta);
	size_t oe = tb > ta ? tk_work_oe(w, tb - 1) : os;

	return enc_push(p->e, id, os, oe);
}

/* A long piece's tokens handed on to e as its model proves them final
 * (tk_hand): e's ids, kept and dropped (COUNT_ONLY), when it began. */
typedef struct piece_hand {
	tk_hand h;
	piece_at p;
	size_t total0;
} piece_hand;

static int
hand_put(tk_hand *h, const tk_out *o, size_t from, size_t to)
{
	piece_hand *ph = (piece_hand *)h;
	size_t k;

	for (k = from; k < to; k++)
		if (piece_emit(&ph->p, o->ids[k], h->at + o->a[k], h->at + o->b[k]))
			return -1;
	return 0;
}

static void
hand_undo(tk_hand *h, size_t keep)
{
	piece_hand *ph = (piece_hand *)h;
	te_tok_enc *e = ph->p.e;
	size_t drop = e->n + e->dropped_ - (ph->total0 + keep);

	if (drop <= e->n) {
		e->n -= drop;
	} else {
		/* counted (COUNT_ONLY), or handed on: then written */
		fls.lost |= (e->mode_ & TK_ENC_FLUSH) != 0;
		e->dropped_ -= drop - e->n;
		e->n = 0;
	}
}

/* Encode the pieces of w by the model (through the piece cache), appending
 * to e with their input spans.  A long piece of a Unigram model goes
 * straight to e (its tokens may be as many as its bytes), a long one of
 * BPE a part at a time as its parts are proven final. */
static int
encode_pieces(const te_tok *t, tk_work *w, te_tok_enc *e, te_diag *d)
{
	size_t i, k;
	/* not for WordPiece: its trie walk (wordpiece.c) costs less than a
	 * lookup here, and the cache's pages are faults */
	cent *cc = t->mtype == TK_M_WORDPIECE ? NULL : cache_for(t);

	for (i = 0; i < w->np; i++) {
		size_t pa = w->pa[i], pb = w->pb[i], n = pb - pa;

		if (pa == pb)
			continue;
		tout.n = 0;
		if (tk_work_fixed(w, i) >= 0) {
			if (tk_out_push(&tout, w->fixed[i], 0, pb - pa))
				goto oom;
		} else if (cc && n <= CACHE_KEY) {
			uint64_t h = ut_hash(w->b.s + pa, n);
			cent *c = &cc[h & (CACHE_SLOTS - 1)];

			if (c->h == h && c->klen == n && !memcmp(c->key, w->b.s + pa, n)) {
				/* a hit: straight into e */
				if (tk_enc_room(e, c->nids))
					goto oom;
				for (k = 0; k < c->nids; k++, e->n++) {
					e->ids[e->n] = c->ids[k];
					if (e->start) {	/* spans: only then their ends */
						size_t ta = pa + (k ? c->end[k - 1] : 0), tb = pa + c->end[k];

						e->start[e->n] = tk_work_os(w, ta);
						e->end[e->n] = tb > ta ? tk_work_oe(w, tb - 1) : e->start[e->n];
					}
				}
				continue;
			} else {
				if (run_model(t, w->b.s + pa, n, &tout, d)) {
					if (!d || !d->msg[0])
						goto oom;
					return -1;
				}
				cache_put(c, h, w->b.s + pa, n, &tout);
			}
		} else if (t->mtype == TK_M_UNIGRAM) {
			piece_at p = { w, pa, e };

			if (tk_unigram_encode_cb(t->unigram, w->b.s + pa, n, piece_emit, &p, d)) {
				if (!d || !d->msg[0])
					goto oom;
				return -1;
			}
			continue;
		} else {
			piece_hand ph = { { hand_put, hand_undo, 0, 0, SIZE_MAX }, { w, pa, e },
			                  e->n + e->dropped_ };
			int r;

			tout.hand = t->mtype == TK_M_BPE ? &ph.h : NULL;
			fls.hand = tout.hand;	/* tokens past its firm ones may be undone */
			fls.hand0 = ph.total0;
			r = run_model(t, w->b.s + pa, n, &tout, d);
			tout.hand = NULL;
			fls.hand = NULL;
			if (fls.lost)	/* bpe.c's cut_tail makes it unlikely */
				return te_diag_set(d, "", 0, "a word of %zu bytes merged whole after its "
				                   "first tokens were written", n);
			if (r) {
				if (!d || !d->msg[0])
					goto oom;
				return -1;
			}
		}
		for (k = 0; k < tout.n; k++) {
			piece_at p = { w, pa, e };

			if (piece_emit(&p, tout.ids[k], tout.a[k], tout.b[k]))
				goto oom;
		}
	}
	return 0;
oom:
	/* bpe_fast.c fails where the merges it reads at last prove unsound */
	if (tk_cache_verify_merges(&t->bpe))
		return cache_unsound(t, d);
	return te_diag_set(d, "", 0, "out of memory");
}

/* Windows: a long normalized text whose pre-tokenizer first splits at
 * whitespace and drops it, every later step working piece by piece, is
 * pre-tokenized and encoded a window at a time, each cut after an ASCII
 * space (which no piece holds): the same pieces, but only one window's
 * of them at once (20 bytes a piece, twice over while a step splits).
 * Without spans only (a window is a copy of the text, unaligned). */
size_t tk_tok_window = (size_t)1 << 16;

/* Whether p's pieces never hold an ASCII space, and every step after its
 * first works on each piece alone (a Metaspace prepending to the first
 * piece only is the exception; te_tok's needs_align keeps spans for it). */
static int
window_ok(const tk_pre *p)
{
	if (!p)
		return 0;
	if (p->type == TK_P_SEQ)
		return p->nsub && window_ok(p->sub[0]);
	return p->type == TK_P_BERT || p->type == TK_P_WSSPLIT || p->type == TK_P_WHITESPACE;
}

static int
encode_windows(const te_tok *t, const tk_work *w, te_tok_enc *e, te_diag *d)
{
	tk_work *x = &twin;
	size_t p = 0, q;

	x->noal = 1;
	while (p < w->b.n) {
		q = w->b.n - p > tk_tok_window ? p + tk_tok_window : w->b.n;
		while (q < w->b.n && w->b.s[q - 1] != ' ')
			q++;
		x->b.n = 0;
		x->np = 0;
		x->base = w->base + p;
		if (ut_buf_put(&x->b, w->b.s + p, q - p) || tk_work_push(x, 0, q - p, -1))
			return te_diag_set(d, "", 0, "out of memory");
		if (tk_pretokenize(t->pre, x, 0, d) || encode_pieces(t, x, e, d))
			return -1;
		p = q;
	}
	return 0;
}

/* Normalize, pre-tokenize and encode text[a, b) (no raw-matched added
 * tokens in it).  A mapped cache is checked whole (tk_cache_verify) before
 * the fast path has seen more than TK_CVERIFY_AFTER bytes: it builds its
 * flat tables on more.  With own set, *own is text, a malloc'd string of
 * b bytes that the caller reads no more: the work string takes it (*own
 * NULL) rather than a copy. */
static int
encode_segment(const te_tok *t, const char *text, size_t a, size_t b, int special, te_tok_enc *e,
               char **own, te_diag *d)
{
	tk_work *w = &tw;
	int fs;

	if (t->spm)
		return encode_spm(t, text, a, b, e, d);
	/* the fast path (bpe_fast.c): a hand-scanned split into byte-level BPE */
	fs = t->trie_norm.n ? 0 : tk_fast_ok(t);
	if (fs && tk_fast_unnormalized(t, text + a, b - a)) {
		thread_scratch();
		if (t->cmap && tk_cache_verify(t, b - a))
			return cache_unsound(t, d);
		if (tk_fast_encode(t, fs, text + a, b - a, a, NULL, e))
			goto oom;
		return 0;
	}
	/* no spans wanted: none are tracked, unless the pipeline reads them */
	w->noal = (e->mode_ & TE_TOK_NO_OFFSETS) && !t->needs_align;
	if (!w->noal && b - a > TK_WORK_MAX)
		return te_diag_set(d, "", 0, "a text of more than 4 GiB between added tokens "
		                   "cannot be encoded with spans");
	thread_scratch();
	w->b.n = 0;
	if (own && *own == text && a == 0) {	/* a cleaned text: not held twice */
		free(w->b.s);
		w->b.s = *own;
		w->b.n = b;
		w->b.cap = b + 1;
		*own = NULL;
	} else if (ut_buf_put(&w->b, text + a, b - a)) {
		goto oom;
	}
	work_unalign(w);
	w->base = a;
	w->np = 0;
	if (t->norm && tk_normalize(t->norm, w, d))
		return -1;
	if (fs) {
		/* counted as the encoder sees it: normalized text may be longer */
		if (t->cmap && tk_cache_verify(t, w->b.n))
			return cache_unsound(t, d);
		if (tk_fast_encode(t, fs, w->b.s, w->b.n, w->base, w->al, e))
			goto oom;
		work_unalign(w);
		return 0;
	}
	if (w->noal && !t->trie_norm.n && w->b.n > tk_tok_window && window_ok(t->pre))
		return encode_windows(t, w, e, d);
	if (t->trie_norm.n ? split_added_norm(t, w, special) : tk_work_push(w, 0, w->b.n, -1))
		goto oom;
	if (t->pre && tk_pretokenize(t->pre, w, a == 0, d))
		return -1;
	if (encode_pieces(t, w, e, d))
		return -1;
	work_unalign(w);
	return 0;
oom:
	/* bpe_fast.c fails where the merges it reads at last prove unsound */
	if (tk_cache_verify_merges(&t->bpe))
		return cache_unsound(t, d);
	return te_diag_set(d, "", 0, "out of memory");
}

/* Replace invalid UTF-8 by U+FFFD, which spans the byte it replaces; with
 * map not NULL, the input span of each byte is appended to it.  Sized
 * exactly: the text may be long. */
static char *
sanitize(const char *s, size_t n, tk_amap *map, size_t *outn)
{
	char *o;
	size_t i, k = 0;
	int len;

	for (i = 0; i < n; i += (size_t)len)
		k += ut_utf8_dec((const unsigned char *)s + i, n - i, &len) < 0 ? 3 : (size_t)len;
	if (!(o = malloc(k + 1)))
		return NULL;
	for (i = k = 0; i < n; i += (size_t)len) {
		int32_t cp = ut_utf8_dec((const unsigned char *)s + i, n - i, &len);

		if (cp < 0) {
			memcpy(o + k, "\xef\xbf\xbd", 3);
			k += 3;
		} else {
			memcpy(o + k, s + i, (size_t)len);
			k += (size_t)len;
		}
		/* a text of 4 GiB or more is refused after (too_long) */
		if (map && (cp < 0 ? tk_amap_put(map, 3, (uint32_t)i, (uint32_t)i + 1)
		                   : tk_amap_put_own(map, (size_t)len, (uint32_t)i)) < 0) {
			free(o);
			return NULL;
		}
	}
	o[k] = 0;
	*outn = k;
	return o;
}

/* Start an encoding into e with flags: what it keeps (NO_OFFSETS, implied
 * by COUNT_ONLY: no spans).  A COUNT_ONLY encoding that may drop ids has
 * a mapped cache checked whole first (dropped ids are not looked at):
 * -1 (d filled) when it is unsound. */
static int
enc_begin(const te_tok *t, te_tok_enc *e, unsigned flags, size_t len, te_diag *d)
{
	e->n = 0;
	e->dropped_ = 0;
	e->mode_ = flags & (TE_TOK_NO_OFFSETS | TE_TOK_COUNT_ONLY);
	if (e->mode_ & TE_TOK_COUNT_ONLY)
		e->mode_ |= TE_TOK_NO_OFFSETS;
	if (e->mode_ & TE_TOK_NO_OFFSETS) {
		free(e->start);
		free(e->end);
		e->start = e->end = NULL;
	} else if (e->cap && !e->start && tk_enc_reserve(e, 0)) {
		return te_diag_set(d, "", 0, "out of memory");	/* spans again */
	}
	if ((e->mode_ & TE_TOK_COUNT_ONLY) && t->cmap && len >= TK_COUNT_KEEP / 2 &&
	    tk_cache_verify(t, 0))
		return cache_unsound(t, d);
	return 0;
}

/* A mapped cache not yet checked whole (tk_cache_verify): the ids of e are
 * checked here; one out of the vocabulary has it checked now.  -1 (d
 * filled) when it is unsound. */
static int
ids_unsound(const te_tok *t, const te_tok_enc *e, te_diag *d)
{
	size_t i;

	if (__atomic_load_n(&t->cverify, __ATOMIC_ACQUIRE) > 0)
		return 0;
	for (i = 0; i < e->n; i++)
		if (e->ids[i] < 0 || (size_t)e->ids[i] >= t->nvocab) {
			if (!tk_cache_verify(t, 0))
				return 0;	/* sound: an id of the file's own */
			return cache_unsound(t, d);
		}
	return 0;
}

/* The end of a COUNT_ONLY encoding: e->n the count, truncated as the ids
 * would be, the template's npre + nsuf ids included. */
static void
count_end(te_tok_enc *e, long max_tokens, size_t npre, size_t nsuf)
{
	size_t n = e->n + e->dropped_;

	if (max_tokens >= 0) {
		size_t keep = (size_t)max_tokens > npre + nsuf ? (size_t)max_tokens - nsuf : npre;

		if (n > keep)
			n = keep;
	}
	n += nsuf;
	if (max_tokens >= 0 && n > (size_t)max_tokens)
		n = (size_t)max_tokens;
	e->n = n;
	e->dropped_ = 0;
}

/* Spans are 32-bit (te_tok_enc): a longer text has none. */
static int
too_long(te_diag *d)
{
	return te_diag_set(d, "", 0, "a text of 4 GiB or more cannot be encoded with spans");
}

/* Encode text[0, len), cut at the added tokens matched on it
 * (leftmost-longest), into e; -1 with d filled.  *clean (a cleaned text,
 * or NULL) is read no more after its last segment. */
static int
encode_cut(const te_tok *t, const char *text, size_t len, int special, te_tok_enc *e,
           char **clean, te_diag *d)
{
	size_t i = 0, seg = 0, k, end, ms, me;
	int32_t ai;
	int cut;
	added_scan sc;

	/* none can match when all are special and special-token text is
	 * plain text */
	cut = t->nadded && t->trie_raw.n;
	if (cut && !special) {
		for (k = 0; k < t->nadded && t->added[k].special; k++)
			;
		cut = k < t->nadded;
	}
	if (cut)
		added_scan_init(&sc, &t->trie_raw, len);
	while (cut && (ai = next_added(t, &t->trie_raw, &sc, text, len, seg, special, &i, &end, &ms,
	                              &me)) >= 0) {
		if (ms > seg && encode_segment(t, text, seg, ms, special, e, NULL, d))
			return -1;
		if (enc_push(e, t->added[ai].id, i, me))	/* as HF: rstrip's spaces too */
			return te_diag_set(d, "", 0, "out of memory");
		seg = i = me;
	}
	if (seg < len && encode_segment(t, text, seg, len, special, e, clean, d))
		return -1;
	return 0;
}

/* Hand e's tokens on to f as they are made (tk_tok_encode_flush), from
 * here on; -1 (d filled) when a mapped cache proves unsound: it is
 * checked whole first, as no id handed on is looked at again. */
static int
flush_begin(const te_tok *t, te_tok_enc *e, tk_flush *f, te_diag *d)
{
	memset(&fls, 0, sizeof fls);
	if (!f || (e->mode_ & TE_TOK_COUNT_ONLY))
		return 0;
	if (t->cmap && tk_cache_verify(t, 0))
		return cache_unsound(t, d);
	fls.f = f;
	e->mode_ |= TK_ENC_FLUSH;
	return 0;
}

/* The encoding's tokens are handed on no more (the suffix, the spans'
 * mapping and the caller's formatting take e's tokens as they stand). */
static void
flush_end(te_tok_enc *e)
{
	memset(&fls, 0, sizeof fls);
	e->mode_ &= ~TK_ENC_FLUSH;
	if (!(e->mode_ & TE_TOK_COUNT_ONLY))
		e->dropped_ = 0;
}

/* Room in e for the ids of a text of len bytes, asked for once (a text's
 * ids are about its bytes at most, a few more for the specials added):
 * grown by half as they came, a long text's ids were copied a few times,
 * each new page a fault.  Only a hint: past it they grow as they come.
 * Not for a count (its ids are dropped as it goes), an encoding written
 * as it goes (f) or cut short (max_tokens), nor a text of ENC_ROOM_MAX
 * bytes or more (the pieces of a long one are far shorter: tok_batch.c). */
#define ENC_ROOM_MAX ((size_t)4 << 20)
static void
enc_room(te_tok_enc *e, size_t len, const tk_flush *f, long max_tokens)
{
	if (!f && max_tokens < 0 && !(e->mode_ & TE_TOK_COUNT_ONLY) && len < ENC_ROOM_MAX &&
	    len + 16 > e->cap)
		(void)tk_enc_reserve(e, len + 16);
}

static int
encode_text(const te_tok *t, const char *text, size_t len, unsigned flags, long max_tokens,
            te_tok_enc *e, tk_flush *f, te_diag *d)
{
	int special = t->match_special;
	size_t i;
	char *clean = NULL;
	tk_amap map;            /* made only for a text with invalid UTF-8 */
	size_t cn;
	int rc = 0, mapped = 0;
	size_t npre = 0, nsuf = 0, k;

	if (enc_begin(t, e, flags, len, d) || flush_begin(t, e, f, d))
		return -1;
	enc_room(e, len, f, max_tokens);
	if (flags & TE_TOK_SPECIAL_AS_TEXT)
		special = 0;
	if (flags & TE_TOK_ALLOW_SPECIAL)
		special = 1;
	/* a mapped cache: checked whole after 1 MB or 4096 documents (the
	 * fast path counts its own bytes, and has it checked far sooner) */
	if (t->cmap && tk_cache_verify(t, len / 256 + 1))
		return cache_unsound(t, d);
	if (!(e->mode_ & TE_TOK_NO_OFFSETS) && len > UINT32_MAX)
		return too_long(d);
	if (!t->byte_level && !t->spm && !(flags & TK_TEXT_VALID) && !te_utf8_valid(text, len)) {
		memset(&map, 0, sizeof map);
		mapped = 1;
		if (!(clean = sanitize(text, len, e->mode_ & TE_TOK_NO_OFFSETS ? NULL : &map, &cn)))
			return te_diag_set(d, "", 0, "out of memory");
		text = clean;
		len = cn;
		if (!(e->mode_ & TE_TOK_NO_OFFSETS) && len > UINT32_MAX) {
			rc = too_long(d);
			goto done;
		}
		fls.map = &map;
	}
	if (flags & TE_TOK_ADD_SPECIAL) {
		for (k = 0; k < t->ntpl && t->tpl[k].ids; k++)
			npre += t->tpl[k].n;
		for (k++; k < t->ntpl; k++)
			nsuf += t->tpl[k].n;
		for (k = 0; k < t->ntpl && t->tpl[k].ids; k++)
			for (i = 0; i < t->tpl[k].n; i++)
				if (enc_push(e, t->tpl[k].ids[i], 0, 0))
					goto oom;
	}
	if (encode_cut(t, text, len, special, e, &clean, d))
		goto fail;
	flush_end(e);
	if (t->cmap && ids_unsound(t, e, d))
		goto fail;
	if (e->mode_ & TE_TOK_COUNT_ONLY) {
		count_end(e, max_tokens, npre, nsuf);
		goto done;
	}
	if (max_tokens >= 0) {
		size_t keep = (size_t)max_tokens > npre + nsuf ? (size_t)max_tokens - nsuf : npre;

		if (e->n > keep)
			e->n = keep;
	}
	if (flags & TE_TOK_ADD_SPECIAL) {
		for (k = 0; k < t->ntpl && t->tpl[k].ids; k++)
			;
		for (k++; k < t->ntpl; k++)
			for (i = 0; i < t->tpl[k].n; i++)
				if (enc_push(e, t->tpl[k].ids[i], 0, 0))
					goto oom;
		if (max_tokens >= 0 && e->n > (size_t)max_tokens)
			e->n = (size_t)max_tokens;
	}
	if (mapped && map.n)
		map_spans(e, 0, e->n, &map);
	goto done;
oom:
	te_diag_set(d, "", 0, "out of memory");
fail:
	rc = -1;
done:
	flush_end(e);
	free(clean);
	if (mapped)	/* a document a line: its frees of nothing add up */
		tk_amap_release(&map);
	scratch_trim();
	return rc;
}

int
te_tok_encode_trunc(const te_tok *t, const char *text, size_t len, unsigned flags,
                    long max_tokens, te_tok_enc *e, te_diag *d)
{
	return encode_text(t, text, len, flags & ~TK_TEXT_VALID, max_tokens, e, NULL, d);
}

int
tk_tok_encode_flush(const te_tok *t, const char *text, size_t len, unsigned flags,
                    long max_tokens, te_tok_enc *e, tk_flush *f, te_diag *d)
{
	return encode_text(t, text, len, flags, max_tokens, e, f, d);
}

int
te_tok_encode(const te_tok *t, const char *text, size_t len, unsigned flags,
              te_tok_enc *out, te_diag *d)
{
	return te_tok_encode_trunc(t, text, len, flags, -1, out, d);
}

/* ------------------------------------------------------------ decoding */

/* A list of strings between decoder steps. */
typedef struct slist {
	char **s;
	size_t *n;
	size_t cnt, cap;
} slist;

static int
sl_push(slist *l, const char *s, size_t n)
{
	char *p;

	if (l->cnt == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **ss = realloc(l->s, cap * sizeof *ss);
		size_t *nn;

		if (!ss)
			return -1;
		l->s = ss;
		if (!(nn = realloc(l->n, cap * sizeof *nn)))
			return -1;
		l->n = nn;
		l->cap = cap;
	}
	if (!(p = malloc(n + 1)))
		return -1;
	memcpy(p, s, n);
	p[n] = 0;
	l->s[l->cnt] = p;
	l->n[l->cnt++] = n;
	return 0;
}

static void
sl_free(slist *l)
{
	size_t i;

	for (i = 0; i < l->cnt; i++)
		free(l->s[i]);
	free(l->s);
	free(l->n);
	memset(l, 0, sizeof *l);
}

/* Rust's String::from_utf8_lossy: each maximal invalid subpart -> U+FFFD. */
static int
lossy(ut_buf *o, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		int len;

		if (ut_utf8_dec((const unsigned char *)s + i, n - i, &len) >= 0) {
			if (ut_buf_put(o, s + i, (size_t)len))
				return -1;
			i += (size_t)len;
			continue;
		}
		{
			size_t k = 1, need = 0;
			unsigned char lo = 0x80, hi = 0xbf;

			if (c >= 0xc2 && c <= 0xdf)
				need = 1;
			else if (c >= 0xe0 && c <= 0xef)
				need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
			else if (c >= 0xf0 && c <= 0xf4)
				need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
			while (need && k <= need && i + k < n) {
				unsigned char x = (unsigned char)s[i + k];

				if (k == 1 ? (x < lo || x > hi) : (x & 0xc0) != 0x80)
					break;
				k++;
			}
			if (ut_buf_put(o, "\xef\xbf\xbd", 3))
				return -1;
			i += k;
		}
	}
	return 0;
}

static int
starts(const char *s, size_t n, const char *p, size_t pn)
{
	return n >= pn && !memcmp(s, p, pn);
}

/* HF WordPiece decoder's cleanup of tokenization spaces. */
static void
cleanup_spaces(ut_buf *b)
{
	static const char *from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " do not",
	                             " 's", " 've", " 're", NULL};
	static const char *to[] = {".", "?", "!", ",", "'", "n't", "'m", " don't", "'s", "'ve", "'re"};
	int r;

	for (r = 0; from[r]; r++) {
		size_t fn = strlen(from[r]), tn = strlen(to[r]), i = 0, k = 0;

		if (!memmem(b->s, b->n, from[r], fn))
			continue;
		while (i < b->n) {	/* tn <= fn: rewrite in place */
			if (i + fn <= b->n && !memcmp(b->s + i, from[r], fn)) {
				memmove(b->s + k, to[r], tn);
				k += tn;
				i += fn;
			} else {
				b->s[k++] = b->s[i++];
			}
		}
		b->n = k;
		b->s[k] = 0;
	}
}

static int decode_step(const tk_dec *x, slist *in, slist *out);

/* Sequence: each decoder in turn, on what the one before gave. */
static int
dec_seq(const tk_dec *x, slist *in, slist *out)
{
	slist cur = *in, nxt = {0};
	size_t i;

	memset(in, 0, sizeof *in);
	for (i = 0; i < x->nsub; i++) {
		if (decode_step(x->sub[i], &cur, &nxt)) {
			sl_free(&cur);
			sl_free(&nxt);
			return -1;
		}
		sl_free(&cur);
		cur = nxt;
		memset(&nxt, 0, sizeof nxt);
	}
	*out = cur;
	return 0;
}

/* ByteLevel: every piece back to its bytes, joined, invalid UTF-8 made U+FFFD. */
static int
dec_bytelevel(slist *in, slist *out)
{
	ut_buf raw = {0}, b = {0};
	size_t i;
	int rc = 0;

	for (i = 0; i < in->cnt && !rc; i++) {
		char *tmp = malloc(in->n[i] + 1);
		size_t n;

		if (!tmp) {
			ut_buf_release(&raw);
			return -1;
		}
		if (!tk_unmap_bytes(in->s[i], in->n[i], tmp, &n))
			rc = ut_buf_put(&raw, tmp, n);
		else
			rc = ut_buf_put(&raw, in->s[i], in->n[i]);
		free(tmp);
	}
	if (!rc)
		rc = lossy(&b, raw.s ? raw.s : "", raw.n);
	if (!rc)
		rc = sl_push(out, b.s ? b.s : "", b.n);
	ut_buf_release(&raw);
	ut_buf_release(&b);
	return rc;
}

/* WordPiece: a piece with the prefix continues the word, others start one. */
static int
dec_wordpiece(const tk_dec *x, slist *in, slist *out)
{
	ut_buf b = {0};
	size_t i, pn = strlen(x->prefix);
	int rc = 0;

	for (i = 0; i < in->cnt && !rc; i++) {
		b.n = 0;
		if (i && starts(in->s[i], in->n[i], x->prefix, pn))
			rc = ut_buf_put(&b, in->s[i] + pn, in->n[i] - pn);
		else if (i)
			rc = ut_buf_put(&b, " ", 1) || ut_buf_put(&b, in->s[i], in->n[i]);
		else
			rc = ut_buf_put(&b, in->s[i], in->n[i]);
		if (!rc && !b.s)
			rc = ut_buf_put(&b, "", 0);
		if (!rc && x->cleanup)
			cleanup_spaces(&b);
		if (!rc)
			rc = sl_push(out, b.s, b.n);
	}
	ut_buf_release(&b);
	return rc;
}

/* In each piece, every occurrence of pat becomes what rep(i) says:
 * Metaspace, Replace and BPEDecoder differ only there. */
static int
dec_each(const tk_dec *x, slist *in, slist *out, const char *pat, size_t pn,
         const char *(*rep)(const tk_dec *x, const slist *in, size_t i, size_t *n))
{
	ut_buf b = {0};
	size_t i, j;
	int rc = 0;

	for (i = 0; i < in->cnt && !rc; i++) {
		b.n = 0;
		rc = ut_buf_put(&b, "", 0);
		for (j = 0; j < in->n[i] && !rc;) {
			if (pn && starts(in->s[i] + j, in->n[i] - j, pat, pn)) {
				size_t rn;
				const char *r = rep(x, in, i, &rn);

				rc = ut_buf_put(&b, r, rn);
				j += pn;
			} else {
				rc = ut_buf_put(&b, in->s[i] + j, 1);
				j++;
			}
		}
		if (!rc)
			rc = sl_push(out, b.s, b.n);
	}
	ut_buf_release(&b);
	return rc;
}

/* Metaspace: the replacement is a space, but at the start of the first
 * piece when the encoder prepended it. */
static const char *
rep_metaspace(const tk_dec *x, const slist *in, size_t i, size_t *n)
{
	(void)in;
	*n = !(i == 0 && x->prepend);
	return " ";
}

static const char *
rep_replace(const tk_dec *x, const slist *in, size_t i, size_t *n)
{
	(void)in;
	(void)i;
	*n = x->content_n;
	return x->content;
}

/* BPEDecoder: the suffix marks a word end, a space unless it is the last piece. */
static const char *
rep_bpe(const tk_dec *x, const slist *in, size_t i, size_t *n)
{
	(void)x;
	*n = i + 1 < in->cnt;
	return i + 1 < in->cnt ? " " : "";
}

/* ByteFallback: runs of <0xXX> pieces become their bytes when those are
 * UTF-8, else one U+FFFD each. */
static int
dec_bytefallback(slist *in, slist *out)
{
	ut_buf pend = {0};
	size_t i, j, np = 0;
	int rc = 0;

	for (i = 0; i <= in->cnt && !rc; i++) {
		int byte;

		if (i < in->cnt && tk_is_byte_piece(in->s[i], in->n[i], &byte)) {
			char c = (char)byte;

			rc = ut_buf_put(&pend, &c, 1);
			np++;
			continue;
		}
		if (np) {
			if (te_utf8_valid(pend.s, pend.n)) {
				rc = sl_push(out, pend.s, pend.n);
			} else {
				for (j = 0; j < np && !rc; j++)
					rc = sl_push(out, "\xef\xbf\xbd", 3);
			}
			pend.n = 0;
			np = 0;
		}
		if (i < in->cnt && !rc)
			rc = sl_push(out, in->s[i], in->n[i]);
	}
	ut_buf_release(&pend);
	return rc;
}

/* Fuse: all pieces as one. */
static int
dec_fuse(slist *in, slist *out)
{
	ut_buf b = {0};
	size_t i;
	int rc = ut_buf_put(&b, "", 0);

	for (i = 0; i < in->cnt && !rc; i++)
		rc = ut_buf_put(&b, in->s[i], in->n[i]);
	if (!rc)
		rc = sl_push(out, b.s, b.n);
	ut_buf_release(&b);
	return rc;
}

/* Strip: up to start copies of content off the front of each piece, up
 * to stop off its end. */
static int
dec_strip(const tk_dec *x, slist *in, slist *out)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < in->cnt && !rc; i++) {
		const char *s = in->s[i];
		size_t a = 0, e = in->n[i], cn = x->content_n;
		int k;

		for (k = 0; k < x->start && a + cn <= e && cn && !memcmp(s + a, x->content, cn); k++)
			a += cn;
		for (k = 0; k < x->stop && e >= a + cn && cn && !memcmp(s + e - cn, x->content, cn); k++)
			e -= cn;
		rc = sl_push(out, s + a, e - a);
	}
	return rc;
}

static int
decode_step(const tk_dec *x, slist *in, slist *out)
{
	size_t i;
	int rc = 0;

	switch (x->type) {
	case TK_D_SEQ:
		return dec_seq(x, in, out);
	case TK_D_BYTELEVEL:
		return dec_bytelevel(in, out);
	case TK_D_WORDPIECE:
		return dec_wordpiece(x, in, out);
	case TK_D_METASPACE:
		return dec_each(x, in, out, x->repl, (size_t)x->repl_n, rep_metaspace);
	case TK_D_BYTEFALLBACK:
		return dec_bytefallback(in, out);
	case TK_D_FUSE:
		return dec_fuse(in, out);
	case TK_D_STRIP:
		return dec_strip(x, in, out);
	case TK_D_REPLACE:
		return dec_each(x, in, out, x->pat, x->pat_n, rep_replace);
	case TK_D_BPE:
		return dec_each(x, in, out, x->prefix, strlen(x->prefix), rep_bpe);
	default:
		for (i = 0; i < in->cnt && !rc; i++)
			rc = sl_push(out, in->s[i], in->n[i]);
		return rc;
	}
}

int
te_tok_decode(const te_tok *t, const int32_t *ids, size_t n, unsigned flags,
              char **out, size_t *outlen, te_diag *d)
{
	slist in = {0}, res = {0};
	ut_buf b = {0};
	size_t i;

	*out = NULL;
	*outlen = 0;
	if (t->spm) {
		ut_buf sb = {0};
		int32_t *keep = malloc((n ? n : 1) * sizeof *keep);
		size_t k = 0;

		if (!keep)
			return te_diag_set(d, "", 0, "out of memory");
		for (i = 0; i < n; i++)
			if (!((flags & TE_TOK_SKIP_SPECIAL) && te_tok_is_special(t, ids[i])))
				keep[k++] = ids[i];
		if (tk_spm_decode(t->spm, keep, k, &sb, d)) {
			free(keep);
			ut_buf_release(&sb);
			return -1;
		}
		free(keep);
		if (!sb.s && !(sb.s = calloc(1, 1)))
			return te_diag_set(d, "", 0, "out of memory");
		*out = sb.s;
		*outlen = sb.n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		int32_t id = ids[i];

		const char *ps = NULL;
		size_t pn = 0;

		if (id < 0 || (size_t)id >= t->nvocab || !(ps = tk_piece_of(t, id, &pn))) {
			sl_free(&in);
			return te_diag_set(d, "", 0, "id %ld is not in the vocabulary (%zu ids)",
			                   (long)id, t->nvocab);
		}
		if ((flags & TE_TOK_SKIP_SPECIAL) && t->special[id])
			continue;
		if (sl_push(&in, ps, pn))
			goto oom;
	}
	if (t->dec) {
		if (decode_step(t->dec, &in, &res))
			goto oom;
		if (ut_buf_put(&b, "", 0))
			goto oom;
		for (i = 0; i < res.cnt; i++)
			if (ut_buf_put(&b, res.s[i], res.n[i]))
				goto oom;
	} else {
		if (ut_buf_put(&b, "", 0))
			goto oom;
		for (i = 0; i < in.cnt; i++)
			if ((i && ut_buf_put(&b, " ", 1)) || ut_buf_put(&b, in.s[i], in.n[i]))
				goto oom;
	}
	sl_free(&in);
	sl_free(&res);
	*out = b.s;
	*outlen = b.n;
	return 0;
oom:
	sl_free(&in);
	sl_free(&res);
	ut_buf_release(&b);
	return te_diag_set(d, "", 0, "out of memory");
}

/* ------------------------------------------------------------ accessors */

size_t
te_tok_vocab_size(const te_tok *t)
{
	return t->nvocab;
}

const char *
te_tok_piece(const te_tok *t, int32_t id, size_t *len)
{
	const char *s;
	size_t n;

	if (id < 0 || (size_t)id >= t->nvocab || !(s = tk_piece_of(t, id, &n)))
		return NULL;
	if (len)
		*len = n;
	return s;
}

long
te_tok_piece_bytes(const te_tok *t, int32_t id, char *buf, size_t cap)
{
	const char *s, *b;
	size_t n, bn;

	if (id < 0 || (size_t)id >= t->nvocab || !(s = tk_piece_of(t, id, &n)))
		return -1;
	if ((b = tk_bytes_of(t, id, &bn)))
		s = b, n = bn;
	memcpy(buf, s, n < cap ? n : cap);
	return (long)n;
}

int32_t
te_tok_id(const te_tok *t, const char *piece, size_t len)
{
	int32_t a = ut_strmap_get(&t->added_map, piece, len);
	size_t i, n;
	const char *s;

	if (a >= 0)
		return t->added[a].id;
	if (t->spm)
		return tk_spm_piece_id(t->spm, piece, len);
	{	/* the model maps are keyed by what the model sees */
		int32_t id = -1;

		if (t->mtype == TK_M_WORDPIECE || t->mtype == TK_M_WORDLEVEL) {
			id = ut_strmap_get(&t->wp.vocab, piece, len);
		} else if (t->mtype == TK_M_BPE) {
			char *tmp = malloc(len + 1);
			size_t n;

			if (tmp && t->byte_level && !tk_unmap_bytes(piece, len, tmp, &n))
				id = ut_strmap_get(&t->bpe.vocab, tmp, n);
			else if (!t->byte_level)
				id = ut_strmap_get(&t->bpe.vocab, piece, len);
			free(tmp);
		}
		if (id >= 0 && (size_t)id < t->nvocab && (s = tk_piece_of(t, id, &n)) && n == len &&
		    !memcmp(s, piece, len))
			return id;
	}
	/* scan as a fallback */
	for (i = 0; i < t->nvocab; i++)
		if ((s = tk_piece_of(t, (int32_t)i, &n)) && n == len && !memcmp(s, piece, len))
			return (int32_t)i;
	return -1;
}

int
te_tok_is_special(const te_tok *t, int32_t id)
{
	return id >= 0 && (size_t)id < t->nvocab && t->special[id];
}

int
te_tok_unk_id(const te_tok *t)
{
	return t->unk;
}

const char *
te_tok_algorithm(const te_tok *t)
{
	return t->algo ? t->algo : "BPE";
}

int
te_tok_byte_level(const te_tok *t)
{
	return t->byte_level;
}

int
te_tok_byte_fallback(const te_tok *t)
{
	return t->byte_fallback;
}

const char *
te_tok_display_name(const te_tok *t)
{
	return t->display;
}

const char *
te_tok_name(const te_tok *t)
{
	return t->name;
}

long
te_tok_max_length(const te_tok *t)
{
	return t->max_length;
}
