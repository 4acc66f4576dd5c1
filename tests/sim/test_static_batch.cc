// Static batching (sim/sched/impl/static_batch.cc), padded and packed: the rows each computes, by hand, and the
// gain continuous batching has over it on the same traffic.
#include <gtest/gtest.h>

#include <vector>

#include "engine_fixture.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::Req;
using testing::run_scenario;
using testing::write_trace;

// Rows the GEMMs computed over the run: gemm.qkv's FLOPs / (2 x hidden x QKV width x layers), Llama-3.1-8B.
double gemm_rows(const nlohmann::json& results) {
  for (const nlohmann::json& op : results["cost_breakdown"]) {
    if (op["op"] == "gemm.qkv") return op["flops"].get<double>() / (2.0 * 4096 * 6144 * 32);
  }
  return 0;
}

testing::Outcome run(const std::vector<Req>& reqs, const nlohmann::json& scheduler) {
  nlohmann::json doc = base_scenario(write_trace("static-batch", reqs));
  doc["engine"]["scheduler"] = scheduler;
  return run_scenario(doc);
}

// Four requests at once, prompts 100..400, answers 10..40: one batch. Padded: 4 x 400 prefill rows, then 39 decode
// steps of 4 rows (the longest answer's; its first token comes with the prefill) = 1,756. Packed: 1,000 prompt rows
// and 9 + 19 + 29 + 39 decode rows = 1,096. Both take 40 steps: the batch waits for its longest member.
TEST(StaticBatch, PaddedBatchesComputeExactlyThePaddedTokens) {
  const std::vector<Req> reqs = {{0, 100, 10}, {0, 200, 20}, {0, 300, 30}, {0, 400, 40}};
  const testing::Outcome padded = run(reqs, "static-batch:padding=true");
  const testing::Outcome packed = run(reqs, "static-batch:padding=false");
  EXPECT_NEAR(gemm_rows(padded.results), 1756, 1e-6);
  EXPECT_NEAR(gemm_rows(packed.results), 1096, 1e-6);
  EXPECT_EQ(padded.results["summary"]["iterations"], 40);
  EXPECT_EQ(packed.results["summary"]["iterations"], 40);
  EXPECT_EQ(padded.results["summary"]["requests"]["completed"], 4);
  EXPECT_GT(padded.results["summary"]["e2e_s"]["max"].get<double>(),
            packed.results["summary"]["e2e_s"]["max"].get<double>());
}

// Eight requests at once, batch_size 4: the second batch forms only when the first has finished. A batch does not
// wait to fill: a request arriving alone starts one of its own, and those arriving during it wait for the next.
TEST(StaticBatch, NothingJoinsARunningBatch) {
  std::vector<Req> reqs;
  for (int i = 0; i < 8; ++i) reqs.push_back({0, 200, i < 4 ? 50 : 5});
  testing::Outcome o = run(reqs, "static-batch:padding=false,batch_size=4");
  // Batch 1: 1 prefill + 49 decode steps; batch 2: 1 prefill + 4 decode steps.
  EXPECT_EQ(o.results["summary"]["iterations"], 55);
  EXPECT_EQ(o.results["summary"]["requests"]["completed"], 8);
  for (int i = 0; i < 8; ++i) reqs[static_cast<std::size_t>(i)].arrival_s = 0.001 * i;
  o = run(reqs, "static-batch:padding=false,batch_size=4");
  // {r0} alone (50 steps), then {r1, r2, r3, r4} (50), then {r5, r6, r7} (5).
  EXPECT_EQ(o.results["summary"]["iterations"], 105);
}

// Continuous batching serves a stream of mixed answers with far less waiting than static batching (the
// padding-free gain Prepacking reports is on top of static batching, not continuous batching).
TEST(StaticBatch, ContinuousBatchingBeatsItOnAStream) {
  std::vector<Req> reqs;
  for (int i = 0; i < 200; ++i) reqs.push_back({i * 0.05, 300 + 37 * (i % 9), 20 + 90 * (i % 5)});
  const double continuous = run(reqs, "vllm-v1").results["summary"]["e2e_s"]["mean"].get<double>();
  const double padded = run(reqs, "static-batch:batch_size=16").results["summary"]["e2e_s"]["mean"].get<double>();
  const double packed =
      run(reqs, "static-batch:batch_size=16,padding=false").results["summary"]["e2e_s"]["mean"].get<double>();
  EXPECT_LT(continuous, 0.7 * padded);
  EXPECT_LE(packed, padded);
}

TEST(StaticBatch, BadInputNamesTheKey) {
  nlohmann::json doc = base_scenario(write_trace("static-batch-bad", {{0, 10, 10}}));
  doc["engine"]["scheduler"] = "static-batch:padding=maybe";
  std::string err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("engine.scheduler.padding"), std::string::npos) << err;
  doc["engine"]["scheduler"] = "static-batch";
  doc["engine"]["chunked_prefill"] = true;
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("never chunks"), std::string::npos) << err;
  doc["engine"].erase("chunked_prefill");
  doc["engine"]["prefix_caching"] = true;
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("no prefix cache"), std::string::npos) << err;
}

}  // namespace
}  // namespace kvsim
