// Importer of NVIDIA aiconfigurator's perf tables (CSV copies in ../shared/gpu-data/aiconfigurator; columns and
// known issues in its PROVENANCE.md) into a kvsim Profile.
//
// Files read under `system_dir` (e.g. .../aiconfigurator/h100_sxm):
//   attention/<framework>/<version>/generation_attention_perf.csv   required
//   attention/<framework>/<version>/context_attention_perf.csv      required
//   gemm/<framework>/<version>/gemm_perf.csv                        if present (TRT-LLM tables have none here)
//   moe/<framework>/<version>/moe_perf.csv                          if present (H100 and RTX PRO 6000 vLLM 0.24.0,
//                                                                   A100 vLLM 0.14.0)
//   comm/nccl/<any version>/nccl_perf.csv                           every folder, in name order
//
// Row mapping (latency is mean milliseconds per call; seconds = latency / 1000; source_row = the file's line):
//   generation_attention -> DecodeAttentionPoint: batch = batch_size, kv_len = step + 1 (step tokens already in
//       the paged cache plus the new one; isl must be 1), q_heads = num_heads, kv_heads = num_key_value_heads
//       (per GPU), head_dim, kv_dtype from kv_cache_dtype (bfloat16 -> bf16, float16 -> fp16, fp8 -> fp8).
//   context_attention -> PrefillAttentionPoint: batch, isl, cached = step (always 0 in these tables), heads,
//       head_dim, kv_dtype as above.
//   gemm -> GemmPoint: m, n, k, dtype from gemm_dtype (bfloat16 -> bf16, float16 -> fp16, fp8 -> fp8).
//   moe -> MoePoint: tokens = num_tokens, hidden = hidden_size, intermediate = inter_size / moe_tp_size (the table's
//       inter_size is the model's expert width; the collector runs inter_size // moe_tp_size per GPU), experts =
//       num_experts, topk, tp = moe_tp_size, dtype from moe_dtype (bfloat16 -> bf16, float16 -> fp16). Only rows
//       that match kvsim's MoE model are kept: moe_dtype bfloat16/float16 (kvsim's MoE op has no quantized-expert
//       kernel), moe_ep_size 1 (kvsim shards experts by TP) and distribution "balanced" (the collector spreads each
//       token's top-k experts evenly so every expert gets ~T*k/E tokens: kvsim prices uniform routing; the
//       power_law_* rows route to a skewed set of hot experts).
//   nccl all_reduce and alltoall (column op_name) -> CollectivePoint (Profile::all_reduce, Profile::all_to_all):
//       bytes = message_size x element size of nccl_dtype (half 2 -> fp16, bfloat16 2 -> bf16, float 4 -> fp32,
//       int8 1 -> int8; for alltoall each GPU's whole send buffer, as nccl-tests sizes it), gpus = num_gpus.
// Rows kept as measured (repeats included; provenance.duplicate_points counts them). Rows skipped, counted by
// reason in provenance.skipped_rows and per file: window_size != 0 (tables without the column are full
// attention), beam_width != 1, attn_dtype other than bfloat16 (FP8 attention math: no field for it), a dtype
// outside the mappings above, context step != 0, nccl all_gather and reduce_scatter, and MoE rows with another
// moe_dtype, moe_ep_size != 1 or a distribution other than balanced (checked in that order).
// Errors (file:line): malformed numbers, non-positive sizes or latencies, a row whose op_name, framework or
// version (attention, GEMM and MoE tables) differs from its file's, a device name that differs between rows, an MoE
// inter_size not divisible by moe_tp_size or a topk above num_experts.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "models/profile/csv_table.h"
#include "models/profile/import_common.h"
#include "models/profile/profile.h"
#include "sim/core/error.h"

namespace kvsim {

namespace {

namespace fs = std::filesystem;
using profile_impl::CsvTable;

constexpr double kMsPerSecond = 1000;  // ms / 1000 rounds once (ms * 1e-3 may differ by an ulp)

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<std::string> kv_dtype_of(std::string_view s) {
  if (s == "bfloat16") return "bf16";
  if (s == "float16") return "fp16";
  if (s == "fp8") return "fp8";
  return std::nullopt;
}

std::optional<std::string> gemm_dtype_of(std::string_view s) {
  if (s == "bfloat16") return "bf16";
  if (s == "float16") return "fp16";
  if (s == "fp8") return "fp8";
  return std::nullopt;
}

// 16-bit MoE expert weights only (fp8, fp8_block, nvfp4, w4a16_mxfp4, int4_wo: no quantized MoE kernel in kvsim).
std::optional<std::string> moe_dtype_of(std::string_view s) {
  if (s == "bfloat16") return "bf16";
  if (s == "float16") return "fp16";
  return std::nullopt;
}

constexpr std::string_view kMoeDistribution = "balanced";

struct NcclDtype {
  std::string name;
  int bytes;
};
std::optional<NcclDtype> nccl_dtype_of(std::string_view s) {
  if (s == "half") return NcclDtype{"fp16", 2};
  if (s == "bfloat16") return NcclDtype{"bf16", 2};
  if (s == "float") return NcclDtype{"fp32", 4};
  if (s == "int8") return NcclDtype{"int8", 1};
  return std::nullopt;
}

// Names of the sub-folders of `dir` relative to `base`, sorted, for "available: ..." messages.
std::vector<std::string> subfolders(const fs::path& dir, const fs::path& base) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory()) out.push_back(fs::relative(it->path(), base).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One table being read: the common columns checked on every row, and its provenance entry.
class TableScan {
 public:
  // `op_name` is the op every row must have ("" = any, filtered by the caller); `framework`/`version` (lower
  // case) are checked against the row's columns unless empty.
  TableScan(const fs::path& system_dir, const fs::path& rel, std::string op_name, std::string framework,
            std::string version, std::string& device)
      : rel_(rel.generic_string()),
        t_(system_dir / rel),
        op_name_(std::move(op_name)),
        framework_(std::move(framework)),
        version_(std::move(version)),
        device_(device),
        c_framework_(t_.column("framework")),
        c_version_(t_.column("version")),
        c_device_(t_.column("device")),
        c_op_(t_.column("op_name")),
        c_latency_(t_.column("latency")) {
    if (t_.has_column("kernel_source")) c_kernel_ = t_.column("kernel_source");
  }

  CsvTable& table() { return t_; }

  // Next row, with the common columns checked; false at the end.
  bool next() {
    if (!t_.next()) return false;
    const std::string_view dev = t_.text(c_device_);
    if (dev.empty()) t_.fail(c_device_, "is empty; expected the GPU's name");
    if (device_.empty()) {
      device_ = std::string(dev);
    } else if (dev != device_) {
      t_.fail(c_device_, fmt::format("is '{}' but earlier rows name '{}'; a profile is one GPU", dev, device_));
    }
    if (!op_name_.empty() && t_.text(c_op_) != op_name_) {
      t_.fail(c_op_, fmt::format("is '{}'; expected '{}' in this table", t_.text(c_op_), op_name_));
    }
    if (!framework_.empty() && lower(t_.text(c_framework_)) != framework_) {
      t_.fail(c_framework_,
              fmt::format("is '{}'; expected '{}' (the folder's framework)", t_.text(c_framework_), framework_));
    }
    if (!version_.empty() && t_.text(c_version_) != version_) {
      t_.fail(c_version_, fmt::format("is '{}'; expected '{}' (the folder's version)", t_.text(c_version_), version_));
    }
    versions_.insert(std::string(t_.text(c_version_)));
    if (c_kernel_) kernel_sources_.insert(std::string(t_.text(*c_kernel_)));
    return true;
  }

  double seconds() const { return t_.positive_number(c_latency_) / kMsPerSecond; }
  std::string_view op() const { return t_.text(c_op_); }
  void keep() { ++kept_; }
  void skip(const std::string& reason, std::map<std::string, std::int64_t>& total) {
    profile_impl::count_skip(skipped_, reason);
    profile_impl::count_skip(total, reason);
  }

  nlohmann::json provenance() const {
    return {{"path", rel_},        {"bytes", t_.file_bytes()}, {"rows", t_.rows_read()},           {"kept", kept_},
            {"skipped", skipped_}, {"versions", versions_},    {"kernel_sources", kernel_sources_}};
  }

 private:
  std::string rel_;
  CsvTable t_;
  std::string op_name_, framework_, version_;
  std::string& device_;
  std::size_t c_framework_, c_version_, c_device_, c_op_, c_latency_;
  std::optional<std::size_t> c_kernel_;
  std::int64_t kept_ = 0;
  std::map<std::string, std::int64_t> skipped_;
  std::set<std::string> versions_, kernel_sources_;
};

int to_int(const CsvTable& t, std::size_t col, std::int64_t v) {
  if (v > std::numeric_limits<int>::max()) t.fail(col, fmt::format("is {}; too large", v));
  return static_cast<int>(v);
}

// Heads and head_dim of an attention row (all >= 1, q a multiple of kv).
struct Heads {
  int q = 0, kv = 0, dim = 0;
};
Heads read_heads(const CsvTable& t, std::size_t c_q, std::size_t c_kv, std::size_t c_dim) {
  Heads h{to_int(t, c_q, t.positive_integer(c_q)), to_int(t, c_kv, t.positive_integer(c_kv)),
          to_int(t, c_dim, t.positive_integer(c_dim))};
  if (h.q % h.kv != 0) t.fail(c_q, fmt::format("{} is not a multiple of num_key_value_heads {}", h.q, h.kv));
  return h;
}

// The reasons a generation/context row cannot be used, shared by both attention tables; nullopt = usable.
struct AttentionColumns {
  std::size_t batch, isl, q, kv, dim, beam, attn_dtype, kv_dtype, step;
  std::optional<std::size_t> window;
  explicit AttentionColumns(const CsvTable& t)
      : batch(t.column("batch_size")),
        isl(t.column("isl")),
        q(t.column("num_heads")),
        kv(t.column("num_key_value_heads")),
        dim(t.column("head_dim")),
        beam(t.column("beam_width")),
        attn_dtype(t.column("attn_dtype")),
        kv_dtype(t.column("kv_cache_dtype")),
        step(t.column("step")) {
    if (t.has_column("window_size")) window = t.column("window_size");
  }
  std::optional<std::string> skip_reason(const CsvTable& t) const {
    if (window && t.non_negative_integer(*window) != 0) return "window_size != 0 (sliding window)";
    if (t.positive_integer(beam) != 1) return "beam_width != 1";
    if (t.text(attn_dtype) != "bfloat16")
      return fmt::format("attn_dtype {} (only bfloat16 attention math)", t.text(attn_dtype));
    if (!kv_dtype_of(t.text(kv_dtype))) return fmt::format("kv_cache_dtype {} (no kvsim dtype)", t.text(kv_dtype));
    return std::nullopt;
  }
};

class AiconfiguratorImporter {
 public:
  AiconfiguratorImporter(fs::path system_dir, std::string framework, std::string version)
      : dir_(std::move(system_dir)), framework_(std::move(framework)), version_(std::move(version)) {}

  Profile run(const std::string& gpu) {
    const fs::path attention = fs::path("attention") / framework_ / version_;
    if (!fs::is_directory(dir_ / attention)) {
      const std::vector<std::string> have = subfolders(dir_ / "attention", dir_ / "attention");
      std::vector<std::string> versions;
      for (const std::string& fw : have) {
        for (const std::string& v : subfolders(dir_ / "attention" / fw, dir_ / "attention")) versions.push_back(v);
      }
      throw KvsimError(
          fmt::format("{}: no folder {}; aiconfigurator attention tables here (framework/version): {}", dir_.string(),
                      attention.generic_string(),
                      versions.empty() ? std::string("none") : fmt::format("{}", fmt::join(versions, ", "))));
    }
    read_generation(attention / "generation_attention_perf.csv");
    read_context(attention / "context_attention_perf.csv");
    const fs::path gemm = fs::path("gemm") / framework_ / version_ / "gemm_perf.csv";
    if (fs::exists(dir_ / gemm)) {
      read_gemm(gemm);
    } else {
      notes_.push_back(fmt::format("no {}: the profile has no GEMM points", gemm.generic_string()));
    }
    const fs::path moe = fs::path("moe") / framework_ / version_ / "moe_perf.csv";
    if (fs::exists(dir_ / moe)) {
      read_moe(moe);
      if (p_.moe.empty()) {
        notes_.push_back(fmt::format("{} has no balanced-routing bf16/fp16 rows with moe_ep_size 1: no MoE points",
                                     moe.generic_string()));
      }
    } else {
      notes_.push_back(fmt::format("no {}: the profile has no MoE points", moe.generic_string()));
    }
    const std::vector<std::string> nccl = subfolders(dir_ / "comm" / "nccl", dir_);
    for (const std::string& folder : nccl) {
      const fs::path file = fs::path(folder) / "nccl_perf.csv";
      if (fs::exists(dir_ / file)) read_nccl(file);
    }
    if (p_.all_reduce.empty()) notes_.push_back("no comm/nccl/*/nccl_perf.csv all_reduce rows: no all-reduce points");

    p_.gpu = gpu;
    p_.device_name = device_;
    p_.source = fmt::format("aiconfigurator {} {}", framework_, version_);
    p_.provenance = {
        {"importer", "aiconfigurator"},
        {"system_dir", dir_.string()},
        {"framework", framework_},
        {"version", version_},
        {"devices", std::vector<std::string>{device_}},
        {"files", files_},
        {"skipped_rows", skipped_},
        {"duplicate_points", profile_impl::count_duplicate_points(p_)},
        {"seconds", "latency column (mean ms per call, CUDA-graph replays between CUDA events) / 1000"},
        {"mapping",
         "generation_attention: kv_len = step + 1, heads per GPU; context_attention: cached = step; gemm: m, n, k; "
         "moe: tokens = num_tokens, intermediate = inter_size / moe_tp_size (per GPU), tp = moe_tp_size, rows with "
         "distribution balanced, moe_dtype bfloat16/float16 and moe_ep_size 1 only; "
         "nccl all_reduce and alltoall: bytes = message_size x element size of nccl_dtype (alltoall: each GPU's send "
         "buffer), gpus = num_gpus"},
        {"not_imported",
         "comm/vllm/*/custom_allreduce_perf.csv (vLLM custom all-reduce); nccl all_gather and "
         "reduce_scatter"},
        {"notes", notes_}};
    return std::move(p_);
  }

 private:
  void read_generation(const fs::path& rel) {
    TableScan s(dir_, rel, "generation_attention", lower(framework_), version_, device_);
    CsvTable& t = s.table();
    const AttentionColumns c(t);
    if (!c.window)
      notes_.push_back(fmt::format("{} has no window_size column: all rows full attention", rel.generic_string()));
    while (s.next()) {
      if (const auto why = c.skip_reason(t)) {
        s.skip(*why, skipped_);
        continue;
      }
      const std::int64_t isl = t.positive_integer(c.isl);
      if (isl != 1) t.fail(c.isl, fmt::format("is {}; a generation step has isl 1", isl));
      const Heads h = read_heads(t, c.q, c.kv, c.dim);
      DecodeAttentionPoint d;
      d.batch = t.positive_integer(c.batch);
      d.kv_len = t.non_negative_integer(c.step) + 1;
      d.q_heads = h.q;
      d.kv_heads = h.kv;
      d.head_dim = h.dim;
      d.kv_dtype = *kv_dtype_of(t.text(c.kv_dtype));
      d.seconds = s.seconds();
      d.source_row = t.line();
      p_.decode_attention.push_back(std::move(d));
      s.keep();
    }
    files_.push_back(s.provenance());
  }

  void read_context(const fs::path& rel) {
    TableScan s(dir_, rel, "context_attention", lower(framework_), version_, device_);
    CsvTable& t = s.table();
    const AttentionColumns c(t);
    if (!c.window)
      notes_.push_back(fmt::format("{} has no window_size column: all rows full attention", rel.generic_string()));
    while (s.next()) {
      if (auto why = c.skip_reason(t)) {
        s.skip(*why, skipped_);
        continue;
      }
      const std::int64_t step = t.non_negative_integer(c.step);
      if (step != 0) {
        s.skip("context step != 0 (meaning of a cached prefix not documented)", skipped_);
        continue;
      }
      const Heads h = read_heads(t, c.q, c.kv, c.dim);
      PrefillAttentionPoint a;
      a.batch = t.positive_integer(c.batch);
      a.isl = t.positive_integer(c.isl);
      a.cached = step;
      a.q_heads = h.q;
      a.kv_heads = h.kv;
      a.head_dim = h.dim;
      a.kv_dtype = *kv_dtype_of(t.text(c.kv_dtype));
      a.seconds = s.seconds();
      a.source_row = t.line();
      p_.prefill_attention.push_back(std::move(a));
      s.keep();
    }
    files_.push_back(s.provenance());
  }

  void read_gemm(const fs::path& rel) {
    TableScan s(dir_, rel, "gemm", lower(framework_), version_, device_);
    CsvTable& t = s.table();
    const std::size_t c_dtype = t.column("gemm_dtype"), c_m = t.column("m"), c_n = t.column("n"), c_k = t.column("k");
    while (s.next()) {
      const auto dtype = gemm_dtype_of(t.text(c_dtype));
      if (!dtype) {
        s.skip(fmt::format("gemm_dtype {} (no kvsim dtype)", t.text(c_dtype)), skipped_);
        continue;
      }
      GemmPoint g;
      g.m = t.positive_integer(c_m);
      g.n = t.positive_integer(c_n);
      g.k = t.positive_integer(c_k);
      g.dtype = *dtype;
      g.seconds = s.seconds();
      g.source_row = t.line();
      p_.gemm.push_back(std::move(g));
      s.keep();
    }
    files_.push_back(s.provenance());
  }

  void read_moe(const fs::path& rel) {
    TableScan s(dir_, rel, "moe", lower(framework_), version_, device_);
    CsvTable& t = s.table();
    const std::size_t c_dtype = t.column("moe_dtype"), c_tokens = t.column("num_tokens"),
                      c_hidden = t.column("hidden_size"), c_inter = t.column("inter_size"), c_topk = t.column("topk"),
                      c_experts = t.column("num_experts"), c_tp = t.column("moe_tp_size"),
                      c_ep = t.column("moe_ep_size"), c_dist = t.column("distribution");
    while (s.next()) {
      const auto dtype = moe_dtype_of(t.text(c_dtype));
      if (!dtype) {
        s.skip(fmt::format("moe_dtype {} (only 16-bit experts)", t.text(c_dtype)), skipped_);
        continue;
      }
      if (t.positive_integer(c_ep) != 1) {
        s.skip("moe_ep_size != 1 (kvsim shards experts by TP)", skipped_);
        continue;
      }
      if (t.text(c_dist) != kMoeDistribution) {
        s.skip(fmt::format("moe distribution {} (kvsim assumes balanced routing)", t.text(c_dist)), skipped_);
        continue;
      }
      MoePoint m;
      m.tokens = t.positive_integer(c_tokens);
      m.hidden = to_int(t, c_hidden, t.positive_integer(c_hidden));
      const std::int64_t inter = t.positive_integer(c_inter), tp = t.positive_integer(c_tp);
      if (inter % tp != 0) t.fail(c_inter, fmt::format("{} is not divisible by moe_tp_size {}", inter, tp));
      m.intermediate = to_int(t, c_inter, inter / tp);
      m.tp = to_int(t, c_tp, tp);
      m.experts = to_int(t, c_experts, t.positive_integer(c_experts));
      m.topk = to_int(t, c_topk, t.positive_integer(c_topk));
      if (m.topk > m.experts) t.fail(c_topk, fmt::format("{} is more than num_experts {}", m.topk, m.experts));
      m.dtype = *dtype;
      m.seconds = s.seconds();
      m.source_row = t.line();
      p_.moe.push_back(std::move(m));
      s.keep();
    }
    files_.push_back(s.provenance());
  }

  // nccl-tests tables: the framework column names the collector (TRTLLM) and version the NCCL build, so neither
  // is checked against the arguments; they are recorded per file.
  void read_nccl(const fs::path& rel) {
    TableScan s(dir_, rel, "", "", "", device_);
    CsvTable& t = s.table();
    const std::size_t c_dtype = t.column("nccl_dtype"), c_gpus = t.column("num_gpus"),
                      c_size = t.column("message_size");
    while (s.next()) {
      std::vector<CollectivePoint>* points = s.op() == "all_reduce" ? &p_.all_reduce
                                             : s.op() == "alltoall" ? &p_.all_to_all
                                                                    : nullptr;
      if (points == nullptr) {
        s.skip(fmt::format("nccl op_name {} (not all_reduce or alltoall)", s.op()), skipped_);
        continue;
      }
      const auto dtype = nccl_dtype_of(t.text(c_dtype));
      if (!dtype) {
        s.skip(fmt::format("nccl_dtype {} (no kvsim dtype)", t.text(c_dtype)), skipped_);
        continue;
      }
      CollectivePoint a;
      const std::int64_t gpus = t.positive_integer(c_gpus);
      if (gpus < 2) t.fail(c_gpus, fmt::format("is {}; a collective needs >= 2 GPUs", gpus));
      a.gpus = to_int(t, c_gpus, gpus);
      a.bytes = static_cast<double>(t.positive_integer(c_size)) * dtype->bytes;
      a.dtype = dtype->name;
      a.seconds = s.seconds();
      a.source_row = t.line();
      points->push_back(std::move(a));
      s.keep();
    }
    files_.push_back(s.provenance());
  }

  fs::path dir_;
  std::string framework_, version_;
  std::string device_;
  Profile p_;
  nlohmann::json files_ = nlohmann::json::array();
  std::map<std::string, std::int64_t> skipped_;
  std::vector<std::string> notes_;
};

}  // namespace

Profile import_aiconfigurator(const std::filesystem::path& system_dir, const std::string& framework,
                              const std::string& version, const std::string& gpu) {
  if (!fs::is_directory(system_dir)) {
    throw KvsimError(
        fmt::format("{}: not a folder; expected an aiconfigurator system folder such as "
                    ".../aiconfigurator/h100_sxm",
                    system_dir.string()));
  }
  return AiconfiguratorImporter(system_dir, framework, version).run(gpu);
}

}  // namespace kvsim
