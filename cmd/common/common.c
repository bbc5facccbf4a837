/* common.c: messages, exit codes and stdout checks shared by the programs. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

const char *progname = "tokemb";

/* A file the library maps (input, cache, model, index) cut short by
 * another process while it is read: its lost pages raise SIGBUS.  Said as
 * an error, exit 1, not a crash.  The message is made at start, as a
 * handler may only write(2). */
static char bus_msg[256];
static size_t bus_len;

static void
on_sigbus(int sig)
{
	(void)sig;
	if (write(STDERR_FILENO, bus_msg, bus_len) < 0)
		bus_len = 0;	/* nothing more to say */
	_exit(1);
}

void
prog_init(const char *name)
{
	struct sigaction sa = {.sa_handler = on_sigbus};
	int len;

	progname = name;
	/* "| head -1" ends us quietly, as it ends yes(1) */
	signal(SIGPIPE, SIG_DFL);
	len = snprintf(bus_msg, sizeof bus_msg, "%s: a file being read was cut short by "
	               "another process\n", name);
	bus_len = len < 0 ? 0 : (size_t)len < sizeof bus_msg ? (size_t)len : sizeof bus_msg - 1;
	sigaction(SIGBUS, &sa, NULL);
}

void
warnx_(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
warn_diag(const te_diag *d)
{
	fflush(stdout);
	if (d->file[0] && d->line > 0)
		fprintf(stderr, "%s: %s:%ld: %s\n", progname, d->file, d->line, d->msg);
	else if (d->file[0])
		fprintf(stderr, "%s: %s: %s\n", progname, d->file, d->msg);
	else
		fprintf(stderr, "%s: %s\n", progname, d->msg);
}

void
die_diag(const te_diag *d)
{
	warn_diag(d);
	exit(1);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void
usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", progname);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: %s\n", usage);
	exit(2);
}

void
print_version(void)
{
	printf("%s (tokemb) %s\nbuilt with %s\n", progname, TE_VERSION, te_build_info());
	exit(fshut_stdout(0));
}

long long
opt_ll(const char *usage, const char *opt, const char *arg, long long lo, long long hi)
{
	long long v;

	if (te_parse_ll(arg, lo, hi, &v) < 0)
		usage_error(usage, "%s: '%s' is not an integer in %lld..%lld", opt, arg, lo, hi);
	return v;
}

double
opt_double(const char *usage, const char *opt, const char *arg, double lo, double hi)
{
	double v;

	if (te_parse_double(arg, &v) < 0 || v < lo || v > hi)
		usage_error(usage, "%s: '%s' is not a number in %g..%g", opt, arg, lo, hi);
	return v;
}

int
fshut_stdout(int status)
{
	int bad = 0;

	if (fflush(stdout) != 0 || ferror(stdout))
		bad = errno ? errno : EIO;
	if (fclose(stdout) != 0 && !bad)
		bad = errno ? errno : EIO;
	if (bad) {
		if (bad == EPIPE)
			return status ? status : 1;
		fprintf(stderr, "%s: write error: %s\n", progname, strerror(bad));
		return 1;
	}
	return status;
}

void
refuse_binary_tty(const char *usage)
{
	if (isatty(STDOUT_FILENO))
		usage_error(usage, "refusing to write binary output to a terminal");
}

int
want_color(const char *mode)
{
	const char *nc;

	if (!mode || strcmp(mode, "auto") == 0) {
		nc = getenv("NO_COLOR");
		if (nc && *nc)
			return 0;
		return isatty(STDOUT_FILENO);
	}
	return strcmp(mode, "always") == 0;
}

void
deprecated(const char *old, const char *now)
{
	warnx_("%s is deprecated and will go in the next release: use %s", old, now);
}
