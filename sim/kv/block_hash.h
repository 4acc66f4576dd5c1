// Identity of KV blocks for prefix caching: a hash chained over the parent block's hash and the block's content.
//
// A request's content comes from its trace record: `content_ids`, one id per `content_block_tokens` tokens of the
// prompt (Mooncake's 512-token `hash_ids`, kvsim JSONL `hash_ids` + `hash_block_tokens`, synthetic shared
// prefixes). Engine block i covers tokens [i B, (i + 1) B); its content is every content id overlapping
// it and where the block ends within the last one, so engine and trace block sizes need not divide each other, and
// two prompts share engine block i exactly when they share its tokens and every token before it (the chain).
// Only full engine blocks inside the prompt get an identity; the partial last block and generated tokens do not.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sim/core/types.h"

namespace kvsim {

// Chained identities of the full engine blocks of a `prompt`-token prompt (floor(prompt / block) of them, fewer if
// the content ids do not cover them). Appends to `out` after clearing it.
void prompt_block_hashes(std::span<const std::uint64_t> content_ids, TokenCount content_block_tokens,
                         TokenCount prompt, TokenCount block, std::vector<std::uint64_t>& out);

}  // namespace kvsim
