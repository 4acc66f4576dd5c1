// KV strategies against their papers' reference implementations: one test per discrepancy found by checking them
// (InfLLM's retrieval, the prefill peak of prompt compression, MiniCache's reads, PyramidKV on short prompts,
// unpriced scoring and rebuild work, StreamingLLM's dense prefill, and the smaller catalog items). Expected values
// are explicit arithmetic on Llama-3.1-8B's shape, never calls into the code under test.
//
// Llama-3.1-8B: L = 32, H_q = 32, H_kv = 8, d = 128, bf16: 4096 B per token per layer, pages of 16 tokens:
// 65,536 B per page per layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine_fixture.h"
#include "models/cost/impl/roofline.h"
#include "models/cost/iteration_cost_model.h"
#include "models/kv/kv_size.h"
#include "models/kv/strategy.h"
#include "models/spec/catalog.h"
#include "tests/common/error_of.h"
#include "tests/models/strategy_test_util.h"
#include "tests/sim/round_gpu.h"

namespace kvsim {
namespace {

using testing::base_scenario;
using testing::compose;
using testing::error_of;
using testing::Outcome;
using testing::Req;
using testing::run_scenario;
using testing::write_trace;

constexpr double kPage = 16.0 * 4096;  // one page of one layer, bytes
constexpr double kToken = 4096.0;      // one token of one layer, bytes

KvSizeReport size(const std::string& spec, TokenCount context, std::optional<double> capacity = std::nullopt,
                  bool chunked = true, const std::string& model = "llama-3.1-8b") {
  return kv_size(compose(spec, model).layout, context, capacity, {chunked, chunked ? 8192 : context});
}

double mean(const Outcome& o, const char* metric) { return o.results["summary"][metric]["mean"].get<double>(); }

// Prices one iteration on the round GPU with every efficiency 1 and no latency (round_gpu.h).
struct Pricer {
  GpuSpec gpu = testing::round_gpu();
  RooflineParams params = testing::ideal();
  RooflineCostModel kernels{params, gpu};
  const LlmSpec& model = Catalog::builtin().model("llama-3.1-8b", "test");

  IterationCost price(const std::string& spec, std::vector<SeqWork> work) const {
    const IterationCostModel m(model, compose(spec).layout, 1, kernels, 0.0);
    IterationShape s;
    s.work = work;
    s.sampled_sequences = static_cast<int>(work.size());
    IterationCost c;
    m.price(s, c);
    return c;
  }
  static double op(const IterationCost& c, OpId id, bool flops = true) {
    const CostEstimate& e = c.ops[static_cast<std::size_t>(id)];
    return flops ? e.flops : e.bytes;
  }
};

// ---- 1. InfLLM reads and fetches only memory units that exist ------------------------------------------------

TEST(ReferenceInfLlm, AContextWithinInitPlusLocalReadsWhatFullReadsAndFetchesNothing) {
  // 4000 tokens < init + local = 128 + 4096: no block has left the local window (context_manager.py creates memory
  // units only then; calc_block_topk retrieves min(topk, blocks)). A decode step reads the 4001 tokens of the
  // working set, 4001 x 4096 x 32 B = 500.1 MiB, exactly what full reads, and fetches nothing (before: 764 MiB read
  // and 256 MiB over PCIe).
  const KvSizeReport r = size("infllm", 4000);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 4001 * kToken * 32);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, size("full", 4000).decode_bytes_per_step);
  EXPECT_DOUBLE_EQ(r.decode_fetch_bytes_per_step, 0);
  EXPECT_DOUBLE_EQ(r.host_bytes_per_request, 0);
}

TEST(ReferenceInfLlm, ShortRequestsDecodeAsFastAsFull) {
  // 32 requests of 1000 + 200 tokens on an H100: InfLLM holds and reads what full does (before: TPOT 90.7 ms
  // against 10.2 ms, from 2048 phantom tokens read and fetched per layer per step).
  nlohmann::json doc = base_scenario(write_trace("infllm-short", std::vector<Req>(32, Req{0.0, 1000, 200})));
  const Outcome full = run_scenario(doc);
  doc["kv"] = {{"strategy", "infllm"}};
  const Outcome infllm = run_scenario(doc);
  EXPECT_EQ(infllm.summary.completed, 32);
  EXPECT_NEAR(mean(infllm, "tpot_s"), mean(full, "tpot_s"), 1e-9 * mean(full, "tpot_s"));
  EXPECT_DOUBLE_EQ(infllm.summary.fetched_bytes, 0);
}

// ---- 2. Prompt compression compresses layer by layer; kvsim run and kv-size share one rule ------------------

TEST(ReferencePromptCompression, OneStepPrefillHoldsOneLayersPromptPlusTheOthersBudgets) {
  // SnapKV (budget 2048) on a 32768-token prompt: after prefill 128 pages in each of the 32 layers.
  // One-step prefill (SnapKV's reference, compressing inside each layer's forward): 31 layers at 128 pages and the
  // layer being computed at the whole prompt, 2048 pages: 6016 pages.
  const KvSizeReport one_step = size("snapkv", 32768, std::nullopt, false);
  EXPECT_DOUBLE_EQ(one_step.bytes_per_request, 32 * 128 * kPage);
  EXPECT_DOUBLE_EQ(one_step.prefill_peak_bytes, (31 * 128 + 2048) * kPage);
  // Chunked prefill: the last chunk may come after 32767 tokens held in every layer (the votes come from the
  // prompt's last queries): 31 x 2048 + 2048 pages, the full cache.
  EXPECT_DOUBLE_EQ(size("snapkv", 32768).prefill_peak_bytes, 32 * 2048 * kPage);
  // With 1 GiB of KV memory: chunked, the peak (4 GiB) does not fit: none. One-step: the peak (394,264,576 B) plus
  // floor((1 GiB - 394,264,576) / 268,435,456) = 2 more requests.
  const double gib = 1024.0 * 1024 * 1024;
  EXPECT_EQ(*size("snapkv", 32768, gib).max_concurrent_requests, 0);
  EXPECT_EQ(*size("snapkv", 32768, gib, false).max_concurrent_requests, 3);
  // A strategy that keeps what it computes has its size as its peak: floor(capacity / size), as before.
  EXPECT_EQ(*size("full", 4096, 40 * gib).max_concurrent_requests, 80);
  // PyramidKV and H2O compress the same way; the layer computed is the one whose budget is smallest.
  EXPECT_LT(size("pyramidkv", 32768, std::nullopt, false).prefill_peak_bytes, 32 * 2048 * kPage);
  EXPECT_DOUBLE_EQ(size("h2o", 32768, std::nullopt, false).prefill_peak_bytes,
                   // 20% of the prompt (6554 tokens, 410 pages) in 31 layers, the whole prompt in one.
                   (31 * 410 + 2048) * (kPage + 16 * 4 * 32));  // + H2O's fp32 score per token per query head
}

TEST(ReferencePromptCompression, RunAdmitsExactlyWhatKvSizeSaysFits) {
  // One 20000-token SnapKV prompt with about 1.5 GiB of KV memory. Its whole prompt in every layer (20000 x 128 KiB
  // = 2.44 GiB) never fits; one layer of it plus the others' budgets does: 31 x 128 + 1250 = 5218 pages.
  nlohmann::json doc = base_scenario(write_trace("snapkv-long", {{0.0, 20000, 20}}));
  doc["engine"]["activation_reserve_GiB"] = 55.5;
  doc["kv"] = {{"strategy", "snapkv"}};
  const Outcome chunked = run_scenario(doc);
  const double capacity = static_cast<double>(chunked.summary.capacity_bytes);
  ASSERT_LT(capacity, 20000 * kToken * 32);
  ASSERT_GT(capacity, 5218 * kPage);
  const KvLayout& layout = compose("snapkv").layout;
  // Chunked prefill (the default): kvsim run rejects it and kv-size says none fits.
  EXPECT_EQ(chunked.summary.rejected, 1);
  EXPECT_EQ(*kv_size(layout, 20000, capacity, {true, 8192}).max_concurrent_requests, 0);
  // The whole prompt in one step: admitted; the step holds 5218 pages at its peak, then 130 per layer at most.
  doc["engine"]["chunked_prefill"] = false;
  doc["engine"]["max_num_batched_tokens"] = 20000;
  const Outcome one_step = run_scenario(doc);
  EXPECT_EQ(one_step.summary.completed, 1);
  EXPECT_EQ(static_cast<double>(one_step.summary.peak_used_bytes), 5218 * kPage);
  EXPECT_GE(*kv_size(layout, 20000, capacity, {false, 20000}).max_concurrent_requests, 1);
}

TEST(ReferencePromptCompression, APromptInOneChunkReservesOneLayerNotAll) {
  // An 8000-token SnapKV prompt fits one chunk of the default 8192-token step: its step holds 31 x 128 + 500 pages
  // (before: 32 x 500), then 128 + 1 pages per layer while its 10 tokens are generated.
  nlohmann::json doc = base_scenario(write_trace("snapkv-chunk", {{0.0, 8000, 10}}));
  doc["kv"] = {{"strategy", "snapkv"}};
  const Outcome o = run_scenario(doc);
  EXPECT_EQ(static_cast<double>(o.summary.peak_used_bytes), (31 * 128 + 500) * kPage);
  EXPECT_EQ(o.summary.used_bytes_at_end, 0);
}

TEST(ReferencePromptCompression, ChunkedPrefillBoundsAWindowByItsSpanPlusOneChunk) {
  // A window that prefills within itself (prefill=windowed) holds at most its span before a chunk plus the chunk:
  // 4095 + 8192 = 12287 tokens, 768 pages per layer, however long the prompt (32768 tokens here: 2048 pages in full).
  EXPECT_DOUBLE_EQ(size("sliding-window:prefill=windowed", 32768).prefill_peak_bytes, 768 * 32 * kPage);
  // InfLLM at 1M tokens on Mistral-7B-v0.3: the working set (init + local + 48 cached blocks = 10368 tokens) plus a
  // chunk, 10367 + 8192 = 18559 tokens (1160 pages per layer), and the representative keys of the 1048576 - 4224 =
  // 1044352 tokens in memory units (65272 pages of 16 x 64 B per layer).
  EXPECT_DOUBLE_EQ(size("infllm", 1048576, std::nullopt, true, "mistral-7b-v0.3").prefill_peak_bytes,
                   1160 * 32 * kPage + 65272 * 32 * 16 * 64.0);
  // In the engine, a 32768-token windowed prompt runs in about 1.5 GiB of KV memory (its whole prompt is 4 GiB).
  nlohmann::json doc = base_scenario(write_trace("window-long", {{0.0, 32768, 10}}));
  doc["engine"]["activation_reserve_GiB"] = 55.5;
  doc["kv"] = {{"strategy", "sliding-window:prefill=windowed"}};
  const Outcome o = run_scenario(doc);
  EXPECT_EQ(o.summary.completed, 1);
  EXPECT_LE(static_cast<double>(o.summary.peak_used_bytes), 768 * 32 * kPage);
}

TEST(ReferencePromptCompression, AdmittedRequestsAlwaysFitWhenAlone) {
  // Gemma-3-27B's local window layers beside SnapKV on its global layers: a 20000-token prompt in chunks of 8192 is
  // at its largest in its second chunk (the local layers at their span plus a chunk, the global layers still whole),
  // neither when the prompt completes nor in its last chunk. Around the pool size where that matters, every request
  // is either admitted and served or rejected at arrival; none is admitted and then unable to run.
  nlohmann::json doc = base_scenario(write_trace("gemma-snapkv", {{0.0, 20000, 4}}));
  doc["model"] = "gemma-3-27b";
  doc["kv"] = {{"strategy", "snapkv"}};
  for (double reserve = 16.4; reserve <= 17.6; reserve += 0.1) {
    doc["engine"]["activation_reserve_GiB"] = reserve;
    for (const char* preemption : {"recompute", "swap"}) {
      doc["engine"]["preemption"] = preemption;
      const Outcome o = run_scenario(doc);
      EXPECT_EQ(o.summary.completed + o.summary.rejected, 1) << reserve << " " << preemption;
    }
  }
}

// ---- 3. MiniCache (reads: test_strategies_sharing.cc MiniCache.MergedPairsFromTheMiddleLayer) -----------------

TEST(ReferenceMiniCache, MergingFromTheMiddleWithFourBitsComesWithinTwoPercentOfThePapersFiveTimes) {
  // The paper merges from the middle layer ("begins merging from the half-layer depth", project page Fig. 1b).
  // From L/2 a merged pair stores per head d + 2 + 2 rho d elements: at rho = 0.01 (the paper retains at most ~1% of
  // tokens) 132.56 of 256, so 16 + 8 x 132.56 / 128 layers' worth: 1.3177x in all (the paper's 1.53x for merging
  // alone would need merging from about layer 10 of 32). With 4-bit KIVI in groups of 128 (4.25 bits, 3.765x) the
  // token part comes to 4.961x against the paper's 5.02x.
  const double full = 32 * 2048 * 2.0;                           // bytes per token, all layers
  const double merged_elems = 16 * 2048 + 8 * (2 * 8 * 132.56);  // elements per token
  const double merge_only = merged_elems * 2 + 8 * 0.01 * 4;     // + int32 index per retained token
  const double with_4bit = merged_elems * 4.25 / 8 + 8 * 0.01 * 4;
  EXPECT_NEAR(full / merge_only, 1.3177, 1e-4);
  EXPECT_NEAR(full / with_4bit, 4.961, 1e-3);
  const KvLayout merged = compose("minicache:retained_fraction=0.01").layout;
  const KvLayout quantized = compose("minicache:retained_fraction=0.01+kivi-4:group_size=128").layout;
  EXPECT_NEAR(full / merged.device_bytes_per_token(), full / merge_only, 1e-9);
  EXPECT_NEAR(full / quantized.device_bytes_per_token(), full / with_4bit, 1e-9);
}

// ---- 4. PyramidKV on short prompts --------------------------------------------------------------------------

TEST(ReferencePyramidKv, ShortPromptsKeepWhatKvCacheFactoryKeeps) {
  // KVCache-Factory leaves a prompt shorter than the budget uncompressed, and keeps one SnapKV budget of 2048 while
  // P < 2 (2048 - 32) = 4032. P = 1500: 94 pages x 32 layers = 188 MiB (before: 156 MiB).
  EXPECT_DOUBLE_EQ(size("pyramidkv", 1500).bytes_per_request, 94 * 32 * kPage);
  EXPECT_DOUBLE_EQ(size("pyramidkv", 1500).bytes_per_request, 188.0 * 1024 * 1024);
  // P = 2048, 2500, 3000: 2048 tokens = 128 pages in every layer (before: 24%, 14% and 6% less), as SnapKV.
  for (TokenCount p : {2048, 2500, 3000, 4031}) {
    EXPECT_DOUBLE_EQ(size("pyramidkv", p).bytes_per_request, 128 * 32 * kPage) << p;
    EXPECT_DOUBLE_EQ(size("pyramidkv", p).bytes_per_request, size("snapkv", p).bytes_per_request) << p;
  }
  // From 4032 on, the pyramid: layer 0 keeps min(P, 3964) tokens, layer 31 keeps 151.
  EXPECT_LT(size("pyramidkv", 4032).bytes_per_request, 128 * 32 * kPage * 1.01);
  EXPECT_NE(size("pyramidkv", 4032).bytes_per_request, size("snapkv", 4032).bytes_per_request);
}

// ---- 5. Compute left unpriced --------------------------------------------------------------------------------

TEST(ReferenceCost, H2oKeyformerAndMiKvPayTheirPrefillScores) {
  // A 1000-token prompt in one step attends to 1000 x 1001 / 2 = 500,500 causal pairs per layer. The accumulated
  // scores cost (2 d + 2) FLOPs per pair per query head (QK, exponent and normalisation, accumulation): 258 x 32 per
  // pair per layer for H2O and MiKV, plus Keyformer's 4 of Gumbel noise and temperature.
  const Pricer p;
  const std::vector<SeqWork> prefill = {{1000, 0, 1000}};
  const double pairs = 32 * 500500.0;
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("h2o", prefill), OpId::kKvSelect), pairs * 258 * 32);
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("mikv", prefill), OpId::kKvSelect), pairs * 258 * 32);
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("keyformer", prefill), OpId::kKvSelect), pairs * 262 * 32);
  // TTFT above full's now, as SnapKV's was (its scoring: the last 32 queries over each prompt key).
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("snapkv", prefill), OpId::kKvSelect), 32 * 1000.0 * 2 * 32 * 128 * 32);
  EXPECT_FALSE(p.price("full", prefill).present[static_cast<std::size_t>(OpId::kKvSelect)]);
}

TEST(ReferenceCost, XkvPaysItsPrefillSvd) {
  // torch.svd_lowrank with q = rank, 2 power iterations, on the [S, 4 x 1024] keys and values of each group of 4
  // layers: 12 n q FLOPs per token for the products and 12 q^2 for the QR steps, per group; per token per layer
  // 12 x 1024 x r + 12 r^2 / 4 for r = 384 and 576: 11,796,480 + 1,437,696 = 13,234,176.
  const Pricer p;
  const double per_token_layer = 12.0 * 1024 * (384 + 576) + 3.0 * (384.0 * 384 + 576.0 * 576);
  EXPECT_DOUBLE_EQ(per_token_layer, 13234176);
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("xkv", {{1000, 0, 1000}}), OpId::kKvSelect), 32 * 1000 * per_token_layer);
  // Only when the prompt completes: an earlier chunk pays nothing.
  EXPECT_FALSE(p.price("xkv", {{1000, 0, 500}}).present[static_cast<std::size_t>(OpId::kKvSelect)]);
}

TEST(ReferenceCost, CskvRebuildsEveryCachedTokenAtEachDecodeStep) {
  // A decode step over 999 cached tokens reads 1000 per layer; each is rebuilt from 204.8 key and 204.8 value
  // features through dense 204.8 x 1024 maps (2 x 204.8 x 1024 x 2 FLOPs) and RoPE'd (3 x 1024).
  const Pricer p;
  const IterationCost c = p.price("cskv", {{999, 999, 1}});
  EXPECT_DOUBLE_EQ(Pricer::op(c, OpId::kKvReconstruct), 32 * 1000 * (2 * 204.8 * 1024 * 2 + 3 * 1024));
  EXPECT_FALSE(p.price("cskv:absorbed=true", {{999, 999, 1}}).present[static_cast<std::size_t>(OpId::kKvReconstruct)]);
}

// ---- 6. Windows imposed at inference time prefill densely ---------------------------------------------------

TEST(ReferenceWindows, StreamingLlmPrefillsDenselyUnlessAskedNotTo) {
  // An 8000-token prompt in one step: dense prefill attends to 8000 x 8001 / 2 = 32,004,000 pairs per layer, as
  // full does; windowed (sinks + window = 2004) to (1 + 2004) x 2004 / 2 + (8000 - 2004) x 2004 = 14,024,994.
  const Pricer p;
  const std::vector<SeqWork> prefill = {{8000, 0, 8000}};
  const double pair_flops = 4.0 * 32 * 128 * 32;  // QK and PV per pair, all query heads, all layers
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("streaming-llm", prefill), OpId::kAttentionPrefill), 32004000 * pair_flops);
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("full", prefill), OpId::kAttentionPrefill), 32004000 * pair_flops);
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("streaming-llm:prefill=windowed", prefill), OpId::kAttentionPrefill),
                   14024994 * pair_flops);
  EXPECT_DOUBLE_EQ(Pricer::op(p.price("sliding-window:prefill=windowed,window_tokens=2004", prefill),
                              OpId::kAttentionPrefill),
                   14024994 * pair_flops);

  // In the engine: TTFT equals full's, and the prompt is held whole in the layer being computed only: 31 layers at
  // the window (2004 tokens, 126 pages) and one at 500 pages.
  nlohmann::json doc = base_scenario(write_trace("streaming-dense", {{0.0, 8000, 10}}));
  const Outcome full = run_scenario(doc);
  doc["kv"] = {{"strategy", "streaming-llm"}};
  const Outcome dense = run_scenario(doc);
  EXPECT_DOUBLE_EQ(mean(dense, "ttft_s"), mean(full, "ttft_s"));
  EXPECT_EQ(static_cast<double>(dense.summary.peak_used_bytes), (31 * 126 + 500) * kPage);
  doc["kv"] = {{"strategy", "streaming-llm:prefill=windowed"}};
  const Outcome windowed = run_scenario(doc);
  EXPECT_LT(mean(windowed, "ttft_s"), mean(full, "ttft_s"));
  // Both say how they prefill in the run's approximations.
  const auto says = [](const Outcome& o, const std::string& text) {
    for (const auto& a : o.results["approximations"]) {
      if (a.get<std::string>().find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(says(dense, "streaming-llm: prefill attends densely"));
  EXPECT_TRUE(says(windowed, "streaming-llm: prefill attends within the window"));
}

// ---- 7. Smaller items ---------------------------------------------------------------------------------------

TEST(ReferenceCatalog, PrefixKvRatiosMustKeepTheRetentionOnTheLayersThatUseThem) {
  // Gemma-3-27B: only its 10 global layers (5, 11, ..., 59) keep a prompt budget. Ratios alternating 0.1 / 0.3 average
  // 0.2 over all 62 layers but 0.3 over the global ones (all odd): the overall retention would be 0.3, so it is an
  // error naming both means.
  std::string ratios;
  for (int i = 0; i < 62; ++i) ratios += std::string(ratios.empty() ? "" : ";") + (i % 2 == 0 ? "0.1" : "0.3");
  const std::string e = error_of([&] { compose("prefixkv:layer_ratios=" + ratios, "gemma-3-27b"); });
  EXPECT_NE(e.find("average 0.3, not ratio 0.2"), std::string::npos) << e;
  // On a model whose every layer attends fully, the same list keeps 20% overall.
  std::string ratios32;
  for (int i = 0; i < 32; ++i) ratios32 += std::string(ratios32.empty() ? "" : ";") + (i % 2 == 0 ? "0.1" : "0.3");
  EXPECT_NO_THROW(compose("prefixkv:layer_ratios=" + ratios32));
}

TEST(ReferenceCatalog, KiviEntriesDocumentTheirOwnBits) {
  for (const auto& [name, bits] : {std::pair{"kivi-2", "2"}, std::pair{"kivi-4", "4"}}) {
    const auto& params = kv_strategies().find(name)->params;
    const auto it = std::find_if(params.begin(), params.end(), [](const ParamDoc& d) { return d.name == "bits"; });
    ASSERT_NE(it, params.end()) << name;
    EXPECT_EQ(it->default_value, bits) << name;
  }
}

TEST(ReferenceCatalog, SwiftKvsSixtyTwoPointFivePercentNeedsFp8) {
  // AcrossKV over 2 layers in the last half: 16 + 8 = 24 of 32 caches (-25%); with FP8, 24 x 0.5 / 32 = 37.5% kept.
  const double full = size("full", 32768).bytes_per_request;
  EXPECT_DOUBLE_EQ(size("swiftkv", 32768).bytes_per_request / full, 0.75);
  EXPECT_DOUBLE_EQ(size("swiftkv+fp8", 32768).bytes_per_request / full, 0.375);
  bool attributed = false;
  for (const ReportedQuality& q : kv_strategies().find("swiftkv")->reported) {
    if (q.result.find("62.5") != std::string::npos) attributed = q.result.find("FP8") != std::string::npos;
  }
  EXPECT_TRUE(attributed);
}

TEST(ReferenceCatalog, MistralV03HasFullAttentionAndNoOpStrategiesSaySo) {
  // v0.1 windows every layer at 4096 tokens: SnapKV and Quest would change nothing, and say so.
  for (const char* spec : {"snapkv", "quest", "streaming-llm"}) {
    const std::string e = error_of([spec] { compose(spec, "mistral-7b"); });
    EXPECT_NE(e.find("no effect on mistral-7b"), std::string::npos) << spec << ": " << e;
    EXPECT_NE(e.find("window of 4096"), std::string::npos) << spec << ": " << e;
  }
  // v0.3 (the papers' version) attends fully: SnapKV keeps 2048 of 32768 tokens, 128 pages per layer.
  EXPECT_DOUBLE_EQ(size("full", 32768, std::nullopt, true, "mistral-7b-v0.3").bytes_per_request,
                   32 * 2048 * kPage);
  EXPECT_DOUBLE_EQ(size("snapkv", 32768, std::nullopt, true, "mistral-7b-v0.3").bytes_per_request,
                   32 * 128 * kPage);
  EXPECT_NO_THROW(compose("infllm", "mistral-7b-v0.3"));
  EXPECT_NO_THROW(compose("quest", "mistral-7b-v0.3"));
  // The model's own cache is never an error, nor is a strategy that changes something.
  EXPECT_NO_THROW(compose("full", "mistral-7b"));
  EXPECT_NO_THROW(compose("mla", "deepseek-v3"));
  EXPECT_NO_THROW(compose("fp8", "mistral-7b"));
}

}  // namespace
}  // namespace kvsim
