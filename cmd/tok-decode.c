/* tok-decode: turn token ids back into text. See tok-decode(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_line[] =
	"tok-decode -m MODEL [-z] [--skip-special] [--tokens] [FILE...]";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\n"
		      "  -m, --model MODEL   tokenizer.json, a directory, a .tiktoken or .model file, or a name\n"
		      "      --skip-special  leave special tokens out of the text\n"
		      "      --tokens        print each token's text, escaped, separated by spaces\n"
		      "  -z, --null          id lists and documents end with NUL, not newline\n"
		      "  -h, --help          this help\n"
		      "      --version       version and build\n", fp);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

static const te_tok *tok;
static unsigned flags;
static int tokens_out, delim = '\n', status;

static void
put_escaped(const char *s, size_t n)
{
	char *e = malloc(2 * n + 1);

	if (!e)
		die("out of memory");
	fwrite(e, 1, te_tok_escape(e, s, n), stdout);
	free(e);
}

static void
decode_file(const char *path)
{
	te_diag d = {0};
	te_reader *r = te_reader_open(path, delim, &d);
	te_ids ids = {0};
	char *rec, *out;
	size_t len, outlen, i;
	int rc;

	if (!r) {
		warn_diag(&d);
		status = 1;
		return;
	}
	te_reader_strip_cr(r, delim == '\n');
	while ((rc = te_reader_next(r, &rec, &len, &d)) > 0) {
		if (te_ids_parse(rec, len, &ids, &d)) {
			snprintf(d.file, sizeof d.file, "%s", te_reader_name(r));
			d.line = te_reader_lineno(r);
			warn_diag(&d);
			status = 1;
			putchar(delim);
			continue;
		}
		if (tokens_out) {
			int first = 1;

			for (i = 0; i < ids.n; i++) {
				if ((flags & TE_TOK_SKIP_SPECIAL) && te_tok_is_special(tok, ids.v[i]))
					continue;
				if (te_tok_decode(tok, &ids.v[i], 1, 0, &out, &outlen, &d))
					break;
				if (!first)
					putchar(' ');
				first = 0;
				put_escaped(out, outlen);
				free(out);
			}
			if (i < ids.n) {
				snprintf(d.file, sizeof d.file, "%s", te_reader_name(r));
				d.line = te_reader_lineno(r);
				warn_diag(&d);
				status = 1;
			}
			putchar(delim);
			continue;
		}
		if (te_tok_decode(tok, ids.v, ids.n, flags, &out, &outlen, &d)) {
			snprintf(d.file, sizeof d.file, "%s", te_reader_name(r));
			d.line = te_reader_lineno(r);
			warn_diag(&d);
			status = 1;
			putchar(delim);
			continue;
		}
		fwrite(out, 1, outlen, stdout);
		putchar(delim);
		free(out);
	}
	if (rc < 0) {
		warn_diag(&d);
		status = 1;
	}
	te_ids_release(&ids);
	te_reader_close(r);
}

int
main(int argc, char **argv)
{
	enum { O_SKIP = 256, O_TOKENS, O_VERSION };
	static const struct option longopts[] = {
		{"model", required_argument, NULL, 'm'},
		{"skip-special", no_argument, NULL, O_SKIP},
		{"tokens", no_argument, NULL, O_TOKENS},
		{"null", no_argument, NULL, 'z'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL;
	te_diag d = {0};
	te_tok *t;
	int c, i;

	prog_init("tok-decode");
	while ((c = getopt_long(argc, argv, "m:zh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case O_SKIP: flags |= TE_TOK_SKIP_SPECIAL; break;
		case O_TOKENS: tokens_out = 1; break;
		case 'z': delim = '\0'; break;
		case 'h': usage(stdout, 0); break;
		case O_VERSION: print_version();
		default: usage_error(usage_line, NULL);
		}
	}
	if (!model && !(model = getenv("TOKEMB_TOKENIZER")))
		usage_error(usage_line, "no model: give -m MODEL");
	if (!(t = te_tok_load(model, &d)))
		die_diag(&d);
	tok = t;
	if (optind >= argc)
		decode_file("-");
	for (i = optind; i < argc; i++)
		decode_file(argv[i]);
	te_tok_free(t);
	return fshut_stdout(status);
}
