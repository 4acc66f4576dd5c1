// `kvsim cost`: the predicted time of one kernel launch on a GPU under a cost-model backend, with what bounds it
// and where the number comes from.
#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "models/cost/cost_query.h"
#include "models/profile/profile.h"
#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"

namespace kvsim::cli {

namespace {

// The names a flag accepts (IsMember) and its help text, from the library's list.
std::vector<std::string> names(std::span<const std::string_view> list) { return {list.begin(), list.end()}; }
std::string alternatives(std::span<const std::string_view> list) { return fmt::format("{}", fmt::join(list, " | ")); }

std::string cost_flag(const std::string& field) {
  std::string f = "--" + field;
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

}  // namespace

void add_cost_command(CLI::App& app) {
  using L = CostLimits;
  auto q = std::make_shared<CostQuery>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "cost",
      "Predicted time of one kernel launch: --op decode-attention (--batch --kv-len --q-heads --kv-heads --head-dim\n"
      "--kv-dtype), prefill-attention (--batch --isl [--cached] and heads), gemm (--m --n --k), all-reduce (--bytes\n"
      "--gpus). Heads are per GPU. --backend measured needs --profile FILE or --aiconfigurator DIR.");
  cmd->add_option("--gpu", q->gpu, "GPU name (kvsim list gpus)")->required();
  cmd->add_option("--backend", q->backend, "cost-model backend (kvsim list cost-models)")->default_str("roofline");
  cmd->add_option("--op", q->op, alternatives(kCostOps))->required()->check(CLI::IsMember(names(kCostOps)));
  cmd->add_option("--batch", q->batch, "sequences")->check(number_in(1, L::kMaxBatch));
  cmd->add_option("--kv-len", q->kv_len, "decode: KV tokens read per sequence")
      ->check(number_in(0, L::kMaxTokens, "tokens"));
  cmd->add_option("--isl", q->isl, "prefill: new tokens per sequence")->check(number_in(0, L::kMaxTokens, "tokens"));
  cmd->add_option("--cached", q->cached, "prefill: tokens already cached per sequence")
      ->check(number_in(0, L::kMaxTokens, "tokens"));
  cmd->add_option("--q-heads", q->q_heads, "query heads per GPU")->check(integer_in(1, L::kMaxHeads));
  cmd->add_option("--kv-heads", q->kv_heads, "KV heads per GPU")->check(integer_in(1, L::kMaxHeads));
  cmd->add_option("--head-dim", q->head_dim, "head dimension")->check(integer_in(1, L::kMaxHeads));
  cmd->add_option("--kv-dtype", q->kv_dtype, alternatives(kProfileKvDtypes))
      ->check(CLI::IsMember(names(kProfileKvDtypes)));
  cmd->add_option("--m", q->m, "GEMM rows (tokens)")->check(number_in(0, L::kMaxGemmDim));
  cmd->add_option("--n", q->n, "GEMM output columns")->check(number_in(0, L::kMaxGemmDim));
  cmd->add_option("--k", q->k, "GEMM inner dimension")->check(number_in(0, L::kMaxGemmDim));
  cmd->add_option("--bytes", q->bytes, "all-reduce message bytes")->check(number_in(0, L::kMaxBytes, "bytes"));
  cmd->add_option("--gpus", q->gpus, "all-reduce GPUs")->check(integer_in(L::kMinGpus, L::kMaxGpus));
  cmd->add_option("--calibration", q->calibration,
                  "calibrated, hybrid: a calibration.json from kvsim calibrate --out, possibly fitted on another GPU "
                  "(its family fits carry through --gpu's datasheet numbers; its per-shape fits apply only to the GPU "
                  "they were measured on), or builtin: the calibration kvsim ships for --gpu (without --calibration or "
                  "measurements, calibrated uses it)")
      ->check(CLI::ExistingFile | CLI::IsMember({"builtin"}));
  cmd->add_option("--profile", q->profile, "measured: a kvsim profile JSON");
  cmd->add_option("--aiconfigurator", q->aiconfigurator, "measured: an aiconfigurator system folder");
  cmd->add_option("--framework", q->framework, "measured: aiconfigurator framework")->default_str("vllm");
  cmd->add_option("--version", q->version, "measured: aiconfigurator version")->default_str("0.24.0");
  cmd->add_option("--l2-cache", q->l2_cache,
                  "calibrated, hybrid: cold (weights and KV read from memory, as in a serving step) or benchmark (as "
                  "the measured tables were taken: operands that fit in L2 read from it)")
      ->check(CLI::IsMember(names(kCostL2Modes)))
      ->default_str("cold");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([q, json] {
    const CostAnswer a = answer_cost(*q, std::filesystem::current_path(), cost_flag);
    const CostEstimate& e = a.estimate;
    if (*json) {
      fmt::print("{}\n", to_json(a, *q).dump(2));
      return;
    }
    fmt::print("{} on {} ({}): {:.3f} us, {}-bound, source {}\n", q->op, a.gpu, q->backend, e.seconds * 1e6,
               bound_name(e.bound), source_name(e.source));
    fmt::print("  {:.4g} FLOP, {:.4g} bytes -> {:.1f} TFLOP/s, {:.1f} GB/s\n", e.flops, e.bytes,
               e.seconds > 0 ? e.flops / e.seconds / 1e12 : 0.0, e.seconds > 0 ? e.bytes / e.seconds / 1e9 : 0.0);
  });
}

}  // namespace kvsim::cli
