/* wordpiece.c: WordPiece (BERT), greedy longest match first, as Hugging
 * Face tokenizers does it: a word longer than max_input_chars_per_word
 * characters, or one with a part not in the vocabulary, becomes [UNK].
 *
 * The longest piece at each point is found in one forward walk of a byte
 * trie over the vocabulary (tk_wordpiece_prepare, made by the encode
 * once a text has had enough words: wp_trie_lazy), remembering the last
 * key that ends on a character boundary: no copies, no hashing.  The
 * continuing pieces ("##" + rest) are keys of the same trie, walked from
 * the node of the prefix.  Without the trie (not prepared), the pieces
 * are looked up in the vocabulary's hash map from the word's end down, a
 * character at a time: the reference the trie is tested against
 * (t/unit/test-tok-wordpiece.c). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

/* Words that go by the map before the trie is made: making it costs
 * what some 8000 words of bert-base-uncased looked up by the map do
 * (16M instructions, 2 ms), which a short text never repays. */
#define WP_LAZY_WORDS 1024
static pthread_mutex_t wp_mu = PTHREAD_MUTEX_INITIALIZER;

/* A node of the trie.  Its children are the nodes kid .. kid + n - 1, in
 * the order of their labels lo .. lo + span.  With n <= 2 the labels are
 * lo and lo + span themselves; with more, tab[tab + c - lo] is the
 * child's place among them + 1 (0: none).  A leaf has n = 1, lo = span =
 * 0 and kid = 0, the root, which stands for none. */
typedef struct wpnode {
	int32_t val;                       /* id of the key ending here, or -1 */
	uint32_t kid;
	uint32_t tab;
	uint16_t n;
	uint8_t lo, span;
} wpnode;

struct tk_wptrie {
	wpnode *node;                      /* node[0] is the root */
	uint16_t *tab;
	uint32_t pnode;                    /* the prefix's node */
	int pok;                           /* 0: the prefix is no key's start */
};

/* The child of x by byte c, or 0. */
static inline uint32_t
wp_child(const struct tk_wptrie *tr, uint32_t x, unsigned char c)
{
	const wpnode *p = &tr->node[x];
	unsigned d = (unsigned)c - p->lo;

	if (d > p->span)
		return 0;
	if (p->n <= 2)
		return !d ? p->kid : d == p->span ? p->kid + 1 : 0;
	d = tr->tab[p->tab + d];
	return d ? p->kid + d - 1 : 0;
}

/* The id of the longest key from node x on that s[i..*end) completes,
 * *end a character boundary of s (at n, or before a byte that does not
 * continue a character), *end > i; -1 when none. */
static inline int32_t
wp_longest(const struct tk_wptrie *tr, uint32_t x, const unsigned char *s, size_t i, size_t n,
           size_t *end)
{
	int32_t id = -1;

	while (i < n && (x = wp_child(tr, x, s[i]))) {
		i++;
		if (tr->node[x].val >= 0 && (i == n || (s[i] & 0xc0) != 0x80)) {
			id = tr->node[x].val;
			*end = i;
		}
	}
	return id;
}

/* The pieces of s[0, n) by the trie tr: 0, 1 when one is not in it (o
 * as it was), -1 out of memory. */
static int
wp_trie_pieces(const struct tk_wptrie *tr, const unsigned char *s, size_t n, tk_out *o)
{
	size_t start = 0, end = 0, base = o->n;
	uint32_t x = 0;

	while (start < n) {
		int32_t id = wp_longest(tr, x, s, start, n, &end);

		if (id < 0) {
			o->n = base;
			return 1;
		}
		if (tk_out_push(o, id, start, end))
			return -1;
		start = end;
		if (!tr->pok)
			break;
		x = tr->pnode;
	}
	if (start < n) {
		o->n = base;
		return 1;
	}
	return 0;
}

/* The same by the hash map: each piece the longest of s[start, end) (with
 * the prefix after the first) in the vocabulary, end stepped back a
 * character at a time. */
static int
wp_hash_pieces(const tk_wordpiece *m, const char *s, size_t n, tk_out *o)
{
	size_t start, base = o->n;
	char stack[256], *buf = stack;
	int rc = 0;

	if (m->prefix_n + n > sizeof stack && !(buf = malloc(m->prefix_n + n)))
		return -1;
	memcpy(buf, m->prefix, m->prefix_n);
	for (start = 0; start < n && !rc;) {
		size_t end = n;
		int32_t id = -1;

		while (start < end) {
			if (start == 0) {
				id = ut_strmap_get(&m->vocab, s, end);
			} else {
				memcpy(buf + m->prefix_n, s + start, end - start);
				id = ut_strmap_get(&m->vocab, buf, m->prefix_n + end - start);
			}
			if (id >= 0)
				break;
			/* step back one character */
			do
				end--;
			while (end > start && ((unsigned char)s[end] & 0xc0) == 0x80);
		}
		if (id < 0) {
			o->n = base;
			rc = 1;
		} else if (tk_out_push(o, id, start, end)) {
			rc = -1;
		}
		start = end;
	}
	if (buf != stack)
		free(buf);
	return rc;
}

/* m's trie, made here once WP_LAZY_WORDS words went by the map while
 * lazy; NULL before that, or when it could not be made (out of memory:
 * the map serves). */
static const struct tk_wptrie *
wp_trie_lazy(tk_wordpiece *m)
{
	const struct tk_wptrie *tr;

	if (__atomic_add_fetch(&m->words, 1, __ATOMIC_RELAXED) < WP_LAZY_WORDS)
		return NULL;
	pthread_mutex_lock(&wp_mu);
	if (__atomic_load_n(&m->lazy, __ATOMIC_ACQUIRE) && !m->trie)
		tk_wordpiece_prepare(m);
	__atomic_store_n(&m->lazy, 0, __ATOMIC_RELEASE);
	tr = __atomic_load_n(&m->trie, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&wp_mu);
	return tr;
}

int
tk_wordpiece_encode(const tk_wordpiece *m, const char *s, size_t n, tk_out *o)
{
	const struct tk_wptrie *tr = __atomic_load_n(&m->trie, __ATOMIC_ACQUIRE);
	size_t chars = 0, i;
	int len, rc;

	if (!n)
		return 0;
	/* no more characters than bytes: counted only when it may matter */
	for (i = 0; n > m->max_chars && i < n; i += (size_t)len) {
		ut_utf8_dec((const unsigned char *)s + i, n - i, &len);
		chars++;
	}
	if (!tr && __atomic_load_n(&m->lazy, __ATOMIC_ACQUIRE))
		tr = wp_trie_lazy((tk_wordpiece *)m);
	if (chars > m->max_chars)
		rc = 1;
	else if (tr)
		rc = wp_trie_pieces(tr, (const unsigned char *)s, n, o);
	else
		rc = wp_hash_pieces(m, s, n, o);
	if (rc <= 0)
		return rc;
	return m->unk >= 0 ? tk_out_push(o, m->unk, 0, n) : 0;
}

/* ------------------------------------------------------------ the trie */

typedef struct wpkey {
	const unsigned char *s;
	uint32_t n;
	int32_t val;
} wpkey;

/* A node waiting for its children: the keys k[lo, hi), which all share
 * their first depth bytes. */
typedef struct wpspan {
	uint32_t x, lo, hi, depth;
} wpspan;

typedef struct wpbuild {
	struct tk_wptrie *tr;
	wpkey *k, *tmp;                    /* the keys; room to sort them */
	wpspan *q;                         /* a stack of the nodes waiting */
	size_t nq, nnode, ntab, tabcap;
} wpbuild;

/* Sort the keys k[lo, hi), which share their first d bytes, by their
 * byte d, a key of d bytes first: by insertion when few, else by counts
 * (the trie is made by sorting each node's keys on its own level, one
 * byte at a time, an MSD radix sort). */
static void
wp_sort(wpbuild *b, uint32_t lo, uint32_t hi, uint32_t d)
{
	wpkey *k = b->k, x;
	uint32_t i, j, at[258];

#define KB(e) ((e).n > d ? (uint32_t)(e).s[d] + 1 : 0)	/* 0: ends at d */
	if (hi - lo <= 16) {
		for (i = lo + 1; i < hi; i++) {
			x = k[i];
			for (j = i; j > lo && KB(k[j - 1]) > KB(x); j--)
				k[j] = k[j - 1];
			k[j] = x;
		}
		return;
	}
	memset(at, 0, sizeof at);
	for (i = lo; i < hi; i++)
		at[KB(k[i]) + 1]++;
	for (i = 1, at[0] = lo; i < 258; i++)
		at[i] += at[i - 1];
	for (i = lo; i < hi; i++)
		b->tmp[at[KB(k[i])]++] = k[i];
#undef KB
	memcpy(k + lo, b->tmp + lo, (hi - lo) * sizeof *k);
}

/* The nodes below x for the one key k left there, from its byte d on: a
 * chain of one child each. */
static void
wp_chain(wpbuild *b, uint32_t x, const wpkey *k, uint32_t d)
{
	wpnode *nd = b->tr->node;

	for (; d < k->n; d++) {
		nd[x].kid = (uint32_t)b->nnode;
		nd[x].n = 1;
		nd[x].lo = k->s[d];
		x = (uint32_t)b->nnode++;
		memset(&nd[x], 0, sizeof nd[x]);
		nd[x].val = -1;
	}
	nd[x].val = k->val;
}

/* The children of the node sp: one for each byte at sp.depth among its
 * keys (sorted), made as consecutive nodes and stacked, the first on top:
 * the nodes are made depth first, a node's children soon after it (the
 * nodes a walk down one key meets lie close).  The node array and the
 * stack have room for a node per key byte. */
static int
wp_kids(wpbuild *b, wpspan sp)
{
	const wpkey *k = b->k;
	uint32_t i = sp.lo, n = 0, j;
	unsigned lo = 256, hi = 0, c;
	wpnode *p = &b->tr->node[sp.x];

	if (sp.hi - sp.lo == 1) {
		wp_chain(b, sp.x, &k[sp.lo], sp.depth);
		return 0;
	}
	wp_sort(b, sp.lo, sp.hi, sp.depth);

	/* the key that ends here (more than one: only from a damaged cache) */
	if (i < sp.hi && k[i].n == sp.depth)
		p->val = k[i].val;
	while (i < sp.hi && k[i].n == sp.depth)
		i++;
	for (j = i; j < sp.hi; n++) {
		c = k[j].s[sp.depth];
		lo = c < lo ? c : lo;
		hi = c;
		while (j < sp.hi && k[j].s[sp.depth] == c)
			j++;
	}
	if (!n)
		return 0;
	p->kid = (uint32_t)b->nnode;
	p->n = (uint16_t)n;
	p->lo = (uint8_t)lo;
	p->span = (uint8_t)(hi - lo);
	if (n > 2) {
		size_t need = b->ntab + hi - lo + 1;

		if (ut_grow((void **)&b->tr->tab, &b->tabcap, need, sizeof *b->tr->tab))
			return -1;
		p->tab = (uint32_t)b->ntab;
		memset(b->tr->tab + b->ntab, 0, (hi - lo + 1) * sizeof *b->tr->tab);
		b->ntab = need;
	}
	for (j = i, n = 0; j < sp.hi; n++) {
		wpspan kid = { (uint32_t)b->nnode++, j, j, sp.depth + 1 };

		c = k[j].s[sp.depth];
		memset(&b->tr->node[kid.x], 0, sizeof *b->tr->node);
		b->tr->node[kid.x].val = -1;
		while (kid.hi < sp.hi && k[kid.hi].s[sp.depth] == c)
			kid.hi++;
		j = kid.hi;
		if (p->n > 2)
			b->tr->tab[p->tab + c - lo] = (uint16_t)(n + 1);
		b->q[b->nq + p->n - 1 - n] = kid;
	}
	b->nq += p->n;
	return 0;
}

/* The keys of m's vocabulary; *total their bytes.  A key outside
 * the map's pool (a damaged compiled cache) is left out. */
static wpkey *
wp_keys(const ut_strmap *v, size_t *nk, size_t *total)
{
	wpkey *k = malloc((v->n ? v->n : 1) * sizeof *k);
	size_t i, n = 0;

	*total = 0;
	if (!k)
		return NULL;
	for (i = 0; i < v->n; i++) {
		const ut_sment *e = &v->ent[i];

		if ((uint64_t)e->koff + e->klen > v->pool_n)
			continue;
		k[n].s = (const unsigned char *)v->pool + e->koff;
		k[n].n = e->klen;
		k[n].val = e->val;
		*total += e->klen;
		n++;
	}
	*nk = n;
	return k;
}

static void
wp_trie_free(struct tk_wptrie *tr)
{
	if (!tr)
		return;
	free(tr->node);
	free(tr->tab);
	free(tr);
}

int
tk_wordpiece_prepare(tk_wordpiece *m)
{
	wpbuild b = { 0 };
	size_t nk, total, h, i;
	wpkey *k;
	int rc = -1;

	wp_trie_free(m->trie);
	m->trie = NULL;
	if (!(k = wp_keys(&m->vocab, &nk, &total)))
		return -1;
	if (nk > UINT32_MAX / 2 || total > UINT32_MAX / 2 ||
	    !(b.tr = calloc(1, sizeof *b.tr)) ||
	    !(b.tr->node = ut_huge_alloc((total + 1) * sizeof *b.tr->node)) ||
	    !(b.q = malloc((total + 1) * sizeof *b.q)) ||
	    !(b.tmp = malloc((nk ? nk : 1) * sizeof *b.tmp)))
		goto out;
	b.k = k;
	memset(b.tr->node, 0, sizeof *b.tr->node);
	b.tr->node[0].val = -1;
	b.q[0] = (wpspan){ 0, 0, (uint32_t)nk, 0 };
	b.nq = b.nnode = 1;
	while (b.nq)
		if (wp_kids(&b, b.q[--b.nq]))
			goto out;
	/* the node of the continuing pieces' prefix */
	for (i = 0, h = 0; i < m->prefix_n && (h || !i); i++)
		h = wp_child(b.tr, (uint32_t)h, (unsigned char)m->prefix[i]);
	b.tr->pnode = (uint32_t)h;
	b.tr->pok = !m->prefix_n || h;
	__atomic_store_n(&m->trie, b.tr, __ATOMIC_RELEASE);
	b.tr = NULL;
	rc = 0;
out:
	wp_trie_free(b.tr);
	free(b.q);
	free(b.tmp);
	free(k);
	return rc;
}

void
tk_wordpiece_release(tk_wordpiece *m)
{
	wp_trie_free(m->trie);
	m->trie = NULL;
	ut_strmap_release(&m->vocab);
}
