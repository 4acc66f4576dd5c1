// Writes one run directory: requests.csv and timeline.csv streamed while the run goes, then results.json,
// scenario.json (resolved) and report.html; all staged and committed atomically.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/atomic_output.h"
#include "reports/csv_writer.h"
#include "sim/config/scenario.h"
#include "sim/metrics/observer.h"
#include "sim/metrics/request_table.h"

namespace kvsim {

class RunOutput final : public ISimObserver {
 public:
  // The output of `run` in `dir`. requests.csv has, for a cluster (hardware.replicas > 1), the replica each request
  // was served by and, under disaggregation, how long its KV took to move (one-replica runs keep the columns they
  // always had); with request classes (workload.classes), each request's class last.
  RunOutput(const std::filesystem::path& dir, const PreparedRun& run);
  void on_request_finished(const RequestRecord& r) override;
  void on_timeline_sample(const TimelineSample& t) override;
  // Writes results.json, scenario.json and report.html, then publishes the directory.
  void commit(const nlohmann::json& results);
  const std::filesystem::path& final_path() const { return dir_.final_path(); }

 private:
  AtomicDirectory dir_;
  std::ofstream requests_file_, timeline_file_;
  std::unique_ptr<CsvWriter> requests_, timeline_;
  RequestTable table_;
};

}  // namespace kvsim
