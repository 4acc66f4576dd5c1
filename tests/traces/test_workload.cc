// make_workload: the scenario's `workload` section → a request stream.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/traces/trace_test_util.h"
#include "traces/workload.h"

namespace kvsim {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::read_all;
using testing::real_trace;

const std::filesystem::path kTraceDir = real_trace("");

std::unique_ptr<ITraceReader> workload(const json& section, const std::filesystem::path& base_dir = kTraceDir) {
  ParamReader params(section, "workload");
  return make_workload(params, 1, base_dir);
}

std::vector<TraceRecord> records(const json& section, const std::filesystem::path& base_dir = kTraceDir) {
  auto reader = workload(section, base_dir);
  return read_all(*reader);
}

const json kConv = {{"path", "vidur_processed_traces/splitwise_conv.csv"}, {"format", "vidur-csv"}};
const json kShareGpt = {{"path", "sharegpt_sarathi/sharegpt_8k_filtered_stats_llama2_tokenizer.csv"},
                        {"format", "vidur-csv"}};

TEST(Workload, TraceWithRelativePathAndDetectedFormat) {
  const auto rows = records({{"trace", {{"path", "azure_llm_2023/AzureLLMInferenceTrace_conv.csv"}}}});
  ASSERT_EQ(rows.size(), 19'366u);
  EXPECT_EQ(rows[1].arrival_ns, 4'314'579'000);
}

TEST(Workload, TimeScaleHalvesAndDoubles) {
  const auto base = records({{"trace", kConv}, {"max_requests", 200}});
  const auto half = records({{"trace", kConv}, {"max_requests", 200}, {"time_scale", 0.5}});
  const auto twice = records({{"trace", kConv}, {"max_requests", 200}, {"time_scale", 2.0}});
  ASSERT_EQ(base.size(), 200u);
  ASSERT_EQ(half.size(), 200u);
  ASSERT_EQ(twice.size(), 200u);
  for (std::size_t i = 0; i < base.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(half[i].arrival_ns), 0.5 * static_cast<double>(base[i].arrival_ns), 1.0);
    EXPECT_EQ(twice[i].arrival_ns, 2 * base[i].arrival_ns);
    EXPECT_EQ(half[i].prompt_tokens, base[i].prompt_tokens);
  }
}

TEST(Workload, MaxRequestsCaps) {
  EXPECT_EQ(records({{"trace", kConv}, {"max_requests", 7}}).size(), 7u);
  EXPECT_EQ(records({{"trace", kConv}, {"max_requests", nullptr}}).size(), 19'366u);
  json synthetic = {{"num_requests", 100},
                    {"arrival", {{"process", "poisson"}, {"rate_per_s", 1}}},
                    {"prompt_tokens", {{"dist", "fixed"}, {"value", 10}}},
                    {"output_tokens", {{"dist", "fixed"}, {"value", 10}}}};
  EXPECT_EQ(records({{"synthetic", synthetic}, {"max_requests", 30}}).size(), 30u);
}

TEST(Workload, LengthOnlyTraceNeedsAnArrivalSpec) {
  const std::string e = error_of([] { workload({{"trace", kShareGpt}}); });
  EXPECT_CONTAINS(e, "workload.trace.arrival: ");
  EXPECT_CONTAINS(e, "has no arrival times (vidur-csv, length only); expected an arrival process");

  json with_arrival = kShareGpt;
  with_arrival["arrival"] = {{"process", "poisson"}, {"rate_per_s", 20}};
  auto reader = workload({{"trace", with_arrival}, {"max_requests", 5000}});
  EXPECT_TRUE(reader->has_arrivals());
  const auto rows = read_all(*reader);
  ASSERT_EQ(rows.size(), 5000u);
  EXPECT_EQ(rows[0].prompt_tokens, 74);  // file order kept
  EXPECT_EQ(rows[0].arrival_ns, 0);
  for (std::size_t i = 1; i < rows.size(); ++i) ASSERT_GE(rows[i].arrival_ns, rows[i - 1].arrival_ns);
  const double rate = static_cast<double>(rows.size() - 1) / (static_cast<double>(rows.back().arrival_ns) * 1e-9);
  EXPECT_NEAR(rate, 20.0, 20.0 * 0.05);
}

TEST(Workload, ArrivalSpecReplacesTheFilesTimesEvenIfUnsorted) {
  testing::TempFile f("arrived_at,num_prefill_tokens,num_decode_tokens\n5.0,1,1\n2.0,2,1\n9.0,3,1\n");
  json trace = {{"path", f.name()}, {"arrival", {{"process", "constant"}, {"rate_per_s", 2}}}};
  const auto rows = records({{"trace", trace}});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].prompt_tokens, 2);
  EXPECT_EQ(rows[1].arrival_ns, 500'000'000);
  EXPECT_EQ(rows[2].arrival_ns, 1'000'000'000);
}

TEST(Workload, SortKey) {
  testing::TempFile f("arrived_at,num_prefill_tokens,num_decode_tokens\n5.0,1,1\n2.0,2,1\n9.0,3,1\n");
  EXPECT_CONTAINS(error_of([&] { records({{"trace", {{"path", f.name()}}}}); }), "--sort");
  const auto rows = records({{"trace", {{"path", f.name()}, {"sort", true}}}});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].prompt_tokens, 2);
  EXPECT_EQ(rows[1].arrival_ns, 3'000'000'000);
}

TEST(Workload, SkippedRowsReachTheWorkload) {
  auto reader = workload({{"trace", {{"path", "burstgpt/BurstGPT_1.head400.csv"}, {"format", "burstgpt"}}}});
  EXPECT_EQ(read_all(*reader).size(), 383u);
  EXPECT_EQ(reader->skipped_rows(), 17);
  EXPECT_CONTAINS(reader->describe(), "burstgpt trace ");
}

TEST(Workload, DescribeNamesTheTransformations) {
  auto reader = workload({{"trace", kConv}, {"max_requests", 3}, {"time_scale", 0.5}});
  EXPECT_CONTAINS(reader->describe(), "vidur-csv trace");
  EXPECT_CONTAINS(reader->describe(), "first 3 requests");
  EXPECT_CONTAINS(reader->describe(), "arrival times x0.5");
}

TEST(Workload, StrictKeys) {
  EXPECT_CONTAINS(error_of([] { workload(json::object()); }), "expected exactly one of 'trace'");
  json both = {{"trace", kConv},
               {"synthetic", {{"num_requests", 1}}}};
  EXPECT_CONTAINS(error_of([&] { workload(both); }), "expected exactly one of 'trace'");
  EXPECT_CONTAINS(error_of([] { workload({{"trace", kConv}, {"time_scal", 2}}); }), "unknown key 'workload.time_scal'");
  json typo = kConv;
  typo["sorted"] = true;
  EXPECT_CONTAINS(error_of([&] { workload({{"trace", typo}}); }), "unknown key 'workload.trace.sorted'");
  EXPECT_CONTAINS(error_of([] { workload({{"trace", kConv}, {"time_scale", 0}}); }),
                  "workload.time_scale: 0 is out of range; expected 1e-06 to 1e+06");
  EXPECT_CONTAINS(error_of([] { workload({{"trace", kConv}, {"max_requests", 0}}); }),
                  "workload.max_requests: 0 is out of range; expected 1 to 1000000000 requests");
  json bad_format = kConv;
  bad_format["format"] = "csv";
  EXPECT_CONTAINS(error_of([&] { workload({{"trace", bad_format}}); }),
                  "workload.trace.format: unknown trace format 'csv'; available: azure-2023, mooncake, llmservingsim, "
                  "burstgpt, vidur-csv, jsonl");
  EXPECT_CONTAINS(error_of([] { workload({{"trace", {{"path", "missing.csv"}, {"format", "jsonl"}}}}); }),
                  "missing.csv: trace file does not exist");
}

}  // namespace
}  // namespace kvsim
