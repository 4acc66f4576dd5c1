// Importer of Vidur's mlp.csv (../shared/gpu-data/vidur, see its PROVENANCE.md): per-op times of one transformer
// layer of a model, profiled by vidur/profiling/mlp (sarathi-serve layers, eager PyTorch, model cast to
// torch.float16) for num_tokens 1..4096 and tensor-parallel degree num_tensor_parallel_workers.
//
// Columns used (per row; the model-shape columns must be the same on every row, one file = one model):
//   n_head, n_kv_head, n_embd, n_expanded_embd, use_gated_mlp   model shape; head_dim = n_embd / n_head
//   num_tokens                                                  GEMM m
//   num_tensor_parallel_workers (tp)                            the GEMMs are the per-GPU shards
//   time_stats.<op>.median (ms), for the four linear layers, each -> one GemmPoint (dtype fp16):
//     attn_pre_proj  (QKV, column-parallel)  n = (n_head + 2 n_kv_head) head_dim / tp, k = n_embd
//     attn_post_proj (O, row-parallel)       n = n_embd,                             k = n_head head_dim / tp
//     mlp_up_proj    (gate+up, column-par.)  n = (2 if use_gated_mlp else 1) n_expanded_embd / tp, k = n_embd
//     mlp_down_proj  (row-parallel)          n = n_embd,                             k = n_expanded_embd / tp
//   The median is the statistic Vidur's own execution-time predictor trains on.
// Columns not used: time_stats.<op>.{min,max,mean,std} of those ops; every time_stats column of emb,
// input_layernorm, attn_rope, post_attention_layernorm, mlp_act and add (not GEMMs); vocab_size (embedding only).
// Divisibility follows Vidur's asserts (n_embd % n_head, n_head % tp, n_kv_head % tp, n_expanded_embd % tp);
// a row that breaks it is an error. source_row = the file's line; each row yields four points with that line.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>

#include "models/profile/csv_table.h"
#include "models/profile/import_common.h"
#include "models/profile/profile.h"
#include "sim/core/error.h"

namespace kvsim {

namespace {

namespace fs = std::filesystem;
using profile_impl::CsvTable;

constexpr double kMsPerSecond = 1000;  // ms / 1000 rounds once (ms * 1e-3 may differ by an ulp)
constexpr std::string_view kStatistic = "median";

struct Shape {
  std::int64_t n_head = 0, n_kv_head = 0, n_embd = 0, n_expanded = 0;
  bool gated = false;
  bool operator==(const Shape&) const = default;
};

struct LinearOp {
  std::string_view name;
  std::size_t column = 0;  // time_stats.<name>.median
};

// "meta-llama/Llama-2-7b-hf" from .../<org>/<model>/mlp.csv, and the device folder after "compute" ("h100").
std::string model_name_of(const fs::path& csv) {
  const fs::path model = csv.parent_path();
  if (model.empty()) return "";
  const fs::path org = model.parent_path();
  return org.filename().empty() ? model.filename().string() : (org.filename() / model.filename()).generic_string();
}

std::string device_folder_of(const fs::path& csv) {
  std::optional<std::string> prev;
  for (const fs::path& part : csv) {
    if (prev && *prev == "compute") return part.string();
    prev = part.string();
  }
  return "";
}

}  // namespace

Profile import_vidur_mlp(const std::filesystem::path& mlp_csv, const std::string& gpu) {
  CsvTable t(mlp_csv);
  const std::size_t c_head = t.column("n_head"), c_kv_head = t.column("n_kv_head"), c_embd = t.column("n_embd"),
                    c_expanded = t.column("n_expanded_embd"), c_gated = t.column("use_gated_mlp"),
                    c_tokens = t.column("num_tokens"), c_tp = t.column("num_tensor_parallel_workers");
  std::vector<LinearOp> ops;
  for (std::string_view op : {"attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj"}) {
    ops.push_back({op, t.column(fmt::format("time_stats.{}.{}", op, kStatistic))});
  }

  Profile p;
  std::optional<Shape> shape;
  std::map<std::int64_t, std::int64_t> rows_per_tp;
  while (t.next()) {
    const Shape s{t.positive_integer(c_head), t.positive_integer(c_kv_head), t.positive_integer(c_embd),
                  t.positive_integer(c_expanded), t.boolean(c_gated)};
    if (!shape) {
      shape = s;
    } else if (!(s == *shape)) {
      t.fail_row(
          fmt::format("model shape (n_head {}, n_kv_head {}, n_embd {}, n_expanded_embd {}, use_gated_mlp {}) "
                      "differs from the first row's; one mlp.csv holds one model",
                      s.n_head, s.n_kv_head, s.n_embd, s.n_expanded, s.gated));
    }
    const std::int64_t tokens = t.positive_integer(c_tokens);
    const std::int64_t tp = t.positive_integer(c_tp);
    if (s.n_embd % s.n_head != 0) t.fail(c_embd, fmt::format("{} is not a multiple of n_head {}", s.n_embd, s.n_head));
    if (s.n_head % tp != 0 || s.n_kv_head % tp != 0 || s.n_expanded % tp != 0) {
      t.fail(c_tp, fmt::format("{} does not divide n_head {}, n_kv_head {} and n_expanded_embd {}", tp, s.n_head,
                               s.n_kv_head, s.n_expanded));
    }
    ++rows_per_tp[tp];
    const std::int64_t head_dim = s.n_embd / s.n_head;
    const std::int64_t nk[4][2] = {
        {(s.n_head + 2 * s.n_kv_head) * head_dim / tp, s.n_embd},  // attn_pre_proj (QKV)
        {s.n_embd, s.n_head * head_dim / tp},                      // attn_post_proj (O)
        {(s.gated ? 2 : 1) * s.n_expanded / tp, s.n_embd},         // mlp_up_proj (gate+up)
        {s.n_embd, s.n_expanded / tp},                             // mlp_down_proj
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
      GemmPoint g;
      g.m = tokens;
      g.n = nk[i][0];
      g.k = nk[i][1];
      g.dtype = "fp16";
      g.seconds = t.positive_number(ops[i].column) / kMsPerSecond;
      g.source_row = t.line();
      p.gemm.push_back(std::move(g));
    }
  }
  if (!shape) throw KvsimError(fmt::format("{}: no data rows", t.path()));

  std::vector<std::string> used = {
      "n_head", "n_kv_head", "n_embd", "n_expanded_embd", "use_gated_mlp", "num_tokens", "num_tensor_parallel_workers"};
  for (const LinearOp& op : ops) used.push_back(t.columns()[op.column]);
  std::vector<std::string> unused;
  for (const std::string& c : t.columns()) {
    if (std::find(used.begin(), used.end(), c) == used.end()) unused.push_back(c);
  }
  nlohmann::json tp_rows = nlohmann::json::object();
  for (const auto& [tp, n] : rows_per_tp) tp_rows[std::to_string(tp)] = n;

  const std::string model = model_name_of(mlp_csv);
  p.gpu = gpu;
  p.device_name = device_folder_of(mlp_csv);
  p.source = model.empty() ? "vidur" : fmt::format("vidur {}", model);
  p.provenance = {
      {"importer", "vidur-mlp"},
      {"files",
       {{{"path", mlp_csv.string()},
         {"bytes", t.file_bytes()},
         {"rows", t.rows_read()},
         {"kept", t.rows_read()},
         {"points_per_row", ops.size()}}}},
      {"model", model},
      {"model_shape",
       {{"n_head", shape->n_head},
        {"n_kv_head", shape->n_kv_head},
        {"n_embd", shape->n_embd},
        {"n_expanded_embd", shape->n_expanded},
        {"use_gated_mlp", shape->gated}}},
      {"rows_per_tensor_parallel", tp_rows},
      {"skipped_rows", nlohmann::json::object()},
      {"duplicate_points", profile_impl::count_duplicate_points(p)},
      {"seconds", fmt::format("time_stats.<op>.{} (ms) / 1000; eager PyTorch, CUDA events", kStatistic)},
      {"dtype", "fp16: vidur/profiling/mlp/mlp_wrapper.py casts the model to torch.float16 (not in the file)"},
      {"mapping",
       "m = num_tokens; attn_pre_proj: n = (n_head + 2 n_kv_head) head_dim / tp, k = n_embd; attn_post_proj: "
       "n = n_embd, k = n_embd / tp; mlp_up_proj: n = 2 n_expanded_embd / tp (gated), k = n_embd; "
       "mlp_down_proj: n = n_embd, k = n_expanded_embd / tp"},
      {"columns_used", used},
      {"columns_not_used", unused},
      {"device_name", "the folder after data/profiling/compute/ in the path; the file records no device"}};
  return p;
}

}  // namespace kvsim
