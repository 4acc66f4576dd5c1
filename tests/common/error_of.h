// Shared test helper: run a callable that must throw KvsimError and return the message, so tests can check
// that errors name the file, line or key and list what is valid.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "sim/core/error.h"

namespace kvsim::testing {

// The KvsimError message thrown by `fn`, or "" (and a test failure) if it throws none.
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const KvsimError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a KvsimError";
  return "";
}

}  // namespace kvsim::testing
