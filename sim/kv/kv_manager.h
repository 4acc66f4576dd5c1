// KV memory of one GPU under a KV layout, and the request-level operations schedulers use on it: reserve memory
// for a step, settle after it (windows slide, budgets evict), free, preempt by recompute or by swap to host.
//
// Accounting (kv-strategies.md §6 rule 7): each layout group allocates whole pages of `block_size` tokens; a page of
// group g costs layout.page_layer_bytes(g) per cache layer; a request also holds its groups' fixed bytes (low-rank bases,
// 16-bit residual windows) from its first step. Offloaded parts of the KV (ShadowKV values) are held in host memory.
// All byte counts are integers, so the accounting is exact.
//
// Contract: reserve() is all-or-nothing. After settle(), a request holds exactly the pages its held tokens need.
// check_invariants() verifies that the pool's counters equal the sum over requests.
#pragma once

#include <cstdint>
#include <vector>

#include "models/kv/kv_layout.h"
#include "sim/request/request.h"

namespace kvsim {

enum class PreemptionMode : std::uint8_t { kRecompute, kSwap };

class KvManager {
 public:
  // `capacity_bytes`: device KV memory; `host_kv_bytes`: host memory for offloaded KV; `swap_bytes`: host swap space.
  KvManager(const KvLayout& layout, std::int64_t capacity_bytes, std::int64_t host_kv_bytes,
            std::int64_t swap_bytes, PreemptionMode mode);

  // Ensures `r` holds memory for a step that computes `chunk` more tokens. False (nothing allocated) if it does
  // not fit.
  bool reserve(Request& r, TokenCount chunk);
  // Shrinks `r` to what its held tokens need now; call after its computed count advanced by `chunk`.
  void settle(Request& r, TokenCount chunk);
  // Returns all of `r`'s device and host KV memory.
  void free(Request& r);

  // Preempts a running request: by swap if the mode is swap and the swap space has room, else by recompute.
  // Returns the bytes copied to the host (0 for recompute). Sets r.state to kSwapped or kWaiting.
  double preempt(Request& r, TokenCount& recomputed_tokens);
  // A swapped request resumes only if its pages and one more page per group fit, so that its next step does not
  // immediately preempt it again.
  bool can_swap_in(const Request& r) const { return r.swapped_bytes + growth_margin_ <= free_bytes(); }
  double swap_in(Request& r);

  // The most device and host KV memory a request of `prompt` tokens can hold on its way to `total_tokens` tokens,
  // for admission checks (KvLayout::peak_footprint, the rule `kvsim kv-size` reports too).
  using Footprint = KvLayout::Footprint;
  Footprint peak_footprint(TokenCount prompt, TokenCount total_tokens, const KvLayout::PrefillSteps& steps) const {
    return layout_.peak_footprint(prompt, total_tokens, steps);
  }

  const KvLayout& layout() const { return layout_; }
  std::int64_t capacity_bytes() const { return capacity_; }
  std::int64_t used_bytes() const { return used_; }
  std::int64_t free_bytes() const { return capacity_ - used_; }
  std::int64_t host_kv_capacity_bytes() const { return host_capacity_; }
  std::int64_t host_kv_used_bytes() const { return host_used_; }
  std::int64_t swap_used_bytes() const { return swap_used_; }
  std::int64_t swap_capacity_bytes() const { return swap_capacity_; }
  PreemptionMode mode() const { return mode_; }

  // Throws std::logic_error unless the counters equal the sums over `requests` (every request holding memory).
  void check_invariants(const std::vector<const Request*>& requests) const;

 private:
  // Device bytes and host bytes `r` needs with `held[g]` tokens per group.
  void need(const Request& r, TokenCount computed, TokenCount chunk, std::vector<std::int64_t>& pages,
            std::int64_t& device, std::int64_t& host) const;
  void apply(Request& r, const std::vector<std::int64_t>& pages, std::int64_t device, std::int64_t host);
  // Host bytes of offloaded KV `r` needs while a step computes `chunk` tokens on top of `computed`.
  std::int64_t host_need(const Request& r, TokenCount computed, TokenCount chunk) const {
    return has_host_ ? layout_.host_bytes(r.prompt_tokens, computed, chunk) : 0;
  }

  KvLayout layout_;
  PreemptionMode mode_;
  bool has_host_ = false;           // some group keeps KV in host memory
  std::int64_t growth_margin_ = 0;  // one page of every group
  std::int64_t capacity_, host_capacity_, swap_capacity_;
  std::int64_t used_ = 0, host_used_ = 0, swap_used_ = 0;
  std::vector<std::int64_t> used_pages_;  // per group
  mutable std::vector<std::int64_t> scratch_pages_;
};

}  // namespace kvsim
