// Prefix-cache-aware routing (see prefix_aware.h).
#include "sim/cluster/impl/prefix_aware.h"

#include <algorithm>

namespace kvsim {

std::vector<ParamDoc> PrefixAwareRouter::docs() {
  return {{"load_weight", "number", "0.5",
           "weight of the load term against the cached fraction of the prompt (0: cache affinity alone; large: "
           "least-outstanding)"}};
}

std::int32_t PrefixAwareRouter::route(const TraceRecord& request, ClusterView& cluster) {
  const std::span<const ReplicaLoad> loads = cluster.loads();
  std::int64_t most = 1;
  for (const ReplicaLoad& l : loads) most = std::max(most, l.outstanding);
  const double prompt = static_cast<double>(std::max<TokenCount>(1, request.prompt_tokens));
  std::int32_t best = 0;
  double best_score = 0;
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(loads.size()); ++i) {
    const ReplicaLoad& l = loads[static_cast<std::size_t>(i)];
    const double cached = static_cast<double>(cluster.cached_prefix_tokens(i)) / prompt;
    const double score = cached - load_weight_ * static_cast<double>(l.outstanding) / static_cast<double>(most);
    const ReplicaLoad& b = loads[static_cast<std::size_t>(best)];
    if (i == 0 || score > best_score || (score == best_score && l.outstanding < b.outstanding)) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

}  // namespace kvsim
