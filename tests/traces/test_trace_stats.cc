// compute_trace_stats on the real traces, against the figures in their PROVENANCE.md files.
#include <gtest/gtest.h>

#include "tests/traces/trace_test_util.h"
#include "traces/trace_stats.h"

namespace kvsim {
namespace {

using testing::real_trace;

TraceStats stats_of(const std::string& format, const char* file) {
  auto reader = testing::open_trace(format, real_trace(file));
  return compute_trace_stats(*reader);
}

TEST(TraceStats, MooncakePrefixReuse) {
  const TraceStats conv = stats_of("mooncake", "mooncake_fast25/conversation_trace.jsonl");
  EXPECT_EQ(conv.requests, 12'031);
  EXPECT_TRUE(conv.has_prefix_hashes);
  EXPECT_NEAR(conv.prefix_block_reuse, 0.366, 0.0005);  // 36.6 % of blocks
  EXPECT_NEAR(conv.prefix_token_reuse, 0.374, 0.0005);  // 37.4 % of input tokens
  const TraceStats synthetic = stats_of("mooncake", "mooncake_fast25/synthetic_trace.jsonl");
  EXPECT_EQ(synthetic.requests, 3'993);
  EXPECT_NEAR(synthetic.prefix_block_reuse, 0.640, 0.0005);
  EXPECT_NEAR(synthetic.prefix_token_reuse, 0.651, 0.0005);
}

TEST(TraceStats, PrefixHitsOfAnUnlimitedCacheAreTheIdealReuse) {
  // Mooncake's ids are chained, so a repeated block always lies in a request's leading run: the prefix hits of an
  // infinite cache are exactly the reuse PROVENANCE.md gives (36.6 % / 64.0 % of blocks).
  for (const auto& [file, reuse] : {std::pair{"mooncake_fast25/conversation_trace.jsonl", 0.366},
                                    std::pair{"mooncake_fast25/synthetic_trace.jsonl", 0.640}}) {
    const TraceStats s = stats_of("mooncake", file);
    EXPECT_DOUBLE_EQ(s.ideal_block_hit_rate, s.prefix_block_reuse) << file;
    EXPECT_NEAR(s.ideal_block_hit_rate, reuse, 0.0005) << file;
    // The LRU curve never falls as the capacity grows and reaches the ideal when every block fits.
    ASSERT_FALSE(s.lru_curve.empty());
    for (std::size_t i = 1; i < s.lru_curve.size(); ++i) {
      EXPECT_GT(s.lru_curve[i].capacity_blocks, s.lru_curve[i - 1].capacity_blocks) << file;
      EXPECT_GE(s.lru_curve[i].block_hit_rate, s.lru_curve[i - 1].block_hit_rate) << file;
    }
    EXPECT_EQ(s.lru_curve.back().capacity_blocks, s.distinct_blocks) << file;
    EXPECT_DOUBLE_EQ(s.lru_curve.back().block_hit_rate, s.ideal_block_hit_rate) << file;
  }
  EXPECT_EQ(stats_of("mooncake", "mooncake_fast25/conversation_trace.jsonl").distinct_blocks, 182'790);
}

TEST(TraceStats, LruCurveAtCapacityAndOneLess) {
  // Requests (ids one per block): A = [1, 2, 3], B = [1, 2, 4], C = [1, 2, 3]. Each lookup is the leading run found
  // cached; then the request's blocks are used last block first (so the prefix is the most recent).
  // Capacity 4: after A the cache holds 1 2 3 (most recent first); B hits 1, 2 and leaves 1 2 4 3; C hits 1, 2, 3.
  // Capacity 3: B's 4 evicts 3, the least recent, so C hits 1, 2 only.
  testing::TempFile f(
      R"({"arrival_s": 0, "prompt_tokens": 48, "output_tokens": 1, "hash_ids": [1, 2, 3], "hash_block_tokens": 16})"
      "\n"
      R"({"arrival_s": 1, "prompt_tokens": 48, "output_tokens": 1, "hash_ids": [1, 2, 4], "hash_block_tokens": 16})"
      "\n"
      R"({"arrival_s": 2, "prompt_tokens": 48, "output_tokens": 1, "hash_ids": [1, 2, 3], "hash_block_tokens": 16})"
      "\n",
      ".jsonl");
  auto reader = testing::open_trace("jsonl", f.path());
  const TraceStats s = compute_trace_stats(*reader, {3, 4});
  ASSERT_EQ(s.lru_curve.size(), 2u);
  EXPECT_DOUBLE_EQ(s.lru_curve[0].block_hit_rate, (0 + 2 + 2) / 9.0);  // capacity 3
  EXPECT_DOUBLE_EQ(s.lru_curve[1].block_hit_rate, (0 + 2 + 3) / 9.0);  // capacity 4
  EXPECT_DOUBLE_EQ(s.ideal_block_hit_rate, 5 / 9.0);
  EXPECT_EQ(s.distinct_blocks, 4);
  EXPECT_EQ(to_json(s)["prefix_reuse"]["lru_curve"][1]["capacity_blocks"], 4);
}

TEST(TraceStats, ArxivLengths) {
  const TraceStats s =
      stats_of("vidur-csv", "vidur_processed_traces/arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv");
  EXPECT_EQ(s.requests, 28'257);
  EXPECT_FALSE(s.has_arrivals);
  EXPECT_EQ(s.duration_s, 0);
  EXPECT_NEAR(s.prompt_tokens.mean, 2588.08, 0.01);
  EXPECT_EQ(s.prompt_tokens.p50, 2730);
  EXPECT_EQ(s.prompt_tokens.p90, 3702);
  EXPECT_NEAR(s.prompt_tokens.p99, 3933.44, 1e-6);  // interpolated between order statistics
  EXPECT_EQ(s.prompt_tokens.min, 1);
  EXPECT_EQ(s.prompt_tokens.max, 4054);
  EXPECT_NEAR(s.output_tokens.mean, 291.43, 0.01);
  EXPECT_EQ(s.output_tokens.p50, 167);
  EXPECT_EQ(s.output_tokens.p90, 372);
  EXPECT_FALSE(s.has_prefix_hashes);
}

TEST(TraceStats, AzureArrivals) {
  const TraceStats conv = stats_of("azure-2023", "azure_llm_2023/AzureLLMInferenceTrace_conv.csv");
  EXPECT_EQ(conv.requests, 19'366);
  EXPECT_NEAR(conv.duration_s, 3501.721937, 1e-6);
  EXPECT_NEAR(conv.rate_per_s, 5.5304, 1e-3);
  EXPECT_NEAR(conv.interarrival_cv, 1.094, 0.001);  // near-Poisson (CV ≈ 1.1)
  EXPECT_EQ(conv.total_prompt_tokens, 22'361'870);
  EXPECT_EQ(conv.prompt_tokens.p50, 1020);
  const TraceStats code = stats_of("azure-2023", "azure_llm_2023/AzureLLMInferenceTrace_code.csv");
  EXPECT_NEAR(code.interarrival_cv, 13.15, 0.01);  // extremely bursty (CV ≈ 13)
  EXPECT_EQ(code.total_prompt_tokens, 18'059'974);
}

TEST(TraceStats, SkippedRowsAreReported) {
  const TraceStats s = stats_of("burstgpt", "burstgpt/BurstGPT_1.head400.csv");
  EXPECT_EQ(s.requests, 383);
  EXPECT_EQ(s.skipped_rows, 17);
  EXPECT_EQ(to_json(s)["skipped_rows"], 17);
  EXPECT_CONTAINS(to_text(s), "skipped rows          17 (format rule");
}

TEST(TraceStats, JsonAndText) {
  const TraceStats s = stats_of("mooncake", "mooncake_fast25/conversation_trace.jsonl");
  const nlohmann::json j = to_json(s);
  for (const char* key : {"requests", "skipped_rows", "has_arrivals", "duration_s", "rate_per_s", "interarrival_cv",
                          "prompt_tokens", "output_tokens", "total_prompt_tokens", "total_output_tokens",
                          "has_prefix_hashes", "prefix_block_reuse", "prefix_token_reuse"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"mean", "p50", "p90", "p99", "min", "max"}) EXPECT_TRUE(j["prompt_tokens"].contains(key)) << key;
  EXPECT_EQ(j["requests"], 12'031);
  const std::string text = to_text(s);
  EXPECT_CONTAINS(text, "requests              12031\n");
  EXPECT_CONTAINS(text, "prefix reuse (blocks) 36.6 % (infinite cache)\n");
  EXPECT_CONTAINS(text, "prefix reuse (tokens) 37.4 %");
}

TEST(TraceStats, EmptyStream) {
  testing::TempFile f("TIMESTAMP,ContextTokens,GeneratedTokens\n");
  auto reader = testing::open_trace("azure-2023", f.path());
  const TraceStats s = compute_trace_stats(*reader);
  EXPECT_EQ(s.requests, 0);
  EXPECT_EQ(s.rate_per_s, 0);
  EXPECT_EQ(s.prompt_tokens.mean, 0);
}

}  // namespace
}  // namespace kvsim
