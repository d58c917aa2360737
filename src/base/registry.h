// Registry<Entry>: a name-indexed store of plugin entries (methods, fault kinds, reporters).
// Names are unique (a duplicate is kAlreadyExists), List() returns entries sorted by name, and an
// unknown name is kNotFound with a "did you mean" suggestion. Built explicitly by whoever needs it
// (no static self-registration); tests build private registries holding fakes.
// Entry must have a `std::string_view name` member. Thread-compatible: fill it, then share it const.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/strings.h"

namespace llmrca {

template <typename Entry>
class Registry {
 public:
  // `kind` names what is stored ("method", "fault kind"), used in error messages.
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  Status Add(Entry entry) {
    std::string name(entry.name);
    if (name.empty()) return Status::InvalidArgument(kind_ + " registry: empty name");
    auto [it, inserted] = entries_.emplace(name, std::move(entry));
    if (!inserted) {
      return Status::AlreadyExists(kind_ + " registry: '" + name + "' is already registered");
    }
    return Status::Ok();
  }

  // The entry named `name`, or kNotFound naming the closest registered name.
  Result<const Entry*> Find(std::string_view name) const {
    auto it = entries_.find(std::string(name));
    if (it != entries_.end()) return &it->second;
    return Status::NotFound("unknown " + kind_ + " '" + std::string(name) + "'" +
                            DidYouMean(name, Names()));
  }

  bool Contains(std::string_view name) const { return entries_.count(std::string(name)) > 0; }

  // Every entry, sorted by name.
  std::vector<const Entry*> List() const {
    std::vector<const Entry*> out;
    out.reserve(entries_.size());
    for (const auto& [name, entry] : entries_) out.push_back(&entry);
    return out;
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [name, entry] : entries_) out.push_back(name);
    return out;
  }

  size_t size() const { return entries_.size(); }

 private:
  std::string kind_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace llmrca
