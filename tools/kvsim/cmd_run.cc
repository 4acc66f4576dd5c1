// `kvsim run SCENARIO.json` and `kvsim demo`: simulate one scenario and write its run directory.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "reports/html_common.h"
#include "sim/config/json_input.h"
#include "sim/config/variants.h"
#include "sim/core/error.h"
#include "sim/config/scenario.h"
#include "sim/engine/results.h"
#include "tools/kvsim/commands.h"
#include "sim/metrics/trace_events.h"
#include "tools/kvsim/progress.h"
#include "tools/kvsim/run_output.h"

namespace kvsim::cli {

nlohmann::json run_to_directory(const nlohmann::json& doc, const std::filesystem::path& base_dir,
                                const std::filesystem::path& out_dir, const RunExtras& extras) {
  PreparedRun run = prepare_run(doc, base_dir);
  RunOutput output(out_dir, run);
  std::vector<ISimObserver*> observers{&output};
  std::unique_ptr<TraceEventWriter> trace;
  if (!extras.trace_events.empty()) {
    trace = std::make_unique<TraceEventWriter>(extras.trace_events);
    observers.push_back(trace.get());
  }
  std::unique_ptr<Progress> progress;
  if (extras.progress) {
    progress = std::make_unique<Progress>();
    observers.push_back(progress.get());
  }
  const nlohmann::json results = run_prepared(run, observers);
  if (progress) progress->finish();
  output.commit(results);
  if (trace) trace->commit();
  return results;
}

namespace {

struct RunArgs {
  std::string scenario;
  std::string out;
  std::string variant;
  std::vector<std::string> sets;
  bool sort = false;
  bool quiet = false;
  std::string trace_events;
};

void print_summary(const nlohmann::json& r, const std::filesystem::path& dir) {
  const auto& s = r.at("summary");
  // Latencies in ms (or "-" when the distribution is empty, e.g. TPOT when every output is one token).
  // A latency with its unit: milliseconds below 10 s, seconds up to an hour, then minutes.
  const auto ms = [](const nlohmann::json& v, int digits) {
    if (v.is_null()) return std::string("-");
    const double s = v.get<double>();
    if (s < 10) return fmt::format("{:.{}f} ms", s * 1e3, digits);
    if (s < 3600) return fmt::format("{:.2f} s", s);
    return fmt::format("{:.1f} min", s / 60);
  };
  const auto sec = [](const nlohmann::json& v) {
    if (v.is_null()) return std::string("-");
    const double s = v.get<double>();
    return s < 3600 ? fmt::format("{:.2f} s", s) : fmt::format("{:.1f} min", s / 60);
  };
  // What priced the run: the cost backend, and the engine profile when one adds time around the GPU's work.
  const auto& scenario = r.at("scenario");
  const auto& engine = scenario.at("engine");
  fmt::print("priced by  cost model {}{}\n", report_html::cost_model_text(scenario),
             engine.contains("profile") ? ", engine profile " + engine["profile"].value("name", std::string("?"))
                                        : std::string(", no engine profile"));
  fmt::print("requests   arrived {}  completed {}  rejected {}{}\n", s["requests"]["arrived"].get<long long>(),
             s["requests"]["completed"].get<long long>(), s["requests"]["rejected"].get<long long>(),
             s["requests"]["timed_out"].get<long long>() > 0
                 ? fmt::format("  timed out {}", s["requests"]["timed_out"].get<long long>())
                 : std::string());
  fmt::print("throughput {:.2f} req/s  {:.0f} input tok/s  {:.0f} output tok/s\n",
             s["throughput"]["requests_per_s"].get<double>(), s["throughput"]["input_tokens_per_s"].get<double>(),
             s["throughput"]["output_tokens_per_s"].get<double>());
  fmt::print("TTFT       p50 {}  p99 {}\n", ms(s["ttft_s"]["p50"], 1), ms(s["ttft_s"]["p99"], 1));
  fmt::print("TPOT       p50 {}  p99 {}\n", ms(s["tpot_s"]["p50"], 2), ms(s["tpot_s"]["p99"], 2));
  fmt::print("E2E        p50 {}  p99 {}\n", sec(s["e2e_s"]["p50"]), sec(s["e2e_s"]["p99"]));
  fmt::print("KV         {} tokens capacity, peak {:.1f}%, mean {:.1f}%, {} preemptions\n",
             s["kv"]["capacity_tokens"].get<long long>(), 100 * s["kv"]["peak_utilization"].get<double>(),
             100 * s["kv"]["mean_utilization"].get<double>(), s["kv"]["preemptions"].get<long long>());
  const auto& cost = s["cost"];
  fmt::print("cost       {:.2f} USD/h for {} GPUs, {:.3f} USD per million output tokens\n",
             cost["usd_per_hour"].get<double>(), cost["gpus"].get<double>(),
             cost["usd_per_million_output_tokens"].get<double>());
  if (s.contains("energy")) {
    const bool tdp = s["energy"].value("power_model", "tdp") == "tdp";
    fmt::print("energy     {:.3f} J per output token {} ({:.0f} W mean{})\n",
               s["energy"]["joules_per_output_token"].get<double>(),
               tdp ? "at TDP" : "by GPU utilization", s["energy"]["watts"].get<double>(),
               tdp ? ", an upper bound" : "; idle power assumed");
  }
  if (s.contains("slo")) {
    const auto& slo = s["slo"];
    std::string parts;
    for (const auto& [key, target] : slo["targets"].items()) {
      parts += fmt::format("  {} <= {:g} s: {:.1f}%", key, target.get<double>(),
                           100 * slo["attainment"][key].get<double>());
    }
    fmt::print("SLO        {} (target {:g}%){}, goodput {:.2f} req/s\n", slo["met"].get<bool>() ? "met" : "NOT met",
               100 * slo["attainment_target"].get<double>(), parts, slo["goodput_requests_per_s"].get<double>());
  }
  if (s.contains("classes")) {
    for (const auto& [name, c] : s["classes"].items()) {
      const nlohmann::json& slo = c["slo"];
      fmt::print("class      {}: {} requests, TTFT p99 {}, E2E p99 {}, SLO {}\n", name,
                 c["requests_counted"].get<long long>(), ms(c["ttft_s"]["p99"], 1), sec(c["e2e_s"]["p99"]),
                 slo.is_null() ? "none"
                               : fmt::format("{} ({:.1f}% meet all)", slo["met"].get<bool>() ? "met" : "NOT met",
                                             100 * slo["attainment"]["all"].get<double>()));
    }
  }
  if (s["overloaded"].get<bool>()) {
    fmt::print("OVERLOADED {} (queue grows {:.3f} s per s of arrivals; offered {:.2f} req/s)\n",
               s["load"]["overloaded_because"].get<std::string>(), s["load"]["queue_growth_s_per_s"].get<double>(),
               s["load"]["offered_rate_per_s"].get<double>());
  }
  if (s.contains("cluster")) {
    const auto& c = s["cluster"];
    fmt::print("cluster    {} replicas, router {}, load imbalance {:.3f} (max / mean completed)\n",
               c["replicas"].get<long long>(), c["router"].value("policy", std::string("?")),
               c["load_imbalance"].get<double>());
  }
  if (const auto& pc = s["prefix_cache"]; pc.value("enabled", false)) {
    fmt::print("prefix     {:.1f}% of prompt tokens found cached, {} blocks evicted, {} cached at the end\n",
               100 * pc["hit_rate"].get<double>(), pc["evicted_blocks"].get<long long>(),
               pc["cached_blocks_at_end"].get<long long>());
    if (!pc["tiers"].empty()) {
      fmt::print("  tiers    {:.1f}% of prompt tokens found on the GPU or below it, {} prefill tokens saved\n",
                 100 * pc["total_hit_rate"].get<double>(), pc["prefill_tokens_saved"].get<long long>());
    }
    if (const auto& cr = pc["chunk_reuse"]; cr.value("reused_tokens", 0LL) > 0 || cr.value("stored_chunks", 0LL) > 0) {
      fmt::print("  chunks   {} chunk tokens reused ({} recomputed, {:.2f} GiB loaded), {} chunks stored, {} evicted\n",
                 cr["reused_tokens"].get<long long>(), cr["recomputed_tokens"].get<long long>(),
                 cr["loaded_bytes"].get<double>() / (1024.0 * 1024 * 1024), cr["stored_chunks"].get<long long>(),
                 cr["evicted_chunks"].get<long long>());
    }
    for (const auto& t : pc["tiers"]) {
      fmt::print("  {:<8} {} blocks loaded ({:.2f} GiB), {} written, {} demoted, {} dropped, {} cached at the end\n",
                 t["tier"].get<std::string>(), t["hit_blocks"].get<long long>(),
                 t["loaded_bytes"].get<double>() / (1024.0 * 1024 * 1024), t["stored_blocks"].get<long long>(),
                 t["demoted_blocks"].get<long long>(), t["dropped_blocks"].get<long long>(),
                 t["cached_blocks_at_end"].get<long long>());
    }
  }
  fmt::print("time       {:.1f} s simulated in {:.3f} s wall ({} iterations)\n",
             s["simulated_time_s"].get<double>(), s["wall_time_s"].get<double>(),
             s["iterations"].get<long long>());
  fmt::print("output     {}\n", dir.string());
}

void run_document(nlohmann::json doc, const std::filesystem::path& base_dir, const RunArgs& args,
                  const std::filesystem::path& out_dir) {
  doc = scenario_for_one_run(doc, args.variant, args.variant.empty() ? "--variant NAME" : "--variant");
  for (const std::string& s : args.sets) apply_override(doc, s);
  if (args.sort) apply_override(doc, "workload.trace.sort=true");
  // Progress on a terminal only (a log or a pipe gets the summary alone).
  const RunExtras extras{args.trace_events, !args.quiet && ::isatty(STDERR_FILENO) != 0};
  const nlohmann::json results = run_to_directory(doc, base_dir, out_dir, extras);
  if (!args.quiet) print_summary(results, out_dir);
}

}  // namespace

void add_output_options(CLI::App* cmd, std::string& out, std::vector<std::string>& sets, bool& quiet,
                        const std::string& default_out, const std::string& set_help) {
  cmd->add_option("--out", out, "output directory (replaced atomically)")
      ->default_str(default_out)
      ->check(CLI::Validator(
          [](std::string& dir) { return dir.empty() ? std::string("an empty path; give a directory") : std::string(); },
          "DIR"));
  cmd->add_option("--set", sets, set_help);
  cmd->add_flag("--quiet,-q", quiet, "print nothing on success");
}

void add_run_commands(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand(
      "run",
      "Simulate SCENARIO.json and write DIR/results.json, requests.csv, timeline.csv, scenario.json, report.html.\n"
      "Relative paths inside the scenario are resolved against the scenario file's folder; paths given with --set\n"
      "against the current folder. Approximations made by the model are listed in results.json and the report.");
  run->add_option("scenario", args->scenario, "scenario JSON file")->required()->check(CLI::ExistingFile);
  add_output_options(run, args->out, args->sets, args->quiet, "kvsim-out/<scenario file name without .json>",
                     "override a scenario key: --set engine.max_num_seqs=128 (value parsed as JSON, else a string); "
                     "repeatable");
  run->add_flag("--sort", args->sort, "sort a trace whose timestamps are not monotonic (reads it whole)");
  run->add_option("--variant", args->variant, "run one variant of a comparison scenario");
  run->add_option("--trace-events", args->trace_events,
                  "also write the run as a Chrome/Perfetto trace (JSON; ui.perfetto.dev): per replica its iterations "
                  "(batch, tokens, per-op time) and each request's lifetime; large (~300 bytes per iteration)")
      ->check(CLI::Validator(
          [](std::string& f) { return f.empty() ? std::string("an empty path; give a file") : std::string(); },
          "FILE"));
  run->callback([args] {
    const std::filesystem::path path(args->scenario);
    const std::filesystem::path out =
        args->out.empty() ? std::filesystem::path("kvsim-out") / path.stem() : std::filesystem::path(args->out);
    run_document(parse_json_file(path), std::filesystem::absolute(path).parent_path(), *args, out);
  });
}

}  // namespace kvsim::cli
