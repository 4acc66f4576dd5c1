// KV strategies of the width axis: fewer channels per cached token (key channel pruning, low-rank projections).
// Formulas: ../shared/kv-strategies.md §2.7 (ThinK), §3.6 (CSKV), §3.7 (MatryoshkaKV), §6 (width factors).
//
// All three act on per-head K/V channels and are rejected on MLA models (whose cache is already a latent).
// Widths are scaled on every group, so they compose with sharing (before) and with retention, precision and
// placement (after). Bytes kept outside the token pages (recent full-width windows, channel masks) are modelled
// as per-request fixed bytes at the cache's precision when the strategy applies (16-bit unless the model card's
// KV dtype is narrower); a precision strategy composed afterwards does not shrink them.
#include <fmt/format.h>

#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

void reject_mla(const StrategyContext& c, const std::string& name) {
  if (c.model.mla) {
    throw KvsimError(fmt::format("strategy '{}': model {} uses MLA, whose cache is already a shared latent; {} "
                                 "prunes or projects per-head K/V channels",
                                 name, c.model.name, name));
  }
}

// ThinK (§2.7): keys of all but the `recent` most recent tokens lose a fraction `lambda` of their channels.
std::unique_ptr<IKvStrategy> make_think(ParamReader& p) {
  const double lambda = p.get_fraction("pruning_ratio", 0.4);
  p.check(lambda < 1, "pruning_ratio", "must be below 1 (1 would prune every key channel)");
  const auto recent = p.get_non_negative<TokenCount>("recent_tokens", 32);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"pruning_ratio", lambda}, {"recent_tokens", recent}},
      [=](KvLayout& l, const StrategyContext& c) {
        reject_mla(c, "think");
        for (KvGroup& g : l.groups) {
          const double k_full = g.k_elems;
          g.k_elems = k_full * (1 - lambda);
          // The recent window keeps its pruned channels: recent * lambda * k_full elements per cache layer, plus
          // the channel mask (one bit per key channel) per layer.
          g.fixed_bytes += static_cast<double>(recent) * lambda * k_full * g.k_bits / 8.0 + k_full / 8.0;
          // QK runs on (1 - lambda) of the channels, PV on all: pair FLOPs (2(1-lambda) + 2) / 4 of full.
          g.attention_flops_scale *= 1 - lambda / 2;
          // Channel scores at prefill: the squared key summed per channel (2 FLOPs per key element).
          g.prefill_select_flops_per_token += 2.0 * k_full;
        }
      });
}

// CSKV (§3.6): K and V projected to low rank, r_k + r_v = (1 - compression) * 2 * H_kv * d, with a full-width
// window of recent tokens (bi-branch cache). The reference code (wln20/CSKV cskv_src/modeling/modeling_llama.py,
// LlamaAttentionForCSKV.forward) caches the compressed features before RoPE, and at every decode step rebuilds the K
// and V of every cached token (k_proj_b, v_proj_b: dense r x H_kv d maps) and applies RoPE to the rebuilt keys;
// nothing is absorbed into the queries, which RoPE would prevent for the keys. kvsim prices that rebuild
// (2 r_k H_kv d + 2 r_v H_kv d + 3 H_kv d FLOPs per token read) as fused into attention (no 16-bit copy written);
// `absorbed=true` models a kernel that folds the bases into the queries and the output instead (no rebuild), which
// the paper does not describe.
std::unique_ptr<IKvStrategy> make_cskv(ParamReader& p) {
  const double compression = p.get_fraction("compression", 0.8);
  p.check(compression < 1, "compression", "must be below 1 (1 would keep no channel)");
  const auto recent = p.get_non_negative<TokenCount>("recent_tokens", 32);
  const bool absorbed = p.get<bool>("absorbed", false);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"compression", compression}, {"recent_tokens", recent}, {"absorbed", absorbed}},
      [=](KvLayout& l, const StrategyContext& c) {
        reject_mla(c, "cskv");
        for (KvGroup& g : l.groups) {
          const double k_full = g.k_elems, v_full = g.v_elems;
          g.k_elems = k_full * (1 - compression);
          g.v_elems = v_full * (1 - compression);
          // Recent tokens held at full width: the dropped channels of `recent` tokens per cache layer.
          g.fixed_bytes += static_cast<double>(recent) * compression *
                           (k_full * g.k_bits + v_full * g.v_bits) / 8.0;
          // Attention itself runs on the rebuilt full-width K and V: its FLOPs are unchanged.
          if (!absorbed) g.reconstruct_flops_per_token += 2.0 * (g.k_elems * k_full + g.v_elems * v_full) + 3.0 * k_full;
        }
      },
      std::vector<std::string>{
          absorbed ? "absorbed=true: the bases are folded into the queries and the output, so nothing is rebuilt per "
                     "step; neither the paper nor its code does this (RoPE is applied to the rebuilt keys)"
                   : "the per-step rebuild of every cached token's K and V (reference code) is priced as fused into "
                     "attention; the reference writes the rebuilt 16-bit K and V and reads them back (not priced); "
                     "the recent full-width window is rebuilt too"});
}

// MatryoshkaKV (§3.7): orthogonal projections keep the first r dimensions of K and V per head; `compression`
// is the average fraction removed (heterogeneous per-layer ranks averaged).
std::unique_ptr<IKvStrategy> make_matryoshkakv(ParamReader& p) {
  const double compression = p.get_fraction("compression", 0.6);
  p.check(compression < 1, "compression", "must be below 1 (1 would keep no channel)");
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"compression", compression}}, [=](KvLayout& l, const StrategyContext& c) {
        reject_mla(c, "matryoshkakv");
        for (KvGroup& g : l.groups) {
          g.k_elems *= 1 - compression;
          g.v_elems *= 1 - compression;
          // Per-head projections absorbed into q and the output: QK and PV run on the kept dimensions.
          g.attention_flops_scale *= 1 - compression;
        }
      });
}

}  // namespace

void add_width_strategies(KvStrategyRegistry& r) {
  r.add({"think",
         "ThinK: prune pruning_ratio of the key channels per head (query-driven), except for the recent_tokens "
         "most recent tokens; values untouched (KV x (1 - lambda/2)); QK FLOPs shrink accordingly",
         "Xu et al., ThinK, arXiv 2407.21018 (ICLR 2025)",
         {KvAxis::kWidth},
         {num_param("pruning_ratio", 0.4, "fraction lambda of key channels pruned"),
          int_param("recent_tokens", 32, "most recent tokens whose keys stay unpruned")},
         {{"LongBench, Needle-in-a-Haystack", "LLaMA-3, Mistral",
           ">20% KV memory reduction vs vanilla eviction at equal or better accuracy", "arXiv 2407.21018 abstract"},
          {"peak memory and batch size (with KIVI)", "LLaMA-3, Mistral",
           "2.8x peak-memory reduction, up to 5x batch size on one GPU", "arXiv 2407.21018 abstract"}},
         make_think});
  r.add({"cskv",
         "CSKV channel shrinking: K and V cached pre-RoPE at (1 - compression) of their channels via low-rank "
         "projections, rebuilt to full width (and RoPE applied) at every decode step as the reference code does, "
         "with a full-width window of recent_tokens",
         "Wang et al., CSKV, arXiv 2409.10593",
         {KvAxis::kWidth},
         {num_param("compression", 0.8, "fraction of K+V channels removed (0.8 keeps 20%)"),
          int_param("recent_tokens", 32, "most recent tokens kept at full width"),
          bool_param("absorbed", false,
                     "bases folded into queries and output (no per-step rebuild; not in the paper or its code)")},
         {{"LongEval, LongBench, LVEval", "two 7B long-context models (LongChat / Mistral class)",
           "-80% KV memory preserving long-context ability; up to -95% with 4-bit QAT",
           "arXiv 2409.10593 abstract (models per secondary summary)"}},
         make_cskv});
  r.add({"matryoshkakv",
         "MatryoshkaKV: trained orthogonal projections keep on average (1 - compression) of the K and V dimensions "
         "per head (absorbed into queries and output)",
         "Lin et al., MatryoshkaKV, arXiv 2410.14731 (ICLR 2025)",
         {KvAxis::kWidth},
         {num_param("compression", 0.6, "average fraction of K and V dimensions removed (0.6 keeps 40%)")},
         {{"continual pre-training and SFT evaluations", "LLaMA2-7B-base, Mistral-7B-v0.3-base",
           ">90% of full-cache performance at 60% average KV compression, up to 75% in some scenarios",
           "arXiv 2410.14731 abstract"}},
         make_matryoshkakv});
}

}  // namespace kvsim::kvstrat
