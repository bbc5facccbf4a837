/* tok_uni.c: Unicode character classes (see tok_uni.h). */
#include <pthread.h>
#include <utf8proc.h>

#include "tok_uni.h"

/* One bit per block of 256 code points that tk_re_extra touches. */
static uint64_t re_blocks[0x110000 >> 14];

static int
is_ws(int32_t c)
{
	return (c >= 9 && c <= 13) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

uint8_t
tk_uclass_slow(int32_t cp)
{
	uint8_t k = is_ws(cp) ? TK_U_WS : 0;

	if (cp < 0 || cp > 0x10ffff)
		return 0;
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LT:
		return k | TK_U_L | TK_U_LUT;
	case UTF8PROC_CATEGORY_LL:
		return k | TK_U_L | TK_U_LL;
	case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
		return k | TK_U_L | TK_U_LMO;
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
		return k | TK_U_M;
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		return k | TK_U_N;
	case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
		return k | TK_U_P;
	default:
		return k;
	}
}

uint8_t tk_uclass_tab[0x20000];
uint8_t tk_uclass_blk[0x200];
static pthread_mutex_t fill_lock = PTHREAD_MUTEX_INITIALIZER;

uint8_t
tk_uclass_fill(int32_t cp)
{
	int32_t c, b = cp >> 8;

	pthread_mutex_lock(&fill_lock);
	if (!__atomic_load_n(&tk_uclass_blk[b], __ATOMIC_ACQUIRE)) {
		for (c = b << 8; c < (b + 1) << 8; c++)
			tk_uclass_tab[c] = tk_uclass_slow(c);
		__atomic_store_n(&tk_uclass_blk[b], 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&fill_lock);
	return tk_uclass_tab[cp];
}

static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static int re_ready;

static void
re_init(void)
{
	for (int i = 0; i < tk_re_nextra; i++)
		for (int32_t b = tk_re_extra[i][0] >> 8; b <= tk_re_extra[i][1] >> 8; b++)
			re_blocks[b >> 6] |= (uint64_t)1 << (b & 63);
	__atomic_store_n(&re_ready, 1, __ATOMIC_RELEASE);
}

int
tk_uni_find(const int32_t (*r)[2], int n, int32_t cp)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (cp < r[mid][0])
			hi = mid;
		else if (cp > r[mid][1])
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

int32_t
tk_hf_tolower(int32_t cp)
{
	int lo = 0, hi = tk_hf_nlower;

	if (cp < 0x80)		/* ASCII: the same in every Unicode version */
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	while (lo < hi) {	/* the first entry not below cp */
		int mid = lo + (hi - lo) / 2;

		if (tk_hf_lower[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < tk_hf_nlower && tk_hf_lower[lo][0] == cp)
		return tk_hf_lower[lo][1];
	return utf8proc_tolower(cp);
}

uint8_t
tk_re_extra_class(int32_t cp)
{
	int lo = 0, hi = tk_re_nextra;

	if (cp < 0 || cp > 0x10ffff)
		return 0;
	if (!__atomic_load_n(&re_ready, __ATOMIC_ACQUIRE))
		pthread_once(&re_once, re_init);
	if (!(re_blocks[cp >> 14] >> (cp >> 8 & 63) & 1))
		return 0;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (cp < tk_re_extra[mid][0])
			hi = mid;
		else if (cp > tk_re_extra[mid][1])
			lo = mid + 1;
		else
			return (uint8_t)tk_re_extra[mid][2];
	}
	return 0;
}
