// Memory tiers below the GPU: demotion and cascading by hand, a tier hit priced exactly as its transfer, offload of
// evicted and of finished requests' blocks, and the scenario section's errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_fixture.h"
#include "sim/kv/kv_manager.h"
#include "sim/kv/tiers.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::error_of;
using testing::Outcome;
using testing::Row;
using testing::run_scenario;
using testing::write_rows;

TierSpec tier(const std::string& name, std::int64_t blocks, double read_Bps, double write_Bps, double latency_s) {
  TierSpec s;
  s.name = name;
  s.capacity_bytes = blocks * 100;
  s.read_Bps = read_Bps;
  s.write_Bps = write_Bps;
  s.latency_s = latency_s;
  return s;
}

std::vector<PrefixCache::Evicted> blocks(std::initializer_list<std::uint64_t> hashes) {
  std::vector<PrefixCache::Evicted> out;
  for (std::uint64_t h : hashes) out.push_back({h, 0});
  return out;
}

TEST(KvTiers, EvictedBlocksCascadeDownAndAreDroppedAtTheBottom) {
  // Blocks of 100 bytes; host holds 2, ssd 3. Storing 1..6 in order (LRU in each tier): host keeps 5, 6; it demoted
  // 1, 2, 3, 4 to the ssd, which holds 3 and dropped 1: ssd = 2, 3, 4.
  KvTiers t({tier("host", 2, 1e3, 1e3, 0), tier("ssd", 3, 1e2, 1e2, 0)}, 100, TierOffload::kEvicted);
  t.store(blocks({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(t.stats(0).stored_blocks, 6);
  EXPECT_EQ(t.stats(0).demoted_blocks, 4);
  EXPECT_EQ(t.stats(1).stored_blocks, 4);
  EXPECT_EQ(t.stats(1).dropped_blocks, 1);
  EXPECT_EQ(t.stats(0).cached_blocks, 2);
  EXPECT_EQ(t.stats(1).cached_blocks, 3);
  std::vector<std::uint8_t> where;
  const std::vector<std::uint64_t> lookup = {2, 3, 4, 5, 6, 1};
  EXPECT_EQ(t.match(lookup, 10, where), 5u);  // 1 was dropped: the run stops there
  EXPECT_EQ(where, (std::vector<std::uint8_t>{1, 1, 1, 0, 0}));
  EXPECT_EQ(t.match(lookup, 2, where), 2u);  // the limit caps it
  // Writes this step: 6 blocks to the host (600 B at 1 kB/s), 4 to the ssd (400 B at 100 B/s).
  EXPECT_DOUBLE_EQ(t.traffic().store_bytes[0], 600);
  EXPECT_DOUBLE_EQ(t.traffic().store_bytes[1], 400);
  EXPECT_DOUBLE_EQ(t.traffic().store_s, 0.6 + 4.0);
  t.clear_traffic();
  // A block already held is refreshed, not written: storing 5 again makes 6 the host's LRU victim.
  t.store(blocks({5}));
  EXPECT_DOUBLE_EQ(t.traffic().store_s, 0);
  t.store(blocks({7}));  // host evicts 6 (least recent) into the ssd, which drops 2
  EXPECT_EQ(t.match(std::vector<std::uint64_t>{5, 6, 7}, 10, where), 3u);
  EXPECT_EQ(where, (std::vector<std::uint8_t>{0, 1, 0}));
  EXPECT_EQ(t.stats(1).dropped_blocks, 2);
  EXPECT_NO_THROW(t.check_invariants());
  // A load reads each block from its tier: latency once per tier and step, plus bytes over the read bandwidth.
  t.clear_traffic();
  const std::vector<std::uint64_t> run = {5, 6, 7};
  t.load(run, where);
  EXPECT_DOUBLE_EQ(t.traffic().load_bytes[0], 200);
  EXPECT_DOUBLE_EQ(t.traffic().load_bytes[1], 100);
  EXPECT_DOUBLE_EQ(t.traffic().load_s, 0.2 + 1.0);
  EXPECT_EQ(t.stats(0).hit_blocks, 2);
  EXPECT_EQ(t.stats(1).hit_blocks, 1);
}


double op_seconds(const nlohmann::json& results, const std::string& op, const std::string& field = "seconds") {
  for (const auto& o : results["cost_breakdown"]) {
    if (o["op"] == op) return o[field].get<double>();
  }
  return 0;
}

// A finishes; B, with other content, fills the GPU pool and evicts A's blocks; C repeats A's 1024-token prompt.
nlohmann::json evicting_scenario(const std::string& offload, const std::string& load) {
  nlohmann::json doc = base_scenario(write_rows(
      "tiers-" + offload, {{0.0, 1024, 2, {1, 2}}, {10.0, 2048, 2, {7, 8, 9, 10}}, {20.0, 1024, 2, {1, 2}}}));
  doc["engine"]["prefix_caching"] = true;
  doc["engine"]["num_gpu_blocks"] = 129;  // B (2048 + 1 tokens) needs all 129 blocks: A's 64 leave the GPU
  doc["engine"]["kv_tiers"] = {
      {"tiers", {{{"tier", "host"}, {"capacity_GiB", 1}, {"read_GBps", 1}, {"write_GBps", 2}, {"latency_us", 100}}}},
      {"offload", offload},
      {"load", load}};
  return doc;
}

TEST(TieredPrefixCache, AHitInTheHostTierCostsExactlyItsTransfer) {
  // Llama-3.1-8B, bf16: 131,072 bytes of KV per token, 2 MiB per 16-token block. C finds none of its blocks on the
  // GPU and 63 (the last token is computed) in host memory: 63 x 2 MiB read at 1 GB/s after 100 us, before the
  // forward (blocking load).
  const Outcome o = run_scenario(evicting_scenario("finished", "blocking"));
  const auto& pc = o.results["summary"]["prefix_cache"];
  const double block = 16 * 131072.0;
  EXPECT_EQ(pc["tier_hit_tokens"], 63 * 16);
  EXPECT_EQ(pc["tiers"][0]["hit_blocks"], 63);
  EXPECT_DOUBLE_EQ(op_seconds(o.results, "kv.tier_load"), 100e-6 + 63 * block / 1e9);
  EXPECT_DOUBLE_EQ(op_seconds(o.results, "kv.tier_load", "bytes"), 63 * block);
  // Offload at finish (LMCache): A's 64 prompt blocks, B's 128 and C's registered copy refresh, written at 2 GB/s.
  EXPECT_EQ(pc["tiers"][0]["stored_blocks"], 64 + 128);
  EXPECT_DOUBLE_EQ(op_seconds(o.results, "kv.tier_store", "bytes"), (64 + 128) * block);
  // C's prefill computes 1024 - 1008 = 16 tokens; its TTFT includes the whole load (at 1 GB/s, longer than A's
  // whole prefill on the H100: a slow tier can cost more than recomputing).
  EXPECT_GT(o.by_id(2).ttft_s, 63 * block / 1e9);
  EXPECT_GT(o.by_id(2).ttft_s, o.by_id(0).ttft_s);
}

TEST(TieredPrefixCache, LayerwiseLoadsHideAllButTheFirstLayersShare) {
  // The same load overlapped layer by layer with C's 16-token prefill: the iteration exposes 1/32 of it and hides
  // the rest behind compute, so C's first token comes sooner than with a blocking load.
  const Outcome blocking = run_scenario(evicting_scenario("finished", "blocking"));
  const Outcome layerwise = run_scenario(evicting_scenario("finished", "layerwise"));
  const double load = op_seconds(blocking.results, "kv.tier_load");
  EXPECT_DOUBLE_EQ(op_seconds(layerwise.results, "kv.tier_load"), load);
  EXPECT_LT(layerwise.by_id(2).ttft_s, blocking.by_id(2).ttft_s);
  EXPECT_GE(layerwise.by_id(2).ttft_s - (blocking.by_id(2).ttft_s - load), load / 32 - 1e-9);
}

TEST(TieredPrefixCache, BlocksTheGpuEvictsAreFoundBelowIt) {
  // Offload on eviction: B's admission evicts A's cached blocks into host memory; C then finds there those the GPU
  // lost and on the GPU those it kept, 63 in all.
  const Outcome o = run_scenario(evicting_scenario("evicted", "layerwise"));
  const auto& pc = o.results["summary"]["prefix_cache"];
  const long long gpu = pc["hit_tokens"], below = pc["tier_hit_tokens"];
  EXPECT_GT(below, 0);
  EXPECT_EQ(gpu + below, 63 * 16);
  EXPECT_EQ(pc["tiers"][0]["stored_blocks"], pc["evicted_blocks"]);
  EXPECT_DOUBLE_EQ(pc["total_hit_rate"].get<double>(), static_cast<double>(gpu + below) / (1024 + 2048 + 1024));
  // Without tiers C recomputes what the GPU lost.
  nlohmann::json off = evicting_scenario("evicted", "layerwise");
  off["engine"].erase("kv_tiers");
  const Outcome plain = run_scenario(off);
  EXPECT_EQ(plain.results["summary"]["prefix_cache"]["hit_tokens"], gpu);
  EXPECT_EQ(plain.results["summary"]["prefix_cache"]["tier_hit_tokens"], 0);
}

TEST(TieredPrefixCache, ConfigurationErrorsNameTheKey) {
  nlohmann::json doc = evicting_scenario("evicted", "layerwise");
  const auto error = [&] { return error_of([&] { run_scenario(doc); }); };
  doc["engine"]["prefix_caching"] = false;
  std::string e = error();
  EXPECT_NE(e.find("engine.kv_tiers"), std::string::npos) << e;
  EXPECT_NE(e.find("prefix_caching"), std::string::npos) << e;
  doc["engine"]["prefix_caching"] = true;
  doc["engine"]["kv_tiers"]["offload"] = "sometimes";
  e = error();
  EXPECT_NE(e.find("engine.kv_tiers.offload"), std::string::npos) << e;
  EXPECT_NE(e.find("finished"), std::string::npos) << e;
  doc["engine"]["kv_tiers"]["offload"] = "evicted";
  doc["engine"]["kv_tiers"]["tiers"] = {{{"tier", "cxl"}, {"capacity_GiB", 64}}};
  e = error();
  EXPECT_NE(e.find("engine.kv_tiers.tiers[0].read_GBps"), std::string::npos) << e;
  doc["engine"]["kv_tiers"]["tiers"] = {{{"tier", "ssd"}, {"read_GBps", -1}}};
  EXPECT_NE(error().find("engine.kv_tiers.tiers[0].read_GBps"), std::string::npos);
  doc["engine"]["kv_tiers"]["tiers"] = {{{"tier", "ssd"}, {"eviction", "mru"}}};
  EXPECT_NE(error().find("engine.kv_tiers.tiers[0].eviction"), std::string::npos);
  doc["engine"]["kv_tiers"]["tiers"] = nlohmann::json::array();
  EXPECT_NE(error().find("engine.kv_tiers.tiers"), std::string::npos);
  // Known kinds resolve to their documented defaults, any field overridable, each with its own policy.
  doc["engine"]["kv_tiers"]["tiers"] = {{{"tier", "host"}}, {{"tier", "ssd"}, {"eviction", "s3fifo"}}};
  const Outcome o = run_scenario(doc);
  const auto& tiers = o.results["scenario"]["engine"]["kv_tiers"]["tiers"];
  EXPECT_DOUBLE_EQ(tiers[0]["read_GBps"].get<double>(), 64.0);  // the H100 card's PCIe link
  EXPECT_DOUBLE_EQ(tiers[1]["read_GBps"].get<double>(), 7.0);
  EXPECT_EQ(tiers[1]["eviction"]["policy"], "s3fifo");
}

// Two prompts holding the same 512-token document at different places (tokens 100-611, then 50-561), nothing else
// in common; the second arrives after the first finished.
std::filesystem::path chunk_trace() {
  const auto dir = testing::test_dir("kvsim-tier-tests");
  std::filesystem::create_directories(dir);
  const auto path = dir / "chunks.jsonl";
  std::ofstream out(path);
  std::vector<std::uint64_t> a(700), b(600);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = 1'000'000 + i;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = 2'000'000 + i;
  for (std::size_t i = 0; i < 512; ++i) a[100 + i] = b[50 + i] = 7'000'000 + i;
  out << nlohmann::json{{"arrival_s", 0}, {"prompt_tokens", 700}, {"output_tokens", 2}, {"token_ids", a},
                        {"chunks", {{{"start", 100}, {"tokens", 512}, {"id", 7}}}}}.dump()
      << "\n"
      << nlohmann::json{{"arrival_s", 10}, {"prompt_tokens", 600}, {"output_tokens", 2}, {"token_ids", b},
                        {"chunks", {{{"start", 50}, {"tokens", 512}, {"id", 7}}}}}.dump()
      << "\n";
  return path;
}

TEST(ChunkReuse, AStoredChunkAnywhereInThePromptIsLoadedAndPartlyRecomputed) {
  // Prefix caching finds nothing (the prompts differ from their first token). The second request's chunk is in the
  // store: 512 tokens loaded (512 x 128 KiB at 2 GB/s after 50 us, blocking), 84 % of them (430) count as computed,
  // 82 are recomputed; its prefill computes 600 - 430 = 170 tokens.
  nlohmann::json doc = base_scenario(chunk_trace());
  doc["engine"]["prefix_caching"] = true;
  doc["engine"]["chunk_reuse"] = {
      {"recompute_fraction", 0.16},
      {"store", {{"tier", "host"}, {"capacity_GiB", 1}, {"read_GBps", 2}, {"write_GBps", 4}, {"latency_us", 50}}}};
  doc["engine"]["kv_tiers"] = {{"tiers", {{{"tier", "host"}}}}, {"load", "blocking"}};
  const Outcome o = run_scenario(doc);
  const auto& pc = o.results["summary"]["prefix_cache"];
  const double bytes = 512 * 131072.0;
  EXPECT_EQ(pc["hit_tokens"], 0);
  EXPECT_EQ(pc["chunk_reuse"]["reused_tokens"], 512);
  EXPECT_EQ(pc["chunk_reuse"]["recomputed_tokens"], 82);
  EXPECT_DOUBLE_EQ(pc["chunk_reuse"]["loaded_bytes"].get<double>(), bytes);
  EXPECT_EQ(pc["chunk_reuse"]["stored_chunks"], 1);  // the second found it stored
  EXPECT_DOUBLE_EQ(op_seconds(o.results, "kv.tier_load"), 50e-6 + bytes / 2e9);
  EXPECT_EQ(pc["prefill_tokens_saved"], 430);
  // Without chunk reuse the second request computes its whole prompt: its first token comes later.
  doc["engine"].erase("chunk_reuse");
  const Outcome plain = run_scenario(doc);
  EXPECT_EQ(plain.results["summary"]["prefix_cache"]["chunk_reuse"]["reused_tokens"], 0);
  EXPECT_GT(plain.by_id(1).ttft_s, o.by_id(1).ttft_s - op_seconds(o.results, "kv.tier_load"));
  // Errors name the key.
  doc["engine"]["chunk_reuse"] = {{"recompute_fraction", 1.5}};
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("engine.chunk_reuse.recompute_fraction"), std::string::npos);
  doc["engine"]["chunk_reuse"] = {{"store", {{"tier", "host"}, {"eviction", "lfu"}}}};
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("engine.chunk_reuse.store.eviction"), std::string::npos);
}

TEST(TieredPrefixCache, EverythingTogetherKeepsTheInvariants) {
  // Every reuse feature at once, in a pool small enough to evict and preempt, the invariant checker after every
  // event: synthetic RAG prompts behind shared prefixes, both cache modes, tiers with their own policies, chunk
  // reuse, reuse-aware admission.
  for (const std::string mode : {"vllm", "sglang"}) {
    for (const std::string admission : {"lpm", "prefix-group"}) {
      nlohmann::json doc = base_scenario("unused.jsonl");
      doc["workload"] = {{"synthetic",
                          {{"num_requests", 160},
                           {"arrival", {{"process", "poisson"}, {"rate_per_s", 30}}},
                           {"prompt_tokens", {{"dist", "uniform"}, {"min", 10}, {"max", 300}}},
                           {"output_tokens", {{"dist", "uniform"}, {"min", 1}, {"max", 80}}},
                           {"prefix", {{"groups", 3}, {"tokens", {{"dist", "uniform"}, {"min", 100}, {"max", 900}}}}},
                           {"rag", {{"documents", 20}, {"chunks_per_request", 2}, {"popularity_exponent", 1.0},
                                    {"chunk_tokens", {{"dist", "uniform"}, {"min", 50}, {"max", 400}}}}}}}};
      doc["engine"]["prefix_caching"] = true;
      doc["engine"]["prefix_cache_mode"] = mode;
      doc["engine"]["admission"] = admission;
      doc["engine"]["num_gpu_blocks"] = 400;
      doc["engine"]["max_num_batched_tokens"] = 1024;
      doc["engine"]["eviction"] = "arc";
      doc["engine"]["kv_tiers"] = {
          {"tiers", {{{"tier", "host"}, {"capacity_GiB", 0.25}, {"eviction", "s3fifo"}},
                     {{"tier", "ssd"}, {"capacity_GiB", 0.5}, {"eviction", "cost-aware"}}}}};
      doc["engine"]["chunk_reuse"] = {{"store", {{"tier", "host"}, {"capacity_GiB", 0.1}}}};
      const Outcome o = run_scenario(doc);
      const auto& s = o.results["summary"];
      EXPECT_EQ(s["requests"]["completed"], 160) << mode << admission;
      EXPECT_GT(s["prefix_cache"]["hit_tokens"].get<long long>(), 0) << mode << admission;
      EXPECT_GT(s["prefix_cache"]["tier_hit_tokens"].get<long long>(), 0) << mode << admission;
      EXPECT_GT(s["prefix_cache"]["chunk_reuse"]["reused_tokens"].get<long long>(), 0) << mode << admission;
      EXPECT_GT(s["prefix_cache"]["tiers"][0]["demoted_blocks"].get<long long>(), 0) << mode << admission;
      EXPECT_EQ(o.summary.used_bytes_at_end, 0) << mode << admission;
    }
  }
}

TEST(TieredPrefixCache, ALookupForgetsTheLastRequestsTierHits) {
  // KvManager alone, 1000-byte blocks of 16 tokens, 4 blocks of GPU memory, a host tier. P computes 64 tokens
  // (4 blocks, cached) and finishes; Q, with other content, takes the whole pool, so P's blocks move to the host.
  // A, P's prompt again, finds 3 of them there (the last token is computed) but is not admitted. The next lookup is
  // for C, which has no content: it must load nothing (it once inherited A's tier hits).
  const KvLayout layout = testing::thousand_byte_pages();
  PrefixCacheOptions prefix;
  prefix.enabled = true;
  TierSpec host = tier("host", 0, 1e6, 1e6, 0);
  host.capacity_bytes = 16 * 1000;  // 16 blocks
  prefix.tiers = std::make_unique<KvTiers>(std::vector<TierSpec>{host}, 1000, TierOffload::kEvicted);
  KvManager kv(layout, 4 * 1000, 0, 0, PreemptionMode::kRecompute, std::move(prefix));
  const auto make = [](RequestId id, std::vector<std::uint64_t> content) {
    Request r;
    r.id = id;
    r.prompt_tokens = 64;
    r.output_tokens = 1;
    r.content_block_tokens = content.empty() ? 0 : 16;
    r.content_tokens = 64;
    r.content_ids = std::move(content);
    return r;
  };
  Request p = make(0, {1, 2, 3, 4}), q = make(1, {9, 8, 7, 6}), a = make(2, {1, 2, 3, 4}), c = make(3, {});
  for (Request* r : {&p, &q}) {
    kv.match_prefix(*r);
    ASSERT_TRUE(kv.reserve(*r, 64));
    r->computed = 64;
    kv.settle(*r, 64);
    kv.finish(*r);
  }
  EXPECT_EQ(kv.tiers()->stats(0).stored_blocks, 4);  // P's blocks, demoted when Q needed the pool
  Request hold = make(4, {});
  kv.match_prefix(hold);
  ASSERT_TRUE(kv.reserve(hold, 64));  // the whole pool: A cannot be admitted
  kv.match_prefix(a);
  EXPECT_EQ(a.computed, 48);  // 3 blocks found in the host tier
  EXPECT_FALSE(kv.reserve(a, 16));
  kv.forget_prefix(a);
  kv.free(hold);
  kv.match_prefix(c);
  EXPECT_EQ(c.computed, 0);
  ASSERT_TRUE(kv.reserve(c, 64));
  EXPECT_EQ(kv.tiers()->stats(0).hit_blocks, 0);
  EXPECT_EQ(kv.tiers()->traffic().load_bytes[0], 0);
}

}  // namespace
}  // namespace kvsim
