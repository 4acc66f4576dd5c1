// KV blocks with identities, shared between requests: vLLM v1's automatic prefix caching (vllm/v1/core/
// kv_cache_manager.py, block_pool.py), counted in blocks; sim/kv/kv_manager.h turns them into bytes.
//
// A cached block has an identity (its chained hash, sim/kv/block_hash.h), a parent (the block before it in every
// prompt that holds it), a reference count (the running requests using it) and a place in the eviction order.
// A request references the first blocks of its prompt, in order: the ones it found cached when it was admitted and
// the ones it registered as it computed them. When it finishes or is preempted it releases them, its last block
// first; a block nobody references stays cached, joins the eviction order at its most recent end and counts as
// free memory, until it is reused or evicted. Which unreferenced block is evicted is the eviction policy's choice
// (sim/kv/eviction/eviction_policy.h; vLLM's LRU by default), among the *evictable* ones: unreferenced leaves.
//
// Blocks belong to a class: 0 for the full-attention layers' blocks, one more class per sliding-window size
// (vLLM's KV cache groups, sim/kv/kv_manager.h). A window class's blocks have no parent (a window's oldest blocks
// leave it while its newest stay) and differ in bytes from class 0's; all classes share one eviction order, as
// vLLM's one free queue, and are counted apart.
//
// Invariants (check_invariants): a block's reference count is the number of requests holding it; every cached
// block's parent is cached (a chain never loses a parent: a referenced block's parent is referenced too, and only
// leaves are evicted); the policy's structures agree with the blocks (EvictionPolicy::check_invariants).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "sim/core/types.h"
#include "sim/kv/eviction/eviction_policy.h"
#include "sim/kv/hash_index.h"

namespace kvsim {

class PrefixCache {
 public:
  static constexpr BlockId kNone = std::numeric_limits<BlockId>::max();
  static constexpr std::size_t kMaxClasses = 8;  // block classes (full attention, then window sizes)

  // `policy` chooses victims among evictable blocks; null means LRU (vLLM).
  explicit PrefixCache(std::unique_ptr<EvictionPolicy> policy = nullptr);
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  // The longest run of `hashes` (a prompt's block identities, first block first) cached now, at most `limit`
  // blocks; their ids go to `out`. `out` may hold an earlier match of the same hashes: its blocks still cached with
  // the same identity are kept without looking them up again. Returns how many of the run nobody references. No
  // side effects.
  std::size_t match(std::span<const std::uint64_t> hashes, std::size_t limit, std::vector<BlockId>& out) const;
  // match() for the request at the head of the waiting queue, cheap across its repeated lookups (it is looked up at
  // every step while it waits for memory, as in vLLM): `run` becomes the watched run. Its blocks are flagged, so an
  // eviction of one truncates `run` there and references keep the run's count of unreferenced blocks; with `again`
  // (the same hashes as the last call with this `run`) the lookup only tries to extend it. Returns how many of the
  // run nobody references. `run` must outlive the watch (unwatch() ends it).
  std::size_t match_watched(std::span<const std::uint64_t> hashes, std::size_t limit, std::vector<BlockId>& run,
                            bool again);
  // Shortens the watched run to `n` blocks; ends the watch (the run keeps its blocks, unflagged).
  void truncate_watched(std::size_t n);
  void unwatch();

  // One more reference to each block (a request reusing them). Returns how many were unreferenced: they leave the
  // eviction order and stop counting as free.
  std::size_t acquire(std::span<const BlockId> blocks);
  // Registers a block of class `cls` a request has just computed, referenced by it; `parent` is the request's
  // previous block (kNone for a prompt's first block, and for every block of a window class). Returns kNone and
  // registers nothing if the identity is cached already.
  BlockId insert(std::uint64_t hash, BlockId parent, std::uint8_t cls = 0);
  // One reference less on each block of a request's chain (first block first; blocks of one class), released from
  // its last block back, so that a block joins the eviction order before its parent. Returns how many became unreferenced (they join the
  // order at its most recent end).
  std::size_t release(std::span<const BlockId> chain);
  // A block with an identity and a depth but no parent link, unreferenced at once: a copy in a lower memory tier
  // (sim/kv/tiers.h), where blocks are independent. Returns kNone if the identity is cached already.
  BlockId insert_detached(std::uint64_t hash, std::int32_t depth);
  // The block with this identity, or kNone.
  BlockId find(std::uint64_t hash) const {
    const BlockId b = index_.find(hash);
    return b == HashIndex::kMissing ? kNone : b;
  }

  // An evicted block's identity, for demotion to a lower tier.
  struct Evicted {
    std::uint64_t hash;
    std::int32_t depth;
    std::uint8_t cls = 0;
  };
  // Evicts `count` unreferenced blocks, the policy's victims, forgetting their identities (appended to `victims`
  // when given). Requires count <= unreferenced().
  void evict(std::size_t count, std::vector<Evicted>* victims = nullptr);

  std::size_t cached() const { return index_.size(); }       // blocks with an identity
  std::size_t unreferenced() const {  // of those, the ones nobody uses (evictable)
    std::size_t n = 0;
    for (const std::size_t c : class_unreferenced_) n += c;
    return n;
  }
  std::size_t referenced() const { return index_.size() - unreferenced(); }
  // The same per block class.
  std::size_t cached(std::uint8_t cls) const { return class_cached_[cls]; }
  std::size_t unreferenced(std::uint8_t cls) const { return class_unreferenced_[cls]; }
  std::size_t referenced(std::uint8_t cls) const { return class_cached_[cls] - class_unreferenced_[cls]; }
  std::int64_t evictions() const { return evictions_; }

  // One cached block, for eviction policies (b must be cached unless live() is asked).
  bool live(BlockId b) const { return b < slots_.size() && slots_[b].live; }
  std::uint64_t hash(BlockId b) const { return slots_[b].hash; }
  std::int32_t refs(BlockId b) const { return slots_[b].refs; }
  std::uint32_t children(BlockId b) const { return slots_[b].children; }
  std::int32_t depth(BlockId b) const { return slots_[b].depth; }  // blocks before it in its prompt
  std::uint8_t block_class(BlockId b) const { return slots_[b].cls; }
  bool evictable(BlockId b) const { return slots_[b].refs == 0 && slots_[b].children == 0; }

  // Throws std::logic_error unless the invariants above hold; `held` lists, per request, the chain of class-0 blocks
  // it references, and `loose` other blocks requests reference one by one (window classes; kNone entries skipped).
  void check_invariants(std::span<const std::vector<BlockId>* const> held,
                        std::span<const std::vector<BlockId>* const> loose = {}) const;

 private:
  struct Slot {
    std::uint64_t hash = 0;
    BlockId parent = kNone;
    std::int32_t refs = 0;
    std::int32_t depth = 0;
    std::uint32_t children = 0;  // cached blocks whose parent this is
    bool live = false;
    std::uint8_t cls = 0;
    std::int32_t watch_pos = -1;  // position in the watched run, or -1
  };
  void flag(BlockId b, std::size_t pos);
  void unflag(BlockId b);
  std::vector<Slot> slots_;
  std::vector<BlockId> free_slots_;
  HashIndex index_;  // identity -> block
  std::unique_ptr<EvictionPolicy> policy_;
  std::array<std::size_t, kMaxClasses> class_cached_{}, class_unreferenced_{};
  std::vector<BlockId>* watched_ = nullptr;  // the watched run (match_watched), or none
  std::size_t watched_unreferenced_ = 0;
  std::int64_t evictions_ = 0;
};

}  // namespace kvsim
