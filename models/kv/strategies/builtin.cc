// The KV strategies kvsim knows: the single, explicit registration list of the family (one call per file).
#include "models/kv/strategies/common.h"

namespace kvsim {

const KvStrategyRegistry& kv_strategies() {
  static const KvStrategyRegistry kRegistry = [] {
    KvStrategyRegistry r;
    kvstrat::add_architecture_strategies(r);
    kvstrat::add_sharing_strategies(r);
    kvstrat::add_width_strategies(r);
    kvstrat::add_eviction_strategies(r);
    kvstrat::add_quantization_strategies(r);
    kvstrat::add_offload_strategies(r);
    kvstrat::add_sparse_strategies(r);
    return r;
  }();
  return kRegistry;
}

}  // namespace kvsim
