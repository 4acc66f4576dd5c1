// KV strategies inside the engine: memory they free turns into batch size, windows free pages while decoding,
// traffic-only selection shortens decode steps without changing what is kept.
#include <gtest/gtest.h>

#include "engine_fixture.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::Outcome;
using testing::Req;
using testing::run_scenario;
using testing::write_trace;

// Records the largest iteration (requests) and every decode step's duration.
struct IterationLog final : ISimObserver {
  int max_batch = 0;
  std::vector<SimTimeNs> decode_only_ns;
  void on_iteration(const IterationRecord& r) override {
    max_batch = std::max(max_batch, r.prefills + r.decodes);
    if (r.prefills == 0) decode_only_ns.push_back(r.end_ns - r.start_ns);
  }
};

Outcome run_with(const nlohmann::json& doc, IterationLog& log) { return run_scenario(doc, {&log}); }

std::vector<Req> burst(int n, long long prompt, long long output) {
  std::vector<Req> reqs;
  for (int i = 0; i < n; ++i) reqs.push_back({0.001 * i, prompt, output});
  return reqs;
}

TEST(StrategiesInEngine, CheaperKvAdmitsMoreAndPreemptsLess) {
  nlohmann::json doc = base_scenario(write_trace("cheaper", burst(24, 1500, 500)));
  doc["engine"]["activation_reserve_GiB"] = 55.5;  // ~1.5 GiB of KV: about 12,000 full-precision tokens
  IterationLog full_log, fp8_log, kivi_log;
  const Outcome full = run_with(doc, full_log);
  doc["kv"] = {{"strategy", "fp8"}};
  const Outcome fp8 = run_with(doc, fp8_log);
  doc["kv"] = {{"strategy", "kivi-2"}};
  const Outcome kivi = run_with(doc, kivi_log);
  for (const Outcome* o : {&full, &fp8, &kivi}) EXPECT_EQ(o->summary.completed, 24);
  EXPECT_GT(fp8.results["summary"]["kv"]["capacity_tokens"].get<double>(),
            1.99 * full.results["summary"]["kv"]["capacity_tokens"].get<double>());
  EXPECT_GT(fp8_log.max_batch, full_log.max_batch);
  EXPECT_GE(kivi_log.max_batch, fp8_log.max_batch);
  EXPECT_GT(full.summary.preemptions, fp8.summary.preemptions);
  EXPECT_GE(fp8.summary.preemptions, kivi.summary.preemptions);
  EXPECT_LT(fp8.results["summary"]["e2e_s"]["mean"].get<double>(),
            full.results["summary"]["e2e_s"]["mean"].get<double>());
}

TEST(StrategiesInEngine, SlidingWindowFreesPagesWhileDecoding) {
  // One request: 100-token prompt, 2000 output tokens, window 256: it never holds more than 257 tokens' pages.
  nlohmann::json doc = base_scenario(write_trace("window", {{0.0, 100, 2000}}));
  IterationLog log;
  const Outcome full = run_with(doc, log);
  doc["kv"] = {{"strategy", "sliding-window:window_tokens=256"}};
  const Outcome swa = run_with(doc, log);
  const double page = 16.0 * 131072;  // Llama-3.1-8B: 16 tokens x 128 KiB
  // Full attention ends holding 100 + 2000 - 1 = 2099 tokens: ceil(2099 / 16) = 132 pages.
  EXPECT_DOUBLE_EQ(static_cast<double>(full.summary.peak_used_bytes), 132 * page);
  EXPECT_LE(static_cast<double>(swa.summary.peak_used_bytes), (257.0 / 16 + 1) * page);
  EXPECT_EQ(swa.summary.used_bytes_at_end, 0);
}

TEST(StrategiesInEngine, TrafficOnlySelectionKeepsTokensButShortensDecodeSteps) {
  nlohmann::json doc = base_scenario(write_trace("quest", {{0.0, 30000, 64}}));
  IterationLog full_log, quest_log;
  const Outcome full = run_with(doc, full_log);
  doc["kv"] = {{"strategy", "quest:budget_tokens=2048"}};
  const Outcome quest = run_with(doc, quest_log);
  // The same tokens are kept: device bytes differ only by Quest's page metadata (K min/max per 16-token page).
  const double f = static_cast<double>(full.summary.peak_used_bytes);
  const double q = static_cast<double>(quest.summary.peak_used_bytes);
  EXPECT_GE(q, f);
  EXPECT_LE(q, f * (1 + 1.0 / 16));
  ASSERT_FALSE(quest_log.decode_only_ns.empty());
  EXPECT_LT(quest_log.decode_only_ns.back(), full_log.decode_only_ns.back());
  EXPECT_LT(quest.results["summary"]["tpot_s"]["mean"].get<double>(),
            full.results["summary"]["tpot_s"]["mean"].get<double>());
}

TEST(StrategiesInEngine, PrefillFirstNeverMixesAndBudgetHoldsEveryIteration) {
  struct Check final : ISimObserver {
    bool mixed = false;
    TokenCount max_tokens = 0;
    void on_iteration(const IterationRecord& r) override {
      mixed |= r.prefills > 0 && r.decodes > 0;
      max_tokens = std::max(max_tokens, r.tokens);
    }
  };
  std::vector<Req> reqs;
  for (int i = 0; i < 40; ++i) reqs.push_back({0.05 * i, 300 + 37 * i, 40});
  nlohmann::json doc = base_scenario(write_trace("mixcheck", reqs));
  doc["engine"]["scheduler"] = "prefill-first";
  doc["engine"]["max_num_batched_tokens"] = 2048;
  Check pf;
  run_scenario(doc, {&pf});
  EXPECT_FALSE(pf.mixed);
  EXPECT_LE(pf.max_tokens, 2048);
  doc["engine"]["scheduler"] = "vllm-v1";
  doc["engine"]["max_num_batched_tokens"] = 512;
  Check v1;
  run_scenario(doc, {&v1});
  EXPECT_TRUE(v1.mixed);  // chunked prefill shares iterations with decodes
  EXPECT_LE(v1.max_tokens, 512);
}

TEST(StrategiesInEngine, ResultsCarryTheLayoutAndReportedQuality) {
  nlohmann::json doc = base_scenario(write_trace("meta", {{0.0, 100, 10}}));
  doc["kv"] = {{"strategy", "snapkv:budget_tokens=1024+kivi-2"}};
  const Outcome o = run_scenario(doc);
  EXPECT_EQ(o.results["summary"]["kv"]["strategy"], "snapkv:budget_tokens=1024+kivi-2");
  EXPECT_EQ(o.results["kv_layout"]["strategies"].size(), 2u);
  bool snap = false, kivi = false;
  for (const auto& q : o.results["reported_quality"]) {
    snap |= q["strategy"] == "snapkv";
    kivi |= q["strategy"] == "kivi-2";
    EXPECT_FALSE(q["source"].get<std::string>().empty());
  }
  EXPECT_TRUE(snap && kivi);
}

}  // namespace
}  // namespace kvsim
