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

// kTransferring: prefilled on a prefill replica, its KV on the way to a decode replica (disaggregation).
enum class RequestState : std::uint8_t { kWaiting, kRunning, kSwapped, kFinished, kTransferring };

struct Request {
  RequestId id = 0;
  SimTimeNs arrival_ns = 0;         // at the client
  SimTimeNs engine_arrival_ns = 0;  // at the engine (later by the profile's time outside the engine)
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
  // looked up); and the cached blocks it references: its first blocks.size() blocks, in order, `duplicate_blocks` of
  // which it also holds a copy of in its own pages (it computed them while another request used the cached copy).
  std::vector<std::uint64_t> content_ids;
  TokenCount content_block_tokens = 0;
  TokenCount content_tokens = 0;
  std::vector<std::uint64_t> block_hashes;
  std::vector<TraceRecord::Chunk> chunks;  // chunks with identities anywhere in the prompt (chunk reuse)
  bool chunks_stored = false;              // written to the chunk store once its prefill completed
  std::vector<BlockId> blocks;
  std::size_t duplicate_blocks = 0;
  // With sliding-window layers (one entry per window class, sim/kv/kv_manager.h): by block position, the cached
  // window block the request references, or none (max BlockId) where its page is its own or has left the window;
  // positions before `first` have left it, and `refs` counts the references.
  struct WindowBlocks {
    std::vector<BlockId> at;
    std::size_t first = 0;
    std::size_t refs = 0;
  };
  std::vector<WindowBlocks> window_blocks;

  SimTimeNs first_scheduled_ns = -1;
  SimTimeNs first_token_ns = -1;
  SimTimeNs last_token_ns = -1;
  double max_itl_s = 0;
  int preemptions = 0;
  std::int32_t priority = 0;        // its class's priority (workload.classes), lower first; 0 without classes
  std::uint8_t request_class = 0;   // its class (workload.classes), 0 without classes
  std::int32_t session = -1;  // closed-loop session whose next turn waits for this one (simulator), else -1
  std::int32_t replica = -1;  // the engine instance serving it (set when a replica admits it)
  // Disaggregation: its prompt's KV came from a prefill replica (the decode replica computes only new tokens), and
  // how long the move took.
  bool transferred = false;
  bool in_flight = false;       // in a micro-batch still in a replica's pipeline (pipeline parallelism)
  std::int32_t move_to = -1;    // while its KV moves: the decode replica it goes to
  std::uint32_t move_slot = 0;  // while its KV moves: the simulator's slot for the move
  double transfer_s = 0;

  TokenCount known_tokens() const { return prompt_tokens + generated; }
  TokenCount missing_tokens() const { return known_tokens() - computed; }
  bool finished() const { return generated >= output_tokens; }
};

}  // namespace kvsim
