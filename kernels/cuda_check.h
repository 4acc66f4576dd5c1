// KVSIM_CUDA_CALL: evaluate a CUDA runtime call and return its error from the enclosing function if it failed.
#pragma once

#include <cuda_runtime_api.h>

#define KVSIM_CUDA_CALL(expr)                         \
  do {                                                \
    const cudaError_t kvsim_err_ = (expr);            \
    if (kvsim_err_ != cudaSuccess) return kvsim_err_; \
  } while (0)
