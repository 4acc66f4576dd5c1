// The deployment search of kvsim plan (see plan.h).
#include "sim/plan/plan.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "sim/config/scenario.h"
#include "sim/core/error.h"
#include "sim/core/param_reader.h"
#include "sim/engine/results.h"
#include "sim/plan/pareto.h"

namespace kvsim {

nlohmann::json default_plan_grid() {
  return {{"hardware.tensor_parallel", {1, 2, 4, 8}},
          {"hardware.pipeline_parallel", {1, 2}},
          {"hardware.replicas", {1, 2, 4, 8}},
          {"engine.max_num_seqs", {64, 128, 256}},
          {"engine.max_num_batched_tokens", {2048, 8192}},
          {"kv.strategy", {"full", "fp8", "kivi-2"}}};
}

Plan read_plan(const nlohmann::json& doc, const std::filesystem::path& base_dir, const std::string& where) {
  ParamReader r(doc, where);
  Plan p;
  p.max_gpus = r.get_positive<int>("max_gpus", 8);
  r.check(p.max_gpus <= 100000, "max_gpus", "at most 100000 GPUs");
  const nlohmann::json* scenario = r.raw("scenario");
  r.check(scenario != nullptr && (scenario->is_object() || (scenario->is_string() && !scenario->get<std::string>().empty())),
          "scenario", "expected the scenario file's path, or the scenario itself");
  nlohmann::json sweep = {{"scenario", *scenario}};
  const nlohmann::json* grid = r.raw("grid");
  sweep["grid"] = grid != nullptr && !grid->is_null() ? *grid : default_plan_grid();
  if (const nlohmann::json* pts = r.raw("points"); pts != nullptr) sweep["points"] = *pts;
  r.finish();
  p.sweep = read_sweep(sweep, base_dir, where);
  return p;
}

PlanResult run_plan(const Plan& plan, const Distribute& distribute,
                    const std::function<void(std::size_t, std::size_t)>& progress) {
  const Sweep& sweep = plan.sweep;
  const std::filesystem::path base_dir = sweep.scenario_path.parent_path();
  PlanResult out;
  out.configs.resize(sweep.points.size());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < sweep.points.size(); ++i) {
    PlanConfig& c = out.configs[i];
    c.point = i;
    try {  // what the scenario cannot run is pruned with its reason, before any simulation
      const PreparedRun run = prepare_run(sweep.scenario_of(i), base_dir);
      c.gpus = run.resolved["hardware"].value("num_gpus", 0.0);
      if (c.gpus > plan.max_gpus) {
        c.pruned = fmt::format("needs {:g} GPUs, more than max_gpus {}", c.gpus, plan.max_gpus);
        ++out.pruned_gpus;
        continue;
      }
    } catch (const KvsimError& e) {
      c.pruned = e.what();
      ++out.pruned_invalid;
      continue;
    }
    todo.push_back(i);
  }
  std::size_t done = 0;
  out.holds_results = distribute(
      todo.size(),
      [&](std::size_t k) {
        PreparedRun run = prepare_run(sweep.scenario_of(todo[k]), base_dir);
        return sweep_metrics(run_prepared(run, {}));
      },
      [&](std::size_t k, const nlohmann::json& metrics) {
        out.configs[todo[k]].metrics = metrics;
        progress(++done, todo.size());
      });
  out.simulated = todo.size();
  if (!out.holds_results) return out;
  std::vector<ParetoPoint> points;
  std::vector<std::size_t> of_point;
  const auto num = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
  for (const std::size_t i : todo) {
    PlanConfig& c = out.configs[i];
    const nlohmann::json& m = c.metrics;
    const bool overloaded = m.value("overloaded", true);
    const bool met = m["slo_met"].is_boolean() ? m["slo_met"].get<bool>() : true;
    c.feasible = met && !overloaded;
    c.per_gpu = c.gpus > 0 ? num(m["output_tokens_per_s"]) / c.gpus : 0;
    const double tpot = num(m["tpot_p50_s"]);
    c.per_user = tpot > 0 ? 1.0 / tpot : 0;
    if (c.feasible && std::isfinite(c.per_gpu) && std::isfinite(c.per_user)) {
      points.push_back({c.per_user, c.per_gpu});
      of_point.push_back(i);
    }
    if (c.feasible) {
      const double cost = num(m["usd_per_million_output_tokens"]);
      const auto better = [&](const PlanConfig& b) {
        const double bc = num(b.metrics["usd_per_million_output_tokens"]);
        return cost < bc || (cost == bc && c.gpus < b.gpus);
      };
      if (!out.answer || better(out.configs[*out.answer])) out.answer = i;
    }
  }
  for (const std::size_t k : pareto_front(points)) out.configs[of_point[k]].pareto = true;
  return out;
}

nlohmann::json plan_json(const Plan& plan, const PlanResult& r) {
  nlohmann::json configs = nlohmann::json::array();
  std::size_t pareto = 0;
  for (const PlanConfig& c : r.configs) {
    nlohmann::json j = {{"point", c.point}, {"overrides", plan.sweep.points[c.point].to_json()}, {"gpus", c.gpus}};
    if (!c.pruned.empty()) {
      j["pruned"] = c.pruned;
    } else {
      j["metrics"] = c.metrics;
      j["output_tokens_per_s_per_gpu"] = c.per_gpu;
      j["tokens_per_s_per_user"] = c.per_user;
      j["feasible"] = c.feasible;
      j["pareto"] = c.pareto;
      pareto += c.pareto ? 1 : 0;
    }
    configs.push_back(std::move(j));
  }
  nlohmann::json out = {{"kvsim_version", kKvsimVersion},
                        {"scenario", plan.sweep.scenario_path.string()},
                        {"max_gpus", plan.max_gpus},
                        {"keys", plan.sweep.keys},
                        {"candidates", r.configs.size()},
                        {"pruned_invalid", r.pruned_invalid},
                        {"pruned_gpus", r.pruned_gpus},
                        {"simulated", r.simulated},
                        {"pareto", pareto},
                        {"answer", r.answer ? nlohmann::json(*r.answer) : nlohmann::json()},
                        {"configs", std::move(configs)}};
  return out;
}

}  // namespace kvsim
