/* spm-encode.c: benchmark driver: encode each line of a file with a
 * SentencePiece .model (or a "llama" GGUF vocabulary) through libtokemb and
 * print the ids, one line per input line (-c: only the total count).
 * Built by bench/spm-bench.sh; not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/spm_int.h"

int
main(int argc, char **argv)
{
	int count = 0, whole = 0;
	te_diag d = {0};
	tk_spm *m;
	te_ids ids = {0};
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;
	FILE *fp;

	while (argc > 1 && argv[1][0] == '-' && argv[1][1]) {
		if (!strcmp(argv[1], "-c"))
			count = 1;
		else if (!strcmp(argv[1], "-w"))
			whole = 1;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: spm-encode [-c] [-w] MODEL FILE\n");
		return 2;
	}
	if (strlen(argv[1]) > 5 && !strcmp(argv[1] + strlen(argv[1]) - 5, ".gguf")) {
		tk_gguf_vocab *g = tk_gguf_vocab_load(argv[1], &d);

		m = g ? tk_spm_from_gguf(g, &d) : NULL;
		tk_gguf_vocab_free(g);
	} else
		m = tk_spm_load(argv[1], &d);
	if (!m) {
		fprintf(stderr, "spm-encode: %s: %s\n", d.file, d.msg);
		return 1;
	}
	fp = strcmp(argv[2], "-") ? fopen(argv[2], "rb") : stdin;
	if (!fp) {
		perror(argv[2]);
		return 1;
	}
	while ((n = getdelim(&line, &cap, whole ? '\0' : '\n', fp)) >= 0) {
		if (n > 0 && line[n - 1] == (whole ? '\0' : '\n'))
			n--;
		ids.n = 0;
		if (tk_spm_encode(m, line, (size_t)n, 0, &ids, NULL, &d) < 0) {
			fprintf(stderr, "spm-encode: %s\n", d.msg);
			return 1;
		}
		total += ids.n;
		if (!count)
			te_ids_write(stdout, ids.v, ids.n);
	}
	if (count)
		printf("%zu\n", total);
	free(line);
	te_ids_release(&ids);
	tk_spm_free(m);
	return 0;
}
