// The folder every file a fuzzed scenario (or sweep / plan file) names resolves inside, so that the scenario and
// sweep targets never open a file elsewhere: sandbox_dir() holds small valid files, and confine_paths() rewrites
// each path-like string of a document to the name of one of them (fuzz/README.md, "Files").
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace kvsim_fuzz {

// A folder holding the trace samples (samples.h), model.json (the llama-3.1-8b card), config.json (a Hugging Face
// config), profile.json (a small kernel profile), calibration.json (the built-in H100 calibration) and
// scenario.json (a scenario over these files); created once per process in temp_dir().
const std::filesystem::path& sandbox_dir();

// A scenario over the sandbox's files: llama-3.1-8b on one H100, the azure-2023 sample trace, 20 requests.
nlohmann::json sandbox_scenario();

// Rewrites every string value under `doc` that looks like a path (it contains '/' or ends in .json, .jsonl or .csv;
// the values of "name" and "description" keys excepted) to a file name of the sandbox: its own base name if the
// sandbox has that file, else a sandbox file of the same kind (by key: model, profile, calibration, scenario; by a
// sibling trace "format"; by extension), else "no-such-file". Resolved against sandbox_dir(), every such name
// stays inside it.
void confine_paths(nlohmann::json& doc);

}  // namespace kvsim_fuzz
