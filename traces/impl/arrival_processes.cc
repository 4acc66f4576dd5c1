// Arrival processes of synthetic workloads: poisson, gamma, constant (renewal processes given by their gaps).
#include <cmath>

#include <fmt/format.h>

#include "traces/impl/formats.h"

namespace kvsim::trace_impl {

namespace {

const ParamDoc kRateDoc{"rate_per_s", "number", "(required)", "mean request rate, requests per second (> 0)"};

// Reads rate_per_s (> 0, finite), shared by every process.
double read_rate(ParamReader& params) {
  // From one request a month to ten million a second.
  return params.require_in<double>("rate_per_s", 1e-6, 1e7, "requests per second");
}

class PoissonArrivals final : public IArrivalProcess {
 public:
  explicit PoissonArrivals(double rate) : rate_(rate) {}
  double next_gap_s(Rng& rng) override { return rng.exponential(rate_); }
  std::string describe() const override { return fmt::format("poisson {:g} req/s", rate_); }

 private:
  double rate_;
};

// Gamma-distributed gaps with the given mean rate and coefficient of variation:
// shape k = 1/cv², scale θ = 1/(rate·k), so the mean gap is kθ = 1/rate and the CV is 1/√k = cv.
class GammaArrivals final : public IArrivalProcess {
 public:
  GammaArrivals(double rate, double cv) : rate_(rate), cv_(cv), shape_(1.0 / (cv * cv)), scale_(1.0 / (rate * shape_)) {}
  double next_gap_s(Rng& rng) override { return rng.gamma(shape_, scale_); }
  std::string describe() const override { return fmt::format("gamma {:g} req/s, cv {:g}", rate_, cv_); }

 private:
  double rate_, cv_, shape_, scale_;
};

class ConstantArrivals final : public IArrivalProcess {
 public:
  explicit ConstantArrivals(double rate) : rate_(rate) {}
  double next_gap_s(Rng&) override { return 1.0 / rate_; }
  std::string describe() const override { return fmt::format("constant {:g} req/s", rate_); }

 private:
  double rate_;
};

}  // namespace

ArrivalProcessRegistry::Entry poisson_arrivals() {
  return {"poisson", "Poisson process: exponential gaps with mean 1/rate_per_s", "textbook renewal process",
          {kRateDoc},
          [](ParamReader& params) -> std::unique_ptr<IArrivalProcess> {
            const double rate = read_rate(params);
            params.finish();
            return std::make_unique<PoissonArrivals>(rate);
          }};
}

ArrivalProcessRegistry::Entry gamma_arrivals() {
  return {"gamma",
          "gamma-distributed gaps with mean 1/rate_per_s and coefficient of variation cv (cv > 1 is bursty)",
          "Wang et al., BurstGPT, KDD 2025 (gamma fits of inter-arrival times); Vidur's gamma interval generator",
          {kRateDoc, {"cv", "number", "(required)", "coefficient of variation of the gaps (> 0; 1 = Poisson)"}},
          [](ParamReader& params) -> std::unique_ptr<IArrivalProcess> {
            const double rate = read_rate(params);
            const auto cv = params.require_in<double>("cv", 0.01, 100, "(coefficient of variation of the gaps)");
            params.finish();
            return std::make_unique<GammaArrivals>(rate, cv);
          }};
}

ArrivalProcessRegistry::Entry constant_arrivals() {
  return {"constant", "evenly spaced arrivals, one every 1/rate_per_s seconds", "deterministic process",
          {kRateDoc},
          [](ParamReader& params) -> std::unique_ptr<IArrivalProcess> {
            const double rate = read_rate(params);
            params.finish();
            return std::make_unique<ConstantArrivals>(rate);
          }};
}

}  // namespace kvsim::trace_impl
