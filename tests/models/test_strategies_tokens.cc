// Hand-computed KV sizes of the retention, precision and placement strategies (eviction.cc, quantization.cc,
// offload.cc) on Llama-3.1-8B, each at two context lengths, against the formulas of ../shared/kv-strategies.md.
//
// Every expected value is written as explicit arithmetic with the model's shape, never by calling the code under
// test. Llama-3.1-8B: L = 32 layers, H_q = 32, H_kv = 8, d = 128, bf16 (e = 2). One token of one layer holds
// K and V of H_kv*d = 1024 elements each: m_layer = 2 * 1024 * 2 = 4096 B, m_tok = 32 * 4096 = 131072 B.
// Block (page) size 16: a group holding n tokens pays ceil(n / 16) pages of 16 tokens x its bytes per token x its
// layers (the page's bytes rounded up to whole bytes), plus its fixed bytes per request.
//
// kv_size(layout, N) describes the request right after a prefill of N prompt tokens; decode_bytes_per_step is one
// decode step after it: the new token attends to the held tokens plus itself (N + 1 for a full cache; a window
// counts the new token, so a full window of W reads W).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "models/kv/kv_size.h"
#include "models/kv/strategy.h"
#include "models/spec/catalog.h"
#include "tests/common/error_of.h"
#include "tests/models/strategy_test_util.h"

namespace kvsim {
namespace {

using testing::error_of;

using testing::compose;

KvSizeReport size(const std::string& spec, TokenCount context) {
  return kv_size(compose(spec).layout, context, std::nullopt);
}

double pages(double tokens) { return std::ceil(tokens / 16.0); }

// Values with fractional bits per element are sums of non-dyadic fractions: equal to 1e-12 relative.
void expect_close(double actual, double expected) {
  EXPECT_NEAR(actual, expected, 1e-12 * std::abs(expected)) << "expected " << expected;
}

// Full attention, for reference: N tokens in every layer, 16-token pages of 16 * 4096 * 32 = 2 MiB.
TEST(TokenStrategies, FullReference) {
  EXPECT_DOUBLE_EQ(size("full", 4096).bytes_per_request, 256.0 * 16 * 4096 * 32);   // 512 MiB
  EXPECT_DOUBLE_EQ(size("full", 32768).bytes_per_request, 2048.0 * 16 * 4096 * 32);  // 4 GiB
  EXPECT_DOUBLE_EQ(size("full", 32768).decode_bytes_per_step, 32769.0 * 4096 * 32);
}

// ---------------------------------------------------------------- retention (§1.3, §2.1-2.6)

TEST(TokenStrategies, SlidingWindow) {
  // §1.3: min(S, W) tokens per layer, W = 4096.
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("sliding-window", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, 256.0 * 16 * 4096 * 32) << n;  // 4096 tokens = 256 pages
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 4096.0 * 4096 * 32) << n;  // the window includes the new token
  }
  // 1000-token window + 4 sinks: 1004 tokens = 62.75 -> 63 pages.
  EXPECT_DOUBLE_EQ(size("sliding-window:window_tokens=1000,sink_tokens=4", 32768).bytes_per_request,
                   63.0 * 16 * 4096 * 32);
  // Below the window nothing is dropped.
  EXPECT_DOUBLE_EQ(size("sliding-window", 1000).bytes_per_request, 63.0 * 16 * 4096 * 32);
}

TEST(TokenStrategies, StreamingLlm) {
  // §2.1: (n_sink + W_recent) = 4 + 2000 = 2004 tokens per layer, constant in S; 2004 / 16 = 125.25 -> 126 pages.
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("streaming-llm", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, 126.0 * 16 * 4096 * 32) << n;
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 2004.0 * 4096 * 32) << n;  // sinks + window, new token included
  }
}

TEST(TokenStrategies, SnapKv) {
  // §2.4: min(P, C_max) + t prompt tokens, C_max = 2048 -> 128 pages per layer at both lengths.
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("snapkv", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, 128.0 * 16 * 4096 * 32) << n;
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (2048.0 + 1) * 4096 * 32) << n;
  }
  // A prompt shorter than the budget is kept whole: 1000 tokens -> 63 pages.
  EXPECT_DOUBLE_EQ(size("snapkv", 1000).bytes_per_request, 63.0 * 16 * 4096 * 32);
}

TEST(TokenStrategies, H2o) {
  // §2.2: heavy 10% + recent 10% = ceil(0.2 P) tokens; score buffer 4 * H_q = 128 B per token per layer (§6.6), so a
  // page is 16 * (4096 + 128) * 32 B. Each step reads the kept K/V plus the scores, read and written (8 * H_q B).
  const double page = 16.0 * (4096 + 4 * 32) * 32;
  const double per_token_read = 4096.0 + 8 * 32;
  // P = 4096: ceil(819.2) = 820 tokens -> 51.25 -> 52 pages.
  KvSizeReport r = size("h2o", 4096);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 52 * page);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (820.0 + 1) * per_token_read * 32);
  // P = 32768: ceil(6553.6) = 6554 tokens -> 409.625 -> 410 pages.
  r = size("h2o", 32768);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 410 * page);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (6554.0 + 1) * per_token_read * 32);
}

TEST(TokenStrategies, Keyformer) {
  // §2.3: cache of k = ceil(0.6 P) tokens (repo kv_cache 60%), the H2O score buffer and per-step score traffic.
  const double page = 16.0 * (4096 + 4 * 32) * 32;
  const double per_token_read = 4096.0 + 8 * 32;
  // P = 4096: ceil(2457.6) = 2458 tokens -> 153.625 -> 154 pages.
  KvSizeReport r = size("keyformer", 4096);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 154 * page);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (2458.0 + 1) * per_token_read * 32);
  // P = 32768: ceil(19660.8) = 19661 tokens -> 1228.8125 -> 1229 pages.
  r = size("keyformer", 32768);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 1229 * page);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (19661.0 + 1) * per_token_read * 32);
  // The 50% setting of the paper's headline: ceil(0.5 * 32768) = 16384 tokens = 1024 pages.
  EXPECT_DOUBLE_EQ(size("keyformer:kv_cache_fraction=0.5", 32768).bytes_per_request, 1024 * page);
}

// PyramidKV budgets as KVCache-Factory computes them (pyramidkv_utils.py, PyramidKVCluster.update_kv), with
// S = B - w, L = 32: min = floor(S / beta), max = 2 S - min, steps = floor((max - min) / (L - 1)), and layer l keeps
// max - l * steps + w tokens, for prompts of at least 2 S tokens; shorter prompts keep min(P, B) in every layer.
std::vector<long long> pyramid(long long average, long long window, long long beta) {
  const long long span = average - window, layers = 32;
  const long long min_num = span / beta, max_num = 2 * span - min_num, steps = (max_num - min_num) / (layers - 1);
  std::vector<long long> out;
  for (long long l = 0; l < layers; ++l) out.push_back(max_num - l * steps + window);
  return out;
}

TEST(TokenStrategies, PyramidKv) {
  const std::vector<long long> b = pyramid(2048, 32, 20);
  // S = 2016: min = floor(100.8) = 100, max = 3932, steps = floor(3832 / 31) = 123: layer 0 keeps 3932 + 32 = 3964,
  // layer 31 keeps 3932 - 31 x 123 + 32 = 151; the floors make the sum 65,840 (mean 2057.5, not 2048).
  EXPECT_EQ(b.front(), 3964);
  EXPECT_EQ(b.back(), 151);
  long long total = 0;
  for (long long x : b) total += x;
  EXPECT_EQ(total, 65840);

  for (TokenCount n : {4096, 32768}) {  // both at least 2 S = 4032: the pyramid
    // Every layer keeps min(P, budget(l)) tokens in its own pages of 16 * 4096 B.
    double bytes = 0, read = 0;
    for (long long x : b) {
      const double held = std::min<double>(static_cast<double>(n), static_cast<double>(x));
      bytes += pages(held) * 16 * 4096;
      read += (held + 1) * 4096;
    }
    const KvSizeReport r = size("pyramidkv", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, bytes) << n;
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, read) << n;
    // One group whose 32 cache layers carry their own budgets (sums evaluated in O(1)).
    ASSERT_EQ(compose("pyramidkv").layout.groups.size(), 1u);
    EXPECT_EQ(compose("pyramidkv").layout.groups[0].layer_budgets.size(), 32u);
  }
  // Per-layer paging and the floors cost a little over SnapKV's 128 pages per layer.
  EXPECT_GT(size("pyramidkv", 32768).bytes_per_request, size("snapkv", 32768).bytes_per_request);

  // budget 4096 on a 4096-token prompt: below 2 (4096 - 32) = 8128 tokens the reference keeps min(P, 4096) = the
  // whole prompt in every layer.
  EXPECT_DOUBLE_EQ(size("pyramidkv:budget_tokens=4096", 4096).bytes_per_request, 256.0 * 16 * 4096 * 32);
  // beta = 1 is the uniform schedule: every layer 2048 tokens, exactly SnapKV.
  EXPECT_DOUBLE_EQ(size("pyramidkv:beta=1", 32768).bytes_per_request, size("snapkv", 32768).bytes_per_request);
}

TEST(TokenStrategies, PrefixKv) {
  // §2.6 uniform: every layer keeps ceil(0.2 P) prompt tokens.
  // P = 4096: ceil(819.2) = 820 -> 52 pages; P = 32768: ceil(6553.6) = 6554 -> 410 pages.
  KvSizeReport r = size("prefixkv", 4096);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 52.0 * 16 * 4096 * 32);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (820.0 + 1) * 4096 * 32);
  r = size("prefixkv", 32768);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 410.0 * 16 * 4096 * 32);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (6554.0 + 1) * 4096 * 32);

  // A per-layer ratio vector: 16 layers at 0.3 then 16 at 0.1 (mean 0.2), two groups of 16 layers.
  nlohmann::json ratios = nlohmann::json::array();
  for (int i = 0; i < 32; ++i) ratios.push_back(i < 16 ? 0.3 : 0.1);
  const LlmSpec& llama = Catalog::builtin().model("llama-3.1-8b", "test");
  const auto layered = [&](TokenCount n) {
    const nlohmann::json spec = nlohmann::json::array({{{"name", "prefixkv"}, {"layer_ratios", ratios}}});
    return kv_size(compose_strategies(parse_strategy_json(spec, "test"), llama, 1, 16, "test").layout, n,
                   std::nullopt);
  };
  // P = 4096: ceil(1228.8) = 1229 -> 77 pages and ceil(409.6) = 410 -> 26 pages, 16 layers each.
  r = layered(4096);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, (77.0 + 26.0) * 16 * 4096 * 16);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (1229.0 + 1 + 410.0 + 1) * 4096 * 16);
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].cache_layers, 16);
  // P = 32768: ceil(9830.4) = 9831 -> 615 pages and ceil(3276.8) = 3277 -> 205 pages.
  r = layered(32768);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, (615.0 + 205.0) * 16 * 4096 * 16);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (9831.0 + 1 + 3277.0 + 1) * 4096 * 16);

  // The command-line form takes the list as numbers separated by ';'.
  std::string list;
  for (int i = 0; i < 32; ++i) {
    if (i > 0) list += ';';
    list += i < 16 ? "0.3" : "0.1";
  }
  EXPECT_DOUBLE_EQ(size("prefixkv:layer_ratios=" + list, 4096).bytes_per_request, (77.0 + 26.0) * 16 * 4096 * 16);
}

// ---------------------------------------------------------------- traffic only (§2.13)

TEST(TokenStrategies, QuestCutsTrafficNotCapacity) {
  // §2.13: full KV stays resident in every layer; min/max keys per page of 16 add 2 * 1024 * 2 / 16 = 256 B per token
  // per layer (1/p of the KV) on the 30 selected layers; the first 2 layers stay dense.
  const double selected_page = 16.0 * (4096 + 256) * 30;
  const double dense_page = 16.0 * 4096 * 2;
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("quest", n);
    const KvSizeReport full = size("full", n);
    const double p = pages(static_cast<double>(n));
    EXPECT_DOUBLE_EQ(r.bytes_per_request, p * (selected_page + dense_page)) << n;
    // Capacity: every token is kept, so the KV part equals full attention; only the 1/p metadata is added.
    for (const KvSizeGroup& g : r.groups) EXPECT_EQ(g.held_tokens, n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request - p * 16 * 256 * 30, full.bytes_per_request) << n;
    // Traffic: selected layers read 2048 tokens + the metadata of every held token; dense layers read everything.
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step,
                     (2048.0 * 4096 + (n + 1.0) * 256) * 30 + (n + 1.0) * 4096 * 2) << n;
    EXPECT_LT(r.decode_bytes_per_step, full.decode_bytes_per_step) << n;
  }
  // At 32K the selected layers read 2048/32769 of the KV + 1/16 metadata: (1/16 + 2048/32768) = 1/8 (§2.13 example).
}

// ---------------------------------------------------------------- precision (§3)

TEST(TokenStrategies, Fp8AndInt8) {
  // §3.1: one byte per element, per-tensor scales negligible: 2048 B per token per layer.
  for (const std::string s : {"fp8", "int8"}) {
    for (TokenCount n : {4096, 32768}) {
      const KvSizeReport r = size(s, n);
      EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 16 * 2048 * 32) << s << n;
      EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (n + 1.0) * 2048 * 32) << s << n;
    }
  }
}

TEST(TokenStrategies, Kivi) {
  // §3.2: b + 32/G bits per element = 2 + 1 = 3 (kivi-2), 4 + 1 = 5 (kivi-4); R = 128 residual tokens in fp16.
  //   per token per layer: 2 * 1024 * 3 / 8 = 768 B (kivi-2), 2 * 1024 * 5 / 8 = 1280 B (kivi-4)
  //   residual premium per request: 128 * (4096 - stored) * 32 layers
  struct Case {
    std::string name;
    double stored;
  };
  for (const Case& c : {Case{"kivi-2", 768.0}, Case{"kivi-4", 1280.0}}) {
    const double page = 16.0 * c.stored * 32;
    const double residual = 128.0 * (4096 - c.stored) * 32;
    for (TokenCount n : {4096, 32768}) {
      const KvSizeReport r = size(c.name, n);
      // (S - R) quantized + R in fp16 == S at the stored size + R at the premium.
      EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * page + residual) << c.name << n;
      EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, ((n + 1.0) * c.stored + 128 * (4096 - c.stored)) * 32)
          << c.name << n;
    }
  }
  // Asymptotic compression vs fp16 (residual excluded): 16 / (b + 32/G) = 16 / 3 = 5.33x for b = 2, G = 32.
  EXPECT_DOUBLE_EQ(compose("full").layout.device_bytes_per_token() / compose("kivi-2").layout.device_bytes_per_token(),
                   16.0 / 3);
  // 3.2x for b = 4; 7.1x for b = 2, G = 128.
  EXPECT_DOUBLE_EQ(compose("full").layout.device_bytes_per_token() / compose("kivi-4").layout.device_bytes_per_token(),
                   16.0 / 5);
  EXPECT_DOUBLE_EQ(compose("full").layout.device_bytes_per_token() /
                       compose("kivi-2:group_size=128").layout.device_bytes_per_token(),
                   16.0 / 2.25);
}

TEST(TokenStrategies, KvQuant) {
  // §3.8: b = 3 bits + 1% outliers at 48 bits (+0.48) on K and V; values add a per-token scale, 32/d = 0.25 bits.
  //   K: 3.48 bits, V: 3.73 bits -> 1024 * (3.48 + 3.73) / 8 = 922.88 B per token per layer
  //   page 16 * 922.88 * 32 = 472514.56 -> 472515 B; first 5 tokens fp16: 5 * (4096 - 922.88) * 32 = 507699.2 -> 507700
  const double stored = 1024 * (3.48 + 3.73) / 8;
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("kvquant", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 472515 + 507700) << n;
    expect_close(r.decode_bytes_per_step, ((n + 1.0) * stored + 5 * (4096 - stored)) * 32);
  }
  // 2-bit with 1% outliers: 1024 * (2.48 + 2.73) / 8 = 666.88 B -> page 16 * 666.88 * 32 = 341442.56 -> 341443;
  // sinks 5 * (4096 - 666.88) * 32 = 548659.2 -> 548660.
  EXPECT_DOUBLE_EQ(size("kvquant:bits=2", 32768).bytes_per_request, 2048.0 * 341443 + 548660);
}

TEST(TokenStrategies, MiKv) {
  // §3.3: bits_avg = rho * b_hi + (1 - rho) * (b_lo + 32/d) = 0.2 * 16 + 0.8 * (4 + 0.25) = 6.6 bits;
  //   2048 * 6.6 / 8 = 1689.6 B + the H2O score buffer 4 * H_q = 128 B = 1817.6 B per token per layer
  //   page 16 * 1817.6 * 32 = 930611.2 -> 930612 B. Each step reads the stored K/V and 8 * H_q B of scores per token.
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("mikv", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 930612) << n;
    expect_close(r.decode_bytes_per_step, (n + 1.0) * (1689.6 + 256) * 32);
  }
  // INT8 important tokens also carry the per-token metadata: 0.2 * 8 + 0.8 * 4 + 0.25 = 5.05 bits
  //   2048 * 5.05 / 8 = 1292.8 + 128 = 1420.8 B; page 16 * 1420.8 * 32 = 727449.6 -> 727450.
  EXPECT_DOUBLE_EQ(size("mikv:high_bits=8", 4096).bytes_per_request, 256.0 * 727450);
}

TEST(TokenStrategies, Gear) {
  // §3.4: bits = b + 32/G + 48 s + 16 r (n + d) / (n d) = 4 + 32/64 + 48 * 0.02 + 16 * 2 * (64 + 128) / (64 * 128)
  //            = 4 + 0.5 + 0.96 + 0.75 = 6.21 bits -> 2048 * 6.21 / 8 = 1589.76 B per token per layer (~2.6x)
  //   page 16 * 1589.76 * 32 = 813957.12 -> 813958 B; n_b = 64 buffered fp16 tokens:
  //   64 * (4096 - 1589.76) * 32 = 5132779.52 -> 5132780 B.
  const double stored = 2048 * 6.21 / 8;
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("gear", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 813958 + 5132780) << n;
    expect_close(r.decode_bytes_per_step, ((n + 1.0) * stored + 64 * (4096 - stored)) * 32);
  }
  // GEAR over KIVI: b = 2 -> 4.21 bits: 2048 * 4.21 / 8 = 1077.76 B; page 16 * 1077.76 * 32 = 551813.12 -> 551814;
  // 64 * (4096 - 1077.76) * 32 = 6181355.52 -> 6181356.
  EXPECT_DOUBLE_EQ(size("gear:bits=2", 4096).bytes_per_request, 256.0 * 551814 + 6181356);
}

TEST(TokenStrategies, RotateKv) {
  // §3.5: 2 + 32/128 = 2.25 bits -> 2048 * 2.25 / 8 = 576 B per token per layer; page 16 * 576 * 32 = 294912 B;
  // 20 attention-sink tokens in fp16: 20 * (4096 - 576) * 32 = 2252800 B.
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("rotatekv", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 294912 + 2252800) << n;
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, ((n + 1.0) * 576 + 20 * (4096 - 576)) * 32) << n;
  }
}

TEST(TokenStrategies, QServeAndAtomKv4) {
  // §3.9 / §3.10: 4 + 32/128 = 4.25 bits -> 2048 * 4.25 / 8 = 1088 B per token per layer; page 557056 B.
  for (const std::string s : {"qserve-kv4", "atom-kv4"}) {
    for (TokenCount n : {4096, 32768}) {
      const KvSizeReport r = size(s, n);
      EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 16 * 1088 * 32) << s << n;
      EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (n + 1.0) * 1088 * 32) << s << n;
    }
  }
}

// ---------------------------------------------------------------- placement (§4.1, §2.11)

TEST(TokenStrategies, ShadowKv) {
  // §4.1, r = 160, c = 8, B = 2048, n_out = (2048 / 1024) * 24 = 48 outlier chunks, 4 local chunks. Per layer:
  //   device per token: U row 160 * 2 = 320 B + landmark 1024 * 2 / 8 = 256 B = 576 B; page 16 * 576 * 32 = 294912 B
  //   device fixed: SV 160 * 1024 * 2 = 327680 B + K and V buffers 2 * (2048 + 128 + (48 + 4) * 8) * 1024 * 2
  //                 = 2 * 2592 * 2048 = 10616832 B -> 10944512 B per layer, x 32 = 350224384 B per request
  //   host: every value, 1024 * 2 = 2048 B per token per layer
  const double fixed = (160.0 * 1024 * 2 + 2.0 * (2048 + 128 + (48 + 4) * 8) * 1024 * 2) * 32;
  EXPECT_DOUBLE_EQ(fixed, 350224384.0);
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("shadowkv", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 294912 + fixed) << n;
    EXPECT_DOUBLE_EQ(r.host_bytes_per_request, n * 2048.0 * 32) << n;
    // Per step: B = 2048 selected tokens read (U row + value, (160 + 1024) * 2 B), landmarks of every held token.
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (2048.0 * (160 + 1024) * 2 + (n + 1.0) * 256) * 32) << n;
    // The selected values come over PCIe: B * H_kv * d * e per layer (§4.1 b).
    EXPECT_DOUBLE_EQ(r.decode_fetch_bytes_per_step, 2048.0 * 1024 * 2 * 32) << n;
  }
  // Asymptotic GPU fraction r/(2 H_kv d) + 1/(2c) = 160/2048 + 1/16 = 0.140625 (~7x).
  EXPECT_DOUBLE_EQ(
      compose("shadowkv").layout.device_bytes_per_token() / compose("full").layout.device_bytes_per_token(),
      160.0 / 2048 + 1.0 / 16);
  // A temporal-locality cache that finds 60% of the values cuts the fetch to 40%.
  EXPECT_DOUBLE_EQ(size("shadowkv:fetch_hit_rate=0.6", 32768).decode_fetch_bytes_per_step,
                   2048.0 * 1024 * 2 * 32 * (1 - 0.6));
  // Shorter than the budget: all held tokens + the new one are read and fetched.
  EXPECT_DOUBLE_EQ(size("shadowkv", 1000).decode_fetch_bytes_per_step, 1001.0 * 2048 * 32);
}

TEST(TokenStrategies, InfLlm) {
  // §2.11 defaults: block 128, n_init 128, n_local 4096, topk 16, repr_topk 4, max_cached_block 32.
  // Working set on the GPU (16-bit K+V): min(S, 128 + 4096 + (16 + 32) * 128) = min(S, 10368) tokens, pages of 2 MiB.
  // Memory units: the tokens beyond init + local, max(0, S - 4224), on the host (4096 B per token per layer), with 4
  // representative keys per 128-token block on the GPU: 4 * 1024 * 2 / 128 = 64 B per token per layer, pages of
  // 16 * 64 * 32 = 32768 B. Per step: the working set's init + local tokens (<= 4224) and min(topk * block, tokens in
  // memory units) retrieved tokens are read, every representative key is scored, and the retrieved blocks are
  // fetched over PCIe (hit rate 0 by default).
  KvSizeReport r = size("infllm", 4096);  // fits in init + local: no memory unit exists
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 256.0 * 16 * 4096 * 32);
  EXPECT_DOUBLE_EQ(r.host_bytes_per_request, 0);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 4097.0 * 4096 * 32);
  EXPECT_DOUBLE_EQ(r.decode_fetch_bytes_per_step, 0);

  r = size("infllm", 32768);
  // 10368 tokens = 648 pages in the working set; 32768 - 4224 = 28544 tokens in memory units: 1784 pages of keys.
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 648.0 * 16 * 4096 * 32 + 1784.0 * 32768);
  EXPECT_DOUBLE_EQ(r.host_bytes_per_request, 28544.0 * 4096 * 32);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (4224.0 * 4096 + 2048.0 * 4096 + 28544.0 * 64) * 32);
  EXPECT_DOUBLE_EQ(r.decode_fetch_bytes_per_step, 2048.0 * 4096 * 32);
  // Misses only: a 75% block-cache hit rate fetches a quarter of the retrieved blocks.
  EXPECT_DOUBLE_EQ(size("infllm:fetch_hit_rate=0.75", 32768).decode_fetch_bytes_per_step, 512.0 * 4096 * 32);
  // 5000 tokens: 776 tokens beyond init + local, fewer than topk * block: all of them are read and fetched.
  r = size("infllm", 5000);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (4224.0 * 4096 + 776.0 * 4096 + 776.0 * 64) * 32);
  EXPECT_DOUBLE_EQ(r.decode_fetch_bytes_per_step, 776.0 * 4096 * 32);
}

// ---------------------------------------------------------------- composition (§6)

TEST(TokenStrategies, SnapKvPlusKiviMultipliesMemoryFactors) {
  // Tokens 2048 of 32768 (16x) x precision 16/3 (5.33x) = 85.3x, apart from KIVI's 128 fp16 residual tokens.
  const double full = size("full", 32768).bytes_per_request;
  const double both = size("snapkv+kivi-2", 32768).bytes_per_request;
  const double residual = 128.0 * (4096 - 768) * 32;
  EXPECT_DOUBLE_EQ(both, 128.0 * 16 * 768 * 32 + residual);  // 2048 tokens at 768 B per layer
  EXPECT_DOUBLE_EQ(full / (both - residual), (32768.0 / 2048) * (16.0 / 3));
  EXPECT_DOUBLE_EQ(size("kivi-2+snapkv", 32768).bytes_per_request, both);
  // At 4096: 2x tokens x 5.33x precision.
  EXPECT_DOUBLE_EQ(size("full", 4096).bytes_per_request /
                       (size("snapkv+kivi-2", 4096).bytes_per_request - residual),
                   2.0 * 16 / 3);
  // PyramidKV + KVQuant and InfLLM + FP8 compose too (different axes).
  EXPECT_NO_THROW(compose("pyramidkv+kvquant"));
  EXPECT_DOUBLE_EQ(size("infllm+fp8", 32768).bytes_per_request, 648.0 * 16 * 2048 * 32 + 1784.0 * 16 * 64 * 32);
}

TEST(TokenStrategies, ImpossibleCombinationsAreRejectedWithAReason) {
  std::string e = error_of([] { compose("shadowkv", "deepseek-v3"); });
  EXPECT_NE(e.find("MLA"), std::string::npos) << e;
  e = error_of([] { compose("shadowkv+kivi-2"); });
  EXPECT_NE(e.find("quantization"), std::string::npos) << e;
  e = error_of([] { compose("snapkv+shadowkv"); });
  EXPECT_NE(e.find("eviction"), std::string::npos) << e;
  e = error_of([] { compose("shadowkv+quest"); });
  EXPECT_NE(e.find("traffic"), std::string::npos) << e;
  e = error_of([] { compose("infllm+h2o"); });
  EXPECT_NE(e.find("retention"), std::string::npos) << e;
  e = error_of([] { compose("infllm", "mistral-7b"); });  // every layer already a 4096 window
  EXPECT_NE(e.find("windowed"), std::string::npos) << e;
  // Rank 160 does not fit 1 KV head of 128 per GPU at TP 8.
  e = error_of([] { compose("shadowkv", "llama-3.1-8b", 8); });
  EXPECT_NE(e.find("rank"), std::string::npos) << e;
}

TEST(TokenStrategies, BadParametersNameTheKey) {
  const auto expect_error = [](const std::string& spec, const std::string& needle) {
    const std::string e = error_of([&] { compose(spec); });
    EXPECT_NE(e.find(needle), std::string::npos) << spec << ": " << e;
  };
  expect_error("pyramidkv:budget_tokens=16", "budget_tokens");       // smaller than the observation window
  expect_error("pyramidkv:beta=0.5", "beta");
  expect_error("keyformer:recent_fraction=1", "recent_fraction");
  expect_error("keyformer:kv_cache_fraction=1.5", "kv_cache_fraction");
  expect_error("keyformer:kv_cache=60", "kv_cache_fraction");        // unknown key, valid ones listed
  expect_error("prefixkv:ratio=0", "ratio");
  expect_error("prefixkv:layer_ratios=0.2;0.2", "32 layers");
  expect_error("prefixkv:layer_ratios=0.2;x", "layer_ratios");
  expect_error("prefixkv:ratio=0.5,layer_ratios=0.2", "mean");
  expect_error("kvquant:bits=5", "2, 3 or 4");
  expect_error("kvquant:outlier_fraction=-0.1", "outlier_fraction");
  expect_error("mikv:high_bits=4", "16 or 8");
  expect_error("mikv:low_bits=8", "2, 3 or 4");
  expect_error("mikv:important_fraction=1", "important_fraction");
  expect_error("gear:bits=3", "bits");
  expect_error("gear:rank=100", "rank");                             // more than the 64-token block
  expect_error("gear:rank=40", "16-bit");                            // the correction outweighs the compression
  expect_error("rotatekv:bits=1", "2, 3 or 4");
  expect_error("kivi-2:group_size=1", "16-bit");                     // 2 + 32 bits of metadata per element
  expect_error("shadowkv:budget_tokens=1001", "chunk_tokens");
  expect_error("shadowkv:fetch_hit_rate=2", "fetch_hit_rate");
  expect_error("infllm:repr_keys=200", "block_tokens");
  expect_error("infllm:topk_blocks=0", "topk_blocks");
  // Unknown names list every strategy, the new ones included.
  const std::string e = error_of([] { compose("pyramid-kv"); });
  for (const char* name : {"pyramidkv", "prefixkv", "keyformer", "kvquant", "mikv", "gear", "rotatekv", "shadowkv",
                           "infllm", "kivi-2", "quest"}) {
    EXPECT_NE(e.find(name), std::string::npos) << name << ": " << e;
  }
}

TEST(TokenStrategies, EveryStrategyDocumentsItself) {
  for (const char* name : {"sliding-window", "streaming-llm", "snapkv", "h2o", "keyformer", "pyramidkv", "prefixkv",
                           "quest", "fp8", "int8", "kivi-2", "kivi-4", "kvquant", "mikv", "gear", "rotatekv",
                           "qserve-kv4", "atom-kv4", "shadowkv", "infllm"}) {
    const KvStrategyEntry* e = kv_strategies().find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_FALSE(e->description.empty()) << name;
    EXPECT_FALSE(e->citation.empty()) << name;
    EXPECT_FALSE(e->axes.empty()) << name;
    for (const ReportedQuality& q : e->reported) EXPECT_FALSE(q.source.empty()) << name;
    // The parameters in force are exactly the documented ones (defaults filled in).
    const ComposedStrategy s = compose(name);
    ASSERT_EQ(s.resolved.size(), 1u);
    for (auto it = s.resolved[0].begin(); it != s.resolved[0].end(); ++it) {
      if (it.key() == "name") continue;
      bool documented = false;
      for (const ParamDoc& p : e->params) documented |= p.name == it.key();
      EXPECT_TRUE(documented) << name << "." << it.key();
    }
  }
  // The placement strategies list every axis they set.
  EXPECT_EQ(kv_strategies().find("shadowkv")->axes,
            (std::vector<KvAxis>{KvAxis::kPlacement, KvAxis::kWidth, KvAxis::kTraffic}));
  EXPECT_EQ(kv_strategies().find("infllm")->axes,
            (std::vector<KvAxis>{KvAxis::kPlacement, KvAxis::kRetention, KvAxis::kTraffic}));
}

}  // namespace
}  // namespace kvsim
