// Params: a method's parameters after validation against its declared ParamSpecs. Parse()
// rejects unknown keys (with a suggestion) and values of the wrong type, and fills in defaults;
// the typed getters then cannot fail for a declared name. Range checks stay with each method.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"
#include "rca/method.h"

namespace llmrca::rca {

class Params {
 public:
  // Validates `given` against `info.params`. kInvalidArgument naming the method and the key.
  static Result<Params> Parse(const MethodInfo& info, const ParamMap& given);

  const std::string& String(std::string_view name) const;
  double Double(std::string_view name) const;
  int64_t Int(std::string_view name) const;
  bool Bool(std::string_view name) const;
  // True when `compat=rcaeval` was asked for (methods that declare `compat`).
  bool RcaevalCompat() const;

  // kInvalidArgument "<method>: parameter '<name>' must be in [lo, hi], got v" when out of range.
  Status CheckRange(std::string_view name, double lo, double hi) const;

 private:
  std::string method_;
  std::map<std::string, std::string, std::less<>> values_;
};

// The `compat` parameter every method with a reference-compatible mode declares.
inline constexpr ParamSpec kCompatParam = {
    "compat", "enum:none|rcaeval", "none",
    "none: the method as its authors intended, reference bugs fixed; rcaeval: reproduce the "
    "RCAEval reference implementation exactly, quirks included"};

}  // namespace llmrca::rca
