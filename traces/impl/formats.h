// Registry entries of the built-in trace formats, synthetic arrival processes and length distributions.
// Each implementation file defines its entry (name, description, citation, parameters, factory) next to its
// code; traces/builtin.cc puts them in the one explicit list per family.
#pragma once

#include "traces/synthetic.h"
#include "traces/trace_reader.h"

namespace kvsim::trace_impl {

// Trace formats (one file each in traces/impl/).
TraceFormatRegistry::Entry azure_2023_format();
TraceFormatRegistry::Entry mooncake_format();
TraceFormatRegistry::Entry llmservingsim_format();
TraceFormatRegistry::Entry burstgpt_format();
TraceFormatRegistry::Entry vidur_csv_format();
TraceFormatRegistry::Entry jsonl_format();

// Arrival processes (traces/impl/arrival_processes.cc).
ArrivalProcessRegistry::Entry poisson_arrivals();
ArrivalProcessRegistry::Entry gamma_arrivals();
ArrivalProcessRegistry::Entry constant_arrivals();

// Length distributions (traces/impl/length_distributions.cc, empirical in traces/impl/empirical_lengths.cc).
LengthDistributionRegistry::Entry fixed_lengths();
LengthDistributionRegistry::Entry uniform_lengths();
LengthDistributionRegistry::Entry lognormal_lengths();
LengthDistributionRegistry::Entry zipf_lengths();
LengthDistributionRegistry::Entry empirical_lengths();

}  // namespace kvsim::trace_impl
