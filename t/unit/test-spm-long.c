/* test-spm-long.c: BPE on long runs without whitespace (spm.c's bpe_long,
 * bounded memory) gives the ids and spans of the agenda it stands for, on
 * random texts built from the model's own pieces, and on runs of one
 * character. */
#include <stdlib.h>
#include <string.h>

#include "tok/spm_int.h"
#include "tap.h"

static unsigned long long rng = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* A text of about len bytes: pieces of m drawn at random (their U+2581
 * as is, so no whitespace cuts it unless spaces), some of them cut short. */
static size_t
make_text(const tk_spm *m, char *buf, size_t len, int spaces)
{
	size_t n = 0, pl;

	while (n + 64 < len) {
		int32_t id = (int32_t)rnd((unsigned)tk_spm_vocab_size(m));
		const char *p = tk_spm_piece(m, id, &pl);

		if (tk_spm_piece_type(m, id) == TK_SPM_TYPE_NORMAL && p && pl < 32) {
			memcpy(buf + n, p, pl);
			n += pl;
		}
		if (spaces && !rnd(9))
			buf[n++] = ' ';
		if (!rnd(50))
			buf[n++] = "a\xc3\xa9!"[rnd(3)];
	}
	return n;
}

static int
same(const tk_spm *m, const char *s, size_t n)
{
	te_ids a = {0}, b = {0};
	tk_spm_spans sa = {0}, sb = {0};
	te_diag d;
	int eq;

	tk_spm_long_min = SIZE_MAX;
	eq = !tk_spm_encode(m, s, n, 0, &a, &sa, &d);
	tk_spm_long_min = 65;
	eq = eq && !tk_spm_encode(m, s, n, 0, &b, &sb, &d);
	eq = eq && a.n == b.n && sa.n == sb.n && !memcmp(a.v, b.v, a.n * sizeof *a.v) &&
	     !memcmp(sa.v, sb.v, sa.n * sizeof *sa.v);
	tk_spm_long_min = (size_t)1 << 16;
	te_ids_release(&a);
	te_ids_release(&b);
	tk_spm_spans_release(&sa);
	tk_spm_spans_release(&sb);
	return eq;
}

static void
check_model(const char *path)
{
	te_diag d;
	tk_spm *m = tk_spm_load(path, &d);
	char *buf = malloc(20000);
	int bad = 0, k;

	if (!m || !buf) {
		printf("ok %d # skip %s: %s\n", ++tap_n, path, m ? "no memory" : d.msg);
		tk_spm_free(m);
		free(buf);
		return;
	}
	for (k = 0; k < 40 && !bad; k++) {
		size_t n = make_text(m, buf, 200 + rnd(19000), k & 1);

		bad = !same(m, buf, n);
	}
	ok(!bad, "%s: random texts of pieces: bpe_long as the agenda (%d texts)", path, k);
	for (const char *c = "a\0\xe4\xb8\xad\0\xf0\x9f\x98\x80\0" "ab\0Z\0"; *c; c += strlen(c) + 1) {
		size_t cl = strlen(c), n = 0;

		while (n + cl <= 9000) {
			memcpy(buf + n, c, cl);
			n += cl;
		}
		ok(same(m, buf, n), "%s: a run of '%s': bpe_long as the agenda", path, c);
	}
	free(buf);
	tk_spm_free(m);
}

int
main(void)
{
	const char *data = getenv("TOKEMB_DATA");
	char path[1024];

	check_model("t/data/spm/bpe-edit.model");
	check_model("t/data/spm/bpe-user.model");
	if (data) {
		snprintf(path, sizeof path, "%s/tokenizers/llama2/tokenizer.model", data);
		check_model(path);
	} else {
		printf("ok %d # skip TOKEMB_DATA not set\n", ++tap_n);
	}
	return done_testing();
}
