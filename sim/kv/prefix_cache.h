// KV blocks with identities, shared between requests: vLLM v1's automatic prefix caching (vllm/v1/core/
// kv_cache_manager.py, block_pool.py), counted in blocks; sim/kv/kv_manager.h turns them into bytes.
//
// A cached block has an identity (its chained hash, sim/kv/block_hash.h), a parent (the block before it in every
// prompt that holds it), a reference count (the running requests using it) and a place in the eviction order.
// A request references the first blocks of its prompt, in order: the ones it found cached when it was admitted and
// the ones it registered as it computed them. When it finishes or is preempted it releases them, its last block
// first; a block nobody references stays cached, joins the eviction order at its most recent end and counts as
// free memory, until it is reused (taken out of the order) or evicted (least recently released first, vLLM's free
// queue order).
//
// Invariants (check_invariants): a block's reference count is the number of requests holding it; exactly the
// unreferenced blocks are in the eviction order; every cached block's parent is cached (a chain never loses a
// parent: a referenced block's parent is referenced too, and releasing tail first puts an unreferenced block
// before its parent in the order, so the order's head is always a leaf).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "sim/core/types.h"
#include "sim/kv/hash_index.h"

namespace kvsim {

class PrefixCache {
 public:
  static constexpr BlockId kNone = std::numeric_limits<BlockId>::max();

  // The longest run of `hashes` (a prompt's block identities, first block first) cached now, at most `limit`
  // blocks; their ids go to `out`. `out` may hold an earlier match of the same hashes: its blocks still cached with
  // the same identity are kept without looking them up again. Returns how many of the run nobody references. No
  // side effects.
  std::size_t match(std::span<const std::uint64_t> hashes, std::size_t limit, std::vector<BlockId>& out) const;
  // One more reference to each block (a request reusing them). Returns how many were unreferenced: they leave the
  // eviction order and stop counting as free.
  std::size_t acquire(std::span<const BlockId> blocks);
  // Registers a block a request has just computed, referenced by it; `parent` is the request's previous block
  // (kNone for a prompt's first block). Returns kNone and registers nothing if the identity is cached already.
  BlockId insert(std::uint64_t hash, BlockId parent);
  // One reference less on each block of a request's chain (first block first), released from its last block back,
  // so that a block joins the eviction order before its parent. Returns how many became unreferenced (they join the
  // order at its most recent end).
  std::size_t release(std::span<const BlockId> chain);
  // Evicts `count` unreferenced blocks, least recently released first, forgetting their identities. Requires
  // count <= unreferenced().
  void evict(std::size_t count);

  std::size_t cached() const { return index_.size(); }       // blocks with an identity
  std::size_t unreferenced() const { return unreferenced_; }  // of those, the ones nobody uses (evictable)
  std::size_t referenced() const { return index_.size() - unreferenced_; }
  std::int64_t evictions() const { return evictions_; }

  // Throws std::logic_error unless the invariants above hold; `held` lists, per request, the blocks it references.
  void check_invariants(std::span<const std::vector<BlockId>* const> held) const;

 private:
  struct Slot {
    std::uint64_t hash = 0;
    BlockId parent = kNone;
    BlockId prev = kNone, next = kNone;  // eviction order (unreferenced blocks only)
    std::int32_t refs = 0;
    std::uint32_t children = 0;  // cached blocks whose parent this is
    bool live = false;
  };
  void unlink(BlockId b);
  void push_back(BlockId b);

  std::vector<Slot> slots_;
  std::vector<BlockId> free_slots_;
  HashIndex index_;  // identity -> block
  BlockId head_ = kNone, tail_ = kNone;                // eviction order: head evicted first
  std::size_t unreferenced_ = 0;
  std::int64_t evictions_ = 0;
};

}  // namespace kvsim
