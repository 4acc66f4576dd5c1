// One request of a workload, as read from a trace file or drawn by a synthetic generator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/types.h"

namespace kvsim {

struct TraceRecord {
  SimTimeNs arrival_ns = 0;         // arrival time; readers re-base so the first record of a file is at 0
  TokenCount prompt_tokens = 0;     // prompt (prefill) length, >= 1
  TokenCount output_tokens = 0;     // tokens to generate, >= 1
  std::vector<std::uint64_t> hash_ids;  // prefix-block hashes (Mooncake `hash_ids`); empty if the format has none
  TokenCount hash_block_tokens = 0;     // tokens covered by one hash id (512 for Mooncake); 0 if no hashes
  // The reply's per-token content ids, continuing the prompt's chain (hash_block_tokens 1), where the workload knows
  // what the engine generates (synthetic sessions: the next turn's prompt holds it); else empty.
  std::vector<std::uint64_t> output_content_ids;
  // Chunks of the prompt with an identity of their own wherever they stand (retrieved documents, RAG), for
  // non-prefix KV reuse (CacheBlend, Cache-Craft): first token, length, identity; in prompt order, disjoint.
  struct Chunk {
    TokenCount start = 0, tokens = 0;
    std::uint64_t id = 0;
  };
  std::vector<Chunk> chunks;
  std::string session_id;           // conversation id where the format has one (BurstGPT_3), else empty
  std::int64_t turn = -1;           // turn within the session (kvsim JSONL, synthetic sessions), else -1
  // Closed-loop sessions (synthetic `sessions.loop: closed`): every turn of the session is marked; a later turn
  // (turn > 0) arrives `think_ns` after its session's previous turn finished or was rejected, and its arrival_ns is
  // the earliest it can (the previous turn's earliest + think_ns), which keeps the stream in order. The engine
  // holds it until then (sim/engine/simulator.cc).
  bool closed_loop = false;
  SimTimeNs think_ns = 0;
  // The request's class label where the trace gives one (kvsim JSONL `class`), else empty; and its class: an index
  // into the scenario's `workload.classes` (the label's, else drawn by share in the stream), 0 without classes.
  std::string class_name;
  std::uint8_t request_class = 0;
  std::int64_t source_line = 0;     // 1-based line in the source file (0 for synthetic records), for messages
};

}  // namespace kvsim
