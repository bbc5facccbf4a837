/* emb_int.h: private to the embedding modules (safetensors, encoders, pooling). */
#ifndef TOKEMB_EMB_INT_H
#define TOKEMB_EMB_INT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tokemb.h"
#include "kern_int.h"

/* ------------------------------------------------------------ safetensors */

typedef enum emb_st_dtype {
	EMB_ST_F64, EMB_ST_F32, EMB_ST_F16, EMB_ST_BF16, EMB_ST_I64, EMB_ST_I32, EMB_ST_I16, EMB_ST_I8, EMB_ST_U8, EMB_ST_BOOL
} emb_st_dtype;

#define EMB_ST_MAX_DIMS 8

typedef struct emb_st_tensor {
	char *name;
	emb_st_dtype dtype;
	int ndim;
	uint64_t shape[EMB_ST_MAX_DIMS];
	uint64_t nelem;
	const unsigned char *data;   /* into the mapping */
	size_t nbytes;
	const char *file;            /* the file it lives in, for messages */
} emb_st_tensor;

/* One model's tensors, from one file or several shards.  Memory-mapped. */
typedef struct emb_st_set emb_st_set;

/* Open one safetensors file, or several (the shards named by an index file):
 * every header is checked (length, JSON, dtypes, shapes, offsets within the
 * data, no overlaps) before anything is used. */
emb_st_set *emb_st_open(const char *path, te_diag *d);
/* Open the shards of model.safetensors.index.json. */
emb_st_set *emb_st_open_index(const char *index_path, te_diag *d);
void emb_st_close(emb_st_set *s);
/* The tensor of that name, or NULL. */
const emb_st_tensor *emb_st_find(const emb_st_set *s, const char *name);
size_t emb_st_count(const emb_st_set *s);
const emb_st_tensor *emb_st_at(const emb_st_set *s, size_t i);
const char *emb_st_dtype_name(emb_st_dtype t);
/* The tensor as float32 of exactly the shape given (ndim dims; a leading
 * 1 in the file's shape is tolerated when want has one dim fewer): F32 data
 * is returned in place when aligned, other float types are converted once
 * into memory owned by the set.  NULL with d filled on a missing tensor, a
 * wrong shape or a dtype that is not a float. */
const float *emb_st_f32(emb_st_set *s, const char *name, int ndim, const uint64_t *want,
                    te_diag *d);
/* The tensor of that name, checked as emb_st_f32 checks it, not converted. */
const emb_st_tensor *emb_st_shaped(emb_st_set *s, const char *name, int ndim,
                                   const uint64_t *want, te_diag *d);
/* Row row of a 2-D float tensor of cols columns as float32 into out. */
void emb_st_row_f32(const emb_st_tensor *t, size_t row, size_t cols, float *out);
/* Same, any shape: *rows and *cols get the 2-D shape (1-D: rows = n, cols = 1). */
const float *emb_st_f32_any(emb_st_set *s, const emb_st_tensor *t, te_diag *d);
/* Bytes the set converted (copied) rather than mapped. */
size_t emb_st_converted_bytes(const emb_st_set *s);

float emb_half_to_float(uint16_t h);
/* Parse a JSON file (a config) into an object; NULL with d filled. */
struct cJSON *emb_json_load(const char *path, te_diag *d);
float emb_bf16_to_float(uint16_t h);

/* ------------------------------------------------------------- encoders */

typedef enum emb_arch {
	EMB_STATIC = 0, EMB_BERT, EMB_ROBERTA, EMB_MPNET, EMB_DEBERTA, EMB_QWEN3, EMB_NOMIC,
	EMB_MODERN, EMB_GEMMA3
} emb_arch;

typedef struct emb_ws {
	float *buf, *attn;
	size_t buf_cap, attn_cap;
} emb_ws;

typedef struct emb_layer {
	const float *wq, *bq, *wk, *bk, *wv, *bv;   /* [H, H], [H] */
	const float *wo, *bo;                       /* attention output dense */
	const float *ln1_g, *ln1_b;                 /* attention LayerNorm */
	const float *wi, *bi;                       /* [F, H], [F] */
	const float *wo2, *bo2;                     /* [H, F], [H] */
	const float *ln2_g, *ln2_b;                 /* output LayerNorm */
	float *qr, *kr;      /* DeBERTa: R Wq^T + bq, R Wk^T + bk, [2*span, H] */
	float *wqkv, *bqkv;  /* wq, wk, wv stacked: [3H, H] (built only for the
	                      * sgemm path), [3H] */
	float *pk;           /* wqkv, wo, wi, wo2 packed (kern_pack), or NULL */
	float *pk_qkv, *pk_o, *pk_i, *pk_o2;
	/* --dtype bf16 or int8 (te_emb_set_dtype): the same four products
	 * packed in that precision, in the block pk points to instead */
	const uint16_t *bf[4];
	kern_q8 q8[4];
	/* wq, wk, wv, wo, wi, wo2 where the file holds them in F16 or BF16:
	 * their float32 pointers stay NULL until emb_widen */
	const emb_st_tensor *half[6];
	/* rotary models (Qwen3, NomicBERT): ln1 input_layernorm or norm1, ln2
	 * post_attention_layernorm or norm2, wi gate_proj or fc12, wo2 down_proj
	 * or fc2, and: */
	const float *wu;                 /* up_proj or fc11 [F, H] */
	const float *qn, *kn;            /* q_norm, k_norm [head_dim], or NULL */
	const float *pn1, *pn2;          /* Gemma 3: post_attention_layernorm and
	                                  * post_feedforward_layernorm, applied to
	                                  * each block's output before the residual
	                                  * sum; else NULL */
	size_t window;                   /* local layers (ModernBERT, Gemma 3):
	                                  * keys within window each side (before,
	                                  * when causal); 0: all */
} emb_layer;

struct te_emb {
	emb_arch arch;
	const char *arch_name;
	emb_st_set *st;
	size_t vocab, hidden, heads, head_dim, ffn, layers;
	size_t max_pos;          /* rows of the position table (or 0) */
	size_t max_tokens;       /* longest accepted input, 0 = none */
	size_t type_vocab;
	int32_t pad_id, sep_id;
	int32_t drop_id;         /* Model2Vec: [UNK], dropped before pooling */
	size_t keep_tokens;      /* Model2Vec: the first 512 ids only */
	double eps;
	int gelu_tanh;           /* hidden_act gelu_new / gelu_pytorch_tanh */
	int threads;
	int dtype;               /* TE_EMB_F32, _BF16, _INT8: the encoder's products */
	/* embeddings */
	const float *word, *pos, *type, *emb_ln_g, *emb_ln_b;
	/* static */
	const float *stat_rows;        /* [vocab or clusters, dim] */
	const int32_t *stat_map;       /* model2vec vocabulary quantization */
	float *stat_weight;            /* [vocab] per-token scale */
	size_t stat_nrows;
	float *owned;                  /* static rows built here (word vectors) */
	unsigned char *stat_have;      /* word vectors: 0 = the token has none */
	char **stat_names;             /* word vectors: the token strings */
	/* MPNet */
	const float *rel_bias;         /* [32, heads] */
	size_t rel_buckets;
	/* DeBERTa */
	const float *rel_emb;          /* [2*span, H] */
	float *rel_ln;                 /* LN(rel_emb) */
	size_t span;                   /* position buckets (att_span) */
	int log_buckets;               /* position_buckets > 0 */
	size_t max_rel_pos;
	int c2p, p2c;
	int pos_biased_input;
	/* rotary models: decoders (Qwen3) and NomicBERT */
	size_t kv_heads;               /* grouped K/V heads */
	double rope_theta;
	size_t rope_dim;               /* components of each head that turn */
	int causal;                    /* Qwen3: each token sees those before it */
	int post_ln;                   /* NomicBERT: x = LN(x + f(x)), not x += f(RMS(x)) */
	const float *norm_g;           /* the final RMSNorm, or NULL */
	/* ModernBERT: pre-norm LayerNorms (ln1_g NULL: none, as in layer 0),
	 * GeGLU (gelu of the first half of Wi times the second), the local
	 * layers' own RoPE base, a final LayerNorm (norm_g, norm_b) */
	int pre_ln, geglu;
	double rope_theta_local;
	const float *norm_b;
	/* Gemma 3: rows scaled by sqrt(hidden_size), RMSNorms that multiply by
	 * (1 + weight), GeGLU with the tanh gelu, scores scaled by
	 * query_pre_attn_scalar^-0.5 (qscale; 0: 1 / sqrt(head_dim)) */
	float embed_scale;
	int norm_plus1;
	double qscale;
	float *zeros;                  /* the biases of LayerNorms without one */
	emb_layer *layer;
	const float *pool_w, *pool_b;
	/* scratch kept between calls, so that big buffers are not faulted in
	 * anew: one per worker thread (documents split across threads) */
	struct emb_ws *ws;
	size_t nws;
	void *cuda;                    /* device copy of the weights (CUDA builds) */
	int cuda_failed;               /* no usable GPU: stay on the CPU */
};

/* The encoders' forward pass for one packed batch: x is (ntok, H), the
 * concatenation of the documents' embeddings; off[i]..off[i+1] the rows of
 * document i.  Writes the last hidden state back into x. */
int emb_encode_cpu(te_emb *m, float *x, size_t n, const size_t *off, te_diag *d);
/* Float32 copies of layer l's first n F16/BF16 matrices (l->half: 2 for
 * wq and wk alone, 6 for all), for the float32 products; emb_widen_all:
 * all of every layer. */
int emb_widen(te_emb *m, emb_layer *l, int n, te_diag *d);
int emb_widen_all(te_emb *m, te_diag *d);
#ifdef TE_CUDA
/* The same on the GPU (cuBLAS); returns 1 when no GPU is usable (then the
 * caller runs the CPU path), 0 on success, -1 on error. */
int emb_encode_cuda(te_emb *m, float *x, size_t n, const size_t *off, te_diag *d);
void emb_cuda_free(te_emb *m);
#endif

/* The forward pass of the rotary models (Qwen3: causal attention, grouped
 * K/V heads, RMSNorm, RoPE, SwiGLU; NomicBERT: the same blocks post-norm,
 * bidirectional, with LayerNorm), the same contract as emb_encode_cpu: x
 * holds the input embeddings on entry. */
int emb_decode_cpu(te_emb *m, float *x, size_t n, const size_t *off, te_diag *d);

/* Relative-position buckets, exposed for the unit tests. */
int emb_mpnet_bucket(int rel, int num_buckets, int max_distance);
int emb_deberta_bucket(int rel, int bucket_size, int max_position);

/* Scalar reference kernels, kept beside the BLAS path and tested against it.
 * emb_layernorm and emb_gelu use AVX2 where the CPU has it (emb_layernorm_ref
 * and emb_gelu_scalar never); kern_force_scalar = 1 turns the vector kernels
 * off (the unit tests compare both paths). */
void emb_layernorm(float *x, size_t n, size_t dim, const float *g, const float *b,
                   double eps);
void emb_layernorm_ref(float *x, size_t n, size_t dim, const float *g, const float *b,
                       double eps);
/* x = LN(x + bias) row by row (bias may be NULL). */
void emb_bias_layernorm(float *x, size_t n, size_t dim, const float *bias,
                        const float *g, const float *b, double eps);
void emb_gelu(float *x, size_t n);
void emb_gelu_scalar(float *x, size_t n);
/* GELU of one value, with erf: the scalar form every path rounds as. */
static inline float
emb_gelu1(float x)
{
	return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
}
/* The gated activation of gu (N, 2F) into f (N, F): act(first half) times
 * the second, act SiLU, GELU (erf) or GELU as gelu_pytorch_tanh computes
 * it; AVX2 through libmvec where there are both. */
enum { EMB_ACT_SILU, EMB_ACT_GELU, EMB_ACT_GELU_TANH };
void emb_gate(int act, const float *gu, size_t N, size_t F, float *f);
/* out = (add + g) * x / sqrt(mean(x^2) + eps), each of n rows of dim (row
 * stride stride for x and out alike); out may be x.  add is 1 for Gemma's
 * RMSNorm, which stores its weight less one, else 0.  The sum of squares in
 * double (AVX2: four lanes, summed in another order). */
void emb_rms_norm(const float *x, size_t n, size_t dim, size_t stride, const float *g,
                  float add, double eps, float *out);

void emb_linear_ref(const float *x, size_t n, size_t in, const float *w,
                    const float *b, size_t out, float *y);
void emb_linear(const float *x, size_t n, size_t in, const float *w, const float *b,
                size_t out, float *y);

#endif
