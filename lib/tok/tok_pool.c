/* tok_pool.c: encoding jobs shared out over threads (tk_pool_*, see
 * tok_int.h): te_tok_batch's threads.  Above tok.c: it calls only what
 * tokemb.h declares. */
#include <pthread.h>
#include <stdlib.h>

#include "tok_int.h"

/* Jobs are taken up to this many at a time: short ones would queue on the
 * lock; fewer when the list is short (the parts of one large document),
 * so that every thread gets some. */
#define POOL_CHUNK 16

/* threads - 1 helpers, started at the first job list that wants them and
 * kept for every later one (their piece caches stay warm), and the caller. */
struct tk_pool {
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	/* the job list in hand */
	tk_pool_fn fn;
	void *arg;
	size_t n, next, chunk;
	unsigned long gen;      /* job lists handed out */
	int busy;               /* helpers still on the current one */
	int want, nhelp, quit;
	te_tok_enc enc;         /* the caller's scratch encoding */
	pthread_t th[256];
};

/* Run the jobs of p not yet taken. */
static void
work(tk_pool *p, te_tok_enc *e)
{
	for (;;) {
		size_t i, j;

		pthread_mutex_lock(&p->mu);
		i = p->next;
		p->next += p->chunk;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			break;
		for (j = i; j < i + p->chunk && j < p->n; j++)
			p->fn(p->arg, j, e);
	}
}

static void *
helper(void *arg)
{
	tk_pool *p = arg;
	te_tok_enc e = {0};
	unsigned long seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		work(p, &e);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	te_tok_enc_release(&e);
	return NULL;
}

tk_pool *
tk_pool_new(int threads)
{
	tk_pool *p;

	threads = ut_threads(threads);
	if (threads > 256)
		threads = 256;
	if (!(p = calloc(1, sizeof *p)))
		return NULL;
	if (pthread_mutex_init(&p->mu, NULL)) {
		free(p);
		return NULL;
	}
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	p->want = threads - 1;
	return p;
}

int
tk_pool_helpers(tk_pool *p)
{
	int k;

	if (p->want && !p->nhelp && !p->quit) {
		for (k = 0; k < p->want; k++, p->nhelp++)
			if (pthread_create(&p->th[k], NULL, helper, p))
				break;
		if (!p->nhelp)
			p->quit = 1;	/* no threads: the caller alone */
	}
	return p->nhelp;
}

int
tk_pool_started(const tk_pool *p)
{
	return p->nhelp;
}

/* Hand jobs 0 .. n-1 out, chunk at a time. */
static void
run(tk_pool *p, size_t n, tk_pool_fn fn, void *arg, size_t chunk)
{
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	p->next = 0;
	p->chunk = chunk;
	p->busy = p->nhelp;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
}

void
tk_pool_run(tk_pool *p, size_t n, tk_pool_fn fn, void *arg)
{
	size_t chunk = n / (4 * ((size_t)p->nhelp + 1));

	run(p, n, fn, arg, chunk < 1 ? 1 : chunk > POOL_CHUNK ? POOL_CHUNK : chunk);
}

void
tk_pool_run_each(tk_pool *p, size_t n, tk_pool_fn fn, void *arg)
{
	run(p, n, fn, arg, 1);
}

void
tk_pool_wait(tk_pool *p)
{
	work(p, &p->enc);
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void
tk_pool_free(tk_pool *p)
{
	int k;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (k = 0; k < p->nhelp; k++)
		pthread_join(p->th[k], NULL);
	te_tok_enc_release(&p->enc);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
