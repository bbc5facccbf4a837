/* test-tok-cache: the compiled tokenizer cache (lib/tok/tok_cache.c).  A
 * tokenizer mapped from its cache encodes, decodes and names its pieces as
 * the one loaded from source; the cache is made on first load, rebuilt when
 * the source changes or the cache is truncated or its checked parts are
 * corrupt; a forged cache (bit flips, forged offsets, lengths, ids and
 * probe chains in the sections read lazily, random bytes after a valid
 * header, each with a recomputed checksum) never crashes or hangs: run it
 * under ASan; and it is skipped when it cannot be written or TOKEMB_CACHE=0.
 * The real tokenizers are mapped in the suite's cache directory, so that
 * test-tok-exact, run after this one, finds their caches warm
 * (TOKEMB_TEST_ALL=1: all of them, else one of each kind). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "tok/tok_int.h"

static char tmp[256], cdir[300], src[300];

static const char *texts[] = {
	"", "abc", "hello world", "the quick brown fox jumps over the lazy dog",
	"<s> abc</s> xyz <s>", "zzz  qqq\tabcab\ncab", "unknown ÿ chars 123 !?",
	"Hello, World! 12345 ünïcödé 日本語 <|endoftext|> <start_of_turn>user",
	"  leading and trailing  ", NULL
};

/* A BPE tokenizer.json over a-z (every pair and triple merged) with a
 * Whitespace pre-tokenizer, an unknown token and two added tokens: about
 * 450 KB, over the size under which no cache is made.  bytelevel: a
 * byte-level one (GPT-2's split, its 256 byte symbols), which takes the
 * fast path (bpe_fast.c) and whose cache holds its two-byte tables. */
static int
write_bpe(const char *path, int bytelevel)
{
	FILE *fp = fopen(path, "w");
	int a, b, c, id = 0, first = 1;

	if (!fp)
		return -1;
	fprintf(fp, "{\"version\":\"1.0\",\"added_tokens\":["
	        "{\"id\":0,\"content\":\"<unk>\",\"special\":true},"
	        "{\"id\":1,\"content\":\"<s>\",\"special\":true},"
	        "{\"id\":2,\"content\":\"</s>\",\"special\":true}],"
	        "\"normalizer\":%s,\"pre_tokenizer\":%s,",
	        bytelevel ? "null" : "{\"type\":\"Lowercase\"}",
	        bytelevel ? "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
	                    "\"trim_offsets\":true,\"use_regex\":true}" :
	                    "{\"type\":\"Whitespace\"}");
	fprintf(fp, "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":["
	        "{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
	        "{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{"
	        "\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]},"
	        "\"</s>\":{\"id\":\"</s>\",\"ids\":[2],\"tokens\":[\"</s>\"]}}},"
	        "\"decoder\":%s,"
	        "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"vocab\":{"
	        "\"<unk>\":0,\"<s>\":1,\"</s>\":2",
	        bytelevel ? "{\"type\":\"ByteLevel\"}" : "{\"type\":\"BPEDecoder\",\"suffix\":\"\"}");
	id = 3;
	if (bytelevel)	/* the 256 byte symbols, a-z among them */
		for (a = 0; a < 256; a++)
			fprintf(fp, ",\"\\u%04x\":%d", (unsigned)tk_byte_cp(a), id++);
	else
		for (a = 0; a < 26; a++)
			fprintf(fp, ",\"%c\":%d", 'a' + a, id++);
	for (a = 0; a < 26; a++)
		for (b = 0; b < 26; b++)
			fprintf(fp, ",\"%c%c\":%d", 'a' + a, 'a' + b, id++);
	for (a = 0; a < 26; a++)
		for (b = 0; b < 26; b++)
			for (c = 0; c < 26; c++)
				fprintf(fp, ",\"%c%c%c\":%d", 'a' + a, 'a' + b, 'a' + c, id++);
	fprintf(fp, "},\"merges\":[");
	for (a = 0; a < 26; a++)
		for (b = 0; b < 26; b++, first = 0)
			fprintf(fp, "%s\"%c %c\"", first ? "" : ",", 'a' + a, 'a' + b);
	for (a = 0; a < 26; a++)
		for (b = 0; b < 26; b++)
			for (c = 0; c < 26; c++)
				fprintf(fp, ",\"%c%c %c\"", 'a' + a, 'a' + b, 'a' + c);
	fprintf(fp, "]}}\n");
	return fclose(fp);
}

/* A tiktoken file: the 256 bytes, then every pair and triple of a-z, by
 * rank (about 200 KB; "cl100k" in its name gives it cl100k's split and
 * special tokens). */
static int
write_tiktoken(const char *path)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	FILE *fp = fopen(path, "w");
	unsigned char s[3];
	int a, b, c, rank = 0, k, n;

	if (!fp)
		return -1;
	for (k = 0; k < 256 + 676 + 17576; k++) {
		unsigned v;

		if (k < 256) {
			s[0] = (unsigned char)k, n = 1;
		} else if (k < 256 + 676) {
			a = (k - 256) / 26, b = (k - 256) % 26;
			s[0] = (unsigned char)('a' + a), s[1] = (unsigned char)('a' + b), n = 2;
		} else {
			a = (k - 932) / 676, b = (k - 932) / 26 % 26, c = (k - 932) % 26;
			s[0] = (unsigned char)('a' + a), s[1] = (unsigned char)('a' + b);
			s[2] = (unsigned char)('a' + c), n = 3;
		}
		v = (unsigned)s[0] << 16 | (n > 1 ? (unsigned)s[1] << 8 : 0) | (n > 2 ? s[2] : 0);
		fprintf(fp, "%c%c%c%c %d\n", b64[v >> 18 & 63], b64[v >> 12 & 63],
		        n > 1 ? b64[v >> 6 & 63] : '=', n > 2 ? b64[v & 63] : '=', rank++);
	}
	return fclose(fp);
}

/* The one cache file in cdir, or "" when there is none. */
static const char *
cache_file(void)
{
	static char path[600];
	DIR *d = opendir(cdir);
	struct dirent *e;
	int n = 0;

	path[0] = 0;
	if (!d)
		return path;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".tokemb") && !strstr(e->d_name, ".tmp.")) {
			snprintf(path, sizeof path, "%s/%s", cdir, e->d_name);
			n++;
		}
	closedir(d);
	if (n != 1)
		path[0] = 0;
	return path;
}

/* Same pieces, bytes, flags, encodings and decodings. */
static int
same(const te_tok *a, const te_tok *b, const char **ts)
{
	size_t i, n = te_tok_vocab_size(a);
	te_tok_enc ea = {0}, eb = {0};
	int ok = n == te_tok_vocab_size(b) && te_tok_unk_id(a) == te_tok_unk_id(b) &&
	         !strcmp(te_tok_algorithm(a), te_tok_algorithm(b)) &&
	         te_tok_byte_level(a) == te_tok_byte_level(b) &&
	         te_tok_byte_fallback(a) == te_tok_byte_fallback(b) &&
	         te_tok_max_length(a) == te_tok_max_length(b);

	for (i = 0; ok && i < n; i++) {
		size_t la = 0, lb = 0;
		const char *pa = te_tok_piece(a, (int32_t)i, &la), *pb = te_tok_piece(b, (int32_t)i, &lb);
		char ba[256], bb[256];
		long na = te_tok_piece_bytes(a, (int32_t)i, ba, sizeof ba);
		long nb = te_tok_piece_bytes(b, (int32_t)i, bb, sizeof bb);

		if ((!pa) != (!pb) || la != lb || (pa && memcmp(pa, pb, la)) || na != nb ||
		    (na > 0 && memcmp(ba, bb, (size_t)(na < 256 ? na : 256))) ||
		    te_tok_is_special(a, (int32_t)i) != te_tok_is_special(b, (int32_t)i) ||
		    (pa && te_tok_id(a, pa, la) != te_tok_id(b, pb, lb)))
			ok = 0;
	}
	for (i = 0; ok && ts[i]; i++) {
		unsigned fl;

		for (fl = 0; ok && fl < 2; fl++) {
			int ra = te_tok_encode(a, ts[i], strlen(ts[i]), fl ? TE_TOK_ADD_SPECIAL : 0, &ea, NULL);
			int rb = te_tok_encode(b, ts[i], strlen(ts[i]), fl ? TE_TOK_ADD_SPECIAL : 0, &eb, NULL);
			char *da = NULL, *db = NULL;
			size_t dla = 0, dlb = 0;

			if (ra != rb || (!ra && (ea.n != eb.n || (ea.n &&
			                         (memcmp(ea.ids, eb.ids, ea.n * 4) ||
			                          memcmp(ea.start, eb.start, ea.n * sizeof *ea.start) ||
			                          memcmp(ea.end, eb.end, ea.n * sizeof *ea.end))))))
				ok = 0;
			if (ok && !ra) {
				ra = te_tok_decode(a, ea.ids, ea.n, 0, &da, &dla, NULL);
				rb = te_tok_decode(b, eb.ids, eb.n, 0, &db, &dlb, NULL);
				if (ra != rb || (!ra && (dla != dlb || (dla && memcmp(da, db, dla)))))
					ok = 0;
			}
			free(da);
			free(db);
		}
	}
	te_tok_enc_release(&ea);
	te_tok_enc_release(&eb);
	return ok;
}

static te_tok *
load_nocache(const char *path)
{
	te_tok *t;

	setenv("TOKEMB_CACHE", "0", 1);
	t = te_tok_load(path, NULL);
	unsetenv("TOKEMB_CACHE");
	return t;
}

static int
read_all(const char *path, unsigned char **buf, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	long k;

	if (!fp)
		return -1;
	fseek(fp, 0, SEEK_END);
	k = ftell(fp);
	rewind(fp);
	*buf = malloc((size_t)k + 1);
	*n = fread(*buf, 1, (size_t)k, fp);
	fclose(fp);
	return *n == (size_t)k ? 0 : -1;
}

static int
write_all(const char *path, const unsigned char *buf, size_t n)
{
	FILE *fp = fopen(path, "wb");

	if (!fp)
		return -1;
	if (fwrite(buf, 1, n, fp) != n) {
		fclose(fp);
		return -1;
	}
	return fclose(fp);
}

/* Use t every way a forged cache could be read: encode short texts and a
 * long one (past TK_CVERIFY_AFTER: the deferred checks run), decode what
 * was encoded, name every piece, look pieces up. */
static void
exercise(te_tok *t)
{
	static char *longtext;
	te_tok_enc e = {0};
	size_t j, n = te_tok_vocab_size(t), len;
	char buf[64];

	if (!longtext && (longtext = malloc(8001))) {
		unsigned r = 7;

		for (j = 0; j < 8000; j++) {
			r = r * 1103515245u + 12345u;
			longtext[j] = (r >> 16) % 7 == 0 ? ' ' : (char)('a' + (r >> 20) % 26);
		}
		longtext[8000] = 0;
	}
	for (j = 0; texts[j] || (longtext && j == (sizeof texts / sizeof *texts) - 1); j++) {
		const char *tx = texts[j] ? texts[j] : longtext;
		unsigned fl;

		for (fl = 0; fl < 2; fl++)
			if (!te_tok_encode(t, tx, strlen(tx), fl ? TE_TOK_ADD_SPECIAL : 0, &e, NULL)) {
				char *out = NULL;
				size_t on = 0;

				if (!te_tok_decode(t, e.ids, e.n, 0, &out, &on, NULL))
					free(out);
			}
		if (!texts[j])
			break;
	}
	for (j = 0; j < n + 2; j++) {
		const char *p = te_tok_piece(t, (int32_t)j, &len);

		te_tok_piece_bytes(t, (int32_t)j, buf, sizeof buf);
		te_tok_is_special(t, (int32_t)j);
		if (p && j < 64)	/* (a miss scans the vocabulary) */
			te_tok_id(t, p, len);
	}
	te_tok_id(t, "abc", 3);
	te_tok_id(t, "zzzq", 4);
	te_tok_enc_release(&e);
}

/* Forged caches of the tokenizer at path (its cache the one in cdir):
 * flip bits, recompute the checksum, load and use. */
static void
forged(const char *path, const char *what, int rounds)
{
	char cf[600];
	unsigned char *orig = NULL, *buf;
	size_t n = 0, i;
	int survived = 1, mapped = 0;
	unsigned seed = 12345;

	snprintf(cf, sizeof cf, "%s", cache_file());
	if (!*cf || read_all(cf, &orig, &n)) {
		ok(0, "%s: forged caches: no cache to forge", what);
		return;
	}
	buf = malloc(n);
	for (i = 0; i < (size_t)rounds; i++) {
		size_t k, flips = 1 + i % 3;
		te_tok *t;

		memcpy(buf, orig, n);
		for (k = 0; k < flips; k++) {
			size_t pos;

			seed = seed * 1103515245u + 12345u;
			/* the first 4 KiB (header, offsets, counts) get most flips */
			pos = i % 2 ? (seed >> 8) % (n < 4096 ? n : 4096) : (seed >> 4) % n;
			if (pos < 64)
				pos += 64;	/* magic and the like are checked first */
			buf[pos] ^= (unsigned char)(1u << ((seed >> 20) % 8));
		}
		if (write_all(cf, buf, n) || tk_cache_reseal(cf)) {
			survived = 0;
			break;
		}
		t = te_tok_load(path, NULL);
		if (!t) {
			survived = 0;
			break;
		}
		if (t->cmap) {
			mapped++;
			exercise(t);
		}
		te_tok_free(t);
	}
	write_all(cf, orig, n);
	ok(survived, "%s: %d forged caches (bit flips, checksum recomputed) load without a crash "
	   "(%d were taken, the rest rebuilt)", what, rounds, mapped);
	free(buf);
	free(orig);
}

/* The header's section table: (offset, length) of section k, as
 * tok_cache.c lays it out (tc_head: 128 bytes, then the table). */
enum {
	F_META, F_SKEL, F_PATH, F_POOL, F_PIECE_OFF, F_PIECE_N, F_BYTES_OFF, F_BYTES_N, F_SPECIAL,
	F_VSLOT, F_VENT, F_VPOOL, F_MKEY, F_MRANK, F_MMERGED, F_ADDED, F_ASLOT, F_AENT, F_APOOL,
	F_TKEY, F_TRANK, F_TMERGED, F_TTERM, F_USCORE, F_FR2, F_FM2, F_N
};

static void
sec_of(const unsigned char *img, int k, uint64_t *off, uint64_t *len)
{
	memcpy(off, img + 128 + 16 * k, 8);
	memcpy(len, img + 128 + 16 * k + 8, 8);
}

/* Fill p[0, n) as forgery f: random bytes; 32-bit words that look right
 * (small offsets, lengths and ids, now and then huge or -1); 64-bit slots
 * all taken (tag and an entry index, mostly in range: probe chains without
 * an end) */
static void
forge(unsigned char *p, size_t n, int f, unsigned *seed)
{
	size_t i;

	for (i = 0; i + (f == 2 ? 8 : 4) <= n; i += f == 2 ? 8 : 4) {
		uint32_t r, w;

		*seed = *seed * 1103515245u + 12345u;
		r = *seed ^ (*seed >> 13) * 2654435761u;
		if (f == 0) {
			memcpy(p + i, &r, 4);
		} else if (f == 1) {
			w = r % 16 == 0 ? r : r % 16 == 1 ? UINT32_MAX : (r >> 4) % 300000;
			memcpy(p + i, &w, 4);
		} else {
			uint64_t v = (uint64_t)(r | 1) << 32 | ((r >> 5) % 70000 + 1);

			memcpy(p + i, &v, 8);
		}
	}
}

/* The cache of path (image img, n bytes, at cf) with the 32-bit word at
 * byte at of section k set to w, resealed: 1 when tk_cache_verify finds
 * it unsound, 0 when sound, -1 when not mapped or no such word. */
static int
verify_word(const char *path, const char *cf, const unsigned char *img, size_t n, int k,
            size_t at, int32_t w)
{
	unsigned char *buf = malloc(n);
	uint64_t off, len;
	te_tok *t;
	int r = -1;

	sec_of(img, k, &off, &len);
	if (buf && at + 4 <= len && off + len <= n) {
		memcpy(buf, img, n);
		memcpy(buf + off + at, &w, 4);
		if (!write_all(cf, buf, n) && !tk_cache_reseal(cf) && (t = te_tok_load(path, NULL))) {
			if (t->cmap)
				r = tk_cache_verify(t, 0) < 0;
			te_tok_free(t);
		}
	}
	write_all(cf, img, n);
	free(buf);
	return r;
}

/* tk_cache_verify's checks one by one, at their bounds: a vocabulary
 * entry's key past the pool or its id out of range, a two-byte table's
 * rank below -2, its id (tiktoken) or merged id (m2) out of range.  The
 * edits keep to the sections read lazily, so the cache is mapped. */
static void
verify_bounds(const char *path, const char *what, int has_m2)
{
	char cf[600];
	unsigned char *img = NULL;
	size_t n = 0, e, i = 0;
	uint64_t off, len, poff, pool;
	uint32_t koff, klen;
	int32_t nv, r2;
	te_tok *t;

	snprintf(cf, sizeof cf, "%s", cache_file());
	if (!*cf || read_all(cf, &img, &n) || n < 1024 || !(t = te_tok_load(path, NULL))) {
		ok(0, "%s: verify bounds: no cache", what);
		free(img);
		return;
	}
	nv = (int32_t)te_tok_vocab_size(t);
	ok(t->cmap && !tk_cache_verify(t, 0), "%s: the cache as written is sound", what);
	te_tok_free(t);
	sec_of(img, F_VENT, &off, &len);
	sec_of(img, F_VPOOL, &poff, &pool);
	e = len / 12 / 2 * 12;	/* a middle entry: koff, klen, val */
	memcpy(&koff, img + off + e, 4);
	memcpy(&klen, img + off + e + 4, 4);
	ok(verify_word(path, cf, img, n, F_VENT, e + 8, -1) == 1 &&
	   verify_word(path, cf, img, n, F_VENT, e + 8, nv) == 1 &&
	   verify_word(path, cf, img, n, F_VENT, e + 8, INT32_MIN) == 1 &&
	   verify_word(path, cf, img, n, F_VENT, e + 8, nv - 1) == 0 &&
	   verify_word(path, cf, img, n, F_VENT, e, (int32_t)(pool - klen)) == 1 &&
	   verify_word(path, cf, img, n, F_VENT, e, (int32_t)(pool - klen - 1)) == 0 &&
	   verify_word(path, cf, img, n, F_VENT, e, -1) == 1 &&
	   verify_word(path, cf, img, n, F_VENT, e + 4, (int32_t)(pool - koff)) == 1,
	   "%s: a vocabulary entry's id below 0 or past the vocabulary, or its key past the "
	   "pool, is found; at the bounds, not", what);
	sec_of(img, F_FR2, &off, &len);
	for (i = 0; i + 4 <= len; i += 4) {	/* a pair with a rank */
		memcpy(&r2, img + off + i, 4);
		if (r2 >= 0)
			break;
	}
	ok(i + 4 <= len && verify_word(path, cf, img, n, F_FR2, 4, -3) == 1 &&
	   verify_word(path, cf, img, n, F_FR2, 4, -2) == 0 &&
	   verify_word(path, cf, img, n, F_FR2, len - 4, INT32_MIN) == 1 &&
	   (has_m2 ? verify_word(path, cf, img, n, F_FM2, i, nv) == 1 &&
	             verify_word(path, cf, img, n, F_FM2, i, -1) == 1 &&
	             verify_word(path, cf, img, n, F_FM2, i, nv - 1) == 0 :
	             verify_word(path, cf, img, n, F_FR2, i, nv) == 1 &&
	             verify_word(path, cf, img, n, F_FR2, i, nv - 1) == 0),
	   "%s: a two-byte table's rank below -2, or its %s past the vocabulary, is found; at "
	   "the bounds, not", what, has_m2 ? "merged id" : "id");
	free(img);
}

/* Each lazily read section forged three ways, and every byte after the
 * header random (with and without the small sections kept): each cache
 * resealed, loaded and used. */
static void
forged_sections(const char *path, const char *what)
{
	char cf[600];
	unsigned char *orig = NULL, *buf;
	size_t n = 0;
	int k, f, survived = 1, mapped = 0, tried = 0;
	unsigned seed = 777;
	static const int lazy[] = {F_POOL, F_PIECE_OFF, F_PIECE_N, F_BYTES_OFF, F_BYTES_N, F_SPECIAL,
	                           F_VSLOT, F_VENT, F_VPOOL, F_MKEY, F_MRANK, F_MMERGED, F_FR2,
	                           F_FM2, F_ASLOT, F_AENT, F_TKEY, F_TMERGED, F_TTERM, -1, -2};

	snprintf(cf, sizeof cf, "%s", cache_file());
	if (!*cf || read_all(cf, &orig, &n) || n < 1024) {
		ok(0, "%s: forged sections: no cache to forge", what);
		return;
	}
	buf = malloc(n);
	for (k = 0; k < (int)(sizeof lazy / sizeof *lazy) && survived; k++) {
		for (f = 0; f < 3 && survived; f++) {
			uint64_t off, len, hs;
			te_tok *t;

			memcpy(buf, orig, n);
			memcpy(&hs, orig + 12, 4);	/* head_size */
			hs &= 0xffffffffu;
			if (lazy[k] < 0) {	/* all after the header; -2: but the small sections */
				int j;

				forge(buf + hs, n - hs, f, &seed);
				for (j = 0; lazy[k] == -2 && j < F_N; j++) {
					sec_of(orig, j, &off, &len);
					if ((j <= F_PATH || j >= F_ADDED) && off + len <= n)
						memcpy(buf + off, orig + off, len);
				}
			} else {
				sec_of(orig, lazy[k], &off, &len);
				if (!len || off + len > n)
					continue;
				forge(buf + off, len, f, &seed);
			}
			tried++;
			if (write_all(cf, buf, n) || tk_cache_reseal(cf)) {
				survived = 0;
				break;
			}
			if (!(t = te_tok_load(path, NULL))) {
				survived = 0;
				break;
			}
			if (t->cmap) {
				mapped++;
				exercise(t);
			}
			te_tok_free(t);
		}
	}
	write_all(cf, orig, n);
	ok(survived, "%s: %d caches with forged offsets, lengths, ids, probe chains or random "
	   "bytes load and encode without a crash (%d were taken)", what, tried, mapped);
	free(buf);
	free(orig);
}

/* A cache that cannot be used is rebuilt: the next load maps the new one. */
static void
check_rebuilt(const te_tok *ref, const char *what)
{
	te_tok *t = te_tok_load(src, NULL), *u;

	ok(t && !t->cmap && same(ref, t, texts), "%s: loaded from source, same results", what);
	u = te_tok_load(src, NULL);
	ok(u && u->cmap && same(ref, u, texts), "%s: rebuilt, the next load maps it", what);
	te_tok_free(t);
	te_tok_free(u);
}

int
main(void)
{
	te_tok *ref, *a, *b;
	const char *cf, *data = getenv("TOKEMB_DATA");
	char *suite_dir = getenv("TOKEMB_CACHE_DIR") ? strdup(getenv("TOKEMB_CACHE_DIR")) : NULL;
	unsigned char *img;
	size_t n;
	struct timespec ts[2];

	snprintf(tmp, sizeof tmp, "%s/test-tok-cache.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	snprintf(cdir, sizeof cdir, "%s/cache", tmp);
	snprintf(src, sizeof src, "%s/tokenizer.json", tmp);
	setenv("TOKEMB_CACHE_DIR", cdir, 1);
	unsetenv("TOKEMB_CACHE");
	ok(!write_bpe(src, 0), "write a 450 KB BPE tokenizer.json");

	ref = load_nocache(src);
	ok(ref && !ref->cmap, "TOKEMB_CACHE=0: loaded from source");
	ok(!*cache_file() && access(cdir, F_OK), "TOKEMB_CACHE=0: no cache made");
	a = te_tok_load(src, NULL);
	ok(a && !a->cmap, "first load: from source");
	ok(*cache_file(), "first load: the cache is made");
	b = te_tok_load(src, NULL);
	ok(b && b->cmap, "second load: mapped from the cache");
	ok(b && same(ref, b, texts), "mapped: same pieces, ids, encodings and decodings");
	te_tok_free(a);
	te_tok_free(b);

	/* a changed source */
	ts[0].tv_sec = ts[1].tv_sec = 1700000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, src, ts, 0);
	check_rebuilt(ref, "touched source");

	/* truncated and corrupt caches */
	cf = cache_file();
	if (!read_all(cf, &img, &n)) {
		size_t cut[] = {0, 10, 64, 100, n / 2, n - 64, n - 1};
		size_t i;

		for (i = 0; i < sizeof cut / sizeof *cut; i++) {
			char what[64];

			write_all(cache_file(), img, cut[i]);
			snprintf(what, sizeof what, "cache cut to %zu of %zu bytes", cut[i], n);
			check_rebuilt(ref, what);
		}
		{
			unsigned char *bad = malloc(n);

			uint64_t off, len;

			memcpy(bad, img, n);
			sec_of(img, F_SKEL, &off, &len);
			bad[off + len / 2] ^= 0x10;
			write_all(cache_file(), bad, n);
			check_rebuilt(ref, "one bit flipped in a checked section of the cache");
			memcpy(bad, img, n);
			sec_of(img, F_VSLOT, &off, &len);
			bad[off + len / 3] ^= 0x10;
			write_all(cache_file(), bad, n);
			a = te_tok_load(src, NULL);
			ok(a && a->cmap, "one bit flipped in a section read lazily: the cache is mapped");
			if (a)
				exercise(a);
			te_tok_free(a);
			write_all(cache_file(), img, n);
			memcpy(bad, img, n);
			memcpy(bad, "NOTACACHE", 9);
			write_all(cache_file(), bad, n);
			check_rebuilt(ref, "foreign magic");
			free(bad);
		}
		free(img);
	}
	forged(src, "BPE", 200);
	forged_sections(src, "BPE");

	/* the fast path's caches: byte-level BPE with merges, tiktoken ranks */
	{
		static const char *kinds[] = {"byte-level BPE", "tiktoken"};
		int i;

		for (i = 0; i < 2; i++) {
			char p[400];
			te_tok *r;

			snprintf(cdir, sizeof cdir, "%s/cache%d", tmp, i);
			setenv("TOKEMB_CACHE_DIR", cdir, 1);
			snprintf(p, sizeof p, i ? "%s/test_cl100k.tiktoken" : "%s/bl/tokenizer.json", tmp);
			if (!i) {
				char dir[400];

				snprintf(dir, sizeof dir, "%s/bl", tmp);
				mkdir(dir, 0777);
			}
			ok(!(i ? write_tiktoken(p) : write_bpe(p, 1)), "write a %s tokenizer", kinds[i]);
			r = load_nocache(p);
			te_tok_free(te_tok_load(p, NULL));
			a = te_tok_load(p, NULL);
			ok(r && a && a->cmap && same(r, a, texts), "%s: mapped, same results", kinds[i]);
			{	/* with the fast path's two-byte tables (merges: both) */
				unsigned char *im = NULL;
				size_t imn = 0;
				uint64_t o2, l2, o3, l3;

				if (!read_all(cache_file(), &im, &imn) && imn > 1024) {
					sec_of(im, F_FR2, &o2, &l2);
					sec_of(im, F_FM2, &o3, &l3);
				} else {
					l2 = l3 = 0;
				}
				ok(l2 == 65536 * 4 && l3 == (i ? 0 : 65536 * 4),
				   "%s: the cache holds the two-byte tables", kinds[i]);
				free(im);
			}
			te_tok_free(a);
			te_tok_free(r);
			verify_bounds(p, kinds[i], !i);
			forged(p, kinds[i], 60);
			forged_sections(p, kinds[i]);
		}
		snprintf(cdir, sizeof cdir, "%s/cache", tmp);
		setenv("TOKEMB_CACHE_DIR", cdir, 1);
	}

	/* an unwritable cache directory: still loads, from source */
	{
		char bad[400];

		snprintf(bad, sizeof bad, "%s/sub", src);	/* under a file */
		setenv("TOKEMB_CACHE_DIR", bad, 1);
		a = te_tok_load(src, NULL);
		ok(a && !a->cmap && same(ref, a, texts), "an unwritable cache directory: loads from source");
		te_tok_free(a);
		setenv("TOKEMB_CACHE_DIR", cdir, 1);
	}
	te_tok_free(ref);

	/* real tokenizers, when the data is there: in the suite's cache
	 * directory, so that test-tok-exact (after this test) runs with every
	 * cache warm */
	if (suite_dir)
		setenv("TOKEMB_CACHE_DIR", suite_dir, 1);
	else
		setenv("TOKEMB_CACHE_DIR", cdir, 1);
	if (data && *data) {
		/* one of each kind; TOKEMB_TEST_ALL=1: every one (slow under ASan) */
		static const char *names[] = {
			"all-mpnet-base-v2/tokenizer.json", "bert-base-uncased/tokenizer.json",
			"gpt2/tokenizer.json", "phi-3-mini/tokenizer.json", "t5-small/tokenizer.json",
			"tiktoken/cl100k_base.tiktoken", "llama3/original_tokenizer.model",
			"all-MiniLM-L6-v2/tokenizer.json", "gemma3/tokenizer.json",
			"gpt-4-cl100k-hf/tokenizer.json", "gpt-4o-hf/tokenizer.json",
			"llama3/tokenizer.json", "qwen3/tokenizer.json", "tiktoken/o200k_base.tiktoken",
			"tiktoken/p50k_base.tiktoken", "tiktoken/r50k_base.tiktoken", NULL
		};
		size_t i, nfast = 7;
		const char *all = getenv("TOKEMB_TEST_ALL");

		for (i = 0; names[i] && (i < nfast || (all && !strcmp(all, "1"))); i++) {
			char path[600];

			snprintf(path, sizeof path, "%s/tokenizers/%s", data, names[i]);
			if (access(path, R_OK)) {
				printf("ok %d - # skip %s: not in $TOKEMB_DATA\n", ++tap_n, names[i]);
				continue;
			}
			ref = load_nocache(path);
			a = te_tok_load(path, NULL);
			if (a && a->cmap) {	/* already warm: the source load is ref */
				te_tok_free(a);
				a = NULL;
			}
			te_tok_free(a);
			b = te_tok_load(path, NULL);
			ok(ref && b && b->cmap && same(ref, b, texts), "%s: mapped from its cache, same results",
			   names[i]);
			te_tok_free(ref);
			te_tok_free(b);
		}
	}
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd))
			ok(0, "clean up %s", tmp);
	}
	free(suite_dir);
	return done_testing();
}
