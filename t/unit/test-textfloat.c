/* test-textfloat.c: the text vector writers' numbers are printf's "%.9g",
 * byte for byte, over a spread of every float and the ranges where exact
 * ties, exponent form and the fallback begin. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokemb.h"
#include "tap.h"

/* Floats of bit patterns [lo, hi) every step through te_vec_write_text
 * against snprintf; the count of mismatches (the first printed). */
static long
check(uint64_t lo, uint64_t hi, uint64_t step)
{
	enum { ROW = 64 };
	float x[ROW];
	char *text = NULL, want[ROW * 24], *w;
	size_t len = 0;
	long bad = 0;

	for (uint64_t u = lo; u < hi;) {
		FILE *fp = open_memstream(&text, &len);
		size_t n = 0;

		w = want;
		for (; n < ROW && u < hi; u += step) {
			uint32_t b = (uint32_t)u;

			memcpy(&x[n], &b, sizeof b);
			if (isnan(x[n]))
				continue;
			w += sprintf(w, n ? " %.9g" : "%.9g", (double)x[n]);
			n++;
		}
		*w++ = '\n';
		*w = 0;
		te_vec_write_text(fp, NULL, x, n);
		fclose(fp);
		if (strcmp(text, want) != 0 && bad++ == 0)
			printf("# got  %s# want %s", text, want);
		free(text);
		text = NULL;
	}
	return bad;
}

int
main(void)
{
	ok(check(0, 1ull << 32, 4099) == 0, "a spread of all floats, both signs");
	/* m / 8 in [1e6, 2.1e6): 10 digits ending in 5, ties to even */
	ok(check(0x49742400, 0x49800000, 1) == 0, "exact ties at the ninth digit");
	ok(check(0x38c00000, 0x38e00000, 3) == 0, "around 1e-4, where %%g turns to e-05");
	ok(check(0x1fe00000, 0x1ff00000, 3) == 0, "around 1e-19, where printf takes over");
	ok(check(0x4e600000, 0x4e700000, 3) == 0, "around 1e9, rounding up to 1e+09");
	ok(check(0x3f7fff00, 0x3f800100, 1) == 0, "around 1");
	return done_testing();
}
