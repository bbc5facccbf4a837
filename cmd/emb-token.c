/* emb-token: turn token ids into token vectors. See emb-token(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_line[] =
	"emb-token [-bsz] -m MODEL [-t N] [--dtype f32|bf16|int8] [--truncate]\n"
	"       [--max-tokens N] [--batch N] [--token-types auto|zero] [--vectors FILE]\n"
	"       [file ...]";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	if (fp == stdout)
		fputs("\nReads token-id lines (as tok-encode writes them) and writes one "
		      "vector per\ntoken, an empty line after each document.\n\n"
		      "  -m, --model MODEL    model directory, safetensors file or name\n"
		      "  -s, --static         the input embedding rows, not the encoder\n"
		      "      --vectors FILE   static vectors from a word-vector file keyed by "
		      "token\n"
		      "                       string; -m names the tokenizer.json\n"
		      "      --unknown-zero   with --vectors: zeros for tokens without a "
		      "vector\n"
		      "  -b, --binary         write the TEVEC token-vector stream\n"
		      "  -z, --null           documents (id lists) end with NUL, not newline\n"
		      "  -t, --threads N      threads (0, the default: one per CPU)\n"
		      "      --batch N        documents per batch (default 64)\n"
		      "      --dtype T        the encoder's weights in f32 (default), bf16 or "
		      "int8\n"
		      "      --truncate       cut documents longer than the model takes\n"
		      "      --max-tokens N   a lower limit than the model's\n"
		      "      --token-types M  auto (segment 1 after the first [SEP] of a "
		      "pair) or zero\n"
		      "  -h, --help           this help\n"
		      "      --version        version and build\n", fp);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

typedef struct doc {
	int32_t *ids;
	size_t n;
	long line;
	const char *file;
} doc;

typedef struct state {
	te_emb *m;
	int binary;
	int auto_types;
	size_t dim;
	doc *docs;
	size_t ndocs, cap, ntok;
	float *out;
	size_t outcap;
	size_t batch;        /* documents per batch */
	size_t maxtok;       /* --max-tokens, 0: the model's limit */
	int truncate;
	int bad;             /* a record was reported and skipped: exit 1 */
	int delim;           /* ends a document of ids: newline, or NUL (-z) */
} state;

static void
flush_batch(state *st)
{
	te_diag d = {0};
	const int32_t **ids;
	size_t *len;
	float **outp;
	size_t total = 0;

	if (st->ndocs == 0)
		return;
	ids = malloc(st->ndocs * sizeof *ids);
	len = malloc(st->ndocs * sizeof *len);
	outp = malloc(st->ndocs * sizeof *outp);
	for (size_t i = 0; i < st->ndocs; i++)
		total += st->docs[i].n;
	if (!st->out || total * st->dim > st->outcap) {
		free(st->out);
		st->outcap = total * st->dim;
		st->out = malloc((st->outcap ? st->outcap : 1) * sizeof *st->out);
	}
	if (!ids || !len || !outp || !st->out)
		die("out of memory (%zu tokens in a batch)", total);
	total = 0;
	for (size_t i = 0; i < st->ndocs; i++) {
		ids[i] = st->docs[i].ids;
		len[i] = st->docs[i].n;
		outp[i] = st->out + total * st->dim;
		total += st->docs[i].n;
	}
	/* a document the model refuses (a token without a word vector) is
	 * reported and written empty, as tok-decode writes a bad line empty;
	 * the batch runs again without it */
	while (te_emb_forward(st->m, st->ndocs, ids, len, NULL, st->auto_types, outp, &d) < 0) {
		doc *bad;

		if (d.line <= 0 || (size_t)d.line > st->ndocs)
			die_diag(&d);
		bad = &st->docs[d.line - 1];
		snprintf(d.file, sizeof d.file, "%s", bad->file);
		d.line = bad->line;
		warn_diag(&d);
		st->bad = 1;
		if (!len[bad - st->docs])
			die("%s:%ld: a document the model refuses when empty", bad->file, bad->line);
		len[bad - st->docs] = bad->n = 0;
		memset(&d, 0, sizeof d);
	}
	for (size_t i = 0; i < st->ndocs; i++) {
		const float *x = outp[i];

		if (st->binary) {
			te_vec_write_tokens_doc(stdout, x, len[i], st->dim);
		} else {
			for (size_t t = 0; t < len[i]; t++)
				te_vec_write_text(stdout, NULL, x + t * st->dim, st->dim);
			putchar('\n');
		}
		free(st->docs[i].ids);
	}
	if (ferror(stdout))
		exit(fshut_stdout(1));
	st->ndocs = 0;
	st->ntok = 0;
	free(ids);
	free(len);
	free(outp);
}

/* Add a document to the batch, running the batch when it is full. */
static void
add_doc(state *st, const te_ids *ids, const char *file, long line)
{
	doc *dc;

	if (st->ndocs == st->cap) {
		size_t nc = st->cap ? st->cap * 2 : 64;
		doc *nd = realloc(st->docs, nc * sizeof *nd);

		if (!nd)
			die("out of memory");
		st->docs = nd;
		st->cap = nc;
	}
	dc = &st->docs[st->ndocs++];
	dc->n = ids->n;
	dc->line = line;
	dc->file = file;
	dc->ids = malloc((ids->n ? ids->n : 1) * sizeof *dc->ids);
	if (!dc->ids)
		die("out of memory");
	if (ids->n)
		memcpy(dc->ids, ids->v, ids->n * sizeof *dc->ids);
	st->ntok += ids->n;
	if (st->ndocs >= st->batch || st->ntok >= 16384)
		flush_batch(st);
}

/* Embed the documents of one input; -1 when it could not be read. */
static int
do_file(state *st, const char *name, te_ids *ids)
{
	te_diag d = {0};
	te_reader *r = te_reader_open(name, st->delim, &d);
	char *line;
	size_t len;
	int rc;

	if (!r) {
		warn_diag(&d);
		return -1;
	}
	te_reader_strip_cr(r, st->delim == '\n');
	while ((rc = te_reader_next(r, &line, &len, &d)) == 1) {
		if (te_ids_parse(line, len, ids, &d) < 0 ||
		    te_emb_fit(st->m, ids->v, &ids->n, st->maxtok, st->truncate, &d) < 0) {
			/* reported, written as an empty document, the stream goes on
			 * (tokemb(5), ERRORS) */
			snprintf(d.file, sizeof d.file, "%s", te_reader_name(r));
			d.line = te_reader_lineno(r);
			warn_diag(&d);
			memset(&d, 0, sizeof d);
			st->bad = 1;
			ids->n = 0;
		}
		add_doc(st, ids, te_reader_name(r), te_reader_lineno(r));
	}
	flush_batch(st);
	if (rc < 0)
		warn_diag(&d);
	te_reader_close(r);
	return rc < 0 ? -1 : 0;
}

/* --dtype's word */
static int
parse_dtype(const char *s)
{
	if (strcmp(s, "f32") == 0 || strcmp(s, "float32") == 0)
		return TE_EMB_F32;
	if (strcmp(s, "bf16") == 0 || strcmp(s, "bfloat16") == 0)
		return TE_EMB_BF16;
	if (strcmp(s, "int8") == 0)
		return TE_EMB_INT8;
	usage_error(usage_line, "--dtype: '%s' is not f32, bf16 or int8", s);
	return TE_EMB_F32;
}

int
main(int argc, char **argv)
{
	enum { OPT_TRUNC = 256, OPT_MAXTOK, OPT_BATCH, OPT_TYPES, OPT_VECTORS, OPT_UNKZERO,
	       OPT_DTYPE };
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"model", required_argument, NULL, 'm'},
		{"static", no_argument, NULL, 's'},
		{"binary", no_argument, NULL, 'b'},
		{"threads", required_argument, NULL, 't'},
		{"null", no_argument, NULL, 'z'},
		{"truncate", no_argument, NULL, OPT_TRUNC},
		{"max-tokens", required_argument, NULL, OPT_MAXTOK},
		{"batch", required_argument, NULL, OPT_BATCH},
		{"token-types", required_argument, NULL, OPT_TYPES},
		{"vectors", required_argument, NULL, OPT_VECTORS},
		{"unknown-zero", no_argument, NULL, OPT_UNKZERO},
		{"dtype", required_argument, NULL, OPT_DTYPE},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *vectors = NULL;
	int c, is_static = 0, unk_zero = 0, status = 0, dtype = TE_EMB_F32;
	long long threads = 0;
	state st = {0};
	te_diag d = {0};
	te_ids ids = {0};

	prog_init("emb-token");
	st.auto_types = 1;
	st.batch = 64;
	st.delim = '\n';
	while ((c = getopt_long(argc, argv, "hm:sbt:z", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			printf("%s (tokemb) %s\nbuilt with %s\nkernels: %s\n", progname, TE_VERSION,
			       te_build_info(), te_emb_kernels());
			exit(fshut_stdout(0));
		case 'm':
			model = optarg;
			break;
		case 's':
			is_static = 1;
			break;
		case 'b':
			st.binary = 1;
			break;
		case 'z':
			st.delim = '\0';
			break;
		case 't':
			threads = opt_ll(usage_line, "--threads", optarg, 0, 256);
			break;
		case OPT_TRUNC:
			st.truncate = 1;
			break;
		case OPT_MAXTOK:
			st.maxtok = (size_t)opt_ll(usage_line, "--max-tokens", optarg, 1, 1 << 24);
			break;
		case OPT_BATCH:
			st.batch = (size_t)opt_ll(usage_line, "--batch", optarg, 1, 1 << 16);
			break;
		case OPT_TYPES:
			if (strcmp(optarg, "auto") == 0)
				st.auto_types = 1;
			else if (strcmp(optarg, "zero") == 0)
				st.auto_types = 0;
			else
				usage_error(usage_line, "--token-types: '%s' is not auto or zero", optarg);
			break;
		case OPT_VECTORS:
			vectors = optarg;
			break;
		case OPT_UNKZERO:
			unk_zero = 1;
			break;
		case OPT_DTYPE:
			dtype = parse_dtype(optarg);
			break;
		default:
			usage_error(usage_line, NULL);
		}
	}
	if (!model)
		usage_error(usage_line, "a model is required (-m MODEL)");
	if (st.binary)
		refuse_binary_tty(usage_line);
	if (vectors)
		st.m = te_emb_load_vectors(vectors, model, unk_zero, &d);
	else
		st.m = te_emb_load(model, is_static ? TE_EMB_STATIC : 0, &d);
	if (!st.m)
		die_diag(&d);
	te_emb_set_threads(st.m, (int)threads);
	if (te_emb_set_dtype(st.m, dtype, &d) < 0)
		die_diag(&d);
	st.dim = te_emb_dim(st.m);
	if (st.binary && te_vec_write_tokens_header(stdout, st.dim) < 0)
		exit(fshut_stdout(1));
	for (int i = optind; i < argc || i == optind; i++)
		if (do_file(&st, i < argc ? argv[i] : "-", &ids) < 0)
			status = 1;
	if (st.bad)
		status = 1;
	te_ids_release(&ids);
	free(st.docs);
	free(st.out);
	te_emb_free(st.m);
	return fshut_stdout(status);
}
