// Strict parameter reading: see param_reader.h for the contract.
#include "sim/core/param_reader.h"

#include <fmt/format.h>

namespace kvsim {

namespace {
const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}
}  // namespace

ParamReader::ParamReader(const nlohmann::json& object, std::string path)
    : object_(object.is_null() ? empty_object() : object), path_(std::move(path)) {
  if (!object_.is_object()) {
    throw KvsimError(fmt::format("{}: expected a JSON object, got {}", path_.empty() ? "scenario" : path_,
                                 object_.dump()));
  }
}

bool ParamReader::has(const std::string& key) const {
  const nlohmann::json* v = find(key);
  return v != nullptr && !v->is_null();
}

const nlohmann::json* ParamReader::find(const std::string& key) const {
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

const nlohmann::json* ParamReader::raw(const std::string& key) {
  note(key);
  return find(key);
}

ParamReader ParamReader::child(const std::string& key) {
  note(key);
  const nlohmann::json* v = find(key);
  ParamReader out = v == nullptr || v->is_null() ? ParamReader(empty_object(), full(key)) : [&] {
    if (!v->is_object()) type_error(key, "a JSON object", *v);
    return ParamReader(*v, full(key));
  }();
  out.null_is_absent_ = null_is_absent_;
  return out;
}

std::string ParamReader::full(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void ParamReader::check(bool ok, const std::string& key, const std::string& message) const {
  if (!ok) throw KvsimError(full(key) + ": " + message);
}

void ParamReader::type_error(const std::string& key, const char* expected, const nlohmann::json& v) const {
  // Raw text from --set or a strategy string may be any bytes: invalid UTF-8 is replaced, never thrown on.
  const std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  throw KvsimError(fmt::format("{}: expected {}, got {}", full(key), expected, quoted_input(text, 100)));
}

void ParamReader::null_error(const std::string& key) const {
  throw KvsimError(fmt::format("{}: null is not a value here; omit the key to take its default", full(key)));
}

void ParamReader::range_error(const std::string& key, const std::string& value, const std::string& lo,
                              const std::string& hi, std::string_view unit) const {
  throw KvsimError(fmt::format("{}: {} is out of range; expected {} to {}{}{}", full(key), value, lo, hi,
                               unit.empty() ? "" : " ", unit));
}

std::string ParamReader::format_number(double v) { return fmt::format("{:.6g}", v); }

double ParamReader::get_fraction(const std::string& key, double default_value) {
  const double v = get<double>(key, default_value);
  check(v > 0 && v <= 1, key, fmt::format("must be in (0, 1], got {}", v));
  return v;
}

std::string ParamReader::require_nonempty(const std::string& key) {
  std::string v = require<std::string>(key);
  check(!v.empty(), key, "must not be empty");
  return v;
}

std::vector<std::string> ParamReader::unread_keys() const {
  std::vector<std::string> out;
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (asked_.count(it.key()) == 0) out.push_back(it.key());
  }
  return out;
}

void ParamReader::finish() const {
  std::vector<std::string> unknown;
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (asked_.count(it.key()) == 0) unknown.push_back("'" + full(it.key()) + "'");
  }
  if (unknown.empty()) return;
  std::vector<std::string> valid(asked_.begin(), asked_.end());
  const std::string where = path_.empty() ? "the scenario" : "'" + path_ + "'";
  if (valid.empty()) {
    throw KvsimError(fmt::format("unknown key{} {} in {}, which takes no keys", unknown.size() > 1 ? "s" : "",
                                 fmt::join(unknown, ", "), where));
  }
  throw KvsimError(fmt::format("unknown key{} {} in {}; valid keys are: {}", unknown.size() > 1 ? "s" : "",
                               fmt::join(unknown, ", "), where, fmt::join(valid, ", ")));
}

}  // namespace kvsim
