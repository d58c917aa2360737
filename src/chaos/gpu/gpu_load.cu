// gpu_load.h with CUDA. The load is a kernel whose threads do floating-point work until the
// GPU's own nanosecond clock (%globaltimer) says their slice is over, launched with enough
// blocks to fill every SM; each period gets load_pct % of it in such kernels, back to back,
// then sleeps. Slices are timed on the GPU rather than counted in cycles, so a power cap or a
// clock change (the very faults this runs beside) does not stretch the duty cycle.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

#include "chaos/gpu/gpu_load.h"

namespace llmrca::chaos::gpu {
namespace {

constexpr int kThreadsPerBlock = 256;
// The longest single load kernel. The driver time-slices other processes' work between (and,
// on recent GPUs, within) kernels; 10 ms slices also let a stop take effect promptly.
constexpr double kMaxKernelSeconds = 0.010;
// The probe's work per thread: about a millisecond per launch on current data-centre GPUs.
constexpr int kProbeIterations = 1 << 18;
constexpr int kProbeThreadsPerBlock = 128;

__device__ __forceinline__ unsigned long long GlobalTimerNs() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Four independent FMA chains per thread keep the FP32 pipes issuing, not merely the warps
// resident. The final store never happens (the sum is never negative) but the compiler cannot
// know, so the work stays.
__device__ __forceinline__ void Work(float& a, float& b, float& c, float& d) {
  const float m = 0.9999999f;
  const float k = 1e-7f;
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    a = fmaf(a, m, k);
    b = fmaf(b, m, k);
    c = fmaf(c, m, k);
    d = fmaf(d, m, k);
  }
}

__global__ void BusyKernel(unsigned long long duration_ns, float* sink) {
  const unsigned long long start = GlobalTimerNs();
  float a = threadIdx.x * 1e-3f;
  float b = a + 1;
  float c = a + 2;
  float d = a + 3;
  do {
    Work(a, b, c, d);
  } while (GlobalTimerNs() - start < duration_ns);
  if (a + b + c + d < 0) sink[blockIdx.x] = a;
}

__global__ void ProbeKernel(int iterations, float* sink) {
  float a = threadIdx.x * 1e-3f;
  float b = a + 1;
  float c = a + 2;
  float d = a + 3;
  for (int i = 0; i < iterations; i += 32) Work(a, b, c, d);
  if (a + b + c + d < 0) sink[blockIdx.x] = a;
}

GpuError CudaFailure(GpuErrorCode code, const std::string& what, cudaError_t e) {
  return GpuError{
      code, "gpu: " + what + ": CUDA: " + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")",
      0};
}

// NVML's spelling of a GPU UUID: "GPU-" and the 16 bytes as 8-4-4-4-12 lower-case hex digits.
std::string UuidText(const cudaUUID_t& uuid) {
  std::string text = "GPU-";
  char hex[3];
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(uuid.bytes[i]));
    text += hex;
  }
  return text;
}

// Everything one run allocates on the device, released in the destructor (also on errors).
struct DeviceResources {
  void* held = nullptr;
  float* sink = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t begin = nullptr;
  cudaEvent_t end = nullptr;
  ~DeviceResources() {
    if (end != nullptr) cudaEventDestroy(end);
    if (begin != nullptr) cudaEventDestroy(begin);
    if (stream != nullptr) cudaStreamDestroy(stream);
    if (sink != nullptr) cudaFree(sink);
    if (held != nullptr) cudaFree(held);
  }
};

struct Device {
  int ordinal = 0;
  std::string name;
  std::string uuid;
  int sm_count = 0;
  std::int64_t total_memory_bytes = 0;
};

std::string Name(const Device& d) {
  return "CUDA device " + std::to_string(d.ordinal) + " (" + d.name + ")";
}

// Selects the device for this thread and reads what the runs need.
GpuResult<Device> OpenDevice(int ordinal) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return CudaFailure(GpuErrorCode::kUnavailable, "no usable CUDA device", e);
  if (ordinal < 0 || ordinal >= count) {
    return GpuError{GpuErrorCode::kNotFound,
                    "gpu: no CUDA device " + std::to_string(ordinal) + ": CUDA sees " +
                        std::to_string(count) + " device(s)",
                    0};
  }
  e = cudaSetDevice(ordinal);
  if (e != cudaSuccess) {
    return CudaFailure(GpuErrorCode::kUnavailable,
                       "cannot use CUDA device " + std::to_string(ordinal), e);
  }
  cudaDeviceProp prop{};
  e = cudaGetDeviceProperties(&prop, ordinal);
  if (e != cudaSuccess) {
    return CudaFailure(GpuErrorCode::kUnavailable,
                       "cannot read CUDA device " + std::to_string(ordinal), e);
  }
  Device d;
  d.ordinal = ordinal;
  d.name = prop.name;
  d.uuid = UuidText(prop.uuid);
  d.sm_count = prop.multiProcessorCount;
  d.total_memory_bytes = static_cast<std::int64_t>(prop.totalGlobalMem);
  return d;
}

// Returns a failed GpuStatus's error from the enclosing function, as llmrca's
// LLMRCA_RETURN_IF_ERROR does for a Status. (Not `s = ...; if (!s.ok())`: nvcc's front end
// takes the discarded GpuStatus& of operator= for a discarded [[nodiscard]] value.)
#define LLMRCA_GPU_RETURN_IF_ERROR(expr)                   \
  do {                                                     \
    if (const GpuStatus status_ = (expr); !status_.ok()) { \
      return status_.error();                              \
    }                                                      \
  } while (false)

GpuStatus Check(cudaError_t e, const Device& d, const std::string& what) {
  if (e == cudaSuccess) return {};
  return CudaFailure(GpuErrorCode::kUnavailable, what + " on " + Name(d), e);
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

bool GpuLoadBuiltWithCuda() { return true; }

GpuResult<GpuCudaDevice> DescribeCudaDevice(int ordinal) {
  GpuResult<Device> d = OpenDevice(ordinal);
  if (!d.ok()) return d.error();
  return GpuCudaDevice{d->ordinal, d->name, d->uuid, d->sm_count, d->total_memory_bytes};
}

GpuResult<GpuLoadReport> RunGpuLoad(const GpuLoadOptions& o, const std::atomic<bool>& stop) {
  GpuStatus valid = ValidateGpuLoadOptions(o);
  if (!valid.ok()) return valid.error();
  GpuResult<Device> device = OpenDevice(o.device);
  if (!device.ok()) return device.error();
  const Device& d = *device;

  GpuLoadReport report;
  report.device = d.ordinal;
  report.device_name = d.name;
  report.uuid = d.uuid;
  report.sm_count = d.sm_count;

  int blocks_per_sm = 0;
  LLMRCA_GPU_RETURN_IF_ERROR(Check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                                       &blocks_per_sm, BusyKernel, kThreadsPerBlock, 0),
                                   d, "cannot size the load kernel"));
  report.blocks_per_launch = std::max(1, blocks_per_sm) * d.sm_count;

  DeviceResources r;
  if (o.memory_bytes > 0) {
    size_t free_bytes = 0;
    size_t total_bytes = 0;
    LLMRCA_GPU_RETURN_IF_ERROR(
        Check(cudaMemGetInfo(&free_bytes, &total_bytes), d, "cannot read free memory"));
    const cudaError_t e = cudaMalloc(&r.held, static_cast<size_t>(o.memory_bytes));
    if (e != cudaSuccess) {
      r.held = nullptr;
      return CudaFailure(GpuErrorCode::kUnavailable,
                         "cannot hold " + std::to_string(o.memory_bytes) + " bytes on " + Name(d) +
                             " (" + std::to_string(free_bytes) + " of " +
                             std::to_string(total_bytes) + " bytes free)",
                         e);
    }
    // Writing every byte makes the allocation resident, not just reserved.
    LLMRCA_GPU_RETURN_IF_ERROR(Check(cudaMemset(r.held, 0x5a, static_cast<size_t>(o.memory_bytes)),
                                     d, "cannot write the held memory"));
    report.memory_bytes_held = o.memory_bytes;
  }
  LLMRCA_GPU_RETURN_IF_ERROR(
      Check(cudaMalloc(&r.sink, sizeof(float) * report.blocks_per_launch), d, "cannot allocate"));
  LLMRCA_GPU_RETURN_IF_ERROR(Check(cudaStreamCreateWithFlags(&r.stream, cudaStreamNonBlocking), d,
                                   "cannot make a stream"));
  // Blocking-sync events: the host thread sleeps while the GPU works instead of spinning a core.
  LLMRCA_GPU_RETURN_IF_ERROR(
      Check(cudaEventCreateWithFlags(&r.begin, cudaEventBlockingSync), d, "cannot make an event"));
  LLMRCA_GPU_RETURN_IF_ERROR(
      Check(cudaEventCreateWithFlags(&r.end, cudaEventBlockingSync), d, "cannot make an event"));
  LLMRCA_GPU_RETURN_IF_ERROR(Check(cudaDeviceSynchronize(), d, "cannot prepare"));

  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::duration_cast<Clock::duration>(o.period);
  const double busy_per_period = o.period.count() * o.load_pct / 100.0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(o.duration);
  while (!stop.load() && Clock::now() < deadline) {
    const auto period_start = Clock::now();
    const double left = std::chrono::duration<double>(deadline - period_start).count();
    const double busy = std::min(busy_per_period, left);
    const int kernels = std::max(1, static_cast<int>(std::ceil(busy / kMaxKernelSeconds)));
    const auto slice_ns = static_cast<unsigned long long>(busy / kernels * 1e9);
    LLMRCA_GPU_RETURN_IF_ERROR(
        Check(cudaEventRecord(r.begin, r.stream), d, "cannot record an event"));
    for (int k = 0; k < kernels; ++k) {
      BusyKernel<<<report.blocks_per_launch, kThreadsPerBlock, 0, r.stream>>>(slice_ns, r.sink);
    }
    LLMRCA_GPU_RETURN_IF_ERROR(Check(cudaGetLastError(), d, "cannot launch the load kernel"));
    LLMRCA_GPU_RETURN_IF_ERROR(
        Check(cudaEventRecord(r.end, r.stream), d, "cannot record an event"));
    LLMRCA_GPU_RETURN_IF_ERROR(Check(cudaEventSynchronize(r.end), d, "the load kernel failed"));
    float ms = 0;
    LLMRCA_GPU_RETURN_IF_ERROR(
        Check(cudaEventElapsedTime(&ms, r.begin, r.end), d, "cannot time the load kernel"));
    report.kernels_launched += kernels;
    report.busy_s += ms / 1e3;
    // Idle for the rest of the period, in short sleeps so a stop is seen within 10 ms.
    const auto idle_until = std::min(period_start + period, deadline);
    while (!stop.load() && Clock::now() < idle_until) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(idle_until - Clock::now(), std::chrono::milliseconds(10)));
    }
  }
  report.stopped = stop.load() && Clock::now() < deadline;
  report.elapsed_s = SecondsSince(start);
  report.busy_share = report.elapsed_s > 0 ? std::min(1.0, report.busy_s / report.elapsed_s) : 0.0;
  return report;
}

GpuResult<GpuProbeReport> RunGpuProbe(int ordinal, int kernels) {
  if (kernels < 1 || kernels > 1000000) {
    return GpuError{GpuErrorCode::kInvalidArgument,
                    "gpu: probe kernels " + std::to_string(kernels) + " is outside [1, 1000000]",
                    0};
  }
  GpuResult<Device> device = OpenDevice(ordinal);
  if (!device.ok()) return device.error();
  const Device& d = *device;
  DeviceResources r;
  LLMRCA_GPU_RETURN_IF_ERROR(
      Check(cudaMalloc(&r.sink, sizeof(float) * d.sm_count), d, "cannot allocate"));
  LLMRCA_GPU_RETURN_IF_ERROR(Check(cudaStreamCreateWithFlags(&r.stream, cudaStreamNonBlocking), d,
                                   "cannot make a stream"));
  const auto launch = [&] {
    ProbeKernel<<<d.sm_count, kProbeThreadsPerBlock, 0, r.stream>>>(kProbeIterations, r.sink);
    const cudaError_t e = cudaGetLastError();
    return Check(e != cudaSuccess ? e : cudaStreamSynchronize(r.stream), d, "the probe failed");
  };
  LLMRCA_GPU_RETURN_IF_ERROR(launch());  // warm-up: module load and clock ramp-up are not timed
  const auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < kernels; ++k) {
    LLMRCA_GPU_RETURN_IF_ERROR(launch());
  }
  GpuProbeReport report;
  report.device = d.ordinal;
  report.device_name = d.name;
  report.kernels = kernels;
  report.elapsed_s = SecondsSince(start);
  report.mean_kernel_ms = report.elapsed_s / kernels * 1e3;
  return report;
}

}  // namespace llmrca::chaos::gpu
