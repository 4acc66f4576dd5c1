// The sustainable-rate search of `kvsim capacity` (sim/plan/capacity.h): bracketing and bisection, its verdicts, and
// the monotonicity a planner relies on.
#include <gtest/gtest.h>

#include "engine_fixture.h"
#include "sim/plan/capacity.h"

namespace kvsim {
namespace {

// A probe that passes up to `limit` times the rate, and counts its calls.
std::function<CapacityProbe(double)> threshold(double limit, int& calls) {
  return [limit, &calls](double m) {
    ++calls;
    CapacityProbe p;
    p.passes = m <= limit;
    p.offered_rate_per_s = 10 * m;
    return p;
  };
}

TEST(Capacity, BisectionStopsWithinItsTolerance) {
  for (const double limit : {0.037, 0.7, 1.0, 3.3, 100.0}) {
    for (const double tolerance : {0.1, 0.02, 0.001}) {
      int calls = 0;
      CapacityOptions o;
      o.tolerance = tolerance;
      const CapacityResult r = find_capacity(threshold(limit, calls), o);
      ASSERT_TRUE(r.found) << limit;
      EXPECT_EQ(r.verdict, "bracketed");
      EXPECT_LE(r.multiplier, limit);                  // a rate that passed
      EXPECT_GT(r.multiplier * (1 + tolerance), limit) << limit << " " << tolerance;  // within the tolerance
      ASSERT_NE(r.best(), nullptr);
      EXPECT_EQ(r.best()->offered_rate_per_s, 10 * r.multiplier);
      EXPECT_EQ(static_cast<int>(r.probes.size()), calls);
      EXPECT_LT(calls, 40);
    }
  }
}

TEST(Capacity, SaysWhenNoRateOrEveryRatePasses) {
  int calls = 0;
  CapacityResult r = find_capacity(threshold(0, calls), {});
  EXPECT_FALSE(r.found);
  EXPECT_EQ(r.verdict, "no rate meets the SLOs");
  EXPECT_EQ(r.best(), nullptr);
  r = find_capacity(threshold(1e9, calls), {});
  EXPECT_FALSE(r.found);
  EXPECT_EQ(r.verdict, "passes at every rate tried");
  EXPECT_EQ(r.multiplier, 1024);
}

// Several probes at a time (threads or MPI ranks in `kvsim capacity`) follow the same path to the same answer;
// speculation only adds simulations, and width 3 needs fewer rounds than width 1.
TEST(Capacity, SpeculativeWidthsFollowTheSamePath) {
  for (const double limit : {0.037, 0.7, 3.3, 100.0, 0.0, 1e9}) {
    int calls = 0;
    const CapacityResult one = find_capacity(threshold(limit, calls), {});
    for (const std::size_t width : {2, 3, 7}) {
      int rounds = 0, sims = 0;
      const auto batch = [&](const std::vector<double>& ms) {
        ++rounds;
        EXPECT_LE(ms.size(), width);
        std::vector<CapacityProbe> out;
        for (const double m : ms) out.push_back(threshold(limit, sims)(m));
        return out;
      };
      const CapacityResult r = find_capacity(batch, width, {});
      EXPECT_EQ(r.verdict, one.verdict) << limit << " " << width;
      EXPECT_EQ(r.multiplier, one.multiplier) << limit << " " << width;
      ASSERT_EQ(r.probes.size(), one.probes.size()) << limit << " " << width;
      for (std::size_t i = 0; i < r.probes.size(); ++i) EXPECT_EQ(r.probes[i].multiplier, one.probes[i].multiplier);
      EXPECT_EQ(r.simulations, sims);
      EXPECT_GE(sims, static_cast<int>(one.probes.size()));
      if (width >= 3) {
        EXPECT_LT(rounds, static_cast<int>(one.probes.size())) << limit;
      }
    }
  }
}

// The highest passing rate of a small chat workload on one H100, with `slo` and `memory_GiB`.
double capacity(const nlohmann::json& slo, double memory_gib) {
  std::vector<testing::Req> reqs;
  for (int i = 0; i < 160; ++i) reqs.push_back({i * 0.25, 800 + 37 * (i % 11), 120 + 13 * (i % 7)});
  nlohmann::json doc = testing::base_scenario(testing::write_trace("capacity", reqs));
  doc["engine"]["check_invariants"] = false;
  doc["hardware"]["memory_GiB"] = memory_gib;
  doc["slo"] = slo;
  CapacityOptions o;
  o.tolerance = 0.05;
  const CapacityResult r =
      find_capacity([&](double m) { return probe_scenario(doc, ".", m); }, o);
  EXPECT_TRUE(r.found);
  return r.best() != nullptr ? r.best()->offered_rate_per_s : 0;
}

TEST(Capacity, LooserSlosAndMoreMemoryNeverLowerTheRate) {
  const double tight = capacity({{"ttft_p99_s", 0.2}, {"tpot_p99_s", 0.03}}, 80);
  const double loose = capacity({{"ttft_p99_s", 1.0}, {"tpot_p99_s", 0.06}}, 80);
  EXPECT_GT(tight, 4);  // more than the trace's own 4 requests/s
  EXPECT_GE(loose, tight);
  const double small = capacity({{"ttft_p99_s", 1.0}, {"tpot_p99_s", 0.06}}, 19.5);  // ~1 GiB of KV
  EXPECT_LE(small, loose);
  // And the search sees the difference (about 40, 76 and 4.5 requests/s).
  EXPECT_GT(loose, 1.2 * tight);
  EXPECT_LT(small, 0.5 * loose);
}

}  // namespace
}  // namespace kvsim
