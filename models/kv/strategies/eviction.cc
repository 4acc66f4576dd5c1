// Token retention and selection: sliding windows, attention sinks, budgeted eviction (uniform and layer-adaptive)
// and traffic-only selection.
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

// Scores of the last `window` prompt queries over every prompt key (as SnapKV).
void add_window_scoring(KvLayout& l, const StrategyContext& c, TokenCount window) {
  for (KvGroup& g : l.groups) {
    if (g.retention == Retention::kPromptBudget) {
      g.prefill_select_flops_per_token = 2.0 * static_cast<double>(window) * c.model.head_dim * q_heads(c);
    }
  }
}

// What every prompt-compressing strategy approximates (IKvStrategy::approximations).
const char* const kLayerByLayerNote =
    "the prompt is compressed layer by layer inside the forward pass of the step that completes it (reference "
    "code); with chunked prefill every layer holds the earlier chunks until then, and admission bounds every "
    "chunking, a last chunk after prompt - 1 tokens (the whole prompt in every layer but one) included";
const char* const kKvHeadSelectionNote =
    "tokens are selected per KV head (scores pooled over its query heads); the reference code repeats the KV heads to "
    "the query heads before selecting and caches one copy per query head, 4x the bytes on Llama-3's GQA "
    "(KVCache-Factory docs/gqa_cache_layout.md)";
const char* const kPairScoresNote =
    "accumulated scores at prefill are priced as a second pass over the causal (query, key) pairs each chunk "
    "attends to; the reference code materialises softmax(QK^T) of the whole prompt (twice the FLOPs, P^2 memory per "
    "head, not modelled)";

// Windows imposed at inference time on a model trained with full attention. Their reference code prefills each
// prompt densely and evicts afterwards (mit-han-lab/streaming-llm examples/run_streaming_llama.py: one forward over
// the whole prompt, `evict_for_space` only before the next one), so prefill attention is dense by default and
// `prefill=windowed` is the option (a model trained with the window, e.g. Mistral 7B v0.1, attends within it).
std::unique_ptr<IKvStrategy> make_window(ParamReader& p, TokenCount default_window, TokenCount default_sinks) {
  const auto window = p.get_positive<TokenCount>("window_tokens", default_window);
  const auto sinks = p.get_non_negative<TokenCount>("sink_tokens", default_sinks);
  const bool dense = read_window_prefill(p);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"window_tokens", window}, {"sink_tokens", sinks}, {"prefill", dense ? "dense" : "windowed"}},
      [=](KvLayout& l, const StrategyContext&) { retain_window(l, window, sinks, dense); },
      std::vector<std::string>{
          dense ? std::string("prefill attends densely to the whole prompt and holds it in every layer until the step "
                              "that completes it, then cuts it to the window (reference code); ") + kLayerByLayerNote
                : "prefill attends within the window (prefill=windowed), less prefill work and memory than the "
                  "reference code, which prefills densely"});
}

std::unique_ptr<IKvStrategy> make_sliding_window(ParamReader& p) { return make_window(p, 4096, 0); }
std::unique_ptr<IKvStrategy> make_streaming_llm(ParamReader& p) { return make_window(p, 2000, 4); }

std::unique_ptr<IKvStrategy> make_snapkv(ParamReader& p) {
  const auto budget = p.get_positive<TokenCount>("budget_tokens", 2048);
  const auto window = p.get_positive<TokenCount>("observation_window", 32);
  p.check(window <= budget, "observation_window", "must not exceed budget_tokens");
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"budget_tokens", budget}, {"observation_window", window}},
      [=](KvLayout& l, const StrategyContext& c) {
        retain_budget(l, Retention::kPromptBudget, budget, 0);
        add_window_scoring(l, c, window);
      },
      std::vector<std::string>{kLayerByLayerNote, kKvHeadSelectionNote});
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
          if (g.retention == Retention::kTotalBudget) add_accumulated_scores(g, c, 0.0);
        }
      },
      std::vector<std::string>{kLayerByLayerNote, kPairScoresNote});
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

// Keyformer: H2O-style total budget whose key tokens are chosen by a Gumbel-regularised score.
std::unique_ptr<IKvStrategy> make_keyformer(ParamReader& p) {
  const double fraction = p.get_fraction("kv_cache_fraction", 0.6);
  const auto budget = p.get_non_negative<TokenCount>("budget_tokens", 0);
  const double recent = p.get_non_negative<double>("recent_fraction", 0.3);
  p.check(recent < 1, "recent_fraction",
          fmt::format("must be < 1 (a cache of recent tokens only leaves no key tokens; use streaming-llm), got {}",
                      recent));
  const double tau_init = p.get_positive<double>("tau_init", 1.0);
  const double tau_end = p.get_positive<double>("tau_end", 2.0);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"kv_cache_fraction", fraction},
                     {"budget_tokens", budget},
                     {"recent_fraction", recent},
                     {"tau_init", tau_init},
                     {"tau_end", tau_end}},
      [=](KvLayout& l, const StrategyContext& c) {
        retain_budget(l, Retention::kTotalBudget, budget, budget > 0 ? 0.0 : fraction);
        for (KvGroup& g : l.groups) {
          // As H2O, plus the Gumbel regularisation: add the noise, divide by tau, exponentiate, accumulate (4 FLOPs).
          if (g.retention == Retention::kTotalBudget) add_accumulated_scores(g, c, 4.0);
        }
      },
      std::vector<std::string>{kLayerByLayerNote, kPairScoresNote,
                               "the reference code only masks evicted tokens (never frees them); kvsim frees them, "
                               "as a serving engine would"});
}

// Total cache layers of the groups that keep every token (the ones a budget strategy compresses).
int full_cache_layers(const KvLayout& l) {
  int n = 0;
  for (const KvGroup& g : l.groups) {
    if (g.retention == Retention::kAll) n += g.cache_layers;
  }
  return n;
}

// Layer-adaptive prompt budgets: every group that keeps all tokens is split into one group per cache layer (in
// depth order, counted across those groups), cache layer i keeping `budget_of(i)` = {tokens, prompt fraction} of the
// prompt after prefill. Adjacent layers with the same budget share a group. A group's reader layers are spread
// evenly over its cache layers (the first ones take the remainder).
void retain_per_layer(KvLayout& l, const std::function<std::pair<TokenCount, double>(int)>& budget_of) {
  std::vector<KvGroup> out;
  int index = 0;
  for (const KvGroup& g : l.groups) {
    if (g.retention != Retention::kAll) {
      out.push_back(g);
      continue;
    }
    const int n = g.cache_layers;
    int first = index;
    for (int j = 0; j < n; ++j, ++index) {
      const auto [tokens, fraction] = budget_of(index);
      const int readers = g.reader_layers / n + (j < g.reader_layers % n ? 1 : 0);
      if (j > 0 && out.back().budget_tokens == tokens && out.back().budget_fraction == fraction) {
        KvGroup& prev = out.back();
        prev.cache_layers += 1;
        prev.reader_layers += readers;
        prev.name = fmt::format("{} layers {}-{}", g.name, first, index);
        continue;
      }
      KvGroup x = g;
      x.name = fmt::format("{} layer {}", g.name, index);
      x.cache_layers = 1;
      x.reader_layers = readers;
      x.retention = Retention::kPromptBudget;
      x.budget_tokens = tokens;
      x.budget_fraction = fraction;
      out.push_back(std::move(x));
      first = index;
    }
  }
  l.groups = std::move(out);
}

// Layer-adaptive fixed prompt budgets without splitting groups: every group that keeps all tokens keeps, in its
// cache layer i (depth order, counted across those groups), min(prompt, budgets[i]) prompt tokens after prefill
// when the prompt has at least `from` tokens, and min(prompt, uniform) in every layer otherwise
// (KvGroup::layer_budgets, whose sums the engine evaluates in O(1)).
void retain_layer_budgets(KvLayout& l, const std::vector<TokenCount>& budgets, TokenCount uniform, TokenCount from) {
  std::size_t index = 0;
  for (KvGroup& g : l.groups) {
    if (g.retention != Retention::kAll) continue;
    g.retention = Retention::kPromptBudget;
    g.layer_budgets.assign(budgets.begin() + static_cast<std::ptrdiff_t>(index),
                           budgets.begin() + static_cast<std::ptrdiff_t>(index) + g.cache_layers);
    g.budget_tokens = uniform;
    g.layer_budgets_from = from;
    index += static_cast<std::size_t>(g.cache_layers);
  }
}

// PyramidKV per-layer budgets as KVCache-Factory computes them (pyramidkv/pyramidkv_utils.py,
// PyramidKVCluster.update_kv): with S = budget - window, min = floor(S / beta), max = 2 S - min,
// steps = floor((max - min) / (L - 1)), and layer l keeps max - l * steps scored tokens plus the window. The floors
// make the mean slightly above `budget` (by under steps / 2 tokens). The reference applies them only to prompts of at
// least 2 S tokens (pyramid_from()); shorter prompts keep min(prompt, budget) in every layer.
std::vector<TokenCount> pyramid_budgets(TokenCount average, TokenCount window, double beta, int layers) {
  const TokenCount span = average - window;
  if (layers <= 1) return std::vector<TokenCount>(static_cast<std::size_t>(std::max(layers, 0)), average);
  const auto min_num = static_cast<TokenCount>(std::floor(static_cast<double>(span) / beta));
  const TokenCount max_num = 2 * span - min_num;
  const TokenCount steps = (max_num - min_num) / (layers - 1);
  std::vector<TokenCount> out;
  for (int i = 0; i < layers; ++i) out.push_back(max_num - i * steps + window);
  return out;
}
// The shortest prompt that gets the pyramid: KVCache-Factory uses one SnapKV budget while q_len < 2 (budget - window).
TokenCount pyramid_from(TokenCount average, TokenCount window) { return 2 * (average - window); }

std::unique_ptr<IKvStrategy> make_pyramidkv(ParamReader& p) {
  const auto budget = p.get_positive<TokenCount>("budget_tokens", 2048);
  const auto window = p.get_positive<TokenCount>("observation_window", 32);
  const double beta = p.get_positive<double>("beta", 20.0);
  p.check(window < budget, "budget_tokens",
          fmt::format("must exceed observation_window ({}): the window is kept in every layer and the pyramid "
                      "distributes budget_tokens - observation_window, got {}",
                      window, budget));
  p.check(beta >= 1, "beta", fmt::format("must be >= 1 (beta < 1 inverts the pyramid; 1 = uniform), got {}", beta));
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"budget_tokens", budget}, {"observation_window", window}, {"beta", beta}},
      [=](KvLayout& l, const StrategyContext& c) {
        const std::vector<TokenCount> budgets = pyramid_budgets(budget, window, beta, full_cache_layers(l));
        retain_layer_budgets(l, budgets, budget, pyramid_from(budget, window));
        add_window_scoring(l, c, window);
      },
      std::vector<std::string>{kLayerByLayerNote, kKvHeadSelectionNote,
                               "KVCache-Factory's clamp of the largest budget to the prompt (only when "
                               "floor((budget - window) / beta) < window, for prompts just above the pyramid "
                               "threshold) is not applied"});
}

// `layer_ratios`: a JSON array of numbers, or (for the command line, where ',' separates parameters) a string of
// numbers separated by ';' or spaces.
std::vector<double> read_ratio_list(ParamReader& p, const std::string& key) {
  const nlohmann::json* v = p.raw(key);
  std::vector<double> out;
  if (v == nullptr || v->is_null()) return out;
  if (v->is_array()) {
    for (const nlohmann::json& x : *v) {
      p.check(x.is_number(), key, fmt::format("expected a list of numbers, got {}", v->dump()));
      out.push_back(x.get<double>());
    }
  } else if (v->is_string()) {
    std::string text = v->get<std::string>();
    for (char& ch : text) {
      if (ch == ';') ch = ' ';
    }
    std::size_t pos = 0;
    while (pos < text.size()) {
      if (text[pos] == ' ') {
        ++pos;
        continue;
      }
      std::size_t used = 0;
      double x = 0;
      try {
        x = std::stod(text.substr(pos), &used);
      } catch (const std::exception&) {
        throw KvsimError(fmt::format("{}: expected numbers separated by ';', got \"{}\"", p.full(key),
                                     v->get<std::string>()));
      }
      out.push_back(x);
      pos += used;
    }
  } else if (v->is_number()) {
    out.push_back(v->get<double>());
  } else {
    p.check(false, key, fmt::format("expected a list of numbers, got {}", v->dump()));
  }
  p.check(!out.empty(), key, "must not be empty");
  for (double x : out) {
    p.check(x > 0 && x <= 1, key, fmt::format("every ratio must be in (0, 1], got {}", x));
  }
  return out;
}

// Indices of the model's layers with full (global) attention, in depth order.
std::vector<int> global_layers(const LlmSpec& m) {
  std::vector<int> out;
  for (int i = 0; i < m.num_layers; ++i) {
    if (m.layer_window_tokens.empty() || m.layer_window_tokens[static_cast<std::size_t>(i)] == 0) out.push_back(i);
  }
  return out;
}

std::unique_ptr<IKvStrategy> make_prefixkv(ParamReader& p) {
  const std::string ratios_key = p.full("layer_ratios");
  const std::vector<double> ratios = read_ratio_list(p, "layer_ratios");
  double mean = 0;
  for (double x : ratios) mean += x;
  if (!ratios.empty()) mean /= static_cast<double>(ratios.size());
  const bool ratio_given = p.has("ratio");
  const double ratio = p.get_fraction("ratio", ratios.empty() ? 0.2 : mean);
  if (!ratios.empty() && ratio_given) {
    p.check(std::abs(mean - ratio) <= 1e-6, "layer_ratios",
            fmt::format("mean {} differs from ratio {} (the per-layer split must keep the overall retention ratio)",
                        mean, ratio));
  }
  const auto window = p.get_positive<TokenCount>("observation_window", 32);
  nlohmann::json params = {{"ratio", ratio}, {"observation_window", window}};
  if (!ratios.empty()) params["layer_ratios"] = ratios;
  return std::make_unique<LambdaStrategy>(params, [=](KvLayout& l, const StrategyContext& c) {
    if (ratios.empty()) {
      retain_budget(l, Retention::kPromptBudget, 0, ratio);
    } else {
      const LlmSpec& m = c.model;
      if (static_cast<int>(ratios.size()) != m.num_layers) {
        throw KvsimError(fmt::format("{}: has {} entries; model {} has {} layers (one ratio per layer)", ratios_key,
                                     ratios.size(), m.name, m.num_layers));
      }
      const std::vector<int> global = global_layers(m);
      if (full_cache_layers(l) != static_cast<int>(global.size())) {
        throw KvsimError(fmt::format(
            "{}: the layout holds {} full-attention KV caches for the model's {} full-attention layers (cross-layer "
            "sharing?), so per-layer ratios cannot be mapped to caches; give only ratio",
            ratios_key, full_cache_layers(l), global.size()));
      }
      // Only full-attention layers keep a prompt budget: their ratios must keep the overall `ratio`.
      double global_mean = 0;
      for (int i : global) global_mean += ratios[static_cast<std::size_t>(i)];
      global_mean /= static_cast<double>(std::max<std::size_t>(global.size(), 1));
      if (std::abs(global_mean - ratio) > 1e-6) {
        throw KvsimError(fmt::format(
            "{}: model {} keeps prompt budgets only in its {} full-attention layers (the others are windows), whose "
            "ratios average {:.6g}, not ratio {:.6g}; give ratios whose full-attention entries average to ratio",
            ratios_key, m.name, global.size(), global_mean, ratio));
      }
      retain_per_layer(l, [&](int i) {
        return std::pair<TokenCount, double>{0, ratios[static_cast<std::size_t>(global[static_cast<std::size_t>(i)])]};
      });
    }
    add_window_scoring(l, c, window);
  }, std::vector<std::string>{kLayerByLayerNote});
}

ParamDoc window_prefill_param() {
  return {"prefill", "string", "dense",
          "dense: the prompt is prefilled with full attention and held whole until it completes, then cut to the "
          "window (reference code); windowed: the prefill attends within the window and frees pages as it goes"};
}

}  // namespace

void add_eviction_strategies(KvStrategyRegistry& r) {
  r.add({"sliding-window",
         "every layer keeps only the last window_tokens tokens (blocks leaving the window are freed); the prompt is "
         "prefilled densely and cut to the window when it completes, unless prefill=windowed",
         "Mistral 7B, arXiv 2310.06825; Longformer, arXiv 2004.05150",
         {KvAxis::kRetention},
         {int_param("window_tokens", 4096, "tokens kept per layer"),
          int_param("sink_tokens", 0, "first tokens always kept"), window_prefill_param()},
         {{"memory at 32K context", "Mistral 7B", "rolling buffer cuts cache memory 8x without impacting quality",
           "arXiv 2310.06825"}},
         make_sliding_window});
  r.add({"streaming-llm",
         "attention sinks + recent window: the first sink_tokens and the last window_tokens tokens; the prompt is "
         "prefilled densely and cut to the window when it completes (reference code), unless prefill=windowed",
         "Xiao et al., StreamingLLM, arXiv 2309.17453 (ICLR 2024)",
         {KvAxis::kRetention},
         {int_param("window_tokens", 2000, "recent tokens kept"), int_param("sink_tokens", 4, "attention-sink tokens"),
          window_prefill_param()},
         {{"language modelling", "Llama-2, MPT, Falcon, Pythia", "stable perplexity up to 4M tokens",
           "arXiv 2309.17453 abstract"}},
         make_streaming_llm});
  r.add({"snapkv",
         "compress the prompt to budget_tokens per layer (observation-window voting), each layer inside its own "
         "forward pass in the step that completes the prompt; generated tokens are appended",
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
         "one token evicted per generated token; keeps an fp32 score per token per head, scored over every prompt "
         "query at prefill",
         "Zhang et al., H2O, arXiv 2306.14048 (NeurIPS 2023)",
         {KvAxis::kRetention},
         {num_param("heavy_ratio", 0.1, "fraction of the prompt kept as heavy hitters"),
          num_param("recent_ratio", 0.1, "fraction of the prompt kept as recent tokens"),
          int_param("budget_tokens", 0, "fixed budget instead of the ratios (0 = use the ratios)")},
         {{"HELM / lm-eval tasks", "OPT, LLaMA, GPT-NeoX", "quality kept with 20% heavy hitters",
           "arXiv 2306.14048 abstract"}},
         make_h2o});
  r.add({"keyformer",
         "Gumbel-regularised key-token selection: at most kv_cache_fraction x prompt tokens (or budget_tokens), a "
         "recent window plus key tokens, one token evicted per generated token; fp32 score per token per head",
         "Adnan et al., Keyformer, arXiv 2403.09054 (MLSys 2024); github.com/d-matrix-ai/keyformer-llm",
         {KvAxis::kRetention},
         {num_param("kv_cache_fraction", 0.6, "cache size as a fraction of the prompt (repo kv_cache 60%)"),
          int_param("budget_tokens", 0, "fixed budget instead of the fraction (0 = use kv_cache_fraction)"),
          num_param("recent_fraction", 0.3, "part of the cache kept as the recent window (repo recent 30%); < 1"),
          num_param("tau_init", 1.0, "initial Gumbel-softmax temperature"),
          num_param("tau_end", 2.0, "final Gumbel-softmax temperature")},
         {{"latency and throughput with 50% KV cache", "models of the paper (long context: MPT-7B-storywriter, "
           "GovReport, 8K)",
           "2.1x lower latency, up to 2.4x higher token throughput", "arXiv 2403.09054 abstract; repo blog"},
          {"summarization / conversation accuracy", "models of the paper",
           "baseline accuracy at 70% (summarization) / 90% (conversation) of the prompt KV",
           "d-matrix-ai/keyformer-llm README and blog"}},
         make_keyformer});
  r.add({"pyramidkv",
         "SnapKV selection with per-layer budgets decreasing linearly with depth (beta schedule, KVCache-Factory's "
         "rounding: mean about budget_tokens) for prompts of at least 2 x (budget_tokens - observation_window); "
         "shorter prompts keep min(prompt, budget_tokens) in every layer, as the reference does",
         "Cai et al., PyramidKV, arXiv 2406.02069; github.com/Zefan-Cai/KVCache-Factory",
         {KvAxis::kRetention},
         {int_param("budget_tokens", 2048,
                    "average prompt tokens kept per layer, incl. the window (max_capacity_prompt)"),
          int_param("observation_window", 32, "last prompt queries that vote; kept in every layer"),
          num_param("beta", 20.0, "top-to-bottom budget ratio parameter: min = (budget - window) / beta; >= 1")},
         {{"LongBench", "models of the paper", "matches full-KV performance keeping 12% of the KV cache",
           "arXiv 2406.02069 abstract"},
          {"Needle in a haystack", "LLaMA-3-70B", "100% with 128 KV entries", "arXiv 2406.02069 abstract"}},
         make_pyramidkv});
  r.add({"prefixkv",
         "layer-adaptive prompt retention: each layer keeps a fraction of the prompt (uniform ratio, or a per-layer "
         "ratio vector found offline whose mean is ratio); generated tokens are appended",
         "Wang et al., PrefixKV, arXiv 2412.03409 (NeurIPS 2025)",
         {KvAxis::kRetention},
         {num_param("ratio", 0.2, "fraction of the prompt kept, averaged over layers (default: mean of layer_ratios)"),
          {"layer_ratios", "number list", "none",
           "one prompt fraction per model layer, mean = ratio (JSON list, or numbers separated by ';')"},
          int_param("observation_window", 32,
                    "prompt queries whose attention ranks the prompt at prefill (prices the ranking only)")},
         {{"perplexity and speed at 20% retention", "LVLMs (LLaVA family)", "+0.49 PPL, ~1.8x inference speedup",
           "secondary summaries of arXiv 2412.03409 (not the paper itself)"}},
         make_prefixkv});
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
