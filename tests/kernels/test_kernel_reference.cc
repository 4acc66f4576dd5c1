// CPU tests of kernels/: the number formats against brute force, every reference kernel against float64
// computations on random (seeded) inputs, the quantize-append round trip within each format's bound, and the
// host-side logic (parameter checks, the decode plan, page runs). No GPU involved.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/plan.h"
#include "kernels/reference/kernels_ref.h"
#include "kernels/reference/numeric.h"
#include "tests/kernels/kernel_test_util.h"

namespace kvsim::kernels {
namespace {

using testing::CacheConfig;
using testing::DecodeProblem;
using testing::HostCache;
using testing::RangeSpec;

// ---- number formats -------------------------------------------------------------------------------------------

// Checks that `code` is the nearest representable value to x among `codes` (ties to an even code), given a decoder.
template <class Decode>
void expect_nearest(float x, std::uint32_t code, int num_codes, Decode decode) {
  const double got = std::fabs(static_cast<double>(decode(code)) - x);
  for (int c = 0; c < num_codes; ++c) {
    const double v = decode(static_cast<std::uint32_t>(c));
    if (std::isnan(v) || std::isinf(v)) continue;
    const double e = std::fabs(v - x);
    ASSERT_LE(got, e) << "x=" << x << " code=" << code << " beaten by " << c;
    if (e == got && static_cast<std::uint32_t>(c) != code && v != decode(code)) {
      EXPECT_EQ(code % 2, 0u) << "tie at x=" << x << " must round to the even code";
    }
  }
}

TEST(NumberFormats, Bf16RoundTripsEveryPatternAndRoundsToNearestEven) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float x = ref::bf16_to_float(static_cast<std::uint16_t>(b));
    if (std::isnan(x)) continue;
    ASSERT_EQ(ref::float_to_bf16(x), b);
  }
  EXPECT_EQ(ref::float_to_bf16(1.0f + std::ldexp(1.0f, -8)), ref::float_to_bf16(1.0f));  // tie -> even (1.0)
  EXPECT_EQ(ref::float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);                // tie -> even (m=2)
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  for (int i = 0; i < 200; ++i) {
    const float x = dist(rng);
    const std::uint16_t c = ref::float_to_bf16(x);
    // Nearest among the two neighbours is enough for a monotone format.
    for (int d : {-1, 1}) {
      const float n = ref::bf16_to_float(static_cast<std::uint16_t>(c + d));
      if (!std::isnan(n)) {
        EXPECT_LE(std::fabs(ref::bf16_to_float(c) - x), std::fabs(n - x));
      }
    }
  }
}

TEST(NumberFormats, Fp16RoundTripsEveryPatternAndRoundsToNearestEven) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float x = ref::fp16_to_float(static_cast<std::uint16_t>(b));
    if (std::isnan(x)) continue;
    ASSERT_EQ(ref::float_to_fp16(x), b) << b;
  }
  EXPECT_FLOAT_EQ(ref::fp16_to_float(0x3C00), 1.0f);
  EXPECT_FLOAT_EQ(ref::fp16_to_float(0x7BFF), 65504.0f);
  EXPECT_FLOAT_EQ(ref::fp16_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(ref::float_to_fp16(65519.0f), 0x7BFF);
  EXPECT_EQ(ref::float_to_fp16(65520.0f), 0x7C00);  // tie with 2^16 rounds to even = overflow
  EXPECT_EQ(ref::float_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(ref::float_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  EXPECT_EQ(ref::float_to_fp16(std::ldexp(1.0f, -25)), 0x0000);      // subnormal tie -> even (0)
  EXPECT_EQ(ref::float_to_fp16(3 * std::ldexp(1.0f, -25)), 0x0002);  // subnormal tie -> even (2)
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  for (int i = 0; i < 300; ++i) {
    const float x = i % 2 ? dist(rng) : dist(rng) * 1e-6f;
    const std::uint16_t c = ref::float_to_fp16(x);
    if (std::fabs(x) >= 65520.0f) {
      EXPECT_TRUE(std::isinf(ref::fp16_to_float(c)));
      continue;
    }
    for (int d : {-1, 1}) {
      const float n = ref::fp16_to_float(static_cast<std::uint16_t>(c + d));
      if (!std::isnan(n)) {
        EXPECT_LE(std::fabs(ref::fp16_to_float(c) - x), std::fabs(n - x)) << x;
      }
    }
  }
}

TEST(NumberFormats, Fp8E4M3DecodesTheOcpTableAndEncodesToNearestEvenWithSaturation) {
  EXPECT_EQ(ref::fp8e4m3_to_float(0x38), 1.0f);
  EXPECT_EQ(ref::fp8e4m3_to_float(0x7E), 448.0f);
  EXPECT_EQ(ref::fp8e4m3_to_float(0xFE), -448.0f);
  EXPECT_EQ(ref::fp8e4m3_to_float(0x08), std::ldexp(1.0f, -6));
  EXPECT_EQ(ref::fp8e4m3_to_float(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(ref::fp8e4m3_to_float(0x3B), 1.375f);
  EXPECT_TRUE(std::isnan(ref::fp8e4m3_to_float(0x7F)));
  EXPECT_TRUE(std::isnan(ref::fp8e4m3_to_float(0xFF)));
  for (int b = 0; b < 256; ++b) {
    const float x = ref::fp8e4m3_to_float(static_cast<std::uint8_t>(b));
    if (std::isnan(x)) continue;
    ASSERT_EQ(ref::float_to_fp8e4m3(x), b);
  }
  EXPECT_EQ(ref::float_to_fp8e4m3(1000.0f), 0x7E);
  EXPECT_EQ(ref::float_to_fp8e4m3(-460.0f), 0xFE);
  EXPECT_EQ(ref::float_to_fp8e4m3(std::nanf("")), 0x7F);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-448.0f, 448.0f);
  auto dec = [](std::uint32_t c) { return ref::fp8e4m3_to_float(static_cast<std::uint8_t>(c)); };
  for (int i = 0; i < 400; ++i) {
    const float x = i % 3 == 0 ? dist(rng) : i % 3 == 1 ? dist(rng) / 256.0f : dist(rng) / 65536.0f;
    expect_nearest(x, ref::float_to_fp8e4m3(x), 256, dec);
  }
  // Ties: 1 + 1/16 lies between 1 (m=0, even) and 1.125 (m=1): even wins.
  EXPECT_EQ(ref::float_to_fp8e4m3(1.0625f), 0x38);
  EXPECT_EQ(ref::float_to_fp8e4m3(1.1875f), 0x3A);
}

TEST(NumberFormats, Int8AndGroupCodecsStayWithinHalfAStep) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  const float scale = 3.0f / 127.0f;
  for (int i = 0; i < 1000; ++i) {
    const float x = dist(rng);
    EXPECT_LE(std::fabs(ref::int8_code(x, scale) * scale - x), 0.5f * scale * (1 + 1e-5f));
  }
  EXPECT_EQ(ref::int8_code(100.0f, scale), 127);
  EXPECT_EQ(ref::int8_code(-100.0f, scale), -127);
  for (int bits : {2, 4}) {
    for (int trial = 0; trial < 200; ++trial) {
      float lo = dist(rng), hi = dist(rng);
      if (lo > hi) std::swap(lo, hi);
      const ref::GroupQuant q = ref::group_quant_params(lo, hi, bits);
      EXPECT_EQ(q.scale, ref::fp16_to_float(q.scale_bits));
      EXPECT_EQ(q.zero, ref::fp16_to_float(q.zero_bits));
      const float levels = static_cast<float>((1 << bits) - 1);
      const float bound = 0.5f * q.scale + std::ldexp(1.0f, -10) * (levels * q.scale + std::fabs(q.zero)) + 1e-6f;
      std::uniform_real_distribution<float> in(lo, hi);
      for (int i = 0; i < 20; ++i) {
        const float x = i == 0 ? lo : i == 1 ? hi : in(rng);
        const int code = ref::group_code(x, q, bits);
        ASSERT_GE(code, 0);
        ASSERT_LE(code, (1 << bits) - 1);
        EXPECT_LE(std::fabs(ref::group_dequant(code, q.scale, q.zero) - x), bound) << "bits " << bits;
      }
    }
    const ref::GroupQuant flat = ref::group_quant_params(0.5f, 0.5f, bits);  // constant group
    EXPECT_EQ(flat.scale, 1.0f);
    EXPECT_EQ(ref::group_code(0.5f, flat, bits), 0);
    EXPECT_EQ(ref::group_dequant(0, flat.scale, flat.zero), 0.5f);
  }
  std::uint8_t row2[4] = {0xFF, 0x00, 0x00, 0x00};
  ref::set_packed_code(row2, 5, 2, 2);  // byte 1, bits 2..3
  ref::set_packed_code(row2, 1, 2, 0);  // byte 0, bits 2..3
  EXPECT_EQ(ref::packed_code(row2, 5, 2), 2);
  EXPECT_EQ(row2[1], 2 << 2);
  EXPECT_EQ(row2[0], 0xF3);
  std::uint8_t row4[2] = {0, 0};
  ref::set_packed_code(row4, 3, 4, 9);  // byte 1, high nibble
  EXPECT_EQ(row4[1], 0x90);
  EXPECT_EQ(ref::packed_code(row4, 3, 4), 9);
  EXPECT_EQ(ref::packed_code(row4, 2, 4), 0);
}

// ---- quantize-append round trip --------------------------------------------------------------------------------

struct FormatCase {
  KvFormat format;
  DType dtype;
};

class AppendRoundTrip : public ::testing::TestWithParam<FormatCase> {};

// Every appended token decodes back to its original value within the format's bound; KIVI keeps exactly the
// tokens after kivi_quantized_len in the residual ring, verbatim.
TEST_P(AppendRoundTrip, RecoversTheAppendedValuesWithinTheFormatsBound) {
  const FormatCase fc = GetParam();
  std::mt19937 rng(10 + static_cast<int>(fc.format));
  CacheConfig cfg;
  cfg.format = fc.format;
  cfg.dtype = fc.dtype;
  cfg.num_kv_heads = 3;
  cfg.head_dim = 128;
  cfg.page_size = 16;
  cfg.v_group_size = 32;
  cfg.residual_tokens = 24;
  cfg.seq_lens = {1, 16, 40, 57, 131};
  const HostCache hc = testing::make_cache(cfg, rng);
  const int bits = kv_element_bits(fc.format), levels = (1 << bits) - 1;
  std::vector<double> k, v;
  for (int b = 0; b < hc.batch(); ++b) {
    const int len = cfg.seq_lens[b];
    const int qlen = kivi_quantized_len(len, cfg.residual_tokens, cfg.page_size);
    for (int kvh = 0; kvh < cfg.num_kv_heads; ++kvh) {
      for (int t = 0; t < len; ++t) {
        testing::decode_token_f64(hc, b, kvh, t, k, v);
        std::vector<float> kr(cfg.head_dim), vr(cfg.head_dim);
        ref::load_kv_token(hc.kv, cfg.dtype, b, kvh, t, len, kr.data(), vr.data());
        for (int c = 0; c < cfg.head_dim; ++c) {
          // The reference reader agrees with the independent float64 reader.
          ASSERT_NEAR(kr[c], k[c], 1e-6 * (1 + std::fabs(k[c])));
          ASSERT_NEAR(vr[c], v[c], 1e-6 * (1 + std::fabs(v[c])));
          const double xk = hc.orig_k[b][kvh][t][c], xv = hc.orig_v[b][kvh][t][c];
          double bk = 0, bv = 0;
          switch (fc.format) {
            case KvFormat::kNative:
              break;
            case KvFormat::kFP8E4M3:
              bk = std::ldexp(1.0, -4) * std::fabs(xk) + std::ldexp(1.0, -10) * hc.kv.k_scale;
              bv = std::ldexp(1.0, -4) * std::fabs(xv) + std::ldexp(1.0, -10) * hc.kv.v_scale;
              break;
            case KvFormat::kINT8:
              bk = 0.5 * hc.kv.k_scale * (1 + 1e-5);
              bv = 0.5 * hc.kv.v_scale * (1 + 1e-5);
              break;
            default:
              if (t >= qlen) break;  // residual: verbatim
              {
                const int page = hc.block_table[b * hc.kv.max_pages_per_seq + t / cfg.page_size];
                const std::int64_t km = (std::int64_t{page} * cfg.num_kv_heads + kvh) * cfg.head_dim + c;
                const std::int64_t row =
                    (std::int64_t{page} * cfg.page_size + t % cfg.page_size) * cfg.num_kv_heads + kvh;
                const std::int64_t vm = row * (cfg.head_dim / cfg.v_group_size) + c / cfg.v_group_size;
                auto meta = [](const std::vector<std::uint8_t>& buf, std::int64_t w, int i) {
                  return ref::fp16_to_float(
                      static_cast<std::uint16_t>(buf[4 * w + 2 * i] | buf[4 * w + 2 * i + 1] << 8));
                };
                const double ks = meta(hc.k_meta, km, 0), kz = meta(hc.k_meta, km, 1);
                const double vs = meta(hc.v_meta, vm, 0), vz = meta(hc.v_meta, vm, 1);
                bk = 0.5 * ks + std::ldexp(1.0, -10) * (levels * ks + std::fabs(kz)) + 1e-6;
                bv = 0.5 * vs + std::ldexp(1.0, -10) * (levels * vs + std::fabs(vz)) + 1e-6;
              }
          }
          ASSERT_LE(std::fabs(k[c] - xk), bk) << to_string(fc.format) << " b" << b << " t" << t << " c" << c;
          ASSERT_LE(std::fabs(v[c] - xv), bv) << to_string(fc.format) << " b" << b << " t" << t << " c" << c;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, AppendRoundTrip,
    ::testing::Values(FormatCase{KvFormat::kNative, DType::kBF16}, FormatCase{KvFormat::kNative, DType::kFP16},
                      FormatCase{KvFormat::kFP8E4M3, DType::kBF16}, FormatCase{KvFormat::kINT8, DType::kFP16},
                      FormatCase{KvFormat::kINT4, DType::kBF16}, FormatCase{KvFormat::kINT2, DType::kFP16}),
    [](const auto& info) { return std::string(to_string(info.param.format)) + "_" + to_string(info.param.dtype); });

TEST(AppendKvRef, KiviFlushesOneGroupWhenTheResidualFillsAndSkipsNegativePositions) {
  EXPECT_EQ(kivi_quantized_len(0, 32, 16), 0);
  EXPECT_EQ(kivi_quantized_len(47, 32, 16), 0);
  EXPECT_EQ(kivi_quantized_len(48, 32, 16), 16);
  EXPECT_EQ(kivi_quantized_len(63, 32, 16), 16);
  EXPECT_EQ(kivi_quantized_len(64, 32, 16), 32);
  EXPECT_EQ(kivi_quantized_len(16, 0, 16), 16);
  std::mt19937 rng(5);
  CacheConfig cfg;
  cfg.format = KvFormat::kINT4;
  cfg.num_kv_heads = 1;
  cfg.residual_tokens = 0;  // the appended token completes its own group
  cfg.seq_lens = {16, 5};
  const HostCache hc = testing::make_cache(cfg, rng);
  std::vector<double> k, v;
  // Sequence 0: its one page is quantized; every key is within half a step of its channel's range.
  for (int c = 0; c < cfg.head_dim; ++c) {
    double lo = 1e9, hi = -1e9;
    for (int t = 0; t < 16; ++t) {
      lo = std::min<double>(lo, hc.orig_k[0][0][t][c]);
      hi = std::max<double>(hi, hc.orig_k[0][0][t][c]);
    }
    for (int t = 0; t < 16; ++t) {
      testing::decode_token_f64(hc, 0, 0, t, k, v);
      ASSERT_LE(std::fabs(k[c] - hc.orig_k[0][0][t][c]), 0.5 * (hi - lo) / 15 * 1.01 + 1e-2) << "t" << t << " c" << c;
    }
  }
  // Sequence 1 (5 tokens) is still verbatim in the ring; its later slots were never written (positions < 0).
  for (int t = 0; t < 5; ++t) {
    testing::decode_token_f64(hc, 1, 0, t, k, v);
    for (int c = 0; c < cfg.head_dim; ++c) ASSERT_EQ(k[c], hc.orig_k[1][0][t][c]);
  }
  const std::int64_t slot5 = (std::int64_t{1} * 1 * 16 + 5) * cfg.head_dim * 2;
  for (int i = 0; i < cfg.head_dim * 2; ++i) ASSERT_EQ(hc.res_k[slot5 + i], 0);
}

// ---- decode attention reference vs float64 --------------------------------------------------------------------

struct AttnCase {
  KvFormat format;
  DType dtype;
  int head_dim;
  int group;
  TokenRange range;
};

class DecodeAttentionRef : public ::testing::TestWithParam<AttnCase> {};

TEST_P(DecodeAttentionRef, MatchesFloat64OnRandomPagedCaches) {
  const AttnCase ac = GetParam();
  std::mt19937 rng(100 + ac.head_dim + 7 * ac.group + 31 * static_cast<int>(ac.format) +
                   5 * static_cast<int>(ac.range));
  CacheConfig cfg;
  cfg.format = ac.format;
  cfg.dtype = ac.dtype;
  cfg.num_kv_heads = 2;
  cfg.head_dim = ac.head_dim;
  cfg.page_size = ac.head_dim == 64 ? 16 : 32;
  cfg.residual_tokens = 20;
  cfg.seq_lens = {1, 45, 211, 0, 97};  // none a multiple of the page size except 0; one empty sequence
  DecodeProblem pr =
      testing::random_decode_problem(cfg, ac.group, ac.range, /*window=*/40, /*sparse_capacity=*/50, rng);
  ref::decode_attention_ref(pr.p);
  std::vector<double> out, lse;
  testing::attention_f64(pr, out, lse);
  const double rel = ac.dtype == DType::kBF16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double got = ref::act_to_float(ac.dtype, pr.o[i]);
    ASSERT_FALSE(std::isnan(got)) << "output " << i << " not written";
    ASSERT_NEAR(got, out[i], 1e-4 + rel * std::fabs(out[i])) << "element " << i;
  }
  for (std::size_t r = 0; r < lse.size(); ++r) {
    if (std::isinf(lse[r])) {
      EXPECT_TRUE(std::isinf(pr.lse[r]) && pr.lse[r] < 0) << "row " << r;
    } else {
      EXPECT_NEAR(pr.lse[r], lse[r], 1e-4 * (1 + std::fabs(lse[r]))) << "row " << r;
    }
  }
}

std::vector<AttnCase> attention_cases() {
  std::vector<AttnCase> cases;
  for (int hd : {64, 128}) {
    for (int group : {1, 4, 8}) cases.push_back({KvFormat::kNative, DType::kBF16, hd, group, TokenRange::kFull});
  }
  cases.push_back({KvFormat::kNative, DType::kFP16, 128, 4, TokenRange::kFull});
  cases.push_back({KvFormat::kNative, DType::kBF16, 128, 4, TokenRange::kWindow});
  cases.push_back({KvFormat::kNative, DType::kFP16, 64, 8, TokenRange::kSparse});
  cases.push_back({KvFormat::kNative, DType::kBF16, 128, 12, TokenRange::kFull});  // > 8 heads per kv head
  for (KvFormat f : {KvFormat::kFP8E4M3, KvFormat::kINT8, KvFormat::kINT4, KvFormat::kINT2}) {
    cases.push_back({f, DType::kBF16, 128, 4, TokenRange::kFull});
    cases.push_back({f, DType::kFP16, 64, 1, TokenRange::kWindow});
    cases.push_back({f, DType::kBF16, 64, 8, TokenRange::kSparse});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Shapes, DecodeAttentionRef, ::testing::ValuesIn(attention_cases()), [](const auto& info) {
  const AttnCase& c = info.param;
  return std::string(to_string(c.format)) + "_" + to_string(c.dtype) + "_hd" + std::to_string(c.head_dim) + "_g" +
         std::to_string(c.group) + "_" + to_string(c.range);
});

TEST(DecodeAttentionRef, WindowKeepsSinksAndTheLastTokens) {
  DecodeAttentionParams p;
  p.range = TokenRange::kWindow;
  p.window_tokens = 8;
  p.sink_tokens = 2;
  EXPECT_EQ(range_length(p, 0, 0, 5), 5);
  EXPECT_EQ(range_length(p, 0, 0, 100), 10);
  EXPECT_EQ(range_position(p, 0, 0, 100, 1), 1);
  EXPECT_EQ(range_position(p, 0, 0, 100, 2), 92);
  EXPECT_EQ(range_position(p, 0, 0, 100, 9), 99);
  EXPECT_EQ(range_position(p, 0, 0, 10, 9), 9);
}

// ---- page copies -----------------------------------------------------------------------------------------------

TEST(PageCopy, CoalescesConsecutivePagesIntoRunsAndCopiesInOrder) {
  const std::vector<std::int32_t> src = {0, 1, 2, 5, 6, 9, 3};
  const std::vector<std::int32_t> dst = {10, 11, 12, 3, 4, 9, 5};
  const std::vector<PageRun> runs = coalesce_page_runs(src.data(), dst.data(), static_cast<int>(src.size()));
  const std::vector<PageRun> want = {{0, 10, 3}, {5, 3, 2}, {9, 9, 1}, {3, 5, 1}};
  EXPECT_EQ(runs, want);
  EXPECT_TRUE(coalesce_page_runs(nullptr, nullptr, 0).empty());

  std::mt19937 rng(6);
  const int pages = 40, page_bytes = 24;
  std::vector<std::uint8_t> a(pages * page_bytes), b(pages * page_bytes, 0);
  for (auto& x : a) x = static_cast<std::uint8_t>(rng());
  std::vector<std::int32_t> s(pages), d(pages);
  std::iota(s.begin(), s.end(), 0);
  std::iota(d.begin(), d.end(), 0);
  std::shuffle(d.begin(), d.end(), rng);
  ref::copy_pages_ref({a.data(), b.data(), s.data(), d.data(), pages, page_bytes});  // scatter
  for (int i = 0; i < pages; ++i) {
    ASSERT_EQ(0, std::memcmp(&b[d[i] * page_bytes], &a[s[i] * page_bytes], page_bytes));
  }
  std::vector<std::uint8_t> c(a.size(), 0);
  ref::copy_pages_ref({b.data(), c.data(), d.data(), s.data(), pages, page_bytes});  // gather back
  EXPECT_EQ(a, c);
}

// ---- plan and checks -------------------------------------------------------------------------------------------

DecodeAttentionParams shape(int batch, int q_heads, int kv_heads, int head_dim, int max_len) {
  static std::int32_t dummy[1] = {0};
  DecodeAttentionParams p;
  p.kv.num_pages = 1;
  p.kv.page_size = 16;
  p.kv.num_kv_heads = kv_heads;
  p.kv.head_dim = head_dim;
  p.kv.k_data = p.kv.v_data = dummy;
  p.kv.block_table = dummy;
  p.kv.max_pages_per_seq = (max_len + 15) / 16 + 1;
  p.q = p.o = dummy;
  p.seq_lens = dummy;
  p.batch = batch;
  p.num_q_heads = q_heads;
  p.max_seq_len = max_len;
  p.sm_scale = 0.1f;
  return p;
}

TEST(DecodePlan, GroupsQueryHeadsIntoPowerOfTwoSlotsOfAtMostEight) {
  const std::vector<std::array<int, 3>> want = {{1, 1, 1}, {3, 4, 1},  {4, 4, 1},  {6, 8, 1},
                                                {8, 8, 1}, {12, 8, 2}, {16, 8, 2}, {40, 8, 5}};
  for (const auto& [group, slots, chunks] : want) {
    const DecodePlan plan = plan_decode_attention(shape(64, 8 * group, 8, 128, 1000));
    EXPECT_EQ(plan.group_slots, slots) << group;
    EXPECT_EQ(plan.q_chunks, chunks) << group;
  }
}

TEST(DecodePlan, SplitsLongContextsUntilTheGpuIsFullAndSizesTheWorkspace) {
  const DecodePlan few = plan_decode_attention(shape(1, 32, 8, 128, 32768));
  EXPECT_GT(few.num_splits, 30);
  EXPECT_EQ(few.tokens_per_split % kSplitGranularity, 0);
  EXPECT_GE(static_cast<std::int64_t>(few.num_splits) * few.tokens_per_split, 32768);
  EXPECT_LT(static_cast<std::int64_t>(few.num_splits - 1) * few.tokens_per_split, 32768);  // none empty
  EXPECT_EQ(few.workspace_bytes, std::size_t(few.num_splits) * 1 * 32 * (128 + 1) * sizeof(float));

  const DecodePlan many = plan_decode_attention(shape(256, 32, 8, 128, 32768));
  EXPECT_EQ(many.num_splits, 1);
  EXPECT_EQ(many.workspace_bytes, 0u);

  const DecodePlan short_ctx = plan_decode_attention(shape(1, 32, 8, 128, 100));
  EXPECT_EQ(short_ctx.num_splits, 1);

  DecodePlanOptions force;
  force.force_num_splits = 4;
  const DecodePlan forced = plan_decode_attention(shape(2, 8, 8, 64, 100), force);
  EXPECT_EQ(forced.num_splits, 4);
  EXPECT_EQ(forced.tokens_per_split, 64);

  DecodeAttentionParams window = shape(1, 32, 8, 128, 100000);
  window.range = TokenRange::kWindow;
  window.window_tokens = 4000;
  window.sink_tokens = 96;
  EXPECT_EQ(max_range_length(window), 4096);
  EXPECT_LE(plan_decode_attention(window).num_splits * 256, 4096 + 256);
}

TEST(DecodePlan, SplitsSoThatTheLastWaveOfCtasIsNotMostlyIdle) {
  // 128 sequences x 8 kv heads = 1024 CTAs on 132 SMs x 3 CTAs: unsplit, 2.59 waves leave 14 % of the slots idle.
  DecodePlanOptions opt;
  opt.num_sms = 132;
  opt.target_ctas_per_sm = 3;
  const DecodePlan plan = plan_decode_attention(shape(128, 32, 8, 128, 16384), opt);
  const double ctas = 1024.0 * plan.num_splits, slots = 132.0 * 3;
  EXPECT_GT(plan.num_splits, 1);
  EXPECT_GE(ctas / (std::ceil(ctas / slots) * slots), 0.95) << plan.num_splits << " splits";
  EXPECT_GE(static_cast<std::int64_t>(plan.num_splits) * plan.tokens_per_split, 16384);
  EXPECT_LT(static_cast<std::int64_t>(plan.num_splits - 1) * plan.tokens_per_split, 16384);  // none empty

  // One sequence: as many splits as fill one wave, not a second one.
  const DecodePlan one = plan_decode_attention(shape(1, 32, 8, 128, 32768), opt);
  EXPECT_LE(8 * one.num_splits, 132 * 3);
  EXPECT_GT(8 * one.num_splits, 132 * 3 / 2);
}

TEST(DecodePlan, RejectsUnsupportedOrInconsistentParametersNamingTheField) {
  auto message = [](const DecodeAttentionParams& p) { return check_decode_params(p); };
  EXPECT_EQ(message(shape(2, 8, 2, 128, 100)), "");
  EXPECT_NE(message(shape(2, 8, 2, 96, 100)).find("head_dim"), std::string::npos);
  EXPECT_NE(message(shape(2, 10, 4, 64, 100)).find("num_q_heads"), std::string::npos);
  EXPECT_NE(message(shape(0, 8, 2, 64, 100)).find("batch"), std::string::npos);
  DecodeAttentionParams p = shape(2, 8, 2, 64, 100);
  p.max_seq_len = 100000;
  EXPECT_NE(message(p).find("max_seq_len"), std::string::npos);
  p = shape(2, 8, 2, 64, 100);
  p.range = TokenRange::kSparse;
  EXPECT_NE(message(p).find("sparse"), std::string::npos);
  p = shape(2, 8, 2, 64, 100);
  p.kv.format = KvFormat::kINT4;
  EXPECT_NE(message(p).find("k_meta"), std::string::npos);
  static std::int32_t dummy[1];
  p.kv.k_meta = p.kv.v_meta = p.kv.residual_k = p.kv.residual_v = dummy;
  p.kv.v_group_size = 12;
  EXPECT_NE(message(p).find("v_group_size"), std::string::npos);
  p.kv.v_group_size = 32;
  EXPECT_EQ(message(p), "");
  p.kv.format = KvFormat::kFP8E4M3;
  p.kv.k_scale = 0;
  EXPECT_NE(message(p).find("scale"), std::string::npos);
  EXPECT_THROW(plan_decode_attention(shape(2, 8, 2, 96, 100)), std::invalid_argument);
  EXPECT_THROW(ref::decode_attention_ref(shape(2, 8, 2, 96, 100)), std::invalid_argument);
  EXPECT_NE(check_page_copy_params({nullptr, nullptr, nullptr, nullptr, 3, 16}).find("src"), std::string::npos);
  EXPECT_EQ(check_page_copy_params({nullptr, nullptr, nullptr, nullptr, 0, 16}), "");
}

TEST(DecodePlan, CacheByteCountsFollowTheLayouts) {
  PagedKvCache kv;
  kv.num_pages = 10;
  kv.page_size = 16;
  kv.num_kv_heads = 8;
  kv.head_dim = 128;
  kv.format = KvFormat::kNative;
  EXPECT_EQ(kv_data_bytes(kv), 10 * 16 * 8 * 128 * 2);
  EXPECT_EQ(kv_k_meta_bytes(kv), 0);
  kv.format = KvFormat::kFP8E4M3;
  EXPECT_EQ(kv_data_bytes(kv), 10 * 16 * 8 * 128);
  kv.format = KvFormat::kINT2;
  kv.v_group_size = 32;
  kv.residual_tokens = 32;
  EXPECT_EQ(kv_data_bytes(kv), 10 * 16 * 8 * 32);
  EXPECT_EQ(kv_k_meta_bytes(kv), 10 * 8 * 128 * 4);
  EXPECT_EQ(kv_v_meta_bytes(kv), 10 * 16 * 8 * 4 * 4);
  EXPECT_EQ(kv_residual_bytes(kv, 3), 3 * 8 * 48 * 128 * 2);
}

}  // namespace
}  // namespace kvsim::kernels
