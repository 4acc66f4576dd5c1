// Content ids of prompts given token by token (kvsim JSONL `token_ids`, synthetic sessions): each token's id is
// chained over the ids before it, so that equal ids mean equal prefixes, as Mooncake's `hash_ids` are and as the
// engine needs (sim/kv/block_hash.h combines the ids of each engine block). Records carry them as `hash_ids` with
// `hash_block_tokens = 1`.
#pragma once

#include <cstdint>
#include <span>

#include "sim/core/hash_mix.h"

namespace kvsim {

// Replaces raw token ids by chained ones, in place.
inline void chain_token_ids(std::span<std::uint64_t> ids) {
  std::uint64_t prefix = 0x746f6b656e2d6964ULL;
  for (std::uint64_t& t : ids) t = prefix = hashing::combine(prefix, t);
}

}  // namespace kvsim
