// Calibrated and hybrid kernel cost models (see calibrated.h).
#include "models/cost/impl/calibrated.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/cost/builtin_calibrations.h"
#include "sim/core/json_file.h"

namespace kvsim {

namespace {
std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  const std::filesystem::path path(p);
  return path.is_relative() ? (base / path).lexically_normal() : path;
}

constexpr const char* kBuiltin = "builtin";

// The calibration named by `file` ("builtin": the one kvsim ships for `gpu`; else a path written by kvsim
// calibrate --out); records it in params.
Calibration read_calibration(ParamReader& r, const std::string& file, const GpuSpec& gpu,
                             const std::filesystem::path& base_dir, nlohmann::json& params) {
  if (file == kBuiltin) {
    const Calibration* c = builtin_calibration(gpu.name);
    if (c == nullptr) {
      throw KvsimError(fmt::format("{}: kvsim ships no calibration for GPU '{}' (it has: {}); give a file written "
                                   "by kvsim calibrate --out, or measurements (profile or aiconfigurator)",
                                   r.full("calibration"), gpu.name, fmt::join(builtin_calibration_gpus(), ", ")));
    }
    params["calibration"] = kBuiltin;
    return *c;
  }
  const std::filesystem::path path = resolve(base_dir, file);
  params["calibration"] = path.string();
  return Calibration::from_json(parse_json_file(path), path.string());
}

// cost_model.l2_cache (see CalibratedCostModel::L2Cache); recorded in params.
CalibratedCostModel::L2Cache read_l2_cache(ParamReader& r, nlohmann::json& params) {
  const std::string l2 = r.get<std::string>("l2_cache", "cold");
  r.check(l2 == "cold" || l2 == "benchmark", "l2_cache", "expected cold or benchmark");
  params["l2_cache"] = l2;
  return l2 == "cold" ? CalibratedCostModel::L2Cache::kCold : CalibratedCostModel::L2Cache::kBenchmark;
}

// What the calibration is, under the resolved section's descriptive "about" (ignored when read back).
void describe(const Calibration& c, nlohmann::json& params) {
  params["about"]["fitted_on"] = c.fitted_on;
  if (!c.provenance.is_null()) params["about"]["provenance"] = c.provenance;
}

}  // namespace

std::vector<ParamDoc> profile_source_docs() {
  std::vector<ParamDoc> d = {{"profile", "string", "null", "a kvsim profile JSON (kvsim-profile output or an imported table)"},
          {"aiconfigurator", "string", "null",
           "an aiconfigurator system folder, e.g. ../shared/gpu-data/aiconfigurator/h100_sxm (instead of profile)"},
          {"framework", "string", "\"vllm\"", "aiconfigurator framework folder: vllm or trtllm"},
          {"version", "string", "\"0.24.0\"", "aiconfigurator framework version folder"}};
  for (ParamDoc p : RooflineParams::docs()) {  // every measured backend falls back to the roofline
    p.help = "roofline fallback: " + p.help;
    d.push_back(p);
  }
  return d;
}

std::optional<Profile> read_profile_source(ParamReader& r, const GpuSpec& gpu, const std::filesystem::path& base_dir,
                                           nlohmann::json& params_out) {
  const auto profile_path = r.get_optional<std::string>("profile");
  const auto aic = r.get_optional<std::string>("aiconfigurator");
  const std::string framework = r.get<std::string>("framework", "vllm");
  const std::string version = r.get<std::string>("version", "0.24.0");
  r.check(!(profile_path && aic), "profile", "give only one of profile and aiconfigurator");
  if (!profile_path && !aic) return std::nullopt;
  if (aic) {
    // aiconfigurator names its system folders after the GPU: tables of one card never price another.
    static const std::pair<const char*, const char*> kSystems[] = {
        {"h100_sxm", "h100-sxm"}, {"h200_sxm", "h200-sxm"}, {"a100_sxm", "a100-sxm-80gb"},
        {"b200_sxm", "b200"},     {"l40s", "l40s"},         {"rtx_pro_6000_server", "rtx-pro-6000"}};
    const std::string folder = resolve(base_dir, *aic).lexically_normal().filename().string().empty()
                                   ? resolve(base_dir, *aic).lexically_normal().parent_path().filename().string()
                                   : resolve(base_dir, *aic).lexically_normal().filename().string();
    for (const auto& [system, card] : kSystems) {
      if (folder == system && gpu.name != card) {
        throw KvsimError(fmt::format("{}: {} holds aiconfigurator's measurements of '{}', but the GPU is '{}'; "
                                     "use that GPU's system folder",
                                     r.full("aiconfigurator"), folder, card, gpu.name));
      }
    }
  }
  Profile p = profile_path ? load_profile(resolve(base_dir, *profile_path))
                           : import_aiconfigurator(resolve(base_dir, *aic), framework, version, gpu.name);
  if (!p.gpu.empty() && p.gpu != gpu.name) {
    throw KvsimError(fmt::format("{}: the measurements are of '{}' but the scenario's GPU is '{}'",
                                 r.full(profile_path ? "profile" : "aiconfigurator"), p.gpu, gpu.name));
  }
  if (profile_path) params_out["profile"] = resolve(base_dir, *profile_path).string();
  if (aic) {
    params_out["aiconfigurator"] = resolve(base_dir, *aic).string();
    params_out["framework"] = framework;
    params_out["version"] = version;
  }
  params_out["about"]["measurements"] = p.source;
  return p;
}

CalibratedCostModel::CalibratedCostModel(Calibration calibration, const GpuSpec& gpu, const RooflineParams& fallback,
                                         nlohmann::json params, L2Cache l2)
    : calibration_(std::move(calibration)),
      gpu_(gpu),
      card_(gpu),
      cold_card_(gpu),
      cold_(l2 == L2Cache::kCold && gpu.l2_bytes > 0),
      fallback_(fallback, gpu),
      params_(std::move(params)) {
  cold_card_.l2_bytes = 0;  // the features' "beyond L2" regime for every operand
}

CostEstimate CalibratedCostModel::estimate(const KernelOp& op) const {
  CostEstimate e = fallback_.estimate(op);
  OpFamily fam;
  if (!op_family(op, fam) || op.link_Bps > 0) return e;  // a collective off the measured NVLink domain: roofline
  const std::vector<double>* beta = coefficients(fam, op);
  if (beta == nullptr) return e;
  double t = calibration_.predict_with(*beta, fam, op, card_);
  // Cold L2: the time with every operand beyond L2, never below the benchmark's (the beyond-L2 terms are fitted on
  // large launches and can extrapolate below a small launch's fixed cost).
  if (cold_ && within_l2(fam, op)) t = std::max(t, calibration_.predict_with(*beta, fam, op, cold_card_));
  // A fused-MoE time covers one layer (kMoeLaunchesPerLayer launches) on all its experts, as in the measured
  // backend; under expert parallelism this GPU does its share of it.
  e.seconds = fam == OpFamily::kMoeExperts ? t * op.shape.share * op.launches / kMoeLaunchesPerLayer
                                           : t * std::max(1.0, op.launches);
  e.source = Source::kCalibrated;
  return e;
}

bool CalibratedCostModel::within_l2(OpFamily family, const KernelOp& op) const {
  const OpShape& s = op.shape;
  switch (family) {
    case OpFamily::kGemm: return s.n * s.k * (s.weight_bits > 0 ? s.weight_bits : 16) / 8.0 < card_.l2_bytes;
    case OpFamily::kDecodeAttention: return op.bytes / std::max(1.0, op.launches) <= card_.l2_bytes;
    default: return false;  // no L2 terms
  }
}

const std::vector<double>* CalibratedCostModel::coefficients(OpFamily family, const KernelOp& op) const {
  const Calibration::ShapeKey key = Calibration::shape_key(family, op);
  for (const Looked& l : looked_) {
    // Element by element: std::array's == calls memcmp, a library call on this hot path.
    if (l.family == family && l.key[0] == key[0] && l.key[1] == key[1] && l.key[2] == key[2] && l.key[3] == key[3]) {
      return l.beta;
    }
  }
  const std::vector<double>* beta = calibration_.coefficients_for(family, op, gpu_);
  constexpr std::size_t kKeep = 64;  // a run has ~10 shapes; a stream of new ones is looked up each time
  if (looked_.size() < kKeep) looked_.push_back({family, key, beta});
  return beta;
}

std::vector<ParamDoc> CalibratedCostModel::docs() {
  std::vector<ParamDoc> d = {
      {"l2_cache", "string", "\"cold\"",
       "cold: weights and KV are read from memory, as in a serving step (the next use of a layer's weights or KV "
       "comes after the whole model has streamed through L2); benchmark: as the measured tables were taken, "
       "operands that fit in L2 read from it (to compare with the tables)"},
      {"calibration", "string", "null",
       "coefficients written by `kvsim calibrate --out`, or \"builtin\": the calibration kvsim ships for the "
       "scenario's GPU (models/specs/calibrations/; calibrated: the default when neither this nor measurements "
       "are given)"}};
  for (const ParamDoc& p : profile_source_docs()) d.push_back(p);
  return d;
}

std::unique_ptr<IKernelCostModel> CalibratedCostModel::create(ParamReader& r, const GpuSpec& gpu,
                                                              const std::filesystem::path& base_dir) {
  nlohmann::json params = nlohmann::json::object();
  const auto file = r.get_optional<std::string>("calibration");
  std::optional<Profile> profile = read_profile_source(r, gpu, base_dir, params);
  r.check(!(file && profile), "calibration",
          "give at most one of calibration (a fitted file, or builtin) and measurements to fit on (profile or "
          "aiconfigurator); with neither, the calibration kvsim ships for the GPU");
  const RooflineParams fallback = RooflineParams::read(r);
  const CalibratedCostModel::L2Cache l2 = read_l2_cache(r, params);
  Calibration c = profile ? Calibration::fit(measured_ops(*profile), gpu, gpu.name + " " + profile->source)
                          : read_calibration(r, file.value_or(kBuiltin), gpu, base_dir, params);
  describe(c, params);
  return std::make_unique<CalibratedCostModel>(std::move(c), gpu, fallback, std::move(params), l2);
}

HybridCostModel::HybridCostModel(const Profile& profile, Calibration calibration, const GpuSpec& gpu,
                                 const RooflineParams& fallback, nlohmann::json params,
                                 CalibratedCostModel::L2Cache l2)
    : measured_(profile, gpu, fallback, nlohmann::json::object()),
      calibrated_(std::move(calibration), gpu, fallback, nlohmann::json::object(), l2),
      params_(std::move(params)) {}

CostEstimate HybridCostModel::estimate(const KernelOp& op) const {
  const CostEstimate m = measured_.estimate(op);
  if (m.source == Source::kMeasured || m.source == Source::kInterpolated) return m;
  return calibrated_.estimate(op);  // outside the tables (or no table): the calibrated roofline
}

std::vector<ParamDoc> HybridCostModel::docs() { return CalibratedCostModel::docs(); }

std::unique_ptr<IKernelCostModel> HybridCostModel::create(ParamReader& r, const GpuSpec& gpu,
                                                          const std::filesystem::path& base_dir) {
  nlohmann::json params = nlohmann::json::object();
  const auto file = r.get_optional<std::string>("calibration");
  std::optional<Profile> profile = read_profile_source(r, gpu, base_dir, params);
  r.check(profile.has_value(), "profile", "the hybrid backend needs measurements: profile or aiconfigurator");
  const RooflineParams fallback = RooflineParams::read(r);
  const CalibratedCostModel::L2Cache l2 = read_l2_cache(r, params);
  Calibration c = file ? read_calibration(r, *file, gpu, base_dir, params)
                       : Calibration::fit(measured_ops(*profile), gpu, gpu.name + " " + profile->source);
  describe(c, params);
  return std::make_unique<HybridCostModel>(*profile, std::move(c), gpu, fallback, std::move(params), l2);
}

}  // namespace kvsim
