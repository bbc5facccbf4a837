/* kern_blas.c: sgemm from a BLAS loaded when first needed.
 *
 * OpenBLAS is opened when a batch first needs sgemm, not when knn starts:
 * loading it and libgfortran (12000 relocations) and its start-up, which
 * starts a thread pool, cost more than a whole one-query search of 20000
 * rows.  A few queries are scored by the dot-product kernel of kern_dot.c
 * instead (knn.c).  Without a loadable BLAS, the kernel does all of it
 * (slower on large batches, same results up to rounding in the candidates'
 * order, the printed scores being computed again by knn_finish). */
#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>

#include "kern_int.h"

typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta,
                         float *c, int ldc);
static sgemm_fn blas_sgemm;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void
blas_open(void)
{
	static const char *const names[] = {
		"libopenblas.so.0", "libopenblas.so", "libblas.so.3", "libcblas.so.3",
	};

	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		void (*set_threads)(int);
		int (*shutdown)(void);
		sgemm_fn f;

		if (!lib)
			continue;
		*(void **)&f = dlsym(lib, "cblas_sgemm");
		if (!f) {
			dlclose(lib);
			continue;
		}
		/* knn calls BLAS from its own threads, one call each: OpenBLAS's
		 * pool (started when it was loaded; its threads spin on
		 * sched_yield before they sleep) is stopped */
		*(void **)&set_threads = dlsym(lib, "openblas_set_num_threads");
		*(void **)&shutdown = dlsym(lib, "blas_thread_shutdown_");
		if (set_threads)
			set_threads(1);
		if (shutdown)
			shutdown();
		blas_sgemm = f;
		return;
	}
}

int
kern_blas_open(void)
{
	pthread_once(&blas_once, blas_open);
	return blas_sgemm != NULL;
}

int
kern_sgemm_nt(size_t m, size_t n, size_t dim, const float *A, const float *B, float *S,
              size_t lds)
{
	if (!kern_blas_open())
		return -1;
	blas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)dim, 1.0f, A,
	           (int)dim, B, (int)dim, 0.0f, S, (int)lds);
	return 0;
}
