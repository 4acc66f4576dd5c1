// The deployment search of kvsim plan (see plan.h).
#include "sim/plan/plan.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

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

nlohmann::json default_plan_refine() {
  nlohmann::json host_tier = nlohmann::json::object();
  host_tier["tiers"] = nlohmann::json::array({nlohmann::json{{"tier", "host"}}});
  nlohmann::json out = nlohmann::json::array();
  out.push_back({{"engine.prefix_caching", true}});
  out.push_back({{"engine.prefix_caching", true}, {"engine.kv_tiers", host_tier}});
  return out;
}

Plan read_plan(const nlohmann::json& doc, const std::filesystem::path& base_dir, const std::string& where) {
  ParamReader r(doc, where);
  Plan p;
  p.max_gpus = r.get_positive<int>("max_gpus", 8);
  r.check(p.max_gpus <= 100000, "max_gpus", "at most 100000 GPUs");
  p.refine_seeds = r.get_positive<int>("refine_seeds", 4);
  r.check(p.refine_seeds <= 1000, "refine_seeds", "at most 1000 seeds");
  const nlohmann::json* scenario = r.raw("scenario");
  r.check(scenario != nullptr && (scenario->is_object() || (scenario->is_string() && !scenario->get<std::string>().empty())),
          "scenario", "expected the scenario file's path, or the scenario itself");
  nlohmann::json sweep = {{"scenario", *scenario}};
  const nlohmann::json* grid = r.raw("grid");
  sweep["grid"] = grid != nullptr && !grid->is_null() ? *grid : default_plan_grid();
  if (const nlohmann::json* pts = r.raw("points"); pts != nullptr) sweep["points"] = *pts;
  const nlohmann::json* refine = r.raw("refine");
  const nlohmann::json refine_list = refine != nullptr && !refine->is_null() ? *refine : default_plan_refine();
  r.check(refine_list.is_array(), "refine", "expected a list of objects of dotted keys to values");
  for (std::size_t i = 0; i < refine_list.size(); ++i) {
    const std::string at = fmt::format("{}.refine[{}]", where, i);
    const nlohmann::json& alt = refine_list[i];
    if (!alt.is_object() || alt.empty()) throw KvsimError(at + ": expected a non-empty object of dotted keys to values");
    for (const auto& [key, v] : alt.items()) checked_dotted_key(key, at);
    p.refine.push_back(alt);
  }
  const nlohmann::json* splits = r.raw("pd_splits");
  const nlohmann::json split_list = splits != nullptr && !splits->is_null() ? *splits : nlohmann::json{0.25, 0.5};
  r.check(split_list.is_array(), "pd_splits", "expected a list of fractions in (0, 1)");
  for (const nlohmann::json& f : split_list) {
    r.check(f.is_number() && f.get<double>() > 0 && f.get<double>() < 1, "pd_splits",
            fmt::format("{} is not a fraction in (0, 1) of the replicas that prefill", f.dump()));
    p.pd_splits.push_back(f.get<double>());
  }
  r.finish();
  p.sweep = read_sweep(sweep, base_dir, where);
  p.first_stage_points = p.sweep.points.size();
  return p;
}

namespace {

double num(const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

// Feasibility, the two Pareto axes, the answer and the Pareto flags over the simulated configurations.
void judge(PlanResult& out, const std::vector<std::size_t>& simulated) {
  out.answer.reset();
  std::vector<ParetoPoint> points;
  std::vector<std::size_t> of_point;
  for (const std::size_t i : simulated) {
    PlanConfig& c = out.configs[i];
    const nlohmann::json& m = c.metrics;
    const bool overloaded = m.value("overloaded", true);
    const bool met = m["slo_met"].is_boolean() ? m["slo_met"].get<bool>() : true;
    c.feasible = met && !overloaded;
    c.pareto = false;
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
}

// The first stage's best: the cheapest feasible (then fewest GPUs, lowest point), or without any feasible, the
// highest SLO attainment (then throughput, lowest point).
std::vector<std::size_t> choose_seeds(const PlanResult& out, const std::vector<std::size_t>& simulated, int count) {
  std::vector<std::size_t> order = simulated;
  const auto key = [&](std::size_t i) {
    const PlanConfig& c = out.configs[i];
    const double cost = num(c.metrics["usd_per_million_output_tokens"]);
    const double attainment = num(c.metrics["slo_attainment"]);
    const double rate = num(c.metrics["requests_per_s"]);
    return std::make_tuple(c.feasible ? 0 : 1, c.feasible ? (std::isfinite(cost) ? cost : HUGE_VAL) : 0.0,
                           c.feasible ? c.gpus : 0.0, std::isfinite(attainment) ? -attainment : 0.0,
                           std::isfinite(rate) ? -rate : 0.0, i);
  };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  // Configurations that ran alike (knobs the traffic never reached: the same throughput, TPOT and cost) are one
  // seed: the first of them.
  std::vector<std::size_t> seeds;
  std::set<std::tuple<double, double, double>> seen;
  for (const std::size_t i : order) {
    if (seeds.size() >= static_cast<std::size_t>(count)) break;
    const nlohmann::json& m = out.configs[i].metrics;
    if (seen.insert({num(m["output_tokens_per_s"]), num(m["tpot_p50_s"]), num(m["usd_per_million_output_tokens"])})
            .second) {
      seeds.push_back(i);
    }
  }
  return seeds;
}

}  // namespace

PlanResult run_plan(Plan& plan, const Pool& pool, const std::function<void(std::size_t, std::size_t)>& progress) {
  Sweep& sweep = plan.sweep;
  const std::filesystem::path base_dir = sweep.scenario_path.parent_path();
  PlanResult out;
  // Prunes (with its reason) what the scenario cannot run or what needs too many GPUs; returns the others.
  const auto prune = [&](std::size_t from) {
    std::vector<std::size_t> todo;
    out.configs.resize(sweep.points.size());
    for (std::size_t i = from; i < sweep.points.size(); ++i) {
      PlanConfig& c = out.configs[i];
      c.point = i;
      try {
        const PreparedRun run = prepare_run(sweep.scenario_of(i), base_dir);
        c.gpus = run.resolved["hardware"].value("num_gpus", 0.0);
        c.replicas = run.resolved["hardware"].value("replicas", 1);
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
    return todo;
  };
  // A task is a point's number and overrides: a worker needs nothing else (an MPI rank never sees stage two).
  const Compute compute = [&](const nlohmann::json& task) {
    const std::size_t i = task.at("point").get<std::size_t>();
    PreparedRun run = prepare_run(sweep.scenario_with(task.at("overrides"), fmt::format("point {}", i)), base_dir);
    return sweep_metrics(run_prepared(run, {}));
  };
  std::vector<std::size_t> simulated = prune(0);
  std::size_t done = 0, total = simulated.size();
  const auto simulate = [&](Workers& workers, const std::vector<std::size_t>& todo) {
    std::vector<nlohmann::json> tasks;
    for (const std::size_t i : todo) tasks.push_back({{"point", i}, {"overrides", sweep.points[i].to_json()}});
    workers.run(tasks, [&](std::size_t k, const nlohmann::json& metrics) {
      out.configs[todo[k]].metrics = metrics;
      progress(++done, total);
    });
  };
  out.holds_results = pool(compute, [&](Workers& workers) {
    simulate(workers, simulated);
    judge(out, simulated);
    if (plan.refine.empty() && plan.pd_splits.empty()) return;
    out.seeds = choose_seeds(out, simulated, plan.refine_seeds);
    std::vector<std::size_t> several;  // a P/D split needs two replicas or more: its own seeds have them
    for (const std::size_t i : simulated) {
      if (out.configs[i].replicas >= 2) several.push_back(i);
    }
    out.pd_seeds = choose_seeds(out, several, plan.refine_seeds);
    std::set<std::string> known;
    for (const SweepPoint& p : sweep.points) known.insert(p.to_json().dump());
    std::set<std::string> keys(sweep.keys.begin(), sweep.keys.end());
    const auto add = [&](std::size_t seed, SweepPoint q) {
      if (!known.insert(q.to_json().dump()).second) return;
      for (const auto& [k, v] : q.overrides) keys.insert(k);
      sweep.points.push_back(std::move(q));
      out.configs.resize(sweep.points.size());
      out.configs.back().stage = 2;
      out.configs.back().seed = seed;
    };
    for (const std::size_t seed : out.seeds) {
      for (const nlohmann::json& alt : plan.refine) {
        SweepPoint q = sweep.points[seed];
        for (const auto& [k, v] : alt.items()) q.overrides[k] = v;
        add(seed, std::move(q));
      }
    }
    for (const std::size_t seed : out.pd_seeds) {
      const int replicas = out.configs[seed].replicas;
      for (const double f : plan.pd_splits) {
        const int prefill = std::clamp(static_cast<int>(std::lround(f * replicas)), 1, replicas - 1);
        SweepPoint q = sweep.points[seed];
        q.overrides["disaggregation.prefill_replicas"] = prefill;
        q.overrides["disaggregation.decode_replicas"] = replicas - prefill;
        add(seed, std::move(q));
      }
    }
    sweep.keys.assign(keys.begin(), keys.end());
    const std::vector<std::size_t> second = prune(plan.first_stage_points);
    total += second.size();
    simulate(workers, second);
    out.second_stage_simulated = second.size();
    simulated.insert(simulated.end(), second.begin(), second.end());
  });
  out.simulated = simulated.size();
  if (!out.holds_results) return out;
  judge(out, simulated);
  return out;
}

nlohmann::json plan_json(const Plan& plan, const PlanResult& r) {
  nlohmann::json configs = nlohmann::json::array();
  std::size_t pareto = 0;
  for (const PlanConfig& c : r.configs) {
    nlohmann::json j = {{"point", c.point},
                        {"stage", c.stage},
                        {"overrides", plan.sweep.points[c.point].to_json()},
                        {"gpus", c.gpus}};
    if (c.seed) j["seed"] = *c.seed;
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
                        {"second_stage",
                         {{"seeds", r.seeds},
                          {"pd_seeds", r.pd_seeds},
                          {"refine", plan.refine},
                          {"pd_splits", plan.pd_splits},
                          {"points", r.configs.size() - plan.first_stage_points},
                          {"simulated", r.second_stage_simulated}}},
                        {"pareto", pareto},
                        {"answer", r.answer ? nlohmann::json(*r.answer) : nlohmann::json()},
                        {"configs", std::move(configs)}};
  return out;
}

}  // namespace kvsim
