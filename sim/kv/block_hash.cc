// Chained block identities (see block_hash.h).
#include "sim/kv/block_hash.h"

#include <algorithm>

#include "sim/core/hash_mix.h"

namespace kvsim {

namespace {

using hashing::combine;

constexpr std::uint64_t kRoot = 0x6b7673696d2d6b76ULL;  // the parent of a prompt's first block

}  // namespace

void prompt_block_hashes(std::span<const std::uint64_t> content_ids, TokenCount content_block_tokens,
                         TokenCount prompt, TokenCount block, std::vector<std::uint64_t>& out) {
  out.clear();
  if (content_ids.empty() || content_block_tokens <= 0 || block <= 0) return;
  const TokenCount covered = std::min(prompt, static_cast<TokenCount>(content_ids.size()) * content_block_tokens);
  const TokenCount full = covered / block;
  out.reserve(static_cast<std::size_t>(full));
  std::uint64_t parent = kRoot;
  for (TokenCount i = 0; i < full; ++i) {
    const TokenCount first = i * block, end = first + block;  // tokens [first, end)
    const TokenCount j0 = first / content_block_tokens, j1 = (end - 1) / content_block_tokens;
    std::uint64_t content = static_cast<std::uint64_t>(end - j1 * content_block_tokens);  // end within block j1
    for (TokenCount j = j0; j <= j1; ++j) content = combine(content, content_ids[static_cast<std::size_t>(j)]);
    parent = combine(parent, content);
    out.push_back(parent);
  }
}

}  // namespace kvsim
