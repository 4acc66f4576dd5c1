// Kernel cost models: price one op on one GPU. Backends are registered in models/cost/builtin.cc.
//
// Contract: estimate() is a pure function of the op and the backend's parameters (no hidden state, thread-safe),
// returns seconds >= 0 and says what bounds the op and where the number came from.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "models/cost/op.h"
#include "models/spec/gpu_spec.h"
#include "sim/core/param_reader.h"
#include "sim/core/registry.h"

namespace kvsim {

class IKernelCostModel {
 public:
  virtual ~IKernelCostModel() = default;
  virtual CostEstimate estimate(const KernelOp& op) const = 0;
  // The parameters in force (defaults filled in), for the resolved scenario.
  virtual nlohmann::json params() const = 0;
};

// Builds a backend from the scenario's `cost_model` section (minus `backend`), for one GPU. Relative paths in it
// resolve against `base_dir` (the scenario's folder). The factory must read every key it understands through
// `params`; the caller calls finish().
using CostModelFactory = std::function<std::unique_ptr<IKernelCostModel>(
    ParamReader& params, const GpuSpec& gpu, const std::filesystem::path& base_dir)>;
using CostModelRegistry = Registry<CostModelFactory>;

const CostModelRegistry& cost_models();

}  // namespace kvsim
