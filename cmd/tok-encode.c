/* tok-encode: turn text into token ids. See tok-encode(1). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_line[] =
	"tok-encode -m MODEL [-z] [--no-special] [--tokens | --offsets | --count-docs] [--total]\n"
	"                  [--max-tokens N | --truncate-as-model] [--pad-as-model]\n"
	"                  [--special-as-text | --allow-special] [--threads N]\n"
	"                  [--prompt NAME | --no-prompt] [FILE...]\n"
	"       tok-encode -m MODEL --count [FILE...]\n"
	"       tok-encode -m MODEL [-z] --chunk N [--overlap K] [--ids] [FILE...]";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\n"
		      "  -m, --model MODEL     tokenizer.json, a directory, a .tiktoken or .model file, or a name\n"
		      "      --no-special      do not add the model's special tokens ([CLS] ... [SEP], <s>)\n"
		      "      --tokens          print the token strings instead of ids\n"
		      "      --offsets         print the byte span start:end of each token in the input\n"
		      "      --count           the tokens of each whole file, newlines included: \"N FILE\"\n"
		      "      --count-docs      the number of tokens of each document (-c, deprecated)\n"
		      "      --total           one grand total of the documents' tokens\n"
		      "      --chunk N         each document's chunks of at most N tokens, as text,\n"
		      "                        one a record, an empty record after the last\n"
		      "      --overlap K       chunks repeat the last K tokens of the one before\n"
		      "      --ids             chunks as ids, not text\n"
		      "      --max-tokens N    truncate each document to N tokens, as the model truncates\n"
		      "      --truncate-as-model  apply the tokenizer.json's truncation, as HF's encode\n"
		      "      --pad-as-model    apply the tokenizer.json's padding, as HF's encode\n"
		      "      --prompt NAME     put the model's prompt NAME (config_sentence_transformers.json)\n"
		      "                        before each document; without it, its default_prompt_name's\n"
		      "      --no-prompt       no prompt, not even the default one\n"
		      "      --special-as-text special-token text in the input is plain text\n"
		      "      --allow-special   special-token text in the input is the special token\n"
		      "  -z, --null            documents end with NUL, not newline (output too)\n"
		      "      --threads N       encode with N threads (0, the default: one per CPU)\n"
		      "      --no-cache        neither use nor make the compiled tokenizer cache\n"
		      "  -h, --help            this help\n"
		      "      --version         version and build\n", fp);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

static struct {
	const te_tok *tok;
	unsigned flags;
	long max_tokens;
	te_tok_limits lim;      /* --truncate-as-model, --pad-as-model */
	int limits;
	int total;
	int delim;
	te_tok_fmt fmt;
	char *prompt;           /* put before each document, or NULL */
	size_t prompt_len;
} cfg;

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
} doc;

static void
encode_doc(doc *x, const char *text, te_tok_enc *e)
{
	te_diag d = {0};

	x->out.n = 0;
	x->invalid = !te_tok_byte_level(cfg.tok) && !te_utf8_valid(text, x->len);
	if (te_tok_encode_trunc(cfg.tok, text, x->len, cfg.flags, cfg.max_tokens, e, &d)) {
		if ((x->d = malloc(sizeof *x->d)))
			*x->d = d;
		return;
	}
	if (cfg.limits && te_tok_limits_apply(cfg.tok, &cfg.lim, cfg.flags, e)) {
		if ((x->d = malloc(sizeof *x->d)))
			te_diag_set(x->d, "", 0, "out of memory");
		return;
	}
	x->ntok = e->n;
	if (!cfg.total && te_tok_format(cfg.tok, &cfg.fmt, text, x->len, e, &x->out) &&
	    (x->d = malloc(sizeof *x->d)))
		te_diag_set(x->d, "", 0, "out of memory");
}

/* The tokenizer.json's truncation and padding: applied where asked
 * (trunc, pad), otherwise said once that they are not (tok-encode(1),
 * TRUNCATION AND PADDING). */
static void
set_limits(const char *model, int trunc, int pad)
{
	te_tok_limits l;
	int tn, pn;

	te_tok_limits_get(cfg.tok, &l);
	tn = l.max_length >= 0 && !trunc && cfg.max_tokens < 0;
	pn = l.pad && !pad;
	if (tn || pn)
		warnx_("%s: the tokenizer.json's %s, which Hugging Face tokenizers applies on "
		       "encode, %s not applied (--truncate-as-model, --pad-as-model)", model,
		       tn && pn ? "truncation and padding" : tn ? "truncation" : "padding",
		       tn && pn ? "are" : "is");
	if (!trunc)
		l.max_length = -1;
	if (!pad)
		l.pad = 0;
	cfg.lim = l;
	cfg.limits = l.max_length >= 0 || l.pad;
}

/* --------------------------------------------------------- batches */

typedef struct batch {
	doc *v;
	size_t n, cap;
	char *tx;               /* the documents' text, each NUL-terminated */
	size_t txn, txcap;
	char *name;             /* the file its documents came from */
} batch;

static te_tok_pool *pool;      /* --threads N: the caller and N - 1 helpers */
static unsigned long long grand_total;
static int status;

/* A job of the pool: encode document i of the batch arg. */
static void
encode_job(void *arg, size_t i, te_tok_enc *e)
{
	batch *b = arg;

	encode_doc(&b->v[i], b->tx + b->v[i].off, e);
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

/* Write b's output and warnings, in order, and empty it. */
static void
batch_write(batch *b)
{
	size_t i;
	int open = 0;           /* a document in parts: ids of it written */

	for (i = 0; i < b->n; i++) {
		doc *x = &b->v[i];

		if (!open)
			parts_join(x);
		if (x->invalid) {
			te_diag w;

			te_diag_set(&w, b->name, x->lineno, "invalid UTF-8 replaced by U+FFFD");
			warn_diag(&w);
		}
		if (x->d) {
			if (!x->d->file[0])
				snprintf(x->d->file, sizeof x->d->file, "%s", b->name);
			if (!x->d->line)
				x->d->line = x->lineno;
			warn_diag(x->d);
			free(x->d);
			x->d = NULL;
			status = 1;
			x->out.n = 0;
		}
		grand_total += x->ntok;
		if (!cfg.total) {
			if (x->out.n && open)
				putchar_unlocked(' ');
			if (x->out.n)	/* an empty document may have no buffer yet */
				fwrite_unlocked(x->out.buf, 1, x->out.n, stdout);
			if (!x->join)
				putchar_unlocked(cfg.delim);
		}
		open = x->join && (open || x->out.n);
	}
	b->n = 0;
	b->txn = 0;
}

/* --threads N > 1: a pipeline of two batches.  While the helpers encode
 * one (each document encoded and formatted into its own buffer, kept for
 * the next batch), this thread writes the one before and reads the next;
 * then it helps encode what is left.  So reading, splitting and writing
 * overlap the encoding; one large document is cut in parts (cut_doc). */
static batch bufs[2];
static batch *inflight;         /* handed to the helpers, not yet written */

/* Send b (full, or the end of its file) on; returns the batch to fill next. */
static batch *
submit(batch *b, const char *name)
{
	batch *prev = inflight;

	free(b->name);
	if (!(b->name = strdup(name)))
		die("out of memory");
	if ((b->n <= 1 && !te_tok_pool_started(pool)) || !te_tok_pool_helpers(pool)) {
		te_tok_pool_run(pool, b->n, encode_job, b);	/* nothing in flight */
		te_tok_pool_wait(pool);
		batch_write(b);
		return b;
	}
	if (prev)
		te_tok_pool_wait(pool);
	te_tok_pool_run(pool, b->n, encode_job, b);
	inflight = b;
	if (prev) {
		batch_write(prev);
		return prev;
	}
	return b == &bufs[0] ? &bufs[1] : &bufs[0];
}

/* Finish and write the batch in flight. */
static void
drain(void)
{
	if (inflight) {
		te_tok_pool_wait(pool);
		batch_write(inflight);
		inflight = NULL;
	}
}

/* Room for k more documents in b, the new ones zero. */
static void
doc_room(batch *b, size_t k)
{
	size_t old = b->cap;

	while (b->n + k > b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		if (!(b->v = realloc(b->v, b->cap * sizeof *b->v)))
			die("out of memory");
	}
	memset(b->v + old, 0, (b->cap - old) * sizeof *b->v);
}

/* --threads on one large document: where the model allows (te_tok_cuts),
 * b's last document is cut into parts, about four for each thread:
 * documents of their own, encoded on every thread and written joined. */
static void
cut_doc(batch *b)
{
	size_t cuts[63], n, k, len = b->v[b->n - 1].len;
	int h;

	if (cfg.fmt.form != TE_TOK_FMT_IDS || cfg.prompt_len || cfg.max_tokens >= 0 || cfg.limits ||
	    len < ((size_t)2 << 20) || !(h = te_tok_pool_helpers(pool)) ||
	    !(n = te_tok_cuts(cfg.tok, b->tx + b->v[b->n - 1].off, len, cfg.flags, cuts,
	                      h < 15 ? 4 * (size_t)h + 3 : 63)))
		return;
	doc_room(b, n);
	for (k = 0; k <= n; k++) {	/* each part keeps its own output buffer */
		doc *y = &b->v[b->n - 1 + k];

		y->off = b->v[b->n - 1].off + (k ? cuts[k - 1] : 0);
		y->len = (k < n ? cuts[k] : len) - (k ? cuts[k - 1] : 0);
		y->lineno = b->v[b->n - 1].lineno;
		y->ntok = 0, y->d = NULL, y->join = k < n;
	}
	b->n += n;
}

/* A long document (BIG bytes or more, no prompt to put before it) is
 * encoded where the reader holds it, once what was read before it is
 * written: a copy would double its memory.  It is cut in parts where the
 * model allows, as any other (cut_doc). */
#define BIG ((size_t)1 << 22)
static void
encode_in_place(batch *b, char *rec, size_t len, long lineno, const char *name)
{
	batch one;

	drain();
	doc_room(b, 1);
	one = *b;		/* b's documents and their output buffers */
	one.n = 1;
	one.tx = rec;
	one.v[0].off = 0;
	one.v[0].len = len;
	one.v[0].lineno = lineno;
	one.v[0].ntok = 0, one.v[0].d = NULL, one.v[0].join = 0;
	one.name = (char *)name;
	cut_doc(&one);
	b->v = one.v;		/* cut_doc may have grown them */
	b->cap = one.cap;
	te_tok_pool_run(pool, one.n, encode_job, &one);
	te_tok_pool_wait(pool);
	batch_write(&one);
}

static batch *
encode_file(const char *path, batch *b)
{
	te_diag d = {0};
	te_reader *r = te_reader_open(path, cfg.delim, &d);
	char *rec;
	size_t len, bytes = 0;
	int rc;

	if (!r) {
		drain();	/* the warnings in order */
		warn_diag(&d);
		status = 1;
		return b;
	}
	while ((rc = te_reader_next(r, &rec, &len, &d)) > 0) {
		doc *x;

		if (len >= BIG && !cfg.prompt_len) {
			if (b->n)
				b = submit(b, te_reader_name(r));
			encode_in_place(b, rec, len, te_reader_lineno(r), te_reader_name(r));
			bytes = 0;
			continue;
		}
		doc_room(b, 1);
		x = &b->v[b->n++];
		while (b->txn + cfg.prompt_len + len + 1 > b->txcap) {
			b->txcap = b->txcap ? 2 * b->txcap : 1u << 16;
			if (!(b->tx = realloc(b->tx, b->txcap)))
				die("out of memory");
		}
		/* the prompt and the text are one string, as sentence-transformers
		 * tokenizes them */
		if (cfg.prompt_len)
			memcpy(b->tx + b->txn, cfg.prompt, cfg.prompt_len);
		memcpy(b->tx + b->txn + cfg.prompt_len, rec, len + 1);
		x->off = b->txn;
		len += cfg.prompt_len;
		b->txn += len + 1;
		x->len = len;
		x->lineno = te_reader_lineno(r);
		x->ntok = 0, x->d = NULL, x->join = 0;
		cut_doc(b);
		bytes += len;
		/* a batch: enough work to share, small enough for the pipeline
		 * to fill and drain quickly; bounded memory */
		if (bytes >= (size_t)(1u << 20) || b->n >= 4096u) {
			b = submit(b, te_reader_name(r));
			bytes = 0;
		}
	}
	if (b->n)
		b = submit(b, te_reader_name(r));
	if (rc < 0) {
		drain();
		warn_diag(&d);
		status = 1;
	}
	te_reader_close(r);
	return b;
}

/* --count: the tokens of each file read whole, as wc prints its counts:
 * "N FILE", a total line after two files or more; standard input alone
 * has no name. */
static void
count_files(char **files, int nfiles, int named)
{
	unsigned long long *n = calloc((size_t)nfiles + 1, sizeof *n), total = 0;
	te_tok_enc e = {0};
	int w = 1, i;

	if (!n)
		die("out of memory");
	for (i = 0; i < nfiles; i++) {
		te_diag d = {0};

		if (te_tok_count_file(cfg.tok, files[i], cfg.flags, &e, &n[i], &d)) {
			warn_diag(&d);
			status = 1;
			n[i] = ~0ULL;
		} else {
			total += n[i];
		}
	}
	for (unsigned long long t = total; nfiles > 1 && t >= 10; t /= 10)
		w++;
	for (i = 0; i < nfiles; i++)
		if (n[i] != ~0ULL)
			printf(named ? "%*llu %s\n" : "%*llu\n", w, n[i], files[i]);
	if (nfiles > 1)
		printf("%*llu total\n", w, total);
	te_tok_enc_release(&e);
	free(n);
}

/* The options that exclude each other: a usage error (2). */
static void
check_options(int nout, int count, int trunc, int pad, const char *prompt, int no_prompt)
{
	if (nout > 1)
		usage_error(usage_line, "--tokens, --offsets, --count-docs and --chunk exclude "
		            "each other");
	if (count && (nout || cfg.total || cfg.max_tokens >= 0))
		usage_error(usage_line, "--count goes with none of the other outputs");
	if (cfg.fmt.form == TE_TOK_FMT_CHUNK && (cfg.total || cfg.max_tokens >= 0))
		usage_error(usage_line, "--chunk goes with neither --total nor --max-tokens");
	if (cfg.fmt.form == TE_TOK_FMT_CHUNK && cfg.fmt.overlap >= cfg.fmt.chunk)
		usage_error(usage_line, "--overlap must be less than --chunk");
	if (cfg.fmt.form != TE_TOK_FMT_CHUNK && cfg.fmt.overlap)
		usage_error(usage_line, "--overlap needs --chunk");
	if (trunc && cfg.max_tokens >= 0)
		usage_error(usage_line, "--max-tokens and --truncate-as-model exclude each other");
	if ((trunc || pad) && (count || cfg.fmt.form == TE_TOK_FMT_CHUNK))
		usage_error(usage_line, "--truncate-as-model and --pad-as-model go with neither "
		            "--count nor --chunk");
	if (prompt && no_prompt)
		usage_error(usage_line, "--prompt and --no-prompt exclude each other");
	if (prompt && (count || cfg.fmt.form == TE_TOK_FMT_CHUNK ||
	               cfg.fmt.form == TE_TOK_FMT_OFFSETS))
		usage_error(usage_line, "--prompt goes with neither --count, --chunk nor --offsets");
}

int
main(int argc, char **argv)
{
	enum { O_NOSPECIAL = 256, O_TOKENS, O_OFFSETS, O_TOTAL, O_MAX, O_AS_TEXT, O_ALLOW,
	       O_THREADS, O_VERSION, O_NOCACHE, O_COUNT, O_COUNT_DOCS, O_CHUNK, O_OVERLAP,
	       O_IDS, O_PROMPT, O_NOPROMPT, O_TRUNC_MODEL, O_PAD_MODEL };
	static const struct option longopts[] = {
		{"model", required_argument, NULL, 'm'},
		{"no-special", no_argument, NULL, O_NOSPECIAL},
		{"tokens", no_argument, NULL, O_TOKENS},
		{"offsets", no_argument, NULL, O_OFFSETS},
		{"count", no_argument, NULL, O_COUNT},
		{"count-docs", no_argument, NULL, O_COUNT_DOCS},
		{"chunk", required_argument, NULL, O_CHUNK},
		{"overlap", required_argument, NULL, O_OVERLAP},
		{"ids", no_argument, NULL, O_IDS},
		{"prompt", required_argument, NULL, O_PROMPT},
		{"no-prompt", no_argument, NULL, O_NOPROMPT},
		{"total", no_argument, NULL, O_TOTAL},
		{"max-tokens", required_argument, NULL, O_MAX},
		{"truncate-as-model", no_argument, NULL, O_TRUNC_MODEL},
		{"pad-as-model", no_argument, NULL, O_PAD_MODEL},
		{"special-as-text", no_argument, NULL, O_AS_TEXT},
		{"allow-special", no_argument, NULL, O_ALLOW},
		{"null", no_argument, NULL, 'z'},
		{"threads", required_argument, NULL, O_THREADS},
		{"no-cache", no_argument, NULL, O_NOCACHE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *prompt = NULL;
	te_diag d = {0};
	te_tok *tok;
	batch *b = &bufs[0];
	int c, i, k, nout = 0, threads = 0, count = 0, no_prompt = 0, trunc = 0, pad = 0;
	char *stdin_only[] = {"-"};

	prog_init("tok-encode");
	cfg.flags = TE_TOK_ADD_SPECIAL;
	cfg.max_tokens = -1;
	cfg.delim = cfg.fmt.delim = '\n';
	while ((c = getopt_long(argc, argv, "m:czh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case O_NOSPECIAL: cfg.flags &= ~(unsigned)TE_TOK_ADD_SPECIAL; break;
		case O_TOKENS: cfg.fmt.form = TE_TOK_FMT_TOKENS; nout++; break;
		case O_OFFSETS: cfg.fmt.form = TE_TOK_FMT_OFFSETS; nout++; break;
		case 'c':
			deprecated("-c", "--count-docs (--count counts whole files)");
			/* FALLTHROUGH */
		case O_COUNT_DOCS: cfg.fmt.form = TE_TOK_FMT_COUNT; nout++; break;
		case O_COUNT: count = 1; break;
		case O_CHUNK:
			cfg.fmt.chunk = (size_t)opt_ll(usage_line, "--chunk", optarg, 1, 1L << 40);
			cfg.fmt.form = TE_TOK_FMT_CHUNK;
			nout++;
			break;
		case O_OVERLAP:
			cfg.fmt.overlap = (size_t)opt_ll(usage_line, "--overlap", optarg, 0, 1L << 40);
			break;
		case O_IDS: cfg.fmt.chunk_ids = 1; break;
		case O_PROMPT: prompt = optarg; break;
		case O_NOPROMPT: no_prompt = 1; break;
		case O_TOTAL: cfg.total = 1; break;
		case O_MAX:
			cfg.max_tokens = (long)opt_ll(usage_line, "--max-tokens", optarg, 0, 1L << 40);
			break;
		case O_TRUNC_MODEL: trunc = 1; break;
		case O_PAD_MODEL: pad = 1; break;
		case O_AS_TEXT:
			cfg.flags = (cfg.flags | TE_TOK_SPECIAL_AS_TEXT) & ~(unsigned)TE_TOK_ALLOW_SPECIAL;
			break;
		case O_ALLOW:
			cfg.flags = (cfg.flags | TE_TOK_ALLOW_SPECIAL) & ~(unsigned)TE_TOK_SPECIAL_AS_TEXT;
			break;
		case 'z': cfg.delim = cfg.fmt.delim = '\0'; break;
		case O_THREADS:
			threads = (int)opt_ll(usage_line, "--threads", optarg, 0, 256);
			break;
		case O_NOCACHE: setenv("TOKEMB_CACHE", "0", 1); break;
		case 'h': usage(stdout, 0); break;
		case O_VERSION: print_version();
		default: usage_error(usage_line, NULL);
		}
	}
	check_options(nout, count, trunc, pad, prompt, no_prompt);
	/* chunks are the document's own text: no token is added */
	if (cfg.fmt.form == TE_TOK_FMT_CHUNK)
		cfg.flags &= ~(unsigned)TE_TOK_ADD_SPECIAL;
	if (!model && !(model = getenv("TOKEMB_TOKENIZER")))
		usage_error(usage_line, "no model: give -m MODEL");
	if (!(tok = te_tok_load(model, &d)))
		die_diag(&d);
	cfg.tok = tok;
	/* the default prompt, as encode() applies it, only where the output is
	 * the documents' encodings */
	if (!no_prompt && (prompt || !(count || cfg.fmt.form == TE_TOK_FMT_CHUNK ||
	                               cfg.fmt.form == TE_TOK_FMT_OFFSETS))) {
		if (te_prompt_load(model, prompt, &cfg.prompt, &d))
			die_diag(&d);
		cfg.prompt_len = cfg.prompt ? strlen(cfg.prompt) : 0;
	}
	if (!count && cfg.fmt.form != TE_TOK_FMT_CHUNK)
		set_limits(model, trunc, pad);
	/* keep no more than the output needs: memory on a long line (a count
	 * alone unless truncation needs the whole encoding) */
	if ((cfg.total || cfg.fmt.form == TE_TOK_FMT_COUNT) && !cfg.limits)
		cfg.flags |= TE_TOK_COUNT_ONLY;
	else if (cfg.fmt.form == TE_TOK_FMT_IDS || cfg.fmt.form == TE_TOK_FMT_TOKENS ||
	         cfg.fmt.form == TE_TOK_FMT_COUNT)
		cfg.flags |= TE_TOK_NO_OFFSETS;
	if (count) {
		if (optind >= argc)
			count_files(stdin_only, 1, 0);
		else
			count_files(argv + optind, argc - optind, 1);
		te_tok_free(tok);
		return fshut_stdout(status);
	}
	if (!(pool = te_tok_pool_new(threads)))
		die("out of memory");
	if (optind >= argc) {
		b = encode_file("-", b);
	} else {
		for (i = optind; i < argc; i++)
			b = encode_file(argv[i], b);
	}
	drain();
	te_tok_pool_free(pool);
	if (cfg.total)
		printf("%llu\n", grand_total);
	for (k = 0; k < 2; k++) {
		for (i = 0; (size_t)i < bufs[k].cap; i++)
			free(bufs[k].v[i].out.buf);
		free(bufs[k].v);
		free(bufs[k].tx);
		free(bufs[k].name);
	}
	te_tok_free(tok);
	free(cfg.prompt);
	return fshut_stdout(status);
}
