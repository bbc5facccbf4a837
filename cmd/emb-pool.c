/* emb-pool: pool token vectors into one vector per document. See emb-pool(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_line[] =
	"emb-pool [-bn] [-m MODEL | -p MODE] [-d N] [file ...]";

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
		      "  -n, --normalize    L2-normalize the result\n"
		      "  -d, --dim N        keep the first N components (Matryoshka), normalized\n"
		      "                     again when the pipeline normalizes\n"
		      "  -b, --binary       write a TEVEC vector stream\n"
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
	int binary;
	int header;
	size_t dim;          /* of the output, once known */
	size_t pending;      /* empty documents seen before the dimension was known */
} out_state;

static void
emit(out_state *o, const float *x, size_t dim)
{
	if (o->binary) {
		if (!o->header) {
			if (te_vec_write_tevec_header(stdout, TE_VEC_ROWS_STREAM, dim, 0, 0) < 0)
				exit(fshut_stdout(1));
			o->header = 1;
		}
		te_vec_write_tevec_row(stdout, x, dim);
	} else {
		te_vec_write_text(stdout, NULL, x, dim);
	}
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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"model", required_argument, NULL, 'm'},
		{"pool", required_argument, NULL, 'p'},
		{"mode", required_argument, NULL, 'p'},
		{"normalize", no_argument, NULL, 'n'},
		{"binary", no_argument, NULL, 'b'},
		{"dim", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *mode = NULL;
	int c, normalize = 0, status = 0;
	te_pipeline *p;
	te_diag d = {0};
	out_state o = {0};
	float *out = NULL, *zeros = NULL;
	size_t outcap = 0, keep = 0;

	prog_init("emb-pool");
	while ((c = getopt_long(argc, argv, "hm:p:nbd:", longopts, NULL)) != -1) {
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
			normalize = 1;
			break;
		case 'b':
			o.binary = 1;
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
	if (o.binary)
		refuse_binary_tty(usage_line);
	p = open_pipeline(model, mode, normalize);
	te_pipeline_truncate(p, keep);
	for (int i = optind; i < argc || i == optind; i++) {
		const char *name = i < argc ? argv[i] : "-";
		te_vecstream *s = te_vecstream_open(name, &d);
		float *x;
		size_t rows, dim;
		int rc;

		if (!s) {
			warn_diag(&d);
			status = 1;
			continue;
		}
		for (;;) {
			/* the document's first line, for messages about it whole */
			long first = te_vecstream_lineno(s) + 1;
			size_t od;

			if ((rc = te_vecstream_next_doc(s, &x, &rows, &dim, &d)) != 1)
				break;

			if (rows == 0 && dim == 0 && o.dim == 0) {
				/* the dimension is not known yet: hold the empty document */
				o.pending++;
				continue;
			}
			od = te_pipeline_out_dim(p, dim, &d);
			if (od == 0) {
				if (!d.file[0])
					snprintf(d.file, sizeof d.file, "%s", name);
				if (!d.line)
					d.line = first;
				die_diag(&d);
			}
			if (o.dim && od != o.dim) {
				te_diag_set(&d, name, te_vecstream_lineno(s), "documents of different "
				            "dimensions (%zu, then %zu)", o.dim, od);
				die_diag(&d);
			}
			if (od > outcap) {
				free(out);
				free(zeros);
				out = malloc(od * sizeof *out);
				zeros = calloc(od, sizeof *zeros);
				if (!out || !zeros)
					die("out of memory");
				outcap = od;
			}
			o.dim = od;
			for (; o.pending; o.pending--)
				emit(&o, zeros, od);
			if (te_pipeline_apply(p, x, rows, dim, out, &d) < 0) {
				if (!d.file[0])
					snprintf(d.file, sizeof d.file, "%s", name);
				die_diag(&d);
			}
			emit(&o, out, od);
		}
		if (rc < 0) {
			warn_diag(&d);
			status = 1;
		}
		te_vecstream_close(s);
	}
	/* empty documents whose dimension never became known: zeros of the
	 * model's dimension where it gives one, else empty lines (text) */
	if (o.pending && te_pipeline_in_dim(p)) {
		size_t od = te_pipeline_out_dim(p, te_pipeline_in_dim(p), &d);
		float *z = od ? calloc(od, sizeof *z) : NULL;

		if (!od)
			die_diag(&d);
		if (!z)
			die("out of memory");
		for (; o.pending; o.pending--)
			emit(&o, z, od);
		free(z);
	} else if (o.pending && o.binary) {
		die("%zu empty documents and no vector dimension to write them in binary "
		    "(a model directory, -m, gives it)", o.pending);
	}
	for (; o.pending; o.pending--)
		putchar('\n');
	free(out);
	free(zeros);
	te_pipeline_free(p);
	return fshut_stdout(status);
}
