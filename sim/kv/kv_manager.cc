// Request-level KV operations (see kv_manager.h).
#include "sim/kv/kv_manager.h"

namespace kvsim {

KvManager::KvManager(KvBlockPool& pool, PreemptionMode mode, double block_bytes, std::int64_t host_blocks)
    : pool_(pool), mode_(mode), block_bytes_(block_bytes), host_total_(host_blocks) {}

bool KvManager::grow_to(Request& r, TokenCount tokens) {
  const std::int64_t need = pool_.blocks_for(tokens) - static_cast<std::int64_t>(r.blocks.size());
  if (need <= 0) return true;
  if (need > pool_.free_blocks()) return false;
  pool_.allocate(need, r.blocks);
  return true;
}

double KvManager::preempt(Request& r, TokenCount& recomputed_tokens) {
  r.preemptions++;
  const auto n = static_cast<std::int64_t>(r.blocks.size());
  if (mode_ == PreemptionMode::kSwap && host_used_ + n <= host_total_) {
    host_used_ += n;
    r.host_blocks = n;
    pool_.release(r.blocks);
    r.state = RequestState::kSwapped;
    return static_cast<double>(n) * block_bytes_;
  }
  recomputed_tokens += r.computed;
  pool_.release(r.blocks);
  r.computed = 0;
  r.state = RequestState::kWaiting;
  return 0;
}

double KvManager::swap_in(Request& r) {
  const std::int64_t n = r.host_blocks;
  pool_.allocate(n, r.blocks);
  host_used_ -= n;
  r.host_blocks = 0;
  r.state = RequestState::kRunning;
  return static_cast<double>(n) * block_bytes_;
}

}  // namespace kvsim
