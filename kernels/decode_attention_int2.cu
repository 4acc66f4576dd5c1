// Decode attention over KIVI INT2 KV (group scales, residual window): explicit instantiation of
// decode_attention_for_format (bf16/fp16 x head_dim 64/128). One format per file keeps
// builds parallel.
#include "kernels/decode_attention.cuh"

namespace kvsim::kernels {
template cudaError_t decode_attention_for_format<KvFormat::kINT2>(const DecodeAttentionParams&, const DecodePlan&,
                                                                  void*, cudaStream_t);
template int decode_ctas_per_sm_for_format<KvFormat::kINT2>(const DecodeAttentionParams&);
}  // namespace kvsim::kernels
