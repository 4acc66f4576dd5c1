// ARC, Adaptive Replacement Cache (Megiddo and Modha, FAST 2003), over cached blocks. T1 holds blocks used by one
// request, T2 blocks used by several (or readmitted from a ghost); B1 and B2 remember the identities of blocks
// evicted from T1 and T2. A new block whose identity is in B1 (B2) raises (lowers) the target p for T1's size by
// max(|B2|/|B1|, 1) (max(|B1|/|B2|, 1)) and enters T2; REPLACE evicts from T1 when |T1| > p (or |T1| = p after a
// B2 hit), else from T2, into the matching ghost.
//
// Adapted to a cache whose blocks are pinned while requests use them: c, the cache size, is the number of cached
// blocks when the policy acts (the pool is shared with requests' own pages); |T1| and |T2| count pinned members
// too, but a pinned block waits outside the recency queues and rejoins its list at the most recent end when
// released (recency = last release, as vLLM's LRU); REPLACE takes the least recently released evictable block of
// the chosen list, or of the other list if the chosen one has none; a block met at a list's old end with cached
// children is parked until its last child is evicted, then returns to that end (so each eviction is amortized
// O(1)). Ghost identities adapt p when the block is registered, after the room for it was made. Ghosts are trimmed
// to |T1| + |B1| <= c and |T2| + |B2| <= 2c - (|T1| + |B1|).
#include <algorithm>
#include <stdexcept>

#include "sim/kv/eviction/block_lists.h"
#include "sim/kv/eviction/policies.h"
#include "sim/kv/prefix_cache.h"

namespace kvsim {
namespace {

class Arc final : public EvictionPolicy {
 public:
  void inserted(BlockId b) override {
    grow(b);
    const std::uint64_t h = cache().hash(b);
    const double c = static_cast<double>(cache().cached());
    const double b1 = static_cast<double>(b1_.size()), b2 = static_cast<double>(b2_.size());
    if (b1_.erase(h)) {
      p_ = std::min(c, p_ + std::max(b2 / b1, 1.0));
      last_hit_b2_ = false;
      join(b, kT2);
    } else if (b2_.erase(h)) {
      p_ = std::max(0.0, p_ - std::max(b1 / b2, 1.0));
      last_hit_b2_ = true;
      join(b, kT2);
    } else {
      last_hit_b2_ = false;
      join(b, kT1);
    }
  }
  void acquired(BlockId b) override {
    queues_.unlink(b);
    if (class_[b] == kT1) {
      size_[kT1]--;
      join(b, kT2);
    }
  }
  void released(BlockId b) override { queues_.push_back(class_[b], b); }
  void became_leaf(BlockId b) override {
    if (queues_.list_of(b) == kParked) {
      queues_.unlink(b);
      queues_.push_front(class_[b], b);
    }
  }
  BlockId evict_one() override {
    const std::size_t c = cache().cached();  // full: the room is for a block about to be registered
    const double t1 = static_cast<double>(size_[kT1]);
    const bool from_t1 = size_[kT1] > 0 && (t1 > p_ || (last_hit_b2_ && t1 == p_));
    BlockId b = oldest_evictable(from_t1 ? kT1 : kT2);
    if (b == BlockLists::kNone) b = oldest_evictable(from_t1 ? kT2 : kT1);
    if (b == BlockLists::kNone) throw std::logic_error("arc: no evictable block in T1 or T2");
    queues_.unlink(b);
    const int cls = class_[b];
    size_[cls]--;
    (cls == kT1 ? b1_ : b2_).push(cache().hash(b));
    class_[b] = -1;
    b1_.trim(c > size_[kT1] ? c - size_[kT1] : 0);
    const std::size_t l1 = size_[kT1] + b1_.size();
    b2_.trim(2 * c > l1 + size_[kT2] ? 2 * c - l1 - size_[kT2] : 0);
    return b;
  }
  void check_invariants() const override {
    queues_.check();
    std::size_t t[2] = {0, 0};
    for (BlockId b = 0; b < class_.size(); ++b) {
      if (class_[b] < 0) continue;
      if (!cache().live(b)) throw std::logic_error("arc: an evicted block is still in T1 or T2");
      t[class_[b]]++;
      const int list = queues_.list_of(b);
      const bool queued = list == class_[b] || list == kParked;
      if (queued != (cache().refs(b) == 0)) throw std::logic_error("arc: a block's queue disagrees with its refs");
      if (list == kParked && cache().children(b) == 0) throw std::logic_error("arc: a parked block is a leaf");
    }
    if (t[0] != size_[0] || t[1] != size_[1] || t[0] + t[1] != cache().cached()) {
      throw std::logic_error("arc: |T1| + |T2| differs from the cached blocks");
    }
  }

 private:
  static constexpr int kT1 = 0, kT2 = 1, kParked = 2;
  void grow(BlockId b) {
    if (b >= class_.size()) class_.resize(static_cast<std::size_t>(b) + 1, -1);
  }
  void join(BlockId b, int cls) {
    class_[b] = static_cast<std::int8_t>(cls);
    size_[cls]++;
  }
  // Parks the list's oldest blocks that have cached children; returns its oldest leaf, if any.
  BlockId oldest_evictable(int list) {
    for (BlockId b = queues_.front(list); b != BlockLists::kNone; b = queues_.front(list)) {
      if (cache().children(b) == 0) return b;
      queues_.unlink(b);
      queues_.push_back(kParked, b);
    }
    return BlockLists::kNone;
  }

  // Unreferenced members of T1 and T2, least recently released first, and parked ones (with cached children).
  BlockLists queues_{3};
  std::vector<std::int8_t> class_;  // per block: kT1, kT2 or -1 (not cached)
  std::size_t size_[2] = {0, 0};  // |T1|, |T2| including referenced members
  GhostQueue b1_, b2_;
  double p_ = 0;  // target size of T1, in blocks
  bool last_hit_b2_ = false;
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_arc(ParamReader&, const EvictionContext&) { return std::make_unique<Arc>(); }

}  // namespace kvsim
