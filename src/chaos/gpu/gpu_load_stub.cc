// gpu_load.h in a build without CUDA (LLMRCA_WITH_CUDA=OFF): the API exists so callers compile,
// and every run says why it cannot.
#include "chaos/gpu/gpu_load.h"

namespace llmrca::chaos::gpu {
namespace {

GpuError NoCuda(const char* what) {
  return GpuError{GpuErrorCode::kUnavailable,
                  std::string("gpu: cannot ") + what +
                      ": llmrca was built without CUDA (configure with -DLLMRCA_WITH_CUDA=ON and "
                      "the CUDA toolkit's nvcc)",
                  0};
}

}  // namespace

bool GpuLoadBuiltWithCuda() { return false; }

GpuResult<GpuLoadReport> RunGpuLoad(const GpuLoadOptions& options, const std::atomic<bool>&) {
  GpuStatus valid = ValidateGpuLoadOptions(options);
  if (!valid.ok()) return valid.error();
  return NoCuda("run a GPU load");
}

GpuResult<GpuCudaDevice> DescribeCudaDevice(int) { return NoCuda("open a CUDA device"); }

GpuResult<GpuProbeReport> RunGpuProbe(int, int) { return NoCuda("run a GPU probe"); }

}  // namespace llmrca::chaos::gpu
