// A fake NVML for tests: a shared library exporting the NVML entry points llmrca's Nvml loads,
// with two fake GPUs, so the power-cap path is tested without touching a real GPU. Tests point
// LLMRCA_NVML_LIBRARY (or Nvml::Open's argument) at it. Environment, read on every call:
//   LLMRCA_FAKE_NVML_STATE       a file holding the power limits, so a test (or a child process
//                                such as llmrca-gpu-chaos) can check a cap was set and restored:
//                                  limit <index> <milliwatts>   the limit in force, per GPU
//                                  set <index> <milliwatts>     every successful set, in order
//                                Missing file: the defaults below. Unset: limits live in memory.
//   LLMRCA_FAKE_NVML_FAIL_SET    an NVML return code for nvmlDeviceSetPowerManagementLimit to
//                                return (4 = NVML_ERROR_NO_PERMISSION, as for a non-root user)
//   LLMRCA_FAKE_NVML_FAIL_INIT   an NVML return code for nvmlInit_v2 (9 = DRIVER_NOT_LOADED)
//   LLMRCA_FAKE_NVML_IGNORE_SET  "1": the set call reports success but changes nothing
// The devices (milliwatts):
//   0 "llmrca fake GPU 0"  limit 350000 (default 350000), range 100000..400000, draw 123456,
//                          utilisation gpu 37 % memory 12 %
//   1 "llmrca fake GPU 1"  limit 300000 (default 300000), range 150000..300000, draw 99000,
//                          utilisation NOT_SUPPORTED (as on a MIG-enabled GPU)
// Only for tests: its state is process-global, as the real library's is.

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

// NVML return codes used here (nvmlReturn_t, from NVIDIA's NVML API reference).
constexpr int kSuccess = 0;
constexpr int kUninitialized = 1;
constexpr int kInvalidArgument = 2;
constexpr int kNotSupported = 3;
constexpr int kInsufficientSize = 7;

struct FakeGpu {
  const char* name;
  const char* uuid;
  unsigned default_mw;
  unsigned min_mw;
  unsigned max_mw;
  unsigned power_mw;
  bool has_utilization;
  unsigned gpu_util;
  unsigned memory_util;
};

constexpr FakeGpu kGpus[] = {
    {"llmrca fake GPU 0", "GPU-fa4e0000-0000-4000-8000-000000000000", 350000, 100000, 400000,
     123456, true, 37, 12},
    {"llmrca fake GPU 1", "GPU-fa4e0001-0000-4000-8000-000000000001", 300000, 150000, 300000, 99000,
     false, 0, 0},
};
constexpr unsigned kGpuCount = sizeof kGpus / sizeof kGpus[0];

struct State {
  unsigned limit_mw[kGpuCount];
  std::vector<std::pair<unsigned, unsigned>> sets;  // (index, milliwatts), oldest first
};

// Process-global, like the real library's: the init count and the in-memory limits.
int g_init_count = 0;
State g_memory_state{{kGpus[0].default_mw, kGpus[1].default_mw}, {}};

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

State Load() {
  const char* path = Env("LLMRCA_FAKE_NVML_STATE");
  if (path == nullptr) return g_memory_state;
  State s{{kGpus[0].default_mw, kGpus[1].default_mw}, {}};
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind;
    unsigned index = 0;
    unsigned mw = 0;
    if (!(fields >> kind >> index >> mw) || index >= kGpuCount) continue;
    if (kind == "limit") s.limit_mw[index] = mw;
    if (kind == "set") s.sets.emplace_back(index, mw);
  }
  return s;
}

void Save(const State& s) {
  const char* path = Env("LLMRCA_FAKE_NVML_STATE");
  if (path == nullptr) {
    g_memory_state = s;
    return;
  }
  std::ofstream out(path, std::ios::trunc);
  for (unsigned i = 0; i < kGpuCount; ++i) out << "limit " << i << ' ' << s.limit_mw[i] << '\n';
  for (const auto& [index, mw] : s.sets) out << "set " << index << ' ' << mw << '\n';
}

// Device handles are pointers to the entries of kGpus.
const FakeGpu* Gpu(void* device) {
  for (const FakeGpu& g : kGpus) {
    if (device == &g) return &g;
  }
  return nullptr;
}
unsigned IndexOf(const FakeGpu* g) { return static_cast<unsigned>(g - kGpus); }

int CopyText(const char* text, char* out, unsigned length) {
  if (out == nullptr) return kInvalidArgument;
  if (std::strlen(text) + 1 > length) return kInsufficientSize;
  std::memcpy(out, text, std::strlen(text) + 1);
  return kSuccess;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int nvmlInit_v2() {
  if (const char* fail = Env("LLMRCA_FAKE_NVML_FAIL_INIT")) return std::atoi(fail);
  ++g_init_count;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlShutdown() {
  if (g_init_count == 0) return kUninitialized;
  --g_init_count;
  return kSuccess;
}

__attribute__((visibility("default"))) const char* nvmlErrorString(int result) {
  switch (result) {
    case 0:
      return "Success";
    case 1:
      return "Uninitialized";
    case 2:
      return "Invalid Argument";
    case 3:
      return "Not Supported";
    case 4:
      return "Insufficient Permissions";
    case 6:
      return "Not Found";
    case 7:
      return "Insufficient Size";
    case 9:
      return "Driver Not Loaded";
    case 15:
      return "GPU is lost";
    default:
      return "Unknown Error";
  }
}

__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned* count) {
  if (g_init_count == 0) return kUninitialized;
  if (count == nullptr) return kInvalidArgument;
  *count = kGpuCount;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned index,
                                                                         void** device) {
  if (g_init_count == 0) return kUninitialized;
  if (device == nullptr || index >= kGpuCount) return kInvalidArgument;
  *device = const_cast<FakeGpu*>(&kGpus[index]);
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetName(void* device, char* name,
                                                             unsigned length) {
  const FakeGpu* g = Gpu(device);
  if (g_init_count == 0) return kUninitialized;
  if (g == nullptr) return kInvalidArgument;
  return CopyText(g->name, name, length);
}

__attribute__((visibility("default"))) int nvmlDeviceGetUUID(void* device, char* uuid,
                                                             unsigned length) {
  const FakeGpu* g = Gpu(device);
  if (g_init_count == 0) return kUninitialized;
  if (g == nullptr) return kInvalidArgument;
  return CopyText(g->uuid, uuid, length);
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerManagementLimit(void* device,
                                                                             unsigned* limit) {
  const FakeGpu* g = Gpu(device);
  if (g_init_count == 0) return kUninitialized;
  if (g == nullptr || limit == nullptr) return kInvalidArgument;
  *limit = Load().limit_mw[IndexOf(g)];
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerManagementLimitConstraints(
    void* device, unsigned* min_limit, unsigned* max_limit) {
  const FakeGpu* g = Gpu(device);
  if (g_init_count == 0) return kUninitialized;
  if (g == nullptr || min_limit == nullptr || max_limit == nullptr) return kInvalidArgument;
  *min_limit = g->min_mw;
  *max_limit = g->max_mw;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerManagementDefaultLimit(
    void* device, unsigned* limit) {
  const FakeGpu* g = Gpu(device);
  if (g_init_count == 0) return kUninitialized;
  if (g == nullptr || limit == nullptr) return kInvalidArgument;
  *limit = g->default_mw;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceSetPowerManagementLimit(void* device,
                                                                             unsigned limit) {
  const FakeGpu* g = Gpu(device);
  if (g_init_count == 0) return kUninitialized;
  if (g == nullptr || limit < g->min_mw || limit > g->max_mw) return kInvalidArgument;
  if (const char* fail = Env("LLMRCA_FAKE_NVML_FAIL_SET")) return std::atoi(fail);
  const char* ignore = Env("LLMRCA_FAKE_NVML_IGNORE_SET");
  if (ignore != nullptr && std::strcmp(ignore, "1") == 0) return kSuccess;
  State s = Load();
  s.limit_mw[IndexOf(g)] = limit;
  s.sets.emplace_back(IndexOf(g), limit);
  Save(s);
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerUsage(void* device, unsigned* power) {
  const FakeGpu* g = Gpu(device);
  if (g_init_count == 0) return kUninitialized;
  if (g == nullptr || power == nullptr) return kInvalidArgument;
  *power = g->power_mw;
  return kSuccess;
}

// nvmlUtilization_t: {unsigned gpu; unsigned memory;}
struct FakeUtilization {
  unsigned gpu;
  unsigned memory;
};

__attribute__((visibility("default"))) int nvmlDeviceGetUtilizationRates(
    void* device, FakeUtilization* utilization) {
  const FakeGpu* g = Gpu(device);
  if (g_init_count == 0) return kUninitialized;
  if (g == nullptr || utilization == nullptr) return kInvalidArgument;
  if (!g->has_utilization) return kNotSupported;
  utilization->gpu = g->gpu_util;
  utilization->memory = g->memory_util;
  return kSuccess;
}

}  // extern "C"
