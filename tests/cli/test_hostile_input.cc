// What a hostile or careless user found (issue 15): every number that enters kvsim is finite, in range and an
// integer where it counts; no wrong number exits 0; files, signals and names are handled. One test per finding;
// each failed on the main branch before the fix (exit 0 with a plausible report, a crash, or a message without
// the key or line).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <sys/stat.h>

#include "tests/cli/cli_fixture.h"

namespace {

using namespace cli_testing;  // NOLINT(google-build-using-namespace): the fixture

// A scenario on the first 200 requests of the Azure conversation trace, with `set` overrides.
Result run_with(const std::string& sets, const std::string& out = "hostile-out") {
  nlohmann::json doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  doc["workload"]["max_requests"] = 200;
  const fs::path p = write("hostile.json", doc.dump());
  return kvsim("run -q " + p.string() + " " + sets + " --out " + (scratch() / out).string());
}

void expect_error(const Result& r, int code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_LT(r.err.size(), 5000u);  // a message, not a dump of the input
}

TEST(Hostile, BlockSizeAndModelLengthInRange) {
  expect_error(run_with("--set engine.block_size=9223372036854775807"), 1,
               "engine.block_size: 9223372036854775807 is out of range; expected 1 to 4096");
  expect_error(run_with("--set engine.block_size=1099511627776"), 1, "engine.block_size");
  expect_error(run_with("--set engine.max_model_len=1000000000000"), 1,
               "engine.max_model_len: 1000000000000 is out of range; expected 1 to 131072 tokens (the context of "
               "llama-3.1-8b)");
}

TEST(Hostile, HostMemoryInRange) {
  expect_error(run_with("--set engine.swap_space_GiB=1e10"), 1, "engine.swap_space_GiB: 1e+10 is out of range");
  expect_error(run_with("--set engine.host_kv_GiB=1e300"), 1, "engine.host_kv_GiB: 1e+300 is out of range");
}

TEST(Hostile, AzureTimestampsFarFromTodayAreErrors) {
  for (const char* year : {"2400", "0000", "9999"}) {
    const fs::path f = write(std::string("az-") + year + ".csv",
                             std::string("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n") +
                                 year + "-11-16 18:15:50.7,100,10\n");
    expect_error(kvsim("trace stats --sort " + f.string() + " --format azure-2023"), 1,
                 ":3: TIMESTAMP '" + std::string(year) + "-11-16 18:15:50.7' is not between the years 1970 and 2200");
  }
}

TEST(Hostile, DeeplyNestedScenarioIsAnErrorNotACrash) {
  const fs::path p = write("deep.json", "{\"model\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  expect_error(kvsim("run -q " + p.string() + " --out " + (scratch() / "deep-out").string()), 1,
               "nested more than 64 levels deep");
}

TEST(Hostile, KvSizeAndCostFlagsInRange) {
  expect_error(kvsim("kv-size --model llama-3.1-8b --context 9223372036854775807"), 2,
               "--context: 9223372036854775807 is out of range; expected 1 to 1073741824 tokens");
  expect_error(kvsim("kv-size --model llama-3.1-8b --context 99999999999999999999999"), 2, "is out of range");
  expect_error(kvsim("kv-size --model llama-3.1-8b --context 100 --gpu h100-sxm --gpu-memory-utilization nan"), 2,
               "'nan' is not a finite number");
  expect_error(kvsim("kv-size --model llama-3.1-8b --context 100 --tp 3"), 1,
               "--tp: must divide the 32 attention heads of llama-3.1-8b, got 3");
  expect_error(kvsim("kv-size --model llama-3.1-8b --context 100 --tp 1024"), 1, "--tp: must divide");
  expect_error(kvsim("cost --gpu h100-sxm --op prefill-attention --isl 100 --cached -5 --q-heads 32 --kv-heads 8 "
                     "--head-dim 128"),
               2, "--cached: -5 is out of range");
  expect_error(kvsim("calibrate --holdout nan --aiconfigurator " + std::string(KVSIM_SHARED_DIR) +
                     "/gpu-data/aiconfigurator/h100_sxm --gpu h100-sxm"),
               2, "--holdout: 'nan' is not a finite number");
  // No 309-digit bounds.
  const Result r = kvsim("kv-size --model llama-3.1-8b --context 100 --activation-reserve-GiB -1");
  EXPECT_EQ(r.code, 2);
  EXPECT_LT(r.err.size(), 300u) << r.err;
}

TEST(Hostile, TraceStatsOnHugeLengthsAndEmptyFiles) {
  const fs::path huge = write("huge.jsonl", "{\"arrival_s\": 0, \"prompt_tokens\": 9223372036854775807, "
                                            "\"output_tokens\": 5}\n");
  expect_error(kvsim("trace stats " + huge.string() + " --format jsonl"), 1,
               "huge.jsonl:1: prompt_tokens '9223372036854775807' is out of range; expected at most 1073741824");
  const fs::path empty = write("empty.jsonl", "");
  expect_error(kvsim("trace stats " + empty.string() + " --format jsonl"), 1, "the trace has no requests");
}

TEST(Hostile, NumbersBeyondADoubleNameTheFileAndLine) {
  const fs::path s = write("big-number.json", "{\"model\": \"llama-3.1-8b\",\n \"engine\": {\"max_num_seqs\": 1e999}}");
  expect_error(kvsim("run -q " + s.string()), 1, "big-number.json:2:29: the number 1e999 is beyond the range");
  const fs::path digits = write("many-digits.json", "{\"model\": \"llama-3.1-8b\", \"seed\": 1" +
                                                        std::string(400000, '7') + "e400}");
  const Result r = kvsim("run -q " + digits.string());
  expect_error(r, 1, "many-digits.json:1:");
  const fs::path line = write("big.jsonl", "{\"arrival_s\": 0, \"prompt_tokens\": 1e999, \"output_tokens\": 5}\n");
  expect_error(kvsim("trace stats " + line.string() + " --format jsonl"), 1, "big.jsonl:1: line is not valid JSON");
}

TEST(Hostile, HugeTimesNameTheirKey) {
  nlohmann::json doc = {{"model", "llama-3.1-8b"},
                        {"hardware", {{"gpu", "h100-sxm"}}},
                        {"workload",
                         {{"synthetic",
                           {{"num_requests", 10},
                            {"arrival", {{"process", "poisson"}, {"rate_per_s", 1e-300}}},
                            {"prompt_tokens", {{"dist", "fixed"}, {"value", 10}}},
                            {"output_tokens", {{"dist", "fixed"}, {"value", 10}}}}}}}};
  const fs::path p = write("tiny-rate.json", doc.dump());
  expect_error(kvsim("run -q " + p.string()), 1, "workload.synthetic.arrival.rate_per_s: 1e-300 is out of range");
  doc["workload"]["synthetic"]["arrival"] = {{"process", "gamma"}, {"rate_per_s", 1}, {"cv", 1e200}};
  write("huge-cv.json", doc.dump());
  expect_error(kvsim("run -q " + (scratch() / "huge-cv.json").string()), 1,
               "workload.synthetic.arrival.cv: 1e+200 is out of range");
  expect_error(run_with("--set workload.time_scale=1e308"), 1, "workload.time_scale: 1e+308 is out of range");
  expect_error(run_with("--set cost_model.iteration_overhead_s=1e300"), 1,
               "cost_model.iteration_overhead_s: 1e+300 is out of range");
  const fs::path t = write("late.jsonl", "{\"arrival_s\": 0, \"prompt_tokens\": 10, \"output_tokens\": 5}\n"
                                         "{\"arrival_s\": 1e300, \"prompt_tokens\": 10, \"output_tokens\": 5}\n");
  expect_error(kvsim("trace stats " + t.string() + " --format jsonl"), 1, "late.jsonl:2: arrival_s");
}

TEST(Hostile, FifoTraceIsRefusedNotWaitedOn) {
  const fs::path fifo = scratch() / "trace.fifo";
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_error(kvsim("trace stats " + fifo.string() + " --format jsonl"), 1, "is not a regular file");
  fs::remove(fifo);
}

TEST(Hostile, NulBytesAreEscapedInMessages) {
  const fs::path s = write("nul.json", std::string("{\"model\": \"llama\0-3\", \"x\": 1}", 29));
  const Result r = kvsim("run -q " + s.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.find('\0'), std::string::npos);
  EXPECT_NE(r.err.find("nul.json"), std::string::npos) << r.err;
}

TEST(Hostile, VariantNamesThatCollideOrAreTooLongFailBeforeSimulating) {
  for (const std::string name : {std::string("report.html"), std::string("comparison.json"),
                                 std::string(".kvsim-output"), std::string(300, 'v')}) {
    nlohmann::json doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
    doc["variants"] = {{{"name", "a"}}, {{"name", name}}};
    const fs::path p = write("variants-bad.json", doc.dump());
    const Result r = kvsim("compare -q " + p.string() + " --out " + (scratch() / "variants-bad").string());
    EXPECT_EQ(r.code, 1) << name;
    EXPECT_NE(r.err.find("variants[1]: name"), std::string::npos) << r.err;
  }
}

TEST(Hostile, UnknownKvKeysNameTheSection) {
  expect_error(run_with("--set kv.bogus=1"), 1,
               "unknown key 'kv.bogus' in 'kv'; valid keys are: strategy, overlap_transfers");
  expect_error(run_with("--set kv.strategy=full:x=1"), 1, "in 'kv.strategy.full', which takes no keys");
}

TEST(Hostile, LenientInputsAreNowErrors) {
  const fs::path dup = write("dup.json", "{\"model\": \"llama-3.1-8b\", \"engine\": {\"max_num_seqs\": 4, "
                                         "\"max_num_seqs\": 8}}");
  expect_error(kvsim("run -q " + dup.string()), 1, "key 'engine.max_num_seqs' is given twice");
  expect_error(run_with("--set kv.strategy=snapkv:budget_tokens=1024,budget_tokens=2048"), 1,
               "parameter 'budget_tokens' is given twice");
  expect_error(run_with("--set 'kv.strategy=[]'"), 1, "kv.strategy: an empty list");
  expect_error(run_with("--set engine.max_num_seqs=null"), 1, "engine.max_num_seqs: null is not a value here");
  expect_error(run_with("--set engine.max_num_seqs=1e3"), 1, "engine.max_num_seqs: expected an integer");
  expect_error(run_with("--set engine.max_num_seqs=1000.0"), 1, "engine.max_num_seqs: expected an integer");
  expect_error(kvsim("run -q " + write("any.json", "{}").string() + " --out ''"), 2, "--out: an empty path");
  const std::string bg = slurp(std::string(KVSIM_SHARED_DIR) + "/traces/burstgpt/BurstGPT_1.head400.csv");
  // A last line cut short: in its last field, or in the total.
  const fs::path cut = write("burst-cut.csv", bg.substr(0, bg.find('\n', 200)) + "\n1234,ChatGPT,472,18,490,Conversation l");
  expect_error(kvsim("trace stats " + cut.string() + " --format burstgpt"), 1,
               "Log Type 'Conversation l' is not a log type");
  const fs::path total = write("burst-total.csv", bg.substr(0, bg.find('\n', 200)) + "\n1234,ChatGPT,472,18,4,API log");
  expect_error(kvsim("trace stats " + total.string() + " --format burstgpt"), 1,
               "Total tokens 4 is not Request tokens + Response tokens (490)");
  expect_error(kvsim("cost --gpu a100-sxm-80gb --backend measured --aiconfigurator " + std::string(KVSIM_SHARED_DIR) +
                     "/gpu-data/aiconfigurator/h100_sxm --op gemm --m 16 --n 4096 --k 4096"),
               1, "h100_sxm holds aiconfigurator's measurements of 'h100-sxm', but the GPU is 'a100-sxm-80gb'");
}

// Found by fuzz_strategy_spec: a parameter that is neither JSON nor UTF-8, of the wrong type.
TEST(Hostile, InvalidUtf8ParameterIsAnInputError) {
  expect_error(kvsim("kv-size --model llama-3.1-8b --context 100 --strategy "
                     "\"$(printf 'character-ai:local_share_layers=3\\236')\""),
               1, "local_share_layers: expected");
}

TEST(Hostile, ExitCodesAndVersion) {
  Result r = kvsim("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("kvsim 0.1.0 (git ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(" build)"), std::string::npos) << r.out;
  EXPECT_EQ(kvsim("--help").code, 0);
  // Output that cannot be written (a full disk) is an error, never a silent exit 0.
  for (const char* args : {" list models", " --version"}) {
    const int status = std::system((std::string(KVSIM_BIN) + args + " >/dev/full 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(status), 1) << args;
  }
  EXPECT_EQ(kvsim("no-such-command").code, 2);
  EXPECT_EQ(kvsim("run --no-such-flag x.json").code, 2);
  EXPECT_EQ(kvsim("run").code, 2);                                  // a required argument missing
  EXPECT_EQ(run_with("--set engine.block_size=0").code, 1);          // bad input
  EXPECT_EQ(kvsim("kv-size --model no-such-model --context 10").code, 1);
  // Every run says which build and inputs made it.
  ASSERT_EQ(run_with("", "hostile-provenance").code, 0);
  const auto results = nlohmann::json::parse(slurp(scratch() / "hostile-provenance" / "results.json"));
  EXPECT_FALSE(results["build"]["git_commit"].get<std::string>().empty());
  ASSERT_EQ(results["inputs"].size(), 1u) << results["inputs"].dump();
  EXPECT_EQ(results["inputs"][0]["key"], "workload.trace.path");
  EXPECT_EQ(results["inputs"][0]["sha256"].get<std::string>().size(), 64u);
}

TEST(Hostile, LatenciesPrintInReadableUnits) {
  nlohmann::json doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  doc["workload"]["max_requests"] = 3000;
  doc["workload"]["time_scale"] = 0.01;  // 100x the rate: hours of queueing
  const fs::path p = write("slow.json", doc.dump());
  const Result r = kvsim("run " + p.string() + " --out " + (scratch() / "slow-out").string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ttft = r.out.find("TTFT       p50 ");
  ASSERT_NE(ttft, std::string::npos) << r.out;
  const std::string line = r.out.substr(ttft, r.out.find('\n', ttft) - ttft);
  EXPECT_EQ(line.find(" ms"), std::string::npos) << line;  // seconds or minutes, not 9944000.0 ms
}

// SIGTERM and SIGINT during a run: exit 143 / 130 and no staging directory left; a stale staging directory of a
// process that is gone is removed by the next run.
TEST(Hostile, SignalsLeaveNoStagingDirectory) {
  nlohmann::json doc = {{"model", "llama-3.1-8b"},
                        {"hardware", {{"gpu", "h100-sxm"}}},
                        {"workload",
                         {{"synthetic",
                           {{"num_requests", 3000000},
                            {"arrival", {{"process", "poisson"}, {"rate_per_s", 100}}},
                            {"prompt_tokens", {{"dist", "fixed"}, {"value", 100}}},
                            {"output_tokens", {{"dist", "fixed"}, {"value", 20}}}}}}}};
  const fs::path p = write("long-run.json", doc.dump());
  for (const auto& [signal, code] : {std::pair{"TERM", 143}, std::pair{"INT", 130}}) {
    const fs::path out = scratch() / (std::string("signal-out-") + signal);
    fs::remove_all(out);
    const std::string script = std::string(KVSIM_BIN) + " run -q " + p.string() + " --out " + out.string() +
                               " 2>/dev/null & pid=$!; sleep 1; kill -" + signal + " $pid; wait $pid; exit $?";
    const int status = std::system(("bash -c '" + script + "'").c_str());
    EXPECT_EQ(WEXITSTATUS(status), code) << signal;
    for (const auto& e : fs::directory_iterator(scratch())) {
      EXPECT_EQ(e.path().filename().string().find(out.filename().string() + ".tmp-"), std::string::npos)
          << e.path();
    }
  }
  // A staging directory of a process that no longer runs (pid 999999 > pid_max by default: never alive).
  const fs::path stale = scratch() / "stale-out.tmp-999999";
  fs::create_directories(stale);
  write("stale-out.tmp-999999/.kvsim-output", "x");
  ASSERT_EQ(run_with("", "stale-out").code, 0);
  EXPECT_FALSE(fs::exists(stale));
}

}  // namespace
