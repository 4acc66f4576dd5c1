// Base of the CSV trace formats: the header must be exactly one of the format's layouts (column names in
// order), and every data row must have as many fields as the header. Rows are handed to the format as a
// CsvRow whose fields are looked up by column name and parsed strictly (parse_util.h).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "traces/impl/file_reader.h"

namespace kvsim::trace_impl {

using CsvLayout = std::vector<std::string>;  // column names, in file order

// One data row of a CSV trace, with typed, strictly parsed access by column name.
class CsvRow {
 public:
  CsvRow(const CsvLayout& columns, std::vector<std::string> fields, const SourcePos& at)
      : columns_(columns), fields_(std::move(fields)), at_(at) {}

  bool has_column(std::string_view column) const;
  std::string_view text(std::string_view column) const;  // the raw field; the column must be in the layout
  std::int64_t count(std::string_view column) const { return parse_count(text(column), at_, column); }
  TokenCount length(std::string_view column) const { return parse_length(text(column), at_, column); }
  SimTimeNs seconds_ns(std::string_view column) const { return parse_seconds_ns(text(column), at_, column); }
  const SourcePos& pos() const { return at_; }

 private:
  const CsvLayout& columns_;
  std::vector<std::string> fields_;
  SourcePos at_;
};

class CsvTraceReader : public FileTraceReader {
 protected:
  // Reads the header; throws "<path>:1: header ...; expected one of: <layouts>" if it matches no layout.
  CsvTraceReader(std::string format, const std::filesystem::path& path, std::vector<CsvLayout> layouts);

  // Index into `layouts` of the header the file has.
  std::size_t layout_index() const { return layout_index_; }
  const CsvLayout& layout() const { return layouts_[layout_index_]; }

  // Fills the record from one row; false skips the row (counted). See FileTraceReader::parse_row.
  virtual bool parse_fields(const CsvRow& row, TraceRecord& out) = 0;

 private:
  bool parse_row(std::string_view line, const SourcePos& at, TraceRecord& out) final;

  std::vector<CsvLayout> layouts_;
  std::size_t layout_index_ = 0;
};

}  // namespace kvsim::trace_impl
