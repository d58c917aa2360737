// NVML (the NVIDIA Management Library, shipped with the NVIDIA driver) loaded at run time with
// dlopen, so llmrca builds and runs on machines without a driver and tests can load a fake.
// It reads devices (name, UUID, power limits, power draw, utilisation) and sets a power limit,
// the study's GPU fault (`nvidia-smi -pl 150`, reference/chaos-and-telemetry.md 1.7). A power
// cap is planned first (PlanPowerCap: the exact changes, for --dry-run), then applied and
// restored to the limit read before the change. NVML works in milliwatts; this API in watts
// except where a name says _mw. Plain C++20 plus libdl (see gpu_error.h for why).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chaos/gpu/gpu_error.h"

namespace llmrca::chaos::gpu {

// The library Nvml::Open loads by default; the dynamic loader's search path finds it.
inline constexpr const char* kNvmlDefaultLibrary = "libnvidia-ml.so.1";
// An environment variable naming another library (a path), e.g. a fake for tests.
inline constexpr const char* kNvmlLibraryEnv = "LLMRCA_NVML_LIBRARY";

// The library to load: `explicit_path` when not empty, else $LLMRCA_NVML_LIBRARY when set and
// not empty, else libnvidia-ml.so.1.
std::string ResolveNvmlLibrary(const std::string& explicit_path);

// NVML's symbolic name of a return code ("NVML_ERROR_NO_PERMISSION"), or "NVML error <n>" for
// a code this file does not know.
std::string NvmlReturnName(int nvml_return);

// "150", "150.5", "0.001": milliwatts as watts, without trailing zeros.
std::string FormatWatts(unsigned milliwatts);

// One device as NVML sees it. Readings a device does not support (NVML_ERROR_NOT_SUPPORTED,
// e.g. power on some boards or utilisation on a MIG-enabled GPU) are nullopt.
struct GpuDeviceInfo {
  unsigned index = 0;                     // NVML's index (PCI bus order, as nvidia-smi -i)
  std::string name;                       // "NVIDIA H100 80GB HBM3"
  std::string uuid;                       // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  std::optional<double> power_limit_w;    // the power management limit in force now
  std::optional<double> default_limit_w;  // the limit the driver starts with
  std::optional<double> min_limit_w;      // the range SetPowerLimit accepts
  std::optional<double> max_limit_w;
  std::optional<double> power_w;  // the board's power draw now
  // Share of the last sample period (1/6 s to 1 s, by product) with a kernel running, and with
  // device memory being read or written (nvmlUtilization_t).
  std::optional<unsigned> gpu_util_pct;
  std::optional<unsigned> memory_util_pct;
};

// A loaded and initialised NVML. Open() loads the library, resolves every symbol it uses and
// calls nvmlInit_v2; Close() (or the destructor) calls nvmlShutdown and unloads it. Calls may
// come from several threads at once (NVML is thread-safe), but not concurrently with Close().
// Device indices are NVML's. Errors name the device ("GPU 0 (NVIDIA H100 ...)") and carry
// NVML's own error string and code.
class Nvml {
 public:
  // `library`: see ResolveNvmlLibrary. kNotFound when the library cannot be loaded (the message
  // names the path and says that NVML comes with the NVIDIA driver) or lacks a symbol;
  // kUnavailable when nvmlInit_v2 fails (e.g. NVML_ERROR_DRIVER_NOT_LOADED), kPermissionDenied
  // when it fails with NVML_ERROR_NO_PERMISSION (no access to the device nodes).
  static GpuResult<std::unique_ptr<Nvml>> Open(const std::string& library = "");

  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // Shuts NVML down and unloads the library; later calls fail with kUnavailable. Idempotent.
  // kUnavailable when nvmlShutdown reports an error (the library is unloaded anyway).
  GpuStatus Close();

  // The path or name that was loaded.
  const std::string& library() const { return library_; }

  GpuResult<unsigned> DeviceCount() const;
  // kNotFound for an index at or past DeviceCount(); kUnavailable when NVML fails on a reading
  // the device should support.
  GpuResult<GpuDeviceInfo> DeviceInfo(unsigned index) const;
  // Every device, in index order.
  GpuResult<std::vector<GpuDeviceInfo>> Devices() const;
  // The device's UUID alone (no other readings).
  GpuResult<std::string> DeviceUuid(unsigned index) const;
  // The index of the device with this UUID (any case); kNotFound when none has it.
  GpuResult<unsigned> FindByUuid(const std::string& uuid) const;

  // The power management limit in force, in milliwatts.
  GpuResult<unsigned> PowerLimitMilliwatts(unsigned index) const;

  // Sets the device's power management limit (needs root). The value is checked against the
  // device's constraints first: kInvalidArgument names the range ("accepts 100 W to 400 W") for
  // a value outside it, and for a non-positive or non-finite one. NVML's refusals carry its
  // error string and code: kPermissionDenied for NVML_ERROR_NO_PERMISSION (not root),
  // kUnavailable otherwise (NOT_SUPPORTED, GPU_IS_LOST, ...).
  GpuStatus SetPowerLimit(unsigned index, double watts);
  GpuStatus SetPowerLimitMilliwatts(unsigned index, unsigned milliwatts);

 private:
  struct Api;        // the resolved NVML entry points
  struct DeviceRef;  // a device's NVML handle, name and UUID
  Nvml(std::string library, void* handle, std::unique_ptr<Api> api);
  // kNotFound past the last device; kUnavailable when NVML fails.
  GpuResult<DeviceRef> Device(unsigned index) const;

  std::string library_;
  void* handle_ = nullptr;  // from dlopen; null once closed
  std::unique_ptr<Api> api_;
};

// A power cap planned but not yet applied: everything needed to apply it, undo it and describe
// it, read from NVML at planning time.
struct PowerCapPlan {
  unsigned device = 0;
  std::string name;
  std::string uuid;  // ApplyPowerCap and RestorePowerCap check the index still names this GPU
  unsigned previous_limit_mw = 0;  // the limit read before the change: what restoring sets back
  unsigned target_limit_mw = 0;
  unsigned min_limit_mw = 0;  // the device's constraints, for the record
  unsigned max_limit_mw = 0;
  unsigned default_limit_mw = 0;  // 0 when the device reports none
};

// Reads the device's limits and checks `watts` against them. kNotFound for a bad index,
// kInvalidArgument for watts outside the constraints (the message names the range).
GpuResult<PowerCapPlan> PlanPowerCap(const Nvml& nvml, unsigned device, double watts);

// The exact changes, in order, one sentence each:
//   "set the power limit of GPU 0 (NAME, UUID) from 400 W to 150 W"
//   "restore the power limit of GPU 0 (NAME, UUID) to 400 W"
std::vector<std::string> PowerCapActions(const PowerCapPlan& plan);

// The command that undoes the cap by hand or from a journal after a crash:
// {"nvidia-smi", "-i", UUID, "-pl", "400"}.
std::vector<std::string> PowerCapRestoreCommand(const PowerCapPlan& plan);

// Sets the planned limit and reads it back. Refuses (kUnavailable, nothing changed) when the
// index no longer names the planned GPU or its limit moved since planning, as the restore value
// would be stale. If the read-back differs from the target, restores the previous limit and
// returns kUnavailable. Errors from SetPowerLimitMilliwatts pass through.
GpuStatus ApplyPowerCap(Nvml& nvml, const PowerCapPlan& plan);

// Sets the limit back to plan.previous_limit_mw and reads it back. Safe to call when the cap
// was never applied (it sets the limit that is already in force).
GpuStatus RestorePowerCap(Nvml& nvml, const PowerCapPlan& plan);

}  // namespace llmrca::chaos::gpu
