/* common.h: what every tokemb program does the same way: messages, exit
 * codes, option values and the final check of standard output. */
#ifndef TOKEMB_CMD_COMMON_H
#define TOKEMB_CMD_COMMON_H

#include <stdio.h>

#include "tokemb.h"

extern const char *progname;

/* Call first: sets progname, makes SIGPIPE end the program quietly. */
void prog_init(const char *name);
/* "prog: message" on stderr. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: file:line: message" (file and line omitted when empty/0). */
void warn_diag(const te_diag *d);
/* Print the diagnostic and exit 1. */
void die_diag(const te_diag *d) __attribute__((noreturn));
/* "prog: message" and exit 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Bad usage: "prog: message" and the usage line on stderr, exit 2. */
void usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* Print "prog (tokemb VERSION)" and the build line; exit 0. */
void print_version(void) __attribute__((noreturn));
/* Strict option values: a typo is a usage error naming the option. */
long long opt_ll(const char *usage, const char *opt, const char *arg, long long lo,
                 long long hi);
double opt_double(const char *usage, const char *opt, const char *arg, double lo,
                  double hi);
/* Check stdout at exit: a write error (full disk, closed pipe) is reported
 * and turns status into 1.  Returns the status to exit with. */
int fshut_stdout(int status);
/* Refuse to write binary to a terminal (exit 2). */
void refuse_binary_tty(const char *usage);
/* One line on stderr: the spelling old still works, for this release;
 * now is what replaces it. */
void deprecated(const char *old, const char *now);
/* Colour wanted on stdout?  mode: "auto", "always" or "never". */
int want_color(const char *mode);

#endif
