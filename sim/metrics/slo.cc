// SLO attainment, goodput, the measurement window and overload (see slo.h).
#include "sim/metrics/slo.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace kvsim {

namespace {
constexpr std::uint8_t kCompleted = 1, kTimedOut = 2, kHasTpot = 4;
constexpr double kGrowthLimit_s_per_s = 0.02;  // backlog per second of arrivals
constexpr double kBacklogLimit_s = 1.0;        // fitted queue delay at the last arrival
constexpr double kTimeoutLimit = 0.05;         // share of counted requests that timed out
}  // namespace

SloTracker::SloTracker(SloSpec slo, MetricsWindow window, std::vector<ClassSlo> classes)
    : slo_(slo), window_(window), classes_(std::move(classes)), class_sums_(window.any() ? 0 : classes_.size()) {}

SloTracker::Entry SloTracker::entry_of(const RequestRecord& r) {
  Entry e{};
  e.arrival_s = r.arrival_s;
  e.ttft_s = r.ttft_s;
  e.tpot_s = r.tpot_s.value_or(0);
  e.e2e_s = r.e2e_s;
  e.queue_s = r.queue_s;
  e.input = static_cast<std::int32_t>(std::min<TokenCount>(r.prompt_tokens, std::numeric_limits<std::int32_t>::max()));
  e.output = static_cast<std::int32_t>(std::min<TokenCount>(r.output_tokens, std::numeric_limits<std::int32_t>::max()));
  e.flags = static_cast<std::uint8_t>((r.completed ? kCompleted : 0) | (r.timed_out ? kTimedOut : 0) |
                                      (r.tpot_s ? kHasTpot : 0));
  e.request_class = r.request_class;
  return e;
}

std::optional<bool> all_slos_met(const nlohmann::json& summary) {
  std::optional<bool> met;
  const auto take = [&](const nlohmann::json& slo) {
    if (!slo.is_object()) return;
    met = met.value_or(true) && slo.value("met", false);
  };
  if (const auto it = summary.find("slo"); it != summary.end()) take(*it);
  if (const auto it = summary.find("classes"); it != summary.end() && it->is_object()) {
    for (const nlohmann::json& c : *it) {
      if (const auto s = c.find("slo"); s != c.end()) take(*s);
    }
  }
  return met;
}

void SloTracker::Sums::add(const Entry& e, const SloSpec& slo) {
  ++counted;
  first_arrival = std::min(first_arrival, e.arrival_s);
  last_arrival = std::max(last_arrival, e.arrival_s);
  if (e.flags & kTimedOut) ++timed_out;
  if (!(e.flags & kCompleted)) return;
  ++completed;
  n += 1;
  sx += e.arrival_s;
  sy += e.queue_s;
  sxx += e.arrival_s * e.arrival_s;
  sxy += e.arrival_s * e.queue_s;
  const bool ttft = !slo.ttft_s || e.ttft_s <= *slo.ttft_s;
  const bool tpot = !slo.tpot_s || !(e.flags & kHasTpot) || e.tpot_s <= *slo.tpot_s;
  const bool e2e = !slo.e2e_s || e.e2e_s <= *slo.e2e_s;
  met_ttft += ttft;
  met_tpot += tpot;
  met_e2e += e2e;
  if (ttft && tpot && e2e) {
    ++met_all;
    good_input += e.input;
    good_output += e.output;
  }
}

void SloTracker::add_to_class(std::vector<ClassSums>& to, const Entry& e) const {
  if (e.request_class >= to.size()) throw std::logic_error("request of an undeclared class");
  ClassSums& c = to[e.request_class];
  c.sums.add(e, classes_[e.request_class].slo);
  if (!(e.flags & kCompleted)) return;
  c.ttft_s.add(e.ttft_s);
  c.e2e_s.add(e.e2e_s);
  c.queue_s.add(e.queue_s);
  if (e.flags & kHasTpot) c.tpot_s.add(e.tpot_s);
}

void SloTracker::on_request_finished(const RequestRecord& r) {
  if (window_.any()) {
    kept_.push_back(entry_of(r));
  } else {
    const Entry e = entry_of(r);
    sums_.add(e, slo_);
    if (!classes_.empty()) add_to_class(class_sums_, e);
  }
}

nlohmann::json SloTracker::slo_json(const Sums& s, const SloSpec& slo, double per_s) {
  if (!slo.any()) return nullptr;
  const auto share = [&](std::int64_t met) {
    return s.counted > 0 ? static_cast<double>(met) / static_cast<double>(s.counted) : 0.0;
  };
  nlohmann::json attainment = nlohmann::json::object(), targets = nlohmann::json::object();
  bool met = s.counted > 0;
  const auto one = [&](const char* key, const std::optional<double>& deadline, std::int64_t n) {
    if (!deadline) return;
    targets[key] = *deadline;
    attainment[key] = share(n);
    met = met && share(n) >= slo.attainment;
  };
  one("ttft_p99_s", slo.ttft_s, s.met_ttft);
  one("tpot_p99_s", slo.tpot_s, s.met_tpot);
  one("e2e_p99_s", slo.e2e_s, s.met_e2e);
  attainment["all"] = share(s.met_all);
  return {{"targets", targets},
          {"attainment_target", slo.attainment},
          {"attainment", attainment},
          {"met", met},
          {"requests_counted", s.counted},
          {"goodput_requests_per_s", static_cast<double>(s.met_all) * per_s},
          {"goodput_input_tokens_per_s", s.good_input * per_s},
          {"goodput_output_tokens_per_s", s.good_output * per_s}};
}

SloTracker::Result SloTracker::finish() const {
  Result out;
  Sums s = sums_;
  std::vector<ClassSums> classes = class_sums_;
  if (window_.any()) {
    double last = -1e300;
    for (const Entry& e : kept_) last = std::max(last, e.arrival_s);
    const double from = window_.warmup_s, to = last - window_.cooldown_s;
    out.windowed = true;
    for (const Entry& e : kept_) {
      if (e.arrival_s < from || e.arrival_s > to) continue;
      s.add(e, slo_);
      if (!classes_.empty()) {
        classes.resize(classes_.size());
        add_to_class(classes, e);
      }
      if (!(e.flags & kCompleted)) continue;
      out.ttft_s.add(e.ttft_s);
      out.e2e_s.add(e.e2e_s);
      out.queue_s.add(e.queue_s);
      if (e.flags & kHasTpot) out.tpot_s.add(e.tpot_s);
    }
    out.window = {{"warmup_s", window_.warmup_s},
                  {"cooldown_s", window_.cooldown_s},
                  {"from_s", from},
                  {"to_s", to},
                  {"requests_counted", s.counted},
                  {"requests_excluded", static_cast<std::int64_t>(kept_.size()) - s.counted}};
  }
  const double span = s.counted > 1 ? s.last_arrival - s.first_arrival : 0;
  const double per_s = span > 0 ? 1.0 / span : 0;
  // Queue delay against arrival time: slope (s of waiting per s of arrivals) and the fit at the last arrival.
  double slope = 0, at_last = 0;
  const double det = s.n * s.sxx - s.sx * s.sx;
  if (s.n >= 2 && det > 0) {
    slope = (s.n * s.sxy - s.sx * s.sy) / det;
    at_last = (s.sy - slope * s.sx) / s.n + slope * s.last_arrival;
  }
  const double timed_out = s.counted > 0 ? static_cast<double>(s.timed_out) / static_cast<double>(s.counted) : 0;
  std::string why;
  if (slope > kGrowthLimit_s_per_s && at_last > kBacklogLimit_s) {
    why = "the queue grows: requests wait longer the later they arrive";
  } else if (timed_out > kTimeoutLimit) {
    why = "more than 5 % of requests timed out";
  }
  out.overloaded = !why.empty();
  out.load = {{"offered_rate_per_s", static_cast<double>(s.counted) * per_s},
              {"completed_rate_per_s", static_cast<double>(s.completed) * per_s},
              {"queue_growth_s_per_s", slope},
              {"fitted_queue_s_at_last_arrival", at_last},
              {"timed_out_share", timed_out},
              {"overloaded_because", why}};
  out.slo = slo_json(s, slo_, per_s);
  if (!classes_.empty()) {
    classes.resize(classes_.size());
    out.classes = nlohmann::json::object();
    const auto latency = [](const QuantileSketch& q) {
      return nlohmann::json{{"mean", q.mean()}, {"p50", q.quantile(0.5)}, {"p90", q.quantile(0.9)},
                            {"p99", q.quantile(0.99)}};
    };
    for (std::size_t i = 0; i < classes_.size(); ++i) {
      const ClassSums& c = classes[i];
      out.classes[classes_[i].name] = {{"requests_counted", c.sums.counted},
                                       {"completed", c.sums.completed},
                                       {"timed_out", c.sums.timed_out},
                                       {"ttft_s", latency(c.ttft_s)},
                                       {"tpot_s", latency(c.tpot_s)},
                                       {"e2e_s", latency(c.e2e_s)},
                                       {"queue_s", latency(c.queue_s)},
                                       {"slo", slo_json(c.sums, classes_[i].slo, per_s)}};
    }
  }
  return out;
}

}  // namespace kvsim
