// Non-prefix KV reuse (CacheBlend, Yao et al., EuroSys 2025; Cache-Craft, Agarwal et al., SIGMOD 2025): the KV of
// chunks that recur anywhere in prompts (retrieved documents) is kept in a store below the GPU, by chunk identity.
// A request whose prompt holds stored chunks after its prefix-cache hit loads their KV and recomputes only a
// fraction of their tokens (CacheBlend's selective recompute: `recompute_fraction`, 0.16 in YaoJiayi/CacheBlend's
// vllm_blend; Cache-Craft chooses it per chunk, here one fraction).
//
// Model (sim/README.md "Chunk reuse"): the store is an LRU of whole chunks with a capacity in bytes (the layout's
// device bytes per token); a request's chunks enter it once its prefill completes (written, overlapped like tier
// stores); at admission, the stored chunks at or after the prefix hit count as computed except their recomputed
// fraction, and their KV is read from the store (priced like a tier load). The chunks keep the request's own GPU
// pages (CacheBlend fixes each request's copy; nothing is shared on the GPU). Quality is the papers' reported, not
// simulated.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>

#include "sim/kv/tiers.h"
#include "traces/trace_record.h"

namespace kvsim {

struct ChunkReuseSpec {
  double recompute_fraction = 0.16;
  TierSpec store;  // capacity, bandwidths and latency of the chunk store (eviction: LRU)
};

class ChunkStore {
 public:
  ChunkStore(ChunkReuseSpec spec, double bytes_per_token);

  // Tokens of the chunks starting at or after token `from` whose KV the store holds; with `use`, they are read
  // (counted and priced) and become the most recently used.
  TokenCount lookup(std::span<const TraceRecord::Chunk> chunks, TokenCount from, bool use);
  // Writes the chunks the store does not hold (evicting the least recently used), after a prefill.
  void store(std::span<const TraceRecord::Chunk> chunks);

  double recompute_fraction() const { return spec_.recompute_fraction; }
  // Bytes and seconds moved since clear_traffic(): reads into the GPU, writes from it.
  double load_bytes() const { return load_bytes_; }
  double load_s() const { return load_s_; }
  double store_bytes() const { return store_bytes_; }
  double store_s() const { return store_s_; }
  void clear_traffic() { load_bytes_ = load_s_ = store_bytes_ = store_s_ = 0; }

  struct Stats {
    std::int64_t stored_chunks = 0, evicted_chunks = 0, cached_chunks = 0;
    TokenCount loaded_tokens = 0;
    double loaded_bytes = 0, stored_bytes = 0;
    std::int64_t capacity_bytes = 0;
    Stats& operator+=(const Stats& b) {  // another pool's store (a cluster's replicas)
      stored_chunks += b.stored_chunks;
      evicted_chunks += b.evicted_chunks;
      cached_chunks += b.cached_chunks;
      loaded_tokens += b.loaded_tokens;
      loaded_bytes += b.loaded_bytes;
      stored_bytes += b.stored_bytes;
      capacity_bytes += b.capacity_bytes;
      return *this;
    }
  };
  Stats stats() const;

 private:
  struct Entry {
    TokenCount tokens;
    std::list<std::uint64_t>::iterator where;
  };
  ChunkReuseSpec spec_;
  double bytes_per_token_;
  std::list<std::uint64_t> lru_;  // most recently used first
  std::unordered_map<std::uint64_t, Entry> chunks_;
  double used_bytes_ = 0;
  double load_bytes_ = 0, load_s_ = 0, store_bytes_ = 0, store_s_ = 0;
  Stats stats_;
};

}  // namespace kvsim
