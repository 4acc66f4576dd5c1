// `kvsim trace stats FILE [--format F] [--json] [--sort]`: statistics of a trace file.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"
#include "traces/trace_reader.h"
#include "traces/trace_stats.h"

namespace kvsim::cli {

void add_trace_command(CLI::App& app) {
  CLI::App* trace = app.add_subcommand("trace", "Inspect trace files.");
  trace->require_subcommand(1);
  struct Args {
    std::string file, format;
    std::vector<std::int64_t> cache_blocks;
    bool json = false, sort = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* stats = trace->add_subcommand(
      "stats", "Request count, duration, rate, inter-arrival CV, prompt/output length percentiles, prefix reuse.");
  stats->add_option("file", args->file, "trace file")->required()->check(CLI::ExistingFile);
  stats->add_option("--format", args->format,
                    "azure-2023 | mooncake | burstgpt | vidur-csv | jsonl (default: detected from the first line)");
  stats->add_flag("--json", args->json, "print JSON");
  stats->add_flag("--sort", args->sort, "accept non-monotonic timestamps by sorting (reads the file whole)");
  stats->add_option("--cache-blocks", args->cache_blocks,
                    "capacities (in the trace's blocks) of the LRU prefix-hit curve, e.g. 1000,10000 (default: 12 "
                    "log-spaced up to the trace's distinct blocks)")
      ->delimiter(',')
      ->check(integer_in(1, 1LL << 40, "blocks"));
  stats->callback([args] {
    const std::string format = args->format.empty() ? detect_trace_format(args->file) : args->format;
    std::unique_ptr<ITraceReader> reader = trace_formats().get(format, "--format").factory(args->file);
    if (args->sort) reader = sorted_reader(std::move(reader));
    const TraceStats s = compute_trace_stats(*reader, args->cache_blocks);
    if (s.requests == 0) {  // as kvsim run says: statistics of nothing would read as zeros
      throw KvsimError(fmt::format("{}: the trace has no requests ({} rows skipped)", args->file,
                                   reader->skipped_rows()));
    }
    if (args->json) {
      nlohmann::json j = to_json(s);
      j["file"] = args->file;
      j["format"] = format;
      fmt::print("{}\n", j.dump(2));
    } else {
      fmt::print("file: {}\nformat: {}\n{}", args->file, format, to_text(s));
    }
  });
}

}  // namespace kvsim::cli
