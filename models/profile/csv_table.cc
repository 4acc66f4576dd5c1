// Strict CSV rows for the profile importers: see csv_table.h.
#include "models/profile/csv_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "sim/core/error.h"

namespace kvsim::profile_impl {

CsvTable::CsvTable(const std::filesystem::path& path) : path_(path.string()), in_(path, std::ios::binary) {
  if (!in_) throw KvsimError(fmt::format("{}: cannot open the file", path_));
  std::error_code ec;
  bytes_ = std::filesystem::file_size(path, ec);
  if (ec) throw KvsimError(fmt::format("{}: cannot read the file size: {}", path_, ec.message()));
  if (!std::getline(in_, buffer_))
    throw KvsimError(fmt::format("{}:1: the file is empty; expected a header line", path_));
  line_ = 1;
  if (!buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
  // A UTF-8 byte order mark before the first column name is not part of it.
  if (buffer_.rfind("\xEF\xBB\xBF", 0) == 0) buffer_.erase(0, 3);
  columns_ = split(buffer_);
  std::set<std::string_view> seen;
  for (const std::string& c : columns_) {
    if (c.empty()) fail_row("header has an empty column name");
    if (!seen.insert(c).second) fail_row(fmt::format("header names column '{}' twice", c));
  }
}

bool CsvTable::has_column(std::string_view name) const {
  for (const std::string& c : columns_) {
    if (c == name) return true;
  }
  return false;
}

std::size_t CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return i;
  }
  throw KvsimError(
      fmt::format("{}: no column '{}'; the file's columns are: {}", path_, name, fmt::join(columns_, ", ")));
}

bool CsvTable::next() {
  if (!std::getline(in_, buffer_)) return false;
  ++line_;
  if (!buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
  if (buffer_.empty()) fail_row(fmt::format("empty line; expected {} comma-separated fields", columns_.size()));
  fields_ = split(buffer_);
  if (fields_.size() != columns_.size()) {
    fail_row(fmt::format("{} fields, but the header has {} columns", fields_.size(), columns_.size()));
  }
  ++rows_;
  return true;
}

std::vector<std::string> CsvTable::split(std::string_view line) const {
  std::vector<std::string> out;
  std::string field;
  std::size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      if (!closed) fail_row(fmt::format("field {} has an unterminated quote", out.size() + 1));
      if (i < line.size() && line[i] != ',') {
        fail_row(fmt::format("field {} has text after its closing quote", out.size() + 1));
      }
    } else {
      const std::size_t end = std::min(line.find(',', i), line.size());
      field.assign(line.substr(i, end - i));
      i = end;
    }
    out.push_back(field);
    if (i >= line.size()) break;
    ++i;                     // the comma
    if (i == line.size()) {  // a trailing comma ends with an empty field
      out.emplace_back();
      break;
    }
  }
  return out;
}

void CsvTable::fail(std::size_t col, std::string_view problem) const {
  throw KvsimError(fmt::format("{}:{}: column '{}' {}", path_, line_, columns_.at(col), problem));
}

void CsvTable::fail_row(std::string_view problem) const {
  throw KvsimError(fmt::format("{}:{}: {}", path_, line_, problem));
}

std::int64_t CsvTable::integer(std::size_t col) const {
  const std::string_view t = text(col);
  std::int64_t v = 0;
  const char* end = t.data() + t.size();
  const auto [ptr, ec] = std::from_chars(t.data(), end, v);
  if (ec == std::errc::result_out_of_range) fail(col, fmt::format("'{}' is out of range; expected an integer", t));
  if (t.empty() || ec != std::errc() || ptr != end) fail(col, fmt::format("'{}' is not an integer", t));
  return v;
}

std::int64_t CsvTable::positive_integer(std::size_t col) const {
  const std::int64_t v = integer(col);
  if (v < 1) fail(col, fmt::format("is {}; expected an integer >= 1", v));
  return v;
}

std::int64_t CsvTable::non_negative_integer(std::size_t col) const {
  const std::int64_t v = integer(col);
  if (v < 0) fail(col, fmt::format("is {}; expected an integer >= 0", v));
  return v;
}

double CsvTable::number(std::size_t col) const {
  const std::string_view t = text(col);
  double v = 0;
  const char* end = t.data() + t.size();
  const auto [ptr, ec] = std::from_chars(t.data(), end, v, std::chars_format::general);
  if (t.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) {
    fail(col, fmt::format("'{}' is not a finite decimal number", t));
  }
  return v;
}

double CsvTable::positive_number(std::size_t col) const {
  const double v = number(col);
  if (!(v > 0)) fail(col, fmt::format("is {}; expected a number > 0", text(col)));
  return v;
}

bool CsvTable::boolean(std::size_t col) const {
  const std::string_view t = text(col);
  if (t == "True" || t == "true" || t == "1") return true;
  if (t == "False" || t == "false" || t == "0") return false;
  fail(col, fmt::format("'{}' is not a boolean; expected True or False", t));
}

}  // namespace kvsim::profile_impl
