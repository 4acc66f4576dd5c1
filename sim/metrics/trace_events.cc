// Chrome / Perfetto trace of a run (see trace_events.h).
#include "sim/metrics/trace_events.h"

#include <unistd.h>

#include <bit>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "models/cost/iteration_cost_model.h"
#include "sim/core/error.h"
#include "sim/core/units.h"

namespace kvsim {

namespace {
constexpr int kIterationsThread = 1;
double us(SimTimeNs ns) { return static_cast<double>(ns) * 1e-3; }
double us_of_s(double s) { return s * 1e6; }
}  // namespace

TraceEventWriter::TraceEventWriter(std::filesystem::path path)
    : final_(std::move(path)),
      tmp_(final_.parent_path() / (final_.filename().string() + ".tmp-" + std::to_string(::getpid()))) {
  if (final_.filename().empty()) throw KvsimError("--trace-events: expected a file name");
  std::error_code ec;
  if (!final_.parent_path().empty()) std::filesystem::create_directories(final_.parent_path(), ec);
  out_ = std::fopen(tmp_.c_str(), "wb");
  if (out_ == nullptr) throw KvsimError(fmt::format("{}: cannot create the trace file", tmp_.string()));
  std::fputs("{\"displayTimeUnit\": \"ms\", \"otherData\": {\"writer\": \"kvsim run --trace-events\", "
             "\"time\": \"simulated microseconds\"},\n\"traceEvents\": [\n",
             out_);
}

TraceEventWriter::~TraceEventWriter() {
  if (out_ != nullptr) std::fclose(out_);
  if (!committed_) {
    std::error_code ignored;
    std::filesystem::remove(tmp_, ignored);
  }
}

void TraceEventWriter::event(const std::string& json) {
  if (!first_) std::fputs(",\n", out_);
  first_ = false;
  std::fputs(json.c_str(), out_);
}

void TraceEventWriter::name_replica(std::int32_t replica) {
  if (!named_.insert(replica).second) return;
  const int pid = replica + 1;
  event(fmt::format(R"({{"ph": "M", "pid": {}, "name": "process_name", "args": {{"name": "replica {}"}}}})", pid,
                    replica));
  event(fmt::format(R"({{"ph": "M", "pid": {}, "tid": {}, "name": "thread_name", "args": {{"name": "iterations"}}}})",
                    pid, kIterationsThread));
}

void TraceEventWriter::on_iteration(const IterationRecord& it) {
  name_replica(it.replica);
  std::string ops;
  if (it.cost != nullptr) {
    for (std::uint32_t m = it.cost->present_mask; m != 0; m &= m - 1) {
      const auto i = static_cast<std::size_t>(std::countr_zero(m));
      ops += fmt::format(R"({}"{}": {:.6g})", ops.empty() ? "" : ", ", op_name(static_cast<OpId>(i)),
                         it.cost->ops[i].seconds * 1e3);
    }
  }
  event(fmt::format(R"({{"ph": "X", "pid": {}, "tid": {}, "name": "iteration", "ts": {:.3f}, "dur": {:.3f}, )"
                    R"("args": {{"prefills": {}, "decodes": {}, "tokens": {}, "preemptions": {}, "ops_ms": {{{}}}}}}})",
                    it.replica + 1, kIterationsThread, us(it.start_ns), us(it.end_ns - it.start_ns), it.prefills,
                    it.decodes, it.tokens, it.preemptions, ops));
}

void TraceEventWriter::on_request_finished(const RequestRecord& r) {
  const std::int32_t replica = r.replica < 0 ? 0 : r.replica;
  name_replica(replica);
  const int pid = replica + 1;
  const double start = us_of_s(r.arrival_s);
  if (!r.completed) {
    event(fmt::format(R"({{"ph": "i", "s": "p", "pid": {}, "name": "request {} {}", "ts": {:.3f}, )"
                      R"("args": {{"prompt_tokens": {}, "output_tokens": {}, "reason": {}}}}})",
                      pid, r.id, r.timed_out ? "timed out" : "rejected", start, r.prompt_tokens, r.output_tokens,
                      nlohmann::json(r.reject_reason).dump()));
    return;
  }
  const auto slice = [&](const char* name, double from, double to, const std::string& args) {
    event(fmt::format(R"({{"ph": "b", "cat": "request", "id": {}, "pid": {}, "name": "{}", "ts": {:.3f}{}}})", r.id,
                      pid, name, from, args));
    event(fmt::format(R"({{"ph": "e", "cat": "request", "id": {}, "pid": {}, "name": "{}", "ts": {:.3f}}})", r.id,
                      pid, name, to));
  };
  slice("request", start, start + us_of_s(r.e2e_s),
        fmt::format(R"(, "args": {{"id": {}, "prompt_tokens": {}, "output_tokens": {}, "ttft_s": {:.6g}, )"
                    R"("e2e_s": {:.6g}, "preemptions": {}}})",
                    r.id, r.prompt_tokens, r.output_tokens, r.ttft_s, r.e2e_s, r.preemptions));
  slice("queued", start, start + us_of_s(r.queue_s), "");
  slice("to first token", start, start + us_of_s(r.ttft_s), "");
}

void TraceEventWriter::commit() {
  std::fputs("\n]}\n", out_);
  const bool ok = std::fflush(out_) == 0 && !std::ferror(out_);
  std::fclose(out_);
  out_ = nullptr;
  if (!ok) throw KvsimError(fmt::format("{}: cannot write the trace file (disk full?)", tmp_.string()));
  std::error_code ec;
  std::filesystem::rename(tmp_, final_, ec);
  if (ec) throw KvsimError(fmt::format("{}: cannot put the trace file in place ({})", final_.string(), ec.message()));
  committed_ = true;
}

}  // namespace kvsim
