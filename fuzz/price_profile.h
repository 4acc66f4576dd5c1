// What the cost-model backends do with a profile that read, for the profile-reading fuzz targets: the measured
// backend's tables over its points (MeasuredCostModel::estimate) and the calibrated backend's fit
// (Calibration::fit, then predict_launch), on the H100 card. KvsimError is the only exception it lets out.
#pragma once

#include "models/profile/profile.h"

namespace kvsim_fuzz {

void price_profile(const kvsim::Profile& profile);

}  // namespace kvsim_fuzz
