// Internal to reports/: what the single-run report (html_report.cc) and the comparison report
// (comparison_report.cc) share — tolerant readers of results documents, HTML escaping, number formatting for people,
// one-line descriptions of a scenario, the embedded data element, the inlined Chart.js, the page CSS and the page
// script's common parts. Not an API of kvsim_reports: include it only from reports/*.cc.
//
// Conventions every helper follows:
//  - Readers tolerate missing keys, nulls and wrong types (a value of the wrong type reads as missing).
//  - Formatters return plain text with "—" (kMissing) for a missing value; text is escaped with esc() when it is
//    written into the page, never before.
//  - Everything is deterministic: no locale, no clock.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kvsim::report_html {

using json = nlohmann::json;

inline constexpr std::string_view kMissing = "\u2014";  // em dash

// ---- Reading documents --------------------------------------------------------------------------------------------

// The value at `path`, or nullptr when a key is missing, a step is not an object, or the value is null.
const json* find(const json& root, std::initializer_list<std::string_view> path);
std::optional<double> number(const json* j);  // nullopt unless a number
std::optional<double> number(const json& root, std::initializer_list<std::string_view> path);
std::string text(const json& root, std::initializer_list<std::string_view> path);  // "" unless a string
// A scalar as short text: strings as is, numbers and bools as JSON, anything else compact JSON.
std::string scalar_text(const json& j);

// ---- Escaping and formatting --------------------------------------------------------------------------------------

std::string esc(std::string_view s);  // & < > " ' as entities: safe in text and in quoted attributes
std::string grouped(long long v);     // 1234567 -> "1,234,567"
// Three significant digits without exponent for ordinary magnitudes; whole numbers with separators from 1000 up.
std::string sig3(double v);
// A parameter as written by a person: whole numbers exactly (with separators), others to 3 significant digits
// without trailing zeros ("0.5", not "0.500").
std::string plain(double v);
std::string fmt_seconds(std::optional<double> s);  // "152 ms", "1.12 s", "601 s (10.0 min)"
std::string fmt_count(const json* j);              // integers with separators, fractions to 3 digits
std::string fmt_count(const json& root, std::initializer_list<std::string_view> path);
std::string fmt_number(std::optional<double> v, std::string_view unit = {});  // "2,003 tok/s"
std::string fmt_percent(std::optional<double> fraction);                       // 0.3427 -> "34.3 %"
std::string fmt_bytes(std::optional<double> b);                                 // binary units: "55.0 GiB"

// ---- Describing a run in one line ---------------------------------------------------------------------------------

// A JSON value as short text: objects with a naming key ("strategy", "name", "dist", "type"...) as
// name(key=value, ...), other objects as (key=value, ...), arrays as [a, b].
std::string compact_text(const json& j);
// The KV strategy: a name, an object with "strategy" and parameters, or a list of those (a composition).
std::string strategy_text(const json& j);
std::string shorten(std::string s, std::size_t max_chars);  // cut at a UTF-8 boundary, with "…"
std::string workload_text(const json& scenario);             // "trace conv.csv (azure-2023), first 1,000 requests"
std::string model_name(const json& results);                 // scenario.model, else model.name, else ""
// What priced the run, from the resolved scenario's cost_model: "calibrated, kvsim's calibration of h100-sxm (fitted
// on h100-sxm aiconfigurator vllm 0.24.0); the default for this GPU"; "" without a cost_model section.
std::string cost_model_text(const json& scenario);
std::string gpu_name(const json& results);                   // scenario.hardware.gpu, else gpu.name, else ""
// The GPUs with their count and parallelism: "2 × h100-sxm, TP 2"; `gpu` is gpu_name() or a fallback text.
std::string hardware_text(const json& results, const std::string& gpu);

// ---- Page parts ---------------------------------------------------------------------------------------------------

// A JSON document as the content of a <script type="application/json"> element: '<', '>' and '&' (which JSON text
// holds only inside strings) are written as \u escapes, so JSON.parse gives back the same document and no string
// can close the element or open a comment.
std::string embedded_json(const json& j);

// The inlined Chart.js (Debian's chart.min.js, embedded at build time) and its name with version.
std::string_view chartjs_source();
std::string chart_library_name();  // "Chart.js 3.9.1"

// One chart of a page: the canvas id its script draws into, a title and a one-line note.
struct ChartSpec {
  std::string_view id;
  std::string_view title;
  std::string_view note;
};
// The charts' <figure> elements (caption and canvas), one per spec, in order.
void append_chart_figures(std::string& out, std::span<const ChartSpec> charts);

// The end of every kvsim page: `data` in a <script type="application/json" id=data_id>, the inlined Chart.js, then
// kChartScriptPrelude + page_script + kChartScriptEpilogue, and the closing </body></html>.
void append_page_scripts(std::string& out, std::string_view data_id, const json& data, std::string_view page_script);

// CSS of every kvsim page.
extern const std::string_view kCss;
// Installed first in <head>: records any script error in #js-errors (made visible) and as data-js-errors on <html>,
// and defines window.kvsimReportError.
extern const std::string_view kErrorScript;
// A page script is kChartScriptPrelude + the page's own code + kChartScriptEpilogue, all one function scope.
// The prelude opens the scope, checks that Chart.js loaded, sets chart defaults and defines: reportError(message),
// get(obj, path), finite(v), sig3(v), fmtSeconds(v), fmtPercent(f), draw(canvasId, build) — build(canvas) returns a
// Chart.js config or null for "no data"; draw marks the canvas data-rendered="true" | "empty" | "blank" | "error" —
// line(label, points, color, extra) for a line dataset, baseOptions(xTitle, yTitle, xTick, yTick, tooltipLabel)
// for linear x/y axes, cdfPoints(d) ({x, y} points of a results.json distribution, [[x, fraction], ...]) and
// seriesPoints(timeline, column) ({x: time_s, y: column} points of a results.json timeline {columns, rows}) and
// sortableTable(id) (a click on a header sorts the table by the cells' data-v). The epilogue sets data-charts-rendered and data-report-ready="true" on <body> and closes the
// scope.
extern const std::string_view kChartScriptPrelude;
extern const std::string_view kChartScriptEpilogue;

}  // namespace kvsim::report_html
