// Error type for every user-facing problem (bad config, bad trace, impossible scenario).
// The message must name the file, line or key at fault and say what would be valid; the CLI prints it
// and exits non-zero. Programming errors use assertions instead.
#pragma once

#include <stdexcept>
#include <string>

namespace kvsim {

class KvsimError : public std::runtime_error {
 public:
  explicit KvsimError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace kvsim
