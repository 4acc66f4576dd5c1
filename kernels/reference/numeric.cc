// Bit-exact number formats and codecs (see numeric.h).
#include "kernels/reference/numeric.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace kvsim::kernels::ref {

float bf16_to_float(std::uint16_t bits) { return std::bit_cast<float>(std::uint32_t{bits} << 16); }

std::uint16_t float_to_bf16(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  if (std::isnan(x)) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // quiet NaN, sign kept
  const std::uint32_t rounded = u + 0x7FFFu + ((u >> 16) & 1u);               // ties to even
  return static_cast<std::uint16_t>(rounded >> 16);
}

float fp16_to_float(std::uint16_t bits) {
  const int sign = (bits >> 15) & 1, exp = (bits >> 10) & 0x1F, mant = bits & 0x3FF;
  double v;
  if (exp == 0) {
    v = std::ldexp(static_cast<double>(mant), -24);
  } else if (exp == 31) {
    v = mant == 0 ? INFINITY : NAN;
  } else {
    v = std::ldexp(1.0 + mant / 1024.0, exp - 15);
  }
  return static_cast<float>(sign ? -v : v);
}

std::uint16_t float_to_fp16(float x) {
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x)) return 0x7E00;
  const double a = std::fabs(static_cast<double>(x));
  if (a >= 65520.0) return sign | 0x7C00;  // 65520 is the tie between 65504 (odd) and 2^16: rounds to inf
  if (a < std::ldexp(1.0, -14)) {          // subnormal grid 2^-24; 1024 lands on the smallest normal
    return sign | static_cast<std::uint16_t>(std::nearbyint(std::ldexp(a, 24)));
  }
  int e = 0;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  e -= 1;             // a = m * 2^e, m in [1, 2)
  int r = static_cast<int>(std::nearbyint((std::ldexp(a, -e) - 1.0) * 1024.0));
  if (r == 1024) {
    r = 0;
    ++e;
  }
  return sign | static_cast<std::uint16_t>(((e + 15) << 10) | r);
}

float fp8e4m3_to_float(std::uint8_t bits) {
  const int sign = bits >> 7, exp = (bits >> 3) & 0xF, mant = bits & 7;
  double v;
  if (exp == 15 && mant == 7) {
    v = NAN;
  } else if (exp == 0) {
    v = std::ldexp(static_cast<double>(mant), -9);
  } else {
    v = std::ldexp(1.0 + mant / 8.0, exp - 7);
  }
  return static_cast<float>(sign ? -v : v);
}

std::uint8_t float_to_fp8e4m3(float x) {
  if (std::isnan(x)) return 0x7F;
  const std::uint8_t sign = std::signbit(x) ? 0x80 : 0;
  const double a = std::fabs(static_cast<double>(x));
  if (a >= 448.0) return sign | 0x7E;  // saturate to the largest finite value
  if (a < std::ldexp(1.0, -6)) {       // subnormal grid 2^-9; 8 lands on the smallest normal
    return sign | static_cast<std::uint8_t>(std::nearbyint(std::ldexp(a, 9)));
  }
  int e = 0;
  std::frexp(a, &e);
  e -= 1;
  int r = static_cast<int>(std::nearbyint((std::ldexp(a, -e) - 1.0) * 8.0));
  if (r == 8) {
    r = 0;
    ++e;
  }
  return sign | static_cast<std::uint8_t>(((e + 7) << 3) | r);
}

std::int8_t int8_code(float x, float scale) {
  const float c = std::nearbyint(x / scale);
  return static_cast<std::int8_t>(std::clamp(c, -127.0f, 127.0f));
}

GroupQuant group_quant_params(float min, float max, int bits) {
  GroupQuant q;
  const float levels = static_cast<float>((1 << bits) - 1);
  q.scale_bits = float_to_fp16((max - min) / levels);
  q.scale = fp16_to_float(q.scale_bits);
  if (q.scale == 0.0f) {
    q.scale_bits = float_to_fp16(1.0f);
    q.scale = 1.0f;
  }
  q.zero_bits = float_to_fp16(min);
  q.zero = fp16_to_float(q.zero_bits);
  return q;
}

int group_code(float x, const GroupQuant& q, int bits) {
  const float c = std::nearbyint((x - q.zero) / q.scale);
  return static_cast<int>(std::clamp(c, 0.0f, static_cast<float>((1 << bits) - 1)));
}

float group_dequant(int code, float scale, float zero) { return std::fma(static_cast<float>(code), scale, zero); }

int packed_code(const std::uint8_t* row, int c, int bits) {
  const int per_byte = 8 / bits;
  return (row[c / per_byte] >> ((c % per_byte) * bits)) & ((1 << bits) - 1);
}

void set_packed_code(std::uint8_t* row, int c, int bits, int code) {
  const int per_byte = 8 / bits, shift = (c % per_byte) * bits, mask = ((1 << bits) - 1) << shift;
  std::uint8_t& b = row[c / per_byte];
  b = static_cast<std::uint8_t>((b & ~mask) | ((code << shift) & mask));
}

}  // namespace kvsim::kernels::ref
