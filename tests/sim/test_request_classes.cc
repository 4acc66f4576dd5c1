// Request classes (scenario workload.classes): drawn by share without changing any other draw, scheduled by
// priority (sim/sched/impl/priority.cc, and sjf within a class), each with its own SLO in summary.classes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <vector>

#include "engine_fixture.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::error_of;
using testing::Req;
using testing::run_scenario;
using testing::write_trace;

nlohmann::json two_classes(double interactive_share = 0.25) {
  return nlohmann::json::array(
      {{{"name", "interactive"}, {"share", interactive_share}, {"priority", 0}, {"slo", {{"ttft_p99_s", 0.5}}}},
       {{"name", "batch"}, {"share", 1 - interactive_share}, {"priority", 1}, {"slo", {{"e2e_p99_s", 1000}}}}});
}

// 600 requests at 40 per second against 16 sequences: a queue that grows (the engine drains about 10 per second).
nlohmann::json overloaded(const nlohmann::json& scheduler, bool classes = true) {
  std::vector<Req> reqs;
  for (int i = 0; i < 600; ++i) reqs.push_back({i * 0.025, 500 + 37 * (i % 11), 150 + 29 * (i % 13)});
  nlohmann::json doc = base_scenario(write_trace("classes-overloaded", reqs));
  doc["engine"]["max_num_seqs"] = 16;
  doc["engine"]["scheduler"] = scheduler;
  if (classes) doc["workload"]["classes"] = two_classes();
  return doc;
}

TEST(RequestClasses, DrawnByShareWithoutChangingOtherDraws) {
  nlohmann::json doc = {{"model", "llama-3.1-8b"},
                        {"hardware", {{"gpu", "h100-sxm"}}},
                        {"seed", 7},
                        {"workload",
                         {{"synthetic",
                           {{"num_requests", 4000},
                            {"arrival", {{"process", "poisson"}, {"rate_per_s", 2000}}},
                            {"prompt_tokens", {{"dist", "uniform"}, {"min", 10}, {"max", 200}}},
                            {"output_tokens", {{"dist", "uniform"}, {"min", 1}, {"max", 20}}}}}}}};
  const testing::Outcome plain = run_scenario(doc);
  doc["workload"]["classes"] = two_classes(0.2);
  const testing::Outcome classed = run_scenario(doc);
  ASSERT_EQ(plain.records.size(), 4000u);
  ASSERT_EQ(classed.records.size(), 4000u);
  std::int64_t interactive = 0;
  for (const RequestRecord& r : classed.records) {
    const RequestRecord& p = plain.by_id(r.id);
    ASSERT_EQ(p.arrival_s, r.arrival_s);
    ASSERT_EQ(p.prompt_tokens, r.prompt_tokens);
    ASSERT_EQ(p.output_tokens, r.output_tokens);
    interactive += r.request_class == 0;
  }
  // Binomial(4000, 0.2): mean 800, standard deviation 25.3; five of them either side.
  EXPECT_NEAR(static_cast<double>(interactive), 800.0, 127.0);
  const nlohmann::json& c = classed.results["summary"]["classes"];
  EXPECT_EQ(c["interactive"]["requests_counted"], interactive);
  EXPECT_EQ(c["batch"]["requests_counted"], 4000 - interactive);
  EXPECT_FALSE(plain.results["summary"].contains("classes"));
}

// A class's SLO attainment is the share of its requests meeting its deadlines, counted here from the records.
TEST(RequestClasses, PerClassSloFromTheRecords) {
  const testing::Outcome o = run_scenario(overloaded("vllm-v1"));
  std::map<int, std::pair<int, int>> met;  // class -> (met, counted)
  for (const RequestRecord& r : o.records) {
    auto& [m, n] = met[r.request_class];
    ++n;
    if (r.request_class == 0) m += r.completed && r.ttft_s <= 0.5;
    if (r.request_class == 1) m += r.completed && r.e2e_s <= 1000;
  }
  const nlohmann::json& c = o.results["summary"]["classes"];
  EXPECT_DOUBLE_EQ(c["interactive"]["slo"]["attainment"]["all"].get<double>(),
                   static_cast<double>(met[0].first) / met[0].second);
  EXPECT_DOUBLE_EQ(c["batch"]["slo"]["attainment"]["all"].get<double>(),
                   static_cast<double>(met[1].first) / met[1].second);
  EXPECT_EQ(c["interactive"]["slo"]["targets"]["ttft_p99_s"], 0.5);
  EXPECT_FALSE(c["batch"]["slo"]["targets"].contains("ttft_p99_s"));
  EXPECT_EQ(c["interactive"]["requests_counted"].get<int>() + c["batch"]["requests_counted"].get<int>(), 600);
}

// vllm-v1 ignores classes (FCFS): both classes queue alike. The priority policy serves the interactive class
// first: its TTFT falls, the batch class pays, and the mean over both stays about the same.
TEST(RequestClasses, PrioritySchedulingServesTheHigherClassFirst) {
  const testing::Outcome fcfs = run_scenario(overloaded("vllm-v1"));
  const testing::Outcome prio = run_scenario(overloaded("priority"));
  const testing::Outcome preempting = run_scenario(overloaded("priority:preempt_for_waiting=true"));
  const auto p99 = [](const testing::Outcome& o, const char* cls) {
    return o.results["summary"]["classes"][cls]["ttft_s"]["p99"].get<double>();
  };
  std::printf("interactive TTFT p99: FCFS %.3f s, priority %.3f s, preempting %.3f s; batch: %.3f, %.3f, %.3f s\n",
              p99(fcfs, "interactive"), p99(prio, "interactive"), p99(preempting, "interactive"), p99(fcfs, "batch"),
              p99(prio, "batch"), p99(preempting, "batch"));
  EXPECT_GT(p99(fcfs, "interactive"), 5.0);  // the queue: FCFS makes every class wait
  EXPECT_LT(p99(prio, "interactive"), 0.2 * p99(fcfs, "interactive"));
  EXPECT_GT(p99(prio, "batch"), p99(fcfs, "batch"));
  EXPECT_FALSE(fcfs.results["summary"]["classes"]["interactive"]["slo"]["met"].get<bool>());
  for (const testing::Outcome* o : {&fcfs, &prio, &preempting}) {
    EXPECT_EQ(o->results["summary"]["requests"]["completed"], 600);
  }
  // Without classes the priority policy is vllm-v1, request for request.
  const testing::Outcome plain = run_scenario(overloaded("vllm-v1", false));
  const testing::Outcome plain_prio = run_scenario(overloaded("priority", false));
  for (const RequestRecord& r : plain.records) {
    EXPECT_EQ(r.e2e_s, plain_prio.by_id(r.id).e2e_s) << r.id;
  }
}

// Batch requests with long answers take every sequence slot (max_num_seqs 8); interactive ones (labelled by the
// trace) arrive later. Only with preempt_for_waiting does a waiting interactive request preempt a running batch
// request; its TTFT then no longer waits for batch requests to finish.
std::filesystem::path labelled_trace() {
  const auto path = testing::test_dir("kvsim-engine-tests") / "classes-labelled.jsonl";
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path);
  for (int i = 0; i < 40; ++i) {
    out << nlohmann::json{{"arrival_s", i * 0.001}, {"prompt_tokens", 1000}, {"output_tokens", 3000},
                          {"class", "batch"}}.dump() << "\n";
  }
  for (int i = 0; i < 20; ++i) {
    out << nlohmann::json{{"arrival_s", 2.0 + i * 0.5}, {"prompt_tokens", 2000}, {"output_tokens", 50},
                          {"class", "interactive"}}.dump() << "\n";
  }
  return path;
}

TEST(RequestClasses, PreemptForWaitingMakesRoom) {
  nlohmann::json doc = base_scenario(labelled_trace());
  doc["workload"]["classes"] = two_classes(0.5);
  doc["engine"]["scheduler"] = "priority";
  doc["engine"]["max_num_seqs"] = 8;
  const testing::Outcome keep = run_scenario(doc);
  doc["engine"]["scheduler"] = "priority:preempt_for_waiting=true";
  const testing::Outcome make_room = run_scenario(doc);
  const auto classes = [](const testing::Outcome& o) { return o.results["summary"]["classes"]; };
  EXPECT_EQ(classes(keep)["interactive"]["requests_counted"], 20);  // the labels, not the shares
  EXPECT_EQ(classes(keep)["batch"]["requests_counted"], 40);
  const double kept = classes(keep)["interactive"]["ttft_s"]["p99"].get<double>();
  const double made = classes(make_room)["interactive"]["ttft_s"]["p99"].get<double>();
  std::printf("interactive TTFT p99 behind full sequence slots: %.3f s waiting, %.3f s preempting (%d vs %d preemptions)\n",
              kept, made, keep.results["summary"]["kv"]["preemptions"].get<int>(),
              make_room.results["summary"]["kv"]["preemptions"].get<int>());
  EXPECT_LT(made, 0.5 * kept);
  EXPECT_GT(make_room.results["summary"]["kv"]["preemptions"].get<int>(),
            keep.results["summary"]["kv"]["preemptions"].get<int>());
  EXPECT_EQ(make_room.results["summary"]["requests"]["completed"], 60);
  // A label that is not a declared class names the line.
  doc["workload"]["classes"][0]["name"] = "chat";
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("line 41: class 'interactive' is not one of workload.classes "
                                                     "(chat, batch)"),
            std::string::npos);
}

TEST(RequestClasses, BadClassesNameTheKey) {
  nlohmann::json doc = overloaded("priority");
  doc["workload"]["classes"][1]["share"] = 0.5;
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("workload.classes: the classes' shares add up to 0.75"),
            std::string::npos);
  doc = overloaded("priority");
  doc["workload"]["classes"][1]["name"] = "interactive";
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("workload.classes[1].name: 'interactive' names two classes"),
            std::string::npos);
  doc = overloaded("priority");
  doc["workload"]["classes"][0]["priority"] = 5000;
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("workload.classes[0].priority"), std::string::npos);
  doc = overloaded("priority");
  doc["workload"]["classes"][0]["slo"] = {{"ttft_p99", 1}};
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("workload.classes[0].slo"), std::string::npos);
  doc = overloaded("priority");
  doc["workload"]["classes"] = nlohmann::json::array();
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("workload.classes"), std::string::npos);
  doc = overloaded("priority:preempt=true");
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("preempt"), std::string::npos);
}

}  // namespace
}  // namespace kvsim
