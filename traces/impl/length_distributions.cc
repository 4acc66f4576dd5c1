// Parametric token-length distributions of synthetic workloads: fixed, uniform, lognormal, zipf.
// Every draw is an integer >= 1.
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "traces/impl/formats.h"
#include "traces/impl/parse_util.h"

namespace kvsim::trace_impl {

namespace {

// Reads an integer token length >= `at_least`.
TokenCount read_length(ParamReader& params, const std::string& key, TokenCount at_least = 1) {
  return params.require_in<TokenCount>(key, at_least, kMaxTraceTokens, "tokens");
}

std::optional<TokenCount> read_optional_length(ParamReader& params, const std::string& key, TokenCount at_least) {
  if (!params.has(key)) {
    params.get_optional<TokenCount>(key);  // marks the key as known (it may be null)
    return std::nullopt;
  }
  return read_length(params, key, at_least);
}

double read_number(ParamReader& params, const std::string& key, double at_least, bool strictly) {
  const auto value = params.require<double>(key);
  const bool ok = strictly ? value > at_least : value >= at_least;
  params.check(ok && value <= 1e9, key,
               fmt::format("{:g} is out of range; expected a number {} {:g} and at most 1e9", value,
                           strictly ? ">" : ">=", at_least));
  return value;
}

class FixedLength final : public ILengthDistribution {
 public:
  explicit FixedLength(TokenCount value) : value_(value) {}
  TokenCount sample(Rng&) override { return value_; }
  std::string describe() const override { return fmt::format("fixed({})", value_); }

 private:
  TokenCount value_;
};

class UniformLength final : public ILengthDistribution {
 public:
  UniformLength(TokenCount min, TokenCount max) : min_(min), max_(max) {}
  TokenCount sample(Rng& rng) override { return rng.uniform_int(min_, max_); }
  std::string describe() const override { return fmt::format("uniform({}..{})", min_, max_); }

 private:
  TokenCount min_, max_;
};

// exp(N(mu, sigma²)) with mu = ln(mean) − sigma²/2, so that the mean of the lengths is `mean`; rounded to the
// nearest integer, then clamped to [min, max].
class LognormalLength final : public ILengthDistribution {
 public:
  LognormalLength(double mean, double sigma, TokenCount min, std::optional<TokenCount> max)
      : mean_(mean), sigma_(sigma), mu_(std::log(mean) - 0.5 * sigma * sigma), min_(min), max_(max) {}
  TokenCount sample(Rng& rng) override {
    const double x = std::exp(mu_ + sigma_ * rng.normal());
    const double hi = max_ ? static_cast<double>(*max_) : 1e15;
    return static_cast<TokenCount>(std::llround(std::clamp(x, static_cast<double>(min_), hi)));
  }
  std::string describe() const override {
    return fmt::format("lognormal(mean={:g}, sigma={:g}, min={}{})", mean_, sigma_, min_,
                       max_ ? fmt::format(", max={}", *max_) : "");
  }

 private:
  double mean_, sigma_, mu_;
  TokenCount min_;
  std::optional<TokenCount> max_;
};

// Zipf over the integers min..max: P(k) ∝ k^(−exponent). Sampled by binary search in the cumulative table.
class ZipfLength final : public ILengthDistribution {
 public:
  ZipfLength(TokenCount min, TokenCount max, double exponent) : min_(min), max_(max), exponent_(exponent) {
    cdf_.reserve(static_cast<std::size_t>(max - min + 1));
    double total = 0;
    for (TokenCount k = min; k <= max; ++k) {
      total += std::pow(static_cast<double>(k), -exponent);
      cdf_.push_back(total);
    }
  }
  TokenCount sample(Rng& rng) override {
    const double u = rng.uniform01() * cdf_.back();
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    const auto index = std::min<std::ptrdiff_t>(it - cdf_.begin(), static_cast<std::ptrdiff_t>(cdf_.size()) - 1);
    return min_ + index;
  }
  std::string describe() const override { return fmt::format("zipf({}..{}, exponent={:g})", min_, max_, exponent_); }

 private:
  TokenCount min_, max_;
  double exponent_;
  std::vector<double> cdf_;
};

constexpr TokenCount kMaxZipfValues = 10'000'000;  // the table holds one double per value

}  // namespace

LengthDistributionRegistry::Entry fixed_lengths() {
  return {"fixed", "every request has the same length", "-",
          {{"value", "int", "(required)", "tokens (>= 1)"}},
          [](ParamReader& params, const LengthContext&) -> std::unique_ptr<ILengthDistribution> {
            const TokenCount value = read_length(params, "value");
            params.finish();
            return std::make_unique<FixedLength>(value);
          }};
}

LengthDistributionRegistry::Entry uniform_lengths() {
  return {"uniform", "integers uniformly distributed between min and max, inclusive", "-",
          {{"min", "int", "(required)", "smallest length, tokens (>= 1)"},
           {"max", "int", "(required)", "largest length, tokens (>= min)"}},
          [](ParamReader& params, const LengthContext&) -> std::unique_ptr<ILengthDistribution> {
            const TokenCount min = read_length(params, "min");
            const TokenCount max = read_length(params, "max", min);
            params.finish();
            return std::make_unique<UniformLength>(min, max);
          }};
}

LengthDistributionRegistry::Entry lognormal_lengths() {
  return {"lognormal",
          "log-normal lengths with the given mean (tokens) and sigma of the underlying normal, rounded and clamped",
          "log-normal fits of LLM request lengths, e.g. Wang et al., BurstGPT, KDD 2025",
          {{"mean", "number", "(required)", "mean length before clamping, tokens (> 0)"},
           {"sigma", "number", "(required)", "standard deviation of the underlying normal (>= 0)"},
           {"min", "int", "1", "lengths below are raised to it, tokens (>= 1)"},
           {"max", "int", "null", "lengths above are lowered to it, tokens (>= min); null = no limit"}},
          [](ParamReader& params, const LengthContext&) -> std::unique_ptr<ILengthDistribution> {
            const double mean = read_number(params, "mean", 0, /*strictly=*/true);
            params.checked_in("mean", mean, 0.0, static_cast<double>(kMaxTraceTokens), "tokens");
            const double sigma = read_number(params, "sigma", 0, /*strictly=*/false);
            params.checked_in("sigma", sigma, 0.0, 10.0, "(of the log of the length)");
            const TokenCount min = read_optional_length(params, "min", 1).value_or(1);
            const std::optional<TokenCount> max = read_optional_length(params, "max", min);
            params.finish();
            return std::make_unique<LognormalLength>(mean, sigma, min, max);
          }};
}

LengthDistributionRegistry::Entry zipf_lengths() {
  return {"zipf", "bounded Zipf over the integers min..max: P(k) proportional to k^-exponent",
          "Zipf's law; bounded power-law lengths",
          {{"min", "int", "(required)", "smallest length, tokens (>= 1)"},
           {"max", "int", "(required)", "largest length, tokens (>= min; at most 10^7 values)"},
           {"exponent", "number", "(required)", "power-law exponent (>= 0; 0 = uniform)"}},
          [](ParamReader& params, const LengthContext&) -> std::unique_ptr<ILengthDistribution> {
            const TokenCount min = read_length(params, "min");
            const TokenCount max = read_length(params, "max", min);
            params.check(max - min < kMaxZipfValues, "max",
                         fmt::format("spans {} values; expected max − min < {}", max - min + 1, kMaxZipfValues));
            const double exponent = read_number(params, "exponent", 0, /*strictly=*/false);
            params.checked_in("exponent", exponent, 0.0, 100.0, "(Zipf exponent)");
            params.finish();
            return std::make_unique<ZipfLength>(min, max, exponent);
          }};
}

}  // namespace kvsim::trace_impl
