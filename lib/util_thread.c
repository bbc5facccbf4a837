/* util_thread.c: a parallel loop over worker threads, for the library's
 * areas that split their work by thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "util_int.h"

int
ut_threads(int threads)
{
	long n;

	if (threads > 0)
		return threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (n > 256 ? 256 : (int)n) : 1;
}

struct par {
	void (*fn)(void *, int);
	void *arg;
	int tid;
};

static void *
par_main(void *p)
{
	struct par *a = p;

	a->fn(a->arg, a->tid);
	return NULL;
}

int
ut_parallel(int n, void (*fn)(void *arg, int tid), void *arg)
{
	pthread_t *th;
	struct par *pa;
	int started = 0;

	if (n <= 1) {
		fn(arg, 0);
		return 0;
	}
	th = calloc((size_t)n, sizeof *th);
	pa = calloc((size_t)n, sizeof *pa);
	if (!th || !pa) {
		free(th);
		free(pa);
		return -1;
	}
	for (int t = 1; t < n; t++) {
		pa[t] = (struct par){fn, arg, t};
		if (pthread_create(&th[t], NULL, par_main, &pa[t]) != 0)
			break;
		started = t;
	}
	/* threads that could not start are run here, in turn */
	for (int t = started + 1; t < n; t++)
		fn(arg, t);
	fn(arg, 0);
	for (int t = 1; t <= started; t++)
		pthread_join(th[t], NULL);
	free(th);
	free(pa);
	return 0;
}

void
ut_thread_end_arm(ut_thread_end *e, int *armed, void *arg)
{
	if (*armed)
		return;
	pthread_mutex_lock(&e->mu);
	if (!e->made)
		e->made = pthread_key_create(&e->key, e->fn) == 0;
	pthread_mutex_unlock(&e->mu);
	if (e->made && pthread_setspecific(e->key, arg) == 0)
		*armed = 1;
}
