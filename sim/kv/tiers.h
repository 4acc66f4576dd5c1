// Memory tiers below the GPU for prefix-cached KV blocks (host DRAM, local SSD, a remote store), as in LMCache,
// SGLang HiCache and Mooncake's store: each tier keeps copies of blocks by identity, with a capacity, read and
// write bandwidths, a latency per transfer and its own eviction policy (sim/kv/eviction/).
//
// Semantics (sim/README.md "Memory tiers"):
//  - Offload. With `offload = kEvicted`, a block the GPU evicts is written to the first tier (demotion); with
//    `kFinished` (LMCache), the prompt blocks of a finished request are written to the first tier when it ends.
//    A block a tier evicts is written to the next tier; the last tier drops it. A block already in the tier is only
//    refreshed (its policy sees a use), nothing is written.
//  - Lookup. After the GPU's hit, a prompt's next blocks are looked up tier by tier: each block in the first tier
//    holding it; the run stops at the first block no tier holds. Found blocks are loaded into GPU memory (read from
//    their tier) and count as computed, as an LMCache / KV-connector hit does; the tier keeps its copy.
//  - Time. Bytes moved in one engine step are batched per tier and direction: seconds = latency + bytes / bandwidth
//    (TierTraffic). The cost model overlaps them with compute as the scenario says (IterationCostModel).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/kv/eviction/eviction_policy.h"
#include "sim/kv/prefix_cache.h"

namespace kvsim {

struct TierSpec {
  std::string name;                 // "host", "ssd", "remote" (or a user's name)
  std::int64_t capacity_bytes = 0;
  double read_Bps = 0;              // tier -> GPU, bytes/s
  double write_Bps = 0;             // GPU / upper tier -> tier, bytes/s
  double latency_s = 0;             // per batched transfer
  std::function<std::unique_ptr<EvictionPolicy>()> eviction;  // empty: LRU
  nlohmann::json resolved;          // the tier as the scenario resolved it
};

enum class TierOffload : std::uint8_t { kEvicted, kFinished };

// Adds a transfer of `bytes` to one link's traffic in the current step (`step_bytes`, `step_s`): the link's latency
// once per step, then bytes over its bandwidth (transfers of one step are batched).
inline void add_transfer(double& step_bytes, double& step_s, double bytes, double latency_s, double bytes_per_s) {
  if (step_bytes == 0) step_s += latency_s;
  step_bytes += bytes;
  step_s += bytes / bytes_per_s;
}

// Bytes and seconds moved in one engine step, per tier.
struct TierTraffic {
  std::vector<double> load_bytes, store_bytes;  // per tier
  double load_s = 0, store_s = 0;               // summed over tiers: latency + bytes / bandwidth for each that moved
  void clear() {
    std::fill(load_bytes.begin(), load_bytes.end(), 0.0);
    std::fill(store_bytes.begin(), store_bytes.end(), 0.0);
    load_s = store_s = 0;
  }
};

class KvTiers {
 public:
  // `block_bytes`: one cached block's bytes (KvLayout::block_bytes()).
  KvTiers(std::vector<TierSpec> tiers, std::int64_t block_bytes, TierOffload offload);

  std::size_t size() const { return tiers_.size(); }
  TierOffload offload() const { return offload_; }
  const TierSpec& spec(std::size_t t) const { return tiers_[t].spec; }

  // The run of `hashes` (starting at hashes[0]) that the tiers hold, at most `limit` blocks; the tier of each goes to
  // `tier_of`. No side effects.
  std::size_t match(std::span<const std::uint64_t> hashes, std::size_t limit, std::vector<std::uint8_t>& tier_of) const;
  // Loads a matched run into the GPU: counts each block's read from its tier; each tier's copy sees a use.
  void load(std::span<const std::uint64_t> hashes, std::span<const std::uint8_t> tier_of);
  // Writes blocks to the first tier (demoted from the GPU, or a finished request's); cascades what tiers evict.
  void store(std::span<const PrefixCache::Evicted> blocks);

  // This step's traffic (and resets it).
  const TierTraffic& traffic() const { return step_; }
  void clear_traffic() { step_.clear(); }

  struct Stats {
    std::int64_t hit_blocks = 0;        // blocks loaded from this tier
    double loaded_bytes = 0, stored_bytes = 0;
    std::int64_t stored_blocks = 0;     // written into this tier
    std::int64_t demoted_blocks = 0;    // evicted from this tier into the next
    std::int64_t dropped_blocks = 0;    // evicted from the last tier
    std::int64_t capacity_blocks = 0, cached_blocks = 0;
    Stats& operator+=(const Stats& b) {  // another pool's tier (a cluster's replicas)
      hit_blocks += b.hit_blocks;
      loaded_bytes += b.loaded_bytes;
      stored_bytes += b.stored_bytes;
      stored_blocks += b.stored_blocks;
      demoted_blocks += b.demoted_blocks;
      dropped_blocks += b.dropped_blocks;
      capacity_blocks += b.capacity_blocks;
      cached_blocks += b.cached_blocks;
      return *this;
    }
  };
  Stats stats(std::size_t t) const;

  void check_invariants() const;

 private:
  struct Tier {
    TierSpec spec;
    std::unique_ptr<PrefixCache> cache;
    std::size_t capacity_blocks = 0;
    Stats stats;
  };
  void store_into(std::size_t t, const PrefixCache::Evicted& block);

  std::vector<Tier> tiers_;
  std::int64_t block_bytes_;
  TierOffload offload_;
  TierTraffic step_;
  std::vector<PrefixCache::Evicted> victims_;  // scratch
};

}  // namespace kvsim
