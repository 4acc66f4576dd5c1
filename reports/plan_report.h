// The self-contained HTML page of `kvsim plan` (DIR/report.html), rendered from plan.json alone (schema:
// reports/RESULTS.md, "plan.json"), with the page conventions of the other reports: the answer first (the cheapest
// configuration meeting the SLOs: its overrides, GPUs, cost and margins) and how many configurations were pruned and
// simulated, then the Pareto chart (output tokens per second per GPU against tokens per second per user, the front
// joined, configurations missing the SLOs hollow), then a sortable table of the simulated configurations and the
// pruned ones with their reasons.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kvsim {

// Throws KvsimError unless `plan` is an object with a "configs" list.
std::string render_plan_report(const nlohmann::json& plan);

}  // namespace kvsim
