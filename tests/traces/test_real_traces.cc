// Every reader on the real trace files in ${KVSIM_SHARED_DIR}/traces (see their PROVENANCE.md files).
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/traces/trace_test_util.h"

namespace kvsim {
namespace {

using testing::read_all;
using testing::real_trace;

constexpr SimTimeNs kNsPerS = 1'000'000'000;

TEST(RealTraces, AzureConv) {
  auto reader = testing::open_trace("azure-2023", real_trace("azure_llm_2023/AzureLLMInferenceTrace_conv.csv"));
  EXPECT_TRUE(reader->has_arrivals());
  const auto rows = read_all(*reader);
  ASSERT_EQ(rows.size(), 19'366u);
  EXPECT_EQ(rows[0].arrival_ns, 0);
  EXPECT_EQ(rows[0].prompt_tokens, 374);
  EXPECT_EQ(rows[0].output_tokens, 44);
  EXPECT_EQ(rows[0].source_line, 2);
  // 18:15:50.9951690 − 18:15:46.6805900, exact to 100 ns.
  EXPECT_EQ(rows[1].arrival_ns, 4'314'579'000);
  EXPECT_EQ(rows.back().prompt_tokens, 197);
  EXPECT_EQ(rows.back().output_tokens, 183);
  EXPECT_EQ(reader->skipped_rows(), 0);
}

TEST(RealTraces, AzureCodeWithoutTrailingNewline) {
  const auto rows = read_all("azure-2023", real_trace("azure_llm_2023/AzureLLMInferenceTrace_code.csv"));
  ASSERT_EQ(rows.size(), 8'819u);
  EXPECT_EQ(rows[0].prompt_tokens, 4808);
  EXPECT_EQ(rows[0].output_tokens, 10);
  EXPECT_EQ(rows[1].arrival_ns, 52'000'000);  // 04.0319600 − 03.9799600
  EXPECT_EQ(rows.back().prompt_tokens, 549);
  EXPECT_EQ(rows.back().output_tokens, 173);
}

// splitwise_{conv,code}.csv are the Azure rows re-based to seconds: same lengths, arrivals within 1 µs.
void expect_same_as_splitwise(const char* azure, const char* splitwise) {
  const auto a = read_all("azure-2023", real_trace(azure));
  const auto s = read_all("vidur-csv", real_trace(splitwise));
  ASSERT_EQ(a.size(), s.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].prompt_tokens, s[i].prompt_tokens) << "row " << i;
    ASSERT_EQ(a[i].output_tokens, s[i].output_tokens) << "row " << i;
    ASSERT_LE(std::llabs(a[i].arrival_ns - s[i].arrival_ns), 1'000) << "row " << i;
  }
}

TEST(RealTraces, AzureMatchesSplitwiseRowByRow) {
  expect_same_as_splitwise("azure_llm_2023/AzureLLMInferenceTrace_conv.csv", "vidur_processed_traces/splitwise_conv.csv");
  expect_same_as_splitwise("azure_llm_2023/AzureLLMInferenceTrace_code.csv", "vidur_processed_traces/splitwise_code.csv");
}

TEST(RealTraces, SplitwiseConv) {
  auto reader = testing::open_trace("vidur-csv", real_trace("vidur_processed_traces/splitwise_conv.csv"));
  EXPECT_TRUE(reader->has_arrivals());
  const auto rows = read_all(*reader);
  ASSERT_EQ(rows.size(), 19'366u);
  EXPECT_EQ(rows[0].arrival_ns, 0);
  EXPECT_EQ(rows[0].prompt_tokens, 374);
  EXPECT_EQ(rows[1].arrival_ns, 4'314'579'000);
  EXPECT_EQ(rows.back().arrival_ns, 3'501'721'937'000);
}

// Vidur's trace-replay layout (Date,Time,PromptTokenCount,CompletionTokenCount, read by
// trace_replay_request_generator.py; no such file is public): splitwise_conv.csv's rows rewritten in it read back
// as the same requests, and it is detected as vidur-csv.
TEST(RealTraces, VidurReplayLayoutReadsTheSameRequests) {
  const auto path = real_trace("vidur_processed_traces/splitwise_conv.csv");
  std::ifstream in(path);
  std::string line, text = "Date,Time,PromptTokenCount,CompletionTokenCount\n";
  std::getline(in, line);  // arrived_at,num_prefill_tokens,num_decode_tokens
  while (std::getline(in, line)) text += "2023-11-16," + line + "\n";
  testing::TempFile replay(text);
  EXPECT_EQ(detect_trace_format(replay.path()), "vidur-csv");
  const auto want = read_all("vidur-csv", path);
  const auto got = read_all("vidur-csv", replay.path());
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].arrival_ns, want[i].arrival_ns) << "row " << i;
    ASSERT_EQ(got[i].prompt_tokens, want[i].prompt_tokens) << "row " << i;
    ASSERT_EQ(got[i].output_tokens, want[i].output_tokens) << "row " << i;
  }
}

TEST(RealTraces, SplitwiseCode) {
  const auto rows = read_all("vidur-csv", real_trace("vidur_processed_traces/splitwise_code.csv"));
  ASSERT_EQ(rows.size(), 8'819u);
  EXPECT_EQ(rows[0].prompt_tokens, 4808);
  EXPECT_EQ(rows[1].arrival_ns, 52'000'000);
}

TEST(RealTraces, MooncakeConversation) {
  auto reader = testing::open_trace("mooncake", real_trace("mooncake_fast25/conversation_trace.jsonl"));
  EXPECT_TRUE(reader->has_arrivals());
  const auto rows = read_all(*reader);
  ASSERT_EQ(rows.size(), 12'031u);
  EXPECT_EQ(rows[0].arrival_ns, 0);
  EXPECT_EQ(rows[0].prompt_tokens, 6758);
  EXPECT_EQ(rows[0].output_tokens, 500);
  EXPECT_EQ(rows[0].hash_block_tokens, 512);
  EXPECT_EQ(rows[0].hash_ids, (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}));
  EXPECT_EQ(rows[2].prompt_tokens, 7236);
  EXPECT_EQ(rows[2].output_tokens, 794);
  // Line 100: {"timestamp": 33000, "input_length": 916, "output_length": 265, "hash_ids": [0, 2934]}
  EXPECT_EQ(rows[99].source_line, 100);
  EXPECT_EQ(rows[99].arrival_ns, 33 * kNsPerS);
  EXPECT_EQ(rows[99].prompt_tokens, 916);
  EXPECT_EQ(rows[99].output_tokens, 265);
  EXPECT_EQ(rows[99].hash_ids, (std::vector<std::uint64_t>{0, 2934}));
}

TEST(RealTraces, LlmServingSimWorkloadWithTokenIds) {
  // The ShareGPT workload the real vLLM 0.19 runs replayed (../shared/serving-runs): detected by its token ids, 300
  // requests over 29.1 s, 257,239 prompt tokens; the first: 2,358 prompt tokens, 531 output, 46.9 ms after start.
  const std::filesystem::path path = std::filesystem::path(KVSIM_SHARED_DIR) /
                                     "serving-runs/llmservingsim-vllm-0.19/workloads/sharegpt-llama-3.1-8b-300-sps10.jsonl";
  EXPECT_EQ(detect_trace_format(path), "llmservingsim");
  const auto rows = read_all("llmservingsim", path);
  ASSERT_EQ(rows.size(), 300u);
  EXPECT_EQ(rows[0].arrival_ns, 0);  // re-based: 46,926,808 ns in the file
  EXPECT_EQ(rows[0].prompt_tokens, 2358);
  EXPECT_EQ(rows[0].output_tokens, 531);
  EXPECT_EQ(rows[0].hash_block_tokens, 1);
  EXPECT_EQ(rows[0].hash_ids.size(), 2358u);
  long long prompt = 0;
  for (const auto& r : rows) prompt += r.prompt_tokens;
  EXPECT_EQ(prompt, 257'239);
}

TEST(RealTraces, MooncakeSynthetic) {
  const auto rows = read_all("mooncake", real_trace("mooncake_fast25/synthetic_trace.jsonl"));
  ASSERT_EQ(rows.size(), 3'993u);
  EXPECT_EQ(rows[0].prompt_tokens, 40160);
  EXPECT_EQ(rows[0].output_tokens, 6);
  EXPECT_EQ(rows[0].hash_ids.size(), 79u);  // ceil(40160 / 512)
  EXPECT_EQ(rows[2].arrival_ns, 40'000'000);
  EXPECT_EQ(rows[2].prompt_tokens, 23769);
}

TEST(RealTraces, BurstGpt1SkipsAndCountsFailedRows) {
  auto reader = testing::open_trace("burstgpt", real_trace("burstgpt/BurstGPT_1.head400.csv"));
  const auto rows = read_all(*reader);
  EXPECT_EQ(reader->skipped_rows(), 17);  // Request tokens = Response tokens = 0 (PROVENANCE.md)
  ASSERT_EQ(rows.size(), 400u - 17u);
  EXPECT_EQ(rows[0].arrival_ns, 0);
  EXPECT_EQ(rows[0].prompt_tokens, 472);
  EXPECT_EQ(rows[0].output_tokens, 18);
  EXPECT_EQ(rows[1].arrival_ns, 40 * kNsPerS);  // 45 s − 5 s
  EXPECT_EQ(rows[2].prompt_tokens, 417);
  EXPECT_TRUE(rows[0].session_id.empty());
}

TEST(RealTraces, BurstGpt3KeepsSessions) {
  auto reader = testing::open_trace("burstgpt", real_trace("burstgpt/BurstGPT_3.head400.csv"));
  const auto rows = read_all(*reader);
  EXPECT_EQ(reader->skipped_rows(), 1);
  ASSERT_EQ(rows.size(), 399u);
  EXPECT_EQ(rows[0].prompt_tokens, 906);
  EXPECT_EQ(rows[0].output_tokens, 446);
  EXPECT_EQ(rows[0].session_id, "1722ac82-0a46-4bf0-aa08-89794e7a2b3f");
  EXPECT_EQ(rows[1].arrival_ns, 51 * kNsPerS);  // 19440161 − 19440110
  // Line 56: "19454781.0,,21,GPT-4,264,171,435,API log" (API rows have no session).
  const TraceRecord* api = nullptr;
  for (const auto& r : rows) {
    if (r.source_line == 56) api = &r;
  }
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->arrival_ns, (19'454'781 - 19'440'110) * kNsPerS);
  EXPECT_EQ(api->prompt_tokens, 264);
  EXPECT_TRUE(api->session_id.empty());
}

TEST(RealTraces, ShareGptLengthsOnly) {
  auto reader = testing::open_trace(
      "vidur-csv", real_trace("sharegpt_sarathi/sharegpt_8k_filtered_stats_llama2_tokenizer.csv"));
  EXPECT_FALSE(reader->has_arrivals());
  const auto rows = read_all(*reader);
  ASSERT_EQ(rows.size(), 30'731u);
  EXPECT_EQ(rows[0].prompt_tokens, 74);
  EXPECT_EQ(rows[0].output_tokens, 918);
  EXPECT_EQ(rows[2].prompt_tokens, 1402);
  for (const auto& r : rows) ASSERT_EQ(r.arrival_ns, 0);
}

TEST(RealTraces, ArxivLengthsOnly) {
  auto reader = testing::open_trace(
      "vidur-csv", real_trace("vidur_processed_traces/arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv"));
  EXPECT_FALSE(reader->has_arrivals());
  const auto rows = read_all(*reader);
  ASSERT_EQ(rows.size(), 28'257u);
  EXPECT_EQ(rows[0].prompt_tokens, 3772);
  EXPECT_EQ(rows[0].output_tokens, 54);
}

TEST(RealTraces, FormatsAreDetected) {
  const std::pair<const char*, const char*> cases[] = {
      {"azure_llm_2023/AzureLLMInferenceTrace_conv.csv", "azure-2023"},
      {"azure_llm_2023/AzureLLMInferenceTrace_code.csv", "azure-2023"},
      {"mooncake_fast25/conversation_trace.jsonl", "mooncake"},
      {"mooncake_fast25/synthetic_trace.jsonl", "mooncake"},
      {"burstgpt/BurstGPT_1.head400.csv", "burstgpt"},
      {"burstgpt/BurstGPT_3.head400.csv", "burstgpt"},
      {"vidur_processed_traces/splitwise_conv.csv", "vidur-csv"},
      {"vidur_processed_traces/splitwise_code.csv", "vidur-csv"},
      {"vidur_processed_traces/arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv", "vidur-csv"},
      {"sharegpt_sarathi/sharegpt_8k_filtered_stats_llama2_tokenizer.csv", "vidur-csv"},
  };
  for (const auto& [file, format] : cases) EXPECT_EQ(detect_trace_format(real_trace(file)), format) << file;
}

TEST(RealTraces, RegistryDocumentsEveryFormat) {
  EXPECT_EQ(trace_formats().names(), (std::vector<std::string>{"azure-2023", "mooncake", "llmservingsim", "burstgpt", "vidur-csv", "jsonl"}));
  for (const auto& e : trace_formats().entries()) {
    EXPECT_FALSE(e.description.empty()) << e.name;
    EXPECT_FALSE(e.citation.empty()) << e.name;
  }
}

}  // namespace
}  // namespace kvsim
