// LRU, vLLM v1's order (vllm/v1/core/block_pool.py, FreeKVCacheBlockQueue): unreferenced blocks queue in the order
// they were released, a request's chain tail first; the least recently released block is evicted. The queue's head
// is always evictable: a block is released only once every request holding it let go, and each request releases
// its chain from the tail, so a block's cached children are released before it and stand ahead of it.
#include <stdexcept>

#include "sim/kv/eviction/block_lists.h"
#include "sim/kv/eviction/policies.h"
#include "sim/kv/prefix_cache.h"

namespace kvsim {
namespace {

class Lru final : public EvictionPolicy {
 public:
  void inserted(BlockId) override {}
  void acquired(BlockId b) override { queue_.unlink(b); }
  void released(BlockId b) override { queue_.push_back(0, b); }
  void became_leaf(BlockId) override {}
  BlockId evict_one() override {
    const BlockId b = queue_.front(0);
    if (b == BlockLists::kNone) throw std::logic_error("lru: eviction with no unreferenced block");
    queue_.unlink(b);
    return b;
  }
  void check_invariants() const override {
    queue_.check();
    if (queue_.size(0) != cache().unreferenced()) throw std::logic_error("lru: queue and unreferenced blocks differ");
    for (BlockId b = queue_.front(0); b != BlockLists::kNone; b = queue_.next(b)) {
      if (cache().refs(b) != 0) throw std::logic_error("lru: a referenced block is queued");
    }
    const BlockId head = queue_.front(0);
    if (head != BlockLists::kNone && !cache().evictable(head)) {
      throw std::logic_error("lru: the queue's head has cached children");
    }
  }

 private:
  BlockLists queue_{1};
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_lru(ParamReader&, const EvictionContext&) { return std::make_unique<Lru>(); }

}  // namespace kvsim
