// KV quantization: FP8 / INT8 caches and group-quantized low-bit caches with a full-precision residual window.
#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

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
        for (KvGroup& g : l.groups) quantize(g, bits, bits, group, true, residual);
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
  const std::vector<ParamDoc> kivi_params = {
      num_param("bits", 2, "bits per element (2 or 4)"),
      int_param("group_size", 32, "elements per scale/zero group (keys per channel, values per token)"),
      int_param("residual_tokens", 128, "most recent tokens kept in 16 bits"),
      bool_param("fused_dequant", true, "dequantization fused into attention")};
  const std::vector<ReportedQuality> kivi_quality = {
      {"LongBench and generation tasks", "Llama-2, Falcon, Mistral", "almost the same quality as 16-bit",
       "arXiv 2402.02750 abstract"},
      {"peak memory and throughput", "Llama-2-7B", "2.6x less peak memory (incl. weights), 2.35x-3.47x throughput",
       "arXiv 2402.02750 abstract"}};
  r.add({"kivi-2", "KIVI 2-bit: per-channel keys, per-token values, groups of 32 with fp16 scale+zero, "
         "128-token fp16 residual",
         "Liu et al., KIVI, arXiv 2402.02750 (ICML 2024)", {KvAxis::kPrecision}, kivi_params, kivi_quality,
         [](ParamReader& p) { return make_kivi(2, p); }});
  r.add({"kivi-4", "KIVI 4-bit (as kivi-2 with 4-bit elements)", "Liu et al., KIVI, arXiv 2402.02750 (ICML 2024)",
         {KvAxis::kPrecision}, kivi_params, kivi_quality, [](ParamReader& p) { return make_kivi(4, p); }});
}

}  // namespace kvsim::kvstrat
