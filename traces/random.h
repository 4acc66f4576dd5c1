// Deterministic random numbers for synthetic workloads.
//
// std::mt19937_64 is specified bit for bit by the C++ standard, but std:: distributions are not (libstdc++ and
// libc++ draw different values), so kvsim samples with its own small set of samplers on top of the engine.
// Same (seed, stream) → same sequence on every platform.
#pragma once

#include <cstdint>
#include <random>

namespace kvsim {

// Independent random streams of one workload, so that changing one distribution does not move the draws of
// another (e.g. a new prompt-length distribution keeps the same arrival times).
enum class RngStream : std::uint64_t { kArrivals = 1, kPromptLengths = 2, kOutputLengths = 3, kPrefixGroups = 4,
                                      kSessions = 5, kRagChunks = 6,
                                      kRequestClasses = 7 };

class Rng {
 public:
  Rng(std::uint64_t seed, RngStream stream);

  std::uint64_t next_u64() { return engine_(); }
  double uniform01();                                  // [0, 1), 53 random bits
  double uniform_open01() { return 1.0 - uniform01(); }  // (0, 1], safe for log()
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi);  // inclusive, unbiased (rejection); lo <= hi
  double exponential(double rate);                     // mean 1/rate; inverse CDF
  double normal();                                     // standard normal; Box–Muller (cosine branch)
  double gamma(double shape, double scale);            // mean shape·scale; Marsaglia–Tsang (2000)

 private:
  std::mt19937_64 engine_;
};

}  // namespace kvsim
