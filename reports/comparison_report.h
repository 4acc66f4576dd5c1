// The self-contained HTML page that compares runs of the same traffic under different KV-cache strategies (the
// `report.html` of `kvsim compare`), rendered from a comparison.json document alone (schema: reports/RESULTS.md,
// "comparison.json"): a title and description, and a list of variants, each with its name, description, run folder
// and full results.json document. The first variant is the baseline.
//
// Contract:
//  - Same page conventions as the single-run report (reports/html_report.h): opens offline and loads nothing
//    (Chart.js inlined, inline CSS and scripts, no external links); every string from the input is HTML-escaped;
//    any field may be missing or null (its cell shows "—"); the same input renders to byte-identical HTML; canvases
//    get data-rendered="true" | "empty" once drawn, <body> gets data-report-ready="true", script errors are shown
//    in #js-errors.
//  - Sections: header (title, description, model, GPU, workload, number of variants, kvsim version); the variants;
//    a side-by-side summary table with one column per variant, the baseline first, the best value of each row
//    highlighted and other variants' values also given as a ratio to the baseline ("1.84x"); overlay charts with
//    one colour per variant used in every chart (TTFT / E2E / TPOT CDFs, KV utilization and batch size over time,
//    output throughput, per-op time stacked per variant); the per-op time table; the quality effects the
//    strategies' authors report, in a separate section headed "Reported quality (as published by the authors —
//    not simulated)" and nowhere else; approximations (union over variants); relative links to each variant's own
//    report (<dir>/report.html).
//  - Only the data the charts need is embedded (in <script type="application/json" id="kvsim-comparison-data">),
//    not the variants' whole results documents.
//  - Any number of variants renders; the colour palette cycles (with dashed lines from the second round on).
//  - Throws KvsimError if `comparison` is not a JSON object.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace kvsim {

std::string render_comparison_report(const nlohmann::json& comparison);

}  // namespace kvsim
