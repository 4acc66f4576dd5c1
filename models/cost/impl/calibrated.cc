// Calibrated and hybrid kernel cost models (see calibrated.h).
#include "models/cost/impl/calibrated.h"

#include <fmt/format.h>

#include "sim/core/json_file.h"

namespace kvsim {

namespace {
std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  const std::filesystem::path path(p);
  return path.is_relative() ? (base / path).lexically_normal() : path;
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
  params_out["measurements"] = p.source;
  return p;
}

CalibratedCostModel::CalibratedCostModel(Calibration calibration, const GpuSpec& gpu, const RooflineParams& fallback,
                                         nlohmann::json params)
    : calibration_(std::move(calibration)), gpu_(gpu), fallback_(fallback, gpu), params_(std::move(params)) {}

CostEstimate CalibratedCostModel::estimate(const KernelOp& op) const {
  CostEstimate e = fallback_.estimate(op);
  OpFamily fam;
  if (!op_family(op, fam)) return e;
  const double t = calibration_.predict_launch(fam, op, gpu_);
  if (t < 0) return e;
  // A fused-MoE time covers one layer (kMoeLaunchesPerLayer launches), as in the measured backend.
  e.seconds = fam == OpFamily::kMoeExperts ? t * op.launches / kMoeLaunchesPerLayer : t * std::max(1.0, op.launches);
  e.source = Source::kCalibrated;
  return e;
}

std::vector<ParamDoc> CalibratedCostModel::docs() {
  std::vector<ParamDoc> d = {{"calibration", "string", "null", "coefficients written by `kvsim calibrate --out`"}};
  for (const ParamDoc& p : profile_source_docs()) d.push_back(p);
  return d;
}

std::unique_ptr<IKernelCostModel> CalibratedCostModel::create(ParamReader& r, const GpuSpec& gpu,
                                                              const std::filesystem::path& base_dir) {
  nlohmann::json params = nlohmann::json::object();
  const auto file = r.get_optional<std::string>("calibration");
  std::optional<Profile> profile = read_profile_source(r, gpu, base_dir, params);
  r.check(file.has_value() != profile.has_value(), "calibration",
          "give exactly one of calibration (a fitted file) and measurements to fit on (profile or aiconfigurator)");
  const RooflineParams fallback = RooflineParams::read(r);
  Calibration c;
  if (file) {
    const std::filesystem::path path = resolve(base_dir, *file);
    c = Calibration::from_json(parse_json_file(path), path.string());
    params["calibration"] = path.string();
  } else {
    c = Calibration::fit(measured_ops(*profile), gpu, gpu.name + " " + profile->source);
  }
  params["fitted_on"] = c.fitted_on;
  return std::make_unique<CalibratedCostModel>(std::move(c), gpu, fallback, std::move(params));
}

HybridCostModel::HybridCostModel(const Profile& profile, Calibration calibration, const GpuSpec& gpu,
                                 const RooflineParams& fallback, nlohmann::json params)
    : measured_(profile, gpu, fallback, nlohmann::json::object()),
      calibrated_(std::move(calibration), gpu, fallback, nlohmann::json::object()),
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
  Calibration c = file ? Calibration::from_json(parse_json_file(resolve(base_dir, *file)), *file)
                       : Calibration::fit(measured_ops(*profile), gpu, gpu.name + " " + profile->source);
  if (file) params["calibration"] = resolve(base_dir, *file).string();
  params["fitted_on"] = c.fitted_on;
  return std::make_unique<HybridCostModel>(*profile, std::move(c), gpu, fallback, std::move(params));
}

}  // namespace kvsim
