// Measured-table interpolation: exact at grid points, monotone between them, extrapolation flagged; and the
// measured backend prices ops from tables, falling back to the roofline (and saying so) where it has none.
#include <gtest/gtest.h>

#include <cmath>

#include "models/cost/impl/measured.h"
#include "models/cost/log_grid.h"
#include "models/cost/single_op.h"
#include "models/spec/catalog.h"

namespace kvsim {
namespace {

TEST(LogGrid, ExactAtGridPointsAndMonotoneBetween) {
  LogGrid g(2);
  // t = 1e-6 * batch^0.5 * len: a made-up but monotone surface.
  for (double b : {1.0, 4.0, 16.0, 64.0}) {
    for (double l : {128.0, 1024.0, 8192.0}) g.add({b, l, 0}, 1e-6 * std::sqrt(b) * l);
  }
  g.finalize();
  EXPECT_EQ(g.points(), 12u);
  for (double b : {1.0, 4.0, 16.0, 64.0}) {
    for (double l : {128.0, 1024.0, 8192.0}) {
      const LogGrid::Result r = g.at({b, l, 0});
      ASSERT_TRUE(r.found);
      EXPECT_TRUE(r.exact && r.inside);
      EXPECT_NEAR(r.seconds, 1e-6 * std::sqrt(b) * l, 1e-15);
    }
  }
  // A power law is linear in log-log space: interpolation between points is exact for it.
  EXPECT_NEAR(g.at({8.0, 2048.0, 0}).seconds, 1e-6 * std::sqrt(8.0) * 2048, 1e-12);
  double last = 0;
  for (double l = 128; l <= 8192; l *= 1.3) {
    const double t = g.at({10.0, l, 0}).seconds;
    EXPECT_GT(t, last);
    last = t;
  }
  const LogGrid::Result out = g.at({256.0, 8192.0, 0});
  EXPECT_TRUE(out.found);
  EXPECT_FALSE(out.inside);
  EXPECT_NEAR(out.seconds, 1e-6 * 16 * 8192, 1e-9);  // the edge trend extended
}

TEST(LogGrid, MissingCornersAreNotGuessed) {
  LogGrid g(2);
  g.add({1, 1, 0}, 1);
  g.add({2, 2, 0}, 4);
  g.finalize();
  EXPECT_TRUE(g.at({1, 1, 0}).found);
  EXPECT_FALSE(g.at({1.5, 1.5, 0}).found);  // (1,2) and (2,1) were never measured
}

TEST(MeasuredCostModel, UsesTablesAndFallsBackToTheRoofline) {
  Profile p;
  p.gpu = "h100-sxm";
  for (double m : {1.0, 16.0, 256.0}) {
    for (double n : {1024.0, 4096.0}) {
      for (double k : {1024.0, 4096.0}) p.gemm.push_back({static_cast<std::int64_t>(m), static_cast<std::int64_t>(n),
                                                          static_cast<std::int64_t>(k), "bf16", 1e-9 * m * n * k / 1e3, 0});
    }
  }
  for (std::int64_t b : {1, 8, 64}) {
    for (std::int64_t len : {256, 4096}) p.decode_attention.push_back({b, len, 32, 8, 128, "bf16", 1e-8 * b * len, 0});
  }
  const GpuSpec& gpu = Catalog::builtin().gpu("h100-sxm", "test");
  const MeasuredCostModel m(p, gpu, RooflineParams{}, nlohmann::json::object());
  CostEstimate e = m.estimate(gemm_op(16, 4096, 1024));
  EXPECT_EQ(e.source, Source::kMeasured);
  EXPECT_NEAR(e.seconds, 1e-9 * 16 * 4096 * 1024 / 1e3, 1e-15);
  e = m.estimate(gemm_op(64, 4096, 2048));
  EXPECT_EQ(e.source, Source::kInterpolated);
  OpShape s;
  s.batch = 8;
  s.kv_len = 4096;
  s.q_heads = 32;
  s.kv_heads = 8;
  s.head_dim = 128;
  KernelOp op = decode_attention_op(s);
  op.launches = 32;  // one per layer
  e = m.estimate(op);
  EXPECT_EQ(e.source, Source::kMeasured);
  EXPECT_NEAR(e.seconds, 32 * 1e-8 * 8 * 4096, 1e-12);
  s.kv_bits = 8;  // no fp8 table: the roofline prices it
  EXPECT_EQ(m.estimate(decode_attention_op(s)).source, Source::kRoofline);
}

}  // namespace
}  // namespace kvsim
