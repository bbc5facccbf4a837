/* unigram.c: the Unigram language-model tokenizer (Viterbi over a trie of
 * pieces), with the arithmetic of Hugging Face tokenizers or of
 * sentencepiece, which break ties differently. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm_int.h"

/* A node of the lattice's trie, compiled: base, check and value side by
 * side, so that a step reads one place, not three arrays. */
typedef struct unode {
	int32_t base, check, value;
} unode;

struct tk_unigram {
	tk_strie own;       /* pieces that take part in the lattice ... */
	const tk_strie *trie; /* ... or a caller's trie of them (borrowed) */
	unode *node;        /* the trie's double array, when it has one */
	size_t dsize;
	size_t n;
	double *score;      /* the score a piece adds to a path */
	int mode;
	int32_t unk_id;
	int byte_fallback;
	double unk_score;
	size_t ring;        /* power of two over the longest piece, and a char */
	int32_t byte_id[256];
	char **piece;       /* HF mode: to rebuild fused strings */
	size_t *plen;
};

/* Whether a piece of type t and length len takes part in the lattice. */
static int
in_lattice(int mode, int t, size_t len)
{
	if (len == 0)
		return 0;
	return mode != TK_UNIGRAM_SPM || t == TK_SPM_TYPE_NORMAL || t == TK_SPM_TYPE_USER_DEFINED;
}

/* The scores of the lattice, the ring over its longest piece and the byte
 * pieces of n pieces. */
static void
set_scores(tk_unigram *u, const char *const *pieces, const size_t *lens,
           const double *scores, const uint8_t *types)
{
	double min_score = INFINITY;
	float min_f = FLT_MAX, max_f = FLT_MIN;
	size_t n = u->n;

	for (int i = 0; i < 256; i++)
		u->byte_id[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int t = types ? types[i] : TK_SPM_TYPE_NORMAL;

		if (scores[i] < min_score)
			min_score = scores[i];
		if (t == TK_SPM_TYPE_NORMAL) {
			float f = (float)scores[i];

			if (f < min_f)
				min_f = f;
			if (f > max_f)
				max_f = f;
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = lens ? lens[i] : strlen(pieces[i]);
		int t = types ? types[i] : TK_SPM_TYPE_NORMAL;

		if (u->mode == TK_UNIGRAM_SPM) {
			if (t == TK_SPM_TYPE_USER_DEFINED)
				u->score[i] = (double)((float)len * max_f) - 0.1;
			else
				u->score[i] = (double)(float)scores[i];
		} else
			u->score[i] = scores[i];
		if (in_lattice(u->mode, t, len) && len >= u->ring)
			u->ring = len + 1;
		if (len == 6 && memcmp(pieces[i], "<0x", 3) == 0 && pieces[i][5] == '>' &&
		    strchr("0123456789ABCDEF", pieces[i][3]) && pieces[i][3] &&
		    strchr("0123456789ABCDEF", pieces[i][4]) && pieces[i][4]) {
			/* HF looks bytes up as format!("<0x{:02X}>"); the last
			 * duplicate wins, as in its token-to-id map */
			unsigned v = (unsigned)strtoul((char[]){pieces[i][3], pieces[i][4], 0},
			                               NULL, 16);

			if (u->byte_id[v] < 0 || u->mode == TK_UNIGRAM_HF)
				u->byte_id[v] = (int32_t)i;
		}
	}
	if (u->ring < 5)
		u->ring = 5;
	while (u->ring & (u->ring - 1))
		u->ring += u->ring & -u->ring;
	if (u->mode == TK_UNIGRAM_SPM)
		u->unk_score = (double)(min_f - 10.0f);
	else
		u->unk_score = min_score - 10.0;
}

/* The model without its trie. */
static tk_unigram *
uni_alloc(size_t n, const char *const *pieces, const size_t *lens, const double *scores,
          const uint8_t *types, int32_t unk_id, int byte_fallback, int mode, te_diag *d)
{
	tk_unigram *u = calloc(1, sizeof *u);

	if (!u || tk_strie_init(&u->own) < 0 || !(u->score = malloc((n ? n : 1) * sizeof *u->score))) {
		te_diag_set(d, "", 0, "out of memory");
		tk_unigram_free(u);
		return NULL;
	}
	u->trie = &u->own;
	if (n > INT32_MAX) {
		te_diag_set(d, "", 0, "unigram: %zu pieces is too many", n);
		tk_unigram_free(u);
		return NULL;
	}
	u->n = n;
	u->mode = mode;
	u->unk_id = unk_id >= 0 && (size_t)unk_id < n ? unk_id : -1;
	u->byte_fallback = byte_fallback;
	set_scores(u, pieces, lens, scores, types);
	return u;
}

/* nd[0, n) from a double array's three arrays, a base outside [0, n]
 * made n (the pointers apart, so that each is read once a node). */
static void
set_node_run(unode *restrict nd, const int32_t *restrict base, const int32_t *restrict check,
             const int32_t *restrict value, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t b = (uint32_t)base[i];

		nd[i].base = b <= n ? (int32_t)b : (int32_t)n;
		nd[i].check = check[i];
		nd[i].value = value[i];
	}
}

/* u->node from u's compiled trie (none from a hashed one, or without
 * memory: the walk then goes through tk_strie_next).  256 nodes of no
 * parent follow the trie's, and a base outside [0, dsize] (none in a
 * trie tk_strie_compile built) is made dsize: every child base + c is
 * then in the array, and a step needs no bounds check, with the same
 * children as tk_strie_next finds. */
static void
set_nodes(tk_unigram *u)
{
	const tk_strie *t = u->trie;
	size_t n = t->dsize;

	if (!t->base || n > INT32_MAX - 256 || !(u->node = ut_huge_alloc((n + 256) * sizeof *u->node)))
		return;
	set_node_run(u->node, t->base, t->check, t->value, n);
	for (size_t i = n; i < n + 256; i++)
		u->node[i] = (unode){(int32_t)n, -1, -1};
	u->dsize = n;
}

/* The lattice's characters: UTF-8, or a byte that is not. */
static inline size_t
char_len(const char *s, size_t n)
{
	size_t l;

	if ((unsigned char)s[0] < 0x80)
		return 1;
	l = tk_spm_valid_char_len(s, n);

	return l ? l : 1;
}

/* The trie's child of nd by c, 0 when none; *id its value. */
static inline uint32_t
uni_next(const tk_unigram *u, uint32_t nd, unsigned char c, int32_t *id)
{
	if (u->node) {
		size_t i = (size_t)u->node[nd].base + c;

		if (u->node[i].check != (int32_t)nd)
			return 0;
		*id = u->node[i].value;
		return (uint32_t)i;
	}
	if ((nd = tk_strie_next(u->trie, nd, c)))
		*id = u->trie->value[nd];
	return nd;
}

tk_unigram *
tk_unigram_new(size_t n, const char *const *pieces, const size_t *lens,
               const double *scores, const uint8_t *types, int32_t unk_id,
               int byte_fallback, int mode, te_diag *d)
{
	tk_unigram *u = uni_alloc(n, pieces, lens, scores, types, unk_id, byte_fallback, mode, d);

	if (!u)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t len = lens ? lens[i] : strlen(pieces[i]);

		if (in_lattice(mode, types ? types[i] : TK_SPM_TYPE_NORMAL, len) &&
		    tk_strie_insert(&u->own, pieces[i], len, (int32_t)i, mode == TK_UNIGRAM_HF) < 0) {
			te_diag_set(d, "", 0, "out of memory");
			tk_unigram_free(u);
			return NULL;
		}
	}
	tk_strie_compile(&u->own);
	set_nodes(u);
	return u;
}

tk_unigram *
tk_unigram_new_on(const struct tk_strie *trie, size_t n, const char *const *pieces, const size_t *lens,
                  const double *scores, const uint8_t *types, int32_t unk_id, te_diag *d)
{
	tk_unigram *u = uni_alloc(n, pieces, lens, scores, types, unk_id, 0, TK_UNIGRAM_SPM, d);

	if (u) {
		u->trie = trie;
		set_nodes(u);
	}
	return u;
}

void
tk_unigram_free(tk_unigram *u)
{
	if (!u)
		return;
	tk_strie_release(&u->own);
	free(u->node);
	free(u->score);
	free(u);
}

/* Piece lengths, one a byte of the text, in as few bytes as the longest
 * piece needs (1 for the usual models). */
typedef struct plens {
	void *v;
	int w;
} plens;

static inline size_t
pl_get(const plens *p, size_t i)
{
	return p->w == 1 ? ((const uint8_t *)p->v)[i] :
	       p->w == 2 ? ((const uint16_t *)p->v)[i] : ((const uint32_t *)p->v)[i];
}

static inline void
pl_set(plens *p, size_t i, size_t x)
{
	if (p->w == 1)
		((uint8_t *)p->v)[i] = (uint8_t)x;
	else if (p->w == 2)
		((uint16_t *)p->v)[i] = (uint16_t)x;
	else
		((uint32_t *)p->v)[i] = (uint32_t)x;
}

/* Best path over s, as sentencepiece's EncodeOptimized and HF's
 * encode_optimized compute it: for each character position, every piece
 * starting there extends the best path ending there; a strictly better
 * score replaces the old one, so on a tie the path whose last piece starts
 * earlier (the longer piece) stays.  A position no single-character piece
 * covers gets an unknown node.
 * Only back pointers are kept for the whole text: the length of the best
 * piece ending at k, 0 while k is not reached.  A score is read at most a
 * piece's length past where it was written, so scores live in a ring of
 * u->ring entries (score[k & mask] is k's while k is reached and within a
 * piece of the walk), and a piece is found again by its bytes (an unknown
 * node's bytes are no piece: none covers that character alone).
 * Afterwards the lengths are turned around: at each k on the best path,
 * from 0 on, the length of the piece that starts there.  The paths start
 * from score start (0 for a text; a word's, the text's path before it);
 * returns the best path's score. */
static double
viterbi(const tk_unigram *u, const char *s, size_t len, plens *pl, double *score, double start)
{
	int spm = u->mode == TK_UNIGRAM_SPM;
	size_t mask = u->ring - 1, cur, fwd;

	memset(pl->v, 0, (len + 1) * (size_t)pl->w);
	score[0] = start;
	for (size_t at = 0; at < len;) {
		double here = score[at & mask];
		size_t mblen = char_len(s + at, len - at), end;
		int single = 0;
		uint32_t nd = 0;
		double cand;

		for (size_t k = at; k < len; k++) {
			int32_t id;

			if (!(nd = uni_next(u, nd, (unsigned char)s[k], &id)))
				break;
			if (id >= 0) {
				double *tg = &score[(k + 1) & mask];

				cand = u->score[id] + here;
				if (!pl_get(pl, k + 1) || cand > *tg) {
					*tg = spm ? (double)(float)cand : cand;
					pl_set(pl, k + 1, k + 1 - at);
				}
				if (k + 1 - at == mblen)
					single = 1;
			}
		}
		end = at + mblen;
		cand = spm ? (double)((float)u->unk_score + (float)here) : u->unk_score + here;
		if (!single && (!pl_get(pl, end) || cand > score[end & mask])) {
			score[end & mask] = cand;
			pl_set(pl, end, mblen);
		}
		at = end;
	}
	/* turn the path around */
	for (cur = len, fwd = 0; cur > 0;) {
		size_t back = pl_get(pl, cur);

		pl_set(pl, cur, fwd);
		fwd = back;
		cur -= back;
	}
	pl_set(pl, 0, fwd);
	return score[len & mask];
}

/* The piece of s[a, b) on the best path: its id, -1 for an unknown character. */
static int32_t
piece_at(const tk_unigram *u, const char *s, size_t a, size_t b)
{
	return tk_strie_get(u->trie, s + a, b - a);
}

/* HF: the run of unknown pieces (or pieces that are unk_id) from s[a, *b)
 * on, fused into one: sets *b past it; returns its id, or -2 when it went
 * out as byte pieces, -1 with d filled (emit failed, no unk_id). */
static int32_t
hf_unknown(const tk_unigram *u, const char *s, size_t len, const plens *pl, size_t a,
           size_t *b, tk_emit_fn emit, void *ctx, te_diag *d)
{
	int32_t fid;

	while (*b < len) {
		size_t nb = *b + pl_get(pl, *b);
		int32_t nid = piece_at(u, s, *b, nb);

		if (!(nid < 0 || (u->unk_id >= 0 && nid == u->unk_id)))
			break;
		*b = nb;
	}
	fid = tk_strie_get(u->trie, s + a, *b - a);
	if (fid >= 0)
		return fid;
	if (u->byte_fallback) {
		size_t k;

		for (k = a; k < *b; k++)
			if (u->byte_id[(unsigned char)s[k]] < 0)
				break;
		if (k == *b) {
			for (k = a; k < *b; k++)
				if (emit(ctx, u->byte_id[(unsigned char)s[k]], a, *b) < 0)
					return te_diag_set(d, "", 0, "out of memory");
			return -2;
		}
	}
	if (u->unk_id < 0)
		return te_diag_set(d, "", 0, "unigram: no unk token for unknown text '%.*s'",
		                   (int)(*b - a), s + a);
	return u->unk_id;
}

int
tk_unigram_encode_cb(const tk_unigram *u, const char *s, size_t len, tk_emit_fn emit,
                     void *ctx, te_diag *d)
{
	plens pl = { NULL, u->ring <= 256 ? 1 : u->ring <= 65536 ? 2 : 4 };
	double *score;
	int rc = 0;

	if (len == 0)
		return 0;
	if (len >= UINT32_MAX)
		return te_diag_set(d, "", 0, "unigram: input of %zu bytes is too long", len);
	pl.v = malloc((len + 1) * (size_t)pl.w);
	score = malloc(u->ring * sizeof *score);
	if (!pl.v || !score) {
		free(pl.v);
		free(score);
		return te_diag_set(d, "", 0, "out of memory");
	}
	viterbi(u, s, len, &pl, score, 0);
	free(score);
	for (size_t a = 0, b; a < len; a = b) {
		int32_t id = piece_at(u, s, a, b = a + pl_get(&pl, a));

		if (u->mode == TK_UNIGRAM_HF && (id < 0 || (u->unk_id >= 0 && id == u->unk_id))) {
			id = hf_unknown(u, s, len, &pl, a, &b, emit, ctx, d);
			if (id == -2)
				continue;
			if (id < 0) {
				rc = -1;
				break;
			}
		}
		if (u->mode == TK_UNIGRAM_SPM && id < 0)
			id = u->unk_id;
		if (emit(ctx, id, a, b) < 0) {
			rc = te_diag_set(d, "", 0, "out of memory");
			break;
		}
	}
	free(pl.v);
	return rc;
}

int
tk_unigram_encode(const tk_unigram *u, const char *s, size_t len,
                  te_ids *ids, tk_spm_spans *spans, te_diag *d)
{
	tk_ids_spans x = { ids, spans };

	return tk_unigram_encode_cb(u, s, len, tk_ids_spans_emit, &x, d);
}

/* ------------------------------------------------ words of an SPM text */

int
tk_unigram_word_run(const tk_unigram *u, const char *s, size_t len, double *start,
                    tk_emit_fn emit, void *ctx)
{
	uint8_t pl_buf[1024];
	double sc_buf[64];
	plens pl = { pl_buf, u->ring <= 256 ? 1 : u->ring <= 65536 ? 2 : 4 };
	double *score = sc_buf;
	int rc = 0;

	if (len >= UINT32_MAX)
		return -1;
	if ((len + 1) * (size_t)pl.w > sizeof pl_buf && !(pl.v = malloc((len + 1) * (size_t)pl.w)))
		return -1;
	if (u->ring > 64 && !(score = malloc(u->ring * sizeof *score))) {
		if (pl.v != pl_buf)
			free(pl.v);
		return -1;
	}
	*start = viterbi(u, s, len, &pl, score, *start);
	for (size_t a = 0, b; a < len; a = b) {
		b = a + pl_get(&pl, a);
		if (emit(ctx, piece_at(u, s, a, b), a, b) < 0) {
			rc = -1;
			break;
		}
	}
	if (pl.v != pl_buf)
		free(pl.v);
	if (score != sc_buf)
		free(score);
	return rc;
}

/* Two best path scores ending at a place, and the best one's last piece. */
typedef struct best2 {
	double b1, b2;      /* -inf: none */
	double amax;        /* the most sum of |score| of any path to here */
	int32_t id;         /* of the best one's last piece, -1 unknown */
	uint32_t len;       /* its length, 0 while the place is not reached */
} best2;

/* A path to x by a piece of score sc from f: where it stands among x's. */
static inline void
best2_edge(best2 *x, const best2 *f, double sc, int32_t id, uint32_t len)
{
	double c1 = f->b1 + sc, c2 = f->b2 + sc, a = f->amax + fabs(sc);

	if (!x->len || c1 > x->b1) {
		x->b2 = x->len && x->b1 > c2 ? x->b1 : c2;
		x->b1 = c1;
		x->id = id;
		x->len = len;
	} else if (c1 > x->b2) {
		x->b2 = c1;
	}
	if (a > x->amax)
		x->amax = a;
}

/* Why a word's best path, found once from a start of 0, is the one the
 * sentencepiece lattice picks from any start P, when the word is one of a
 * text cut before each space symbol, and no lattice piece holds the space
 * symbol (or, at its end, the start of one) past its first byte:
 * - every path over the text then has a node at each cut (a piece starting
 *   before a cut and ending after it would hold the symbol past its first
 *   byte; an unknown node is one character, and the symbol's lead byte is
 *   no continuation byte), so the text's best path is its words' best
 *   paths, each from the score of the path before it, P;
 * - sentencepiece's score at a node is the max over the candidates, each
 *   rounded to float (a candidate replaces the stored one when strictly
 *   greater, which keeps the max); rounding is monotone, so the score at
 *   the word's end is max over paths pi of F_P(pi), pi's score summed left
 *   to right with each sum rounded as the lattice rounds it (viterbi), and
 *   the path it backtracks has that score;
 * - each rounding errs by at most 2^-24 (plus 2^-53 in double) of the sum,
 *   so |F_P(pi) - (P + E(pi))| <= n 2^-23 (|P| + A) + n 2^-140, with E(pi)
 *   the exact sum of pi's scores, n <= N its nodes (N: the characters of
 *   the word) and A the most sum of |score| of any path (amax);
 * - D, the sums in double from 0 here, err by at most n 2^-52 A;
 * so when the best D beats every other path's D by a margin M with
 * M - 2^-50 N A - 2^-100 N > 2^-22 N (|P| + A), the best D path is the
 * unique path of the largest F_P and the lattice picks it, whatever the
 * ties; the margin is found by keeping two best scores at each place.
 * *sure0 and *sure1 are set so that, with twice that slack (for the
 * rounding of the test itself), the path holds from P when
 * *sure0 > *sure1 * |P|; a tie (M = 0) never does. */
size_t
tk_unigram_word_best(const tk_unigram *u, const char *s, size_t len, tk_seg *out,
                     double *sure0, double *sure1)
{
	best2 b[TK_UNIGRAM_WORD_MAX + 1];
	size_t nch = 0, n = 0;

	memset(b, 0, (len + 1) * sizeof *b);
	b[0].b2 = -INFINITY;
	b[0].len = 1;
	for (size_t at = 0, mblen; at < len; at += mblen) {
		int single = 0;
		uint32_t nd = 0;

		nch++;
		mblen = char_len(s + at, len - at);
		for (size_t k = at; k < len; k++) {
			int32_t id;

			if (!(nd = uni_next(u, nd, (unsigned char)s[k], &id)))
				break;
			if (id < 0)
				continue;
			best2_edge(&b[k + 1], &b[at], u->score[id], id, (uint32_t)(k + 1 - at));
			single |= k + 1 - at == mblen;
		}
		if (!single)
			best2_edge(&b[at + mblen], &b[at], u->unk_score, -1, (uint32_t)mblen);
	}
	for (size_t k = len; k > 0; k -= b[k].len)
		n++;
	for (size_t k = len, i = n; k > 0; k -= b[k].len) {
		i--;
		out[i].start = (uint32_t)(k - b[k].len);
		out[i].end = (uint32_t)k;
		out[i].id = b[k].id;
	}
	*sure1 = 0x1p-21 * (double)nch;
	*sure0 = b[len].b1 - b[len].b2 - 0x1p-21 * (double)nch * b[len].amax -
	         0x1p-49 * (double)nch * b[len].amax - 0x1p-99 * (double)nch;
	return n;
}

double
tk_unigram_path_end(const tk_unigram *u, const int32_t *ids, size_t n, double start)
{
	for (size_t i = 0; i < n; i++)
		start = ids[i] >= 0 ? (double)(float)(u->score[ids[i]] + start)
		                    : (double)((float)u->unk_score + (float)start);
	return start;
}
