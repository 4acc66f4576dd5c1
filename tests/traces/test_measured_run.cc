// Measured serving runs (traces/measured_run.h): each format's per-request latencies computed by hand, the real
// LLMServingSim run's statistics against its published summary, and strict errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "tests/common/error_of.h"
#include "traces/measured_run.h"

namespace kvsim {
namespace {

std::filesystem::path write(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / ("kvsim-measured-tests-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir / name;
}

TEST(MeasuredRun, VllmBenchLatenciesFromTtftAndItls) {
  // Three requests, the third failed: E2E = TTFT + sum(ITL), TPOT = sum(ITL) / (output - 1).
  const auto path = write("bench.json", R"({"duration": 2.0, "input_lens": [100, 200, 300], "output_lens": [3, 2, 4],
      "ttfts": [0.1, 0.2, 0.3], "itls": [[0.01, 0.02], [0.03], []], "errors": ["", "", "timeout"]})");
  const MeasuredRun run = read_measured_run(path, "vllm-bench");
  ASSERT_EQ(run.requests.size(), 2u);
  EXPECT_EQ(run.failed, 1u);
  EXPECT_DOUBLE_EQ(*run.requests[0].e2e_s, 0.1 + 0.01 + 0.02);
  EXPECT_DOUBLE_EQ(*run.requests[0].tpot_s, (0.01 + 0.02) / 2);
  EXPECT_DOUBLE_EQ(*run.requests[1].tpot_s, 0.03);
  EXPECT_FALSE(run.requests[0].queue_s.has_value());
  EXPECT_DOUBLE_EQ(*run.span_s, 2.0);
  const auto missing = write("bench-missing.json", R"({"input_lens": [1], "output_lens": [1], "ttfts": [0.1]})");
  EXPECT_NE(testing::error_of([&] { read_measured_run(missing, "vllm-bench"); }).find("itls"), std::string::npos);
}

TEST(MeasuredRun, LlmServingSimRequestsAgainstTheirPublishedSummary) {
  // The RTX PRO 6000 Llama-3.1-8B run: 300 requests; summary_recomputed.csv gives TTFT mean 7097.16 ms and E2E mean
  // 28200.75 ms with the same anchors (queued_ts).
  const std::filesystem::path path = std::filesystem::path(KVSIM_SHARED_DIR) /
                                     "serving-runs/llmservingsim-vllm-0.19/examples/RTXPRO6000/Llama-3.1-8B/vllm/"
                                     "requests.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not there";
  const MeasuredRun run = read_measured_run(path, "llmservingsim");
  ASSERT_EQ(run.requests.size(), 300u);
  double ttft = 0, e2e = 0;
  for (const MeasuredRequest& r : run.requests) {
    ttft += *r.ttft_s;
    e2e += *r.e2e_s;
  }
  EXPECT_NEAR(ttft / 300 * 1e3, 7097.16, 0.01);
  EXPECT_NEAR(e2e / 300 * 1e3, 28200.75, 0.01);
  // A line without a timestamp names the file, the line and the key.
  const auto bad = write("requests.jsonl",
                         "{\"input_toks\": 10, \"output_toks\": 2, \"queued_ts\": 1.0, \"scheduled_ts\": 1.1, "
                         "\"first_token_ts\": 1.2, \"last_token_ts\": 1.3}\n"
                         "{\"input_toks\": 10, \"output_toks\": 2, \"queued_ts\": 1.0, \"scheduled_ts\": 1.1, "
                         "\"first_token_ts\": 1.2}\n");
  const std::string e = testing::error_of([&] { read_measured_run(bad, "llmservingsim"); });
  EXPECT_NE(e.find("requests.jsonl:2"), std::string::npos) << e;
  EXPECT_NE(e.find("last_token_ts"), std::string::npos) << e;
  EXPECT_NE(testing::error_of([&] { read_measured_run(bad, "vidur"); }).find("llmservingsim"), std::string::npos);
}

}  // namespace
}  // namespace kvsim
