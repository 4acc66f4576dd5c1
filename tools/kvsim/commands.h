// The kvsim subcommands. Each add_* registers its options on the CLI11 app and the callback that runs it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace kvsim::cli {

void add_run_commands(CLI::App& app);    // run, demo
void add_list_command(CLI::App& app);    // list models, gpus, strategies, schedulers, eviction-policies, ...
void add_trace_command(CLI::App& app);   // trace stats
void add_kv_size_command(CLI::App& app); // kv-size
void add_compare_command(CLI::App& app); // compare
void add_cost_command(CLI::App& app);    // cost
void add_calibrate_command(CLI::App& app);  // calibrate
void add_validate_command(CLI::App& app);   // validate
void add_topology_command(CLI::App& app);   // topology
void add_capacity_command(CLI::App& app);   // capacity
void add_sweep_command(CLI::App& app);      // sweep
void add_plan_command(CLI::App& app);       // plan

// The options every simulating command shares: --out DIR (default shown as `default_out`), --set k=v (repeatable,
// `set_help` says what it overrides) and --quiet.
void add_output_options(CLI::App* cmd, std::string& out, std::vector<std::string>& sets, bool& quiet,
                        const std::string& default_out, const std::string& set_help);

// kvsim calibrate --serving-runs (calibrate_serving.cc): fits engine.profile.request_s to measured runs by K-fold
// cross-validation; the result holds the held-out folds' errors only.
nlohmann::json calibrate_serving_runs(const std::filesystem::path& list, int folds);
void print_serving_fit(const nlohmann::json& fit);

// --slo "ttft_p99_s=2,tpot_p99_s=0.05" as an slo section (names and ranges are checked when the scenario is read);
// KvsimError on an item that is not key=number.
nlohmann::json parse_slo_option(const std::string& text);

// What a run may write besides its directory: a Chrome/Perfetto trace (empty: none) and a progress line on stderr.
struct RunExtras {
  std::string trace_events;
  bool progress = false;
};
// Simulates one scenario (no variants) and writes its run directory atomically; returns results.json.
nlohmann::json run_to_directory(const nlohmann::json& scenario, const std::filesystem::path& base_dir,
                                const std::filesystem::path& out_dir, const RunExtras& extras = {});

}  // namespace kvsim::cli
