/* w2v-train: train word2vec vectors on sequences of items. See w2v-train(1). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char usage_line[] =
	"w2v-train [--sg 0|1] [--hs 0|1] [--negative N] [--window N] "
	"[--vector-size N] [--min-count N] [--epochs N] [--threads N] [--seed N] "
	"[--binary | --format text|tsv|binary|tevec|npy] [-o FILE] [--quiet] [FILE...]";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\n"
		      "Train word2vec vectors on sequences: one sequence per line, items\n"
		      "separated by whitespace.  Options follow gensim's Word2Vec parameters\n"
		      "and its defaults.\n"
		      "\n"
		      "  --sg 0|1              skip-gram (1) or CBOW (0, default)\n"
		      "  --hs 0|1              hierarchical softmax (default 0)\n"
		      "  --negative N          negative samples (default 5; 0 with --hs 1)\n"
		      "  --ns-exponent X       noise distribution exponent (default 0.75)\n"
		      "  --cbow-mean 0|1       CBOW: mean (1, default) or sum of the context\n"
		      "  --window N            maximum distance (default 5)\n"
		      "  --shrink-windows 0|1  draw each window's size at random (default 1)\n"
		      "  --vector-size N       dimensions (default 100)\n"
		      "  --min-count N         ignore items seen fewer times (default 5)\n"
		      "  --max-vocab-size N    prune rare items while counting (default none)\n"
		      "  --sample X            subsampling threshold (default 0.001; 0 off)\n"
		      "  --alpha X             first epoch's rate (0.025 skip-gram, 0.05 CBOW)\n"
		      "  --min-alpha X         where its fall epoch by epoch ends (0.0001)\n"
		      "  --epochs N            passes over the corpus (default 5)\n"
		      "  --threads N           worker threads (also --workers; 0, the default: one per CPU)\n"
		      "  --seed N              random seed (default 1)\n"
		      "  --batch 0|1           skip-gram: negatives drawn once per window (1,\n"
		      "                        default) or for every pair (0)\n"
		      "  --max-sentence N      cut longer sequences (default 10000)\n"
		      "  --format F            text (default), tsv, binary (word2vec), tevec\n"
		      "                        or npy (keys in FILE.keys beside -o FILE)\n"
		      "  --binary              same as --format binary\n"
		      "  -o, --output FILE     write FILE whole or not at all (default stdout)\n"
		      "  -q, --quiet           no progress and no summary on stderr\n"
		      "  -h, --help            this help\n"
		      "      --version         version and build\n", fp);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

static int progress_shown;

static void
progress(void *arg, uint64_t done, uint64_t total, double alpha, double secs)
{
	double pct = total ? 100.0 * (double)done / (double)total : 100;
	double rate = secs > 0 ? (double)done / secs : 0;
	double eta = rate > 0 ? (double)(total - (done < total ? done : total)) / rate : 0;

	(void)arg;
	fprintf(stderr, "\r%s: %5.1f%%  %.0fk items/s  alpha %.6f  ETA %.0fs \033[K",
	        progname, pct, rate / 1000, alpha, eta);
	progress_shown = 1;
}

enum {
	O_SG = 256, O_HS, O_NEG, O_NSEXP, O_CBOWMEAN, O_WINDOW, O_SHRINK, O_DIM,
	O_MINCOUNT, O_MAXVOCAB, O_SAMPLE, O_ALPHA, O_MINALPHA, O_EPOCHS, O_THREADS,
	O_SEED, O_BATCH, O_MAXSENT, O_FORMAT, O_BINARY, O_VERSION
};

/* .npy's keys, one a line, in OUT.keys. */
static void
write_keys(const te_w2v *m, const char *out, size_t n)
{
	te_diag d = {0};
	char *kp;
	te_atomic *at;

	if (asprintf(&kp, "%s.keys", out) < 0)
		die("out of memory");
	if (!(at = te_atomic_open(kp, &d)))
		die_diag(&d);
	for (size_t i = 0; i < n; i++)
		fprintf(te_atomic_fp(at), "%s\n", te_w2v_key(m, i));
	if (te_atomic_commit(at, &d) < 0)
		die_diag(&d);
	free(kp);
}

/* --format NAME */
static te_vec_format
parse_format(const char *f)
{
	static const struct {
		const char *name;
		te_vec_format fmt;
	} names[] = {
		{"text", TE_VEC_FORMAT_TEXT}, {"binary", TE_VEC_FORMAT_W2V_BIN},
		{"tevec", TE_VEC_FORMAT_TEVEC}, {"tsv", TE_VEC_FORMAT_TSV},
		{"npy", TE_VEC_FORMAT_NPY},
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(f, names[i].name) == 0)
			return names[i].fmt;
	usage_error(usage_line, "--format: '%s' is not text, tsv, binary, tevec or npy", f);
	return TE_VEC_FORMAT_TEXT;
}

/* Feed the n files named (stdin when none); a file that cannot be opened
 * is reported and skipped.  Returns the exit status so far. */
static int
add_inputs(te_w2v *m, int n, char **names)
{
	te_diag d = {0};
	int status = 0, opened = 0;

	if (n == 0) {
		if (te_w2v_add(m, stdin, "-", &d) < 0)
			die_diag(&d);
		if (te_w2v_add_warning(m, &d))
			warn_diag(&d);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i];
		FILE *fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");

		if (!fp) {
			warnx_("%s: %s", name, strerror(errno));
			status = 1;
			continue;
		}
		d = (te_diag){0};
		if (te_w2v_add(m, fp, name, &d) < 0)
			die_diag(&d);
		if (te_w2v_add_warning(m, &d))
			warn_diag(&d);
		if (fp != stdin)
			fclose(fp);
		opened++;
	}
	if (!opened)
		die("no input could be read");
	return status;
}

/* The vectors to stdout, or whole to -o FILE (or not at all). */
static void
write_vectors(te_w2v *m, const char *out, te_vec_format fmt)
{
	te_diag d = {0};
	te_atomic *at = NULL;
	FILE *ofp = stdout;

	if (out) {
		at = te_atomic_open(out, &d);
		if (!at)
			die_diag(&d);
		ofp = te_atomic_fp(at);
	}
	if (te_w2v_write(m, ofp, fmt, &d) < 0) {
		if (at) {
			te_atomic_abort(at);
			snprintf(d.file, sizeof d.file, "%s", out);
		}
		te_w2v_free(m);
		die_diag(&d);
	}
	if (at && te_atomic_commit(at, &d) < 0) {
		te_w2v_free(m);
		die_diag(&d);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"sg", required_argument, NULL, O_SG},
		{"hs", required_argument, NULL, O_HS},
		{"negative", required_argument, NULL, O_NEG},
		{"ns-exponent", required_argument, NULL, O_NSEXP},
		{"cbow-mean", required_argument, NULL, O_CBOWMEAN},
		{"window", required_argument, NULL, O_WINDOW},
		{"shrink-windows", required_argument, NULL, O_SHRINK},
		{"vector-size", required_argument, NULL, O_DIM},
		{"min-count", required_argument, NULL, O_MINCOUNT},
		{"max-vocab-size", required_argument, NULL, O_MAXVOCAB},
		{"sample", required_argument, NULL, O_SAMPLE},
		{"alpha", required_argument, NULL, O_ALPHA},
		{"min-alpha", required_argument, NULL, O_MINALPHA},
		{"epochs", required_argument, NULL, O_EPOCHS},
		{"threads", required_argument, NULL, O_THREADS},
		{"workers", required_argument, NULL, O_THREADS},
		{"seed", required_argument, NULL, O_SEED},
		{"batch", required_argument, NULL, O_BATCH},
		{"max-sentence", required_argument, NULL, O_MAXSENT},
		{"format", required_argument, NULL, O_FORMAT},
		{"binary", no_argument, NULL, O_BINARY},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	te_w2v_params p;
	te_vec_format fmt = TE_VEC_FORMAT_TEXT;
	const char *out = NULL;
	int c, quiet = 0, status;
	te_diag d = {0};
	te_w2v *m;
	te_w2v_stats st;

	prog_init("w2v-train");
	te_w2v_params_default(&p);
	while ((c = getopt_long(argc, argv, "ho:q", longopts, NULL)) != -1) {
		switch (c) {
		case O_SG: p.sg = (int)opt_ll(usage_line, "--sg", optarg, 0, 1); break;
		case O_HS: p.hs = (int)opt_ll(usage_line, "--hs", optarg, 0, 1); break;
		case O_NEG: p.negative = (int)opt_ll(usage_line, "--negative", optarg, 0, 1000); break;
		case O_NSEXP: p.ns_exponent = opt_double(usage_line, "--ns-exponent", optarg, -10, 10); break;
		case O_CBOWMEAN: p.cbow_mean = (int)opt_ll(usage_line, "--cbow-mean", optarg, 0, 1); break;
		case O_WINDOW: p.window = (int)opt_ll(usage_line, "--window", optarg, 1, 10000); break;
		case O_SHRINK: p.shrink_windows = (int)opt_ll(usage_line, "--shrink-windows", optarg, 0, 1); break;
		case O_DIM: p.dim = (int)opt_ll(usage_line, "--vector-size", optarg, 1, 100000); break;
		case O_MINCOUNT: p.min_count = opt_ll(usage_line, "--min-count", optarg, 1, INT64_MAX); break;
		case O_MAXVOCAB: p.max_vocab_size = opt_ll(usage_line, "--max-vocab-size", optarg, 1, INT64_MAX); break;
		case O_SAMPLE: p.sample = opt_double(usage_line, "--sample", optarg, 0, 1e18); break;
		case O_ALPHA: p.alpha = opt_double(usage_line, "--alpha", optarg, 1e-12, 100); break;
		case O_MINALPHA: p.min_alpha = opt_double(usage_line, "--min-alpha", optarg, 0, 100); break;
		case O_EPOCHS: p.epochs = (int)opt_ll(usage_line, "--epochs", optarg, 1, 1000000); break;
		case O_THREADS: p.threads = (int)opt_ll(usage_line, "--threads", optarg, 0, 1024); break;
		case O_SEED: p.seed = (uint64_t)opt_ll(usage_line, "--seed", optarg, 0, INT64_MAX); break;
		case O_BATCH: p.batch = (int)opt_ll(usage_line, "--batch", optarg, 0, 1); break;
		case O_MAXSENT: p.max_sentence = (size_t)opt_ll(usage_line, "--max-sentence", optarg, 1, 1 << 30); break;
		case O_FORMAT: fmt = parse_format(optarg); break;
		case O_BINARY: fmt = TE_VEC_FORMAT_W2V_BIN; break;
		case 'o': out = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout, 0); break;
		case O_VERSION: print_version();
		default: usage_error(usage_line, NULL);
		}
	}
	if (!p.hs && p.negative == 0)
		usage_error(usage_line, "--negative 0 needs --hs 1: nothing would be trained");
	if (fmt == TE_VEC_FORMAT_NPY && !out)
		usage_error(usage_line, "--format npy writes the keys to FILE.keys beside "
		            "-o FILE: give -o");
	if (fmt != TE_VEC_FORMAT_TEXT && fmt != TE_VEC_FORMAT_TSV && !out)
		refuse_binary_tty(usage_line);

	m = te_w2v_new(&p, &d);
	if (!m)
		die_diag(&d);
	status = add_inputs(m, argc - optind, argv + optind);

	d = (te_diag){0};
	if (te_w2v_train(m, !quiet && isatty(STDERR_FILENO) ? progress : NULL, NULL, &d) < 0) {
		if (progress_shown)
			fputs("\r\033[K", stderr);
		die_diag(&d);
	}
	if (progress_shown)
		fputs("\r\033[K", stderr);

	write_vectors(m, out, fmt);
	te_w2v_stats_get(m, &st);
	if (fmt == TE_VEC_FORMAT_NPY)
		write_keys(m, out, (size_t)st.vocab);
	if (!quiet)
		fprintf(stderr, "%s: vocabulary %llu items, %llu items trained "
		        "(%llu after subsampling) in %.2f s, %.0f items/s\n", progname,
		        (unsigned long long)st.vocab, (unsigned long long)st.trained,
		        (unsigned long long)st.effective, st.seconds,
		        st.seconds > 0 ? (double)st.trained / st.seconds : 0.0);
	te_w2v_free(m);
	return fshut_stdout(status);
}
