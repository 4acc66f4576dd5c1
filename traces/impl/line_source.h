// Streams a text file line by line for the trace readers.
//
// Lines are numbered from 1 as in the file. A trailing '\r' (CRLF files) and a UTF-8 byte-order mark on the
// first line are dropped; blank lines (empty or only spaces/tabs) are skipped but still counted, so line
// numbers in messages match what an editor shows. The file is never loaded whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "traces/impl/parse_util.h"

namespace kvsim::trace_impl {

class LineSource {
 public:
  // Throws KvsimError "<path>: cannot open ..." if the file is missing or unreadable.
  explicit LineSource(const std::filesystem::path& path);

  // The next non-blank line, or nullopt at the end of the file. The view is valid until the next call.
  std::optional<std::string_view> next();

  // Looks at the next non-blank line without consuming it: the following next() returns the same line.
  std::optional<std::string_view> peek();

  // Position of the line last returned by next() or peek().
  SourcePos pos() const { return {path_, line_}; }
  const std::string& path() const { return path_; }

 private:
  bool read_line();  // reads the next non-blank line into buf_; false at end of file

  std::ifstream in_;
  std::string path_;
  std::string buf_;
  std::int64_t line_ = 0;
  bool peeked_ = false;
  bool at_end_ = false;
};

}  // namespace kvsim::trace_impl
