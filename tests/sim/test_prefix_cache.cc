// Prefix caching: block identities, the cache's references and eviction order (hand-computed), and the engine's
// vLLM-v1 semantics (hits at admission, the last token computed, blocks kept after a request ends, evicted least
// recently released first, nothing changed when caching is off), with the invariant checker on.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_fixture.h"
#include "sim/kv/block_hash.h"
#include "sim/kv/kv_manager.h"
#include "sim/kv/prefix_cache.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::error_of;
using testing::Outcome;
using testing::Row;
using testing::run_scenario;
using testing::write_rows;

// ---- block identities ------------------------------------------------------------------------------------------

TEST(BlockHash, FullEngineBlocksOfSharedTraceBlocksMatch) {
  std::vector<std::uint64_t> a, b;
  // Mooncake-style 512-token ids; engine blocks of 16 tokens: 1300 tokens = 81 full blocks (1296 tokens).
  prompt_block_hashes(std::vector<std::uint64_t>{7, 8, 9}, 512, 1300, 16, a);
  EXPECT_EQ(a.size(), 81u);
  // Same first two trace blocks, different third: the first 64 engine blocks (1024 tokens) are the same blocks.
  prompt_block_hashes(std::vector<std::uint64_t>{7, 8, 10}, 512, 1300, 16, b);
  ASSERT_EQ(b.size(), 81u);
  for (std::size_t i = 0; i < 64; ++i) EXPECT_EQ(a[i], b[i]) << i;
  for (std::size_t i = 64; i < 81; ++i) EXPECT_NE(a[i], b[i]) << i;
  // A different first block changes every later identity (the chain).
  prompt_block_hashes(std::vector<std::uint64_t>{6, 8, 9}, 512, 1300, 16, b);
  for (std::size_t i = 0; i < 81; ++i) EXPECT_NE(a[i], b[i]) << i;
  // Engine blocks that straddle trace blocks (100-token ids, 16-token blocks): block 6 covers tokens 96-111, in
  // trace blocks 0 and 1, so it depends on both ids.
  prompt_block_hashes(std::vector<std::uint64_t>{1, 2}, 100, 200, 16, a);
  prompt_block_hashes(std::vector<std::uint64_t>{1, 3}, 100, 200, 16, b);
  ASSERT_EQ(a.size(), 12u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(a[i], b[i]) << i;
  for (std::size_t i = 6; i < 12; ++i) EXPECT_NE(a[i], b[i]) << i;
  // Without content, no identities.
  prompt_block_hashes({}, 0, 200, 16, a);
  EXPECT_TRUE(a.empty());
}

// ---- the cache -------------------------------------------------------------------------------------------------

TEST(PrefixCache, ReleasedBlocksAreEvictedLeastRecentlyReleasedFirstTailFirst) {
  PrefixCache c;
  // Request A registers blocks a0 <- a1 <- a2; request B registers b0 <- b1.
  const BlockId a0 = c.insert(100, PrefixCache::kNone), a1 = c.insert(101, a0), a2 = c.insert(102, a1);
  const BlockId b0 = c.insert(200, PrefixCache::kNone), b1 = c.insert(201, b0);
  EXPECT_EQ(c.insert(101, a0), PrefixCache::kNone);  // the identity is cached already
  EXPECT_EQ(c.cached(), 5u);
  EXPECT_EQ(c.unreferenced(), 0u);
  // A ends first (its chain released from its last block back), then B.
  EXPECT_EQ(c.release(std::vector<BlockId>{a0, a1, a2}), 3u);
  EXPECT_EQ(c.release(std::vector<BlockId>{b0, b1}), 2u);
  // A request with A's first two blocks finds them, and takes them out of the eviction order.
  std::vector<BlockId> hit;
  EXPECT_EQ(c.match(std::vector<std::uint64_t>{100, 101, 999}, 10, hit), 2u);  // both unreferenced
  EXPECT_EQ(hit, (std::vector<BlockId>{a0, a1}));
  EXPECT_EQ(c.acquire(hit), 2u);
  // Order now: a2, b1, b0. One eviction takes a2 (A's tail, the least recently released), the next b1, then b0.
  c.evict(1);
  EXPECT_EQ(c.match(std::vector<std::uint64_t>{100, 101, 102}, 10, hit), 0u);
  EXPECT_EQ(hit.size(), 2u);  // a2 is gone
  c.evict(1);
  EXPECT_EQ(c.match(std::vector<std::uint64_t>{200, 201}, 10, hit), 1u);
  EXPECT_EQ(hit, (std::vector<BlockId>{b0}));  // b1 went second, b0 stays
  EXPECT_EQ(c.evictions(), 2);
  // The limit caps a match (the engine keeps the last token to compute).
  EXPECT_EQ(c.match(std::vector<std::uint64_t>{100, 101}, 1, hit), 0u);
  EXPECT_EQ(hit.size(), 1u);
  const std::vector<BlockId> held = {a0, a1};
  const std::vector<const std::vector<BlockId>*> holders = {&held};
  EXPECT_NO_THROW(c.check_invariants(holders));
  EXPECT_THROW(c.check_invariants({}), std::logic_error);  // a0 and a1 are referenced by nobody listed
}

TEST(PrefixCache, AWatchedRunIsCutByAnEvictionAndCountsItsUnreferencedBlocks) {
  // The head of the waiting queue's match, looked up again at every step: a0 <- a1 <- a2 released (unreferenced).
  PrefixCache c;
  const BlockId a0 = c.insert(100, PrefixCache::kNone), a1 = c.insert(101, a0), a2 = c.insert(102, a1);
  c.release(std::vector<BlockId>{a0, a1, a2});
  const std::vector<std::uint64_t> prompt = {100, 101, 102, 103};
  std::vector<BlockId> run;
  EXPECT_EQ(c.match_watched(prompt, 10, run, false), 3u);
  EXPECT_EQ(run, (std::vector<BlockId>{a0, a1, a2}));
  // Another request takes a0 and a1: two fewer unreferenced, without looking the run up again.
  const std::vector<BlockId> held = {a0, a1};
  c.acquire(held);
  EXPECT_EQ(c.match_watched(prompt, 10, run, true), 1u);
  c.check_invariants(std::vector<const std::vector<BlockId>*>{&held});
  // a2, the only unreferenced block, is evicted: the run ends before it, and a lookup cannot extend it.
  c.evict(1);
  EXPECT_EQ(run, (std::vector<BlockId>{a0, a1}));
  EXPECT_EQ(c.match_watched(prompt, 10, run, true), 0u);
  EXPECT_EQ(run, (std::vector<BlockId>{a0, a1}));
  // A lookup for another prompt replaces the watch.
  std::vector<BlockId> other;
  c.unwatch();
  EXPECT_EQ(c.match_watched(std::vector<std::uint64_t>{100}, 10, other, false), 0u);
  EXPECT_EQ(other, (std::vector<BlockId>{a0}));
  c.check_invariants(std::vector<const std::vector<BlockId>*>{&held});
}

// ---- the engine ------------------------------------------------------------------------------------------------


nlohmann::json cached(const std::filesystem::path& trace) {
  nlohmann::json doc = base_scenario(trace);
  doc["engine"]["prefix_caching"] = true;
  return doc;
}

TEST(PrefixCachingEngine, ASecondRequestReusesTheFirstsPromptAndComputesTheRest) {
  // Two 1000-token prompts sharing their first 512-token block, the second arriving after the first finished.
  // The first computes everything: 62 full blocks of 16 (992 tokens) join the cache. The second finds the 32 blocks
  // of the shared 512 tokens (its 33rd block differs) and computes 1000 - 512 = 488 tokens.
  const Outcome o = run_scenario(cached(write_rows("reuse", {{0.0, 1000, 4, {1, 2}}, {10.0, 1000, 4, {1, 3}}})));
  const auto& pc = o.results["summary"]["prefix_cache"];
  EXPECT_EQ(pc["hit_tokens"], 512);
  EXPECT_EQ(pc["hit_blocks"], 32);
  EXPECT_EQ(pc["lookup_tokens"], 2000);
  EXPECT_DOUBLE_EQ(pc["hit_rate"].get<double>(), 512.0 / 2000);
  EXPECT_EQ(pc["registered_blocks"], 62 + (62 - 32));
  EXPECT_EQ(pc["cached_blocks_at_end"], 92);  // nothing had to be evicted
  EXPECT_EQ(o.summary.used_bytes_at_end, 0);  // cached blocks count as free
  EXPECT_LT(o.by_id(1).ttft_s, o.by_id(0).ttft_s);
}

TEST(PrefixCachingEngine, AFullPromptHitStillComputesTheLastToken) {
  // The same 1024-token prompt twice: 64 full blocks, but at most (1024 - 1) / 16 = 63 are taken from the cache so
  // that the last token is computed (vLLM's rule); the second request computes 1024 - 1008 = 16 tokens.
  const Outcome o = run_scenario(cached(write_rows("full-hit", {{0.0, 1024, 2, {5, 6}}, {5.0, 1024, 2, {5, 6}}})));
  EXPECT_EQ(o.results["summary"]["prefix_cache"]["hit_tokens"], 1008);
}

TEST(PrefixCachingEngine, RequestsInTheSameStepDoNotSeeEachOthersBlocks) {
  // Hits are found at admission, among blocks already computed: two identical prompts admitted together miss.
  const Outcome o = run_scenario(cached(write_rows("together", {{0.0, 1024, 2, {5, 6}}, {0.0, 1024, 2, {5, 6}}})));
  EXPECT_EQ(o.results["summary"]["prefix_cache"]["hit_tokens"], 0);
}

TEST(PrefixCachingEngine, SglangModeReplacesDuplicatesByTheCachedCopy) {
  // Two identical 1024-token prompts admitted in the same step both compute their 64 blocks. vLLM keeps the second
  // request's copies in its pages while the first's are in use (64 blocks registered, none deduplicated); SGLang's
  // radix cache frees the second request's pages and points it at the cached ones (64 deduplicated). A third, later
  // request finds them either way (63: its last token is computed); the last block it computes again is cached and
  // unused, so both modes take the cached copy (vLLM would cache the request's copy too, one of the two being free:
  // the same bytes in use): 1 more deduplicated each.
  const auto trace = write_rows("dedup", {{0.0, 1024, 40, {5, 6}}, {0.0, 1024, 40, {5, 6}}, {30.0, 1024, 2, {5, 6}}});
  nlohmann::json doc = cached(trace);
  const Outcome vllm = run_scenario(doc);
  doc["engine"]["prefix_cache_mode"] = "sglang";
  const Outcome sglang = run_scenario(doc);
  const auto &v = vllm.results["summary"]["prefix_cache"], &s = sglang.results["summary"]["prefix_cache"];
  EXPECT_EQ(v["deduplicated_blocks"], 1);
  EXPECT_EQ(s["deduplicated_blocks"], 64 + 1);
  EXPECT_EQ(v["registered_blocks"], 64);
  EXPECT_EQ(s["registered_blocks"], 64);
  EXPECT_EQ(v["hit_tokens"], 1008);
  EXPECT_EQ(s["hit_tokens"], 1008);
  // Both hold the two prompts during their first step; afterwards SGLang holds the shared prompt once.
  EXPECT_LE(sglang.results["summary"]["kv"]["peak_used_bytes"].get<double>(),
            vllm.results["summary"]["kv"]["peak_used_bytes"].get<double>());
  EXPECT_LT(sglang.results["summary"]["kv"]["mean_utilization"].get<double>(),
            vllm.results["summary"]["kv"]["mean_utilization"].get<double>());
  EXPECT_EQ(sglang.results["scenario"]["engine"]["prefix_cache_mode"], "sglang");
  EXPECT_EQ(sglang.results["scenario"]["engine"]["eviction"]["policy"], "lru-access");
  doc["engine"]["prefix_cache_mode"] = "lmcache";
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("engine.prefix_cache_mode"), std::string::npos);
}

TEST(PrefixCachingEngine, OffChangesNothing) {
  // A trace with content ids and caching off gives byte-identical results to the same trace without ids.
  std::vector<Row> with, without;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 60; ++i) {
    const long long prompt = 200 + static_cast<long long>(rng() % 3000);
    Row r{0.05 * i, prompt, 1 + static_cast<long long>(rng() % 200), {}};
    without.push_back(r);
    for (long long t = 0; t < prompt; t += 512) r.ids.push_back(rng() % 4);
    with.push_back(r);
  }
  nlohmann::json a = base_scenario(write_rows("off-ids", with)), b = base_scenario(write_rows("off-none", without));
  a["engine"]["prefix_caching"] = false;
  const Outcome x = run_scenario(a), y = run_scenario(b);
  nlohmann::json sx = x.results["summary"], sy = y.results["summary"];
  sx.erase("wall_time_s");
  sy.erase("wall_time_s");
  EXPECT_EQ(sx, sy);
  EXPECT_EQ(x.results["cost_breakdown"], y.results["cost_breakdown"]);
}

TEST(PrefixCachingEngine, InvariantsHoldUnderEvictionAndPreemption) {
  // Random prompts drawn from a few shared prefixes, in a pool small enough to evict cached blocks and preempt
  // running requests; the invariant checker runs after every event (references, eviction order, parents, bytes).
  for (const unsigned seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    std::vector<Row> rows;
    for (int i = 0; i < 150; ++i) {
      const long long prompt = 100 + static_cast<long long>(rng() % 4000);
      Row r{0.02 * i, prompt, 1 + static_cast<long long>(rng() % 300), {}};
      const std::uint64_t family = rng() % 5;
      for (long long t = 0; t < prompt; t += 512) r.ids.push_back(t < 1024 ? family * 1000 + t : rng());
      rows.push_back(r);
    }
    nlohmann::json doc = cached(write_rows("stress-" + std::to_string(seed), rows));
    doc["engine"]["num_gpu_blocks"] = 900;  // 14,400 tokens
    doc["engine"]["max_num_batched_tokens"] = 1024;
    if (seed == 3) doc["engine"]["prefix_cache_mode"] = "sglang";  // duplicates replaced by the cached copy
    const Outcome o = run_scenario(doc);
    const auto& s = o.results["summary"];
    EXPECT_EQ(s["requests"]["completed"], 150) << seed;
    EXPECT_GT(s["prefix_cache"]["hit_tokens"].get<long long>(), 0) << seed;
    EXPECT_GT(s["prefix_cache"]["evicted_blocks"].get<long long>(), 0) << seed;
    EXPECT_GT(s["kv"]["preemptions"].get<long long>(), 0) << seed;
    EXPECT_EQ(o.summary.used_bytes_at_end, 0) << seed;
  }
}

TEST(PrefixCachingEngine, AnUnlimitedCacheReachesTheIdealReuseOfTheMooncakeTrace) {
  // The first 600 requests of Mooncake's conversation trace, one at a time (each lookup sees every earlier request),
  // engine blocks of the trace's 512 tokens and a pool that never evicts. Ideal, counted here from the file: each
  // request hits the longest run of its full blocks that earlier requests held as full blocks, at most
  // (prompt - 1) / 512 blocks.
  const std::filesystem::path trace =
      std::filesystem::path(KVSIM_SHARED_DIR) / "traces/mooncake_fast25/conversation_trace.jsonl";
  std::ifstream in(trace);
  ASSERT_TRUE(in) << trace;
  std::set<std::uint64_t> seen;
  long long ideal_blocks = 0, lookup_tokens = 0;
  std::string line;
  for (int i = 0; i < 600 && std::getline(in, line); ++i) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const long long prompt = j["input_length"];
    const auto ids = j["hash_ids"].get<std::vector<std::uint64_t>>();
    const std::size_t full = static_cast<std::size_t>(prompt / 512), limit = static_cast<std::size_t>((prompt - 1) / 512);
    std::size_t hit = 0;
    while (hit < full && hit < limit && seen.count(ids[hit]) != 0) ++hit;
    ideal_blocks += static_cast<long long>(hit);
    lookup_tokens += prompt;
    for (std::size_t b = 0; b < full; ++b) seen.insert(ids[b]);
  }
  nlohmann::json doc = base_scenario(trace);
  doc["workload"]["trace"]["format"] = "mooncake";
  doc["workload"]["max_requests"] = 600;
  doc["engine"] = {{"prefix_caching", true}, {"block_size", 512}, {"max_num_seqs", 1},
                   {"num_gpu_blocks", 1'000'000}, {"check_invariants", false}};
  doc["hardware"]["memory_GiB"] = 1e6;  // a what-if GPU whose memory holds the million blocks
  const Outcome o = run_scenario(doc);
  const auto& pc = o.results["summary"]["prefix_cache"];
  EXPECT_EQ(pc["hit_blocks"], ideal_blocks);
  EXPECT_EQ(pc["hit_tokens"], ideal_blocks * 512);
  EXPECT_EQ(pc["lookup_tokens"], lookup_tokens);
  EXPECT_EQ(pc["evicted_blocks"], 0);
  EXPECT_GT(ideal_blocks, 0);
}

TEST(PrefixCachingEngine, TheVllmBenchWorkloadsTokenIdsReachTheirIdealReuse) {
  // The ShareGPT workload real vLLM 0.19 runs replayed (prompt token ids), one request at a time in a pool that
  // never evicts: each request finds the longest run of its full 16-token blocks whose whole prefix an earlier
  // prompt held as full blocks, at most (prompt - 1) / 16 blocks. Counted here from the file with a prefix hash of
  // the test's own.
  const std::filesystem::path trace = std::filesystem::path(KVSIM_SHARED_DIR) /
                                      "serving-runs/llmservingsim-vllm-0.19/workloads/sharegpt-llama-3.1-8b-300-sps10.jsonl";
  std::ifstream in(trace);
  ASSERT_TRUE(in) << trace;
  std::set<std::uint64_t> seen;
  long long ideal_blocks = 0;
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const auto tokens = j["input_tok_ids"].get<std::vector<std::uint64_t>>();
    std::vector<std::uint64_t> prefixes;  // one polynomial hash of the whole prefix per full block
    std::uint64_t h = 1469598103934665603ULL;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      h = (h ^ (tokens[t] + 0x51ULL)) * 1099511628211ULL;
      if ((t + 1) % 16 == 0) prefixes.push_back(h);
    }
    const std::size_t limit = (tokens.size() - 1) / 16;
    std::size_t hit = 0;
    while (hit < prefixes.size() && hit < limit && seen.count(prefixes[hit]) != 0) ++hit;
    ideal_blocks += static_cast<long long>(hit);
    seen.insert(prefixes.begin(), prefixes.end());
  }
  nlohmann::json doc = base_scenario(trace);
  doc["workload"]["trace"]["format"] = "llmservingsim";
  doc["engine"] = {{"prefix_caching", true}, {"block_size", 16}, {"max_num_seqs", 1},
                   {"num_gpu_blocks", 1'000'000}, {"check_invariants", false}};
  doc["hardware"]["memory_GiB"] = 1e6;  // a what-if GPU whose memory holds the million blocks
  const Outcome o = run_scenario(doc);
  EXPECT_EQ(o.results["summary"]["prefix_cache"]["hit_blocks"], ideal_blocks);
  EXPECT_GT(ideal_blocks, 1000);
}

TEST(PrefixCachingEngine, SyntheticSharedPrefixesAreReused) {
  // One 512-token system prompt before every 100-token question, one request a second (each done before the
  // next): every request but the first finds the 32 blocks of the shared prompt (512 tokens) cached.
  nlohmann::json doc = base_scenario(write_rows("unused", {{0.0, 1, 1, {}}}));
  doc["workload"] = {{"synthetic",
                      {{"num_requests", 20},
                       {"arrival", {{"process", "constant"}, {"rate_per_s", 1.0}}},
                       {"prompt_tokens", {{"dist", "fixed"}, {"value", 100}}},
                       {"output_tokens", {{"dist", "fixed"}, {"value", 8}}},
                       {"prefix", {{"groups", 1}, {"tokens", {{"dist", "fixed"}, {"value", 512}}}}}}}};
  doc["engine"]["prefix_caching"] = true;
  const Outcome o = run_scenario(doc);
  const auto& pc = o.results["summary"]["prefix_cache"];
  EXPECT_EQ(pc["hit_tokens"], 19 * 512);
  EXPECT_EQ(pc["lookup_tokens"], 20 * 612);
}

TEST(PrefixCachingEngine, ASessionTurnReusesThePreviousTurnsKv) {
  // Synthetic sessions of 3 turns (100 new tokens, 20 reply tokens each), one session every 1000 s, turns 50 s
  // apart on average: each turn finds the full blocks of the previous turn's prompt and reply, whose KV holds all
  // but the last generated token: 119 tokens -> 7 blocks (112 tokens), then 239 -> 14 blocks (224 tokens).
  nlohmann::json doc = base_scenario(write_rows("unused-sessions", {{0.0, 1, 1, {}}}));
  doc["workload"] = {{"synthetic",
                      {{"num_requests", 12},
                       {"arrival", {{"process", "constant"}, {"rate_per_s", 0.001}}},
                       {"prompt_tokens", {{"dist", "fixed"}, {"value", 100}}},
                       {"output_tokens", {{"dist", "fixed"}, {"value", 20}}},
                       {"sessions", {{"turns", {{"dist", "fixed"}, {"value", 3}}}, {"think_time_s", 50}}}}}};
  doc["engine"]["prefix_caching"] = true;
  const Outcome o = run_scenario(doc);
  const auto& pc = o.results["summary"]["prefix_cache"];
  EXPECT_EQ(pc["hit_tokens"], 4 * (112 + 224));
  EXPECT_EQ(pc["lookup_tokens"], 4 * (100 + 220 + 340));
  // Without caching every turn recomputes its history.
  doc["engine"]["prefix_caching"] = false;
  const Outcome off = run_scenario(doc);
  EXPECT_GT(off.results["summary"]["ttft_s"]["mean"].get<double>(), o.results["summary"]["ttft_s"]["mean"].get<double>());
}

TEST(ClosedLoopSessions, ANextTurnArrivesItsThinkTimeAfterTheReply) {
  // One session of 3 turns, 100 new tokens and 2000-token replies (seconds of decoding), think time 1 s on average.
  // Open loop, each turn arrives its think time after the previous one arrived, while that one's reply is still
  // being generated; closed loop (the default), its think time after the previous one finished, and it finds the
  // previous prompt and reply cached but for the last generated token: 2099 tokens -> 131 blocks (2096 tokens), then
  // 4199 -> 262 blocks (4192 tokens). The same seed draws the same think times in both.
  nlohmann::json doc = base_scenario(write_rows("unused-closed", {{0.0, 1, 1, {}}}));
  doc["workload"] = {{"synthetic",
                      {{"num_requests", 3},
                       {"arrival", {{"process", "constant"}, {"rate_per_s", 0.001}}},
                       {"prompt_tokens", {{"dist", "fixed"}, {"value", 100}}},
                       {"output_tokens", {{"dist", "fixed"}, {"value", 2000}}},
                       {"sessions", {{"turns", {{"dist", "fixed"}, {"value", 3}}}, {"think_time_s", 1}}}}}};
  doc["engine"]["prefix_caching"] = true;
  const Outcome closed = run_scenario(doc);
  doc["workload"]["synthetic"]["sessions"]["loop"] = "open";
  const Outcome open = run_scenario(doc);
  ASSERT_EQ(closed.records.size(), 3u);
  for (RequestId t = 1; t < 3; ++t) {
    const double think = open.by_id(t).arrival_s - open.by_id(t - 1).arrival_s;
    EXPECT_LT(open.by_id(t).arrival_s, open.by_id(t - 1).arrival_s + open.by_id(t - 1).e2e_s) << t;
    const RequestRecord &prev = closed.by_id(t - 1), &cur = closed.by_id(t);
    EXPECT_NEAR(cur.arrival_s - (prev.arrival_s + prev.e2e_s), think, 1e-6) << t;
  }
  EXPECT_EQ(closed.results["summary"]["prefix_cache"]["hit_tokens"], 2096 + 4192);
  EXPECT_LT(open.results["summary"]["prefix_cache"]["hit_tokens"].get<long long>(), 2096 + 4192);
  // A rejected turn (prompt + reply above max_model_len) releases the next one its think time after the rejection.
  doc["workload"]["synthetic"]["sessions"].erase("loop");
  doc["engine"]["max_model_len"] = 3000;
  const Outcome cut = run_scenario(doc);
  ASSERT_EQ(cut.records.size(), 3u);
  EXPECT_EQ(cut.results["summary"]["requests"]["rejected"], 2);
  EXPECT_NEAR(cut.by_id(2).arrival_s - cut.by_id(1).arrival_s,
              open.by_id(2).arrival_s - open.by_id(1).arrival_s, 1e-6);
}

TEST(PrefixCachingEngine, TokenIdsAreHashedPerEngineBlock) {
  // JSONL token ids: the second prompt repeats the first's 40 tokens and adds 8; with 16-token engine blocks the
  // first two blocks (32 tokens) are found; with 8-token blocks all five of the first prompt (40 tokens).
  const auto dir = testing::test_dir("kvsim-prefix-tests");
  std::filesystem::create_directories(dir);
  const auto path = dir / "token-ids.jsonl";
  {
    std::ofstream out(path);
    std::vector<int> first(40), second(48);
    for (int i = 0; i < 48; ++i) (i < 40 ? first[i] : second[i]) = 1000 + i;
    for (int i = 0; i < 40; ++i) second[i] = first[i];
    out << nlohmann::json{{"arrival_s", 0}, {"prompt_tokens", 40}, {"output_tokens", 2}, {"token_ids", first}}.dump()
        << "\n"
        << nlohmann::json{{"arrival_s", 5}, {"prompt_tokens", 48}, {"output_tokens", 2}, {"token_ids", second}}.dump()
        << "\n";
  }
  nlohmann::json doc = cached(path);
  EXPECT_EQ(run_scenario(doc).results["summary"]["prefix_cache"]["hit_tokens"], 32);
  doc["engine"]["block_size"] = 8;
  EXPECT_EQ(run_scenario(doc).results["summary"]["prefix_cache"]["hit_tokens"], 40);

  // With the first request's reply (output_token_ids), a follow-up holding prompt + reply + 8 new tokens finds the
  // reply's blocks too: 40 + 24 = 64 tokens, whose KV holds all but the last generated one (63): 3 blocks of 16, 48
  // tokens (without the reply's ids, 2 blocks).
  const auto turns = dir / "token-ids-reply.jsonl";
  {
    std::ofstream out(turns);
    std::vector<int> prompt(40), reply(24), next;
    for (int i = 0; i < 40; ++i) prompt[i] = 100 + i;
    for (int i = 0; i < 24; ++i) reply[i] = 500 + i;
    next = prompt;
    next.insert(next.end(), reply.begin(), reply.end());
    for (int i = 0; i < 8; ++i) next.push_back(900 + i);
    out << nlohmann::json{{"arrival_s", 0}, {"prompt_tokens", 40}, {"output_tokens", 24}, {"token_ids", prompt},
                          {"output_token_ids", reply}}.dump()
        << "\n"
        << nlohmann::json{{"arrival_s", 30}, {"prompt_tokens", 72}, {"output_tokens", 2}, {"token_ids", next}}.dump()
        << "\n";
  }
  nlohmann::json follow = cached(turns);
  EXPECT_EQ(run_scenario(follow).results["summary"]["prefix_cache"]["hit_tokens"], 48);
}

TEST(PrefixCachingEngine, EachStrategyFamilyCachesWhatItStores) {
  // The two-request reuse of ASecondRequestReusesTheFirstsPromptAndComputesTheRest under each family: quantized,
  // cross-layer-shared, channel-pruned and page-selecting layouts keep every prompt token, so the second request
  // finds the same 32 blocks; a cached block costs the layout's block bytes (quantized: fewer), so an FP8 pool holds
  // twice the blocks of a bf16 one. Token-evicting strategies keep an importance-chosen subset, not the prompt's
  // blocks: nothing is shared, every lookup misses, and the run says so.
  const auto trace = write_rows("families", {{0.0, 1000, 4, {1, 2}}, {10.0, 1000, 4, {1, 3}}});
  for (const std::string strategy : {"full", "fp8", "kivi-2", "cla", "think", "quest"}) {
    nlohmann::json doc = cached(trace);
    doc["kv"] = {{"strategy", strategy}};
    const Outcome o = run_scenario(doc);
    EXPECT_EQ(o.results["summary"]["prefix_cache"]["hit_tokens"], 512) << strategy;
  }
  nlohmann::json bf16 = cached(trace), fp8 = cached(trace);
  fp8["kv"] = {{"strategy", "fp8"}};
  EXPECT_EQ(run_scenario(fp8).results["summary"]["kv"]["capacity_blocks"].get<long long>(),
            2 * run_scenario(bf16).results["summary"]["kv"]["capacity_blocks"].get<long long>());
  for (const std::string strategy : {"snapkv", "pyramidkv", "prefixkv", "h2o", "keyformer"}) {
    nlohmann::json doc = cached(trace);
    doc["kv"] = {{"strategy", strategy}};
    const Outcome o = run_scenario(doc);
    const auto& pc = o.results["summary"]["prefix_cache"];
    EXPECT_EQ(pc["hit_tokens"], 0) << strategy;
    EXPECT_EQ(pc["lookup_tokens"], 2000) << strategy;
    EXPECT_EQ(pc["registered_blocks"], 0) << strategy;
    EXPECT_NE(o.results["approximations"].dump().find("shares nothing"), std::string::npos) << strategy;
  }
}

TEST(ReuseAwareAdmission, PrefixGroupsLetTheFirstRequestComputeTheSharedPrefix) {
  // Six requests sharing a 1024-token prefix arrive together. FCFS admits them in one step, before any has
  // computed the prefix: nobody hits. prefix-group admits the first, holds the others back one step, and they then
  // find its 64 blocks.
  std::vector<Row> rows;
  for (int i = 0; i < 6; ++i) rows.push_back({0.0, 1124, 4, {1, 2, static_cast<std::uint64_t>(100 + i)}});
  nlohmann::json doc = cached(write_rows("group", rows));
  EXPECT_EQ(run_scenario(doc).results["summary"]["prefix_cache"]["hit_tokens"], 0);
  doc["engine"]["admission"] = "prefix-group";
  const Outcome o = run_scenario(doc);
  EXPECT_EQ(o.results["summary"]["prefix_cache"]["hit_tokens"], 5 * 1024);
  EXPECT_EQ(o.results["scenario"]["engine"]["admission"], "prefix-group");
  doc["engine"]["scheduler"] = "prefill-first";
  doc["engine"]["chunked_prefill"] = false;
  EXPECT_EQ(run_scenario(doc).results["summary"]["prefix_cache"]["hit_tokens"], 5 * 1024);
}

TEST(ReuseAwareAdmission, LongestCachedPrefixFirst) {
  // One sequence slot. A runs first; B (nothing cached) and C (A's first 1024 tokens) wait behind it, B first.
  // FCFS then admits B; lpm admits C, whose prefix is cached.
  const auto trace = write_rows("lpm", {{0.0, 1124, 200, {1, 2, 3}}, {0.1, 1124, 4, {7, 8, 9}}, {0.2, 1124, 4, {1, 2, 4}}});
  nlohmann::json doc = cached(trace);
  doc["engine"]["max_num_seqs"] = 1;
  Outcome o = run_scenario(doc);
  EXPECT_LT(o.by_id(1).ttft_s + 0.1, o.by_id(2).ttft_s + 0.2);  // B's first token comes first
  doc["engine"]["admission"] = "lpm";
  o = run_scenario(doc);
  EXPECT_GT(o.by_id(1).ttft_s + 0.1, o.by_id(2).ttft_s + 0.2);  // C's does
  EXPECT_EQ(o.results["summary"]["prefix_cache"]["hit_tokens"], 1024);
  doc["engine"]["admission"] = "shortest";
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("engine.admission"), std::string::npos);
  doc["engine"]["admission"] = "lpm";
  doc["engine"]["prefix_caching"] = false;
  EXPECT_NE(error_of([&] { run_scenario(doc); }).find("prefix_caching"), std::string::npos);
}

TEST(HybridPrefixCache, WindowBlocksAreCachedApartAndAHitNeedsTheWindowBeforeItsEnd) {
  // KvManager alone, blocks of 16 tokens: a full-attention layer and a sliding-window layer (window 40 tokens), each
  // 1000 bytes a block; a hit needs ceil(39 / 16) = 3 window blocks cached before its end. 40 blocks of memory.
  KvLayout layout = testing::thousand_byte_pages();
  KvGroup local = layout.groups.front();
  local.name = "local";
  local.retention = Retention::kWindow;
  local.window_tokens = 40;
  layout.groups.push_back(local);
  PrefixCacheOptions prefix;
  prefix.enabled = true;
  KvManager kv(layout, 40 * 1000, 0, 0, PreemptionMode::kRecompute, std::move(prefix));
  const auto make = [](RequestId id, TokenCount prompt, std::vector<std::uint64_t> content) {
    Request r;
    r.id = id;
    r.prompt_tokens = prompt;
    r.output_tokens = 1;
    r.content_block_tokens = content.empty() ? 0 : 16;
    r.content_tokens = static_cast<TokenCount>(content.size()) * 16;
    r.content_ids = std::move(content);
    return r;
  };
  const auto step = [&kv](Request& r, TokenCount chunk) {
    ASSERT_TRUE(kv.reserve(r, chunk));
    r.computed += chunk;
    kv.settle(r, chunk);
  };
  // P: 160 tokens in one step. All 10 blocks of both layers join the cache; the window then holds tokens 121..159,
  // blocks 7-9 (121 / 16 = 7), and releases blocks 0-6, which stay cached and free: 13 blocks in use.
  Request p = make(0, 160, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  kv.match_prefix(p);
  step(p, 160);
  EXPECT_EQ(kv.used_bytes(), 13 * 1000);
  EXPECT_EQ(kv.prefix_stats().registered_blocks, 20);
  kv.check_invariants({&p});
  kv.finish(p);
  EXPECT_EQ(kv.used_bytes(), 0);
  // Least recently released first: window blocks 6..0 (released as the window slid, the last first), then P's
  // full-attention blocks 9..0, then its window blocks 9..7. F (192 tokens, no content: 12 + 12 blocks) makes room
  // for itself by evicting 4 of the 20 cached blocks: window blocks 6, 5, 4 and 3.
  Request f = make(1, 192, {});
  kv.match_prefix(f);
  step(f, 192);
  EXPECT_EQ(kv.prefix_stats().evicted_blocks, 4);
  kv.finish(f);
  // R shares P's first 7 blocks. Its full-attention blocks 0-6 are cached, but window blocks 3-6 are not: from the
  // right, the first run of 3 cached window blocks is 0-2, so the hit ends at block 3 (48 tokens).
  Request r = make(2, 176, {1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103});
  kv.match_prefix(r);
  EXPECT_EQ(r.computed, 48);
  EXPECT_EQ(kv.cached_prefix_tokens(r), 48);
  // Its step computes 128 tokens: 11 blocks in each layer, 6 of them the cached ones it found.
  step(r, 128);
  // It computed full-attention blocks 3-6 again; their cached copies are unused, so it takes them (4 deduplicated)
  // and its chain goes on: blocks 7-10 join the cache, and window blocks 3-10. Its window then holds blocks 8-10
  // ((176 - 39) / 16 = 8): 11 + 3 blocks in use, all cached.
  const KvManager::PrefixStats s = kv.prefix_stats();
  EXPECT_EQ(s.deduplicated_blocks, 4);
  EXPECT_EQ(s.registered_blocks, 20 + 4 + 8);
  EXPECT_EQ(s.hit_tokens, 48);
  EXPECT_EQ(kv.used_bytes(), 14 * 1000);
  kv.check_invariants({&r});
  // P's prompt again (one block longer): its full-attention blocks 0-9 and window blocks 7-9 are all still cached.
  Request q = make(3, 176, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  kv.match_prefix(q);
  EXPECT_EQ(q.computed, 160);
  kv.forget_prefix(q);
  kv.finish(r);
  EXPECT_EQ(kv.used_bytes(), 0);
  kv.check_invariants({});
}

TEST(HybridPrefixCache, WindowLayersHoldWholeBlocksOfTheirWindow) {
  // A block-table window of 40 tokens in blocks of 16 holds the blocks of tokens [computed - 39, computed + chunk):
  // at 100 computed and a decode step, tokens 61..100, blocks 3..6: 4 pages, where the tokens alone fill 3.
  KvGroup w;
  w.cache_layers = 2;
  w.retention = Retention::kWindow;
  w.window_tokens = 40;
  EXPECT_EQ(w.pages_sum(10, 100, 1, 16), 2 * 3);
  w.block_table = true;
  EXPECT_EQ(w.pages_sum(10, 100, 1, 16), 2 * 4);
  EXPECT_EQ(w.pages_sum(10, 100, 0, 16), 2 * 4);  // tokens 61..99
  EXPECT_EQ(w.pages_sum(10, 111, 0, 16), 2 * 3);  // tokens 72..110: blocks 4..6
  EXPECT_EQ(w.pages_sum(10, 0, 100, 16), 2 * 7);  // a prefill chunk holds all its blocks during the step
}

TEST(HybridPrefixCache, ModelsWithSlidingWindowLayersReuseAPrefixLongerThanTheirWindow) {
  // A 7000-token prompt, then one sharing its first 6144 tokens (12 trace blocks of 512). Gemma 2 (local layers with
  // a 4096-token window beside global layers) and Mistral 7B v0.1 (every layer a 4096-token window) both find the
  // 384 shared engine blocks: the window blocks before the hit's end, 256 of them (ceil(4095 / 16)), left the first
  // request's window as it went on but stay cached.
  std::vector<std::uint64_t> shared, first, second;
  for (std::uint64_t i = 0; i < 12; ++i) shared.push_back(i + 1);
  first = shared;
  first.push_back(50);
  first.push_back(51);
  second = shared;
  second.push_back(60);
  second.push_back(61);
  const auto trace = write_rows("hybrid", {{0.0, 7000, 4, first}, {30.0, 7000, 4, second}});
  for (const std::string model : {"gemma-2-9b", "mistral-7b"}) {
    nlohmann::json doc = cached(trace);
    doc["model"] = model;
    const Outcome o = run_scenario(doc);
    const auto& pc = o.results["summary"]["prefix_cache"];
    EXPECT_EQ(pc["hit_tokens"], 6144) << model;
    EXPECT_EQ(o.summary.used_bytes_at_end, 0) << model;
    EXPECT_LT(o.by_id(1).ttft_s, o.by_id(0).ttft_s / 3) << model;
  }
}

TEST(HybridPrefixCache, InvariantsHoldUnderEvictionAndPreemptionWithWindows) {
  // InvariantsHoldUnderEvictionAndPreemption's workload under a 256-token window that prefills within itself (its
  // blocks slide out during prefill and decode) and on Gemma 2's hybrid layers; the invariant checker runs after
  // every event (window references, block classes, bytes).
  for (const std::string model : {"llama-3.1-8b", "gemma-2-9b"}) {
    std::mt19937_64 rng(11);
    std::vector<Row> rows;
    for (int i = 0; i < 120; ++i) {
      const long long prompt = 100 + static_cast<long long>(rng() % 4000);
      Row r{0.02 * i, prompt, 1 + static_cast<long long>(rng() % 300), {}};
      const std::uint64_t family = rng() % 5;
      for (long long t = 0; t < prompt; t += 512) r.ids.push_back(t < 1536 ? family * 1000 + t : rng());
      rows.push_back(r);
    }
    nlohmann::json doc = cached(write_rows("stress-window-" + model, rows));
    doc["model"] = model;
    if (model == "llama-3.1-8b") doc["kv"] = {{"strategy", "sliding-window:window_tokens=256,prefill=windowed"}};
    doc["engine"]["num_gpu_blocks"] = model == "llama-3.1-8b" ? 600 : 1200;
    doc["engine"]["max_num_batched_tokens"] = 1024;
    const Outcome o = run_scenario(doc);
    const auto& s = o.results["summary"];
    EXPECT_EQ(s["requests"]["completed"], 120) << model;
    EXPECT_GT(s["prefix_cache"]["hit_tokens"].get<long long>(), 0) << model;
    EXPECT_GT(s["prefix_cache"]["evicted_blocks"].get<long long>(), 0) << model;
    EXPECT_GT(s["kv"]["preemptions"].get<long long>(), 0) << model;
    EXPECT_EQ(o.summary.used_bytes_at_end, 0) << model;
  }
}

TEST(PrefixCachingEngine, ConfigurationsItDoesNotModelAreErrors) {
  nlohmann::json doc = cached(write_rows("config", {{0.0, 100, 2, {1}}}));
  doc["engine"]["preemption"] = "swap";
  std::string e = error_of([&] { run_scenario(doc); });
  EXPECT_NE(e.find("engine.prefix_caching"), std::string::npos) << e;
  EXPECT_NE(e.find("recompute"), std::string::npos) << e;
  doc["engine"]["preemption"] = "recompute";
  for (const std::string strategy : {"sliding-window", "streaming-llm", "infllm", "shadowkv"}) {
    doc["kv"] = {{"strategy", strategy}};
    e = error_of([&] { run_scenario(doc); });
    EXPECT_NE(e.find("engine.prefix_caching"), std::string::npos) << e;
    EXPECT_NE(e.find(strategy), std::string::npos) << e;
  }
  // A window that prefills within itself, without sinks, is vLLM's sliding window: cached as the hybrid allocator
  // does, but not with SGLang's mode or with tiers.
  doc["kv"] = {{"strategy", "sliding-window:prefill=windowed"}};
  EXPECT_NO_THROW(run_scenario(doc));
  doc["engine"]["prefix_cache_mode"] = "sglang";
  e = error_of([&] { run_scenario(doc); });
  EXPECT_NE(e.find("SGLang"), std::string::npos) << e;
  doc["engine"].erase("prefix_cache_mode");
  doc["model"] = "gemma-2-9b";
  doc["kv"] = {{"strategy", "full"}};
  doc["engine"]["kv_tiers"] = {{"tiers", {{{"tier", "host"}, {"capacity_GiB", 1}}}}};
  e = error_of([&] { run_scenario(doc); });
  EXPECT_NE(e.find("memory tiers with sliding-window layers"), std::string::npos) << e;
  doc["engine"].erase("kv_tiers");
  doc["model"] = "llama-3.1-8b";
  doc["kv"] = {{"strategy", "kivi-2"}};  // quantized blocks are cached quantized
  EXPECT_NO_THROW(run_scenario(doc));
  doc["engine"]["num_gpu_blocks"] = 0;
  e = error_of([&] { run_scenario(doc); });
  EXPECT_NE(e.find("engine.num_gpu_blocks"), std::string::npos) << e;
}

}  // namespace
}  // namespace kvsim
