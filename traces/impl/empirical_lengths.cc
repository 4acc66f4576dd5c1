// empirical: token lengths drawn from the rows of a trace file (uniformly, with replacement).
// The whole length table is held in memory (two integers per row).
#include <fmt/format.h>

#include "traces/impl/formats.h"
#include "traces/impl/paths.h"

namespace kvsim::trace_impl {

namespace {

class EmpiricalLength final : public ILengthDistribution {
 public:
  EmpiricalLength(std::shared_ptr<const LengthTable> table, LengthField field)
      : table_(std::move(table)),
        column_(field == LengthField::kPrompt ? table_->prompt_tokens : table_->output_tokens),
        field_(field) {}
  TokenCount sample(Rng& rng) override {
    return column_[static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(column_.size()) - 1))];
  }
  std::string describe() const override {
    return fmt::format("empirical({} of {}, {} rows{})", field_ == LengthField::kPrompt ? "prompts" : "outputs",
                       table_->source, column_.size(),
                       table_->skipped_rows > 0 ? fmt::format(", {} skipped rows left out", table_->skipped_rows)
                                                : "");
  }
  const LengthTable* rows() const override { return table_.get(); }

 private:
  std::shared_ptr<const LengthTable> table_;
  const std::vector<TokenCount>& column_;
  LengthField field_;
};

}  // namespace

LengthDistributionRegistry::Entry empirical_lengths() {
  return {"empirical",
          "lengths of random rows of a trace file; prompt and output from the same file are drawn from one row",
          "trace-driven length sampling as in Vidur's trace length generator (github.com/microsoft/vidur)",
          {{"path", "string", "(required)", "trace file; relative paths resolve against the scenario's folder"},
           {"format", "string", "detected", "trace format of the file (kvsim list trace-formats)"}},
          [](ParamReader& params, const LengthContext& context) -> std::unique_ptr<ILengthDistribution> {
            const std::filesystem::path path = resolve_path(context.base_dir, params.require<std::string>("path"));
            const std::optional<std::string> format = params.get_optional<std::string>("format");
            params.finish();
            const std::string name = format ? trace_formats().get(*format, params.full("format")).name
                                            : detect_trace_format(path);
            auto table = context.tables->load(path, name);
            params.check(!table->prompt_tokens.empty(), "path",
                         fmt::format("{} has no requests; expected a trace with at least one row", path.string()));
            return std::make_unique<EmpiricalLength>(std::move(table), context.field);
          }};
}

}  // namespace kvsim::trace_impl
