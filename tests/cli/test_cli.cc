// The kvsim command line on good and bad input: exit codes, messages that name the file/line/key and list what
// is valid, atomic output directories.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_fixture.h"

namespace {

using namespace cli_testing;  // NOLINT(google-build-using-namespace): the fixture

TEST(Cli, HelpForEverySubcommand) {
  for (const std::string sub : {"", "run", "demo", "compare", "kv-size", "list", "trace stats"}) {
    const Result r = kvsim(sub + " --help");
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << r.out;
  }
}

TEST(Cli, DemoComparesStrategiesInOneDirectory) {
  const fs::path top = scratch() / "demo";
  fs::remove_all(top);
  const Result r = kvsim("demo --quiet --out " + top.string() + " --set workload.synthetic.duration_s=10");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"comparison.json", "comparison.csv", "report.html"}) EXPECT_TRUE(fs::exists(top / f)) << f;
  const auto comparison = nlohmann::json::parse(slurp(top / "comparison.json"));
  ASSERT_GE(comparison["variants"].size(), 6u);
  for (const auto& v : comparison["variants"]) {
    for (const char* f : {"results.json", "requests.csv", "timeline.csv", "scenario.json", "report.html"}) {
      EXPECT_TRUE(fs::exists(top / v["dir"].get<std::string>() / f)) << f;
    }
  }
  const fs::path out = top / "full";
  const auto results = nlohmann::json::parse(slurp(out / "results.json"));
  for (const char* k : {"ttft_s", "tpot_s", "itl_s", "e2e_s", "queue_s"}) {
    for (const char* q : {"mean", "p50", "p90", "p99", "max"}) EXPECT_TRUE(results["summary"][k].contains(q)) << k << q;
  }
  EXPECT_TRUE(results["summary"]["kv"].contains("capacity_tokens"));
  EXPECT_TRUE(results["summary"]["prefix_cache"].contains("hit_rate"));
  EXPECT_EQ(results["kvsim_version"], "0.1.0");
  const auto arrived = results["summary"]["requests"]["arrived"].get<long long>();
  // requests.csv has a header and one row per arrived request.
  std::ifstream csv(out / "requests.csv");
  long long lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, arrived + 1);
  // No staging directories are left behind.
  for (const auto& e : fs::directory_iterator(scratch())) {
    EXPECT_EQ(e.path().filename().string().find("demo.tmp"), std::string::npos);
  }
  // Each variant's scenario.json reruns on its own.
  const Result again = kvsim("run --quiet " + (out / "scenario.json").string() + " --out " +
                             (scratch() / "demo-rerun").string());
  EXPECT_EQ(again.code, 0) << again.err;
}

TEST(Cli, TopologyPricesATransferOnItsPath) {
  Result r = kvsim("topology dgx-h100 --from gpu0 --to gpu3 --bytes 450e9 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hops"].size(), 2u);  // through the NVSwitch
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 2e-6 + 1.0);
  r = kvsim("topology dgx-h100 --from gpu0 --to gpu42");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("gpu42"), std::string::npos) << r.err;
  r = kvsim("topology --list");
  EXPECT_NE(r.out.find("l40s-8x-pcie"), std::string::npos);
}

TEST(Cli, KvSizeComputesBytesAndConcurrency) {
  Result r = kvsim("kv-size --model llama-3.1-8b --strategy full --context 32768 --gpu h100-sxm --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bytes_per_token"], 131072.0);
  EXPECT_EQ(j["bytes_per_request"], 32768.0 * 131072);
  EXPECT_GT(j["max_concurrent_requests"].get<int>(), 10);
  EXPECT_TRUE(j.contains("decode_bytes_per_step"));
  r = kvsim("kv-size --model mistral-7b --context 32768 --json");
  EXPECT_EQ(nlohmann::json::parse(r.out)["bytes_per_request"], 4096.0 * 131072);  // 8x smaller
  r = kvsim("kv-size --model llama-3.1-8b --strategy snapkv:budget=3 --context 100");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("budget_tokens"), std::string::npos) << r.err;
  r = kvsim("kv-size --model llama-3.1-8b --strategy magic --context 100");
  EXPECT_NE(r.err.find("kivi-2"), std::string::npos) << r.err;
}

TEST(Cli, KvSizeSizesShadowKvsBatchComparisonLikeThePaper) {
  // ShadowKV's e2e.py keeps the whole batch's KV on an A100-80GB beside the weights, no engine reserve: at 122K
  // tokens (124,928) full attention fits 4 requests, as the paper's baseline. KV memory 80 GiB - 8.03e9 x 2 B of
  // weights = 69,839,355,904 B; full: 7808 pages x 2 MiB = 16,374,562,816 B per request -> 4. ShadowKV per layer:
  // 7808 pages x 16 x (320 B of U row + 256 B of landmark) + 327,680 B of SV basis + 2 x 2592 x 2048 B of static
  // buffers -> 2,652,897,280 B per request -> 26 (the paper runs 24).
  const std::string sizing =
      " --context 124928 --gpu a100-sxm-80gb --gpu-memory-utilization 1 --activation-reserve-GiB 0 --json";
  Result r = kvsim("kv-size --model llama-3.1-8b --strategy full" + sizing);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kv_capacity_bytes"], 85899345920.0 - 16059990016.0);
  EXPECT_EQ(j["bytes_per_request"], 16374562816.0);
  EXPECT_EQ(j["max_concurrent_requests"], 4);
  r = kvsim("kv-size --model llama-3.1-8b --strategy shadowkv" + sizing);
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bytes_per_request"], 7808.0 * 16 * 576 * 32 + 32 * (327680.0 + 2 * 2592 * 2048));
  EXPECT_EQ(j["max_concurrent_requests"], 26);
  // kvsim run's defaults (util 0.9, the activation estimate) give 3 and 22 instead.
  r = kvsim("kv-size --model llama-3.1-8b --strategy full --context 124928 --gpu a100-sxm-80gb --json");
  EXPECT_EQ(nlohmann::json::parse(r.out)["max_concurrent_requests"], 3);
  // A one-step prefill must fit the step, as kvsim run requires.
  r = kvsim("kv-size --model llama-3.1-8b --strategy snapkv --context 20000 --no-chunked-prefill");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--max-num-batched-tokens"), std::string::npos) << r.err;
}

TEST(Cli, CapacityFindsTheHighestRateMeetingTheSlos) {
  auto doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  doc["workload"]["max_requests"] = 300;
  const fs::path p = write("capacity.json", doc.dump());
  const fs::path out = scratch() / "capacity-out";
  fs::remove_all(out);
  Result r = kvsim("capacity --quiet " + p.string() + " --slo ttft_p99_s=2,tpot_p99_s=0.05 --tolerance 0.05 "
                   "--target-rate 100 --jobs 1 --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = nlohmann::json::parse(std::ifstream(out / "capacity.json"));
  ASSERT_EQ(c["variants"].size(), 1u);
  const auto& v = c["variants"][0];
  EXPECT_EQ(v["name"], "base");
  EXPECT_GT(v["max_rate_per_s"].get<double>(), 0);
  EXPECT_TRUE(v["at_max"]["passes"].get<bool>());
  EXPECT_GE(v["for_target_rate"]["copies_of_this_deployment"].get<double>(),
            100 / v["max_rate_per_s"].get<double>());
  EXPECT_EQ(c["slo"]["ttft_p99_s"], 2.0);
  EXPECT_TRUE(fs::exists(out / "report.html"));
  EXPECT_EQ(c["workers"], 1);  // --jobs 1 (the default is every core)
  EXPECT_EQ(c["simulations"], v["probes"].size());
  // Three threads probe ahead of the bisection: the same path and answer, more simulations.
  const fs::path out3 = scratch() / "capacity-out3";
  fs::remove_all(out3);
  r = kvsim("capacity --quiet " + p.string() + " --slo ttft_p99_s=2,tpot_p99_s=0.05 --tolerance 0.05 "
            "--target-rate 100 --jobs 3 --out " + out3.string());
  ASSERT_EQ(r.code, 0) << r.err;
  auto c3 = nlohmann::json::parse(std::ifstream(out3 / "capacity.json"));
  EXPECT_EQ(c3["workers"], 3);
  EXPECT_GT(c3["simulations"].get<int>(), c["simulations"].get<int>());
  auto same = c;
  for (auto* j : {&same, &c3}) {
    for (const char* k : {"workers", "simulations", "wall_time_s"}) j->erase(k);
  }
  EXPECT_EQ(c3, same);
  r = kvsim("capacity --quiet " + p.string() + " --slo ttft_p99_s=fast --out " + out.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'fast' is not a number"), std::string::npos) << r.err;
  r = kvsim("capacity --quiet " + p.string() + " --slo ttft_p95_s=2 --out " + out.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("slo.ttft_p95_s"), std::string::npos) << r.err;
  r = kvsim("capacity --quiet " + p.string() + " --out " + out.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("needs SLOs"), std::string::npos) << r.err;
}

// Request classes: requests.csv ends with each request's class, the summary prints a line per class, and
// capacity judges by every class's SLO when the scenario has no SLO of its own.
TEST(Cli, RequestClassesInTheOutputsAndTheCapacitySearch) {
  auto doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  doc["workload"]["max_requests"] = 300;
  doc["workload"]["classes"] = {{{"name", "chat"}, {"share", 0.5}, {"slo", {{"ttft_p99_s", 2}}}},
                                {{"name", "batch"}, {"share", 0.5}, {"priority", 1}}};
  doc["engine"]["scheduler"] = "priority";
  const fs::path p = write("classes.json", doc.dump());
  const fs::path out = scratch() / "classes-out";
  fs::remove_all(out);
  Result r = kvsim("run " + p.string() + " --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("class      chat: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("class      batch: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SLO none"), std::string::npos) << r.out;  // batch has none
  std::ifstream csv(out / "requests.csv");
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header.substr(header.size() - 6), ",class");
  std::map<std::string, int> per_class;
  while (std::getline(csv, line)) per_class[line.substr(line.rfind(',') + 1)]++;
  const auto results = nlohmann::json::parse(std::ifstream(out / "results.json"));
  EXPECT_EQ(per_class["chat"], results["summary"]["classes"]["chat"]["requests_counted"].get<int>());
  EXPECT_EQ(per_class["batch"], results["summary"]["classes"]["batch"]["requests_counted"].get<int>());
  EXPECT_EQ(per_class["chat"] + per_class["batch"], 300);
  const fs::path cap = scratch() / "classes-capacity";
  fs::remove_all(cap);
  r = kvsim("capacity --quiet " + p.string() + " --tolerance 0.1 --jobs 1 --out " + cap.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = nlohmann::json::parse(std::ifstream(cap / "capacity.json"));
  const auto& v = c["variants"][0];
  EXPECT_TRUE(v["at_max"]["passes"].get<bool>());
  bool some_fail = false;  // the chat class's TTFT bounds the search
  for (const auto& probe : v["probes"]) some_fail = some_fail || !probe["passes"].get<bool>();
  EXPECT_TRUE(some_fail) << v.dump();
}

// --trace-events: a Chrome/Perfetto trace that loads as JSON, one iteration slice per engine step with its batch and
// per-op times, each completed request an async slice with its nested phases; none left behind by a failed run.
TEST(Cli, TraceEventsLoadAsJsonWithTheirStructure) {
  auto doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  doc["workload"]["max_requests"] = 300;
  const fs::path p = write("trace-events.json", doc.dump());
  const fs::path trace = scratch() / "events" / "run.trace.json";
  fs::remove_all(trace.parent_path());
  Result r = kvsim("run -q " + p.string() + " --out " + (scratch() / "trace-events-out").string() +
                   " --trace-events " + trace.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto results = nlohmann::json::parse(std::ifstream(scratch() / "trace-events-out" / "results.json"));
  const auto t = nlohmann::json::parse(std::ifstream(trace));
  ASSERT_TRUE(t["traceEvents"].is_array());
  long long iterations = 0, begins = 0, ends = 0, requests = 0;
  bool named = false, decode_op = false;
  double last_end = 0;
  for (const auto& e : t["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "M" && e["name"] == "process_name") named = named || e["args"]["name"] == "replica 0";
    if (ph == "X") {
      ++iterations;
      EXPECT_EQ(e["name"], "iteration");
      EXPECT_GE(e["ts"].get<double>(), last_end - 1e-3);  // one replica: steps follow one another
      last_end = e["ts"].get<double>() + e["dur"].get<double>();
      EXPECT_GT(e["args"]["tokens"].get<long long>(), 0);
      decode_op = decode_op || e["args"]["ops_ms"].contains("attention.decode");
    }
    if (ph == "b") ++begins;
    if (ph == "e") ++ends;
    if (ph == "b" && e["name"] == "request") ++requests;
  }
  EXPECT_TRUE(named);
  EXPECT_TRUE(decode_op);
  EXPECT_EQ(iterations, results["summary"]["iterations"].get<long long>());
  EXPECT_EQ(requests, results["summary"]["requests"]["completed"].get<long long>());
  EXPECT_EQ(begins, ends);
  EXPECT_EQ(begins, 3 * requests);  // request, queued, to first token
  // A run that fails while simulating (a bad trace line read after the trace file was opened) leaves no trace file,
  // nor its temporary.
  const fs::path bad = write("trace-events-bad.jsonl", "{\"arrival_s\": 0, \"prompt_tokens\": 10, \"output_tokens\": 5}\n"
                                                       "{\"arrival_s\": 1, \"prompt_tokens\": -3, \"output_tokens\": 5}\n");
  const fs::path failed = scratch() / "events" / "failed.trace.json";
  r = kvsim("run -q " + p.string() + " --set workload.trace.path=" + bad.string() +
            " --set workload.trace.format=jsonl --trace-events " + failed.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("trace-events-bad.jsonl:2"), std::string::npos) << r.err;
  for (const auto& e : fs::directory_iterator(trace.parent_path())) {
    EXPECT_EQ(e.path().filename().string().find("failed.trace.json"), std::string::npos) << e.path();
  }
}

TEST(Cli, SweepRunsEveryPointOnAnyNumberOfThreadsAndResumes) {
  auto base = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  base["workload"]["max_requests"] = 300;
  base["slo"] = {{"ttft_p99_s", 2}};
  write("sweep-base.json", base.dump());
  const nlohmann::json sweep = {
      {"scenario", "sweep-base.json"},
      {"grid", {{"engine.max_num_seqs", {16, 64}}, {"kv.strategy", {"full", "fp8", "kivi-2"}}}},
      {"points", {{{"kv.strategy", "snapkv:budget_tokens=512"}}}}};
  const fs::path p = write("sweep.json", sweep.dump());
  const fs::path one = scratch() / "sweep-1", two = scratch() / "sweep-2";
  fs::remove_all(one);
  fs::remove_all(two);
  Result r = kvsim("sweep " + p.string() + " --jobs 1 --out " + one.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("7 points: 7 run now"), std::string::npos) << r.out;
  r = kvsim("sweep --quiet " + p.string() + " --jobs 2 --out " + two.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string csv = slurp(one / "sweep.csv");
  EXPECT_EQ(csv, slurp(two / "sweep.csv"));  // the same rows whatever the threads
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 8);  // header + 7 points
  EXPECT_NE(csv.find("point,engine.max_num_seqs,kv.strategy,completed"), std::string::npos);
  EXPECT_NE(csv.find("\n0,16,full,300,"), std::string::npos) << csv;  // the last grid key varies fastest
  EXPECT_NE(csv.find("\n6,,snapkv:budget_tokens=512,"), std::string::npos) << csv;
  EXPECT_TRUE(fs::exists(one / "report.html"));
  // Resumed: nothing is run again; one lost point is run alone, with the same table.
  r = kvsim("sweep " + p.string() + " --out " + one.string());
  EXPECT_NE(r.out.find("0 run now"), std::string::npos) << r.out;
  fs::remove(one / "points" / "3.json");
  r = kvsim("sweep " + p.string() + " --out " + one.string());
  EXPECT_NE(r.out.find("1 run now"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(one / "sweep.csv"), csv);
  // A folder of another sweep, or of anything else, is not written into.
  auto other = sweep;
  other["grid"]["engine.max_num_seqs"] = {16, 32};
  r = kvsim("sweep --quiet " + write("sweep-other.json", other.dump()).string() + " --out " + one.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("holds another sweep"), std::string::npos) << r.err;
  // Bad sweeps are named.
  const auto bad = [&](const nlohmann::json& doc, const std::string& want) {
    const Result b = kvsim("sweep --quiet " + write("sweep-bad.json", doc.dump()).string() + " --out " +
                           (scratch() / "sweep-bad").string());
    EXPECT_EQ(b.code, 1) << want;
    EXPECT_NE(b.err.find(want), std::string::npos) << b.err;
  };
  bad({{"scenario", "sweep-base.json"}, {"grid", {{"engine.max_num_seqs", nlohmann::json::array()}}}},
      "grid.engine.max_num_seqs: expected a non-empty list");
  bad({{"scenario", "sweep-base.json"}, {"grid", {{"engine.max_num_seqs", 64}}}}, "expected a non-empty list");
  bad({{"scenario", "sweep-base.json"}}, "no points");
  bad({{"scenario", "sweep-base.json"}, {"grid", {{"kv.strategy", {"full"}}}}, {"jobs", 2}}, "jobs");
  bad({{"scenario", "sweep-base.json"}, {"grid", {{"engine.max_num_seqs", {64, "many"}}}}},
      "point 1 ({\"engine.max_num_seqs\":\"many\"})");
}

TEST(Cli, PlanTakesAScenarioWithSlosOnTheCommandLine) {
  auto doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  doc["workload"]["max_requests"] = 100;
  const fs::path p = write("plan-scenario.json", doc.dump());
  const fs::path out = scratch() / "plan-out";
  fs::remove_all(out);
  Result r = kvsim("plan --quiet " + p.string() + " --slo ttft_p99_s=5,tpot_p99_s=0.1 --max-gpus 1 --jobs 2 --out " +
                   out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(std::ifstream(out / "plan.json"));
  EXPECT_EQ(j["max_gpus"], 1);
  // One GPU: TP 1, PP 1, one replica; 3 max_num_seqs x 2 token budgets x 3 KV; then the best 4 with prefix caching
  // and with a host tier too (one replica: no P/D split).
  EXPECT_EQ(j["simulated"], 18 + 8);
  EXPECT_EQ(j["second_stage"]["simulated"], 8);
  EXPECT_EQ(j["second_stage"]["seeds"].size(), 4u);
  EXPECT_EQ(j["candidates"].get<int>(), 26 + j["pruned_gpus"].get<int>() + j["pruned_invalid"].get<int>());
  ASSERT_TRUE(j["answer"].is_number());
  EXPECT_TRUE(j["configs"][j["answer"].get<std::size_t>()]["feasible"].get<bool>());
  EXPECT_TRUE(fs::exists(out / "plan.csv"));
  EXPECT_TRUE(fs::exists(out / "report.html"));
}

TEST(Cli, CompareRunsVariantsOfAScenarioFile) {
  auto doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  doc["workload"]["max_requests"] = 200;
  doc["variants"] = nlohmann::json::parse(R"([{"name": "base"}, {"name": "fp8", "kv": {"strategy": "fp8"}}])");
  const fs::path p = write("compare.json", doc.dump());
  const fs::path out = scratch() / "compare-out";
  fs::remove_all(out);
  Result r = kvsim("compare --quiet " + p.string() + " --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "fp8" / "results.json"));
  r = kvsim("run --quiet " + p.string() + " --out " + (scratch() / "compare-run").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--variant"), std::string::npos) << r.err;
  fs::remove_all(scratch() / "compare-run");
  r = kvsim("run --quiet --variant fp8 " + p.string() + " --out " + (scratch() / "compare-run").string());
  EXPECT_EQ(r.code, 0) << r.err;
  doc["variants"][1]["kv"]["strategy"] = "fp9";
  r = kvsim("compare --quiet " + write("compare_bad.json", doc.dump()).string() + " --out " +
            (scratch() / "compare-bad").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("variant 'fp8'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(scratch() / "compare-bad"));
}

TEST(Cli, ListsCatalogsAndRegistries) {
  Result r = kvsim("list models");
  EXPECT_EQ(r.code, 0);
  for (const char* m : {"llama-3.1-8b", "deepseek-v3", "gemma-3-27b", "mixtral-8x7b"}) {
    EXPECT_NE(r.out.find(m), std::string::npos) << m;
  }
  r = kvsim("list gpus --json");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 7u);
  r = kvsim("list eviction-policies");
  EXPECT_EQ(r.code, 0);
  for (const char* name : {"lru", "lru-access", "lfu", "lru-k", "arc", "s3fifo", "cost-aware"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  }
  r = kvsim("list schedulers");
  EXPECT_NE(r.out.find("prefill-first"), std::string::npos);
  r = kvsim("list trace-formats");
  EXPECT_NE(r.out.find("mooncake"), std::string::npos);
  r = kvsim("list weight-formats --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto formats = nlohmann::json::parse(r.out);
  std::vector<std::string> names;
  for (const auto& f : formats) {
    names.push_back(f["name"]);
    EXPECT_FALSE(f["reported_quality"].get<std::string>().empty()) << f["name"];
    EXPECT_FALSE(f["citation"].get<std::string>().empty()) << f["name"];
  }
  EXPECT_EQ(names, (std::vector<std::string>{"bf16", "fp8", "int4-awq", "dfloat11"}));
  r = kvsim("list widgets");
  EXPECT_NE(r.code, 0);
}

TEST(Cli, TraceStatsOnARealTrace) {
  const Result r = kvsim("trace stats --json " + kAzure);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["requests"], 19366);
  EXPECT_EQ(j["format"], "azure-2023");
}

TEST(Cli, MalformedJsonNamesLineAndColumn) {
  const fs::path p = write("bad.json", "{\n  \"model\": \"llama-3.1-8b\",\n  \"seed\": 1,,\n}\n");
  const Result r = kvsim("run " + p.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.json:3:"), std::string::npos) << r.err;
}

TEST(Cli, UnknownKeyListsValidKeys) {
  auto doc = nlohmann::json::parse(scenario_with_trace(kAzure, "azure-2023"));
  doc["engine"] = {{"max_batch", 3}};
  const Result r = kvsim("run " + write("unknown_key.json", doc.dump()).string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("engine.max_batch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("max_num_batched_tokens"), std::string::npos) << r.err;
}

TEST(Cli, UnknownNamesListAvailableOnes) {
  const fs::path p = write("names.json", scenario_with_trace(kAzure, "azure-2023"));
  Result r = kvsim("run " + p.string() + " --set model=gpt-5");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("llama-3.1-70b"), std::string::npos) << r.err;
  r = kvsim("run " + p.string() + " --set hardware.gpu=tpu");
  EXPECT_NE(r.err.find("h200-sxm"), std::string::npos) << r.err;
  r = kvsim("run " + p.string() + " --set engine.scheduler=lottery");
  EXPECT_NE(r.err.find("vllm-v1"), std::string::npos) << r.err;
  r = kvsim("run " + p.string() + " --set workload.trace.format=parquet");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("mooncake"), std::string::npos) << r.err;
}

TEST(Cli, WeightsThatDoNotFitAreAnError) {
  const fs::path p = write("big.json", scenario_with_trace(kAzure, "azure-2023"));
  const Result r = kvsim("run " + p.string() + " --set model=llama-3.1-70b");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("does not fit"), std::string::npos) << r.err;
}

TEST(Cli, BadTraceRowsNameFileAndLine) {
  const std::string header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  const std::string ok = "2023-11-16 18:15:46.6805900,374,44\n";
  const struct {
    const char* name;
    std::string row;
  } cases[] = {{"missing", "2023-11-16 18:15:47.0000000,374\n"},
               {"negative", "2023-11-16 18:15:47.0000000,-5,44\n"},
               {"text", "2023-11-16 18:15:47.0000000,abc,44\n"}};
  for (const auto& c : cases) {
    const fs::path trace = write(std::string("trace_") + c.name + ".csv", header + ok + c.row);
    const fs::path p = write(std::string("s_") + c.name + ".json", scenario_with_trace(trace.string(), "azure-2023"));
    const fs::path out = scratch() / (std::string("out_") + c.name);
    fs::remove_all(out);
    const Result r = kvsim("run " + p.string() + " --out " + out.string());
    EXPECT_EQ(r.code, 1) << c.name;
    EXPECT_NE(r.err.find(trace.filename().string() + ":3"), std::string::npos) << c.name << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << "no half-written output for " << c.name;
  }
}

TEST(Cli, NonMonotonicTimestampsNeedSort) {
  const fs::path trace = write("unsorted.csv",
                               "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                               "2023-11-16 18:15:50.0000000,100,10\n"
                               "2023-11-16 18:15:46.0000000,200,10\n");
  const fs::path p = write("unsorted.json", scenario_with_trace(trace.string(), "azure-2023"));
  fs::remove_all(scratch() / "unsorted-out");
  Result r = kvsim("run --quiet " + p.string() + " --out " + (scratch() / "unsorted-out").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--sort"), std::string::npos) << r.err;
  r = kvsim("run --quiet --sort " + p.string() + " --out " + (scratch() / "unsorted-out").string());
  EXPECT_EQ(r.code, 0) << r.err;
  const auto results = nlohmann::json::parse(slurp(scratch() / "unsorted-out" / "results.json"));
  EXPECT_EQ(results["summary"]["requests"]["completed"], 2);
}

TEST(Cli, OutNeverReplacesAUsersFolder) {
  const fs::path mine = scratch() / "users-folder";
  fs::remove_all(mine);
  fs::create_directories(mine);
  std::ofstream(mine / "notes.txt") << "keep me";
  const Result r = kvsim("demo --quiet --out " + mine.string() + " --set workload.synthetic.duration_s=2");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not written by kvsim"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(mine / "notes.txt"), "keep me");
}

TEST(Cli, FailedRunKeepsThePreviousOutput) {
  const std::string header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  const std::string rows = "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:47.0000000,100,10\n";
  const fs::path good = write("keep_good.csv", header + rows);
  const fs::path bad = write("keep_bad.csv", header + rows + "2023-11-16 18:15:48.0000000,100,oops\n");
  const fs::path out = scratch() / "keep";
  fs::remove_all(out);
  const fs::path sg = write("keep_good.json", scenario_with_trace(good.string(), "azure-2023"));
  const fs::path sb = write("keep_bad.json", scenario_with_trace(bad.string(), "azure-2023"));
  ASSERT_EQ(kvsim("run --quiet " + sg.string() + " --out " + out.string()).code, 0);
  const std::string before = slurp(out / "results.json");
  const Result r = kvsim("run --quiet " + sb.string() + " --out " + out.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("keep_bad.csv:4"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(out / "results.json"), before);
  for (const auto& e : fs::directory_iterator(scratch())) {
    EXPECT_EQ(e.path().filename().string().find("keep.tmp"), std::string::npos);
  }
}

TEST(Cli, CostPricesKiviDecodeByItsDequantization) {
  const std::string shape =
      "cost --gpu h100-sxm --op decode-attention --batch 64 --kv-len 32768 --q-heads 32 --kv-heads 8 --head-dim 128 "
      "--json --kv-dtype ";
  const Result bf16 = kvsim(shape + "bf16"), int4 = kvsim(shape + "int4");
  ASSERT_EQ(bf16.code, 0) << bf16.err;
  ASSERT_EQ(int4.code, 0) << int4.err;
  const nlohmann::json a = nlohmann::json::parse(bf16.out), b = nlohmann::json::parse(int4.out);
  EXPECT_EQ(a["bound"], "memory");
  EXPECT_EQ(b["bound"], "compute");  // the CUDA cores' dequantization, not the 4x fewer bytes, sets the time
  EXPECT_EQ(b["source"], "roofline");
  EXPECT_GT(b["seconds"].get<double>(), 2.0 * b["bytes"].get<double>() / 3350e9);
  EXPECT_LT(b["seconds"].get<double>(), a["seconds"].get<double>());
}

TEST(Cli, CalibrateReportsEveryBackendOnTheHeldOutPoints) {
  const fs::path out = scratch() / "calibrate";
  fs::remove_all(out);
  const std::string profile = std::string(KVSIM_SOURCE_DIR) + "/models/profiles/h100-sxm-kvsim-kernels.json";
  const Result r = kvsim("calibrate --gpu h100-sxm --profile " + profile + " --json --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  std::map<std::string, double> median;
  std::size_t points = 0;
  for (const auto& a : report["accuracy"]) {
    EXPECT_EQ(a["family"], "decode_attention");  // the profile measures decode attention only
    median[a["backend"].get<std::string>()] = a["median_abs_rel_error"].get<double>();
    points = a["points"].get<std::size_t>();
  }
  ASSERT_EQ(median.size(), 4u);
  EXPECT_LT(median["calibrated"], median["roofline"]);
  ASSERT_EQ(report["held_out_points"].size(), points);
  for (const auto& p : report["held_out_points"]) {
    EXPECT_GT(p["measured_s"].get<double>(), 0);
    EXPECT_EQ(p["predicted_s"].size(), 4u);
  }
  EXPECT_EQ(nlohmann::json::parse(slurp(out / "accuracy.json")), report);
  EXPECT_EQ(nlohmann::json::parse(slurp(out / "calibration.json"))["schema"], "kvsim-calibration-4");
  EXPECT_NE(slurp(out / "report.html").find("Worst held-out points"), std::string::npos);

  const Result missing = kvsim("calibrate --gpu h100-sxm --profile " + (scratch() / "no-such.json").string());
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("no-such.json"), std::string::npos) << missing.err;
}

}  // namespace

namespace {

TEST(Cli, ValidateAgainstItsOwnRequestsGivesZeroError) {
  // A run compared with its own requests.csv: every statistic agrees exactly; the report shows the comparison.
  const std::string header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  std::string rows;
  for (int i = 0; i < 40; ++i) {
    rows += "2023-11-16 18:15:" + std::to_string(10 + i) + ".0000000," + std::to_string(200 + 37 * i) + "," +
            std::to_string(5 + 11 * (i % 7)) + "\n";
  }
  const fs::path trace = write("validate_trace.csv", header + rows);
  const fs::path scenario = write("validate.json", scenario_with_trace(trace.string(), "azure-2023"));
  const fs::path run = scratch() / "validate-run", checked = scratch() / "validate-check";
  ASSERT_EQ(kvsim("run -q " + scenario.string() + " --out " + run.string()).code, 0);
  const Result r = kvsim("validate " + scenario.string() + " --measured " + (run / "requests.csv").string() +
                         " --format kvsim --out " + checked.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ttft_s p99"), std::string::npos) << r.out;
  const nlohmann::json v = nlohmann::json::parse(slurp(checked / "results.json"))["validation"];
  EXPECT_EQ(v["requests"]["measured"], 40);
  int cells = 0;
  for (const auto& [metric, stats] : v["metrics"].items()) {
    for (const auto& [stat, c] : stats.items()) {
      EXPECT_EQ(c["error"], 0.0) << metric << " " << stat;
      ++cells;
    }
  }
  EXPECT_EQ(cells, 16);  // TTFT, TPOT, E2E and queue: mean, p50, p90, p99
  EXPECT_EQ(v["throughput"]["requests_per_s"]["error"], 0.0);
  EXPECT_NE(slurp(checked / "report.html").find("Against the measured run"), std::string::npos);
  // A measured file with a missing column is an error naming it; nothing is written.
  const fs::path bad = write("validate_bad.csv", "id,arrival_s,prompt_tokens\n0,0,10\n");
  const Result e = kvsim("validate " + scenario.string() + " --measured " + bad.string() + " --format kvsim --out " +
                         (scratch() / "validate-bad").string());
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.err.find("validate_bad.csv"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("output_tokens"), std::string::npos) << e.err;
  EXPECT_FALSE(fs::exists(scratch() / "validate-bad"));
}

}  // namespace

namespace {

TEST(Cli, CalibrateServingRunsRecoversTheTimeOutsideTheEngine) {
  // Three "measured" runs are kvsim's own, made with 50 ms per request outside the engine; fitted by 3-fold
  // cross-validation on scenarios without it, every fold finds 50 ms and the held-out runs agree with their
  // measurements (kvsim's client-side TTFT moves one for one with request_s).
  nlohmann::json runs = {{"runs", nlohmann::json::array()}};
  for (int i = 1; i <= 3; ++i) {
    nlohmann::json doc = {{"model", "llama-3.1-8b"},
                          {"hardware", {{"gpu", "h100-sxm"}}},
                          {"engine", {{"profile", {{"name", "vllm-0.19"}}}}},
                          {"seed", i},
                          {"workload",
                           {{"synthetic",
                             {{"num_requests", 100},
                              {"arrival", {{"process", "poisson"}, {"rate_per_s", 3.0 * i}}},
                              {"prompt_tokens", {{"dist", "uniform"}, {"min", 100}, {"max", 2000}}},
                              {"output_tokens", {{"dist", "uniform"}, {"min", 10}, {"max", 300}}}}}}}};
    const std::string tag = "serving-fit-" + std::to_string(i);
    write(tag + ".json", doc.dump());
    doc["engine"]["profile"]["request_s"] = 0.05;
    const fs::path truth = write(tag + "-truth.json", doc.dump());
    ASSERT_EQ(kvsim("run -q " + truth.string() + " --out " + (scratch() / (tag + "-truth")).string()).code, 0);
    runs["runs"].push_back({{"name", tag}, {"scenario", tag + ".json"}, {"measured", tag + "-truth/requests.csv"},
                            {"format", "kvsim"}});
  }
  const fs::path list = write("serving-fit.json", runs.dump());
  const Result r = kvsim("calibrate --serving-runs " + list.string() + " --folds 3 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json fit = nlohmann::json::parse(r.out);
  ASSERT_EQ(fit["fitted_request_s"].size(), 3u);
  for (const auto& x : fit["fitted_request_s"]) EXPECT_NEAR(x.get<double>(), 0.05, 1e-6);
  EXPECT_EQ(fit["held_out"].size(), 3u);
  EXPECT_LT(fit["held_out_median_abs_error"]["ttft_s mean"].get<double>(), 1e-6);
  EXPECT_LT(fit["held_out_median_abs_error"]["e2e_s p99"].get<double>(), 1e-6);
  // Fewer runs than folds is an error naming the key.
  const Result e = kvsim("calibrate --serving-runs " + list.string() + " --folds 4");
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.err.find("--folds 4"), std::string::npos) << e.err;
}

}  // namespace

namespace {

TEST(Cli, CostWithACalibrationFromAnotherGpuCarriesItsFamilyFits) {
  // A calibration fitted on H100 measurements prices an L40S GEMM through the L40S's own datasheet peaks: far
  // slower than the H100's (a dense bf16 peak under half), never the H100's time.
  const std::string aic = std::string(KVSIM_SHARED_DIR) + "/gpu-data/aiconfigurator/h100_sxm";
  if (!fs::exists(aic)) GTEST_SKIP() << aic << " is not there";
  const fs::path out = scratch() / "calibration-h100";
  ASSERT_EQ(kvsim("calibrate --gpu h100-sxm --aiconfigurator " + aic + " --out " + out.string()).code, 0);
  const auto time_us = [&](const std::string& gpu) {
    const Result r = kvsim("cost --json --op gemm --m 4096 --n 4096 --k 4096 --backend calibrated --gpu " + gpu +
                           " --calibration " + (out / "calibration.json").string());
    EXPECT_EQ(r.code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["source"], "calibrated") << gpu;
    return j["seconds"].get<double>() * 1e6;
  };
  const double h100 = time_us("h100-sxm"), l40s = time_us("l40s");
  EXPECT_GT(l40s, 2 * h100) << h100 << " " << l40s;
}

}  // namespace
