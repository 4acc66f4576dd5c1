// Eviction policies of the prefix cache: each policy's victim at capacity and capacity - 1 on hand-computed
// sequences, LRU's hit rate never falling as the cache grows, the invariants (no referenced block evicted, no chain
// losing a parent, the policy's structures in agreement) over random workloads for every policy, and the scenario
// key that chooses a policy.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_fixture.h"
#include "sim/kv/eviction/eviction_policy.h"
#include "sim/kv/prefix_cache.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::error_of;
using testing::Outcome;
using testing::run_scenario;

std::string scenario_error(const nlohmann::json& doc) {
  return error_of([&] { run_scenario(doc); });
}

std::unique_ptr<EvictionPolicy> policy(const std::string& name, nlohmann::json params = nlohmann::json::object(),
                                       const EvictionContext& ctx = {}) {
  ParamReader reader(params, "test");
  auto p = eviction_policies().get(name, "test").factory(reader, ctx);
  reader.finish();
  return p;
}

// A cache of `capacity` blocks serving one request at a time: each prompt (a chain of block identities) reuses its
// cached prefix, registers the rest (evicting, while the cache is full, a block the policy chooses) and releases
// its chain when done. Records the identities evicted, in order, and the blocks found cached.
class OneAtATime {
 public:
  OneAtATime(std::unique_ptr<EvictionPolicy> p, std::size_t capacity) : cache_(std::move(p)), capacity_(capacity) {}

  void serve(const std::vector<std::uint64_t>& prompt) {
    std::vector<BlockId> chain;
    cache_.match(prompt, prompt.size(), chain);
    cache_.acquire(chain);
    hits_ += chain.size();
    lookups_ += prompt.size();
    for (std::size_t i = chain.size(); i < prompt.size(); ++i) {
      if (cache_.cached() >= capacity_) {
        if (cache_.unreferenced() == 0) break;  // the prompt alone fills the cache: the rest stays uncached
        evict_one();
      }
      chain.push_back(cache_.insert(prompt[i], chain.empty() ? PrefixCache::kNone : chain.back()));
      live_.push_back(prompt[i]);
    }
    const std::vector<const std::vector<BlockId>*> holders = {&chain};
    cache_.check_invariants(holders);
    cache_.release(chain);
    cache_.check_invariants({});
  }
  // Blocks of lookups found cached.
  std::size_t hits() const { return hits_; }
  double hit_rate() const { return lookups_ ? static_cast<double>(hits_) / static_cast<double>(lookups_) : 0; }
  const std::vector<std::uint64_t>& victims() const { return victims_; }

 private:
  void evict_one() {
    cache_.evict(1);
    // The victim is the one identity no longer cached.
    for (std::size_t i = 0; i < live_.size(); ++i) {
      if (!cached(live_[i])) {
        victims_.push_back(live_[i]);
        live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
    }
    FAIL() << "no block left the cache";
  }
  // Whether a block with this identity is cached (a one-block lookup finds it whatever its depth).
  bool cached(std::uint64_t hash) const {
    std::vector<BlockId> found;
    cache_.match(std::vector<std::uint64_t>{hash}, 1, found);
    return !found.empty();
  }

  PrefixCache cache_;
  std::size_t capacity_;
  std::vector<std::uint64_t> live_, victims_;
  std::size_t hits_ = 0, lookups_ = 0;
};

// One-block prompts named by letters.
std::vector<std::uint64_t> victims_of(const std::string& policy_name, const std::string& sequence,
                                      std::size_t capacity, nlohmann::json params = nlohmann::json::object()) {
  OneAtATime run(policy(policy_name, params), capacity);
  for (char c : sequence) run.serve({static_cast<std::uint64_t>(c)});
  return run.victims();
}

std::vector<std::uint64_t> ids(const std::string& letters) { return {letters.begin(), letters.end()}; }

TEST(EvictionPolicy, LruEvictsTheLeastRecentlyReleased) {
  // A A B C D: release order A, B, C; D needs room at capacity 3 and evicts A; at 4 all fit.
  EXPECT_EQ(victims_of("lru", "AABCD", 4), ids(""));
  EXPECT_EQ(victims_of("lru", "AABCD", 3), ids("A"));
  // A A B C D B E at 3: D evicts A; B hits; E evicts C (order C, D, B).
  EXPECT_EQ(victims_of("lru", "AABCDBE", 3), ids("AC"));
}

TEST(EvictionPolicy, LruAccessOrdersByLastLookupNotByRelease) {
  // X computes A, then Y computes B; Y finishes first, X last. vLLM's LRU (release order) evicts B; SGLang's
  // (last lookup or insertion) evicts A, touched first.
  for (const auto& [name, victim] : {std::pair<std::string, std::uint64_t>{"lru", 'B'}, {"lru-access", 'A'}}) {
    PrefixCache c(policy(name));
    const std::vector<BlockId> x = {c.insert('A', PrefixCache::kNone)};
    const std::vector<BlockId> y = {c.insert('B', PrefixCache::kNone)};
    c.release(y);
    c.release(x);
    c.evict(1);
    std::vector<BlockId> found;
    c.match(std::vector<std::uint64_t>{victim}, 1, found);
    EXPECT_TRUE(found.empty()) << name;
    EXPECT_EQ(c.cached(), 1u) << name;
  }
  // A lookup refreshes a block under lru-access: with both cached, hitting A makes B the older.
  PrefixCache c(policy("lru-access"));
  std::vector<BlockId> a = {c.insert('A', PrefixCache::kNone)};
  std::vector<BlockId> b = {c.insert('B', PrefixCache::kNone)};
  c.release(a);
  c.release(b);
  std::vector<BlockId> hit;
  c.match(std::vector<std::uint64_t>{'A'}, 1, hit);
  c.acquire(hit);
  c.release(hit);
  c.evict(1);
  c.match(std::vector<std::uint64_t>{'B'}, 1, hit);
  EXPECT_TRUE(hit.empty());  // B went
}

TEST(EvictionPolicy, LfuEvictsTheLeastUsedThenTheOldest) {
  // A is used twice, B and C once: D evicts B (fewest uses, released before C).
  EXPECT_EQ(victims_of("lfu", "AABCD", 4), ids(""));
  EXPECT_EQ(victims_of("lfu", "AABCD", 3), ids("B"));
  // A three times, B and C twice: D evicts B (two uses, older than C).
  EXPECT_EQ(victims_of("lfu", "AAABBCCD", 3), ids("B"));
}

TEST(EvictionPolicy, LruKEvictsTheOldestKthUse) {
  // A A B C D: B and C have one use (infinite 2-distance): B, the older, goes.
  EXPECT_EQ(victims_of("lru-k", "AABCD", 4), ids(""));
  EXPECT_EQ(victims_of("lru-k", "AABCD", 3), ids("B"));
  // A A A B B C C D: every block used at least twice; the second-last uses are A's 2nd, B's 1st, C's 1st release
  // (ticks 2, 4, 6): A goes, where LFU evicts B.
  EXPECT_EQ(victims_of("lru-k", "AAABBCCD", 3), ids("A"));
  // K = 1 is LRU.
  EXPECT_EQ(victims_of("lru-k", "AABCDBE", 3, {{"k", 1}}), victims_of("lru", "AABCDBE", 3));
}

TEST(EvictionPolicy, ArcBalancesRecencyAndFrequencyWithGhosts) {
  EXPECT_EQ(victims_of("arc", "AABCDBE", 5), ids(""));
  // At 4: A is reused (T2), B C D once (T1); B hits (T2); E: |T1| = 2 > p = 0, so T1's oldest, C.
  EXPECT_EQ(victims_of("arc", "AABCDBE", 4), ids("C"));
  // At 3: D evicts T1's oldest, B (into B1); B misses again: C goes (B1 = B, C); B is found in B1: p = 1 and B
  // enters T2; E: |T1| = 1 = p, so T2's oldest, A.
  EXPECT_EQ(victims_of("arc", "AABCDBE", 3), ids("BCA"));
}

TEST(EvictionPolicy, S3FifoFiltersOneUseBlocksThroughTheSmallQueue) {
  EXPECT_EQ(victims_of("s3fifo", "AABCDBE", 5), ids(""));
  // At 4: E finds S = A B C D; A and B were reused and move to M, C is evicted into the ghost.
  EXPECT_EQ(victims_of("s3fifo", "AABCDBE", 4), ids("C"));
  // At 3: D: A moves to M, B is evicted (ghost B); B misses: C is evicted (ghost B, C) and B, a ghost, enters M;
  // E: S holds D alone, which goes.
  EXPECT_EQ(victims_of("s3fifo", "AABCDBE", 3), ids("BCD"));
}

TEST(EvictionPolicy, CostAwareKeepsExpensiveDeepBlocksAndAgesTheRest) {
  // Unit FLOPs per token and per token pair, blocks of 16 tokens: a first block costs 16 + 16 x 8.5 = 152, a second
  // 16 + 16 x 24.5 = 408, so H(Y) = 408 / 152 = 2.68 and a one-block prompt's H = L + 1.
  EvictionContext ctx;
  ctx.block_tokens = 16;
  ctx.linear_flops_per_token = 1;
  ctx.attention_flops_per_token_pair = 1;
  const auto run = [&](std::size_t capacity) {
    OneAtATime r(policy("cost-aware", nlohmann::json::object(), ctx), capacity);
    r.serve(ids("XY"));
    for (char c : std::string("ZWVU")) r.serve({static_cast<std::uint64_t>(c)});
    return r.victims();
  };
  EXPECT_EQ(run(6), ids(""));
  // At 3: W evicts Z (1 < 2.68; L = 1, H(W) = 2); V evicts W (L = 2, H(V) = 3); U evicts Y (2.68 < 3), which LRU
  // would have evicted first.
  EXPECT_EQ(run(3), ids("ZWY"));
  OneAtATime lru(policy("lru"), 3);
  lru.serve(ids("XY"));
  lru.serve(ids("Z"));
  lru.serve(ids("W"));
  EXPECT_EQ(lru.victims(), ids("Y"));
}

// Prompts drawn from a tree of shared prefixes: block identities chained over the parent's, as the engine's are
// (sim/kv/block_hash.h), so equal identities mean equal prefixes.
std::vector<std::vector<std::uint64_t>> random_prompts(unsigned seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::uint64_t>> out;
  for (int i = 0; i < count; ++i) {
    std::vector<std::uint64_t> content;
    const int family = static_cast<int>(rng() % 6), shared = static_cast<int>(rng() % 6);
    const int own = 1 + static_cast<int>(rng() % 8);
    for (int b = 0; b < shared; ++b) content.push_back(1000 * (family + 1) + b);
    for (int b = 0; b < own; ++b) content.push_back(1'000'000 + rng() % 40);
    std::vector<std::uint64_t> chained;
    std::uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (std::uint64_t c : content) {
      h = (h ^ c) * 0x100000001b3ULL + (h >> 29);
      chained.push_back(h);
    }
    out.push_back(chained);
  }
  return out;
}

TEST(EvictionPolicy, LruHitRateNeverFallsAsTheCacheGrows) {
  for (const unsigned seed : {1u, 2u, 3u}) {
    const auto prompts = random_prompts(seed, 400);
    std::size_t last = 0;
    for (std::size_t capacity = 16; capacity <= 2048; capacity *= 2) {
      OneAtATime run(policy("lru"), capacity);
      for (const auto& p : prompts) run.serve(p);
      EXPECT_GE(run.hits(), last) << "seed " << seed << " capacity " << capacity;
      last = run.hits();
    }
    EXPECT_GT(last, 0u);
  }
}

TEST(EvictionPolicy, EveryPolicyKeepsReferencedBlocksAndParentsUnderConcurrentUse) {
  // Up to 6 requests hold chains at once; the cache is squeezed to random sizes; the invariant checker runs after
  // every operation (it fails if a held block was evicted or a chain lost a parent).
  for (const std::string& name : eviction_policies().names()) {
    for (const unsigned seed : {11u, 12u}) {
      PrefixCache cache(policy(name));
      std::mt19937_64 rng(seed);
      const auto prompts = random_prompts(seed, 600);
      std::vector<std::vector<BlockId>> held;
      std::size_t hits = 0;
      const auto check = [&] {
        std::vector<const std::vector<BlockId>*> holders;
        for (const auto& h : held) holders.push_back(&h);
        cache.check_invariants(holders);
      };
      for (const auto& prompt : prompts) {
        std::vector<BlockId> chain;
        cache.match(prompt, prompt.size(), chain);
        cache.acquire(chain);
        hits += chain.size();
        for (std::size_t i = chain.size(); i < prompt.size(); ++i) {
          const BlockId b = cache.insert(prompt[i], chain.empty() ? PrefixCache::kNone : chain.back());
          if (b == PrefixCache::kNone) break;  // a repeated identity inside one prompt: stop registering
          chain.push_back(b);
        }
        held.push_back(std::move(chain));
        ASSERT_NO_THROW(check()) << name;
        if (held.size() > 1 + rng() % 6) {
          const std::size_t k = rng() % held.size();
          cache.release(held[k]);
          held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
        }
        const std::size_t target = 20 + rng() % 200;
        if (cache.cached() > target) cache.evict(std::min(cache.unreferenced(), cache.cached() - target));
        ASSERT_NO_THROW(check()) << name << " seed " << seed;
      }
      EXPECT_GT(hits, 0u) << name;
      EXPECT_GT(cache.evictions(), 0) << name;
      for (const auto& h : held) cache.release(h);
      held.clear();
      cache.evict(cache.unreferenced());
      EXPECT_EQ(cache.cached(), 0u) << name;  // every chain drains, leaves first
      ASSERT_NO_THROW(check()) << name;
    }
  }
}

// ---- the scenario key ------------------------------------------------------------------------------------------

nlohmann::json shared_prefix_scenario() {
  nlohmann::json doc = base_scenario("unused.jsonl");
  doc["workload"] = {{"synthetic",
                      {{"num_requests", 300},
                       {"arrival", {{"process", "poisson"}, {"rate_per_s", 40}}},
                       {"prompt_tokens", {{"dist", "uniform"}, {"min", 50}, {"max", 400}}},
                       {"output_tokens", {{"dist", "uniform"}, {"min", 1}, {"max", 64}}},
                       {"prefix", {{"groups", 12}, {"tokens", {{"dist", "fixed"}, {"value", 1024}}},
                                   {"popularity_exponent", 1.0}}}}}};
  doc["engine"]["prefix_caching"] = true;
  doc["engine"]["num_gpu_blocks"] = 700;
  doc["engine"]["check_invariants"] = true;
  return doc;
}

TEST(EvictionScenario, EveryPolicyRunsTheEngineWithTheInvariantCheckerOn) {
  for (const std::string& name : eviction_policies().names()) {
    nlohmann::json doc = shared_prefix_scenario();
    doc["engine"]["eviction"] = name;
    const Outcome o = run_scenario(doc);
    const auto& s = o.results["summary"];
    EXPECT_EQ(s["requests"]["completed"], 300) << name;
    EXPECT_GT(s["prefix_cache"]["hit_tokens"].get<long long>(), 0) << name;
    EXPECT_GT(s["prefix_cache"]["evicted_blocks"].get<long long>(), 0) << name;
    EXPECT_EQ(o.results["scenario"]["engine"]["eviction"]["policy"], name) << name;
  }
}

TEST(EvictionScenario, LruIsTheDefaultAndParametersAreChecked) {
  nlohmann::json doc = shared_prefix_scenario();
  const Outcome plain = run_scenario(doc);
  doc["engine"]["eviction"] = {{"policy", "lru"}};
  const Outcome named = run_scenario(doc);
  EXPECT_EQ(plain.results["summary"]["prefix_cache"], named.results["summary"]["prefix_cache"]);
  EXPECT_EQ(plain.results["scenario"]["engine"]["eviction"], nlohmann::json({{"policy", "lru"}}));

  doc["engine"]["eviction"] = {{"policy", "lru-k"}, {"k", 3}};
  EXPECT_EQ(run_scenario(doc).results["scenario"]["engine"]["eviction"]["k"], 3);

  doc["engine"]["eviction"] = "mru";
  std::string e = scenario_error(doc);
  EXPECT_NE(e.find("engine.eviction"), std::string::npos) << e;
  EXPECT_NE(e.find("s3fifo"), std::string::npos) << e;  // lists the policies
  doc["engine"]["eviction"] = {{"policy", "lru-k"}, {"k", 0}};
  e = scenario_error(doc);
  EXPECT_NE(e.find("engine.eviction.k"), std::string::npos) << e;
  doc["engine"]["eviction"] = {{"policy", "s3fifo"}, {"smal_fraction", 0.2}};
  e = scenario_error(doc);
  EXPECT_NE(e.find("smal_fraction"), std::string::npos) << e;
  EXPECT_NE(e.find("small_fraction"), std::string::npos) << e;
  doc["engine"]["eviction"] = 3;
  EXPECT_NE(scenario_error(doc).find("engine.eviction"), std::string::npos);
  doc["engine"]["eviction"] = "lfu";
  doc["engine"]["prefix_caching"] = false;
  e = scenario_error(doc);
  EXPECT_NE(e.find("prefix_caching"), std::string::npos) << e;
}

}  // namespace
}  // namespace kvsim
