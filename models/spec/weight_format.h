// How a model's weights are stored and read (scenario `model_weights.format`, `kvsim list weight-formats`): the
// bytes they take (and so the KV pool: every byte a format saves goes to the KV cache) and what the GEMMs pay to use
// them. One registry entry per format, each with its citation and the quality its authors report (shown as
// reported, never simulated).
//
//   bf16      16-bit weights, the GEMMs' native input.
//   fp8       W8A8 FP8 (vLLM's fp8 checkpoints and dynamic quantization): linear layers at 8 bits, GEMMs on FP8
//             tensor cores where the card has them (Hopper, Ada, Blackwell; elsewhere vLLM's Marlin FP8 runs them
//             weight-only at the 16-bit rate); embeddings and the LM head stay 16-bit.
//   int4-awq  W4A16 group-quantized weights (AWQ or GPTQ, group 128: 4 bits plus an fp16 scale and zero per group,
//             4.25 bits): GEMMs read the packed weights and dequantize them on CUDA cores inside the kernel
//             (Marlin), again for every 64-row tile of activations, about 1 instruction per weight (Marlin turns
//             packed int4 into fp16 pairs with a few bit operations and applies scale and zero with one fused
//             multiply-add per pair: an estimate from the kernel's design, not a measurement); embeddings and the
//             LM head stay 16-bit.
//   dfloat11  DFloat11 (lossless Huffman-coded bf16 exponents, ~11 bits per weight, every weight): each forward
//             pass decompresses the weights a GPU holds into a bf16 buffer before its GEMMs (the weights.decompress
//             op: reads the compressed bytes, writes bf16, CUDA-core decoding), the GEMMs then read bf16.
#pragma once

#include <string>

#include "models/spec/llm_spec.h"
#include "sim/core/registry.h"

namespace kvsim {

struct WeightFormat {
  WeightStorage storage;         // models/spec/llm_spec.h
  std::string reported_quality;  // the authors' words on accuracy, as reported
};

using WeightFormatRegistry = Registry<WeightFormat>;
const WeightFormatRegistry& weight_formats();

// `model` stored as `format`: its weight bytes and how its GEMMs read them (LlmSpec::weights).
void apply_weight_format(LlmSpec& model, const std::string& format_name, const WeightFormat& format);

}  // namespace kvsim
