// The parts of gpu_load.h that need no CUDA, built in every configuration.
#include <cmath>
#include <string>
#include <utility>

#include "chaos/gpu/gpu_load.h"

namespace llmrca::chaos::gpu {

GpuStatus ValidateGpuLoadOptions(const GpuLoadOptions& o) {
  const auto bad = [](std::string message) {
    return GpuStatus(GpuError{GpuErrorCode::kInvalidArgument, "gpu: " + std::move(message), 0});
  };
  if (o.device < 0) return bad("device " + std::to_string(o.device) + " is negative");
  if (!(o.load_pct > 0 && o.load_pct <= 100)) {
    return bad("load " + std::to_string(o.load_pct) + " % is outside (0, 100]");
  }
  if (!(o.duration.count() > 0) || !std::isfinite(o.duration.count())) {
    return bad("duration " + std::to_string(o.duration.count()) + " s is not positive");
  }
  if (!(o.period.count() > 0) || !std::isfinite(o.period.count())) {
    return bad("period " + std::to_string(o.period.count()) + " s is not positive");
  }
  if (o.memory_bytes < 0) {
    return bad("memory " + std::to_string(o.memory_bytes) + " bytes is negative");
  }
  return {};
}

}  // namespace llmrca::chaos::gpu
