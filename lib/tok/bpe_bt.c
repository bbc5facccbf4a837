/* bpe_bt.c: byte-level BPE by backtracking, of a tiktoken vocabulary
 * (ranks) or of one with merges (in ids ranked as their merges), as
 * GitHub's rust-gems bpe crate describes it: the longest token that
 * matches at the current position is taken when the pair it makes with
 * the token before is one BPE would keep apart; else the next shorter
 * token that matches there, and when none does, the token before is taken
 * back.  Work is linear in the word in practice, where merging by rank
 * is n log n, and a word of 500 KB of one letter costs no more per byte
 * than prose.
 * A pair (a, b) is kept apart by BPE unless a merge across their boundary
 * ranks before the merges that made them: tk_bt_valid unmerges a and b,
 * the later one first, checking each pair of parts that meets there.
 * Every token's own split (the pair its last merge joined) comes from the
 * same test, tokens in rank order.  A long word that repeats itself is
 * done a period at a time (bt_repeat).  bt_build needs tens of ms for a large
 * vocabulary: bpe_fast.c builds it with its flat tables, when the model is
 * run often. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

#define BT_NONE UINT32_MAX

/* An edge of the token trie while it is built: (node << 8 | byte) + 1 ->
 * child (nodes below 2^24: the bytes of the vocabulary's tokens,
 * BT_MAX_BYTES at most). */
typedef struct bt_edge {
	uint32_t key;
	uint32_t child;
} bt_edge;

/* A node of the trie as it is searched: its children, by byte, side by
 * side (a block), the blocks in depth-first order, a node's first child's
 * block right after its own; so a step of a walk scans one short block,
 * and down a word where the trie has one way on (deep in it, most nodes)
 * the blocks read are neighbours, not a slot of a hash table each byte.
 * A node is start << 38 | children << 29 | (the token ending there + 1)
 * << 8 | the byte leading there.  The root is 0, its children's block
 * starts at 1 (root1 and root2 point into it).
 * A wide node (more than BT_NARROW children; few, but many walks pass
 * one: " t", " co") has before its block, in one cache line, a map of
 * the bytes that have a child (BT_MAPW words: word k's bits 8 to 63 are
 * bytes 56k to 56k + 55, its low 8 bits count the children before
 * them), so that a step finds a child in one line and the child's,
 * where halving a block of 9 to 256 read a line a halving. */
typedef uint64_t bt_node;
#define BT_NODE_TOK(x) ((uint32_t)((x) >> 8) & 0x1fffff)
#define BT_NODE_NKIDS(x) ((uint32_t)((x) >> 29) & 511)
#define BT_NODE_START(x) ((uint32_t)((x) >> 38) & 0xffffff)
#define BT_MAX_BYTES ((size_t)1 << 23)
#define BT_MAX_NODES ((uint32_t)1 << 24)	/* the nodes and the maps */
#define BT_NARROW 8
#define BT_MAPW 5
/* ids below this: a pair and the token it makes fit one 8-byte slot */
#define BT_MAX_TOK ((uint32_t)1 << 20)

/* What the search reads of a token, in one place: its length, its longest
 * proper prefix token (or -1) and the pair its last merge joined. */
typedef struct bt_tok {
	uint32_t len;
	int32_t prefix;
	uint32_t l, r;
} bt_tok;

struct tk_bt {
	uint64_t serial;		/* this build's, unique: the pair memos' owner */
	int mapped;			/* the arrays point into a cache image */
	uint32_t ntok;			/* ids: the tables' own (see ext) */
	int32_t *ext;			/* merges: id -> the model's id; NULL: the same */
	const char **tb;		/* id -> its bytes (the vocabulary's): building only */
	uint32_t *tlen;			/* building only */
	bt_tok *tok;
	int32_t *node_tok;		/* building only: trie node -> its token, or -1 */
	uint32_t nnode;			/* b->node's length, the maps included */
	uint32_t maxlen;		/* the longest token's bytes */
	uint32_t root2[65536];		/* two bytes -> their node, 0 none */
	uint32_t root1[256];
	bt_node *node;
	bt_edge *edge;			/* building only */
	size_t emask;
	uint64_t *pair;			/* 1 << 63 | (a << 20 | b) << 22 | the token a, b make */
	size_t pmask;
	uint64_t *pbits;		/* the pairs' filter: pair_words(pmask) words (pair_bits) */
	uint64_t *whole;		/* BT_WHOLE_BITS: the hashes of tokens not in the trie */
	int warm;			/* tk_bt_warm has read the tables */
};
#define BT_WHOLE_BITS 65536

static uint64_t bt_serial;	/* builds so far */

static inline uint64_t
mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static inline uint32_t
edge_get(const tk_bt *b, uint32_t node, unsigned char c)
{
	uint32_t key = (node << 8 | c) + 1;
	size_t j, k;

	for (j = mix64(key) & b->emask, k = 0; b->edge[j].key && k <= b->emask;
	     j = (j + 1) & b->emask, k++)
		if (b->edge[j].key == key)
			return b->edge[j].child < b->nnode ? b->edge[j].child : 0;
	return 0;
}

/* The child of node by byte c, made if new; 0 when out of room. */
static uint32_t
edge_add(tk_bt *b, uint32_t node, unsigned char c, size_t cap)
{
	uint32_t key = (node << 8 | c) + 1;
	size_t j;

	for (j = mix64(key) & b->emask; b->edge[j].key; j = (j + 1) & b->emask)
		if (b->edge[j].key == key)
			return b->edge[j].child;
	if (b->nnode >= cap)
		return 0;
	b->edge[j].key = key;
	b->edge[j].child = b->nnode;
	b->node_tok[b->nnode] = -1;
	return b->nnode++;
}

static inline uint64_t
pair_key(uint32_t x, uint32_t y)
{
	return (uint64_t)1 << 63 | ((uint64_t)x << 20 | y) << 22;
}

/* Most pairs asked for are none (a pair kept apart unmerges to the
 * bytes, none of its steps a merge): a filter of the pairs, two bits
 * each in one word of 64 (about 3 % false "may be" at four bits a slot
 * of the pair table, small enough to stay in the cache where the table
 * does not), answers those without a look into the table. */
static inline size_t
pair_words(size_t pmask)	/* pmask + 1 >= 64 (pow2_over; tk_bt_map checks) */
{
	return (pmask + 1) / 16;
}

/* The word of the filter (at h >> 20) and its two bits, of the pair with
 * the hash h. */
static inline uint64_t
pair_bits(uint64_t h)
{
	return (uint64_t)1 << (h >> 58) | (uint64_t)1 << (h >> 52 & 63);
}

static inline int32_t
pair_get(const tk_bt *b, uint32_t x, uint32_t y)
{
	uint64_t key = pair_key(x, y), h = mix64(key), m = pair_bits(h);
	size_t j, k;

	/* the filter passes half the pairs a walk asks for (cl100k prose):
	 * the table's slot is asked for beside it, not after it */
	__builtin_prefetch(&b->pair[h & b->pmask]);
	if ((b->pbits[h >> 20 & (pair_words(b->pmask) - 1)] & m) != m)
		return -1;
	for (j = h & b->pmask, k = 0; b->pair[j] && k <= b->pmask;
	     j = (j + 1) & b->pmask, k++)
		if ((b->pair[j] & ~(uint64_t)0x3fffff) == key)
			return (int32_t)(b->pair[j] & 0x3fffff);
	return -1;
}

static void
pair_put(tk_bt *b, uint32_t x, uint32_t y, int32_t id)
{
	uint64_t key = pair_key(x, y), h = mix64(key);
	size_t j;

	for (j = h & b->pmask; b->pair[j]; j = (j + 1) & b->pmask)
		;
	b->pair[j] = key | (uint32_t)id;
	b->pbits[h >> 20 & (pair_words(b->pmask) - 1)] |= pair_bits(h);
}

/* Would BPE keep tokens x, y apart when they meet?  Unmerge the later
 * made (higher id) of the two, keeping its part at the boundary, while
 * no merge across the boundary ranks before what is unmerged.  A part is
 * never after its token (a mapped image's that is counts as none).
 * apart: the caller knows no merge joins x and y (a token made of both
 * would have been the longest match where x is). */
static inline int
valid_walk(const tk_bt *b, uint32_t x, uint32_t y, int apart)
{
	uint32_t limit = UINT32_MAX;

	for (;; apart = 0) {
		int32_t c = apart ? -1 : pair_get(b, x, y);

		if (c >= 0 && (uint32_t)c < limit)
			return 0;
		if (x > y) {
			limit = x;
			x = b->tok[x].r;
			if (x >= limit) {
				x = limit;
				limit = y + 1;
				y = b->tok[y].l;
				if (y >= limit - 1)
					return 1;
			}
		} else {
			limit = y + 1;
			y = b->tok[y].l;
			if (y >= limit - 1) {
				y = limit - 1;
				limit = x;
				x = b->tok[x].r;
				if (x >= limit)
					return 1;
			}
		}
	}
}

int
tk_bt_valid(const tk_bt *b, uint32_t x, uint32_t y)
{
	return valid_walk(b, x, y, 0);
}

/* The token ending at node v + 1, 0: none. */
static inline uint32_t
node_tok1(const tk_bt *b, uint32_t v)
{
	return BT_NODE_TOK(b->node[v]);
}

/* The child of node v by byte c, 0 none (a block past the end, in a
 * mapped image, has none). */
static inline uint32_t
child(const tk_bt *b, uint32_t v, unsigned char c)
{
	bt_node x = b->node[v];
	uint32_t lo = BT_NODE_START(x), nk = BT_NODE_NKIDS(x), hi = lo + nk;

	if (hi > b->nnode)
		return 0;
	if (nk > BT_NARROW) {	/* a wide node: its map */
		uint64_t w;
		uint32_t k;

		if (lo < BT_MAPW)
			return 0;
		w = b->node[lo - BT_MAPW + c / 56];
		if (!(w >> (8 + c % 56) & 1))
			return 0;
		k = (uint32_t)(w & 255) +
		    (uint32_t)__builtin_popcountll(w >> 8 & (((uint64_t)1 << (c % 56)) - 1));
		return k < nk ? lo + k : 0;
	}
	for (; lo < hi; lo++)
		if ((unsigned char)b->node[lo] == c)
			return lo;
	return 0;
}

/* The longest token matching s[0, n), its length in *len; -1 none.
 * *seen: how many bytes of s the answer depends on (SIZE_MAX: on n too). */
static inline __attribute__((always_inline)) int32_t
longest(const tk_bt *b, const unsigned char *s, size_t n, size_t *len, size_t *seen)
{
	uint32_t node;
	int32_t best = -1;
	size_t j;

	*seen = SIZE_MAX;
	if (!n)
		return -1;
	*seen = 1;
	node = b->root1[s[0]];
	if (!node)
		return -1;
	if (node_tok1(b, node) - 1 < b->ntok)
		best = (int32_t)node_tok1(b, node) - 1, *len = 1;
	*seen = n < 2 ? SIZE_MAX : 2;
	if (n < 2 || !(node = b->root2[s[0] | s[1] << 8]))
		return best;
	for (j = 2;; j++) {
		if (node_tok1(b, node) - 1 < b->ntok)
			best = (int32_t)node_tok1(b, node) - 1, *len = j;
		if (j >= n) {
			*seen = SIZE_MAX;
			return best;
		}
		if (!(node = child(b, node, s[j]))) {
			*seen = j + 1;
			return best;
		}
	}
}

/* A long run asks for the longest match at the same bytes again and
 * again: the answers that depend on 16 bytes or fewer are kept for the
 * word under way, a few windows of 16 bytes (a run of a period of two or
 * four bytes has as many). */
typedef struct bt_lm {
	uint64_t w0, w1;
	int32_t tok;
	uint32_t len;
	int set;
} bt_lm;

static int32_t
longest_kept(const tk_bt *b, bt_lm *kept, const unsigned char *s, size_t n, size_t *len)
{
	uint64_t w0, w1;
	size_t seen;
	int32_t t;
	bt_lm *e;

	if (n < 16)
		return longest(b, s, n, len, &seen);
	memcpy(&w0, s, 8);
	memcpy(&w1, s + 8, 8);
	e = &kept[(w0 * 0x9e3779b97f4a7c15ULL) >> 62];
	if (e->set && e->w0 == w0 && e->w1 == w1) {
		if (e->tok >= 0)
			*len = e->len;
		return e->tok;
	}
	t = longest(b, s, n, len, &seen);
	if (seen <= 16) {
		e->w0 = w0, e->w1 = w1, e->tok = t, e->set = 1;
		e->len = t >= 0 ? (uint32_t)*len : 0;
	}
	return t;
}

void
tk_bt_free(tk_bt *b)
{
	if (!b)
		return;
	free(b->tb);
	free(b->tlen);
	if (b->mapped) {
		free(b);
		return;
	}
	free(b->ext);
	free(b->tok);
	free(b->node_tok);
	free(b->node);
	free(b->edge);
	free(b->pair);
	free(b->pbits);
	free(b->whole);
	free(b);
}

static inline size_t
whole_bit(const char *s, size_t n)
{
	return (size_t)(tk_vhash(tk_load8(s, n), s, n) >> 48) & (BT_WHOLE_BITS - 1);
}

int
tk_bt_maybe_whole(const tk_bt *b, const char *s, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	i = whole_bit(s, n);
	return (int)(b->whole[i >> 6] >> (i & 63) & 1);
}

static size_t
pow2_over(size_t n)
{
	size_t k = 64;

	while (k < 2 * n)
		k *= 2;
	return k;
}

/* Each token's longest proper prefix token. */
static void
bt_prefixes(tk_bt *b)
{
	uint32_t id, node;
	size_t j;

	for (id = 0; id < b->ntok; id++) {
		const unsigned char *t = (const unsigned char *)b->tb[id];

		b->tok[id].prefix = -1;
		for (node = 0, j = 0; j + 1 < b->tlen[id]; j++) {
			node = edge_get(b, node, t[j]);
			if (b->node_tok[node] >= 0)
				b->tok[id].prefix = b->node_tok[node];
		}
	}
}

/* Sort the children kc[0, n) (byte << 24 | node) by byte. */
static void
kids_sort(uint32_t *kc, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		uint32_t x = kc[i];

		for (j = i; j > 0 && kc[j - 1] > x; j--)
			kc[j] = kc[j - 1];
		kc[j] = x;
	}
}

/* The map of a wide node's children (kc[0, nk), sorted), their block at st. */
static void
kids_map(tk_bt *b, uint32_t st, const uint32_t *kc, size_t nk)
{
	bt_node *w = b->node + st - BT_MAPW;
	uint64_t before = 0;
	size_t i, k;

	for (i = 0; i < nk; i++) {
		unsigned c = kc[i] >> 24;

		w[c / 56] |= (uint64_t)1 << (8 + c % 56);
	}
	for (k = 0; k < BT_MAPW; k++) {
		w[k] |= before;
		before += (uint64_t)__builtin_popcountll(w[k] >> 8);
	}
}

/* Room for wide node v's map before the block at *next, in one cache
 * line (b->node starts on one: a line is 8 nodes). */
static void
map_room(uint32_t *next)
{
	if (*next % 8 > 8 - BT_MAPW)
		*next += 8 - *next % 8;
	*next += BT_MAPW;
}

/* The hash trie laid out as b->node, in depth-first order, each node's
 * children by byte, a wide node's map before them; root1 and root2
 * pointing into it. */
static int
bt_dfs(tk_bt *b)
{
	size_t nn = b->nnode, i, sp = 0, room = nn;
	uint32_t *at = calloc(nn + 1, sizeof *at), *kc = malloc(nn * sizeof *kc);
	uint32_t *nu = malloc(nn * sizeof *nu), *stack = malloc(nn * sizeof *stack), next = 0, v;
	int r = -1;

	if (!at || !kc || !nu || !stack)
		goto out;
	for (i = 0; i <= b->emask; i++)	/* children counted, then placed by parent */
		if (b->edge[i].key)
			at[((b->edge[i].key - 1) >> 8) + 1]++;
	for (i = 0; i < nn; i++)
		at[i + 1] += at[i];
	for (i = 0; i <= b->emask; i++)
		if (b->edge[i].key) {
			uint32_t k = b->edge[i].key - 1;

			kc[at[k >> 8]++] = (k & 255) << 24 | b->edge[i].child;
		}
	for (i = nn; i > 0; i--)	/* at[v]: where v's children start again */
		at[i] = at[i - 1];
	at[0] = 0;
	for (v = 0; v < nn; v++) {
		kids_sort(kc + at[v], at[v + 1] - at[v]);
		room += at[v + 1] - at[v] > BT_NARROW ? BT_MAPW + 7 : 0;	/* map_room */
	}
	if (room >= BT_MAX_NODES ||
	    !(b->node = aligned_alloc(64, (room * sizeof *b->node + 63) & ~(size_t)63)))
		goto out;
	memset(b->node, 0, room * sizeof *b->node);
	/* Blocks placed in preorder, the children's subtrees in the order their
	 * nodes were made: the one made first (by the first token through it,
	 * in rank order the most frequent) has its block right after its
	 * parent's, where a walk finds it without a jump.  The stack holds
	 * 0xffffff - node, each block's sorted, so that the first made is on top. */
	stack[sp++] = 0xffffff;
	nu[0] = next++;
	while (sp) {
		v = 0xffffff - stack[--sp];
		if (at[v + 1] - at[v] > BT_NARROW)
			map_room(&next);
		for (i = at[v]; i < at[v + 1]; i++) {
			nu[kc[i] & 0xffffff] = next++;
			stack[sp + i - at[v]] = 0xffffff - (kc[i] & 0xffffff);
		}
		kids_sort(stack + sp, at[v + 1] - at[v]);
		sp += at[v + 1] - at[v];
	}
	for (v = 0; v < nn; v++) {
		uint32_t nk = at[v + 1] - at[v], st = nk ? nu[kc[at[v]] & 0xffffff] : 0;

		b->node[nu[v]] |= (uint64_t)st << 38 | (uint64_t)nk << 29 |
		                  (uint64_t)(uint32_t)(b->node_tok[v] + 1) << 8;
		for (i = at[v]; i < at[v + 1]; i++)	/* each child's byte */
			b->node[nu[kc[i] & 0xffffff]] |= kc[i] >> 24;
		if (nk > BT_NARROW)
			kids_map(b, st, kc + at[v], nk);
	}
	b->nnode = next;
	for (i = 0; i < 256; i++)
		b->root1[i] = child(b, 0, (unsigned char)i);
	for (i = 0; i < 65536; i++)
		b->root2[i] = b->root1[i & 255] ? child(b, b->root1[i & 255], (unsigned char)(i >> 8)) : 0;
	r = 0;
out:
	free(at), free(kc), free(nu), free(stack);
	return r;
}

/* The trie of every token, and each token's longest proper prefix token. */
static int
bt_trie(tk_bt *b, size_t total)
{
	uint32_t id, node;
	size_t j;

	b->emask = pow2_over(total + 1) - 1;
	if (!(b->edge = calloc(b->emask + 1, sizeof *b->edge)) ||
	    !(b->node_tok = malloc((total + 2) * sizeof *b->node_tok)))
		return -1;
	b->nnode = 1;	/* 0: the root, and "none" */
	b->node_tok[0] = -1;
	for (id = 0; id < b->ntok; id++) {
		const unsigned char *t = (const unsigned char *)b->tb[id];

		if (!b->tlen[id])
			continue;
		for (node = 0, j = 0; j < b->tlen[id]; j++)
			if (!(node = edge_add(b, node, t[j], total + 2)))
				return -1;
		b->node_tok[node] = (int32_t)id;
		if (b->tlen[id] > b->maxlen)
			b->maxlen = b->tlen[id];
	}
	bt_prefixes(b);
	if (bt_dfs(b))
		return -1;
	free(b->edge), free(b->node_tok);
	b->edge = NULL, b->node_tok = NULL;
	return 0;
}

/* Each token's split, in rank order: the longest prefix token whose rest
 * is a token, both ranked before it, that BPE keeps apart.  The method
 * holds for a vocabulary where every token of two bytes or more has one
 * (cl100k, o200k, r50k, p50k); one where some token does not is refused
 * (Llama-3's has 695: their BPE goes through a part ranked after the
 * whole, which by ranks is fine: BPE takes the lowest merge available). */
static int
bt_splits(tk_bt *b, const tk_bpe *m, const tk_flat *fl)
{
	uint8_t *made = calloc(b->ntok, 1);
	uint32_t id;

	if (!made)
		return -1;
	for (id = 0; id < b->ntok; id++) {
		int32_t x = b->tok[id].prefix;

		b->tok[id].l = b->tok[id].r = id;
		made[id] = b->tlen[id] == 1;
		for (; x >= 0 && !made[id]; x = b->tok[x].prefix) {
			const char *rest = b->tb[id] + b->tlen[x];
			size_t rn = b->tlen[id] - b->tlen[x];
			int32_t y = fl ? tk_fv_get(fl, rest, rn) : ut_strmap_get(&m->vocab, rest, rn);

			if (y >= 0 && (uint32_t)x < id && (uint32_t)y < id && made[x] && made[y] &&
			    tk_bt_valid(b, (uint32_t)x, (uint32_t)y)) {
				b->tok[id].l = (uint32_t)x;
				b->tok[id].r = (uint32_t)y;
				pair_put(b, (uint32_t)x, (uint32_t)y, (int32_t)id);
				made[id] = 1;
			}
		}
	}
	for (id = 0; id < b->ntok && (made[id] || b->tlen[id] < 2); id++)
		;
	free(made);
	return id < b->ntok ? -1 : 0;
}

/* A merge of the model's, to sort them by rank. */
typedef struct bt_merge {
	uint32_t rank;
	int32_t a, b, merged;
} bt_merge;

static int
merge_cmp(const void *x, const void *y)
{
	uint32_t p = ((const bt_merge *)x)->rank, q = ((const bt_merge *)y)->rank;

	return (p > q) - (p < q);
}

/* m's merges in rank order, *n of them; NULL when out of memory. */
static bt_merge *
merges_sorted(const tk_pairmap *pm, size_t *n)
{
	size_t i, k = 0, cap = 0;
	bt_merge *ms;

	for (i = 0; pm->key && i <= pm->mask; i++)
		cap += pm->key[i] != 0;
	if (!(ms = malloc((cap ? cap : 1) * sizeof *ms)))
		return NULL;
	for (i = 0; pm->key && i <= pm->mask; i++) {
		uint64_t key = pm->key[i];

		if (!key--)
			continue;
		ms[k].rank = pm->rank[i];
		ms[k].a = (int32_t)(key >> 32);
		ms[k].b = (int32_t)(uint32_t)key;
		ms[k++].merged = pm->merged[i];
	}
	qsort(ms, k, sizeof *ms, merge_cmp);
	*n = k;
	return ms;
}

/* Merge (x, y) of our ids makes the model's token c: its bytes are theirs. */
static int
joins(const tk_bt *b, const char **tb, const uint32_t *tlen, uint32_t x, uint32_t y, uint32_t c)
{
	return b->tlen[c] == tlen[x] + tlen[y] && !memcmp(b->tb[c], tb[x], tlen[x]) &&
	       !memcmp(b->tb[c] + tlen[x], tb[y], tlen[y]);
}

/* The merges BPE applies in the order it applies them: by rank, but one
 * with a part an own token not yet made (Llama 3's tokenizer.json has
 * 19,586: " první" is " pr" + "vní", ranked before "vn" + "í") waits for
 * that part and is next the moment it is made, before any ranked after
 * that part's (the lowest-ranked pair in a word goes first, and it was
 * not there before).  wait[e]: the first merge waiting for the model's
 * token e, then next[]; heap: the merges whose part has come, by rank. */
typedef struct bt_order {
	const bt_merge *ms;
	size_t nm, j;		/* ms[j]: the next by rank */
	uint32_t *wait, *next, *heap;
	size_t nheap;
} bt_order;

/* The next merge to try (an index into ms), or BT_NONE at the end. */
static uint32_t
order_next(bt_order *q)
{
	uint32_t top, x;
	size_t i = 0, c;

	if (!q->nheap)
		return q->j < q->nm ? (uint32_t)q->j++ : BT_NONE;
	top = q->heap[0];
	x = q->heap[--q->nheap];
	while ((c = 2 * i + 1) < q->nheap) {	/* sift x down from the root */
		if (c + 1 < q->nheap && q->heap[c + 1] < q->heap[c])
			c++;
		if (x <= q->heap[c])
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	q->heap[i] = x;
	return top;
}

/* Model token e is made: the merges waiting for it are due. */
static void
order_made(bt_order *q, uint32_t e)
{
	uint32_t w = q->wait[e];

	for (q->wait[e] = BT_NONE; w != BT_NONE; w = q->next[w]) {
		size_t i = q->nheap++;

		for (; i && q->heap[(i - 1) / 2] > w; i = (i - 1) / 2)	/* sift up */
			q->heap[i] = q->heap[(i - 1) / 2];
		q->heap[i] = w;
	}
}

/* The tables of a byte-level vocabulary with merges, in ids of their own
 * (b->ext maps them back): the 256 bytes, then each token BPE can make,
 * in the order BPE applies the merge that makes it (bt_order), so that an
 * id ranks as that merge and the method of ranks holds.  BPE of a word
 * makes in the span of each of its tokens what BPE of that token's bytes
 * alone makes; so a token is made by one merge or none: the first, in
 * that order, whose parts are made and kept apart by the merges before
 * it.  Other merges never apply: one to a token no merge makes (Llama 3
 * has 588: a word that is one of them is taken whole before BPE,
 * ignore_merges), or to a token an earlier merge made.  On entry b->tb
 * and b->tlen are by the model's ids, b->ntok of them. */
static int
bt_merges(tk_bt *b, const tk_bpe *m)
{
	uint32_t nv = b->ntok, k = 256, i, j, *own = malloc(nv * sizeof *own);
	uint32_t *tlen = calloc(nv, sizeof *tlen);
	const char **tb = calloc(nv, sizeof *tb);
	bt_merge *ms = NULL;
	bt_order q = {0};
	int r = -1;

	if (!own || !tb || !tlen || !(b->ext = malloc(nv * sizeof *b->ext)) ||
	    !(ms = merges_sorted(&m->merges, &q.nm)) || !(q.wait = malloc(nv * sizeof *q.wait)) ||
	    !(q.next = malloc((q.nm + 1) * sizeof *q.next)) ||
	    !(q.heap = malloc((q.nm + 1) * sizeof *q.heap)))
		goto out;
	q.ms = ms;
	memset(q.wait, 0xff, nv * sizeof *q.wait);
	memset(own, 0xff, nv * sizeof *own);
	for (i = 0; i < 256; i++) {
		uint32_t e = (uint32_t)m->byte_id[i];

		if (e >= nv || own[e] != BT_NONE || b->tlen[e] != 1 || (unsigned char)b->tb[e][0] != i)
			goto out;
		own[e] = i, b->ext[i] = (int32_t)e;
		tb[i] = b->tb[e], tlen[i] = 1;
		b->tok[i].l = b->tok[i].r = i;
	}
	while ((j = order_next(&q)) != BT_NONE) {
		uint32_t x, y, c = (uint32_t)ms[j].merged;

		if ((uint32_t)ms[j].a >= nv || (uint32_t)ms[j].b >= nv || c >= nv || own[c] != BT_NONE)
			continue;
		x = own[ms[j].a], y = own[ms[j].b];
		if (x == BT_NONE || y == BT_NONE) {	/* wait for the part not made */
			uint32_t e = (uint32_t)(x == BT_NONE ? ms[j].a : ms[j].b);

			q.next[j] = q.wait[e], q.wait[e] = j;
			continue;
		}
		if (!joins(b, tb, tlen, x, y, c) || !tk_bt_valid(b, x, y))
			continue;
		b->tok[k].l = x, b->tok[k].r = y;
		pair_put(b, x, y, (int32_t)k);
		own[c] = k, b->ext[k] = (int32_t)c;
		tb[k] = b->tb[c], tlen[k] = b->tlen[c];
		k++;
		order_made(&q, c);
	}
	for (i = 0; i < nv; i++)
		if (own[i] == BT_NONE && b->tlen[i]) {
			size_t w = whole_bit(b->tb[i], b->tlen[i]);

			b->whole[w >> 6] |= (uint64_t)1 << (w & 63);
		}
	free(b->tb), free(b->tlen);
	b->tb = tb, b->tlen = tlen;
	tb = NULL, tlen = NULL;
	b->ntok = k;
	r = 0;
out:
	free(own), free(tb), free(tlen), free(ms);
	free(q.wait), free(q.next), free(q.heap);
	return r;
}

/* Byte-level BPE by merges, as HF tokenizers' (no prefixes, suffixes). */
static int
merges_apply(const tk_bpe *m)
{
	return !m->ranks && m->byte_level && m->merges.n && !m->cont_prefix && !m->eow_suffix;
}

tk_bt *
tk_bt_build(const tk_bpe *m, const tk_flat *fl)
{
	const ut_strmap *v = &m->vocab;
	tk_bt *b;
	size_t i, total = 0;
	uint32_t ntok = 0;

	if (!m->ranks && !merges_apply(m))
		return NULL;
	for (i = 0; i < v->n; i++) {
		if (v->ent[i].val < 0)
			return NULL;
		if ((uint32_t)v->ent[i].val >= ntok)
			ntok = (uint32_t)v->ent[i].val + 1;
		total += v->ent[i].klen;
	}
	for (i = 0; i < 256; i++)
		if (m->byte_id[i] < 0)
			return NULL;	/* every byte must be a token */
	if (!ntok || ntok >= BT_MAX_TOK || total > BT_MAX_BYTES || !(b = calloc(1, sizeof *b)))
		return NULL;
	b->ntok = ntok;
	b->serial = __atomic_add_fetch(&bt_serial, 1, __ATOMIC_RELAXED);
	b->pmask = pow2_over(v->n) - 1;
	if (!(b->tb = calloc(ntok, sizeof *b->tb)) || !(b->tlen = calloc(ntok, sizeof *b->tlen)) ||
	    !(b->tok = calloc(ntok, sizeof *b->tok)) ||
	    !(b->whole = calloc(BT_WHOLE_BITS / 64, sizeof *b->whole)) ||
	    !(b->pair = calloc(b->pmask + 1, sizeof *b->pair)) ||
	    !(b->pbits = calloc(pair_words(b->pmask), sizeof *b->pbits)))
		goto fail;
	for (i = 0; i < v->n; i++) {
		uint32_t id = (uint32_t)v->ent[i].val;

		if (b->tlen[id])
			goto fail;	/* two strings, one id */
		b->tb[id] = v->pool + v->ent[i].koff;
		b->tlen[id] = v->ent[i].klen;
	}
	if (m->ranks) {
		if (bt_trie(b, total) || bt_splits(b, m, fl))
			goto fail;
	} else {
		if (bt_merges(b, m))
			goto fail;
		for (total = 0, i = 0; i < b->ntok; i++)
			total += b->tlen[i];
		if (bt_trie(b, total))
			goto fail;
	}
	for (i = 0; i < b->ntok; i++)
		b->tok[i].len = b->tlen[i];
	free(b->tb);	/* the vocabulary's: not kept */
	free(b->tlen);
	b->tb = NULL;
	b->tlen = NULL;
	return b;
fail:
	tk_bt_free(b);
	return NULL;
}

/* ------------------------------------------------- the cache's image */

/* The tables as the compiled cache holds them (tok_cache.c): this header,
 * then root1, root2, the tokens (bt_tok), and, when the ids are the
 * tables' own, ext (four bytes an element), the nodes (from a 64-byte
 * bound: a wide node's map in one cache line), the pairs and the bits of
 * the tokens not in the trie, each array 8-byte aligned.
 * Mapped, they cost nothing until read. */
typedef struct bt_img {
	char magic[8];
	uint32_t ntok, nnode;
	uint64_t pmask;
	uint32_t has_ext, maxlen;
} bt_img;
static const char bt_magic[8] = "tkbt\0\0\0\7";

static size_t
al8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The zeros before the nodes, that put them on a 64-byte bound of the
 * image (whose sections start on one, tok_cache.c). */
static size_t
node_pad(uint32_t ntok, int has_ext)
{
	size_t at = sizeof(bt_img) + al8(256 * 4) + al8(65536 * 4) + (size_t)ntok * sizeof(bt_tok) +
	            (has_ext ? al8((size_t)ntok * 4) : 0);

	return (64 - at % 64) % 64;
}

size_t
tk_bt_image_size(const tk_bt *b)
{
	return sizeof(bt_img) + al8(256 * 4) + al8(65536 * 4) + (size_t)b->ntok * sizeof(bt_tok) +
	       (b->ext ? al8((size_t)b->ntok * 4) : 0) + node_pad(b->ntok, b->ext != NULL) +
	       (size_t)b->nnode * sizeof(bt_node) +
	       (b->pmask + 1) * sizeof *b->pair + pair_words(b->pmask) * sizeof *b->pbits +
	       BT_WHOLE_BITS / 8;
}

static unsigned char *
img_put(unsigned char *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	memset(p + n, 0, al8(n) - n);
	return p + al8(n);
}

void
tk_bt_image_write(const tk_bt *b, void *buf)
{
	unsigned char *p = buf;
	bt_img h = {{0}, b->ntok, b->nnode, b->pmask, b->ext != NULL, b->maxlen};

	memcpy(h.magic, bt_magic, sizeof h.magic);
	p = img_put(p, &h, sizeof h);
	p = img_put(p, b->root1, sizeof b->root1);
	p = img_put(p, b->root2, sizeof b->root2);
	p = img_put(p, b->tok, (size_t)b->ntok * sizeof *b->tok);
	if (b->ext)
		p = img_put(p, b->ext, (size_t)b->ntok * 4);
	memset(p, 0, node_pad(b->ntok, b->ext != NULL));
	p += node_pad(b->ntok, b->ext != NULL);
	p = img_put(p, b->node, (size_t)b->nnode * sizeof *b->node);
	p = img_put(p, b->pair, (b->pmask + 1) * sizeof *b->pair);
	p = img_put(p, b->pbits, pair_words(b->pmask) * sizeof *b->pbits);
	img_put(p, b->whole, BT_WHOLE_BITS / 8);
}

/* The next n bytes of the image, or NULL past its end. */
static const void *
img_take(const unsigned char **p, size_t *left, size_t n)
{
	const void *r = *p;

	if (al8(n) > *left)
		return NULL;
	*p += al8(n);
	*left -= al8(n);
	return r;
}

/* The roots and the model's ids: every other value is checked where it
 * is read (child, pair_get, tk_bt_valid, longest, tk_bt_encode): a
 * forged image can make wrong tokens (the file is the user's own), never
 * a wild read or an endless loop, and mapping one costs no pass over
 * more than the ids. */
static int
bt_sound(const tk_bt *b, uint32_t maxid)
{
	size_t i;

	for (i = 0; i < 65536; i++)
		if (b->root2[i] >= b->nnode || (i < 256 && b->root1[i] >= b->nnode))
			return 0;
	for (i = 0; b->ext && i < b->ntok; i++)
		if ((uint32_t)b->ext[i] >= maxid)
			return 0;
	return 1;
}

tk_bt *
tk_bt_map(const void *image, size_t len, uint32_t maxid)
{
	const unsigned char *p = image;
	const bt_img *h = img_take(&p, &len, sizeof *h);
	const uint32_t *r1, *r2;
	const void *ext;
	tk_bt *b;

	if (!h || memcmp(h->magic, bt_magic, sizeof h->magic) || !h->ntok || h->ntok > maxid ||
	    h->ntok >= BT_MAX_TOK || !h->nnode || h->nnode >= BT_MAX_NODES ||
	    h->pmask < 63 || h->pmask >= SIZE_MAX / 16 || (h->pmask & (h->pmask + 1)) || h->has_ext > 1 ||
	    !h->maxlen || h->maxlen > BT_MAX_BYTES)
		return NULL;
	if (!(b = calloc(1, sizeof *b)))
		return NULL;
	b->mapped = 1;
	b->ntok = h->ntok;
	b->nnode = h->nnode;
	b->pmask = (size_t)h->pmask;
	b->maxlen = h->maxlen;
	r1 = img_take(&p, &len, sizeof b->root1);
	r2 = img_take(&p, &len, sizeof b->root2);
	b->tok = (bt_tok *)img_take(&p, &len, (size_t)b->ntok * sizeof *b->tok);
	ext = h->has_ext ? img_take(&p, &len, (size_t)b->ntok * 4) : NULL;
	if (!img_take(&p, &len, node_pad(b->ntok, h->has_ext != 0)))
		goto fail;
	b->node = (bt_node *)img_take(&p, &len, (size_t)b->nnode * sizeof *b->node);
	b->pair = (uint64_t *)img_take(&p, &len, (b->pmask + 1) * sizeof *b->pair);
	b->pbits = (uint64_t *)img_take(&p, &len, pair_words(b->pmask) * sizeof *b->pbits);
	b->whole = (uint64_t *)img_take(&p, &len, BT_WHOLE_BITS / 8);
	if (!r1 || !r2 || !b->tok || !b->node || !b->pair || !b->pbits || !b->whole || len ||
	    (h->has_ext && !ext))
		goto fail;
	b->ext = (int32_t *)ext;
	memcpy(b->root1, r1, sizeof b->root1);
	memcpy(b->root2, r2, sizeof b->root2);
	if (!bt_sound(b, maxid))
		goto fail;
	b->serial = __atomic_add_fetch(&bt_serial, 1, __ATOMIC_RELAXED);
	return b;
fail:
	tk_bt_free(b);
	return NULL;
}

/* Read a byte of each cache line of p[0, len). */
static void
read_lines(const void *p, size_t len)
{
	const volatile unsigned char *u = p;
	size_t i;

	for (i = 0; i < len; i += 64)
		(void)u[i];
}

/* A new word's search reads the tables at random, each line from memory
 * at first (a mapped image's pages are in the page cache, not in the
 * CPU's caches), one after another; read in order, all of them (cl100k
 * 5.5 MB, o200k 11 MB) come in at the memory's speed, and stay in the
 * last-level cache for the words to come (cl100k, o200k, Llama 3, Qwen3, 2
 * MB of prose: 7-12 % less task-clock, code 2-9 %).  Once for b. */
void
tk_bt_warm(const tk_bt *b)
{
	if (__atomic_load_n(&b->warm, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&((tk_bt *)b)->warm, 1, __ATOMIC_RELAXED))
		return;
	read_lines(b->node, (size_t)b->nnode * sizeof *b->node);
	read_lines(b->pbits, pair_words(b->pmask) * sizeof *b->pbits);
	read_lines(b->tok, (size_t)b->ntok * sizeof *b->tok);
	read_lines(b->pair, (b->pmask + 1) * sizeof *b->pair);
	if (b->ext)
		read_lines(b->ext, (size_t)b->ntok * sizeof *b->ext);
}

/* Per thread: the positions known to lead nowhere (a bit each, 1: may).
 * The tokens taken and their ends are kept in the output itself: what a
 * word needs is its tokens' room and a bit a byte. */
static __thread uint64_t *bt_ok;
static __thread size_t bt_cap;	/* words of bt_ok */

/* Pairs met recur (in text, and in a long run all the more): their
 * answers are kept per thread, with the tables they are for, in a
 * direct-mapped table of four bytes a pair, 2^15 of them: the table is
 * read at random, and one of 128 KB stays in the cache beside the trie and
 * the pairs where 2^17 did not (cachegrind, a 1 MB LL, cl100k, 4 MB of
 * prose: 1.09M -> 1.01M misses, for 0.5 % more instructions; a pair met
 * again soon is still found).  The pair (ids below 2^20: 40 bits) is mixed by a
 * bijection of 40 bits, whose top MEMO_BITS say where it goes and the rest
 * (the tag) is kept: so a tag matches for that pair only.  An entry is
 * 1 << 31 | tag << 1 | valid; 0: none. */
#define MEMO_BITS 15
#define MEMO_TAG (40 - MEMO_BITS)
static __thread uint32_t *bt_memo;
static __thread uint64_t bt_memo_of;	/* the serial of the tables they are for */

static inline uint64_t
mix40(uint64_t k)
{
	const uint64_t m40 = ((uint64_t)1 << 40) - 1;

	k ^= k >> 20;	/* each step undoes: a shift by half the width, an odd product */
	k = (k * 0x9e3779b97f4a7c15ULL) & m40;
	return k ^ k >> 20;
}

static inline __attribute__((always_inline)) int
valid_memo(const tk_bt *b, uint32_t x, uint32_t y, int apart)
{
	uint64_t m = mix40((uint64_t)x << 20 | y);
	uint32_t want = (uint32_t)1 << 31 | (uint32_t)(m & (((uint64_t)1 << MEMO_TAG) - 1)) << 1, *e;
	int v;

	e = &bt_memo[m >> MEMO_TAG];
	if ((*e & ~1u) == want)
		return (int)(*e & 1);
	v = valid_walk(b, x, y, apart);
	*e = want | (uint32_t)v;
	return v;
}

/* Ask for the memo entry of the pair x, y (of bt_greedy's, apart) and
 * the token valid_walk unmerges first, ahead of valid_memo. */
static inline void
valid_prefetch(const tk_bt *b, uint32_t x, uint32_t y)
{
	__builtin_prefetch(&bt_memo[mix40((uint64_t)x << 20 | y) >> MEMO_TAG]);
	__builtin_prefetch(&b->tok[x > y ? x : y]);	/* tk_bt_valid's first unmerge */
	__builtin_prefetch(&b->tok[x > y ? y : x]);	/* and often the next */
}

void
tk_bt_thread_free(void)
{
	free(bt_ok);
	free(bt_memo);
	bt_ok = NULL;
	bt_memo = NULL;
	bt_memo_of = 0;
	bt_cap = 0;
}

static inline int
ok_at(size_t i)
{
	return (int)(bt_ok[i >> 6] >> (i & 63) & 1);
}

/* Room for the bits of n + 1 positions, all set, and the pair memo for b. */
static int
bt_ready(const tk_bt *b, size_t n)
{
	size_t w = n / 64 + 1;

	if (w > bt_cap) {
		size_t cap = bt_cap ? bt_cap : 64;
		void *p;

		while (cap < w)
			cap *= 2;
		if (!(p = realloc(bt_ok, cap * sizeof *bt_ok)))
			return -1;
		bt_ok = p;
		bt_cap = cap;
	}
	memset(bt_ok, 0xff, w * sizeof *bt_ok);
	if (bt_memo_of != b->serial) {	/* another te_tok's answers, or none yet */
		if (bt_memo)
			memset(bt_memo, 0, sizeof *bt_memo << MEMO_BITS);
		else if (!(bt_memo = calloc((size_t)1 << MEMO_BITS, sizeof *bt_memo)))
			return -1;
		bt_memo_of = b->serial;
	}
	return 0;
}

/* A long word that repeats itself (a run of one character, or of a few)
 * repeats its tokens.  From a token ending at p the search goes on as
 * that token, the positions ahead found to lead nowhere and the bytes
 * ahead say, and reads no further than the furthest position it reached
 * and longest_kept's window (16 bytes, or the longest token and one).  So
 * when the same token ends again d bytes on, that first one never taken
 * back, with the same positions ahead found to lead nowhere (all within
 * 64 bytes), and the bytes from here are those from p for r bytes, the
 * search finds again what it found in those d bytes, as many times as a
 * period, the 64 bytes and the window fit in r: the tokens, and the
 * positions that lead nowhere.  The anchor is such a p, moved on at most
 * every 64 tokens and after each repeat. */
typedef struct bt_anchor {
	size_t i;	/* o's index of the token ending at p; SIZE_MAX: none */
	size_t p;
	uint64_t ahead;	/* bits p + 1 to p + 64 then */
	size_t live;	/* from here on no position leads nowhere (yet) */
	size_t dead;	/* positions found to lead nowhere so far */
} bt_anchor;

/* The bits of positions x to x + 63 (x + 63 <= n). */
static inline uint64_t
ok_bits(size_t x)
{
	uint64_t v = bt_ok[x >> 6] >> (x & 63);

	return x & 63 ? v | bt_ok[(x >> 6) + 1] << (64 - (x & 63)) : v;
}

/* How many bytes from a and from b are the same, n at most. */
static size_t
same_len(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t k = 0;
	uint64_t x, y;

	for (; k + 8 <= n; k += 8) {
		memcpy(&x, a + k, 8);
		memcpy(&y, b + k, 8);
		if (x != y)
			return k + (size_t)__builtin_ctzll(x ^ y) / 8;
	}
	while (k < n && a[k] == b[k])
		k++;
	return k;
}

/* The tokens o[from, n) (the last d bytes, one period) taken k times more,
 * each time d bytes on: each token the one a period before it, moved on. */
static int
out_repeat(tk_out *o, size_t from, size_t d, size_t k)
{
	size_t m = o->n - from, i, end = o->n + m * k;

	while (o->cap < end)
		if (tk_out_grow(o))
			return -1;
	for (i = o->n; i < end; i++) {
		o->ids[i] = o->ids[i - m];
		o->a[i] = o->a[i - m] + (uint32_t)d;
		o->b[i] = o->b[i - m] + (uint32_t)d;
	}
	o->n = end;
	return 0;
}

/* A token was taken ending at pos (o's last): repeat what was found since
 * the anchor while the bytes repeat, and move the anchor.  The new pos;
 * SIZE_MAX out of memory. */
static size_t
bt_repeat(const tk_bt *b, const unsigned char *u, size_t n, tk_out *o, bt_anchor *an,
          size_t pos)
{
	size_t w = (b->maxlen + 1 > 16 ? (size_t)b->maxlen + 1 : 16) + 64, i0 = an->i;
	size_t d = pos - an->p, dead = an->dead, r, k, q;
	uint64_t ahead, ahead0 = an->ahead;

	if (pos + 65 > n || an->live > pos + 65)
		return pos;	/* no anchor here */
	ahead = ok_bits(pos + 1);
	if (i0 != SIZE_MAX && o->n - 1 - i0 <= 64 && o->ids[o->n - 1] != o->ids[i0])
		return pos;
	an->i = o->n - 1, an->p = pos, an->ahead = ahead;
	if (i0 == SIZE_MAX || o->n - 1 - i0 > 64 || !d || ahead != ahead0 ||
	    (r = same_len(u + pos - d, u + pos, n - pos)) < d + w)
		return pos;
	k = (r - w) / d;
	if (out_repeat(o, i0 + 1, d, k))
		return SIZE_MAX;
	for (q = pos + 1; dead && q <= pos + k * d + 64; q++)
		if (!ok_at(q - d))
			bt_ok[q >> 6] &= ~((uint64_t)1 << (q & 63));
	an->i = o->n - 1;
	an->p = pos + k * d;
	if (dead)
		an->live = an->p + 65;
	return an->p;
}

/* A short word: the longest match at each position, one after another, as
 * the search takes them first, into o; *bad: the first of them that BPE
 * would not keep apart from the one before (o->n: none), where the search
 * goes on (so far it would have taken the same, no position given up).
 * The pairs are checked after the walk, each one's memo entry asked for
 * as it is found, so that the misses of a word new to the memo overlap
 * the rest of the walk and each other.  0: o has them; 1: a position
 * without a match (o as it was); -1 out of memory. */
static inline __attribute__((always_inline)) int
bt_greedy(const tk_bt *b, const unsigned char *u, size_t n, tk_out *o, size_t *bad)
{
	size_t o0 = o->n, pos = 0, len = 0, seen, i;

	while (pos < n) {
		int32_t t = longest(b, u + pos, n - pos, &len, &seen);

		if (t < 0 || !len || len > n - pos) {
			o->n = o0;
			return 1;
		}
		if (o->n > o0)
			valid_prefetch(b, (uint32_t)o->ids[o->n - 1], (uint32_t)t);
		if (b->ext)	/* read at the end (the model's id) */
			__builtin_prefetch(&b->ext[t]);
		if (tk_out_push(o, t, pos, pos + len))
			return -1;
		pos += len;
	}
	for (i = o0 + 1; i < o->n; i++)
		if (!valid_memo(b, (uint32_t)o->ids[i - 1], (uint32_t)o->ids[i], 1))
			break;
	*bad = i < o->n ? i : o->n;
	return 0;
}

/* Where the CPU has them, the search's counts of bits in one instruction
 * (a wide node's child) and BMI2's shifts by a register (x86-64-v3), as
 * pretok_scan.c's scanners (UT_V3_CLONES): without, a count is a call.
 * The tokens are taken into o as they are found, our ids and their ends,
 * and given back when the search backtracks; at the end their starts are
 * set and the ids made the model's. */
UT_V3_CLONES int
tk_bt_encode(const tk_bt *b, const char *s, size_t n, tk_out *o)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t pos = 0, o0 = o->n, len = 0, seen, i;
	bt_lm kept4[4], *kept = NULL;
	bt_anchor an = {SIZE_MAX, 0, 0, 0, 0};
	int32_t next;
	int r;

	if (bt_ready(b, n))
		return -1;
	if (n >= 256) {	/* a long word */
		memset(kept4, 0, sizeof kept4);
		kept = kept4;
	} else if ((r = bt_greedy(b, u, n, o, &i)) < 0) {
		return -1;
	} else if (!r) {
		if (i == o->n)
			goto done;
		o->n = i;	/* the search, from the token that does not fit */
		pos = o->a[i];
		len = o->b[i] - pos;
		next = o->ids[i];
		goto search;
	}
	next = kept ? longest_kept(b, kept, u, n, &len) : longest(b, u, n, &len, &seen);
search:
	while (next >= 0) {
		uint32_t t = (uint32_t)next, tl = (uint32_t)len;	/* t and its length */

		for (;;) {
			size_t end = pos + tl;
			int32_t p;

			if (end > n || end == pos)
				goto unsound;
			if (ok_at(end) && (o->n == o0 || valid_memo(b, (uint32_t)o->ids[o->n - 1], t, 0))) {
				if (b->ext)
					__builtin_prefetch(&b->ext[t]);
				if (tk_out_push(o, (int32_t)t, pos, end))
					return -1;
				pos = end;
				if (kept && pos < n && (pos = bt_repeat(b, u, n, o, &an, pos)) == SIZE_MAX)
					return -1;
				next = pos >= n ? -1 : kept ? longest_kept(b, kept, u + pos, n - pos, &len)
				                            : longest(b, u + pos, n - pos, &len, &seen);
				break;
			}
			p = b->tok[t].prefix;
			if ((uint32_t)p < b->ntok && b->tok[p].len < tl) {
				t = (uint32_t)p;
				tl = b->tok[p].len;
				continue;
			}
			/* nothing fits from here: take the token before back */
			bt_ok[pos >> 6] &= ~((uint64_t)1 << (pos & 63));
			an.live = pos + 1 > an.live ? pos + 1 : an.live;
			an.dead++;
			if (o->n == o0)
				goto unsound;	/* cannot happen: every byte is a token */
			next = o->ids[--o->n];
			pos = o->a[o->n];
			len = o->b[o->n] - pos;
			if (an.i != SIZE_MAX && o->n <= an.i)
				an.i = SIZE_MAX;	/* the anchor taken back */
			break;
		}
	}
	if (pos != n)
		goto unsound;
done:
	for (i = o0; b->ext && i < o->n; i++)
		o->ids[i] = b->ext[o->ids[i]];
	return 0;
unsound:	/* tables unsound (a cache image): encode by ranks */
	o->n = o0;
	return 1;
}
