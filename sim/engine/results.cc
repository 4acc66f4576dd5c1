// results.json construction (see results.h and reports/RESULTS.md).
#include "sim/engine/results.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>

#include <fmt/format.h>

#include "models/kv/kv_size.h"
#include "sim/core/file_digest.h"
#include "sim/core/units.h"

namespace kvsim {

namespace {

// What the fleet costs per hour: every replica's GPUs at its card's price (or the scenario's); and its GPU count.
std::pair<double, double> fleet_price(const PreparedRun& run) {
  const double gpus = run.resolved["hardware"].value("num_gpus", 0.0);
  double per_hour = 0;
  for (std::size_t i = 0; i < run.replica_gpu.size(); ++i) {
    per_hour += run.replica_gpus[i] * run.replica_gpu[i]->price_per_hour_usd;
  }
  return {gpus, per_hour};
}
// Statistics of a distribution; null values when it has no samples (e.g. TPOT when every output is one token).
nlohmann::json stats(const QuantileSketch& s) {
  if (s.empty()) {
    return {{"mean", nullptr}, {"p50", nullptr}, {"p90", nullptr}, {"p99", nullptr}, {"max", nullptr}, {"count", 0}};
  }
  return {{"mean", s.mean()}, {"p50", s.quantile(0.5)}, {"p90", s.quantile(0.9)}, {"p99", s.quantile(0.99)},
          {"max", s.max()}, {"count", s.count()}};
}
nlohmann::json cdf(const QuantileSketch& s) {
  nlohmann::json a = nlohmann::json::array();
  for (auto [v, f] : s.cdf(201)) a.push_back({v, f});
  return a;
}
}  // namespace

namespace {

// The files the scenario read (keys `path`, `profile`, `calibration` naming a regular file), each with its
// SHA-256: which trace and which profiles produced these numbers.
nlohmann::json input_digests(const nlohmann::json& scenario) {
  nlohmann::json out = nlohmann::json::array();
  const std::function<void(const nlohmann::json&, const std::string&)> walk = [&](const nlohmann::json& j,
                                                                                  const std::string& at) {
    if (j.is_object()) {
      for (const auto& [key, value] : j.items()) {
        const std::string here = at.empty() ? key : at + "." + key;
        if (value.is_string() && (key == "path" || key == "profile" || key == "calibration")) {
          const std::filesystem::path p(value.get<std::string>());
          std::error_code ec;
          if (std::filesystem::is_regular_file(p, ec)) {
            out.push_back({{"key", here}, {"path", p.string()}, {"sha256", sha256_file(p)}});
          }
        } else {
          walk(value, here);
        }
      }
    } else if (j.is_array()) {
      for (std::size_t i = 0; i < j.size(); ++i) walk(j[i], fmt::format("{}[{}]", at, i));
    }
  };
  walk(scenario, "");
  return out;
}

}  // namespace

nlohmann::json build_results(const PreparedRun& run, const RunSummary& s, double wall_time_s,
                             const SloTracker::Result& slo) {
  const double T = s.simulated_time_s;
  const auto rate = [T](double n) { return T > 0 ? n / T : 0.0; };
  const KvCapacity& c = run.capacity;
  nlohmann::json summary;
  // skipped_rows: rows the trace format defines as not requests (e.g. BurstGPT failures with 0 tokens), counted
  // so that nothing read is lost silently; they never arrive at the engine.
  summary["requests"] = {{"arrived", s.arrived},
                         {"completed", s.completed},
                         {"rejected", s.rejected},
                         {"timed_out", s.timed_out},
                         {"skipped_rows", run.workload ? run.workload->skipped_rows() : 0}};
  // With a measurement window, the window's requests' latencies (summary.window says which).
  summary["ttft_s"] = stats(slo.windowed ? slo.ttft_s : s.ttft_s);
  summary["tpot_s"] = stats(slo.windowed ? slo.tpot_s : s.tpot_s);
  summary["itl_s"] = stats(s.itl_s);
  summary["e2e_s"] = stats(slo.windowed ? slo.e2e_s : s.e2e_s);
  summary["queue_s"] = stats(slo.windowed ? slo.queue_s : s.queue_s);
  if (slo.windowed) summary["window"] = slo.window;
  {  // what the fleet costs: every replica's GPUs at their cards' prices, per hour, for the run, per token
    const auto [gpus, per_hour] = fleet_price(run);
    const double run_usd = per_hour * s.simulated_time_s / 3600.0;
    const auto per_million = [&](double tokens) { return tokens > 0 ? run_usd / tokens * 1e6 : 0.0; };
    summary["cost"] = {{"gpus", gpus},
                       {"usd_per_hour", per_hour},
                       {"gpu_hours", gpus * s.simulated_time_s / 3600.0},
                       {"run_usd", run_usd},
                       {"usd_per_million_output_tokens", per_million(static_cast<double>(s.output_tokens_generated))},
                       {"usd_per_million_input_tokens", per_million(static_cast<double>(s.prompt_tokens_completed))},
                       {"price_source", run.gpu->price_source}};
    // Energy by the scenario's power model (sim/metrics/energy.h), when every card has a TDP.
    std::vector<GpuGroupPower> groups;
    bool every_card = !run.replica_gpu.empty();
    double busy_gpus = 0, all_gpus = 0;
    for (std::size_t i = 0; i < run.replica_gpu.size(); ++i) {
      every_card = every_card && run.replica_gpu[i]->tdp_W > 0;
      const double busy = i < s.replicas.size() ? s.replicas[i].busy_fraction : 1.0;
      groups.push_back({run.replica_gpus[i], run.replica_gpu[i]->tdp_W, busy});
      busy_gpus += busy * run.replica_gpus[i];
      all_gpus += run.replica_gpus[i];
    }
    if (every_card) {
      const EnergyEstimate e = estimate_energy(run.power, groups, s.simulated_time_s);
      const double joules = e.joules, watts = e.watts;
      const double out_tokens = static_cast<double>(s.output_tokens_generated);
      summary["energy"] = {{"model", run.power.description()},
                           {"power_model", run.power.name()},
                           {"busy_fraction", all_gpus > 0 ? busy_gpus / all_gpus : 0.0},  // GPU-weighted mean
                           {"watts", watts},
                           {"kwh", joules / 3.6e6},
                           {"joules_per_output_token", out_tokens > 0 ? joules / out_tokens : 0.0},
                           {"tdp_source", run.gpu->tdp_source}};
    }
  }
  if (!slo.slo.is_null()) summary["slo"] = slo.slo;
  if (!slo.classes.is_null()) summary["classes"] = slo.classes;
  summary["overloaded"] = slo.overloaded;
  summary["load"] = slo.load;
  // One request's KV at the median and p99 prompt of the workload, and how many such requests one replica's pool
  // holds (kv_size(): the prefill peak admission rule of kvsim run).
  if (!s.prompt_tokens.empty()) {
    nlohmann::json per = {{"scope", "one replica's KV pool (the first's)"}};
    for (const auto& [name, q] : {std::pair{"p50", 0.5}, std::pair{"p99", 0.99}}) {
      const auto tokens = static_cast<TokenCount>(std::llround(s.prompt_tokens.quantile(q)));
      const KvSizeReport k = kv_size(run.iteration->layout(), std::max<TokenCount>(1, tokens),
                                     static_cast<double>(run.sim.kv_capacity_bytes));
      per[std::string(name) + "_prompt_tokens"] = tokens;
      per[std::string(name) + "_prompt_bytes"] = k.bytes_per_request;
      per[std::string(name) + "_prompt_max_concurrent"] = k.max_concurrent_requests.value_or(0);
    }
    summary["kv_per_request"] = per;
  }
  summary["throughput"] = {{"requests_per_s", rate(static_cast<double>(s.completed))},
                           {"input_tokens_per_s", rate(static_cast<double>(s.prompt_tokens_completed))},
                           {"output_tokens_per_s", rate(static_cast<double>(s.output_tokens_generated))}};
  const double cap = static_cast<double>(c.kv_bytes);
  summary["kv"] = {{"strategy", run.strategy_label},
                   {"capacity_tokens", c.capacity_tokens()},
                   {"capacity_bytes", c.kv_bytes},  // per GPU, as every byte figure here; tokens per replica
                   {"gpus_per_replica", run.replica_gpus.empty() ? 1 : run.replica_gpus.front()},
                   {"capacity_blocks", c.capacity_tokens() / run.iteration->layout().block_size},
                   {"block_size", run.iteration->layout().block_size},
                   {"bytes_per_token", c.bytes_per_token},
                   {"weight_bytes_per_gpu", c.weight_bytes},
                   {"activation_reserve_bytes", c.activation_reserve_bytes},
                   {"peak_used_bytes", s.peak_used_bytes},
                   {"peak_utilization", cap > 0 ? static_cast<double>(s.peak_used_bytes) / cap : 0.0},
                   {"peak_host_kv_bytes", s.peak_host_kv_bytes},
                   {"fetched_bytes", s.fetched_bytes},
                   {"mean_utilization", s.mean_kv_utilization},
                   {"preemptions", s.preemptions},
                   {"preempted_requests", s.preempted_requests},
                   {"recomputed_tokens", s.recomputed_tokens},
                   {"swapped_out_bytes", s.swapped_out_bytes},
                   {"swapped_in_bytes", s.swapped_in_bytes},
                   {"used_bytes_at_end", s.used_bytes_at_end}};
  const KvManager::PrefixStats& pc = s.prefix;
  summary["prefix_cache"] = {
      {"enabled", pc.enabled},
      {"hit_tokens", pc.hit_tokens},
      {"hit_rate", pc.lookup_tokens > 0 ? static_cast<double>(pc.hit_tokens) / static_cast<double>(pc.lookup_tokens)
                                        : 0.0},
      {"lookup_tokens", pc.lookup_tokens},
      {"lookups", pc.lookups},
      {"hit_blocks", pc.hit_blocks},
      {"preempted_lookups", pc.preempted_lookups},
      {"preempted_lookup_tokens", pc.preempted_lookup_tokens},
      {"preempted_hit_tokens", pc.preempted_hit_tokens},
      {"registered_blocks", pc.registered_blocks},
      {"deduplicated_blocks", pc.deduplicated_blocks},
      {"evicted_blocks", pc.evicted_blocks},
      {"cached_blocks_at_end", pc.cached_blocks},
      {"tier_hit_tokens", pc.tier_hit_tokens},
      {"total_hit_rate", pc.lookup_tokens > 0 ? static_cast<double>(pc.hit_tokens + pc.tier_hit_tokens) /
                                                    static_cast<double>(pc.lookup_tokens)
                                              : 0.0},
      {"prefill_tokens_saved", pc.hit_tokens + pc.tier_hit_tokens + pc.preempted_hit_tokens +
                                   pc.chunk_reused_tokens - pc.chunk_recomputed_tokens}};
  nlohmann::json tiers = nlohmann::json::array();
  for (const RunSummary::Tier& t : s.tiers) {
    const KvTiers::Stats& ts = t.stats;
    tiers.push_back({{"tier", t.name},
                     {"hit_blocks", ts.hit_blocks},
                     {"hit_tokens", ts.hit_blocks * t.block_tokens},
                     {"loaded_bytes", ts.loaded_bytes},
                     {"stored_blocks", ts.stored_blocks},
                     {"stored_bytes", ts.stored_bytes},
                     {"demoted_blocks", ts.demoted_blocks},
                     {"dropped_blocks", ts.dropped_blocks},
                     {"capacity_blocks", ts.capacity_blocks},
                     {"cached_blocks_at_end", ts.cached_blocks}});
  }
  summary["prefix_cache"]["tiers"] = tiers;
  summary["prefix_cache"]["chunk_reuse"] = {{"reused_tokens", pc.chunk_reused_tokens},
                                            {"recomputed_tokens", pc.chunk_recomputed_tokens},
                                            {"loaded_bytes", s.chunk_store.loaded_bytes},
                                            {"stored_chunks", s.chunk_store.stored_chunks},
                                            {"stored_bytes", s.chunk_store.stored_bytes},
                                            {"evicted_chunks", s.chunk_store.evicted_chunks},
                                            {"cached_chunks_at_end", s.chunk_store.cached_chunks}};
  summary["batch"] = {{"mean_size", s.mean_batch_size}, {"max_size", s.max_batch_size},
                      {"mean_tokens", s.mean_batch_tokens}};
  summary["tokens"] = {{"input_completed", s.prompt_tokens_completed},
                       {"output_generated", s.output_tokens_generated},
                       {"output_requested_completed", s.output_tokens_requested_completed}};
  summary["mean_requests_in_system"] = s.mean_requests_in_system;
  summary["simulated_time_s"] = s.simulated_time_s;
  summary["wall_time_s"] = wall_time_s;
  summary["iterations"] = s.iterations;
  if (s.replicas.size() > 1) {
    // The cluster: each replica's share, and how evenly the router spread the work (max / mean of completed
    // requests and of iterations; 1 is perfectly even).
    nlohmann::json per = nlohmann::json::array();
    double max_completed = 0, sum_completed = 0, max_iterations = 0, sum_iterations = 0;
    double serving = 0;  // replicas that complete requests (not a disaggregated cluster's prefill pool)
    for (std::size_t i = 0; i < s.replicas.size(); ++i) {
      const RunSummary::ReplicaSummary& r = s.replicas[i];
      per.push_back({{"replica", i},
                     {"role", r.role},
                     {"gpu", run.replica_gpu.at(i)->name},
                     {"gpus", run.replica_gpus.at(i)},
                     {"admitted", r.admitted},
                     {"completed", r.completed},
                     {"iterations", r.iterations},
                     {"preemptions", r.preemptions},
                     {"mean_batch_size", r.mean_batch_size},
                     {"peak_kv_utilization", r.peak_kv_utilization},
                     {"mean_kv_utilization", r.mean_kv_utilization},
                     {"busy_fraction", r.busy_fraction},
                     {"prefix_hit_rate", r.prefix_lookup_tokens > 0 ? static_cast<double>(r.prefix_hit_tokens) /
                                                                          static_cast<double>(r.prefix_lookup_tokens)
                                                                    : 0.0}});
      if (r.role == "prefill") continue;  // the imbalance is the serving replicas'
      serving += 1;
      max_completed = std::max(max_completed, static_cast<double>(r.completed));
      sum_completed += static_cast<double>(r.completed);
      max_iterations = std::max(max_iterations, static_cast<double>(r.iterations));
      sum_iterations += static_cast<double>(r.iterations);
    }
    const double n = serving;
    summary["cluster"] = {
        {"replicas", s.replicas.size()},
        {"router", run.resolved.contains("router") ? run.resolved["router"] : nlohmann::json()},
        {"per_replica", std::move(per)},
        {"load_imbalance", sum_completed > 0 ? max_completed / (sum_completed / n) : 1.0},
        {"iteration_imbalance", sum_iterations > 0 ? max_iterations / (sum_iterations / n) : 1.0}};
    if (s.transfers > 0 || run.resolved.contains("disaggregation")) {
      summary["cluster"]["disaggregation"] = run.resolved.value("disaggregation", nlohmann::json::object());
      summary["cluster"]["disaggregation"]["transfers"] = s.transfers;
      summary["cluster"]["disaggregation"]["transfer_bytes"] = s.transfer_bytes;
      summary["cluster"]["disaggregation"]["transfer_s"] = stats(s.transfer_s);
      if (run.topology) {
        summary["cluster"]["disaggregation"]["transfer_bytes_by_link_class"] = s.transfer_bytes_by_link_class;
      }
      if (run.decode_gpu != nullptr) {
        summary["cluster"]["disaggregation"]["decode_cost_model"] = run.decode_kernels->params();
      }
      if (run.decode_iteration) {  // its own card or tensor parallelism
        summary["cluster"]["disaggregation"]["decode_kv_capacity_bytes"] = run.decode_capacity.kv_bytes;
      }
    }
    const auto [gpus, per_hour] = fleet_price(run);
    summary["cluster"]["cost"] = {{"gpus", gpus},
                                  {"price_per_gpu_hour_usd", run.gpu->price_per_hour_usd},
                                  {"price_source", run.gpu->price_source},
                                  {"fleet_usd_per_hour", per_hour},
                                  {"run_usd", per_hour * s.simulated_time_s / 3600.0}};
    if (run.decode_gpu != nullptr) {
      summary["cluster"]["cost"]["decode_price_per_gpu_hour_usd"] = run.decode_gpu->price_per_hour_usd;
      summary["cluster"]["cost"]["decode_price_source"] = run.decode_gpu->price_source;
    }
    if (!run.pools.empty()) {  // hardware.pools: each pool's card, GPUs and price (the first is the run's own)
      nlohmann::json pools = nlohmann::json::array();
      for (const nlohmann::json& p : run.resolved["hardware"]["pools"]) {
        const std::size_t i = pools.size();
        const GpuSpec& g = i == 0 ? *run.gpu : *run.pools[i - 1].gpu;
        const int tp = p["tensor_parallel"].get<int>() * run.parallelism.pp;
        pools.push_back({{"name", p["name"]},
                         {"gpu", g.name},
                         {"gpus", p["replicas"].get<int>() * tp},
                         {"price_per_gpu_hour_usd", g.price_per_hour_usd},
                         {"price_source", g.price_source},
                         {"kv_capacity_bytes", i == 0 ? run.capacity.kv_bytes : run.pools[i - 1].capacity.kv_bytes}});
      }
      summary["cluster"]["cost"]["pools"] = std::move(pools);
    }
  }

  double total_s = 0;
  for (const CostEstimate& e : s.op_totals) total_s += e.seconds;
  nlohmann::json breakdown = nlohmann::json::array();
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < kNumOpIds; ++i) {
    if (s.op_calls[i] > 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return s.op_totals[a].seconds > s.op_totals[b].seconds; });
  for (std::size_t i : order) {
    const CostEstimate& e = s.op_totals[i];
    const auto& by_bound = s.op_bound_seconds[i];
    const auto dominant = static_cast<Bound>(std::max_element(by_bound.begin(), by_bound.end()) - by_bound.begin());
    breakdown.push_back({{"op", op_name(static_cast<OpId>(i))},
                         {"seconds", e.seconds},
                         {"share", total_s > 0 ? e.seconds / total_s : 0.0},
                         {"flops", e.flops},
                         {"bytes", e.bytes},
                         {"calls", s.op_calls[i]},
                         {"bound", bound_name(dominant)},
                         {"source", source_name(e.source)}});
  }

  // A timeline as results.json writes it: the columns once, a row per sample.
  const auto timeline_json = [](const std::vector<TimelineSample>& rows, double interval_s) {
    nlohmann::json t;
    t["interval_s"] = interval_s;
    t["columns"] = {"time_s",       "kv_utilization",       "kv_utilization_max", "running",
                    "waiting",      "batch_size",           "batch_tokens",       "preemptions",
                    "prefix_lookup_tokens", "prefix_hit_tokens", "prefix_tier_hit_tokens"};
    t["rows"] = nlohmann::json::array();
    for (const TimelineSample& r : rows) {
      t["rows"].push_back({r.time_s, r.kv_utilization, r.kv_utilization_max, r.running, r.waiting, r.batch_size,
                           r.batch_tokens, r.preemptions, r.prefix_lookup_tokens, r.prefix_hit_tokens,
                           r.prefix_tier_hit_tokens});
    }
    return t;
  };
  nlohmann::json timeline = timeline_json(s.timeline, s.timeline_interval_s);
  nlohmann::json replica_timelines = nlohmann::json::array();
  if (s.replicas.size() > 1) {
    for (const RunSummary::ReplicaSummary& r : s.replicas) {
      replica_timelines.push_back(timeline_json(r.timeline, r.timeline_interval_s));
    }
  }

  nlohmann::json rejections;
  rejections["by_reason"] = nlohmann::json::object();
  for (const auto& [reason, n] : s.rejections_by_reason) rejections["by_reason"][reason] = n;
  rejections["first"] = nlohmann::json::array();
  for (const auto& [id, reason] : s.first_rejections) rejections["first"].push_back({{"request_id", id}, {"reason", reason}});

  nlohmann::json results;
  results["kvsim_version"] = kKvsimVersion;
  results["build"] = {{"git_commit", git_commit()}, {"build_type", build_type()}};
  results["inputs"] = input_digests(run.resolved);
  results["scenario"] = run.resolved;
  results["workload_source"] = run.workload ? run.workload->describe() : "";
  results["model"] = to_json(*run.model);
  results["kv_layout"] = run.iteration->layout().to_json();
  nlohmann::json quality = nlohmann::json::array();
  for (const KvStrategyEntry* e : run.strategy_entries) {
    for (const ReportedQuality& q : e->reported) {
      quality.push_back({{"strategy", e->name}, {"benchmark", q.benchmark}, {"model", q.model},
                         {"result", q.result}, {"source", q.source}});
    }
  }
  results["reported_quality"] = std::move(quality);
  results["gpu"] = to_json(*run.gpu);
  results["summary"] = std::move(summary);
  results["cost_breakdown"] = std::move(breakdown);

  if (run.topology) {  // what crossed each class of link: the collectives, and KV moves between replicas
    nlohmann::json& t = results["summary"]["topology"];
    t["collective_bytes_by_link_class"] = s.collective_bytes_by_link_class;
    t["kv_move_bytes_by_link_class"] = s.transfer_bytes_by_link_class;
  }
  results["distributions"] = {{"ttft_s", cdf(s.ttft_s)}, {"tpot_s", cdf(s.tpot_s)}, {"itl_s", cdf(s.itl_s)},
                              {"e2e_s", cdf(s.e2e_s)}, {"queue_s", cdf(s.queue_s)}};
  results["timeline"] = std::move(timeline);
  // A cluster's replicas, each its own timeline (the one above is the fleet's); only with hardware.replicas > 1.
  if (!replica_timelines.empty()) results["replica_timelines"] = std::move(replica_timelines);
  results["rejections"] = std::move(rejections);
  results["approximations"] = run.approximations;
  return results;
}

nlohmann::json run_prepared(PreparedRun& run, std::vector<ISimObserver*> observers, RunSummary* summary_out) {
  const auto start = std::chrono::steady_clock::now();
  SloTracker slo(run.slo, run.window, run.classes);
  observers.push_back(&slo);
  Simulator sim(run.sim, *run.workload, run.scheduler, *run.iteration, std::move(observers));
  RunSummary summary = sim.run();
  const SloTracker::Result slo_result = slo.finish();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json results = build_results(run, summary, wall, slo_result);
  if (summary_out) *summary_out = std::move(summary);
  return results;
}

}  // namespace kvsim
