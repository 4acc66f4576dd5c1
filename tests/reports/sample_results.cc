#include "tests/reports/sample_results.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace kvsim::test {
namespace {

using json = nlohmann::json;

struct Stats {
  double min, mean, p50, p90, p99, max;
};

json stats_json(const Stats& s) {
  return {{"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"max", s.max}};
}

// A CDF consistent with the percentiles: 201 points interpolated between the knots (log scale when positive).
json cdf_json(const Stats& s) {
  const double fs[] = {0.0, 0.5, 0.9, 0.99, 1.0};
  const double vs[] = {s.min, s.p50, s.p90, s.p99, s.max};
  const bool log_scale = s.min > 0;
  json points = json::array();
  for (int i = 0; i <= 200; ++i) {
    const double f = i / 200.0;
    int k = 0;
    while (k < 3 && f > fs[k + 1]) ++k;
    const double t = (f - fs[k]) / (fs[k + 1] - fs[k]);
    const double v = log_scale ? std::exp(std::log(vs[k]) + t * (std::log(vs[k + 1]) - std::log(vs[k])))
                               : vs[k] + t * (vs[k + 1] - vs[k]);
    points.push_back({v, f});
  }
  return points;
}

json timeline_json() {
  json rows = json::array();
  const double interval = 1.5;
  for (int i = 0; i < 400; ++i) {
    const double t = i * interval;
    const double s = std::sin(t / 95.0);
    const double util = std::clamp(0.30 + 0.45 * s * s + 0.04 * std::sin(t / 7.0), 0.0, 1.0);
    const double util_max = std::min(1.0, util + 0.06 + 0.03 * std::sin(t / 3.0));
    const int running = static_cast<int>(std::lround(30 + 60 * s * s + 4 * std::sin(t / 5.0)));
    const int waiting = std::max(0, static_cast<int>(std::lround((util_max - 0.8) * 200)));
    const int batch = std::max(1, running - (i % 7 == 0 ? 3 : 0));
    const int batch_tokens = batch + (i % 3 == 0 ? 2048 : 512);
    const int preemptions = util_max > 0.97 ? 1 : 0;
    const int lookups = i % 5 == 4 ? 0 : 3000 + 100 * (i % 9);  // some intervals admit nobody
    const int hits = static_cast<int>(lookups * (0.2 + 0.3 * s * s));
    const int below = lookups / 10;
    rows.push_back({t, util, util_max, running, waiting, batch, batch_tokens, preemptions, lookups, hits, below});
  }
  return {{"interval_s", interval},
          {"columns", {"time_s", "kv_utilization", "kv_utilization_max", "running", "waiting", "batch_size",
                       "batch_tokens", "preemptions", "prefix_lookup_tokens", "prefix_hit_tokens",
                       "prefix_tier_hit_tokens"}},
          {"rows", rows}};
}

json cost_row(const char* op, double seconds, double total, double flops, double bytes, long long calls,
              const char* bound, const char* source) {
  return {{"op", op},       {"seconds", seconds}, {"share", seconds / total}, {"flops", flops},
          {"bytes", bytes}, {"calls", calls},     {"bound", bound},          {"source", source}};
}

}  // namespace

json sample_results(SampleKind kind) {
  if (kind == SampleKind::kMinimal) {
    return {{"kvsim_version", "0.1.0"}, {"summary", {{"requests", {{"arrived", 0}, {"completed", 0}, {"rejected", 0}}}}}};
  }
  const bool hostile = kind == SampleKind::kHostile;

  const Stats ttft{0.031, 0.214, 0.152, 0.384, 1.12, 2.41};
  const Stats tpot{0.0118, 0.0241, 0.0223, 0.0312, 0.0463, 0.0812};
  const Stats itl{0.0097, 0.0242, 0.0219, 0.0335, 0.0714, 0.352};
  const Stats e2e{0.41, 6.21, 5.12, 12.3, 24.8, 41.2};
  const Stats queue{0.0, 0.082, 0.0, 0.21, 0.93, 2.08};

  json scenario = {
      {"name", hostile ? "demo </script><script>alert('x')</script> run" : "reference scenario, synthetic load"},
      {"model", hostile ? "llama<script>-3.1-8b" : "llama-3.1-8b"},
      {"hardware", {{"gpu", "h100-sxm"}, {"num_gpus", 1}, {"tensor_parallel", 1}}},
      {"engine",
       {{"scheduler", "vllm-v1"}, {"max_num_batched_tokens", 8192}, {"max_num_seqs", 256}, {"block_size", 16},
        {"gpu_memory_utilization", 0.9}, {"preemption", "recompute"}, {"prefix_caching", true}}},
      {"kv", {{"strategy", "full"}}},
      {"workload",
       {{"synthetic",
         {{"arrival", "poisson"}, {"rate_per_s", 2.0}, {"input_tokens", {{"dist", "lognormal"}, {"mean", 1000}}},
          {"output_tokens", {{"dist", "lognormal"}, {"mean", 250}}}}},
        {"max_requests", 1200},
        {"time_scale", 1.0}}},
      {"cost_model", {{"backend", "roofline"}}},
      {"slo", {{"ttft_p99_s", 2.0}, {"tpot_p99_s", 0.04}}},
      {"seed", 1}};

  const double total = 512.0;
  json cost = json::array({
      cost_row("attention.decode", 171.5, total, 2.1e15, 3.9e14, 118000, "memory", "roofline"),
      cost_row("gemm.mlp", 139.2, total, 5.8e16, 4.1e13, 118000, "compute", "roofline"),
      cost_row("gemm.qkv", 52.8, total, 2.0e16, 1.5e13, 118000, "compute", "roofline"),
      cost_row("gemm.o_proj", 38.6, total, 1.5e16, 1.2e13, 118000, "compute", "roofline"),
      cost_row("attention.prefill", 41.3, total, 9.6e15, 2.2e12, 9400, "compute", "roofline"),
      cost_row("lm_head", 30.1, total, 1.1e16, 1.2e14, 118000, "memory", "roofline"),
      cost_row("iteration.overhead", 29.5, total, 0, 0, 118000, "latency", "roofline"),
      cost_row("sampling", 9.0, total, 0, 3.0e12, 118000, "latency", "roofline"),
  });
  std::sort(cost.begin(), cost.end(),
            [](const json& a, const json& b) { return a["seconds"].get<double>() > b["seconds"].get<double>(); });

  const std::string reason = hostile ? "prompt <b>too long</b> & over capacity"
                                     : "prompt of 140000 tokens exceeds the KV capacity of 131072 tokens per request";
  json results = {
      {"kvsim_version", "0.1.0"},
      {"scenario", scenario},
      {"model",
       {{"name", "llama-3.1-8b"}, {"num_layers", 32}, {"hidden_size", 4096}, {"num_attention_heads", 32},
        {"num_kv_heads", 8}, {"head_dim", 128}, {"source", "https://huggingface.co/meta-llama/Llama-3.1-8B config.json"}}},
      {"gpu",
       {{"name", "h100-sxm"}, {"memory_bytes", 80e9}, {"hbm_bandwidth_GBps", 3350}, {"bf16_tflops", 989},
        {"source", "NVIDIA H100 datasheet"}}},
      {"summary",
       {{"requests", {{"arrived", 1200}, {"completed", 1198}, {"rejected", 2}}},
        {"ttft_s", stats_json(ttft)},
        {"tpot_s", stats_json(tpot)},
        {"itl_s", stats_json(itl)},
        {"e2e_s", stats_json(e2e)},
        {"queue_s", stats_json(queue)},
        {"throughput", {{"requests_per_s", 1.9967}, {"input_tokens_per_s", 2003.4}, {"output_tokens_per_s", 498.7}}},
        {"kv",
         {{"capacity_tokens", 450560}, {"capacity_bytes", 59055800320LL}, {"capacity_blocks", 28160},
          {"block_size", 16}, {"peak_used_bytes", 58467000000LL}, {"peak_utilization", 0.99},
          {"mean_utilization", 0.5234}, {"preemptions", 14}, {"preempted_requests", 11},
          {"recomputed_tokens", 18250}, {"swapped_out_bytes", 0}, {"swapped_in_bytes", 0}}},
        {"prefix_cache",
         {{"enabled", true}, {"hit_tokens", 412000}, {"hit_rate", 0.3427}, {"total_hit_rate", 0.4412},
          {"tier_hit_tokens", 118400}, {"prefill_tokens_saved", 560000}, {"lookups", 1200}, {"lookup_tokens", 1202000},
          {"hit_blocks", 25750}, {"registered_blocks", 61000}, {"evicted_blocks", 33000}, {"cached_blocks_at_end", 28000},
          {"tiers", json::array({{{"tier", hostile ? "host<script>" : "host"}, {"hit_blocks", 7400}, {"hit_tokens", 118400},
                                  {"loaded_bytes", 1.55e10}, {"stored_blocks", 33000}, {"stored_bytes", 6.9e10},
                                  {"demoted_blocks", 0}, {"dropped_blocks", 0}, {"capacity_blocks", 131072},
                                  {"cached_blocks_at_end", 33000}}})}}},
        {"batch", {{"mean_size", 58.4}, {"max_size", 97}, {"mean_tokens", 742.5}}},
        {"mean_requests_in_system", 61.2},
        {"simulated_time_s", 600.8},
        {"wall_time_s", 1.84},
        {"iterations", 118000}}},
      {"cost_breakdown", cost},
      {"distributions",
       {{"ttft_s", cdf_json(ttft)},
        {"tpot_s", cdf_json(tpot)},
        {"itl_s", cdf_json(itl)},
        {"e2e_s", cdf_json(e2e)},
        {"queue_s", cdf_json(queue)}}},
      {"timeline", timeline_json()},
      {"rejections",
       {{"by_reason", {{reason, 2}}},
        {"first", json::array({{{"request_id", 17}, {"reason", reason}}, {{"request_id", 944}, {"reason", reason}}})}}},
      {"approximations",
       {"Attention kernels are priced with a roofline model (no measured table for h100-sxm).",
        "Sampling and detokenization are a fixed per-iteration overhead.",
        hostile ? "An approximation with <!-- a comment opener --> and a </SCRIPT > closer and <i>markup</i>."
                : "Prefill chunks of one request in the same iteration are priced as one attention call."}}};
  if (kind == SampleKind::kCluster || kind == SampleKind::kClusterMany) {
    // Replicas sharing the fleet's work: each has the fleet's timeline shape at its own share.
    const int n = kind == SampleKind::kCluster ? 2 : 8;
    json timelines = json::array(), per = json::array();
    for (int i = 0; i < n; ++i) {
      json t = timeline_json();
      const double share = 1.0 - 0.2 * i / (n - 1);
      for (json& row : t["rows"]) {
        for (std::size_t c = 1; c < row.size(); ++c) {
          if (row[c].is_number()) row[c] = row[c].get<double>() * share;
        }
      }
      timelines.push_back(std::move(t));
      per.push_back({{"replica", i}, {"admitted", 610 - 20 * i}, {"completed", 600 - 20 * i},
                     {"iterations", 5000 - 100 * i}, {"preemptions", 9 - i}, {"mean_batch_size", 12.5 - 0.4 * i},
                     {"peak_kv_utilization", 0.81 - 0.04 * i / (n - 1)}, {"mean_kv_utilization", 0.4 - 0.02 * i / (n - 1)},
                     {"prefix_hit_rate", 0.36 - 0.03 * i / (n - 1)}});
    }
    results["replica_timelines"] = std::move(timelines);
    results["scenario"]["hardware"]["replicas"] = n;
    results["summary"]["cluster"] = {
        {"replicas", n},
        {"router", {{"policy", "prefix-aware:load_weight=0.5"}, {"state_delay_s", 0.0}}},
        {"per_replica", std::move(per)},
        {"load_imbalance", 1.0169},
        {"iteration_imbalance", 1.0101},
        {"cost", {{"gpus", n}, {"price_per_gpu_hour_usd", 3.0}, {"price_source", "the H100 card"},
                  {"fleet_usd_per_hour", 3.0 * n}, {"run_usd", 0.5 * n}}}};
  }
  return results;
}

}  // namespace kvsim::test

namespace kvsim::test {
namespace {

using json = nlohmann::json;

struct VariantEffect {
  const char* name;
  const char* strategy;
  const char* description;
  double memory = 1.0;      // KV bytes per token relative to full
  double latency = 1.0;     // latencies relative to the baseline
  double throughput = 1.0;  // output throughput relative to the baseline
  double batch = 1.0;       // batch sizes relative to the baseline
  long long preemptions = 14;
  bool quantizes = false;   // adds a kv.quantize op
};

void scale_stats(json& stats, double f) {
  for (auto& [key, value] : stats.items()) {
    if (value.is_number()) value = value.get<double>() * f;
  }
}

json variant_results(const VariantEffect& e, bool hostile) {
  json r = sample_results(SampleKind::kNormal);
  json& sum = r["summary"];
  sum["kv"]["strategy"] = e.strategy;
  sum["kv"]["bytes_per_token"] = 131072.0 * e.memory;
  sum["kv"]["capacity_tokens"] = static_cast<long long>(450560 / e.memory);
  sum["kv"]["fetched_bytes"] = 0.0;
  sum["kv"]["preemptions"] = e.preemptions;
  sum["kv"]["recomputed_tokens"] = e.preemptions * 1300;
  r["scenario"]["kv"] = {{"strategy", e.strategy}};
  for (const char* key : {"ttft_s", "tpot_s", "itl_s", "e2e_s", "queue_s"}) scale_stats(sum[key], e.latency);
  for (auto& [key, cdf] : r["distributions"].items()) {
    for (json& point : cdf) point[0] = point[0].get<double>() * e.latency;
  }
  sum["throughput"]["output_tokens_per_s"] = sum["throughput"]["output_tokens_per_s"].get<double>() * e.throughput;
  sum["batch"]["max_size"] = static_cast<long long>(97 * e.batch);
  sum["batch"]["mean_size"] = 58.4 * e.batch;
  sum["kv"]["mean_utilization"] = 0.5234 * std::min(1.0, 0.5 + 0.5 * e.memory);
  for (json& row : r["timeline"]["rows"]) {
    row[1] = row[1].get<double>() * std::min(1.0, 0.5 + 0.5 * e.memory);
    row[5] = std::lround(row[5].get<double>() * e.batch);
  }
  for (json& row : r["cost_breakdown"]) {
    if (row["op"] == "attention.decode") row["seconds"] = row["seconds"].get<double>() * e.memory;
  }
  if (e.quantizes) {
    r["cost_breakdown"].push_back({{"op", "kv.quantize"}, {"seconds", 6.5}, {"share", 0.0}, {"flops", 1e13},
                                   {"bytes", 2e13}, {"calls", 118000}, {"bound", "memory"}, {"source", "roofline"}});
  }
  double total = 0;
  for (const json& row : r["cost_breakdown"]) total += row["seconds"].get<double>();
  for (json& row : r["cost_breakdown"]) row["share"] = row["seconds"].get<double>() / total;
  std::sort(r["cost_breakdown"].begin(), r["cost_breakdown"].end(),
            [](const json& a, const json& b) { return a["seconds"].get<double>() > b["seconds"].get<double>(); });
  r["reported_quality"] = json::array();
  if (std::string(e.strategy).rfind("kivi", 0) == 0) {
    r["reported_quality"].push_back(
        {{"strategy", "kivi-2"}, {"benchmark", hostile ? "LongBench <b>bold</b> & co" : "LongBench and generation tasks"},
         {"model", "Llama-2, Falcon, Mistral"},
         {"result", hostile ? "</script><script>alert('q')</script>" : "almost the same quality as 16-bit"},
         {"source", "arXiv 2402.02750 abstract"}});
    r["reported_quality"].push_back({{"strategy", "kivi-2"}, {"benchmark", "peak memory and throughput"},
                                     {"model", "Llama-2-7B"},
                                     {"result", "2.6x less peak memory (incl. weights), 2.35x-3.47x throughput"},
                                     {"source", "arXiv 2402.02750 abstract"}});
  }
  if (e.quantizes) r["approximations"].push_back("Quantization runs as a separate memory-bound kernel on append.");
  return r;
}

}  // namespace

json sample_comparison(ComparisonKind kind) {
  json c = {{"kvsim_version", "0.1.0"},
            {"title", "KV-cache strategies on Llama-3.1-8B, synthetic chat traffic"},
            {"description", "The reference scenario replayed once per KV-cache strategy."},
            {"variants", json::array()}};
  if (kind == ComparisonKind::kMinimal) {
    c["variants"].push_back({{"name", "full"}, {"results", nullptr}});
    c["variants"].push_back({{"name", nullptr}, {"description", nullptr}, {"dir", nullptr}, {"results", json::object()}});
    return c;
  }
  const bool hostile = kind == ComparisonKind::kHostile;
  std::vector<VariantEffect> effects = {
      {"full", "full", "BF16 KV, every token kept (baseline)"},
      {"fp8", "fp8", "FP8 KV cache", 0.5, 0.82, 1.41, 1.6, 3, true},
      {"kivi-2", "kivi-2", "KIVI 2-bit with a 128-token residual", 0.16, 0.74, 1.84, 2.1, 0, true},
  };
  if (kind == ComparisonKind::kMany) {
    const char* more[] = {"int8", "sliding-window", "streaming-llm", "snapkv", "h2o", "quest", "mla"};
    for (int i = 0; i < 7; ++i) {
      effects.push_back({more[i], more[i], "one more strategy", 0.9 - 0.1 * i, 0.95 - 0.03 * i, 1.05 + 0.1 * i,
                         1.1 + 0.1 * i, 10 - i, i % 2 == 0});
    }
  }
  if (hostile) {
    effects[1].name = "fp8 <b>bold</b> & \"quoted\"";
    effects[1].description = "</script><script>alert('x')</script><!--";
    effects[2].name = "kivi</SCRIPT><script>alert(1)</script>";
  }
  for (const VariantEffect& e : effects) {
    json v = {{"name", e.name}, {"description", e.description}, {"dir", e.name},
              {"results", variant_results(e, hostile)}};
    if (hostile && &e == &effects[1]) v["dir"] = "javascript:alert('dir')";
    c["variants"].push_back(std::move(v));
  }
  return c;
}

}  // namespace kvsim::test
