/* knn_report.c: the evaluations' results as knn(1) prints them: gensim's
 * log lines, or JSON lines. */
#include <stdio.h>
#include <string.h>

#include "tokemb.h"

void
te_knn_analogy_write(FILE *fp, const te_knn_analogy_result *res, int json)
{
	/* gensim's log lines: each section with questions, then the total */
	for (size_t i = 0; i < res->nsec; i++) {
		te_knn_section *s = &res->sec[i];
		double acc = s->total ? (double)s->correct / (double)s->total : 0.0;

		if (i + 1 == res->nsec && !json)
			fprintf(fp, "Quadruplets with out-of-vocabulary words: %.1f%%\n",
			            100.0 * (double)res->oov / (double)res->quadruplets);
		if (json) {
			fputs("{\"section\":", fp);
			te_knn_write_json_str(fp, s->name, strlen(s->name));
			fprintf(fp, ",\"correct\":%zu,\"total\":%zu,\"accuracy\":%.17g", s->correct,
			            s->total, acc);
			if (i + 1 == res->nsec)
				fprintf(fp, ",\"questions\":%zu,\"oov\":%zu,\"oov_ratio\":%.17g",
				            res->quadruplets, res->oov,
				            100.0 * (double)res->oov / (double)res->quadruplets);
			fputs("}\n", fp);
		} else if (s->total) {
			fprintf(fp, "%s: %.1f%% (%zu/%zu)\n", s->name, 100.0 * acc, s->correct,
			            s->total);
		}
	}
}

void
te_knn_pairs_write(FILE *fp, const char *path, const te_knn_pairs_result *res,
                   int json)
{
	if (json) {
		fprintf(fp, "{\"pearson\":%.17g,\"spearman\":%.17g,\"oov_ratio\":%.17g,"
		            "\"pairs\":%zu,\"oov\":%zu}\n", res->pearson, res->spearman, res->oov_ratio,
		            res->pairs, res->oov);
	} else {
		fprintf(fp, "Pearson correlation coefficient against %s: %.4f\n", path,
		            res->pearson);
		fprintf(fp, "Spearman rank-order correlation coefficient against %s: %.4f\n",
		            path, res->spearman);
		fprintf(fp, "Pairs with unknown words ratio: %.1f%%\n", res->oov_ratio);
	}
}
