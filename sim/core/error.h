// Error type for every user-facing problem (bad config, bad trace, impossible scenario).
// The message must name the file, line or key at fault and say what would be valid; the CLI prints it
// and exits non-zero. Programming errors use assertions instead.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace kvsim {

class KvsimError : public std::runtime_error {
 public:
  explicit KvsimError(const std::string& what) : std::runtime_error(what) {}
};

// Text from an input (a file's bytes, a key) made fit to quote in a message: control bytes (NUL, ESC, ...)
// written as \xNN, and at most `max_chars` characters kept, the rest counted ("... (52428800 characters)").
std::string quoted_input(std::string_view text, std::size_t max_chars = 200);

}  // namespace kvsim
