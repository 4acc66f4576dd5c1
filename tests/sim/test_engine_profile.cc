// Engine profiles (sim/engine/engine_profile.h): each term changes a one-request run's TTFT / TPOT / E2E by exactly
// its value, CUDA graphs pad a batch to the captured size above it, vLLM's capture sizes, and strict reading.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine_fixture.h"
#include "models/cost/impl/roofline.h"
#include "models/spec/catalog.h"
#include "round_gpu.h"
#include "sim/engine/engine_profile.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::error_of;
using testing::Outcome;
using testing::run_scenario;
using testing::write_rows;

// One request, 100 prompt tokens and 10 output tokens, under `profile` (null: none).
Outcome one_request(const nlohmann::json& profile) {
  nlohmann::json doc = base_scenario(write_rows("profile-one", {{0.0, 100, 10, {}}}));
  if (!profile.is_null()) doc["engine"]["profile"] = profile;
  return run_scenario(doc);
}

TEST(EngineProfile, EachTermAddsExactlyItsValue) {
  const Outcome base = one_request(nullptr);
  const RequestRecord& b = base.by_id(0);
  const auto with = [](nlohmann::json overrides) {
    overrides["name"] = "none";
    return one_request(overrides).by_id(0);
  };
  constexpr double kNs = 2e-9;  // rounding to the simulator's nanoseconds
  // Before the engine: 20 ms per request, 0.1 ms per prompt token (100 tokens: 10 ms). TTFT and E2E from the
  // client; the engine's queue and TPOT unchanged.
  RequestRecord r = with(nlohmann::json::object({{"request_s", 0.020}, {"tokenize_s_per_token", 1e-4}}));
  EXPECT_NEAR(r.ttft_s, b.ttft_s + 0.030, kNs);
  EXPECT_NEAR(r.e2e_s, b.e2e_s + 0.030, kNs);
  EXPECT_NEAR(*r.tpot_s, *b.tpot_s, kNs);
  EXPECT_NEAR(r.queue_s, b.queue_s, kNs);
  // After the engine: each token reaches the client 3 ms after its step.
  r = with(nlohmann::json::object({{"output_s", 0.003}}));
  EXPECT_NEAR(r.ttft_s, b.ttft_s + 0.003, kNs);
  EXPECT_NEAR(r.e2e_s, b.e2e_s + 0.003, kNs);
  EXPECT_NEAR(*r.tpot_s, *b.tpot_s, kNs);
  // CPU time per step, after the GPU's work: 4 ms + 1 ms for its one sequence + 0.01 ms per token. The prefill step
  // (100 tokens) takes 6 ms more, each decode step 5.01 ms more.
  r = with(nlohmann::json::object({{"step_s", 0.004}, {"step_per_seq_s", 0.001}, {"step_per_token_s", 1e-5}}));
  EXPECT_NEAR(r.ttft_s, b.ttft_s + 0.006, 10 * kNs);
  EXPECT_NEAR(*r.tpot_s, *b.tpot_s + 0.00501, 10 * kNs);
  // With async scheduling a step takes max(GPU, CPU): 4 ms hides behind the GPU's work; 1 s does not.
  r = with(nlohmann::json::object({{"step_s", 0.004}, {"async_scheduling", true}}));
  EXPECT_NEAR(r.ttft_s, b.ttft_s, kNs);
  EXPECT_NEAR(*r.tpot_s, *b.tpot_s, kNs);
  r = with(nlohmann::json::object({{"step_s", 1.0}, {"async_scheduling", true}}));
  EXPECT_NEAR(r.ttft_s, 1.0, kNs);
  EXPECT_NEAR(*r.tpot_s, 1.0, kNs);
  // Outside CUDA graphs (the largest captured size is 64 tokens, the prefill has 100) a step pays 0.1 ms per layer
  // of launches: 32 layers, 3.2 ms; the decode steps replay the graph of size 1 (no padding, nothing added).
  r = with(nlohmann::json::object({{"cuda_graphs", true}, {"capture_sizes", {1, 2, 4, 8, 16, 32, 64}}, {"eager_s_per_layer", 1e-4}}));
  EXPECT_NEAR(r.ttft_s, b.ttft_s + 0.0032, kNs);
  EXPECT_NEAR(*r.tpot_s, *b.tpot_s, kNs);
  // The breakdown names the engine's terms.
  const Outcome o = one_request({{"name", "none"}, {"step_s", 0.004}});
  double cpu_s = 0;
  for (const nlohmann::json& op : o.results["cost_breakdown"]) {
    if (op["op"] == "engine.cpu") cpu_s = op["seconds"].get<double>();
  }
  EXPECT_NEAR(cpu_s, 10 * 0.004, 1e-9);  // 10 steps: the prefill (which samples the first token) and 9 decodes
}

TEST(EngineProfile, AsyncSchedulingSeesANewRequestOneStepLater) {
  // A decodes alone; B arrives during one of A's steps. Synchronously B is scheduled when that step ends; with
  // asynchronous scheduling the next step was planned when that step started, so B waits exactly one more step of A
  // decoding alone. A request arriving at an idle engine is scheduled at once either way.
  nlohmann::json doc = base_scenario(write_rows("profile-async", {{0.0, 100, 400, {}}, {0.5, 100, 10, {}}}));
  const Outcome sync = run_scenario(doc);
  doc["engine"]["profile"] = {{"name", "none"}, {"async_scheduling", true}};
  const Outcome async = run_scenario(doc);
  const double step = *one_request(nullptr).by_id(0).tpot_s;  // one decode step of a request alone
  EXPECT_NEAR(async.by_id(1).queue_s - sync.by_id(1).queue_s, step, step * 0.01);
  EXPECT_NEAR(async.by_id(0).ttft_s, sync.by_id(0).ttft_s, 1e-9);
}

TEST(EngineProfile, CudaGraphsPadABatchToTheCapturedSizeAboveIt) {
  // Five decodes padded to the captured size 8 cost, in every GEMM and all-reduce, what eight decodes cost; their
  // attention stays five sequences'.
  const LlmSpec& llama = Catalog::builtin().model("llama-3.1-8b", "t");
  const GpuSpec gpu = testing::round_gpu();
  RooflineParams params;
  const RooflineCostModel kernels(params, gpu);
  IterationCostModel m(llama, base_layout(llama, 2, 16), 2, kernels, 0.0);
  const std::vector<SeqWork> five(5, SeqWork{999, 999, 1}), eight(8, SeqWork{999, 999, 1});
  EngineProfile p;
  p.cuda_graphs = true;
  p.capture_sizes = {1, 2, 4, 8, 16};
  ASSERT_TRUE(p.graphed(5));
  EXPECT_EQ(p.graph_tokens(5), 8);
  EXPECT_EQ(p.graph_tokens(16), 16);
  EXPECT_FALSE(p.graphed(17));
  IterationShape padded, full;
  padded.work = five;
  padded.sampled_sequences = 5;
  padded.padded_tokens = p.graph_tokens(5) - 5;
  full.work = eight;
  full.sampled_sequences = 5;
  IterationCost a, b;
  m.price(padded, a);
  m.price(full, b);
  for (const OpId id : {OpId::kGemmQkv, OpId::kGemmAttnOut, OpId::kGemmMlp, OpId::kAllReduce, OpId::kGemmLmHead}) {
    EXPECT_DOUBLE_EQ(a.ops[static_cast<std::size_t>(id)].seconds, b.ops[static_cast<std::size_t>(id)].seconds)
        << op_name(id);
  }
  EXPECT_LT(a.ops[static_cast<std::size_t>(OpId::kAttentionDecode)].bytes,
            b.ops[static_cast<std::size_t>(OpId::kAttentionDecode)].bytes);
}

TEST(EngineProfile, VllmCaptureSizesAndNamedProfiles) {
  // vLLM: 1, 2, 4, 8..248 by 8, 256.. by 16 up to min(2 x max_num_seqs, 512).
  const std::vector<TokenCount> s128 = vllm_capture_sizes(128);
  EXPECT_EQ(s128.size(), 3u + 31u + 1u);
  EXPECT_EQ(s128.back(), 256);
  const std::vector<TokenCount> s256 = vllm_capture_sizes(256);
  EXPECT_EQ(s256.back(), 512);
  EXPECT_EQ(s256.size(), 3u + 31u + 17u);
  EXPECT_EQ(vllm_capture_sizes(2), (std::vector<TokenCount>{1, 2, 4}));
  // A named profile runs and is recorded with every value; unknown names and values are errors naming the key.
  nlohmann::json doc = base_scenario(write_rows("profile-named", {{0.0, 100, 10, {}}}));
  doc["engine"]["profile"] = "vllm-0.15";
  const Outcome o = run_scenario(doc);
  const auto& resolved = o.results["scenario"]["engine"]["profile"];
  EXPECT_EQ(resolved["name"], "vllm-0.15");
  EXPECT_EQ(resolved["capture_sizes"].back(), 512);  // max_num_seqs 256
  EXPECT_TRUE(resolved["async_scheduling"].get<bool>());
  EXPECT_NE(o.results["approximations"].dump().find("Engine profile vllm-0.15"), std::string::npos);
  EXPECT_GE(o.by_id(0).ttft_s, 0.0085);  // its 8.5 ms per request outside the engine
  doc["engine"]["profile"] = "vllm-0.2";
  std::string e = error_of([&] { run_scenario(doc); });
  EXPECT_NE(e.find("engine.profile"), std::string::npos) << e;
  EXPECT_NE(e.find("vllm-0.19"), std::string::npos) << e;
  doc["engine"]["profile"] = {{"name", "vllm-0.19"}, {"step_ms", 1}};
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("step_ms"), std::string::npos);
  doc["engine"]["profile"] = {{"name", "vllm-0.19"}, {"capture_sizes", {8, 4}}};
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("capture_sizes"), std::string::npos);
  doc["engine"]["profile"] = {{"name", "vllm-0.19"}, {"request_s", -1}};
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("request_s"), std::string::npos);
}

}  // namespace
}  // namespace kvsim

namespace kvsim {
namespace {

TEST(ClientTimeout, ARequestPastItsClientsTimeoutIsAbortedAndItsMemoryFreed) {
  // One request of 2000 output tokens (seconds of decoding) whose client gives up after 1 s: aborted mid-decode,
  // reported timed out, nothing left in memory. In a one-slot engine, a second request sent with the first waits
  // behind it and its client gives up too, before it ever ran.
  nlohmann::json doc = testing::base_scenario(testing::write_rows("timeout-one", {{0.0, 100, 2000, {}}}));
  doc["workload"]["client_timeout_s"] = 1.0;
  testing::Outcome o = testing::run_scenario(doc);
  const auto& req = o.results["summary"]["requests"];
  EXPECT_EQ(req["timed_out"], 1);
  EXPECT_EQ(req["completed"], 0);
  EXPECT_TRUE(o.by_id(0).timed_out);
  EXPECT_NE(o.by_id(0).reject_reason.find("workload.client_timeout_s"), std::string::npos);
  EXPECT_EQ(o.summary.used_bytes_at_end, 0);
  EXPECT_NEAR(o.results["summary"]["simulated_time_s"].get<double>(), 1.0, 0.05);  // the engine stopped then
  nlohmann::json queued = testing::base_scenario(testing::write_rows("timeout-queued", {{0.0, 100, 2000, {}},
                                                                                         {0.0, 100, 5, {}}}));
  queued["engine"]["max_num_seqs"] = 1;
  queued["workload"]["client_timeout_s"] = 0.5;
  o = testing::run_scenario(queued);
  EXPECT_EQ(o.results["summary"]["requests"]["timed_out"], 2);
  EXPECT_NE(o.by_id(1).reject_reason.find("with 0 of 5 output tokens"), std::string::npos) << o.by_id(1).reject_reason;
  queued["workload"]["client_timeout_s"] = -1;
  EXPECT_NE(testing::error_of([&] { testing::run_scenario(queued); }).find("workload.client_timeout_s"),
            std::string::npos);
}

TEST(ClientTimeout, AnOverloadedEngineWithPrefixCachingKeepsItsInvariants) {
  // Overload (a small pool, prefix caching, preemptions) with a client timeout: every request is completed, rejected
  // or timed out, the invariant checker runs after every event, and nothing is held at the end.
  std::vector<testing::Row> rows;
  for (int i = 0; i < 120; ++i) {
    const long long prompt = 600 + 7LL * (i % 50);  // two 512-token trace blocks: a shared first one
    rows.push_back({0.01 * i, prompt, 50 + 13LL * (i % 40), {static_cast<std::uint64_t>(i % 4), 7}});
  }
  nlohmann::json doc = testing::base_scenario(testing::write_rows("timeout-stress", rows));
  doc["engine"]["prefix_caching"] = true;
  doc["engine"]["num_gpu_blocks"] = 400;
  doc["workload"]["client_timeout_s"] = 2.0;
  const testing::Outcome o = testing::run_scenario(doc);
  const auto& req = o.results["summary"]["requests"];
  EXPECT_GT(req["timed_out"].get<long long>(), 0);
  EXPECT_GT(req["completed"].get<long long>(), 0);
  EXPECT_EQ(req["completed"].get<long long>() + req["rejected"].get<long long>() + req["timed_out"].get<long long>(),
            120);
  EXPECT_EQ(o.summary.used_bytes_at_end, 0);
}

}  // namespace
}  // namespace kvsim
