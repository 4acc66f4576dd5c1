// Shared helpers of the fuzz targets (see fuzz_util.h) and the sanitizer defaults every target is linked with:
// UBSan stops at the first report (a finding), so a run never scrolls past undefined behaviour.
#include "fuzz/fuzz_util.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>

#include <unistd.h>

extern "C" const char* __ubsan_default_options() {  // NOLINT: the sanitizer runtime's hook
  return "halt_on_error=1:print_stacktrace=1:report_error_type=1";
}

namespace kvsim_fuzz {

namespace {
[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "kvsim fuzz harness: %s\n", what.c_str());
  std::abort();
}

void remove_temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(temp_dir(), ec);
}
}  // namespace

const std::filesystem::path& temp_dir() {
  static const std::filesystem::path dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/kvsim-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) die("cannot create a folder from " + pattern);
    return std::filesystem::path(pattern);
  }();
  static const bool registered = (std::atexit(remove_temp_dir), true);
  (void)registered;
  return dir;
}

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) die("cannot write " + path.string());
}

std::filesystem::path write_temp(const std::string& name, std::string_view bytes) {
  const std::filesystem::path path = temp_dir() / name;
  write_file(path, bytes);
  return path;
}

std::filesystem::path seeds_dir(int argc, char** argv) {
  constexpr std::string_view kFlag = "--kvsim-seeds=";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.substr(0, kFlag.size()) == kFlag) {
      const std::filesystem::path dir(std::string(arg.substr(kFlag.size())));
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (!std::filesystem::is_directory(dir)) die("cannot create " + dir.string());
      return dir;
    }
  }
  return {};
}

bool has_flag(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == flag) return true;
  }
  return false;
}

}  // namespace kvsim_fuzz
