/* tok-train: train a tokenizer on your own text. See tok-train(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char usage_line[] =
	"tok-train [-z] [--algorithm bpe|wordpiece|unigram] [--preset NAME] [--vocab-size N]\n"
	"                 [--min-frequency F] [--special TOKEN]... [--lowercase]\n"
	"                 [--byte-level] [--byte-fallback] [-q] [-o tokenizer.json] [FILE...]";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\nTrain a tokenizer on text (one document per line) and write it as a\n"
		      "Hugging Face tokenizer.json.\n\n"
		      "      --algorithm A      bpe (default), wordpiece or unigram\n"
		      "  -p, --preset NAME      gpt2 (byte-level BPE), bert (WordPiece),\n"
		      "                         sentencepiece (Unigram), byte-fallback (BPE)\n"
		      "      --vocab-size N     vocabulary size, special tokens included\n"
		      "                         (default 30000; Unigram 8000)\n"
		      "  -f, --min-frequency F  least count of a pair to merge (BPE, WordPiece)\n"
		      "  -s, --special TOKEN    a special token (repeat; replaces the preset's)\n"
		      "  -l, --lowercase        lower-case the text first\n"
		      "  -b, --byte-level       GPT-2 byte-level pre-tokenizer and alphabet (BPE)\n"
		      "      --byte-fallback    <0x00>..<0xFF> tokens for unknown bytes (BPE)\n"
		      "  -z, --null             documents end with NUL, not newline\n"
		      "  -o, --output FILE      write there (whole or not at all), not stdout\n"
		      "  -q, --quiet            no progress display on a terminal\n"
		      "  -h, --help             this help\n"
		      "      --version          version and build\n",
		      fp);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

static int show_progress;
static double last_shown;

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
progress(const char *phase, size_t done, size_t total, void *arg)
{
	double t;

	(void)arg;
	if (!show_progress)
		return;
	t = now();
	if (t - last_shown < 0.2 && done != total)
		return;
	last_shown = t;
	if (total)
		fprintf(stderr, "\r%s: %s %zu/%zu (%.0f%%)\033[K", progname, phase, done, total,
		        100.0 * done / total);
	else
		fprintf(stderr, "\r%s: %s %zu\033[K", progname, phase, done);
}

static void
progress_end(void)
{
	if (show_progress)
		fputs("\r\033[K", stderr);
}

/* What the command line asks for. */
struct cli {
	te_train_opts o;
	const char **special;      /* --special, argc long */
	const char *output;
	int delim;
	int quiet;
};

/* Parse the options into c (usage errors exit 2); optind is left at the
 * first file. */
static void
parse_options(int argc, char **argv, struct cli *c)
{
	enum { OPT_VERSION = 256, OPT_BYTE_FALLBACK, OPT_ALGO, OPT_MODEL, OPT_VOCAB };
	static const struct option longopts[] = {
		{"algorithm", required_argument, NULL, OPT_ALGO},
		{"model", required_argument, NULL, OPT_MODEL},
		{"preset", required_argument, NULL, 'p'},
		{"vocab-size", required_argument, NULL, OPT_VOCAB},
		{"min-frequency", required_argument, NULL, 'f'},
		{"special", required_argument, NULL, 's'},
		{"lowercase", no_argument, NULL, 'l'},
		{"byte-level", no_argument, NULL, 'b'},
		{"byte-fallback", no_argument, NULL, OPT_BYTE_FALLBACK},
		{"null", no_argument, NULL, 'z'},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	int ch, model = TE_TRAIN_MODEL_BPE, preset = TE_TRAIN_PRESET_NONE, have_model = 0;
	int lowercase = 0, byte_level = 0, byte_fallback = 0;
	long long vocab_size = 0, min_freq = -1;
	const char *preset_name = NULL;
	size_t n_special = 0;
	int have_special = 0;
	te_train_opts *o = &c->o;

	c->delim = '\n';
	c->special = calloc(argc, sizeof *c->special);
	if (!c->special)
		die("out of memory");
	while ((ch = getopt_long(argc, argv, "m:p:n:f:s:lbzo:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
		case OPT_MODEL:
			deprecated(ch == 'm' ? "-m ALGORITHM" : "--model ALGORITHM",
			           "--algorithm ALGORITHM");
			/* FALLTHROUGH */
		case OPT_ALGO:
			if ((model = te_train_model_parse(optarg)) < 0)
				usage_error(usage_line, "unknown algorithm '%s' (bpe, wordpiece, "
				            "unigram)", optarg);
			have_model = 1;
			break;
		case 'p':
			preset_name = optarg;
			if ((preset = te_train_preset_parse(optarg)) < 0)
				usage_error(usage_line,
				            "unknown preset '%s' (gpt2, bert, sentencepiece, "
				            "byte-fallback)",
				            optarg);
			break;
		case 'n':
			deprecated("-n N", "--vocab-size N");
			/* FALLTHROUGH */
		case OPT_VOCAB:
			vocab_size = opt_ll(usage_line, "--vocab-size", optarg, 1, 100000000);
			break;
		case 'f':
			min_freq = opt_ll(usage_line, "--min-frequency", optarg, 0, INT64_MAX);
			break;
		case 's':
			if (!*optarg)
				usage_error(usage_line, "empty special token");
			c->special[n_special++] = optarg;
			have_special = 1;
			break;
		case 'l':
			lowercase = 1;
			break;
		case 'b':
			byte_level = 1;
			break;
		case OPT_BYTE_FALLBACK:
			byte_fallback = 1;
			break;
		case 'z':
			c->delim = '\0';
			break;
		case 'o':
			c->output = optarg;
			break;
		case 'q':
			c->quiet = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case OPT_VERSION:
			print_version();
		default:
			usage_error(usage_line, NULL);
		}
	}
	te_train_opts_init(o, model, preset);
	if (preset != TE_TRAIN_PRESET_NONE && have_model && (int)o->model != model)
		usage_error(usage_line, "preset '%s' trains another algorithm than --algorithm",
		            preset_name);
	if (vocab_size)
		o->vocab_size = vocab_size;
	if (min_freq >= 0)
		o->min_frequency = min_freq;
	if (have_special) {
		o->special = c->special;
		o->n_special = n_special;
	}
	if (lowercase)
		o->lowercase = 1;
	if (byte_level) {
		if (o->model != TE_TRAIN_MODEL_BPE)
			usage_error(usage_line, "--byte-level works with --algorithm bpe only");
		o->byte_level = 1;
		o->bert = 0;
		o->nfkc = 0;
	}
	if (byte_fallback) {
		if (o->model != TE_TRAIN_MODEL_BPE || o->byte_level)
			usage_error(usage_line, "--byte-fallback works with --algorithm bpe only, "
			                        "without --byte-level");
		o->byte_fallback = 1;
	}
}

/* Feed every document of the file at path ("-": stdin) to t.  0, or 1 when
 * the file could not be read (reported); a library error is fatal. */
static int
feed_file(te_trainer *t, const char *path, int delim, te_atomic *out)
{
	te_diag d = {0};
	te_reader *r = te_reader_open(path, delim, &d);
	char *rec;
	size_t len, replaced = 0;
	int rc, status = 0;

	if (!r) {
		progress_end();
		warn_diag(&d);
		return 1;
	}
	te_reader_strip_cr(r, delim == '\n');
	while ((rc = te_reader_next(r, &rec, &len, &d)) == 1) {
		if (te_trainer_feed(t, rec, len, &replaced, &d) < 0) {
			progress_end();
			te_atomic_abort(out);
			die_diag(&d);
		}
		if ((te_trainer_documents(t) & 0xffff) == 0)
			progress("read documents", te_trainer_documents(t), 0, NULL);
	}
	if (rc < 0) {
		progress_end();
		warn_diag(&d);
		status = 1;
	}
	if (replaced) {
		progress_end();
		warnx_("%s: %zu invalid UTF-8 sequence%s replaced by U+FFFD", te_reader_name(r),
		       replaced, replaced == 1 ? "" : "s");
	}
	te_reader_close(r);
	return status;
}

int
main(int argc, char **argv)
{
	struct cli c = {0};
	te_trainer *t;
	te_atomic *out = NULL;
	te_diag d = {0};
	int i, status = 0;
	FILE *fp;

	prog_init("tok-train");
	parse_options(argc, argv, &c);
	show_progress = !c.quiet && isatty(2);

	/* refuse an unwritable output before a long training */
	if (c.output && !(out = te_atomic_open(c.output, &d)))
		die_diag(&d);
	if (!(t = te_trainer_new(&c.o, &d)))
		die_diag(&d);
	te_trainer_set_progress(t, progress, NULL);
	if (optind == argc)
		status |= feed_file(t, "-", c.delim, out);
	for (i = optind; i < argc; i++)
		status |= feed_file(t, argv[i], c.delim, out);
	if (status) {
		progress_end();
		te_atomic_abort(out);
		die("no tokenizer written: not every input could be read");
	}
	if (te_trainer_train(t, &d) < 0) {
		progress_end();
		te_atomic_abort(out);
		die_diag(&d);
	}
	progress_end();
	fp = out ? te_atomic_fp(out) : stdout;
	if (te_trainer_write_json(t, fp, &d) < 0) {
		te_atomic_abort(out);
		snprintf(d.file, sizeof d.file, "%s", c.output ? c.output : "-");
		die_diag(&d);
	}
	if (out && te_atomic_commit(out, &d) < 0)
		die_diag(&d);
	te_trainer_free(t);
	free(c.special);
	return fshut_stdout(0);
}
