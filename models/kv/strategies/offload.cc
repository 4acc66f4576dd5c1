// Offload strategies: parts of the KV cache in host memory, fetched over PCIe when read.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

// ShadowKV (kv-strategies.md §4.1; bytedance/ShadowKV models/kv_cache.py). Per full-attention layer and request:
//  device, per token: U row of the rank-r pre-RoPE key SVD (r x 16 bit) + landmark (mean key of a chunk of c,
//                     H_kv*d/c x 16 bit);
//  device, fixed:     SV basis (r x H_kv*d x 16 bit) + static K and V buffers of B + 128 + (n_out + local)*c tokens;
//  host:              every value (H_kv*d x 16 bit per token).
// Per decode step: landmarks scored over the whole context, B selected tokens read (U rows and values), their keys
// rebuilt (2 r H_kv d FLOPs each) and their values fetched over PCIe unless found in the device cache.
std::unique_ptr<IKvStrategy> make_shadowkv(ParamReader& p) {
  const int rank = p.get_positive<int>("rank", 160);
  const auto chunk = p.get_positive<TokenCount>("chunk_tokens", 8);
  const auto budget = p.get_positive<TokenCount>("budget_tokens", 2048);
  p.check(budget % chunk == 0, "budget_tokens",
          fmt::format("must be a multiple of chunk_tokens ({}): whole chunks are selected, got {}", chunk, budget));
  const auto local = p.get_non_negative<TokenCount>("local_chunks", 4);
  // Repository: outlier_chunk = int((sparse_budget // 1024) * 24).
  const auto outlier = p.get_non_negative<TokenCount>("outlier_chunks", budget / 1024 * 24);
  const double hit = p.get_in<double>("fetch_hit_rate", 0.0, 0.0, 1.0, "(share of the selected KV on the GPU)");
  const std::string rank_key = p.full("rank");
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"rank", rank},
                     {"chunk_tokens", chunk},
                     {"budget_tokens", budget},
                     {"local_chunks", local},
                     {"outlier_chunks", outlier},
                     {"fetch_hit_rate", hit}},
      [=](KvLayout& l, const StrategyContext& c) {
        if (c.model.mla) {
          throw KvsimError(fmt::format("strategy 'shadowkv': model {} caches an MLA latent; ShadowKV factorizes "
                                       "per-head pre-RoPE keys and offloads per-head values of MHA/GQA models",
                                       c.model.name));
        }
        check_offloadable(l, "shadowkv");
        for (const KvGroup& g : l.groups) {
          if (g.k_bits < 16 || g.v_bits < 16) {
            throw KvsimError("strategy 'shadowkv' keeps its low-rank keys and offloaded values in 16 bits and cannot "
                             "be combined with KV quantization (a precision-axis strategy)");
          }
        }
        for (KvGroup& g : l.groups) {
          if (g.retention != Retention::kAll) continue;
          const double width = g.k_elems;  // H_kv*d on this GPU
          if (rank > width) {
            throw KvsimError(
                fmt::format("{}: rank {} exceeds the key width H_kv*d = {} per GPU", rank_key, rank, width));
          }
          const double landmark = width * 2.0 / static_cast<double>(chunk);
          const double buffer_tokens = static_cast<double>(budget + 128 + (outlier + local) * chunk);
          g.k_elems = rank;
          g.v_host_fraction = 1.0;
          g.extra_bytes_per_token += landmark;
          g.fixed_bytes += rank * width * 2.0 + 2.0 * buffer_tokens * width * 2.0;
          g.read_budget_tokens = budget;
          g.select_bytes_per_token += landmark;
          g.score_flops_per_token += 2.0 * c.model.head_dim * q_heads(c) / static_cast<double>(chunk);
          g.reconstruct_flops_per_token += 2.0 * rank * width;
          g.fetch_hit_rate = hit;
          // Thin SVD of the [S, H_kv*d] key matrix at prefill: ~4 (H_kv*d)^2 FLOPs per prompt token.
          g.prefill_select_flops_per_token += 4.0 * width * width;
        }
      });
}

// InfLLM (kv-strategies.md §2.11; thunlp/InfLLM inf_llm/attention/context_manager.py, config/*.yaml). Per
// full-attention layer the device holds the working set: init tokens + local window + (retrieved + cached) blocks,
// i.e. at most init + local + (topk + cached) * block tokens (a window group). Tokens leave the local window in
// blocks for host memory units (`append_global`), each keeping `repr_keys` representative keys on the device (a
// kOutsideWindow group: only tokens beyond init + local exist there). Per decode step attention reads the
// init + local tokens and min(topk, blocks that exist) retrieved blocks (`calc_block_topk` returns every block when
// there are at most topk); scoring reads every representative key; retrieved blocks not in the device cache are
// fetched over PCIe. A context that fits in init + local reads and fetches nothing from the memory units.
std::unique_ptr<IKvStrategy> make_infllm(ParamReader& p) {
  const auto block = p.get_positive<TokenCount>("block_tokens", 128);
  const auto init = p.get_non_negative<TokenCount>("init_tokens", 128);
  const auto local = p.get_positive<TokenCount>("local_tokens", 4096);
  const auto topk = p.get_positive<TokenCount>("topk_blocks", 16);
  const auto repr = p.get_positive<TokenCount>("repr_keys", 4);
  p.check(repr <= block, "repr_keys", fmt::format("must not exceed block_tokens ({}), got {}", block, repr));
  const auto cached = p.get_non_negative<TokenCount>("cached_blocks", 32);
  const double hit = p.get_in<double>("fetch_hit_rate", 0.0, 0.0, 1.0, "(share of the selected KV on the GPU)");
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"block_tokens", block},
                     {"init_tokens", init},
                     {"local_tokens", local},
                     {"topk_blocks", topk},
                     {"repr_keys", repr},
                     {"cached_blocks", cached},
                     {"fetch_hit_rate", hit}},
      [=](KvLayout& l, const StrategyContext& c) {
        check_offloadable(l, "infllm");
        std::vector<KvGroup> out;
        for (const KvGroup& g : l.groups) {
          if (g.retention != Retention::kAll) {
            out.push_back(g);
            continue;
          }
          KvGroup work = g;
          work.name = g.name + " (working set)";
          work.retention = Retention::kWindow;
          work.sink_tokens = init;
          work.window_tokens = local + (topk + cached) * block;
          work.read_budget_tokens = init + local;
          KvGroup memory = g;
          memory.name = g.name + " (memory units)";
          memory.retention = Retention::kOutsideWindow;
          memory.sink_tokens = init;
          memory.window_tokens = local;
          memory.k_host_fraction = memory.v_host_fraction = 1.0;
          memory.residual_tokens = 0;  // the 16-bit residual is the most recent tokens: in the working set
          const double repr_bytes = static_cast<double>(repr) * g.k_elems * 2.0 / static_cast<double>(block);
          memory.extra_bytes_per_token += repr_bytes;
          memory.select_bytes_per_token += repr_bytes;
          memory.score_flops_per_token +=
              2.0 * static_cast<double>(repr) * c.model.head_dim * q_heads(c) / static_cast<double>(block);
          memory.read_budget_tokens = topk * block;
          memory.fetch_hit_rate = hit;
          out.push_back(std::move(work));
          out.push_back(std::move(memory));
        }
        l.groups = std::move(out);
      },
      std::vector<std::string>{
          "memory units hold tokens, not whole 128-token blocks (the reference moves a block to host memory once it "
          "leaves the local window); the PCIe writes that offload them are not priced; one selection per sequence "
          "shared by all heads, as the reference's mean query"});
}

}  // namespace

void add_offload_strategies(KvStrategyRegistry& r) {
  r.add({"shadowkv",
         "ShadowKV: rank-r pre-RoPE keys and chunk landmarks on the GPU, all values in host memory; each step "
         "selects budget_tokens tokens by landmark, rebuilds their keys and fetches their values over PCIe",
         "Sun et al., ShadowKV, arXiv 2410.21465 (ICML 2025); github.com/bytedance/ShadowKV",
         {KvAxis::kPlacement, KvAxis::kWidth, KvAxis::kTraffic},
         {int_param("rank", 160, "rank of the pre-RoPE key SVD (per GPU, over all its KV heads)"),
          int_param("chunk_tokens", 8, "tokens per chunk (one landmark each; selection granularity)"),
          int_param("budget_tokens", 2048, "tokens selected per layer per step (sparse_budget), multiple of chunk"),
          int_param("local_chunks", 4, "most recent chunks kept exact on the GPU"),
          {"outlier_chunks", "int", "floor(budget_tokens / 1024) * 24",
           "chunks kept exact on the GPU (lowest intra-chunk key similarity)"},
          num_param("fetch_hit_rate", 0.0,
                    "fraction of selected value bytes already on the GPU (temporal-locality cache), in [0, 1]")},
         {{"RULER, LongBench, needle in a haystack; batch and throughput on an A100",
           "Llama-3.1-8B, Llama-3-8B-1M, GLM-4-9B-1M, Yi-9B-200K, Phi-3-Mini-128K, Qwen2-7B-128K",
           "up to 6x larger batch and up to 3.04x throughput without accuracy loss", "arXiv 2410.21465 abstract"},
          {"batch at 122K context, budget 2048", "Llama-3.1-8B", "batch 24 vs 4 for full attention",
           "bytedance/ShadowKV test/e2e.py"}},
         make_shadowkv});
  r.add({"infllm",
         "InfLLM memory units: init + local tokens and a cache of retrieved blocks on the GPU, every block in host "
         "memory with a few representative keys on the GPU; each step retrieves topk blocks, fetching misses",
         "Xiao et al., InfLLM, arXiv 2402.04617 (NeurIPS 2024); github.com/thunlp/InfLLM",
         {KvAxis::kPlacement, KvAxis::kRetention, KvAxis::kTraffic},
         {int_param("block_tokens", 128, "tokens per memory unit (block_size)"),
          int_param("init_tokens", 128, "initial tokens always attended (n_init)"),
          int_param("local_tokens", 4096, "recent tokens always attended (n_local)"),
          int_param("topk_blocks", 16, "blocks retrieved per step (topk)"),
          int_param("repr_keys", 4, "representative keys per block kept on the GPU (repr_topk)"),
          int_param("cached_blocks", 32, "blocks cached on the GPU beyond the retrieved ones (max_cached_block)"),
          num_param("fetch_hit_rate", 0.0,
                    "fraction of retrieved blocks found in the GPU cache (1 - miss rate), in [0, 1]")},
         {{"long-context tasks", "LLMs pre-trained on a few K tokens (Mistral-7B, Llama-3-8B in the repo configs)",
           "handles up to 1,024K-token sequences training-free, comparable to continually trained long models",
           "arXiv 2402.04617 abstract"}},
         make_infllm});
}

}  // namespace kvsim::kvstrat
