// The scenario's `engine.kv_tiers` section: memory tiers below the GPU for prefix-cached KV blocks
// (sim/kv/tiers.h).
//
//   "kv_tiers": {"tiers": [{"tier": "host"}, {"tier": "ssd", "capacity_GiB": 7000}],
//                "offload": "evicted" | "finished", "load": "layerwise" | "blocking", "store_overlap": true}
//
// A tier's kind gives its defaults (tier_defaults()); every field can be overridden: capacity_GiB, read_GBps,
// write_GBps, latency_us, eviction (a policy as engine.eviction). A tier of another name needs all four numbers.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/spec/gpu_spec.h"
#include "sim/core/param_reader.h"
#include "sim/engine/simulator.h"
#include "sim/kv/eviction/eviction_policy.h"

namespace kvsim {

// Defaults of a tier kind ("host", "ssd", "remote") on `gpu`, with where each number comes from; false if the kind
// has none.
bool tier_defaults(const std::string& kind, const GpuSpec& gpu, TierSpec& spec, std::string& source);

// One tier object ({"tier": kind, capacity_GiB, read_GBps, write_GBps, latency_us, eviction}).
TierSpec read_tier(ParamReader& tier, const GpuSpec& gpu, const EvictionContext& eviction_ctx);

// `engine.chunk_reuse`: {"recompute_fraction": 0.16, "store": <a tier object, default {"tier": "host"}>} into
// o.chunk_reuse; returns the resolved section (null if absent).
nlohmann::json read_chunk_reuse(ParamReader& engine, const std::string& key, const GpuSpec& gpu,
                                const EvictionContext& eviction_ctx, SimOptions& o);

// Reads `key` of `engine` into `o` (tiers, offload, overlap); returns the resolved section (null if absent).
nlohmann::json read_kv_tiers(ParamReader& engine, const std::string& key, const GpuSpec& gpu,
                             const EvictionContext& eviction_ctx, SimOptions& o);

}  // namespace kvsim
