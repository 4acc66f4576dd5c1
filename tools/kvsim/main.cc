// kvsim command-line entry point: dispatches to the subcommands; turns every user error into a message on
// stderr and a non-zero exit (2 for usage errors from CLI11, 1 for errors in the input).
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "sim/core/error.h"
#include "tools/kvsim/commands.h"
#include "tools/kvsim/distribute.h"

int main(int argc, char** argv) {
  const kvsim::cli::MpiSession mpi(argc, argv);  // sweep and plan spread over the ranks of an mpirun
  CLI::App app{
      "kvsim: trace-driven simulator and cost model for LLM serving and KV-cache strategies.\n"
      "Replays a trace or synthetic workload through a model of a serving engine (continuous batching, paged KV,\n"
      "chunked prefill, preemption, prefix caching and memory tiers, an engine profile's overheads; one replica or\n"
      "a cluster of them behind a router: hardware.replicas, router.policy) priced by a\n"
      "kernel cost model (by default calibrated on the GPU's measured kernel tables where kvsim ships a calibration,\n"
      "else the roofline; measured tables on request), and writes results.json, requests.csv, timeline.csv and\n"
      "report.html; validates against measured serving runs (kvsim validate).",
      "kvsim"};
  app.require_subcommand(1);
  kvsim::cli::add_run_commands(app);
  kvsim::cli::add_list_command(app);
  kvsim::cli::add_trace_command(app);
  kvsim::cli::add_kv_size_command(app);
  kvsim::cli::add_compare_command(app);
  kvsim::cli::add_cost_command(app);
  kvsim::cli::add_topology_command(app);
  kvsim::cli::add_capacity_command(app);
  kvsim::cli::add_sweep_command(app);
  kvsim::cli::add_plan_command(app);
  kvsim::cli::add_calibrate_command(app);
  kvsim::cli::add_validate_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const kvsim::KvsimError& e) {
    fmt::print(stderr, "kvsim: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kvsim: internal error: {}\n", e.what());
    return 3;
  }
  return 0;
}
