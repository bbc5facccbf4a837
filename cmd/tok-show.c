/* tok-show: show how text becomes tokens, and compare tokenizers. See tok-show(1). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char usage_line[] =
	"tok-show [-hilsz] -m MODEL [-m MODEL]... [--color[=WHEN]] [--sep STR]\n"
	"                [--summary | --html] [--vocab] [--header] [--no-special] [FILE...]";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\n"
		      "Show each document (by default each FILE, or stdin) as its tokens,\n"
		      "each on a coloured background; several -m compare tokenizers.\n"
		      "\n"
		      "  -m, --model MODEL     tokenizer file, directory or name (repeatable)\n"
		      "  -l, --lines           each line is a document\n"
		      "  -z, --null            documents end with NUL, on input and output\n"
		      "      --color[=WHEN]    auto (default), always or never\n"
		      "      --sep STR         separator between tokens without colour (default │)\n"
		      "  -s, --show-space      show space · tab → newline ↵ (and controls)\n"
		      "  -i, --ids             show each token's id as ‹id›\n"
		      "      --vocab           show vocabulary strings (Ġthe, ##s, ▁the), not the text\n"
		      "      --summary         only the comparison table, tab-separated\n"
		      "      --html            one HTML page: coloured tokens, ids on hover\n"
		      "      --header          a header line even for a single tokenizer\n"
		      "      --no-special      do not add special tokens ([CLS], <s>)\n"
		      "      --special-as-text special-token text in the input is plain text\n"
		      "      --allow-special   special-token text in the input is the special token\n"
		      "  -h, --help            this help\n"
		      "      --version         version and build\n"
		      "\n"
		      "Markers: ⟦special⟧  ⁇unknown  <0xE9> byte  ‹id›.  See tok-show(1).\n",
		      fp);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

struct model {
	te_tok *tok;
	const char *name;
	size_t tokens, unks;
};

struct show {
	struct model *m;
	size_t nm;
	unsigned enc_flags, build_flags;
	int summary, header, html;
	te_show_opts o;
	size_t chars;
	long blocks;
	const char *title;  /* "==> file <==" before the next document */
	te_tok_enc enc;
	te_show pieces;
};

static void
header_line(const struct show *S, const struct model *m, size_t ntok, size_t nunk)
{
	const te_tok *t = m->tok;

	if (S->blocks > 0)
		putchar('\n');
	if (S->o.color)
		fputs("\033[1m", stdout);
	printf("%s: %s%s, vocab %zu, %zu token%s", m->name,
	       te_tok_algorithm(t),
	       te_tok_byte_level(t) ? " byte-level" :
	       te_tok_byte_fallback(t) ? " byte-fallback" : "",
	       te_show_vocab_size(t), ntok, ntok == 1 ? "" : "s");
	if (nunk)
		printf(", %zu unknown", nunk);
	if (S->o.color)
		fputs("\033[0m", stdout);
	putchar('\n');
}

static void
note_where(te_diag *d, const char *name, long line)
{
	if (!d->file[0]) {
		snprintf(d->file, sizeof d->file, "%s", name);
		d->line = line;
	}
	warn_diag(d);
}

/* Show one document with every tokenizer.  Returns 0, or 1 after a message. */
static int
show_doc(struct show *S, const char *name, long line, const char *text, size_t len)
{
	size_t i;
	int status = 0;
	te_diag d = { 0 };

	S->chars += te_show_chars(text, len);
	if (S->title && S->html) {
		te_show_html_title(stdout, S->title);
		S->title = NULL;
	} else if (S->title && !S->summary) {
		printf("%s==> %s <==\n", S->blocks > 0 ? "\n" : "", S->title);
		S->title = NULL;
		S->blocks = 0;
	}
	for (i = 0; i < S->nm; i++) {
		struct model *m = &S->m[i];
		size_t nunk;
		int rc;

		if (te_tok_encode(m->tok, text, len, S->enc_flags, &S->enc, &d) < 0) {
			note_where(&d, name, line);
			status = 1;
			continue;
		}
		nunk = te_show_count_unk(m->tok, &S->enc);
		m->tokens += S->enc.n;
		m->unks += nunk;
		if (S->summary)
			continue;
		if (S->html)
			te_show_html_doc(stdout, m->name, S->enc.n, i, S->nm);
		else if (S->header)
			header_line(S, m, S->enc.n, nunk);
		/* In chunks, so that a huge document needs little more memory
		 * than its encoding. */
		te_show_begin(&S->pieces, m->tok, text, len, &S->enc, S->build_flags);
		while ((rc = te_show_next(&S->pieces, 65536, &d)) > 0)
			if (te_show_write_chunk(stdout, &S->pieces, &S->o) < 0)
				return 1;  /* fshut_stdout reports it */
		if (te_show_write_end(stdout, &S->pieces, &S->o) < 0 ||
		    (S->html && te_show_html_doc_end(stdout, i, S->nm) < 0))
			return 1;
		if (rc < 0) {
			note_where(&d, name, line);
			status = 1;
		}
		S->blocks++;
	}
	return status;
}

/* The whole of a file as one document. */
static int
show_file(struct show *S, const char *path)
{
	FILE *fp = stdin;
	const char *name = "-";
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int status;

	if (path && strcmp(path, "-") != 0) {
		name = path;
		fp = fopen(path, "rb");
		if (!fp) {
			warnx_("%s: %s", path, strerror(errno));
			return 1;
		}
	}
	for (;;) {
		if (cap - len < 65536) {
			char *nb;
			cap = cap ? 2 * cap : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				warnx_("%s: out of memory", name);
				free(buf);
				if (fp != stdin)
					fclose(fp);
				return 1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		warnx_("%s: %s", name, strerror(errno));
		free(buf);
		if (fp != stdin)
			fclose(fp);
		return 1;
	}
	if (fp != stdin)
		fclose(fp);
	else
		clearerr(stdin);
	status = show_doc(S, name, 0, buf, len);
	free(buf);
	return status;
}

/* Each record (line or NUL-terminated) of a file as a document. */
static int
show_records(struct show *S, const char *path, int delim)
{
	te_diag d = { 0 };
	te_reader *r = te_reader_open(path, delim, &d);
	char *rec;
	size_t len;
	int rc, status = 0;

	if (!r) {
		warn_diag(&d);
		return 1;
	}
	while ((rc = te_reader_next(r, &rec, &len, &d)) > 0)
		if (show_doc(S, te_reader_name(r), te_reader_lineno(r), rec, len))
			status = 1;
	if (rc < 0) {
		warn_diag(&d);
		status = 1;
	}
	te_reader_close(r);
	return status;
}

static void
print_summary(const struct show *S)
{
	size_t i;

	printf("tokenizer\talgorithm\tvocab\ttokens\tchars_per_token\tunknowns\n");
	for (i = 0; i < S->nm; i++) {
		const struct model *m = &S->m[i];
		const te_tok *t = m->tok;

		printf("%s\t%s%s\t%zu\t%zu\t%.2f\t%zu\n", m->name,
		       te_tok_algorithm(t),
		       te_tok_byte_level(t) ? "/byte-level" :
		       te_tok_byte_fallback(t) ? "/byte-fallback" : "",
		       te_show_vocab_size(t), m->tokens,
		       m->tokens ? (double)S->chars / (double)m->tokens : 0.0,
		       m->unks);
	}
}

enum {
	OPT_COLOR = 256, OPT_SEP, OPT_SUMMARY, OPT_HEADER, OPT_NO_SPECIAL,
	OPT_AS_TEXT, OPT_ALLOW, OPT_VOCAB, OPT_VERSION, OPT_HTML
};

/* Load the tokenizers named by -m; one that fails is reported and left
 * out (status 1). */
static int
load_models(struct show *S, const char **margs, size_t nargs)
{
	int status = 0;

	S->m = calloc(nargs, sizeof *S->m);
	if (!S->m)
		die("out of memory");
	for (size_t i = 0; i < nargs; i++) {
		te_diag d = { 0 };
		te_tok *t = te_tok_load(margs[i], &d);

		if (!t) {
			warn_diag(&d);
			status = 1;
			continue;
		}
		S->m[S->nm].tok = t;
		S->m[S->nm].name = te_tok_display_name(t);
		S->nm++;
	}
	return status;
}

/* Show the n files named (stdin when none), then the summary; whole
 * files, or records ending in delim (>= 0). */
static int
show_inputs(struct show *S, int n, char **files, int delim)
{
	int status = 0;

	if (S->html)
		te_show_html_begin(stdout);
	if (n == 0 && (delim < 0 ? show_file(S, NULL) : show_records(S, NULL, delim)))
		status = 1;
	for (int i = 0; i < n; i++) {
		/* Several files compared: say which one each block is. */
		if (S->header && n > 1)
			S->title = files[i];
		if (delim < 0 ? show_file(S, files[i]) : show_records(S, files[i], delim))
			status = 1;
		if (ferror(stdout))
			break;
	}
	if (S->summary)
		print_summary(S);
	if (S->html)
		te_show_html_end(stdout);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"model", required_argument, NULL, 'm'},
		{"lines", no_argument, NULL, 'l'},
		{"null", no_argument, NULL, 'z'},
		{"color", optional_argument, NULL, OPT_COLOR},
		{"colour", optional_argument, NULL, OPT_COLOR},
		{"sep", required_argument, NULL, OPT_SEP},
		{"show-space", no_argument, NULL, 's'},
		{"ids", no_argument, NULL, 'i'},
		{"vocab", no_argument, NULL, OPT_VOCAB},
		{"summary", no_argument, NULL, OPT_SUMMARY},
		{"html", no_argument, NULL, OPT_HTML},
		{"header", no_argument, NULL, OPT_HEADER},
		{"no-special", no_argument, NULL, OPT_NO_SPECIAL},
		{"special-as-text", no_argument, NULL, OPT_AS_TEXT},
		{"allow-special", no_argument, NULL, OPT_ALLOW},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	struct show S = { 0 };
	const char **margs = NULL;
	const char *color = "auto";
	size_t nargs = 0, i;
	int c, delim = -1, status = 0, add_special = 1;
	unsigned special = 0;

	prog_init("tok-show");
	S.o.sep = "\xE2\x94\x82";  /* │ */
	while ((c = getopt_long(argc, argv, "hm:lzsi", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout, 0);
			break;
		case 'm': {
			const char **nm = realloc(margs, (nargs + 1) * sizeof *margs);
			if (!nm)
				die("out of memory");
			margs = nm;
			margs[nargs++] = optarg;
			break;
		}
		case 'l':
			delim = '\n';
			break;
		case 'z':
			delim = '\0';
			S.o.nul = 1;
			break;
		case 's':
			S.o.show_space = 1;
			break;
		case 'i':
			S.o.ids = 1;
			break;
		case OPT_COLOR:
			color = optarg ? optarg : "always";
			if (strcmp(color, "auto") && strcmp(color, "always") &&
			    strcmp(color, "never"))
				usage_error(usage_line, "--color: '%s' is not auto, always or never",
				            color);
			break;
		case OPT_SEP:
			S.o.sep = optarg;
			break;
		case OPT_VOCAB:
			S.build_flags |= TE_SHOW_VOCAB;
			break;
		case OPT_SUMMARY:
			S.summary = 1;
			break;
		case OPT_HEADER:
			S.header = 1;
			break;
		case OPT_HTML:
			S.html = 1;
			break;
		case OPT_NO_SPECIAL:
			add_special = 0;
			break;
		case OPT_AS_TEXT:
			special = TE_TOK_SPECIAL_AS_TEXT;
			break;
		case OPT_ALLOW:
			special = TE_TOK_ALLOW_SPECIAL;
			break;
		case OPT_VERSION:
			print_version();
		default:
			usage_error(usage_line, NULL);
		}
	}
	if (nargs == 0)
		usage_error(usage_line, "no tokenizer: give one or more -m MODEL");
	S.enc_flags = (add_special ? TE_TOK_ADD_SPECIAL : 0) | special;
	S.o.color = want_color(color);
	/* Never pass a terminal the control characters of the input. */
	S.o.escape_ctl = S.o.color || S.html || isatty(STDOUT_FILENO);
	if (nargs > 1)
		S.header = 1;
	if (S.html && (S.summary || S.o.nul))
		usage_error(usage_line, "--html goes with neither --summary nor -z");
	S.o.html = S.html;

	status = load_models(&S, margs, nargs);
	if (S.nm == 0)
		return fshut_stdout(1);
	status |= show_inputs(&S, argc - optind, argv + optind, delim);

	te_tok_enc_release(&S.enc);
	te_show_release(&S.pieces);
	for (i = 0; i < S.nm; i++) {
		te_tok_free(S.m[i].tok);
	}
	free(S.m);
	free(margs);
	return fshut_stdout(status);
}
