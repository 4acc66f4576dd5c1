// Helpers shared by the libFuzzer targets in fuzz/: the input as text or as a file in a private temp folder, and
// the `--kvsim-seeds=DIR` option with which tools/fuzz.sh asks a target for the seeds it can build from kvsim's
// own registries and catalogs (fuzz/README.md). Sanitizer defaults live in fuzz_util.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kvsim_fuzz {

// The input bytes as a string (may hold any byte, NUL included).
inline std::string text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// This process's own folder under $TMPDIR (else /tmp), created on first use and removed at normal exit.
const std::filesystem::path& temp_dir();

// Writes `bytes` to temp_dir()/`name` (replacing it) and returns the path; aborts if it cannot.
std::filesystem::path write_temp(const std::string& name, std::string_view bytes);

// Writes `bytes` to `path`, creating its folders; aborts if it cannot (for seeds and sandboxes).
void write_file(const std::filesystem::path& path, std::string_view bytes);

// If the command line has --kvsim-seeds=DIR: the folder to write seeds into (created); else empty. Targets call it
// from LLVMFuzzerInitialize, write their seeds and exit(0). libFuzzer ignores flags that start with "--".
std::filesystem::path seeds_dir(int argc, char** argv);

// Whether the command line has the flag `flag` (e.g. "--kvsim-formats").
bool has_flag(int argc, char** argv, std::string_view flag);

}  // namespace kvsim_fuzz
