// KV memory under a layout (see kv_manager.h).
#include "sim/kv/kv_manager.h"

#include "sim/kv/block_hash.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace kvsim {

KvManager::KvManager(const KvLayout& layout, std::int64_t capacity_bytes, std::int64_t host_kv_bytes,
                     std::int64_t swap_bytes, PreemptionMode mode, PrefixCacheOptions prefix)
    : layout_(layout),
      mode_(mode),
      capacity_(capacity_bytes),
      host_capacity_(host_kv_bytes),
      swap_capacity_(swap_bytes),
      used_pages_(layout.groups.size(), 0) {
  layout_.prepare();
  block_bytes_ = layout_.block_bytes();
  if (prefix.enabled) {
    if (auto why = prefix_caching_support(layout_)) throw std::logic_error("prefix caching: " + *why);
    if (mode_ != PreemptionMode::kRecompute) throw std::logic_error("prefix caching needs recompute preemption");
    cache_ = std::make_unique<PrefixCache>(std::move(prefix.eviction));
    shareable_ = prefix_shareable(layout_);
    dedup_ = prefix.mode == PrefixCacheMode::kSglang;
    tiers_ = std::move(prefix.tiers);
    chunks_ = std::move(prefix.chunks);
  } else if (prefix.tiers || prefix.chunks) {
    throw std::logic_error("memory tiers and chunk reuse need prefix caching");
  }
}

bool KvManager::prefix_shareable(const KvLayout& layout) {
  for (const KvGroup& g : layout.groups) {
    if (g.retention != Retention::kAll) return false;
  }
  return true;
}

std::optional<std::string> KvManager::prefix_caching_support(const KvLayout& layout) {
  for (const KvGroup& g : layout.groups) {
    if (g.retention == Retention::kWindow || g.retention == Retention::kOutsideWindow) {
      return "layer group '" + g.name + "' keeps " + std::string(retention_name(g.retention)) +
             " tokens, not every token; prefix caching with sliding windows (vLLM's hybrid allocator) is not "
             "modelled yet";
    }
    if (g.host_bytes_per_token() > 0) {
      return "layer group '" + g.name + "' keeps KV in host memory; prefix caching is modelled for KV on the device";
    }
  }
  return std::nullopt;
}

KvManager::PrefixStats KvManager::prefix_stats() const {
  PrefixStats s = prefix_stats_;
  s.enabled = cache_ != nullptr;
  if (cache_) {
    s.evicted_blocks = cache_->evictions();
    s.cached_blocks = static_cast<std::int64_t>(cache_->cached());
  }
  return s;
}

void KvManager::need(const Request& r, TokenCount computed, TokenCount chunk, std::vector<std::int64_t>& pages,
                     std::int64_t& device, std::int64_t& host) const {
  pages.resize(layout_.groups.size());
  layout_.step_pages(r.prompt_tokens, computed, chunk, pages);
  device = own_bytes(r.blocks.size(), pages);
  host = host_need(r, computed, chunk);
}

void KvManager::match_prefix(Request& r) {
  if (!cache_) return;
  if (pending_id_ != r.id) pending_.clear();
  pending_id_ = r.id;
  pending_unreferenced_ = 0;
  pending_tiers_.clear();
  pending_chunk_tokens_ = 0;
  pending_for_ = &r;
  // Nothing to find (but its admission counts as a lookup): KV that is not the prompt's.
  if (!shareable_) return;
  if (!r.content_ids.empty()) {
    ensure_block_hashes(r);
    const std::size_t limit = hit_limit(r);
    pending_unreferenced_ = cache_->match(r.block_hashes, limit, pending_);
    if (tiers_) {
      const std::span<const std::uint64_t> rest = std::span(r.block_hashes).subspan(pending_.size());
      tiers_->match(rest, limit - pending_.size(), pending_tiers_);
    }
  }
  r.computed = static_cast<TokenCount>(pending_.size() + pending_tiers_.size()) * layout_.block_size;
  if (chunks_ && !r.chunks.empty()) {
    // Stored chunks after the prefix hit: their tokens count as computed but for the recomputed fraction.
    pending_chunk_tokens_ = chunks_->lookup(r.chunks, r.computed, false);
    const auto skipped = static_cast<TokenCount>(static_cast<double>(pending_chunk_tokens_) *
                                                 (1.0 - chunks_->recompute_fraction()));
    r.computed = std::min(r.computed + skipped, r.known_tokens() - 1);
  }
}

void KvManager::ensure_block_hashes(Request& r) const {
  if (r.block_hashes.empty()) {
    const TokenCount covered = r.content_tokens > 0 ? r.content_tokens : r.prompt_tokens;
    prompt_block_hashes(r.content_ids, r.content_block_tokens, covered, layout_.block_size, r.block_hashes);
  }
}

TokenCount KvManager::cached_prefix_tokens(Request& r) {
  if (!cache_ || !shareable_ || r.content_ids.empty()) return 0;
  ensure_block_hashes(r);
  peek_.clear();
  cache_->match(r.block_hashes, hit_limit(r), peek_);
  return static_cast<TokenCount>(peek_.size()) * layout_.block_size;
}

std::uint64_t KvManager::first_block_key(Request& r) {
  if (!cache_ || !shareable_ || r.content_ids.empty()) return 0;
  ensure_block_hashes(r);
  return r.block_hashes.empty() ? 0 : r.block_hashes.front();
}

void KvManager::forget_prefix(Request& r) {
  if (pending_for_ != &r) return;
  pending_for_ = nullptr;  // pending_ stays, for the next attempt of the same request
  r.computed = 0;
}

void KvManager::register_blocks(Request& r) {
  const auto full = std::min(static_cast<std::size_t>(r.computed / layout_.block_size), r.block_hashes.size());
  while (r.blocks.size() < full) {
    const BlockId parent = r.blocks.empty() ? PrefixCache::kNone : r.blocks.back();
    const std::uint64_t hash = r.block_hashes[r.blocks.size()];
    const BlockId b = cache_->insert(hash, parent);
    if (b == PrefixCache::kNone) {  // another request cached this block first
      if (!dedup_) {  // vLLM: this one stays the request's own, and so do its later blocks
        r.registering = false;
        return;
      }
      // SGLang: the cached copy replaces the request's, whose page is freed, and registering goes on.
      const BlockId existing = cache_->find(hash);
      const bool was_free = cache_->refs(existing) == 0;
      const BlockId one[] = {existing};
      cache_->acquire(one);
      used_ -= was_free ? 0 : block_bytes_;
      r.device_bytes -= block_bytes_;
      r.blocks.push_back(existing);
      prefix_stats_.deduplicated_blocks++;
      continue;
    }
    r.blocks.push_back(b);
    r.device_bytes -= block_bytes_;  // now counted once, in the cache (used_ is unchanged)
    prefix_stats_.registered_blocks++;
  }
}

void KvManager::settle_prefix(Request& r) {
  if (shareable_ && r.registering && r.blocks.size() < r.block_hashes.size()) register_blocks(r);
  if (chunks_ && !r.chunks_stored && !r.chunks.empty() && r.computed >= r.prompt_tokens) {
    chunks_->store(r.chunks);  // its prefill is done: the chunks' KV is written to the store
    r.chunks_stored = true;
  }
}

void KvManager::make_room() {
  const std::int64_t over = used_ + static_cast<std::int64_t>(cache_->unreferenced()) * block_bytes_ - capacity_;
  if (over <= 0) return;
  const auto count = static_cast<std::size_t>((over + block_bytes_ - 1) / block_bytes_);
  if (tiers_ && tiers_->offload() == TierOffload::kEvicted) {
    evicted_.clear();
    cache_->evict(count, &evicted_);
    tiers_->store(evicted_);
  } else {
    cache_->evict(count);
  }
}

void KvManager::apply(Request& r, const std::vector<std::int64_t>& pages, std::int64_t device, std::int64_t host) {
  if (r.pages.size() != pages.size()) r.pages.assign(pages.size(), 0);
  for (std::size_t g = 0; g < pages.size(); ++g) {
    used_pages_[g] += pages[g] - r.pages[g];
    r.pages[g] = pages[g];
  }
  used_ += device - r.device_bytes;
  host_used_ += host - r.host_bytes;
  r.device_bytes = device;
  r.host_bytes = host;
}

bool KvManager::reserve(Request& r, TokenCount chunk) {
  const std::size_t n = layout_.groups.size();
  scratch_pages_.resize(n);
  bool grows = r.pages.size() != n;
  if (r.computed < r.prompt_tokens) {
    // A prefill step, which may complete a compressed prompt (one layer of the model holds it whole).
    layout_.step_pages(r.prompt_tokens, r.computed, chunk, scratch_pages_);
    for (std::size_t g = 0; g < n && !grows; ++g) grows = scratch_pages_[g] > r.pages[g];
  } else {
    // The hot path, every running request at every step: each group on its own.
    for (std::size_t g = 0; g < n; ++g) {
      scratch_pages_[g] = layout_.groups[g].pages_sum(r.prompt_tokens, r.computed, chunk, layout_.block_size);
      if (!grows && scratch_pages_[g] > r.pages[g]) grows = true;
    }
  }
  // Most decode steps stay within the request's last pages (and host bytes): nothing to allocate.
  if (!grows && !has_host()) return true;
  const std::int64_t host = std::max(host_need(r, r.computed, chunk), r.host_bytes);
  if (!grows && host == r.host_bytes) return true;
  // A request admitted with cached blocks (match_prefix) references them from now on; the ones nobody referenced
  // stop counting as free.
  const bool adopt = cache_ && pending_for_ == &r && r.blocks.empty();
  const std::int64_t reused = adopt ? static_cast<std::int64_t>(pending_unreferenced_) * block_bytes_ : 0;
  // own_bytes() of the pages, in the same pass that keeps them from shrinking while reserving (pages a step frees
  // are returned by settle() after it): this runs for every request whose memory grows, at every step.
  std::int64_t device = -static_cast<std::int64_t>(adopt ? pending_.size() : r.blocks.size()) * block_bytes_;
  for (std::size_t g = 0; g < n; ++g) {
    if (!r.pages.empty()) scratch_pages_[g] = std::max(scratch_pages_[g], r.pages[g]);
    device += layout_.group_device_bytes(g, scratch_pages_[g]);
  }
  if (device - r.device_bytes + reused > free_bytes() || host - r.host_bytes > host_capacity_ - host_used_) {
    return false;
  }
  if (adopt) {
    cache_->acquire(pending_);
    used_ += reused;
    r.blocks = pending_;
    const TokenCount gpu_hit = static_cast<TokenCount>(pending_.size()) * layout_.block_size;
    if (tiers_ && !pending_tiers_.empty()) {
      tiers_->load(std::span(r.block_hashes).subspan(pending_.size(), pending_tiers_.size()), pending_tiers_);
    }
    TokenCount chunk_skipped = 0;
    if (pending_chunk_tokens_ > 0) {
      const TokenCount prefix_hit = static_cast<TokenCount>(pending_.size() + pending_tiers_.size()) * layout_.block_size;
      chunks_->lookup(r.chunks, prefix_hit, true);
      chunk_skipped = r.computed - prefix_hit;
      prefix_stats_.chunk_reused_tokens += pending_chunk_tokens_;
      prefix_stats_.chunk_recomputed_tokens += pending_chunk_tokens_ - chunk_skipped;
    }
    if (r.preemptions == 0) {
      prefix_stats_.lookups++;
      prefix_stats_.lookup_tokens += r.known_tokens();
      prefix_stats_.hit_tokens += gpu_hit;
      prefix_stats_.tier_hit_tokens += r.computed - chunk_skipped - gpu_hit;
      prefix_stats_.hit_blocks += static_cast<std::int64_t>(pending_.size());
    } else {
      prefix_stats_.preempted_lookups++;
      prefix_stats_.preempted_lookup_tokens += r.known_tokens();
      prefix_stats_.preempted_hit_tokens += r.computed;
    }
    pending_for_ = nullptr;
    pending_.clear();
    pending_id_ = -1;
  }
  apply(r, scratch_pages_, device, host);
  if (cache_) make_room();
  return true;
}

void KvManager::settle(Request& r, TokenCount chunk) {
  if (cache_) [[unlikely]] settle_prefix(r);
  // After a decode step a request holds exactly what reserve() gave it (KvGroup::held_during): nothing to return.
  if (chunk == 1 && r.computed - 1 >= r.prompt_tokens) return;
  std::int64_t device, host;
  need(r, r.computed, 0, scratch_pages_, device, host);
  apply(r, scratch_pages_, device, host);
}

void KvManager::free(Request& r) {
  scratch_pages_.assign(layout_.groups.size(), 0);
  apply(r, scratch_pages_, 0, 0);
  if (cache_) {
    // Its cached blocks stay cached, released last block first, so the last is evicted first (vLLM's free queue).
    used_ -= static_cast<std::int64_t>(cache_->release(r.blocks)) * block_bytes_;
    r.blocks.clear();
    r.registering = true;
  }
}

void KvManager::finish(Request& r) {
  if (tiers_ && tiers_->offload() == TierOffload::kFinished && !r.blocks.empty()) {
    evicted_.clear();
    for (std::size_t i = 0; i < r.blocks.size(); ++i) {
      evicted_.push_back({r.block_hashes[i], static_cast<std::int32_t>(i)});
    }
    tiers_->store(evicted_);
  }
  free(r);
}

double KvManager::preempt(Request& r, TokenCount& recomputed_tokens) {
  r.preemptions++;
  const std::int64_t bytes = r.device_bytes;
  if (mode_ == PreemptionMode::kSwap && swap_used_ + bytes <= swap_capacity_) {
    swap_used_ += bytes;
    r.swapped_bytes = bytes;
    r.swapped_pages = r.pages;
    free(r);
    r.state = RequestState::kSwapped;
    return static_cast<double>(bytes);
  }
  recomputed_tokens += r.computed;
  free(r);
  r.computed = 0;
  r.state = RequestState::kWaiting;
  return 0;
}

double KvManager::swap_in(Request& r) {
  const std::int64_t bytes = r.swapped_bytes;
  std::int64_t device, host;
  need(r, r.computed, 0, scratch_pages_, device, host);
  apply(r, r.swapped_pages, bytes, host);
  swap_used_ -= bytes;
  r.swapped_bytes = 0;
  r.state = RequestState::kRunning;
  return static_cast<double>(bytes);
}

void KvManager::check_invariants(const std::vector<const Request*>& requests) const {
  std::vector<std::int64_t> pages(layout_.groups.size(), 0);
  std::int64_t device = 0, host = 0;
  std::vector<const std::vector<BlockId>*> held;
  for (const Request* r : requests) {
    for (std::size_t g = 0; g < r->pages.size(); ++g) pages[g] += r->pages[g];
    device += r->device_bytes;
    host += r->host_bytes;
    held.push_back(&r->blocks);
    if (own_bytes(r->blocks.size(), r->pages) != r->device_bytes) {
      throw std::logic_error("KV: request " + std::to_string(r->id) + " bytes disagree with its pages");
    }
    for (std::size_t g = 0; g < r->pages.size(); ++g) {
      if (layout_.groups[g].pages_sum(r->prompt_tokens, r->computed, 0, layout_.block_size) > r->pages[g]) {
        throw std::logic_error("KV: request " + std::to_string(r->id) + " holds fewer pages than its tokens need");
      }
    }
  }
  if (pages != used_pages_) throw std::logic_error("KV: pages held by requests differ from the pool's count");
  if (cache_) {
    cache_->check_invariants(held);
    if (tiers_) tiers_->check_invariants();
    device += static_cast<std::int64_t>(cache_->referenced()) * block_bytes_;
    if (used_ + static_cast<std::int64_t>(cache_->unreferenced()) * block_bytes_ > capacity_) {
      throw std::logic_error("KV: used and cached blocks exceed the capacity");
    }
  }
  if (device != used_) throw std::logic_error("KV: device bytes held by requests differ from the pool's count");
  if (host != host_used_) throw std::logic_error("KV: host bytes held by requests differ from the pool's count");
  if (used_ > capacity_ || used_ < 0) throw std::logic_error("KV: used device bytes exceed capacity");
  if (host_used_ > host_capacity_) throw std::logic_error("KV: used host KV bytes exceed capacity");
  if (swap_used_ > swap_capacity_ || swap_used_ < 0) throw std::logic_error("KV: swap space over capacity");
}

}  // namespace kvsim
