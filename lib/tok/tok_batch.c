/* tok_batch.c: files of documents encoded on a pool of threads and written
 * in order (te_tok_batch_*, see tokemb.h): tok-encode's documents.  Above
 * tok.c: it calls only what tokemb.h declares, tok.c's encoding handed on
 * as it is made (tk_tok_encode_flush), tok_pool.c, tok_io.c and tok_cut.c's
 * cut rule. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

/* One document of a batch: its text (in the batch's buffer), then its
 * formatted output. */
typedef struct doc {
	size_t off, len;
	long lineno;
	te_tok_rec out;
	size_t ntok;
	int invalid;
	int join;               /* a part of a document: the next part follows */
	te_diag *d;             /* only when it failed */
	struct doc_sink *sink;  /* its tokens written as they are made, or NULL */
	int opened;             /* some of its record written (by sink) */
} doc;

/* A document whose final tokens are formatted and written a block at a
 * time as the encoding hands them on (tk_tok_encode_flush), so that
 * neither its tokens nor its record are ever held whole: the blocks
 * joined by a space are the record that whole tokens would make. */
typedef struct doc_sink {
	tk_flush f;
	te_tok_batch *bt;
	doc *x;
	const char *text, *name;
	size_t put;             /* its tokens written */
	/* --chunk: the tokens from the first chunk not yet written on, and
	 * how many chunks were */
	te_tok_enc pend;
	size_t chunks;
} doc_sink;

typedef struct batch {
	te_tok_batch *owner;
	doc *v;
	size_t n, cap;
	char *tx;               /* the documents' text, each NUL-terminated */
	size_t txn, txcap;
	const char *map;        /* or, when not NULL, their text is here (tk_map) */
	size_t end;             /* and ends before this offset */
	char *name;             /* the file its documents came from */
} batch;

/* The next document of b, [off, off + len) of its text, from line lineno;
 * doc_room made room for it. */
static doc *
doc_add(batch *b, size_t off, size_t len, long lineno)
{
	doc *x = &b->v[b->n++];

	x->off = off, x->len = len, x->lineno = lineno;
	x->ntok = 0, x->d = NULL, x->join = 0;
	x->sink = NULL, x->opened = 0;
	return x;
}

struct te_tok_batch {
	const te_tok *tok;
	te_tok_batch_opts o;
	char *prompt;           /* o.prompt's copy, or NULL */
	size_t prompt_len;
	te_warn_fn warn;
	void *warnarg;
	tk_pool *pool;      /* the caller and threads - 1 helpers */
	batch bufs[2];
	batch *fill;            /* the batch being read into */
	batch *inflight;        /* handed to the helpers, not yet written */
	unsigned long long total;
	int status;             /* 1: an error was reported */
	int oom;
	int werr;               /* the errno of a failed write: write no more */
	char delim;             /* o.delim, as a byte to write */
	tk_map *map;            /* the file being read in place, or NULL */
	struct rnd *rounds;   /* read_parts's two, or NULL */
	struct slot *slots;     /* doc_pieces's, kept for the next one */
	size_t nslots;
	tk_wr wr;
};

/* Each thread's diagnostic for the documents it encodes: zero, as the
 * library wants it, and made zero again only once written (zeroing 1.5 KB
 * a document costs more than encoding a short line). */
static __thread te_diag doc_diag;
static int sink_chunks_end(struct doc_sink *k, const te_tok_enc *e);

static void
encode_doc(const te_tok_batch *bt, doc *x, const char *text, te_tok_enc *e)
{
	const te_tok_batch_opts *o = &bt->o;
	te_diag *d = &doc_diag;
	unsigned flags = o->flags;
	int rc, bytes = te_tok_byte_level(bt->tok);

	/* looked through once: the encoding is told what was found */
	x->invalid = !bytes && !te_utf8_valid(text, x->len);
	if (!bytes && !x->invalid)
		flags |= TK_TEXT_VALID;
	rc = tk_tok_encode_flush(bt->tok, text, x->len, flags, o->max_tokens, e,
	                         x->sink ? &x->sink->f : NULL, d);
	if (rc && (x->d = malloc(sizeof *x->d)))
		*x->d = *d;
	if (d->file[0] || d->line || d->msg[0])
		memset(d, 0, sizeof *d);
	if (rc)
		return;
	if (o->use_limits && te_tok_limits_apply(bt->tok, &o->lim, o->flags, e)) {
		if ((x->d = malloc(sizeof *x->d)))
			te_diag_set(x->d, "", 0, "out of memory");
		return;
	}
	x->ntok = e->n + (x->sink ? x->sink->put : 0);
	if (x->sink && o->fmt.form == TE_TOK_FMT_CHUNK)
		rc = sink_chunks_end(x->sink, e);
	else
		rc = !o->total && te_tok_format(bt->tok, &o->fmt, text, x->len, e, &x->out);
	if (rc && (x->d = malloc(sizeof *x->d)))
		te_diag_set(x->d, "", 0, "out of memory");
}

/* A job of the pool: encode document i of the batch arg. */
static void
encode_job(void *arg, size_t i, te_tok_enc *e)
{
	batch *b = arg;

	b->v[i].out.n = 0;
	b->v[i].out.pack_ = 1;	/* batch_write writes it by tk_rec_put */
	encode_doc(b->owner, &b->v[i], (b->map ? b->map : b->tx) + b->v[i].off, e);
}

/* A document in parts (cut_doc) warns once and fails whole: its first
 * part takes the others' warning and error; on an error none is written. */
static void
parts_join(doc *x)
{
	doc *y;

	for (y = x; y->join; y++) {
		x->invalid |= y[1].invalid;
		y[1].invalid = 0;
		if (y[1].d && !x->d)
			x->d = y[1].d, y[1].d = NULL;
	}
	for (y = x; x->d && y->join; y++)
		y[1].out.n = 0;
}

/* Write what is held; a failed write is reported once (a closed pipe is
 * not: the reader went away) and stops the output. */
static void
out_flush(te_tok_batch *bt)
{
	int err = tk_wr_flush(&bt->wr);

	if (err && !bt->werr) {
		bt->werr = err;
		bt->status = 1;
		if (err != EPIPE) {
			te_diag w;

			te_diag_set(&w, "", 0, "write error: %s", strerror(err));
			bt->warn(&w, bt->warnarg);
		}
	}
}

/* Report x's warning and error, if any; an error drops its output. */
static void
doc_report(te_tok_batch *bt, doc *x, const char *name)
{
	if (x->invalid || x->d)
		out_flush(bt);	/* the output before it first */
	if (x->invalid) {
		te_diag w;

		te_diag_set(&w, name, x->lineno, "invalid UTF-8 replaced by U+FFFD");
		bt->warn(&w, bt->warnarg);
	}
	if (x->d) {
		if (!x->d->file[0])
			snprintf(x->d->file, sizeof x->d->file, "%s", name);
		if (!x->d->line)
			x->d->line = x->lineno;
		bt->warn(x->d, bt->warnarg);
		free(x->d);
		x->d = NULL;
		bt->status = 1;
		x->out.n = 0;
	}
}

/* Write b's output and warnings, in order, and empty it. */
static void
batch_write(batch *b)
{
	te_tok_batch *bt = b->owner;
	size_t i;
	int open = 0;           /* a document in parts: ids of it written */

	for (i = 0; i < b->n; i++) {
		doc *x = &b->v[i];

		if (!open)
			parts_join(x);
		doc_report(bt, x, b->name);
		bt->total += x->ntok;
		if (!bt->o.total) {
			if (x->out.n && (open || x->opened))
				tk_wr_put(&bt->wr, " ", 1);
			if (x->out.n)	/* an empty document may have no buffer yet */
				tk_rec_put(&bt->wr, &x->out);
			if (!x->join)
				tk_wr_put(&bt->wr, &bt->delim, 1);
		}
		open = x->join && (open || x->out.n);
	}
	out_flush(bt);
	if (b->map)
		tk_map_drop(bt->map, b->end);
	b->n = 0;
	b->txn = 0;
	b->map = NULL;
}

/* Finish and write the batch in flight. */
static void
drain(te_tok_batch *bt)
{
	if (bt->inflight) {
		tk_pool_wait(bt->pool);
		batch_write(bt->inflight);
		bt->inflight = NULL;
	}
}

/* --threads N > 1: a pipeline of two batches.  While the helpers encode
 * one (each document encoded and formatted into its own buffer, kept for
 * the next batch), this thread writes the one before and reads the next;
 * then it helps encode what is left.  So reading, splitting and writing
 * overlap the encoding; one large document is cut in parts (cut_doc).
 * Sends the batch being filled (full, or the end of its file) on and
 * sets the next one to fill; -1 when out of memory. */
static int
submit(te_tok_batch *bt, const char *name)
{
	batch *b = bt->fill, *prev = bt->inflight;

	free(b->name);
	if (!(b->name = strdup(name)))
		return -1;
	if ((b->n <= 1 && !tk_pool_started(bt->pool)) || !tk_pool_helpers(bt->pool)) {
		tk_pool_run(bt->pool, b->n, encode_job, b);	/* nothing in flight */
		tk_pool_wait(bt->pool);
		batch_write(b);
		return 0;
	}
	if (prev)
		tk_pool_wait(bt->pool);
	tk_pool_run(bt->pool, b->n, encode_job, b);
	bt->inflight = b;
	if (prev)
		batch_write(prev);
	bt->fill = prev ? prev : b == &bt->bufs[0] ? &bt->bufs[1] : &bt->bufs[0];
	return 0;
}

/* Room for k more documents in b, the new ones zero; -1 when out of
 * memory. */
static int
doc_room(batch *b, size_t k)
{
	size_t old = b->cap, cap = b->cap;
	doc *v;

	if (b->n + k <= cap)
		return 0;
	while (b->n + k > cap)
		cap = cap ? 2 * cap : 256;
	if (cap == old)
		return 0;
	if (!(v = realloc(b->v, cap * sizeof *v)))
		return -1;
	memset(v + old, 0, (cap - old) * sizeof *v);
	b->v = v;
	b->cap = cap;
	return 0;
}

/* Whether a document of len bytes may be cut in parts (cut_doc, or
 * doc_pieces on one thread too), as far as its length and the options
 * say.  From CUT_MIN bytes: in pieces, its ids and their text are a few
 * pieces' buffers used again while in the caches, where whole they would
 * be buffers as long as the document, each page a fault (a 2 MB document
 * of prose: 1000 faults of 2200, a tenth of the process). */
#define CUT_MIN ((size_t)512 << 10)
static int
cut_may(const te_tok_batch *bt, size_t len)
{
	return len >= CUT_MIN && bt->o.fmt.form == TE_TOK_FMT_IDS && !bt->prompt_len &&
	       bt->o.max_tokens < 0 && !bt->o.use_limits;
}

/* --threads on one large document: where the model allows (te_tok_cuts),
 * b's last document is cut into parts, about eight for each thread (the
 * last part to finish leaves one thread alone a short while):
 * documents of their own, encoded on every thread and written joined.
 * -1 when out of memory. */
static int
cut_doc(batch *b)
{
	const te_tok_batch *bt = b->owner;
	size_t cuts[63], n, k, len = b->v[b->n - 1].len;
	int h;

	if (!cut_may(bt, len) || !(h = tk_pool_helpers(bt->pool)) ||
	    !(n = te_tok_cuts(bt->tok, (b->map ? b->map : b->tx) + b->v[b->n - 1].off, len,
	                      bt->o.flags, cuts, h < 7 ? 8 * (size_t)h + 7 : 63)))
		return 0;
	if (doc_room(b, n))
		return -1;
	for (k = 0; k <= n; k++) {	/* each part keeps its own output buffer */
		doc *y = &b->v[b->n - 1 + k];

		y->off = b->v[b->n - 1].off + (k ? cuts[k - 1] : 0);
		y->len = (k < n ? cuts[k] : len) - (k ? cuts[k - 1] : 0);
		y->lineno = b->v[b->n - 1].lineno;
		y->ntok = 0, y->d = NULL, y->join = k < n;
	}
	b->n += n;
	return 0;
}

/* ------------------------------------ one large document in pieces */

/* --threads on one large document where the model allows cuts: the
 * document is cut in pieces of about PIECE bytes, job k finds its own
 * bounds (the first cut whose newline lies in [k * step, (k + 1) * step)
 * starts it, or it is empty; the first cut from (k + 1) * step on ends
 * it: tk_cut_next, the same for every thread), so the cutting is shared
 * out and the encoding starts at once.  Each piece is encoded and
 * formatted into one of a ring of slots, and the thread that finishes the
 * piece next in order writes it and every finished one after it, so the
 * writing overlaps the encoding and memory stays a few pieces whatever
 * the document's length: a job waits for its slot to be written. */
#define PIECE ((size_t)256 << 10)
/* On one thread, pieces of PIECE1 bytes: its ids and their text, the
 * buffers used again from piece to piece, are a piece long, each page of
 * them a fault the first time (cl100k, 2 MB of prose: 513 -> 343 faults
 * from 256 KiB pieces). */
#define PIECE1 ((size_t)64 << 10)

typedef struct slot {
	te_tok_rec out;
	size_t a;               /* where its piece starts */
	size_t ntok;
	int done;               /* encoded, not yet written */
	int invalid;
	te_diag *d;
} slot;

typedef struct pieces {
	te_tok_batch *bt;
	const char *text;
	size_t len, step, n;    /* n pieces of about step bytes */
	long lineno;
	const char *name;
	slot *slot;
	size_t nslot;
	pthread_mutex_t mu;
	pthread_cond_t freed;
	size_t written;         /* pieces written (or dropped after an error) */
	int writing;            /* a thread writes: the others leave it to it */
	int open;               /* ids of the document written: a space first */
	int warned;             /* its invalid UTF-8 */
	int failed;             /* an error: the rest of the document dropped */
} pieces;

/* Where piece k of s starts (k > 0: 0 when it is empty) or ends. */
static size_t
piece_start(const pieces *s, size_t k)
{
	size_t to = k + 1 < s->n ? (k + 1) * s->step : s->len;

	return k ? tk_cut_next(s->text, s->len, k * s->step, to) : 0;
}

static size_t
piece_end(const pieces *s, size_t k)
{
	size_t b = k + 1 < s->n ? tk_cut_next(s->text, s->len, (k + 1) * s->step, s->len) : 0;

	return b ? b : s->len;
}

/* Write the finished slot x (the next piece in order) of s; s->mu is not
 * held.  An error is reported (with an invalid-UTF-8 warning, once) and
 * drops the rest of the document: its record ends where it stands. */
static void
piece_write(pieces *s, slot *x)
{
	te_tok_batch *bt = s->bt;

	if (s->failed) {
		free(x->d);
		x->d = NULL;
		return;
	}
	if (x->invalid || x->d) {
		doc y = {0};

		y.lineno = s->lineno;
		y.invalid = x->invalid && !s->warned;
		y.d = x->d;
		x->d = NULL;
		s->failed = y.d != NULL;
		s->warned |= x->invalid;
		doc_report(bt, &y, s->name);
		if (s->failed)
			return;
	}
	bt->total += x->ntok;
	if (!bt->o.total && x->out.n) {
		if (s->open)
			tk_wr_put(&bt->wr, " ", 1);
		tk_rec_put(&bt->wr, &x->out);
		s->open = 1;
	}
	out_flush(bt);		/* the slot is reused */
	/* the pages before it are read no more (the later pieces look for
	 * their cuts after its start) */
	if (bt->map && s->text >= bt->map->p && s->text < bt->map->p + bt->map->size)
		tk_map_drop(bt->map, (size_t)(s->text - bt->map->p) + x->a);
}

/* Write the finished pieces of s in order, unless another thread does;
 * s->mu is held. */
static void
pieces_write(pieces *s)
{
	slot *x;

	if (s->writing)
		return;
	s->writing = 1;
	while (s->written < s->n && (x = &s->slot[s->written % s->nslot])->done) {
		pthread_mutex_unlock(&s->mu);
		piece_write(s, x);
		pthread_mutex_lock(&s->mu);
		x->done = 0;
		s->written++;
		pthread_cond_broadcast(&s->freed);
	}
	s->writing = 0;
}

/* A job of the pool: cut, encode and format piece k of arg, then write
 * what is next in order. */
static void
piece_job(void *arg, size_t k, te_tok_enc *e)
{
	pieces *s = arg;
	slot *x = &s->slot[k % s->nslot];
	size_t a = piece_start(s, k), b;
	doc y = {0};

	pthread_mutex_lock(&s->mu);
	while (k >= s->written + s->nslot)
		pthread_cond_wait(&s->freed, &s->mu);
	pthread_mutex_unlock(&s->mu);
	y.out = x->out;
	y.out.n = 0;
	y.out.pack_ = 1;
	if ((k == 0 || a) && (b = piece_end(s, k)) > a) {
		y.len = b - a;
		encode_doc(s->bt, &y, s->text + a, e);
	}
	x->out = y.out;
	x->a = a;
	x->ntok = y.ntok, x->invalid = y.invalid, x->d = y.d;
	pthread_mutex_lock(&s->mu);
	x->done = 1;
	pieces_write(s);
	pthread_mutex_unlock(&s->mu);
}

/* bt's ring of slots, 4 for each thread (one thread writes each piece
 * as soon as it is encoded: one slot, kept in the caches), the first
 * time; -1 when out of memory. */
static int
slots_new(te_tok_batch *bt, int threads)
{
	size_t n = threads > 1 ? 4 * (size_t)threads : 1;

	if (bt->nslots >= n)
		return 0;
	for (size_t i = 0; i < bt->nslots; i++)
		free(bt->slots[i].out.buf);
	free(bt->slots);	/* once: the pool's threads are started once */
	if (!(bt->slots = calloc(n, sizeof *bt->slots))) {
		bt->nslots = 0;
		return -1;
	}
	bt->nslots = n;
	return 0;
}

/* Encode and write the document text[0, len) (from line lineno of name)
 * in pieces on every thread (h helpers), then its delimiter; -1 when out
 * of memory. */
static int
doc_pieces(te_tok_batch *bt, const char *text, size_t len, long lineno, const char *name, int h)
{
	pieces s = {0};
	size_t want = 4 * ((size_t)h + 1);

	if (slots_new(bt, h + 1))
		return -1;
	s.bt = bt, s.text = text, s.len = len, s.lineno = lineno, s.name = name;
	s.slot = bt->slots;
	s.nslot = bt->nslots;
	s.n = len / (h ? PIECE : PIECE1) > want ? len / (h ? PIECE : PIECE1) : want;
	s.step = len / s.n;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.freed, NULL);
	tk_pool_run_each(bt->pool, s.n, piece_job, &s);
	tk_pool_wait(bt->pool);
	pthread_cond_destroy(&s.freed);
	pthread_mutex_destroy(&s.mu);
	if (!bt->o.total)
		tk_wr_put(&bt->wr, &bt->delim, 1);
	out_flush(bt);
	return 0;
}

/* ------------------------------- one large document as it is encoded */

/* A long document: BIG bytes or more. */
#define BIG ((size_t)1 << 22)

/* Whether a long document of len bytes is written as it is encoded
 * (doc_sink): its whole record, as one token list, with nothing to take
 * from its end (no truncation, no limits) or to put before it. */
static int
stream_may(const te_tok_batch *bt, size_t len)
{
	int form = bt->o.fmt.form;

	return len >= BIG && !bt->prompt_len && bt->o.max_tokens < 0 && !bt->o.use_limits &&
	       !bt->o.total && (form == TE_TOK_FMT_IDS || form == TE_TOK_FMT_TOKENS ||
	                        form == TE_TOK_FMT_OFFSETS || form == TE_TOK_FMT_CHUNK);
}

/* Append e's first n tokens to k's pending ones; -1 when out of memory. */
static int
pend_add(doc_sink *k, const te_tok_enc *e, size_t n)
{
	te_tok_enc *p = &k->pend;

	if (tk_enc_reserve(p, n))
		return -1;
	memcpy(p->ids + p->n, e->ids, n * sizeof *e->ids);
	memcpy(p->start + p->n, e->start, n * sizeof *e->start);
	memcpy(p->end + p->n, e->end, n * sizeof *e->end);
	p->n += n;
	return 0;
}

/* The warning that k's document has invalid UTF-8, before any of its
 * output, as doc_report would have written it. */
static void
sink_warn(doc_sink *k)
{
	doc y = {0};

	if (!k->x->invalid)
		return;
	y.lineno = k->x->lineno;
	y.invalid = 1;
	doc_report(k->bt, &y, k->name);
	k->x->invalid = 0;
}

/* --chunk: take e's first n tokens and write every chunk they decide (its
 * text, or its ids, then the delimiter); -1 when out of memory. */
static int
sink_chunks(doc_sink *k, const te_tok_enc *e, size_t n)
{
	te_tok_batch *bt = k->bt;
	const te_tok_fmt *f = &bt->o.fmt;
	te_tok_enc *p = &k->pend;
	size_t a = 0, b, next;
	int rc = 0;

	if (pend_add(k, e, n))
		return -1;
	k->x->out.n = 0;
	while (tk_chunk_next(p, k->text, k->x->len, a, f->chunk, f->overlap, &b, &next)) {
		size_t cs = k->chunks ? p->start[a] : 0;

		if (f->chunk_ids) {	/* the chunks' ids, then written at once */
			te_tok_enc w = *p;

			w.ids += a;
			w.n = b - a;
			if ((rc = te_tok_format(bt->tok, &(te_tok_fmt){ .form = TE_TOK_FMT_IDS },
			                        k->text, k->x->len, &w, &k->x->out)) ||
			    (rc = tk_rec_append(&k->x->out, &bt->delim, 1)))
				break;
		} else {	/* the text, held until written */
			tk_wr_put(&bt->wr, k->text + cs, p->start[b] - cs);
			tk_wr_put(&bt->wr, &bt->delim, 1);
		}
		k->chunks++;
		a = next;
	}
	if (k->x->out.n)
		tk_rec_put(&bt->wr, &k->x->out);
	out_flush(bt);		/* the writer may hold out's bytes, not a copy */
	k->x->out.n = 0;
	/* the chunk at a is not decided yet: its tokens and those after wait */
	p->n -= a;
	memmove(p->ids, p->ids + a, p->n * sizeof *p->ids);
	memmove(p->start, p->start + a, p->n * sizeof *p->start);
	memmove(p->end, p->end + a, p->n * sizeof *p->end);
	return rc ? -1 : 0;
}

/* --chunk, the document's end: the chunks e's tokens decide, then the
 * last one, from the first token still pending to the text's end, to the
 * document's record; -1 when out of memory. */
static int
sink_chunks_end(doc_sink *k, const te_tok_enc *e)
{
	te_tok_batch *bt = k->bt;
	const te_tok_enc *p = &k->pend;
	te_tok_rec *r = &k->x->out;
	size_t len = k->x->len, cs;

	sink_warn(k);
	if (sink_chunks(k, e, e->n))
		return -1;
	if (!k->chunks && !p->n && !len)
		return 0;
	cs = k->chunks ? p->start[0] : 0;
	if (bt->o.fmt.chunk_ids ? te_tok_format(bt->tok, &(te_tok_fmt){ .form = TE_TOK_FMT_IDS },
	                                        k->text, len, p, r)
	                        : tk_rec_append(r, k->text + cs, len - cs))
		return -1;
	return tk_rec_append(r, &bt->delim, 1);
}

/* Write e's first n tokens, formatted into the document's own record
 * buffer; its invalid-UTF-8 warning first, as doc_report would. */
static int
sink_put(tk_flush *f, const te_tok_enc *e, size_t n)
{
	doc_sink *k = (doc_sink *)f;
	te_tok_batch *bt = k->bt;
	doc *x = k->x;
	te_tok_enc v = *e;

	sink_warn(k);
	if (bt->o.fmt.form == TE_TOK_FMT_CHUNK) {
		k->put += n;
		return sink_chunks(k, e, n);
	}
	v.n = n;
	x->out.n = 0;
	if (te_tok_format(bt->tok, &bt->o.fmt, k->text, x->len, &v, &x->out))
		return -1;
	if (x->opened)
		tk_wr_put(&bt->wr, " ", 1);
	tk_rec_put(&bt->wr, &x->out);
	out_flush(bt);		/* the buffer is used again */
	x->out.n = 0;
	x->opened = 1;
	k->put += n;
	return 0;
}

/* A long document (BIG bytes or more, no prompt to put before it) is
 * encoded where the reader holds it, once what was read before it is
 * written: a copy would double its memory.  It is encoded in pieces on
 * every thread where the model allows (doc_pieces), else written as it
 * is encoded where it can be (doc_sink).  -1 when out of memory. */
static int
encode_in_place(te_tok_batch *bt, char *rec, size_t len, long lineno, const char *name)
{
	batch *b = bt->fill, one;
	doc_sink sink = { { sink_put }, bt, NULL, rec, name, 0, { 0 }, 0 };
	doc *x;

	drain(bt);
	if (cut_may(bt, len) && tk_cuts_ok(bt->tok, bt->o.flags))
		return doc_pieces(bt, rec, len, lineno, name, tk_pool_helpers(bt->pool));
	if (doc_room(b, 1))
		return -1;
	one = *b;		/* b's documents and their output buffers */
	one.n = 0;
	one.tx = rec;
	x = doc_add(&one, 0, len, lineno);
	if (stream_may(bt, len)) {
		sink.x = x;
		x->sink = &sink;
	}
	one.name = (char *)name;
	one.map = NULL;
	tk_pool_run(bt->pool, one.n, encode_job, &one);
	tk_pool_wait(bt->pool);
	batch_write(&one);
	te_tok_enc_release(&sink.pend);
	x->sink = NULL;
	x->opened = 0;
	return 0;
}

/* Append a document (the prompt, then rec) to the batch being filled;
 * -1 when out of memory. */
static int
add_doc(te_tok_batch *bt, const char *rec, size_t len, long lineno)
{
	batch *b = bt->fill;
	size_t pl = bt->prompt_len;

	if (doc_room(b, 1))
		return -1;
	while (b->txn + pl + len + 1 > b->txcap) {
		size_t cap = b->txcap ? 2 * b->txcap : 1u << 16;
		char *tx = realloc(b->tx, cap);

		if (!tx)
			return -1;
		b->tx = tx;
		b->txcap = cap;
	}
	/* the prompt and the text are one string, as sentence-transformers
	 * tokenizes them */
	if (pl)
		memcpy(b->tx + b->txn, bt->prompt, pl);
	memcpy(b->tx + b->txn + pl, rec, len + 1);
	doc_add(b, b->txn, len + pl, lineno);
	b->txn += len + pl + 1;
	return cut_doc(b);
}

/* A batch of bytes of text is full: enough work to share, few enough
 * batches that the threads seldom wait for each other at their ends
 * (16384 short lines; 4096 on one thread, which never waits), small
 * enough for the pipeline to fill and drain quickly; bounded memory. */
static int
batch_full(const batch *b, size_t bytes)
{
	return bytes >= ((size_t)1 << 20) ||
	       b->n >= (tk_pool_started(b->owner->pool) ? 16384u : 4096u);
}

/* Read r's documents into batches and send each on when full. */
static int
read_docs(te_tok_batch *bt, te_reader *r, te_diag *rd)
{
	char *rec;
	size_t len, bytes = 0;
	int rc = 0;

	while (!bt->werr && (rc = te_reader_next(r, &rec, &len, rd)) > 0) {
		if (len >= BIG && !bt->prompt_len) {
			if (bt->fill->n && submit(bt, te_reader_name(r)))
				return -2;
			if (encode_in_place(bt, rec, len, te_reader_lineno(r), te_reader_name(r)))
				return -2;
			bytes = 0;
			continue;
		}
		if (add_doc(bt, rec, len, te_reader_lineno(r)))
			return -2;
		bytes += len + bt->prompt_len;
		if (batch_full(bt->fill, bytes)) {
			if (submit(bt, te_reader_name(r)))
				return -2;
			bytes = 0;
		}
	}
	if (bt->fill->n && submit(bt, te_reader_name(r)))
		return -2;
	return rc;
}

/* The documents of the mapped file m, where they lie, in batches as
 * read_docs makes them, but a large one, encoded in pieces where the model
 * allows (so its ids and their text are a few pieces' buffers, used again
 * while in the caches, not one buffer as long as the document, each of
 * its pages a fault); all written before m is unmapped.  One thread
 * (read_parts for more).  -2 when out of memory. */
static int
read_map(te_tok_batch *bt, tk_map *m, const char *name)
{
	size_t off, len, bytes = 0;
	int rc = 0;

	bt->map = m;
	while (!rc && !bt->werr && tk_map_next(m, bt->o.delim, &off, &len)) {
		batch *b = bt->fill;

		/* one large document: in pieces or written as it is
		 * encoded, as encode_in_place's */
		if ((cut_may(bt, len) && tk_cuts_ok(bt->tok, bt->o.flags)) || stream_may(bt, len)) {
			if ((b->n && submit(bt, name)) ||
			    encode_in_place(bt, m->p + off, len, m->lineno, name))
				rc = -2;
			bytes = 0;
			continue;
		}
		if (doc_room(b, 1)) {
			rc = -2;
			break;
		}
		b->map = m->p;
		b->end = off + len;
		doc_add(b, off, len, m->lineno);
		if (cut_doc(b))
			rc = -2;
		bytes += len;
		/* batches as read_docs's */
		if (!rc && batch_full(b, bytes)) {
			rc = submit(bt, name) ? -2 : 0;
			bytes = 0;
		}
	}
	if (!rc && bt->fill->n && submit(bt, name))
		rc = -2;
	drain(bt);
	bt->fill->n = 0;	/* what was not sent on */
	bt->fill->map = NULL;
	bt->map = NULL;
	return rc;
}

/* ------------------------------------------- a mapped file in parts */

/* --threads N > 1 on a mapped file: its bytes cut in parts of PART bytes,
 * PART_ROUND for each thread at a time (a round); the thread that takes a
 * part finds the documents that start in it (the first after its first
 * delimiter, but at the file's start), encodes them into the part's own
 * output, and counts them, so that this thread only writes the parts in
 * order (and helps encode the next round): the scan of the delimiters, the
 * page faults of the input and the formatting are shared out as the
 * encoding is.  What the writer does at a document besides writing its
 * output (a warning, an error, a large document) is an event. */
#define PART ((size_t)64 << 10)
#define PART_ROUND 16

/* Before the output of document doc of a part: its warning or error, or
 * it is large (len not 0) and left to the writer, which cuts it and
 * encodes its parts on every thread (encode_in_place). */
typedef struct pev {
	size_t doc;             /* its index in the part */
	size_t at;              /* where its output starts in the part's */
	size_t off, len;        /* a large document: where it lies */
	int invalid;
	te_diag *d;
} pev;

typedef struct part {
	size_t a, b;            /* its documents start in [a, b) of the map */
	size_t end;             /* after the last one and its delimiter; 0: none */
	size_t ndoc;
	unsigned long long ntok;
	te_tok_rec out;         /* their output, each followed by the delimiter */
	pev *ev;
	size_t nev, evcap;
	int oom;
} part;

typedef struct rnd {
	te_tok_batch *owner;
	size_t start;           /* the file's first document */
	part *v;
	size_t n, cap;
} rnd;

/* Note x (a document of pt whose output starts at at; a large one at
 * [off, off + len) of the map when len is not 0) for the writer; -1 when
 * out of memory (x's diagnostic is then freed). */
static int
part_event(part *pt, doc *x, size_t at, size_t off, size_t len)
{
	pev *v;

	if (ut_grow((void **)&pt->ev, &pt->evcap, pt->nev + 1, sizeof *pt->ev)) {
		free(x->d);
		return -1;
	}
	v = &pt->ev[pt->nev++];
	v->doc = pt->ndoc, v->at = at, v->off = off, v->len = len;
	v->invalid = x->invalid, v->d = x->d;
	return 0;
}

/* Encode the document [off, off + len) of the map into pt's output. */
static void
part_doc(const te_tok_batch *bt, part *pt, size_t off, size_t len, te_tok_enc *e)
{
	doc x = {0};
	size_t at = pt->out.n;

	x.len = len;
	if (cut_may(bt, len) || stream_may(bt, len)) {
		if (part_event(pt, &x, at, off, len))
			pt->oom = 1;
		pt->ndoc++;
		return;
	}
	x.out = pt->out;
	encode_doc(bt, &x, bt->map->p + off, e);
	pt->out = x.out;
	if (x.d)
		pt->out.n = at;		/* an error: an empty record */
	pt->ntok += x.ntok;
	if ((x.invalid || x.d) && part_event(pt, &x, at, 0, 0))
		pt->oom = 1;
	if (!bt->o.total) {
		if (ut_grow((void **)&pt->out.buf, &pt->out.cap, pt->out.n + 1, 1))
			pt->oom = 1;
		else
			pt->out.buf[pt->out.n++] = bt->delim;
	}
	pt->ndoc++;
}

/* A job of the pool: find and encode the documents of part i of round arg. */
static void
part_job(void *arg, size_t i, te_tok_enc *e)
{
	const rnd *r = arg;
	const te_tok_batch *bt = r->owner;
	const tk_map *m = bt->map;
	part *pt = &r->v[i];
	size_t s = pt->a;

	pt->end = pt->ndoc = pt->nev = pt->out.n = 0;
	pt->ntok = 0;
	pt->oom = 0;
	if (s > r->start) {	/* after a delimiter in [a - 1, b - 1) */
		const char *q = memchr(m->p + s - 1, bt->o.delim, pt->b - s);

		s = q ? (size_t)(q - m->p) + 1 : pt->b;
	}
	while (s < pt->b && !pt->oom) {
		const char *q = memchr(m->p + s, bt->o.delim, m->size - s);
		size_t len = q ? (size_t)(q - m->p) - s : m->size - s;

		part_doc(bt, pt, s, len, e);
		s += len + (q != NULL);
		pt->end = s;
	}
}

/* Write part pt (its documents from line *line + 1) and report its events
 * in order; -1 when out of memory. */
static int
part_write(te_tok_batch *bt, part *pt, long *line, const char *name)
{
	size_t w = 0, k;
	int rc = pt->oom ? -1 : 0;

	for (k = 0; k < pt->nev; k++) {
		pev *v = &pt->ev[k];
		doc y = {0};

		if (!rc && v->at > w)
			tk_wr_put(&bt->wr, pt->out.buf + w, v->at - w);
		w = v->at;
		y.lineno = *line + 1 + (long)v->doc;
		y.invalid = v->invalid;
		y.d = v->d;
		v->d = NULL;
		if (rc) {
			free(y.d);
		} else if (v->len) {
			out_flush(bt);
			tk_pool_wait(bt->pool);		/* the next round, done */
			if (encode_in_place(bt, bt->map->p + v->off, v->len, y.lineno, name))
				rc = -1;
		} else {
			doc_report(bt, &y, name);
		}
	}
	if (!rc && pt->out.n > w)
		tk_wr_put(&bt->wr, pt->out.buf + w, pt->out.n - w);
	*line += (long)pt->ndoc;
	bt->total += pt->ntok;
	return rc;
}

/* Write round r's parts in order, then give back the pages written; the
 * next round starts at *pos or after the documents written, if later (a
 * large document read on: none starts in it). */
static int
round_write(rnd *r, long *line, const char *name, size_t *pos)
{
	te_tok_batch *bt = r->owner;
	size_t i, end = 0;
	int rc = 0;

	for (i = 0; i < r->n; i++) {
		if (part_write(bt, &r->v[i], line, name))
			rc = -1;
		if (r->v[i].end)
			end = r->v[i].end;
	}
	out_flush(bt);
	if (end)
		tk_map_drop(bt->map, end);
	if (end > *pos)
		*pos = end;
	r->n = 0;
	return rc;
}

/* The parts of the next round r, from byte *pos of the map on. */
static void
round_fill(rnd *r, size_t *pos)
{
	const tk_map *m = r->owner->map;

	for (r->n = 0; r->n < r->cap && *pos < m->size; r->n++) {
		part *pt = &r->v[r->n];

		pt->a = *pos;
		pt->b = m->size - *pos > PART ? *pos + PART : m->size;
		*pos = pt->b;
	}
}

/* bt's two rounds, of PART_ROUND parts for each of threads threads, the
 * first time; -1 when out of memory. */
static int
rounds_new(te_tok_batch *bt, int threads)
{
	int k;

	if (!bt->rounds && !(bt->rounds = calloc(2, sizeof *bt->rounds)))
		return -1;
	for (k = 0; k < 2; k++) {
		rnd *r = &bt->rounds[k];

		r->owner = bt;
		if (!r->v) {
			if (!(r->v = calloc((size_t)threads * PART_ROUND, sizeof *r->v)))
				return -1;
			r->cap = (size_t)threads * PART_ROUND;
		}
	}
	return 0;
}

/* The documents of the mapped file m in parts (--threads N > 1), two
 * rounds in flight, as submit's batches: while the threads encode one,
 * this thread writes the one before, then helps.  -2 when out of memory. */
static int
read_parts(te_tok_batch *bt, tk_map *m, const char *name)
{
	rnd *cur, *prev = NULL;
	size_t pos = m->pos;
	long line = m->lineno;
	int rc = 0;

	drain(bt);	/* what an earlier file left in flight */
	bt->map = m;
	if (rounds_new(bt, tk_pool_started(bt->pool) + 1))
		rc = -2;
	while (!rc && !bt->werr && pos < m->size) {
		cur = prev == &bt->rounds[0] ? &bt->rounds[1] : &bt->rounds[0];
		cur->start = m->pos;
		round_fill(cur, &pos);
		if (prev)
			tk_pool_wait(bt->pool);
		tk_pool_run_each(bt->pool, cur->n, part_job, cur);
		if (prev && round_write(prev, &line, name, &pos))
			rc = -2;
		prev = cur;
	}
	if (prev) {
		tk_pool_wait(bt->pool);		/* the jobs read m: always */
		if (!rc && round_write(prev, &line, name, &pos))
			rc = -2;
	}
	bt->map = NULL;
	return rc;
}

te_tok_batch *
te_tok_batch_new(const te_tok *t, const te_tok_batch_opts *o, FILE *out, te_warn_fn warn,
                 void *warnarg)
{
	te_tok_batch *bt = calloc(1, sizeof *bt);

	if (!bt)
		return NULL;
	bt->tok = t;
	bt->o = *o;
	bt->warn = warn;
	bt->warnarg = warnarg;
	bt->delim = (char)o->delim;
	tk_wr_init(&bt->wr, out);
	bt->bufs[0].owner = bt->bufs[1].owner = bt;
	bt->fill = &bt->bufs[0];
	if (o->prompt && o->prompt[0]) {
		bt->prompt_len = strlen(o->prompt);
		if (!(bt->prompt = strdup(o->prompt)))
			goto fail;
	}
	bt->o.prompt = bt->prompt;
	if (!(bt->pool = tk_pool_new(o->threads)))
		goto fail;
	return bt;
fail:
	te_tok_batch_free(bt);
	return NULL;
}

int
te_tok_batch_file(te_tok_batch *bt, const char *path, te_diag *d)
{
	te_diag rd = {0};
	te_reader *r;
	tk_map m;
	int rc;

	if (bt->oom)
		return te_diag_set(d, "", 0, "out of memory");
	if (bt->werr)
		return 0;
	/* a regular file is read in place (no prompt to put before each
	 * document); a pipe, or one that cannot be mapped, as a stream */
	if (!bt->prompt_len && tk_map_open(&m, path)) {
		rc = tk_pool_helpers(bt->pool) ? read_parts(bt, &m, path) : read_map(bt, &m, path);
		tk_map_close(&m);
		if (rc) {
			bt->oom = 1;
			return te_diag_set(d, "", 0, "out of memory");
		}
		return 0;
	}
	if (!(r = te_reader_open(path, bt->o.delim, &rd))) {
		drain(bt);	/* the warnings in order */
		bt->warn(&rd, bt->warnarg);
		bt->status = 1;
		return 0;
	}
	rc = read_docs(bt, r, &rd);
	te_reader_close(r);
	if (rc == -2) {
		bt->oom = 1;
		return te_diag_set(d, "", 0, "out of memory");
	}
	if (rc < 0) {
		drain(bt);
		bt->warn(&rd, bt->warnarg);
		bt->status = 1;
	}
	return 0;
}

int
te_tok_batch_finish(te_tok_batch *bt, unsigned long long *total)
{
	drain(bt);
	if (total)
		*total = bt->total;
	return bt->status;
}

void
te_tok_batch_free(te_tok_batch *bt)
{
	size_t i;
	int k;

	if (!bt)
		return;
	tk_pool_free(bt->pool);
	for (k = 0; bt->rounds && k < 2; k++) {
		for (i = 0; i < bt->rounds[k].cap; i++) {
			part *pt = &bt->rounds[k].v[i];
			size_t j;

			for (j = 0; j < pt->nev; j++)
				free(pt->ev[j].d);
			free(pt->ev);
			free(pt->out.buf);
		}
		free(bt->rounds[k].v);
	}
	free(bt->rounds);
	for (i = 0; i < bt->nslots; i++) {
		free(bt->slots[i].out.buf);
		free(bt->slots[i].d);
	}
	free(bt->slots);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < bt->bufs[k].cap; i++) {
			free(bt->bufs[k].v[i].out.buf);
			free(bt->bufs[k].v[i].d);
		}
		free(bt->bufs[k].v);
		free(bt->bufs[k].tx);
		free(bt->bufs[k].name);
	}
	free(bt->prompt);
	free(bt);
}
