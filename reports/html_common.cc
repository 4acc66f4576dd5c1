#include "reports/html_common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

// Generated at configure time by kvsim_embed_files() (reports/CMakeLists.txt): Debian's chart.min.js.
namespace kvsim::report_assets {
const std::vector<std::pair<std::string_view, std::string_view>>& chartjs_files();
}

namespace kvsim::report_html {

// ---------------------------------------------------------------------------------------------------------------
// Reading the results document. Every accessor tolerates missing keys, nulls and wrong types.

const json* find(const json& root, std::initializer_list<std::string_view> path) {
  const json* cur = &root;
  for (std::string_view key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(std::string(key));
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

std::optional<double> number(const json* j) {
  if (j == nullptr || !j->is_number()) return std::nullopt;
  return j->get<double>();
}

std::optional<double> number(const json& root, std::initializer_list<std::string_view> path) {
  return number(find(root, path));
}

std::string text(const json& root, std::initializer_list<std::string_view> path) {
  const json* j = find(root, path);
  return (j != nullptr && j->is_string()) ? j->get<std::string>() : std::string();
}

// A scalar as short text: strings as is, numbers and bools as JSON, anything else compact JSON.
std::string scalar_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------------------------------------
// HTML escaping and number formatting. Formatters return plain text; it is escaped when written into the page.

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string grouped(long long v) {
  const bool negative = v < 0;
  const unsigned long long mag = negative ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
  std::string digits = std::to_string(mag);
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return negative ? "-" + out : out;
}

// Three significant digits without exponent for ordinary magnitudes; whole numbers with separators from 1000 up.
std::string sig3(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : (v > 0 ? "\u221e" : "-\u221e");
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 999.5) return grouped(std::llround(v));
  if (a < 1e-3) return fmt::format("{:.3g}", v);
  int mag = static_cast<int>(std::floor(std::log10(a)));
  const double scale = std::pow(10.0, mag - 2);
  if (std::round(a / scale) * scale >= std::pow(10.0, mag + 1)) ++mag;  // 9.996 -> 10.0
  const int decimals = std::max(0, 2 - mag);
  return fmt::format("{:.{}f}", v, decimals);
}

// A parameter as written by a person: whole numbers exactly (with separators), others to 3 significant digits
// without trailing zeros ("0.5", not "0.500").
std::string plain(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) return grouped(static_cast<long long>(v));
  std::string out = sig3(v);
  if (out.find('.') != std::string::npos && out.find('e') == std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

std::string fmt_seconds(std::optional<double> s) {
  if (!s) return std::string(kMissing);
  const double v = *s, a = std::fabs(v);
  if (!std::isfinite(v)) return sig3(v);
  if (a == 0) return "0 s";
  if (a < 1e-6) return sig3(v * 1e9) + " ns";
  if (a < 1e-3) return sig3(v * 1e6) + " \u00b5s";
  if (a < 1) return sig3(v * 1e3) + " ms";
  if (a < 120) return sig3(v) + " s";
  std::string out = grouped(std::llround(v)) + " s";
  if (a >= 7200) return out + fmt::format(" ({:.1f} h)", v / 3600);
  return out + fmt::format(" ({:.1f} min)", v / 60);
}

std::string fmt_count(const json* j) {
  if (j == nullptr || !j->is_number()) return std::string(kMissing);
  if (j->is_number_unsigned()) {
    const auto u = j->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::to_string(u);
    return grouped(static_cast<long long>(u));
  }
  if (j->is_number_integer()) return grouped(j->get<long long>());
  const double v = j->get<double>();
  if (!std::isfinite(v)) return sig3(v);
  if (v == std::floor(v) && std::fabs(v) < 9e15) return grouped(static_cast<long long>(v));
  return sig3(v);
}

std::string fmt_count(const json& root, std::initializer_list<std::string_view> path) {
  return fmt_count(find(root, path));
}

std::string fmt_number(std::optional<double> v, std::string_view unit) {
  if (!v) return std::string(kMissing);
  std::string out = sig3(*v);
  if (!unit.empty()) {
    out.push_back(' ');
    out.append(unit);
  }
  return out;
}

std::string fmt_percent(std::optional<double> fraction) {
  if (!fraction) return std::string(kMissing);
  const double p = *fraction * 100;
  if (!std::isfinite(p)) return sig3(p);
  if (p != 0 && std::fabs(p) < 0.1) return fmt::format("{:.2g} %", p);
  return fmt::format("{:.1f} %", p);
}

std::string fmt_bytes(std::optional<double> b) {
  if (!b) return std::string(kMissing);
  const double v = *b, a = std::fabs(v);
  if (!std::isfinite(v)) return sig3(v);
  if (a < 1024) return grouped(std::llround(v)) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double x = v / 1024;
  int u = 0;
  while (std::fabs(x) >= 1024 && u < 4) {
    x /= 1024;
    ++u;
  }
  return sig3(x) + " " + kUnits[u];
}

// ---------------------------------------------------------------------------------------------------------------
// Describing the scenario in one line.

// A JSON value as short text: objects with a naming key ("strategy", "name", "dist", "type"...) as
// name(key=value, ...), other objects as (key=value, ...), arrays as [a, b].
std::string compact_text(const json& j) {
  if (j.is_array()) {
    std::string out = "[";
    for (const json& part : j) out += (out.size() > 1 ? ", " : "") + compact_text(part);
    return out + "]";
  }
  if (!j.is_object()) return scalar_text(j);
  static constexpr std::string_view kNameKeys[] = {"strategy", "name", "dist", "distribution", "type", "kind"};
  std::string name;
  std::string_view name_key;
  for (std::string_view key : kNameKeys) {
    if (auto it = j.find(std::string(key)); it != j.end() && it->is_string()) {
      name = it->get<std::string>();
      name_key = key;
      break;
    }
  }
  std::string params;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == name_key || it.value().is_null()) continue;
    params += (params.empty() ? "" : ", ") + it.key() + "=" + compact_text(it.value());
  }
  return params.empty() ? name : name + "(" + params + ")";
}

// The KV strategy: a name, an object with "strategy" and parameters, or a list of those (a composition).
std::string strategy_text(const json& j) {
  if (j.is_object()) {
    if (auto it = j.find("strategy"); it != j.end() && it->is_array()) return strategy_text(*it);
  }
  if (j.is_array()) {
    std::string out;
    for (const json& part : j) out += (out.empty() ? "" : " + ") + strategy_text(part);
    return out;
  }
  return compact_text(j);
}

std::string shorten(std::string s, std::size_t max_chars) {
  if (s.size() <= max_chars) return s;
  std::size_t cut = max_chars;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 sequences whole
  return s.substr(0, cut) + "\u2026";
}

std::string workload_text(const json& scenario) {
  const json* w = find(scenario, {"workload"});
  if (w == nullptr || !w->is_object()) return {};
  std::string out;
  if (const json* trace = find(*w, {"trace"})) {
    std::string path = text(*trace, {"path"});
    if (const auto slash = path.find_last_of('/'); slash != std::string::npos) path = path.substr(slash + 1);
    out = "trace " + (path.empty() ? std::string("?") : path);
    if (std::string format = text(*trace, {"format"}); !format.empty()) out += " (" + format + ")";
  } else if (const json* syn = find(*w, {"synthetic"})) {
    std::string params;
    if (syn->is_object()) {
      for (auto it = syn->begin(); it != syn->end(); ++it) {
        if (it.value().is_null()) continue;
        params += (params.empty() ? "" : ", ") + it.key() + "=" + shorten(compact_text(it.value()), 60);
      }
    }
    out = "synthetic" + (params.empty() ? std::string() : " (" + shorten(params, 160) + ")");
  } else {
    out = "unspecified workload";
  }
  if (auto m = number(*w, {"max_requests"})) out += ", first " + plain(*m) + " requests";
  if (auto t = number(*w, {"time_scale"}); t && *t != 1.0) out += ", time scale " + plain(*t);
  return out;
}

std::string cost_model_text(const json& scenario) {
  const json* cm = find(scenario, {"cost_model"});
  if (cm == nullptr || !cm->is_object()) return {};
  std::string out = text(*cm, {"backend"});
  if (out.empty()) return {};
  const std::string calibration = text(*cm, {"calibration"});
  if (calibration == "builtin") {
    out += ", kvsim's calibration of " + text(scenario, {"hardware", "gpu"});
  } else if (!calibration.empty()) {
    out += ", calibration " + calibration.substr(calibration.find_last_of('/') + 1);
  }
  if (const std::string fitted = text(*cm, {"about", "fitted_on"}); !fitted.empty()) {
    out += " (fitted on " + fitted + ")";
  }
  const std::string chosen = text(*cm, {"about", "chosen_by"});
  if (chosen.rfind("default", 0) == 0) out += "; the default for this GPU";
  return out;
}

std::string model_name(const json& r) {
  std::string model = text(r, {"scenario", "model"});
  if (model.empty()) model = text(r, {"model", "name"});
  return model;
}

std::string gpu_name(const json& r) {
  std::string gpu = text(r, {"scenario", "hardware", "gpu"});
  if (gpu.empty()) gpu = text(r, {"gpu", "name"});
  return gpu;
}

std::string hardware_text(const json& r, const std::string& gpu) {
  std::string gpus = gpu;
  if (const json* pools = find(r, {"scenario", "hardware", "pools"}); pools != nullptr && pools->is_array()) {
    gpus.clear();  // "1 × h100-sxm + 2 × (a100-sxm-80gb, TP 2)"
    for (const json& p : *pools) {
      const double tp = number(p, {"tensor_parallel"}).value_or(1);
      if (!gpus.empty()) gpus += " + ";
      gpus += plain(number(p, {"replicas"}).value_or(1)) + " \u00d7 " +
              (tp != 1 ? "(" + text(p, {"gpu"}) + ", TP " + plain(tp) + ")" : text(p, {"gpu"}));
    }
  } else {
    if (auto n = number(r, {"scenario", "hardware", "num_gpus"}); n && *n != 1) gpus = plain(*n) + " \u00d7 " + gpu;
    if (auto tp = number(r, {"scenario", "hardware", "tensor_parallel"}); tp && *tp != 1) gpus += ", TP " + plain(*tp);
  }
  if (auto pp = number(r, {"scenario", "hardware", "pipeline_parallel"}); pp && *pp != 1) gpus += ", PP " + plain(*pp);
  if (auto ep = number(r, {"scenario", "hardware", "expert_parallel"}); ep && *ep != 1) gpus += ", EP " + plain(*ep);
  return gpus;
}

// ---------------------------------------------------------------------------------------------------------------
// Page parts.

// A document as the content of a <script type="application/json"> element. '<', '>' and '&' occur in
// JSON text only inside strings, where \u003c etc. are equivalent escapes: JSON.parse gives back the same document
// and no "</script" or "<!--" can appear in the element.
std::string embedded_json(const json& j) {
  const std::string dumped = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size() + 64);
  for (char c : dumped) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string_view chartjs_source() {
  const auto& files = report_assets::chartjs_files();
  return files.empty() ? std::string_view() : files.front().second;
}

std::string chart_library_name() {
  const std::string_view src = chartjs_source();
  const std::string_view marker = "Chart.js v";
  const std::size_t at = src.substr(0, 400).find(marker);
  if (at == std::string_view::npos) return "Chart.js";
  std::size_t end = at + marker.size();
  while (end < src.size() && (std::isdigit(static_cast<unsigned char>(src[end])) || src[end] == '.')) ++end;
  return "Chart.js " + std::string(src.substr(at + marker.size(), end - at - marker.size()));
}


const std::string_view kCss = R"css(
:root { --fg:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --panel:#ffffff; --accent:#2563eb;
        --ok:#15803d; --bad:#b91c1c; color-scheme: light; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
header { margin-bottom: 18px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 1.2rem; margin: 34px 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 1rem; margin: 0 0 8px; font-weight: 600; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .88em; }
.scenario-name { margin: 0 0 8px; color: var(--muted); }
.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 10px 0 0; }
.facts div { display: flex; gap: 6px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin: 18px 0 6px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.card-label { color: var(--muted); font-size: .82rem; text-transform: uppercase; letter-spacing: .04em; }
.card-value { font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums; margin-top: 2px; }
.card-sub { color: var(--muted); font-size: .85rem; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.panel.wide { margin-bottom: 14px; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 14px; align-items: start; }
table { border-collapse: collapse; width: 100%; background: var(--panel); }
th, td { padding: 5px 10px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); }
thead th { font-size: .82rem; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
tbody th { font-weight: 500; }
tfoot th, tfoot td { font-weight: 650; border-bottom: 0; }
table.grid tbody tr:nth-child(even) { background: #f9fafb; }
table.kv th { width: 55%; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.hint { display: block; color: var(--muted); font-size: .78rem; font-weight: 400; }
.note { color: var(--muted); font-size: .9rem; margin: 4px 0 10px; }
.ok { color: var(--ok); font-weight: 600; }
.banner { border-radius: 8px; padding: 10px 14px; margin: 0 0 14px; }
.banner.bad { background: #fef2f2; border: 1px solid #fecaca; }
.bad { color: var(--bad); font-weight: 600; }
.unknown { color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 14px; }
figure.chart { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
figcaption .note { margin-bottom: 6px; }
.chart-box { position: relative; height: 290px; }
.chart-box.multiples-box { height: auto; }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; }
.multiple-title { margin: 0 0 2px; font-size: .8em; color: var(--muted); }
.multiple-canvas { position: relative; height: 120px; }
.chart-box.cost { height: 260px; margin-bottom: 14px; background: var(--panel); border: 1px solid var(--line);
                  border-radius: 10px; padding: 10px; }
.no-data { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
           color: var(--muted); margin: 0; }
.share-col { width: 18%; }
.bar { display: inline-block; height: .75em; border-radius: 2px; background: #94a3b8; vertical-align: middle; }
.bar.bound-compute { background: #2563eb; }
.bar.bound-memory { background: #d97706; }
.bar.bound-latency { background: #7c3aed; }
ul.approx { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px 12px 34px; margin: 0; }
ul.approx li { margin: 4px 0; }
details { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 8px 14px; margin: 10px 0; }
summary { cursor: pointer; font-weight: 600; }
pre.json { max-height: 560px; overflow: auto; background: #f3f4f6; padding: 10px 12px; border-radius: 6px; margin: 10px 0 4px; }
.js-errors { background: #fef2f2; color: var(--bad); border: 1px solid #fecaca; border-radius: 8px; padding: 10px 14px;
             white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .85rem; }
footer { margin-top: 40px; color: var(--muted); font-size: .85rem; }
@media print { body { background: #fff; } .panel, .card, figure.chart, details { break-inside: avoid; } }
)css";

// Installed before everything else so that errors in any later script, Chart.js included, are shown and testable.
const std::string_view kErrorScript = R"js(
(function () {
  var errors = [];
  function show(message) {
    errors.push(String(message));
    var el = document.getElementById('js-errors');
    if (el) { el.hidden = false; el.textContent = 'Error in the report script:\n' + errors.join('\n'); }
    document.documentElement.setAttribute('data-js-errors', String(errors.length));
  }
  window.kvsimReportError = show;
  window.addEventListener('error', function (e) {
    show((e.message || 'error') + (e.filename ? ' (' + e.filename + ':' + e.lineno + ')' : ''));
  });
  window.addEventListener('unhandledrejection', function (e) { show('unhandled rejection: ' + e.reason); });
})();
)js";

// The common part of every page script (html_common.h says what it defines).
void append_chart_figures(std::string& out, std::span<const ChartSpec> charts) {
  out += "<div class=\"charts\">\n";
  for (const ChartSpec& c : charts) {
    out += fmt::format(
        "<figure class=\"chart\"><figcaption><h3>{}</h3><p class=\"note\">{}</p></figcaption>"
        "<div class=\"chart-box\"><canvas id=\"{}\" role=\"img\" aria-label=\"{}\"></canvas></div></figure>\n",
        esc(c.title), esc(c.note), c.id, esc(c.title));
  }
  out += "</div>\n";
}

void append_page_scripts(std::string& out, std::string_view data_id, const json& data, std::string_view page_script) {
  out += "<script type=\"application/json\" id=\"";
  out += data_id;
  out += "\">";
  out += embedded_json(data);
  out += "</script>\n<script>";
  out += chartjs_source();
  out += "\n</script>\n<script>";
  out += kChartScriptPrelude;
  out += page_script;
  out += kChartScriptEpilogue;
  out += "</script>\n</body>\n</html>\n";
}

const std::string_view kChartScriptPrelude = R"js(
(function () {
  'use strict';
  var reportError = window.kvsimReportError || function (m) { throw new Error(m); };
  if (typeof Chart === 'undefined') { reportError('Chart.js is not defined'); return; }

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#374151';
  Chart.defaults.borderColor = '#e5e7eb';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.responsive = true;

  function get(obj, path) {
    for (var i = 0; i < path.length; i++) {
      if (obj === null || typeof obj !== 'object') return undefined;
      obj = obj[path[i]];
    }
    return obj;
  }
  function finite(v) { return typeof v === 'number' && isFinite(v); }
  function cdfPoints(d) {
    if (!Array.isArray(d)) return [];
    var pts = [];
    d.forEach(function (p) {
      if (Array.isArray(p) && finite(p[0]) && finite(p[1])) pts.push({ x: p[0], y: p[1] });
    });
    return pts;
  }
  function seriesPoints(timeline, name) {
    var columns = get(timeline, ['columns']), rows = get(timeline, ['rows']);
    if (!Array.isArray(columns) || !Array.isArray(rows)) return [];
    var t = columns.indexOf('time_s'), c = columns.indexOf(name);
    if (t < 0 || c < 0) return [];
    var pts = [];
    rows.forEach(function (row) {
      if (Array.isArray(row) && finite(row[t]) && finite(row[c])) pts.push({ x: row[t], y: row[c] });
    });
    return pts;
  }
  function sig3(v) {
    if (v === 0) return '0';
    if (Math.abs(v) >= 999.5) return Math.round(v).toLocaleString('en-US');
    return String(Number(v.toPrecision(3)));
  }
  function fmtSeconds(v) {
    if (!finite(v)) return '\u2014';
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a < 1e-3) return sig3(v * 1e6) + ' \u00b5s';
    if (a < 1) return sig3(v * 1e3) + ' ms';
    return sig3(v) + ' s';
  }
  function fmtPercent(f) { return finite(f) ? (f * 100).toFixed(1) + ' %' : '\u2014'; }

  var rendered = 0;
  function painted(canvas) {
    var w = canvas.width, h = canvas.height;
    if (!w || !h) return false;
    var data = canvas.getContext('2d').getImageData(0, 0, w, h).data;
    for (var i = 3; i < data.length; i += 4 * 5) if (data[i] !== 0) return true;
    return false;
  }
  function noData(canvas, message) {
    canvas.setAttribute('data-rendered', 'empty');
    canvas.style.display = 'none';
    var p = document.createElement('p');
    p.className = 'no-data';
    p.textContent = message;
    canvas.parentNode.appendChild(p);
  }
  function draw(id, build) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    try {
      var config = build(canvas);
      if (!config) { noData(canvas, 'No data for this chart in results.json.'); return; }
      new Chart(canvas, config);
      var ok = painted(canvas);
      canvas.setAttribute('data-rendered', ok ? 'true' : 'blank');
      if (ok) rendered++;
    } catch (e) {
      canvas.setAttribute('data-rendered', 'error');
      reportError(id + ': ' + (e && e.stack ? e.stack : e));
    }
  }
  // Small multiples, for timelines that would carry too many lines (a large cluster's replicas, many variants): one
  // small chart per panel ({title, config}) in a grid in place of the canvas `id`. The canvas counts as drawn when
  // every panel painted; each panel's canvas carries data-panel-rendered.
  var MULTIPLES_FROM = 5;  // lines on one timeline from which pages draw small multiples instead
  function drawMultiples(id, build) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    try {
      var panels = build(canvas);
      if (!panels || !panels.length) { noData(canvas, 'No data for this chart in results.json.'); return; }
      var box = canvas.parentNode;
      canvas.style.display = 'none';
      box.classList.add('multiples-box');
      if (panels.axes) {
        var axes = document.createElement('p');
        axes.className = 'multiple-title';
        axes.textContent = panels.axes;
        box.appendChild(axes);
      }
      var grid = document.createElement('div');
      grid.className = 'multiples';
      box.appendChild(grid);
      var all = true;
      panels.forEach(function (p) {
        var cell = document.createElement('div'), title = document.createElement('p'),
            inner = document.createElement('div'), c = document.createElement('canvas');
        cell.className = 'multiple';
        title.className = 'multiple-title';
        title.textContent = p.title;
        inner.className = 'multiple-canvas';
        c.setAttribute('role', 'img');
        c.setAttribute('aria-label', p.title);
        inner.appendChild(c);
        cell.appendChild(title);
        cell.appendChild(inner);
        grid.appendChild(cell);
        new Chart(c, p.config);
        var ok = painted(c);
        c.setAttribute('data-panel-rendered', ok ? 'true' : 'blank');
        all = all && ok;
      });
      canvas.setAttribute('data-rendered', all ? 'true' : 'blank');
      if (all) rendered++;
    } catch (e) {
      canvas.setAttribute('data-rendered', 'error');
      reportError(id + ': ' + (e && e.stack ? e.stack : e));
    }
  }
  // Panels of line datasets, one per dataset, all on the same x range and y range (yMax, or the largest value) so
  // that they compare at a glance; legends and axis titles off (each panel is titled by its dataset's label, the
  // axes named once above the grid).
  function panelsOf(datasets, xTitle, yTitle, xTick, yTick, yMax) {
    datasets = datasets.filter(function (ds) { return ds.data.length > 0; });
    var xmin = Infinity, xmax = -Infinity, ymax = -Infinity;
    datasets.forEach(function (ds) {
      ds.data.forEach(function (q) {
        if (finite(q.x)) { xmin = Math.min(xmin, q.x); xmax = Math.max(xmax, q.x); }
        if (finite(q.y)) ymax = Math.max(ymax, q.y);
      });
    });
    var panels = datasets.map(function (ds) {
      var opts = baseOptions(xTitle, yTitle, xTick, yTick,
        function (ctx) { return ds.label + ': ' + yTick(ctx.parsed.y) + ' at ' + xTick(ctx.parsed.x); });
      opts.plugins.legend = { display: false };
      opts.maintainAspectRatio = false;
      opts.scales.x.title.display = false;
      opts.scales.y.title.display = false;
      opts.scales.x.ticks.maxTicksLimit = 4;
      if (finite(xmin) && xmax > xmin) { opts.scales.x.min = xmin; opts.scales.x.max = xmax; }
      opts.scales.y.max = yMax !== undefined ? yMax : (finite(ymax) && ymax > 0 ? ymax : undefined);
      opts.scales.y.ticks.maxTicksLimit = 4;
      return { title: String(ds.label), config: { type: 'line', data: { datasets: [ds] }, options: opts } };
    });
    panels.axes = yTitle + ' against ' + xTitle + ', the same axes in every panel';
    return panels;
  }
  // A click on a header of table `id` sorts its body by that column (again: the other way), by the cells' data-v
  // (numerically when both are numbers).
  function sortableTable(id) {
    var table = document.getElementById(id);
    if (!table) return;
    var heads = table.querySelectorAll('thead th');
    heads.forEach(function (th, col) {
      th.style.cursor = 'pointer';
      th.addEventListener('click', function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var dir = th.getAttribute('data-dir') === 'asc' ? -1 : 1;
        heads.forEach(function (h) { h.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', dir > 0 ? 'asc' : 'desc');
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
          var nx = parseFloat(x), ny = parseFloat(y);
          if (finite(nx) && finite(ny)) return dir * (nx - ny);
          return dir * String(x).localeCompare(String(y));
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  function line(label, data, color, extra) {
    var ds = { label: label, data: data, borderColor: color, backgroundColor: color, borderWidth: 2,
               pointRadius: data.length < 40 ? 2.5 : 0, pointHoverRadius: 4, tension: 0 };
    for (var k in extra) ds[k] = extra[k];
    return ds;
  }
  function baseOptions(xTitle, yTitle, xTick, yTick, tooltipLabel) {
    return {
      parsing: false, normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', title: { display: true, text: xTitle }, ticks: { callback: xTick, maxTicksLimit: 9 } },
        y: { type: 'linear', beginAtZero: true, title: { display: true, text: yTitle }, ticks: { callback: yTick } }
      },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 14, boxHeight: 2 } },
                 tooltip: { callbacks: { label: tooltipLabel } } }
    };
  }
)js";

const std::string_view kChartScriptEpilogue = R"js(
  document.body.setAttribute('data-charts-rendered', String(rendered));
  document.body.setAttribute('data-report-ready', 'true');
})();
)js";

}  // namespace kvsim::report_html
