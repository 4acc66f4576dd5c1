// SLO attainment and goodput, the measurement window, overload and cost in every run (sim/metrics/slo.h).
#include <gtest/gtest.h>

#include <algorithm>

#include "engine_fixture.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::Outcome;
using testing::Req;
using testing::run_scenario;
using testing::write_trace;

std::vector<Req> steady(int n, double gap_s, long long prompt, long long output) {
  std::vector<Req> reqs;
  for (int i = 0; i < n; ++i) reqs.push_back({i * gap_s, prompt, output});
  return reqs;
}

TEST(Slo, AttainmentAndGoodputFromTheRequests) {
  // Bursts that queue: some requests meet a 0.3 s TTFT, some do not; attainment and goodput follow the records.
  std::vector<Req> reqs;
  for (int i = 0; i < 40; ++i) reqs.push_back({(i / 8) * 1.0, 3000 + 100 * (i % 8), 30 + i});
  nlohmann::json doc = base_scenario(write_trace("slo", reqs));
  doc["slo"] = {{"ttft_p99_s", 0.3}, {"tpot_p99_s", 0.05}};
  const Outcome o = run_scenario(doc);
  ASSERT_EQ(o.records.size(), 40u);
  int ttft = 0, tpot = 0, all = 0;
  double good_tokens = 0;
  for (const RequestRecord& r : o.records) {
    const bool a = r.completed && r.ttft_s <= 0.3, b = r.completed && (!r.tpot_s || *r.tpot_s <= 0.05);
    ttft += a;
    tpot += b;
    if (a && b) {
      ++all;
      good_tokens += static_cast<double>(r.output_tokens);
    }
  }
  ASSERT_GT(ttft, 0);
  ASSERT_LT(ttft, 40);  // the test means something: some meet, some do not
  const nlohmann::json& slo = o.results["summary"]["slo"];
  EXPECT_DOUBLE_EQ(slo["attainment"]["ttft_p99_s"].get<double>(), ttft / 40.0);
  EXPECT_DOUBLE_EQ(slo["attainment"]["tpot_p99_s"].get<double>(), tpot / 40.0);
  EXPECT_DOUBLE_EQ(slo["attainment"]["all"].get<double>(), all / 40.0);
  EXPECT_FALSE(slo["met"].get<bool>());  // below 99 %
  const double span = 4.0;              // arrivals from 0 s to 4 s
  EXPECT_DOUBLE_EQ(slo["goodput_requests_per_s"].get<double>(), all / span);
  EXPECT_DOUBLE_EQ(slo["goodput_output_tokens_per_s"].get<double>(), good_tokens / span);
  // A looser target is met.
  doc["slo"] = {{"ttft_p99_s", 1000}, {"attainment", 0.9}};
  EXPECT_TRUE(run_scenario(doc).results["summary"]["slo"]["met"].get<bool>());
}

TEST(Slo, OverloadIsDetected) {
  // Long answers arriving faster than one H100 decodes them: the queue grows; a tenth of the rate does not.
  const auto heavy = write_trace("overload", steady(400, 0.02, 2000, 400));
  const Outcome o = run_scenario(base_scenario(heavy));
  EXPECT_TRUE(o.results["summary"]["overloaded"].get<bool>());
  EXPECT_GT(o.results["summary"]["load"]["queue_growth_s_per_s"].get<double>(), 0.02);
  const auto light = write_trace("light", steady(40, 0.5, 2000, 100));
  const Outcome l = run_scenario(base_scenario(light));
  EXPECT_FALSE(l.results["summary"]["overloaded"].get<bool>());
  EXPECT_EQ(l.results["summary"]["load"]["overloaded_because"], "");
}

TEST(Slo, AWindowLeavesOutWarmupAndCooldown) {
  const auto trace = write_trace("window", steady(30, 1.0, 500, 20));  // arrivals 0 .. 29 s
  nlohmann::json doc = base_scenario(trace);
  doc["slo"] = {{"e2e_p99_s", 100}};
  doc["metrics"] = {{"warmup_s", 5}, {"cooldown_s", 4}};
  const Outcome o = run_scenario(doc);
  const nlohmann::json& w = o.results["summary"]["window"];
  EXPECT_EQ(w["requests_counted"], 21);  // arrivals 5 .. 25 s
  EXPECT_EQ(w["requests_excluded"], 9);
  EXPECT_EQ(o.results["summary"]["slo"]["requests_counted"], 21);
  EXPECT_EQ(o.results["summary"]["e2e_s"]["count"], 21);
}

TEST(Slo, CostByHand) {
  const Outcome o = run_scenario(base_scenario(write_trace("cost", steady(10, 0.2, 1000, 50))));
  const nlohmann::json& c = o.results["summary"]["cost"];
  const double price = o.results["gpu"]["price_per_hour_usd"].get<double>();
  const double hours = o.results["summary"]["simulated_time_s"].get<double>() / 3600;
  EXPECT_DOUBLE_EQ(c["usd_per_hour"].get<double>(), price);
  EXPECT_DOUBLE_EQ(c["usd_per_million_output_tokens"].get<double>(), price * hours / 500 * 1e6);
  EXPECT_DOUBLE_EQ(c["usd_per_million_input_tokens"].get<double>(), price * hours / 10000 * 1e6);
  EXPECT_DOUBLE_EQ(c["gpu_hours"].get<double>(), hours);
  // Energy at the H100's 700 W TDP, per output token.
  const nlohmann::json& e = o.results["summary"]["energy"];
  EXPECT_DOUBLE_EQ(e["watts"].get<double>(), 700);
  EXPECT_DOUBLE_EQ(e["joules_per_output_token"].get<double>(), 700 * hours * 3600 / 500);
  EXPECT_DOUBLE_EQ(e["kwh"].get<double>(), 0.7 * hours);
}

// The utilization power model: each GPU at TDP while its replica steps, at the idle share otherwise; the busy
// share is the summed step times over the simulated time (every step's ops: the run's op breakdown).
TEST(Slo, EnergyByUtilizationByHand) {
  // Ten requests at 0 .. 9 s, each done in well under a second: the GPU idles most of the run.
  nlohmann::json doc = base_scenario(write_trace("energy", steady(10, 1.0, 1000, 50)));
  doc["metrics"] = {{"power_model", "utilization"}, {"idle_power_fraction", 0.2}};
  const Outcome o = run_scenario(doc);
  const nlohmann::json& e = o.results["summary"]["energy"];
  EXPECT_EQ(e["power_model"], "utilization");
  const double T = o.results["summary"]["simulated_time_s"].get<double>();
  double stepping = 0;
  for (const nlohmann::json& op : o.results["cost_breakdown"]) stepping += op["seconds"].get<double>();
  const double busy = e["busy_fraction"].get<double>();
  EXPECT_NEAR(busy, stepping / T, 1e-6);  // steps are whole nanoseconds on the clock
  EXPECT_GT(busy, 0.01);
  EXPECT_LT(busy, 0.5);
  EXPECT_NEAR(e["watts"].get<double>(), 700 * (0.2 + 0.8 * busy), 1e-9);
  EXPECT_NEAR(e["joules_per_output_token"].get<double>(), 700 * (0.2 + 0.8 * busy) * T / 500, 1e-9);
  EXPECT_EQ(o.results["scenario"]["metrics"]["idle_power_fraction"], 0.2);
  // The default model: TDP throughout, whatever the busy share.
  doc.erase("metrics");
  const Outcome t = run_scenario(doc);
  EXPECT_EQ(t.results["summary"]["energy"]["power_model"], "tdp");
  EXPECT_DOUBLE_EQ(t.results["summary"]["energy"]["watts"].get<double>(), 700);
  // Bad input names the key.
  doc["metrics"] = {{"power_model", "measured"}};
  std::string err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("metrics.power_model"), std::string::npos) << err;
  doc["metrics"] = {{"power_model", "utilization"}, {"idle_power_fraction", 1.5}};
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("metrics.idle_power_fraction"), std::string::npos) << err;
  doc["metrics"] = {{"idle_power_fraction", 0.3}};
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("utilization"), std::string::npos) << err;
}

TEST(Slo, KvPerRequestAtTheMedianAndP99Prompt) {
  // Every prompt 1,000 tokens: 63 pages of 16 tokens at Llama-3.1-8B's 128 KiB per token; the pool holds
  // floor(capacity / that) of them.
  const Outcome o = run_scenario(base_scenario(write_trace("kv-per-request", steady(10, 0.2, 1000, 50))));
  const nlohmann::json& k = o.results["summary"]["kv_per_request"];
  EXPECT_EQ(k["p50_prompt_tokens"], 1000);
  EXPECT_EQ(k["p99_prompt_tokens"], 1000);
  EXPECT_DOUBLE_EQ(k["p50_prompt_bytes"].get<double>(), 1008.0 * 131072);
  const double capacity = o.results["summary"]["kv"]["capacity_bytes"].get<double>();
  EXPECT_EQ(k["p50_prompt_max_concurrent"].get<long long>(), static_cast<long long>(capacity / (1008.0 * 131072)));
}

TEST(Slo, BadInputNamesTheKey) {
  const auto trace = write_trace("slo-bad", steady(2, 0.1, 100, 5));
  nlohmann::json doc = base_scenario(trace);
  doc["slo"] = {{"ttft_p95_s", 1}};
  std::string err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("slo.ttft_p95_s"), std::string::npos) << err;
  doc["slo"] = {{"ttft_p99_s", -1}};
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("slo.ttft_p99_s"), std::string::npos) << err;
  doc["slo"] = {{"ttft_p99_s", "fast"}};
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("slo.ttft_p99_s"), std::string::npos) << err;
  doc["slo"] = {{"tpot_p99_s", 0.05}, {"attainment", 1.5}};
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("slo.attainment"), std::string::npos) << err;
  doc["slo"] = nlohmann::json::object();
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("at least one of"), std::string::npos) << err;
  doc.erase("slo");
  doc["metrics"] = {{"warmup_s", -2}};
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("metrics.warmup_s"), std::string::npos) << err;
}

}  // namespace
}  // namespace kvsim
