// Shortest job first with a length predictor: vLLM v1's scheduling (sim/sched/impl/vllm_v1.cc) whose waiting
// queue is ordered by each request's class priority (workload.classes, lower first), then its predicted output
// length, shortest first; with aging (aging_tokens_per_s > 0)
// a request's priority improves by that many tokens per second it has waited, so none starves: the order key
// predicted - aging x (now - arrival) ranks requests as predicted + aging x arrival does, at every moment. Requests
// resumed after preemption keep their place in front (as every kvsim scheduler does).
//
// Predictors (parameter `predictor`), all deterministic per request and seed:
//   oracle    the true output length (the bound SJF can reach);
//   noisy     the true length times exp(relative_error x z), z standard normal: a log-normal error of that
//             spread (0.3: about 30 % off; 100: no information left, the order is random);
//   buckets   a classifier into length buckets (`bucket_bounds`, ascending): the bound of the request's bucket,
//             one bucket off (up or down, at random) with probability 1 - `accuracy`; above the last bound, twice
//             it;
//   distribution  the prompt's response-length distribution is known, not the draw (CASTILLO's view: the same
//             prompt answered ten times varies): the trace's length is one draw of a log-normal of coefficient of
//             variation `cv` (an assumption to set from CASTILLO's per-model figures), and the prediction is that
//             distribution's `quantile` (0.5: its median; higher quantiles predict conservatively);
//   rank      a learning-to-rank predictor (Fu et al.): it knows the order of the lengths only as well as a Kendall
//             rank correlation `kendall_tau` with the truth. Modelled as a Gaussian copula: the score is
//             rho x z + sqrt(1 - rho^2) x e, z the request's log length standardized by the mean and spread of the log
//             lengths predicted so far, e standard normal, rho = sin(pi x tau / 2); the prediction is that score
//             mapped back to a length (exp(mean + spread x score)), so tau 1 is the oracle. The correlation is
//             exactly tau when the log lengths are normal (log-normal outputs) and close to it otherwise; its own
//             test measures it.
// A running request whose output outgrows its prediction is predicted again at twice the old prediction (S3's
// re-bucketing: the next bucket up); with preempt_on_misprediction it is also preempted (its KV recomputed later)
// and waits in the queue by its new prediction, so that shorter requests run first (SRTF-like). Not modelled: the
// predictor's own time.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/core/param_reader.h"
#include "sim/sched/impl/schedulers.h"

namespace kvsim {

namespace {

// A uniform in (0, 1) from a 64-bit key (splitmix64).
double unit(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return (static_cast<double>(x >> 11) + 0.5) / 9007199254740992.0;
}

// The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9), p in (0, 1).
double normal_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  const auto tail = [&](double q) {
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  };
  if (p < 0.02425) return tail(std::sqrt(-2 * std::log(p)));
  if (p > 1 - 0.02425) return -tail(std::sqrt(-2 * std::log(1 - p)));
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

struct Predictor {
  enum class Kind { kOracle, kNoisy, kBuckets, kDistribution, kRank };
  Kind kind = Kind::kOracle;
  double relative_error = 0.3;
  std::vector<double> bounds = {32, 128, 512, 2048, 8192};
  double accuracy = 1.0;
  double cv = 0.5, quantile = 0.5;  // distribution
  double kendall_tau = 0.6;         // rank
  std::uint64_t seed = 0;
  // rank: the log lengths predicted so far (Welford's running mean and sum of squared deviations).
  double log_n = 0, log_mean = 0, log_m2 = 0;

  double predict(const Request& r) {
    const double truth = static_cast<double>(r.output_tokens);
    const std::uint64_t key = seed * 0x100000001b3ULL ^ static_cast<std::uint64_t>(r.id);
    switch (kind) {
      case Kind::kOracle:
        return truth;
      case Kind::kNoisy:
        return truth * std::exp(relative_error * normal_quantile(unit(key)));
      case Kind::kDistribution: {
        // The draw sits at the distribution's z-th quantile; the prediction at its `quantile`.
        const double sigma = std::sqrt(std::log1p(cv * cv));
        return truth * std::exp(sigma * (normal_quantile(quantile) - normal_quantile(unit(key))));
      }
      case Kind::kRank: {
        const double x = std::log(std::max(truth, 1.0));
        log_n += 1;
        const double delta = x - log_mean;
        log_mean += delta / log_n;
        log_m2 += delta * (x - log_mean);
        const double spread = log_n > 1 ? std::sqrt(log_m2 / (log_n - 1)) : 0.0;
        if (spread == 0) return truth;
        const double rho = std::sin(3.14159265358979323846 * kendall_tau / 2);
        const double z = (x - log_mean) / spread;
        const double score = rho * z + std::sqrt(std::max(0.0, 1 - rho * rho)) * normal_quantile(unit(key));
        return std::exp(log_mean + spread * score);
      }
      case Kind::kBuckets: {
        auto b = static_cast<std::ptrdiff_t>(std::lower_bound(bounds.begin(), bounds.end(), truth) - bounds.begin());
        if (unit(key) > accuracy) b += unit(key ^ 0x27d4eb2dULL) < 0.5 ? -1 : 1;
        const auto last = static_cast<std::ptrdiff_t>(bounds.size());
        b = std::clamp<std::ptrdiff_t>(b, 0, last);
        return b == last ? 2 * bounds.back() : bounds[static_cast<std::size_t>(b)];
      }
    }
    return truth;
  }
};

class SjfOrder final : public WaitingOrder {
 public:
  SjfOrder(Predictor p, double aging, bool preempt) : predictor_(std::move(p)), aging_(aging), preempt_(preempt) {}

  void review_running(SchedulerContext& ctx, StepPlan& plan) override {
    auto& running = ctx.queues.running;
    for (std::size_t i = 0; i < running.size();) {
      Request& r = *running[i];
      Entry& e = entry(r);
      if (static_cast<double>(r.generated) < e.predicted || r.finished()) {
        ++i;
        continue;
      }
      // Outgrown: the next bucket up (twice the prediction, and more than what it has generated).
      e.predicted = std::max(2 * e.predicted, static_cast<double>(r.generated) + 1);
      e.key = e.predicted + aging_ * static_cast<double>(r.arrival_ns) * 1e-9;
      if (preempt_ && !ctx.queues.waiting.empty()) {
        preempt_request(ctx, plan, r);  // running[i] is now the next request
      } else {
        ++i;
      }
    }
  }

  void arrange(SchedulerContext& ctx) override {
    auto& waiting = ctx.queues.waiting;
    auto first = waiting.begin();
    while (first != waiting.end() && (*first)->preemptions > 0) ++first;
    const auto less = [this](const Request* a, const Request* b) {
      if (a->priority != b->priority) return a->priority < b->priority;  // request classes first
      const double ka = entry(*a).key, kb = entry(*b).key;
      return ka < kb || (ka == kb && a->id < b->id);
    };
    // The queue is sorted but for the arrivals since the last step (appended at the back): sort those, merge.
    const auto sorted_end = std::is_sorted_until(first, waiting.end(), less);
    if (sorted_end == waiting.end()) return;
    std::sort(sorted_end, waiting.end(), less);
    std::inplace_merge(first, sorted_end, waiting.end(), less);
  }

 private:
  struct Entry {
    double predicted = 0;  // output tokens, as last predicted
    double key = 0;        // predicted + aging x arrival
  };
  // Request ids are dense (the order of arrival at the cluster): an array, grown as ids come.
  Entry& entry(const Request& r) {
    const auto i = static_cast<std::size_t>(r.id);
    if (i >= entries_.size()) entries_.resize(std::max(i + 1, 2 * entries_.size()));
    Entry& e = entries_[i];
    if (e.predicted == 0) {  // not predicted yet (predictions are at least 1 token)
      e.predicted = std::max(1.0, predictor_.predict(r));
      e.key = e.predicted + aging_ * static_cast<double>(r.arrival_ns) * 1e-9;
    }
    return e;
  }

  Predictor predictor_;
  double aging_;
  bool preempt_;
  std::vector<Entry> entries_;  // by request id: each request's prediction and order key
};

}  // namespace

std::vector<ParamDoc> sjf_params() {
  return {{"predictor", "string", "\"oracle\"",
           "oracle | noisy | buckets | distribution | rank: how output lengths are predicted"},
          {"relative_error", "number", "0.3", "noisy: spread of the log-normal error (100: no information)"},
          {"bucket_bounds", "list", "[32, 128, 512, 2048, 8192]", "buckets: ascending upper bounds, tokens"},
          {"accuracy", "number", "1", "buckets: probability of the right bucket (else one off)"},
          {"cv", "number", "0.5", "distribution: coefficient of variation of a prompt's response lengths"},
          {"quantile", "number", "0.5", "distribution: the quantile of that distribution predicted"},
          {"kendall_tau", "number", "0.6", "rank: Kendall's tau between the predicted and the true order"},
          {"aging_tokens_per_s", "number", "0", "priority gained per second waited, in predicted tokens"},
          {"preempt_on_misprediction", "bool", "false",
           "preempt a request whose output outgrows its (doubled) prediction while others wait"},
          {"seed", "int", "0", "seed of the predictor's errors"}};
}

namespace {

struct SjfParams {
  Predictor predictor;
  double aging = 0;
  bool preempt = false;
};

SjfParams read_sjf(const nlohmann::json& params, const std::string& where) {
  ParamReader r(params, where);
  Predictor p;
  const std::string kind = r.get<std::string>("predictor", "oracle");
  if (kind == "oracle") {
    p.kind = Predictor::Kind::kOracle;
  } else if (kind == "noisy") {
    p.kind = Predictor::Kind::kNoisy;
  } else if (kind == "buckets") {
    p.kind = Predictor::Kind::kBuckets;
  } else if (kind == "distribution") {
    p.kind = Predictor::Kind::kDistribution;
  } else if (kind == "rank") {
    p.kind = Predictor::Kind::kRank;
  } else {
    r.check(false, "predictor",
            fmt::format("'{}' is not a predictor (oracle, noisy, buckets, distribution, rank)", kind));
  }
  p.relative_error = r.get_non_negative<double>("relative_error", 0.3);
  r.check(p.relative_error <= 1000, "relative_error", "expected a spread in [0, 1000]");
  r.check(p.kind == Predictor::Kind::kNoisy || r.raw("relative_error") == nullptr, "relative_error",
          "only with predictor noisy");
  if (const nlohmann::json* b = r.raw("bucket_bounds"); b != nullptr) {
    r.check(p.kind == Predictor::Kind::kBuckets, "bucket_bounds", "only with predictor buckets");
    r.check(b->is_array() && !b->empty(), "bucket_bounds", "expected a non-empty list of ascending token counts");
    p.bounds.clear();
    for (const nlohmann::json& v : *b) {
      r.check(v.is_number() && v.get<double>() >= 1 && std::isfinite(v.get<double>()) &&
                  (p.bounds.empty() || v.get<double>() > p.bounds.back()),
              "bucket_bounds", "expected ascending token counts >= 1");
      p.bounds.push_back(v.get<double>());
    }
  }
  p.accuracy = r.get_fraction("accuracy", 1.0);
  r.check(p.kind == Predictor::Kind::kBuckets || r.raw("accuracy") == nullptr, "accuracy",
          "only with predictor buckets");
  p.cv = r.get_non_negative<double>("cv", 0.5);
  r.check(p.cv <= 100, "cv", "expected a coefficient of variation in [0, 100]");
  p.quantile = r.get<double>("quantile", 0.5);
  r.check(p.quantile > 0 && p.quantile < 1, "quantile", "expected a quantile in (0, 1)");
  r.check(p.kind == Predictor::Kind::kDistribution || (r.raw("cv") == nullptr && r.raw("quantile") == nullptr),
          "cv", "cv and quantile only with predictor distribution");
  p.kendall_tau = r.get<double>("kendall_tau", 0.6);
  r.check(p.kendall_tau >= -1 && p.kendall_tau <= 1, "kendall_tau", "expected a rank correlation in [-1, 1]");
  r.check(p.kind == Predictor::Kind::kRank || r.raw("kendall_tau") == nullptr, "kendall_tau",
          "only with predictor rank");
  const bool preempt = r.get<bool>("preempt_on_misprediction", false);
  const double aging = r.get_non_negative<double>("aging_tokens_per_s", 0.0);
  r.check(std::isfinite(aging) && aging <= 1e9, "aging_tokens_per_s", "expected tokens per second in [0, 1e9]");
  p.seed = static_cast<std::uint64_t>(r.get_non_negative<std::int64_t>("seed", 0));
  r.finish();
  return {p, aging, preempt};
}

}  // namespace

SchedulerBuilder sjf_builder() {
  return [](const nlohmann::json& params, const std::string& where) -> SchedulerFactory {
    const SjfParams s = read_sjf(params, where);
    return [s] { return make_vllm_v1_scheduler(std::make_unique<SjfOrder>(s.predictor, s.aging, s.preempt)); };
  };
}

std::vector<double> sjf_predictions(const nlohmann::json& params, const std::vector<Request>& requests) {
  Predictor p = read_sjf(params, "sjf").predictor;
  std::vector<double> out;
  out.reserve(requests.size());
  for (const Request& r : requests) out.push_back(std::max(1.0, p.predict(r)));
  return out;
}

}  // namespace kvsim
