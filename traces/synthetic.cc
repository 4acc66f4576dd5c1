// Building synthetic arrival processes and length distributions from scenario keys: see synthetic.h.
#include "traces/synthetic.h"

#include "traces/trace_reader.h"

namespace kvsim {

std::unique_ptr<IArrivalProcess> make_arrival_process(ParamReader& params) {
  const auto name = params.require<std::string>("process");
  return arrival_processes().get(name, params.full("process")).factory(params);
}

std::unique_ptr<ILengthDistribution> make_length_distribution(ParamReader& params, const LengthContext& context) {
  const auto name = params.require<std::string>("dist");
  return length_distributions().get(name, params.full("dist")).factory(params, context);
}

std::shared_ptr<const LengthTable> LengthTableCache::load(const std::filesystem::path& path,
                                                          const std::string& format) {
  const auto key = std::make_pair(std::filesystem::weakly_canonical(path).string(), format);
  if (auto it = tables_.find(key); it != tables_.end()) return it->second;
  auto reader = trace_formats().get(format, "format").factory(path);
  auto table = std::make_shared<LengthTable>();
  reader->allow_unsorted_arrivals();  // only the lengths are used
  table->source = reader->describe();
  while (auto record = reader->next()) {
    table->prompt_tokens.push_back(record->prompt_tokens);
    table->output_tokens.push_back(record->output_tokens);
  }
  table->skipped_rows = reader->skipped_rows();
  tables_.emplace(key, table);
  return table;
}

}  // namespace kvsim
