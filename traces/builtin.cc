// The built-in trace formats, arrival processes and length distributions: one explicit list per family.
// To add one, write traces/impl/<name>.cc with its registry entry, declare it in traces/impl/formats.h and
// list it here (and document it in traces/FORMAT.md).
#include "traces/impl/formats.h"
#include "traces/synthetic.h"
#include "traces/trace_reader.h"

namespace kvsim {

const TraceFormatRegistry& trace_formats() {
  static const TraceFormatRegistry registry = [] {
    TraceFormatRegistry r("trace format");
    r.add(trace_impl::azure_2023_format());
    r.add(trace_impl::mooncake_format());
    r.add(trace_impl::llmservingsim_format());
    r.add(trace_impl::burstgpt_format());
    r.add(trace_impl::vidur_csv_format());
    r.add(trace_impl::jsonl_format());
    return r;
  }();
  return registry;
}

const ArrivalProcessRegistry& arrival_processes() {
  static const ArrivalProcessRegistry registry = [] {
    ArrivalProcessRegistry r("arrival process");
    r.add(trace_impl::poisson_arrivals());
    r.add(trace_impl::gamma_arrivals());
    r.add(trace_impl::constant_arrivals());
    return r;
  }();
  return registry;
}

const LengthDistributionRegistry& length_distributions() {
  static const LengthDistributionRegistry registry = [] {
    LengthDistributionRegistry r("length distribution");
    r.add(trace_impl::fixed_lengths());
    r.add(trace_impl::uniform_lengths());
    r.add(trace_impl::lognormal_lengths());
    r.add(trace_impl::zipf_lengths());
    r.add(trace_impl::empirical_lengths());
    return r;
  }();
  return registry;
}

}  // namespace kvsim
