// One kernel launch described by its shape, with the FLOPs and bytes the roofline prices — for `kvsim cost`,
// calibration against measured tables, and the iteration cost model's GEMMs. Units: FLOPs, bytes; bf16
// activations (2 B); KV bytes from the shape's kv_bits.
#pragma once

#include "models/cost/op.h"

namespace kvsim {

// C[m x n] = A[m x k] * B[k x n] with weights of `weight_bytes` per element.
KernelOp gemm_op(double m, double n, double k, double weight_bytes = 2.0);
// One decode step: shape.batch sequences reading shape.kv_len KV tokens each (incl. the new one).
KernelOp decode_attention_op(const OpShape& shape);
// Causal prefill: shape.batch sequences of shape.tokens new tokens on top of shape.kv_len cached ones.
KernelOp prefill_attention_op(const OpShape& shape);
// Ring all-reduce of shape.message_bytes over `gpus` GPUs.
KernelOp all_reduce_op(double message_bytes, int gpus);
// One MoE layer's routed experts (gemm.moe_experts, kMoeLaunchesPerLayer launches: gate+up, then down): `tokens`
// tokens each routed to `topk` of `experts` experts of width `intermediate` per GPU, hidden size `hidden`. FLOPs
// 2 x tokens x topk x 3 x hidden x intermediate; bytes: the weights of the experts uniform random routing touches
// on average, experts x (1 - (1 - topk / experts)^tokens), plus the routed tokens' activations.
KernelOp moe_experts_op(double tokens, double hidden, double intermediate, int experts, int topk,
                        double weight_bytes = 2.0);

}  // namespace kvsim
