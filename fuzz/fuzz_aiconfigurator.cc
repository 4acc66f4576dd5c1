// libFuzzer target: the aiconfigurator importer (models/profile/import_aiconfigurator.cc, import_aiconfigurator;
// the tables `cost_model.aiconfigurator` names, with `framework` and `version`). Input: a first line
// "<framework> <version>" (e.g. "vllm 0.24.0"), then up to five CSV tables separated by lines "%%", written in this
// order to a system folder (F, V: the framework and version; an empty or blank table is not written):
//   attention/F/V/generation_attention_perf.csv, attention/F/V/context_attention_perf.csv, gemm/F/V/gemm_perf.csv,
//   moe/F/V/moe_perf.csv, comm/nccl/2.0/nccl_perf.csv,
// then imported for that framework and version; a profile that imports is priced as the backends price it
// (price_profile.h). A finding is anything but a clean return or a KvsimError. Seeds: slices of ../shared's tables
// (tools/fuzz.sh).
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "fuzz/price_profile.h"
#include "models/profile/profile.h"
#include "sim/core/error.h"

namespace {

namespace fs = std::filesystem;

// A folder name from the first line, kept as the importer gets it unless it is no single folder name (empty, ".",
// "..", a '/' or NUL in it, over 64 bytes), which becomes "x".
std::string folder_name(std::string s) {
  const bool bad = s.empty() || s == "." || s == ".." || s.size() > 64 || s.find('/') != std::string::npos ||
                   s.find('\0') != std::string::npos;
  return bad ? "x" : s;
}

}  // namespace

// Seeds come from ../shared only (tools/fuzz.sh): --kvsim-seeds writes none.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (!kvsim_fuzz::seeds_dir(*argc, *argv).empty()) std::exit(0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input = kvsim_fuzz::text(data, size);
  const std::size_t eol = std::min(input.find('\n'), input.size());
  const std::string first = input.substr(0, eol);
  const std::size_t space = std::min(first.find(' '), first.size());
  const std::string framework = folder_name(first.substr(0, space));
  const std::string version = folder_name(space < first.size() ? first.substr(space + 1) : std::string());
  const fs::path system = kvsim_fuzz::temp_dir() / "aiconfigurator";
  std::error_code ec;
  fs::remove_all(system, ec);
  const fs::path tables[] = {fs::path("attention") / framework / version / "generation_attention_perf.csv",
                             fs::path("attention") / framework / version / "context_attention_perf.csv",
                             fs::path("gemm") / framework / version / "gemm_perf.csv",
                             fs::path("moe") / framework / version / "moe_perf.csv", "comm/nccl/2.0/nccl_perf.csv"};
  std::size_t start = eol + 1;
  for (const fs::path& table : tables) {
    if (start > input.size()) break;
    std::size_t end = input.find("\n%%\n", start);
    if (end == std::string::npos) end = input.size();
    const std::string_view section = std::string_view(input).substr(start, end - start + 1);
    if (section.find_first_not_of(" \t\r\n") != std::string_view::npos) {
      kvsim_fuzz::write_file(system / table, section);
    }
    start = end + 4;
  }
  try {
    kvsim_fuzz::price_profile(kvsim::import_aiconfigurator(system, framework, version, "h100-sxm"));
  } catch (const kvsim::KvsimError&) {
    // a rejected table: the expected outcome
  }
  return 0;
}
