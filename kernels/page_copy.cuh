// Page gather/scatter between device buffers (see PageCopyParams): one CTA per listed page, 16-byte accesses when
// the page size and both buffers allow, with four loads in flight per thread.
#pragma once

#include <cstdint>

#include "kernels/cuda_check.h"
#include "kernels/params.h"

namespace kvsim::kernels {

inline constexpr std::uint32_t kCopyThreads = 256;

/*!
 * \brief dst page dst_pages[i] <- src page src_pages[i]; grid = num_copies, kCopyThreads threads.
 * \tparam Word the access type: uint4 when page_bytes and the buffers are 16-byte aligned, else unsigned char
 */
template <typename Word>
__global__ void __launch_bounds__(kCopyThreads) CopyPagesKernel(const __grid_constant__ PageCopyParams p) {
  constexpr int UNROLL = 4;
  const std::int64_t words = p.page_bytes / static_cast<std::int64_t>(sizeof(Word));
  const Word* src = static_cast<const Word*>(p.src) + static_cast<std::int64_t>(p.src_pages[blockIdx.x]) * words;
  Word* dst = static_cast<Word*>(p.dst) + static_cast<std::int64_t>(p.dst_pages[blockIdx.x]) * words;
  for (std::int64_t base = threadIdx.x; base < words; base += kCopyThreads * UNROLL) {
    Word w[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      const std::int64_t i = base + u * kCopyThreads;
      if (i < words) w[u] = src[i];
    }
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      const std::int64_t i = base + u * kCopyThreads;
      if (i < words) dst[i] = w[u];
    }
  }
}

/// Host launcher: picks the access width.
inline cudaError_t CopyPagesDispatched(const PageCopyParams& p, cudaStream_t stream) {
  if (p.num_copies == 0) return cudaSuccess;
  const bool aligned = p.page_bytes % 16 == 0 && reinterpret_cast<std::uintptr_t>(p.src) % 16 == 0 &&
                       reinterpret_cast<std::uintptr_t>(p.dst) % 16 == 0;
  if (aligned) {
    CopyPagesKernel<uint4><<<static_cast<unsigned>(p.num_copies), kCopyThreads, 0, stream>>>(p);
  } else {
    CopyPagesKernel<unsigned char><<<static_cast<unsigned>(p.num_copies), kCopyThreads, 0, stream>>>(p);
  }
  KVSIM_CUDA_CALL(cudaGetLastError());
  return cudaSuccess;
}

}  // namespace kvsim::kernels
