/* test-tok-thread-memo: what a thread remembers from one text to the
 * next (the BERT normalizer's characters, a SentencePiece BPE model's
 * words) never changes an encoding: texts encoded one after another in
 * one thread, by models of different settings in turn, and by a model
 * loaded after another was freed, give the ids each text gets alone in a
 * thread of its own, with spans. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokemb.h"
#include "tap.h"

/* Pieces of texts: precomposed letters and marks of every combining
 * class around them (dropped, kept, of class 0), controls, Hangul, CJK. */
static const char *const bits[] = {
	"a", "B", " ", "\t", "\x01", ".", "Hello", "\xc3\xa9", "\xc3\x89", "e\xcc\x81",
	"\xcc\x81", "\xcc\x96", "\xcd\x85", "\xc3\x85", "\xe2\x84\xab", "\xc4\xb0",
	"\xe1\xb8\x97", "\xc7\x96", "\xe0\xa5\x81", "\xe0\xa4\xbc", "\xd6\xb0",
	"\xf0\x9d\x85\xa5", "\xe0\xbd\xb3", "\xe3\x82\x99", "\xe3\x81\x8b", "\xe0\xb8\xb8",
	"\xea\xb0\x80", "\xe1\x84\x80", "\xe1\x85\xa1", "\xe4\xb8\xad", "\xef\xa4\x80",
	"\xef\xbf\xbd", "\xe2\x80\x8b", "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0",
	"\xe1\xbb\x87", "\xe2\x96\x81", "  ", "caf\xc3\xa9 ", "\xf0\x9f\x98\x80",
};
#define NTEXT 400

static char *texts[NTEXT];
static size_t lens[NTEXT];

static void
make_texts(void)
{
	size_t i;

	srand(11);
	for (i = 0; i < NTEXT; i++) {
		char buf[512];
		size_t n = 0;
		int k, parts = rand() % 30;

		for (k = 0; k < parts; k++) {
			const char *s = bits[rand() % (int)(sizeof bits / sizeof bits[0])];
			size_t l = strlen(s);

			memcpy(buf + n, s, l);
			n += l;
		}
		texts[i] = malloc(n + 1);
		memcpy(texts[i], buf, n);
		lens[i] = n;
	}
}

typedef struct job {
	const te_tok *t;
	size_t i;
	te_tok_enc e;
	int rc;
} job;

static void *
run_job(void *v)
{
	job *j = v;
	te_diag d = {0};

	j->rc = te_tok_encode(j->t, texts[j->i], lens[j->i], 0, &j->e, &d);
	return NULL;
}

/* Text i encoded by t in a thread that has encoded nothing before, with
 * spans (the BERT normalizer then takes its other way through a text). */
static int
alone(const te_tok *t, size_t i, te_tok_enc *e)
{
	job j = {t, i, {0}, -1};
	pthread_t th;

	if (pthread_create(&th, NULL, run_job, &j) || pthread_join(th, NULL))
		return -1;
	*e = j.e;
	return j.rc;
}

/* Each text by each model in turn, in this thread, against alone. */
static void
in_turn(te_tok *const *t, size_t nt, const char *what)
{
	te_tok_enc got = {0}, want = {0};
	te_diag d = {0};
	size_t i, k;
	int bad = 0, fails = 0;

	for (i = 0; i < NTEXT; i++)
		for (k = 0; k < nt; k++) {
			if (te_tok_encode(t[k], texts[i], lens[i], TE_TOK_NO_OFFSETS, &got, &d) ||
			    alone(t[k], i, &want)) {
				fails++;
				continue;
			}
			bad += got.n != want.n ||
			       (got.n && memcmp(got.ids, want.ids, got.n * sizeof *got.ids));
			te_tok_enc_release(&want);
		}
	ok(!fails, "%s: %d texts encode", what, NTEXT);
	ok(!bad, "%s: the ids each text gets alone (%d differ)", what, bad);
	te_tok_enc_release(&got);
}

/* The tokenizer.json at path with "lowercase": true made false (the
 * accents are then kept too), written to a file of our own. */
static char *
cased_copy(const char *path)
{
	static char out[] = "/tmp/test-tok-thread-memo-XXXXXX.json";
	FILE *f = fopen(path, "rb");
	char *s = NULL, *p;
	long n;
	int fd;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(s = malloc((size_t)n + 2)) || fread(s, 1, (size_t)n, f) != (size_t)n) {
		if (f)
			fclose(f);
		free(s);
		return NULL;
	}
	fclose(f);
	s[n] = 0;
	if (!(p = strstr(s, "\"lowercase\": true")) && !(p = strstr(s, "\"lowercase\":true"))) {
		free(s);
		return NULL;
	}
	p = strstr(p, "true");
	memcpy(p, "fals", 4);
	memmove(p + 5, p + 4, strlen(p + 4) + 1);
	p[4] = 'e';
	if ((fd = mkstemps(out, 5)) < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
		free(s);
		return NULL;
	}
	close(fd);
	free(s);
	return out;
}

static te_tok *
load(const char *path)
{
	te_diag d = {0};
	te_tok *t = te_tok_load(path, &d);

	ok(t != NULL, "%s loads%s%s", path, t ? "" : ": ", t ? "" : d.msg);
	return t;
}

int
main(void)
{
	const char *D = getenv("TOKEMB_DATA");
	char bert[1024], llama[1024], *cased;
	te_tok *t[3];
	size_t i;

	make_texts();
	/* the fixtures of t/data/spm: two BPE models, one after the other */
	t[0] = load("t/data/spm/bpe-edit.model");
	t[1] = load("t/data/spm/bpe-user.model");
	if (t[0] && t[1])
		in_turn(t, 2, "bpe-edit.model and bpe-user.model in turn");
	te_tok_free(t[1]);
	if (t[0])
		in_turn(t, 1, "bpe-edit.model after bpe-user.model was freed");
	te_tok_free(t[0]);
	if ((t[0] = load("t/data/spm/bpe-user.model")))
		in_turn(t, 1, "bpe-user.model loaded again");
	te_tok_free(t[0]);

	snprintf(bert, sizeof bert, "%s/tokenizers/bert-base-uncased/tokenizer.json", D ? D : "");
	snprintf(llama, sizeof llama, "%s/tokenizers/llama2/tokenizer.model", D ? D : "");
	if (!D || access(bert, R_OK) || access(llama, R_OK)) {
		printf("ok %d # skip the real models need $TOKEMB_DATA (TOKEMB_DATA=../shared/data)\n",
		       ++tap_n);
	} else if (!(cased = cased_copy(bert))) {
		ok(0, "a cased copy of %s", bert);
	} else {
		t[0] = load(bert);
		t[1] = load(cased);
		t[2] = load(llama);
		if (t[0] && t[1] && t[2])
			in_turn(t, 3, "bert-base-uncased, a cased copy and llama2 in turn");
		for (i = 0; i < 3; i++)
			te_tok_free(t[i]);
		unlink(cased);
	}
	for (i = 0; i < NTEXT; i++)
		free(texts[i]);
	return done_testing();
}
