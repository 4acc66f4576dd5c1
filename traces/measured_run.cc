// Measured serving runs (see measured_run.h).
#include "traces/measured_run.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "sim/core/error.h"
#include "sim/core/json_file.h"
#include "sim/core/units.h"
#include "traces/impl/json_reader.h"
#include "traces/impl/line_source.h"
#include "traces/impl/parse_util.h"

namespace kvsim {

namespace {

using trace_impl::JsonRow;
using trace_impl::LineSource;
using trace_impl::SourcePos;
using trace_impl::throw_trace_error;

// Seconds between two engine timestamps that must be in order.
double interval(const JsonRow& row, std::string_view from, std::string_view to) {
  const SimTimeNs a = row.time_ns(from, 1'000'000'000), b = row.time_ns(to, 1'000'000'000);
  if (b < a) throw_trace_error(row.pos(), to, fmt::format("is before {}", from), fmt::format("a time >= {}", from));
  return units::ns_to_s(b - a);
}

MeasuredRun read_llmservingsim(const std::filesystem::path& path) {
  MeasuredRun run;
  LineSource lines(path);
  SimTimeNs first_queued = std::numeric_limits<SimTimeNs>::max(), last_token = 0;
  while (auto line = lines.next()) {
    const JsonRow row(*line, lines.pos());
    MeasuredRequest r;
    r.prompt_tokens = row.length("input_toks");
    r.output_tokens = row.length("output_toks");
    r.queue_s = interval(row, "queued_ts", "scheduled_ts");
    r.ttft_s = interval(row, "queued_ts", "first_token_ts");
    r.e2e_s = interval(row, "queued_ts", "last_token_ts");
    const double decode_s = interval(row, "first_token_ts", "last_token_ts");
    if (r.output_tokens > 1) r.tpot_s = decode_s / static_cast<double>(r.output_tokens - 1);
    first_queued = std::min(first_queued, row.time_ns("queued_ts", 1'000'000'000));
    last_token = std::max(last_token, row.time_ns("last_token_ts", 1'000'000'000));
    run.requests.push_back(r);
  }
  if (!run.requests.empty()) run.span_s = units::ns_to_s(last_token - first_queued);
  return run;
}

// A list of `n` numbers >= 0 under `key` of a vllm-bench result.
std::vector<double> numbers(const nlohmann::json& doc, const std::string& where, const std::string& key,
                            std::size_t n) {
  if (!doc.contains(key) || !doc[key].is_array()) {
    throw KvsimError(fmt::format("{}: {}: required list is missing (vllm bench serve --save-result writes it)", where,
                                 key));
  }
  const nlohmann::json& list = doc[key];
  if (list.size() != n) {
    throw KvsimError(fmt::format("{}: {}: {} entries for {} requests (input_lens)", where, key, list.size(), n));
  }
  std::vector<double> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (!list[i].is_number() || !(list[i].get<double>() >= 0) || !std::isfinite(list[i].get<double>())) {
      throw KvsimError(fmt::format("{}: {}[{}]: {} is not a number >= 0", where, key, i, list[i].dump()));
    }
    out.push_back(list[i].get<double>());
  }
  return out;
}

MeasuredRun read_vllm_bench(const std::filesystem::path& path) {
  const nlohmann::json doc = parse_json_file(path);
  const std::string where = path.string();
  if (!doc.is_object()) throw KvsimError(where + ": expected the JSON object vllm bench serve --save-result writes");
  if (!doc.contains("input_lens") || !doc["input_lens"].is_array()) {
    throw KvsimError(where + ": input_lens: required list is missing (save the result with --save-detailed)");
  }
  const std::size_t n = doc["input_lens"].size();
  const std::vector<double> inputs = numbers(doc, where, "input_lens", n), outputs = numbers(doc, where, "output_lens", n),
                            ttfts = numbers(doc, where, "ttfts", n);
  if (!doc.contains("itls") || !doc["itls"].is_array() || doc["itls"].size() != n) {
    throw KvsimError(fmt::format("{}: itls: required, one list of inter-token latencies per request ({})", where, n));
  }
  const nlohmann::json* errors = doc.contains("errors") ? &doc["errors"] : nullptr;
  MeasuredRun run;
  for (std::size_t i = 0; i < n; ++i) {
    if (errors != nullptr && i < errors->size() && (*errors)[i].is_string() && !(*errors)[i].get<std::string>().empty()) {
      run.failed++;
      continue;
    }
    const nlohmann::json& itl = doc["itls"][i];
    if (!itl.is_array()) throw KvsimError(fmt::format("{}: itls[{}]: expected a list of seconds", where, i));
    double decode_s = 0;
    for (const nlohmann::json& v : itl) {
      if (!v.is_number() || !(v.get<double>() >= 0)) {
        throw KvsimError(fmt::format("{}: itls[{}]: {} is not a number >= 0", where, i, v.dump()));
      }
      decode_s += v.get<double>();
    }
    MeasuredRequest r;
    r.prompt_tokens = static_cast<TokenCount>(inputs[i]);
    r.output_tokens = static_cast<TokenCount>(outputs[i]);
    if (r.prompt_tokens < 1 || r.output_tokens < 1) {
      throw KvsimError(fmt::format("{}: request {}: input and output lengths must be >= 1", where, i));
    }
    r.ttft_s = ttfts[i];
    r.e2e_s = ttfts[i] + decode_s;
    if (r.output_tokens > 1) r.tpot_s = decode_s / static_cast<double>(r.output_tokens - 1);
    run.requests.push_back(r);
  }
  if (doc.contains("duration") && doc["duration"].is_number()) run.span_s = doc["duration"].get<double>();
  return run;
}

MeasuredRun read_kvsim(const std::filesystem::path& path) {
  LineSource lines(path);
  const auto header = lines.next();
  if (!header) throw KvsimError(path.string() + ": empty file; expected a kvsim requests.csv");
  const std::vector<std::string> columns = trace_impl::split_csv_line(*header, lines.pos());
  const auto column = [&](std::string_view name) {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) {
      throw KvsimError(fmt::format("{}:1: no column {}; a kvsim requests.csv has {}", path.string(), name,
                                   "id, arrival_s, prompt_tokens, output_tokens, status, queue_s, ttft_s, tpot_s, "
                                   "e2e_s, ..."));
    }
    return static_cast<std::size_t>(it - columns.begin());
  };
  const std::size_t arrival = column("arrival_s"), prompt = column("prompt_tokens"), output = column("output_tokens"),
                    status = column("status"), queue = column("queue_s"), ttft = column("ttft_s"),
                    tpot = column("tpot_s"), e2e = column("e2e_s");
  MeasuredRun run;
  double first = std::numeric_limits<double>::infinity(), last = 0;
  while (auto line = lines.next()) {
    const SourcePos at = lines.pos();
    const std::vector<std::string> f = trace_impl::split_csv_line(*line, at);
    if (f.size() != columns.size()) {
      throw_trace_error(at, "row", fmt::format("has {} fields", f.size()), fmt::format("{}", columns.size()));
    }
    if (f[status] != "completed") {
      run.failed++;
      continue;
    }
    MeasuredRequest r;
    r.prompt_tokens = trace_impl::parse_length(f[prompt], at, "prompt_tokens");
    r.output_tokens = trace_impl::parse_length(f[output], at, "output_tokens");
    r.queue_s = trace_impl::parse_nonnegative(f[queue], at, "queue_s");
    r.ttft_s = trace_impl::parse_nonnegative(f[ttft], at, "ttft_s");
    r.e2e_s = trace_impl::parse_nonnegative(f[e2e], at, "e2e_s");
    if (!f[tpot].empty()) r.tpot_s = trace_impl::parse_nonnegative(f[tpot], at, "tpot_s");
    const double a = trace_impl::parse_nonnegative(f[arrival], at, "arrival_s");
    first = std::min(first, a);
    last = std::max(last, a + *r.e2e_s);
    run.requests.push_back(r);
  }
  if (!run.requests.empty()) run.span_s = last - first;
  return run;
}

}  // namespace

const std::vector<std::string>& measured_run_formats() {
  static const std::vector<std::string> kFormats = {"llmservingsim", "vllm-bench", "kvsim"};
  return kFormats;
}

MeasuredRun read_measured_run(const std::filesystem::path& path, const std::string& format) {
  MeasuredRun run;
  if (format == "llmservingsim") {
    run = read_llmservingsim(path);
  } else if (format == "vllm-bench") {
    run = read_vllm_bench(path);
  } else if (format == "kvsim") {
    run = read_kvsim(path);
  } else {
    throw KvsimError(fmt::format("unknown measured-run format '{}'; valid: {}", format,
                                 fmt::join(measured_run_formats(), ", ")));
  }
  run.format = format;
  if (run.requests.empty()) throw KvsimError(path.string() + ": no successful request to compare with");
  return run;
}

}  // namespace kvsim
