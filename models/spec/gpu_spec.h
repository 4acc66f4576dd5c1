// Spec card of a GPU: memory, bandwidths, peak dense FLOP/s per dtype and an hourly price.
// Cards are JSON files in models/specs/gpu/ (one per GPU, with a `source`), embedded into the binary.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace kvsim {

struct GpuSpec {
  std::string name;            // registry name: "h100-sxm"
  std::string display_name;    // "NVIDIA H100 SXM5 80GB"
  std::string source;          // datasheet URL
  std::string notes;           // optional caveats of the card (variant, what a number means), free text
  double memory_bytes = 0;     // HBM capacity in bytes (card key memory_GiB)
  double hbm_bandwidth_Bps = 0;         // bytes/s (card key hbm_bandwidth_GBps, decimal GB)
  int sm_count = 0;                     // streaming multiprocessors (CTA waves of the calibrated model)
  std::map<std::string, double> dense_flops;  // dtype ("bf16", "fp16", "fp8", "int8", "tf32") -> FLOP/s, dense
  // CUDA-core (non-tensor) FP32 FLOP/s, 2 per FP32 lane per clock (card key fp32_tflops): fp32_flops / 2 is the
  // lane-instructions per second that dequantization issues at.
  double fp32_flops = 0;
  // Maximum boost clock in Hz (card key boost_clock_MHz, optional; 0 if the card omits it): the calibrated model
  // counts fixed latencies in clock cycles with it (see clock_Hz()).
  double boost_clock_Hz = 0;
  // Last-level (L2) cache in bytes (card key l2_cache_MiB, optional; 0 if the card omits it): the calibrated GEMM
  // model tells weights that a benchmark's repetitions keep in L2 from those streamed from memory with it.
  double l2_bytes = 0;
  double nvlink_bandwidth_Bps = 0;      // per GPU, per direction, bytes/s (0 if none)
  double pcie_bandwidth_Bps = 0;        // host link per direction, bytes/s
  double price_per_hour_usd = 0;        // on-demand cloud price of one GPU
  std::string price_source;
  double tdp_W = 0;                     // board power at most (card key tdp_W, optional; 0 if the card omits it)
  std::string tdp_source;

  // Peak dense FLOP/s for a dtype; throws KvsimError listing the dtypes of the card if absent.
  double flops_for(const std::string& dtype) const;
  // The boost clock; a card without boost_clock_MHz gets the clock its FP32 peak implies at 128 FP32 lanes per SM
  // (Hopper, Ada, Blackwell; Ampere GA100 has 64 and must give the clock).
  double clock_Hz() const { return boost_clock_Hz > 0 ? boost_clock_Hz : fp32_flops / (sm_count * 128.0 * 2.0); }
};

// Parses one card; `where` names the file in messages. Strict: unknown keys (also unknown dtypes in
// `dense_tflops`) are errors; sizes, bandwidths and FLOP/s must be positive. Schema: models/specs/README.md.
GpuSpec parse_gpu_spec(const nlohmann::json& card, const std::string& where);
// The spec as a card (card units: GiB, GB/s, TFLOP/s) that parse_gpu_spec() accepts.
nlohmann::json to_json(const GpuSpec& spec);

}  // namespace kvsim
