/* test-grapheme.c: tk_grapheme_end, the extended grapheme clusters of HF's
 * Precompiled normalizer, on one case of each rule of UAX #29 (GB3 to GB13)
 * and on what the reference's Unicode 17.0 data changes (t5-small's cases
 * against the reference itself are in test-tok-exact, uni-graph-). */
#include <string.h>

#include "tok/tok_uni.h"
#include "tap.h"

/* The cluster ends of s, one after the other, as "2 5 6". */
static const char *
ends(const char *s)
{
	static char buf[256];
	size_t n = strlen(s), i = 0, k = 0;

	buf[0] = '\0';
	while (i < n && k < sizeof buf - 24) {
		i = tk_grapheme_end(s, n, i);
		k += (size_t)snprintf(buf + k, sizeof buf - k, k ? " %zu" : "%zu", i);
	}
	return buf;
}

int
main(void)
{
	static const struct { const char *text, *want, *what; } c[] = {
		{"ab", "1 2", "GB999: two letters"},
		{"\r\n\r", "2 3", "GB3: CR LF, then CR"},
		{"a\x01\xcc\x81", "1 2 4", "GB4, GB5: a control stands alone"},
		{"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "9", "GB6, GB7: L V T"},
		{"\xea\xb0\x80\xe1\x86\xa8\xea\xb0\x81\xe1\x85\xa1", "6 9 12", "GB7, GB8: LV T, LVT then V"},
		{"a\xcc\x81\xe2\x80\x8d", "6", "GB9: Extend, ZWJ"},
		{"\xe0\xa4\x95\xe0\xa4\xbe", "6", "GB9a: SpacingMark"},
		{"\xd8\x80" "a", "3", "GB9b: Prepend"},
		{"\xe0\xa4\x95\xe0\xa5\x8d\xe0\xa4\x95", "9", "GB9c: consonant, linker, consonant"},
		{"\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\x95", "12", "GB9c: a ZWJ between"},
		{"\xe0\xa4\x95\xe0\xa4\x95", "3 6", "GB9c: no linker, two clusters"},
		{"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", "11", "GB11: emoji ZWJ emoji"},
		{"a\xe2\x80\x8d\xf0\x9f\x91\xa9", "4 8", "GB11: no pictograph before the ZWJ"},
		{"\xf0\x9f\x87\xa6\xf0\x9f\x87\xa8\xf0\x9f\x87\xa6", "8 12", "GB12, GB13: flags in pairs"},
		{"a\xe1\xab\xa3", "4", "U+1AE3 (Unicode 17.0) extends"},
		{"a\xe0\xa2\x97", "4", "U+0897 (Unicode 16.0) extends"},
		{"\xff" "a\xcc\x81", "1 4", "an invalid byte stands alone"},
	};

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		const char *got = ends(c[i].text);

		ok(!strcmp(got, c[i].want), "%s (%s)", c[i].what, got);
	}
	return done_testing();
}
