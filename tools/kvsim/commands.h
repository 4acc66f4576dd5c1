// The kvsim subcommands. Each add_* registers its options on the CLI11 app and the callback that runs it.
#pragma once

#include <filesystem>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace kvsim::cli {

void add_run_commands(CLI::App& app);    // run, demo
void add_list_command(CLI::App& app);    // list models|gpus|strategies|schedulers|cost-models|trace-formats
void add_trace_command(CLI::App& app);   // trace stats
void add_kv_size_command(CLI::App& app); // kv-size
void add_compare_command(CLI::App& app); // compare
void add_cost_command(CLI::App& app);    // cost
void add_calibrate_command(CLI::App& app);  // calibrate

// Simulates one scenario (no variants) and writes its run directory atomically; returns results.json.
nlohmann::json run_to_directory(const nlohmann::json& scenario, const std::filesystem::path& base_dir,
                                const std::filesystem::path& out_dir);

}  // namespace kvsim::cli
