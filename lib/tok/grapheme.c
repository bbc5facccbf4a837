/* grapheme.c: extended grapheme clusters (UAX #29) over the classes of
 * tok_uni_graph.c, which are those of the reference's unicode-segmentation
 * (probed by t/gen-uni-graph.sh), for HF's Precompiled normalizer
 * (precompiled.c).  utf8proc's own segmentation is older (Unicode 15.0,
 * without GB9c). */
#include "tok_uni.h"
#include "util_int.h"

#define GCB(k) ((k) & 15)
#define INCB(k) ((k) & 96)

static int
gb_class(int32_t c)
{
	int lo = 0, hi = tk_gb_nranges - 1;

	if (c >= 0x20 && c < 0x7f)
		return TK_GB_OTHER;
	if (c >= 0xac00 && c <= 0xd7a3)
		return (c - 0xac00) % 28 ? TK_GB_LVT : TK_GB_LV;
	while (lo <= hi) {
		int m = lo + (hi - lo) / 2;

		if (c < tk_gb_ranges[m][0])
			hi = m - 1;
		else if (c > tk_gb_ranges[m][1])
			lo = m + 1;
		else
			return tk_gb_ranges[m][2];
	}
	return TK_GB_OTHER;
}

/* Whether a cluster goes on from class p to class k by GB3 to GB9b. */
static int
joins(int p, int k)
{
	p = GCB(p);
	k = GCB(k);
	if (p == TK_GB_CR && k == TK_GB_LF)
		return 1;
	if (p == TK_GB_CR || p == TK_GB_LF || p == TK_GB_CONTROL ||
	    k == TK_GB_CR || k == TK_GB_LF || k == TK_GB_CONTROL)
		return 0;
	if (p == TK_GB_L && (k == TK_GB_L || k == TK_GB_V || k == TK_GB_LV || k == TK_GB_LVT))
		return 1;
	if ((p == TK_GB_LV || p == TK_GB_V) && (k == TK_GB_V || k == TK_GB_T))
		return 1;
	if ((p == TK_GB_LVT || p == TK_GB_T) && k == TK_GB_T)
		return 1;
	return k == TK_GB_EXTEND || k == TK_GB_ZWJ || k == TK_GB_SPACINGMARK ||
	       p == TK_GB_PREPEND;
}

size_t
tk_grapheme_end(const char *s, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)s;
	int len, p, k;
	int ri;		/* regional indicators in a row (GB12, GB13) */
	int pict;	/* GB11: 1 after ExtPict Extend*, 2 after its ZWJ */
	int conj;	/* GB9c: 1 after a consonant [Extend]*, 2 once a linker follows */
	int32_t c = ut_utf8_dec(u + i, n - i, &len);

	if (c < 0)
		return i + 1;
	p = gb_class(c);
	ri = GCB(p) == TK_GB_RI;
	pict = (p & TK_GB_PICT) != 0;
	conj = INCB(p) == TK_GB_INCB_CONSONANT;
	for (i += (size_t)len; i < n; i += (size_t)len) {
		if ((c = ut_utf8_dec(u + i, n - i, &len)) < 0)
			break;
		k = gb_class(c);
		if (!joins(p, k) && !(conj == 2 && INCB(k) == TK_GB_INCB_CONSONANT) &&
		    !(pict == 2 && (k & TK_GB_PICT)) &&
		    !(GCB(p) == TK_GB_RI && GCB(k) == TK_GB_RI && ri % 2))
			break;
		ri = GCB(k) == TK_GB_RI ? ri + 1 : 0;
		if (k & TK_GB_PICT)
			pict = 1;
		else if (pict == 1 && GCB(k) == TK_GB_ZWJ)
			pict = 2;
		else if (pict != 1 || GCB(k) != TK_GB_EXTEND)
			pict = 0;
		if (INCB(k) == TK_GB_INCB_CONSONANT)
			conj = 1;
		else if (conj && INCB(k) == TK_GB_INCB_LINKER)
			conj = 2;
		else if (INCB(k) != TK_GB_INCB_EXTEND)
			conj = 0;
		p = k;
	}
	return i;
}
