// Helpers shared by the trace tests: real-file paths, temporary trace files, reading whole streams, and
// checking error messages.
#pragma once

#include "tests/common/error_of.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "sim/core/error.h"
#include "traces/trace_reader.h"

namespace kvsim::testing {

// A file of the shared real traces, e.g. real_trace("azure_llm_2023/AzureLLMInferenceTrace_conv.csv").
inline std::filesystem::path real_trace(std::string_view relative) {
  return std::filesystem::path(KVSIM_SHARED_DIR) / "traces" / relative;
}

// A temporary file with the given contents, removed when the object goes out of scope.
class TempFile {
 public:
  explicit TempFile(std::string_view contents, std::string_view suffix = ".csv") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kvsim_test_traces_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + std::string(suffix));
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string name() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<ITraceReader> open_trace(const std::string& format, const std::filesystem::path& path) {
  return trace_formats().get(format, "test").factory(path);
}

inline std::vector<TraceRecord> read_all(ITraceReader& reader) {
  std::vector<TraceRecord> out;
  while (auto r = reader.next()) out.push_back(std::move(*r));
  return out;
}

inline std::vector<TraceRecord> read_all(const std::string& format, const std::filesystem::path& path) {
  auto reader = open_trace(format, path);
  return read_all(*reader);
}


#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "'" << (text) << "' lacks '" << (part) << "'"

}  // namespace kvsim::testing
