/* unigram.c: the Unigram language-model tokenizer (Viterbi over a trie of
 * pieces), with the arithmetic of Hugging Face tokenizers or of
 * sentencepiece, which break ties differently. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm_int.h"

struct tk_unigram {
	tk_strie trie;      /* pieces that take part in the lattice */
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

tk_unigram *
tk_unigram_new(size_t n, const char *const *pieces, const size_t *lens,
               const double *scores, const uint8_t *types, int32_t unk_id,
               int byte_fallback, int mode, te_diag *d)
{
	tk_unigram *u = calloc(1, sizeof *u);
	double min_score = INFINITY;
	float min_f = FLT_MAX, max_f = FLT_MIN;

	if (!u || tk_strie_init(&u->trie) < 0)
		goto nomem;
	if (n > INT32_MAX) {
		te_diag_set(d, "", 0, "unigram: %zu pieces is too many", n);
		goto fail;
	}
	u->n = n;
	u->mode = mode;
	u->unk_id = unk_id >= 0 && (size_t)unk_id < n ? unk_id : -1;
	u->byte_fallback = byte_fallback;
	u->score = malloc((n ? n : 1) * sizeof *u->score);
	if (!u->score)
		goto nomem;
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
		int in_lattice = 1;

		if (mode == TK_UNIGRAM_SPM) {
			in_lattice = t == TK_SPM_TYPE_NORMAL ||
			             t == TK_SPM_TYPE_USER_DEFINED;
			if (t == TK_SPM_TYPE_USER_DEFINED)
				u->score[i] = (double)((float)len * max_f) - 0.1;
			else
				u->score[i] = (double)(float)scores[i];
		} else
			u->score[i] = scores[i];
		if (len == 0)
			in_lattice = 0;
		if (in_lattice && len >= u->ring)
			u->ring = len + 1;
		if (in_lattice &&
		    tk_strie_insert(&u->trie, pieces[i], len, (int32_t)i,
		                    mode == TK_UNIGRAM_HF) < 0)
			goto nomem;
		if (len == 6 && memcmp(pieces[i], "<0x", 3) == 0 && pieces[i][5] == '>' &&
		    strchr("0123456789ABCDEF", pieces[i][3]) && pieces[i][3] &&
		    strchr("0123456789ABCDEF", pieces[i][4]) && pieces[i][4]) {
			/* HF looks bytes up as format!("<0x{:02X}>"); the last
			 * duplicate wins, as in its token-to-id map */
			unsigned v = (unsigned)strtoul((char[]){pieces[i][3], pieces[i][4], 0},
			                               NULL, 16);

			if (u->byte_id[v] < 0 || mode == TK_UNIGRAM_HF)
				u->byte_id[v] = (int32_t)i;
		}
	}
	tk_strie_compile(&u->trie);
	if (u->ring < 5)
		u->ring = 5;
	while (u->ring & (u->ring - 1))
		u->ring += u->ring & -u->ring;
	if (mode == TK_UNIGRAM_SPM)
		u->unk_score = (double)(min_f - 10.0f);
	else
		u->unk_score = min_score - 10.0;
	return u;
nomem:
	te_diag_set(d, "", 0, "out of memory");
fail:
	tk_unigram_free(u);
	return NULL;
}

void
tk_unigram_free(tk_unigram *u)
{
	if (!u)
		return;
	tk_strie_release(&u->trie);
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
 * from 0 on, the length of the piece that starts there. */
static void
viterbi(const tk_unigram *u, const char *s, size_t len, plens *pl, double *score)
{
	const tk_strie *t = &u->trie;
	int spm = u->mode == TK_UNIGRAM_SPM;
	size_t mask = u->ring - 1, cur, fwd;

	memset(pl->v, 0, (len + 1) * (size_t)pl->w);
	score[0] = 0;
	for (size_t at = 0; at < len;) {
		double here = score[at & mask];
		size_t mblen = tk_spm_valid_char_len(s + at, len - at), end;
		int single = 0;
		uint32_t nd = 0;
		double cand;

		if (!mblen)
			mblen = 1;
		for (size_t k = at; k < len; k++) {
			int32_t id;

			nd = tk_strie_next(t, nd, (unsigned char)s[k]);
			if (!nd)
				break;
			id = t->value[nd];
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
}

/* The piece of s[a, b) on the best path: its id, -1 for an unknown character. */
static int32_t
piece_at(const tk_unigram *u, const char *s, size_t a, size_t b)
{
	return tk_strie_get(&u->trie, s + a, b - a);
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
	fid = tk_strie_get(&u->trie, s + a, *b - a);
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
	viterbi(u, s, len, &pl, score);
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
