// S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023; libCacheSim S3FIFO.c): a
// small FIFO S (a fraction of the cache, 10 %), a main FIFO M and a ghost FIFO G of evicted identities (as many
// entries as M holds). A new block enters M if its identity is in G, else S; each use by another request adds one
// to a counter capped at 3. Eviction takes from S while S holds at least its share of the cache (or M is empty):
// S's oldest block moves to M (counter cleared) if it was used at least `move_to_main_threshold` times, else it is
// evicted into G. From M, the oldest block with a non-zero counter is reinserted with the counter minus one, the
// first with zero is evicted.
//
// Adapted to pinned blocks: queues hold every cached block in insertion order (FIFO, no move on a hit); a block
// met at a queue's old end that a request references, or that has cached children, cannot be evicted: it is parked
// and rejoins M at its newest end once evictable (in use counts as used, as a CLOCK passes over pinned pages), so
// an eviction is amortized O(1). The cache size is the number of cached blocks when the policy acts.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "sim/kv/eviction/block_lists.h"
#include "sim/kv/eviction/policies.h"
#include "sim/kv/prefix_cache.h"

namespace kvsim {
namespace {

class S3Fifo final : public EvictionPolicy {
 public:
  S3Fifo(double small_fraction, int threshold) : small_fraction_(small_fraction), threshold_(threshold) {}

  void inserted(BlockId b) override {
    if (b >= freq_.size()) freq_.resize(static_cast<std::size_t>(b) + 1, 0);
    freq_[b] = 0;
    queues_.push_back(ghost_.erase(cache().hash(b)) ? kMain : kSmall, b);
  }
  void acquired(BlockId b) override { freq_[b] = static_cast<std::uint8_t>(std::min(freq_[b] + 1, 3)); }
  void released(BlockId b) override {
    if (cache().children(b) == 0) unpark(b);
  }
  void became_leaf(BlockId b) override {
    if (cache().refs(b) == 0) unpark(b);
  }
  BlockId evict_one() override {
    const std::size_t cached = cache().cached();
    // Every pass moves a block from S to M, parks one, lowers a counter or evicts: bounded.
    for (std::size_t guard = 0; guard < 6 * cached + 8; ++guard) {
      const bool from_small = queues_.size(kMain) == 0 ||
                              static_cast<double>(queues_.size(kSmall)) >= small_fraction_ * static_cast<double>(cached);
      const int from = from_small && queues_.size(kSmall) > 0 ? kSmall : kMain;
      const BlockId b = queues_.front(from);
      if (b == BlockLists::kNone) break;
      queues_.unlink(b);
      if (!cache().evictable(b)) {  // in use, or holding cached children: back to M when evictable
        queues_.push_back(kParked, b);
        continue;
      }
      if (from == kSmall) {
        if (freq_[b] >= threshold_) {
          freq_[b] = 0;
          queues_.push_back(kMain, b);
          continue;
        }
        ghost_.push(cache().hash(b));
        ghost_.trim(ghost_bound(cached));
        return b;
      }
      if (freq_[b] > 0) {
        freq_[b]--;
        queues_.push_back(kMain, b);
        continue;
      }
      return b;
    }
    throw std::logic_error("s3-fifo: found no evictable block");
  }
  void check_invariants() const override {
    queues_.check();
    if (queues_.size(kSmall) + queues_.size(kMain) + queues_.size(kParked) != cache().cached()) {
      throw std::logic_error("s3-fifo: S, M and the parked blocks are not exactly the cached blocks");
    }
    for (BlockId b = queues_.front(kParked); b != BlockLists::kNone; b = queues_.next(b)) {
      if (cache().evictable(b)) throw std::logic_error("s3-fifo: an evictable block is parked");
    }
  }
  nlohmann::json params() const override {
    return {{"small_fraction", small_fraction_}, {"move_to_main_threshold", threshold_}};
  }

 private:
  static constexpr int kSmall = 0, kMain = 1, kParked = 2;
  // A parked block that became evictable rejoins M at its newest end (it was in use, as if reinserted).
  void unpark(BlockId b) {
    if (queues_.list_of(b) != kParked) return;
    queues_.unlink(b);
    queues_.push_back(kMain, b);
  }
  std::size_t ghost_bound(std::size_t cached) const {
    return static_cast<std::size_t>(std::ceil((1 - small_fraction_) * static_cast<double>(cached)));
  }
  double small_fraction_;
  int threshold_;
  BlockLists queues_{3};  // S, M, parked
  std::vector<std::uint8_t> freq_;
  GhostQueue ghost_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_s3fifo(ParamReader& p, const EvictionContext&) {
  const double small = p.get_fraction("small_fraction", 0.1);
  const int threshold = p.get_positive<int>("move_to_main_threshold", 1);
  p.check(threshold <= 3, "move_to_main_threshold", "must be in [1, 3] (the counter saturates at 3)");
  return std::make_unique<S3Fifo>(small, threshold);
}

}  // namespace kvsim
