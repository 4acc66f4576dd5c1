// kvsim's own samplers over std::mt19937_64: see random.h.
#include "traces/random.h"

#include <cmath>
#include <numbers>

namespace kvsim {

namespace {
// SplitMix64 finaliser (Steele, Lea & Flood, OOPSLA 2014): spreads (seed, stream) over the engine's seed space.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

Rng::Rng(std::uint64_t seed, RngStream stream)
    : engine_(mix(mix(seed) ^ static_cast<std::uint64_t>(stream))) {}

double Rng::uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

std::int64_t Rng::uniform_int(std::int64_t lo, std::int64_t hi) {
  const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
  if (range == 0) return static_cast<std::int64_t>(engine_());  // the whole 64-bit range
  const std::uint64_t reject_below = (0 - range) % range;     // 2^64 mod range
  std::uint64_t r = engine_();
  while (r < reject_below) r = engine_();
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + r % range);
}

double Rng::exponential(double rate) { return -std::log(uniform_open01()) / rate; }

double Rng::normal() {
  const double radius = std::sqrt(-2.0 * std::log(uniform_open01()));
  return radius * std::cos(2.0 * std::numbers::pi * uniform01());
}

double Rng::gamma(double shape, double scale) {
  if (shape < 1.0) {
    // Boost: Gamma(k) = Gamma(k + 1) · U^(1/k) (Marsaglia & Tsang, section 6).
    return gamma(shape + 1.0, scale) * std::pow(uniform_open01(), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x = 0, v = 0;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open01();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * scale;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v * scale;
  }
}

}  // namespace kvsim
