// Shared by the profile importers (import_*.cc): provenance helpers. Internal to models/profile.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "models/profile/profile.h"

namespace kvsim::profile_impl {

// For each point family, how many points repeat the coordinates (all fields but seconds and row) of an earlier
// point: {"decode_attention": 0, "prefill_attention": 0, "gemm": 0, "all_reduce": 126, "moe": 0}. Importers keep
// repeated measurements (nothing is dropped); consumers that need one value per grid point must combine them.
nlohmann::json count_duplicate_points(const Profile& p);

// Adds `n` to counts[reason].
inline void count_skip(std::map<std::string, std::int64_t>& counts, const std::string& reason, std::int64_t n = 1) {
  counts[reason] += n;
}

}  // namespace kvsim::profile_impl
