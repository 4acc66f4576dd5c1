// kv-size as a library call (see kv_size_query.h).
#include "sim/config/kv_size_query.h"

#include <fmt/format.h>

#include "models/spec/catalog.h"
#include "models/spec/hf_config.h"
#include "sim/config/scenario.h"
#include "sim/core/error.h"

namespace kvsim {

KvSizeQuery read_kv_size_query(ParamReader& r) {
  using L = KvSizeLimits;
  KvSizeQuery q;
  q.model = r.require_nonempty("model");
  q.context = r.require_in<TokenCount>("context", 1, L::kMaxContext, "tokens");
  q.strategy = r.get<std::string>("strategy", q.strategy);
  q.gpu = r.get<std::string>("gpu", "");
  q.tensor_parallel = r.get_in<int>("tensor_parallel", 1, 1, L::kMaxTensorParallel, "GPUs");
  q.block_size = r.get_in<int>("block_size", q.block_size, 1, L::kMaxBlockSize, "tokens per page");
  q.gpu_memory_utilization = r.get_in<double>("gpu_memory_utilization", q.gpu_memory_utilization,
                                              L::kMinUtilization, L::kMaxUtilization, "of GPU memory");
  q.activation_reserve_GiB = r.get_optional_in<double>("activation_reserve_GiB", 0, L::kMaxReserveGiB, "GiB");
  q.max_num_batched_tokens =
      r.get_in<TokenCount>("max_num_batched_tokens", q.max_num_batched_tokens, 1, L::kMaxBatchedTokens, "tokens");
  q.chunked_prefill = r.get<bool>("chunked_prefill", q.chunked_prefill);
  r.finish();
  return q;
}

KvSizeAnswer answer_kv_size(const KvSizeQuery& q, const std::filesystem::path& base_dir,
                            const KvSizeOptionNames& names) {
  const Catalog& cat = Catalog::builtin();
  KvSizeAnswer a;
  a.model = resolve_model(q.model, base_dir, names.model);
  const LlmSpec& model = *a.model;
  if (const auto problem = tensor_parallel_problem(model, q.tensor_parallel)) {
    throw KvsimError(names.tensor_parallel + ": " + *problem);
  }
  a.strategy = compose_strategies(parse_strategy_string(q.strategy, names.strategy), model, q.tensor_parallel,
                                  q.block_size, names.strategy);
  if (!q.chunked_prefill && q.context > q.max_num_batched_tokens) {
    throw KvsimError(fmt::format("{}: the {}-token prompt runs in one step, longer than {} {} (kvsim run rejects "
                                 "it); raise {} to at least {}",
                                 names.chunked_prefill, q.context, names.max_num_batched_tokens,
                                 q.max_num_batched_tokens, names.max_num_batched_tokens, names.context));
  }
  std::optional<double> capacity;
  if (!q.gpu.empty()) {
    const GpuSpec& gpu = cat.gpu(q.gpu, names.gpu);
    capacity = static_cast<double>(compute_kv_capacity(model, gpu, q.tensor_parallel, q.gpu_memory_utilization,
                                                       q.activation_reserve_GiB, q.max_num_batched_tokens, 256)
                                       .kv_bytes);
  }
  a.report = kv_size(a.strategy.layout, q.context, capacity, {q.chunked_prefill, q.max_num_batched_tokens});
  return a;
}

nlohmann::json to_json(const KvSizeAnswer& a, const KvSizeQuery& q) {
  nlohmann::json j = to_json(a.report);
  j["model"] = a.model->name;
  j["strategy"] = a.strategy.resolved;
  j["strategy_label"] = a.strategy.label;
  j["gpu"] = q.gpu.empty() ? nlohmann::json(nullptr) : nlohmann::json(q.gpu);
  j["tensor_parallel"] = q.tensor_parallel;
  j["bytes_scope"] = "per GPU";  // every *_bytes* figure; with tensor parallelism each GPU holds 1/tp of the heads
  return j;
}

}  // namespace kvsim
