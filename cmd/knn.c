/* knn: nearest neighbours and analogies over a vector file. See knn(1). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char usage_line[] =
	"knn [-z] [-k K] [--metric cosine|dot|euclidean] [--json] [-t N] [--restrict N]\n"
	"           [--positive KEYS] [--negative KEYS] [--cosmul] [--approx] [--ef N]\n"
	"           [--build-index] [-M M] [--ef-construction N]\n"
	"           [--eval QUESTIONS] [--eval-pairs PAIRS] [--case-sensitive]\n"
	"           [--pairs] [--row-offset N] VECTORS [QUERIES...]\n"
	"       knn --merge [-k K] [--metric METRIC] ANSWERS...";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\n"
		      "Nearest neighbours of each query line (a key, a vector, or an expression\n"
		      "such as 'king - man + woman') among VECTORS, one line per neighbour:\n"
		      "query<TAB>neighbour<TAB>score, best first.\n"
		      "\n"
		      "  -k, --k K               neighbours per query (10)\n"
		      "      --metric M          cosine (default), dot or euclidean\n"
		      "  -j, --json              JSON lines instead of tab-separated text\n"
		      "  -t, --threads N         threads (default 0: one per CPU)\n"
		      "  -z, --null              queries and output records end with NUL\n"
		      "  -r, --restrict N        search only the first N vectors\n"
		      "  -p, --positive KEYS     answer one query: these keys (comma-separated) ...\n"
		      "      --negative KEYS     ... minus these, as gensim's most_similar\n"
		      "      --cosmul            3CosMul (most_similar_cosmul) for expressions\n"
		      "  -u, --unbuffered        answer each query line as soon as it is read\n"
		      "      --build-index       build the HNSW index VECTORS.hnsw and exit\n"
		      "  -M N                    HNSW links per node (16)\n"
		      "      --ef-construction N HNSW build breadth (200)\n"
		      "  -a, --approx            search with the HNSW index VECTORS.hnsw\n"
		      "      --ef N              HNSW search breadth (max(k, 64))\n"
		      "      --eval FILE         analogy accuracy, as gensim's evaluate_word_analogies\n"
		      "      --eval-pairs FILE   Pearson and Spearman correlations, as\n"
		      "                          gensim's evaluate_word_pairs\n"
		      "      --case-sensitive    evaluations compare words as written\n"
		      "      --pairs             score lines 'A<TAB>B' of keys or expressions\n"
		      "      --row-offset N      number the rows from N + 1 (a shard)\n"
		      "      --merge             merge the answers of knn on shards, in order\n"
		      "  -h, --help              this help\n"
		      "      --version           version and build\n", fp);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

enum {
	OPT_VERSION = 256, OPT_COSMUL, OPT_BUILD, OPT_EFC, OPT_EF, OPT_EVAL, OPT_PAIRS,
	OPT_CASE, OPT_METRIC, OPT_NEG, OPT_PAIRS2, OPT_MERGE, OPT_OFFSET,
};

static struct {
	size_t k;
	te_knn_metric metric;
	int json, threads, cosmul, unbuffered, approx, build, ci, delim, pairs2, merge;
	long offset;
	size_t restrict_n, M, efc, ef;
	int restrict_set;
	const char *positive, *negative, *eval, *pairs;
} opt = {
	.k = 10, .M = 16, .efc = 200, .ci = 1, .delim = '\n',
};

static te_vecs *vecs;
static te_knn *index_;
static te_hnsw *hnsw;
static te_knn_batch *batch;
static int status;
static int warned_k;

static void
print_hit(const char *label, const te_knn_hit *h, size_t rank)
{
	const char *key = te_vecs_key(vecs, (size_t)h->row);
	char rowbuf[32], sc[32];
	size_t sl;

	if (!key) {
		snprintf(rowbuf, sizeof rowbuf, "%ld", h->row + 1 + opt.offset);
		key = rowbuf;
	}
	sl = (size_t)te_knn_fmt_score(sc, h->score);
	if (opt.json) {
		fputs_unlocked("{\"query\":", stdout);
		te_knn_write_json_str(stdout, label, strlen(label));
		fputs_unlocked(",\"neighbour\":", stdout);
		if (te_vecs_key(vecs, 0))
			te_knn_write_json_str(stdout, key, strlen(key));
		else
			fputs_unlocked(key, stdout);
		printf(",\"rank\":%zu,\"score\":%s}%c", rank, sc, opt.delim);
	} else {
		/* label, key and score as they are: no printf on this path */
		fputs_unlocked(label, stdout);
		putchar_unlocked('\t');
		fputs_unlocked(key, stdout);
		putchar_unlocked('\t');
		sc[sl] = (char)opt.delim;
		fwrite_unlocked(sc, 1, sl + 1, stdout);
	}
}

static size_t k_asked;  /* -k as given; opt.k is at most the rows */

static void
warn_short(size_t got)
{
	if (got < k_asked && !warned_k) {
		warned_k = 1;
		warnx_("warning: -k %zu is more than the %zu vectors that can answer; "
		       "printing fewer", k_asked, got);
	}
}

/* One query's answers. */
static void
print_answer(void *arg, const char *label, const te_hit *h, size_t n)
{
	(void)arg;
	warn_short(n);
	for (size_t j = 0; j < n; j++)
		print_hit(label, &h[j], j + 1);
	if (opt.unbuffered)
		fflush(stdout);
}

/* One scored pair: a<TAB>b<TAB>score, or its JSON line. */
static void
print_pair(void *arg, const char *a, size_t an, const char *b, size_t bn, float score)
{
	char sc[32];

	(void)arg;
	te_knn_fmt_score(sc, score);
	if (opt.json) {
		fputs_unlocked("{\"a\":", stdout);
		te_knn_write_json_str(stdout, a, an);
		fputs_unlocked(",\"b\":", stdout);
		te_knn_write_json_str(stdout, b, bn);
		printf(",\"score\":%s}\n", sc);
	} else {
		printf("%.*s\t%.*s\t%s\n", (int)an, a, (int)bn, b, sc);
	}
}

/* Answer the queries in the batch and print them in order. */
static void
flush_batch(void)
{
	te_diag d = {0};

	if (te_knn_batch_run(batch, print_answer, NULL, &d) < 0)
		die_diag(&d);
}

static void
add_query(const char *label, size_t len, const te_knn_query *q)
{
	te_diag d = {0};

	if (te_knn_batch_full(batch))
		flush_batch();
	if (te_knn_batch_add(batch, label, len, q, opt.cosmul, &d) < 0)
		die_diag(&d);
}

/* A line skipped, a file that cannot be read: reported, exit 1 at the end. */
static void
warn_file(const te_diag *d, void *arg)
{
	(void)arg;
	warn_diag(d);
	status = 1;
}

static void
read_queries(const char *path)
{
	te_diag d = {0};

	if (te_knn_batch_read(batch, path, opt.cosmul, print_answer, NULL, warn_file, NULL,
	                      &d) < 0)
		die_diag(&d);
}

/* --positive/--negative: one query from comma-separated keys. */
static void
keys_query(void)
{
	te_knn_query q;
	te_diag d = {0};
	char *label;

	if (te_knn_parse_keys(batch, opt.positive, opt.negative, &q, &label, &d) < 0)
		die_diag(&d);
	if (q.npos + q.nneg == 0)
		usage_error(usage_line, "--positive and --negative name no key");
	if (opt.cosmul && q.npos == 0)
		usage_error(usage_line, "--cosmul needs a --positive key");
	add_query(label, strlen(label), &q);
	free(label);
	flush_batch();
}

static char *
index_path(const char *vpath)
{
	char *p;

	if (asprintf(&p, "%s.hnsw", vpath) < 0)
		die("out of memory");
	return p;
}

static void
eval_analogies(void)
{
	te_diag d = {0};
	te_knn_analogy_result res;

	if (te_knn_eval_analogies(index_, opt.eval, opt.restrict_set ? opt.restrict_n : 300000,
	                          opt.ci, &res, &d) < 0)
		die_diag(&d);
	te_knn_analogy_write(stdout, &res, opt.json);
	te_knn_analogy_result_release(&res);
}

static void
eval_pairs(void)
{
	te_diag d = {0};
	te_knn_pairs_result res;

	if (te_knn_eval_pairs(index_, opt.pairs, opt.restrict_set ? opt.restrict_n : 300000,
	                      opt.ci, &res, &d) < 0)
		die_diag(&d);
	te_knn_pairs_write(stdout, opt.pairs, &res, opt.json);
}

/* Options into opt; the vector file's path. */
static const char *
parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"k", required_argument, NULL, 'k'},
		{"metric", required_argument, NULL, OPT_METRIC},
		{"null", no_argument, NULL, 'z'},
		{"json", no_argument, NULL, 'j'},
		{"threads", required_argument, NULL, 't'},
		{"restrict", required_argument, NULL, 'r'},
		{"positive", required_argument, NULL, 'p'},
		{"negative", required_argument, NULL, OPT_NEG},
		{"cosmul", no_argument, NULL, OPT_COSMUL},
		{"unbuffered", no_argument, NULL, 'u'},
		{"build-index", no_argument, NULL, OPT_BUILD},
		{"ef-construction", required_argument, NULL, OPT_EFC},
		{"approx", no_argument, NULL, 'a'},
		{"ef", required_argument, NULL, OPT_EF},
		{"eval", required_argument, NULL, OPT_EVAL},
		{"eval-pairs", required_argument, NULL, OPT_PAIRS},
		{"case-sensitive", no_argument, NULL, OPT_CASE},
		{"pairs", no_argument, NULL, OPT_PAIRS2},
		{"merge", no_argument, NULL, OPT_MERGE},
		{"row-offset", required_argument, NULL, OPT_OFFSET},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	int c, nmodes;
	const char *vpath;

	while ((c = getopt_long(argc, argv, "k:m:jt:r:p:n:uM:ahz", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			opt.k = (size_t)opt_ll(usage_line, "-k", optarg, 1, 1000000);
			break;
		case 'm':
			deprecated("-m METRIC", "--metric METRIC");
			/* FALLTHROUGH */
		case OPT_METRIC:
			if (strcmp(optarg, "cosine") == 0)
				opt.metric = TE_KNN_METRIC_COSINE;
			else if (strcmp(optarg, "dot") == 0)
				opt.metric = TE_KNN_METRIC_DOT;
			else if (strcmp(optarg, "euclidean") == 0 || strcmp(optarg, "l2") == 0)
				opt.metric = TE_KNN_METRIC_EUCLIDEAN;
			else
				usage_error(usage_line, "--metric: '%s' is not cosine, dot or "
				            "euclidean", optarg);
			break;
		case 'z': opt.delim = '\0'; break;
		case 'j': opt.json = 1; break;
		case 't':
			opt.threads = (int)opt_ll(usage_line, "--threads", optarg, 0, 1024);
			break;
		case 'r':
			opt.restrict_n = (size_t)opt_ll(usage_line, "--restrict", optarg, 1,
			                                (long long)1 << 40);
			opt.restrict_set = 1;
			break;
		case 'p':
			opt.positive = optarg;
			break;
		case 'n':
			deprecated("-n KEYS", "--negative KEYS");
			/* FALLTHROUGH */
		case OPT_NEG:
			opt.negative = optarg;
			break;
		case OPT_COSMUL: opt.cosmul = 1; break;
		case 'u': opt.unbuffered = 1; break;
		case OPT_BUILD: opt.build = 1; break;
		case 'M':
			opt.M = (size_t)opt_ll(usage_line, "-M", optarg, 2, 256);
			break;
		case OPT_EFC:
			opt.efc = (size_t)opt_ll(usage_line, "--ef-construction", optarg, 1,
			                         100000);
			break;
		case 'a':
			opt.approx = 1;
			break;
		case OPT_EF:
			opt.ef = (size_t)opt_ll(usage_line, "--ef", optarg, 1, 1000000);
			break;
		case OPT_EVAL:
			opt.eval = optarg;
			break;
		case OPT_PAIRS:
			opt.pairs = optarg;
			break;
		case OPT_CASE:
			opt.ci = 0;
			break;
		case OPT_PAIRS2:
			opt.pairs2 = 1;
			break;
		case OPT_MERGE:
			opt.merge = 1;
			break;
		case OPT_OFFSET:
			opt.offset = (long)opt_ll(usage_line, "--row-offset", optarg, 0,
			                          (long long)1 << 40);
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
	if (optind >= argc)
		usage_error(usage_line, opt.merge ? "no answers to merge" :
		            "no vector file given");
	if (opt.merge)
		return NULL;
	vpath = argv[optind++];
	nmodes = !!opt.build + !!opt.eval + !!opt.pairs + !!(opt.positive || opt.negative) +
	         opt.pairs2;
	if (nmodes > 1)
		usage_error(usage_line, "--build-index, --eval, --eval-pairs, --pairs and "
		            "--positive/--negative do not go together");
	if (opt.pairs2 && (opt.cosmul || opt.approx))
		usage_error(usage_line, "--pairs does not go with --cosmul or --approx");
	if (opt.pairs2)
		nmodes = 0;  /* it reads the query files */
	if (nmodes && optind < argc)
		usage_error(usage_line, "query files given with an option that reads none");
	if (opt.cosmul && opt.metric != TE_KNN_METRIC_COSINE)
		usage_error(usage_line, "--cosmul works with the cosine metric only");
	if (opt.approx && (opt.cosmul || opt.restrict_set || opt.eval || opt.pairs))
		usage_error(usage_line, "--approx does not go with --cosmul, --restrict or "
		            "the evaluations");
	if (opt.ef && !opt.approx)
		usage_error(usage_line, "--ef needs --approx");

	return vpath;
}

/* The vectors, the exact index and, with --approx, the HNSW graph; the
 * modes that print no neighbours (--build-index, --eval, --eval-pairs) are
 * done here: returns 1 after one of them. */
static int
open_index(const char *vpath)
{
	te_diag d = {0};

	vecs = te_vecs_load(vpath, TE_VEC_FORMAT_AUTO, &d);
	if (!vecs)
		die_diag(&d);
	if (te_vecs_rows(vecs) == 0)
		die("%s: no vectors", vpath);
	if ((opt.eval || opt.pairs) && !te_vecs_key(vecs, 0))
		die("%s: the vectors have no keys", vpath);
	index_ = te_knn_new(vecs, opt.metric, opt.threads, &d);
	if (!index_)
		die_diag(&d);

	if (opt.build) {
		char *ip = index_path(vpath);
		te_hnsw *h = te_hnsw_build(vecs, opt.metric, opt.M, opt.efc, opt.threads, 42,
		                           &d);

		if (!h || te_hnsw_save(h, ip, &d) < 0)
			die_diag(&d);
		te_hnsw_free(h);
		free(ip);
		return 1;
	}
	if (opt.eval) {
		eval_analogies();
		return 1;
	}
	if (opt.pairs) {
		eval_pairs();
		return 1;
	}
	if (opt.approx) {
		char *ip = index_path(vpath);

		hnsw = te_hnsw_load(ip, vecs, &d);
		if (!hnsw)
			die_diag(&d);
		if (te_hnsw_metric(hnsw) != opt.metric)
			die("%s: built for another metric; rebuild it with --build-index "
			    "and this --metric", ip);
		free(ip);
		if (opt.ef == 0)
			opt.ef = opt.k > 64 ? opt.k : 64;
		if (opt.ef < opt.k)
			opt.ef = opt.k;
	}

	return 0;
}

int
main(int argc, char **argv)
{
	te_diag d = {0};
	const char *vpath;
	size_t bcap;

	prog_init("knn");
	vpath = parse_options(argc, argv);
	if (!vpath) {
		if (te_knn_merge((const char *const *)argv + optind, (size_t)(argc - optind),
		                 opt.k, opt.metric, stdout, &d) < 0)
			die_diag(&d);
		return fshut_stdout(0);
	}
	if (open_index(vpath))
		goto out;
	k_asked = opt.k;
	if (opt.k > te_vecs_rows(vecs))
		opt.k = te_vecs_rows(vecs);
	if (opt.ef && opt.ef < opt.k)
		opt.ef = opt.k;
	/* batches of up to 4096 queries, and of at most 2^22 hits in all */
	bcap = opt.unbuffered || isatty(STDIN_FILENO) ? 1 : 4096;
	if (bcap > ((size_t)1 << 22) / opt.k)
		bcap = ((size_t)1 << 22) / opt.k ? ((size_t)1 << 22) / opt.k : 1;
	batch = te_knn_batch_new(index_, hnsw, opt.k, opt.restrict_n, opt.ef, opt.threads, bcap,
	                         &d);
	if (!batch)
		die_diag(&d);
	te_knn_batch_set_delim(batch, opt.delim);
	te_knn_batch_set_offset(batch, opt.offset);
	if (opt.pairs2) {
		for (int i = optind; i < argc || i == optind; i++)
			te_knn_pairs_read(batch, i < argc ? argv[i] : "-", print_pair, NULL,
			                  warn_file, NULL);
	} else if (opt.positive || opt.negative) {
		keys_query();
	} else if (optind >= argc) {
		read_queries("-");
	} else {
		for (; optind < argc; optind++)
			read_queries(argv[optind]);
	}
out:
	te_hnsw_free(hnsw);
	te_knn_free(index_);
	te_vecs_free(vecs);
	te_knn_batch_free(batch);
	return fshut_stdout(status);
}
