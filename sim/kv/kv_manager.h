// KV memory of one GPU under a KV layout, and the request-level operations schedulers use on it: reserve memory
// for a step, settle after it (windows slide, budgets evict), free, preempt by recompute or by swap to host.
//
// Accounting (kv-strategies.md §6 rule 7): each layout group allocates whole pages of `block_size` tokens; a page of
// group g costs layout.page_layer_bytes(g) per cache layer; a request also holds its groups' fixed bytes (low-rank bases,
// 16-bit residual windows) from its first step. Offloaded parts of the KV (ShadowKV values) are held in host memory.
// All byte counts are integers, so the accounting is exact.
//
// Prefix caching (vLLM v1 automatic prefix caching; sim/kv/prefix_cache.h, sim/README.md): the full blocks of a
// prompt that has content ids join a cache of identified blocks as they are computed; a waiting request that finds
// the first blocks of its prompt cached starts with them computed and references them instead of allocating them.
// A block then costs its bytes once, however many requests share it; released blocks stay cached and count as free
// memory until evicted to make room. A request's own `device_bytes` are what it holds alone (its uncached pages and
// fixed bytes); `used_bytes()` adds the referenced cached blocks once each. Modelled for layouts whose groups keep
// every token, or a sliding window of them, on the device (prefix_caching_support()).
//
// Sliding-window layers (vLLM's hybrid allocator, single_type_kv_cache_manager.py SlidingWindowManager): the layers
// of one window size form a class whose blocks are cached apart from the full-attention layers' blocks, one per
// block position without a parent rule, and hold whole blocks (KvGroup::block_table): a block leaves the window, and
// its reference is released, once all its tokens are out of it. A hit ends where the full-attention blocks are
// cached and each window class has the ceil((window - 1) / block_size) blocks before it cached (or every block from
// the start), the largest such end (vLLM's right-to-left search); its window blocks before those are not needed.
//
// Contract: reserve() is all-or-nothing. After settle(), a request holds exactly the pages its held tokens need.
// check_invariants() verifies that the pool's counters equal the sum over requests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/kv/kv_layout.h"
#include "sim/kv/chunk_store.h"
#include "sim/kv/prefix_cache.h"
#include "sim/kv/tiers.h"
#include "sim/request/request.h"

namespace kvsim {

enum class PreemptionMode : std::uint8_t { kRecompute, kSwap };
// Whose prefix-cache semantics (sim/README.md): vLLM v1's (a block computed twice stays private to the second
// request) or SGLang's radix cache (the cached copy replaces it and the request's page is freed).
enum class PrefixCacheMode : std::uint8_t { kVllm, kSglang };

// What prefix caching uses (all optional but `enabled`).
struct PrefixCacheOptions {
  bool enabled = false;                       // vLLM v1 automatic prefix caching (or SGLang's, by `mode`)
  PrefixCacheMode mode = PrefixCacheMode::kVllm;
  std::unique_ptr<EvictionPolicy> eviction;   // which cached block leaves first; null: LRU, as vLLM
  std::unique_ptr<KvTiers> tiers;             // copies of cached blocks below the GPU (sim/kv/tiers.h)
  std::unique_ptr<ChunkStore> chunks;         // non-prefix chunk reuse (sim/kv/chunk_store.h)
};

class KvManager {
 public:
  // `capacity_bytes`: device KV memory; `host_kv_bytes`: host memory for offloaded KV; `swap_bytes`: host swap space.
  // Prefix caching needs a layout prefix_caching_support() accepts and recompute preemption; tiers and chunk reuse
  // need prefix caching.
  KvManager(const KvLayout& layout, std::int64_t capacity_bytes, std::int64_t host_kv_bytes,
            std::int64_t swap_bytes, PreemptionMode mode, PrefixCacheOptions prefix = {});

  // Why prefix caching is not modelled for `layout` with these options (a window with attention sinks or a dense
  // prefill, KV kept in host memory; sliding windows with SGLang's mode, tiers or chunk reuse), or nothing if it is.
  struct CachingChoice {
    PrefixCacheMode mode = PrefixCacheMode::kVllm;
    bool tiers = false, chunks = false;
  };
  static std::optional<std::string> prefix_caching_support(const KvLayout& layout, const CachingChoice& choice);
  // Whether a request's KV under `layout` is its prompt's, block for block, so that other requests can share it:
  // false when a group evicts prompt tokens by importance (SnapKV, PyramidKV, PrefixKV, H2O, Keyformer). Prefix
  // caching then looks up and registers nothing (every lookup misses).
  static bool prefix_shareable(const KvLayout& layout);

  // Prefix caching: for the waiting request about to be admitted (nothing computed, no memory), the longest run of
  // its prompt's first blocks that is cached, as in vLLM at most (known tokens - 1) / block_size blocks so that the
  // last token is computed. Sets r.computed to the tokens they hold; the next reserve() of `r` references them.
  // forget_prefix() undoes it when `r` is not admitted after all. No effect without prefix caching.
  void match_prefix(Request& r);
  void forget_prefix(Request& r);
  // For reuse-aware admission, without side effects on the cache: the tokens of `r`'s prompt cached on the GPU now
  // (whole blocks, as match_prefix() would find them), and the identity of its prompt's first block (0 if it has no
  // full block with content, or without prefix caching).
  TokenCount cached_prefix_tokens(Request& r);
  std::uint64_t first_block_key(Request& r);

  // Ensures `r` holds memory for a step that computes `chunk` more tokens. False (nothing allocated) if it does
  // not fit.
  bool reserve(Request& r, TokenCount chunk);
  // The device bytes a request holding nothing (waiting) needs for a step computing `chunk` tokens, its cached
  // prefix not counted (an upper bound), for policies that preempt to make room for it.
  std::int64_t step_bytes_from_nothing(const Request& r, TokenCount chunk) const;
  // Shrinks `r` to what its held tokens need now; call after its computed count advanced by `chunk`.
  void settle(Request& r, TokenCount chunk);
  // Returns all of `r`'s device and host KV memory.
  void free(Request& r);
  // free() for a request that finished; with tiers offloading finished requests, first writes its cached prompt
  // blocks to the first tier.
  void finish(Request& r);
  // Returns everything an aborted request holds, whatever its state: device and host KV, cached blocks (they stay
  // cached), swap space, a pending prefix match.
  void abort(Request& r);

  // Preempts a running request: by swap if the mode is swap and the swap space has room, else by recompute.
  // Returns the bytes copied to the host (0 for recompute). Sets r.state to kSwapped or kWaiting.
  double preempt(Request& r, TokenCount& recomputed_tokens);
  // A swapped request resumes only if its pages and one more page per group fit, so that its next step does not
  // immediately preempt it again.
  bool can_swap_in(const Request& r) const { return r.swapped_bytes + block_bytes_ <= free_bytes(); }
  double swap_in(Request& r);

  // The most device and host KV memory a request of `prompt` tokens can hold on its way to `total_tokens` tokens,
  // for admission checks (KvLayout::peak_footprint, the rule `kvsim kv-size` reports too).
  using Footprint = KvLayout::Footprint;
  Footprint peak_footprint(TokenCount prompt, TokenCount total_tokens, const KvLayout::PrefillSteps& steps) const {
    return layout_.peak_footprint(prompt, total_tokens, steps);
  }

  const KvLayout& layout() const { return layout_; }
  std::int64_t capacity_bytes() const { return capacity_; }
  // Device bytes requests use (cached blocks nobody references excluded: they count as free, as in vLLM).
  std::int64_t used_bytes() const { return used_; }
  // Device bytes of `r`'s KV, the cached blocks it shares included (what moving its KV elsewhere carries).
  std::int64_t held_bytes(const Request& r) const { return cache_ ? r.device_bytes + shared_bytes(r) : r.device_bytes; }
  std::int64_t free_bytes() const { return capacity_ - used_; }
  std::int64_t host_kv_capacity_bytes() const { return host_capacity_; }
  std::int64_t host_kv_used_bytes() const { return host_used_; }
  std::int64_t swap_used_bytes() const { return swap_used_; }
  std::int64_t swap_capacity_bytes() const { return swap_capacity_; }
  PreemptionMode mode() const { return mode_; }

  // Prefix-cache counters, recorded at admission (a lookup whose admission fails is not counted) and, as vLLM's
  // PrefixCacheStats, apart for requests resumed after preemption (their lookups are not in the hit rate).
  struct PrefixStats {
    bool enabled = false;                // prefix caching is on
    std::int64_t lookups = 0;            // first admissions
    TokenCount lookup_tokens = 0;        // their prompt tokens
    TokenCount hit_tokens = 0;           // of those, tokens found cached on the GPU (not computed)
    TokenCount tier_hit_tokens = 0;      // and tokens found in a lower tier (loaded, not computed)
    TokenCount chunk_reused_tokens = 0;  // and stored chunks' tokens loaded (chunk reuse; part recomputed)
    TokenCount chunk_recomputed_tokens = 0;
    std::int64_t hit_blocks = 0;
    std::int64_t preempted_lookups = 0;  // admissions of requests resumed after preemption
    TokenCount preempted_lookup_tokens = 0, preempted_hit_tokens = 0;  // their known tokens, and found cached
    std::int64_t registered_blocks = 0;  // blocks computed and added to the cache (every block class)
    // Computed again and replaced by the cached copy: in sglang mode always, in vLLM mode when nobody used the
    // cached copy (vLLM caches both, one of them free: the same bytes in use).
    std::int64_t deduplicated_blocks = 0;
    std::int64_t evicted_blocks = 0, cached_blocks = 0;  // so far, and cached now
    // Sums another pool's counters into these (a cluster's replicas).
    PrefixStats& operator+=(const PrefixStats& b) {
      enabled = enabled || b.enabled;
      lookups += b.lookups;
      lookup_tokens += b.lookup_tokens;
      hit_tokens += b.hit_tokens;
      tier_hit_tokens += b.tier_hit_tokens;
      chunk_reused_tokens += b.chunk_reused_tokens;
      chunk_recomputed_tokens += b.chunk_recomputed_tokens;
      hit_blocks += b.hit_blocks;
      preempted_lookups += b.preempted_lookups;
      preempted_lookup_tokens += b.preempted_lookup_tokens;
      preempted_hit_tokens += b.preempted_hit_tokens;
      registered_blocks += b.registered_blocks;
      deduplicated_blocks += b.deduplicated_blocks;
      evicted_blocks += b.evicted_blocks;
      cached_blocks += b.cached_blocks;
      return *this;
    }
  };
  PrefixStats prefix_stats() const;

  // Tiers below the GPU and the chunk store (null without), and the bytes they moved since clear_tier_traffic().
  const KvTiers* tiers() const { return tiers_.get(); }
  const ChunkStore* chunk_store() const { return chunks_.get(); }
  void clear_tier_traffic() {
    if (tiers_) tiers_->clear_traffic();
    if (chunks_) chunks_->clear_traffic();
  }

  // Throws std::logic_error unless the counters equal the sums over `requests` (every request holding memory).
  void check_invariants(const std::vector<const Request*>& requests) const;

 private:
  // Device bytes and host bytes `r` needs with `held[g]` tokens per group.
  void need(const Request& r, TokenCount computed, TokenCount chunk, std::vector<std::int64_t>& pages,
            std::int64_t& device, std::int64_t& host) const;
  void apply(Request& r, const std::vector<std::int64_t>& pages, std::int64_t device, std::int64_t host);
  // Host bytes of offloaded KV `r` needs while a step computes `chunk` tokens on top of `computed`.
  std::int64_t host_need(const Request& r, TokenCount computed, TokenCount chunk) const {
    return has_host() ? layout_.host_bytes(r.prompt_tokens, computed, chunk) : 0;
  }

  // Sliding-window layers with prefix caching: one class of cached blocks per window size (see the top).
  struct WindowClass {
    TokenCount window = 0;         // tokens
    std::uint8_t cls = 1;          // its PrefixCache block class
    std::size_t span = 0;          // blocks a hit needs cached before its end: ceil((window - 1) / block_size)
    std::int64_t block_bytes = 0;  // one block across the class's cache layers
  };
  // A window class's identity for a block of a prompt (the full-attention class's is the block's hash).
  static std::uint64_t window_key(std::uint64_t hash, std::uint8_t cls);

  // Bytes of the cached blocks `r` references (counted once, in the cache), and the device bytes it holds alone
  // with `pages`.
  std::int64_t shared_bytes(const Request& r) const {
    const auto full = static_cast<std::int64_t>(r.blocks.size() - r.duplicate_blocks) * full_block_bytes_;
    return windows_.empty() ? full : full + window_shared_bytes(r);
  }
  std::int64_t window_shared_bytes(const Request& r) const;
  std::int64_t own_bytes(const Request& r, std::span<const std::int64_t> pages) const {
    return layout_.device_bytes(pages) - shared_bytes(r);
  }
  // Cached blocks nobody references, in bytes (they count as free memory).
  std::int64_t cached_free_bytes() const;
  // settle() with prefix caching: registers the blocks `r` completed, stores its chunks after its prefill, slides
  // its windows. True if its pages must be recomputed (block-table windows change at any step).
  bool settle_prefix(Request& r);
  // The largest hit end k <= `limit` blocks at which window class `w` has what it needs cached (see the top).
  std::size_t window_hit(const WindowClass& w, std::span<const std::uint64_t> hashes, std::size_t limit) const;
  // The hit end of every class together: the largest k <= `full` (the full-attention hit) that every window class
  // accepts.
  std::size_t hybrid_hit(std::span<const std::uint64_t> hashes, std::size_t full) const;
  // Registers the window blocks `r` completed and releases the ones that left its windows.
  void slide_windows(Request& r);
  // reserve() for the request match_prefix() found cached blocks for: it references them from now on (`reused`
  // bytes of them nobody referenced stop counting as free), loads its tier and chunk hits, counts the lookup.
  void adopt_pending(Request& r, std::int64_t reused);
  // References the pending hit's window blocks for `r` (admission), a hit of `k` blocks.
  void adopt_windows(Request& r, std::size_t k);
  void release_windows(Request& r);
  // The most blocks a lookup for `r` may find: (known tokens - 1) / block_size, so that the last token is computed.
  std::size_t hit_limit(const Request& r) const {
    return static_cast<std::size_t>((r.known_tokens() - 1) / layout_.block_size);
  }
  // Fills r.block_hashes (its prompt's full engine blocks' identities) if not done yet.
  void ensure_block_hashes(Request& r) const;
  // Adds the prompt blocks `r` has computed since its last step to the cache; where a block has their identity
  // already, `r` continues its chain on that block.
  void register_blocks(Request& r);
  // Evicts cached blocks nobody references until used and cached bytes fit the capacity again.
  void make_room();

  KvLayout layout_;
  PreemptionMode mode_;
  std::unique_ptr<PrefixCache> cache_;  // null without prefix caching
  bool shareable_ = true;               // prefix_shareable(layout_)
  bool dedup_ = false;                  // PrefixCacheMode::kSglang
  std::int64_t block_bytes_ = 0;        // KvLayout::block_bytes(): the growth margin of a swap-in
  std::int64_t full_block_bytes_ = 0;   // a cached block of the full-attention class (block_bytes_ without windows)
  std::vector<WindowClass> windows_;    // with prefix caching, one per sliding-window size
  bool full_class_ = true;              // some layers keep every token (else the windows alone decide a hit)
  // The cached blocks match_prefix() found for a waiting request, kept across its failed admissions (the next match
  // revalidates them instead of looking them up again).
  std::vector<BlockId> pending_;
  std::vector<std::uint8_t> pending_tiers_;  // the tier of each block found below the GPU, after pending_
  std::vector<std::vector<BlockId>> pending_windows_;  // per window class, the hit's last window blocks
  std::size_t pending_hit_ = 0;            // blocks of the pending hit on the GPU (pending_.size() but without
                                           // full-attention layers)
  std::int64_t pending_shared_bytes_ = 0;  // the pending blocks' bytes
  std::int64_t pending_reused_bytes_ = 0;  // of those, cached blocks nobody references now (they count as free)
  std::unique_ptr<KvTiers> tiers_;
  std::unique_ptr<ChunkStore> chunks_;
  TokenCount pending_chunk_tokens_ = 0;  // stored chunk tokens match_prefix() found for the pending request
  std::vector<PrefixCache::Evicted> evicted_;  // scratch: blocks the GPU evicts, for demotion
  std::vector<BlockId> peek_;                  // scratch: cached_prefix_tokens()
  std::vector<BlockId> released_;              // scratch: window blocks a slide releases
  RequestId pending_id_ = -1;
  const Request* pending_for_ = nullptr;  // set between match_prefix() and reserve() / forget_prefix()
  PrefixStats prefix_stats_;
  bool has_host() const { return !layout_.host_groups_.empty(); }  // some group keeps KV in host memory
  std::int64_t capacity_, host_capacity_, swap_capacity_;
  std::int64_t used_ = 0, host_used_ = 0, swap_used_ = 0;
  std::vector<std::int64_t> used_pages_;  // per group
  mutable std::vector<std::int64_t> scratch_pages_;
};

}  // namespace kvsim
