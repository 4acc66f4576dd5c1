// The kvsim subcommands. Each add_* registers its options on the CLI11 app and the callback that runs it.
#pragma once

#include <CLI/CLI.hpp>

namespace kvsim::cli {

void add_run_commands(CLI::App& app);    // run, demo
void add_list_command(CLI::App& app);    // list models|gpus|schedulers|cost-models|trace-formats
void add_trace_command(CLI::App& app);   // trace stats

}  // namespace kvsim::cli
