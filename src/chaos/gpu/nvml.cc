#include "chaos/gpu/nvml.h"

#include <dlfcn.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <type_traits>
#include <utility>

namespace llmrca::chaos::gpu {
namespace {

// The few NVML declarations used, written from NVIDIA's public NVML API reference (no nvml.h
// is installed where llmrca builds). nvmlReturn_t is a C enum (int-sized, NVML_SUCCESS = 0);
// nvmlDevice_t an opaque pointer; every power value is in milliwatts.
using NvmlReturn = int;
using NvmlDevice = struct NvmlDeviceOpaque*;
struct NvmlUtilization {  // nvmlUtilization_t
  unsigned int gpu;
  unsigned int memory;
};

constexpr NvmlReturn kNvmlSuccess = 0;
constexpr NvmlReturn kNvmlErrorNotSupported = 3;
constexpr NvmlReturn kNvmlErrorNoPermission = 4;
// NVML_DEVICE_NAME_V2_BUFFER_SIZE and NVML_DEVICE_UUID_V2_BUFFER_SIZE (both 96): large enough
// for nvmlDeviceGetName and nvmlDeviceGetUUID.
constexpr unsigned kNvmlTextBufferSize = 96;

std::string Describe(const GpuDeviceInfo& d) {
  return "GPU " + std::to_string(d.index) + " (" + d.name + ", " + d.uuid + ")";
}

GpuError Error(GpuErrorCode code, std::string message, int nvml_return = 0) {
  return GpuError{code, std::move(message), nvml_return};
}

}  // namespace

struct Nvml::Api {
  NvmlReturn (*init)();
  NvmlReturn (*shutdown)();
  NvmlReturn (*get_count)(unsigned int*);
  NvmlReturn (*get_handle)(unsigned int, NvmlDevice*);
  NvmlReturn (*get_name)(NvmlDevice, char*, unsigned int);
  NvmlReturn (*get_uuid)(NvmlDevice, char*, unsigned int);
  NvmlReturn (*get_limit)(NvmlDevice, unsigned int*);
  NvmlReturn (*get_constraints)(NvmlDevice, unsigned int*, unsigned int*);
  NvmlReturn (*get_default_limit)(NvmlDevice, unsigned int*);
  NvmlReturn (*set_limit)(NvmlDevice, unsigned int);
  NvmlReturn (*get_power)(NvmlDevice, unsigned int*);
  NvmlReturn (*get_utilization)(NvmlDevice, NvmlUtilization*);
  const char* (*error_string)(NvmlReturn);

  // "NVML: Insufficient Permissions (NVML_ERROR_NO_PERMISSION, 4)".
  std::string Explain(NvmlReturn r) const {
    const char* text = error_string != nullptr ? error_string(r) : nullptr;
    return std::string("NVML: ") + (text != nullptr ? text : "no error string") + " (" +
           NvmlReturnName(r) + ", " + std::to_string(r) + ")";
  }
  GpuError Failure(const std::string& what, NvmlReturn r) const {
    return Error(
        r == kNvmlErrorNoPermission ? GpuErrorCode::kPermissionDenied : GpuErrorCode::kUnavailable,
        "gpu: " + what + ": " + Explain(r), r);
  }
};

std::string ResolveNvmlLibrary(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  const char* env = std::getenv(kNvmlLibraryEnv);
  if (env != nullptr && *env != '\0') return env;
  return kNvmlDefaultLibrary;
}

std::string NvmlReturnName(int r) {
  // NVML's nvmlReturn_t values, from its API reference.
  static constexpr const char* kNames[] = {
      "NVML_SUCCESS",
      "NVML_ERROR_UNINITIALIZED",
      "NVML_ERROR_INVALID_ARGUMENT",
      "NVML_ERROR_NOT_SUPPORTED",
      "NVML_ERROR_NO_PERMISSION",
      "NVML_ERROR_ALREADY_INITIALIZED",
      "NVML_ERROR_NOT_FOUND",
      "NVML_ERROR_INSUFFICIENT_SIZE",
      "NVML_ERROR_INSUFFICIENT_POWER",
      "NVML_ERROR_DRIVER_NOT_LOADED",
      "NVML_ERROR_TIMEOUT",
      "NVML_ERROR_IRQ_ISSUE",
      "NVML_ERROR_LIBRARY_NOT_FOUND",
      "NVML_ERROR_FUNCTION_NOT_FOUND",
      "NVML_ERROR_CORRUPTED_INFOROM",
      "NVML_ERROR_GPU_IS_LOST",
      "NVML_ERROR_RESET_REQUIRED",
      "NVML_ERROR_OPERATING_SYSTEM",
      "NVML_ERROR_LIB_RM_VERSION_MISMATCH",
      "NVML_ERROR_IN_USE",
      "NVML_ERROR_MEMORY",
      "NVML_ERROR_NO_DATA",
  };
  if (r >= 0 && r < static_cast<int>(std::size(kNames))) return kNames[r];
  if (r == 999) return "NVML_ERROR_UNKNOWN";
  return "NVML error " + std::to_string(r);
}

std::string FormatWatts(unsigned milliwatts) {
  std::string text = std::to_string(milliwatts / 1000);
  unsigned frac = milliwatts % 1000;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 3 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    text += "." + digits;
  }
  return text;
}

GpuResult<std::unique_ptr<Nvml>> Nvml::Open(const std::string& library) {
  const std::string path = ResolveNvmlLibrary(library);
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Error(GpuErrorCode::kNotFound,
                 "gpu: cannot load NVML from '" + path + "': " + (why ? why : "unknown error") +
                     ": NVML comes with the NVIDIA driver; install the driver, or name the "
                     "library with " +
                     kNvmlLibraryEnv);
  }
  auto api = std::make_unique<Api>();
  std::string missing;
  const auto resolve = [&](auto& fn, const char* symbol) {
    void* p = ::dlsym(handle, symbol);
    if (p == nullptr && missing.empty()) missing = symbol;
    // POSIX guarantees a data pointer from dlsym converts to a function pointer.
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  resolve(api->init, "nvmlInit_v2");
  resolve(api->shutdown, "nvmlShutdown");
  resolve(api->get_count, "nvmlDeviceGetCount_v2");
  resolve(api->get_handle, "nvmlDeviceGetHandleByIndex_v2");
  resolve(api->get_name, "nvmlDeviceGetName");
  resolve(api->get_uuid, "nvmlDeviceGetUUID");
  resolve(api->get_limit, "nvmlDeviceGetPowerManagementLimit");
  resolve(api->get_constraints, "nvmlDeviceGetPowerManagementLimitConstraints");
  resolve(api->get_default_limit, "nvmlDeviceGetPowerManagementDefaultLimit");
  resolve(api->set_limit, "nvmlDeviceSetPowerManagementLimit");
  resolve(api->get_power, "nvmlDeviceGetPowerUsage");
  resolve(api->get_utilization, "nvmlDeviceGetUtilizationRates");
  resolve(api->error_string, "nvmlErrorString");
  if (!missing.empty()) {
    ::dlclose(handle);
    return Error(GpuErrorCode::kNotFound, "gpu: '" + path + "' is not a usable NVML: it has no " +
                                              missing + " (driver too old?)");
  }
  const NvmlReturn r = api->init();
  if (r != kNvmlSuccess) {
    GpuError e = api->Failure("cannot initialise NVML from '" + path + "'", r);
    ::dlclose(handle);
    return e;
  }
  return std::unique_ptr<Nvml>(new Nvml(path, handle, std::move(api)));
}

Nvml::Nvml(std::string library, void* handle, std::unique_ptr<Api> api)
    : library_(std::move(library)), handle_(handle), api_(std::move(api)) {}

Nvml::~Nvml() { (void)Close(); }

GpuStatus Nvml::Close() {
  if (handle_ == nullptr) return {};
  const NvmlReturn r = api_->shutdown();
  GpuStatus result;
  if (r != kNvmlSuccess) result = api_->Failure("nvmlShutdown failed", r);
  ::dlclose(handle_);
  handle_ = nullptr;
  api_.reset();
  return result;
}

namespace {
GpuError Closed() { return Error(GpuErrorCode::kUnavailable, "gpu: NVML is closed"); }
}  // namespace

GpuResult<unsigned> Nvml::DeviceCount() const {
  if (handle_ == nullptr) return Closed();
  unsigned int count = 0;
  const NvmlReturn r = api_->get_count(&count);
  if (r != kNvmlSuccess) return api_->Failure("cannot count GPUs", r);
  return count;
}

// The handle, name and UUID of a device: all that setting a limit needs, so a restore does
// not depend on readings (power, utilisation) that may fail on their own.
struct Nvml::DeviceRef {
  NvmlDevice handle = nullptr;
  unsigned index = 0;
  std::string name;
  std::string uuid;
  std::string Label() const {
    return "GPU " + std::to_string(index) + " (" + name + ", " + uuid + ")";
  }
};

GpuResult<Nvml::DeviceRef> Nvml::Device(unsigned index) const {
  GpuResult<unsigned> count = DeviceCount();
  if (!count.ok()) return count.error();
  if (index >= *count) {
    return Error(GpuErrorCode::kNotFound,
                 "gpu: no GPU " + std::to_string(index) + ": NVML sees " + std::to_string(*count) +
                     " GPU(s)" + (*count > 0 ? " (0.." + std::to_string(*count - 1) + ")" : ""));
  }
  DeviceRef d;
  d.index = index;
  NvmlReturn r = api_->get_handle(index, &d.handle);
  if (r != kNvmlSuccess) return api_->Failure("cannot open GPU " + std::to_string(index), r);
  char text[kNvmlTextBufferSize] = {};
  r = api_->get_name(d.handle, text, kNvmlTextBufferSize);
  if (r != kNvmlSuccess) {
    return api_->Failure("cannot read the name of GPU " + std::to_string(index), r);
  }
  d.name.assign(text, ::strnlen(text, sizeof text));
  std::memset(text, 0, sizeof text);
  r = api_->get_uuid(d.handle, text, kNvmlTextBufferSize);
  if (r != kNvmlSuccess) {
    return api_->Failure("cannot read the UUID of GPU " + std::to_string(index), r);
  }
  d.uuid.assign(text, ::strnlen(text, sizeof text));
  return d;
}

GpuResult<std::string> Nvml::DeviceUuid(unsigned index) const {
  GpuResult<DeviceRef> d = Device(index);
  if (!d.ok()) return d.error();
  return d->uuid;
}

GpuResult<GpuDeviceInfo> Nvml::DeviceInfo(unsigned index) const {
  GpuResult<DeviceRef> ref = Device(index);
  if (!ref.ok()) return ref.error();
  const NvmlDevice dev = ref->handle;
  GpuDeviceInfo info;
  info.index = index;
  info.name = ref->name;
  info.uuid = ref->uuid;

  // Optional readings: NOT_SUPPORTED leaves them empty, anything else is an error.
  const auto read = [&](const char* what, NvmlReturn rr, auto store) -> GpuStatus {
    if (rr == kNvmlSuccess) {
      store();
      return {};
    }
    if (rr == kNvmlErrorNotSupported) return {};
    return api_->Failure(std::string("cannot read the ") + what + " of " + ref->Label(), rr);
  };
  unsigned int mw = 0;
  unsigned int min_mw = 0;
  unsigned int max_mw = 0;
  NvmlUtilization util{};
  GpuStatus s =
      read("power limit", api_->get_limit(dev, &mw), [&] { info.power_limit_w = mw / 1000.0; });
  if (!s.ok()) return s.error();
  s = read("default power limit", api_->get_default_limit(dev, &mw),
           [&] { info.default_limit_w = mw / 1000.0; });
  if (!s.ok()) return s.error();
  s = read("power limit constraints", api_->get_constraints(dev, &min_mw, &max_mw), [&] {
    info.min_limit_w = min_mw / 1000.0;
    info.max_limit_w = max_mw / 1000.0;
  });
  if (!s.ok()) return s.error();
  s = read("power draw", api_->get_power(dev, &mw), [&] { info.power_w = mw / 1000.0; });
  if (!s.ok()) return s.error();
  s = read("utilisation", api_->get_utilization(dev, &util), [&] {
    info.gpu_util_pct = util.gpu;
    info.memory_util_pct = util.memory;
  });
  if (!s.ok()) return s.error();
  return info;
}

GpuResult<std::vector<GpuDeviceInfo>> Nvml::Devices() const {
  GpuResult<unsigned> count = DeviceCount();
  if (!count.ok()) return count.error();
  std::vector<GpuDeviceInfo> devices;
  for (unsigned i = 0; i < *count; ++i) {
    GpuResult<GpuDeviceInfo> d = DeviceInfo(i);
    if (!d.ok()) return d.error();
    devices.push_back(std::move(*d));
  }
  return devices;
}

GpuResult<unsigned> Nvml::FindByUuid(const std::string& uuid) const {
  GpuResult<unsigned> count = DeviceCount();
  if (!count.ok()) return count.error();
  // Compared without regard to case: NVML writes lower-case hex, other tools may not.
  const auto lower = [](std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  for (unsigned i = 0; i < *count; ++i) {
    GpuResult<std::string> u = DeviceUuid(i);
    if (!u.ok()) return u.error();
    if (lower(*u) == lower(uuid)) return i;
  }
  return Error(GpuErrorCode::kNotFound, "gpu: no GPU has UUID " + uuid);
}

GpuResult<unsigned> Nvml::PowerLimitMilliwatts(unsigned index) const {
  GpuResult<DeviceRef> d = Device(index);
  if (!d.ok()) return d.error();
  unsigned int mw = 0;
  const NvmlReturn r = api_->get_limit(d->handle, &mw);
  if (r != kNvmlSuccess) return api_->Failure("cannot read the power limit of " + d->Label(), r);
  return mw;
}

GpuStatus Nvml::SetPowerLimit(unsigned index, double watts) {
  // Non-finite, non-positive and absurd values never reach the rounding below.
  constexpr double kMaxWatts = std::numeric_limits<unsigned>::max() / 1000.0;
  if (!std::isfinite(watts) || watts <= 0 || watts > kMaxWatts) {
    return Error(GpuErrorCode::kInvalidArgument,
                 "gpu: power limit " + std::to_string(watts) + " W is not a positive wattage");
  }
  return SetPowerLimitMilliwatts(index, static_cast<unsigned>(std::llround(watts * 1000)));
}

GpuStatus Nvml::SetPowerLimitMilliwatts(unsigned index, unsigned milliwatts) {
  GpuResult<DeviceRef> d = Device(index);
  if (!d.ok()) return d.error();
  const NvmlDevice dev = d->handle;
  const std::string who = d->Label();
  unsigned int min_mw = 0;
  unsigned int max_mw = 0;
  NvmlReturn r = api_->get_constraints(dev, &min_mw, &max_mw);
  if (r != kNvmlSuccess) {
    return api_->Failure(
        "cannot read the power limit range of " + who +
            (r == kNvmlErrorNotSupported ? " (this GPU does not support power management limits)"
                                         : ""),
        r);
  }
  if (milliwatts < min_mw || milliwatts > max_mw) {
    return Error(GpuErrorCode::kInvalidArgument,
                 "gpu: power limit " + FormatWatts(milliwatts) + " W is out of range for " + who +
                     ": it accepts " + FormatWatts(min_mw) + " W to " + FormatWatts(max_mw) + " W");
  }
  r = api_->set_limit(dev, milliwatts);
  if (r != kNvmlSuccess) {
    GpuError e = api_->Failure(
        "cannot set the power limit of " + who + " to " + FormatWatts(milliwatts) + " W", r);
    if (r == kNvmlErrorNoPermission) {
      e.message += ": setting a power limit needs root (run as root or with sudo)";
    }
    return e;
  }
  return {};
}

GpuResult<PowerCapPlan> PlanPowerCap(const Nvml& nvml, unsigned device, double watts) {
  constexpr double kMaxWatts = std::numeric_limits<unsigned>::max() / 1000.0;
  if (!std::isfinite(watts) || watts <= 0 || watts > kMaxWatts) {
    return Error(GpuErrorCode::kInvalidArgument,
                 "gpu: power cap " + std::to_string(watts) + " W is not a positive wattage");
  }
  GpuResult<GpuDeviceInfo> info = nvml.DeviceInfo(device);
  if (!info.ok()) return info.error();
  const GpuDeviceInfo& d = *info;
  if (!d.power_limit_w || !d.min_limit_w || !d.max_limit_w) {
    return Error(GpuErrorCode::kUnavailable, "gpu: " + Describe(d) +
                                                 " does not support power management limits (NVML "
                                                 "reports NVML_ERROR_NOT_SUPPORTED)");
  }
  PowerCapPlan plan;
  plan.device = device;
  plan.name = d.name;
  plan.uuid = d.uuid;
  // The info holds exact milliwatts / 1000 (NVML's units), so rounding recovers them.
  plan.previous_limit_mw = static_cast<unsigned>(std::llround(*d.power_limit_w * 1000));
  plan.min_limit_mw = static_cast<unsigned>(std::llround(*d.min_limit_w * 1000));
  plan.max_limit_mw = static_cast<unsigned>(std::llround(*d.max_limit_w * 1000));
  plan.default_limit_mw =
      d.default_limit_w ? static_cast<unsigned>(std::llround(*d.default_limit_w * 1000)) : 0;
  plan.target_limit_mw = static_cast<unsigned>(std::llround(watts * 1000));
  if (plan.target_limit_mw < plan.min_limit_mw || plan.target_limit_mw > plan.max_limit_mw) {
    return Error(GpuErrorCode::kInvalidArgument,
                 "gpu: power cap " + FormatWatts(plan.target_limit_mw) + " W is out of range for " +
                     Describe(d) + ": it accepts " + FormatWatts(plan.min_limit_mw) + " W to " +
                     FormatWatts(plan.max_limit_mw) + " W");
  }
  return plan;
}

namespace {
std::string Describe(const PowerCapPlan& p) {
  return "GPU " + std::to_string(p.device) + " (" + p.name + ", " + p.uuid + ")";
}

// Checks the index still names the planned GPU and returns its current limit.
GpuResult<unsigned> CheckPlannedDevice(const Nvml& nvml, const PowerCapPlan& plan) {
  GpuResult<std::string> uuid = nvml.DeviceUuid(plan.device);
  if (!uuid.ok()) return uuid.error();
  if (*uuid != plan.uuid) {
    return Error(GpuErrorCode::kUnavailable, "gpu: GPU " + std::to_string(plan.device) +
                                                 " is now " + *uuid + ", not the planned " +
                                                 plan.uuid + "; nothing changed");
  }
  return nvml.PowerLimitMilliwatts(plan.device);
}
}  // namespace

std::vector<std::string> PowerCapActions(const PowerCapPlan& plan) {
  return {"set the power limit of " + Describe(plan) + " from " +
              FormatWatts(plan.previous_limit_mw) + " W to " + FormatWatts(plan.target_limit_mw) +
              " W",
          "restore the power limit of " + Describe(plan) + " to " +
              FormatWatts(plan.previous_limit_mw) + " W"};
}

std::vector<std::string> PowerCapRestoreCommand(const PowerCapPlan& plan) {
  return {"nvidia-smi", "-i", plan.uuid, "-pl", FormatWatts(plan.previous_limit_mw)};
}

GpuStatus ApplyPowerCap(Nvml& nvml, const PowerCapPlan& plan) {
  GpuResult<unsigned> now = CheckPlannedDevice(nvml, plan);
  if (!now.ok()) return now.error();
  if (*now != plan.previous_limit_mw) {
    return Error(GpuErrorCode::kUnavailable,
                 "gpu: the power limit of " + Describe(plan) + " moved from " +
                     FormatWatts(plan.previous_limit_mw) + " W to " + FormatWatts(*now) +
                     " W since the cap was planned; nothing changed, plan again");
  }
  GpuStatus s = nvml.SetPowerLimitMilliwatts(plan.device, plan.target_limit_mw);
  if (!s.ok()) return s;
  GpuResult<unsigned> after = nvml.PowerLimitMilliwatts(plan.device);
  if (after.ok() && *after == plan.target_limit_mw) return {};
  // The cap did not take as asked: put the old limit back rather than leave an unknown one.
  GpuStatus undo = nvml.SetPowerLimitMilliwatts(plan.device, plan.previous_limit_mw);
  std::string message = "gpu: the power limit of " + Describe(plan) + " reads " +
                        (after.ok() ? FormatWatts(*after) + " W" : after.error().message) +
                        " after setting " + FormatWatts(plan.target_limit_mw) + " W";
  message += undo.ok() ? "; restored " + FormatWatts(plan.previous_limit_mw) + " W"
                       : "; restoring failed too: " + undo.error().message;
  return Error(GpuErrorCode::kUnavailable, std::move(message));
}

GpuStatus RestorePowerCap(Nvml& nvml, const PowerCapPlan& plan) {
  GpuResult<unsigned> now = CheckPlannedDevice(nvml, plan);
  if (!now.ok()) return now.error();
  GpuStatus s = nvml.SetPowerLimitMilliwatts(plan.device, plan.previous_limit_mw);
  if (!s.ok()) return s;
  GpuResult<unsigned> after = nvml.PowerLimitMilliwatts(plan.device);
  if (!after.ok()) return after.error();
  if (*after != plan.previous_limit_mw) {
    return Error(GpuErrorCode::kUnavailable,
                 "gpu: the power limit of " + Describe(plan) + " reads " + FormatWatts(*after) +
                     " W after restoring " + FormatWatts(plan.previous_limit_mw) + " W");
  }
  return {};
}

}  // namespace llmrca::chaos::gpu
