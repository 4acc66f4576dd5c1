// Scheduler policies in isolation: token budget, max_num_seqs, preemption order, FCFS admission.
#include <gtest/gtest.h>

#include <deque>
#include <numeric>

#include "models/kv/kv_layout.h"
#include "sim/kv/kv_manager.h"
#include "sim/sched/scheduler.h"
#include "tests/sim/engine_fixture.h"

namespace kvsim {
namespace {

struct Harness {
  KvManager kv;
  EngineQueues q;
  EngineLimits limits;
  std::deque<Request> storage;
  explicit Harness(std::int64_t pages, PreemptionMode mode = PreemptionMode::kRecompute)
      : kv(testing::thousand_byte_pages(), pages * 1000, 0, 1000 * 1000, mode) {}
  Request& add(TokenCount prompt, TokenCount output) {
    storage.push_back(Request{});
    Request& r = storage.back();
    r.id = static_cast<RequestId>(storage.size() - 1);
    r.prompt_tokens = prompt;
    r.output_tokens = output;
    q.waiting.push_back(&r);
    return r;
  }
  StepPlan step(const std::string& name) {
    auto s = schedulers().get(name, "test").factory(nlohmann::json::object(), "test")();
    StepPlan plan;
    SchedulerContext ctx{q, kv, limits, 0};
    s->schedule(ctx, plan);
    return plan;
  }
  // Applies a plan the way the engine does.
  static void apply(const StepPlan& plan) {
    for (const ScheduledWork& w : plan.work) {
      w.request->computed += w.tokens;
      if (w.request->computed == w.request->known_tokens()) w.request->generated++;
    }
  }
};

TokenCount tokens(const StepPlan& p) {
  return std::accumulate(p.work.begin(), p.work.end(), TokenCount{0},
                         [](TokenCount a, const ScheduledWork& w) { return a + w.tokens; });
}

TEST(VllmV1, SharesTheBudgetBetweenDecodesAndChunks) {
  Harness h(10000);
  h.limits.max_num_batched_tokens = 100;
  h.add(30, 5);
  h.add(500, 5);
  StepPlan p = h.step("vllm-v1");
  ASSERT_EQ(p.work.size(), 2u);
  EXPECT_EQ(p.work[0].tokens, 30);
  EXPECT_EQ(p.work[1].tokens, 70);  // chunk
  Harness::apply(p);
  p = h.step("vllm-v1");
  ASSERT_EQ(p.work.size(), 2u);
  EXPECT_EQ(p.work[0].tokens, 1);   // decode first
  EXPECT_EQ(p.work[1].tokens, 99);  // then the rest of the budget to the chunk
  EXPECT_EQ(tokens(p), 100);
}

TEST(VllmV1, RespectsMaxNumSeqs) {
  Harness h(10000);
  h.limits.max_num_seqs = 2;
  for (int i = 0; i < 5; ++i) h.add(10, 5);
  const StepPlan p = h.step("vllm-v1");
  EXPECT_EQ(p.work.size(), 2u);
  EXPECT_EQ(h.q.waiting.size(), 3u);
}

TEST(VllmV1, PreemptsTheNewestRunningRequestWhenBlocksRunOut) {
  Harness h(4);  // 64 tokens
  h.add(32, 100);
  h.add(31, 100);
  StepPlan p = h.step("vllm-v1");  // both admitted: 2 + 2 blocks
  ASSERT_EQ(p.work.size(), 2u);
  Harness::apply(p);
  p = h.step("vllm-v1");  // request 0 needs a 3rd block at token 33: request 1 is preempted
  EXPECT_EQ(p.preemptions, 1);
  ASSERT_EQ(p.work.size(), 1u);
  EXPECT_EQ(p.work[0].request->id, 0);
  ASSERT_EQ(h.q.waiting.size(), 1u);
  EXPECT_EQ(h.q.waiting.front()->id, 1);
  EXPECT_EQ(h.q.waiting.front()->computed, 0);
  EXPECT_EQ(p.recomputed_tokens, 31);
}

TEST(VllmV1, SwapPreemptionMovesBlocksToHost) {
  Harness h(4, PreemptionMode::kSwap);
  h.add(32, 100);
  h.add(31, 100);
  Harness::apply(h.step("vllm-v1"));
  const StepPlan p = h.step("vllm-v1");
  EXPECT_EQ(p.preemptions, 1);
  EXPECT_DOUBLE_EQ(p.swap_out_bytes, 2 * 1000.0);
  ASSERT_EQ(h.q.swapped.size(), 1u);
  EXPECT_EQ(h.q.swapped.front()->computed, 31);  // KV kept on the host
}

TEST(PrefillFirst, AdmitsWholePromptsBeforeDecoding) {
  Harness h(10000);
  h.limits.max_num_batched_tokens = 1000;
  h.limits.chunked_prefill = false;
  h.add(600, 5);
  h.add(600, 5);
  StepPlan p = h.step("prefill-first");
  ASSERT_EQ(p.work.size(), 1u);  // the second prompt does not fit the remaining budget
  EXPECT_EQ(p.work[0].tokens, 600);
  Harness::apply(p);
  p = h.step("prefill-first");  // still a prefill iteration: the waiting prompt goes first
  ASSERT_EQ(p.work.size(), 1u);
  EXPECT_EQ(p.work[0].request->id, 1);
  Harness::apply(p);
  p = h.step("prefill-first");  // now both decode
  EXPECT_EQ(p.work.size(), 2u);
  EXPECT_EQ(tokens(p), 2);
}

TEST(Schedulers, RegistryListsBothAndRejectsUnknownNames) {
  EXPECT_NE(schedulers().find("vllm-v1"), nullptr);
  EXPECT_NE(schedulers().find("prefill-first"), nullptr);
  try {
    schedulers().get("fifo", "engine.scheduler");
    FAIL();
  } catch (const KvsimError& e) {
    EXPECT_NE(std::string(e.what()).find("vllm-v1, prefill-first"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvsim
