// KV quantization: FP8 / INT8 caches, group-quantized low-bit caches with a full-precision residual window, outlier-
// and error-corrected low-bit caches (KVQuant, GEAR), rotated caches (RotateKV) and mixed precision (MiKV).
#include <string>

#include <fmt/format.h>

#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

// Elements of one per-token vector that shares per-token metadata: a head (head_dim), or the MLA latent.
double vector_elems(const StrategyContext& c) {
  return c.model.mla ? static_cast<double>(c.model.mla->kv_lora_rank) : static_cast<double>(c.model.head_dim);
}

// Stored bits per element must stay below 16, or the method stores more than an fp16 cache.
void check_compresses(const KvGroup& g, const std::string& strategy) {
  const double k = g.k_bits + g.k_meta_bits + g.outlier_fraction * 48.0;
  const double v = g.v_bits + g.v_meta_bits + g.outlier_fraction * 48.0;
  if (k >= 16 || v >= 16) {
    throw KvsimError(fmt::format("strategy '{}': these parameters store {:.3g} (K) / {:.3g} (V) bits per element, "
                                 "not less than a 16-bit cache; lower the bits, outliers or rank",
                                 strategy, k, v));
  }
}

std::unique_ptr<IKvStrategy> make_uniform(double bits, ParamReader& p) {
  const bool fused = p.get<bool>("fused_dequant", true);
  return std::make_unique<LambdaStrategy>(nlohmann::json{{"fused_dequant", fused}},
                                          [=](KvLayout& l, const StrategyContext&) {
                                            for (KvGroup& g : l.groups) quantize(g, bits, bits, 0, false, 0);
                                            l.fused_dequant = fused;
                                          });
}

std::unique_ptr<IKvStrategy> make_kivi(double default_bits, ParamReader& p) {
  const double bits = p.get_positive<double>("bits", default_bits);
  p.check(bits == 2 || bits == 4, "bits", "KIVI supports 2 or 4 bits");
  const int group = p.get_positive<int>("group_size", 32);
  const auto residual = p.get_non_negative<TokenCount>("residual_tokens", 128);
  const bool fused = p.get<bool>("fused_dequant", true);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"bits", bits}, {"group_size", group}, {"residual_tokens", residual}, {"fused_dequant", fused}},
      [=](KvLayout& l, const StrategyContext&) {
        for (KvGroup& g : l.groups) {
          quantize(g, bits, bits, group, true, residual);
          check_compresses(g, "kivi");
        }
        l.fused_dequant = fused;
      });
}

// KVQuant: per-channel pre-RoPE keys (offline-calibrated ranges, no per-token key metadata), per-token values (one
// 32-bit scale per vector), ~1% dense-and-sparse outliers at fp16 + int32 index, the first sink tokens in fp16.
std::unique_ptr<IKvStrategy> make_kvquant(ParamReader& p) {
  const int bits = p.get_positive<int>("bits", 3);
  p.check(bits >= 2 && bits <= 4, "bits",
          fmt::format("KVQuant supports 2, 3 or 4 bits (nuq2/nuq3/nuq4), got {}", bits));
  const double outliers = p.get_non_negative<double>("outlier_fraction", 0.01);
  p.check(outliers < 0.5, "outlier_fraction", fmt::format("must be < 0.5, got {}", outliers));
  const auto sinks = p.get_non_negative<TokenCount>("sink_tokens", 5);
  const bool fused = p.get<bool>("fused_dequant", true);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"bits", bits}, {"outlier_fraction", outliers}, {"sink_tokens", sinks}, {"fused_dequant", fused}},
      [=](KvLayout& l, const StrategyContext& c) {
        for (KvGroup& g : l.groups) {
          quantize(g, bits, bits, 0, false, sinks);
          g.v_meta_bits = 32.0 / vector_elems(c);
          g.outlier_fraction = outliers;
          // RoPE applied on the fly to the dequantized pre-RoPE keys: x*cos + rot(x)*sin, 3 FLOPs per element.
          g.reconstruct_flops_per_token += 3.0 * g.k_elems;
          check_compresses(g, "kvquant");
        }
        l.fused_dequant = fused;
      });
}

// MiKV: the tokens an H2O-style policy would keep (important_fraction) at high precision, the others at low
// precision with per-token asymmetric metadata (fp16 scale + zero per vector); H2O score upkeep.
std::unique_ptr<IKvStrategy> make_mikv(ParamReader& p) {
  const double important = p.get_fraction("important_fraction", 0.2);
  p.check(important < 1, "important_fraction",
          "must be < 1 (1 keeps every token at high precision; use fp8, int8 or full)");
  const int high = p.get_positive<int>("high_bits", 16);
  p.check(high == 16 || high == 8, "high_bits",
          fmt::format("MiKV keeps important tokens in 16 or 8 bits, got {}", high));
  const int low = p.get_positive<int>("low_bits", 4);
  p.check(low >= 2 && low <= 4, "low_bits", fmt::format("MiKV stores the other tokens in 2, 3 or 4 bits, got {}", low));
  const bool fused = p.get<bool>("fused_dequant", true);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"important_fraction", important}, {"high_bits", high}, {"low_bits", low},
                     {"fused_dequant", fused}},
      [=](KvLayout& l, const StrategyContext& c) {
        // bits_avg = rho * b_hi + (1 - rho) * (b_lo + 32/d)   (kv-strategies.md §3.3); INT8 tokens carry metadata too.
        const double bits = important * high + (1.0 - important) * low;
        const double meta = (high < 16 ? 1.0 : 1.0 - important) * 32.0 / vector_elems(c);
        for (KvGroup& g : l.groups) {
          g.k_bits = g.v_bits = bits;
          g.k_meta_bits = g.v_meta_bits = meta;
          g.residual_tokens = 0;
          add_accumulated_scores(g, c, 0.0);
        }
        l.fused_dequant = fused;
      },
      std::vector<std::string>{
          "importance is H2O's accumulated attention (secondary summaries of the paper; no official code), priced at "
          "prefill as a second pass over the causal (query, key) pairs; the per-channel balancer (max |q|, max |k| "
          "at prefill) is not priced"});
}

// GEAR: b-bit group quantization (KIVI-style, fp16 scale + zero) + rank-r fp16 factors of the quantization error per
// block of n buffered tokens + a fraction s of sparse outliers; new tokens wait in fp16 until a block is full.
//   bits/elem = b + 32/G + 48 s + 16 r (n + d) / (n d)          (kv-strategies.md §3.4)
std::unique_ptr<IKvStrategy> make_gear(ParamReader& p) {
  const int bits = p.get_positive<int>("bits", 4);
  p.check(bits == 2 || bits == 4, "bits",
          fmt::format("GEAR quantizes to 2 (over KIVI) or 4 bits (KCVT), got {}", bits));
  const int group = p.get_positive<int>("group_size", 64);
  const int rank = p.get_non_negative<int>("rank", 2);
  const double outliers = p.get_non_negative<double>("outlier_fraction", 0.02);
  p.check(outliers < 0.5, "outlier_fraction", fmt::format("must be < 0.5, got {}", outliers));
  const auto buffer = p.get_positive<TokenCount>("buffer_tokens", 64);
  p.check(rank <= buffer, "rank", fmt::format("must not exceed buffer_tokens ({}), got {}", buffer, rank));
  const bool fused = p.get<bool>("fused_dequant", true);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"bits", bits},
                     {"group_size", group},
                     {"rank", rank},
                     {"outlier_fraction", outliers},
                     {"buffer_tokens", buffer},
                     {"fused_dequant", fused}},
      [=](KvLayout& l, const StrategyContext& c) {
        const double n = static_cast<double>(buffer);
        const double d = vector_elems(c);
        if (rank > d) {
          throw KvsimError(fmt::format("strategy 'gear': rank {} exceeds the head dimension {}", rank, d));
        }
        // The low-rank factors (n x r and r x d per head per block, fp16) count as per-element overhead.
        const double low_rank_bits = 16.0 * rank * (n + d) / (n * d);
        for (KvGroup& g : l.groups) {
          quantize(g, bits, bits, group, true, buffer);
          g.k_meta_bits += low_rank_bits;
          g.v_meta_bits += low_rank_bits;
          g.outlier_fraction = outliers;
          // Applying L inside attention: q.B (2 r d) then .A (2 r n) per query head per block, for K and for V.
          g.reconstruct_flops_per_token += 2.0 * 2.0 * rank * (n + d) / n * q_heads(c);
          check_compresses(g, "gear");
        }
        l.fused_dequant = fused;
      });
}

// RotateKV: 2-bit K and V after outlier-aware (channel-reordered) Walsh-Hadamard rotations, keys pre-RoPE and
// rotated across grouped heads, attention-sink tokens kept in fp16 (repo: 20 pivot tokens, groups of 128).
std::unique_ptr<IKvStrategy> make_rotatekv(ParamReader& p) {
  const int bits = p.get_positive<int>("bits", 2);
  p.check(bits >= 2 && bits <= 4, "bits",
          fmt::format("RotateKV supports 2, 3 or 4 bits (RotateKV2/3/4), got {}", bits));
  const int group = p.get_positive<int>("group_size", 128);
  const auto sinks = p.get_non_negative<TokenCount>("sink_tokens", 20);
  const bool fused = p.get<bool>("fused_dequant", true);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"bits", bits}, {"group_size", group}, {"sink_tokens", sinks}, {"fused_dequant", fused}},
      [=](KvLayout& l, const StrategyContext&) {
        for (KvGroup& g : l.groups) {
          quantize(g, bits, bits, group, true, sinks);
          check_compresses(g, "rotatekv");
          // RoPE applied to the dequantized pre-RoPE keys inside attention (3 FLOPs per key element).
          g.reconstruct_flops_per_token += 3.0 * g.k_elems;
        }
        l.fused_dequant = fused;
      });
}

// 4-bit KV with asymmetric fp16 scale + zero per group: QServe (per head, per token), Atom (group 128).
std::unique_ptr<IKvStrategy> make_kv4(ParamReader& p, bool per_head) {
  const int group = per_head ? 0 : p.get_positive<int>("group_size", 128);
  const bool fused = p.get<bool>("fused_dequant", true);
  nlohmann::json params = {{"fused_dequant", fused}};
  if (!per_head) params["group_size"] = group;
  return std::make_unique<LambdaStrategy>(params, [=](KvLayout& l, const StrategyContext& c) {
    const int g_elems = per_head ? static_cast<int>(vector_elems(c)) : group;
    for (KvGroup& g : l.groups) {
      quantize(g, 4, 4, g_elems, true, 0);
      check_compresses(g, per_head ? "qserve-kv4" : "atom-kv4");
    }
    l.fused_dequant = fused;
  });
}

}  // namespace

void add_quantization_strategies(KvStrategyRegistry& r) {
  r.add({"fp8",
         "FP8 (E4M3) KV cache with per-tensor scales: 1 byte per element",
         "vLLM quantized KV cache documentation; FlashAttention-3 FP8 attention",
         {KvAxis::kPrecision},
         {bool_param("fused_dequant", true, "dequantization fused into attention")},
         {{"accuracy", "Llama-class models", "FP8 E4M3 typically only minimally degrades accuracy",
           "vLLM docs, quantized KV cache"}},
         [](ParamReader& p) { return make_uniform(8, p); }});
  r.add({"int8",
         "INT8 KV cache with per-tensor scales: 1 byte per element",
         "Character.AI inference blog (int8 KV), June 2024; LMDeploy kv int8",
         {KvAxis::kPrecision},
         {bool_param("fused_dequant", true, "dequantization fused into attention")},
         {},
         [](ParamReader& p) { return make_uniform(8, p); }});
  // Each KIVI entry documents its own `bits` default.
  const auto kivi_params = [](double bits) {
    return std::vector<ParamDoc>{
        num_param("bits", bits, "bits per element (2 or 4)"),
        int_param("group_size", 32, "elements per scale/zero group (keys per channel, values per token)"),
        int_param("residual_tokens", 128, "most recent tokens kept in 16 bits"),
        bool_param("fused_dequant", true, "dequantization fused into attention")};
  };
  const std::vector<ReportedQuality> kivi_quality = {
      {"LongBench and generation tasks", "Llama-2, Falcon, Mistral", "almost the same quality as 16-bit",
       "arXiv 2402.02750 abstract"},
      {"peak memory and throughput", "Llama-2-7B", "2.6x less peak memory (incl. weights), 2.35x-3.47x throughput",
       "arXiv 2402.02750 abstract"}};
  r.add({"kivi-2", "KIVI 2-bit: per-channel keys, per-token values, groups of 32 with fp16 scale+zero, "
         "128-token fp16 residual",
         "Liu et al., KIVI, arXiv 2402.02750 (ICML 2024)", {KvAxis::kPrecision}, kivi_params(2), kivi_quality,
         [](ParamReader& p) { return make_kivi(2, p); }});
  r.add({"kivi-4", "KIVI 4-bit (as kivi-2 with 4-bit elements)", "Liu et al., KIVI, arXiv 2402.02750 (ICML 2024)",
         {KvAxis::kPrecision}, kivi_params(4), kivi_quality, [](ParamReader& p) { return make_kivi(4, p); }});
  r.add({"kvquant",
         "KVQuant: per-channel pre-RoPE keys and per-token values at 2-4 bits (non-uniform), 1% dense-and-sparse "
         "outliers in fp16 + int32 index, the first sink_tokens in fp16",
         "Hooper et al., KVQuant, arXiv 2401.18079 (NeurIPS 2024); github.com/SqueezeAILab/KVQuant",
         {KvAxis::kPrecision},
         {int_param("bits", 3, "bits per element (2, 3 or 4)"),
          num_param("outlier_fraction", 0.01, "elements kept sparse in fp16 with an int32 index"),
          int_param("sink_tokens", 5, "first tokens kept in fp16 (attention sink)"),
          bool_param("fused_dequant", true, "dequantization fused into attention")},
         {{"Wikitext-2 and C4 perplexity", "LLaMA, Llama-2, Llama-3, Mistral", "< 0.1 PPL degradation at 3 bits",
           "arXiv 2401.18079 abstract"},
          {"context length", "LLaMA-7B", "up to 1M tokens on one A100-80GB, 10M on an 8-GPU system",
           "arXiv 2401.18079 abstract"}},
         make_kvquant});
  r.add({"mikv",
         "MiKV mixed precision: the important_fraction of tokens an H2O-style policy would keep stays at high_bits, "
         "the rest drops to low_bits with per-token scale + zero (nothing evicted); fp32 score per token per head",
         "Yang et al., No Token Left Behind (MiKV), arXiv 2402.18096",
         {KvAxis::kPrecision},
         {num_param("important_fraction", 0.2, "fraction of tokens kept at high precision (rho_hi), < 1"),
          int_param("high_bits", 16, "bits of important tokens (16 or 8)"),
          int_param("low_bits", 4, "bits of the other tokens (2, 3 or 4)"),
          bool_param("fused_dequant", true, "dequantization fused into attention")},
         {{"line retrieval with 50% of the cache evicted", "Llama-2-7B",
           "43% accuracy if evicted tokens are deleted vs 99.8% if kept in INT3",
           "secondary summary of arXiv 2402.18096 (not the paper itself)"}},
         make_mikv});
  r.add({"gear",
         "GEAR: b-bit group quantization + rank-r fp16 correction of the quantization error per buffered block + "
         "sparse fp16 outliers; new tokens stay fp16 until buffer_tokens are compressed together",
         "Kang et al., GEAR, arXiv 2403.05527; github.com/HaoKang-Timmy/GEAR",
         {KvAxis::kPrecision},
         {int_param("bits", 4, "bits per element (4 = KCVT, 2 = over KIVI)"),
          int_param("group_size", 64, "elements per fp16 scale + zero group"),
          int_param("rank", 2, "rank of the error correction per block (repo rank, decode)"),
          num_param("outlier_fraction", 0.02, "elements kept sparse in fp16 with an int32 index (repo left)"),
          int_param("buffer_tokens", 64,
                    "fp16 buffer of new tokens, compressed as one block of n tokens (repo streaming_gap)"),
          bool_param("fused_dequant", true, "dequantization fused into attention")},
         {{"throughput and peak memory", "LLaMA-2-7B class (setting not verified)",
           "near-lossless 4-bit KV compression, up to 2.38x throughput, up to 2.29x lower peak memory",
           "arXiv 2403.05527 abstract"}},
         make_gear});
  r.add({"rotatekv",
         "RotateKV: 2-bit K and V after outlier-aware Walsh-Hadamard rotations (keys pre-RoPE, grouped heads), "
         "groups of 128 with scale + zero, attention-sink tokens kept in fp16",
         "Su et al., RotateKV, arXiv 2501.16383 (IJCAI 2025); github.com/ZunhaiSu/RotateKV",
         {KvAxis::kPrecision},
         {int_param("bits", 2, "bits per element (2, 3 or 4)"),
          int_param("group_size", 128, "elements per fp16 scale + zero group (repo k/v_groupsize)"),
          int_param("sink_tokens", 20, "attention-sink tokens kept in fp16 (repo PIVOT_TOKEN)"),
          bool_param("fused_dequant", true, "dequantization fused into attention")},
         {{"WikiText-2 perplexity at 2 bits", "LLaMA-2-13B", "< 0.3 PPL degradation", "arXiv 2501.16383 abstract"},
          {"GSM8K", "models of the paper", "< 1.7% degradation", "arXiv 2501.16383 abstract"},
          {"memory and speed", "models of the paper",
           "3.97x lower peak memory, 5.75x larger batch, 2.32x faster decoding", "arXiv 2501.16383 abstract"}},
         make_rotatekv});
  r.add({"qserve-kv4",
         "QServe KV4: 4-bit KV with a dynamic fp16 scale + zero per head per token (4 + 32/d bits)",
         "Lin et al., QServe, arXiv 2405.04532",
         {KvAxis::kPrecision},
         {bool_param("fused_dequant", true, "dequantization fused into attention")},
         {{"max serving throughput vs TensorRT-LLM (W4A8KV4 system)", "Llama-3-8B",
           "1.2x on A100, 1.4x on L40S", "arXiv 2405.04532 abstract"}},
         [](ParamReader& p) { return make_kv4(p, true); }});
  r.add({"atom-kv4",
         "Atom KV4: 4-bit asymmetric KV with fp16 scale + zero per group of group_size elements",
         "Zhao et al., Atom, arXiv 2310.19102 (MLSys 2024)",
         {KvAxis::kPrecision},
         {int_param("group_size", 128, "elements per scale + zero group (head dim in the paper)"),
          bool_param("fused_dequant", true, "dequantization fused into attention")},
         {{"end-to-end throughput (W4A4 + KV4 system)", "Llama family",
           "up to 7.73x vs FP16 and 2.53x vs INT8 at similar latency", "arXiv 2310.19102 abstract (via summaries)"}},
         [](ParamReader& p) { return make_kv4(p, false); }});
}

}  // namespace kvsim::kvstrat
