// Small, hand-written, valid inputs the fuzz targets start from and the sandbox holds (sandbox.h): one trace file
// per format (traces/FORMAT.md), a kernel profile, a Hugging Face config. Nothing here is copied from ../shared;
// tools/fuzz.sh adds slices of the real files as seeds at run time.
#pragma once

#include <string>
#include <vector>

namespace kvsim_fuzz {

struct TraceSample {
  std::string format;  // trace_formats() name
  std::string file;    // file name in the sandbox
  std::string text;
};
// Every trace format, each with a sample (vidur-csv twice: its replay and its length-only layout).
const std::vector<TraceSample>& trace_samples();

// A small kvsim profile (models/profile/profile.h) of an H100 with points of every table, as JSON text.
std::string sample_profile_json();

// A small Hugging Face config.json of a Llama model.
std::string sample_hf_config_json();

}  // namespace kvsim_fuzz
