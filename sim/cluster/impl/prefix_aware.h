// Prefix-cache-aware routing: each replica scored by how much of the request's prompt its GPU cache already holds,
// against its load, as llm-d's precise prefix-cache scorer combined with its load scorer, and Dynamo's KV router
// (cost = prefill blocks to compute + decode load) do. Reads: each replica's cached prefix of the prompt (live, from
// KV events) and its outstanding requests (router.state_delay_s old).
#pragma once

#include "sim/cluster/router.h"

namespace kvsim {

class PrefixAwareRouter final : public IRouter {
 public:
  // score = cached fraction of the prompt - load_weight x outstanding / (the most outstanding of any replica);
  // the highest score wins, then fewer outstanding, then the lower index.
  explicit PrefixAwareRouter(double load_weight) : load_weight_(load_weight) {}
  std::int32_t route(const TraceRecord& request, ClusterView& cluster) override;

  static std::vector<ParamDoc> docs();

 private:
  double load_weight_;
};

}  // namespace kvsim
