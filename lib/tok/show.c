/* show.c: display pieces of an encoding, and writing them with colours,
 * separators and visible whitespace, for tok-show. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

const char *const te_show_palette[6] = {
	"102;194;165", "252;141;98", "141;160;203",
	"231;138;195", "166;216;84", "255;217;47",
};

/* Length of the valid UTF-8 character at s (at most n bytes), or 0 when
 * the bytes there are not one (overlong, surrogate, beyond U+10FFFF,
 * truncated). */
static size_t
utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;
		if (c == 0xED && s[1] >= 0xA0)
			return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

size_t
te_show_chars(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, c = 0;

	while (i < n) {
		k = utf8_char(u + i, n - i);
		i += k ? k : 1;
		c++;
	}
	return c;
}

void
te_show_release(te_show *s)
{
	if (!s)
		return;
	free(s->p);
	free(s->arena);
	memset(s, 0, sizeof *s);
}

static int
oom(te_diag *d)
{
	return te_diag_set(d, "", 0, "out of memory");
}

static te_show_piece *
push(te_show *s, int kind, int32_t id, te_diag *d)
{
	te_show_piece *p;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		p = realloc(s->p, cap * sizeof *p);
		if (!p) {
			oom(d);
			return NULL;
		}
		s->p = p;
		s->cap = cap;
	}
	p = &s->p[s->n++];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->id = id;
	return p;
}

/* Room for n more bytes in the arena; returns where they go. */
static char *
arena_reserve(te_show *s, size_t n, te_diag *d)
{
	if (s->acap - s->alen < n) {
		size_t cap = s->acap ? s->acap : 4096;
		char *a;

		while (cap - s->alen < n) {
			if (cap > SIZE_MAX / 2) {
				oom(d);
				return NULL;
			}
			cap *= 2;
		}
		a = realloc(s->arena, cap);
		if (!a) {
			oom(d);
			return NULL;
		}
		s->arena = a;
		s->acap = cap;
	}
	return s->arena + s->alen;
}

/* Point p at bytes copied into the arena (fixed up at the end, because the
 * arena moves as it grows). */
static int
arena_piece(te_show *s, te_show_piece *p, const char *b, size_t n, te_diag *d)
{
	char *a = arena_reserve(s, n, d);

	if (!a)
		return -1;
	if (n)
		memcpy(a, b, n);
	p->aoff_ = s->alen + 1;
	p->len = n;
	s->alen += n;
	return 0;
}

/* The raw bytes of a token (te_tok_piece_bytes) into the arena; falls back
 * on the vocabulary string for an id that has no bytes. */
static int
arena_token_bytes(const te_tok *t, te_show *s, te_show_piece *p, te_diag *d)
{
	char small[64];
	long n = te_tok_piece_bytes(t, p->id, small, sizeof small);
	const char *v;
	size_t vl = 0;
	char *a;

	if (n < 0) {
		v = te_tok_piece(t, p->id, &vl);
		return arena_piece(s, p, v ? v : "", v ? vl : 0, d);
	}
	if ((size_t)n <= sizeof small)
		return arena_piece(s, p, small, (size_t)n, d);
	a = arena_reserve(s, (size_t)n, d);
	if (!a)
		return -1;
	te_tok_piece_bytes(t, p->id, a, (size_t)n);
	p->aoff_ = s->alen + 1;
	p->len = (size_t)n;
	s->alen += (size_t)n;
	return 0;
}

static int
vocab_piece(const te_tok *t, te_show *s, te_show_piece *p, te_diag *d)
{
	size_t vl = 0;
	const char *v = te_tok_piece(t, p->id, &vl);

	if (!v)
		return arena_token_bytes(t, s, p, d);
	p->s = v;
	p->len = vl;
	return 0;
}

/* A byte-fallback token: the vocabulary string is exactly <0xHH>. */
static int
is_byte_piece(const te_tok *t, int32_t id)
{
	size_t n = 0;
	const char *v = te_tok_piece(t, id, &n);

	int byte;

	return v && tk_is_byte_piece(v, n, &byte);
}

static int
gap(te_show *s, const char *text, size_t from, size_t to, te_diag *d)
{
	te_show_piece *p;

	if (to <= from)
		return 0;
	p = push(s, TE_SHOW_GAP, -1, d);
	if (!p)
		return -1;
	p->s = text + from;
	p->len = to - from;
	return 0;
}

void
te_show_begin(te_show *s, const te_tok *t, const char *text, size_t len,
              const te_tok_enc *e, unsigned flags)
{
	size_t i;

	s->n = 0;
	s->alen = 0;
	s->ntok = s->nunk = 0;
	s->t_ = t;
	s->text_ = text;
	s->len_ = len;
	s->e_ = e;
	s->flags_ = flags;
	s->next_ = s->cur_ = s->last_span_ = 0;
	s->have_spans_ = s->tail_done_ = 0;
	s->ci_ = 0;
	s->prev_tok_ = 0;
	if (e->start && e->end) {
		for (i = 0; i < e->n; i++) {
			if (e->start[i] < e->end[i] && e->end[i] <= len) {
				s->have_spans_ = 1;
				s->last_span_ = i;
			}
		}
	}
}

int
te_show_next(te_show *out, size_t max, te_diag *d)
{
	const te_tok *t = out->t_;
	const te_tok_enc *e = out->e_;
	const char *text = out->text_;
	size_t len = out->len_, i, cur = out->cur_, stop;
	int have_spans = out->have_spans_;
	int unk = te_tok_unk_id(t);
	int byte_level = te_tok_byte_level(t);
	int fallback = te_tok_byte_fallback(t);
	unsigned flags = out->flags_;

	out->n = 0;
	out->alen = 0;
	if (out->next_ >= e->n && (out->tail_done_ || !have_spans))
		return 0;
	stop = e->n - out->next_ > max ? out->next_ + max : e->n;
	for (i = out->next_; i < stop; i++) {
		int32_t id = e->ids[i];
		int span = have_spans && e->start[i] < e->end[i] && e->end[i] <= len;
		size_t st = span ? e->start[i] : 0, en = span ? e->end[i] : 0;
		te_show_piece *p;

		if (id < 0 || (size_t)id >= te_tok_vocab_size(t))
			return te_diag_set(d, "", 0, "token id %ld is not in the vocabulary (%zu ids)",
			                   (long)id, te_tok_vocab_size(t));
		/* Text no token covers shows where it is: before this token,
		 * or, for tokens added after the last one with a span (the
		 * final [SEP], </s>), before those. */
		if (span && st > cur) {
			if (gap(out, text, cur, st, d) < 0)
				return -1;
		} else if (have_spans && !out->tail_done_ && i > out->last_span_) {
			if (gap(out, text, cur, len, d) < 0)
				return -1;
			out->tail_done_ = 1;
		}
		if (unk >= 0 && id == unk) {
			p = push(out, TE_SHOW_UNK, id, d);
			if (!p)
				return -1;
			if (span && !(flags & TE_SHOW_VOCAB)) {
				p->s = text + st;
				p->len = en - st;
			} else if (vocab_piece(t, out, p, d) < 0) {
				return -1;
			}
			out->nunk++;
		} else if (te_tok_is_special(t, id)) {
			p = push(out, TE_SHOW_SPECIAL, id, d);
			if (!p || vocab_piece(t, out, p, d) < 0)
				return -1;
		} else if (flags & TE_SHOW_VOCAB) {
			p = push(out, TE_SHOW_TEXT, id, d);
			if (!p || vocab_piece(t, out, p, d) < 0)
				return -1;
		} else if (fallback && is_byte_piece(t, id)) {
			p = push(out, TE_SHOW_BYTE, id, d);
			if (!p || arena_token_bytes(t, out, p, d) < 0)
				return -1;
		} else if (byte_level || !span || st < cur ||
		           (i + 1 < e->n && e->start[i + 1] < en &&
		            e->start[i + 1] < e->end[i + 1])) {
			/* Byte-level tokens may split a character (and then
			 * share its span).  Tokens that share a span (a bare
			 * SentencePiece "▁" before the piece it stands with)
			 * show what they stand for. */
			p = push(out, TE_SHOW_TEXT, id, d);
			if (!p || arena_token_bytes(t, out, p, d) < 0)
				return -1;
		} else {
			p = push(out, TE_SHOW_TEXT, id, d);
			if (!p)
				return -1;
			p->s = text + st;
			p->len = en - st;
		}
		out->ntok++;
		if (span && en > cur)
			cur = en;
	}
	out->next_ = stop;
	if (stop == e->n && have_spans && !out->tail_done_) {
		if (gap(out, text, cur, len, d) < 0)
			return -1;
		out->tail_done_ = 1;
	}
	out->cur_ = cur;
	for (i = 0; i < out->n; i++)
		if (out->p[i].aoff_)
			out->p[i].s = out->arena + out->p[i].aoff_ - 1;
	return 1;
}

int
te_show_build(const te_tok *t, const char *text, size_t len,
              const te_tok_enc *e, unsigned flags, te_show *out, te_diag *d)
{
	te_show_begin(out, t, text, len, e, flags);
	return te_show_next(out, SIZE_MAX, d) < 0 ? -1 : 0;
}

size_t
te_show_count_unk(const te_tok *t, const te_tok_enc *e)
{
	int unk = te_tok_unk_id(t);
	size_t i, n = 0;

	if (unk < 0)
		return 0;
	for (i = 0; i < e->n; i++)
		n += e->ids[i] == unk;
	return n;
}

size_t
te_show_vocab_size(const te_tok *t)
{
	size_t n = te_tok_vocab_size(t), len;

	/* The largest id in use + 1, whatever the tokenizer reserved. */
	while (n > 0 && !te_tok_piece(t, (int32_t)(n - 1), &len))
		n--;
	return n;
}

/* ------------------------------------------------------------- writing */

struct out {
	FILE *fp;
	const te_show_opts *o;
	const char *style;  /* SGR parameters wanted for visible bytes, or NULL */
	int on;             /* style currently set on the terminal */
	int err;
};

/* Bytes as HTML text: & < > " as entities. */
static void
put_html(struct out *w, const char *s, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		const char *ent = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" :
		                  s[i] == '>' ? "&gt;" : s[i] == '"' ? "&quot;" : NULL;

		if (!ent)
			continue;
		if ((i > from && fwrite(s + from, 1, i - from, w->fp) != i - from) ||
		    fputs(ent, w->fp) == EOF)
			w->err = 1;
		from = i + 1;
	}
	if (n > from && fwrite(s + from, 1, n - from, w->fp) != n - from)
		w->err = 1;
}

static void
put(struct out *w, const char *s, size_t n)
{
	if (w->style && !w->on) {
		if (fprintf(w->fp, w->o->html ? "<span %s>" : "\033[%sm", w->style) < 0)
			w->err = 1;
		w->on = 1;
	}
	if (w->o->html)
		put_html(w, s, n);
	else if (n && fwrite(s, 1, n, w->fp) != n)
		w->err = 1;
}

static void
puts_(struct out *w, const char *s)
{
	put(w, s, strlen(s));
}

static void
style_off(struct out *w)
{
	if (w->on && fputs(w->o->html ? "</span>" : "\033[0m", w->fp) == EOF)
		w->err = 1;
	w->on = 0;
}

/* A newline ends the style first: a coloured newline paints the rest of
 * the line (and a scrolled-in line) on many terminals. */
static void
newline(struct out *w)
{
	style_off(w);
	if (putc('\n', w->fp) == EOF)
		w->err = 1;
}

static void
put_byte(struct out *w, unsigned char c)
{
	char b[8];

	snprintf(b, sizeof b, "<0x%02X>", c);
	puts_(w, b);
}

/* Three-byte characters a terminal must not be handed raw (bidi controls,
 * which reorder what follows: LRM RLM, LRE..RLO, LRI..PDI), and with
 * --show-space also those that show nothing (zero-width space, BOM). */
static int
invisible(const unsigned char *u, int sp)
{
	unsigned cp = (u[0] & 0x0Fu) << 12 | (u[1] & 0x3Fu) << 6 | (u[2] & 0x3Fu);

	if (cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return 1;
	return sp && (cp == 0x200B || cp == 0xFEFF);
}

/* Text, with whitespace made visible and control characters pictured as
 * asked; bytes that are not valid UTF-8 as <0xHH>. */
static void
put_text(struct out *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	int sp = w->o->show_space, ctl = sp || w->o->escape_ctl;
	size_t i = 0, k;

	while (i < n) {
		unsigned c = u[i];

		k = utf8_char(u + i, n - i);
		if (k == 0) {
			put_byte(w, u[i]);
			i++;
			continue;
		}
		if (c == ' ' && sp) {
			puts_(w, "\xC2\xB7");               /* · */
		} else if (c == '\t' && sp) {
			puts_(w, "\xE2\x86\x92");           /* → */
		} else if (c == '\n') {
			if (sp)
				puts_(w, "\xE2\x86\xB5");   /* ↵ */
			newline(w);
		} else if ((c < 0x20 && c != '\t') || c == 0x7F) {
			if (ctl) {
				char pic[4] = { (char)0xE2, (char)0x90,
				                (char)(c == 0x7F ? 0xA1 : 0x80 + c), 0 };
				puts_(w, pic);              /* ␀ … ␟, ␡ */
			} else {
				put(w, s + i, 1);
			}
		} else if (k == 2 && c == 0xC2 && u[i + 1] == 0xA0 && sp) {
			puts_(w, "\xE2\x8D\xBD");           /* ⍽ */
		} else if (k == 2 && c == 0xC2 && u[i + 1] < 0xA0 && ctl) {
			char b[12];
			snprintf(b, sizeof b, "<U+%04X>", u[i + 1]);
			puts_(w, b);                        /* C1 control */
		} else if (k == 3 && (ctl || sp) && invisible(u + i, sp)) {
			char b[12];
			unsigned cp = (c & 0x0Fu) << 12 | (u[i + 1] & 0x3Fu) << 6 |
			              (u[i + 2] & 0x3Fu);
			snprintf(b, sizeof b, "<U+%04X>", cp);
			puts_(w, b);
		} else {
			put(w, s + i, k);
		}
		i += k;
	}
}

int
te_show_write_chunk(FILE *fp, te_show *s, const te_show_opts *o)
{
	struct out w = { fp, o, NULL, 0, 0 };
	char style[96];
	size_t i;

	for (i = 0; i < s->n; i++) {
		const te_show_piece *p = &s->p[i];

		if (p->kind == TE_SHOW_GAP) {
			w.style = NULL;
			put_text(&w, p->s, p->len);
			s->prev_tok_ = 0;
			continue;
		}
		if (o->html) {
			unsigned r, g, b;

			sscanf(te_show_palette[s->ci_++ % 6], "%u;%u;%u", &r, &g, &b);
			snprintf(style, sizeof style,
			         "class=\"%s\" style=\"background:#%02x%02x%02x\" title=\"%ld\"",
			         p->kind == TE_SHOW_SPECIAL ? "t s" : "t", r, g, b, (long)p->id);
			w.style = style;
		} else if (o->color) {
			snprintf(style, sizeof style, "0;%s30;48;2;%s",
			         p->kind == TE_SHOW_SPECIAL ? "1;" : "",
			         te_show_palette[s->ci_++ % 6]);
			w.style = style;
		} else {
			w.style = NULL;
			if (s->prev_tok_ && o->sep)
				puts_(&w, o->sep);
		}
		switch (p->kind) {
		case TE_SHOW_SPECIAL:
			puts_(&w, "\xE2\x9F\xA6");                  /* ⟦ */
			put_text(&w, p->s, p->len);
			puts_(&w, "\xE2\x9F\xA7");                  /* ⟧ */
			break;
		case TE_SHOW_UNK:
			puts_(&w, "\xE2\x81\x87");                  /* ⁇ */
			put_text(&w, p->s, p->len);
			break;
		case TE_SHOW_BYTE: {
			size_t j;
			for (j = 0; j < p->len; j++)
				put_byte(&w, (unsigned char)p->s[j]);
			break;
		}
		default:
			put_text(&w, p->s, p->len);
		}
		if (o->ids) {
			char b[32];
			snprintf(b, sizeof b, "\xE2\x80\xB9%ld\xE2\x80\xBA", (long)p->id);
			puts_(&w, b);                               /* ‹id› */
		}
		style_off(&w);
		/* A newline byte token keeps the layout of the text. */
		if (p->kind == TE_SHOW_BYTE && p->len && p->s[p->len - 1] == '\n')
			newline(&w);
		s->prev_tok_ = 1;
	}
	return w.err ? -1 : 0;
}

int
te_show_write_end(FILE *fp, te_show *s, const te_show_opts *o)
{
	s->ci_ = 0;
	s->prev_tok_ = 0;
	return putc(o->nul ? '\0' : '\n', fp) == EOF ? -1 : 0;
}

int
te_show_write(FILE *fp, te_show *s, const te_show_opts *o)
{
	int rc = te_show_write_chunk(fp, s, o);

	return te_show_write_end(fp, s, o) < 0 ? -1 : rc;
}

/* ---------------------------------------------------------------- html */

int
te_show_html_begin(FILE *fp)
{
	return fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	             "<title>tok-show</title>\n<style>\n"
	             "body { font-family: sans-serif; margin: 1em; }\n"
	             "pre { font-family: monospace; white-space: pre-wrap; margin: 0; }\n"
	             ".t { color: #000; }\n.s { font-weight: bold; }\n"
	             "table { border-collapse: collapse; }\n"
	             "th, td { border: 1px solid #ccc; padding: 0.3em; vertical-align: top; "
	             "text-align: left; }\n"
	             "</style>\n</head>\n<body>\n", fp) == EOF ? -1 : 0;
}

int
te_show_html_title(FILE *fp, const char *title)
{
	struct out w = { fp, &(te_show_opts){ .html = 1 }, NULL, 0, 0 };

	fputs("<h2>", fp);
	put_html(&w, title, strlen(title));
	return fputs("</h2>\n", fp) == EOF || w.err ? -1 : 0;
}

int
te_show_html_doc(FILE *fp, const char *model, size_t ntok, size_t i, size_t n)
{
	struct out w = { fp, &(te_show_opts){ .html = 1 }, NULL, 0, 0 };

	if (n < 2)
		return fputs("<pre>", fp) == EOF ? -1 : 0;
	if (i == 0)
		fputs("<table>\n<tr><th>model</th><th>tokens</th><th>text</th></tr>\n", fp);
	fputs("<tr><th class=\"model\">", fp);
	put_html(&w, model, strlen(model));
	return fprintf(fp, "</th><td class=\"ntok\">%zu</td><td><pre>", ntok) < 0 || w.err ?
	       -1 : 0;
}

int
te_show_html_doc_end(FILE *fp, size_t i, size_t n)
{
	if (n < 2)
		return fputs("</pre>\n", fp) == EOF ? -1 : 0;
	fputs("</pre></td></tr>\n", fp);
	return i + 1 == n && fputs("</table>\n", fp) == EOF ? -1 : 0;
}

int
te_show_html_end(FILE *fp)
{
	return fputs("</body>\n</html>\n", fp) == EOF ? -1 : 0;
}
