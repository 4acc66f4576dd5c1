// The only place where kvsim converts between the units users write (GB/s, TFLOP/s, GiB, ms)
// and the SI units used inside (bytes, seconds, FLOP/s, integer nanoseconds).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>

#include <string>

#include "sim/core/error.h"
#include "sim/core/types.h"

namespace kvsim::units {

inline constexpr double kGB = 1e9;                      // decimal gigabyte (vendor bandwidth/memory specs)
inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
inline constexpr double kTera = 1e12;
inline constexpr double kNsPerS = 1e9;

constexpr double gbps_to_bytes_per_s(double gbps) { return gbps * kGB; }
constexpr double tflops_to_flops(double tflops) { return tflops * kTera; }
constexpr double gib_to_bytes(double gib) { return gib * kGiB; }
constexpr double gb_to_bytes(double gb) { return gb * kGB; }
constexpr double ns_to_s(SimTimeNs ns) { return static_cast<double>(ns) / kNsPerS; }

// Largest simulated time kvsim represents (int64 nanoseconds: about 292 years).
inline constexpr double kMaxSimSeconds = 9.2e9;

// Seconds to simulated nanoseconds, rounded to the nearest nanosecond. Throws KvsimError for a time that is not
// finite or beyond +-kMaxSimSeconds, instead of overflowing.
inline SimTimeNs s_to_ns(double seconds) {
  if (!(std::fabs(seconds) <= kMaxSimSeconds)) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", seconds);
    throw KvsimError(std::string("time ") + text +
                     " s is outside the simulator's range (|t| <= 9.2e9 s): a rate, time scale, overhead or "
                     "timestamp of the scenario or trace is far beyond a real deployment's");
  }
  return static_cast<SimTimeNs>(std::llround(seconds * kNsPerS));
}

}  // namespace kvsim::units
