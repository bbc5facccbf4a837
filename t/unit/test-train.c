/* test-train.c: the tokenizer trainer against Hugging Face's own expected
 * results: the BpeTrainer unit test (roses are red...), and the merges HF
 * made on t/data/tok-train/hf-input.txt (t/gen-train-ref.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tok/train_int.h"

static te_trainer *
trainer(te_train_model m, size_t vocab, uint64_t minf, int byte_level)
{
	te_train_opts o;
	te_diag d = {0};

	te_train_opts_init(&o, m, TE_TRAIN_PRESET_NONE);
	o.vocab_size = vocab;
	o.min_frequency = minf;
	o.byte_level = byte_level;
	o.n_special = 0;
	return te_trainer_new(&o, &d);
}

static const char *
piece(const te_trainer *t, size_t id)
{
	size_t n;

	return ut_strmap_key(&t->vocab, id, &n);
}

static char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	char *b;
	long len;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	b = malloc(len + 1);
	if (b && fread(b, 1, len, fp) != (size_t)len) {
		free(b);
		b = NULL;
	}
	fclose(fp);
	if (b)
		b[len] = 0;
	*n = len;
	return b;
}

/* Compare t's merges with a file of "left right" lines. */
static int
same_merges(te_trainer *t, const char *path, size_t *nref)
{
	size_t n, i = 0, line = 0;
	char *ref = slurp(path, &n), *p, *save = NULL;
	int same = 1;

	if (!ref)
		return 0;
	for (p = strtok_r(ref, "\n", &save); p; p = strtok_r(NULL, "\n", &save), line++) {
		char buf[512];
		if (i >= t->nmerges) {
			same = 0;
			continue;
		}
		snprintf(buf, sizeof buf, "%s %s", piece(t, t->merges[i][0]),
		         piece(t, t->merges[i][1]));
		if (strcmp(buf, p)) {
			if (same)
				printf("# merge %zu: ours '%s', reference '%s'\n", i, buf, p);
			same = 0;
		}
		i++;
	}
	*nref = line;
	free(ref);
	return same && i == t->nmerges;
}

int
main(void)
{
	te_diag d = {0};
	te_trainer *t;
	size_t n, nref = 0;
	char *txt;
	static const struct {
		const char *w;
		int c;
	} roses[] = {{"roses", 1}, {"are", 2}, {"red", 1}, {"voilets", 1}, {"blue", 1},
	             {"BERT", 1},  {"is", 2},  {"big", 1}, {"and", 1},     {"so", 1},
	             {"GPT-2", 1}};
	static const char *vocab[] = {"-", "2", "B", "E", "G", "P", "R", "T", "a",
	                              "b", "d", "e", "g", "i", "l", "n", "o", "r",
	                              "s", "t", "u", "v", "re", "are", "is"};

	/* HF tokenizers/src/models/bpe/trainer.rs, test_train */
	t = trainer(TE_TRAIN_MODEL_BPE, 30000, 2, 0);
	for (size_t i = 0; i < sizeof roses / sizeof *roses; i++)
		tk_trainer_count(t, roses[i].w, strlen(roses[i].w), roses[i].c);
	int rc = te_trainer_train(t, &d);
	ok(rc == 0, "train the HF unit-test words");
	ok(t->vocab.n == 25, "25 tokens (%zu)", t->vocab.n);
	int same = t->vocab.n == 25;
	for (size_t i = 0; same && i < 25; i++)
		same = !strcmp(piece(t, i), vocab[i]);
	ok(same, "the vocabulary and its ids are HF's");
	ok(t->nmerges == 3 && t->merges[0][0] == 17 && t->merges[0][1] == 11 &&
	           t->merges[1][0] == 8 && t->merges[1][1] == 22 && t->merges[2][0] == 13 &&
	           t->merges[2][1] == 18,
	   "merges r+e, a+re, i+s in that order");
	te_trainer_free(t);

	/* the merges HF made on a small text, Metaspace and byte-level */
	txt = slurp("t/data/tok-train/hf-input.txt", &n);
	ok(txt != NULL, "read t/data/tok-train/hf-input.txt");
	for (int bl = 0; txt && bl < 2; bl++) {
		t = trainer(TE_TRAIN_MODEL_BPE, 30000, 0, bl);
		te_trainer_feed(t, txt, n, NULL, &d);
		rc = te_trainer_train(t, &d);
		ok(rc == 0, "train %s", bl ? "byte-level" : "metaspace");
		same = same_merges(t, bl ? "t/data/tok-train/hf-merges-bytelevel.txt"
		                         : "t/data/tok-train/hf-merges-metaspace.txt",
		                   &nref);
		ok(same,
		   "%s: %zu merges, the reference's %zu, same order", bl ? "byte-level" : "metaspace",
		   t->nmerges, nref);
		te_trainer_free(t);
	}
	/* a smaller vocabulary is a prefix of the merges */
	if (txt) {
		t = trainer(TE_TRAIN_MODEL_BPE, 100, 0, 1);
		te_trainer_feed(t, txt, n, NULL, &d);
		rc = te_trainer_train(t, &d);
		ok(rc < 0 && strstr(d.msg, "smaller than the alphabet"),
		   "byte-level needs 256 tokens: %s", d.msg);
		te_trainer_free(t);
	}
	free(txt);

	/* empty corpus */
	t = trainer(TE_TRAIN_MODEL_UNIGRAM, 100, 0, 0);
	te_trainer_feed(t, "", 0, NULL, &d);
	rc = te_trainer_train(t, &d);
	ok(rc < 0 && strstr(d.msg, "empty"), "empty corpus: %s", d.msg);
	te_trainer_free(t);

	/* invalid UTF-8 is replaced and counted */
	t = trainer(TE_TRAIN_MODEL_BPE, 100, 0, 0);
	n = 0;
	te_trainer_feed(t, "ab\xff\xfe" "cd", 6, &n, &d);
	ok(n == 2, "two invalid bytes replaced (%zu)", n);
	rc = te_trainer_train(t, &d);
	ok(rc == 0 && ut_strmap_get(&t->vocab, "\xef\xbf\xbd", 3) >= 0,
	   "U+FFFD in the alphabet");
	te_trainer_free(t);

	/* unigram: every character of the corpus is in the vocabulary */
	t = trainer(TE_TRAIN_MODEL_UNIGRAM, 60, 0, 0);
	const char *doc = "the cat sat on the mat with the other cat";
	for (int k = 0; k < 20; k++)
		te_trainer_feed(t, doc, strlen(doc), NULL, &d);
	rc = te_trainer_train(t, &d);
	ok(rc == 0, "unigram trains");
	int all = 1;
	for (const char *c = "thecasonmwir"; *c; c++)
		all &= ut_strmap_get(&t->vocab, c, 1) >= 0;
	ok(all && ut_strmap_get(&t->vocab, "<unk>", 5) == 0, "<unk> first, every character in");
	ok(t->vocab.n <= 60, "at most 60 pieces (%zu)", t->vocab.n);
	te_trainer_free(t);
	return done_testing();
}
