// The capacity report (see capacity_report.h).
#include "reports/capacity_report.h"

#include <fmt/format.h>

#include "reports/html_common.h"
#include "sim/core/error.h"

namespace kvsim {

using namespace report_html;

namespace {

constexpr ChartSpec kCharts[] = {
    {"chart-cap-ttft", "TTFT p99 against the offered rate", "Each point a simulated probe; the dashed line the SLO."},
    {"chart-cap-tpot", "TPOT p99 against the offered rate", "Each point a simulated probe; the dashed line the SLO."},
    {"chart-cap-goodput", "Goodput against the offered rate",
     "Requests per second meeting every deadline; where it falls away from the offered rate, requests miss."},
};

// Margin of a measured p99 to its deadline: "38 % under" / "12 % over".
std::string margin(std::optional<double> value, std::optional<double> deadline) {
  if (!value || !deadline || *deadline <= 0) return std::string(kMissing);
  const double m = (*deadline - *value) / *deadline;
  return fmt::format("{:.0f} % {}", 100 * std::abs(m), m >= 0 ? "under" : "over");
}

void append_answer(std::string& out, const json& c) {
  out += "<section id=\"answer\">\n<h2>The answer</h2>\n<div class=\"scroll\"><table class=\"grid\"><thead><tr>"
         "<th scope=\"col\">Variant</th><th scope=\"col\">Verdict</th>"
         "<th scope=\"col\" class=\"num\">Highest rate meeting the SLOs</th><th scope=\"col\" class=\"num\">GPUs</th>"
         "<th scope=\"col\" class=\"num\">Fleet</th><th scope=\"col\" class=\"num\">Per million output tokens</th>"
         "<th scope=\"col\" class=\"num\">TTFT p99 margin</th><th scope=\"col\" class=\"num\">TPOT p99 margin</th>"
         "<th scope=\"col\" class=\"num\">Attainment</th></tr></thead><tbody>\n";
  const auto deadline = [&](std::string_view key) { return number(c, {"slo", key}); };
  for (const json& v : *find(c, {"variants"})) {
    const json* at = find(v, {"at_max"});
    const json& a = at != nullptr ? *at : json::object();
    out += "<tr><th scope=\"row\">" + esc(text(v, {"name"})) + "</th><td>" + esc(text(v, {"verdict"})) +
           "</td><td class=\"num\">" + esc(fmt_number(number(v, {"max_rate_per_s"}), "req/s")) +
           "</td><td class=\"num\">" + esc(fmt_count(v, {"gpus"})) + "</td><td class=\"num\">" +
           esc(fmt_number(number(a, {"usd_per_hour"}), "USD/h")) + "</td><td class=\"num\">" +
           esc(fmt_number(number(a, {"usd_per_million_output_tokens"}), "USD")) + "</td><td class=\"num\">" +
           esc(margin(number(a, {"ttft_p99_s"}), deadline("ttft_p99_s"))) + "</td><td class=\"num\">" +
           esc(margin(number(a, {"tpot_p99_s"}), deadline("tpot_p99_s"))) + "</td><td class=\"num\">" +
           esc(fmt_percent(number(a, {"attainment"}))) + "</td></tr>\n";
  }
  out += "</tbody></table></div>\n<p class=\"note\">A rate passes when every deadline is met by at least " +
         esc(fmt_percent(number(c, {"slo", "attainment"}))) +
         " of requests and the run is not over capacity; the highest passing rate is found by doubling or halving "
         "the workload's own rate, then bisection to " +
         esc(fmt_percent(number(c, {"tolerance"}))) + ". Rates are offered arrival rates of the simulated stream.</p>\n"
         "</section>\n";
}

void append_probes(std::string& out, const json& c) {
  out += "<section id=\"probes\">\n<h2>Every probe</h2>\n<div class=\"scroll\"><table class=\"grid\"><thead><tr>"
         "<th scope=\"col\">Variant</th><th scope=\"col\" class=\"num\">Rate multiplier</th>"
         "<th scope=\"col\" class=\"num\">Offered</th><th scope=\"col\">Passes</th>"
         "<th scope=\"col\" class=\"num\">TTFT p99</th><th scope=\"col\" class=\"num\">TPOT p99</th>"
         "<th scope=\"col\" class=\"num\">Attainment</th><th scope=\"col\" class=\"num\">Goodput</th>"
         "<th scope=\"col\">Over capacity</th></tr></thead><tbody>\n";
  for (const json& v : *find(c, {"variants"})) {
    const json* probes = find(v, {"probes"});
    if (probes == nullptr || !probes->is_array()) continue;
    for (const json& p : *probes) {
      const json* over = find(p, {"overloaded"});
      out += "<tr><th scope=\"row\">" + esc(text(v, {"name"})) + "</th><td class=\"num\">" +
             esc(fmt_number(number(p, {"multiplier"}))) + "</td><td class=\"num\">" +
             esc(fmt_number(number(p, {"offered_rate_per_s"}), "req/s")) + "</td><td>" +
             (p.value("passes", false) ? "<span class=\"ok\">yes</span>" : "<span class=\"bad\">no</span>") +
             "</td><td class=\"num\">" + esc(fmt_seconds(number(p, {"ttft_p99_s"}))) + "</td><td class=\"num\">" +
             esc(fmt_seconds(number(p, {"tpot_p99_s"}))) + "</td><td class=\"num\">" +
             esc(fmt_percent(number(p, {"attainment"}))) + "</td><td class=\"num\">" +
             esc(fmt_number(number(p, {"goodput_requests_per_s"}), "req/s")) + "</td><td>" +
             (over != nullptr && over->is_boolean() ? (over->get<bool>() ? "yes" : "no") : std::string(kMissing)) +
             "</td></tr>\n";
    }
  }
  out += "</tbody></table></div>\n</section>\n";
}

constexpr std::string_view kScript = R"js(
  var data = JSON.parse(document.getElementById('kvsim-capacity-data').textContent);
  var palette = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
  var variants = Array.isArray(data.variants) ? data.variants : [];
  function points(v, key) {
    var ps = (Array.isArray(v.probes) ? v.probes : []).filter(function (p) {
      return finite(p.offered_rate_per_s) && finite(p[key]);
    }).map(function (p) { return { x: p.offered_rate_per_s, y: p[key] }; });
    ps.sort(function (a, b) { return a.x - b.x; });
    return ps;
  }
  function rateChart(key, yTitle, yTick, deadline) {
    return function () {
      var sets = variants.map(function (v, i) { return line(String(v.name), points(v, key), palette[i % palette.length]); })
                         .filter(function (d) { return d.data.length > 0; });
      if (!sets.length) return null;
      var xs = [];
      sets.forEach(function (d) { d.data.forEach(function (p) { xs.push(p.x); }); });
      if (finite(deadline)) {
        sets.push(line('SLO', [{ x: Math.min.apply(null, xs), y: deadline }, { x: Math.max.apply(null, xs), y: deadline }],
                       '#6b7280', { borderDash: [6, 4], pointRadius: 0 }));
      }
      var config = { type: 'line', data: { datasets: sets },
                     options: baseOptions('offered requests per second', yTitle, function (v) { return sig3(v); }, yTick,
                                          function (ctx) { return ctx.dataset.label + ': ' + yTick(ctx.parsed.y) +
                                                           ' at ' + sig3(ctx.parsed.x) + ' req/s'; }) };
      // Tails past the knee span decades: a logarithmic axis keeps the points below the SLO readable.
      var ys = [];
      sets.forEach(function (d) { d.data.forEach(function (p) { if (p.y > 0) ys.push(p.y); }); });
      if (ys.length >= 2 && Math.max.apply(null, ys) / Math.min.apply(null, ys) > 30) {
        config.options.scales.y.type = 'logarithmic';
        config.options.scales.y.title.text = yTitle + ' (logarithmic)';
      }
      return config;
    };
  }
  var slo = data.slo || {};
  draw('chart-cap-ttft', rateChart('ttft_p99_s', 'TTFT p99', fmtSeconds, slo.ttft_p99_s));
  draw('chart-cap-tpot', rateChart('tpot_p99_s', 'TPOT p99', fmtSeconds, slo.tpot_p99_s));
  draw('chart-cap-goodput', rateChart('goodput_requests_per_s', 'goodput (req/s)', function (v) { return sig3(v); }));
)js";

}  // namespace

std::string render_capacity_report(const nlohmann::json& c) {
  const json* variants = c.is_object() ? find(c, {"variants"}) : nullptr;
  if (variants == nullptr || !variants->is_array()) {
    throw KvsimError("capacity: expected a JSON object with \"variants\" (see reports/RESULTS.md, capacity.json)");
  }
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"kvsim\">\n<title>kvsim capacity</title>\n<style>";
  out += kCss;
  out += "</style>\n<script>";
  out += kErrorScript;
  out += "</script>\n</head>\n<body>\n<main>\n<div id=\"js-errors\" class=\"js-errors\" hidden></div>\n";
  std::string slo_text;
  if (const json* slo = find(c, {"slo"}); slo != nullptr && slo->is_object()) {
    for (const auto& [key, value] : slo->items()) {
      if (key == "attainment" || !value.is_number()) continue;
      if (!slo_text.empty()) slo_text += ", ";
      slo_text += key + " \u2264 " + fmt_seconds(value.get<double>());
    }
  }
  out += "<header>\n<p class=\"kicker\">kvsim capacity</p>\n<h1>" + esc(text(c, {"title"})) +
         "</h1>\n<p class=\"note\">SLOs: " + esc(slo_text.empty() ? std::string(kMissing) : slo_text) + "; " +
         esc(fmt_count(c, {"simulations"})) + " simulations in " + esc(fmt_seconds(number(c, {"wall_time_s"}))) +
         "; kvsim " + esc(text(c, {"kvsim_version"})) + ".</p>\n</header>\n";
  append_answer(out, c);
  out += "<section id=\"curves\">\n<h2>Latency and goodput against the rate</h2>\n<div class=\"charts\">\n";
  append_chart_figures(out, kCharts);
  out += "</div>\n</section>\n";
  append_probes(out, c);
  out += "</main>\n";
  // The charts need the probes' rates and p99s, and the SLO.
  json data = {{"slo", c.value("slo", json::object())}, {"variants", json::array()}};
  for (const json& v : *variants) {
    json probes = json::array();
    if (const json* ps = find(v, {"probes"}); ps != nullptr && ps->is_array()) {
      for (const json& p : *ps) {
        probes.push_back({{"offered_rate_per_s", p.value("offered_rate_per_s", json())},
                          {"ttft_p99_s", p.value("ttft_p99_s", json())},
                          {"tpot_p99_s", p.value("tpot_p99_s", json())},
                          {"goodput_requests_per_s", p.value("goodput_requests_per_s", json())}});
      }
    }
    data["variants"].push_back({{"name", v.value("name", std::string())}, {"probes", std::move(probes)}});
  }
  append_page_scripts(out, "kvsim-capacity-data", data, kScript);
  return out;
}

}  // namespace kvsim
