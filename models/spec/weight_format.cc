// The weight formats kvsim knows (see weight_format.h).
#include "models/spec/weight_format.h"

namespace kvsim {

namespace {

WeightFormatRegistry build() {
  WeightFormatRegistry r("weight format");
  r.add({"bf16", "16-bit weights (bf16 or fp16): every weight 2 bytes, the GEMMs' native input",
         "the model's released checkpoint", {},
         WeightFormat{{16, 16, 16, false, 0, 0}, "the reference"}});
  r.add({"fp8",
         "W8A8 FP8: linear layers at 1 byte per weight, GEMMs on FP8 tensor cores where the card has them; "
         "embeddings and LM head 16-bit",
         "vLLM FP8 W8A8 (docs.vllm.ai, quantization/fp8); Micikevicius et al., FP8 Formats for Deep Learning, "
         "arXiv 2209.05433",
         {},
         WeightFormat{{8, 16, 8, true, 0, 0},
                       "vLLM docs (quantization/fp8): a 2x smaller model and up to 1.6x throughput 'with minimal "
                       "impact on accuracy'"}});
  r.add({"int4-awq",
         "W4A16 group-quantized (AWQ/GPTQ, group 128): 4.25 bits per linear weight with scales and zeros, "
         "dequantized in the GEMM (Marlin); embeddings and LM head 16-bit",
         "Lin et al., AWQ, arXiv 2306.00978 (MLSys 2024); Frantar et al., GPTQ, arXiv 2210.17323; Marlin kernel "
         "(IST-DASLab/marlin)",
         {},
         WeightFormat{{4.25, 16, 4.25, false, 1.0, 0},
                       "AWQ (abstract): 4-bit weights that 'outperform existing work on various language modeling "
                       "and domain-specific benchmarks'; lossy, check per task"}});
  r.add({"dfloat11",
         "DFloat11: lossless ~11 bits per weight (Huffman-coded bf16 exponents), every weight; decompressed to a "
         "bf16 buffer on the GPU once per forward pass",
         "Zhang et al., 70% Size, 100% Accuracy: Lossless LLM Compression via Dynamic-Length Float, arXiv "
         "2504.11651 (LeanModels/DFloat11)",
         {},
         WeightFormat{{11, 11, 16, false, 0, 8},
                       "bit-for-bit identical outputs to bf16 (lossless); Llama 3.1 8B 16.1 -> 10.9 GB, 67.8 % "
                       "(paper and authors' poster)"}});
  return r;
}

}  // namespace

const WeightFormatRegistry& weight_formats() {
  static const WeightFormatRegistry r = build();
  return r;
}

void apply_weight_format(LlmSpec& m, const std::string& name, const WeightFormat& f) {
  m.weight_dtype = name;
  m.weights = f.storage;
}

}  // namespace kvsim
