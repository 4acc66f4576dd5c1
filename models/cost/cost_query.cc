// cost as a library call (see cost_query.h).
#include "models/cost/cost_query.h"

#include <algorithm>
#include <array>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "models/cost/kernel_cost_model.h"
#include "models/cost/single_op.h"
#include "models/profile/profile.h"
#include "models/spec/catalog.h"
#include "sim/core/error.h"
#include "sim/core/param_choice.h"

namespace kvsim {

CostQuery read_cost_query(ParamReader& r) {
  using L = CostLimits;
  CostQuery q;
  q.gpu = r.require_nonempty("gpu");
  q.op = checked_choice(r, "op", r.require<std::string>("op"), kCostOps);
  q.backend = r.get<std::string>("backend", q.backend);
  q.batch = r.get_in<double>("batch", q.batch, 1, L::kMaxBatch, "sequences");
  q.kv_len = r.get_in<double>("kv_len", q.kv_len, 0, L::kMaxTokens, "tokens");
  q.isl = r.get_in<double>("isl", q.isl, 0, L::kMaxTokens, "tokens");
  q.cached = r.get_in<double>("cached", q.cached, 0, L::kMaxTokens, "tokens");
  q.q_heads = r.get_in<int>("q_heads", q.q_heads, 1, L::kMaxHeads, "heads");
  q.kv_heads = r.get_in<int>("kv_heads", q.kv_heads, 1, L::kMaxHeads, "heads");
  q.head_dim = r.get_in<int>("head_dim", q.head_dim, 1, L::kMaxHeads, "channels");
  q.kv_dtype = checked_choice(r, "kv_dtype", r.get<std::string>("kv_dtype", q.kv_dtype), kProfileKvDtypes);
  q.m = r.get_in<double>("m", q.m, 0, L::kMaxGemmDim, "rows");
  q.n = r.get_in<double>("n", q.n, 0, L::kMaxGemmDim, "columns");
  q.k = r.get_in<double>("k", q.k, 0, L::kMaxGemmDim, "elements");
  q.bytes = r.get_in<double>("bytes", q.bytes, 0, L::kMaxBytes, "bytes");
  q.gpus = r.get_in<int>("gpus", q.gpus, L::kMinGpus, L::kMaxGpus, "GPUs");
  q.calibration = r.get<std::string>("calibration", "");
  q.profile = r.get<std::string>("profile", "");
  q.aiconfigurator = r.get<std::string>("aiconfigurator", "");
  q.framework = r.get<std::string>("framework", q.framework);
  q.version = r.get<std::string>("version", q.version);
  q.l2_cache = checked_choice(r, "l2_cache", r.get<std::string>("l2_cache", q.l2_cache), kCostL2Modes);
  r.finish();
  return q;
}

CostAnswer answer_cost(const CostQuery& q, const std::filesystem::path& base_dir,
                       std::string (*flag)(const std::string& field)) {
  const GpuSpec& gpu = Catalog::builtin().gpu(q.gpu, flag("gpu"));
  const auto path = [&](const std::string& p) { return (base_dir / p).lexically_normal().string(); };
  nlohmann::json params = nlohmann::json::object();
  if (!q.profile.empty()) params["profile"] = path(q.profile);
  if (!q.calibration.empty()) params["calibration"] = q.calibration == "builtin" ? q.calibration : path(q.calibration);
  if (q.backend == "calibrated" || q.backend == "hybrid") params["l2_cache"] = q.l2_cache;
  if (!q.aiconfigurator.empty()) {
    params["aiconfigurator"] = path(q.aiconfigurator);
    params["framework"] = q.framework;
    params["version"] = q.version;
  }
  ParamReader reader(params, flag("backend") + " " + q.backend);
  const std::unique_ptr<IKernelCostModel> model =
      cost_models().get(q.backend, flag("backend")).factory(reader, gpu, base_dir);
  reader.finish();
  const auto need = [](bool ok, const std::string& what) {
    if (!ok) throw KvsimError(what);
  };
  OpShape s;
  s.batch = q.batch;
  s.q_heads = q.q_heads;
  s.kv_heads = q.kv_heads;
  s.head_dim = q.head_dim;
  s.kv_bits = dtype_bits(q.kv_dtype);
  KernelOp op;
  if (q.op == "decode-attention") {
    need(q.kv_len > 0, fmt::format("{} decode-attention needs {} > 0", flag("op"), flag("kv_len")));
    s.kv_len = q.kv_len;
    op = decode_attention_op(s);
  } else if (q.op == "prefill-attention") {
    need(q.isl > 0, fmt::format("{} prefill-attention needs {} > 0", flag("op"), flag("isl")));
    s.tokens = q.isl;
    s.kv_len = q.cached;
    op = prefill_attention_op(s);
  } else if (q.op == "gemm") {
    need(q.m > 0 && q.n > 0 && q.k > 0,
         fmt::format("{} gemm needs {}, {} and {} > 0", flag("op"), flag("m"), flag("n"), flag("k")));
    op = gemm_op(q.m, q.n, q.k);
  } else if (q.op == "all-reduce") {
    need(q.bytes > 0, fmt::format("{} all-reduce needs {} > 0", flag("op"), flag("bytes")));
    op = all_reduce_op(q.bytes, q.gpus);
  } else {
    throw KvsimError(fmt::format("{}: '{}' is not one of {}", flag("op"), q.op, fmt::join(kCostOps, ", ")));
  }
  return {gpu.name, model->estimate(op)};
}

nlohmann::json to_json(const CostAnswer& a, const CostQuery& q) {
  const CostEstimate& e = a.estimate;
  return nlohmann::json{{"op", q.op},
                        {"gpu", a.gpu},
                        {"backend", q.backend},
                        {"seconds", e.seconds},
                        {"bound", bound_name(e.bound)},
                        {"source", source_name(e.source)},
                        {"flops", e.flops},
                        {"bytes", e.bytes},
                        {"achieved_tflops", e.seconds > 0 ? e.flops / e.seconds / 1e12 : 0.0},
                        {"achieved_GBps", e.seconds > 0 ? e.bytes / e.seconds / 1e9 : 0.0}};
}

}  // namespace kvsim
