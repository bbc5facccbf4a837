/* train.c: tokenizer training, the common part: options and presets,
 * normalising and pre-tokenising documents into counts of distinct
 * pre-tokens, and writing the trained tokenizer as Hugging Face
 * tokenizer.json.  The algorithms are in train_bpe.c and train_unigram.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>

#include "tok_int.h"
#include "tok_uni.h"
#include "train_int.h"

/* ------------------------------------------------------------- options */

void
te_train_opts_init(te_train_opts *o, te_train_model model, te_train_preset preset)
{
	static const char *gpt2[] = {"<|endoftext|>"};
	static const char *bert[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
	static const char *spm[] = {"<unk>"};
	static const char *llama[] = {"<unk>", "<s>", "</s>"};

	memset(o, 0, sizeof *o);
	o->model = model;
	o->vocab_size = model == TE_TRAIN_MODEL_UNIGRAM ? 8000 : 30000;
	o->max_piece_length = 16;
	switch (preset) {
	case TE_TRAIN_PRESET_GPT2:
		o->model = TE_TRAIN_MODEL_BPE;
		o->byte_level = 1;
		o->special = gpt2, o->n_special = 1;
		break;
	case TE_TRAIN_PRESET_BERT:
		o->model = TE_TRAIN_MODEL_WORDPIECE;
		o->bert = 1;
		o->lowercase = 1;
		o->special = bert, o->n_special = 5;
		break;
	case TE_TRAIN_PRESET_SENTENCEPIECE:
		o->model = TE_TRAIN_MODEL_UNIGRAM;
		o->vocab_size = 8000;
		o->nfkc = 1;
		o->special = spm, o->n_special = 1;
		break;
	case TE_TRAIN_PRESET_BYTE_FALLBACK:
		o->model = TE_TRAIN_MODEL_BPE;
		o->byte_fallback = 1;
		o->special = llama, o->n_special = 3;
		break;
	case TE_TRAIN_PRESET_NONE:
		if (model == TE_TRAIN_MODEL_UNIGRAM)
			o->special = spm, o->n_special = 1;
		if (model == TE_TRAIN_MODEL_WORDPIECE) {
			o->bert = 1;
			o->special = bert + 1, o->n_special = 1;
		}
		break;
	}
}

int
te_train_model_parse(const char *s)
{
	if (!strcmp(s, "bpe"))
		return TE_TRAIN_MODEL_BPE;
	if (!strcmp(s, "wordpiece"))
		return TE_TRAIN_MODEL_WORDPIECE;
	if (!strcmp(s, "unigram"))
		return TE_TRAIN_MODEL_UNIGRAM;
	return -1;
}

int
te_train_preset_parse(const char *s)
{
	if (!strcmp(s, "gpt2"))
		return TE_TRAIN_PRESET_GPT2;
	if (!strcmp(s, "bert"))
		return TE_TRAIN_PRESET_BERT;
	if (!strcmp(s, "sentencepiece"))
		return TE_TRAIN_PRESET_SENTENCEPIECE;
	if (!strcmp(s, "byte-fallback"))
		return TE_TRAIN_PRESET_BYTE_FALLBACK;
	return -1;
}

/* ------------------------------------------------- character classes */

/* GPT-2's classes: letters, numbers, whitespace as in the tokenizer
 * (tok_uni.h); BERT's punctuation and CJK ideographs as its BertPreTokenizer
 * (pretok.c) and BertNormalizer (normalize.c). */
static int
gpt2_class(int32_t c)
{
	uint8_t u;

	if (c >= 0 && c < 0x80)		/* the same classes, without the table */
		return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? 1 : (c >= '0' && c <= '9') ? 2 :
		       (c == ' ' || (c >= 0x09 && c <= 0x0d)) ? 0 : 3;
	u = tk_uclass(c);		/* one look-up for the three tests */
	return u & TK_U_L ? 1 : u & TK_U_N ? 2 : !(u & TK_U_WS) ? 3 : 0;
}

/* ------------------------------------------------------------ trainer */

te_trainer *
te_trainer_new(const te_train_opts *o, te_diag *d)
{
	te_trainer *t = calloc(1, sizeof *t);
	size_t i;

	if (!t)
		goto oom;
	t->o = *o;
	if (o->n_special) {
		t->special = calloc(o->n_special, sizeof *t->special);
		if (!t->special)
			goto oom;
		size_t n = 0;
		for (i = 0; i < o->n_special; i++) {
			size_t k;
			for (k = 0; k < n && strcmp(t->special[k], o->special[i]); k++)
				;
			if (k < n)
				continue;        /* given twice */
			if (!(t->special[n++] = strdup(o->special[i])))
				goto oom;
		}
		t->o.n_special = n;
	}
	t->o.special = (const char **)t->special;
	if (!t->o.max_piece_length)
		t->o.max_piece_length = 16;
	return t;
oom:
	te_trainer_free(t);
	te_diag_set(d, "", 0, "out of memory");
	return NULL;
}

void
te_trainer_free(te_trainer *t)
{
	size_t i;

	if (!t)
		return;
	if (t->special)
		for (i = 0; i < t->o.n_special; i++)
			free(t->special[i]);
	free(t->special);
	free(t->wc);
	free(t->arena);
	free(t->b1);
	free(t->b2);
	ut_strmap_release(&t->vocab);
	free(t->scores);
	free(t->merges);
	free(t);
}

void
te_trainer_set_progress(te_trainer *t, te_train_progress fn, void *arg)
{
	t->progress = fn;
	t->progress_arg = arg;
}

size_t
te_trainer_distinct(const te_trainer *t)
{
	return t->wc_n;
}

uint64_t
te_trainer_documents(const te_trainer *t)
{
	return t->ndocs;
}

size_t
te_trainer_vocab_size(const te_trainer *t)
{
	return t->vocab.n;
}

/* Count one pre-token.  One longer than TE_TRAIN_MAX_WORD bytes (a line
 * without spaces) is counted in pieces of about that size, cut between
 * characters: merging inside a word costs its length, and a 100 MB word
 * would make every merge that touches it crawl. */
#define TE_TRAIN_MAX_WORD 4096

static int
wc_add(te_trainer *t, const char *s, size_t n)
{
	while (n > TE_TRAIN_MAX_WORD) {
		size_t k = TE_TRAIN_MAX_WORD;
		while (k > 1 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
		if (tk_trainer_count(t, s, k, 1) < 0)
			return -1;
		s += k;
		n -= k;
	}
	return tk_trainer_count(t, s, n, 1);
}

/* Room for need bytes in a scratch buffer. */
static int
reserve(char **b, size_t *cap, size_t need)
{
	return ut_grow((void **)b, cap, need, 1);
}

/* One GPT-2 regex match at s[i]:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * Invalid bytes count as "other".  Returns the end of the match. */
static size_t
gpt2_next(const unsigned char *s, size_t n, size_t i)
{
	size_t j = i, k;
	int l, cls;
	int32_t c;

	if (s[i] == '\'' && i + 1 < n) {
		unsigned char a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
		if (a == 's' || a == 't' || a == 'm' || a == 'd')
			return i + 2;
		if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
			return i + 3;
	}
	if (s[j] == ' ' && j + 1 < n)
		j++;
	for (;;) {
		c = ut_utf8_dec(s + j, n - j, &l);
		cls = gpt2_class(c);
		if (cls || j == i)
			break;
		j = i;     /* the optional space did not help */
	}
	if (cls) {
		k = j + l;
		while (k < n) {
			c = ut_utf8_dec(s + k, n - k, &l);
			if (gpt2_class(c) != cls)
				break;
			k += l;
		}
		return k;
	}
	/* whitespace run [i, k) */
	size_t last = i;
	k = i;
	while (k < n) {
		c = ut_utf8_dec(s + k, n - k, &l);
		if (!tk_is_space(c))
			break;
		last = k;
		k += l;
	}
	if (k == n || last == i)
		return k;        /* \s+ to the end, or a single \s */
	return last;             /* \s+(?!\S): leave the last for the next word */
}

/* Pre-tokenise [s, s+n) (normalised, valid UTF-8 unless byte-level) and
 * count the pre-tokens. */
static int
pretokenize(te_trainer *t, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, j;

	if (t->o.byte_level) {
		for (i = 0; i < n; i = j) {
			size_t k, m = 0;
			j = gpt2_next(u, n, i);
			if (reserve(&t->b2, &t->b2cap, (j - i) * 2) < 0)
				return -1;
			for (k = i; k < j; k++)
				m += ut_utf8_enc(tk_byte_cp(u[k]), t->b2 + m);
			if (wc_add(t, t->b2, m) < 0)
				return -1;
		}
		return 0;
	}
	if (t->o.bert) {
		for (i = 0; i < n;) {
			int l;
			int32_t c = ut_utf8_dec(u + i, n - i, &l);
			if (tk_is_space(c)) {
				i += l;
				continue;
			}
			if (tk_is_bert_punct(c)) {
				if (wc_add(t, s + i, l) < 0)
					return -1;
				i += l;
				continue;
			}
			for (j = i + l; j < n; j += l) {
				c = ut_utf8_dec(u + j, n - j, &l);
				if (tk_is_space(c) || tk_is_bert_punct(c))
					break;
			}
			if (wc_add(t, s + i, j - i) < 0)
				return -1;
			i = j;
		}
		return 0;
	}
	/* Metaspace: ' ' -> U+2581, prepended, each U+2581 starts a piece. */
	if (reserve(&t->b2, &t->b2cap, n * 3 + 3) < 0)
		return -1;
	{
		char *o = t->b2;
		size_t m = 0, start = 0;
		if (!(n >= 3 && !memcmp(s, "\xe2\x96\x81", 3)) && !(n && s[0] == ' ')) {
			memcpy(o, "\xe2\x96\x81", 3);
			m = 3;
		}
		for (i = 0; i < n; i++) {
			if (s[i] == ' ') {
				memcpy(o + m, "\xe2\x96\x81", 3);
				m += 3;
			} else {
				o[m++] = s[i];
			}
		}
		for (i = 3; i + 3 <= m; i++) {
			if (!memcmp(o + i, "\xe2\x96\x81", 3)) {
				if (wc_add(t, o + start, i - start) < 0)
					return -1;
				start = i;
				i += 2;
			}
		}
		if (m > start && wc_add(t, o + start, m - start) < 0)
			return -1;
	}
	return 0;
}

/* BERT's normaliser: drop control characters, whitespace to ' ', space
 * around CJK ideographs, strip accents (NFD, drop Mn), lower-case.
 * Whitespace here is \t, \n, \r and Zs, not White_Space as in the
 * tokenizer's BertNormalizer (normalize.c f_bert_clean): the two differ on
 * U+2028 and U+2029, which this keeps as characters; kept so that trained
 * vocabularies stay as they are (t/131-tok-train-faithful.bats). */
static int
bert_normalize(te_trainer *t, const char *s, size_t n, const char **out, size_t *outn)
{
	utf8proc_uint8_t *nfd = NULL;
	const unsigned char *u;
	size_t m = 0, i;
	utf8proc_ssize_t nn;

	nn = utf8proc_map((const utf8proc_uint8_t *)s, n, &nfd,
	                  UTF8PROC_STABLE | (t->o.lowercase ? UTF8PROC_DECOMPOSE : 0));
	if (nn < 0) {
		free(nfd);
		return -1;
	}
	u = nfd;
	for (i = 0; i < (size_t)nn;) {
		int l;
		int32_t c = ut_utf8_dec(u + i, nn - i, &l);
		utf8proc_category_t k = utf8proc_category(c);
		i += l;
		if (c == 0 || c == 0xfffd)
			continue;
		if (c != '\t' && c != '\n' && c != '\r' &&
		    (k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF ||
		     k == UTF8PROC_CATEGORY_CS || k == UTF8PROC_CATEGORY_CO ||
		     k == UTF8PROC_CATEGORY_CN))
			continue;
		if (k == UTF8PROC_CATEGORY_MN && t->o.lowercase)
			continue;
		if (c == '\t' || c == '\n' || c == '\r' || k == UTF8PROC_CATEGORY_ZS) {
			if (reserve(&t->b1, &t->b1cap, m + 1) < 0)
				goto oom;
			t->b1[m++] = ' ';
			continue;
		}
		if (tk_is_cjk(c)) {
			if (reserve(&t->b1, &t->b1cap, m + 6) < 0)
				goto oom;
			t->b1[m++] = ' ';
			m += ut_utf8_enc(c, t->b1 + m);
			t->b1[m++] = ' ';
			continue;
		}
		if (reserve(&t->b1, &t->b1cap, m + 4) < 0)
			goto oom;
		m += ut_utf8_enc(t->o.lowercase ? utf8proc_tolower(c) : c, t->b1 + m);
	}
	free(nfd);
	*out = t->b1;
	*outn = m;
	return 0;
oom:
	free(nfd);
	return -1;
}

int
te_trainer_feed(te_trainer *t, const char *text, size_t len, size_t *n_replaced,
                te_diag *d)
{
	const char *s = text;
	size_t n = len, i, m;
	utf8proc_uint8_t *nfkc = NULL;
	int rc;

	t->ndocs++;
	if (!len)
		return 0;
	if (!t->o.byte_level && (!te_utf8_valid(text, len) || memchr(text, 0, len))) {
		/* replace each invalid byte and each NUL by U+FFFD */
		nfkc = malloc(len * 3 + 1);
		if (!nfkc)
			goto oom;
		for (i = 0, m = 0; i < len;) {
			int l;
			int32_t c = ut_utf8_dec((const unsigned char *)text + i, len - i, &l);
			if (c <= 0) {
				memcpy(nfkc + m, "\xef\xbf\xbd", 3);
				m += 3;
				if (n_replaced)
					++*n_replaced;
			} else {
				memcpy(nfkc + m, text + i, l);
				m += l;
			}
			i += l;
		}
		s = (const char *)nfkc;
		n = m;
	}
	if (t->o.nfkc && !t->o.byte_level) {
		utf8proc_uint8_t *o = NULL;
		utf8proc_ssize_t nn = utf8proc_map((const utf8proc_uint8_t *)s, n, &o,
		                                   UTF8PROC_STABLE | UTF8PROC_COMPOSE |
		                                           UTF8PROC_COMPAT);
		if (nn < 0) {
			free(o);
			goto oom;
		}
		free(nfkc);
		nfkc = o;
		s = (const char *)o;
		n = nn;
	}
	if (t->o.bert) {
		if (bert_normalize(t, s, n, &s, &n) < 0)
			goto oom;
	} else if (t->o.lowercase && !t->o.byte_level) {
		const unsigned char *u = (const unsigned char *)s;
		m = 0;
		for (i = 0; i < n;) {
			int l;
			int32_t c = ut_utf8_dec(u + i, n - i, &l);
			i += l;
			if (reserve(&t->b1, &t->b1cap, m + 4) < 0)
				goto oom;
			m += ut_utf8_enc(utf8proc_tolower(c), t->b1 + m);
		}
		s = t->b1;
		n = m;
	} else if (t->o.lowercase) {
		/* byte-level: lower-case what is valid, keep other bytes */
		const unsigned char *u = (const unsigned char *)s;
		m = 0;
		if (reserve(&t->b1, &t->b1cap, n * 2 + 4) < 0)
			goto oom;
		for (i = 0; i < n;) {
			int l;
			int32_t c = ut_utf8_dec(u + i, n - i, &l);
			if (reserve(&t->b1, &t->b1cap, m + 4) < 0)
				goto oom;
			if (c < 0)
				t->b1[m++] = s[i];
			else
				m += ut_utf8_enc(utf8proc_tolower(c), t->b1 + m);
			i += l;
		}
		s = t->b1;
		n = m;
	}
	rc = pretokenize(t, s, n);
	free(nfkc);
	if (rc < 0)
		return te_diag_set(d, "", 0, "out of memory");
	return 0;
oom:
	free(nfkc);
	return te_diag_set(d, "", 0, "out of memory");
}

int
te_trainer_train(te_trainer *t, te_diag *d)
{
	if (t->trained)
		return te_diag_set(d, "", 0, "trainer already trained");
	if (!t->wc_n)
		return te_diag_set(d, "", 0, "empty corpus: no text to train on");
	if (t->o.model == TE_TRAIN_MODEL_UNIGRAM) {
		if (tk_train_unigram(t, d) < 0)
			return -1;
	} else if (tk_train_bpe(t, d) < 0) {
		return -1;
	}
	t->trained = 1;
	return 0;
}

/* ---------------------------------------------------------------- JSON */

/* The string of piece id (NUL-terminated). */
static const char *
piece(const te_trainer *t, size_t id)
{
	size_t n;

	return ut_strmap_key(&t->vocab, id, &n);
}

static cJSON *
j_obj(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	if (parent && o)
		cJSON_AddItemToObject(parent, key, o);
	return o;
}

static cJSON *
metaspace(const char *type)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "replacement", "\xe2\x96\x81");
	cJSON_AddStringToObject(o, "prepend_scheme", "always");
	cJSON_AddBoolToObject(o, "split", 1);
	return o;
}

static cJSON *
bytelevel(int add_prefix_space, int trim_offsets)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "ByteLevel");
	cJSON_AddBoolToObject(o, "add_prefix_space", add_prefix_space);
	cJSON_AddBoolToObject(o, "trim_offsets", trim_offsets);
	cJSON_AddBoolToObject(o, "use_regex", 1);
	return o;
}

static cJSON *
template_part(const char *kind, const char *id, int type_id)
{
	cJSON *o = cJSON_CreateObject(), *in = j_obj(o, kind);
	cJSON_AddStringToObject(in, "id", id);
	cJSON_AddNumberToObject(in, "type_id", type_id);
	return o;
}

static cJSON *
bert_template(te_trainer *t)
{
	long cls = ut_strmap_get(&t->vocab, "[CLS]", 5);
	long sep = ut_strmap_get(&t->vocab, "[SEP]", 5);
	cJSON *o, *a, *sp, *e;

	if (cls < 0 || sep < 0)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "TemplateProcessing");
	a = cJSON_AddArrayToObject(o, "single");
	cJSON_AddItemToArray(a, template_part("SpecialToken", "[CLS]", 0));
	cJSON_AddItemToArray(a, template_part("Sequence", "A", 0));
	cJSON_AddItemToArray(a, template_part("SpecialToken", "[SEP]", 0));
	a = cJSON_AddArrayToObject(o, "pair");
	cJSON_AddItemToArray(a, template_part("SpecialToken", "[CLS]", 0));
	cJSON_AddItemToArray(a, template_part("Sequence", "A", 0));
	cJSON_AddItemToArray(a, template_part("SpecialToken", "[SEP]", 0));
	cJSON_AddItemToArray(a, template_part("Sequence", "B", 1));
	cJSON_AddItemToArray(a, template_part("SpecialToken", "[SEP]", 1));
	sp = j_obj(o, "special_tokens");
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "[SEP]" : "[CLS]";
		double id = k ? sep : cls;
		e = j_obj(sp, name);
		cJSON_AddStringToObject(e, "id", name);
		cJSON_AddItemToObject(e, "ids", cJSON_CreateDoubleArray(&id, 1));
		cJSON_AddItemToObject(e, "tokens", cJSON_CreateStringArray(&name, 1));
	}
	return o;
}

static cJSON *
normalizer(te_trainer *t)
{
	cJSON *o, *a, *n;

	if (t->o.bert) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "BertNormalizer");
		cJSON_AddBoolToObject(o, "clean_text", 1);
		cJSON_AddBoolToObject(o, "handle_chinese_chars", 1);
		cJSON_AddNullToObject(o, "strip_accents");
		cJSON_AddBoolToObject(o, "lowercase", t->o.lowercase);
		return o;
	}
	if (!t->o.nfkc && !t->o.lowercase)
		return cJSON_CreateNull();
	if (t->o.nfkc != t->o.lowercase || t->o.byte_level) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type",
		                        t->o.lowercase ? "Lowercase" : "NFKC");
		return o;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "Sequence");
	a = cJSON_AddArrayToObject(o, "normalizers");
	n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "type", "NFKC");
	cJSON_AddItemToArray(a, n);
	n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "type", "Lowercase");
	cJSON_AddItemToArray(a, n);
	return o;
}

static cJSON *
decoder(te_trainer *t)
{
	cJSON *o, *a;

	if (t->o.byte_level)
		return bytelevel(1, 1);
	if (t->o.bert) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "WordPiece");
		cJSON_AddStringToObject(o, "prefix", "##");
		cJSON_AddBoolToObject(o, "cleanup", 1);
		return o;
	}
	if (!t->o.byte_fallback)
		return metaspace("Metaspace");
	/* Llama's: spaces back, bytes back, one string, no leading space */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "Sequence");
	a = cJSON_AddArrayToObject(o, "decoders");
	cJSON *b = cJSON_CreateObject(), *pat;
	cJSON_AddStringToObject(b, "type", "Replace");
	pat = j_obj(b, "pattern");
	cJSON_AddStringToObject(pat, "String", "\xe2\x96\x81");
	cJSON_AddStringToObject(b, "content", " ");
	cJSON_AddItemToArray(a, b);
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "ByteFallback");
	cJSON_AddItemToArray(a, b);
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "Fuse");
	cJSON_AddItemToArray(a, b);
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "Strip");
	cJSON_AddStringToObject(b, "content", " ");
	cJSON_AddNumberToObject(b, "start", 1);
	cJSON_AddNumberToObject(b, "stop", 0);
	cJSON_AddItemToArray(a, b);
	return o;
}

static const char *
unk_token(te_trainer *t)
{
	size_t i;

	for (i = 0; i < t->o.n_special; i++)
		if (!strcmp(t->special[i], "[UNK]") || !strcmp(t->special[i], "<unk>"))
			return t->special[i];
	return NULL;
}

int
te_trainer_write_json(te_trainer *t, FILE *fp, te_diag *d)
{
	cJSON *root, *a, *m, *v;
	const char *unk = unk_token(t);
	char *txt;
	size_t i;
	int rc = 0;

	if (!t->trained)
		return te_diag_set(d, "", 0, "the tokenizer is not trained");
	root = cJSON_CreateObject();
	if (!root)
		return te_diag_set(d, "", 0, "out of memory");
	cJSON_AddStringToObject(root, "version", "1.0");
	cJSON_AddNullToObject(root, "truncation");
	cJSON_AddNullToObject(root, "padding");
	a = cJSON_AddArrayToObject(root, "added_tokens");
	for (i = 0; i < t->o.n_special; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "id", (double)ut_strmap_get(&t->vocab, t->special[i],
		                                                         strlen(t->special[i])));
		cJSON_AddStringToObject(e, "content", t->special[i]);
		cJSON_AddBoolToObject(e, "single_word", 0);
		cJSON_AddBoolToObject(e, "lstrip", 0);
		cJSON_AddBoolToObject(e, "rstrip", 0);
		cJSON_AddBoolToObject(e, "normalized", 0);
		cJSON_AddBoolToObject(e, "special", 1);
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddItemToObject(root, "normalizer", normalizer(t));
	if (t->o.byte_level) {
		cJSON_AddItemToObject(root, "pre_tokenizer", bytelevel(0, 1));
		cJSON_AddItemToObject(root, "post_processor", bytelevel(1, 0));
	} else if (t->o.bert) {
		m = j_obj(root, "pre_tokenizer");
		cJSON_AddStringToObject(m, "type", "BertPreTokenizer");
		cJSON_AddItemToObject(root, "post_processor", bert_template(t));
	} else {
		cJSON_AddItemToObject(root, "pre_tokenizer", metaspace("Metaspace"));
		cJSON_AddNullToObject(root, "post_processor");
	}
	cJSON_AddItemToObject(root, "decoder", decoder(t));
	m = j_obj(root, "model");
	switch (t->o.model) {
	case TE_TRAIN_MODEL_BPE:
		cJSON_AddStringToObject(m, "type", "BPE");
		cJSON_AddNullToObject(m, "dropout");
		if (unk)
			cJSON_AddStringToObject(m, "unk_token", unk);
		else
			cJSON_AddNullToObject(m, "unk_token");
		cJSON_AddNullToObject(m, "continuing_subword_prefix");
		cJSON_AddNullToObject(m, "end_of_word_suffix");
		cJSON_AddBoolToObject(m, "fuse_unk", t->o.byte_fallback);
		cJSON_AddBoolToObject(m, "byte_fallback", t->o.byte_fallback);
		cJSON_AddBoolToObject(m, "ignore_merges", 0);
		v = j_obj(m, "vocab");
		for (i = 0; i < t->vocab.n; i++)
			cJSON_AddNumberToObject(v, piece(t, i), (double)i);
		a = cJSON_AddArrayToObject(m, "merges");
		for (i = 0; i < t->nmerges; i++) {
			const char *p[2] = {piece(t, t->merges[i][0]), piece(t, t->merges[i][1])};
			cJSON_AddItemToArray(a, cJSON_CreateStringArray(p, 2));
		}
		break;
	case TE_TRAIN_MODEL_WORDPIECE:
		cJSON_AddStringToObject(m, "type", "WordPiece");
		cJSON_AddStringToObject(m, "unk_token", unk ? unk : "[UNK]");
		cJSON_AddStringToObject(m, "continuing_subword_prefix", "##");
		cJSON_AddNumberToObject(m, "max_input_chars_per_word", 100);
		v = j_obj(m, "vocab");
		for (i = 0; i < t->vocab.n; i++)
			cJSON_AddNumberToObject(v, piece(t, i), (double)i);
		break;
	case TE_TRAIN_MODEL_UNIGRAM:
		cJSON_AddStringToObject(m, "type", "Unigram");
		{
			long id = ut_strmap_get(&t->vocab, unk ? unk : "<unk>",
			                          unk ? strlen(unk) : 5);
			if (id >= 0)
				cJSON_AddNumberToObject(m, "unk_id", (double)id);
			else
				cJSON_AddNullToObject(m, "unk_id");
		}
		a = cJSON_AddArrayToObject(m, "vocab");
		for (i = 0; i < t->vocab.n; i++) {
			cJSON *e = cJSON_CreateArray();
			cJSON_AddItemToArray(e, cJSON_CreateString(piece(t, i)));
			cJSON_AddItemToArray(e, cJSON_CreateNumber(t->scores ? t->scores[i] : 0));
			cJSON_AddItemToArray(a, e);
		}
		cJSON_AddBoolToObject(m, "byte_fallback", t->o.byte_fallback);
		break;
	}
	txt = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!txt)
		return te_diag_set(d, "", 0, "out of memory");
	if (fputs(txt, fp) == EOF || putc('\n', fp) == EOF)
		rc = te_diag_set(d, "", 0, "%s", strerror(errno ? errno : EIO));
	free(txt);
	return rc;
}
