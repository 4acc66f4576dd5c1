// Token retention and selection: sliding windows, attention sinks, budgeted eviction and traffic-only selection.
#include <fmt/format.h>

#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

double q_heads(const StrategyContext& c) {
  return static_cast<double>(c.model.num_attention_heads) / c.tensor_parallel;
}

std::unique_ptr<IKvStrategy> make_sliding_window(ParamReader& p) {
  const auto window = p.get_positive<TokenCount>("window_tokens", 4096);
  const auto sinks = p.get_non_negative<TokenCount>("sink_tokens", 0);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"window_tokens", window}, {"sink_tokens", sinks}},
      [=](KvLayout& l, const StrategyContext&) { retain_window(l, window, sinks); });
}

std::unique_ptr<IKvStrategy> make_streaming_llm(ParamReader& p) {
  const auto window = p.get_positive<TokenCount>("window_tokens", 2000);
  const auto sinks = p.get_non_negative<TokenCount>("sink_tokens", 4);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"window_tokens", window}, {"sink_tokens", sinks}},
      [=](KvLayout& l, const StrategyContext&) { retain_window(l, window, sinks); });
}

std::unique_ptr<IKvStrategy> make_snapkv(ParamReader& p) {
  const auto budget = p.get_positive<TokenCount>("budget_tokens", 2048);
  const auto window = p.get_positive<TokenCount>("observation_window", 32);
  p.check(window <= budget, "observation_window", "must not exceed budget_tokens");
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"budget_tokens", budget}, {"observation_window", window}},
      [=](KvLayout& l, const StrategyContext& c) {
        retain_budget(l, Retention::kPromptBudget, budget, 0);
        // Scores of the last `window` queries over every prompt key (FlashAttention returns no probabilities).
        for (KvGroup& g : l.groups) {
          if (g.retention == Retention::kPromptBudget) {
            g.prefill_select_flops_per_token = 2.0 * window * c.model.head_dim * q_heads(c);
          }
        }
      });
}

std::unique_ptr<IKvStrategy> make_h2o(ParamReader& p) {
  const double heavy = p.get_fraction("heavy_ratio", 0.1);
  const double recent = p.get_fraction("recent_ratio", 0.1);
  const auto budget = p.get_non_negative<TokenCount>("budget_tokens", 0);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"heavy_ratio", heavy}, {"recent_ratio", recent}, {"budget_tokens", budget}},
      [=](KvLayout& l, const StrategyContext& c) {
        retain_budget(l, Retention::kTotalBudget, budget, budget > 0 ? 0.0 : heavy + recent);
        for (KvGroup& g : l.groups) {
          if (g.retention != Retention::kTotalBudget) continue;
          // Accumulated attention score per token per query head (fp32), read and written every step, and the
          // probabilities recomputed to update it.
          g.extra_bytes_per_token += 4.0 * q_heads(c);
          g.select_bytes_per_token += 8.0 * q_heads(c);
          g.score_flops_per_token += (2.0 * c.model.head_dim + 2.0) * q_heads(c);
        }
      });
}

std::unique_ptr<IKvStrategy> make_quest(ParamReader& p) {
  const auto budget = p.get_positive<TokenCount>("budget_tokens", 2048);
  const auto page = p.get_positive<TokenCount>("page_tokens", 16);
  const auto dense = p.get_non_negative<int>("dense_layers", 2);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"budget_tokens", budget}, {"page_tokens", page}, {"dense_layers", dense}},
      [=](KvLayout& l, const StrategyContext& c) {
        std::vector<KvGroup> added;
        for (KvGroup& g : l.groups) {
          if (g.retention != Retention::kAll) continue;
          // The first `dense_layers` layers stay dense (Quest leaves the first two layers unselected).
          const int keep_dense = std::min(dense, g.reader_layers);
          if (keep_dense > 0 && keep_dense < g.reader_layers) {
            KvGroup d = g;
            d.name = g.name + " (dense)";
            d.cache_layers = d.reader_layers = keep_dense;
            g.cache_layers -= keep_dense;
            g.reader_layers -= keep_dense;
            added.push_back(d);
          } else if (keep_dense >= g.reader_layers) {
            continue;
          }
          // Per page: element-wise min and max keys (16-bit), stored and read at every step to score pages.
          const double meta = 2.0 * g.k_elems * 2.0 / static_cast<double>(page);
          g.extra_bytes_per_token += meta;
          g.select_bytes_per_token += meta;
          g.score_flops_per_token += 4.0 * c.model.head_dim * q_heads(c) / static_cast<double>(page);
          g.read_budget_tokens = budget;
        }
        for (KvGroup& d : added) l.groups.push_back(std::move(d));
      });
}

}  // namespace

void add_eviction_strategies(KvStrategyRegistry& r) {
  r.add({"sliding-window",
         "every layer keeps only the last window_tokens tokens (blocks leaving the window are freed)",
         "Mistral 7B, arXiv 2310.06825; Longformer, arXiv 2004.05150",
         {KvAxis::kRetention},
         {int_param("window_tokens", 4096, "tokens kept per layer"),
          int_param("sink_tokens", 0, "first tokens always kept")},
         {{"memory at 32K context", "Mistral 7B", "rolling buffer cuts cache memory 8x without impacting quality",
           "arXiv 2310.06825"}},
         make_sliding_window});
  r.add({"streaming-llm",
         "attention sinks + recent window: the first sink_tokens and the last window_tokens tokens",
         "Xiao et al., StreamingLLM, arXiv 2309.17453 (ICLR 2024)",
         {KvAxis::kRetention},
         {int_param("window_tokens", 2000, "recent tokens kept"), int_param("sink_tokens", 4, "attention-sink tokens")},
         {{"language modelling", "Llama-2, MPT, Falcon, Pythia", "stable perplexity up to 4M tokens",
           "arXiv 2309.17453 abstract"}},
         make_streaming_llm});
  r.add({"snapkv",
         "compress the prompt once at the end of prefill to budget_tokens per layer (observation-window voting); "
         "generated tokens are appended",
         "Li et al., SnapKV, arXiv 2404.14469 (NeurIPS 2024)",
         {KvAxis::kRetention},
         {int_param("budget_tokens", 2048, "prompt tokens kept per layer (max_capacity_prompt)"),
          int_param("observation_window", 32, "last prompt queries that vote")},
         {{"LongBench (16 datasets)", "LWM-Text-Chat-1M and others", "comparable to full KV",
           "arXiv 2404.14469 abstract"},
          {"speed and memory at 16K input", "LWM-Text-Chat-1M", "3.6x faster generation, 8.2x memory efficiency",
           "arXiv 2404.14469 abstract"}},
         make_snapkv});
  r.add({"h2o",
         "heavy hitters + recent tokens: at most (heavy_ratio + recent_ratio) x prompt tokens (or budget_tokens), "
         "one token evicted per generated token; keeps an fp32 score per token per head",
         "Zhang et al., H2O, arXiv 2306.14048 (NeurIPS 2023)",
         {KvAxis::kRetention},
         {num_param("heavy_ratio", 0.1, "fraction of the prompt kept as heavy hitters"),
          num_param("recent_ratio", 0.1, "fraction of the prompt kept as recent tokens"),
          int_param("budget_tokens", 0, "fixed budget instead of the ratios (0 = use the ratios)")},
         {{"HELM / lm-eval tasks", "OPT, LLaMA, GPT-NeoX", "quality kept with 20% heavy hitters",
           "arXiv 2306.14048 abstract"}},
         make_h2o});
  r.add({"quest",
         "query-aware page selection: full KV stays resident, each step reads min/max page metadata and the top "
         "budget_tokens tokens (first dense_layers layers dense); cuts traffic, not capacity",
         "Tang et al., Quest, arXiv 2406.10774 (ICML 2024)",
         {KvAxis::kTraffic},
         {int_param("budget_tokens", 2048, "tokens read per layer per step"),
          int_param("page_tokens", 16, "tokens per page (min/max metadata granularity)"),
          int_param("dense_layers", 2, "first layers left dense")},
         {{"PG-19 perplexity, LongBench, passkey", "LongChat-7B-v1.5-32K, Yarn-Llama-2-7B-128K",
           "negligible accuracy loss at 4K budget; 7.03x self-attention speedup at 32K", "arXiv 2406.10774 §5"}},
         make_quest});
}

}  // namespace kvsim::kvstrat
