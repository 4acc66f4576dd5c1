// Host-side fixtures shared by the kernel tests (CPU and GPU): random paged caches in every format, built token by
// token with the reference append, plus an independent float64 reading of the stored formats and float64
// attention, written from the layout descriptions in kernels/params.h (not from the reference code).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/params.h"
#include "kernels/plan.h"
#include "kernels/reference/kernels_ref.h"
#include "kernels/reference/numeric.h"

namespace kvsim::kernels::testing {

struct CacheConfig {
  KvFormat format = KvFormat::kNative;
  DType dtype = DType::kBF16;
  int num_kv_heads = 2;
  int head_dim = 64;
  int page_size = 16;
  int v_group_size = 32;
  int residual_tokens = 32;
  std::vector<int> seq_lens = {37, 100};
  int spare_pages = 3;     // pages nobody uses, so that page ids are not just 0..n-1
  int reserve_tokens = 0;  // block-table pages for this many more tokens per sequence (for later appends)
};

/// A cache in host memory; `kv` points into the vectors. orig_k/orig_v hold the appended values (activation-rounded)
/// as [b][kvh][pos][c].
struct HostCache {
  CacheConfig cfg;
  PagedKvCache kv;
  std::vector<std::uint8_t> k_data, v_data, k_meta, v_meta, res_k, res_v;
  std::vector<std::int32_t> block_table;
  std::vector<std::vector<std::vector<std::vector<float>>>> orig_k, orig_v;
  int batch() const { return static_cast<int>(cfg.seq_lens.size()); }
  int max_len() const { return *std::max_element(cfg.seq_lens.begin(), cfg.seq_lens.end()); }
};

inline std::vector<std::uint16_t> random_act(DType d, std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<std::uint16_t> out(n);
  for (auto& x : out) x = ref::float_to_act(d, std::clamp(dist(rng), -4.0f * scale, 4.0f * scale));
  return out;
}

/// Builds a cache with random K (channels c % 16 == 0 are 3x larger: KIVI's outlier channels) and V in [-4, 4]
/// by appending every token with ref::append_kv_ref; pages are assigned in a shuffled order.
inline HostCache make_cache(const CacheConfig& cfg, std::mt19937& rng) {
  HostCache hc;
  hc.cfg = cfg;
  PagedKvCache& kv = hc.kv;
  kv.format = cfg.format;
  kv.page_size = cfg.page_size;
  kv.num_kv_heads = cfg.num_kv_heads;
  kv.head_dim = cfg.head_dim;
  kv.v_group_size = cfg.v_group_size;
  kv.residual_tokens = cfg.residual_tokens;
  kv.k_scale = cfg.format == KvFormat::kFP8E4M3 ? 12.0f / 448.0f : 12.0f / 127.0f;
  kv.v_scale = cfg.format == KvFormat::kFP8E4M3 ? 4.0f / 448.0f : 4.0f / 127.0f;
  const int batch = hc.batch();
  auto pages_of = [&](int len) { return (len + cfg.reserve_tokens + cfg.page_size - 1) / cfg.page_size; };
  kv.max_pages_per_seq = std::max(1, pages_of(hc.max_len()));
  int used = 0;
  for (int len : cfg.seq_lens) used += pages_of(len);
  kv.num_pages = used + cfg.spare_pages;
  std::vector<std::int32_t> ids(kv.num_pages);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  hc.block_table.assign(static_cast<std::size_t>(batch) * kv.max_pages_per_seq, -1);
  int next = 0;
  for (int b = 0; b < batch; ++b) {
    for (int i = 0; i < pages_of(cfg.seq_lens[b]); ++i) {
      hc.block_table[b * kv.max_pages_per_seq + i] = ids[next++];
    }
  }
  kv.block_table = hc.block_table.data();
  hc.k_data.assign(kv_data_bytes(kv), 0);
  hc.v_data.assign(kv_data_bytes(kv), 0);
  hc.k_meta.assign(kv_k_meta_bytes(kv), 0);
  hc.v_meta.assign(kv_v_meta_bytes(kv), 0);
  hc.res_k.assign(kv_residual_bytes(kv, batch), 0);
  hc.res_v.assign(kv_residual_bytes(kv, batch), 0);
  kv.k_data = hc.k_data.data();
  kv.v_data = hc.v_data.data();
  if (is_group_quantized(kv.format)) {
    kv.k_meta = hc.k_meta.data();
    kv.v_meta = hc.v_meta.data();
    kv.residual_k = hc.res_k.data();
    kv.residual_v = hc.res_v.data();
  }

  const int h = cfg.num_kv_heads, d = cfg.head_dim;
  hc.orig_k.assign(batch, std::vector<std::vector<std::vector<float>>>(h));
  hc.orig_v = hc.orig_k;
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<std::uint16_t> kn(static_cast<std::size_t>(batch) * h * d), vn(kn.size());
  std::vector<std::int32_t> positions(batch);
  KvAppendParams ap;
  ap.dtype = cfg.dtype;
  ap.kv = kv;
  ap.k_new = kn.data();
  ap.v_new = vn.data();
  ap.positions = positions.data();
  ap.batch = batch;
  for (int t = 0; t < hc.max_len(); ++t) {
    for (int b = 0; b < batch; ++b) {
      positions[b] = t < cfg.seq_lens[b] ? t : -1;
      for (int kvh = 0; kvh < h; ++kvh) {
        std::vector<float> kr(d), vr(d);
        for (int c = 0; c < d; ++c) {
          const float outlier = c % 16 == 0 ? 3.0f : 1.0f;
          const std::size_t i = (static_cast<std::size_t>(b) * h + kvh) * d + c;
          kn[i] = ref::float_to_act(cfg.dtype, std::clamp(dist(rng), -4.0f, 4.0f) * outlier);
          vn[i] = ref::float_to_act(cfg.dtype, std::clamp(dist(rng), -4.0f, 4.0f));
          kr[c] = ref::act_to_float(cfg.dtype, kn[i]);
          vr[c] = ref::act_to_float(cfg.dtype, vn[i]);
        }
        if (positions[b] >= 0) {
          hc.orig_k[b][kvh].push_back(kr);
          hc.orig_v[b][kvh].push_back(vr);
        }
      }
    }
    ref::append_kv_ref(ap);
  }
  return hc;
}

/// Independent float64 reading of token pos of (b, kvh) from the stored bytes (layouts of kernels/params.h).
inline void decode_token_f64(const HostCache& hc, int b, int kvh, int pos, std::vector<double>& k,
                             std::vector<double>& v) {
  const PagedKvCache& kv = hc.kv;
  const int d = kv.head_dim, ps = kv.page_size, len = hc.cfg.seq_lens[b];
  k.assign(d, 0.0);
  v.assign(d, 0.0);
  auto act = [&](const std::vector<std::uint8_t>& buf, std::int64_t elem) {
    std::uint16_t bits;
    std::memcpy(&bits, buf.data() + 2 * elem, 2);
    return static_cast<double>(ref::act_to_float(hc.cfg.dtype, bits));
  };
  auto half_at = [&](const std::vector<std::uint8_t>& buf, std::int64_t word, int which) {
    std::uint16_t bits;
    std::memcpy(&bits, buf.data() + 4 * word + 2 * which, 2);
    return static_cast<double>(ref::fp16_to_float(bits));
  };
  if (is_group_quantized(kv.format)) {
    const int residual_start = std::max(0, (len - kv.residual_tokens) / ps * ps);
    if (pos >= residual_start) {
      const int cap = kv.residual_tokens + ps;
      const std::int64_t row = (static_cast<std::int64_t>(b) * kv.num_kv_heads + kvh) * cap + pos % cap;
      for (int c = 0; c < d; ++c) {
        k[c] = act(hc.res_k, row * d + c);
        v[c] = act(hc.res_v, row * d + c);
      }
      return;
    }
  }
  const int page = hc.block_table[b * kv.max_pages_per_seq + pos / ps];
  const std::int64_t row = (static_cast<std::int64_t>(page) * ps + pos % ps) * kv.num_kv_heads + kvh;
  switch (kv.format) {
    case KvFormat::kNative:
      for (int c = 0; c < d; ++c) {
        k[c] = act(hc.k_data, row * d + c);
        v[c] = act(hc.v_data, row * d + c);
      }
      return;
    case KvFormat::kFP8E4M3:
      for (int c = 0; c < d; ++c) {
        k[c] = ref::fp8e4m3_to_float(hc.k_data[row * d + c]) * static_cast<double>(kv.k_scale);
        v[c] = ref::fp8e4m3_to_float(hc.v_data[row * d + c]) * static_cast<double>(kv.v_scale);
      }
      return;
    case KvFormat::kINT8:
      for (int c = 0; c < d; ++c) {
        k[c] = static_cast<std::int8_t>(hc.k_data[row * d + c]) * static_cast<double>(kv.k_scale);
        v[c] = static_cast<std::int8_t>(hc.v_data[row * d + c]) * static_cast<double>(kv.v_scale);
      }
      return;
    case KvFormat::kINT4:
    case KvFormat::kINT2: {
      const int bits = kv.format == KvFormat::kINT4 ? 4 : 2, per = 8 / bits, mask = (1 << bits) - 1;
      const std::int64_t rb = d / per;
      for (int c = 0; c < d; ++c) {
        const int kc = (hc.k_data[row * rb + c / per] >> (bits * (c % per))) & mask;
        const int vc = (hc.v_data[row * rb + c / per] >> (bits * (c % per))) & mask;
        const std::int64_t km = (static_cast<std::int64_t>(page) * kv.num_kv_heads + kvh) * d + c;
        const std::int64_t vm = row * (d / kv.v_group_size) + c / kv.v_group_size;
        k[c] = kc * half_at(hc.k_meta, km, 0) + half_at(hc.k_meta, km, 1);
        v[c] = vc * half_at(hc.v_meta, vm, 0) + half_at(hc.v_meta, vm, 1);
      }
      return;
    }
  }
}

/// Restricted-range description for a test (positions computed independently of range_position).
struct RangeSpec {
  TokenRange range = TokenRange::kFull;
  int window = 0, sinks = 0;
  int sparse_capacity = 0;
  std::vector<std::int32_t> sparse_indices;  // [batch, kvh, capacity]
  std::vector<std::int32_t> sparse_counts;   // [batch, kvh]
};

/// Random top-k style lists: distinct positions of [0, len) in random order, k = min(len, capacity) minus a few,
/// plus one out-of-range entry per list when there is room (which readers must skip).
inline RangeSpec random_sparse(const HostCache& hc, int capacity, std::mt19937& rng) {
  RangeSpec r;
  r.range = TokenRange::kSparse;
  r.sparse_capacity = capacity;
  const int h = hc.cfg.num_kv_heads;
  r.sparse_indices.assign(static_cast<std::size_t>(hc.batch()) * h * capacity, 0);
  r.sparse_counts.assign(static_cast<std::size_t>(hc.batch()) * h, 0);
  for (int b = 0; b < hc.batch(); ++b) {
    for (int kvh = 0; kvh < h; ++kvh) {
      const int len = hc.cfg.seq_lens[b];
      std::vector<std::int32_t> all(len);
      std::iota(all.begin(), all.end(), 0);
      std::shuffle(all.begin(), all.end(), rng);
      int k = std::min(len, capacity - 1);
      if (k > 3) k -= static_cast<int>(rng() % 3);
      std::int32_t* list = &r.sparse_indices[(static_cast<std::size_t>(b) * h + kvh) * capacity];
      for (int i = 0; i < k; ++i) list[i] = all[i];
      list[k] = len + 5;  // out of range: skipped
      r.sparse_counts[b * h + kvh] = k + 1;
    }
  }
  return r;
}

inline std::vector<int> positions_f64(const RangeSpec& r, int b, int kvh, int num_kv_heads, int len) {
  std::vector<int> pos;
  if (r.range == TokenRange::kFull) {
    for (int i = 0; i < len; ++i) pos.push_back(i);
  } else if (r.range == TokenRange::kWindow) {
    for (int i = 0; i < len; ++i) {
      if (i < r.sinks || i >= len - r.window) pos.push_back(i);
    }
  } else {
    const std::int32_t* list =
        &r.sparse_indices[(static_cast<std::size_t>(b) * num_kv_heads + kvh) * r.sparse_capacity];
    for (int i = 0; i < r.sparse_counts[b * num_kv_heads + kvh]; ++i) {
      if (list[i] >= 0 && list[i] < len) pos.push_back(list[i]);
    }
  }
  return pos;
}

/// A decode problem: cache + q + range + outputs, all host memory; p points into it.
struct DecodeProblem {
  HostCache cache;
  RangeSpec range;
  int num_q_heads = 0;
  float sm_scale = 0;
  std::vector<std::uint16_t> q, o;
  std::vector<float> lse;
  std::vector<std::int32_t> seq_lens;
  DecodeAttentionParams p;
};

inline void bind(DecodeProblem& pr) {
  DecodeAttentionParams& p = pr.p;
  p = DecodeAttentionParams{};
  p.dtype = pr.cache.cfg.dtype;
  p.kv = pr.cache.kv;
  p.q = pr.q.data();
  p.o = pr.o.data();
  p.lse = pr.lse.data();
  p.seq_lens = pr.seq_lens.data();
  p.batch = pr.cache.batch();
  p.num_q_heads = pr.num_q_heads;
  p.max_seq_len = pr.cache.max_len();
  p.sm_scale = pr.sm_scale;
  p.range = pr.range.range;
  p.window_tokens = pr.range.window;
  p.sink_tokens = pr.range.sinks;
  if (pr.range.range == TokenRange::kSparse) {
    p.sparse_indices = pr.range.sparse_indices.data();
    p.sparse_counts = pr.range.sparse_counts.data();
    p.sparse_capacity = pr.range.sparse_capacity;
  }
}

/// Random queries (scaled by q_scale to make the softmax peakier) and outputs poisoned with NaN.
inline DecodeProblem make_problem(HostCache cache, int group, RangeSpec range, std::mt19937& rng,
                                  float q_scale = 2.0f) {
  DecodeProblem pr;
  pr.cache = std::move(cache);
  // The cache's pointers point into its own vectors; re-point after the move.
  HostCache& hc = pr.cache;
  hc.kv.block_table = hc.block_table.data();
  hc.kv.k_data = hc.k_data.data();
  hc.kv.v_data = hc.v_data.data();
  if (is_group_quantized(hc.kv.format)) {
    hc.kv.k_meta = hc.k_meta.data();
    hc.kv.v_meta = hc.v_meta.data();
    hc.kv.residual_k = hc.res_k.data();
    hc.kv.residual_v = hc.res_v.data();
  }
  pr.range = std::move(range);
  pr.num_q_heads = hc.cfg.num_kv_heads * group;
  pr.sm_scale = 1.0f / std::sqrt(static_cast<float>(hc.cfg.head_dim));
  const std::size_t n = static_cast<std::size_t>(hc.batch()) * pr.num_q_heads * hc.cfg.head_dim;
  pr.q = random_act(hc.cfg.dtype, n, rng, q_scale);
  pr.o.assign(n, 0x7FC0);  // NaN in bf16 and fp16
  pr.lse.assign(static_cast<std::size_t>(hc.batch()) * pr.num_q_heads, std::numeric_limits<float>::quiet_NaN());
  pr.seq_lens.assign(hc.cfg.seq_lens.begin(), hc.cfg.seq_lens.end());
  bind(pr);
  return pr;
}

/// A random cache of `cfg` and a decode problem over it (make_cache, then make_problem): `group` query heads per kv
/// head attending `range`, a window of `window` tokens after 4 sinks or random lists of `sparse_capacity` entries.
inline DecodeProblem random_decode_problem(const CacheConfig& cfg, int group, TokenRange range, int window,
                                           int sparse_capacity, std::mt19937& rng) {
  HostCache hc = make_cache(cfg, rng);
  RangeSpec spec;
  spec.range = range;
  if (range == TokenRange::kWindow) {
    spec.window = window;
    spec.sinks = 4;
  } else if (range == TokenRange::kSparse) {
    spec = random_sparse(hc, sparse_capacity, rng);
  }
  return make_problem(std::move(hc), group, std::move(spec), rng);
}

/// float64 attention over the stored (dequantized) cache: out [batch, q heads, head_dim], lse [batch, q heads].
inline void attention_f64(const DecodeProblem& pr, std::vector<double>& out, std::vector<double>& lse) {
  const HostCache& hc = pr.cache;
  const int d = hc.cfg.head_dim, h = hc.cfg.num_kv_heads, group = pr.num_q_heads / h;
  out.assign(static_cast<std::size_t>(hc.batch()) * pr.num_q_heads * d, 0.0);
  lse.assign(static_cast<std::size_t>(hc.batch()) * pr.num_q_heads, -std::numeric_limits<double>::infinity());
  std::vector<double> k, v;
  for (int b = 0; b < hc.batch(); ++b) {
    const int len = hc.cfg.seq_lens[b];
    for (int kvh = 0; kvh < h; ++kvh) {
      const std::vector<int> pos = positions_f64(pr.range, b, kvh, h, len);
      std::vector<std::vector<double>> ks, vs;
      for (int t : pos) {
        decode_token_f64(hc, b, kvh, t, k, v);
        ks.push_back(k);
        vs.push_back(v);
      }
      for (int g = 0; g < group; ++g) {
        const std::size_t row = static_cast<std::size_t>(b) * pr.num_q_heads + kvh * group + g;
        if (pos.empty()) continue;
        std::vector<double> s(pos.size());
        double m = -std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < pos.size(); ++i) {
          double dot = 0;
          for (int c = 0; c < d; ++c) dot += ref::act_to_float(hc.cfg.dtype, pr.q[row * d + c]) * ks[i][c];
          s[i] = dot * pr.sm_scale;
          m = std::max(m, s[i]);
        }
        double den = 0;
        for (std::size_t i = 0; i < pos.size(); ++i) {
          const double w = std::exp(s[i] - m);
          den += w;
          for (int c = 0; c < d; ++c) out[row * d + c] += w * vs[i][c];
        }
        for (int c = 0; c < d; ++c) out[row * d + c] /= den;
        lse[row] = m + std::log(den);
      }
    }
  }
}

}  // namespace kvsim::kernels::testing
