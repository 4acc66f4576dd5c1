// append_kv(): checks and the (dtype, format) dispatch to AppendKvKernel (kv_append.cuh).
#include <stdexcept>
#include <string>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/kv_append.cuh"

namespace kvsim::kernels {

cudaError_t append_kv(const KvAppendParams& p, cudaStream_t stream) {
  if (std::string e = check_append_params(p); !e.empty()) throw std::invalid_argument("kvsim kernels: " + e);
  KVSIM_DISPATCH_DTYPE(p.dtype, T,
                       {KVSIM_DISPATCH_KV_FORMAT(p.kv.format, FMT, { return AppendKvDispatched<T, FMT>(p, stream); })})
  return cudaErrorInvalidValue;
}

}  // namespace kvsim::kernels
