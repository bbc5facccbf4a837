/* tok-encode: turn text into token ids. See tok-encode(1). */
#define _GNU_SOURCE
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

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
} cfg;

static int status;

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

static void
warn_cb(const te_diag *d, void *arg)
{
	(void)arg;
	warn_diag(d);
}

/* The documents of each file, encoded on threads threads, written in
 * order; prompt (or NULL) before each. */
static void
encode_files(char **files, int nfiles, const char *prompt, int threads)
{
	te_tok_batch_opts o = {
		.flags = cfg.flags, .max_tokens = cfg.max_tokens, .lim = cfg.lim,
		.use_limits = cfg.limits, .fmt = cfg.fmt, .total = cfg.total,
		.delim = cfg.delim, .prompt = prompt, .threads = threads,
	};
	te_tok_batch *b = te_tok_batch_new(cfg.tok, &o, stdout, warn_cb, NULL);
	unsigned long long total = 0;
	te_diag d = {0};
	int i;

	if (!b)
		die("out of memory");
	for (i = 0; i < nfiles; i++)
		if (te_tok_batch_file(b, files[i], &d))
			die_diag(&d);
	if (te_tok_batch_finish(b, &total))
		status = 1;
	te_tok_batch_free(b);
	if (cfg.total)
		printf("%llu\n", total);
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
	char *ptext = NULL;
	te_diag d = {0};
	te_tok *tok;
	int c, nout = 0, threads = 0, count = 0, no_prompt = 0, trunc = 0, pad = 0;
	char *stdin_only[] = {"-"};

	prog_init("tok-encode");
	/* a long document's text, ids and record grow by realloc: past
	 * 128 KB each is mapped alone (grown by mremap, given back when
	 * freed), as glibc starts, never copied and left behind in the heap,
	 * where its moving threshold (the size of the last mapped block
	 * freed, to 32 MB) would put them */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
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
		if (te_prompt_load(model, prompt, &ptext, &d))
			die_diag(&d);
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
	if (optind >= argc)
		encode_files(stdin_only, 1, ptext, threads);
	else
		encode_files(argv + optind, argc - optind, ptext, threads);
	te_tok_free(tok);
	free(ptext);
	return fshut_stdout(status);
}
