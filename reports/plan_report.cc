// The plan report (see plan_report.h).
#include "reports/plan_report.h"

#include "reports/html_common.h"
#include "sim/core/error.h"

namespace kvsim {

using namespace report_html;

namespace {

constexpr ChartSpec kCharts[] = {
    {"chart-plan-pareto", "Throughput per GPU against speed per user",
     "Each simulated configuration; the line joins the Pareto front of those meeting the SLOs; hollow points miss "
     "them."},
};

std::string overrides_text(const json& c) {
  std::string s;
  if (const json* o = find(c, {"overrides"}); o != nullptr && o->is_object()) {
    for (const auto& [k, v] : o->items()) s += (s.empty() ? "" : ", ") + k + "=" + scalar_text(v);
  }
  return s;
}

// The answer's figures as a key-value panel.
void append_answer_panel(std::string& out, const json& c) {
  const auto row = [&out](std::string_view label, const std::string& value) {
    out += "<tr><th scope=\"row\">" + esc(label) + "</th><td class=\"num\">" + esc(value) + "</td></tr>\n";
  };
  out += "<div class=\"panel\"><h3>Cheapest configuration meeting the SLOs</h3><ul>\n";
  if (const json* o = find(c, {"overrides"}); o != nullptr && o->is_object()) {
    for (const auto& [k, v] : o->items()) out += "<li><code>" + esc(k) + " = " + esc(scalar_text(v)) + "</code></li>\n";
  }
  out += "</ul><table class=\"kv\"><tbody>\n";
  row("GPUs", fmt_count(c, {"gpus"}));
  row("Cost per million output tokens", fmt_number(number(c, {"metrics", "usd_per_million_output_tokens"}), "USD"));
  row("Fleet", fmt_number(number(c, {"metrics", "usd_per_hour"}), "USD/h"));
  row("Output throughput", fmt_number(number(c, {"metrics", "output_tokens_per_s"}), "tok/s"));
  row("Per GPU", fmt_number(number(c, {"output_tokens_per_s_per_gpu"}), "tok/s"));
  row("Per user", fmt_number(number(c, {"tokens_per_s_per_user"}), "tok/s"));
  row("TTFT p99", fmt_seconds(number(c, {"metrics", "ttft_p99_s"})));
  row("TPOT p99", fmt_seconds(number(c, {"metrics", "tpot_p99_s"})));
  row("SLO attainment", fmt_percent(number(c, {"metrics", "slo_attainment"})));
  out += "</tbody></table></div>\n";
}

void append_answer(std::string& out, const json& p) {
  out += "<section id=\"answer\">\n<h2>The answer</h2>\n";
  const json* answer = find(p, {"answer"});
  const json* configs = find(p, {"configs"});
  if (answer == nullptr || !answer->is_number_unsigned() || answer->get<std::size_t>() >= configs->size()) {
    out += "<div class=\"banner bad\" role=\"alert\"><strong>No configuration meets the SLOs</strong> within " +
           esc(fmt_count(p, {"max_gpus"})) + " GPUs: widen the search (grid, max_gpus) or loosen the SLOs.</div>\n";
  } else {
    const json& c = (*configs)[answer->get<std::size_t>()];
    append_answer_panel(out, c);
  }
  out += "<p class=\"note\">" + esc(fmt_count(p, {"candidates"})) + " configurations: " +
         esc(fmt_count(p, {"pruned_invalid"})) + " pruned as the scenario cannot run them (the model does not fit, a "
         "layout the model cannot take), " + esc(fmt_count(p, {"pruned_gpus"})) + " pruned for needing more than " +
         esc(fmt_count(p, {"max_gpus"})) + " GPUs, " + esc(fmt_count(p, {"simulated"})) + " simulated, " +
         esc(fmt_count(p, {"pareto"})) + " on the Pareto front.";
  if (const json* seeds = find(p, {"second_stage", "seeds"}); seeds != nullptr && seeds->is_array() && !seeds->empty()) {
    out += " Of those simulated, " + esc(fmt_count(p, {"second_stage", "simulated"})) + " vary the best " +
           esc(std::to_string(seeds->size())) + " of the grid's one thing at a time (stage 2: prefix caching, KV "
           "tiers, prefill/decode splits as the plan's <code>refine</code> and <code>pd_splits</code> say).";
  }
  out += "</p>\n</section>\n";
}

constexpr std::string_view kScript = R"js(
  var data = JSON.parse(document.getElementById('kvsim-plan-data').textContent);
  var pts = Array.isArray(data.points) ? data.points : [];
  draw('chart-plan-pareto', function () {
    var met = [], missed = [], front = [];
    pts.forEach(function (p) {
      if (!finite(p.x) || !finite(p.y)) return;
      var q = { x: p.x, y: p.y, label: p.label };
      (p.feasible ? met : missed).push(q);
      if (p.pareto) front.push(q);
    });
    if (!met.length && !missed.length) return null;
    front.sort(function (a, b) { return a.x - b.x; });
    var opts = baseOptions('tokens per second per user (1 / TPOT p50)', 'output tokens per second per GPU',
                           function (v) { return sig3(v); }, function (v) { return sig3(v); },
                           function (ctx) { return (ctx.raw.label || '') + ': ' + sig3(ctx.parsed.y) + ' tok/s/GPU, ' +
                                                   sig3(ctx.parsed.x) + ' tok/s/user'; });
    opts.interaction = { mode: 'nearest', intersect: true };
    return { type: 'scatter', data: { datasets: [
      { label: 'meets the SLOs', data: met, backgroundColor: '#2563eb', borderColor: '#2563eb', pointRadius: 4 },
      { label: 'misses them', data: missed, backgroundColor: 'rgba(0,0,0,0)', borderColor: '#dc2626', pointRadius: 4 },
      { type: 'line', label: 'Pareto front', data: front, borderColor: '#059669', backgroundColor: '#059669',
        pointRadius: 0, borderWidth: 2, showLine: true }
    ] }, options: opts };
  });
  sortableTable('plan-table');
)js";

}  // namespace

std::string render_plan_report(const nlohmann::json& p) {
  const json* configs = p.is_object() ? find(p, {"configs"}) : nullptr;
  if (configs == nullptr || !configs->is_array()) {
    throw KvsimError("plan: expected a JSON object with \"configs\" (see reports/RESULTS.md, plan.json)");
  }
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"kvsim\">\n<title>kvsim plan</title>\n<style>";
  out += kCss;
  out += "</style>\n<script>";
  out += kErrorScript;
  out += "</script>\n</head>\n<body>\n<main>\n<div id=\"js-errors\" class=\"js-errors\" hidden></div>\n";
  out += "<header>\n<p class=\"kicker\">kvsim plan</p>\n<h1>" + esc(text(p, {"scenario"})) +
         "</h1>\n<p class=\"note\">kvsim " + esc(text(p, {"kvsim_version"})) + ".</p>\n</header>\n";
  append_answer(out, p);
  out += "<section id=\"pareto\">\n<div class=\"charts\">\n";
  append_chart_figures(out, kCharts);
  out += "</div>\n</section>\n<section id=\"configs\">\n<h2>Simulated configurations</h2>\n<p class=\"note\">Click a "
         "column to sort.</p>\n<div class=\"scroll\"><table class=\"grid\" id=\"plan-table\"><thead><tr>"
         "<th scope=\"col\">Point</th><th scope=\"col\">Stage</th><th scope=\"col\">Configuration</th><th scope=\"col\" class=\"num\">GPUs</th>"
         "<th scope=\"col\" class=\"num\">Tok/s per GPU</th><th scope=\"col\" class=\"num\">Tok/s per user</th>"
         "<th scope=\"col\" class=\"num\">TTFT p99</th><th scope=\"col\" class=\"num\">TPOT p99</th>"
         "<th scope=\"col\" class=\"num\">USD / M out tok</th><th scope=\"col\">SLOs</th>"
         "<th scope=\"col\">Pareto</th></tr></thead><tbody>\n";
  json chart = json::array();
  std::string pruned;
  for (const json& c : *configs) {
    const std::string index = scalar_text(c.value("point", json()));
    if (c.contains("pruned")) {
      pruned += "<li>" + esc(index) + ": <code>" + esc(overrides_text(c)) + "</code> — " +
                esc(text(c, {"pruned"})) + "</li>\n";
      continue;
    }
    const auto num_cell = [&](std::optional<double> v, const std::string& shown) {
      return "<td class=\"num\" data-v=\"" + esc(v ? plain(*v) : std::string()) + "\">" + esc(shown) + "</td>";
    };
    const bool feasible = c.value("feasible", false), pareto = c.value("pareto", false);
    const std::string stage = c.contains("seed") ? "varies " + scalar_text(c.value("seed", json())) : "grid";
    out += "<tr><th scope=\"row\" data-v=\"" + esc(index) + "\">" + esc(index) + "</th><td data-v=\"" + esc(stage) +
           "\">" + esc(stage) + "</td><td data-v=\"" +
           esc(overrides_text(c)) + "\"><code>" + esc(overrides_text(c)) + "</code></td>" +
           num_cell(number(c, {"gpus"}), fmt_count(c, {"gpus"})) +
           num_cell(number(c, {"output_tokens_per_s_per_gpu"}), fmt_number(number(c, {"output_tokens_per_s_per_gpu"}))) +
           num_cell(number(c, {"tokens_per_s_per_user"}), fmt_number(number(c, {"tokens_per_s_per_user"}))) +
           num_cell(number(c, {"metrics", "ttft_p99_s"}), fmt_seconds(number(c, {"metrics", "ttft_p99_s"}))) +
           num_cell(number(c, {"metrics", "tpot_p99_s"}), fmt_seconds(number(c, {"metrics", "tpot_p99_s"}))) +
           num_cell(number(c, {"metrics", "usd_per_million_output_tokens"}),
                    fmt_number(number(c, {"metrics", "usd_per_million_output_tokens"}))) +
           "<td data-v=\"" + (feasible ? "met" : "missed") + "\">" +
           (feasible ? "<span class=\"ok\">met</span>" : "<span class=\"bad\">missed</span>") + "</td><td data-v=\"" +
           (pareto ? "1" : "0") + "\">" + (pareto ? "yes" : "") + "</td></tr>\n";
    chart.push_back({{"x", c.value("tokens_per_s_per_user", json())},
                     {"y", c.value("output_tokens_per_s_per_gpu", json())},
                     {"feasible", feasible},
                     {"pareto", pareto},
                     {"label", "point " + index + ": " + overrides_text(c)}});
  }
  out += "</tbody></table></div>\n";
  if (!pruned.empty()) {
    out += "<details><summary>Pruned before simulation</summary>\n<ul>\n" + pruned + "</ul>\n</details>\n";
  }
  out += "</section>\n</main>\n";
  append_page_scripts(out, "kvsim-plan-data", json{{"points", chart}}, kScript);
  return out;
}

}  // namespace kvsim
