// How one replica's model is split over its GPUs: tensor, pipeline and expert parallelism.
//
// Tensor parallelism (tp) splits every layer's attention heads and MLP (and, without expert parallelism, every
// routed expert's width) over tp GPUs, which all-reduce twice a layer. Pipeline parallelism (pp) splits the layers
// into pp stages of num_layers / pp each (a replica then has tp x pp GPUs); a stage holds its layers' weights and
// KV. Expert parallelism (ep, MoE models only) gives each of ep GPUs num_experts / ep whole routed experts;
// tokens go to their experts' GPUs and back by all-to-all. ep is a multiple of tp: ep == tp keeps the group inside
// one replica, ep == tp x d makes d replicas (data-parallel ranks of the attention) one expert-parallel group that
// steps in lockstep (vLLM's --data-parallel-size d --enable-expert-parallel; SGLang's DP attention).
#pragma once

#include "models/spec/llm_spec.h"

namespace kvsim {

struct Parallelism {
  int tp = 1, pp = 1, ep = 1;
  // A tensor-parallel degree alone (no pipeline, no expert parallelism) converts implicitly.
  Parallelism(int tensor_parallel = 1, int pipeline_parallel = 1, int expert_parallel = 1)  // NOLINT
      : tp(tensor_parallel), pp(pipeline_parallel), ep(expert_parallel) {}
  // Replicas (data-parallel attention ranks) in one expert-parallel group: ep / tp, at least 1.
  int ranks_per_expert_group() const { return ep > tp ? ep / tp : 1; }
  // Bytes of weights one GPU holds: the routed experts split ep ways (tp ways without expert parallelism), the
  // rest tp ways, each stage 1/pp of it all (embeddings and the LM head spread with the layers: an approximation).
  double weight_bytes_per_gpu(const LlmSpec& model) const {
    const double routed = model.routed_expert_parameter_count() * model.weights.linear_bytes();
    const double rest = model.weight_bytes() - routed;
    return (rest / tp + routed / (ep > 1 ? ep : tp)) / pp;
  }
};

}  // namespace kvsim
