// Streaming trace readers: one implementation per file format, registered in traces/builtin.cc.
//
// Contract for every ITraceReader:
//  - next() returns records one at a time, in file order, without loading the whole file; std::nullopt at the end.
//  - Every record is validated: a missing, non-numeric or negative field, or a prompt/output length < 1 (after the
//    format's own conventions), throws KvsimError "<file>:<line>: <what is wrong>; <what would be valid>".
//  - Arrival times are re-based so the first record is at 0 and must be non-decreasing; a decrease throws
//    KvsimError naming the line, unless the reader is wrapped by sorted_reader() (the `--sort` option) or
//    allow_unsorted_arrivals() was called.
//  - Rows skipped under a documented format rule are counted in skipped_rows(), never dropped silently
//    (traces/FORMAT.md lists the formats, their columns and units, and the rules).
//  - has_arrivals() is false for length-only formats (ShareGPT/arXiv length CSVs): their arrival_ns is 0 and the
//    workload must supply an arrival process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sim/core/registry.h"
#include "traces/trace_record.h"

namespace kvsim {

class ITraceReader {
 public:
  virtual ~ITraceReader() = default;
  virtual std::optional<TraceRecord> next() = 0;
  virtual bool has_arrivals() const = 0;
  virtual std::string describe() const = 0;  // e.g. "azure-2023 trace /path/conv.csv"

  // Source rows skipped so far under a documented format rule (BurstGPT rows with 0 request or response tokens,
  // i.e. failed requests; see traces/FORMAT.md). Readers that wrap another reader report the inner count.
  // `kvsim trace stats` and the simulator report it, so that no row is dropped silently.
  virtual std::int64_t skipped_rows() const { return 0; }

  // Lifts the non-decreasing arrival check; call before the first next(). Arrival times are then only re-based,
  // and may go back. Used by sorted_reader() and by workloads that replace a file's arrival times.
  virtual void allow_unsorted_arrivals() {}
};

// Opens `path` in one format. Throws KvsimError if the file is missing or its header is not the format's.
using TraceReaderFactory = std::function<std::unique_ptr<ITraceReader>(const std::filesystem::path& path)>;
using TraceFormatRegistry = Registry<TraceReaderFactory>;

// The trace formats kvsim reads: azure-2023, mooncake, burstgpt, vidur-csv, jsonl.
const TraceFormatRegistry& trace_formats();

// Guesses the format of a file from its first line (header or first JSON object); throws listing the formats.
std::string detect_trace_format(const std::filesystem::path& path);

// Reads every record of `inner`, sorts them stably by arrival time and replays them (for `--sort`; not streaming).
std::unique_ptr<ITraceReader> sorted_reader(std::unique_ptr<ITraceReader> inner);

}  // namespace kvsim
