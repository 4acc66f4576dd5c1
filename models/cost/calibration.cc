// Calibrated roofline fitting (see calibration.h).
#include "models/cost/calibration.h"

#include <algorithm>
#include <cmath>

#include <stdexcept>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "models/cost/impl/roofline.h"
#include "models/cost/single_op.h"
#include "sim/core/error.h"
#include "sim/core/param_reader.h"

namespace kvsim {

std::string_view family_name(OpFamily f) {
  switch (f) {
    case OpFamily::kGemm: return "gemm";
    case OpFamily::kDecodeAttention: return "decode_attention";
    case OpFamily::kPrefillAttention: return "prefill_attention";
    case OpFamily::kAllReduce: return "all_reduce";
    case OpFamily::kMoeExperts: return "moe_experts";
  }
  return "?";
}

namespace {
constexpr double kTile = 128.0;   // GEMM output tile edge
constexpr double kMoeTile = 64.0;  // fused-MoE grouped-GEMM tile edge (rows of one expert's tokens, columns)
}  // namespace

std::vector<MeasuredOp> measured_ops(const Profile& p) {
  std::vector<MeasuredOp> out;
  for (const GemmPoint& g : p.gemm) {
    if (g.dtype != "bf16") continue;
    out.push_back({OpFamily::kGemm, gemm_op(static_cast<double>(g.m), static_cast<double>(g.n),
                                            static_cast<double>(g.k)),
                   g.seconds});
  }
  for (const DecodeAttentionPoint& d : p.decode_attention) {
    OpShape s;
    s.batch = static_cast<double>(d.batch);
    s.kv_len = static_cast<double>(d.kv_len);
    s.q_heads = d.q_heads;
    s.kv_heads = d.kv_heads;
    s.head_dim = d.head_dim;
    s.kv_bits = dtype_bits(d.kv_dtype);
    out.push_back({OpFamily::kDecodeAttention, decode_attention_op(s), d.seconds});
  }
  for (const PrefillAttentionPoint& a : p.prefill_attention) {
    if (dtype_bits(a.kv_dtype) != 16) continue;
    OpShape s;
    s.batch = static_cast<double>(a.batch);
    s.tokens = static_cast<double>(a.isl);
    s.kv_len = static_cast<double>(a.cached);
    s.q_heads = a.q_heads;
    s.kv_heads = a.kv_heads;
    s.head_dim = a.head_dim;
    out.push_back({OpFamily::kPrefillAttention, prefill_attention_op(s), a.seconds});
  }
  for (const CollectivePoint& r : p.all_reduce) {
    if (r.dtype != "bf16" && r.dtype != "fp16") continue;
    out.push_back({OpFamily::kAllReduce, all_reduce_op(r.bytes, r.gpus), r.seconds});
  }
  for (const MoePoint& x : p.moe) {
    if (dtype_bits(x.dtype) != 16) continue;
    out.push_back({OpFamily::kMoeExperts,
                   moe_experts_op(static_cast<double>(x.tokens), x.hidden, x.intermediate, x.experts, x.topk, 2.0),
                   x.seconds});
  }
  return out;
}

bool op_family(const KernelOp& op, OpFamily& family) {
  switch (op.kind) {
    case OpKind::kGemm:
      // The fused MoE experts (two grouped GEMMs over the routed tokens) are not one GEMM: their own family.
      if (op.id == OpId::kGemmMoeExperts) {
        const OpShape& s = op.shape;
        family = OpFamily::kMoeExperts;
        return s.m > 0 && s.k > 0 && s.n > 0 && s.experts > 0 && s.topk > 0 && s.topk <= s.experts &&
               s.weight_bits == 16;
      }
      if (op.shape.m <= 0) return false;
      family = OpFamily::kGemm;
      return true;
    case OpKind::kAttentionDecode: family = OpFamily::kDecodeAttention; return op.shape.batch > 0;
    case OpKind::kAttentionPrefill: family = OpFamily::kPrefillAttention; return op.shape.batch > 0;
    case OpKind::kAllReduce: family = OpFamily::kAllReduce; return op.shape.message_bytes > 0;
    default: return false;
  }
}

Features::Features(std::initializer_list<double> values) {
  if (values.size() > kMax) throw std::logic_error("more calibration features than Features::kMax");
  for (double x : values) v_[n_++] = x;
}

double Features::at(std::size_t i) const {
  if (i >= n_) throw std::out_of_range(fmt::format("calibration feature {} of {}", i, n_));
  return v_[i];
}

FeatureCard::FeatureCard(const GpuSpec& gpu)
    : peak_bf16_flops(gpu.flops_for("bf16")),
      memory_Bps(gpu.hbm_bandwidth_Bps),
      clock_Hz(gpu.clock_Hz()),
      sm_count(gpu.sm_count),
      l2_bytes(gpu.l2_bytes),
      fp32_flops(gpu.fp32_flops),
      link_Bps(gpu.nvlink_bandwidth_Bps > 0 ? gpu.nvlink_bandwidth_Bps : gpu.pcie_bandwidth_Bps) {}

Features calibration_features(OpFamily family, const KernelOp& op, const FeatureCard& gpu, bool latency_in_cycles) {
  const double peak = gpu.peak_bf16_flops, bw = gpu.memory_Bps;
  // The fixed latency in clock cycles (seconds per cycle x 1e9, ~0.5; see calibration.h). All-reduce keeps 1: its
  // latency is the links' and the other GPUs', not one GPU's clock.
  const double one = latency_in_cycles ? 1e9 / gpu.clock_Hz : 1.0;
  const OpShape& s = op.shape;
  // Per-launch FLOPs and bytes (ops built from shapes have one launch; iteration ops sum over launches).
  const double launches = std::max(1.0, op.launches);
  const double f = op.flops / launches / peak, b = op.bytes / launches / bw;
  switch (family) {
    case OpFamily::kGemm: {
      const double tiles = std::ceil(s.m / kTile) * std::ceil(s.n / kTile);
      const double sms = gpu.sm_count, waves = std::ceil(tiles / sms);
      // The weights' memory time scaled by the share of them that L2 cannot hold: a benchmark repeating a GEMM
      // whose weights fit in L2 reads them from L2 at up to several times the memory bandwidth (the RTX PRO 6000's
      // 128 MiB hold every 4096 x 14336 bf16 matrix), a GEMM with larger weights streams them from memory; a card
      // without l2_cache_MiB counts every weight as streamed.
      const double weights = s.n * s.k * (s.weight_bits > 0 ? s.weight_bits : 16) / 8.0;
      const double beyond_l2 = gpu.l2_bytes > 0 ? std::min(1.0, weights / gpu.l2_bytes) : 1.0;
      return {one, f, b, std::max(f, b), waves * sms * kTile * kTile * 2.0 * s.k / peak, weights / bw * beyond_l2};
    }
    case OpFamily::kDecodeAttention: {
      // Split-K decode kernels run ceil(batch * kv_heads / SMs) waves of CTAs; sqrt terms follow the measured
      // sub-linear growth of small launches. Quantized KV adds its dequantization on the CUDA cores (the roofline's
      // instruction counts at the full issue rate; the fit finds the achieved rate).
      const double waves = std::ceil(s.batch * std::max(1, s.kv_heads) / gpu.sm_count);
      static const RooflineParams kDefaults;
      const double dequant =
          op.dequant_elements / launches * kDefaults.dequant_instructions(s.kv_bits) / (gpu.fp32_flops / 2.0);
      const double len = s.batch * s.kv_len / 1e6;
      // A regime of its own (memory time and fixed cost) when the KV does not fit in L2: a benchmark repeating a
      // decode step over KV that fits reads it from L2 (the RTX PRO 6000's table, Llama-3.1-8B heads: up to 2.4 TB/s
      // below 128 MiB of KV, 1.35-1.5 TB/s above; without these terms its fit priced the KV beyond L2 26 % fast).
      const double beyond_l2 = gpu.l2_bytes > 0 && op.bytes / launches <= gpu.l2_bytes ? 0.0 : 1.0;
      return {one,    s.batch, b, f, len, std::sqrt(s.kv_len) * 1e-6, std::sqrt(s.batch) * 1e-6, waves * 1e-6, dequant,
              b * beyond_l2, one * beyond_l2};
    }
    case OpFamily::kPrefillAttention: return {one, s.batch, f, b, std::max(f, b)};
    case OpFamily::kAllReduce: {
      const double g = std::max(2, op.tp);
      const double link = gpu.link_Bps;
      return {1.0, std::log2(g), 2.0 * (g - 1) / g * s.message_bytes / link};
    }
    case OpFamily::kMoeExperts: {
      // One layer from its shape (see calibration.h); not op.flops / op.bytes, whose weight bytes assume uniform
      // random routing.
      const double T = s.m, h = s.k, I = s.n, E = std::max(1, s.experts), k = std::max(1, s.topk);
      const double touched = std::min(E, T * k);
      const double flops = 2.0 * T * k * 3.0 * h * I / peak;
      const double weights = touched * 3.0 * h * I * s.weight_bits / 8.0 / bw;
      const double acts = T * k * (2.0 * h + 3.0 * I) * 2.0 / bw;
      const double row_tiles = touched * std::ceil(T * k / touched / kMoeTile);
      const double sms = gpu.sm_count;
      const double gate_up = std::ceil(row_tiles * std::ceil(2.0 * I / kMoeTile) / sms);
      const double down = std::ceil(row_tiles * std::ceil(h / kMoeTile) / sms);
      const double tiles = (gate_up * 2.0 * h + down * 2.0 * I) * sms * kMoeTile * kMoeTile / peak;
      return {one, flops, weights, acts, std::max(flops, weights + acts), tiles};
    }
  }
  return {};
}

namespace {
bool keyed(OpFamily f) { return f != OpFamily::kAllReduce; }

}  // namespace

// Attention: head shape and KV bits; GEMM: the weight shape (n, k), which a model fixes while m varies; MoE: the
// layer's shape (hidden, expert width per GPU, experts, top-k), which a model and TP degree fix while tokens vary
// (an expert width TP does not divide evenly was never measured: a key no fit has).
// A dimension that is no whole number an int holds (a table's GEMM of 2^32 columns) gets the key no fit has.
Calibration::ShapeKey Calibration::shape_key(OpFamily f, const KernelOp& op) {
  const auto whole = [](double x) { return x >= 1 && x < 2e9 && x == std::floor(x); };
  if (f == OpFamily::kGemm) {
    if (!whole(op.shape.n) || !whole(op.shape.k)) return {0, 0, 0, 0};
    return {static_cast<int>(op.shape.n), static_cast<int>(op.shape.k), 0, 0};
  }
  if (f == OpFamily::kMoeExperts) {
    const OpShape& s = op.shape;
    if (!whole(s.k) || !whole(s.n)) return {0, 0, 0, 0};
    return {static_cast<int>(s.k), static_cast<int>(s.n), s.experts, s.topk};
  }
  return {op.shape.q_heads, op.shape.kv_heads, op.shape.head_dim, static_cast<int>(op.shape.kv_bits)};
}

namespace {
// min |A x - y| subject to x >= 0 (Lawson-Hanson active set). Columns are scaled to unit norm first (the
// constant feature's column is ~1e5 times the others').
Eigen::VectorXd non_negative_least_squares(const Eigen::MatrixXd& a, const Eigen::VectorXd& y) {
  const Eigen::Index p = a.cols();
  Eigen::VectorXd scale(p);
  for (Eigen::Index j = 0; j < p; ++j) scale(j) = a.col(j).norm() > 0 ? a.col(j).norm() : 1.0;
  const Eigen::MatrixXd A = a * scale.cwiseInverse().asDiagonal();
  Eigen::VectorXd x = Eigen::VectorXd::Zero(p);
  std::vector<bool> passive(static_cast<std::size_t>(p), false);
  const double tol = 1e-12 * A.norm() * y.norm();
  for (Eigen::Index outer = 0; outer < 3 * p; ++outer) {
    // The feature whose weight would reduce the residual most joins the passive (free) set.
    const Eigen::VectorXd w = A.transpose() * (y - A * x);
    Eigen::Index best = -1;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (!passive[static_cast<std::size_t>(j)] && w(j) > tol && (best < 0 || w(j) > w(best))) best = j;
    }
    if (best < 0) break;
    passive[static_cast<std::size_t>(best)] = true;
    for (Eigen::Index inner = 0; inner < 3 * p; ++inner) {
      // Unconstrained least squares on the passive set; step back to the boundary where it goes negative.
      std::vector<Eigen::Index> free;
      for (Eigen::Index j = 0; j < p; ++j) {
        if (passive[static_cast<std::size_t>(j)]) free.push_back(j);
      }
      Eigen::MatrixXd ap(A.rows(), static_cast<Eigen::Index>(free.size()));
      for (std::size_t i = 0; i < free.size(); ++i) ap.col(static_cast<Eigen::Index>(i)) = A.col(free[i]);
      const Eigen::VectorXd sp = ap.colPivHouseholderQr().solve(y);
      Eigen::VectorXd z = Eigen::VectorXd::Zero(p);
      for (std::size_t i = 0; i < free.size(); ++i) z(free[i]) = sp(static_cast<Eigen::Index>(i));
      double alpha = 1.0;
      bool feasible = true;
      for (Eigen::Index j : free) {
        if (z(j) <= 0) {
          feasible = false;
          alpha = std::min(alpha, x(j) / (x(j) - z(j)));
        }
      }
      if (feasible) {
        x = z;
        break;
      }
      x += alpha * (z - x);
      for (Eigen::Index j : free) {
        if (x(j) <= 0) passive[static_cast<std::size_t>(j)] = false, x(j) = 0;
      }
    }
  }
  return x.cwiseQuotient(scale);
}

// Weighted least squares (weights 1/t: squared relative error) of `pts` on the family's features; empty if there
// are fewer than two points per feature. MoE coefficients are kept non-negative (every MoE feature is a cost): one
// shape's features are nearly collinear along the token count (FLOPs and activation bytes both grow as T, the
// weights and tile terms move together until every expert is touched), and unconstrained per-shape fits cancelled
// large opposite terms (coefficients of -267 and +267) that extrapolated wildly: on the RTX PRO 6000 held-out
// points, calibrated MoE p99 77 % and worst +627 % unconstrained, 52 % and +275 % non-negative (H100: 27.5 % / 50 %
// against 25.9 % / 34 %), medians 0.1 to 0.4 points higher.
std::vector<double> fit_points(OpFamily fam, const std::vector<const MeasuredOp*>& pts, const GpuSpec& gpu) {
  if (pts.empty()) return {};
  const std::size_t n_feat = calibration_features(fam, pts.front()->op, gpu).size();
  if (pts.size() < 2 * n_feat) return {};
  Eigen::MatrixXd A(static_cast<Eigen::Index>(pts.size()), static_cast<Eigen::Index>(n_feat));
  const Eigen::VectorXd y = Eigen::VectorXd::Ones(static_cast<Eigen::Index>(pts.size()));
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const Features x = calibration_features(fam, pts[i]->op, gpu);
    for (std::size_t j = 0; j < n_feat; ++j) {
      A(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = x[j] / pts[i]->seconds;
    }
  }
  const Eigen::VectorXd beta = fam == OpFamily::kMoeExperts ? non_negative_least_squares(A, y)
                                                             : Eigen::VectorXd(A.colPivHouseholderQr().solve(y));
  return std::vector<double>(beta.data(), beta.data() + beta.size());
}
}  // namespace

Calibration Calibration::fit(const std::vector<MeasuredOp>& ops, const GpuSpec& gpu, const std::string& fitted_on) {
  Calibration c;
  c.fitted_on = fitted_on;
  c.gpu = gpu.name;
  for (OpFamily fam : kOpFamilies) {
    std::vector<const MeasuredOp*> pts;
    std::map<ShapeKey, std::vector<const MeasuredOp*>> by_shape;
    for (const MeasuredOp& m : ops) {
      if (m.family != fam) continue;
      pts.push_back(&m);
      if (keyed(fam)) by_shape[shape_key(fam, m.op)].push_back(&m);
    }
    std::vector<double> beta = fit_points(fam, pts, gpu);
    if (beta.empty()) continue;
    c.coefficients[fam] = std::move(beta);
    c.points[fam] = pts.size();
    for (const auto& [key, shape_pts] : by_shape) {
      std::vector<double> b = fit_points(fam, shape_pts, gpu);
      if (b.empty()) continue;
      c.shape_coefficients[{fam, key}] = std::move(b);
      c.shape_points[{fam, key}] = shape_pts.size();
    }
  }
  return c;
}

const std::vector<double>* Calibration::coefficients_for(OpFamily family, const KernelOp& op,
                                                         const GpuSpec& gpu) const {
  if (keyed(family) && (this->gpu.empty() || this->gpu == gpu.name)) {
    const auto shaped = shape_coefficients.find({family, shape_key(family, op)});
    if (shaped != shape_coefficients.end()) return &shaped->second;
  }
  const auto it = coefficients.find(family);
  return it == coefficients.end() ? nullptr : &it->second;
}

double Calibration::predict_with(const std::vector<double>& beta, OpFamily family, const KernelOp& op,
                                 const FeatureCard& card) const {
  const Features x = calibration_features(family, op, card, latency_in_cycles);
  double t = 0;
  for (std::size_t j = 0; j < x.size() && j < beta.size(); ++j) t += beta[j] * x[j];
  return std::max(t, 1e-7);  // a kernel launch takes at least ~0.1 us
}

double Calibration::predict_launch(OpFamily family, const KernelOp& op, const GpuSpec& gpu) const {
  const std::vector<double>* beta = coefficients_for(family, op, gpu);
  return beta == nullptr ? -1 : predict_with(*beta, family, op, FeatureCard(gpu));
}

namespace {
constexpr const char* kSchema = "kvsim-calibration-4";
constexpr const char* kSchemaV3 = "kvsim-calibration-3";  // GEMM without the L2 feature: its 5 coefficients apply
constexpr const char* kSchemaV2 = "kvsim-calibration-2";  // constant feature 1: read, written back only as read
constexpr const char* kSchemaV1 = "kvsim-calibration-1";  // also before moe_experts: read, never written

// The names of a shape entry's four key values in calibration.json. GEMM shapes keep the attention names (n as
// q_heads, k as kv_heads), as version 1 wrote them.
std::array<const char*, 4> shape_key_names(OpFamily f) {
  if (f == OpFamily::kMoeExperts) return {"hidden", "intermediate", "experts", "topk"};
  return {"q_heads", "kv_heads", "head_dim", "kv_bits"};
}

// The families a file of `schema` may hold.
bool in_schema(OpFamily f, const std::string& schema) { return schema != kSchemaV1 || f != OpFamily::kMoeExperts; }
}  // namespace

nlohmann::json Calibration::to_json() const {
  nlohmann::json fams = nlohmann::json::object();
  for (const auto& [fam, coef] : coefficients) {
    fams[std::string(family_name(fam))] = {{"coefficients", coef}, {"points", points.at(fam)}};
  }
  nlohmann::json shapes = nlohmann::json::array();
  for (const auto& [fk, coef] : shape_coefficients) {
    nlohmann::json e = {{"family", family_name(fk.first)}};
    const auto names = shape_key_names(fk.first);
    for (std::size_t i = 0; i < names.size(); ++i) e[names[i]] = fk.second[i];
    e["coefficients"] = coef;
    e["points"] = shape_points.at(fk);
    shapes.push_back(std::move(e));
  }
  // A file read from schema 1 or 2 is written back as 2: its constant feature stays 1.
  nlohmann::json j = {{"schema", latency_in_cycles ? kSchema : kSchemaV2},
                      {"fitted_on", fitted_on},
                      {"gpu", gpu},
                      {"families", fams},
                      {"shapes", shapes}};
  if (!provenance.is_null()) j["provenance"] = provenance;
  return j;
}

Calibration Calibration::from_json(const nlohmann::json& j, const std::string& where) {
  ParamReader r(j, where);
  Calibration c;
  const std::string schema = r.require<std::string>("schema");
  r.check(schema == kSchema || schema == kSchemaV3 || schema == kSchemaV2 || schema == kSchemaV1, "schema",
          fmt::format("expected {} (or {} / {} / {}, written before the GEMM L2 feature / latencies in clock cycles "
                      "/ the moe_experts family)",
                      kSchema, kSchemaV3, kSchemaV2, kSchemaV1));
  c.latency_in_cycles = schema == kSchema || schema == kSchemaV3;
  c.fitted_on = r.get<std::string>("fitted_on", "");
  c.gpu = r.get<std::string>("gpu", "");
  if (const nlohmann::json* prov = r.raw("provenance"); prov != nullptr && !prov->is_null()) {
    r.check(prov->is_object(), "provenance", "expected an object (tables, sha256, command, date)");
    c.provenance = *prov;
  }
  ParamReader fams = r.child("families");
  for (OpFamily fam : kOpFamilies) {
    const std::string name(family_name(fam));
    if (!fams.has(name) || !in_schema(fam, schema)) {  // a family the schema lacks stays unread: unknown key
      if (in_schema(fam, schema)) (void)fams.raw(name);
      continue;
    }
    ParamReader f = fams.child(name);
    const nlohmann::json coef = f.require<nlohmann::json>("coefficients");
    f.check(coef.is_array(), "coefficients", "expected a list of numbers");
    for (const auto& v : coef) {
      f.check(v.is_number(), "coefficients", "expected a list of numbers");
      c.coefficients[fam].push_back(v.get<double>());
    }
    c.points[fam] = f.get<std::size_t>("points", 0);
    f.finish();
  }
  fams.finish();
  if (const nlohmann::json* shapes = r.raw("shapes"); shapes != nullptr && !shapes->is_null()) {
    r.check(shapes->is_array(), "shapes", "expected a list");
    for (std::size_t i = 0; i < shapes->size(); ++i) {
      ParamReader e((*shapes)[i], r.full(fmt::format("shapes[{}]", i)));
      const std::string fam_name = e.require<std::string>("family");
      OpFamily fam = OpFamily::kDecodeAttention;
      bool known = false;
      for (OpFamily f : kOpFamilies) {
        if (family_name(f) == fam_name && in_schema(f, schema)) fam = f, known = true;
      }
      e.check(known, "family", "unknown op family '" + fam_name + "'");
      const auto names = shape_key_names(fam);
      const ShapeKey key = {e.require<int>(names[0]), e.require<int>(names[1]), e.require<int>(names[2]),
                            e.require<int>(names[3])};
      std::vector<double> coef;
      const nlohmann::json list = e.require<nlohmann::json>("coefficients");
      e.check(list.is_array(), "coefficients", "expected a list of numbers");
      for (const auto& v : list) {
        e.check(v.is_number(), "coefficients", "expected a list of numbers");
        coef.push_back(v.get<double>());
      }
      c.shape_coefficients[{fam, key}] = std::move(coef);
      c.shape_points[{fam, key}] = e.get<std::size_t>("points", 0);
      e.finish();
    }
  }
  r.finish();
  return c;
}

}  // namespace kvsim
