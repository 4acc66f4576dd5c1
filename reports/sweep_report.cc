// The sweep report (see sweep_report.h).
#include "reports/sweep_report.h"

#include "reports/html_common.h"
#include "sim/core/error.h"

namespace kvsim {

using namespace report_html;

namespace {

constexpr ChartSpec kCharts[] = {
    {"chart-sweep-pareto", "Output throughput against TTFT p99",
     "One point per sweep point (hover for its inputs); hollow points were over capacity."},
};

struct Column {
  const char* key;
  const char* label;
  char kind;  // 'n' number, 's' seconds, 'p' percent, 'b' yes/no
};
constexpr Column kMetrics[] = {
    {"output_tokens_per_s", "Output tok/s", 'n'}, {"requests_per_s", "Req/s", 'n'},
    {"ttft_p99_s", "TTFT p99", 's'},              {"tpot_p99_s", "TPOT p99", 's'},
    {"e2e_p99_s", "E2E p99", 's'},                {"kv_capacity_tokens", "KV tokens", 'n'},
    {"preemptions", "Preemptions", 'n'},          {"slo_attainment", "SLO attainment", 'p'},
    {"goodput_requests_per_s", "Goodput", 'n'},   {"usd_per_million_output_tokens", "USD / M out tok", 'n'},
    {"overloaded", "Over capacity", 'b'},
};

std::string cell(const json& v, char kind) {
  if (v.is_null()) return std::string(kMissing);
  switch (kind) {
    case 's': return fmt_seconds(number(&v));
    case 'p': return fmt_percent(number(&v));
    case 'b': return v.is_boolean() ? (v.get<bool>() ? "yes" : "no") : std::string(kMissing);
    default: return fmt_number(number(&v));
  }
}

constexpr std::string_view kScript = R"js(
  var data = JSON.parse(document.getElementById('kvsim-sweep-data').textContent);
  var pts = Array.isArray(data.points) ? data.points : [];
  draw('chart-sweep-pareto', function () {
    var ok = [], over = [];
    pts.forEach(function (p) {
      if (!finite(p.x) || !finite(p.y)) return;
      (p.over ? over : ok).push({ x: p.x, y: p.y, label: p.label });
    });
    if (!ok.length && !over.length) return null;
    var opts = baseOptions('TTFT p99', 'output tokens per second', fmtSeconds, function (v) { return sig3(v); },
                           function (ctx) { return ctx.raw.label + ': ' + sig3(ctx.parsed.y) + ' tok/s at ' +
                                                   fmtSeconds(ctx.parsed.x); });
    opts.interaction = { mode: 'nearest', intersect: true };
    return { type: 'scatter', data: { datasets: [
      { label: 'within capacity', data: ok, backgroundColor: '#2563eb', borderColor: '#2563eb', pointRadius: 4 },
      { label: 'over capacity', data: over, backgroundColor: 'rgba(0,0,0,0)', borderColor: '#dc2626', pointRadius: 4 }
    ] }, options: opts };
  });
  sortableTable('sweep-table');
)js";

}  // namespace

std::string render_sweep_report(const nlohmann::json& s) {
  const json* points = s.is_object() ? find(s, {"points"}) : nullptr;
  if (points == nullptr || !points->is_array()) {
    throw KvsimError("sweep: expected a JSON object with \"points\" (see reports/RESULTS.md, sweep.json)");
  }
  std::vector<std::string> keys;
  if (const json* k = find(s, {"keys"}); k != nullptr && k->is_array()) {
    for (const json& key : *k) {
      if (key.is_string()) keys.push_back(key.get<std::string>());
    }
  }
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"kvsim\">\n<title>kvsim sweep</title>\n<style>";
  out += kCss;
  out += "</style>\n<script>";
  out += kErrorScript;
  out += "</script>\n</head>\n<body>\n<main>\n<div id=\"js-errors\" class=\"js-errors\" hidden></div>\n";
  out += "<header>\n<p class=\"kicker\">kvsim sweep</p>\n<h1>" + esc(text(s, {"title"})) + "</h1>\n<p class=\"note\">" +
         esc(grouped(static_cast<long long>(points->size()))) + " points of " + esc(text(s, {"scenario"})) +
         "; kvsim " + esc(text(s, {"kvsim_version"})) + ".</p>\n</header>\n";
  out += "<section id=\"chart\">\n<div class=\"charts\">\n";
  append_chart_figures(out, kCharts);
  out += "</div>\n</section>\n<section id=\"points\">\n<h2>Every point</h2>\n<p class=\"note\">Click a column to sort."
         "</p>\n<div class=\"scroll\"><table class=\"grid\" id=\"sweep-table\"><thead><tr><th scope=\"col\">Point</th>";
  for (const std::string& k : keys) out += "<th scope=\"col\"><code>" + esc(k) + "</code></th>";
  for (const Column& c : kMetrics) out += std::string("<th scope=\"col\" class=\"num\">") + esc(c.label) + "</th>";
  out += "</tr></thead><tbody>\n";
  json chart = json::array();
  for (const json& p : *points) {
    const json& o = p.value("overrides", json::object());
    const json& m = p.value("metrics", json::object());
    const std::string index = scalar_text(p.value("point", json()));
    out += "<tr><th scope=\"row\" data-v=\"" + esc(index) + "\">" + esc(index) + "</th>";
    std::string label = "point " + index;
    for (const std::string& k : keys) {
      const std::string v = o.contains(k) ? scalar_text(o[k]) : std::string(kMissing);
      out += "<td data-v=\"" + esc(v) + "\"><code>" + esc(v) + "</code></td>";
      label += ", " + k + "=" + v;
    }
    for (const Column& c : kMetrics) {
      const json v = m.value(c.key, json());
      out += "<td class=\"num\" data-v=\"" + esc(v.is_null() ? std::string() : scalar_text(v)) + "\">" +
             esc(cell(v, c.kind)) + "</td>";
    }
    out += "</tr>\n";
    chart.push_back({{"x", m.value("ttft_p99_s", json())},
                     {"y", m.value("output_tokens_per_s", json())},
                     {"over", m.value("overloaded", false)},
                     {"label", label}});
  }
  out += "</tbody></table></div>\n</section>\n</main>\n";
  append_page_scripts(out, "kvsim-sweep-data", json{{"points", chart}}, kScript);
  return out;
}

}  // namespace kvsim
