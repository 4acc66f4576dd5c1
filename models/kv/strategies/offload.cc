// Offload strategies: parts of the KV cache in host memory, fetched over PCIe when read.
#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

void add_offload_strategies(KvStrategyRegistry&) {}

}  // namespace kvsim::kvstrat
