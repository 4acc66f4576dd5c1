// Measured kernel cost model (see measured.h).
#include "models/cost/impl/measured.h"

#include "models/cost/impl/calibrated.h"

#include <cmath>

#include <fmt/format.h>

namespace kvsim {

MeasuredCostModel::MeasuredCostModel(const Profile& p, const GpuSpec& gpu, const RooflineParams& fallback,
                                     nlohmann::json params)
    : fallback_(fallback, gpu), params_(std::move(params)) {
  for (const GemmPoint& g : p.gemm) {
    if (g.dtype == "bf16") gemm_.add({static_cast<double>(g.m), static_cast<double>(g.n), static_cast<double>(g.k)}, g.seconds);
  }
  gemm_.finalize();
  for (const DecodeAttentionPoint& d : p.decode_attention) {
    const AttnKey key{d.q_heads, d.kv_heads, d.head_dim, dtype_bits(d.kv_dtype)};
    decode_.try_emplace(key, 2).first->second.add({static_cast<double>(d.batch), static_cast<double>(d.kv_len), 0},
                                                   d.seconds);
  }
  for (auto& [key, grid] : decode_) grid.finalize();
  for (const PrefillAttentionPoint& a : p.prefill_attention) {
    if (a.cached != 0 || dtype_bits(a.kv_dtype) != 16) continue;
    const AttnKey key{a.q_heads, a.kv_heads, a.head_dim, 16};
    prefill_.try_emplace(key, 2).first->second.add({static_cast<double>(a.batch), static_cast<double>(a.isl), 0},
                                                    a.seconds);
  }
  for (auto& [key, grid] : prefill_) grid.finalize();
  for (const CollectivePoint& r : p.all_reduce) {
    if (dtype_bits(r.dtype) != 16) continue;  // the engine all-reduces 16-bit activations
    all_reduce_.try_emplace(r.gpus, 1).first->second.add({r.bytes, 0, 0}, r.seconds);
  }
  for (auto& [gpus, grid] : all_reduce_) grid.finalize();
  for (const CollectivePoint& r : p.all_to_all) {
    if (dtype_bits(r.dtype) != 16) continue;  // experts' inputs and outputs are 16-bit activations
    all_to_all_.try_emplace(r.gpus, 1).first->second.add({r.bytes, 0, 0}, r.seconds);
  }
  for (auto& [gpus, grid] : all_to_all_) grid.finalize();
  for (const MoePoint& x : p.moe) {
    if (dtype_bits(x.dtype) != 16) continue;  // 16-bit expert weights only (OpShape::weight_bits)
    const MoeKey key{x.hidden, x.intermediate, x.experts, x.topk};
    moe_.try_emplace(key, 1).first->second.add({static_cast<double>(x.tokens), 0, 0}, x.seconds);
  }
  for (auto& [key, grid] : moe_) grid.finalize();
}

CostEstimate MeasuredCostModel::from_grid(const KernelOp& op, const LogGrid* grid, const std::array<double, 3>& at,
                                          double scale, double calls) const {
  const CostEstimate roof = fallback_.estimate(op);
  if (grid == nullptr) return roof;
  for (double x : at) {
    if (x < 0) return roof;
  }
  const LogGrid::Result r = grid->at(at);
  if (!r.found) return roof;
  CostEstimate e = roof;  // FLOPs, bytes and the bound come from the op's arithmetic
  e.seconds = r.seconds * scale * calls;
  e.source = r.exact && scale == 1.0 ? Source::kMeasured : r.inside ? Source::kInterpolated : Source::kExtrapolated;
  return e;
}

CostEstimate MeasuredCostModel::estimate_moe(const KernelOp& op) const {
  const OpShape& s = op.shape;
  // The table is keyed by integer sizes: an expert width that TP does not divide evenly was never measured.
  const auto whole = [](double x) { return x >= 1 && x < 2e9 && x == std::floor(x); };
  if (s.m <= 0 || s.weight_bits != 16 || !whole(s.k) || !whole(s.n)) return fallback_.estimate(op);
  const auto it = moe_.find({static_cast<int>(s.k), static_cast<int>(s.n), s.experts, s.topk});
  if (it == moe_.end()) return fallback_.estimate(op);
  return from_grid(op, &it->second, {s.m, 1.0, 1.0}, s.share, op.launches / kMoeLaunchesPerLayer);
}

CostEstimate MeasuredCostModel::estimate(const KernelOp& op) const {
  const OpShape& s = op.shape;
  switch (op.kind) {
    case OpKind::kGemm:
      if (op.id == OpId::kGemmMoeExperts) return estimate_moe(op);
      if (op.id == OpId::kKvReconstruct || s.m <= 0) return fallback_.estimate(op);
      return from_grid(op, &gemm_, {s.m, s.n, s.k}, 1.0, op.launches);
    case OpKind::kAttentionDecode: {
      const auto it = decode_.find({s.q_heads, s.kv_heads, s.head_dim, static_cast<int>(s.kv_bits)});
      if (it == decode_.end() || s.batch <= 0) return fallback_.estimate(op);
      return from_grid(op, &it->second, {s.batch, std::max(1.0, s.kv_len), 1.0}, 1.0, op.launches);
    }
    case OpKind::kAttentionPrefill: {
      const auto it = prefill_.find({s.q_heads, s.kv_heads, s.head_dim, 16});
      if (it == prefill_.end() || s.batch <= 0 || s.tokens <= 0) return fallback_.estimate(op);
      // Cached context: the time of the no-cache chunk that attends to as many (query, key) pairs, n (n + 1) / 2 =
      // tokens x kv_len + tokens (tokens + 1) / 2 (the tables hold no cached context). Scaling the same chunk's
      // time by the pair ratio instead scaled its launch latency too: one 16-token block over a 600-token cached
      // prefix (a prefix-cache hit) came out 72 times its no-cache time, 2 ms a layer.
      const double pairs = s.tokens * s.kv_len + s.tokens * (s.tokens + 1) / 2;
      const double equivalent = (std::sqrt(8 * pairs + 1) - 1) / 2;
      return from_grid(op, &it->second, {s.batch, equivalent, 1.0}, 1.0, op.launches);
    }
    case OpKind::kAllReduce:
    case OpKind::kAllToAll: {
      if (op.link_Bps > 0) return fallback_.estimate(op);  // off the NVLink domain the tables measured
      const auto& grids = op.kind == OpKind::kAllReduce ? all_reduce_ : all_to_all_;
      const auto it = grids.find(op.tp);
      if (it == grids.end() || s.message_bytes <= 0) return fallback_.estimate(op);
      return from_grid(op, &it->second, {s.message_bytes, 1.0, 1.0}, 1.0, op.launches);
    }
    default:
      return fallback_.estimate(op);
  }
}

std::vector<ParamDoc> MeasuredCostModel::docs() { return profile_source_docs(); }

std::unique_ptr<IKernelCostModel> MeasuredCostModel::create(ParamReader& r, const GpuSpec& gpu,
                                                            const std::filesystem::path& base_dir) {
  nlohmann::json params = nlohmann::json::object();
  std::optional<Profile> profile = read_profile_source(r, gpu, base_dir, params);
  r.check(profile.has_value(), "profile",
          "the measured backend needs measurements: profile (a kvsim profile JSON) or aiconfigurator (a folder)");
  const RooflineParams fallback = RooflineParams::read(r);
  return std::make_unique<MeasuredCostModel>(*profile, gpu, fallback, std::move(params));
}

}  // namespace kvsim
