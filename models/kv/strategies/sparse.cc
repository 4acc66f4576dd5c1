// Clustering and sparse-selection strategies (kv-strategies.md §2.8-§2.10, §2.12): Chelsea (online KV clustering),
// Squeezed Attention (centroid lookup over a fixed context), SentenceKV (sentence vectors on the device, token KV on
// the host) and HiP attention (hierarchical top-k tree search over key blocks). Each is expressed in the KV layout:
// bytes held per token on the device and the host, tokens read per decode step, selection metadata read and scored,
// and prefill work, so that the cost model prices them like Quest, ShadowKV and InfLLM.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

// Selection methods that read a part of what every token keeps: they build on a group that keeps every token and
// has no per-token selection of its own yet (whose units they would change).
void check_selectable(const KvGroup& g, const std::string& strategy) {
  if (g.scan || g.select_bytes_per_token > 0 || g.score_flops_per_token > 0) {
    throw KvsimError(fmt::format("strategy '{}' cannot be combined with another selection of the tokens to read ("
                                 "group '{}' already scores its tokens)",
                                 strategy, g.name));
  }
}


// Chelsea (§2.8; Hu et al., arXiv 2506.11418). Each chunk of `chunk_tokens` tokens is clustered by Chunked Soft
// Matching (alternating halves, key similarity) and every cluster's K and V merged into one centroid, keeping
// (1 - reduction) of the tokens; a recent window stays exact. In the layout: a prompt budget of
// max(recent_tokens, ceil((1 - reduction) * prompt)) tokens per layer (the prompt is prefilled densely and merged in
// the step that completes it, as the prompt compressors), generated tokens appended exact. Clustering a chunk of c
// tokens compares c/2 x c/2 key pairs per KV head, 2 d FLOPs each: c^2 d / 2 per chunk, c d / 2 per token per KV
// head, priced as selection work once the prompt is complete.
std::unique_ptr<IKvStrategy> make_chelsea(ParamReader& p) {
  const double reduction = p.get_fraction("reduction", 0.8);
  p.check(reduction < 1, "reduction", fmt::format("must be < 1 (1 keeps no token), got {}", reduction));
  const auto chunk = p.get_positive<TokenCount>("chunk_tokens", 64);
  const auto recent = p.get_non_negative<TokenCount>("recent_tokens", 128);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"reduction", reduction}, {"chunk_tokens", chunk}, {"recent_tokens", recent}},
      [=](KvLayout& l, const StrategyContext&) {
        for (KvGroup& g : l.groups) {
          if (g.retention != Retention::kAll) continue;
          g.retention = Retention::kPromptBudget;
          g.budget_tokens = recent;
          g.budget_fraction = 1.0 - reduction;
          // c d / 2 FLOPs per token per KV head; k_elems = H_kv * d on this GPU.
          g.prefill_select_flops_per_token += static_cast<double>(chunk) * g.k_elems / 2.0;
        }
      },
      std::vector<std::string>{
          "the recent window is counted inside the kept fraction: max(recent_tokens, (1 - reduction) x prompt) "
          "prompt tokens, not recent_tokens + (1 - reduction) x (prompt - recent_tokens) (at most reduction x "
          "recent_tokens tokens fewer)",
          "generated tokens stay exact (the paper also merges periodically during decode; that merging and its work "
          "are not modelled)",
          "the prompt is prefilled densely and merged layer by layer in the step that completes it, as the prompt "
          "compressors; a merged centroid is priced as one 16-bit token (no per-centroid count or weight)"});
}

// Squeezed Attention (§2.9; Hooper et al., arXiv 2411.09688). The full KV of the (fixed) context stays on the
// device; offline K-means keeps `num_centroids` key centroids per KV head per layer (16-bit; with hierarchy 2, also
// `coarse_centroids` coarse ones). Each decode step compares the query with the centroids (2 d FLOPs per centroid
// per query head, one centroid key read per KV head) and attends exactly to the keys of the selected clusters:
// budget_fraction of the tokens (or budget_tokens). With hierarchy 2 it compares the coarse centroids and the fine
// centroids under the selected coarse clusters (budget_fraction of them).
std::unique_ptr<IKvStrategy> make_squeezed_attention(ParamReader& p) {
  const auto centroids = p.get_positive<TokenCount>("num_centroids", 1024);
  const int hierarchy = p.get<int>("hierarchy", 1);
  p.check(hierarchy == 1 || hierarchy == 2, "hierarchy",
          fmt::format("must be 1 (one level of centroids) or 2 (coarse + fine lookup), got {}", hierarchy));
  const auto coarse = p.get_positive<TokenCount>("coarse_centroids", 128);
  p.check(hierarchy == 1 || coarse < centroids, "coarse_centroids",
          fmt::format("must be fewer than num_centroids ({}), got {}", centroids, coarse));
  const double fraction = p.get_fraction("budget_fraction", 1.0 / 3.1);
  const auto budget = p.get_non_negative<TokenCount>("budget_tokens", 0);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"num_centroids", centroids},
                     {"hierarchy", hierarchy},
                     {"coarse_centroids", coarse},
                     {"budget_fraction", fraction},
                     {"budget_tokens", budget}},
      [=](KvLayout& l, const StrategyContext& c) {
        const double n = static_cast<double>(centroids), nc = static_cast<double>(coarse);
        const double stored = hierarchy == 2 ? n + nc : n;
        const double scanned = hierarchy == 2 ? nc + fraction * n : n;
        for (KvGroup& g : l.groups) {
          if (g.retention != Retention::kAll) continue;
          check_selectable(g, "squeezed-attention");
          const double centroid = g.k_elems * 2.0;  // one 16-bit key per KV head
          g.fixed_bytes += stored * centroid;
          g.scan = std::make_shared<const ScanSelection>(ScanSelection{scanned, 0, 1});
          g.select_bytes_per_token += centroid;
          g.score_flops_per_token += 2.0 * c.model.head_dim * q_heads(c);
          if (budget > 0) {
            g.read_budget_tokens = budget;
          } else {
            g.read_fraction *= fraction;
            g.attention_flops_scale *= fraction;
          }
        }
      },
      std::vector<std::string>{
          "the offline K-means over the fixed context (once per context) is not priced; the centroid count is fixed "
          "per KV head, so the lookup does not grow with the context (the abstract's logarithmic hierarchical "
          "lookup assumes counts that grow with it); a fraction budget reads that fraction of every held token's "
          "bytes and FLOPs (not whole clusters)"});
}

// SentenceKV (§2.10; Zhu et al., arXiv 2504.00970). At prefill tokens are grouped into sentences; a semantic vector
// per sentence (one 16-bit key-width vector per KV head: the mean of its keys) stays on the device and the token-level
// KV goes to host memory. Each decode step scores every sentence (2 d FLOPs per sentence per query head), fetches the
// selected sentences' KV (budget_tokens tokens) over PCIe into a device buffer of budget_tokens tokens, and attends
// to them. Sentences are `mean_sentence_tokens` long on average (an assumption: the paper splits on punctuation).
std::unique_ptr<IKvStrategy> make_sentencekv(ParamReader& p) {
  const double sentence = p.get_positive<double>("mean_sentence_tokens", 20.0);
  const auto budget = p.get_positive<TokenCount>("budget_tokens", 2048);
  const double hit = p.get_in<double>("fetch_hit_rate", 0.0, 0.0, 1.0, "(share of the selected KV on the GPU)");
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"mean_sentence_tokens", sentence}, {"budget_tokens", budget}, {"fetch_hit_rate", hit}},
      [=](KvLayout& l, const StrategyContext& c) {
        check_offloadable(l, "sentencekv");
        for (KvGroup& g : l.groups) {
          if (g.retention != Retention::kAll) continue;
          check_selectable(g, "sentencekv");
          const double vector = g.k_elems * 2.0 / sentence;  // per token: one sentence vector per KV head / tokens
          g.fixed_bytes += static_cast<double>(budget) * g.stored_bytes_per_token();  // fetched-KV buffer
          g.k_host_fraction = g.v_host_fraction = 1.0;
          g.extra_bytes_per_token += vector;
          g.select_bytes_per_token += vector;
          g.score_flops_per_token += 2.0 * c.model.head_dim * q_heads(c) / sentence;
          g.read_budget_tokens = budget;
          g.fetch_hit_rate = hit;
          g.prefill_select_flops_per_token += g.k_elems;  // sentence means: one add per key element
        }
      },
      std::vector<std::string>{
          "sentences are mean_sentence_tokens long (an assumption, not the paper's punctuation split); the PCIe "
          "writes that offload the prompt's KV are not priced; the selected sentences' tokens are budget_tokens, "
          "read from a device buffer of that size after the fetch"});
}

// HiP attention (§2.12; Lee et al., arXiv 2406.09827; InfiniteHiP arXiv 2502.08910). The full KV stays (on the
// device, or in host memory with offload=true); each decode step estimates the top budget_tokens keys by a tree
// search over key blocks: k = budget_tokens / block_tokens nodes split in two per level, each child scored by one
// representative key (2 d FLOPs per query head, one key read per KV head), for log2(T / budget_tokens) levels (at
// least one): 2 k log2(T / budget_tokens) scorings per layer, logarithmic in the context. Attention reads the
// budget_tokens selected tokens. With offload=true, all K and V live in host memory; the device keeps one
// representative key per block and a buffer of budget_tokens tokens, and the selected tokens are fetched over PCIe.
std::unique_ptr<IKvStrategy> make_hip(ParamReader& p) {
  const auto budget = p.get_positive<TokenCount>("budget_tokens", 2048);
  const auto block = p.get_positive<TokenCount>("block_tokens", 64);
  p.check(budget % block == 0, "budget_tokens",
          fmt::format("must be a multiple of block_tokens ({}): whole blocks are selected, got {}", block, budget));
  const bool offload = p.get<bool>("offload", false);
  const double hit = p.get_in<double>("fetch_hit_rate", 0.0, 0.0, 1.0, "(share of the selected KV on the GPU)");
  p.check(offload || hit == 0, "fetch_hit_rate", "applies only with offload=true");
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"budget_tokens", budget}, {"block_tokens", block}, {"offload", offload}, {"fetch_hit_rate", hit}},
      [=](KvLayout& l, const StrategyContext& c) {
        if (offload) check_offloadable(l, "hip");
        const double nodes = static_cast<double>(budget / block);
        for (KvGroup& g : l.groups) {
          if (g.retention != Retention::kAll) continue;
          check_selectable(g, "hip");
          const double key = g.k_elems * 2.0;  // one 16-bit representative key per KV head
          g.read_budget_tokens = budget;
          g.scan = std::make_shared<const ScanSelection>(ScanSelection{0, 2.0 * nodes, budget});
          g.select_bytes_per_token += key;
          g.score_flops_per_token += 2.0 * c.model.head_dim * q_heads(c);
          if (offload) {
            g.fixed_bytes += static_cast<double>(budget) * g.stored_bytes_per_token();  // fetched working set
            g.k_host_fraction = g.v_host_fraction = 1.0;
            g.extra_bytes_per_token += key / static_cast<double>(block);
            g.fetch_hit_rate = hit;
          }
        }
      },
      std::vector<std::string>{
          "prefill is priced dense (HiP's own prefill is block-sparse, O(T log T)); one tree search per KV head "
          "shared by its query heads; at least one level is priced even when the context fits in the budget" +
          std::string(offload ? "; the PCIe writes that offload the KV are not priced" : "")});
}

}  // namespace

void add_sparse_strategies(KvStrategyRegistry& r) {
  r.add({"chelsea",
         "online KV clustering: each chunk's similar tokens merged into centroids, keeping (1 - reduction) of the "
         "prompt (at least recent_tokens); clustering priced at c d / 2 FLOPs per token per KV head (c^2 d / 2 per "
         "chunk); decode reads the merged cache",
         "Hu et al., Chelsea, arXiv 2506.11418",
         {KvAxis::kRetention},
         {num_param("reduction", 0.8, "fraction of the prompt's KV merged away (paper's headline: up to 80%), < 1"),
          int_param("chunk_tokens", 64, "tokens per clustering chunk (kvsim's default; the paper's not verified)"),
          int_param("recent_tokens", 128,
                    "least prompt tokens kept (the exact recent window; kvsim's default, the paper's not verified)")},
         {{"KV memory and accuracy", "models of the paper (not recorded)",
           "up to 80% KV-cache memory reduction with comparable accuracy", "arXiv 2506.11418 abstract"},
          {"decode and end-to-end latency", "models of the paper (not recorded)",
           "decoding up to 3.19x faster, end-to-end latency up to 2.72x lower", "arXiv 2506.11418 abstract"}},
         make_chelsea});
  r.add({"squeezed-attention",
         "full KV resident plus num_centroids key centroids per KV head per layer (offline K-means of a fixed "
         "context); each step scores the centroids (hierarchy 2: coarse, then fine under the selected coarse ones) "
         "and reads budget_fraction of the keys (or budget_tokens); cuts traffic, not capacity",
         "Hooper et al., Squeezed Attention, arXiv 2411.09688 (ACL 2025)",
         {KvAxis::kTraffic},
         {int_param("num_centroids", 1024,
                    "key centroids per KV head per layer (kvsim's default; the reference sets a percentage of the "
                    "context, not verified)"),
          int_param("hierarchy", 1, "1: one level of centroids; 2: coarse + fine lookup"),
          int_param("coarse_centroids", 128, "coarse centroids per KV head per layer (hierarchy 2 only)"),
          num_param("budget_fraction", 1.0 / 3.1,
                    "fraction of the KV read per step (1/3.1: the paper's lossless setting; 1/8: <0.5-point gap)"),
          int_param("budget_tokens", 0, "fixed tokens read per layer per step instead of the fraction (0 = fraction)")},
         {{"LongBench", "LLaMA-2-7B-32K, LWM-Text-Chat-1M, Longchat-7B-v1.5-32K",
           "3.1x KV-budget reduction without noticeable accuracy loss; up to 8x with under 0.5-point gap",
           "arXiv 2411.09688 abstract"},
          {"kernel speed at long context", "models of the paper",
           "over 4x speedups in both prefill and generation (Triton kernels)", "arXiv 2411.09688 abstract"}},
         make_squeezed_attention});
  r.add({"sentencekv",
         "sentence-level semantic vectors on the GPU, token KV in host memory; each step scores every sentence and "
         "fetches the selected sentences' KV (budget_tokens tokens) over PCIe",
         "Zhu et al., SentenceKV, arXiv 2504.00970",
         {KvAxis::kPlacement, KvAxis::kTraffic},
         {num_param("mean_sentence_tokens", 20.0,
                    "mean tokens per sentence (an assumption; the paper splits sentences on punctuation)"),
          int_param("budget_tokens", 2048,
                    "tokens of the selected sentences read per layer per step (kvsim's default; not verified)"),
          num_param("fetch_hit_rate", 0.0, "fraction of the selected KV already on the GPU, in [0, 1]")},
         {{"PG-19, LongBench, Needle-in-a-Haystack, RULER", "models of the paper (not recorded)",
           "the abstract gives no numbers ('significantly outperforms' baselines in efficiency and memory usage); "
           "a ~1.7x speedup quoted by a third-party slide is not verified",
           "arXiv 2504.00970 abstract"}},
         make_sentencekv});
  r.add({"hip",
         "hierarchical top-k pruning: full KV kept (offload=true: in host memory, fetched per step); each step finds "
         "the top budget_tokens keys by a tree search over key blocks, 2 (budget/block) log2(T / budget) block "
         "scorings per layer, and reads only them",
         "Lee et al., HiP attention, arXiv 2406.09827; InfiniteHiP, arXiv 2502.08910",
         {KvAxis::kTraffic, KvAxis::kPlacement},
         {int_param("budget_tokens", 2048, "top-k tokens read per layer per step (kvsim's default; not verified)"),
          int_param("block_tokens", 64, "key block size of the tree search (kvsim's default; not verified)"),
          bool_param("offload", false, "keep K and V in host memory and fetch the selected tokens over PCIe"),
          num_param("fetch_hit_rate", 0.0,
                    "with offload: fraction of the selected KV already on the GPU, in [0, 1]")},
         {{"prefill and decode latency, memory", "models of the paper",
           "training-free; significant prefill/decode latency and memory reduction", "arXiv 2406.09827 abstract"},
          {"end-to-end decoding at 128K", "Llama-3.1-8B",
           "up to 6.83x faster decoding (secondary summary, not verified against the paper)",
           "sciencestack TL;DR of arXiv 2406.09827"},
          {"InfiniteHiP at 1M context", "models of the paper, one L40S-48GB",
           "3M tokens on one GPU; 18.95x attention decoding speedup at 1M (recalled, not verified)",
           "arXiv 2502.08910"}},
         make_hip});
}

}  // namespace kvsim::kvstrat
