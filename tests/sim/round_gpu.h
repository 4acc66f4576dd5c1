// A GPU of round numbers and a roofline with every efficiency 1 and no latency, so that cost tests can be checked by
// hand: 1 PFLOP/s bf16, 10 TFLOP/s FP32 on the CUDA cores (5e12 lane-instructions/s), 1 TB/s HBM, 100 GB/s NVLink,
// 10 GB/s PCIe.
#pragma once

#include "models/cost/impl/roofline.h"
#include "models/spec/gpu_spec.h"

namespace kvsim::testing {

inline GpuSpec round_gpu() {
  GpuSpec g;
  g.name = "round";
  g.memory_bytes = 80e9;
  g.hbm_bandwidth_Bps = 1e12;
  g.dense_flops["bf16"] = 1e15;
  g.fp32_flops = 10e12;
  g.nvlink_bandwidth_Bps = 100e9;
  g.pcie_bandwidth_Bps = 10e9;
  return g;
}

inline RooflineParams ideal() {
  RooflineParams p;
  p.gemm_efficiency = p.attention_efficiency = p.memory_efficiency = 1.0;
  p.nvlink_efficiency = p.pcie_efficiency = 1.0;
  p.launch_latency_s = 0;
  p.allreduce_latency_s = 0;
  p.core_efficiency = 1.0;
  return p;
}

}  // namespace kvsim::testing
