#include "rca/params.h"

#include <cmath>

#include <fmt/format.h>

#include "base/check.h"
#include "base/strings.h"

namespace llmrca::rca {
namespace {

Status CheckType(const MethodInfo& info, const ParamSpec& spec, const std::string& value) {
  auto bad = [&](std::string_view expected) {
    return Status::InvalidArgument(fmt::format("{}: parameter '{}' must be {}, got '{}'", info.name,
                                               spec.name, expected, value));
  };
  const std::string_view type = spec.type;
  if (type == "double") {
    std::optional<double> v = ParseDouble(value);
    if (!v || !std::isfinite(*v)) return bad("a number");
  } else if (type == "int") {
    if (!ParseInt(value)) return bad("an integer");
  } else if (type == "bool") {
    if (value != "true" && value != "false") return bad("true or false");
  } else if (type.rfind("enum:", 0) == 0) {
    std::vector<std::string> choices = Split(type.substr(5), '|');
    for (const std::string& c : choices) {
      if (c == value) return Status::Ok();
    }
    return bad("one of " + Join(choices, ", "));
  } else {
    return Status::Internal(fmt::format("{}: parameter '{}' has unknown type '{}'", info.name,
                                        spec.name, type));
  }
  return Status::Ok();
}

}  // namespace

Result<Params> Params::Parse(const MethodInfo& info, const ParamMap& given) {
  Params p;
  p.method_ = std::string(info.name);
  std::vector<std::string> declared;
  for (const ParamSpec& spec : info.params) {
    declared.emplace_back(spec.name);
    p.values_[std::string(spec.name)] = std::string(spec.default_value);
  }
  for (const auto& [key, value] : given) {
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& s : info.params) {
      if (s.name == key) spec = &s;
    }
    if (spec == nullptr) {
      std::string known = declared.empty() ? " (it takes no parameters)"
                                           : " (parameters: " + Join(declared, ", ") + ")";
      std::string hint = DidYouMean(key, declared);
      return Status::InvalidArgument(fmt::format("{}: unknown parameter '{}'{}", info.name, key,
                                                 hint.empty() ? known : hint));
    }
    LLMRCA_RETURN_IF_ERROR(CheckType(info, *spec, value));
    p.values_[key] = value;
  }
  return p;
}

const std::string& Params::String(std::string_view name) const {
  auto it = values_.find(name);
  LLMRCA_CHECK(it != values_.end()) << method_ << ": undeclared parameter " << name;
  return it->second;
}

double Params::Double(std::string_view name) const { return *ParseDouble(String(name)); }
int64_t Params::Int(std::string_view name) const { return *ParseInt(String(name)); }
bool Params::Bool(std::string_view name) const { return String(name) == "true"; }

bool Params::RcaevalCompat() const {
  auto it = values_.find("compat");
  return it != values_.end() && it->second == "rcaeval";
}

Status Params::CheckRange(std::string_view name, double lo, double hi) const {
  const double v = Double(name);
  if (v < lo || v > hi) {
    return Status::InvalidArgument(fmt::format("{}: parameter '{}' must be in [{}, {}], got {}",
                                               method_, name, lo, hi, String(name)));
  }
  return Status::Ok();
}

}  // namespace llmrca::rca
