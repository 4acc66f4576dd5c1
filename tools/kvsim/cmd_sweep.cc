// `kvsim sweep SWEEP.json --out DIR [--jobs N]`: every point of a grid of overrides (sim/plan/sweep.h) on all cores,
// resumable: DIR/points/<i>.json per finished point, then DIR/sweep.csv (one row per point: its inputs and metrics)
// and DIR/report.html.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "reports/atomic_output.h"
#include "reports/csv_writer.h"
#include "reports/sweep_report.h"
#include "sim/config/json_input.h"
#include "sim/config/scenario.h"
#include "sim/core/error.h"
#include "sim/engine/results.h"
#include "sim/plan/sweep.h"
#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"
#include "tools/kvsim/distribute.h"

namespace kvsim::cli {

namespace {

namespace fs = std::filesystem;

struct SweepArgs {
  std::string sweep, out;
  int jobs = 0;
  bool quiet = false;
};


// DIR is new, empty, or holds this same sweep (its definition): anything else is not overwritten.
void claim_directory(const fs::path& dir, const nlohmann::json& definition) {
  const fs::path def = dir / "sweep-definition.json";
  if (fs::exists(dir) && !fs::is_directory(dir)) throw KvsimError(dir.string() + ": exists and is not a folder");
  if (fs::exists(def)) {
    if (parse_json_file(def) != definition) {
      throw KvsimError(fmt::format("{}: holds another sweep (its scenario or points differ); choose another --out or "
                                   "remove it",
                                   dir.string()));
    }
    return;
  }
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    throw KvsimError(fmt::format("{}: exists and is not a kvsim sweep folder; choose another --out", dir.string()));
  }
  fs::create_directories(dir / "points");
  write_file_atomic(dir / kOutputMarker, "kvsim sweep\n");
  write_file_atomic(def, definition.dump(1) + "\n");
}

void run_sweep(const SweepArgs& a) {
  const fs::path path(a.sweep);
  const Sweep sweep = read_sweep(parse_json_file(path), fs::absolute(path).parent_path(), path.string());
  const fs::path base_dir = sweep.scenario_path.parent_path();
  const std::size_t n = sweep.points.size();
  for (std::size_t i = 0; i < n; ++i) {  // every point checked before any is simulated
    try {
      prepare_run(sweep.scenario_of(i), base_dir);
    } catch (const KvsimError& e) {
      throw KvsimError(fmt::format("{}: point {} ({}): {}", path.string(), i, sweep.points[i].to_json().dump(),
                                   e.what()));
    }
  }
  const fs::path dir = a.out.empty() ? fs::path("kvsim-out") / (path.stem().string() + "-sweep") : fs::path(a.out);
  const bool coordinator = is_coordinator();  // the process that writes (every process without MPI)
  if (coordinator) claim_directory(dir, sweep.definition());
  barrier();
  const auto point_file = [&](std::size_t i) { return dir / "points" / fmt::format("{}.json", i); };
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < n; ++i) {
    bool done = false;
    if (fs::exists(point_file(i))) {
      try {
        done = parse_json_file(point_file(i)).value("overrides", nlohmann::json()) == sweep.points[i].to_json();
      } catch (const KvsimError&) {
        done = false;  // unreadable: run it again
      }
    }
    if (!done) todo.push_back(i);
  }
  barrier();  // every rank knows what is left before rank 0 writes any point
  const int jobs = thread_count(a.jobs);
  const bool bar = !a.quiet && coordinator && isatty(STDERR_FILENO) != 0;
  std::size_t finished = 0;
  const bool holds = make_distributor(a.jobs)(
      todo.size(),
      [&](std::size_t k) {
        const std::size_t i = todo[k];
        PreparedRun run = prepare_run(sweep.scenario_of(i), base_dir);
        const nlohmann::json results = run_prepared(run, {});
        return nlohmann::json{{"point", i}, {"overrides", sweep.points[i].to_json()}, {"metrics", sweep_metrics(results)}};
      },
      [&](std::size_t k, const nlohmann::json& record) {  // one at a time
        write_file_atomic(point_file(todo[k]), record.dump(1) + "\n");
        ++finished;
        if (!bar) return;
        const int width = 30, full = static_cast<int>(width * finished / std::max<std::size_t>(1, todo.size()));
        fmt::print(stderr, "\r[{}{}] {}/{} points", std::string(static_cast<std::size_t>(full), '#'),
                   std::string(static_cast<std::size_t>(width - full), ' '), finished, todo.size());
        if (finished == todo.size()) fmt::print(stderr, "\n");
      });
  if (!holds) return;  // an MPI worker: rank 0 writes the rest
  // The table, from the points' files (those of earlier, interrupted runs included).
  std::vector<std::string> columns = {"point"};
  for (const std::string& k : sweep.keys) columns.push_back(k);
  for (const std::string& m : sweep_metric_names()) columns.push_back(m);
  std::ostringstream csv_text;
  CsvWriter csv(csv_text, columns, (dir / "sweep.csv").string());
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t i = 0; i < n; ++i) {
    const nlohmann::json record = parse_json_file(point_file(i));
    std::vector<std::string> fields = {std::to_string(i)};
    const nlohmann::json& o = record["overrides"];
    for (const std::string& k : sweep.keys) fields.push_back(o.contains(k) ? csv_field(o[k]) : std::string());
    for (const std::string& m : sweep_metric_names()) fields.push_back(csv_field(record["metrics"].value(m, nlohmann::json())));
    csv.text_row(fields);
    rows.push_back(record);
  }
  csv.flush();
  write_file_atomic(dir / "sweep.csv", csv_text.str());
  const nlohmann::json table = {{"kvsim_version", kKvsimVersion},
                                {"title", path.stem().string()},
                                {"scenario", sweep.scenario_path.string()},
                                {"keys", sweep.keys},
                                {"points", rows}};
  write_file_atomic(dir / "sweep.json", table.dump(1) + "\n");
  write_file_atomic(dir / "report.html", render_sweep_report(table));
  if (!a.quiet) {
    const std::string where =
        mpi_ranks() > 1 ? fmt::format("{} MPI worker rank(s)", mpi_ranks() - 1)
                        : fmt::format("{} thread(s)", std::min<std::size_t>(static_cast<std::size_t>(jobs),
                                                                            std::max<std::size_t>(1, todo.size())));
    fmt::print("sweep      {} points: {} run now on {}, {} done before\n", n, todo.size(), where, n - todo.size());
    fmt::print("output     {}\n", dir.string());
  }
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run one scenario at every point of a grid of overrides: {\"scenario\": PATH, \"grid\": {\"engine.max_num_seqs\":\n"
      "[64, 256], \"kv.strategy\": [\"full\", \"fp8\"]}, \"points\": [{...}]} (the grid's cartesian product, then the\n"
      "explicit points). Runs on --jobs threads; writes DIR/points/<i>.json as each point finishes (an interrupted\n"
      "sweep resumes where it stopped), then DIR/sweep.csv, DIR/sweep.json and DIR/report.html.");
  cmd->add_option("sweep", a->sweep, "sweep JSON file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "output folder (default kvsim-out/<sweep file name>-sweep)");
  cmd->add_option("--jobs", a->jobs, "threads (default: every core)")->check(integer_in(1, 4096));
  cmd->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  cmd->callback([a] { run_sweep(*a); });
}

}  // namespace kvsim::cli
