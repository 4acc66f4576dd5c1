// Header matching and row splitting for the CSV trace formats: see csv_reader.h.
#include "traces/impl/csv_reader.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim::trace_impl {

namespace {
std::string join_layout(const CsvLayout& layout) { return fmt::format("{}", fmt::join(layout, ",")); }
}  // namespace

bool CsvRow::has_column(std::string_view column) const {
  return std::find(columns_.begin(), columns_.end(), column) != columns_.end();
}

std::string_view CsvRow::text(std::string_view column) const {
  const auto it = std::find(columns_.begin(), columns_.end(), column);
  if (it == columns_.end()) throw std::logic_error(fmt::format("CSV layout has no column '{}'", column));
  return fields_[static_cast<std::size_t>(it - columns_.begin())];
}

CsvTraceReader::CsvTraceReader(std::string format, const std::filesystem::path& path, std::vector<CsvLayout> layouts)
    : FileTraceReader(std::move(format), path), layouts_(std::move(layouts)) {
  std::vector<std::string> expected;
  for (const CsvLayout& l : layouts_) expected.push_back(fmt::format("'{}'", join_layout(l)));
  const std::string expected_text =
      fmt::format("the {} header {}", this->format(), fmt::join(expected, " or "));

  const auto header = lines().next();
  if (!header) throw_trace_error({lines().path(), 1}, "file", "is empty (no header line)", expected_text);
  const SourcePos at = lines().pos();
  const std::vector<std::string> columns = split_csv_line(*header, at);
  for (std::size_t i = 0; i < layouts_.size(); ++i) {
    if (columns == layouts_[i]) {
      layout_index_ = i;
      return;
    }
  }
  throw_trace_error(at, "header", fmt::format("'{}' does not match the {} format", *header, this->format()), expected_text);
}

bool CsvTraceReader::parse_row(std::string_view line, const SourcePos& at, TraceRecord& out) {
  std::vector<std::string> fields = split_csv_line(line, at);
  const CsvLayout& columns = layout();
  if (fields.size() != columns.size()) {
    throw_trace_error(at, "row", fmt::format("has {} fields", fields.size()),
                      fmt::format("{} comma-separated fields ({})", columns.size(), join_layout(columns)));
  }
  return parse_fields(CsvRow(columns, std::move(fields), at), out);
}

}  // namespace kvsim::trace_impl
