/* emb_cuda.cu: the encoder forward pass on the GPU with cuBLAS, behind the
 * same call as the CPU one (emb_encode_cpu): the packed batch x (ntok, H) is
 * uploaded, run through the layers and copied back.  The weights are uploaded
 * once, on the first call.  TOKEMB_NO_CUDA=1 in the environment, or no usable
 * device, makes the caller use the CPU path. */
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "emb_int.h"
}

namespace {

struct dev_layer {
	float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo, *ln1g, *ln1b;
	float *wi, *bi, *wo2, *bo2, *ln2g, *ln2b, *qr, *kr;
};

struct dev_model {
	cublasHandle_t h;
	std::vector<dev_layer> layer;
	float *rel_bias;
	std::vector<void *> allocs;
	float *ws;
	size_t ws_cap;
	int *bucket;
	size_t bucket_cap;
};

#define CK(call) do { if ((call) != cudaSuccess) goto fail; } while (0)
#define CB(call) do { if ((call) != CUBLAS_STATUS_SUCCESS) goto fail; } while (0)

float *
upload(dev_model *g, const float *src, size_t n)
{
	float *p = nullptr;

	if (!src)
		return nullptr;
	if (cudaMalloc(&p, n * sizeof(float)) != cudaSuccess)
		return nullptr;
	g->allocs.push_back(p);
	if (cudaMemcpy(p, src, n * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess)
		return nullptr;
	return p;
}

__global__ void
k_bias(float *y, const float *b, size_t rows, size_t cols, int accumulate)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;

	if (i >= rows * cols)
		return;
	float v = b ? b[i % cols] : 0.0f;
	y[i] = accumulate ? y[i] + v : v;
}

__global__ void
k_gelu(float *x, size_t n, int tanh_form)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;

	if (i >= n)
		return;
	float v = x[i];
	if (tanh_form)
		x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
	else
		x[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
}

/* one block per row; blockDim.x a power of two */
__global__ void
k_layernorm(float *x, size_t dim, const float *g, const float *b, double eps)
{
	extern __shared__ double sh[];
	float *v = x + (size_t)blockIdx.x * dim;
	double s = 0;

	for (size_t i = threadIdx.x; i < dim; i += blockDim.x)
		s += v[i];
	sh[threadIdx.x] = s;
	__syncthreads();
	for (unsigned k = blockDim.x / 2; k; k >>= 1) {
		if (threadIdx.x < k)
			sh[threadIdx.x] += sh[threadIdx.x + k];
		__syncthreads();
	}
	double mean = sh[0] / (double)dim;
	__syncthreads();
	s = 0;
	for (size_t i = threadIdx.x; i < dim; i += blockDim.x) {
		double t = v[i] - mean;
		s += t * t;
	}
	sh[threadIdx.x] = s;
	__syncthreads();
	for (unsigned k = blockDim.x / 2; k; k >>= 1) {
		if (threadIdx.x < k)
			sh[threadIdx.x] += sh[threadIdx.x + k];
		__syncthreads();
	}
	float inv = (float)(1.0 / sqrt(sh[0] / (double)dim + eps));
	for (size_t i = threadIdx.x; i < dim; i += blockDim.x)
		v[i] = (float)(v[i] - mean) * inv * g[i] + b[i];
}

/* Scores of one document, S (heads, T, T), into probabilities: one block
 * per (head, query row).  arch: 0 plain, 1 MPNet bias, 2 DeBERTa. */
__global__ void
k_softmax(float *S, size_t T, size_t heads, float scale, int arch, const float *rel_bias,
          const int *bucket, size_t T0, const float *C, const float *P, size_t R, long span,
          int c2p, int p2c)
{
	extern __shared__ float red[];
	size_t h = blockIdx.x / T, i = blockIdx.x % T;
	float *s = S + (h * T + i) * T;
	float mx = -INFINITY, sum = 0;

	for (size_t j = threadIdx.x; j < T; j += blockDim.x) {
		float v = s[j];

		if (arch == 1) {
			v = v * scale + rel_bias[(size_t)bucket[(long)j - (long)i + (long)T0 - 1] * heads + h];
		} else if (arch == 2) {
			long dl = (long)bucket[(long)i - (long)j + (long)T0 - 1] + span;
			size_t dd = dl < 0 ? 0 : dl > (long)R - 1 ? R - 1 : (size_t)dl;

			if (c2p)
				v += C[(h * T + i) * R + dd];
			if (p2c)
				v += P[(h * T + j) * R + dd];
			v *= scale;
		} else {
			v *= scale;
		}
		s[j] = v;
		mx = fmaxf(mx, v);
	}
	red[threadIdx.x] = mx;
	__syncthreads();
	for (unsigned k = blockDim.x / 2; k; k >>= 1) {
		if (threadIdx.x < k)
			red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + k]);
		__syncthreads();
	}
	mx = red[0];
	__syncthreads();
	for (size_t j = threadIdx.x; j < T; j += blockDim.x) {
		s[j] = expf(s[j] - mx);
		sum += s[j];
	}
	red[threadIdx.x] = sum;
	__syncthreads();
	for (unsigned k = blockDim.x / 2; k; k >>= 1) {
		if (threadIdx.x < k)
			red[threadIdx.x] += red[threadIdx.x + k];
		__syncthreads();
	}
	sum = red[0];
	for (size_t j = threadIdx.x; j < T; j += blockDim.x)
		s[j] /= sum;
}

unsigned
blocks(size_t n)
{
	return (unsigned)((n + 255) / 256);
}

/* row-major y (n, out) = x (n, in) W^T (+ y when accumulate) */
bool
linear(dev_model *g, const float *x, size_t n, size_t in, const float *w, const float *b,
       size_t out, float *y, int accumulate)
{
	const float one = 1.0f;

	k_bias<<<blocks(n * out), 256>>>(y, b, n, out, accumulate);
	return cublasSgemm(g->h, CUBLAS_OP_T, CUBLAS_OP_N, (int)out, (int)n, (int)in, &one, w,
	                   (int)in, x, (int)in, &one, y, (int)out) == CUBLAS_STATUS_SUCCESS;
}

void
free_model(dev_model *g)
{
	for (void *p : g->allocs)
		cudaFree(p);
	if (g->ws)
		cudaFree(g->ws);
	if (g->bucket)
		cudaFree(g->bucket);
	if (g->h)
		cublasDestroy(g->h);
	delete g;
}

dev_model *
load_model(te_emb *m)
{
	dev_model *g = new dev_model();
	size_t H = m->hidden, F = m->ffn, R = 2 * m->span;

	if (cublasCreate(&g->h) != CUBLAS_STATUS_SUCCESS) {
		g->h = nullptr;
		free_model(g);
		return nullptr;
	}
	g->layer.resize(m->layers);
	for (size_t i = 0; i < m->layers; i++) {
		const emb_layer *l = &m->layer[i];
		dev_layer &d = g->layer[i];

		d.wq = upload(g, l->wq, H * H); d.bq = upload(g, l->bq, H);
		d.wk = upload(g, l->wk, H * H); d.bk = upload(g, l->bk, H);
		d.wv = upload(g, l->wv, H * H); d.bv = upload(g, l->bv, H);
		d.wo = upload(g, l->wo, H * H); d.bo = upload(g, l->bo, H);
		d.ln1g = upload(g, l->ln1_g, H); d.ln1b = upload(g, l->ln1_b, H);
		d.wi = upload(g, l->wi, F * H); d.bi = upload(g, l->bi, F);
		d.wo2 = upload(g, l->wo2, H * F); d.bo2 = upload(g, l->bo2, H);
		d.ln2g = upload(g, l->ln2_g, H); d.ln2b = upload(g, l->ln2_b, H);
		d.qr = l->qr ? upload(g, l->qr, R * H) : nullptr;
		d.kr = l->kr ? upload(g, l->kr, R * H) : nullptr;
		if (!d.wq || !d.wk || !d.wv || !d.wo || !d.wi || !d.wo2 || !d.ln1g || !d.ln2g ||
		    (m->arch == EMB_DEBERTA && (!d.qr || !d.kr))) {
			free_model(g);
			return nullptr;
		}
	}
	g->rel_bias = m->rel_bias ? upload(g, m->rel_bias, m->rel_buckets * m->heads) : nullptr;
	return g;
}

} // namespace

extern "C" void
emb_cuda_free(te_emb *m)
{
	if (m && m->cuda)
		free_model((dev_model *)m->cuda);
}

extern "C" int
emb_encode_cuda(te_emb *m, float *x, size_t n, const size_t *off, te_diag *d)
{
	const char *no = getenv("TOKEMB_NO_CUDA");
	int ndev = 0;
	dev_model *g;
	size_t H = m->hidden, F = m->ffn, N = off[n], maxT = 0, R = 2 * m->span, need;
	size_t dh = m->head_dim, nh = m->heads;
	float *dx, *q, *k, *v, *ctx, *f, *S, *C, *P;
	std::vector<int> bucket;
	const float one = 1.0f, zero = 0.0f;
	unsigned lnthreads = 256;

	if ((no && *no && strcmp(no, "0") != 0) || m->cuda_failed)
		return 1;
	if (!m->cuda) {
		if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
			m->cuda_failed = 1;
			return 1;
		}
		m->cuda = load_model(m);
		if (!m->cuda) {
			m->cuda_failed = 1;
			return 1;
		}
	}
	g = (dev_model *)m->cuda;
	if (N == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (off[i + 1] - off[i] > maxT)
			maxT = off[i + 1] - off[i];
	need = N * (5 * H + F) + nh * maxT * maxT + (m->arch == EMB_DEBERTA ? 2 * nh * maxT * R : 0);
	if (need > g->ws_cap) {
		if (g->ws)
			cudaFree(g->ws);
		g->ws = nullptr;
		g->ws_cap = 0;
		CK(cudaMalloc(&g->ws, need * sizeof(float)));
		g->ws_cap = need;
	}
	if (2 * maxT > g->bucket_cap) {
		if (g->bucket)
			cudaFree(g->bucket);
		g->bucket = nullptr;
		g->bucket_cap = 0;
		CK(cudaMalloc(&g->bucket, 2 * maxT * sizeof(int)));
		g->bucket_cap = 2 * maxT;
	}
	bucket.resize(2 * maxT);
	for (long r = -(long)maxT + 1; r < (long)maxT; r++) {
		int b = 0;

		if (m->arch == EMB_MPNET)
			b = emb_mpnet_bucket((int)r, 32, 128);
		else if (m->arch == EMB_DEBERTA)
			b = m->log_buckets ? emb_deberta_bucket((int)r, (int)m->span, (int)m->max_rel_pos)
			                   : (int)r;
		bucket[r + (long)maxT - 1] = b;
	}
	CK(cudaMemcpy(g->bucket, bucket.data(), 2 * maxT * sizeof(int), cudaMemcpyHostToDevice));
	dx = g->ws;
	q = dx + N * H;
	k = q + N * H;
	v = k + N * H;
	ctx = v + N * H;
	f = ctx + N * H;
	S = f + N * F;
	C = S + nh * maxT * maxT;
	P = C + nh * maxT * R;
	CK(cudaMemcpy(dx, x, N * H * sizeof(float), cudaMemcpyHostToDevice));
	while (lnthreads > 32 && lnthreads / 2 >= H)
		lnthreads /= 2;
	for (size_t li = 0; li < m->layers; li++) {
		const dev_layer &l = g->layer[li];

		if (!linear(g, dx, N, H, l.wq, l.bq, H, q, 0) ||
		    !linear(g, dx, N, H, l.wk, l.bk, H, k, 0) ||
		    !linear(g, dx, N, H, l.wv, l.bv, H, v, 0))
			goto fail;
		for (size_t i = 0; i < n; i++) {
			size_t base = off[i], T = off[i + 1] - base;
			const float *Q = q + base * H, *K = k + base * H, *V = v + base * H;
			float scale;
			int arch = m->arch == EMB_MPNET ? 1 : m->arch == EMB_DEBERTA ? 2 : 0;
			unsigned st = 32;

			if (T == 0)
				continue;
			/* S_h (T, T) = Q_h K_h^T for every head: heads are strided by dh */
			CB(cublasSgemmStridedBatched(g->h, CUBLAS_OP_T, CUBLAS_OP_N, (int)T, (int)T,
			                             (int)dh, &one, K, (int)H, (long long)dh, Q, (int)H,
			                             (long long)dh, &zero, S, (int)T,
			                             (long long)(T * T), (int)nh));
			if (arch == 2) {
				scale = 1.0f / sqrtf((float)dh * (float)(1 + m->c2p + m->p2c));
				/* C_h (T, R) = Q_h Kr_h^T; P_h (T, R) = K_h Qr_h^T */
				if (m->c2p)
					CB(cublasSgemmStridedBatched(g->h, CUBLAS_OP_T, CUBLAS_OP_N, (int)R,
					                             (int)T, (int)dh, &one, l.kr, (int)H,
					                             (long long)dh, Q, (int)H, (long long)dh,
					                             &zero, C, (int)R, (long long)(T * R),
					                             (int)nh));
				if (m->p2c)
					CB(cublasSgemmStridedBatched(g->h, CUBLAS_OP_T, CUBLAS_OP_N, (int)R,
					                             (int)T, (int)dh, &one, l.qr, (int)H,
					                             (long long)dh, K, (int)H, (long long)dh,
					                             &zero, P, (int)R, (long long)(T * R),
					                             (int)nh));
			} else {
				scale = 1.0f / sqrtf((float)dh);
			}
			while (st < 256 && st < T)
				st *= 2;
			k_softmax<<<(unsigned)(nh * T), st, st * sizeof(float)>>>(
				S, T, nh, scale, arch, g->rel_bias, g->bucket, maxT, C, P, R,
				(long)m->span, m->c2p, m->p2c);
			/* O_h (T, dh) = S_h V_h */
			CB(cublasSgemmStridedBatched(g->h, CUBLAS_OP_N, CUBLAS_OP_N, (int)dh, (int)T,
			                             (int)T, &one, V, (int)H, (long long)dh, S, (int)T,
			                             (long long)(T * T), &zero, ctx + base * H, (int)H,
			                             (long long)dh, (int)nh));
		}
		if (!linear(g, ctx, N, H, l.wo, l.bo, H, dx, 1))
			goto fail;
		k_layernorm<<<(unsigned)N, lnthreads, lnthreads * sizeof(double)>>>(dx, H, l.ln1g,
		                                                                   l.ln1b, m->eps);
		if (!linear(g, dx, N, H, l.wi, l.bi, F, f, 0))
			goto fail;
		k_gelu<<<blocks(N * F), 256>>>(f, N * F, m->gelu_tanh);
		if (!linear(g, f, N, F, l.wo2, l.bo2, H, dx, 1))
			goto fail;
		k_layernorm<<<(unsigned)N, lnthreads, lnthreads * sizeof(double)>>>(dx, H, l.ln2g,
		                                                                   l.ln2b, m->eps);
	}
	CK(cudaMemcpy(x, dx, N * H * sizeof(float), cudaMemcpyDeviceToHost));
	CK(cudaGetLastError());
	return 0;
fail:
	te_diag_set(d, NULL, 0, "CUDA error: %s", cudaGetErrorString(cudaGetLastError()));
	return -1;
}
