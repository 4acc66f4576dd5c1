// Content ids of prompts given token by token (kvsim JSONL `token_ids`, synthetic sessions): each token's id is
// chained over the ids before it, so that equal ids mean equal prefixes, as Mooncake's `hash_ids` are and as the
// engine needs (sim/kv/block_hash.h combines the ids of each engine block). Records carry them as `hash_ids` with
// `hash_block_tokens = 1`.
#pragma once

#include <cstdint>
#include <span>

#include "sim/core/hash_mix.h"

namespace kvsim {

inline constexpr std::uint64_t kTokenChainRoot = 0x746f6b656e2d6964ULL;

// Replaces raw token ids by chained ones, in place, continuing the chain from `prefix` (the last chained id before
// them, or the root); returns the last chained id.
inline std::uint64_t chain_token_ids(std::span<std::uint64_t> ids, std::uint64_t prefix = kTokenChainRoot) {
  for (std::uint64_t& t : ids) t = prefix = hashing::combine(prefix, t);
  return prefix;
}

}  // namespace kvsim
