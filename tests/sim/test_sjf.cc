// Shortest job first with length predictors (sim/sched/impl/sjf.cc) against FCFS (vllm-v1) on a heavy-tailed
// workload that queues: what the papers' claims rest on, and what a useless predictor or aging change.
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "engine_fixture.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::Req;
using testing::run_scenario;
using testing::write_trace;

// 300 requests, 8.3 per second, one in eight with a long answer (1,600 tokens), the rest 40; 8 sequences at
// once: the queue grows behind the long ones.
nlohmann::json heavy_tailed(const nlohmann::json& scheduler) {
  std::vector<Req> reqs;
  for (int i = 0; i < 300; ++i) reqs.push_back({i * 0.12, 400 + 13 * (i % 7), i % 8 == 3 ? 1600 : 40});
  nlohmann::json doc = base_scenario(write_trace("sjf-heavy", reqs));
  doc["engine"]["max_num_seqs"] = 8;
  doc["engine"]["scheduler"] = scheduler;
  doc["engine"]["check_invariants"] = true;
  return doc;
}

struct Latency {
  double mean_e2e, max_queue;
};
Latency run(const nlohmann::json& scheduler) {
  const testing::Outcome o = run_scenario(heavy_tailed(scheduler));
  EXPECT_EQ(o.results["summary"]["requests"]["completed"], 300) << scheduler;
  return {o.results["summary"]["e2e_s"]["mean"].get<double>(), o.results["summary"]["queue_s"]["max"].get<double>()};
}

TEST(Sjf, OracleLowersMeanE2eAndAUselessPredictorDoesNot) {
  const Latency fcfs = run("vllm-v1");
  const Latency oracle = run("sjf:predictor=oracle");
  std::printf("FCFS mean E2E %.3f s, max queue %.3f s; SJF oracle %.3f s, %.3f s\n", fcfs.mean_e2e, fcfs.max_queue,
              oracle.mean_e2e, oracle.max_queue);
  EXPECT_LT(oracle.mean_e2e, 0.75 * fcfs.mean_e2e) << oracle.mean_e2e << " vs " << fcfs.mean_e2e;
  // Buckets that know the length class do as well as the oracle here (two classes, both bucketed apart).
  const Latency buckets = run("sjf:predictor=buckets");
  EXPECT_LT(buckets.mean_e2e, 0.75 * fcfs.mean_e2e);
  // A prediction with no information (log-normal error of spread 100) orders at random: no better than FCFS.
  const Latency useless = run("sjf:predictor=noisy,relative_error=100");
  EXPECT_GT(useless.mean_e2e, 0.9 * fcfs.mean_e2e) << useless.mean_e2e << " vs " << fcfs.mean_e2e;
  // A 30 % error still separates 40 from 1,600 tokens.
  const Latency noisy = run("sjf:predictor=noisy,relative_error=0.3");
  EXPECT_LT(noisy.mean_e2e, 0.75 * fcfs.mean_e2e);
  // Knowing each prompt's length distribution (coefficient of variation 0.5) does too; a spread as wide as the
  // classes' gap (cv 20) loses most of the gain.
  const Latency known = run("sjf:predictor=distribution,cv=0.5");
  EXPECT_LT(known.mean_e2e, 0.75 * fcfs.mean_e2e);
  const Latency vague = run("sjf:predictor=distribution,cv=20");
  EXPECT_GT(vague.mean_e2e, known.mean_e2e);
}

// Twelve long requests at once (8 run, 4 wait), then a stream of short ones faster than the engine drains: SJF
// alone lets the 4 wait behind every short request until the stream ends; aging lets them in once their wait
// outweighs their length (1,000 tokens per second: after 1.6 s), about when FCFS would.
TEST(Sjf, AgingBoundsTheLongestWait) {
  std::vector<Req> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back({i * 0.01, 300, 1600});
  for (int i = 0; i < 900; ++i) reqs.push_back({0.5 + i / 45.0, 300, 40});
  const auto longest_wait = [&](const nlohmann::json& scheduler) {
    nlohmann::json doc = base_scenario(write_trace("sjf-starve", reqs));
    doc["engine"]["max_num_seqs"] = 8;
    doc["engine"]["scheduler"] = scheduler;
    const testing::Outcome o = run_scenario(doc);
    EXPECT_EQ(o.results["summary"]["requests"]["completed"], 912) << scheduler;
    return o.results["summary"]["queue_s"]["max"].get<double>();
  };
  const double fcfs = longest_wait("vllm-v1");
  const double starving = longest_wait("sjf:predictor=oracle");
  const double aged = longest_wait("sjf:predictor=oracle,aging_tokens_per_s=1000");
  std::printf("longest wait: FCFS %.2f s, SJF %.2f s, SJF aged %.2f s\n", fcfs, starving, aged);
  // (The stream outruns the engine: under FCFS too the last short requests wait ~30 s.)
  EXPECT_GT(starving, 1.3 * fcfs);  // the long ones starve: ~45 s
  EXPECT_LT(aged, 0.8 * starving);
  EXPECT_LE(aged, 1.05 * fcfs);
}

// Predictions that fall short (the 10th percentile of each prompt's length distribution): a request that outgrows
// its prediction is predicted again at twice it; with preempt_on_misprediction it also yields its place to
// shorter waiting requests (its KV recomputed later). An oracle never outgrows its prediction: no such preemption.
TEST(Sjf, MispredictionsArePredictedAgainAndMayPreempt) {
  const auto preemptions = [](const std::string& scheduler) {
    const testing::Outcome o = run_scenario(heavy_tailed(scheduler));
    EXPECT_EQ(o.results["summary"]["requests"]["completed"], 300) << scheduler;
    return o.results["summary"]["kv"]["preemptions"].get<long long>();
  };
  const long long base = preemptions("sjf:predictor=oracle");
  EXPECT_EQ(preemptions("sjf:predictor=oracle,preempt_on_misprediction=true"), base);
  const long long kept = preemptions("sjf:predictor=distribution,cv=1,quantile=0.1");
  const long long preempted = preemptions("sjf:predictor=distribution,cv=1,quantile=0.1,preempt_on_misprediction=true");
  std::printf("preemptions: oracle %lld, short predictions %lld, with preemption on misprediction %lld\n", base, kept,
              preempted);
  EXPECT_GT(preempted, kept);
}

TEST(Sjf, BadParametersNameTheKey) {
  nlohmann::json doc = heavy_tailed("sjf:predictor=psychic");
  std::string err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("engine.scheduler.predictor"), std::string::npos) << err;
  EXPECT_NE(err.find("oracle, noisy, buckets, distribution"), std::string::npos) << err;
  doc = heavy_tailed("sjf:predictor=distribution,quantile=1");
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("engine.scheduler.quantile"), std::string::npos) << err;
  doc = heavy_tailed("sjf:predictor=oracle,relative_error=0.3");
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("only with predictor noisy"), std::string::npos) << err;
  doc = heavy_tailed("vllm-v1:budget=3");
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("engine.scheduler.budget"), std::string::npos) << err;
  doc = heavy_tailed({{"name", "sjf"}, {"predictor", "buckets"}, {"bucket_bounds", {64, 32}}});
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("ascending"), std::string::npos) << err;
  doc = heavy_tailed("sjf+vllm-v1");
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("one scheduler"), std::string::npos) << err;
}

}  // namespace
}  // namespace kvsim
