// `kvsim compare SCENARIO.json` and `kvsim demo`: run every variant of a comparison scenario under the same
// traffic and write DIR/<variant>/... plus DIR/comparison.json, DIR/comparison.csv and a side-by-side report.html.
#include <filesystem>
#include <cmath>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "reports/atomic_output.h"
#include "reports/comparison_report.h"
#include "reports/csv_writer.h"
#include "sim/config/json_input.h"
#include "sim/config/scenario.h"
#include "sim/config/variants.h"
#include "sim/engine/results.h"
#include "tools/kvsim/commands.h"

namespace kvsim::cli {

namespace {

struct CompareArgs {
  std::string scenario, out;
  std::vector<std::string> sets;
  bool quiet = false;
};

double number_or_nan(const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

void write_comparison_csv(const std::filesystem::path& path, const nlohmann::json& comparison) {
  std::ostringstream out;
  CsvWriter csv(out,
                {"variant", "strategy", "kv_capacity_tokens", "completed", "rejected", "requests_per_s",
                 "output_tokens_per_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "e2e_p50_s",
                 "e2e_p99_s", "max_batch", "mean_batch", "kv_peak_utilization", "preemptions", "prefix_hit_rate",
                 "replicas", "router", "load_imbalance"},
                path.string());
  for (const nlohmann::json& v : comparison["variants"]) {
    const nlohmann::json& s = v["results"]["summary"];
    csv.row(v["name"].get<std::string>(), s["kv"]["strategy"].get<std::string>(),
            s["kv"]["capacity_tokens"].get<long long>(), s["requests"]["completed"].get<long long>(),
            s["requests"]["rejected"].get<long long>(), number_or_nan(s["throughput"]["requests_per_s"]),
            number_or_nan(s["throughput"]["output_tokens_per_s"]), number_or_nan(s["ttft_s"]["p50"]),
            number_or_nan(s["ttft_s"]["p99"]), number_or_nan(s["tpot_s"]["p50"]), number_or_nan(s["tpot_s"]["p99"]),
            number_or_nan(s["e2e_s"]["p50"]), number_or_nan(s["e2e_s"]["p99"]),
            s["batch"]["max_size"].get<long long>(), number_or_nan(s["batch"]["mean_size"]),
            number_or_nan(s["kv"]["peak_utilization"]), s["kv"]["preemptions"].get<long long>(),
            number_or_nan(s["prefix_cache"].value("hit_rate", nlohmann::json())),
            s.contains("cluster") ? s["cluster"]["replicas"].get<long long>() : 1LL,
            s.contains("cluster") ? s["cluster"]["router"].value("policy", std::string()) : std::string(),
            s.contains("cluster") ? number_or_nan(s["cluster"]["load_imbalance"]) : std::nan(""));
  }
  write_file_atomic(path, out.str());
}

void compare_document(nlohmann::json doc, const std::filesystem::path& base_dir, const CompareArgs& args,
                      const std::filesystem::path& out_dir) {
  if (!has_variants(doc)) {
    throw KvsimError("the scenario has no \"variants\"; add a list like [{\"name\": \"full\"}, {\"name\": \"fp8\", "
                     "\"kv\": {\"strategy\": \"fp8\"}}], or use `kvsim run`");
  }
  for (const std::string& s : args.sets) apply_override(doc, s);
  const std::vector<Variant> variants = expand_variants(doc);
  // Check every variant before simulating any, so a typo in the last one fails fast.
  for (const Variant& v : variants) {
    try {
      prepare_run(v.scenario, base_dir);
    } catch (const KvsimError& e) {
      throw KvsimError(fmt::format("variant '{}': {}", v.name, e.what()));
    }
  }
  AtomicDirectory dir(out_dir);
  nlohmann::json comparison = {{"kvsim_version", kKvsimVersion},
                               {"title", doc.value("name", std::string("comparison"))},
                               {"description", doc.value("description", std::string())},
                               {"variants", nlohmann::json::array()}};
  for (const Variant& v : variants) {
    nlohmann::json results = run_to_directory(v.scenario, base_dir, dir.path() / v.name);
    if (!args.quiet) {
      const auto& s = results["summary"];
      fmt::print("{:<18} {:>9.0f} out tok/s  TTFT p99 {:>8.3f} s  E2E p99 {:>8.2f} s  {:>5} preemptions\n", v.name,
                 number_or_nan(s["throughput"]["output_tokens_per_s"]), number_or_nan(s["ttft_s"]["p99"]),
                 number_or_nan(s["e2e_s"]["p99"]), s["kv"]["preemptions"].get<long long>());
    }
    comparison["variants"].push_back(
        {{"name", v.name}, {"description", v.description}, {"dir", v.name}, {"results", std::move(results)}});
  }
  write_comparison_csv(dir.path() / "comparison.csv", comparison);
  write_file_atomic(dir.path() / "comparison.json", comparison.dump(1) + "\n");
  write_file_atomic(dir.path() / "report.html", render_comparison_report(comparison));
  dir.commit();
  if (!args.quiet) fmt::print("output     {}\n", dir.final_path().string());
}

void add_options(CLI::App* cmd, CompareArgs& a, const std::string& default_out) {
  add_output_options(cmd, a.out, a.sets, a.quiet, default_out,
                     "override a key of the base scenario (before the variants are merged); repeatable");
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Run every entry of the scenario's \"variants\" (named partial scenarios merged over the base, e.g. KV\n"
      "strategies) under the same traffic; write DIR/<variant>/{results.json,...}, DIR/comparison.json,\n"
      "DIR/comparison.csv and a side-by-side DIR/report.html.");
  cmd->add_option("scenario", a->scenario, "scenario JSON file with \"variants\"")->required()->check(CLI::ExistingFile);
  add_options(cmd, *a, "kvsim-out/<scenario file name without .json>");
  cmd->callback([a] {
    const std::filesystem::path path(a->scenario);
    const std::filesystem::path out =
        a->out.empty() ? std::filesystem::path("kvsim-out") / path.stem() : std::filesystem::path(a->out);
    compare_document(parse_json_file(path), std::filesystem::absolute(path).parent_path(), *a, out);
  });

  auto d = std::make_shared<CompareArgs>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Built-in comparison (needs no file): Llama-3.1-8B on one H100 (vLLM-v1-style scheduler) under bursty\n"
      "chat traffic heavy enough to fill the KV cache, with eight KV strategies: full, fp8, kivi-2, snapkv, h2o,\n"
      "streaming-llm, quest and snapkv+kivi-2. Writes kvsim-out/demo/report.html. --set overrides base keys.");
  add_options(demo, *d, "kvsim-out/demo");
  demo->callback([d] {
    const std::filesystem::path out = d->out.empty() ? "kvsim-out/demo" : d->out;
    compare_document(demo_scenario(), std::filesystem::current_path(), *d, out);
  });
}

}  // namespace kvsim::cli
