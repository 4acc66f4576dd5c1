// Policies that rank evictable blocks by a key computed from the block's own history: LFU, LRU-K and a
// cost-aware GreedyDual-Size-Frequency. Evictable blocks (unreferenced leaves) wait in a min-heap by key; a block
// enters when it becomes evictable (released without cached children, or its last child evicted while nobody
// references it) with the key of its last release, and leaves when it is evicted or reused (its heap entry goes
// stale: entries carry the block's version). So a parent waits for its children whatever its own key.
//
// History per block: `uses` = requests that referenced it (the one that computed it, plus every hit), and the
// ticks (cache-wide) of its last K accesses. An access is a release (a request uses a block from its admission to
// its release, and a block is evictable only after it), or, for SGLang's LRU, a lookup that found it or its
// insertion (RadixCache refreshes last_access_time on match and insert, not when a request lets go).
#include <algorithm>
#include <queue>
#include <stdexcept>
#include <vector>

#include "sim/kv/eviction/policies.h"
#include "sim/kv/prefix_cache.h"

namespace kvsim {
namespace {

struct Key {
  double primary = 0;          // smaller is evicted first
  std::int64_t secondary = 0;  // ties: smaller (older release) first
  bool operator>(const Key& o) const { return primary != o.primary ? primary > o.primary : secondary > o.secondary; }
};

class PriorityPolicy : public EvictionPolicy {
 public:
  enum class Access { kRelease, kUse };  // what refreshes a block's recency
  explicit PriorityPolicy(int history, Access access = Access::kRelease)
      : history_(std::max(history, 1)), access_(access) {}

  void inserted(BlockId b) override {
    grow(b);
    State& s = state_[b];
    s = State{};
    s.version = ++version_;
    s.uses = 1;
    std::fill_n(ticks(b), history_, -1);
    if (access_ == Access::kUse) touch(b);
    on_insert(b);
  }
  void acquired(BlockId b) override {
    State& s = state_[b];
    s.uses++;
    s.version = ++version_;  // its heap entry, if any, is stale
    if (access_ == Access::kUse) touch(b);
  }
  void released(BlockId b) override {
    if (access_ == Access::kRelease) touch(b);
    state_[b].key = key(b);
    if (cache().children(b) == 0) push(b);
  }
  void became_leaf(BlockId b) override {
    if (cache().refs(b) == 0) push(b);
  }
  BlockId evict_one() override {
    while (!heap_.empty()) {
      const Entry e = heap_.top();
      heap_.pop();
      if (e.version != state_[e.block].version) continue;  // reused or evicted since it was queued
      if (!cache().evictable(e.block)) throw std::logic_error("a queued block is not evictable");
      state_[e.block].version = ++version_;
      on_evict(e.block);
      return e.block;
    }
    throw std::logic_error("eviction heap is empty while blocks are evictable");
  }
  void check_invariants() const override {
    std::vector<char> queued(state_.size(), 0);
    auto copy = heap_;
    while (!copy.empty()) {
      const Entry e = copy.top();
      copy.pop();
      if (e.version == state_[e.block].version) queued[e.block] = 1;
    }
    for (BlockId b = 0; b < state_.size(); ++b) {
      if (cache().live(b) && cache().evictable(b) && !queued[b]) {
        throw std::logic_error("an evictable block is missing from the eviction heap");
      }
    }
  }

 protected:
  struct State {
    std::uint64_t version = 0;
    std::int64_t uses = 0;
    Key key;
    double value = 0;  // a policy's own per-block number (GDSF's H)
  };
  virtual Key key(BlockId b) = 0;
  virtual void on_insert(BlockId) {}
  virtual void on_evict(BlockId) {}
  State& state(BlockId b) { return state_[b]; }
  std::int64_t tick(BlockId b, int back) const { return ticks_[static_cast<std::size_t>(b) * history_ + back]; }
  int history() const { return history_; }

 private:
  struct Entry {
    Key key;
    BlockId block;
    std::uint64_t version;
    bool operator>(const Entry& o) const { return key > o.key; }
  };
  void push(BlockId b) {
    const State& s = state_[b];
    heap_.push({s.key, b, s.version});
  }
  void grow(BlockId b) {
    if (b >= state_.size()) {
      state_.resize(static_cast<std::size_t>(b) + 1);
      ticks_.resize(state_.size() * history_, -1);
    }
  }
  std::int64_t* ticks(BlockId b) { return ticks_.data() + static_cast<std::size_t>(b) * history_; }
  void touch(BlockId b) {
    std::int64_t* t = ticks(b);
    std::copy_backward(t, t + history_ - 1, t + history_);
    t[0] = ++tick_;
  }

  int history_;
  Access access_;
  std::vector<State> state_;
  std::vector<std::int64_t> ticks_;  // per block, its last `history_` release ticks, newest first (-1: none)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::uint64_t version_ = 0;
  std::int64_t tick_ = 0;
};

// Least frequently used: fewest uses first, then least recently released.
class Lfu final : public PriorityPolicy {
 public:
  Lfu() : PriorityPolicy(1) {}

 private:
  Key key(BlockId b) override { return {static_cast<double>(state(b).uses), tick(b, 0)}; }
};

// SGLang's LRU (python/sglang/srt/mem_cache/radix_cache.py, LRUStrategy): the evictable leaf whose last access
// (a lookup that found it, or its insertion) is oldest; ties: the deeper block first (it was touched with its
// parent, and a chain goes leaves first).
class LruAccess final : public PriorityPolicy {
 public:
  LruAccess() : PriorityPolicy(1, Access::kUse) {}

 private:
  Key key(BlockId b) override { return {static_cast<double>(tick(b, 0)), -static_cast<std::int64_t>(cache().depth(b))}; }
};

// LRU-K (O'Neil, O'Neil and Weikum, SIGMOD 1993): the block whose K-th most recent use is oldest goes first;
// blocks used fewer than K times (infinite backward K-distance) go before all others, least recently used first.
class LruK final : public PriorityPolicy {
 public:
  explicit LruK(int k) : PriorityPolicy(k), k_(k) {}
  nlohmann::json params() const override { return {{"k", k_}}; }

 private:
  Key key(BlockId b) override {
    const std::int64_t kth = tick(b, k_ - 1);
    return {kth < 0 ? -1.0 : static_cast<double>(kth), tick(b, 0)};
  }
  int k_;
};

// Cost-aware: GreedyDual-Size-Frequency (Cherkasova, HP Labs TR 98-69, 1998) with the cost of recomputing the
// block, as Marconi's FLOP-aware eviction (Pan et al., MLSys 2025, arXiv 2411.19379) values prefixes by the prefill
// FLOPs they save. At each release H = L + uses x recompute_flops(depth) / block_flops(0); the block with the
// smallest H goes first and L becomes its H (inflation, so that blocks unused for long age out).
class CostAware final : public PriorityPolicy {
 public:
  explicit CostAware(const EvictionContext& ctx) : PriorityPolicy(1), ctx_(ctx), unit_(ctx.recompute_flops(0)) {}

 private:
  Key key(BlockId b) override {
    State& s = state(b);
    s.value = inflation_ + static_cast<double>(s.uses) * ctx_.recompute_flops(cache().depth(b)) / unit_;
    return {s.value, tick(b, 0)};
  }
  void on_evict(BlockId b) override { inflation_ = state(b).value; }
  EvictionContext ctx_;
  double unit_;
  double inflation_ = 0;
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_lfu(ParamReader&, const EvictionContext&) { return std::make_unique<Lfu>(); }

std::unique_ptr<EvictionPolicy> make_lru_access(ParamReader&, const EvictionContext&) {
  return std::make_unique<LruAccess>();
}

std::unique_ptr<EvictionPolicy> make_lru_k(ParamReader& p, const EvictionContext&) {
  const int k = p.get_positive<int>("k", 2);
  p.check(k <= 8, "k", "must be at most 8");
  return std::make_unique<LruK>(k);
}

std::unique_ptr<EvictionPolicy> make_cost_aware(ParamReader&, const EvictionContext& ctx) {
  return std::make_unique<CostAware>(ctx);
}

double EvictionContext::recompute_flops(std::int32_t depth) const {
  const double b = static_cast<double>(block_tokens);
  return linear_flops_per_token * b +
         attention_flops_per_token_pair * b * (static_cast<double>(depth) * b + (b + 1) / 2);
}

}  // namespace kvsim
