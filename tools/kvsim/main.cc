// kvsim command-line entry point: dispatches to the subcommands; turns every error into a message on stderr and
// an exit code (README, "Exit codes"): 0 success, 1 bad input (a scenario, trace, file or value kvsim rejects),
// 2 usage (unknown command or option, a flag's value out of its range), 3 internal error (a bug in kvsim),
// 130 / 143 interrupted by SIGINT / SIGTERM.
#include <cstdio>
#include <exception>
#include <iostream>

#include <fmt/format.h>

#include "sim/core/build_info.h"
#include "sim/core/error.h"
#include "sim/core/interrupt.h"
#include "tools/kvsim/commands.h"
#include "tools/kvsim/distribute.h"

int main(int argc, char** argv) {
  kvsim::install_interrupt_handlers();
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
  app.set_version_flag("--version", fmt::format("kvsim {} (git {}, {} build)", kvsim::kKvsimVersion,
                                                kvsim::git_commit(), kvsim::build_type()));
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
  // Messages may quote input: control bytes escaped, at most a few kilobytes.
  const auto message = [](const char* what) { return kvsim::quoted_input(what, 4000); };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end parsing with code 0; every other parse error is a usage error.
    const int code = app.exit(e);
    std::cout.flush();
    if (code == 0 && !std::cout) {
      fmt::print(stderr, "kvsim: error: cannot write to standard output (disk full or closed pipe?)\n");
      return 1;
    }
    return code == 0 ? 0 : 2;
  } catch (const kvsim::Interrupted& e) {
    fmt::print(stderr, "kvsim: interrupted (signal {}); no output was written\n", e.signal());
    return 128 + e.signal();
  } catch (const kvsim::KvsimError& e) {
    fmt::print(stderr, "kvsim: error: {}\n", message(e.what()));
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kvsim: internal error (a bug in kvsim; please report it with the command): {}\n",
               message(e.what()));
    return 3;
  }
  if (const int s = kvsim::interrupted(); s != 0) return 128 + s;  // after the output was complete
  // What was printed must have reached its destination (a full disk is an error, not a silent loss).
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    fmt::print(stderr, "kvsim: error: cannot write to standard output (disk full or closed pipe?)\n");
    return 1;
  }
  return 0;
}
