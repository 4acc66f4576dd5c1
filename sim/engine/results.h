// Builds results.json (schema: reports/RESULTS.md) from a prepared run and what it measured.
#pragma once

#include <nlohmann/json.hpp>

#include "sim/config/scenario.h"
#include "sim/core/build_info.h"
#include "sim/engine/simulator.h"

namespace kvsim {


// `slo`: the SLO tracker's result for the run (sim/metrics/slo.h).
nlohmann::json build_results(const PreparedRun& run, const RunSummary& summary, double wall_time_s,
                             const SloTracker::Result& slo);

// Runs a prepared scenario with the given observers and returns results.json (wall time measured here).
nlohmann::json run_prepared(PreparedRun& run, std::vector<ISimObserver*> observers, RunSummary* summary_out = nullptr);

}  // namespace kvsim
