// `kvsim capacity SCENARIO.json --slo ...`: per variant, the highest arrival rate that meets the SLOs (sim/plan/
// capacity.h), the fleet's cost there, and every probe; writes DIR/capacity.json and DIR/report.html.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "reports/atomic_output.h"
#include "reports/capacity_report.h"
#include "sim/config/json_input.h"
#include "sim/config/scenario.h"
#include "sim/config/variants.h"
#include "sim/core/error.h"
#include "sim/engine/results.h"
#include "sim/plan/capacity.h"
#include "sim/plan/sweep.h"
#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"
#include "tools/kvsim/distribute.h"

namespace kvsim::cli {

namespace {

struct CapacityArgs {
  std::string scenario, out, slo;
  std::vector<std::string> sets;
  double tolerance = 0.02;
  double target_rate = 0;
  int jobs = 0;
  bool quiet = false;
};

}  // namespace

nlohmann::json parse_slo_option(const std::string& text) {
  nlohmann::json slo = nlohmann::json::object();
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      throw KvsimError(fmt::format("--slo: '{}' is not key=value (e.g. ttft_p99_s=2,tpot_p99_s=0.05)", item));
    }
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != value.size()) throw KvsimError(fmt::format("--slo: {}: '{}' is not a number", key, value));
    slo[key] = v;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return slo;
}

namespace {

// The probe's figures kept in capacity.json.
nlohmann::json probe_json(const CapacityProbe& p) {
  const nlohmann::json m = sweep_metrics({{"summary", p.summary}});  // the figures a sweep keeps of a run
  return {{"multiplier", p.multiplier},
          {"offered_rate_per_s", p.offered_rate_per_s},
          {"passes", p.passes},
          {"ttft_p99_s", m["ttft_p99_s"]},
          {"tpot_p99_s", m["tpot_p99_s"]},
          {"e2e_p99_s", m["e2e_p99_s"]},
          {"attainment", m["slo_attainment"]},
          {"goodput_requests_per_s", m["goodput_requests_per_s"]},
          {"overloaded", m["overloaded"]},
          {"usd_per_hour", m["usd_per_hour"]},
          {"usd_per_million_output_tokens", m["usd_per_million_output_tokens"]}};
}

void run_capacity(const CapacityArgs& a) {
  const std::filesystem::path path(a.scenario);
  const std::filesystem::path base_dir = std::filesystem::absolute(path).parent_path();
  nlohmann::json doc = parse_json_file(path);
  for (const std::string& s : a.sets) apply_override(doc, s);
  if (!a.slo.empty()) {
    nlohmann::json& slo = doc["slo"];
    if (!slo.is_object()) slo = nlohmann::json::object();
    const nlohmann::json given = parse_slo_option(a.slo);  // a named object: items() refers to it
    for (const auto& [k, v] : given.items()) slo[k] = v;
  }
  const auto class_slo = [](const nlohmann::json& d) {
    const nlohmann::json* classes = nullptr;
    if (d.contains("workload") && d["workload"].is_object() && d["workload"].contains("classes")) {
      classes = &d["workload"]["classes"];
    }
    if (classes == nullptr || !classes->is_array()) return false;
    return std::any_of(classes->begin(), classes->end(),
                       [](const nlohmann::json& c) { return c.is_object() && c.contains("slo"); });
  };
  if (!doc.contains("slo") && !class_slo(doc)) {
    throw KvsimError(
        "kvsim capacity needs SLOs: --slo ttft_p99_s=2,tpot_p99_s=0.05, a scenario \"slo\" section or a request "
        "class with an \"slo\" (workload.classes)");
  }
  std::vector<Variant> variants;
  if (has_variants(doc)) {
    variants = expand_variants(doc);
  } else {
    variants.push_back({"base", "", doc});
  }
  nlohmann::json slo;  // as the first variant reads it (every variant may have its own; the report shows this)
  for (const Variant& v : variants) {  // every variant checked before any is simulated
    try {
      const PreparedRun run = prepare_run(v.scenario, base_dir);
      if (slo.is_null()) slo = run.resolved.value("slo", nlohmann::json::object());
    } catch (const KvsimError& e) {
      throw KvsimError(fmt::format("variant '{}': {}", v.name, e.what()));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  CapacityOptions options;
  options.tolerance = a.tolerance;
  // A task is one probe: {"variant": i, "multiplier": m}; its result the probe (summary included).
  const Compute compute = [&](const nlohmann::json& task) {
    const CapacityProbe p = probe_scenario(variants.at(task.at("variant").get<std::size_t>()).scenario, base_dir,
                                           task.at("multiplier").get<double>());
    return nlohmann::json{{"passes", p.passes}, {"offered_rate_per_s", p.offered_rate_per_s}, {"summary", p.summary}};
  };
  std::vector<CapacityResult> results;
  std::size_t width = 1;
  const bool holds = make_pool(a.jobs)(compute, [&](Workers& workers) {
    width = workers.width();
    std::vector<CapacitySearch> searches(variants.size(), CapacitySearch(options));
    // Rounds: every unfinished variant's search names the probes it needs next, sharing the workers (a search
    // alone gets them all and speculates ahead; sim/plan/capacity.h).
    while (true) {
      std::vector<std::size_t> open;
      for (std::size_t v = 0; v < searches.size(); ++v) {
        if (!searches[v].done()) open.push_back(v);
      }
      if (open.empty()) break;
      std::vector<nlohmann::json> tasks;
      for (std::size_t k = 0; k < open.size(); ++k) {
        const std::size_t share = std::max<std::size_t>(1, width / open.size() + (k < width % open.size() ? 1 : 0));
        for (const double m : searches[open[k]].wanted(share)) tasks.push_back({{"variant", open[k]}, {"multiplier", m}});
      }
      workers.run(tasks, [&](std::size_t i, const nlohmann::json& r) {
        const std::size_t v = tasks[i]["variant"].get<std::size_t>();
        CapacityProbe p;
        p.multiplier = tasks[i]["multiplier"].get<double>();
        p.passes = r.at("passes").get<bool>();
        p.offered_rate_per_s = r.at("offered_rate_per_s").get<double>();
        p.summary = r.at("summary");
        if (!a.quiet) {
          fmt::print(stderr, "  {:<16} x{:<8.4g} {:>9.3f} req/s  {}\n", variants[v].name, p.multiplier,
                     p.offered_rate_per_s, p.passes ? "passes" : "fails");
        }
        searches[v].record(p);
      });
    }
    for (const CapacitySearch& search : searches) results.push_back(search.result());
  });
  if (!holds) return;  // an MPI worker: rank 0 writes
  nlohmann::json out = {{"kvsim_version", kKvsimVersion},
                        {"title", doc.value("name", path.stem().string())},
                        {"tolerance", a.tolerance},
                        {"slo", slo},
                        {"variants", nlohmann::json::array()}};
  int simulations = 0;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    const CapacityResult& r = results[v];
    simulations += r.simulations;
    const nlohmann::json gpus = r.probes.empty() ? nlohmann::json() : r.probes.front().summary["cost"]["gpus"];
    nlohmann::json entry = {{"name", variants[v].name},
                            {"verdict", r.verdict},
                            {"multiplier", r.multiplier},
                            {"gpus", gpus},
                            {"probes", nlohmann::json::array()}};
    for (const CapacityProbe& p : r.probes) entry["probes"].push_back(probe_json(p));
    if (const CapacityProbe* best = r.best()) {
      entry["max_rate_per_s"] = best->offered_rate_per_s;
      entry["at_max"] = probe_json(*best);
      if (a.target_rate > 0 && best->offered_rate_per_s > 0) {
        // Replicas scale the rate linearly (a router spreading requests evenly): ceil(target / rate) copies.
        const double copies = std::ceil(a.target_rate / best->offered_rate_per_s);
        entry["for_target_rate"] = {{"target_rate_per_s", a.target_rate},
                                    {"copies_of_this_deployment", copies},
                                    {"gpus", gpus.is_number() ? copies * gpus.get<double>() : 0.0},
                                    {"usd_per_hour", copies * best->summary["cost"].value("usd_per_hour", 0.0)}};
      }
    } else {
      entry["max_rate_per_s"] = nullptr;
    }
    if (!a.quiet) {
      fmt::print("{:<18} {}: {}\n", variants[v].name, r.verdict,
                 entry["max_rate_per_s"].is_number()
                     ? fmt::format("{:.3f} req/s at {:.2f} USD/h, {:.3f} USD per million output tokens",
                                   entry["max_rate_per_s"].get<double>(),
                                   entry["at_max"].value("usd_per_hour", 0.0),
                                   entry["at_max"].value("usd_per_million_output_tokens", 0.0))
                     : std::string("no rate tried meets the SLOs"));
    }
    out["variants"].push_back(std::move(entry));
  }
  // Probes simulated, speculative ones off each search's path included (they depend on --jobs or MPI ranks; the
  // paths and answers do not).
  out["simulations"] = simulations;
  out["workers"] = width;
  out["wall_time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::filesystem::path dir_path =
      a.out.empty() ? std::filesystem::path("kvsim-out") / (path.stem().string() + "-capacity") : std::filesystem::path(a.out);
  AtomicDirectory dir(dir_path);
  write_file_atomic(dir.path() / "capacity.json", out.dump(1) + "\n");
  write_file_atomic(dir.path() / "report.html", render_capacity_report(out));
  dir.commit();
  if (!a.quiet) {
    fmt::print("output     {} ({} simulations on {} worker(s))\n", dir.final_path().string(), simulations, width);
  }
}

}  // namespace

void add_capacity_command(CLI::App& app) {
  auto a = std::make_shared<CapacityArgs>();
  CLI::App* cmd = app.add_subcommand(
      "capacity",
      "Per variant (or the scenario alone), the highest arrival rate that meets the SLOs: the workload's own rate\n"
      "doubled or halved until the outcome changes, then bisected to --tolerance (each probe a full simulation; a\n"
      "probe passes when every SLO is met and the run is not over capacity). Writes DIR/capacity.json and\n"
      "DIR/report.html. Assumes passing is monotone in the rate; replicas for --target-rate scale linearly. Probes\n"
      "run on --jobs threads (or MPI ranks): variants side by side, and a lone search probes ahead of its\n"
      "bisection (same answer and path, more simulations).");
  cmd->add_option("scenario", a->scenario, "scenario JSON file (with or without \"variants\")")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--slo", a->slo, "deadlines, e.g. ttft_p99_s=2,tpot_p99_s=0.05 (over the scenario's slo section)");
  cmd->add_option("--tolerance", a->tolerance, "relative width of the final bracket (default 0.02)")
      ->check(number_in(1e-4, 1.0));
  cmd->add_option("--target-rate", a->target_rate, "requests per second to serve: copies of the deployment needed")
      ->check(number_in(1e-6, 1e9, "requests per second"));
  cmd->add_option("--jobs", a->jobs, "threads (default: every core); under mpirun, the MPI ranks instead")
      ->check(integer_in(1, 4096));
  add_output_options(cmd, a->out, a->sets, a->quiet, "kvsim-out/<scenario file name>-capacity",
                     "override a key of the scenario (before the variants are merged); repeatable");
  cmd->callback([a] { run_capacity(*a); });
}

}  // namespace kvsim::cli
