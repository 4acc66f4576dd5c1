// Provenance helpers of the profile importers: see import_common.h.
#include "models/profile/import_common.h"

#include <set>
#include <tuple>

namespace kvsim::profile_impl {

namespace {

template <class Point, class Key>
std::int64_t duplicates(const std::vector<Point>& points, Key key) {
  std::set<decltype(key(points.front()))> seen;
  std::int64_t n = 0;
  for (const Point& p : points) n += seen.insert(key(p)).second ? 0 : 1;
  return n;
}

}  // namespace

nlohmann::json count_duplicate_points(const Profile& p) {
  return {{"decode_attention", duplicates(p.decode_attention,
                                          [](const DecodeAttentionPoint& d) {
                                            return std::tuple(d.batch, d.kv_len, d.q_heads, d.kv_heads, d.head_dim,
                                                              d.kv_dtype);
                                          })},
          {"prefill_attention", duplicates(p.prefill_attention,
                                           [](const PrefillAttentionPoint& a) {
                                             return std::tuple(a.batch, a.isl, a.cached, a.q_heads, a.kv_heads,
                                                               a.head_dim, a.kv_dtype);
                                           })},
          {"gemm", duplicates(p.gemm, [](const GemmPoint& g) { return std::tuple(g.m, g.n, g.k, g.dtype); })},
          {"all_reduce",
           duplicates(p.all_reduce, [](const CollectivePoint& a) { return std::tuple(a.bytes, a.gpus, a.dtype); })},
          {"all_to_all",
           duplicates(p.all_to_all, [](const CollectivePoint& a) { return std::tuple(a.bytes, a.gpus, a.dtype); })},
          {"moe", duplicates(p.moe, [](const MoePoint& x) {
             return std::tuple(x.tokens, x.hidden, x.intermediate, x.experts, x.topk, x.tp, x.dtype);
           })}};
}

}  // namespace kvsim::profile_impl
