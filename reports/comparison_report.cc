#include "reports/comparison_report.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/html_common.h"
#include "sim/core/error.h"

namespace kvsim {
namespace {

using namespace report_html;

// ---------------------------------------------------------------------------------------------------------------
// Variants and their colours.

// One colour per variant, the same in every chart and in the tables' column heads. From the ninth variant on the
// palette starts again with a dash pattern per round, so lines stay distinguishable.
constexpr std::string_view kPalette[] = {"#2563eb", "#ea580c", "#16a34a", "#dc2626",
                                         "#7c3aed", "#0891b2", "#db2777", "#a16207"};
constexpr std::size_t kPaletteSize = std::size(kPalette);
// Dash patterns (Chart.js borderDash) per round through the palette; CSS border styles for the swatches.
const std::vector<std::vector<int>> kDashes = {{}, {7, 4}, {2, 3}, {10, 3, 2, 3}};
constexpr std::string_view kSwatchStyles[] = {"solid", "dashed", "dotted", "double"};

// Colours of the ops in the stacked time-breakdown chart (ops are not variants: a palette of its own, muted so that
// it does not read as the variant colours), "other" last.
constexpr std::string_view kOpPalette[] = {"#1e3a8a", "#60a5fa", "#b45309", "#fbbf24", "#065f46", "#34d399",
                                           "#6b21a8", "#c084fc", "#9f1239", "#fb7185", "#334155"};
constexpr std::string_view kOtherOpColor = "#cbd5e1";
constexpr std::size_t kMaxChartOps = std::size(kOpPalette);  // more ops are summed into "other" in the chart

struct Variant {
  std::size_t index = 0;
  std::string name;
  std::string description;
  std::string dir;
  const json* results = nullptr;  // nullptr when missing, null or not an object
  std::string color;
  std::size_t round = 0;  // how many times the palette went round before this variant
};

const json& empty_object() {
  static const json kEmpty = json::object();
  return kEmpty;
}

const json& results_of(const Variant& v) { return v.results != nullptr ? *v.results : empty_object(); }

std::vector<Variant> read_variants(const json& comparison) {
  std::vector<Variant> out;
  const json* list = find(comparison, {"variants"});
  if (list == nullptr || !list->is_array()) return out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    Variant v;
    v.index = i;
    v.name = text(item, {"name"});
    if (v.name.empty()) v.name = fmt::format("variant {}", i + 1);
    v.description = text(item, {"description"});
    v.dir = text(item, {"dir"});
    if (const json* r = find(item, {"results"}); r != nullptr && r->is_object()) v.results = r;
    v.color = std::string(kPalette[i % kPaletteSize]);
    v.round = (i / kPaletteSize) % kDashes.size();
    out.push_back(std::move(v));
  }
  return out;
}

std::string swatch(const Variant& v) {
  return fmt::format("<span class=\"swatch\" style=\"border-top-color:{};border-top-style:{}\" aria-hidden=\"true\">"
                     "</span>",
                     v.color, kSwatchStyles[v.round]);
}

// The strategy label: summary.kv.strategy as the simulator wrote it, else the scenario's kv section.
std::string strategy_label(const json& r) {
  std::string label = text(r, {"summary", "kv", "strategy"});
  if (label.empty()) {
    if (const json* kv = find(r, {"scenario", "kv"})) label = strategy_text(*kv);
  }
  return label;
}

// Escaped, with line-break opportunities after the separators of a strategy label ("snapkv:budget_tokens=1024+kivi-2"),
// so that long labels wrap instead of widening a column.
std::string esc_breakable(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += esc(std::string_view(&c, 1));
    if (c == ':' || c == '+' || c == ',' || c == '=') out += "<wbr>";
  }
  return out;
}

// Distinct non-empty values in variant order.
std::vector<std::string> distinct(const std::vector<Variant>& variants,
                                  const std::function<std::string(const json&)>& get) {
  std::vector<std::string> out;
  for (const Variant& v : variants) {
    std::string value = get(results_of(v));
    if (!value.empty() && std::find(out.begin(), out.end(), value) == out.end()) out.push_back(std::move(value));
  }
  return out;
}

// Escaped names separated by ", ", each kept on one line.
std::string nowrap_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + ("<span class=\"nowrap\">" + esc(n) + "</span>");
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// A relative link to a variant's own report, percent-encoding everything but unreserved characters and '/', so that
// no folder name can become a URL scheme ("javascript:") or leave the page's folder by an absolute path. Empty when
// the folder is unknown or absolute.
std::string report_href(const std::string& dir) {
  if (dir.empty() || dir.front() == '/' || dir.front() == '\\') return {};
  std::string out;
  for (unsigned char c : dir) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~' || c == '/';
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned>(c));
    }
  }
  if (out.back() != '/') out.push_back('/');
  return out + "report.html";
}

// ---------------------------------------------------------------------------------------------------------------
// Header and variants.

void append_header(std::string& out, const json& c, const std::vector<Variant>& variants) {
  const auto models = distinct(variants, [](const json& r) { return model_name(r); });
  const auto gpus = distinct(variants, [](const json& r) {
    const std::string gpu = gpu_name(r);
    return gpu.empty() ? gpu : hardware_text(r, gpu);
  });
  const auto workloads = distinct(variants, [](const json& r) {
    const json* s = find(r, {"scenario"});
    return s != nullptr ? workload_text(*s) : std::string();
  });
  std::string version = text(c, {"kvsim_version"});
  if (version.empty()) {
    const auto versions = distinct(variants, [](const json& r) { return text(r, {"kvsim_version"}); });
    version = join(versions, ", ");
  }

  std::string title = text(c, {"title"});
  if (title.empty()) {
    title = "KV-cache strategies compared";
    if (!models.empty()) title += ": " + join(models, ", ");
    if (!gpus.empty()) title += " on " + join(gpus, ", ");
  }
  out += "<header>\n<p class=\"kicker\">kvsim comparison</p>\n<h1>" + esc(title) + "</h1>\n";
  if (std::string d = text(c, {"description"}); !d.empty()) out += "<p class=\"description\">" + esc(d) + "</p>\n";
  out += "<dl class=\"facts\">\n";
  auto fact = [&](std::string_view label, const std::vector<std::string>& values) {
    out += "<div><dt>" + esc(label) + "</dt><dd>" + esc(values.empty() ? std::string(kMissing) : join(values, "; ")) +
           "</dd></div>\n";
  };
  fact(models.size() > 1 ? "Models" : "Model", models);
  fact(gpus.size() > 1 ? "GPUs" : "GPU", gpus);
  fact(workloads.size() > 1 ? "Workloads" : "Workload", workloads);
  fact("Variants", {std::to_string(variants.size())});
  if (!variants.empty()) fact("Baseline", {variants.front().name});
  fact("kvsim", version.empty() ? std::vector<std::string>{} : std::vector<std::string>{version});
  out += "</dl>\n";
  std::vector<std::string> differ;
  if (models.size() > 1) differ.emplace_back("model");
  if (gpus.size() > 1) differ.emplace_back("hardware");
  if (workloads.size() > 1) differ.emplace_back("workload");
  if (!differ.empty()) {
    out += "<p class=\"warn\">The variants differ in " + esc(join(differ, ", ")) +
           ", not only in the KV-cache strategy: differences below are not due to the strategy alone.</p>\n";
  }
  out += "</header>\n";
}

void append_variants(std::string& out, const std::vector<Variant>& variants) {
  out += "<section id=\"variants\">\n<h2>Variants</h2>\n";
  if (variants.empty()) {
    out += "<p class=\"note\">The comparison holds no variants.</p>\n</section>\n";
    return;
  }
  out += "<p class=\"note\">The same traffic replayed once per variant. The first variant is the baseline that the "
         "ratios below refer to.</p>\n<div class=\"scroll\"><table class=\"grid\"><thead><tr>"
         "<th scope=\"col\">Variant</th><th scope=\"col\">Description</th><th scope=\"col\">KV strategy</th>"
         "<th scope=\"col\">Requests</th><th scope=\"col\">Own report</th></tr></thead><tbody>\n";
  for (const Variant& v : variants) {
    const json& r = results_of(v);
    const std::string strategy = strategy_label(r);
    const std::string href = report_href(v.dir);
    std::string requests(kMissing);
    if (find(r, {"summary", "requests", "completed"}) != nullptr) {
      requests = fmt_count(r, {"summary", "requests", "completed"}) + " completed of " +
                 fmt_count(r, {"summary", "requests", "arrived"});
    }
    out += "<tr><th scope=\"row\" class=\"variant\">" + swatch(v) + esc(v.name) +
           (v.index == 0 ? "<span class=\"hint\">baseline</span>" : "") + "</th><td>" +
           esc(v.description.empty() ? std::string(kMissing) : v.description) + "</td><td><code>" +
           esc_breakable(strategy.empty() ? std::string(kMissing) : strategy) + "</code></td><td>" + esc(requests) + "</td><td>" +
           (href.empty() ? esc(kMissing) : "<a href=\"" + esc(href) + "\">" + esc(v.dir) + "/report.html</a>") +
           "</td></tr>\n";
  }
  out += "</tbody></table></div>\n</section>\n";
}

// ---------------------------------------------------------------------------------------------------------------
// Side-by-side summary.

enum class Better { kLower, kHigher, kNeither };

struct Metric {
  std::string label;
  std::string hint;
  std::function<const json*(const json&)> value;
  std::function<std::string(const json*)> format;
  Better better = Better::kNeither;
  bool ratio = false;  // show other variants as a ratio to the baseline
};

struct MetricGroup {
  std::string title;
  std::vector<Metric> metrics;
};

// The value at a path of up to five keys of a variant's results.json.
std::function<const json*(const json&)> at(std::string a, std::string b = {}, std::string c = {}, std::string d = {},
                                           std::string e = {}) {
  return [keys = std::vector<std::string>{a, b, c, d, e}](const json& r) -> const json* {
    const json* j = &r;
    for (const std::string& k : keys) {
      if (k.empty()) break;
      if (!j->is_object()) return nullptr;
      const auto it = j->find(k);
      if (it == j->end()) return nullptr;
      j = &*it;
    }
    return j;
  };
}

std::string with_unit(std::string value, std::string_view unit) {
  if (value == kMissing || unit.empty()) return value;
  return value + " " + std::string(unit);
}

// Seconds without the minutes or hours in parentheses that the single-run report adds ("280 s", not
// "280 s (4.7 min)"): columns stay narrow enough for eight variants side by side.
std::string compact_seconds(std::optional<double> v) {
  std::string out = fmt_seconds(v);
  if (const auto paren = out.find(" ("); paren != std::string::npos) out.erase(paren);
  return out;
}

std::function<std::string(const json*)> as_seconds() {
  return [](const json* j) { return compact_seconds(number(j)); };
}
std::function<std::string(const json*)> as_bytes() {
  return [](const json* j) { return fmt_bytes(number(j)); };
}
std::function<std::string(const json*)> as_percent() {
  return [](const json* j) { return fmt_percent(number(j)); };
}
std::function<std::string(const json*)> as_count(std::string unit = {}) {
  return [unit = std::move(unit)](const json* j) { return with_unit(fmt_count(j), unit); };
}
std::function<std::string(const json*)> as_number(std::string unit = {}) {
  return [unit = std::move(unit)](const json* j) { return fmt_number(number(j), unit); };
}

std::vector<MetricGroup> summary_metrics() {
  std::vector<MetricGroup> groups;
  groups.push_back(
      {"KV cache",
       {{"KV bytes per token", "per GPU: device memory per token held, all layers", at("summary", "kv", "bytes_per_token"),
         as_bytes(), Better::kLower, true},
        {"KV capacity (tokens)", "per replica: tokens that fit in its KV memory", at("summary", "kv", "capacity_tokens"),
         as_count(), Better::kHigher, true},
        {"KV capacity (memory)", "per GPU: memory given to the KV cache", at("summary", "kv", "capacity_bytes"), as_bytes(),
         Better::kNeither, false},
        {"KV per request (median prompt)", "per GPU: one request's KV at the workload's median prompt",
         at("summary", "kv_per_request", "p50_prompt_bytes"), as_bytes(), Better::kLower, true},
        {"Requests that fit (median prompt)", "per replica", at("summary", "kv_per_request", "p50_prompt_max_concurrent"),
         as_count(), Better::kHigher, true},
        {"Requests that fit (p99 prompt)", "per replica", at("summary", "kv_per_request", "p99_prompt_max_concurrent"),
         as_count(), Better::kHigher, true},
        {"KV peak utilization", "", at("summary", "kv", "peak_utilization"), as_percent(), Better::kNeither, false},
        {"KV mean utilization", "time-weighted", at("summary", "kv", "mean_utilization"), as_percent(),
         Better::kNeither, false}}});
  groups.push_back(
      {"Requests and throughput",
       {{"Completed", "", at("summary", "requests", "completed"), as_count(), Better::kHigher, false},
        {"Rejected", "", at("summary", "requests", "rejected"), as_count(), Better::kLower, false},
        {"Throughput", "completed requests per second", at("summary", "throughput", "requests_per_s"),
         as_number("req/s"), Better::kHigher, true},
        {"Output throughput", "generated tokens per second", at("summary", "throughput", "output_tokens_per_s"),
         as_number("tok/s"), Better::kHigher, true}}});
  MetricGroup latency{"Latency", {}};
  const std::pair<std::string_view, std::string_view> kLatency[] = {
      {"ttft_s", "TTFT"}, {"tpot_s", "TPOT"}, {"e2e_s", "E2E"}};
  for (const auto& [key, name] : kLatency) {
    for (std::string_view stat : {"mean", "p50", "p90", "p99"}) {
      latency.metrics.push_back({std::string(name) + " " + std::string(stat), "",
                                 at("summary", std::string(key), std::string(stat)), as_seconds(), Better::kLower, true});
    }
  }
  latency.metrics.push_back(
      {"Queue p99", "waiting before first scheduled", at("summary", "queue_s", "p99"), as_seconds(), Better::kLower, true});
  groups.push_back(std::move(latency));
  groups.push_back(
      {"Batching",
       {{"Peak batch size", "most requests in one iteration", at("summary", "batch", "max_size"), as_count(),
         Better::kHigher, true},
        {"Mean batch size", "requests per iteration", at("summary", "batch", "mean_size"), as_number(),
         Better::kHigher, true}}});
  groups.push_back(
      {"Preemption and KV traffic",
       {{"Preemptions", "", at("summary", "kv", "preemptions"), as_count(), Better::kLower, true},
        {"Recomputed tokens", "prefill redone after preemption", at("summary", "kv", "recomputed_tokens"), as_count(),
         Better::kLower, true},
        {"Swapped out", "KV moved to host on preemption", at("summary", "kv", "swapped_out_bytes"), as_bytes(),
         Better::kLower, true},
        {"Swapped in", "", at("summary", "kv", "swapped_in_bytes"), as_bytes(), Better::kLower, true},
        {"Fetched from host", "offloaded KV read back per step", at("summary", "kv", "fetched_bytes"), as_bytes(),
         Better::kLower, true}}});
  groups.push_back(
      {"Prefix cache",
       {{"Hit rate (GPU)", "prompt tokens found cached on the GPU, first admissions",
         at("summary", "prefix_cache", "hit_rate"), as_percent(), Better::kHigher, true},
        {"Hit rate (all tiers)", "found on the GPU or in a tier below it", at("summary", "prefix_cache", "total_hit_rate"),
         as_percent(), Better::kHigher, true},
        {"Prefill tokens saved", "not recomputed thanks to the cache", at("summary", "prefix_cache", "prefill_tokens_saved"),
         as_count(), Better::kHigher, true},
        {"Evicted blocks", "cached blocks evicted from the GPU", at("summary", "prefix_cache", "evicted_blocks"),
         as_count(), Better::kNeither, false}}});
  groups.push_back(
      {"Cost and SLOs",
       {{"GPUs", "", at("summary", "cost", "gpus"), as_count(), Better::kLower, true},
        {"Fleet cost", "every GPU at its card's price", at("summary", "cost", "usd_per_hour"), as_number("USD/h"),
         Better::kLower, true},
        {"Cost per million output tokens", "the run's cost / output tokens",
         at("summary", "cost", "usd_per_million_output_tokens"), as_number("USD"), Better::kLower, true},
        {"SLO attainment", "requests meeting every deadline (scenario slo)", at("summary", "slo", "attainment", "all"),
         as_percent(), Better::kHigher, false},
        {"Goodput", "requests per second meeting every deadline", at("summary", "slo", "goodput_requests_per_s"),
         as_number("req/s"), Better::kHigher, true},
        {"Over capacity", "the queue grows through the run", at("summary", "overloaded"),
         [](const json* j) { return j != nullptr && j->is_boolean() ? std::string(j->get<bool>() ? "yes" : "no")
                                                                   : std::string(kMissing); },
         Better::kNeither, false}}});
  groups.push_back(
      {"Cluster",
       {{"Replicas", "engine instances", at("summary", "cluster", "replicas"), as_count(), Better::kNeither, false},
        {"Load imbalance", "max / mean completed per serving replica", at("summary", "cluster", "load_imbalance"),
         as_number(), Better::kLower, false},
        {"KV moves", "prefill to decode replicas", at("summary", "cluster", "disaggregation", "transfers"), as_count(),
         Better::kNeither, false},
        {"KV move p99", "", at("summary", "cluster", "disaggregation", "transfer_s", "p99"), as_seconds(),
         Better::kLower, true}}});
  groups.push_back(
      {"Run",
       {{"Simulated time", "", at("summary", "simulated_time_s"), as_seconds(), Better::kNeither, false},
        {"Wall time", "time the simulator took", at("summary", "wall_time_s"), as_seconds(), Better::kNeither,
         false}}});
  return groups;
}

std::string ratio_text(double value, double baseline) { return sig3(value / baseline) + "x"; }

void append_variant_heads(std::string& out, const std::vector<Variant>& variants, std::string_view first_col) {
  out += "<thead><tr><th scope=\"col\" class=\"sticky\">" + esc(first_col) + "</th>";
  for (const Variant& v : variants) {
    out += "<th scope=\"col\" class=\"num variant\">" + swatch(v) + esc(v.name) +
           (v.index == 0 ? "<span class=\"hint\">baseline</span>" : "") + "</th>";
  }
  out += "</tr></thead>\n";
}

void append_summary(std::string& out, const std::vector<Variant>& variants) {
  out += "<section id=\"summary\">\n<h2>Side by side (simulated)</h2>\n";
  if (variants.empty()) {
    out += "<p class=\"note\">The comparison holds no variants.</p>\n</section>\n";
    return;
  }
  out += "<p class=\"note\">Every figure in this table is simulated by kvsim. <span class=\"best-key\">Highlighted"
         "</span>: the best value of the row (lower latency, preemptions and KV traffic; higher throughput, capacity "
         "and batch size). Below a value: its ratio to the baseline.</p>\n"
         "<div class=\"scroll\"><table class=\"grid compare\" id=\"summary-table\">";
  append_variant_heads(out, variants, "Metric");
  out += "<tbody>\n";
  const std::size_t cols = variants.size() + 1;

  out += fmt::format("<tr class=\"group\"><th colspan=\"{}\" scope=\"colgroup\">KV cache</th></tr>\n", cols);
  out += "<tr><th scope=\"row\" class=\"sticky\">KV strategy<span class=\"hint\">with its parameters</span></th>";
  for (const Variant& v : variants) {
    const std::string s = strategy_label(results_of(v));
    out += "<td class=\"num strategy\"><code>" + esc_breakable(s.empty() ? std::string(kMissing) : s) + "</code></td>";
  }
  out += "</tr>\n";

  out += "<tr><th scope=\"row\" class=\"sticky\">Hardware<span class=\"hint\">GPUs and parallelism</span></th>";
  for (const Variant& v : variants) {
    const json& r = results_of(v);
    out += "<td class=\"num\">" + esc(hardware_text(r, text(r, {"gpu", "name"}))) + "</td>";
  }
  out += "</tr>\n";
  bool any_cluster = false;
  for (const Variant& v : variants) any_cluster = any_cluster || find(results_of(v), {"summary", "cluster"}) != nullptr;

  bool first_group = true;
  for (const MetricGroup& g : summary_metrics()) {
    if (g.title == "Cluster" && !any_cluster) continue;  // every variant one replica of one card
    if (!first_group) {
      out += fmt::format("<tr class=\"group\"><th colspan=\"{}\" scope=\"colgroup\">{}</th></tr>\n", cols,
                         esc(g.title));
    }
    first_group = false;
    for (const Metric& m : g.metrics) {
      std::vector<const json*> values;
      std::vector<std::optional<double>> nums;
      std::vector<std::string> shown;
      for (const Variant& v : variants) {
        values.push_back(m.value(results_of(v)));
        nums.push_back(number(values.back()));
        shown.push_back(m.format(values.back()));
      }
      // The best value by number; every variant that shows the same text is highlighted with it (two variants
      // both shown as "15.4 req/s" are equally best to a reader). Nothing is highlighted when all values read
      // the same or fewer than two variants have one.
      std::optional<std::size_t> best;
      std::size_t present = 0;
      for (std::size_t i = 0; i < nums.size(); ++i) {
        if (!nums[i]) continue;
        ++present;
        if (!best || (m.better == Better::kLower ? *nums[i] < *nums[*best] : *nums[i] > *nums[*best])) best = i;
      }
      bool all_same = true;
      for (std::size_t i = 0; i < nums.size(); ++i) {
        if (nums[i] && best && shown[i] != shown[*best]) all_same = false;
      }
      const bool highlight = m.better != Better::kNeither && present >= 2 && !all_same;
      const std::optional<double> baseline = nums.front();

      out += "<tr><th scope=\"row\" class=\"sticky\">" + esc(m.label);
      if (!m.hint.empty()) out += "<span class=\"hint\">" + esc(m.hint) + "</span>";
      out += "</th>";
      for (std::size_t i = 0; i < variants.size(); ++i) {
        const bool is_best = highlight && nums[i] && shown[i] == shown[*best];
        out += is_best ? "<td class=\"num best\">" : "<td class=\"num\">";
        out += esc(shown[i]);
        if (m.ratio && i > 0 && nums[i] && baseline && *baseline != 0) {
          out += "<span class=\"ratio\">" + esc(ratio_text(*nums[i], *baseline)) + "</span>";
        }
        out += "</td>";
      }
      out += "</tr>\n";
    }
  }
  out += "</tbody></table></div>\n</section>\n";
}

// ---------------------------------------------------------------------------------------------------------------
// Time breakdown by op.

struct OpTotals {
  std::vector<std::string> ops;  // by total seconds over all variants, descending; ties by name
  // per variant: op -> seconds (absent when the variant has no such row)
  std::vector<std::map<std::string, double>> seconds;
  std::vector<std::map<std::string, double>> share;
  std::vector<std::optional<double>> total;  // per variant, nullopt without a breakdown
};

OpTotals op_totals(const std::vector<Variant>& variants) {
  OpTotals t;
  std::map<std::string, double> sum;
  for (const Variant& v : variants) {
    std::map<std::string, double> secs, shares;
    std::optional<double> total;
    const json* cb = find(results_of(v), {"cost_breakdown"});
    if (cb != nullptr && cb->is_array()) {
      for (const json& row : *cb) {
        const std::string op = text(row, {"op"});
        const auto s = number(row, {"seconds"});
        if (op.empty() || !s) continue;
        secs[op] += *s;
        sum[op] += *s;
        total = total.value_or(0.0) + *s;
      }
      if (total && *total > 0) {
        for (const auto& [op, s] : secs) shares[op] = s / *total;
      }
    }
    t.seconds.push_back(std::move(secs));
    t.share.push_back(std::move(shares));
    t.total.push_back(total);
  }
  std::vector<std::pair<std::string, double>> order(sum.begin(), sum.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [op, s] : order) t.ops.push_back(op);
  return t;
}

void append_cost(std::string& out, const std::vector<Variant>& variants, const OpTotals& t) {
  out += "<section id=\"cost\">\n<h2>Where the time goes (simulated)</h2>\n";
  if (t.ops.empty()) {
    out += "<p class=\"note\">The results hold no cost breakdown.</p>\n</section>\n";
    return;
  }
  out += "<p class=\"note\">GPU time of all iterations by op kind, as priced by the cost model, per variant; below "
         "each time its share of that variant's total.</p>\n"
         "<figure class=\"chart wide\"><figcaption><h3>Time by op, per variant</h3></figcaption>"
         "<div class=\"chart-box\" id=\"chart-cost-box\"><canvas id=\"chart-cost\" role=\"img\" "
         "aria-label=\"Time by op, stacked per variant\"></canvas></div></figure>\n"
         "<div class=\"scroll\"><table class=\"grid compare\" id=\"cost-table\">";
  append_variant_heads(out, variants, "Op");
  out += "<tbody>\n";
  for (const std::string& op : t.ops) {
    out += "<tr><th scope=\"row\" class=\"sticky\"><code>" + esc(op) + "</code></th>";
    for (std::size_t i = 0; i < variants.size(); ++i) {
      const auto s = t.seconds[i].find(op);
      if (s == t.seconds[i].end()) {
        out += "<td class=\"num\">" + esc(kMissing) + "</td>";
        continue;
      }
      const auto sh = t.share[i].find(op);
      out += "<td class=\"num\">" + esc(compact_seconds(s->second)) + "<span class=\"ratio\">" +
             esc(fmt_percent(sh != t.share[i].end() ? std::optional<double>(sh->second) : std::nullopt)) +
             "</span></td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody><tfoot><tr><th scope=\"row\" class=\"sticky\">Total</th>";
  for (std::size_t i = 0; i < variants.size(); ++i) {
    out += "<td class=\"num\">" + esc(compact_seconds(t.total[i]));
    if (i > 0 && t.total[i] && t.total.front() && *t.total.front() != 0) {
      out += "<span class=\"ratio\">" + esc(ratio_text(*t.total[i], *t.total.front())) + "</span>";
    }
    out += "</td>";
  }
  out += "</tr></tfoot></table></div>\n</section>\n";
}

// ---------------------------------------------------------------------------------------------------------------
// Charts.

constexpr ChartSpec kCharts[] = {
    {"chart-ttft", "TTFT distribution", "Cumulative fraction of completed requests, one line per variant."},
    {"chart-e2e", "End-to-end latency distribution", "Cumulative fraction of completed requests."},
    {"chart-tpot", "TPOT distribution", "Time per output token after the first, one value per request."},
    {"chart-throughput", "Output throughput", "Generated tokens per second of simulated time."},
    {"chart-kv", "KV cache utilization over time", "Mean share of KV memory in use within each sampling interval."},
    {"chart-batch", "Batch size over time", "Requests per iteration, mean within each sampling interval."},
};

void append_charts(std::string& out, const std::vector<Variant>& variants) {
  out += "<section id=\"charts\">\n<h2>Charts (simulated)</h2>\n"
         "<noscript><p class=\"note\">Charts need JavaScript; every number is also in the tables.</p></noscript>\n";
  if (!variants.empty()) {
    out += "<ul class=\"legend\" aria-label=\"Variant colours\">";
    for (const Variant& v : variants) out += "<li>" + swatch(v) + esc(v.name) + "</li>";
    out += "</ul>\n";
  }
  append_chart_figures(out, kCharts);
  out += "</section>\n";
}

// What the page script draws, and nothing else: distributions, two timeline columns, throughput and op times.
json chart_data(const std::vector<Variant>& variants, const OpTotals& t) {
  json data;
  json list = json::array();
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const Variant& v = variants[i];
    const json& r = results_of(v);
    json item = {{"name", v.name}, {"color", v.color}, {"dash", kDashes[v.round]}};
    json dist = json::object();
    for (const char* key : {"ttft_s", "e2e_s", "tpot_s"}) {
      const json* d = find(r, {"distributions", key});
      dist[key] = (d != nullptr && d->is_array()) ? *d : json::array();
    }
    item["distributions"] = std::move(dist);

    const std::vector<std::string> wanted = {"time_s", "kv_utilization", "batch_size"};
    json rows = json::array();
    const json* columns = find(r, {"timeline", "columns"});
    const json* src_rows = find(r, {"timeline", "rows"});
    if (columns != nullptr && columns->is_array() && src_rows != nullptr && src_rows->is_array()) {
      std::vector<std::optional<std::size_t>> pos;
      for (const std::string& w : wanted) {
        std::optional<std::size_t> p;
        for (std::size_t c = 0; c < columns->size(); ++c) {
          if ((*columns)[c].is_string() && (*columns)[c].get<std::string>() == w) {
            p = c;
            break;
          }
        }
        pos.push_back(p);
      }
      for (const json& row : *src_rows) {
        if (!row.is_array()) continue;
        json out_row = json::array();
        for (const auto& p : pos) out_row.push_back(p && *p < row.size() ? row[*p] : json());
        rows.push_back(std::move(out_row));
      }
    }
    item["timeline"] = {{"columns", wanted}, {"rows", std::move(rows)}};
    const json* tps = find(r, {"summary", "throughput", "output_tokens_per_s"});
    item["output_tokens_per_s"] = (tps != nullptr && tps->is_number()) ? *tps : json();

    json cost = json::object();
    for (const auto& [op, s] : t.seconds[i]) cost[op] = s;
    item["cost_s"] = std::move(cost);
    list.push_back(std::move(item));
  }
  data["variants"] = std::move(list);

  json ops = json::array();
  for (std::size_t k = 0; k < t.ops.size(); ++k) {
    if (t.ops.size() > kMaxChartOps && k + 1 >= kMaxChartOps) break;
    ops.push_back({{"op", t.ops[k]}, {"color", kOpPalette[k]}});
  }
  json other = json::array();
  if (t.ops.size() > kMaxChartOps) {
    for (std::size_t k = kMaxChartOps - 1; k < t.ops.size(); ++k) other.push_back(t.ops[k]);
  }
  data["ops"] = std::move(ops);
  data["other_ops"] = std::move(other);
  data["other_color"] = kOtherOpColor;
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Reported quality, approximations, links.

void append_reported_quality(std::string& out, const std::vector<Variant>& variants) {
  struct Row {
    std::string strategy, benchmark, model, result, source;
    std::vector<std::string> used_by;
  };
  std::vector<Row> rows;
  std::vector<std::string> without;
  for (const Variant& v : variants) {
    const json* list = find(results_of(v), {"reported_quality"});
    bool any = false;
    if (list != nullptr && list->is_array()) {
      for (const json& q : *list) {
        if (!q.is_object()) continue;
        Row row{text(q, {"strategy"}), text(q, {"benchmark"}), text(q, {"model"}), text(q, {"result"}),
                text(q, {"source"}), {}};
        if (row.benchmark.empty() && row.result.empty()) continue;
        any = true;
        auto same = [&](const Row& o) {
          return std::tie(o.strategy, o.benchmark, o.model, o.result, o.source) ==
                 std::tie(row.strategy, row.benchmark, row.model, row.result, row.source);
        };
        auto it = std::find_if(rows.begin(), rows.end(), same);
        if (it == rows.end()) {
          rows.push_back(std::move(row));
          it = std::prev(rows.end());
        }
        if (std::find(it->used_by.begin(), it->used_by.end(), v.name) == it->used_by.end()) it->used_by.push_back(v.name);
      }
    }
    if (!any) without.push_back(v.name);
  }

  out += "<section id=\"reported-quality\" class=\"reported\">\n"
         "<h2>Reported quality (as published by the authors \u2014 not simulated)</h2>\n"
         "<p class=\"reported-badge\">Not a kvsim result</p>\n"
         "<p class=\"note\">kvsim simulates time and memory; it never runs the model and cannot measure accuracy. "
         "The figures below are what each strategy's authors published, on their own models and benchmarks, which "
         "may differ from the model simulated here. They travel with the strategy as labelled metadata and are not "
         "outcomes of this comparison.</p>\n";
  auto cell = [](const std::string& s) { return esc(s.empty() ? std::string(kMissing) : s); };
  if (rows.empty()) {
    out += "<p class=\"note\">None of the variants carries reported quality figures.</p>\n</section>\n";
    return;
  }
  out += "<div class=\"scroll\"><table class=\"grid\" id=\"reported-quality-table\"><thead><tr>"
         "<th scope=\"col\">Strategy</th><th scope=\"col\">Benchmark</th><th scope=\"col\">Model (in the paper)</th>"
         "<th scope=\"col\">Result as reported</th><th scope=\"col\">Source</th><th scope=\"col\">Variants using it"
         "</th></tr></thead><tbody>\n";
  for (const Row& r : rows) {
    out += "<tr><td><code>" + cell(r.strategy) + "</code></td><td>" + cell(r.benchmark) + "</td><td>" +
           cell(r.model) + "</td><td>" + cell(r.result) + "</td><td>" + cell(r.source) + "</td><td>" +
           nowrap_list(r.used_by) + "</td></tr>\n";
  }
  out += "</tbody></table></div>\n";
  if (!without.empty()) {
    out += "<p class=\"note\">No reported figures for: " + esc(join(without, ", ")) + ".</p>\n";
  }
  out += "</section>\n";
}

void append_approximations(std::string& out, const std::vector<Variant>& variants) {
  std::vector<std::pair<std::string, std::vector<std::string>>> items;  // text, variants listing it
  for (const Variant& v : variants) {
    const json* a = find(results_of(v), {"approximations"});
    if (a == nullptr || !a->is_array()) continue;
    for (const json& item : *a) {
      if (item.is_null()) continue;
      std::string s = scalar_text(item);
      auto it = std::find_if(items.begin(), items.end(), [&](const auto& p) { return p.first == s; });
      if (it == items.end()) {
        items.emplace_back(std::move(s), std::vector<std::string>{});
        it = std::prev(items.end());
      }
      if (std::find(it->second.begin(), it->second.end(), v.name) == it->second.end()) it->second.push_back(v.name);
    }
  }
  out += "<section id=\"approximations\">\n<h2>Approximations</h2>\n";
  if (items.empty()) {
    out += "<p class=\"note\">The results list no approximations.</p>\n</section>\n";
    return;
  }
  out += "<p class=\"note\">What the simulation simplifies, as recorded in the variants' results (all variants unless "
         "named). Read these before trusting a number.</p>\n<ul class=\"approx\">\n";
  for (const auto& [s, by] : items) {
    out += "<li>" + esc(s);
    if (by.size() < variants.size()) out += " <span class=\"only\">(" + esc(join(by, ", ")) + ")</span>";
    out += "</li>\n";
  }
  out += "</ul>\n</section>\n";
}

void append_links(std::string& out, const std::vector<Variant>& variants) {
  out += "<section id=\"reports\">\n<h2>Each variant's own report</h2>\n";
  if (variants.empty()) {
    out += "<p class=\"note\">The comparison holds no variants.</p>\n</section>\n";
    return;
  }
  out += "<p class=\"note\">Full single-run reports (latency tables, rejections, resolved scenario), relative to this "
         "page's folder.</p>\n<ul class=\"links\">\n";
  for (const Variant& v : variants) {
    const std::string href = report_href(v.dir);
    out += "<li>" + swatch(v) + esc(v.name) + ": ";
    out += href.empty() ? esc(kMissing) : "<a href=\"" + esc(href) + "\">" + esc(v.dir) + "/report.html</a>";
    out += "</li>\n";
  }
  out += "</ul>\n</section>\n";
}

// ---------------------------------------------------------------------------------------------------------------
// Static parts.

constexpr std::string_view kComparisonCss = R"css(
.kicker { margin: 0 0 2px; color: var(--accent); font-weight: 600; font-size: .82rem; text-transform: uppercase;
          letter-spacing: .06em; }
.description { margin: 2px 0 8px; max-width: 60rem; }
.warn { background: #fffbeb; border: 1px solid #fde68a; border-radius: 8px; padding: 8px 12px; color: #92400e; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 10px; background: var(--panel); }
.scroll > table { border-radius: 10px; }
.swatch { display: inline-block; width: 18px; height: 0; border-top-width: 4px; margin-right: 7px;
          vertical-align: middle; }
th.variant { white-space: nowrap; }
thead th.variant { text-transform: none; letter-spacing: 0; color: var(--fg); font-size: .9rem; white-space: normal; }
table.compare { font-size: .9rem; }
table.compare th, table.compare td { padding: 5px 8px; }
table.compare td { min-width: 84px; }
td.strategy { white-space: normal; max-width: 170px; }
.sticky { position: sticky; left: 0; background: var(--panel); z-index: 1; min-width: 170px; }
table.grid.compare tbody tr:nth-child(even) .sticky { background: #f9fafb; }
tr.group th { background: #eef2f7 !important; color: #334155; font-size: .8rem; text-transform: uppercase;
              letter-spacing: .05em; font-weight: 650; padding-top: 7px; }
td.best { background: #dcfce7; color: #14532d; font-weight: 650; }
.best-key { background: #dcfce7; color: #14532d; font-weight: 650; padding: 0 4px; border-radius: 3px; }
.ratio { display: block; color: var(--muted); font-size: .76rem; font-weight: 400; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 18px; padding: 0; margin: 0 0 12px; }
ul.legend li { white-space: nowrap; }
figure.chart.wide { margin-bottom: 14px; }
section.reported { margin-top: 40px; background: repeating-linear-gradient(135deg, #fffdf5, #fffdf5 14px, #fdf6e3 14px,
                   #fdf6e3 28px); border: 2px dashed #b45309; border-radius: 12px; padding: 4px 18px 16px; }
section.reported h2 { color: #92400e; border-bottom-color: #f3d9a6; }
.reported-badge { display: inline-block; margin: 0 0 6px; background: #b45309; color: #fff; font-weight: 650;
                  font-size: .78rem; text-transform: uppercase; letter-spacing: .06em; padding: 2px 9px;
                  border-radius: 999px; }
section.reported .note { color: #78350f; }
section.reported .scroll { border-color: #f3d9a6; }
.only { color: var(--muted); font-size: .85rem; }
.nowrap, #reported-quality-table code { white-space: nowrap; }
ul.links { list-style: none; padding: 0; margin: 0; }
ul.links li { margin: 4px 0; }
)css";

// The page's own script, between kChartScriptPrelude and kChartScriptEpilogue (html_common.h).
constexpr std::string_view kPageScript = R"js(
  var data = JSON.parse(document.getElementById('kvsim-comparison-data').textContent);
  var variants = Array.isArray(data.variants) ? data.variants : [];

  function variantCdf(v, key) { return cdfPoints(get(v, ['distributions', key])); }
  function series(v, name) { return seriesPoints(get(v, ['timeline']), name); }
  function variantLine(v, pts) {
    var extra = { borderWidth: 1.8 };
    if (Array.isArray(v.dash) && v.dash.length) extra.borderDash = v.dash;
    return line(String(v.name), pts, v.color, extra);
  }
  function overlay(points, xTitle, yTitle, xTick, yTick, yMax) {
    var datasets = [];
    variants.forEach(function (v, i) {
      var pts = points(v, i);
      if (pts.length) datasets.push(variantLine(v, pts));
    });
    if (!datasets.length) return null;
    var opts = baseOptions(xTitle, yTitle, xTick, yTick,
      function (ctx) { return ctx.dataset.label + ': ' + yTick(ctx.parsed.y) + ' at ' + xTick(ctx.parsed.x); });
    if (yMax !== undefined) opts.scales.y.max = yMax;
    return { type: 'line', data: { datasets: datasets }, options: opts };
  }
  function pct(v) { return Math.round(v * 100) + '%'; }
  // CDFs whose medians lie more than 8x apart (one variant queueing for seconds, another answering in
  // milliseconds) are drawn on a logarithmic time axis, labelled at 1, 2 and 5 of each decade.
  function medianX(pts) {
    for (var i = 0; i < pts.length; i++) if (pts[i].y >= 0.5) return pts[i].x;
    return undefined;
  }
  function logTick(value, index, ticks) {
    if (!(value > 0)) return '';
    var m = value / Math.pow(10, Math.floor(Math.log(value) / Math.LN10 + 1e-9));
    m = Math.round(m * 100) / 100;
    var decades = ticks.length > 1 ? Math.log(ticks[ticks.length - 1].value / ticks[0].value) / Math.LN10 : 1;
    return (m === 1 || (decades <= 3 && (m === 2 || m === 5))) ? fmtSeconds(value) : '';
  }
  function cdf(key) {
    return function () {
      var per = variants.map(function (v) { return variantCdf(v, key); });
      var medians = per.map(medianX).filter(function (m) { return finite(m) && m > 0; });
      var log = medians.length >= 2 && Math.max.apply(null, medians) / Math.min.apply(null, medians) > 8;
      var config = overlay(function (v, i) {
        return log ? per[i].filter(function (p) { return p.x > 0; }) : per[i];
      }, log ? 'seconds (logarithmic)' : 'seconds', 'fraction of requests', fmtSeconds, pct, 1);
      if (config) {
        config.options.plugins.tooltip.callbacks.label = function (ctx) {
          return ctx.dataset.label + ': ' + fmtSeconds(ctx.parsed.x) + ' at ' + fmtPercent(ctx.parsed.y);
        };
        if (log) {
          config.options.scales.x.type = 'logarithmic';
          config.options.scales.x.ticks = { callback: logTick, autoSkip: false, maxRotation: 0 };
        }
      }
      return config;
    };
  }
  function variantTickColor(ctx) {
    var v = variants[ctx.index];
    return v ? v.color : '#374151';
  }
  // Variants past the first round of the palette: dashed lines, and bars filled lighter with a solid outline.
  function cycled(v) { return Array.isArray(v.dash) && v.dash.length > 0; }
  function barFill(v) { return cycled(v) ? v.color + '55' : v.color; }
  function barHeight(canvas, n) { canvas.parentNode.style.height = Math.max(180, 70 + 30 * n) + 'px'; }

  draw('chart-ttft', cdf('ttft_s'));
  draw('chart-e2e', cdf('e2e_s'));
  draw('chart-tpot', cdf('tpot_s'));
  draw('chart-throughput', function (canvas) {
    if (!variants.some(function (v) { return finite(v.output_tokens_per_s); })) return null;
    barHeight(canvas, variants.length);
    var base = variants.length ? variants[0].output_tokens_per_s : undefined;
    return {
      type: 'bar',
      data: { labels: variants.map(function (v) { return String(v.name); }),
              datasets: [{ label: 'output tok/s',
                           data: variants.map(function (v) { return finite(v.output_tokens_per_s) ? v.output_tokens_per_s : null; }),
                           backgroundColor: variants.map(barFill),
                           borderColor: variants.map(function (v) { return v.color; }),
                           borderWidth: variants.map(function (v) { return cycled(v) ? 2 : 0; }),
                           borderRadius: 3, barPercentage: 0.75 }] },
      options: {
        indexAxis: 'y',
        scales: { x: { beginAtZero: true, title: { display: true, text: 'output tokens per second' },
                       ticks: { callback: function (v) { return sig3(v); } } },
                  y: { ticks: { autoSkip: false, color: variantTickColor } } },
        plugins: { legend: { display: false },
                   tooltip: { callbacks: { label: function (ctx) {
                     var s = sig3(ctx.parsed.x) + ' tok/s';
                     if (ctx.dataIndex > 0 && finite(base) && base !== 0) s += ' (' + sig3(ctx.parsed.x / base) + 'x baseline)';
                     return s;
                   } } } }
      }
    };
  });
  // Timelines: one line per variant, or from MULTIPLES_FROM variants on a small chart each on shared axes.
  function timelineChart(id, key, yTitle, yTick, yMax) {
    if (variants.length >= MULTIPLES_FROM) {
      drawMultiples(id, function () {
        return panelsOf(variants.map(function (v) { return variantLine(v, series(v, key)); }), 'simulated time',
                        yTitle, fmtSeconds, yTick, yMax);
      });
    } else {
      draw(id, function () {
        return overlay(function (v) { return series(v, key); }, 'simulated time', yTitle, fmtSeconds, yTick, yMax);
      });
    }
  }
  timelineChart('chart-kv', 'kv_utilization', 'KV memory in use (of a replica\'s pool)', pct, 1);
  timelineChart('chart-batch', 'batch_size', 'requests per iteration', function (v) { return sig3(v); });
  draw('chart-cost', function (canvas) {
    var ops = Array.isArray(data.ops) ? data.ops : [];
    var other = Array.isArray(data.other_ops) ? data.other_ops : [];
    if (!ops.length || !variants.length) return null;
    function secs(v, op) { var s = get(v, ['cost_s', op]); return finite(s) ? s : 0; }
    var totals = variants.map(function (v) {
      var t = 0, c = v.cost_s || {};
      for (var k in c) if (finite(c[k])) t += c[k];
      return t;
    });
    var datasets = ops.map(function (o) {
      return { label: String(o.op), backgroundColor: o.color, borderWidth: 0, barPercentage: 0.75,
               data: variants.map(function (v) { return secs(v, o.op); }) };
    });
    if (other.length) {
      datasets.push({ label: 'other (' + other.length + ' ops)', backgroundColor: data.other_color, borderWidth: 0,
                      barPercentage: 0.75, data: variants.map(function (v) {
                        var t = 0; other.forEach(function (op) { t += secs(v, op); }); return t; }) });
    }
    barHeight(canvas, variants.length + 2);
    return {
      type: 'bar',
      data: { labels: variants.map(function (v) { return String(v.name); }), datasets: datasets },
      options: {
        indexAxis: 'y',
        scales: { x: { stacked: true, beginAtZero: true, title: { display: true, text: 'GPU time' },
                       ticks: { callback: fmtSeconds } },
                  y: { stacked: true, ticks: { autoSkip: false, color: variantTickColor } } },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } },
                   tooltip: { callbacks: { label: function (ctx) {
                     var t = totals[ctx.dataIndex];
                     return ctx.dataset.label + ': ' + fmtSeconds(ctx.parsed.x) +
                            (t > 0 ? ' (' + fmtPercent(ctx.parsed.x / t) + ')' : '');
                   } } } }
      }
    };
  });
)js";

}  // namespace

std::string render_comparison_report(const json& comparison) {
  if (!comparison.is_object()) {
    throw KvsimError("comparison: expected a JSON object with \"variants\" (see reports/RESULTS.md, comparison.json)");
  }
  const std::vector<Variant> variants = read_variants(comparison);
  const OpTotals totals = op_totals(variants);
  const std::string_view chartjs = chartjs_source();

  std::string title = text(comparison, {"title"});
  std::string out;
  out.reserve(chartjs.size() + 128 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"kvsim\">\n<title>kvsim comparison";
  if (!title.empty()) out += ": " + esc(title);
  out += "</title>\n<style>";
  out += kCss;
  out += kComparisonCss;
  out += "</style>\n<script>";
  out += kErrorScript;
  out += "</script>\n</head>\n<body>\n<main>\n<div id=\"js-errors\" class=\"js-errors\" hidden></div>\n";

  append_header(out, comparison, variants);
  append_variants(out, variants);
  append_summary(out, variants);
  append_charts(out, variants);
  append_cost(out, variants, totals);
  append_reported_quality(out, variants);
  append_approximations(out, variants);
  append_links(out, variants);

  std::string version = text(comparison, {"kvsim_version"});
  out += "<footer>Rendered by kvsim" + (version.empty() ? std::string() : " " + esc(version)) +
         " from comparison.json alone; the page is self-contained and needs no network. Charts drawn with " +
         esc(chart_library_name()) + " (MIT license), inlined.</footer>\n</main>\n";

  append_page_scripts(out, "kvsim-comparison-data", chart_data(variants, totals), kPageScript);
  return out;
}

}  // namespace kvsim
