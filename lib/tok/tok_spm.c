/* tok_spm.c: SentencePiece .model files and llama.cpp GGUF vocabularies as
 * te_tok: "llama" vocabularies and .model files encode through the spm
 * module (spm_int.h); "gpt2" (byte-level BPE) and "bert" (WordPiece)
 * vocabularies are rebuilt as the Hugging Face pipelines they came from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm_int.h"
#include "tok_int.h"

/* Take the vocabulary and special pieces of a loaded SentencePiece model.
 * The strings are m's (NUL-terminated, in its pool or its mapped cache),
 * borrowed, not copied: m is t->spm, which te_tok_free frees after them;
 * tk_tok_set_vocab at the last id sizes the tables once. */
static int
from_spm(te_tok *t, tk_spm *m, const char *path, te_diag *d)
{
	size_t i, n = m->n;

	t->spm = m;
	t->mtype = TK_M_SPM;
	t->algo = m->model_type == TK_SPM_MODEL_UNIGRAM ? "Unigram" : "BPE";
	t->byte_fallback = m->byte_fallback;
	t->unk = m->unk_id;
	t->match_special = 0;	/* sentencepiece reads "<s>" in text as text */
	if (!n || tk_tok_set_vocab(t, (int32_t)(n - 1), m->piece[n - 1], m->plen[n - 1]))
		return te_diag_set(d, path, 0, "out of memory");
	for (i = 0; i < n; i++) {
		t->piece[i] = m->piece[i];
		t->piece_n[i] = (uint32_t)m->plen[i];
	}
	for (i = 0; i < n; i++) {
		if (m->type[i] == TK_SPM_TYPE_CONTROL || m->type[i] == TK_SPM_TYPE_UNKNOWN) {
			tk_added a = {0};

			a.s = m->piece[i];
			a.n = m->plen[i];
			a.id = (int32_t)i;
			a.special = 1;
			if (a.n && tk_tok_add_added(t, &a))
				return te_diag_set(d, path, 0, "out of memory");
			t->special[i] = 1;
		}
	}
	if (!(t->tpl = calloc(1, sizeof *t->tpl)))
		return te_diag_set(d, path, 0, "out of memory");
	t->ntpl = 1;
	return 0;
}

int
tk_load_spm(te_tok *t, const char *path, te_diag *d)
{
	tk_spm *m = tk_spm_cache_load(path);

	if (!m) {
		if (!(m = tk_spm_load(path, d)))
			return -1;
		tk_spm_cache_save(m, path);	/* best effort: see tokemb(5) */
	}
	return from_spm(t, m, path, d);
}

static const char pat_cl100k[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char pat_qwen2[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char pat_gpt2[] =
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static tk_pre *
pre_new(int type)
{
	tk_pre *p = calloc(1, sizeof *p);

	if (p)
		p->type = type;
	return p;
}

static int
pre_add(tk_pre *seq, tk_pre *p)
{
	tk_pre **sub;

	if (!p || !(sub = realloc(seq->sub, (seq->nsub + 1) * sizeof *sub))) {
		tk_pre_free(p);
		return -1;
	}
	seq->sub = sub;
	seq->sub[seq->nsub++] = p;
	return 0;
}

static tk_pre *
regex_split(const char *pat, te_diag *d)
{
	tk_pre *p = pre_new(TK_P_SPLIT);

	if (!p)
		return NULL;
	p->behavior = TK_ISOLATED;
	if (!(p->scanner = tk_scanner_for(pat)) && !(p->re = tk_regex_new(pat, strlen(pat), d))) {
		free(p);
		return NULL;
	}
	return p;
}

/* A byte-level BPE as Hugging Face builds it for the GGUF's pre name. */
static int
gguf_bpe(te_tok *t, const tk_gguf_vocab *g, const char *path, te_diag *d)
{
	tk_pre *seq = pre_new(TK_P_SEQ), *bl;
	const char *pre = g->pre ? g->pre : "gpt-2";
	char key[4096], key2[4096], cat[8192];
	size_t i;
	int b;
	tk_dec *dec;

	if (!seq)
		return te_diag_set(d, path, 0, "out of memory");
	t->pre = seq;
	t->byte_level = 1;
	t->bpe.byte_level = 1;
	t->mtype = TK_M_BPE;
	t->algo = "BPE";
	if (!strcmp(pre, "llama-bpe") || !strcmp(pre, "llama3") || !strcmp(pre, "smaug-bpe") ||
	    !strcmp(pre, "dbrx")) {
		if (pre_add(seq, regex_split(pat_cl100k, d)))
			return -1;
	} else if (!strcmp(pre, "qwen2")) {
		if (pre_add(seq, regex_split(pat_qwen2, d)))
			return -1;
	} else if (!strcmp(pre, "starcoder") || !strcmp(pre, "refact")) {
		tk_pre *dg = pre_new(TK_P_DIGITS);

		if (dg)
			dg->individual = 1;
		if (pre_add(seq, dg))
			return te_diag_set(d, path, 0, "out of memory");
		if (pre_add(seq, regex_split(pat_gpt2, d)))
			return -1;
	} else if (!strcmp(pre, "gpt-2") || !strcmp(pre, "default")) {
		if (pre_add(seq, regex_split(pat_gpt2, d)))
			return -1;
	} else {
		return te_diag_set(d, path, 0, "unknown GGUF pre-tokenizer '%s'", pre);
	}
	if (!(bl = pre_new(TK_P_BYTELEVEL)) || pre_add(seq, bl))
		return te_diag_set(d, path, 0, "out of memory");
	for (i = 0; i < g->n_tokens; i++) {
		const char *s = g->tokens[i];
		size_t n = g->token_lens[i], k = 0, j = 0;
		int ok = 1, len;

		if (tk_tok_set_vocab(t, (int32_t)i, s, n))
			return te_diag_set(d, path, 0, "out of memory");
		while (j < n && k < sizeof key) {
			int by = tk_cp_to_byte(ut_utf8_dec((const unsigned char *)s + j, n - j, &len));

			if (by < 0) {
				ok = 0;
				break;
			}
			key[k++] = (char)by;
			j += (size_t)len;
		}
		if (ok && j == n && ut_strmap_put(&t->bpe.vocab, key, k, (int32_t)i))
			return te_diag_set(d, path, 0, "out of memory");
		if (g->token_types && (g->token_types[i] == TK_SPM_TYPE_CONTROL ||
		                       g->token_types[i] == TK_SPM_TYPE_USER_DEFINED)) {
			tk_added a = {0};

			a.s = (char *)s;
			a.n = n;
			a.id = (int32_t)i;
			a.special = g->token_types[i] == TK_SPM_TYPE_CONTROL;
			if (n && tk_tok_add_added(t, &a))
				return te_diag_set(d, path, 0, "out of memory");
		}
	}
	for (b = 0; b < 256; b++) {
		char c = (char)b;

		t->bpe.byte_id[b] = ut_strmap_get(&t->bpe.vocab, &c, 1);
	}
	for (i = 0; i < g->n_merges; i++) {
		const char *m = g->merges[i], *sp = memchr(m, ' ', g->merge_lens[i]);
		size_t kn = 0, kn2 = 0, j;
		int len;
		int32_t a, bb, mid;

		if (!sp)
			continue;
		for (j = 0; m + j < sp && kn < sizeof key; j += (size_t)len)
			key[kn++] = (char)tk_cp_to_byte(ut_utf8_dec((const unsigned char *)m + j,
			                                            (size_t)(sp - m) - j, &len));
		for (j = (size_t)(sp - m) + 1; j < g->merge_lens[i] && kn2 < sizeof key2; j += (size_t)len)
			key2[kn2++] = (char)tk_cp_to_byte(ut_utf8_dec((const unsigned char *)m + j,
			                                             g->merge_lens[i] - j, &len));
		a = ut_strmap_get(&t->bpe.vocab, key, kn);
		bb = ut_strmap_get(&t->bpe.vocab, key2, kn2);
		memcpy(cat, key, kn);
		memcpy(cat + kn, key2, kn2);
		mid = ut_strmap_get(&t->bpe.vocab, cat, kn + kn2);
		if (a >= 0 && bb >= 0 && mid >= 0 && tk_pairmap_put(&t->bpe.merges, a, bb, (uint32_t)i, mid))
			return te_diag_set(d, path, 0, "out of memory");
	}
	if (!(dec = calloc(1, sizeof *dec)))
		return te_diag_set(d, path, 0, "out of memory");
	dec->type = TK_D_BYTELEVEL;
	t->dec = dec;
	if (!(t->tpl = calloc(1, sizeof *t->tpl)))
		return te_diag_set(d, path, 0, "out of memory");
	t->ntpl = 1;
	return 0;
}

/* llama.cpp's BERT vocabularies mark word starts with U+2581 and leave
 * continuations bare; WordPiece wants "##" on continuations. */
static int
gguf_bert(te_tok *t, const tk_gguf_vocab *g, const char *path, te_diag *d)
{
	tk_norm *n = calloc(1, sizeof *n);
	tk_dec *dec = calloc(1, sizeof *dec);
	size_t i;
	char buf[4096];

	t->norm = n;
	t->dec = dec;
	if (!n || !dec || !(t->pre = pre_new(TK_P_BERT)))
		return te_diag_set(d, path, 0, "out of memory");
	n->type = TK_N_BERT;
	n->clean_text = n->chinese = n->lowercase = n->strip_accents = 1;
	dec->type = TK_D_WORDPIECE;
	dec->cleanup = 1;
	if (!(dec->prefix = strdup("##")))
		return te_diag_set(d, path, 0, "out of memory");
	t->mtype = TK_M_WORDPIECE;
	t->algo = "WordPiece";
	strcpy(t->wp.prefix, "##");
	t->wp.prefix_n = 2;
	t->wp.max_chars = 100;
	for (i = 0; i < g->n_tokens; i++) {
		const char *s = g->tokens[i];
		size_t len = g->token_lens[i], k;

		if (len + 2 > sizeof buf)
			continue;
		if (len >= 3 && !memcmp(s, "\xe2\x96\x81", 3)) {
			memcpy(buf, s + 3, len - 3);
			k = len - 3;
		} else if (len && s[0] == '[' && s[len - 1] == ']') {
			memcpy(buf, s, len);
			k = len;
		} else {
			memcpy(buf, "##", 2);
			memcpy(buf + 2, s, len);
			k = len + 2;
		}
		if (tk_tok_set_vocab(t, (int32_t)i, buf, k) ||
		    ut_strmap_put(&t->wp.vocab, buf, k, (int32_t)i))
			return te_diag_set(d, path, 0, "out of memory");
		if (g->token_types && g->token_types[i] == TK_SPM_TYPE_CONTROL) {
			tk_added a = {0};

			a.s = buf;
			a.n = k;
			a.id = (int32_t)i;
			a.special = 1;
			if (tk_tok_add_added(t, &a))
				return te_diag_set(d, path, 0, "out of memory");
		}
	}
	t->unk = t->wp.unk = g->unk_id;
	if (!(t->tpl = calloc(3, sizeof *t->tpl)))
		return te_diag_set(d, path, 0, "out of memory");
	t->ntpl = 3;
	if (g->cls_id >= 0 && g->sep_id >= 0) {
		if (!(t->tpl[0].ids = malloc(sizeof(int32_t))) || !(t->tpl[2].ids = malloc(sizeof(int32_t))))
			return te_diag_set(d, path, 0, "out of memory");
		t->tpl[0].ids[0] = g->cls_id;
		t->tpl[0].n = 1;
		t->tpl[2].ids[0] = g->sep_id;
		t->tpl[2].n = 1;
	} else {
		t->ntpl = 1;
	}
	return 0;
}

int
tk_load_gguf(te_tok *t, const char *path, te_diag *d)
{
	tk_gguf_vocab *g = tk_gguf_vocab_load(path, d);
	int rc;

	if (!g)
		return -1;
	if (!strcmp(g->model, "llama") || !strcmp(g->model, "t5")) {
		tk_spm *m = tk_spm_from_gguf(g, d);

		rc = m ? from_spm(t, m, path, d) : -1;
	} else if (!strcmp(g->model, "gpt2")) {
		rc = gguf_bpe(t, g, path, d);
	} else if (!strcmp(g->model, "bert")) {
		rc = gguf_bert(t, g, path, d);
	} else {
		rc = te_diag_set(d, path, 0, "GGUF tokenizer model '%s' is not supported", g->model);
	}
	tk_gguf_vocab_free(g);
	return rc;
}
