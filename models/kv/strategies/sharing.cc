// KV strategies of the sharing axis.
#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

void add_sharing_strategies(KvStrategyRegistry&) {}

}  // namespace kvsim::kvstrat
