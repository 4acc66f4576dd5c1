// Line-by-line streaming of trace files: see line_source.h.
#include "traces/impl/line_source.h"

#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim::trace_impl {

LineSource::LineSource(const std::filesystem::path& path) : path_(path.string()) {
  // Checked before opening: opening a FIFO would wait for a writer for ever.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  const char* why = !std::filesystem::exists(status)              ? "does not exist"
                    : std::filesystem::is_directory(status)       ? "is a directory"
                    : !std::filesystem::is_regular_file(status)   ? "is not a regular file (a FIFO, socket or device)"
                                                                  : nullptr;
  if (why == nullptr) {
    in_.open(path);
    if (!in_) why = "cannot be read";
  }
  if (why != nullptr) throw KvsimError(fmt::format("{}: trace file {}; expected a readable file", path_, why));
}

bool LineSource::read_line() {
  while (std::getline(in_, buf_)) {
    ++line_;
    if (!buf_.empty() && buf_.back() == '\r') buf_.pop_back();
    if (line_ == 1 && buf_.rfind("\xEF\xBB\xBF", 0) == 0) buf_.erase(0, 3);
    if (buf_.find_first_not_of(" \t") != std::string::npos) return true;
  }
  if (in_.bad()) throw KvsimError(fmt::format("{}:{}: read error; expected a readable file", path_, line_ + 1));
  return false;
}

std::optional<std::string_view> LineSource::next() {
  if (peeked_) {
    peeked_ = false;
  } else if (at_end_ || !read_line()) {
    at_end_ = true;
    return std::nullopt;
  }
  return std::string_view(buf_);
}

std::optional<std::string_view> LineSource::peek() {
  if (!peeked_) {
    if (at_end_ || !read_line()) {
      at_end_ = true;
      return std::nullopt;
    }
    peeked_ = true;
  }
  return std::string_view(buf_);
}

}  // namespace kvsim::trace_impl
