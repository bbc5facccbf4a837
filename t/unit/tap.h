/* tap.h: a tiny TAP producer for the C unit tests. */
#ifndef TAP_H
#define TAP_H
#include <stdio.h>
static int tap_n, tap_failed;
/* cond is evaluated once */
#define ok(cond, ...) do { \
	int tap_c_ = !!(cond); \
	tap_n++; \
	if (tap_c_) { printf("ok %d - ", tap_n); } \
	else { tap_failed++; printf("not ok %d - ", tap_n); } \
	printf(__VA_ARGS__); printf("\n"); \
	if (!tap_c_) printf("#   at %s:%d\n", __FILE__, __LINE__); \
} while (0)
#define done_testing() (printf("1..%d\n", tap_n), tap_failed ? 1 : 0)
#endif
