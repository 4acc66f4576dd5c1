// The self-contained HTML report of one run, rendered from results.json alone (schema: reports/RESULTS.md).
//
// Contract:
//  - The page opens offline and loads nothing: the charting library (Chart.js, from Debian's libjs-chart.js) is
//    inlined at build time, CSS and page script are inline, there are no links to external resources or web fonts.
//  - Tables (summary, latency percentiles, KV cache, cost breakdown, rejections, approximations, resolved scenario)
//    are rendered here, so they read without JavaScript; charts (CDFs of TTFT / E2E / TPOT / ITL, KV utilization,
//    batch size and queue over time, cost breakdown) are drawn by the page script from the results document, which
//    is embedded verbatim in <script type="application/json" id="kvsim-results"> with every '<', '>' and '&'
//    written as a JSON \u escape, so no string value can close the element.
//  - Every string taken from the results is HTML-escaped. Any section or field may be missing (a results file of an
//    older version, a run without rejections): its cell shows "—" or the section says there is nothing to show.
//  - Deterministic: the same results document renders to byte-identical HTML.
//  - The page script marks each chart canvas with data-rendered="true" once pixels were drawn ("empty" when the
//    results hold no data for it), sets data-report-ready="true" on <body> when done, and writes any JavaScript error
//    into the element #js-errors (made visible), so browser tests can check the page without a screenshot.
//  - Throws KvsimError if `results` is not a JSON object.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace kvsim {

std::string render_html_report(const nlohmann::json& results);

// The inlined charting library and its version, e.g. "Chart.js 3.9.1".
std::string html_report_chart_library();

}  // namespace kvsim
