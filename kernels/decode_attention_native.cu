// Decode attention over 16-bit (bf16/fp16) KV: explicit instantiation of decode_attention_for_format
// (bf16/fp16 x head_dim 64/128). One format per file keeps builds parallel.
#include "kernels/decode_attention.cuh"

namespace kvsim::kernels {
template cudaError_t decode_attention_for_format<KvFormat::kNative>(const DecodeAttentionParams&, const DecodePlan&,
                                                                    void*, cudaStream_t);
template int decode_ctas_per_sm_for_format<KvFormat::kNative>(const DecodeAttentionParams&);
}  // namespace kvsim::kernels
