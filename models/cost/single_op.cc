// Single-launch ops from shapes (see single_op.h).
#include "models/cost/single_op.h"

#include <cmath>

namespace kvsim {

namespace {
constexpr double kActBytes = 2.0;
}

KernelOp gemm_op(double m, double n, double k, double weight_bytes) {
  KernelOp op;
  op.id = OpId::kGemmMlp;
  op.kind = OpKind::kGemm;
  op.flops = 2.0 * m * n * k;
  op.bytes = k * n * weight_bytes + m * (k + n) * kActBytes;
  op.launches = 1;
  op.shape.m = m;
  op.shape.n = n;
  op.shape.k = k;
  op.shape.weight_bits = weight_bytes * 8;
  return op;
}

KernelOp decode_attention_op(const OpShape& s) {
  KernelOp op;
  op.id = OpId::kAttentionDecode;
  op.kind = OpKind::kAttentionDecode;
  op.flops = 4.0 * s.q_heads * s.head_dim * s.kv_len * s.batch;
  const double kv = s.batch * s.kv_len * 2.0 * s.kv_heads * s.head_dim * s.kv_bits / 8.0;
  op.bytes = kv + s.batch * 2.0 * s.q_heads * s.head_dim * kActBytes;
  if (s.kv_bits < 16) op.dequant_elements = s.batch * s.kv_len * 2.0 * s.kv_heads * s.head_dim;
  op.launches = 1;
  op.shape = s;
  return op;
}

KernelOp prefill_attention_op(const OpShape& s) {
  KernelOp op;
  op.id = OpId::kAttentionPrefill;
  op.kind = OpKind::kAttentionPrefill;
  const double pairs = s.tokens * s.kv_len + s.tokens * (s.tokens + 1) / 2.0;
  op.flops = 4.0 * s.q_heads * s.head_dim * pairs * s.batch;
  const double kv_token = 2.0 * s.kv_heads * s.head_dim * s.kv_bits / 8.0;
  op.bytes = s.batch * ((s.kv_len + 2.0 * s.tokens) * kv_token + s.tokens * 2.0 * s.q_heads * s.head_dim * kActBytes);
  op.launches = 1;
  op.shape = s;
  return op;
}

KernelOp all_reduce_op(double message_bytes, int gpus) {
  KernelOp op;
  op.id = OpId::kAllReduce;
  op.kind = OpKind::kAllReduce;
  op.bytes = message_bytes;
  op.tp = gpus;
  op.launches = 1;
  op.shape.message_bytes = message_bytes;
  return op;
}

KernelOp moe_experts_op(double tokens, double hidden, double intermediate, int experts, int topk,
                        double weight_bytes) {
  const double T = tokens, h = hidden, I = intermediate, E = experts, k = topk;
  const double active = E * (1.0 - std::pow(1.0 - k / E, T));
  KernelOp op;
  op.id = OpId::kGemmMoeExperts;
  op.kind = OpKind::kGemm;
  op.flops = 2.0 * T * k * 3.0 * h * I;
  op.bytes = active * 3.0 * h * I * weight_bytes + T * k * (2.0 * h + 3.0 * I) * kActBytes;
  op.launches = kMoeLaunchesPerLayer;  // gate+up and down
  op.shape.m = T;
  op.shape.k = h;
  op.shape.n = I;
  op.shape.experts = experts;
  op.shape.topk = topk;
  op.shape.weight_bits = weight_bytes * 8;
  return op;
}

}  // namespace kvsim
