// `kvsim cost`: the predicted time of one kernel launch on a GPU under a cost-model backend, with what bounds it
// and where the number comes from.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "models/cost/kernel_cost_model.h"
#include "models/cost/single_op.h"
#include "models/profile/profile.h"
#include "models/spec/catalog.h"
#include "sim/core/error.h"
#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"

namespace kvsim::cli {

void add_cost_command(CLI::App& app) {
  struct Args {
    std::string gpu, backend = "roofline", op, kv_dtype = "bf16", profile, aiconfigurator, framework = "vllm",
                version = "0.24.0", calibration, l2_cache = "cold";
    double batch = 1, kv_len = 0, isl = 0, cached = 0, m = 0, n = 0, k = 0, bytes = 0;
    int q_heads = 32, kv_heads = 8, head_dim = 128, gpus = 2;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "cost",
      "Predicted time of one kernel launch: --op decode-attention (--batch --kv-len --q-heads --kv-heads --head-dim\n"
      "--kv-dtype), prefill-attention (--batch --isl [--cached] and heads), gemm (--m --n --k), all-reduce (--bytes\n"
      "--gpus). Heads are per GPU. --backend measured needs --profile FILE or --aiconfigurator DIR.");
  cmd->add_option("--gpu", a->gpu, "GPU name (kvsim list gpus)")->required();
  cmd->add_option("--backend", a->backend, "cost-model backend (kvsim list cost-models)")->default_str("roofline");
  cmd->add_option("--op", a->op, "decode-attention | prefill-attention | gemm | all-reduce")
      ->required()
      ->check(CLI::IsMember({"decode-attention", "prefill-attention", "gemm", "all-reduce"}));
  cmd->add_option("--batch", a->batch, "sequences")->check(number_in(1, 1e6));
  cmd->add_option("--kv-len", a->kv_len, "decode: KV tokens read per sequence")->check(number_in(0, 1 << 30, "tokens"));
  cmd->add_option("--isl", a->isl, "prefill: new tokens per sequence")->check(number_in(0, 1 << 30, "tokens"));
  cmd->add_option("--cached", a->cached, "prefill: tokens already cached per sequence")->check(number_in(0, 1 << 30, "tokens"));
  cmd->add_option("--q-heads", a->q_heads, "query heads per GPU")->check(integer_in(1, 4096));
  cmd->add_option("--kv-heads", a->kv_heads, "KV heads per GPU")->check(integer_in(1, 4096));
  cmd->add_option("--head-dim", a->head_dim, "head dimension")->check(integer_in(1, 4096));
  cmd->add_option("--kv-dtype", a->kv_dtype, "bf16 | fp16 | fp8 | int8 | int4 | int2")
      ->check(CLI::IsMember({"bf16", "fp16", "fp8", "int8", "int4", "int2"}));
  cmd->add_option("--m", a->m, "GEMM rows (tokens)")->check(number_in(0, 1 << 30));
  cmd->add_option("--n", a->n, "GEMM output columns")->check(number_in(0, 1 << 30));
  cmd->add_option("--k", a->k, "GEMM inner dimension")->check(number_in(0, 1 << 30));
  cmd->add_option("--bytes", a->bytes, "all-reduce message bytes")->check(number_in(0, 1e15, "bytes"));
  cmd->add_option("--gpus", a->gpus, "all-reduce GPUs")->check(integer_in(2, 64));
  cmd->add_option("--calibration", a->calibration,
                  "calibrated, hybrid: a calibration.json from kvsim calibrate --out, possibly fitted on another GPU "
                  "(its family fits carry through --gpu's datasheet numbers; its per-shape fits apply only to the GPU "
                  "they were measured on), or builtin: the calibration kvsim ships for --gpu (without --calibration or "
                  "measurements, calibrated uses it)")
      ->check(CLI::ExistingFile | CLI::IsMember({"builtin"}));
  cmd->add_option("--profile", a->profile, "measured: a kvsim profile JSON");
  cmd->add_option("--aiconfigurator", a->aiconfigurator, "measured: an aiconfigurator system folder");
  cmd->add_option("--framework", a->framework, "measured: aiconfigurator framework")->default_str("vllm");
  cmd->add_option("--version", a->version, "measured: aiconfigurator version")->default_str("0.24.0");
  cmd->add_option("--l2-cache", a->l2_cache,
                  "calibrated, hybrid: cold (weights and KV read from memory, as in a serving step) or benchmark (as "
                  "the measured tables were taken: operands that fit in L2 read from it)")
      ->check(CLI::IsMember({"cold", "benchmark"}))
      ->default_str("cold");
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->callback([a] {
    const GpuSpec& gpu = Catalog::builtin().gpu(a->gpu, "--gpu");
    nlohmann::json params = nlohmann::json::object();
    if (!a->profile.empty()) params["profile"] = std::filesystem::absolute(a->profile).string();
    if (!a->calibration.empty()) {
      params["calibration"] =
          a->calibration == "builtin" ? a->calibration : std::filesystem::absolute(a->calibration).string();
    }
    if (a->backend == "calibrated" || a->backend == "hybrid") params["l2_cache"] = a->l2_cache;
    if (!a->aiconfigurator.empty()) {
      params["aiconfigurator"] = std::filesystem::absolute(a->aiconfigurator).string();
      params["framework"] = a->framework;
      params["version"] = a->version;
    }
    ParamReader reader(params, "--backend " + a->backend);
    std::unique_ptr<IKernelCostModel> model =
        cost_models().get(a->backend, "--backend").factory(reader, gpu, std::filesystem::current_path());
    reader.finish();
    const auto need = [](bool ok, const char* what) {
      if (!ok) throw KvsimError(std::string("--op needs ") + what);
    };
    KernelOp op;
    OpShape s;
    s.batch = a->batch;
    s.q_heads = a->q_heads;
    s.kv_heads = a->kv_heads;
    s.head_dim = a->head_dim;
    s.kv_bits = dtype_bits(a->kv_dtype);
    if (a->op == "decode-attention") {
      need(a->kv_len > 0, "--kv-len > 0");
      s.kv_len = a->kv_len;
      op = decode_attention_op(s);
    } else if (a->op == "prefill-attention") {
      need(a->isl > 0, "--isl > 0");
      s.tokens = a->isl;
      s.kv_len = a->cached;
      op = prefill_attention_op(s);
    } else if (a->op == "gemm") {
      need(a->m > 0 && a->n > 0 && a->k > 0, "--m, --n and --k > 0");
      op = gemm_op(a->m, a->n, a->k);
    } else {
      need(a->bytes > 0, "--bytes > 0");
      op = all_reduce_op(a->bytes, a->gpus);
    }
    const CostEstimate e = model->estimate(op);
    if (a->json) {
      fmt::print("{}\n", nlohmann::json{{"op", a->op},
                                        {"gpu", gpu.name},
                                        {"backend", a->backend},
                                        {"seconds", e.seconds},
                                        {"bound", bound_name(e.bound)},
                                        {"source", source_name(e.source)},
                                        {"flops", e.flops},
                                        {"bytes", e.bytes},
                                        {"achieved_tflops", e.seconds > 0 ? e.flops / e.seconds / 1e12 : 0.0},
                                        {"achieved_GBps", e.seconds > 0 ? e.bytes / e.seconds / 1e9 : 0.0}}
                             .dump(2));
      return;
    }
    fmt::print("{} on {} ({}): {:.3f} us, {}-bound, source {}\n", a->op, gpu.name, a->backend, e.seconds * 1e6,
               bound_name(e.bound), source_name(e.source));
    fmt::print("  {:.4g} FLOP, {:.4g} bytes -> {:.1f} TFLOP/s, {:.1f} GB/s\n", e.flops, e.bytes,
               e.seconds > 0 ? e.flops / e.seconds / 1e12 : 0.0, e.seconds > 0 ? e.bytes / e.seconds / 1e9 : 0.0);
  });
}

}  // namespace kvsim::cli
