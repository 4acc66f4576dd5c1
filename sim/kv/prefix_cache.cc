// Cached KV blocks with identities (see prefix_cache.h).
#include "sim/kv/prefix_cache.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace kvsim {

std::size_t PrefixCache::match(std::span<const std::uint64_t> hashes, std::size_t limit,
                               std::vector<BlockId>& out) const {
  const std::size_t n = std::min(hashes.size(), limit);
  std::size_t keep = 0, unreferenced = 0;
  for (; keep < out.size() && keep < n; ++keep) {
    const Slot& s = slots_[out[keep]];
    if (!s.live || s.hash != hashes[keep]) break;
    unreferenced += s.refs == 0 ? 1 : 0;
  }
  out.resize(keep);
  for (std::size_t i = keep; i < n; ++i) {
    const BlockId b = index_.find(hashes[i]);
    if (b == HashIndex::kMissing) break;
    out.push_back(b);
    unreferenced += slots_[b].refs == 0 ? 1 : 0;
  }
  return unreferenced;
}

void PrefixCache::flag(BlockId b, std::size_t pos) {
  slots_[b].watch_pos = static_cast<std::int32_t>(pos);
  if (slots_[b].refs == 0) ++watched_unreferenced_;
}

void PrefixCache::unflag(BlockId b) {
  slots_[b].watch_pos = -1;
  if (slots_[b].refs == 0) --watched_unreferenced_;
}

std::size_t PrefixCache::match_watched(std::span<const std::uint64_t> hashes, std::size_t limit,
                                       std::vector<BlockId>& run, bool again) {
  if (!again || watched_ != &run) {
    unwatch();
    run.clear();
    watched_ = &run;
  }
  const std::size_t n = std::min(hashes.size(), limit);
  while (run.size() > n) {
    unflag(run.back());
    run.pop_back();
  }
  // The run is valid as it stands (an eviction would have cut it): only try to extend it.
  for (std::size_t i = run.size(); i < n; ++i) {
    const BlockId b = index_.find(hashes[i]);
    if (b == HashIndex::kMissing) break;
    flag(b, run.size());
    run.push_back(b);
  }
  return watched_unreferenced_;
}

void PrefixCache::truncate_watched(std::size_t n) {
  if (watched_ == nullptr) return;
  std::vector<BlockId>& run = *watched_;
  unwatch();
  if (run.size() > n) run.resize(n);
}

void PrefixCache::unwatch() {
  if (watched_ == nullptr) return;
  for (const BlockId b : *watched_) unflag(b);
  watched_ = nullptr;
}

PrefixCache::PrefixCache(std::unique_ptr<EvictionPolicy> policy) : policy_(std::move(policy)) {
  if (!policy_) {
    ParamReader none(nlohmann::json::object(), "");
    policy_ = eviction_policies().get("lru", "prefix cache").factory(none, EvictionContext{});
  }
  policy_->attach(this);
}

std::size_t PrefixCache::acquire(std::span<const BlockId> blocks) {
  std::size_t taken = 0;
  for (BlockId b : blocks) {
    if (slots_[b].refs++ == 0) {
      ++taken;
      class_unreferenced_[slots_[b].cls]--;
      if (slots_[b].watch_pos >= 0) --watched_unreferenced_;
    }
    policy_->acquired(b);
  }
  return taken;
}

BlockId PrefixCache::insert(std::uint64_t hash, BlockId parent, std::uint8_t cls) {
  if (cls >= kMaxClasses) throw std::logic_error("prefix cache: block class out of range");
  BlockId b;
  if (!free_slots_.empty()) {
    b = free_slots_.back();
    free_slots_.pop_back();
  } else {
    b = static_cast<BlockId>(slots_.size());
    slots_.emplace_back();
  }
  if (!index_.insert(hash, b)) {
    free_slots_.push_back(b);
    return kNone;
  }
  slots_[b] = Slot{hash, parent, 1, parent == kNone ? 0 : slots_[parent].depth + 1, 0, true, cls};
  if (parent != kNone) slots_[parent].children++;
  class_cached_[cls]++;
  policy_->inserted(b);
  return b;
}

std::size_t PrefixCache::release(std::span<const BlockId> chain) {
  std::size_t freed = 0;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const BlockId b = *it;
    if (--slots_[b].refs == 0) {
      ++freed;
      class_unreferenced_[slots_[b].cls]++;
      if (slots_[b].watch_pos >= 0) ++watched_unreferenced_;
      policy_->released(b);
    }
  }
  return freed;
}

BlockId PrefixCache::insert_detached(std::uint64_t hash, std::int32_t depth) {
  const BlockId b = insert(hash, kNone);
  if (b == kNone) return kNone;
  slots_[b].depth = depth;
  const BlockId chain[] = {b};
  release(chain);
  return b;
}

void PrefixCache::evict(std::size_t count, std::vector<Evicted>* victims) {
  if (count > unreferenced()) throw std::logic_error("prefix cache: eviction of more blocks than are unreferenced");
  for (std::size_t i = 0; i < count; ++i) {
    const BlockId b = policy_->evict_one();
    Slot& s = slots_[b];
    if (!s.live || !evictable(b)) throw std::logic_error("prefix cache: the policy evicted a block in use");
    if (s.watch_pos >= 0) {  // the watched run ends before it
      std::vector<BlockId>& run = *watched_;
      const auto pos = static_cast<std::size_t>(s.watch_pos);
      while (run.size() > pos) {
        unflag(run.back());
        run.pop_back();
      }
    }
    index_.erase(s.hash);
    s.live = false;
    if (victims != nullptr) victims->push_back({s.hash, s.depth, s.cls});
    class_cached_[s.cls]--;
    class_unreferenced_[s.cls]--;
    if (s.parent != kNone && --slots_[s.parent].children == 0) policy_->became_leaf(s.parent);
    free_slots_.push_back(b);
  }
  evictions_ += static_cast<std::int64_t>(count);
}

void PrefixCache::check_invariants(std::span<const std::vector<BlockId>* const> held,
                                   std::span<const std::vector<BlockId>* const> loose) const {
  const auto fail = [](const std::string& what) { throw std::logic_error("prefix cache: " + what); };
  std::vector<std::int32_t> refs(slots_.size(), 0);
  for (const std::vector<BlockId>* blocks : held) {
    for (std::size_t i = 0; i < blocks->size(); ++i) {
      const BlockId b = (*blocks)[i];
      if (b >= slots_.size() || !slots_[b].live) fail("a request holds a block that is not cached");
      if (slots_[b].parent != (i == 0 ? kNone : (*blocks)[i - 1])) fail("a request's blocks are not one chain");
      if (slots_[b].cls != 0) fail("a request's chain holds a window block");
      refs[b]++;
    }
  }
  for (const std::vector<BlockId>* blocks : loose) {
    for (const BlockId b : *blocks) {
      if (b == kNone) continue;
      if (b >= slots_.size() || !slots_[b].live) fail("a request holds a window block that is not cached");
      if (slots_[b].cls == 0 || slots_[b].parent != kNone) fail("a window block has a parent or no window class");
      refs[b]++;
    }
  }
  std::size_t live = 0, unreferenced = 0;
  std::array<std::size_t, kMaxClasses> by_class{}, unreferenced_by_class{};
  std::vector<std::uint32_t> children(slots_.size(), 0);
  for (BlockId b = 0; b < slots_.size(); ++b) {
    const Slot& s = slots_[b];
    if (!s.live) continue;
    ++live;
    if (s.refs != refs[b]) fail("block " + std::to_string(b) + " counts references nobody holds");
    by_class[s.cls]++;
    if (s.refs == 0) {
      ++unreferenced;
      unreferenced_by_class[s.cls]++;
    }
    if (index_.find(s.hash) != b) fail("a cached block is missing from the index");
    if (s.parent != kNone) {
      if (!slots_[s.parent].live) fail("a cached block's parent was evicted");
      if (s.refs > 0 && slots_[s.parent].refs == 0) fail("a referenced block's parent is unreferenced");
      if (s.depth != slots_[s.parent].depth + 1) fail("a block's depth is not its parent's plus one");
      children[s.parent]++;
    }
  }
  for (BlockId b = 0; b < slots_.size(); ++b) {
    if (slots_[b].live && slots_[b].children != children[b]) fail("a block's count of cached children is wrong");
  }
  if (live != index_.size()) fail("the index and the cached blocks disagree");
  if (unreferenced != this->unreferenced()) fail("the count of unreferenced blocks is wrong");
  std::size_t watched = 0, watched_unreferenced = 0;
  for (BlockId b = 0; b < slots_.size(); ++b) {
    if (slots_[b].watch_pos < 0) continue;
    ++watched;
    if (!slots_[b].live || watched_ == nullptr || static_cast<std::size_t>(slots_[b].watch_pos) >= watched_->size() ||
        (*watched_)[static_cast<std::size_t>(slots_[b].watch_pos)] != b) {
      fail("a watched block is not at its place in the watched run");
    }
    watched_unreferenced += slots_[b].refs == 0 ? 1 : 0;
  }
  if (watched_ != nullptr && watched != watched_->size()) fail("the watched run has unflagged blocks");
  if (watched_unreferenced != watched_unreferenced_) fail("the watched run's count of unreferenced blocks is wrong");
  if (by_class != class_cached_ || unreferenced_by_class != class_unreferenced_) fail("a block class's count is wrong");
  policy_->check_invariants();
}

}  // namespace kvsim
