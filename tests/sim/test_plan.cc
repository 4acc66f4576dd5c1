// kvsim plan (sim/plan/plan.h): pruning before simulation, the cheapest feasible answer and the Pareto flags.
#include <gtest/gtest.h>

#include <fstream>

#include "engine_fixture.h"
#include "sim/core/error.h"
#include "sim/plan/plan.h"

namespace kvsim {
namespace {

// TP 1, 2, 3 x 1, 2 replicas x full, fp8 on at most 2 GPUs; the second stage only with `refine`.
Plan small_plan(const nlohmann::json& slo, bool refine = false) {
  std::vector<testing::Req> reqs;
  for (int i = 0; i < 120; ++i) reqs.push_back({i * 0.1, 600 + 50 * (i % 9), 60 + 7 * (i % 5)});
  nlohmann::json scenario = testing::base_scenario(testing::write_trace("plan", reqs));
  scenario["engine"]["check_invariants"] = false;
  scenario["slo"] = slo;
  const auto dir = testing::test_dir("kvsim-plan-tests");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "base.json") << scenario.dump();
  nlohmann::json doc = {{"scenario", "base.json"},
                              {"max_gpus", 2},
                              {"grid",
                               {{"hardware.tensor_parallel", {1, 2, 3}},
                                {"hardware.replicas", {1, 2}},
                                {"kv.strategy", {"full", "fp8"}}}}};
  if (!refine) {
    doc["refine"] = nlohmann::json::array();
    doc["pd_splits"] = nlohmann::json::array();
  }
  return read_plan(doc, dir, "plan");
}

TEST(Plan, PrunesWhatCannotRunAndAnswersWithTheCheapestFeasible) {
  Plan plan = small_plan({{"ttft_p99_s", 1.0}, {"tpot_p99_s", 0.05}});
  const PlanResult r = run_plan(plan, thread_pool(2), [](std::size_t, std::size_t) {});
  ASSERT_EQ(r.configs.size(), 12u);
  EXPECT_EQ(r.pruned_invalid, 4u);  // TP 3 does not divide Llama-3.1-8B's 32 heads
  EXPECT_EQ(r.pruned_gpus, 2u);     // TP 2 x 2 replicas: 4 GPUs
  EXPECT_EQ(r.simulated, 6u);
  for (const PlanConfig& c : r.configs) {
    const int tp = plan.sweep.points[c.point].overrides.at("hardware.tensor_parallel").get<int>();
    if (tp == 3) {
      EXPECT_NE(c.pruned.find("attention heads"), std::string::npos) << c.pruned;
    }
  }
  ASSERT_TRUE(r.answer.has_value());
  const PlanConfig& best = r.configs[*r.answer];
  EXPECT_TRUE(best.feasible);
  for (const PlanConfig& c : r.configs) {
    if (!c.feasible) continue;
    EXPECT_LE(best.metrics["usd_per_million_output_tokens"].get<double>(),
              c.metrics["usd_per_million_output_tokens"].get<double>());
  }
  // The Pareto flags: exactly the feasible configurations no other feasible one dominates.
  for (const PlanConfig& c : r.configs) {
    if (!c.feasible) {
      EXPECT_FALSE(c.pareto);
      continue;
    }
    bool dominated = false;
    for (const PlanConfig& d : r.configs) {
      if (!d.feasible) continue;
      dominated = dominated || (d.per_gpu >= c.per_gpu && d.per_user >= c.per_user &&
                                (d.per_gpu > c.per_gpu || d.per_user > c.per_user));
    }
    EXPECT_EQ(c.pareto, !dominated) << c.point;
  }
  const nlohmann::json j = plan_json(plan, r);
  EXPECT_EQ(j["answer"], *r.answer);
  EXPECT_EQ(j["simulated"], 6);
}

TEST(Plan, SaysWhenNoConfigurationMeetsTheSlos) {
  Plan plan = small_plan({{"ttft_p99_s", 1e-6}});
  const PlanResult r = run_plan(plan, thread_pool(1), [](std::size_t, std::size_t) {});
  EXPECT_FALSE(r.answer.has_value());
  EXPECT_TRUE(plan_json(plan, r)["answer"].is_null());
}

// The second stage lays each alternative over the best of the first, one at a time: prefix caching, prefix caching
// with a host tier, and a P/D split of a seed's replicas (0.25 and 0.5 of 2 replicas both give 1 + 1: one point).
TEST(Plan, SecondStageVariesTheBestConfigurationsOneThingAtATime) {
  Plan plan = small_plan({{"ttft_p99_s", 1.0}, {"tpot_p99_s", 0.05}}, true);
  EXPECT_EQ(plan.refine, default_plan_refine().get<std::vector<nlohmann::json>>());
  const PlanResult r = run_plan(plan, thread_pool(2), [](std::size_t, std::size_t) {});
  ASSERT_FALSE(r.seeds.empty());
  EXPECT_LE(r.seeds.size(), 4u);
  std::size_t expected = 0;
  for (const std::size_t seed : r.seeds) {
    const PlanConfig& s = r.configs[seed];
    EXPECT_EQ(s.stage, 1);
    EXPECT_TRUE(s.feasible);  // the small plan has feasible configurations: seeds come from them, cheapest first
    expected += 2;
  }
  // TP 1 x 2 replicas is the one simulated configuration with two (TP 2 x 2 needs 4 GPUs): it alone is split.
  ASSERT_EQ(r.pd_seeds.size(), 2u);  // full and fp8
  for (const std::size_t seed : r.pd_seeds) {
    EXPECT_EQ(r.configs[seed].replicas, 2);
    expected += 1;
  }
  for (std::size_t k = 1; k < r.seeds.size(); ++k) {
    EXPECT_LE(r.configs[r.seeds[k - 1]].metrics["usd_per_million_output_tokens"].get<double>(),
              r.configs[r.seeds[k]].metrics["usd_per_million_output_tokens"].get<double>());
  }
  ASSERT_EQ(r.configs.size(), 12 + expected);
  EXPECT_EQ(plan.sweep.points.size(), r.configs.size());
  std::size_t splits = 0, caching = 0;
  for (std::size_t i = 12; i < r.configs.size(); ++i) {
    const PlanConfig& c = r.configs[i];
    EXPECT_EQ(c.stage, 2);
    ASSERT_TRUE(c.seed.has_value());
    auto overrides = plan.sweep.points[i].overrides;
    const auto& seed_overrides = plan.sweep.points[*c.seed].overrides;
    for (const auto& [k, v] : seed_overrides) EXPECT_EQ(overrides.at(k), v) << i;
    if (overrides.count("disaggregation.prefill_replicas") != 0) {
      ++splits;
      EXPECT_EQ(overrides.at("disaggregation.prefill_replicas"), 1);
      EXPECT_EQ(overrides.at("disaggregation.decode_replicas"), 1);
      EXPECT_EQ(c.gpus, r.configs[*c.seed].gpus);
    } else {
      ++caching;
      EXPECT_EQ(overrides.at("engine.prefix_caching"), true);
    }
    EXPECT_TRUE(c.pruned.empty()) << c.pruned;
  }
  EXPECT_EQ(caching, 2 * r.seeds.size());
  EXPECT_EQ(splits, r.pd_seeds.size());
  EXPECT_EQ(r.second_stage_simulated, expected);
  EXPECT_EQ(r.simulated, 6 + expected);
  // The answer is the cheapest feasible of both stages.
  ASSERT_TRUE(r.answer.has_value());
  for (const PlanConfig& c : r.configs) {
    if (c.feasible) {
      EXPECT_LE(r.configs[*r.answer].metrics["usd_per_million_output_tokens"].get<double>(),
                c.metrics["usd_per_million_output_tokens"].get<double>());
    }
  }
  const nlohmann::json j = plan_json(plan, r);
  EXPECT_EQ(j["second_stage"]["simulated"], expected);
  EXPECT_EQ(j["configs"][12]["stage"], 2);
}

TEST(Plan, RejectsBadRefinement) {
  const auto dir = testing::test_dir("kvsim-plan-tests");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "s.json") << testing::base_scenario(testing::write_trace("plan-bad", {{0, 10, 10}})).dump();
  const auto fails = [&](const nlohmann::json& extra, const std::string& says) {
    nlohmann::json doc = {{"scenario", "s.json"}};
    doc.update(extra);
    try {
      read_plan(doc, dir, "plan.json");
      ADD_FAILURE() << extra.dump();
    } catch (const KvsimError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  fails({{"pd_splits", {1.5}}}, "pd_splits");
  fails({{"pd_splits", "half"}}, "pd_splits");
  fails({{"refine", {nlohmann::json::object()}}}, "refine[0]");
  fails({{"refine", {{{"engine..x", 1}}}}}, "engine..x");
  fails({{"refine_seeds", 0}}, "refine_seeds");
}

}  // namespace
}  // namespace kvsim
