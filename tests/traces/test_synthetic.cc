// Synthetic workloads: kvsim's own samplers, arrival processes and length distributions.
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/traces/trace_test_util.h"
#include "traces/random.h"
#include "traces/workload.h"

namespace kvsim {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::read_all;

std::vector<TraceRecord> generate(const json& synthetic, std::uint64_t seed = 1) {
  const json workload = {{"synthetic", synthetic}};
  ParamReader params(workload, "workload");
  auto reader = make_workload(params, seed, std::filesystem::temp_directory_path());
  return read_all(*reader);
}

json spec(const json& arrival, std::int64_t n = 20'000) {
  return {{"num_requests", n},
          {"arrival", arrival},
          {"prompt_tokens", {{"dist", "lognormal"}, {"mean", 1000}, {"sigma", 1.0}}},
          {"output_tokens", {{"dist", "uniform"}, {"min", 10}, {"max", 500}}}};
}

struct GapStats {
  double rate = 0, cv = 0;
};

GapStats gap_stats(const std::vector<TraceRecord>& rows) {
  double sum = 0, sum2 = 0;
  const auto n = static_cast<double>(rows.size() - 1);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const double g = static_cast<double>(rows[i].arrival_ns - rows[i - 1].arrival_ns) * 1e-9;
    sum += g;
    sum2 += g * g;
  }
  const double mean = sum / n;
  return {1.0 / mean, std::sqrt(sum2 / n - mean * mean) / mean};
}

template <class F>
double mean_of(const std::vector<TraceRecord>& rows, F field) {
  double sum = 0;
  for (const auto& r : rows) sum += static_cast<double>(field(r));
  return sum / static_cast<double>(rows.size());
}

TEST(Rng, SameSeedAndStreamGiveTheSameDraws) {
  Rng a(42, RngStream::kPromptLengths), b(42, RngStream::kPromptLengths), c(42, RngStream::kOutputLengths);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  Rng d(42, RngStream::kPromptLengths);
  EXPECT_NE(c.next_u64(), d.next_u64());
}

TEST(Rng, GoldenIntegerDraws) {
  // mt19937_64 is fully specified by the standard and uniform_int is kvsim's own: these values must not change
  // between platforms or releases (they pin the seed → stream mapping that scenario results depend on).
  Rng rng(42, RngStream::kPromptLengths);
  std::vector<std::int64_t> draws;
  for (int i = 0; i < 6; ++i) draws.push_back(rng.uniform_int(0, 1000));
  EXPECT_EQ(draws, (std::vector<std::int64_t>{668, 249, 120, 574, 297, 848}));
}

TEST(Rng, SamplerMoments) {
  Rng rng(7, RngStream::kArrivals);
  constexpr int kN = 200'000;
  double e = 0, z = 0, z2 = 0, g = 0, u = 0;
  for (int i = 0; i < kN; ++i) {
    e += rng.exponential(4.0);
    const double x = rng.normal();
    z += x;
    z2 += x * x;
    g += rng.gamma(0.3, 2.0);
    u += static_cast<double>(rng.uniform_int(-3, 3));
  }
  EXPECT_NEAR(e / kN, 0.25, 0.25 * 0.01);
  EXPECT_NEAR(z / kN, 0.0, 0.01);
  EXPECT_NEAR(z2 / kN, 1.0, 0.01);
  EXPECT_NEAR(g / kN, 0.6, 0.6 * 0.02);
  EXPECT_NEAR(u / kN, 0.0, 0.02);
}

TEST(Synthetic, SameSeedSameStreamDifferentSeedDifferentStream) {
  const json s = spec({{"process", "poisson"}, {"rate_per_s", 10}}, 500);
  const auto a = generate(s, 3), b = generate(s, 3), c = generate(s, 4);
  ASSERT_EQ(a.size(), 500u);
  ASSERT_EQ(c.size(), 500u);
  int differing = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].arrival_ns, b[i].arrival_ns);
    EXPECT_EQ(a[i].prompt_tokens, b[i].prompt_tokens);
    EXPECT_EQ(a[i].output_tokens, b[i].output_tokens);
    differing += a[i].arrival_ns != c[i].arrival_ns || a[i].prompt_tokens != c[i].prompt_tokens;
  }
  EXPECT_GT(differing, 490);
  EXPECT_EQ(a[0].arrival_ns, 0);
}

TEST(Synthetic, ChangingLengthsKeepsArrivals) {
  json s = spec({{"process", "poisson"}, {"rate_per_s", 10}}, 100);
  const auto a = generate(s);
  s["prompt_tokens"] = {{"dist", "fixed"}, {"value", 7}};
  const auto b = generate(s);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i].arrival_ns, b[i].arrival_ns);
  EXPECT_EQ(b[5].prompt_tokens, 7);
}

TEST(Synthetic, PoissonRate) {
  const auto rows = generate(spec({{"process", "poisson"}, {"rate_per_s", 10}}));
  ASSERT_EQ(rows.size(), 20'000u);
  const GapStats g = gap_stats(rows);
  EXPECT_NEAR(g.rate, 10.0, 10.0 * 0.03);
  EXPECT_NEAR(g.cv, 1.0, 0.05);
}

TEST(Synthetic, GammaRateAndCv) {
  for (const double cv : {0.5, 2.0}) {
    const auto rows = generate(spec({{"process", "gamma"}, {"rate_per_s", 5}, {"cv", cv}}, 50'000));
    const GapStats g = gap_stats(rows);
    EXPECT_NEAR(g.rate, 5.0, 5.0 * 0.03) << "cv " << cv;
    EXPECT_NEAR(g.cv, cv, cv * 0.05) << "cv " << cv;
  }
}

TEST(Synthetic, ConstantArrivals) {
  const auto rows = generate(spec({{"process", "constant"}, {"rate_per_s", 4}}, 1000));
  for (std::size_t i = 0; i < rows.size(); ++i) ASSERT_EQ(rows[i].arrival_ns, static_cast<SimTimeNs>(i) * 250'000'000);
}

TEST(Synthetic, DurationBoundsTheStream) {
  json s = spec({{"process", "constant"}, {"rate_per_s", 4}});
  s.erase("num_requests");
  s["duration_s"] = 10;
  const auto rows = generate(s);
  ASSERT_EQ(rows.size(), 40u);  // 0, 0.25, ..., 9.75 s
  EXPECT_LT(rows.back().arrival_ns, 10'000'000'000);
}

TEST(Synthetic, LognormalMeanAndClamp) {
  json s = spec({{"process", "poisson"}, {"rate_per_s", 10}}, 50'000);
  const auto rows = generate(s);
  EXPECT_NEAR(mean_of(rows, [](const TraceRecord& r) { return r.prompt_tokens; }), 1000.0, 1000.0 * 0.03);
  s["prompt_tokens"] = {{"dist", "lognormal"}, {"mean", 1000}, {"sigma", 1.5}, {"min", 100}, {"max", 2000}};
  for (const auto& r : generate(s)) {
    ASSERT_GE(r.prompt_tokens, 100);
    ASSERT_LE(r.prompt_tokens, 2000);
  }
}

TEST(Synthetic, UniformAndFixedLengths) {
  const auto rows = generate(spec({{"process", "poisson"}, {"rate_per_s", 10}}));
  std::set<TokenCount> seen;
  for (const auto& r : rows) {
    ASSERT_GE(r.output_tokens, 10);
    ASSERT_LE(r.output_tokens, 500);
    seen.insert(r.output_tokens);
  }
  EXPECT_EQ(seen.size(), 491u);  // every value of 10..500 drawn at least once
  EXPECT_NEAR(mean_of(rows, [](const TraceRecord& r) { return r.output_tokens; }), 255.0, 255.0 * 0.02);
}

TEST(Synthetic, ZipfStaysInRangeWithPowerLawFrequencies) {
  constexpr int kN = 200'000;  // P(1) is estimated to within 0.5 % (one standard error)
  json s = spec({{"process", "poisson"}, {"rate_per_s", 10}}, kN);
  s["output_tokens"] = {{"dist", "zipf"}, {"min", 1}, {"max", 100}, {"exponent", 1.0}};
  s["prompt_tokens"] = {{"dist", "zipf"}, {"min", 200}, {"max", 4000}, {"exponent", 1.2}};
  int ones = 0;
  for (const auto& r : generate(s)) {
    ASSERT_GE(r.output_tokens, 1);
    ASSERT_LE(r.output_tokens, 100);
    ASSERT_GE(r.prompt_tokens, 200);
    ASSERT_LE(r.prompt_tokens, 4000);
    ones += r.output_tokens == 1;
  }
  double harmonic = 0;
  for (int k = 1; k <= 100; ++k) harmonic += 1.0 / k;
  EXPECT_NEAR(ones / static_cast<double>(kN), 1.0 / harmonic, 0.03 / harmonic);
}

TEST(Synthetic, EmpiricalSamplesRowsJointly) {
  // Output = 10 × prompt in every row, so joint sampling keeps that relation and independent sampling breaks it.
  std::string rows = "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n";
  for (int p = 1; p <= 50; ++p) rows += std::to_string(p) + "," + std::to_string(10 * p) + ",0,0\n";
  testing::TempFile file(rows);
  json s = spec({{"process", "poisson"}, {"rate_per_s", 10}}, 2000);
  s["prompt_tokens"] = {{"dist", "empirical"}, {"path", file.name()}, {"format", "vidur-csv"}};
  s["output_tokens"] = {{"dist", "empirical"}, {"path", file.name()}};  // format detected: still the same table
  std::set<TokenCount> prompts;
  for (const auto& r : generate(s)) {
    ASSERT_EQ(r.output_tokens, 10 * r.prompt_tokens);
    prompts.insert(r.prompt_tokens);
  }
  EXPECT_EQ(prompts.size(), 50u);

  s["output_tokens"] = {{"dist", "fixed"}, {"value", 3}};
  for (const auto& r : generate(s)) ASSERT_EQ(r.output_tokens, 3);
}

TEST(Synthetic, EmpiricalFromRealShareGpt) {
  json s = spec({{"process", "poisson"}, {"rate_per_s", 10}}, 20'000);
  const std::string path =
      testing::real_trace("sharegpt_sarathi/sharegpt_8k_filtered_stats_llama2_tokenizer.csv").string();
  s["prompt_tokens"] = {{"dist", "empirical"}, {"path", path}, {"format", "vidur-csv"}};
  s["output_tokens"] = {{"dist", "empirical"}, {"path", path}, {"format", "vidur-csv"}};
  const auto rows = generate(s);
  double file_mean = 0;
  const auto all = read_all("vidur-csv", path);
  for (const auto& r : all) file_mean += static_cast<double>(r.prompt_tokens) / static_cast<double>(all.size());
  EXPECT_NEAR(mean_of(rows, [](const TraceRecord& r) { return r.prompt_tokens; }), file_mean, file_mean * 0.03);
  for (const auto& r : rows) ASSERT_LE(r.output_tokens, 1024);  // the file's decode cap
}

TEST(Synthetic, BadSpecsAreErrors) {
  json s = spec({{"process", "poisson"}, {"rate_per_s", 10}}, 10);
  json no_bound = s;
  no_bound.erase("num_requests");
  EXPECT_CONTAINS(error_of([&] { generate(no_bound); }), "workload.synthetic.num_requests: required key is missing");

  json bad_process = s;
  bad_process["arrival"] = {{"process", "hawkes"}, {"rate_per_s", 1}};
  EXPECT_CONTAINS(error_of([&] { generate(bad_process); }),
                  "workload.synthetic.arrival.process: unknown arrival process 'hawkes'; available: poisson, gamma, constant");

  json extra_key = s;
  extra_key["arrival"]["cv"] = 2;  // cv is a gamma parameter
  EXPECT_CONTAINS(error_of([&] { generate(extra_key); }), "unknown key 'workload.synthetic.arrival.cv'");

  json bad_rate = s;
  bad_rate["arrival"]["rate_per_s"] = 0;
  EXPECT_CONTAINS(error_of([&] { generate(bad_rate); }), "workload.synthetic.arrival.rate_per_s: 0 is out of range; expected 1e-06 to 1e+07 requests per second");

  json gamma_without_cv = s;
  gamma_without_cv["arrival"] = {{"process", "gamma"}, {"rate_per_s", 1}};
  EXPECT_CONTAINS(error_of([&] { generate(gamma_without_cv); }), "workload.synthetic.arrival.cv: required key is missing");

  json bad_dist = s;
  bad_dist["prompt_tokens"] = {{"dist", "pareto"}};
  EXPECT_CONTAINS(error_of([&] { generate(bad_dist); }),
                  "unknown length distribution 'pareto'; available: fixed, uniform, lognormal, zipf, empirical");

  json bad_uniform = s;
  bad_uniform["output_tokens"] = {{"dist", "uniform"}, {"min", 10}, {"max", 5}};
  EXPECT_CONTAINS(error_of([&] { generate(bad_uniform); }), "workload.synthetic.output_tokens.max: 5 is out of range; expected 10 to");

  json missing_lengths = s;
  missing_lengths.erase("output_tokens");
  EXPECT_CONTAINS(error_of([&] { generate(missing_lengths); }), "workload.synthetic.output_tokens.dist: required key is missing");
}

TEST(SyntheticPrefixes, SharedPrefixesCarryTheSameContentIds) {
  // One shared prompt of 512 tokens and a unique suffix of 100: every prompt is 612 tokens, 39 content blocks of 16;
  // the first 32 (wholly inside the shared prompt) are the same in every request, the other 7 are each request's.
  json s = spec({{"process", "constant"}, {"rate_per_s", 1.0}}, 50);
  s["prompt_tokens"] = {{"dist", "fixed"}, {"value", 100}};
  s["prefix"] = {{"groups", 1}, {"tokens", {{"dist", "fixed"}, {"value", 512}}}};
  const std::vector<TraceRecord> rows = generate(s);
  ASSERT_EQ(rows.size(), 50u);
  std::set<std::uint64_t> own;
  for (const TraceRecord& r : rows) {
    EXPECT_EQ(r.prompt_tokens, 612);
    EXPECT_EQ(r.hash_block_tokens, 16);
    ASSERT_EQ(r.hash_ids.size(), 39u);
    for (std::size_t b = 0; b < 32; ++b) EXPECT_EQ(r.hash_ids[b], rows[0].hash_ids[b]) << b;
    for (std::size_t b = 32; b < 39; ++b) EXPECT_TRUE(own.insert(r.hash_ids[b]).second) << b;
  }
}

TEST(SyntheticPrefixes, PopularityFollowsTheExponent) {
  // Two groups (lengths drawn from 100..200): exponent 0 picks them equally, exponent 1 picks group 0 with
  // probability 1 / (1 + 1/2) = 2/3.
  json s = spec({{"process", "poisson"}, {"rate_per_s", 1.0}});
  s["prompt_tokens"] = {{"dist", "fixed"}, {"value", 1}};
  for (const auto& [exponent, share] : {std::pair{0.0, 0.5}, std::pair{1.0, 2.0 / 3}}) {
    s["prefix"] = {{"groups", 2}, {"tokens", {{"dist", "uniform"}, {"min", 100}, {"max", 200}}},
                   {"popularity_exponent", exponent}};
    const std::vector<TraceRecord> rows = generate(s);
    std::map<TokenCount, int> by_length;
    for (const TraceRecord& r : rows) by_length[r.prompt_tokens]++;
    ASSERT_EQ(by_length.size(), 2u);  // two groups, two lengths (the uniform draws differ for this seed)
    // Group 0's shared blocks carry group number 0 in their ids' upper half.
    int group0 = 0;
    for (const TraceRecord& r : rows) group0 += (r.hash_ids.front() >> 32) == 0 ? 1 : 0;
    EXPECT_NEAR(static_cast<double>(group0) / static_cast<double>(rows.size()), share, 0.01) << exponent;
  }
  s["prefix"] = {{"groups", 0}, {"tokens", {{"dist", "fixed"}, {"value", 10}}}};
  EXPECT_CONTAINS(error_of([&] { generate(s); }), "workload.synthetic.prefix.groups");
  s["prefix"] = {{"groups", 2}, {"tokens", {{"dist", "fixed"}, {"value", 10}}}, {"popular", 1}};
  EXPECT_CONTAINS(error_of([&] { generate(s); }), "popular");
}

}  // namespace
TEST(SyntheticSessions, EachTurnsPromptIsTheHistoryPlusNewText) {
  // Sessions of exactly 3 turns, 100 new tokens and 20 reply tokens per turn: prompts of 100, 220, 340 tokens; a
  // turn's content ids begin with the previous turn's prompt ids (the previous reply's follow), sessions share none.
  json s = spec({{"process", "poisson"}, {"rate_per_s", 0.1}}, 30);
  s["prompt_tokens"] = {{"dist", "fixed"}, {"value", 100}};
  s["output_tokens"] = {{"dist", "fixed"}, {"value", 20}};
  s["sessions"] = {{"turns", {{"dist", "fixed"}, {"value", 3}}}, {"think_time_s", 1}};
  const std::vector<TraceRecord> rows = generate(s);
  ASSERT_EQ(rows.size(), 30u);
  std::map<std::string, std::vector<const TraceRecord*>> by_session;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) {
      EXPECT_GE(rows[i].arrival_ns, rows[i - 1].arrival_ns);  // one stream, in arrival order
    }
    by_session[rows[i].session_id].push_back(&rows[i]);
  }
  std::set<std::uint64_t> first_ids;
  int complete = 0;
  for (const auto& [id, turns] : by_session) {
    EXPECT_TRUE(first_ids.insert(turns[0]->hash_ids[0]).second) << id;  // no content shared across sessions
    for (std::size_t t = 0; t < turns.size(); ++t) {
      const TraceRecord& r = *turns[t];
      EXPECT_EQ(r.turn, static_cast<std::int64_t>(t));
      EXPECT_EQ(r.prompt_tokens, 100 + 120 * static_cast<TokenCount>(t));
      EXPECT_EQ(r.hash_block_tokens, 1);
      ASSERT_EQ(r.hash_ids.size(), static_cast<std::size_t>(r.prompt_tokens));
      if (t == 0) continue;
      const TraceRecord& prev = *turns[t - 1];
      EXPECT_GT(r.arrival_ns, prev.arrival_ns);
      // Closed loop by default: each turn is marked, and a later turn's earliest arrival is its think time after
      // the previous turn's.
      EXPECT_TRUE(r.closed_loop);
      EXPECT_EQ(r.arrival_ns - prev.arrival_ns, r.think_ns);
      for (std::size_t i = 0; i < prev.hash_ids.size(); ++i) ASSERT_EQ(r.hash_ids[i], prev.hash_ids[i]) << i;
    }
    complete += turns.size() == 3 ? 1 : 0;
  }
  EXPECT_GE(complete, 8);  // of 10 or so: the 30-record bound cuts the last sessions short
  s["sessions"]["loop"] = "open";
  for (const TraceRecord& r : generate(s)) EXPECT_FALSE(r.closed_loop);
  s["sessions"]["loop"] = "half-open";
  EXPECT_CONTAINS(error_of([&] { generate(s); }), "workload.synthetic.sessions.loop");
  s["sessions"] = {{"think_time_s", 10}};
  EXPECT_CONTAINS(error_of([&] { generate(s); }), "workload.synthetic.sessions.turns");
  s["sessions"] = {{"turns", {{"dist", "fixed"}, {"value", 2}}}, {"think_time_s", 0}};
  EXPECT_CONTAINS(error_of([&] { generate(s); }), "workload.synthetic.sessions.think_time_s");
}

TEST(SyntheticRag, RequestsHoldDistinctRetrievedChunksBeforeTheirQuestion) {
  // Three documents of 200 tokens, two per request, then a 50-token question: 450-token prompts whose chunks stand
  // at 0 and 200, with distinct document ids in 1..3.
  json s = spec({{"process", "constant"}, {"rate_per_s", 1.0}}, 40);
  s["prompt_tokens"] = {{"dist", "fixed"}, {"value", 50}};
  s["rag"] = {{"documents", 3}, {"chunks_per_request", 2}, {"chunk_tokens", {{"dist", "fixed"}, {"value", 200}}}};
  const std::vector<TraceRecord> rows = generate(s);
  ASSERT_EQ(rows.size(), 40u);
  std::set<std::uint64_t> ids;
  for (const TraceRecord& r : rows) {
    EXPECT_EQ(r.prompt_tokens, 450);
    ASSERT_EQ(r.chunks.size(), 2u);
    EXPECT_EQ(r.chunks[0].start, 0);
    EXPECT_EQ(r.chunks[1].start, 200);
    EXPECT_NE(r.chunks[0].id, r.chunks[1].id);
    ids.insert(r.chunks[0].id);
    ids.insert(r.chunks[1].id);
    EXPECT_EQ(r.hash_ids.size(), 450u);
  }
  EXPECT_EQ(ids, (std::set<std::uint64_t>{1, 2, 3}));
  s["rag"]["chunks_per_request"] = 4;
  EXPECT_CONTAINS(error_of([&] { generate(s); }), "workload.synthetic.rag.chunks_per_request");
}

TEST(SyntheticRag, SkewedPopularityDrawsDistinctChunksWithoutEndlessRedraws) {
  // fuzz_scenario's finding: 92 distinct of 500 documents at popularity exponent 4 redrew taken documents for
  // minutes (a document past the first few is drawn about once in 10^8 draws); now every request gets its 92.
  json s = spec({{"process", "constant"}, {"rate_per_s", 1.0}}, 50);
  s["prompt_tokens"] = {{"dist", "fixed"}, {"value", 5}};
  const auto rag = [](int documents, int per_request, double exponent) {
    return json{{"documents", documents},
                {"chunks_per_request", per_request},
                {"popularity_exponent", exponent},
                {"chunk_tokens", {{"dist", "fixed"}, {"value", 2}}}};
  };
  s["rag"] = rag(500, 92, 4.0);
  for (const TraceRecord& r : generate(s)) {
    ASSERT_EQ(r.chunks.size(), 92u);
    std::set<std::uint64_t> ids;
    for (const auto& c : r.chunks) ids.insert(c.id);
    EXPECT_EQ(ids.size(), 92u);
    EXPECT_GE(*ids.begin(), 1u);
    EXPECT_LE(*ids.rbegin(), 500u);
    EXPECT_EQ(r.prompt_tokens, 92 * 2 + 5);
  }
  // Weights 1, 2^-60, 3^-60: the first chunk is document 1; the second, after the redraws keep drawing document 1,
  // is drawn from the two left in proportion to their weights: document 2 but for odds of 3e-11.
  s["rag"] = rag(3, 2, 60.0);
  for (const TraceRecord& r : generate(s)) {
    ASSERT_EQ(r.chunks.size(), 2u);
    EXPECT_EQ(r.chunks[0].id, 1u);
    EXPECT_EQ(r.chunks[1].id, 2u);
  }
  // Weights that underflow to 0 (exponent 10^6) are never drawn by weight: once the only document of weight > 0 is
  // taken, the rest come in order of popularity.
  s["rag"] = rag(4, 4, 1e6);
  for (const TraceRecord& r : generate(s)) {
    ASSERT_EQ(r.chunks.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(r.chunks[i].id, i + 1);
  }
}

}  // namespace kvsim
