// `kvsim plan PLAN.json --out DIR [--jobs N]`: search the deployments of one model, GPU and traffic (sim/plan/plan.h)
// and write DIR/plan.json, DIR/plan.csv and DIR/report.html: the cheapest configuration meeting the SLOs first.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "reports/atomic_output.h"
#include "reports/csv_writer.h"
#include "reports/plan_report.h"
#include "sim/config/json_input.h"
#include "sim/core/error.h"
#include "sim/plan/plan.h"
#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"
#include "tools/kvsim/distribute.h"

namespace kvsim::cli {

namespace {

namespace fs = std::filesystem;

struct PlanArgs {
  std::string plan, out, slo;
  int jobs = 0, max_gpus = 0;
  bool quiet = false;
};

// The plan document: a plan file as it is, or a scenario file (no "scenario" key) searched over the default grid;
// --slo and --max-gpus set those of either.
nlohmann::json plan_document(const fs::path& path, const PlanArgs& a) {
  nlohmann::json doc = parse_json_file(path);
  const bool plan_file = doc.is_object() && doc.contains("scenario") && doc["scenario"].is_string();
  if (!plan_file) doc = {{"scenario", doc}};
  if (a.max_gpus > 0) doc["max_gpus"] = a.max_gpus;
  if (!a.slo.empty()) {
    if (plan_file) {  // the scenario's slo, set through an inline copy of it
      const fs::path scenario = fs::absolute(path).parent_path() / doc["scenario"].get<std::string>();
      doc["scenario"] = parse_json_file(scenario);
      if (scenario.parent_path() != fs::absolute(path).parent_path()) {
        throw KvsimError("--slo with a plan file needs its scenario in the same folder (relative paths)");
      }
    }
    nlohmann::json& slo = doc["scenario"]["slo"];
    if (!slo.is_object()) slo = nlohmann::json::object();
    const nlohmann::json given = parse_slo_option(a.slo);
    for (const auto& [k, v] : given.items()) slo[k] = v;
  }
  return doc;
}

void run_plan_command(const PlanArgs& a) {
  const fs::path path(a.plan);
  Plan plan = read_plan(plan_document(path, a), fs::absolute(path).parent_path(), path.string());
  const bool bar = !a.quiet && is_coordinator() && isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  const PlanResult r = run_plan(plan, make_pool(a.jobs), [&](std::size_t k, std::size_t n) {
    if (!bar) return;
    fmt::print(stderr, "\r{}/{} configurations simulated", k, n);
  });
  if (bar) fmt::print(stderr, "\n");
  if (!r.holds_results) return;  // an MPI worker: rank 0 writes
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json out = plan_json(plan, r);
  out["wall_time_s"] = wall;
  const fs::path dir_path = a.out.empty() ? fs::path("kvsim-out") / (path.stem().string() + "-plan") : fs::path(a.out);
  AtomicDirectory dir(dir_path);
  std::vector<std::string> columns = {"point"};
  for (const std::string& k : plan.sweep.keys) columns.push_back(k);
  for (const char* c : {"gpus", "pruned", "feasible", "pareto", "output_tokens_per_s_per_gpu", "tokens_per_s_per_user"}) {
    columns.push_back(c);
  }
  for (const std::string& m : sweep_metric_names()) columns.push_back(m);
  std::ostringstream text;
  CsvWriter csv(text, columns, (dir.path() / "plan.csv").string());
  for (const nlohmann::json& c : out["configs"]) {
    std::vector<std::string> f = {std::to_string(c["point"].get<std::size_t>())};
    for (const std::string& k : plan.sweep.keys) f.push_back(c["overrides"].contains(k) ? csv_field(c["overrides"][k]) : "");
    for (const char* k : {"gpus", "pruned", "feasible", "pareto", "output_tokens_per_s_per_gpu", "tokens_per_s_per_user"}) {
      f.push_back(csv_field(c.value(k, nlohmann::json())));
    }
    for (const std::string& m : sweep_metric_names()) {
      f.push_back(c.contains("metrics") ? csv_field(c["metrics"].value(m, nlohmann::json())) : std::string());
    }
    csv.text_row(f);
  }
  csv.flush();
  write_file_atomic(dir.path() / "plan.csv", text.str());
  write_file_atomic(dir.path() / "plan.json", out.dump(1) + "\n");
  write_file_atomic(dir.path() / "report.html", render_plan_report(out));
  dir.commit();
  if (!a.quiet) {
    fmt::print("plan       {} configurations: {} pruned (cannot run), {} pruned (over {} GPUs), {} simulated in {:.1f} s "
               "({} of them varying the best {} of the grid's), {} on the Pareto front\n",
               r.configs.size(), r.pruned_invalid, r.pruned_gpus, plan.max_gpus, r.simulated, wall,
               r.second_stage_simulated, r.seeds.size(), out["pareto"].get<std::size_t>());
    if (r.answer) {
      const PlanConfig& c = r.configs[*r.answer];
      fmt::print("answer     point {}: {} on {:g} GPUs, {:.3f} USD per million output tokens, {:.0f} tok/s\n", c.point,
                 plan.sweep.points[c.point].to_json().dump(), c.gpus,
                 c.metrics.value("usd_per_million_output_tokens", 0.0), c.metrics.value("output_tokens_per_s", 0.0));
    } else {
      fmt::print("answer     no configuration meets the SLOs within {} GPUs\n", plan.max_gpus);
    }
    fmt::print("output     {}\n", dir.final_path().string());
  }
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "plan",
      "Search the deployments of one model, GPU and traffic for the cheapest meeting the scenario's SLOs:\n"
      "{\"scenario\": PATH, \"max_gpus\": 16, \"grid\": {...}} (default grid: tensor and pipeline parallelism,\n"
      "replicas, max_num_seqs, max_num_batched_tokens, KV strategy). Configurations the scenario cannot run or that\n"
      "need more than max_gpus are pruned unsimulated. A second stage varies the best 4 (\"refine_seeds\") one\n"
      "thing at a time: prefix caching, prefix caching with a host KV tier (\"refine\"), prefill/decode splits of\n"
      "their replicas (\"pd_splits\": [0.25, 0.5]). Writes DIR/plan.json, DIR/plan.csv and DIR/report.html (the\n"
      "answer, the Pareto front of tokens/s per GPU against tokens/s per user, every configuration).");
  cmd->add_option("plan", a->plan, "plan JSON file, or a scenario JSON file (searched over the default grid)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--slo", a->slo, "deadlines, e.g. ttft_p99_s=2,tpot_p99_s=0.05 (over the scenario's slo section)");
  cmd->add_option("--max-gpus", a->max_gpus, "GPUs at most per configuration (default: the plan's, else 8)")
      ->check(integer_in(1, 4096));
  cmd->add_option("--out", a->out, "output folder (default kvsim-out/<plan file name>-plan)");
  cmd->add_option("--jobs", a->jobs, "threads (default: every core)")->check(integer_in(1, 4096));
  cmd->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  cmd->callback([a] { run_plan_command(*a); });
}

}  // namespace kvsim::cli
