/* test-tok-fast: the encode fast path's derived tables (bpe_fast.c) answer
 * as the maps they are built from, for every vocabulary entry and merge,
 * and encoding through them gives the same ids and offsets as without
 * them: on t/data/tok/tiny-bpe.json, and on cl100k (ranks) and gpt-4o-hf
 * (merges) when $TOKEMB_DATA has them.  Random texts with many distinct
 * pieces also push the piece cache through evictions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tok/tok_int.h"

static const char *palette[] = {
	"a", "b", "e", "s", "t", "th", "ing", "er", "Q", "Z", " ", " ", " ", "  ", "\n", "\t",
	"0", "7", "42", ".", ",", "'s", "'", "-", "/", "\u00e9", "\u4e2d", "\u0301", "\U0001F600",
	"\xff", "\x80", "the", " the", "tion", "ab", "ba",
};

static size_t
random_text(char *buf, size_t cap, unsigned *seed)
{
	size_t n = 0, k = 1 + (size_t)(rand_r(seed) % 40);

	while (k--) {
		const char *p = palette[rand_r(seed) % (sizeof palette / sizeof *palette)];
		size_t l = strlen(p);

		if (n + l >= cap)
			break;
		memcpy(buf + n, p, l);
		n += l;
	}
	return n;
}

static void
check_tables(const char *name, te_tok *t)
{
	const tk_bpe *m = &t->bpe;
	const tk_fastmap *f = tk_fastmap_get(m);
	const tk_flat *fl = tk_fastmap_flat(m);
	size_t i, bad = 0, cnt = 0;

	ok(f && fl, "%s: the fast tables build", name);
	if (!f || !fl)
		return;
	if (m->ranks || m->ignore_merges) {
		for (i = 0; i < m->vocab.n; i++) {
			const ut_sment *en = &m->vocab.ent[i];
			const char *k = m->vocab.pool + en->koff;
			char tmp[300];

			if (!en->klen)
				continue;
			cnt++;
			if (tk_fv_get(fl, k, en->klen) != ut_strmap_get(&m->vocab, k, en->klen))
				bad++;
			/* a key one byte longer or shorter: as the map says */
			if (en->klen < sizeof tmp - 1) {
				memcpy(tmp, k, en->klen);
				tmp[en->klen] = '\0';
				if (tk_fv_get(fl, tmp, en->klen + 1) !=
				    ut_strmap_get(&m->vocab, tmp, en->klen + 1))
					bad++;
			}
			if (en->klen > 1 &&
			    tk_fv_get(fl, k, en->klen - 1) != ut_strmap_get(&m->vocab, k, en->klen - 1))
				bad++;
		}
		ok(!bad && cnt, "%s: the flat vocabulary answers as the map (%zu keys, %zu wrong)",
		   name, cnt, bad);
	}
	if (!m->ranks) {
		bad = cnt = 0;
		for (i = 0; m->merges.n && i <= m->merges.mask; i++) {
			uint64_t k = m->merges.key[i] - 1;
			uint32_t r1, r2;
			int32_t m1, m2;

			if (!m->merges.key[i])
				continue;
			cnt++;
			if (!tk_fp_get(fl, (int32_t)(k >> 32), (int32_t)(uint32_t)k, &r1, &m1) ||
			    !tk_pairmap_get(&m->merges, (int32_t)(k >> 32), (int32_t)(uint32_t)k, &r2, &m2) ||
			    r1 != r2 || m1 != m2)
				bad++;
		}
		ok(!bad && cnt, "%s: the flat merges answer as the map (%zu, %zu wrong)", name, cnt, bad);
	}
	bad = 0;
	for (i = 0; i < 65536; i++) {
		char s[2] = {(char)(i & 255), (char)(i >> 8)};

		if (f->r2[i] == -2)
			continue;
		if (m->ranks) {
			if (f->r2[i] != ut_strmap_get(&m->vocab, s, 2))
				bad++;
		} else {
			uint32_t r;
			int32_t mg;
			int has = tk_pairmap_get(&m->merges, m->byte_id[i & 255], m->byte_id[i >> 8], &r, &mg);

			if (has != (f->r2[i] >= 0) || (has && ((uint32_t)f->r2[i] != r || f->m2[i] != mg)))
				bad++;
		}
	}
	ok(!bad, "%s: the two-byte table answers as the maps (%zu wrong)", name, bad);
}

/* Encode random texts with t (tables never built) and u (built). */
static void
check_encode(const char *name, te_tok *t, te_tok *u, int n)
{
	te_tok_enc a = {0}, b = {0};
	te_diag d = {0};
	unsigned seed = 7;
	char buf[512];
	int i, bad = 0, fast = tk_fast_ok(t) != 0;

	ok(fast, "%s takes the fast path", name);
	for (i = 0; i < n; i++) {
		size_t len = random_text(buf, sizeof buf, &seed), k;

		if (te_tok_encode(t, buf, len, 0, &a, &d) || te_tok_encode(u, buf, len, 0, &b, &d) ||
		    a.n != b.n) {
			bad++;
			continue;
		}
		for (k = 0; k < a.n; k++)
			if (a.ids[k] != b.ids[k] || a.start[k] != b.start[k] || a.end[k] != b.end[k])
				break;
		bad += k < a.n;
	}
	ok(!bad, "%s: %d random texts encode alike with and without the tables (%d differ)",
	   name, n, bad);
	te_tok_enc_release(&a);
	te_tok_enc_release(&b);
}

static void
one(const char *name, const char *path, int n)
{
	te_diag d = {0};
	te_tok *t = te_tok_load(path, &d), *u = te_tok_load(path, &d);

	ok(t && u, "%s loads", name);
	if (t && u) {
		check_tables(name, u);
		check_encode(name, t, u, n);
	}
	te_tok_free(t);
	te_tok_free(u);
}

int
main(void)
{
	const char *D = getenv("TOKEMB_DATA");
	char path[4096];

	one("tiny-bpe", "t/data/tok/tiny-bpe.json", 20000);
	if (D) {
		snprintf(path, sizeof path, "%s/tokenizers/tiktoken/cl100k_base.tiktoken", D);
		if (!access(path, R_OK))
			one("cl100k", path, 20000);
		snprintf(path, sizeof path, "%s/tokenizers/gpt-4o-hf/tokenizer.json", D);
		if (!access(path, R_OK))
			one("gpt-4o-hf", path, 20000);
	} else {
		printf("# no $TOKEMB_DATA: cl100k and gpt-4o-hf skipped\n");
	}
	tk_fast_thread_free();
	return done_testing();
}
