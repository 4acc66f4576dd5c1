// KV strategies of the width axis.
#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

void add_width_strategies(KvStrategyRegistry&) {}

}  // namespace kvsim::kvstrat
