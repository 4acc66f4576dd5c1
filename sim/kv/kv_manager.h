// Request-level KV operations on top of the block pool: grow a request's blocks to a token count, free them,
// preempt by recompute or by swap to host memory. Schedulers use this; they never touch the pool directly.
#pragma once

#include <cstdint>
#include <string_view>

#include "sim/kv/block_pool.h"
#include "sim/request/request.h"

namespace kvsim {

enum class PreemptionMode : std::uint8_t { kRecompute, kSwap };

class KvManager {
 public:
  // `block_bytes`: bytes of one block on one GPU (all layers); `host_blocks`: swap space in blocks.
  KvManager(KvBlockPool& pool, PreemptionMode mode, double block_bytes, std::int64_t host_blocks);

  // Ensures `r` holds blocks for `tokens` tokens. All-or-nothing: returns false (allocating nothing) if the
  // pool lacks free blocks.
  bool grow_to(Request& r, TokenCount tokens);
  // Returns every device block of `r` to the pool.
  void free(Request& r) { pool_.release(r.blocks); }

  // Preempts a running request: by swap if the mode is swap and host memory has room, else by recompute.
  // Returns the bytes copied to the host (0 for recompute). Sets r.state to kSwapped or kWaiting.
  double preempt(Request& r, TokenCount& recomputed_tokens);
  // Whether a swapped request fits back; swap_in() moves it back and returns the bytes copied.
  bool can_swap_in(const Request& r) const { return r.host_blocks <= pool_.free_blocks(); }
  double swap_in(Request& r);

  const KvBlockPool& pool() const { return pool_; }
  double block_bytes() const { return block_bytes_; }
  std::int64_t host_blocks_used() const { return host_used_; }
  std::int64_t host_blocks_total() const { return host_total_; }
  PreemptionMode mode() const { return mode_; }

 private:
  KvBlockPool& pool_;
  PreemptionMode mode_;
  double block_bytes_;
  std::int64_t host_total_;
  std::int64_t host_used_ = 0;
};

}  // namespace kvsim
