// KV memory under a layout (see kv_manager.h).
#include "sim/kv/kv_manager.h"

#include "sim/core/hash_mix.h"
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
  block_bytes_ = full_block_bytes_ = layout_.block_bytes();
  if (prefix.enabled) {
    const CachingChoice choice{prefix.mode, prefix.tiers != nullptr, prefix.chunks != nullptr};
    if (auto why = prefix_caching_support(layout_, choice)) throw std::logic_error("prefix caching: " + *why);
    if (mode_ != PreemptionMode::kRecompute) throw std::logic_error("prefix caching needs recompute preemption");
    cache_ = std::make_unique<PrefixCache>(std::move(prefix.eviction));
    shareable_ = prefix_shareable(layout_);
    dedup_ = prefix.mode == PrefixCacheMode::kSglang;
    tiers_ = std::move(prefix.tiers);
    chunks_ = std::move(prefix.chunks);
    if (shareable_) {
      // One block class per window size; their groups hold whole blocks from now on.
      full_block_bytes_ = 0;
      for (std::size_t g = 0; g < layout_.groups.size(); ++g) {
        KvGroup& x = layout_.groups[g];
        const std::int64_t bytes = layout_.group_device_bytes(g, x.cache_layers) - layout_.fixed_device_bytes(g);
        if (x.retention != Retention::kWindow) {
          full_block_bytes_ += bytes;
          continue;
        }
        x.block_table = true;
        auto w = std::find_if(windows_.begin(), windows_.end(), [&](const WindowClass& c) { return c.window == x.window_tokens; });
        if (w == windows_.end()) {
          if (windows_.size() + 1 >= PrefixCache::kMaxClasses) throw std::logic_error("prefix caching: too many window sizes");
          const auto span = static_cast<std::size_t>((x.window_tokens - 1 + layout_.block_size - 1) / layout_.block_size);
          windows_.push_back({x.window_tokens, static_cast<std::uint8_t>(windows_.size() + 1), span, 0});
          w = windows_.end() - 1;
        }
        w->block_bytes += bytes;
      }
      pending_windows_.resize(windows_.size());
      full_class_ = full_block_bytes_ > 0;
    }
  } else if (prefix.tiers || prefix.chunks) {
    throw std::logic_error("memory tiers and chunk reuse need prefix caching");
  }
}

bool KvManager::prefix_shareable(const KvLayout& layout) {
  for (const KvGroup& g : layout.groups) {
    if (g.retention == Retention::kPromptBudget || g.retention == Retention::kTotalBudget) return false;
  }
  return true;
}

std::optional<std::string> KvManager::prefix_caching_support(const KvLayout& layout, const CachingChoice& choice) {
  bool windows = false;
  for (const KvGroup& g : layout.groups) {
    if (g.retention == Retention::kOutsideWindow) {
      return "layer group '" + g.name + "' keeps the tokens outside a window in memory units; prefix caching is "
             "modelled for layers that keep every token or a sliding window";
    }
    if (g.retention == Retention::kWindow) {
      if (g.sink_tokens > 0 || g.dense_prefill) {
        return "layer group '" + g.name + "' keeps a window with " +
               (g.sink_tokens > 0 ? "attention-sink tokens" : "a dense prefill (prefill=dense)") +
               "; prefix caching is modelled for sliding windows as vLLM's hybrid allocator keeps them (no sinks, "
               "prefill within the window: prefill=windowed)";
      }
      windows = true;
    }
    if (g.host_bytes_per_token() > 0) {
      return "layer group '" + g.name + "' keeps KV in host memory; prefix caching is modelled for KV on the device";
    }
  }
  if (windows && choice.mode == PrefixCacheMode::kSglang) {
    return "SGLang's mode is modelled for layouts without sliding-window layers (its SWA radix cache is not)";
  }
  if (windows && (choice.tiers || choice.chunks)) {
    return std::string(choice.tiers ? "memory tiers" : "chunk reuse") +
           " with sliding-window layers is not modelled (cached blocks of every class would need their own copies)";
  }
  return std::nullopt;
}

std::uint64_t KvManager::window_key(std::uint64_t hash, std::uint8_t cls) {
  return hashing::combine(hash, 0x57494e444f57ULL + cls);  // "WINDOW" + class
}

std::int64_t KvManager::window_shared_bytes(const Request& r) const {
  std::int64_t bytes = 0;
  for (std::size_t c = 0; c < r.window_blocks.size(); ++c) {
    bytes += static_cast<std::int64_t>(r.window_blocks[c].refs) * windows_[c].block_bytes;
  }
  return bytes;
}

std::int64_t KvManager::cached_free_bytes() const {
  std::int64_t bytes = static_cast<std::int64_t>(cache_->unreferenced(0)) * full_block_bytes_;
  for (const WindowClass& w : windows_) bytes += static_cast<std::int64_t>(cache_->unreferenced(w.cls)) * w.block_bytes;
  return bytes;
}

std::size_t KvManager::window_hit(const WindowClass& w, std::span<const std::uint64_t> hashes,
                                  std::size_t limit) const {
  // vLLM's SlidingWindowManager.find_longest_cache_hit: from the right, the first run of `span` cached blocks ends
  // the hit; without one, the run from the first block does.
  if (w.span == 0) return limit;
  std::size_t run = 0;
  for (std::size_t i = limit; i-- > 0;) {
    if (cache_->find(window_key(hashes[i], w.cls)) == PrefixCache::kNone) {
      run = 0;
    } else if (++run == w.span) {
      return i + w.span;
    }
  }
  return run;
}

std::size_t KvManager::hybrid_hit(std::span<const std::uint64_t> hashes, std::size_t full) const {
  // Each class may shorten the hit; a shorter end can fail another class's window, so repeat until every class
  // accepts it (vLLM's HybridKVCacheCoordinator).
  std::size_t k = full;
  for (bool changed = true; changed;) {
    changed = false;
    for (const WindowClass& w : windows_) {
      const std::size_t kw = window_hit(w, hashes, k);
      if (kw < k) {
        k = kw;
        changed = true;
      }
    }
  }
  return k;
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
  device = own_bytes(r, pages);
  host = host_need(r, computed, chunk);
}

void KvManager::match_prefix(Request& r) {
  if (!cache_) return;
  const bool again = pending_id_ == r.id;  // the head of the queue, looked up again while it waits
  if (!again) {
    cache_->unwatch();
    pending_.clear();
  }
  pending_id_ = r.id;
  pending_shared_bytes_ = pending_reused_bytes_ = 0;
  pending_hit_ = 0;
  for (std::vector<BlockId>& ids : pending_windows_) ids.clear();
  pending_tiers_.clear();
  pending_chunk_tokens_ = 0;
  pending_for_ = &r;
  // Nothing to find (but its admission counts as a lookup): KV that is not the prompt's.
  if (!shareable_) return;
  if (!r.content_ids.empty()) {
    ensure_block_hashes(r);
    const std::size_t limit = hit_limit(r);
    // Without full-attention layers (every layer a window) the windows alone decide.
    std::size_t unreferenced = full_class_ ? cache_->match_watched(r.block_hashes, limit, pending_, again) : 0;
    pending_hit_ = full_class_ ? pending_.size() : std::min(limit, r.block_hashes.size());
    if (!windows_.empty()) {
      const std::size_t k = pending_hit_ = hybrid_hit(r.block_hashes, pending_hit_);
      if (full_class_) cache_->truncate_watched(k);  // windows: looked up whole every time
      unreferenced = 0;
      for (const BlockId b : pending_) unreferenced += cache_->refs(b) == 0 ? 1 : 0;
      // The window blocks the hit needs: its last `span` (all of them if fewer).
      for (std::size_t c = 0; c < windows_.size(); ++c) {
        const WindowClass& w = windows_[c];
        for (std::size_t i = k - std::min(k, w.span); i < k; ++i) {
          const BlockId b = cache_->find(window_key(r.block_hashes[i], w.cls));
          pending_windows_[c].push_back(b);
          pending_shared_bytes_ += w.block_bytes;
          pending_reused_bytes_ += cache_->refs(b) == 0 ? w.block_bytes : 0;
        }
      }
    }
    pending_shared_bytes_ += static_cast<std::int64_t>(pending_.size()) * full_block_bytes_;
    pending_reused_bytes_ += static_cast<std::int64_t>(unreferenced) * full_block_bytes_;
    if (tiers_) {
      const std::span<const std::uint64_t> rest = std::span(r.block_hashes).subspan(pending_hit_);
      tiers_->match(rest, limit - pending_hit_, pending_tiers_);
    }
  }
  r.computed = static_cast<TokenCount>(pending_hit_ + pending_tiers_.size()) * layout_.block_size;
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
  if (full_class_) cache_->match(r.block_hashes, hit_limit(r), peek_);
  const std::size_t full = full_class_ ? peek_.size() : std::min(hit_limit(r), r.block_hashes.size());
  const std::size_t hit = windows_.empty() ? full : hybrid_hit(r.block_hashes, full);
  return static_cast<TokenCount>(hit) * layout_.block_size;
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
    if (b == PrefixCache::kNone) {
      // Another request cached this block first; the request's chain goes on through the cached copy, so that its
      // later blocks are cached too (vLLM caches duplicates as well, SGLang points the request at the tree's copy).
      const BlockId existing = cache_->find(hash);
      const bool in_use = cache_->refs(existing) > 0;
      const BlockId one[] = {existing};
      cache_->acquire(one);
      r.blocks.push_back(existing);
      if (in_use && !dedup_) {  // vLLM: both copies stay in use, the request's in its own pages
        r.duplicate_blocks++;
        continue;
      }
      // The cached copy replaces the request's, whose page is freed (vLLM: the bytes in use are the same, one of
      // its two copies being free).
      used_ -= in_use ? full_block_bytes_ : 0;
      r.device_bytes -= full_block_bytes_;
      prefix_stats_.deduplicated_blocks++;
      continue;
    }
    r.blocks.push_back(b);
    r.device_bytes -= full_block_bytes_;  // now counted once, in the cache (used_ is unchanged)
    prefix_stats_.registered_blocks++;
  }
}

bool KvManager::settle_prefix(Request& r) {
  if (full_class_ && shareable_ && r.blocks.size() < r.block_hashes.size()) register_blocks(r);
  if (chunks_ && !r.chunks_stored && !r.chunks.empty() && r.computed >= r.prompt_tokens) {
    chunks_->store(r.chunks);  // its prefill is done: the chunks' KV is written to the store
    r.chunks_stored = true;
  }
  if (windows_.empty()) return false;
  slide_windows(r);
  return true;
}

void KvManager::slide_windows(Request& r) {
  if (r.window_blocks.size() != windows_.size()) r.window_blocks.resize(windows_.size());
  const auto full = std::min(static_cast<std::size_t>(r.computed / layout_.block_size), r.block_hashes.size());
  for (std::size_t c = 0; c < windows_.size(); ++c) {
    const WindowClass& w = windows_[c];
    Request::WindowBlocks& wb = r.window_blocks[c];
    // The blocks it completed join the cache, each on its own (a window class has no chain). Where another request
    // cached the identity first, the request uses that copy if nobody does and keeps its own page otherwise.
    while (wb.at.size() < full) {
      const std::uint64_t key = window_key(r.block_hashes[wb.at.size()], w.cls);
      BlockId b = cache_->insert(key, PrefixCache::kNone, w.cls);
      if (b == PrefixCache::kNone) {
        b = cache_->find(key);
        if (cache_->refs(b) > 0) {
          wb.at.push_back(PrefixCache::kNone);
          continue;
        }
        const BlockId one[] = {b};
        cache_->acquire(one);
        prefix_stats_.deduplicated_blocks++;
      } else {
        prefix_stats_.registered_blocks++;
      }
      wb.at.push_back(b);
      wb.refs++;
      r.device_bytes -= w.block_bytes;  // counted once, in the cache
    }
    // The blocks whose every token left the window are released, the last first (vLLM's remove_skipped_blocks).
    const auto live = static_cast<std::size_t>(std::max<TokenCount>(0, r.computed - w.window + 1) / layout_.block_size);
    if (live <= wb.first) continue;
    released_.clear();
    for (std::size_t i = wb.first; i < std::min(live, wb.at.size()); ++i) {
      if (wb.at[i] == PrefixCache::kNone) continue;
      released_.push_back(wb.at[i]);
      wb.at[i] = PrefixCache::kNone;
    }
    wb.first = live;
    wb.refs -= released_.size();
    used_ -= static_cast<std::int64_t>(cache_->release(released_)) * w.block_bytes;
  }
}

void KvManager::adopt_windows(Request& r, std::size_t k) {
  r.window_blocks.resize(windows_.size());
  for (std::size_t c = 0; c < windows_.size(); ++c) {
    Request::WindowBlocks& wb = r.window_blocks[c];
    const std::vector<BlockId>& ids = pending_windows_[c];
    wb.first = k - ids.size();
    wb.at.assign(wb.first, PrefixCache::kNone);
    wb.at.insert(wb.at.end(), ids.begin(), ids.end());
    wb.refs = ids.size();
    cache_->acquire(ids);
  }
}

void KvManager::release_windows(Request& r) {
  for (std::size_t c = 0; c < r.window_blocks.size(); ++c) {
    Request::WindowBlocks& wb = r.window_blocks[c];
    released_.clear();
    for (std::size_t i = wb.first; i < wb.at.size(); ++i) {
      if (wb.at[i] != PrefixCache::kNone) released_.push_back(wb.at[i]);
    }
    used_ -= static_cast<std::int64_t>(cache_->release(released_)) * windows_[c].block_bytes;
    wb = {};
  }
}

void KvManager::make_room() {
  std::int64_t over = used_ + cached_free_bytes() - capacity_;
  if (over <= 0) return;
  if (!windows_.empty()) {
    // Blocks of several sizes in one eviction order: one victim at a time.
    while (over > 0) {
      evicted_.clear();
      cache_->evict(1, &evicted_);
      const std::uint8_t cls = evicted_.front().cls;
      over -= cls == 0 ? full_block_bytes_ : windows_[cls - 1].block_bytes;
    }
    return;
  }
  const auto count = static_cast<std::size_t>((over + full_block_bytes_ - 1) / full_block_bytes_);
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
  const std::int64_t reused = adopt ? pending_reused_bytes_ : 0;
  // own_bytes() of the pages, in the same pass that keeps them from shrinking while reserving (pages a step frees
  // are returned by settle() after it): this runs for every request whose memory grows, at every step.
  std::int64_t device = adopt ? -pending_shared_bytes_ : -shared_bytes(r);
  for (std::size_t g = 0; g < n; ++g) {
    if (!r.pages.empty()) scratch_pages_[g] = std::max(scratch_pages_[g], r.pages[g]);
    device += layout_.group_device_bytes(g, scratch_pages_[g]);
  }
  if (device - r.device_bytes + reused > free_bytes() || host - r.host_bytes > host_capacity_ - host_used_) {
    return false;
  }
  if (adopt) adopt_pending(r, reused);
  apply(r, scratch_pages_, device, host);
  if (cache_) make_room();
  return true;
}

std::int64_t KvManager::step_bytes_from_nothing(const Request& r, TokenCount chunk) const {
  std::vector<std::int64_t> pages(layout_.groups.size());
  layout_.step_pages(r.prompt_tokens, r.computed, chunk, pages);
  std::int64_t device = 0;
  for (std::size_t g = 0; g < pages.size(); ++g) device += layout_.group_device_bytes(g, pages[g]);
  return device;
}

void KvManager::adopt_pending(Request& r, std::int64_t reused) {
  cache_->acquire(pending_);
  used_ += reused;
  r.blocks = pending_;
  if (!windows_.empty()) adopt_windows(r, pending_hit_);
  const TokenCount gpu_hit = static_cast<TokenCount>(pending_hit_) * layout_.block_size;
  if (tiers_ && !pending_tiers_.empty()) {
    tiers_->load(std::span(r.block_hashes).subspan(pending_hit_, pending_tiers_.size()), pending_tiers_);
  }
  TokenCount chunk_skipped = 0;
  if (pending_chunk_tokens_ > 0) {
    const TokenCount prefix_hit = static_cast<TokenCount>(pending_hit_ + pending_tiers_.size()) * layout_.block_size;
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
    prefix_stats_.hit_blocks += static_cast<std::int64_t>(pending_hit_);
  } else {
    prefix_stats_.preempted_lookups++;
    prefix_stats_.preempted_lookup_tokens += r.known_tokens();
    prefix_stats_.preempted_hit_tokens += r.computed;
  }
  pending_for_ = nullptr;
  cache_->unwatch();
  pending_.clear();
  pending_id_ = -1;
}

void KvManager::settle(Request& r, TokenCount chunk) {
  bool recount = false;  // block-table windows change at any step
  if (cache_) [[unlikely]] recount = settle_prefix(r);
  // After a decode step a request holds exactly what reserve() gave it (KvGroup::held_during): nothing to return.
  if (chunk == 1 && r.computed - 1 >= r.prompt_tokens && !recount) return;
  std::int64_t device, host;
  need(r, r.computed, 0, scratch_pages_, device, host);
  apply(r, scratch_pages_, device, host);
}

void KvManager::free(Request& r) {
  scratch_pages_.assign(layout_.groups.size(), 0);
  apply(r, scratch_pages_, 0, 0);
  if (cache_) {
    // Its cached blocks stay cached, released last block first, so the last is evicted first (vLLM's free queue):
    // the full-attention layers' blocks, then each window's.
    used_ -= static_cast<std::int64_t>(cache_->release(r.blocks)) * full_block_bytes_;
    r.blocks.clear();
    r.duplicate_blocks = 0;
    if (!r.window_blocks.empty()) release_windows(r);
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

void KvManager::abort(Request& r) {
  forget_prefix(r);
  free(r);
  swap_used_ -= r.swapped_bytes;
  r.swapped_bytes = 0;
  r.swapped_pages.clear();
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
  std::vector<const std::vector<BlockId>*> held, loose;
  for (const Request* r : requests) {
    for (std::size_t g = 0; g < r->pages.size(); ++g) pages[g] += r->pages[g];
    device += r->device_bytes;
    host += r->host_bytes;
    held.push_back(&r->blocks);
    for (std::size_t c = 0; c < r->window_blocks.size(); ++c) {
      const Request::WindowBlocks& wb = r->window_blocks[c];
      loose.push_back(&wb.at);
      std::size_t refs = 0;
      for (std::size_t i = 0; i < wb.at.size(); ++i) {
        if (wb.at[i] == PrefixCache::kNone) continue;
        ++refs;
        if (i < wb.first) throw std::logic_error("KV: a request references a block that left its window");
        if (cache_->hash(wb.at[i]) != window_key(r->block_hashes[i], windows_[c].cls)) {
          throw std::logic_error("KV: a request's window block is not its prompt's");
        }
      }
      if (refs != wb.refs) throw std::logic_error("KV: a request's count of window blocks is wrong");
    }
    if (own_bytes(*r, r->pages) != r->device_bytes) {
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
    cache_->check_invariants(held, loose);
    if (tiers_) tiers_->check_invariants();
    device += static_cast<std::int64_t>(cache_->referenced(0)) * full_block_bytes_;
    for (const WindowClass& w : windows_) device += static_cast<std::int64_t>(cache_->referenced(w.cls)) * w.block_bytes;
    if (used_ + cached_free_bytes() > capacity_) {
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
