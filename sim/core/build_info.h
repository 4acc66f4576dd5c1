// What kvsim binary this is: its version, the git commit it was built from ("unknown" outside a git checkout,
// "-dirty" when tracked files differed from it) and its build type. `kvsim --version` prints them; every
// results.json carries them (sim/engine/results.cc).
#pragma once

namespace kvsim {

inline constexpr const char* kKvsimVersion = "0.1.0";
const char* git_commit();  // generated at build time by cmake/build_info.cmake
const char* build_type();  // CMAKE_BUILD_TYPE: Release, Debug, ...

}  // namespace kvsim
