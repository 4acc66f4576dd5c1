// Factories of the eviction policies (one file each), registered in sim/kv/eviction/builtin.cc.
#pragma once

#include "sim/kv/eviction/eviction_policy.h"

namespace kvsim {

std::unique_ptr<EvictionPolicy> make_lru(ParamReader& params, const EvictionContext& ctx);
std::unique_ptr<EvictionPolicy> make_lfu(ParamReader& params, const EvictionContext& ctx);
std::unique_ptr<EvictionPolicy> make_lru_access(ParamReader& params, const EvictionContext& ctx);
std::unique_ptr<EvictionPolicy> make_lru_k(ParamReader& params, const EvictionContext& ctx);
std::unique_ptr<EvictionPolicy> make_arc(ParamReader& params, const EvictionContext& ctx);
std::unique_ptr<EvictionPolicy> make_s3fifo(ParamReader& params, const EvictionContext& ctx);
std::unique_ptr<EvictionPolicy> make_cost_aware(ParamReader& params, const EvictionContext& ctx);

}  // namespace kvsim
