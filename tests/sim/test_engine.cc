// End-to-end engine behaviour: conservation, determinism, exact timing of simple cases, batching, preemption,
// chunked prefill, rejection, and Little's law. Every run here has the invariant checker on after every event.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "engine_fixture.h"
#include "models/cost/builtin_calibrations.h"
#include "models/cost/impl/calibrated.h"
#include "models/cost/impl/roofline.h"
#include "models/spec/catalog.h"
#include "sim/core/units.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::Outcome;
using testing::Req;
using testing::run_scenario;
using testing::write_trace;

// Prices iterations the same way a default scenario does (H100: the calibrated model with kvsim's H100 calibration,
// roofline defaults for the ops it does not fit, 1 ms overhead).
struct Pricer {
  const LlmSpec& model = Catalog::builtin().model("llama-3.1-8b", "t");
  const GpuSpec& gpu = Catalog::builtin().gpu("h100-sxm", "t");
  CalibratedCostModel kernels{*builtin_calibration("h100-sxm"), gpu, RooflineParams{}, nlohmann::json::object()};
  IterationCostModel m{model, base_layout(model, 1, 16), 1, kernels, 1e-3};
  // `prefills`: {chunk tokens, cached tokens}; `decodes`: tokens attended (cached + the new one).
  SimTimeNs ns(std::vector<std::pair<TokenCount, TokenCount>> prefills, std::vector<TokenCount> decodes,
               int sampled) {
    std::vector<SeqWork> work;
    for (auto [tokens, cached] : prefills) work.push_back({cached + tokens, cached, tokens});
    for (TokenCount ctx : decodes) work.push_back({ctx - 1, ctx - 1, 1});
    IterationShape s;
    s.work = work;
    s.sampled_sequences = sampled;
    IterationCost c;
    m.price(s, c);
    return units::s_to_ns(c.seconds);
  }
};

void expect_conservation(const Outcome& o) {
  const auto& s = o.summary;
  EXPECT_EQ(s.arrived, s.completed + s.rejected);
  EXPECT_EQ(s.output_tokens_generated, s.output_tokens_requested_completed);
  EXPECT_EQ(s.used_bytes_at_end, 0) << "KV memory leaked";
  EXPECT_EQ(static_cast<std::int64_t>(o.records.size()), s.arrived);
}

TEST(Engine, SingleRequestTimesEqualTheCostModel) {
  const Outcome o = run_scenario(base_scenario(write_trace("single", {{0.0, 1000, 10}})));
  expect_conservation(o);
  Pricer p;
  const SimTimeNs prefill = p.ns({{1000, 0}}, {}, 1);
  SimTimeNs e2e = prefill;
  for (TokenCount ctx = 1001; ctx <= 1009; ++ctx) e2e += p.ns({}, {ctx}, 1);
  const RequestRecord& r = o.by_id(0);
  EXPECT_DOUBLE_EQ(r.ttft_s, units::ns_to_s(prefill));
  EXPECT_DOUBLE_EQ(r.e2e_s, units::ns_to_s(e2e));
  EXPECT_DOUBLE_EQ(r.queue_s, 0.0);
  ASSERT_TRUE(r.tpot_s.has_value());
  EXPECT_NEAR(*r.tpot_s, units::ns_to_s(e2e - prefill) / 9, 1e-12);
  EXPECT_EQ(o.summary.iterations, 10);
}

TEST(Engine, TwoRequestsArrivingTogetherShareIterations) {
  const Outcome o = run_scenario(base_scenario(write_trace("two", {{0.0, 500, 3}, {0.0, 300, 3}})));
  expect_conservation(o);
  Pricer p;
  const SimTimeNs prefill = p.ns({{500, 0}, {300, 0}}, {}, 2);
  const SimTimeNs d1 = p.ns({}, {501, 301}, 2);
  const SimTimeNs d2 = p.ns({}, {502, 302}, 2);
  for (RequestId id : {0, 1}) {
    EXPECT_DOUBLE_EQ(o.by_id(id).ttft_s, units::ns_to_s(prefill));
    EXPECT_DOUBLE_EQ(o.by_id(id).e2e_s, units::ns_to_s(prefill + d1 + d2));
  }
  EXPECT_EQ(o.summary.iterations, 3);
  EXPECT_EQ(o.summary.max_batch_size, 2);
}

TEST(Engine, ChunkedPrefillRespectsTheTokenBudget) {
  nlohmann::json doc = base_scenario(write_trace("chunked", {{0.0, 2000, 2}}));
  doc["engine"]["max_num_batched_tokens"] = 512;
  const Outcome o = run_scenario(doc);
  expect_conservation(o);
  Pricer p;
  const SimTimeNs ttft = p.ns({{512, 0}}, {}, 0) + p.ns({{512, 512}}, {}, 0) + p.ns({{512, 1024}}, {}, 0) +
                         p.ns({{464, 1536}}, {}, 1);
  EXPECT_DOUBLE_EQ(o.by_id(0).ttft_s, units::ns_to_s(ttft));
  EXPECT_EQ(o.summary.iterations, 5);
  EXPECT_LE(o.results["summary"]["batch"]["mean_tokens"].get<double>(), 512.0);
}

TEST(Engine, ChunkedPrefillMixesWithDecodesWithinTheBudget) {
  // A long prompt arrives while another request decodes: each iteration holds 1 decode + a 255-token chunk.
  nlohmann::json doc = base_scenario(write_trace("mix", {{0.0, 100, 50}, {0.05, 1000, 2}}));
  doc["engine"]["max_num_batched_tokens"] = 256;
  const Outcome o = run_scenario(doc);
  expect_conservation(o);
  EXPECT_EQ(o.summary.max_batch_size, 2);
  for (const auto& row : o.results["timeline"]["rows"]) EXPECT_LE(row[6].get<double>(), 256.0);
}

TEST(Engine, PrefillFirstDoesNotMixPrefillAndDecode) {
  nlohmann::json doc = base_scenario(write_trace("pf", {{0.0, 100, 20}, {0.01, 1000, 2}}));
  doc["engine"]["scheduler"] = "prefill-first";
  const Outcome o = run_scenario(doc);
  expect_conservation(o);
  Pricer p;
  // Request 1 arrives during request 0's decodes and is prefilled alone in the next iteration: its TTFT is
  // the wait for the running iteration plus its own 1000-token prefill.
  const RequestRecord& r1 = o.by_id(1);
  EXPECT_GE(r1.ttft_s, units::ns_to_s(p.ns({{1000, 0}}, {}, 1)));
  EXPECT_EQ(o.summary.max_batch_size, 2);
}

TEST(Engine, PreemptsUnderMemoryPressureAndStillCompletesEverything) {
  std::vector<Req> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back({0.001 * i, 600, 400});
  for (const std::string mode : {"recompute", "swap"}) {
    nlohmann::json doc = base_scenario(write_trace("pressure", reqs));
    // Leave room for about 4,400 tokens of KV: 0.9 * 80 GiB - 14.96 GiB of weights - 56.5 GiB = 0.54 GiB.
    doc["engine"]["activation_reserve_GiB"] = 56.5;
    doc["engine"]["preemption"] = mode;
    const Outcome o = run_scenario(doc);
    expect_conservation(o);
    const auto capacity = o.results["summary"]["kv"]["capacity_tokens"].get<long long>();
    EXPECT_GT(capacity, 4000);
    EXPECT_LT(capacity, 4600);
    EXPECT_EQ(o.summary.completed, 12) << mode;
    EXPECT_GT(o.summary.preemptions, 0) << mode;
    EXPECT_LE(o.summary.peak_used_bytes, o.summary.capacity_bytes) << mode;
    if (mode == "swap") {
      EXPECT_GT(o.summary.swapped_out_bytes, 0) << mode;
    } else {
      EXPECT_GT(o.summary.recomputed_tokens, 0) << mode;
    }
  }
}

TEST(Engine, NoChunkingUnderPressureStillFinishes) {
  // Recompute preemption makes prompt + generated longer than the token budget: it must run alone, not stall.
  std::vector<Req> reqs;
  for (int i = 0; i < 6; ++i) reqs.push_back({0.001 * i, 2000, 400});
  nlohmann::json doc = base_scenario(write_trace("nochunk", reqs));
  doc["engine"]["activation_reserve_GiB"] = 56.5;
  doc["engine"]["chunked_prefill"] = false;
  doc["engine"]["max_num_batched_tokens"] = 2048;
  const Outcome o = run_scenario(doc);
  expect_conservation(o);
  EXPECT_EQ(o.summary.completed, 6);
  EXPECT_GT(o.summary.preemptions, 0);
}

TEST(Engine, SwappedRequestsComeBackAndFinish) {
  std::vector<Req> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back({0.001 * i, 600, 400});
  nlohmann::json doc = base_scenario(write_trace("swapback", reqs));
  doc["engine"]["activation_reserve_GiB"] = 56.5;
  doc["engine"]["preemption"] = "swap";
  const Outcome o = run_scenario(doc);
  expect_conservation(o);
  EXPECT_GT(o.summary.swapped_out_bytes, 0);
  EXPECT_DOUBLE_EQ(o.summary.swapped_in_bytes, o.summary.swapped_out_bytes);  // everything swapped out came back
  EXPECT_EQ(o.summary.recomputed_tokens, 0);
}

TEST(Engine, MoreMemoryMeansFewerPreemptions) {
  std::vector<Req> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back({0.001 * i, 600, 400});
  nlohmann::json tight = base_scenario(write_trace("mem", reqs));
  tight["engine"]["activation_reserve_GiB"] = 56.5;
  nlohmann::json roomy = tight;
  roomy["engine"]["activation_reserve_GiB"] = 50.0;
  const Outcome a = run_scenario(tight), b = run_scenario(roomy);
  EXPECT_GT(a.summary.preemptions, b.summary.preemptions);
  EXPECT_EQ(b.summary.preemptions, 0);
  EXPECT_GT(a.results["summary"]["e2e_s"]["mean"].get<double>(), b.results["summary"]["e2e_s"]["mean"].get<double>());
}

TEST(Engine, RejectsWhatCanNeverBeServedWithAReason) {
  nlohmann::json doc = base_scenario(write_trace("reject", {{0.0, 100, 10}, {0.1, 200000, 10}, {0.2, 100, 10}}));
  const Outcome o = run_scenario(doc);
  expect_conservation(o);
  EXPECT_EQ(o.summary.rejected, 1);
  EXPECT_EQ(o.summary.completed, 2);
  EXPECT_NE(o.by_id(1).reject_reason.find("max_model_len"), std::string::npos);
  EXPECT_EQ(o.results["rejections"]["first"][0]["request_id"], 1);

  nlohmann::json small = base_scenario(write_trace("reject2", {{0.0, 5000, 10}}));
  small["engine"]["activation_reserve_GiB"] = 56.5;  // about 4,400 tokens of KV
  const Outcome o2 = run_scenario(small);
  EXPECT_EQ(o2.summary.rejected, 1);
  EXPECT_NE(o2.by_id(0).reject_reason.find("KV blocks"), std::string::npos);

  nlohmann::json nochunk = base_scenario(write_trace("reject3", {{0.0, 3000, 10}}));
  nochunk["engine"]["scheduler"] = "prefill-first";
  nochunk["engine"]["max_num_batched_tokens"] = 2048;
  const Outcome o3 = run_scenario(nochunk);
  EXPECT_EQ(o3.summary.rejected, 1);
  EXPECT_NE(o3.by_id(0).reject_reason.find("chunked prefill"), std::string::npos);
}

nlohmann::json steady_synthetic(double rate, int n, std::uint64_t seed) {
  nlohmann::json doc = base_scenario("unused");
  doc["workload"] = {{"synthetic",
                      {{"num_requests", n},
                       {"arrival", {{"process", "poisson"}, {"rate_per_s", rate}}},
                       {"prompt_tokens", {{"dist", "lognormal"}, {"mean", 800}, {"sigma", 0.8}, {"max", 8000}}},
                       {"output_tokens", {{"dist", "lognormal"}, {"mean", 150}, {"sigma", 0.8}, {"max", 1000}}}}}};
  doc["seed"] = seed;
  return doc;
}

TEST(Engine, IsDeterministicForASeed) {
  nlohmann::json a = run_scenario(steady_synthetic(8, 400, 7)).results;
  nlohmann::json b = run_scenario(steady_synthetic(8, 400, 7)).results;
  nlohmann::json c = run_scenario(steady_synthetic(8, 400, 8)).results;
  for (auto* r : {&a, &b, &c}) (*r)["summary"].erase("wall_time_s");
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_NE(a.dump(), c.dump());
}

TEST(Engine, LittlesLawHoldsInASteadyStateRun) {
  // The time-averaged number of requests in the engine (integrated from the queues) must equal the arrival rate of
  // the generator (10/s Poisson, not measured from the run) times the mean time in system (from per-request E2E).
  const Outcome o = run_scenario(steady_synthetic(10, 3000, 3));
  expect_conservation(o);
  const auto& s = o.results["summary"];
  const double W = s["e2e_s"]["mean"].get<double>();
  const double L = s["mean_requests_in_system"].get<double>();
  const double last_arrival_s = o.records.empty() ? 0 : [&] {
    double t = 0;
    for (const RequestRecord& r : o.records) t = std::max(t, r.arrival_s);
    return t;
  }();
  EXPECT_GT(L, 1.0);
  // Poisson sampling noise over 3000 arrivals is ~2%: the generator's rate itself is checked by the trace tests.
  EXPECT_NEAR(last_arrival_s, 300.0, 0.05 * 300.0);
  // Over [0, T] with the system empty at both ends: L * T = sum of E2E = N * W, with N / T the measured rate.
  const double T = s["simulated_time_s"].get<double>();
  EXPECT_NEAR(L, static_cast<double>(o.summary.completed) / T * W, 1e-6 * L);
  // And against the generator's configured rate, within the sampling noise and the drain at the end.
  EXPECT_NEAR(L, 10.0 * W, 0.06 * L);
}

}  // namespace
}  // namespace kvsim
