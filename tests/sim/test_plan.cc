// kvsim plan (sim/plan/plan.h): pruning before simulation, the cheapest feasible answer and the Pareto flags.
#include <gtest/gtest.h>

#include <fstream>

#include "engine_fixture.h"
#include "sim/plan/plan.h"

namespace kvsim {
namespace {

Plan small_plan(const nlohmann::json& slo) {
  std::vector<testing::Req> reqs;
  for (int i = 0; i < 120; ++i) reqs.push_back({i * 0.1, 600 + 50 * (i % 9), 60 + 7 * (i % 5)});
  nlohmann::json scenario = testing::base_scenario(testing::write_trace("plan", reqs));
  scenario["engine"]["check_invariants"] = false;
  scenario["slo"] = slo;
  const auto dir = testing::test_dir("kvsim-plan-tests");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "base.json") << scenario.dump();
  const nlohmann::json doc = {{"scenario", "base.json"},
                              {"max_gpus", 2},
                              {"grid",
                               {{"hardware.tensor_parallel", {1, 2, 3}},
                                {"hardware.replicas", {1, 2}},
                                {"kv.strategy", {"full", "fp8"}}}}};
  return read_plan(doc, dir, "plan");
}

TEST(Plan, PrunesWhatCannotRunAndAnswersWithTheCheapestFeasible) {
  const Plan plan = small_plan({{"ttft_p99_s", 1.0}, {"tpot_p99_s", 0.05}});
  const PlanResult r = run_plan(plan, thread_distributor(2), [](std::size_t, std::size_t) {});
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
  const Plan plan = small_plan({{"ttft_p99_s", 1e-6}});
  const PlanResult r = run_plan(plan, thread_distributor(1), [](std::size_t, std::size_t) {});
  EXPECT_FALSE(r.answer.has_value());
  EXPECT_TRUE(plan_json(plan, r)["answer"].is_null());
}

}  // namespace
}  // namespace kvsim
