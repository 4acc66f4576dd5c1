// Paged KV block pool (see block_pool.h).
#include "sim/kv/block_pool.h"

#include <stdexcept>
#include <string>

namespace kvsim {

KvBlockPool::KvBlockPool(std::int64_t num_blocks, TokenCount block_size)
    : block_size_(block_size), refcount_(static_cast<std::size_t>(num_blocks), 0) {
  free_list_.reserve(static_cast<std::size_t>(num_blocks));
  for (std::int64_t b = num_blocks - 1; b >= 0; --b) free_list_.push_back(static_cast<BlockId>(b));
}

void KvBlockPool::allocate(std::int64_t n, std::vector<BlockId>& out) {
  if (n > free_blocks()) throw std::logic_error("KvBlockPool::allocate beyond free blocks");
  for (std::int64_t i = 0; i < n; ++i) {
    const BlockId b = free_list_.back();
    free_list_.pop_back();
    refcount_[b] = 1;
    out.push_back(b);
  }
}

void KvBlockPool::release(std::vector<BlockId>& blocks) {
  for (BlockId b : blocks) {
    if (refcount_[b] == 0) throw std::logic_error("KvBlockPool::release of a free block " + std::to_string(b));
    if (--refcount_[b] == 0) free_list_.push_back(b);
  }
  blocks.clear();
}

void KvBlockPool::check_invariants(std::int64_t referenced_blocks) const {
  std::int64_t referenced = 0, zero = 0;
  for (std::uint32_t rc : refcount_) {
    referenced += rc;
    zero += rc == 0;
  }
  if (zero != free_blocks()) {
    throw std::logic_error("KV pool: " + std::to_string(zero) + " blocks with refcount 0 but " +
                           std::to_string(free_blocks()) + " on the free list");
  }
  if (referenced != referenced_blocks) {
    throw std::logic_error("KV pool: " + std::to_string(referenced) + " block references, requests hold " +
                           std::to_string(referenced_blocks));
  }
  if (used_blocks() > total_blocks() || free_blocks() < 0) throw std::logic_error("KV pool: used > capacity");
}

}  // namespace kvsim
