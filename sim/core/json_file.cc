// Reading JSON text and files with the place of a syntax error (see json_file.h).
#include "sim/core/json_file.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim {

namespace {

constexpr int kMaxDepth = 64;                // nesting of objects and arrays
constexpr std::size_t kMaxQuoted = 60;       // characters of the input quoted in a message

// Line and column (1-based) of byte `offset` of `text`.
std::pair<std::size_t, std::size_t> line_column(const std::string& text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

std::string shortened(const std::string& s) { return quoted_input(s, kMaxQuoted); }

// The duplicate-key and depth checks of a parse: the keys of each open object, and the key path to it.
struct Strictness {
  std::vector<std::vector<std::string>> keys;  // per open object (arrays: an empty placeholder)
  std::vector<std::string> path;               // the key each open container was found under ("[]" in arrays)
  std::string pending_key;
  std::string where;

  std::string key_path(const std::string& last) const {
    std::string out;
    for (std::size_t i = 1; i < path.size(); ++i) out += (out.empty() || path[i] == "[]" ? "" : ".") + path[i];
    return out.empty() ? last : out + "." + last;
  }

  bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (depth >= kMaxDepth) {
          throw KvsimError(fmt::format("{}: invalid JSON: nested more than {} levels deep", where, kMaxDepth));
        }
        // The root, an array's element, or an object's value under pending_key.
        path.push_back(keys.empty() ? "" : (pending_key.empty() ? "[]" : pending_key));
        keys.emplace_back();
        pending_key.clear();
        break;
      case E::object_end:
      case E::array_end:
        keys.pop_back();
        path.pop_back();
        break;
      case E::key: {
        const std::string k = parsed.get<std::string>();
        std::vector<std::string>& seen = keys.back();
        if (std::find(seen.begin(), seen.end(), k) != seen.end()) {
          throw KvsimError(fmt::format("{}: invalid JSON: key '{}' is given twice (each key once per object)",
                                       where, shortened(key_path(k))));
        }
        seen.push_back(k);
        pending_key = k;
        break;
      }
      case E::value:
        pending_key.clear();
        break;
    }
    return true;
  }
};

}  // namespace

nlohmann::json parse_json_text(const std::string& text, const std::string& where) {
  Strictness strict;
  strict.where = where;
  try {
    return nlohmann::json::parse(text, [&strict](int depth, nlohmann::json::parse_event_t event,
                                                 nlohmann::json& parsed) { return strict(depth, event, parsed); });
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based offset just past the offending character.
    const auto [line, column] = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    if (const auto pos = what.find("syntax error"); pos != std::string::npos) what = what.substr(pos);
    throw KvsimError(fmt::format("{}: invalid JSON: {}:{}:{}: {}", where, where, line, column, shortened(what)));
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond a double's range ("number overflow parsing '1e999'"): find the token to say where.
    std::string what = e.what(), token;
    if (const auto q = what.find('\''); q != std::string::npos) {
      token = what.substr(q + 1, what.rfind('\'') > q ? what.rfind('\'') - q - 1 : std::string::npos);
    }
    const std::size_t at = token.empty() ? std::string::npos : text.find(token);
    if (at != std::string::npos) {
      const auto [line, column] = line_column(text, at);
      throw KvsimError(fmt::format("{}: invalid JSON: {}:{}:{}: the number {} is beyond the range of a double "
                                   "(about 1.8e308)",
                                   where, where, line, column, shortened(token)));
    }
    throw KvsimError(fmt::format("{}: invalid JSON: {}", where, shortened(what)));
  } catch (const nlohmann::json::exception& e) {
    throw KvsimError(fmt::format("{}: invalid JSON: {}", where, shortened(e.what())));
  }
}

nlohmann::json parse_json_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    throw KvsimError(fmt::format("{}: not a regular file (a directory, FIFO or device); expected a JSON file",
                                 path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KvsimError(fmt::format("{}: cannot open the file", path.string()));
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_json_text(buf.str(), path.string());
}

}  // namespace kvsim
