// libFuzzer target: kernel profiles, the files `cost_model.profile` names (models/profile/profile.h,
// profile_from_json). Input: profile JSON text. A profile that reads is written back and read again (it must come
// back equal: the documented round trip), then priced as the measured backend prices it (MeasuredCostModel over
// its own points) and fitted as the calibrated backend fits one (Calibration::fit, then predict_launch).
// A finding is anything but a clean return or a KvsimError, or a round trip that changes the profile.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "fuzz/price_profile.h"
#include "fuzz/samples.h"
#include "models/profile/profile.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const auto dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    kvsim_fuzz::write_file(dir / "sample-profile.json", kvsim_fuzz::sample_profile_json());
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kvsim::Profile profile;
  try {
    profile = kvsim::profile_from_json(kvsim::parse_json_text(kvsim_fuzz::text(data, size), "profile.json"),
                                       "profile.json");
  } catch (const kvsim::KvsimError&) {
    return 0;
  }
  const kvsim::Profile again = kvsim::profile_from_json(kvsim::to_json(profile), "round trip");
  if (!(again == profile)) {
    std::fprintf(stderr, "profile round trip changed the profile:\n%s\n%s\n", kvsim::to_json(profile).dump().c_str(),
                 kvsim::to_json(again).dump().c_str());
    std::abort();
  }
  kvsim_fuzz::price_profile(profile);
  return 0;
}
