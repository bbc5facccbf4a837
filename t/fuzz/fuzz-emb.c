/* fuzz-emb: the input as an embedding model folder: config.json,
 * modules.json, model.safetensors and 1_Pooling/config.json, in that
 * order, split at each FZ_SPLIT (t/fuzz/run.sh makes seeds so from
 * t/data/emb).  Loaded by te_emb_load (encoder and static tables) and
 * te_pipeline_load, a short document run through both. */
#include <sys/stat.h>

#include "fuzz.h"

#define FZ_SPLIT "\n@@fuzz-split@@\n"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = {"config.json", "modules.json", "model.safetensors",
	                              "1_Pooling/config.json"};
	const uint8_t *p = data, *end = data + size;
	char dir[600];
	te_diag d = {0};
	te_emb *m;
	te_pipeline *pl;
	int i;

	snprintf(dir, sizeof dir, "%s/model", fz_scratch());
	mkdir(dir, 0700);
	snprintf(dir, sizeof dir, "%s/model/1_Pooling", fz_scratch());
	mkdir(dir, 0700);
	for (i = 0; i < 4; i++) {
		const uint8_t *q = p < end ? memmem(p, (size_t)(end - p), FZ_SPLIT,
		                                    sizeof FZ_SPLIT - 1) : NULL;
		char name[64];

		snprintf(name, sizeof name, "model/%s", names[i]);
		fz_write(name, p, (size_t)((q ? q : end) - p));
		p = q ? q + sizeof FZ_SPLIT - 1 : end;
	}
	snprintf(dir, sizeof dir, "%s/model", fz_scratch());
	m = te_emb_load(dir, size && data[0] % 2 ? TE_EMB_STATIC : 0, &d);
	pl = te_pipeline_load(dir, &d);
	if (m && te_emb_vocab(m) && te_emb_dim(m)) {
		size_t dim = te_emb_dim(m), nv = te_emb_vocab(m), n = 4;
		int32_t ids[4] = {0, (int32_t)(1 % nv), (int32_t)(nv - 1), 0};
		const int32_t *idp = ids;
		float *out = malloc(4 * dim * sizeof *out);

		te_emb_arch(m);
		te_emb_sep_id(m);
		te_emb_max_tokens(m);
		if (out && !te_emb_fit(m, ids, &n, 0, 1, &d) &&
		    !te_emb_forward(m, 1, &idp, &n, NULL, 1, &out, &d)) {
			float *pooled = malloc(2 * dim * sizeof *pooled + 64);

			size_t od = pl ? te_pipeline_out_dim(pl, dim, &d) : 0;

			if (pooled)
				te_emb_pooler(m, out, pooled, &d);
			if (pooled && od && od <= 2 * dim)
				te_pipeline_apply(pl, out, n, dim, pooled, &d);
			free(pooled);
		}
		free(out);
	}
	te_pipeline_free(pl);
	te_emb_free(m);
	return 0;
}
