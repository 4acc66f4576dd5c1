// Hand-computed KV sizes of the sharing-axis and width-axis strategies (kv-strategies.md §1.4–§1.10, §2.7, §3.6,
// §3.7), at two context lengths each. Expectations are explicit arithmetic from the doc's formulas, never calls
// into the code under test. Page granularity: block 16; both contexts below are multiples of 16, so a group
// holding S tokens takes S/16 pages.
//
// Llama-3.1-8B: L = 32, H_kv = 8, d = 128, bf16 (e = 2) -> m_layer = 2 * 8 * 128 * 2 = 4096 B per token per layer,
// full KV = 32 * 4096 = 131072 B per token.
#include <cmath>

#include <gtest/gtest.h>

#include "models/kv/kv_size.h"
#include "models/kv/strategy.h"
#include "models/spec/catalog.h"
#include "tests/common/error_of.h"
#include "tests/models/strategy_test_util.h"

namespace kvsim {
namespace {

using testing::error_of;

constexpr double kMLayer = 2.0 * 8 * 128 * 2;  // Llama-3.1-8B bytes per token per layer (4096)
constexpr double kS1 = 4096, kS2 = 32768;      // the two context lengths

using testing::compose;

KvSizeReport size_of(const std::string& spec, double context, const std::string& model = "llama-3.1-8b") {
  return kv_size(compose(spec, model).layout, static_cast<TokenCount>(context), std::nullopt);
}

double request_bytes(const std::string& spec, double context, const std::string& model = "llama-3.1-8b") {
  return size_of(spec, context, model).bytes_per_request;
}

// Relative tolerance for expectations with fractional bytes per token.
void expect_close(double actual, double expected) {
  EXPECT_NEAR(actual, expected, std::abs(expected) * 1e-12 + 1e-6) << "expected " << expected;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// --- local-global (§1.4) -------------------------------------------------------------------------------------------

TEST(LocalGlobal, Gemma3_27bAt128KIs10240MiBGlobalPlus416MiBLocal) {
  // Gemma-3-27B: 62 layers, H_kv = 16, d = 128, bf16: 2 * 16 * 128 * 2 = 8192 B per token per layer.
  // Pattern LLLLLG from layer 0: 10 global + 52 local layers, window 1024.
  const double m = 2.0 * 16 * 128 * 2;
  const double mib = 1024.0 * 1024;
  // 128K: 10 x 131072 x 8192 B = 10,240 MiB; 52 x 1024 x 8192 B = 416 MiB (kv-strategies.md §1.4).
  const double global_128k = 10 * 131072 * m, local = 52 * 1024 * m;
  EXPECT_DOUBLE_EQ(global_128k, 10240 * mib);
  EXPECT_DOUBLE_EQ(local, 416 * mib);
  const KvSizeReport r = size_of("local-global", 131072, "gemma-3-27b");
  EXPECT_DOUBLE_EQ(r.bytes_per_request, global_128k + local);
  // One decode step: the new token attends to 131072 + 1 tokens in 10 global layers and to the 1024-token window
  // (which counts the new token) in 52 local layers.
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 10 * 131073 * m + 52 * 1024 * m);
  // Imposing Gemma 3's own pattern reproduces the model card's layout.
  EXPECT_DOUBLE_EQ(request_bytes("full", 131072, "gemma-3-27b"), global_128k + local);
  // 4096 tokens: 10 x 4096 + 52 x 1024 tokens.
  EXPECT_DOUBLE_EQ(request_bytes("local-global", kS1, "gemma-3-27b"), 10 * kS1 * m + 52 * 1024 * m);
  // All-global Gemma-3-27B at 128K would hold 62 x 131072 x 8192 B = 63,488 MiB -> 63,488 / 10,656 = 5.96x
  // (kv-strategies.md §1.4 writes 5.8x for the same figures).
  EXPECT_DOUBLE_EQ(62 * 131072 * m, 63488 * mib);
  EXPECT_NEAR(62 * 131072 * m / request_bytes("local-global", 131072, "gemma-3-27b"), 5.96, 0.005);
}

TEST(LocalGlobal, ImposedOnLlamaAtTwoContexts) {
  // L = 32 with 5 local per global: globals at layers 5, 11, 17, 23, 29 -> 5 global, 27 local.
  for (double s : {kS1, kS2}) {
    const KvSizeReport r = size_of("local-global", s);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, 5 * s * kMLayer + 27 * 1024 * kMLayer) << s;
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 5 * (s + 1) * kMLayer + 27 * 1024 * kMLayer) << s;
  }
  // 1:1 with a 4096 window (Gemma 2 style): 16 global + 16 local; at 4096 every layer holds all tokens.
  EXPECT_DOUBLE_EQ(request_bytes("local-global:window_tokens=4096,local_per_global=1", kS1), 32 * kS1 * kMLayer);
  EXPECT_DOUBLE_EQ(request_bytes("local-global:window_tokens=4096,local_per_global=1", kS2),
                   16 * kS2 * kMLayer + 16 * 4096 * kMLayer);
}

TEST(LocalGlobal, ReplacesTheModelsOwnPattern) {
  // Gemma-3-27B with 1:1 and window 512: layer i global iff i odd -> 31 global + 31 local.
  const double m = 2.0 * 16 * 128 * 2;
  const ComposedStrategy s = compose("local-global:window_tokens=512,local_per_global=1", "gemma-3-27b");
  ASSERT_EQ(s.layout.groups.size(), 2u);
  EXPECT_DOUBLE_EQ(kv_size(s.layout, 4096, std::nullopt).bytes_per_request, 31 * 4096 * m + 31 * 512 * m);
  EXPECT_DOUBLE_EQ(kv_size(s.layout, 32768, std::nullopt).bytes_per_request, 31 * 32768 * m + 31 * 512 * m);
}

TEST(LocalGlobal, RejectsBadParameters) {
  std::string e = error_of([] { compose("local-global:window_tokens=0"); });
  EXPECT_TRUE(contains(e, "window_tokens")) << e;
  e = error_of([] { compose("local-global:local_per_global=32"); });  // 33 > 32 layers: no global layer left
  EXPECT_TRUE(contains(e, "local_per_global")) << e;
  e = error_of([] { compose("local-global:window=1024"); });  // unknown key lists the valid ones
  EXPECT_TRUE(contains(e, "window_tokens")) << e;
}

// --- cla (§1.7) ----------------------------------------------------------------------------------------------------

TEST(Cla, HalvesCapacityButNotTrafficByDefault) {
  for (double s : {kS1, kS2}) {
    // ceil(32 / 2) = 16 caches of S tokens; all 32 layers still read their (shared) cache each step.
    const KvSizeReport r = size_of("cla", s);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, 16 * s * kMLayer) << s;
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 32 * (s + 1) * kMLayer) << s;
    // traffic_shared: one read per cache.
    EXPECT_DOUBLE_EQ(size_of("cla:traffic_shared=true", s).decode_bytes_per_step, 16 * (s + 1) * kMLayer) << s;
    // CLA3: ceil(32 / 3) = 11 caches.
    EXPECT_DOUBLE_EQ(request_bytes("cla:share_every_layers=3", s), 11 * s * kMLayer) << s;
  }
  // Per group on Gemma-3-27B: 10 global -> 5, 52 local -> 26 (8192 B per token per layer).
  const double m = 2.0 * 16 * 128 * 2;
  EXPECT_DOUBLE_EQ(request_bytes("cla", kS2, "gemma-3-27b"), 5 * kS2 * m + 26 * 1024 * m);
}

TEST(Cla, ComposedWithFp8IsFourTimesSmallerThanFull) {
  for (double s : {kS1, kS2}) {
    const double full = 32 * s * kMLayer;
    EXPECT_DOUBLE_EQ(request_bytes("full", s), full);
    // 16 caches x S tokens x 2048 B (one byte per element).
    EXPECT_DOUBLE_EQ(request_bytes("cla+fp8", s), 16 * s * (kMLayer / 2));
    EXPECT_DOUBLE_EQ(full / request_bytes("cla+fp8", s), 4.0);
  }
}

TEST(Cla, RejectsBadParameters) {
  std::string e = error_of([] { compose("cla:share_every_layers=33"); });
  EXPECT_TRUE(contains(e, "share_every_layers")) << e;
  EXPECT_TRUE(contains(e, "32 layers")) << e;
  e = error_of([] { compose("cla:share_every_layers=0"); });
  EXPECT_TRUE(contains(e, "share_every_layers")) << e;
  e = error_of([] { compose("cla:traffic_shared=2"); });
  EXPECT_TRUE(contains(e, "traffic_shared")) << e;
  e = error_of([] { compose("cla:share=2"); });
  EXPECT_TRUE(contains(e, "share_every_layers")) << e;
}

// --- swiftkv (§1.8) ------------------------------------------------------------------------------------------------

TEST(SwiftKv, AcrossKvLayerCountsOfTheDoc) {
  for (double s : {kS1, kS2}) {
    // L_kv = (1-f)L + fL/k: f = 0.5 -> 16 + 16/2 = 24 (75%); k = 4 -> 20 (62.5%); k = 16 -> 17.
    EXPECT_DOUBLE_EQ(request_bytes("swiftkv", s), 24 * s * kMLayer) << s;
    EXPECT_DOUBLE_EQ(request_bytes("swiftkv:across_kv_layers=4", s), 20 * s * kMLayer) << s;
    EXPECT_DOUBLE_EQ(request_bytes("swiftkv:across_kv_layers=16", s), 17 * s * kMLayer) << s;
    // f = 0.25, k = 8: 24 + 8/8 = 25.
    EXPECT_DOUBLE_EQ(request_bytes("swiftkv:single_input_fraction=0.25,across_kv_layers=8", s), 25 * s * kMLayer)
        << s;
    // Traffic unchanged by default.
    EXPECT_DOUBLE_EQ(size_of("swiftkv", s).decode_bytes_per_step, 32 * (s + 1) * kMLayer) << s;
    // With FP8: 24/32 x 1/2 = 37.5% of full, the reported -62.5% [derived].
    EXPECT_DOUBLE_EQ(request_bytes("swiftkv+fp8", s) / (32 * s * kMLayer), 0.375) << s;
  }
}

TEST(SwiftKv, RejectsBadParameters) {
  std::string e = error_of([] { compose("swiftkv:across_kv_layers=17"); });  // only 16 SingleInputKV layers
  EXPECT_TRUE(contains(e, "across_kv_layers")) << e;
  e = error_of([] { compose("swiftkv:single_input_fraction=1.5"); });
  EXPECT_TRUE(contains(e, "single_input_fraction")) << e;
}

// --- minicache (§1.9) ----------------------------------------------------------------------------------------------

TEST(MiniCache, MergedPairsFromTheMiddleLayer) {
  // Layers 0..15 unmerged: 16 caches x 4096 B. Layers 16..31: 8 merged pairs; per pair per head, for K and for V:
  // d + 2 + rho * 2d = 128 + 2 + 0.05 * 256 = 142.8 elements -> 2 (K, V) x 8 heads x 142.8 x 2 B = 4569.6 B per
  // token, plus one int32 index per retained token: 0.05 x 4 = 0.2 B -> 4569.8 B per token per pair.
  const double merged_stored = 2 * 8 * (128 + 2 + 0.05 * 256) * 2;  // 4569.6
  const double merged = merged_stored + 0.05 * 4;                    // 4569.8
  // Page of 16 tokens: unmerged 16 x 4096 x 16 = 1,048,576 B; merged ceil(16 x 4569.8 x 8) = ceil(584,934.4).
  const double unmerged_page = 16 * kMLayer * 16, merged_page = std::ceil(16 * merged * 8);
  EXPECT_DOUBLE_EQ(merged_page, 584935);
  for (double s : {kS1, kS2}) {
    const KvSizeReport r = size_of("minicache", s);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, s / 16 * (unmerged_page + merged_page)) << s;
    // Decode: 16 unmerged readers + 16 readers of the merged pairs, S + 1 tokens each. A merged layer reads, per head
    // for K and for V, the shared direction and its own magnitude for merged tokens and its own vector for retained
    // ones: (1 - rho)(d + 1) + rho d = 128.95 elements -> 2 x 8 x 128.95 x 2 B = 4126.4 B per token, 0.74% above an
    // unmerged layer's 4096 B (the magnitude) and never its partner's magnitudes or retained tokens.
    const double merged_read = 2 * 8 * (0.95 * 129 + 0.05 * 128) * 2;
    EXPECT_DOUBLE_EQ(merged_read, 4126.4);
    expect_close(r.decode_bytes_per_step, 16 * (s + 1) * kMLayer + 16 * (s + 1) * merged_read);
    expect_close(r.decode_bytes_per_step / size_of("full", s).decode_bytes_per_step, (4096 + 4126.4) / (2 * 4096));
  }
  // Compression of the token part vs full: 32 x 4096 / (16 x 4096 + 8 x 4569.8) = 1.28x.
  EXPECT_NEAR(32 * kMLayer / (16 * kMLayer + 8 * merged), 1.28, 0.005);
}

TEST(MiniCache, ComposesWithKivi4) {
  // 4-bit + fp16 scale/zero per 32 elements = 5 bits per element; 128 residual tokens at 16 bits (fixed premium).
  // Unmerged: 16 layers x 2048 elements; merged: 8 pairs x 2 x 8 x 142.8 = 2284.8 elements + 0.2 B index.
  const double merged_elems = 2 * 8 * 142.8;
  const double unmerged_page = 16 * (2048 * 5 / 8.0) * 16;                  // 16 tokens, 16 layers: 327,680
  const double merged_page = std::ceil(16 * (merged_elems * 5 / 8.0 + 0.2) * 8);
  const double premium = std::ceil(128 * 2048 * (2 - 5 / 8.0) * 16) + std::ceil(128 * merged_elems * (2 - 5 / 8.0) * 8);
  for (double s : {kS1, kS2}) {
    EXPECT_DOUBLE_EQ(request_bytes("minicache+kivi-4", s), s / 16 * (unmerged_page + merged_page) + premium) << s;
  }
}

TEST(MiniCache, RejectsBadParameters) {
  std::string e = error_of([] { compose("minicache:retained_fraction=0.6"); });  // 128+2+153.6 > 256
  EXPECT_TRUE(contains(e, "retained_fraction")) << e;
  e = error_of([] { compose("minicache:start_fraction=1"); });
  EXPECT_TRUE(contains(e, "start_fraction")) << e;
  e = error_of([] { compose("minicache:start_fraction=0.99"); });  // layer 32 of 32: no pair left
  EXPECT_TRUE(contains(e, "start_fraction")) << e;
  e = error_of([] { compose("minicache", "deepseek-v3"); });
  EXPECT_TRUE(contains(e, "MLA")) << e;
}

// --- xkv (§1.10) ---------------------------------------------------------------------------------------------------

TEST(XKv, CoefficientsPlusPerRequestBasis) {
  // G = 4, r_k = 384, r_v = 576: per token per layer (384 + 576) / 4 = 240 elements = 480 B (vs 2048 elements).
  const double per_token_layer = (384.0 + 576) / 4 * 2;
  // Basis per request per group: (r_k + r_v) x G x H_kv x d = 960 x 4 x 1024 elements, 16-bit; 8 groups.
  const double basis = 960.0 * 4 * 1024 * 2 * 8;
  EXPECT_DOUBLE_EQ(basis, 60 * 1024.0 * 1024);  // 60 MiB
  for (double s : {kS1, kS2}) {
    const KvSizeReport r = size_of("xkv", s);
    EXPECT_DOUBLE_EQ(r.bytes_per_token, 32 * per_token_layer);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, 32 * s * per_token_layer + basis) << s;
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 32 * (s + 1) * per_token_layer) << s;
  }
  // Token part 2048 / 240 = 8.53x smaller (kv-strategies.md: 8.5x).
  EXPECT_NEAR(2048.0 / 240, 8.53, 0.01);
  // Dense reconstruction: 2 (r_k + r_v) G H_kv d per context token per group = 2 x 960 x 1024 per reader layer.
  const ComposedStrategy x = compose("xkv");
  EXPECT_DOUBLE_EQ(x.layout.groups[0].reconstruct_flops_per_token, 2.0 * 960 * 4 * 1024 / 4);
}

TEST(XKv, ShardsWithTensorParallelism) {
  // TP = 2: each GPU holds 4 of the 8 KV heads, so half of the coefficients and half of the basis.
  const ComposedStrategy x = compose("xkv", "llama-3.1-8b", 2);
  const KvSizeReport r = kv_size(x.layout, 32768, std::nullopt);
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 32 * kS2 * 240 + 960.0 * 4 * 1024 * 2 * 8 / 2);
}

TEST(XKv, RejectsBadParameters) {
  std::string e = error_of([] { compose("xkv:rank_k=5000"); });  // > 4 x 1024
  EXPECT_TRUE(contains(e, "rank_k")) << e;
  e = error_of([] { compose("xkv:layer_group_size=0"); });
  EXPECT_TRUE(contains(e, "layer_group_size")) << e;
  e = error_of([] { compose("xkv:layer_group_size=33"); });
  EXPECT_TRUE(contains(e, "layer_group_size")) << e;
  // xkv sets the width axis too: it does not compose with another width strategy.
  e = error_of([] { compose("xkv+cskv"); });
  EXPECT_TRUE(contains(e, "width")) << e;
}

// --- mixattention (§1.6) -------------------------------------------------------------------------------------------

struct MixCase {
  const char* config;
  int std_caches, std_readers, swa_caches, swa_readers;
};

TEST(MixAttention, LayerMapsOnLlama) {
  // L = 32, window 1024, sliding-window KV shared by runs of up to 3 consecutive sliding layers.
  // ma:          standard 0, 16, 31 (one KV)      -> sliding runs 1..15 (5 KV), 17..30 (14 layers: 5 KV)
  // ma-endslide: standard 0, 16 (one KV)          -> runs 1..15 (5), 17..31 (5)
  // ma-offset:   standard 8, 16, 31 (one KV)      -> runs 0..7 (8 layers: 3), 9..15 (7: 3), 17..30 (5)
  // ma-pairs:    standard 8, 9 | 30, 31 (two KV)  -> runs 0..7 (3), 10..29 (20 layers: 7)
  const MixCase cases[] = {{"ma", 1, 3, 10, 29},
                           {"ma-endslide", 1, 2, 10, 30},
                           {"ma-offset", 1, 3, 11, 29},
                           {"ma-pairs", 2, 4, 10, 28}};
  for (const MixCase& c : cases) {
    for (double s : {kS1, kS2}) {
      const KvSizeReport r = size_of(std::string("mixattention:config=") + c.config, s);
      // KV(req) = m_layer * (N_std_kv * S + N_swa_kv * min(S, W)).
      EXPECT_DOUBLE_EQ(r.bytes_per_request, kMLayer * (c.std_caches * s + c.swa_caches * 1024)) << c.config << s;
      EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, kMLayer * (c.std_readers * (s + 1) + c.swa_readers * 1024))
          << c.config << s;
    }
  }
  // The default is ma; ma at 32K: 32 x 32768 / (32768 + 10 x 1024) = 24.4x smaller than full.
  EXPECT_DOUBLE_EQ(request_bytes("mixattention", kS2), kMLayer * (kS2 + 10 * 1024));
  // Sharing sliding KV by 2: ma runs of 15 and 14 -> 8 + 7 = 15 sliding caches.
  EXPECT_DOUBLE_EQ(request_bytes("mixattention:swa_share_layers=2", kS2), kMLayer * (kS2 + 15 * 1024));
}

TEST(MixAttention, ComposesWithFp8) {
  for (double s : {kS1, kS2}) {
    EXPECT_DOUBLE_EQ(request_bytes("mixattention+fp8", s), kMLayer / 2 * (s + 10 * 1024)) << s;
  }
}

TEST(MixAttention, RejectsBadParameters) {
  std::string e = error_of([] { compose("mixattention:config=ma-triples"); });
  EXPECT_TRUE(contains(e, "config")) << e;
  EXPECT_TRUE(contains(e, "ma-pairs")) << e;
  e = error_of([] { compose("mixattention:window_tokens=-1"); });
  EXPECT_TRUE(contains(e, "window_tokens")) << e;
  e = error_of([] { compose("mixattention:swa_share_layers=0"); });
  EXPECT_TRUE(contains(e, "swa_share_layers")) << e;
}

// --- character-ai (§1.5) -------------------------------------------------------------------------------------------

TEST(CharacterAi, MqaLocalLayersAndSharing) {
  // MQA: 2 x 1 x 128 x 2 = 512 B per token per cache. L = 32: globals at 5, 11, 17, 23, 29 shared by 2 ->
  // ceil(5/2) = 3 global KV; local runs 0..4, 6..10, 12..16, 18..22, 24..28 (5 layers: 2 KV each) and 30..31 (1)
  // -> 11 local KV of 1024 tokens.
  const double m = 2.0 * 1 * 128 * 2;
  for (double s : {kS1, kS2}) {
    const KvSizeReport r = size_of("character-ai", s);
    // KV(req) = 2 d e H_kv (N_gkv S + N_lkv min(S, 1024)).
    EXPECT_DOUBLE_EQ(r.bytes_per_request, m * (3 * s + 11 * 1024)) << s;
    // Reads are not cut by sharing: 5 global readers of S + 1, 27 local readers of 1024 tokens (the window counts the new token).
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, m * (5 * (s + 1) + 27 * 1024)) << s;
  }
  // The reported ">20x" is a lower bound the stack should exceed at long context: 32 x 32768 x 4096 B full vs
  // 512 x (3 x 32768 + 11 x 1024) B = 76.6x.
  EXPECT_GT(32 * kS2 * kMLayer / request_bytes("character-ai", kS2), 20.0);
  // Without cross-layer sharing: 5 global + 27 local caches.
  EXPECT_DOUBLE_EQ(request_bytes("character-ai:local_share_layers=1,global_share_layers=1", kS2),
                   m * (5 * kS2 + 27 * 1024));
}

TEST(CharacterAi, MqaHeadIsReplicatedUnderTensorParallelism) {
  // One K/V head cannot be split: with TP = 2 each GPU still holds 512 B per token per cache.
  const double m = 2.0 * 1 * 128 * 2;
  const ComposedStrategy s = compose("character-ai", "llama-3.1-8b", 2);
  EXPECT_DOUBLE_EQ(kv_size(s.layout, 32768, std::nullopt).bytes_per_request, m * (3 * kS2 + 11 * 1024));
}

TEST(CharacterAi, RejectsMlaAndBadParameters) {
  std::string e = error_of([] { compose("character-ai", "deepseek-v3"); });
  EXPECT_TRUE(contains(e, "MLA")) << e;
  e = error_of([] { compose("character-ai:window_tokens=0"); });
  EXPECT_TRUE(contains(e, "window_tokens")) << e;
  e = error_of([] { compose("character-ai:global_share_layers=0"); });
  EXPECT_TRUE(contains(e, "global_share_layers")) << e;
}

// --- think (§2.7) --------------------------------------------------------------------------------------------------

TEST(Think, PrunesKeyChannels) {
  // lambda = 0.4: K keeps 0.6 x 1024 = 614.4 channels, V 1024 -> (614.4 + 1024) x 2 = 3276.8 B per token per layer
  // = m_layer x (1 - lambda/2) = 0.8 x 4096.
  const double per_layer = (0.6 * 1024 + 1024) * 2;
  const double page = std::ceil(16 * per_layer * 32);  // ceil(1,677,721.6)
  // Per request per layer: the 32 recent tokens' pruned channels (32 x 0.4 x 1024 x 2 B = 26,214.4 B) plus the
  // channel mask (1024 bits = 128 B); 32 layers -> ceil(842,956.8).
  const double fixed = std::ceil((32 * 0.4 * 1024 * 2 + 1024 / 8.0) * 32);
  EXPECT_DOUBLE_EQ(page, 1677722);
  EXPECT_DOUBLE_EQ(fixed, 842957);
  for (double s : {kS1, kS2}) {
    const KvSizeReport r = size_of("think", s);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, s / 16 * page + fixed) << s;
    expect_close(r.decode_bytes_per_step, 32 * (s + 1) * per_layer);
  }
  // QK on 60% of the channels, PV on all: (2 x 0.6 + 2) / 4 = 0.8 of the attention FLOPs.
  EXPECT_DOUBLE_EQ(compose("think").layout.groups[0].attention_flops_scale, 0.8);
}

TEST(Think, RejectsBadParameters) {
  std::string e = error_of([] { compose("think:pruning_ratio=1"); });
  EXPECT_TRUE(contains(e, "pruning_ratio")) << e;
  e = error_of([] { compose("think:recent_tokens=-1"); });
  EXPECT_TRUE(contains(e, "recent_tokens")) << e;
  e = error_of([] { compose("think", "deepseek-v3"); });
  EXPECT_TRUE(contains(e, "MLA")) << e;
}

// --- cskv (§3.6) ---------------------------------------------------------------------------------------------------

TEST(Cskv, KeepsTwentyPercentOfChannels) {
  // compression 0.8: r_k + r_v = 0.2 x 2 x 8 x 128 = 409.6 elements -> 819.2 B per token per layer.
  const double per_layer = 0.2 * 2 * 8 * 128 * 2;
  const double page = std::ceil(16 * per_layer * 32);  // ceil(419,430.4)
  // 32 recent tokens at full width: the dropped 0.8 x 2048 elements x 2 B each, per layer -> ceil(3,355,443.2).
  const double fixed = std::ceil(32 * 0.8 * 2048 * 2 * 32);
  EXPECT_DOUBLE_EQ(page, 419431);
  EXPECT_DOUBLE_EQ(fixed, 3355444);
  for (double s : {kS1, kS2}) {
    const KvSizeReport r = size_of("cskv", s);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, s / 16 * page + fixed) << s;
    expect_close(r.decode_bytes_per_step, 32 * (s + 1) * per_layer);
  }
  // The reference code rebuilds every cached token's K and V at each decode step (k_proj_b, v_proj_b: 204.8 x 1024
  // dense maps) and applies RoPE to the keys: 2 x 204.8 x 1024 x 2 + 3 x 1024 = 841,932.8 FLOPs per token read.
  EXPECT_DOUBLE_EQ(compose("cskv").layout.groups[0].reconstruct_flops_per_token, 2 * 204.8 * 1024 * 2 + 3 * 1024);
  // Bases folded into the queries and the output (not what the paper's code does): nothing rebuilt.
  EXPECT_DOUBLE_EQ(compose("cskv:absorbed=true").layout.groups[0].reconstruct_flops_per_token, 0.0);
}

TEST(Cskv, RejectsBadParameters) {
  std::string e = error_of([] { compose("cskv:compression=1"); });
  EXPECT_TRUE(contains(e, "compression")) << e;
  e = error_of([] { compose("cskv:compression=0"); });
  EXPECT_TRUE(contains(e, "compression")) << e;
}

// --- matryoshkakv (§3.7) -------------------------------------------------------------------------------------------

TEST(MatryoshkaKv, KeepsFortyPercentOfDimensions) {
  // compression 0.6: 0.4 x 2048 = 819.2 elements -> 1638.4 B per token per layer; page ceil(838,860.8).
  const double per_layer = 0.4 * 2048 * 2;
  const double page = std::ceil(16 * per_layer * 32);
  EXPECT_DOUBLE_EQ(page, 838861);
  for (double s : {kS1, kS2}) {
    const KvSizeReport r = size_of("matryoshkakv", s);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, s / 16 * page) << s;
    expect_close(r.decode_bytes_per_step, 32 * (s + 1) * per_layer);
  }
  EXPECT_DOUBLE_EQ(compose("matryoshkakv").layout.groups[0].attention_flops_scale, 0.4);
  // Width composes with sharing: CLA2 + MatryoshkaKV = 16 caches x 1638.4 B; page ceil(16 x 1638.4 x 16) = 419,431.
  EXPECT_DOUBLE_EQ(request_bytes("cla+matryoshkakv", kS2), kS2 / 16 * std::ceil(16 * per_layer * 16));
}

TEST(MatryoshkaKv, RejectsBadParameters) {
  std::string e = error_of([] { compose("matryoshkakv:compression=1.2"); });
  EXPECT_TRUE(contains(e, "compression")) << e;
  e = error_of([] { compose("think+matryoshkakv"); });  // both width
  EXPECT_TRUE(contains(e, "width")) << e;
}

// --- registry ------------------------------------------------------------------------------------------------------

TEST(SharingAndWidthStrategies, AreRegisteredWithCitationAndReportedQuality) {
  for (const char* name : {"local-global", "cla", "swiftkv", "minicache", "xkv", "mixattention", "character-ai",
                           "think", "cskv", "matryoshkakv"}) {
    const KvStrategyEntry* e = kv_strategies().find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_FALSE(e->description.empty()) << name;
    EXPECT_FALSE(e->citation.empty()) << name;
    EXPECT_FALSE(e->params.empty()) << name;
    ASSERT_FALSE(e->reported.empty()) << name;
    EXPECT_FALSE(e->reported.front().source.empty()) << name;
  }
}

}  // namespace
}  // namespace kvsim
