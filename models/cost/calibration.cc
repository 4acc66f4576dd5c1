// Calibrated roofline fitting (see calibration.h).
#include "models/cost/calibration.h"

#include <algorithm>
#include <cmath>

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
  }
  return "?";
}

namespace {
constexpr double kTile = 128.0;   // GEMM output tile edge
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
  for (const AllReducePoint& r : p.all_reduce) {
    if (r.dtype != "bf16" && r.dtype != "fp16") continue;
    out.push_back({OpFamily::kAllReduce, all_reduce_op(r.bytes, r.gpus), r.seconds});
  }
  return out;
}

bool op_family(const KernelOp& op, OpFamily& family) {
  switch (op.kind) {
    case OpKind::kGemm:
      // The fused MoE experts (two grouped GEMMs over the routed tokens) are not one GEMM: no fitted family, the
      // roofline prices them (the measured and hybrid backends use their MoE tables).
      if (op.shape.m <= 0 || op.id == OpId::kGemmMoeExperts) return false;
      family = OpFamily::kGemm;
      return true;
    case OpKind::kAttentionDecode: family = OpFamily::kDecodeAttention; return op.shape.batch > 0;
    case OpKind::kAttentionPrefill: family = OpFamily::kPrefillAttention; return op.shape.batch > 0;
    case OpKind::kAllReduce: family = OpFamily::kAllReduce; return op.shape.message_bytes > 0;
    default: return false;
  }
}

std::vector<double> calibration_features(OpFamily family, const KernelOp& op, const GpuSpec& gpu) {
  const double peak = gpu.flops_for("bf16"), bw = gpu.hbm_bandwidth_Bps;
  const OpShape& s = op.shape;
  // Per-launch FLOPs and bytes (ops built from shapes have one launch; iteration ops sum over launches).
  const double launches = std::max(1.0, op.launches);
  const double f = op.flops / launches / peak, b = op.bytes / launches / bw;
  switch (family) {
    case OpFamily::kGemm: {
      const double tiles = std::ceil(s.m / kTile) * std::ceil(s.n / kTile);
      const double sms = gpu.sm_count, waves = std::ceil(tiles / sms);
      return {1.0, f, b, std::max(f, b), waves * sms * kTile * kTile * 2.0 * s.k / peak};
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
      return {1.0, s.batch, b, f, len, std::sqrt(s.kv_len) * 1e-6, std::sqrt(s.batch) * 1e-6, waves * 1e-6, dequant};
    }
    case OpFamily::kPrefillAttention: return {1.0, s.batch, f, b, std::max(f, b)};
    case OpFamily::kAllReduce: {
      const double g = std::max(2, op.tp);
      const double link = gpu.nvlink_bandwidth_Bps > 0 ? gpu.nvlink_bandwidth_Bps : gpu.pcie_bandwidth_Bps;
      return {1.0, std::log2(g), 2.0 * (g - 1) / g * s.message_bytes / link};
    }
  }
  return {};
}

namespace {
bool keyed(OpFamily f) { return f != OpFamily::kAllReduce; }

// Attention: head shape and KV bits; GEMM: the weight shape (n, k), which a model fixes while m varies.
Calibration::ShapeKey shape_key(OpFamily f, const KernelOp& op) {
  if (f == OpFamily::kGemm) return {static_cast<int>(op.shape.n), static_cast<int>(op.shape.k), 0, 0};
  return {op.shape.q_heads, op.shape.kv_heads, op.shape.head_dim, static_cast<int>(op.shape.kv_bits)};
}

// Weighted least squares (weights 1/t: squared relative error) of `pts` on the family's features; empty if there
// are fewer than two points per feature.
std::vector<double> fit_points(OpFamily fam, const std::vector<const MeasuredOp*>& pts, const GpuSpec& gpu) {
  if (pts.empty()) return {};
  const std::size_t n_feat = calibration_features(fam, pts.front()->op, gpu).size();
  if (pts.size() < 2 * n_feat) return {};
  Eigen::MatrixXd A(static_cast<Eigen::Index>(pts.size()), static_cast<Eigen::Index>(n_feat));
  const Eigen::VectorXd y = Eigen::VectorXd::Ones(static_cast<Eigen::Index>(pts.size()));
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const std::vector<double> x = calibration_features(fam, pts[i]->op, gpu);
    for (std::size_t j = 0; j < n_feat; ++j) {
      A(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = x[j] / pts[i]->seconds;
    }
  }
  const Eigen::VectorXd beta = A.colPivHouseholderQr().solve(y);
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

double Calibration::predict_launch(OpFamily family, const KernelOp& op, const GpuSpec& gpu) const {
  const std::vector<double>* beta = nullptr;
  if (keyed(family) && (this->gpu.empty() || this->gpu == gpu.name)) {
    const auto shaped = shape_coefficients.find({family, shape_key(family, op)});
    if (shaped != shape_coefficients.end()) beta = &shaped->second;
  }
  if (beta == nullptr) {
    const auto it = coefficients.find(family);
    if (it == coefficients.end()) return -1;
    beta = &it->second;
  }
  const std::vector<double> x = calibration_features(family, op, gpu);
  double t = 0;
  for (std::size_t j = 0; j < x.size() && j < beta->size(); ++j) t += (*beta)[j] * x[j];
  return std::max(t, 1e-7);  // a kernel launch takes at least ~0.1 us
}

nlohmann::json Calibration::to_json() const {
  nlohmann::json fams = nlohmann::json::object();
  for (const auto& [fam, coef] : coefficients) {
    fams[std::string(family_name(fam))] = {{"coefficients", coef}, {"points", points.at(fam)}};
  }
  nlohmann::json shapes = nlohmann::json::array();
  for (const auto& [fk, coef] : shape_coefficients) {
    shapes.push_back({{"family", family_name(fk.first)}, {"q_heads", fk.second[0]}, {"kv_heads", fk.second[1]},
                      {"head_dim", fk.second[2]}, {"kv_bits", fk.second[3]}, {"coefficients", coef},
                      {"points", shape_points.at(fk)}});
  }
  return {{"schema", "kvsim-calibration-1"}, {"fitted_on", fitted_on}, {"gpu", gpu}, {"families", fams},
          {"shapes", shapes}};
}

Calibration Calibration::from_json(const nlohmann::json& j, const std::string& where) {
  ParamReader r(j, where);
  Calibration c;
  const std::string schema = r.require<std::string>("schema");
  r.check(schema == "kvsim-calibration-1", "schema", "expected kvsim-calibration-1");
  c.fitted_on = r.get<std::string>("fitted_on", "");
  c.gpu = r.get<std::string>("gpu", "");
  ParamReader fams = r.child("families");
  for (OpFamily fam : kOpFamilies) {
    const std::string name(family_name(fam));
    if (!fams.has(name)) {
      (void)fams.raw(name);
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
        if (family_name(f) == fam_name) fam = f, known = true;
      }
      e.check(known, "family", "unknown op family '" + fam_name + "'");
      const ShapeKey key = {e.require<int>("q_heads"), e.require<int>("kv_heads"), e.require<int>("head_dim"),
                            e.require<int>("kv_bits")};
      std::vector<double> coef;
      for (const auto& v : e.require<nlohmann::json>("coefficients")) {
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
