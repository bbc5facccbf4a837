/* w2v.c: word2vec training (skip-gram, CBOW; negative sampling, hierarchical
 * softmax) on sequences of items, as gensim 4 and word2vec.c define it. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tokemb.h"
#include "util_int.h"
#include "w2v_int.h"

#define EOS UINT32_MAX       /* end of a sequence in the spool */
#define DEAD UINT32_MAX      /* item not in the vocabulary */
#define SPOOL_BUF 65536
#define PROGRESS_EVERY 10000 /* items between progress counts */
/* A thread reads its range as W2V_LANES interleaved lanes, so that the
 * corpus is trained at 4 x threads places at once (see "The order" in
 * w2v-train(1): on GCIDE skip-gram analogies, seeds 1-12, 1 thread 0.1073,
 * 2 threads 0.1078, 1 thread with 8 lanes 0.1089 - the lane count is within
 * a seed's noise, about 0.004; bench/w2v-results.md, December 7, seventh). */
#define W2V_LANES 4
/* positions between fetching a position's rows and training it: one is not
 * time enough for the memory, three crowd the cache (GCIDE CBOW) */
#define FETCH_AHEAD 2
/* items between asking for an item's keep threshold and reading it */
#define SAMPLE_AHEAD 16
/* The first epoch's learning rate where none is given: word2vec.c's, 0.025
 * for skip-gram and 0.05 for CBOW (gensim uses 0.025 for both, which leaves
 * CBOW under-trained; see "The schedule" in w2v-train(1)). */
#define W2V_ALPHA_SG 0.025
#define W2V_ALPHA_CBOW 0.05

/* An item while counting.  Its key is in the record when it is KEY_IN bytes
 * or less (nearly every word: the record is the only memory a look-up
 * reads after its slot), else in an allocation of its own.  32 bytes, two
 * to a cache line (the array is allocated on a line). */
#define KEY_IN 15
struct item {
	union {
		char in[KEY_IN + 1];
		char *out;
	} k;
	uint64_t count;
	uint32_t len;
	uint32_t live;       /* 0 once pruned */
};

/* A slot of the counting index: the item's id + 1 (0: empty) and the high
 * half of its key's hash, so that a probe that meets another key seldom
 * reads that key's record.  (Not ut_strmap: pruning takes keys out.) */
struct slot {
	uint32_t id1, tag;
};

static inline const char *
item_key(const struct item *it)
{
	return it->len <= KEY_IN ? it->k.in : it->k.out;
}

static inline void
item_free_key(struct item *it)
{
	if (it->len > KEY_IN)
		free(it->k.out);
}

struct te_w2v {
	te_w2v_params p;
	/* counting: items by provisional id, open-addressing index (id+1) */
	struct item *items;
	size_t n_items, cap_items, n_live;
	struct slot *hidx;
	size_t hcap;
	long long min_reduce;
	/* the spool: provisional ids, EOS after each sequence */
	int spool_fd;
	uint32_t *sbuf;
	size_t sbuf_n;
	uint64_t spool_n;
	uint64_t raw_items, sequences;
	/* the vocabulary, most frequent first */
	size_t V;
	uint32_t *vocab;     /* final id -> provisional id */
	uint32_t *sample_int;
	float *syn0, *syn1neg, *syn1hs;
	/* Huffman codes: item i's path is points/codes[off[i] .. off[i+1]) */
	uint64_t *hoff;
	uint32_t *hpoint;
	uint8_t *hcode;
	/* noise distribution, alias method */
	struct alias { uint32_t prob, idx; } *alias;  /* one line per draw */
	float exp_table[W2V_EXP_TABLE];
	/* training */
	uint32_t *corpus;    /* the spool mapped, final ids, EOS separated */
	uint64_t corpus_n, train_words;
	_Atomic uint64_t done, effective;
	atomic_int finished;
	te_w2v_stats stats;
	int trained;
	/* the first line of the current input that is not text */
	te_diag warning;
	int warned;
	const char *in_name; /* the input being read, for the warning */
	long in_line;
};

/* splitmix64: small state, good enough bits for sampling */
static inline uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void
w2v_exp_table(float *t)
{
	for (int i = 0; i < W2V_EXP_TABLE; i++) {
		double x = exp(((double)i / W2V_EXP_TABLE * 2 - 1) * W2V_MAX_EXP);

		t[i] = (float)(x / (x + 1));
	}
}

void
te_w2v_params_default(te_w2v_params *p)
{
	memset(p, 0, sizeof *p);
	p->sg = 0;
	p->hs = 0;
	p->negative = 5;
	p->ns_exponent = 0.75;
	p->cbow_mean = 1;
	p->window = 5;
	p->shrink_windows = 1;
	p->dim = 100;
	p->min_count = 5;
	p->max_vocab_size = 0;
	p->sample = 1e-3;
	p->alpha = 0;           /* by architecture: W2V_ALPHA_SG or W2V_ALPHA_CBOW */
	p->min_alpha = 0.0001;
	p->epochs = 5;
	p->threads = 0;
	p->seed = 1;
	p->batch = 1;
	p->max_sentence = 10000;
}

te_w2v *
te_w2v_new(const te_w2v_params *p, te_diag *d)
{
	te_w2v *m;
	const char *tmpdir = getenv("TMPDIR");
	char *path = NULL;

	if (p->dim < 1 || p->dim > 100000) {
		te_diag_set(d, NULL, 0, "vector size %d is not in 1..100000", p->dim);
		return NULL;
	}
	if (p->window < 1 || p->epochs < 1 || p->threads < 0 || p->negative < 0 ||
	    p->min_count < 1 || p->max_sentence < 1 || p->sample < 0 ||
	    p->alpha < 0 || p->min_alpha < 0) {
		te_diag_set(d, NULL, 0, "invalid training parameters");
		return NULL;
	}
	if (!p->hs && p->negative == 0) {
		te_diag_set(d, NULL, 0, "nothing to train: no negative samples and no "
		            "hierarchical softmax");
		return NULL;
	}
	m = calloc(1, sizeof *m);
	if (!m) {
		te_diag_set(d, NULL, 0, "out of memory");
		return NULL;
	}
	m->p = *p;
	m->p.threads = ut_threads(p->threads);
	if (m->p.alpha == 0)
		m->p.alpha = m->p.sg ? W2V_ALPHA_SG : W2V_ALPHA_CBOW;
	m->min_reduce = 1;
	m->spool_fd = -1;
	m->hcap = 1024;
	m->hidx = calloc(m->hcap, sizeof *m->hidx);
	m->sbuf = malloc(SPOOL_BUF * sizeof *m->sbuf);
	if (!m->hidx || !m->sbuf) {
		te_diag_set(d, NULL, 0, "out of memory");
		te_w2v_free(m);
		return NULL;
	}
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	if (asprintf(&path, "%s/w2v-train.XXXXXX", tmpdir) < 0) {
		te_diag_set(d, NULL, 0, "out of memory");
		te_w2v_free(m);
		return NULL;
	}
	m->spool_fd = mkstemp(path);
	if (m->spool_fd < 0) {
		te_diag_set(d, path, 0, "cannot create the spool file: %s", strerror(errno));
		free(path);
		te_w2v_free(m);
		return NULL;
	}
	unlink(path);
	free(path);
	w2v_exp_table(m->exp_table);
	return m;
}

void
te_w2v_free(te_w2v *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_items; i++)
		if (m->items[i].live)
			item_free_key(&m->items[i]);
	free(m->items);
	free(m->hidx);
	free(m->sbuf);
	if (m->spool_fd >= 0)
		close(m->spool_fd);
	if (m->corpus)
		munmap(m->corpus, m->spool_n * sizeof *m->corpus);
	free(m->vocab);
	free(m->sample_int);
	free(m->syn0);
	free(m->syn1neg);
	free(m->syn1hs);
	free(m->hoff);
	free(m->hpoint);
	free(m->hcode);
	free(m->alias);
	free(m);
}

/* ------------------------------------------------------------ counting */

static int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
spool_flush(te_w2v *m, te_diag *d)
{
	if (m->sbuf_n && write_all(m->spool_fd, m->sbuf, m->sbuf_n * sizeof *m->sbuf) < 0)
		return te_diag_set(d, NULL, 0, "writing the spool file: %s", strerror(errno));
	m->sbuf_n = 0;
	return 0;
}

static inline int
spool_put(te_w2v *m, uint32_t id, te_diag *d)
{
	if (m->sbuf_n == SPOOL_BUF && spool_flush(m, d) < 0)
		return -1;
	m->sbuf[m->sbuf_n++] = id;
	m->spool_n++;
	return 0;
}

static int
rehash(te_w2v *m, size_t cap)
{
	struct slot *h = calloc(cap, sizeof *h);

	if (!h)
		return -1;
	for (size_t i = 0; i < m->n_items; i++) {
		struct item *it = &m->items[i];
		uint64_t hv;
		size_t k;

		if (!it->live)
			continue;
		hv = ut_hash(item_key(it), it->len);
		k = hv & (cap - 1);
		while (h[k].id1)
			k = (k + 1) & (cap - 1);
		h[k].id1 = (uint32_t)i + 1;
		h[k].tag = (uint32_t)(hv >> 32);
	}
	free(m->hidx);
	m->hidx = h;
	m->hcap = cap;
	return 0;
}

/* gensim's prune_vocab: drop items seen fewer than min_reduce times, then
 * raise min_reduce.  Their ids stay allocated (dead). */
static int
prune(te_w2v *m)
{
	for (size_t i = 0; i < m->n_items; i++) {
		struct item *it = &m->items[i];

		if (it->live && (long long)it->count < m->min_reduce) {
			item_free_key(it);
			it->live = 0;
			m->n_live--;
		}
	}
	m->min_reduce++;
	return rehash(m, m->hcap);
}

/* Room for one more item record: the array doubled, on a cache line. */
static int
grow_items(te_w2v *m)
{
	size_t nc = m->cap_items ? m->cap_items * 2 : 4096;
	struct item *ni;

	if (nc > SIZE_MAX / sizeof *ni || posix_memalign((void **)&ni, 64, nc * sizeof *ni))
		return -1;
	if (m->n_items)
		memcpy(ni, m->items, m->n_items * sizeof *ni);
	free(m->items);
	m->items = ni;
	m->cap_items = nc;
	return 0;
}

/* The provisional id of the item [s, s+n), added with count 0 if new. */
static long
item_id(te_w2v *m, const char *s, size_t n, te_diag *d)
{
	uint64_t h = ut_hash(s, n);
	uint32_t tag = (uint32_t)(h >> 32);
	size_t k = h & (m->hcap - 1);
	struct item *it;
	char *key;

	for (; m->hidx[k].id1; k = (k + 1) & (m->hcap - 1)) {
		if (m->hidx[k].tag != tag)
			continue;
		it = &m->items[m->hidx[k].id1 - 1];
		if (it->len == n && memcmp(item_key(it), s, n) == 0)
			return (long)m->hidx[k].id1 - 1;
	}
	if (n > UINT32_MAX || m->n_items >= UINT32_MAX - 1)
		return te_diag_set(d, NULL, 0, "too many distinct items");
	if (m->n_items == m->cap_items && grow_items(m) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
	it = &m->items[m->n_items];
	key = it->k.in;
	if (n > KEY_IN && !(key = it->k.out = malloc(n + 1)))
		return te_diag_set(d, NULL, 0, "out of memory");
	memcpy(key, s, n);
	key[n] = '\0';
	it->len = (uint32_t)n;
	it->live = 1;
	it->count = 0;
	m->hidx[k].id1 = (uint32_t)m->n_items + 1;
	m->hidx[k].tag = tag;
	m->n_items++;
	m->n_live++;
	if (m->n_live * 2 > m->hcap && rehash(m, m->hcap * 2) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
	return (long)m->n_items - 1;
}

static inline int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f' || c == '\0';
}

/* Remember the first line of an input that holds a NUL byte or invalid
 * UTF-8: a binary file trains without complaint into nonsense. */
static void
warn_not_text(te_w2v *m, const char *name, long line, const char *what)
{
	if (m->warned && m->warning.line <= line)
		return;
	m->warned = 1;
	te_diag_set(&m->warning, name, line, "warning: %s; is this a text file? "
	            "(trained on as it is)", what);
}

static int
valid_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		int len;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (ut_utf8_dec(u + i, n - i, &len) < 0)
			return 0;
		i += (size_t)len;
	}
	return 1;
}

/* A NUL in buf[0, n), whose first byte is on line `line`. */
static void
check_nul(te_w2v *m, const char *buf, size_t n, const char *name, long line)
{
	const char *z = memchr(buf, '\0', n);

	if (!z || (m->warned && m->warning.line <= line))
		return;
	for (const char *p = buf; (p = memchr(p, '\n', (size_t)(z - p))); p++)
		line++;
	warn_not_text(m, name, line, "a NUL byte");
}

static int
add_item(te_w2v *m, const char *s, size_t n, te_diag *d)
{
	long id;

	if ((!m->warned || m->warning.line > m->in_line) && !valid_utf8(s, n))
		warn_not_text(m, m->in_name, m->in_line, "invalid UTF-8");
	id = item_id(m, s, n, d);

	if (id < 0)
		return -1;
	m->items[id].count++;
	m->raw_items++;
	return spool_put(m, (uint32_t)id, d);
}

static int
end_sequence(te_w2v *m, int *open, te_diag *d)
{
	if (!*open)
		return 0;
	*open = 0;
	m->sequences++;
	if (spool_put(m, EOS, d) < 0)
		return -1;
	/* gensim checks the vocabulary size after each sentence */
	if (m->p.max_vocab_size > 0 && (long long)m->n_live > m->p.max_vocab_size &&
	    prune(m) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
	return 0;
}

int
te_w2v_add(te_w2v *m, FILE *fp, const char *name, te_diag *d)
{
	enum { BUF = 1 << 20 };
	char *buf, *tok = NULL;
	size_t tlen = 0, tcap = 0, n;
	long line = 1;
	int open = 0, rc = -1;

	if (m->trained)
		return te_diag_set(d, name, 0, "the model is already trained");
	buf = malloc(BUF);
	if (!buf)
		return te_diag_set(d, name, 0, "out of memory");
	m->warned = 0;
	m->warning = (te_diag){0};
	m->in_name = name;
	while ((n = fread(buf, 1, BUF, fp)) > 0) {
		size_t i = 0;

		check_nul(m, buf, n, name, line);

		while (i < n) {
			size_t j = i;

			if (tlen == 0) {
				/* skip separators; newlines end the sequence */
				while (i < n && is_space((unsigned char)buf[i])) {
					if (buf[i] == '\n') {
						if (end_sequence(m, &open, d) < 0)
							goto fail;
						line++;
					}
					i++;
				}
				j = i;
			}
			while (j < n && !is_space((unsigned char)buf[j]))
				j++;
			if (j == n) {
				/* the item may go on in the next block */
				if (tlen + (j - i) > tcap) {
					size_t nc = tcap ? tcap : 256;
					char *nt;

					while (nc < tlen + (j - i))
						nc *= 2;
					nt = realloc(tok, nc);
					if (!nt) {
						te_diag_set(d, name, line, "out of memory");
						goto fail;
					}
					tok = nt;
					tcap = nc;
				}
				if (j > i)
					memcpy(tok + tlen, buf + i, j - i);
				tlen += j - i;
				i = j;
				continue;
			}
			if (tlen) {
				if (tlen + (j - i) > tcap) {
					char *nt = realloc(tok, tlen + (j - i));

					if (!nt) {
						te_diag_set(d, name, line, "out of memory");
						goto fail;
					}
					tok = nt;
					tcap = tlen + (j - i);
				}
				memcpy(tok + tlen, buf + i, j - i);
				tlen += j - i;
				m->in_line = line;
				if (add_item(m, tok, tlen, d) < 0)
					goto fail;
				tlen = 0;
			} else if (j > i) {
				m->in_line = line;
				if (add_item(m, buf + i, j - i, d) < 0)
					goto fail;
			}
			open = 1;
			i = j;
		}
	}
	if (ferror(fp)) {
		te_diag_set(d, name, line, "read error: %s", strerror(errno ? errno : EIO));
		goto fail;
	}
	if (tlen) {
		m->in_line = line;
		if (add_item(m, tok, tlen, d) < 0)
			goto fail;
		open = 1;
	}
	if (end_sequence(m, &open, d) < 0)
		goto fail;
	rc = 0;
fail:
	if (rc < 0 && !d->file[0]) {
		snprintf(d->file, sizeof d->file, "%s", name);
		d->line = line;
	}
	free(buf);
	free(tok);
	return rc;
}

int
te_w2v_add_warning(const te_w2v *m, te_diag *d)
{
	if (!m->warned)
		return 0;
	*d = m->warning;
	return 1;
}

/* ---------------------------------------------------------- vocabulary */

static te_w2v *sort_model;

static int
by_count(const void *a, const void *b)
{
	const struct item *x = &sort_model->items[*(const uint32_t *)a];
	const struct item *y = &sort_model->items[*(const uint32_t *)b];

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	/* ties: first seen first */
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Vose's alias method over count^exponent: one draw, one table lookup. */
static int
build_alias(te_w2v *m)
{
	size_t V = m->V, ns = 0, nl = 0;
	double *q = malloc(V * sizeof *q), total = 0;
	uint32_t *small = malloc(V * sizeof *small), *large = malloc(V * sizeof *large);

	m->alias = malloc(V * sizeof *m->alias);
	if (!q || !small || !large || !m->alias) {
		free(q);
		free(small);
		free(large);
		return -1;
	}
	for (size_t i = 0; i < V; i++)
		total += q[i] = pow((double)m->items[m->vocab[i]].count, m->p.ns_exponent);
	for (size_t i = 0; i < V; i++) {
		q[i] = q[i] * (double)V / total;
		if (q[i] < 1)
			small[ns++] = (uint32_t)i;
		else
			large[nl++] = (uint32_t)i;
	}
	while (ns && nl) {
		uint32_t s = small[--ns], l = large[nl - 1];

		m->alias[s].prob = (uint32_t)fmin(q[s] * 4294967296.0, 4294967295.0);
		m->alias[s].idx = l;
		q[l] -= 1 - q[s];
		if (q[l] < 1) {
			nl--;
			small[ns++] = l;
		}
	}
	while (nl) {
		uint32_t l = large[--nl];

		m->alias[l].prob = UINT32_MAX;
		m->alias[l].idx = l;
	}
	while (ns) {
		uint32_t s = small[--ns];

		m->alias[s].prob = UINT32_MAX;
		m->alias[s].idx = s;
	}
	free(q);
	free(small);
	free(large);
	return 0;
}

/* A draw from the noise distribution is a random number r: its high half
 * picks a cell, its low half decides between the cell and its alias. */
static inline __attribute__((always_inline)) uint32_t
noise_cell(const te_w2v *m, uint64_t r)
{
	return (uint32_t)(((r >> 32) * (uint64_t)m->V) >> 32);
}

static inline __attribute__((always_inline)) uint32_t
noise_pick(const te_w2v *m, uint32_t i, uint32_t low)
{
	struct alias a = m->alias[i];
	/* all ones where the draw goes to the alias: no branch to mispredict
	 * (the test is a coin toss in every cell that has an alias) */
	uint32_t to = (uint32_t)0 - (uint32_t)(low > a.prob);

	return i ^ ((i ^ a.idx) & to);
}

static inline __attribute__((always_inline)) uint32_t
draw_noise(const te_w2v *m, uint64_t *rs)
{
	uint64_t r = rnd(rs);

	return noise_pick(m, noise_cell(m, r), (uint32_t)r);
}

/* word2vec.c's Huffman tree: counts sorted descending, two queues. */
static int
build_huffman(te_w2v *m)
{
	size_t V = m->V, depth_total = 0;
	uint64_t *count = malloc((2 * V) * sizeof *count);
	uint32_t *parent = malloc((2 * V) * sizeof *parent);
	uint8_t *binary = calloc(2 * V, 1);
	uint32_t *path = malloc((V + 1) * sizeof *path);
	uint8_t *code = malloc(V + 1);
	long pos1 = (long)V - 1, pos2 = (long)V;

	m->hoff = malloc((V + 1) * sizeof *m->hoff);
	if (!count || !parent || !binary || !path || !code || !m->hoff)
		goto oom;
	for (size_t i = 0; i < V; i++)
		count[i] = m->items[m->vocab[i]].count;
	for (size_t i = V; i < 2 * V; i++)
		count[i] = UINT64_MAX;
	for (size_t a = 0; a + 1 < V; a++) {
		long mins[2];

		for (int k = 0; k < 2; k++) {
			if (pos1 >= 0 && count[pos1] < count[pos2])
				mins[k] = pos1--;
			else
				mins[k] = pos2++;
		}
		count[V + a] = count[mins[0]] + count[mins[1]];
		parent[mins[0]] = (uint32_t)(V + a);
		parent[mins[1]] = (uint32_t)(V + a);
		binary[mins[1]] = 1;
	}
	/* two passes: lengths first, then the codes */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t a = 0; a < V; a++) {
			size_t b = a, len = 0;

			while (V > 1 && b != 2 * V - 2) {
				code[len] = binary[b];
				path[len] = (uint32_t)b;
				len++;
				b = parent[b];
			}
			if (pass == 0) {
				m->hoff[a] = depth_total;
				depth_total += len;
				continue;
			}
			/* root first; point[k] is the inner node deciding code[k] */
			for (size_t k = 0; k < len; k++) {
				m->hcode[m->hoff[a] + len - 1 - k] = code[k];
				m->hpoint[m->hoff[a] + len - 1 - k] =
					(uint32_t)((k + 1 < len ? path[k + 1] : 2 * V - 2) - V);
			}
		}
		if (pass == 0) {
			m->hoff[V] = depth_total;
			m->hpoint = malloc((depth_total + 1) * sizeof *m->hpoint);
			m->hcode = malloc(depth_total + 1);
			if (!m->hpoint || !m->hcode)
				goto oom;
		}
	}
	free(count);
	free(parent);
	free(binary);
	free(path);
	free(code);
	return 0;
oom:
	free(count);
	free(parent);
	free(binary);
	free(path);
	free(code);
	return -1;
}

static void *
alloc_floats(size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, n ? n * sizeof(float) : 64) != 0)
		return NULL;
	return p;
}

/* A weight matrix of n floats: in 2 MiB pages where the kernel gives them
 * for the asking (transparent_hugepage=madvise).  Training reads its rows
 * at random: GCIDE's 39,882 x 100 floats are 16 MB a matrix, about 3,900
 * pages of 4 KiB, more than the TLB holds, against 8 of 2 MiB.  Freed with
 * free(). */
static float *
alloc_rows(size_t n)
{
	return n * sizeof(float) < (size_t)2 << 20 ? alloc_floats(n) : ut_huge_alloc(n * sizeof(float));
}

/* Sort the vocabulary, map the spool to final ids (dropping the items below
 * min_count), and make the tables. */
static int
prepare(te_w2v *m, te_diag *d)
{
	size_t V = 0, dim = (size_t)m->p.dim;
	uint32_t *remap;
	uint64_t retain_total = 0, w = 0;
	double threshold;
	uint64_t rs;
	float range = m->p.sg ? 1.0f : 2.0f;

	for (size_t i = 0; i < m->n_items; i++)
		if (m->items[i].live && (long long)m->items[i].count >= m->p.min_count)
			V++;
	if (V == 0) {
		if (m->raw_items == 0)
			return te_diag_set(d, NULL, 0, "no items in the input");
		return te_diag_set(d, NULL, 0, "no item occurs %lld times or more "
		                   "(--min-count); the vocabulary is empty", m->p.min_count);
	}
	if (V > SIZE_MAX / sizeof(float) / dim / 2)
		return te_diag_set(d, NULL, 0, "the model would not fit in memory");
	m->V = V;
	m->vocab = malloc(V * sizeof *m->vocab);
	remap = malloc((m->n_items ? m->n_items : 1) * sizeof *remap);
	if (!m->vocab || !remap) {
		free(remap);
		return te_diag_set(d, NULL, 0, "out of memory");
	}
	V = 0;
	for (size_t i = 0; i < m->n_items; i++)
		if (m->items[i].live && (long long)m->items[i].count >= m->p.min_count)
			m->vocab[V++] = (uint32_t)i;
	sort_model = m;
	qsort(m->vocab, V, sizeof *m->vocab, by_count);
	for (size_t i = 0; i < m->n_items; i++)
		remap[i] = DEAD;
	for (size_t i = 0; i < V; i++) {
		remap[m->vocab[i]] = (uint32_t)i;
		retain_total += m->items[m->vocab[i]].count;
	}

	/* the spool, rewritten in place: final ids, EOS after each sequence */
	if (spool_flush(m, d) < 0) {
		free(remap);
		return -1;
	}
	m->corpus = mmap(NULL, m->spool_n * sizeof *m->corpus, PROT_READ | PROT_WRITE,
	                 MAP_SHARED, m->spool_fd, 0);
	if (m->corpus == MAP_FAILED) {
		m->corpus = NULL;
		free(remap);
		return te_diag_set(d, NULL, 0, "mapping the spool file: %s", strerror(errno));
	}
	for (uint64_t r = 0, start = 0; r < m->spool_n; r++) {
		uint32_t id = m->corpus[r];

		if (id == EOS) {
			if (w > start)
				m->corpus[w++] = EOS;
			start = w;
		} else if (remap[id] != DEAD) {
			m->corpus[w++] = remap[id];
			m->train_words++;
		}
	}
	m->corpus_n = w;
	free(remap);

	/* gensim's subsampling: keep with probability (sqrt(f/t)+1) t/f */
	m->sample_int = malloc(V * sizeof *m->sample_int);
	if (!m->sample_int)
		return te_diag_set(d, NULL, 0, "out of memory");
	if (m->p.sample <= 0)
		threshold = (double)retain_total;
	else if (m->p.sample < 1)
		threshold = m->p.sample * (double)retain_total;
	else
		threshold = floor(m->p.sample * (3 + sqrt(5)) / 2);
	for (size_t i = 0; i < V; i++) {
		double v = (double)m->items[m->vocab[i]].count;
		double prob = (sqrt(v / threshold) + 1) * (threshold / v);

		m->sample_int[i] = prob >= 1 ? UINT32_MAX : (uint32_t)(prob * 4294967295.0);
	}
	if (m->p.negative > 0 && build_alias(m) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
	if (m->p.hs && build_huffman(m) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");

	/* weights: outputs 0, inputs uniform in [-0.5, 0.5)/dim for skip-gram
	 * (word2vec.c), [-1, 1)/dim for CBOW (gensim 4's range, which CBOW's
	 * mean of the window needs; see "The update" in w2v-train(1)) */
	m->syn0 = alloc_rows(V * dim);
	if (m->p.negative > 0)
		m->syn1neg = alloc_rows(V * dim);
	if (m->p.hs)
		m->syn1hs = alloc_rows(V * dim);
	if (!m->syn0 || (m->p.negative > 0 && !m->syn1neg) || (m->p.hs && !m->syn1hs))
		return te_diag_set(d, NULL, 0, "out of memory");
	rs = m->p.seed;
	for (size_t i = 0; i < V * dim; i++)
		m->syn0[i] = ((float)(rnd(&rs) >> 40) / 16777216.0f - 0.5f) / (float)dim * range;
	if (m->syn1neg)
		memset(m->syn1neg, 0, V * dim * sizeof(float));
	if (m->syn1hs)
		memset(m->syn1hs, 0, V * dim * sizeof(float));
	return 0;
}

/* ------------------------------------------------------------ training */

/* The training threads wait for each other at the end of every epoch, as
 * gensim's workers do (its epoch ends when every worker's has): a thread
 * given less of the CPU than the others does not fall epochs behind them,
 * training its range at another epoch's rate against vectors that have
 * moved on.  A thread that fails, or never starts, leaves. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int parties, waiting;
	unsigned long round;
};

static void
gate_open(struct gate *g)
{
	g->waiting = 0;
	g->round++;
	pthread_cond_broadcast(&g->cv);
}

static void
gate_wait(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	if (++g->waiting >= g->parties) {
		gate_open(g);
	} else {
		unsigned long round = g->round;

		while (round == g->round)
			pthread_cond_wait(&g->cv, &g->mu);
	}
	pthread_mutex_unlock(&g->mu);
}

static void
gate_leave(struct gate *g, int n)
{
	pthread_mutex_lock(&g->mu);
	g->parties -= n;
	if (g->waiting && g->waiting >= g->parties)
		gate_open(g);
	pthread_mutex_unlock(&g->mu);
}

struct worker {
	te_w2v *m;
	uint64_t begin, end; /* range of the corpus, whole sequences */
	uint64_t seed;
	int id;
	int lanes;           /* read as this many interleaved ranges */
	int failed;
	struct gate *gate;   /* NULL: no other thread trains beside it */
};

struct scratch {
	uint32_t *sent;      /* the current piece, after subsampling */
	float **in, **out, *label, *e, *h;
	float **nout, *nlabel;  /* the noise rows of a position */
	int *shrink;         /* per position of the piece: the reduced window */
	uint32_t *noise;     /* per position: count, then the noise rows drawn */
	uint64_t *draw;      /* per position: the noise draws, cell << 32 | low */
};

/* The learning rate of epoch ep (0-based): held for the epoch, lowered
 * linearly from epoch to epoch, alpha in the first, min_alpha where the line
 * would reach after the last.  See "The schedule" in w2v-train(1). */
static inline float
epoch_alpha(const te_w2v *m, int ep)
{
	return (float)(m->p.alpha - (m->p.alpha - m->p.min_alpha) * ep / m->p.epochs);
}

/* The rate of the epoch that done items (all threads) fall in. */
static float
current_alpha(const te_w2v *m, uint64_t done)
{
	uint64_t ep = m->train_words ? done / m->train_words : 0;

	return epoch_alpha(m, ep < (uint64_t)m->p.epochs ? (int)ep : m->p.epochs - 1);
}

/* The output rows and labels of one position: its Huffman path, or the
 * target and `negative` draws from the noise table (draws equal to the
 * target are skipped, as in both peers). */
static inline __attribute__((always_inline)) size_t
hs_targets(const te_w2v *m, uint32_t w, float **out, float *label)
{
	size_t dim = (size_t)m->p.dim, n = 0;

	for (uint64_t k = m->hoff[w]; k < m->hoff[w + 1]; k++, n++) {
		out[n] = m->syn1hs + (size_t)m->hpoint[k] * dim;
		label[n] = 1.0f - (float)m->hcode[k];
	}
	return n;
}

static inline __attribute__((always_inline)) size_t
neg_targets(const te_w2v *m, uint32_t w, float **out, float *label, uint64_t *rs)
{
	size_t dim = (size_t)m->p.dim, n = 1;

	out[0] = m->syn1neg + (size_t)w * dim;
	label[0] = 1.0f;
	for (int k = 0; k < m->p.negative; k++) {
		uint32_t t = draw_noise(m, rs);

		if (t == w)
			continue;
		out[n] = m->syn1neg + (size_t)t * dim;
		label[n++] = 0.0f;
	}
	return n;
}

/* Every position's draws of a piece, made before it is trained and in the
 * order the training loop would make them (the reduced window, then the
 * noise rows, draws equal to the item skipped): the same numbers, but known
 * ahead, so that the rows they name are fetched from memory while the
 * positions before are trained.  s->noise holds, per position,
 * the count and then up to `negative` rows. */
static void
draw_ahead(const te_w2v *m, struct scratch *s, size_t n, uint64_t *rs)
{
	const size_t neg = (size_t)m->p.negative, stride = neg + 1;
	const int window = m->p.window;

	/* the random numbers first, each cell asked for from memory as it is
	 * drawn, so that the table is read many cells at a time */
	for (size_t i = 0; i < n; i++) {
		s->shrink[i] = m->p.shrink_windows ? (int)(rnd(rs) % (uint64_t)window) : 0;
		/* a piece of one item has no context and trains nothing */
		for (size_t k = 0; n > 1 && k < neg; k++) {
			uint64_t r = rnd(rs);
			uint32_t cell = noise_cell(m, r);

			__builtin_prefetch(&m->alias[cell]);
			s->draw[i * neg + k] = (uint64_t)cell << 32 | (uint32_t)r;
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t w = s->sent[i], *nz = s->noise + i * stride, c = 0;

		for (size_t k = 0; n > 1 && k < neg; k++) {
			uint64_t d = s->draw[i * neg + k];
			uint32_t t = noise_pick(m, (uint32_t)(d >> 32), (uint32_t)d);

			nz[1 + c] = t;   /* kept only if it is not the item */
			c += t != w;
		}
		nz[0] = c;
	}
}

/* Ask for the memory position i will need: its noise rows and the input
 * row that enters the widest window on its right. */
static inline __attribute__((always_inline)) void
fetch_ahead(const te_w2v *m, const struct scratch *s, size_t i, size_t n)
{
	const size_t dim = (size_t)m->p.dim, stride = (size_t)m->p.negative + 1;
	const uint32_t *nz = s->noise + i * stride;
	size_t r = i + (size_t)m->p.window;

	if (i >= n)
		return;
	for (uint32_t k = 1; k <= nz[0]; k++)
		for (size_t o = 0; o < dim; o += 16)
			__builtin_prefetch(m->syn1neg + (size_t)nz[k] * dim + o, 1);
	if (r < n)
		for (size_t o = 0; o < dim; o += 16)
			__builtin_prefetch(m->syn0 + (size_t)s->sent[r] * dim + o, 1);
}

/* The output rows and labels of position i's drawn noise, the item's own
 * row first. */
static inline __attribute__((always_inline)) size_t
drawn_targets(const te_w2v *m, const struct scratch *s, size_t i, float **out,
              float *label)
{
	const size_t dim = (size_t)m->p.dim;
	const uint32_t *nz = s->noise + i * ((size_t)m->p.negative + 1);
	size_t n = 1;

	out[0] = m->syn1neg + (size_t)s->sent[i] * dim;
	label[0] = 1.0f;
	for (uint32_t k = 1; k <= nz[0]; k++) {
		out[n] = m->syn1neg + (size_t)nz[k] * dim;
		label[n++] = 0.0f;
	}
	return n;
}

/* One input vector against its output rows, the rows updated one after the
 * other (word2vec.c); e accumulates the input's gradient. */
static inline __attribute__((always_inline)) void
pair_update(const float *in, float *const *out, const float *label, size_t n,
            size_t dim, float alpha, const float *t, float *e)
{
	for (size_t k = 0; k < n; k++) {
		float g = w2v_grad(w2v_dot(in, out[k], dim), label[k], alpha, t);

		w2v_axpy2(g, in, out[k], e, dim);
	}
}

/* CBOW at position i, whose c context rows are s->in: the mean (or sum)
 * of the context predicts the item. */
static inline __attribute__((always_inline)) void
cbow_position(const te_w2v *m, struct scratch *s, size_t i, size_t c, float alpha)
{
	const size_t dim = (size_t)m->p.dim;
	const float *t = m->exp_table;
	size_t nt;

	w2v_scale_to(1.0f, s->in[0], s->h, dim);
	for (size_t u = 1; u < c; u++)
		w2v_axpy(1.0f, s->in[u], s->h, dim);
	if (m->p.cbow_mean && c > 1)
		w2v_scale_to(1.0f / (float)c, s->h, s->h, dim);
	memset(s->e, 0, dim * sizeof(float));
	if (m->p.hs) {
		nt = hs_targets(m, s->sent[i], s->out, s->label);
		pair_update(s->h, s->out, s->label, nt, dim, alpha, t, s->e);
	}
	if (m->p.negative) {
		nt = drawn_targets(m, s, i, s->nout, s->nlabel);
		pair_update(s->h, s->nout, s->nlabel, nt, dim, alpha, t, s->e);
	}
	/* gensim divides the error over a summed window */
	if (!m->p.cbow_mean && c > 1)
		w2v_scale_to(1.0f / (float)c, s->e, s->e, dim);
	for (size_t u = 0; u < c; u++)
		w2v_axpy(1.0f, s->e, s->in[u], dim);
}

/* Skip-gram at position i: the window's output rows drawn once, every
 * context updated against them in turn (see w2v-train(1)). */
static inline __attribute__((always_inline)) void
sg_batch_position(const te_w2v *m, struct scratch *s, size_t i, size_t c, float alpha)
{
	const size_t dim = (size_t)m->p.dim;
	const float *t = m->exp_table;
	size_t nh = m->p.hs ? hs_targets(m, s->sent[i], s->out, s->label) : 0;
	size_t nn = m->p.negative ? drawn_targets(m, s, i, s->nout, s->nlabel) : 0;

	for (size_t u = 0; u < c; u++) {
		memset(s->e, 0, dim * sizeof(float));
		if (nh)
			pair_update(s->in[u], s->out, s->label, nh, dim, alpha, t, s->e);
		if (nn)
			pair_update(s->in[u], s->nout, s->nlabel, nn, dim, alpha, t, s->e);
		w2v_axpy(1.0f, s->e, s->in[u], dim);
	}
}

/* Skip-gram at position i, each context drawing its own noise rows. */
static inline __attribute__((always_inline)) void
sg_position(const te_w2v *m, struct scratch *s, size_t i, size_t c, float alpha,
            uint64_t *rs)
{
	const size_t dim = (size_t)m->p.dim;
	const float *t = m->exp_table;
	size_t nt;

	for (size_t u = 0; u < c; u++) {
		memset(s->e, 0, dim * sizeof(float));
		if (m->p.hs) {
			nt = hs_targets(m, s->sent[i], s->out, s->label);
			pair_update(s->in[u], s->out, s->label, nt, dim, alpha, t, s->e);
		}
		if (m->p.negative) {
			nt = neg_targets(m, s->sent[i], s->out, s->label, rs);
			pair_update(s->in[u], s->out, s->label, nt, dim, alpha, t, s->e);
		}
		w2v_axpy(1.0f, s->e, s->in[u], dim);
	}
}


/* Train on one piece of a sequence (already subsampled).  Skip-gram with a
 * draw per context draws as it goes; the others draw the piece ahead. */
UT_V3_CLONES static void
train_piece(te_w2v *m, struct scratch *s, size_t n, float alpha, uint64_t *rs)
{
	const size_t dim = (size_t)m->p.dim;
	const int window = m->p.window, ahead = !m->p.sg || m->p.batch;
	const uint32_t *sent = s->sent;

	if (ahead) {
		draw_ahead(m, s, n, rs);
		for (size_t i = 0; i < FETCH_AHEAD; i++)
			fetch_ahead(m, s, i, n);
	}
	for (size_t i = 0; i < n; i++) {
		int b;
		size_t lo, hi, c = 0;

		if (ahead) {
			fetch_ahead(m, s, i + FETCH_AHEAD, n);
			b = s->shrink[i];
		} else {
			b = m->p.shrink_windows ? (int)(rnd(rs) % (uint64_t)window) : 0;
		}
		lo = i >= (size_t)(window - b) ? i - (size_t)(window - b) : 0;
		hi = i + (size_t)(window - b);
		if (hi >= n)
			hi = n - 1;
		for (size_t j = lo; j <= hi; j++)
			if (j != i)
				s->in[c++] = m->syn0 + (size_t)sent[j] * dim;
		if (c == 0)
			continue;
		if (!m->p.sg)
			cbow_position(m, s, i, c, alpha);
		else if (m->p.batch)
			sg_batch_position(m, s, i, c, alpha);
		else
			sg_position(m, s, i, c, alpha, rs);
	}
}

/* One piece at *r: up to max_sentence vocabulary items of a sequence, kept
 * by subsampling, into sent; *r moves past them (and past the sequence's
 * end); pending counts the items read. */
static size_t
next_piece(te_w2v *m, uint64_t *rp, uint64_t end, uint32_t *sent,
           uint64_t *pending, uint64_t *rs)
{
	uint64_t r = *rp;
	size_t n = 0;

	for (; r < end && m->corpus[r] != EOS; r++) {
		uint32_t w = m->corpus[r];

		/* ask for the keep threshold of an item a little ahead */
		if (r + SAMPLE_AHEAD < end && m->corpus[r + SAMPLE_AHEAD] != EOS)
			__builtin_prefetch(&m->sample_int[m->corpus[r + SAMPLE_AHEAD]]);
		(*pending)++;
		/* no branch on the keep test: it is a coin toss for frequent items */
		sent[n] = w;
		n += m->sample_int[w] == UINT32_MAX || m->sample_int[w] >= (uint32_t)rnd(rs);
		if (n == m->p.max_sentence) {
			r++;
			break;
		}
	}
	if (r < end && m->corpus[r] == EOS)
		r++;
	*rp = r;
	return n;
}

/* Split the worker's range into W2V_LANES lanes of whole sequences (some
 * empty when the range holds fewer sequences). */
static int
lanes(const te_w2v *m, const struct worker *wk, uint64_t *cur, uint64_t *end)
{
	int nl = wk->lanes;

	for (int l = 0; l < nl; l++) {
		uint64_t b = l ? end[l - 1] : wk->begin;
		uint64_t x = wk->begin + (wk->end - wk->begin) * (uint64_t)(l + 1) / (uint64_t)nl;

		if (x < b)
			x = b;
		while (x < wk->end && x > 0 && m->corpus[x - 1] != EOS)
			x++;
		cur[l] = b;
		end[l] = x;
	}
	return nl;
}

static void *
work(void *arg)
{
	struct worker *wk = arg;
	te_w2v *m = wk->m;
	size_t dim = (size_t)m->p.dim, maxc = 2 * (size_t)m->p.window;
	size_t maxt = (size_t)m->p.negative + 1, depth = 0;
	struct scratch s = {0};
	uint64_t rs = wk->seed;

	if (m->p.hs)
		for (size_t i = 0; i < m->V; i++)
			if (m->hoff[i + 1] - m->hoff[i] > depth)
				depth = m->hoff[i + 1] - m->hoff[i];
	if (depth > maxt)
		maxt = depth;
	s.sent = malloc(m->p.max_sentence * sizeof *s.sent);
	s.in = malloc(maxc * sizeof *s.in);
	s.out = malloc(maxt * sizeof *s.out);
	s.label = malloc(maxt * sizeof *s.label);
	s.nout = malloc(((size_t)m->p.negative + 1) * sizeof *s.nout);
	s.nlabel = malloc(((size_t)m->p.negative + 1) * sizeof *s.nlabel);
	s.shrink = malloc(m->p.max_sentence * sizeof *s.shrink);
	s.noise = malloc(m->p.max_sentence * ((size_t)m->p.negative + 1) * sizeof *s.noise);
	s.draw = malloc(m->p.max_sentence * ((size_t)m->p.negative + 1) * sizeof *s.draw);
	s.e = alloc_floats(dim);
	s.h = alloc_floats(dim);
	if (!s.sent || !s.in || !s.out || !s.label || !s.e || !s.h ||
	    !s.nout || !s.nlabel || !s.shrink || !s.noise || !s.draw) {
		wk->failed = 1;
		if (wk->gate)
			gate_leave(wk->gate, 1);
		goto out;
	}
	for (int ep = 0; ep < m->p.epochs; ep++) {
		uint64_t pending = 0, eff = 0;
		float alpha = epoch_alpha(m, ep);
		uint64_t cur[W2V_LANES], end[W2V_LANES];
		int nl = lanes(m, wk, cur, end), live = nl;

		while (live > 0) {
			live = 0;
			for (int l = 0; l < nl; l++) {
				size_t n;

				if (cur[l] >= end[l])
					continue;
				live++;
				n = next_piece(m, &cur[l], end[l], s.sent, &pending, &rs);
				eff += n;
				train_piece(m, &s, n, alpha, &rs);
				if (pending >= PROGRESS_EVERY) {
					atomic_fetch_add(&m->done, pending);
					pending = 0;
				}
			}
		}
		atomic_fetch_add(&m->done, pending);
		atomic_fetch_add(&m->effective, eff);
		if (wk->gate && ep + 1 < m->p.epochs)
			gate_wait(wk->gate);
	}
out:
	atomic_fetch_add(&m->finished, 1);
	free(s.sent);
	free(s.in);
	free(s.out);
	free(s.label);
	free(s.nout);
	free(s.nlabel);
	free(s.shrink);
	free(s.noise);
	free(s.draw);
	free(s.e);
	free(s.h);
	return NULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
te_w2v_train(te_w2v *m, te_w2v_progress_fn progress, void *arg, te_diag *d)
{
	int T = m->p.threads, started = 0, failed = 0;
	struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
	struct worker *wk;
	pthread_t *th;
	uint64_t total;
	double t0;

	if (m->trained)
		return te_diag_set(d, NULL, 0, "the model is already trained");
	m->trained = 1;
	if (prepare(m, d) < 0)
		return -1;
	if ((uint64_t)T > m->corpus_n / 1000 + 1)
		T = (int)(m->corpus_n / 1000 + 1);  /* a thread per 1000 items at most */
	wk = calloc((size_t)T, sizeof *wk);
	th = calloc((size_t)T, sizeof *th);
	if (!wk || !th) {
		free(wk);
		free(th);
		return te_diag_set(d, NULL, 0, "out of memory");
	}
	/* split the corpus into T ranges of whole sequences */
	for (int i = 0; i < T; i++) {
		uint64_t b = i ? wk[i - 1].end : 0, e = m->corpus_n * (uint64_t)(i + 1) / (uint64_t)T;

		if (e < b)
			e = b;
		while (e < m->corpus_n && e > 0 && m->corpus[e - 1] != EOS)
			e++;
		wk[i] = (struct worker){m, b, e, m->p.seed * 0x2545f4914f6cdd1dull + (uint64_t)i + 1,
		                        i, W2V_LANES, 0, T > 1 ? &gate : NULL};
	}
	gate.parties = T;
	total = m->train_words * (uint64_t)m->p.epochs;
	t0 = now();
	for (int i = 0; i < T; i++) {
		if (pthread_create(&th[i], NULL, work, &wk[i]) != 0)
			break;
		started++;
	}
	if (started < T)
		gate_leave(&gate, T - started);
	if (started == 0) {
		free(wk);
		free(th);
		return te_diag_set(d, NULL, 0, "cannot start a training thread");
	}
	if (progress) {
		while (atomic_load(&m->finished) < started) {
			uint64_t done;

			usleep(200000);
			done = atomic_load(&m->done);
			progress(arg, done, total, current_alpha(m, done), now() - t0);
		}
	}
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failed |= wk[i].failed;
	}
	if (started < T && !failed) {
		/* the ranges of threads that did not start are trained here */
		for (int i = started; i < T; i++) {
			wk[i].gate = NULL;
			work(&wk[i]);
			failed |= wk[i].failed;
		}
	}
	m->stats.seconds = now() - t0;
	free(wk);
	free(th);
	if (failed)
		return te_diag_set(d, NULL, 0, "out of memory");
	m->stats.vocab = m->V;
	m->stats.raw_items = m->raw_items;
	m->stats.sequences = m->sequences;
	m->stats.trained = atomic_load(&m->done);
	m->stats.effective = atomic_load(&m->effective);
	return 0;
}

/* ------------------------------------------------------------- results */

size_t te_w2v_vocab_size(const te_w2v *m) { return m->V; }
size_t te_w2v_dim(const te_w2v *m) { return (size_t)m->p.dim; }

const char *
te_w2v_key(const te_w2v *m, size_t i)
{
	return item_key(&m->items[m->vocab[i]]);
}

uint64_t
te_w2v_count(const te_w2v *m, size_t i)
{
	return m->items[m->vocab[i]].count;
}

const float *
te_w2v_vector(const te_w2v *m, size_t i)
{
	return m->syn0 + i * (size_t)m->p.dim;
}

void
te_w2v_stats_get(const te_w2v *m, te_w2v_stats *s)
{
	*s = m->stats;
}

int
te_w2v_write(const te_w2v *m, FILE *fp, te_vec_format fmt, te_diag *d)
{
	size_t V = m->V, dim = (size_t)m->p.dim;
	int rc = 0;

	if (!m->syn0)
		return te_diag_set(d, NULL, 0, "the model is not trained");
	switch (fmt) {
	case TE_VEC_FORMAT_W2V_BIN:
		rc = te_vec_write_w2v_bin_header(fp, V, dim);
		for (size_t i = 0; i < V && rc == 0; i++)
			rc = te_vec_write_w2v_bin(fp, te_w2v_key(m, i), te_w2v_vector(m, i), dim);
		break;
	case TE_VEC_FORMAT_TEVEC: {
		uint64_t ksize = 0;

		for (size_t i = 0; i < V; i++)
			ksize += m->items[m->vocab[i]].len + 1;
		rc = te_vec_write_tevec_header(fp, V, dim, ksize, 0);
		for (size_t i = 0; i < V && rc == 0; i++)
			rc = te_vec_write_tevec_row(fp, te_w2v_vector(m, i), dim);
		for (size_t i = 0; i < V && rc == 0; i++)
			rc = te_vec_write_tevec_key(fp, te_w2v_key(m, i));
		break;
	}
	case TE_VEC_FORMAT_NPY:
		/* the keys are the caller's to write beside it (te_w2v_key) */
		rc = te_vec_write_npy_header(fp, V, dim);
		for (size_t i = 0; i < V && rc == 0; i++)
			rc = te_vec_write_tevec_row(fp, te_w2v_vector(m, i), dim);
		break;
	case TE_VEC_FORMAT_TSV:
		for (size_t i = 0; i < V && rc == 0; i++) {
			rc = fputs(te_w2v_key(m, i), fp) < 0 || putc('\t', fp) == EOF ? -1 : 0;
			if (rc == 0)
				rc = te_vec_write_text(fp, NULL, te_w2v_vector(m, i), dim);
		}
		break;
	default:
		rc = te_vec_write_text_header(fp, V, dim);
		for (size_t i = 0; i < V && rc == 0; i++)
			rc = te_vec_write_text(fp, te_w2v_key(m, i), te_w2v_vector(m, i), dim);
		break;
	}
	if (rc != 0 || ferror(fp))
		return te_diag_set(d, NULL, 0, "write error: %s", strerror(errno ? errno : EIO));
	return 0;
}
