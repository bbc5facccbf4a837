/* recommend: item-to-item recommendations from sequence embeddings. See recommend(1). */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_line[] =
	"recommend -v VECTORS [-n N] [--meta FILE [--csv]] [--combine HOW] [--json] [ID...]\n"
	"       recommend -v VECTORS --eval TEST [--train TRAIN] [-n N] [--context C] [--combine HOW] [--json]\n"
	"       recommend --sequences (--cornell | --csv [--fields U,I,T[,R]] [--min-rating X]) [FILE...]\n"
	"       recommend --tune TRAIN [--holdout H] [--vector-size D] [--seed S] [--threads T] [-n N] [--context C]";

static int status;            /* 1 once anything was reported */
static int json;
static size_t nmeta;          /* metadata fields per item */
static te_rec_meta *meta;
static const char *meta_path;
static unsigned char *meta_warned;  /* per row: missing metadata reported */

static void
usage(FILE *fp, int st)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\n"
		      "  -v, --vectors FILE   item vectors (word2vec text or binary, TEVEC)\n"
		      "  -n, --count N        recommendations per query (default 10)\n"
		      "      --meta FILE      item metadata, TSV keyed by id (with --csv: CSV)\n"
		      "      --csv            metadata or event log is CSV with a header line\n"
		      "      --combine HOW    several ids: mean (default), sum, max, recent\n"
		      "      --json           JSON lines\n"
		      "      --eval TEST      next-item evaluation on the sequences of TEST\n"
		      "      --train FILE     training sequences, for the popularity baseline\n"
		      "      --context C      items before the target in an --eval query (default 5)\n"
		      "      --sequences      write sequences from a dataset (--cornell or --csv)\n"
		      "      --cornell        Cornell playlist files (yes_*/train.txt)\n"
		      "      --fields U,I,T[,R]  event log columns: user, item, time, rating\n"
		      "                       (default 1,2,last; 0 for T means the last)\n"
		      "      --min-rating X   keep events rated X or more (rating column R, default 3)\n"
		      "      --tune TRAIN     search word2vec's settings on TRAIN's held-out next items\n"
		      "      --holdout H      --tune: last items of each sequence held out (default 5)\n"
		      "      --vector-size D, --seed S  --tune: of every model (default 100, 1)\n"
		      "      --threads T      --tune: models trained at once (default: one per CPU)\n"
		      "  -h, --help           this help\n"
		      "      --version        version and build\n", fp);
	exit(fp == stdout ? fshut_stdout(st) : st);
}

static void
warn_cb(const te_diag *d, void *arg)
{
	(void)arg;
	warn_diag(d);
	status = 1;
}

static void
print_hit(te_rec *r, long qno, const te_rec_hit *h)
{
	const char *key = te_rec_key(r, h->row);
	const char *m = NULL;

	if (meta) {
		m = te_rec_meta_get(meta, key, strlen(key));
		if (!m && !meta_warned[h->row]) {
			meta_warned[h->row] = 1;
			warnx_("%s: no metadata for id '%s'", meta_path, key);
			status = 1;
		}
	}
	if (json) {
		printf("{\"query\":%ld,\"id\":", qno);
		te_rec_write_json_str(stdout, key, strlen(key));
		printf(",\"score\":%.6f", h->score);
		if (meta) {
			fputs(",\"meta\":", stdout);
			te_rec_write_json_fields(stdout, m);
		}
		fputs("}\n", stdout);
		return;
	}
	printf("%ld\t%s\t%.6f", qno, key, h->score);
	if (meta) {
		if (m) {
			printf("\t%s", m);
		} else {
			for (size_t i = 0; i < nmeta; i++)
				putchar('\t');
		}
	}
	putchar('\n');
}

/* Queries gathered to be answered with one matrix product. */
struct batch {
	size_t *q, qn, qcap;    /* rows of all queries */
	size_t *qoff;           /* nb + 1 offsets into q */
	long *line;             /* each query's number */
	size_t nb, max;
	te_rec_hit *hits;       /* max * n */
	size_t *counts;
};

/* One query, the ids in [s, s+len), added to the batch.  where and line
 * name it in messages. */
static void
add_query(te_rec *r, const char *s, size_t len, const char *where, long line,
          struct batch *b)
{
	te_diag d = {0};
	long k = te_rec_parse_query(r, s, len, where, line, &b->q, &b->qn, &b->qcap, warn_cb,
	                            NULL, &d);

	if (k < 0)
		die_diag(&d);
	if (k == 0)
		return;
	b->line[b->nb] = line;
	b->qoff[++b->nb] = b->qn;
}

static void
flush(te_rec *r, struct batch *b, te_rec_combine how, size_t n)
{
	te_diag d = {0};

	if (b->nb == 0)
		return;
	if (te_rec_query_many(r, b->q, b->qoff, b->nb, how, n, b->hits, b->counts, &d) < 0)
		die_diag(&d);
	for (size_t i = 0; i < b->nb; i++)
		for (size_t k = 0; k < b->counts[i]; k++)
			print_hit(r, b->line[i], &b->hits[i * n + k]);
	b->nb = 0;
	b->qn = 0;
}

/* More input ready without waiting?  Then it can join the batch; otherwise
 * the queries so far are answered now, so that a program talking to us
 * line by line gets its answer. */
static int
input_pending(FILE *fp)
{
	struct pollfd p = {.fd = fileno(fp), .events = POLLIN};

#ifdef __GLIBC__
	if (fp->_IO_read_ptr < fp->_IO_read_end)
		return 1;
#endif
	return poll(&p, 1, 0) > 0;
}

static void
sequences(int cornell, int argc, char **argv, int fields[4], double min_rating)
{
	te_rec_events *ev = NULL;
	te_diag d = {0};
	int nfiles = argc > 0 ? argc : 1;

	if (!cornell) {
		ev = te_rec_events_new(fields[0], fields[1], fields[2], fields[3], min_rating);
		if (!ev)
			die("out of memory");
	}
	for (int i = 0; i < nfiles; i++) {
		const char *path = argc > 0 ? argv[i] : "-";
		te_reader *in = te_reader_open(path, '\n', &d);
		int rc;

		if (!in) {
			warn_diag(&d);
			status = 1;
			continue;
		}
		if (cornell) {
			te_reader_strip_cr(in, 1);
			rc = te_rec_cornell(in, stdout, &d);
		} else {
			rc = te_rec_events_read(ev, in, ',', warn_cb, NULL, &d);
		}
		if (rc < 0) {
			if (!d.file[0])
				snprintf(d.file, sizeof d.file, "%s", path);
			warn_diag(&d);
			status = 1;
		}
		te_reader_close(in);
	}
	if (ev) {
		if (te_rec_events_write(ev, stdout, &d) < 0) {
			warn_diag(&d);
			status = 1;
		}
		te_rec_events_free(ev);
	}
	exit(fshut_stdout(status));
}

static struct {
	const char *vpath, *eval, *train, *tune;
	te_rec_tune_params tp;
	int tune_given;
	size_t n, context;
	int context_given, csv, seq, cornell, fields[4], fields_given, have_minr;
	double min_rating;
	te_rec_combine how;
} opt = {
	.n = 10, .context = 5, .fields = {0, 1, -1, -1}, .how = TE_REC_COMBINE_MEAN,
};

/* Options into opt; argc and argv left with the operands. */
static void
parse_options(int *argcp, char ***argvp)
{
	int argc = *argcp, c;
	char **argv = *argvp;

	te_rec_tune_params_default(&opt.tp);
	enum { O_META = 256, O_CSV, O_COMBINE, O_JSON, O_EVAL, O_TRAIN, O_CONTEXT,
	       O_SEQ, O_CORNELL, O_FIELDS, O_MINR, O_TUNE, O_HOLDOUT, O_DIM, O_SEED,
	       O_THREADS, O_VERSION };
	static const struct option longopts[] = {
		{"vectors", required_argument, NULL, 'v'},
		{"count", required_argument, NULL, 'n'},
		{"meta", required_argument, NULL, O_META},
		{"csv", no_argument, NULL, O_CSV},
		{"combine", required_argument, NULL, O_COMBINE},
		{"json", no_argument, NULL, O_JSON},
		{"eval", required_argument, NULL, O_EVAL},
		{"train", required_argument, NULL, O_TRAIN},
		{"context", required_argument, NULL, O_CONTEXT},
		{"sequences", no_argument, NULL, O_SEQ},
		{"cornell", no_argument, NULL, O_CORNELL},
		{"fields", required_argument, NULL, O_FIELDS},
		{"min-rating", required_argument, NULL, O_MINR},
		{"tune", required_argument, NULL, O_TUNE},
		{"holdout", required_argument, NULL, O_HOLDOUT},
		{"vector-size", required_argument, NULL, O_DIM},
		{"seed", required_argument, NULL, O_SEED},
		{"threads", required_argument, NULL, O_THREADS},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	while ((c = getopt_long(argc, argv, "hv:n:", longopts, NULL)) != -1) {
		if (c >= O_HOLDOUT && c <= O_THREADS)
			opt.tune_given = 1;
		switch (c) {
		case 'h':
			usage(stdout, 0);
			break;
		case 'v':
			opt.vpath = optarg;
			break;
		case 'n':
			opt.n = (size_t)opt_ll(usage_line, "-n", optarg, 1, 100000000);
			break;
		case O_META:
			meta_path = optarg;
			break;
		case O_CSV:
			opt.csv = 1;
			break;
		case O_COMBINE:
			if (te_rec_combine_parse(optarg, &opt.how) < 0)
				usage_error(usage_line, "--combine: '%s' is not mean, sum, max or "
				            "recent", optarg);
			break;
		case O_JSON:
			json = 1;
			break;
		case O_EVAL:
			opt.eval = optarg;
			break;
		case O_TRAIN:
			opt.train = optarg;
			break;
		case O_CONTEXT:
			opt.context = (size_t)opt_ll(usage_line, "--context", optarg, 1, 1000000);
			opt.context_given = 1;
			break;
		case O_SEQ:
			opt.seq = 1;
			break;
		case O_CORNELL:
			opt.cornell = 1;
			break;
		case O_FIELDS:
			if (te_rec_fields_parse(optarg, opt.fields) < 0)
				usage_error(usage_line, "--fields: '%s' is not U,I,T or U,I,T,R (column "
				            "numbers from 1; T 0 for the last)", optarg);
			opt.fields_given = 1;
			break;
		case O_MINR:
			opt.min_rating = opt_double(usage_line, "--min-rating", optarg, -1e300, 1e300);
			opt.have_minr = 1;
			break;
		case O_TUNE:
			opt.tune = optarg;
			break;
		case O_HOLDOUT:
			opt.tp.holdout = (size_t)opt_ll(usage_line, "--holdout", optarg, 1, 1000000);
			break;
		case O_DIM:
			opt.tp.w2v.dim = (int)opt_ll(usage_line, "--vector-size", optarg, 1, 100000);
			break;
		case O_SEED:
			opt.tp.w2v.seed = (uint64_t)opt_ll(usage_line, "--seed", optarg, 0, INT64_MAX);
			break;
		case O_THREADS:
			opt.tp.threads = (int)opt_ll(usage_line, "--threads", optarg, 0, 1024);
			break;
		case O_VERSION:
			print_version();
		default:
			usage_error(usage_line, NULL);
		}
	}
	*argcp = argc - optind;
	*argvp = argv + optind;
}

/* --tune: the table of the settings tried and the best one's command. */
static void
run_tune(void)
{
	te_diag d = {0};
	te_reader *in = te_reader_open(opt.tune, '\n', &d);
	te_w2v_params best;

	if (!in)
		die_diag(&d);
	opt.tp.n = opt.n;
	opt.tp.context = opt.context;
	if (te_rec_tune(in, &opt.tp, stdout, &best, &d) < 0)
		die_diag(&d);
	te_reader_close(in);
	exit(fshut_stdout(status));
}

/* The modes' options: --sequences and --tune are run here. */
static void
check_options(int argc, char **argv)
{
	if (opt.seq) {
		if (opt.cornell == opt.csv)
			usage_error(usage_line, "--sequences needs one of --cornell or --csv");
		if (opt.vpath || opt.eval || meta_path)
			usage_error(usage_line, "--sequences takes no vectors, --eval or --meta");
		if (opt.cornell && (opt.fields_given || opt.have_minr))
			usage_error(usage_line, "--fields and --min-rating are for --csv event logs");
		if (opt.have_minr && opt.fields[3] < 0)
			opt.fields[3] = 2;
		sequences(opt.cornell, argc, argv, opt.fields, opt.have_minr ? opt.min_rating : -1e300);
	}
	if (opt.tune_given && !opt.tune)
		usage_error(usage_line, "--holdout, --vector-size, --seed and --threads go with --tune");
	if (opt.tune) {
		if (opt.vpath || opt.eval || opt.train || meta_path || opt.csv || argc > 0)
			usage_error(usage_line, "--tune takes no vectors, --eval, --train, --meta or ids");
		run_tune();
	}
	if (opt.cornell || opt.fields_given || opt.have_minr)
		usage_error(usage_line, "--cornell, --fields and --min-rating need --sequences");
	if (!opt.vpath)
		usage_error(usage_line, "no vectors: give -v VECTORS");
	if ((opt.train || opt.context_given) && !opt.eval)
		usage_error(usage_line, "--train and --context go with --eval or --tune");
	if (opt.eval && (argc > 0 || meta_path))
		usage_error(usage_line, "--eval takes no ids or --meta");
	if (opt.csv && !meta_path)
		usage_error(usage_line, "--csv goes with --meta or --sequences");

}

/* --eval: the metrics of the vectors (and of popularity with --train). */
static void
run_eval(te_rec *r)
{
	te_diag d = {0};
	te_reader *test = te_reader_open(opt.eval, '\n', &d), *tr = NULL;
	te_rec_metrics vm, pm;

	if (!test)
		die_diag(&d);
	if (opt.train && !(tr = te_reader_open(opt.train, '\n', &d)))
		die_diag(&d);
	if (te_rec_eval(r, test, tr, opt.n, opt.context, opt.how, &vm, &pm, &d) < 0)
		die_diag(&d);
	/* an evaluation of nothing is no evaluation (tokemb(5), ERRORS) */
	if (!vm.queries)
		die("%s: nothing to evaluate: no sequence of two items or more", opt.eval);
	te_rec_metrics_write(stdout, &vm, tr ? &pm : NULL, opt.n, opt.context, opt.how, json);
	te_reader_close(test);
	te_reader_close(tr);
}

/* Queries from the arguments, or else standard input, answered in batches. */
static void
answer_queries(te_rec *r, int argc, char **argv)
{
	te_diag d = {0};
	struct batch batch = {0};
	size_t n = opt.n;
	te_rec_combine how = opt.how;

	/* hits for up to 64 queries, less when n is large */
	size_t per = n < te_rec_items(r) ? n : te_rec_items(r) + 1;

	batch.max = per > (1u << 20) / 64 ? 1 : 64;
	batch.q = NULL;
	batch.qoff = calloc(batch.max + 1, sizeof *batch.qoff);
	batch.line = calloc(batch.max, sizeof *batch.line);
	batch.counts = calloc(batch.max, sizeof *batch.counts);
	/* flush() indexes hits by n; n is capped to what can come back */
	n = per;
	batch.hits = malloc(batch.max * per * sizeof *batch.hits);
	if (!batch.qoff || !batch.line || !batch.counts || !batch.hits)
		die("out of memory");
	if (argc > 0) {
		for (int i = 0; i < argc; i++) {
			add_query(r, argv[i], strlen(argv[i]), "argument", i + 1, &batch);
			if (batch.nb == batch.max)
				flush(r, &batch, how, n);
		}
		flush(r, &batch, how, n);
	} else {
		te_reader *in = te_reader_from_fp(stdin, "-", '\n');
		char *s;
		size_t len;
		int rc;

		if (!in)
			die("out of memory");
		while ((rc = te_reader_next(in, &s, &len, &d)) == 1) {
			add_query(r, s, len, "-", te_reader_lineno(in), &batch);
			if (batch.nb == batch.max || !input_pending(stdin))
				flush(r, &batch, how, n);
		}
		flush(r, &batch, how, n);
		if (rc < 0) {
			warn_diag(&d);
			status = 1;
		}
		te_reader_close(in);
	}
	free(batch.q);
	free(batch.qoff);
	free(batch.line);
	free(batch.counts);
	free(batch.hits);
}

int
main(int argc, char **argv)
{
	te_diag d = {0};
	te_vecs *vecs;
	te_rec *r;

	prog_init("recommend");
	parse_options(&argc, &argv);
	check_options(argc, argv);
	vecs = te_vecs_load(opt.vpath, TE_VEC_FORMAT_AUTO, &d);
	if (!vecs)
		die_diag(&d);
	r = te_rec_new(vecs, &d);
	if (!r) {
		if (!d.file[0])
			snprintf(d.file, sizeof d.file, "%s", opt.vpath);
		die_diag(&d);
	}

	if (opt.eval) {
		run_eval(r);
		te_rec_free(r);
		te_vecs_free(vecs);
		return fshut_stdout(status);
	}
	if (meta_path) {
		meta = te_rec_meta_load(meta_path, opt.csv, warn_cb, NULL, &d);
		if (!meta)
			die_diag(&d);
		nmeta = te_rec_meta_fields(meta);
		meta_warned = calloc(te_rec_items(r) ? te_rec_items(r) : 1, 1);
		if (!meta_warned)
			die("out of memory");
	}
	answer_queries(r, argc, argv);
	free(meta_warned);
	te_rec_meta_free(meta);
	te_rec_free(r);
	te_vecs_free(vecs);
	return fshut_stdout(status);
}
