// CPU references of every kernel: the same parameter structs (kernels/params.h) over host memory, float
// accumulation, written for clarity rather than speed. The GPU tests compare the kernels with these; the CPU tests
// compare these with float64 computations.
#pragma once

#include "kernels/params.h"

namespace kvsim::kernels::ref {

/// Dequantizes token `pos` of (sequence b, kv head) into k[head_dim] and v[head_dim]. For KIVI formats seq_len
/// decides whether the token is in a quantized page or in the residual ring.
void load_kv_token(const PagedKvCache& kv, DType dtype, int b, int kv_head, int pos, int seq_len, float* k, float* v);

/// Decode attention: o[b, h] = softmax(sm_scale * q[b, h] · K[range]) V[range] (zeros and lse = -inf when the
/// range is empty), o rounded to the activation dtype.
void decode_attention_ref(const DecodeAttentionParams& p);

/// Appends one token per sequence (see KvAppendParams); quantizes as the GPU kernel does, code for code.
void append_kv_ref(const KvAppendParams& p);

/// Copies pages (see PageCopyParams); copies are applied in order.
void copy_pages_ref(const PageCopyParams& p);

}  // namespace kvsim::kernels::ref
