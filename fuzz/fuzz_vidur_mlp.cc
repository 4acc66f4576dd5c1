// libFuzzer target: the Vidur mlp.csv importer (models/profile/import_vidur.cc, import_vidur_mlp; its CSV rows via
// models/profile/csv_table.h; declared in models/profile/profile.h, used by tests only so far). Input: the CSV
// file, written to a temp file and imported; a profile that imports is priced as the backends price it (price_profile.h).
// A finding is anything but a clean return or a KvsimError. Seeds: slices of ../shared's mlp.csv (tools/fuzz.sh).
#include <cstdlib>

#include "fuzz/fuzz_util.h"
#include "fuzz/price_profile.h"
#include "models/profile/profile.h"
#include "sim/core/error.h"

// Seeds come from ../shared only (tools/fuzz.sh): --kvsim-seeds writes none.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (!kvsim_fuzz::seeds_dir(*argc, *argv).empty()) std::exit(0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = kvsim_fuzz::write_temp("mlp.csv", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    kvsim_fuzz::price_profile(kvsim::import_vidur_mlp(path, "h100-sxm"));
  } catch (const kvsim::KvsimError&) {
    // a rejected table: the expected outcome
  }
  return 0;
}
