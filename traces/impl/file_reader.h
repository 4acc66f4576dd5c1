// Base of every file-backed trace reader: streams the file's data lines, lets the format parse each into a
// TraceRecord, and applies the rules common to all formats (see ITraceReader's contract):
//  - arrival times are re-based to the first kept record and must not decrease, unless allow_unsorted_arrivals();
//  - rows a format rule skips are counted in skipped_rows();
//  - source_line is set to the row's line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "traces/impl/line_source.h"
#include "traces/trace_reader.h"

namespace kvsim::trace_impl {

class FileTraceReader : public ITraceReader {
 public:
  std::optional<TraceRecord> next() final;
  bool has_arrivals() const final { return !arrival_field_.empty(); }
  std::string describe() const override;  // "<format> trace <path>"
  std::int64_t skipped_rows() const final { return skipped_; }
  void allow_unsorted_arrivals() final { check_order_ = false; }

 protected:
  // `format` is the registry name, used in describe() and messages. Opens the file (throws if it cannot).
  FileTraceReader(std::string format, const std::filesystem::path& path);

  // Parses one data line. Sets the record's lengths (validated >= 1) and, for formats with arrivals, arrival_ns
  // on the file's own clock (any origin). Returns false if a documented format rule skips the row.
  virtual bool parse_row(std::string_view line, const SourcePos& at, TraceRecord& out) = 0;

  // Declares that rows carry arrival times, read from the field `name` (named in ordering errors).
  // Formats without it are length-only: has_arrivals() is false and every arrival_ns is 0.
  void set_arrival_field(std::string name) { arrival_field_ = std::move(name); }

  LineSource& lines() { return lines_; }
  const std::string& format() const { return format_; }

 private:
  std::string format_;
  LineSource lines_;
  std::string arrival_field_;
  bool check_order_ = true;
  bool seen_first_ = false;
  SimTimeNs origin_ns_ = 0;     // arrival of the first kept record, on the file's clock
  SimTimeNs previous_ns_ = 0;   // re-based arrival of the previous kept record
  std::int64_t previous_line_ = 0;
  std::int64_t skipped_ = 0;
};

}  // namespace kvsim::trace_impl
