// The GPU faults as chaos::Faults, over the standalone GPU parts in chaos/gpu: an NVML power cap
// (the study's "GPU stress": nvidia-smi -pl 150), restored to the limit read before it rather
// than to the default limit the study reset to, and journaled so that `llmrca chaos recover`
// restores it after a crash; and a CUDA load, which runs in a stressor process like the CPU's
// (the `gpu` worker of `llmrca chaos stress-worker`), built with LLMRCA_WITH_CUDA only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "chaos/fault.h"
#include "chaos/gpu/gpu_error.h"

namespace llmrca::chaos {

// A GpuError as a Status: permission errors become kUnavailable (there is no kPermissionDenied).
Status FromGpu(const gpu::GpuStatus& status);

// Caps GPU `device` (NVML index) at `watts` while active. `nvml_library`: "" for the default
// (or $LLMRCA_NVML_LIBRARY). `restore_prefix` is the command that, given "--uuid U --limit-mw N"
// more, restores a limit: the journal keeps it for `chaos recover`. Measured into the record:
// previous_limit_w, min_limit_w, max_limit_w, the GPU's name and uuid.
std::unique_ptr<Fault> MakeGpuPowerCapFault(unsigned device, double watts, std::string nvml_library,
                                            std::vector<std::string> restore_prefix,
                                            FaultRecord description);

// Sets the power limit of the GPU with this UUID (what the journal's restore command runs).
Status RestoreGpuPowerLimit(const std::string& uuid, unsigned limit_mw,
                            const std::string& nvml_library);

}  // namespace llmrca::chaos
