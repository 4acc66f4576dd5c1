// KV strategies of the sharing axis: imposed attention maps (interleaved local/global, MixAttention,
// Character.AI) and cross-layer sharing or merging of caches (CLA, SwiftKV AcrossKV, MiniCache, xKV).
// Formulas: ../shared/kv-strategies.md §0.6 (cross-layer sharing), §1.4–§1.10.
//
// Conventions of this file:
//  - A group's `cache_layers` counts the distinct KV caches after sharing, `reader_layers` the layers attending to
//    them. Sharing cuts capacity, not decode traffic (§0.6): readers stay at the layer count unless the strategy's
//    `traffic_shared` is true, which sets readers = caches (a fused kernel or L2 keeps one read per cache).
//    Caveat: the cost model also prices attention FLOPs per reader layer, so `traffic_shared` under-counts FLOPs.
//  - Imposed maps (local-global, mixattention, character-ai) are built layer by layer (`MapLayer`) and replace the
//    model's own groups; per-group strategies (cla, swiftkv, minicache) work inside each group of the model
//    (e.g. Gemma's local and global layers separately), counting layers proportionally.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/kv/strategies/common.h"

namespace kvsim::kvstrat {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Layer maps.

// One layer of an imposed attention map: local (sliding window) or global, and the layer whose KV it reads
// (itself when it owns a cache).
struct MapLayer {
  bool local = false;
  int owner = 0;
};

// Every layer owns its cache; layer i is global iff `is_global(i)`.
template <class Pred>
std::vector<MapLayer> roles(int layers, Pred is_global) {
  std::vector<MapLayer> m(static_cast<std::size_t>(layers));
  for (int i = 0; i < layers; ++i) m[i] = {!is_global(i), i};
  return m;
}

// Local layers share one cache per `k` consecutive local layers; runs are cut by global layers.
void share_local_runs(std::vector<MapLayer>& m, int k) {
  int pos = 0, owner = 0;
  for (int i = 0; i < static_cast<int>(m.size()); ++i) {
    if (!m[i].local) {
      pos = 0;
      continue;
    }
    if (pos % k == 0) owner = i;
    m[i].owner = owner;
    ++pos;
  }
}

// Global layers, in depth order, share one cache per `k` of them (k <= 0: all share the first one's cache).
void share_globals(std::vector<MapLayer>& m, int k) {
  int pos = 0, owner = 0;
  for (int i = 0; i < static_cast<int>(m.size()); ++i) {
    if (m[i].local) continue;
    if (pos == 0 || (k > 0 && pos % k == 0)) owner = i;
    m[i].owner = owner;
    ++pos;
  }
}

// The group every imposed map starts from: the model's width and precision, all tokens kept.
KvGroup prototype(const KvLayout& l) {
  KvGroup g = l.groups.front();
  g.retention = Retention::kAll;
  g.window_tokens = g.sink_tokens = g.budget_tokens = 0;
  g.budget_fraction = 0;
  g.cache_layers = g.reader_layers = 0;
  return g;
}

// Replaces the layout's groups by one global and one local (window) group counted from `map`.
void apply_map(KvLayout& l, const KvGroup& proto, const std::vector<MapLayer>& map, TokenCount window,
               bool traffic_shared) {
  KvGroup global = proto, local = proto;
  global.name = "global";
  local.name = "local";
  local.retention = Retention::kWindow;
  local.window_tokens = window;
  for (int i = 0; i < static_cast<int>(map.size()); ++i) {
    KvGroup& g = map[i].local ? local : global;
    ++g.reader_layers;
    if (map[i].owner == i) ++g.cache_layers;
  }
  if (traffic_shared) {
    global.reader_layers = global.cache_layers;
    local.reader_layers = local.cache_layers;
  }
  l.groups.clear();
  if (global.cache_layers > 0) l.groups.push_back(global);
  if (local.cache_layers > 0) l.groups.push_back(local);
}

int round_count(double x) { return static_cast<int>(std::floor(x + 0.5)); }

int ceil_div(int a, int b) { return (a + b - 1) / b; }

void reject_mla(const StrategyContext& c, const std::string& name, const std::string& why) {
  if (c.model.mla) {
    throw KvsimError(fmt::format("strategy '{}': model {} uses MLA (one shared latent per layer); {}", name,
                                 c.model.name, why));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// local-global (§1.4)

std::unique_ptr<IKvStrategy> make_local_global(ParamReader& p) {
  const auto window = p.get_positive<TokenCount>("window_tokens", 1024);
  const auto per_global = p.get_positive<int>("local_per_global", 5);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"window_tokens", window}, {"local_per_global", per_global}},
      [=](KvLayout& l, const StrategyContext& c) {
        const int L = c.model.num_layers;
        if (per_global + 1 > L) {
          throw KvsimError(fmt::format("strategy 'local-global': local_per_global = {} leaves no global layer in "
                                       "the {} layers of {} (at most {})",
                                       per_global, L, c.model.name, L - 1));
        }
        // Gemma 3 pattern L..LG from layer 0: layer i is global iff (i + 1) % (k + 1) == 0.
        const auto map = roles(L, [&](int i) { return (i + 1) % (per_global + 1) == 0; });
        apply_map(l, prototype(l), map, window, false);
      });
}

// ---------------------------------------------------------------------------------------------------------------
// cla (§1.7)

std::unique_ptr<IKvStrategy> make_cla(ParamReader& p) {
  const int s = p.get_positive<int>("share_every_layers", 2);
  const bool traffic = p.get<bool>("traffic_shared", false);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"share_every_layers", s}, {"traffic_shared", traffic}},
      [=](KvLayout& l, const StrategyContext& c) {
        if (s > c.model.num_layers) {
          throw KvsimError(fmt::format("strategy 'cla': share_every_layers = {} exceeds the {} layers of {}", s,
                                       c.model.num_layers, c.model.name));
        }
        for (KvGroup& g : l.groups) {
          g.cache_layers = ceil_div(g.reader_layers, s);  // one producing layer per s consecutive layers
          if (traffic) g.reader_layers = g.cache_layers;
        }
      });
}

// ---------------------------------------------------------------------------------------------------------------
// swiftkv (§1.8)

std::unique_ptr<IKvStrategy> make_swiftkv(ParamReader& p) {
  const double f = p.get_fraction("single_input_fraction", 0.5);
  const int k = p.get_positive<int>("across_kv_layers", 2);
  const bool traffic = p.get<bool>("traffic_shared", false);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"single_input_fraction", f}, {"across_kv_layers", k}, {"traffic_shared", traffic}},
      [=](KvLayout& l, const StrategyContext& c) {
        const int single = round_count(f * c.model.num_layers);
        if (k > single) {
          throw KvsimError(fmt::format("strategy 'swiftkv': across_kv_layers = {} exceeds the {} SingleInputKV "
                                       "layers (single_input_fraction {} of {} layers)",
                                       k, single, f, c.model.num_layers));
        }
        // L_kv = (1-f)L + fL/k, per group (the last fraction f of each group's layers merged k at a time).
        for (KvGroup& g : l.groups) {
          const int n = g.reader_layers;
          const int merged = round_count(f * n);
          g.cache_layers = (n - merged) + ceil_div(merged, k);
          if (traffic) g.reader_layers = g.cache_layers;
        }
      });
}

// ---------------------------------------------------------------------------------------------------------------
// minicache (§1.9)

std::unique_ptr<IKvStrategy> make_minicache(ParamReader& p) {
  const double start = p.get_non_negative<double>("start_fraction", 0.5);
  p.check(start < 1, "start_fraction", fmt::format("must be in [0, 1), got {}", start));
  const double rho = p.get_non_negative<double>("retained_fraction", 0.05);
  p.check(rho < 1, "retained_fraction", fmt::format("must be in [0, 1), got {}", rho));
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"start_fraction", start}, {"retained_fraction", rho}},
      [=](KvLayout& l, const StrategyContext& c) {
        reject_mla(c, "minicache", "MiniCache merges per-head K/V vectors of adjacent layers");
        const double d = c.model.head_dim;
        // Per head of a merged pair, for K and for V: one direction (d) + two magnitudes + retained tokens of both
        // layers unmerged (rho * 2d), vs 2d for the two layers unmerged.
        const double per_head = d + 2 + rho * 2 * d;
        if (per_head >= 2 * d) {
          throw KvsimError(fmt::format("strategy 'minicache': retained_fraction = {} makes a merged pair ({} "
                                       "elements per head) no smaller than two unmerged layers ({})",
                                       rho, per_head, 2 * d));
        }
        std::vector<KvGroup> out;
        int pairs_total = 0;
        for (const KvGroup& g : l.groups) {
          const int n = g.reader_layers;
          const int first = round_count(start * n);  // layers [first, n) are merged in adjacent pairs
          const int pairs = (n - first) / 2;
          pairs_total += pairs;
          KvGroup kept = g;
          kept.cache_layers = kept.reader_layers = n - 2 * pairs;  // below the start layer, plus an odd last one
          if (kept.cache_layers > 0) out.push_back(kept);
          if (pairs == 0) continue;
          KvGroup m = g;
          m.name = g.name + " (merged pairs)";
          m.cache_layers = pairs;
          m.reader_layers = 2 * pairs;
          const double k_heads = g.k_elems / d, v_heads = g.v_elems / d;
          m.k_elems = k_heads * per_head;
          m.v_elems = v_heads * per_head;
          // Each layer of the pair restores its own states (paper Fig. 3b: magnitude rescaling and retention-token
          // recovery per layer): per head it reads the shared direction and its own magnitude for the merged tokens
          // and its own unmerged vector for the retained ones, (1 - rho)(d + 1) + rho d = d + 1 - rho elements,
          // never its partner's magnitudes or retained tokens. That is 1/d above an unmerged layer's d (the
          // magnitude) and well below the pair's whole storage.
          m.read_fraction = (d + 1 - rho) / per_head;
          // One int32 token index per retained token (shared by the pair's heads).
          m.extra_bytes_per_token += rho * 4.0;
          // Restore at attention time: rescale the direction by each layer's magnitude (1 FLOP per element).
          m.reconstruct_flops_per_token += g.k_elems + g.v_elems;
          // Merge on append: two norms, the angle and the SLERP combination, about 10 FLOPs per element of a pair.
          m.prefill_select_flops_per_token += 10.0 * (g.k_elems + g.v_elems);
          out.push_back(m);
        }
        if (pairs_total == 0) {
          throw KvsimError(fmt::format("strategy 'minicache': start_fraction = {} leaves no pair of layers to merge "
                                       "in {}",
                                       start, c.model.name));
        }
        l.groups = std::move(out);
      },
      std::vector<std::string>{
          "retained tokens are a fixed fraction (retained_fraction); the paper retains the token pairs whose angle "
          "exceeds a threshold (gamma), a data-dependent number"});
}

// ---------------------------------------------------------------------------------------------------------------
// xkv (§1.10)

std::unique_ptr<IKvStrategy> make_xkv(ParamReader& p) {
  const int group = p.get_positive<int>("layer_group_size", 4);
  const int rank_k = p.get_positive<int>("rank_k", 384);
  const int rank_v = p.get_positive<int>("rank_v", 576);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"layer_group_size", group}, {"rank_k", rank_k}, {"rank_v", rank_v}},
      [=](KvLayout& l, const StrategyContext& c) {
        reject_mla(c, "xkv", "xKV on MLA compresses only the non-RoPE latent, which is not modelled");
        const int L = c.model.num_layers;
        if (group > L) {
          throw KvsimError(fmt::format("strategy 'xkv': layer_group_size = {} exceeds the {} layers of {}", group,
                                       L, c.model.name));
        }
        const double width = static_cast<double>(c.model.num_kv_heads) * c.model.head_dim;  // H_kv * d
        for (const auto& [key, r] : {std::pair{"rank_k", rank_k}, std::pair{"rank_v", rank_v}}) {
          if (r > group * width) {
            throw KvsimError(fmt::format("strategy 'xkv': {} = {} exceeds the concatenated width of {} layers "
                                         "(layer_group_size x H_kv x d = {})",
                                         key, r, group, group * width));
          }
        }
        for (KvGroup& g : l.groups) {
          // Part of the full width held on this GPU (1 without tensor parallelism).
          const double shard = g.k_elems / width;
          // Per token per layer (r_k + r_v) / G coefficients; per request per layer the basis share
          // (r_k + r_v) * H_kv * d (the group's basis (r_k + r_v) * G * H_kv * d over its G layers), 16-bit.
          g.k_elems = shard * rank_k / group;
          g.v_elems = shard * rank_v / group;
          g.fixed_bytes += shard * (rank_k + rank_v) * width * 2.0;
          // Dense reconstruction at decode: 2 (r_k + r_v) G H_kv d FLOPs per context token per group, i.e.
          // 2 (r_k + r_v) H_kv d per token per reader layer.
          g.reconstruct_flops_per_token += shard * 2.0 * (rank_k + rank_v) * width;
          // The prefill SVD of the group's [S, G H_kv d] keys and values, as xKV's engine runs it
          // (torch.svd_lowrank with q = rank and its default 2 power iterations, xKV_SR/models/kv_cache_xkv.py): the
          // range finder's matrix products cost (2 niter + 2) * 2 S n q = 12 S n q and its QR steps about
          // (niter + 1) * 4 S q^2 = 12 S q^2, with n = G H_kv d. Per prompt token per cache layer (one G-th of a
          // group): 12 H_kv d r + 12 r^2 / G for each of r_k and r_v, with this GPU's share of the width and of
          // the rank. The S-independent terms (QR of the n x q factor, the small SVD) are left out.
          for (const double r : {shard * rank_k, shard * rank_v}) {
            g.prefill_select_flops_per_token += 12.0 * shard * width * r + 12.0 * r * r / group;
          }
        }
      },
      std::vector<std::string>{
          "the prefill SVD is priced at the tensor-core rate; xKV's engine runs torch.svd_lowrank on fp32 copies, "
          "which without TF32 run on the CUDA cores (about 15x slower on an H100)"});
}

// ---------------------------------------------------------------------------------------------------------------
// mixattention (§1.6)

// Standard-attention (global) layers of one MixAttention configuration for an L-layer model, and how many of them
// share one KV (0 = all share the first one's KV). The paper's models have 24 layers; positions scale with L.
struct MixConfig {
  const char* name;
  const char* layers;  // description for the help text
  std::vector<int> (*standard)(int L);
  int standard_share;
};

const std::array<MixConfig, 4> kMixConfigs = {{
    {"ma", "standard layers 0, L/2 and L-1 reading one KV computed at layer 0",
     [](int L) { return std::vector<int>{0, L / 2, L - 1}; }, 0},
    {"ma-endslide", "as ma with the last layer sliding-window: standard layers 0 and L/2, one KV",
     [](int L) { return std::vector<int>{0, L / 2}; }, 0},
    {"ma-offset", "standard layers L/4, L/2 and L-1 reading one KV computed at layer L/4",
     [](int L) { return std::vector<int>{L / 4, L / 2, L - 1}; }, 0},
    {"ma-pairs", "standard layers L/4, L/4+1, L-2, L-1 in two pairs, one KV per pair",
     [](int L) { return std::vector<int>{L / 4, L / 4 + 1, L - 2, L - 1}; }, 2},
}};

std::string mix_config_names() {
  std::string s;
  for (const MixConfig& m : kMixConfigs) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s;
}

std::unique_ptr<IKvStrategy> make_mixattention(ParamReader& p) {
  const std::string name = p.get<std::string>("config", "ma");
  const MixConfig* cfg = nullptr;
  for (const MixConfig& m : kMixConfigs) {
    if (name == m.name) cfg = &m;
  }
  p.check(cfg != nullptr, "config", fmt::format("unknown MixAttention configuration '{}'; valid: {}", name,
                                                mix_config_names()));
  const auto window = p.get_positive<TokenCount>("window_tokens", 1024);
  const int swa_share = p.get_positive<int>("swa_share_layers", 3);
  const bool traffic = p.get<bool>("traffic_shared", false);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"config", name},
                     {"window_tokens", window},
                     {"swa_share_layers", swa_share},
                     {"traffic_shared", traffic}},
      [=](KvLayout& l, const StrategyContext& c) {
        const int L = c.model.num_layers;
        if (L < 8) {
          throw KvsimError(fmt::format("strategy 'mixattention': needs at least 8 layers to place the standard "
                                       "layers of '{}', {} has {}",
                                       name, c.model.name, L));
        }
        const std::vector<int> standard = cfg->standard(L);
        auto map = roles(L, [&](int i) { return std::find(standard.begin(), standard.end(), i) != standard.end(); });
        share_globals(map, cfg->standard_share);
        share_local_runs(map, swa_share);
        apply_map(l, prototype(l), map, window, traffic);
      });
}

// ---------------------------------------------------------------------------------------------------------------
// character-ai (§1.5)

std::unique_ptr<IKvStrategy> make_character_ai(ParamReader& p) {
  const auto window = p.get_positive<TokenCount>("window_tokens", 1024);
  const int per_global = p.get_positive<int>("local_per_global", 5);
  const int local_share = p.get_positive<int>("local_share_layers", 3);
  const int global_share = p.get_positive<int>("global_share_layers", 2);
  const bool traffic = p.get<bool>("traffic_shared", false);
  return std::make_unique<LambdaStrategy>(
      nlohmann::json{{"window_tokens", window},
                     {"local_per_global", per_global},
                     {"local_share_layers", local_share},
                     {"global_share_layers", global_share},
                     {"traffic_shared", traffic}},
      [=](KvLayout& l, const StrategyContext& c) {
        reject_mla(c, "character-ai", "the Character.AI stack is MQA (one K/V head), not a latent");
        const int L = c.model.num_layers;
        if (per_global + 1 > L) {
          throw KvsimError(fmt::format("strategy 'character-ai': local_per_global = {} leaves no global layer in "
                                       "the {} layers of {}",
                                       per_global, L, c.model.name));
        }
        auto map = roles(L, [&](int i) { return (i + 1) % (per_global + 1) == 0; });
        share_local_runs(map, local_share);
        share_globals(map, global_share);
        KvGroup proto = prototype(l);
        // MQA: one K and one V head of head_dim elements, replicated on every TP rank.
        proto.k_elems = proto.v_elems = c.model.head_dim;
        apply_map(l, proto, map, window, traffic);
      });
}

}  // namespace

void add_sharing_strategies(KvStrategyRegistry& r) {
  r.add({"local-global",
         "interleaved attention imposed on the model: local_per_global sliding-window layers (window_tokens) then "
         "one global layer, repeated from layer 0 (Gemma 3: L..LG); replaces the model's own pattern",
         "Gemma 2, arXiv 2408.00118; Gemma 3, arXiv 2503.19786",
         {KvAxis::kSharing},
         {int_param("window_tokens", 1024, "tokens kept by each local layer"),
          int_param("local_per_global", 5, "local layers before each global layer")},
         {{"KV memory overhead at 32K context", "Gemma 3 (small model)",
           "KV overhead ~60% of memory (global only) -> <15% (5:1, window 1024)",
           "Gemma 3 technical report, figure (recalled, not re-read: kv-strategies.md §1.4)"}},
         make_local_global});
  r.add({"cla",
         "Cross-Layer Attention: one layer in every share_every_layers consecutive layers computes K/V, the others "
         "reuse it (cache layers = ceil(L/s) per group); decode reads unchanged unless traffic_shared",
         "Brandon et al., Cross-Layer Attention, arXiv 2405.12981 (NeurIPS 2024)",
         {KvAxis::kSharing},
         {int_param("share_every_layers", 2, "layers per distinct KV cache s (CLA2: 2, CLA3: 3)"),
          bool_param("traffic_shared", false, "each cache read once per step for all its layers (fused kernel)")},
         {{"validation perplexity, memory/accuracy Pareto", "1B and 3B models trained from scratch (with MQA)",
           "KV cache another 2x smaller than MQA at nearly the same accuracy", "arXiv 2405.12981 abstract"}},
         make_cla});
  r.add({"swiftkv",
         "SwiftKV AcrossKV: in the last single_input_fraction of the layers, across_kv_layers adjacent layers share "
         "one KV (L_kv = (1-f)L + fL/k); the SingleInputKV prefill compute saving is not modelled by the layout",
         "Qiao et al., SwiftKV, arXiv 2410.03960 (Snowflake)",
         {KvAxis::kSharing},
         {num_param("single_input_fraction", 0.5, "fraction f of the layers (the last ones) under SingleInputKV"),
          int_param("across_kv_layers", 2, "adjacent layers k sharing one KV among them"),
          bool_param("traffic_shared", false, "each cache read once per step for all its layers (fused kernel)")},
         {{"throughput and memory", "Llama-3.1-8B and 70B (vLLM)",
           "prefill compute -50%, up to 2x aggregate throughput, -60% time per output token",
           "arXiv 2410.03960 abstract"},
          {"KV memory", "Llama-3.1-8B and 70B",
           "-62.5% KV memory: AcrossKV over 2 layers (-25%, this strategy at its defaults) with an FP8 KV cache "
           "(0.75 x 0.5 = 0.375 kept; swiftkv+fp8 in kvsim)",
           "arXiv 2410.03960 v1/v2 abstract; the configuration is derived (kv-strategies.md §1.8)"}},
         make_swiftkv});
  r.add({"minicache",
         "MiniCache: from layer start_fraction*L on, adjacent layer pairs store one SLERP direction + 2 magnitudes "
         "per head plus retained_fraction of tokens unmerged (d + 2 + 2*rho*d vs 2d elements, K and V)",
         "Liu et al., MiniCache, arXiv 2405.14366 (NeurIPS 2024)",
         {KvAxis::kSharing},
         {num_param("start_fraction", 0.5, "first merged layer as a fraction of the layers (L/2)"),
          num_param("retained_fraction", 0.05, "fraction rho of tokens kept unmerged for both layers")},
         {{"ShareGPT", "LLaMA-2-7B",
           "1.53x compression from cross-layer merging alone, up to 5.02x with 4-bit; ~5x throughput, -41% memory",
           "arXiv 2405.14366 abstract and secondary summaries (kv-strategies.md §1.9)"}},
         make_minicache});
  r.add({"xkv",
         "xKV: SVD of the K (and V) of layer_group_size consecutive layers; per token per layer (rank_k + rank_v) / "
         "G coefficients plus a per-request basis; dense reconstruction at decode",
         "Chang et al., xKV, arXiv 2503.18893; github abdelfattah-lab/xKV",
         {KvAxis::kSharing, KvAxis::kWidth},
         {int_param("layer_group_size", 4, "consecutive layers G sharing one SVD basis"),
          int_param("rank_k", 384, "rank of the keys per group"),
          int_param("rank_v", 576, "rank of the values per group")},
         {{"RULER", "Llama-3.1-8B, Qwen2.5-14B-1M",
           "up to 6.8x higher compression than MiniCache with +2.7% accuracy (v1); up to 8x compression (v2)",
           "arXiv 2503.18893 abstract (v1, v2)"}},
         make_xkv});
  r.add({"mixattention",
         "MixAttention layer maps (config ma, ma-endslide, ma-offset, ma-pairs): a few standard-attention layers "
         "sharing one KV (ma-pairs: two), the rest sliding-window (window_tokens) with one KV per swa_share_layers "
         "consecutive layers; maps are kvsim's reading of Figure 2 of arXiv 2409.15012 as kv-strategies.md §1.6 "
         "describes it (positions scaled from 24 layers, not re-verified)",
         "Rajput et al., Inference-Friendly Models With MixAttention, arXiv 2409.15012; Databricks blog",
         {KvAxis::kSharing},
         {{"config", "string", "ma",
           "ma: standard layers 0, L/2, L-1 share the KV of layer 0; ma-endslide: as ma, last layer sliding; "
           "ma-offset: standard layers L/4, L/2, L-1 share the KV of layer L/4; ma-pairs: standard layers "
           "L/4, L/4+1 and L-2, L-1, one KV per pair"},
          int_param("window_tokens", 1024, "tokens kept by each sliding-window KV"),
          int_param("swa_share_layers", 3, "consecutive sliding-window layers sharing one KV"),
          bool_param("traffic_shared", false, "each cache read once per step for all its layers (fused kernel)")},
         {{"short- and long-context evals (incl. RULER)", "MoE, ~2B active / ~5B total, 32K context",
           "short-context quality kept, some long-context metrics degrade; standard KV in deeper layers "
           "(ma-offset, ma-pairs) helps long context; results only as bar charts",
           "arXiv 2409.15012 and Databricks blog (recalled: kv-strategies.md §1.6)"}},
         make_mixattention});
  r.add({"character-ai",
         "Character.AI-style stack: MQA (one K/V head), local attention (window_tokens) on local_per_global of "
         "every local_per_global+1 layers, local KV shared by local_share_layers neighbours and global KV by "
         "global_share_layers global layers (layer map assumed: the blog does not publish it)",
         "Character.AI, Optimizing AI Inference, research.character.ai/optimizing-inference (June 2024)",
         {KvAxis::kSharing},
         {int_param("window_tokens", 1024, "tokens kept by each local KV"),
          int_param("local_per_global", 5, "local layers before each global layer"),
          int_param("local_share_layers", 3, "consecutive local layers sharing one KV"),
          int_param("global_share_layers", 2, "global layers (in depth order) sharing one KV"),
          bool_param("traffic_shared", false, "each cache read once per step for all its layers (fused kernel)")},
         {{"production quality and serving cost", "Character.AI production models",
           ">20x KV cache reduction without regressing quality (MQA alone 8x vs GQA)",
           "Character.AI blog, June 2024"}},
         make_character_ai});
}

}  // namespace kvsim::kvstrat
