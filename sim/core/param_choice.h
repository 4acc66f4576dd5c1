// A string parameter that must be one of a fixed list (dtypes, op names, modes): one check and one message for all.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "sim/core/param_reader.h"

namespace kvsim {

// `value` (read from `key` of `r`) when it is one of `valid`; else KvsimError "<path>.<key>: 'v' is not one of a, b".
inline std::string checked_choice(const ParamReader& r, const std::string& key, std::string value,
                                  std::span<const std::string_view> valid) {
  for (std::string_view v : valid) {
    if (value == v) return value;
  }
  r.check(false, key, fmt::format("'{}' is not one of {}", value, fmt::join(valid, ", ")));
  return value;
}

}  // namespace kvsim
