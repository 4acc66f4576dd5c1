// Rules common to all file-backed trace readers: see file_reader.h.
#include "traces/impl/file_reader.h"

#include <cmath>

#include <fmt/format.h>

#include "sim/core/units.h"

namespace kvsim::trace_impl {

FileTraceReader::FileTraceReader(std::string format, const std::filesystem::path& path)
    : format_(std::move(format)), lines_(path) {}

std::string FileTraceReader::describe() const { return fmt::format("{} trace {}", format_, lines_.path()); }

std::optional<TraceRecord> FileTraceReader::next() {
  while (auto line = lines_.next()) {
    const SourcePos at = lines_.pos();
    TraceRecord record;
    if (!parse_row(*line, at, record)) {
      ++skipped_;
      continue;
    }
    record.source_line = at.line;
    if (!has_arrivals()) {
      record.arrival_ns = 0;
      return record;
    }
    if (!seen_first_) {
      seen_first_ = true;
      origin_ns_ = record.arrival_ns;
    }
    record.arrival_ns -= origin_ns_;
    // After the first record: within the trace-time range either way (unsorted files may go back in time).
    require_trace_seconds(std::fabs(units::ns_to_s(record.arrival_ns)), at, arrival_field_);
    if (check_order_ && record.arrival_ns < previous_ns_) {
      throw_trace_error(
          at, arrival_field_,
          fmt::format("goes back in time: {:.6f} s after the first request, earlier than line {} ({:.6f} s)",
                      units::ns_to_s(record.arrival_ns), previous_line_, units::ns_to_s(previous_ns_)),
          "non-decreasing arrival times; sort the file, or pass --sort (scenario key workload.trace.sort: true) "
          "to have kvsim sort it by arrival time");
    }
    previous_ns_ = record.arrival_ns;
    previous_line_ = at.line;
    return record;
  }
  return std::nullopt;
}

}  // namespace kvsim::trace_impl
