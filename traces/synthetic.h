// Synthetic workloads: arrival processes and token-length distributions, each a registry entry with documented
// parameters (listed in traces/builtin.cc, keys in traces/FORMAT.md and traces/workload.h).
//
// Contract:
//  - Factories read their parameters through the ParamReader they are given and call finish() on it, so an
//    unknown or misspelt key is an error; invalid values throw KvsimError naming the key and the valid range.
//  - Draws come only from the Rng passed in (traces/random.h), so a seed fixes the whole stream.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/param_reader.h"
#include "sim/core/registry.h"
#include "sim/core/types.h"
#include "traces/random.h"

namespace kvsim {

// A renewal arrival process: the gap between consecutive requests.
class IArrivalProcess {
 public:
  virtual ~IArrivalProcess() = default;
  virtual double next_gap_s(Rng& rng) = 0;    // seconds from one arrival to the next, >= 0
  virtual std::string describe() const = 0;   // e.g. "poisson 10 req/s"
};

// (prompt, output) token lengths of the rows of a trace file, for empirical sampling.
struct LengthTable {
  std::string source;                    // describe() of the reader the rows came from
  std::vector<TokenCount> prompt_tokens;
  std::vector<TokenCount> output_tokens;
  std::int64_t skipped_rows = 0;         // rows the reader skipped (ITraceReader::skipped_rows)
};

// A distribution of token lengths (always >= 1).
class ILengthDistribution {
 public:
  virtual ~ILengthDistribution() = default;
  virtual TokenCount sample(Rng& rng) = 0;
  virtual std::string describe() const = 0;  // e.g. "lognormal(mean=1000, sigma=1)"
  // The trace rows an empirical distribution samples from, else nullptr. When the prompt and output
  // distributions of a workload return the same table, lengths are drawn jointly, one row per request.
  virtual const LengthTable* rows() const { return nullptr; }
};

// Which length a distribution describes (an empirical distribution samples that column of its file).
enum class LengthField { kPrompt, kOutput };

// Loads trace files for empirical distributions once per workload, keyed by (path, format), so that the
// prompt and output distributions of one workload share one table.
class LengthTableCache {
 public:
  std::shared_ptr<const LengthTable> load(const std::filesystem::path& path, const std::string& format);

 private:
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const LengthTable>> tables_;
};

struct LengthContext {
  std::filesystem::path base_dir;  // relative file paths resolve against it (the scenario's folder)
  LengthField field = LengthField::kPrompt;
  LengthTableCache* tables = nullptr;
};

using ArrivalProcessFactory = std::function<std::unique_ptr<IArrivalProcess>(ParamReader& params)>;
using ArrivalProcessRegistry = Registry<ArrivalProcessFactory>;
using LengthDistributionFactory =
    std::function<std::unique_ptr<ILengthDistribution>(ParamReader& params, const LengthContext& context)>;
using LengthDistributionRegistry = Registry<LengthDistributionFactory>;

// poisson, gamma, constant.
const ArrivalProcessRegistry& arrival_processes();
// fixed, uniform, lognormal, zipf, empirical.
const LengthDistributionRegistry& length_distributions();

// Builds the process named by the `process` key of `params` (e.g. workload.synthetic.arrival).
std::unique_ptr<IArrivalProcess> make_arrival_process(ParamReader& params);
// Builds the distribution named by the `dist` key of `params` (e.g. workload.synthetic.prompt_tokens).
std::unique_ptr<ILengthDistribution> make_length_distribution(ParamReader& params, const LengthContext& context);

}  // namespace kvsim
