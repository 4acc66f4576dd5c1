// GPU cards: strict parsing with unit conversion at the boundary (card units -> SI), and FLOP/s lookup.
// Card schema and units: models/specs/README.md.
#include "models/spec/gpu_spec.h"

#include <array>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "sim/core/error.h"
#include "sim/core/param_reader.h"
#include "sim/core/units.h"

namespace kvsim {

namespace {

// The dtypes a card may list under `dense_tflops` (tensor-core peak without structured sparsity).
constexpr std::array<std::string_view, 5> kFlopsDtypes = {"bf16", "fp16", "fp8", "int8", "tf32"};

// `dense_tflops`: {dtype: TFLOP/s}; unknown dtypes are rejected by finish(), at least one dtype is required.
std::map<std::string, double> read_dense_flops(ParamReader& card) {
  ParamReader r = card.child("dense_tflops");
  std::map<std::string, double> flops;
  for (std::string_view dtype : kFlopsDtypes) {
    const std::string key(dtype);
    if (const auto tflops = r.get_optional<double>(key)) {
      // At most kvsim's ceiling of 1e9 (ParamReader): beyond ~1e296 TFLOP/s the FLOP/s would be infinite.
      r.check(*tflops > 0 && *tflops <= 1e9, key, fmt::format("must be positive and at most 1e9, got {}", *tflops));
      flops[key] = units::tflops_to_flops(*tflops);
    }
  }
  r.finish();
  card.check(!flops.empty(), "dense_tflops",
             fmt::format("needs at least one of {}", fmt::join(kFlopsDtypes, ", ")));
  return flops;
}

}  // namespace

double GpuSpec::flops_for(const std::string& dtype) const {
  const auto it = dense_flops.find(dtype);
  if (it != dense_flops.end()) return it->second;
  std::vector<std::string> have;
  for (const auto& [name, flops] : dense_flops) have.push_back(name);
  throw KvsimError(fmt::format("GPU '{}' has no dense FLOP/s for dtype '{}'; its card lists: {}", name, dtype,
                               fmt::join(have, ", ")));
}

GpuSpec parse_gpu_spec(const nlohmann::json& card, const std::string& where) {
  ParamReader r(card, where);
  GpuSpec s;
  s.name = r.require_nonempty("name");
  s.display_name = r.require_nonempty("display_name");
  s.source = r.require_nonempty("source");
  s.notes = r.get<std::string>("notes", "");
  s.memory_bytes = units::gib_to_bytes(r.require_positive<double>("memory_GiB"));
  s.hbm_bandwidth_Bps = units::gbps_to_bytes_per_s(r.require_positive<double>("hbm_bandwidth_GBps"));
  s.sm_count = r.require_positive<int>("sm_count");
  s.dense_flops = read_dense_flops(r);
  s.fp32_flops = units::tflops_to_flops(r.require_positive<double>("fp32_tflops"));
  if (r.has("boost_clock_MHz")) s.boost_clock_Hz = r.require_positive<double>("boost_clock_MHz") * 1e6;
  if (r.has("l2_cache_MiB")) s.l2_bytes = units::gib_to_bytes(r.require_positive<double>("l2_cache_MiB") / 1024.0);
  s.nvlink_bandwidth_Bps = units::gbps_to_bytes_per_s(r.require_non_negative<double>("nvlink_bandwidth_GBps"));
  s.pcie_bandwidth_Bps = units::gbps_to_bytes_per_s(r.require_positive<double>("pcie_bandwidth_GBps"));
  s.price_per_hour_usd = r.require_positive<double>("price_per_hour_usd");
  s.price_source = r.require_nonempty("price_source");
  if (r.has("tdp_W")) {
    s.tdp_W = r.require_positive<double>("tdp_W");
    s.tdp_source = r.require_nonempty("tdp_source");
  }
  r.finish();
  return s;
}

nlohmann::json to_json(const GpuSpec& s) {
  nlohmann::json tflops = nlohmann::json::object();
  for (const auto& [dtype, flops] : s.dense_flops) tflops[dtype] = flops / units::kTera;
  nlohmann::json j = {{"name", s.name},
                      {"display_name", s.display_name},
                      {"source", s.source},
                      {"memory_GiB", s.memory_bytes / units::kGiB},
                      {"hbm_bandwidth_GBps", s.hbm_bandwidth_Bps / units::kGB},
                      {"sm_count", s.sm_count},
                      {"dense_tflops", tflops},
                      {"fp32_tflops", s.fp32_flops / units::kTera},
                      {"nvlink_bandwidth_GBps", s.nvlink_bandwidth_Bps / units::kGB},
                      {"pcie_bandwidth_GBps", s.pcie_bandwidth_Bps / units::kGB},
                      {"price_per_hour_usd", s.price_per_hour_usd},
                      {"price_source", s.price_source}};
  if (s.tdp_W > 0) {
    j["tdp_W"] = s.tdp_W;
    j["tdp_source"] = s.tdp_source;
  }
  if (!s.notes.empty()) j["notes"] = s.notes;
  if (s.boost_clock_Hz > 0) j["boost_clock_MHz"] = s.boost_clock_Hz / 1e6;
  if (s.l2_bytes > 0) j["l2_cache_MiB"] = s.l2_bytes / units::kGiB * 1024.0;
  return j;
}

}  // namespace kvsim
