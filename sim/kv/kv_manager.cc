// KV memory under a layout (see kv_manager.h).
#include "sim/kv/kv_manager.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace kvsim {

KvManager::KvManager(const KvLayout& layout, std::int64_t capacity_bytes, std::int64_t host_kv_bytes,
                     std::int64_t swap_bytes, PreemptionMode mode)
    : layout_(layout),
      mode_(mode),
      capacity_(capacity_bytes),
      host_capacity_(host_kv_bytes),
      swap_capacity_(swap_bytes),
      used_pages_(layout.groups.size(), 0) {
  layout_.prepare();
  for (std::size_t g = 0; g < layout_.groups.size(); ++g) {
    has_host_ = has_host_ || layout_.groups[g].host_bytes_per_token() > 0;
    // One more page in every cache layer.
    growth_margin_ += layout_.group_device_bytes(g, layout_.groups[g].cache_layers) - layout_.fixed_device_bytes(g);
  }
}

void KvManager::need(const Request& r, TokenCount computed, TokenCount chunk, std::vector<std::int64_t>& pages,
                     std::int64_t& device, std::int64_t& host) const {
  pages.resize(layout_.groups.size());
  layout_.step_pages(r.prompt_tokens, computed, chunk, pages);
  device = layout_.device_bytes(pages);
  host = host_need(r, computed, chunk);
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
  if (!grows && !has_host_) return true;
  const std::int64_t host = std::max(host_need(r, r.computed, chunk), r.host_bytes);
  if (!grows && host == r.host_bytes) return true;
  std::int64_t device = 0;
  for (std::size_t g = 0; g < n; ++g) {
    // Never shrink while reserving: pages a step frees are returned by settle() after it.
    if (!r.pages.empty()) scratch_pages_[g] = std::max(scratch_pages_[g], r.pages[g]);
    device += layout_.group_device_bytes(g, scratch_pages_[g]);
  }
  if (device - r.device_bytes > free_bytes() || host - r.host_bytes > host_capacity_ - host_used_) return false;
  apply(r, scratch_pages_, device, host);
  return true;
}

void KvManager::settle(Request& r, TokenCount chunk) {
  // After a decode step a request holds exactly what reserve() gave it (KvGroup::held_during): nothing to return.
  if (chunk == 1 && r.computed - 1 >= r.prompt_tokens) return;
  std::int64_t device, host;
  need(r, r.computed, 0, scratch_pages_, device, host);
  apply(r, scratch_pages_, device, host);
}

void KvManager::free(Request& r) {
  scratch_pages_.assign(layout_.groups.size(), 0);
  apply(r, scratch_pages_, 0, 0);
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
  for (const Request* r : requests) {
    for (std::size_t g = 0; g < r->pages.size(); ++g) pages[g] += r->pages[g];
    device += r->device_bytes;
    host += r->host_bytes;
    std::int64_t expect = 0;
    for (std::size_t g = 0; g < r->pages.size(); ++g) expect += layout_.group_device_bytes(g, r->pages[g]);
    if (expect != r->device_bytes) {
      throw std::logic_error("KV: request " + std::to_string(r->id) + " bytes disagree with its pages");
    }
    for (std::size_t g = 0; g < r->pages.size(); ++g) {
      if (layout_.groups[g].pages_sum(r->prompt_tokens, r->computed, 0, layout_.block_size) > r->pages[g]) {
        throw std::logic_error("KV: request " + std::to_string(r->id) + " holds fewer pages than its tokens need");
      }
    }
  }
  if (pages != used_pages_) throw std::logic_error("KV: pages held by requests differ from the pool's count");
  if (device != used_) throw std::logic_error("KV: device bytes held by requests differ from the pool's count");
  if (host != host_used_) throw std::logic_error("KV: host bytes held by requests differ from the pool's count");
  if (used_ > capacity_ || used_ < 0) throw std::logic_error("KV: used device bytes exceed capacity");
  if (host_used_ > host_capacity_) throw std::logic_error("KV: used host KV bytes exceed capacity");
  if (swap_used_ > swap_capacity_ || swap_used_ < 0) throw std::logic_error("KV: swap space over capacity");
}

}  // namespace kvsim
