// Roofline kernel cost model (see roofline.h).
#include "models/cost/impl/roofline.h"

#include <algorithm>

#include <fmt/format.h>

namespace kvsim {


RooflineParams RooflineParams::read(ParamReader& r) {
  RooflineParams p;
  p.compute_dtype = r.get<std::string>("compute_dtype", p.compute_dtype);
  p.gemm_efficiency = r.get_fraction("gemm_efficiency", p.gemm_efficiency);
  p.attention_efficiency = r.get_fraction("attention_efficiency", p.attention_efficiency);
  p.memory_efficiency = r.get_fraction("memory_efficiency", p.memory_efficiency);
  p.nvlink_efficiency = r.get_fraction("nvlink_efficiency", p.nvlink_efficiency);
  p.pcie_efficiency = r.get_fraction("pcie_efficiency", p.pcie_efficiency);
  p.launch_latency_s = r.get_non_negative<double>("launch_latency_s", p.launch_latency_s);
  p.allreduce_latency_s = r.get_non_negative<double>("allreduce_latency_s", p.allreduce_latency_s);
  p.dequant_instructions_8bit = r.get_non_negative<double>("dequant_instructions_8bit", p.dequant_instructions_8bit);
  p.dequant_instructions_subbyte =
      r.get_non_negative<double>("dequant_instructions_subbyte", p.dequant_instructions_subbyte);
  p.core_efficiency = r.get_fraction("core_efficiency", p.core_efficiency);
  return p;
}

std::vector<ParamDoc> RooflineParams::docs() {
  const RooflineParams d;
  return {
      {"compute_dtype", "string", "\"" + d.compute_dtype + "\"", "dtype whose peak FLOP/s GEMMs and attention use"},
      {"gemm_efficiency", "number", fmt::format("{}", d.gemm_efficiency), "achieved fraction of peak FLOP/s, GEMMs"},
      {"attention_efficiency", "number", fmt::format("{}", d.attention_efficiency),
       "achieved fraction of peak FLOP/s, attention"},
      {"memory_efficiency", "number", fmt::format("{}", d.memory_efficiency), "achieved fraction of HBM bandwidth"},
      {"nvlink_efficiency", "number", fmt::format("{}", d.nvlink_efficiency),
       "achieved fraction of NVLink bandwidth (all-reduce)"},
      {"pcie_efficiency", "number", fmt::format("{}", d.pcie_efficiency),
       "achieved fraction of PCIe bandwidth (swap)"},
      {"launch_latency_s", "number", fmt::format("{}", d.launch_latency_s), "seconds per kernel launch"},
      {"allreduce_latency_s", "number", fmt::format("{}", d.allreduce_latency_s),
       "seconds per collective call (all-reduce, all-to-all) on top of bandwidth time"},
      {"dequant_instructions_8bit", "number", fmt::format("{}", d.dequant_instructions_8bit),
       "CUDA-core instructions per K/V element read from 8-bit storage (fp8, int8); default from kvsim's kernels"},
      {"dequant_instructions_subbyte", "number", fmt::format("{}", d.dequant_instructions_subbyte),
       "CUDA-core instructions per K/V element read from sub-byte group-quantized storage (KIVI int4/int2)"},
      {"core_efficiency", "number", fmt::format("{}", d.core_efficiency),
       "achieved fraction of the CUDA-core issue rate (card fp32_tflops / 2) for dequantization"},
  };
}

RooflineCostModel::RooflineCostModel(const RooflineParams& params, const GpuSpec& gpu)
    : p_(params),
      peak_flops_(gpu.flops_for(params.compute_dtype)),
      gemm_Fps_(peak_flops_ * params.gemm_efficiency),
      fp8_gemm_Fps_((gpu.dense_flops.count("fp8") != 0 ? gpu.flops_for("fp8") : peak_flops_) * params.gemm_efficiency),
      attention_Fps_(peak_flops_ * params.attention_efficiency),
      core_lanes_(gpu.fp32_flops / 2.0 * params.core_efficiency),
      hbm_Bps_(gpu.hbm_bandwidth_Bps * params.memory_efficiency),
      nvlink_Bps_(gpu.nvlink_bandwidth_Bps * params.nvlink_efficiency),
      pcie_Bps_(gpu.pcie_bandwidth_Bps * params.pcie_efficiency) {}

double RooflineCostModel::link_Bps(const KernelOp& op) const {
  if (op.link_Bps > 0) return op.link_Bps * p_.nvlink_efficiency;  // a topology's path
  return nvlink_Bps_ > 0 ? nvlink_Bps_ : pcie_Bps_;
}

nlohmann::json RooflineCostModel::params() const {
  return {{"compute_dtype", p_.compute_dtype},
          {"gemm_efficiency", p_.gemm_efficiency},
          {"attention_efficiency", p_.attention_efficiency},
          {"memory_efficiency", p_.memory_efficiency},
          {"nvlink_efficiency", p_.nvlink_efficiency},
          {"pcie_efficiency", p_.pcie_efficiency},
          {"launch_latency_s", p_.launch_latency_s},
          {"allreduce_latency_s", p_.allreduce_latency_s},
          {"dequant_instructions_8bit", p_.dequant_instructions_8bit},
          {"dequant_instructions_subbyte", p_.dequant_instructions_subbyte},
          {"core_efficiency", p_.core_efficiency}};
}

double RooflineCostModel::dequant_seconds(const KernelOp& op) const {
  if (op.dequant_elements <= 0 || core_lanes_ <= 0) return 0;
  return op.dequant_elements * p_.dequant_instructions(op.shape.kv_bits) / core_lanes_;
}

CostEstimate RooflineCostModel::estimate(const KernelOp& op) const {
  return op.weight_format ? priced<true>(op) : priced<false>(op);
}

template <bool kWeightFormat>
CostEstimate RooflineCostModel::priced(const KernelOp& op) const {
  CostEstimate e;
  e.flops = op.flops;
  e.bytes = op.bytes;
  e.source = Source::kRoofline;
  double compute_s = 0, memory_s = 0, latency_s = op.launches * p_.launch_latency_s;
  switch (op.kind) {
    case OpKind::kGemm:
      // In-kernel weight dequantization (W4A16) shares the SMs' issue slots with the tensor cores: times add.
      if constexpr (kWeightFormat) {
        compute_s = op.flops / (op.fp8 ? fp8_gemm_Fps_ : gemm_Fps_) + core_seconds(op);
      } else {
        compute_s = op.flops / gemm_Fps_;
      }
      memory_s = op.bytes / hbm_Bps_;
      break;
    case OpKind::kAttentionPrefill:
    case OpKind::kAttentionDecode:
    case OpKind::kElementwise:
      // Tensor-core FLOPs and CUDA-core dequantization share the SMs' issue slots: their times add.
      compute_s = op.flops / attention_Fps_ + dequant_seconds(op);
      if constexpr (kWeightFormat) compute_s += core_seconds(op);
      memory_s = op.bytes / hbm_Bps_;
      break;
    case OpKind::kAllReduce: {
      // Ring all-reduce: each GPU sends and receives 2 (tp-1)/tp of the buffer.
      const double tp = std::max(1, op.tp);
      memory_s = 2.0 * (tp - 1) / tp * op.bytes / link_Bps(op);
      latency_s = op.launches * (p_.allreduce_latency_s + op.link_latency_s);
      break;
    }
    case OpKind::kAllToAll: {
      // Each GPU keeps 1/g of its send buffer and sends the rest, to all peers at once (NVSwitch).
      const double g = std::max(1, op.tp);
      memory_s = (g - 1) / g * op.bytes / link_Bps(op);
      latency_s = op.launches * (p_.allreduce_latency_s + op.link_latency_s);
      break;
    }
    case OpKind::kHostTransfer:
      memory_s = op.bytes / pcie_Bps_;
      break;
    case OpKind::kSendRecv:
      memory_s = op.bytes / link_Bps(op);
      latency_s = op.launches * (p_.allreduce_latency_s + op.link_latency_s);
      break;
    case OpKind::kFixed:
      e.seconds = op.fixed_s;
      e.bound = Bound::kLatency;
      return e;
  }
  const double roof = std::max(compute_s, memory_s);
  e.seconds = roof + latency_s;
  e.bound = latency_s > roof ? Bound::kLatency : compute_s >= memory_s ? Bound::kCompute : Bound::kMemory;
  return e;
}

}  // namespace kvsim
