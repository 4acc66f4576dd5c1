// Per-request state of the serving engine.
//
// Progress follows vLLM v1: a request has `prompt_tokens + generated` known tokens, of which `computed` have
// their KV in the cache. Each iteration computes some of the missing ones; when computed reaches the known
// count, the iteration samples one more token. A prefill is an iteration with many missing tokens, a decode one
// with exactly one. Recompute-preemption sets computed back to 0 (the known tokens are prefilled again).
#pragma once

#include <cstdint>
#include <vector>

#include "sim/core/types.h"
#include "traces/trace_record.h"

namespace kvsim {

enum class RequestState : std::uint8_t { kWaiting, kRunning, kSwapped, kFinished };

struct Request {
  RequestId id = 0;
  SimTimeNs arrival_ns = 0;
  TokenCount prompt_tokens = 0;
  TokenCount output_tokens = 0;
  RequestState state = RequestState::kWaiting;

  TokenCount computed = 0;    // tokens whose KV is in the cache (or on the host while swapped)
  TokenCount generated = 0;   // output tokens produced so far
  // KV memory held (kept by sim/kv/KvManager): pages per layout group, device and host bytes.
  std::vector<std::int64_t> pages;
  std::int64_t device_bytes = 0;
  std::int64_t host_bytes = 0;           // offloaded KV (strategies that keep part of the KV on the host)
  std::int64_t swapped_bytes = 0;        // device bytes copied to the host swap space while swapped out
  std::vector<std::int64_t> swapped_pages;

  // Prefix caching (sim/kv/prefix_cache.h). The request's content from the trace (one id per content_block_tokens
  // tokens; empty: nothing to share) covering its first content_tokens tokens: the prompt, and the reply too when
  // the workload knows it (synthetic sessions); the identities of the full blocks of that content (built when first
  // looked up); and the cached blocks it references: its first blocks.size() blocks, in order. `registering` stays
  // true while each block it computes can join the cache (a block another request cached first ends it).
  std::vector<std::uint64_t> content_ids;
  TokenCount content_block_tokens = 0;
  TokenCount content_tokens = 0;
  std::vector<std::uint64_t> block_hashes;
  std::vector<TraceRecord::Chunk> chunks;  // chunks with identities anywhere in the prompt (chunk reuse)
  bool chunks_stored = false;              // written to the chunk store once its prefill completed
  std::vector<BlockId> blocks;
  bool registering = true;

  SimTimeNs first_scheduled_ns = -1;
  SimTimeNs first_token_ns = -1;
  SimTimeNs last_token_ns = -1;
  double max_itl_s = 0;
  int preemptions = 0;

  TokenCount known_tokens() const { return prompt_tokens + generated; }
  TokenCount missing_tokens() const { return known_tokens() - computed; }
  bool finished() const { return generated >= output_tokens; }
};

}  // namespace kvsim
