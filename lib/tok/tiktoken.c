/* tiktoken.c: OpenAI .tiktoken rank files ("base64-token rank" lines) and
 * Llama-3's original tokenizer.model in the same format.  The encoding is
 * told by the file name (cl100k_base, o200k_base, p50k_base, r50k_base) or,
 * failing that, by the number of ranks; it gives the split pattern and the
 * special tokens, as tiktoken's registry does. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

static const char pat_gpt2[] =
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char pat_cl100k[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char pat_o200k[] =
	"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

typedef struct spec {
	const char *s;
	int32_t id;
} spec;

static const spec sp_r50k[] = {{"<|endoftext|>", 50256}, {NULL, 0}};
static const spec sp_cl100k[] = {
	{"<|endoftext|>", 100257}, {"<|fim_prefix|>", 100258}, {"<|fim_middle|>", 100259},
	{"<|fim_suffix|>", 100260}, {"<|endofprompt|>", 100276}, {NULL, 0}};
static const spec sp_o200k[] = {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}, {NULL, 0}};

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Standard base64 as Python's b64decode takes it: groups of four, '='
 * padding only at the end; -1 when it is not. */
static long
b64dec(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, k = 0, pad = 0;
	unsigned acc = 0;
	int bits = 0;

	if (n % 4)
		return -1;
	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++) {
		int v;

		if ((v = b64val((unsigned char)s[i])) < 0)
			return -1;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (k >= cap)
				return -1;
			out[k++] = (char)(acc >> bits & 0xff);
		}
	}
	return (long)k;
}

static int
cmp_id(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* The encoding a rank file is, from its name, or from its last rank when
 * that is exactly one of the known encodings' (tiktoken's cache names files
 * by a hash); NULL when neither tells. */
static const char *
guess_encoding(const char *name, long maxid)
{
	static const struct {
		const char *key, *enc;
		long last;
	} known[] = {{"cl100k", "cl100k_base", 100255}, {"o200k", "o200k_base", 199997},
	             {"p50k", "p50k_base", 50280}, {"r50k", "r50k_base", 50255},
	             {NULL, "llama3", 127999}};
	size_t i;

	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		if (known[i].key && strstr(name, known[i].key))
			return known[i].enc;
	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		if (maxid == known[i].last)
			return known[i].enc;
	return NULL;
}

int
tk_is_tiktoken_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char line[512];
	size_t i = 0;

	if (!fp)
		return 0;
	if (!fgets(line, sizeof line, fp)) {
		fclose(fp);
		return 0;
	}
	fclose(fp);
	while (line[i] && b64val((unsigned char)line[i]) >= 0)
		i++;
	while (line[i] == '=')
		i++;
	if (!i || line[i] != ' ')
		return 0;
	for (i++; line[i] >= '0' && line[i] <= '9'; i++)
		;
	return line[i] == '\n' || line[i] == '\r' || !line[i];
}

/* The piece string of a rank: its bytes in GPT-2's byte alphabet, as the
 * Hugging Face conversions write them. */
static int
set_piece(te_tok *t, int32_t id, const char *b, size_t n)
{
	char buf[1024];
	size_t i, k = 0;

	if (n * 2 > sizeof buf)
		return tk_tok_set_vocab(t, id, b, n);
	for (i = 0; i < n; i++)
		k += (size_t)ut_utf8_enc(tk_byte_cp((unsigned char)b[i]), buf + k);
	return tk_tok_set_vocab(t, id, buf, k);
}

/* The split pattern, decoder and (empty) template of an encoding. */
int
tk_tiktoken_pipeline(te_tok *t, const char *enc, const char *path, te_diag *d)
{
	const char *pat = !strcmp(enc, "cl100k_base") || !strcmp(enc, "llama3") ? pat_cl100k :
	                  !strcmp(enc, "o200k_base") ? pat_o200k : pat_gpt2;
	tk_pre *p;
	tk_dec *dec;

	if (!(p = calloc(1, sizeof *p)) || !(dec = calloc(1, sizeof *dec))) {
		free(p);
		return te_diag_set(d, path, 0, "out of memory");
	}
	p->type = TK_P_SPLIT;
	p->behavior = TK_ISOLATED;
	t->pre = p;
	if (!(p->scanner = tk_scanner_for(pat)) && !(p->re = tk_regex_new(pat, strlen(pat), d))) {
		free(dec);
		return -1;
	}
	dec->type = TK_D_BYTELEVEL;
	t->dec = dec;
	if (!(t->tpl = calloc(1, sizeof *t->tpl)))
		return te_diag_set(d, path, 0, "out of memory");
	t->ntpl = 1;
	return 0;
}

/* The special tokens of encoding enc, as tiktoken's registry gives them. */
static int
add_specials(te_tok *t, const char *enc, const char *path, te_diag *d)
{
	static const char *first[] = {"<|begin_of_text|>", "<|end_of_text|>",
		"<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
		"<|reserved_special_token_2|>", "<|reserved_special_token_3|>",
		"<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>",
		"<|eot_id|>"};
	const spec *sp = !strcmp(enc, "cl100k_base") ? sp_cl100k :
	                 !strcmp(enc, "o200k_base") ? sp_o200k : sp_r50k;
	spec llama[257];
	char names[256][40];
	int i;

	if (!strcmp(enc, "llama3")) {
		for (i = 0; i < 256; i++) {
			if (i < 10)
				snprintf(names[i], sizeof names[i], "%s", first[i]);
			else
				snprintf(names[i], sizeof names[i], "<|reserved_special_token_%d|>", i - 5);
			llama[i].s = names[i];
			llama[i].id = 128000 + i;
		}
		llama[256].s = NULL;
		sp = llama;
	}
	for (; sp->s; sp++) {
		tk_added a = {0};

		a.s = (char *)sp->s;
		a.n = strlen(sp->s);
		a.id = sp->id;
		a.special = 1;
		if (tk_tok_add_added(t, &a))
			return te_diag_set(d, path, 0, "out of memory");
	}
	return 0;
}

/* What a byte-level rank file must hold, as tiktoken's CoreBPE needs it:
 * each rank once, each token once, every single byte a token. */
static int
check_ranks(te_tok *t, int32_t *ids, size_t n, const char *path, te_diag *d)
{
	size_t i;

	if (t->bpe.vocab.n != n)
		return te_diag_set(d, path, 0, "a token is given more than one rank");
	qsort(ids, n, sizeof *ids, cmp_id);
	for (i = 1; i < n; i++)
		if (ids[i] == ids[i - 1])
			return te_diag_set(d, path, 0, "rank %ld is given to more than one token",
			                   (long)ids[i]);
	for (i = 0; i < 256; i++) {
		char c = (char)i;

		if ((t->bpe.byte_id[i] = ut_strmap_get(&t->bpe.vocab, &c, 1)) < 0)
			return te_diag_set(d, path, 0, "byte 0x%02zX has no rank (a byte-level rank "
			                   "file ranks all 256 bytes)", i);
	}
	return 0;
}

int
tk_load_tiktoken(te_tok *t, const char *path, const char *enc, char **skel, te_diag *d)
{
	FILE *fp = fopen(path, "rb");
	char *line = NULL, tok[1024];
	size_t cap = 0, nids = 0, idcap = 0;
	ssize_t n;
	long lineno = 0, maxid = -1;
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int32_t *ids = NULL;
	int rc;

	if (!fp)
		return te_diag_set(d, path, 0, "%s", strerror(errno));
	t->mtype = TK_M_BPE;
	t->algo = "BPE";
	t->byte_level = 1;
	t->bpe.ranks = 1;
	t->bpe.byte_level = 1;
	t->match_special = 0;
	if (!fseek(fp, 0, SEEK_END)) {	/* a rank line is about 12 bytes */
		long sz = ftell(fp);

		if (sz > 0 && ut_strmap_reserve(&t->bpe.vocab, (size_t)sz / 12 + 16)) {
			fclose(fp);
			return te_diag_set(d, path, 0, "out of memory");
		}
		rewind(fp);
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		char *sp_ = memchr(line, ' ', (size_t)n), *end;
		long id, k;

		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (!n)
			continue;
		if (!sp_)
			goto bad;
		errno = 0;
		id = strtol(sp_ + 1, &end, 10);
		if (errno || *end || end == sp_ + 1 || id < 0 || id > TK_MAX_ID)
			goto bad;
		k = b64dec(line, (size_t)(sp_ - line), tok, sizeof tok);
		if (k <= 0)
			goto bad;
		if (ut_strmap_put(&t->bpe.vocab, tok, (size_t)k, (int32_t)id) ||
		    set_piece(t, (int32_t)id, tok, (size_t)k) ||
		    ut_grow((void **)&ids, &idcap, nids + 1, sizeof *ids)) {
			free(ids);
			free(line);
			fclose(fp);
			return te_diag_set(d, path, lineno, "out of memory");
		}
		ids[nids++] = (int32_t)id;
		if (id > maxid)
			maxid = id;
	}
	free(line);
	if (ferror(fp)) {
		free(ids);
		fclose(fp);
		return te_diag_set(d, path, 0, "read error");
	}
	fclose(fp);
	rc = maxid < 255 ? te_diag_set(d, path, 0, "not a tiktoken rank file (too few ranks)") :
	     check_ranks(t, ids, nids, path, d);
	free(ids);
	if (rc)
		return -1;
	if (!enc && !(enc = guess_encoding(name, maxid)))
		return te_diag_set(d, path, 0, "last rank %ld is none of the known encodings' "
		                   "(cl100k_base, o200k_base, p50k_base, r50k_base, Llama 3): "
		                   "name the file after its encoding", maxid);
	if (add_specials(t, enc, path, d) || tk_tiktoken_pipeline(t, enc, path, d))
		return -1;
	if (skel && !(*skel = strdup(enc)))
		return te_diag_set(d, path, 0, "out of memory");
	return 0;
bad:
	free(ids);
	free(line);
	fclose(fp);
	return te_diag_set(d, path, lineno, "not a tiktoken rank file (expected 'base64 rank')");
}
