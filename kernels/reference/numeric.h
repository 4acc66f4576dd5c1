// Bit-exact CPU versions of the number formats the kernels use: bf16, fp16, FP8 E4M3 (OCP "fn": no infinities,
// max 448, NaN = S.1111.111) and the quantization codecs (int8 per tensor, KIVI int4/int2 groups). Conversions
// round to nearest, ties to even, as the CUDA intrinsics (__float2bfloat16_rn, __float2half_rn,
// __nv_cvt_float_to_fp8(.., __NV_SATFINITE, __NV_E4M3), __float2int_rn) do, so GPU results can be compared
// code for code.
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace kvsim::kernels::ref {

float bf16_to_float(std::uint16_t bits);
std::uint16_t float_to_bf16(float x);
float fp16_to_float(std::uint16_t bits);
std::uint16_t float_to_fp16(float x);  // overflow -> inf
float fp8e4m3_to_float(std::uint8_t bits);
std::uint8_t float_to_fp8e4m3(float x);  // saturates to ±448; NaN -> 0x7F

/// Activation dtype <-> float.
inline float act_to_float(DType d, std::uint16_t bits) {
  return d == DType::kBF16 ? bf16_to_float(bits) : fp16_to_float(bits);
}
inline std::uint16_t float_to_act(DType d, float x) { return d == DType::kBF16 ? float_to_bf16(x) : float_to_fp16(x); }

/// INT8 per tensor: code = clamp(rne(x / scale), -127, 127); x ≈ code * scale (error <= scale / 2 inside range).
std::int8_t int8_code(float x, float scale);

/// KIVI asymmetric group parameters as stored (fp16-rounded): scale = (max - min) / (2^bits - 1), zero = min;
/// a zero scale (constant group) is stored as 1 so that every code is 0.
struct GroupQuant {
  float scale = 1.0f;
  float zero = 0.0f;
  std::uint16_t scale_bits = 0;  // fp16
  std::uint16_t zero_bits = 0;   // fp16
};
GroupQuant group_quant_params(float min, float max, int bits);
/// code = clamp(rne((x - zero) / scale), 0, 2^bits - 1).
int group_code(float x, const GroupQuant& q, int bits);
/// x ≈ fma(code, scale, zero).
float group_dequant(int code, float scale, float zero);
/// Reads the `bits`-bit code of channel c from a packed row.
int packed_code(const std::uint8_t* row, int c, int bits);
/// Writes the `bits`-bit code of channel c into a packed row (other channels unchanged).
void set_packed_code(std::uint8_t* row, int c, int bits, int code);

}  // namespace kvsim::kernels::ref
