// 64-bit hashing of content identities: a mix with full avalanche (the splitmix64 finaliser) and an
// order-dependent combination, shared by the engine's block identities (sim/kv/block_hash.h) and the trace
// readers that chain token ids (traces/).
#pragma once

#include <cstdint>

namespace kvsim::hashing {

constexpr std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
constexpr std::uint64_t combine(std::uint64_t seed, std::uint64_t value) {
  return mix(seed ^ (value * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL + (seed << 6) + (seed >> 2)));
}

}  // namespace kvsim::hashing
