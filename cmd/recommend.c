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
	"       recommend --sequences (--cornell | --csv [--fields U,I,T[,R]] [--min-rating X]) [FILE...]";

static const char *const combine_names[] = {"mean", "sum", "max", "recent"};

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

/* A JSON string: escapes, and invalid UTF-8 as U+FFFD so the line parses. */
static void
json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t ok;

		if (c >= 0x80) {
			ok = te_utf8_valid_prefix(s + i, n - i < 4 ? n - i : 4);
			if (ok == 0) {
				fputs("\xef\xbf\xbd", stdout);
				i++;
				continue;
			}
			/* one whole character */
			size_t cl = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (ok < cl) {
				fputs("\xef\xbf\xbd", stdout);
				i++;
				continue;
			}
			fwrite(s + i, 1, cl, stdout);
			i += cl;
			continue;
		}
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
		i++;
	}
	putchar('"');
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
		json_str(key, strlen(key));
		printf(",\"score\":%.6f", h->score);
		if (meta) {
			fputs(",\"meta\":[", stdout);
			if (m) {
				const char *p = m;

				for (int first = 1;; first = 0) {
					const char *t = strchr(p, '\t');
					size_t l = t ? (size_t)(t - p) : strlen(p);

					if (!first)
						putchar(',');
					json_str(p, l);
					if (!t)
						break;
					p = t + 1;
				}
			}
			putchar(']');
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
	size_t start = b->qn;
	int any = 0;
	long unknown = 0;	/* a line of a million unknown ids is not a million messages */

	for (size_t i = 0; i < len;) {
		size_t t;
		long row;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i >= len)
			break;
		t = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		any = 1;
		row = te_rec_find(r, s + t, i - t);
		if (row < 0) {
			size_t l = i - t;

			status = 1;
			if (++unknown > 10)
				continue;
			if (memchr(s + t, '\0', l))
				warnx_("%s:%ld: unknown id (holds a NUL byte)", where, line);
			else
				warnx_("%s:%ld: unknown id '%.*s'", where, line,
				       (int)(l > 80 ? 80 : l), s + t);
			continue;
		}
		if (b->qn == b->qcap) {
			size_t nc = b->qcap ? b->qcap * 2 : 256;
			size_t *nq = realloc(b->q, nc * sizeof *nq);

			if (!nq)
				die("out of memory");
			b->q = nq;
			b->qcap = nc;
		}
		b->q[b->qn++] = (size_t)row;
	}
	if (unknown > 10)
		warnx_("%s:%ld: %ld more unknown ids on this line", where, line,
		       unknown - 10);
	if (!any) {
		warnx_("%s:%ld: empty query", where, line);
		status = 1;
		return;
	}
	if (b->qn == start)
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
print_eval(const te_rec_metrics *v, const te_rec_metrics *p, int have_pop, size_t n,
           size_t context, te_rec_combine how)
{
	if (json) {
		printf("{\"n\":%zu,\"context\":%zu,\"combine\":\"%s\",\"queries\":%zu,"
		       "\"no_context\":%zu,\"no_target\":%zu,"
		       "\"vectors\":{\"hit\":%.6f,\"recall\":%.6f,\"mrr\":%.6f,\"coverage\":%.6f}",
		       n, context, combine_names[how], v->queries, v->no_context, v->no_target,
		       v->hit, v->recall, v->mrr, v->coverage);
		if (have_pop)
			printf(",\"popularity\":{\"hit\":%.6f,\"recall\":%.6f,\"mrr\":%.6f,"
			       "\"coverage\":%.6f}", p->hit, p->recall, p->mrr, p->coverage);
		fputs("}\n", stdout);
		return;
	}
	printf("metric\tvectors\tpopularity\n");
	/* both sides answer the same queries */
	if (have_pop)
		printf("queries\t%zu\t%zu\n", v->queries, p->queries);
	else
		printf("queries\t%zu\t-\n", v->queries);
#define ROW(name, a, b) \
	do { \
		printf("%s@%zu\t%.4f\t", name, n, a); \
		if (have_pop) printf("%.4f\n", b); else puts("-"); \
	} while (0)
	ROW("hit", v->hit, p->hit);
	ROW("recall", v->recall, p->recall);
	ROW("mrr", v->mrr, p->mrr);
	ROW("coverage", v->coverage, p->coverage);
#undef ROW
	printf("no_context\t%zu\t-\n", v->no_context);
	printf("no_target\t%zu\t-\n", v->no_target);
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

static void
parse_fields(const char *arg, int fields[4])
{
	long long v[4];
	int k = 0;
	const char *p = arg;

	while (k < 4) {
		char buf[32];
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);

		if (l == 0 || l >= sizeof buf)
			break;
		memcpy(buf, p, l);
		buf[l] = '\0';
		if (te_parse_ll(buf, k == 2 ? 0 : 1, 10000, &v[k]) < 0)
			break;
		k++;
		if (!c) {
			p = NULL;
			break;
		}
		p = c + 1;
	}
	if (p || k < 3)
		usage_error(usage_line, "--fields: '%s' is not U,I,T or U,I,T,R (column "
		            "numbers from 1; T 0 for the last)", arg);
	fields[0] = (int)v[0] - 1;
	fields[1] = (int)v[1] - 1;
	fields[2] = (int)v[2] - 1;   /* 0 becomes -1: the last column */
	if (k == 4)
		fields[3] = (int)v[3] - 1;
}

int
main(int argc, char **argv)
{
	enum { O_META = 256, O_CSV, O_COMBINE, O_JSON, O_EVAL, O_TRAIN, O_CONTEXT,
	       O_SEQ, O_CORNELL, O_FIELDS, O_MINR, O_VERSION };
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
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	const char *vpath = NULL, *eval = NULL, *train = NULL;
	size_t n = 10, context = 5;
	int context_given = 0;
	te_rec_combine how = TE_REC_COMBINE_MEAN;
	int csv = 0, seq = 0, cornell = 0, fields[4] = {0, 1, -1, -1}, fields_given = 0;
	int have_minr = 0;
	double min_rating = 0;
	te_diag d = {0};
	te_vecs *vecs;
	te_rec *r;
	struct batch batch = {0};
	int c;

	prog_init("recommend");
	while ((c = getopt_long(argc, argv, "hv:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout, 0);
			break;
		case 'v':
			vpath = optarg;
			break;
		case 'n':
			n = (size_t)opt_ll(usage_line, "-n", optarg, 1, 100000000);
			break;
		case O_META:
			meta_path = optarg;
			break;
		case O_CSV:
			csv = 1;
			break;
		case O_COMBINE:
			if (te_rec_combine_parse(optarg, &how) < 0)
				usage_error(usage_line, "--combine: '%s' is not mean, sum, max or "
				            "recent", optarg);
			break;
		case O_JSON:
			json = 1;
			break;
		case O_EVAL:
			eval = optarg;
			break;
		case O_TRAIN:
			train = optarg;
			break;
		case O_CONTEXT:
			context = (size_t)opt_ll(usage_line, "--context", optarg, 1, 1000000);
			context_given = 1;
			break;
		case O_SEQ:
			seq = 1;
			break;
		case O_CORNELL:
			cornell = 1;
			break;
		case O_FIELDS:
			parse_fields(optarg, fields);
			fields_given = 1;
			break;
		case O_MINR:
			min_rating = opt_double(usage_line, "--min-rating", optarg, -1e300, 1e300);
			have_minr = 1;
			break;
		case O_VERSION:
			print_version();
		default:
			usage_error(usage_line, NULL);
		}
	}
	argc -= optind;
	argv += optind;

	if (seq) {
		if (cornell == csv)
			usage_error(usage_line, "--sequences needs one of --cornell or --csv");
		if (vpath || eval || meta_path)
			usage_error(usage_line, "--sequences takes no vectors, --eval or --meta");
		if (cornell && (fields_given || have_minr))
			usage_error(usage_line, "--fields and --min-rating are for --csv event logs");
		if (have_minr && fields[3] < 0)
			fields[3] = 2;
		sequences(cornell, argc, argv, fields, have_minr ? min_rating : -1e300);
	}
	if (cornell || fields_given || have_minr)
		usage_error(usage_line, "--cornell, --fields and --min-rating need --sequences");
	if (!vpath)
		usage_error(usage_line, "no vectors: give -v VECTORS");
	if ((train || context_given) && !eval)
		usage_error(usage_line, "--train and --context go with --eval");
	if (eval && (argc > 0 || meta_path))
		usage_error(usage_line, "--eval takes no ids or --meta");
	if (csv && !meta_path)
		usage_error(usage_line, "--csv goes with --meta or --sequences");

	vecs = te_vecs_load(vpath, TE_VEC_FORMAT_AUTO, &d);
	if (!vecs)
		die_diag(&d);
	r = te_rec_new(vecs, &d);
	if (!r) {
		if (!d.file[0])
			snprintf(d.file, sizeof d.file, "%s", vpath);
		die_diag(&d);
	}

	if (eval) {
		te_reader *test = te_reader_open(eval, '\n', &d), *tr = NULL;
		te_rec_metrics vm, pm;

		if (!test)
			die_diag(&d);
		if (train && !(tr = te_reader_open(train, '\n', &d)))
			die_diag(&d);
		if (te_rec_eval(r, test, tr, n, context, how, &vm, &pm, &d) < 0)
			die_diag(&d);
		print_eval(&vm, &pm, tr != NULL, n, context, how);
		te_reader_close(test);
		te_reader_close(tr);
		te_rec_free(r);
		te_vecs_free(vecs);
		return fshut_stdout(status);
	}

	if (meta_path) {
		meta = te_rec_meta_load(meta_path, csv, warn_cb, NULL, &d);
		if (!meta)
			die_diag(&d);
		nmeta = te_rec_meta_fields(meta);
		meta_warned = calloc(te_rec_items(r) ? te_rec_items(r) : 1, 1);
		if (!meta_warned)
			die("out of memory");
	}
	{
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
	}
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
	free(meta_warned);
	te_rec_meta_free(meta);
	te_rec_free(r);
	te_vecs_free(vecs);
	return fshut_stdout(status);
}
