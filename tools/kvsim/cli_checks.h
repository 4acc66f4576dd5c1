// Validators for the command line's numbers, with kvsim's rule for every number that enters it (as the scenario
// reader's, sim/core/param_reader.h): finite, in a stated range, integer where it counts; a message that quotes at
// most a few dozen characters of what was typed and gives the range in short form (never CLI11's 309-digit
// bounds).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim::cli {

// A finite number in [lo, hi]; `unit` ends the message ("tokens", "GiB").
inline CLI::Validator number_in(double lo, double hi, const std::string& unit = "") {
  return CLI::Validator(
      [lo, hi, unit](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
          return fmt::format("'{}' is not a finite number", quoted_input(text, 40));
        }
        if (v < lo || v > hi) {
          return fmt::format("{:g} is out of range; expected {:g} to {:g}{}{}", v, lo, hi, unit.empty() ? "" : " ",
                             unit);
        }
        return "";
      },
      fmt::format("{:g} to {:g}", lo, hi));
}

// An integer in [lo, hi], written as one (no decimal point or exponent).
inline CLI::Validator integer_in(long long lo, long long hi, const std::string& unit = "") {
  return CLI::Validator(
      [lo, hi, unit](std::string& text) -> std::string {
        long long v = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, v);
        const std::string range = fmt::format("{} to {}{}{}", lo, hi, unit.empty() ? "" : " ", unit);
        if (ec == std::errc::result_out_of_range) {
          return fmt::format("'{}' is out of range; expected {}", quoted_input(text, 40), range);
        }
        if (text.empty() || ec != std::errc() || ptr != end) {
          return fmt::format("'{}' is not an integer; expected {}", quoted_input(text, 40), range);
        }
        if (v < lo || v > hi) return fmt::format("{} is out of range; expected {}", v, range);
        return "";
      },
      fmt::format("{} to {}", lo, hi));
}

}  // namespace kvsim::cli
