// KV layout arithmetic and strategy composition, checked against kv-strategies.md formulas computed by hand.
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

TEST(KvLayout, FullLlama8bIs128KiBPerToken) {
  const ComposedStrategy s = compose("full");
  const KvSizeReport r = kv_size(s.layout, 1000, std::nullopt);
  EXPECT_DOUBLE_EQ(r.bytes_per_token, 131072.0);
  // 1000 tokens -> 63 pages of 16 tokens.
  EXPECT_DOUBLE_EQ(r.bytes_per_request, 63.0 * 16 * 131072);
  // One decode step reads 1001 tokens of K and V in all 32 layers.
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_step, 1001.0 * 131072);
}

TEST(KvLayout, MistralWindowAt32KIs8xSmallerThanFull) {
  const ComposedStrategy mistral = compose("full", "mistral-7b");
  const ComposedStrategy llama = compose("full", "llama-3.1-8b");  // same KV shape, global attention
  const double m = kv_size(mistral.layout, 32768, std::nullopt).bytes_per_request;
  const double l = kv_size(llama.layout, 32768, std::nullopt).bytes_per_request;
  EXPECT_DOUBLE_EQ(l / m, 8.0);
}

TEST(KvLayout, DeepSeekV3MlaCachesLatentPlusRope) {
  const ComposedStrategy s = compose("mla", "deepseek-v3");
  ASSERT_EQ(s.layout.groups.size(), 1u);
  EXPECT_DOUBLE_EQ(s.layout.groups[0].device_bytes_per_token(), (512.0 + 64.0) * 2);
  EXPECT_DOUBLE_EQ(s.layout.device_bytes_per_token(), 61.0 * 576 * 2);
  EXPECT_NE(error_of([] { compose("mla", "llama-3.1-8b"); }).find("no MLA"), std::string::npos);
}

TEST(KvLayout, CompositionMultipliesMemoryFactors) {
  // Sliding window 4096 (8x at 32K) + FP8 (2x) = 16x at 32K.
  const double full = kv_size(compose("full").layout, 32768, std::nullopt).bytes_per_request;
  const double swa = kv_size(compose("sliding-window").layout, 32768, std::nullopt).bytes_per_request;
  const double both = kv_size(compose("sliding-window+fp8").layout, 32768, std::nullopt).bytes_per_request;
  EXPECT_DOUBLE_EQ(full / swa, 8.0);
  EXPECT_DOUBLE_EQ(full / both, 16.0);
  // Order of writing does not matter.
  EXPECT_DOUBLE_EQ(kv_size(compose("fp8+sliding-window").layout, 32768, std::nullopt).bytes_per_request,
                   both);
}

TEST(KvLayout, SameAxisStrategiesAreRejected) {
  const std::string e = error_of([] { compose("snapkv+h2o"); });
  EXPECT_NE(e.find("retention"), std::string::npos) << e;
  EXPECT_NE(error_of([] { compose("fp8+kivi-2"); }).find("precision"), std::string::npos);
}

TEST(KvLayout, BadNamesAndParametersListTheValidOnes) {
  std::string e = error_of([] { compose("snapkv2"); });
  EXPECT_NE(e.find("snapkv"), std::string::npos) << e;
  EXPECT_NE(e.find("kivi-2"), std::string::npos) << e;
  e = error_of([] { compose("snapkv:budget=12"); });
  EXPECT_NE(e.find("budget_tokens"), std::string::npos) << e;
  e = error_of([] { compose("kivi-2:bits=3"); });
  EXPECT_NE(e.find("2 or 4"), std::string::npos) << e;
  e = error_of([] { compose("snapkv:budget_tokens=-5"); });
  EXPECT_NE(e.find("budget_tokens"), std::string::npos) << e;
}

TEST(KvLayout, ParsesStringAndJsonForms) {
  const auto a = parse_strategy_string("snapkv:budget_tokens=1024,observation_window=16+kivi-2", "t");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].name, "snapkv");
  EXPECT_EQ(a[0].params["budget_tokens"], 1024);
  EXPECT_EQ(a[1].name, "kivi-2");
  const auto b = parse_strategy_json(nlohmann::json::parse(R"([{"name": "snapkv", "budget_tokens": 1024}, "fp8"])"),
                                     "t");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].params["budget_tokens"], 1024);
  EXPECT_EQ(b[1].name, "fp8");
}

TEST(KvLayout, MaxConcurrentRequestsFromCapacity) {
  const KvSizeReport r = kv_size(compose("full").layout, 4096, 40.0 * 1024 * 1024 * 1024);
  // 4096 tokens = 256 pages * 2 MiB = 512 MiB per request -> 80 requests in 40 GiB.
  EXPECT_EQ(*r.max_concurrent_requests, 80);
}

// One prompt-budget group of 7 cache layers, pages of 16 tokens: `budget` in every layer, or one budget per layer.
KvLayout budget_layout(TokenCount budget, std::vector<TokenCount> layer_budgets = {}) {
  KvLayout l;
  l.block_size = 16;
  KvGroup g;
  g.name = "budget";
  g.cache_layers = g.reader_layers = 7;
  g.retention = Retention::kPromptBudget;
  g.k_elems = g.v_elems = 8;
  g.budget_tokens = budget;
  g.layer_budgets = std::move(layer_budgets);
  l.groups.push_back(g);
  l.prepare();
  return l;
}

TEST(KvLayout, PerLayerBudgetSumsMatchALayerByLayerCount) {
  const KvLayout l = budget_layout(0, {33, 5, 900, 64, 17, 250, 16});
  const KvGroup& x = l.groups[0];
  for (TokenCount prompt : {1, 16, 17, 60, 64, 65, 300, 1000}) {
    for (TokenCount computed = 0; computed <= prompt + 40; computed += 3) {
      for (TokenCount chunk : {0, 1, 5}) {
        std::int64_t pages = 0;
        double held = 0;
        // In the step that completes the prompt a layer holds at most max(prefix, kept after the step); otherwise it
        // holds what it keeps plus the chunk.
        const bool completes = computed < prompt && computed + chunk >= prompt;
        for (TokenCount b : x.layer_budgets) {
          const TokenCount h = computed < prompt ? computed : std::min(prompt, b) + (computed - prompt);
          const TokenCount after = std::min(prompt, b) + (computed + chunk - prompt);
          pages += ((completes ? std::max(computed, after) : h + chunk) + 15) / 16;
          held += static_cast<double>(h);
        }
        EXPECT_EQ(x.pages_sum(prompt, computed, chunk, 16), pages) << prompt << " " << computed << " " << chunk;
        EXPECT_DOUBLE_EQ(x.tokens(prompt, computed).held, held) << prompt << " " << computed;
      }
    }
  }
}

// The step that completes a compressed prompt, layer by layer as the reference implementations run it: while layer
// i computes, layers before it keep their budget, layers after it hold the prefix, layer i holds the whole
// sequence. KvLayout::step_pages() bounds that schedule's largest moment from above, exactly when no earlier chunk
// exists (a one-step prefill), and never counts more than every layer holding the whole sequence.
TEST(KvLayout, CompressedPromptPeakBoundsTheLayerByLayerSchedule) {
  for (const bool pyramid : {false, true}) {
    // Per-layer budgets decreasing with depth, as PyramidKV's.
    const KvLayout l = pyramid ? budget_layout(100, {400, 330, 260, 190, 120, 50, 20}) : budget_layout(100);
    const KvGroup& g = l.groups[0];
    const auto pages = [](TokenCount n) { return (n + 15) / 16; };
    for (TokenCount prompt : {50, 100, 101, 1000, 4000}) {
      for (TokenCount computed : {TokenCount{0}, prompt / 3, prompt - 1}) {
        const TokenCount chunk = prompt - computed;
        std::int64_t worst = 0;
        for (std::size_t i = 0; i < 7; ++i) {  // layer i is being computed
          std::int64_t now = 0;
          for (std::size_t j = 0; j < 7; ++j) {
            const TokenCount kept = std::min(prompt, pyramid ? g.layer_budgets[j] : g.budget_tokens);
            now += j < i ? pages(kept) : j == i ? pages(prompt) : pages(computed);
          }
          worst = std::max(worst, now);
        }
        std::vector<std::int64_t> p(1);
        l.step_pages(prompt, computed, chunk, p);
        EXPECT_GE(p[0], worst) << pyramid << " " << prompt << " " << computed;
        EXPECT_LE(p[0], 7 * pages(prompt)) << pyramid << " " << prompt << " " << computed;
        if (computed == 0) {
          EXPECT_EQ(p[0], worst) << pyramid << " " << prompt;
        }
        // After the step every layer keeps its budget.
        EXPECT_EQ(l.groups[0].pages_sum(prompt, prompt, 0, 16),
                  pyramid ? [&] {
                    std::int64_t sum = 0;
                    for (TokenCount b : g.layer_budgets) sum += pages(std::min(prompt, b));
                    return sum;
                  }()
                          : 7 * pages(std::min<TokenCount>(prompt, 100)));
      }
    }
  }
}

// Admission's peak bounds every step a request can take alone: any prefix c and chunk n with c + n <= K (the prompt,
// or the prompt and output a recompute covers), n <= the largest chunk (chunked prefill) or the whole rest (not).
// Checked against every such step, on layouts that mix window layers with compressed prompts (Gemma's local
// layers beside SnapKV or H2O on its global ones), per-layer budgets, dense-prefill windows, InfLLM's host groups;
// and tight: at most one page per layer above the worst step.
TEST(KvLayout, PeakFootprintBoundsEveryReachableStep) {
  struct Case {
    const char* model;
    const char* strategy;
  };
  const Case cases[] = {{"gemma-3-27b", "snapkv:budget_tokens=256"}, {"gemma-3-27b", "h2o"},
                        {"gemma-2-9b", "pyramidkv:budget_tokens=300,observation_window=8"},
                        {"llama-3.1-8b", "local-global:window_tokens=128+snapkv:budget_tokens=200"},
                        {"llama-3.1-8b", "streaming-llm:window_tokens=300"},
                        {"llama-3.1-8b", "sliding-window:window_tokens=300,prefill=windowed"},
                        {"llama-3.1-8b", "infllm:local_tokens=256,block_tokens=32,topk_blocks=2,cached_blocks=2"},
                        {"gemma-3-27b", "keyformer+kivi-2"}, {"llama-3.1-8b", "full"}};
  for (const Case& k : cases) {
    const KvLayout& l = compose(k.strategy, k.model).layout;
    std::int64_t page_per_layer = 0;
    for (std::size_t g = 0; g < l.groups.size(); ++g) {
      page_per_layer += l.group_device_bytes(g, l.groups[g].cache_layers) - l.fixed_device_bytes(g);
    }
    std::vector<std::int64_t> pages(l.groups.size());
    for (const TokenCount prompt : {200, 700, 1500}) {
      for (const TokenCount output : {1, 3, 400}) {
        for (const TokenCount chunk : {64, 500, 0}) {  // 0: no chunked prefill
          const TokenCount total = prompt + output - 1, last = std::max(total, prompt);
          const KvLayout::Footprint peak =
              l.peak_footprint(prompt, total, {chunk > 0, chunk > 0 ? chunk : TokenCount{8192}});
          std::int64_t worst = 0, worst_host = 0;
          for (TokenCount c = 0; c < last; ++c) {
            const TokenCount n = chunk > 0 ? std::min(chunk, last - c) : (c < prompt ? last - c : 1);
            if (chunk == 0 && c > 0 && c < prompt) continue;  // no prefix without chunked prefill
            l.step_pages(prompt, c, n, pages);
            worst = std::max(worst, l.device_bytes(pages));
            worst_host = std::max(worst_host, l.host_bytes(prompt, c, n));
          }
          const std::string where = std::string(k.model) + " " + k.strategy + " P=" + std::to_string(prompt) +
                                    " O=" + std::to_string(output) + " chunk=" + std::to_string(chunk);
          EXPECT_GE(peak.device_bytes, worst) << where;
          EXPECT_LE(peak.device_bytes, worst + page_per_layer) << where;
          if (std::string(k.model) == "llama-3.1-8b" && std::string(k.strategy).find("local") == std::string::npos) {
            EXPECT_EQ(peak.device_bytes, worst) << where;  // no window beside a compressed prompt: exact
          }
          EXPECT_EQ(peak.host_bytes, worst_host) << where;
        }
      }
    }
  }
}

}  // namespace
}  // namespace kvsim
