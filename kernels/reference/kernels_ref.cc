// CPU references of the kernels (see kernels_ref.h).
#include "kernels/reference/kernels_ref.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kernels/plan.h"
#include "kernels/reference/numeric.h"

namespace kvsim::kernels::ref {

namespace {

const std::uint16_t* as_u16(const void* p) { return static_cast<const std::uint16_t*>(p); }
std::uint16_t* as_u16(void* p) { return static_cast<std::uint16_t*>(p); }
const std::uint8_t* as_u8(const void* p) { return static_cast<const std::uint8_t*>(p); }
std::uint8_t* as_u8(void* p) { return static_cast<std::uint8_t*>(p); }

void require(const std::string& problem) {
  if (!problem.empty()) throw std::invalid_argument("kvsim kernels reference: " + problem);
}

int page_of(const PagedKvCache& kv, int b, int pos) {
  return kv.block_table[b * kv.max_pages_per_seq + pos / kv.page_size];
}

// Bytes of one (token, kv head) row of k_data/v_data.
std::int64_t row_bytes(const PagedKvCache& kv) { return std::int64_t{kv.head_dim} * kv_element_bits(kv.format) / 8; }

// One stored element of a per-tensor-scaled or native row, dequantized.
float stored_element(const PagedKvCache& kv, DType dtype, const void* data, std::int64_t row, int c, float scale) {
  switch (kv.format) {
    case KvFormat::kNative:
      return act_to_float(dtype, as_u16(data)[row * kv.head_dim + c]);
    case KvFormat::kFP8E4M3:
      return fp8e4m3_to_float(as_u8(data)[row * kv.head_dim + c]) * scale;
    case KvFormat::kINT8:
      return static_cast<float>(static_cast<std::int8_t>(as_u8(data)[row * kv.head_dim + c])) * scale;
    default:
      return 0.0f;
  }
}

// KIVI: quantizes residual tokens [t0, t0 + page_size) of (b, h) into their page.
void kivi_flush_group(const KvAppendParams& p, int b, int h, int t0) {
  const PagedKvCache& kv = p.kv;
  const int d = kv.head_dim, bits = kv_element_bits(kv.format), ps = kv.page_size;
  const int page = page_of(kv, b, t0);
  const auto* rk = as_u16(kv.residual_k);
  const auto* rv = as_u16(kv.residual_v);
  auto res = [&](const std::uint16_t* r, int j, int c) {
    return act_to_float(p.dtype, r[kivi_residual_row(kv, b, h, t0 + j) * d + c]);
  };
  std::uint8_t* kd = as_u8(kv.k_data);
  std::uint8_t* vd = as_u8(kv.v_data);
  std::uint16_t* km = as_u16(kv.k_meta);
  std::uint16_t* vm = as_u16(kv.v_meta);
  // Keys: per channel over the group's tokens.
  for (int c = 0; c < d; ++c) {
    float lo = res(rk, 0, c), hi = lo;
    for (int j = 1; j < ps; ++j) {
      lo = std::min(lo, res(rk, j, c));
      hi = std::max(hi, res(rk, j, c));
    }
    const GroupQuant q = group_quant_params(lo, hi, bits);
    const std::int64_t m = (std::int64_t{page} * kv.num_kv_heads + h) * d + c;
    km[2 * m] = q.scale_bits;
    km[2 * m + 1] = q.zero_bits;
    for (int j = 0; j < ps; ++j) {
      set_packed_code(kd + kv_row(kv, page, j, h) * row_bytes(kv), c, bits, group_code(res(rk, j, c), q, bits));
    }
  }
  // Values: per token, groups of v_group_size channels.
  const int groups = d / kv.v_group_size;
  for (int j = 0; j < ps; ++j) {
    const std::int64_t row = kv_row(kv, page, j, h);
    for (int g = 0; g < groups; ++g) {
      const int c0 = g * kv.v_group_size;
      float lo = res(rv, j, c0), hi = lo;
      for (int c = c0 + 1; c < c0 + kv.v_group_size; ++c) {
        lo = std::min(lo, res(rv, j, c));
        hi = std::max(hi, res(rv, j, c));
      }
      const GroupQuant q = group_quant_params(lo, hi, bits);
      const std::int64_t m = row * groups + g;
      vm[2 * m] = q.scale_bits;
      vm[2 * m + 1] = q.zero_bits;
      for (int c = c0; c < c0 + kv.v_group_size; ++c) {
        set_packed_code(vd + row * row_bytes(kv), c, bits, group_code(res(rv, j, c), q, bits));
      }
    }
  }
}

}  // namespace

void load_kv_token(const PagedKvCache& kv, DType dtype, int b, int kv_head, int pos, int seq_len, float* k, float* v) {
  const int d = kv.head_dim;
  if (is_group_quantized(kv.format)) {
    if (pos >= kivi_quantized_len(seq_len, kv.residual_tokens, kv.page_size)) {
      const std::int64_t r = kivi_residual_row(kv, b, kv_head, pos) * d;
      for (int c = 0; c < d; ++c) {
        k[c] = act_to_float(dtype, as_u16(kv.residual_k)[r + c]);
        v[c] = act_to_float(dtype, as_u16(kv.residual_v)[r + c]);
      }
      return;
    }
    const int bits = kv_element_bits(kv.format), page = page_of(kv, b, pos);
    const std::int64_t row = kv_row(kv, page, pos % kv.page_size, kv_head);
    const std::uint8_t* krow = as_u8(kv.k_data) + row * row_bytes(kv);
    const std::uint8_t* vrow = as_u8(kv.v_data) + row * row_bytes(kv);
    const std::uint16_t* km = as_u16(kv.k_meta) + 2 * (std::int64_t{page} * kv.num_kv_heads + kv_head) * d;
    const int groups = d / kv.v_group_size;
    const std::uint16_t* vm = as_u16(kv.v_meta) + 2 * row * groups;
    for (int c = 0; c < d; ++c) {
      k[c] = group_dequant(packed_code(krow, c, bits), fp16_to_float(km[2 * c]), fp16_to_float(km[2 * c + 1]));
      const int g = c / kv.v_group_size;
      v[c] = group_dequant(packed_code(vrow, c, bits), fp16_to_float(vm[2 * g]), fp16_to_float(vm[2 * g + 1]));
    }
    return;
  }
  const std::int64_t row = kv_row(kv, page_of(kv, b, pos), pos % kv.page_size, kv_head);
  for (int c = 0; c < d; ++c) {
    k[c] = stored_element(kv, dtype, kv.k_data, row, c, kv.k_scale);
    v[c] = stored_element(kv, dtype, kv.v_data, row, c, kv.v_scale);
  }
}

void decode_attention_ref(const DecodeAttentionParams& p) {
  require(check_decode_params(p));
  const int d = p.kv.head_dim, group = p.num_q_heads / p.kv.num_kv_heads;
  const auto* q = as_u16(p.q);
  auto* o = as_u16(p.o);
  std::vector<float> k(d), v(d), acc(d), qf(d);
  std::vector<float> scores;
  std::vector<int> positions;
  for (int b = 0; b < p.batch; ++b) {
    const int len = p.seq_lens[b];
    for (int kvh = 0; kvh < p.kv.num_kv_heads; ++kvh) {
      positions.clear();
      const int n = range_length(p, b, kvh, len);
      for (int i = 0; i < n; ++i) {
        const int pos = range_position(p, b, kvh, len, i);
        if (pos >= 0 && pos < len) positions.push_back(pos);
      }
      for (int g = 0; g < group; ++g) {
        const int h = kvh * group + g;
        const std::int64_t qo = (std::int64_t{b} * p.num_q_heads + h) * d;
        for (int c = 0; c < d; ++c) qf[c] = act_to_float(p.dtype, q[qo + c]);
        scores.assign(positions.size(), 0.0f);
        float m = -std::numeric_limits<float>::infinity();
        for (std::size_t i = 0; i < positions.size(); ++i) {
          load_kv_token(p.kv, p.dtype, b, kvh, positions[i], len, k.data(), v.data());
          float s = 0.0f;
          for (int c = 0; c < d; ++c) s += qf[c] * k[c];
          scores[i] = s * p.sm_scale;
          m = std::max(m, scores[i]);
        }
        std::fill(acc.begin(), acc.end(), 0.0f);
        float denom = 0.0f;
        for (std::size_t i = 0; i < positions.size(); ++i) {
          load_kv_token(p.kv, p.dtype, b, kvh, positions[i], len, k.data(), v.data());
          const float w = std::exp(scores[i] - m);
          denom += w;
          for (int c = 0; c < d; ++c) acc[c] += w * v[c];
        }
        for (int c = 0; c < d; ++c) o[qo + c] = float_to_act(p.dtype, denom > 0 ? acc[c] / denom : 0.0f);
        if (p.lse != nullptr) {
          p.lse[std::int64_t{b} * p.num_q_heads + h] =
              denom > 0 ? m + std::log(denom) : -std::numeric_limits<float>::infinity();
        }
      }
    }
  }
}

void append_kv_ref(const KvAppendParams& p) {
  require(check_append_params(p));
  const PagedKvCache& kv = p.kv;
  const int d = kv.head_dim;
  const auto* kn = as_u16(p.k_new);
  const auto* vn = as_u16(p.v_new);
  for (int b = 0; b < p.batch; ++b) {
    const int pos = p.positions[b];
    if (pos < 0) continue;
    for (int h = 0; h < kv.num_kv_heads; ++h) {
      const std::int64_t src = (std::int64_t{b} * kv.num_kv_heads + h) * d;
      if (is_group_quantized(kv.format)) {
        const std::int64_t r = kivi_residual_row(kv, b, h, pos) * d;
        std::memcpy(as_u16(kv.residual_k) + r, kn + src, d * sizeof(std::uint16_t));
        std::memcpy(as_u16(kv.residual_v) + r, vn + src, d * sizeof(std::uint16_t));
        const int before = kivi_quantized_len(pos, kv.residual_tokens, kv.page_size);
        if (kivi_quantized_len(pos + 1, kv.residual_tokens, kv.page_size) > before) kivi_flush_group(p, b, h, before);
        continue;
      }
      const std::int64_t row = kv_row(kv, page_of(kv, b, pos), pos % kv.page_size, h);
      for (int c = 0; c < d; ++c) {
        const float x = act_to_float(p.dtype, kn[src + c]), y = act_to_float(p.dtype, vn[src + c]);
        switch (kv.format) {
          case KvFormat::kNative:
            as_u16(kv.k_data)[row * d + c] = kn[src + c];
            as_u16(kv.v_data)[row * d + c] = vn[src + c];
            break;
          case KvFormat::kFP8E4M3:
            as_u8(kv.k_data)[row * d + c] = float_to_fp8e4m3(x / kv.k_scale);
            as_u8(kv.v_data)[row * d + c] = float_to_fp8e4m3(y / kv.v_scale);
            break;
          case KvFormat::kINT8:
            as_u8(kv.k_data)[row * d + c] = static_cast<std::uint8_t>(int8_code(x, kv.k_scale));
            as_u8(kv.v_data)[row * d + c] = static_cast<std::uint8_t>(int8_code(y, kv.v_scale));
            break;
          default:
            break;
        }
      }
    }
  }
}

void copy_pages_ref(const PageCopyParams& p) {
  require(check_page_copy_params(p));
  for (int i = 0; i < p.num_copies; ++i) {
    std::memmove(as_u8(p.dst) + std::int64_t{p.dst_pages[i]} * p.page_bytes,
                 as_u8(p.src) + std::int64_t{p.src_pages[i]} * p.page_bytes, static_cast<std::size_t>(p.page_bytes));
  }
}

}  // namespace kvsim::kernels::ref
