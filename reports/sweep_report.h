// The self-contained HTML page of `kvsim sweep` (DIR/report.html), rendered from sweep.json alone (schema:
// reports/RESULTS.md, "sweep.json"): the page conventions of the other reports (offline, Chart.js inlined, every
// input string escaped, "—" for missing values, deterministic output, data-rendered marks), then a scatter of output
// throughput against TTFT p99 (one point per sweep point; those over capacity drawn hollow) and a table of every
// point, its inputs and metrics, sortable by any column.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kvsim {

// Throws KvsimError unless `sweep` is an object with a "points" list.
std::string render_sweep_report(const nlohmann::json& sweep);

}  // namespace kvsim
