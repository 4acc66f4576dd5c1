// Paged KV memory of one GPU: a fixed number of blocks of `block_size` tokens, with reference counts
// (prepared for prefix sharing) and a free list. Allocation is O(blocks); no search.
//
// Contract: allocate() requires free_blocks() >= n. release() drops one reference of each block and frees the
// blocks that reach zero. check_invariants() verifies free + referenced == total and refcounts are consistent.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/core/types.h"

namespace kvsim {

class KvBlockPool {
 public:
  KvBlockPool(std::int64_t num_blocks, TokenCount block_size);

  std::int64_t total_blocks() const { return static_cast<std::int64_t>(refcount_.size()); }
  std::int64_t free_blocks() const { return static_cast<std::int64_t>(free_list_.size()); }
  std::int64_t used_blocks() const { return total_blocks() - free_blocks(); }
  TokenCount block_size() const { return block_size_; }
  // Blocks needed to hold `tokens` tokens.
  std::int64_t blocks_for(TokenCount tokens) const { return (tokens + block_size_ - 1) / block_size_; }

  // Appends `n` newly allocated blocks (refcount 1) to `out`.
  void allocate(std::int64_t n, std::vector<BlockId>& out);
  // Drops one reference of every block in `blocks` and clears it.
  void release(std::vector<BlockId>& blocks);

  // Throws std::logic_error on a broken invariant. `referenced_blocks` is the number of block references
  // held by requests (each block is referenced by exactly one request while prefix sharing is off).
  void check_invariants(std::int64_t referenced_blocks) const;

 private:
  TokenCount block_size_;
  std::vector<BlockId> free_list_;          // LIFO: recently freed blocks are reused first
  std::vector<std::uint32_t> refcount_;     // per block
};

}  // namespace kvsim
