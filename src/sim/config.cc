#include "sim/config.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "base/strings.h"

namespace llmrca::sim {

std::vector<std::string> Topology::ComponentNames() const {
  std::vector<std::string> names = {"nginx-proxy", "ray-head"};
  for (int i = 0; i + 1 < replicas; ++i) names.push_back(fmt::format("ray-replicas-{}", i));
  return names;
}

Status CaseConfig::Validate() const {
  auto bad = [&](std::string msg) {
    return Status::InvalidArgument(fmt::format("sim: case {}: {}", id, msg));
  };
  if (topology.replicas < 1 || topology.replicas > 1000) {
    return bad(fmt::format("replicas must be in [1, 1000], got {}", topology.replicas));
  }
  if (!(duration_s > 0) || !(telemetry.step_s > 0) || duration_s < 2 * telemetry.step_s) {
    return bad(fmt::format("duration {} s must cover at least two {} s steps", duration_s,
                           telemetry.step_s));
  }
  if (!(load.qps > 0)) return bad(fmt::format("qps must be positive, got {}", load.qps));
  if (!(load.prompt_tokens >= 1) || !(load.output_tokens >= 1)) {
    return bad("prompt and output tokens must be at least 1");
  }
  const std::vector<std::string> names = topology.ComponentNames();
  for (const FaultSpec& f : faults) {
    if (!std::isfinite(f.start_s) || !std::isfinite(f.duration_s) || f.start_s < 0 ||
        f.duration_s <= 0 || f.start_s + f.duration_s > duration_s + 1e-9) {
      return bad(fmt::format("fault {} window [{}, {}] s is outside the run [0, {}] s",
                             FaultName(f.kind), f.start_s, f.start_s + f.duration_s, duration_s));
    }
    const bool known = f.target == "load" ||
                       std::find(names.begin(), names.end(), f.target) != names.end();
    if (!known) {
      return bad(fmt::format("fault target '{}' is not a component of this topology ({})",
                             f.target, Join(names, ", ")));
    }
    if (!FaultAppliesTo(f.kind, f.target)) {
      return bad(fmt::format("fault {} cannot target {}", FaultName(f.kind), f.target));
    }
    for (const auto& [key, value] : DefaultFaultParams(f.kind)) {
      if (f.params.count(key) == 0) {
        return bad(fmt::format("fault {} has no value for parameter '{}'", FaultName(f.kind), key));
      }
    }
    if (f.kind == FaultKind::kGpu) {
      if (Status s = CheckPowerCap(gpu, f.Param("power_cap_w")); !s.ok()) return bad(s.message());
    }
  }
  return Status::Ok();
}

}  // namespace llmrca::sim
