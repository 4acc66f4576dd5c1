// Eviction policies for the prefix cache's cached, unreferenced blocks (sim/kv/prefix_cache.h): which block leaves
// the cache when the KV pool needs room. One registry (sim/kv/eviction/builtin.cc), one file per policy.
//
// Contract. The prefix cache reports every change of a block's state, in order:
//   inserted(b)     b was computed and registered; the request that computed it references it.
//   acquired(b)     a request adopted cached block b (a prefix-cache hit); b is referenced now.
//   released(b)     b's last reference was dropped.
//   became_leaf(b)  b's last cached child was evicted.
//   evict_one()     the policy chooses, forgets and returns a victim.
// A block is *evictable* when nobody references it and no cached block has it as parent
// (PrefixCache::evictable): evict_one() must return an evictable block, and is called only while one exists. So a
// chain loses its leaves first and never a parent its children still need (PrefixCache::check_invariants).
// Policies see blocks, not bytes: every cached block costs the same (KvLayout::block_bytes()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sim/core/param_reader.h"
#include "sim/core/registry.h"
#include "sim/core/types.h"

namespace kvsim {

class PrefixCache;

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  // Called once, before any event: the cache whose blocks the policy orders (for hashes, depths, evictability).
  void attach(const PrefixCache* cache) { cache_ = cache; }

  virtual void inserted(BlockId b) = 0;
  virtual void acquired(BlockId b) = 0;
  virtual void released(BlockId b) = 0;
  virtual void became_leaf(BlockId b) = 0;
  virtual BlockId evict_one() = 0;

  // Throws std::logic_error unless the policy's own structures agree with the cache (called by
  // PrefixCache::check_invariants).
  virtual void check_invariants() const = 0;
  // The policy's parameters in force, for results.json.
  virtual nlohmann::json params() const { return nlohmann::json::object(); }

 protected:
  const PrefixCache& cache() const { return *cache_; }

 private:
  const PrefixCache* cache_ = nullptr;
};

// What a cost-aware policy knows about recomputing a block: a block of `block_tokens` tokens at depth d (d blocks
// before it in its prompt) costs linear_flops_per_token * B + attention_flops_per_token_pair * B * (d * B + (B+1)/2)
// to prefill again (B = block_tokens).
struct EvictionContext {
  TokenCount block_tokens = 16;
  double linear_flops_per_token = 1;          // 2 x active parameters (projections and MLP)
  double attention_flops_per_token_pair = 0;  // 4 x layers x query heads x head dim (QK^T and PV)
  double recompute_flops(std::int32_t depth) const;
};

using EvictionFactory = std::function<std::unique_ptr<EvictionPolicy>(ParamReader& params, const EvictionContext&)>;
using EvictionRegistry = Registry<EvictionFactory>;
const EvictionRegistry& eviction_policies();

// A policy chosen in a scenario: `engine.eviction` = "name" or {"policy": "name", <its params>}.
// make() builds a fresh policy for one KV pool; `resolved` is the choice with every parameter in force.
struct EvictionChoice {
  std::string name;
  std::function<std::unique_ptr<EvictionPolicy>()> make;
  nlohmann::json resolved;
};
// Reads the `key` of `section` (absent: `default_name`). Errors name the key and list the policies or their
// parameters.
EvictionChoice read_eviction_choice(ParamReader& section, const std::string& key, const EvictionContext& ctx,
                                    const std::string& default_name = "lru");

}  // namespace kvsim
