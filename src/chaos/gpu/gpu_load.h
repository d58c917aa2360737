// GPU load: a CUDA kernel that keeps every SM of one GPU busy for a target share of each period
// (a duty cycle, like the CPU stressor's), for a duration or until a stop flag, optionally
// holding device memory, like gpu-burn or dcgmproftester but without changing any device
// setting (reference/chaos-and-telemetry.md 1.7). Also a fixed-work probe to time a small
// concurrent GPU job alone and under load. Implemented in gpu_load.cu when built with CUDA
// (the CMake option LLMRCA_WITH_CUDA); otherwise every run returns a "built without CUDA"
// error, so callers compile either way.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "chaos/gpu/gpu_error.h"

namespace llmrca::chaos::gpu {

struct GpuLoadOptions {
  int device = 0;         // CUDA device ordinal (CUDA_VISIBLE_DEVICES applies)
  double load_pct = 100;  // share of each period with a load kernel running, in (0, 100]
  std::chrono::duration<double> duration{10};  // > 0
  // Each period is busy load_pct % of it, then idle. 100 ms as the CPU stressor: short enough
  // that a 1 s utilisation sample sees the average, long enough to amortise launches.
  std::chrono::duration<double> period{0.1};
  std::int64_t memory_bytes = 0;  // device memory to allocate, write and hold; 0: none
};

struct GpuLoadReport {
  int device = 0;
  std::string device_name;  // "NVIDIA H100 80GB HBM3"
  std::string uuid;         // "GPU-xxxxxxxx-...", as NVML spells it (to find the NVML device)
  int sm_count = 0;
  int blocks_per_launch = 0;  // enough resident blocks to occupy every SM
  std::int64_t kernels_launched = 0;
  double busy_s = 0;      // time with a load kernel running (CUDA events around each burst)
  double elapsed_s = 0;   // wall time from the first launch to the end
  double busy_share = 0;  // busy_s / elapsed_s, the achieved duty cycle in [0, 1]
  std::int64_t memory_bytes_held = 0;
  bool stopped = false;  // ended by the stop flag rather than the duration
};

// A fixed amount of GPU work timed alone: `kernels` launches of a small compute kernel, each
// waited for (as an inference step is), after one untimed warm-up launch.
struct GpuProbeReport {
  int device = 0;
  std::string device_name;
  int kernels = 0;
  double elapsed_s = 0;       // wall time for all of them
  double mean_kernel_ms = 0;  // elapsed_s / kernels, in milliseconds
};

// True when this build has the CUDA implementation.
bool GpuLoadBuiltWithCuda();

// A CUDA device as the load sees it.
struct GpuCudaDevice {
  int device = 0;
  std::string name;
  std::string uuid;  // as NVML spells it, to find the same GPU through NVML
  int sm_count = 0;
  std::int64_t total_memory_bytes = 0;
};

// kNotFound for a device ordinal CUDA does not have; kUnavailable when CUDA fails or when built
// without CUDA.
GpuResult<GpuCudaDevice> DescribeCudaDevice(int device);

// kInvalidArgument for a negative device, load outside (0, 100], a non-positive duration or
// period, or negative memory. Needs no GPU.
GpuStatus ValidateGpuLoadOptions(const GpuLoadOptions& options);

// Runs the load on the calling thread until the duration passes or `stop` becomes true (checked
// at least once per period), then frees what it allocated. kInvalidArgument as above;
// kNotFound for a device ordinal CUDA does not have; kUnavailable when CUDA fails (no driver,
// no GPU, out of memory: the message names the device and the free memory) or when built
// without CUDA. Uses the device exclusively from this thread; other processes share it by the
// driver's time slicing, which is the point.
GpuResult<GpuLoadReport> RunGpuLoad(const GpuLoadOptions& options, const std::atomic<bool>& stop);

// Runs the probe on `device`; `kernels` in [1, 1000000]. Errors as RunGpuLoad.
GpuResult<GpuProbeReport> RunGpuProbe(int device, int kernels);

}  // namespace llmrca::chaos::gpu
