// Quoting input text in messages (see error.h).
#include "sim/core/error.h"

#include <algorithm>

#include <fmt/format.h>

namespace kvsim {

std::string quoted_input(std::string_view text, std::size_t max_chars) {
  std::string out;
  const std::size_t n = std::min(text.size(), max_chars);
  out.reserve(n + 32);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > n) out += fmt::format("... ({} characters)", text.size());
  return out;
}

}  // namespace kvsim
