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

typedef struct node {
	double score;
	uint32_t start;     /* UINT32_MAX: not reached */
	int32_t id;         /* -1: unknown character */
} node;

/* Best path over s, as sentencepiece's EncodeOptimized and HF's
 * encode_optimized compute it: for each character position, every piece
 * starting there extends the best path ending there; a strictly better
 * score replaces the old one, so on a tie the path whose last piece starts
 * earlier (the longer piece) stays.  A position no single-character piece
 * covers gets an unknown node.  Fills seg with *np (start, id) pairs, last
 * piece first; id -1 is an unknown character. */
static void
viterbi(const tk_unigram *u, const char *s, size_t len, node *best,
        uint32_t *seg, size_t *np)
{
	const tk_strie *t = &u->trie;
	int spm = u->mode == TK_UNIGRAM_SPM;

	for (size_t i = 0; i <= len; i++) {
		best[i].start = UINT32_MAX;
		best[i].score = 0;
		best[i].id = -1;
	}
	best[0].start = 0;
	for (size_t at = 0; at < len;) {
		double here = best[at].score;
		size_t mblen = tk_spm_valid_char_len(s + at, len - at);
		int single = 0;
		uint32_t nd = 0;

		if (!mblen)
			mblen = 1;
		for (size_t k = at; k < len; k++) {
			int32_t id;

			nd = tk_strie_next(t, nd, (unsigned char)s[k]);
			if (!nd)
				break;
			id = t->value[nd];
			if (id >= 0) {
				node *tg = &best[k + 1];
				double cand = u->score[id] + here;

				if (tg->start == UINT32_MAX || cand > tg->score) {
					tg->score = spm ? (double)(float)cand : cand;
					tg->start = (uint32_t)at;
					tg->id = id;
				}
				if (k + 1 - at == mblen)
					single = 1;
			}
		}
		if (!single) {
			node *tg = &best[at + mblen];
			double cand = spm ? (double)((float)u->unk_score + (float)here)
			                  : u->unk_score + here;

			if (tg->start == UINT32_MAX || cand > tg->score) {
				tg->score = cand;
				tg->start = (uint32_t)at;
				tg->id = -1;
			}
		}
		at += mblen;
	}
	/* backtrack: seg holds (start, id) pairs from the end */
	size_t n = 0;
	for (size_t end = len; end > 0;) {
		seg[2 * n] = best[end].start;
		seg[2 * n + 1] = (uint32_t)best[end].id;
		n++;
		end = best[end].start;
	}
	*np = n;
}

int
tk_unigram_encode(const tk_unigram *u, const char *s, size_t len,
                  te_ids *ids, tk_spm_spans *spans, te_diag *d)
{
	node *best;
	uint32_t *seg;
	size_t n;
	int rc = 0;

	if (len == 0)
		return 0;
	if (len >= UINT32_MAX)
		return te_diag_set(d, "", 0, "unigram: input of %zu bytes is too long", len);
	best = malloc((len + 1) * sizeof *best);
	seg = malloc(2 * (len + 1) * sizeof *seg);
	if (!best || !seg) {
		free(best);
		free(seg);
		return te_diag_set(d, "", 0, "out of memory");
	}
	viterbi(u, s, len, best, seg, &n);
	free(best);
	/* seg is in reverse order: walk it backwards. */
	for (size_t k = n; k-- > 0;) {
		size_t start = seg[2 * k];
		int32_t id = (int32_t)seg[2 * k + 1];
		size_t stop = k > 0 ? seg[2 * (k - 1)] : len;

		if (u->mode == TK_UNIGRAM_SPM) {
			if (te_ids_push(ids, id < 0 ? u->unk_id : id) < 0 ||
			    (spans && tk_spm_spans_push(spans, start, stop) < 0))
				goto nomem;
			continue;
		}
		/* HF: fuse a run of unknown nodes (or nodes that are unk_id) */
		if (id < 0 || (u->unk_id >= 0 && id == u->unk_id)) {
			int32_t fid;

			while (k > 0) {
				int32_t nid = (int32_t)seg[2 * (k - 1) + 1];

				if (!(nid < 0 || (u->unk_id >= 0 && nid == u->unk_id)))
					break;
				k--;
				stop = k > 0 ? seg[2 * (k - 1)] : len;
			}
			fid = tk_strie_get(&u->trie, s + start, stop - start);
			if (fid >= 0) {
				if (te_ids_push(ids, fid) < 0 ||
				    (spans && tk_spm_spans_push(spans, start, stop) < 0))
					goto nomem;
				continue;
			}
			if (u->byte_fallback) {
				size_t b;

				for (b = start; b < stop; b++)
					if (u->byte_id[(unsigned char)s[b]] < 0)
						break;
				if (b == stop) {
					for (b = start; b < stop; b++)
						if (te_ids_push(ids, u->byte_id[(unsigned char)s[b]]) < 0 ||
						    (spans && tk_spm_spans_push(spans, start, stop) < 0))
							goto nomem;
					continue;
				}
			}
			if (u->unk_id < 0) {
				rc = te_diag_set(d, "", 0, "unigram: no unk token for "
				                 "unknown text '%.*s'", (int)(stop - start),
				                 s + start);
				goto out;
			}
			id = u->unk_id;
		}
		if (te_ids_push(ids, id) < 0 ||
		    (spans && tk_spm_spans_push(spans, start, stop) < 0))
			goto nomem;
	}
	goto out;
nomem:
	rc = te_diag_set(d, "", 0, "out of memory");
out:
	free(seg);
	return rc;
}
