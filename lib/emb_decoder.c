/* emb_decoder.c: the CPU forward pass of the rotary embedding models on a
 * packed batch (documents concatenated, no padding).  Qwen3's layers are
 * pre-norm: x += o_proj(attention(rope(q_norm(q)), rope(k_norm(k)), v)) on
 * RMSNorm(x), causal, with groups of query heads sharing a K/V head; then
 * x += down(silu(gate(h)) * up(h)) on RMSNorm(x); a final RMSNorm.
 * NomicBERT's are the same steps post-norm as BERT's, bidirectional, without
 * q/k norms: x = LN(x + out_proj(attention(rope(q), rope(k), v))), then
 * x = LN(x + fc2(fc11(x) * silu(fc12(x)))).  ModernBERT's are pre-norm
 * with LayerNorm (none before layer 0's attention), x += Wo(attention) and
 * x += Wo(gelu(a) * g) where [a; g] = Wi(LN(x)); every layer but each
 * global_attn_every_n_layers-th sees only the keys within local_attention / 2
 * of the query, with RoPE of its own base; a final LayerNorm.  Gemma 3's
 * (EmbeddingGemma) are Qwen3's with RMSNorms that multiply by 1 + weight,
 * a norm on each block's output too (x += RMSNorm(o_proj(...)), x +=
 * RMSNorm(down(...))), GeGLU with the tanh gelu, scores scaled by
 * query_pre_attn_scalar^-0.5, bidirectional or causal, and local layers
 * (the window of l->window) with RoPE of their own base.  The
 * matrix products use the packed kernel where the CPU has it (as the
 * encoders do), else an OpenBLAS sgemm; attention runs per (document, head)
 * on the caller's threads.  t/gen-emb-arch.py holds the reference. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "emb_int.h"
#include "util_int.h"

/* Pack every layer's weights once: [q; k; v] (QD + 2 KD, H), o (H, QD),
 * [gate; up] (2F, H), down (H, F). */
static int
pack_decoder(te_emb *m)
{
	size_t H = m->hidden, F = m->ffn, QD = m->heads * m->head_dim,
	       KD = m->kv_heads * m->head_dim;
	size_t a = kern_pack_floats(QD + 2 * KD, H), b = kern_pack_floats(H, QD),
	       c = kern_pack_floats(2 * F, H), e = kern_pack_floats(H, F);

	for (size_t li = 0; li < m->layers; li++) {
		emb_layer *l = &m->layer[li];
		void *pk;

		if (l->pk)
			continue;
		if (posix_memalign(&pk, 64, (a + b + c + e) * sizeof(float)) != 0)
			return -1;
		l->pk = pk;
		l->pk_qkv = l->pk;
		l->pk_o = l->pk_qkv + a;
		l->pk_i = l->pk_o + b;
		l->pk_o2 = l->pk_i + c;
		kern_pack(l->wq, QD, H, l->pk_qkv, 0);
		kern_pack(l->wk, KD, H, l->pk_qkv, QD);
		kern_pack(l->wv, KD, H, l->pk_qkv, QD + KD);
		kern_pack_pad(l->pk_qkv, QD + 2 * KD, H);
		kern_pack(l->wo, H, QD, l->pk_o, 0);
		kern_pack_pad(l->pk_o, H, QD);
		kern_pack(l->wi, F, H, l->pk_i, 0);
		kern_pack(l->wu, F, H, l->pk_i, F);
		kern_pack_pad(l->pk_i, 2 * F, H);
		kern_pack(l->wo2, H, F, l->pk_o2, 0);
		kern_pack_pad(l->pk_o2, H, F);
	}
	return 0;
}

typedef struct prod {
	const float *x, *pk;
	size_t n, in, out, panels;
	float *y;
	int acc, nthreads;
} prod;

static void
prod_run(void *p, int tid)
{
	const prod *g = p;
	size_t lo = g->panels * (size_t)tid / (size_t)g->nthreads,
	       hi = g->panels * (size_t)(tid + 1) / (size_t)g->nthreads;

	if (lo < hi)
		kern_gemm_packed(g->x, g->n, g->in, g->pk, g->out, g->y, g->acc, lo, hi);
}

/* y (n, sum of outs) = x (n, in) [w0; w1; w2]^T (+ y when acc): the packed
 * stack pk where there is one, else one sgemm per part into its columns. */
static void
product(const float *x, size_t n, size_t in, const float *pk, const float *const *w,
        const size_t *outs, size_t nw, float *y, int acc, int threads)
{
	size_t out = 0;

	for (size_t i = 0; i < nw; i++)
		out += outs[i];
	if (pk) {
		prod g = {x, pk, n, in, out, (out + 31) / 32, y, acc, threads};

		if (g.nthreads > (int)g.panels)
			g.nthreads = (int)g.panels;
		if (g.nthreads <= 1 || ut_parallel(g.nthreads, prod_run, &g) < 0) {
			g.nthreads = 1;
			prod_run(&g, 0);
		}
		return;
	}
	for (size_t i = 0, col = 0; i < nw; col += outs[i], i++)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)outs[i],
		            (int)in, 1.0f, x, (int)in, w[i], (int)in, acc ? 1.0f : 0.0f,
		            y + col, (int)out);
}

/* Rotate the first dh values of one head at the angles of its position:
 * the first half pairs with the second (rotate_half). */
static void
rope(float *v, size_t dh, const float *cs, const float *sn)
{
	size_t half = dh / 2;

	for (size_t i = 0; i < half; i++) {
		float a = v[i], b = v[i + half];

		v[i] = a * cs[i] - b * sn[i];
		v[i + half] = b * cs[i] + a * sn[i];
	}
}

typedef struct attn {
	const te_emb *m;
	const float *qkv;      /* (N, QD + 2 KD): q, k, v of each token */
	float *ctx;            /* (N, QD) */
	const size_t *off;
	size_t ndoc, maxT;
	size_t window;         /* keys within window of the query; 0: all */
	float *scratch;        /* (maxT, maxT) per thread */
	int nthreads;
} attn;

/* Causal attention of (document, head) pairs tid, tid + nthreads, ... */
static void
attn_run(void *p, int tid)
{
	const attn *a = p;
	const te_emb *m = a->m;
	size_t dh = m->head_dim, QD = m->heads * dh, KD = m->kv_heads * dh,
	       W = QD + 2 * KD, group = m->heads / m->kv_heads;
	float *S = a->scratch + (size_t)tid * a->maxT * a->maxT;
	float scale = m->qscale > 0 ? (float)m->qscale : 1.0f / sqrtf((float)dh);

	for (size_t it = (size_t)tid; it < a->ndoc * m->heads; it += (size_t)a->nthreads) {
		size_t doc = it / m->heads, h = it % m->heads, kvh = h / group;
		size_t base = a->off[doc], T = a->off[doc + 1] - base;
		const float *Q = a->qkv + base * W + h * dh, *K = a->qkv + base * W + QD + kvh * dh,
		            *V = K + KD;

		if (T == 0)
			continue;
		/* S (T, T) = Q K^T / sqrt(dh); row i keeps columns 0..i when causal */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh, scale,
		            Q, (int)W, K, (int)W, 0.0f, S, (int)T);
		for (size_t i = 0; i < T; i++) {
			size_t w = a->window, lo = w && i > w ? i - w : 0,
			       end = m->causal ? i + 1 : T;
			float *s = S + i * T, mx, sum = 0;

			if (w && i + w + 1 < end)
				end = i + w + 1;
			mx = s[lo];
			for (size_t j = lo + 1; j < end; j++)
				if (s[j] > mx)
					mx = s[j];
			for (size_t j = lo; j < end; j++) {
				s[j] = expf(s[j] - mx);
				sum += s[j];
			}
			for (size_t j = lo; j < end; j++)
				s[j] /= sum;
			memset(s, 0, lo * sizeof *s);
			memset(s + end, 0, (T - end) * sizeof *s);
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f,
		            S, (int)T, V, (int)W, 0.0f, a->ctx + base * QD + h * dh, (int)QD);
	}
}

/* The norms (where the model has them) and rotations of q and k, in place
 * in qkv; cs and sn are the cosines and sines (maxT, rope_dim / 2) of each
 * position. */
static void
qk_prepare(const te_emb *m, const emb_layer *l, float *qkv, size_t n, const size_t *off,
           const float *cs, const float *sn)
{
	size_t dh = m->head_dim, QD = m->heads * dh, KD = m->kv_heads * dh, W = QD + 2 * KD,
	       rd = m->rope_dim, half = rd / 2;

	for (size_t doc = 0; doc < n; doc++)
		for (size_t t = off[doc]; t < off[doc + 1]; t++) {
			float *r = qkv + t * W;
			size_t p = t - off[doc];

			if (l->qn) {
				float add = m->norm_plus1 ? 1.0f : 0.0f;

				emb_rms_norm(r, m->heads, dh, dh, l->qn, add, m->eps, r);
				emb_rms_norm(r + QD, m->kv_heads, dh, dh, l->kn, add, m->eps, r + QD);
			}
			for (size_t h = 0; h < m->heads; h++)
				rope(r + h * dh, rd, cs + p * half, sn + p * half);
			for (size_t h = 0; h < m->kv_heads; h++)
				rope(r + QD + h * dh, rd, cs + p * half, sn + p * half);
		}
}

/* The RoPE angles as transformers computes them in float32:
 * inv_freq[i] = 1 / theta^(2i / rope_dim), angle = position * inv_freq[i]. */
static void
rope_tables(const te_emb *m, double theta, size_t maxT, float *cs, float *sn)
{
	size_t half = m->rope_dim / 2;

	for (size_t i = 0; i < half; i++) {
		float inv = 1.0f / powf((float)theta,
		                        (float)(2 * i) / (float)m->rope_dim);

		for (size_t p = 0; p < maxT; p++) {
			float ang = (float)p * inv;

			cs[p * half + i] = cosf(ang);
			sn[p * half + i] = sinf(ang);
		}
	}
}

/* The input of a pre-norm block: RMSNorm(x) or LayerNorm(x) into h, or x
 * itself where the block has no norm (ModernBERT's first attention). */
static const float *
pre_norm(const te_emb *m, const float *g, const float *b, const float *x, size_t N,
         float *h)
{
	size_t H = m->hidden;

	if (!g)
		return x;
	if (!m->pre_ln) {
		emb_rms_norm(x, N, H, H, g, m->norm_plus1 ? 1.0f : 0.0f, m->eps, h);
		return h;
	}
	memcpy(h, x, N * H * sizeof *h);
	emb_layernorm(h, N, H, g, b, m->eps);
	return h;
}

/* The gated activation of gu (N, 2F) into f (N, F): silu(first) * second,
 * or gelu(first) * second (GeGLU: gelu with erf, or with tanh as
 * gelu_pytorch_tanh computes it). */
static void
gate(const te_emb *m, const float *gu, size_t N, size_t F, float *f)
{
	emb_gate(!m->geglu ? EMB_ACT_SILU : m->gelu_tanh ? EMB_ACT_GELU_TANH : EMB_ACT_GELU,
	         gu, N, F, f);
}

/* x += in (N, K) W^T, a block's output projection added to the residual
 * stream x (N, H); with a post-norm pn (Gemma 3's, on the output of its
 * attention and its MLP) x += RMSNorm(in W^T), made in h. */
static void
block_out(const te_emb *m, const float *in, size_t N, size_t K, const float *pk,
          const float *const *w, const size_t *outs, const float *pn, float *h, float *x,
          int threads)
{
	size_t H = m->hidden;

	if (!pn) {
		product(in, N, K, pk, w, outs, 1, x, 1, threads);
		return;
	}
	product(in, N, K, pk, w, outs, 1, h, 0, threads);
	emb_rms_norm(h, N, H, H, pn, m->norm_plus1 ? 1.0f : 0.0f, m->eps, h);
	for (size_t i = 0; i < N * H; i++)
		x[i] += h[i];
}

/* One layer on the N tokens of x; buf holds qkv (N, W), ctx (N, QD), h (N, H),
 * gu (N, 2F), f (N, F). */
static void
layer(const te_emb *m, const emb_layer *l, float *x, size_t n, const size_t *off,
      float *buf, attn *ac, const float *cs, const float *sn, int threads)
{
	size_t H = m->hidden, F = m->ffn, N = off[n], QD = m->heads * m->head_dim,
	       KD = m->kv_heads * m->head_dim, W = QD + 2 * KD;
	float *qkv = buf, *ctx = qkv + N * W, *h = ctx + N * QD, *gu = h + N * H,
	      *f = gu + N * 2 * F;
	const float *wqkv[] = {l->wq, l->wk, l->wv}, *wgu[] = {l->wi, l->wu};
	size_t oqkv[] = {QD, KD, KD}, ogu[] = {F, F}, oh[] = {H};

	const float *in = m->post_ln ? x : pre_norm(m, l->ln1_g, l->ln1_b, x, N, h);

	product(in, N, H, l->pk_qkv, wqkv, oqkv, 3, qkv, 0, threads);
	qk_prepare(m, l, qkv, n, off, cs, sn);
	ac->qkv = qkv;
	ac->ctx = ctx;
	ac->window = l->window;
	openblas_set_num_threads(1);
	if (ac->nthreads <= 1 || ut_parallel(ac->nthreads, attn_run, ac) < 0) {
		int nt = ac->nthreads;

		ac->nthreads = 1;
		attn_run(ac, 0);
		ac->nthreads = nt;
	}
	openblas_set_num_threads(threads);
	block_out(m, ctx, N, QD, l->pk_o, &l->wo, oh, l->pn1, h, x, threads);
	if (m->post_ln)
		emb_layernorm(x, N, H, l->ln1_g, l->ln1_b, m->eps);
	in = m->post_ln ? x : pre_norm(m, l->ln2_g, l->ln2_b, x, N, h);
	product(in, N, H, l->pk_i, wgu, ogu, 2, gu, 0, threads);
	gate(m, gu, N, F, f);
	block_out(m, f, N, F, l->pk_o2, &l->wo2, oh, l->pn2, h, x, threads);
	if (m->post_ln)
		emb_layernorm(x, N, H, l->ln2_g, l->ln2_b, m->eps);
}

int
emb_decode_cpu(te_emb *m, float *x, size_t n, const size_t *off, te_diag *d)
{
	size_t H = m->hidden, F = m->ffn, N = off[n], QD = m->heads * m->head_dim,
	       KD = m->kv_heads * m->head_dim, maxT = 0, nbuf;
	int threads = m->threads < 1 ? 1 : m->threads > 64 ? 64 : m->threads;
	attn ac = {m, NULL, NULL, off, n, 0, 0, NULL, 1};
	float *buf, *cs, *sn, *lcs, *lsn;

	if (N == 0)
		return 0;
	if (kern_gemm_available() && pack_decoder(m) < 0)
		return te_diag_set(d, NULL, 0, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (off[i + 1] - off[i] > maxT)
			maxT = off[i + 1] - off[i];
	ac.maxT = maxT;
	ac.nthreads = (size_t)threads > n * m->heads ? (int)(n * m->heads) : threads;
	nbuf = N * (QD + 2 * KD + QD + H + 3 * F) + maxT * maxT * (size_t)ac.nthreads +
	       2 * maxT * m->head_dim;
	buf = malloc(nbuf * sizeof *buf);
	if (!buf)
		return te_diag_set(d, NULL, 0, "out of memory (%zu tokens)", N);
	ac.scratch = buf + N * (QD + 2 * KD + QD + H + 3 * F);
	cs = ac.scratch + maxT * maxT * (size_t)ac.nthreads;
	sn = cs + maxT * (m->rope_dim / 2);
	/* the local layers' angles, after the global ones */
	lcs = sn + maxT * (m->rope_dim / 2);
	lsn = lcs + maxT * (m->rope_dim / 2);
	rope_tables(m, m->rope_theta, maxT, cs, sn);
	if (m->rope_theta_local > 0)
		rope_tables(m, m->rope_theta_local, maxT, lcs, lsn);
	openblas_set_num_threads(threads);
	for (size_t li = 0; li < m->layers; li++) {
		const emb_layer *l = &m->layer[li];

		layer(m, l, x, n, off, buf, &ac, l->window ? lcs : cs, l->window ? lsn : sn,
		      threads);
	}
	if (m->norm_g && m->pre_ln)
		emb_layernorm(x, N, H, m->norm_g, m->norm_b, m->eps);
	else if (m->norm_g)
		emb_rms_norm(x, N, H, H, m->norm_g, m->norm_plus1 ? 1.0f : 0.0f, m->eps, x);
	free(buf);
	return 0;
}
