// Reading JSON text and files with the place of a syntax error (see json_file.h).
#include "sim/core/json_file.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim {

nlohmann::json parse_json_text(const std::string& text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based offset just past the offending character.
    const std::size_t offset = e.byte > 0 ? std::min<std::size_t>(e.byte - 1, text.size()) : 0;
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    if (const auto pos = what.find("syntax error"); pos != std::string::npos) what = what.substr(pos);
    throw KvsimError(fmt::format("{}: invalid JSON: {}:{}:{}: {}", where, where, line, column, what));
  }
}

nlohmann::json parse_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KvsimError(fmt::format("{}: cannot open the file", path.string()));
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_json_text(buf.str(), path.string());
}

}  // namespace kvsim
