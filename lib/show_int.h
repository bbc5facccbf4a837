/* show_int.h: how tok-show turns an encoding into what is displayed.
 * Private to tok-show and its tests (the lead may move it into tokemb.h).
 *
 * An encoding becomes a list of display pieces: one per token, plus "gaps"
 * for input bytes that no token covers (whitespace dropped by a WordPiece or
 * Whitespace pre-tokenizer), so that the display always reads as the text.
 * A token shows the bytes of the input it covers (its span) where spans
 * exist and do not overlap; otherwise the bytes it stands for
 * (te_tok_piece_bytes), as for byte-level BPE and byte-fallback tokens,
 * which may cover part of a UTF-8 character. */
#ifndef TOKEMB_SHOW_INT_H
#define TOKEMB_SHOW_INT_H

#include "tokemb.h"

enum te_show_kind {
	TE_SHOW_TEXT,     /* an ordinary token: its bytes */
	TE_SHOW_BYTE,     /* a byte-fallback token (<0xE9>): one raw byte */
	TE_SHOW_SPECIAL,  /* a special token: its vocabulary string */
	TE_SHOW_UNK,      /* the unknown token: the text it replaced */
	TE_SHOW_GAP       /* input bytes no token covers (id -1) */
};

typedef struct te_show_piece {
	int kind;
	int32_t id;
	const char *s;   /* into the input text or the te_show arena */
	size_t len;
	size_t aoff_;    /* internal: offset in the arena + 1, or 0 */
} te_show_piece;

/* Pieces of one document.  Zero-initialise, reuse, release. */
typedef struct te_show {
	te_show_piece *p;
	size_t n, cap;
	char *arena;
	size_t alen, acap;
	size_t ntok, nunk;  /* tokens (gaps excluded), unknown tokens, so far */
	/* internal: the document being shown, and the writer's place */
	const te_tok *t_;
	const char *text_;
	size_t len_;
	const te_tok_enc *e_;
	unsigned flags_;
	size_t next_, cur_, last_span_, ci_;
	int have_spans_, tail_done_, prev_tok_;
} te_show;

/* Build flags. */
enum { TE_SHOW_VOCAB = 1 };  /* show vocabulary strings, not the text */

/* Turn the encoding e of text[0, len) by t into display pieces (out is
 * cleared first).  Pieces point into text and into out; text must outlive
 * them.  Returns 0, or -1 with d filled (out of memory). */
int te_show_build(const te_tok *t, const char *text, size_t len,
                  const te_tok_enc *e, unsigned flags, te_show *out,
                  te_diag *d);
/* The same in pieces, so that memory stays small for a large document:
 * te_show_begin, then te_show_next builds the pieces of up to max more
 * tokens (and the gaps among them) in place of the previous ones; returns
 * 1, 0 when the document is done, -1 with d filled.  t, text and e must
 * stay until then. */
void te_show_begin(te_show *s, const te_tok *t, const char *text, size_t len,
                   const te_tok_enc *e, unsigned flags);
int te_show_next(te_show *s, size_t max, te_diag *d);
/* Unknown tokens in an encoding. */
size_t te_show_count_unk(const te_tok *t, const te_tok_enc *e);
void te_show_release(te_show *s);

/* How pieces are written. */
typedef struct te_show_opts {
	int color;          /* 24-bit ANSI background per token, cycling */
	int show_space;     /* space, tab, newline, CR, NBSP as glyphs */
	int escape_ctl;     /* control characters as control pictures */
	int ids;            /* each token's id after it, as ‹id› */
	const char *sep;    /* between abutting tokens, without colour */
} te_show_opts;

/* The classic six-colour palette (Set2), as "R;G;B". */
extern const char *const te_show_palette[6];

/* Write the pieces of one document, then a newline.  Without colour,
 * tokens that touch are separated by o->sep; a gap stands between the
 * tokens around it instead.  Markers: special tokens ⟦[CLS]⟧, unknown
 * tokens ⁇ before the text they replaced, byte tokens and bytes that are
 * not valid UTF-8 <0xE9> (a <0x0A> byte token is followed by a line
 * break), ids ‹464›.  Returns 0, or -1 on a write error. */
int te_show_write(FILE *fp, te_show *s, const te_show_opts *o);
/* The same for pieces built by te_show_next: each chunk continues the
 * colours and separators of the one before; the end writes the newline. */
int te_show_write_chunk(FILE *fp, te_show *s, const te_show_opts *o);
int te_show_write_end(FILE *fp, te_show *s, const te_show_opts *o);

/* The vocabulary size shown: the largest id that has a piece, + 1. */
size_t te_show_vocab_size(const te_tok *t);

/* The number of characters (UTF-8 code points; an invalid byte counts
 * as one) in [s, s+n). */
size_t te_show_chars(const char *s, size_t n);

#endif
