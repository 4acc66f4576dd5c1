// Shortest job first with length predictors (sim/sched/impl/sjf.cc) against FCFS (vllm-v1) on a heavy-tailed
// workload that queues: what the papers' claims rest on, and what a useless predictor or aging change.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "engine_fixture.h"
#include "sim/sched/impl/schedulers.h"
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

// Kendall's tau between two sequences (ties count as neither concordant nor discordant), O(n^2).
double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  double concordant = 0, discordant = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      const double s = (a[i] - a[j]) * (b[i] - b[j]);
      concordant += s > 0;
      discordant += s < 0;
    }
  }
  const double n = static_cast<double>(a.size());
  return (concordant - discordant) / (n * (n - 1) / 2);
}

// The learning-to-rank predictor orders requests with the Kendall's tau it is given: exactly (up to sampling) on
// log-normal lengths, close on a two-point length mix; tau 1 is the oracle.
TEST(Sjf, RankPredictorHasTheGivenKendallTau) {
  std::vector<Request> lognormal(2000), two_point(2000);
  std::vector<double> truth_ln, truth_tp;
  std::mt19937_64 gen(3);
  std::normal_distribution<double> normal;
  for (std::size_t i = 0; i < lognormal.size(); ++i) {
    const double z = normal(gen);
    lognormal[i].id = static_cast<RequestId>(i);
    lognormal[i].output_tokens = static_cast<TokenCount>(std::exp(5 + 1.2 * z)) + 1;
    truth_ln.push_back(static_cast<double>(lognormal[i].output_tokens));
    two_point[i].id = static_cast<RequestId>(i);
    two_point[i].output_tokens = i % 8 == 3 ? 1600 : 40;
    truth_tp.push_back(static_cast<double>(two_point[i].output_tokens));
  }
  for (double tau : {0.3, 0.6, 0.9}) {
    const nlohmann::json params = {{"predictor", "rank"}, {"kendall_tau", tau}};
    const double got = kendall_tau(sjf_predictions(params, lognormal), truth_ln);
    std::printf("kendall_tau %.1f: measured %.3f\n", tau, got);
    EXPECT_NEAR(got, tau, 0.05);
  }
  const std::vector<double> oracle = sjf_predictions({{"predictor", "rank"}, {"kendall_tau", 1}}, lognormal);
  for (std::size_t i = 10; i < oracle.size(); ++i) EXPECT_NEAR(oracle[i], truth_ln[i], 1e-6 * truth_ln[i]);
  // On two lengths, ties make the attainable tau smaller: what matters is that more tau orders better.
  const double low = kendall_tau(sjf_predictions({{"predictor", "rank"}, {"kendall_tau", 0.3}}, two_point), truth_tp);
  const double high = kendall_tau(sjf_predictions({{"predictor", "rank"}, {"kendall_tau", 0.9}}, two_point), truth_tp);
  EXPECT_LT(low, high);
  // On the queueing workload, a good ranker (tau 0.9) lowers mean E2E against FCFS; a random one (tau 0) does not.
  const Latency fcfs = run("vllm-v1");
  const Latency good = run("sjf:predictor=rank,kendall_tau=0.9");
  const Latency random = run("sjf:predictor=rank,kendall_tau=0");
  std::printf("mean E2E: FCFS %.3f s, rank tau 0.9 %.3f s, tau 0 %.3f s\n", fcfs.mean_e2e, good.mean_e2e,
              random.mean_e2e);
  EXPECT_LT(good.mean_e2e, 0.75 * fcfs.mean_e2e);
  EXPECT_GT(random.mean_e2e, 0.9 * fcfs.mean_e2e);
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
