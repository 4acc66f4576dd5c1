// Public host API of the CUDA kernels (library kvsim_kernels). Include from .cc or .cu files; needs only the CUDA
// runtime headers. Every launcher checks its parameters first and throws std::invalid_argument with a message
// naming the field (unsupported head_dim, dtype, format, ...); CUDA errors come back as cudaError_t. Launches are
// asynchronous on `stream`. Device pointers must be 16-byte aligned (cudaMalloc gives 256).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/params.h"
#include "kernels/plan.h"

namespace kvsim::kernels {

/// Decode attention over a paged KV cache (any KvFormat, any TokenRange): one CTA per (sequence, kv head, query-head
/// chunk, split), all query heads of the chunk in the CTA; with plan.num_splits > 1 a second kernel merges the
/// splits (flash-decoding). `plan` must come from plan_decode_attention(p) (or the same shapes); `workspace` is
/// device memory of at least plan.workspace_bytes (may be null when that is 0).
cudaError_t decode_attention(const DecodeAttentionParams& p, const DecodePlan& plan, void* workspace,
                             std::size_t workspace_bytes, cudaStream_t stream);

/// CTAs of decode_attention's main kernel that fit on one SM for p's format, dtype and head_dim (its registers
/// decide); pass it as DecodePlanOptions::target_ctas_per_sm so that the split-K plan fills whole waves. Throws
/// std::invalid_argument on an unsupported format, dtype or head_dim; 0 if the CUDA query fails.
int decode_attention_ctas_per_sm(const DecodeAttentionParams& p);

/// Appends one token per sequence, quantizing into the cache's format (see KvAppendParams).
cudaError_t append_kv(const KvAppendParams& p, cudaStream_t stream);

/// Device-side page gather/scatter between two device buffers; page lists are device arrays.
cudaError_t copy_pages(const PageCopyParams& p, cudaStream_t stream);

/// Swap/offload copies with cudaMemcpyAsync, one per run of consecutive pages (coalesce_page_runs); the page lists
/// are host arrays; kind is cudaMemcpyDeviceToHost (swap out), cudaMemcpyHostToDevice (swap in) or
/// cudaMemcpyDeviceToDevice. The host buffer must be pinned (cudaMallocHost/cudaHostRegister) for the copies to be
/// asynchronous and run at full PCIe/NVLink-C2C speed.
cudaError_t copy_pages_async(const void* src, void* dst, const std::int32_t* src_pages, const std::int32_t* dst_pages,
                             int num_copies, std::int64_t page_bytes, cudaMemcpyKind kind, cudaStream_t stream);

}  // namespace kvsim::kernels
