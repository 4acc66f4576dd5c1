// The self-contained HTML page of `kvsim capacity` (DIR/report.html), rendered from capacity.json alone (schema:
// reports/RESULTS.md, "capacity.json").
//
// Contract (the page conventions of the other reports: offline, Chart.js inlined, every input string escaped,
// missing values shown as "—", byte-identical output for the same input, canvases marked data-rendered and <body>
// data-report-ready="true"): the answer first — per variant, the highest arrival rate meeting every SLO, the GPUs,
// the fleet's cost per hour and per million output tokens there, and the margins to each deadline — then p99 TTFT,
// p99 TPOT and goodput against the offered rate, one line per variant with the SLO as a dashed line, then every
// simulated probe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kvsim {

// Throws KvsimError unless `capacity` is an object with a "variants" list.
std::string render_capacity_report(const nlohmann::json& capacity);

}  // namespace kvsim
