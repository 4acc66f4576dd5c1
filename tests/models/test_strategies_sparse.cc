// Hand-computed KV sizes and selection work of the clustering and sparse-selection strategies (sparse.cc): Chelsea,
// Squeezed Attention, SentenceKV and HiP, on Llama-3.1-8B at 4K and 32K tokens, against kv-strategies.md §2.8-§2.12.
//
// Every expected value is explicit arithmetic with the model's shape, never a call into the code under test.
// Llama-3.1-8B: L = 32 layers, H_q = 32, H_kv = 8, d = 128, bf16 (e = 2). One token of one layer: K and V of
// H_kv*d = 1024 elements each, m_layer = 4096 B; one key vector over the KV heads: 1024 * 2 = 2048 B. Pages of 16
// tokens: 16 * 4096 * 32 = 2 MiB across the layers (rounded up to whole bytes for fractional bytes per token).
// kv_size(layout, N) is the request right after a prefill of N tokens; its decode step attends to N + 1 tokens.
//
// Selection work is read from the cost model's kv.select op (IterationCostModel::build_ops) for one sequence: a
// decode step (computed = N, 1 token) or a whole-prompt prefill (computed = 0, N tokens).
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "models/cost/impl/roofline.h"
#include "models/cost/iteration_cost_model.h"
#include "models/kv/kv_size.h"
#include "models/kv/strategy.h"
#include "models/spec/catalog.h"
#include "tests/common/error_of.h"
#include "tests/models/strategy_test_util.h"

namespace kvsim {
namespace {

using testing::compose;
using testing::error_of;

constexpr double kMiB2 = 16.0 * 4096 * 32;  // one 16-token page across the 32 layers
constexpr double kKey = 2048.0;             // one 16-bit key vector per KV head, one layer

KvSizeReport size(const std::string& spec, TokenCount context) {
  return kv_size(compose(spec).layout, context, std::nullopt);
}

double pages(double tokens) { return std::ceil(tokens / 16.0); }

void expect_close(double actual, double expected, double rel = 1e-12) {
  EXPECT_NEAR(actual, expected, rel * std::abs(expected)) << "expected " << expected;
}

// kv.select FLOPs of one iteration of one sequence under `spec`.
double select_flops(const std::string& spec, TokenCount prompt, TokenCount computed, TokenCount tokens) {
  const LlmSpec& model = Catalog::builtin().model("llama-3.1-8b", "test");
  const RooflineCostModel kernels(RooflineParams{}, Catalog::builtin().gpu("h100-sxm", "test"));
  const IterationCostModel m(model, compose(spec).layout, 1, kernels, 0.0);
  const std::vector<SeqWork> work = {{prompt, computed, tokens}};
  IterationShape s;
  s.work = work;
  s.sampled_sequences = 1;
  std::vector<KernelOp> ops;
  m.build_ops(s, ops);
  double flops = 0;
  for (const KernelOp& op : ops) {
    if (op.id == OpId::kKvSelect) flops += op.flops;
  }
  return flops;
}
double decode_select(const std::string& spec, TokenCount n) { return select_flops(spec, n, n, 1); }
double prefill_select(const std::string& spec, TokenCount n) { return select_flops(spec, n, 0, n); }

// ---------------------------------------------------------------- Chelsea (§2.8)

TEST(SparseStrategies, ChelseaKeepsTwentyPercentOfThePrompt) {
  // reduction 0.8: max(128 recent, ceil(0.2 * N)) prompt tokens per layer at 16 bits, nothing on the host.
  //   4096: ceil(819.2) = 820 tokens = 52 pages;  32768: ceil(6553.6) = 6554 tokens = 410 pages.
  struct Case {
    TokenCount n;
    double kept;
  };
  for (const Case& c : {Case{4096, 820}, Case{32768, 6554}}) {
    const KvSizeReport r = size("chelsea", c.n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(c.kept) * kMiB2) << c.n;
    EXPECT_DOUBLE_EQ(r.host_bytes_per_request, 0) << c.n;
    EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, (c.kept + 1) * 4096 * 32) << c.n;
  }
  // The paper's 80% memory reduction: 410 of 2048 pages at 32K = 79.98% less than full attention.
  EXPECT_NEAR(1 - size("chelsea", 32768).bytes_per_request / size("full", 32768).bytes_per_request, 0.8, 0.001);
  // A short prompt keeps its recent window: 100 tokens < 128 are all kept (7 pages).
  EXPECT_DOUBLE_EQ(size("chelsea", 100).bytes_per_request, 7 * kMiB2);
  // reduction 0.5 keeps half: 16384 tokens = 1024 pages at 32K.
  EXPECT_DOUBLE_EQ(size("chelsea:reduction=0.5", 32768).bytes_per_request, 1024 * kMiB2);
}

TEST(SparseStrategies, ChelseaClusteringIsQuadraticInTheChunk) {
  // Chunked Soft Matching compares c/2 x c/2 key pairs per KV head per chunk, 2 d FLOPs each: c^2 d / 2 per chunk,
  // c d / 2 per token per KV head; priced once the prompt is complete, over 32 layers and 8 KV heads.
  //   c = 64, N = 4096: 4096 * 64 * 128 / 2 * 8 * 32 = 4096 * 32768 * 32 FLOPs.
  for (TokenCount n : {4096, 32768}) {
    EXPECT_DOUBLE_EQ(prefill_select("chelsea", n), n * (64.0 * 128 / 2 * 8) * 32) << n;
  }
  // Per chunk: total / (N / c). Doubling c quadruples a chunk's work (and doubles the prompt's).
  const double n = 32768;
  const double per_chunk_64 = prefill_select("chelsea:chunk_tokens=64", 32768) / (n / 64);
  const double per_chunk_128 = prefill_select("chelsea:chunk_tokens=128", 32768) / (n / 128);
  EXPECT_DOUBLE_EQ(per_chunk_64, 64.0 * 64 * 128 / 2 * 8 * 32);
  EXPECT_DOUBLE_EQ(per_chunk_128, 4 * per_chunk_64);
  // Decode reads the merged cache and does no clustering of its own; full attention has no kv.select at all.
  EXPECT_DOUBLE_EQ(decode_select("chelsea", 32768), 0);
  EXPECT_DOUBLE_EQ(prefill_select("full", 32768), 0);
}

// ---------------------------------------------------------------- Squeezed Attention (§2.9)

TEST(SparseStrategies, SqueezedAttentionKeepsFullKvPlusCentroids) {
  // Full KV on the device + 1024 centroids per KV head per layer: 1024 * 2048 B * 32 = 64 MiB per request.
  // Each step reads 1/3.1 of the KV and every centroid (1024 * 2048 B per layer).
  const double centroids = 1024.0 * kKey * 32;
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("squeezed-attention", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * kMiB2 + centroids) << n;
    EXPECT_DOUBLE_EQ(r.bytes_per_request - centroids, size("full", n).bytes_per_request) << n;  // no capacity saving
    EXPECT_DOUBLE_EQ(r.host_bytes_per_request, 0) << n;
    expect_close(r.decode_bytes_per_step, (n + 1.0) * 4096 * 32 / 3.1 + centroids);
    // The paper's 3.1x KV-budget reduction, centroid reads aside.
    expect_close(size("full", n).decode_bytes_per_step / (r.decode_bytes_per_step - centroids), 3.1);
  }
  // With the centroid reads, 32K reads 2.96x less than full: 134,221,824 / (43,297,362 + 2,097,152) B per layer.
  expect_close(size("full", 32768).decode_bytes_per_step / size("squeezed-attention", 32768).decode_bytes_per_step,
               32769.0 * 4096 / (32769.0 * 4096 / 3.1 + 1024 * kKey));
  // A token budget instead of the fraction: 2048 tokens read.
  expect_close(size("squeezed-attention:budget_tokens=2048", 32768).decode_bytes_per_step,
               (2048.0 * 4096 + 1024 * kKey) * 32);
  // Hierarchy 2: 1024 fine + 128 coarse centroids stored; a step reads the 128 coarse and 1024/3.1 fine ones.
  const KvSizeReport h = size("squeezed-attention:hierarchy=2", 32768);
  EXPECT_DOUBLE_EQ(h.bytes_per_request, 2048 * kMiB2 + 1152.0 * kKey * 32);
  expect_close(h.decode_bytes_per_step, (32769.0 * 4096 / 3.1 + (128 + 1024 / 3.1) * kKey) * 32);
}

TEST(SparseStrategies, SqueezedAttentionScoringIsLinearInCentroids) {
  // 2 d FLOPs per centroid per query head: 1024 * 2 * 128 * 32 * 32 layers per step, whatever the context.
  const double scoring = 1024.0 * 2 * 128 * 32 * 32;
  EXPECT_DOUBLE_EQ(decode_select("squeezed-attention", 4096), scoring);
  EXPECT_DOUBLE_EQ(decode_select("squeezed-attention", 32768), scoring);
  // Double the centroids, double the scoring work; four times, four times.
  EXPECT_DOUBLE_EQ(decode_select("squeezed-attention:num_centroids=2048", 32768), 2 * scoring);
  EXPECT_DOUBLE_EQ(decode_select("squeezed-attention:num_centroids=4096", 32768), 4 * scoring);
  // Hierarchy 2 scores 128 coarse + 1024 / 3.1 fine centroids, fewer than 1024.
  expect_close(decode_select("squeezed-attention:hierarchy=2", 32768), (128 + 1024 / 3.1) * 2 * 128 * 32 * 32);
  EXPECT_LT(decode_select("squeezed-attention:hierarchy=2", 32768), scoring);
}

// ---------------------------------------------------------------- SentenceKV (§2.10)

TEST(SparseStrategies, SentenceKvKeepsSentenceVectorsOnTheDevice) {
  // One 16-bit key-width vector per 20-token sentence: 2048 / 20 = 102.4 B per token per layer on the device,
  // page 16 * 102.4 * 32 = 52428.8 -> 52429 B; a buffer of 2048 fetched tokens, 2048 * 4096 * 32 = 256 MiB; every
  // token's K and V on the host (4096 B per token per layer). Each step reads the 2048 selected tokens and every
  // sentence vector, and fetches the selected tokens over PCIe.
  const double buffer = 2048.0 * 4096 * 32;
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("sentencekv", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 52429 + buffer) << n;
    EXPECT_DOUBLE_EQ(r.host_bytes_per_request, n * 4096.0 * 32) << n;
    expect_close(r.decode_bytes_per_step, (2048.0 * 4096 + (n + 1.0) * 2048 / 20) * 32);
    EXPECT_DOUBLE_EQ(r.decode_fetch_bytes_per_step, 2048.0 * 4096 * 32) << n;
  }
  // Device bytes per token: 1/40 of full attention's (a 2048 B vector per 20 tokens of 4096 B).
  expect_close(compose("full").layout.device_bytes_per_token() / compose("sentencekv").layout.device_bytes_per_token(),
               40);
  expect_close(size("sentencekv:fetch_hit_rate=0.5", 32768).decode_fetch_bytes_per_step, 1024.0 * 4096 * 32);
}

TEST(SparseStrategies, SentenceKvScoringIsLinearInSentences) {
  // 2 d FLOPs per sentence per query head: (N + 1) / 20 sentences * 2 * 128 * 32 * 32 layers.
  for (TokenCount n : {4096, 32768}) {
    expect_close(decode_select("sentencekv", n), (n + 1.0) / 20 * 2 * 128 * 32 * 32);
  }
  // 8x the context, 8x the sentences (N + 1 attended); half the sentence length, twice the sentences.
  expect_close(decode_select("sentencekv", 32767) / decode_select("sentencekv", 4095), 8);
  expect_close(decode_select("sentencekv:mean_sentence_tokens=10", 32768) / decode_select("sentencekv", 32768), 2);
}

// ---------------------------------------------------------------- HiP (§2.12)

TEST(SparseStrategies, HipReadsTheTopKOfAFullCache) {
  // Full KV on the device; each step reads the 2048 selected tokens and the representative keys its tree search
  // scores: 2 * (2048 / 64) = 64 per level, log2((N + 1) / 2048) levels (at least one), one key per KV head each.
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("hip", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * kMiB2) << n;
    EXPECT_DOUBLE_EQ(r.host_bytes_per_request, 0) << n;
    const double levels = std::log2((n + 1.0) / 2048);
    expect_close(r.decode_bytes_per_step, (2048.0 * 4096 + 64 * levels * kKey) * 32);
    EXPECT_DOUBLE_EQ(r.decode_fetch_bytes_per_step, 0) << n;
  }
  // Offloaded: K and V on the host; the device holds one representative key per 64-token block (2048 / 64 = 32 B
  // per token per layer, page 16 * 32 * 32 = 16384 B) and a 2048-token working set (256 MiB); the selected tokens
  // are fetched.
  for (TokenCount n : {4096, 32768}) {
    const KvSizeReport r = size("hip:offload=true", n);
    EXPECT_DOUBLE_EQ(r.bytes_per_request, pages(static_cast<double>(n)) * 16384 + 2048.0 * 4096 * 32) << n;
    EXPECT_DOUBLE_EQ(r.host_bytes_per_request, n * 4096.0 * 32) << n;
    EXPECT_DOUBLE_EQ(r.decode_fetch_bytes_per_step, 2048.0 * 4096 * 32) << n;
  }
}

TEST(SparseStrategies, HipTreeSearchIsLogarithmicInTheContext) {
  // 64 scorings per level, 2 d FLOPs per query head each: 64 * 8192 FLOPs per level per layer, 32 layers.
  const double level = 64.0 * 2 * 128 * 32 * 32;
  const auto flops = [](TokenCount n) { return decode_select("hip", n - 1); };  // n tokens attended
  EXPECT_DOUBLE_EQ(flops(32768), 4 * level);   // log2(32768 / 2048) = 4 levels
  EXPECT_DOUBLE_EQ(flops(131072), 6 * level);  // 4x the context: 2 more levels, not 4x the work
  EXPECT_DOUBLE_EQ(flops(524288), 8 * level);  // 4x again: the same 2 levels more
  EXPECT_DOUBLE_EQ(flops(4096), 1 * level);
  EXPECT_DOUBLE_EQ(flops(2048), 1 * level);  // at least one level
  // Doubling the budget at a fixed block doubles the nodes and removes one level.
  EXPECT_DOUBLE_EQ(decode_select("hip:budget_tokens=4096", 32767), 2 * 3 * level);
}

TEST(SparseStrategies, SparseStrategiesRejectImpossibleCombinations) {
  EXPECT_NE(error_of([] { compose("snapkv+sentencekv"); }).find("eviction"), std::string::npos);
  EXPECT_NE(error_of([] { compose("hip+quest"); }).find("traffic"), std::string::npos);
  EXPECT_NE(error_of([] { compose("hip:budget_tokens=1000"); }).find("multiple"), std::string::npos);
  EXPECT_NE(error_of([] { compose("squeezed-attention:hierarchy=3"); }).find("hierarchy"), std::string::npos);
  EXPECT_NE(error_of([] { compose("chelsea:reduction=1"); }).find("reduction"), std::string::npos);
  // Composition on other axes: Chelsea with FP8 halves its bytes.
  EXPECT_DOUBLE_EQ(size("chelsea+fp8", 32768).bytes_per_request, 410 * kMiB2 / 2);
}

TEST(SparseStrategies, EachDocumentsItselfWithItsCitation) {
  struct Case {
    const char* name;
    const char* arxiv;
  };
  for (const Case& c : {Case{"chelsea", "2506.11418"}, Case{"squeezed-attention", "2411.09688"},
                        Case{"sentencekv", "2504.00970"}, Case{"hip", "2406.09827"}}) {
    const KvStrategyEntry* e = kv_strategies().find(c.name);
    ASSERT_NE(e, nullptr) << c.name;
    EXPECT_NE(e->citation.find(c.arxiv), std::string::npos) << c.name;
    EXPECT_FALSE(e->description.empty()) << c.name;
    EXPECT_FALSE(e->reported.empty()) << c.name;
    for (const ReportedQuality& q : e->reported) EXPECT_FALSE(q.source.empty()) << c.name;
    const ComposedStrategy s = compose(c.name);
    ASSERT_EQ(s.resolved.size(), 1u);
    for (auto it = s.resolved[0].begin(); it != s.resolved[0].end(); ++it) {
      if (it.key() == "name") continue;
      bool documented = false;
      for (const ParamDoc& p : e->params) documented |= p.name == it.key();
      EXPECT_TRUE(documented) << c.name << "." << it.key();
    }
    EXPECT_FALSE(s.approximations.empty()) << c.name;
  }
  EXPECT_NE(kv_strategies().find("hip")->citation.find("2502.08910"), std::string::npos);
}

}  // namespace
}  // namespace kvsim
