/* emb-token: turn token ids into token vectors. See emb-token(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

static const char usage_line[] = "emb-token [-h] [--version]";

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: %s\n", usage_line);
	exit(fp == stdout ? fshut_stdout(status) : status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	prog_init("emb-token");
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			print_version();
		default:
			usage_error(usage_line, NULL);
		}
	}
	die("not implemented yet");
}
