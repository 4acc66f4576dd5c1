// Strict, typed reading of one JSON object of parameters (a scenario section or a policy's params).
//
// Contract:
//  - Every key a component understands is read through get()/require()/child(); the reader remembers them.
//  - finish() throws KvsimError naming every key that was present but never read, with the valid keys,
//    so a typo in a scenario is an error, never a silently ignored setting.
//  - Type errors name the full key path ("engine.max_num_seqs") and the expected type.
//  - Numbers follow one rule: finite, integers written as integers (1000, not 1000.0 or 1e3), and in the range
//    the component states (get_in/require_in name the key, the range and its unit); a value outside it is an
//    error, never clamped.
//  - A JSON null counts as "not given" only where a key is optional without a default (get_optional, raw);
//    get() and require() reject it (omit the key to take the default).
#pragma once

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/error.h"

namespace kvsim {

class ParamReader {
 public:
  // `path` is the key path of this object inside the scenario ("" for the root), used in messages.
  ParamReader(const nlohmann::json& object, std::string path);

  bool has(const std::string& key) const;

  template <class T>
  T get(const std::string& key, const T& default_value) {
    note(key);
    const nlohmann::json* v = find(key);
    if (v == nullptr) return default_value;
    if (v->is_null()) {
      if (null_is_absent_) return default_value;
      null_error(key);
    }
    return convert<T>(*v, key);
  }

  template <class T>
  std::optional<T> get_optional(const std::string& key) {
    note(key);
    const nlohmann::json* v = find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return convert<T>(*v, key);
  }

  template <class T>
  T require(const std::string& key) {
    note(key);
    const nlohmann::json* v = find(key);
    if (v == nullptr || v->is_null()) throw KvsimError(full(key) + ": required key is missing");
    return convert<T>(*v, key);
  }

  // Range-checked reads: the error names the key, the valid range and the value given.
  template <class T>
  T require_positive(const std::string& key) {
    return checked_positive(key, require<T>(key));
  }
  template <class T>
  T get_positive(const std::string& key, const T& default_value) {
    return checked_positive(key, get<T>(key, default_value));
  }
  template <class T>
  T require_non_negative(const std::string& key) {
    return checked_non_negative(key, require<T>(key));
  }
  template <class T>
  T get_non_negative(const std::string& key, const T& default_value) {
    return checked_non_negative(key, get<T>(key, default_value));
  }
  // A number in (0, 1].
  double get_fraction(const std::string& key, double default_value);
  // Numbers in [lo, hi] (inclusive); `unit` says what they count ("tokens per KV block"), for the message.
  template <class T>
  T get_in(const std::string& key, const T& default_value, T lo, T hi, std::string_view unit) {
    return checked_in(key, get<T>(key, default_value), lo, hi, unit);
  }
  template <class T>
  T require_in(const std::string& key, T lo, T hi, std::string_view unit) {
    return checked_in(key, require<T>(key), lo, hi, unit);
  }
  template <class T>
  std::optional<T> get_optional_in(const std::string& key, T lo, T hi, std::string_view unit) {
    std::optional<T> v = get_optional<T>(key);
    if (v) checked_in(key, *v, lo, hi, unit);
    return v;
  }
  // Checks an already-read value the same way (for values derived from other keys).
  template <class T>
  T checked_in(const std::string& key, T v, T lo, T hi, std::string_view unit) const {
    if (!(v >= lo && v <= hi)) range_error(key, as_text(v), as_text(lo), as_text(hi), unit);
    return v;
  }
  // A string that must be present and not empty.
  std::string require_nonempty(const std::string& key);

  // The raw JSON value of a key (marks it as read); nullptr if absent.
  const nlohmann::json* raw(const std::string& key);

  // Reader for a nested object; an absent key gives an empty object. Throws if the value is not an object.
  ParamReader child(const std::string& key);

  // Keys present in the object that no call has asked for yet (for sections whose remaining keys belong to a
  // sub-component, e.g. a strategy's parameters).
  std::vector<std::string> unread_keys() const;

  // Throws KvsimError if the object has keys that no get/require/child call asked for.
  void finish() const;

  // Full key path for messages: "engine.block_size".
  std::string full(const std::string& key) const;

  // Throws KvsimError("<path>: <message>") unless `ok`.
  void check(bool ok, const std::string& key, const std::string& message) const;

  const std::string& path() const { return path_; }

  // For files kvsim does not write (Hugging Face configs, where transformers writes null for "unset"): a null
  // counts as "not given" everywhere, in this reader and its children.
  ParamReader& nulls_are_absent() {
    null_is_absent_ = true;
    return *this;
  }

 private:
  void note(const std::string& key) { asked_.insert(key); }
  const nlohmann::json* find(const std::string& key) const;
  [[noreturn]] void type_error(const std::string& key, const char* expected, const nlohmann::json& v) const;
  [[noreturn]] void null_error(const std::string& key) const;
  [[noreturn]] void range_error(const std::string& key, const std::string& value, const std::string& lo,
                                const std::string& hi, std::string_view unit) const;
  template <class T>
  static std::string as_text(T v) {
    if constexpr (std::is_floating_point_v<T>) {
      return format_number(static_cast<double>(v));
    } else {
      return std::to_string(v);
    }
  }
  static std::string format_number(double v);  // "%g"-like, short

  // Without a range of its own, a number read as positive or non-negative is at most kvsim's ceiling: 1e9 for
  // numbers in kvsim's units (GiB, GB/s, TFLOPS, seconds, microseconds, fractions), 1e12 for counts. Beyond
  // them no real deployment lies; products of such numbers stay far from overflow.
  template <class T>
  static constexpr T ceiling() {
    if constexpr (std::is_floating_point_v<T>) {
      return T(1e9);
    } else {
      return static_cast<T>(std::min<long double>(1e12L, static_cast<long double>(std::numeric_limits<T>::max())));
    }
  }
  template <class T>
  T checked_positive(const std::string& key, T v) const {
    if (!(v > 0)) throw KvsimError(full(key) + ": must be > 0, got " + as_text(v));
    if (!(v <= ceiling<T>())) range_error(key, as_text(v), "> 0", as_text(ceiling<T>()), "(kvsim's ceiling)");
    return v;
  }
  template <class T>
  T checked_non_negative(const std::string& key, T v) const {
    if (!(v >= 0)) throw KvsimError(full(key) + ": must be >= 0, got " + as_text(v));
    if (!(v <= ceiling<T>())) range_error(key, as_text(v), "0", as_text(ceiling<T>()), "(kvsim's ceiling)");
    return v;
  }

  template <class T>
  T convert(const nlohmann::json& v, const std::string& key) const {
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) type_error(key, "true or false", v);
      return v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      // Integers (also 12.0) within the range of T.
      long double d = 0;
      if (v.is_number_unsigned()) {
        d = static_cast<long double>(v.get<std::uint64_t>());
      } else if (v.is_number_integer()) {
        d = static_cast<long double>(v.get<std::int64_t>());
      } else if (v.is_number_float()) {
        type_error(key, "an integer (written without a decimal point or exponent)", v);
      } else {
        type_error(key, "an integer", v);
      }
      if (d < static_cast<long double>(std::numeric_limits<T>::min()) ||
          d > static_cast<long double>(std::numeric_limits<T>::max())) {
        type_error(key, "an integer in range", v);
      }
      return static_cast<T>(d);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) type_error(key, "a number", v);
      if (!std::isfinite(v.get<double>())) type_error(key, "a finite number", v);
      return static_cast<T>(v.get<double>());
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) type_error(key, "a string", v);
      return v.get<std::string>();
    } else if constexpr (std::is_same_v<T, nlohmann::json>) {
      return v;
    } else {
      static_assert(sizeof(T) == 0, "unsupported parameter type");
    }
  }

  const nlohmann::json& object_;
  std::string path_;
  std::set<std::string> asked_;
  bool null_is_absent_ = false;
};

}  // namespace kvsim
