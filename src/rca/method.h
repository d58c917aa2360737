// The one interface every root-cause method implements, the metadata it declares, and the
// registry that finds methods by name (STYLE.md section 5). A method receives a data::Case (never
// the ground truth) and returns a Ranking of candidate metrics, best first.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/deadline.h"
#include "base/registry.h"
#include "base/status.h"
#include "data/case.h"

namespace llmrca::rca {

// One declared parameter. `type` is "double", "int", "bool" or "enum:a|b|c".
struct ParamSpec {
  std::string_view name;
  std::string_view type;
  std::string_view default_value;
  std::string_view help;
};

struct MethodInfo {
  std::string_view name;      // registry key, persisted in results: lower snake_case
  std::string_view summary;   // one line
  std::string_view citation;  // authors, year, title
  std::span<const ParamSpec> params;
};

// One ranked candidate: a metric column split into service and indicator (FORMATS.md).
struct RankedCause {
  std::string service;
  std::string indicator;
  double score = 0;

  // The column name `<service>_<indicator>` (just the service when the indicator is empty).
  std::string Name() const { return indicator.empty() ? service : service + "_" + indicator; }
};

// Best first, scores non-increasing; equal scores keep the column order of the case.
using Ranking = std::vector<RankedCause>;

// Per-call context. Methods never read global randomness or the wall clock.
struct RunContext {
  uint64_t seed = 0;
  // A method that loops stops with kDeadlineExceeded once this passes.
  Deadline deadline;
  // Threads a method may use for independent work; results never depend on it.
  size_t threads = 1;
};

class Method {
 public:
  virtual ~Method() = default;
  // Ranks the candidates of `c` (its metric columns). Thread-safe: const, keeps no state between
  // calls. Errors: kDataError when the case cannot be analysed (e.g. no row before the inject
  // time), kDeadlineExceeded.
  virtual Result<Ranking> Rank(const data::Case& c, const RunContext& ctx) const = 0;
};

using ParamMap = std::map<std::string, std::string, std::less<>>;
using MethodFactory = std::function<Result<std::unique_ptr<Method>>(const ParamMap&)>;

struct MethodEntry {
  std::string_view name;  // == info.name
  MethodInfo info;
  MethodFactory factory;
};

class MethodRegistry {
 public:
  MethodRegistry() : registry_("method") {}

  // kAlreadyExists on a duplicate name.
  Status Add(const MethodInfo& info, MethodFactory factory);
  // Creates the method `name` configured by `params`: kNotFound (with "did you mean") for an
  // unknown name, kInvalidArgument for an unknown key or a bad value.
  Result<std::unique_ptr<Method>> Create(std::string_view name, const ParamMap& params) const;
  Result<const MethodInfo*> Find(std::string_view name) const;
  // Sorted by name.
  std::vector<const MethodInfo*> List() const;

 private:
  Registry<MethodEntry> registry_;
};

// Registers every built-in method (builtin_methods.cc: one line per method, alphabetical).
void AddBuiltinMethods(MethodRegistry& registry);

}  // namespace llmrca::rca
