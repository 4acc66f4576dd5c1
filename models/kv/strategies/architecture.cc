// Architecture-level strategies: the model's own attention (MHA/GQA/MQA, MLA) and cross-layer / head sharing.
#include <cmath>

#include <fmt/format.h>

#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

std::unique_ptr<IKvStrategy> make_full(ParamReader&) {
  return std::make_unique<LambdaStrategy>(nlohmann::json::object(), [](KvLayout&, const StrategyContext&) {});
}

std::unique_ptr<IKvStrategy> make_mla(ParamReader&) {
  return std::make_unique<LambdaStrategy>(nlohmann::json::object(), [](KvLayout&, const StrategyContext& ctx) {
    if (!ctx.model.mla) {
      throw KvsimError(fmt::format("strategy 'mla': model {} has no MLA attention in its card (MLA needs a model "
                                   "trained with it, e.g. deepseek-v3)",
                                   ctx.model.name));
    }
  });
}

}  // namespace

void add_architecture_strategies(KvStrategyRegistry& r) {
  r.add({"full",
         "the model's own KV cache: every token, every layer, the card's dtype (MHA/GQA/MQA/MLA as the model has it)",
         "Shazeer, arXiv 1911.02150 (MQA); Ainslie et al., arXiv 2305.13245 (GQA)",
         {KvAxis::kSharing},
         {},
         {},
         make_full,
         /*is_model_cache=*/true});
  r.add({"mla",
         "multi-head latent attention from the model card: a (kv_lora_rank + rope) latent per token per layer",
         "DeepSeek-V2, arXiv 2405.04434; DeepSeek-V3, arXiv 2412.19437",
         {KvAxis::kSharing},
         {},
         {{"KV cache per token", "DeepSeek-V2 vs DeepSeek 67B", "-93.3% KV cache (MLA plus ~6-bit KV quantization)",
           "arXiv 2405.04434 abstract and section 3.2.3"}},
         make_mla,
         /*is_model_cache=*/true});
}

}  // namespace kvsim::kvstrat
