// A name-keyed registry for one family of policies (schedulers, cost-model backends, trace formats...).
// Each entry documents itself: name, one-line description, citation and typed parameters with defaults and
// help, so that `kvsim list ...` can print it. Registration is explicit, in one builtin list per family
// (no static self-registration), so a missing entry is a compile-time or test-time failure.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim {

struct ParamDoc {
  std::string name;           // key in the scenario, e.g. "max_num_seqs"
  std::string type;           // "int", "number", "bool", "string"
  std::string default_value;  // as the user would write it in JSON
  std::string help;           // one line, with units
};

template <class Factory>
struct RegistryEntry {
  std::string name;         // lowercase-hyphen, e.g. "vllm-v1"
  std::string description;  // one line
  std::string citation;     // paper / repository / documentation the behaviour follows
  std::vector<ParamDoc> params;
  Factory factory;
};

// `Factory` is the callable type that builds one implementation (e.g. a std::function returning unique_ptr).
template <class Factory>
class Registry {
 public:
  using Entry = RegistryEntry<Factory>;

  // `family` names the vocabulary in error messages ("scheduler", "trace format").
  explicit Registry(std::string family) : family_(std::move(family)) {}

  void add(Entry entry) {
    if (find(entry.name) != nullptr) throw std::logic_error("duplicate registry entry " + entry.name);
    entries_.push_back(std::move(entry));
  }

  const Entry* find(std::string_view name) const {
    for (const Entry& e : entries_) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }

  // The entry for `name`; throws KvsimError listing the available names otherwise.
  // `where` names the config key or flag that held the name.
  const Entry& get(std::string_view name, std::string_view where) const {
    if (const Entry* e = find(name)) return *e;
    throw KvsimError(fmt::format("{}: unknown {} '{}'; available: {}", where, family_, name,
                                 fmt::join(names(), ", ")));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Entry& e : entries_) out.push_back(e.name);
    return out;
  }

  const std::vector<Entry>& entries() const { return entries_; }
  const std::string& family() const { return family_; }

 private:
  std::string family_;
  std::vector<Entry> entries_;
};

}  // namespace kvsim
