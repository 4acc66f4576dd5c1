// Non-prefix chunk reuse (see chunk_store.h).
#include "sim/kv/chunk_store.h"

namespace kvsim {

ChunkStore::ChunkStore(ChunkReuseSpec spec, double bytes_per_token)
    : spec_(std::move(spec)), bytes_per_token_(bytes_per_token) {
  stats_.capacity_bytes = spec_.store.capacity_bytes;
}

TokenCount ChunkStore::lookup(std::span<const TraceRecord::Chunk> chunks, TokenCount from, bool use) {
  TokenCount held = 0;
  for (const TraceRecord::Chunk& c : chunks) {
    if (c.start < from) continue;
    const auto it = chunks_.find(c.id);
    if (it == chunks_.end()) continue;
    held += c.tokens;
    if (use) lru_.splice(lru_.begin(), lru_, it->second.where);
  }
  if (use && held > 0) {
    const double bytes = static_cast<double>(held) * bytes_per_token_;
    add_transfer(load_bytes_, load_s_, bytes, spec_.store.latency_s, spec_.store.read_Bps);
    stats_.loaded_tokens += held;
    stats_.loaded_bytes += bytes;
  }
  return held;
}

void ChunkStore::store(std::span<const TraceRecord::Chunk> chunks) {
  const auto capacity = static_cast<double>(spec_.store.capacity_bytes);
  double written = 0;
  for (const TraceRecord::Chunk& c : chunks) {
    const double bytes = static_cast<double>(c.tokens) * bytes_per_token_;
    if (chunks_.count(c.id) != 0 || bytes > capacity) continue;
    while (used_bytes_ + bytes > capacity && !lru_.empty()) {
      const auto victim = chunks_.find(lru_.back());
      used_bytes_ -= static_cast<double>(victim->second.tokens) * bytes_per_token_;
      chunks_.erase(victim);
      lru_.pop_back();
      stats_.evicted_chunks++;
    }
    lru_.push_front(c.id);
    chunks_.emplace(c.id, Entry{c.tokens, lru_.begin()});
    used_bytes_ += bytes;
    written += bytes;
    stats_.stored_chunks++;
  }
  if (written > 0) {
    add_transfer(store_bytes_, store_s_, written, spec_.store.latency_s, spec_.store.write_Bps);
    stats_.stored_bytes += written;
  }
}

ChunkStore::Stats ChunkStore::stats() const {
  Stats s = stats_;
  s.cached_chunks = static_cast<std::int64_t>(chunks_.size());
  return s;
}

}  // namespace kvsim
