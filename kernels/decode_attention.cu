// decode_attention(): checks, then dispatches on the KV format to the per-format instantiations
// (decode_attention_<format>.cu).
#include <stdexcept>
#include <string>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

namespace kvsim::kernels {

// Defined in decode_attention.cuh, explicitly instantiated in decode_attention_<format>.cu.
template <KvFormat FMT>
cudaError_t decode_attention_for_format(const DecodeAttentionParams& p, const DecodePlan& plan, void* workspace,
                                        cudaStream_t stream);
template <KvFormat FMT>
int decode_ctas_per_sm_for_format(const DecodeAttentionParams& p);

int decode_attention_ctas_per_sm(const DecodeAttentionParams& p) {
  KVSIM_DISPATCH_KV_FORMAT(p.kv.format, FMT, { return decode_ctas_per_sm_for_format<FMT>(p); })
  return 0;
}

cudaError_t decode_attention(const DecodeAttentionParams& p, const DecodePlan& plan, void* workspace,
                             std::size_t workspace_bytes, cudaStream_t stream) {
  if (std::string e = check_decode_params(p); !e.empty()) throw std::invalid_argument("kvsim kernels: " + e);
  const int group = p.num_q_heads / p.kv.num_kv_heads;
  if (plan.group_slots < 1 || plan.q_chunks * plan.group_slots < group || plan.num_splits < 1 ||
      plan.tokens_per_split < 1 || plan.tokens_per_split % kSplitGranularity != 0 ||
      static_cast<long long>(plan.num_splits) * plan.tokens_per_split < max_range_length(p)) {
    throw std::invalid_argument(
        "kvsim kernels: the decode plan does not fit these parameters; "
        "make it with plan_decode_attention");
  }
  if (plan.num_splits > 1 && (workspace == nullptr || workspace_bytes < plan.workspace_bytes)) {
    throw std::invalid_argument("kvsim kernels: decode workspace of " + std::to_string(workspace_bytes) +
                                " bytes, the plan needs " + std::to_string(plan.workspace_bytes));
  }
  KVSIM_DISPATCH_KV_FORMAT(p.kv.format, FMT, { return decode_attention_for_format<FMT>(p, plan, workspace, stream); })
  return cudaErrorInvalidValue;
}

}  // namespace kvsim::kernels
