// copy_pages() (device kernel) and copy_pages_async() (cudaMemcpyAsync per run of consecutive pages).
#include <stdexcept>
#include <string>

#include "kernels/kernels.h"
#include "kernels/page_copy.cuh"

namespace kvsim::kernels {

cudaError_t copy_pages(const PageCopyParams& p, cudaStream_t stream) {
  if (std::string e = check_page_copy_params(p); !e.empty()) throw std::invalid_argument("kvsim kernels: " + e);
  return CopyPagesDispatched(p, stream);
}

cudaError_t copy_pages_async(const void* src, void* dst, const std::int32_t* src_pages, const std::int32_t* dst_pages,
                             int num_copies, std::int64_t page_bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  const PageCopyParams p{src, dst, src_pages, dst_pages, num_copies, page_bytes};
  if (std::string e = check_page_copy_params(p); !e.empty()) throw std::invalid_argument("kvsim kernels: " + e);
  const auto* s = static_cast<const unsigned char*>(src);
  auto* d = static_cast<unsigned char*>(dst);
  for (const PageRun& r : coalesce_page_runs(src_pages, dst_pages, num_copies)) {
    KVSIM_CUDA_CALL(
        cudaMemcpyAsync(d + r.dst_page * page_bytes, s + r.src_page * page_bytes, r.count * page_bytes, kind, stream));
  }
  return cudaSuccess;
}

}  // namespace kvsim::kernels
