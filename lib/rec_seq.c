/* rec_seq.c: sequence datasets (Cornell playlists, user-item-time event logs) to one sequence per line. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rec_int.h"

int
te_rec_cornell(te_reader *in, FILE *out, te_diag *d)
{
	char *s;
	size_t len;
	int rc;

	while ((rc = te_reader_next(in, &s, &len, d)) == 1) {
		size_t pos = 0, tlen;
		const char *tok;
		int first = 1;

		/* line 1: the songs' source ids; line 2: their counts */
		if (te_reader_lineno(in) <= 2)
			continue;
		while (rec_token(s, len, &pos, &tok, &tlen)) {
			if (!first)
				putc(' ', out);
			fwrite(tok, 1, tlen, out);
			first = 0;
		}
		if (putc('\n', out) == EOF)
			return te_diag_set(d, NULL, 0, "write error: %s", strerror(errno));
	}
	return rc;
}

struct ev {
	uint32_t user, item;   /* ids in the tables */
	double t;
	size_t toff;           /* the time as text, in times */
	size_t seq;            /* file order */
};

struct te_rec_events {
	int ucol, icol, tcol, rcol;
	double min_rating;
	ut_strmap users, items;
	ut_buf times;
	struct ev *ev;
	size_t n, cap;
	int all_numeric;
};

te_rec_events *
te_rec_events_new(int user_col, int item_col, int time_col, int rating_col,
                  double min_rating)
{
	te_rec_events *e = calloc(1, sizeof *e);

	if (!e)
		return NULL;
	e->ucol = user_col;
	e->icol = item_col;
	e->tcol = time_col;
	e->rcol = rating_col;
	e->min_rating = min_rating;
	e->all_numeric = 1;
	return e;
}

void
te_rec_events_free(te_rec_events *e)
{
	if (!e)
		return;
	ut_strmap_release(&e->users);
	ut_strmap_release(&e->items);
	free(e->times.s);
	free(e->ev);
	free(e);
}

static void
warn_at(te_warn_fn warn, void *arg, const char *file, long line, const char *fmt,
        long a)
{
	te_diag w = {0};

	if (!warn)
		return;
	te_diag_set(&w, file, line, fmt, a);
	warn(&w, arg);
}

/* Parse a whole field as a number; 0 when it is one. */
static int
num(const char *s, size_t len, double *out)
{
	char buf[64];

	rec_trim(&s, &len);
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return te_parse_double(buf, out);
}

int
te_rec_events_read(te_rec_events *e, te_reader *in, int sep, te_warn_fn warn, void *arg,
                   te_diag *d)
{
	rec_fields f = {0};
	long line = 0;
	int rc;
	const char *name = te_reader_name(in);

	te_reader_strip_cr(in, 1);
	while ((rc = rec_csv_next(in, sep, &f, &line, d)) == 1) {
		int need = e->ucol > e->icol ? e->ucol : e->icol;
		int tcol = e->tcol < 0 ? (int)f.n - 1 : e->tcol;
		const char *u, *it, *t;
		size_t ul, il, tl;
		long ui, ii;
		struct ev *x;
		double tv, rating;

		if (line == 1)
			continue;        /* the header */
		if (f.n == 1 && f.field[0].len == 0)
			continue;        /* an empty line */
		if (tcol > need)
			need = tcol;
		if (e->rcol > need)
			need = e->rcol;
		if ((int)f.n <= need || tcol == e->ucol || tcol == e->icol) {
			warn_at(warn, arg, name, line, "%ld fields, too few for the columns asked",
			        (long)f.n);
			continue;
		}
		if (e->rcol >= 0) {
			if (num(rec_field(&f, (size_t)e->rcol), f.field[e->rcol].len, &rating) < 0) {
				warn_at(warn, arg, name, line, "rating in column %ld is not a number",
				        e->rcol + 1);
				continue;
			}
			if (rating < e->min_rating)
				continue;
		}
		u = rec_field(&f, (size_t)e->ucol);
		ul = f.field[e->ucol].len;
		it = rec_field(&f, (size_t)e->icol);
		il = f.field[e->icol].len;
		t = rec_field(&f, (size_t)tcol);
		tl = f.field[tcol].len;
		rec_trim(&u, &ul);
		rec_trim(&it, &il);
		rec_trim(&t, &tl);
		if (ul == 0 || il == 0) {
			warn_at(warn, arg, name, line, "empty user or item id", 0);
			continue;
		}
		/* an item id holding a blank would split in two in the output */
		for (size_t i = 0; i < il; i++)
			if (it[i] == ' ' || it[i] == '\t' || it[i] == '\n' || it[i] == '\0') {
				il = 0;
				break;
			}
		if (il == 0) {
			warn_at(warn, arg, name, line, "item id in column %ld holds a blank",
			        e->icol + 1);
			continue;
		}
		if (e->n == e->cap) {
			size_t nc = e->cap ? e->cap * 2 : 4096;
			struct ev *ne = realloc(e->ev, nc * sizeof *ne);

			if (!ne)
				goto oom;
			e->ev = ne;
			e->cap = nc;
		}
		ui = ut_strmap_intern(&e->users, u, ul);
		ii = ut_strmap_intern(&e->items, it, il);
		if (ui < 0 || ii < 0)
			goto oom;
		x = &e->ev[e->n];
		x->user = (uint32_t)ui;
		x->item = (uint32_t)ii;
		x->seq = e->n;
		x->toff = e->times.n;
		if (ut_buf_put(&e->times, t, tl) < 0 || ut_buf_put(&e->times, "", 1) < 0)
			goto oom;
		if (num(t, tl, &tv) < 0) {
			e->all_numeric = 0;
			tv = 0;
		}
		x->t = tv;
		e->n++;
	}
	rec_fields_release(&f);
	return rc;
oom:
	rec_fields_release(&f);
	return te_diag_set(d, name, line, "out of memory");
}

static int
cmp_ev(const void *a, const void *b, void *arg)
{
	const struct ev *x = a, *y = b;
	const te_rec_events *sort_e = arg;
	int c;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	if (sort_e->all_numeric) {
		if (x->t != y->t)
			return x->t < y->t ? -1 : 1;
	} else {
		c = strcmp(sort_e->times.s + x->toff, sort_e->times.s + y->toff);
		if (c)
			return c;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
te_rec_events_write(te_rec_events *e, FILE *out, te_diag *d)
{
	/* users are numbered in order of first appearance, so sorting by
	 * (user, time, file order) gives each user's sequence in turn */
	if (e->n)
		qsort_r(e->ev, e->n, sizeof *e->ev, cmp_ev, e);
	for (size_t i = 0; i < e->n; i++) {
		int last = i + 1 == e->n || e->ev[i + 1].user != e->ev[i].user;
		size_t kl;

		fputs(ut_strmap_key(&e->items, e->ev[i].item, &kl), out);
		if (putc(last ? '\n' : ' ', out) == EOF)
			return te_diag_set(d, NULL, 0, "write error: %s", strerror(errno));
	}
	return 0;
}
