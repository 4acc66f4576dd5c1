// Resolution of file paths written in a scenario: relative paths are relative to the scenario's folder.
#pragma once

#include <filesystem>
#include <string>

namespace kvsim::trace_impl {

inline std::filesystem::path resolve_path(const std::filesystem::path& base_dir, const std::string& path) {
  const std::filesystem::path p(path);
  return (p.is_absolute() ? p : base_dir / p).lexically_normal();
}

}  // namespace kvsim::trace_impl
