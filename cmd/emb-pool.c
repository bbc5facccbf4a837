/* emb-pool: pool token vectors into one vector per document. See emb-pool(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_line[] =
	"emb-pool [-bz] [-m MODEL | -p MODE [--normalize]] [-d N] [--keys FILE|lineno]\n"
	"                [--format text|tsv|tevec|npy] [file ...]";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\nReads token vectors (emb-token's output, text or binary) and writes "
		      "one\nvector per document.\n\n"
		      "  -m, --model MODEL  do what the model's sentence-transformers pipeline "
		      "does\n"
		      "                     (modules.json: Pooling, Dense, Normalize)\n"
		      "  -p, --pool MODE    mean (default), cls, max, mean-sqrt-len, "
		      "weighted-mean, last\n"
		      "      --normalize    L2-normalize the result\n"
		      "  -d, --dim N        keep the first N components (Matryoshka), normalized\n"
		      "                     again when the pipeline normalizes\n"
		      "  -z, --null         end each vector (text) with NUL, not newline\n"
		      "  -b, --binary       write a TEVEC vector stream (--format tevec)\n"
		      "      --keys FILE    key each vector: the lines of FILE, one per "
		      "document;\n"
		      "                     'lineno': the document's number, from 1\n"
		      "      --format F     text (default), tsv (key<TAB>numbers), tevec "
		      "or npy\n"
		      "  -h, --help         this help\n"
		      "      --version      version and build\n", fp);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

static const struct {
	const char *name;
	te_pool_mode mode;
} modes[] = {
	{"mean", TE_POOL_MEAN}, {"cls", TE_POOL_CLS}, {"max", TE_POOL_MAX},
	{"mean-sqrt-len", TE_POOL_MEAN_SQRT}, {"weighted-mean", TE_POOL_WEIGHTED},
	{"last", TE_POOL_LAST},
};

typedef struct out_state {
	te_vec_format fmt;
	te_vecw *w;          /* once the dimension is known */
	const char *keys;    /* --keys: a file, or "lineno" */
	te_reader *kr;       /* the keys file */
	size_t docs;         /* documents written */
	int end;             /* what ends a text vector: newline, or NUL (-z) */
	size_t dim;          /* of the output, once known */
	size_t pending;      /* empty documents seen before the dimension was known */
	float *out, *zeros;  /* a pooled vector, and zeros for an empty document */
	size_t outcap;
} out_state;

/* The key of the next document, from --keys. */
static const char *
next_key(out_state *o)
{
	static char num[32];
	te_diag d = {0};
	char *line;
	size_t len;
	int rc;

	if (!o->keys)
		return NULL;
	if (!o->kr) {
		snprintf(num, sizeof num, "%zu", o->docs + 1);
		return num;
	}
	rc = te_reader_next(o->kr, &line, &len, &d);
	if (rc < 0)
		die_diag(&d);
	if (rc == 0)
		die("%s: %zu keys, fewer than the documents", o->keys, o->docs);
	if (memchr(line, '\0', len))
		die("%s:%zu: NUL byte in a key", o->keys, o->docs + 1);
	return line;
}

static void
emit(out_state *o, const float *x, size_t dim)
{
	te_diag d = {0};
	const char *key = next_key(o);

	if (!o->w) {
		if (!(o->w = te_vecw_new(stdout, o->fmt, o->keys != NULL, NULL, &d)))
			die_diag(&d);
		te_vecw_set_end(o->w, o->end);
	}
	if (te_vecw_put(o->w, key, x, dim, &d) < 0) {
		if (o->keys && o->kr) {
			snprintf(d.file, sizeof d.file, "%s", o->keys);
			d.line = (long)o->docs + 1;
		}
		die_diag(&d);
	}
	o->docs++;
}

/* --format and --keys: the writer's settings. */
static void
set_format(out_state *o, const char *f)
{
	static const struct {
		const char *name;
		te_vec_format fmt;
	} names[] = {
		{"text", TE_VEC_FORMAT_TEXT}, {"tsv", TE_VEC_FORMAT_TSV},
		{"tevec", TE_VEC_FORMAT_TEVEC}, {"binary", TE_VEC_FORMAT_TEVEC},
		{"npy", TE_VEC_FORMAT_NPY},
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(f, names[i].name) == 0) {
			o->fmt = names[i].fmt;
			return;
		}
	usage_error(usage_line, "--format: '%s' is not text, tsv, tevec or npy", f);
}

static void
open_keys(out_state *o)
{
	te_diag d = {0};

	if (!o->keys || strcmp(o->keys, "lineno") == 0)
		return;
	if (o->fmt == TE_VEC_FORMAT_NPY)
		usage_error(usage_line, "--format npy holds no keys: use --format tevec, "
		            "tsv or text with --keys");
	if (!(o->kr = te_reader_open(o->keys, '\n', &d)))
		die_diag(&d);
	te_reader_strip_cr(o->kr, 1);
}

/* The model's pipeline (-m), or one pooling mode and -n. */
static te_pipeline *
open_pipeline(const char *model, const char *mode, int normalize)
{
	te_pipeline *p;
	te_diag d = {0};

	if (model) {
		p = te_pipeline_load(model, &d);
		if (!p)
			die_diag(&d);
	} else {
		te_pool_mode pm = TE_POOL_MEAN;
		size_t k;

		if (mode) {
			for (k = 0; k < sizeof modes / sizeof modes[0]; k++)
				if (strcmp(mode, modes[k].name) == 0)
					break;
			if (k == sizeof modes / sizeof modes[0])
				usage_error(usage_line, "--pool: unknown mode '%s' (mean, cls, max, "
				            "mean-sqrt-len, weighted-mean, last)", mode);
			pm = modes[k].mode;
		}
		p = te_pipeline_new(pm, normalize);
		if (!p)
			die("out of memory");
	}
	return p;
}

/* The end: empty documents whose dimension never became known (zeros of
 * the model's dimension where it gives one, else empty lines in text), the
 * keys left over, the held rows.  Returns 1 when keys were left over. */
static int
finish(out_state *o, te_pipeline *p)
{
	te_diag d = {0};
	int status = 0;

	if (o->pending && te_pipeline_in_dim(p)) {
		size_t od = te_pipeline_out_dim(p, te_pipeline_in_dim(p), &d);
		float *z = od ? calloc(od, sizeof *z) : NULL;

		if (!od)
			die_diag(&d);
		if (!z)
			die("out of memory");
		for (; o->pending; o->pending--)
			emit(o, z, od);
		free(z);
	} else if (o->pending && (o->fmt != TE_VEC_FORMAT_TEXT || o->keys)) {
		die("%zu empty documents and no vector dimension to write them in binary "
		    "(a model directory, -m, gives it)", o->pending);
	}
	for (; o->pending; o->pending--)
		putchar(o->end);
	if (o->kr && te_reader_next(o->kr, &(char *){NULL}, &(size_t){0}, &d) == 1) {
		warnx_("%s: more keys than the %zu documents", o->keys, o->docs);
		status = 1;
	}
	te_reader_close(o->kr);
	if (te_vecw_close(o->w, &d) < 0)
		die_diag(&d);
	return status;
}

/* Pool each document of one input; a bad document is reported and written
 * as an empty one.  Returns 1 when something was reported. */
static int
pool_stream(out_state *o, te_pipeline *p, const char *name)
{
	te_diag d = {0};
	te_vecstream *s = te_vecstream_open(name, &d);
	float *x;
	size_t rows, dim;
	int rc, status = 0;

	if (!s) {
		warn_diag(&d);
		return 1;
	}
	for (;;) {
		/* the document's first line, for messages about it whole */
		long first = te_vecstream_lineno(s) + 1;
		size_t od;

		rc = te_vecstream_next_doc(s, &x, &rows, &dim, &d);
		if (rc == 2) {
			/* a bad row: the document reported, written as an empty one */
			warn_diag(&d);
			memset(&d, 0, sizeof d);
			status = 1;
			rows = 0;
		} else if (rc != 1) {
			break;
		}
		if (rows == 0 && (rc == 2 || dim == 0) && o->dim == 0) {
			/* the dimension is not known yet: hold the empty document */
			o->pending++;
			continue;
		}
		od = rc == 2 ? o->dim : te_pipeline_out_dim(p, dim, &d);
		if (od == 0) {
			/* a width the model does not take: reported, written as
			 * an empty document, the stream goes on */
			if (!d.file[0])
				snprintf(d.file, sizeof d.file, "%s", name);
			if (!d.line)
				d.line = first;
			warn_diag(&d);
			memset(&d, 0, sizeof d);
			status = 1;
			if (!o->dim) {
				o->pending++;
				continue;
			}
			od = o->dim;
			rows = 0;
			rc = 2;
		}
		if (o->dim && od != o->dim) {
			te_diag_set(&d, name, te_vecstream_lineno(s), "documents of different "
			            "dimensions (%zu, then %zu)", o->dim, od);
			die_diag(&d);
		}
		if (od > o->outcap) {
			free(o->out);
			free(o->zeros);
			o->out = malloc(od * sizeof *o->out);
			o->zeros = calloc(od, sizeof *o->zeros);
			if (!o->out || !o->zeros)
				die("out of memory");
			o->outcap = od;
		}
		o->dim = od;
		for (; o->pending; o->pending--)
			emit(o, o->zeros, od);
		if (rc == 2) {
			emit(o, o->zeros, od);
			continue;
		}
		if (te_pipeline_apply(p, x, rows, dim, o->out, &d) < 0) {
			if (!d.file[0])
				snprintf(d.file, sizeof d.file, "%s", name);
			die_diag(&d);
		}
		emit(o, o->out, od);
	}
	if (rc < 0) {
		warn_diag(&d);
		status = 1;
	}
	te_vecstream_close(s);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"model", required_argument, NULL, 'm'},
		{"pool", required_argument, NULL, 'p'},
		{"mode", required_argument, NULL, 'p'},
		{"normalize", no_argument, NULL, 'N'},
		{"null", no_argument, NULL, 'z'},
		{"binary", no_argument, NULL, 'b'},
		{"keys", required_argument, NULL, 'K'},
		{"format", required_argument, NULL, 'F'},
		{"dim", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *mode = NULL;
	int c, normalize = 0, status = 0;
	te_pipeline *p;
	out_state o = {.fmt = TE_VEC_FORMAT_TEXT};
	size_t keep = 0;

	prog_init("emb-pool");
	o.end = '\n';
	while ((c = getopt_long(argc, argv, "hm:p:nbzd:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			print_version();
		case 'm':
			model = optarg;
			break;
		case 'p':
			mode = optarg;
			break;
		case 'n':
			deprecated("-n", "--normalize");
			/* FALLTHROUGH */
		case 'N':
			normalize = 1;
			break;
		case 'z':
			o.end = '\0';
			break;
		case 'b':
			o.fmt = TE_VEC_FORMAT_TEVEC;
			break;
		case 'K':
			o.keys = optarg;
			break;
		case 'F':
			set_format(&o, optarg);
			break;
		case 'd':
			keep = (size_t)opt_ll(usage_line, "--dim", optarg, 1, 1 << 24);
			break;
		default:
			usage_error(usage_line, NULL);
		}
	}
	if (model && (mode || normalize))
		usage_error(usage_line, "-m takes the pooling from the model; it cannot be "
		            "combined with --pool or --normalize");
	if (o.fmt == TE_VEC_FORMAT_TEVEC || o.fmt == TE_VEC_FORMAT_NPY)
		refuse_binary_tty(usage_line);
	if (o.keys && o.fmt == TE_VEC_FORMAT_NPY)
		usage_error(usage_line, "--format npy holds no keys: use --format tevec, "
		            "tsv or text with --keys");
	open_keys(&o);
	p = open_pipeline(model, mode, normalize);
	te_pipeline_truncate(p, keep);
	for (int i = optind; i < argc || i == optind; i++)
		status |= pool_stream(&o, p, i < argc ? argv[i] : "-");
	status |= finish(&o, p);
	free(o.out);
	free(o.zeros);
	te_pipeline_free(p);
	return fshut_stdout(status);
}
