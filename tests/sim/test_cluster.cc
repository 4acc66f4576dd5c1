// A scenario as a cluster (hardware.replicas, router): one replica is the engine as it was; several share one clock,
// every request is served by exactly one of them, and each router decides from what it may know.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "engine_fixture.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::Outcome;
using testing::Req;
using testing::run_scenario;
using testing::write_trace;

nlohmann::json without_wall_time(nlohmann::json results) {
  results["summary"].erase("wall_time_s");
  return results;
}

std::vector<Req> steady(int n, double gap_s, long long prompt = 600, long long output = 40) {
  std::vector<Req> reqs;
  for (int i = 0; i < n; ++i) reqs.push_back({i * gap_s, prompt, output});
  return reqs;
}

nlohmann::json cluster(const std::filesystem::path& trace, int replicas, const std::string& policy) {
  nlohmann::json doc = base_scenario(trace);
  doc["hardware"]["replicas"] = replicas;
  doc["router"] = {{"policy", policy}};
  return doc;
}

// Each request's replica, by request id.
std::vector<std::int32_t> assignment(const Outcome& o) {
  std::vector<std::int32_t> a(o.records.size(), -1);
  for (const RequestRecord& r : o.records) a.at(static_cast<std::size_t>(r.id)) = r.replica;
  return a;
}

std::map<std::int32_t, int> served_by(const Outcome& o) {
  std::map<std::int32_t, int> n;
  for (const RequestRecord& r : o.records) n[r.replica]++;
  return n;
}

TEST(Cluster, OneReplicaIsTheEngineItWas) {
  // hardware.replicas 1 (whatever router is named) gives the same results, byte for byte, as a scenario without
  // them, and its summary has no cluster section.
  const auto trace = write_trace("one-replica", steady(60, 0.05, 900, 80));
  const Outcome plain = run_scenario(base_scenario(trace));
  const Outcome one = run_scenario(cluster(trace, 1, "random"));
  EXPECT_EQ(without_wall_time(one.results).dump(), without_wall_time(plain.results).dump());
  EXPECT_FALSE(one.results["summary"].contains("cluster"));
  for (const RequestRecord& r : one.records) EXPECT_EQ(r.replica, 0);
}

TEST(Cluster, RoundRobinSpreadsRequestsWithinOneOfTheirShare) {
  const auto trace = write_trace("round-robin", steady(103, 0.02));
  const Outcome o = run_scenario(cluster(trace, 4, "round-robin"));
  const nlohmann::json& c = o.results["summary"]["cluster"];
  ASSERT_EQ(c["per_replica"].size(), 4u);
  for (const auto& rep : c["per_replica"]) {
    EXPECT_GE(rep["admitted"].get<int>(), 103 / 4);
    EXPECT_LE(rep["admitted"].get<int>(), 103 / 4 + 1);
  }
  EXPECT_EQ(o.results["scenario"]["hardware"]["replicas"], 4);
  EXPECT_EQ(o.results["scenario"]["hardware"]["num_gpus"], 4);
  // The fleet's cost: 4 GPUs at the H100 card's price, for the simulated time.
  const nlohmann::json& cost = c["cost"];
  const double price = o.results["gpu"]["price_per_hour_usd"].get<double>();
  EXPECT_DOUBLE_EQ(cost["fleet_usd_per_hour"].get<double>(), 4 * price);
  EXPECT_DOUBLE_EQ(cost["run_usd"].get<double>(), 4 * price * o.summary.simulated_time_s / 3600);
  EXPECT_FALSE(cost["price_source"].get<std::string>().empty());
  nlohmann::json doc = cluster(trace, 4, "round-robin");
  doc["hardware"]["price_per_hour_usd"] = 2.5;
  const nlohmann::json priced = run_scenario(doc).results["summary"]["cluster"]["cost"];
  EXPECT_DOUBLE_EQ(priced["fleet_usd_per_hour"].get<double>(), 10.0);
  EXPECT_EQ(priced["price_source"], "the scenario (hardware.price_per_hour_usd)");
}

TEST(Cluster, EveryRequestIsServedExactlyOnce) {
  // Random routing, a burst that preempts, requests too long for any replica: every arrived request has one record,
  // completed or rejected, from one replica; the per-replica counts add up to the fleet's.
  std::vector<Req> reqs = steady(200, 0.004, 3000, 300);
  reqs.push_back({0.5, 200000, 10});  // beyond max_model_len: rejected
  std::sort(reqs.begin(), reqs.end(), [](const Req& a, const Req& b) { return a.arrival_s < b.arrival_s; });
  const Outcome o = run_scenario(cluster(write_trace("exactly-once", reqs), 3, "random"));
  std::set<RequestId> ids;
  for (const RequestRecord& r : o.records) {
    EXPECT_TRUE(ids.insert(r.id).second) << "request " << r.id << " reported twice";
    EXPECT_GE(r.replica, 0);
    EXPECT_LT(r.replica, 3);
  }
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), o.summary.arrived);
  EXPECT_EQ(o.summary.arrived, 201);
  EXPECT_EQ(o.summary.rejected, 1);
  std::int64_t admitted = 0, completed = 0;
  for (const auto& rep : o.results["summary"]["cluster"]["per_replica"]) {
    admitted += rep["admitted"].get<std::int64_t>();
    completed += rep["completed"].get<std::int64_t>();
  }
  EXPECT_EQ(admitted, 200);
  EXPECT_EQ(completed, o.summary.completed);
  EXPECT_EQ(o.summary.used_bytes_at_end, 0);
}

TEST(Cluster, RandomRoutersAreDeterministicPerSeed) {
  const auto trace = write_trace("random-seed", steady(80, 0.01));
  for (const std::string policy : {"random", "power-of-two"}) {
    const auto a = assignment(run_scenario(cluster(trace, 4, policy)));
    EXPECT_EQ(assignment(run_scenario(cluster(trace, 4, policy))), a) << policy;
    nlohmann::json other = cluster(trace, 4, policy);
    other["seed"] = 7;
    EXPECT_NE(assignment(run_scenario(other)), a) << policy;
  }
}

TEST(Cluster, LoadRoutersSeeOnlyTheLoadReportedStateDelayAgo) {
  // 20 requests at once: with the load as it is, least-outstanding spreads them 5 per replica; with loads reported
  // every 10 s, it sees four idle replicas for the whole burst and sends all of them to the first.
  const auto trace = write_trace("state-delay", std::vector<Req>(20, Req{0.0, 500, 20}));
  nlohmann::json doc = cluster(trace, 4, "least-outstanding");
  const auto live = served_by(run_scenario(doc));
  EXPECT_EQ(live, (std::map<std::int32_t, int>{{0, 5}, {1, 5}, {2, 5}, {3, 5}}));
  doc["router"]["state_delay_s"] = 10;
  EXPECT_EQ(served_by(run_scenario(doc)), (std::map<std::int32_t, int>{{0, 20}}));
  // least-kv reads KV utilization: requests admitted but not yet scheduled hold none, so on ties it falls back to
  // the outstanding count and spreads them too.
  doc = cluster(trace, 4, "least-kv");
  EXPECT_EQ(served_by(run_scenario(doc)).size(), 4u);
}

TEST(Cluster, SessionAffinityKeepsASessionOnOneReplica) {
  const auto dir = testing::test_dir("kvsim-cluster-tests");
  std::filesystem::create_directories(dir);
  const auto path = dir / "sessions.jsonl";
  {
    std::ofstream out(path);
    for (int i = 0; i < 60; ++i) {
      out << nlohmann::json{{"arrival_s", i * 0.05}, {"prompt_tokens", 400}, {"output_tokens", 20},
                            {"session_id", "s" + std::to_string(i % 6)}}
                 .dump()
          << "\n";
    }
  }
  const Outcome o = run_scenario(cluster(path, 4, "session-affinity"));
  // Request i belongs to session i mod 6: every request of a session on the replica of its first.
  std::map<int, std::int32_t> replica_of;
  for (const RequestRecord& r : o.records) {
    const int session = static_cast<int>(r.id % 6);
    const auto [it, added] = replica_of.emplace(session, r.replica);
    EXPECT_EQ(it->second, r.replica) << "session " << session;
  }
  EXPECT_EQ(replica_of.size(), 6u);
}

TEST(Cluster, PrefixAwareRouterSendsAPromptWhereItsPrefixIsCached) {
  // Three requests sharing their first 1,536 tokens (three 512-token blocks), one after the other on two replicas:
  // round-robin alternates (the second computes the prefix again), prefix-aware keeps them where it is cached.
  using testing::Row;
  const auto trace = testing::write_rows(
      "prefix-router", {Row{0.0, 2048, 8, {1, 2, 3, 10}}, Row{2.0, 2048, 8, {1, 2, 3, 11}},
                        Row{4.0, 2048, 8, {1, 2, 3, 12}}});
  nlohmann::json doc = cluster(trace, 2, "prefix-aware");
  doc["engine"]["prefix_caching"] = true;
  const Outcome aware = run_scenario(doc);
  EXPECT_EQ(assignment(aware), (std::vector<std::int32_t>{0, 0, 0}));
  EXPECT_EQ(aware.summary.prefix.hit_tokens, 2 * 1536);
  doc["router"]["policy"] = "round-robin";
  const Outcome rr = run_scenario(doc);
  EXPECT_EQ(assignment(rr), (std::vector<std::int32_t>{0, 1, 0}));
  EXPECT_EQ(rr.summary.prefix.hit_tokens, 1536);
}

TEST(Cluster, PrefixAwareRoutingFindsAtLeastRoundRobinsHitsOnMooncake) {
  const std::filesystem::path mooncake =
      std::filesystem::path(KVSIM_SHARED_DIR) / "traces/mooncake_fast25/conversation_trace.jsonl";
  if (!std::filesystem::exists(mooncake)) GTEST_SKIP() << "no Mooncake trace";
  nlohmann::json doc = {{"model", "llama-3.1-8b"},
                        {"hardware", {{"gpu", "h100-sxm"}, {"replicas", 4}}},
                        {"engine", {{"prefix_caching", true}}},
                        {"workload", {{"trace", {{"path", mooncake.string()}, {"format", "mooncake"}}},
                                      {"max_requests", 2000}}}};
  const auto hit_rate = [&](const std::string& policy) {
    doc["router"] = {{"policy", policy}};
    return run_scenario(doc).results["summary"]["prefix_cache"]["hit_rate"].get<double>();
  };
  const double rr = hit_rate("round-robin"), aware = hit_rate("prefix-aware");
  std::printf("Mooncake conversation, 2,000 requests, 4 H100 replicas: hit rate round-robin %.1f %%, prefix-aware "
              "%.1f %%\n", 100 * rr, 100 * aware);
  EXPECT_GE(aware, rr);
  EXPECT_GT(aware, 1.3 * rr);  // (measured: 4.8 % against 8.8 %)
}

nlohmann::json disaggregated(const std::filesystem::path& trace, int prefill, int decode, double bandwidth_GBps,
                             double latency_us) {
  nlohmann::json doc = base_scenario(trace);
  doc["hardware"]["replicas"] = prefill + decode;
  doc["disaggregation"] = {{"prefill_replicas", prefill},
                           {"decode_replicas", decode},
                           {"transfer_bandwidth_GBps", bandwidth_GBps},
                           {"transfer_latency_us", latency_us}};
  return doc;
}

nlohmann::json roofline_disaggregated(const std::filesystem::path& trace) {
  nlohmann::json doc = disaggregated(trace, 1, 1, 50, 10);
  doc["cost_model"] = {{"backend", "roofline"}};
  return doc;
}

TEST(Disaggregation, WithAFreeLinkTtftIsThePrefillsAlone) {
  // The prefill replica hands each request off at its first token; with an instant link its TTFTs are those of the
  // same requests run for their first token alone on one replica.
  std::vector<Req> reqs = steady(40, 0.01, 1500, 60);
  const Outcome split = run_scenario(disaggregated(write_trace("pd-free", reqs), 1, 2, 1e9, 0));
  for (Req& r : reqs) r.output = 1;
  const Outcome alone = run_scenario(base_scenario(write_trace("pd-prefill-alone", reqs)));
  ASSERT_EQ(split.summary.completed, 40);
  for (RequestId id = 0; id < 40; ++id) {
    EXPECT_DOUBLE_EQ(split.by_id(id).ttft_s, alone.by_id(id).ttft_s) << "request " << id;
    EXPECT_GE(split.by_id(id).replica, 1);  // completed on a decode replica
  }
}

TEST(Disaggregation, AMoveCostsLatencyPlusBytesOverBandwidth) {
  // One request of 1,000 prompt tokens: 63 pages of 16 tokens x 128 KiB per token (Llama-3.1-8B, bf16) move over
  // 50 GB/s with 10 us of latency; its decode starts when they arrive.
  const Outcome o = run_scenario(disaggregated(write_trace("pd-one", {{0.0, 1000, 20}}), 1, 1, 50, 10));
  const double bytes = 63.0 * 16 * 131072;
  const double expected = 10e-6 + bytes / 50e9;
  ASSERT_TRUE(o.by_id(0).transfer_s.has_value());
  EXPECT_DOUBLE_EQ(*o.by_id(0).transfer_s, expected);
  const nlohmann::json& d = o.results["summary"]["cluster"]["disaggregation"];
  EXPECT_EQ(d["transfers"], 1);
  EXPECT_DOUBLE_EQ(d["transfer_bytes"].get<double>(), bytes);
  // The second token waits for the move: the gap after the first token is at least the move's time.
  EXPECT_GE(o.by_id(0).max_itl_s, expected);
  EXPECT_EQ(o.results["summary"]["cluster"]["per_replica"][0]["role"], "prefill");
  EXPECT_EQ(o.results["summary"]["cluster"]["per_replica"][1]["role"], "decode");
}

TEST(Disaggregation, EveryRequestIsPrefilledOnceAndDecodedOnce) {
  const Outcome o = run_scenario(disaggregated(write_trace("pd-many", steady(120, 0.005, 2500, 200)), 2, 3, 50, 10));
  EXPECT_EQ(o.summary.completed, 120);
  EXPECT_EQ(o.summary.transfers, 120);
  std::int64_t prefilled = 0, decoded = 0;
  for (const auto& rep : o.results["summary"]["cluster"]["per_replica"]) {
    if (rep["role"] == "prefill") {
      prefilled += rep["admitted"].get<std::int64_t>();
      EXPECT_EQ(rep["completed"], 0);
    } else {
      decoded += rep["completed"].get<std::int64_t>();
    }
  }
  EXPECT_EQ(prefilled, 120);
  EXPECT_EQ(decoded, 120);
  EXPECT_EQ(o.summary.used_bytes_at_end, 0);
}

TEST(Disaggregation, LayerwiseStreamingMovesTheKvDuringThePrefill) {
  // Streamed as the prefill computes it: over a slow link what is left after the prefill is what the link could
  // not send meanwhile; over a fast one, the last of the 32 layers' KV.
  const double bytes = 63.0 * 16 * 131072;  // 1,000 tokens (AMoveCostsLatencyPlusBytesOverBandwidth)
  for (const double gbps : {0.5, 500.0}) {
    nlohmann::json doc = disaggregated(write_trace("pd-layerwise", {{0.0, 1000, 20}}), 1, 1, gbps, 10);
    doc["disaggregation"]["layerwise"] = true;
    const Outcome o = run_scenario(doc);
    const double prefill_s = o.by_id(0).ttft_s;  // scheduled at arrival: the prefill is its TTFT
    const double all_s = bytes / (gbps * 1e9);
    EXPECT_NEAR(*o.by_id(0).transfer_s, 10e-6 + std::max(all_s / 32, all_s - prefill_s), 1e-9) << gbps;
    if (gbps > 1) {
      // 132,120,576 B / 500 GB/s = 264.24 us, of which the last layer's 8.2575 us are left, after 10 us of latency.
      EXPECT_NEAR(*o.by_id(0).transfer_s, 10e-6 + 8.2575e-6, 1e-10);
    } else {
      // 264.24 ms at 0.5 GB/s, less the prefill's time: less than the move after the prefill, more than 0.2 s.
      EXPECT_LT(*o.by_id(0).transfer_s, 10e-6 + 0.26424115);
      EXPECT_GT(*o.by_id(0).transfer_s, 0.2);
    }
  }
}

TEST(Disaggregation, AClientGivingUpDuringTheMoveAbortsIt) {
  // The move of 1,000 tokens' KV at 0.01 GB/s takes 13 s; the client gives up after 5: the request is aborted, the
  // prefill replica's memory freed, and a second request behind it served; the prefill replica, whose memory the
  // moving KV held, is woken when it is freed.
  nlohmann::json doc = disaggregated(write_trace("pd-timeout", {{0.0, 1000, 20}, {6.0, 500, 10}}), 1, 1, 0.01, 10);
  doc["workload"]["client_timeout_s"] = 5;
  const Outcome o = run_scenario(doc);
  EXPECT_TRUE(o.by_id(0).timed_out);
  EXPECT_EQ(o.summary.timed_out, 2);  // the second one moves for 6.7 s too
  EXPECT_EQ(o.summary.transfers, 2);
  EXPECT_EQ(o.summary.used_bytes_at_end, 0);
}

TEST(Disaggregation, DecodeReplicasMayBeAnotherGpu) {
  // H100 prefill, L40S decode: the decode pool has its own pricing (slower steps), KV pool and price per hour.
  const auto trace = write_trace("pd-hetero", steady(20, 0.5, 800, 40));
  nlohmann::json doc = disaggregated(trace, 1, 1, 50, 10);
  const Outcome same = run_scenario(doc);
  doc["disaggregation"]["decode_gpu"] = "l40s";
  const Outcome mixed = run_scenario(doc);
  ASSERT_EQ(mixed.summary.completed, 20);
  EXPECT_GT(mixed.summary.tpot_s.quantile(0.5), 2.0 * same.summary.tpot_s.quantile(0.5));
  EXPECT_DOUBLE_EQ(mixed.by_id(3).ttft_s, same.by_id(3).ttft_s);  // the prefill pool is the same
  const nlohmann::json& c = mixed.results["summary"]["cluster"];
  EXPECT_LT(c["disaggregation"]["decode_kv_capacity_bytes"].get<double>(),
            mixed.results["summary"]["kv"]["capacity_bytes"].get<double>());
  const double h100 = mixed.results["gpu"]["price_per_hour_usd"].get<double>();
  const double l40s = c["cost"]["decode_price_per_gpu_hour_usd"].get<double>();
  EXPECT_DOUBLE_EQ(c["cost"]["fleet_usd_per_hour"].get<double>(), h100 + l40s);
  // A prompt an H100 prefills but an RTX 4090's pool could never hold is rejected at arrival, saying why.
  doc = disaggregated(write_trace("pd-too-long", {{0.0, 100000, 10}}), 1, 1, 50, 10);
  doc["disaggregation"]["decode_gpu"] = "rtx-4090";
  const Outcome o = run_scenario(doc);
  EXPECT_EQ(o.summary.rejected, 1);
  EXPECT_NE(o.by_id(0).reject_reason.find("decode pool:"), std::string::npos) << o.by_id(0).reject_reason;
}

TEST(Disaggregation, BadInputNamesTheKey) {
  const auto trace = write_trace("pd-bad", steady(4, 0.1));
  nlohmann::json doc = disaggregated(trace, 1, 2, 50, 10);
  doc["hardware"]["replicas"] = 4;
  std::string err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("disaggregation.decode_replicas"), std::string::npos) << err;
  doc = disaggregated(trace, 1, 2, 50, 10);
  doc["disaggregation"]["decode_tensor_parallel"] = 0;
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("disaggregation.decode_tensor_parallel"), std::string::npos) << err;
  doc = disaggregated(trace, 1, 2, 50, 10);
  doc["disaggregation"]["decode_router"] = {{"policy", "lottery"}};
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("disaggregation.decode_router.policy"), std::string::npos) << err;
  doc = disaggregated(trace, 1, 2, 0, 10);
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("transfer_bandwidth_GBps"), std::string::npos) << err;
  doc = disaggregated(trace, 1, 2, 50, 10);
  doc["disaggregation"]["decode_gpu"] = "tpu-v5";
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("disaggregation.decode_gpu"), std::string::npos) << err;
}

// Two prefill GPUs (p0, p1) and two decode GPUs (d0, d1) behind one switch: 10 GB/s, 5 us up from each prefill GPU,
// 4 GB/s, 3 us down to each decode GPU.
nlohmann::json on_a_switch(const std::filesystem::path& trace, int prefill) {
  nlohmann::json doc = base_scenario(trace);
  doc["hardware"]["replicas"] = prefill + 1;
  doc["hardware"]["topology"] = {
      {"nodes",
       {{{"name", "p0"}, {"kind", "gpu"}}, {{"name", "p1"}, {"kind", "gpu"}}, {{"name", "d0"}, {"kind", "gpu"}},
        {{"name", "d1"}, {"kind", "gpu"}}, {{"name", "sw"}, {"kind", "switch"}}}},
      {"links",
       {{{"a", "p0"}, {"b", "sw"}, {"bandwidth_GBps", 10}, {"latency_us", 5}, {"class", "up"}},
        {{"a", "p1"}, {"b", "sw"}, {"bandwidth_GBps", 10}, {"latency_us", 5}, {"class", "up"}},
        {{"a", "sw"}, {"b", "d0"}, {"bandwidth_GBps", 4}, {"latency_us", 3}, {"class", "down"}},
        {{"a", "sw"}, {"b", "d1"}, {"bandwidth_GBps", 4}, {"latency_us", 3}, {"class", "down"}}}}};
  doc["disaggregation"] = {{"prefill_replicas", prefill}, {"decode_replicas", 1}};
  return doc;
}

TEST(Disaggregation, OnATopologyAMoveTakesItsPath) {
  // One move alone: the summed latency (5 + 3 us) plus its bytes over the bottleneck (4 GB/s).
  nlohmann::json doc = on_a_switch(write_trace("pd-path", {{0, 1000, 20}}), 1);
  doc["hardware"]["topology"]["nodes"][1] = {{"name", "d0"}, {"kind", "gpu"}};  // replica 1 (decode) on d0
  doc["hardware"]["topology"]["nodes"][2] = {{"name", "p1"}, {"kind", "gpu"}};
  const Outcome o = run_scenario(doc);
  const nlohmann::json& d = o.results["summary"]["cluster"]["disaggregation"];
  ASSERT_EQ(d["transfers"], 1);
  const double bytes = d["transfer_bytes"];
  EXPECT_GT(bytes, 1000.0 * 131072);  // Llama-3.1-8B: 128 KiB of KV per token
  EXPECT_NEAR(o.records.at(0).transfer_s.value(), 8e-6 + bytes / 4e9, 2e-9);
  EXPECT_DOUBLE_EQ(d["transfer_bytes_by_link_class"]["up"], bytes);
  EXPECT_DOUBLE_EQ(d["transfer_bytes_by_link_class"]["down"], bytes);
}

TEST(Disaggregation, MovesShareTheLinksTheyCross) {
  // Two prefill replicas (round-robin: request 0 on p0, request 1 on p1) hand off identical requests at once; both
  // moves go down the one 4 GB/s link to d0 (the decode replica). p1's way up is 1 GB/s: max-min fair sharing gives
  // that move 1 GB/s and the other the 3 GB/s left down, until it is done. (An equal split would be 2 and 2; on one
  // prefill replica both would share the way up as well.)
  nlohmann::json doc = on_a_switch(write_trace("pd-share", {{0, 1000, 20}, {0, 1000, 20}}), 2);
  doc["hardware"]["topology"]["links"][1]["bandwidth_GBps"] = 1;
  doc["router"] = {{"policy", "round-robin"}};
  const Outcome o = run_scenario(doc);
  const nlohmann::json& d = o.results["summary"]["cluster"]["disaggregation"];
  ASSERT_EQ(d["transfers"], 2);
  const double bytes = static_cast<double>(d["transfer_bytes"]) / 2;
  ASSERT_EQ(o.records.size(), 2u);
  EXPECT_NEAR(o.by_id(0).transfer_s.value(), 8e-6 + bytes / 3e9, 2e-9);
  EXPECT_NEAR(o.by_id(1).transfer_s.value(), 8e-6 + bytes / 1e9, 2e-9);
  nlohmann::json bad = doc;
  bad["disaggregation"]["transfer_bandwidth_GBps"] = 50;
  std::string err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("disaggregation.transfer_bandwidth_GBps"), std::string::npos) << err;
  EXPECT_NE(err.find("not with hardware.topology"), std::string::npos) << err;
  bad = doc;
  bad["hardware"]["replicas"] = 5;
  bad["disaggregation"]["decode_replicas"] = 3;
  err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("hardware.topology"), std::string::npos) << err;
  EXPECT_NE(err.find("has 4 GPUs"), std::string::npos) << err;
}

TEST(Disaggregation, PrefillPoolCachesPrefixes) {
  // Conversations whose turns repeat their first 2,048 tokens (4 content blocks), on two prefill replicas with
  // prefix caching and the prefix-aware router, and one decode replica: the prefill pool finds the shared prompts,
  // and every move still carries each request's whole prompt KV.
  std::vector<testing::Row> rows;
  for (int i = 0; i < 24; ++i) {
    const std::uint64_t conv = static_cast<std::uint64_t>(i % 3);
    rows.push_back({0.3 * i, 2560, 40, {conv * 100 + 1, conv * 100 + 2, conv * 100 + 3, conv * 100 + 4,
                                        1000 + static_cast<std::uint64_t>(i)}});
  }
  nlohmann::json doc = disaggregated(testing::write_rows("pd-prefix", rows), 2, 1, 50, 10);
  doc["engine"]["prefix_caching"] = true;
  doc["router"] = {{"policy", "prefix-aware"}};
  const Outcome cached = run_scenario(doc);
  doc["engine"]["prefix_caching"] = false;
  const Outcome plain = run_scenario(doc);
  ASSERT_EQ(cached.summary.completed, 24);
  const nlohmann::json& c = cached.results["summary"]["cluster"];
  EXPECT_GT(cached.results["summary"]["prefix_cache"]["hit_rate"].get<double>(), 0.5);
  EXPECT_EQ(c["per_replica"][2]["role"], "decode");
  EXPECT_EQ(c["per_replica"][2]["prefix_hit_rate"], 0.0);
  EXPECT_EQ(c["disaggregation"]["transfer_bytes"], plain.results["summary"]["cluster"]["disaggregation"]["transfer_bytes"]);
  // Cached prompts prefill faster.
  EXPECT_LT(cached.results["summary"]["ttft_s"]["mean"].get<double>(),
            plain.results["summary"]["ttft_s"]["mean"].get<double>());
}

TEST(Disaggregation, DecodePoolOfAnotherTensorParallelism) {
  // A TP 1 prefill replica hands off to a TP 2 decode replica: its own layout (4 of Llama-3.1-8B's 8 KV heads per
  // GPU), half the weights per GPU, faster decode steps; three GPUs in all.
  const auto trace = write_trace("pd-tp", steady(12, 0.05, 1500, 80));
  nlohmann::json same = roofline_disaggregated(trace);
  nlohmann::json wide = same;
  wide["disaggregation"]["decode_tensor_parallel"] = 2;
  const PreparedRun p = prepare_run(wide, ".");
  EXPECT_EQ(p.resolved["hardware"]["num_gpus"], 3);
  ASSERT_NE(p.decode_iteration, nullptr);
  EXPECT_EQ(p.decode_iteration->parallelism().tp, 2);
  EXPECT_EQ(p.decode_iteration->layout().device_bytes_per_token(), p.iteration->layout().device_bytes_per_token() / 2);
  EXPECT_NEAR(p.decode_capacity.weight_bytes, p.capacity.weight_bytes / 2, 1);
  const Outcome a = run_scenario(same), b = run_scenario(wide);
  ASSERT_EQ(b.records.size(), 12u);
  EXPECT_EQ(b.results["summary"]["cluster"]["disaggregation"]["decode_kv_capacity_bytes"], p.decode_capacity.kv_bytes);
  EXPECT_LT(b.results["summary"]["tpot_s"]["mean"].get<double>(), 0.8 * a.results["summary"]["tpot_s"]["mean"].get<double>());
  // The same TTFTs: the prefill pool is the same.
  for (const RequestRecord& r : a.records) EXPECT_EQ(r.ttft_s, b.by_id(r.id).ttft_s) << r.id;
  nlohmann::json bad = wide;
  bad["hardware"]["num_gpus"] = 2;
  std::string err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("decode_replicas x decode_tensor_parallel (1 x 1 + 1 x 2 = 3)"), std::string::npos) << err;
  bad = wide;
  bad["disaggregation"]["decode_tensor_parallel"] = 5;
  bad["hardware"].erase("num_gpus");
  err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("disaggregation.decode_tensor_parallel"), std::string::npos) << err;
  EXPECT_NE(err.find("must divide the 32 attention heads"), std::string::npos) << err;
}

nlohmann::json pools(const std::filesystem::path& trace) {
  nlohmann::json doc = base_scenario(trace);
  doc["hardware"] = {{"pools",
                      {{{"name", "h100"}, {"gpu", "h100-sxm"}, {"replicas", 1}},
                       {{"name", "a100"}, {"gpu", "a100-sxm-80gb"}, {"replicas", 1}, {"tensor_parallel", 2},
                        {"price_per_hour_usd", 1.0}}}}};
  doc["router"] = {{"policy", "round-robin"}};
  doc["cost_model"] = {{"backend", "roofline"}};
  return doc;
}

TEST(Cluster, PoolsOfDifferentGpusAndLayouts) {
  // One H100 and one A100 pair (TP 2) behind round-robin: each replica priced, held and paid for by its own pool.
  const auto trace = write_trace("pools", steady(20, 0.2, 1200, 60));
  const nlohmann::json doc = pools(trace);
  const PreparedRun p = prepare_run(doc, ".");
  EXPECT_EQ(p.resolved["hardware"]["num_gpus"], 3);
  ASSERT_EQ(p.pools.size(), 1u);
  EXPECT_EQ(p.pools[0].iteration->parallelism().tp, 2);
  EXPECT_EQ(p.sim.replica_kv_capacity_bytes.at(1), p.pools[0].capacity.kv_bytes);
  EXPECT_EQ(p.pools[0].capacity.kv_bytes,
            compute_kv_capacity(*p.model, *p.pools[0].gpu, 2, 0.9, std::nullopt, 8192, 256).kv_bytes);
  const Outcome o = run_scenario(doc);
  ASSERT_EQ(o.summary.completed, 20);
  const nlohmann::json& c = o.results["summary"]["cluster"];
  EXPECT_EQ(c["per_replica"][0]["gpu"], "h100-sxm");
  EXPECT_EQ(c["per_replica"][1]["gpu"], "a100-sxm-80gb");
  EXPECT_EQ(c["per_replica"][1]["gpus"], 2);
  EXPECT_EQ(c["per_replica"][0]["completed"], 10);
  EXPECT_EQ(c["per_replica"][1]["completed"], 10);
  const double h100 = o.results["gpu"]["price_per_hour_usd"].get<double>();
  EXPECT_DOUBLE_EQ(c["cost"]["fleet_usd_per_hour"].get<double>(), h100 + 2 * 1.0);
  EXPECT_EQ(c["cost"]["pools"][1]["price_source"], "the scenario (hardware.pools[1].price_per_hour_usd)");
  // Its resolved form runs again as it is.
  EXPECT_NO_THROW(prepare_run(o.results["scenario"], "."));
  // The replicas' requests, alike, are slower on the A100 pair (half the HBM bandwidth per GPU, TP 2 all-reduces).
  double h100_tpot = 0, a100_tpot = 0;
  for (const RequestRecord& r : o.records) (r.replica == 0 ? h100_tpot : a100_tpot) += r.tpot_s.value();
  EXPECT_NE(h100_tpot, a100_tpot);

  nlohmann::json bad = doc;
  bad["hardware"]["gpu"] = "h100-sxm";
  std::string err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("hardware.gpu: not beside hardware.pools"), std::string::npos) << err;
  bad = doc;
  bad["hardware"]["pools"][1]["name"] = "h100";
  err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("'h100' names two pools"), std::string::npos) << err;
  bad = doc;
  bad["hardware"]["pools"][1]["tensor_parallel"] = 3;
  err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("hardware.pools[1].tensor_parallel"), std::string::npos) << err;
  bad = doc;
  bad["hardware"]["pools"][1]["gpu"] = "tpu-v5";
  err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("hardware.pools[1].gpu"), std::string::npos) << err;
  bad = doc;
  bad["disaggregation"] = {{"prefill_replicas", 1}, {"decode_replicas", 1}};
  err = testing::error_of([&] { prepare_run(bad, "."); });
  EXPECT_NE(err.find("not with hardware.pools"), std::string::npos) << err;
}

TEST(Cluster, BadClusterInputNamesTheKey) {
  const auto trace = write_trace("bad-cluster", steady(4, 0.1));
  nlohmann::json doc = cluster(trace, 2, "round-robin");
  doc["hardware"]["num_gpus"] = 3;
  std::string err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("hardware.num_gpus"), std::string::npos) << err;
  EXPECT_NE(err.find("replicas x tensor_parallel x pipeline_parallel"), std::string::npos) << err;
  doc = cluster(trace, 2, "round-robin");
  doc["hardware"]["num_gpus"] = 2;
  doc["hardware"]["pipeline_parallel"] = 2;  // 2 replicas x 2 stages
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("hardware.num_gpus"), std::string::npos) << err;
  EXPECT_NE(err.find("2 x 1 x 2 = 4"), std::string::npos) << err;
  doc = cluster(trace, 2, "lottery");
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("router.policy"), std::string::npos) << err;
  EXPECT_NE(err.find("least-outstanding"), std::string::npos) << err;
  doc = cluster(trace, 2, "random+round-robin");
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("one router"), std::string::npos) << err;
  doc = cluster(trace, 2, "random:bogus=1");
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("bogus"), std::string::npos) << err;
  doc = cluster(trace, 2, "random");
  doc["router"]["state_delay_s"] = -1;
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("router.state_delay_s"), std::string::npos) << err;
}

}  // namespace
}  // namespace kvsim
