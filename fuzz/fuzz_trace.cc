// libFuzzer target: every trace format of trace_formats() (traces/trace_reader.h, traces/impl/).
// Input: byte 0 picks the reader, the rest is the trace file. Choice c = (byte0 & 0x7f) % (F + 1) over the F formats
// sorted by name; c = F runs detect_trace_format() first (a scenario without trace.format). Bit 0x80 wraps the reader
// in sorted_reader() (workload.trace.sort / --sort). `fuzz_trace --kvsim-formats` prints "byte name" per choice.
// Every record is read; a finding is anything but a clean end or a KvsimError, or a record breaking the
// ITraceReader contract and traces/FORMAT.md (a length < 1, a first arrival other than 0, a decreasing arrival time, a
// chunk out of order or outside the prompt).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "fuzz/samples.h"
#include "sim/core/error.h"
#include "traces/trace_reader.h"

namespace {

std::vector<std::string> format_names() {
  std::vector<std::string> names;
  for (const auto& e : kvsim::trace_formats().entries()) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

const std::vector<std::string>& formats() {
  static const std::vector<std::string> names = format_names();
  return names;
}

[[noreturn]] void contract_broken(const char* what, const kvsim::TraceRecord& r) {
  std::fprintf(stderr, "trace reader contract broken: %s (line %lld: arrival_ns %lld, prompt %lld, output %lld)\n", what,
               static_cast<long long>(r.source_line), static_cast<long long>(r.arrival_ns),
               static_cast<long long>(r.prompt_tokens), static_cast<long long>(r.output_tokens));
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  const std::vector<std::string>& names = formats();
  if (kvsim_fuzz::has_flag(*argc, *argv, "--kvsim-formats")) {
    for (std::size_t i = 0; i < names.size(); ++i) std::printf("%zu %s\n", i, names[i].c_str());
    std::printf("%zu detect\n", names.size());
    std::exit(0);
  }
  if (const auto dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    for (const kvsim_fuzz::TraceSample& s : kvsim_fuzz::trace_samples()) {
      const auto index = static_cast<char>(std::find(names.begin(), names.end(), s.format) - names.begin());
      kvsim_fuzz::write_file(dir / ("sample-" + s.file), std::string(1, index) + s.text);
      kvsim_fuzz::write_file(dir / ("sorted-" + s.file), std::string(1, static_cast<char>(index | 0x80)) + s.text);
      kvsim_fuzz::write_file(dir / ("detect-" + s.file), std::string(1, static_cast<char>(names.size())) + s.text);
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::vector<std::string>& names = formats();
  const std::size_t choice = (data[0] & 0x7f) % (names.size() + 1);
  const bool sort = (data[0] & 0x80) != 0;
  const auto path = kvsim_fuzz::write_temp("trace.input", std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  try {
    const std::string name = choice < names.size() ? names[choice] : kvsim::detect_trace_format(path);
    std::unique_ptr<kvsim::ITraceReader> reader = kvsim::trace_formats().get(name, "fuzz").factory(path);
    if (sort) reader = kvsim::sorted_reader(std::move(reader));
    (void)reader->describe();
    const bool arrivals = reader->has_arrivals();
    kvsim::SimTimeNs previous = 0;
    bool first = true;
    while (auto record = reader->next()) {
      if (first && record->arrival_ns != 0) contract_broken("the first arrival is not re-based to 0", *record);
      first = false;
      if (record->prompt_tokens < 1 || record->output_tokens < 1) contract_broken("a length < 1", *record);
      if (record->arrival_ns < previous) contract_broken("arrival times decrease", *record);
      if (!arrivals && record->arrival_ns != 0) contract_broken("an arrival time in a length-only format", *record);
      kvsim::TokenCount chunk_end = 0;
      for (const kvsim::TraceRecord::Chunk& c : record->chunks) {
        if (c.tokens < 1 || c.start < chunk_end || c.start > record->prompt_tokens - c.tokens) {
          contract_broken("a chunk out of order or outside the prompt", *record);
        }
        chunk_end = c.start + c.tokens;
      }
      previous = record->arrival_ns;
    }
    (void)reader->skipped_rows();
  } catch (const kvsim::KvsimError&) {
    // a rejected input: the expected outcome
  }
  return 0;
}
