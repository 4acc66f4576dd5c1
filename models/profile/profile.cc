// Profile JSON: writing, strict reading and files. The schema (also in models/profile/README.md):
//
//   {
//     "schema": "kvsim-profile-1",                  required, exactly this string
//     "gpu": "h100-sxm",                           required, kvsim GPU card name
//     "device_name": "NVIDIA H100 80GB HBM3",      required (may be ""), as the source names the device
//     "source": "aiconfigurator vllm 0.24.0",      required, not empty
//     "provenance": {...},                         optional free-form object (files, rows, skips, command, ...)
//     "decode_attention":  [{"batch", "kv_len", "q_heads", "kv_heads", "head_dim", "kv_dtype", "seconds", "row"}],
//     "prefill_attention": [{"batch", "isl", "cached", "q_heads", "kv_heads", "head_dim", "kv_dtype", "seconds",
//                            "row"}],
//     "gemm":              [{"m", "n", "k", "dtype", "seconds", "row"}],
//     "all_reduce":        [{"bytes", "gpus", "dtype", "seconds", "row"}],
//     "all_to_all":        [{"bytes", "gpus", "dtype", "seconds", "row"}],    bytes: each GPU's send buffer
//     "moe":               [{"tokens", "hidden", "intermediate", "experts", "topk", "tp", "dtype", "seconds", "row"}]
//   }
//
// Each point family is optional (absent = no points). Inside a point every key is required except "row" (the
// source table's line number, 0 or absent = not from a table). Integers are >= 1 except "cached" (>= 0);
// q_heads is a multiple of kv_heads; "seconds" and "bytes" are finite and > 0; "gpus" >= 2; MoE "topk" <=
// "experts" and "intermediate" is per GPU (the expert width / tp). Dtypes: kv_dtype in bf16|fp16|fp8|int8|int4|int2,
// gemm and MoE dtype in bf16|fp16|fp8|int8, all-reduce and all-to-all dtype in bf16|fp16|fp32|int8. Unknown keys anywhere except
// inside "provenance" are errors that name the file and key.
#include "models/profile/profile.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <fstream>
#include <span>
#include <string_view>

#include "sim/core/error.h"
#include "sim/core/json_file.h"
#include "sim/core/param_choice.h"
#include "sim/core/param_reader.h"

namespace kvsim {

namespace {

constexpr std::string_view kSchema = "kvsim-profile-1";
constexpr std::array<std::string_view, 4> kGemmDtypes = {"bf16", "fp16", "fp8", "int8"};
constexpr std::array<std::string_view, 4> kCollectiveDtypes = {"bf16", "fp16", "fp32", "int8"};

std::string read_dtype(ParamReader& r, const std::string& key, std::span<const std::string_view> valid) {
  return checked_choice(r, key, r.require<std::string>(key), valid);
}

double read_seconds(ParamReader& r) {
  const double s = r.require<double>("seconds");
  r.check(std::isfinite(s) && s > 0, "seconds", fmt::format("must be finite and > 0, got {}", s));
  return s;
}

int read_heads(ParamReader& r, const std::string& key) { return r.require_positive<int>(key); }

void check_gqa(ParamReader& r, int q_heads, int kv_heads) {
  r.check(q_heads % kv_heads == 0, "q_heads", fmt::format("{} is not a multiple of kv_heads {}", q_heads, kv_heads));
}

// Calls `parse(ParamReader&)` for every element of the array `key` (absent = none), each element strictly.
template <class Point, class Parse>
std::vector<Point> read_points(ParamReader& root, const std::string& key, Parse parse) {
  std::vector<Point> out;
  const nlohmann::json* arr = root.raw(key);
  if (arr == nullptr || arr->is_null()) return out;
  root.check(arr->is_array(), key, fmt::format("expected an array of point objects, got {}", arr->type_name()));
  out.reserve(arr->size());
  for (std::size_t i = 0; i < arr->size(); ++i) {
    ParamReader r((*arr)[i], fmt::format("{}[{}]", root.full(key), i));
    Point p = parse(r);
    p.source_row = r.get_non_negative<std::int64_t>("row", 0);
    r.finish();
    out.push_back(std::move(p));
  }
  return out;
}

void put_row(nlohmann::json& j, std::int64_t row) {
  if (row != 0) j["row"] = row;
}

}  // namespace

int dtype_bits(std::string_view dtype) {
  if (dtype == "bf16" || dtype == "fp16") return 16;
  if (dtype == "fp32") return 32;
  if (dtype == "fp8" || dtype == "int8") return 8;
  if (dtype == "int4") return 4;
  if (dtype == "int2") return 2;
  return 0;
}

nlohmann::json to_json(const Profile& p) {
  nlohmann::json j = {{"schema", kSchema},
                      {"gpu", p.gpu},
                      {"device_name", p.device_name},
                      {"source", p.source},
                      {"provenance", p.provenance}};
  nlohmann::json& decode = j["decode_attention"] = nlohmann::json::array();
  for (const DecodeAttentionPoint& d : p.decode_attention) {
    nlohmann::json e = {{"batch", d.batch},       {"kv_len", d.kv_len},     {"q_heads", d.q_heads},
                        {"kv_heads", d.kv_heads}, {"head_dim", d.head_dim}, {"kv_dtype", d.kv_dtype},
                        {"seconds", d.seconds}};
    put_row(e, d.source_row);
    decode.push_back(std::move(e));
  }
  nlohmann::json& prefill = j["prefill_attention"] = nlohmann::json::array();
  for (const PrefillAttentionPoint& a : p.prefill_attention) {
    nlohmann::json e = {{"batch", a.batch},       {"isl", a.isl},           {"cached", a.cached},
                        {"q_heads", a.q_heads},   {"kv_heads", a.kv_heads}, {"head_dim", a.head_dim},
                        {"kv_dtype", a.kv_dtype}, {"seconds", a.seconds}};
    put_row(e, a.source_row);
    prefill.push_back(std::move(e));
  }
  nlohmann::json& gemm = j["gemm"] = nlohmann::json::array();
  for (const GemmPoint& g : p.gemm) {
    nlohmann::json e = {{"m", g.m}, {"n", g.n}, {"k", g.k}, {"dtype", g.dtype}, {"seconds", g.seconds}};
    put_row(e, g.source_row);
    gemm.push_back(std::move(e));
  }
  for (const auto& [family, points] : {std::pair{"all_reduce", &p.all_reduce}, std::pair{"all_to_all", &p.all_to_all}}) {
    nlohmann::json& out = j[family] = nlohmann::json::array();
    for (const CollectivePoint& a : *points) {
      nlohmann::json e = {{"bytes", a.bytes}, {"gpus", a.gpus}, {"dtype", a.dtype}, {"seconds", a.seconds}};
      put_row(e, a.source_row);
      out.push_back(std::move(e));
    }
  }
  nlohmann::json& moe = j["moe"] = nlohmann::json::array();
  for (const MoePoint& x : p.moe) {
    nlohmann::json e = {{"tokens", x.tokens},   {"hidden", x.hidden}, {"intermediate", x.intermediate},
                        {"experts", x.experts}, {"topk", x.topk},     {"tp", x.tp},
                        {"dtype", x.dtype},     {"seconds", x.seconds}};
    put_row(e, x.source_row);
    moe.push_back(std::move(e));
  }
  return j;
}

// The head shape and KV dtype shared by decode and prefill points: q_heads, kv_heads (q a multiple of kv), head_dim,
// kv_dtype.
namespace {
template <class AttentionPoint>
void read_attention_shape(ParamReader& e, AttentionPoint& a) {
  a.q_heads = read_heads(e, "q_heads");
  a.kv_heads = read_heads(e, "kv_heads");
  check_gqa(e, a.q_heads, a.kv_heads);
  a.head_dim = e.require_positive<int>("head_dim");
  a.kv_dtype = read_dtype(e, "kv_dtype", kProfileKvDtypes);
}
}  // namespace

Profile profile_from_json(const nlohmann::json& j, const std::string& where) {
  ParamReader r(j, where);
  const std::string schema = r.require<std::string>("schema");
  r.check(schema == kSchema, "schema", fmt::format("unknown profile schema '{}'; expected '{}'", schema, kSchema));
  Profile p;
  p.gpu = r.require_nonempty("gpu");
  p.device_name = r.require<std::string>("device_name");
  p.source = r.require_nonempty("source");
  if (const nlohmann::json* prov = r.raw("provenance"); prov != nullptr && !prov->is_null()) {
    r.check(prov->is_object(), "provenance", fmt::format("expected a JSON object, got {}", prov->type_name()));
    p.provenance = *prov;
  }
  p.decode_attention = read_points<DecodeAttentionPoint>(r, "decode_attention", [](ParamReader& e) {
    DecodeAttentionPoint d;
    d.batch = e.require_positive<std::int64_t>("batch");
    d.kv_len = e.require_positive<std::int64_t>("kv_len");
    read_attention_shape(e, d);
    d.seconds = read_seconds(e);
    return d;
  });
  p.prefill_attention = read_points<PrefillAttentionPoint>(r, "prefill_attention", [](ParamReader& e) {
    PrefillAttentionPoint a;
    a.batch = e.require_positive<std::int64_t>("batch");
    a.isl = e.require_positive<std::int64_t>("isl");
    a.cached = e.require_non_negative<std::int64_t>("cached");
    read_attention_shape(e, a);
    a.seconds = read_seconds(e);
    return a;
  });
  p.gemm = read_points<GemmPoint>(r, "gemm", [](ParamReader& e) {
    GemmPoint g;
    // At most 2^30 each, as `kvsim cost --m/--n/--k` (the largest GEMM of a real model is ~1e6 wide).
    constexpr std::int64_t kMaxDim = std::int64_t{1} << 30;
    g.m = e.require_in<std::int64_t>("m", 1, kMaxDim, "rows");
    g.n = e.require_in<std::int64_t>("n", 1, kMaxDim, "columns");
    g.k = e.require_in<std::int64_t>("k", 1, kMaxDim, "elements");
    g.dtype = read_dtype(e, "dtype", kGemmDtypes);
    g.seconds = read_seconds(e);
    return g;
  });
  const auto collective = [](ParamReader& e) {
    CollectivePoint a;
    a.bytes = e.require<double>("bytes");
    e.check(std::isfinite(a.bytes) && a.bytes > 0, "bytes", fmt::format("must be finite and > 0, got {}", a.bytes));
    a.gpus = e.require<int>("gpus");
    e.check(a.gpus >= 2, "gpus", fmt::format("must be >= 2, got {}", a.gpus));
    a.dtype = read_dtype(e, "dtype", kCollectiveDtypes);
    a.seconds = read_seconds(e);
    return a;
  };
  p.all_reduce = read_points<CollectivePoint>(r, "all_reduce", collective);
  p.all_to_all = read_points<CollectivePoint>(r, "all_to_all", collective);
  p.moe = read_points<MoePoint>(r, "moe", [](ParamReader& e) {
    MoePoint x;
    x.tokens = e.require_positive<std::int64_t>("tokens");
    x.hidden = e.require_positive<int>("hidden");
    x.intermediate = e.require_positive<int>("intermediate");
    x.experts = e.require_positive<int>("experts");
    x.topk = e.require_positive<int>("topk");
    e.check(x.topk <= x.experts, "topk", fmt::format("{} is more than experts {}", x.topk, x.experts));
    x.tp = e.require_positive<int>("tp");
    x.dtype = read_dtype(e, "dtype", kGemmDtypes);
    x.seconds = read_seconds(e);
    return x;
  });
  r.finish();
  return p;
}

Profile load_profile(const std::filesystem::path& path) {
  return profile_from_json(parse_json_file(path), path.string());
}

void save_profile(const Profile& p, const std::filesystem::path& path) {
  const nlohmann::json j = to_json(p);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw KvsimError(fmt::format("{}: cannot write the profile", path.string()));
  // Header keys first, then one point per line: small diffs, greppable, still one JSON document.
  out << "{\"schema\": " << j["schema"].dump() << ",\n \"gpu\": " << j["gpu"].dump()
      << ",\n \"device_name\": " << j["device_name"].dump() << ",\n \"source\": " << j["source"].dump()
      << ",\n \"provenance\": " << j["provenance"].dump(1);
  for (const char* family : {"decode_attention", "prefill_attention", "gemm", "all_reduce", "all_to_all", "moe"}) {
    out << ",\n \"" << family << "\": [";
    const nlohmann::json& points = j[family];
    for (std::size_t i = 0; i < points.size(); ++i) out << (i == 0 ? "\n  " : ",\n  ") << points[i].dump();
    out << "]";
  }
  out << "\n}\n";
  out.close();
  if (!out) throw KvsimError(fmt::format("{}: writing the profile failed", path.string()));
}

}  // namespace kvsim
