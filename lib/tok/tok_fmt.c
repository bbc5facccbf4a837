/* tok_fmt.c: one document's encoding as tok-encode writes it (ids, token
 * strings, byte spans, a count or chunks), and the token count of a whole
 * file (tok-encode --count). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

/* Room for need more bytes at the end of the record buffer. */
static int
fmt_grow(te_tok_rec *r, size_t need)
{
	if (r->n + need > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		char *p;

		while (cap < r->n + need)	/* by half: a long record's slack */
			cap += cap / 2;
		if (!(p = realloc(r->buf, cap)))
			return -1;
		r->buf = p;
		r->cap = cap;
	}
	return 0;
}

int
tk_rec_append(te_tok_rec *r, const void *p, size_t n)
{
	if (fmt_grow(r, n))
		return -1;
	memcpy(r->buf + r->n, p, n);
	r->n += n;
	return 0;
}

/* An id below IDSTR_N as fmt_ids writes it, a space and its digits, in
 * the first seven bytes of an entry, its length in the top byte; 0 not
 * made yet.  Made as first met (an id's is the same whoever makes it:
 * threads share the table), so that an id is one load and one 8-byte
 * store.  Mapped on first use (idstr_table): zero pages that are not in
 * the program's image, so that a document of many ids can have them as
 * one 2 MiB page, one fault where its first read and then its first
 * write of each 4 KiB page were two (cl100k, 2 MB of prose: 392 of the
 * process's 1,150 faults). */
#define IDSTR_N ((uint32_t)1 << 18)
static uint64_t *idstr;
static pthread_once_t idstr_once = PTHREAD_ONCE_INIT;
static int idstr_huge;          /* 2 MiB pages asked for (atomic) */
static uint64_t idstr_none[1];  /* no table: every id made, none kept */

/* fmt_ids asks for 2 MiB pages from this many ids in a call: fewer touch
 * fewer pages than a 2 MiB page costs to clear. */
#define IDSTR_HUGE ((size_t)16 << 10)

static void
idstr_map(void)
{
	idstr = ut_zero_map(IDSTR_N * sizeof *idstr);
}

/* The table for a call of fmt_ids on n ids; its entries below *lim. */
static uint64_t *
idstr_table(size_t n, uint32_t *lim)
{
	pthread_once(&idstr_once, idstr_map);
	if (!idstr) {
		*lim = 0;
		return idstr_none;
	}
	if (n >= IDSTR_HUGE && !__atomic_load_n(&idstr_huge, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&idstr_huge, 1, __ATOMIC_RELAXED))
		ut_huge_advise(idstr, IDSTR_N * sizeof *idstr);
	*lim = IDSTR_N;
	return idstr;
}

/* fmt_ids asks for the entry of the id this far ahead: an id's entry,
 * among those of a large vocabulary, was found not in the caches (its load
 * nine tenths of fmt_ids' time; perf, cl100k prose: fmt_ids' samples 1,260
 * -> 1,065 16 ahead, 855 32, 640 64, 545 128, 500 256). */
#define IDSTR_AHEAD 128

/* An id not in tab yet, or past it (lim): a space and v in decimal at p,
 * kept in tab when it fits; returns the end. */
static __attribute__((noinline)) char *
idstr_make(char *p, uint32_t v, uint64_t *tab, uint32_t lim)
{
	char *e;
	uint64_t x = 0;

	*p = ' ';
	e = te_fmt_ulong(p + 1, v);
	if (v < lim) {
		memcpy(&x, p, (size_t)(e - p));	/* little-endian: the bytes in order */
		x |= (uint64_t)(e - p) << 56;
		__atomic_store_n(&tab[v], x, __ATOMIC_RELAXED);
	}
	return e;
}

/* ids[0, n) in decimal, separated by spaces; room made a block at a
 * time (a long document's record is not sized for the longest ids):
 * 12 bytes an id, a space and 11 digits at most (an id is below 10^8,
 * TK_MAX_ID), and 8 past the last (idstr's 8-byte stores).  First, for
 * up to FMT_ROOM_IDS ids (a piece of a long document: tok_batch.c), room
 * for them all where each is below 10^6 (7 bytes; the last block's bound
 * 5 more an id), every vocabulary's but the largest: the record grown by
 * half as the blocks came was copied a few times, each new page a fault
 * (cl100k, 2 MB of prose: 51 of 554).  More are left to grow as they
 * come: room for them all and then half more for the last block's bound
 * was tok-encode's address space past t/109-tok-encode-memory.bats's. */
#define FMT_ROOM_IDS ((size_t)1 << 18)
static int
fmt_ids(te_tok_rec *r, const int32_t *ids, size_t n)
{
	uint32_t lim;
	uint64_t *tab = idstr_table(n, &lim);
	uint32_t mask = lim ? lim - 1 : 0;

	if (n > 4096 && n <= FMT_ROOM_IDS && fmt_grow(r, n * 7 + 5 * 4096 + 8))
		return -1;
	for (size_t i = 0; i < n; i += 4096) {
		size_t k, end = n - i < 4096 ? n - i : 4096;
		char *p;

		if (fmt_grow(r, end * 12 + 8))
			return -1;
		p = r->buf + r->n;
		k = 0;
		if (!i)	/* no space before the first */
			p = te_fmt_ulong(p, (uint32_t)ids[k++]);
		for (; k < end; k++) {
			uint32_t v = (uint32_t)ids[i + k];
			size_t ahead = i + k + IDSTR_AHEAD < n ? i + k + IDSTR_AHEAD : n - 1;
			uint64_t x;

			__builtin_prefetch(&tab[(uint32_t)ids[ahead] & mask]);
			if (v < lim && (x = __atomic_load_n(&tab[v], __ATOMIC_RELAXED))) {
				memcpy(p, &x, 8);
				p += x >> 56;
			} else {
				p = idstr_make(p, v, tab, lim);
			}
		}
		r->n = (size_t)(p - r->buf);
	}
	return 0;
}

/* The start of the character of text[0, len) that holds byte i (i itself
 * when it starts one or is not inside a valid UTF-8 sequence). */
static size_t
char_start(const char *text, size_t len, size_t i)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t k = 1; k <= 3 && k <= i && i < len; k++) {
		int n;

		if ((s[i - k] & 0xc0) == 0x80)
			continue;
		if (ut_utf8_dec(s + i - k, len - (i - k), &n) >= 0 && (size_t)n > k)
			return i - k;
		break;
	}
	return i;
}

/* Token i's span; Hugging Face tokenizers aligns every byte of a
 * character to the whole character, so a token of a tokenizer.json that
 * holds part of one (byte-level, byte fallback) spans all of it: its span
 * is widened to whole characters. */
static inline void
span(const te_tok *t, const char *text, size_t len, const te_tok_enc *e, size_t i,
     size_t *pa, size_t *pb)
{
	size_t a = e->start[i], b = e->end[i], c;

	if (t->char_offsets && b > a) {
		a = char_start(text, len, a);
		if ((c = char_start(text, len, b)) < b) {
			int n;

			ut_utf8_dec((const unsigned char *)text + c, len - c, &n);
			b = c + (size_t)n;
		}
	}
	*pa = a, *pb = b;
}

/* Each token's start:end, separated by spaces. */
static int
fmt_offsets(te_tok_rec *r, const te_tok *t, const char *text, size_t len, const te_tok_enc *e)
{
	size_t dig = 1, v;

	/* room for all at once, no more than spans of the longest numbers in
	 * the text take (a widened span stays in it); a span past it (not
	 * of this text) makes its own */
	for (v = len; v >= 10; v /= 10)
		dig++;
	if (fmt_grow(r, e->n * (2 * dig + 2) + 1))
		return -1;
	for (size_t i = 0; i < e->n; i++) {
		char *p;
		size_t a, b;

		span(t, text, len, e, i, &a, &b);
		if ((a > len || b > len) && fmt_grow(r, 44 + (e->n - i) * (2 * dig + 2)))
			return -1;
		p = r->buf + r->n;
		if (i)
			*p++ = ' ';
		p = te_fmt_ulong(p, a);
		*p++ = ':';
		p = te_fmt_ulong(p, b);
		r->n = (size_t)(p - r->buf);
	}
	return 0;
}

/* A document of more tokens than this has its spans packed for
 * tk_rec_put (pack_offsets): their text, some 16 bytes a token, is never
 * held whole. */
#define PACK_MIN 65536
#define PACK_FAR 0x80   /* then start and end, 8 bytes each */
#define PACK_SAME 0x81  /* the span of the token before (byte fallback's
                         * tokens of one character, widened) */

/* Each token's span packed: a byte v below PACK_FAR for a span of v
 * bytes that starts where the one before ends (the first: at 0),
 * PACK_SAME for the span before again, else PACK_FAR, start and end.
 * Mostly a byte a token. */
static int
pack_offsets(te_tok_rec *r, const te_tok *t, const char *text, size_t len, const te_tok_enc *e)
{
	size_t prev = 0, prev_a = SIZE_MAX;

	if (fmt_grow(r, e->n + 17))
		return -1;
	for (size_t i = 0; i < e->n; i++) {
		size_t a, b;

		span(t, text, len, e, i, &a, &b);
		if (r->n + 17 > r->cap && fmt_grow(r, 17 + (e->n - i)))
			return -1;
		if (a == prev && b >= a && b - a < PACK_FAR) {
			r->buf[r->n++] = (char)(b - a);
		} else if (a == prev_a && b == prev) {
			r->buf[r->n++] = (char)PACK_SAME;
		} else {
			uint64_t v[2] = {a, b};

			r->buf[r->n] = (char)PACK_FAR;
			memcpy(r->buf + r->n + 1, v, sizeof v);
			r->n += 1 + sizeof v;
		}
		prev_a = a, prev = b;
	}
	r->packed_ = 1;
	return 0;
}

/* A space, then v in decimal at p; returns the end. */
static inline char *
fmt_span_num(char *p, size_t v)
{
	*p = ' ';
	return te_fmt_ulong(p + 1, v);
}

void
tk_rec_put(tk_wr *o, const te_tok_rec *r)
{
	const unsigned char *s = (const unsigned char *)r->buf, *end = s + r->n;
	char piece[1 << 15], *p = piece, *q;
	size_t a = 0, b = 0, skip = 1;	/* the first token's space */

	if (!r->packed_) {
		tk_wr_put(o, r->buf, r->n);
		return;
	}
	if (tk_wr_flush(o))	/* o holds no piece of ours: piece is reused */
		return;
	while (s < end) {
		if (*s < PACK_FAR) {
			a = b;
			b = a + *s++;
		} else if (*s == PACK_SAME) {
			s++;	/* a and b as they were */
		} else {
			uint64_t v[2];

			memcpy(v, s + 1, sizeof v);
			a = (size_t)v[0], b = (size_t)v[1];
			s += 1 + sizeof v;
		}
		p = fmt_span_num(p, a);
		q = p;
		p = fmt_span_num(p, b);
		*q = ':';
		if (s >= end || (size_t)(piece + sizeof piece - p) < 64) {
			tk_wr_put(o, piece + skip, (size_t)(p - piece) - skip);
			if (tk_wr_flush(o))
				return;
			p = piece;
			skip = 0;
		}
	}
}

/* Each token's vocabulary string, escaped so that a record stays one. */
static int
fmt_tokens(te_tok_rec *r, const te_tok *t, const te_tok_enc *e)
{
	for (size_t i = 0; i < e->n; i++) {
		size_t n = 0;
		const char *s = te_tok_piece(t, e->ids[i], &n);

		if (!s)
			n = 0;
		if (fmt_grow(r, 2 * n + 2))
			return -1;
		if (i)
			r->buf[r->n++] = ' ';
		r->n += te_tok_escape(r->buf + r->n, s ? s : "", n);
	}
	return 0;
}

/* Each chunk a record, as text or ids, each ended by f->delim. */
static int
fmt_chunks(te_tok_rec *r, const te_tok_fmt *f, const char *text, size_t len,
           const te_tok_enc *e)
{
	te_tok_chunk *c;
	size_t n, i;

	if (te_tok_chunks(e, text, len, f->chunk, f->overlap, &c, &n))
		return -1;
	for (i = 0; i < n; i++) {
		size_t clen = c[i].end - c[i].start;

		if (f->chunk_ids) {
			if (fmt_ids(r, e->ids + c[i].tok_start, c[i].tok_end - c[i].tok_start))
				break;
		} else if (tk_rec_append(r, text + c[i].start, clen)) {
			break;
		}
		if (tk_rec_append(r, &(char){ (char)f->delim }, 1))
			break;
	}
	free(c);
	return i < n ? -1 : 0;
}

int
te_tok_format(const te_tok *t, const te_tok_fmt *f, const char *text, size_t len,
              const te_tok_enc *e, te_tok_rec *r)
{
	if (!r->n)
		r->packed_ = 0;
	switch (f->form) {
	case TE_TOK_FMT_IDS:
		return fmt_ids(r, e->ids, e->n);
	case TE_TOK_FMT_TOKENS:
		return fmt_tokens(r, t, e);
	case TE_TOK_FMT_OFFSETS:
		if (r->pack_ && !r->n && e->n > PACK_MIN)
			return pack_offsets(r, t, text, len, e);
		return fmt_offsets(r, t, text, len, e);
	case TE_TOK_FMT_COUNT:
		if (fmt_grow(r, 24))
			return -1;
		r->n = (size_t)(te_fmt_ulong(r->buf + r->n, (unsigned long)e->n) - r->buf);
		return 0;
	case TE_TOK_FMT_CHUNK:
		return fmt_chunks(r, f, text, len, e);
	}
	return -1;
}

int
te_tok_count_file(const te_tok *t, const char *path, unsigned flags, te_tok_enc *e,
                  unsigned long long *n, te_diag *d)
{
	size_t len;
	char *text = te_read_whole(path, &len, d);
	int rc;

	if (!text)
		return -1;
	rc = te_tok_encode(t, text, len, flags | TE_TOK_COUNT_ONLY, e, d);
	if (rc == 0)
		*n = e->n;
	free(text);
	return rc;
}
