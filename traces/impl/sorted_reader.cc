// sorted_reader(): the `--sort` option. Reads the whole inner stream, sorts it stably by arrival time
// (equal times keep file order) and re-bases it so the earliest request is at 0.
#include <algorithm>
#include <vector>

#include "traces/trace_reader.h"

namespace kvsim {

namespace {

class SortedReader final : public ITraceReader {
 public:
  explicit SortedReader(std::unique_ptr<ITraceReader> inner) : inner_(std::move(inner)) {
    inner_->allow_unsorted_arrivals();
  }

  std::optional<TraceRecord> next() override {
    if (!loaded_) load();
    if (position_ >= records_.size()) return std::nullopt;
    return std::move(records_[position_++]);
  }

  bool has_arrivals() const override { return inner_->has_arrivals(); }
  std::string describe() const override { return inner_->describe() + " (sorted by arrival time)"; }
  std::int64_t skipped_rows() const override { return inner_->skipped_rows(); }

 private:
  void load() {
    loaded_ = true;
    while (auto record = inner_->next()) records_.push_back(std::move(*record));
    std::stable_sort(records_.begin(), records_.end(),
                     [](const TraceRecord& a, const TraceRecord& b) { return a.arrival_ns < b.arrival_ns; });
    if (!records_.empty()) {
      const SimTimeNs origin = records_.front().arrival_ns;
      for (TraceRecord& r : records_) r.arrival_ns -= origin;
    }
  }

  std::unique_ptr<ITraceReader> inner_;
  std::vector<TraceRecord> records_;
  std::size_t position_ = 0;
  bool loaded_ = false;
};

}  // namespace

std::unique_ptr<ITraceReader> sorted_reader(std::unique_ptr<ITraceReader> inner) {
  return std::make_unique<SortedReader>(std::move(inner));
}

}  // namespace kvsim
