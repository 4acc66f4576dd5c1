// `kvsim validate SCENARIO.json --measured FILE --format F`: simulate the scenario a real run was made under and set
// kvsim's latencies beside the measured ones (sim/metrics/validation.h); the run directory's results.json gains a
// `validation` section and its report a validation section with the error table and measured-vs-kvsim CDFs.
#include <algorithm>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/config/json_input.h"
#include "sim/config/scenario.h"
#include "sim/config/variants.h"
#include "sim/core/error.h"
#include "sim/engine/results.h"
#include "sim/metrics/validation.h"
#include "tools/kvsim/commands.h"
#include "tools/kvsim/run_output.h"
#include "traces/measured_run.h"

namespace kvsim::cli {

namespace {

struct ValidateArgs {
  std::string scenario, measured, format, out;
  std::vector<std::string> sets;
  bool quiet = false;
};

std::string fmt_value(const std::string& metric, double v) {
  return metric.ends_with("_s") ? fmt::format("{:.4g} s", v) : fmt::format("{:.4g}", v);
}

void print_table(const nlohmann::json& v) {
  fmt::print("validation {} ({}): {} measured requests ({} failed), {} simulated\n",
             v["measured_run"]["path"].get<std::string>(), v["measured_run"]["format"].get<std::string>(),
             v["requests"]["measured"].get<long long>(), v["measured_run"]["failed"].get<long long>(),
             v["requests"]["kvsim"].get<long long>());
  fmt::print("{:<22} {:>12} {:>12} {:>9}\n", "metric", "measured", "kvsim", "error");
  const auto row = [](const std::string& name, const nlohmann::json& c, const std::string& metric) {
    const std::string error = c["error"].is_null() ? "-" : fmt::format("{:+.1f} %", 100 * c["error"].get<double>());
    fmt::print("{:<22} {:>12} {:>12} {:>9}\n", name, fmt_value(metric, c["measured"].get<double>()),
               fmt_value(metric, c["kvsim"].get<double>()), error);
  };
  for (const std::string metric : {"ttft_s", "tpot_s", "e2e_s", "queue_s"}) {
    if (!v["metrics"].contains(metric)) continue;
    for (const char* stat : {"mean", "p50", "p90", "p99"}) row(metric + " " + stat, v["metrics"][metric][stat], metric);
  }
  if (v.contains("throughput")) {
    for (const auto& [name, c] : v["throughput"].items()) row(name, c, "");
  }
}

void validate(const ValidateArgs& a) {
  const std::filesystem::path path(a.scenario);
  nlohmann::json doc = parse_json_file(path);
  if (has_variants(doc)) throw KvsimError("the scenario has variants: validate one with `kvsim run --variant` first");
  for (const std::string& s : a.sets) apply_override(doc, s);
  // The measured run first, so that a bad file fails before the simulation.
  const MeasuredRun measured = read_measured_run(a.measured, a.format);
  LatencySamples measured_samples;
  for (const MeasuredRequest& r : measured.requests) measured_samples.add(r);
  measured_samples.span_s = measured.span_s;

  PreparedRun run = prepare_run(doc, std::filesystem::absolute(path).parent_path());
  const std::filesystem::path out =
      a.out.empty() ? std::filesystem::path("kvsim-out") / (path.stem().string() + "-validate") : std::filesystem::path(a.out);
  RunOutput output(out, run);
  LatencyRecorder simulated;
  nlohmann::json results = run_prepared(run, {&output, &simulated});
  nlohmann::json v = compare_latencies(measured_samples, simulated.take());
  v["measured_run"] = {{"path", std::filesystem::absolute(a.measured).string()},
                       {"format", measured.format},
                       {"failed", measured.failed}};
  results["validation"] = v;
  output.commit(results);
  if (!a.quiet) {
    print_table(v);
    fmt::print("output     {}\n", out.string());
  }
}

}  // namespace

void add_validate_command(CLI::App& app) {
  auto a = std::make_shared<ValidateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Simulate SCENARIO.json (the engine configuration and workload a real run was made under) and set kvsim's\n"
      "latencies beside the measured ones: per metric (TTFT, TPOT, E2E, queue) the mean, p50, p90 and p99 of both,\n"
      "nearest-rank from exact per-request values, and kvsim's relative error; throughput where the measured file\n"
      "gives the run's span. Writes the run directory with results.json `validation` and the comparison in\n"
      "report.html (measured-vs-kvsim CDFs). Measured formats: llmservingsim (vllm/requests.jsonl), vllm-bench\n"
      "(vllm bench serve --save-result JSON), kvsim (a kvsim run's requests.csv).");
  cmd->add_option("scenario", a->scenario, "scenario JSON file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--measured", a->measured, "the measured run's per-request file")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--format", a->format, "format of --measured")
      ->required()
      ->check(CLI::IsMember(measured_run_formats()));
  add_output_options(cmd, a->out, a->sets, a->quiet, "kvsim-out/<scenario file name>-validate",
                     "override a scenario key: --set engine.max_num_seqs=128; repeatable");
  cmd->callback([a] { validate(*a); });
}

}  // namespace kvsim::cli
