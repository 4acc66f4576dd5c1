// detect_trace_format(): a file is in format F if F's reader accepts its first line (CSV header or first JSON
// object). Each reader's own header check is the only definition of its format, so detection cannot drift.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/core/error.h"
#include "traces/impl/line_source.h"
#include "traces/trace_reader.h"

namespace kvsim {

std::string detect_trace_format(const std::filesystem::path& path) {
  trace_impl::LineSource lines(path);  // throws if the file cannot be opened
  const auto first = lines.peek();
  if (!first) throw KvsimError(fmt::format("{}: the trace file is empty; expected a header or a JSON object", path.string()));
  constexpr std::size_t kShown = 120;
  const std::string shown = first->size() > kShown ? std::string(first->substr(0, kShown)) + "..." : std::string(*first);

  std::vector<std::string> matches;
  for (const auto& entry : trace_formats().entries()) {
    try {
      entry.factory(path);
      matches.push_back(entry.name);
    } catch (const KvsimError&) {
      // not this format
    }
  }
  if (matches.size() == 1) return matches.front();

  std::vector<std::string> known;
  for (const auto& entry : trace_formats().entries()) known.push_back(fmt::format("  {}: {}", entry.name, entry.description));
  if (matches.empty()) {
    throw KvsimError(fmt::format(
        "{}:{}: cannot tell the trace format from '{}'; expected the first line of one of these formats "
        "(or give the format with --format / trace.format):\n{}",
        path.string(), lines.pos().line, shown, fmt::join(known, "\n")));
  }
  throw KvsimError(fmt::format("{}:{}: the first line '{}' fits several trace formats ({}); give the format with "
                               "--format / trace.format",
                               path.string(), lines.pos().line, shown, fmt::join(matches, ", ")));
}

}  // namespace kvsim
