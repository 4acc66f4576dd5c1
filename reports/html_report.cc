#include "reports/html_report.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
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
// Page building blocks.

struct KvRow {
  std::string label;
  std::string value;
  std::string hint;  // optional explanation shown in a smaller font
};

void append_kv_table(std::string& out, std::string_view title, const std::vector<KvRow>& rows) {
  out += "<div class=\"panel\"><h3>";
  out += esc(title);
  out += "</h3><table class=\"kv\"><tbody>\n";
  for (const KvRow& r : rows) {
    out += "<tr><th scope=\"row\">" + esc(r.label);
    if (!r.hint.empty()) out += "<span class=\"hint\">" + esc(r.hint) + "</span>";
    out += "</th><td class=\"num\">" + esc(r.value) + "</td></tr>\n";
  }
  out += "</tbody></table></div>\n";
}

void append_card(std::string& out, std::string_view label, std::string_view value, std::string_view sub) {
  out += "<div class=\"card\"><div class=\"card-label\">" + esc(label) + "</div><div class=\"card-value\">" +
         esc(value) + "</div>";
  if (!sub.empty()) out += "<div class=\"card-sub\">" + esc(sub) + "</div>";
  out += "</div>\n";
}

struct LatencyMetric {
  std::string_view key;
  std::string_view name;
  std::string_view description;
};

constexpr LatencyMetric kLatencyMetrics[] = {
    {"ttft_s", "TTFT", "time to first token: arrival to first output token"},
    {"tpot_s", "TPOT", "time per output token after the first, per request"},
    {"itl_s", "ITL", "inter-token latency: gap between consecutive output tokens"},
    {"e2e_s", "E2E", "end-to-end latency: arrival to last output token"},
    {"queue_s", "Queue", "time waiting before first scheduled"},
};
constexpr std::string_view kStats[] = {"mean", "p50", "p90", "p99", "max"};

void append_header(std::string& out, const json& r) {
  const json* scenario_ptr = find(r, {"scenario"});
  const json& scenario = scenario_ptr != nullptr ? *scenario_ptr : r;  // find() below tolerates anything

  std::string model = model_name(r);
  if (model.empty()) model = "unknown model";
  std::string gpu = gpu_name(r);
  if (gpu.empty()) gpu = "unknown GPU";
  const std::string gpus = hardware_text(r, gpu);
  std::string scheduler = text(r, {"scenario", "engine", "scheduler"});
  std::string kv;
  if (const json* k = find(r, {"scenario", "kv"})) kv = strategy_text(*k);
  const std::string workload = workload_text(scenario);
  const std::string version = text(r, {"kvsim_version"});
  const std::string name = text(r, {"scenario", "name"});
  const std::string backend = cost_model_text(scenario);

  out += "<header>\n<h1>kvsim report: " + esc(model) + " on " + esc(gpus) + "</h1>\n";
  if (!name.empty()) out += "<p class=\"scenario-name\">" + esc(name) + "</p>\n";
  out += "<dl class=\"facts\">\n";
  auto fact = [&](std::string_view label, const std::string& value) {
    if (value.empty()) return;
    out += "<div><dt>" + esc(label) + "</dt><dd>" + esc(value) + "</dd></div>\n";
  };
  fact("Model", model);
  fact("GPU", gpus);
  fact("Scheduler", scheduler.empty() ? std::string(kMissing) : scheduler);
  fact("KV strategy", kv);
  fact("Workload", workload.empty() ? std::string(kMissing) : workload);
  fact("Cost model", backend);
  fact("Engine profile", text(r, {"scenario", "engine", "profile", "name"}));
  if (auto seed = find(r, {"scenario", "seed"})) fact("Seed", scalar_text(*seed));
  fact("kvsim", version.empty() ? std::string(kMissing) : version);
  out += "</dl>\n</header>\n";
}

void append_headline(std::string& out, const json& r) {
  const json* s = find(r, {"summary"});
  const json empty = json::object();
  const json& sum = s != nullptr ? *s : empty;
  out += "<section class=\"cards\" aria-label=\"Headline numbers\">\n";
  append_card(out, "Completed", fmt_count(sum, {"requests", "completed"}),
              "of " + fmt_count(sum, {"requests", "arrived"}) + " arrived, " +
                  fmt_count(sum, {"requests", "rejected"}) + " rejected" +
                  (number(sum, {"requests", "timed_out"}).value_or(0) > 0
                       ? ", " + fmt_count(sum, {"requests", "timed_out"}) + " timed out"
                       : std::string()));
  append_card(out, "Throughput", fmt_number(number(sum, {"throughput", "requests_per_s"}), "req/s"),
              fmt_number(number(sum, {"throughput", "output_tokens_per_s"}), "output tok/s"));
  append_card(out, "TTFT p99", fmt_seconds(number(sum, {"ttft_s", "p99"})),
              "p50 " + fmt_seconds(number(sum, {"ttft_s", "p50"})));
  append_card(out, "TPOT p99", fmt_seconds(number(sum, {"tpot_s", "p99"})),
              "p50 " + fmt_seconds(number(sum, {"tpot_s", "p50"})));
  append_card(out, "E2E p99", fmt_seconds(number(sum, {"e2e_s", "p99"})),
              "p50 " + fmt_seconds(number(sum, {"e2e_s", "p50"})));
  append_card(out, "KV peak utilization", fmt_percent(number(sum, {"kv", "peak_utilization"})),
              "mean " + fmt_percent(number(sum, {"kv", "mean_utilization"})) + ", " +
                  fmt_count(sum, {"kv", "preemptions"}) + " preemptions");
  out += "</section>\n";
}

void append_summary(std::string& out, const json& r) {
  const json empty = json::object();
  const json* s = find(r, {"summary"});
  const json& sum = s != nullptr ? *s : empty;

  out += "<section id=\"summary\">\n<h2>Summary</h2>\n";
  // Over capacity first: every latency below is then the backlog's.
  if (const json* o = find(sum, {"overloaded"}); o != nullptr && o->is_boolean() && o->get<bool>()) {
    out += "<div class=\"banner bad\" role=\"alert\"><strong>Over capacity:</strong> " +
           esc(text(sum, {"load", "overloaded_because"})) + " (queue delay grows " +
           esc(fmt_number(number(sum, {"load", "queue_growth_s_per_s"}), "s per s")) + " of arrivals; " +
           esc(fmt_number(number(sum, {"load", "offered_rate_per_s"}), "req/s")) +
           " offered). Latencies below measure the backlog, not the engine.</div>\n";
  }
  if (const json* slo = find(sum, {"slo"}); slo != nullptr && slo->is_object()) {
    const bool met = slo->value("met", false);
    std::vector<KvRow> rows = {{"Verdict", met ? "met" : "NOT met",
                                "every deadline met by at least " +
                                    fmt_percent(number(*slo, {"attainment_target"})) + " of counted requests"}};
    if (const json* t = find(*slo, {"targets"}); t != nullptr && t->is_object()) {
      for (const auto& [key, deadline] : t->items()) {
        rows.push_back({key + " \u2264 " + fmt_seconds(number(&deadline)), fmt_percent(number(*slo, {"attainment", key})),
                        "share of counted requests meeting it"});
      }
    }
    rows.push_back({"All deadlines", fmt_percent(number(*slo, {"attainment", "all"})), ""});
    rows.push_back({"Goodput", fmt_number(number(*slo, {"goodput_requests_per_s"}), "req/s"),
                    fmt_number(number(*slo, {"goodput_output_tokens_per_s"}), "output tok/s") + " meeting every deadline"});
    out += "<div class=\"panels\">\n";
    append_kv_table(out, "Service-level objectives", rows);
    out += "</div>\n";
  }

  // Latency percentiles.
  out += "<div class=\"panel wide\"><h3>Latency</h3><table class=\"grid\"><thead><tr><th scope=\"col\">Metric</th>";
  for (std::string_view st : kStats) out += "<th scope=\"col\" class=\"num\">" + esc(st) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const LatencyMetric& m : kLatencyMetrics) {
    out += "<tr><th scope=\"row\">" + esc(m.name) + "<span class=\"hint\">" + esc(m.description) + "</span></th>";
    for (std::string_view st : kStats) out += "<td class=\"num\">" + esc(fmt_seconds(number(sum, {m.key, st}))) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n";

  out += "<div class=\"panels\">\n";
  const auto in_tps = number(sum, {"throughput", "input_tokens_per_s"});
  const auto out_tps = number(sum, {"throughput", "output_tokens_per_s"});
  std::optional<double> total_tps;
  if (in_tps && out_tps) total_tps = *in_tps + *out_tps;
  append_kv_table(out, "Requests and throughput",
                  {{"Arrived", fmt_count(sum, {"requests", "arrived"}), ""},
                   {"Completed", fmt_count(sum, {"requests", "completed"}), ""},
                   {"Rejected", fmt_count(sum, {"requests", "rejected"}), ""},
                   {"Timed out", fmt_count(sum, {"requests", "timed_out"}), "the client gave up (workload.client_timeout_s)"},
                   {"Requests", fmt_number(number(sum, {"throughput", "requests_per_s"}), "req/s"), ""},
                   {"Input tokens", fmt_number(in_tps, "tok/s"), ""},
                   {"Output tokens", fmt_number(out_tps, "tok/s"), ""},
                   {"All tokens", fmt_number(total_tps, "tok/s"), ""},
                   {"Mean requests in system", fmt_number(number(sum, {"mean_requests_in_system"})), ""}});
  if (find(sum, {"cost"}) != nullptr) {
    append_kv_table(out, "Cost",
                    {{"Fleet", fmt_number(number(sum, {"cost", "usd_per_hour"}), "USD/h"),
                      fmt_count(sum, {"cost", "gpus"}) + " GPUs (" + text(sum, {"cost", "price_source"}) + ")"},
                     {"Per million output tokens", fmt_number(number(sum, {"cost", "usd_per_million_output_tokens"}), "USD"),
                      "the fleet's cost of the run / output tokens generated"},
                     {"Per million input tokens", fmt_number(number(sum, {"cost", "usd_per_million_input_tokens"}), "USD"),
                      "the same cost / prompt tokens completed"},
                     {"GPU-hours", fmt_number(number(sum, {"cost", "gpu_hours"})), "for the simulated time"},
                     {"Energy per output token", fmt_number(number(sum, {"energy", "joules_per_output_token"}), "J"),
                      text(sum, {"energy", "power_model"}) == "utilization"
                          ? "each GPU at TDP while its replica steps, at an assumed idle share of TDP otherwise"
                          : "every GPU at its card's TDP: an upper bound"}});
  }

  std::string blocks(kMissing);
  if (find(sum, {"kv", "capacity_blocks"}) != nullptr) {
    blocks = fmt_count(sum, {"kv", "capacity_blocks"});
    if (find(sum, {"kv", "block_size"}) != nullptr) blocks += " \u00d7 " + fmt_count(sum, {"kv", "block_size"}) + " tokens";
  }
  // Bytes are per GPU (each GPU of a tensor- or pipeline-parallel replica holds its share of every token), tokens
  // and requests per replica.
  const auto per_gpu = number(sum, {"kv", "gpus_per_replica"});
  const std::string gpu_scope =
      per_gpu && *per_gpu > 1 ? "per GPU; the replica's " + fmt_count(sum, {"kv", "gpus_per_replica"}) + " GPUs hold " +
                                    fmt_count(sum, {"kv", "gpus_per_replica"}) + "× this"
                              : "per GPU (one GPU per replica)";
  std::vector<KvRow> kv_rows = {
      {"Capacity", fmt_count(sum, {"kv", "capacity_tokens"}) + " tokens", "per replica"},
      {"Capacity (memory)", fmt_bytes(number(sum, {"kv", "capacity_bytes"})), gpu_scope},
      {"Blocks", blocks, "per replica"},
      {"Peak used", fmt_bytes(number(sum, {"kv", "peak_used_bytes"})), "per GPU, of the fullest replica"},
      {"Peak utilization", fmt_percent(number(sum, {"kv", "peak_utilization"})), ""},
      {"Mean utilization", fmt_percent(number(sum, {"kv", "mean_utilization"})), "time-weighted"},
      {"KV per request, median prompt",
       fmt_bytes(number(sum, {"kv_per_request", "p50_prompt_bytes"})),
       fmt_count(sum, {"kv_per_request", "p50_prompt_tokens"}) + " tokens, per GPU; " +
           fmt_count(sum, {"kv_per_request", "p50_prompt_max_concurrent"}) + " such requests fit (per replica)"},
      {"KV per request, p99 prompt",
       fmt_bytes(number(sum, {"kv_per_request", "p99_prompt_bytes"})),
       fmt_count(sum, {"kv_per_request", "p99_prompt_tokens"}) + " tokens, per GPU; " +
           fmt_count(sum, {"kv_per_request", "p99_prompt_max_concurrent"}) + " such requests fit (per replica)"},
      {"Preemptions", fmt_count(sum, {"kv", "preemptions"}), ""},
      {"Preempted requests", fmt_count(sum, {"kv", "preempted_requests"}), ""},
      {"Recomputed tokens", fmt_count(sum, {"kv", "recomputed_tokens"}), ""},
  };
  if (find(sum, {"kv", "capacity_tokens"}) == nullptr) kv_rows[0].value = std::string(kMissing);
  if (find(sum, {"kv", "swapped_out_bytes"}) != nullptr || find(sum, {"kv", "swapped_in_bytes"}) != nullptr) {
    kv_rows.push_back({"Swapped out", fmt_bytes(number(sum, {"kv", "swapped_out_bytes"})), ""});
    kv_rows.push_back({"Swapped in", fmt_bytes(number(sum, {"kv", "swapped_in_bytes"})), ""});
  }
  append_kv_table(out, "KV cache", kv_rows);

  std::string speed(kMissing);
  const auto sim_s = number(sum, {"simulated_time_s"});
  const auto wall_s = number(sum, {"wall_time_s"});
  if (sim_s && wall_s && *wall_s > 0) speed = sig3(*sim_s / *wall_s) + "\u00d7 real time";
  append_kv_table(out, "Batching, prefix cache and run",
                  {{"Prefix cache hit rate", fmt_percent(number(sum, {"prefix_cache", "hit_rate"})),
                    "share of prompt tokens served from cache"},
                   {"Prefix cache hit tokens", fmt_count(sum, {"prefix_cache", "hit_tokens"}), ""},
                   {"Mean batch size", fmt_number(number(sum, {"batch", "mean_size"}), "requests"), ""},
                   {"Max batch size", fmt_count(sum, {"batch", "max_size"}), ""},
                   {"Mean batch tokens", fmt_number(number(sum, {"batch", "mean_tokens"}), "tokens"), ""},
                   {"Iterations", fmt_count(sum, {"iterations"}), ""},
                   {"Simulated time", fmt_seconds(sim_s), ""},
                   {"Wall time", fmt_seconds(wall_s), "time the simulator took"},
                   {"Simulation speed", speed, ""}});
  out += "</div>\n</section>\n";
}

// SLO targets written as <metric>_<stat>_s (e.g. ttft_p99_s) against the run's own percentiles (the summary's SLO
// panel counts the requests that meet each deadline instead).
void append_slo(std::string& out, const json& r) {
  const json* slo = find(r, {"scenario", "slo"});
  if (slo == nullptr || !slo->is_object() || slo->empty()) return;
  out += "<section id=\"slo\">\n<h2>The SLOs against the percentiles</h2>\n<p class=\"note\">Each deadline beside "
         "the run's own percentile of that latency.</p>\n<table class=\"grid\"><thead><tr>"
         "<th scope=\"col\">Target</th><th scope=\"col\" class=\"num\">Limit</th>"
         "<th scope=\"col\" class=\"num\">Measured</th><th scope=\"col\">Met</th></tr></thead><tbody>\n";
  for (auto it = slo->begin(); it != slo->end(); ++it) {
    const std::string& key = it.key();
    if (key == "attainment") continue;  // a share of requests, not a deadline
    std::string measured(kMissing), limit = scalar_text(it.value()), met = "not checked";
    std::string cls = "unknown";
    for (const LatencyMetric& m : kLatencyMetrics) {
      const std::string_view base = m.key.substr(0, m.key.size() - 2);  // "ttft"
      for (std::string_view st : kStats) {
        if (key != fmt::format("{}_{}_s", base, st)) continue;
        const auto value = number(r, {"summary", m.key, st});
        const auto target = number(&it.value());
        if (target) limit = fmt_seconds(target);
        if (value) measured = fmt_seconds(value);
        if (value && target) {
          const bool ok = *value <= *target;
          met = ok ? "yes" : "no";
          cls = ok ? "ok" : "bad";
        }
      }
    }
    out += "<tr><th scope=\"row\"><code>" + esc(key) + "</code></th><td class=\"num\">" + esc(limit) +
           "</td><td class=\"num\">" + esc(measured) + "</td><td class=\"" + cls + "\">" + esc(met) + "</td></tr>\n";
  }
  out += "</tbody></table>\n</section>\n";
}

// Request classes (scenario workload.classes): each class's latencies and its own SLO result.
void append_classes(std::string& out, const json& r) {
  const json* classes = find(r, {"summary", "classes"});
  if (classes == nullptr || !classes->is_object() || classes->empty()) return;
  out += "<section id=\"classes\">\n<h2>Request classes</h2>\n<p class=\"note\">Each class of the workload "
         "(<code>workload.classes</code>): its requests, latencies and, where it has deadlines of its own, the share "
         "meeting them all. Schedulers <code>priority</code> and <code>sjf</code> serve lower priorities first; "
         "the other schedulers ignore classes.</p>\n<table class=\"grid\"><thead><tr><th scope=\"col\">Class</th>";
  for (const char* h : {"Requests", "Completed", "TTFT p50", "TTFT p99", "TPOT p99", "E2E p99", "SLO attainment"}) {
    out += std::string("<th scope=\"col\" class=\"num\">") + h + "</th>";
  }
  out += "<th scope=\"col\">SLO met</th></tr></thead><tbody>\n";
  for (auto it = classes->begin(); it != classes->end(); ++it) {
    const json& c = it.value();
    out += "<tr><th scope=\"row\">" + esc(it.key()) + "</th>";
    for (const std::string& cell :
         {fmt_count(c, {"requests_counted"}), fmt_count(c, {"completed"}), fmt_seconds(number(c, {"ttft_s", "p50"})),
          fmt_seconds(number(c, {"ttft_s", "p99"})), fmt_seconds(number(c, {"tpot_s", "p99"})),
          fmt_seconds(number(c, {"e2e_s", "p99"})), fmt_percent(number(c, {"slo", "attainment", "all"}))}) {
      out += "<td class=\"num\">" + esc(cell) + "</td>";
    }
    const json* met = find(c, {"slo", "met"});
    const bool has = met != nullptr && met->is_boolean();
    const std::string cls = has ? (met->get<bool>() ? "ok" : "bad") : "unknown";
    out += "<td class=\"" + cls + "\">" + (has ? (met->get<bool>() ? "yes" : "no") : "no SLO") + "</td></tr>\n";
  }
  out += "</tbody></table>\n</section>\n";
}

constexpr ChartSpec kCharts[] = {
    {"chart-ttft", "TTFT distribution", "Cumulative fraction of completed requests; the queueing part of TTFT dashed."},
    {"chart-e2e", "End-to-end latency distribution", "Cumulative fraction of completed requests."},
    {"chart-tpot", "TPOT and ITL distribution",
     "TPOT: one value per request (mean gap after the first token). ITL: one value per token gap."},
    {"chart-kv", "KV cache utilization over time", "Mean and maximum within each sampling interval."},
    {"chart-batch", "Batch size and waiting queue over time", "Requests per iteration and requests waiting."},
};

constexpr ChartSpec kPrefixCharts[] = {
    {"chart-prefix", "Prefix cache hit rate over time",
     "Share of the prompt tokens looked up in each sampling interval (first admissions) found on the GPU, and on the "
     "GPU or in a tier below it."},
};

// The prefix cache's numbers, its tiers and its hit rate over time; only for runs with prefix caching on.
void append_prefix_cache(std::string& out, const json& r) {
  const json* pc = find(r, {"summary", "prefix_cache"});
  if (pc == nullptr || !pc->is_object() || !pc->value("enabled", false)) return;
  out += "<section id=\"prefix-cache\">\n<h2>Prefix cache</h2>\n<div class=\"panels\">\n";
  std::string policy = text(r, {"scenario", "engine", "eviction", "policy"});
  if (policy.empty()) policy = "lru";
  std::string admission = text(r, {"scenario", "engine", "admission"});
  if (admission.empty()) admission = "fcfs";
  append_kv_table(out, "Reuse",
                  {{"Hit rate (GPU)", fmt_percent(number(*pc, {"hit_rate"})), "prompt tokens found cached"},
                   {"Hit rate (all tiers)", fmt_percent(number(*pc, {"total_hit_rate"})), "on the GPU or below it"},
                   {"Prefill tokens saved", fmt_count(*pc, {"prefill_tokens_saved"}), "resumed requests included"},
                   {"Lookups", fmt_count(*pc, {"lookups"}), "first admissions"},
                   {"Eviction policy", policy, ""},
                   {"Admission order", admission, ""}});
  append_kv_table(out, "GPU blocks",
                  {{"Registered", fmt_count(*pc, {"registered_blocks"}), "computed and cached"},
                   {"Hit", fmt_count(*pc, {"hit_blocks"}), ""},
                   {"Evicted", fmt_count(*pc, {"evicted_blocks"}), ""},
                   {"Cached at the end", fmt_count(*pc, {"cached_blocks_at_end"}), ""}});
  out += "</div>\n";
  const json* tiers = find(*pc, {"tiers"});
  if (tiers != nullptr && tiers->is_array() && !tiers->empty()) {
    out += "<h3>Tiers below the GPU</h3>\n<table class=\"grid\"><thead><tr><th scope=\"col\">Tier</th>";
    for (const char* h : {"Capacity (blocks)", "Hits (blocks)", "Hit tokens", "Loaded", "Written (blocks)",
                          "Written", "Demoted", "Dropped", "Cached at end"}) {
      out += std::string("<th scope=\"col\" class=\"num\">") + h + "</th>";
    }
    out += "</tr></thead><tbody>\n";
    for (const json& t : *tiers) {
      out += "<tr><th scope=\"row\">" + esc(text(t, {"tier"})) + "</th>";
      for (const std::string& cell :
           {fmt_count(t, {"capacity_blocks"}), fmt_count(t, {"hit_blocks"}), fmt_count(t, {"hit_tokens"}),
            fmt_bytes(number(t, {"loaded_bytes"})), fmt_count(t, {"stored_blocks"}),
            fmt_bytes(number(t, {"stored_bytes"})), fmt_count(t, {"demoted_blocks"}),
            fmt_count(t, {"dropped_blocks"}), fmt_count(t, {"cached_blocks_at_end"})}) {
        out += "<td class=\"num\">" + esc(cell) + "</td>";
      }
      out += "</tr>\n";
    }
    out += "</tbody></table>\n";
  }
  append_chart_figures(out, kPrefixCharts);
  out += "</section>\n";
}

constexpr ChartSpec kClusterCharts[] = {
    {"chart-replica-kv", "KV cache utilization per replica",
     "Mean within each sampling interval, each replica's share of its own pool (its GPUs together); one line per "
     "replica, or a small chart each from five replicas on, on shared axes."},
    {"chart-replica-load", "Requests per replica",
     "Running and waiting requests, mean within each interval; a small chart per replica from five on."},
};

// What the fleet's hourly price is made of: one card's GPUs, or each pool's (hardware.pools, a decode pool's card).
std::string fleet_cost_note(const json& c) {
  if (const json* pools = find(c, {"cost", "pools"}); pools != nullptr && pools->is_array()) {
    std::string note;
    for (const json& p : *pools) {
      if (!note.empty()) note += "; ";
      note += text(p, {"name"}) + ": " + fmt_count(p, {"gpus"}) + " \u00d7 " + text(p, {"gpu"}) + " at " +
              fmt_number(number(p, {"price_per_gpu_hour_usd"}), "USD/h") + " (" + text(p, {"price_source"}) + ")";
    }
    return note;
  }
  std::string note = fmt_count(c, {"cost", "gpus"}) + " GPUs at " +
                     fmt_number(number(c, {"cost", "price_per_gpu_hour_usd"}), "USD/h") + " (" +
                     text(c, {"cost", "price_source"}) + ")";
  if (auto d = number(c, {"cost", "decode_price_per_gpu_hour_usd"})) {
    note += ", except the decode pool's, at " + fmt_number(d, "USD/h") + " (" + text(c, {"cost", "decode_price_source"}) +
            ")";
  }
  return note;
}

// A cluster (hardware.replicas > 1): the router, the load imbalance and each replica's share.
void append_cluster(std::string& out, const json& r) {
  const json* c = find(r, {"summary", "cluster"});
  if (c == nullptr || !c->is_object()) return;
  out += "<section id=\"cluster\">\n<h2>Cluster</h2>\n<div class=\"panels\">\n";
  std::string router = text(*c, {"router", "policy"});
  if (auto delay = number(*c, {"router", "state_delay_s"}); delay && *delay > 0) {
    router += ", loads reported every " + fmt_number(*delay, "s");
  }
  append_kv_table(out, "Routing",
                  {{"Replicas", fmt_count(*c, {"replicas"}), "engine instances on one clock"},
                   {"Router", router, ""},
                   {"Load imbalance", fmt_number(number(*c, {"load_imbalance"})), "max / mean of completed requests"},
                   {"Iteration imbalance", fmt_number(number(*c, {"iteration_imbalance"})),
                    "max / mean of iterations"},
                   {"Fleet cost", fmt_number(number(*c, {"cost", "fleet_usd_per_hour"}), "USD/h"),
                    fleet_cost_note(*c)}});
  if (const json* d = find(*c, {"disaggregation"}); d != nullptr && d->is_object()) {
    std::vector<KvRow> rows = {
        {"KV moves", fmt_count(*d, {"transfers"}), fmt_bytes(number(*d, {"transfer_bytes"})) + " in all"},
        {"Move time", fmt_seconds(number(*d, {"transfer_s", "mean"})),
         "mean; p99 " + fmt_seconds(number(*d, {"transfer_s", "p99"})) + ", max " +
             fmt_seconds(number(*d, {"transfer_s", "max"}))}};
    if (const json* by = find(*d, {"transfer_bytes_by_link_class"}); by != nullptr && by->is_object()) {
      for (const auto& [cls, bytes] : by->items()) {
        rows.push_back({"Moved over " + cls, fmt_bytes(bytes.is_number() ? std::optional(bytes.get<double>()) : std::nullopt),
                        "each flow's bytes once per link class on its path"});
      }
    }
    append_kv_table(out, "Prefill to decode", rows);
  }
  if (const json* t = find(r, {"summary", "topology", "collective_bytes_by_link_class"}); t != nullptr && t->is_object()) {
    std::vector<KvRow> rows;
    for (const auto& [cls, bytes] : t->items()) {
      rows.push_back({"Over " + cls, fmt_bytes(bytes.is_number() ? std::optional(bytes.get<double>()) : std::nullopt),
                      "all-reduce, all-to-all and pipeline buffers whose slowest link is of this class"});
    }
    if (!rows.empty()) append_kv_table(out, "Collectives on the topology", rows);
  }
  out += "</div>\n";
  const json* per = find(*c, {"per_replica"});
  if (per != nullptr && per->is_array()) {
    out += "<table class=\"grid\"><thead><tr><th scope=\"col\">Replica</th><th scope=\"col\">Role</th>"
           "<th scope=\"col\">GPUs</th>";
    for (const char* h : {"Admitted", "Completed", "Iterations", "Preemptions", "Mean batch", "Peak KV", "Mean KV",
                          "Prefix hit rate"}) {
      out += std::string("<th scope=\"col\" class=\"num\">") + h + "</th>";
    }
    out += "</tr></thead><tbody>\n";
    for (const json& rep : *per) {
      out += "<tr><th scope=\"row\">" + esc(scalar_text(rep.value("replica", json()))) + "</th><td>" +
             esc(text(rep, {"role"})) + "</td><td>" + esc(fmt_count(rep, {"gpus"}) + " \u00d7 " + text(rep, {"gpu"})) +
             "</td>";
      for (const std::string& cell :
           {fmt_count(rep, {"admitted"}), fmt_count(rep, {"completed"}), fmt_count(rep, {"iterations"}),
            fmt_count(rep, {"preemptions"}), fmt_number(number(rep, {"mean_batch_size"})),
            fmt_percent(number(rep, {"peak_kv_utilization"})), fmt_percent(number(rep, {"mean_kv_utilization"})),
            fmt_percent(number(rep, {"prefix_hit_rate"}))}) {
        out += "<td class=\"num\">" + esc(cell) + "</td>";
      }
      out += "</tr>\n";
    }
    out += "</tbody></table>\n";
  }
  append_chart_figures(out, kClusterCharts);
  out += "</section>\n";
}

constexpr ChartSpec kValidationCharts[] = {
    {"chart-val-ttft", "TTFT: measured and kvsim", "Distribution of time to first token over the completed requests."},
    {"chart-val-tpot", "TPOT: measured and kvsim", "Distribution of time per output token."},
    {"chart-val-e2e", "E2E latency: measured and kvsim", "Distribution of end-to-end latency."},
};

// kvsim validate: the error table against the measured run, and both distributions.
void append_validation(std::string& out, const json& r) {
  const json* v = find(r, {"validation"});
  if (v == nullptr || !v->is_object()) return;
  out += "<section id=\"validation\">\n<h2>Against the measured run</h2>\n<p class=\"note\">" +
         esc(text(*v, {"measured_run", "path"})) + " (" + esc(text(*v, {"measured_run", "format"})) + "): " +
         fmt_count(*v, {"requests", "measured"}) + " measured requests (" + fmt_count(*v, {"measured_run", "failed"}) +
         " failed, not compared), " + fmt_count(*v, {"requests", "kvsim"}) +
         " simulated. Percentiles are nearest-rank over exact per-request values on both sides; error = (kvsim − "
         "measured) / measured.</p>\n<table><thead><tr><th>metric</th><th>statistic</th><th class=\"num\">measured"
         "</th><th class=\"num\">kvsim</th><th class=\"num\">error</th></tr></thead><tbody>\n";
  const auto row = [&out](std::string_view name, std::string_view stat, const json& c, bool seconds) {
    const auto value = [seconds](std::optional<double> x) { return seconds ? fmt_seconds(x) : fmt_number(x); };
    const std::optional<double> error = number(c, {"error"});
    out += "<tr><td>" + esc(name) + "</td><td>" + esc(stat) + "</td><td class=\"num\">" +
           esc(value(number(c, {"measured"}))) + "</td><td class=\"num\">" + esc(value(number(c, {"kvsim"}))) +
           "</td><td class=\"num\">" + esc(error ? fmt::format("{:+.1f} %", 100 * *error) : std::string("—")) +
           "</td></tr>\n";
  };
  for (const auto& [key, label] : {std::pair{"ttft_s", "TTFT"}, std::pair{"tpot_s", "TPOT"},
                                   std::pair{"e2e_s", "E2E"}, std::pair{"queue_s", "queue"}}) {
    const json* m = find(*v, {"metrics", key});
    if (m == nullptr) continue;
    for (const char* stat : {"mean", "p50", "p90", "p99"}) {
      if (m->contains(stat)) row(label, stat, (*m)[stat], true);
    }
  }
  if (const json* t = find(*v, {"throughput"})) {
    for (const auto& [key, c] : t->items()) row(key, "", c, false);
  }
  out += "</tbody></table>\n";
  append_chart_figures(out, kValidationCharts);
  out += "</section>\n";
}

void append_charts(std::string& out) {
  out += "<section id=\"charts\">\n<h2>Charts</h2>\n"
         "<noscript><p class=\"note\">Charts need JavaScript; every number above is also in the tables.</p></noscript>\n";
  append_chart_figures(out, kCharts);
  out += "</section>\n";
}

void append_cost_breakdown(std::string& out, const json& r) {
  out += "<section id=\"cost\">\n<h2>Where the time goes</h2>\n";
  const json* cb = find(r, {"cost_breakdown"});
  if (cb == nullptr || !cb->is_array() || cb->empty()) {
    out += "<p class=\"note\">The results hold no cost breakdown.</p>\n</section>\n";
    return;
  }
  double total = 0;
  for (const json& row : *cb) total += number(row, {"seconds"}).value_or(0.0);
  out += "<p class=\"note\">GPU time of all iterations by op kind, as priced by the cost model. "
         "Bound: what limits the op (compute, memory bandwidth or fixed latency). Source: where the number comes "
         "from (roofline model, measured table, interpolated or extrapolated).</p>\n"
         "<div class=\"chart-box cost\" id=\"chart-cost-box\"><canvas id=\"chart-cost\" role=\"img\" "
         "aria-label=\"Cost breakdown\"></canvas></div>\n"
         "<table class=\"grid\"><thead><tr><th scope=\"col\">Op</th><th scope=\"col\" class=\"num\">Time</th>"
         "<th scope=\"col\" class=\"num\">Share</th><th scope=\"col\" class=\"share-col\"></th>"
         "<th scope=\"col\" class=\"num\">Calls</th><th scope=\"col\">Bound</th><th scope=\"col\">Source</th>"
         "</tr></thead><tbody>\n";
  for (const json& row : *cb) {
    const auto seconds = number(row, {"seconds"});
    std::optional<double> share = number(row, {"share"});
    if (!share && seconds && total > 0) share = *seconds / total;
    const double width = std::clamp(share.value_or(0.0) * 100, 0.0, 100.0);
    const std::string bound = text(row, {"bound"});
    out += "<tr><th scope=\"row\"><code>" + esc(text(row, {"op"})) + "</code></th><td class=\"num\">" +
           esc(fmt_seconds(seconds)) + "</td><td class=\"num\">" + esc(fmt_percent(share)) + "</td>" +
           fmt::format("<td class=\"share-col\"><span class=\"bar bound-{}\" style=\"width:{:.1f}%\"></span></td>",
                       bound == "compute" || bound == "memory" || bound == "latency" ? bound : "other", width) +
           "<td class=\"num\">" + esc(fmt_count(row, {"calls"})) + "</td><td>" +
           esc(bound.empty() ? std::string(kMissing) : bound) + "</td><td>" +
           esc(text(row, {"source"}).empty() ? std::string(kMissing) : text(row, {"source"})) + "</td></tr>\n";
  }
  out += "</tbody><tfoot><tr><th scope=\"row\">Total</th><td class=\"num\">" + esc(fmt_seconds(total)) +
         "</td><td class=\"num\">100.0 %</td><td></td><td></td><td></td><td></td></tr></tfoot></table>\n</section>\n";
}

void append_rejections(std::string& out, const json& r) {
  const json* rej = find(r, {"rejections"});
  const json* by_reason = rej != nullptr ? find(*rej, {"by_reason"}) : nullptr;
  const json* first = rej != nullptr ? find(*rej, {"first"}) : nullptr;
  const auto rejected = number(r, {"summary", "requests", "rejected"});
  const bool any_reason = by_reason != nullptr && by_reason->is_object() && !by_reason->empty();
  const bool any_first = first != nullptr && first->is_array() && !first->empty();
  if (!any_reason && !any_first) {
    if (rejected && *rejected > 0) {
      out += "<section id=\"rejections\">\n<h2>Rejected requests</h2>\n<p class=\"note\">" +
             esc(fmt_count(r, {"summary", "requests", "rejected"})) +
             " requests were rejected; the results hold no reasons.</p>\n</section>\n";
    }
    return;  // nothing rejected: no section
  }
  out += "<section id=\"rejections\">\n<h2>Rejected requests</h2>\n";
  if (any_reason) {
    std::vector<std::pair<std::string, const json*>> reasons;
    for (auto it = by_reason->begin(); it != by_reason->end(); ++it) reasons.emplace_back(it.key(), &it.value());
    std::stable_sort(reasons.begin(), reasons.end(), [](const auto& a, const auto& b) {
      return number(a.second).value_or(0) > number(b.second).value_or(0);
    });
    const auto arrived = number(r, {"summary", "requests", "arrived"});
    out += "<table class=\"grid\"><thead><tr><th scope=\"col\">Reason</th><th scope=\"col\" class=\"num\">Requests"
           "</th><th scope=\"col\" class=\"num\">Share of arrived</th></tr></thead><tbody>\n";
    for (const auto& [reason, count] : reasons) {
      std::optional<double> share;
      if (auto c = number(count); c && arrived && *arrived > 0) share = *c / *arrived;
      out += "<tr><td>" + esc(reason) + "</td><td class=\"num\">" + esc(fmt_count(count)) + "</td><td class=\"num\">" +
             esc(fmt_percent(share)) + "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }
  if (any_first) {
    out += fmt::format("<details><summary>First {} rejected requests</summary>\n", first->size());
    out += "<table class=\"grid\"><thead><tr><th scope=\"col\" class=\"num\">Request</th><th scope=\"col\">Reason</th>"
           "</tr></thead><tbody>\n";
    for (const json& item : *first) {
      const json* id = find(item, {"request_id"});
      out += "<tr><td class=\"num\">" + esc(id != nullptr ? scalar_text(*id) : std::string(kMissing)) + "</td><td>" +
             esc(text(item, {"reason"})) + "</td></tr>\n";
    }
    out += "</tbody></table>\n</details>\n";
  }
  out += "</section>\n";
}

void append_approximations(std::string& out, const json& r) {
  out += "<section id=\"approximations\">\n<h2>Approximations</h2>\n";
  const json* a = find(r, {"approximations"});
  if (a == nullptr || !a->is_array() || a->empty()) {
    out += "<p class=\"note\">The results list no approximations.</p>\n</section>\n";
    return;
  }
  out += "<p class=\"note\">What the simulation simplifies, as recorded in the results. Read these before trusting "
         "a number.</p>\n<ul class=\"approx\">\n";
  for (const json& item : *a) out += "<li>" + esc(scalar_text(item)) + "</li>\n";
  out += "</ul>\n</section>\n";
}

void append_json_details(std::string& out, std::string_view title, const json* j, bool open) {
  if (j == nullptr) return;
  out += open ? "<details open>" : "<details>";
  out += "<summary>" + esc(title) + "</summary>\n<pre class=\"json\">" +
         esc(j->dump(2, ' ', false, json::error_handler_t::replace)) + "</pre>\n</details>\n";
}

// The page's own part of the script, between kChartScriptPrelude and kChartScriptEpilogue (html_common.h).
constexpr std::string_view kPageScript = R"js(
  var results = JSON.parse(document.getElementById('kvsim-results').textContent);
  var COLORS = { blue: '#2563eb', red: '#dc2626', green: '#16a34a', amber: '#d97706', violet: '#7c3aed',
                 teal: '#0891b2', slate: '#94a3b8' };

  function resultsCdf(key) { return cdfPoints(get(results, ['distributions', key])); }
  var timeline = get(results, ['timeline']) || {};
  function series(name) { return seriesPoints(timeline, name); }

  // CDFs of `parts`; with the scenario's deadline `sloKey` (summary.slo.targets) a dashed vertical line at it; a
  // logarithmic time axis where the points span more than two decades (tails matter there).
  function cdfConfig(parts, sloKey) {
    var datasets = parts.map(function (p) { return line(p.label, resultsCdf(p.key), p.color, p.extra || {}); })
                        .filter(function (ds) { return ds.data.length > 0; });
    if (!datasets.length) return null;
    var xs = [];
    datasets.forEach(function (d) { d.data.forEach(function (q) { if (q.x > 0) xs.push(q.x); }); });
    var deadline = sloKey ? get(results, ['summary', 'slo', 'targets', sloKey]) : undefined;
    if (finite(deadline)) {
      datasets.push(line('SLO \u2264 ' + fmtSeconds(deadline), [{ x: deadline, y: 0 }, { x: deadline, y: 1 }], '#6b7280',
                         { borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 }));
    }
    var opts = baseOptions('seconds', 'fraction of requests', fmtSeconds, function (v) { return Math.round(v * 100) + '%'; },
      function (ctx) { return ctx.dataset.label + ': ' + fmtSeconds(ctx.parsed.x) + ' at ' + fmtPercent(ctx.parsed.y); });
    opts.scales.y.max = 1;
    if (xs.length >= 2 && Math.max.apply(null, xs) / Math.min.apply(null, xs) > 100) {
      opts.scales.x.type = 'logarithmic';
      opts.scales.x.title.text = 'seconds (logarithmic)';
    }
    return { type: 'line', data: { datasets: datasets }, options: opts };
  }
  // A chart over simulated time of `datasets` (the empty ones left out), or null if none has data.
  function timeChart(datasets, yTitle, yTick, yMax) {
    datasets = datasets.filter(function (ds) { return ds.data.length > 0; });
    if (!datasets.length) return null;
    var opts = baseOptions('simulated time', yTitle, fmtSeconds, yTick,
      function (ctx) { return ctx.dataset.label + ': ' + yTick(ctx.parsed.y) + ' at ' + fmtSeconds(ctx.parsed.x); });
    if (yMax !== undefined) opts.scales.y.max = yMax;
    return { type: 'line', data: { datasets: datasets }, options: opts };
  }
  function timeConfig(parts, yTitle, yTick, yMax) {
    return timeChart(parts.map(function (p) { return line(p.label, series(p.key), p.color, p.extra || {}); }),
                     yTitle, yTick, yMax);
  }

  draw('chart-ttft', function () {
    return cdfConfig([{ label: 'TTFT', key: 'ttft_s', color: COLORS.blue },
                      { label: 'queue', key: 'queue_s', color: COLORS.slate, extra: { borderDash: [5, 4] } }],
                     'ttft_p99_s');
  });
  draw('chart-e2e', function () {
    return cdfConfig([{ label: 'E2E', key: 'e2e_s', color: COLORS.violet }], 'e2e_p99_s');
  });
  draw('chart-tpot', function () {
    return cdfConfig([{ label: 'TPOT', key: 'tpot_s', color: COLORS.green },
                      { label: 'ITL', key: 'itl_s', color: COLORS.amber }], 'tpot_p99_s');
  });
  draw('chart-kv', function () {
    return timeConfig([{ label: 'mean', key: 'kv_utilization', color: COLORS.blue,
                         extra: { fill: 'origin', backgroundColor: 'rgba(37,99,235,0.15)' } },
                       { label: 'max', key: 'kv_utilization_max', color: COLORS.red, extra: { borderWidth: 1.5 } }],
                      'KV blocks in use', function (v) { return Math.round(v * 100) + '%'; }, 1);
  });
  function validationConfig(key) {
    var measured = cdfPoints(get(results, ['validation', 'distributions', 'measured', key])),
        kvsim = cdfPoints(get(results, ['validation', 'distributions', 'kvsim', key]));
    if (!measured.length || !kvsim.length) return null;
    var opts = baseOptions('seconds', 'fraction of requests', fmtSeconds, function (v) { return Math.round(v * 100) + '%'; },
      function (ctx) { return ctx.dataset.label + ': ' + fmtSeconds(ctx.parsed.x) + ' at ' + fmtPercent(ctx.parsed.y); });
    opts.scales.y.max = 1;
    return { type: 'line', data: { datasets: [
      line('measured', measured, COLORS.slate, { borderDash: [5, 4] }), line('kvsim', kvsim, COLORS.blue, {})] },
      options: opts };
  }
  draw('chart-val-ttft', function () { return validationConfig('ttft_s'); });
  draw('chart-val-tpot', function () { return validationConfig('tpot_s'); });
  draw('chart-val-e2e', function () { return validationConfig('e2e_s'); });
  draw('chart-prefix', function () {
    var lookups = series('prefix_lookup_tokens'), hits = series('prefix_hit_tokens'),
        below = series('prefix_tier_hit_tokens');
    var gpu = [], all = [];
    lookups.forEach(function (p, i) {
      if (!(p.y > 0) || !hits[i] || hits[i].x !== p.x) return;
      gpu.push({ x: p.x, y: hits[i].y / p.y });
      var b = below[i] && below[i].x === p.x ? below[i].y : 0;
      all.push({ x: p.x, y: (hits[i].y + b) / p.y });
    });
    if (!gpu.length) return null;
    var datasets = [line('GPU', gpu, COLORS.blue, {}), line('GPU or below', all, COLORS.teal, { borderDash: [5, 4] })];
    var opts = baseOptions('simulated time', 'hit rate', fmtSeconds, function (v) { return Math.round(v * 100) + '%'; },
      function (ctx) { return ctx.dataset.label + ': ' + fmtPercent(ctx.parsed.y) + ' at ' + fmtSeconds(ctx.parsed.x); });
    opts.scales.y.max = 1;
    return { type: 'line', data: { datasets: datasets }, options: opts };
  });
  // A cluster: one line per replica, from results.replica_timelines; from MULTIPLES_FROM replicas on, one small
  // chart per replica on shared axes instead.
  var replicaTimelines = get(results, ['replica_timelines']);
  if (!Array.isArray(replicaTimelines)) replicaTimelines = [];
  function replicaDatasets(key) {
    var palette = [COLORS.blue, COLORS.red, COLORS.green, COLORS.amber, COLORS.violet, COLORS.teal, COLORS.slate];
    return replicaTimelines.map(function (tl, i) {
      var pts = key === 'requests' ? seriesPoints(tl, 'running').map(function (p, j) {
        var w = seriesPoints(tl, 'waiting')[j];
        return { x: p.x, y: p.y + (w && w.x === p.x ? w.y : 0) };
      }) : seriesPoints(tl, key);
      return line('replica ' + i, pts, palette[i % palette.length], { borderWidth: 1.5 });
    });
  }
  function drawReplicas(id, key, yTitle, yTick, yMax) {
    if (replicaTimelines.length >= MULTIPLES_FROM) {
      drawMultiples(id, function () {
        return panelsOf(replicaDatasets(key), 'simulated time', yTitle, fmtSeconds, yTick, yMax);
      });
    } else {
      draw(id, function () {
        return replicaTimelines.length < 2 ? null : timeChart(replicaDatasets(key), yTitle, yTick, yMax);
      });
    }
  }
  drawReplicas('chart-replica-kv', 'kv_utilization', 'KV blocks in use (of the replica\'s pool)',
               function (v) { return Math.round(v * 100) + '%'; }, 1);
  drawReplicas('chart-replica-load', 'requests', 'requests (running + waiting)', function (v) { return sig3(v); });
  draw('chart-batch', function () {
    return timeConfig([{ label: 'batch size', key: 'batch_size', color: COLORS.blue },
                       { label: 'running', key: 'running', color: COLORS.teal, extra: { borderDash: [4, 3], borderWidth: 1.5 } },
                       { label: 'waiting', key: 'waiting', color: COLORS.amber }],
                      'requests', function (v) { return sig3(v); });
  });
  draw('chart-cost', function (canvas) {
    var cb = get(results, ['cost_breakdown']);
    if (!Array.isArray(cb)) return null;
    var items = cb.filter(function (r) { return r && finite(r.seconds); })
                  .map(function (r) { return { op: String(r.op), s: r.seconds, bound: r.bound }; });
    if (!items.length) return null;
    items.sort(function (a, b) { return b.s - a.s; });
    var MAX = 14;
    if (items.length > MAX) {
      var rest = items.slice(MAX - 1), sum = 0;
      rest.forEach(function (r) { sum += r.s; });
      items = items.slice(0, MAX - 1).concat([{ op: 'other (' + rest.length + ' ops)', s: sum, bound: 'other' }]);
    }
    var total = 0;
    cb.forEach(function (r) { if (r && finite(r.seconds)) total += r.seconds; });
    var boundColor = { compute: COLORS.blue, memory: COLORS.amber, latency: COLORS.violet };
    canvas.parentNode.style.height = (70 + 26 * items.length) + 'px';
    return {
      type: 'bar',
      data: { labels: items.map(function (r) { return r.op; }),
              datasets: [{ label: 'seconds', data: items.map(function (r) { return r.s; }),
                           backgroundColor: items.map(function (r) { return boundColor[r.bound] || COLORS.slate; }),
                           borderRadius: 3, barPercentage: 0.8 }] },
      options: {
        indexAxis: 'y',
        scales: { x: { beginAtZero: true, title: { display: true, text: 'GPU time (blue: compute-bound, amber: memory-bound, violet: latency-bound)' },
                       ticks: { callback: fmtSeconds } },
                  y: { ticks: { autoSkip: false } } },
        plugins: { legend: { display: false },
                   tooltip: { callbacks: { label: function (ctx) {
                     return fmtSeconds(ctx.parsed.x) + (total > 0 ? ' (' + fmtPercent(ctx.parsed.x / total) + ')' : '');
                   } } } }
      }
    };
  });
)js";

}  // namespace

std::string html_report_chart_library() { return chart_library_name(); }

std::string render_html_report(const json& results) {
  if (!results.is_object()) throw KvsimError("results: expected a JSON object (see reports/RESULTS.md)");
  const std::string_view chartjs = chartjs_source();

  const std::string model = model_name(results);
  const std::string gpu = gpu_name(results);

  std::string out;
  out.reserve(chartjs.size() + 64 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"kvsim\">\n<title>kvsim report";
  if (!model.empty()) out += ": " + esc(model);
  if (!gpu.empty()) out += " on " + esc(gpu);
  out += "</title>\n<style>";
  out += kCss;
  out += "</style>\n<script>";
  out += kErrorScript;
  out += "</script>\n</head>\n<body>\n<main>\n<div id=\"js-errors\" class=\"js-errors\" hidden></div>\n";

  append_header(out, results);
  append_headline(out, results);
  append_summary(out, results);
  append_slo(out, results);
  append_classes(out, results);
  append_charts(out);
  append_prefix_cache(out, results);
  append_cluster(out, results);
  append_validation(out, results);
  append_cost_breakdown(out, results);
  append_rejections(out, results);
  append_approximations(out, results);

  out += "<section id=\"inputs\">\n<h2>Inputs</h2>\n";
  append_json_details(out, "Resolved scenario", find(results, {"scenario"}), false);
  append_json_details(out, "Model card", find(results, {"model"}), false);
  append_json_details(out, "GPU card", find(results, {"gpu"}), false);
  out += "</section>\n";

  const std::string version = text(results, {"kvsim_version"});
  out += "<footer>Rendered by kvsim" + (version.empty() ? std::string() : " " + esc(version)) +
         " from results.json alone; the page is self-contained and needs no network. Charts drawn with " +
         esc(html_report_chart_library()) + " (MIT license), inlined.</footer>\n</main>\n";

  append_page_scripts(out, "kvsim-results", results, kPageScript);
  return out;
}

}  // namespace kvsim